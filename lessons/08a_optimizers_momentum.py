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
# # 第 08 课（上）：优化器——SGD、动量法与原文勘误
#
# 原文（«AI大模型创业：如何利用国际优势？»）§4.1.2 和 §4.2.1 给出了动量法、AdaGrad、RMSprop 和 Adam 的公式，可惜几乎都写错了。
# 第 08 课分两半：上半课（本课）搭好试验场，学会把纸上的公式变成能运行的优化器，然后讲 SGD 与动量法 (momentum)——
# 原文 §4.1.2 的动量法
#
# $$\theta = \theta - \alpha \cdot \nabla_\theta J(\theta) + \beta \cdot (1 - \alpha) \cdot \theta_{\text{prev}}$$
#
# 把“上一步的**步子**”写成了“上一步的**参数**”。下半课（`lessons/08b_optimizers_adaptive.py`）讲 AdaGrad、RMSprop、
# Adam、AdamW 与学习率调度，直接沿用本课的试验场。
#
# 这一课不只是指出错误：我们把原文的公式**照字面**写成一个优化器，放到同一个曲面、同一个起点、同一个学习率上，
# 和正确的优化器（`tinygrad_zh.optim` 里的实现，算法与 PyTorch 逐步相同）并排跑，用数字和图看它错在哪里。
#
# **学习目标**
#
# 1. 能写出 SGD 与动量法的正确更新公式，并说出原文的动量法错在哪里；
# 2. 会继承 `optim.Optimizer` 写自己的优化器（只需实现 `step()`），并用它把纸上的公式变成可以运行的代码；
# 3. 会把动量法改写成“重球法” (heavy ball)，看出它多加的是上一步的**位移**；
# 4. 会用特征方程算出原文公式的发散速度，并用实验验证。
#
# **前置知识**：第 02 课（梯度下降、Rosenbrock 函数、学习率的稳定上限 $2/f''$）；第 05 课（`optim.SGD`、训练循环五行）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/08a_optimizers_momentum.py            # 完整模式（每个优化器 2000 步，几秒）
# python lessons/08a_optimizers_momentum.py --quick    # 快速模式：每个优化器 1000 步（QUICK_STEPS）
# python lessons/08a_optimizers_momentum.py --device cuda
# jupytext --to notebook lessons/08a_optimizers_momentum.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。

# %% tags=["parameters"]
QUICK = False    # 快速模式：每个优化器 1000 步而不是 2000 步（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
import unicodedata

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh import optim
from tinygrad_zh.lesson import lesson_args, progress, show
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

START = (-1.2, 1.0)          # Rosenbrock 的经典起点（与第 02 课相同）
FULL_STEPS = 2000            # 完整模式每个优化器的步数
QUICK_STEPS = 1000           # 快速模式：步数少一半，动量法（和下半课的自适应方法）也已明显接近最小值
OPTIMUM = (1.0, 1.0)         # 最小值所在的点，J = 0
BLOW_UP = 1e6                # 坐标的绝对值超过它（或变成 inf / nan）就算发散，停止这次运行
N_STEPS = QUICK_STEPS if QUICK else FULL_STEPS
RESULTS["n_steps"] = N_STEPS


def pad(text, width):
    """按终端显示宽度补空格（中文字符占两列），让表格对齐。"""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, width - shown)

# %% [markdown]
# ## 第 1 步：试验场——Rosenbrock 曲面与一个通用的运行函数
#
# 沿用第 02 课的 Rosenbrock 函数
#
# $$J(x, y) = (1 - x)^2 + 100\,(y - x^2)^2,\qquad \min J = 0 \ \text{在}\ (1, 1),$$
#
# 从 $(-1.2, 1)$ 出发。它有一条又窄又弯的山谷：横跨山谷的方向曲率约 1000，沿山谷的方向曲率不到 1。
# 第 02 课看到，普通梯度下降的学习率不能超过约 0.002，于是沿山谷走得极慢——这正是各种优化器想要解决的问题。
#
# 下面的 `run()` 对任何优化器都一样：就是第 05 课的训练循环五行，只是“模型”只有一个形状为 `(2,)` 的参数 $\theta = (x, y)$。
# 参数用 float64：这一课要把不同实现的结果比到 $10^{-12}$ 量级，float32 的舍入（约 $10^{-7}$）会淹没差别。
# 每次运行记录整条路径、每步的损失，以及（若发散）在第几步发散。下半课的所有优化器也用这同一个 `run()`。
#
# 记号：$g_t = \nabla J(\theta_{t-1})$ 是第 $t$ 步用到的梯度，$\alpha$ 是学习率，$t$ 从 1 开始数。


