"""参数 (Parameter)：需要学习的张量。

它只是 ``Tensor`` 的一个子类：默认 ``requires_grad=True``，并且赋值给 ``Module`` 的属性时会被登记，
于是 ``model.parameters()`` 能找到它、优化器会更新它、``state_dict()`` 会保存它。
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..creation import tensor
from ..tensor import Tensor


class Parameter(Tensor):
    """参数：默认 ``requires_grad=True`` 的张量，赋值给 ``Module`` 的属性时会被登记。

    与 ``torch.nn.Parameter`` 相同，由张量创建时与它共享数据（不复制）。

    参数:
        data: 张量、数组或嵌套列表；None 时为空的 float32 张量。
        requires_grad: 是否求梯度；为 True 时 data 必须是浮点类型。

    例::

        >>> w = nn.Parameter(tg.zeros(2, 3))
        >>> w.requires_grad
        True
    """

    __slots__ = ()  # Tensor 用 __slots__；子类也声明空的 __slots__，就不会多出一个 __dict__

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.zeros((0,), dtype=dtypes.get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data.data
        else:
            arr = tensor(data).data
        super().__init__(arr, requires_grad=requires_grad)  # 非浮点又要求梯度时在这里报错

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
