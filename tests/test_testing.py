"""tinygrad_zh.testing 本身的测试：梯度检验真的能抓住写错的 backward；导入它就注册严格替身设备。"""

import ast
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.autograd import Function
from tinygrad_zh import backend
from tinygrad_zh.testing import GradcheckError, StrictArray, assert_close, gradcheck, strict_xp
from tinygrad_zh.testing.checks import group_plan


class _WrongSoftmax(Function):
    """故意写错：忘了减去 Σ g·y 那一项。用 .sum() 做上游时这个错误恰好看不出来。"""

    @staticmethod
    def forward(ctx, a):
        e = ctx.xp.exp(a - a.max(axis=-1, keepdims=True))
        out = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return out * g


def test_planted_wrong_backward_fails_with_a_message_that_points_at_it():
    x = tg.randn(2, 3, dtype=tg.float64, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(_WrongSoftmax.apply, x)
    msg = str(info.value)
    assert "第 0 个输入 (shape=(2, 3))" in msg and "_WrongSoftmaxBackward" in msg
    assert "解析梯度 (analytic)" in msg and "数值梯度 (numerical)" in msg and "index=" in msg


def test_sum_upstream_would_hide_that_bug_random_upstream_does_not():
    x = tg.randn(4, dtype=tg.float64, requires_grad=True)
    _WrongSoftmax.apply(x).sum().backward()
    assert_close(x.grad.numpy(), x.softmax(0).detach().numpy())  # 错误的梯度“看起来”也合理
    assert gradcheck(lambda t: t.softmax(0), x)


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, tg.ones(3, requires_grad=True))


def test_gradcheck_large_inputs_use_group_directions():
    x = tg.randn(20, 20, dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda t: (t @ t).tanh(), x, max_elements=100)
    with pytest.raises(GradcheckError, match=r"随机分组方向.*逐个元素复查，最差的元素 index="):
        gradcheck(lambda t: _WrongSoftmax.apply(t @ t), x, max_elements=100)


def _planted_cube(wrong):
    """x³ 的 Function，backward 只在 ``wrong`` 给出的（展平）位置上乘了一个错误的系数，其余元素都对。"""

    class PlantedCube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            factor = ctx.xp.ones(x.size)
            for k, f in wrong.items():
                factor[k] = f
            return 3 * x * x * g * factor.reshape(x.shape)

    return PlantedCube.apply


