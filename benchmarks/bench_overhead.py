"""测量自动微分引擎本身的开销（手动运行，不是测试）。

1. 每个运算的开销：小张量上的一个运算经过引擎（记录计算图 / no_grad）与直接调用数组运算相比；
2. 1 000 个运算串成一条链的前向 + 反向耗时，与手写的 NumPy 前向 + 反向相比。

用法：
    python benchmarks/bench_overhead.py [--device cpu|cuda] [--repeat 5]
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_zh as tg
from bench_common import best_times
from tinygrad_zh import backend


def timeit(fn, device, number, repeat):
    """每次调用的最短耗时（秒）。"""
    return best_times([fn], number, repeat, device)[0]


def per_op_table(device, repeat):
    xp = backend.xp_for_device(device)
    a_raw = backend.to_device(np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32), device)
    b_raw = backend.to_device(np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32), device)
    a, b = tg.Tensor(a_raw, requires_grad=True), tg.Tensor(b_raw, requires_grad=True)
    ops = {
        "a + b": (lambda: a + b, lambda: a_raw + b_raw),
        "a * b": (lambda: a * b, lambda: a_raw * b_raw),
        "a @ b": (lambda: a @ b, lambda: a_raw @ b_raw),
        "a.exp()": (lambda: a.exp(), lambda: xp.exp(a_raw)),
        "a.sum()": (lambda: a.sum(), lambda: xp.sum(a_raw)),
        "a.relu()": (lambda: a.relu(), lambda: xp.maximum(a_raw, 0)),
        "a[1:3]": (lambda: a[1:3], lambda: a_raw[1:3]),
    }
    rows = []
    for name, (eng, raw) in ops.items():
        t_raw = timeit(raw, device, 2000, repeat)
        t_graph = timeit(eng, device, 2000, repeat)
        with tg.no_grad():
            t_nograd = timeit(eng, device, 2000, repeat)
        rows.append((name, t_raw * 1e6, t_nograd * 1e6, t_graph * 1e6))
    print(f"\n每个运算的耗时（4×4 float32，{device}，微秒/次）")
    print(f"{'运算':<10}{'数组直接算':>12}{'引擎 no_grad':>14}{'引擎记录图':>12}{'额外开销':>10}")
    for name, r, n, g in rows:
        print(f"{name:<12}{r:>12.2f}{n:>14.2f}{g:>14.2f}{g - r:>12.2f}")
    return rows


def chain(device, repeat, n_ops=1000, shape=(16, 16)):
    """x → tanh → ·1.01 → +0.1 → … 共 n_ops 个运算，再求和、反向。"""
    rng = np.random.default_rng(0)
    x0 = backend.to_device(rng.standard_normal(shape).astype(np.float32) * 0.1, device)
    xp = backend.get_array_module(x0)

    def engine():
        x = tg.Tensor(x0, requires_grad=True)
        y = x
        for i in range(n_ops // 3):
            y = (y.tanh() * 1.01) + 0.1
        y.sum().backward()
        return x.grad

    def by_hand():
        # 手写的前向（保存 tanh 的输出）与反向：∂/∂y (tanh(y)·1.01 + 0.1) = 1.01·(1 − tanh²)
        saved, y = [], x0
        for i in range(n_ops // 3):
            t = xp.tanh(y)
            saved.append(t)
            y = t * 1.01 + 0.1
        g = xp.ones_like(y)
        for t in reversed(saved):
            g = g * 1.01 * (1 - t * t)
        return g

    np.testing.assert_allclose(backend.to_numpy(engine().data), backend.to_numpy(by_hand()), rtol=1e-4, atol=1e-6)
    t_eng = timeit(engine, device, 5, repeat)
    t_hand = timeit(by_hand, device, 5, repeat)
    ops = (n_ops // 3) * 3
    print(f"\n{ops} 个运算的链，前向 + 反向（{shape} float32，{device}）")
    print(f"  手写 NumPy：{t_hand * 1e3:8.2f} ms")
    print(f"  引擎：      {t_eng * 1e3:8.2f} ms   （比值 {t_eng / t_hand:.2f}，每个运算多 {(t_eng - t_hand) / ops * 1e6:.1f} 微秒）")
    return t_eng, t_hand


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"tinygrad_zh {tg.__version__}，NumPy {np.__version__}")
    per_op_table(args.device, args.repeat)
    chain(args.device, args.repeat)


if __name__ == "__main__":
    main()
