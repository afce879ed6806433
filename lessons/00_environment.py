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
# # 第 00 课：环境与约定
#
# **学习目标**
#
# - 知道 tinygrad_zh 是什么、由哪几部分组成，能把它装好；
# - 会用 `tinygrad_zh.lesson.doctor()` 检查环境；
# - 会用 `tg.manual_seed` 固定随机种子 (random seed)，让每次运行得到相同的数；
# - 记住默认数据类型 (dtype) 的规则：Python 浮点数 → float32，NumPy 数组保持原来的 dtype；
# - 知道设备 (device) 的写法 `"cpu"` / `"cuda"`，以及怎样判断 GPU 是否可用；
# - 知道课程的图片存在哪里，以及没有中文字体时图中文字会怎样。
#
# **前置知识**：会在命令行里运行 Python 脚本；听说过 NumPy。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# pip install -e ".[lessons]"                 # 第一次：以可编辑模式安装框架和画图依赖
# python lessons/00_environment.py            # 完整模式
# python lessons/00_environment.py --quick    # 快速模式（测试用）
# python lessons/00_environment.py --device cuda   # 有 NVIDIA GPU 并装了 CuPy 时
# jupytext --to notebook lessons/00_environment.py  # 转成笔记本 (notebook)，再用 Jupyter 打开逐个单元运行
# ```
#
# 本文件是 jupytext 的 "percent" 格式：`# %%` 开始一个代码单元，`# %% [markdown]` 开始一个文字单元。
# 它既能直接用 `python` 运行，也能用 `jupytext --to notebook` 转成 Jupyter 笔记本。
# 所有课程都按同一个约定来写（`tinygrad_zh/lesson.py` 开头有完整说明）：
#
# - 第一个代码单元是**参数单元**：`QUICK`（快速模式）和 `DEVICE`（设备）。在笔记本里直接改它们；
#   用脚本运行时，命令行的 `--quick`、`--device cuda` 会覆盖它们，环境变量 `TINYGRAD_ZH_QUICK=1`、
#   `TINYGRAD_ZH_DEVICE=cpu` 也可以（CI 就是这样执行笔记本的）；
# - 每一步的代码紧跟在它的讲解下面，结果就打印在那里；后面的单元直接用前面单元算出的变量，
#   所以在笔记本里要**从上往下**依次运行；
# - 课程正文和测试要用的数都放进字典 `RESULTS`，最后的「参考结果」由它生成。

# %% tags=["parameters"]
QUICK = False    # 快速模式：少量步数、小数据（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"


# %%
import os
import platform

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.lesson import doctor, lesson_args, output_dir, show
from tinygrad_zh.viz import label, matplotlib_available, setup_font, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖上面两个值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）
print(f"第 00 课：环境与约定（Python {platform.python_version()}）")

# %% [markdown]
# ## 第 1 步：tinygrad_zh 是什么
#
# tinygrad_zh 是一个**教学用**的深度学习框架：代码量小、每一行都能读懂，API 与 PyTorch 同名。
# 它由三层组成：
#
# 1. **张量 (Tensor)**：`tensor.py`。张量里装着一块数组 `.data`（CPU 上是 NumPy 数组，GPU 上是 CuPy 数组），
#    还有自动微分要用的 `.grad`、`.requires_grad`、`.grad_fn`。
# 2. **可微运算 (Function)**：`ops/` 目录。每个运算写一个 `forward`（前向传播 (forward propagation)）
#    和一个 `backward`（给出局部导数）。
# 3. **自动微分 (automatic differentiation, autograd) 引擎**：`autograd/engine.py`。它记下计算图 (computational graph)，
#    调用 `y.backward()` 时沿图反向走一遍，用链式法则 (chain rule) 把梯度 (gradient) 算出来。
#    `docs/architecture.md` 画出了这几层谁可以导入谁，以及 `loss.backward()` 一路经过哪些文件。
#
# 后面的课程在这三层之上一点点搭出神经网络、优化器，直到一个能写中文的 GPT。
#
# 安装只需要一行（在仓库根目录）：`pip install -e ".[lessons]"`。`-e` 表示“可编辑安装”：
# 你改了 `tinygrad_zh/` 里的代码，不用重新安装就能生效；`[lessons]` 会顺带装上画图用的 matplotlib、进度条 tqdm，
# 以及把课程转成笔记本并执行的 jupytext、ipykernel 等。
# 有 GPU 的同学再装 `pip install -e ".[gpu]"`（即 CuPy）。

