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
# # 第 02 课：梯度下降
#
# **学习目标**
#
# - 理解梯度下降 (gradient descent) 的更新规则 $\theta \leftarrow \theta - \alpha \nabla J(\theta)$ 从哪里来；
# - 在一维二次函数上推出学习率 (learning rate) 何时收敛、何时振荡、何时发散，并用框架验证；
# - 看到非凸函数上起点决定了落进哪个局部极小值；
# - 在二维的 Rosenbrock 函数上比较三个学习率：太小、合适、太大；
# - 只用张量运算和手写的更新步骤，训练一个逻辑回归（logistic 回归）分类器。
#
# **前置知识**：第 01 课（`backward()`、`.grad` 会累加、`no_grad`）；偏导数与梯度的概念。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/02_gradient_descent.py            # 完整模式（几秒钟）
# python lessons/02_gradient_descent.py --quick    # 快速模式：迭代步数少得多
# python lessons/02_gradient_descent.py --device cuda
# jupytext --to notebook lessons/02_gradient_descent.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。

# %% tags=["parameters"]
QUICK = False    # 快速模式：迭代步数少得多（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.lesson import lesson_args, progress, show
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

# %% [markdown]
# ## 第 1 步：更新规则
#
# 训练模型就是找参数 (parameter) $\theta$，让损失函数 (loss function) $J(\theta)$ 尽量小。
# 梯度 (gradient) $\nabla J(\theta)$ 是 $J$ 增长最快的方向，于是沿它的反方向走一小步：
#
# $$\theta \leftarrow \theta - \alpha \nabla_\theta J(\theta),$$
#
# 其中 $\alpha > 0$ 是学习率，一个由我们选定、不被训练的超参数 (hyperparameter)。
# 原文 §4.1.2 列出的第一个公式“梯度下降法”正是这一条，它是对的（同一节后面的动量法和 Adam 公式有误，
# 第 08 课再讲）。
#
# 为什么小步一定下降？一阶泰勒展开：记 $g = \nabla J(\theta)$，
#
# $$J(\theta - \alpha g) \approx J(\theta) - \alpha \lVert g \rVert^2 < J(\theta)\quad(\alpha\ \text{足够小},\ g \ne 0).$$
#
# “足够小”有多小，取决于函数弯曲得多厉害（二阶导数），这正是下面几步要看的。
#
# 在本框架里，一步梯度下降写成：
#
# ```python
# loss = J(theta)          # 前向：建计算图
# loss.backward()          # 反向：梯度存进 theta.grad
# with tg.no_grad():       # 更新本身不该被记进计算图
#     theta.data -= lr * theta.grad.data
# theta.grad = None        # 清零：否则下一步的梯度会累加到这一步上（第 01 课第 7 步）
# ```
#
# 更新参数这一步本身不应进入计算图。直接改写 `.data` 本来就不会建图，`no_grad` 是一层保险。
# 注意是**原地**改写 `theta.data`：如果写成 `theta = theta - lr * theta.grad`，得到的是一个新张量——
# 在 `no_grad` 外，它连着旧的计算图、不再是叶子；在 `no_grad` 里，它的 `requires_grad` 是 False——
# 两种情况下，下一步的 `backward()` 都不会再把梯度存进它的 `.grad`。
# 第 05 课起，这四行由优化器 (optimizer) `optim.SGD` 的 `step()` 和 `zero_grad()` 代劳。


# %%
def gd_step(param, lr):
    """一步梯度下降：param ← param − lr · param.grad，然后清零梯度。lr 可以是数，也可以是同形的张量。"""
    if isinstance(lr, tg.Tensor):   # 每个元素各有一个学习率（第 2 步同时跑四个学习率时用）
        lr = lr.data
    with tg.no_grad():
        param.data -= lr * param.grad.data
    param.grad = None


# 试一步：f(x) = (x − 2)²，x = −1，f′(−1) = −6，学习率 0.1 → x = −1 − 0.1·(−6) = −0.4
x = tg.tensor(-1.0, device=DEVICE, requires_grad=True)
((x - 2) ** 2).backward()
print(f"x = -1.0，梯度 {x.grad.item()}；", end="")
gd_step(x, 0.1)
print(f"走一步（α = 0.1）后 x = {x.item():.4f}，x.grad = {x.grad}（已清零）")

