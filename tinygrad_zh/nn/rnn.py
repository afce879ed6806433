"""循环神经网络 (recurrent neural network)：单元 RNNCell、LSTMCell、GRUCell 与整层 RNN、LSTM、GRU
（多层、双向、batch_first），语义与 PyTorch 相同。

一个单元 (cell) 只走一个时间步 (time step)：读入这一步的输入 xₜ 和上一步的隐状态 (hidden state) hₜ₋₁，
算出新的隐状态 hₜ。整层就是把它沿时间一步步重复。每一步都由已有的可微运算（``F.linear``、sigmoid、tanh、
``chunk``、加法与乘法）拼成，所以不需要手写反向传播：自动微分沿着展开后的计算图把梯度一步步传回去，
这就是通过时间反向传播（BPTT, backpropagation through time）。

一步的计算分成两半：
- 输入投影 gi = x Wᵢₕᵀ + bᵢₕ 不依赖隐状态，整段序列可以一次矩阵乘法算完；
- 隐状态投影 gh = h Wₕₕᵀ + bₕₕ 依赖上一步，只能逐个时间步算。
下面的 ``_rnn_step`` / ``_lstm_step`` / ``_gru_step`` 接收已经算好的 gi，单元与整层共用它们，
门的公式因此只写一遍。

整层一层一个方向的计算（L 个时间步，批量 N）：

1. 输入投影一次算完：把 (L, N, H_in) 展平成 (L·N, H_in)，一次矩阵乘法得到所有时间步的 x Wᵢₕᵀ + bᵢₕ；
2. 只对时间步循环：每一步拿出自己那一片输入投影，交给上面的一步函数；
3. 把每一步的 h 堆叠 (stack) 成输出 (L, N, H)。

反向方向 (bidirectional) 的那一半从最后一个时间步往前走，输出再按时间的正序放回，
与正向的输出在特征维上拼接成 (L, N, 2H)。第 k 层的输出就是第 k+1 层的输入；
训练模式下层与层之间做 dropout（最后一层之后不做）。

循环只在时间步上：时间步之间有先后依赖，只能一步步算；批量里的样本互相独立，放进同一次矩阵乘法，
对样本循环会把一次大矩阵乘法拆成许多次小的，慢得多。

参数的名字、形状、门的顺序与初始化都与 PyTorch 相同，``state_dict`` 可以互相加载。
"""

from __future__ import annotations

import math
import numbers
import warnings

from .. import creation
from ..tensor import cat, stack
from . import functional as F, init
from .module import Module, Parameter

_NONLINEARITIES = ("tanh", "relu")
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---------------------------------------------------------------------------- 一个时间步（单元与整层共用）

