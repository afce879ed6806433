# %% [markdown]
# # 第 16 课 练习答案：采样与解码
#
# 运行方式：`python lessons/answers/16_sampling_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 练习 2、4、5 要一个训练好的模型：完整模式读第 15 课的检查点 `lessons/output/15_gpt.npz`（没有就先训练几分钟），
# `--quick` 当场训练一个很小的模型（几秒），生成的长度也短一些。模型只读一次，三道题共用。

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn.functional as F
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.sampling import filter_logits, sample_next
from tinygrad_zh.testing import assert_close


def load_lesson():
    """取第 16 课的定义（手写过滤函数、熵、distinct-n 与读模型的函数），不运行课程本身。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "16_sampling.py")


# %% [markdown]
# ## 练习 1 ★：手算 0.4 / 0.3 / 0.2 / 0.1
#
# **τ = 0.5**：$p_i^{1/\tau} = p_i^2$ = 0.16 / 0.09 / 0.04 / 0.01，和 0.30，归一化得 0.5333 / 0.3 / 0.1333 / 0.0333；
# 熵 $-\sum p \ln p$ = 0.3353 + 0.3612 + 0.2687 + 0.1134 = 1.0785 nats（原分布 1.2799，均匀 ln 4 = 1.3863）。
#
# **top_k = 3 再 top_p = 0.7**：top-k 留 {0, 1, 2}，重新归一化为 0.4/0.9、0.3/0.9、0.2/0.9 = 0.444 / 0.333 / 0.222；
# 累计 0.444 < 0.7，0.778 ≥ 0.7，所以 top-p 留 {0, 1}，最后的分布是 0.4/0.7 = 0.571 与 0.3/0.7 = 0.429。
# （若在原分布上做 top-p：累计 0.4、0.7 ≥ 0.7，也留 {0, 1}——这个例子里两种顺序碰巧一样。）
#
# 下面用 `filter_logits` 验证保留集合，用 `sample_next` 抽 20 000 次验证频率。

# %%
def exercise1(device):
    lesson = load_lesson()
    p = np.array([0.4, 0.3, 0.2, 0.1])
    z = np.log(p)
    p_half = lesson.softmax_np(z / 0.5)
    h_half = lesson.entropy(p_half)
    zt = tg.tensor(z.astype(np.float32), device=device)
    kept = lesson.kept(filter_logits(zt, top_k=3, top_p=0.7).cpu().numpy())
    n = 20000
    draws = sample_next(tg.tensor(np.tile(z.astype(np.float32), (n, 1)), device=device), temperature=1.0,
                        top_k=3, top_p=0.7, generator=tg.Generator().manual_seed(0)).cpu().numpy().ravel()
    freq = np.bincount(draws, minlength=4) / n
    expected = np.array([0.4, 0.3, 0.0, 0.0]) / 0.7
    print("练习 1：分布 0.4 / 0.3 / 0.2 / 0.1")
    print(f"  τ = 0.5：{np.round(p_half, 4).tolist()}，熵 {h_half:.4f}（原分布 {lesson.entropy(p):.4f}）")
    print(f"  top_k = 3 再 top_p = 0.7：留下 {kept}；抽 {n} 次的频率 {np.round(freq, 4).tolist()}，"
          f"手算 {np.round(expected, 4).tolist()}")
    assert np.allclose(p_half, [0.16 / 0.3, 0.09 / 0.3, 0.04 / 0.3, 0.01 / 0.3]) and abs(h_half - 1.0785) < 1e-4
    assert kept == [0, 1] and float(np.abs(freq - expected).max()) < 0.02, (kept, freq)
    return {"ex1_probs_half": p_half.tolist(), "ex1_entropy_half": h_half, "ex1_kept": kept,
            "ex1_freq": freq.tolist(), "ex1_freq_err": float(np.abs(freq - expected).max())}


# %% [markdown]
# ## 练习 2 ★：温度、多样性与模型自己的交叉熵
#
# 同一个提示，τ = 0.5、1.0、1.5（不做 top-k / top-p）各采 8 段（一批并行生成），每段生成到上下文窗口填满为止
# （这样整段能一次送进模型）。两个量：
#
# - **distinct-4**（8 段合起来，不同的 4 字片段所占的比例）：越大越不重复；
# - **模型自己的交叉熵**：把生成的文字再送进模型（τ = 1 的原分布），生成部分每个字的平均 $-\ln p$。
#   它量的是“在模型看来，这段文字有多意外”。
#
# 每个温度的两个量打印在代码下面（完整模式用第 15 课的模型，快速模式用一个小模型，数不同，趋势相同）。
#
# 结果：τ 越低，交叉熵越低（低温只挑模型最有把握的字，文字在模型眼里“很通顺”），distinct-4 也越低（越重复）；
# τ 越高两者都越高，τ = 1.5 时交叉熵超过模型在真实验证集上的损失——写出来的东西比真实文本还“意外”，也就是胡言乱语。
# τ = 1 时交叉熵约等于生成的分布本身的平均熵，与验证损失同一个量级。好的设置在两者之间取舍：这正是 τ < 1 加 top-p 常用的原因。

# %%
def exercise2(device, quick, loaded):
    lesson = load_lesson()
    model, tok, info = loaded
    prompt = tok.encode("中国人民")
    n_new = model.config.block_size - len(prompt)
    idx = tg.tensor([prompt] * 8, device=device)
    print(f"练习 2：温度与多样性（每个温度 8 段，每段 {n_new} 个字）")
    out = {}
    for tau in (0.5, 1.0, 1.5):
        seqs = model.generate(idx, n_new, temperature=tau, generator=tg.Generator().manual_seed(0))
        with tg.no_grad():
            logits, _ = model(seqs[:, :-1])
        targets = seqs[:, 1:].cpu().numpy().copy()
        targets[:, :len(prompt) - 1] = -1                     # 只算生成的部分
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tg.tensor(targets.reshape(-1), device=device),
                              ignore_index=-1).item()
        texts = [tok.decode(row[len(prompt):]) for row in seqs.cpu().numpy()]
        grams = [t[i:i + 4] for t in texts for i in range(len(t) - 3)]
        distinct = len(set(grams)) / len(grams)
        out[tau] = {"nll": nll, "distinct4": distinct, "example": texts[0]}
        print(f"  τ = {tau}：distinct-4 {distinct:.3f}，模型自己的交叉熵 {nll:.3f}（验证损失 {info['model_val_loss']:.3f}）；"
              f"例：{lesson.visible(texts[0][:40])}")
    # 交叉熵随 τ 单调上升，distinct-4 不降；τ = 1.5 的文字在模型眼里比真实验证集还“意外”
    assert out[0.5]["nll"] < out[1.0]["nll"] < out[1.5]["nll"], out
    assert out[0.5]["distinct4"] <= out[1.0]["distinct4"] <= out[1.5]["distinct4"], out
    assert out[1.5]["nll"] > info["model_val_loss"], (out[1.5]["nll"], info["model_val_loss"])
    return {"ex2": out, "ex2_val_loss": info["model_val_loss"], "ex2_ln_V": math.log(tok.vocab_size)}


# %% [markdown]
# ## 练习 3 ★★：min-p 采样
#
# > 实现 min-p 采样（只留概率 ≥ min_p × 最大概率的字），与 top-p 在“有把握”和“犹豫”两种分布上比较保留的个数。
#
# min-p 的门槛是**相对于最大概率**的：$p_i \ge \text{min\_p} \cdot p_{\max}$。在 logits 上等价于
# $z_i \ge z_{\max} + \ln \text{min\_p}$（softmax 的分母约掉了），不用先算 softmax。
#
# - 模型**有把握**时（最大概率 0.9），门槛 0.1 × 0.9 = 0.09 很高，长尾全砍掉；top-p = 0.95 却要把累计概率凑到 0.95，
#   会留下若干个 0.01 左右的长尾字；
# - 模型**犹豫**时（几十个字差不多），$p_{\max}$ 本身很小，门槛随之降低，min-p 留下很多字；top-p 也留很多。
#
# 所以 min-p 与 top-p 都“自适应”，区别在有把握时：min-p 更果断。下面在两个 50 个字的分布上数保留的个数，
# 并用手写的判据逐个核对，再在真实模型的一个分布上比较。

# %%
def min_p_filter(logits, min_p):
    """min-p：logit 低于 max + ln(min_p) 的设为 −inf（等价于 p_i < min_p · p_max）。logits 是 (..., V) 的张量。"""
    z = logits.cpu().numpy().astype(np.float64)
    thresh = z.max(axis=-1, keepdims=True) + math.log(min_p)
    out = np.where(z >= thresh - 1e-9, z, -np.inf)
    return tg.tensor(out.astype(np.float32), device=logits.device)


def exercise3(device, loaded):
    lesson = load_lesson()
    V = 50
    confident = np.full(V, 0.1 / (V - 1))
    confident[0] = 0.9                                    # 有把握：一个字占 0.9，其余平分 0.1
    rng = np.random.default_rng(0)
    hesitant = rng.uniform(0.5, 1.5, V)
    hesitant /= hesitant.sum()                            # 犹豫：50 个字差不多
    print("练习 3：min-p（min_p = 0.1）与 top-p（top_p = 0.95）保留的个数")
    out = {}
    for name, p in (("有把握", confident), ("犹豫", hesitant)):
        z = tg.tensor(np.log(p).astype(np.float32), device=device)
        n_min = len(lesson.kept(min_p_filter(z, 0.1).cpu().numpy()))
        n_top = len(lesson.kept(filter_logits(z, top_p=0.95).cpu().numpy()))
        assert n_min == int((p >= 0.1 * p.max() - 1e-12).sum()), "min-p 的保留集合与定义不符"
        assert n_top == len(lesson.kept(lesson.top_p_np(np.log(p), 0.95))), "top-p 与第 16 课手写的不一致"
        out[name] = {"min_p": n_min, "top_p": n_top}
        print(f"  {name}（最大概率 {p.max():.3f}）：min-p 留 {n_min} 个，top-p 留 {n_top} 个")
    assert out["有把握"]["min_p"] < out["有把握"]["top_p"]
    model, tok, _ = loaded
    with tg.no_grad():
        logits = model(tg.tensor([tok.encode("中国人民")], device=device))[0][0, -1]
    n_min = len(lesson.kept(min_p_filter(logits, 0.1).cpu().numpy()))
    n_top = len(lesson.kept(filter_logits(logits, top_p=0.95).cpu().numpy()))
    print(f"  真实模型在“中国人民”之后：min-p 留 {n_min} 个，top-p 留 {n_top} 个")
    print(f"  结论：有把握时 min-p 只留 {out['有把握']['min_p']} 个、top-p 留 {out['有把握']['top_p']} 个（min-p 砍掉了长尾）；"
          f"犹豫时两者分别留 {out['犹豫']['min_p']} 与 {out['犹豫']['top_p']} 个（都随分布变宽）")
    return {"ex3": out, "ex3_model": {"min_p": n_min, "top_p": n_top}}


# %% [markdown]
# ## 练习 4 ★★：重复惩罚
#
# > 实现重复惩罚 (repetition penalty)：已经出现过的字，logit 为正时除以 θ、为负时乘以 θ（CTRL 的做法），
# > 看贪心解码的 distinct-4 能提高多少。
#
# θ > 1 时两种情况都让出现过的字的 logit **变小**（正数除以 θ 变小，负数乘以 θ 更负），其余字不变，所以贪心解码
# 一旦又要写出同样的片段，那个字的分数就被压低，别的字有机会胜出，循环被打断。θ = 1 时什么都不变，
# 应当与 `model.generate(temperature=0)` 逐字相同——这是下面的第一个检查；第二个检查在一个手写的小向量上核对公式。
# 注意惩罚只看“出现过没有”，不看次数，而且提示里的字也算（与 transformers 相同）。

# %%
def repetition_penalty(z, seen, theta):
    """z: (V,) NumPy logits；seen: 出现过的词元编号。正的除以 θ，负的乘以 θ。"""
    z = z.copy()
    idx = np.fromiter(set(seen), dtype=np.int64)
    z[idx] = np.where(z[idx] > 0, z[idx] / theta, z[idx] * theta)
    return z


def last_logits(model, seqs, device):
    """seqs: 等长的词元列表的列表 → 每条最后一个位置的 logits，(n, V) float64（只看最近 block_size 个）。"""
    bs = model.config.block_size
    with tg.no_grad():
        logits, _ = model(tg.tensor([s[-bs:] for s in seqs], device=device))
    return logits[:, -1].cpu().numpy().astype(np.float64)


def greedy_with_penalty(model, prompt_ids, n_new, theta, device):
    seq = list(prompt_ids)
    for _ in range(n_new):
        z = repetition_penalty(last_logits(model, [seq], device)[0], seq, theta)
        seq.append(int(np.argmax(z)))
    return seq


def exercise4(device, quick, loaded):
    lesson = load_lesson()
    z = np.array([2.0, -1.0, 0.5, 3.0])
    assert_close(repetition_penalty(z, [0, 1, 1], 2.0), np.array([1.0, -2.0, 0.5, 3.0]))
    model, tok, _ = loaded
    prompt = tok.encode("中国人民")
    n_new = 40 if quick else 120
    ref = model.generate(tg.tensor(prompt, device=device), n_new, temperature=0.0).cpu().numpy().tolist()
    base = greedy_with_penalty(model, prompt, n_new, 1.0, device)
    assert base == ref, "θ = 1 时应当与贪心解码逐字相同"
    print(f"练习 4：重复惩罚（贪心解码，生成 {n_new} 个字；θ = 1 与 model.generate(temperature=0) 逐字相同）")
    out = {}
    for theta in (1.0, 1.2, 1.5, 2.0):
        seq = base if theta == 1.0 else greedy_with_penalty(model, prompt, n_new, theta, device)
        text = tok.decode(seq[len(prompt):])
        out[theta] = {"distinct4": lesson.distinct_n(text), "text": text}
        print(f"  θ = {theta}：distinct-4 {out[theta]['distinct4']:.3f}；{lesson.visible(text[:40])}")
    best = max(out, key=lambda t: out[t]["distinct4"])
    gain = out[best]["distinct4"] - out[1.0]["distinct4"]
    assert gain >= 0
    print(f"  结论：distinct-4 从 {out[1.0]['distinct4']:.3f}（不惩罚）提高到 {out[best]['distinct4']:.3f}（θ = {best}），"
          f"提高 {gain:.3f}；惩罚太重时连“的”“，”这类必需的高频字也被压低，文字反而别扭")
    return {"ex4": {t: v["distinct4"] for t, v in out.items()}, "ex4_gain": gain}


# %% [markdown]
# ## 练习 5 ★★★：束搜索
#
# > 实现束搜索 (beam search，束宽 4)，比较它与贪心找到的序列的对数概率，以及文字的重复程度。
#
# 贪心每步只留 1 条前缀；束搜索每步留对数概率之和最大的 $W$ 条：每条前缀扩展出 $V$ 个候选，共 $W \cdot V$ 个，
# 按“前缀的对数概率 + 新字的对数概率”取前 $W$ 个。它搜索得更彻底，通常找到对数概率更高的序列
# （但不保证：贪心那条可能在半路被挤出束外）。束宽等于 1 时就是贪心；束宽足够大（$\ge V^{n-1}$）时就是穷举。
# 下面先在一个能穷举的小“模型”（随机的二元语法表，V = 4，生成 3 个字）上核对这两点，再用到真实模型上。
#
# 对话生成里的经验（Holtzman 等 2020）：对数概率越高的文字越“平淡”、越重复——束搜索比贪心更容易陷进高概率的循环，
# 这正是开放式生成改用采样的原因。下面用 distinct-4 量一量。

# %%
def beam_search(next_logprobs, prompt, n_new, width):
    """next_logprobs(seqs) → (len(seqs), V) 的对数概率。返回 [(序列, 生成部分的对数概率之和)]，按得分从高到低。"""
    beams = [(list(prompt), 0.0)]
    for _ in range(n_new):
        lp = next_logprobs([s for s, _ in beams])
        V = lp.shape[1]
        total = np.array([score for _, score in beams])[:, None] + lp
        flat = np.argsort(-total, axis=None, kind="stable")[:width]
        beams = [(beams[i // V][0] + [int(i % V)], float(total.flat[i])) for i in flat]
    return beams


def log_softmax_np(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def sequence_logprob(next_logprobs, seq, n_prompt):
    """逐步重新计算生成部分每个字的对数概率之和。"""
    return float(sum(next_logprobs([seq[:t]])[0, seq[t]] for t in range(n_prompt, len(seq))))


def exercise5(device, quick, loaded):
    lesson = load_lesson()
    # 小“模型”：二元语法表，能穷举
    V, n = 4, 3
    table = log_softmax_np(np.random.default_rng(12).normal(0, 2, (V, V)))   # 种子 12：贪心不是最优
    toy = lambda seqs: table[[s[-1] for s in seqs]]   # noqa: E731
    everything = [([0, a, b, c], table[0, a] + table[a, b] + table[b, c])
                  for a in range(V) for b in range(V) for c in range(V)]
    best_seq, best_score = max(everything, key=lambda x: x[1])
    wide = beam_search(toy, [0], n, V ** (n - 1))[0]
    assert wide[0] == best_seq and abs(wide[1] - best_score) < 1e-12, "足够宽的束应当找到穷举的最优"
    greedy_toy = [0]
    for _ in range(n):
        greedy_toy.append(int(np.argmax(table[greedy_toy[-1]])))
    assert beam_search(toy, [0], n, 1)[0][0] == greedy_toy, "束宽 1 应当就是贪心"
    toy4 = beam_search(toy, [0], n, 4)[0]
    assert toy4[1] >= sequence_logprob(toy, greedy_toy, 1)
    print(f"练习 5：束搜索。小二元语法（V = {V}，{n} 个字）：穷举最优 {best_seq[1:]}（{best_score:.3f}），"
          f"束宽 {V ** (n - 1)} 找到同一个；束宽 4 → {toy4[0][1:]}（{toy4[1]:.3f}）；"
          f"贪心 → {greedy_toy[1:]}（{sequence_logprob(toy, greedy_toy, 1):.3f}）")
    # 真实模型
    model, tok, _ = loaded
    prompt = tok.encode("中国人民")
    n_new = 20 if quick else 60
    nlp = lambda seqs: log_softmax_np(last_logits(model, seqs, device))   # noqa: E731
    greedy_seq = model.generate(tg.tensor(prompt, device=device), n_new, temperature=0.0).cpu().numpy().tolist()
    assert beam_search(nlp, prompt, n_new, 1)[0][0] == greedy_seq, "束宽 1 应当与 model.generate 的贪心相同"
    beam_seq, beam_score = beam_search(nlp, prompt, n_new, 4)[0]
    assert abs(sequence_logprob(nlp, beam_seq, len(prompt)) - beam_score) < 1e-6 * max(1.0, abs(beam_score)), \
        "束搜索累计的得分应当等于重新计算的对数概率"
    greedy_score = sequence_logprob(nlp, greedy_seq, len(prompt))
    texts = {"贪心": tok.decode(greedy_seq[len(prompt):]), "束搜索": tok.decode(beam_seq[len(prompt):])}
    d4 = {k: lesson.distinct_n(v) for k, v in texts.items()}
    for k, score in (("贪心", greedy_score), ("束搜索", beam_score)):
        print(f"  {k}（{n_new} 个字）：对数概率 {score:.3f}（每字 {score / n_new:.3f}），distinct-4 {d4[k]:.3f}；"
              f"{lesson.visible(texts[k])}")
    tol = 1e-6 * max(1.0, abs(greedy_score))
    better = "更高" if beam_score > greedy_score + tol else ("相同" if abs(beam_score - greedy_score) <= tol else "更低")
    rep = "更重复" if d4["束搜索"] < d4["贪心"] else ("一样重复" if d4["束搜索"] == d4["贪心"] else "重复少一些")
    print(f"  结论：束宽 4 找到的序列对数概率与贪心相比{better}（差 {beam_score - greedy_score:+.3f}）；"
          f"distinct-4 {d4['束搜索']:.3f} 对 {d4['贪心']:.3f}，束搜索{rep}——对数概率更高并不意味着文字更好")
    return {"ex5_greedy_logprob": greedy_score, "ex5_beam_logprob": beam_score, "ex5_distinct4": d4}


# %%
def main(quick=False, device="cpu"):
    lesson = load_lesson()
    loaded = lesson.load_model(quick, device)          # 练习 2—5 共用一个模型
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device, quick, loaded))
    results.update(exercise3(device, loaded))
    results.update(exercise4(device, quick, loaded))
    results.update(exercise5(device, quick, loaded))
    return results


if __name__ == "__main__":
    run_lesson(main)
