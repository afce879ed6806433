"""RNN / LSTM / GRU 层的按名字选择（两个循环网络模型共用）。"""

from __future__ import annotations

from .. import nn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def make_recurrent(cell, input_size, hidden_size, num_layers=1, dropout=0.0):
    """按名字建一个 ``batch_first=True`` 的循环层：``"rnn"``（tanh）、``"lstm"`` 或 ``"gru"``。"""
    key = str(cell).lower()
    if key not in CELLS:
        raise ValueError(f"未知的循环单元 (cell)：{cell!r}。可选：'rnn'、'lstm'、'gru'。")
    return CELLS[key](input_size, hidden_size, num_layers=num_layers, batch_first=True,
                      dropout=dropout if num_layers > 1 else 0.0)


def detach_state(state):
    """截断的通过时间反向传播 (truncated BPTT)：保留隐状态的数值，切断它与之前计算图的联系。

    ``state`` 可以是 ``None``、一个张量（RNN / GRU 的 ``h``）或元组（LSTM 的 ``(h, c)``）。
    """
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()
