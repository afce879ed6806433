# %% [markdown]
# # 第 04 课 练习答案：原文的 3-2-1 网络
#
# 运行：`python lessons/answers/04_seed_321_network_answers.py`（在仓库根目录）。

# %%
import sys
from pathlib import Path

try:
    import tinygrad_zh  # noqa: F401
except ImportError:  # 没有 pip install -e . 时，从仓库根目录导入（脚本用 __file__，notebook 用当前目录）
    here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    sys.path.insert(0, str(here.parents[1]))

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.lesson import load_definitions, run_lesson, show
from tinygrad_zh.testing import assert_close

X = [1.0, 0.0, 1.0]
PARAMS = {"W_ih": [[0.2, -0.1, 0.4], [-0.3, 0.5, 0.6]], "b_h": [0.1, -0.2], "W_ho": [[0.5, -0.4]], "b_o": [0.3]}
NAMES = ["W_ih", "b_h", "W_ho", "b_o"]


def make_params(device):
    return {k: tg.tensor(PARAMS[k], device=device, requires_grad=True) for k in NAMES}


def forward(p, x, y, kind="half"):
    """kind="half"：原文的 ½ Σ (y − ŷ)²；kind="mse"：PyTorch MSELoss 的 mean((ŷ − y)²)。"""
    y_hat = tg.relu(tg.relu(x @ p["W_ih"].T + p["b_h"]) @ p["W_ho"].T + p["b_o"])
    if kind == "half":
        return 0.5 * ((y - y_hat) ** 2).sum(), y_hat
    return ((y_hat - y) ** 2).mean(), y_hat


# %% [markdown]
# ## ★ 练习 1：目标值改成 `y = 0.5`
#
# 前向不变：`ŷ = 0.61`。于是
#
# - `J = ½ (0.5 − 0.61)² = ½ · 0.0121 = 0.00605`
# - `∂J/∂ŷ = ŷ − y = 0.61 − 0.5 = 0.11`（两个 ReLU 都激活，`δ_o = 0.11`）
# - `∂J/∂W_ho = δ_o · a_h = 0.11 · [0.7, 0.1] = [0.077, 0.011]`
# - `∂J/∂b_h = δ_o · W_ho = 0.11 · [0.5, −0.4] = [0.055, −0.044]`
#
# 原来 `ŷ = 0.61 < 1`，预测偏小，`∂J/∂ŷ < 0`；现在 `ŷ = 0.61 > 0.5`，预测偏大，`∂J/∂ŷ > 0`。
# 所有梯度都是 `∂J/∂ŷ` 乘以同样的局部导数（`a_h`、`W_ho`、`x` 都没变），所以符号全部反过来，
# 大小按 `0.11 / 0.39` 缩小：梯度下降现在要把 `ŷ` 往下推。

# %%
def exercise1(device):
    print("★ 练习 1：y = 0.5")
    p = make_params(device)
    x = tg.tensor([X], device=device)
    y = tg.tensor([[0.5]], device=device)
    loss, y_hat = forward(p, x, y)
    y_hat.retain_grad()
    loss.backward()
    hand = {"J": 0.00605, "dJ/dy_hat": 0.11, "dJ/dW_ho": [[0.077, 0.011]], "dJ/db_h": [0.055, -0.044]}
    got = {"J": loss, "dJ/dy_hat": y_hat.grad[0, 0], "dJ/dW_ho": p["W_ho"].grad, "dJ/db_h": p["b_h"].grad}
    for k in hand:
        fw = got[k].detach().cpu().numpy()
        assert_close(fw, np.asarray(hand[k], dtype=np.float32), msg=k)
        print(f"  {k:<9} 手算 {hand[k]}，框架 {np.round(fw.astype(np.float64), 6).tolist()}")
    return {"ex1_loss": loss.item(), "ex1_dW_ho": p["W_ho"].grad.tolist(), "ex1_db_h": p["b_h"].grad.tolist()}


# %% [markdown]
# ## ★ 练习 2：`MSELoss` + 学习率 0.005 = `½` 版本 + 学习率 0.01
#
# 一个样本时 `mean((ŷ − y)²) = (ŷ − y)² = 2 · ½(y − ŷ)²`，所以 `∇J_mse = 2 ∇J_half`，
# `θ − 0.005 · ∇J_mse = θ − 0.005 · 2∇J_half = θ − 0.01 · ∇J_half`。
# 在 float32 里两者甚至逐位相同：乘以 2 和除以 2 在二进制浮点数里都是精确的。

