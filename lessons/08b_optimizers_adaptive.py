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
# # 第 08 课（下）：优化器——AdaGrad、RMSprop、Adam 与原文勘误
#
# 原文（«AI大模型创业：如何利用国际优势？»）§4.2.1 给出了 AdaGrad、RMSprop 和 Adam 的公式，§4.1.2 还有另一个 Adam，
# 可惜都写错了：AdaGrad 和 RMSprop 两行
#
# $$\frac{1}{\text{AdaGrad}} = \sum_{i=0}^{t} \left(\frac{dx_i}{dt}\right)^2,\qquad
# \frac{1}{\text{RMSprop}} = \frac{\gamma \cdot \frac{1}{\text{batch size}} \sum_{i=0}^t \left( \frac{dx_i}{dt} \right)^2 + (1 - \gamma) \cdot \frac{1}{\text{batch size}} \sum_{i=0}^{t-1} \left( \frac{dx_i}{dt} \right)^2}{1 - \gamma^t}$$
#
# 根本不是完整的更新规则；两处 Adam 公式
# $\theta = \theta - \alpha \cdot \frac{m}{1 + \beta_1^T + \beta_2^T}$（§4.1.2）与
# $\theta_t = \theta_{t-1} - \alpha \cdot \frac{m_t}{1 - \beta_1^t + \beta_2^t}$（§4.2.1）
# 都没有用到它自己定义的二阶矩 $v$，“偏差修正”也写错了。
#
# 本课接着上半课（`lessons/08a_optimizers_momentum.py`）：试验场（Rosenbrock 曲面、通用的 `run()`）、
# 把公式变成优化器的 `FormulaOptimizer` 和动量法都在那里。这里直接取用上半课的定义
# （`load_definitions`：只执行上半课的 `import`、`def`、`class` 和常量，不运行它），步骤编号也接着上半课，从第 5 步开始。
# 和上半课一样，每条原文公式都**照字面**写成一个优化器，与 `tinygrad_zh.optim` 里的正确实现（算法与 PyTorch 逐步相同）并排跑。
#
# **学习目标**
#
# 1. 能写出 AdaGrad、RMSprop、Adam、AdamW 的正确更新公式，并说出原文每一行错在哪里；
# 2. 会手算 Adam 的第一步（含偏差修正 (bias correction)），并与 `optim.Adam` 逐位对照；
# 3. 理解“尺度不变性”：把损失乘以 100，SGD 的步子变大 100 倍，而 AdaGrad / RMSprop / Adam 的步子不变；
# 4. 分清 L2 正则化与解耦权重衰减 (decoupled weight decay)：为什么 Adam 要换成 AdamW；
# 5. 认识三种学习率调度 (learning-rate schedule)：阶梯衰减、余弦退火、预热 (warmup) + 余弦。
#
# **前置知识**：第 08 课（上）（试验场 `run()`、`FormulaOptimizer`、动量法）；第 02 课（梯度下降、Rosenbrock 函数）。
#
# **运行方式**（在仓库根目录；上半课的文件 `lessons/08a_optimizers_momentum.py` 要在同一个目录里）：
#
# ```bash
# python lessons/08b_optimizers_adaptive.py            # 完整模式（每个优化器 2000 步，约 10 秒）
# python lessons/08b_optimizers_adaptive.py --quick    # 快速模式：每个优化器 1000 步，几秒
# python lessons/08b_optimizers_adaptive.py --device cuda
# jupytext --to notebook lessons/08b_optimizers_adaptive.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。

# %% tags=["parameters"]
QUICK = False    # 快速模式：每个优化器 1000 步而不是 2000 步（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh import optim
from tinygrad_zh.lesson import lesson_args, load_definitions, progress, show
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）


def part_one():
    """上半课 08a 里的定义（import、def、class 与字面常量），不运行上半课本身。"""
    here = globals().get("__file__")
    folder = Path(here).resolve().parent if here else Path.cwd()   # 笔记本里没有 __file__：工作目录就是 lessons/
    return load_definitions(folder / "08a_optimizers_momentum.py")

# %% [markdown]
# ## 准备：取来上半课的试验场
#
# 从上半课取来这些名字：起点 `START = (−1.2, 1)`、最小值 `OPTIMUM = (1, 1)`、曲面 `rosenbrock`（可乘尺度 `scale`）、
# 通用的 `run(make_optimizer, name, n_steps, device, ...)` 与一行结果 `describe(r)`、两条路径的最大差 `max_path_diff`、
# 基类 `FormulaOptimizer`（子类只写 `update(xp, θ, g, state, hp)`），以及画轨迹和损失曲线的 `plot_paths`、`plot_losses`。
# 每个优化器走的步数 `N_STEPS` 与上半课相同。

# %%
part1 = part_one()
START, OPTIMUM, rosenbrock, rosenbrock_np = part1.START, part1.OPTIMUM, part1.rosenbrock, part1.rosenbrock_np
run, describe, pad, max_path_diff = part1.run, part1.describe, part1.pad, part1.max_path_diff
FormulaOptimizer, plot_paths, plot_losses = part1.FormulaOptimizer, part1.plot_paths, part1.plot_losses
N_STEPS = part1.QUICK_STEPS if QUICK else part1.FULL_STEPS
RESULTS["n_steps"] = N_STEPS
print(f"从 08a 取来试验场：起点 {START}，最小值 {OPTIMUM}，J(起点) = {rosenbrock_np(*START):.2f}；"
      f"每个优化器最多走 {N_STEPS} 步（QUICK = {QUICK}）")

# %% [markdown]
# ## 第 5 步：AdaGrad——原文那一行不是学习率
#
# **原文 §4.2.1**：
#
# $$\frac{1}{\text{AdaGrad}} = \sum_{i=0}^{t} \left(\frac{dx_i}{dt}\right)^2$$
#
# 这一行只定义了一个量，没有说参数怎么更新。最字面的读法：把 $dx_i/dt$ 当作第 $i$ 步的梯度 $g_i$，
# 把“AdaGrad”当作第 $t$ 步的学习率（原文说它“调整学习率”），于是（按元素运算）
#
# $$\eta_t = \frac{1}{\sum_{i \le t} g_i^2},\qquad \theta_t = \theta_{t-1} - \eta_t\, g_t = \theta_{t-1} - \frac{g_t}{\sum_{i\le t} g_i^2}.$$
#
# 为什么这不可能是学习率：
#
# - **量纲不对**：步子 $\eta g$ 应该和 $\theta$ 同单位；$g / \sum g^2$ 的单位是 $1/g$。第一步恰好是 $-1/g_1$：
#   梯度越大，步子越小；梯度接近 0 时步子趋于无穷；
# - **尺度反了**：把损失乘以 100，梯度乘以 100，这个“学习率”的步子反而缩小 100 倍（第 8 步）；
# - 没有可以调的 $\alpha$，也没有开方。
#
# **正确的 AdaGrad**（Duchi 等，2011；$\varepsilon$ 防止除以 0，PyTorch 默认 $10^{-10}$）：
#
# $$G_t = G_{t-1} + g_t^2,\qquad \theta_t = \theta_{t-1} - \alpha\,\frac{g_t}{\sqrt{G_t} + \varepsilon}.$$
#
# 开方让步子与梯度的尺度无关：第一步恰好是 $\alpha \cdot \operatorname{sign}(g_1)$（每个坐标各走 $\alpha$）。
# 之后 $G$ 只增不减，有效学习率 $\alpha/\sqrt{G_t}$ 越来越小——这是 AdaGrad 的特点，也是它的缺点。


