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
# # 第 10 课：初始化与规范化
#
# 原文（«AI大模型创业：如何利用国际优势？»） §3.1.2 说，初始化就是“在权重空间中随机分配初始值”。随机是对的，但**随机的尺度**决定了一个深网络能不能训练：
# 权重太小，信号一层层缩小到 0；太大，信号一层层放大到无穷，或者把 tanh 推进饱和区。这一课在一个 10 层的多层感知机上
# 逐层测量激活值 (activation) 和梯度的大小，把梯度消失 (vanishing gradients) 与梯度爆炸 (exploding gradients)
# 变成看得见的数字和直方图；然后推导 Xavier 与 He（Kaiming）初始化，最后看规范化 (normalization) 层怎样让网络
# 不再依赖初始化的尺度，并且手算批量规范化（BatchNorm）与层规范化（LayerNorm，亦称层归一化）各自沿哪个轴规范化。
#
# **学习目标**
#
# 1. 能推出“每层输出的方差 ≈ fan_in · Var(w) · E[x²]”，由此得到 Xavier 与 Kaiming 初始化的公式；
# 2. 会逐层测量激活值与梯度的标准差，认出梯度消失、梯度爆炸、tanh 饱和与 ReLU 信号衰减；
# 3. 知道 PyTorch（以及本框架）`nn.Linear` 的默认初始化在深的 ReLU 网络里会让信号衰减；
# 4. 能用张量运算手算批量规范化与层规范化，说清二者沿哪个轴求均值和方差、为什么批量规范化依赖同一批的其他样本；
# 5. 会在深网络里加 `nn.LayerNorm`，让一个本来训练不动的初始化也能训练。
#
# **前置知识**：第 07 课（多层感知机、激活函数、`nn.init`）、第 05 课（训练循环）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/10_init_normalization.py            # 完整模式（8 次训练，每次 300 步，约半分钟）
# python lessons/10_init_normalization.py --quick    # 快速模式：每次训练 30 步，几秒
# python lessons/10_init_normalization.py --device cuda
# jupytext --to notebook lessons/10_init_normalization.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处），在笔记本里直接显示。

# %% tags=["parameters"]
QUICK = False    # 快速模式：逐层统计用 128 张图、每次训练 30 步（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
import unicodedata

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import metrics, optim
from tinygrad_zh.data import DataLoader, TensorDataset, load_digits
from tinygrad_zh.lesson import lesson_args, progress, show
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

DEPTH = 10     # 10 个全连接层
WIDTH = 256    # 隐藏层宽 256


def pad(text, width):
    """按终端显示宽度补空格（中文字符占两列），让表格对齐。"""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, width - shown)


def fmt_row(values):
    return " ".join(f"{v:8.1e}" for v in values)


def key_of(cfg):
    """(act, init, layer_norm) → RESULTS 里用的键，如 "relu_kaiming"、"relu_small_ln"。"""
    return f"{cfg[0]}_{cfg[1]}" + ("_ln" if cfg[2] else "")


# %% [markdown]
# ## 第 1 步：方差怎样一层层传下去
#
# 看一个全连接层 $z_j = \sum_{i=1}^{n} w_{ji} x_i$（先不管偏置），$n$ 是扇入 (fan_in)。假设权重 $w$ 与输入 $x$ 相互独立、
# $w$ 的均值为 0，那么
#
# $$\operatorname{Var}(z_j) = n \cdot \operatorname{Var}(w) \cdot \mathbb{E}[x^2].$$
#
# 要让信号逐层既不放大也不缩小，就要 $n \cdot \operatorname{Var}(w) \cdot \mathbb{E}[x^2] \approx \operatorname{Var}(\text{上一层})$：
#
# - **线性或 tanh（在 0 附近近似线性）**：$\mathbb{E}[x^2] = \operatorname{Var}(x)$，需要 $\operatorname{Var}(w) = 1/n$。
#   Xavier（Glorot）初始化同时照顾反向传播（那里起作用的是扇出 fan_out），取折中
#   $\operatorname{Var}(w) = \text{gain}^2 \cdot \dfrac{2}{\text{fan\_in} + \text{fan\_out}}$；PyTorch 给 tanh 推荐 gain = 5/3，
#   补偿 tanh 对信号的压缩；
# - **ReLU**：负的一半被置 0，$\mathbb{E}[\mathrm{ReLU}(z)^2] = \tfrac12\operatorname{Var}(z)$，所以需要 $\operatorname{Var}(w) = 2/n$——
#   这就是 He（Kaiming）初始化：$w \sim \mathcal N(0, 2/\text{fan\_in})$，即 gain = $\sqrt 2$；
# - **取得太小**，例如 $w \sim \mathcal N(0, 0.01^2)$、$n = 256$：每层方差乘以 $256 \times 10^{-4} = 0.0256$，
#   标准差乘以 0.16，9 层之后缩小到约 $10^{-7}$；
# - **取得太大**，例如 $w \sim \mathcal N(0, 1)$：ReLU 网络每层标准差乘以 $\sqrt{256/2} \approx 11.3$，9 层之后约 $10^{9}$；
#   tanh 网络则几乎所有单元都被推到 ±1（饱和），导数 $1 - \tanh^2 \approx 0$；
# - **`nn.Linear` 的默认初始化**（与 PyTorch 相同）是 $U(-1/\sqrt n, 1/\sqrt n)$，方差 $1/(3n)$。对 ReLU，每层方差乘以
#   $\tfrac12 \cdot \tfrac13 = \tfrac16$——浅网络无所谓，10 层就不行了（下面会看到）。
#
# 反向传播时梯度也按同样的方式一层层乘上 $W^\top$ 和激活函数的导数，所以前向的信号一消失，反向的梯度也跟着消失。


