# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 第 19 课：数据并行：多个进程一起训练
#
# 第 18 课的 GPT 在一个进程里训练。机器上还有空着的核、节点上还有别的 GPU 时，下一步是**数据并行**
# (data parallelism)：N 个进程 (process) 各持一份完整的模型，各算一份不同数据的梯度，把梯度**平均**，
# 再各自做同样的一步更新——N 份模型始终相同，效果等于一个进程在 N 倍大的批量上训练。
# 平均梯度这件事叫 **all-reduce**：每个进程交出一个数组，每个进程拿回所有数组之和（或均值）。
# 这一课先用两个“假装的进程”手写 all-reduce，推出环形 all-reduce (ring all-reduce) 的通信量；
# 再用数字说明 N 个进程的平均梯度就是整个批量的梯度；然后用 `tinygrad_zh.distributed`（MPI 与 NCCL 之上的
# `DistributedDataParallel`）真的启动两个进程，在自己的核上量一量加速比。
#
# **学习目标**
#
# 1. 说出数据并行做什么：模型复制 N 份、数据切成 N 份、梯度 all-reduce 求平均，更新后 N 份模型仍然相同；
# 2. 会手写 all-reduce（先求和、再求均值），会写环形 all-reduce 的两个阶段（reduce-scatter 与 all-gather），
#    算出每个进程收发 $2(N-1)/N$ 份数据，知道它为什么几乎不随 N 增长；
# 3. 能用数字说明：每个进程样本数相同时，N 个进程的梯度平均 = 一个进程在整个批量上的梯度；样本数不同时差在哪里；
# 4. 会用 `init_process_group`、`DistributedDataParallel`、`DistributedSampler`，会用 `mpiexec -n 2` 启动，
#    知道为什么每个进程的 BLAS 线程数要设成 1（核数 ÷ 进程数）；
# 5. 会量数据并行的加速比与扩展效率 (scaling efficiency)，说出通信与计算各占多少；
# 6. 知道 GPU 上的 NCCL 做了什么：GPU 之间直接传数据、环形算法、通信与反向传播重叠。
#
# **前置知识**：第 15 课（GPT 与训练一步）、第 17 课（设备与计时）、第 18 课（`train` 与检查点）；
# 会在终端里运行命令。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# pip install -e ".[dist]"                              # mpi4py 与 MPI 运行时 mpich（提供 mpiexec）
# python lessons/19_data_parallel.py                     # 完整模式：一个进程，第 5 步再用 mpiexec 启动 1 个与 2 个进程（约 1 分钟）
# python lessons/19_data_parallel.py --quick             # 快速模式：小模型、几步（十几秒）
# mpiexec -n 2 python lessons/19_data_parallel.py --quick   # 整课就是 2 个进程：第 4 步真的在两个进程间平均梯度
# jupytext --to notebook lessons/19_data_parallel.py     # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 笔记本只有一个进程：第 2、3 步在一个进程里**模拟**两个进程（两个数组代表两个进程的梯度），
# 第 4 步在一个进程里就是只有一个成员的进程组，第 5 步从笔记本里用 `mpiexec -n 2` 启动本课，读回两个进程的结果。
# 没装 mpi4py 时第 4、5 步只打印说明。图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。

# %% tags=["parameters"]
QUICK = False    # 快速模式：小模型、几步（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"（cuda：mpiexec 启动的每个进程用一块 GPU，后端 NCCL）

# %%
import json
import os
import subprocess
import sys
import time

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.distributed as dist
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, DistributedSampler, TensorDataset
from tinygrad_zh.lesson import lesson_args, output_dir, show
from tinygrad_zh.models.gpt import GPT, GPTConfig
from tinygrad_zh.viz import label, subplots

RESULTS_ENV = "TINYGRAD_ZH_LESSON19_RESULTS"   # 第 5 步启动的进程把 RESULTS 写到这个文件（0 号进程写）


