# %% [markdown]
# # 第 08 课（下）练习答案
#
# 运行方式：`python lessons/answers/08b_optimizers_adaptive_answers.py [--quick] [--device cuda]`

# %%
import math
from pathlib import Path

import tinygrad_zh as tg
from tinygrad_zh import optim
from tinygrad_zh.lesson import load_definitions, run_lesson

def load_lesson():
    """取第 08 课上、下两半里定义的函数与优化器类（只执行课程文件的 import 与 def，不运行课程本身）。

    下半课的类继承上半课的 FormulaOptimizer，所以先取上半课，再在它的基础上取下半课。"""
    lessons = Path(__file__).resolve().parent.parent
    return load_definitions(lessons / "08b_optimizers_adaptive.py",
                            base=load_definitions(lessons / "08a_optimizers_momentum.py"))


def stepwise_diff(lesson, make_lib, make_hand, n_steps, device):
    """逐步对照手写公式与 optim（见上半课练习 2 的答案，那里有它的说明）。"""
    part_one_answers = load_definitions(Path(__file__).resolve().parent / "08a_optimizers_momentum_answers.py")
    return part_one_answers.stepwise_diff(lesson, make_lib, make_hand, n_steps, device)


# %% [markdown]
# ## 练习 1 ★：不做偏差修正的 Adam
#
# $m_1 = (1-\beta_1)g_1$，$v_1 = (1-\beta_2)g_1^2$，所以第一步 $m_1/\sqrt{v_1} = (1-\beta_1)/\sqrt{1-\beta_2}\cdot\operatorname{sign}(g_1)
# = 0.1/0.0316 \approx 3.162$ 倍的 $\alpha$。之后 $1-\beta_1^t$ 很快趋于 1，但 $1-\beta_2^t$ 要上千步才接近 1：
# 前几百步 $\sqrt{v}$ 都偏小，步子都偏大：与修正后相比，第 $t$ 步大 $\sqrt{1-\beta_2^t}^{-1}(1-\beta_1^t)$ 倍——
# 第 1 步 3.16 倍，第 10 步约 6.5 倍，第 100 步约 3.2 倍，第 1000 步约 1.26 倍。
# 在 Rosenbrock 上，去掉修正的版本开头几步跳得更远，最后也收敛了，只是 2000 步后的损失比正确的 Adam 大两个数量级。
# （中途并不总是落后：第 200 步时它反而领先——更大的步子在山谷里先冲得更远；下面把两个时刻的损失都打印出来。
# 这个练习每个优化器只跑 2000 步，不到一秒，快速模式也照跑。）
# 在学习率本来就偏大的问题上，开头这几步大跳足以让训练发散——这正是 Adam 论文加偏差修正的理由。


