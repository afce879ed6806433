"""RMSprop：用梯度平方的指数移动平均代替 AdaGrad 的累加和。"""

from __future__ import annotations

from .optimizer import Optimizer, check_range, effective_grad


class RMSprop(Optimizer):
    """RMSprop，与 ``torch.optim.RMSprop`` 的算法逐步相同。

    每个参数 θ 有平方平均 v（初值 0），centered 时还有梯度平均 ḡ，momentum > 0 时还有缓冲 b（初值 0）。
    每一步（γ = lr，α = alpha，μ = momentum，λ = weight_decay）::

        g ← ∇θ （maximize 时取反） + λθ
        v ← αv + (1−α)g²                   （梯度平方的指数移动平均）
        ṽ ← v
        若 centered:  ḡ ← αḡ + (1−α)g；  ṽ ← v − ḡ²     （减去均值的平方：估计方差而不是二阶矩）
        若 μ > 0:     b ← μb + g/(√ṽ + ε)；  θ ← θ − γb
        否则:         θ ← θ − γ g/(√ṽ + ε)

    v 会“遗忘”很久以前的梯度，所以学习率不会像 AdaGrad 那样一路衰减到 0。

    勘误：原文 §4.2.1 写的是 ``1/RMSprop = (γ·(1/batch)Σ(dx_i/dt)² + (1−γ)·…)/(1−γ^t)``，这不是一条学习率公式，
    也不是参数的更新。正确的是 ``E ← γE + (1−γ)g²；θ ← θ − αg/(√E + ε)``（E 即上面的 v，γ 即 alpha）。

    参数:
        params: 要优化的参数。
        lr: 学习率 γ，默认 1e-2。
        alpha: 平滑常数 α，默认 0.99。
        eps: 加在分母上的 ε，默认 1e-8。
        weight_decay: L2 权重衰减系数 λ，默认 0。
        momentum: 动量系数 μ，默认 0。
        centered: 是否用梯度的方差（而不是二阶矩）来归一，默认 False。
        maximize: True 时最大化目标。

    例::

        >>> opt = tg.optim.RMSprop(model.parameters(), lr=1e-3, momentum=0.9, centered=True)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        self._validate(defaults)
        super().__init__(params, defaults)

    def _validate(self, options):
        check_range("lr", options["lr"], english="invalid learning rate")
        check_range("eps", options["eps"], english="invalid epsilon value")
        check_range("momentum", options["momentum"], english="invalid momentum value")
        check_range("weight_decay", options["weight_decay"], english="invalid weight_decay value")
        check_range("alpha", options["alpha"], english="invalid alpha value")

    def step(self, closure=None):
        """按上面的公式更新一步；返回 ``closure()`` 的结果（没有 closure 时为 None）。

        同设备、同 dtype 的参数摊平成一块，``rmsprop_update`` 对整块只算一遍（见 ``Optimizer._foreach``）。
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            momentum, centered = float(group["momentum"]), group["centered"]

            def init_state(param, xp, momentum=momentum, centered=centered):
                state = {"square_avg": xp.zeros_like(param)}
                if momentum > 0:
                    state["momentum_buffer"] = xp.zeros_like(param)
                if centered:
                    state["grad_avg"] = xp.zeros_like(param)
                return state

            for batch in self._foreach(group, init_state):
                rmsprop_update(batch.xp, batch.param, batch.grad, batch.state["square_avg"],
                               batch.state.get("grad_avg") if centered else None,
                               batch.state.get("momentum_buffer") if momentum > 0 else None,
                               lr=float(group["lr"]), alpha=float(group["alpha"]), eps=float(group["eps"]),
                               weight_decay=float(group["weight_decay"]), momentum=momentum,
                               maximize=group["maximize"])
        return loss


def rmsprop_update(xp, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay, momentum,
                   maximize):
    """RMSprop 的一步，原地改写 ``param`` 与各个状态。

    整个数组一起算：可以是一个参数，也可以是摊平成一块的许多参数。

    参数:
        xp: 数组模块（numpy 或 cupy）。
        param, grad, square_avg: 同形的数组 θ、∇θ、v；``grad`` 只读。
        grad_avg: centered 时的梯度平均 ḡ，否则 None。
        momentum_buffer: momentum > 0 时的缓冲 b，否则 None。
        lr, alpha, eps, weight_decay, momentum: γ、α、ε、λ、μ（Python float）。
        maximize: True 时梯度取反。
    """
    g = effective_grad(xp, param, grad, weight_decay, maximize)
    # BEGIN SOLUTION task08_3
    tmp = xp.multiply(g, g)                  # 一块临时数组，下面反复复用
    tmp *= 1.0 - alpha
    square_avg *= alpha
    square_avg += tmp                        # v ← αv + (1−α)g²
    if grad_avg is not None:
        xp.multiply(g, 1.0 - alpha, out=tmp)
        grad_avg *= alpha
        grad_avg += tmp                      # ḡ ← αḡ + (1−α)g
        xp.multiply(grad_avg, grad_avg, out=tmp)
        xp.subtract(square_avg, tmp, out=tmp)
        xp.sqrt(tmp, out=tmp)                # √(v − ḡ²)
    else:
        xp.sqrt(square_avg, out=tmp)
    tmp += eps
    xp.divide(g, tmp, out=tmp)               # g / (√ṽ + ε)
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += tmp
        xp.multiply(momentum_buffer, lr, out=tmp)
    else:
        tmp *= lr
    param -= tmp
    # END SOLUTION