# %%
print(f"tinygrad_zh 版本 {tg.__version__}，安装位置 {os.path.dirname(tg.__file__)}")
x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x * x).sum()          # y = x₁² + x₂² + x₃²
y.backward()               # 反向传播：dy/dx = 2x
print(f"一个最小的例子：y = sum(x²)，x = {x.tolist()}，y = {y.item()}，dy/dx = {x.grad.tolist()}")
RESULTS["version"] = tg.__version__
RESULTS["first_grad"] = x.grad.tolist()

# %% [markdown]
# ## 第 2 步：用 doctor() 检查环境
#
# `tinygrad_zh.lesson.doctor()` 打印 Python、NumPy 的版本，CuPy / GPU 是否可用，matplotlib 是否安装，
# 以及有没有找到中文字体。遇到问题先运行它，把输出贴在提问里，别人一眼就能看出你的环境。
# 命令行里也可以用 `python -c "from tinygrad_zh.lesson import doctor; doctor()"`。

# %%
RESULTS["doctor"] = doctor()

# %% [markdown]
# ## 第 3 步：随机种子与可复现性
#
# 神经网络的初始化、数据打乱、dropout 都用到随机数。为了让每次运行得到**同样的**结果（便于调试、便于对照课程里的
# 参考结果），我们在开头固定随机种子 (random seed)：
#
# ```python
# tg.manual_seed(0)
# ```
#
# tinygrad_zh 的随机数先在主机上用 NumPy 的生成器 `numpy.random.default_rng(seed)` 产生，再搬到目标设备，
# 所以**同一个种子在 CPU 和 GPU 上给出相同的数**（PyTorch 的 CPU 与 GPU 各有一套生成器，给出的数不同）。
#
# 需要一条独立的随机数流时（例如数据打乱不想影响参数初始化），用 `tg.Generator().manual_seed(种子)`，
# 再把它传给 `tg.randn(..., generator=g)`。课程里自己生成数据时，用的是 NumPy 的 `np.random.default_rng(种子)`：
# 它和 tinygrad_zh 的全局种子互不影响。
#
# 注意：可复现指的是“同样的代码、同样的库版本、同样的设备”。换了 NumPy 版本或设备，
# 浮点运算的顺序可能不同，最后几位小数可能变化。

# %%
tg.manual_seed(0)
a = tg.randn(3, device=DEVICE)
tg.manual_seed(0)
b = tg.randn(3, device=DEVICE)
same = bool((a == b).all())
print(f"manual_seed(0) 后 randn(3)：{[round(v, 4) for v in a.tolist()]}")
print(f"再设一次种子 0：            {[round(v, 4) for v in b.tolist()]}  完全相同：{same}")
c = tg.randn(3, device=DEVICE)   # 不重设种子：接着往下取，数就不同了
print(f"不重设种子，再取一次：      {[round(v, 4) for v in c.tolist()]}")

g = tg.Generator().manual_seed(123)  # 独立的生成器，不影响全局种子
d = tg.randn(2, generator=g, device=DEVICE)
print(f"独立生成器 Generator(123)：{[round(v, 4) for v in d.tolist()]}")
RESULTS["randn_seed0"] = [round(v, 4) for v in a.tolist()]
RESULTS["seed_reproducible"] = same
RESULTS["generator123"] = [round(v, 4) for v in d.tolist()]

# %% [markdown]
# ## 第 4 步：默认数据类型
#
# 规则与 PyTorch 相同：
#
# | 创建方式 | 得到的 dtype |
# |---|---|
# | Python 浮点数 / 浮点列表：`tg.tensor(1.5)` | float32 |
# | Python 整数：`tg.tensor([1, 2])` | int64 |
# | NumPy 数组：`tg.tensor(np.array([1.5]))` | **保持数组自己的 dtype**（NumPy 默认 float64） |
# | 显式指定：`tg.tensor(1.5, dtype=tg.float64)` | float64 |
#
# 为什么默认 float32？它占的内存是 float64 的一半，GPU 上快得多，而且对训练神经网络已经足够准。
# 只有在做梯度检验 (gradient check) 这种对精度要求很高的事情时，我们才换成 float64（第 01、03 课会看到原因）。
#
# 两种浮点类型相遇时，结果提升 (promote) 成更宽的 float64；而 Python 数字不会改变张量的 dtype：
# `float32 张量 * 2.0` 仍是 float32。这一点很重要：不小心混进一个 float64 的 NumPy 数组，
# 整个模型就会悄悄变成 float64，变慢一倍。

