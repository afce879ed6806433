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
# # 第 07 课：多层感知机与激活函数
#
# 第 06 课的线性分类器在螺旋上只有约 0.54 的准确率：它的决策区域只能是凸的。
# 这一课在输入和输出之间加上**隐藏层** (hidden layer) 和**激活函数** (activation function)，
# 得到多层感知机 (multilayer perceptron, MLP)，它能画出任意弯曲的边界。我们会：
# 比较四个常用激活函数和它们的导数（导数用 `backward()` 算出）、纠正原文（«AI大模型创业：如何利用国际优势？»）关于 tanh 的一句错话、
# 看清“为什么一定要有非线性”、在螺旋和 8×8 手写数字上训练 MLP，最后把模型存盘再读回来。
#
# **学习目标**
#
# 1. 会写 sigmoid、tanh、ReLU、GELU 的公式和导数，知道各自的取值范围、导数的最大值，以及这对训练意味着什么；
# 2. 知道输出层该用什么：多分类用 softmax，二分类用 sigmoid；tanh 是隐藏层的激活函数（原文 §4.1.1 在这里写错了）；
# 3. 能证明并用数字验证：没有激活函数时，多个线性层叠起来仍是一个线性层；
# 4. 会用 `nn.Sequential` 搭 MLP，知道 PyTorch 的默认初始化和 `nn.init`，知道为什么不能把权重全初始化成同一个数；
# 5. 会用 `tg.save(model.state_dict(), path)` 保存、`model.load_state_dict(tg.load(path))` 读回，并验证预测完全相同。
#
# **前置知识**：第 05 课（训练循环）、第 06 课（softmax、交叉熵、准确率、决策区域）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/07_mlp_activations.py            # 完整模式（半分钟左右，带进度条）
# python lessons/07_mlp_activations.py --quick    # 快速模式：训练轮数少，几秒内跑完每一步
# python lessons/07_mlp_activations.py --device cuda
# jupytext --to notebook lessons/07_mlp_activations.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 图片和模型文件保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处），图在笔记本里直接显示在代码下面。

# %% tags=["parameters"]
QUICK = False    # 快速模式：训练轮数少（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, TensorDataset, load_digits, make_spiral
from tinygrad_zh.lesson import lesson_args, output_dir, progress, show
from tinygrad_zh.metrics import accuracy, confusion_matrix
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "ReLU": nn.ReLU, "GELU": nn.GELU}


def fmt(values, nd=4):
    return "[" + ", ".join(f"{v:+.{nd}f}" for v in values) + "]"

# %% [markdown]
# ## 第 1 步：四个激活函数和它们的导数
#
# | 名字 | 公式 $f(x)$ | 导数 $f'(x)$ | 值域 | $f'$ 的最大值 |
# |---|---|---|---|---|
# | sigmoid 函数 | $\sigma(x) = \dfrac{1}{1 + e^{-x}}$ | $\sigma(x)\,(1 - \sigma(x))$ | $(0, 1)$ | 0.25（在 0 处） |
# | tanh 函数（双曲正切） | $\tanh x = \dfrac{e^{x} - e^{-x}}{e^{x} + e^{-x}}$ | $1 - \tanh^2 x$ | $(-1, 1)$ | 1（在 0 处） |
# | ReLU（修正线性单元） | $\max(x, 0)$ | $1$（$x > 0$），$0$（$x \le 0$） | $[0, \infty)$ | 1 |
# | GELU（高斯误差线性单元） | $x\,\Phi(x)$ | $\Phi(x) + x\,\varphi(x)$ | $\approx[-0.17, \infty)$ | 约 1.13（在 $x = \sqrt2$ 处） |
#
# $\Phi$、$\varphi$ 是标准正态分布的累积分布函数和密度。几点观察：
#
# - sigmoid 的导数最大只有 0.25：梯度每穿过一层 sigmoid 都要乘一个不超过 0.25 的数（不算权重），十层就是 $0.25^{10} \approx 10^{-6}$——
#   这就是梯度消失 (vanishing gradient)，第 10 课细讲。$|x|$ 大时 sigmoid 和 tanh 都“饱和”，导数趋于 0；
# - tanh 就是放大平移过的 sigmoid：$\tanh x = 2\sigma(2x) - 1$，但它以 0 为中心，导数最大为 1；
# - ReLU 在正半轴导数恒为 1，不会饱和，计算也最便宜，是隐藏层的默认选择；代价是负半轴导数为 0，
#   一个单元如果对所有样本都输出 0，就再也得不到梯度（“死亡 ReLU”）。$x = 0$ 处导数取 0，与 PyTorch 相同；
# - GELU 是平滑版的 ReLU，负半轴有一个小坑（最小值约 −0.17），GPT 系列的前馈网络都用它（第 15 课）。
#
# 导数我们不手写：把 401 个点放进一个 `requires_grad=True` 的张量，`f(x).sum().backward()`，`x.grad` 就是每个点的导数
# （每个输出只依赖自己那个输入，第 01 课第 9 步的技巧），再与上表的公式对照。

