"""循环神经网络：RNN / LSTM / GRU 及其单元。

- 门的公式对照手写的 NumPy 参考实现；整层对照逐步调用单元；
- float64 梯度检验（短序列、小尺寸），在 cpu 与严格替身设备上；
- 参数的名字、形状、顺序对照手写的期望列表；
- 截断的通过时间反向传播、梯度裁剪、dropout 的训练 / 评估模式；
- 错误信息；
- （可选）与 torch.nn.RNN / LSTM / GRU 及其单元对照：同样的权重，比较输出、最终状态与全部梯度。
"""

import doctest
import math
import types

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.nn.functional as F
from tinygrad_zh.nn import rnn as rnn_module
from tinygrad_zh.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from tinygrad_zh.nn.utils import clip_grad_norm_
from tinygrad_zh.testing import assert_close, gradcheck

from conftest import to_host

F64 = tg.float64


def _randn(*shape, device="cpu", requires_grad=True):
    return tg.randn(*shape, dtype=F64, device=device, requires_grad=requires_grad)


# ---------------------------------------------------------------------------- 门的公式：对照 NumPy

def _sig(a):
    return 1 / (1 + np.exp(-a))


def _np_cell(kind, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """按文档里的公式逐门写出的一步（PyTorch 的门顺序）。"""
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if kind == "rnn":
        return np.tanh(gi + gh), None
    if kind == "lstm":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        return _sig(o) * np.tanh(c), c
    (i_r, i_z, i_n), (h_r, h_z, h_n) = np.split(gi, 3, axis=-1), np.split(gh, 3, axis=-1)
    r, z = _sig(i_r + h_r), _sig(i_z + h_z)
    n = np.tanh(i_n + r * h_n)  # b_hn 在 r 的乘积里面
    return (1 - z) * n + z * h, None


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cells_match_numpy_formulas(kind, device):
    tg.manual_seed(0)
    cell = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}[kind](3, 4, dtype=F64, device=device)
    x, h, c = (_randn(2, k, device=device, requires_grad=False) for k in (3, 4, 4))
    w = [to_host(p) for p in list(cell.parameters())]
    out = cell(x, (h, c)) if kind == "lstm" else cell(x, h)
    h_ref, c_ref = _np_cell(kind, to_host(x), to_host(h), to_host(c), *w)
    if kind == "lstm":
        assert_close(to_host(out[1]), c_ref, rtol=1e-12, atol=1e-12)
        out = out[0]
    assert out.device == device and out.shape == (2, 4)
    assert_close(to_host(out), h_ref, rtol=1e-12, atol=1e-12)


def test_layers_equal_cells_stepped_by_hand():
    """整层（一次输入投影 + 时间循环，含反向方向）与逐步调用单元的结果相同。"""
    tg.manual_seed(1)
    for layer_cls, cell_cls in [(RNN, RNNCell), (LSTM, LSTMCell), (GRU, GRUCell)]:
        layer = layer_cls(3, 4, bidirectional=True, dtype=F64)
        cells = [cell_cls(3, 4, dtype=F64) for _ in range(2)]
        for cell, suffix in zip(cells, ["_l0", "_l0_reverse"]):
            cell.load_state_dict({k: layer.state_dict()[k + suffix] for k in cell.state_dict()})
        x = _randn(5, 2, 3, requires_grad=False)
        out, hn = layer(x)
        hn = hn[0] if layer_cls is LSTM else hn
        for d, (cell, steps) in enumerate(zip(cells, [range(5), range(4, -1, -1)])):
            state = None
            for t in steps:
                state = cell(x[t], state)
                h = state[0] if layer_cls is LSTM else state
                assert_close(to_host(out)[t, :, 4 * d:4 * d + 4], to_host(h), rtol=1e-12, atol=1e-12)
            assert_close(to_host(hn[d]), to_host(h), rtol=1e-12, atol=1e-12)