# %%
class SeedAdaGrad(FormulaOptimizer):
    """原文 §4.2.1 照字面：学习率 η = 1/Σg²（按元素），θ ← θ − η·g。lr 是额外乘上的 α，默认 1（原文没有 α）。"""

    def update(self, xp, theta, g, state, hp):
        state["G"] = state.get("G", 0.0) + g * g
        return theta - hp["lr"] * g / state["G"]


class HandAdaGrad(FormulaOptimizer):
    """正确的 AdaGrad：G ← G + g²；θ ← θ − αg/(√G + ε)。"""

    def update(self, xp, theta, g, state, hp):
        state["G"] = state.get("G", 0.0) + g * g
        return theta - hp["lr"] * g / (xp.sqrt(state["G"]) + hp["eps"])


adagrad = run(lambda ps: optim.Adagrad(ps, lr=0.5), "Adagrad", N_STEPS, DEVICE)
hand_adagrad = run(lambda ps: HandAdaGrad(ps, lr=0.5, eps=1e-10), "手写 AdaGrad", N_STEPS, DEVICE)
seed_adagrad = run(lambda ps: SeedAdaGrad(ps, lr=1.0), "原文 AdaGrad", N_STEPS, DEVICE)
adagrad_hand_diff = max_path_diff(adagrad, hand_adagrad)
p1 = seed_adagrad["path"][1]
print(f"正确（optim.Adagrad，α = 0.5）：{describe(adagrad)}")
print(f"手写 G ← G + g²; θ ← θ − αg/(√G + ε) 与 optim.Adagrad 整条路径的最大差：{adagrad_hand_diff:.1e}")
print(f"原文（η = 1/Σg²）：{describe(seed_adagrad)}")
print(f"原文的第一步：g₁ = (−215.6, −88)，θ₁ − θ₀ = −1/g₁ = ({p1[0] - START[0]:.5f}, {p1[1] - START[1]:.5f})")
RESULTS["seed_adagrad_first_step"] = [p1[0] - START[0], p1[1] - START[1]]

# %% [markdown]
# ## 第 6 步：RMSprop——原文的“指数平均”其实是一个永不遗忘的累加和
#
# **原文 §4.2.1**：
#
# $$\frac{1}{\text{RMSprop}} = \frac{\gamma \cdot \frac{1}{\text{batch size}} \sum_{i=0}^t \left( \frac{dx_i}{dt} \right)^2 + (1 - \gamma) \cdot \frac{1}{\text{batch size}} \sum_{i=0}^{t-1} \left( \frac{dx_i}{dt} \right)^2}{1 - \gamma^t}$$
#
# 同 AdaGrad 一样，这一行只定义了一个量。照字面：记 $S_t = \sum_{i\le t} g_i^2$（本课只有一个“样本”，batch size = 1），
# 分子化简为 $\gamma S_t + (1-\gamma) S_{t-1} = S_{t-1} + \gamma g_t^2$，所以
#
# $$R_t = \frac{S_{t-1} + \gamma\, g_t^2}{1 - \gamma^t},\qquad \eta_t = \frac{1}{R_t},\qquad \theta_t = \theta_{t-1} - \frac{g_t}{R_t}.$$
#
# 毛病一目了然：
#
# - 分子里是**全部**历史梯度平方的和，没有任何衰减，和 AdaGrad 的 $G$ 几乎一样。RMSprop 的本意恰恰是“忘掉”
#   久远的梯度，避免 AdaGrad 学习率一路衰减到 0——原文的公式正好没做到它自己说的事；
# - 除以 $1-\gamma^t$ 是给**从 0 出发的指数平均**做的偏差修正，用在累加和上没有意义（$t = 1$ 时把 $R_1$ 放大了 100 倍）；
# - 同样没有开方、量纲不对（第 8 步）。
#
# **正确的 RMSprop**（Hinton 的课程讲义，2012；PyTorch 的 $\gamma$ 叫 `alpha`，默认 0.99）：
#
# $$E_t = \gamma\, E_{t-1} + (1-\gamma)\, g_t^2,\qquad \theta_t = \theta_{t-1} - \alpha\,\frac{g_t}{\sqrt{E_t} + \varepsilon}.$$
#
# $E_t$ 是梯度平方的指数移动平均 (exponential moving average)，大约只记得最近 $1/(1-\gamma) = 100$ 步。
#
# 下面还打印两种规则在 $x$ 坐标上的**有效学习率**（每单位梯度走多远）：正确的 $\alpha/\sqrt{E_t}$ 会随梯度变小而变大，
# 原文的 $1/R_t$ 只会越来越小。
#
# 一个小插曲：完整模式里，手写的 RMSprop 与 `optim.RMSprop` 的路径在后半段会相差约 $10^{-3}$。两者算的是同一个公式，
# 只是乘除的顺序不同（我们写 $(\alpha g)/d$，库里是 $(g/d)\cdot\alpha$），每步差一个舍入（约 $10^{-16}$）。
# 当 RMSprop 在山谷两壁之间来回跳时，这样的差别会被迅速放大——这是迭代过程本身的敏感性，不是哪一边错了：
# 两条路径的最终损失只差万分之几。数值计算里“逐位相同”只能期望于完全相同的运算顺序。


# %%
def first_split(a, b, tol=1e-12):
    """两条路径第一次相差超过 tol 的步数；始终不超过时返回 None。"""
    n = min(len(a["path"]), len(b["path"]))
    d = np.abs(np.array(a["path"][:n]) - np.array(b["path"][:n])).max(axis=1)
    return int(np.argmax(d > tol)) if (d > tol).any() else None


class SeedRMSprop(FormulaOptimizer):
    """原文 §4.2.1 照字面：R = (γ·S_t + (1−γ)·S_{t−1}) / (B·(1−γ^t))，S 是梯度平方的累加和；θ ← θ − lr·g/R。"""

    def update(self, xp, theta, g, state, hp):
        s_prev = state.get("S", 0.0)
        state["S"] = s_prev + g * g
        gamma, t = hp["gamma"], state["t"]
        state["R"] = (gamma * state["S"] + (1 - gamma) * s_prev) / (hp["batch_size"] * (1 - gamma ** t))
        return theta - hp["lr"] * g / state["R"]


class HandRMSprop(FormulaOptimizer):
    """正确的 RMSprop：E ← γE + (1−γ)g²；θ ← θ − αg/(√E + ε)。"""

    def update(self, xp, theta, g, state, hp):
        state["E"] = hp["gamma"] * state.get("E", 0.0) + (1 - hp["gamma"]) * (g * g)
        return theta - hp["lr"] * g / (xp.sqrt(state["E"]) + hp["eps"])


rms_lr, rms_gamma = 0.01, 0.99
rmsprop = run(lambda ps: optim.RMSprop(ps, lr=rms_lr, alpha=rms_gamma), "RMSprop", N_STEPS, DEVICE)
hand_rmsprop = run(lambda ps: HandRMSprop(ps, lr=rms_lr, gamma=rms_gamma, eps=1e-8), "手写 RMSprop", N_STEPS, DEVICE)
seed_rmsprop = run(lambda ps: SeedRMSprop(ps, lr=1.0, gamma=rms_gamma, batch_size=1), "原文 RMSprop", N_STEPS, DEVICE)
rmsprop_hand_diff = max_path_diff(rmsprop, hand_rmsprop)
rmsprop_split = first_split(rmsprop, hand_rmsprop)
print(f"正确（optim.RMSprop，α = {rms_lr}，γ = {rms_gamma}）：{describe(rmsprop)}")
print(f"手写 E ← γE + (1−γ)g²; θ ← θ − αg/(√E + ε) 与 optim.RMSprop 整条路径的最大差：{rmsprop_hand_diff:.1e}")
if rmsprop_split is not None:
    print(f"  两条路径从第 {rmsprop_split} 步起相差超过 1e-12（舍入顺序不同，见上文）；"
          f"最终损失 {rmsprop['final_loss']:.5f} 与 {hand_rmsprop['final_loss']:.5f}")