def tiny_gpt(seed, n_embd=32, n_layer=2, block_size=16, vocab_size=50, dtype="float64"):
    """一个小 GPT：同一个种子得到同一组初值（每个进程各建一份）。"""
    tg.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=2, n_embd=n_embd,
                          dropout=0.0))
    return model.double() if dtype == "float64" else model


def token_batch(n, block_size=16, vocab_size=50, seed=0):
    """n 个随机序列 (x, y)：计算梯度只需要形状对，不需要真的语料。"""
    rng = np.random.default_rng(seed)
    return (tg.tensor(rng.integers(0, vocab_size, (n, block_size))),
            tg.tensor(rng.integers(0, vocab_size, (n, block_size))))


def max_grad_diff(a, b):
    """两个模型对应参数梯度的最大绝对差。"""
    return max(float(np.abs(tg.backend.to_numpy(p.grad.data) - tg.backend.to_numpy(q.grad.data)).max())
               for p, q in zip(a.parameters(), b.parameters()))


QUICK, DEVICE = lesson_args(QUICK, DEVICE)
RESULTS = {}
LAUNCHED = dist.launched_world_size()          # mpiexec -n 2 启动本课时是 2；直接 python / 笔记本里是 1
if LAUNCHED > 1:
    dist.init_process_group("nccl" if DEVICE == "cuda" else "mpi")
RANK = dist.get_rank() if dist.is_initialized() else 0
WORLD = dist.get_world_size() if dist.is_initialized() else 1
if RANK != 0:   # 多个进程时只有 0 号进程打印：输出不会两份交错在一起
    sys.stdout = open(os.devnull, "w", encoding="utf-8")
RESULTS.update({"world": WORLD, "mpi_available": dist.is_available()})
print(f"本进程是第 {RANK} 号，共 {WORLD} 个进程；mpi4py {'已安装' if dist.is_available() else '没有安装'}")

# %% [markdown]
# ## 第 1 步：为什么要数据并行
#
# 训练一步的计算量与批量 $B$ 成正比（第 17 课：约 $6 \cdot N_{参数} \cdot B T$ 次浮点运算）。把批量切成 N 份、
# 交给 N 个进程，每个进程只算 $B/N$ 个序列：理想情况下每步的时间变成 $1/N$。代价有两个：
#
# - **内存**：每个进程都有一整份模型、梯度和 Adam 状态（$16 N_{参数}$ 字节，第 18 课）；
# - **通信**：每一步都要把 N 份梯度平均一次，数据量等于模型大小，与批量无关。
#
# 先量一量：同一个小 GPT，批量加倍，一步的时间是不是也差不多加倍？

# %%
BATCHES = (4, 8, 16) if QUICK else (8, 16, 32)
speed_model = tiny_gpt(0, n_embd=64, dtype="float32")
step_seconds = {}
for B in BATCHES:
    xb, yb = token_batch(B)
    for _ in range(2):   # 第一次含分配，第二次才计时
        t0 = time.perf_counter()
        speed_model.zero_grad()
        speed_model(xb, yb)[1].backward()
    step_seconds[B] = time.perf_counter() - t0
    print(f"批量 {B:>3}：前向 + 反向 {step_seconds[B] * 1000:7.1f} ms")
ratio = step_seconds[BATCHES[-1]] / step_seconds[BATCHES[0]]
print(f"批量大 {BATCHES[-1] // BATCHES[0]} 倍，时间大 {ratio:.1f} 倍：时间大致与批量成正比（小批量时固定开销占得多一些）")
RESULTS["step_seconds"] = step_seconds

