# %% [markdown]
# # 第 04 课 ★ 练习答案：原文的 3-2-1 网络
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
from tinygrad_zh.lesson import run_lesson
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


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device))
    print("第 04 课 ★ 练习答案全部通过。")
    return results


if __name__ == "__main__":
    run_lesson(main)
