"""``tinygrad_zh.nn.functional``（惯例写作 ``F``）：所有 ``F.*`` 函数，以及它们的参数检查。

名字、参数名、默认值都与 ``torch.nn.functional`` 相同::

    import tinygrad_zh.nn.functional as F
    loss = F.cross_entropy(logits, target)

每个函数做三件事：检查参数，出错时给出清楚的中文错误（说出形状、期望和提示）；把 int / 元组 / 字符串形式的参数
整理好；调用 ``ops/`` 里的融合运算，或由已有的可微运算拼出结果。``nn`` 里的层 (Module) 只保存参数，计算都交给这里。

分节：激活函数 · 线性与嵌入 · 暂退法 · 规范化 · 卷积与汇聚 · 注意力 · 损失函数。
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend, dtypes
from ..autograd import no_grad
from ..backend import to_numpy
from ..creation import rand, tensor
from ..ops import attention, conv, norm
from ..ops import nn as nn_ops  # 别名：避免与 tinygrad_zh.nn 混淆
from ..tensor import Tensor, result_type, where

_REDUCTIONS = ("mean", "sum", "none")


def _value_range(t):
    """整数张量的 (最小值, 最大值)，两个 Python 整数：一次搬回主机（GPU 上是一次同步）。"""
    xp = t.xp
    lo_hi = to_numpy(xp.stack([t.data.min(), t.data.max()]))
    return int(lo_hi[0]), int(lo_hi[1])


def _checks_values(t):
    """要不要看 ``t`` 里的值做范围检查：CPU 上总是看（值就在主机内存里）；GPU 等设备上看值要同步，
    只在 ``tg.set_debug_checks(True)`` 时看（见 ``backend.set_debug_checks``）。"""
    return t.numel() > 0 and backend.debug_checks(t.device)



def _float_input(x):
    """整数张量先转成浮点（激活、规范化、汇聚只对浮点数有意义）。"""
    return x if x.is_floating_point() else x.float()


def _promoted(a, b):
    """两个张量换成同一个 dtype，规则与运算符 +、@ 相同（``tg.result_type``）。"""
    dtype = result_type(a, b)
    return a.to(dtype=dtype), b.to(dtype=dtype)


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


def logsigmoid(input):
    """log σ(x) = −softplus(−x) = min(x, 0) − log(1 + e^{−|x|})；导数 1 − σ(x)。

    比 ``sigmoid(x).log()`` 稳定：x = −1000 时 σ(x) 在浮点里是 0，log 得 −∞，这里得 −1000（同 PyTorch）。
    """
    return nn_ops.Logsigmoid.apply(_float_input(input))


def tanh(input):
    return input.tanh()


def gelu(input, approximate="none"):
    """GELU（高斯误差线性单元）：``approximate="none"`` 用 erf 精确计算，``"tanh"`` 用 tanh 近似（GPT-2 的写法）。"""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu 的 approximate 只能是 'none' 或 'tanh'，得到 {approximate!r}。")
    return nn_ops.Gelu.apply(_float_input(input), approximate)


def softmax(input, dim):
    """沿 dim 的 softmax：exp(xᵢ) / Σⱼ exp(xⱼ)。"""
    return input.softmax(dim)


def log_softmax(input, dim):
    """沿 dim 的 log(softmax(x))，用 LogSumExp 技巧算，数值稳定。"""
    return input.log_softmax(dim)


# ---------------------------------------------------------------------------- 线性与嵌入

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
    input, weight = _promoted(input, weight)
    if bias is not None:
        input, bias = _promoted(input, bias)
        weight = weight.to(dtype=input.dtype)
    return nn_ops.Linear.apply(input, weight, bias)


def embedding(input, weight, padding_idx=None):
    """嵌入 (embedding)：按下标查表，y[...] = weight[input[...]]。

    参数:
        input: 任意形状的整数张量，取值在 [0, num_embeddings)
        weight: (num_embeddings, embedding_dim)
        padding_idx: 这个下标的位置不产生梯度（同 PyTorch）；负数从末尾数起，−1 就是最后一行
    返回:
        input.shape + (embedding_dim,)
    """
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding 的输入必须是整数张量（词元下标），得到 {input.dtype}。")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"padding_idx={padding_idx} 超出范围：embedding 表有 {n} 行，padding_idx 应在 [{-n}, {n}) 之内"
                             "（Padding_idx must be within num_embeddings）。")
        padding_idx = int(padding_idx) % n  # 负数从末尾数（同 PyTorch）
    if _checks_values(input):  # GPU 上不查时，越界的下标在 CuPy 里会悄悄绕回 (wrap)：调试时打开检查
        lo, hi = _value_range(input)
        if lo < 0 or hi >= n:
            raise IndexError(
                f"下标越界 (index out of range)：embedding 表只有 {n} 行，而输入的下标范围是 [{lo}, {hi}]。"
                "提示：检查词表大小 (vocab_size) 是否与分词器一致。")
    out = weight[input.long() if input.dtype.kind == "u" else input]  # uint8 张量作下标是掩码，这里要的是行号
    if padding_idx is not None:
        keep = (input != padding_idx).unsqueeze(-1)
        out = where(keep, out, out.detach())
    return out


def one_hot(tensor, num_classes=-1):
    """独热编码 (one-hot)：整数张量 (*) → (*, num_classes) 的 int64 张量。"""
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot 需要整数张量，得到 {tensor.dtype}。")
    if num_classes < 0:  # 类别数要从数据里看出来：这一步在 GPU 上也要同步一次（PyTorch 也是如此）
        num_classes = _value_range(tensor)[1] + 1 if tensor.numel() else 0
    if _checks_values(tensor):
        lo, hi = _value_range(tensor)
        if lo < 0 or hi >= num_classes:
            raise RuntimeError(f"one_hot 的类别下标必须在 [0, {num_classes}) 之内，得到的范围是 [{lo}, {hi}]。")
    xp = tensor.xp
    out = (tensor.data[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor(out)


# ---------------------------------------------------------------------------- 暂退法 (dropout)

def dropout(input, p=0.5, training=True):
    """暂退法 (dropout)：训练时每个元素以概率 p 置 0，其余乘 1/(1−p)，使期望不变；评估时原样返回。"""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout 的概率 p 必须在 [0, 1] 之间，得到 {p}。")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    # 掩码与输入同 dtype（float32），在输入所在的设备上做成：u ≥ p 的位置是 1/(1−p)，其余是 0
    dtype = input.dtype if dtypes.is_floating(input.dtype) else dtypes.get_default_dtype()
    u = rand(*input.shape, dtype=dtype, device=input.device).data
    mask = (u >= p) * dtype.type(1.0 / (1.0 - p))   # 带 dtype 的标量：结果仍是 dtype，不升成 float64
    return input * Tensor(mask)


# ---------------------------------------------------------------------------- 规范化

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
    return norm.LayerNorm.apply(_float_input(input), weight, bias, k, eps)


def _check_channel_vector(t, name, c, shape):
    if t is not None and t.shape != (c,):
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：batch_norm 的 {name} 应有 {c} 个元素（输入的通道数，input.shape={shape}），"
            f"得到 {name}.shape={t.shape} (should contain {c} elements not {t.numel()})。")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """批量规范化 (BatchNorm)：每个通道（第 1 维）减均值、除标准差，再乘 weight 加 bias。

    y = (x − μ) / √(σ² + eps) · weight + bias。
    - training=True：μ、σ² 取这一批在除通道外所有维度上的统计量（σ² 有偏，除以 m）；若给了 running_mean /
      running_var，就在 no_grad 下原地更新：running ← (1 − momentum)·running + momentum·batch，
      其中 running_var 用**无偏**方差 σ²·m/(m − 1)（同 PyTorch）。
    - training=False：μ、σ² 就是 running_mean、running_var，它们必须给出。

    参数:
        input: (N, C)、(N, C, L) 或 (N, C, H, W)
        running_mean, running_var: (C,) 或 None
        weight, bias: (C,) 或 None
        training: 用批量统计量（并更新滑动平均）还是用滑动平均
        momentum: 滑动平均的系数
        eps: 加在方差上的小数
    返回:
        与 input 同形

    例::

        >>> x = tg.randn(8, 3, 4, 4)
        >>> rm, rv = tg.zeros(3), tg.ones(3)
        >>> y = F.batch_norm(x, rm, rv, training=True)   # rm、rv 被原地更新
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        shape = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"batch_norm 需要至少二维的输入 (N, C, …)，得到 {shape}。")
    c = input.shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"), (weight, "weight"),
                    (bias, "bias")):
        _check_channel_vector(t, name, c, input.shape)
        if t is not None and t.device != input.device:
            raise RuntimeError(
                f"设备不一致 (device mismatch)：batch_norm 的 input 在 '{input.device}' 上，{name} 在 '{t.device}' 上。"
                f"提示：用 model.to('{input.device}') 把参数和缓冲区一起搬过去。")
    x = _float_input(input)
    if weight is not None:
        x, weight = _promoted(x, weight)
    if bias is not None:
        x, bias = _promoted(x, bias)
        weight = weight.to(dtype=x.dtype) if weight is not None else None
    xp = x.xp
    if training:
        m = x.numel() // c
        if m <= 1:
            raise ValueError(
                f"训练模式下每个通道需要不止一个值 (Expected more than 1 value per channel when training)，"
                f"得到 input.shape={input.shape}。提示：增大批量，或在 model.eval() 下推断。")
        mean, var = norm.batch_stats(xp, x.data)
        if running_mean is not None or running_var is not None:
            with no_grad():
                _update_running(running_mean, mean, momentum)
                _update_running(running_var, var * (m / (m - 1)), momentum)
        mean, var = Tensor(mean), Tensor(var)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "评估模式下必须给出 running_mean 与 running_var (must be defined in evaluation mode)。"
                "提示：training=True 时才用这一批的统计量。")
        mean, var = running_mean.to(dtype=x.dtype), running_var.to(dtype=x.dtype)
    return norm.BatchNorm.apply(x, weight, bias, mean, var, bool(training), float(eps))