# %%
def normal_cdf(x):
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def normal_pdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


FORMULAS = {   # 上表的公式，用 NumPy 写：只用来核对 backward()
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda x: (1 / (1 + np.exp(-x))) * (1 - 1 / (1 + np.exp(-x)))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "ReLU": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(x.dtype)),
    "GELU": (lambda x: x * normal_cdf(x), lambda x: normal_cdf(x) + x * normal_pdf(x)),
}

grid = np.linspace(-4.0, 4.0, 401)
curves = {}
for name, layer in ACTIVATIONS.items():
    x = tg.tensor(grid, dtype=tg.float64, device=DEVICE, requires_grad=True)   # float64：与公式比到 1e-12
    y = layer()(x)
    y.sum().backward()
    value, deriv = y.detach().cpu().numpy(), x.grad.cpu().numpy()
    f, df = FORMULAS[name]
    err = max(np.abs(value - f(grid)).max(), np.abs(deriv - df(grid)).max())
    curves[name] = {"value": value, "deriv": deriv, "max_err": float(err), "max_deriv": float(deriv.max())}
points = [-2.0, -1.0, 0.0, 1.0, 2.0]
idx = [int(np.argmin(np.abs(grid - p))) for p in points]
print(f"x          = {fmt(points)}")
for name, c in curves.items():
    print(f"{name:<7} f  = {fmt(c['value'][idx])}")
    print(f"{'':<7} f' = {fmt(c['deriv'][idx])}，f' 的最大值 {c['max_deriv']:.4f}，与公式的最大差 {c['max_err']:.1e}")
gelu = curves["GELU"]["value"]
x32 = tg.tensor(grid.astype(np.float32), device=DEVICE)
gelu_tanh_gap = (F.gelu(x32) - F.gelu(x32, approximate="tanh")).abs().max().item()
print(f"GELU 的最小值 {gelu.min():.4f}（在 x = {grid[gelu.argmin()]:.2f} 附近）；"
      f"精确 GELU 与 tanh 近似 (approximate='tanh') 的最大差 {gelu_tanh_gap:.1e}")
RESULTS.update({"act_max_err": max(c["max_err"] for c in curves.values()),
                "max_deriv": {k: c["max_deriv"] for k, c in curves.items()},
                "deriv_at_points": {k: c["deriv"][idx].tolist() for k, c in curves.items()},
                "gelu_min": float(gelu.min()), "gelu_argmin": float(grid[gelu.argmin()]),
                "gelu_tanh_gap": gelu_tanh_gap})

# %% [markdown]
# 下一格把四个激活函数（左）和 `backward()` 算出的导数（右）画在一起。


# %%
def plot_activations(grid, curves):
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11, 4.2))
    for i, (name, c) in enumerate(curves.items()):
        ax1.plot(grid, c["value"], color=f"C{i}", lw=1.8, label=name)
        ax2.plot(grid, c["deriv"], color=f"C{i}", lw=1.8, label=name)
    for ax in (ax1, ax2):
        ax.axhline(0, color="gray", lw=0.6)
        ax.axvline(0, color="gray", lw=0.6)
        ax.grid(alpha=0.3)
        ax.set_xlabel("x")
        ax.legend()
    ax1.set_ylim(-1.5, 3)
    ax1.set_title(label("激活函数 f(x)", "activation functions f(x)"))
    ax2.axhline(0.25, color="C0", ls=":", lw=0.8)
    ax2.text(-4, 0.27, label("sigmoid′ ≤ 0.25", "sigmoid′ ≤ 0.25"), color="C0", fontsize=8)
    ax2.set_ylim(-0.3, 1.3)
    ax2.set_title(label("导数 f′(x)（由 backward() 算出）", "derivatives f′(x) (computed by backward())"))
    fig.tight_layout()
    return fig


RESULTS["figure_activations"] = str(show(plot_activations(grid, curves), "07_activations.png"))