# %%
def sgd_step(device, kind, lr):
    p = make_params(device)
    x = tg.tensor([X], device=device)
    y = tg.tensor([[1.0]], device=device)
    loss, _ = forward(p, x, y, kind)
    loss.backward()
    with tg.no_grad():
        for t in p.values():
            t.data = t.data - lr * t.grad.data
    return {k: t.detach().cpu().numpy() for k, t in p.items()}


def exercise2(device):
    print("★ 练习 2：MSELoss + lr 0.005 与 ½ 版本 + lr 0.01")
    half = sgd_step(device, "half", 0.01)
    mse = sgd_step(device, "mse", 0.005)
    identical = all(np.array_equal(half[k], mse[k]) for k in NAMES)
    for k in NAMES:
        h, m = (np.round(v[k].astype(np.float64), 6).tolist() for v in (half, mse))
        print(f"  {k:<5} ½ 版本 {h}，MSELoss 版本 {m}")
    assert identical
    print("  两组新参数逐位相同。")
    return {"ex2_identical": identical}


# %% [markdown]
# ## ★★ 练习 3：小批量 `x = [[1, 0, 1], [0, 1, 1]]`、`y = [[1], [0]]`，`Σ` 与 `mean` 两种损失
#
# 第 2 个样本 `x = [0, 1, 1]`：`z_h = [−0.1 + 0.4 + 0.1, 0.5 + 0.6 − 0.2] = [0.4, 0.9]`（都激活），
# `z_o = 0.5·0.4 − 0.4·0.9 + 0.3 = 0.14 > 0`，`ŷ = 0.14`，目标 `0`，所以 `δ_o = 0.14`；第 1 个样本仍是 `δ_o = −0.39`。
#
# `b_o` 的梯度就是各样本的 `δ_o` 合起来：
#
# - `J_Σ = ½ Σᵢ (yᵢ − ŷᵢ)²`（原文的写法）：`∂J_Σ/∂b_o = Σᵢ δ_o,ᵢ = −0.39 + 0.14 = −0.25`；
# - `J_mean = J_Σ / B`：`∂J_mean/∂b_o = (−0.39 + 0.14) / 2 = −0.125`。
#
# 为什么 `Σ` 版本随批量变大：总损失是 `B` 项之和，梯度也是 `B` 个样本梯度之和，
# 每个样本的梯度大小和批量无关，于是和 ≈ `B` × 平均梯度，随 `B` 线性增长（这里两个样本的 `δ_o` 一负一正，部分抵消，
# 但平均值 `−0.125` 不为 0）。
# 同一个学习率，换个批量大小步长就变了，学习率得跟着批量调；`mean` 版本是样本梯度的平均，不随 `B` 变。
# 下面把这个批量原样复制 `k` 份（`B = 2k`，平均梯度完全不变），看两种 `b_o` 梯度怎样变。

