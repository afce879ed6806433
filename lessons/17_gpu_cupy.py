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
# # 第 17 课：上 GPU：CuPy
#
# 第 15 课的 GPT 在笔记本 CPU 上每秒只能处理几千个字，第 18 课的 GPU 配置（6 层、384 维、上下文 256）要算的是它的几百倍。
# 这一课讲怎样让**同一份代码**跑在 NVIDIA GPU（图形处理器）上：tinygrad_zh 的每个运算都通过数组模块 `xp` 调用
# NumPy 或 CuPy——CuPy 是 NumPy 接口的 GPU 版本，`cupy.exp`、`cupy.matmul` 与 NumPy 同名同义，数组放在显存 (GPU memory) 里。
# 我们会看到 GPU 快在哪里（并行的浮点运算与显存带宽），慢在哪里（主机与设备之间的拷贝、每次启动的开销），
# 怎样在**没有 GPU** 的机器上证明代码能在 GPU 上跑（严格替身设备 `"strict"`），GPU 上怎样**正确地**计时，
# 显存池 (memory pool) 是怎么回事，最后量一量 GPT 训练一步的速度：NumPy 对 CuPy。
#
# **学习目标**
#
# 1. 会用“算术强度 (arithmetic intensity) = 浮点运算次数 / 搬运的字节数”判断一个运算受算力还是受带宽限制，
#    会估算 GPT 训练一步的浮点运算量（≈ 6·N·词元数 + 注意力项）；
# 2. 理解后端开关：数据路径上的代码写 `xp = get_array_module(x)` 而不是 `np`，同一份代码在 NumPy 与 CuPy 上都能跑；
#    会用严格替身设备在 CPU 上抓出“直接用了 `np.*`”的错误；
# 3. 会用 `tensor.to(device)`、`model.to(device)`、`.cpu()` 搬运张量和模型，知道混用设备会报什么错；
# 4. 知道主机↔设备拷贝的代价：模型搬一次，每步只搬一个小批量；`loss.item()` 会让 CPU 等 GPU；
# 5. 会在 GPU 上正确计时：读时钟之前先同步 (`tg.cuda.synchronize()`)，或用 CUDA 事件 (event)；先预热再计时；
# 6. 理解 CuPy 的显存池：`used_bytes()` 与 `total_bytes()` 的区别，为什么 `nvidia-smi` 显示的占用比实际大；
# 7. 会量 GPT 训练一步的词元/秒 (tokens/s)，比较 NumPy 与 CuPy。
#
# **前置知识**：第 15 课（GPT 与它的训练一步）、第 03 课（张量、`Function` 与 `xp`）、第 00 课（环境检查 `tinygrad-zh doctor`）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/17_gpu_cupy.py                  # 完整模式（CPU 上约半分钟）
# python lessons/17_gpu_cupy.py --quick          # 快速模式：小矩阵、小模型，几秒到十几秒
# python lessons/17_gpu_cupy.py --device cuda    # 在 GPU 上：每一步都在显存里量，最后比较 NumPy 与 CuPy
# jupytext --to notebook lessons/17_gpu_cupy.py  # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 要用 GPU，先装与 CUDA 版本对应的 CuPy：`pip install -e ".[gpu]"`（即 `cupy-cuda12x`；CUDA 13 请改装 `cupy-cuda13x`），
# 再用 `tinygrad-zh doctor` 或 `python -c "import tinygrad_zh as tg; print(tg.cuda.is_available())"` 检查。
# **没有 GPU 也能学这一课**：默认的 `--device cpu` 把每一步的代码都走一遍，需要 GPU 才能量的数会明确说“没有 GPU”，
# 并给出估算。图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。
#
# 课程的写法见第 00 课：第一个代码单元是参数单元（有 GPU 时把 `DEVICE` 改成 `"cuda"`），每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。

# %% tags=["parameters"]
QUICK = False    # 快速模式：小矩阵、小模型（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import gc
import time
import tracemalloc
import types

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.testing  # noqa: F401  导入即注册严格替身设备 "strict"
from tinygrad_zh import backend
from tinygrad_zh.lesson import lesson_args, show
from tinygrad_zh.models.gpt import GPT, GPTConfig
from tinygrad_zh.training import CPU_CONFIG, GPU_CONFIG, resolve_device
from tinygrad_zh.viz import label, subplots

VOCAB = 4689            # 人民日报语料的字符词表大小（第 15 课）；计时用随机词元即可，速度与文字内容无关
ASSUMED_PCIE_GBPS = 25  # 没有 GPU 时估算拷贝用：PCIe 4.0 x16 理论 32 GB/s，实际常见约 25 GB/s

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
DEVICE = resolve_device(DEVICE)              # 要 cuda 却没有 GPU 时，这里给出一行中文说明
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）
RESULTS["device"] = DEVICE


def cupy_module():
    """GPU 专用的功能（显存池、CUDA 事件）要直接用 CuPy：经由后端取得模块（整个包只有 backend.py 导入 cupy）。"""
    return backend.xp_for_device("cuda")


RESULTS["gpu_available"] = tg.cuda.is_available()
print(f"tg.cuda.is_available() = {RESULTS['gpu_available']}"
      + ("" if RESULTS["gpu_available"] else "（没有可用的 NVIDIA GPU 或 CuPy）"))
if DEVICE == "cuda":
    props = cupy_module().cuda.runtime.getDeviceProperties(0)
    gpu_name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    print(f"GPU：{gpu_name}，显存 {props['totalGlobalMem'] / 2 ** 30:.1f} GiB")

