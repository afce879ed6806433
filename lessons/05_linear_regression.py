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
# # 第 05 课：线性回归：训练循环
#
# 第 02 课我们手写了梯度下降：`backward()`、在 `no_grad` 下改 `.data`、再把 `.grad` 清零。
# 这一课把这些零件换成框架里的标准部件——参数 `nn.Parameter`、模块 `nn.Module`、全连接层（fully-connected layer，也叫线性层）`nn.Linear`、
# 损失 `F.mse_loss`、优化器 `optim.SGD`、数据加载器 `DataLoader`——并把它们拼成一个**训练循环**。
# 以后每一课（直到第 18 课训练中文 GPT）用的都是同一个循环，只是模型和数据换了。
#
# **学习目标**
#
# 1. 会用 `nn.Parameter` 和 `nn.Module` 写一个自己的模型，知道 `nn.Linear` 做的是同一件事（`y = x Wᵀ + b`）；
# 2. 会写均方误差 (mean squared error) 并推出它的梯度，用它核对 `backward()`；知道 `(N, 1)` 与 `(N,)` 相减的广播陷阱；
# 3. 会用 `optim.SGD` 和 `DataLoader`，逐行说清训练循环 `zero_grad → 前向 → 损失 → backward → step` 每一行做什么；
# 4. 把学到的权重 (weight) 和偏置 (bias) 与“真实值”和最小二乘的闭式解 (closed-form solution) 对照，说清它们为什么不完全相同。
#
# **前置知识**：第 02 课（梯度下降、学习率）、第 03 课（矩阵乘法的形状、广播）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/05_linear_regression.py            # 完整模式（几秒钟，带进度条）
# python lessons/05_linear_regression.py --quick    # 快速模式：数据少、轮数少，几秒内跑完每一步
# python lessons/05_linear_regression.py --device cuda
# jupytext --to notebook lessons/05_linear_regression.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处），在笔记本里直接显示在代码下面。

# %% tags=["parameters"]
QUICK = False    # 快速模式：数据少、轮数少（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import unicodedata
import warnings

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, TensorDataset, make_regression
from tinygrad_zh.lesson import lesson_args, progress, show
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

TRUE_BIAS = 4.2     # 真实的偏置 b（生成数据时用）
NOISE = 0.5         # 噪声 ε 的标准差 σ


def pad(text, width):
    """按终端显示宽度补空格（中文字符占两列），让表格对齐。"""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, width - shown)


def fmt(values, nd=4):
    return "[" + ", ".join(f"{v:+.{nd}f}" for v in values) + "]"

# %% [markdown]
# ## 第 1 步：数据——已知答案的回归问题
#
# 线性回归 (linear regression) 假设目标是特征的线性函数再加噪声：
#
# $$y = X w + b + \varepsilon,\qquad \varepsilon \sim \mathcal N(0, \sigma^2).$$
#
# 为了能检查学得对不对，我们**自己生成**数据：`make_regression` 随机抽一个真实权重 $w$（每个分量保留一位小数），
# 我们指定真实偏置 $b = 4.2$、噪声标准差 $\sigma = 0.5$。每个样本有 2 个特征 (feature)，这样 $y$ 是一个平面，画得出来。
#
# 形状约定与 PyTorch 相同：一行一个样本，`X` 是 `(N, 2)`；标签 (label) `y` 是 `(N, 1)`，
# 和模型输出 `nn.Linear(2, 1)(X)` 的形状一样（第 3 步会看到为什么这很重要）。
# `make_regression` 返回 NumPy 数组，我们用 `tg.tensor(..., device=device)` 把它们放到要用的设备上。

# %%
n = 200 if QUICK else 1000
X_np, y_np, w_true = make_regression(n_samples=n, n_features=2, noise=NOISE, seed=0, bias=TRUE_BIAS)
print(f"X: {X_np.shape} {X_np.dtype}，y: {y_np.shape}，"
      f"真实 w = {[round(float(v), 4) for v in w_true]}，真实 b = {TRUE_BIAS}，σ = {NOISE}")
for i in range(3):
    print(f"样本 {i}：x = {fmt(X_np[i])}，y = {y_np[i, 0]:+.4f}")
X = tg.tensor(X_np, device=DEVICE)
y = tg.tensor(y_np, device=DEVICE)
RESULTS.update({"n_samples": len(X_np), "w_true": w_true.tolist(), "b_true": TRUE_BIAS})

