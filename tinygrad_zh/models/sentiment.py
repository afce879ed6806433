"""情感分类的循环网络（第 13 课）：嵌入 → LSTM / GRU → 最后一个有效时间步的隐状态 → 全连接。"""

from __future__ import annotations

from .. import nn
from ..creation import arange, tensor
from ..tensor import Tensor
from ._recurrent import make_recurrent


class SentimentRNN(nn.Module):
    """读完整句话，用最后一个**有效**时间步的输出做分类。

    一批句子长短不一，短的在右边补上填充词元 (padding)。循环网络从左往右读，第 ``L−1`` 步的输出
    :math:`o_{L-1}` 只看过真实的 L 个字，与后面的填充无关，所以取它就不会被填充干扰::

        logits = W · o[b, lengths[b] − 1] + c

    参数:
        vocab_size: 嵌入表的行数（含填充用的编号）。
        embed_dim: 嵌入维度 E。
        hidden_size: 隐状态维度 H。
        num_classes: 类别数（默认 2：负面 / 正面）。
        cell: ``"gru"``（默认）、``"lstm"`` 或 ``"rnn"``。
        padding_idx: 填充词元的编号（其嵌入固定为 0、不接收梯度），可省略。
        dropout: 分类层之前的暂退概率。
    形状:
        ``idx``：``(B, T)`` 整数张量；``lengths``：``(B,)``，每句的真实长度（1..T），省略时都当作 T。
        输出 logits ``(B, num_classes)``。

    例::

        >>> model = SentimentRNN(vocab_size=50, padding_idx=49)
        >>> x = tg.tensor([[3, 4, 5], [6, 49, 49]])     # 第二句只有 1 个字，后面是填充
        >>> model(x, lengths=[3, 1]).shape
        (2, 2)
    """

    def __init__(self, vocab_size, embed_dim=64, hidden_size=64, num_classes=2, cell="gru", padding_idx=None,
                 dropout=0.0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.rnn = make_recurrent(cell, embed_dim, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, idx, lengths=None):
        out, _ = self.rnn(self.embedding(idx))          # (B, T, H)
        B, T = idx.shape
        if lengths is None:
            last = out[:, -1]
        else:
            if not isinstance(lengths, Tensor):
                lengths = tensor(lengths, device=idx.device)
            lo, hi = int(lengths.min().item()), int(lengths.max().item())
            if lengths.shape != (B,) or lo < 1 or hi > T:
                raise ValueError(f"lengths 应是形状 ({B},)、取值 1..{T} 的整数，得到形状 {lengths.shape}、"
                                 f"取值范围 [{lo}, {hi}]。")
            last = out[arange(B, device=idx.device), lengths - 1]
        return self.fc(self.dropout(last))
