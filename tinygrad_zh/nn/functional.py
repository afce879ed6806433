"""``tinygrad_zh.nn.functional``（惯例写作 ``F``）：激活函数、线性层、规范化与损失函数的函数形式。

名字、参数名、默认值都与 ``torch.nn.functional`` 相同::

    import tinygrad_zh.nn.functional as F
    loss = F.cross_entropy(logits, target)
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes
from ..backend import to_numpy
from ..creation import rand, tensor
from ..ops import nn_ops
from ..tensor import Tensor, where
from .conv_functional import avg_pool2d, batch_norm, conv2d, max_pool2d  # noqa: F401  卷积、汇聚与批量规范化
from .attention_functional import attention_weights, scaled_dot_product_attention  # noqa: F401  注意力

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------- 激活函数

def relu(input):
    """ReLU(x) = max(x, 0)。"""
    return input.relu()


def leaky_relu(input, negative_slope=0.01):
    """LeakyReLU(x) = x (x > 0)，否则 negative_slope·x；在 0 处导数取 negative_slope（同 PyTorch）。"""
    return where(input > 0, input, input * negative_slope)


def sigmoid(input):
    """σ(x) = 1 / (1 + e⁻ˣ)。"""
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def gelu(input, approximate="none"):
    """GELU（高斯误差线性单元）：``approximate="none"`` 用 erf 精确计算，``"tanh"`` 用 tanh 近似（GPT-2 的写法）。"""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu 的 approximate 只能是 'none' 或 'tanh'，得到 {approximate!r}。")
    return nn_ops.GELU.apply(input._floating(), approximate)


def softmax(input, dim):
    """沿 dim 的 softmax：exp(xᵢ) / Σⱼ exp(xⱼ)。"""
    return input.softmax(dim)


def log_softmax(input, dim):
    """沿 dim 的 log(softmax(x))，用 LogSumExp 技巧算，数值稳定。"""
    return input.log_softmax(dim)


# ---------------------------------------------------------------------------- 层

def linear(input, weight, bias=None):
    """全连接层（线性层）：y = x Wᵀ + b。

    参数:
        input: (*, in_features)
        weight: (out_features, in_features)，与 ``nn.Linear`` 相同的布局
        bias: (out_features,) 或 None
    返回:
        (*, out_features)
    """
    if input.shape[-1:] != weight.shape[1:]:
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：linear 的输入最后一维是 {input.shape[-1] if input.ndim else '标量'}"
            f"（input.shape={input.shape}），但 weight 的形状是 {weight.shape}，需要 in_features = {weight.shape[1]}。")
    if input.ndim == 0 or weight.ndim != 2:
        raise RuntimeError(f"linear 需要至少一维的输入和二维的 weight，得到 {input.shape} 与 {weight.shape}。")
    input, weight = input._operand(weight)
    if bias is not None:
        input, bias = input._operand(bias)
        weight = weight.to(dtype=input.dtype)
    return nn_ops.Linear.apply(input, weight, bias)


def embedding(input, weight, padding_idx=None):
    """嵌入 (embedding)：按下标查表，y[...] = weight[input[...]]。

    参数:
        input: 任意形状的整数张量，取值在 [0, num_embeddings)
        weight: (num_embeddings, embedding_dim)
        padding_idx: 这个下标的位置不产生梯度（同 PyTorch）
    返回:
        input.shape + (embedding_dim,)
    """
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding 的输入必须是整数张量（词元下标），得到 {input.dtype}。")
    n = weight.shape[0]
    if input.numel() and (input.min().item() < 0 or input.max().item() >= n):
        raise IndexError(
            f"下标越界 (index out of range)：embedding 表只有 {n} 行，而输入的下标范围是 "
            f"[{input.min().item()}, {input.max().item()}]。")
    out = weight[input]
    if padding_idx is not None:
        keep = (input != padding_idx).unsqueeze(-1)
        out = where(keep, out, out.detach())
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """层规范化 (LayerNorm)：对最后 len(normalized_shape) 个维度减均值、除标准差，再乘 weight 加 bias。"""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if input.shape[input.ndim - k:] != normalized_shape:
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：layer_norm 要求输入的最后 {k} 维是 {normalized_shape}，"
            f"得到 input.shape={input.shape}。")
    return nn_ops.LayerNorm.apply(input._floating(), weight, bias, k, eps)


def dropout(input, p=0.5, training=True):
    """暂退法 (dropout)：训练时每个元素以概率 p 置 0，其余乘 1/(1−p)，使期望不变；评估时原样返回。"""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout 的概率 p 必须在 [0, 1] 之间，得到 {p}。")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = rand(*input.shape, dtype=input.dtype, device=input.device) >= p
    return input * where(keep, 1.0 / (1.0 - p), 0.0).to(dtype=input.dtype)


def one_hot(tensor, num_classes=-1):
    """独热编码 (one-hot)：整数张量 (*) → (*, num_classes) 的 int64 张量。"""
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot 需要整数张量，得到 {tensor.dtype}。")
    if num_classes < 0:
        num_classes = int(tensor.max().item()) + 1 if tensor.numel() else 0
    if tensor.numel() and (tensor.min().item() < 0 or tensor.max().item() >= num_classes):
        raise RuntimeError(f"one_hot 的类别下标必须在 [0, {num_classes}) 之内，得到最大值 {tensor.max().item()}。")
    xp = tensor.xp
    out = (tensor.data[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor(out)


# ---------------------------------------------------------------------------- 损失函数

def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction 只能是 'mean'、'sum' 或 'none'，得到 {reduction!r}。")


def _check_same_shape(input, target, who):
    if input.shape != target.shape:
        warnings.warn(
            f"{who}：input 的形状 {input.shape} 与 target 的形状 {target.shape} 不同，将按广播计算，"
            "这通常不是你想要的（例如 (N, 1) 与 (N,) 会广播成 (N, N)）。", UserWarning, stacklevel=3)


def _as_tensor(target, like):
    return target if isinstance(target, Tensor) else tensor(target, dtype=like.dtype, device=like.device)


def mse_loss(input, target, reduction="mean"):
    """均方误差 (mean squared error)：mean((input − target)²)。注意 PyTorch 没有 ½ 系数。"""
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    """平均绝对误差：mean(|input − target|)。"""
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def _flatten_classes(input, target, who):
    """(N, C, d1, ...) 与 (N, d1, ...) → (M, C) 与 (M,)；也接受无批量的 (C,) 与标量 target。"""
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{who} 的 target 应是类别下标（整数张量），得到 {target.dtype}。提示：用 .long() 转换。")
    if input.ndim == 1:
        if target.ndim != 0:
            raise RuntimeError(f"{who}：无批量的输入 {input.shape} 需要 0 维的 target，得到 {target.shape}。")
        return input.unsqueeze(0), target.reshape(1), ()
    expected = (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：{who} 的 input 形状为 {input.shape}（类别在第 1 维），"
            f"target 应为 {expected}，得到 {target.shape}。")
    if input.ndim > 2:
        c = input.shape[1]
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
        target = target.reshape(-1)
    return input, target, expected


def _check_targets(target, num_classes, ignore_index, who):
    t = target.data
    xp = target.xp
    bad = ((t < 0) | (t >= num_classes)) & (t != ignore_index)
    if bool(xp.any(bad)):
        raise IndexError(
            f"目标类别越界 (target out of bounds)：{who} 有 {num_classes} 个类别，target 的取值应在 "
            f"[0, {num_classes}) 之内（或等于 ignore_index={ignore_index}），"
            f"得到 {_preview(t[bad])}。")


def _preview(arr, limit=5):
    vals = to_numpy(arr).reshape(-1)
    return vals[:limit].tolist() + (["…"] if vals.size > limit else [])


def _reduce_over_valid(per_row, target, ignore_index, reduction, shape):
    if reduction == "none":
        return per_row.reshape(shape)
    if reduction == "sum":
        return per_row.sum()
    # 平均时只数没有被忽略的位置（同 PyTorch）；全被忽略时 0/0 = nan
    count = Tensor((target.data != ignore_index).sum().astype(per_row.dtype))
    return per_row.sum() / count


def cross_entropy(input, target, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """交叉熵损失 (cross-entropy)：log_softmax 与负对数似然融合成一个运算。

    参数:
        input: logits，(N, C)、(N, C, d1, ...) 或无批量的 (C,)；类别在第 1 维（同 PyTorch）
        target: 类别下标，(N,)、(N, d1, ...) 或 0 维；等于 ignore_index 的位置不计入损失
        reduction: 'mean'（在未被忽略的位置上平均）| 'sum' | 'none'
        label_smoothing: ε ∈ [0, 1]，目标分布变成 (1−ε)·onehot + ε/C
    返回:
        标量；reduction='none' 时形状同 target

    例::

        >>> F.cross_entropy(tg.tensor([[2.0, 0.5, -1.0]]), tg.tensor([0]))
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing 必须在 [0, 1] 之间，得到 {label_smoothing}。")
    logits, flat_target, shape = _flatten_classes(input._floating(), target, "cross_entropy")
    _check_targets(flat_target, logits.shape[1], ignore_index, "cross_entropy")
    per_row = nn_ops.CrossEntropy.apply(logits, flat_target.data, ignore_index, float(label_smoothing))
    return _reduce_over_valid(per_row, flat_target, ignore_index, reduction, shape)


