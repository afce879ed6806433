"""嵌入层 (embedding)：Embedding，按下标查表（文件名同 PyTorch 的 ``torch/nn/modules/sparse.py``）。"""

from __future__ import annotations

from .. import creation
from ..autograd import no_grad
from . import functional as F, init
from .module import Module, Parameter


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
        self.weight = Parameter(creation.zeros(num_embeddings, embedding_dim, device=device, dtype=dtype))
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