def _update_running(stat, batch_value, momentum):
    """原地更新滑动平均：stat ← (1 − momentum)·stat + momentum·batch_value（数组的原地运算，张量对象不变）。"""
    if stat is None:
        return
    arr = stat.data
    arr *= 1.0 - momentum
    arr += momentum * batch_value


# ---------------------------------------------------------------------------- 卷积与汇聚

def _pair(value, name, who):
    """int → (v, v)；长度为 2 的元组 / 列表 → 元组。其余报错。"""
    if isinstance(value, bool):
        raise TypeError(f"{who} 的 {name} 应为 int 或两个 int 的元组，得到 {value!r}。")
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    raise TypeError(f"{who} 的 {name} 应为 int 或两个 int 的元组 (int or tuple of two ints)，得到 {value!r}。")


def _batched(input, who):
    """接受 (N, C, H, W) 或无批量的 (C, H, W)；后者临时加一个批量维（同 PyTorch）。"""
    if not isinstance(input, Tensor):
        raise TypeError(f"{who} 的 input 应是 Tensor，得到 {type(input).__name__}。")
    if input.ndim == 4:
        return input, False
    if input.ndim == 3:
        return input.unsqueeze(0), True
    raise RuntimeError(
        f"{who} 需要三维（无批量 (C, H, W)）或四维（(N, C, H, W)）的输入，得到 input.shape={input.shape}。")