# %%
def rosenbrock(theta, scale=1.0):
    """J(x, y) = (1 − x)² + 100 (y − x²)²，可选乘一个常数 scale（下半课第 8 步的尺度测试用）。"""
    x, y = theta[0], theta[1]
    return ((1 - x) ** 2 + 100 * (y - x * x) ** 2) * scale


def rosenbrock_np(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def run(make_optimizer, name, n_steps, device, scale=1.0, start=START, make_scheduler=None):
    """从 start 出发用 make_optimizer([θ]) 给出的优化器走 n_steps 步。发散（|坐标| > 1e6 或 inf/nan）时提前停止。"""
    theta = tg.tensor(start, dtype=tg.float64, device=device, requires_grad=True)
    optimizer = make_optimizer([theta])
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    path, losses, diverged_at = [list(start)], [], None
    for t in progress(range(1, n_steps + 1), desc=name, unit="step", leave=False, disable=n_steps < 100):
        optimizer.zero_grad()
        loss = rosenbrock(theta, scale)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item() / scale)
        point = theta.detach().tolist()
        path.append(point)
        if not all(math.isfinite(v) and abs(v) < BLOW_UP for v in point):
            diverged_at = t
            break
    x, y = path[-1]
    if diverged_at is None:
        final_loss = rosenbrock_np(x, y)
        dist = math.hypot(x - OPTIMUM[0], y - OPTIMUM[1])
    else:
        final_loss = dist = math.inf
    return {"name": name, "path": path, "losses": losses, "diverged_at": diverged_at,
            "final_loss": final_loss, "dist": dist}


def describe(r):
    """一行结果：最终损失与到最小值 (1, 1) 的距离，或在第几步发散。"""
    if r["diverged_at"] is not None:
        x, y = r["path"][-1]
        return f"第 {r['diverged_at']} 步发散，θ = ({x:.3g}, {y:.3g})"
    x, y = r["path"][-1]
    return f"θ = ({x:.4f}, {y:.4f})，J = {r['final_loss']:.3e}，‖θ − (1, 1)‖ = {r['dist']:.3e}"


print(f"起点 θ₀ = {START}：J(θ₀) = {rosenbrock_np(*START):.2f}，离最小值 (1, 1) {math.dist(START, OPTIMUM):.2f}；"
      f"本次运行每个优化器最多走 {N_STEPS} 步（QUICK = {QUICK}）")

# %% [markdown]
# ## 第 2 步：把纸上的公式变成优化器
#
# 框架里的优化器都继承 `optim.Optimizer`：构造时把参数和超参数 (hyperparameter) 交给基类，它整理成
# `self.param_groups`（每组一个字典：`"params"` 是参数列表，其余键是 `lr` 等超参数），并为每个参数准备一个空字典
# `self.state[p]` 存放动量之类的状态。子类只需实现 `step()`。这和 PyTorch 里自己写优化器的方式完全相同。
#
# 为了让每条公式都写成“一行数学 = 一行代码”，我们先写一个小基类 `FormulaOptimizer`：`step()` 负责遍历参数、
# 数步数 `t`，子类只写 `update(xp, θ, g, state, hp)`，在原始数组上算出新的 $\theta$ 返回。
# `xp` 是 NumPy 或 CuPy（由参数所在的设备决定），所以同一份公式在 GPU 上也能跑。
# 更新直接写进 `p.data`，不经过自动微分（更新本身不该进入计算图，第 02 课第 1 步）。


# %%
class FormulaOptimizer(optim.Optimizer):
    """把一条更新公式变成优化器。子类实现 update(xp, theta, g, state, hp)，返回新的 θ（原始数组）。

    state 是这个参数自己的字典，state["t"] 是当前步数（从 1 开始）；hp 是参数组字典（lr 等超参数）。
    """

    def __init__(self, params, **hyperparameters):
        super().__init__(params, hyperparameters)

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["t"] = state.get("t", 0) + 1
                p.data = self.update(p.xp, p.data, p.grad.data, state, group)

    def update(self, xp, theta, g, state, hp):
        raise NotImplementedError