# %% [markdown]
# ## 第 2 步：数据与一个 10 层的网络
#
# 数据是 8×8 手写数字，1297 张训练、500 张验证。输入按训练集的均值和标准差**标准化** (standardization)，
# 让第一层的输入本身方差约为 1——第 1 步的推导从这里开始。
#
# 网络：`Linear(64, 256)`，8 个 `Linear(256, 256)`，`Linear(256, 10)`，前 9 层之后接激活函数；可选地在每个隐藏的
# `Linear` 之后、激活函数之前加 `nn.LayerNorm(256)`。`init` 选择权重的初始化方式（偏置一律置 0，只有“默认”保留
# `nn.Linear` 自己的初始化）。


# %%
def load_data(device):
    X, y = load_digits()
    perm = np.random.default_rng(0).permutation(len(X))
    tr, va = perm[:1297], perm[1297:]
    mean, std = X[tr].mean(axis=0), X[tr].std(axis=0)
    std[std < 1e-6] = 1.0          # 有几个角上的像素在训练集里恒为 0：不除以 0
    Xs = ((X - mean) / std).astype(np.float32)
    return {"X_train": tg.tensor(Xs[tr], device=device), "y_train": tg.tensor(y[tr], device=device),
            "X_val": tg.tensor(Xs[va], device=device), "y_val": tg.tensor(y[va], device=device)}


INIT_NAMES = {"small": "N(0, 0.01²)", "large": "N(0, 1)", "xavier": "Xavier", "kaiming": "Kaiming",
              "default": ("默认", "default")}


def init_weight(w, act, init):
    """按 init 填充权重 w；"default" 什么也不做（保留 nn.Linear 自己的初始化）。"""
    if init == "small":
        nn.init.normal_(w, 0.0, 0.01)
    elif init == "large":
        nn.init.normal_(w, 0.0, 1.0)
    elif init == "xavier":
        # tanh 用 PyTorch 推荐的 gain = 5/3；ReLU 故意用不带 gain 的原始 Xavier（xavier_normal_ 的默认 gain = 1），
        # 看看“给 tanh 设计的公式用在 ReLU 上”会怎样
        nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh") if act == "tanh" else 1.0)
    elif init == "kaiming":
        nn.init.kaiming_normal_(w, nonlinearity="relu")


def init_name(init, for_plot=False):
    """初始化的名字：终端里总用中文；图里没有中文字体时换成英文。"""
    name = INIT_NAMES[init]
    if isinstance(name, tuple):
        return label(*name) if for_plot else name[0]
    return name


def deep_mlp(act, init, layer_norm=False, device="cpu"):
    """10 层的多层感知机。act: "tanh" | "relu"；init: INIT_NAMES 的键；layer_norm: 隐藏层的 Linear 之后加 LayerNorm。"""
    dims = [64] + [WIDTH] * (DEPTH - 1) + [10]
    layers = []
    for i in range(DEPTH):
        linear = nn.Linear(dims[i], dims[i + 1])
        if init != "default":
            init_weight(linear.weight, act, init)
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < DEPTH - 1:
            if layer_norm:
                layers.append(nn.LayerNorm(WIDTH))
            layers.append(nn.Tanh() if act == "tanh" else nn.ReLU())
    return nn.Sequential(*layers).to(device)


data = load_data(DEVICE)
x_train = data["X_train"]
RESULTS["input_mean"] = x_train.mean().item()
RESULTS["input_e_x2"] = (x_train * x_train).mean().item()
print(f"训练 {x_train.shape[0]} 张、验证 {data['X_val'].shape[0]} 张；标准化后输入的均值 {RESULTS['input_mean']:+.4f}，"
      f"E[x²] = {RESULTS['input_e_x2']:.4f}")
tg.manual_seed(0)
print(f"网络（ReLU + Kaiming）：{deep_mlp('relu', 'kaiming', device=DEVICE)}")


# %% [markdown]
# ## 第 3 步：逐层测量激活值与梯度
#
# 取 512 张训练图（快速模式 128 张），做一次前向传播，记下每个激活函数的输出；再对交叉熵损失做一次反向传播，记下每个 `Linear` 的权重梯度。
# 对每层报告：
#
# - 激活值的标准差 (std)；
# - tanh 网络：饱和单元（$|a| > 0.99$）的比例；ReLU 网络：输出恰为 0 的比例（健康时约一半）；
# - 权重梯度的标准差——这是优化器真正看到的东西。
#
# 比较七种组合：tanh 配太小 / 太大 / Xavier 初始化，ReLU 配 Xavier / Kaiming / 默认 / 太大的初始化。



# %%
CONFIGS = [("tanh", "small", False), ("tanh", "large", False), ("tanh", "xavier", False),
           ("relu", "xavier", False), ("relu", "kaiming", False), ("relu", "default", False),
           ("relu", "large", False)]


def config_name(act, init, layer_norm, for_plot=False):
    base = f"{'tanh' if act == 'tanh' else 'ReLU'} + {init_name(init, for_plot)}"
    return base + (" + LayerNorm" if layer_norm else "")


def layer_stats(model, x, y):
    """一次前向 + 反向：每个激活层输出的 std、饱和 / 为 0 的比例，每个 Linear 权重梯度的 std。"""
    acts, h = [], x
    for layer in model:
        h = layer(h)
        if isinstance(layer, (nn.Tanh, nn.ReLU)):
            acts.append((type(layer).__name__, h))
    loss = F.cross_entropy(h, y)
    model.zero_grad()
    loss.backward()
    act_std, special, values = [], [], []
    for kind, a in acts:
        arr = a.detach().cpu().numpy().astype(np.float64)
        act_std.append(float(arr.std()))
        special.append(float(np.mean(np.abs(arr) > 0.99)) if kind == "Tanh" else float(np.mean(arr == 0)))
        values.append(arr.ravel())
    grad_std = [float(layer.weight.grad.cpu().numpy().std()) for layer in model if isinstance(layer, nn.Linear)]
    return {"act_std": act_std, "special": special, "grad_std": grad_std, "loss": loss.item(), "values": values}


