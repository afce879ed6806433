"""激活函数 (activation function) 层：ReLU、LeakyReLU、Sigmoid、LogSigmoid、Tanh、GELU、Softmax。

它们没有参数，只是把 ``nn.functional`` 里的函数包成模块，好放进 ``nn.Sequential``。
没有激活函数，多层线性层叠起来仍然只是一个线性变换：激活函数带来非线性。
"""

from __future__ import annotations

import warnings

from . import functional as F
from .module import Module


class ReLU(Module):
    """ReLU（修正线性单元）：ReLU(x) = max(0, x)；导数在 x > 0 时为 1，否则为 0（x = 0 处取 0，同 PyTorch）。

    参数:
        inplace: 为与 PyTorch 的写法兼容而保留；本框架没有原地自动微分，结果与 False 相同。

    例::

        >>> nn.ReLU()(tg.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """带泄露的 ReLU：x > 0 时为 x，否则为 negative_slope·x；负半轴保留一点梯度，避免神经元“死亡”。

    参数:
        negative_slope: 负半轴的斜率。
        inplace: 为与 PyTorch 的写法兼容而保留，结果与 False 相同。

    例::

        >>> nn.LeakyReLU(0.1)(tg.tensor([-1.0, 2.0]))
        tensor([-0.1,  2. ])
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """sigmoid 函数：σ(x) = 1 / (1 + e⁻ˣ)，把任意实数压到 (0, 1)；σ'(x) = σ(x)(1 − σ(x))。"""

    def forward(self, input):
        return F.sigmoid(input)


class LogSigmoid(Module):
    """log-sigmoid：LogSigmoid(x) = log σ(x) = −softplus(−x)，值域 (−∞, 0)；导数 1 − σ(x)。

    直接算而不是先 sigmoid 再 log：x 很负时 σ(x) 下溢成 0，log 0 = −∞；这里 x = −1000 得 −1000（同 PyTorch）。

    例::

        >>> nn.LogSigmoid()(tg.tensor([0.0, -1000.0]))
        tensor([-6.9315e-01, -1.0000e+03])
    """

    def forward(self, input):
        return F.logsigmoid(input)


class Tanh(Module):
    """tanh 函数（双曲正切）：把实数压到 (−1, 1)，以 0 为中心；tanh'(x) = 1 − tanh²(x)。"""

    def forward(self, input):
        return F.tanh(input)


class GELU(Module):
    """GELU（高斯误差线性单元）：GELU(x) = x · Φ(x)，Φ 是标准正态分布的累积分布函数。

    参数:
        approximate: ``'none'`` 用 erf 精确计算；``'tanh'`` 用
            0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))（GPT-2 的写法）。

    例::

        >>> nn.GELU()(tg.tensor([0.0, 1.0]))
        tensor([0.    , 0.8413])
    """

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU 的 approximate 只能是 'none' 或 'tanh'，得到 {approximate!r}。")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """softmax：沿 dim 把一组实数变成概率分布，softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ)。

    参数:
        dim: 沿哪一维做 softmax（如 logits 形状为 (N, C) 时 dim=1 或 -1）。
            为 None 时按 PyTorch 的旧规则推断：0、1、3 维输入取 0，其余取 1，并给出警告。

    例::

        >>> nn.Softmax(dim=-1)(tg.tensor([[0.0, 0.0]]))
        tensor([[0.5, 0.5]])
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = self.dim
        if dim is None:
            dim = 0 if input.ndim in (0, 1, 3) else 1
            warnings.warn(f"Softmax 没有指定 dim，按旧规则取 dim={dim}。提示：明确写 nn.Softmax(dim=-1)。",
                          stacklevel=2)
        return F.softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"
