# %% [markdown]
# # 第 18 课 ★ 练习答案：在 GPU 上训练中文 GPT
#
# 运行方式：`python lessons/answers/18_gpu_gpt_answers.py [--quick] [--device cuda]`（在仓库根目录）。
# 两种模式都只要十几秒：练习 1 在当前设备上重新拟合第 18 课第 2 步的系数，练习 2 训练一个很小的模型 20 步。

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh import optim
from tinygrad_zh.lesson import load_definitions, output_dir, run_lesson
from tinygrad_zh.optim.lr_scheduler import WarmupCosineLR
from tinygrad_zh.training import GPU_CONFIG, ConfigError, TrainConfig, resolve_device, train


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
    return {"resume_errors": errors, "lr_step10": lrs,
            "lr_ratio": lrs[40] / lrs[20] if lrs[20] else math.inf}


# %%
def main(quick=False, device="cpu"):
    # 两道题都只用小配置，快速模式与完整模式相同（--quick 只为与其他课程的命令行一致）
    device = resolve_device(device)
    lesson = load_lesson()
    results = {}
    results.update(exercise1(lesson, device))
    results.update(exercise2(lesson, device))
    return results


if __name__ == "__main__":
    run_lesson(main)
