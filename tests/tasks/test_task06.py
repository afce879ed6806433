"""任务 06：交叉熵的前向（log-sum-exp）与融合反向。

反向的 ctx 由测试按 CrossEntropy 的约定构造（保存 probs、safe、valid、weight），不依赖学生的前向。
"""

import numpy as np
import pytest

from tinygrad_zh.classroom.checks import check_close, check_grad, new_ctx
from tinygrad_zh.ops.nn import CrossEntropy


def log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def reference_loss(z, t, eps=0.0):
    logp = log_softmax(z)
    c = z.shape[1]
    return -(1 - eps) * logp[np.arange(len(t)), t] - (eps / c) * logp.sum(axis=1)


def data():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 4)) * 3
    z[1] = [1000.0, -1000.0, 999.0, 0.0]       # 大数：不减最大值时 exp 会溢出
    return z, np.array([2, 0, 3, 1, 2])


def forward(z, t, reduction="none", eps=0.0, ignore_index=-100):
    ctx = new_ctx(CrossEntropy, (True, False, False, False, False, False))
    loss = CrossEntropy.forward(ctx, z.copy(), t, None, ignore_index, eps, reduction)
    return loss, ctx


@pytest.mark.task06_1
def test_cross_entropy_forward():
    z, t = data()
    loss, ctx = forward(z, t)
    check_close("CrossEntropy 每行的损失（reduction='none'）", loss, reference_loss(z, t),
                hint="提示：−log p[t] = log Σ exp(shifted) − shifted[t]。")
    check_close("CrossEntropy 保存的 probs（softmax）", ctx.saved_tensors[0], np.exp(log_softmax(z)))


@pytest.mark.task06_1
def test_cross_entropy_forward_mean_ignore_and_smoothing():
    z, t = data()
    t2 = t.copy()
    t2[3] = -100
    loss, _ = forward(z, t2, reduction="mean")
    keep = t2 != -100
    check_close("CrossEntropy 的 'mean'（忽略 target = −100 的行）", loss, reference_loss(z[keep], t2[keep]).mean())
    loss, _ = forward(z, t, eps=0.1)
    check_close("CrossEntropy 的 label_smoothing = 0.1", loss, reference_loss(z, t, 0.1))


def backward(z, t, g, reduction, eps=0.0):
    """按 CrossEntropy 的约定造 ctx：save_for_backward(probs, safe, valid, weight)。"""
    ctx = new_ctx(CrossEntropy, (True, False, False, False, False, False))
    valid = t != -100
    ctx.save_for_backward(np.exp(log_softmax(z)), np.where(valid, t, 0), valid, None)
    ctx.eps, ctx.reduction, ctx.soft = eps, reduction, False
    ctx.count = float(valid.sum())
    return CrossEntropy.backward(ctx, g)[0]


@pytest.mark.task06_2
def test_cross_entropy_backward_mean():
    z, t = data()
    t = t.copy()
    t[3] = -100
    grad = backward(z, t, np.array(1.0), "mean")
    keep = t != -100
    expected = np.exp(log_softmax(z))
    expected[np.arange(len(t)), np.where(keep, t, 0)] -= 1
    expected[~keep] = 0
    check_close("CrossEntropy.backward：(softmax − onehot) / 行数", grad, expected / keep.sum())


@pytest.mark.task06_2
def test_cross_entropy_backward_none_and_smoothing():
    rng = np.random.default_rng(3)
    z, t = rng.standard_normal((4, 5)), np.array([0, 4, 2, 2])
    for eps in (0.0, 0.2):
        g = rng.standard_normal(4)
        grad = backward(z, t, g.copy(), "none", eps)
        check_grad(f"CrossEntropy.backward（reduction='none'，label_smoothing={eps}）", grad,
                   lambda x: reference_loss(x, t, eps), z, g)