# %%
def exercise1(device, quick):
    lesson = load_lesson()

    class AdamNoCorrection(lesson.FormulaOptimizer):
        """Adam 去掉偏差修正：θ ← θ − α·m/(√v + ε)。"""

        def update(self, xp, theta, g, state, hp):
            b1, b2 = hp["betas"]
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * (g * g)
            return theta - hp["lr"] * state["m"] / (xp.sqrt(state["v"]) + hp["eps"])

    lr, n_steps = 0.1, 2000
    theta = tg.tensor(lesson.START, dtype=tg.float64, device=device, requires_grad=True)
    opt = AdamNoCorrection([theta], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    lesson.rosenbrock(theta).backward()
    opt.step()
    x, y = theta.detach().tolist()
    step = math.hypot(x - lesson.START[0], y - lesson.START[1]) / math.sqrt(2)
    print("练习 1：不做偏差修正的 Adam")
    print(f"  第一步每个坐标走了 {step:.4f}，是 α = {lr} 的 {step / lr:.3f} 倍")
    plain = lesson.run(lambda ps: AdamNoCorrection(ps, lr=lr, betas=(0.9, 0.999), eps=1e-8), "无修正", n_steps, device)
    correct = lesson.run(lambda ps: optim.Adam(ps, lr=lr), "Adam", n_steps, device)
    print(f"  前 10 步的损失：无修正 {[round(v, 2) for v in plain['losses'][:10]]}")
    print(f"  前 10 步的损失：正确的 Adam {[round(v, 2) for v in correct['losses'][:10]]}")
    print(f"  {n_steps} 步后：无修正 {lesson.describe(plain)}")
    print(f"  {n_steps} 步后：正确的 Adam {lesson.describe(correct)}")
    for t in (200, n_steps):
        a, b = plain["losses"][t - 1], correct["losses"][t - 1]
        print(f"  第 {t} 步的损失：无修正 {a:.3e}，正确的 Adam {b:.3e}——"
              f"{'正确的 Adam ' if b < a else '无修正的'}更低（差 {abs(math.log10(a / b)):.1f} 个数量级）")
    assert abs(step / lr - math.sqrt(10)) < 1e-6 * math.sqrt(10)
    assert plain["dist"] < 1e-5 and correct["dist"] < 1e-5 and correct["final_loss"] < plain["final_loss"]
    return {"first_step_ratio": step / lr, "no_correction_loss": plain["final_loss"],
            "adam_loss": correct["final_loss"]}



# %% [markdown]
# ## 练习 2 ★★：换成 Beale 函数重做汇总表
#
# > 换一个曲面：Beale 函数 $J = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2$，最小值在 $(3, 0.5)$，
# > 从 $(1, 1.5)$ 出发，重做第 9 步的汇总表。哪些结论不变？
#
# 上半课第 1 步的 `run` 把 Rosenbrock 写死了，这里写一个接受任意损失的同款 `run_surface`，同样的 11 条规则、同样的学习率，
# 并把 Rosenbrock 上的结果放在旁边。先想一想哪些结论**不依赖曲面**：
#
# - 原文动量法（照字面）多出来的 $\beta(1-\alpha)\theta_{t-2}$ 与梯度无关，按 $r^t$（$r \approx 1.572$）增长，**在任何曲面上都发散**；
# - 宽容读法只是系数为 $\beta(1-\alpha)$ 的重球法，与正确的动量法结果接近；
# - 正确的方法能否收敛、收敛得多快，则取决于曲面的尺度和学习率——换一个曲面，哪个“最快”可以变。
#
# 下面的结论句都由两张表的数字生成：哪些行在两个曲面上的“收敛 / 发散 / 没走到”状态相同，哪些变了。


# %%
def beale(theta):
    x, y = theta[0], theta[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y * y * y) ** 2


def run_surface(loss_fn, make_optimizer, n_steps, device, start, optimum, blow_up=1e6):
    """与第 08 课（上）的 run 相同，只是损失函数、起点、最小值都作为参数。"""
    theta = tg.tensor(start, dtype=tg.float64, device=device, requires_grad=True)
    optimizer = make_optimizer([theta])
    diverged_at, point = None, list(start)
    for t in range(1, n_steps + 1):
        optimizer.zero_grad()
        loss_fn(theta).backward()
        optimizer.step()
        point = theta.detach().tolist()
        if not all(math.isfinite(v) and abs(v) < blow_up for v in point):
            diverged_at = t
            break
    if diverged_at is not None:
        return {"diverged_at": diverged_at, "final_loss": math.inf, "dist": math.inf, "point": point}
    with tg.no_grad():
        final = loss_fn(tg.tensor(point, dtype=tg.float64, device=device)).item()
    return {"diverged_at": None, "final_loss": final, "dist": math.dist(point, optimum), "point": point}


def summary_rules(lesson):
    """第 9 步汇总表的 11 条规则（学习率与课程相同）。"""
    L = lesson
    return [
        ("SGD（α=0.001）", lambda ps: optim.SGD(ps, lr=0.001)),
        ("动量法 正确（α=0.001, β=0.9）", lambda ps: optim.SGD(ps, lr=0.001, momentum=0.9)),
        ("动量法 原文（照字面）", lambda ps: L.SeedMomentum(ps, lr=0.001, beta=0.9)),
        ("动量法 原文（宽容读法）", lambda ps: L.SeedMomentumAsStep(ps, lr=0.001, beta=0.9)),
        ("AdaGrad 正确（α=0.5）", lambda ps: optim.Adagrad(ps, lr=0.5)),
        ("AdaGrad 原文（η=1/Σg²）", lambda ps: L.SeedAdaGrad(ps, lr=1.0)),
        ("RMSprop 正确（α=0.01）", lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.99)),
        ("RMSprop 原文（η=1/R）", lambda ps: L.SeedRMSprop(ps, lr=1.0, gamma=0.99, batch_size=1)),
        ("Adam 正确（α=0.1）", lambda ps: optim.Adam(ps, lr=0.1)),
        ("Adam 原文 §4.1.2（α=0.1）", lambda ps: L.SeedAdam412(ps, lr=0.1, betas=(0.9, 0.999))),
        ("Adam 原文 §4.2.1（α=0.1）", lambda ps: L.SeedAdam421(ps, lr=0.1, betas=(0.9, 0.999))),
    ]


