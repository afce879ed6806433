"""汇聚层 (pooling，常译池化)：MaxPool2d、AvgPool2d。

它们没有参数，只记下窗口的大小、步幅与填充；计算交给 ``F.max_pool2d`` / ``F.avg_pool2d``。
``repr`` 与 PyTorch 相同。
"""

from __future__ import annotations

from . import functional as F
from .module import Module


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
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

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
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
