"""卷积、汇聚（pooling，常译池化）与批量规范化的函数形式：名字、参数与默认值同 ``torch.nn.functional``。

这些函数只做三件事：检查形状并给出清楚的中文错误；把 int / 元组 / 字符串形式的参数整理好；
调用 ``ops/conv_ops.py`` 里的融合运算。``nn.functional`` 会把它们原样导出，通常写作 ``F.conv2d`` 等::

    import tinygrad_zh.nn.functional as F
    y = F.max_pool2d(F.conv2d(x, w, b, padding=1).relu(), 2)
"""

from __future__ import annotations

from ..autograd import no_grad
from ..ops import conv_ops
from ..tensor import Tensor


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


# ---------------------------------------------------------------------------- 卷积

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
    x, weight = x._floating()._operand(weight)
    if bias is not None:
        x, bias = x._operand(bias)
        weight = weight.to(dtype=x.dtype)
    out = conv_ops.Conv2d.apply(x, weight, bias, stride, pads, dilation)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------- 汇聚

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
    out = conv_ops.MaxPool2d.apply(x, kernel, stride, pads, dilation, out_hw)
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
    out = conv_ops.AvgPool2d.apply(x._floating(), kernel, stride, pads, sym_pad, out_hw,
                                   bool(count_include_pad), divisor_override)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------- 批量规范化

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
    x = input._floating()
    if weight is not None:
        x, weight = x._operand(weight)
    if bias is not None:
        x, bias = x._operand(bias)
        weight = weight.to(dtype=x.dtype) if weight is not None else None
    xp = x.xp
    if training:
        m = x.numel() // c
        if m <= 1:
            raise ValueError(
                f"训练模式下每个通道需要不止一个值 (Expected more than 1 value per channel when training)，"
                f"得到 input.shape={input.shape}。提示：增大批量，或在 model.eval() 下推断。")
        mean, var = conv_ops.batch_stats(xp, x.data)
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
    return conv_ops.BatchNorm.apply(x, weight, bias, mean, var, bool(training), float(eps))


def _update_running(stat, batch_value, momentum):
    """原地更新滑动平均：stat ← (1 − momentum)·stat + momentum·batch_value（数组的原地运算，张量对象不变）。"""
    if stat is None:
        return
    arr = stat.data
    arr *= 1.0 - momentum
    arr += momentum * batch_value