def measure(configs, x, y, device):
    """对每种组合用同一个种子建网络、测一次逐层统计量，并打印成三行一组的表。"""
    stats = {}
    for act, init, ln in configs:
        tg.manual_seed(0)
        s = layer_stats(deep_mlp(act, init, ln, device), x, y)
        stats[(act, init, ln)] = s
        kind = "饱和比例" if act == "tanh" else "为 0 比例"
        print(f"{config_name(act, init, ln)}（初始损失 {s['loss']:.3g}）")
        print(f"  激活值 std  {fmt_row(s['act_std'])}")
        print(f"  {kind}    " + " ".join(f"{v:8.2f}" for v in s["special"]))
        print(f"  权重梯度 std {fmt_row(s['grad_std'])}")
    return stats


n_stats = 128 if QUICK else 512
x_stats, y_stats = data["X_train"][:n_stats], data["y_train"][:n_stats]
print(f"{n_stats} 张训练图；激活值：第 1 … 9 个激活层；梯度：第 1 … 10 个 Linear")
stats = measure(CONFIGS, x_stats, y_stats, DEVICE)
RESULTS.update({
    "n_stats": n_stats,
    "act_std": {key_of(c): s["act_std"] for c, s in stats.items()},
    "grad_std": {key_of(c): s["grad_std"] for c, s in stats.items()},
    "special": {key_of(c): s["special"] for c, s in stats.items()},
    "initial_loss": {key_of(c): s["loss"] for c, s in stats.items()},
})

# %% [markdown]
# 把每层激活值的分布画成直方图：每行一种组合，每列一层。消失的信号挤向 0，饱和的 tanh 堆在 ±1 两端。