def _positive(values, name, who):
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{who} 的 {name} 必须是正数 (non-positive {name} is not supported)，得到 {values}。")


def _nonnegative(values, name, who):
    if any(v < 0 for v in values):
        raise RuntimeError(f"{who} 的 {name} 不能为负 (negative {name} is not supported)，得到 {values}。")


def _same_padding(kernel, dilation):
    """padding='same' 的 (上, 下, 左, 右)：总填充 d·(k − 1)，奇数时多出的一格放在下边 / 右边（同 PyTorch）。"""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """二维卷积（互相关运算）：Y[n,o,i,j] = b[o] + Σ_c Σ_u Σ_v W[o,c,u,v] · X[n,c,i·s+u·d−p, j·s+v·d−p]。

    越出输入边界的 X 按 0 计（零填充 (zero padding)）。输出尺寸 Ho = ⌊(H + 2p − d·(kh − 1) − 1) / s⌋ + 1（W 同理）。

    参数:
        input: (N, C, H, W)，或无批量的 (C, H, W)
        weight: (O, C, kh, kw)，与 ``nn.Conv2d.weight`` 同布局
        bias: (O,) 或 None
        stride: 步幅 (stride)，int 或 (sh, sw)
        padding: 填充 (padding)，int、(ph, pw)，或字符串 'valid'（不填充）/ 'same'（输出与输入同尺寸，仅 stride=1）
        dilation: 空洞 (dilation)，卷积核元素之间的间隔，int 或 (dh, dw)
        groups: 只支持 1
    返回:
        (N, O, Ho, Wo)（无批量输入时为 (O, Ho, Wo)）

    例::

        >>> x = tg.randn(2, 1, 8, 8)
        >>> w = tg.randn(4, 1, 3, 3)
        >>> F.conv2d(x, w, padding=1).shape
        (2, 4, 8, 8)
    """
    who = "conv2d"
    if groups != 1:
        raise NotImplementedError(f"{who} 暂不支持分组卷积 (groups={groups})，只支持 groups=1。")
    x, unbatched = _batched(input, who)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        shape = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"{who} 的 weight 应是四维张量 (O, C, kh, kw)，得到 {shape}。")
    o, c, kh, kw = weight.shape
    if x.shape[1] != c:
        raise RuntimeError(
            f"通道数不匹配 (channel mismatch)：{who} 的 weight 形状为 {weight.shape}，要求输入有 in_channels={c} 个通道，"
            f"但 input.shape={input.shape} 有 {x.shape[1]} 个。提示：检查上一层的 out_channels 与这一层的 in_channels。")
    if bias is not None and bias.shape != (o,):
        raise RuntimeError(f"形状不匹配 (shape mismatch)：{who} 的 bias 应为 ({o},)（out_channels），得到 {bias.shape}。")
    stride, dilation = _pair(stride, "stride", who), _pair(dilation, "dilation", who)
    _positive(stride, "stride", who)
    _positive(dilation, "dilation", who)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise RuntimeError(f"{who} 的 padding='same' 不支持 stride≠1 的卷积 (not supported for strided "
                                   f"convolutions)，得到 stride={stride}。")
            pads = _same_padding((kh, kw), dilation)
        else:
            raise ValueError(f"{who} 的 padding 字符串只能是 'valid' 或 'same'，得到 {padding!r}。")
    else:
        ph, pw = _pair(padding, "padding", who)
        _nonnegative((ph, pw), "padding", who)
        pads = (ph, ph, pw, pw)
    padded = (x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3])
    eff = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if eff[0] > padded[0] or eff[1] > padded[1]:
        raise RuntimeError(
            f"卷积核比输入大 (kernel size can't be greater than actual input size)：{who} 填充后的输入尺寸为 "
            f"{padded}（input.shape={input.shape}），而卷积核（含 dilation）的尺寸为 {eff}（weight.shape={weight.shape}）。"
            "提示：加大 padding，或减少前面的汇聚层。")
    x, weight = _promoted(_float_input(x), weight)
    if bias is not None:
        x, bias = _promoted(x, bias)
        weight = weight.to(dtype=x.dtype)
    out = conv.Conv2d.apply(x, weight, bias, stride, pads, dilation)
    return out.squeeze(0) if unbatched else out