def status(r, tol=1e-3):
    if r["diverged_at"] is not None:
        return "发散"
    return "收敛" if r["dist"] < tol else "没走到"


def exercise2(device, quick):
    lesson = load_lesson()
    n_steps = 300 if quick else 2000
    surfaces = {"Rosenbrock": (lesson.rosenbrock, lesson.START, lesson.OPTIMUM),
                "Beale": (beale, (1.0, 1.5), (3.0, 0.5))}
    with tg.no_grad():
        j_opt = beale(tg.tensor([3.0, 0.5], dtype=tg.float64)).item()
    assert j_opt == 0.0, "Beale 函数在 (3, 0.5) 处应恰为 0"
    table = {}
    for title, make in summary_rules(lesson):
        table[title] = {k: run_surface(fn, make, n_steps, device, start, opt) for k, (fn, start, opt) in surfaces.items()}

    def cell(r):
        if r["diverged_at"] is not None:
            return lesson.pad(f"第 {r['diverged_at']} 步发散", 24)
        return lesson.pad(f"J={r['final_loss']:.2e} 距={r['dist']:.2e}", 24)

    print(f"练习 2：Beale 函数（起点 (1, 1.5)，最小值 (3, 0.5)，J = {j_opt}），每条规则 {n_steps} 步")
    print(f"  {lesson.pad('规则', 32)}{lesson.pad('Rosenbrock', 24)}{lesson.pad('Beale', 24)}状态")
    same, changed = [], []
    for title, r in table.items():
        a, b = status(r["Rosenbrock"]), status(r["Beale"])
        (same if a == b else changed).append(title)
        print(f"  {lesson.pad(title, 32)}{cell(r['Rosenbrock'])}{cell(r['Beale'])}{a} → {b}")
    # 与曲面无关的数学事实：原文动量法照字面在 Beale 上也发散
    assert table["动量法 原文（照字面）"]["Beale"]["diverged_at"] is not None
    fastest = {k: min((t for t in table if table[t][k]["diverged_at"] is None), key=lambda t: table[t][k]["final_loss"])
               for k in surfaces}
    print(f"  状态不变的规则（{len(same)} 条）：{'、'.join(same)}")
    print(f"  状态变了的规则（{len(changed)} 条）：{'、'.join(changed) or '（没有）'}")
    print(f"  最终损失最小的：Rosenbrock 上是 {fastest['Rosenbrock']}，Beale 上是 {fastest['Beale']}"
          f"（{'相同' if fastest['Rosenbrock'] == fastest['Beale'] else '不同'}）")
    print("  不变的结论：原文动量法（照字面）在两个曲面上都发散——它的增长与梯度无关；其余结论（谁收敛、谁最快）"
          "依赖曲面与学习率，要看上面的数字。")
    return {"beale_status": {t: status(r["Beale"]) for t, r in table.items()},
            "beale_same_status": same, "beale_changed_status": changed}



# %% [markdown]
# ## 练习 3 ★★：带动量的 RMSprop
#
# > 试试 `optim.RMSprop(momentum=0.9)`：它的公式是什么？用 `FormulaOptimizer` 写出来，与库里的实现逐步对照；
# > 在 Rosenbrock 上比动量法快吗？
#
# **带动量的 RMSprop**（与 PyTorch 相同，$E_0 = b_0 = 0$）：$E_t = \gamma E_{t-1} + (1-\gamma) g_t^2$，
# $b_t = \mu b_{t-1} + g_t/(\sqrt{E_t} + \varepsilon)$，$\theta_t = \theta_{t-1} - \alpha b_t$：动量加在**已经归一化过**的步子上，
# 稳态步长约是不带动量时的 $1/(1-\mu) = 10$ 倍，所以学习率要相应减小。
#
# 先用 `FormulaOptimizer` 写出公式，与 `optim.RMSprop` 逐步对照（做法见上半课练习 2 的答案：每一步从同一个 $\theta$ 出发，
# float64，差到 $10^{-12}$ 以内），再在 Rosenbrock 上和上半课第 4 步的动量法（$\alpha = 0.001$，$\beta = 0.9$）、
# 第 6 步不带动量的 RMSprop（$\alpha = 0.01$）比较同样步数后的损失。带动量的 RMSprop 用 $\alpha = 0.001$
# （约等于不带动量时的 $\alpha = 0.01$），也试一下 $\alpha = 0.01$。