# %%
def plot_histograms(stats, configs):
    n_layers = DEPTH - 1
    fig, axes = subplots(len(configs), n_layers, figsize=(2.0 * n_layers, 1.6 * len(configs)))
    for row, cfg in enumerate(configs):
        s = stats[cfg]
        for col in range(n_layers):
            ax = axes[row, col]
            v = s["values"][col]
            if cfg[0] == "tanh":
                bins = np.linspace(-1, 1, 41)
            else:
                # ReLU：恰为 0 的那一半单独占一根柱子会压扁其余部分，只画正的部分；同一行用第 1 层定下的刻度，
                # 超出刻度的值堆在最右边那一格——信号衰减时挤向 0，爆炸时堆到右边界
                first = s["values"][0]
                hi = 1.5 * float(np.percentile(first[first > 0], 99.5))
                bins = np.linspace(0, hi, 41)
                v = np.clip(v[v > 0], 0, hi)
            counts, _ = np.histogram(v, bins=bins)
            # stairs 是一个图元，比 hist 的 40 个矩形快得多（这张图有 63 个子图）
            ax.stairs(counts, bins, fill=True, color="C0" if cfg[0] == "tanh" else "C3")
            ax.set_yticks([])
            ax.tick_params(axis="x", labelsize=6)
            ax.set_title(f"L{col + 1}  std={s['act_std'][col]:.1e}", fontsize=7)
            if col == 0:
                ax.set_ylabel(config_name(*cfg, for_plot=True), fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(label("每层激活值的直方图（行：激活函数 + 初始化；列：第 1 … 9 层）。ReLU 行只画正值，横轴沿用第 1 层的刻度，"
                       "超出的值堆在右边界",
                       "activation histograms per layer (rows: activation + init; columns: layers 1..9). ReLU rows: "
                       "positive values only, x range of layer 1, larger values piled at the right edge"), fontsize=10)
    fig.subplots_adjust(left=0.11, right=0.99, top=0.92, bottom=0.04, wspace=0.15, hspace=0.55)
    return fig


RESULTS["figure_histograms"] = str(show(plot_histograms(stats, CONFIGS), "10_activation_histograms.png", dpi=100))

# %% [markdown]
# 再把每层激活值与权重梯度的标准差画在对数坐标上（实线 ReLU，虚线 tanh）：水平的线才是健康的。


# %%
def plot_layer_std(stats, configs):
    fig, (ax1, ax2) = subplots(1, 2, figsize=(13, 4.6))
    for i, cfg in enumerate(configs):
        s = stats[cfg]
        style = "-" if cfg[0] == "relu" else "--"
        name = config_name(*cfg, for_plot=True)
        ax1.semilogy(range(1, DEPTH), s["act_std"], style, marker="o", ms=4, color=f"C{i}", label=name)
        ax2.semilogy(range(1, DEPTH + 1), s["grad_std"], style, marker="o", ms=4, color=f"C{i}", label=name)
    ax1.set_title(label("激活值的标准差", "std of activations"))
    ax1.set_xlabel(label("层", "layer"))
    ax2.set_title(label("权重梯度的标准差", "std of weight gradients"))
    ax2.set_xlabel(label("层（第 10 层是输出层）", "layer (10 = output layer)"))
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


RESULTS["figure_layer_std"] = str(show(plot_layer_std(stats, CONFIGS), "10_layer_std.png"))

# %% [markdown]
# 读数要点（对照上面的推导）：
#
# - **tanh + N(0, 0.01²)**：激活值 std 每层乘约 0.16，第 9 层只剩 $10^{-8}$ 量级；权重梯度也只有 $10^{-10}$——学不动；
# - **tanh + N(0, 1)**：七到九成的单元饱和（$|a| > 0.99$），直方图挤在 ±1 两端；梯度从输出往输入一层层放大
#   （第 1 层比第 9 层大约 7000 倍），同一个学习率对各层来说大小悬殊；
# - **tanh + Xavier（gain 5/3）**：各层 std 稳定在 0.6 左右，梯度也各层相近；
# - **ReLU + Xavier（gain 1）**：每层方差少一半，std 缓慢衰减（0.37 → 0.02）——对 ReLU 少了 $\sqrt2$；
# - **ReLU + Kaiming**：各层 std 稳定在 0.8 左右，约一半单元为 0，正是推导的结果（推导保持的是 $\mathbb{E}[a^2]$；
#   $\mathcal N(0, \sigma^2)$ 经过 ReLU 后的标准差约为 $0.58\sigma$，所以 std 不是 1）；
# - **ReLU + 默认初始化**：前几层迅速衰减，之后 std 停在偏置（$U(\pm 1/16)$）决定的水平，权重梯度只有 $10^{-6}$；
# - **ReLU + N(0, 1)**：每层放大约 11 倍，第 9 层到 $10^{9}$，损失是天文数字——梯度爆炸。



# %% [markdown]
# ## 第 4 步：手算批量规范化与层规范化——沿哪个轴？
#
# 与其小心翼翼地挑初始化，不如在网络里**主动**把每层的输出拉回均值 0、方差 1。两种最常用的做法只差一个轴：
#
# 对形状为 `(N, C)` 的一批数据（N 个样本，每个 C 个特征）：
#
# - **批量规范化**（batch normalization，BatchNorm）：对每个**特征**（每一列），在**批量**这一轴（`dim=0`，N 个样本）上求均值
#   和方差：$\mu_c = \frac1N\sum_n x_{nc}$，$\sigma_c^2 = \frac1N\sum_n (x_{nc} - \mu_c)^2$；
# - **层规范化**（layer normalization，LayerNorm，亦称层归一化）：对每个**样本**（每一行），在**特征**这一轴
#   （`dim=-1`，C 个特征）上求：$\mu_n = \frac1C\sum_c x_{nc}$，$\sigma_n^2 = \frac1C\sum_c (x_{nc} - \mu_n)^2$。
#
# 然后都是 $\hat x = (x - \mu)/\sqrt{\sigma^2 + \varepsilon}$，再乘可学习的 $\gamma$、加 $\beta$（初值 1 和 0）。注意方差是**有偏**的
# （除以 N 或 C，不是 N − 1）。
#
# 轴不同带来一个本质区别：BatchNorm 的输出依赖**同一批里的其他样本**。换掉批里的一个样本，其余样本的输出也会变；
# 批量大小为 1 时方差为 0，输出全是 0。所以 BatchNorm 在训练时用当前批的统计量，同时累积一个滑动平均
# （running mean / var），推断时改用它——`model.train()` 与 `model.eval()` 行为不同。LayerNorm 每个样本自己算，
# 训练与推断完全一样，也不在乎批量大小，所以 Transformer（第 14、15 课）都用它。
#
# 框架里有 `nn.LayerNorm`、`nn.BatchNorm1d`，以及卷积网络用的 `nn.BatchNorm2d`（它对每个通道在 `(N, H, W)` 上求统计量，
# 第 11 课第 8 步会用它）。这里先用张量运算手算 BatchNorm 的统计量。



# %%
def batch_norm_by_hand(x, eps=1e-5):
    """批量规范化（训练模式，γ = 1，β = 0）：每个特征在批量维 dim=0 上求均值与有偏方差。"""
    mean = x.mean(dim=0, keepdim=True)
    var = x.var(dim=0, unbiased=False, keepdim=True)
    return (x - mean) / (var + eps).sqrt()


def layer_norm_by_hand(x, eps=1e-5):
    """层规范化（γ = 1，β = 0）：每个样本在特征维 dim=-1 上求均值与有偏方差。"""
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, unbiased=False, keepdim=True)
    return (x - mean) / (var + eps).sqrt()


def print_matrix(name, t, nd):
    print(f"{name} =")
    for row in t.tolist():
        print("  [" + ", ".join(f"{v:{nd + 5}.{nd}f}" for v in row) + "]")


def rounded(t, nd):
    return [round(float(v), nd) + 0.0 for v in t.tolist()]   # + 0.0 把 −0.0 变成 0.0


# 三个特征的量级差很多（像“身高 / 体重 / 收入”），便于看出两种规范化的差别；形状 (N, C) = (4, 3)
X_ROWS = [[1.0, 10.0, 100.0],
          [2.0, 20.0, 300.0],
          [3.0, 30.0, 200.0],
          [4.0, 60.0, 400.0]]
x = tg.tensor(X_ROWS, device=DEVICE)
bn = batch_norm_by_hand(x)
ln = layer_norm_by_hand(x)
print_matrix("x", x, 1)
print(f"BatchNorm：每列的均值 {rounded(x.mean(dim=0), 3)}，有偏方差 {rounded(x.var(dim=0, unbiased=False), 3)}")
print_matrix("BN(x)", bn, 4)
print(f"BN(x) 每列的均值 {rounded(bn.mean(dim=0), 6)}，每列的有偏标准差 {rounded(bn.std(dim=0, unbiased=False), 4)}")
print(f"LayerNorm：每行的均值 {rounded(x.mean(dim=1), 3)}，有偏方差 {rounded(x.var(dim=1, unbiased=False), 3)}")
print_matrix("LN(x)", ln, 4)
print(f"LN(x) 每行的均值 {rounded(ln.mean(dim=1), 6)}，每行的有偏标准差 {rounded(ln.std(dim=1, unbiased=False), 4)}")
RESULTS.update({"bn": bn.tolist(), "ln": ln.tolist()})