# %% [markdown]
# ## 第 2 步：手写 all-reduce（两个进程），以及环形 all-reduce 的通信量
#
# 两个进程各有一个梯度数组。all-reduce 之后，**每个**进程都拿到两者之和；除以进程数就是均值。
# 笔记本里只有一个进程，我们用一个列表 `grads` 假装是两个进程手里的数组：`grads[r]` 是第 r 号进程的。
#
# 最朴素的做法：所有进程都把数组发给 0 号，0 号求和后再发回每个进程。0 号要收 $N-1$ 份、发 $N-1$ 份，
# 进程越多它越忙——它是瓶颈。**环形 all-reduce** 让每个进程的工作量一样：N 个进程排成一个环，
# 每个数组切成 N 块。
#
# 1. **reduce-scatter**（$N-1$ 轮）：每一轮，每个进程把一块发给右边的邻居，邻居把它加到自己的同一块上。
#    $N-1$ 轮之后，第 r 个进程的第 $(r+1) \bmod N$ 块是所有进程这一块的和；
# 2. **all-gather**（$N-1$ 轮）：每个进程把自己手里“已经求完和”的块沿环传下去，传 $N-1$ 轮，人人都有了全部的和。
#
# 每一轮每个进程发一块（$1/N$ 的数据），共 $2(N-1)$ 轮：每个进程发送 $2(N-1)/N$ 份数据（也接收这么多）。
# $N=2$ 时是 1 份，$N$ 很大时趋近 2 份——**几乎不随进程数增长**，所以环形算法能扩展到成百上千块 GPU。

# %%
grads = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 20.0, 30.0, 40.0])]   # 0 号、1 号进程的梯度
total = grads[0] + grads[1]                  # 每个进程都拿到这个和（sum）
mean = total / len(grads)                    # 再除以进程数就是均值（mean）
print(f"两个进程的梯度：{grads[0].tolist()} 与 {grads[1].tolist()}")
print(f"all-reduce 求和：{total.tolist()}；求均值：{mean.tolist()}")
RESULTS["by_hand_sum"], RESULTS["by_hand_mean"] = total.tolist(), mean.tolist()


def ring_all_reduce(arrays):
    """模拟 N 个进程的环形 all-reduce：返回 (每个进程最后的数组, 每个进程发送的元素个数)。

    arrays[r] 是第 r 号进程的数组；每个进程把它切成 N 块。每一轮里所有进程“同时”给右边的邻居发一块。
    """
    n = len(arrays)
    chunks = [np.array_split(a.astype(np.float64), n) for a in arrays]   # chunks[r][c]：r 号进程的第 c 块
    sent = [0] * n
    for step in range(n - 1):                      # reduce-scatter
        messages = [(r, (r - step) % n, chunks[r][(r - step) % n].copy()) for r in range(n)]
        for r, c, data in messages:
            chunks[(r + 1) % n][c] += data         # 右边的邻居把收到的块加到自己的同一块上
            sent[r] += data.size
    for step in range(n - 1):                      # all-gather：传递已经求完和的块
        messages = [(r, (r + 1 - step) % n, chunks[r][(r + 1 - step) % n].copy()) for r in range(n)]
        for r, c, data in messages:
            chunks[(r + 1) % n][c] = data
            sent[r] += data.size
    return [np.concatenate(c) for c in chunks], sent


ring_rows = []
rng = np.random.default_rng(0)
for n in (2, 4, 8):
    arrays = [rng.standard_normal(1000) for _ in range(n)]
    results, sent = ring_all_reduce(arrays)
    exact = np.sum(arrays, axis=0)
    err = max(float(np.abs(r - exact).max()) for r in results)
    ring_rows.append({"N": n, "sent_fraction": sent[0] / 1000, "theory": 2 * (n - 1) / n, "max_error": err})
    print(f"N = {n}：每个进程发送 {sent[0]} 个数 = {sent[0] / 1000:.3f} 份（理论 2(N−1)/N = {2 * (n - 1) / n:.3f}），"
          f"与直接求和的最大差 {err:.1e}")
RESULTS["ring"] = ring_rows

# %% [markdown]
# 通信时间的粗略模型：每个进程发送 $2(N-1)/N \cdot M$ 字节（$M$ 是梯度的字节数），带宽为 $b$ 时约需
# $2(N-1)/N \cdot M / b$，再加上 $2(N-1)$ 轮、每轮一个固定延迟 $\alpha$。第 18 课 GPU 配置的梯度 $M \approx 50$ MB：
# PCIe（约 10 GB/s）上 2 块 GPU 要 5 ms，NVLink（几百 GB/s）上不到 1 ms——比一步几百毫秒的计算小得多。