def nll_loss(input, target, ignore_index=-100, reduction="mean"):
    """负对数似然 (negative log-likelihood)：input 是 log 概率（通常来自 log_softmax），取出目标类别的值再取负。"""
    _check_reduction(reduction)
    logp, flat_target, shape = _flatten_classes(input, target, "nll_loss")
    _check_targets(flat_target, logp.shape[1], ignore_index, "nll_loss")
    xp = flat_target.xp
    valid = flat_target.data != ignore_index
    safe = xp.where(valid, flat_target.data, 0)
    picked = logp[xp.arange(logp.shape[0]), safe]
    per_row = where(Tensor(valid), -picked, 0.0)
    return _reduce_over_valid(per_row, flat_target, ignore_index, reduction, shape)


def binary_cross_entropy(input, target, reduction="mean"):
    """二元交叉熵：−[t·log p + (1−t)·log(1−p)]，input 是概率。log 截断在 −100（同 PyTorch），避免 log 0 = −∞。"""
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "binary_cross_entropy")
    if input.numel() and (input.min().item() < 0 or input.max().item() > 1):
        raise RuntimeError("binary_cross_entropy 的 input 必须是 [0, 1] 内的概率。提示：对 logits 请用 "
                           "binary_cross_entropy_with_logits。")
    log_p = input.log().clamp(min=-100)
    log_q = (1 - input).log().clamp(min=-100)
    return _reduce(-(target * log_p + (1 - target) * log_q), reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """带 logits 的二元交叉熵：等于 binary_cross_entropy(sigmoid(input), target)，但数值稳定。"""
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    x, t = input._operand(target)
    if not dtypes.is_floating(x.dtype):
        x, t = x.float(), t.float()
    return _reduce(nn_ops.BCEWithLogits.apply(x, t), reduction)
