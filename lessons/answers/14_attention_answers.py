# %% [markdown]
# # 第 14 课 练习答案：注意力机制
#
# 运行方式：`python lessons/answers/14_attention_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 完整模式约半分钟，快速模式十几秒。

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.autograd import Function
from tinygrad_zh.lesson import load_definitions, run_lesson, show
from tinygrad_zh.testing import assert_close, gradcheck
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
    # 热图应当是反对角线：每个头在后半段都把大部分权重放在位置 2n−1−t 上
    assert acc > 0.95 and anti.min() > 0.5, (acc, anti)
    return {"reverse_acc": acc, "reverse_anti_diagonal": anti.tolist(), "figure": path}


# %% [markdown]
# ## 练习 2 ★：$d = 1024$，以及方差不是 1 的时候
#
# $d = 1024$ 时不缩放的分数标准差接近 $\sqrt{1024} = 32$，平均最大权重接近 1，大部分行已经饱和（最大权重 > 0.99），
# 穿过 softmax 的平均梯度只剩缩放时的一小部分；除以 $\sqrt{d}$ 后标准差回到 1 附近，与 $d = 16$ 时没有区别。
# 具体的数见下面代码的输出（答案末尾的断言检查这些说法）。
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
    # 不缩放：标准差约 √d、多数行饱和、梯度小得多；缩放后标准差约 1。方差 4 时要乘 1/(4√d) 才回到 1
    assert abs(raw["std"] / math.sqrt(1024) - 1) < 0.05 and raw["saturated"] > 0.5 and raw["grad"] < 0.5 * sc["grad"]
    assert abs(sc["std"] - 1) < 0.05 and sc["saturated"] == 0
    assert abs(dots.std().item() / (4 * math.sqrt(d)) - 1) < 0.05
    assert abs(stds["1/(4√d)"] - 1) < 0.05 and abs(stds["1/√d"] - 4) < 0.2
    return {"d1024_raw": raw, "d1024_scaled": sc, "var4_std": dots.std().item(), "var4_scaled_std": stds}


# %% [markdown]
# ## 练习 3 ★★：1 个头与 8 个头
#
# > 复制任务只用 1 个头（`n_head=1`，同样 32 维）和 8 个头，各要多少步才能达到 99% 的准确率？
#
# 复制任务每个输出位置只需要“往回看 $n$ 格”这一种看法，所以 1 个头原则上就够；头数不改变参数个数（$4C^2 + 4C$），
# 改变的是每个头的维度 $d = C / n_{\text{head}}$：1 个头时 $d = 32$，8 个头时只有 $d = 4$。
# 位置嵌入要在 $q \cdot k$ 里拼出一个尖锐的“对角线”，维度越少越难；而多个头可以各学一部分、再由 `c_proj` 合起来。
# 下面用第 5 步同样的模型与训练设置（只改 `n_head`），每 10 步在 500 条测试序列上测一次准确率，
# 记下第一次达到 99% 的步数（没达到就记“未达到”）。


# %%
def steps_to_accuracy(lesson, n_head, make_batch, max_steps, device, target=0.99, every=10, n=8, vocab=11):
    tg.manual_seed(0)
    model = lesson.AttentionOnly(vocab, 2 * n, n_embd=32, n_head=n_head).to(device)
    x_test, y_test = make_batch(np.random.default_rng(1234), 500)
    opt = optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    curve, reached = [], None
    for step in range(1, max_steps + 1):
        model.train()
        x, y = make_batch(rng, 32)
        logits = model(tg.tensor(x, device=device))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tg.tensor(y.reshape(-1), device=device),
                               ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % every == 0:
            acc = lesson.evaluate(model, x_test, y_test, device)
            curve.append((step, acc))
            if reached is None and acc >= target:
                reached = step
                break
    return reached, curve, model


def exercise3(device, quick):
    lesson = load_lesson()
    max_steps = 300 if quick else 600
    print(f"练习 3：复制任务达到 99% 准确率要多少步（最多 {max_steps} 步，每 10 步测一次）")
    out = {}
    for n_head in (1, 4, 8):
        reached, curve, _ = steps_to_accuracy(lesson, n_head, lesson.copy_batch, max_steps, device)
        out[n_head] = {"steps": reached, "final_acc": curve[-1][1]}
        d = 32 // n_head
        print(f"  {n_head} 个头（每个头 d = {d}）：" + (f"第 {reached} 步达到 99%" if reached else
                                                  f"{max_steps} 步内未达到，最后准确率 {curve[-1][1]:.3f}"))
    assert all(r["final_acc"] > 0.5 for r in out.values())
    done = {h: r["steps"] for h, r in out.items() if r["steps"]}
    if done:
        print(f"  最快的是 {min(done, key=done.get)} 个头")
    return {"heads_steps_to_99": {h: r["steps"] for h, r in out.items()}}


