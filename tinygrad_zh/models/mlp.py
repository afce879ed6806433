"""多层感知机 (MLP)：全连接层与激活函数交替堆叠（第 07 课）。"""

from __future__ import annotations

from .. import nn


class MLP(nn.Module):
    """多层感知机：``Linear → 激活 → … → Linear``，最后一层不加激活（输出 logits）。

    参数:
        sizes: 各层宽度，如 ``(64, 128, 10)`` 表示输入 64 维、一个 128 宽的隐藏层、输出 10 维。
        activation: 激活函数层的类，默认 ``nn.ReLU``。
        device, dtype: 参数放在哪个设备、用什么浮点类型。
    形状:
        输入 ``(N, sizes[0])`` → 输出 ``(N, sizes[-1])``。

    例::

        >>> model = MLP((64, 128, 10))
        >>> model(tg.randn(5, 64)).shape
        (5, 10)
    """

    def __init__(self, sizes, activation=nn.ReLU, device=None, dtype=None):
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP 至少需要输入和输出两个宽度，得到 sizes={sizes}。")
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b, device=device, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(activation())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
