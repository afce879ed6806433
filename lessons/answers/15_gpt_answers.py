# %% [markdown]
# # 第 15 课 练习答案：组装 GPT 并训练
#
# 运行方式：`python lessons/answers/15_gpt_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 练习 1—4 用第 15 课快速模式的设置（语料前 400 段、C = 32；练习 3 是 8 层），练习 5 用第 11 步比较用的 GPT 与第 12 课的划分。
# 完整模式每次训练 200—400 步，2 核 CPU 上约五分钟；`--quick` 每次只训练 6—200 步，一两分钟。
# 每道题都用 `assert` 核对自己的结论，结论不成立时脚本会报错。

# %%
import math
import types
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh.lesson import load_definitions, run_lesson
import tinygrad_zh.nn.functional as F
from tinygrad_zh.models.gpt import GPT, GPTConfig


def load_lesson():
    """取第 15 课的定义（数据、批量与训练函数），不运行课程本身。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "15_gpt.py")


def setup(lesson, quick, **overrides):
    cfg = dict(lesson.QUICK_CFG, steps=40 if quick else 300, eval_every=10 if quick else 50)
    cfg.update(overrides)
    data = lesson.load_corpus(True)
    rng = np.random.default_rng(1234)
    val_batches = [lesson.get_batch(data["val_ids"], cfg["batch_size"], cfg["block_size"], rng)
                   for _ in range(cfg["eval_batches"])]
    config = GPTConfig(block_size=cfg["block_size"], vocab_size=data["vocab_size"], n_layer=cfg["n_layer"],
                       n_head=cfg["n_head"], n_embd=cfg["n_embd"])
    return cfg, data, val_batches, config


def run(lesson, model, cfg, data, val_batches, device):
    opt, sched = lesson.make_optimizer(model, cfg)
    return lesson.train(model, opt, sched, data, cfg, val_batches, device)


# %% [markdown]
# ## 练习 1 ★：去掉权重绑定
#
# 给 `lm_head` 一个自己的 $(V, C)$ 权重（同样按 $N(0, 0.02^2)$ 初始化），参数多出 V·C 个——快速模式的小模型里
# V = 1882、C = 32，多出 60 224 个，总数从 86 720 变成 146 944（+69%）。
#
# 同样训练 300 步（完整模式），验证损失：绑定 6.22，不绑定 5.38——在这个 C = 32 的小模型上，**不绑定的明显更好**
# （`--quick` 只训练 40 步，两者还分不出高下）。
# 绑定是一种约束：同一张表既要当输入嵌入、又要当输出层，维数只有 32 时两种用途互相掣肘。
# 一个看得见的副作用是“复读偏好”：残差流里带着当前字自己的嵌入 $e_{x_t}$，绑定后 logits $h_t \cdot e_v$
# 在 $v = x_t$ 处天然偏大，模型一开始就倾向于预测“重复当前这个字”，得花力气把它学掉。
# 下面量出来：初始化时把目标设成输入本身（“下一个字 = 当前字”），绑定的模型损失 7.13，明显低于 ln V = 7.54，
# 不绑定的 7.54，就在 ln V 上。
# 所以权重绑定首先是省参数的办法（V·C 在小模型里占大头），效果好坏取决于模型大小和数据，要实验说话。


# %%
def exercise1(device, quick):
    lesson = load_lesson()
    cfg, data, val_batches, config = setup(lesson, quick)
    print(f"练习 1：权重绑定（各训练 {cfg['steps']} 步）")
    x, _ = val_batches[0]
    copy_target = tg.tensor(x, device=device)
    out = {}
    for tied in (True, False):
        tg.manual_seed(1337)
        model = GPT(config).to(device)
        if not tied:
            model.lm_head.weight = nn.Parameter(tg.zeros(config.vocab_size, config.n_embd, device=device))
            nn.init.normal_(model.lm_head.weight, 0.0, 0.02)
        n = sum(p.numel() for p in model.parameters())
        with tg.no_grad():
            copy_loss = model(copy_target, copy_target)[1].item()
        hist = run(lesson, model, cfg, data, val_batches, device)
        out["tied" if tied else "untied"] = {"n_params": n, "val_loss": hist["val"][-1][1], "copy_loss": copy_loss,
                                            "is_tied": model.lm_head.weight is model.transformer.wte.weight}
        print(f"  {'绑定' if tied else '不绑定'}：参数 {n}；初始化时“下一个字 = 当前字”的损失 {copy_loss:.4f}"
              f"（ln V = {math.log(config.vocab_size):.4f}）；最终验证损失 {hist['val'][-1][1]:.4f}")
    extra = out["untied"]["n_params"] - out["tied"]["n_params"]
    print(f"  不绑定多出 {extra} 个参数（= V·C = {config.vocab_size * config.n_embd}）")
    ln_v = math.log(config.vocab_size)
    assert extra == config.vocab_size * config.n_embd
    assert out["tied"]["is_tied"] and not out["untied"]["is_tied"]
    # 初始化时：不绑定的模型对“下一个字 = 当前字”一无所知（≈ ln V），绑定的模型偏爱复读（明显低于 ln V）
    assert abs(out["untied"]["copy_loss"] - ln_v) < 0.05, out
    assert out["tied"]["copy_loss"] < ln_v - 0.1, out
    better = "不绑定" if out["untied"]["val_loss"] < out["tied"]["val_loss"] else "绑定"
    print(f"  {cfg['steps']} 步后验证损失更低的是{better}")
    if not quick:
        assert out["untied"]["val_loss"] < out["tied"]["val_loss"], out
    return {"tying": out, "tying_extra_params": extra}


# %% [markdown]
# ## 练习 2 ★：不预热、学习率加大；再去掉梯度裁剪或加回预热
#
# 快速模式的模型与数据，同一个种子、同样的数据顺序，五次训练（完整模式各 300 步）：
#
# | 设置 | 前 20 步最大损失（第几步） | 前 20 步最大梯度范数 | 300 步后验证损失 |
# |---|---|---|---|
# | 课里：预热 10 步，峰值 5e-3，裁剪到 1 | 7.55（第 1 步，即初始） | 0.93 | 6.22 |
# | 不预热，1.5e-2（3 倍） | 7.55（第 1 步） | 3.2 | **6.02** |
# | 不预热，0.1（20 倍） | **9.36**（第 4 步） | 4.3 | 6.39 |
# | 同上，不裁剪 | **9.52**（第 4 步） | 4.4 | 6.36 |
# | 0.1，但预热 30 步 | **9.39**（第 19 步，学习率刚升到 0.063） | 8.6 | 6.38 |
#
# - 学习率提高 3 倍、不预热：这个小模型反而学得更快，最后也更好——课里的 5e-3 偏保守；预热不是每次都必需；
# - 提高到 20 倍、不预热：第一步就用最大的学习率，而 Adam 的每步更新量约等于学习率本身（$\hat m/\sqrt{\hat v} \approx \pm 1$），
#   所有权重一下子挪动 0.1——是初始标准差 0.02 的 5 倍。第 4 步损失跳到 9.4（比 ln V = 7.54 还高），之后再也没追上；
# - 去掉裁剪几乎没有差别：裁剪缩小的是梯度的范数，但 Adam 会把梯度除以 $\sqrt{\hat v}$，缩放又被抵消了。
#   对 Adam 来说裁剪只在个别突发的大梯度上起作用（第 13 课的 SGD 才是它的主场）；
# - 加回 30 步预热：开头平稳了，但学习率升到 0.06 左右时照样跳一次，最终结果一样差。
#   预热保护的是**开头**（参数刚随机初始化、Adam 的二阶矩估计还不准的那几十步）；学习率本身太大，预热只能推迟问题。

# %%
def exercise2(device, quick):
    lesson = load_lesson()
    print("练习 2：预热与梯度裁剪")
    settings = {"课里的设置": {},
                "不预热，3 倍": dict(warmup=0, lr=1.5e-2, min_lr=1.5e-3),
                "不预热，20 倍": dict(warmup=0, lr=0.1, min_lr=1e-2),
                "不预热，20 倍，不裁剪": dict(warmup=0, lr=0.1, min_lr=1e-2, clip=math.inf),
                "预热 30 步，20 倍": dict(warmup=30, lr=0.1, min_lr=1e-2)}
    out = {}
    for name, over in settings.items():
        cfg, data, val_batches, config = setup(lesson, quick, **over)
        tg.manual_seed(1337)
        model = GPT(config).to(device)
        hist = run(lesson, model, cfg, data, val_batches, device)
        first = hist["loss"][:20]
        spike = int(np.argmax(first)) + 1
        out[name] = {"max_loss_first20": max(first), "max_loss_step": spike,
                     "max_grad_first20": max(hist["grad_norm"][:20]), "val_loss": hist["val"][-1][1],
                     "first_losses": hist["loss"][:6]}
        print(f"  {name}：前 20 步 损失最大 {max(first):.3f}（第 {spike} 步）、"
              f"梯度范数最大 {max(hist['grad_norm'][:20]):.2f}；"
              f"前 6 步损失 {[round(v, 2) for v in hist['loss'][:6]]}；最终验证损失 {hist['val'][-1][1]:.4f}")
    ln_v = data["ln_V"]
    base, big = out["课里的设置"], out["不预热，20 倍"]
    assert base["max_loss_step"] == 1                       # 课里的设置：损失从第 1 步起只降不升（最大就是初始损失）
    assert big["max_loss_first20"] > ln_v > base["max_loss_first20"] - 0.1, (big, base)   # 20 倍：跳到比均匀猜测还差
    assert big["max_loss_step"] > 1                          # 跳是在开始更新之后
    warm = out["预热 30 步，20 倍"]["first_losses"]
    assert max(warm) == warm[0] and max(big["first_losses"]) > ln_v        # 预热护住了开头几步（之后能否平稳另说）
    assert all(np.isfinite(r["val_loss"]) for r in out.values())
    return {"warmup": out}


# %% [markdown]
# ## 练习 3 ★★：后置层规范化，8 层
#
# > 把前置层规范化改成后置（`x = ln_1(x + attn(x))`，去掉 `ln_f`），层数加到 8，比较训练前 200 步的损失。
#
# 前置（pre-LN）时残差流 $x$ 本身从不被规范化，每个块只往上“加”一点，梯度沿恒等的残差路径直达底层；
# 后置（post-LN，原始 Transformer 的写法）时每个块的输出都过一次层规范化，梯度回传要穿过 8 次层规范化的雅可比矩阵，
# 底层的梯度被层层改变尺度，训练初期更难、对学习率和预热更敏感（原始 Transformer 需要很长的预热就是因为它）。
# 下面两种模型用同样的初始化、种子、数据顺序和优化设置（快速模式的配置，层数改为 8），比较前若干步的训练损失。


# %%
def post_ln_forward(self, x, kv_cache=None, layer=0):
    x = self.ln_1(x + self.attn(x, kv_cache, layer))
    return self.ln_2(x + self.mlp(x))


def exercise3(device, quick):
    lesson = load_lesson()
    steps = 6 if quick else 200
    cfg, data, val_batches, config = setup(lesson, quick, steps=steps, eval_every=steps, warmup=min(10, steps))
    cfg["n_layer"] = 8
    config = GPTConfig(block_size=cfg["block_size"], vocab_size=data["vocab_size"], n_layer=8,
                       n_head=cfg["n_head"], n_embd=cfg["n_embd"])
    print(f"练习 3：前置与后置层规范化（8 层，各训练 {steps} 步）")
    out = {}
    for kind in ("pre", "post"):
        tg.manual_seed(1337)
        model = GPT(config).to(device)
        if kind == "post":
            for block in model.transformer.h:
                block.forward = types.MethodType(post_ln_forward, block)
            model.transformer.ln_f = nn.Identity()
        hist = run(lesson, model, cfg, data, val_batches, device)
        assert np.all(np.isfinite(hist["loss"]))
        k = max(1, steps // 10)
        out[kind] = {"loss_first": float(np.mean(hist["loss"][:k])), "loss_last": float(np.mean(hist["loss"][-k:])),
                     "val_loss": hist["val"][-1][1], "grad_first": float(np.mean(hist["grad_norm"][:k]))}
        print(f"  {'前置' if kind == 'pre' else '后置'}：前 {k} 步平均损失 {out[kind]['loss_first']:.3f}，"
              f"最后 {k} 步 {out[kind]['loss_last']:.3f}，验证损失 {out[kind]['val_loss']:.4f}，"
              f"前 {k} 步平均梯度范数 {out[kind]['grad_first']:.2f}")
    better = "前置" if out["pre"]["loss_last"] < out["post"]["loss_last"] else "后置"
    print(f"  {steps} 步后训练损失更低的是{better}（差 {abs(out['pre']['loss_last'] - out['post']['loss_last']):.3f}）")
    return {"post_ln": out}


# %% [markdown]
# ## 练习 4 ★★：去掉位置嵌入
#
# > 去掉位置嵌入 `wpe`，模型还能学到多少？
#
# 没有 `wpe` 时，**单层**注意力对前文是“一袋字”：把前文打乱（最后一个字不动），加权平均不变，最后一个位置的输出也不变。
# 所以单层模型学不到“前一个字是什么”这种依赖顺序的规律（而二元语法恰恰最依赖它），只有当前字本身沿残差流直通输出。
# 但因果掩码泄露了位置：第 $t$ 个位置平均的是前 $t + 1$ 个字，它的表示取决于“自己前面有哪些字”；
# 到了第二层，最后一个位置看到的是这些各自带着不同前缀的表示，打乱顺序就会改变输出——
# 多层的模型可以从因果掩码里重新拼出顺序信息（文献里称为 NoPE，只是学得更慢）。
# 下面两件事都量出来：打乱前文对单层、两层无 `wpe` 模型的影响；以及把 `wpe` 清零并冻结后训练，验证损失与完整模型、
# 一元语法基线相比如何。


# %%
def exercise4(device, quick):
    lesson = load_lesson()
    cfg, data, val_batches, config = setup(lesson, quick, steps=10 if quick else 300, warmup=5 if quick else 10)
    print(f"练习 4：去掉位置嵌入（各训练 {cfg['steps']} 步）")
    out = {}
    for use_wpe in (True, False):
        tg.manual_seed(1337)
        model = GPT(config).to(device)
        if not use_wpe:
            model.transformer.wpe.weight.data = tg.zeros(*model.transformer.wpe.weight.shape, device=device)
            model.transformer.wpe.weight.requires_grad_(False)
        hist = run(lesson, model, cfg, data, val_batches, device)
        out["wpe" if use_wpe else "no_wpe"] = hist["val"][-1][1]
    # 打乱前文（最后一个字不动）：单层无 wpe 的模型输出不变，两层的（刚训练完的这个）会变
    tg.manual_seed(0)
    one_layer = GPT(GPTConfig(block_size=config.block_size, vocab_size=config.vocab_size, n_layer=1,
                              n_head=config.n_head, n_embd=config.n_embd)).to(device)
    one_layer.transformer.wpe.weight.data = tg.zeros(*one_layer.transformer.wpe.weight.shape, device=device)
    x = val_batches[0][0][:4]
    perm = np.concatenate([np.random.default_rng(0).permutation(x.shape[1] - 1), [x.shape[1] - 1]])
    diffs = {}
    for name, m in (("1 层", one_layer), (f"{config.n_layer} 层（训练后）", model)):
        m.eval()
        with tg.no_grad():
            diffs[name] = (m(tg.tensor(x, device=device))[0][:, -1]
                           - m(tg.tensor(x[:, perm], device=device))[0][:, -1]).abs().max().item()
    d1, d2 = diffs.values()
    assert d1 < 1e-5 and d2 > 100 * max(d1, 1e-7), diffs
    uni = data["unigram_val"]
    assert all(np.isfinite(v) and v < data["ln_V"] for v in out.values()), out
    print("  打乱前文、最后一个字不动，最后位置的 logits 最大差：" + "，".join(f"{k} {v:.1e}" for k, v in diffs.items())
          + "（单层与顺序无关；多层靠因果掩码拿回了顺序信息）")
    print(f"  验证损失：有位置嵌入 {out['wpe']:.4f}，没有 {out['no_wpe']:.4f}，一元语法 {uni:.4f}，ln V = {data['ln_V']:.4f}")
    if out["wpe"] < uni:
        print(f"  去掉位置嵌入后，从一元语法往下走的距离是完整模型的 {(uni - out['no_wpe']) / (uni - out['wpe']):.0%}")
    else:
        print("  训练太短，两个模型都还没低于一元语法基线，看不出差别（去掉 --quick 再看）")
    return {"no_wpe": out, "no_wpe_perm_diff": diffs}


# %% [markdown]
# ## 练习 5 ★★★：不重叠的段与滑动窗口；为什么第 1—10 步的 GPT 不能直接与 LSTM 比
#
# > 第 11 步用滑动窗口评估 GPT。改成把整个验证集按 block_size 切成不重叠的段（每段从零上文开始）算困惑度，
# > 会高估多少？按段内位置统计平均损失，解释差别；再说说第 1—10 步的 GPT 为什么不能直接与第 13 课（下）的 LSTM 比。
#
# 把验证集切成 $\lfloor N / T \rfloor$ 段不重叠的 $T$ 个字（输入 $T$ 个、目标错开一位），逐段平均交叉熵，
# 困惑度 = $\exp(\text{平均交叉熵})$。下面还用 NumPy 的对数 softmax 对前几段独立算一遍核对。
# 不重叠的切法让每段开头的字几乎没有上下文（第 0 个位置只看到 1 个字），所以它**高估**了模型的损失；
# 按段内位置统计的损失正好显示这一点：训练过的模型在段首的损失明显高于段尾。
# 第 11 步的滑动窗口（每次右移 $T/2$，只计新位置）让每个位置至少有 $T/2$ 个字的上文（开头的 $T$ 个字除外），
# 代价是每个字要算约两遍；每次只计窗口的最后一个位置则最准，但慢 $T$ 倍。
#
# 第 1—10 步的 GPT 与第 13 课（下）的 LSTM 不能直接比困惑度，因为要统一的东西一样都没统一：
# 1. **词表**：困惑度是“平均在几个字里犹豫”，词表不同（字表大小、罕见字是否并成 `<unk>`）时，
#    预测 `<unk>` 比预测一个具体的罕见字容易得多，词表小的一方占便宜；
# 2. **验证文本**：两课的语料截取与划分不同（90/10 对 最后 5%），文本难度不同；
# 3. **上下文的处理**：LSTM 的评估让隐状态一路传下去，GPT 只有 `block_size` 个字的窗口，评估方式要说清楚；
# 4. 还要看模型的大小和训练读过的字数，否则比较的是预算而不是结构。
# 第 11 步正是这样做的：第 12 课的 `load_split` 统一了 1、2，滑动窗口处理 3，表里列出参数个数和训练字数（4）。
# 下面打印两种划分的词表大小与验证集字数，说明它们确实不同。


# %%
def full_val_nll(model, ids, block_size, device, chunk=64):
    n = (len(ids) - 1) // block_size
    x = ids[:n * block_size].reshape(n, block_size)
    y = ids[1:n * block_size + 1].reshape(n, block_size)
    model.eval()
    per_pos = np.zeros(block_size)
    with tg.no_grad():
        for s in range(0, n, chunk):
            logits = model(tg.tensor(x[s:s + chunk], device=device))[0]
            logp = F.log_softmax(logits, dim=-1).cpu().numpy()
            nll = -np.take_along_axis(logp, y[s:s + chunk, :, None], axis=-1)[..., 0]
            per_pos += nll.sum(axis=0)
    return per_pos / n, n, x, y


def exercise5(device, quick):
    lesson = load_lesson()
    # 第 11 步的 GPT 与划分：这个模型真正用上了上文，段首缺上文的代价才看得出来（只训练几十步的模型近似一元语法，看不出）
    split12 = load_definitions(Path(__file__).resolve().parent.parent / "12_text_lm.py").load_split(True)
    cfg = dict(lesson.COMPARE_QUICK, steps=200 if quick else 400, eval_every=10 ** 9)
    V12 = split12["tok"].vocab_size
    data = {"train_ids": split12["train_ids"], "val_ids": split12["val_ids"], "ln_V": math.log(V12)}
    rng = np.random.default_rng(1234)
    val_batches = [lesson.get_batch(data["val_ids"], cfg["batch_size"], cfg["block_size"], rng)
                   for _ in range(cfg["eval_batches"])]
    config = GPTConfig(block_size=cfg["block_size"], vocab_size=V12, n_layer=cfg["n_layer"], n_head=cfg["n_head"],
                       n_embd=cfg["n_embd"])
    tg.manual_seed(1337)
    model = GPT(config).to(device)
    run(lesson, model, cfg, data, val_batches, device)
    T = cfg["block_size"]
    per_pos, n, x, y = full_val_nll(model, data["val_ids"], T, device)
    nll = float(per_pos.mean())
    # 核对：前 8 段用 NumPy 独立算一次，与模型自带的损失（F.cross_entropy）比较
    with tg.no_grad():
        logits, loss = model(tg.tensor(x[:8], device=device), tg.tensor(y[:8], device=device))
    z = logits.cpu().numpy().astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    ref = float((np.log(np.exp(z).sum(-1)) - np.take_along_axis(z, y[:8, :, None], -1)[..., 0]).mean())
    assert abs(ref - loss.item()) < 1e-4, (ref, loss.item())
    sliding = lesson.sliding_eval_nll(model, data["val_ids"], T, device)
    k = max(1, T // 8)
    first, last = float(per_pos[:k].mean()), float(per_pos[-k:].mean())
    print(f"练习 5：第 11 步的 GPT 在第 12 课的划分上训练 {cfg['steps']} 步后，验证集 {len(data['val_ids'])} 字切成 {n} 段 × {T}：平均交叉熵 {nll:.4f}，"
          f"困惑度 {math.exp(nll):.1f}；滑动窗口（第 11 步）{sliding:.4f}，困惑度 {math.exp(sliding):.1f}")
    print(f"  按段内位置：前 {k} 个位置平均 {first:.4f}，最后 {k} 个位置平均 {last:.4f}；"
          f"不重叠的切法高估了 {math.exp(nll - sliding) - 1:.1%} 的困惑度")
    assert np.isfinite(nll) and nll < data["ln_V"]
    assert first > last and sliding < nll, (first, last, sliding, nll)   # 段首缺上文；滑动窗口补上了它
    own = lesson.load_corpus(True)
    print(f"  词表：第 15 课第 1—10 步 V = {own['vocab_size']}，第 12 课的划分 V = {V12}；"
          f"验证集：{len(own['val_ids'])} 字对 {len(split12['val_ids'])} 字——不统一就不能直接比困惑度")
    assert own["vocab_size"] != V12 and len(own["val_ids"]) != len(split12["val_ids"])
    return {"full_val_nll": nll, "full_val_ppl": math.exp(nll), "full_val_segments": n, "sliding_val_nll": sliding,
            "per_position_first": first, "per_position_last": last}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    results.update(exercise4(device, quick))
    results.update(exercise5(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
