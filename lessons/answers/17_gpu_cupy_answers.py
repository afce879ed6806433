# %% [markdown]
# # 第 17 课 练习答案：上 GPU：CuPy
#
# 运行方式：`python lessons/answers/17_gpu_cupy_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 完整模式在 2 核 CPU 上约一分钟；`--quick` 只量几个小尺寸，十几秒。
# 练习 3—5 是 GPU 题：没有 GPU 时在 CPU（以及严格替身设备 `"strict"`）上走同样的代码路径，
# 并说明在真的 GPU 上会有什么不同；`--device cuda` 时才量 GPU 上的数。

# %%
import math
import time
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.testing  # noqa: F401  导入即注册严格替身设备 "strict"
from tinygrad_zh import backend
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.testing import assert_close
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
    # 只断言不受机器负载影响的趋势：最大的矩阵比最小的（n = 64，固定开销占大头）每秒算得多
    assert all(g > 0 and math.isfinite(g) for g in gflops.values()) and gflops[sizes[-1]] > gflops[sizes[0]], gflops
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
    # 直接加只加一次（错）；np.add.at 版本在 CPU 上能跑、在替身设备上报错；scatter_add 版本处处与 np.add.at 相同
    assert out["naive_row1_wrong"] and out["cpu"]["np_version"] == "正常运行" and out["strict"]["np_version"] != "正常运行"
    assert all(out[d]["xp_diff"] < 1e-6 for d in out if d != "naive_row1_wrong"), out
    return {"scatter": out}


# %% [markdown]
# ## 练习 3 ★★：批量大小与 GPU 利用率
#
# > 在 GPU 上把第 7 步的批量从 1 加到 256（上下文不变），画出词元/秒随批量的变化。
# > 为什么批量小时 GPU 的词元/秒几乎与批量成正比？（提示：发射开销。）CPU 上呢？
#
# 一步训练的时间 ≈ $t_0 + t_1 B$：$t_0$ 是与批量无关的固定开销——每个运算从 Python 发射一次（GPU 上每个 kernel
# 约 5–20 µs，一步上千个运算），$t_1 B$ 是真正的计算。词元/秒 $= BT/(t_0 + t_1 B)$。
# GPU 上 $t_1$ 极小，批量小时 $t_0 \gg t_1 B$，时间几乎不随 $B$ 变，所以词元/秒 ≈ $BT/t_0$ **与批量成正比**；
# 直到 $B \approx t_0/t_1$（常常是几十到上百）才饱和，趋于 $T/t_1$。
# CPU 上 $t_1$ 大得多（算力低几百倍），$t_0/t_1$ 只有 1—几，所以批量稍大一点词元/秒就饱和了。
#
# 下面在当前设备上量几个批量，用最小二乘拟合 $t_0, t_1$，算出“饱和批量” $t_0/t_1$。
# 在 GPU 上运行（`--device cuda`）会量到 256，并看到比 CPU 大得多的 $t_0/t_1$。

# %%
def exercise3(device, quick):
    lesson = load_lesson()
    dims = dict(lesson.QUICK_DIMS)
    if device == "cuda":
        batches = (1, 4, 16, 64, 256)
    else:
        batches = (1, 2, 4, 8) if quick else (1, 2, 4, 8, 16, 32)
    rows = {}
    for B in batches:
        r = lesson.measure_tokens_per_s(dict(dims, B=B), device, repeat=2)
        rows[B] = {"step_s": r["step_s"], "tokens_per_s": r["tokens_per_s"]}
    A = np.array([[1.0, B] for B in batches])
    t0, t1 = np.linalg.lstsq(A, np.array([rows[B]["step_s"] for B in batches]), rcond=None)[0]
    print(f"练习 3：批量与词元/秒（设备 {device}，{lesson.dims_text(dims)} 只改 B）")
    for B, r in rows.items():
        print(f"  B = {B:>3}：每步 {r['step_s'] * 1e3:7.1f} ms，{r['tokens_per_s']:>9,.0f} 词元/秒")
    first, last = batches[0], batches[-1]
    gain = rows[last]["tokens_per_s"] / rows[first]["tokens_per_s"]
    assert all(np.isfinite(r["tokens_per_s"]) and r["tokens_per_s"] > 0 for r in rows.values())
    assert gain > 1, "批量变大，词元/秒应当上升（固定开销被更多词元分摊）"
    print(f"  拟合 每步 ≈ {t0 * 1e3:.1f} ms + {t1 * 1e3:.2f} ms × B：批量从 {first} 到 {last}（{last // first} 倍），"
          f"词元/秒只涨了 {gain:.1f} 倍；饱和批量 t0/t1 ≈ {t0 / t1 if t1 > 0 else float('inf'):.1f}")
    if device != "cuda":
        print(f"  没有 GPU：这是 CPU 上的曲线，饱和批量只有约 {t0 / t1 if t1 > 0 else float('inf'):.1f}，"
              "B 再大词元/秒就不涨了。预期 GPU 上 t1 小几百倍而 t0 同一量级，t0/t1 大得多："
              "B 从 1 到几十，词元/秒几乎与 B 成正比")
    return {"batch_rows": rows, "batch_t0": float(t0), "batch_t1": float(t1), "batch_gain": gain}