print(f"原文（η = 1/R）：{describe(seed_rmsprop)}")
RESULTS.update({"rmsprop_split": rmsprop_split, "hand_rmsprop_loss": hand_rmsprop["final_loss"]})

# %% [markdown]
# 两个“分母”随步数怎样变：正确的 $E$ 会忘记过去，原文的 $R$ 只增不减。下面这一格让两种规则并排走，
# 在第 1、10、100 步和最后一步打印 $x$ 坐标上的分母与有效学习率（每单位梯度走多远）：正确的是 $\alpha/\sqrt{E}$，原文的是 $1/R$。

# %%
theta_c = tg.tensor(START, dtype=tg.float64, device=DEVICE, requires_grad=True)
theta_s = tg.tensor(START, dtype=tg.float64, device=DEVICE, requires_grad=True)
opt_c = HandRMSprop([theta_c], lr=rms_lr, gamma=rms_gamma, eps=1e-8)
opt_s = SeedRMSprop([theta_s], lr=1.0, gamma=rms_gamma, batch_size=1)
checkpoints = {1, 10, 100, N_STEPS}
rmsprop_denominators = {}
for t in progress(range(1, N_STEPS + 1), desc="E 与 R", leave=False):
    for theta, opt in ((theta_c, opt_c), (theta_s, opt_s)):
        opt.zero_grad()
        rosenbrock(theta).backward()
        opt.step()
    if t in checkpoints:
        e = float(opt_c.state[theta_c]["E"][0])
        r = float(opt_s.state[theta_s]["R"][0])
        rmsprop_denominators[t] = (e, r)
        print(f"第 {t:4d} 步（x 坐标）：正确的 E = {e:9.4g}，α/√E = {rms_lr / math.sqrt(e):9.3g}    "
              f"原文的 R = {r:9.4g}，1/R = {1 / r:9.3g}")
RESULTS["rmsprop_denominators"] = rmsprop_denominators

# %% [markdown]
# ## 第 7 步：Adam——两处原文公式都丢了二阶矩
#
# **原文 §4.1.2**：$\displaystyle \theta = \theta - \alpha \cdot \frac{m}{1 + \beta_1^T + \beta_2^T}$
#
# **原文 §4.2.1**：$m_t$、$v_t$ 的定义是对的，但更新写成 $\displaystyle \theta_t = \theta_{t-1} - \alpha \cdot \frac{m_t}{1 - \beta_1^t + \beta_2^t}$。
#
# **正确的 Adam**（Kingma & Ba，2015）：
#
# $$m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,$$
# $$\hat m_t = \frac{m_t}{1-\beta_1^t},\qquad \hat v_t = \frac{v_t}{1-\beta_2^t},\qquad
# \theta_t = \theta_{t-1} - \alpha\,\frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}.$$
#
# 对照着看：
#
# - 两处原文公式都**没有用到 $v$**。Adam 的“自适应”全在 $\sqrt{\hat v}$ 里：用梯度的大小去除梯度，步子才与尺度无关。
#   没有它，原文的 Adam 就是“带指数平均的动量法 + 一个奇怪的分母”，步子与梯度成正比；
# - 两个分母 $1 + \beta_1^t + \beta_2^t \in (1, 3)$ 与 $1 - \beta_1^t + \beta_2^t$ 都不是偏差修正。后一个并不“约等于 1”：
#   取 $\beta_1 = 0.9$、$\beta_2 = 0.999$，它在 $t = 1$ 时是 1.099，第 45 步升到最大值 1.947，第 1000 步仍有 1.368，
#   要几千步后才回落到 1 附近（下面的代码逐步算出这几个数）。
#   正确的修正分别除以 $1-\beta_1^t$ 和 $1-\beta_2^t$：$m$、$v$ 从 0 出发，前几步偏小，要放大回来；
# - 照字面，我们把 §4.1.2 的 $m$ 取成 §4.2.1 定义的同一个 $m_t$，把 $T$ 读作步数 $t$
#   （若 $T$ 是总步数，分母就是常数，结论不变）。
#
# 原文对 Adam 的来历也前后矛盾。§4.1.2 写“Adam优化器结合了动量和RMSprop的优点，具有较好的收敛性”；
# §4.2.1 却写“Adam方法结合了AdaGrad和RMSprop的优点，通过一阶矩估计和二阶矩估计调整学习率”。前一句是对的：
# $m_t$ 就是动量（梯度的指数平均），$v_t$ 就是 RMSprop 的梯度平方指数平均；Adam 里没有 AdaGrad 那种“从头累加”的 $\sum g^2$。
#
# 取 Adam 在这个曲面上常用的 $\alpha = 0.1$，三者同起点、同学习率。


# %%
class SeedAdam412(FormulaOptimizer):
    """原文 §4.1.2 照字面：m ← β1·m + (1−β1)·g；θ ← θ − α·m/(1 + β1^t + β2^t)。v 不存在。"""

    def update(self, xp, theta, g, state, hp):
        b1, b2 = hp["betas"]
        t = state["t"]
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        return theta - hp["lr"] * state["m"] / (1 + b1 ** t + b2 ** t)


class SeedAdam421(FormulaOptimizer):
    """原文 §4.2.1 照字面：m、v 按指数平均更新（正确），但 θ ← θ − α·m/(1 − β1^t + β2^t)，v 算了却没用。"""

    def update(self, xp, theta, g, state, hp):
        b1, b2 = hp["betas"]
        t = state["t"]
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        return theta - hp["lr"] * state["m"] / (1 - b1 ** t + b2 ** t)


class HandAdam(FormulaOptimizer):
    """正确的 Adam：m、v 的指数平均，偏差修正 m̂ = m/(1−β1^t)、v̂ = v/(1−β2^t)，θ ← θ − α·m̂/(√v̂ + ε)。"""

    def update(self, xp, theta, g, state, hp):
        b1, b2 = hp["betas"]
        t = state["t"]
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        m_hat = state["m"] / (1 - b1 ** t)
        v_hat = state["v"] / (1 - b2 ** t)
        return theta - hp["lr"] * m_hat / (xp.sqrt(v_hat) + hp["eps"])


adam_lr, betas = 0.1, (0.9, 0.999)
adam = run(lambda ps: optim.Adam(ps, lr=adam_lr, betas=betas), "Adam", N_STEPS, DEVICE)
hand_adam = run(lambda ps: HandAdam(ps, lr=adam_lr, betas=betas, eps=1e-8), "手写 Adam", N_STEPS, DEVICE)
seed_adam_412 = run(lambda ps: SeedAdam412(ps, lr=adam_lr, betas=betas), "原文 Adam §4.1.2", N_STEPS, DEVICE)
seed_adam_421 = run(lambda ps: SeedAdam421(ps, lr=adam_lr, betas=betas), "原文 Adam §4.2.1", N_STEPS, DEVICE)
adam_hand_diff = max_path_diff(adam, hand_adam)
print(f"正确（optim.Adam，α = {adam_lr}）：{describe(adam)}")
print(f"手写 Adam 与 optim.Adam 整条路径的最大差：{adam_hand_diff:.1e}")
print(f"原文 §4.1.2：{describe(seed_adam_412)}")
print(f"原文 §4.2.1：{describe(seed_adam_421)}")