# %% [markdown]
# ## 第 3 步：基线——普通的随机梯度下降 (SGD)
#
# $$\theta_t = \theta_{t-1} - \alpha\, g_t.$$
#
# 原文 §4.1.2 的第一条“梯度下降法”就是它，是对的。取 $\alpha = 0.001$（稳定上限约 0.002 的一半），它沿山谷爬得很慢，
# 是后面所有方法的参照。

# %%
sgd = run(lambda ps: optim.SGD(ps, lr=0.001), "SGD", N_STEPS, DEVICE)
print(f"SGD（α = 0.001）：{N_STEPS} 步后 {describe(sgd)}")

# %% [markdown]
# ## 第 4 步：动量法——原文把“上一步的步子”写成了“上一步的参数”
#
# **原文 §4.1.2**：
#
# $$\theta = \theta - \alpha \cdot \nabla_\theta J(\theta) + \beta \cdot (1 - \alpha) \cdot \theta_{\text{prev}}$$
#
# **正确的动量法**（PyTorch 的写法，$\beta$ 常取 0.9）：
#
# $$v_t = \beta\, v_{t-1} + g_t,\qquad \theta_t = \theta_{t-1} - \alpha\, v_t\qquad(v_0 = 0).$$
#
# $v$ 是梯度的累积（“速度”）：方向一致的梯度越积越大，来回翻转的梯度互相抵消。把两式合起来消去 $v$，
# 就是 Polyak 的“重球法” (heavy ball)：
#
# $$\theta_t = \theta_{t-1} - \alpha\, g_t + \beta\,(\theta_{t-1} - \theta_{t-2}),$$
#
# 多出来的一项是**上一步的位移** $\theta_{t-1} - \theta_{t-2}$，而不是上一步的参数。
#
# **照字面读原文**：$\theta_{\text{prev}}$ 是上一步的参数值 $\theta_{t-2}$（第 1 步没有更早的值，取 $\theta_{\text{prev}} = \theta_0$）：
#
# $$\theta_t = \theta_{t-1} - \alpha\, g_t + \beta(1-\alpha)\,\theta_{t-2}.$$
#
# 这一项与损失无关，只与 $\theta$ 的大小有关。两个后果，不用跑就能算出来：
#
# - **最小值不是不动点**：在 $(1, 1)$ 处 $g = 0$，可 $\theta_1 = \theta_0 + \beta(1-\alpha)\theta_0 = 1.8991 \cdot (1, 1)$——
#   从最小值出发，第一步就离开了它；
# - **指数发散**：即使梯度为 0，$\theta_t = \theta_{t-1} + c\,\theta_{t-2}$（$c = \beta(1-\alpha) \approx 0.9$）的解按
#   $r^t$ 增长，$r$ 是 $r^2 = r + c$ 的正根 $r = (1 + \sqrt{1 + 4c})/2 \approx 1.572$：每步放大 57%。
#   我们用一个梯度恒为 0 的“损失”验证它：参数自己就会按这个比例越长越大。
#
# **宽容的读法**：如果作者想写的是上一步的**位移** $\theta_{t-1} - \theta_{t-2}$，那就是系数为 $\beta(1-\alpha)$ 的重球法，
# 与正确的动量法只差一点点。我们也把它跑一遍。


# %%
class SeedMomentum(FormulaOptimizer):
    """原文 §4.1.2 照字面：θ ← θ − α∇J + β(1−α)θ_prev，θ_prev 是上一步的参数值（第 1 步取 θ₀）。"""

    def update(self, xp, theta, g, state, hp):
        prev = state.get("prev", theta)
        state["prev"] = theta.copy()
        return theta - hp["lr"] * g + hp["beta"] * (1 - hp["lr"]) * prev


class SeedMomentumAsStep(FormulaOptimizer):
    """宽容的读法：把 θ_prev 换成上一步的位移 θ_{t−1} − θ_{t−2}（重球法，系数 β(1−α)）。"""

    def update(self, xp, theta, g, state, hp):
        step = state.get("last_step", xp.zeros_like(theta))
        new = theta - hp["lr"] * g + hp["beta"] * (1 - hp["lr"]) * step
        state["last_step"] = new - theta
        return new


