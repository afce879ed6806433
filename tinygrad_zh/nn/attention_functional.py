"""注意力的函数形式：``F.scaled_dot_product_attention`` 与画热力图用的 ``F.attention_weights``。

名字、参数与 ``torch.nn.functional.scaled_dot_product_attention`` 相同（第 14 课）。
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..creation import rand, tensor
from ..ops.attention import ScaledDotProductAttention, default_scale
from ..tensor import Tensor


def _as_tensor(x, name, like=None):
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return tensor(x, device=like.device)
    raise TypeError(f"scaled_dot_product_attention 的 {name} 必须是 Tensor，得到 {type(x).__name__}。")


def _check_shapes(query, key, value):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise RuntimeError(f"scaled_dot_product_attention 的 {name} 至少要有 2 维 (…, 序列长度, 特征)，"
                               f"得到形状 {t.shape}。")
        if not dtypes.is_floating(t.dtype):
            raise TypeError(f"scaled_dot_product_attention 的 {name} 必须是浮点张量，得到 {t.dtype}。")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：需要 query (…, L, E)、key (…, S, E)、value (…, S, Ev)，"
            f"得到 query {query.shape}、key {key.shape}、value {value.shape}。"
            "提示：query 与 key 的最后一维要相同，key 与 value 的倒数第二维（序列长度 S）要相同。")
    try:
        np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：query {query.shape}、key {key.shape}、value {value.shape} "
            "的前导维度（批量、头）无法广播 (broadcast)。") from None


def _additive_mask(attn_mask, is_causal, query, key):
    """把 ``attn_mask`` / ``is_causal`` 变成加性掩码：布尔掩码与因果掩码 → 数组（0 或 −∞，不求导）；
    浮点掩码 → 张量（原样加到分数上，可以求导）。"""
    L, S = query.shape[-2], key.shape[-2]
    xp = query.xp
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention：attn_mask 与 is_causal=True 不能同时给出"
                               "（因果掩码 (causal mask) 会由 is_causal 自动生成）。")
        keep = xp.tril(xp.ones((L, S), dtype=bool))  # 左上角对齐，与 PyTorch 相同
        return xp.where(keep, 0.0, -np.inf).astype(query.dtype)
    if attn_mask is None:
        return None
    mask = _as_tensor(attn_mask, "attn_mask", like=query)
    if mask.device != query.device:
        raise RuntimeError(f"设备不一致 (device mismatch)：attn_mask 在 {mask.device} 上，query 在 {query.device} 上。")
    full = query.shape[:-2] + (L, S)
    try:
        if np.broadcast_shapes(mask.shape, full)[-2:] != (L, S):
            raise ValueError
    except ValueError:
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：attn_mask 的形状 {mask.shape} 无法广播到注意力分数的形状 "
            f"(…, L, S) = {full}。") from None
    if mask.dtype == np.bool_:
        return xp.where(mask.data, 0.0, -np.inf).astype(query.dtype)
    if not dtypes.is_floating(mask.dtype):
        raise TypeError(f"attn_mask 必须是布尔张量（True 表示可以看）或浮点张量（加到分数上），得到 {mask.dtype}。")
    return mask.to(dtype=query.dtype)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """缩放点积注意力 (scaled dot-product attention)，一个融合的 Function。

    .. math::

        \\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}\\!\\left(\\frac{Q K^\\top}{\\sqrt{E}} + M\\right) V

    参数:
        query: ``(…, L, E)``，L 个查询 (query)。
        key: ``(…, S, E)``，S 个键 (key)。
        value: ``(…, S, Ev)``，与键一一对应的值 (value)。前导维度（批量 B、头 H）可以广播。
        attn_mask: 可广播到 ``(…, L, S)``。布尔张量：True 表示“可以看”（与 PyTorch 相同）；
            浮点张量：直接加到分数上（−inf 表示看不到）。
        dropout_p: 注意力概率上的暂退概率（调用者只在训练时传非零值，与 PyTorch 相同）。
        is_causal: 因果掩码 (causal mask)：第 i 个查询只看第 0…i 个键（左上角对齐的下三角）。
        scale: 分数的缩放，默认 ``1/√E``。
    返回:
        ``(…, L, Ev)``。某一行全被掩掉时，该行的 softmax 是 0/0，输出 nan（与 PyTorch 的数学实现相同）。

    例::

        >>> q = k = v = tg.randn(2, 4, 8, 16)              # (B, H, T, D)
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        (2, 4, 8, 16)
    """
    query = _as_tensor(query, "query")
    key = _as_tensor(key, "key")
    value = _as_tensor(value, "value")
    _check_shapes(query, key, value)
    query, key = query._operand(key)
    query, value = query._operand(value)
    key = key.to(dtype=query.dtype)
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout_p 必须在 [0, 1] 之间，得到 {dropout_p}。")
    mask = _additive_mask(attn_mask, is_causal, query, key)
    scale = default_scale(query.shape[-1]) if scale is None else float(scale)
    keep = None
    if dropout_p > 0.0:
        shape = np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) + (query.shape[-2], key.shape[-2])
        u = rand(*shape, dtype=query.dtype, device=query.device).data
        factor = 0.0 if dropout_p == 1.0 else 1.0 / (1.0 - dropout_p)
        keep = query.xp.where(u >= dropout_p, factor, 0.0).astype(query.dtype)
    return ScaledDotProductAttention.apply(query, key, value, mask, scale, keep)


def attention_weights(query, key, attn_mask=None, is_causal=False, scale=None):
    """注意力权重 softmax(Q Kᵀ · s + M)，形状 ``(…, L, S)``，每行和为 1。

    ``scaled_dot_product_attention`` 为了省内存不返回权重；画注意力热力图 (heat map) 时用这个函数。
    它由普通运算组成，可以求导，但比融合版慢、占内存多。
    """
    query = _as_tensor(query, "query")
    key = _as_tensor(key, "key")
    _check_shapes(query, key, key)
    query, key = query._operand(key)
    mask = _additive_mask(attn_mask, is_causal, query, key)
    scale = default_scale(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * scale
    if mask is not None:
        scores = scores + (mask if isinstance(mask, Tensor) else Tensor(mask))
    return scores.softmax(-1)


__all__ = ["scaled_dot_product_attention", "attention_weights"]
