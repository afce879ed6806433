"""训练字符级中文 GPT：数据、学习率调度、训练循环、评估、检查点 (checkpoint) 与损失曲线。

``tinygrad-zh train`` 命令、第 15 课与第 18 课都用这里的 ``train``::

    >>> from tinygrad_zh.training import TrainConfig, train, load_checkpoint
    >>> result = train(TrainConfig(max_steps=200))          # 默认语料：人民日报 1998-01
    >>> result.val_loss, result.checkpoint                   # 验证损失（nats / 字符）与检查点路径
    >>> model, tokenizer, ckpt = load_checkpoint(result.checkpoint)

一次训练做的事（``train`` 从上到下就是这个顺序）:
    1. 读语料，用 ``CharTokenizer`` 编码；前 90% 做训练集，后 10% 做验证集（按位置切，不打乱：
       验证集是训练时没见过的连续文字）。新建模型与优化器；续训时从检查点恢复全部状态。
    2. 每一步从训练集的随机位置截 ``batch_size`` 段长 ``block_size + 1`` 的文字：前 T 个字是输入 x，
       后 T 个字是目标 y（x 右移一位）。随机位置由主机上的 NumPy 生成器给出，再把批量搬到设备上。
    3. 设学习率（``get_lr``）→ 前向 → 交叉熵 → 反向 → 梯度裁剪 (gradient clipping) → AdamW 更新。
    4. 第 0 步、每 ``eval_interval`` 步与最后一步在**固定的**验证批量上求损失与困惑度 (perplexity)：
       批量只抽一次（固定种子），所以不同时刻、不同次运行的数字可以直接比较，续训时也完全一样。
    5. 每次评估后原子地 (atomic) 写检查点 ``out_dir/ckpt.npz`` 与损失曲线 ``out_dir/loss.png``。
       Ctrl-C 时先存检查点再退出；``train(config, resume=True)`` 从检查点逐位 (bit-for-bit) 一致地接着训练
       （CPU 上；GPU 上嵌入层反向的原子加法 (atomic add) 求和顺序不固定，续训只一致到舍入误差）。

学习率的第 0 步:
    线性预热 (warmup) 若从 t = 0 算起，第 0 步 lr = 0，第一次更新什么也不改，白白浪费一步。
    nanoGPT 的 ``get_lr`` 用 ``lr·(it+1)/(warmup+1)`` 避开这一点。我们的 ``get_lr`` 把调度整体提前一步：
    第 i 步（从 0 数）用 lr(i + 1)。于是第 0 步用 lr/W，第 W−1 步升到峰值 lr，之后余弦衰减，
    最后一步（i = max_steps − 1）正好用 min_lr。公式与 ``optim.lr_scheduler.WarmupCosineLR`` 相同。
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import nn
from .autograd import no_grad
from .creation import default_generator, manual_seed, tensor
from .data import CharTokenizer, load_people_daily, load_text
from .models.gpt import GPT, GPTConfig
from .serialization import CheckpointError, atomic_write, load, save
from .training_config import (CHECKPOINT_NAME, CPU_CONFIG, GPU_CONFIG, PLOT_NAME,  # noqa: F401  配置也从这里导出
                              ConfigError, TrainConfig, preset, resolve_device)
from .viz import label, setup_font

try:
    from tqdm import tqdm
except ImportError:  # 进度条是可选的：没装 tqdm 时照常训练，只是不显示
    tqdm = None

CHECKPOINT_FORMAT = "tinygrad_zh.gpt_checkpoint"
CHECKPOINT_VERSION = 1
VAL_SEED = 0  # 固定验证批量的种子：与 config.seed 无关，不同种子的运行也在同一批文字上比较


# ---------------------------------------------------------------------------- 训练循环

def train(config=None, resume=False, progress=True, callback=None, verbose=True):
    """按配置训练 GPT，返回 ``TrainResult``。

    参数:
        config: ``TrainConfig``（默认 ``CPU_CONFIG``）。
        resume: True 时从 ``out_dir/ckpt.npz`` 接着训练（逐位一致）；配置只许改 eval_interval、
            eval_batches、device、out_dir。False 时从头训练并覆盖那里的旧检查点。
        progress: 是否显示 tqdm 进度条（损失、学习率、词元/秒）；没装 tqdm 时不显示。
        callback: 每步之后调用 ``callback(step, info)``，info 含 loss、lr，评估的那一步还有 val_loss、val_ppl。
            在回调里抛出 ``KeyboardInterrupt`` 与按 Ctrl-C 效果相同。
        verbose: 是否打印开头的概况与每次评估的结果。

    Ctrl-C (KeyboardInterrupt): 把已完成的步数存进检查点、打印路径，然后重新抛出 ``KeyboardInterrupt``。
    """
    config = (config or CPU_CONFIG).replace()  # 副本（构造时校验）：训练中不改调用者的对象
    device = resolve_device(config.device)
    ckpt = read_resume_checkpoint(config) if resume else None
    tokenizer, train_ids, val_ids = prepare_data(load_corpus(config.data), config.val_fraction, config.block_size)
    model, optimizer = build_model_and_optimizer(config, tokenizer.vocab_size, device)
    state = TrainState(config, model, tokenizer, optimizer, batch_rng=np.random.default_rng(config.seed))
    if ckpt is not None:
        restore_state(state, ckpt)
    model.train()
    val_batches = fixed_batches(val_ids, config.block_size, config.batch_size, config.eval_batches, device)
    console = _Console(progress, verbose, total=config.max_steps, initial=state.step)
    console.log(_describe_run(state, device, len(train_ids), len(val_ids), resumed=ckpt is not None))
    stats = _IntervalStats(tokens_per_step=config.batch_size * config.block_size)
    start = time.perf_counter()
    rng_before_step = None  # 当前这一步开始前的随机数状态；这一步完成（提交）后为 None
    try:
        # 第 0 步先评估一次；续训时若上次恰好在评估中途被打断，补上这一步的评估
        if is_eval_step(state.step, config) and state.history["eval_step"][-1:] != [state.step]:
            evaluate_and_save(state, val_batches, stats, console)
        while state.step < config.max_steps:
            rng_before_step = _rng_states(state.batch_rng)
            t0 = time.perf_counter()
            lr = get_lr(state.step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = get_batch(train_ids, config.block_size, config.batch_size, state.batch_rng, device)
            _, loss = model(x, y)
            optimizer.zero_grad()
            loss.backward()
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            loss_value = loss.item()
            with _defer_keyboard_interrupt():  # “提交”这一步：参数、步数、记录一起变，不会只做了一半
                optimizer.step()
                state.step += 1
                _append(state.history, step=state.step, loss=loss_value, lr=lr)
                rng_before_step = None
            stats.add(loss_value, time.perf_counter() - t0)
            console.step(loss_value, lr, stats.tokens_per_s())
            info = {"loss": loss_value, "lr": lr}
            if is_eval_step(state.step, config):
                info.update(evaluate_and_save(state, val_batches, stats, console))
            if callback is not None:
                callback(state.step, info)
    except KeyboardInterrupt:
        save_checkpoint(state, console, rng_before_step)  # 没做完的那一步作废：续训时从头重做这一步
        console.close()
        print(f"\n已中断 (KeyboardInterrupt)：第 {state.step} 步的检查点已保存到 {config.checkpoint_path}。"
              f"接着训练：tinygrad-zh train --resume --out-dir {config.out_dir}")
        raise
    console.close()
    return state.result(elapsed=time.perf_counter() - start)


def get_lr(step, config):
    """第 ``step`` 步（从 0 数）用的学习率：线性预热 → 余弦衰减 → 停在 min_lr。

    调度整体提前一步：第 step 步取公式在 t = step + 1 处的值，所以第 0 步是 lr/W 而不是 0（见模块说明）。
    算术顺序与 ``WarmupCosineLR`` 相同，数值逐位一致。
    """
    t, warmup, total = step + 1, config.warmup_steps, config.max_steps
    # 1. 预热：t < W 时从 0 线性升到 learning_rate
    if t < warmup:
        return config.learning_rate * t / warmup
    # 2. 余弦衰减：W ≤ t ≤ T 时从 learning_rate 降到 min_lr（W = T 时没有衰减段，就是 min_lr）
    if t <= total:
        ratio = (t - warmup) / (total - warmup) if total > warmup else 1.0
        coeff = (1.0 + math.cos(math.pi * ratio)) / 2.0
        return config.min_lr + (config.learning_rate - config.min_lr) * coeff
    # 3. 调度结束以后（t > T）：停在 min_lr
    return config.min_lr


def is_eval_step(step, config):
    """做完 ``step`` 步时要不要评估并保存检查点：第 0 步、每 eval_interval 步与最后一步。"""
    return step % config.eval_interval == 0 or step == config.max_steps


# ---------------------------------------------------------------------------- 训练的状态与结果

@dataclass
class TrainResult:
    """``train`` 的结果：模型（训练模式）、分词器、历史记录与最终指标。

    history 的键:
        step / loss / lr：每一步的步数（做完这一步后的计数，从 1 起）、训练批量的损失、这一步用的学习率；
        eval_step / val_loss / val_ppl：每次评估的步数、验证损失与困惑度；
        train_loss / tokens_per_s：两次评估之间训练损失的平均与速度（第 0 步为 nan）。
    """

    model: object
    tokenizer: CharTokenizer
    config: TrainConfig
    history: dict
    step: int
    val_loss: float
    val_ppl: float
    checkpoint: str
    plot: str | None
    elapsed: float = field(default=0.0)


def _new_history():
    return {"step": [], "loss": [], "lr": [],
            "eval_step": [], "val_loss": [], "val_ppl": [], "train_loss": [], "tokens_per_s": []}


def _append(history, **values):
    """给 history 的若干列各追加一个值。"""
    for key, value in values.items():
        history[key].append(value)


@dataclass
class TrainState:
    """训练进行中的全部状态：检查点存的就是它，续训时原样恢复。

    属性:
        batch_rng: 取训练批量的 NumPy 生成器（主机上）；dropout 用的是全局生成器 ``default_generator``。
        step: 已经完成的步数。
        history: 同 ``TrainResult.history``。
        plot: 最近一次画成的损失曲线（起初是上一次运行留在 out_dir 里的那张，如果有）。
    """

    config: TrainConfig
    model: GPT
    tokenizer: CharTokenizer
    optimizer: object
    batch_rng: np.random.Generator
    step: int = 0
    history: dict = field(default_factory=_new_history)
    plot: str | None = None

    def __post_init__(self):
        if self.plot is None and os.path.exists(self.config.plot_path):
            self.plot = self.config.plot_path

    def result(self, elapsed):
        """训练结束时的 ``TrainResult``。"""
        return TrainResult(model=self.model, tokenizer=self.tokenizer, config=self.config, history=self.history,
                           step=self.step, val_loss=self.history["val_loss"][-1],
                           val_ppl=self.history["val_ppl"][-1], checkpoint=self.config.checkpoint_path,
                           plot=self.plot, elapsed=elapsed)


def build_model_and_optimizer(config, vocab_size, device):
    """按配置新建 GPT（放在 ``device`` 上）与 AdamW，返回 ``(model, optimizer)``。

    先 ``manual_seed(config.seed)``：同一种子给出同一组初始权重，之后 dropout 的掩码也从这个状态开始。
    """
    manual_seed(config.seed)
    model = GPT(GPTConfig(block_size=config.block_size, vocab_size=vocab_size, n_layer=config.n_layer,
                          n_head=config.n_head, n_embd=config.n_embd, dropout=config.dropout, bias=config.bias))
    model.to(device)
    optimizer = model.configure_optimizers(config.weight_decay, config.learning_rate, (config.beta1, config.beta2))
    return model, optimizer


# 续训时可以与检查点不同的字段：它们不影响训练轨迹
_RESUMABLE_CHANGES = ("eval_interval", "eval_batches", "device", "out_dir")


def read_resume_checkpoint(config):
    """读续训用的检查点 ``config.checkpoint_path``，并确认配置只在不影响训练轨迹的字段上与它不同。"""
    path = config.checkpoint_path
    ckpt = _read_checkpoint(path)
    saved = TrainConfig.from_dict(ckpt["config"])
    changed = [f.name for f in dataclasses.fields(config) if f.name not in _RESUMABLE_CHANGES
               and not _same_setting(f.name, getattr(config, f.name), getattr(saved, f.name))]
    if changed:
        detail = "，".join(f"{n}: 检查点 {getattr(saved, n)!r} → 现在 {getattr(config, n)!r}" for n in changed)
        raise ConfigError(f"不能从 {path} 续训 (resume)：这些配置与检查点不同：{detail}。续训只能改 "
                          f"{', '.join(_RESUMABLE_CHANGES)}。提示：去掉这些参数，或换一个 --out-dir 重新训练。")
    return ckpt


def _same_setting(name, a, b):
    """续训时比较一个配置字段；语料路径按绝对路径比较（相对路径换了工作目录写法不同，指的仍是同一个文件）。"""
    if name == "data" and a is not None and b is not None:
        return os.path.abspath(a) == os.path.abspath(b)
    return a == b


def restore_state(state, ckpt):
    """把检查点里的权重、优化器状态、随机数状态、步数与历史装回 ``state``，续训因此逐位一致。"""
    if ckpt["vocab"] != state.tokenizer.itos:
        raise ConfigError(f"不能从 {state.config.checkpoint_path} 续训：语料的词表与检查点里的不同（语料文件变了？）。")
    state.model.load_state_dict(ckpt["model"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.batch_rng.bit_generator.state = ckpt["rng"]["batch"]
    default_generator.set_state(ckpt["rng"]["global"])
    state.step, state.history = ckpt["step"], ckpt["history"]


def evaluate_and_save(state, val_batches, stats, console):
    """在固定验证批量上评估，连同这段区间的平均训练损失与速度记进 history、打印一行，再保存检查点。

    第 0 步只评估不保存：还没训练，也不该一开始就覆盖 out_dir 里上一次运行的检查点。

    返回:
        ``{"val_loss": …, "val_ppl": …}``（给 ``train`` 的回调）。
    """
    val_loss = evaluate(state.model, val_batches)
    train_loss, speed = stats.mean_loss(), stats.tokens_per_s()
    with _defer_keyboard_interrupt():  # 五列一起追加，不会只记了一半
        _append(state.history, eval_step=state.step, val_loss=val_loss, val_ppl=math.exp(val_loss),
                train_loss=train_loss, tokens_per_s=speed)
        stats.reset()
    speed_text = "" if math.isnan(speed) else f" ｜ {speed:,.0f} 词元/秒"
    train_text = "" if math.isnan(train_loss) else f" ｜ 训练损失 {train_loss:.4f}"
    console.log(f"步 {state.step:>5}{train_text} ｜ 验证损失 {val_loss:.4f} ｜ 困惑度 {math.exp(val_loss):,.1f}"
                f"{speed_text}")
    if state.step > 0:
        save_checkpoint(state, console)
    return {"val_loss": val_loss, "val_ppl": math.exp(val_loss)}


def _describe_run(state, device, n_train, n_val, resumed):
    """训练开头打印的概况：设备、语料、词表与参数量；续训时再加一行从哪一步接着训练。"""
    vocab_size = state.tokenizer.vocab_size
    text = (f"设备 {device} ｜ 语料 {n_train + n_val:,} 字符（训练 {n_train:,} / 验证 {n_val:,}）｜ 词表大小 "
            f"V = {vocab_size:,}（ln V = {math.log(vocab_size):.3f}） ｜ 参数量 {state.model.get_num_params():,}（不含位置嵌入）")
    if resumed:
        text += f"\n从 {state.config.checkpoint_path} 的第 {state.step} 步接着训练。"
    return text


class _IntervalStats:
    """两次评估之间的训练损失与纯训练用时（不含评估与存盘）：给出平均训练损失与速度（词元/秒）。"""

    def __init__(self, tokens_per_step):
        self.tokens_per_step = tokens_per_step
        self.reset()

    def reset(self):
        self.losses, self.seconds = [], 0.0

    def add(self, loss, seconds):
        self.losses.append(loss)
        self.seconds += seconds

    def mean_loss(self):
        """这段区间的平均训练损失；还没训练过（第 0 步）时为 nan。"""
        return float(np.mean(self.losses)) if self.losses else math.nan

    def tokens_per_s(self):
        """这段区间的训练速度；还没计时时为 nan。"""
        return len(self.losses) * self.tokens_per_step / self.seconds if self.seconds > 0 else math.nan


class _Console:
    """训练时的输出：tqdm 进度条（可选）与文字（verbose 时）；有进度条时文字打印在它上方，不把它打乱。"""

    def __init__(self, progress, verbose, total, initial):
        self.verbose = verbose
        self.bar = None
        if progress and tqdm is not None:
            # disable=None：标准错误不是终端（日志文件、CI）时 tqdm 自动关闭，免得刷出成千上万行
            self.bar = tqdm(total=total, initial=initial, desc="训练 GPT", unit="步", dynamic_ncols=True, disable=None)

    def log(self, text):
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)  # flush：输出重定向到日志文件时也能随时看到进度

    def step(self, loss, lr, tokens_per_s):
        """进度条前进一步，显示这一步的损失、学习率与速度。"""
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{tokens_per_s:,.0f}")

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------- 数据

def load_corpus(data=None):
    """训练用的文本：``None`` 是内置的人民日报 1998-01 语料，否则读 UTF-8 文本文件。"""
    return load_people_daily() if data is None else load_text(data)


def prepare_data(text, val_fraction=0.1, block_size=64):
    """建词表并编码，按位置切成训练集与验证集（前 1 − val_fraction 训练，末尾 val_fraction 验证）。

    返回:
        ``(tokenizer, train_ids, val_ids)``；两个 id 数组都是主机上的 int64 一维 NumPy 数组。
    """
    tokenizer = CharTokenizer.from_text(text)
    ids = np.asarray(tokenizer.encode(text), dtype=np.int64)
    split = int(len(ids) * (1 - val_fraction))
    train_ids, val_ids = ids[:split], ids[split:]
    if min(len(train_ids), len(val_ids)) <= block_size:
        raise ConfigError(f"语料太短：共 {len(ids)} 个字符，训练集 {len(train_ids)}、验证集 {len(val_ids)} 个，"
                          f"都必须多于 block_size={block_size}。提示：换更长的文本，或调小 --block-size。")
    return tokenizer, train_ids, val_ids


def get_batch(ids, block_size, batch_size, rng, device="cpu"):
    """从 ``ids`` 的随机位置截 batch_size 段文字，返回 ``(x, y)``，形状都是 ``(B, T)``，int64。

    y 是 x 右移一位：x[b, t] 之后的下一个字就是 y[b, t]，模型在每个位置都学“猜下一个字”。

    参数:
        ids: 一维 int64 NumPy 数组（整个训练集或验证集）。
        rng: ``numpy.random.Generator``（主机上的随机数：取批量不占用设备）。
        device: 批量放到哪个设备上。
    """
    starts = rng.integers(0, len(ids) - block_size, size=batch_size)
    index = starts[:, None] + np.arange(block_size)          # (B, T)：每段的下标
    return tensor(ids[index], device=device), tensor(ids[index + 1], device=device)


def fixed_batches(ids, block_size, batch_size, n_batches, device="cpu", seed=VAL_SEED):
    """用固定种子一次抽好 n_batches 个批量（评估用：每次评估都在同一批文字上）。"""
    rng = np.random.default_rng(seed)
    return [get_batch(ids, block_size, batch_size, rng, device) for _ in range(n_batches)]


def evaluate(model, batches):
    """模型在这些批量上的平均交叉熵（nats / 字符）。评估模式（关闭 dropout）、不记录计算图。"""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            losses = [model(x, y)[1].item() for x, y in batches]
    finally:  # 评估中途按 Ctrl-C 也要回到原来的模式
        model.train(was_training)
    return float(np.mean(losses))


# ---------------------------------------------------------------------------- 检查点

def save_checkpoint(state, console, rng_states=None):
    """原子地写检查点 ``out_dir/ckpt.npz``，再重画旁边的损失曲线 ``out_dir/loss.png``。

    参数:
        state: ``TrainState``：检查点存下它的全部内容，外加配置、模型结构与词表。
        console: 曲线画不成时在这里打印警告（曲线只是附带的，字体、后端出问题不能让训练失败）。
        rng_states: 要存的随机数状态，默认取现在的；Ctrl-C 打断某一步时传这一步开始前的状态，续训时重做这一步。
    """
    config = state.config
    os.makedirs(config.out_dir, exist_ok=True)
    save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": state.step,
          "config": config.to_dict(), "model_config": dataclasses.asdict(state.model.config),
          "vocab": list(state.tokenizer.itos), "model": state.model.state_dict(),
          "optimizer": state.optimizer.state_dict(),
          # 学习率由步数算出（get_lr），不需要调度器；这一项记下一步用 lr(t) 的 t，与 WarmupCosineLR 的状态同名
          "scheduler": {"last_epoch": state.step + 1},
          "rng": rng_states or _rng_states(state.batch_rng), "history": state.history}, config.checkpoint_path)
    try:
        state.plot = plot_losses(state.history, config.plot_path, state.tokenizer.vocab_size)
    except Exception as e:  # noqa: BLE001  曲线只是附带的：画不出来（字体、后端……）不能让训练失败
        state.plot = None
        console.log(f"警告：损失曲线没有画成（{type(e).__name__}: {e}），检查点已保存。")


def _rng_states(batch_rng):
    """续训要恢复的两个随机数状态：取批量的 NumPy 生成器与全局生成器（dropout）。"""
    return {"batch": batch_rng.bit_generator.state, "global": default_generator.get_state()}


def _read_checkpoint(path):
    """读检查点并确认它是 ``train`` 写的 GPT 检查点；不是时抛出 ``CheckpointError``（中文说明）。"""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"找不到检查点文件 (checkpoint not found)：{path}。"
                                "提示：先运行 tinygrad-zh train，或用 --checkpoint 指定文件。")
    ckpt = load(path, map_location="cpu")
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        got = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path} 是 tg.save 写的文件，但不是 GPT 训练检查点（format 应为 "
                              f"{CHECKPOINT_FORMAT!r}，得到 {got!r}）。提示：用 tinygrad-zh train 生成的 ckpt.npz。")
    if not isinstance(ckpt.get("version"), int) or ckpt["version"] > CHECKPOINT_VERSION:
        raise CheckpointError(f"GPT 检查点 {path} 的版本 {ckpt.get('version')!r} 不受支持"
                              f"（本程序认 ≤ {CHECKPOINT_VERSION}）。提示：升级 tinygrad_zh。")
    required = ("step", "config", "model_config", "vocab", "model", "optimizer", "scheduler", "rng", "history")
    missing = [k for k in required if k not in ckpt]
    if missing:
        raise CheckpointError(f"GPT 检查点 {path} 不完整，缺少：{missing}。")
    vocab, v = ckpt["vocab"], ckpt["model_config"].get("vocab_size")
    if not isinstance(vocab, list) or len(vocab) != v or not vocab or vocab[0] != CharTokenizer.unk_token:
        raise CheckpointError(f"GPT 检查点 {path} 的词表与模型不符：词表 {len(vocab)} 项，模型 vocab_size={v}。")
    return ckpt


def checkpoint_config(path):
    """检查点里保存的训练配置（``TrainConfig``）：续训时命令行以它为底，只改显式给出的参数。"""
    return TrainConfig.from_dict(_read_checkpoint(path)["config"])


def load_checkpoint(path, device="auto"):
    """读 ``train`` 写的检查点，返回 ``(model, tokenizer, ckpt)``：模型在 ``device`` 上、处于评估模式。

    ckpt 是整个检查点字典（step、config、history、vocab……），采样时用不到优化器状态。

    例::

        >>> model, tok, ckpt = load_checkpoint("checkpoints/gpt/ckpt.npz", device="cpu")
        >>> idx = tg.tensor([tok.encode("新年")])
        >>> print(tok.decode(model.generate(idx, 20, temperature=0.8, top_k=50)[0]))
    """
    device = resolve_device(device)
    ckpt = _read_checkpoint(path)
    model = GPT(GPTConfig(**ckpt["model_config"]))
    model.load_state_dict(ckpt["model"])
    model.to(device)
    model.eval()
    return model, CharTokenizer(ckpt["vocab"][1:]), ckpt


@contextlib.contextmanager
def _defer_keyboard_interrupt():
    """把这段代码里按下的 Ctrl-C 推迟到它结束后再抛出：参数更新不会只做了一半就存进检查点。

    只在主线程里、且 Ctrl-C 由 Python 默认的处理函数接管时才这样做（Python 只在主线程处理信号；
    SIGINT 被忽略或另有处理函数时不去改它）。
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


# ---------------------------------------------------------------------------- 损失曲线

def plot_losses(history, path, vocab_size):
    """画训练损失（每步）与验证损失（每次评估），加一条 ln V 的水平线（均匀瞎猜的损失），存成 PNG。

    没装 matplotlib 时返回 None（训练照常进行）；否则返回图片路径。
    """
    try:
        import matplotlib.pyplot as plt  # 可选的重依赖：只在画图时导入，训练本身不需要它
    except ImportError:
        return None
    setup_font()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(history["step"], history["loss"], lw=0.8, alpha=0.6, label=label("训练损失（每步）", "train loss"))
    ax.plot(history["eval_step"], history["val_loss"], "o-", ms=3, label=label("验证损失", "val loss"))
    ax.axhline(math.log(vocab_size), color="gray", ls="--",
               label=label(f"ln V = {math.log(vocab_size):.2f}（均匀猜测）", f"ln V = {math.log(vocab_size):.2f}"))
    ax.set_xlabel(label("步", "step"))
    ax.set_ylabel(label("交叉熵（nats / 字符）", "cross-entropy (nats / char)"))
    ax.set_title(label("GPT 训练曲线", "GPT training curves"))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return os.fspath(path)
