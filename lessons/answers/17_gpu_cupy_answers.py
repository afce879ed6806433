# %% [markdown]
# # 第 17 课 ★ 练习答案：上 GPU：CuPy
#
# 运行方式：`python lessons/answers/17_gpu_cupy_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 完整模式在 2 核 CPU 上约半分钟；`--quick` 只量几个小尺寸，几秒钟。

# %%
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.testing  # noqa: F401  导入即注册严格替身设备 "strict"
from tinygrad_zh import backend
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.training import resolve_device


def load_lesson():
    """取第 17 课里定义的 timed（先预热、前后同步、取最快一次）：只执行课程文件的 import 与 def，不运行课程本身。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "17_gpu_cupy.py")


# %% [markdown]
# ## 练习 1 ★：屋顶线
#
# 矩阵乘法的 GFLOP/s 随 $n$ 上升，到几百之后趋于平稳：$n$ 小时算术强度 $n/6$ 低、每次调用的固定开销
# （Python、分配输出数组、BLAS 的线程调度）占比大；$n$ 大了才跑满算力。GPU 上饱和得晚得多（$n$ 要到几千），
# 因为要喂饱上万个计算单元，而每次发射 kernel 又有约 10 微秒的固定代价。
#
# `a + b` 的“带宽”（每个元素读 8 字节写 4 字节）在数组能放进 CPU 缓存（几 MB 以内）时明显更高——
# 数据根本没出 CPU 芯片；超过缓存之后降到内存带宽，之后与大小无关。数组很小时又会被固定开销拖低。

# %%
def exercise1(device, quick):
    lesson = load_lesson()
    top = 13 if device == "cuda" else (9 if quick else 11)            # 2^6 … 2^top
    sizes = [2 ** k for k in range(6, top + 1)]
    print(f"练习 1：屋顶线（设备 {device}）")
    gflops = {}
    tg.manual_seed(0)
    with tg.no_grad():
        for n in sizes:
            a, b = tg.randn(n, n, device=device), tg.randn(n, n, device=device)
            _, t = lesson.timed(lambda: a @ b, device)
            gflops[n] = 2 * n ** 3 / t / 1e9
        print("  矩阵乘法 GFLOP/s：" + "，".join(f"n={n} {g:,.1f}" for n, g in gflops.items()))
        bandwidth = {}
        kib_sizes = [16, 256, 4096] + ([] if quick else [65536])
        for kib in kib_sizes:
            numel = kib * 1024 // 4
            x, y = tg.randn(numel, device=device), tg.randn(numel, device=device)
            _, t = lesson.timed(lambda: x + y, device, repeat=10)
            bandwidth[kib] = 12 * numel / t / 1e9
        print("  a + b 的带宽 GB/s（按每个数组的大小）：" + "，".join(f"{k} KiB {v:,.1f}" for k, v in bandwidth.items()))
    best = max(gflops.values())
    saturate = min(n for n, g in gflops.items() if g >= 0.8 * best)
    print(f"  从 n = {saturate} 起达到最高速度 {best:,.1f} GFLOP/s 的 80% 以上")
    return {"gflops": gflops, "bandwidth": bandwidth, "saturate_n": saturate}


# %% [markdown]
# ## 练习 2 ★：`np.add.at` 与 `backend.scatter_add`
#
# 嵌入层的反向：`grad_W[idx[i]] += grad_out[i]`，同一个字出现多次时梯度要**累加**。
# `grad_W[idx] += grad_out` 在下标重复时只加一次（NumPy 的“先取再写”语义），所以要用 `np.add.at`；
# 但它是 NumPy 独有的函数，设备上的数组传进去，替身设备当场报错（CuPy 上也没有这个函数，要用 `cupyx.scatter_add`）。
# `tinygrad_zh.backend.scatter_add` 把两者包起来：NumPy 上调 `np.add.at`，CuPy 上调 `cupyx.scatter_add`。

# %%
def embedding_backward_np(grad_out, idx, V):
    """bug：直接用 np.zeros 与 np.add.at。"""
    grad_w = np.zeros((V, grad_out.shape[-1]), dtype=grad_out.dtype)
    np.add.at(grad_w, idx, grad_out)
    return grad_w


def embedding_backward_xp(grad_out, idx, V):
    """正确写法：xp 跟着输入走，按下标累加交给后端。"""
    xp = backend.get_array_module(grad_out)
    grad_w = xp.zeros((V, grad_out.shape[-1]), dtype=grad_out.dtype)
    return backend.scatter_add(grad_w, idx, grad_out)


def exercise2(device):
    print("练习 2：嵌入层反向的按下标累加")
    rng = np.random.default_rng(0)
    V, C = 6, 3
    idx = np.array([1, 4, 1, 1, 0])                                 # 字 1 出现三次
    grad_out = rng.standard_normal((len(idx), C)).astype(np.float32)
    naive = np.zeros((V, C), dtype=np.float32)
    naive[idx] += grad_out                                           # 重复下标只加一次：错
    reference = embedding_backward_np(grad_out, idx, V)
    print(f"  grad_W[idx] += g 第 1 行 {naive[1].round(4)}；np.add.at 第 1 行 {reference[1].round(4)}"
          f"（三次之和 {grad_out[[0, 2, 3]].sum(0).round(4)}）")
    out = {"naive_row1_wrong": not np.allclose(naive[1], reference[1])}
    for d in ["cpu", "strict"] + (["cuda"] if device == "cuda" else []):
        g, i = backend.to_device(grad_out, d), backend.to_device(idx, d)
        try:
            embedding_backward_np(g, i, V)
            bug = "正常运行"
        except Exception as e:  # noqa: BLE001  替身设备报 TypeError；记下任何设备上的实际结果
            bug = f"{type(e).__name__}：{str(e).split('。')[0]}"
        diff = float(np.abs(backend.to_numpy(embedding_backward_xp(g, i, V)) - reference).max())
        out[d] = {"np_version": bug.split("：")[0], "xp_diff": diff}
        print(f"  [{d:>6}] np.add.at 版本 → {bug}；scatter_add 版本与 np.add.at 的最大差 {diff}")
    return {"scatter": out}


# %%
def main(quick=False, device="cpu"):
    device = resolve_device(device)
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device))
    return results


if __name__ == "__main__":
    run_lesson(main)
