# %% [markdown]
# # 第 10 课 ★ 练习答案
#
# 运行方式：`python lessons/answers/10_init_normalization_answers.py [--quick] [--device cuda]`

# %%
import math
from pathlib import Path

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh.lesson import load_definitions, run_lesson


def load_lesson():
    """取第 10 课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "10_init_normalization.py")


# %% [markdown]
# ## 练习 1 ★：ReLU 网络的“刚好”的 σ
#
# 要 $\text{fan\_in}\cdot\sigma^2\cdot\tfrac12 = 1$，即 $\sigma = \sqrt{2/256} \approx 0.0884$——正是 Kaiming 初始化。
# $\sigma$ 乘以 $k$，每层的标准差就多乘一个 $k$：经过 8 个 256→256 的层，第 9 层的 std 相对于 $k = 1$ 约为 $k^{9}$ 倍
# （第 1 层的扇入是 64，那一层同样多乘一个 $k$）。$k = 0.5$ 时约 $0.5^9 \approx 0.002$ 倍，$k = 2$ 时约 $2^9 = 512$ 倍。


# %%
def exercise1(device, quick):
    lesson = load_lesson()
    data = lesson.load_data(device)
    x = data["X_train"][:128 if quick else 512]
    sigma = math.sqrt(2 / lesson.WIDTH)
    print(f"练习 1：预测 σ = √(2/256) = {sigma:.4f}")
    out = {}
    for k in (0.5, 1.0, 2.0):
        tg.manual_seed(0)
        model = lesson.deep_mlp("relu", "kaiming", device=device)
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, 0.0, k * sigma)   # 所有层都用同一个 σ（第 1 层扇入 64 也一样）
        h, stds = x, []
        with tg.no_grad():
            for layer in model:
                h = layer(h)
                if isinstance(layer, nn.ReLU):
                    stds.append(h.cpu().numpy().std())
        out[k] = stds[-1]
        print(f"  σ = {k} × {sigma:.4f}：第 1 层 std {stds[0]:.3g}，第 9 层 std {stds[-1]:.3g}")
    print(f"  第 9 层 std 之比：(0.5σ)/(σ) = {out[0.5] / out[1.0]:.2e}（预测 0.5⁹ = {0.5 ** 9:.2e}），"
          f"(2σ)/(σ) = {out[2.0] / out[1.0]:.3g}（预测 2⁹ = {2 ** 9}）")
    return {"layer9_std": out}


# %% [markdown]
# ## 练习 2 ★：BatchNorm 的一列，以及它为什么不在乎一列的单位
#
# 第 0 列是 $[1, 2, 3, 4]$：均值 2.5，有偏方差 $(2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25$，
# 所以 $\mathrm{BN}(x)_{:,0} = (x - 2.5)/\sqrt{1.25} = [-1.3416, -0.4472, 0.4472, 1.3416]$（$\varepsilon$ 的影响在 $10^{-6}$ 以下）。
#
# 把第 1 列乘以 1000：这一列的均值和标准差也都乘以 1000，$(cx - c\mu)/(c\sigma)$ 不变——BatchNorm 对每个特征的
# 单位（尺度）不敏感。LayerNorm 在一行里混合了三个特征：第 1 列变大，每行的均值和方差都变了，所有输出都跟着变。


# %%
def exercise2(device, quick):
    lesson = load_lesson()
    x = tg.tensor([[1.0, 10.0, 100.0], [2.0, 20.0, 300.0], [3.0, 30.0, 200.0], [4.0, 60.0, 400.0]], device=device)
    col0 = [(v - 2.5) / math.sqrt(1.25) for v in (1.0, 2.0, 3.0, 4.0)]
    print("练习 2：BN(x) 的第 0 列")
    print(f"  手算 {[round(v, 4) for v in col0]}，代码 {[round(v, 4) for v in lesson.batch_norm_by_hand(x)[:, 0].tolist()]}")
    scale = tg.tensor([1.0, 1000.0, 1.0], device=device)
    bn_change = (lesson.batch_norm_by_hand(x * scale) - lesson.batch_norm_by_hand(x)).abs().max().item()
    ln_change = (lesson.layer_norm_by_hand(x * scale) - lesson.layer_norm_by_hand(x)).abs().max().item()
    print(f"  第 1 列乘以 1000 之后：BN 输出的最大变化 {bn_change:.1e}，LN 输出的最大变化 {ln_change:.3f}")
    return {"bn_scale_change": bn_change, "ln_scale_change": ln_change}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