class HandMomentum(FormulaOptimizer):
    """正确的动量法（PyTorch 的写法）：v ← βv + g；θ ← θ − αv。"""

    def update(self, xp, theta, g, state, hp):
        state["v"] = hp["beta"] * state.get("v", 0.0) + g
        return theta - hp["lr"] * state["v"]


def max_path_diff(a, b):
    """两条路径逐点的最大差（长度不同时按较短的比）。"""
    n = min(len(a["path"]), len(b["path"]))
    return float(np.max(np.abs(np.array(a["path"][:n]) - np.array(b["path"][:n]))))

# %% [markdown]
# 下面这一格让四个优化器从同一个起点、用同一个学习率 $\alpha = 0.001$、$\beta = 0.9$ 各走 `N_STEPS` 步：
# 库里的动量法、照公式手写的动量法、原文（照字面）和原文（宽容读法）。

# %%
mom_lr, mom_beta = 0.001, 0.9
momentum = run(lambda ps: optim.SGD(ps, lr=mom_lr, momentum=mom_beta), "SGD momentum", N_STEPS, DEVICE)
hand_momentum = run(lambda ps: HandMomentum(ps, lr=mom_lr, beta=mom_beta), "手写动量法", N_STEPS, DEVICE)
seed_momentum = run(lambda ps: SeedMomentum(ps, lr=mom_lr, beta=mom_beta), "原文动量法", N_STEPS, DEVICE)
seed_momentum_as_step = run(lambda ps: SeedMomentumAsStep(ps, lr=mom_lr, beta=mom_beta), "原文（宽容读法）",
                            N_STEPS, DEVICE)
momentum_hand_diff = max_path_diff(momentum, hand_momentum)
print(f"正确（optim.SGD(momentum=0.9)）：{describe(momentum)}")
print(f"手写 v ← βv + g; θ ← θ − αv 与 optim.SGD 整条路径的最大差：{momentum_hand_diff:.1e}")
print(f"原文（照字面，θ_prev = 上一步的参数）：{describe(seed_momentum)}")
print(f"原文（宽容读法，θ_prev = 上一步的位移）：{describe(seed_momentum_as_step)}")
print(f"同样的 α = {mom_lr}：动量法的最终损失是 SGD 的 {momentum['final_loss'] / sgd['final_loss']:.1e} 倍")
runs = {"sgd": sgd, "momentum": momentum, "seed_momentum": seed_momentum,
        "seed_momentum_as_step": seed_momentum_as_step}
RESULTS.update({
    "final_loss": {k: r["final_loss"] for k, r in runs.items()},
    "dist": {k: r["dist"] for k, r in runs.items()},
    "diverged_at": {k: r["diverged_at"] for k, r in runs.items()},
    "hand_diff": {"momentum": momentum_hand_diff},
})

# %% [markdown]
# 再验证上面“不用跑就能算出来”的两个后果：从最小值 $(1, 1)$ 出发（梯度为 0，正确的优化器一动不动，原文的公式第一步就离开），
# 以及一个梯度恒为 0 的“损失”上参数按 $r$ 倍/步增长（$\theta_t = \theta_{t-1} + c\,\theta_{t-2}$，相邻两步之比趋于 $r$）。

# %%
at_min = run(lambda ps: SeedMomentum(ps, lr=mom_lr, beta=mom_beta), "原文动量法@最小值", 3, DEVICE, start=OPTIMUM)
still = run(lambda ps: optim.SGD(ps, lr=mom_lr, momentum=mom_beta), "动量法@最小值", 3, DEVICE, start=OPTIMUM)
c = mom_beta * (1 - mom_lr)
growth_rate = (1 + math.sqrt(1 + 4 * c)) / 2
p = at_min["path"]
print(f"从最小值 (1, 1) 出发：原文公式 θ₁ = ({p[1][0]:.4f}, {p[1][1]:.4f})，θ₂ = ({p[2][0]:.4f}, {p[2][1]:.4f})，"
      f"θ₃ = ({p[3][0]:.4f}, {p[3][1]:.4f})；正确的动量法 θ₃ = {tuple(round(v, 4) for v in still['path'][-1])}")

w = tg.tensor([1.0], dtype=tg.float64, device=DEVICE, requires_grad=True)
opt = SeedMomentum([w], lr=mom_lr, beta=mom_beta)
growth_values = [1.0]
for _ in range(20):
    opt.zero_grad()
    (w * 0.0).sum().backward()
    opt.step()
    growth_values.append(w.item())
