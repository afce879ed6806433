"""循环神经网络 (recurrent neural network) 的单元 (cell)：RNNCell、LSTMCell、GRUCell。

一个单元只走一个时间步 (time step)：读入这一步的输入 xₜ 和上一步的隐状态 (hidden state) hₜ₋₁，
算出新的隐状态 hₜ。把它沿时间一步步重复，就是 ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``（见 rnn.py）。

每个单元都由已有的可微运算（``F.linear``、sigmoid、tanh、``chunk``、加法与乘法）拼成，
所以不需要手写反向传播：自动微分沿着展开后的计算图把梯度一步步传回去，
这就是通过时间反向传播（BPTT, backpropagation through time）。

一步的计算分成两半：
- 输入投影 gi = x Wᵢₕᵀ + bᵢₕ 不依赖隐状态，整段序列可以一次矩阵乘法算完（rnn.py 就是这样做的）；
- 隐状态投影 gh = h Wₕₕᵀ + bₕₕ 依赖上一步，只能逐个时间步算。
下面的 ``_rnn_step`` / ``_lstm_step`` / ``_gru_step`` 接收已经算好的 gi，单元与整层共用它们，
门的公式因此只写一遍。

参数的名字、形状、门的顺序与初始化都与 PyTorch 相同，``state_dict`` 可以互相加载。
"""

from __future__ import annotations

import math

from .. import creation
from . import functional as F, init
from .module import Module, Parameter

_NONLINEARITIES = ("tanh", "relu")


# ---------------------------------------------------------------------------- 一个时间步（单元与整层共用）

