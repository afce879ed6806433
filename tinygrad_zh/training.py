"""训练字符级中文 GPT：数据、学习率调度、训练循环、评估、检查点 (checkpoint) 与损失曲线。

``tinygrad-zh train`` 命令、第 15 课与第 18 课都用这里的 ``train``::

    >>> from tinygrad_zh.training import TrainConfig, train, load_checkpoint
    >>> result = train(TrainConfig(max_steps=200))          # 默认语料：人民日报 1998-01
    >>> result.val_loss, result.checkpoint                   # 验证损失（nats / 字符）与检查点路径
    >>> model, tokenizer, ckpt = load_checkpoint(result.checkpoint)

一次训练做的事（``train`` 从上到下就是这个顺序）:
    1. 占住输出目录：建好 ``out_dir``，取得锁文件 (lock file) ``out_dir/.train.lock``（同一个目录同时只能有
       一个训练；上一次运行被杀掉留下的锁与临时文件在这里接管、清理）。
    2. 读语料，用 ``CharTokenizer`` 编码；前 90% 做训练集，后 10% 做验证集（按位置切，不打乱：
       验证集是训练时没见过的连续文字）。估计模型要多少内存，明显放不下时在分配之前就报错。
       新建模型与优化器；续训时从检查点恢复全部状态（语料的内容哈希必须与检查点记录的相同）。
    3. 每一步从训练集的随机位置截 ``batch_size`` 段长 ``block_size + 1`` 的文字：前 T 个字是输入 x，
       后 T 个字是目标 y（x 右移一位）。随机位置由主机上的 NumPy 生成器给出，再把批量搬到设备上。
    4. 设学习率（``get_lr``）→ 前向 → 交叉熵 → 反向 → 梯度裁剪 (gradient clipping) → AdamW 更新
       （``train_step``）。这一步里没有一处要等 GPU：损失与梯度范数留在设备上，每 ``log_interval`` 步
       （以及评估、保存之前）才一起取回主机，打印进度、记进 history。
       损失或梯度范数不是有限数（nan / inf）时停止（``NonFiniteError``），不写检查点：取回时发现，报告
       第一个坏掉的步；检查点只在取回并核对之后才写。``skip_nonfinite=N`` 允许跳过至多 N 个这样的步
       （不更新参数），像大规模训练那样容忍偶尔的坏批量——要在更新之前知道这一步坏没坏，所以这时每步取回一次。
    5. 第 0 步、每 ``eval_interval`` 步与最后一步在**固定的**验证批量上求损失与困惑度 (perplexity)：
       批量只抽一次（固定种子），所以不同时刻、不同次运行的数字可以直接比较，续训时也完全一样。
    6. 每次评估后原子地 (atomic) 写检查点 ``out_dir/ckpt.npz`` 与损失曲线 ``out_dir/loss.png``。
       Ctrl-C 或 SIGTERM（``kill``、``timeout``、作业调度器、容器停止）时先存检查点再退出；
       ``train(config, resume=True)`` 从检查点逐位 (bit-for-bit) 一致地接着训练
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
import hashlib
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from . import backend, nn
from . import distributed as dist
from .autograd import no_grad
from .creation import default_generator, manual_seed, tensor
from .tensor import Tensor
from .data import CharTokenizer, load_people_daily, load_text
from .models.gpt import GPT, GPTConfig
from .serialization import CheckpointError, atomic_write, load, remove_stale_temp_files, save
from .training_config import (CHECKPOINT_NAME, CPU_CONFIG, GPU_CONFIG, LOCK_NAME, PLOT_NAME,  # noqa: F401  配置也从这里导出
                              ConfigError, TrainConfig, preset, resolve_device)
from .run_guard import (TrainingTerminated, available_memory, check_memory, defer_signals,  # noqa: F401  也从这里导出
                        estimate_memory, format_bytes, remove_stale_files, run_lock, sigterm_as_interrupt)
from .viz import label, setup_font

try:
    from tqdm import tqdm
except ImportError:  # 进度条是可选的：没装 tqdm 时照常训练，只是不显示
    tqdm = None


CHECKPOINT_FORMAT = "tinygrad_zh.gpt_checkpoint"
CHECKPOINT_VERSION = 1
VAL_SEED = 0  # 固定验证批量的种子：与 config.seed 无关，不同种子的运行也在同一批文字上比较


class NonFiniteError(RuntimeError):
    """训练发散 (diverged)：损失或梯度范数不是有限数（nan / inf）。

    训练立即停止，不写检查点：``out_dir`` 里保留的是最后一个正常的检查点。命令行的退出码是 1。
    """


# ---------------------------------------------------------------------------- 训练循环

LOG_INTERVAL = 10  # 默认每 10 步把损失取回主机一次（nanoGPT 的 log_interval）


def train(config=None, resume=False, progress=True, callback=None, verbose=True, overwrite=True, skip_nonfinite=0,
          log_interval=LOG_INTERVAL):
    """按配置训练 GPT，返回 ``TrainResult``。

    参数:
        config: ``TrainConfig``（默认 ``CPU_CONFIG``）。语料路径 ``data`` 按绝对路径记进检查点，
            在别的工作目录里续训也找得到。
        resume: True 时从 ``out_dir/ckpt.npz`` 接着训练（逐位一致）；配置只许改 eval_interval、
            eval_batches、device、out_dir，以及 data 的路径（内容必须相同：按 SHA-256 比较）。
        progress: 是否显示 tqdm 进度条（损失、学习率、词元/秒）；没装 tqdm 时不显示。
        callback: 每步之后调用 ``callback(step, info)``，info 含 loss、lr，评估的那一步还有 val_loss、val_ppl。
            在回调里抛出 ``KeyboardInterrupt`` 与按 Ctrl-C 效果相同。
        verbose: 是否打印开头的概况与每次评估的结果。
        overwrite: 不续训时，``out_dir`` 里已有的检查点能否被这次运行覆盖。True（默认，课程脚本反复运行要用）：
            第一次保存时覆盖；False（命令行不加 ``--overwrite`` 时）：已有检查点就报 ``ConfigError``，什么也不动。
        skip_nonfinite: 至多跳过多少个损失或梯度范数不是有限数的步（跳过 = 不更新参数，步数照常前进）；
            默认 0：出现就抛出 ``NonFiniteError``。
        log_interval: 每多少步把损失与梯度范数取回主机（更新进度条、检查是否有限）。GPU 上每取一次都要等
            GPU 算完，所以不每步取。给了 ``callback`` 或 ``skip_nonfinite > 0`` 时每步都要知道损失，按 1 算。

    Ctrl-C (KeyboardInterrupt) 与 SIGTERM (``TrainingTerminated``): 把已完成的步数存进检查点、打印路径，
    然后重新抛出。还没有完成新的一步时不写检查点（不会用第 0 步的模型覆盖别的运行）。

    数据并行（``mpiexec -n N`` 启动、已 ``dist.init_process_group``）：每一步的批量与一个进程时相同
    （同一个随机数生成器取出 batch_size 段），第 r 个进程只算其中第 r 份（batch_size / N 段），梯度在
    ``DistributedDataParallel`` 里平均，记录的损失是整个批量的平均——损失曲线与一个进程时相同（到舍入误差）。
    只有 0 号进程加锁、打印、评估、写检查点；检查点与进程数无关，``resume`` 可以换一个 N。
    任何一个进程收到 Ctrl-C / SIGTERM，所有进程在下一步开始前一起停下（0 号进程写检查点）。
    ``callback`` 在每个进程上都被调用，它抛出的 ``KeyboardInterrupt`` 要在所有进程上一致。
    """
    config = _checked_config(config, skip_nonfinite)
    if isinstance(log_interval, bool) or not isinstance(log_interval, int) or log_interval < 1:
        raise ConfigError(f"log_interval 应是 ≥ 1 的整数，得到 {log_interval!r}。")
    if callback is not None or skip_nonfinite > 0:
        log_interval = 1
    device = resolve_device(config.device)
    dp = dist.process_group.default_group() if dist.is_initialized() and dist.get_world_size() > 1 else None
    rank0 = dp is None or dp.rank == 0   # 数据并行时只有 0 号进程加锁、打印、评估、写检查点
    if not rank0:
        progress = verbose = False
    check_out_dir(config, resume, overwrite)  # 先检查，什么也不动
    with contextlib.ExitStack() as stack:
        stop = stack.enter_context(dist.StopRequest()) if dp is not None else None   # 信号只记下，各进程一起停
        stack.enter_context(sigterm_as_interrupt())
        with dist.all_ranks_succeed(dp, "加锁时"):
            lock = stack.enter_context(run_lock(config.out_dir)) if rank0 else None
        state = console = pending = None
        rng_before_step = None  # 当前这一步开始前的随机数状态；这一步完成（提交）后为 None
        try:
            with dist.all_ranks_succeed(dp, "准备训练时"):
                check_out_dir(config, resume, overwrite)  # 拿到锁以后再查一次：检查点是否在这之间出现了
                state, train_ids, val_batches = start_run(config, resume, device, lock)
                model, optimizer = data_parallel(state, dp), state.optimizer
            console = _Console(progress, verbose, total=config.max_steps, initial=state.step)
            for note in state.notes:
                console.log(note)
            stats = _IntervalStats(tokens_per_step=config.batch_size * config.block_size)
            pending = _PendingSteps()   # 做完了、损失还在设备上的步
            start = time.perf_counter()
            skipped = 0
            # 第 0 步先评估一次；续训时若上次恰好在评估中途被打断，补上这一步的评估
            if is_eval_step(state.step, config) and state.history["eval_step"][-1:] != [state.step]:
                with dist.all_ranks_succeed(dp, "评估时"):
                    if rank0:
                        evaluate_and_save(state, val_batches, stats, console)
            while state.step < config.max_steps:
                code = stop.agreed(dp) if stop is not None else 0   # 有进程收到了 Ctrl-C / SIGTERM 吗
                if code:   # 所有进程在同一步前一起停
                    raise TrainingTerminated if code == dist.launcher.STOP_SIGTERM else KeyboardInterrupt
                rng_before_step = _rng_states(state.batch_rng)
                t0 = time.perf_counter()
                lr = get_lr(state.step, config)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                x, y = get_batch(train_ids, config.block_size, config.batch_size, state.batch_rng, device)
                if dp is not None:   # 整个批量的第 r 份
                    share = config.batch_size // dp.world_size
                    x, y = x[dp.rank * share:(dp.rank + 1) * share], y[dp.rank * share:(dp.rank + 1) * share]
                # 参数的更新放在下面“提交”的那一块里：Ctrl-C 不会打断在更新与步数之间
                loss, grad_norm = train_step(model, optimizer, x, y, config.grad_clip, update=False)
                if dp is not None:   # 记录整个批量的平均损失（各进程样本数相同：各自的平均再平均）
                    dist.all_reduce(loss, dist.ReduceOp.AVG, group=dp)
                if log_interval == 1:  # 每步都取回：先看这一步是否有限，再决定更新与否
                    loss_value, norm_value = _fetch_pair(loss, grad_norm)
                    finite = math.isfinite(loss_value) and math.isfinite(norm_value)
                    if not finite:  # 发散：停下（或在允许的次数内跳过这一步）
                        skipped = skip_or_stop(state, console, loss_value, norm_value, lr, skipped, skip_nonfinite)
                    with defer_signals():  # “提交”这一步：参数、步数、记录一起变，不会只做了一半
                        if finite:
                            optimizer.step()
                        state.step += 1
                        _append(state.history, step=state.step, loss=loss_value, lr=lr)
                        rng_before_step = None
                    if finite:
                        stats.add(loss_value, time.perf_counter() - t0)
                    console.step(loss_value, lr, stats.tokens_per_s())
                else:
                    with defer_signals():  # 不等损失取回就更新：坏掉的步在取回时发现，之前不写检查点
                        optimizer.step()
                        state.step += 1
                        _append(state.history, step=state.step, loss=math.nan, lr=lr)   # 损失取回时填上
                        rng_before_step = None
                    pending.add(state.step, loss, grad_norm, lr, time.perf_counter() - t0)
                    console.step(None, lr, stats.tokens_per_s())
                    if state.step % log_interval == 0 or is_eval_step(state.step, config):
                        pending.flush(state, stats, console)
                info = {"loss": loss_value if log_interval == 1 else None, "lr": lr}
                if is_eval_step(state.step, config):
                    with dist.all_ranks_succeed(dp, "评估或保存检查点时"):
                        if rank0:
                            info.update(evaluate_and_save(state, val_batches, stats, console))
                if callback is not None:
                    callback(state.step, info)
        except KeyboardInterrupt as interrupt:  # 含 SIGTERM（TrainingTerminated）
            if console is not None:
                console.close()
            if pending is not None and pending.steps:  # 存检查点之前先取回并核对还在设备上的损失
                with defer_signals(reraise=False):
                    pending.flush(state, stats, console)
            if rank0:
                _save_on_interrupt(state, config, console, rng_before_step, interrupt)
            if dp is not None:
                dp.barrier()   # 别的进程等 0 号进程写完检查点再一起退出
            raise
        except BaseException:
            if console is not None:
                console.close()
            raise
        console.close()
        if dp is not None:   # 评估记录只在 0 号进程上：发给每个进程，大家返回同样的结果
            state.history = dp.broadcast_object(state.history, 0)
        return state.result(elapsed=time.perf_counter() - start)


def train_step(model, optimizer, x, y, grad_clip, update=True):
    """训练的一步：前向 → 交叉熵 → 反向 → 梯度裁剪 →（``update`` 时）AdamW 更新。

    返回 ``(loss, grad_norm)``：两个 0 维张量，**留在设备上**（裁剪前的梯度总范数）。这里没有一处把数
    取回主机，GPU 上 CPU 只管发射核函数，不等 GPU；要看数时调用者自己 ``.item()``（就在那里等一次）。
    ``grad_clip`` = 0 表示不裁剪：阈值为 ∞，梯度乘以 1，数值不变。
    """
    _, loss = model(x, y)
    optimizer.zero_grad()
    loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), grad_clip if grad_clip > 0 else math.inf)
    if update:
        optimizer.step()
    return loss, grad_norm


def data_parallel(state, group):
    """数据并行时把模型包进 ``DistributedDataParallel``（广播 0 号进程的参数）；一个进程时原样返回。

    检查点存的仍是 ``state.model``（没有 ``module.`` 前缀），所以检查点与进程数无关。
    dropout 的随机数：各进程用不同的流（由种子、进程号与起始步数决定），否则各进程的掩码一模一样。
    """
    if group is None:
        return state.model
    config = state.config
    if config.batch_size % group.world_size:
        raise ConfigError(f"batch_size {config.batch_size} 不能被进程数 {group.world_size} 整除：数据并行时每个进程算"
                          f"同样多的序列。提示：把 --batch-size 改成 {group.world_size} 的倍数。")
    if config.dropout > 0 and group.rank > 0:
        seed = np.random.SeedSequence([config.seed, group.rank, state.step]).generate_state(1)[0]
        default_generator.manual_seed(int(seed))
    state.notes.append(f"数据并行 (data parallel)：{group.world_size} 个进程（后端 {group.name}），每个进程每步 "
                       f"{config.batch_size // group.world_size} 段，合起来批量 {config.batch_size}。")
    return dist.DistributedDataParallel(state.model, process_group=group)


def _fetch_pair(loss, grad_norm):
    """把损失与梯度范数一起取回主机：两个 Python float，只同步一次。"""
    xp = loss.xp
    pair = backend.to_numpy(xp.stack([loss.data.astype(xp.float64), grad_norm.data.astype(xp.float64)]))
    return float(pair[0]), float(pair[1])


class _PendingSteps:
    """已经做完、损失与梯度范数还在设备上的步：``flush`` 一次取回，填进 history，检查是否有限。"""

    def __init__(self):
        self.steps, self.losses, self.norms, self.lrs, self.seconds = [], [], [], [], []

    def add(self, step, loss, grad_norm, lr, seconds):
        self.steps.append(step)
        self.losses.append(loss.data)   # 只留数组，不留张量：不让计算图活得更久
        self.norms.append(grad_norm.data)
        self.lrs.append(lr)
        self.seconds.append(seconds)

    def flush(self, state, stats, console):
        """取回（一次同步），填进 history 与速度统计，更新进度条；有非有限的值时抛出 ``NonFiniteError``。

        返回最后一步的损失。
        """
        t0 = time.perf_counter()
        xp = backend.get_array_module(self.losses[0])
        values = backend.to_numpy(xp.stack([xp.stack(self.losses).astype(xp.float64),
                                            xp.stack(self.norms).astype(xp.float64)]))
        self.seconds[-1] += time.perf_counter() - t0   # 等 GPU 的时间也算进训练用时
        pending = list(zip(self.steps, values[0].tolist(), values[1].tolist(), self.lrs, self.seconds))
        self.__init__()
        for step, loss_value, norm_value, lr, seconds in pending:
            state.history["loss"][step - 1] = loss_value
            if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
                # 参数已经被这一步（及之后的步）更新坏了：停下，不写检查点
                raise NonFiniteError(_nonfinite_message(state, loss_value, norm_value, lr, 0, step=step))
            stats.add(loss_value, seconds)
        console.show(pending[-1][1], pending[-1][3], stats.tokens_per_s())
        return pending[-1][1]


def _checked_config(config, skip_nonfinite):
    """配置的副本（构造时校验，训练中不改调用者的对象）；语料路径换成绝对路径，在别的目录里续训也找得到。"""
    config = (config or CPU_CONFIG).replace()
    if config.data is not None:
        config = config.replace(data=os.path.abspath(config.data))
    if isinstance(skip_nonfinite, bool) or not isinstance(skip_nonfinite, int) or skip_nonfinite < 0:
        raise ConfigError(f"skip_nonfinite 应是 ≥ 0 的整数，得到 {skip_nonfinite!r}。")
    return config


def start_run(config, resume, device, lock):
    """读数据（续训时核对内容没变）、估算内存、建模型与优化器、恢复检查点。

    返回 (state, 训练集词元, 固定的验证批)。``state.notes`` 是开头要打印的几行（接管的锁、清掉的临时文件、概况）。
    """
    notes = lock.notes + remove_stale_files(config) if lock is not None else []   # 数据并行时只有 0 号进程持锁、清理
    ckpt = read_resume_checkpoint(config) if resume else None
    text = _load_corpus_for(config, ckpt)
    data_info = describe_data(config.data, text)
    if ckpt is not None:
        check_same_data(ckpt, data_info, config.checkpoint_path)
    tokenizer, train_ids, val_ids = prepare_data(text, config.val_fraction, config.block_size)
    del text
    check_memory(config, tokenizer.vocab_size, device)
    model, optimizer = build_model_and_optimizer(config, tokenizer.vocab_size, device)
    state = TrainState(config, model, tokenizer, optimizer, batch_rng=np.random.default_rng(config.seed),
                       data_info=data_info)
    if ckpt is not None:
        restore_state(state, ckpt)
    model.train()
    val_batches = fixed_batches(val_ids, config.block_size, config.batch_size, config.eval_batches, device)
    state.notes = notes + [_describe_run(state, device, len(train_ids), len(val_ids), resumed=resume)]
    return state, train_ids, val_batches


def skip_or_stop(state, console, loss_value, grad_norm, lr, skipped, skip_nonfinite):
    """这一步的损失或梯度范数不是有限数：还有跳过的额度就警告并返回新的计数，否则抛 ``NonFiniteError``。"""
    if skipped >= skip_nonfinite:
        raise NonFiniteError(_nonfinite_message(state, loss_value, grad_norm, lr, skip_nonfinite))
    skipped += 1
    console.log(f"警告：第 {state.step + 1} 步的损失 (loss) 是 {loss_value}、梯度范数 (gradient norm) 是 "
                f"{grad_norm}，不是有限数：跳过这一步，不更新参数（--skip-nonfinite 还剩 "
                f"{skip_nonfinite - skipped} 次）。")
    return skipped


def _nonfinite_message(state, loss_value, grad_norm, lr, skip_nonfinite, step=None):
    """训练发散时的一行说明：哪一步（默认是正要做的下一步）、什么值、检查点的情况、怎么办。"""
    step = state.step + 1 if step is None else step
    path = state.config.checkpoint_path
    if state.saved_step is not None and os.path.exists(path):
        kept = f"{path} 里仍是最后一个正常的检查点（第 {state.saved_step} 步）"
    elif os.path.exists(path):
        kept = f"{path} 里原有的检查点没有改动"
    else:
        kept = "还没有保存过检查点"
    skipped = f"已经跳过了 {skip_nonfinite} 步（--skip-nonfinite {skip_nonfinite}），" if skip_nonfinite else ""
    return (f"训练发散 (diverged)：第 {step} 步的损失 (loss) 是 {loss_value}、梯度范数 (gradient norm) 是 "
            f"{grad_norm}，不是有限数；{skipped}训练已停止，没有写检查点，{kept}。提示：调小学习率（这一步用的 lr = {lr:g}），"
            "打开梯度裁剪（--grad-clip 1），或用 --skip-nonfinite N 跳过偶尔出现的坏批量。")


def _save_on_interrupt(state, config, console, rng_states, interrupt):
    """Ctrl-C / SIGTERM 时：有新完成的步就存检查点（没做完的那一步作废，续训时从头重做），再打印怎么接着训练。"""
    what = "已终止 (SIGTERM)" if isinstance(interrupt, TrainingTerminated) else "已中断 (KeyboardInterrupt)"
    path, again = config.checkpoint_path, f"接着训练：tinygrad-zh train --resume --out-dir {config.out_dir}"
    if state is None or state.step == 0:
        untouched = f"（{path} 里原有的检查点没有改动）" if os.path.exists(path) else ""
        print(f"\n{what}：还没有完成任何一步，没有写检查点{untouched}。", flush=True)
    elif state.step == state.saved_step:
        print(f"\n{what}：第 {state.step} 步的检查点已在 {path}，不用重写。{again}", flush=True)
    else:
        print(f"\n{what}：正在保存第 {state.step} 步的检查点……（再按 Ctrl-C 也会等它写完）", flush=True)
        with defer_signals(reraise=False):
            save_checkpoint(state, console, rng_states)
        print(f"第 {state.step} 步的检查点已保存到 {path}。{again}", flush=True)


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
        data_info: 语料的路径、字符数与 SHA-256（``describe_data``）：存进检查点，续训时核对语料没有变。
        saved_step: out_dir 里的检查点是第几步的（这次运行保存过或从它续训）；None 表示还没有。
        notes: 开始训练时要打印的几行（接管的锁、清掉的临时文件、运行概况）。
    """

    config: TrainConfig
    model: GPT
    tokenizer: CharTokenizer
    optimizer: object
    batch_rng: np.random.Generator
    step: int = 0
    history: dict = field(default_factory=_new_history)
    plot: str | None = None
    data_info: dict | None = None
    saved_step: int | None = None
    notes: list = field(default_factory=list)

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