# %% [markdown]
# ## 第 2 步：一维二次函数——学习率决定收敛、振荡还是发散
#
# 取 $f(x) = (x - 2)^2$，最小值在 $x^* = 2$，$f'(x) = 2(x - 2)$。代入更新规则：
#
# $$x_{t+1} - 2 = x_t - 2 - 2\alpha(x_t - 2) = (1 - 2\alpha)(x_t - 2)
# \quad\Longrightarrow\quad x_t - 2 = (1 - 2\alpha)^t (x_0 - 2).$$
#
# 每一步误差乘以 $r = 1 - 2\alpha$，于是：
#
# - $0 < \alpha < 0.5$：$0 < r < 1$，单调地靠近 2；
# - $\alpha = 0.5$：$r = 0$，一步到位；
# - $0.5 < \alpha < 1$：$-1 < r < 0$，在 2 的两侧来回**振荡**，但越来越近；
# - $\alpha > 1$：$|r| > 1$，越跳越远，**发散**。
#
# 一般地，二阶导数 $f'' = c$ 的二次函数在 $\alpha < 2/c$ 时收敛。曲率越大，允许的学习率越小。
#
# 下面把四个学习率放进**同一个**形状为 `(4,)` 的张量里一起跑：每个元素的函数值只依赖它自己，
# 所以 `f(x).sum().backward()` 一次得到四个互不相干的导数（第 01 课第 9 步的技巧）。
# 从 $x_0 = -1$ 出发走 20 步，再与公式 $(1 - 2\alpha)^{20} \cdot (-3)$ 对比。

# %%
quad_lrs = [0.1, 0.5, 0.9, 1.1]
n_steps, x0 = 20, -1.0
x = tg.full((len(quad_lrs),), x0, device=DEVICE, requires_grad=True)
lr = tg.tensor(quad_lrs, device=DEVICE)
quad_path = [x.detach().tolist()]
for _ in range(n_steps):
    ((x - 2) ** 2).sum().backward()
    gd_step(x, lr)
    quad_path.append(x.detach().tolist())
print(f"从 x0 = {x0} 出发走 {n_steps} 步：")
quad_formula = [2 + (1 - 2 * a) ** n_steps * (x0 - 2) for a in quad_lrs]
for a, xe, xf in zip(quad_lrs, quad_path[-1], quad_formula):
    print(f"  α = {a}：r = 1 − 2α = {1 - 2 * a:+.1f}，x_20 = {xe:.6f}，公式给出 {xf:.6f}")
RESULTS.update({"quad_lrs": quad_lrs, "quad_final": quad_path[-1], "quad_formula": quad_formula})

# %% [markdown]
# ## 第 3 步：非凸函数——起点决定终点
#
# 神经网络的损失函数不是碗形的。看 $f(x) = x^4 - 3x^2 + x$，$f'(x) = 4x^3 - 6x + 1$。
# 它有两个局部极小值：$x \approx -1.30$（全局最小，$f \approx -3.51$）和 $x \approx 1.13$（$f \approx -1.07$），
# 中间 $x \approx 0.17$ 处是一个局部极大值。梯度下降只看脚下的坡度：从 $x_0 = -0.5$ 出发滑进左边的坑，
# 从 $x_0 = 0.5$ 出发滑进右边的坑，后者就停在了一个不是最好的地方。
# 深度学习里参数成千上万，情况更复杂，但“起点（初始化）影响结果”这一点不变（第 10 课）。


# %%
def quartic(x):
    return x ** 4 - 3 * x ** 2 + x


starts, lr = [-0.5, 0.5], 0.02
n_steps = 40 if QUICK else 100
x = tg.tensor(starts, device=DEVICE, requires_grad=True)
quartic_path = [x.detach().tolist()]
for _ in range(n_steps):
    quartic(x).sum().backward()
    gd_step(x, lr)
    quartic_path.append(x.detach().tolist())
with tg.no_grad():
    fx = quartic(x).tolist()
for s, xe, fe in zip(starts, quartic_path[-1], fx):
    print(f"从 x0 = {s:+.1f} 出发，学习率 {lr}，{n_steps} 步后 x = {xe:.4f}，f(x) = {fe:.4f}")
RESULTS.update({"quartic_steps": n_steps, "quartic_final": quartic_path[-1], "quartic_f": fx})