# %% [markdown]
# ## 练习 4 ★★：锁页内存
#
# > 用 `cupyx.empty_pinned` 分配主机数组，比较它与普通 NumPy 数组拷到显存的带宽。
#
# 普通 NumPy 数组在“可分页” (pageable) 内存里，操作系统随时可以把它换出去，GPU 的 DMA 引擎不能直接读；
# 所以 CUDA 驱动先把数据复制进一块内部的锁页 (pinned) 缓冲区，再从那里传过 PCIe——多了一次主机内存里的复制，
# 还要分块来回。锁页内存被钉在物理内存里，DMA 直接读，通常快 1.5—2 倍，并且能与计算异步重叠
# （`cupy.ndarray.set(arr, stream=...)`）。代价：锁页内存是稀缺资源，分配慢，分太多会拖累整个系统，
# 所以只用来做反复使用的“中转站”（例如每步把小批量先写进同一块锁页缓冲区，再拷上去）。
#
# 没有 GPU 就量不到这个差别。下面的 `pinned_bandwidth` 是 GPU 上的量法（`--device cuda` 时运行）；
# 在 CPU 上只检查这条代码路径里与设备无关的部分：把数据写进预先分配的“中转站”、搬到设备（这里是严格替身设备）再拷回，
# 数值完全不变。

