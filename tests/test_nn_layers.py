"""nn 的层、激活函数与损失函数：前向数值、float64 梯度检验、错误信息，以及（可选）与 PyTorch 对照。"""

import math

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh.testing import assert_close, gradcheck

from conftest import to_host


# ---------------------------------------------------------------------------- Linear

def test_linear_forward_and_gradcheck(device):
    tg.manual_seed(0)
    lin = nn.Linear(3, 4, dtype=tg.float64).to(device)
    assert lin.weight.shape == (4, 3) and lin.bias.shape == (4,) and lin.weight.dtype == np.float64
    x = tg.randn(2, 5, 3, dtype=tg.float64, device=device, requires_grad=True)
    y = lin(x)
    assert y.shape == (2, 5, 4) and y.device == device
    expected = to_host(x) @ to_host(lin.weight).T + to_host(lin.bias)
    assert_close(to_host(y), expected)
    assert gradcheck(lambda x, w, b: lin(x), x, lin.weight, lin.bias)
    no_bias = nn.Linear(3, 2, bias=False, dtype=tg.float64, device=device)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert gradcheck(lambda x, w: no_bias(x), x, no_bias.weight)


def test_linear_shape_error_names_both_shapes():
    lin = nn.Linear(3, 4)
    with pytest.raises(RuntimeError) as e:
        lin(tg.zeros(2, 5))
    msg = str(e.value)
    assert "(2, 5)" in msg and "(4, 3)" in msg and "in_features" in msg


def test_linear_default_dtype_and_device_kwargs():
    lin = nn.Linear(2, 2, device="strict")
    assert lin.weight.device == "strict" and lin.weight.dtype == np.float32
    assert lin(tg.zeros(1, 2, device="strict")).device == "strict"


# ---------------------------------------------------------------------------- Embedding

def test_embedding_forward_gradcheck_and_padding(device):
    tg.manual_seed(1)
    emb = nn.Embedding(6, 3, padding_idx=-1, dtype=tg.float64, device=device)
    assert emb.padding_idx == 5 and np.all(to_host(emb.weight)[5] == 0)  # 负数从末尾数，填充行初始化为 0
    idx = tg.tensor([[0, 5, 2], [2, 2, 5]], device=device)
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    assert_close(to_host(out), to_host(emb.weight)[to_host(idx)])
    # 填充行不接收梯度（同 PyTorch），数值梯度却看得到它，所以梯度检验用没有 padding_idx 的层
    plain = nn.Embedding(6, 3, dtype=tg.float64, device=device)
    assert gradcheck(lambda w: plain(idx), plain.weight)  # 重复的下标 2：梯度要累加
    (emb(idx) * tg.randn(2, 3, 3, dtype=tg.float64, device=device)).sum().backward()
    grad = to_host(emb.weight.grad)
    assert np.all(grad[5] == 0) and np.all(grad[[1, 3, 4]] == 0) and np.any(grad[2] != 0)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)