# %% [markdown]
# ## 第 1 步：GPU 擅长什么——算力、带宽与算术强度
#
# 一块 GPU 有上万个简单的计算单元，同时做同一种运算；还有一条很宽的显存总线。粗略的数量级（float32）：
#
# | | 浮点算力 | 内存带宽 | 与主机之间 |
# |---|---|---|---|
# | 笔记本 CPU（2 核） | 几十 GFLOP/s | 约 5–20 GB/s | — |
# | RTX 4090 | 约 80 TFLOP/s | 约 1 TB/s | PCIe 4.0 x16：理论 32 GB/s |
# | A100 | 约 20 TFLOP/s（TF32 张量核心约 150） | 约 1.5–2 TB/s | PCIe 4.0 |
# | H100 SXM | 约 67 TFLOP/s | 约 3.4 TB/s | PCIe 5.0：理论 64 GB/s |
#
# 算力差上千倍，显存带宽比 CPU 内存高出上百倍；而主机与 GPU 之间的 PCIe 总线（理论 32–64 GB/s）**比显存慢几十倍**，
# 与 CPU 自己的内存带宽（表里 5–20 GB/s，台式机与服务器更高）只在同一个数量级——它不比 CPU 内存快多少，
# 是整条数据路径上最窄的一段。
# （消费级 GPU 的 float64 只有 float32 的几十分之一，所以数据路径上坚持用 float32。）
#
# 表里 A100 括号中的“TF32 张量核心”是另一种取舍。float32 有 1 位符号、8 位指数、23 位尾数 (mantissa)；
# TF32 (TensorFloat-32) 保留 8 位指数（能表示的范围不变），尾数只留 **10 位**（与 float16 一样），乘积仍在
# float32 里累加。每个乘数的相对舍入误差从约 $2^{-24} \approx 6\times10^{-8}$ 变成约 $2^{-11} \approx 5\times10^{-4}$，
# 换来 Ampere（A100）及更新的 GPU 上快好几倍的矩阵乘法。训练神经网络通常察觉不到这点误差（梯度本来就带着
# 小批量的噪声），但梯度检验、与 CPU 逐位对照的测试就会失败。所以它是一个开关，默认关闭（与 PyTorch 的
# `torch.backends.cuda.matmul.allow_tf32` 相同）：`tg.cuda.set_allow_tf32(True)` 打开，`False` 关上；
# 只影响 GPU 上 float32 的矩阵乘法，CPU 上什么也不改。`python3 benchmarks/bench_gpt.py --device cuda --preset gpu --tf32`
# 比较打开前后的词元/秒。
#
# 一个运算到底快不快，要看它每搬一个字节做多少次运算——**算术强度** $I$（FLOP/字节）：
#
# - $n \times n$ 的 float32 矩阵乘法：$2n^3$ 次运算，读两个矩阵写一个，$3 \cdot 4 n^2$ 字节，$I = n/6$，矩阵越大越“重计算”；
# - 按元素的加法 `a + b`：每个元素 1 次运算，读 8 字节写 4 字节，$I = 1/12$，与大小无关，永远受带宽限制。
#
# 能达到的速度约为 $\min(\text{峰值算力},\ I \times \text{带宽})$（屋顶线模型，roofline model）。
# 两者相等处的 $I^* = \text{算力}/\text{带宽}$ 叫脊点 (ridge point)：$I < I^*$ 的运算再怎么优化也只能跑满带宽。
# GPT 的大头是矩阵乘法（$I$ 几十到几百），所以 GPU 能把它的算力用上；LayerNorm、GELU、softmax 这些按元素的运算
# 在 GPU 上只能跑满带宽——这就是第 7 步里 GPU 加速比达不到算力之比的原因之一。
#
# 下面一格先写好计时的工具：GPU 上的运算是异步的，读时钟之前要先同步（第 5 步细讲），`timed` 先预热再取最快的一次。
# 然后在当前设备上实测矩阵乘法的 GFLOP/s 与按元素加法的带宽（用 tinygrad_zh 的张量，数据就在那个设备上），
# 再用第 15 课的模型算一算训练一步要多少次运算：
#
# $$\text{FLOPs} \approx 6 N \cdot B T + 12\, B T^2 C L,$$
#
# 其中 $N$ 是不含位置嵌入的参数个数：前向每个参数对每个词元做一乘一加（2 次），反向对输入和对权重各一次（4 次）；
# 第二项是注意力里 $QK^\top$ 与 $PV$ 两个批量矩阵乘法（前向 $4BT^2C$，反向加倍）。

# %%
def sync(device):
    """GPU 上的运算是异步的：读时钟之前先等它算完。CPU（NumPy）本来就是同步的，什么也不用做。"""
    if device == "cuda":
        tg.cuda.synchronize()


def timed(fn, device, repeat=3):
    """先调用一次预热 (warm-up)，再取 repeat 次中最快的一次；返回 (第一次的秒数, 最快一次的秒数)。

    每次计时的前后都同步：开始前把之前排队的计算清空，结束后等这次的计算真正做完。
    """
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return first, best


mm_n = 4096 if DEVICE == "cuda" else (512 if QUICK else 1024)
numel = (32 if DEVICE == "cuda" else (4 if QUICK else 16)) * 1024 * 1024
tg.manual_seed(0)
a, b = tg.randn(mm_n, mm_n, device=DEVICE), tg.randn(mm_n, mm_n, device=DEVICE)
x, y = tg.randn(numel, device=DEVICE), tg.randn(numel, device=DEVICE)
with tg.no_grad():
    _, t_mm = timed(lambda: a @ b, DEVICE)
    _, t_add = timed(lambda: x + y, DEVICE)
gflops = 2 * mm_n ** 3 / t_mm / 1e9
gbps = 3 * 4 * numel / t_add / 1e9
ridge = gflops / gbps
del a, b, x, y
print(f"设备 {DEVICE}：{mm_n}×{mm_n} 的 float32 矩阵乘法 {t_mm * 1e3:.2f} ms → {gflops:,.1f} GFLOP/s"
      f"（算术强度 n/6 = {mm_n / 6:.0f} FLOP/字节）")
print(f"{numel // 2 ** 20}M 个元素的 a + b：{t_add * 1e3:.2f} ms → 带宽 {gbps:,.1f} GB/s（算术强度 1/12）")
print(f"这台设备的脊点 ≈ {gflops:,.0f} / {gbps:,.1f} ≈ {ridge:.1f} FLOP/字节：强度低于它的运算受带宽限制")
RESULTS.update({"matmul_n": mm_n, "matmul_gflops": gflops, "add_numel": numel, "add_gbps": gbps,
                "intensity_matmul": mm_n / 6, "intensity_add": 1 / 12, "ridge": ridge})

# %% [markdown]
# 再把上面的公式写成函数，算一算第 15 课的 CPU 配置与第 18 课的 GPU 配置训练一步各要多少次运算，
# 按刚量到的矩阵乘法速度，一步至少要多久。


# %%
def n_params_formula(V, T, C, L):
    """GPT 的参数个数（带偏置、权重绑定）：wte V·C + wpe T·C + 每块 12C² + 13C + ln_f 2C（见第 15 课第 4 步）。"""
    return V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C


def gpt_step_flops(B, T, C, L, V):
    """GPT 训练一步的浮点运算次数（乘、加各算一次）。

    矩阵乘法：每个词元每个参数前向 2 次（一乘一加），反向 4 次（对输入、对权重各一次矩阵乘法），共 6·N·B·T，
    N 不含位置嵌入（查表不做乘法）；注意力：每层前向 Q·Kᵀ 与 P·V 各 2·B·T²·C，反向是前向的 2 倍，共 12·B·T²·C·L。
    层规范化、GELU、softmax 等按元素的运算不到 1%，不计。
    """
    n = n_params_formula(V, T, C, L) - T * C
    return 6 * n * B * T + 12 * B * T * T * C * L


