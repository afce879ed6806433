"""解码 (decoding)：从下一个词元的 logits 里挑出一个词元（第 16 课）。

顺序与 Hugging Face transformers 的 ``generate`` 相同：

1. 温度 (temperature) τ：z ← z / τ。τ < 1 让分布更尖（更保守），τ > 1 更平（更随机），τ = 0 即贪心。
2. top-k：只留 logits 最大的 k 个词元（与第 k 大并列的也留下），k 超过词表大小时按词表大小算。
3. top-p（核采样，nucleus sampling）：在第 2 步剩下的分布上，按概率从大到小取，取到累计概率第一次
   ≥ p 为止——满足“和 ≥ p”的最小集合；至少留一个词元；p ≥ 1 时全部保留。
4. 在剩下的词元上按 softmax 概率抽一个。

被去掉的词元的 logit 设为 −∞，softmax 之后概率正好是 0。
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import backend
from .creation import default_generator, tensor
from .tensor import Tensor

# 累计概率与 p 比较时的容差：0.5 + 0.3 在浮点里可能是 0.7999999，仍应算作“达到 0.8”
_TOP_P_TOL = 1e-6


def _check_top_k(top_k):
    if top_k is None:
        return
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral):
        raise TypeError(f"top_k 必须是正整数或 None，得到 {top_k!r}。")
    if top_k <= 0:
        raise ValueError(f"top_k 必须是正整数 (top_k > 0)，得到 top_k={top_k}。提示：不想做 top-k 过滤就传 None。")


def _check_top_p(top_p):
    if top_p is None:
        return
    if isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or math.isnan(top_p) or top_p < 0:
        raise ValueError(f"top_p 必须是 ≥ 0 的数（通常在 (0, 1] 之内），得到 top_p={top_p!r}。")


def _logits_array(logits, who):
    if not isinstance(logits, Tensor):
        logits = tensor(logits)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(f"{who} 需要形状 (…, V) 且 V ≥ 1 的 logits，得到 {logits.shape}。")
    if logits.dtype.kind != "f":
        raise TypeError(f"{who} 需要浮点的 logits，得到 {logits.dtype}。")
    return logits


def filter_logits(logits, top_k=None, top_p=None):
    """top-k 与 top-p 过滤：返回同形状的 logits，去掉的位置为 −inf（不求导）。

    参数:
        logits: ``(…, V)`` 浮点张量（已经除过温度）。
        top_k: 保留最大的 k 个（k ≥ 1；与第 k 大并列的一并保留）；None 表示不过滤。
        top_p: 在 top-k 之后的分布上保留累计概率达到 p 的最小集合；None 或 ≥ 1 表示不过滤。
    返回:
        ``(…, V)`` 张量，与输入同设备、同 dtype。

    例::

        >>> z = tg.tensor([0.5, 0.3, 0.15, 0.05]).log()
        >>> filter_logits(z, top_p=0.7).exp()          # 0.5 + 0.3 ≥ 0.7：留两个
        tensor([0.5, 0.3, 0., 0.])
    """
    _check_top_k(top_k)
    _check_top_p(top_p)
    logits = _logits_array(logits, "filter_logits")
    xp, z = logits.xp, logits.data
    V = z.shape[-1]
    neg_inf = z.dtype.type(float("-inf"))   # 标量：GPU 上不必为它做一次主机 → 设备的搬运
    if top_k is not None and top_k < V:
        # BEGIN SOLUTION task16_1
        kth = xp.sort(z, axis=-1)[..., V - top_k:V - top_k + 1]     # 第 k 大的值
        z = xp.where(z < kth, neg_inf, z)
        # END SOLUTION
    if top_p is not None and top_p < 1.0:
        # BEGIN SOLUTION task16_2
        order = xp.argsort(-z, axis=-1)                              # 从大到小
        zs = xp.take_along_axis(z, order, axis=-1).astype(np.float64)
        probs = xp.exp(zs - zs[..., :1])
        probs /= xp.sum(probs, axis=-1, keepdims=True)
        before = xp.cumsum(probs, axis=-1) - probs                   # 排在它前面的词元的概率和
        drop_sorted = before >= top_p - _TOP_P_TOL                    # 前面的已经够 p 了，它就多余
        drop_sorted[..., 0] = False                                   # 至少留一个
        drop = xp.take_along_axis(drop_sorted, xp.argsort(order, axis=-1), axis=-1)  # 排回原来的顺序
        z = xp.where(drop, neg_inf, z)
        # END SOLUTION
    return Tensor(z)


def greedy(logits):
    """贪心解码 (greedy decoding)：取 logits 最大的词元，返回 ``(…, 1)`` 的 int64 张量。"""
    logits = _logits_array(logits, "greedy")
    return logits.detach().argmax(dim=-1, keepdim=True)


def check_temperature(temperature):
    """温度必须是 ≥ 0 的数（0 表示贪心）。"""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
            or math.isnan(temperature) or temperature < 0:
        raise ValueError(f"温度 (temperature) 必须是 ≥ 0 的数，得到 {temperature!r}。")


def prompt_batch(idx):
    """``generate`` 的提示：``(T,)`` 或 ``(B, T)``（T ≥ 1）→ ``((B, T) 张量, 原来是否一维)``。"""
    if not isinstance(idx, Tensor):
        idx = tensor(idx)
    squeeze = idx.ndim == 1
    if squeeze:
        idx = idx.unsqueeze(0)
    if idx.ndim != 2 or idx.shape[1] == 0:
        raise ValueError(f"generate 需要形状 (B, T)、T ≥ 1 的提示，得到 {idx.shape}。")
    return idx, squeeze


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """按 温度 → top-k → top-p 的顺序处理 logits，再抽一个词元。

    参数:
        logits: ``(…, V)``，通常是模型最后一个位置的输出 ``(B, V)``。
        temperature: τ ≥ 0；0 表示贪心（取最大的），此时不消耗随机数。``top_k=1`` 也是贪心。
        top_k, top_p: 见 ``filter_logits``。
        generator: ``tg.Generator``；省略时用全局生成器，``tg.manual_seed(s)`` 之后结果可复现
            （CPU 上与严格替身设备上结果相同；GPU 上的随机数在显存里生成，同一种子可复现，但与 CPU 上的不同）。
    返回:
        ``(…, 1)`` 的 int64 张量，与 logits 在同一设备上（可以直接 ``tg.cat`` 到序列末尾）。
        抽样全在设备上做，不与主机同步：要看词元时才 ``.tolist()`` / ``.cpu()``。
    """
    check_temperature(temperature)
    _check_top_k(top_k)
    _check_top_p(top_p)
    logits = _logits_array(logits, "sample_next")
    if temperature == 0 or top_k == 1:
        return greedy(logits)
    scaled = Tensor(logits.data / temperature)
    filtered = filter_logits(scaled, top_k, top_p)
    # 在 logits 所在的设备上抽样，词元不回主机：GPU 上每生成一个词元就少一次设备 → 主机的同步。
    # 用 float64：被去掉的词元概率正好是 0，累计概率也不受 float32 舍入的影响
    xp = filtered.xp
    z = filtered.data.astype(np.float64)
    p = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
    cdf = xp.cumsum(p, axis=-1)
    # 均匀随机数 u 来自 generator：CPU 上与设备无关（同一种子同一结果），GPU 上在显存里生成
    u = backend.random_uniform(z.shape[:-1] + (1,), np.float64, logits.device,
                               (generator or default_generator).numpy)
    u = u * cdf[..., -1:]
    # 逆变换采样 (inverse transform sampling)：第一个 cdf > u 的位置；概率为 0 的词元 cdf 不增长，永远选不到
    choice = xp.minimum(xp.sum(cdf <= u, axis=-1, keepdims=True), z.shape[-1] - 1)
    return Tensor(choice.astype(np.int64))


__all__ = ["filter_logits", "sample_next", "greedy"]