# %%
cases = {
    "tg.tensor(1.5)": tg.tensor(1.5, device=DEVICE),
    "tg.tensor([1, 2])": tg.tensor([1, 2], device=DEVICE),
    "tg.tensor(np.array([1.5]))": tg.tensor(np.array([1.5]), device=DEVICE),
    "tg.tensor(np.array([1.5], dtype=np.float32))": tg.tensor(np.array([1.5], dtype=np.float32), device=DEVICE),
    "tg.tensor(1.5, dtype=tg.float64)": tg.tensor(1.5, dtype=tg.float64, device=DEVICE),
}
for text, t in cases.items():
    print(f"{text:<46} → {t.dtype}")
f32 = tg.tensor([1.0], device=DEVICE)
f64 = tg.tensor(np.array([1.0]), device=DEVICE)
print(f"float32 张量 * 2.0          → {(f32 * 2.0).dtype}（Python 数字不改变 dtype）")
print(f"float32 张量 + float64 张量 → {(f32 + f64).dtype}（提升成更宽的类型）")
print(f"默认浮点类型 tg.get_default_dtype() = {tg.get_default_dtype()}")
RESULTS["dtypes"] = {text: str(t.dtype) for text, t in cases.items()}
RESULTS["dtype_promoted"] = str((f32 + f64).dtype)

# %% [markdown]
# ## 第 5 步：设备
#
# 设备 (device) 用字符串表示，写法同 PyTorch：`"cpu"` 或 `"cuda"`。
#
# - `tg.cuda.is_available()`：有 NVIDIA GPU 并且 CuPy 能用时为 True。没有 GPU 时它只返回 False，不会报错；
# - 创建时指定：`tg.tensor([1.0], device="cuda")`；搬运：`x.to("cuda")`、`x.cuda()`、`x.cpu()`；
# - 一个运算的输入必须在同一设备上，否则会得到一个说明两边设备的清楚错误；
# - 想把 GPU 上的结果画图或打印成 NumPy，先 `.detach().cpu().numpy()`。
#
# 每节课开头的参数单元里都有 `DEVICE`，命令行用 `--device cuda` 选择 GPU。
# 课程代码只用张量的运算，不直接对张量数据调用 `np.*`，所以同一份代码在 CPU 和 GPU 上都能跑。

# %%
available = tg.cuda.is_available()
print(f"tg.cuda.is_available() = {available}")
x = tg.tensor([1.0, 2.0, 3.0], device=DEVICE)
print(f"本课使用的设备 DEVICE = '{DEVICE}'，x.device = '{x.device}'")
host = x.cpu().numpy()  # 画图、保存前先搬回主机
print(f"x.cpu().numpy() 得到 {type(host).__module__}.{type(host).__name__}：{host}")
if not available:
    print("没有可用的 GPU：所有课程都能在 CPU 上完成，只是大模型训练会慢一些。")
RESULTS["cuda_available"] = available

# %% [markdown]
# ## 第 6 步：图片放在哪里
#
# 课程生成的图片都存进 `tinygrad_zh.lesson.output_dir()`，默认是仓库里的 `lessons/output/`（已被 git 忽略）。
# 想存到别处，设环境变量 `TINYGRAD_ZH_OUTPUT`，例如 `TINYGRAD_ZH_OUTPUT=/tmp/figs python lessons/00_environment.py`。
#
# 课程里画好一张图后调用 `show(fig, "文件名.png")`：它把图存进输出目录并打印路径；
# 在 Jupyter 里还会把图直接显示在这个单元下面。

# %%
out = output_dir()
print(f"output_dir() = {out}")
print(f"环境变量 TINYGRAD_ZH_OUTPUT = {os.environ.get('TINYGRAD_ZH_OUTPUT', '（未设置，用默认目录）')}")

# %% [markdown]
# ## 第 7 步：中文字体与测试图
#
# matplotlib 自带的字体里没有汉字。`tinygrad_zh.viz.setup_font()` 做两件事：
#
# 1. 没有显示器、也不在 Jupyter 里时改用不需要窗口的 Agg 后端 (backend)，在服务器上也能存图；
# 2. 在系统字体里寻找一个中文字体（Noto Sans CJK SC、文泉驿、黑体……），找到就用它。
#
# 图里的文字一律写成 `label("中文", "English")`：有中文字体时显示中文，没有时显示英文，
# 这样图里永远不会出现一排方块“□□□”。想看中文图，可以安装字体，例如 Ubuntu 上
# `sudo apt install fonts-noto-cjk`，然后删除 matplotlib 的字体缓存 `~/.cache/matplotlib`。
#
# 下面画一张测试图：用 tinygrad_zh 计算 tanh 和 sigmoid 函数，图的标题、坐标轴、图例都通过 `label` 给出。
# 画图从 `tinygrad_zh.viz.subplots(...)` 开始（它先调用 `setup_font()`，再调用 `plt.subplots`）。


