"""卷积层：Conv2d。

参数的名字、形状、默认初始化与 ``repr`` 都与 PyTorch 相同，所以 ``state_dict`` 可以互相加载。
计算交给 ``F.conv2d``（它检查参数，再调用 ``ops/conv.py`` 的融合运算）。
"""

from __future__ import annotations

import math

from .. import creation
from . import functional as F, init
from .module import Module, Parameter

_PADDING_STRINGS = ("same", "valid")


class Conv2d(Module):
    """二维卷积层：对 (N, C, H, W) 的输入做互相关运算（卷积核不翻转，同 PyTorch）。

    Y[n,o,i,j] = b[o] + Σ_c Σ_u Σ_v W[o,c,u,v] · X[n,c,i·s+u·d−p, j·s+v·d−p]
    （原文 §4.2.2 的“CNN 公式”没有滑动窗口，这才是正确的写法。）

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
        self.kernel_size = F._pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = F._pair(stride, "stride", "Conv2d")
        self.dilation = F._pair(dilation, "dilation", "Conv2d")
        if isinstance(padding, str):
            if padding not in _PADDING_STRINGS:
                raise ValueError(f"Conv2d 的 padding 字符串只能是 'valid' 或 'same'，得到 {padding!r}。")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"Conv2d 的 padding='same' 不支持 stride≠1 (not supported for strided convolutions)，"
                                 f"得到 stride={self.stride}。")
            self.padding = padding
        else:
            self.padding = F._pair(padding, "padding", "Conv2d")
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
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)

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
