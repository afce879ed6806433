# %% [markdown]
# # 第 15 课 ★ 练习答案：组装 GPT 并训练
#
# 运行方式：`python lessons/answers/15_gpt_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 两道题都用第 15 课快速模式的设置（语料前 400 段、2 层、C = 32），完整模式每次训练 300 步，共 7 次，
# 2 核 CPU 上约两分钟；`--quick` 每次只训练 40 步，十几秒。

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.models.gpt import GPT, GPTConfig


def load_lesson():
    """取第 15 课的定义（数据、批量与训练函数），不运行课程本身。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "15_gpt.py")


def setup(lesson, quick, **overrides):
    cfg = dict(lesson.QUICK_CFG, steps=40 if quick else 300, eval_every=10 if quick else 50, **overrides)
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
# 同样训练 300 步，验证损失：绑定 6.22，不绑定 5.38——在这个 C = 32 的小模型上，**不绑定的明显更好**。
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
    return {"warmup": out}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