# %% [markdown]
# ## 第 2 步：勘误——tanh 不是“多分类”的激活函数
#
# 原文 §4.1.1 写道：“Tanh 函数将输入 x 映射到 (−1, 1) 区间，**常用于多分类问题**。”这是错的。
#
# 多分类的输出层要给出一个**概率分布**：每一项非负，加起来等于 1，然后才能取对数算交叉熵。tanh 两条都做不到：
# 它按元素作用，输出可以是负数，各项之和也没有任何约束。多分类的输出层用的是 **softmax**（第 06 课）。
# 下面用同一组 logits 对比。
#
# 各个函数的正确位置：
#
# - **softmax**：多分类（一个样本属于 $C$ 类中的恰好一类）的输出层；
# - **sigmoid**：二分类的输出层（原文说 sigmoid “常用于二分类问题”，这句是对的），以及多标签分类
#   （每个类别各自独立地判断是或否）；
# - **tanh**：隐藏层的激活函数（输出以 0 为中心），循环神经网络的隐状态更新（第 13 课）；
# - **ReLU / GELU**：今天隐藏层最常用的激活函数。

# %%
z = tg.tensor([2.0, 1.0, -1.0], device=DEVICE)
t, s = z.tanh(), z.softmax(dim=-1)
print(f"logits z = {fmt(z.tolist(), 1)}")
print(f"tanh(z)    = {fmt(t.tolist())}，和 = {t.sum().item():.4f}，有负数：{bool((t < 0).any().item())}"
      "  → 不是概率分布，没法取 log 算交叉熵")
print(f"softmax(z) = {fmt(s.tolist())}，和 = {s.sum().item():.4f}，全为正：{bool((s > 0).all().item())}"
      "  → 多分类输出层用它")
RESULTS.update({"tanh_values": t.tolist(), "tanh_sum": t.sum().item(), "softmax_values": s.tolist(),
                "softmax_sum": s.sum().item()})

# %% [markdown]
# ## 第 3 步：为什么一定要有非线性
#
# 把两个线性层直接叠起来：$h = W_1 x + b_1$，$z = W_2 h + b_2$。代入得
#
# $$z = W_2 (W_1 x + b_1) + b_2 = \underbrace{(W_2 W_1)}_{W} x + \underbrace{(W_2 b_1 + b_2)}_{b},$$
#
# 还是**一个**线性层。叠多少层都一样：决策区域仍然是凸的，螺旋照样分不开。
# 下面把 `nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 3))` 折算成一个 `nn.Linear(2, 3)`，验证输出相同。
# 只有在层与层之间插入非线性的激活函数，叠层才有意义。

# %%
tg.manual_seed(0)
deep = nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 3)).to(DEVICE)
W1, b1 = deep[0].weight.detach(), deep[0].bias.detach()
W2, b2 = deep[1].weight.detach(), deep[1].bias.detach()
single = nn.Linear(2, 3).to(DEVICE)
single.load_state_dict({"weight": W2 @ W1, "bias": W2 @ b1 + b2})
x = tg.randn(1000, 2, device=DEVICE)
with tg.no_grad():
    collapse_diff = (deep(x) - single(x)).abs().max().item()
print(deep)
print(f"折算出的单层：W = W₂W₁ 形状 {single.weight.shape}，b = W₂b₁ + b₂ 形状 {single.bias.shape}；"
      f"1000 个随机输入上输出的最大差 {collapse_diff:.1e}")
RESULTS["collapse_diff"] = collapse_diff

# %% [markdown]
# ## 第 4 步：用 `nn.Sequential` 搭 MLP；初始化
#
# `nn.Sequential` 把层按顺序串起来，前一层的输出就是后一层的输入。螺旋分类用两个各有 64 个隐藏单元 (hidden unit) 的隐藏层：
#
# ```python
# model = nn.Sequential(
#     nn.Linear(2, 64), nn.ReLU(),      # 隐藏层 1：(N, 2) → (N, 64)
#     nn.Linear(64, 64), nn.ReLU(),     # 隐藏层 2：(N, 64) → (N, 64)
#     nn.Linear(64, 3),                 # 输出层：(N, 64) → (N, 3)，输出 logits，不加激活（softmax 在交叉熵里）
# )
# ```
#
# **默认初始化**。`nn.Linear` 创建时按 PyTorch 的默认方式初始化：`kaiming_uniform_(weight, a=√5)`，
# 化简后就是 $W_{ij} \sim U(-1/\sqrt{\text{fan\_in}},\ 1/\sqrt{\text{fan\_in}})$，偏置也取同样的范围
# （fan_in 是输入个数）。输入越多，权重越小，这样每层输出的量级大致不随宽度变化。均匀分布 $U(-a, a)$ 的标准差是 $a/\sqrt3$。
#
# **自己指定初始化**用 `nn.init`，配合 `model.apply(fn)`（对每个子模块调用一次 `fn`）：
#
# ```python
# def init_he(m):
#     if isinstance(m, nn.Linear):
#         nn.init.kaiming_normal_(m.weight, nonlinearity="relu")   # He（Kaiming）初始化：N(0, 2/fan_in)
#         nn.init.zeros_(m.bias)
# model.apply(init_he)
# ```
#
# 各种初始化的比较留到第 10 课。这里只看一个**一定不能做**的：把所有权重设成同一个数。
# 那样同一层的所有隐藏单元算出完全相同的输出，反向传播时也得到完全相同的梯度，更新后依然相同——
# 对称性永远打不破，64 个单元只相当于 1 个。随机初始化的首要任务就是打破这种对称。
#
# 下面把所有权重设成 0.1、偏置设成 0，在螺旋上训练，然后看第一层的 64 行权重彼此差多少。
# 数学上它们严格相等；实际打印出来的差是 0，或者 $10^{-8}$ 的量级——后者是浮点舍入：矩阵乘法库对不同的行
# 可能用不同的求和顺序，留下最后一位的差别。训练会极慢地放大这点差别，但指望它来打破对称是没有希望的。

