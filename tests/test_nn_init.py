"""nn.init（初始化的统计量、扇入扇出、可复现性）与 nn.utils（梯度裁剪、参数与向量互转）。"""

import math

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh.nn import init
from tinygrad_zh.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters
from tinygrad_zh.testing import assert_close

from conftest import to_host


# ---------------------------------------------------------------------------- 增益与扇入扇出

def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="softplus"):
        init.calculate_gain("softplus")


def test_fan_in_and_fan_out():
    assert init._calculate_fan_in_and_fan_out(tg.zeros(4, 3)) == (3, 4)  # Linear: (out, in)
    assert init._calculate_fan_in_and_fan_out(tg.zeros(8, 3, 5, 5)) == (75, 200)  # Conv2d: (out, in, kH, kW)
    with pytest.raises(ValueError, match="2"):
        init._calculate_fan_in_and_fan_out(tg.zeros(5))
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_uniform_(tg.zeros(3, 3), mode="fan_avg")


# ---------------------------------------------------------------------------- 分布的统计量

SHAPE = (300, 200)  # fan_in = 200, fan_out = 300；6 万个样本，标准差的相对误差约 0.3%


def _stats(t):
    a = to_host(t).astype(np.float64)
    return a.mean(), a.std(), a.min(), a.max()


def test_uniform_normal_constant(device):
    tg.manual_seed(0)
    t = tg.zeros(*SHAPE, device=device)
    assert init.uniform_(t, -2.0, 3.0) is t
    mean, std, lo, hi = _stats(t)
    assert -2 <= lo and hi < 3 and abs(mean - 0.5) < 0.03 and abs(std - 5 / math.sqrt(12)) < 0.02
    init.normal_(t, mean=1.0, std=0.5)
    mean, std, _, _ = _stats(t)
    assert abs(mean - 1) < 0.01 and abs(std - 0.5) < 0.01
    assert t.device == device and t.dtype == np.float32
    init.constant_(t, 0.25)
    assert np.all(to_host(t) == 0.25) and t.device == device
    assert np.all(to_host(init.zeros_(t)) == 0) and np.all(to_host(init.ones_(t)) == 1)


@pytest.mark.parametrize("mode,fan", [("fan_in", 200), ("fan_out", 300)])
def test_kaiming(mode, fan, device):
    tg.manual_seed(1)
    t = tg.zeros(*SHAPE, dtype=tg.float64, device=device)
    init.kaiming_uniform_(t, mode=mode, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / fan)
    mean, std, lo, hi = _stats(t)
    assert -bound <= lo and hi <= bound and hi > 0.99 * bound and abs(mean) < 0.01 * bound
    assert abs(std - bound / math.sqrt(3)) < 0.01 * bound
    init.kaiming_normal_(t, mode=mode, nonlinearity="relu")
    _, std, _, _ = _stats(t)
    assert abs(std - math.sqrt(2 / fan)) < 0.02 * math.sqrt(2 / fan)
    assert t.dtype == np.float64 and t.device == device


def test_xavier_and_trunc_normal():
    tg.manual_seed(2)
    t = tg.zeros(*SHAPE)
    init.xavier_uniform_(t, gain=2.0)
    bound = 2.0 * math.sqrt(6 / (200 + 300))
    _, std, lo, hi = _stats(t)
    assert -bound <= lo and hi <= bound and abs(std - bound / math.sqrt(3)) < 0.01 * bound
    init.xavier_normal_(t)
    _, std, _, _ = _stats(t)
    assert abs(std - math.sqrt(2 / 500)) < 0.02 * math.sqrt(2 / 500)
    init.trunc_normal_(t, mean=0.0, std=1.0, a=-1.0, b=2.0)
    mean, std, lo, hi = _stats(t)
    # 截断到 [−1, 2] 的标准正态：均值 (φ(−1) − φ(2)) / (Φ(2) − Φ(−1))
    phi = lambda v: math.exp(-v * v / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2)))  # noqa: E731
    assert -1 <= lo and hi <= 2 and abs(mean - (phi(-1) - phi(2)) / (cdf(2) - cdf(-1))) < 0.01
    init.trunc_normal_(t, std=0.02)  # GPT 常用：a、b 是绝对值 ±2，远大于 0.02，几乎不截断
    assert abs(_stats(t)[1] - 0.02) < 0.001


def test_linear_default_init_bounds():
    tg.manual_seed(3)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=√5) 化简的结果
    for p in (lin.weight, lin.bias):
        _, _, lo, hi = _stats(p)
        assert -bound <= lo and hi <= bound and hi > 0.95 * bound
    _, std, _, _ = _stats(lin.weight)
    assert abs(std - bound / math.sqrt(3)) < 0.01 * bound


