"""运算表上的性质测试：前向对照 NumPy、float64 梯度检验（随机上游梯度）、非连续输入、二阶导数。

每个测试都在 CPU 与严格替身设备 (strict stand-in device) 上运行：替身设备拒绝隐式转换成 NumPy，
所以这里通过的运算，在 CuPy 上也不会因为误用 np.* 而出错。
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_zh as tg
from tinygrad_zh import backend
from tinygrad_zh.autograd import grad
from tinygrad_zh.testing import StrictArray, assert_close, gradcheck

from conftest import to_host
from op_table import OPS

IDS = [op.name for op in OPS]


def make_inputs(arrays, device, requires_grad=True, layout="contiguous"):
    out = []
    for a in arrays:
        a = _layout(a, layout)
        data = StrictArray(a) if device == "strict" else backend.to_device(a, device)
        t = tg.Tensor(data)
        out.append(t.requires_grad_(True) if requires_grad else t)
    return out


def _layout(a, layout):
    """同样的数值，换一种内存布局：转置视图、负步长视图，或广播视图。"""
    if layout == "transposed" and a.ndim >= 2:
        return np.ascontiguousarray(a.T).T
    if layout == "negative" and a.ndim >= 1:
        return np.flip(np.flip(a, 0).copy(), 0)
    if layout == "broadcast" and a.ndim >= 1:
        # 形如 (1, ...) 的数组广播成 (2, ...) 再取第一行：仍是一个 0 步长的视图
        return np.broadcast_to(a[None], (2,) + a.shape)[0]
    return a


@pytest.mark.parametrize("op", OPS, ids=IDS)
@pytest.mark.parametrize("dev", ["cpu", "strict"])
@given(data=st.data())
def test_forward_matches_numpy(op, dev, data):
    arrays, params = data.draw(op.strategy)
    for dtype in (np.float64, np.float32):
        xs = [a.astype(dtype) for a in arrays]
        out = op.fn(*make_inputs(xs, dev, requires_grad=False), **params)
        expected = np.asarray(op.ref(*xs, **params))
        assert out.device == dev
        assert out.dtype == dtype, f"{op.name}: dtype {out.dtype} != {dtype}（float32 不能悄悄变成 float64）"
        tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-6, atol=2e-6)
        assert_close(to_host(out), expected.astype(dtype), **tol)


@pytest.mark.parametrize("op", OPS, ids=IDS)
@pytest.mark.parametrize("dev", ["cpu", "strict"])
@given(data=st.data())
def test_gradcheck(op, dev, data):
    arrays, params = data.draw(op.strategy)
    inputs = make_inputs(arrays, dev)
    assert gradcheck(lambda *ts: op.fn(*ts, **params), *inputs, seed=data.draw(st.integers(0, 2**16)))


@pytest.mark.parametrize("op", OPS, ids=IDS)
@pytest.mark.parametrize("layout", ["transposed", "negative", "broadcast"])
@given(data=st.data())
def test_noncontiguous_inputs(op, layout, data):
    arrays, params = data.draw(op.strategy)
    for dev in ("cpu", "strict"):
        inputs = make_inputs(arrays, dev, layout=layout)
        out = op.fn(*inputs, **params)
        assert_close(to_host(out), np.asarray(op.ref(*arrays, **params)), rtol=1e-12, atol=1e-12)
        assert gradcheck(lambda *ts: op.fn(*ts, **params), *inputs)


@pytest.mark.parametrize("op", [op for op in OPS if op.second_order], ids=[op.name for op in OPS if op.second_order])
@given(data=st.data())
@settings(max_examples=10)
def test_second_derivative(op, data):
    """create_graph=True 时反向计算也被记进图里：对“梯度函数”再做一次梯度检验。"""
    arrays, params = data.draw(op.strategy)
    for dev in ("cpu", "strict"):
        inputs = make_inputs(arrays, dev)
        out0 = op.fn(*inputs, **params)
        u = tg.Tensor(backend.to_device(np.random.default_rng(0).standard_normal(out0.shape), dev))

        @tg.enable_grad()  # gradcheck 在 no_grad 下求数值差分，而这里本身要用反向传播
        def first_grads(*ts):
            y = op.fn(*ts, **params)
            gs = grad(y, ts, grad_outputs=u, create_graph=True, allow_unused=True)
            total = None
            for g in gs:
                if g is not None and g.requires_grad:
                    term = (g * g).sum()
                    total = term if total is None else total + term
            return total if total is not None else (ts[0] * 0).sum()

        assert gradcheck(first_grads, *inputs)