def config_dims(cfg):
    """TrainConfig → dict(L 层数, H 头数, C 宽度, T 上下文, B 批量)。"""
    return dict(L=cfg.n_layer, H=cfg.n_head, C=cfg.n_embd, T=cfg.block_size, B=cfg.batch_size)


def step_flops(dims, V=VOCAB):
    """dims 对应的模型训练一步的浮点运算次数（头数不影响运算量）。"""
    return gpt_step_flops(dims["B"], dims["T"], dims["C"], dims["L"], V)


flops = {}
for name, cfg in (("CPU_CONFIG", CPU_CONFIG), ("GPU_CONFIG", GPU_CONFIG)):
    d = config_dims(cfg)
    flops[name] = step_flops(d)
    n_par = n_params_formula(VOCAB, d["T"], d["C"], d["L"]) - d["T"] * d["C"]
    print(f"{name}（{d['L']} 层，C = {d['C']}，T = {d['T']}，B = {d['B']}）：N = {n_par:,}，"
          f"每步 {d['B'] * d['T']:,} 个词元，约 {flops[name] / 1e9:,.1f} GFLOP/步；"
          f"按上面的矩阵乘法速度，至少 {flops[name] / (gflops * 1e9):.2f} 秒/步")
print(f"GPU_CONFIG 一步的运算量是 CPU_CONFIG 的 {flops['GPU_CONFIG'] / flops['CPU_CONFIG']:.0f} 倍")
RESULTS.update({"cpu_config_step_flops": flops["CPU_CONFIG"], "gpu_config_step_flops": flops["GPU_CONFIG"]})

# %% [markdown]
# ## 第 2 步：一个开关——`xp` 是 NumPy 还是 CuPy
#
# CuPy 的函数与 NumPy 同名同义，所以只要不写死 `np`，同一段代码就能在两种数组上运行。tinygrad_zh 的做法
# （来自 Chainer / DeZero）：每个运算先问输入数组“你是谁的”，
#
# ```python
# xp = backend.get_array_module(x)        # numpy、cupy，或测试用的严格替身设备的命名空间
# y = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
# ```
#
# 整个包只有 `backend.py` 一个文件 `import cupy`；没装 CuPy 的机器照样能用全部 CPU 功能。
#
# **怎样在没有 GPU 的机器上证明代码能上 GPU？** CuPy 比 NumPy“挑剔”：它不许把显存里的数组悄悄转成 NumPy 数组
# （`np.asarray(cupy_array)` 报 `TypeError`，必须显式地 `cupy.asnumpy`），也不许与 NumPy 数组混着算。
# 最常见的 bug 是在数据路径上随手写了 `np.*`：例如 dropout 的掩码用 `np.random.rand` 生成（它在主机内存里），
# 再去乘显存里的激活值——CPU 上一切正常，一上 GPU 就报错。
#
# tinygrad_zh 的测试用一个**严格替身设备** `device="strict"`：数组其实是 NumPy 数组外面套了一层壳，
# 这层壳像 CuPy 一样拒绝隐式转换、拒绝与 NumPy 数组混算，而且连 `np.exp(x)` 这类 NumPy 函数也一律拒绝，只认它自己的 `xp`。
# （它比 CuPy 还严：CuPy 通过 NumPy 的 `__array_ufunc__` / `__array_function__` 协议，会把 `np.exp(cupy_array)`
# 悄悄转交给 `cupy.exp`；但 `np.random`、`np.add.at` 之类没有这种转交，所以干脆一律不许，规矩最简单。）
# 运算、层和模型的测试都在 `"cpu"` 与 `"strict"` 上各跑一遍：在两者上都通过的代码，在 CPU 能判断的范围内也能在 CuPy 上跑。
# 替身设备定义在 `tinygrad_zh/testing/strict.py`，不属于后端本身：`import tinygrad_zh.testing` 时它通过
# `backend.register_device` 登记成设备 `"strict"`（本课开头导入了它）。
#
# 下面写三个“带 bug”的函数，每个都在数据路径上用了 `np`，看替身设备怎样当场抓住它们；
# 再把整个 GPT 搬到替身设备上做一次前向，损失与 CPU 上**逐位相同**（替身设备内部就是 NumPy）。

# %%
def softmax_xp(x):
    """正确写法：xp 跟着输入走。x 是任意设备上的数组。"""
    xp = backend.get_array_module(x)
    e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def softmax_np(x):
    """bug：直接用 np.exp 与 np.sum。"""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def dropout_np_mask(x, p=0.5):
    """bug：掩码用 np.random 在主机上生成，再乘设备上的数组。"""
    mask = np.random.default_rng(0).random(x.shape) >= p
    return x * mask / (1 - p)


def to_host_np_asarray(x):
    """bug：用 np.asarray 把设备上的数组“转”回主机（应当用 backend.to_numpy 或 Tensor.cpu()）。"""
    return np.asarray(x)


BUGGY = {"np.exp / np.sum": softmax_np, "np.random 掩码": dropout_np_mask, "np.asarray": to_host_np_asarray}


def try_on(fn, arr):
    """运行 fn(arr)：成功返回 ("ok", "")，出错返回 (异常类名, 消息的第一句)。"""
    try:
        fn(arr)
        return "ok", ""
    except Exception as e:  # noqa: BLE001  替身设备报 TypeError（StrictDeviceError 是它的子类）；GPU 上记下 CuPy 的实际结果
        return type(e).__name__, str(e).splitlines()[0].split("。")[0]


host = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
devices = ["cpu", "strict"] + (["cuda"] if DEVICE == "cuda" else [])
outs = {d: backend.to_numpy(softmax_xp(backend.to_device(host, d))) for d in devices}
modules = {d: backend.get_array_module(backend.to_device(host, d)) for d in devices}
print("get_array_module：" + "，".join(f"{d} → {xp.__name__ if isinstance(xp, types.ModuleType) else repr(xp)}"
                                       for d, xp in modules.items()))
diffs = {d: float(np.abs(outs[d] - outs["cpu"]).max()) for d in devices}
print("正确写法 softmax_xp 在各设备上与 cpu 的最大差：" + "，".join(f"{d} {v:.1e}" for d, v in diffs.items()))
caught = {}
for d in devices:
    caught[d] = {}
    for name, fn in BUGGY.items():
        kind, msg = try_on(fn, backend.to_device(host, d))
        caught[d][name] = kind
        shown = "正常运行" if kind == "ok" else f"{kind}：{msg}"
        print(f"[{d:>6}] {name:<16} → {shown}")
