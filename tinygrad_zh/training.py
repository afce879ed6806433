"""训练字符级中文 GPT：配置、数据、训练循环、检查点 (checkpoint) 与损失曲线。

``tinygrad-zh train`` 命令、第 15 课与第 18 课都用这里的 ``train``::

    >>> from tinygrad_zh.training import TrainConfig, train, load_checkpoint
    >>> result = train(TrainConfig(max_steps=200))          # 默认语料：人民日报 1998-01
    >>> result.val_loss, result.checkpoint                   # 验证损失（nats / 字符）与检查点路径
    >>> model, tokenizer, ckpt = load_checkpoint(result.checkpoint)

一次训练做的事:
    1. 读语料，用 ``CharTokenizer`` 编码；前 90% 做训练集，后 10% 做验证集（按位置切，不打乱：
       验证集是训练时没见过的连续文字）。
    2. 每一步从训练集的随机位置截 ``batch_size`` 段长 ``block_size + 1`` 的文字：前 T 个字是输入 x，
       后 T 个字是目标 y（x 右移一位）。随机位置由主机上的 NumPy 生成器给出，再把批量搬到设备上。
    3. 前向 → 交叉熵 → 反向 → 梯度裁剪 (gradient clipping) → AdamW → 学习率调度。
    4. 第 0 步、每 ``eval_interval`` 步与最后一步在**固定的**验证批量上求损失与困惑度 (perplexity)：
       批量只抽一次（固定种子），所以不同时刻、不同次运行的数字可以直接比较，续训时也完全一样。
    5. 每次评估后原子地 (atomic) 写检查点 ``out_dir/ckpt.npz`` 与损失曲线 ``out_dir/loss.png``。
       Ctrl-C 时先存检查点再退出；``train(config, resume=True)`` 从检查点逐位 (bit-for-bit) 一致地接着训练
       （CPU 上；GPU 上嵌入层反向的原子加法 (atomic add) 求和顺序不固定，续训只一致到舍入误差）。

学习率的第 0 步:
    ``WarmupCosineLR`` 在 t = 0 时 lr = 0（线性预热从 0 开始），如果第 0 步就用它，第一次更新什么也不改，
    白白浪费一步。nanoGPT 的 ``get_lr`` 用 ``lr·(it+1)/(warmup+1)`` 避开这一点。我们的做法是把调度整体
    提前一步：第 i 步（从 0 数）用 lr(i + 1)。于是第 0 步用 lr/W，第 W−1 步升到峰值 lr，
    之后余弦衰减，最后一步（i = max_steps − 1）正好用 min_lr。
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
from .optim.lr_scheduler import WarmupCosineLR
from .serialization import CheckpointError, atomic_write, load, save
from .training_config import (CPU_CONFIG, GPU_CONFIG, ConfigError, TrainConfig,  # noqa: F401  配置也从这里导出
                              preset, resolve_device)

CHECKPOINT_FORMAT = "tinygrad_zh.gpt_checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "ckpt.npz"
PLOT_NAME = "loss.png"
VAL_SEED = 0  # 固定验证批量的种子：与 config.seed 无关，不同种子的运行也在同一批文字上比较


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
    from .models.gpt import GPT, GPTConfig
    device = resolve_device(device)
    ckpt = _read_checkpoint(path)
    model = GPT(GPTConfig(**ckpt["model_config"]))
    model.load_state_dict(ckpt["model"])
    model.to(device)
    model.eval()
    return model, CharTokenizer(ckpt["vocab"][1:]), ckpt


def _rng_states(batch_rng):
    return {"batch": batch_rng.bit_generator.state, "global": default_generator.get_state()}


def _checkpoint(step, config, model, tokenizer, optimizer, scheduler, rng_states, history):
    return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": step,
            "config": config.to_dict(), "model_config": dataclasses.asdict(model.config),
            "vocab": list(tokenizer.itos), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "rng": rng_states, "history": history}


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
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from .viz import label, setup_font
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


# ---------------------------------------------------------------------------- 训练

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


# 续训时可以与检查点不同的字段：它们不影响训练轨迹
_RESUMABLE_CHANGES = ("eval_interval", "eval_batches", "device", "out_dir")


def _check_resume_config(config, saved, path):
    def same(name):
        a, b = getattr(config, name), getattr(saved, name)
        if name == "data" and a is not None and b is not None:
            return os.path.abspath(a) == os.path.abspath(b)
        return a == b
    changed = [f.name for f in dataclasses.fields(config) if f.name not in _RESUMABLE_CHANGES and not same(f.name)]
    if changed:
        detail = "，".join(f"{n}: 检查点 {getattr(saved, n)!r} → 现在 {getattr(config, n)!r}" for n in changed)
        raise ConfigError(f"不能从 {path} 续训 (resume)：这些配置与检查点不同：{detail}。续训只能改 "
                          f"{', '.join(_RESUMABLE_CHANGES)}。提示：去掉这些参数，或换一个 --out-dir 重新训练。")


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
    from .models.gpt import GPT, GPTConfig
    config = (config or CPU_CONFIG).replace()  # 副本：训练中不改调用者的对象
    config.validate()
    device = resolve_device(config.device)
    out_dir = config.out_dir
    ckpt_path = os.path.join(out_dir, CHECKPOINT_NAME)
    plot_path = os.path.join(out_dir, PLOT_NAME)
    ckpt = None
    if resume:
        ckpt = _read_checkpoint(ckpt_path)
        _check_resume_config(config, TrainConfig.from_dict(ckpt["config"]), ckpt_path)

    text = load_corpus(config.data)
    tokenizer, train_ids, val_ids = prepare_data(text, config.val_fraction, config.block_size)
    if ckpt is not None and ckpt["vocab"] != tokenizer.itos:
        raise ConfigError(f"不能从 {ckpt_path} 续训：语料的词表与检查点里的不同（语料文件变了？）。")

    manual_seed(config.seed)
    model = GPT(GPTConfig(block_size=config.block_size, vocab_size=tokenizer.vocab_size, n_layer=config.n_layer,
                          n_head=config.n_head, n_embd=config.n_embd, dropout=config.dropout, bias=config.bias))
    model.to(device)
    optimizer = model.configure_optimizers(config.weight_decay, config.learning_rate, (config.beta1, config.beta2))
    scheduler = WarmupCosineLR(optimizer, warmup_steps=config.warmup_steps, total_steps=config.max_steps,
                               min_lr=config.min_lr)
    scheduler.step()  # 提前一步：第 i 步用 lr(i + 1)，第 0 步不会是 lr = 0（见模块说明）
    batch_rng = np.random.default_rng(config.seed)
    history, step = _new_history(), 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        batch_rng.bit_generator.state = ckpt["rng"]["batch"]
        default_generator.set_state(ckpt["rng"]["global"])
        history, step = ckpt["history"], ckpt["step"]
    model.train()
    val_batches = fixed_batches(val_ids, config.block_size, config.batch_size, config.eval_batches, device)
    tokens_per_step = config.batch_size * config.block_size
    bar = _progress_bar(progress, config.max_steps, step)

    def log(text):  # flush：输出重定向到日志文件时也能随时看到进度
        if verbose:
            bar.write(text) if bar is not None else print(text, flush=True)

    log(f"设备 {device} ｜ 语料 {len(train_ids) + len(val_ids):,} 字符（训练 {len(train_ids):,} / 验证 "
        f"{len(val_ids):,}）｜ 词表大小 V = {tokenizer.vocab_size:,}（ln V = {math.log(tokenizer.vocab_size):.3f}）"
        f" ｜ 参数量 {model.get_num_params():,}（不含位置嵌入）")
    if ckpt is not None:
        log(f"从 {ckpt_path} 的第 {step} 步接着训练。")

    window = {"losses": [], "time": 0.0}   # 两次评估之间：训练损失与纯训练用时
    latest = {"plot": plot_path if os.path.exists(plot_path) else None}   # 最近一次画成的曲线

    def evaluate_and_record(step):
        val_loss = evaluate(model, val_batches)
        train_loss = float(np.mean(window["losses"])) if window["losses"] else math.nan
        speed = len(window["losses"]) * tokens_per_step / window["time"] if window["time"] > 0 else math.nan
        with _defer_keyboard_interrupt():  # 五列一起追加，不会只记了一半
            for key, value in (("eval_step", step), ("val_loss", val_loss), ("val_ppl", math.exp(val_loss)),
                               ("train_loss", train_loss), ("tokens_per_s", speed)):
                history[key].append(value)
            window.update(losses=[], time=0.0)
        speed_text = "" if math.isnan(speed) else f" ｜ {speed:,.0f} 词元/秒"
        train_text = "" if math.isnan(train_loss) else f" ｜ 训练损失 {train_loss:.4f}"
        log(f"步 {step:>5}{train_text} ｜ 验证损失 {val_loss:.4f} ｜ 困惑度 {math.exp(val_loss):,.1f}{speed_text}")
        return val_loss

    def save_all(rng_states):
        os.makedirs(out_dir, exist_ok=True)
        save(_checkpoint(step, config, model, tokenizer, optimizer, scheduler, rng_states, history), ckpt_path)
        try:
            latest["plot"] = plot_losses(history, plot_path, tokenizer.vocab_size)
        except Exception as e:  # noqa: BLE001  曲线只是附带的：画不出来（字体、后端……）不能让训练失败
            latest["plot"] = None
            log(f"警告：损失曲线没有画成（{type(e).__name__}: {e}），检查点已保存。")

    start = time.perf_counter()
    pending_rng = None  # 当前这一步开始前的随机数状态；这一步完成（提交）后为 None
    try:
        # 第 0 步先评估一次；续训时若上次恰好在评估中途被打断，补上这一步的评估
        is_eval_step = step == 0 or step % config.eval_interval == 0 or step == config.max_steps
        if is_eval_step and (not history["eval_step"] or history["eval_step"][-1] != step):
            evaluate_and_record(step)
            if step > 0:
                save_all(_rng_states(batch_rng))
        while step < config.max_steps:
            pending_rng = _rng_states(batch_rng)
            t0 = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            x, y = get_batch(train_ids, config.block_size, config.batch_size, batch_rng, device)
            _, loss = model(x, y)
            optimizer.zero_grad()
            loss.backward()
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            loss_value = loss.item()
            with _defer_keyboard_interrupt():  # “提交”这一步：参数、调度器、步数、记录一起变
                optimizer.step()
                scheduler.step()
                step += 1
                pending_rng = None
                for key, value in (("step", step), ("loss", loss_value), ("lr", lr)):
                    history[key].append(value)
            window["losses"].append(loss_value)
            window["time"] += time.perf_counter() - t0
            info = {"loss": loss_value, "lr": lr}
            if bar is not None:
                bar.update(1)
                speed = len(window["losses"]) * tokens_per_step / max(window["time"], 1e-9)
                bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.2e}", tok_s=f"{speed:,.0f}")
            if step % config.eval_interval == 0 or step == config.max_steps:
                info["val_loss"] = evaluate_and_record(step)
                info["val_ppl"] = math.exp(info["val_loss"])
                save_all(_rng_states(batch_rng))
            if callback is not None:
                callback(step, info)
    except KeyboardInterrupt:
        # 没做完的那一步作废：用它开始前的随机数状态，续训时从头重做这一步
        save_all(pending_rng or _rng_states(batch_rng))
        if bar is not None:
            bar.close()
        print(f"\n已中断 (KeyboardInterrupt)：第 {step} 步的检查点已保存到 {ckpt_path}。"
              f"接着训练：tinygrad-zh train --resume --out-dir {out_dir}")
        raise
    if bar is not None:
        bar.close()
    return TrainResult(model=model, tokenizer=tokenizer, config=config, history=history, step=step,
                       val_loss=history["val_loss"][-1], val_ppl=history["val_ppl"][-1], checkpoint=ckpt_path,
                       plot=latest["plot"], elapsed=time.perf_counter() - start)


def _progress_bar(progress, total, initial):
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    # disable=None：标准错误不是终端（日志文件、CI）时 tqdm 自动关闭，免得刷出成千上万行
    return tqdm(total=total, initial=initial, desc="训练 GPT", unit="步", dynamic_ncols=True, disable=None)