# 续训时可以与检查点不同的字段：它们不影响训练轨迹（data 只许改路径：内容由 check_same_data 按哈希核对）
_RESUMABLE_CHANGES = ("eval_interval", "eval_batches", "device", "out_dir")


def check_out_dir(config, resume, overwrite):
    """开始之前检查输出目录：是文件不是目录、续训却没有检查点、不续训又不许覆盖却已有检查点，都在这里报错。"""
    out_dir, path = config.out_dir, config.checkpoint_path
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ConfigError(f"输出目录 (out-dir) {out_dir} 已经存在，但它是文件，不是目录。提示：用 --out-dir 换一个目录。")
    existing = os.path.abspath(out_dir)   # 离它最近的已经存在的上级：能不能在那里建目录、写文件
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"无法创建输出目录 (out-dir) {out_dir}：路径中的 {existing} 是文件，不是目录。"
                          "提示：用 --out-dir 换一个目录。")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"无法写入输出目录 (out-dir) {out_dir}：对 {existing} 没有写入权限 (permission denied)。"
                          "提示：用 --out-dir 换一个可写的目录。")
    if resume:
        if not os.path.exists(path):
            raise FileNotFoundError(f"找不到检查点文件 (checkpoint not found)：{path}。"
                                    "提示：先运行 tinygrad-zh train，或用 --out-dir 指定检查点所在的目录。")
    elif not overwrite and os.path.exists(path):
        raise ConfigError(f"输出目录 (out-dir) {out_dir} 里已有检查点 {path}：接着训练请加 --resume，"
                          "从头训练并覆盖它请加 --overwrite，或用 --out-dir 换一个目录。")


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
    """续训时比较一个配置字段。语料都是文件时路径可以不同（文件搬了家、旧检查点记的是相对路径）：
    内容由 ``check_same_data`` 按 SHA-256 核对，旧检查点没有哈希时由词表比较兜底。"""
    if name == "data" and a is not None and b is not None:
        return True
    return a == b