growth_measured = growth_values[-1] / growth_values[-2]
print(f"梯度恒为 0 时：c = β(1 − α) = {c:.4f}，理论增长率 r = (1 + √(1 + 4c))/2 = {growth_rate:.4f}；"
      f"20 步后 w = {growth_values[-1]:.4g}，实测 w₂₀/w₁₉ = {growth_measured:.4f}")
RESULTS.update({"seed_momentum_from_min": p[1], "still_momentum_at_min": still["path"][-1],
                "momentum_growth_rate": growth_rate, "momentum_growth_measured": growth_measured,
                "momentum_growth_w20": growth_values[-1]})

# %% [markdown]
# 把四条路径画在 Rosenbrock 的等高线上，再画出损失曲线。实线是正确的公式，虚线是原文的公式；
# 发散的路径坐标可达 $10^{15}$，画到离开画框的那一点为止（用 × 标出）。
# 两个画图函数 `plot_paths`、`plot_losses` 对任意一组运行结果都适用，下半课用它们画自适应方法。


# %%
def clipped(path, box=(-2.5, 2.5, -1.5, 3.5)):
    """截到第一个离开画框的点为止，并把那个点夹到框边上（发散的路径坐标可达 1e15，不能直接画）。"""
    x0, x1, y0, y1 = box
    p = np.array(path, dtype=float)
    outside = ~((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1) & np.isfinite(p).all(axis=1))
    if outside.any():
        k = int(np.argmax(outside))
        p = p[:k + 1]
        p[-1] = [np.clip(np.nan_to_num(p[-1, 0], posinf=x1, neginf=x0), x0, x1),
                 np.clip(np.nan_to_num(p[-1, 1], posinf=y1, neginf=y0), y0, y1)]
        return p, True
    return p, False


def curve_label(r, name):
    """图例文字：name 可写成 ("中文", "english")；发散的运行加上在第几步发散。"""
    text = label(*name) if isinstance(name, tuple) else name
    if r["diverged_at"] is not None:
        text += label(f"（第 {r['diverged_at']} 步发散）", f" (diverged at step {r['diverged_at']})")
    return text


def plot_paths(runs, panels):
    """Rosenbrock 对数等高线上的轨迹。panels = [(标题, [(runs 的键, 图例, 颜色, 线型), ...]), ...]，一组一个面板。"""
    gx, gy = np.meshgrid(np.linspace(-2.5, 2.5, 300), np.linspace(-1.5, 3.5, 300))
    gz = np.log10(rosenbrock_np(gx, gy) + 1e-3)   # 对数等高线：山谷底部与两壁差好几个数量级
    ncols = 1 if len(panels) == 1 else 2
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = subplots(nrows, ncols, figsize=(6 * ncols + (1 if ncols == 1 else 0), 5 * nrows + 0.4), squeeze=False)
    for ax, (title, curves) in zip(axes.ravel(), panels):
        ax.contour(gx, gy, gz, levels=np.linspace(-1, 3.5, 19), cmap="viridis", linewidths=0.5, alpha=0.7, zorder=1)
        for key, name, color, ls in curves:
            r = runs[key]
            p, left = clipped(r["path"])
            # 正确的路径画粗一点、放在下层：宽容读法的路径几乎与它重合，要能同时看见两条
            lw = 3.0 if ls == "-" and key != "sgd" else 1.4
            ax.plot(p[:, 0], p[:, 1], ls, color=color, lw=lw, marker=".", ms=2, label=curve_label(r, name),
                    zorder=2 if lw > 2 else 3)
            ax.plot(p[-1, 0], p[-1, 1], "x" if left else "o", color=color, ms=9, mew=2)
        ax.plot(*START, "ks", ms=6)
        ax.plot(*OPTIMUM, "y*", ms=16, markeredgecolor="black")
        ax.set_xlim(-2.5, 2.5)
        ax.set_ylim(-1.5, 3.5)
        ax.set_title(label(*title))
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(label("Rosenbrock 上的轨迹：实线 = 正确的公式，虚线 = 原文的公式（× = 离开画面）",
                       "Rosenbrock paths: solid = correct rule, dashed = the article's formula (x = left the frame)"))
    fig.tight_layout()
    return fig