# %% [markdown]
# 下面这一格核对手算的 LayerNorm 与框架的 `F.layer_norm`、`nn.LayerNorm` 一致，再看“依赖同一批的其他样本”是什么意思：
# 换掉批里的最后一个样本，BN 的前三行跟着变，LN 的前三行不变；批量大小为 1 时 BN 只剩 0。

# %%
layer = nn.LayerNorm(3).to(DEVICE)
with tg.no_grad():
    diff_f = (F.layer_norm(x, (3,)) - ln).abs().max().item()
    diff_m = (layer(x) - ln).abs().max().item()
print(f"手算 LN 与 F.layer_norm 的最大差 {diff_f:.1e}，与 nn.LayerNorm(3) 的最大差 {diff_m:.1e}")

x2 = tg.cat([x[:3], tg.tensor([[40.0, 0.0, -100.0]], device=DEVICE)], dim=0)
bn_change = (batch_norm_by_hand(x2)[:3] - bn[:3]).abs().max().item()
ln_change = (layer_norm_by_hand(x2)[:3] - ln[:3]).abs().max().item()
print(f"换掉第 4 个样本后，前 3 个样本输出的最大变化：BN {bn_change:.4f}，LN {ln_change:.1e}")
single = batch_norm_by_hand(x[:1])
print(f"批量大小为 1 时 BN(x[:1]) = {rounded(single[0], 4)}（方差为 0，只剩 0）；"
      f"LN(x[:1]) = {rounded(layer_norm_by_hand(x[:1])[0], 4)}")
RESULTS.update({"ln_vs_functional": diff_f, "ln_vs_module": diff_m, "bn_batch_dependence": bn_change,
                "ln_batch_dependence": ln_change, "bn_single": single.tolist()})

# %% [markdown]
# 画出来：左边是输入（按对数着色），中间 BatchNorm 按列（黑框）规范化，右边 LayerNorm 按行规范化。


# %%
def plot_bn_vs_ln(x_rows, bn, ln):
    fig, axes = subplots(1, 3, figsize=(12, 3.6))
    from matplotlib.patches import Rectangle
    panels = [(np.array(x_rows), ("输入 x（N = 4 个样本 × C = 3 个特征）", "input x (N = 4 samples x C = 3 features)"), "{:.0f}"),
              (np.array(bn), ("BatchNorm：每列（dim=0）均值 0、方差 1", "BatchNorm: each column (dim=0) -> mean 0, var 1"),
               "{:+.2f}"),
              (np.array(ln), ("LayerNorm：每行（dim=-1）均值 0、方差 1", "LayerNorm: each row (dim=-1) -> mean 0, var 1"),
               "{:+.2f}")]
    for k, (ax, (m, title, fmt)) in enumerate(zip(axes, panels)):
        shown = m if k else np.log10(m)   # 输入跨三个数量级：按对数着色
        ax.imshow(shown, cmap="coolwarm" if k else "viridis", aspect="auto")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                dark = k == 0 and shown[i, j] < 1.5      # viridis 的深色格子上用白字
                ax.text(j, i, fmt.format(m[i, j]), ha="center", va="center", fontsize=9,
                        color="white" if dark else "black")
        ax.set_xticks(range(3))
        ax.set_xticklabels([label(f"特征 {j}", f"feature {j}") for j in range(3)])
        ax.set_yticks(range(4))
        ax.set_yticklabels([label(f"样本 {i}", f"sample {i}") for i in range(4)])
        ax.set_title(label(*title), fontsize=9)
        if k == 1:
            for j in range(3):
                ax.add_patch(Rectangle((j - 0.45, -0.45), 0.9, 3.9, fill=False, ec="black", lw=1.5))
        if k == 2:
            for i in range(4):
                ax.add_patch(Rectangle((-0.45, i - 0.45), 2.9, 0.9, fill=False, ec="black", lw=1.5))
    fig.tight_layout()
    return fig


RESULTS["figure_bn_vs_ln"] = str(show(plot_bn_vs_ln(X_ROWS, RESULTS["bn"], RESULTS["ln"]), "10_bn_vs_ln.png"))

# %% [markdown]
# ## 第 5 步：训练——初始化决定能不能学，LayerNorm 把坏的初始化救回来
#
# 每种组合都从同一个种子出发，用 `optim.SGD(lr=0.01, momentum=0.9)`、批量大小 64 训练同样的步数，比较最后 20 步的
# 平均训练损失和验证准确率。初始损失应在 $\ln 10 \approx 2.303$ 附近（十个类等概率）；一直停在那里就是没学到东西。
#
# 最后两组在每个隐藏的 `Linear` 后加了 `nn.LayerNorm(256)`：不管权重的尺度多小或多大，规范化之后每层的输入都回到
# 均值 0、方差 1，反向传播时 LayerNorm 的导数里有 $1/\sigma$，也把梯度按同样的比例放大或缩小回来。
# 先看它加入后各层的统计量，再训练。


# %%
LN_CONFIGS = [("relu", "small", False), ("relu", "small", True), ("tanh", "large", True)]
print(f"加了 LayerNorm 之后的逐层统计量（{n_stats} 张训练图；激活值：第 1 … 9 个激活层；梯度：第 1 … 10 个 Linear）")
ln_stats = measure(LN_CONFIGS, x_stats, y_stats, DEVICE)
for c, s in ln_stats.items():
    RESULTS["act_std"][key_of(c)] = s["act_std"]
    RESULTS["grad_std"][key_of(c)] = s["grad_std"]
    RESULTS["initial_loss"][key_of(c)] = s["loss"]