@pytest.mark.parametrize("n", [400, 3000])
def test_one_element_off_by_one_percent_is_caught_for_every_seed(n):
    # 旧实现（64 个元素以上只看 16 个随机方向）在这里 20 个种子中漏掉 2～3 个
    x = tg.tensor(np.random.default_rng(1).standard_normal(n), requires_grad=True)
    fn = _planted_cube({n // 3: 1.01, 2 * n // 3: 1.02})
    for seed in range(20):
        with pytest.raises(GradcheckError, match=rf"最差的元素 index=\(({n // 3}|{2 * n // 3}),\)"):
            gradcheck(fn, x, seed=seed)


def test_group_directions_catch_one_element_off_by_one_percent_above_the_full_check():
    # 6000 > max_elements=4096：分组随机方向。元素 1234 处 x=2，|g| = 12·|u| ≥ 0.1 = 10·atol/rtol 的概率 > 99%；
    # 这时每个种子漏掉的概率 ≤ (23/t²)^7 ≈ 7.6e-4（切比雪夫界，t ≈ 8），50 个种子里漏掉任何一个的概率 ≤ 4%；
    # 按正态近似估计每轮只漏 P(|Z| ≥ 8/√23) ≈ 0.1，七轮 ≈ 1e-7，实际上一个也漏不掉。
    a = np.random.default_rng(2).standard_normal(6000)
    a[1234] = 2.0
    x = tg.tensor(a, requires_grad=True)
    fn = _planted_cube({1234: 1.01})
    for seed in range(50):
        with pytest.raises(GradcheckError, match=r"随机分组方向.*index=\(1234,\)"):
            gradcheck(fn, x, seed=seed)


def test_group_directions_see_a_small_gradient_next_to_large_ones():
    # 其余元素的梯度约大 25～100 倍。不按 |a_j| 缩放的 ±1 方向在这里 50 个种子漏掉 40 个：
    # 错误 0.01·|g_k| 远小于整组方向导数的容差 rtol·|Σ ±g_j|
    a = np.random.default_rng(3).uniform(5, 10, 5000) * np.where(np.arange(5000) % 2, 1, -1)
    a[77] = 1.0
    x = tg.tensor(a, requires_grad=True)
    fn = _planted_cube({77: 1.01})
    for seed in range(50):
        with pytest.raises(GradcheckError, match=r"index=\(77,\)"):
            gradcheck(fn, x, seed=seed)


def test_group_plan_gives_miss_probability_below_one_in_a_thousand():
    G, rounds, per_round = group_plan(1e-3)
    t = 0.01 * 10 / (11 + 10 * 0.01) / 1e-3 - 1
    assert (G, rounds) == (23, 7) and per_round == pytest.approx(G / t**2) and per_round <= 1 / np.e
    assert per_round**rounds <= 1e-3 < per_round ** (rounds - 1)
    G10, rounds10, per_round10 = group_plan(1e-3, n=10)  # 组小了，每轮漏掉的概率更小，轮数也更少
    assert G10 == 10 and rounds10 < rounds and per_round10**rounds10 <= 1e-3
    assert group_plan(0.05) == (1, 1, 0.0)  # 1% 的误差本来就在 rtol 之内：每组一个元素，即逐元素检验


def test_correct_backwards_pass_including_5000_element_inputs():
    tg.manual_seed(0)
    a = tg.randn(50, 100, dtype=tg.float64, requires_grad=True)
    b = tg.randn(100, dtype=tg.float64, requires_grad=True)
    w = tg.randn(100, 7, dtype=tg.float64, requires_grad=True)
    start = time.perf_counter()
    assert gradcheck(lambda a, b: (a * b).tanh() + a.exp() / (1 + b * b), a, b)
    assert gradcheck(lambda a, b, w: ((a - b) @ w).softmax(-1), a, b, w)
    assert gradcheck(lambda a: _planted_cube({})(a).sum(1, keepdim=True) * a, a)
    assert gradcheck(lambda b, w: (b.reshape(1, 100) @ w).transpose(0, 1) * w.sum(0, keepdim=True).T, b, w)
    assert time.perf_counter() - start < 60  # 实测约 1 秒


def _with_element(factory_value, index, n=200):
    """backward 在展平后第 ``index`` 个元素上返回 ``factory_value`` 的 x³。"""

    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            out = 3 * x * x * g
            out[index] = factory_value
            return out

    return Bad.apply


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("n", [200, 5000])
def test_non_finite_analytic_gradient_fails_and_names_the_element(value, n):
    x = tg.tensor(np.random.default_rng(4).uniform(0.5, 1.5, n), requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(_with_element(value, 17), x)
    msg = str(info.value)
    assert "非有限值 (non-finite)" in msg and "index=(17,)" in msg
    assert f"解析梯度 (analytic) = {value}" in msg and "数值梯度 (numerical) = " in msg
    assert "数值梯度有限" in msg  # 数值那边是有限的 3x²·u


def test_output_non_finite_at_the_point_fails():
    x = tg.tensor([1.0, 2.0, 0.5, -1.0, 3.0], dtype=tg.float64, requires_grad=True)
    with np.errstate(invalid="ignore"), pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: t.log(), x)  # 旧实现：数值梯度全是 NaN，NaN 的比较为假，于是“通过”
    msg = str(info.value)
    assert "第 0 个输出" in msg and "index=(3,)" in msg and "nan" in msg and "换一个检验点" in msg


class _NanBelowHalf(Function):
    """x²，但 x < 0.5 时输出 NaN（定义域是 x ≥ 0.5）。在 x = 0.5 处输出和梯度都有限，x−ε 却出了定义域。"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.where(x < 0.5, ctx.xp.nan, x * x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


@pytest.mark.parametrize("fn, n, point", [(lambda t: t.sqrt(), 6, 1e-7),  # sqrt：1e-7 − ε < 0，离定义域的边界太近
                                          (_NanBelowHalf.apply, 6, 0.5), (_NanBelowHalf.apply, 5000, 0.5)])
def test_output_non_finite_at_x_minus_eps_fails_and_says_so(fn, n, point):
    a = np.random.default_rng(5).uniform(0.6, 1.5, n)
    a[4] = point
    x = tg.tensor(a, requires_grad=True)
    with np.errstate(invalid="ignore"), pytest.raises(GradcheckError) as info:
        gradcheck(fn, x)  # 旧实现：NaN 的比较为假，于是“通过”
    msg = str(info.value)
    assert "index=(4,)" in msg and "数值梯度 (numerical) = nan" in msg
    assert "输出本身在 x−ε 处就是非有限值" in msg and "换一个检验点 (move the point)" in msg


def test_n_directions_is_deprecated_but_still_accepted():
    x = tg.randn(3, dtype=tg.float64, requires_grad=True)
    with pytest.warns(FutureWarning, match="n_directions"):
        assert gradcheck(lambda t: t.exp(), x, n_directions=16)


def test_gradcheck_restores_inputs_and_needs_a_differentiable_input():
    x = tg.randn(3, dtype=tg.float64, requires_grad=True)
    before = x.data.copy()
    gradcheck(lambda t: t.exp(), x)
    assert np.array_equal(x.data, before)
    with pytest.raises(ValueError):
        gradcheck(lambda t: t, tg.ones(2, dtype=tg.float64))


def test_assert_close_reports_the_worst_element():
    assert_close(tg.tensor([1.0, 2.0]), np.array([1.0, 2.000001], dtype=np.float32))
    with pytest.raises(AssertionError, match=r"1 / 3 个元素.*最差的位置 \(1,\).*actual=2\.5"):
        assert_close(np.array([1.0, 2.5, 3.0]), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(AssertionError, match="形状不同"):
        assert_close(np.ones(2), np.ones(3))
    with pytest.raises(AssertionError):
        assert_close(np.array([1, 2]), np.array([1, 3]))


def test_gradcheck_and_assert_close_work_on_the_strict_device():
    x = tg.randn(2, 3, dtype=tg.float64, device="strict", requires_grad=True)
    assert isinstance(x.data, StrictArray) and backend.xp_for_device("strict") is strict_xp
    assert gradcheck(lambda t: (t * t).softmax(1), x)
    assert_close(x.exp(), np.exp(x.detach().cpu().numpy()))


def test_importing_tinygrad_zh_testing_registers_the_strict_device():
    code = ("import tinygrad_zh as tg, tinygrad_zh.backend as b; before = 'strict' in b.DEVICES; "
            "import tinygrad_zh.testing; print(before, tg.ones(2, device='strict').device)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "strict"]  # 只 import tinygrad_zh 时还没有 "strict"：它不属于后端


def test_testing_package_imports_the_package_only_at_module_top():
    """包内的导入都写在文件顶部：函数里藏着的导入会掩盖循环依赖。"""
    root = pathlib.Path(tg.__file__).parent
    for path in [root / "backend.py", *sorted((root / "testing").glob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("tinygrad_zh")):
                assert id(node) in top, f"{path.name}:{node.lineno} 在函数里导入了本包的模块"
            if isinstance(node, ast.Import) and any(a.name.startswith("tinygrad_zh") for a in node.names):
                assert id(node) in top, f"{path.name}:{node.lineno} 在函数里导入了本包的模块"
