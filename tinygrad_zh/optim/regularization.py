"""正则化 (regularization) 项：加到损失上、可以反向传播的惩罚。

L1 正则化要自己加到损失上（``l1_penalty``）。L2 正则化通常不用加：它就是优化器的 ``weight_decay``。
对 λ/2·Σθ² 求导得 λθ，正是 SGD / Adagrad / RMSprop / Adam 把 λθ 加到梯度上的那一项
（``l2_penalty`` 只用来演示这个等价；AdamW 的解耦衰减与 L2 项并不等价）。
"""

from __future__ import annotations

from ..tensor import Tensor


def _params(parameters, weight, name):
    if weight < 0:
        raise ValueError(f"{name} 的 weight 应当 ≥ 0，得到 weight={weight!r}。")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not params:
        raise ValueError(f"{name} 得到的参数列表为空。提示：model.parameters() 是生成器，只能遍历一次。")
    return params


def l1_penalty(parameters, weight):
    """L1 正则化项 (L1 penalty)，加到损失上使用。

    公式::

        penalty = weight · Σ_θ Σ_i |θ_i|，  ∂penalty/∂θ_i = weight · sign(θ_i)   （θ_i = 0 处取 0）

    L1 把不重要的权重推向恰好为 0（稀疏），L2 只把它们缩小。L2 正则化请用优化器的 ``weight_decay``。

    参数:
        parameters: 张量或张量的可迭代对象（如 ``model.parameters()``）。
        weight: 系数 weight（≥ 0）。

    返回:
        0 维张量 (scalar tensor)，可微。

    例::

        >>> loss = F.cross_entropy(model(x), y) + l1_penalty(model.parameters(), 1e-4)
        >>> loss.backward()
    """
    params = _params(parameters, weight, "l1_penalty")
    total = params[0].abs().sum()
    for p in params[1:]:
        total = total + p.abs().sum()
    return total * weight


def l2_penalty(parameters, weight):
    """L2 正则化项 weight/2 · Σθ²：梯度 weight·θ 与优化器的 ``weight_decay=weight`` 完全相同。

    公式::

        penalty = weight / 2 · Σ_θ Σ_i θ_i²，  ∂penalty/∂θ_i = weight · θ_i

    实际训练请直接用 ``weight_decay``（省一次前向与反向）；这个函数用于演示二者等价。

    参数:
        parameters: 张量或张量的可迭代对象。
        weight: 系数 weight（≥ 0）。

    例::

        >>> loss = mse + l2_penalty([w], 0.1)      # 与 SGD([w], weight_decay=0.1) 给出同样的更新
    """
    params = _params(parameters, weight, "l2_penalty")
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + (p * p).sum()
    return total * (weight / 2)