RESULTS.update({"softmax_device_diff": diffs, "caught": caught})

# %% [markdown]
# 再把整个模型搬到替身设备上做一次前向：损失与 CPU 上逐位相同。

# %%
cfg = GPTConfig(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=32)
tg.manual_seed(0)
model = GPT(cfg)
idx = tg.randint(0, 50, (2, 16))
tgt = tg.randint(0, 50, (2, 16))
with tg.no_grad():
    loss_cpu = model(idx, tgt)[1].item()
    model.to("strict")
    loss_strict = model(idx.to("strict"), tgt.to("strict"))[1].item()
print(f"GPT 在 cpu 上的损失 {loss_cpu:.7f}，整个模型 .to('strict') 之后 {loss_strict:.7f}（差 {loss_strict - loss_cpu}）")
RESULTS["strict_gpt_loss_diff"] = abs(loss_strict - loss_cpu)

# %% [markdown]
# ## 第 3 步：搬运张量和模型：`.to(device)`
#
# 与 PyTorch 相同，设备是字符串：`"cpu"`、`"cuda"`。
#
# ```python
# x = tg.randn(3, 4)              # 在主机内存里
# xd = x.to("cuda")               # 拷贝到显存，xd.device == "cuda"；x.cuda() 一样
# back = xd.cpu()                 # 拷回主机；只有 CPU 上的张量才能 .numpy()
# model.to("cuda")                # 原地把全部参数和缓冲区搬过去，返回 model 本身
# ```
#
# 几条规矩：
#
# - `model.to(device)` 只换参数的 `.data`，参数**对象**不变，所以先建优化器、后搬模型也没问题（同 PyTorch）；
#   但习惯上先搬模型再建优化器，Adam 的状态就直接建在显存里；
# - 一个运算的输入必须在同一设备上，否则报 `RuntimeError`，消息里写明两个设备——最常见的原因是忘了把批量搬过去；
# - `.to()` 是可微的：`x.to("cuda")` 的梯度会拷回 `x` 所在的设备；
# - `.numpy()` 只对 CPU 上的张量可用（同 PyTorch），GPU 上的要先 `.cpu()`；`.item()` 会自动拷回一个数。
#
# 没有 GPU 时，下面用替身设备 `"strict"` 走同样的代码路径（它的“拷贝”只是主机内存里的复制）。

# %%
target = DEVICE if DEVICE == "cuda" else "strict"
if DEVICE != "cuda":
    print("没有使用 GPU（DEVICE = 'cpu'）：下面用严格替身设备 'strict' 代替 'cuda'，代码路径完全相同")
tg.manual_seed(0)
x = tg.randn(3, 4, requires_grad=True)
xd = x.to(target)
(xd * 2).sum().backward()
print(f"x.device = {x.device!r} → x.to({target!r}).device = {xd.device!r}；xd.cpu().device = {xd.cpu().device!r}")
print(f"(x.to({target!r}) * 2).sum().backward() 之后 x.grad 在 {x.grad.device!r} 上，全是 {x.grad.cpu().numpy()[0, 0]}")
try:
    x + xd
    mix_error = None
except RuntimeError as e:
    mix_error = str(e)
print(f"cpu 张量 + {target} 张量 → RuntimeError：{mix_error}")
try:
    xd.detach().numpy()
    numpy_error = None
except TypeError as e:
    numpy_error = str(e)
print(f"{target} 张量 .numpy() → TypeError：{numpy_error}")

model = GPT(GPTConfig(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=32))
opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
first = opt.param_groups[0]["params"][0]
model.to(target)
model_devices = sorted({p.device for p in model.parameters()})
same_objects = first is opt.param_groups[0]["params"][0] and first.device == target
print(f"model.to({target!r})：{len(list(model.parameters()))} 个参数张量都在 {model_devices} 上；"
      f"优化器里的参数还是同一批对象：{same_objects}")
RESULTS.update({"target": target, "moved_device": xd.device, "grad_device": x.grad.device, "mix_error": mix_error,
                "numpy_error": numpy_error, "model_devices": model_devices, "optimizer_same_params": same_objects})

# %% [markdown]
# ## 第 4 步：主机↔设备拷贝的代价
#
# 数据要经 PCIe 总线在主机内存与显存之间来回，带宽只有显存的百分之一到几十分之一，每次拷贝还有约 10 微秒的固定延迟。
# 所以训练循环的规矩是：
#
# - **模型只搬一次**：参数、梯度、Adam 状态一直待在显存里；
# - **每步只搬一个小批量**：`get_batch` 在主机上取下标（NumPy 的随机数），把 `(B, T)` 的 int64 编号拷过去，
#   第 18 课的 GPU 配置每步是 2 × 64 × 256 × 8 字节 = 256 KiB；
# - **少把数拷回来**：`loss.item()` 只拷 4 个字节，但它要等 GPU 把这一步算完（同步）。
#   GPU 上的运算是**异步**发射的：Python 把一串 kernel 排进队列就往下走，GPU 在后面追；
#   每步都 `.item()` 就让 CPU 每步都停下来等，发射下一步的开销无法与 GPU 的计算重叠。
#   `tinygrad_zh.training.train` 为了在进度条上显示损失，每步调用一次，代价是一次同步；
#   对每步几十毫秒以上的模型这可以忽略，对很小的模型就不行了。
#
# 有 GPU 时下面实测拷贝带宽（`backend.to_device` 即 `cupy.asarray`，拷回是 `cupy.asnumpy`）；没有时给出估算。
# （主机上普通的“可分页”内存要先复制进一块锁页 (pinned) 缓冲区再传，锁页内存能快一些：见练习 4。）

# %%
d = config_dims(GPU_CONFIG)
batch_bytes = 2 * d["B"] * d["T"] * 8
model_bytes = 4 * n_params_formula(VOCAB, d["T"], d["C"], d["L"])
copy = None
print(f"GPU_CONFIG：每步的批量 x, y 共 {batch_bytes:,} 字节（{batch_bytes / 1024:.0f} KiB）；"
      f"模型参数 {model_bytes / 2 ** 20:.1f} MiB（float32）")
