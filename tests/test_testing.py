"""tinygrad_zh.testing 本身的测试：梯度检验真的能抓住写错的 backward；导入它就注册严格替身设备。"""

import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.autograd import Function
from tinygrad_zh import backend
from tinygrad_zh.testing import GradcheckError, StrictArray, assert_close, gradcheck, strict_xp


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


def test_gradcheck_large_inputs_use_random_directions():
    x = tg.randn(20, 20, dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda t: (t @ t).tanh(), x)
    with pytest.raises(GradcheckError, match="随机方向"):
        gradcheck(lambda t: _WrongSoftmax.apply(t @ t), x)


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
