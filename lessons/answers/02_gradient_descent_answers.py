# %% [markdown]
# # 第 02 课练习答案
#
# 运行方式：`python lessons/answers/02_gradient_descent_answers.py [--quick] [--device cuda]`

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.lesson import load_definitions, run_lesson, show
from tinygrad_zh.viz import label, matplotlib_available, subplots


def load_lesson():
    """取第 02 课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "02_gradient_descent.py")


# %% [markdown]
# ## 练习 1 ★：α = 0.5 与 α = 1
#
# 第 2 步的公式 $x_{t+1} - 2 = (1 - 2\alpha)(x_t - 2)$：
#
# - $\alpha = 0.5$：$1 - 2\alpha = 0$，不论起点在哪，$x_1 = 2$，一步到位；
# - $\alpha = 1$：$1 - 2\alpha = -1$，$x_{t+1} - 2 = -(x_t - 2)$，即 $x_{t+1} = 4 - x_t$。
#   迭代在 $x_0$ 和 $4 - x_0$ 之间永远来回跳：既不收敛，也不发散，正好处在稳定的边界 $\alpha = 2/f'' = 1$ 上。


# %%
def exercise1(device):
    lesson = load_lesson()
    starts = [-7.0, -1.0, 0.0, 5.0, 100.0]
    out = {}
    print("练习 1：f(x) = (x − 2)²")
    for lr in (0.5, 1.0):
        x = tg.tensor(starts, device=device, requires_grad=True)
        path = [x.detach().tolist()]
        for _ in range(4):
            ((x - 2) ** 2).sum().backward()
            lesson.gd_step(x, lr)
            path.append(x.detach().tolist())
        print(f"  α = {lr}：")
        for i, s in enumerate(starts):
            print(f"    起点 {s:6.1f}：" + " → ".join(f"{p[i]:g}" for p in path))
        out[f"lr{lr}_x1"] = path[1]
        if lr == 0.5:   # 一步到位
            assert all(abs(v - 2) < 1e-6 for v in path[1]), path[1]
        else:           # 在 x₀ 与 4 − x₀ 之间来回跳
            assert all(abs(p - (4 - s if t % 2 else s)) < 1e-4 * max(1, abs(s))
                       for t, pt in enumerate(path) for p, s in zip(pt, starts)), path
    return out


# %% [markdown]
# ## 练习 2 ★：Rosenbrock 上 α = 0.003
#
# 它属于“太大”：沿山谷前进一段后，在山谷两壁之间来回振荡，停在横跨山谷方向的曲率约为 $2/\alpha \approx 667$ 的地方，
# 损失停在约 0.33，而 $\alpha = 0.002$ 能把损失降到 $10^{-4}$ 以下。最后两步的坐标交替出现，就是振荡的证据。


# %%
def exercise2(device, quick):
    lesson = load_lesson()
    n_steps = 2000 if quick else 5000   # 振荡在一千多步后出现；每步不到 0.1 毫秒
    r = lesson.run_gd_2d(lesson.rosenbrock, (-1.2, 1.0), 0.003, n_steps, device)
    with tg.no_grad():
        final_loss = lesson.rosenbrock(tg.tensor(r["path"][-1], device=device)).item()
    a, b, c = r["path"][-3:]
    print(f"练习 2：Rosenbrock，α = 0.003，{n_steps} 步")
    print(f"  最后三个点：({a[0]:.4f}, {a[1]:.4f})，({b[0]:.4f}, {b[1]:.4f})，({c[0]:.4f}, {c[1]:.4f})")
    print(f"  J = {final_loss:.4f}，发散：{r['diverged_at'] is not None}")
    # 振荡：最后三个点里第 1、3 个几乎重合，第 2 个在山谷的另一侧；损失降不下去（α = 0.002 能到 1e-4 以下）
    assert r["diverged_at"] is None and math.dist(a, c) < 0.1 * math.dist(a, b) and final_loss > 0.1
    if not quick:
        assert abs(final_loss - 0.33) < 0.02, final_loss
    return {"rosen_lr0.003_final": c, "rosen_lr0.003_loss": final_loss}


# %% [markdown]
# ## 练习 3 ★★：多项式特征让决策边界弯曲
#
# 逻辑回归的边界是 $w^\top \phi + b = 0$：对**特征** $\phi$ 是一个超平面。特征就是原来的 $(x_1, x_2)$ 时，
# 边界是平面上的直线；把特征换成
#
# $$\phi(x) = (x_1,\ x_2,\ x_1^2,\ x_2^2,\ x_1 x_2,\ x_1^3,\ x_2^3),$$
#
# 边界 $w^\top \phi(x) + b = 0$ 就是 $(x_1, x_2)$ 的一条三次曲线，能够绕着月牙弯曲。模型对参数仍然是线性的，
# 损失仍然是凸的，训练方法（第 5 步的 `bce_loss` 与 `gd_step`）一个字都不用改。
#
# 标准化很重要：原始坐标在 $[-1, 2]$ 左右，$x_1^3$ 的尺度比 $x_1$ 大好几倍，各方向曲率差得远，
# 同一个学习率会“顾此失彼”（第 4 步的 Rosenbrock 山谷）。所以先在**原始坐标**上算出 7 个特征，再把每一列标准化成
# 均值 0、标准差 1。
#
# 下面用同样的学习率 0.5、同样的步数分别训练线性特征（即第 5 步）和多项式特征，比较训练集准确率；
# 并和第 5 步一样用手推公式 $X^\top(p - y)/N$ 核对一次梯度。快速模式 300 步，完整模式 3000 步。


# %%
def poly_features(X):
    """(N, 2) 的原始坐标 → (N, 7)：x₁, x₂, x₁², x₂², x₁x₂, x₁³, x₂³。NumPy 数组进，NumPy 数组出。"""
    x1, x2 = X[:, 0], X[:, 1]
    return np.stack([x1, x2, x1 ** 2, x2 ** 2, x1 * x2, x1 ** 3, x2 ** 3], axis=1)


def train_logreg(lesson, F, y, lr, n_steps, device):
    """在特征 F (N, d) 上用梯度下降训练逻辑回归，返回 (w, b, 损失曲线, 准确率, 初始梯度与公式的最大差)。"""
    n, d = F.shape
    w = tg.zeros(d, 1, device=device, requires_grad=True)
    b = tg.zeros(1, device=device, requires_grad=True)
    losses, grad_diff = [], None
    for _ in range(n_steps):
        loss, p = lesson.bce_loss(F, y, w, b)
        losses.append(loss.item())
        loss.backward()
        if grad_diff is None:   # 第一步：框架的梯度 vs 手推公式
            with tg.no_grad():
                gw, gb = F.T @ (p - y) / n, (p - y).mean()
            grad_diff = max((w.grad - gw).abs().max().item(), abs(b.grad.item() - gb.item()))
        lesson.gd_step(w, lr)
        lesson.gd_step(b, lr)
    with tg.no_grad():
        _, p = lesson.bce_loss(F, y, w, b)
        acc = ((p > 0.5).float() == y).float().mean().item()
    return w, b, losses, acc, grad_diff


def plot_poly_boundary(X_np, y_np, mean, std, w, b, acc, acc_lin):
    fig, ax = subplots(figsize=(6.5, 4.6))
    gx, gy = np.meshgrid(np.linspace(-1.7, 2.7, 200), np.linspace(-1.2, 1.7, 200))
    feats = (poly_features(np.stack([gx.ravel(), gy.ravel()], axis=1)) - mean) / std
    prob = (1 / (1 + np.exp(-(feats @ w + b)))).reshape(gx.shape)
    cf = ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    ax.contour(gx, gy, prob, levels=[0.5], colors="black", linewidths=1.5)
    for cls, color, name in [(0, "C0", ("类别 0", "class 0")), (1, "C3", ("类别 1", "class 1"))]:
        m = y_np == cls
        ax.scatter(X_np[m, 0], X_np[m, 1], s=12, color=color, edgecolors="white", linewidths=0.3, label=label(*name))
    fig.colorbar(cf, ax=ax, label=label("p(类别 1)", "p(class 1)"))
    ax.set_title(label(f"多项式特征：准确率 {acc:.3f}（直线边界 {acc_lin:.3f}）",
                       f"polynomial features: accuracy {acc:.3f} (linear {acc_lin:.3f})"))
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def exercise3(device, quick):
    lesson = load_lesson()
    X_np, y_np = lesson.make_moons(200, noise=0.15, seed=0)
    y = tg.tensor(y_np, device=device).reshape(-1, 1)
    lr, n_steps = 0.5, (300 if quick else 3000)
    results = {}
    for name, raw in (("linear", X_np.astype(np.float64)), ("poly", poly_features(X_np.astype(np.float64)))):
        mean, std = raw.mean(axis=0), raw.std(axis=0)
        F = tg.tensor(((raw - mean) / std).astype(np.float32), device=device)
        w, b, losses, acc, grad_diff = train_logreg(lesson, F, y, lr, n_steps, device)
        assert abs(losses[0] - math.log(2)) < 1e-6 and grad_diff < 1e-6
        results[name] = dict(w=w.detach().cpu().numpy().reshape(-1), b=b.item(), loss=losses[-1], acc=acc,
                             mean=mean, std=std, grad_diff=grad_diff)
    lin, poly = results["linear"], results["poly"]
    assert poly["acc"] > lin["acc"] and poly["loss"] < lin["loss"]
    print(f"练习 3：多项式特征，学习率 {lr}，{n_steps} 步")
    print(f"  线性特征 (x₁, x₂)：      损失 {lin['loss']:.4f}，训练集准确率 {lin['acc']:.3f}")
    print(f"  多项式特征（7 个）：     损失 {poly['loss']:.4f}，训练集准确率 {poly['acc']:.3f}"
          f"（梯度与公式 Xᵀ(p − y)/N 的最大差 {poly['grad_diff']:.1e}）")
    print(f"  准确率提高了 {poly['acc'] - lin['acc']:.3f}，损失降低了 {lin['loss'] - poly['loss']:.4f}")
    if matplotlib_available():
        fig = plot_poly_boundary(X_np, y_np, poly["mean"], poly["std"], poly["w"], poly["b"], poly["acc"], lin["acc"])
        show(fig, "02_ex3_poly_boundary.png")
    return {"poly_acc": poly["acc"], "linear_acc": lin["acc"], "poly_loss": poly["loss"]}


# %% [markdown]
# ## 练习 4 ★★★：动量法，以及原文 §4.1.2 的公式为什么不是动量法
#
# **动量法** (momentum)：$v \leftarrow \beta v + g,\ \theta \leftarrow \theta - \alpha v$。$v$ 是过去梯度的指数加权和
# $v_t = g_t + \beta g_{t-1} + \beta^2 g_{t-2} + \cdots$。
#
# - 沿 Rosenbrock 山谷的方向，梯度每步差不多，$v \approx g / (1 - \beta) = 10g$：等效学习率放大到
#   $\alpha / (1 - \beta) = 0.002$，走得和第 4 步“合适”的学习率一样快；
# - 横跨山谷的方向，梯度正负交替，在 $v$ 里互相抵消，不会像 $\alpha = 0.002$ 以上的普通梯度下降那样被放大成振荡。
#
# 所以 $\alpha = 0.0002$、$\beta = 0.9$ 的动量法应当明显好过同一个 $\alpha$ 的普通梯度下降，
# 并且和学习率 $\alpha/(1 - \beta)$ 的普通梯度下降走得差不多。
#
# **原文的公式** $\theta_{t+1} = \theta_t - \alpha\nabla J(\theta_t) + \beta(1 - \alpha)\theta_{t-1}$ 为什么不是动量法？
# 把动量法消去 $v$：$\alpha v_t = \theta_{t-1} - \theta_t$，代回去得到“重球法” (heavy ball)
#
# $$\theta_{t+1} = \theta_t - \alpha \nabla J(\theta_t) + \beta\,(\theta_t - \theta_{t-1}).$$
#
# 动量项是**上一步的位移** $\theta_t - \theta_{t-1}$，到达极小值、停下来时它是 0。原文加的却是**上一个位置本身**
# $\beta(1 - \alpha)\theta_{t-1}$：即使已经站在极小值 $\theta^*$（梯度为 0、不再移动），下一步也变成
# $\theta^* + \beta(1 - \alpha)\theta^* \approx 1.9\,\theta^*$。除非 $\theta^* = 0$，极小值根本不是这个迭代的不动点；
# 而且每一步大约把 $\theta$ 乘以 $1 + \beta$，指数发散。
#
# 下面的实验：(a) 动量法与 $\alpha = 0.0002$ 的普通梯度下降比较；(b) 用重球法的写法再跑一遍，核对它与 $v$ 的写法
# 走出同一条路径；(c) 原文的公式从极小值 $(1, 1)$ 出发，看它一步就离开，几步之内发散。快速模式 300 步，完整模式 5000 步。


# %%
def run_momentum(lesson, start, lr, beta, n_steps, device, form="velocity"):
    """Rosenbrock 上的动量法。form="velocity"：v ← βv + g，θ ← θ − αv；form="heavy_ball"：消去 v 的等价写法。"""
    theta = tg.tensor(start, dtype=tg.float64, device=device, requires_grad=True)
    v, prev = None, theta.detach().data.copy()
    path = [list(start)]
    for _ in range(n_steps):
        lesson.rosenbrock(theta).backward()
        g = theta.grad.data
        with tg.no_grad():
            if form == "velocity":
                v = g if v is None else beta * v + g
                theta.data -= lr * v
            else:
                current = theta.data.copy()
                theta.data += -lr * g + beta * (current - prev)
                prev = current
        theta.grad = None
        path.append(theta.detach().tolist())
    return path


def run_wrong_formula(lesson, start, lr, beta, n_steps, device):
    """原文 §4.1.2 的公式：θ ← θ − α∇J + β(1 − α)θ_prev。离开 ±1000 或非有限时停止。"""
    theta = tg.tensor(start, dtype=tg.float64, device=device, requires_grad=True)
    prev = theta.detach().data.copy()
    path = [list(start)]
    for _ in range(n_steps):
        lesson.rosenbrock(theta).backward()
        with tg.no_grad():
            current = theta.data.copy()
            theta.data += -lr * theta.grad.data + beta * (1 - lr) * prev
            prev = current
        theta.grad = None
        path.append(theta.detach().tolist())
        if not all(math.isfinite(c) and abs(c) < 1e3 for c in path[-1]):
            break
    return path


def exercise4(device, quick):
    lesson = load_lesson()
    start, lr, beta = (-1.2, 1.0), 0.0002, 0.9
    n_steps = 2000 if quick else 5000   # 振荡在一千多步后出现；每步不到 0.1 毫秒

    def loss_at(point):
        with tg.no_grad():
            return lesson.rosenbrock(tg.tensor(point, dtype=tg.float64, device=device)).item()

    gd = lesson.run_gd_2d(lesson.rosenbrock, start, lr, n_steps, device, desc="GD")
    mom = run_momentum(lesson, start, lr, beta, n_steps, device)
    ball = run_momentum(lesson, start, lr, beta, n_steps, device, form="heavy_ball")
    gd_loss, mom_loss = loss_at(gd["path"][-1]), loss_at(mom[-1])
    same_path = max(abs(a - b) for p, q in zip(mom, ball) for a, b in zip(p, q))
    assert gd["diverged_at"] is None and mom_loss < gd_loss and same_path < 1e-9
    dist = [math.dist(p, (1.0, 1.0)) for p in (gd["path"][-1], mom[-1])]
    print(f"练习 4：Rosenbrock，α = {lr}，{n_steps} 步")
    print(f"  普通梯度下降：θ = ({gd['path'][-1][0]:.4f}, {gd['path'][-1][1]:.4f})，J = {gd_loss:.3e}，"
          f"离 (1, 1) {dist[0]:.4f}")
    print(f"  动量法 β = {beta}：θ = ({mom[-1][0]:.4f}, {mom[-1][1]:.4f})，J = {mom_loss:.3e}，离 (1, 1) {dist[1]:.4f}"
          f"（损失是普通梯度下降的 {mom_loss / gd_loss:.2g} 倍）")
    fast = lesson.run_gd_2d(lesson.rosenbrock, start, lr / (1 - beta), n_steps, device, desc="GD α/(1−β)")
    print(f"  对照：普通梯度下降用等效学习率 α/(1 − β) = {lr / (1 - beta):.4g}：θ = ({fast['path'][-1][0]:.4f}, "
          f"{fast['path'][-1][1]:.4f})，与动量法的终点相距 {math.dist(fast['path'][-1], mom[-1]):.4f}")
    print(f"  重球法写法 θ − α∇J + β(θ_t − θ_(t−1)) 与 v 的写法逐步比较，坐标最大差 {same_path:.1e}：是同一个算法")

    wrong = run_wrong_formula(lesson, (1.0, 1.0), lr, beta, 50, device)
    first = wrong[1]
    assert math.dist(first, (1.0, 1.0)) > 0.5 and len(wrong) < 51
    print(f"  原文公式从极小值 (1, 1) 出发（梯度为 0）：一步后到 ({first[0]:.4f}, {first[1]:.4f})，"
          f"第 {len(wrong) - 1} 步离开 ±1000（发散）；极小值不是它的不动点")
    return {"momentum_loss": mom_loss, "gd_loss": gd_loss, "wrong_formula_diverged_at": len(wrong) - 1}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    results.update(exercise4(device, quick))
    print("第 02 课练习答案全部通过。")
    return results


if __name__ == "__main__":
    run_lesson(main)