def test_layouts_batch_first_and_unbatched():
    tg.manual_seed(2)
    gru = GRU(3, 4, num_layers=2, dtype=F64)
    x = _randn(5, 2, 3, requires_grad=False)
    out, hn = gru(x)
    gru_bf = GRU(3, 4, num_layers=2, batch_first=True, dtype=F64)
    gru_bf.load_state_dict(gru.state_dict())
    out_bf, hn_bf = gru_bf(x.transpose(0, 1))
    assert out_bf.shape == (2, 5, 4) and hn_bf.shape == (2, 2, 4)  # h_n 不受 batch_first 影响
    assert_close(to_host(out_bf).transpose(1, 0, 2), to_host(out))
    assert_close(to_host(hn_bf), to_host(hn))
    out1, hn1 = gru(x[:, 0], hn[:, 0])  # 无批量：(L, H_in) 与 (D·num_layers, H)
    ref1, refh1 = gru(x[:, :1], hn[:, :1])
    assert out1.shape == (5, 4) and hn1.shape == (2, 4)
    assert_close(to_host(out1), to_host(ref1)[:, 0])
    assert_close(to_host(hn1), to_host(refh1)[:, 0])
    h1, c1 = LSTMCell(3, 4)(tg.randn(3))
    assert h1.shape == c1.shape == (4,)


# ---------------------------------------------------------------------------- 参数：名字、形状、顺序、初始化

def _expected_names(gates, input_size, hidden, num_layers, bidirectional, bias=True):
    out = []
    for layer in range(num_layers):
        for suffix in ["", "_reverse"] if bidirectional else [""]:
            in_size = input_size if layer == 0 else hidden * (2 if bidirectional else 1)
            out += [(f"weight_ih_l{layer}{suffix}", (gates * hidden, in_size)),
                    (f"weight_hh_l{layer}{suffix}", (gates * hidden, hidden))]
            if bias:
                out += [(f"bias_{k}_l{layer}{suffix}", (gates * hidden,)) for k in ("ih", "hh")]
    return out


def test_parameter_names_shapes_and_order():
    lstm = LSTM(3, 4, num_layers=2, bidirectional=True)
    expected = [
        ("weight_ih_l0", (16, 3)), ("weight_hh_l0", (16, 4)), ("bias_ih_l0", (16,)), ("bias_hh_l0", (16,)),
        ("weight_ih_l0_reverse", (16, 3)), ("weight_hh_l0_reverse", (16, 4)),
        ("bias_ih_l0_reverse", (16,)), ("bias_hh_l0_reverse", (16,)),
        ("weight_ih_l1", (16, 8)), ("weight_hh_l1", (16, 4)), ("bias_ih_l1", (16,)), ("bias_hh_l1", (16,)),
        ("weight_ih_l1_reverse", (16, 8)), ("weight_hh_l1_reverse", (16, 4)),
        ("bias_ih_l1_reverse", (16,)), ("bias_hh_l1_reverse", (16,)),
    ]
    assert [(n, p.shape) for n, p in lstm.named_parameters()] == expected
    assert _expected_names(4, 3, 4, 2, True) == expected
    assert list(lstm.state_dict()) == [n for n, _ in expected]
    assert [[p.shape for p in ws] for ws in lstm.all_weights][2] == [(16, 8), (16, 4), (16,), (16,)]
    gru = GRU(5, 2, num_layers=3)
    assert [(n, p.shape) for n, p in gru.named_parameters()] == _expected_names(3, 5, 2, 3, False)
    rnn = RNN(5, 2, bidirectional=True, bias=False)
    assert [(n, p.shape) for n, p in rnn.named_parameters()] == _expected_names(1, 5, 2, 1, True, bias=False)
    for cell, g in [(RNNCell(3, 4), 1), (LSTMCell(3, 4), 4), (GRUCell(3, 4), 3)]:
        assert [(n, p.shape) for n, p in cell.named_parameters()] == [
            ("weight_ih", (4 * g, 3)), ("weight_hh", (4 * g, 4)), ("bias_ih", (4 * g,)), ("bias_hh", (4 * g,))]
    assert [n for n, _ in GRUCell(3, 4, bias=False).named_parameters()] == ["weight_ih", "weight_hh"]


