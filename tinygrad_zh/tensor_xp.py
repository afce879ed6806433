"""张量命名空间：让 backward 里 ``xp.sum(...)``、``xp.exp(...)`` 这样的代码也能作用在张量上。

``create_graph=True`` 时，引擎把 ``ctx.xp`` 换成这里的 ``tensor_xp``，把梯度和保存的数组换成张量。
每个 Function 的 backward 代码一字不改，就变成了由可微运算组成的计算，于是可以再求一次导：
这就是二阶导数 (second derivative) 的来历。这里只需实现 backward 代码用到的那几个函数。
"""

from .ops import elementwise as E, movement as M
from .tensor import Tensor


def _const(arr):
    return Tensor._make(arr, False)


class _TensorNamespace:
    is_tensor_namespace = True

    @staticmethod
    def exp(x):
        return x.exp()

    @staticmethod
    def log(x):
        return x.log()

    @staticmethod
    def sign(x):
        return _const(x.xp.sign(x.data))  # 分段常数：导数处处为 0

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return x.sum(dim=axis, keepdim=keepdims)

    @staticmethod
    def mean(x, axis=None, keepdims=False):
        return x.mean(dim=axis, keepdim=keepdims)

    @staticmethod
    def where(cond, x, y):
        from .creation import where
        return where(cond, x, y)

    @staticmethod
    def expand_dims(x, axis):
        axes = axis if isinstance(axis, tuple) else (axis,)
        for a in sorted(a % (x.ndim + len(axes)) for a in axes):
            x = x.unsqueeze(a)
        return x

    @staticmethod
    def broadcast_to(x, shape):
        return x.expand(shape)

    @staticmethod
    def reshape(x, shape):
        return M.Reshape.apply(x, tuple(shape))

    @staticmethod
    def transpose(x, axes):
        return x.permute(axes)

    @staticmethod
    def swapaxes(x, a, b):
        return x.transpose(a, b)

    @staticmethod
    def matmul(a, b):
        return a @ b

    @staticmethod
    def index_add(shape, key, values):
        return M.IndexAdd.apply(values, tuple(shape), key)

    @staticmethod
    def astype(x, dtype):
        return E.Cast.apply(x, dtype) if x.dtype != dtype else x

    def __repr__(self):
        return "<tensor_xp：把 backward 记进计算图的张量命名空间>"


tensor_xp = _TensorNamespace()