# %% [markdown]
# 下面这一格训练八种组合（完整模式每种 300 步，快速模式 30 步），每种一根进度条。

# %%
TRAIN_CONFIGS = [("tanh", "small", False), ("tanh", "large", False), ("tanh", "xavier", False),
                 ("relu", "default", False), ("relu", "kaiming", False),
                 ("relu", "small", False), ("relu", "small", True), ("tanh", "large", True)]


def forever(loader):
    """一轮接一轮地取小批量。"""
    while True:
        yield from loader


def train(data, act, init, layer_norm, steps, device):
    tg.manual_seed(0)
    model = deep_mlp(act, init, layer_norm, device)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = DataLoader(TensorDataset(data["X_train"], data["y_train"]), batch_size=64, shuffle=True)
    losses = []
    name = config_name(act, init, layer_norm)
    bar = progress(range(steps), desc=name, unit="step", leave=False)
    model.train()
    for _, (xb, yb) in zip(bar, forever(loader)):
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    model.eval()
    with tg.no_grad():
        acc = metrics.accuracy(model(data["X_val"]), data["y_val"])
    return {"name": name, "plot_name": config_name(act, init, layer_norm, for_plot=True), "losses": losses,
            "val_acc": acc, "first_loss": losses[0], "final_loss": float(np.mean(losses[-20:]))}


train_steps = 30 if QUICK else 300
print(f"训练 {train_steps} 步（SGD，lr = 0.01，momentum = 0.9，批量 64）")
runs = {}
for cfg in TRAIN_CONFIGS:
    r = train(data, *cfg, train_steps, DEVICE)
    runs[cfg] = r
    print(f"{pad(r['name'], 32)}第 1 步损失 {r['first_loss']:8.3f}   最后 20 步平均 {r['final_loss']:.4f}   "
          f"验证准确率 {r['val_acc']:.3f}")
RESULTS.update({
    "train_steps": train_steps,
    "train_first_loss": {key_of(c): r["first_loss"] for c, r in runs.items()},
    "train_final_loss": {key_of(c): r["final_loss"] for c, r in runs.items()},
    "val_acc": {key_of(c): r["val_acc"] for c, r in runs.items()},
})

# %% [markdown]
# 训练损失（20 步滑动平均，对数坐标）：点线是加了 LayerNorm 的两组，灰线是 $\ln 10$。


# %%
def plot_training(runs, steps):
    fig, ax = subplots(figsize=(11, 4.8))
    for i, (cfg, r) in enumerate(runs.items()):
        losses = np.array(r["losses"])
        # 对 20 步取滑动平均：小批量的损失很抖
        k = min(20, len(losses))
        smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
        ax.semilogy(np.arange(k, len(losses) + 1), smooth, ":" if cfg[2] else ("-" if cfg[0] == "relu" else "--"),
                    lw=2.5 if cfg[2] else 1.5, color=f"C{i}",
                    label=label(f"{r['plot_name']}（验证 {r['val_acc']:.2f}）", f"{r['plot_name']} (val {r['val_acc']:.2f})"))
    ax.set_xlim(0, steps)
    ax.axhline(math.log(10), color="gray", lw=0.8)
    ax.text(steps, math.log(10), " ln 10", va="center", color="gray", fontsize=8)
    ax.set_ylim(1e-3, 30)   # 对数纵轴：既看得见 tanh + N(0, 1) 的 20 多，也看得见 0.001
    ax.set_xlabel(label("步", "step"))
    ax.set_ylabel(label("训练损失（20 步滑动平均，对数坐标）", "training loss (20-step moving average, log scale)"))
    ax.set_title(label("10 层网络：初始化决定能不能学；LayerNorm（点线）救回坏的初始化",
                       "10-layer MLP: the init decides; LayerNorm (dotted) rescues a bad init"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.08, 0.5))   # 放在图外：图里每个角都有曲线
    fig.tight_layout()
    return fig


RESULTS["figure_training"] = str(show(plot_training(runs, train_steps), "10_training.png"))
RESULTS["figures"] = [RESULTS[k] for k in ("figure_histograms", "figure_layer_std", "figure_bn_vs_ln",
                                           "figure_training")]

# %% [markdown]
# 训练结果的读法：太小的初始化（不论 tanh 还是 ReLU）与默认初始化的损失一直停在 ln 10，验证准确率只有 0.08 上下，就是
# 永远猜同一个类；tanh + N(0, 1) 在饱和区里挣扎；Xavier（tanh）与 Kaiming（ReLU）很快学好。加了 LayerNorm 的两个坏初始化
# 都能学了，但比好的初始化慢一些、验证准确率也低一些：规范化让网络“能训练”，并不免除选一个合适初始化的必要。