def describe_data(data, text):
    """语料的记录：``{"path": 绝对路径或 None（内置语料）, "chars": 字符数, "sha256": 内容的 SHA-256}``。"""
    return {"path": None if data is None else os.path.abspath(data), "chars": len(text),
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def _data_name(info):
    return "内置的人民日报语料" if info.get("path") is None else f"文件 {info['path']}"


def check_same_data(ckpt, info, path):
    """续训时确认语料与检查点记录的内容相同（SHA-256）；旧检查点没有记录时由词表比较兜底。"""
    saved = ckpt.get("data")
    if saved is None or saved["sha256"] == info["sha256"]:
        return
    raise ConfigError(f"不能从 {path} 续训：语料变了 (data changed)：检查点训练时用的是{_data_name(saved)}"
                      f"（{saved['chars']:,} 个字符，sha256 {saved['sha256'][:12]}…），现在的{_data_name(info)}有 "
                      f"{info['chars']:,} 个字符（sha256 {info['sha256'][:12]}…）。续训必须用同一份语料。"
                      "提示：换回原来的文件（--data 给出它的位置），或换一个 --out-dir 重新训练。")


def _load_corpus_for(config, ckpt):
    """读训练语料；续训时找不到检查点记录的语料文件，提示用 --data 给出它的新位置。"""
    if ckpt is not None and config.data is not None and not os.path.exists(config.data):
        saved = ckpt.get("data") or {}
        known = (f"（训练时它有 {saved['chars']:,} 个字符，sha256 {saved['sha256'][:12]}…）"
                 if "sha256" in saved else "")
        raise ConfigError(f"续训需要检查点记录的语料文件 {config.data}，但找不到它{known}。"
                          "提示：文件搬了家就用 --data 给出它现在的位置（内容必须相同）。")
    return load_corpus(config.data)


def restore_state(state, ckpt):
    """把检查点里的权重、优化器状态、随机数状态、步数与历史装回 ``state``，续训因此逐位一致。"""
    path = state.config.checkpoint_path
    if ckpt["vocab"] != state.tokenizer.itos:
        raise ConfigError(f"不能从 {path} 续训：语料的词表与检查点里的不同（语料文件变了？）。")
    _load_weights(state.model, ckpt["model"], path)
    try:
        state.optimizer.load_state_dict(ckpt["optimizer"])
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise CheckpointError(f"GPT 检查点 {path} 的字段 optimizer 无效：{e}") from None
    state.batch_rng.bit_generator.state = ckpt["rng"]["batch"]
    default_generator.set_state(ckpt["rng"]["global"])
    state.step, state.history, state.saved_step = ckpt["step"], ckpt["history"], ckpt["step"]


def evaluate_and_save(state, val_batches, stats, console):
    """在固定验证批量上评估，连同这段区间的平均训练损失与速度记进 history、打印一行，再保存检查点。

    第 0 步只评估不保存：还没训练，也不该一开始就覆盖 out_dir 里上一次运行的检查点。
    验证损失不是有限数时抛出 ``NonFiniteError``，不保存（out_dir 里保留上一个正常的检查点）。

    返回:
        ``{"val_loss": …, "val_ppl": …}``（给 ``train`` 的回调）。
    """
    val_loss = evaluate(state.model, val_batches)
    if not math.isfinite(val_loss):
        raise NonFiniteError(f"训练发散 (diverged)：第 {state.step} 步评估时验证损失 (val loss) 是 {val_loss}，"
                             f"不是有限数；训练已停止，没有写检查点。提示：调小学习率，或打开梯度裁剪（--grad-clip 1）。")
    val_ppl = perplexity_of(val_loss)
    train_loss, speed = stats.mean_loss(), stats.tokens_per_s()
    with defer_signals():  # 五列一起追加，不会只记了一半
        _append(state.history, eval_step=state.step, val_loss=val_loss, val_ppl=val_ppl,
                train_loss=train_loss, tokens_per_s=speed)
        stats.reset()
    speed_text = "" if math.isnan(speed) else f" ｜ {speed:,.0f} 词元/秒"
    train_text = "" if math.isnan(train_loss) else f" ｜ 训练损失 {train_loss:.4f}"
    console.log(f"步 {state.step:>5}{train_text} ｜ 验证损失 {val_loss:.4f} ｜ 困惑度 {format_perplexity(val_ppl)}"
                f"{speed_text}")
    if state.step > 0:
        save_checkpoint(state, console)
    return {"val_loss": val_loss, "val_ppl": val_ppl}


def perplexity_of(loss):
    """困惑度 = exp(平均交叉熵)；损失很大时 exp 溢出，给出 inf 而不是抛出 OverflowError。"""
    try:
        return math.exp(loss)
    except OverflowError:
        return math.inf


def format_perplexity(ppl):
    """把困惑度写成便于阅读的文字：不到一百万写成 ``1,234.5``，更大的用科学计数法，溢出的写明。"""
    if math.isnan(ppl):
        return "nan"
    if math.isinf(ppl):
        return "∞（exp 溢出 (overflow)）"
    return f"{ppl:,.1f}" if ppl < 1e6 else f"{ppl:.3e}"


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
        """进度条前进一步；知道这一步的损失时（不是 None）一并显示损失、学习率与速度。"""
        if self.bar is not None:
            self.bar.update(1)
            if loss is not None:
                self.show(loss, lr, tokens_per_s)

    def show(self, loss, lr, tokens_per_s):
        """在进度条上显示最近取回的损失、学习率与速度。"""
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{tokens_per_s:,.0f}")

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


# ---------------------------------------------------------------------------- 数据

def load_corpus(data=None):
    """训练用的文本：``None`` 是内置的人民日报 1998-01 语料，否则读 UTF-8 文本文件。

    只读普通文件（``/dev/zero``、管道之类会无穷无尽地读下去）；文件大到读进来明显放不下时，读之前就报错。
    """
    if data is None:
        return load_people_daily()
    path = os.fspath(data)
    if os.path.exists(path) and not os.path.isdir(path):
        if not os.path.isfile(path):
            raise ConfigError(f"语料 {path} 不是普通文件 (regular file)（是设备、管道或套接字），不能当训练文本读。"
                              "提示：--data 给一个 UTF-8 文本文件。")
        size, available = os.path.getsize(path), available_memory()
        if available is not None and 4 * size > available:  # 字节 + 解码后的字符串 + int64 编号，至少 4 倍
            raise ConfigError(f"语料 {path} 有 {format_bytes(size)}，读入并编码至少需要 {format_bytes(4 * size)} 内存，"
                              f"这台机器现在只有 {format_bytes(available)} 可用。提示：换一个小一些的文本文件。")
    return load_text(path)


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
    index = starts[:, None] + np.arange(block_size + 1)      # (B, T + 1)：每段的下标
    block = tensor(ids[index], device=device).data           # 一次搬到设备上，x、y 是它的两个视图
    return Tensor(block[:, :-1]), Tensor(block[:, 1:])


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
            losses = [model(x, y)[1].data for x, y in batches]
            xp = backend.get_array_module(losses[0])
            host = backend.to_numpy(xp.stack(losses))   # 全部算完再一起取回：只等 GPU 一次
    finally:  # 评估中途按 Ctrl-C 也要回到原来的模式
        model.train(was_training)
    return float(np.mean(host.astype(np.float64)))


# ---------------------------------------------------------------------------- 检查点

def save_checkpoint(state, console, rng_states=None):
    """原子地写检查点 ``out_dir/ckpt.npz``，再重画旁边的损失曲线 ``out_dir/loss.png``。

    参数:
        state: ``TrainState``：检查点存下它的全部内容，外加配置、模型结构、词表与语料的记录。
        console: 曲线画不成时在这里打印警告（曲线只是附带的，字体、后端出问题不能让训练失败）。
        rng_states: 要存的随机数状态，默认取现在的；Ctrl-C 打断某一步时传这一步开始前的状态，续训时重做这一步。

    参数里有 nan / inf 时不写（抛出 ``NonFiniteError``）：坏掉的模型不会覆盖上一个正常的检查点。
    """
    config = state.config
    bad = _first_nonfinite_parameter(state.model)
    if bad is not None:
        raise NonFiniteError(f"训练发散 (diverged)：第 {state.step} 步的参数 {bad} 里有 nan / inf，没有写检查点"
                             f"（{config.checkpoint_path} 保持原样）。提示：调小学习率，或打开梯度裁剪（--grad-clip 1）。")
    os.makedirs(config.out_dir, exist_ok=True)
    ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": state.step,
            "config": config.to_dict(), "model_config": dataclasses.asdict(state.model.config),
            "vocab": list(state.tokenizer.itos), "model": state.model.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            # 学习率由步数算出（get_lr），不需要调度器；这一项记下一步用 lr(t) 的 t，与 WarmupCosineLR 的状态同名
            "scheduler": {"last_epoch": state.step + 1},
            "rng": rng_states or _rng_states(state.batch_rng), "history": state.history}
    if state.data_info is not None:
        ckpt["data"] = state.data_info
    save(ckpt, config.checkpoint_path)
    state.saved_step = state.step
    try:
        state.plot = plot_losses(state.history, config.plot_path, state.tokenizer.vocab_size)
    except Exception as e:  # noqa: BLE001  曲线只是附带的：画不出来（字体、后端……）不能让训练失败
        state.plot = None
        if console is not None:
            console.log(f"警告：损失曲线没有画成（{type(e).__name__}: {e}），检查点已保存。")


