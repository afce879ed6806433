"""线性层：Linear（全连接层），以及两个没有参数的小层 Identity、Flatten。

每个层只做三件事：在 ``__init__`` 里创建参数并按 PyTorch 的默认方式初始化；在 ``forward`` 里调用
``nn.functional`` 里的同名函数；在 ``extra_repr`` 里给出与 PyTorch 相同的一行说明。
参数的名字、形状和布局与 PyTorch 一致，所以 ``state_dict`` 可以在两者之间互相加载。
"""

from __future__ import annotations

import math

from .. import creation
from . import functional as F, init
from .module import Module, Parameter


class Identity(Module):
    """恒等层：原样返回输入。用作占位（如把某一层“关掉”），构造参数一律忽略。"""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """全连接层（线性层）：y = x Wᵀ + b。

    权重 W 的形状是 ``(out_features, in_features)``（与 PyTorch 相同，不是 (in, out)）。
    默认初始化与 PyTorch 相同：W 与 b 都服从 U(−1/√in_features, 1/√in_features)。

    参数:
        in_features: 输入特征数。
        out_features: 输出特征数。
        bias: 是否有偏置 b。
        device, dtype: 参数放在哪个设备、用什么浮点类型。
    形状:
        输入 ``(*, in_features)`` → 输出 ``(*, out_features)``。

    例::

        >>> fc = nn.Linear(3, 2)
        >>> fc(tg.randn(4, 3)).shape
        (4, 2)
        >>> fc.weight.shape
        (2, 3)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        # 先填 0，随后由 reset_parameters 写入初值：重新初始化与构造走同一条路
        self.weight = Parameter(creation.zeros(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.zeros(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch 的默认初始化：kaiming_uniform_(a=√5) 化简后即 U(−1/√fan_in, 1/√fan_in)。"""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """把 start_dim 到 end_dim 之间的维度展平成一维，默认保留批量维：``(N, C, H, W) → (N, C·H·W)``。

    例::

        >>> nn.Flatten()(tg.zeros(2, 3, 4)).shape
        (2, 12)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
