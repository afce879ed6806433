"""暂退法（dropout，又称丢弃法）层：Dropout。"""

from __future__ import annotations

from . import functional as F
from .module import Module


class Dropout(Module):
    """暂退法（dropout，又称丢弃法）：训练时每个元素以概率 p 置 0、其余乘 1/(1 − p)；评估时原样输出。

    ``model.train()`` / ``model.eval()`` 通过 ``self.training`` 控制它。

    参数:
        p: 置 0 的概率，在 [0, 1] 之内。
        inplace: 为与 PyTorch 的写法兼容而保留；本框架没有原地自动微分，结果与 False 相同。
    形状:
        任意形状，输出同形。

    例::

        >>> drop = nn.Dropout(0.1)
        >>> y = drop(tg.randn(2, 3))     # 训练模式：随机置 0
        >>> y = drop.eval()(tg.randn(2, 3))   # 评估模式：原样返回
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout 的概率 p 必须在 [0, 1] 之间 (has to be between 0 and 1)，得到 {p}。")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
