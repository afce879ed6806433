"""Adam 与 AdamW：一阶矩（动量）+ 二阶矩（自适应缩放）+ 偏差修正。"""

from __future__ import annotations

import math

from .optimizer import Optimizer, check_range, effective_grad


class Adam(Optimizer):
    """Adam，与 ``torch.optim.Adam`` 的算法逐步相同。

    每个参数 θ 有一阶矩 m、二阶矩 v（初值 0）。第 t 步（t 从 1 开始，γ = lr，λ = weight_decay）::

        g ← ∇θ （maximize 时取反）
        g ← g + λθ                          （λ ≠ 0：L2 正则化，加在梯度上；AdamW 改成解耦的衰减）
        m ← β1·m + (1−β1)·g                 （梯度的指数移动平均，即动量）
        v ← β2·v + (1−β2)·g²                （梯度平方的指数移动平均）
        m̂ ← m / (1−β1^t)，  v̂ ← v / (1−β2^t)    （偏差修正：m、v 从 0 出发，前几步偏小）
        若 amsgrad:  v_max ← max(v_max, v)，  v̂ ← v_max / (1−β2^t)
        θ ← θ − γ · m̂ / (√v̂ + ε)

    （amsgrad 取最大值的是未修正的 v，再做偏差修正，这与 PyTorch 的实现一致。）

    勘误：原文 §4.1.2 写 ``θ − α·m/(1 + β1^T + β2^T)``，§4.2.1 写 ``m_t/(1 − β1^t + β2^t)``：两处都没有用到
    二阶矩 v（Adam 的“自适应”全在 √v̂ 里），偏差修正也写错了。正确的是
    ``m̂ = m/(1−β1^t)，v̂ = v/(1−β2^t)，θ ← θ − α·m̂/(√v̂ + ε)``。

    参数:
        params: 要优化的参数。
        lr: 学习率 γ，默认 1e-3。
        betas: (β1, β2)，一阶、二阶矩的衰减率，默认 (0.9, 0.999)。
        eps: 加在分母上的 ε，默认 1e-8。
        weight_decay: 权重衰减系数 λ，默认 0。
        amsgrad: 是否用 AMSGrad 变体，默认 False。
        maximize: True 时最大化目标。
        decoupled_weight_decay: True 时权重衰减与梯度解耦，即 AdamW（同 PyTorch 2.x 的同名参数）。

    例::

        >>> opt = tg.optim.Adam(model.parameters(), lr=3e-4)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        self._validate(defaults)
        super().__init__(params, defaults)

    def _validate(self, options):
        check_range("lr", options["lr"], english="invalid learning rate")
        check_range("eps", options["eps"], english="invalid epsilon value")
        betas = options["betas"]
        if len(betas) != 2:
            raise ValueError(f"betas 应当是两个数 (β1, β2)，得到 betas={betas!r}。")
        check_range("betas[0]", betas[0], 0.0, 1.0, english="invalid beta parameter at index 0")
        check_range("betas[1]", betas[1], 0.0, 1.0, english="invalid beta parameter at index 1")
        check_range("weight_decay", options["weight_decay"], english="invalid weight_decay value")

    def step(self, closure=None):
        """按上面的公式更新一步；返回 ``closure()`` 的结果（没有 closure 时为 None）。

        同设备、同 dtype 的参数摊平成一块，``adam_update`` 对整块只算一遍（见 ``Optimizer._foreach``）。
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = (float(b) for b in group["betas"])
            amsgrad = group["amsgrad"]

            def init_state(param, xp, amsgrad=amsgrad):
                state = {"exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}
                if amsgrad:
                    state["max_exp_avg_sq"] = xp.zeros_like(param)
                return state

            for batch in self._foreach(group, init_state):
                adam_update(batch.xp, batch.param, batch.grad, batch.state["exp_avg"], batch.state["exp_avg_sq"],
                            batch.step, lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                            weight_decay=float(group["weight_decay"]),
                            decoupled=group["decoupled_weight_decay"],
                            max_exp_avg_sq=batch.state.get("max_exp_avg_sq") if amsgrad else None,
                            maximize=group["maximize"])
        return loss


def adam_update(xp, param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled,
                max_exp_avg_sq=None, maximize=False):
    """Adam / AdamW 的一步，原地改写 ``param``、``exp_avg``、``exp_avg_sq``（及 ``max_exp_avg_sq``）。

    整个数组一起算：可以是一个参数，也可以是摊平成一块的许多参数，公式都一样（逐元素）。

    参数:
        xp: 数组模块（numpy 或 cupy）。
        param, grad, exp_avg, exp_avg_sq: 同形的数组：θ、∇θ、m、v。``grad`` 只读。
        step: 这一步的步数 t（从 1 起），用于偏差修正。
        lr, beta1, beta2, eps, weight_decay: γ、β1、β2、ε、λ（Python float）。
        decoupled: True 为 AdamW（θ ← θ − γλθ），False 为加在梯度上的 L2 项。
        max_exp_avg_sq: amsgrad 时的 v_max（同形数组），否则 None。
        maximize: True 时梯度取反。
    """
    if decoupled:
        # BEGIN SOLUTION task08_5
        param *= 1.0 - lr * weight_decay          # AdamW：θ ← θ − γλθ，不经过 m、v
        # END SOLUTION
    g = effective_grad(xp, param, grad, 0.0 if decoupled else weight_decay, maximize)
    # BEGIN SOLUTION task08_4
    tmp = xp.multiply(g, 1.0 - beta1)   # 一块临时数组，下面反复复用
    exp_avg *= beta1
    exp_avg += tmp                       # m ← β1·m + (1−β1)·g
    xp.multiply(g, g, out=tmp)
    tmp *= 1.0 - beta2
    exp_avg_sq *= beta2
    exp_avg_sq += tmp                    # v ← β2·v + (1−β2)·g²
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    # 偏差修正折进两个标量：√v̂ = √v / √(1−β2^t)，m̂ 的 1/(1−β1^t) 并进步长
    bias_correction1 = 1.0 - beta1 ** step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
    xp.sqrt(v, out=tmp)
    tmp /= bias_correction2_sqrt
    tmp += eps                           # √v̂ + ε
    xp.divide(exp_avg, tmp, out=tmp)
    tmp *= lr / bias_correction1
    param -= tmp
    # END SOLUTION


class AdamW(Adam):
    """AdamW：权重衰减与梯度解耦 (decoupled weight decay) 的 Adam，与 ``torch.optim.AdamW`` 逐步相同。

    与 Adam 唯一的区别在权重衰减（γ = lr，λ = weight_decay）::

        θ ← θ − γλθ                 （先直接把参数缩小一点，不进入 m、v）
        g ← ∇θ （maximize 时取反）  （不再加 λθ）
        之后 m、v、偏差修正、amsgrad 与 Adam 完全相同。

    为什么要解耦：Adam 里的 L2 项 λθ 会被 √v̂ 除掉，梯度大的参数几乎不受衰减；AdamW 让每个参数都按同一
    比例 γλ 衰减（Loshchilov & Hutter, 2019）。GPT 类模型的训练几乎都用 AdamW。

    参数:
        与 Adam 相同，只是 weight_decay 默认 1e-2。

    例::

        >>> opt = tg.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