# 原文 §4.2.1 的分母 1 − β1^t + β2^t 逐步算出来：它离 1 有多远？
ts = np.arange(1, 20001)
denom = 1 - betas[0] ** ts + betas[1] ** ts
peak = int(np.argmax(denom))
seed_denom = {"t1": float(denom[0]), "max": float(denom[peak]), "argmax": int(ts[peak]), "t1000": float(denom[999])}
print(f"原文 §4.2.1 的分母 1 − β1^t + β2^t：t = 1 时 {seed_denom['t1']:.3f}，第 {seed_denom['argmax']} 步最大 "
      f"{seed_denom['max']:.3f}，第 1000 步 {seed_denom['t1000']:.3f}")
RESULTS["seed_adam_denominator"] = seed_denom

# %% [markdown]
# ### 手算 Adam 的第一步
#
# 在起点 $(-1.2, 1)$：$\partial J/\partial x = -2(1-x) - 400x(y - x^2) = -4.4 - 211.2 = -215.6$，
# $\partial J/\partial y = 200(y - x^2) = -88$。于是 $g_1 = (-215.6, -88)$，而 $m_0 = v_0 = 0$：
#
# - $m_1 = 0.1\, g_1 = (-21.56, -8.8)$，$v_1 = 0.001\, g_1^2 = (46.48336, 7.744)$；
# - 偏差修正：$\hat m_1 = m_1 / (1 - 0.9) = g_1$，$\hat v_1 = v_1 / (1 - 0.999) = g_1^2$——修正后正好还原出 $g_1$ 和 $g_1^2$；
# - $\hat m_1 / (\sqrt{\hat v_1} + \varepsilon) = g_1 / (|g_1| + \varepsilon) \approx (-1, -1)$，所以
#   $\theta_1 \approx \theta_0 + 0.1\cdot(1, 1) = (-1.1, 1.1)$：**Adam 的第一步每个坐标都走 $\alpha$**，与梯度多大无关；
# - 不做偏差修正：$m_1/(\sqrt{v_1}+\varepsilon) = 0.1 g_1/(\sqrt{0.001}\,|g_1|) \approx 3.162$，第一步会大 3.16 倍。
#
# 下面用 NumPy 照这几行算一遍，再让 `optim.Adam` 走一步，逐位对照。

# %%
lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
x, y = START
g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
m = (1 - b1) * g
v = (1 - b2) * g * g
m_hat, v_hat = m / (1 - b1), v / (1 - b2)
theta1 = np.array(START) - lr * m_hat / (np.sqrt(v_hat) + eps)
no_correction = lr * np.abs(m) / (np.sqrt(v) + eps)

theta = tg.tensor(START, dtype=tg.float64, device=DEVICE, requires_grad=True)
opt = optim.Adam([theta], lr=lr, betas=(b1, b2), eps=eps)
rosenbrock(theta).backward()
opt.step()
lib = np.array(theta.detach().tolist())
state = opt.state[theta]
lib_m = np.array(state["exp_avg"].tolist())
lib_v = np.array(state["exp_avg_sq"].tolist())
print(f"g₁ = {g.round(6).tolist()}")
print(f"m₁ = (1 − β1)·g₁ = {m.round(6).tolist()}（optim: {lib_m.round(6).tolist()}）")
print(f"v₁ = (1 − β2)·g₁² = {v.round(6).tolist()}（optim: {lib_v.round(6).tolist()}）")
print(f"m̂₁ = m₁/(1 − β1) = {m_hat.round(6).tolist()}，v̂₁ = v₁/(1 − β2) = {v_hat.round(4).tolist()}")
print(f"θ₁（手算）= {theta1.round(10).tolist()}")
print(f"θ₁（optim.Adam）= {lib.round(10).tolist()}，差 {np.abs(theta1 - lib).max():.1e}")
print(f"不做偏差修正时第一步的步长：{no_correction.round(4).tolist()}（是 α = {lr} 的 "
      f"{no_correction[0] / lr:.3f} 倍）")
RESULTS.update({"adam_g1": g.tolist(), "adam_m1": m.tolist(), "adam_v1": v.tolist(),
                "adam_theta1_hand": theta1.tolist(), "adam_theta1_lib": lib.tolist(),
                "adam_first_step_diff": float(np.abs(theta1 - lib).max()),
                "adam_no_correction_ratio": float(no_correction[0] / lr)})

# %% [markdown]
# ## 第 8 步：尺度测试——把损失乘以 100
#
# 一个好的自适应方法不应该在乎损失的单位：把 $J$ 换成 $100J$（比如损失从“元”换成“分”），最优点不变，
# 合理的算法应该走出差不多的路。看各条规则第一步的步长 $\lVert\theta_1 - \theta_0\rVert$：
#
# - SGD：步长 $= \alpha\lVert g\rVert$，随尺度 **成正比** 变化——所以 SGD 的学习率要随问题调；
# - 正确的 AdaGrad / RMSprop / Adam：$g/\sqrt{\cdot}$ 中尺度上下相消，步长**不变**；
# - 原文的 AdaGrad / RMSprop：$g/\sum g^2$，步长与尺度**成反比**；
# - 原文的两个 Adam：没有 $\sqrt{v}$，步长与尺度**成正比**，和 SGD 一样。
#
# 再把正确的 Adam 和原文 §4.2.1 的 Adam 都取 $\alpha = 0.01$，分别在 $J/100$、$J$、$100J$ 上跑完整的步数，看谁对尺度敏感。
# 你会看到一个乍看意外的结果：在原始的 $J$ 上，原文的 Adam 反而比正确的 Adam 收敛得**更快**。原因是它本质上就是
# 一个动量法（$m$ 是梯度的指数平均），而 $\alpha = 0.01$ 对 Rosenbrock 的梯度尺度来说恰好合适：
# $\alpha m_t = \alpha(1-\beta_1)\,u_t$（$u_t = \beta_1 u_{t-1} + g_t$ 是上半课第 4 步动量法的“速度”），再除以第 7 步算出的分母
# 1.099 ~ 1.947，所以它相当于 $\beta = 0.9$、学习率在 $0.001/1.947 \approx 0.00051$ 与 $0.001/1.099 \approx 0.00091$
# 之间变化的动量法——比上半课第 4 步的 $\alpha = 0.001$ 小，最多小将近一半，并不“就是”那个动量法。可一旦损失换个单位，它要么慢得几乎不动，要么几步之内发散；
# 正确的 Adam 在三种尺度上走出的是**同一条**路径。一个公式在某个例子上碰巧管用，不等于它是对的。


# %%
def first_step_sizes(device):
    """各条规则在 c·J（c = 0.01, 1, 100）上第一步的步长 ‖θ₁ − θ₀‖。"""
    rules = {
        "SGD (α=0.001)": lambda ps: optim.SGD(ps, lr=0.001),
        "AdaGrad (α=0.5)": lambda ps: optim.Adagrad(ps, lr=0.5),
        "原文 AdaGrad": lambda ps: SeedAdaGrad(ps, lr=1.0),
        "RMSprop (α=0.01)": lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.99),
        "原文 RMSprop": lambda ps: SeedRMSprop(ps, lr=1.0, gamma=0.99, batch_size=1),
        "Adam (α=0.1)": lambda ps: optim.Adam(ps, lr=0.1),
        "原文 Adam §4.1.2": lambda ps: SeedAdam412(ps, lr=0.1, betas=(0.9, 0.999)),
        "原文 Adam §4.2.1": lambda ps: SeedAdam421(ps, lr=0.1, betas=(0.9, 0.999)),
    }
    table = {}
    for name, make in rules.items():
        sizes = []
        for scale in (0.01, 1.0, 100.0):
            theta = tg.tensor(START, dtype=tg.float64, device=device, requires_grad=True)
            opt = make([theta])
            rosenbrock(theta, scale).backward()
            opt.step()
            x, y = theta.detach().tolist()
            sizes.append(math.hypot(x - START[0], y - START[1]))
        table[name] = sizes
    return table