def plot_losses(runs, curves, n_steps):
    """损失曲线，横轴、纵轴都取对数；curves = [(runs 的键, 图例, 颜色, 线型), ...]。发散的曲线在发散处画 ×。"""
    fig, ax = subplots(figsize=(8, 5))
    for key, name, color, ls in curves:
        r = runs[key]
        losses = np.array(r["losses"], dtype=float)
        if r["diverged_at"] is not None:
            losses = np.minimum(np.nan_to_num(losses, nan=1e12, posinf=1e12), 1e12)   # 纵轴自动缩放，不被 1e300 撑开
        ax.semilogy(np.arange(1, len(losses) + 1), np.maximum(losses, 1e-18), ls, color=color,
                    label=curve_label(r, name))
        if r["diverged_at"] is not None:
            ax.plot(len(losses), losses[-1], "x", color=color, ms=10, mew=2)
    ax.set_xscale("log")   # 横轴也取对数：发散只发生在前十几步，线性横轴上看不见
    ax.set_xlim(1, n_steps)
    ax.set_xlabel(label("迭代步（对数坐标）", "step (log scale)"))
    ax.set_ylabel(label("损失 J（对数坐标）", "loss J (log scale)"))
    ax.set_title(label("损失曲线：实线 = 正确，虚线 = 原文", "loss curves: solid = correct, dashed = the article"))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2, loc="lower left")
    fig.tight_layout()
    return fig


MOMENTUM_CURVES = [("sgd", "SGD", "C7", "-"),
                   ("momentum", ("正确（与宽容读法几乎重合）", "correct (almost under the dotted one)"), "C2", "-"),
                   ("seed_momentum", ("原文（照字面）", "seed, literal"), "C3", "--"),
                   ("seed_momentum_as_step", ("原文（宽容读法）", "seed, as a step"), "C1", ":")]
RESULTS["figure_paths"] = str(show(plot_paths(runs, [(("动量法", "momentum"), MOMENTUM_CURVES)]),
                                   "08a_momentum_paths.png", dpi=110))
RESULTS["figure_losses"] = str(show(plot_losses(runs, MOMENTUM_CURVES, N_STEPS), "08a_momentum_losses.png"))

# %% [markdown]
# ## 小结
#
# | 方法 | 原文 | 正确 |
# |---|---|---|
# | SGD | $\theta - \alpha\nabla J$：对 | $\theta \leftarrow \theta - \alpha g$ |
# | 动量法 | $\theta - \alpha\nabla J + \beta(1-\alpha)\theta_{\text{prev}}$：加的是上一步的**参数**，最小值都不是不动点，按 1.57 倍/步发散 | $v \leftarrow \beta v + g,\ \theta \leftarrow \theta - \alpha v$（等价于加 $\beta$ 倍的上一步**位移**） |
#
# - 自己写优化器：继承 `optim.Optimizer`，实现 `step()`，状态放在 `self.state[p]`，超参数放在 `param_groups`；
# - 动量法 = 重球法：$\theta_t = \theta_{t-1} - \alpha g_t + \beta(\theta_{t-1} - \theta_{t-2})$。同样的学习率下，
#   沿山谷一致的梯度越积越大，所以它比 SGD 快得多（数字见下面的参考结果）；
# - 原文的 $\beta(1-\alpha)\theta_{\text{prev}}$ 与损失无关：$\theta_t = \theta_{t-1} + c\,\theta_{t-2}$ 的解按
#   $r = (1 + \sqrt{1 + 4c})/2$ 增长，只要 $\beta > 0$ 就发散；把 $\theta_{\text{prev}}$ 换成上一步的位移，它才是动量法。
#
# 下半课 `lessons/08b_optimizers_adaptive.py`：AdaGrad、RMSprop、Adam 的原文勘误，尺度测试，AdamW 与学习率调度。
#
# ## 练习
#
# 1. ★ 把原文动量法的 $\beta$ 改成 0.5 和 0，分别从 $(1, 1)$ 和 $(-1.2, 1)$ 出发。$\beta = 0$ 时它退化成什么？
#    $\beta = 0.5$ 时用 $r = (1 + \sqrt{1 + 4c})/2$ 预测每步的增长率，再用实验验证。
# 2. ★★ 试试 `optim.SGD(nesterov=True)`：它的公式是什么？用 `FormulaOptimizer` 写出来，与库里的实现逐步对照；
#    在 Rosenbrock 上比动量法快吗？
# 3. ★★ 动量法能用多大的学习率？在一维二次函数 $J = \frac{h}{2}\theta^2$ 上，把重球法写成
#    $\theta_t = (1 + \beta - \alpha h)\theta_{t-1} - \beta\theta_{t-2}$，由特征方程推出稳定条件 $0 < \alpha h < 2(1 + \beta)$
#    （SGD 是 $\alpha h < 2$），用 `optim.SGD(momentum=0.9)` 在上限两侧各试一个 $\alpha$ 验证；再在 Rosenbrock 上
#    找出动量法开始发散的学习率，和最小值处的曲率（约 1002）给出的上限比较。
#
# 全部练习的答案见 `lessons/answers/08a_optimizers_momentum_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。完整模式每个优化器 2000 步，快速模式 1000 步
# （其余设置相同）；发散的步数、从最小值出发与增长率的数与步数无关，两种模式相同。汇总表里“另一种模式”那一列来自
# `REFERENCE`：完整模式与快速模式各一次真实运行（CPU，float64）记下的数，测试会核对快速模式那一份与真实运行一致。
#
# 图片：`08a_momentum_paths.png`（轨迹）、`08a_momentum_losses.png`（损失曲线）。
# 运行时间（2 核 CPU）：完整模式约 3 秒，快速模式约 2 秒。

