"""任务 14：缩放点积注意力的反向。ctx 由测试构造（保存 q、k、v、probs、keep），不依赖前向。"""

import math

import numpy as np
import pytest

from tinygrad_zh.classroom.checks import check_grad, new_ctx
from tinygrad_zh.ops.attention import ScaledDotProductAttention as SDPA


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def reference(q, k, v, mask, scale, keep):
    p = softmax(q @ np.swapaxes(k, -1, -2) * scale + mask)
    return (p if keep is None else p * keep) @ v


@pytest.mark.task14_1
@pytest.mark.parametrize("dropout", [False, True])
def test_attention_backward(dropout):
    rng = np.random.default_rng(0)
    b, heads, L, S, E, Ev = 2, 2, 3, 4, 5, 3
    q, k, v = rng.standard_normal((b, heads, L, E)), rng.standard_normal((b, heads, S, E)), \
        rng.standard_normal((b, heads, S, Ev))
    mask = rng.standard_normal((b, heads, L, S)) * 0.5
    mask[..., 0, -1] = -math.inf                       # 一个看不到的位置
    scale = 1 / math.sqrt(E)
    keep = (rng.random((b, heads, L, S)) > 0.3) / 0.7 if dropout else None
    probs = softmax(q @ np.swapaxes(k, -1, -2) * scale + mask)
    ctx = new_ctx(SDPA, (True, True, True, True, False, False))
    ctx.save_for_backward(q, k, v, probs, keep)
    ctx.scale = scale
    g = rng.standard_normal((b, heads, L, Ev))
    gq, gk, gv, gm, *_ = SDPA.backward(ctx, g.copy())
    name = f"注意力的反向（dropout={dropout}）"
    check_grad(f"{name} ∂L/∂V", gv, lambda x: reference(q, k, x, mask, scale, keep), v, g)
    check_grad(f"{name} ∂L/∂Q", gq, lambda x: reference(x, k, v, mask, scale, keep), q, g)
    check_grad(f"{name} ∂L/∂K", gk, lambda x: reference(q, x, v, mask, scale, keep), k, g)
    finite = np.where(np.isfinite(mask), mask, -50.0)  # 中心差分在 −∞ 处没有意义：换成很小的数（概率同样约为 0）
    check_grad(f"{name} ∂L/∂M", gm, lambda x: reference(q, k, v, x, scale, keep), finite, g)