def _first_nonfinite_parameter(model):
    """第一个含 nan / inf 的参数的名字；都正常时 None（所有参数只同步一次）。"""
    named = list(model.named_parameters())
    if not named:
        return None
    xp = backend.get_array_module(named[0][1].data)
    flags = backend.to_numpy(xp.stack([xp.all(xp.isfinite(p.data)) for _, p in named]))
    bad = [name for (name, _), ok in zip(named, flags) if not ok]
    return bad[0] if bad else None


def _rng_states(batch_rng):
    """续训要恢复的两个随机数状态：取批量的 NumPy 生成器与全局生成器（dropout）。"""
    return {"batch": batch_rng.bit_generator.state, "global": default_generator.get_state()}


_REQUIRED = ("step", "config", "model_config", "vocab", "model", "optimizer", "scheduler", "rng", "history")


def _read_checkpoint(path):
    """读检查点并确认它是 ``train`` 写的、结构与类型都对的 GPT 检查点；不是时抛出 ``CheckpointError``。"""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"找不到检查点文件 (checkpoint not found)：{path}。提示：先运行 tinygrad-zh train；"
                                "续训时用 --out-dir 指定检查点所在的目录，采样时用 --checkpoint 指定文件。")
    ckpt = load(path, map_location="cpu")
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        got = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path} 是 tg.save 写的文件，但不是 GPT 训练检查点（format 应为 "
                              f"{CHECKPOINT_FORMAT!r}，得到 {_short(got)}）。提示：用 tinygrad-zh train 生成的 ckpt.npz。")
    version = ckpt.get("version")
    if not _is_int(version) or not 1 <= version <= CHECKPOINT_VERSION:
        raise CheckpointError(f"GPT 检查点 {path} 的版本 {_short(version)} 不受支持"
                              f"（本程序认 1…{CHECKPOINT_VERSION}）。提示：升级 tinygrad_zh。")
    missing = [k for k in _REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"GPT 检查点 {path} 不完整，缺少：{missing}。")
    validate_checkpoint(ckpt, path)
    return ckpt


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def validate_checkpoint(ckpt, path):
    """逐个字段检查 GPT 检查点的结构、类型与相互的一致性；不对时抛出 ``CheckpointError``，写明是哪个字段。

    手工改过、但仍是合法文件的检查点（history 是空的、step 是字符串、随机数状态不对、配置里有未知的键、
    权重是字符串、权重里有 nan……）在这里被拦下，不会在续训或采样的半路变成 KeyError / TypeError。
    """
    def bad(name, what):
        return CheckpointError(f"GPT 检查点 {path} 的字段 {name} 无效：{what}。")

    step = ckpt["step"]
    if not _is_int(step) or step < 0:
        raise bad("step", f"应是非负整数，得到 {_short(step)}")

    if not isinstance(ckpt["config"], dict):
        raise bad("config", f"应是字典，得到 {type(ckpt['config']).__name__}")
    try:
        config = TrainConfig.from_dict(ckpt["config"])
    except (ConfigError, TypeError) as e:
        raise bad("config", str(e).rstrip("。")) from None

    mc = ckpt["model_config"]
    names = [f.name for f in dataclasses.fields(GPTConfig)]
    if not isinstance(mc, dict) or sorted(map(str, mc)) != sorted(names):
        raise bad("model_config", f"应是含 {', '.join(names)} 的字典，得到 {_short(mc)}")
    if not isinstance(mc["bias"], bool) or not _is_number(mc["dropout"]):
        raise bad("model_config", f"bias 应是 true / false、dropout 应是数，得到 {_short(mc)}")
    try:
        model_config = GPTConfig(**mc)
    except (ValueError, TypeError) as e:
        raise bad("model_config", str(e).rstrip("。")) from None
    for name in ("block_size", "n_layer", "n_head", "n_embd", "dropout", "bias"):
        if mc[name] != getattr(config, name):
            raise bad("model_config", f"{name}={mc[name]!r} 与 config 里的 {getattr(config, name)!r} 不一致")

    vocab = ckpt["vocab"]
    if (not isinstance(vocab, list) or not vocab or vocab[0] != CharTokenizer.unk_token
            or not all(isinstance(c, str) and len(c) == 1 for c in vocab[1:])):
        raise bad("vocab", f"应是以 {CharTokenizer.unk_token!r} 开头、其余都是单个字符的列表，得到 {_short(vocab)}")
    if len(set(vocab)) != len(vocab):
        raise bad("vocab", "有重复的字符")
    if len(vocab) != model_config.vocab_size:
        raise bad("vocab", f"词表有 {len(vocab)} 项，与模型的 vocab_size={model_config.vocab_size} 不符")

    weights = ckpt["model"]
    if not isinstance(weights, dict) or not weights:
        raise bad("model", f"应是“参数名 → 数组”的字典，得到 {_short(weights)}")
    for name, w in weights.items():
        if not isinstance(name, str) or not isinstance(w, np.ndarray):
            raise bad(f"model[{name!r}]", f"应是数组，得到 {type(w).__name__} {_short(w, 40)}")
        if w.dtype.kind != "f":
            raise bad(f"model[{name!r}]", f"应是浮点数组，得到 dtype {w.dtype}")
        if not np.isfinite(w).all():
            raise bad(f"model[{name!r}]", "含 nan 或 inf（训练发散后写下的？）。提示：换用更早的检查点")
    stored = sum(w.size for w in {id(w): w for w in weights.values()}.values())
    needed = model_config.vocab_size * model_config.n_embd + 12 * model_config.n_layer * model_config.n_embd ** 2
    if needed > stored:  # 先核对再建模型：伪造的巨大 model_config 不会触发巨大的内存分配
        raise bad("model_config", f"按它建的模型至少有 {needed:,} 个参数，检查点里只有 {stored:,} 个权重数值")

    _validate_optimizer(ckpt["optimizer"], bad)
    scheduler = ckpt["scheduler"]
    if not isinstance(scheduler, dict) or not _is_int(scheduler.get("last_epoch")):
        raise bad("scheduler", f"应是含整数 last_epoch 的字典，得到 {_short(scheduler)}")

    rng = ckpt["rng"]
    if not isinstance(rng, dict) or not {"batch", "global"} <= set(rng):
        raise bad("rng", f"应是含 batch 与 global 两个随机数状态的字典，得到 {_short(rng)}")
    for name in ("batch", "global"):
        probe = type(np.random.default_rng(0).bit_generator)()   # 与训练用的生成器同一种位生成器
        try:
            probe.state = rng[name]
        except Exception:  # noqa: BLE001  NumPy 对坏状态抛出的异常种类不一
            raise bad(f"rng.{name}", f"不是有效的 {type(probe).__name__} 随机数状态：{_short(rng[name])}") from None

    _validate_history(ckpt["history"], step, bad)

    data = ckpt.get("data")
    if data is not None and not (
            isinstance(data, dict) and (data.get("path") is None or isinstance(data.get("path"), str))
            and _is_int(data.get("chars")) and data["chars"] >= 0 and isinstance(data.get("sha256"), str)
            and len(data["sha256"]) == 64 and all(c in "0123456789abcdef" for c in data["sha256"])):
        raise bad("data", f"应是含 path、chars、sha256 的字典，得到 {_short(data)}")