# %% [markdown]
# 把第 2、3 步画出来：左图是四个学习率下 $x_t$ 的轨迹，右图是两个起点在 $f(x) = x^4 - 3x^2 + x$ 上滑下去的路径
# （星号是终点）。


# %%
def plot_1d(quad_lrs, quad_path, quartic_path):
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11, 4.2))
    path = np.array(quad_path)
    for i, a in enumerate(quad_lrs):
        ax1.plot(path[:, i], marker="o", ms=3, label=f"α = {a}")
    ax1.axhline(2, color="gray", ls="--", lw=0.8)
    ax1.set_ylim(-4, 8)
    ax1.set_xlabel(label("迭代步 t", "step t"))
    ax1.set_ylabel("x_t")
    ax1.set_title(label("f(x) = (x − 2)²：学习率的影响", "f(x) = (x - 2)^2: effect of the learning rate"))
    ax1.grid(alpha=0.3)
    ax1.legend()

    grid = np.linspace(-2.0, 2.0, 300)
    ax2.plot(grid, quartic(grid), color="black", lw=1.2)
    qpath = np.array(quartic_path)
    for i, color in enumerate(["C0", "C3"]):
        xs = qpath[:, i]
        ax2.plot(xs, quartic(xs), "o-", ms=3, lw=0.8, color=color,
                 label=label(f"起点 x0 = {xs[0]:+.1f}", f"start x0 = {xs[0]:+.1f}"))
        ax2.plot(xs[-1], quartic(xs[-1]), "*", ms=14, color=color)
    ax2.set_xlabel("x")
    ax2.set_title(label("f(x) = x⁴ − 3x² + x：起点决定终点", "f(x) = x^4 - 3x^2 + x: the start decides"))
    ax2.grid(alpha=0.3)
    ax2.legend()
    fig.tight_layout()
    return fig


RESULTS["figure_1d"] = str(show(plot_1d(quad_lrs, quad_path, quartic_path), "02_gd_1d.png"))

# %% [markdown]
# ## 第 4 步：Rosenbrock 函数与三个学习率
#
# Rosenbrock 函数是优化算法的经典考题：
#
# $$J(x, y) = (1 - x)^2 + 100\,(y - x^2)^2,$$
#
# 最小值 $J = 0$ 在 $(1, 1)$。它有一条弯弯的、又窄又平的山谷（沿着 $y = x^2$）：垂直于山谷的方向非常陡，
# 沿着山谷的方向非常平。在最小值处，二阶导数矩阵（Hessian）的最大特征值约为 1001.6，按第 2 步的结论，
# 学习率必须小于 $2/1001.6 \approx 0.002$ 才能在那里稳定下来；而沿山谷方向的曲率只有约 0.4，
# 这么小的学习率在那个方向上走得极慢。一个学习率要同时照顾两个方向，这就是梯度下降在这里的难处。
#
# 从经典起点 $(-1.2, 1)$ 出发，比较三个学习率：
#
# - $\alpha = 0.0002$（太小）：稳定但太慢，走完全部步数还远没到山谷底部的 $(1, 1)$；
# - $\alpha = 0.002$（合适）：接近稳定的上限，沿山谷一路走到 $(1, 1)$ 附近；
# - $\alpha = 0.004$（太大）：在山谷两壁之间来回振荡，卡在某处（那里横跨山谷方向的曲率约为 $2/\alpha$）
#   再也前进不了，损失反而会回升；
# - 再大一些，例如 $\alpha = 0.01$，几步之内就飞到无穷远（发散）。