# %%
def exercise3(device, quick):
    lesson = load_lesson()

    class HandRMSpropMomentum(lesson.FormulaOptimizer):
        """E ← γE + (1−γ)g²；b ← μb + g/(√E + ε)；θ ← θ − αb。"""

        def update(self, xp, theta, g, state, hp):
            state["E"] = hp["gamma"] * state.get("E", 0.0) + (1 - hp["gamma"]) * g * g
            state["b"] = hp["mu"] * state.get("b", 0.0) + g / (xp.sqrt(state["E"]) + hp["eps"])
            return theta - hp["lr"] * state["b"]

    n_steps = 1000 if quick else 2000
    pairs = {
        "RMSprop + 动量（α=0.001, μ=0.9）": (lambda ps: optim.RMSprop(ps, lr=0.001, alpha=0.99, momentum=0.9),
                                           lambda ps: HandRMSpropMomentum(ps, lr=0.001, gamma=0.99, mu=0.9, eps=1e-8)),
        "RMSprop + 动量（α=0.01, μ=0.9）": (lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.99, momentum=0.9),
                                          lambda ps: HandRMSpropMomentum(ps, lr=0.01, gamma=0.99, mu=0.9, eps=1e-8)),
    }
    print(f"练习 3：带动量的 RMSprop（Rosenbrock，{n_steps} 步）")
    momentum = lesson.run(lambda ps: optim.SGD(ps, lr=0.001, momentum=0.9), "动量法", n_steps, device)
    plain = lesson.run(lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.99), "RMSprop", n_steps, device)
    print(f"  {lesson.pad('动量法（α=0.001, β=0.9）', 36)}{lesson.describe(momentum)}")
    print(f"  {lesson.pad('RMSprop（α=0.01，不带动量）', 36)}{lesson.describe(plain)}")
    out = {"momentum_loss": momentum["final_loss"], "rmsprop_loss": plain["final_loss"]}
    for name, (lib, hand) in pairs.items():
        a = lesson.run(lib, name, n_steps, device)
        diff = stepwise_diff(lesson, lib, hand, n_steps, device)
        assert diff < 1e-12, f"{name}：公式与 optim 不一致（{diff:.1e}）"
        faster = a["diverged_at"] is None and a["final_loss"] < momentum["final_loss"]
        verdict = "发散" if a["diverged_at"] is not None else ("比动量法快" if faster else "比动量法慢")
        print(f"  {lesson.pad(name, 36)}{lesson.describe(a)}")
        better_than_plain = a["diverged_at"] is None and a["final_loss"] < plain["final_loss"]
        print(f"  {'':36}手写公式与 optim 逐步对照的最大差 {diff:.1e}；{verdict}；"
              f"比不带动量的 RMSprop {'好' if better_than_plain else '差'}")
        out[name] = {"final_loss": a["final_loss"], "diverged_at": a["diverged_at"], "hand_diff": diff,
                     "faster_than_momentum": faster}
    # 动量让 RMSprop 沿山谷走得快得多（α = 0.001 时稳态步长约等于不带动量的 α = 0.01）
    assert out["RMSprop + 动量（α=0.001, μ=0.9）"]["final_loss"] < plain["final_loss"]
    return {"rmsprop_momentum": out}

