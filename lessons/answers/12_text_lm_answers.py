# %% [markdown]
# # 第 12 课 ★ 练习答案：文本、词表与语言模型
#
# 运行方式：`python lessons/answers/12_text_lm_answers.py [--quick]`（在仓库根目录）。

# %%
from pathlib import Path

import numpy as np

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
    return {"diversity": diversity}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(quick))
    results.update(exercise2(quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