# %%
def rosenbrock(theta):
    x, y = theta[0], theta[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def run_gd_2d(fn, start, lr, n_steps, device, desc=None):
    """从 start 出发做 n_steps 步梯度下降；坐标离开 ±1000 或变成 inf/nan 时停止（发散）。"""
    theta = tg.tensor(start, device=device, requires_grad=True)
    path, losses = [list(start)], []
    diverged_at = None
    for t in progress(range(n_steps), desc=desc or f"lr = {lr}", leave=False):
        loss = fn(theta)
        losses.append(loss.item())
        loss.backward()
        gd_step(theta, lr)
        point = theta.detach().tolist()
        path.append(point)
        if not all(math.isfinite(v) and abs(v) < 1e3 for v in point):
            diverged_at = t + 1
            break
    return {"path": path, "losses": losses, "diverged_at": diverged_at}


start = (-1.2, 1.0)
rosen_steps = 300 if QUICK else 5000
rosen_runs = {}
for name, lr in [("too_small", 0.0002), ("good", 0.002), ("too_large", 0.004)]:
    r = run_gd_2d(rosenbrock, start, lr, rosen_steps, DEVICE, desc=f"α = {lr}")
    with tg.no_grad():
        r["final_loss"] = rosenbrock(tg.tensor(r["path"][-1], device=DEVICE)).item()
    r.update(lr=lr, final=r["path"][-1])
    rosen_runs[name] = r
    print(f"α = {lr:<7}{rosen_steps} 步后 θ = ({r['final'][0]:.4f}, {r['final'][1]:.4f})，J = {r['final_loss']:.3e}")
last = rosen_runs["too_large"]["path"]
print(f"α = 0.004 的最后两个点：({last[-2][0]:.3f}, {last[-2][1]:.3f}) 与 ({last[-1][0]:.3f}, {last[-1][1]:.3f})")
blow = run_gd_2d(rosenbrock, start, 0.01, rosen_steps, DEVICE)
print(f"α = 0.01：第 {blow['diverged_at']} 步就发散了，θ = ({blow['path'][-1][0]:.3g}, {blow['path'][-1][1]:.3g})")
RESULTS.update({
    "rosen_steps": rosen_steps,
    "rosen_lr": {k: r["lr"] for k, r in rosen_runs.items()},
    "rosen_final": {k: r["final"] for k, r in rosen_runs.items()},
    "rosen_final_loss": {k: r["final_loss"] for k, r in rosen_runs.items()},
    "rosen_too_large_last2": last[-2:],
    "rosen_diverged_at": blow["diverged_at"],
})

# %% [markdown]
# 左图是三条轨迹（等高线取了对数），右图是三条损失曲线（对数坐标）。


# %%
def plot_rosenbrock(rosen_runs):
    fig, (ax1, ax2) = subplots(1, 2, figsize=(12, 4.8))
    gx, gy = np.meshgrid(np.linspace(-2.0, 2.0, 300), np.linspace(-1.0, 3.0, 300))
    gz = (1 - gx) ** 2 + 100 * (gy - gx ** 2) ** 2
    # 等高线取对数：山谷底部的 J 很小、两壁很大，线性刻度会把山谷挤成一条线
    ax1.contour(gx, gy, np.log10(gz + 1e-3), levels=np.linspace(-1, 3.5, 19), cmap="viridis", linewidths=0.6)
    names = {"too_small": ("太小", "too small"), "good": ("合适", "good"), "too_large": ("太大", "too large")}
    colors = {"too_small": "C0", "good": "C2", "too_large": "C3"}
    zorder = {"too_small": 4, "good": 2, "too_large": 3}   # “太小”的路径与“合适”的重合，画在最上面
    for key, r in rosen_runs.items():
        p = np.array(r["path"])
        zh, en = names[key]
        ax1.plot(p[:, 0], p[:, 1], ".-", ms=2, lw=1.0, color=colors[key], zorder=zorder[key],
                 label=label(f"α = {r['lr']}（{zh}）", f"lr = {r['lr']} ({en})"))
        ax1.plot(p[-1, 0], p[-1, 1], "o", ms=7, color=colors[key], markeredgecolor="black", zorder=5)
        ax2.semilogy(np.maximum(r["losses"], 1e-12), color=colors[key], label=f"α = {r['lr']}")
    ax1.plot(-1.2, 1.0, "ks", ms=6, label=label("起点 (−1.2, 1)", "start (-1.2, 1)"))
    ax1.plot(1.0, 1.0, "y*", ms=16, markeredgecolor="black", label=label("最小值 (1, 1)", "minimum (1, 1)"))
    ax1.set_xlim(-2, 2)
    ax1.set_ylim(-1, 3)
    ax1.set_xlabel("x")
    ax1.set_ylabel("y")
    ax1.set_title(label("Rosenbrock 函数上的梯度下降轨迹", "gradient descent on the Rosenbrock function"))
    ax1.legend(loc="upper center", fontsize=8)
    ax2.set_xlabel(label("迭代步", "step"))
    ax2.set_ylabel(label("损失 J（对数坐标）", "loss J (log scale)"))
    ax2.set_title(label("损失曲线", "loss curves"))
    ax2.grid(alpha=0.3, which="both")
    ax2.legend()
    fig.tight_layout()
    return fig


RESULTS["figure_rosenbrock"] = str(show(plot_rosenbrock(rosen_runs), "02_rosenbrock.png"))

# %% [markdown]
# ## 第 5 步：用梯度下降训练逻辑回归
#
# 最后把梯度下降用在一个真正的学习问题上：二分类。数据是两个交错的“月牙” (two moons)，每个点有两个特征 (feature)
# $x \in \mathbb{R}^2$ 和一个标签 (label) $y \in \{0, 1\}$。数据模块还没有写（第 05 课起才有），这里用固定种子的 NumPy
# 当场生成。
#
# **模型**：逻辑回归（logistic regression，也译 logistic 回归）。权重 $w \in \mathbb{R}^{2}$、偏置 $b$：
#
# $$p_i = \sigma(x_i^\top w + b),$$
#
# $p_i$ 是“第 $i$ 个点属于类别 1”的概率。写成矩阵：$p = \sigma(Xw + b)$，$X$ 的形状是 `(N, 2)`。
#
# **损失**：二元交叉熵 (cross-entropy)，即负对数似然 (negative log-likelihood) 的平均：
#
# $$J(w, b) = -\frac{1}{N}\sum_{i=1}^{N}\big[y_i \ln p_i + (1 - y_i)\ln(1 - p_i)\big].$$
#
# **梯度**：记 $z_i = x_i^\top w + b$。对单个样本，$\partial \ell/\partial p = -y/p + (1 - y)/(1 - p)$，
# $\partial p/\partial z = p(1 - p)$，两者相乘化简成一个漂亮的结果 $\partial \ell/\partial z = p - y$。于是
#
# $$\nabla_w J = \frac{1}{N} X^\top (p - y),\qquad \frac{\partial J}{\partial b} = \frac{1}{N}\sum_i (p_i - y_i).$$
#
# 我们不用这个公式训练（让 `backward()` 去算），只用它来核对框架的梯度。
#
# 几个细节：
#
# - 特征先标准化 (standardization) 成均值 0、标准差 1：各方向曲率相近，同一个学习率对所有参数都合适（对照第 4 步的山谷）；
# - 参数从 0 开始。这个损失对 $(w, b)$ 是凸的，只有一个最小值，初始化无关紧要；初始损失正好是 $\ln 2 \approx 0.693147$
#   （$p = 0.5$）；
# - 取对数前把 $p$ 截到 $[10^{-7}, 1 - 10^{-7}]$（`clamp`），防止 $\ln 0 = -\infty$。第 06 课会用数值更稳定的
#   融合版交叉熵 (`F.cross_entropy`) 代替这种写法；
# - 逻辑回归的决策边界 $w^\top x + b = 0$ 是一条直线，而月牙不是直线能分开的，所以准确率 (accuracy) 到不了 100%。
#   第 07 课的多层感知机会画出弯曲的边界。


# %%
def make_moons(n, noise, seed):
    """两个交错的半圆（与 sklearn.datasets.make_moons 相同的形状）。返回 float32 的 X (n, 2) 与 y (n,)。"""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0 = rng.uniform(0.0, np.pi, n0)
    t1 = rng.uniform(0.0, np.pi, n - n0)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    X = np.concatenate([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)])
    return X.astype(np.float32), y.astype(np.float32)


