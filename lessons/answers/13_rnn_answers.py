# %% [markdown]
# # 第 13 课 练习答案：循环神经网络
#
# 运行方式：`python lessons/answers/13_rnn_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 完整模式约三分钟（为了省时间，训练类的题都只训练很短的时间，比较的是相对的好坏）。

# %%
import time
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import CharTokenizer, load_sentiment
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.metrics import accuracy, perplexity
from tinygrad_zh.autograd import Function
from tinygrad_zh.models import RNNLM, SentimentRNN
from tinygrad_zh.testing import assert_close, gradcheck


def load_lesson():
    """取第 13 课里定义的训练、评估函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "13_rnn.py")


# %% [markdown]
# ## 练习 1 ★：LSTM、GRU 与简单 RNN
#
# 三个模型用同样的嵌入（64）、隐状态大小（128）、学习率（0.01，余弦退火）、梯度裁剪和输出偏置初值，
# 各训练同样的步数，在第 13 课的验证子集上比较困惑度。为了让答案一分钟内跑完，这里每步只用 16 条流 × 32 字，
# 训练 200 步（共约 10 万字，不到课里的 1/10），所以绝对数值比课里的高，但排序清楚：
# LSTM 与 GRU 几乎一样（约 348 与 350），简单 RNN 明显差（约 391）。
# 每步用时：RNN 最快（约 46 ms），GRU 与 LSTM 约 65 ms。它们的循环层参数是 1 : 3 : 4，用时却没差这么多——
# 输出层 $H \times V$ 的矩阵乘法和 softmax 占了大头，与循环单元的种类无关。


# %%
def exercise1(device, quick):
    lesson = load_lesson()
    lesson12 = lesson.load_lesson12()
    split = lesson12.load_split(quick)
    V = split["vocab_size"] = split["tok"].vocab_size
    E, H, batch, T, steps = (16, 32, 8, 16, 10) if quick else (64, 128, 16, 32, 200)
    pieces = lesson.curve_pieces(split["val_ids"])
    counts = np.bincount(split["train_ids"], minlength=V) + 1.0
    print(f"练习 1：三种循环单元（各训练 {steps} 步）")
    out = {}
    for cell in ("lstm", "gru", "rnn"):
        tg.manual_seed(0)
        model = RNNLM(V, embed_dim=E, hidden_size=H, cell=cell).to(device)
        model.head.bias.data = tg.tensor(np.log(counts / counts.sum()).astype(np.float32), device=device)
        start = time.perf_counter()
        lesson.train_lm(model, split, device, steps, 0.01, batch, T, cell, True, clip=1.0, schedule=True)
        seconds = time.perf_counter() - start
        ppl = perplexity(lesson.pieces_eval_nll(model, pieces, device))
        n_params = sum(p.numel() for p in model.rnn.parameters())
        out[cell] = {"ppl": ppl, "seconds_per_step": seconds / steps, "rnn_params": n_params}
        print(f"  {cell:<4}：循环层参数 {n_params}，每步 {seconds / steps * 1e3:.0f} ms，验证子集困惑度 {ppl:.1f}")
    return {"cells": out}


# %% [markdown]
# ## 练习 2 ★：不用 `lengths` 会怎样
#
# 三种做法各训练 1 轮（快速模式：小数据）：
#
# 1. 右侧填充 + `lengths`（课里的做法）；
# 2. 右侧填充、**不**给 `lengths`，取 `out[:, -1]`：短句在读完真实的字之后又读了一串填充（嵌入为 0 的输入），
#    最后的隐状态被填充“冲淡”了，而且冲淡的程度随句子在批里的相对长度变化——同一句话放进不同的批，预测会不一样。
#    因为按长度分桶，同一批里的长度很接近，填充很少，所以准确率只掉一点；不分桶的话会掉得多；
# 3. 左侧填充、不给 `lengths`：最后一个时间步正好是句子的最后一个字，填充都在前面（RNN 先读一串 0 输入，
#    隐状态从一个固定的点出发），所以和做法 1 差不多。很多实现正是用左侧填充来省掉 `lengths`。


# %%
def left_pad_batch(seqs, idx, pad_id, device):
    lengths = np.array([len(seqs[i]) for i in idx])
    x = np.full((len(idx), lengths.max()), pad_id, dtype=np.int64)
    for row, i in enumerate(idx):
        x[row, x.shape[1] - len(seqs[i]):] = seqs[i]
    return tg.tensor(x, device=device)


def exercise2(device, quick):
    lesson = load_lesson()
    texts, labels = load_sentiment()
    if quick:
        texts, labels = texts[:1000], labels[:1000]
    n_test = len(texts) // 10
    tok = CharTokenizer.from_text(texts[:-n_test], min_freq=2)
    pad_id = tok.vocab_size
    train_seqs, test_seqs = lesson.encode_reviews(texts[:-n_test], tok), lesson.encode_reviews(texts[-n_test:], tok)
    y_train, y_test = labels[:-n_test], labels[-n_test:]
    lengths = np.array([len(s) for s in train_seqs])

    def batch(seqs, idx, mode):
        if mode == "left":
            return left_pad_batch(seqs, idx, pad_id, device), None
        x, lens = lesson.pad_batch(seqs, idx, pad_id, device)
        return x, (lens if mode == "lengths" else None)

    print("练习 2：填充与 lengths（GRU，1 轮）")
    out = {}
    for mode, shown in (("lengths", "右侧填充 + lengths"), ("right", "右侧填充，取 out[:, -1]"),
                        ("left", "左侧填充，取 out[:, -1]")):
        tg.manual_seed(0)
        model = SentimentRNN(pad_id + 1, 64, 64, cell="gru", padding_idx=pad_id).to(device)
        optimizer = optim.Adam(model.parameters(), lr=0.003)
        rng = np.random.default_rng(0)
        model.train()
        for idx in lesson.length_batches(lengths, 32 if quick else 64, rng):
            x, lens = batch(train_seqs, idx, mode)
            loss = F.cross_entropy(model(x, lens), tg.tensor(y_train[idx], device=device))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        model.eval()
        preds = np.zeros(n_test, dtype=np.int64)
        order = np.argsort([len(s) for s in test_seqs], kind="stable")
        with tg.no_grad():
            for s in range(0, n_test, 256):
                idx = order[s:s + 256]
                x, lens = batch(test_seqs, idx, mode)
                preds[idx] = model(x, lens).argmax(dim=-1).cpu().numpy()
        out[mode] = accuracy(preds, y_test)
        print(f"  {shown:<22}测试集准确率 {out[mode]:.4f}")
    return {"padding_acc": out}


# %% [markdown]
# ## 练习 3 ★★：截断长度 $T$ 的影响
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
def exercise3(device, quick):
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
    print(f"练习 3：两段各 {T0} 步、段间 detach：损失对第一段输入的梯度 {g[:T0].max():.1f}（全为 0），"
          f"对第二段输入的梯度范围 {g[T0:].min():.2e}—{g[T0:].max():.2e}")
    # (b) 同样的 B×T 下比较三种 T
    lesson = load_lesson()
    split = lesson.load_lesson12().load_split(quick)
    V = split["vocab_size"] = split["tok"].vocab_size
    E, H, chars, steps = (16, 32, 256, 12) if quick else (64, 128, 512, 200)
    pieces = lesson.curve_pieces(split["val_ids"])
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
        ppl = perplexity(lesson.pieces_eval_nll(model, pieces, device))
        assert np.isfinite(ppl) and np.all(np.isfinite(hist["loss"]))
        out[T] = {"B": B, "ppl": ppl, "seconds_per_step": seconds / steps}
        print(f"  T = {T:<3}（B = {B:<2}，每步 {B * T} 字）：每步 {seconds / steps * 1e3:.0f} ms，验证子集困惑度 {ppl:.1f}")
    best = min(out, key=lambda T: out[T]["ppl"])
    print(f"  {steps} 步后困惑度最低的是 T = {best}；T = 8 比 T = 32 {'差' if out[8]['ppl'] > out[32]['ppl'] else '好'}"
          f" {abs(out[8]['ppl'] / out[32]['ppl'] - 1):.1%}")
    return {"truncation": out, "truncation_grad_first_segment": float(g[:T0].max())}


# %% [markdown]
# ## 练习 4 ★★：双层 LSTM
#
# > 双层 LSTM（`num_layers=2`，层间 `dropout=0.2`）能比单层好多少？训练慢多少？
#
# 第二层的输入是第一层的隐状态（大小 $H$），所以多出 $4H(H + H) + 2 \cdot 4H = 8H^2 + 8H$ 个参数（两组偏置），
# 下面先用参数个数核对这个公式。每步的计算也多了一层循环，而且第二层要等第一层算完才能开始同一时间步，
# 串行的长度不变、工作量翻倍，所以循环部分的时间大约翻倍；输出层 $H \times V$ 的矩阵乘法和 softmax 不变，
# 所以整体慢多少取决于循环部分占的比例（下面打印实测的倍数）。
# 训练很短时双层未必更好：更深的网络起步更慢，暂退还会让训练损失更高——
# 它的优势在数据多、训练久、单层开始过拟合的时候（课里的完整模式也只训练了几百步）。


# %%
def exercise4(device, quick):
    lesson = load_lesson()
    split = lesson.load_lesson12().load_split(quick)
    V = split["vocab_size"] = split["tok"].vocab_size
    E, H, batch, T, steps = (16, 32, 8, 16, 12) if quick else (64, 128, 16, 32, 200)
    pieces = lesson.curve_pieces(split["val_ids"])
    counts = np.bincount(split["train_ids"], minlength=V) + 1.0
    out = {}
    for layers in (1, 2):
        tg.manual_seed(0)
        model = RNNLM(V, embed_dim=E, hidden_size=H, cell="lstm", num_layers=layers,
                      dropout=0.2 if layers == 2 else 0.0).to(device)
        model.head.bias.data = tg.tensor(np.log(counts / counts.sum()).astype(np.float32), device=device)
        start = time.perf_counter()
        hist = lesson.train_lm(model, split, device, steps, 0.01, batch, T, f"{layers} 层", True, clip=1.0,
                               schedule=True)
        seconds = time.perf_counter() - start
        model.eval()
        ppl = perplexity(lesson.pieces_eval_nll(model, pieces, device))
        assert np.isfinite(ppl)
        out[layers] = {"ppl": ppl, "seconds_per_step": seconds / steps,
                       "rnn_params": sum(p.numel() for p in model.rnn.parameters()),
                       "final_train_loss": float(np.mean(hist["loss"][-5:]))}
    extra = out[2]["rnn_params"] - out[1]["rnn_params"]
    assert extra == 8 * H * H + 8 * H, extra
    print(f"练习 4：单层与双层 LSTM（各 {steps} 步；第二层多 {extra} 个参数 = 8H² + 8H，H = {H}）")
    for layers, r in out.items():
        print(f"  {layers} 层：每步 {r['seconds_per_step'] * 1e3:.0f} ms，最后 5 步训练损失 {r['final_train_loss']:.3f}，"
              f"验证子集困惑度 {r['ppl']:.1f}")
    ratio = out[2]["seconds_per_step"] / out[1]["seconds_per_step"]
    gain = 1 - out[2]["ppl"] / out[1]["ppl"]
    print(f"  双层每步用时是单层的 {ratio:.2f} 倍；困惑度{'降低' if gain > 0 else '反而升高'} {abs(gain):.1%}")
    return {"two_layer": out}


# %% [markdown]
# ## 练习 5 ★★★：手写 `LSTMCell` 的反向传播
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


def exercise5():
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
    print(f"练习 5：手写 LSTMCell 的反向通过 float64 gradcheck；与 nn.LSTMCell 的最大差 前向 "
          f"{float(np.abs(out.detach().numpy() - np.concatenate([h_ref.detach().numpy(), c_ref.detach().numpy()], 1)).max()):.1e}，"
          "梯度 " + "，".join(f"{n} {d:.1e}" for n, d in diffs.items()))
    return {"lstm_cell_grad_diffs": diffs}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    results.update(exercise4(device, quick))
    results.update(exercise5())
    return results


if __name__ == "__main__":
    run_lesson(main)