step_sizes = first_step_sizes(DEVICE)
print("第一步的步长 ‖θ₁ − θ₀‖：")
print(f"  {pad('规则', 20)}{'0.01·J':>12}{'J':>12}{'100·J':>12}")
for name, sizes in step_sizes.items():
    print(f"  {pad(name, 20)}" + "".join(f"{s:12.4g}" for s in sizes))
RESULTS["first_step_sizes"] = step_sizes

# %% [markdown]
# 下面这一格做完整运行：正确的 Adam 与原文 §4.2.1 的 Adam，$\alpha = 0.01$，在三种尺度上各走 `N_STEPS` 步
# （最终损失都按原始的 $J$ 计）。

# %%
scale_runs = {}
for scale in (0.01, 1.0, 100.0):
    a = run(lambda ps: optim.Adam(ps, lr=0.01), f"Adam ×{scale:g}", N_STEPS, DEVICE, scale=scale)
    s = run(lambda ps: SeedAdam421(ps, lr=0.01, betas=(0.9, 0.999)), f"原文 Adam ×{scale:g}", N_STEPS, DEVICE,
            scale=scale)
    scale_runs[scale] = (a, s)
    print(f"{scale:>6g}·J：正确的 Adam {describe(a)}")
    print(f"{'':>6}   原文 §4.2.1  {describe(s)}")
RESULTS.update({"scale_adam_loss": {k: v[0]["final_loss"] for k, v in scale_runs.items()},
                "scale_seed_adam_loss": {k: v[1]["final_loss"] for k, v in scale_runs.items()},
                "scale_seed_adam_diverged_at": {k: v[1]["diverged_at"] for k, v in scale_runs.items()}})

# %% [markdown]
# ## 第 9 步：汇总表与轨迹图
#
# 所有规则同起点 $(-1.2, 1)$、同步数；每对“原文 / 正确”用同一个学习率。上半课的 SGD 与动量法（正确、原文照字面、
# 原文宽容读法）也用上半课的类重跑一遍放进表里，作为自适应方法的对照。

# %%
sgd = run(lambda ps: optim.SGD(ps, lr=0.001), "SGD", N_STEPS, DEVICE)
momentum = run(lambda ps: optim.SGD(ps, lr=0.001, momentum=0.9), "SGD momentum", N_STEPS, DEVICE)
seed_momentum = run(lambda ps: part1.SeedMomentum(ps, lr=0.001, beta=0.9), "原文动量法", N_STEPS, DEVICE)
seed_momentum_as_step = run(lambda ps: part1.SeedMomentumAsStep(ps, lr=0.001, beta=0.9), "原文（宽容读法）",
                            N_STEPS, DEVICE)
runs = {"sgd": sgd, "momentum": momentum, "seed_momentum": seed_momentum,
        "seed_momentum_as_step": seed_momentum_as_step, "adagrad": adagrad, "seed_adagrad": seed_adagrad,
        "rmsprop": rmsprop, "seed_rmsprop": seed_rmsprop, "adam": adam, "seed_adam_412": seed_adam_412,
        "seed_adam_421": seed_adam_421}
SUMMARY_ROWS = [("SGD（α=0.001）", "sgd"),
                ("动量法 正确（α=0.001, β=0.9）", "momentum"), ("动量法 原文（照字面）", "seed_momentum"),
                ("动量法 原文（宽容读法）", "seed_momentum_as_step"),
                ("AdaGrad 正确（α=0.5）", "adagrad"), ("AdaGrad 原文（η=1/Σg²）", "seed_adagrad"),
                ("RMSprop 正确（α=0.01）", "rmsprop"), ("RMSprop 原文（η=1/R）", "seed_rmsprop"),
                ("Adam 正确（α=0.1）", "adam"), ("Adam 原文 §4.1.2（α=0.1）", "seed_adam_412"),
                ("Adam 原文 §4.2.1（α=0.1）", "seed_adam_421")]
print(f"{pad('规则', 34)}{'J(θ_N)':>12}{'‖θ_N − (1,1)‖':>16}   （N = {N_STEPS}）")
for title, key in SUMMARY_ROWS:
    r = runs[key]
    if r["diverged_at"] is not None:
        print(f"{pad(title, 34)}{'发散':>10}    第 {r['diverged_at']} 步")
    else:
        print(f"{pad(title, 34)}{r['final_loss']:12.3e}{r['dist']:16.3e}")
RESULTS.update({
    "final_loss": {k: r["final_loss"] for k, r in runs.items()},
    "dist": {k: r["dist"] for k, r in runs.items()},
    "diverged_at": {k: r["diverged_at"] for k, r in runs.items()},
    "hand_diff": {"adagrad": adagrad_hand_diff, "rmsprop": rmsprop_hand_diff, "adam": adam_hand_diff},
})

# %% [markdown]
# 轨迹图：四个面板分别是动量法（上半课的图）、AdaGrad、RMSprop 和 Adam，实线是正确的公式，虚线是原文的公式；
# 然后是全部规则的损失曲线（横轴、纵轴都取对数，发散的曲线在发散处画一个 ×）。两个画图函数来自上半课。

# %%
panels = [
    (("动量法", "momentum"), part1.MOMENTUM_CURVES),
    (("AdaGrad", "AdaGrad"), [("adagrad", ("正确", "correct"), "C2", "-"),
                              ("seed_adagrad", ("原文 η = 1/Σg²（几乎没动）", "seed: lr = 1/sum g^2 (barely moves)"),
                               "C3", "--")]),
    (("RMSprop", "RMSprop"), [("rmsprop", ("正确", "correct"), "C2", "-"),
                              ("seed_rmsprop", ("原文 η = 1/R（几乎没动）", "seed: lr = 1/R (barely moves)"), "C3", "--")]),
    (("Adam（α = 0.1）", "Adam (lr = 0.1)"), [("adam", ("正确", "correct"), "C2", "-"),
                                             ("seed_adam_412", ("原文 §4.1.2", "seed 4.1.2"), "C3", "--"),
                                             ("seed_adam_421", ("原文 §4.2.1", "seed 4.2.1"), "C1", ":")]),
]
loss_curves = [("sgd", "SGD", "C7", "-"), ("momentum", ("动量法", "momentum"), "C0", "-"),
               ("adagrad", "AdaGrad", "C1", "-"), ("rmsprop", "RMSprop", "C4", "-"), ("adam", "Adam", "C2", "-"),
               ("seed_momentum", ("原文动量法", "seed momentum"), "C0", "--"),
               ("seed_adagrad", ("原文 AdaGrad", "seed AdaGrad"), "C1", "--"),
               ("seed_rmsprop", ("原文 RMSprop", "seed RMSprop"), "C4", "--"),
               ("seed_adam_412", ("原文 Adam §4.1.2", "seed Adam 4.1.2"), "C2", ":"),
               ("seed_adam_421", ("原文 Adam §4.2.1", "seed Adam 4.2.1"), "C2", "--")]
RESULTS["figure_paths"] = str(show(plot_paths(runs, panels), "08b_optimizer_paths.png", dpi=110))
RESULTS["figure_losses"] = str(show(plot_losses(runs, loss_curves, N_STEPS), "08b_optimizer_losses.png"))