def bce_loss(X, y, w, b):
    """二元交叉熵。X: (N, 2)，y: (N, 1)，w: (2, 1)，b: (1,)。"""
    p = (X @ w + b).sigmoid().clamp(1e-7, 1 - 1e-7)
    return -(y * p.log() + (1 - y) * (1 - p).log()).mean(), p


X_np, y_np = make_moons(200, noise=0.15, seed=0)
mean, std = X_np.mean(axis=0), X_np.std(axis=0)   # 在主机上算好标准化参数，画图时还要用
X = tg.tensor((X_np - mean) / std, device=DEVICE)
y = tg.tensor(y_np, device=DEVICE).reshape(-1, 1)
n = X.shape[0]
print(f"数据：{n} 个点，特征形状 {X.shape}，类别 1 占 {y.mean().item():.2f}")

w = tg.zeros(2, 1, device=DEVICE, requires_grad=True)
b = tg.zeros(1, device=DEVICE, requires_grad=True)

# 核对：框架的梯度 vs 手推公式 ∇w = Xᵀ(p − y)/N，∂b = mean(p − y)
loss, p = bce_loss(X, y, w, b)
loss.backward()
with tg.no_grad():
    gw = X.T @ (p - y) / n
    gb = (p - y).mean()
grad_diff = max((w.grad - gw).abs().max().item(), abs(b.grad.item() - gb.item()))
print(f"初始损失 {loss.item():.6f}（ln 2 = {math.log(2):.6f}）；backward 与公式 Xᵀ(p − y)/N 的最大差 {grad_diff:.1e}")
w.grad, b.grad = None, None