def _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, who):
    """检查汇聚的参数，返回 (x, unbatched, kernel, stride, pads, sym_pad, dilation, (Ho, Wo))。

    ceil_mode=True 时输出尺寸向上取整，多出的窗口要在下边 / 右边额外填充；但最后一个窗口必须从
    输入或左侧填充里开始（同 PyTorch），否则少算一个。
    """
    x, unbatched = _batched(input, who)
    kernel = _pair(kernel_size, "kernel_size", who)
    stride = kernel if stride is None or stride == () or stride == [] else _pair(stride, "stride", who)
    sym_pad, dilation = _pair(padding, "padding", who), _pair(dilation, "dilation", who)
    _positive(kernel, "kernel_size", who)
    _positive(stride, "stride", who)
    _positive(dilation, "dilation", who)
    _nonnegative(sym_pad, "padding", who)
    if sym_pad[0] > kernel[0] // 2 or sym_pad[1] > kernel[1] // 2:
        raise RuntimeError(
            f"{who} 的填充不能超过卷积核的一半 (pad should be smaller than or equal to half of kernel size)："
            f"padding={sym_pad}，kernel_size={kernel}。")
    out_hw, pads = [], []
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, sym_pad, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        n_out = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (n_out - 1) * s >= size + p:
            n_out -= 1
        out_hw.append(n_out)
        pads += [p, p + max(0, (n_out - 1) * s + d * (k - 1) + 1 - (size + 2 * p))]
    if min(out_hw) < 1:
        raise RuntimeError(
            f"{who} 的输出尺寸太小 (output size is too small)：input.shape={input.shape}，kernel_size={kernel}，"
            f"stride={stride}，padding={sym_pad}，dilation={dilation}，算出的输出尺寸为 {tuple(out_hw)}。")
    return x, unbatched, kernel, stride, tuple(pads), sym_pad, dilation, tuple(out_hw)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """二维最大汇聚 (max pooling)：每个 kh×kw 窗口取最大值，填充处视为 −∞。

    反向时梯度只流向窗口里的最大值；并列时流向窗口内按行优先顺序的第一个（同 PyTorch）。

    参数:
        input: (N, C, H, W) 或 (C, H, W)
        kernel_size: 窗口大小，int 或 (kh, kw)
        stride: 步幅，默认等于 kernel_size
        padding: 两侧的填充，不超过窗口的一半
        dilation: 窗口元素之间的间隔
        ceil_mode: 输出尺寸向上取整
        return_indices: 不支持（只能为 False）
    返回:
        (N, C, Ho, Wo)

    例::

        >>> F.max_pool2d(tg.arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    if return_indices:
        raise NotImplementedError("max_pool2d 暂不支持 return_indices=True。")
    x, unbatched, kernel, stride, pads, _, dilation, out_hw = _pool_geometry(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    out = conv.MaxPool2d.apply(x, kernel, stride, pads, dilation, out_hw)
    return out.squeeze(0) if unbatched else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """二维平均汇聚 (average pooling)：每个 kh×kw 窗口的平均值，填充处为 0。

    除数默认是 kh·kw，填充的 0 也算在内（count_include_pad=True，同 PyTorch）；False 时只数真实输入的格子；
    divisor_override 给出时一律除以它。

    参数:
        input: (N, C, H, W) 或 (C, H, W)
        kernel_size, stride, padding, ceil_mode: 同 ``max_pool2d``（没有 dilation）
        count_include_pad: 除数是否计入填充的格子
        divisor_override: 固定的除数（非 0 整数）或 None
    返回:
        (N, C, Ho, Wo)

    例::

        >>> F.avg_pool2d(tg.ones(1, 1, 4, 4), 2, padding=1)   # 角上的窗口只有 1 格是真实输入：1/4
        tensor([[[[0.25, 0.5 , 0.25],
                  [0.5 , 1.  , 0.5 ],
                  [0.25, 0.5 , 0.25]]]])
    """
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("avg_pool2d 的 divisor_override 不能为 0 (divisor must be not zero)。")
    x, unbatched, kernel, stride, pads, sym_pad, _, out_hw = _pool_geometry(
        input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    out = conv.AvgPool2d.apply(_float_input(x), kernel, stride, pads, sym_pad, out_hw,
                               bool(count_include_pad), divisor_override)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------- 注意力

def _attention_operand(x, name, like=None):
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return tensor(x, device=like.device)
    raise TypeError(f"scaled_dot_product_attention 的 {name} 必须是 Tensor，得到 {type(x).__name__}。")


def _check_qkv(query, key, value):
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
    mask = _attention_operand(attn_mask, "attn_mask", like=query)
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
        ``(…, L, Ev)``。某一行全被掩掉时（一个可以看的键都没有），该行输出 0、梯度也是 0（同 PyTorch），不是 0/0 = nan。

    例::

        >>> q = k = v = tg.randn(2, 4, 8, 16)              # (B, H, T, D)
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        (2, 4, 8, 16)
    """
    query = _attention_operand(query, "query")
    key = _attention_operand(key, "key")
    value = _attention_operand(value, "value")
    _check_qkv(query, key, value)
    query, key = _promoted(query, key)
    query, value = _promoted(query, value)
    key = key.to(dtype=query.dtype)
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout_p 必须在 [0, 1] 之间，得到 {dropout_p}。")
    mask = _additive_mask(attn_mask, is_causal, query, key)
    scale = attention.default_scale(query.shape[-1]) if scale is None else float(scale)
    keep = None
    if dropout_p > 0.0:
        shape = np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) + (query.shape[-2], key.shape[-2])
        u = rand(*shape, dtype=query.dtype, device=query.device).data
        factor = 0.0 if dropout_p == 1.0 else 1.0 / (1.0 - dropout_p)
        keep = (u >= dropout_p) * query.dtype.type(factor)   # 与 query 同 dtype 的掩码，不经过 float64
    return attention.ScaledDotProductAttention.apply(query, key, value, mask, scale, keep)


