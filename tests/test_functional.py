"""nn.functional：融合运算（交叉熵、层规范化、GELU、BCE）与其余损失、激活的前向数值和 float64 梯度检验。"""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh.testing import assert_close, gradcheck

from conftest import to_host


def t64(a, device="cpu", grad=True):
    x = tg.tensor(np.asarray(a, dtype=np.float64), device=device)
    return x.requires_grad_() if grad else x


def np_log_softmax(z, axis):
    s = z - z.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def ref_cross_entropy(z, t, ignore_index=-100, reduction="mean", eps=0.0):
    """独立的 NumPy 参考实现：类别在第 1 维。"""
    logp = np_log_softmax(z, 1)
    c = z.shape[1]
    logp = np.moveaxis(logp, 1, -1).reshape(-1, c)
    tf = t.reshape(-1)
    valid = tf != ignore_index
    safe = np.where(valid, tf, 0)
    loss = -(1 - eps) * logp[np.arange(len(tf)), safe] - eps / c * logp.sum(1)
    loss = np.where(valid, loss, 0.0)
    if reduction == "none":
        return loss.reshape(t.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / valid.sum()


@st.composite
def ce_case(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    z = draw(hnp.arrays(np.float64, (n, c) + extra, elements=st.floats(-3, 3)))
    t = draw(hnp.arrays(np.int64, (n,) + extra, elements=st.integers(0, c - 1)))
    ignore = draw(st.booleans())
    if ignore and t.size > 1:
        t.reshape(-1)[0] = -100
    return z, t, draw(st.sampled_from(["mean", "sum", "none"])), draw(st.sampled_from([0.0, 0.1]))


@pytest.mark.parametrize("dev", ["cpu", "strict"])
@given(case=ce_case())
def test_cross_entropy_matches_reference_and_gradchecks(dev, case):
    z, t, reduction, eps = case
    x = t64(z, dev)
    target = tg.tensor(t, device=dev)
    out = F.cross_entropy(x, target, reduction=reduction, label_smoothing=eps)
    assert_close(to_host(out), ref_cross_entropy(z, t, reduction=reduction, eps=eps), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda a: F.cross_entropy(a, target, reduction=reduction, label_smoothing=eps), x)


def test_cross_entropy_known_value_and_unbatched():
    z = tg.tensor([[2.0, 0.5, -1.0]])
    expected = -math.log(math.exp(2) / (math.exp(2) + math.exp(0.5) + math.exp(-1)))
    assert F.cross_entropy(z, tg.tensor([0])).item() == pytest.approx(expected, rel=1e-6)
    assert F.cross_entropy(z[0], tg.tensor(0)).item() == pytest.approx(expected, rel=1e-6)
    assert F.cross_entropy(z, tg.tensor([0])).dtype == tg.float32


def test_cross_entropy_stays_finite_for_huge_logits():
    z = tg.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    loss = F.cross_entropy(z, tg.tensor([1, 1]))
    assert loss.item() == pytest.approx(1000.0)
    loss.backward()
    assert np.isfinite(z.grad.numpy()).all()


def test_cross_entropy_all_ignored_is_nan_like_pytorch():
    with np.errstate(invalid="ignore"):
        out = F.cross_entropy(tg.ones(2, 3), tg.tensor([-100, -100]))
    assert math.isnan(out.item())


def test_cross_entropy_bad_input_errors():
    with pytest.raises(IndexError, match=r"3 个类别.*\[5\]"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 5]))
    with pytest.raises(RuntimeError, match=r"target 应为 \(2,\)，得到 \(3,\)"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="整数"):
        F.cross_entropy(tg.ones(2, 3), tg.ones(2))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1]), reduction="avg")


def test_nll_loss_of_log_softmax_equals_cross_entropy(device):
    rng = np.random.default_rng(0)
    z = t64(rng.standard_normal((4, 5, 2)), device)
    t = tg.tensor(rng.integers(0, 5, (4, 2)), device=device)
    assert_close(to_host(F.nll_loss(F.log_softmax(z, 1), t)), to_host(F.cross_entropy(z, t)), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda a: F.nll_loss(F.log_softmax(a, 1), t, reduction="sum"), z)


@pytest.mark.parametrize("dev", ["cpu", "strict"])
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4),
                    elements=st.floats(-3, 3)), k=st.integers(1, 2), affine=st.booleans())