lr = 0.5
n_steps = 30 if QUICK else 300
losses = []
for t in range(n_steps):
    loss, _ = bce_loss(X, y, w, b)
    losses.append(loss.item())
    loss.backward()
    gd_step(w, lr)
    gd_step(b, lr)
    if (t + 1) % (n_steps // 5) == 0:
        print(f"  第 {t + 1:4d} 步：损失 {losses[-1]:.4f}")
with tg.no_grad():
    final_loss, p = bce_loss(X, y, w, b)
    acc = ((p > 0.5).float() == y).float().mean().item()
print(f"学习率 {lr}，{n_steps} 步后：损失 {final_loss.item():.4f}，训练集准确率 {acc:.3f}")
print(f"w = {[round(v, 4) for v in w.detach().reshape(-1).tolist()]}，b = {b.item():.4f}")
RESULTS.update({"logreg_steps": n_steps, "logreg_initial_loss": losses[0], "logreg_grad_diff": grad_diff,
                "logreg_final_loss": final_loss.item(), "logreg_accuracy": acc,
                "logreg_w": w.detach().reshape(-1).tolist(), "logreg_b": b.item()})

# %% [markdown]
# 左图是学到的概率 $p(\text{类别 } 1)$ 与决策边界 $p = 0.5$（黑线），右图是训练损失，从 $\ln 2$ 开始下降。


# %%
def plot_logistic(X_np, y_np, mean, std, w, b, losses, acc):
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11, 4.4))
    gx, gy = np.meshgrid(np.linspace(-1.7, 2.7, 200), np.linspace(-1.2, 1.7, 200))
    # 网格点先按训练时同样的方式标准化，再代入 p = σ(wᵀx + b)
    z = ((gx - mean[0]) / std[0]) * w[0] + ((gy - mean[1]) / std[1]) * w[1] + b
    prob = 1 / (1 + np.exp(-z))
    cf = ax1.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    ax1.contour(gx, gy, prob, levels=[0.5], colors="black", linewidths=1.5)
    for cls, color, name in [(0, "C0", ("类别 0", "class 0")), (1, "C3", ("类别 1", "class 1"))]:
        m = y_np == cls
        ax1.scatter(X_np[m, 0], X_np[m, 1], s=12, color=color, edgecolors="white", linewidths=0.3,
                    label=label(*name))
    fig.colorbar(cf, ax=ax1, label=label("p(类别 1)", "p(class 1)"))
    ax1.set_title(label(f"逻辑回归：决策边界（准确率 {acc:.3f}）",
                        f"logistic regression: decision boundary (accuracy {acc:.3f})"))
    ax1.set_xlabel("x₁")
    ax1.set_ylabel("x₂")
    ax1.legend(loc="lower left", fontsize=8)

    ax2.plot(losses, color="C2")
    ax2.axhline(math.log(2), color="gray", ls="--", lw=0.8)
    ax2.text(0, math.log(2), " ln 2", va="bottom", color="gray")
    ax2.set_xlabel(label("迭代步", "step"))
    ax2.set_ylabel(label("交叉熵损失", "cross-entropy loss"))
    ax2.set_title(label("训练损失", "training loss"))
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    return fig


fig = plot_logistic(X_np, y_np, mean, std, w.detach().cpu().numpy().reshape(-1), b.item(), losses, acc)
RESULTS["figure_logreg"] = str(show(fig, "02_logreg.png"))