# %%
def make_mlp(activation, hidden=64):
    return nn.Sequential(nn.Linear(2, hidden), activation(), nn.Linear(hidden, hidden), activation(),
                         nn.Linear(hidden, 3))


def init_he(m):
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        nn.init.zeros_(m.bias)


def spiral_data(device):
    """第 06 课的螺旋数据：训练集（seed 0）与测试集（seed 1），每类 100 个点。"""
    X_np, y_np = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=0)
    Xte_np, yte_np = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=1)
    return {"X_np": X_np, "y_np": y_np, "X": tg.tensor(X_np, device=device), "y": tg.tensor(y_np, device=device),
            "X_test": tg.tensor(Xte_np, device=device), "y_test": tg.tensor(yte_np, device=device)}


data = spiral_data(DEVICE)
tg.manual_seed(0)
model = make_mlp(nn.ReLU).to(DEVICE)
n_params = sum(p.numel() for p in model.parameters())
print(model)
print(f"参数个数 {n_params} = (2·64 + 64) + (64·64 + 64) + (64·3 + 3)")
stats = []
for i in (0, 2, 4):
    w = model[i].weight.detach().cpu().numpy()
    bound = 1 / math.sqrt(w.shape[1])
    stats.append((i, w.shape[1], float(np.abs(w).max()), bound, float(w.std()), bound / math.sqrt(3)))
    print(f"默认初始化 第 {i} 层 fan_in = {w.shape[1]:2d}：max|W| = {stats[-1][2]:.4f} ≤ 1/√fan_in = {bound:.4f}，"
          f"std = {stats[-1][4]:.4f}（理论 {stats[-1][5]:.4f}）")
he = make_mlp(nn.ReLU).to(DEVICE).apply(init_he)
w = he[2].weight.detach().cpu().numpy()
print(f"He 初始化后 第 2 层：std = {w.std():.4f}（理论 √(2/64) = {math.sqrt(2 / 64):.4f}），"
      f"偏置全为 0：{bool((he[2].bias == 0).all().item())}")

# 对称陷阱：所有权重 = 0.1、偏置 = 0，训练若干步后数一数第一层有几种不同的行
sym = make_mlp(nn.ReLU).to(DEVICE)
for m in sym.modules():
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 0.1)
        nn.init.zeros_(m.bias)
optimizer = optim.SGD(sym.parameters(), lr=0.5)
sym_steps = 20 if QUICK else 200
for _ in range(sym_steps):
    optimizer.zero_grad()
    F.cross_entropy(sym(data["X"]), data["y"]).backward()
    optimizer.step()
rows = sym[0].weight.detach().cpu().numpy()
row_gap = float(np.abs(rows - rows[0]).max())
with tg.no_grad():
    sym_acc = accuracy(sym(data["X"]), data["y"])
print(f"对称陷阱：权重全设为 0.1，训练 {sym_steps} 步后，第一层 64 行权重与第 0 行的最大差 {row_gap:.1e}，"
      f"训练集准确率 {sym_acc:.3f}")
RESULTS.update({"n_params": n_params, "init_within_bound": all(s[2] <= s[3] for s in stats),
                "default_std_layer2": stats[1][4], "default_std_theory": stats[1][5],
                "he_std": float(w.std()), "symmetric_steps": sym_steps, "symmetric_row_gap": row_gap,
                "symmetric_acc": sym_acc})

# %% [markdown]
# ## 第 5 步：在螺旋上训练 MLP，比较四个激活函数
#
# 训练循环与第 05、06 课相同：SGD，学习率 0.5，批量大小 32，完整模式 200 轮（快速模式 60 轮：10 轮时 tanh 与 sigmoid 还不如线性模型，看不出隐藏层的作用）。
# 同一个种子、同样的初始权重，只换隐藏层的激活函数；作为对照，再训练一次第 06 课的线性模型（softmax 回归）。
# 测试集是用另一个种子生成的同分布螺旋。

