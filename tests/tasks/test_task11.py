"""任务 11：im2col 卷积的前向与反向。

参考卷积按卷积核偏移 (u, v) 循环、用 einsum 累加（与 im2col 是不同的写法）；反向的 ctx 由测试按
Conv2d 的约定构造（保存 cols 与 wmat、ctx.geom），不依赖学生的前向。
"""

import numpy as np
import pytest

from tinygrad_zh.classroom.checks import TaskCheckError, check_close, check_grad, new_ctx
from tinygrad_zh.classroom.lesson_code import load_function
from tinygrad_zh.ops.conv import Conv2d

CONFIGS = [  # (N, C, H, W), (O, kh, kw), stride, pads (上, 下, 左, 右), dilation
    ((2, 3, 6, 5), (4, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1)),
    ((1, 2, 7, 7), (3, 3, 2), (2, 1), (1, 1, 0, 2), (1, 1)),
    ((2, 1, 8, 6), (2, 2, 3), (1, 2), (1, 0, 1, 1), (2, 1)),
]


def reference_conv(x, w, b, stride, pads, dilation):
    xp = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]))
    (sh, sw), (dh, dw) = stride, dilation
    kh, kw = w.shape[2:]
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for u in range(kh):
        for v in range(kw):
            patch = xp[:, :, u * dh:u * dh + sh * (ho - 1) + 1:sh, v * dw:v * dw + sw * (wo - 1) + 1:sw]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, u, v])
    return y if b is None else y + b[None, :, None, None]


def reference_cols(x, kernel, stride, pads, dilation):
    """约定的 cols：形状 (C·kh·kw, N·Ho·Wo)，行按 (c, u, v)、列按 (n, i, j) 排。"""
    xp = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]))
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    n, c = x.shape[:2]
    cols = np.empty((c, kh, kw, n, ho, wo))
    for u in range(kh):
        for v in range(kw):
            cols[:, u, v] = xp[:, :, u * dh:u * dh + sh * (ho - 1) + 1:sh,
                               v * dw:v * dw + sw * (wo - 1) + 1:sw].transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * ho * wo), xp.shape, (ho, wo)


def make(config, seed=0):
    xshape, (o, kh, kw), stride, pads, dilation = config
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(xshape), rng.standard_normal((o, xshape[1], kh, kw)), rng.standard_normal(o),
            stride, pads, dilation)


@pytest.mark.task11_1
@pytest.mark.parametrize("config", CONFIGS)
def test_conv_forward(config):
    x, w, b, stride, pads, dilation = make(config)
    ctx = new_ctx(Conv2d, (True, True, True, False, False, False))
    y = Conv2d.forward(ctx, x, w, b, stride, pads, dilation)
    check_close(f"Conv2d.forward（stride={stride}，pads={pads}，dilation={dilation}）", y,
                reference_conv(x, w, b, stride, pads, dilation),
                hint="提示：cols 的行按 (c, u, v)、列按 (n, i, j) 排，输出要从 (O, N, Ho, Wo) 换回 (N, O, Ho, Wo)。")
    cols = ctx.saved_tensors[0]
    expected, _, _ = reference_cols(x, w.shape[2:], stride, pads, dilation)
    check_close("Conv2d.forward 保存的 cols（im2col 矩阵，反向要用）", cols, expected)


@pytest.mark.task11_1
def test_lesson11_conv2d_im2col(root):
    conv2d_im2col = load_function(root, "11", "conv2d_im2col", {"np": np})
    x, w, b, *_ = make(CONFIGS[0], seed=5)
    y, cols_shape = conv2d_im2col(x, w, b)
    check_close("第 11 课 conv2d_im2col 的输出", y, reference_conv(x, w, b, (1, 1), (0, 0, 0, 0), (1, 1)))
    n, c, h, wd = x.shape
    k = w.shape[2]
    if tuple(cols_shape) != (n * (h - k + 1) * (wd - k + 1), c * k * k):
        raise TaskCheckError(f"第 11 课 conv2d_im2col：cols 的形状应为 (N·Ho·Wo, C·k·k)，得到 {tuple(cols_shape)}。")


@pytest.mark.task11_2
@pytest.mark.parametrize("config", CONFIGS)
def test_conv_backward(config):
    x, w, b, stride, pads, dilation = make(config, seed=1)
    cols, padded_shape, out_hw = reference_cols(x, w.shape[2:], stride, pads, dilation)
    ctx = new_ctx(Conv2d, (True, True, True, False, False, False))
    wmat = w.reshape(w.shape[0], -1)
    ctx.save_for_backward(cols, wmat)
    ctx.geom = (x.shape, padded_shape, tuple(w.shape[2:]), stride, dilation, out_hw, pads)
    g = np.random.default_rng(2).standard_normal((x.shape[0], w.shape[0]) + out_hw)
    gx, gw, gb, *_ = Conv2d.backward(ctx, g.copy())
    name = f"Conv2d.backward（stride={stride}，pads={pads}，dilation={dilation}）"
    check_grad(f"{name} 的 ∂L/∂X", gx, lambda x_: reference_conv(x_, w, b, stride, pads, dilation), x, g)
    check_grad(f"{name} 的 ∂L/∂W", gw, lambda w_: reference_conv(x, w_, b, stride, pads, dilation), w, g)
    check_grad(f"{name} 的 ∂L/∂b", gb, lambda b_: reference_conv(x, w, b_, stride, pads, dilation), b, g)