# %% [markdown]
# ## 练习 4 ★★：长度可变的复制
#
# > 让复制的长度 $n$ 在 4—8 之间随机变化（分隔符的位置随之变化）。单层注意力还行吗？为什么这时
# > “往回看固定格数”不够，需要“找到分隔符、再数格子”？
#
# 输入仍是 16 个位置：$n$ 个数字、分隔符、$n$ 个数字，不足的部分在末尾补一个填充符（编号 11，不算损失）。
# 位置 $t \ge n$ 要输出第 $t - n$ 个数字，往回看的格数 $n$ 随序列而变。单层注意力里，查询 $q_t$ 只由位置 $t$
# 自己的字和位置算出来，**不知道分隔符在哪**；分数 $q_t \cdot k_s$ 只取决于 $t, s$ 两处的字和位置，
# 无法表达“$s$ 比 $t$ 早的格数 = 分隔符的位置”。唯一不受影响的是分隔符本身（$t = n$，它的字就是分隔符，
# 要看的总是第 0 格），以及位置本身就唯一确定了 $n$ 的地方（如第 15 格只可能出现在 $n = 8$ 的序列里）；
# 其余位置只能在几个可能的 $n$ 之间按位置猜，可能的 $n$ 越多越糟。
# 两层就能解决：第一层让每个位置把“前一格的字”或“分隔符在哪”写进自己的残差流，第二层的查询就带上了这个信息，
# 可以按内容找到对应的位置再复制它后面那一格——这正是归纳头 (induction head)：“找到上次出现当前内容的地方，复制它后面的那个”。
# 下面训练同样的单层模型（4 个头），与固定 $n = 8$ 对比，并按“这个位置可能对应几种 $n$”分开统计准确率。


# %%
def variable_copy_batch(rng, batch, n_max=8, n_min=4, pad=11):
    x = np.full((batch, 2 * n_max), pad)
    y = np.full((batch, 2 * n_max), -1)
    for row in range(batch):
        n = int(rng.integers(n_min, n_max + 1))
        digits = rng.integers(0, 10, size=n)
        seq = np.concatenate([digits, [10], digits])
        x[row, :2 * n] = seq[:-1]
        y[row, n:2 * n] = seq[n + 1:]
    return x, y


def exercise4(device, quick):
    lesson = load_lesson()
    steps = 200 if quick else 600
    fixed_reached, fixed_curve, _ = steps_to_accuracy(lesson, 4, lesson.copy_batch, steps, device, target=1.01)
    _, var_curve, model = steps_to_accuracy(lesson, 4, variable_copy_batch, steps, device, target=1.01,
                                            vocab=12)
    x_test, y_test = variable_copy_batch(np.random.default_rng(99), 2000)
    model.eval()
    with tg.no_grad():
        pred = model(tg.tensor(x_test, device=device)).argmax(-1).cpu().numpy()
    keep = y_test != -1
    is_sep = x_test == 10
    # 非分隔符的位置 t：能让它落在答案里的 n 有几个（n ≤ t ≤ 2n − 1，4 ≤ n ≤ 8）——单层注意力只能在这些 n 之间猜
    n_options = np.array([sum(1 for n in range(4, 9) if n <= t <= 2 * n - 1) for t in range(16)])
    correct = pred == y_test
    acc_sep = float(correct[keep & is_sep].mean())
    by_options = {}
    for m in sorted(set(n_options[n_options > 0])):
        sel = keep & ~is_sep & (n_options[None, :] == m)
        if sel.any():
            by_options[int(m)] = float(correct[sel].mean())
    fixed_acc, var_acc = fixed_curve[-1][1], var_curve[-1][1]
    print(f"练习 4：单层注意力（4 个头）训练 {steps} 步：固定 n = 8 的准确率 {fixed_acc:.3f}，n ∈ [4, 8] 的准确率 {var_acc:.3f}")
    print(f"  n 可变时：查询是分隔符的位置准确率 {acc_sep:.3f}；其余位置按“这个位置可能对应几种 n”分："
          + "，".join(f"{m} 种 {a:.3f}" for m, a in by_options.items()))
    assert var_acc < fixed_acc - 0.1, (var_acc, fixed_acc)
    # 位置唯一确定 n 的地方几乎全对；可能的 n 越多越糟（逐档下降），3 种以上明显比 1 种差
    accs = [by_options[m] for m in sorted(by_options)]
    assert acc_sep > 0.95 and by_options[1] > 0.95 and all(a >= b for a, b in zip(accs, accs[1:])), by_options
    assert max(a for m, a in by_options.items() if m >= 3) < by_options[1] - 0.1, by_options
    print(f"  位置唯一确定 n 时（分隔符处，或只有 1 种 n 的末尾位置）准确率 ≥ {min(acc_sep, by_options[1]):.3f}；"
          f"有 3 种以上可能时只有 {np.mean([a for m, a in by_options.items() if m >= 3]):.3f}：单层注意力不知道 n，只能按位置猜")
    return {"variable_copy_acc": var_acc, "fixed_copy_acc": fixed_acc, "variable_copy_by_options": by_options, "variable_copy_sep_acc": acc_sep}


