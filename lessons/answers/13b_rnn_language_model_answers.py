# %% [markdown]
# # 第 13 课（下）练习答案：字符级语言模型与情感分类
#
# 运行方式：`python lessons/answers/13b_rnn_language_model_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 完整模式约三分钟（为了省时间，训练类的题都只训练很短的时间，比较的是相对的好坏）；`--quick` 约半分钟。
# 每道题都用 `assert` 核对自己的结论，结论不成立时脚本会报错。

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


def load_lesson(filename):
    """取某一课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / filename)


# %% [markdown]
# ## 练习 1 ★：LSTM、GRU 与简单 RNN
#
# 三个模型用同样的嵌入（64）、隐状态大小（128）、学习率（0.01，余弦退火）、梯度裁剪和输出偏置初值，
# 各训练同样的步数，在第 13 课（下）的验证子集上比较困惑度。为了让答案一分钟内跑完，这里每步只用 16 条流 × 32 字，
# 训练 200 步（不到课里的 1/10），所以绝对数值比课里的高，比较的是相对的好坏（下面打印本次的排序）：
# 一般 LSTM 与 GRU 很接近，简单 RNN 明显差——它的梯度传不远（第 13 课（上）第 3 步）。
# 三者的循环层参数是 1 : 3 : 4（代码里用 `assert` 核对），每步用时却没差这么多——
# 输出层 $H \times V$ 的矩阵乘法和 softmax 占了大头，与循环单元的种类无关。


# %%
def exercise1(device, quick):
    lesson = load_lesson("13b_rnn_language_model.py")
    train_lm = load_lesson("13a_rnn_bptt.py").train_lm
    split = load_lesson("12_text_lm.py").load_split(quick)
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
        hist = train_lm(model, split, device, steps, 0.01, batch, T, cell, True, clip=1.0, schedule=True)
        seconds = time.perf_counter() - start
        ppl = perplexity(lesson.pieces_eval_nll(model, pieces, device))
        n_params = sum(p.numel() for p in model.rnn.parameters())
        out[cell] = {"ppl": ppl, "seconds_per_step": seconds / steps, "rnn_params": n_params}
        print(f"  {cell:<4}：循环层参数 {n_params}，每步 {seconds / steps * 1e3:.0f} ms，验证子集困惑度 {ppl:.1f}")
        assert np.all(np.isfinite(hist["loss"])) and ppl < V          # 训练没有发散，至少比均匀猜测好
    n = {cell: r["rnn_params"] for cell, r in out.items()}
    assert n["gru"] == 3 * n["rnn"] and n["lstm"] == 4 * n["rnn"], n    # 3 组、4 组门的权重
    ranking = sorted(out, key=lambda c: out[c]["ppl"])
    print(f"  困惑度从低到高：{' < '.join(ranking)}；最差的比最好的高 "
          f"{out[ranking[-1]]['ppl'] / out[ranking[0]]['ppl'] - 1:.1%}")
    if not quick:   # 快速模式只训练几步，排序是噪声；完整模式下简单 RNN 应当垫底
        assert ranking[-1] == "rnn", ranking
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
#
# 先不训练，直接核对原理：同一句话补上 0 个和 20 个填充，给了 `lengths` 的输出完全不变，取 `out[:, -1]` 的输出变了。
# 三种做法训练后的准确率以下面打印的为准（快速模式数据少、只训练 1 轮，差别是噪声）。


# %%
def left_pad_batch(seqs, idx, pad_id, device):
    lengths = np.array([len(seqs[i]) for i in idx])
    x = np.full((len(idx), lengths.max()), pad_id, dtype=np.int64)
    for row, i in enumerate(idx):
        x[row, x.shape[1] - len(seqs[i]):] = seqs[i]
    return tg.tensor(x, device=device)


def exercise2(device, quick):
    lesson = load_lesson("13b_rnn_language_model.py")
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

    # 先用一个随机初始化的模型核对原理：同一句话补上不同数量的填充，给了 lengths 的输出不变，取 out[:, -1] 的会变
    tg.manual_seed(0)
    probe = SentimentRNN(pad_id + 1, 64, 64, cell="gru", padding_idx=pad_id).to(device).eval()
    sentence = train_seqs[0]
    with tg.no_grad():
        outs = {}
        for extra in (0, 20):
            x = np.full((1, len(sentence) + extra), pad_id, dtype=np.int64)
            x[0, :len(sentence)] = sentence
            x = tg.tensor(x, device=device)
            outs[extra] = (probe(x, tg.tensor([len(sentence)], device=device)).cpu().numpy(), probe(x).cpu().numpy())
    with_lengths = float(np.abs(outs[0][0] - outs[20][0]).max())
    without = float(np.abs(outs[0][1] - outs[20][1]).max())
    assert with_lengths < 1e-5 < 1e-3 < without, (with_lengths, without)
    print(f"练习 2：同一句话多补 20 个填充：给 lengths 时 logits 变化 {with_lengths:.1e}，取 out[:, -1] 时变化 {without:.3f}")
    print("  填充与 lengths（GRU，1 轮）：")
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
    assert all(0.0 <= a <= 1.0 for a in out.values()), out
    return {"padding_acc": out, "padding_probe": {"lengths": with_lengths, "last_step": without}}


# %% [markdown]
# ## 练习 3 ★★：双层 LSTM
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
def exercise3(device, quick):
    lesson = load_lesson("13b_rnn_language_model.py")
    train_lm = load_lesson("13a_rnn_bptt.py").train_lm
    split = load_lesson("12_text_lm.py").load_split(quick)
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
        hist = train_lm(model, split, device, steps, 0.01, batch, T, f"{layers} 层", True, clip=1.0,
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
    print(f"练习 3：单层与双层 LSTM（各 {steps} 步；第二层多 {extra} 个参数 = 8H² + 8H，H = {H}）")
    for layers, r in out.items():
        print(f"  {layers} 层：每步 {r['seconds_per_step'] * 1e3:.0f} ms，最后 5 步训练损失 {r['final_train_loss']:.3f}，"
              f"验证子集困惑度 {r['ppl']:.1f}")
    ratio = out[2]["seconds_per_step"] / out[1]["seconds_per_step"]
    gain = 1 - out[2]["ppl"] / out[1]["ppl"]
    print(f"  双层每步用时是单层的 {ratio:.2f} 倍；困惑度{'降低' if gain > 0 else '反而升高'} {abs(gain):.1%}")
    return {"two_layer": out}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