def _rnn_step(gi, h, w_hh, b_hh, nonlinearity):
    """简单 RNN 的一步：hₜ = act(gi + hₜ₋₁ Wₕₕᵀ + bₕₕ)，act 为 tanh 或 ReLU。"""
    pre = gi + F.linear(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def _lstm_step(gi, h, c, w_hh, b_hh):
    """LSTM 的一步。gi、gates 的最后一维按 PyTorch 的顺序排成 [i | f | g | o]，每块 hidden_size 宽。

    返回 (hₜ, cₜ)。
    """
    gates = gi + F.linear(h, w_hh, b_hh)
    # 先切块、再各用各的激活函数：g 门用 tanh，其余用 sigmoid，不在整块上白算一遍
    i, f, g, o = gates.chunk(4, -1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_new = o.sigmoid() * c_new.tanh()
    return h_new, c_new


def _gru_step(gi, h, w_hh, b_hh):
    """GRU 的一步。gi 与 gh 的最后一维按 PyTorch 的顺序排成 [r | z | n]。

    bₕₙ 必须留在 gh 里、与 r 相乘（n = tanh(gi_n + r ⊙ (Wₕₙ h + bₕₙ))），所以这里的 bₕₕ
    不能提前并进 gi —— 这是 PyTorch（以及 cuDNN）的 GRU 与教科书写法的一处差别。
    """
    gh = F.linear(h, w_hh, b_hh)
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    # (1 − z) ⊙ n + z ⊙ h 改写成 n + z ⊙ (h − n)：少一次乘法，舍入也与 PyTorch 的实现一致
    return n + z * (h - n)


# ---------------------------------------------------------------------------- 共用的检查

def _check_dtype(who, input, weight, states=()):
    """与 PyTorch 一样不做隐式类型提升：float64 的输入进 float32 的网络，多半是忘了转换。"""
    for name, t in (("输入 (input)", input),) + tuple(states):
        if t.dtype != weight.dtype:
            raise ValueError(
                f"dtype 不一致 (dtype mismatch)：{who} 的{name}是 {t.dtype}，而参数是 {weight.dtype}。"
                f"提示：转换输入 x.to({_dtype_name(weight.dtype)})，或转换模型 model.to({_dtype_name(t.dtype)})。")


def _dtype_name(dtype):
    return f"tg.{dtype}"


def _init_uniform(module):
    """PyTorch 的默认初始化：所有权重和偏置都服从 U(−1/√hidden_size, 1/√hidden_size)。"""
    stdv = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -stdv, stdv)


def _check_sizes(who, input_size, hidden_size):
    for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{who} 的 {name} 应为整数 (int)，得到 {type(v).__name__}。")
        if v <= 0:
            raise ValueError(f"{who} 的 {name} 必须大于 0 (must be greater than zero)，得到 {v}。")


# ---------------------------------------------------------------------------- 单元

class RNNCellBase(Module):
    """三种单元的共同部分：登记参数（顺序 weight_ih, weight_hh, bias_ih, bias_hh，同 PyTorch）、初始化、检查输入。"""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        _check_sizes(type(self).__name__, input_size, hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.zeros(gate, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(creation.zeros(gate, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.zeros(gate, device=device, dtype=dtype))
            self.bias_hh = Parameter(creation.zeros(gate, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        _init_uniform(self)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, states):
        """检查形状并补上批量维：无批量的 (H_in,) → (1, H_in)。返回 (输入, 状态列表, 是否有批量)。

        states 里的 None 换成全 0 的初始状态（同 PyTorch）。
        """
        who = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(
                f"{who}：输入应为 1 维 (H_in,) 或 2 维 (N, H_in)，得到 {input.ndim} 维，形状 {input.shape} "
                f"(Expected input to be 1D or 2D)。提示：整段序列 (L, N, H_in) 请用 nn.{who[:-4]}。")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"形状不匹配 (shape mismatch)：{who} 的 input_size={self.input_size}，但输入的最后一维是 "
                f"{input.shape[-1]}（input.shape={input.shape}）(input has inconsistent input_size)。")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        n = input.shape[0]
        expected = (n, self.hidden_size) if batched else (self.hidden_size,)
        out = []
        for k, s in enumerate(states):
            name = "hx" if len(states) == 1 else ("h", "c")[k]
            if s is None:
                out.append(creation.zeros(n, self.hidden_size, dtype=input.dtype, device=input.device))
                continue
            if s.shape != expected:
                raise RuntimeError(
                    f"形状不匹配 (shape mismatch)：{who} 的 {name} 应为 {expected}"
                    f"（{'(N, hidden_size)' if batched else '无批量输入对应 (hidden_size,)'}），"
                    f"得到 {s.shape}；输入形状为 {input.shape if batched else input.shape[1:]}。")
            out.append(s if batched else s.unsqueeze(0))
        _check_dtype(who, input, self.weight_ih, [(f"初始状态 {n_}", s) for n_, s in zip("hc", out)])
        return input, out, batched


class RNNCell(RNNCellBase):
    """简单循环神经网络 (Elman RNN) 的单元，走一个时间步：

        h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)        （nonlinearity="relu" 时把 tanh 换成 ReLU）

    参数:
        input_size: 输入 x 的特征数 H_in。
        hidden_size: 隐状态 h 的特征数 H。
        bias: 是否有偏置 b_ih、b_hh。
        nonlinearity: "tanh" 或 "relu"。
        device, dtype: 参数放在哪个设备、用什么浮点类型。
    参数的形状:
        weight_ih (H, H_in)，weight_hh (H, H)，bias_ih (H,)，bias_hh (H,)；初值都服从 U(−1/√H, 1/√H)。
    调用 ``cell(input, hx=None)``:
        input: (N, H_in) 或无批量的 (H_in,)；hx: (N, H) 或 (H,)，省略时为全 0。
    返回:
        h': (N, H) 或 (H,)。

    例::

        >>> cell = nn.RNNCell(3, 5)
        >>> h = None
        >>> for x_t in tg.randn(4, 2, 3):      # 4 个时间步，批量 2
        ...     h = cell(x_t, h)
        >>> h.shape
        (2, 5)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"未知的 nonlinearity {nonlinearity!r} (Unknown nonlinearity)：只能是 'tanh' 或 'relu'。")
        self.nonlinearity = nonlinearity  # Module.__setattr__ 对普通属性直接写入，可以在 super().__init__() 之前
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx])
        h = _rnn_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh, self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """长短期记忆网络 (LSTM) 的单元，走一个时间步。门的顺序与 PyTorch 相同，为 i, f, g, o：

        i = σ(W_ii x + b_ii + W_hi h + b_hi)          输入门：新内容写进多少
        f = σ(W_if x + b_if + W_hf h + b_hf)          遗忘门：旧记忆留下多少
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)       候选记忆
        o = σ(W_io x + b_io + W_ho h + b_ho)          输出门
        c' = f ⊙ c + i ⊙ g
        h' = o ⊙ tanh(c')

    记忆 c 沿时间只经过按元素的乘 f 和加法，梯度不必反复穿过矩阵乘法，所以比简单 RNN 更不容易梯度消失。

    参数:
        input_size, hidden_size, bias, device, dtype: 同 ``RNNCell``。
    参数的形状:
        weight_ih (4H, H_in) = [W_ii; W_if; W_ig; W_io] 按行堆叠，weight_hh (4H, H)，bias_ih、bias_hh (4H,)。
    调用 ``cell(input, hx=None)``:
        input: (N, H_in) 或 (H_in,)；hx: 元组 (h, c)，各为 (N, H) 或 (H,)，省略时为全 0。
    返回:
        (h', c')，形状同 h、c。

    例::

        >>> cell = nn.LSTMCell(3, 5)
        >>> h, c = cell(tg.randn(2, 3))
        >>> h.shape, c.shape
        ((2, 5), (2, 5))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"LSTMCell 的 hx 应为元组 (h, c)，得到 {type(hx).__name__}。")
        x, (h, c), batched = self._prepare(input, list(hx))
        h, c = _lstm_step(F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """门控循环单元 (GRU) 的单元，走一个时间步。门的顺序与 PyTorch 相同，为 r, z, n：

        r = σ(W_ir x + b_ir + W_hr h + b_hr)              重置门
        z = σ(W_iz x + b_iz + W_hz h + b_hz)              更新门
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))     候选隐状态（注意 b_hn 在 r 的乘积里面）
        h' = (1 − z) ⊙ n + z ⊙ h

    参数:
        input_size, hidden_size, bias, device, dtype: 同 ``RNNCell``。
    参数的形状:
        weight_ih (3H, H_in) = [W_ir; W_iz; W_in]，weight_hh (3H, H)，bias_ih、bias_hh (3H,)。
    调用 ``cell(input, hx=None)``:
        input: (N, H_in) 或 (H_in,)；hx: (N, H) 或 (H,)，省略时为全 0。
    返回:
        h': (N, H) 或 (H,)。

    例::

        >>> cell = nn.GRUCell(3, 5)
        >>> cell(tg.randn(2, 3)).shape
        (2, 5)
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx])
        h = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)