# %%
def pinned_bandwidth(mib, timed):
    """GPU 上：普通 NumPy 数组与 cupyx.empty_pinned 数组拷到显存的带宽（GB/s）。"""
    cp = backend.xp_for_device("cuda")
    import cupyx  # noqa: PLC0415  只在有 GPU 时导入（CuPy 自带）
    pageable = np.ones(mib * 2 ** 20 // 4, dtype=np.float32)
    pinned = cupyx.empty_pinned(pageable.shape, dtype=np.float32)
    pinned[...] = pageable
    dev = cp.empty_like(pageable)
    _, t_pageable = timed(lambda: dev.set(pageable), "cuda")
    _, t_pinned = timed(lambda: dev.set(pinned), "cuda")
    assert bool((dev == 1).all())
    return {"pageable_gbps": pageable.nbytes / t_pageable / 1e9, "pinned_gbps": pinned.nbytes / t_pinned / 1e9}


def exercise4(device, quick):
    lesson = load_lesson()
    print("练习 4：锁页内存")
    if device == "cuda":
        out = {mib: pinned_bandwidth(mib, lesson.timed) for mib in ((16,) if quick else (16, 256))}
        for mib, r in out.items():
            print(f"  {mib} MiB：普通数组 {r['pageable_gbps']:.1f} GB/s，锁页数组 {r['pinned_gbps']:.1f} GB/s"
                  f"（{r['pinned_gbps'] / r['pageable_gbps']:.1f} 倍）")
        return {"pinned": out}
    rng = np.random.default_rng(0)
    staging = np.empty((16, 64), dtype=np.int64)            # GPU 上这里是 cupyx.empty_pinned((16, 64), dtype=np.int64)
    for _ in range(3):                                       # 每步把新的小批量写进同一块中转站，再搬上设备
        batch = rng.integers(0, 4689, staging.shape)
        staging[...] = batch
        on_device = backend.to_device(staging, "strict")
        assert np.array_equal(backend.to_numpy(on_device), batch)
    print("  没有 GPU：不能量拷贝带宽。中转站的写入、搬到替身设备 'strict' 再拷回，数值不变（3 步都核对过）。"
          "预期 GPU 上（PCIe 4.0）普通数组约 10—13 GB/s，锁页数组约 20—25 GB/s")
    return {"pinned": None}


# %% [markdown]
# ## 练习 5 ★★★：少做 `loss.item()`
#
# > 把 `loss.item()` 从每一步改成每 50 步一次（损失先留在显存里累加），在很小的模型上量训练速度的变化，
# > 解释为什么 GPU 上有差别而 CPU 上几乎没有。
#
# GPU 上运算是异步的：Python 只把 kernel 排进队列就往下走。`loss.item()` 要把一个数拷回主机，必须等队列里
# 这一步的全部计算做完——CPU 停下来等 GPU，GPU 算完又等 CPU 发射下一步，两者轮流空闲。
# 很小的模型每步的计算只有几百微秒，发射开销同一量级，这种“你等我、我等你”能让速度差出好几成；
# 只在每 50 步同步一次，CPU 就能提前把后面几步的 kernel 排好，与 GPU 的计算重叠。
# 累加要用 `acc = acc + loss.detach()`（张量相加，还在显存里），`detach` 免得把计算图留着。
# CPU 上 NumPy 本来就是同步的：每个运算返回时已经算完，`.item()` 只是读一个数，几乎不花时间，所以没有差别。
#
# 下面用同一个种子训练两遍（每步 `.item()` / 每 K 步一次），检查：两次的最终参数逐位相同、
# 每 K 步的平均损失与逐步记下的损失的平均相同；再比较用时。没有 GPU 时在 CPU 与 `"strict"` 上运行
# （后者证明累加的写法全程留在设备上，没有偷偷拷回主机）。

# %%
def train_loop(device, n_steps, every, dims):
    lesson = load_lesson()
    model, step = lesson.make_step(lesson.gpt_config(dims), dims["B"], device)
    logged, acc = [], None
    lesson.sync(device)
    t0 = time.perf_counter()
    for i in range(1, n_steps + 1):
        loss = step()
        if every == 1:
            logged.append(loss.item())
        else:
            acc = loss.detach() if acc is None else acc + loss.detach()
            if i % every == 0:
                logged.append(acc.item() / every)
                acc = None
    lesson.sync(device)
    seconds = time.perf_counter() - t0
    return logged, seconds, {k: backend.to_numpy(v) for k, v in model.state_dict().items()}


def exercise5(device, quick):
    dims = {"L": 1, "H": 2, "C": 32, "T": 32, "B": 4}            # 很小的模型：每步的计算少，同步的代价才显眼
    n_steps, every = (20, 10) if quick else (100, 50)
    print(f"练习 5：每步 .item() 对每 {every} 步一次（{n_steps} 步，很小的模型）")
    out = {}
    for d in ([device] if device == "cuda" else []) + ["cpu", "strict"]:
        each, t_each, state_each = train_loop(d, n_steps, 1, dims)
        batched, t_batched, state_batched = train_loop(d, n_steps, every, dims)
        assert all(np.array_equal(state_each[k], state_batched[k]) for k in state_each), "两种写法的参数应当逐位相同"
        means = np.array(each).reshape(-1, every).mean(axis=1)
        assert_close(np.array(batched), means, rtol=1e-5, atol=1e-6)
        out[d] = {"seconds_each": t_each, "seconds_batched": t_batched, "ratio": t_each / t_batched}
        print(f"  [{d:>6}] 每步 .item() {t_each:.2f} 秒，每 {every} 步一次 {t_batched:.2f} 秒"
              f"（前者 / 后者 = {t_each / t_batched:.2f}）；参数逐位相同，每 {every} 步的平均损失一致")
    if device != "cuda":
        near = "接近 1" if abs(out["cpu"]["ratio"] - 1) < 0.2 else "偏离 1（这台机器上计时噪声大，多跑几次看看）"
        print(f"  没有 GPU：CPU 上两者之比 {out['cpu']['ratio']:.2f}，{near}——NumPy 是同步的，"
              ".item() 不用等。预期 GPU 上（--device cuda）很小的模型能差 1.2—2 倍")
    return {"item_every": out}


# %%
def main(quick=False, device="cpu"):
    device = resolve_device(device)
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device))
    results.update(exercise3(device, quick))
    results.update(exercise4(device, quick))
    results.update(exercise5(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