# %%
def train_classifier(model, loader, X, y, epochs, lr, desc, show_bar=True):
    """第 05、06 课的训练循环。返回每轮末的全数据损失。"""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses = []
    bar = progress(range(epochs), desc=desc, unit="epoch", disable=not show_bar)
    for epoch in bar:
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
        with tg.no_grad():
            losses.append(F.cross_entropy(model(X), y).item())
        if hasattr(bar, "set_postfix"):   # 没装 tqdm 时 progress 原样返回 range
            bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    return losses


SPIRAL_QUICK_EPOCHS = 60   # 快速模式：60 轮已足够让每个 MLP 都胜过线性模型（10 轮时 tanh、sigmoid 还不如线性）

spiral_epochs, lr = (SPIRAL_QUICK_EPOCHS, 0.5) if QUICK else (200, 0.5)
loader = DataLoader(TensorDataset(data["X"], data["y"]), batch_size=32, shuffle=True)
runs = {}
builders = {"linear": lambda: nn.Linear(2, 3), **{k: (lambda a=a: make_mlp(a)) for k, a in ACTIVATIONS.items()}}
for name, build in builders.items():
    tg.manual_seed(0)
    model = build().to(DEVICE)
    losses = train_classifier(model, loader, data["X"], data["y"], spiral_epochs, lr, f"{name:<7}")
    with tg.no_grad():
        train_acc = accuracy(model(data["X"]), data["y"])
        test_acc = accuracy(model(data["X_test"]), data["y_test"])
    runs[name] = {"model": model, "losses": losses, "train_acc": train_acc, "test_acc": test_acc}
    shown = "线性（softmax 回归）" if name == "linear" else f"MLP + {name}"
    print(f"{shown:<20} {spiral_epochs} 轮后：训练损失 {losses[-1]:.4f}，训练集准确率 {train_acc:.4f}，"
          f"测试集准确率 {test_acc:.4f}")
RESULTS.update({"spiral_epochs": spiral_epochs,
                "spiral_train_acc": {k: r["train_acc"] for k, r in runs.items()},
                "spiral_test_acc": {k: r["test_acc"] for k, r in runs.items()},
                "spiral_final_loss": {k: r["losses"][-1] for k, r in runs.items()}})

# %% [markdown]
# ## 第 6 步：决策区域
#
# 与第 06 课第 8 步同样的画法。线性模型只能切出三个凸的扇形；有了隐藏层，边界可以顺着旋臂弯曲。
# 几个 MLP 的差别也看得出来：ReLU 网络是分段线性函数，边界由许多小段直线拼成；tanh、GELU、sigmoid 的边界更圆滑；
# sigmoid 网络学得最慢（导数最大只有 0.25），同样的轮数下损失在几个 MLP 里最高。
# 损失曲线上的尖峰说明学习率 0.5 对 MLP 偏大，偶尔一步迈过了头；第 08 课的优化器和第 09 课的学习率调度会处理它。

# %%
def predict_grid(model, device, lim=1.2, n=300):
    """在 [−lim, lim]² 上铺 n×n 的网格，返回每个网格点的预测类别。"""
    g1, g2 = np.meshgrid(np.linspace(-lim, lim, n), np.linspace(-lim, lim, n))
    grid = tg.tensor(np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32), device=device)
    with tg.no_grad():
        return model(grid).argmax(dim=1).cpu().numpy().reshape(g1.shape)


def plot_spiral(X_np, y_np, runs, epochs, device, n_grid):
    """五个模型的决策区域，加一张损失曲线。"""
    from matplotlib.colors import ListedColormap

    colors = ["#1f77b4", "#d62728", "#2ca02c"]
    fig, axes = subplots(2, 3, figsize=(14, 9))
    for ax, (name, run) in zip(axes.ravel(), runs.items()):
        pred = predict_grid(run["model"], device, n=n_grid)
        ax.imshow(pred, extent=(-1.2, 1.2, -1.2, 1.2), origin="lower", cmap=ListedColormap(colors), alpha=0.25,
                  vmin=-0.5, vmax=2.5, interpolation="nearest")
        for k in range(3):
            m = y_np == k
            ax.scatter(X_np[m, 0], X_np[m, 1], s=8, color=colors[k], edgecolors="white", linewidths=0.3)
        title = label("线性（softmax 回归）", "linear (softmax regression)") if name == "linear" else f"MLP + {name}"
        ax.set_title(f"{title}\n" + label(f"训练 {run['train_acc']:.3f} / 测试 {run['test_acc']:.3f}",
                                          f"train {run['train_acc']:.3f} / test {run['test_acc']:.3f}"))
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    ax = axes.ravel()[-1]
    epoch_ids = np.arange(1, epochs + 1)
    for i, (name, run) in enumerate(runs.items()):
        ax.semilogy(epoch_ids, run["losses"], color="gray" if name == "linear" else f"C{i - 1}",
                    label=label("线性", "linear") if name == "linear" else name)
    ax.set_xlabel(label("轮 (epoch)", "epoch"))
    ax.set_ylabel(label("训练损失（对数坐标）", "training loss (log scale)"))
    ax.set_title(label("交叉熵损失", "cross-entropy loss"))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