# %% [markdown]
# ## 小结
#
# - 每层输出的方差 ≈ fan_in · Var(w) · E[x²]：初始化的尺度一层层相乘，深网络里差一点就是指数级的差别；
# - Xavier：$\operatorname{Var}(w) = \text{gain}^2 \cdot 2/(\text{fan\_in} + \text{fan\_out})$（tanh 的 gain 为 5/3）；
#   Kaiming：$\operatorname{Var}(w) = 2/\text{fan\_in}$（给 ReLU）；`nn.init.calculate_gain` 给出各激活函数的 gain；
# - 权重太小 → 激活值和梯度一起消失；太大 → ReLU 网络爆炸、tanh 网络饱和；`nn.Linear` 的默认初始化对深的 ReLU 网络偏小；
# - BatchNorm 在批量维（每个特征跨样本）上规范化，依赖同一批的其他样本，训练与推断行为不同；LayerNorm 在特征维
#   （每个样本自己）上规范化，与批量无关；
# - 在每层后加规范化，网络就不再依赖初始化的精确尺度。
#
# ## 练习
#
# 1. ★ 用第 1 步的公式预测：ReLU 网络、权重 $\mathcal N(0, \sigma^2)$、宽 256 时，$\sigma$ 取多少能让各层激活值的 std 保持不变？
#    用 `deep_mlp` 配 `nn.init.normal_` 验证（比较 $\sigma$ 取预测值的 0.5、1、2 倍时第 9 层的 std）。
# 2. ★ 对第 4 步的 `x`，手算 `BN(x)` 第 0 列的值（均值 2.5、有偏方差 1.25），再说明为什么把 `x` 的第 1 列整体乘以 1000，
#    `BN(x)` 一点不变，而 `LN(x)` 会变。用代码验证。
# 3. ★★ 把网络加深到 30 层，重做第 3 步。Kaiming 还稳吗？tanh + Xavier 呢？
# 4. ★★ 写一个 `ManualBatchNorm1d(nn.Module)`：训练时用批统计量并更新 running mean / var（动量 0.1，running_var 用无偏估计，
#    同 PyTorch），`eval()` 时用 running 统计量。把它放进“ReLU + N(0, 0.01²)”的网络里训练，与 LayerNorm 比较。
# 5. ★★★ 推导 LayerNorm 的反向传播：$\partial L/\partial x$ 用 $\hat x$、$\sigma$ 和 $\partial L/\partial \hat x$ 表示，
#    并用 `tinygrad_zh.testing.gradcheck` 验证你手写的版本。
#
# 全部练习的答案：`lessons/answers/10_init_normalization_answers.py`。
#

# %% [markdown]
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。完整模式：逐层统计用 512 张图，每次训练 300 步；
# 快速模式：128 张图、30 步。“另一种模式”的数来自 `REFERENCE`：两种模式各一次真实运行（2 核 CPU）记下的数，
# 测试核对快速模式那一份与真实运行一致。tanh + N(0, 1) 在饱和区里乱跳，它的损失对舍入极其敏感，不同机器上可能差好几；
# ReLU + N(0, 0.01²) + LayerNorm 30 步时还在起步，验证准确率也会差几个百分点；训练用 float32，矩阵乘法的舍入在不同的机器
# （BLAS 库）上可能不同，300 步之后 Kaiming 与 LayerNorm 几组的末位数字也可能略有出入。
#
# 图片：`10_activation_histograms.png`、`10_layer_std.png`、`10_bn_vs_ln.png`、`10_training.png`。
# 运行时间（2 核 CPU）：完整模式约 30 秒，快速模式约 10 秒（大半花在画 63 个子图的直方图和导入 scikit-learn 上）。

# %%
REFERENCE = {"full": {"n_stats": 512,
          "train_steps": 300,
          "train_first_loss": {"tanh_small": 2.303,
                               "tanh_large": 21.179,
                               "tanh_xavier": 3.438,
                               "relu_default": 2.308,
                               "relu_kaiming": 2.965,
                               "relu_small": 2.303,
                               "relu_small_ln": 2.311,
                               "tanh_large_ln": 15.778},
          "train_final_loss": {"tanh_small": 2.301,
                               "tanh_large": 5.2895,
                               "tanh_xavier": 0.0017,
                               "relu_default": 2.3023,
                               "relu_kaiming": 0.0012,
                               "relu_small": 2.301,
                               "relu_small_ln": 0.1658,
                               "tanh_large_ln": 0.0013},
          "val_acc": {"tanh_small": 0.078,
                      "tanh_large": 0.334,
                      "tanh_xavier": 0.976,
                      "relu_default": 0.078,
                      "relu_kaiming": 0.98,
                      "relu_small": 0.078,
                      "relu_small_ln": 0.962,
                      "tanh_large_ln": 0.874},
          "act_std": {"tanh_small": [0.0765, 3.24e-08],
                      "tanh_large": [0.94, 0.974],
                      "tanh_xavier": [0.604, 0.653],
                      "relu_xavier": [0.373, 0.0218],
                      "relu_kaiming": [0.834, 0.781],
                      "relu_default": [0.346, 0.0242],
                      "relu_large": [4.72, 1190000000.0],
                      "relu_small": [0.0472, 1.19e-09],
                      "relu_small_ln": [0.584, 0.58],
                      "tanh_large_ln": [0.628, 0.629]},
          "grad_std": {"tanh_small": [6.88e-10, 3.75e-10, 1.9e-09],
                       "tanh_large": [83.5, 0.0107, 0.024],
                       "tanh_xavier": [0.0172, 0.00981, 0.0348],
                       "relu_xavier": [0.000279, 0.000166, 0.000555],
                       "relu_kaiming": [0.00524, 0.0215, 0.105],
                       "relu_default": [1.81e-06, 2.62e-05, 0.000289],
                       "relu_large": [20400000.0, 69700000.0, 337000000.0],
                       "relu_small": [1.38e-11, 6.34e-12, 2.91e-11],
                       "relu_small_ln": [0.0071, 0.0035, 0.0152],
                       "tanh_large_ln": [0.0164, 0.00759, 0.0389]}},
 "quick": {"n_stats": 128,
           "train_steps": 30,
           "train_first_loss": {"tanh_small": 2.303,
                                "tanh_large": 21.179,
                                "tanh_xavier": 3.438,
                                "relu_default": 2.308,
                                "relu_kaiming": 2.965,
                                "relu_small": 2.303,
                                "relu_small_ln": 2.311,
                                "tanh_large_ln": 15.778},
           "train_final_loss": {"tanh_small": 2.3026,
                                "tanh_large": 16.847,
                                "tanh_xavier": 0.2161,
                                "relu_default": 2.3045,
                                "relu_kaiming": 0.8684,
                                "relu_small": 2.3026,
                                "relu_small_ln": 1.0385,
                                "tanh_large_ln": 1.8034},
           "val_acc": {"tanh_small": 0.078,
                       "tanh_large": 0.206,
                       "tanh_xavier": 0.95,
                       "relu_default": 0.082,
                       "relu_kaiming": 0.894,
                       "relu_small": 0.078,
                       "relu_small_ln": 0.354,
                       "tanh_large_ln": 0.786},
           "act_std": {"tanh_small": [0.0753, 3.23e-08],
                       "tanh_large": [0.938, 0.974],
                       "tanh_xavier": [0.6, 0.654],
                       "relu_xavier": [0.363, 0.0217],
                       "relu_kaiming": [0.811, 0.776],
                       "relu_default": [0.337, 0.0242],
                       "relu_large": [4.59, 1180000000.0],
                       "relu_small": [0.0459, 1.18e-09],
                       "relu_small_ln": [0.585, 0.582],
                       "tanh_large_ln": [0.626, 0.629]},
           "grad_std": {"tanh_small": [7.24e-10, 3.9e-10, 1.99e-09],
                        "tanh_large": [148.0, 0.02, 0.0377],
                        "tanh_xavier": [0.0232, 0.011, 0.0386],
                        "relu_xavier": [0.000384, 0.000215, 0.00076],
                        "relu_kaiming": [0.00737, 0.0205, 0.101],
                        "relu_default": [2.23e-06, 3.06e-05, 0.000352],
                        "relu_large": [28400000.0, 68700000.0, 332000000.0],
                        "relu_small": [1.9e-11, 8.38e-12, 4.1e-11],
                        "relu_small_ln": [0.00994, 0.00394, 0.0167],
                        "tanh_large_ln": [0.0217, 0.00869, 0.044]}}}