# %% [markdown]
# ## 第 2 步：参数 (Parameter) 与模块 (Module)
#
# 模型的可学习部分是**参数** (parameter)。`nn.Parameter` 就是一个 `requires_grad=True` 的张量，
# 特别之处在于：把它赋值给 `nn.Module` 的属性时，模块会**登记**它，`model.parameters()` 就能找到它——
# 优化器正是靠这个知道该更新谁。
#
# 先自己写一个线性回归模块。`__init__` 里创建参数，`forward` 里写前向计算；调用 `model(X)` 就是调用 `forward(X)`：
#
# ```python
# class LinearRegression(nn.Module):
#     def __init__(self, in_features):
#         super().__init__()                                   # 必须先调用：建好登记参数用的表
#         self.w = nn.Parameter(tg.zeros(in_features, 1))      # (D, 1)
#         self.b = nn.Parameter(tg.zeros(1))                   # (1,)
#     def forward(self, x):                                    # x: (N, D) → (N, 1)
#         return x @ self.w + self.b
# ```
#
# 框架里的 `nn.Linear(in_features, out_features)` 做的是同一件事，只有两点不同：
#
# - 权重存成 `(out_features, in_features)`，计算 `x @ W.T + b`（PyTorch 的约定，第 04 课见过）；
# - 参数不是 0，而是按 PyTorch 的默认方式随机初始化：$U(-1/\sqrt{\text{in}},\ 1/\sqrt{\text{in}})$（第 07、10 课细讲）。
#
# 下面把同一组数值放进两个模型，确认输出相同。`load_state_dict` 按名字把数值复制进参数，是第 07 课“保存与加载”的基础。

# %%
class LinearRegression(nn.Module):
    """自己写的线性回归：y = x @ w + b。w: (D, 1)，b: (1,)。"""

    def __init__(self, in_features):
        super().__init__()
        self.w = nn.Parameter(tg.zeros(in_features, 1))
        self.b = nn.Parameter(tg.zeros(1))

    def forward(self, x):
        return x @ self.w + self.b


ours = LinearRegression(2).to(DEVICE)
for name, p in ours.named_parameters():
    print(f"自己写的模块：{name:<6} 形状 {p.shape}，requires_grad={p.requires_grad}")
tg.manual_seed(0)
linear = nn.Linear(2, 1).to(DEVICE)
print(linear)
for name, p in linear.named_parameters():
    print(f"nn.Linear：{name:<6} 形状 {p.shape}，初始值 {fmt(p.detach().reshape(-1).tolist())}")
print(f"默认初始化的范围 ±1/√in = ±{1 / np.sqrt(2):.4f}")

# 同一组数：w = [1, 2]、b = 3。Linear 的 weight 是 (1, 2) = wᵀ
ours.load_state_dict({"w": np.array([[1.0], [2.0]], dtype=np.float32), "b": np.array([3.0], dtype=np.float32)})
linear_copy = nn.Linear(2, 1).to(DEVICE)
linear_copy.load_state_dict({"weight": np.array([[1.0, 2.0]], dtype=np.float32),
                             "bias": np.array([3.0], dtype=np.float32)})
with tg.no_grad():
    module_diff = (ours(X) - linear_copy(X)).abs().max().item()
print(f"放进同一组数（w = [1, 2]，b = 3）后，两个模型在全部数据上的输出最大差 {module_diff:.1e}")
RESULTS.update({"module_diff": module_diff,
                "linear_init": [v for p in linear.parameters() for v in p.detach().reshape(-1).tolist()]})

# %% [markdown]
# ## 第 3 步：均方误差与它的梯度
#
# 损失函数 (loss function) 用均方误差：
#
# $$L(w, b) = \frac1N \sum_{i=1}^{N} (\hat y_i - y_i)^2,\qquad \hat y = Xw + b.$$
#
# `F.mse_loss(pred, y)` 正是这个式子（注意：与 PyTorch 一样**没有** ½ 系数，第 04 课用的原文写法有 ½）。
# 记残差 $r = \hat y - y$（形状 `(N, 1)`），链式法则 (chain rule) 给出
#
# $$\nabla_w L = \frac2N X^\top r,\qquad \frac{\partial L}{\partial b} = \frac2N \sum_i r_i.$$
#
# 我们不用这个公式训练，只用它核对 `backward()`。
#
# **形状陷阱**：如果 `y` 的形状是 `(N,)` 而 `pred` 是 `(N, 1)`，`pred - y` 会被广播成 `(N, N)`——
# 每个预测减去**每一个**标签，损失算得毫无意义，而且不报错。`F.mse_loss` 发现形状不同时会给出警告 (UserWarning)，
# 和 PyTorch 一样。这就是 `make_regression` 把 `y` 做成 `(N, 1)` 的原因。

