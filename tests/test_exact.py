"""已知值：不可导点、并列、极端值处的行为与 PyTorch 完全一致。"""

import warnings

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.nn.functional as F

from conftest import to_host


def _grad(f, values, device="cpu"):
    x = tg.tensor(values, device=device, requires_grad=True)
    f(x).sum().backward()
    return x.grad.tolist()


def test_relu_and_abs_have_zero_gradient_at_zero(device):
    assert _grad(lambda x: x.relu(), [-1.0, 0.0, 2.0], device) == [0.0, 0.0, 1.0]
    assert _grad(lambda x: x.abs(), [-1.0, 0.0, 2.0], device) == [-1.0, 0.0, 1.0]


def test_full_max_and_min_split_ties_evenly(device):
    assert _grad(lambda x: x.max(), [1.0, 3.0, 3.0, 2.0], device) == [0.0, 0.5, 0.5, 0.0]
    assert _grad(lambda x: x.min(), [1.0, 1.0, 1.0, 2.0], device) == pytest.approx([1 / 3] * 3 + [0.0])


def test_max_with_dim_gives_whole_gradient_to_one_index(device):
    x = tg.tensor([[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]], device=device, requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [2.0, 5.0] and indices.tolist() == [0, 1]
    values.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    v, i = x.detach().max(dim=0, keepdim=True)
    assert v.shape == (1, 3) and i.tolist() == [[0, 1, 1]]


def test_maximum_of_equal_inputs_splits_half_half(device):
    a = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = tg.tensor([1.0, 0.0], device=device, requires_grad=True)
    tg.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0] and b.grad.tolist() == [0.5, 0.0]
    a = tg.tensor([3.0], requires_grad=True)
    tg.maximum(a, a).sum().backward()
    assert a.grad.tolist() == [1.0]  # 两条路径各 0.5


def test_clamp_gradient_is_one_inside_including_the_bounds(device):
    assert _grad(lambda x: x.clamp(-1, 1), [-2.0, -1.0, 0.0, 1.0, 2.0], device) == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_softmax_sigmoid_logsumexp_stay_finite_at_extremes(device):
    x = tg.tensor([-1000.0, 0.0, 1000.0], device=device, requires_grad=True)
    s = x.softmax(0)
    assert s.tolist() == [0.0, 0.0, 1.0]
    assert x.sigmoid().tolist() == [0.0, 0.5, 1.0]
    assert x.log_softmax(0).tolist() == [-2000.0, -1000.0, 0.0]
    assert x.logsumexp(0).item() == 1000.0
    x.logsumexp(0).backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]
    assert np.isfinite(_grad(lambda t: t.sigmoid(), [-1000.0, 1000.0], device)).all()
    neg_inf = tg.tensor([-np.inf, -np.inf], device=device)
    assert neg_inf.logsumexp(0).item() == -np.inf  # 整行 -inf 不产生 nan


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_sqrt_and_log_at_zero_follow_ieee(device):
    assert _grad(lambda x: x.sqrt(), [0.0], device) == [np.inf]
    assert _grad(lambda x: x.log(), [0.0], device) == [np.inf]


def test_var_is_unbiased_by_default():
    x = tg.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var().item() == pytest.approx(5 / 3)
    assert x.var(unbiased=False).item() == pytest.approx(1.25)
    assert x.var(correction=0).item() == pytest.approx(1.25)
    assert x.std().item() == pytest.approx(np.sqrt(5 / 3))


# ---------------------------------------------------------------------------- 两端、0 的幂、nan、空张量（同 PyTorch）

def test_sigmoid_is_accurate_in_both_tails_in_float32(device):
    x = np.array([-15.0, -20.0, -80.0, 15.0, 30.0])
    ref = 1 / (1 + np.exp(-x))  # float64 的参考值
    out = tg.tensor(x.astype(np.float32), device=device).sigmoid()
    assert out.dtype == tg.float32
    rel = np.abs(to_host(out).astype(np.float64) - ref) / ref
    assert rel.max() < 2e-7, rel  # (1 + tanh(x/2)) / 2 在 −15 处差 2.6%，−17 以下直接是 0
    assert np.isfinite(tg.tensor([-20.0], device=device).sigmoid().log().item())
    assert tg.tensor([-20.0], device=device).sigmoid().log().item() == pytest.approx(-20.0, rel=1e-6)


