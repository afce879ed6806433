"""真 GPU 上的测试（标记 gpu；没有 GPU 时自动跳过）：运算表在 CuPy 上的前向与梯度检验。"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_zh as tg
from tinygrad_zh.testing import assert_close, gradcheck

from conftest import to_host
from op_table import OPS
from test_ops import make_inputs

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@given(data=st.data())
@settings(max_examples=10)
def test_op_table_on_cuda(op, data):
    arrays, params = data.draw(op.strategy)
    out = op.fn(*make_inputs(arrays, "cuda", requires_grad=False), **params)
    assert out.device == "cuda"
    assert_close(to_host(out), np.asarray(op.ref(*arrays, **params)), rtol=1e-10, atol=1e-10)
    assert gradcheck(lambda *ts: op.fn(*ts, **params), *make_inputs(arrays, "cuda"))


def test_float32_training_step_matches_cpu():
    tg.manual_seed(0)
    x, w = tg.randn(128, 64), tg.randn(64, 10, requires_grad=True)
    wc = w.detach().cuda().requires_grad_()
    (x @ w).log_softmax(1).mean().backward()
    (x.cuda() @ wc).log_softmax(1).mean().backward()
    assert_close(wc.grad.cpu(), w.grad, rtol=1e-4, atol=1e-5)


def test_range_checks_raise_the_same_chinese_error_on_cuda_when_debugging():
    import tinygrad_zh.nn.functional as F
    table = tg.randn(6, 3, device="cuda")
    old = tg.set_debug_checks(True)
    try:
        with pytest.raises(IndexError, match=r"6 行.*\[0, 9\]"):
            F.embedding(tg.tensor([0, 9], device="cuda"), table)
        with pytest.raises(IndexError, match="目标类别越界"):
            F.cross_entropy(tg.randn(2, 3, device="cuda"), tg.tensor([0, 7], device="cuda"))
    finally:
        tg.set_debug_checks(old)


def test_dropout_uses_one_float32_generator_per_gpu():
    from tinygrad_zh import backend
    import tinygrad_zh.nn.functional as F
    x = tg.ones(4096, device="cuda")
    tg.manual_seed(0)
    a = F.dropout(x, 0.5)
    for _ in range(5):
        F.dropout(x, 0.5)
    tg.manual_seed(0)
    b = F.dropout(x, 0.5)
    assert a.dtype == tg.float32 and np.array_equal(to_host(a), to_host(b))
    assert len(backend._DEVICE_GENERATORS) == 1
    assert abs((to_host(a) == 0).mean() - 0.5) < 0.05


def test_tf32_switch_changes_float32_matmul_precision_only_when_on():
    import cupy
    if int(cupy.cuda.Device().compute_capability) < 80:
        pytest.skip("TF32 需要计算能力 8.0 以上的 GPU")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((512, 512)), rng.standard_normal((512, 512))
    exact = a @ b
    ga, gb = tg.tensor(a, dtype=tg.float32, device="cuda"), tg.tensor(b, dtype=tg.float32, device="cuda")
    try:
        assert tg.cuda.set_allow_tf32(True) is True
        err_tf32 = np.abs(to_host(ga @ gb) - exact).max() / np.abs(exact).max()
    finally:
        tg.cuda.set_allow_tf32(False)
    err_fp32 = np.abs(to_host(ga @ gb) - exact).max() / np.abs(exact).max()
    assert err_fp32 < 1e-5 < err_tf32 < 1e-2