# %%
def load_lesson():
    """取第 04 课里定义的函数（forward_by_hand、backward_by_hand、net_forward；只执行 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "04_seed_321_network.py")


def batch_grads(device, xs, ys, reduction):
    """框架：J_Σ 或 J_mean 在一个小批量上的梯度（float64）。"""
    lesson = load_lesson()
    p = lesson.make_params(PARAMS, device, dtype=tg.float64)
    x = tg.tensor(xs, dtype=tg.float64, device=device)
    y = tg.tensor(ys, dtype=tg.float64, device=device)
    loss, _ = lesson.net_forward(p, x, y)               # 课程的 J = ½ Σ (y − ŷ)²
    if reduction == "mean":
        loss = loss / len(xs)
    loss.backward()
    return loss.item(), {k: p[k].grad.detach().cpu().numpy() for k in NAMES}


def exercise3(device):
    print("★★ 练习 3：小批量上的 Σ 与 mean")
    lesson = load_lesson()
    xs, ys = [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], [[1.0], [0.0]]
    # 参照：课程里的纯 Python 手算，逐个样本算，再求和 / 平均
    per_sample = []
    for xi, yi in zip(xs, ys):
        f = lesson.forward_by_hand(PARAMS, x=xi, y=yi[0])
        per_sample.append(lesson.backward_by_hand(PARAMS, f, x=xi, y=yi[0]))
        print(f"  样本 x = {xi}：z_h = {[round(v, 6) for v in f['z_h']]}，ŷ = {f['y_hat']:.6g}，"
              f"δ_o = {per_sample[-1]['dJ/dz_o']:.6g}")
    hand_sum = {k: np.sum([np.asarray(g["dJ/d" + k]) for g in per_sample], axis=0) for k in NAMES}
    _, g_sum = batch_grads(device, xs, ys, "sum")
    _, g_mean = batch_grads(device, xs, ys, "mean")
    for k in NAMES:
        assert_close(g_sum[k], hand_sum[k], msg=f"Σ {k}")
        assert_close(g_mean[k], hand_sum[k] / len(xs), msg=f"mean {k}")
    print(f"  ∂J_Σ/∂b_o = {g_sum['b_o'][0]:.6g}，∂J_mean/∂b_o = {g_mean['b_o'][0]:.6g}（与逐样本手算一致）")

    rows = []
    for k in (1, 2, 4, 8, 16):
        _, gs = batch_grads(device, xs * k, ys * k, "sum")
        _, gm = batch_grads(device, xs * k, ys * k, "mean")
        rows.append((2 * k, gs["b_o"][0], gm["b_o"][0]))
        assert_close(gs["b_o"], k * g_sum["b_o"])
        assert_close(gm["b_o"], g_mean["b_o"])
    print("  把批量复制 k 份：")
    for b, s, m in rows:
        print(f"    B = {b:>2}：Σ 版本 ∂J/∂b_o = {s:+.4f}（B = 2 时的 {s / rows[0][1]:g} 倍），mean 版本 {m:+.4f}")
    ratio = rows[-1][1] / rows[0][1]
    print(f"  B 从 {rows[0][0]} 变到 {rows[-1][0]}，Σ 版本的梯度变成 {ratio:g} 倍（= B 之比 {rows[-1][0] / rows[0][0]:g}），"
          f"mean 版本不变。")
    return {"ex3_db_o_sum": float(g_sum["b_o"][0]), "ex3_db_o_mean": float(g_mean["b_o"][0]),
            "ex3_sum_ratio": float(ratio)}


# %% [markdown]
# ## ★★★ 练习 4：线性输出、`b_o = −1`
#
# `z_o = 0.5·0.7 − 0.4·0.1 − 1 = −0.69`。
#
# - **有输出 ReLU**：`ŷ = ReLU(−0.69) = 0`，`ReLU'(z_o) = 0`，所以 `δ_o = 0`。所有梯度都是 `δ_o` 乘别的东西，
#   于是**全部为 0**：损失停在 `½·(1 − 0)² = 0.5`，训练多少步参数都一动不动——输出单元“死”了。
# - **线性输出**：`ŷ = z_o = −0.69`，`δ_o = ŷ − y = −1.69`，梯度全都在：
#   `∂J/∂b_o = −1.69`，`∂J/∂W_ho = −1.69·[0.7, 0.1] = [−1.183, −0.169]`，
#   `∂J/∂b_h = −1.69·[0.5, −0.4] = [−0.845, 0.676]`，`∂J/∂W_ih = δ_h xᵀ`（中间一列仍是 0）。
#
# 训练 200 步（学习率 0.01）：有 ReLU 的网络损失是一条水平线；线性输出的网络损失一路下降。
# （一开始线性输出的损失 `½·1.69² ≈ 1.428` 反而比 ReLU 版本的 `0.5` 大：ReLU 把负的预测截成 0，看起来“更准”，
# 却一点梯度也没有。）
# 第 2 个隐藏单元的 `∂J/∂b_h2 > 0`（它到输出的权重是负的，要让 `ŷ` 变大就得把它压小），几步之后
# `z_h2` 降到 0 以下，这个隐藏单元自己“死”了——但输出层是线性的，梯度仍能经 `b_o` 和第 1 个隐藏单元流回来，训练照常进行。
# 这就是回归网络的输出层通常不加激活函数的原因（见课程“原文勘误”一节）。

# %%
def forward_linear_out(p, x, y, relu_out):
    """3-2-1 网络，输出层有 / 没有 ReLU；J = ½ Σ (y − ŷ)²。"""
    z_h = x @ p["W_ih"].T + p["b_h"]
    z_o = tg.relu(z_h) @ p["W_ho"].T + p["b_o"]
    y_hat = tg.relu(z_o) if relu_out else z_o
    return 0.5 * ((y - y_hat) ** 2).sum(), z_h


def hand_linear_out(p):
    """线性输出时的手算梯度（纯 Python，同课程第 3 步，只是 ReLU'(z_o) 换成 1）。"""
    z_h = [sum(p["W_ih"][j][i] * X[i] for i in range(3)) + p["b_h"][j] for j in range(2)]
    a_h = [max(v, 0.0) for v in z_h]
    y_hat = sum(p["W_ho"][0][j] * a_h[j] for j in range(2)) + p["b_o"][0]
    d_o = y_hat - 1.0
    d_h = [d_o * p["W_ho"][0][j] * (1.0 if z_h[j] > 0 else 0.0) for j in range(2)]
    return {"y_hat": y_hat, "W_ih": [[d_h[j] * X[i] for i in range(3)] for j in range(2)], "b_h": d_h,
            "W_ho": [[d_o * a_h[j] for j in range(2)]], "b_o": [d_o]}


