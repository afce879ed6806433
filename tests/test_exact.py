"""已知值：不可导点、并列、极端值处的行为与 PyTorch 完全一致。"""

import numpy as np
import pytest

import tinygrad_zh as tg


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