def test_init_is_uniform_in_one_over_sqrt_hidden_and_repr():
    tg.manual_seed(3)
    for m in (LSTM(20, 64, num_layers=2), GRUCell(20, 64)):
        bound = 1 / math.sqrt(64)
        for name, p in m.named_parameters():
            w = to_host(p)
            assert p.dtype == np.float32 and np.abs(w).max() <= bound, name
            assert np.abs(w).max() > 0.9 * bound and abs(w.mean()) < 0.2 * bound, name
    assert repr(LSTM(3, 4, num_layers=2, batch_first=True)) == "LSTM(3, 4, num_layers=2, batch_first=True)"
    assert repr(RNN(3, 4, bias=False, bidirectional=True)) == "RNN(3, 4, bias=False, bidirectional=True)"
    assert repr(RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    assert LSTM(3, 4, device="strict").weight_hh_l0.device == "strict"


# ---------------------------------------------------------------------------- 梯度检验（float64）

CELLS = [
    ("rnn_tanh", lambda **kw: RNNCell(2, 3, **kw)),
    ("rnn_relu", lambda **kw: RNNCell(2, 3, nonlinearity="relu", **kw)),
    ("lstm", lambda **kw: LSTMCell(2, 3, **kw)),
    ("gru", lambda **kw: GRUCell(2, 3, **kw)),
]


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
def test_cell_gradcheck(name, make, device):
    tg.manual_seed(4)
    cell = make(dtype=F64, device=device)
    x, h, c = _randn(2, 2, device=device), _randn(2, 3, device=device), _randn(2, 3, device=device)
    if name == "lstm":
        assert gradcheck(lambda x, h, c, *ps: cell(x, (h, c)), x, h, c, *cell.parameters())
    else:
        assert gradcheck(lambda x, h, *ps: cell(x, h), x, h, *cell.parameters())


LAYERS = [  # (名字, 构造, 输入形状, 是否给初始状态)
    ("rnn_2layers_h0", lambda **kw: RNN(2, 3, num_layers=2, **kw), (3, 2, 2), True),
    ("rnn_relu_bidir", lambda **kw: RNN(2, 2, nonlinearity="relu", bidirectional=True, **kw), (3, 2, 2), False),
    ("lstm_bidir_batch_first_h0", lambda **kw: LSTM(2, 2, bidirectional=True, batch_first=True, **kw), (2, 3, 2), True),
    ("lstm_2layers", lambda **kw: LSTM(2, 2, num_layers=2, **kw), (4, 1, 2), False),
    ("gru_2layers_bidir_h0", lambda **kw: GRU(2, 2, num_layers=2, bidirectional=True, **kw), (3, 2, 2), True),
    ("gru_unbatched", lambda **kw: GRU(2, 3, **kw), (4, 2), True),
]


@pytest.mark.parametrize("name,make,shape,with_h0", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_gradcheck(name, make, shape, with_h0, device):
    tg.manual_seed(5)
    m = make(dtype=F64, device=device)
    x = _randn(*shape, device=device)
    d = (2 if m.bidirectional else 1) * m.num_layers
    state_shape = (d, shape[0] if m.batch_first else shape[1], m.hidden_size) if len(shape) == 3 else (d, m.hidden_size)
    is_lstm = isinstance(m, LSTM)
    states = [_randn(*state_shape, device=device) for _ in range(2 if is_lstm else 1)] if with_h0 else []

    def fn(x, *rest):  # LSTM 的 (output, (h_n, c_n)) 摊平成 (output, h_n, c_n)
        out, hn = m(x, (tuple(states) if is_lstm else states[0]) if states else None)
        return (out, *hn) if is_lstm else (out, hn)
    assert fn(x)[0].device == device
    # 输出、最终状态都接随机的上游梯度：也检验了经过 h_n / c_n 回传的梯度
    assert gradcheck(fn, x, *states, *m.parameters())


# ---------------------------------------------------------------------------- 截断 BPTT、梯度裁剪、dropout

def test_truncated_bptt_stops_at_detach():
    tg.manual_seed(6)
    lstm = LSTM(2, 3, dtype=F64)
    x1, x2 = _randn(4, 2, 2), _randn(3, 2, 2)
    out1, state = lstm(x1)
    state = tuple(s.detach() for s in state)
    out2, _ = lstm(x2, state)
    up = _randn(3, 2, 3, requires_grad=False)
    (out2 * up).sum().backward()
    assert x1.grad is None and x2.grad is not None  # 反向没有走进上一段
    grads = {n: to_host(p.grad) for n, p in lstm.named_parameters()}
    # 上一段的图没有被这次反向释放：它根本没被访问过，还能再反向一次
    (out1 * 0).sum().backward()
    # 手工计算：把上一段的最终状态当常数，从头算第二段，梯度应完全相同
    lstm.zero_grad()
    h0, c0 = (tg.tensor(to_host(s)) for s in state)
    out_manual, _ = lstm(tg.tensor(to_host(x2)), (h0, c0))
    assert_close(to_host(out_manual), to_host(out2), rtol=0, atol=0)
    (out_manual * up).sum().backward()
    for n, p in lstm.named_parameters():
        assert_close(to_host(p.grad), grads[n], rtol=1e-12, atol=1e-14, msg=n)


def test_clip_grad_norm_on_lstm():
    tg.manual_seed(7)
    lstm = LSTM(3, 4, num_layers=2, dtype=F64)
    out, (h, c) = lstm(_randn(5, 2, 3, requires_grad=False))
    (out * 100).sum().backward()
    before = {n: to_host(p.grad) for n, p in lstm.named_parameters()}
    total_ref = math.sqrt(sum(float((g ** 2).sum()) for g in before.values()))
    total = clip_grad_norm_(lstm.parameters(), max_norm=1.0)
    assert math.isclose(float(total), total_ref, rel_tol=1e-12) and total_ref > 1.0
    for n, p in lstm.named_parameters():
        assert_close(to_host(p.grad), before[n] * (1.0 / (total_ref + 1e-6)), msg=n)
    after = math.sqrt(sum(float((to_host(p.grad) ** 2).sum()) for p in lstm.parameters()))
    assert math.isclose(after, 1.0, rel_tol=1e-5)
    assert math.isclose(float(clip_grad_norm_(lstm.parameters(), max_norm=10.0)), after, rel_tol=1e-12)


def test_dropout_between_layers_only_in_training():
    tg.manual_seed(8)
    gru = GRU(3, 4, num_layers=2, dropout=0.5, dtype=F64)
    x = _randn(5, 2, 3, requires_grad=False)
    train1, train2 = to_host(gru(x)[0]), to_host(gru(x)[0])
    assert not np.allclose(train1, train2)  # 训练模式：每次的掩码不同
    gru.eval()
    ev = to_host(gru(x)[0])
    assert np.array_equal(ev, to_host(gru(x)[0]))
    plain = GRU(3, 4, num_layers=2, dtype=F64)
    plain.load_state_dict(gru.state_dict())
    assert_close(ev, to_host(plain(x)[0]), rtol=0, atol=0)  # 评估模式 = 没有 dropout
    # 训练模式：恰好是“第 0 层 → dropout → 第 1 层”，最后一层之后不做
    gru.train()
    layer0, layer1 = GRU(3, 4, dtype=F64), GRU(4, 4, dtype=F64)
    layer0.load_state_dict({k: v for k, v in gru.state_dict().items() if k.endswith("l0")})
    layer1.load_state_dict({k.replace("l1", "l0"): v for k, v in gru.state_dict().items() if k.endswith("l1")})
    tg.manual_seed(9)
    out, hn = gru(x)
    tg.manual_seed(9)
    y0, h0 = layer0(x)
    y1, h1 = layer1(F.dropout(y0, 0.5, True))
    assert_close(to_host(out), to_host(y1), rtol=0, atol=0)
    assert_close(to_host(hn), np.concatenate([to_host(h0), to_host(h1)]), rtol=0, atol=0)
    with pytest.warns(UserWarning, match="num_layers"):
        single = LSTM(3, 4, dropout=0.3)
    assert np.array_equal(to_host(single(x.float())[0]), to_host(single.eval()(x.float())[0]))


@pytest.mark.parametrize("module", [rnn_module], ids=["rnn"])
def test_docstring_examples_run(module):
    # 文档里的例子写作 nn.LSTM(...)：这里直接给出这些类，不依赖 nn/__init__.py 是否已导出它们
    nn = types.SimpleNamespace(RNN=RNN, LSTM=LSTM, GRU=GRU, RNNCell=RNNCell, LSTMCell=LSTMCell, GRUCell=GRUCell)
    result = doctest.testmod(module, extraglobs={"nn": nn, "tg": tg})
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------- 错误信息

def test_errors_name_shapes():
    lstm = LSTM(3, 4, num_layers=2, bidirectional=True)
    with pytest.raises(RuntimeError, match=r"input_size=3.*\(5, 2, 7\)"):
        lstm(tg.zeros(5, 2, 7))
    with pytest.raises(ValueError, match=r"\(2, 3, 4, 5\)"):
        lstm(tg.zeros(2, 3, 4, 5))
    h = tg.zeros(2, 2, 4)
    with pytest.raises(RuntimeError, match=r"h_0 应为 \(4, 2, 4\).*\(2, 2, 4\)"):
        lstm(tg.zeros(5, 2, 3), (h, h))
    with pytest.raises(RuntimeError, match=r"c_0 应为 \(4, 2, 4\).*\(4, 3, 4\)"):
        lstm(tg.zeros(5, 2, 3), (tg.zeros(4, 2, 4), tg.zeros(4, 3, 4)))
    with pytest.raises(RuntimeError, match="2 维"):
        lstm(tg.zeros(5, 3), (tg.zeros(4, 1, 4), tg.zeros(4, 1, 4)))
    with pytest.raises(TypeError, match=r"\(h_0, c_0\)"):
        lstm(tg.zeros(5, 2, 3), tg.zeros(4, 2, 4))
    with pytest.raises(ValueError, match="float64.*float32"):
        lstm(tg.zeros(5, 2, 3, dtype=F64))
    gru = GRU(3, 4, batch_first=True)
    with pytest.raises(RuntimeError, match=r"\(1, 2, 4\).*\(1, 5, 4\)"):
        gru(tg.zeros(2, 5, 3), tg.zeros(1, 5, 4))  # batch_first 不改变 h_0 的布局
    with pytest.raises(RuntimeError, match="序列长度"):
        gru(tg.zeros(2, 0, 3))
    with pytest.raises(RuntimeError, match=r"input_size=3.*\(2, 5\)"):
        GRUCell(3, 4)(tg.zeros(2, 5))
    with pytest.raises(RuntimeError, match=r"hx 应为 \(2, 4\).*\(3, 4\)"):
        RNNCell(3, 4)(tg.zeros(2, 3), tg.zeros(3, 4))
    with pytest.raises(ValueError, match="1 维.*2 维"):
        LSTMCell(3, 4)(tg.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        GRU(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size"):
        LSTM(3, 0)
    with pytest.raises(NotImplementedError, match="proj_size"):
        LSTM(3, 4, proj_size=2)


# ---------------------------------------------------------------------------- 与 PyTorch 对照（可选）

def _compare_with_torch(torch, ours, theirs, x_np, states_np, is_lstm, rng):
    """同样的权重、输入与初始状态：输出、最终状态，以及输入、初始状态和全部参数的梯度都应一致。"""
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    theirs.double().load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x, tx = tg.tensor(x_np, requires_grad=True), torch.from_numpy(x_np).requires_grad_(True)
    st = [tg.tensor(s, requires_grad=True) for s in states_np]
    tst = [torch.from_numpy(s).requires_grad_(True) for s in states_np]
    out = ours(x, (tuple(st) if is_lstm else st[0]) if st else None)
    tout = theirs(tx, (tuple(tst) if is_lstm else tst[0]) if tst else None)

    def flat(o):  # (output, h_n) / (output, (h_n, c_n)) / h' / (h', c') → 张量列表
        return [t for item in (o if isinstance(o, tuple) else (o,))
                for t in (item if isinstance(item, tuple) else (item,))]
    outs, touts = flat(out), flat(tout)
    for a, b in zip(outs, touts):
        assert a.shape == tuple(b.shape)
        assert_close(to_host(a), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    # 每个输出（含最终状态）都接随机的上游梯度
    ups = [rng.standard_normal(a.shape) for a in outs]
    sum((a * tg.tensor(u)).sum() for a, u in zip(outs, ups)).backward()
    sum((b * torch.from_numpy(u)).sum() for b, u in zip(touts, ups)).backward()
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(to_host(p.grad), tp.grad.numpy(), rtol=1e-9, atol=1e-11, msg=name)
    assert_close(to_host(x.grad), tx.grad.numpy(), rtol=1e-9, atol=1e-11, msg="input")
    for s, ts in zip(st, tst):
        assert_close(to_host(s.grad), ts.grad.numpy(), rtol=1e-9, atol=1e-11, msg="初始状态")


TORCH_CONFIGS = [  # (类名, 构造参数, 输入形状, 是否给初始状态)
    ("RNN", dict(num_layers=2, bidirectional=True), (4, 2, 3), True),
    ("RNN", dict(nonlinearity="relu", batch_first=True), (2, 4, 3), False),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True), (2, 4, 3), True),
    ("LSTM", dict(bias=False), (4, 3), True),
    ("LSTM", dict(num_layers=2), (4, 3), False),
    ("GRU", dict(num_layers=2, bidirectional=True), (4, 2, 3), True),
    ("GRU", dict(batch_first=True, bidirectional=True), (4, 3), False),
]


@pytest.mark.torch
@pytest.mark.parametrize("cls,kwargs,shape,with_h0", TORCH_CONFIGS, ids=[
    f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items())}-{len(c[2])}d" for c in TORCH_CONFIGS])
def test_layers_match_torch(cls, kwargs, shape, with_h0):
    torch = pytest.importorskip("torch")
    tg.manual_seed(10)
    rng = np.random.default_rng(10)
    ours = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[cls](3, 4, dtype=F64, **kwargs)
    d = (2 if ours.bidirectional else 1) * ours.num_layers
    state_shape = (d, shape[0] if ours.batch_first else shape[1], 4) if len(shape) == 3 else (d, 4)
    states = [rng.standard_normal(state_shape) for _ in range(2 if cls == "LSTM" else 1)] if with_h0 else []
    _compare_with_torch(torch, ours, getattr(torch.nn, cls)(3, 4, **kwargs), rng.standard_normal(shape), states,
                        cls == "LSTM", rng)


@pytest.mark.torch
@pytest.mark.parametrize("cls,kwargs", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
                                        ("GRUCell", {}), ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched,with_hx", [(True, True), (True, False), (False, True)])
def test_cells_match_torch(cls, kwargs, batched, with_hx):
    torch = pytest.importorskip("torch")
    tg.manual_seed(11)
    rng = np.random.default_rng(11)
    ours = {"RNNCell": RNNCell, "LSTMCell": LSTMCell, "GRUCell": GRUCell}[cls](3, 4, dtype=F64, **kwargs)
    lead = (2,) if batched else ()
    states = [rng.standard_normal(lead + (4,)) for _ in range(2 if cls == "LSTMCell" else 1)] if with_hx else []
    _compare_with_torch(torch, ours, getattr(torch.nn, cls)(3, 4, **kwargs), rng.standard_normal(lead + (3,)),
                        states, cls == "LSTMCell", rng)


@pytest.mark.torch
def test_torch_state_dict_loads_into_ours():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    ours = LSTM(3, 4, num_layers=2, bidirectional=True)
    result = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    out, (h, c) = ours(tg.tensor(x))
    tout, (th, tc) = theirs(torch.from_numpy(x))
    assert_close(to_host(out), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_close(to_host(c), tc.detach().numpy(), rtol=1e-5, atol=1e-6)