# %%
M = 12_546_432 * 4                       # 第 18 课 GPU 配置的参数个数 × 4 字节（float32 梯度）
for name, bandwidth in (("PCIe 约 10 GB/s", 10e9), ("NVLink 约 300 GB/s", 300e9)):
    times = [2 * (n - 1) / n * M / bandwidth * 1000 for n in (2, 8)]
    print(f"{name}：N = 2 约 {times[0]:.2f} ms，N = 8 约 {times[1]:.2f} ms")
RESULTS["gpu_grad_mb"] = M / 1e6

# %% [markdown]
# ## 第 3 步：N 个进程的平均梯度 = 整个批量的梯度
#
# 损失是批量上的平均：$L = \frac{1}{B}\sum_b \ell_b$。N 个进程各拿 $B/N$ 个样本，各自的损失 $L_r$ 是自己那份的平均，
# 于是 $\frac{1}{N}\sum_r \nabla L_r = \frac{1}{N}\sum_r \frac{N}{B}\sum_{b \in r} \nabla\ell_b = \frac{1}{B}\sum_b \nabla\ell_b = \nabla L$。
# 用 float64 的小 GPT 验证：整个批量算一次梯度，再把批量切成 2 份、4 份各算一次、取平均。

# %%
x_all, y_all = token_batch(8, seed=1)
full = tiny_gpt(0)
full(x_all, y_all)[1].backward()
split_diff = {}
for n in (2, 4):
    parts = []
    for r in range(n):                      # 第 r 个“进程”：同样的初值，只看自己那一份
        m = tiny_gpt(0)
        per = 8 // n
        m(x_all[r * per:(r + 1) * per], y_all[r * per:(r + 1) * per])[1].backward()
        parts.append(m)
    averaged = [sum(m_params) / n for m_params in zip(*[[p.grad.data for p in m.parameters()] for m in parts])]
    split_diff[n] = max(float(np.abs(a - p.grad.data).max()) for a, p in zip(averaged, full.parameters()))
    print(f"切成 {n} 份、梯度取平均，与整个批量的梯度最大差 {split_diff[n]:.1e}（float64 的舍入误差）")
RESULTS["split_grad_diff"] = split_diff

# %% [markdown]
# 前提是**每个进程的样本数相同**。把 8 个序列切成 3 + 5，两份梯度直接平均，小的那份被算重了：
# 正确的权重是样本数 $3/8$ 与 $5/8$。所以 `DistributedSampler` 默认补齐样本，让每个进程一样多。

# %%
a, b = tiny_gpt(0), tiny_gpt(0)
a(x_all[:3], y_all[:3])[1].backward()
b(x_all[3:], y_all[3:])[1].backward()
naive = [(p.grad.data + q.grad.data) / 2 for p, q in zip(a.parameters(), b.parameters())]
weighted = [(3 * p.grad.data + 5 * q.grad.data) / 8 for p, q in zip(a.parameters(), b.parameters())]
unequal_naive = max(float(np.abs(g - p.grad.data).max()) for g, p in zip(naive, full.parameters()))
unequal_weighted = max(float(np.abs(g - p.grad.data).max()) for g, p in zip(weighted, full.parameters()))
print(f"3 + 5 直接平均：与整批梯度最大差 {unequal_naive:.1e}；按样本数加权：{unequal_weighted:.1e}")
RESULTS["unequal_naive_diff"], RESULTS["unequal_weighted_diff"] = unequal_naive, unequal_weighted