def _rnn_step(gi, h, w_hh, b_hh, nonlinearity):
    """简单 RNN 的一步：hₜ = act(gi + hₜ₋₁ Wₕₕᵀ + bₕₕ)，act 为 tanh 或 ReLU。"""
    pre = gi + F.linear(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def _lstm_step(gi, h, c, w_hh, b_hh):
    """LSTM 的一步。gi、gates 的最后一维按 PyTorch 的顺序排成 [i | f | g | o]，每块 hidden_size 宽。

    返回 (hₜ, cₜ)。
    """
    # gates = gi + h Wₕₕᵀ + bₕₕ 切成 i, f, g, o 四块：cₜ = σ(f)·cₜ₋₁ + σ(i)·tanh(g)，hₜ = σ(o)·tanh(cₜ)
    # BEGIN SOLUTION task13_1
    gates = gi + F.linear(h, w_hh, b_hh)
    # 先切块、再各用各的激活函数：g 门用 tanh，其余用 sigmoid，不在整块上白算一遍
    i, f, g, o = gates.chunk(4, -1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_new = o.sigmoid() * c_new.tanh()
    return h_new, c_new
    # END SOLUTION


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


# ---------------------------------------------------------------------------- 单元：走一个时间步

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


# ---------------------------------------------------------------------------- 整层：沿时间循环，多层、双向

def _unbind_time(x):
    """把 (L, …) 沿第 0 维拆成 L 个 (…)，可微。

    为什么不直接 ``[x[t] for t in range(L)]``？索引的反向要造一个与 x 同样大的零数组、再把梯度放回去，
    L 个切片就是 L 个整块大小的数组相加，反向的代价是 O(L²)。对半切、再对半切，
    每一层切片的反向加起来只有一整块那么大，共 log₂L 层，代价降到 O(L log L)
    （L = 64 的 LSTM 训练步约快 2 倍，见 benchmarks/bench_lstm.py）。
    """
    n = x.shape[0]
    if n == 1:
        return [x[0]]
    first, second = x.split([n // 2, n - n // 2], 0)
    return _unbind_time(first) + _unbind_time(second)


class RNNBase(Module):
    """RNN / LSTM / GRU 的共同部分：登记参数、检查输入、逐层逐方向地跑时间循环。

    mode 为 "RNN_TANH"、"RNN_RELU"、"LSTM" 或 "GRU"（同 PyTorch 的 ``RNNBase``）。
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        who = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if mode not in _GATES:
            raise ValueError(f"未知的 RNN 模式 (Unrecognized RNN mode)：{mode!r}，可选 {tuple(_GATES)}。")
        _check_sizes(who, input_size, hidden_size)
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{who} 的 num_layers 必须是大于 0 的整数 (must be greater than zero)，得到 {num_layers!r}。")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
            raise ValueError(f"dropout 应为 [0, 1] 之间的数（一个元素被置 0 的概率），得到 {dropout!r}。")
        if proj_size != 0:
            raise NotImplementedError("本框架的 LSTM 不支持 proj_size（投影隐状态）；只能用 proj_size=0。")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"dropout 只加在除最后一层以外的各层之后 (adds dropout after all but last recurrent layer)，"
                f"所以 dropout={dropout} 需要 num_layers 大于 1，而这里 num_layers={num_layers}：dropout 不起作用。",
                UserWarning, stacklevel=3)
        for name, v in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(v, bool):
                raise TypeError(f"{who} 的 {name} 应为 bool，得到 {type(v).__name__}。")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size

        # 登记顺序决定 named_parameters() / state_dict() 的顺序：逐层、每层先正向后反向，
        # 每个方向依次是 weight_ih, weight_hh, bias_ih, bias_hh —— 与 PyTorch 完全相同
        self._all_weights = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * num_directions
            for direction in range(num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate, layer_input)), ("weight_hh", (gate, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                names = []
                for base, shape in shapes:
                    setattr(self, base + suffix, Parameter(creation.zeros(*shape, device=device, dtype=dtype)))
                    names.append(base + suffix)
                self._all_weights.append(names)
        self._flat_weights_names = [n for names in self._all_weights for n in names]
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch 的默认初始化：所有权重和偏置都服从 U(−1/√hidden_size, 1/√hidden_size)。"""
        _init_uniform(self)

    @property
    def all_weights(self):
        """按 [层·方向][weight_ih, weight_hh, bias_ih, bias_hh] 排列的参数（同 PyTorch）。"""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ 前向
    @property
    def _who(self):
        return type(self).__name__

    def _check_input(self, input):
        who = self._who
        if input.ndim not in (2, 3):
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ValueError(
                f"{who}：输入应为 3 维 {layout} 或无批量的 2 维 (L, H_in)，得到 {input.ndim} 维，形状 {input.shape} "
                f"(Expected input to be 2D or 3D)。提示：单个时间步请用 nn.{who}Cell，或先 unsqueeze 出时间维。")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"形状不匹配 (shape mismatch)：{who} 的 input_size={self.input_size}，但输入的最后一维是 "
                f"{input.shape[-1]}（input.shape={input.shape}，batch_first={self.batch_first}）"
                f"(input.size(-1) must be equal to input_size)。")

    def _check_state(self, state, name, batched, n):
        """初始状态应为 (D·num_layers, N, H)；无批量输入时为 (D·num_layers, H)。返回补上批量维的 (D·num_layers, N, H)。"""
        d = (2 if self.bidirectional else 1) * self.num_layers
        expected = (d, n, self.hidden_size) if batched else (d, self.hidden_size)
        if state.ndim != len(expected):
            raise RuntimeError(
                f"{self._who}：{'有批量的 3 维' if batched else '无批量的 2 维'}输入需要 {len(expected)} 维的 {name}，"
                f"得到 {state.ndim} 维，形状 {state.shape}（For {'batched 3-D' if batched else 'unbatched 2-D'} input, "
                f"hx should also be {len(expected)}-D）。")
        if state.shape != expected:
            layout = "(D·num_layers, N, hidden_size)" if batched else "(D·num_layers, hidden_size)"
            raise RuntimeError(
                f"形状不匹配 (shape mismatch)：{self._who} 的 {name} 应为 {expected}，即 {layout}，"
                f"D={d // self.num_layers}、num_layers={self.num_layers}、N={n}、hidden_size={self.hidden_size}；"
                f"得到 {state.shape} (Expected hidden size {expected}, got {list(state.shape)})。"
                "提示：batch_first 不影响 h_0 的布局，批量维总在第 1 维。")
        return state if batched else state.unsqueeze(1)

    def _run(self, input, states):
        """公共的前向。states 是初始状态的列表（RNN/GRU 一个，LSTM 两个；元素可以是 None）。

        返回 (output, [h_n] 或 [h_n, c_n])，都已按输入是否有批量、是否 batch_first 排好。
        """
        self._check_input(input)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # 内部一律用时间在前 (L, N, H_in)：按时间步切片是沿第 0 维
        seq_len, n = x.shape[0], x.shape[1]
        if seq_len == 0:
            raise RuntimeError(f"{self._who}：序列长度必须大于 0 (Expected sequence length to be larger than 0)。")
        names = ("h_0", "c_0")
        states = [None if s is None else self._check_state(s, names[k], batched, n) for k, s in enumerate(states)]
        _check_dtype(self._who, x, self.weight_ih_l0, [(f"初始状态 {names[k]}", s)
                                                       for k, s in enumerate(states) if s is not None])
        num_directions = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                idx = layer * num_directions + direction
                initial = [creation.zeros(n, self.hidden_size, dtype=x.dtype, device=x.device) if s is None
                           else s[idx] for s in states]
                out, last = self._layer(layer_input, initial, self.all_weights[idx], reverse=direction == 1)
                outputs.append(out)
                for k, s in enumerate(last):
                    finals[k].append(s)
            layer_input = outputs[0] if num_directions == 1 else cat(outputs, 2)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        finals = [stack(f, 0) for f in finals]
        if not batched:
            return output.squeeze(1), [f.squeeze(1) for f in finals]
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, finals

    def _layer(self, x, state, weights, reverse):
        """一层一个方向：x (L, N, H_in)，state 为 [h] 或 [h, c]（各 (N, H)）。返回 ((L, N, H), 最后一步的状态)。"""
        w_ih, w_hh = weights[0], weights[1]
        b_ih, b_hh = (weights[2], weights[3]) if self.bias else (None, None)
        seq_len, n = x.shape[0], x.shape[1]
        # 输入投影与隐状态无关：所有时间步并成一次 (L·N, H_in) @ (H_in, G·H) 的矩阵乘法
        gi = F.linear(x.reshape(seq_len * n, x.shape[2]), w_ih, b_ih).reshape(seq_len, n, w_ih.shape[0])
        steps = _unbind_time(gi)
        order = range(seq_len - 1, -1, -1) if reverse else range(seq_len)
        outs = [None] * seq_len
        for t in order:
            if self.mode == "LSTM":
                state = list(_lstm_step(steps[t], state[0], state[1], w_hh, b_hh))
            elif self.mode == "GRU":
                state = [_gru_step(steps[t], state[0], w_hh, b_hh)]
            else:
                state = [_rnn_step(steps[t], state[0], w_hh, b_hh, "tanh" if self.mode == "RNN_TANH" else "relu")]
            outs[t] = state[0]  # 反向方向也按时间的正序存放，与正向的输出逐时间步对齐
        return stack(outs, 0), state


class RNN(RNNBase):
    """多层简单循环神经网络 (Elman RNN)。对每一层、每个时间步 t：

        hₜ = tanh(xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh)       （nonlinearity="relu" 时用 ReLU）

    第 k ≥ 1 层的输入 xₜ 是第 k−1 层的输出（训练模式下先经过概率为 dropout 的暂退法）。

    参数:
        input_size: 输入特征数 H_in。
        hidden_size: 隐状态的特征数 H。
        num_layers: 堆叠的层数。
        nonlinearity: "tanh" 或 "relu"。
        bias: 是否有 b_ih、b_hh。
        batch_first: True 时输入与输出的布局是 (N, L, ·)，否则是 (L, N, ·)。h_0 / h_n 的布局不受影响。
        dropout: 除最后一层外，每层输出上的 dropout 概率（只在训练模式生效）。
        bidirectional: 是否双向 (D = 2)；反向方向的参数名带 ``_reverse`` 后缀。
        device, dtype: 参数放在哪个设备、用什么浮点类型。
    参数的形状（k 为层号）:
        weight_ih_l0 (H, H_in)，weight_ih_lk (H, D·H)（k ≥ 1），weight_hh_lk (H, H)，bias_ih_lk、bias_hh_lk (H,)；
        初值都服从 U(−1/√H, 1/√H)。
    调用 ``rnn(input, h_0=None)``:
        input: (L, N, H_in)；batch_first 时 (N, L, H_in)；无批量时 (L, H_in)。
        h_0: (D·num_layers, N, H)；无批量时 (D·num_layers, H)；省略时为全 0。
    返回:
        output: (L, N, D·H)（batch_first 时 (N, L, D·H)）：最后一层每个时间步的 h，双向时 [正向 | 反向] 拼接；
        h_n: (D·num_layers, N, H)：每层每个方向最后一步的 h，顺序为 l0 正向、l0 反向、l1 正向……

    例::

        >>> rnn = nn.RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(tg.randn(5, 3, 10))          # L=5, N=3
        >>> output.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"未知的 nonlinearity {nonlinearity!r} (Unknown nonlinearity)：只能是 'tanh' 或 'relu'。")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, [hx])
        return output, h_n


class LSTM(RNNBase):
    """多层长短期记忆网络 (LSTM)。对每一层、每个时间步 t（门的顺序 i, f, g, o 同 PyTorch）：

        iₜ = σ(W_ii xₜ + b_ii + W_hi hₜ₋₁ + b_hi)
        fₜ = σ(W_if xₜ + b_if + W_hf hₜ₋₁ + b_hf)
        gₜ = tanh(W_ig xₜ + b_ig + W_hg hₜ₋₁ + b_hg)
        oₜ = σ(W_io xₜ + b_io + W_ho hₜ₋₁ + b_ho)
        cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ
        hₜ = oₜ ⊙ tanh(cₜ)

    参数:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype:
        同 ``nn.RNN``。proj_size 只接受 0（不支持投影）。
    参数的形状:
        weight_ih_l0 (4H, H_in) = [W_ii; W_if; W_ig; W_io] 按行堆叠，weight_hh_lk (4H, H)，偏置 (4H,)。
    调用 ``lstm(input, (h_0, c_0)=None)``:
        input: 同 ``nn.RNN``；h_0、c_0: 各为 (D·num_layers, N, H)（无批量时 (D·num_layers, H)），省略时为全 0。
    返回:
        (output, (h_n, c_n))：output (L, N, D·H)，h_n 与 c_n 为 (D·num_layers, N, H)。

    例::

        >>> lstm = nn.LSTM(10, 20, batch_first=True)
        >>> output, (h_n, c_n) = lstm(tg.randn(3, 5, 10))    # N=3, L=5
        >>> output.shape, h_n.shape
        ((3, 5, 20), (1, 3, 20))

    截断的通过时间反向传播 (truncated BPTT)：把长序列切成小段，段与段之间用 ``detach()`` 传递状态，
    反向传播就只回到本段的开头（接着上面 batch_first=True 的 ``lstm``，所以沿第 1 维切时间）::

        >>> data = tg.randn(3, 100, 10)          # 批量 3，每条 100 步，每段 20 步
        >>> state = None
        >>> for chunk in data.split(20, dim=1):
        ...     out, state = lstm(chunk, state)
        ...     out.square().mean().backward()    # 这里代替真正的损失函数
        ...     state = tuple(s.detach() for s in state)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

    def forward(self, input, hx=None):
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"LSTM 的初始状态应为元组 (h_0, c_0)，得到 {type(hx).__name__}。")
        elif (hx[0] is None) != (hx[1] is None):
            raise ValueError("LSTM 的 h_0 与 c_0 要么都给，要么都不给（都省略时为全 0）。")
        output, (h_n, c_n) = self._run(input, list(hx))
        return output, (h_n, c_n)


class GRU(RNNBase):
    """多层门控循环单元 (GRU)。对每一层、每个时间步 t（门的顺序 r, z, n 同 PyTorch）：

        rₜ = σ(W_ir xₜ + b_ir + W_hr hₜ₋₁ + b_hr)
        zₜ = σ(W_iz xₜ + b_iz + W_hz hₜ₋₁ + b_hz)
        nₜ = tanh(W_in xₜ + b_in + rₜ ⊙ (W_hn hₜ₋₁ + b_hn))
        hₜ = (1 − zₜ) ⊙ nₜ + zₜ ⊙ hₜ₋₁

    参数:
        同 ``nn.RNN``（没有 nonlinearity）。
    参数的形状:
        weight_ih_l0 (3H, H_in) = [W_ir; W_iz; W_in] 按行堆叠，weight_hh_lk (3H, H)，偏置 (3H,)。
    调用 ``gru(input, h_0=None)``:
        同 ``nn.RNN``。
    返回:
        (output, h_n)，形状同 ``nn.RNN``。

    例::

        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> output, h_n = gru(tg.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        ((5, 3, 40), (2, 3, 20))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, [hx])
        return output, h_n