def _validate_optimizer(opt, bad):
    if not isinstance(opt, dict) or not isinstance(opt.get("state"), dict) or not isinstance(
            opt.get("param_groups"), list) or not opt["param_groups"]:
        raise bad("optimizer", f"应是含 state 与 param_groups 的字典，得到 {_short(opt)}")
    for i, group in enumerate(opt["param_groups"]):
        where = f"optimizer.param_groups[{i}]"
        if not isinstance(group, dict) or not isinstance(group.get("params"), list) or not all(
                _is_int(p) for p in group["params"]):
            raise bad(where, f"应是含参数编号列表 params 的字典，得到 {_short(group)}")
        for key in ("lr", "weight_decay", "eps"):
            if key in group and not (_is_number(group[key]) and math.isfinite(group[key])):
                raise bad(f"{where}.{key}", f"应是有限的数，得到 {_short(group[key])}")
        betas = group.get("betas", (0.9, 0.999))
        if not isinstance(betas, (list, tuple)) or len(betas) != 2 or not all(
                _is_number(b) and math.isfinite(b) for b in betas):
            raise bad(f"{where}.betas", f"应是两个有限的数，得到 {_short(betas)}")
    for key, value in opt["state"].items():
        where = f"optimizer.state[{key!r}]"
        if not _is_int(key) or not isinstance(value, dict):
            raise bad(where, f"应是“参数编号 → 状态字典”，得到 {_short(value)}")
        for name, v in value.items():
            if name == "step":
                if not _is_int(v) or v < 0:
                    raise bad(f"{where}.step", f"应是非负整数，得到 {_short(v)}")
            elif not isinstance(v, np.ndarray) or v.dtype.kind != "f":
                raise bad(f"{where}.{name}", f"应是浮点数组，得到 {type(v).__name__} {_short(v, 40)}")
            elif not np.isfinite(v).all():
                raise bad(f"{where}.{name}", "含 nan 或 inf")