# %% [markdown]
# ## 第 4 步：`tinygrad_zh.distributed`：进程组、DistributedDataParallel、DistributedSampler
#
# 真正的多个进程由 `mpiexec -n 2 python 脚本.py` 启动：同一个脚本运行两份，每份调用
# `dist.init_process_group("mpi")`，问 MPI 自己是第几号 (`get_rank()`)、一共几个 (`get_world_size()`)。
# 名字与 PyTorch 的 `torch.distributed` 相同：
#
# - `DistributedDataParallel(model)`：构造时把 0 号进程的参数**广播** (broadcast) 给所有进程（即使各自初始化得不同，
#   也从同一个起点出发）；反向传播时把梯度**按桶** (bucket) 平均——参数的梯度一到齐就放进一段扁平缓冲区，
#   一桶一次 all-reduce，而不是一个参数一次（每次通信都有固定延迟，几十个小参数合起来只付一次）；
# - `DistributedSampler(dataset)`：每个进程取不重叠的 $1/N$（第 r 号取第 r、r+N、r+2N…… 个），
#   `DataLoader(..., sampler=sampler)` 每批给出本进程那一份，N 个进程合起来就是一个大小为 $N \times$ batch_size 的批量。
#
# 直接运行本课（或在笔记本里）时进程组只有自己一个成员，代码照常运行、结果与不包 DDP 相同；
# 用 `mpiexec -n 2` 运行本课时，下面这一格**真的**在两个进程之间平均梯度。我们让每个进程用 `DistributedSampler`
# 拿自己那一份（8 个序列的一半），做 3 步 AdamW，再与本进程里“一个进程在整个批量上”的训练比较。

