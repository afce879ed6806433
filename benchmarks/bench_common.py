"""基准脚本的公共部分：计时与 BLAS 信息。"""

from __future__ import annotations

import time

import tinygrad_zh as tg


def best_times(fns, steps, repeat, device="cpu"):
    """每个函数取 repeat 轮中最快一轮的每次耗时（秒）。

    各函数按轮交替运行：机器忙闲变化时，比值仍然公平；先各调用一次预热，第一次的分配不计入。
    GPU 上读时钟前先同步，否则量到的只是“发射”计算的时间。
    """
    def sync():
        if device == "cuda":
            tg.cuda.synchronize()

    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            sync()
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            sync()
            best[i] = min(best[i], (time.perf_counter() - t0) / steps)
    return best


def blas_info() -> str:
    """NumPy 用的 BLAS 及其线程数（装了 threadpoolctl 时）。"""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "（装 threadpoolctl 可显示 BLAS 信息）"
    return ", ".join(f"{i['internal_api']} {i.get('num_threads')} 线程" for i in threadpool_info())
