# %% [markdown]
# # 第 12 课 练习答案：文本、词表与语言模型
#
# 运行方式：`python lessons/answers/12_text_lm_answers.py [--quick]`（在仓库根目录）。

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.metrics import perplexity


def load_lesson():
    """取第 12 课里定义的数据划分与二元语法计数表（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "12_text_lm.py")


# %% [markdown]
# ## 练习 1 ★：三元语法
#
# 三元组 $(a, b, c)$ 编码成 $aV^2 + bV + c$（$V \approx 3500$ 时约 $4 \times 10^{10}$，int64 放得下），
# 上文 $(a, b)$ 的次数 $n(a, b)$ 就是二元语法的计数。加 k 平滑：$P(c \mid a, b) = \dfrac{n(a,b,c) + k}{n(a,b) + kV}$。
#
# 结果：在 35 万字上，三元语法的验证集困惑度**比二元语法差得多**（完整模式最好约 532 对 209；快速模式约 129 对 66）。
# 三元组比二元组稀疏得多：验证集里约 60% 的三元组训练集里没见过，加 k 平滑只能把它们退化成“接近均匀”，
# 而上文 $(a, b)$ 本身没见过时，模型对下一个字一无所知。更长的上文需要更多的数据，或者能“泛化”的模型——
# 计数模型的常用补救是回退 (backoff) / 插值到二元、一元语法（练习 3），神经网络则用嵌入和隐状态（第 13 课）。


# %%
def trigram_nll(train_ids, val_ids, V, k):
    tri = np.unique(train_ids[:-2] * V * V + train_ids[1:-1] * V + train_ids[2:], return_counts=True)
    bi = np.unique(train_ids[:-2] * V + train_ids[1:-1], return_counts=True)

    def lookup(table, keys):
        pos = np.minimum(np.searchsorted(table[0], keys), len(table[0]) - 1)
        return np.where(table[0][pos] == keys, table[1][pos], 0)

    a, b, c = val_ids[:-2], val_ids[1:-1], val_ids[2:]
    p = (lookup(tri, a * V * V + b * V + c) + k) / (lookup(bi, a * V + b) + k * V)
    seen = lookup(tri, a * V * V + b * V + c) > 0
    return float(-np.log(p).mean()), float(1 - seen.mean())


def exercise1(quick):
    lesson = load_lesson()
    split = lesson.load_split(quick)
    V = split["tok"].vocab_size
    print(f"练习 1：三元语法（训练集 {len(split['train_ids'])} 字，V = {V}）")
    by_k = {}
    for k in (0.1, 0.03, 0.01, 0.003, 0.001, 0.0003):     # 三元组更稀疏，最好的 k 更小
        nll, unseen = trigram_nll(split["train_ids"], split["val_ids"], V, k)
        by_k[k] = perplexity(nll)
    best = min(by_k, key=by_k.get)
    _, bk, bnll, _ = lesson.best_bigram(split["train_ids"], split["val_ids"], V)
    print("  三元语法的验证集困惑度：" + "，".join(f"k={k:g}: {v:.1f}" for k, v in by_k.items()))
    print(f"  最好：三元语法 k={best:g} 困惑度 {by_k[best]:.1f}；二元语法 k={bk:g} 困惑度 {perplexity(bnll):.1f}；"
          f"验证集三元组有 {unseen:.1%} 训练集里没见过")
    # 注意：三元语法的困惑度是在验证集第 3 个字起算的，比二元语法少一个位置，不影响比较
    assert by_k[best] > perplexity(bnll)      # 数据这么少，三元语法比二元语法差
    return {"trigram_ppl": by_k[best], "trigram_k": best, "bigram_ppl": perplexity(bnll), "trigram_unseen": unseen}


# %% [markdown]
# ## 练习 2 ★：采样的温度
#
# $p_i^{1/\tau}$ 再归一化，等价于把 logits $\ln p_i$ 除以 $\tau$ 再做 softmax。用不平滑的计数模型（$k = 0$）采样：
#
# - $\tau = 0.5$：分布变尖，几乎总是选最常见的搭配，很快陷入“的一个的一个”“１９９７年１９９７年”这样的循环；
# - $\tau = 1$：原来的分布，局部像样、整体不通；
# - $\tau = 1.5$：分布变平，低频的字被抽中的机会变大，文字越来越像随机的字。
#
# 每个温度采样 600 个字，只打印前 60 个；“不同字的比例”（不同的字数 / 总字数）随温度升高而变大，
# 可以作为“多样性”的粗略度量（只采 60 个字时这个比例噪声太大，排序可能颠倒）。


# %%
def sample_with_temperature(table, start, n, tau, rng):
    out = [start]
    for _ in range(n):
        p = table.next_probs(out[-1], 0.0) ** (1.0 / tau)
        out.append(int(rng.choice(table.V, p=p / p.sum())))
    return out[1:]


def exercise2(quick):
    lesson = load_lesson()
    split = lesson.load_split(quick)
    tok = split["tok"]
    table = lesson.BigramCounts(split["train_ids"], tok.vocab_size)
    start = tok.stoi["\n"]
    print("练习 2：温度（不平滑的二元语法，从段首开始）")
    diversity = {}
    for tau in (0.5, 1.0, 1.5):
        rng = np.random.default_rng(0)
        ids = sample_with_temperature(table, start, 600, tau, rng)
        diversity[tau] = len(set(ids)) / len(ids)
        print(f"  τ = {tau}：{lesson.oneline(tok.decode(ids[:60]))}（600 字中不同字的比例 {diversity[tau]:.2f}）")
    assert diversity[0.5] < diversity[1.0] < diversity[1.5]
    return {"diversity": diversity}


# %% [markdown]
# ## 练习 3 ★★：插值平滑
#
# > 插值平滑 (interpolation)：$P(b \mid a) = \lambda \hat P(b \mid a) + (1-\lambda) P_{\text{uni}}(b)$，
# > 在训练集末尾再切出一块“开发集”来挑 $\lambda$，再在验证集上报告困惑度。与加 k 平滑比较。
#
# 加 k 平滑把多出来的概率**均匀**地撒给全部 V 个字：没见过的“中→萃”和没见过的“中→的”得到一样的份额。
# 插值平滑把它按一元语法撒：没见过的组合里，常见字拿得多、生僻字拿得少——这正是我们对“没见过的下一个字”的合理猜测。
# $\hat P(b \mid a) = n(a,b)/n(a)$ 是不平滑的最大似然估计；$P_{\text{uni}}(b) = (n(b)+1)/(N+V)$ 是第 4 步的一元语法
# （加一，保证 `<unk>` 也有概率）。两者都是概率分布，凸组合仍是概率分布（下面核对每行之和为 1）；
# 上文 $a$ 在计数里从没出现过时 $\hat P(\cdot \mid a)$ 无定义，就整个退回一元语法。
#
# 挑 $\lambda$ 不能用验证集（那样验证集分数就不再是“没见过的数据”上的分数），也不能用训练集（训练集上 $\lambda = 1$ 最好，
# 因为每个二元组都见过）。所以把训练集最后 10% 切出来做开发集：用前 90% 数数，在开发集上挑 $\lambda$；
# 挑好之后用**全部**训练集重新数数，在验证集上报告。对照的加 k 平滑取课程第 5 步的做法（k 直接在验证集上挑，偏乐观）。
# 完整模式（35 万字）下插值平滑明显更好，而且它的 λ 是诚实地在开发集上挑的，与“在验证集上作弊挑”的 λ 给出的困惑度很接近；
# 快速模式只有不到 3 万字、验证集一千多字，开发集与验证集差别大，排名可能颠倒（所以只在完整模式下断言“更好”）。
# 下面的比较句由本次运行的数字写出。


# %%
def interp_log_prob(table, uni, prev, nxt, lam):
    """ln[λ·P̂(b|a) + (1−λ)·P_uni(b)]；n(a) = 0 时整个退回一元语法。"""
    row = table.row[prev].astype(np.float64)
    mle = np.divide(table.pair_counts(prev, nxt), row, out=np.zeros_like(row), where=row > 0)
    lam_eff = np.where(row > 0, lam, 0.0)
    return np.log(lam_eff * mle + (1 - lam_eff) * uni[nxt])


def unigram_probs(ids, V):
    return (np.bincount(ids, minlength=V) + 1.0) / (len(ids) + V)


def exercise3(quick):
    lesson = load_lesson()
    split = lesson.load_split(quick)
    V, train, val = split["tok"].vocab_size, split["train_ids"], split["val_ids"]
    n_fit = int(len(train) * 0.9)
    fit, dev = train[:n_fit], train[n_fit:]
    table_fit, uni_fit = lesson.BigramCounts(fit, V), unigram_probs(fit, V)
    lams = np.round(np.arange(0.05, 1.0, 0.05), 2)
    dev_ppl = {float(l): perplexity(-interp_log_prob(table_fit, uni_fit, dev[:-1], dev[1:], l).mean()) for l in lams}
    lam = min(dev_ppl, key=dev_ppl.get)
    table, uni = lesson.BigramCounts(train, V), unigram_probs(train, V)
    # 每行是概率分布：对几个上文 a（含从没出现过的 <unk>），把全部 V 个 b 的概率加起来
    for a in (0, int(train[0]), int(np.argmax(table.row))):
        total = np.exp(interp_log_prob(table, uni, np.full(V, a), np.arange(V), lam)).sum()
        assert abs(total - 1) < 1e-9, total
    val_ppl = {float(l): perplexity(-interp_log_prob(table, uni, val[:-1], val[1:], l).mean()) for l in lams}
    _, best_k, add_k_nll, _ = lesson.best_bigram(train, val, V)
    add_k = perplexity(add_k_nll)
    cheat = min(val_ppl, key=val_ppl.get)
    print(f"练习 3：插值平滑（用前 {n_fit} 字数数，开发集 {len(dev)} 字）")
    print("  开发集困惑度：" + "，".join(f"λ={l:g}: {v:.1f}" for l, v in dev_ppl.items() if round(l * 20) % 2 == 0))
    print(f"  开发集上最好的 λ = {lam:g}；用全部训练集重数后，验证集困惑度 {val_ppl[lam]:.1f}"
          f"（在验证集上作弊挑的 λ = {cheat:g} 给 {val_ppl[cheat]:.1f}）")
    print(f"  对照：加 k 平滑（k = {best_k:g}，在验证集上挑）验证集困惑度 {add_k:.1f}——插值平滑"
          + (f"好 {1 - val_ppl[lam] / add_k:.1%}" if val_ppl[lam] < add_k else f"差 {val_ppl[lam] / add_k - 1:.1%}"))
    assert 0 < lam < 1
    if not quick:
        assert val_ppl[lam] < add_k
    return {"interp_lambda": lam, "interp_ppl": val_ppl[lam], "addk_ppl": add_k}


# %% [markdown]
# ## 练习 4 ★★★：`nn.Embedding(V, V)` 训练到收敛
#
# > 用 `nn.Embedding(V, V)` 做神经网络二元语法，训练到收敛（提示：在 GPU 上；或把全部字对的计数写成一个
# > 加权的交叉熵，做全批量梯度下降）。验证它在训练集上的困惑度趋近计数模型 $k = 0$ 时的训练集困惑度。
#
# 训练集上的平均交叉熵是对全部 $N$ 个字对求平均；同一个字对 $(a, b)$ 出现 $n(a,b)$ 次，贡献同样的一项，所以
#
# $$\mathcal L(W) = -\frac1N \sum_{t} \ln \operatorname{softmax}(W_{x_{t-1}})_{x_t} = -\frac1N \sum_{a,b} n(a,b)\, \ln \operatorname{softmax}(W_a)_b .$$
#
# 这就是“加权的交叉熵”：把 $V \times V$ 的计数矩阵与整张 `log_softmax(embedding(arange(V)))` 逐元素相乘再求和，
# 一步就是一次全批量梯度下降，不用一个个地喂 35 万个字对。每一行 $a$ 是一个独立的问题：
# $-\sum_b n(a,b)\ln q_b$ 在 $q = n(a,\cdot)/n(a)$ 时最小（吉布斯不等式），也就是计数模型 $k = 0$ 的最大似然估计，
# 所以 $\min \mathcal L$ 恰好等于计数模型在训练集上的平均交叉熵。softmax 给不出严格的 0，没见过的字对要把 logits 推向 $-\infty$，
# 只能无限逼近；Adam（学习率 0.5）几十步就把差距压到千分之一以下。嵌入表初始化为 0：softmax 是均匀分布，初始损失恰为 $\ln V$。
#
# 代价：训练集上越接近最大似然，验证集上越糟——没见过的字对的概率被压到接近 0，验证集困惑度远高于加 k 平滑的计数模型
# （$k = 0$ 时是无穷大）。这说明“训练到收敛”的 `Embedding(V, V)` 只是把计数表背了下来；课程用秩 64 的版本，
# 训练不到底，反而自带了一点平滑。


# %%
def exercise4(quick, device):
    lesson = load_lesson()
    split = lesson.load_split(quick)
    V, ids, val = split["tok"].vocab_size, split["train_ids"], split["val_ids"]
    counts = np.zeros((V, V), dtype=np.float32)
    np.add.at(counts, (ids[:-1], ids[1:]), 1.0)
    n_pairs = len(ids) - 1
    table = lesson.BigramCounts(ids, V)
    target_nll = table.nll(ids, 0.0)                          # 计数模型 k = 0 在训练集上的平均交叉熵
    tg.manual_seed(0)
    model = nn.Embedding(V, V).to(device)
    nn.init.zeros_(model.weight)
    optimizer = optim.Adam(model.parameters(), lr=0.5)
    C, rows = tg.tensor(counts, device=device), tg.arange(V, device=device)
    steps = 60 if quick else 150
    history = []
    for step in range(steps):
        loss = -(C * F.log_softmax(model(rows), dim=-1)).sum() / n_pairs
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    with tg.no_grad():
        logp = F.log_softmax(model(rows), dim=-1).cpu().numpy().astype(np.float64)
    final_nll = float(-(counts * logp).sum() / n_pairs)       # 最后一次更新之后的损失
    val_ppl = perplexity(float(-logp[val[:-1], val[1:]].mean()))
    _, best_k, add_k_nll, _ = lesson.best_bigram(ids, val, V)
    gap = perplexity(final_nll) / perplexity(target_nll) - 1
    print(f"练习 4：Embedding(V, V)（V = {V}，{V * V} 个参数），全批量加权交叉熵，Adam lr 0.5，{steps} 步")
    print(f"  初始损失 {history[0]:.4f}（ln V = {math.log(V):.4f}）；第 " +
          "，".join(f"{s} 步 {perplexity(history[s - 1]):.2f}" for s in (10, 20, steps // 2)) +
          f"，最后 {perplexity(final_nll):.3f}（训练集困惑度）")
    print(f"  计数模型 k = 0 的训练集困惑度 {perplexity(target_nll):.3f}：相对差 {gap:.2e}")
    print(f"  代价：它的验证集困惑度 {val_ppl:.1f}，加 k 平滑的计数模型（k = {best_k:g}）{perplexity(add_k_nll):.1f}")
    assert abs(history[0] - math.log(V)) < 1e-4
    assert 0 <= gap < 1e-3 and final_nll >= target_nll - 1e-6   # 最大似然是下界，只能从上面逼近
    assert val_ppl > perplexity(add_k_nll)
    return {"embedding_vv_train_ppl": perplexity(final_nll), "count_mle_train_ppl": perplexity(target_nll)}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(quick))
    results.update(exercise2(quick))
    results.update(exercise3(quick))
    results.update(exercise4(quick, device))
    return results


if __name__ == "__main__":
    run_lesson(main)