# %%
DDP_STEPS = 3
dataset = TensorDataset(x_all, y_all)
ddp_result = None
if WORLD > 1 or dist.is_available():
    if not dist.is_initialized():
        dist.init_process_group("mpi")     # 没有 mpiexec：只有本进程一个成员的组
    RANK, WORLD = dist.get_rank(), dist.get_world_size()
    model = dist.DistributedDataParallel(tiny_gpt(0 if RANK == 0 else 1234).to(DEVICE), bucket_cap_mb=0.05)
    sampler = DistributedSampler(dataset, shuffle=False)
    loader = DataLoader(dataset, batch_size=len(dataset) // WORLD, sampler=sampler, device=DEVICE)
    reference = tiny_gpt(0)                # 对照：一个进程，整个批量
    opt, opt_ref = optim.AdamW(model.parameters(), lr=1e-2), optim.AdamW(reference.parameters(), lr=1e-2)
    for step in range(DDP_STEPS):
        for xb, yb in loader:              # 本进程的那一份：8 / WORLD 个序列
            opt.zero_grad()
            _, loss = model(xb, yb)
            loss.backward()                # 反向传播里按桶 all-reduce
            opt.step()
        opt_ref.zero_grad()
        reference(x_all, y_all)[1].backward()
        opt_ref.step()
    param_diff = max(float(np.abs(tg.backend.to_numpy(p.data) - q.data).max())
                     for p, q in zip(model.parameters(), reference.parameters()))
    ddp_result = {"world": WORLD, "backend": dist.get_backend(), "buckets": len(model.reducer.buckets),
                  "all_reduce_calls": model.reducer.all_reduce_calls, "param_diff": param_diff,
                  "my_indices": list(sampler)}
    print(f"进程组：{WORLD} 个进程，后端 {dist.get_backend()!r}；本进程（第 {RANK} 号）的样本下标 {list(sampler)}")
    print(f"DistributedDataParallel({model.extra_repr()})")
    print(f"{DDP_STEPS} 步里做了 {model.reducer.all_reduce_calls} 次 all-reduce（每步每桶一次）；"
          f"与单进程整批训练的参数最大差 {param_diff:.1e}")
else:
    print("没有安装 mpi4py：这一步只讲不跑。安装：pip install -e \".[dist]\"")
RESULTS["ddp"] = ddp_result

# %% [markdown]
# ## 第 5 步：真的启动两个进程，量加速比
#
# 一个进程能不能用满两个核？NumPy 的矩阵乘法 (BLAS) 自己会开多个线程；但前向、反向里还有大量逐元素运算、
# Python 的开销，它们只用一个核。数据并行让每个核各跑一个进程：两个进程**各用 1 个 BLAS 线程**
# （`OPENBLAS_NUM_THREADS=1`，否则两个进程各开 2 个线程，4 个线程抢 2 个核，反而更慢）。
#
# 下面这一格从本进程里用 `mpiexec -n 1` 与 `mpiexec -n 2` 各运行一次本课（快速模式），每次都用同样的**全局**批量
# 训练几步、量词元/秒 (tokens/s)；0 号进程把它的 `RESULTS` 写进一个文件，我们读回来比较。命令就是：
#
# ```bash
# OPENBLAS_NUM_THREADS=1 mpiexec -n 2 python lessons/19_data_parallel.py --quick
# ```
#
# 本课已经是 mpiexec 启动的多个进程时，这一格不再套一层，只量自己这一次。

# %%
SPEED_BATCH = 16 if QUICK else 32      # 全局批量：N 个进程时每个进程 SPEED_BATCH / N 个序列
SPEED_STEPS = 4 if QUICK else 10
SPEED_DIMS = {"n_embd": 64, "n_layer": 2, "block_size": 32} if QUICK else {"n_embd": 128, "n_layer": 4, "block_size": 64}


def measure_tokens_per_second(world, rank):
    """当前进程组里，DDP 训练 SPEED_STEPS 步的全局词元/秒（先热身一步；计时前后各过一次 barrier）。"""
    model = dist.DistributedDataParallel(tiny_gpt(0, vocab_size=500, dtype="float32", **SPEED_DIMS).to(DEVICE))
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    x, y = token_batch(SPEED_BATCH // world, SPEED_DIMS["block_size"], 500, seed=rank)
    x, y = x.to(DEVICE), y.to(DEVICE)
    for i in range(SPEED_STEPS + 1):
        if i == 1:
            dist.barrier()
            t0 = time.perf_counter()
        opt.zero_grad()
        model(x, y)[1].backward()
        opt.step()
    if DEVICE == "cuda":
        tg.cuda.synchronize()
    dist.barrier()
    return SPEED_BATCH * SPEED_DIMS["block_size"] * SPEED_STEPS / (time.perf_counter() - t0)


def run_lesson_with_mpiexec(n):
    """用 mpiexec -n n 运行本课（快速模式、每个进程 1 个 BLAS 线程），读回 0 号进程的 RESULTS。"""
    path = output_dir() / f"19_results_{n}proc.json"
    here = globals().get("__file__") or os.path.join(os.getcwd(), "19_data_parallel.py")   # 笔记本里工作目录是 lessons/
    env = dist.launch_env(1, {**os.environ, RESULTS_ENV: str(path)})
    env.update({name: "1" for name in dist.launcher.BLAS_THREAD_VARIABLES})
    done = subprocess.run(dist.mpiexec_command(n, [os.path.abspath(here), "--quick", "--device", DEVICE]),
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"mpiexec -n {n} 运行本课失败（退出码 {done.returncode}）：{done.stderr[-1500:]}")
    return json.loads(path.read_text(encoding="utf-8"))


speed = None
if dist.is_initialized() and (LAUNCHED > 1 or os.environ.get(RESULTS_ENV)):   # mpiexec 启动的运行才计时
    RESULTS["tokens_per_s"] = measure_tokens_per_second(WORLD, RANK)
    print(f"本次运行（{WORLD} 个进程）：{RESULTS['tokens_per_s']:,.0f} 词元/秒")
if LAUNCHED == 1 and dist.is_available() and os.environ.get(RESULTS_ENV) is None:
    runs = {n: run_lesson_with_mpiexec(n) for n in (1, 2)}
    tps = {n: r["tokens_per_s"] for n, r in runs.items()}
    speed = {"tokens_per_s": tps, "speedup": tps[2] / tps[1], "efficiency": tps[2] / (2 * tps[1]),
             "ddp_2proc": runs[2]["ddp"]}
    print(f"mpiexec -n 1：{tps[1]:,.0f} 词元/秒；mpiexec -n 2：{tps[2]:,.0f} 词元/秒（每个进程 1 个 BLAS 线程）")
    print(f"加速比 {speed['speedup']:.2f}，扩展效率 {speed['efficiency']:.0%}")
    d = runs[2]["ddp"]
    print(f"两个进程里的第 4 步：0 号进程拿到下标 {d['my_indices']}，{d['all_reduce_calls']} 次 all-reduce，"
          f"与单进程整批训练的参数最大差 {d['param_diff']:.1e}")
elif not dist.is_available():
    print("没有安装 mpi4py：这一步只讲不跑。")
RESULTS["speed"] = speed

# %% [markdown]
# 扩展效率不到 100% 的原因：每步都要等 all-reduce（CPU 上走共享内存，比计算快得多，但两个进程要**同时**到达，
# 快的那个要等慢的）；小模型的一步本来就短，Python 与启动运算的固定开销不随批量减小；机器上还有别的程序时，
# 两个进程抢同样的核。模型越大、每个进程的批量越大，计算占的比例越高，效率越接近 100%。
#
# ## 第 6 步：GPU 上的 NCCL
#
# 一台机器有几块 GPU 时，每块 GPU 一个进程：`mpiexec -n 4 python 脚本.py --device cuda`，脚本里
# `dist.init_process_group("nccl")`——第 i 个进程用本机第 i 块 GPU。NCCL（NVIDIA 集合通信库）做的事与第 2 步相同，
# 只是：
#
# - 数据**不经过主机**：GPU 之间直接走 NVLink 或 PCIe，跨机器走 InfiniBand，带宽是 CPU 共享内存的许多倍；
# - 用环形或树形算法，按拓扑（哪几块 GPU 之间有 NVLink）排好环，每个进程收发约 $2(N-1)/N$ 份数据；
# - 通信也是 GPU 上排队的运算，与反向传播的运算在同一个流 (stream) 里：后面几层的桶先装满、先通信，
#   前面几层还在算，通信与计算**重叠**，CPU 也不用停下来等。
#
# `tinygrad_zh` 的 NCCL 后端用 CuPy 的 `cupyx.distributed.NCCLBackend`：进程编号与 NCCL 的 ID 交换走 MPI，
# all-reduce 与广播直接在 CuPy 数组上做。训练 GPT 时不用自己写这些：`tinygrad-zh train --nproc 2`
# （或 `mpiexec -n 2 tinygrad-zh train`）就是数据并行的训练，只有 0 号进程打印、评估、写检查点。

# %%
def plot_speed(rows, speed_result):
    """左：环形 all-reduce 每个进程发送的份数；右：1 个与 2 个进程的词元/秒（虚线是理想的 2 倍）。"""
    fig, (ax1, ax2) = subplots(1, 2, figsize=(10, 3.8))
    ns = [r["N"] for r in rows]
    ax1.plot(ns, [r["sent_fraction"] for r in rows], "o-", label=label("模拟的环形 all-reduce", "simulated ring"))
    grid = np.linspace(2, max(ns), 50)
    ax1.plot(grid, 2 * (grid - 1) / grid, "--", label="2(N-1)/N")
    ax1.set_xlabel(label("进程数 N", "processes N"))
    ax1.set_ylabel(label("每个进程发送的份数", "data sent per process"))
    ax1.legend()
    if speed_result is not None:
        tps = speed_result["tokens_per_s"]
        ax2.bar(["1", "2"], [tps[1], tps[2]], color=["tab:gray", "tab:blue"])
        ax2.axhline(2 * tps[1], ls="--", color="tab:red", label=label("理想：2 倍", "ideal 2x"))
        ax2.set_xlabel(label("进程数（每个 1 个 BLAS 线程）", "processes (1 BLAS thread each)"))
        ax2.set_ylabel(label("词元/秒", "tokens/s"))
        ax2.legend()
    else:
        ax2.text(0.5, 0.5, label("没有测速（需要 mpi4py）", "no timing (needs mpi4py)"), ha="center", va="center")
        ax2.set_axis_off()
    return fig


if RANK == 0:
    RESULTS["figures"] = [str(show(plot_speed(ring_rows, speed), "19_data_parallel.png"))]

# %% [markdown]
# ## 小结
#
# - 数据并行：模型复制 N 份，数据切 N 份，梯度 all-reduce 求平均，N 份模型一起做同样的更新；
# - 样本数相同时，平均梯度与整个批量的梯度相同（到舍入误差）；样本数不同要按样本数加权，所以采样器补齐样本；
# - 环形 all-reduce 每个进程收发 $2(N-1)/N$ 份数据，几乎不随 N 增长；
# - `DistributedDataParallel` 构造时广播参数、反向传播时按桶平均梯度；`DistributedSampler` 切数据；
#   `mpiexec -n N` 启动，每个进程的 BLAS 线程数 = 核数 ÷ N；
# - GPU 上用 NCCL：数据不经过主机，通信与反向传播重叠。
#
# ## 练习
#
# 1. ★ 梯度累积 (gradient accumulation) 还是更多进程：一个进程把批量 8 分成 4 个小批量依次反向传播（每次损失乘以 1/4）、
#    再更新一次，与 4 个进程各算 2 个序列，梯度相同吗？两者各省了什么、花了什么？
# 2. ★ BatchNorm 会出什么问题：一个带 `nn.BatchNorm1d` 的 MLP，两个进程各用自己那半批的均值与方差规范化，
#    平均后的梯度还等于整批的梯度吗？怎样让它重新相等（提示：先 all-reduce 每个特征的和与平方和，即 SyncBatchNorm）？
# 3. ★★ 什么时候通信成为瓶颈：用第 2 步的模型，算第 18 课 GPU 配置在 8 块 GPU、PCIe 10 GB/s 上每步的通信时间，
#    与一步约 0.2 秒的计算相比占多少？换成每个进程批量 4 呢（计算时间按批量缩小）？
#
# 全部练习的答案见 `lessons/answers/19_data_parallel_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（速度随机器与负载而变）。

# %%
R = RESULTS
lines = [f"参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'，{R['world']} 个进程）：",
         f"- 第 1 步：批量从 {BATCHES[0]} 到 {BATCHES[-1]}，一步的时间变成 {ratio:.1f} 倍；",
         f"- 第 2 步：手写 all-reduce 求和 {R['by_hand_sum']}、均值 {R['by_hand_mean']}；环形 all-reduce 每个进程发送 "
         + "、".join(f"N={r['N']} 时 {r['sent_fraction']:.3f} 份" for r in R["ring"]) + "（= 2(N−1)/N）；",
         f"- 第 3 步：切成 2 份、4 份的平均梯度与整批梯度最大差 {R['split_grad_diff'][2]:.1e}、{R['split_grad_diff'][4]:.1e}；"
         f"3 + 5 直接平均差 {R['unequal_naive_diff']:.1e}，按样本数加权 {R['unequal_weighted_diff']:.1e}；"]
if R["ddp"] is not None:
    d = R["ddp"]
    lines.append(f"- 第 4 步（{d['world']} 个进程）：{d['buckets']} 个桶，{DDP_STEPS} 步 {d['all_reduce_calls']} 次 all-reduce，"
                 f"与单进程整批训练的参数最大差 {d['param_diff']:.1e}；")
if R["speed"] is not None:
    s = R["speed"]
    better = "快" if s["speedup"] > 1 else "不比一个进程快"
    lines.append(f"- 第 5 步：1 个进程 {s['tokens_per_s'][1]:,.0f} 词元/秒，2 个进程 {s['tokens_per_s'][2]:,.0f} 词元/秒，"
                 f"两个进程{better}（加速比 {s['speedup']:.2f}，扩展效率 {s['efficiency']:.0%}）；两个进程里的第 4 步与单进程"
                 f"整批训练的参数最大差 {s['ddp_2proc']['param_diff']:.1e}。")
print("\n".join(lines))
if RANK == 0 and os.environ.get(RESULTS_ENV):   # 第 5 步启动的运行：把 RESULTS 交回去
    with open(os.environ[RESULTS_ENV], "w", encoding="utf-8") as f:
        json.dump(RESULTS, f, ensure_ascii=False, default=str)
if LAUNCHED == 1 and dist.is_initialized():     # 本进程自己建的单成员进程组：用完解散（笔记本可以从头再运行）
    dist.destroy_process_group()
