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
