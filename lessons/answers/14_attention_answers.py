# %% [markdown]
# # 第 14 课 ★ 练习答案：注意力机制
#
# 运行方式：`python lessons/answers/14_attention_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 完整模式约 10 秒，快速模式几秒。

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.lesson import load_definitions, run_lesson, show
from tinygrad_zh.viz import label


def load_lesson():
    """取第 14 课的定义（模型、训练与画图函数），不运行课程本身。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "14_attention.py")


# %% [markdown]
# ## 练习 1 ★：反转任务
#
# 分隔符之后把 $n = 8$ 个数字倒过来写：输入 `3 1 4 1 5 9 2 6 = 6 2 9 5 1 4 1`，目标的后半段是 `6 2 9 5 1 4 1 3`。
# 位置 $t \ge n$ 要输出的是原序列的第 $2n - 1 - t$ 个数字（$t = n$ 即分隔符处要看第 $n - 1$ 个，$t = 2n - 1$ 要看第 0 个）。
# 所以后半段的热图应当是一条**反对角线**：查询越往后，看的位置越靠前。这仍然只取决于位置、不取决于内容，
# 单层注意力 + 位置嵌入照样能学会；与复制任务唯一的区别是 $q_t \cdot k_s$ 要在 $s = 2n - 1 - t$ 处最大，而不是 $s = t - n$。
# 下面用第 5 步同样的模型和训练设置（完整模式 400 步，快速模式 150 步），结果：测试准确率 1.0000，
# 4 个头在反对角线上的平均权重 [0.792, 0.800, 0.847, 0.979]，热图后半段是一条反对角线（`14_answers_reverse.png`）。


# %%
def reverse_batch(rng, batch, n=8):
    digits = rng.integers(0, 10, size=(batch, n))
    seq = np.concatenate([digits, np.full((batch, 1), 10), digits[:, ::-1]], axis=1)
    x, y = seq[:, :-1], seq[:, 1:].copy()
    y[:, :n] = -1
    return x, y


def exercise1(device, quick):
    lesson = load_lesson()
    n = lesson.N_COPY
    steps = 150 if quick else 400
    x_test, y_test = reverse_batch(np.random.default_rng(1234), 1000)
    model = lesson.copy_model(True, device)
    lesson.train(model, reverse_batch, steps, 0.01, device, "反转任务")
    acc = lesson.evaluate(model, x_test, y_test, device)
    with tg.no_grad():
        w = model.attention_weights(tg.tensor(x_test, device=device)).cpu().numpy()
    t = np.arange(n, 2 * n)
    anti = w[:, :, t, 2 * n - 1 - t].mean(axis=(0, 2))
    print(f"练习 1：反转任务，训练 {steps} 步")
    print(f"  测试准确率 {acc:.4f}；各头在后半段放在反对角线（位置 2n−1−t）上的平均权重 {lesson.fmt(anti)}")
    tokens = ["=" if i == 10 else str(i) for i in x_test[0]]
    fig = lesson.plot_heads([w[0]], tokens, label("反转任务：每个头的注意力权重", "reverse task: attention weights per head"),
                            [label(f"训练 {steps} 步后", f"after {steps} steps")])
    path = str(show(fig, "14_answers_reverse.png", dpi=110))
    return {"reverse_acc": acc, "reverse_anti_diagonal": anti.tolist(), "figure": path}


# %% [markdown]
# ## 练习 2 ★：$d = 1024$，以及方差不是 1 的时候
#
# $d = 1024$ 时不缩放的分数标准差 31.69（$\sqrt{1024} = 32$），平均最大权重 0.954，71% 的行已经饱和（最大权重 > 0.99），
# 穿过 softmax 的平均梯度只剩缩放时的 22%；除以 $\sqrt{d}$ 后标准差 0.99、平均最大权重 0.161、梯度 0.227，
# 与 $d = 16$ 时没有区别。
#
# 若 $q_i, k_i$ 独立、均值 0、方差都是 $\sigma^2$，则每一项 $q_i k_i$ 的方差是 $\sigma^2 \cdot \sigma^2 = \sigma^4$，
# $d$ 项之和的方差是 $d\sigma^4$，标准差 $\sigma^2\sqrt{d}$。$\sigma^2 = 4$ 时标准差是 $4\sqrt{d}$，
# 缩放因子要取 $1/(4\sqrt{d})$，而不是 $1/\sqrt{d}$（那样标准差还是 4）。实际的网络里不这样手调：
# $1/\sqrt{d}$ 是按“单位方差”设计的，靠初始化（第 10 课）和层规范化（第 15 课的 `ln_1`）把 $q, k$ 保持在这个尺度附近。


# %%
def exercise2(device):
    lesson = load_lesson()
    d = 1024
    raw, sc = lesson.scale_stats(d, False, device), lesson.scale_stats(d, True, device)
    print(f"练习 2：d = {d}")
    print(f"  不缩放：分数标准差 {raw['std']:.2f}，平均最大权重 {raw['max_weight']:.3f}，饱和的行 {raw['saturated']:.0%}，"
          f"梯度 {raw['grad']:.3f}")
    print(f"  除以 √d：分数标准差 {sc['std']:.2f}，平均最大权重 {sc['max_weight']:.3f}，饱和的行 {sc['saturated']:.0%}，"
          f"梯度 {sc['grad']:.3f}（不缩放时只有它的 {raw['grad'] / sc['grad']:.0%}）")
    gen = tg.Generator().manual_seed(0)
    d = 64
    q = tg.randn(4096, d, generator=gen, device=device) * 2.0      # 方差 4
    k = tg.randn(4096, d, generator=gen, device=device) * 2.0
    dots = (q * k).sum(-1)
    stds = {"1/√d": (dots / math.sqrt(d)).std().item(), "1/(4√d)": (dots / (4 * math.sqrt(d))).std().item()}
    print(f"  q、k 的分量方差为 4、d = {d}：点积标准差 {dots.std().item():.2f}（理论 4√d = {4 * math.sqrt(d):.0f}）；"
          + "，".join(f"乘 {k} 后 {v:.2f}" for k, v in stds.items()))
    return {"d1024_raw": raw, "d1024_scaled": sc, "var4_std": dots.std().item(), "var4_scaled_std": stds}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device))
    return results


if __name__ == "__main__":
    run_lesson(main)
