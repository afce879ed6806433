"""随机梯度下降 (SGD)，可选动量法 (momentum)、Nesterov 动量与权重衰减 (weight decay)。"""

from __future__ import annotations

from .optimizer import Optimizer, check_range, effective_grad


class SGD(Optimizer):
    """随机梯度下降 (stochastic gradient descent)，与 ``torch.optim.SGD`` 的算法逐步相同。

    每一步，对每个有梯度的参数 θ（γ = lr，λ = weight_decay，μ = momentum，τ = dampening）::

        g ← ∇θ                      （maximize=True 时 g ← −∇θ，先取反再加 L2 项）
        g ← g + λθ                  （λ ≠ 0 时：L2 正则化，加在梯度上）
        若 μ ≠ 0:
            b ← g                   （第 1 步：缓冲直接取第一个梯度，不乘 1−τ）
            b ← μb + (1−τ)g         （以后各步）
            g ← g + μb  若 nesterov，否则 g ← b
        θ ← θ − γg

    勘误：原文 §4.1.2 把动量法写成 ``θ = θ − α∇J + β(1−α)θ_prev``，那不是动量法：它把“上一步的参数”
    而不是“过去梯度的累积”加了进来。正确的写法（PyTorch 的形式）是 ``v ← βv + g；θ ← θ − αv``：
    v 是梯度的指数加权累积，相当于一个有惯性的小球。

    参数:
        params: 要优化的参数（张量的可迭代对象或参数组字典的列表）。
        lr: 学习率 γ，默认 1e-3（与当前 PyTorch 相同）。
        momentum: 动量系数 μ，默认 0（不用动量）。
        dampening: 阻尼 τ：新梯度进入缓冲时乘 1−τ，默认 0。
        weight_decay: L2 权重衰减系数 λ，默认 0。
        nesterov: 是否用 Nesterov 动量（需要 momentum > 0 且 dampening = 0）。
        maximize: True 时沿梯度方向上升（最大化目标）。

    例::

        >>> opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        self._validate(defaults)
        super().__init__(params, defaults)

    def _validate(self, options):
        check_range("lr", options["lr"], english="invalid learning rate")
        check_range("momentum", options["momentum"], english="invalid momentum value")
        check_range("weight_decay", options["weight_decay"], english="invalid weight_decay value")
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(
                "Nesterov 动量需要 momentum > 0 且 dampening = 0 (Nesterov momentum requires a momentum and zero "
                f"dampening)，得到 momentum={options['momentum']!r}，dampening={options['dampening']!r}。")

    def step(self, closure=None):
        """按上面的公式更新一步；返回 ``closure()`` 的结果（没有 closure 时为 None）。

        同设备、同 dtype 的参数摊平成一块，``sgd_update`` 对整块只算一遍（见 ``Optimizer._foreach``）。
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            # 转成 Python float：NumPy 的 float64 标量会把 float32 的运算提升成 float64
            lr, momentum, dampening = float(group["lr"]), float(group["momentum"]), float(group["dampening"])
            for batch in self._foreach(group, count_steps=False):
                buf = sgd_update(batch.xp, batch.param, batch.grad, batch.state.get("momentum_buffer"), lr=lr,
                                 momentum=momentum, dampening=dampening, weight_decay=float(group["weight_decay"]),
                                 nesterov=group["nesterov"], maximize=group["maximize"])
                if buf is not None:
                    batch.state["momentum_buffer"] = buf
        return loss


def sgd_update(xp, param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """SGD 的一步，原地改写 ``param``（与 ``momentum_buffer``），返回动量缓冲（不用动量时为 None）。

    整个数组一起算：可以是一个参数，也可以是摊平成一块的许多参数。

    参数:
        xp: 数组模块（numpy 或 cupy）。
        param, grad: 同形的数组 θ、∇θ；``grad`` 只读。
        momentum_buffer: 动量缓冲 b；第一步为 None（这时 b 取 g 的副本）。
        lr, momentum, dampening, weight_decay: γ、μ、τ、λ（Python float）。
        nesterov, maximize: 见 ``SGD``。
    """
    g = effective_grad(xp, param, grad, weight_decay, maximize)
    # BEGIN SOLUTION task08_1
    buf = None
    if momentum != 0:
        if momentum_buffer is None:
            # 第一步缓冲就是 g 本身；g 若正是用户的梯度数组，要复制一份，免得被 zero_grad 清零
            buf = g.copy() if g is grad else g
        else:
            buf = momentum_buffer
            buf *= momentum
            buf += g if dampening == 0 else (1.0 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    param -= lr * g
    return buf
    # END SOLUTION