# %%
tg.manual_seed(0)
model = nn.Linear(2, 1).to(DEVICE)
pred = model(X)
loss = F.mse_loss(pred, y)
by_hand = ((pred - y) ** 2).mean()
print(f"F.mse_loss = {loss.item():.6f}，手写 ((pred − y)²).mean() = {by_hand.item():.6f}")
loss.backward()


def mse_grad(X, pred, y):
    """均方误差对 Linear 参数的梯度：返回 (∂L/∂W 形状 (1, D)，∂L/∂b 形状 (1,))，公式见上。"""
    # BEGIN SOLUTION task05_1
    n = X.shape[0]
    r = pred - y
    gw = (2 / n) * (X.T @ r).T        # (1, D)：与 weight 同形
    gb = (2 / n) * r.sum(dim=0)       # (1,)
    return gw, gb
    # END SOLUTION


with tg.no_grad():
    gw, gb = mse_grad(X, pred, y)
mse_grad_diff = max((model.weight.grad - gw).abs().max().item(), (model.bias.grad - gb).abs().max().item())
print(f"backward 的梯度 ∂L/∂W = {fmt(model.weight.grad.reshape(-1).tolist())}，∂L/∂b = {model.bias.grad.item():+.4f}")
print(f"公式 2/N·Xᵀr 与 2/N·Σr 给出的梯度与之最大差 {mse_grad_diff:.1e}")

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with tg.no_grad():
        wrong = F.mse_loss(pred, y.reshape(-1))
print(f"形状陷阱：pred {pred.shape} 与 y.reshape(-1) {y.reshape(-1).shape} → 差的形状 {(pred - y.reshape(-1)).shape}，"
      f"“损失” = {wrong.item():.4f}（正确值 {loss.item():.4f}）")
print(f"收到警告：{len(caught) > 0}（{type(caught[0].message).__name__ if caught else '无'}）")
RESULTS.update({"mse_grad_diff": mse_grad_diff, "broadcast_warned": len(caught) > 0,
                "broadcast_loss": wrong.item(), "broadcast_shape": tuple((pred - y.reshape(-1)).shape)})

# %% [markdown]
# ## 第 4 步：优化器 `optim.SGD`
#
# 第 02 课手写的那几行——在 `no_grad` 下 `p.data -= lr * p.grad`，再把梯度清零——现在由优化器 (optimizer) 代劳：
#
# ```python
# optimizer = optim.SGD(model.parameters(), lr=0.1)   # 记下要更新哪些参数、学习率多少
# optimizer.step()        # 对每个参数：p ← p − lr · p.grad
# optimizer.zero_grad()   # 对每个参数：p.grad = None
# ```
#
# 下面走一步，验证 `step()` 的结果与手算的 $p - \mathrm{lr}\cdot\nabla p$ 完全相同。
# 学习率 (learning rate) 存在 `optimizer.param_groups[0]["lr"]` 里，第 08 课（下）的学习率调度器 (scheduler) 就是改这个数。

# %%
tg.manual_seed(0)
model = nn.Linear(2, 1).to(DEVICE)
optimizer = optim.SGD(model.parameters(), lr=0.1)
F.mse_loss(model(X), y).backward()
expected = [(p.detach() - 0.1 * p.grad).detach() for p in model.parameters()]
optimizer.step()
sgd_step_diff = max((p.detach() - e).abs().max().item() for p, e in zip(model.parameters(), expected))
print(f"step() 之后与手算 p − lr·grad 的最大差 {sgd_step_diff:.1e}；学习率 lr = {optimizer.param_groups[0]['lr']}")
optimizer.zero_grad()
print(f"zero_grad() 之后 weight.grad = {model.weight.grad}（None：下次 backward 直接写入，而不是累加）")
RESULTS["sgd_step_diff"] = sgd_step_diff

# %% [markdown]
# ## 第 5 步：数据加载器——小批量
#
# 每一步都用全部 $N$ 个样本算梯度（批量梯度下降）当然可以，但数据一大就太慢。随机梯度下降 (SGD) 每步只取一个
# **小批量** (minibatch)，用它的平均梯度代替全体的梯度：估计有噪声，但便宜得多，而且一轮 (epoch，把全部数据过一遍)
# 里能走很多步。
#
# - `TensorDataset(X, y)` 把第 0 维等长的张量打包，第 $i$ 个样本是 `(X[i], y[i])`；
# - `DataLoader(dataset, batch_size=32, shuffle=True)` 每轮先打乱顺序，再按 32 个一批切开。
#   $N = 1000$ 时一轮有 $\lceil 1000/32 \rceil = 32$ 批，最后一批只有 8 个样本（`drop_last=True` 可以丢掉它）。
#
# 打乱用的是全局随机数生成器，所以先 `tg.manual_seed(0)`，每次运行切出的批次都一样。

