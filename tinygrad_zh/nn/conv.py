"""卷积层、汇聚层与批量规范化层：Conv2d、MaxPool2d、AvgPool2d、BatchNorm1d、BatchNorm2d。

参数与缓冲区 (buffer) 的名字、形状、默认初始化与 ``repr`` 都与 PyTorch 相同，所以 ``state_dict`` 可以互相加载。
计算都交给 ``conv_functional.py`` 里的函数（它们再调用 ``ops/conv_ops.py`` 的融合运算）。
"""

from __future__ import annotations

import math

import numpy as np

from .. import creation, dtypes
from ..autograd import no_grad
from . import conv_functional as CF, init
from .module import Module, Parameter

_PADDING_STRINGS = ("same", "valid")


class Conv2d(Module):
    """二维卷积层：对 (N, C, H, W) 的输入做互相关运算（卷积核不翻转，同 PyTorch）。

    Y[n,o,i,j] = b[o] + Σ_c Σ_u Σ_v W[o,c,u,v] · X[n,c,i·s+u·d−p, j·s+v·d−p]
    （原文 §4.2.2 的“CNN 公式”没有滑动窗口，这才是正确的写法，见 GUIDE §6。）

    权重形状 ``(out_channels, in_channels, kh, kw)``；默认初始化同 PyTorch：kaiming_uniform_(a=√5)，
    化简后是 U(±1/√fan_in)，fan_in = in_channels·kh·kw；偏置也是 U(±1/√fan_in)。

    参数:
        in_channels, out_channels: 输入 / 输出通道 (channel) 数
        kernel_size: 卷积核 (kernel) 大小，int 或 (kh, kw)
        stride: 步幅，int 或 (sh, sw)
        padding: 零填充，int、(ph, pw)、'valid' 或 'same'（后者仅 stride=1）
        dilation: 空洞，int 或 (dh, dw)
        groups: 只支持 1；padding_mode: 只支持 'zeros'
        bias: 是否有偏置
        device, dtype: 参数放在哪个设备、用什么浮点类型
    形状:
        输入 (N, C, H, W) → 输出 (N, out_channels, Ho, Wo)，Ho = ⌊(H + 2p − d·(kh − 1) − 1) / s⌋ + 1。

    例::

        >>> conv = nn.Conv2d(1, 16, 3, padding=1)
        >>> conv(tg.randn(64, 1, 8, 8)).shape
        (64, 16, 8, 8)
        >>> conv
        Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        if groups != 1:
            raise NotImplementedError(f"Conv2d 暂不支持分组卷积 (groups={groups})，只支持 groups=1。")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d 只支持 padding_mode='zeros'，得到 {padding_mode!r}。")
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"Conv2d 的通道数必须为正，得到 in_channels={in_channels}，out_channels={out_channels}。")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = CF._pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = CF._pair(stride, "stride", "Conv2d")
        self.dilation = CF._pair(dilation, "dilation", "Conv2d")
        if isinstance(padding, str):
            if padding not in _PADDING_STRINGS:
                raise ValueError(f"Conv2d 的 padding 字符串只能是 'valid' 或 'same'，得到 {padding!r}。")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"Conv2d 的 padding='same' 不支持 stride≠1 (not supported for strided convolutions)，"
                                 f"得到 stride={self.stride}。")
            self.padding = padding
        else:
            self.padding = CF._pair(padding, "padding", "Conv2d")
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = Parameter(creation.zeros(self.out_channels, self.in_channels, *self.kernel_size,
                                               device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.zeros(self.out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch 的默认初始化：权重 kaiming_uniform_(a=√5)，偏置 U(±1/√fan_in)。"""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return CF.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self):
        # 与 PyTorch 的 _ConvNd.extra_repr 相同：默认值不打印
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool2d(Module):
    """二维最大汇聚层 (max pooling)：每个窗口取最大值；并列时梯度给窗口内行优先的第一个最大值（同 PyTorch）。

    参数:
        kernel_size: 窗口大小；stride: 步幅，默认等于 kernel_size；padding: 两侧填充（按 −∞ 填），
        不超过窗口的一半；dilation: 窗口元素的间隔；ceil_mode: 输出尺寸向上取整；return_indices: 只能为 False。
    形状:
        (N, C, H, W) → (N, C, Ho, Wo)

    例::

        >>> nn.MaxPool2d(2)(tg.randn(4, 16, 8, 8)).shape
        (4, 16, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        if return_indices:
            raise NotImplementedError("MaxPool2d 暂不支持 return_indices=True。")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return CF.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """二维平均汇聚层 (average pooling)：每个窗口的平均值；默认把填充的 0 也计入除数（同 PyTorch）。

    参数:
        kernel_size, stride（默认等于 kernel_size）, padding, ceil_mode: 同 MaxPool2d；
        count_include_pad: 除数是否计入填充的格子；divisor_override: 固定的除数或 None。
    形状:
        (N, C, H, W) → (N, C, Ho, Wo)

    例::

        >>> nn.AvgPool2d(2)(tg.ones(1, 1, 4, 4)).shape
        (1, 1, 2, 2)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return CF.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _BatchNorm(Module):
    """BatchNorm1d / BatchNorm2d 的共同部分：参数、缓冲区、训练与评估两种模式。

    训练模式 (``model.train()``)：用这一批的统计量规范化，并更新滑动平均 running_mean / running_var
    （momentum 为数时 running ← (1 − momentum)·running + momentum·batch；momentum=None 时取累积平均，
    系数为 1/num_batches_tracked）。评估模式 (``model.eval()``)：用滑动平均，输出不再依赖同批的其他样本。
    track_running_stats=False 时没有这三个缓冲区，两种模式都用批量统计量。
    """

    _expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = int(num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(creation.ones(self.num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(creation.zeros(self.num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(self.num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", creation.ones(self.num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=dtypes.int64, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        """滑动平均回到初值：均值 0、方差 1、计数 0。"""
        if self.track_running_stats:
            with no_grad():
                init.zeros_(self.running_mean)
                init.ones_(self.running_var)
                init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input):
        if input.ndim not in self._expected_dims:
            want = " 或 ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(f"{type(self).__name__} 需要 {want} 的输入 (expected {want} input)，"
                             f"得到 {input.ndim}D，input.shape={input.shape}。")

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.data += 1
            if self.momentum is None:  # 累积平均：第 t 批的权重是 1/t，于是 running 恰为前 t 批的平均
                factor = 1.0 / float(self.num_batches_tracked.item())
        # 评估模式也可能没有滑动平均（track_running_stats=False）：那就仍用批量统计量
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return CF.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                             self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")

    # ---- 加载缺少 num_batches_tracked 的旧 state_dict
    def _upgrade_state_dict(self, state_dict, prefix=""):
        """PyTorch 0.4.1 之前的 BatchNorm 没有 num_batches_tracked：缺这个键时沿用当前的计数（同 PyTorch）。

        在 ``state_dict``（可变字典）里补上这个键，返回 None。``Module.load_state_dict`` 对每个子模块调用
        这个钩子，所以嵌套在别的模块里的 BatchNorm 也能加载这样的旧字典。
        """
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and self.num_batches_tracked is not None and key not in state_dict:
            state_dict[key] = np.array(int(self.num_batches_tracked.item()), dtype=np.int64)


class BatchNorm1d(_BatchNorm):
    """一维批量规范化（BatchNorm）：输入 (N, C) 或 (N, C, L)，每个通道 c 在 N（与 L）上求统计量。

    y = (x − E[x]) / √(Var[x] + eps) · γ + β；γ（weight）初值 1，β（bias）初值 0。
    与层规范化 (LayerNorm) 的区别：BatchNorm 沿批量方向求统计量（每个通道一组），LayerNorm 沿特征方向（每个样本一组）。

    参数:
        num_features: 通道数 C
        eps: 加在方差上的小数；momentum: 滑动平均系数（None 表示累积平均）
        affine: 是否有可学习的 γ、β；track_running_stats: 是否维护滑动平均
        bias: affine 时是否有 β（仅关键字参数）
    形状:
        (N, C) 或 (N, C, L) → 同形

    例::

        >>> bn = nn.BatchNorm1d(4)
        >>> y = bn(tg.randn(8, 4))          # 训练模式：批量统计量，并更新 running_mean / running_var
        >>> y = bn.eval()(tg.randn(2, 4))   # 评估模式：用滑动平均
    """

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """二维批量规范化（BatchNorm）：输入 (N, C, H, W)，每个通道 c 在 N、H、W 上求统计量。

    参数与 BatchNorm1d 相同。卷积网络里常放在卷积层之后、激活函数之前。

    形状:
        (N, C, H, W) → 同形

    例::

        >>> bn = nn.BatchNorm2d(16)
        >>> bn(tg.randn(4, 16, 8, 8)).shape
        (4, 16, 8, 8)
        >>> bn
        BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    _expected_dims = (4,)