def attention_weights(query, key, attn_mask=None, is_causal=False, scale=None):
    """注意力权重 softmax(Q Kᵀ · s + M)，形状 ``(…, L, S)``，每行和为 1。

    ``scaled_dot_product_attention`` 为了省内存不返回权重；画注意力热力图 (heat map) 时用这个函数。
    它由普通运算组成，可以求导，但比融合版慢、占内存多。
    """
    query = _attention_operand(query, "query")
    key = _attention_operand(key, "key")
    _check_qkv(query, key, key)
    query, key = _promoted(query, key)
    mask = _additive_mask(attn_mask, is_causal, query, key)
    scale = attention.default_scale(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * scale
    if mask is not None:
        scores = scores + (mask if isinstance(mask, Tensor) else Tensor(mask))
    return scores.softmax(-1)


# ---------------------------------------------------------------------------- 损失函数

def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


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
    if not _checks_values(target):  # GPU 上看值要同步：只在调试检查打开时查
        return
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


def _class_weight(weight, logits, who):
    """检查每类的权重 weight：形状 (C,)、与 logits 同设备；返回与 logits 同 dtype 的数组（权重不求梯度，同 PyTorch）。"""
    if weight is None:
        return None
    c = logits.shape[1]
    if not isinstance(weight, Tensor):
        weight = tensor(weight, device=logits.device)
    if weight.shape != (c,):
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：{who} 的 weight 应给每个类别一个数，形状为 ({c},)，得到 {weight.shape} "
            f"(weight tensor should be defined either for all {c} classes or no classes)。")
    if weight.device != logits.device:
        raise RuntimeError(f"设备不一致 (device mismatch)：{who} 的 input 在 '{logits.device}' 上，"
                           f"weight 在 '{weight.device}' 上。")
    return weight.data.astype(logits.dtype, copy=False)