fig = plot_spiral(data["X_np"], data["y_np"], runs, spiral_epochs, DEVICE, n_grid=100 if QUICK else 300)
RESULTS["figure_spiral"] = str(show(fig, "07_mlp_spiral.png", dpi=110))

# %% [markdown]
# ## 第 7 步：8×8 手写数字
#
# 换一个真实一点的数据：scikit-learn 自带的 1797 张 8×8 灰度手写数字，10 类。`load_digits()` 把每张图展平成
# 64 个特征，像素从 0..16 缩放到 [0, 1]。固定种子打乱后，取 360 张作测试集，其余 1437 张作训练集。
# 测试集只用来评估，训练时一眼都不看——这样测试集准确率才是“没见过的图”上的表现。
#
# 模型：`64 → 128 (ReLU) → 10`。SGD，学习率 0.2，批量大小 32，完整模式 30 轮（快速模式 3 轮）。
# 评估时先调用 `model.eval()`：这个模型里没有暂退法 (dropout) 之类训练与推断行为不同的层，调不调结果一样，
# 但养成习惯，到第 09 课就用得上。混淆矩阵 (confusion matrix) 的第 $i$ 行第 $j$ 列是“真实为 $i$、预测为 $j$”的张数。

# %%
def digits_data(device):
    """8×8 手写数字：固定种子打乱后取 360 张做测试集，其余做训练集。"""
    X_np, y_np = load_digits()
    perm = np.random.default_rng(0).permutation(len(X_np))
    test, train = perm[:360], perm[360:]
    return {"X_train": tg.tensor(X_np[train], device=device), "y_train": tg.tensor(y_np[train], device=device),
            "X_test": tg.tensor(X_np[test], device=device), "y_test": tg.tensor(y_np[test], device=device),
            "images_test": X_np[test].reshape(-1, 8, 8), "labels_test": y_np[test]}


def make_digits_mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


digits = digits_data(DEVICE)
print(f"训练集 {digits['X_train'].shape}，测试集 {digits['X_test'].shape}，"
      f"像素范围 [{digits['X_train'].min().item():.0f}, {digits['X_train'].max().item():.0f}]")
digits_epochs, lr = (3, 0.2) if QUICK else (30, 0.2)
tg.manual_seed(0)
digits_model = make_digits_mlp().to(DEVICE)
loader = DataLoader(TensorDataset(digits["X_train"], digits["y_train"]), batch_size=32, shuffle=True)
with tg.no_grad():
    digits_initial = F.cross_entropy(digits_model(digits["X_train"]), digits["y_train"]).item()
digits_losses = train_classifier(digits_model, loader, digits["X_train"], digits["y_train"], digits_epochs, lr, "digits")
digits_model.eval()
with tg.no_grad():
    digits_train_acc = accuracy(digits_model(digits["X_train"]), digits["y_train"])
    logits = digits_model(digits["X_test"])
    digits_test_acc = accuracy(logits, digits["y_test"])
digits_pred = logits.argmax(dim=1).cpu().numpy()
cm = confusion_matrix(digits["labels_test"], digits_pred, num_classes=10)
print(f"初始损失 {digits_initial:.4f}（ln 10 = {math.log(10):.4f}）；{digits_epochs} 轮后训练损失 {digits_losses[-1]:.4f}")
print(f"训练集准确率 {digits_train_acc:.4f}，测试集准确率 {digits_test_acc:.4f}（{int(round(digits_test_acc * 360))}/360）")
print("测试集混淆矩阵（行 = 真实，列 = 预测）：")
for i, row in enumerate(cm):
    print(f"  {i}: " + " ".join(f"{v:3d}" for v in row))
RESULTS.update({"digits_epochs": digits_epochs, "digits_initial_loss": digits_initial,
                "digits_final_loss": digits_losses[-1], "digits_train_acc": digits_train_acc,
                "digits_test_acc": digits_test_acc, "digits_test_correct": int(round(digits_test_acc * 360))})

# %% [markdown]
# 下一格画出测试集上的预测：前两行是前 16 张，第三行是认错的几张（红字）。