# %% [markdown]
# ## 小结
#
# - 梯度下降：$\theta \leftarrow \theta - \alpha \nabla J(\theta)$。框架里是 `backward()`、在 `no_grad` 下改写 `.data`、
#   再把 `.grad` 清零；
# - 二次函数上误差每步乘以 $1 - \alpha f''$：学习率小于 $2/f''$ 才收敛，大于 $1/f''$ 时振荡，大于 $2/f''$ 时发散；
# - 非凸函数上，起点决定落进哪个局部极小值；
# - 曲率在不同方向相差悬殊时（Rosenbrock 的山谷），一个学习率难以兼顾：小了走不动，大了来回振荡或发散。
#   动量法、Adam 等优化器就是为此而生（第 08 课）；
# - 逻辑回归 = 线性模型 + sigmoid + 交叉熵，梯度是 $X^\top(p - y)/N$；它的决策边界是直线。
#
# ## 练习
#
# 1. ★ 对 $f(x) = (x - 2)^2$ 用 $\alpha = 0.5$ 从任意起点出发，验证一步就到达 $x = 2$；再用 $\alpha = 1$ 试试，
#    会发生什么？用第 2 步的公式解释。
# 2. ★ 把 Rosenbrock 的学习率改成 0.003，跑 5000 步。它更像“合适”还是“太大”？看最后两步的坐标。
# 3. ★★ 给逻辑回归加上多项式特征 $x_1^2, x_2^2, x_1 x_2, x_1^3, x_2^3$（先标准化），重新训练，
#    准确率能到多少？画出弯曲的决策边界。
# 4. ★★★ 在 Rosenbrock 上实现动量法 (momentum)：$v \leftarrow \beta v + g,\ \theta \leftarrow \theta - \alpha v$
#    （$\beta = 0.9$）。与 $\alpha = 0.0002$ 的普通梯度下降比较。再想一想：原文 §4.1.2 的
#    “$\theta - \alpha\nabla J + \beta(1 - \alpha)\theta_{prev}$”为什么不是动量法？
#
# 全部练习的答案见 `lessons/answers/02_gradient_descent_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。二次函数的 20 步两种模式相同；
# 其余部分快速模式的步数少得多，数也不同——以 `QUICK` 对应的那一份为准。

# %%
R = RESULTS
quad = "，".join(f"α = {a} → x_20 = {xe:.6f}（公式 {xf:.6f}）"
                 for a, xe, xf in zip(R["quad_lrs"], R["quad_final"], R["quad_formula"]))
rosen = "；".join(f"α = {R['rosen_lr'][k]} → ({R['rosen_final'][k][0]:.4f}, {R['rosen_final'][k][1]:.4f})，"
                 f"J = {R['rosen_final_loss'][k]:.3e}" for k in ("too_small", "good", "too_large"))
leader = min(R["rosen_final_loss"], key=R["rosen_final_loss"].get)
if leader == "too_large":
    verdict = (f"步数只有 {R['rosen_steps']} 时，“太大”的 α = {R['rosen_lr']['too_large']} 暂时领先，"
               "它的问题要走得够久才看得出来")
else:
    verdict = f"损失最低的是 α = {R['rosen_lr'][leader]}"
(a1, b1), (a2, b2) = R["rosen_too_large_last2"]
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 二次函数 20 步：{quad}；
- 非凸函数（{R['quartic_steps']} 步）：从 −0.5 出发到 x = {R['quartic_final'][0]:.4f}，f = {R['quartic_f'][0]:.4f}；\
从 0.5 出发到 x = {R['quartic_final'][1]:.4f}，f = {R['quartic_f'][1]:.4f}；
- Rosenbrock（{R['rosen_steps']} 步）：{rosen}；
  {verdict}；α = {R['rosen_lr']['too_large']} 的最后两个点 ({a1:.3f}, {b1:.3f}) 与 ({a2:.3f}, {b2:.3f})；\
α = 0.01 在第 {R['rosen_diverged_at']} 步发散；
- 逻辑回归：初始损失 {R['logreg_initial_loss']:.6f}（ln 2 = {math.log(2):.6f}），\
backward 与手推梯度公式的最大差 {R['logreg_grad_diff']:.1e}；
  {R['logreg_steps']} 步后损失 {R['logreg_final_loss']:.4f}、训练集准确率 {R['logreg_accuracy']:.3f}，\
w = {[round(v, 4) for v in R['logreg_w']]}，b = {R['logreg_b']:.4f}；
- 图片：{R['figure_1d']}、{R['figure_rosenbrock']}、{R['figure_logreg']}。""")
