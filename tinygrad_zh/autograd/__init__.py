"""自动微分 (autograd)：计算图 (computational graph) 与反向传播 (backpropagation)。

读的顺序：

- ``engine.py``：``no_grad`` / ``enable_grad``（要不要记图）；``Function``（每个可微运算的基类，
  也是计算图里的节点，``apply`` 记下图）；``loss.backward()`` 的全部过程——拓扑排序、倒着走一遍、
  链式法则、梯度累加；``format_graph`` 把图打印成文字；
- ``higher_order.py``：二阶导数（``create_graph=True``）与 ``grad``，需要时才用到。

本包只依赖 backend，不认识 Tensor 类：张量就是带 ``grad_fn``、``requires_grad``、``data`` 的对象。
"""

from .engine import (Function, backward, enable_grad, format_graph, increment_version, is_grad_enabled, is_tensor,
                     no_grad, set_grad_enabled, sum_to_shape, toposort)
from .higher_order import grad

__all__ = ["Function", "backward", "enable_grad", "format_graph", "grad", "increment_version", "is_grad_enabled",
           "is_tensor", "no_grad", "set_grad_enabled", "sum_to_shape", "toposort"]