# %%
def plot_digits(images, labels, pred, test_acc):
    wrong = np.flatnonzero(pred != labels)
    shown = list(range(16)) + [i for i in wrong if i >= 16][:8]
    fig, axes = subplots(3, 8, figsize=(11, 4.6))
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), shown):
        ok = pred[i] == labels[i]
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(label(f"预测 {pred[i]} / 真实 {labels[i]}", f"pred {pred[i]} / true {labels[i]}"),
                     fontsize=8, color="black" if ok else "red")
    fig.suptitle(label(f"测试集上的预测（前两行：前 16 张；第三行：错的，红字）；准确率 {test_acc:.3f}",
                       f"test predictions (rows 1-2: first 16; row 3: mistakes, in red); accuracy {test_acc:.3f}"))
    fig.tight_layout()
    return fig


fig = plot_digits(digits["images_test"], digits["labels_test"], digits_pred, digits_test_acc)
RESULTS["figure_digits"] = str(show(fig, "07_digits.png", dpi=110))

# %% [markdown]
# ## 第 8 步：保存与加载
#
# 训练好的模型要存下来，下次直接用。与 PyTorch 完全相同的写法：
#
# ```python
# tg.save(model.state_dict(), path)           # state_dict：参数名 → NumPy 数组
# model2 = make_digits_mlp()                  # 先按同样的结构建一个模型
# model2.load_state_dict(tg.load(path))       # 再把数值读进去
# ```
#
# 只存 `state_dict()`（参数的数值）而不存整个模型对象：结构由代码决定，文件只管数字，换个版本的代码也能读。
# `tg.save` 写的是普通的 `.npz` 文件，**不用 pickle**——pickle 文件一打开就可能执行任意代码，而检查点 (checkpoint)
# 常常来自别人。写入是原子的：先写临时文件再改名，中途出错不会留下半个文件。
#
# 验证办法：读回的模型与原模型在整个测试集上的 logits 应该**一模一样**（最大差 0），而不只是“差不多”。

# %%
path = output_dir() / "07_digits_mlp.npz"
tg.save(digits_model.state_dict(), path)
state = tg.load(path)
print(f"已保存：{path}（{path.stat().st_size / 1024:.1f} KiB）")
for k, v in state.items():
    print(f"  {k:<9} {str(v.shape):<10} {v.dtype}")
tg.manual_seed(123)                       # 另一个种子：新模型的初始权重与训练好的不同
fresh = make_digits_mlp().to(DEVICE)
with tg.no_grad():
    fresh_acc = accuracy(fresh(digits["X_test"]), digits["y_test"])
fresh.load_state_dict(state)
fresh.eval()
with tg.no_grad():
    reload_diff = (fresh(digits["X_test"]) - digits_model(digits["X_test"])).abs().max().item()
    reload_acc = accuracy(fresh(digits["X_test"]), digits["y_test"])
print(f"新模型加载前测试集准确率 {fresh_acc:.4f}；加载后 {reload_acc:.4f}；与原模型 logits 的最大差 {reload_diff}")
RESULTS.update({"reload_diff": reload_diff, "reload_acc": reload_acc, "fresh_acc": fresh_acc, "checkpoint": str(path),
                "checkpoint_kib": path.stat().st_size / 1024, "checkpoint_arrays": len(state)})

# %% [markdown]
# ## 小结
#
# - 激活函数给网络带来非线性；没有它，多少个线性层叠起来都只是一个线性层；
# - sigmoid 导数 ≤ 0.25、两端饱和；tanh 以 0 为中心、导数 ≤ 1；ReLU 正半轴导数恒为 1、最便宜；GELU 是平滑的 ReLU；
# - 输出层：多分类用 softmax（在 `F.cross_entropy` 里），二分类用 sigmoid；tanh 是隐藏层的激活函数，
#   原文“tanh 常用于多分类问题”是错的；
# - `nn.Sequential` 按顺序串层；`nn.Linear` 默认初始化为 $U(\pm 1/\sqrt{\text{fan\_in}})$，`nn.init` + `model.apply` 可以换；
#   权重不能全相同，否则对称性打不破；
# - 有了隐藏层，螺旋上的准确率从约 0.54 提高到约 0.99（ReLU / tanh / GELU；sigmoid 学得慢，约 0.95），
#   8×8 手写数字的测试集准确率约 0.97；
# - `tg.save(model.state_dict(), path)` 与 `model.load_state_dict(tg.load(path))` 的往返必须分毫不差。
#
# ## 练习
#
# 1. ★ 把螺旋 MLP 的隐藏层宽度从 64 改成 2、4、8、16（其余不变，ReLU，200 轮），训练集准确率分别是多少？
#    宽度为 2 时画出决策区域看看。
# 2. ★ 把第 4 步对称陷阱里的 `constant_(weight, 0.1)` 换成 `zeros_`（全 0），训练 200 步，哪些参数的梯度是 0？
#    准确率多少？为什么全 0 比全 0.1 还糟？（提示：ReLU′(0) = 0。）
# 3. ★★ 把第 8 步的检查点用 `numpy.load` 直接打开（它就是一个 `.npz`），列出里面的成员；
#    再把它的一个字节改掉，看 `tg.load` 给出什么错误。
# 4. ★★★ 用 sigmoid 搭一个 10 个隐藏层的 MLP（每层 64 个单元），在螺旋上训练，打印每一层权重梯度的范数。
#    再换成 ReLU 比较。这就是第 10 课要解决的梯度消失。
#
# 全部练习的答案见 `lessons/answers/07_mlp_activations_answers.py`。
#

# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。在 CPU 上运行（`--device cuda` 的结果在浮点舍入范围内相同）。
# 第 1—3 步两种模式给出相同的数；第 5 步完整模式训练 200 轮、快速模式 60 轮，第 7 步完整模式 30 轮、快速模式 3 轮，
# 数不同——以 `QUICK` 对应的那一份为准。

# %%
R = RESULTS
derivs = "；\n  ".join(f"{k}′ = {', '.join(f'{v:.4g}' for v in vals)}" for k, vals in R["deriv_at_points"].items())
names = {"linear": "线性（softmax 回归）", **{k: f"MLP + {k}" for k in ACTIVATIONS}}
table = "\n".join(f"  | {names[k]} | {R['spiral_final_loss'][k]:.4f} | {R['spiral_train_acc'][k]:.4f} | "
                  f"{R['spiral_test_acc'][k]:.4f} |" for k in names)
beaten = [k for k in ACTIVATIONS if R["spiral_train_acc"][k] > R["spiral_train_acc"]["linear"]
          and R["spiral_test_acc"][k] > R["spiral_test_acc"]["linear"]]
verdict = ("每个 MLP 的训练、测试准确率都胜过线性模型" if len(beaten) == len(ACTIVATIONS)
           else f"胜过线性模型的只有 {', '.join(beaten) or '（没有）'}")
best = max(ACTIVATIONS, key=lambda k: R["spiral_test_acc"][k])
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 第 1 步：在 x = −2, −1, 0, 1, 2 处，
  {derivs}；
  backward 与公式的最大差 {R['act_max_err']:.1e}（float64）；导数最大值 \
{', '.join(f'{k} {v:.4f}' for k, v in R['max_deriv'].items())}；
  GELU 最小值 {R['gelu_min']:.4f}（x ≈ {R['gelu_argmin']:.2f}）；精确 GELU 与 tanh 近似最大差 {R['gelu_tanh_gap']:.1e}；
- 第 2 步：tanh([2, 1, −1]) = {fmt(R['tanh_values'])}，和 {R['tanh_sum']:.4f}；\
softmax = {fmt(R['softmax_values'])}，和 {R['softmax_sum']:.4f}；
- 第 3 步：两层线性与折算出的单层在 1000 个输入上的最大差 {R['collapse_diff']:.1e}；
- 第 4 步：参数 {R['n_params']} 个；默认初始化 max|W| 都不超过 1/√fan_in：{R['init_within_bound']}，\
第 2 层 std {R['default_std_layer2']:.4f}（理论 {R['default_std_theory']:.4f}）；
  He 初始化 std {R['he_std']:.4f}（理论 {math.sqrt(2 / 64):.4f}）；对称陷阱 {R['symmetric_steps']} 步后的行差 \
{R['symmetric_row_gap']:.1e}（浮点舍入，因机器而异，也可能是 0）；
- 第 5 步（{R['spiral_epochs']} 轮）：
  | 模型 | 训练损失 | 训练集准确率 | 测试集准确率 |
  |---|---|---|---|
{table}
  {verdict}；测试集准确率最高的是 MLP + {best}；
- 第 7 步（{R['digits_epochs']} 轮）：初始损失 {R['digits_initial_loss']:.4f}（ln 10 = {math.log(10):.4f}），\
训练损失 {R['digits_final_loss']:.4f}，训练集准确率 {R['digits_train_acc']:.4f}，
  测试集准确率 {R['digits_test_acc']:.4f}（{R['digits_test_correct']}/360）；
- 第 8 步：检查点 {R['checkpoint_kib']:.1f} KiB，{R['checkpoint_arrays']} 个数组；新模型加载前测试集准确率 {R['fresh_acc']:.4f}，\
加载后 {R['reload_acc']:.4f}（与训练好的模型{'相同' if R['reload_acc'] == R['digits_test_acc'] else '不同'}），\
logits 的最大差 {R['reload_diff']}；
- 图片：{R['figure_activations']}、{R['figure_spiral']}、{R['figure_digits']}；检查点 {R['checkpoint']}。""")