# %% [markdown]
# ## 第 10 步：AdamW——权重衰减为什么要“解耦”
#
# **L2 正则化** 在损失上加 $\frac{\lambda}{2}\lVert\theta\rVert^2$，梯度多出 $\lambda\theta$；**权重衰减** (weight decay)
# 是每步把参数乘以 $(1 - \alpha\lambda)$。对 SGD，二者是同一件事：
#
# $$\theta - \alpha(g + \lambda\theta) = (1 - \alpha\lambda)\,\theta - \alpha g.$$
#
# 所以 `optim.SGD(weight_decay=λ)` 既可以叫 L2 正则化，也可以叫权重衰减。可对 Adam 不一样：
#
# - `optim.Adam(weight_decay=λ)` 把 $\lambda\theta$ 加进梯度，再进入 $m$、$v$，最后**被 $\sqrt{\hat v}$ 除掉**。
#   一个梯度一直很大的参数，$\lambda\theta$ 相对于 $g$ 微不足道，几乎不衰减；而一个**没有**损失梯度的参数
#   （例如永远乘以 0 的权重），$g = \lambda\theta$，$m$ 和 $\sqrt{v}$ 里都有同一个因子 $\lambda$，除掉之后与 $\lambda$ 无关：
#   起初每步走约 $\alpha$，之后 $\theta$ 变小、$\hat v$ 还记着以前较大的 $g^2$，步子才慢慢变小。$\lambda$ 取 0.1 还是 0.001，
#   曲线几乎一样（只差 $\varepsilon$ 带来的万分之一）——衰减的强度被“归一化”掉了；
# - `optim.AdamW(weight_decay=λ)`（Loshchilov & Hutter，2019）把衰减从梯度里拿出来，直接做
#   $\theta \leftarrow \theta - \alpha\lambda\theta$，再做不含 $\lambda$ 的 Adam 更新。每个参数都按同一比例 $\alpha\lambda$ 衰减，
#   $\lambda$ 的含义和 SGD 里一样清楚。GPT 类模型几乎都用 AdamW（第 15 课）。
#
# 下面用一个“没有损失梯度”的参数（初值 1，损失为 0，只受衰减作用）演示：$\alpha = 0.01$，200 步，两个 $\lambda$。
# 再验证 SGD 的 L2 与手写衰减 $(1 - \alpha\lambda)^t$ 完全一致。


# %%
def decay_only(make_optimizer, n_steps, device):
    """一个不出现在损失里的参数：只受权重衰减 / L2 项作用。返回每步的值。"""
    w = tg.tensor([1.0], dtype=tg.float64, device=device, requires_grad=True)
    opt = make_optimizer([w])
    values = [1.0]
    for _ in range(n_steps):
        opt.zero_grad()
        (w * 0.0).sum().backward()   # 损失与 w 无关：梯度恰为 0，但 .grad 不是 None，优化器会照常更新
        opt.step()
        values.append(w.item())
    return values


decay_lr, decay_n = 0.01, 200
adamw_curves = {}
for lam in (0.1, 0.001):
    adamw_curves[f"Adam(weight_decay={lam})"] = decay_only(
        lambda ps: optim.Adam(ps, lr=decay_lr, weight_decay=lam), decay_n, DEVICE)
    adamw_curves[f"AdamW(weight_decay={lam})"] = decay_only(
        lambda ps: optim.AdamW(ps, lr=decay_lr, weight_decay=lam), decay_n, DEVICE)
for name, vals in adamw_curves.items():
    print(f"{name:<26} w_50 = {vals[50]:+.4f}   w_100 = {vals[100]:+.4f}   w_200 = {vals[200]:+.4f}")
sgd_decay = decay_only(lambda ps: optim.SGD(ps, lr=decay_lr, weight_decay=0.1), decay_n, DEVICE)
sgd_decay_formula = (1 - decay_lr * 0.1) ** decay_n
print(f"SGD(weight_decay=0.1)：w_200 = {sgd_decay[-1]:.10f}；(1 − αλ)^200 = {sgd_decay_formula:.10f}，"
      f"差 {abs(sgd_decay[-1] - sgd_decay_formula):.1e}")
RESULTS.update({"adamw_final": {k: v[-1] for k, v in adamw_curves.items()},
                "adamw_w50": {k: v[50] for k, v in adamw_curves.items()},
                "sgd_decay_final": sgd_decay[-1], "sgd_decay_formula": sgd_decay_formula})

# %% [markdown]
# 把四条曲线画出来：Adam 的两条完全重合，AdamW 的两条按 $(1 - \alpha\lambda)^t$ 各自衰减。


# %%
def plot_adamw(curves):
    fig, ax = subplots(figsize=(8, 4.2))
    # Adam 的两条线完全重合：λ = 0.001 那条画成带圆点的细虚线叠在上面，才看得出有两条
    styles = {"Adam(weight_decay=0.1)": ("C3", "-", 4, None), "Adam(weight_decay=0.001)": ("C1", "--", 1.5, "o"),
              "AdamW(weight_decay=0.1)": ("C2", "-", 2, None), "AdamW(weight_decay=0.001)": ("C2", "--", 2, None)}
    for name, vals in curves.items():
        color, ls, lw, marker = styles[name]
        ax.plot(vals, ls, color=color, lw=lw, marker=marker, markevery=20, ms=4, label=name)
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xlabel(label("迭代步", "step"))
    ax.set_ylabel(label("参数值 w（没有损失梯度）", "weight w (no loss gradient)"))
    ax.set_title(label("Adam 的 L2：两个 λ 的曲线重合；AdamW：每步乘 (1 − αλ)",
                       "Adam + L2: lambda does not matter; AdamW: w *= (1 - lr*lambda)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


RESULTS["figure_adamw"] = str(show(plot_adamw(adamw_curves), "08b_adam_vs_adamw.png"))

# %% [markdown]
# ## 第 11 步：学习率调度
#
# 学习率不必从头到尾不变。`optim.lr_scheduler` 里的调度器在每轮（或每步）末尾调用一次 `scheduler.step()`，
# 按公式改写优化器的 `lr`（$t$ 是已调用的次数，$\alpha_0$ 是初始学习率）：
#
# - **阶梯衰减** `StepLR(step_size=s, gamma=γ)`：$\alpha_t = \alpha_0 \cdot \gamma^{\lfloor t/s \rfloor}$；
# - **余弦退火** `CosineAnnealingLR(T_max=T)`：$\alpha_t = \alpha_{\min} + (\alpha_0 - \alpha_{\min})\,\frac{1 + \cos(\pi t/T)}{2}$；
# - **预热 + 余弦** `WarmupCosineLR(warmup_steps=W, total_steps=T)`：前 $W$ 步从 0 线性升到 $\alpha_0$，之后按余弦降到
#   $\alpha_{\min}$。刚开始时参数是随机的、Adam 的 $v$ 也还没估准，一上来就用大学习率容易一步跳坏；
#   PyTorch 没有这个类，要用 `LambdaLR` 自己拼——我们也拼一个，核对二者逐步相同。
#
# 为什么要降低学习率？第 6 步的 RMSprop 用恒定的 $\alpha$，到了最小值附近每步仍走约 $\alpha$ 那么远，只能在最小值周围来回跳；
# 让 $\alpha$ 逐渐变小，它才能停下来。我们用 $\alpha_0 = 0.03$ 的 RMSprop 比较恒定学习率与余弦退火。


# %%
def schedule_curve(make_scheduler, n):
    w = tg.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()       # 没有梯度时 step() 什么也不改；调用它只是为了保持“先 step 再调度”的惯例
        sched.step()
    return lrs


n_epochs, warm = 100, 10


def warmup_cosine(t):
    if t < warm:
        return t / warm
    return 0.5 * (1 + math.cos(math.pi * min(t - warm, n_epochs - warm) / (n_epochs - warm)))


schedules = {
    "StepLR(step_size=30, gamma=0.1)": schedule_curve(
        lambda o: optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.1), n_epochs),
    "CosineAnnealingLR(T_max=100)": schedule_curve(
        lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=n_epochs), n_epochs),
    "WarmupCosineLR(warmup_steps=10, total_steps=100)": schedule_curve(
        lambda o: optim.lr_scheduler.WarmupCosineLR(o, warmup_steps=warm, total_steps=n_epochs), n_epochs),
}
by_lambda = schedule_curve(lambda o: optim.lr_scheduler.LambdaLR(o, warmup_cosine), n_epochs)
lambda_vs_warmup_cosine = max(abs(a - b) for a, b in
                              zip(by_lambda, schedules["WarmupCosineLR(warmup_steps=10, total_steps=100)"]))
