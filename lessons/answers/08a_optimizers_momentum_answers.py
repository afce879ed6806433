# %% [markdown]
# # 第 08 课（上）练习答案
#
# 运行方式：`python lessons/answers/08a_optimizers_momentum_answers.py [--quick] [--device cuda]`

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh import optim
from tinygrad_zh.lesson import load_definitions, run_lesson


def load_lesson():
    """取第 08 课（上）里定义的函数与优化器类（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "08a_optimizers_momentum.py")


# %% [markdown]
# ## 练习 1 ★：原文动量法取 β = 0.5 与 β = 0
#
# - $\beta = 0$：多出来的一项 $\beta(1-\alpha)\theta_{\text{prev}}$ 消失，只剩 $\theta - \alpha\nabla J$——退化成普通的梯度下降，
#   从 $(1, 1)$ 出发一动不动，从 $(-1.2, 1)$ 出发与 SGD 走同一条路；
# - $\beta = 0.5$：$c = \beta(1-\alpha) = 0.4995$，$r = (1 + \sqrt{1 + 4c})/2 \approx 1.3657$。只要 $\beta > 0$，就有 $r > 1$：
#   无论 $\beta$ 多小都会指数发散（$\beta$ 越小，发散得越慢），连最小值都不是不动点。


# %%
def growth_with_zero_gradient(lesson, beta, lr, device, steps=30):
    """梯度恒为 0 时，原文公式让参数按什么比例增长。"""
    w = tg.tensor([1.0], dtype=tg.float64, device=device, requires_grad=True)
    opt = lesson.SeedMomentum([w], lr=lr, beta=beta)
    values = [1.0]
    for _ in range(steps):
        opt.zero_grad()
        (w * 0.0).sum().backward()
        opt.step()
        values.append(w.item())
    return values


def exercise1(device, quick):
    lesson = load_lesson()
    lr, n_steps = 0.001, 200 if quick else 2000
    out = {}
    print("练习 1：原文动量法的 β")
    for beta in (0.5, 0.0):
        c = beta * (1 - lr)
        r = (1 + math.sqrt(1 + 4 * c)) / 2
        vals = growth_with_zero_gradient(lesson, beta, lr, device)
        at_min = lesson.run(lambda ps: lesson.SeedMomentum(ps, lr=lr, beta=beta), f"β={beta}@最小值", 5, device,
                            start=lesson.OPTIMUM)
        from_start = lesson.run(lambda ps: lesson.SeedMomentum(ps, lr=lr, beta=beta), f"β={beta}", n_steps, device)
        measured = vals[-1] / vals[-2]
        print(f"  β = {beta}：预测增长率 r = {r:.4f}，梯度为 0 时实测 w₃₀/w₂₉ = {measured:.4f}")
        print(f"    从 (1, 1) 出发 5 步后 θ = {tuple(round(v, 4) for v in at_min['path'][-1])}")
        print(f"    从 (−1.2, 1) 出发：{lesson.describe(from_start)}")
        assert abs(measured - r) < 1e-4, (beta, measured, r)
        if beta > 0:   # 最小值不是不动点，从哪里出发都发散
            assert at_min["path"][-1] != [1.0, 1.0] and from_start["diverged_at"] is not None
        else:
            assert at_min["path"][-1] == [1.0, 1.0]
        out[f"beta{beta}"] = {"r": r, "measured": measured, "diverged_at": from_start["diverged_at"]}
    sgd = lesson.run(lambda ps: optim.SGD(ps, lr=lr), "SGD", n_steps, device)
    diff = lesson.max_path_diff(sgd, lesson.run(lambda ps: lesson.SeedMomentum(ps, lr=lr, beta=0.0), "β=0", n_steps,
                                                device))
    print(f"  β = 0 与 optim.SGD(lr={lr}) 整条路径的最大差：{diff:.1e}")
    assert diff < 1e-12
    out["beta0_vs_sgd"] = diff
    return out


# %% [markdown]
# ## 练习 2 ★★：Nesterov 动量
#
# > 试试 `optim.SGD(nesterov=True)`：它的公式是什么？用 `FormulaOptimizer` 写出来，与库里的实现逐步对照；
# > 在 Rosenbrock 上比动量法快吗？
#
# **Nesterov 动量**（与 PyTorch 相同，$v_0 = 0$）：$v_t = \beta v_{t-1} + g_t$，$\theta_t = \theta_{t-1} - \alpha\,(g_t + \beta v_t)$。
# 普通动量法走 $\alpha v_t$；Nesterov 相当于先“往前看”一步：用的是 $g_t + \beta v_t$，即把下一步的动量也提前算进来，
# 在山谷拐弯处刹车更早，振荡更小。
#
# 逐步对照的做法：每一步先把手写优化器的参数设成库里优化器的当前值，两者用同一个梯度各走一步，比较走完后的差
# （float64，差到 $10^{-12}$ 以内）。不直接比较两条完整路径：在山谷两壁间来回跳时，$10^{-16}$ 的舍入差会被逐步放大
# （下半课第 6 步的 RMSprop 就是这样），那是浮点误差的放大，不是公式不同。


# %%
def stepwise_diff(lesson, make_lib, make_hand, n_steps, device):
    """逐步对照：每一步先把手写优化器的参数设成 optim 的当前值，两者用同一个梯度各走一步，返回走完后的最大差。"""
    wa = tg.tensor(lesson.START, dtype=tg.float64, device=device, requires_grad=True)
    wb = tg.tensor(lesson.START, dtype=tg.float64, device=device, requires_grad=True)
    oa, ob = make_lib([wa]), make_hand([wb])
    worst = 0.0
    for _ in range(n_steps):
        wb.data = wa.data.copy()
        for w, o in ((wa, oa), (wb, ob)):
            o.zero_grad()
            lesson.rosenbrock(w).backward()
            o.step()
        worst = max(worst, float(abs(wa.data - wb.data).max()))
    return worst


def exercise2(device, quick):
    lesson = load_lesson()

    class HandNesterov(lesson.FormulaOptimizer):
        """v ← βv + g；θ ← θ − α(g + βv)。"""

        def update(self, xp, theta, g, state, hp):
            state["v"] = hp["beta"] * state.get("v", 0.0) + g
            return theta - hp["lr"] * (g + hp["beta"] * state["v"])

    n_steps = 1000 if quick else 2000
    lib = lambda ps: optim.SGD(ps, lr=0.001, momentum=0.9, nesterov=True)   # noqa: E731
    hand = lambda ps: HandNesterov(ps, lr=0.001, beta=0.9)                  # noqa: E731
    momentum = lesson.run(lambda ps: optim.SGD(ps, lr=0.001, momentum=0.9), "动量法", n_steps, device)
    nesterov = lesson.run(lib, "Nesterov", n_steps, device)
    diff = stepwise_diff(lesson, lib, hand, n_steps, device)
    assert diff < 1e-12, f"Nesterov：公式与 optim 不一致（{diff:.1e}）"
    faster = nesterov["diverged_at"] is None and nesterov["final_loss"] < momentum["final_loss"]
    verdict = "发散" if nesterov["diverged_at"] is not None else ("比动量法快" if faster else "比动量法慢")
    print(f"练习 2：Nesterov 动量（Rosenbrock，α = 0.001，β = 0.9，{n_steps} 步）")
    print(f"  {lesson.pad('动量法', 12)}{lesson.describe(momentum)}")
    print(f"  {lesson.pad('Nesterov', 12)}{lesson.describe(nesterov)}")
    print(f"  手写公式与 optim 逐步对照的最大差 {diff:.1e}；Nesterov {verdict}"
          f"（最终损失之比 {nesterov['final_loss'] / momentum['final_loss']:.3g}）")
    return {"nesterov": {"final_loss": nesterov["final_loss"], "momentum_loss": momentum["final_loss"],
                         "hand_diff": diff, "faster_than_momentum": faster}}


# %% [markdown]
# ## 练习 3 ★★：动量法能用多大的学习率
#
# 在 $J = \frac{h}{2}\theta^2$ 上 $g = h\theta$，重球法 $\theta_t = \theta_{t-1} - \alpha h\,\theta_{t-1} + \beta(\theta_{t-1} - \theta_{t-2})$ 即
#
# $$\theta_t = (1 + \beta - \alpha h)\,\theta_{t-1} - \beta\,\theta_{t-2}.$$
#
# 设 $\theta_t \propto r^t$，得特征方程 $r^2 - (1 + \beta - \alpha h)\,r + \beta = 0$。两根之积是 $\beta$，
# 所以（$0 \le \beta < 1$ 时）两根都在单位圆内当且仅当 $|1 + \beta - \alpha h| < 1 + \beta$，即
#
# $$0 < \alpha h < 2(1 + \beta).$$
#
# $\beta = 0$ 就是 SGD 的 $\alpha h < 2$（第 02 课）；$\beta = 0.9$ 时上限是 SGD 的 1.9 倍。根为复数时 $|r| = \sqrt\beta$，
# 所以上限以内很大一段学习率收敛得一样快。下面先在 $h = 1000$ 的二次函数上、上限的 0.95 倍和 1.05 倍各跑一次，
# 把实测的每步缩放比例与特征根的模比较；再在 Rosenbrock 上逐个试学习率。Rosenbrock 不是二次函数，曲率随位置变：
# 最小值处 Hessian 的最大特征值约 1002（上限 $3.8/1002 \approx 0.0038$），起点 $(-1.2, 1)$ 处约 1506（上限约 0.0025），
# 所以实际开始发散的学习率应落在这两个数之间，而不是恰好等于某一个。分界也不整齐：路径是非线性的，对前几步很敏感，
# 个别稍大的 $\alpha$ 也可能侥幸不发散（下面把它们打印出来）。


# %%
def quadratic_run(make_optimizer, h, n_steps, device):
    """J = h/2·θ²，从 θ = 1 出发，返回每步的 |θ|。"""
    w = tg.tensor([1.0], dtype=tg.float64, device=device, requires_grad=True)
    opt = make_optimizer([w])
    values = [1.0]
    for _ in range(n_steps):
        opt.zero_grad()
        (0.5 * h * w * w).sum().backward()
        opt.step()
        values.append(abs(w.item()))
    return values


def rosenbrock_hessian_max(x, y):
    """Rosenbrock 在 (x, y) 处 Hessian 的最大特征值（最大曲率）。"""
    hess = np.array([[2 - 400 * (y - 3 * x * x), -400 * x], [-400 * x, 200.0]])
    return float(np.linalg.eigvalsh(hess).max())


def exercise3(device, quick):
    lesson = load_lesson()
    h, beta, n = 1000.0, 0.9, 300
    print(f"练习 3：学习率的稳定上限（二次函数 h = {h:g}，β = {beta}）")
    out = {}
    for name, b, make in (("SGD", 0.0, lambda lr: (lambda ps: optim.SGD(ps, lr=lr))),
                          ("动量法", beta, lambda lr: (lambda ps: optim.SGD(ps, lr=lr, momentum=beta)))):
        limit = 2 * (1 + b) / h
        for factor in (0.95, 1.05):
            lr = factor * limit
            vals = quadratic_run(make(lr), h, n, device)
            radius = float(np.abs(np.roots([1, -(1 + b - lr * h), b])).max())
            # 每步的缩放比例：复根时 θ 一边振荡一边衰减，取两段 20 步窗口里的最大值（振幅）之比，相隔 100 步
            measured = (max(vals[-20:]) / max(vals[-120:-100])) ** (1 / 100)
            converged = vals[-1] < 1e-3
            print(f"  {lesson.pad(name, 8)}α = {lr:.5f}（上限 {limit:.4f} 的 {factor} 倍）：{n} 步后 |θ| = {vals[-1]:.3g}，"
                  f"每步缩放 {measured:.4f}，特征根的模 {radius:.4f}")
            assert converged == (factor < 1) and abs(measured - radius) < 2e-3, (name, lr, measured, radius)
            out[f"{name}_{factor}"] = {"lr": lr, "final": vals[-1], "radius": radius}

    h_min, h_start = rosenbrock_hessian_max(*lesson.OPTIMUM), rosenbrock_hessian_max(*lesson.START)
    lim_min, lim_start = 2 * (1 + beta) / h_min, 2 * (1 + beta) / h_start
    lrs = [round(0.0020 + 0.0001 * k, 4) for k in range(21)]
    n_steps = 300 if quick else 2000          # 发散都发生在前几十步
    diverged = {lr: lesson.run(lambda ps: optim.SGD(ps, lr=lr, momentum=beta), f"α={lr}", n_steps,
                               device)["diverged_at"] for lr in lrs}
    first_bad = next(lr for lr in lrs if diverged[lr] is not None)
    last_good = max(lr for lr in lrs if lr < first_bad)
    print(f"  Rosenbrock 上的动量法（β = {beta}，{n_steps} 步）：α ≤ {last_good} 不发散，α = {first_bad} 在第 "
          f"{diverged[first_bad]} 步发散；更大的 α 里不发散的有 {[lr for lr in lrs if lr > first_bad and diverged[lr] is None]}")
    print(f"  最大曲率：最小值处 {h_min:.1f}（上限 {lim_min:.5f}），起点处 {h_start:.1f}（上限 {lim_start:.5f}）；"
          f"实际的分界 {last_good}—{first_bad} "
          f"{'落在两者之间' if lim_start <= first_bad and last_good <= lim_min else '不在两者之间'}")
    sgd_limit_min = 2 / h_min
    print(f"  对照：同样按最小值处的曲率，SGD 的上限是 {sgd_limit_min:.5f}，动量法把它放大到 {lim_min / sgd_limit_min:.1f} 倍")
    assert lim_start <= first_bad and last_good <= lim_min
    out["rosenbrock"] = {"last_good": last_good, "first_bad": first_bad, "limit_at_min": lim_min,
                         "limit_at_start": lim_start}
    return out


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