def train_200(device, relu_out, steps=200, lr=0.01):
    p = {k: tg.tensor(PARAMS[k] if k != "b_o" else [-1.0], dtype=tg.float64, device=device, requires_grad=True)
         for k in NAMES}
    x = tg.tensor([X], dtype=tg.float64, device=device)
    y = tg.tensor([[1.0]], dtype=tg.float64, device=device)
    losses, first_grads, dead_at = [], None, None
    for step in range(steps + 1):
        loss, z_h = forward_linear_out(p, x, y, relu_out)
        losses.append(loss.item())
        if dead_at is None and z_h[0, 1].item() <= 0:
            dead_at = step
        if step == steps:
            break
        loss.backward()
        if first_grads is None:
            first_grads = {k: p[k].grad.detach().cpu().numpy() for k in NAMES}
        with tg.no_grad():
            for t in p.values():
                t.data = t.data - lr * t.grad.data
                t.grad = None
    return losses, first_grads, dead_at


def exercise4(device):
    print("★★★ 练习 4：b_o = −1，输出层有 / 没有 ReLU")
    p_hand = dict(PARAMS, b_o=[-1.0])
    hand = hand_linear_out(p_hand)
    runs = {name: train_200(device, relu_out) for name, relu_out in [("ReLU 输出", True), ("线性输出", False)]}
    relu_losses, relu_grads, _ = runs["ReLU 输出"]
    lin_losses, lin_grads, dead_at = runs["线性输出"]
    # 有 ReLU：每个梯度都是 0，损失 200 步不变
    assert all(np.all(g == 0) for g in relu_grads.values()) and len(set(relu_losses)) == 1
    # 线性输出：框架的梯度与手算一致，且不全为 0
    for k in NAMES:
        assert_close(lin_grads[k], np.asarray(hand[k]), msg=k)
    assert lin_losses[-1] < 1e-3 * lin_losses[0]
    print(f"  ReLU 输出：z_o = {hand['y_hat']:.6g} ≤ 0，ŷ = 0，所有梯度 = 0，200 步后损失仍是 {relu_losses[-1]:g}")
    print(f"  线性输出：ŷ = {hand['y_hat']:.6g}，δ_o = {hand['b_o'][0]:.6g}，"
          f"∂J/∂W_ho = {np.round(lin_grads['W_ho'], 6).tolist()}，∂J/∂b_h = {np.round(lin_grads['b_h'], 6).tolist()}"
          f"（与手算一致）")
    for s in (0, 5, 10, 50, 100, 200):
        print(f"    第 {s:>3} 步：ReLU 输出 J = {relu_losses[s]:.6g}，线性输出 J = {lin_losses[s]:.6g}")
    if dead_at is not None:
        print(f"  线性输出的网络在第 {dead_at} 步时 z_h2 ≤ 0：第 2 个隐藏单元死了，但损失照样降到 {lin_losses[-1]:.3g}")
    figure = plot_ex4(relu_losses, lin_losses)
    return {"ex4_relu_final": relu_losses[-1], "ex4_linear_final": lin_losses[-1], "ex4_dead_at": dead_at,
            "ex4_figure": figure}


def plot_ex4(relu_losses, lin_losses):
    try:
        from tinygrad_zh.viz import label, subplots
        fig, ax = subplots(figsize=(6.5, 4))
    except ImportError:                      # 没装 matplotlib 时只打印数字
        return None
    ax.semilogy(relu_losses, label=label("输出层 ReLU（梯度全为 0）", "ReLU output (all gradients 0)"))
    ax.semilogy(lin_losses, label=label("线性输出", "linear output"))
    ax.set_xlabel(label("步", "step"))
    ax.set_ylabel(label("损失 J（对数坐标）", "loss J (log scale)"))
    ax.set_title(label("b_o = −1：有无输出 ReLU 的损失曲线", "b_o = -1: loss with / without output ReLU"))
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return str(show(fig, "04_answers_linear_output.png"))


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device))
    results.update(exercise3(device))
    results.update(exercise4(device))
    print("第 04 课练习答案全部通过。")
    return results


if __name__ == "__main__":
    run_lesson(main)
