# %% [markdown]
# # 第 08 课 ★ 练习答案
#
# 运行方式：`python lessons/answers/08_optimizers_errata_answers.py [--quick] [--device cuda]`

# %%
import math
from pathlib import Path

import tinygrad_zh as tg
from tinygrad_zh import optim
from tinygrad_zh.lesson import load_definitions, run_lesson


def load_lesson():
    """取第 08 课里定义的函数与优化器类（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "08_optimizers_errata.py")


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
        print(f"  β = {beta}：预测增长率 r = {r:.4f}，梯度为 0 时实测 w₃₀/w₂₉ = {vals[-1] / vals[-2]:.4f}")
        print(f"    从 (1, 1) 出发 5 步后 θ = {tuple(round(v, 4) for v in at_min['path'][-1])}")
        print(f"    从 (−1.2, 1) 出发：{lesson.describe(from_start)}")
        out[f"beta{beta}"] = {"r": r, "measured": vals[-1] / vals[-2], "diverged_at": from_start["diverged_at"]}
    sgd = lesson.run(lambda ps: optim.SGD(ps, lr=lr), "SGD", n_steps, device)
    diff = lesson.max_path_diff(sgd, lesson.run(lambda ps: lesson.SeedMomentum(ps, lr=lr, beta=0.0), "β=0", n_steps,
                                                device))
    print(f"  β = 0 与 optim.SGD(lr={lr}) 整条路径的最大差：{diff:.1e}")
    out["beta0_vs_sgd"] = diff
    return out


# %% [markdown]
# ## 练习 2 ★：不做偏差修正的 Adam
#
# $m_1 = (1-\beta_1)g_1$，$v_1 = (1-\beta_2)g_1^2$，所以第一步 $m_1/\sqrt{v_1} = (1-\beta_1)/\sqrt{1-\beta_2}\cdot\operatorname{sign}(g_1)
# = 0.1/0.0316 \approx 3.162$ 倍的 $\alpha$。之后 $1-\beta_1^t$ 很快趋于 1，但 $1-\beta_2^t$ 要上千步才接近 1：
# 前几百步 $\sqrt{v}$ 都偏小，步子都偏大：与修正后相比，第 $t$ 步大 $\sqrt{1-\beta_2^t}^{-1}(1-\beta_1^t)$ 倍——
# 第 1 步 3.16 倍，第 10 步约 6.5 倍，第 100 步约 3.2 倍，第 1000 步约 1.26 倍。
# 在 Rosenbrock 上，去掉修正的版本开头几步跳得更远，最后也收敛了，只是 2000 步后的损失比正确的 Adam 大两个数量级。
# 在学习率本来就偏大的问题上，开头这几步大跳足以让训练发散——这正是 Adam 论文加偏差修正的理由。


# %%
def exercise2(device, quick):
    lesson = load_lesson()

    class AdamNoCorrection(lesson.FormulaOptimizer):
        """Adam 去掉偏差修正：θ ← θ − α·m/(√v + ε)。"""

        def update(self, xp, theta, g, state, hp):
            b1, b2 = hp["betas"]
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * (g * g)
            return theta - hp["lr"] * state["m"] / (xp.sqrt(state["v"]) + hp["eps"])

    lr, n_steps = 0.1, 200 if quick else 2000
    theta = tg.tensor(lesson.START, dtype=tg.float64, device=device, requires_grad=True)
    opt = AdamNoCorrection([theta], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    lesson.rosenbrock(theta).backward()
    opt.step()
    x, y = theta.detach().tolist()
    step = math.hypot(x - lesson.START[0], y - lesson.START[1]) / math.sqrt(2)
    print("练习 2：不做偏差修正的 Adam")
    print(f"  第一步每个坐标走了 {step:.4f}，是 α = {lr} 的 {step / lr:.3f} 倍")
    plain = lesson.run(lambda ps: AdamNoCorrection(ps, lr=lr, betas=(0.9, 0.999), eps=1e-8), "无修正", n_steps, device)
    correct = lesson.run(lambda ps: optim.Adam(ps, lr=lr), "Adam", n_steps, device)
    print(f"  前 10 步的损失：无修正 {[round(v, 2) for v in plain['losses'][:10]]}")
    print(f"  前 10 步的损失：正确的 Adam {[round(v, 2) for v in correct['losses'][:10]]}")
    print(f"  {n_steps} 步后：无修正 {lesson.describe(plain)}")
    print(f"  {n_steps} 步后：正确的 Adam {lesson.describe(correct)}")
    return {"first_step_ratio": step / lr, "no_correction_loss": plain["final_loss"],
            "adam_loss": correct["final_loss"]}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