def test_layer_norm_matches_reference_and_gradchecks(dev, x, k, affine):
    k = min(k, x.ndim)
    shape = x.shape[x.ndim - k:]
    axes = tuple(range(x.ndim - k, x.ndim))
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal(shape), rng.standard_normal(shape)
    mu, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    expected = (x - mu) / np.sqrt(var + 1e-5) * (w if affine else 1) + (b if affine else 0)
    xt = t64(x, dev)
    wt, bt = (t64(w, dev), t64(b, dev)) if affine else (None, None)
    assert_close(to_host(F.layer_norm(xt, shape, wt, bt)), expected, rtol=1e-9, atol=1e-9)
    inputs = [xt] + ([wt, bt] if affine else [])
    assert gradcheck(lambda a, *wb: F.layer_norm(a, shape, *wb), *inputs)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_values_and_gradcheck(device, approximate):
    x = np.linspace(-4, 4, 17)
    if approximate == "none":
        from scipy.special import erf
        expected = 0.5 * x * (1 + erf(x / math.sqrt(2)))
    else:
        expected = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    xt = t64(x, device)
    assert_close(to_host(F.gelu(xt, approximate=approximate)), expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda a: F.gelu(a, approximate=approximate), xt)
    assert F.gelu(tg.ones(2)).dtype == tg.float32


def test_bce_losses(device):
    rng = np.random.default_rng(2)
    z, t = rng.standard_normal((3, 4)) * 3, rng.integers(0, 2, (3, 4)).astype(np.float64)
    p = 1 / (1 + np.exp(-z))
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    zt, tt = t64(z, device), t64(t, device, grad=False)
    assert_close(to_host(F.binary_cross_entropy_with_logits(zt, tt, reduction="none")), expected, rtol=1e-10, atol=1e-12)
    assert_close(to_host(F.binary_cross_entropy(zt.sigmoid(), tt)), expected.mean(), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, tt), zt)
    assert gradcheck(lambda a: F.binary_cross_entropy(a.sigmoid(), tt, reduction="sum"), zt)
    big = tg.tensor([1000.0, -1000.0])
    assert F.binary_cross_entropy_with_logits(big, tg.tensor([0.0, 1.0]), reduction="none").tolist() == [1000.0, 1000.0]
    assert F.binary_cross_entropy(tg.tensor([0.0, 1.0]), tg.tensor([1.0, 0.0])).item() == pytest.approx(100.0)


def test_regression_losses_and_activations(device):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    at, bt = t64(a, device), t64(b, device, grad=False)
    assert_close(to_host(F.mse_loss(at, bt)), ((a - b) ** 2).mean(), rtol=1e-12)
    assert_close(to_host(F.l1_loss(at, bt, reduction="sum")), np.abs(a - b).sum(), rtol=1e-12)
    assert gradcheck(lambda x: F.mse_loss(x, bt), at)
    assert gradcheck(lambda x: F.l1_loss(x, bt, reduction="none"), at)  # 随机数据几乎不会落在折点 x = t 上
    assert_close(to_host(F.leaky_relu(at, 0.1)), np.where(a > 0, a, 0.1 * a), rtol=1e-12)
    assert gradcheck(lambda x: F.leaky_relu(x, 0.2), at)
    with pytest.warns(UserWarning, match=r"\(3, 1\).*\(3,\)"):
        F.mse_loss(tg.ones(3, 1), tg.ones(3))


def test_linear_embedding_one_hot_dropout(device):
    rng = np.random.default_rng(4)
    x, w, b = (t64(rng.standard_normal(s), device) for s in [(5, 3), (2, 3), (2,)])
    assert gradcheck(lambda *ts: F.linear(*ts), x, w, b)
    with pytest.raises(RuntimeError, match=r"input.shape=\(5, 3\).*\(4, 2\)"):
        F.linear(x, t64(np.ones((4, 2)), device))
    table = t64(rng.standard_normal((6, 3)), device)
    idx = tg.tensor([[1, 1], [0, 5]], device=device)
    assert F.embedding(idx, table).shape == (2, 2, 3)
    assert gradcheck(lambda t: F.embedding(idx, t), table)
    table.grad = None
    F.embedding(idx, table, padding_idx=1).sum().backward()
    assert to_host(table.grad)[1].tolist() == [0.0, 0.0, 0.0] and to_host(table.grad)[0].tolist() == [1.0] * 3
    old = tg.set_debug_checks(True)   # GPU（与替身设备）上要同步的范围检查只在调试时做
    try:
        with pytest.raises(IndexError, match=r"6 行.*\[0, 9\]"):
            F.embedding(tg.tensor([0, 9], device=device), table)
    finally:
        tg.set_debug_checks(old)
    assert F.one_hot(tg.tensor([0, 2], device=device)).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert F.one_hot(tg.tensor([1]), num_classes=4).dtype == tg.int64
    tg.manual_seed(0)
    h = tg.ones(10000, device=device)
    d = F.dropout(h, 0.25)
    kept = to_host(d)
    assert set(np.unique(kept).tolist()) <= {0.0, float(np.float32(1 / 0.75))} and abs((kept == 0).mean() - 0.25) < 0.02
    assert F.dropout(h, 0.25, training=False) is h

    def dropped(t):
        tg.manual_seed(1)  # 每次调用用同一个掩码，数值差分才有意义
        return F.dropout(t, 0.4)
    assert gradcheck(dropped, t64(rng.standard_normal((4, 5)), device))


