"""张量 (Tensor)：一块数组，加上自动微分需要的几样东西。

- ``.data``：原始数组（numpy.ndarray，或 GPU 上的 cupy.ndarray）；
- ``.requires_grad``：是否需要对它求梯度；
- ``.grad``：反向传播后累加到这里的梯度（也是 Tensor）；
- ``.grad_fn``：产生它的运算（计算图里的节点），叶子张量 (leaf tensor) 为 None。

所有可微运算都经过 ``Function.apply``（见 autograd.py 与 ops/），这里的方法只负责检查参数、
整理维度，然后把活交给对应的 Function。名字、参数名、默认值都与 PyTorch 相同。
"""

from __future__ import annotations

import numbers
import numpy as np

from . import backend, dtypes
from . import autograd
from .ops import elementwise as E, movement as M
from .ops.matmul import MatMul
from .tensor_methods import ReductionMethods, SelectionMethods, ShapeMethods

def _promote_types(a, b, a_ndim=1, b_ndim=1):
    """PyTorch 的类型提升 (type promotion)。

    - 浮点与整数相遇，取浮点那一边的 dtype（float32 不会因 int64 变成 float64）；
    - 同一类别里，0 维张量像 Python 数一样“让位”：float32 张量 + 0 维 float64 张量仍是 float32；
    - 其余取较宽的 dtype。
    """
    fa, fb = dtypes.is_floating(a), dtypes.is_floating(b)
    if fa != fb:
        return a if fa else b
    if (a_ndim == 0) != (b_ndim == 0) and (a == dtypes.bool_) == (b == dtypes.bool_):
        return b if a_ndim == 0 else a
    return np.result_type(a, b)


