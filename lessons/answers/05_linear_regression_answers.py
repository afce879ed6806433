# %% [markdown]
# # 第 05 课 练习答案：线性回归：训练循环
#
# 运行方式：`python lessons/answers/05_linear_regression_answers.py [--quick] [--device cuda]`（在仓库根目录）。

# %%
import math
import time
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, TensorDataset, make_regression
from tinygrad_zh.lesson import load_definitions, run_lesson, show


def load_lesson():
    """取第 05 课里定义的函数与常量（训练循环 train、NOISE、TRUE_BIAS；只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "05_linear_regression.py")


def make_data(lesson, device, quick):
    """与第 05 课第 1 步相同的数据：返回 X (N, 2) 与 y (N, 1)。"""
    n = 200 if quick else 1000
    X_np, y_np, _ = make_regression(n_samples=n, n_features=2, noise=lesson.NOISE, seed=0, bias=lesson.TRUE_BIAS)
    return {"X": tg.tensor(X_np, device=device), "y": tg.tensor(y_np, device=device)}


# %% [markdown]
# ## 练习 1 ★：删掉 `optimizer.zero_grad()`
#
# `.grad` 会累加（第 01 课第 7 步）。不清零时，第 $t$ 步用来更新的是前 $t$ 步所有小批量梯度之和
# $G_t = g_1 + \dots + g_t$：
#
# - 一开始，各步的梯度方向大体一致，$G_t$ 越积越大，相当于学习率变成了 $t$ 倍；
# - 参数冲过最优点以后，新的梯度方向反过来，但要先抵消掉积下的 $G_t$ 才能掉头——于是参数在最优点两侧
#   大幅度地来回摆动，振幅越来越大，损失随之上下翻腾、一轮比一轮高（训练得更久就冲到 `inf` / `nan`）。
#
# 这和一个没有阻尼的弹簧很像（第 08 课（上）会看到：动量法是“有阻尼”的版本，$v \leftarrow \beta v + g$，$\beta < 1$）。


# %%
def exercise1(device, quick):
    lesson = load_lesson()
    data = make_data(lesson, device, quick=False)   # 两种模式都用完整设置：不到半秒，少几轮看不出振幅在长
    tg.manual_seed(0)
    model = nn.Linear(2, 1).to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(data["X"], data["y"]), batch_size=32, shuffle=True)
    epochs = 20
    epoch_losses = []
    for _ in range(epochs):
        for xb, yb in loader:
            # 故意不调用 optimizer.zero_grad()
            F.mse_loss(model(xb), yb).backward()
            optimizer.step()
        with tg.no_grad():
            epoch_losses.append(F.mse_loss(model(data["X"]), data["y"]).item())
    print("练习 1：不清零梯度，学习率 0.1，每轮末的全数据损失：")
    print("  " + "，".join(f"{v:.3g}" for v in epoch_losses))
    print(f"  对照：第 05 课正常训练后损失约 {lesson.NOISE ** 2}（噪声方差）")
    # 从来没有接近噪声方差，而且后几轮的损失比前几轮大一个数量级以上（振幅在长）
    assert min(epoch_losses) > 2 * lesson.NOISE ** 2 and max(epoch_losses[-5:]) > 10 * max(epoch_losses[:5]), epoch_losses
    return {"no_zero_grad_losses": epoch_losses}


# %% [markdown]
# ## 练习 2 ★：学习率 0.01、1.0、1.1
#
# 均方误差 $L = \frac1N\lVert Xw + b - y\rVert^2$ 的二阶导数矩阵（Hessian）是 $\frac2N \tilde X^\top \tilde X$
# （$\tilde X = [X, \mathbf 1]$）。特征是独立的标准正态、均值约 0，所以它约等于 $2I$：每个方向的“曲率” $f'' \approx 2$。
# 第 02 课的结论：学习率 $\alpha < 2/f'' \approx 1$ 才收敛。实际结果：
#
# - $\alpha = 0.01$：每步误差乘约 $1 - 0.02$，20 轮共 640 步，$0.98^{640} \approx 2 \times 10^{-6}$，足够走到底；
#   而且学习率小、参数抖动小，最终损失比 0.1 的还略低一点（第 05 课第 6 步讲过抖动与学习率成正比）；
# - $\alpha = 0.1$（课上用的）：很快收敛，但在最优点附近抖动；
# - $\alpha = 1.0$：按全体数据的曲率它正好在边界上，但每一步用的是 32 个样本的小批量，
#   小批量的 $\frac2B X_B^\top X_B$ 的最大特征值常常明显大于 2，于是一些步的 $|1 - \alpha f''| > 1$，误差被放大，最终发散；
# - $\alpha = 1.1$：更快发散（`nan`）。
#
# 教训：小批量训练能用的学习率比全批量的理论上限还要小一些。


# %%
def exercise2(device, quick):
    lesson = load_lesson()
    data = make_data(lesson, device, quick=False)   # 两种模式都用完整设置（不到半秒）
    loader = DataLoader(TensorDataset(data["X"], data["y"]), batch_size=32, shuffle=True)
    epochs = 20
    out = {}
    print(f"练习 2：恒定学习率，{epochs} 轮后的全数据损失")
    for lr in (0.01, 0.1, 1.0, 1.1):
        tg.manual_seed(0)
        model = nn.Linear(2, 1).to(device)
        _, epoch_losses, _, _ = lesson.train(model, loader, data["X"], data["y"], epochs, lr, decay=False,
                                             show_bar=False)
        final = epoch_losses[-1]
        out[f"lr{lr}"] = final
        note = "发散" if not math.isfinite(final) or final > 1e6 else ""
        print(f"  α = {lr:<5} 损失 {final:.4g} {note}")
    floor = lesson.NOISE ** 2
    assert out["lr0.01"] < out["lr0.1"] < 1.1 * floor, out                          # 0.01 走到底且抖得更少
    assert all(not math.isfinite(out[k]) or out[k] > 1e6 for k in ("lr1.0", "lr1.1")), out   # 两个都发散
    return out


# %% [markdown]
# ## 练习 3 ★★：批量梯度下降要多少步降到 0.26 以下？每步多贵？
#
# 每步用全部 $N$ 个样本，梯度没有噪声，损失单调下降。能降多快可以事先算出来：
# 损失是二次函数，$L(\theta) = L^* + (\theta - \theta^*)^\top H_{1/2} (\theta - \theta^*)$，
# 其中 $H_{1/2} = \frac1N\tilde X^\top\tilde X$ 的特征值 $\lambda_i$ 都约等于 1（特征是标准正态，再加一列 1）。
# 一步梯度下降把 $\theta - \theta^*$ 沿第 $i$ 个特征方向乘以 $1 - 2\alpha\lambda_i \approx 1 - 0.2 = 0.8$，
# 所以多出来的损失 $L - L^*$ 每步约乘 $0.8^2 = 0.64$，需要的步数约为
#
# $$t \approx \frac{\ln\big((L_0 - L^*)/(0.26 - L^*)\big)}{-2\ln(1 - 2\alpha)}.$$
#
# 下面用框架真跑一遍，再用 NumPy float64 按同一公式 $\theta \leftarrow \theta - \alpha\frac2N\tilde X^\top(\tilde X\theta - y)$
# 独立迭代一遍核对步数。每步的代价：一次批量梯度要过 $N$ 个样本，一次小批量只过 32 个；
# 在这么小的问题上每步的时间主要是 Python 和框架的固定开销，所以批量一步远没有贵到 $N/32$ 倍；
# 按“看过的样本数”算，小批量 SGD 要便宜得多：它走的步数和批量梯度下降差不多，每步却只看 32 个样本。
# （步数差不多是因为这个问题的梯度噪声相对梯度本身很小；损失接近 $L^*$ 时噪声才变得要紧，见第 05 课第 6 步。）

# %%
THRESHOLD = 0.26


def time_steps(X, y, lr, repeats):
    """一步批量梯度下降与一步小批量（32 个样本）SGD 各要多少毫秒。

    先热身一次；两种步交替计时 5 组、每组 repeats 步，取每种最快的一组（共享机器上的干扰只会让时间变长）。
    """
    tg.manual_seed(0)
    model = nn.Linear(2, 1).to(X.device)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    batches = [(X, y), (X[:32], y[:32])]
    best = [math.inf, math.inf]
    for block in range(6):
        for k, (xb, yb) in enumerate(batches):
            start = time.perf_counter()
            for _ in range(repeats):
                optimizer.zero_grad()
                F.mse_loss(model(xb), yb).backward()
                optimizer.step()
            _ = model.bias.item()                            # GPU 上等计算真正完成再停表
            if block > 0:                                    # 第 0 组是热身，不计
                best[k] = min(best[k], (time.perf_counter() - start) / repeats * 1e3)
    return best


def exercise3(device, quick):
    lesson = load_lesson()
    data = make_data(lesson, device, quick)
    X, y = data["X"], data["y"]
    n = X.shape[0]
    lr = 0.1

    # 框架：每步用全部数据
    tg.manual_seed(0)
    model = nn.Linear(2, 1).to(device)
    theta0 = np.concatenate([model.weight.detach().cpu().numpy().reshape(-1),
                             model.bias.detach().cpu().numpy()]).astype(np.float64)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    gd_losses = []
    while True:
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        gd_losses.append(loss.item())        # 第 t 个数 = 走了 t 步之后的全数据损失
        if gd_losses[-1] < THRESHOLD:
            break
        loss.backward()
        optimizer.step()
        assert len(gd_losses) < 10_000
    gd_steps = len(gd_losses) - 1

    # 参照：NumPy float64 独立迭代同一公式，以及闭式解 L* 与步数的估计
    A = np.concatenate([X.cpu().numpy(), np.ones((n, 1))], axis=1).astype(np.float64)
    t = y.cpu().numpy().astype(np.float64)[:, 0]
    theta, ref_steps = theta0.copy(), 0
    while np.mean((A @ theta - t) ** 2) >= THRESHOLD:
        theta -= lr * (2 / n) * A.T @ (A @ theta - t)
        ref_steps += 1
    theta_star, *_ = np.linalg.lstsq(A, t, rcond=None)
    l_star = float(np.mean((A @ theta_star - t) ** 2))
    estimate = math.log((gd_losses[0] - l_star) / (THRESHOLD - l_star)) / (-2 * math.log(1 - 2 * lr))
    assert abs(gd_steps - ref_steps) <= 1, (gd_steps, ref_steps)
    assert all(b < a for a, b in zip(gd_losses, gd_losses[1:]))          # 无噪声：单调下降

    # 对照：小批量 SGD（批量 32），每走一步就看一次全数据损失
    tg.manual_seed(0)
    model = nn.Linear(2, 1).to(device)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    sgd_steps, seen, done = 0, 0, False
    while not done:
        for xb, yb in loader:
            optimizer.zero_grad()
            F.mse_loss(model(xb), yb).backward()
            optimizer.step()
            sgd_steps, seen = sgd_steps + 1, seen + xb.shape[0]
            with tg.no_grad():
                if F.mse_loss(model(X), y).item() < THRESHOLD:
                    done = True
                    break
    gd_ms, sgd_ms = time_steps(X, y, lr, repeats=50 if quick else 300)

    print(f"练习 3：N = {n}，学习率 {lr}，目标：全数据损失 < {THRESHOLD}（最小可能值 L* = {l_star:.4f}）")
    print(f"  批量梯度下降：{gd_steps} 步（NumPy float64 独立迭代：{ref_steps} 步；公式估计 {estimate:.1f} 步），"
          f"共看过 {gd_steps * n} 个样本（{gd_steps} 轮）；每步约 {gd_ms:.3f} ms")
    print(f"  小批量 SGD（32）：{sgd_steps} 步，共看过 {seen} 个样本（{seen / n:.2f} 轮）；每步约 {sgd_ms:.3f} ms")
    cheaper = "更少" if seen < gd_steps * n else "更多"
    why = ("远小于样本数之比：每步的固定开销占了大头" if gd_ms / sgd_ms < n / 32 / 3
           else "接近样本数之比：时间主要花在按样本数增长的计算上")
    print(f"  批量一步的时间是小批量一步的 {gd_ms / sgd_ms:.2f} 倍，样本数之比 {n / 32:.1f}，{why}（计时因机器而异）；"
          f"按看过的样本数，小批量用得{cheaper}（{seen} 对 {gd_steps * n}）")
    return {"gd_steps": gd_steps, "gd_steps_numpy": ref_steps, "gd_steps_estimate": estimate,
            "sgd_steps": sgd_steps, "sgd_samples": seen, "gd_ms": gd_ms, "sgd_ms": sgd_ms}


# %% [markdown]
# ## 练习 4 ★★★：闭式解与真实参数的差随 N 缩小，按 $1/\sqrt N$
#
# 闭式解 $\hat\theta = (\tilde X^\top\tilde X)^{-1}\tilde X^\top y$，把 $y = \tilde X\theta + \varepsilon$ 代进去：
# $\hat\theta - \theta = (\tilde X^\top\tilde X)^{-1}\tilde X^\top\varepsilon$，协方差是 $\sigma^2(\tilde X^\top\tilde X)^{-1}$。
# 特征是标准正态时 $\tilde X^\top\tilde X \approx N I$，所以每个参数的误差的标准差约为 $\sigma/\sqrt N$。
#
# 一次抽样的误差本身是随机的（忽大忽小），所以对每个 $N$ 用许多个种子重复，取均方根 (RMS) 误差。
# 在双对数坐标里它应当是一条斜率 $-\tfrac12$ 的直线，而且 $\mathrm{RMS}\cdot\sqrt N/\sigma \approx 1$
# （$N$ 小时略大于 1：$\mathbb E[(\tilde X^\top\tilde X)^{-1}]$ 比 $I/N$ 大一点，约为 $I/(N - 4)$）。

# %%
def exercise4(quick):
    lesson = load_lesson()
    sizes = [30, 100, 1000, 10000]
    n_seeds = 40 if quick else 400
    rms, single = [], []
    for n in sizes:
        errors = []
        for seed in range(n_seeds):
            X_np, y_np, w_true = make_regression(n_samples=n, n_features=2, noise=lesson.NOISE, seed=seed,
                                                 bias=lesson.TRUE_BIAS)
            A = np.concatenate([X_np, np.ones((n, 1))], axis=1).astype(np.float64)
            theta, *_ = np.linalg.lstsq(A, y_np.astype(np.float64)[:, 0], rcond=None)
            errors.append(theta - np.append(w_true.astype(np.float64), lesson.TRUE_BIAS))
        errors = np.array(errors)                               # (种子数, 3)：w₁、w₂、b 的误差
        rms.append(float(np.sqrt(np.mean(errors ** 2))))
        single.append(float(np.abs(errors[0]).max()))
    slope = float(np.polyfit(np.log(sizes), np.log(rms), 1)[0])
    scaled = [r * math.sqrt(n) / lesson.NOISE for r, n in zip(rms, sizes)]
    print(f"练习 4：每个 N 用 {n_seeds} 个种子，误差 = 闭式解 − 真实值（w₁、w₂、b 三个分量）")
    for n, r, s, one in zip(sizes, rms, scaled, single):
        print(f"  N = {n:>5}：RMS 误差 {r:.5f}，σ/√N = {lesson.NOISE / math.sqrt(n):.5f}，"
              f"RMS·√N/σ = {s:.3f}（种子 0 这一次的最大差 {one:.5f}）")
    print(f"  log(RMS) 对 log(N) 的斜率 {slope:.3f}（1/√N 对应 −0.5）：N 每大 100 倍，误差缩小到约 "
          f"{100 ** slope:.3f}（1/10 = 0.1）")
    assert abs(slope + 0.5) < 0.08, slope
    assert all(0.8 < s < 1.3 for s in scaled), scaled
    figure = plot_ex4(sizes, rms, single, lesson.NOISE)
    return {"rms_gap": dict(zip(sizes, rms)), "rms_slope": slope, "rms_scaled": scaled, "gap_figure": figure}


def plot_ex4(sizes, rms, single, noise):
    try:
        from tinygrad_zh.viz import label, subplots
        fig, ax = subplots(figsize=(6.5, 4.2))
    except ImportError:                      # 没装 matplotlib 时只打印数字
        return None
    grid = np.logspace(np.log10(sizes[0]), np.log10(sizes[-1]), 50)
    ax.loglog(sizes, rms, "o-", label=label("闭式解误差的均方根（许多种子）", "RMS error of the closed form (many seeds)"))
    ax.loglog(sizes, single, "s:", alpha=0.7, label=label("种子 0 的最大误差（一次抽样）", "max error, seed 0 (one draw)"))
    ax.loglog(grid, noise / np.sqrt(grid), "k--", lw=1, label="σ/√N")
    ax.set_xlabel("N")
    ax.set_ylabel(label("|闭式解 − 真实值|", "|closed form − true|"))
    ax.set_title(label("闭式解与真实参数的差按 1/√N 缩小", "closed-form error shrinks like 1/√N"))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return str(show(fig, "05_answers_gap_vs_n.png"))


# %%
def main(quick=False, device="cpu"):
    results = {}
    with np.errstate(over="ignore", invalid="ignore"):   # 发散时 NumPy 会警告上溢，这里是预期的
        results.update(exercise1(device, quick))
        results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    results.update(exercise4(quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