# %%
def plot_test_curves(xs, curves, has_cjk):
    """画测试图：每条曲线一个图例，标题与坐标轴用 label(中文, 英文)。"""
    fig, ax = subplots(figsize=(6, 4))
    for (zh, en), ys in curves.items():
        ax.plot(xs, ys, label=label(zh, en))
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_title(label("测试图：中文标签", "Test plot: Chinese labels fall back to English"))
    ax.set_xlabel(label("输入 x", "input x"))
    ax.set_ylabel(label("输出", "output"))
    ax.text(0.02, 0.95, label("中文字体：已找到", "CJK font: not found"), transform=ax.transAxes,
            va="top", fontsize=9, color="dimgray")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


if matplotlib_available():
    has_cjk = setup_font()
    print(f"找到中文字体：{has_cjk}" + ("" if has_cjk else "（图中标签改用英文）"))
    n = 41 if QUICK else 201
    x = tg.tensor(np.linspace(-4.0, 4.0, n), dtype=tg.float32, device=DEVICE)
    curves = {("双曲正切 tanh", "tanh"): x.tanh(), ("sigmoid 函数", "sigmoid"): x.sigmoid()}
    fig = plot_test_curves(x.cpu().numpy(), {k: v.detach().cpu().numpy() for k, v in curves.items()}, has_cjk)
    RESULTS["figure"] = str(show(fig, "00_test_plot.png"))
else:
    print('没有安装 matplotlib，跳过测试图。请在仓库根目录运行：pip install -e ".[lessons]"')
    RESULTS["figure"] = None

# %% [markdown]
# ## 小结
#
# - tinygrad_zh = 张量 + 可微运算 (Function) + 自动微分引擎，API 与 PyTorch 同名；
# - `pip install -e ".[lessons]"` 安装，`doctor()` 检查环境；
# - `tg.manual_seed(0)` 让随机数可复现，同一种子在 CPU 与 GPU 上给出相同的数；
# - Python 浮点数 → float32，NumPy 数组保持自己的 dtype（常常是 float64，要当心）；
# - 设备写成 `"cpu"` / `"cuda"`，`tg.cuda.is_available()` 判断 GPU；画图前 `.detach().cpu().numpy()`；
# - 图片存在 `output_dir()`，图中文字用 `label(中文, 英文)`，没有中文字体时自动退回英文。
#
# ## 练习
#
# 1. ★ 把种子换成 42，连续两次 `tg.manual_seed(42); tg.randn(3)`，确认结果相同；
#    再用 `tg.Generator().manual_seed(42)` 生成 3 个数，它和全局种子 42 给出的数一样吗？为什么？
# 2. ★ 预测下面每个张量的 dtype，再运行验证：`tg.tensor(np.arange(3))`、`tg.tensor(np.arange(3)) / 2`、
#    `tg.tensor([1.0]) + tg.tensor(np.ones(1))`、`tg.tensor(np.ones(1, dtype=np.float32)) * 3`。
# 3. ★★ 用环境变量 `TINYGRAD_ZH_OUTPUT` 把本课的图存到 `/tmp/tg_figs`，并确认 `lessons/output/` 里没有新文件。
# 4. ★★★ 如果你有 GPU：在 `device="cuda"` 上重复第 3 步，验证同一种子在 CPU 和 GPU 上给出逐位相同的数；
#    再读 `tinygrad_zh/creation.py` 里的 `randn`，解释为什么能做到这一点，代价又是什么。
#
# 全部练习的答案见 `lessons/answers/00_environment_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。完整模式与快速模式给出相同的数，
# 快速模式只是测试图上的点更少。

# %%
dt = RESULTS["dtypes"]
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- y = sum(x²) 在 x = [1, 2, 3] 处的梯度：{RESULTS['first_grad']}；
- tg.manual_seed(0); tg.randn(3) → {RESULTS['randn_seed0']}，重设种子后完全相同：{RESULTS['seed_reproducible']}；
- tg.Generator().manual_seed(123) 的 randn(2) → {RESULTS['generator123']}；
- dtype：tg.tensor(1.5) → {dt['tg.tensor(1.5)']}，tg.tensor([1, 2]) → {dt['tg.tensor([1, 2])']}，\
tg.tensor(np.array([1.5])) → {dt['tg.tensor(np.array([1.5]))']}，float32 + float64 → {RESULTS['dtype_promoted']}；
- tg.cuda.is_available() → {RESULTS['cuda_available']}（没有 GPU 的机器上是 False）；
- 图片：{RESULTS['figure'] or '（没有安装 matplotlib，未生成）'}（没有中文字体时标签是英文）。""")
