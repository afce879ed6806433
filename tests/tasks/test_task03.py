"""任务 03：广播的伴随 sum_to_shape，与自己写的 Function（Div 的前向与反向）。"""

import numpy as np
import pytest

from tinygrad_zh.autograd.engine import sum_to_shape
from tinygrad_zh.classroom.checks import check_close, check_grad, new_ctx
from tinygrad_zh.ops.elementwise import Div

CASES = [((2, 3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 3, 4), (1, 4)), ((2, 3, 4), (3, 1)), ((2, 3, 4), ()),
         ((2, 3, 4), (2, 1, 4)), ((2, 3, 4), (1, 1, 1)), ((5, 1, 3), (1, 3))]  # 形状相同直接返回 g 不在任务里


def reference_sum_to_shape(g, shape):
    out = g.sum(axis=tuple(range(g.ndim - len(shape))))
    for i, s in enumerate(shape):
        if s == 1 and out.shape[i] != 1:
            out = out.sum(axis=i, keepdims=True)
    return out


@pytest.mark.task03_1
@pytest.mark.parametrize("gshape,shape", CASES)
def test_sum_to_shape(gshape, shape):
    g = np.random.default_rng(0).standard_normal(gshape)
    check_close(f"sum_to_shape(g{gshape} → {shape})", sum_to_shape(np, g, shape), reference_sum_to_shape(g, shape),
                hint="提示：先把多出来的前导维求和掉，再在输入长度为 1 的维上 keepdims 求和。")


def div_forward(a, b):
    return Div.forward(new_ctx(Div, (True, True)), a.copy(), b.copy())


@pytest.mark.task03_2
def test_div_forward():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))
    check_close("Div.forward(a, b)", div_forward(a, b), a / b)


@pytest.mark.task03_2
def test_div_backward():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.uniform(0.3, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))
    g = rng.standard_normal((3, 4))
    ctx = new_ctx(Div, (True, True))
    Div.forward(ctx, a.copy(), b.copy())
    ga, gb = Div.backward(ctx, g.copy())
    check_grad("Div.backward：∂L/∂a", ga, lambda x: x / b, a, g)
    check_grad("Div.backward：∂L/∂b", gb, lambda x: a / x, b, g)
