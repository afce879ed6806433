"""字符级循环神经网络语言模型（第 13 课）：嵌入 → RNN / LSTM / GRU → 全连接。"""

from __future__ import annotations

from .. import nn
from ..autograd import no_grad
from ..tensor import cat
from ..sampling import check_temperature, prompt_batch, sample_next
from ._recurrent import detach_state, make_recurrent


class RNNLM(nn.Module):
    """字符级语言模型：在每个时间步预测下一个词元 (next-token prediction)。

    .. math::

        e_t = E[x_t],\\quad (o_t, s_t) = \\mathrm{RNN}(e_t, s_{t-1}),\\quad z_t = W o_t + b

    其中 :math:`E` 是嵌入表，:math:`s_t` 是隐状态（LSTM 为 ``(h, c)``），:math:`z_t` 是下一个词元的 logits。
    训练时用交叉熵 ``F.cross_entropy(z.reshape(-1, V), y.reshape(-1))``，``y`` 是 ``x`` 向后错一位。

    参数:
        vocab_size: 词表大小 V。
        embed_dim: 嵌入维度 E。
        hidden_size: 隐状态维度 H。
        num_layers: 循环层的层数。
        cell: ``"lstm"``（默认）、``"gru"`` 或 ``"rnn"``（tanh 的简单循环网络）。
        dropout: 循环层输出到全连接层之前的暂退概率（多层时也用于层与层之间）。
    形状:
        ``idx``：``(B, T)`` 的整数张量 → ``logits``：``(B, T, V)``；
        ``state``：RNN / GRU 为 ``(num_layers, B, H)``，LSTM 为两个这样的张量组成的元组。

    例::

        >>> model = RNNLM(vocab_size=100, embed_dim=16, hidden_size=32)
        >>> logits, state = model(tg.randint(0, 100, (2, 5)))
        >>> logits.shape, state[0].shape
        ((2, 5, 100), (1, 2, 32))
        >>> model.generate(tg.tensor([[1, 2, 3]]), max_new_tokens=4).shape
        (1, 7)
    """

    def __init__(self, vocab_size, embed_dim=64, hidden_size=256, num_layers=1, cell="lstm", dropout=0.0):
        super().__init__()
        self.vocab_size = int(vocab_size)
        self.cell = str(cell).lower()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = make_recurrent(cell, embed_dim, hidden_size, num_layers, dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None):
        """返回 ``(logits, state)``；把返回的 ``state`` 传给下一段输入，隐状态就接着往下走。"""
        out, state = self.rnn(self.embedding(idx), state)
        return self.head(self.dropout(out)), state

    detach_state = staticmethod(detach_state)

    def generate(self, idx, max_new_tokens, temperature=1.0, generator=None):
        """自回归 (autoregressive) 地接着 ``idx`` 生成 ``max_new_tokens`` 个词元。

        先把整个提示 (prompt) 送进网络得到隐状态，之后每步只喂入上一步采样出的一个词元。
        下一个词元从 :math:`\\mathrm{softmax}(z / \\tau)` 中采样，:math:`\\tau` 是温度 (temperature)：
        :math:`\\tau < 1` 更保守，:math:`\\tau > 1` 更随机，:math:`\\tau = 0` 时取概率最大的（贪心解码）。

        参数:
            idx: 提示，``(B, T)`` 或 ``(T,)`` 的整数张量，T ≥ 1。
            max_new_tokens: 要生成的词元个数。
            temperature: 温度 τ ≥ 0。
            generator: ``tg.Generator``，省略时用全局生成器（``tg.manual_seed`` 控制）。

        返回:
            与 ``idx`` 同维数的整数张量，最后一维长 ``T + max_new_tokens``（提示在前）。
        """
        check_temperature(temperature)
        idx, squeeze = prompt_batch(idx)
        was_training = self.training
        self.eval()
        pieces = [idx]
        try:
            with no_grad():
                logits, state = self(idx)
                for _ in range(int(max_new_tokens)):
                    nxt = sample_next(logits[:, -1, :], temperature, generator=generator)
                    pieces.append(nxt)
                    logits, state = self(nxt, state)
        finally:
            self.train(was_training)
        out = cat(pieces, dim=1)
        return out[0] if squeeze else out