def test_reproducible_with_manual_seed(device):
    def build():
        tg.manual_seed(42)
        return nn.Sequential(nn.Linear(3, 4), nn.Embedding(5, 2), nn.Linear(4, 1)).to(device)

    a, b = build(), build()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert np.array_equal(to_host(pa), to_host(pb))
    g = tg.Generator().manual_seed(7)
    t1 = init.normal_(tg.zeros(3), generator=g)
    t2 = init.normal_(tg.zeros(3), generator=tg.Generator().manual_seed(7))
    assert np.array_equal(to_host(t1), to_host(t2))
    with pytest.raises(TypeError, match="Tensor"):
        init.normal_(np.zeros(3))


# ---------------------------------------------------------------------------- 梯度裁剪

def _params_with_grads(device, grads):
    params = []
    for g in grads:
        p = nn.Parameter(tg.zeros(*g.shape, device=device))
        p.grad = tg.tensor(g, device=device)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_clip_grad_norm_matches_numpy(norm_type, device):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
    flat = np.concatenate([g.reshape(-1) for g in grads]).astype(np.float64)
    total_ref = np.abs(flat).max() if math.isinf(norm_type) else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    params = _params_with_grads(device, grads)
    params.append(nn.Parameter(tg.zeros(2, device=device)))  # 没有梯度的参数被跳过
    max_norm = 0.5
    total = clip_grad_norm_(iter(params), max_norm, norm_type=norm_type)  # 生成器也可以
    assert isinstance(total, tg.Tensor) and total.shape == () and total.device == device
    assert_close(to_host(total), np.float32(total_ref), rtol=1e-5)
    coef = max_norm / (total_ref + 1e-6)
    for p, g in zip(params, grads):
        assert p.grad.dtype == np.float32 and p.grad.device == device
        assert_close(to_host(p.grad), (g * coef).astype(np.float32), rtol=1e-5, atol=1e-7)
    assert params[2].grad is None


def test_clip_grad_norm_leaves_small_grads_and_edge_cases(device):
    grads = [np.array([0.3, 0.4], dtype=np.float32)]
    params = _params_with_grads(device, grads)
    total = clip_grad_norm_(params, max_norm=1.0)
    assert_close(to_host(total), np.float32(0.5))
    assert_close(to_host(params[0].grad), grads[0])  # 范数 0.5 < 1：系数截成 1，不变
    assert clip_grad_norm_(params[0], 0.25).item() == pytest.approx(0.5)  # 单个张量也可以
    assert_close(to_host(params[0].grad), grads[0] / 2, rtol=1e-5)
    assert clip_grad_norm_([nn.Parameter(tg.zeros(2))], 1.0).item() == 0.0  # 没有梯度：总范数 0
    bad = _params_with_grads(device, [np.array([np.inf, 1.0], dtype=np.float32)])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # 同 PyTorch：系数为 0，inf·0 = nan，梯度变成 nan
        assert math.isinf(clip_grad_norm_(bad, 1.0).item())
    assert np.isnan(to_host(bad[0].grad)[0])


def test_clip_grad_norm_in_a_training_step():
    tg.manual_seed(4)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    (model(tg.randn(16, 3)) * 100).sum().backward()
    before = math.sqrt(sum(float((to_host(p.grad).astype(np.float64) ** 2).sum()) for p in model.parameters()))
    total = clip_grad_norm_(model.parameters(), 1.0)
    after = math.sqrt(sum(float((to_host(p.grad).astype(np.float64) ** 2).sum()) for p in model.parameters()))
    assert total.item() == pytest.approx(before, rel=1e-5) and after == pytest.approx(1.0, rel=1e-4)


def test_clip_grad_value(device):
    params = _params_with_grads(device, [np.array([-3.0, 0.2, 5.0], dtype=np.float32)])
    assert clip_grad_value_(params, 1.0) is None
    assert_close(to_host(params[0].grad), np.array([-1.0, 0.2, 1.0], dtype=np.float32))
    assert params[0].grad.device == device


def test_parameters_to_vector_and_back(device):
    model = nn.Linear(3, 2).to(device)
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (8,) and vec.device == device
    assert_close(to_host(vec), np.concatenate([to_host(model.weight).reshape(-1), to_host(model.bias)]))
    vector_to_parameters(tg.arange(8, dtype=tg.float32, device=device), model.parameters())
    assert_close(to_host(model.weight), np.arange(6, dtype=np.float32).reshape(2, 3))
    assert_close(to_host(model.bias), np.array([6.0, 7.0], dtype=np.float32))
    assert isinstance(model.weight, nn.Parameter) and model.weight.device == device
    with pytest.raises(RuntimeError, match="8"):
        vector_to_parameters(tg.zeros(5), model.parameters())