# %%
REFERENCE = {
    "full": {"n_steps": 2000,
             "final_loss": {"sgd": 7.821e-02, "momentum": 6.027e-09, "seed_momentum_as_step": 7.150e-09}},
    "quick": {"n_steps": 1000,
              "final_loss": {"sgd": 4.535e-01, "momentum": 2.505e-05, "seed_momentum_as_step": 2.744e-05}},
}
SUMMARY_ROWS = [("SGD（α=0.001）", "sgd"),
                ("动量法 正确（α=0.001, β=0.9）", "momentum"), ("动量法 原文（照字面）", "seed_momentum"),
                ("动量法 原文（宽容读法）", "seed_momentum_as_step")]

R = RESULTS
other = REFERENCE["full" if QUICK else "quick"]
other_name = "完整模式" if QUICK else "快速模式"
div = R["diverged_at"]
fm = R["seed_momentum_from_min"]
loss = R["final_loss"]
orders = math.log10(loss["sgd"] / loss["momentum"])
lenient = loss["seed_momentum_as_step"] / loss["momentum"]


def cell(final_loss, diverged_at, key):
    if diverged_at.get(key) is not None:
        return f"第 {diverged_at[key]} 步发散"
    return f"{final_loss[key]:.3e}"


print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'，每个优化器 {R['n_steps']} 步）：
- 同样的 α = 0.001，动量法的最终损失比 SGD 低 {orders:.1f} 个数量级（{loss['momentum']:.3e} 对 {loss['sgd']:.3e}）；
  原文的宽容读法（系数 β(1 − α) 的重球法）的损失是正确动量法的 {lenient:.2f} 倍，{'几乎一样' if lenient < 2 else '差得不少'}；
- 手写 v ← βv + g; θ ← θ − αv 与 optim.SGD(momentum=0.9) 整条路径的最大差 {R['hand_diff']['momentum']:.1e}；
- 原文动量法（照字面）在第 {div['seed_momentum']} 步发散；从最小值 (1, 1) 出发，θ₁ = ({fm[0]:.4f}, {fm[1]:.4f})，\
正确的动量法停在 ({R['still_momentum_at_min'][0]:g}, {R['still_momentum_at_min'][1]:g})；
  梯度恒为 0 时理论增长率 r = {R['momentum_growth_rate']:.4f}，实测 w₂₀/w₁₉ = {R['momentum_growth_measured']:.4f}\
（w₂₀ ≈ {R['momentum_growth_w20']:.0f}）。""")
print("\n汇总表（J(θ_N)；发散的写步数）：")
print(f"  {pad('规则', 34)}{pad('本次运行 N = ' + str(R['n_steps']), 22)}{other_name}参考 N = {other['n_steps']}")
for title, key in SUMMARY_ROWS:
    print(f"  {pad(title, 34)}{pad(cell(loss, div, key), 22)}{cell(other['final_loss'], div, key)}")
print("图片：" + "、".join(R[k] for k in ("figure_paths", "figure_losses")))
