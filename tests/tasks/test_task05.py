"""任务 05：均方误差的梯度（第 05 课的 mse_grad），训练循环（第 05 课 train 里一步的五行）。

训练循环用记录调用顺序的替身 (test double) 检查：不经过引擎与优化器，它们写错不影响这里。
"""

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.classroom.checks import TaskCheckError, check_close, check_grad
from tinygrad_zh.classroom.lesson_code import load_function


@pytest.mark.task05_1
def test_mse_grad_matches_finite_differences(root):
    mse_grad = load_function(root, "05", "mse_grad", {"tg": tg, "np": np})
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 1))
    w, b = rng.standard_normal((1, 3)), rng.standard_normal(1)
    with tg.no_grad():
        gw, gb = mse_grad(tg.tensor(X), tg.tensor(X @ w.T + b), tg.tensor(y))
    one = np.ones(())
    check_grad("mse_grad 的 ∂L/∂W", gw, lambda w_: np.mean((X @ w_.T + b - y) ** 2), w, one)
    check_grad("mse_grad 的 ∂L/∂b", gb, lambda b_: np.mean((X @ w.T + b_ - y) ** 2), b, one)


class Recorder:
    def __init__(self):
        self.events = []


class FakeOptimizer:
    def __init__(self, rec, params, lr):
        self.rec, self.param_groups = rec, [{"lr": lr}]

    def zero_grad(self, set_to_none=True):
        self.rec.events.append(("zero_grad",))

    def step(self, closure=None):
        self.rec.events.append(("step",))


class FakeScheduler:
    def __init__(self, optimizer, step_size, gamma):
        pass

    def step(self):
        pass


class FakeLoss:
    def __init__(self, rec, batch, value):
        self.rec, self.batch, self.value = rec, batch, value

    def backward(self, *args, **kwargs):
        self.rec.events.append(("backward", self.batch))

    def item(self):
        return self.value


class FakePred:
    def __init__(self, batch):
        self.batch = batch


def make_namespace(rec, batches):
    """train 用到的全局名字：optim、F、progress 换成替身，tg 与 np 用真的（只用到 no_grad 与拼接）。"""
    class Optim:
        @staticmethod
        def SGD(params, lr):
            return FakeOptimizer(rec, params, lr)

        class lr_scheduler:
            StepLR = FakeScheduler

    class F:
        @staticmethod
        def mse_loss(pred, target):
            batch = pred.batch if isinstance(pred, FakePred) else None
            if batch is not None and target is not batches[batch][1]:
                raise TaskCheckError(f"训练循环：第 {batch} 个小批量的损失没有用这个小批量的标签 yb。")
            rec.events.append(("loss", batch))
            return FakeLoss(rec, batch, 10.0 + (batch if batch is not None else -1))

    return {"optim": Optim, "F": F, "tg": tg, "np": np, "progress": lambda it, **kw: it}


class FakeModel:
    def __init__(self, rec, batches):
        self.rec, self.batches = rec, batches
        self.params = [tg.tensor(np.zeros(2))]

    def __call__(self, x):
        batch = next((i for i, (xb, _) in enumerate(self.batches) if xb is x), None)
        self.rec.events.append(("forward", batch))
        return FakePred(batch)

    def parameters(self):
        return iter(self.params)


@pytest.mark.task05_2
def test_training_loop_order(root):
    rec = Recorder()
    batches = [(np.full((2, 2), float(i)), np.full((2, 1), float(i))) for i in range(3)]
    train = load_function(root, "05", "train", make_namespace(rec, batches))
    model = FakeModel(rec, batches)
    X, y = np.zeros((6, 2)), np.zeros((6, 1))
    step_losses, *_ = train(model, batches, X, y, epochs=2, lr=0.1, show_bar=False)
    # 只看小批量上的事件（每轮末在全部数据上的评估不算）
    events = [e for e in rec.events if len(e) == 1 or e[1] is not None]
    steps = [i for i, e in enumerate(events) if e == ("step",)]
    if len(steps) != 6:
        raise TaskCheckError(f"训练循环：2 轮 × 3 个小批量应当调用 optimizer.step() 6 次，实际 {len(steps)} 次。")
    start = 0
    for n, end in enumerate(steps):
        b = n % 3
        window = events[start:end]
        names = [e[0] for e in window]
        want = [("forward", b), ("loss", b), ("backward", b)]
        got = [e for e in window if e[0] != "zero_grad"]
        if got != want:
            raise TaskCheckError(f"训练循环：第 {n + 1} 步（第 {b} 个小批量）在 step() 之前的调用应依次是 "
                                 f"前向 → 损失 → backward，实际是 {' → '.join(names) or '什么也没有'}。")
        if n > 0 and "zero_grad" not in names:
            raise TaskCheckError(f"训练循环：第 {n} 步的 step() 之后、第 {n + 1} 步的 backward() 之前没有 "
                                 "optimizer.zero_grad()：梯度会一步步累加起来。")
        if "zero_grad" in names and names.index("zero_grad") > names.index("backward"):
            raise TaskCheckError(f"训练循环：第 {n + 1} 步在 backward() 之后、step() 之前清零了梯度，step() 拿到的梯度是空的。")
        start = end + 1
    if list(step_losses) != [10.0, 11.0, 12.0] * 2:
        raise TaskCheckError(f"训练循环：记录的每步损失应是各小批量的 loss.item()，得到 {step_losses}。")