# %% [markdown]
# ## 练习 4 ★★★：手写 AdamW；Adam + L2 的不动点
#
# > 用 `FormulaOptimizer` 写出 AdamW，在一个有损失梯度的问题上（比如 $J = 10(w_1 - 2)^2$，再加一个没有梯度的 $w_2$）
# > 与 `optim.AdamW(weight_decay=0.1)` 逐步对照到 $10^{-12}$；再推导 Adam + L2 在这个问题上的不动点，与 AdamW 的比较。
#
# **AdamW**（PyTorch 的顺序）：先衰减 $\theta \leftarrow (1 - \alpha\lambda)\theta$，再做普通的 Adam 更新
# $\theta \leftarrow \theta - \alpha\,\hat m/(\sqrt{\hat v} + \varepsilon)$，$m$、$v$ 里只有损失的梯度 $g$。
# 把 $w_2$ 写成 `0 * w2` 放进损失：它的梯度恰为 0 但不是 `None`，优化器照常更新它。
#
# **Adam + L2 的不动点**：梯度是 $g + \lambda\theta$。不动点要求更新为 0，即 $\hat m = 0$，即 $g + \lambda\theta = 0$：
#
# - $w_1$：$20(w_1 - 2) + \lambda w_1 = 0 \Rightarrow w_1^* = 40/(20 + \lambda)$，$\lambda = 0.1$ 时约 1.990——就是 L2 正则化后损失的最小值；
# - $w_2$：$\lambda w_2 = 0 \Rightarrow w_2^* = 0$，但走向 0 的速度被 $\sqrt{\hat v}$ 归一化，与 $\lambda$ 无关（第 10 步）。
#
# **AdamW 的不动点**：稳态时 $\hat m = g$、$\sqrt{\hat v} = |g|$，更新为 0 要求 $\lambda\theta + g/(|g| + \varepsilon) = 0$。
#
# - $w_1$：$|g|/(|g|+\varepsilon) = \lambda w_1$，解得 $|g| = \varepsilon\lambda w_1/(1 - \lambda w_1) \approx 2.5\times10^{-9}$，
#   于是 $w_1^* = 2 - |g|/20 \approx 2 - 1.25\times10^{-10}$：只要有一点点损失梯度，归一化后的步子就是 $O(\alpha)$，
#   足以抵消 $\alpha\lambda\theta$ 的衰减——AdamW 几乎不改变有梯度的参数的最优点；
# - $w_2$：$m = v = 0$，每步只乘 $(1 - \alpha\lambda)$，$w_2 = (1-\alpha\lambda)^t \to 0$，速度由 $\lambda$ 决定。
#
# 两者的差别正是“解耦”：Adam + L2 把正则化当成损失的一部分（改变了最优点、却让无梯度参数的衰减速度与 $\lambda$ 无关）；
# AdamW 对每个参数施加同一比例的衰减，有梯度的参数由损失决定，没梯度的参数按 $(1-\alpha\lambda)^t$ 衰减。
# 但 AdamW 走到这个不动点很慢：$\hat v$ 按 $\beta_2 = 0.999$ 慢慢忘掉开头的大梯度，在那之前平衡条件是
# $|g| = \lambda w_1(\sqrt{\hat v} + \varepsilon)$，即 $w_1 \approx 2 - \lambda w_1\sqrt{\hat v}/20$（准平衡），随 $\hat v$ 变小而逼近 2。
# 下面先逐步对照，再长时间运行两种优化器，与上面推出的不动点、准平衡比较。


