"""学习率调度器 (learning-rate scheduler)：按训练进度改写优化器各参数组的 ``lr``。

用法与 PyTorch 相同：每个 epoch（或每步）在 ``optimizer.step()`` 之后调用一次 ``scheduler.step()``::

    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(...)      # 里面调用 opt.step()
        sched.step()

构造调度器时它会先走“第 0 步”，把 lr 设为 t = 0 时的值（与 PyTorch 相同），并在每个参数组里记下
``initial_lr``（基础学习率 base_lr）。这里的调度器都按 t = last_epoch 的闭式公式 (closed form) 计算。
"""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer


class LRScheduler:
    """所有调度器的基类。子类实现 ``get_lr()``：按 ``self.last_epoch`` 与 ``self.base_lrs`` 给出各组的 lr。

    参数:
        optimizer: 要调度的优化器。
        last_epoch: 上一次的步数；-1（默认）表示从头开始。恢复训练时更推荐用 ``load_state_dict``。

    属性:
        last_epoch: 已经调用 ``step()`` 的次数（构造时那一次记作 0）。
        base_lrs: 各参数组的基础学习率（即 ``initial_lr``）。
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} 需要一个优化器 (Optimizer)，得到 {type(optimizer).__name__}。")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"第 {i} 个参数组没有 'initial_lr'，不能从 last_epoch={last_epoch} 接着调度。"
                                   "提示：恢复训练时先建 last_epoch=-1 的调度器，再 load_state_dict。")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self):
        """第 ``self.last_epoch`` 步各参数组的学习率（列表）。"""
        raise NotImplementedError(f"{type(self).__name__} 没有实现 get_lr()。")  # abstract: 子类实现

    def step(self):
        """步数加 1，并把新的学习率写进优化器的各参数组。"""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """最近一次 ``step()`` 设置的各组学习率。"""
        return list(self._last_lr)

    def state_dict(self):
        """调度器的状态（不含优化器本身），可与优化器的 state_dict 一起存进检查点。"""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """从 ``state_dict()`` 的结果恢复（检查点格式若把数、列表存成了 NumPy 数组，这里还原）。"""
        self.__dict__.update({k: _to_python(v) for k, v in state_dict.items()})

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


def _to_python(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item() if value.ndim == 0 else value.tolist()
    return value


def _check_positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} 应当是正整数，得到 {name}={value!r}。")


class StepLR(LRScheduler):
    """阶梯衰减：每 step_size 步把学习率乘以 gamma。

    公式::

        lr(t) = base_lr · gamma^⌊t / step_size⌋

    参数:
        optimizer: 优化器。
        step_size: 每隔多少步衰减一次（正整数）。
        gamma: 衰减倍数，默认 0.1。

    例::

        >>> sched = StepLR(opt, step_size=30, gamma=0.1)   # lr 0.1 → 第 30 步起 0.01 → 第 60 步起 0.001
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _check_positive_int("step_size", step_size)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """余弦退火 (cosine annealing)：学习率沿半个余弦周期从 base_lr 降到 eta_min。

    公式::

        lr(t) = eta_min + (base_lr − eta_min) · (1 + cos(π·t / T_max)) / 2

    t = T_max 时到达 eta_min；t 继续增大时按余弦周期回升（与 PyTorch 相同，周期 2·T_max）。

    参数:
        optimizer: 优化器。
        T_max: 半个周期的步数（正整数）。
        eta_min: 最小学习率，默认 0。

    例::

        >>> sched = CosineAnnealingLR(opt, T_max=100)
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _check_positive_int("T_max", T_max)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cos = (1.0 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2.0
        return [self.eta_min + (base - self.eta_min) * cos for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """学习率 = 基础学习率 × 任意函数 lr_lambda(t)。

    公式::

        lr(t) = base_lr · lr_lambda(t)

    参数:
        optimizer: 优化器。
        lr_lambda: 函数 t ↦ 倍数；或每个参数组一个函数的列表。

    函数无法存进检查点：``state_dict()`` 不含 lr_lambda，恢复时沿用新调度器自己的函数（PyTorch 对普通函数也如此）。

    例::

        >>> sched = LambdaLR(opt, lr_lambda=lambda t: 0.95 ** t)
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"lr_lambda 列表有 {len(lr_lambda)} 个函数，但优化器有 {n} 个参数组。")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self):
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}

    def load_state_dict(self, state_dict):
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "lr_lambdas"})


class WarmupCosineLR(LRScheduler):
    """线性预热 (warmup) + 余弦衰减：nanoGPT 的学习率调度。

    公式（t = 步数，W = warmup_steps，T = total_steps）::

        t < W:       lr(t) = base_lr · t / W                              （从 0 线性升到 base_lr）
        W ≤ t ≤ T:   lr(t) = min_lr + (base_lr − min_lr) · (1 + cos(π·(t−W)/(T−W))) / 2
        t > T:       lr(t) = min_lr

    为什么要预热：训练刚开始时参数是随机的，Adam 的二阶矩估计也还不准，大学习率容易一步跳坏；
    先用很小的学习率走几百步，再升到目标值。之后余弦衰减让训练末期步子越来越小。
    注意 t = 0 时 lr = 0，第一次 ``optimizer.step()`` 不改变参数（但 Adam 的 m、v 已开始累积）。
    这个类 PyTorch 没有（它要用 LambdaLR 或 SequentialLR 拼出来）。

    参数:
        optimizer: 优化器。
        warmup_steps: 预热步数 W（≥ 0；0 表示不预热）。
        total_steps: 余弦衰减结束的步数 T（≥ W，且 > 0）。
        min_lr: 衰减的终点（对所有参数组相同的绝对值），默认 0。

    例::

        >>> sched = WarmupCosineLR(opt, warmup_steps=100, total_steps=5000, min_lr=6e-5)
        >>> for it in range(5000):
        ...     train_step(); sched.step()
    """

    def __init__(self, optimizer, warmup_steps, total_steps, min_lr=0.0, last_epoch=-1):
        if not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"warmup_steps 应当是非负整数，得到 warmup_steps={warmup_steps!r}。")
        _check_positive_int("total_steps", total_steps)
        if total_steps < warmup_steps:
            raise ValueError(f"total_steps 不能小于 warmup_steps，得到 total_steps={total_steps}，"
                             f"warmup_steps={warmup_steps}。")
        if min_lr < 0:
            raise ValueError(f"min_lr 应当 ≥ 0，得到 min_lr={min_lr!r}。")
        self.warmup_steps, self.total_steps, self.min_lr = warmup_steps, total_steps, min_lr
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, w, total = self.last_epoch, self.warmup_steps, self.total_steps
        if t < w:
            return [base * t / w for base in self.base_lrs]
        if t > total:
            return [self.min_lr for _ in self.base_lrs]
        ratio = (t - w) / (total - w) if total > w else 1.0
        cos = (1.0 + math.cos(math.pi * ratio)) / 2.0
        return [self.min_lr + (base - self.min_lr) * cos for base in self.base_lrs]