# %%
dataset = TensorDataset(X, y)
loader = DataLoader(dataset, batch_size=32, shuffle=True)
tg.manual_seed(0)
sizes = [xb.shape[0] for xb, yb in loader]
xb, yb = next(iter(loader))
print(loader)
print(f"一批：xb {xb.shape}（设备 {xb.device}），yb {yb.shape}；每批大小 {sizes[:3]} … 最后一批 {sizes[-1]}")
RESULTS.update({"n_batches": len(loader), "last_batch": sizes[-1]})

# %% [markdown]
# ## 第 6 步：训练循环，逐行讲解
#
# ```python
# for epoch in range(epochs):                 # 一轮 = 把全部数据过一遍
#     for xb, yb in loader:                   # 每次取一个小批量，每轮顺序重新打乱
#         optimizer.zero_grad()               # ① 清空上一步的梯度：.grad 会累加（第 01 课），不清就把旧梯度带进来
#         pred = model(xb)                    # ② 前向传播 (forward)：算预测，同时记下计算图
#         loss = F.mse_loss(pred, yb)         # ③ 损失：一个标量，计算图的终点
#         loss.backward()                     # ④ 反向传播 (backward)：沿计算图求出每个参数的 .grad
#         optimizer.step()                    # ⑤ 更新：p ← p − lr · p.grad
# ```
#
# 五行的顺序有讲究：① 必须在 ④ 之前（否则梯度越积越大），⑤ 必须在 ④ 之后（要用新算出的梯度）。
# 把 ① 放在循环最后（`step()` 之后）也对，PyTorch 代码里两种写法都常见。
#
# 进度条用 `progress`（即 `tqdm`，见第 02 课）：每轮一格，`set_postfix` 把这一轮最后的小批量损失和学习率显示在条尾。
# 每轮结束时再用全部数据算一次损失（在 `no_grad` 下：只看不学，不需要计算图）。
#
# 超参数：初始学习率 0.1，批量大小 (batch size) 32，完整模式 20 轮，快速模式 4 轮。
# 参数从 `nn.Linear` 的默认随机初始化出发（`tg.manual_seed(0)` 固定）。
#
# 还多了一行 `scheduler.step()`：学习率调度器 (learning-rate scheduler) `StepLR` 每隔 `epochs/4` 轮（快速模式 2 轮）把学习率乘 0.3。
# 为什么要减小学习率？小批量梯度是全体梯度的**有噪声**的估计：到了最优点附近，真梯度接近 0，噪声却不为 0，
# 学习率不变时参数就在最优点周围不停抖动，抖动的幅度与学习率成正比。逐渐减小学习率，抖动随之缩小。
# 作为对照，我们用同样的初值和批次顺序、恒定学习率 0.1 再训练一次，第 7 步比较两者离闭式解有多远。
# 调度器的各种形状（阶梯、余弦、预热）留到第 08 课（下）。

