# %% [markdown]
# # 第 01 课 ★ 练习答案
#
# 运行方式：`python lessons/answers/01_scalar_autograd_answers.py [--device cuda]`

# %%
import math
from pathlib import Path

import tinygrad_zh as tg
from tinygrad_zh.lesson import load_definitions, run_lesson


def load_lesson():
    """取第 01 课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "01_scalar_autograd.py")


# %% [markdown]
# ## 练习 1 ★：SiLU 的导数
#
# $g(x) = x\,\sigma(x)$。乘积法则加上 $\sigma'(x) = \sigma(x)(1 - \sigma(x))$：
#
# $$g'(x) = \sigma(x) + x\,\sigma(x)(1 - \sigma(x)) = \sigma(x)\big(1 + x(1 - \sigma(x))\big).$$
#
# 在 $x = 0.5$：$\sigma(0.5) \approx 0.622459$，
# $g'(0.5) \approx 0.622459 \times (1 + 0.5 \times 0.377541) \approx 0.739961$。


# %%
def exercise1(device):
    x0, h = 0.5, 1e-6
    s = 1 / (1 + math.exp(-x0))
    formula = s * (1 + x0 * (1 - s))

    def silu(x):
        return x * x.sigmoid()

    with tg.no_grad():
        xp = tg.tensor(x0 + h, dtype=tg.float64, device=device)
        xm = tg.tensor(x0 - h, dtype=tg.float64, device=device)
        numerical = ((silu(xp) - silu(xm)) / (2 * h)).item()
    x = tg.tensor(x0, dtype=tg.float64, device=device, requires_grad=True)
    silu(x).backward()
    print("练习 1：g(x) = x·sigmoid(x) 在 x = 0.5 处")
    print(f"  公式 {formula:.6f}，中心差分 {numerical:.6f}，backward {x.grad.item():.6f}")
    return {"silu_formula": formula, "silu_numerical": numerical, "silu_backward": x.grad.item()}


# %% [markdown]
# ## 练习 2 ★：用“覆盖”算 x * x * x
#
# `x * x * x` 是 `(x * x) * x`：外层乘法 M2 的输入是 `u = x * x` 和 `x`，内层乘法 M1 的两个输入都是 `x`。
# 在 $x = 2$ 处，按逆拓扑序：
#
# 1. M2（上游梯度 1）：给 `u` 的梯度是 $x = 2$，给 `x` 的梯度是 $u = 4$ → `grad[x] = 4`；
# 2. M1（上游梯度 2）：给两个输入的梯度都是 $2 \cdot x = 4$，覆盖两次 → `grad[x] = 4`。
#
# 所以覆盖得到 **4**；正确答案是 $3x^2 = 12 = 4 + 4 + 4$（三条路径的贡献之和）。


# %%
def exercise2(device):
    lesson = load_lesson()
    x = tg.tensor(2.0, device=device, requires_grad=True)
    y = x * x * x
    wrong = lesson.mini_backward(y, accumulate=False)[id(x)].item()
    right = lesson.mini_backward(y, accumulate=True)[id(x)].item()
    y.backward()
    print("练习 2：y = x * x * x 在 x = 2 处")
    print(f"  覆盖 {wrong}，累加 {right}，框架 {x.grad.item()}（3x² = 12）")
    return {"cube_overwrite": wrong, "cube_accumulate": right, "cube_framework": x.grad.item()}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device))
    return results


if __name__ == "__main__":
    run_lesson(main)