def test_embedding_from_pretrained():
    table = tg.arange(6, dtype=tg.float32).reshape(3, 2)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and isinstance(emb.weight, nn.Parameter)
    assert np.array_equal(to_host(emb(tg.tensor([2]))), [[4.0, 5.0]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


def test_embedding_init_is_standard_normal():
    tg.manual_seed(2)
    w = to_host(nn.Embedding(1000, 100).weight)
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


# ---------------------------------------------------------------------------- LayerNorm

def test_layernorm_forward_and_gradcheck(device):
    tg.manual_seed(3)
    ln = nn.LayerNorm((2, 3), dtype=tg.float64, device=device)
    assert np.all(to_host(ln.weight) == 1) and np.all(to_host(ln.bias) == 0) and ln.weight.shape == (2, 3)
    with tg.no_grad():
        ln.weight.data = ln.weight.data + tg.randn(2, 3, dtype=tg.float64, device=device).data
        ln.bias.data = ln.bias.data + tg.randn(2, 3, dtype=tg.float64, device=device).data
    x = tg.randn(4, 2, 3, dtype=tg.float64, device=device, requires_grad=True)
    xh = to_host(x)
    mu = xh.mean(axis=(1, 2), keepdims=True)
    var = xh.var(axis=(1, 2), keepdims=True)
    expected = (xh - mu) / np.sqrt(var + 1e-5) * to_host(ln.weight) + to_host(ln.bias)
    assert_close(to_host(ln(x)), expected, rtol=1e-10, atol=1e-10)
    assert gradcheck(lambda x, w, b: ln(x), x, ln.weight, ln.bias)
    plain = nn.LayerNorm(3, elementwise_affine=False, dtype=tg.float64)
    assert list(plain.parameters()) == []
    y = plain(tg.randn(5, 3, dtype=tg.float64))
    assert_close(to_host(y).mean(axis=-1), np.zeros(5), atol=1e-12)
    assert nn.LayerNorm(3, bias=False).bias is None


def test_layernorm_shape_error():
    with pytest.raises(RuntimeError, match=r"\(3,\)"):
        nn.LayerNorm(3)(tg.zeros(2, 4))


# ---------------------------------------------------------------------------- Dropout、Flatten、Identity

def test_dropout_train_and_eval(device):
    tg.manual_seed(4)
    drop = nn.Dropout(0.25)
    x = tg.ones(400, 100, device=device)
    y = to_host(drop(x))
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01 and np.allclose(y[kept], 1 / 0.75)
    drop.eval()
    assert drop(x) is x or np.array_equal(to_host(drop(x)), to_host(x))
    with pytest.raises(ValueError, match="1.5"):
        nn.Dropout(1.5)


def test_flatten_and_identity():
    x = tg.zeros(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Identity(54, unused="x")(x) is x


# ---------------------------------------------------------------------------- 激活函数

ACTIVATIONS = [
    (nn.ReLU(), lambda a: np.maximum(a, 0)),
    (nn.LeakyReLU(0.2), lambda a: np.where(a > 0, a, 0.2 * a)),
    (nn.Sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    (nn.Tanh(), np.tanh),
    (nn.GELU(), lambda a: 0.5 * a * (1 + np.vectorize(math.erf)(a / math.sqrt(2)))),
    (nn.GELU("tanh"), lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))),
    (nn.Softmax(dim=-1), lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
]


@pytest.mark.parametrize("layer,ref", ACTIVATIONS, ids=lambda v: repr(v) if isinstance(v, nn.Module) else "")
def test_activation_forward_and_gradcheck(layer, ref, device):
    tg.manual_seed(5)
    x = tg.randn(3, 4, dtype=tg.float64, device=device, requires_grad=True)
    assert_close(to_host(layer(x)), ref(to_host(x)), rtol=1e-9, atol=1e-9)
    assert gradcheck(layer, x)


def test_softmax_without_dim_warns():
    with pytest.warns(UserWarning, match="dim"):
        y = nn.Softmax()(tg.zeros(2, 3))
    assert_close(to_host(y), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError):
        nn.GELU("fast")


# ---------------------------------------------------------------------------- 损失函数

def _logits_and_target(device):
    tg.manual_seed(6)
    x = tg.randn(5, 4, dtype=tg.float64, device=device, requires_grad=True)
    t = tg.tensor([0, 3, 1, -100, 2], device=device)
    return x, t


def test_cross_entropy_and_nll_loss(device):
    x, t = _logits_and_target(device)
    xh, th = to_host(x), to_host(t)
    logp = xh - np.log(np.exp(xh).sum(1, keepdims=True))
    valid = th != -100
    per = -logp[np.arange(5), np.where(valid, th, 0)] * valid
    assert_close(to_host(nn.CrossEntropyLoss()(x, t)), per.sum() / valid.sum())
    assert_close(to_host(nn.CrossEntropyLoss(reduction="sum")(x, t)), per.sum())
    assert_close(to_host(nn.CrossEntropyLoss(reduction="none")(x, t)), per)
    assert_close(to_host(nn.NLLLoss()(x.log_softmax(1), t)), per.sum() / valid.sum())
    smooth = nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=-100)
    ref = ((1 - 0.1) * per - 0.1 / 4 * logp.sum(1) * valid).sum() / valid.sum()
    assert_close(to_host(smooth(x, t)), ref)
    assert gradcheck(lambda x: smooth(x, t), x)
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=2.0)


def test_regression_and_binary_losses(device):
    tg.manual_seed(7)
    p = tg.rand(3, 4, dtype=tg.float64, device=device) * 0.8 + 0.1
    z = tg.randn(3, 4, dtype=tg.float64, device=device, requires_grad=True)
    y = tg.rand(3, 4, dtype=tg.float64, device=device)
    ph, zh, yh = to_host(p), to_host(z), to_host(y)
    assert_close(to_host(nn.MSELoss()(z, y)), ((zh - yh) ** 2).mean())
    assert_close(to_host(nn.MSELoss(reduction="sum")(z, y)), ((zh - yh) ** 2).sum())
    assert_close(to_host(nn.L1Loss(reduction="none")(z, y)), np.abs(zh - yh))
    assert_close(to_host(nn.BCELoss()(p, y)), (-(yh * np.log(ph) + (1 - yh) * np.log(1 - ph))).mean())
    s = 1 / (1 + np.exp(-zh))
    assert_close(to_host(nn.BCEWithLogitsLoss()(z, y)), (-(yh * np.log(s) + (1 - yh) * np.log(1 - s))).mean())
    assert gradcheck(lambda z: nn.BCEWithLogitsLoss(reduction="sum")(z, y), z)
    assert gradcheck(lambda z: nn.MSELoss()(z, y), z)


# ---------------------------------------------------------------------------- 与 PyTorch 对照（可选）

@pytest.mark.torch
def test_layers_match_torch_with_same_weights():
    torch = pytest.importorskip("torch")
    tg.manual_seed(8)

    def load(ours, theirs):
        theirs.double().load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
        return theirs

    def check(ours, theirs, x, tx):
        out, tout = ours(x), theirs(tx)
        assert_close(to_host(out), tout.detach().numpy(), rtol=1e-10, atol=1e-10)
        g = np.random.default_rng(0).standard_normal(out.shape)
        out.backward(tg.tensor(g))
        tout.backward(torch.from_numpy(g))
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
            assert_close(to_host(p.grad), tp.grad.numpy(), rtol=1e-10, atol=1e-10, msg=name)
        if x.requires_grad:
            assert_close(to_host(x.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-10, msg="input")
            x.grad, tx.grad = None, None

    x = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    tx = torch.from_numpy(to_host(x)).requires_grad_(True)
    lin = nn.Linear(3, 5, dtype=tg.float64)
    check(lin, load(lin, torch.nn.Linear(3, 5)), x, tx)
    ln = nn.LayerNorm(3, dtype=tg.float64)
    with tg.no_grad():
        ln.weight.data = tg.randn(3, dtype=tg.float64).data
    check(ln, load(ln, torch.nn.LayerNorm(3)), x, tx)
    emb = nn.Embedding(7, 3, padding_idx=2, dtype=tg.float64)
    idx = tg.tensor([[1, 2, 6], [2, 0, 1]])
    check(emb, load(emb, torch.nn.Embedding(7, 3, padding_idx=2)), idx, torch.from_numpy(to_host(idx)))
    for approx in ("none", "tanh"):
        check(nn.GELU(approx), torch.nn.GELU(approximate=approx), x, tx)

    t = tg.tensor([0, 2, 1, 2])
    tt = torch.from_numpy(to_host(t))
    for ours, theirs in [(nn.CrossEntropyLoss(label_smoothing=0.2), torch.nn.CrossEntropyLoss(label_smoothing=0.2)),
                         (nn.CrossEntropyLoss(ignore_index=2), torch.nn.CrossEntropyLoss(ignore_index=2))]:
        assert_close(to_host(ours(x, t)), theirs(tx, tt).detach().numpy(), rtol=1e-10, atol=1e-10)
    y = tg.rand(4, 3, dtype=tg.float64)
    ty = torch.from_numpy(to_host(y))
    for ours, theirs in [(nn.MSELoss(), torch.nn.MSELoss()), (nn.L1Loss(), torch.nn.L1Loss()),
                         (nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss())]:
        assert_close(to_host(ours(x, y)), theirs(tx, ty).detach().numpy(), rtol=1e-10, atol=1e-10)
