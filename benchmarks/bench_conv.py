"""Conv2d 的一个前向 + 反向步：框架 vs 同一个 im2col 算法的手写 NumPy 版本（手动运行，不是测试）。

三种配置（全程 float32，padding=0 的配置也照样走填充路径之外的分支）：
- digits：64×1×8×8 → 16 个 3×3 卷积核，padding=1（8×8 手写数字的第一层）；
- 28×28：64×1×28×28 → 32 个 3×3 卷积核（MNIST 大小的第一层，输入不需要梯度）；
- 28×28 第二层：64×32×26×26 → 64 个 3×3 卷积核（输入也要梯度，走完整的 col2im）。
两边先各跑一步并核对输出与梯度一致，再报告每步毫秒数与比值；装了 torch 时再给出 torch CPU 的参考时间。

用法：
    python benchmarks/bench_conv.py [--steps 10] [--repeat 5]
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_zh as tg
from bench_common import best_times, blas_info
from tinygrad_zh.nn import functional as F

CONFIGS = [  # 名字, 输入形状, 卷积核个数, 核大小, padding, 输入是否要梯度
    ("digits 8×8, 1→16", (64, 1, 8, 8), 16, 3, 1, False),
    ("28×28, 1→32", (64, 1, 28, 28), 32, 3, 0, False),
    ("26×26, 32→64", (64, 32, 26, 26), 64, 3, 0, True),
]


def numpy_step(x, w, b, g, pad, need_x):
    """手写 im2col：as_strided 取窗口、一次矩阵乘法；反向两次矩阵乘法 + 按卷积核偏移的 col2im。

    与 ops/conv.py 同一个布局：cols 为 (C·kh·kw, N·Ho·Wo)，一列一个感受野。
    """
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    ho, wo = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    s = xp.strides
    win = np.lib.stride_tricks.as_strided(xp, (n, c, ho, wo, kh, kw), (s[0], s[1], s[2], s[3], s[2], s[3]))
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, -1)
    wmat = w.reshape(o, -1)
    y = wmat @ cols
    y += b[:, None]
    y = np.ascontiguousarray(y.reshape(o, n, ho, wo).transpose(1, 0, 2, 3))
    gmat = g.transpose(1, 0, 2, 3).reshape(o, -1)
    gw = (gmat @ cols.T).reshape(w.shape)
    gb = gmat.sum(1)
    gx = None
    if need_x:
        gcols = (wmat.T @ gmat).reshape(c, kh, kw, n, ho, wo)
        gxp = np.zeros(xp.shape, dtype=x.dtype)
        for u in range(kh):
            for v in range(kw):
                gxp[:, :, u:u + ho, v:v + wo] += gcols[:, u, v].transpose(1, 0, 2, 3)
        gx = gxp[:, :, pad:pad + h, pad:pad + wd] if pad else gxp
    return y, gw, gb, gx


def bench(shape, out_ch, k, pad, need_x, steps, repeat):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(shape).astype(np.float32)
    w_np = (rng.standard_normal((out_ch, shape[1], k, k)) * 0.1).astype(np.float32)
    b_np = rng.standard_normal(out_ch).astype(np.float32)
    out_hw = shape[2] + 2 * pad - k + 1
    g_np = rng.standard_normal((shape[0], out_ch, out_hw, out_hw)).astype(np.float32)
    x = tg.tensor(x_np, requires_grad=need_x)
    w, b, g = tg.tensor(w_np, requires_grad=True), tg.tensor(b_np, requires_grad=True), tg.tensor(g_np)

    def framework_step():
        x.grad = w.grad = b.grad = None
        y = F.conv2d(x, w, b, padding=pad)
        y.backward(g)
        return y

    # 先核对两边的输出与梯度一致（float32 舍入以内）
    y = framework_step()
    ref = numpy_step(x_np, w_np, b_np, g_np, pad, need_x)
    for name, ours, theirs in [("y", y, ref[0]), ("dW", w.grad, ref[1]), ("db", b.grad, ref[2])] + (
            [("dx", x.grad, ref[3])] if need_x else []):
        assert ours.dtype == np.float32, f"{name} 必须是 float32"
        np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=1e-4, atol=1e-3, err_msg=name)
    fns = [framework_step, lambda: numpy_step(x_np, w_np, b_np, g_np, pad, need_x)]
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        tx = torch.tensor(x_np, requires_grad=need_x)
        tw, tb = torch.tensor(w_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
        tg_ = torch.tensor(g_np)

        def torch_step():
            tw.grad = tb.grad = tx.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, padding=pad).backward(tg_)
        fns.append(torch_step)
    times = best_times(fns, steps, repeat)
    return times[0], times[1], times[2] if torch is not None else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    blas = blas_info()
    print(f"tinygrad_zh {tg.__version__}，NumPy {np.__version__}，BLAS：{blas}")
    print(f"Conv2d 前向 + 反向，float32，每种取 {args.repeat} 轮 × {args.steps} 步中最快的一轮")
    print(f"{'配置':<20}{'框架 ms/步':>12}{'手写 NumPy ms/步':>18}{'比值':>8}{'torch CPU ms/步':>18}")
    for name, shape, out_ch, k, pad, need_x in CONFIGS:
        t_fw, t_np, t_torch = bench(shape, out_ch, k, pad, need_x, args.steps, args.repeat)
        torch_col = f"{t_torch * 1e3:>18.2f}" if t_torch is not None else f"{'—':>18}"
        print(f"{name:<20}{t_fw * 1e3:>12.2f}{t_np * 1e3:>18.2f}{t_fw / t_np:>8.2f}{torch_col}")


if __name__ == "__main__":
    main()
