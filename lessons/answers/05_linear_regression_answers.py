# %% [markdown]
# # 第 05 课 ★ 练习答案：线性回归：训练循环
#
# 运行方式：`python lessons/answers/05_linear_regression_answers.py [--quick] [--device cuda]`（在仓库根目录）。

# %%
import math
from pathlib import Path

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, TensorDataset, make_regression
from tinygrad_zh.lesson import load_definitions, run_lesson


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
#   大幅度地来回摆动，振幅越来越大，损失随之上下翻腾，最后冲到 `inf` / `nan`。
#
# 这和一个没有阻尼的弹簧很像（第 08 课会看到：动量法是“有阻尼”的版本，$v \leftarrow \beta v + g$，$\beta < 1$）。


# %%
def exercise1(device, quick):
    lesson = load_lesson()
    data = make_data(lesson, device, quick)
    tg.manual_seed(0)
    model = nn.Linear(2, 1).to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(data["X"], data["y"]), batch_size=32, shuffle=True)
    epochs = 3 if quick else 20
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
    data = make_data(lesson, device, quick)
    loader = DataLoader(TensorDataset(data["X"], data["y"]), batch_size=32, shuffle=True)
    epochs = 3 if quick else 20
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
    return out


# %%
def main(quick=False, device="cpu"):
    results = {}
    with __import__("numpy").errstate(over="ignore", invalid="ignore"):   # 发散时 NumPy 会警告上溢，这里是预期的
        results.update(exercise1(device, quick))
        results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