def test_fused_ops_refuse_create_graph_clearly():
    x = tg.randn(2, 3, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([0, 1]))
    with pytest.raises(RuntimeError, match=r"CrossEntropy.*create_graph"):
        loss.backward(create_graph=True)


@pytest.mark.torch
def test_functional_matches_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    rng = np.random.default_rng(5)
    z = rng.standard_normal((4, 5, 3))
    t = rng.integers(0, 5, (4, 3))
    t[0, 0] = 3
    cases = [
        (lambda f, a, tt: f.cross_entropy(a, tt, ignore_index=3, label_smoothing=0.2), z, t),
        (lambda f, a, tt: f.gelu(a), z, None),
        (lambda f, a, tt: f.gelu(a, approximate="tanh"), z, None),
        (lambda f, a, tt: f.layer_norm(a, (5, 3)), z, None),
        (lambda f, a, tt: f.leaky_relu(a, 0.3), z, None),
    ]
    for fn, a, tt in cases:
        ours = tg.tensor(a, requires_grad=True)
        theirs = torch.tensor(a, requires_grad=True)
        o = fn(F, ours, None if tt is None else tg.tensor(tt))
        r = fn(tF, theirs, None if tt is None else torch.tensor(tt))
        u = rng.standard_normal(r.shape)
        o.backward(tg.tensor(u))
        r.backward(torch.tensor(u))
        assert_close(o.detach().numpy(), r.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert_close(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------- log-sigmoid、带权重与软标签的交叉熵、embedding、GELU 的 dtype

def test_logsigmoid_values_gradcheck_and_module(device):
    x = np.array([-30.0, -2.0, -0.5, 0.0, 0.7, 3.0, 30.0])
    xt = t64(x, device)
    assert_close(to_host(F.logsigmoid(xt)), -np.logaddexp(0, -x), rtol=1e-13, atol=0)
    assert gradcheck(F.logsigmoid, xt)
    assert nn.LogSigmoid()(tg.tensor([0.0], device=device)).item() == pytest.approx(-math.log(2))
    assert F.logsigmoid(tg.tensor([1, 2])).dtype == tg.float32


def ref_weighted_cross_entropy(z, t, w, ignore_index=-100, reduction="mean", eps=0.0):
    """独立的 NumPy 参考实现（PyTorch 的公式）：'mean' 除以没被忽略的样本的权重之和。"""
    logp = np.moveaxis(np_log_softmax(z, 1), 1, -1).reshape(-1, z.shape[1])
    tf = t.reshape(-1)
    valid = tf != ignore_index
    safe = np.where(valid, tf, 0)
    c = z.shape[1]
    loss = -(1 - eps) * w[safe] * logp[np.arange(len(tf)), safe] - eps / c * (logp * w).sum(1)
    loss = np.where(valid, loss, 0.0)
    if reduction == "none":
        return loss.reshape(t.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / np.where(valid, w[safe], 0.0).sum()


@pytest.mark.parametrize("dev", ["cpu", "strict"])
@given(case=ce_case(), seed=st.integers(0, 2**16))
def test_weighted_cross_entropy_matches_reference_and_gradchecks(dev, case, seed):
    z, t, reduction, eps = case
    w = np.random.default_rng(seed).uniform(0.1, 3.0, z.shape[1])
    x, wt = t64(z, dev), tg.tensor(w, device=dev)
    target = tg.tensor(t, device=dev)
    out = F.cross_entropy(x, target, weight=wt, reduction=reduction, label_smoothing=eps)
    assert_close(to_host(out), ref_weighted_cross_entropy(z, t, w, reduction=reduction, eps=eps), rtol=1e-10,
                 atol=1e-12)
    assert gradcheck(lambda a: F.cross_entropy(a, target, weight=wt, reduction=reduction, label_smoothing=eps), x)


@pytest.mark.parametrize("dev", ["cpu", "strict"])
@given(case=ce_case(), seed=st.integers(0, 2**16), weighted=st.booleans())
def test_cross_entropy_with_probability_targets_matches_reference_and_gradchecks(dev, case, seed, weighted):
    z, _, reduction, eps = case
    rng = np.random.default_rng(seed)
    p = np.moveaxis(rng.dirichlet(np.ones(z.shape[1]), (z.shape[0],) + z.shape[2:]), -1, 1)
    w = rng.uniform(0.1, 3.0, z.shape[1]) if weighted else np.ones(z.shape[1])
    q = p * (1 - eps) + eps / z.shape[1]
    per = -(np_log_softmax(z, 1) * q * w.reshape((-1,) + (1,) * (z.ndim - 2))).sum(1)
    expected = {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]  # 'mean' 除以样本数（同 PyTorch）
    x, pt = t64(z, dev), t64(p, dev)
    wt = tg.tensor(w, device=dev) if weighted else None

    def fn(a, b):
        return F.cross_entropy(a, b, weight=wt, reduction=reduction, label_smoothing=eps)
    assert_close(to_host(fn(x, pt)), expected, rtol=1e-10, atol=1e-12)
    assert gradcheck(fn, x, pt)  # 对软标签本身也能求梯度


def test_cross_entropy_weight_and_probability_target_known_values():
    z = tg.tensor([[2.0, 0.5, -1.0]])
    logp = np_log_softmax(np.array([[2.0, 0.5, -1.0]]), 1)[0]
    assert F.cross_entropy(z, tg.tensor([[0.5, 0.5, 0.0]])).item() == pytest.approx(-(logp[0] + logp[1]) / 2, rel=1e-6)
    assert F.cross_entropy(z[0], tg.tensor([0.0, 0.0, 1.0])).item() == pytest.approx(-logp[2], rel=1e-6)
    # 带权重的 'mean'：除以 Σ w[t]，所以只有一个样本时权重约掉
    w = tg.tensor([3.0, 1.0, 1.0])
    assert F.cross_entropy(z, tg.tensor([0]), weight=w).item() == pytest.approx(-logp[0], rel=1e-6)
    assert F.cross_entropy(z, tg.tensor([0]), weight=w, reduction="sum").item() == pytest.approx(-3 * logp[0], rel=1e-6)
    two = tg.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]])
    expected = (-3 * logp[0] + math.log(3)) / 4
    assert F.cross_entropy(two, tg.tensor([0, 2]), weight=w).item() == pytest.approx(expected, rel=1e-6)
    assert math.isnan(F.cross_entropy(tg.zeros(0, 3), tg.zeros(0, 3)).item())  # 空批量求平均：nan（同 PyTorch）