print(f"学习率调度（初始学习率 0.1，共 {n_epochs} 轮）：")
for name, vals in schedules.items():
    print(f"  {name:<50}" + "  ".join(f"t={t}: {vals[t]:.4g}" for t in (0, 5, 10, 30, 50, 99)))
print(f"LambdaLR 拼出的预热 + 余弦与 WarmupCosineLR 的最大差：{lambda_vs_warmup_cosine:.1e}")
RESULTS.update({"schedules": schedules, "lambda_vs_warmup_cosine": lambda_vs_warmup_cosine})


# %%
def plot_schedules(lrs):
    fig, ax = subplots(figsize=(7, 4.2))
    for (name, vals), color in zip(lrs.items(), ("C0", "C1", "C2")):
        # 学习率在一轮之内不变：画成台阶（steps-post），StepLR 的跳变才是竖直的
        ax.plot(vals, color=color, lw=2, label=name, drawstyle="steps-post")
    ax.set_xlabel(label("轮（调用 scheduler.step() 的次数）", "epoch (calls to scheduler.step())"))
    ax.set_ylabel(label("学习率", "learning rate"))
    ax.set_title(label("三种学习率调度", "three learning-rate schedules"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


RESULTS["figure_schedules"] = str(show(plot_schedules(schedules), "08b_lr_schedules.png"))

# %% [markdown]
# 最后用 $\alpha_0 = 0.03$ 的 RMSprop 在 Rosenbrock 上比较恒定学习率与余弦退火（`T_max` 取总步数，每步调度一次）。

# %%
rms_const = run(lambda ps: optim.RMSprop(ps, lr=0.03), "RMSprop 恒定", N_STEPS, DEVICE)
rms_cosine = run(lambda ps: optim.RMSprop(ps, lr=0.03), "RMSprop 余弦", N_STEPS, DEVICE,
                 make_scheduler=lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=N_STEPS))
print(f"RMSprop α₀ = 0.03，恒定学习率：{describe(rms_const)}")
print(f"RMSprop α₀ = 0.03，余弦退火：  {describe(rms_cosine)}")
RESULTS.update({"rmsprop_const_loss": rms_const["final_loss"], "rmsprop_cosine_loss": rms_cosine["final_loss"]})

# %% [markdown]
# ## 小结
#
# | 方法 | 原文 | 正确 |
# |---|---|---|
# | AdaGrad | $1/\text{AdaGrad} = \sum g^2$：不是更新规则；当学习率用，步子 $\propto 1/g$ | $G \leftarrow G + g^2,\ \theta \leftarrow \theta - \alpha g/(\sqrt G + \varepsilon)$ |
# | RMSprop | 分子是不衰减的累加和，再除以 $1-\gamma^t$：既不是指数平均，也没开方 | $E \leftarrow \gamma E + (1-\gamma) g^2,\ \theta \leftarrow \theta - \alpha g/(\sqrt E + \varepsilon)$ |
# | Adam | $m/(1 + \beta_1^T + \beta_2^T)$ 与 $m_t/(1 - \beta_1^t + \beta_2^t)$：没用 $v$，偏差修正写错 | $\hat m = m/(1-\beta_1^t),\ \hat v = v/(1-\beta_2^t),\ \theta \leftarrow \theta - \alpha\hat m/(\sqrt{\hat v} + \varepsilon)$ |
#
# （动量法那一行见上半课的小结。）
#
# - 自适应方法的要点是“用梯度的大小去除梯度”（开方后的二阶矩），于是步长与损失的尺度无关；原文的几条公式恰恰丢了这一点；
# - Adam = 动量（$m$，梯度的指数平均）+ RMSprop（$v$，梯度平方的指数平均），不是 AdaGrad + RMSprop；
# - Adam 的偏差修正让第一步恰好走 $\alpha$；不修正时第一步大 $1/\sqrt{1-\beta_2} \cdot (1-\beta_1) \approx 3.16$ 倍；
# - 对 SGD，L2 正则化 = 权重衰减；对 Adam 不是，要用 AdamW 的解耦衰减；
# - 学习率调度：阶梯、余弦、预热 + 余弦；恒定学习率的自适应方法会在最小值附近打转，退火让它停下来。
#
# ## 练习
#
# 1. ★ 写一个**不做偏差修正**的 Adam（`FormulaOptimizer` 的子类），验证第一步的步长是 $\alpha$ 的 3.16 倍，
#    再比较它和正确的 Adam 在 Rosenbrock 上 2000 步后的损失。
# 2. ★★ 换一个曲面：Beale 函数 $J = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2$，最小值在 $(3, 0.5)$，
#    从 $(1, 1.5)$ 出发，重做第 9 步的汇总表。哪些结论不变？
# 3. ★★ 试试 `optim.RMSprop(momentum=0.9)`：它的公式是什么？用 `FormulaOptimizer` 写出来，与库里的实现逐步对照；
#    在 Rosenbrock 上比动量法快吗？
# 4. ★★★ 用 `FormulaOptimizer` 写出 AdamW，在一个有损失梯度的问题上（比如 $J = 10(w_1 - 2)^2$，再加一个没有梯度的 $w_2$）
#    与 `optim.AdamW(weight_decay=0.1)` 逐步对照到 $10^{-12}$；再推导 Adam + L2 在这个问题上的不动点，与 AdamW 的比较。
#
# 全部练习的答案见 `lessons/answers/08b_optimizers_adaptive_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。完整模式每个优化器 2000 步，快速模式 1000 步
# （其余设置相同）；前一半的数与步数无关，两种模式相同。汇总表里“另一种模式”那一列来自 `REFERENCE`：
# 完整模式与快速模式各一次真实运行（CPU，float64）记下的数，测试会核对快速模式那一份与真实运行一致。
#
# 图片：`08b_optimizer_paths.png`（四个面板的轨迹）、`08b_optimizer_losses.png`、`08b_adam_vs_adamw.png`、`08b_lr_schedules.png`。
# 运行时间（2 核 CPU）：完整模式约 10 秒，快速模式约 7 秒。

# %%
REFERENCE = {
    "full": {"n_steps": 2000,
             "final_loss": {"sgd": 7.821e-02, "momentum": 6.027e-09, "seed_momentum_as_step": 7.150e-09,
                            "adagrad": 1.459e-02, "seed_adagrad": 9.909e+00, "rmsprop": 2.384e-02,
                            "seed_rmsprop": 1.756e+01, "adam": 6.658e-17},
             "adam_dist": 1.826e-08, "hand_rmsprop_loss": 2.381e-02, "scale_adam_loss": 4.628e-02,
             "scale_seed_adam_loss": {0.01: 3.669e+00, 1.0: 9.802e-07},
             "rmsprop_const_loss": 1.911e-01, "rmsprop_cosine_loss": 2.577e-03},
    "quick": {"n_steps": 1000,
              "final_loss": {"sgd": 4.535e-01, "momentum": 2.505e-05, "seed_momentum_as_step": 2.744e-05,
                             "adagrad": 1.261e-01, "seed_adagrad": 1.099e+01, "rmsprop": 4.699e-02,
                             "seed_rmsprop": 1.879e+01, "adam": 1.243e-05},
              "adam_dist": 7.877e-03, "hand_rmsprop_loss": 4.260e-02, "scale_adam_loss": 1.255e+00,
              "scale_seed_adam_loss": {0.01: 3.938e+00, 1.0: 8.896e-04},
              "rmsprop_const_loss": 1.823e-01, "rmsprop_cosine_loss": 2.593e-02},
}

R = RESULTS
other = REFERENCE["full" if QUICK else "quick"]
other_name = "完整模式" if QUICK else "快速模式"
div = R["diverged_at"]
den = R["seed_adam_denominator"]
hd = R["hand_diff"]
E = R["rmsprop_denominators"]
steps = R["first_step_sizes"]
sched = list(R["schedules"].values())
adamw = R["adamw_final"]
scale_same = max(R["scale_adam_loss"].values()) - min(R["scale_adam_loss"].values()) <= 1e-6 * R["scale_adam_loss"][1.0]
start_dist = math.dist(START, OPTIMUM)
adaptive = {"adagrad": "AdaGrad", "rmsprop": "RMSprop", "adam": "Adam"}
closer = {name: R["dist"][k] / start_dist for k, name in adaptive.items()}
seed_worse = [adaptive[k] for k in ("adagrad", "rmsprop") if R["final_loss"][f"seed_{k}"] > R["final_loss"][k]]


def sizes(name, fmt=".4g"):
    return " / ".join(f"{s:{fmt}}" for s in steps[name])


print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'，每个优化器 {R['n_steps']} 步）：
- 正确的自适应方法离最小值的距离是起点距离 {start_dist:.2f} 的：""" + "、".join(
    f"{k} {100 * v:.2g}%" for k, v in closer.items()) + f"""（{'都走近了最小值' if max(closer.values()) < 0.5 else '并非都走近了最小值'}）；
  原文的 {'、'.join(seed_worse) or '（没有）'} 最终损失比正确的同名方法高（{len(seed_worse)} / 2）。与步数无关的数：
- 原文 Adam §4.1.2 在第 {div['seed_adam_412']} 步、§4.2.1 在第 {div['seed_adam_421']} 步发散（α = 0.1）；
- 手写的正确公式与 optim 整条路径的最大差：AdaGrad {hd['adagrad']:.1e}、Adam {hd['adam']:.1e}；RMSprop {hd['rmsprop']:.1e}
  （从第 {R['rmsprop_split']} 步起因舍入顺序分开；最终损失 {R['final_loss']['rmsprop']:.5f} 与 \
{R['hand_rmsprop_loss']:.5f}）；
- 原文 §4.2.1 的分母 1 − β1^t + β2^t：t = 1 时 {den['t1']:.3f}，第 {den['argmax']} 步最大 {den['max']:.3f}，\
第 1000 步 {den['t1000']:.3f}；
- 原文 AdaGrad 的第一步 −1/g₁ = ({R['seed_adagrad_first_step'][0]:.5f}, {R['seed_adagrad_first_step'][1]:.5f})；\
x 坐标上正确 RMSprop 的 E 与原文的 R：""" + "，".join(f"第 {t} 步 E = {e:.4g}、R = {r:.4g}" for t, (e, r) in E.items())
      + f"""；
- Adam 第一步：g₁ = {[round(v, 6) for v in R['adam_g1']]}，m₁ = {[round(v, 6) for v in R['adam_m1']]}，\
v₁ = {[round(v, 6) for v in R['adam_v1']]}，θ₁ = {[round(v, 10) for v in R['adam_theta1_hand']]}，
  手算与 optim.Adam 的差 {R['adam_first_step_diff']:.1e}；不做偏差修正时第一步是 α 的 {R['adam_no_correction_ratio']:.3f} 倍；
- 第一步步长（0.01J / J / 100J）：SGD {sizes('SGD (α=0.001)')}；AdaGrad {sizes('AdaGrad (α=0.5)')}；\
RMSprop {sizes('RMSprop (α=0.01)')}；Adam {sizes('Adam (α=0.1)')}；
  原文 AdaGrad {sizes('原文 AdaGrad')}；原文 RMSprop {sizes('原文 RMSprop', '.3g')}；\
原文 Adam §4.1.2 {sizes('原文 Adam §4.1.2')}，§4.2.1 {sizes('原文 Adam §4.2.1')}；
- 尺度测试里原文 §4.2.1 的 Adam 在 100J 上第 {R['scale_seed_adam_diverged_at'][100.0]} 步发散；\
正确的 Adam 在三种尺度上{'给出同一个损失' if scale_same else '给出的损失不同'}；
- 解耦衰减（200 步）：""" + "；".join(f"{k} w₅₀ = {R['adamw_w50'][k]:.4f}、w₂₀₀ = {v:.4f}" for k, v in adamw.items())
      + f"""；
  SGD(weight_decay=0.1) w₂₀₀ = {R['sgd_decay_final']:.10f}，(1 − αλ)^200 = {R['sgd_decay_formula']:.10f}；
- 调度（100 轮，初始 0.1）：StepLR 在 t = 30 为 {sched[0][30]:.4g}、t = 99 为 {sched[0][99]:.4g}；\
余弦在 t = 50 为 {sched[1][50]:.4g}、t = 99 为 {sched[1][99]:.4g}；
  预热 + 余弦在 t = 5 为 {sched[2][5]:.4g}、t = 10 为 {sched[2][10]:.4g}、t = 50 为 {sched[2][50]:.4g}；\
LambdaLR 拼法与 WarmupCosineLR 的最大差 {R['lambda_vs_warmup_cosine']:.1e}。""")


def cell(final_loss, diverged_at, key):
    if diverged_at.get(key) is not None:
        return f"第 {diverged_at[key]} 步发散"
    return f"{final_loss[key]:.3e}"


print("\n汇总表（J(θ_N)；发散的写步数）：")
print(f"  {pad('规则', 34)}{pad('本次运行 N = ' + str(R['n_steps']), 22)}{other_name}参考 N = {other['n_steps']}")
for title, key in SUMMARY_ROWS:
    print(f"  {pad(title, 34)}{pad(cell(R['final_loss'], div, key), 22)}{cell(other['final_loss'], div, key)}")
print(f"Adam 正确离 (1, 1)：本次 {R['dist']['adam']:.3e}，{other_name} {other['adam_dist']:.3e}。")
sl, ssl = R["scale_adam_loss"], R["scale_seed_adam_loss"]
print(f"尺度测试（α = 0.01，最终 J）：正确的 Adam 本次 {sl[1.0]:.3e}（{other_name} {other['scale_adam_loss']:.3e}）；"
      f"原文 §4.2.1 在 0.01J / J 上本次 {ssl[0.01]:.3e} / {ssl[1.0]:.3e}"
      f"（{other_name} {other['scale_seed_adam_loss'][0.01]:.3e} / {other['scale_seed_adam_loss'][1.0]:.3e}）。")
print(f"RMSprop α₀ = 0.03：本次恒定学习率 J = {R['rmsprop_const_loss']:.3e}、余弦退火 {R['rmsprop_cosine_loss']:.3e}"
      f"（{other_name} {other['rmsprop_const_loss']:.3e} 与 {other['rmsprop_cosine_loss']:.3e}）；"
      f"{'余弦退火更低' if R['rmsprop_cosine_loss'] < R['rmsprop_const_loss'] else '恒定学习率更低'}。")
print("图片：" + "、".join(R[k] for k in ("figure_paths", "figure_losses", "figure_adamw", "figure_schedules")))