def test_sigmoid_and_logsigmoid_have_no_overflow_warnings(device):
    x = [-1000.0, -80.0, 0.0, 80.0, 1000.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.tensor(x, device=device).sigmoid().tolist()[::2] == [0.0, 0.5, 1.0]
        assert _grad(lambda t: t.sigmoid(), x, device)[::2] == [0.0, 0.25, 0.0]
        out = F.logsigmoid(tg.tensor(x, device=device))
        assert out.tolist() == pytest.approx([-1000.0, -80.0, -np.log(2), -np.exp(-80.0), 0.0], rel=1e-6, abs=0)
        assert _grad(F.logsigmoid, x, device) == pytest.approx([1.0, 1.0, 0.5, np.exp(-80.0), 0.0], rel=1e-6, abs=0)


def test_binary_cross_entropy_is_finite_at_zero_and_one(device):
    p = tg.tensor([0.0, 1.0, 0.0, 1.0, 0.5], device=device, requires_grad=True)
    t = tg.tensor([0.0, 1.0, 1.0, 0.0, 0.3], device=device, requires_grad=True)
    loss = F.binary_cross_entropy(p, t, reduction="none")
    assert loss.tolist() == pytest.approx([0.0, 0.0, 100.0, 100.0, np.log(2)])
    loss.sum().backward()
    # 同 PyTorch：∂ℓ/∂p = (p − t) / max(p(1 − p), 1e−12)，∂ℓ/∂t = log(1 − p) − log p（不截断）
    assert p.grad.tolist() == pytest.approx([0.0, 0.0, -1e12, 1e12, 0.8], rel=1e-6)
    assert t.grad.tolist() == [np.inf, -np.inf, np.inf, -np.inf, 0.0]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy 对 0 的负数次幂、负数的 log 发警告（PyTorch 不发）
def test_pow_gradients_at_zero_follow_pytorch(device):
    assert _grad(lambda x: x ** 0, [0.0, 2.0], device) == [0.0, 0.0]
    a = tg.tensor([0.0, 0.0, 0.0, 2.0, -2.0], device=device, requires_grad=True)
    b = tg.tensor([0.0, 1.0, -1.0, 0.0, 2.0], device=device, requires_grad=True)
    (a ** b).sum().backward()
    assert a.grad.tolist() == [0.0, 1.0, -np.inf, 0.0, -4.0]           # 0⁰ 处 b·a^(b−1) 取 0
    assert b.grad.tolist()[:4] == [0.0, 0.0, -np.inf, pytest.approx(np.log(2))]  # a = 0、b ≥ 0 处取 0
    assert np.isnan(b.grad.tolist()[4])                                   # ln(−2) = nan，同 PyTorch
    # 底数是 Python 数：0.0 ** x、(−2.0) ** x 反向不再报 math domain error
    assert _grad(lambda x: 0.0 ** x, [0.0, 1.0, -1.0, 0.5], device) == [0.0, 0.0, -np.inf, 0.0]
    assert np.isnan(_grad(lambda x: (-2.0) ** x, [0.0, 1.0, 2.0, 0.5], device)).all()
    x = tg.tensor([1.0], device=device, requires_grad=True)
    (2.0 ** x).sum().backward()
    assert x.grad.dtype == tg.float32 and x.grad.item() == pytest.approx(2 * np.log(2))


def test_std_of_constant_slice_has_zero_gradient(device):
    assert _grad(lambda x: x.std(1), [[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]], device) == [[0.0] * 3, [-0.5, 0.0, 0.5]]
    assert _grad(lambda x: x.std(), [2.0, 2.0, 2.0], device) == [0.0, 0.0, 0.0]
    assert _grad(lambda x: x.std(0, unbiased=False, keepdim=True), [[3.0, 1.0], [3.0, 2.0]], device) == \
        [[0.0, -0.5], [0.0, 0.5]]


def test_max_min_with_nan_send_gradient_to_the_nan_elements(device):
    nan = float("nan")
    assert _grad(lambda x: x.max(), [1.0, nan, 3.0, nan], device) == [0.0, 0.5, 0.0, 0.5]
    assert _grad(lambda x: x.min(), [1.0, nan, 3.0, -4.0], device) == [0.0, 1.0, 0.0, 0.0]
    x = [[1.0, nan, 3.0], [nan, 2.0, nan]]
    assert _grad(lambda t: t.max(1).values, x, device) == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert _grad(lambda t: t.min(1).values, x, device) == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_amax_amin_split_ties_evenly_unlike_max_dim(device):
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    assert _grad(lambda t: t.amax(1), x, device) == [[0.0, 0.5, 0.5], [pytest.approx(1 / 3)] * 3]
    assert _grad(lambda t: t.max(1).values, x, device) == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert _grad(lambda t: t.amin(), x, device) == [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert _grad(lambda t: t.amax((0, 1), keepdim=True), x, device) == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]


def test_mean_of_empty_tensor_is_nan_and_backward_gives_empty_grad(device):
    x = tg.zeros(0, device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 也不发 NumPy 的 "Mean of empty slice"
        m = x.mean()
    assert np.isnan(m.item())
    m.backward()  # 以前是 ZeroDivisionError
    assert x.grad.shape == (0,)
    y = tg.zeros(3, 0, device=device, requires_grad=True)
    m = y.mean(1)
    assert m.shape == (3,) and np.isnan(to_host(m)).all()
    m.sum().backward()
    assert y.grad.shape == (3, 0)