if DEVICE != "cuda":
    print("没有 GPU：不能实测主机↔显存的拷贝。按 PCIe 4.0 x16 约 "
          f"{ASSUMED_PCIE_GBPS} GB/s 估算：搬一次模型约 {model_bytes / ASSUMED_PCIE_GBPS / 1e6:.1f} ms，"
          f"每步的批量约 {batch_bytes / ASSUMED_PCIE_GBPS / 1e3 + 10:.0f} µs（含约 10 µs 的固定延迟）")
    print("代码路径：x_dev = tg.from_numpy(host).to('cuda')；拷回 x_dev.cpu()；计时前后都 tg.cuda.synchronize()")
else:
    rows = []
    for mib in ((1, 16) if QUICK else (1, 16, 256)):
        host = np.ones(mib * 2 ** 20 // 4, dtype=np.float32)
        dev = tg.from_numpy(host).to("cuda")
        _, t_h2d = timed(lambda: tg.from_numpy(host).to("cuda"), "cuda")
        _, t_d2h = timed(lambda: dev.cpu(), "cuda")
        rows.append({"mib": mib, "h2d_gbps": host.nbytes / t_h2d / 1e9, "d2h_gbps": host.nbytes / t_d2h / 1e9})
        print(f"{mib:>4} MiB：主机→显存 {rows[-1]['h2d_gbps']:6.1f} GB/s，显存→主机 {rows[-1]['d2h_gbps']:6.1f} GB/s")
    del dev
    one = tg.zeros(1, device="cuda")
    _, t_item = timed(lambda: one.item(), "cuda", repeat=20)
    print(f"一次 .item()（拷回 4 字节）：{t_item * 1e6:.0f} µs——小拷贝的代价几乎全是固定延迟")
    big = rows[-1]
    print(f"按实测带宽：搬一次模型 {model_bytes / big['h2d_gbps'] / 1e6:.2f} ms，"
          f"每步的批量 {batch_bytes / big['h2d_gbps'] / 1e3:.1f} µs（加上固定延迟）")
    copy = {"rows": rows, "item_us": t_item * 1e6}
RESULTS.update({"batch_bytes": batch_bytes, "model_bytes": model_bytes, "copy": copy})

# %% [markdown]
# ## 第 5 步：正确地计时
#
# ```python
# t0 = time.perf_counter()
# c = a @ b                       # GPU 上：只是把矩阵乘法排进队列，立刻返回
# t = time.perf_counter() - t0    # 量到的是“发射”的时间，不是计算的时间！
# ```
#
# CuPy 的每个运算都是异步的：函数返回时 GPU 可能还没开始算。正确的做法有两种：
#
# 1. 读时钟**之前**同步：`tg.cuda.synchronize()`（即 `cupy.cuda.Device().synchronize()`）等队列里的全部计算做完；
#    开始计时之前也同步一次，免得把前面排队的计算算到这次头上；
# 2. 用 CUDA 事件 (event)：在队列里插两个“时间戳”，由 GPU 自己记录：
#
#    ```python
#    start, end = cupy.cuda.Event(), cupy.cuda.Event()
#    start.record(); c = a @ b; end.record(); end.synchronize()
#    ms = cupy.cuda.get_elapsed_time(start, end)
#    ```
#
# 另外，**第一次**调用总是慢：要分配显存、加载 cuBLAS；CuPy 的按元素运算第一次用到时还要现场编译 kernel
# （编译结果缓存在 `~/.cupy/kernel_cache`）。所以计时前先预热，取多次里最快的一次——本课的 `timed` 就是这样做的。
# NumPy 是同步的，“朴素”计时在 CPU 上恰好是对的；但同一段计时代码要在两种设备上都对，就得带上同步。

# %%
timing_n = 4096 if DEVICE == "cuda" else (512 if QUICK else 1024)
tg.manual_seed(0)
a, b = tg.randn(timing_n, timing_n, device=DEVICE), tg.randn(timing_n, timing_n, device=DEVICE)
with tg.no_grad():
    first, best = timed(lambda: a @ b, DEVICE)
    sync(DEVICE)
    t0 = time.perf_counter()
    c = a @ b
    naive = time.perf_counter() - t0          # 朴素：没等 GPU 算完就读时钟
    sync(DEVICE)
    synced = time.perf_counter() - t0         # 同步之后再读
    event_ms = None
    if DEVICE == "cuda":
        cp = cupy_module()
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        c = a @ b
        end.record()
        end.synchronize()
        event_ms = cp.cuda.get_elapsed_time(start, end)
del a, b, c
print(f"{timing_n}×{timing_n} 矩阵乘法，设备 {DEVICE}：朴素计时 {naive * 1e3:.3f} ms，同步后 {synced * 1e3:.3f} ms"
      + (f"，CUDA 事件 {event_ms:.3f} ms" if event_ms is not None else ""))
if DEVICE == "cuda":
    print(f"朴素计时只量到了发射：比真实时间短 {synced / naive:.0f} 倍")
else:
    print("CPU 上 NumPy 是同步的，朴素计时与同步后相同；GPU 上朴素计时会短得离谱（有 GPU 时用 --device cuda 看）")
print(f"第一次调用 {first * 1e3:.2f} ms，预热后最快 {best * 1e3:.2f} ms")
RESULTS.update({"timing_n": timing_n, "naive_ms": naive * 1e3, "synced_ms": synced * 1e3, "event_ms": event_ms,
                "first_ms": first * 1e3, "best_ms": best * 1e3})

# %% [markdown]
# ## 第 6 步：显存池
#
# `cudaMalloc` / `cudaFree` 很慢，还会让 GPU 同步。CuPy 因此自带一个**显存池**：数组释放后，那块显存不还给驱动，
# 留在池里给下一个同样大小的数组用。训练时每一步分配、释放的数组形状都一样，第二步起几乎不再向驱动要显存。
#
# ```python
# pool = cupy.get_default_memory_pool()
# pool.used_bytes()     # 正被数组占用的字节
# pool.total_bytes()    # 池向驱动要来的全部字节（占用的 + 缓存着的空闲块）
# pool.free_all_blocks()  # 把空闲块还给驱动
# ```
#
# 所以 `nvidia-smi` 显示的占用是 `total_bytes()`（再加上 CUDA 上下文的几百 MB），比真正在用的多；
# 别的程序要显存时，先 `free_all_blocks()`。反过来，`total_bytes()` 只增不减这一点正好用来量峰值：
# 先 `free_all_blocks()`，跑一步训练，再看 `total_bytes()`，就是这一步里同时存在的数组最多占了多少（约数，
# 池按 512 字节取整，且不同大小的块不能互相借用）。
#
# 训练一步的显存 = **常驻的**（参数、梯度、Adam 的一阶矩与二阶矩：4 × N 个 float32 = 16N 字节）
# + **激活值**（前向时为反向存下的中间结果，随批量、上下文、宽度、层数增长；第 18 课细算）。
# CPU 上 NumPy 直接用系统的 `malloc`，没有这样的池；我们用 Python 的 `tracemalloc` 量峰值
# （NumPy 会把数组内存登记给它）。

# %%
def peak_bytes_of(fn, device):
    """运行 fn()，返回这期间数组内存的峰值比开始时多出的字节数（cuda：显存池；cpu：tracemalloc）。"""
    if device == "cuda":
        pool = cupy_module().get_default_memory_pool()
        sync(device)
        pool.free_all_blocks()
        before = pool.used_bytes()
        fn()
        sync(device)
        return pool.total_bytes() - before
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def make_step(cfg, batch_size, device, seed=0):
    """建模型与优化器（搬到 device）和一个随机批量，返回 (模型, 训练一步的函数)：前向、反向、梯度裁剪、AdamW。"""
    tg.manual_seed(seed)
    model = GPT(cfg).to(device)
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    rng = np.random.default_rng(seed)
    shape = (batch_size, cfg.block_size)
    x = tg.tensor(rng.integers(0, cfg.vocab_size, shape), device=device)
    y = tg.tensor(rng.integers(0, cfg.vocab_size, shape), device=device)

    def step():
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss
    return model, step


def dims_text(dims):
    return f"{dims['L']} 层、{dims['H']} 头、C = {dims['C']}、T = {dims['T']}、B = {dims['B']}"


def gpt_config(dims, V=VOCAB, dropout=0.0):
    """由 dict(L, H, C, T, B) 建 GPTConfig（批量大小 B 另外传给 make_step）。"""
    return GPTConfig(block_size=dims["T"], vocab_size=V, n_layer=dims["L"], n_head=dims["H"], n_embd=dims["C"],
                     dropout=dropout)


QUICK_DIMS = {"L": 2, "H": 2, "C": 64, "T": 64, "B": 16}   # 快速模式的小模型
FULL_DIMS = config_dims(CPU_CONFIG)                        # 完整模式：第 15 课的默认配置

dims = QUICK_DIMS if QUICK else FULL_DIMS
mem_model, mem_step = make_step(gpt_config(dims), dims["B"], DEVICE)
n_params = sum(p.numel() for p in mem_model.parameters())
mem_step()                                          # 第一步建好 Adam 的状态，之后才是“稳定”的一步
static = 16 * n_params
peak = peak_bytes_of(mem_step, DEVICE)
print(f"模型（{dims_text(dims)}，V = {VOCAB}）：参数 {n_params:,} 个；"
      f"常驻的参数 + 梯度 + Adam 两个矩 = 16N = {static / 2 ** 20:.2f} MiB")
print(f"一步训练里数组内存的峰值比开始时多 {peak / 2 ** 20:.2f} MiB（激活值、梯度与临时数组；"
      f"{'显存池 total_bytes' if DEVICE == 'cuda' else 'CPU 上用 tracemalloc 量'}）")
pool_info = None
if DEVICE == "cuda":
    cp = cupy_module()
    pool = cp.get_default_memory_pool()
    sync(DEVICE)
    used, total = pool.used_bytes(), pool.total_bytes()
    del mem_model, mem_step
    gc.collect()
    sync(DEVICE)
    used_after_del, total_after_del = pool.used_bytes(), pool.total_bytes()
    pool.free_all_blocks()
    total_after_free = pool.total_bytes()
    free_mem, total_mem = cp.cuda.Device().mem_info
    pool_info = {"used": used, "total": total, "used_after_del": used_after_del,
                 "total_after_del": total_after_del, "total_after_free": total_after_free,
                 "device_free": free_mem, "device_total": total_mem}
    mib = {k: v / 2 ** 20 for k, v in pool_info.items()}
    print(f"显存池：一步之后 used {mib['used']:.1f} MiB / total {mib['total']:.1f} MiB；"
          f"删掉模型后 used {mib['used_after_del']:.1f} / total {mib['total_after_del']:.1f}（空闲块还留在池里）；"
          f"free_all_blocks() 之后 total {mib['total_after_free']:.1f} MiB")
    print(f"整块 GPU：空闲 {free_mem / 2 ** 30:.1f} GiB / 共 {total_mem / 2 ** 30:.1f} GiB（cudaMemGetInfo）")
else:
    del mem_model, mem_step
    print("没有 GPU：显存池的演示需要 --device cuda。CPU 上 NumPy 用系统的 malloc，释放的内存直接还给系统。")
RESULTS.update({"mem_params": n_params, "static_bytes": static, "step_peak_bytes": peak, "pool": pool_info})

# %% [markdown]
# ## 第 7 步：GPT 训练一步的词元/秒：NumPy 对 CuPy
#
# 同一个模型、同一个批量、同一段代码（前向 → 交叉熵 → 反向 → 梯度裁剪 → AdamW），
# 只有 `.to(device)` 不同，分别在 CPU（NumPy）和 GPU（CuPy）上量一步的时间，换算成每秒处理的词元数：
# $\text{tokens/s} = B \cdot T / \text{每步秒数}$。完整模式用第 15 课的默认配置（4 层、128 维、上下文 64、批量 32）；
# 有 GPU 时再加一栏：第 18 课的 GPU 配置在 GPU 上的速度（CPU 上这个配置每步要几十秒，不量）。
#
# 为什么小模型上 GPU 的优势没有算力之比那么大？每个运算都要从 Python 发射一个（或几个）kernel，
# 一次发射约 5–20 微秒；小模型一步有上千个小运算，每个在 GPU 上只要几微秒，于是 GPU 多半时间在等 Python。
# 模型越大、批量越大，每个 kernel 的活越多，发射开销占比越小，GPU 的优势越明显。

# %%
def measure_tokens_per_s(dims, device, repeat):
    """在 device 上建 dims 的模型，量训练一步的时间（先预热、前后同步、取最快一次），换算成词元/秒。"""
    _, step = make_step(gpt_config(dims), dims["B"], device)
    first, best = timed(step, device, repeat=repeat)
    tokens = dims["B"] * dims["T"]
    return {"device": device, "first_s": first, "step_s": best, "tokens_per_s": tokens / best}


dims = QUICK_DIMS if QUICK else FULL_DIMS
flops = step_flops(dims)
repeat = 2 if QUICK else 3
bars = []
cpu = measure_tokens_per_s(dims, "cpu", repeat)
bars.append((label("NumPy（CPU）", "NumPy (CPU)"), cpu["tokens_per_s"]))
print(f"模型（{dims_text(dims)}，V = {VOCAB}）：每步 {dims['B'] * dims['T']} 个词元，约 {flops / 1e9:.2f} GFLOP")
print(f"NumPy（CPU）：第一步 {cpu['first_s']:.2f} 秒，之后每步 {cpu['step_s']:.3f} 秒 → "
      f"{cpu['tokens_per_s']:,.0f} 词元/秒，{flops / cpu['step_s'] / 1e9:.1f} GFLOP/s")
gpu = big = None
if DEVICE == "cuda":
    gpu = measure_tokens_per_s(dims, "cuda", repeat)
    bars.append((label("CuPy（GPU）", "CuPy (GPU)"), gpu["tokens_per_s"]))
    print(f"CuPy（GPU）：第一步 {gpu['first_s']:.2f} 秒，之后每步 {gpu['step_s'] * 1e3:.1f} ms → "
          f"{gpu['tokens_per_s']:,.0f} 词元/秒，{flops / gpu['step_s'] / 1e9:.1f} GFLOP/s；"
          f"是 CPU 的 {gpu['tokens_per_s'] / cpu['tokens_per_s']:.1f} 倍")
    if not QUICK:
        gdims = config_dims(GPU_CONFIG)
        big = measure_tokens_per_s(gdims, "cuda", repeat)
        bars.append((label("CuPy（GPU），GPU 配置", "CuPy (GPU), GPU config"), big["tokens_per_s"]))
        print(f"GPU 配置（{dims_text(gdims)}，dropout 0）在 GPU 上：每步 {big['step_s'] * 1e3:.0f} ms → "
              f"{big['tokens_per_s']:,.0f} 词元/秒，{step_flops(gdims) / big['step_s'] / 1e12:.2f} TFLOP/s")
else:
    print("没有 GPU（DEVICE = 'cpu'）：只有 NumPy 一栏。有 NVIDIA GPU 时运行 "
          "python lessons/17_gpu_cupy.py --device cuda 得到 CuPy 一栏与加速比。")
print(f"（对照第 1 步：这台设备的矩阵乘法能跑 {RESULTS['matmul_gflops']:,.0f} GFLOP/s）")
RESULTS.update({"tokens_dims": dims, "tokens_step_flops": flops, "numpy": cpu, "cupy": gpu, "cupy_gpu_config": big,
                "speedup": None if gpu is None else gpu["tokens_per_s"] / cpu["tokens_per_s"],
                "bars": [(name, float(v)) for name, v in bars]})

# %% [markdown]
# 画成柱状图（GPU 一栏可能高出上百倍，那时纵轴改用对数坐标）。


# %%
def plot_tokens_per_second(bars, dims, device):
    fig, ax = subplots(figsize=(6.5, 4.2))
    names = [b[0] for b in bars]
    values = [b[1] for b in bars]
    rects = ax.bar(range(len(bars)), values, color=[f"C{i}" for i in range(len(bars))], width=0.6)
    for r, v in zip(rects, values):
        ax.annotate(f"{v:,.0f}", (r.get_x() + r.get_width() / 2, v), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels(names)
    ax.set_xlim(-0.8, len(bars) - 0.2)
    if max(values) > 30 * min(values):      # GPU 一栏可能高出上百倍：用对数坐标，NumPy 一栏才看得见
        ax.set_yscale("log")
    ax.set_ylim(top=max(values) * (3 if ax.get_yscale() == "log" else 1.12))
    ax.set_ylabel(label("词元/秒（越高越快）", "tokens per second (higher is faster)"))
    ax.set_title(label(f"GPT 训练一步（{dims['L']} 层，C = {dims['C']}，T = {dims['T']}，B = {dims['B']}）",
                       f"GPT training step ({dims['L']} layers, C = {dims['C']}, T = {dims['T']}, B = {dims['B']})"))
    if device != "cuda":
        ax.text(0.98, 0.95, label("没有 GPU：只有 NumPy 一栏", "no GPU: NumPy only"), transform=ax.transAxes,
                ha="right", va="top", fontsize=9, color="C7")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


RESULTS["figures"] = [str(show(plot_tokens_per_second(bars, dims, DEVICE), "17_tokens_per_second.png"))]

# %% [markdown]
# ## 小结
#
# - GPU 的长处是海量并行的浮点运算和很高的显存带宽；短处是主机↔显存的拷贝（PCIe，比显存慢几十倍）
#   和每次从 Python 发射运算的固定开销；
# - 算术强度决定一个运算受算力还是受带宽限制：大矩阵乘法 $I = n/6$，按元素运算 $I = 1/12$；
#   GPT 一步约 $6N \cdot BT + 12BT^2CL$ 次浮点运算，大头是矩阵乘法；
# - 数据路径上只用 `xp = get_array_module(x)`，同一份代码跑在 NumPy 与 CuPy 上；严格替身设备 `"strict"`
#   在没有 GPU 的机器上抓出 `np.*`、`np.asarray`、主机上生成的掩码这类 bug；
# - `tensor.to(device)` / `model.to(device)` / `.cpu()`：模型搬一次，每步只搬小批量，少做 `.item()`；
# - GPU 上计时：开始和结束都同步（`tg.cuda.synchronize()`），或用 CUDA 事件；先预热、取最快的一次；
# - CuPy 的显存池缓存释放掉的显存：`used_bytes()` 是在用的，`total_bytes()` 是池占着的（`nvidia-smi` 看到的）；
#   训练的内存 = 常驻的 16N 字节 + 激活值。
#
# ## 练习
#
# 1. ★ 屋顶线：在你的设备上量 $n = 64, 128, \dots, 2048$（GPU 上到 8192）的矩阵乘法 GFLOP/s，画成随 $n$ 变化的曲线，
#    找出算力“饱和”的大小。再量 `a + b` 的带宽随数组大小的变化：数组小到能放进 CPU 缓存时会怎样？
# 2. ★ 在第 2 步再写一个带 bug 的函数：用 `np.add.at` 做嵌入层的反向（按下标累加梯度），看替身设备怎样报错；
#    再改成 `tinygrad_zh.backend.scatter_add`，在 `"cpu"` 与 `"strict"` 上都通过，并与 `np.add.at` 的结果对照。
# 3. ★★ 批量大小与 GPU 利用率：在 GPU 上把第 7 步的批量从 1 加到 256（上下文不变），画出词元/秒随批量的变化。
#    为什么批量小时 GPU 的词元/秒几乎与批量成正比？（提示：发射开销。）CPU 上呢？
# 4. ★★ 锁页内存：用 `cupyx.empty_pinned` 分配主机数组，比较它与普通 NumPy 数组拷到显存的带宽。
# 5. ★★★ 把 `loss.item()` 从每一步改成每 50 步一次（损失先留在显存里累加），在很小的模型上量训练速度的变化，
#    解释为什么 GPU 上有差别而 CPU 上几乎没有。
#
# 全部练习的答案见 `lessons/answers/17_gpu_cupy_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。运算量、参数个数与字节数与机器无关；
# 速度随机器与负载而变，只看数量级与比例。作为对照，`REFERENCE_2CORE` 记下了在一台 2 核 CPU
# （OpenBLAS 单线程，机器上同时还有别的程序）上见到的范围，下面的文字逐项与它比较。
#
# **GPU 上的数字**（`--device cuda`）：本课在没有 GPU 的机器上写成，CuPy 一栏、拷贝带宽、朴素计时与事件计时、
# 显存池的数字要在有 GPU 的机器上运行后才有；预期朴素计时比同步后短一两个数量级，
# 小模型的加速比远小于算力之比（发射开销），GPU 配置的词元/秒高得多。

# %%
REFERENCE_2CORE = {   # 2 核 CPU 上见到的范围：(低, 高)；峰值内存与运行时间是约数
    "matmul_gflops": (20, 80), "add_gbps": (2.5, 15), "ridge": (5, 9),
    "tokens_per_s": {True: (1400, 4800), False: (800, 1650)},
    "peak_mib": {True: 70, False: 222}, "seconds": {True: (5, 10), False: (30, 30)},
}


def versus(value, key, unit, fmt=",.1f"):
    """把本次的数与 2 核 CPU 上的范围比较，写成一句话。"""
    ref = REFERENCE_2CORE[key]
    lo, hi = ref[QUICK] if isinstance(ref, dict) else ref
    where = "在其中" if lo <= value <= hi else ("更高" if value > hi else "更低")
    return f"{value:{fmt}} {unit}（2 核 CPU 上约 {lo:{fmt}}–{hi:{fmt}}，本次{where}）"


R = RESULTS
cpu_d, gpu_d = config_dims(CPU_CONFIG), config_dims(GPU_CONFIG)
n_cpu = n_params_formula(VOCAB, cpu_d["T"], cpu_d["C"], cpu_d["L"]) - cpu_d["T"] * cpu_d["C"]
n_gpu = n_params_formula(VOCAB, gpu_d["T"], gpu_d["C"], gpu_d["L"]) - gpu_d["T"] * gpu_d["C"]
strict_caught = "，".join(f"`{k}` → `{v}`" for k, v in R["caught"]["strict"].items())
cpu_ok = all(v == "ok" for v in R["caught"]["cpu"].values())
tdims = R["tokens_dims"]
logits_mib = tdims["B"] * tdims["T"] * VOCAB * 4 / 2 ** 20
naive_vs = ("与同步后相同（NumPy 是同步的）" if DEVICE != "cuda"
            else f"只有同步后的 1/{R['synced_ms'] / R['naive_ms']:.0f}")
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 第 1 步：矩阵乘法（n = {R['matmul_n']}）{versus(R['matmul_gflops'], 'matmul_gflops', 'GFLOP/s')}，\
a + b 的带宽 {versus(R['add_gbps'], 'add_gbps', 'GB/s')}，脊点 {versus(R['ridge'], 'ridge', 'FLOP/字节')}；
  算术强度：矩阵乘法 n/6 = {R['intensity_matmul']:.0f}，加法 1/12；每步的运算量（V = {VOCAB}）：\
CPU_CONFIG 约 {R['cpu_config_step_flops'] / 1e9:,.1f} GFLOP（N = {n_cpu:,}，{cpu_d['B'] * cpu_d['T']:,} 个词元），
  GPU_CONFIG 约 {R['gpu_config_step_flops'] / 1e9:,.1f} GFLOP（N = {n_gpu:,}，{gpu_d['B'] * gpu_d['T']:,} 个词元），\
是前者的 {R['gpu_config_step_flops'] / R['cpu_config_step_flops']:.0f} 倍；
- 第 2 步：softmax_xp 与 cpu 的最大差 {R['softmax_device_diff']}；带 bug 的三个函数在 cpu 上\
{'都“正常运行”' if cpu_ok else '并不都能运行'}，在 strict 上：{strict_caught}；GPT 搬到 strict 上的损失差 {R['strict_gpt_loss_diff']}；
- 第 3 步：混用设备 → RuntimeError：{R['mix_error'].rstrip('。')}；梯度经 .to() 回到 {R['grad_device']!r}；\
model.to() 之后优化器里还是同一批参数对象：{R['optimizer_same_params']}；
- 第 4 步：GPU_CONFIG 的批量 {R['batch_bytes']:,} 字节（{R['batch_bytes'] / 1024:.0f} KiB），\
模型 {R['model_bytes'] / 2 ** 20:.1f} MiB；按 {ASSUMED_PCIE_GBPS} GB/s 估算搬模型约 {R['model_bytes'] / ASSUMED_PCIE_GBPS / 1e6:.1f} ms\
{'' if R['copy'] is None else f"；实测主机→显存 {R['copy']['rows'][-1]['h2d_gbps']:.1f} GB/s"}；
- 第 5 步：朴素计时 {R['naive_ms']:.3f} ms，{naive_vs}；
- 第 6 步：模型（{dims_text(tdims)}）参数 {R['mem_params']:,} 个，常驻 16N = {R['static_bytes'] / 2 ** 20:.2f} MiB，\
一步的峰值多 {R['step_peak_bytes'] / 2 ** 20:.0f} MiB（2 核 CPU 上约 {REFERENCE_2CORE['peak_mib'][QUICK]} MiB；\
其中 (B, T, V) 的 logits 与它的梯度各占 {logits_mib:.1f} MiB）；
- 第 7 步：NumPy {versus(R['numpy']['tokens_per_s'], 'tokens_per_s', '词元/秒', ',.0f')}，\
是第 1 步矩阵乘法速度的 {R['tokens_step_flops'] / R['numpy']['step_s'] / 1e9 / R['matmul_gflops']:.0%}（按元素的运算、Python 开销）\
{'' if R['speedup'] is None else f"；CuPy 是 NumPy 的 {R['speedup']:.1f} 倍"}；
- 图片：{'、'.join(R['figures'])}（{len(R['bars'])} 栏）。
运行时间（2 核 CPU）：{'快速模式约 5–10 秒' if QUICK else '完整模式约 30 秒'}。""")