# %%
def train(model, loader, X, y, epochs, lr, decay=True, show_bar=True):
    """标准训练循环。返回每步的小批量损失、每轮结束时的全数据损失、每步的学习率、每轮结束时的参数 [w₁, w₂, b]。"""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    # 每 epochs/4 轮（至少 2 轮）把学习率乘 0.3；decay=False 时学习率保持不变（第 7 步的对照）
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=max(2, epochs // 4), gamma=0.3 if decay else 1.0)
    step_losses, epoch_losses, lrs, params = [], [], [], []
    bar = progress(range(epochs), desc="训练 (train)", unit="epoch", disable=not show_bar)
    for epoch in bar:
        for xb, yb in loader:
            # 一步的五行（见上面的 ①–⑤），用 F.mse_loss 算损失，把它留在变量 loss 里
            # BEGIN SOLUTION task05_2
            optimizer.zero_grad()
            pred = model(xb)
            loss = F.mse_loss(pred, yb)
            loss.backward()
            optimizer.step()
            # END SOLUTION
            step_losses.append(loss.item())
            lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.step()      # 每轮末调整一次学习率
        with tg.no_grad():
            epoch_losses.append(F.mse_loss(model(X), y).item())
        params.append(np.concatenate([p.detach().cpu().numpy().reshape(-1) for p in model.parameters()]))
        if hasattr(bar, "set_postfix"):   # 没装 tqdm 时 progress 原样返回 range
            bar.set_postfix(loss=f"{step_losses[-1]:.4f}", lr=f"{lrs[-1]:.4g}", refresh=False)
    return step_losses, epoch_losses, lrs, params


epochs, lr = (4, 0.1) if QUICK else (20, 0.1)
tg.manual_seed(0)
model = nn.Linear(2, 1).to(DEVICE)
loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
with tg.no_grad():
    initial_loss = F.mse_loss(model(X), y).item()
step_losses, epoch_losses, lrs, params = train(model, loader, X, y, epochs, lr)
print(f"训练前全数据损失 {initial_loss:.4f}")
for e in sorted({0, 1, 2, epochs // 2, epochs - 1}):
    if e < epochs:
        print(f"第 {e + 1:2d} 轮后全数据损失 {epoch_losses[e]:.6f}（这一轮的学习率 {lrs[(e + 1) * len(loader) - 1]:.4g}）")
print(f"共 {len(step_losses)} 步；噪声方差 σ² = {NOISE ** 2}（损失降不到它以下太多：噪声学不走）")

# 对照：同样的初值与批次顺序，学习率一直是 0.1
tg.manual_seed(0)
const_model = nn.Linear(2, 1).to(DEVICE)
_, const_losses, _, const_params = train(const_model, loader, X, y, epochs, lr, decay=False, show_bar=False)
print(f"对照：学习率恒为 {lr} 时，最后一轮后全数据损失 {const_losses[-1]:.6f}")
lr_schedule = sorted(set(lrs), reverse=True)
RESULTS.update({"epochs": epochs, "initial_loss": initial_loss, "first_epoch_loss": epoch_losses[0],
                "final_loss": epoch_losses[-1], "n_steps": len(step_losses), "lr_schedule": lr_schedule,
                "const_final_loss": const_losses[-1]})

# %% [markdown]
# ## 第 7 步：学到的参数 vs 真实值 vs 闭式解
#
# 线性回归是少数有**闭式解**的模型：令梯度为 0，$\frac2N X^\top(Xw + b - y) = 0$，得到正规方程 (normal equation)。
# 把偏置当成一列全 1 的特征，$\tilde X = [X, \mathbf 1]$，最小二乘解是
#
# $$[\hat w; \hat b] = \arg\min \lVert \tilde X \theta - y \rVert^2 = (\tilde X^\top \tilde X)^{-1}\tilde X^\top y,$$
#
# 数值上用 `np.linalg.lstsq` 求（比显式求逆更稳定）。三组数的关系：
#
# - **SGD 学到的 ≈ 闭式解**：两者最小化的是同一个损失；SGD 的差别来自有限的步数和小批量梯度的噪声——
#   学习率恒定时参数在闭式解周围抖动，差得多；学习率衰减后差得少；
# - **闭式解 ≠ 真实值**：数据里有噪声，样本有限。闭式解是**这批数据上**损失最小的参数，
#   它的训练损失甚至比真实参数还低一点——它把一部分噪声也“拟合”了。误差的量级约为 $\sigma/\sqrt N$
#   （$N = 1000$ 时约 0.016）。样本越多，闭式解越接近真实值。

# %%
def mse_np(w, b):
    """参数 (w, b) 在整个训练集上的均方误差（NumPy，float64）。"""
    return float(np.mean((X_np.astype(np.float64) @ w + b - y_np[:, 0]) ** 2))


def gap(w, b, w_ref, b_ref):
    """两组参数的最大差。"""
    return float(max(np.abs(w - w_ref).max(), abs(b - b_ref)))


w_sgd = model.weight.detach().cpu().numpy().reshape(-1)
b_sgd = float(model.bias.item())
X_aug = np.concatenate([X_np, np.ones((len(X_np), 1), dtype=X_np.dtype)], axis=1).astype(np.float64)
theta, *_ = np.linalg.lstsq(X_aug, y_np.astype(np.float64), rcond=None)
w_ls, b_ls = theta[:2, 0], float(theta[2, 0])
w_const = const_model.weight.detach().cpu().numpy().reshape(-1)
b_const = float(const_model.bias.item())

rows = [("真实值 (true)", w_true, TRUE_BIAS), ("闭式解 (lstsq)", w_ls, b_ls),
        ("SGD，学习率衰减", w_sgd, b_sgd), ("SGD，学习率恒定", w_const, b_const)]
for name, w, b in rows:
    print(f"{pad(name, 18)}w = {fmt(w)}，b = {b:+.4f}，训练集 MSE = {mse_np(w, b):.6f}")

gap_ls, gap_const = gap(w_sgd, b_sgd, w_ls, b_ls), gap(w_const, b_const, w_ls, b_ls)
gap_true, gap_ls_true = gap(w_sgd, b_sgd, w_true, TRUE_BIAS), gap(w_ls, b_ls, w_true, TRUE_BIAS)
print(f"与闭式解的最大差：学习率衰减 {gap_ls:.4f}，学习率恒定 {gap_const:.4f}")
print(f"与真实值的最大差：闭式解 {gap_ls_true:.4f}，SGD（衰减）{gap_true:.4f}；σ/√N = {NOISE / np.sqrt(len(X_np)):.4f}")
RESULTS.update({"w_sgd": w_sgd.tolist(), "b_sgd": b_sgd, "w_lstsq": w_ls.tolist(), "b_lstsq": b_ls,
                "w_const": w_const.tolist(), "b_const": b_const,
                "gap_to_lstsq": gap_ls, "gap_const_to_lstsq": gap_const, "gap_to_true": gap_true,
                "gap_lstsq_to_true": gap_ls_true, "mse_true": mse_np(w_true, TRUE_BIAS),
                "mse_lstsq": mse_np(w_ls, b_ls), "mse_sgd": mse_np(w_sgd, b_sgd), "mse_const": mse_np(w_const, b_const)})

# %% [markdown]
# ## 第 8 步：画图——损失曲线与拟合的平面
#
# `05_loss_curve.png` 左图是每一步的小批量损失（对数坐标）、每轮结束时的全数据损失和学习率：开始十几步下降很快，
# 之后在噪声方差 $\sigma^2$ 附近上下抖动。学习率降下来以后，小批量损失的抖动并没有变小——
# 它主要来自“这一批恰好抽到了哪 32 个样本”，是数据本身的噪声。学习率控制的是**参数**的抖动，
# 右图画出每轮结束时参数离闭式解的距离：学习率恒定时一直在 0.01～0.1 之间上下跳，衰减后一路降到 0.002 以下。

# %%
def plot_loss(step_losses, epoch_losses, lrs, epochs, param_runs, theta_lstsq):
    """左图：小批量损失、每轮末的全数据损失与学习率；右图：每轮末参数离闭式解的距离。"""
    steps = np.arange(1, len(step_losses) + 1)
    per_epoch = len(steps) // epochs
    fig, (ax, ax2) = subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [3, 2]})
    ax.semilogy(steps, step_losses, color="C0", lw=0.7, alpha=0.7,
                label=label("小批量损失（每步）", "minibatch loss (per step)"))
    ax.semilogy(per_epoch * np.arange(1, epochs + 1), epoch_losses, "o-", color="C3", ms=4,
                label=label("全数据损失（每轮末）", "full-data loss (end of epoch)"))
    ax.axhline(NOISE ** 2, color="gray", ls="--", lw=0.8,
               label=label(f"噪声方差 σ² = {NOISE ** 2}", f"noise variance σ² = {NOISE ** 2}"))
    ax.set_xlabel(label("迭代步", "step"))
    ax.set_ylabel(label("均方误差（对数坐标）", "MSE (log scale)"))
    ax.set_title(label("训练损失（SGD，批量 32，StepLR）", "training loss (SGD, batch 32, StepLR)"))
    ax.grid(alpha=0.3, which="both")
    ax_lr = ax.twinx()   # 右边的纵轴画学习率
    ax_lr.plot(steps, lrs, color="C2", lw=1.5, label=label("学习率（右轴）", "learning rate (right axis)"))
    ax_lr.set_ylabel(label("学习率", "learning rate"), color="C2")
    ax_lr.set_ylim(0, 0.11)
    lines, lines_lr = ax.get_legend_handles_labels(), ax_lr.get_legend_handles_labels()
    ax.legend(lines[0] + lines_lr[0], lines[1] + lines_lr[1], loc="upper right", fontsize=8)

    # 右图：参数离闭式解有多远。小批量损失的抖动主要来自“这一批抽到了哪些样本”，左图看不出学习率的作用；
    # 参数的抖动才是学习率控制的，在这里一目了然
    epoch_ids = np.arange(1, epochs + 1)
    names = [("C3", ("学习率衰减（StepLR）", "decaying lr (StepLR)")), ("C7", ("学习率恒为 0.1", "constant lr 0.1"))]
    for run, (color, name) in zip(param_runs, names):
        dist = [np.abs(p - theta_lstsq).max() for p in run]
        ax2.semilogy(epoch_ids, dist, "o-", ms=4, color=color, label=label(*name))
    ax2.xaxis.get_major_locator().set_params(integer=True)
    ax2.set_xlabel(label("轮 (epoch)", "epoch"))
    ax2.set_ylabel(label("max |θ − θ_闭式解|", "max |θ − θ_lstsq|"))
    ax2.set_title(label("参数与闭式解的距离（每轮末）", "distance to the closed-form solution"))
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


fig = plot_loss(step_losses, epoch_losses, lrs, epochs, [params, const_params], theta[:, 0])
RESULTS["figure_loss"] = str(show(fig, "05_loss_curve.png"))

# %% [markdown]
# `05_fitted_plane.png` 左图是三维散点与学到的平面 $\hat y = \hat w_1 x_1 + \hat w_2 x_2 + \hat b$；
# 右图沿 $x_1$ 看一个切面：减掉 $x_2$ 的贡献后，点散布在一条直线两侧，散布的宽度就是噪声 $\sigma$。

# %%
def plot_plane(X_np, y_np, w, b, w_true):
    """左图：三维散点与拟合的平面；右图：沿 x₁ 的切面。"""
    y_np = y_np[:, 0]
    fig, (ax, ax2) = subplots(1, 2, figsize=(12, 5))
    ax.remove()                                        # 左边换成三维坐标轴
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    g1, g2 = np.meshgrid(np.linspace(-2.5, 2.5, 11), np.linspace(-2.5, 2.5, 11))
    ax.plot_surface(g1, g2, w[0] * g1 + w[1] * g2 + b, alpha=0.3, color="C1", edgecolor="C1", lw=0.3)
    shown = slice(0, 300)   # 只画 300 个点：点太多会把平面整个盖住
    Xs, ys = X_np[shown], y_np[shown]
    above = ys >= Xs @ w + b   # 平面上方的点画深色，下方的画浅色，看得出点落在平面两侧
    ax.scatter(Xs[above, 0], Xs[above, 1], ys[above], s=6, color="C0", depthshade=False,
               label=label("平面上方", "above the plane"))
    ax.scatter(Xs[~above, 0], Xs[~above, 1], ys[~above], s=6, color="C9", depthshade=False,
               label=label("平面下方", "below the plane"))
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_zlabel("y")
    ax.view_init(elev=12, azim=-35)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(label(f"拟合的平面 ŷ = {w[0]:.2f}x₁ {w[1]:+.2f}x₂ {b:+.2f}",
                       f"fitted plane ŷ = {w[0]:.2f}x₁ {w[1]:+.2f}x₂ {b:+.2f}"))

    # 右图：沿 x₁ 看一个切面——减掉 x₂ 的贡献后，点应落在一条直线上（残差就是噪声）
    partial = y_np - w[1] * X_np[:, 1]
    ax2.scatter(X_np[:, 0], partial, s=6, alpha=0.6, color="C0", label=label("数据：y − ŵ₂x₂", "data: y - w2*x2"))
    line = np.linspace(X_np[:, 0].min(), X_np[:, 0].max(), 2)
    ax2.plot(line, w[0] * line + b, color="C3", lw=2, label=label("学到的：ŵ₁x₁ + b̂", "learned: w1*x1 + b"))
    ax2.plot(line, w_true[0] * line + TRUE_BIAS, color="black", ls="--", lw=1,
             label=label("真实的：w₁x₁ + b", "true: w1*x1 + b"))
    ax2.set_xlabel("x₁")
    ax2.set_ylabel("y − ŵ₂x₂")
    ax2.set_title(label("沿 x₁ 的切面", "slice along x1"))
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


RESULTS["figure_plane"] = str(show(plot_plane(X_np, y_np, w_sgd, b_sgd, w_true), "05_fitted_plane.png"))

# %% [markdown]
# ## 小结
#
# - `nn.Parameter` 是会被 `nn.Module` 登记的张量；`model.parameters()` 把它们交给优化器。`nn.Linear` 计算 `x @ W.T + b`，
#   权重形状 `(out, in)`；
# - 均方误差 $\frac1N\sum(\hat y - y)^2$ 的梯度是 $\frac2N X^\top(\hat y - y)$；预测与标签的形状要一致，
#   `(N, 1)` 减 `(N,)` 会悄悄广播成 `(N, N)`；
# - 训练循环五行：`zero_grad → 前向 → 损失 → backward → step`；`DataLoader` 负责打乱与切小批量，`tqdm` 显示进度；
# - 线性回归的最小二乘解可以直接求出，SGD 收敛到它附近（学习率逐渐减小时贴得更近）；它与真实参数的差来自噪声，
#   量级 $\sigma/\sqrt N$；
#   训练损失停在噪声方差 $\sigma^2$ 附近，再训练也学不走噪声。
#
# ## 练习
#
# 1. ★ 把第 6 步的 `optimizer.zero_grad()` 删掉（或注释掉）再训练。损失曲线会怎样？为什么？
#    （提示：第 01 课的梯度累加；梯度越积越大，相当于学习率越来越大。）
# 2. ★ 把学习率分别改成 0.01 和 1.0，各训练 20 轮，比较最终损失。学习率 1.1 呢？
#    与第 02 课第 2 步的结论（二阶导数 $f''$、$\alpha < 2/f''$）对照：这里均方误差的“曲率”约为 2（特征方差为 1）。
# 3. ★★ 不用 `DataLoader`，每步用全部数据（批量梯度下降），学习率 0.1，需要多少步损失才降到 0.26 以下？
#    每步花的时间和小批量比呢？
# 4. ★★★ 用 `make_regression(n_samples=N, ...)` 取 N = 30、100、1000、10000，画出闭式解与真实参数的差随 N 变化的图，
#    验证它按 $1/\sqrt N$ 缩小。
#
# 全部练习的答案见 `lessons/answers/05_linear_regression_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。完整模式与快速模式的样本数、轮数不同，数也不同——
# 以 `QUICK` 对应的那一份为准。在 CPU 上运行；`--device cuda` 的结果在浮点舍入范围内相同。进度条的速度因机器而异。

# %%
R = RESULTS
w0, w1, b0 = R["linear_init"]
table = "\n".join(
    f"  | {name} | {fmt(w)} | {b:+.4f} | {m:.6f} |"
    for name, w, b, m in [("真实值", R["w_true"], R["b_true"], R["mse_true"]),
                          ("闭式解 (lstsq)", R["w_lstsq"], R["b_lstsq"], R["mse_lstsq"]),
                          ("SGD，学习率衰减", R["w_sgd"], R["b_sgd"], R["mse_sgd"]),
                          ("SGD，学习率恒定", R["w_const"], R["b_const"], R["mse_const"])])
if R["gap_to_lstsq"] > R["gap_const_to_lstsq"]:
    verdict = (f"步数只有 {R['n_steps']} 时学习率降得过早，衰减版反而离闭式解更远"
               f"（{R['gap_to_lstsq']:.4f} 对 {R['gap_const_to_lstsq']:.4f}）——调度器要配合足够的训练步数")
else:
    verdict = (f"学习率衰减让参数贴闭式解更近（{R['gap_to_lstsq']:.4f} 对 {R['gap_const_to_lstsq']:.4f}）："
               "衰减缩小了参数在最优点周围的抖动")
shape = "(" + ", ".join(str(s) for s in R["broadcast_shape"]) + ")"
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'；{R['n_samples']} 个样本、{R['epochs']} 轮、{R['n_steps']} 步）：
- 数据：真实 w = {fmt(R['w_true'], 1)}，b = {R['b_true']}，σ = {NOISE}；
- 第 2 步：nn.Linear(2, 1) 的初始权重 {fmt([w0, w1])}、偏置 {b0:+.4f}（tg.manual_seed(0)）；
  自己写的模块与 nn.Linear 放进同一组数后输出最大差 {R['module_diff']:.1e}；
- 第 3 步：初始损失 {R['initial_loss']:.6f}，backward 与公式 2/N·Xᵀr 的最大差 {R['mse_grad_diff']:.1e}；
  ({R['n_samples']}, 1) 减 ({R['n_samples']},) 广播成 {shape}，“损失”变成 {R['broadcast_loss']:.4f}，\
收到 UserWarning：{R['broadcast_warned']}；
- 第 4 步：step() 与手算的最大差 {R['sgd_step_diff']:.1e}；第 5 步：一轮 {R['n_batches']} 批，最后一批 {R['last_batch']} 个样本；
- 第 6 步：第 1 轮后全数据损失 {R['first_epoch_loss']:.6f}，第 {R['epochs']} 轮后 {R['final_loss']:.6f}\
（学习率 {' → '.join(f'{v:.4g}' for v in R['lr_schedule'])}）；学习率恒为 0.1 的对照 {R['const_final_loss']:.6f}；
- 第 7 步：
  | | w | b | 训练集 MSE |
  |---|---|---|---|
{table}
  与闭式解的最大差：衰减 {R['gap_to_lstsq']:.4f}，恒定 {R['gap_const_to_lstsq']:.4f}；\
闭式解与真实值的最大差 {R['gap_lstsq_to_true']:.4f}（σ/√N = {NOISE / np.sqrt(R['n_samples']):.4f}）；
  {verdict}；
- 图片：{R['figure_loss']}、{R['figure_plane']}。""")
