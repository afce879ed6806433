"""AdaGrad：按历史梯度平方的累加和，给每个元素各自缩放学习率。"""

from __future__ import annotations

from .optimizer import Optimizer, check_range, effective_grad


class Adagrad(Optimizer):
    """AdaGrad (adaptive gradient)，与 ``torch.optim.Adagrad`` 的算法逐步相同。

    每个参数 θ 有一个累加器 G（初值 initial_accumulator_value）。第 t 步（t 从 1 开始，γ = lr，
    η = lr_decay，λ = weight_decay）::

        g ← ∇θ （maximize 时取反） + λθ
        γ̃ ← γ / (1 + (t−1)η)          （学习率随步数衰减，η = 0 时不变）
        G ← G + g²                     （按元素平方后累加）
        θ ← θ − γ̃ · g / (√G + ε)

    梯度一直大的元素，G 增长得快，步子就变小；一直小的元素步子相对大。缺点是 G 只增不减，
    学习率会越来越小，RMSprop 正是为此而来。

    勘误：原文 §4.2.1 写的是 ``1/AdaGrad = Σ (dx_i/dt)²``，这不是一条学习率公式（左边没有意义，也没有
    参数如何更新）。正确的是上面两行：``G ← G + g²；θ ← θ − αg/(√G + ε)``。

    参数:
        params: 要优化的参数。
        lr: 学习率 γ，默认 1e-2。
        lr_decay: 学习率衰减 η，默认 0。
        weight_decay: L2 权重衰减系数 λ，默认 0。
        initial_accumulator_value: 累加器 G 的初值，默认 0。
        eps: 加在分母上防止除以 0 的 ε，默认 1e-10。
        maximize: True 时最大化目标。

    例::

        >>> opt = tg.optim.Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *,
                 maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        self._validate(defaults)
        super().__init__(params, defaults)

    def _validate(self, options):
        check_range("lr", options["lr"], english="invalid learning rate")
        check_range("lr_decay", options["lr_decay"], english="invalid lr_decay value")
        check_range("weight_decay", options["weight_decay"], english="invalid weight_decay value")
        check_range("initial_accumulator_value", options["initial_accumulator_value"],
                    english="invalid initial_accumulator_value value")
        check_range("eps", options["eps"], english="invalid epsilon value")

    def step(self, closure=None):
        """按上面的公式更新一步；返回 ``closure()`` 的结果（没有 closure 时为 None）。

        同设备、同 dtype 的参数摊平成一块，``adagrad_update`` 对整块只算一遍（见 ``Optimizer._foreach``）。
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            initial = float(group["initial_accumulator_value"])
            for batch in self._foreach(group, lambda param, xp: {"sum": xp.full_like(param, initial)}):
                adagrad_update(batch.xp, batch.param, batch.grad, batch.state["sum"], batch.step,
                               lr=float(group["lr"]), lr_decay=float(group["lr_decay"]),
                               weight_decay=float(group["weight_decay"]), eps=float(group["eps"]),
                               maximize=group["maximize"])
        return loss


def adagrad_update(xp, param, grad, state_sum, step, lr, lr_decay, weight_decay, eps, maximize):
    """AdaGrad 的一步，原地改写 ``param`` 与累加器 ``state_sum``（G）。

    整个数组一起算：可以是一个参数，也可以是摊平成一块的许多参数。

    参数:
        xp: 数组模块（numpy 或 cupy）。
        param, grad, state_sum: 同形的数组 θ、∇θ、G；``grad`` 只读。
        step: 这一步的步数 t（从 1 起），用于学习率衰减。
        lr, lr_decay, weight_decay, eps: γ、η、λ、ε（Python float）。
        maximize: True 时梯度取反。
    """
    g = effective_grad(xp, param, grad, weight_decay, maximize)
    # BEGIN SOLUTION task08_2
    clr = lr / (1.0 + (step - 1) * lr_decay)
    tmp = xp.multiply(g, g)           # 一块临时数组，下面反复复用
    state_sum += tmp                  # G ← G + g²
    xp.sqrt(state_sum, out=tmp)
    tmp += eps                        # √G + ε
    xp.divide(g, tmp, out=tmp)
    tmp *= clr
    param -= tmp
    # END SOLUTION