# %%
def exercise4(device, quick):
    lesson = load_lesson()
    lr, lam, eps = 0.01, 0.1, 1e-8

    class HandAdamW(lesson.FormulaOptimizer):
        """θ ← (1 − αλ)θ；m、v、偏差修正同 Adam；θ ← θ − α·m̂/(√v̂ + ε)。"""

        def update(self, xp, theta, g, state, hp):
            b1, b2 = hp["betas"]
            t = state["t"]
            theta = theta * (1 - hp["lr"] * hp["weight_decay"])
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
            m_hat = state["m"] / (1 - b1 ** t)
            v_hat = state["v"] / (1 - b2 ** t)
            return theta - hp["lr"] * m_hat / (xp.sqrt(v_hat) + hp["eps"])

    def loss(w):
        return 10 * (w[0] - 2) ** 2 + 0 * w[1]

    def trajectory(make, n):
        w = tg.tensor([0.0, 1.0], dtype=tg.float64, device=device, requires_grad=True)
        opt = make([w])
        path = []
        for _ in range(n):
            opt.zero_grad()
            loss(w).backward()
            opt.step()
            path.append(w.detach().tolist())
        return path, opt.state[w]

    n_check = 200 if quick else 2000
    lib, _ = trajectory(lambda ps: optim.AdamW(ps, lr=lr, weight_decay=lam, eps=eps), n_check)
    hand, _ = trajectory(lambda ps: HandAdamW(ps, lr=lr, betas=(0.9, 0.999), weight_decay=lam, eps=eps), n_check)
    step_diff = max(abs(a - b) for pa, pb in zip(lib, hand) for a, b in zip(pa, pb))
    assert step_diff < 1e-12, step_diff
    print(f"练习 4：手写 AdamW 与 optim.AdamW(weight_decay={lam}) 逐步对照 {n_check} 步，最大差 {step_diff:.1e}")

    n_long = 3000 if quick else 10000
    adam_l2, _ = trajectory(lambda ps: optim.Adam(ps, lr=lr, weight_decay=lam, eps=eps), n_long)
    adamw_path, st = trajectory(lambda ps: HandAdamW(ps, lr=lr, betas=(0.9, 0.999), weight_decay=lam, eps=eps), n_long)
    adam_l2, adamw = adam_l2[-1], adamw_path[-1]
    l2_fixed = 40 / (20 + lam)
    g_star = eps * lam * 2 / (1 - lam * 2)          # 用 w₁ ≈ 2 代入 |g| = ελw/(1 − λw)
    adamw_fixed = 2 - g_star / 20
    decay_w2 = (1 - lr * lam) ** n_long
    # 准平衡：m̂ ≈ g 时更新为 0 要求 |g| = λw₁(√v̂₁ + ε)，即 w₁ = 2 − λw₁(√v̂₁ + ε)/20；v̂ 按 β₂ 慢慢遗忘以前的大梯度
    v_hat = float(st["v"][0]) / (1 - 0.999 ** st["t"])
    quasi = 2 - lam * adamw[0] * (math.sqrt(v_hat) + eps) / 20
    print(f"  {n_long} 步后（从 w = (0, 1) 出发，α = {lr}）：")
    print(f"    Adam + L2：w₁ = {adam_l2[0]:.6f}（推导 40/(20+λ) = {l2_fixed:.6f}，差 {abs(adam_l2[0] - l2_fixed):.1e}），"
          f"w₂ = {adam_l2[1]:.2e}")
    print(f"    AdamW    ：w₁ = {adamw[0]:.8f}，w₂ = {adamw[1]:.6e}（(1 − αλ)^{n_long} = {decay_w2:.6e}）")
    print(f"      准平衡 w₁ = 2 − λw₁(√v̂₁ + ε)/20 = {quasi:.8f}（用当前的 v̂₁ = {v_hat:.2e}），差 {abs(adamw[0] - quasi):.1e}；"
          f"v̂ 趋于 0 时的不动点 2 − {g_star / 20:.2e}")
    deltas = [2 - adamw_path[k - 1][0] for k in (n_long // 3, 2 * n_long // 3, n_long)]
    print(f"      2 − w₁ 在第 {n_long // 3}、{2 * n_long // 3}、{n_long} 步：" + "、".join(f"{d:.2e}" for d in deltas)
          + "（按 β₂ 的遗忘速度逐渐变小）")
    assert abs(adam_l2[0] - l2_fixed) < 1e-9
    assert abs(adamw[0] - quasi) < 0.05 * (2 - adamw[0]) and deltas[0] > deltas[1] > deltas[2] > 0
    assert abs(adamw[1] - decay_w2) < 1e-12
    if not quick:
        assert abs(adamw[0] - adamw_fixed) < 2e-3
    print(f"  结论：有梯度的 w₁，Adam + L2 停在 L2 正则化损失的最小值 {l2_fixed:.4f}（被拉离 2 约 {2 - l2_fixed:.4f}）；"
          f"AdamW 在 {n_long} 步时离 2 还差 {2 - adamw[0]:.1e}，并继续向 2 靠拢（不动点只差 {g_star / 20:.0e}）；"
          f"没有梯度的 w₂ 在 AdamW 下严格按 (1 − αλ)^t 衰减，在 Adam + L2 下 {n_long} 步后是 {adam_l2[1]:.1e}。")
    return {"adamw_step_diff": step_diff, "adam_l2_w1": adam_l2[0], "adamw_w1": adamw[0], "l2_fixed_point": l2_fixed}


def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    results.update(exercise4(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