def _validate_history(history, step, bad):
    keys = list(_new_history())
    if not isinstance(history, dict) or any(k not in history for k in keys):
        raise bad("history", f"应是含 {', '.join(keys)} 的字典，得到 {_short(history)}")
    for k in keys:
        if not isinstance(history[k], list) or not all(_is_number(v) for v in history[k]):
            raise bad(f"history.{k}", f"应是数的列表，得到 {_short(history[k])}")
    for k in ("step", "loss", "lr"):
        if len(history[k]) != step:
            raise bad(f"history.{k}", f"应有 {step} 项（每步一项，与 step 一致），得到 {len(history[k])} 项")
    if history["step"] != list(range(1, step + 1)):
        raise bad("history.step", f"应是 1, 2, …, {step}")
    n = len(history["eval_step"])
    for k in ("val_loss", "val_ppl", "train_loss", "tokens_per_s"):
        if len(history[k]) != n:
            raise bad(f"history.{k}", f"应与 eval_step 一样有 {n} 项，得到 {len(history[k])} 项")
    evals = history["eval_step"]
    if not all(_is_int(s) and 0 <= s <= step for s in evals) or evals != sorted(evals):
        raise bad("history.eval_step", f"应是 0…{step} 之间、从小到大的整数，得到 {_short(evals)}")


