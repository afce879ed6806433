"""常用层：Linear、Embedding、LayerNorm、Dropout、Identity、Flatten。

每个层只做三件事：在 ``__init__`` 里创建参数并按 PyTorch 的默认方式初始化；在 ``forward`` 里调用
``nn.functional`` 里的同名函数；在 ``extra_repr`` 里给出与 PyTorch 相同的一行说明。
参数的名字、形状和布局与 PyTorch 一致，所以 ``state_dict`` 可以在两者之间互相加载。
"""

from __future__ import annotations

import math

from .. import creation
from ..autograd import no_grad
from . import functional as F, init
from .module import Module, Parameter


def _param(*shape, device=None, dtype=None):
    """一个待初始化的参数（先填 0，随后由 reset_parameters 写入初值）。"""
    return Parameter(creation.zeros(*shape, device=device, dtype=dtype))


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
        self.weight = _param(out_features, in_features, device=device, dtype=dtype)
        if bias:
            self.bias = _param(out_features, device=device, dtype=dtype)
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


class Embedding(Module):
    """嵌入层 (embedding)：一张 ``(num_embeddings, embedding_dim)`` 的查找表，第 i 行是下标 i 的向量。

    等价于“独热编码 (one-hot) 乘权重矩阵”，但直接按下标取行，不构造独热向量。初值服从 N(0, 1)。

    参数:
        num_embeddings: 表的行数（如词表大小）。
        embedding_dim: 每个向量的维度。
        padding_idx: 填充 (padding) 用的下标：这一行初始化为 0，且不接收梯度。可以为负数（从末尾数）。
        device, dtype: 参数放在哪个设备、用什么浮点类型。
    形状:
        输入：任意形状的整数张量 ``(*)`` → 输出 ``(*, embedding_dim)``。

    例::

        >>> emb = nn.Embedding(10, 4, padding_idx=0)
        >>> emb(tg.tensor([[1, 2, 0]])).shape
        (1, 3, 4)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"padding_idx={padding_idx} 超出范围：应在 [{-self.num_embeddings}, {self.num_embeddings}) 之内"
                    f"（num_embeddings={self.num_embeddings}）。")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        self.weight = _param(num_embeddings, embedding_dim, device=device, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """用已有的 ``(num_embeddings, embedding_dim)`` 张量建嵌入层；freeze=True 时不求梯度。"""
        if embeddings.ndim != 2:
            raise ValueError(f"from_pretrained 需要二维的 embeddings，得到形状 {embeddings.shape}。")
        emb = cls(embeddings.shape[0], embeddings.shape[1], padding_idx=padding_idx,
                  device=embeddings.device, dtype=embeddings.dtype)
        emb.weight = Parameter(embeddings.detach(), requires_grad=not freeze)
        return emb

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class LayerNorm(Module):
    """层规范化（LayerNorm，亦称层归一化）：在最后几个维度上减均值、除标准差，再做仿射变换。

    y = (x − E[x]) / √(Var[x] + eps) · weight + bias，E 与 Var 取自最后 len(normalized_shape) 个维度
    （Var 为有偏估计，除以 n）。weight 初值为 1，bias 初值为 0。

    参数:
        normalized_shape: 要规范化的尾部形状，如 ``C`` 或 ``(T, C)``。
        eps: 加在方差上的小数，防止除以 0。
        elementwise_affine: 是否有可学习的 weight（以及 bias）。
        bias: elementwise_affine 时是否有 bias。
    形状:
        输入 ``(*, *normalized_shape)`` → 输出同形。

    例::

        >>> ln = nn.LayerNorm(4)
        >>> y = ln(tg.randn(2, 3, 4))      # 每个长度为 4 的向量均值≈0、方差≈1
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.ones(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = _param(self.normalized_shape, device=device, dtype=dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


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


class Identity(Module):
    """恒等层：原样返回输入。用作占位（如把某一层“关掉”），构造参数一律忽略。"""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


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
