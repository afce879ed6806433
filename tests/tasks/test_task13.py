"""任务 13：LSTM 单元的一步（门的顺序 i, f, g, o，同 PyTorch）。"""

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.classroom.checks import TaskCheckError, check_close
from tinygrad_zh.nn.rnn import _lstm_step


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.task13_1
@pytest.mark.parametrize("with_bias", [True, False])
def test_lstm_step(with_bias):
    rng = np.random.default_rng(0)
    n, hidden = 3, 4
    gi = rng.standard_normal((n, 4 * hidden))
    h, c = rng.standard_normal((n, hidden)), rng.standard_normal((n, hidden))
    w_hh = rng.standard_normal((4 * hidden, hidden)) * 0.5
    b_hh = rng.standard_normal(4 * hidden) if with_bias else None
    with tg.no_grad():
        out = _lstm_step(tg.tensor(gi), tg.tensor(h), tg.tensor(c), tg.tensor(w_hh),
                         None if b_hh is None else tg.tensor(b_hh))
    if not isinstance(out, tuple) or len(out) != 2:
        raise TaskCheckError(f"_lstm_step 应返回 (h, c) 两个张量，得到 {type(out).__name__}。")
    gates = gi + h @ w_hh.T + (0 if b_hh is None else b_hh)
    i, f, g, o = np.split(gates, 4, axis=1)
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h_new = sigmoid(o) * np.tanh(c_new)
    hint = "提示：gates 的最后一维按 [i | f | g | o] 切成四块；g 用 tanh，其余用 sigmoid。"
    check_close("_lstm_step 返回的 c", out[1], c_new, hint=hint)
    check_close("_lstm_step 返回的 h", out[0], h_new, hint=hint)
