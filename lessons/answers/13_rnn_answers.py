# %% [markdown]
# # 第 13 课 ★ 练习答案：循环神经网络
#
# 运行方式：`python lessons/answers/13_rnn_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 完整模式约一分半（为了省时间，两道题都只训练很短的时间，比较的是相对的好坏）。

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
from tinygrad_zh.models import RNNLM, SentimentRNN


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


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