def _load_weights(model, weights, path):
    """把检查点里的权重装进 ``model``：名字与形状都要对得上，不对时 ``CheckpointError`` 写明是哪一个。"""
    expected = model.state_dict()
    missing = [n for n in expected if n not in weights]
    unexpected = [n for n in weights if n not in expected]
    if missing or unexpected:
        raise CheckpointError(f"GPT 检查点 {path} 的字段 model 与模型结构不符：缺少 {missing[:3]}，多出 {unexpected[:3]}。")
    for name, arr in expected.items():
        if tuple(weights[name].shape) != tuple(arr.shape):
            raise CheckpointError(f"GPT 检查点 {path} 的字段 model[{name!r}] 无效：形状应是 {tuple(arr.shape)}，"
                                  f"得到 {tuple(weights[name].shape)}。")
    try:
        model.load_state_dict(weights)
    except (ValueError, TypeError, KeyError, RuntimeError) as e:
        raise CheckpointError(f"GPT 检查点 {path} 的字段 model 无法载入：{e}") from None


def checkpoint_config(path):
    """检查点里保存的训练配置（``TrainConfig``）：续训时命令行以它为底，只改显式给出的参数。"""
    return TrainConfig.from_dict(_read_checkpoint(path)["config"])


def load_checkpoint(path, device="auto"):
    """读 ``train`` 写的检查点，返回 ``(model, tokenizer, ckpt)``：模型在 ``device`` 上、处于评估模式。

    ckpt 是整个检查点字典（step、config、history、vocab……），采样时用不到优化器状态。
    检查点先经过 ``validate_checkpoint``：结构、类型不对或权重里有 nan / inf 时抛出 ``CheckpointError``。

    例::

        >>> model, tok, ckpt = load_checkpoint("checkpoints/gpt/ckpt.npz", device="cpu")
        >>> idx = tg.tensor([tok.encode("新年")])
        >>> print(tok.decode(model.generate(idx, 20, temperature=0.8, top_k=50)[0]))
    """
    device = resolve_device(device)
    ckpt = _read_checkpoint(path)
    model = GPT(GPTConfig(**ckpt["model_config"]))
    _load_weights(model, ckpt["model"], os.fspath(path))
    model.to(device)
    model.eval()
    return model, CharTokenizer(ckpt["vocab"][1:]), ckpt


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