class Tensor(ReductionMethods, ShapeMethods, SelectionMethods):
    """张量。``Tensor(data)`` 与 ``tg.tensor(data)`` 相同。

    例::

        >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = (x * x).sum()
        >>> y.backward()
        >>> x.grad        # dy/dx = 2x
        tensor([2., 4., 6.])
    """

    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # 让 ndarray + Tensor 走 Tensor.__radd__

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        from .creation import _to_array
        self._data = _to_array(data, dtype, device)
        self.grad = None
        self.grad_fn = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, arr, requires_grad=False):
        """内部用的快速构造：不检查、不复制。"""
        if not backend.is_array(arr):  # NumPy 的全局归约返回标量，包成 0 维数组
            arr = np.asarray(arr)
        t = object.__new__(cls)
        t._data, t.requires_grad, t.grad, t.grad_fn, t._retains_grad = arr, requires_grad, None, None, False
        return t

    # ------------------------------------------------------------------ 属性
    @property
    def data(self):
        """原始数组（不经过自动微分）。优化器在 ``no_grad`` 下直接改写它。"""
        return self._data

    @data.setter
    def data(self, value):
        value = value.data if isinstance(value, Tensor) else value
        if not backend.is_array(value):
            raise TypeError(f"Tensor.data 只能设为数组，得到 {type(value).__name__}。")
        self._data = value

    @property
    def shape(self):
        return tuple(self._data.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[self._dim(dim)]

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        return backend.device_of(self._data)

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def xp(self):
        """与数据配套的数组模块（numpy / cupy）。"""
        return backend.get_array_module(self._data)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("0 维张量 (0-d tensor) 没有长度 (len)。")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ 转换
    def numpy(self):
        """返回与张量共享内存的 NumPy 数组（只在 CPU 上、且不需要梯度时可用，与 PyTorch 相同）。"""
        if self.requires_grad:
            raise RuntimeError("不能对需要梯度的张量调用 numpy()。提示：用 tensor.detach().numpy()。")
        if self.device != "cpu":
            raise TypeError(f"张量在 '{self.device}' 上，不能直接转成 NumPy。提示：先用 .cpu()。")
        return self._data

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"item() 只能用于只有一个元素的张量，而这个张量的形状是 {self.shape}。")
        return self._data.item()

    def tolist(self):
        return backend.to_numpy(self._data).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self.numel() != 1:
            raise TypeError("只有单元素的整数张量才能当作下标使用。")
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(
                f"含多个元素的张量 (shape={self.shape}) 的真值有歧义 (ambiguous)。提示：用 .any() 或 .all()。")
        return bool(self.item())

    def to(self, *args, dtype=None, device=None):
        """换设备或 dtype：``x.to("cuda")``、``x.to(tg.float64)``、``x.to("cpu", tg.float32)``。可微。"""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) and not a.startswith(("float", "int", "uint", "bool")):
                device = a
            else:
                dtype = a
        out = self
        if device is not None:
            device = backend.normalize_device(device)
            if device != self.device:
                out = M.ToDevice.apply(out, device)
        if dtype is not None:
            dtype = dtypes.to_dtype(dtype)
            if dtype != out.dtype:
                out = E.Cast.apply(out, dtype)
        return out

    def astype(self, dtype):
        return self.to(dtype=dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(dtype=dtypes.float32)

    def double(self):
        return self.to(dtype=dtypes.float64)

    def long(self):
        return self.to(dtype=dtypes.int64)

    def bool(self):
        return self.to(dtype=dtypes.bool_)

    # ------------------------------------------------------------------ 自动微分
    def requires_grad_(self, requires_grad=True):
        """原地设置 ``requires_grad``。只有浮点张量才能求梯度。"""
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise RuntimeError(
                f"只有浮点张量 (floating point tensor) 才能求梯度，而这个张量的 dtype 是 {self.dtype}。"
                "提示：用 .float() 转换，或创建时传 dtype=tg.float32。")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("只能修改叶子张量的 requires_grad。提示：对中间结果用 .detach()。")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """让中间张量在反向传播后也保留 ``.grad``（默认只有叶子张量保留）。"""
        if not self.requires_grad:
            raise RuntimeError("不需要梯度的张量不能 retain_grad()。")
        if self.grad_fn is not None:
            self._retains_grad = True
        return self

    @property
    def retains_grad(self):
        return self._retains_grad

    def clone(self):
        """复制数据得到新张量（与原张量不共享内存）；可微，梯度原样传回。"""
        return M.Clone.apply(self)

    def detach(self):
        """返回共享数据、但与计算图断开的新张量（分离 detach）。"""
        return Tensor._make(self._data, False)

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """反向传播：计算梯度并累加到叶子张量的 ``.grad``。

        参数:
            gradient: 输出的上游梯度 (upstream gradient)；标量输出可省略（默认为 1）。
            retain_graph: 保留计算图以便再次反向；默认等于 create_graph。
            create_graph: 把反向计算也记进计算图，用于求二阶导数。
        """
        if retain_graph is None:
            retain_graph = create_graph
        autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    # ------------------------------------------------------------------ 打印
    def __repr__(self):
        arr = backend.to_numpy(self._data)
        body = np.array2string(arr, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (dtypes.float32, dtypes.int64, dtypes.bool_) or (arr.size == 0):
            extras.append(f"dtype=tinygrad_zh.{self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ------------------------------------------------------------------ 内部工具
    def _dim(self, dim, ndim=None):
        """把可能为负的维度号规范成非负的；越界时给出清楚的错误。"""
        ndim = self.ndim if ndim is None else ndim
        d = int(dim)
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"维度超出范围 (dimension out of range)：dim={dim}，但张量是 {self.ndim} 维的 (shape={self.shape})，"
                f"dim 应在 [{-max(ndim, 1)}, {max(ndim, 1) - 1}] 之内。")
        return d % ndim if ndim else 0

    def _dims(self, dim):
        """``dim`` 可以是 None（全部）、整数或元组；返回排好序的非负元组或 None。

        0 维张量上 dim=0 / -1 合法（同 PyTorch），对应“不归约任何轴”，即空元组。
        """
        if dim is None:
            return None
        dims = [self._dim(d) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"维度 {tuple(dim)} 中有重复 (dim appears multiple times)。")
        return () if self.ndim == 0 else tuple(sorted(dims))

    def _operand(self, other):
        """把另一个操作数整理成可以交给 Function 的形式，并统一 dtype（像 PyTorch 一样提升）。"""
        if isinstance(other, Tensor):
            a, b = self, other
            if a._data.dtype != b._data.dtype:
                common = _promote_types(a.dtype, b.dtype, a.ndim, b.ndim)
                a, b = a.to(dtype=common), b.to(dtype=common)
            return a, b
        if isinstance(other, (numbers.Number, np.generic)):
            a = self
            if isinstance(other, np.generic):
                other = other.item()  # NumPy 标量是“强类型”，会把 float32 提升成 float64
            if isinstance(other, float) and not dtypes.is_floating(a.dtype):
                a = a.to(dtype=dtypes.get_default_dtype())
            elif isinstance(other, int) and not isinstance(other, bool) and a.dtype == dtypes.bool_:
                a = a.to(dtype=dtypes.int64)
            return a, other
        if backend.is_array(other):
            from .creation import tensor
            return self._operand(tensor(other, device=self.device))
        return None, None

    def _binary(self, fn, other, reflected=False):
        a, b = self._operand(other)
        if a is None:
            return NotImplemented
        if reflected:
            a, b = b, a
        try:
            return fn.apply(a, b)
        except ValueError as e:
            sa = a.shape if isinstance(a, Tensor) else "标量"
            sb = b.shape if isinstance(b, Tensor) else "标量"
            raise RuntimeError(
                f"广播失败 (broadcasting)：{fn.__name__} 的两个操作数形状为 {sa} 和 {sb}，无法广播到同一形状。"
                "规则：从最后一维往前对齐，每一维要么相等，要么其中一个是 1。") from e

    def _compare(self, op, other):
        a, b = self._operand(other)
        if a is None:
            return NotImplemented
        b = b._data if isinstance(b, Tensor) else b
        return Tensor._make(op(a._data, b), False)

    # ------------------------------------------------------------------ 运算符
    def __add__(self, o): return self._binary(E.Add, o)
    def __radd__(self, o): return self._binary(E.Add, o, True)
    def __sub__(self, o): return self._binary(E.Sub, o)
    def __rsub__(self, o): return self._binary(E.Sub, o, True)
    def __mul__(self, o): return self._binary(E.Mul, o)
    def __rmul__(self, o): return self._binary(E.Mul, o, True)

    def __truediv__(self, o):
        x = self if dtypes.is_floating(self.dtype) else self.float()  # 整数相除得浮点数
        return x._binary(E.Div, o)

    def __rtruediv__(self, o):
        x = self if dtypes.is_floating(self.dtype) else self.float()
        return x._binary(E.Div, o, True)

    def __pow__(self, o):
        if isinstance(o, (numbers.Number, np.generic)) and not isinstance(o, bool):
            o = o.item() if isinstance(o, np.generic) else o
            x = self if dtypes.is_floating(self.dtype) or isinstance(o, int) else self.float()
            return E.Pow.apply(x, o)
        return self._binary(E.PowTensor, o)

    def __rpow__(self, o):
        if isinstance(o, (numbers.Number, np.generic)):
            o = o.item() if isinstance(o, np.generic) else o
            if isinstance(o, int) and not dtypes.is_floating(self.dtype):
                return Tensor._make(o ** self._data, False)  # 整数的整数次幂仍是整数，不可微
        return self._binary(E.PowTensor, o, True)

    def __matmul__(self, o): return self.matmul(o)

    def __rmatmul__(self, o):
        from .creation import tensor
        return tensor(o, device=self.device).matmul(self)

    def __neg__(self): return E.Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return self.abs()

    def __lt__(self, o): return self._compare(lambda a, b: a < b, o)
    def __le__(self, o): return self._compare(lambda a, b: a <= b, o)
    def __gt__(self, o): return self._compare(lambda a, b: a > b, o)
    def __ge__(self, o): return self._compare(lambda a, b: a >= b, o)
    def __eq__(self, o): return self._compare(lambda a, b: a == b, o)
    def __ne__(self, o): return self._compare(lambda a, b: a != b, o)
    def __and__(self, o): return self._compare(lambda a, b: a & b, o)
    def __or__(self, o): return self._compare(lambda a, b: a | b, o)
    def __xor__(self, o): return self._compare(lambda a, b: a ^ b, o)
    def __invert__(self): return Tensor._make(~self._data, False)

    def add(self, other): return self + other
    def sub(self, other): return self - other
    def mul(self, other): return self * other
    def div(self, other): return self / other
    def pow(self, exponent): return self ** exponent
    def neg(self): return -self

    # ------------------------------------------------------------------ 按元素
    def exp(self): return E.Exp.apply(self._floating())
    def log(self): return E.Log.apply(self._floating())
    def sqrt(self): return E.Sqrt.apply(self._floating())
    def abs(self): return E.Abs.apply(self)
    def tanh(self): return E.Tanh.apply(self._floating())
    def sigmoid(self): return E.Sigmoid.apply(self._floating())
    def relu(self): return E.Relu.apply(self)
    def square(self): return self ** 2

    def _floating(self):
        return self if dtypes.is_floating(self.dtype) else self.float()

    def maximum(self, other): return self._binary(E.Maximum, other)
    def minimum(self, other): return self._binary(E.Minimum, other)

    # ------------------------------------------------------------------ 矩阵乘法
    def matmul(self, other):
        """矩阵乘法，规则同 torch.matmul（一维、二维、批量广播）。"""
        if not isinstance(other, Tensor):
            from .creation import tensor
            other = tensor(other, device=self.device)
        a, b = self._operand(other)
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(f"matmul 的两个操作数都至少要是一维的，得到 {a.shape} @ {b.shape}。")
        k_a = a.shape[-1]
        k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k_a != k_b:
            raise RuntimeError(
                f"形状不匹配 (shape mismatch)：matmul 需要 a.shape[-1] == b.shape[-2]，但得到 {a.shape} @ {b.shape}"
                f"（{k_a} ≠ {k_b}）。提示：检查是否需要转置 (.T) 其中一个。")
        try:
            return MatMul.apply(a, b)
        except ValueError as e:
            raise RuntimeError(
                f"广播失败 (broadcasting)：matmul 的批量维度 {a.shape[:-2]} 与 {b.shape[:-2]} 无法广播。") from e