R = RESULTS
other_mode = "full" if QUICK else "quick"
other = REFERENCE[other_mode]
other_name = "完整模式" if QUICK else "快速模式"
names = {key_of(c): config_name(*c) for c in CONFIGS + LN_CONFIGS}
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'；逐层统计用 {R['n_stats']} 张图，每次训练 {R['train_steps']} 步）。
与模式无关：标准化后输入的均值 {round(R['input_mean'], 4) + 0.0:.4f}、E[x²] = {R['input_e_x2']:.4f}；
BN 与 LN 的手算结果（BN(x) 第 0 行 [{', '.join(f'{v:.4f}' for v in R['bn'][0])}]，LN(x) 第 0 行 [{', '.join(f'{v:.4f}' for v in R['ln'][0])}]；\
每列 / 每行均值 0、有偏标准差 1）；
手算 LN 与 F.layer_norm、nn.LayerNorm 的最大差 {max(R['ln_vs_functional'], R['ln_vs_module']):.1e}；\
换掉第 4 个样本后前 3 个样本的输出最大变化 BN {R['bn_batch_dependence']:.4f}、LN {R['ln_batch_dependence']:.2g}；\
批量大小为 1 时 BN 输出 {[round(v, 4) + 0.0 for v in R['bn_single'][0]]}。
""")
print(f"逐层统计（本次运行；最后两列是{other_name}（{other['n_stats']} 张图）的参考值）：")
print(pad("组合", 32) + pad("初始损失", 11) + pad("第 1 → 9 层激活值 std", 24) + pad("饱和 / 为 0 比例", 18)
      + pad("第 1 / 9 / 10 层权重梯度 std", 30) + pad(f"{other_name}激活值", 22) + f"{other_name}梯度")
for key, name in names.items():
    a, g, sp = R["act_std"][key], R["grad_std"][key], R["special"].get(key)
    print(pad(name, 32) + pad(f"{R['initial_loss'][key]:.3g}", 11) + pad(f"{a[0]:.2g} → {a[-1]:.2g}", 24)
          + pad(f"{sp[0]:.2f} → {sp[-1]:.2f}" if sp else "—", 18)
          + pad(" / ".join(f"{g[i]:.2g}" for i in (0, 8, 9)), 30)
          + pad(" → ".join(f"{v:.2g}" for v in other["act_std"][key]), 22)
          + " / ".join(f"{v:.2g}" for v in other["grad_std"][key]))

print(f"\n训练（第 1 步损失；最后 20 步平均损失；验证准确率）。本次 {R['train_steps']} 步；"
      f"最后一列是{other_name} {other['train_steps']} 步的参考值：")
for cfg in TRAIN_CONFIGS:
    key = key_of(cfg)
    print(pad(names[key], 32) + pad(f"{R['train_first_loss'][key]:.3f}；{R['train_final_loss'][key]:.4f}；"
                                    f"{R['val_acc'][key]:.3f}", 28)
          + f"{other['train_first_loss'][key]:.3f}；{other['train_final_loss'][key]:.4f}；{other['val_acc'][key]:.3f}")

stuck = [k for k, v in R["train_final_loss"].items() if abs(v - math.log(10)) < 0.01]
good = max(R["val_acc"][k] for k in ("tanh_xavier", "relu_kaiming"))
rescued = {k: R["val_acc"][k] for k in ("relu_small_ln", "tanh_large_ln")}
print(f"""
- 停在 ln 10 = {math.log(10):.4f} 附近（差不到 0.01）的：{'、'.join(names[k] for k in stuck)}，\
验证准确率 {'、'.join(f"{R['val_acc'][k]:.3f}" for k in stuck)}；
- 加了 LayerNorm 的两个坏初始化：验证准确率 {'、'.join(f"{names[k]} {v:.3f}" for k, v in rescued.items())}，\
{"都低于" if max(rescued.values()) < good else "不都低于"}好的初始化中最好的 {good:.3f}；
- 图片：{'、'.join(R['figures'])}。""")
