# %% [markdown]
# # 第 16 课 ★ 练习答案：采样与解码
#
# 运行方式：`python lessons/answers/16_sampling_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 练习 2 要一个训练好的模型：完整模式读第 15 课的检查点 `lessons/output/15_gpt.npz`（没有就先训练几分钟），
# `--quick` 当场训练一个很小的模型（几秒）。

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn.functional as F
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.sampling import filter_logits, sample_next


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
# 第 15 课的模型（验证损失 4.81）上，每段 60 个字：
#
# | τ | distinct-4 | 模型自己的交叉熵 |
# |---|---|---|
# | 0.5 | 0.897 | 2.46 |
# | 1.0 | 1.000 | 4.44 |
# | 1.5 | 1.000 | 7.39 |
#
# 结果：τ 越低，交叉熵越低（低温只挑模型最有把握的字，文字在模型眼里“很通顺”），distinct-4 也越低（越重复）；
# τ 越高两者都越高，τ = 1.5 时交叉熵超过模型在真实验证集上的损失——写出来的东西比真实文本还“意外”，也就是胡言乱语。
# τ = 1 时交叉熵约等于生成的分布本身的平均熵，与验证损失同一个量级。好的设置在两者之间取舍：这正是 τ < 1 加 top-p 常用的原因。

# %%
def exercise2(device, quick):
    lesson = load_lesson()
    model, tok, info = lesson.load_model(quick, device)
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
    return {"ex2": out, "ex2_val_loss": info["model_val_loss"], "ex2_ln_V": math.log(tok.vocab_size)}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
