# %% [markdown]
# # 第 13 课（上）练习答案：RNN、LSTM 与通过时间反向传播
#
# 运行方式：`python lessons/answers/13a_rnn_bptt_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 完整模式约一分钟（练习 2 的训练只有几百步，比较的是相对的好坏）；`--quick` 十几秒。
# 每道题都用 `assert` 核对自己的结论，结论不成立时脚本会报错。

# %%
import time
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh.autograd import Function
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.metrics import perplexity
from tinygrad_zh.models import RNNLM
from tinygrad_zh.testing import assert_close, gradcheck


def load_lesson(filename):
    """取某一课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / filename)


# %% [markdown]
# ## 练习 1 ★：遗忘门偏置与梯度能传多远
#
# > 把第 3 步 LSTM 的遗忘门偏置分别设成 0、1、2、3、5，距离 63 步处的梯度与距离 0 步处之比怎样变？
# > 偏置设成 1 够不够让梯度传过 63 步？
#
# 记忆细胞那条路上，梯度每往回走一步大约乘一次遗忘门 $f = \sigma(b_f + \dots)$。偏置为 $b$ 时 $f \approx \sigma(b)$，
# 走 63 步大约乘 $\sigma(b)^{63}$：$b = 0$ 时约 $0.5^{63} \approx 10^{-19}$，$b = 1$ 时约 $0.73^{63} \approx 10^{-9}$，
# $b = 3$ 时约 $0.95^{63} \approx 0.05$，$b = 5$ 时约 $0.993^{63} \approx 0.65$。
# 实测的比值（下面打印）随 $b$ 单调增大，但比这个粗略估计大几个数量级：门的输入还有 $W x + U h$ 的起伏，
# 有些维度的遗忘门比 $\sigma(b)$ 更接近 1，而 63 个因子的乘积由这些“漏得最慢”的维度主导。
# 结论不变：常见的“遗忘门偏置初始化为 1”只是让记忆衰减得慢一些，要让梯度穿过几十步，偏置得更大，或者靠训练把它学上去。


# %%
def exercise1(device):
    lesson = load_lesson("13a_rnn_bptt.py")
    biases = (0.0, 1.0, 2.0, 3.0, 5.0)
    ratios = {}
    for b in biases:
        r = lesson.gradient_reach("LSTM", device, forget_bias=b)
        ratios[b] = float(r[0] / r[-1])            # 距离 63 步 / 距离 0 步
    estimate = {b: float((1 / (1 + np.exp(-b))) ** 63) for b in biases}
    print("练习 1：遗忘门偏置 b → ‖∂h_T/∂x_0‖ / ‖∂h_T/∂x_63‖（粗略估计 σ(b)^63）")
    for b in biases:
        print(f"  b = {b:g}：{ratios[b]:.2e}（σ(b)^63 ≈ {estimate[b]:.1e}）")
    values = [ratios[b] for b in biases]
    assert all(a < b for a, b in zip(values, values[1:])), ratios       # 偏置越大，梯度传得越远
    assert ratios[0.0] < 1e-10 and ratios[1.0] < 1e-3 and ratios[5.0] > 0.1, ratios
    assert all(ratios[b] > estimate[b] for b in biases), (ratios, estimate)   # 实测都比 σ(b)^63 大
    print(f"  b = 1 时比值只有 {ratios[1.0]:.1e}：不够；b = 3 时是 {ratios[3.0]:.2f}，b = 5 时 {ratios[5.0]:.2f}")
    return {"forget_bias_ratios": ratios}


# %% [markdown]
# ## 练习 2 ★★：截断长度 $T$ 的影响
#
# > 分别用 $T = 8, 32, 128$（保持每步的字数 $B \times T$ 不变）训练 LSTM 语言模型，比较困惑度。
# > 为什么 $T$ 太小不好？（提示：隐状态仍然跨段传递，那到底少了什么？）
#
# 截断 BPTT 里，隐状态在**前向**上跨段传递，所以 $T = 8$ 的模型在预测时照样“看得到”更早的字；
# 少的是**反向**：上一段的状态被 `detach()` 了，损失对上一段的输入没有梯度。于是一个位置的损失只能教模型
# 利用本段里它前面的字（平均只有 $(T-1)/2$ 个），模型从来没有被要求“把 $T$ 步以前的信息写进记忆、留到现在”。
# 下面先用一个小实验直接验证这一点（梯度在段边界处恰好为 0），再在同样的总字数下比较三种 $T$。
# $T$ 也不是越大越好：$B \times T$ 固定时 $T$ 大意味着并行的流少（$T = 128$ 时只有几条），
# 一步里的样本彼此相关、梯度更嘈杂，每一步也更慢（循环是串行的）。训练很短时这两种效应互相抵消，
# 所以下面打印的排序以实测为准；长依赖的好处要训练更久才显出来。


# %%
def exercise2(device, quick):
    # (a) 梯度在段边界处被截断：两段各 T 步，中间 detach，损失只取第二段最后一步
    tg.manual_seed(0)
    T0, H0 = 6, 5
    lstm = nn.LSTM(3, H0, batch_first=True, dtype=tg.float64)
    x = tg.randn(2, 2 * T0, 3, dtype=tg.float64, requires_grad=True)
    out1, state = lstm(x[:, :T0])
    out2, _ = lstm(x[:, T0:], tuple(s.detach() for s in state))
    out2[:, -1].sum().backward()
    g = np.abs(x.grad.numpy()).sum(axis=(0, 2))
    assert np.all(g[:T0] == 0) and np.all(g[T0:] > 0)
    print(f"练习 2：两段各 {T0} 步、段间 detach：损失对第一段输入的梯度 {g[:T0].max():.1f}（全为 0），"
          f"对第二段输入的梯度范围 {g[T0:].min():.2e}—{g[T0:].max():.2e}")
    # (b) 同样的 B×T 下比较三种 T
    lesson = load_lesson("13a_rnn_bptt.py")
    lm = load_lesson("13b_rnn_language_model.py")           # 验证子集与它上面的交叉熵
    split = load_lesson("12_text_lm.py").load_split(quick)
    V = split["vocab_size"] = split["tok"].vocab_size
    E, H, chars, steps = (16, 32, 256, 12) if quick else (64, 128, 512, 200)
    pieces = lm.curve_pieces(split["val_ids"])
    counts = np.bincount(split["train_ids"], minlength=V) + 1.0
    out = {}
    for T in (8, 32, 128):
        B = chars // T
        tg.manual_seed(0)
        model = RNNLM(V, embed_dim=E, hidden_size=H, cell="lstm").to(device)
        model.head.bias.data = tg.tensor(np.log(counts / counts.sum()).astype(np.float32), device=device)
        start = time.perf_counter()
        hist = lesson.train_lm(model, split, device, steps, 0.01, B, T, f"T={T}", True, clip=1.0, schedule=True)
        seconds = time.perf_counter() - start
        ppl = perplexity(lm.pieces_eval_nll(model, pieces, device))
        assert np.isfinite(ppl) and np.all(np.isfinite(hist["loss"]))
        out[T] = {"B": B, "ppl": ppl, "seconds_per_step": seconds / steps}
        print(f"  T = {T:<3}（B = {B:<2}，每步 {B * T} 字）：每步 {seconds / steps * 1e3:.0f} ms，验证子集困惑度 {ppl:.1f}")
    best = min(out, key=lambda T: out[T]["ppl"])
    print(f"  {steps} 步后困惑度最低的是 T = {best}；T = 8 比 T = 32 {'差' if out[8]['ppl'] > out[32]['ppl'] else '好'}"
          f" {abs(out[8]['ppl'] / out[32]['ppl'] - 1):.1%}")
    return {"truncation": out, "truncation_grad_first_segment": float(g[:T0].max())}


# %% [markdown]
# ## 练习 3 ★★★：手写 `LSTMCell` 的反向传播
#
# > 手写 `LSTMCell` 的反向传播（对 $h_{t-1}, c_{t-1}, x_t$ 和四个门的权重），用 float64 的 `gradcheck` 验证，
# > 再与 `nn.LSTMCell` 对照。
#
# 记 $a = W_{ih} x + b_{ih} + W_{hh} h + b_{hh}$（按行分成 $a_i, a_f, a_g, a_o$），$i, f, o = \sigma(\cdot)$，$g = \tanh(a_g)$，
# $c' = f \odot c + i \odot g$，$h' = o \odot \tanh(c')$。`Function` 只能有一个输出，所以把 $(h', c')$ 拼成 $(N, 2H)$ 返回。
# 上游梯度分成 $\bar h', \bar c'$，反向按链式法则一步步往回走：
#
# - $\bar o = \bar h' \odot \tanh(c')$；流进 $c'$ 的总梯度 $\delta = \bar c' + \bar h' \odot o \odot (1 - \tanh^2 c')$（两条路相加）；
# - $\bar f = \delta \odot c$，$\bar c = \delta \odot f$，$\bar i = \delta \odot g$，$\bar g = \delta \odot i$；
# - 穿过激活函数：$\bar a_{i,f,o} = \bar{(\cdot)} \odot s(1 - s)$（$s$ 是对应的门），$\bar a_g = \bar g \odot (1 - g^2)$；
# - 线性部分与 `nn.Linear` 一样：$\bar x = \bar a W_{ih}$，$\bar h = \bar a W_{hh}$，$\bar W_{ih} = \bar a^\top x$，
#   $\bar W_{hh} = \bar a^\top h$，$\bar b_{ih} = \bar b_{hh} = \sum_n \bar a$。


# %%
class LSTMCellFn(Function):
    """一步 LSTM，返回 concat([h', c'], dim=1)；门的顺序 i, f, g, o 与 nn.LSTMCell 相同。"""
    supports_create_graph = False

    @staticmethod
    def forward(ctx, x, h, c, w_ih, w_hh, b_ih, b_hh):
        xp = ctx.xp
        a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        H = h.shape[1]
        sig = lambda z: 1.0 / (1.0 + xp.exp(-z))
        i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), xp.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
        c2 = f * c + i * g
        tc = xp.tanh(c2)
        ctx.save_for_backward(x, h, c, w_ih, w_hh, i, f, g, o, tc)
        return xp.concatenate([o * tc, c2], axis=1)

    @staticmethod
    def backward(ctx, grad):
        x, h, c, w_ih, w_hh, i, f, g, o, tc = ctx.saved_tensors
        xp, H = ctx.xp, h.shape[1]
        gh, gc = grad[:, :H], grad[:, H:]
        delta = gc + gh * o * (1 - tc * tc)
        da = xp.concatenate([delta * g * i * (1 - i), delta * c * f * (1 - f), delta * i * (1 - g * g),
                             gh * tc * o * (1 - o)], axis=1)
        db = da.sum(axis=0)
        return da @ w_ih, da @ w_hh, delta * f, da.T @ x, da.T @ h, db, db


def exercise3():
    tg.manual_seed(0)
    N, D, H = 3, 4, 5
    cell = nn.LSTMCell(D, H, dtype=tg.float64)
    x = tg.randn(N, D, dtype=tg.float64, requires_grad=True)
    h = tg.randn(N, H, dtype=tg.float64, requires_grad=True)
    c = tg.randn(N, H, dtype=tg.float64, requires_grad=True)
    params = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    leaves = [tg.tensor(p.detach().numpy(), requires_grad=True) for p in params]
    assert gradcheck(LSTMCellFn.apply, x, h, c, *leaves)
    # 与 nn.LSTMCell 对照：前向一致，同一个上游梯度下所有梯度一致
    out = LSTMCellFn.apply(x, h, c, *leaves)
    h_ref, c_ref = cell(x, (h, c))
    assert_close(out[:, :H], h_ref)
    assert_close(out[:, H:], c_ref)
    u = tg.randn(N, 2 * H, dtype=tg.float64)
    mine = tg.autograd.grad((out * u).sum(), [x, h, c, *leaves])
    ref = tg.autograd.grad((h_ref * u[:, :H]).sum() + (c_ref * u[:, H:]).sum(), [x, h, c, *params])
    names = ["x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh"]
    diffs = {n: float(np.abs(a.numpy() - b.numpy()).max()) for n, a, b in zip(names, mine, ref)}
    for a, b in zip(mine, ref):
        assert_close(a, b)
    print(f"练习 3：手写 LSTMCell 的反向通过 float64 gradcheck；与 nn.LSTMCell 的最大差 前向 "
          f"{float(np.abs(out.detach().numpy() - np.concatenate([h_ref.detach().numpy(), c_ref.detach().numpy()], 1)).max()):.1e}，"
          "梯度 " + "，".join(f"{n} {d:.1e}" for n, d in diffs.items()))
    return {"lstm_cell_grad_diffs": diffs}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device, quick))
    results.update(exercise3())
    return results


if __name__ == "__main__":
    run_lesson(main)