def test_cross_entropy_weight_and_soft_target_errors():
    with pytest.raises(RuntimeError, match=r"weight.*\(3,\).*\(2,\)"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1]), weight=tg.ones(2))
    with pytest.raises(RuntimeError, match="设备不一致"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1]), weight=tg.ones(3, device="strict"))
    with pytest.raises(RuntimeError, match="浮点.*int64"):
        F.cross_entropy(tg.ones(2, 3), tg.zeros(2, 3, dtype=tg.int64))
    with pytest.raises(RuntimeError, match="ignore_index=0"):
        F.cross_entropy(tg.ones(2, 3), tg.ones(2, 3) / 3, ignore_index=0)


def test_cross_entropy_loss_module_keeps_weight_as_a_buffer():
    w = tg.tensor([1.0, 2.0, 0.5])
    criterion = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)
    assert list(criterion.state_dict()) == ["weight"] and criterion.weight is w
    z, t = tg.randn(4, 3), tg.tensor([0, 1, 2, 1])
    expected = F.cross_entropy(z, t, weight=w, label_smoothing=0.1).item()
    assert criterion(z, t).item() == pytest.approx(expected)
    criterion.to("strict")  # 缓冲区随模块换设备
    assert criterion.weight.device == "strict"
    assert criterion(z.to("strict"), t.to("strict")).item() == pytest.approx(expected)
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


def test_embedding_negative_padding_idx_counts_from_the_end(device):
    table = t64(np.arange(8.0).reshape(4, 2), device)
    idx = tg.tensor([0, 3, 3, 1], device=device)
    F.embedding(idx, table, padding_idx=-1).sum().backward()
    assert to_host(table.grad).tolist() == [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match=r"padding_idx=-5.*\[-4, 4\)"):
        F.embedding(idx, table, padding_idx=-5)
    with pytest.raises(ValueError, match="padding_idx=4"):
        F.embedding(idx, table, padding_idx=4)


def test_exact_gelu_keeps_float16(device):
    x = np.linspace(-4, 4, 17)
    for approximate in ("none", "tanh"):
        h = tg.tensor(x.astype(np.float16), device=device, requires_grad=True)
        out = F.gelu(h, approximate=approximate)
        assert out.dtype == tg.float16  # 不悄悄变成 float32
        ref = to_host(F.gelu(tg.tensor(x, device=device), approximate=approximate))
        assert_close(to_host(out).astype(np.float64), ref, rtol=2e-3, atol=2e-3)  # 在 float32 里算，只有最后一次舍入
        out.sum().backward()
        assert h.grad.dtype == tg.float16