def _flatten_probabilities(input, target):
    """软标签：(N, C, d1, ...) 的 input 与 target 都变成 (M, C)（类别放到最后一维）；也接受无批量的 (C,)。"""
    if input.ndim == 1:
        return input.unsqueeze(0), target.unsqueeze(0), ()
    shape = (input.shape[0],) + input.shape[2:]
    if input.ndim > 2:
        c, dims = input.shape[1], (0, *range(2, input.ndim), 1)
        input, target = input.permute(*dims).reshape(-1, c), target.permute(*dims).reshape(-1, c)
    return input, target, shape


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """交叉熵损失 (cross-entropy)：log_softmax 与负对数似然融合成一个运算。

    target 有两种写法（同 PyTorch）：
    - 类别下标：ℓᵢ = −w[tᵢ]·log softmax(zᵢ)[tᵢ]；
    - 每类的概率（软标签 (soft label)，形状与 input 相同的浮点张量，如知识蒸馏、mixup）：ℓᵢ = −Σ_c w_c·tᵢ[c]·log softmax(zᵢ)[c]。

    参数:
        input: logits，(N, C)、(N, C, d1, ...) 或无批量的 (C,)；类别在第 1 维（同 PyTorch）
        target: 类别下标，(N,)、(N, d1, ...) 或 0 维，等于 ignore_index 的位置不计入损失；
            或与 input 同形的浮点张量：每类的概率（可以求梯度）
        weight: 每类的权重，形状 (C,)；None 表示都为 1。用于类别不平衡：少见的类给大权重
        ignore_index: 只用于类别下标；概率形式的 target 要求它为负数（同 PyTorch）
        reduction: 'mean' | 'sum' | 'none'。'mean' 时类别下标除以没被忽略的样本的权重之和 Σ w[tᵢ]
            （不给 weight 时就是样本数）；概率形式除以样本数（同 PyTorch）
        label_smoothing: ε ∈ [0, 1]，目标分布变成 (1−ε)·target + ε/C（两种写法都适用）
    返回:
        标量；reduction='none' 时形状为 (N, d1, ...)（无批量时为 0 维）

    例::

        >>> F.cross_entropy(tg.tensor([[2.0, 0.5, -1.0]]), tg.tensor([0]))
        tensor(0.2413)
        >>> F.cross_entropy(tg.tensor([[2.0, 0.5, -1.0]]), tg.tensor([[0.5, 0.5, 0.0]]))   # 软标签
        tensor(0.9913)
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing 必须在 [0, 1] 之间，得到 {label_smoothing}。")
    if input.ndim == 0:
        raise RuntimeError("cross_entropy 的 input 至少要有一维：(C,)、(N, C) 或 (N, C, d1, ...)，得到 0 维张量。")
    x = _float_input(input)
    if isinstance(weight, Tensor) and dtypes.is_floating(weight.dtype):
        x = x.to(dtype=result_type(x, weight))  # float64 的权重把 float32 的 logits 提升（同运算符的规则）
    if isinstance(target, Tensor) and target.shape == input.shape:  # 形状相同：target 是每类的概率（同 PyTorch）
        if not dtypes.is_floating(target.dtype):
            raise RuntimeError(
                f"cross_entropy 的 target 与 input 同形 {input.shape} 时表示每类的概率（软标签），必须是浮点张量，"
                f"得到 {target.dtype} (Expected floating point type for target with class probabilities)。"
                f"提示：类别下标的 target 形状应为 {(input.shape[0],) + input.shape[2:] if input.ndim > 1 else ()}。")
        if ignore_index >= 0:
            raise RuntimeError(f"概率形式的 target 不能用 ignore_index（得到 ignore_index={ignore_index}）"
                               "(ignore_index is not supported for floating point target)。")
        x, target = _promoted(x, target)
        logits, probs, shape = _flatten_probabilities(x, target)
        w = _class_weight(weight, logits, "cross_entropy")
        out = nn_ops.CrossEntropy.apply(logits, probs, w, ignore_index, float(label_smoothing), reduction)
        return out.reshape(shape) if reduction == "none" else out
    logits, flat_target, shape = _flatten_classes(x, target, "cross_entropy")
    _check_targets(flat_target, logits.shape[1], ignore_index, "cross_entropy")
    w = _class_weight(weight, logits, "cross_entropy")
    out = nn_ops.CrossEntropy.apply(logits, flat_target.data, w, ignore_index, float(label_smoothing), reduction)
    return out.reshape(shape) if reduction == "none" else out


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
    """二元交叉熵：ℓ = −[t·log p + (1−t)·log(1−p)]，input 是概率 p ∈ [0, 1]。

    两个 log 都截断在 −100（同 PyTorch），p = 0 或 1 时损失有限；梯度 ∂ℓ/∂p = (p − t) / max(p(1 − p), 1e−12)
    也照 PyTorch，p = 0、1 处是有限的数，不是 nan。
    """
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "binary_cross_entropy")
    if _checks_values(input) and bool(input.xp.any((input.data < 0) | (input.data > 1))):
        raise RuntimeError("binary_cross_entropy 的 input 必须是 [0, 1] 内的概率。提示：对 logits 请用 "
                           "binary_cross_entropy_with_logits。")
    p, t = _promoted(_float_input(input), target)  # p 是浮点，整数 target 也随之变成浮点
    try:
        losses = nn_ops.BinaryCrossEntropy.apply(p, t)
    except ValueError as e:
        raise RuntimeError(f"广播失败 (broadcasting)：binary_cross_entropy 的 input {input.shape} 与 "
                           f"target {target.shape} 无法广播。") from e
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """带 logits 的二元交叉熵：等于 binary_cross_entropy(sigmoid(input), target)，但数值稳定。"""
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    x, t = _promoted(input, target)
    if not dtypes.is_floating(x.dtype):
        x, t = x.float(), t.float()
    return _reduce(nn_ops.BinaryCrossEntropyWithLogits.apply(x, t), reduction)