# %% [markdown]
# ## 练习 5 ★★★：自己写融合的注意力 `Function`
#
# > 不用 `F.scaled_dot_product_attention`，自己写一个融合的 `Function`（前向存 $P$，反向用第 3 步的公式），
# > 用 float64 的 `gradcheck` 验证，再与库里的比较速度。
#
# 前向：$S = QK^\top / \sqrt d$（因果时把上三角设为 $-\infty$），$P = \mathrm{softmax}(S)$，$O = PV$，保存 $Q, K, V, P$。
# 反向（第 3 步）：$\bar V = P^\top \bar O$，$\bar P = \bar O V^\top$，
# $\bar S = P \odot (\bar P - \mathrm{rowsum}(\bar P \odot P))$，$\bar Q = \bar S K / \sqrt d$，$\bar K = \bar S^\top Q / \sqrt d$。
# 被掩码的位置 $P = 0$，所以 $\bar S$ 在那里自动是 0，不用再掩一次。
# 它与库里的 `F.scaled_dot_product_attention` 是同一种算法（也是一个 `Function`），所以速度应当差不多；
# 两者都比第 3 步里逐个运算的手写版快，因为计算图里只有一个节点、中间量只存一份 $P$。


# %%
class MyAttention(Function):
    supports_create_graph = False

    @staticmethod
    def forward(ctx, q, k, v, causal):
        xp = ctx.xp
        scale = 1.0 / math.sqrt(q.shape[-1])
        s = (q @ xp.swapaxes(k, -1, -2)) * scale
        if causal:
            L, S = s.shape[-2:]
            s = xp.where(xp.tril(xp.ones((L, S), dtype=bool)), s, -xp.inf)
        s = s - s.max(axis=-1, keepdims=True)
        p = xp.exp(s)
        p /= p.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(q, k, v, p)
        ctx.scale = scale
        return p @ v

    @staticmethod
    def backward(ctx, g):
        q, k, v, p = ctx.saved_tensors
        xp, scale = ctx.xp, ctx.scale
        dv = xp.swapaxes(p, -1, -2) @ g
        dp = g @ xp.swapaxes(v, -1, -2)
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        return (ds @ k) * scale, (xp.swapaxes(ds, -1, -2) @ q) * scale, dv, None


def exercise5(device, quick):
    lesson = load_lesson()
    gen = tg.Generator().manual_seed(0)
    q, k, v = (tg.randn(2, 2, 5, 3, generator=gen, dtype=tg.float64, requires_grad=True) for _ in range(3))
    for causal in (False, True):
        assert gradcheck(lambda a, b, c: MyAttention.apply(a, b, c, causal), q, k, v)
        ours = MyAttention.apply(q, k, v, causal)
        ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        assert_close(ours, ref)
        u = tg.randn(*ours.shape, generator=gen, dtype=tg.float64)
        for a, b in zip(tg.autograd.grad((ours * u).sum(), [q, k, v]), tg.autograd.grad((ref * u).sum(), [q, k, v])):
            assert_close(a, b)
    print("练习 5：自己写的融合注意力通过 float64 gradcheck（有无因果掩码），输出与梯度都与 F.scaled_dot_product_attention 一致")
    # 速度：与课里第 3 步同样的形状和计时方法
    B, H, T, D, repeats = (4, 4, 32, 32, 5) if quick else (16, 4, 64, 32, 10)
    timed = lesson.time_attention(device, B, H, T, D, repeats,
                                  extra={"mine": lambda q, k, v: MyAttention.apply(q, k, v, True)})
    best = {"手写（逐个运算）": timed["inline"], "自己的 Function": timed["mine"],
            "库里的 F.scaled_dot_product_attention": timed["fused"]}
    base = best["库里的 F.scaled_dot_product_attention"]
    print(f"  速度（B = {B}，H = {H}，T = {T}，d = {D}，前向 + 反向，取 {repeats} 次中最快的）：" +
          "，".join(f"{n} {t * 1e3:.2f} ms（库的 {t / base:.2f} 倍）" for n, t in best.items()))
    return {"my_attention_times": best}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device))
    results.update(exercise3(device, quick))
    results.update(exercise4(device, quick))
    results.update(exercise5(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
