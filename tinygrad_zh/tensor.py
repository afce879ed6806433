"""张量 (Tensor)：一块数组，加上自动微分需要的几样东西。

- ``.data``：原始数组（numpy.ndarray，或 GPU 上的 cupy.ndarray）；
- ``.requires_grad``：是否需要对它求梯度；
- ``.grad``：反向传播后累加到这里的梯度（也是 Tensor）；
- ``.grad_fn``：产生它的运算（计算图里的节点），叶子张量 (leaf tensor) 为 None。

所有可微运算都经过 ``Function.apply``（见 autograd/ 与 ops/），这里的方法只负责检查参数、
整理维度，然后把活交给对应的 Function。名字、参数名、默认值都与 PyTorch 相同。

本文件按主题分节：创建与属性、算术、归约、形状与索引、转换与设备、自动微分，最后是组合多个张量的
``where`` / ``cat`` / ``stack``。
"""

from __future__ import annotations

import numbers
from collections import namedtuple

import numpy as np

from . import autograd, backend, dtypes
from .autograd import higher_order, is_tensor
from .ops import elementwise as E, movement as M, nn as N, reduce as R
from .ops.matmul import Matmul

MaxMin = namedtuple("MaxMin", ["values", "indices"])  # 同 torch.return_types.max


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


def _shape_arg(shape):
    """``reshape(2, 3)`` 与 ``reshape((2, 3))`` 两种写法都接受。"""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def as_array(data, dtype=None, device=None):
    """把数据变成目标设备上的数组。已经合适的数组原样返回（不复制）。

    Python 浮点数与列表 → 默认浮点类型（float32），整数 → int64，布尔 → bool；
    数组与 NumPy 标量保持自己的 dtype，列表里的 NumPy 标量也算数（``[np.float64(1.5)]`` → float64），同 PyTorch。
    超出 int64 的 Python 整数不能放进整数张量：报 OverflowError，而不是悄悄变成负数。
    """
    if is_tensor(data):
        data = data.data
    if backend.is_array(data):
        if device is not None:
            data = backend.to_device(data, backend.normalize_device(device))
        if dtype is not None:
            data = data.astype(dtypes.to_dtype(dtype), copy=False)
        return data
    try:
        host = np.array(data)
    except ValueError as e:
        raise ValueError(f"无法从这些数据创建张量（各行长度不一致？）：{e}") from None
    if host.dtype.kind not in "biufO":
        raise TypeError(f"无法从 {type(data).__name__} 创建张量：元素必须是数字或布尔值。")
    if isinstance(data, np.generic):
        target = dtypes.to_dtype(dtype) if dtype is not None else host.dtype  # NumPy 标量保持自己的 dtype
    elif dtype is not None:
        target = dtypes.to_dtype(dtype)
        if target.kind != "f" and host.dtype.kind in "ufO":  # [2**63] 是 uint64、[2**63, -1] 是 float64
            _check_int64_range(_infer_dtype(data))
    elif host.dtype in (np.int64, np.bool_, dtypes.get_default_dtype()):
        target = host.dtype  # 最常见的情形：NumPy 推断的就是 PyTorch 会给的，不必逐个看元素
    else:  # float64（Python 浮点数，还是 NumPy 的 float64？）、较窄的整数、uint64 / object（超大的整数）
        target, huge = _infer_dtype(data)
        if target.kind != "f":
            _check_int64_range((target, huge))
    if target.kind == "O":
        raise TypeError(f"无法从 {type(data).__name__} 创建张量：元素必须是数字或布尔值。")
    try:
        host = host.astype(target, copy=False)
    except (TypeError, ValueError):
        raise TypeError(f"无法从 {type(data).__name__} 创建张量：元素必须是数字或布尔值。") from None
    return backend.to_device(host, backend.normalize_device(device))


def _check_int64_range(inferred):
    """``_infer_dtype`` 找到了超出 int64 的 Python 整数、而结果又是整数张量时报错（同 PyTorch：Overflow）。"""
    huge = inferred[1]
    if huge is not None:
        raise OverflowError(
            f"整数 {huge} 超出 int64 的范围 [{-2**63}, {2**63 - 1}]，无法放进整数张量（同 PyTorch 的 Overflow）。"
            "提示：需要这么大的数时用浮点数，例如传 dtype=tg.float64。")


def _infer_dtype(data):
    """逐个看（嵌套）列表的元素，按 PyTorch 的规则推断 dtype：Python 浮点数 → 默认浮点类型，整数 → int64，
    布尔 → bool；NumPy 标量、数组与张量用它们自己的 dtype；再按类型提升合起来（``[np.float64(1.5)]`` → float64，
    ``[np.float64(1.5), 2.0]`` → float64，``[np.int32(3)]`` → int32，``[np.int32(3), 2.5]`` → float32）。

    返回 (dtype, 第一个超出 int64 范围的 Python 整数或 None)。没有数字元素时 dtype 为 object。
    """
    # 一层一层地展开：每层先用 set(map(type, ...)) 看有哪些类型（C 的速度），百万个元素的列表也只要几十毫秒
    seen, int_levels, level = set(), [], [data]
    while level:
        types = set(map(type, level))
        if list in types or tuple in types:
            deeper = []
            for x in level:
                if isinstance(x, (list, tuple)):
                    deeper.extend(x)
                else:
                    deeper.append(x)
            level = deeper
            continue
        for t in types:
            if issubclass(t, np.generic):  # 先于 float：np.float64 是 float 的子类
                seen.add(np.dtype(t))
            elif t is bool:
                seen.add(dtypes.bool_)
            elif issubclass(t, int):
                seen.add(dtypes.int64)
                int_levels.append((level, t))
            elif issubclass(t, float):
                seen.add(dtypes.get_default_dtype())
            else:  # 数组、张量：各有各的 dtype
                seen.update(np.dtype(x.dtype) for x in level if type(x) is t and hasattr(x, "dtype"))
        level = []
    result = None
    for d in seen:
        result = d if result is None else _promote_types(result, d)
    huge = None
    if result is not None and result.kind != "f":  # 结果是浮点时大整数放得下，不必找
        huge = next((x for lv, t in int_levels for x in lv if type(x) is t and not -2**63 <= x < 2**63), None)
    return (np.dtype(object) if result is None else result), huge


class Tensor:
    """张量。``Tensor(data)`` 把数据包成张量：数组原样使用、不复制（同 ``torch.as_tensor``）；
    要复制一份时用 ``tg.tensor(data)``。

    例::

        >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = (x * x).sum()
        >>> y.backward()
        >>> x.grad        # dy/dx = 2x
        tensor([2., 4., 6.])
    """

    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_retains_grad", "_version", "__weakref__")
    __array_priority__ = 1000  # 让 ndarray + Tensor 走 Tensor.__radd__

    # ================================================================== 创建与属性
    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        if dtype is None and device is None and backend.is_array(data):
            self._data = data  # 每个运算的结果都走这里：已经是数组，原样包起来
        else:
            self._data = as_array(data, dtype, device)
        self.grad = None
        self.grad_fn = None
        self._retains_grad = False
        self._version = 0  # 原地修改的次数：反向时发现保存的张量被改过就报错（同 PyTorch 的 _version）
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

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

    def is_floating_point(self):
        """是不是浮点张量（只有浮点张量能求梯度）。"""
        return self._data.dtype.kind == "f"

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

    # ================================================================== 算术：运算符、按元素函数、矩阵乘法
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

    def _reduce_dims(self, dim):
        """归约 (sum、mean、var、std、amax、amin、logsumexp) 的 ``dim``：同 ``_dims``，
        但 ``dim=()`` 与 ``dim=[]`` 表示归约全部维度（同 PyTorch），而不是“什么都不归约”。"""
        if isinstance(dim, (tuple, list)) and len(dim) == 0:
            return None
        return self._dims(dim)

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
            if isinstance(other, float) and not a.is_floating_point():
                a = a.to(dtype=dtypes.get_default_dtype())
            elif isinstance(other, int) and not isinstance(other, bool) and a.dtype == dtypes.bool_:
                a = a.to(dtype=dtypes.int64)
            return a, other
        if backend.is_array(other):
            return self._operand(Tensor(other, device=self.device))
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
        return Tensor(op(a._data, b))

    def __add__(self, o): return self._binary(E.Add, o)
    def __radd__(self, o): return self._binary(E.Add, o, True)
    def __sub__(self, o): return self._binary(E.Sub, o)
    def __rsub__(self, o): return self._binary(E.Sub, o, True)
    def __mul__(self, o): return self._binary(E.Mul, o)
    def __rmul__(self, o): return self._binary(E.Mul, o, True)

    def __truediv__(self, o):
        x = self if self.is_floating_point() else self.float()  # 整数相除得浮点数
        return x._binary(E.Div, o)

    def __rtruediv__(self, o):
        x = self if self.is_floating_point() else self.float()
        return x._binary(E.Div, o, True)

    def __pow__(self, o):
        if isinstance(o, (numbers.Number, np.generic)) and not isinstance(o, bool):
            o = o.item() if isinstance(o, np.generic) else o
            x = self if self.is_floating_point() or isinstance(o, int) else self.float()
            return E.Pow.apply(x, o)
        return self._binary(E.PowTensor, o)

    def __rpow__(self, o):
        if isinstance(o, (numbers.Number, np.generic)):
            o = o.item() if isinstance(o, np.generic) else o
            if isinstance(o, int) and not self.is_floating_point():
                return Tensor(o ** self._data)  # 整数的整数次幂仍是整数，不可微
        return self._binary(E.PowTensor, o, True)

    def __floordiv__(self, o): return self._binary(E.FloorDivide, o)
    def __rfloordiv__(self, o): return self._binary(E.FloorDivide, o, True)
    def __mod__(self, o): return self._binary(E.Remainder, o)
    def __rmod__(self, o): return self._binary(E.Remainder, o, True)

    def floor_divide(self, other):
        """⌊self / other⌋，向负无穷取整（同 ``//`` 与 PyTorch）：−7 // 2 = −4。整数得整数；
        不可导，反向传播经过它时报错（同 PyTorch）。"""
        return self // other

    def remainder(self, other):
        """self − other·⌊self / other⌋：余数的符号与除数相同（同 ``%`` 与 PyTorch）：−7 % 3 = 2。
        导数：对 self 为 1，对 other 为 −⌊self / other⌋。"""
        return self % other

    def __matmul__(self, o): return self.matmul(o)

    def __rmatmul__(self, o):
        return Tensor(o, device=self.device).matmul(self)

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
    def __invert__(self): return Tensor(~self._data)

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
    def tanh(self): return N.Tanh.apply(self._floating())
    def sigmoid(self): return N.Sigmoid.apply(self._floating())
    def relu(self): return N.Relu.apply(self)
    def square(self): return self ** 2

    def _floating(self):
        return self if self.is_floating_point() else self.float()

    def maximum(self, other): return self._binary(E.Maximum, other)
    def minimum(self, other): return self._binary(E.Minimum, other)

    # ------------------------------------------------------------------ 矩阵乘法
    def matmul(self, other):
        """矩阵乘法，规则同 torch.matmul（一维、二维、批量广播）。"""
        if not isinstance(other, Tensor):
            other = Tensor(other, device=self.device)
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
            return Matmul.apply(a, b)
        except ValueError as e:
            raise RuntimeError(
                f"广播失败 (broadcasting)：matmul 的批量维度 {a.shape[:-2]} 与 {b.shape[:-2]} 无法广播。") from e

    def clamp(self, min=None, max=None):
        """把元素截到 [min, max] 区间；min、max 可以是数或张量。"""
        if min is None and max is None:
            raise RuntimeError("clamp 至少需要 min 或 max 之一。")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            # 用 where 而不是 maximum / minimum：边界上梯度整份给 self（同 PyTorch），而不是平分
            out = self
            if min is not None:
                out = where(out < min, min, out)
            if max is not None:
                out = where(out > max, max, out)
            return out
        x = self
        if any(isinstance(v, float) for v in (min, max)) and not self.is_floating_point():
            x = self.float()
        return E.Clamp.apply(x, min, max)

    clip = clamp

    # ================================================================== 归约：沿某些维度把很多数变成一个数
    def sum(self, dim=None, keepdim=False):
        """沿 dim 求和；dim 可以是整数、元组，None 或 ``()`` 表示全部（同 PyTorch）。"""
        return R.Sum.apply(self, self._reduce_dims(dim), keepdim)

    def mean(self, dim=None, keepdim=False):
        """沿 dim 求平均；dim 的写法同 ``sum``。空张量的平均是 nan（同 PyTorch）。"""
        if not self.is_floating_point():
            raise RuntimeError(
                f"mean() 需要浮点张量，而这个张量是 {self.dtype}（同 PyTorch）。提示：先 .float()。")
        return R.Mean.apply(self, self._reduce_dims(dim), keepdim)

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        """方差；默认无偏 (unbiased，除以 n − 1)，与 PyTorch 相同。"""
        correction = (1 if unbiased else 0) if correction is None else correction
        return R.Var.apply(self._floating(), self._reduce_dims(dim), correction, keepdim)

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        """标准差 √var；元素全相等的那一片梯度为 0（同 PyTorch），不是 0·∞ = nan。"""
        correction = (1 if unbiased else 0) if correction is None else correction
        return R.Std.apply(self._floating(), self._reduce_dims(dim), correction, keepdim)

    def amax(self, dim=(), keepdim=False):
        """沿 dim 的最大值（默认 ``()``：全部）；并列的元素平分梯度（``max(dim)`` 则把梯度只给一个下标）。"""
        return self._amax_amin(R.Amax, "amax", dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        """沿 dim 的最小值（默认 ``()``：全部）；并列的元素平分梯度。"""
        return self._amax_amin(R.Amin, "amin", dim, keepdim)

    def _amax_amin(self, fn, name, dim, keepdim):
        axis = self._reduce_dims(dim)
        if axis is None and self.numel() == 0:  # 异常类型同 PyTorch：没给 dim 是 RuntimeError，给了是 IndexError
            raise RuntimeError(f"{name}()：空张量 (shape={self.shape}) 没有最大 / 最小值，请用 dim 指定归约的维度 "
                               "(Expected reduction dim to be specified for input.numel() == 0)。")
        for d in axis or ():
            if self.shape[d] == 0:
                raise IndexError(f"{name}() 不能沿长度为 0 的第 {d} 维归约（张量形状 {self.shape}）：空集合没有最大 / 最小值 "
                                 f"(Expected reduction dim {d} to have non-zero size)。")
        return fn.apply(self, axis, keepdim)

    def _index_along(self, idx, d):
        """按 dim=d 上的下标数组 idx（形状 = 去掉第 d 维）取出元素，可微。"""
        xp = self.xp
        out_ndim = self.ndim - 1
        key = []
        for i, n in enumerate(self.shape):
            if i == d:
                key.append(idx)
                continue
            j = i if i < d else i - 1
            shape = [1] * out_ndim
            shape[j] = n
            key.append(xp.reshape(xp.arange(n), shape))
        return M.Getitem.apply(self, tuple(key))

    def _extremum(self, dim, keepdim, full_fn, arg):
        if dim is None:
            return full_fn.apply(self)
        d = self._dim(dim)
        if self.ndim == 0:
            return MaxMin(self, Tensor(self.xp.zeros((), dtype=np.int64)))
        idx = getattr(self.xp, arg)(self._data, axis=d)
        values = self._index_along(idx, d)
        indices = Tensor(idx)
        if keepdim:
            values, indices = values.unsqueeze(d), indices.unsqueeze(d)
        return MaxMin(values, indices)

    def max(self, dim=None, keepdim=False):
        """不给 dim：全局最大值（并列时梯度平分）。给 dim：返回 (values, indices)，梯度只给一个下标。"""
        return self._extremum(dim, keepdim, R.Max, "argmax")

    def min(self, dim=None, keepdim=False):
        return self._extremum(dim, keepdim, R.Min, "argmin")

    def argmax(self, dim=None, keepdim=False):
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg("argmin", dim, keepdim)

    def _arg(self, name, dim, keepdim):
        xp = self.xp
        if dim is None:
            out = getattr(xp, name)(self._data)
            return Tensor(xp.reshape(out, (1,) * self.ndim) if keepdim else out)
        return Tensor(getattr(xp, name)(self._data, axis=self._dim(dim), keepdims=keepdim))

    def any(self):
        return Tensor(self.xp.any(self._data))

    def all(self):
        return Tensor(self.xp.all(self._data))

    def softmax(self, dim):
        return R.Softmax.apply(self._floating(), self._dim(dim))

    def log_softmax(self, dim):
        return R.LogSoftmax.apply(self._floating(), self._dim(dim))

    def logsumexp(self, dim, keepdim=False):
        """log Σ exp(x) 沿 dim；dim 可以是整数或元组，如 ``x.logsumexp((0, 1))``（同 PyTorch）。"""
        return R.Logsumexp.apply(self._floating(), self._reduce_dims(dim), keepdim)


    # ================================================================== 形状与索引：只改变元素的排列，不改变数值
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        try:
            return M.Reshape.apply(self, shape)
        except ValueError:
            raise RuntimeError(
                f"形状不匹配 (shape mismatch)：无法把形状 {self.shape}（{self.numel()} 个元素）reshape 成 {shape}。"
            ) from None

    view = reshape

    def contiguous(self):
        """为兼容 PyTorch 的写法（``y.transpose(1, 2).contiguous().view(B, T, C)``）而保留，返回自身。

        PyTorch 的 ``view`` 要求内存连续；这里的 ``view`` 就是 ``reshape``，需要时会自己复制，所以不必先变连续。
        """
        return self

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute 需要 {self.ndim} 个维度，得到 {dims}（张量形状 {self.shape}）。")
        dims = tuple(self._dim(d) for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute 的维度 {dims} 不是 0..{self.ndim - 1} 的一个排列。")
        return M.Permute.apply(self, dims)

    def transpose(self, dim0, dim1):
        if self.ndim == 0:
            self._dim(dim0), self._dim(dim1)  # 只检查范围
            return M.Permute.apply(self, ())
        dims = list(range(self.ndim))
        d0, d1 = self._dim(dim0), self._dim(dim1)
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return M.Permute.apply(self, tuple(dims))

    @property
    def T(self):
        return M.Permute.apply(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def unsqueeze(self, dim):
        d = self._dim(dim, self.ndim + 1)
        shape = self.shape
        return M.Reshape.apply(self, shape[:d] + (1,) + shape[d:])

    def squeeze(self, dim=None):
        dims = self._dims(dim) if dim is not None else range(self.ndim)
        drop = {d for d in dims if self.shape[d] == 1}
        return M.Reshape.apply(self, tuple(s for i, s in enumerate(self.shape) if i not in drop))

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = self._dim(start_dim), self._dim(end_dim)
        if s > e:
            raise RuntimeError(f"flatten 的 start_dim ({start_dim}) 不能在 end_dim ({end_dim}) 之后。")
        shape = self.shape
        return M.Reshape.apply(self, shape[:s] + (-1,) + shape[e + 1:])

    def flip(self, *dims):
        """沿 dims 里的每一维把元素倒过来（同 ``torch.flip``）：``x.flip(0)``、``x.flip((0, 1))``、``x.flip([-1])``。

        返回新的内存（不是视图）；梯度沿同样的维倒回去。
        """
        return M.Flip.apply(self, self._dims(_shape_arg(dims)))

    def expand(self, *sizes):
        """广播到更大的形状（-1 表示该维不变），不复制数据。"""
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand 的目标维数 {len(sizes)} 少于张量的维数 {self.ndim}（shape={self.shape}）。")
        target = []
        for i, s in enumerate(sizes):
            cur = self.shape[i - lead] if i >= lead else None
            if s == -1:
                if cur is None:
                    raise RuntimeError(f"expand：新增的前导维不能是 -1，得到 {sizes}。")
                s = cur
            if cur is not None and cur != 1 and cur != s:
                raise RuntimeError(
                    f"形状不匹配 (shape mismatch)：无法把 {self.shape} expand 成 {sizes}：第 {i} 维 {cur} 既不是 1 也不等于 {s}。")
            target.append(s)
        return M.Expand.apply(self, tuple(target))

    def expand_as(self, other):
        return self.expand(other.shape)

    def __getitem__(self, key):
        """索引 (indexing)：规则与 PyTorch 相同。

        整数（含 0 维整数张量）、切片、None、``...`` 是基本索引 (basic indexing)；整数数组/列表/张量与
        布尔掩码 (boolean mask) 是高级索引 (advanced indexing)，uint8 张量也当作掩码（同 PyTorch）。
        下标里整数（或 ``...``）与高级下标同在时，先做基本索引，再在剩下的维上做高级索引
        （见 ``_getitem_basic_then_advanced``）。
        """
        key, split = self._index_key(key)
        if split:
            return self._getitem_basic_then_advanced(key)
        try:
            return M.Getitem.apply(self, key)
        except IndexError as e:
            raise IndexError(self._index_error(e)) from None

    def _index_key(self, key):
        """把下标整理成数组模块认识的元组，返回 ``(key, split)``。

        张量换成它的数组、列表换成数组、uint8 换成布尔掩码、0 维张量换成 Python 的 int / bool。
        ``split`` 为 True 表示高级下标与整数或 ``...`` 同在：NumPy 与 PyTorch 在这里不同，要分两步做
        （NumPy 把长度为 0 的 ``...`` 也当成隔开两个下标数组的东西，PyTorch 不这样）。
        """
        items = key if isinstance(key, tuple) else (key,)
        out = []
        has_int = has_adv = False  # has_int：有整数（含 0 维整数张量）或 ...
        for k in items:
            if isinstance(k, slice) or k is None:
                pass
            elif k is Ellipsis:
                has_int = True
            elif isinstance(k, (bool, np.bool_)):  # bool 是 int 的子类，要先判断；它在 PyTorch 里是高级下标
                k, has_adv = bool(k), True
            elif isinstance(k, (int, np.integer)):
                k, has_int = int(k), True
            else:
                if isinstance(k, Tensor):
                    if k.device != self.device:
                        raise RuntimeError(
                            f"设备不一致 (device mismatch)：下标在 '{k.device}' 上，张量在 '{self.device}' 上。")
                    k = k._data
                elif isinstance(k, (list, tuple)):
                    k = self.xp.asarray(k)
                    if k.size == 0:
                        k = k.astype(np.int64)
                if not backend.is_array(k):
                    raise IndexError(
                        f"不支持的下标类型 (index type) {type(k).__name__}（值 {k!r}）：下标只能是整数、切片、None、"
                        f"...、整数或布尔张量（或列表）。")
                if k.dtype.kind not in "iub":
                    raise IndexError(f"下标张量必须是整数或布尔类型，得到 {k.dtype}。")
                if k.dtype == np.uint8:  # 同 PyTorch：uint8 下标是掩码（PyTorch 已不推荐），不是整数下标
                    k = k.astype(np.bool_)
                if k.ndim == 0:  # 0 维张量与 Python 数同样处理（同 PyTorch）
                    if k.dtype.kind == "b":
                        k, has_adv = bool(k), True
                    else:
                        k, has_int = int(k), True
                else:
                    has_adv = True
            out.append(k)
        return tuple(out), has_int and has_adv

    def _getitem_basic_then_advanced(self, key):
        """PyTorch 的规则：整数、切片、None、``...`` 先作为基本索引取出视图，再在剩下的维上做高级索引。

        NumPy 把被切片、None 或 ``...`` 与下标数组隔开的整数也当成高级下标，广播出的维就挪到了最前面：
        (3, 3, 3) 的 ``x[0, :, [1, 2, 0]]`` 在 NumPy 里是 PyTorch 结果的转置。这里分成两个 Getitem：
        第一步只有基本下标（下标数组的位置换成 ``:``；全是 ``:`` 时省掉这一步），第二步只有高级下标
        （整数消掉的维不再出现，切片与 None 的位置换成 ``:``，``...`` 展开成它代表的那几个 ``:``）；
        第二步里没有整数和 ``...``，NumPy 放置广播维的规则就与 PyTorch 相同。
        Python 的 True / False 与 PyTorch 一样：先插入长为 1 的新维，再用下标 [0] 或空下标取它。
        """
        n_ellipsis = sum(k is Ellipsis for k in key)
        if n_ellipsis > 1:
            raise IndexError(f"下标里最多只能有一个省略号 (Ellipsis, ...)，得到 {n_ellipsis} 个。")
        used = sum(k.ndim if backend.is_array(k) and k.dtype.kind == "b" else
                   0 if k is None or k is Ellipsis or isinstance(k, bool) else 1 for k in key)
        if used > self.ndim:
            raise IndexError(
                f"下标过多 (too many indices)：张量是 {self.ndim} 维的（shape={self.shape}），而下标用到了 {used} 维。")
        full = slice(None)
        basic, adv = [], []
        for k in key:
            if k is Ellipsis:
                basic += [full] * (self.ndim - used)
                adv += [full] * (self.ndim - used)
            elif k is None:
                basic.append(None)
                adv.append(full)
            elif isinstance(k, bool):
                basic.append(None)
                adv.append(self.xp.arange(int(k), dtype=np.int64))
            elif isinstance(k, int):
                basic.append(k)
            elif isinstance(k, slice):
                basic.append(k)
                adv.append(full)
            else:  # 下标数组：整数数组占一维，布尔掩码占 k.ndim 维
                basic += [full] * (k.ndim if k.dtype.kind == "b" else 1)
                adv.append(k)
        try:
            y = self if all(k == full for k in basic) else M.Getitem.apply(self, tuple(basic))
            return M.Getitem.apply(y, tuple(adv))
        except IndexError as e:
            raise IndexError(self._index_error(e)) from None

    def _index_error(self, e):
        """把数组模块的 IndexError 换成中文说明，写明张量的形状。"""
        msg = str(e)
        if "shape mismatch" in msg:
            return f"下标形状不匹配 (shape mismatch)：各个下标数组无法广播成同一形状（张量形状为 {self.shape}）：{msg}"
        if "boolean index did not match" in msg:
            return f"布尔掩码 (boolean mask) 的形状与张量形状 {self.shape} 不匹配：{msg}"
        if "too many indices" in msg:
            return f"下标过多 (too many indices)：张量形状为 {self.shape}，下标出错：{msg}"
        if "single ellipsis" in msg:
            return f"下标里最多只能有一个省略号 (Ellipsis, ...)（张量形状为 {self.shape}）：{msg}"
        return f"索引越界 (index out of range)：张量形状为 {self.shape}，下标出错：{msg}"

    def split(self, split_size_or_sections, dim=0):
        """沿 dim 切成若干块：整数表示每块大小（最后一块可以更小），列表表示各块大小。"""
        if self.ndim == 0:
            raise RuntimeError("split / chunk 需要至少一维的张量，而这是一个 0 维张量。")
        d = self._dim(dim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, int):
            step = split_size_or_sections
            if step <= 0:
                raise RuntimeError(f"split_size 必须为正数，得到 {step}。")
            sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise RuntimeError(f"split 的各块大小 {sizes} 之和为 {sum(sizes)}，但第 {d} 维的长度是 {n}。")
        lead = (slice(None),) * d
        out, start = [], 0
        for s in sizes:
            out.append(M.Getitem.apply(self, lead + (slice(start, start + s),)))
            start += s
        return tuple(out)

    def chunk(self, chunks, dim=0):
        if chunks <= 0:
            raise RuntimeError(f"chunks 必须为正数，得到 {chunks}。")
        n = self.shape[self._dim(dim)]
        if n == 0:
            return self.split([0] * chunks, dim)
        return self.split(-(-n // chunks), dim)


    def masked_fill(self, mask, value):
        """mask 为 True 的位置填上 value，其余保持不变；结果的 dtype 与 self 相同（同 PyTorch）。"""
        if isinstance(value, Tensor):
            if value.numel() != 1 or value.requires_grad:
                return where(mask, value.to(dtype=self.dtype), self)
            value = value.item()
        value = (float(value) if self.is_floating_point() else
                 bool(value) if self.dtype == dtypes.bool_ else int(value))
        return where(mask, value, self)

    def where(self, condition, other):
        return where(condition, self, other)

    def tril(self, diagonal=0):
        """下三角 (lower triangle)：最后两维里第 j > i + diagonal 的元素置 0（其余原样，梯度也原样传过）。"""
        return self._triangle(diagonal, lower=True)

    def triu(self, diagonal=0):
        """上三角 (upper triangle)：最后两维里第 j < i + diagonal 的元素置 0。"""
        return self._triangle(diagonal, lower=False)

    def _triangle(self, diagonal, lower):
        if self.ndim < 2:
            raise RuntimeError(f"{'tril' if lower else 'triu'} 需要至少二维的张量，得到形状 {self.shape}。")
        xp = self.xp
        n, m = self.shape[-2:]
        keep = xp.tril(xp.ones((n, m), dtype=bool), diagonal) if lower else xp.triu(xp.ones((n, m), dtype=bool), diagonal)
        return where(Tensor(keep), self, False if self.dtype == dtypes.bool_ else 0)  # 布尔张量仍是布尔（同 PyTorch）

    # ================================================================== 转换与设备
    def numpy(self):
        """返回与张量共享内存的 NumPy 数组（只在 CPU 上、且不需要梯度时可用，与 PyTorch 相同）。"""
        if self.requires_grad:
            raise RuntimeError("不能对需要梯度的张量调用 numpy()。提示：用 tensor.detach().numpy()。")
        if self.device != "cpu":
            raise TypeError(f"张量在 '{self.device}' 上，不能直接转成 NumPy。提示：先用 .cpu()。")
        return self._data

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``：与 ``numpy()`` 相同的规则（同 PyTorch）。需要梯度的张量会报错，
        免得 NumPy 把张量当成一串数、在计算图之外悄悄算下去。"""
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype, copy=False)

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
        if dtype is not None and dtype is not out.dtype:  # 同一个 dtype 对象：什么都不用做（热路径）
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

    def int(self):
        return self.to(dtype=dtypes.int32)

    def bool(self):
        return self.to(dtype=dtypes.bool_)

    # ================================================================== 自动微分
    def requires_grad_(self, requires_grad=True):
        """原地设置 ``requires_grad``。只有浮点张量才能求梯度。"""
        if requires_grad and not self.is_floating_point():
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
        return Tensor(self._data)

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """反向传播：计算梯度并累加到叶子张量的 ``.grad``。

        参数:
            gradient: 输出的上游梯度 (upstream gradient)；标量输出可省略（默认为 1）。
            retain_graph: 保留计算图以便再次反向；默认等于 create_graph。
            create_graph: 把反向计算也记进计算图，用于求二阶导数。
        """
        if create_graph:  # 反向本身也记进计算图：走高阶导数的引擎
            higher_order.backward(self, gradient, retain_graph=retain_graph is not False)
        else:
            autograd.backward(self, gradient, retain_graph=bool(retain_graph))


# ================================================================== 组合多个张量：where、cat、stack

def result_type(tensor1, tensor2):
    """两个张量运算时结果的 dtype（同 ``torch.result_type``）：``a + b``、``a @ b``、``F.linear`` 都按它提升。

    例：float32 张量与 int64 张量 → float32；float32 张量与 0 维 float64 张量 → float32。
    """
    if tensor1.dtype == tensor2.dtype:  # 最常见的情形，不必查提升规则
        return tensor1.dtype
    return _promote_types(tensor1.dtype, tensor2.dtype, tensor1.ndim, tensor2.ndim)


def _promote(tensors, who):
    if not tensors:
        raise ValueError(f"{who} 需要至少一个张量。")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    common = tensors[0].dtype
    for t in tensors[1:]:
        common = _promote_types(common, t.dtype)
    return [t.to(dtype=common) for t in tensors]


def cat(tensors, dim=0):
    """沿已有的维度 dim 拼接 (concatenate)。除 dim 外其余维度必须相同。"""
    tensors = _promote(list(tensors), "cat")
    ref = tensors[0]
    d = ref._dim(dim)
    for t in tensors[1:]:
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref.shape)) if i != d):
            raise RuntimeError(
                f"形状不匹配 (shape mismatch)：cat 沿 dim={dim} 拼接，除这一维外形状必须相同，"
                f"得到 {ref.shape} 和 {t.shape}。")
    return M.Cat.apply(*tensors, axis=d)


def stack(tensors, dim=0):
    """沿新的维度 dim 堆叠：所有张量形状必须相同。"""
    tensors = _promote(list(tensors), "stack")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack 要求所有张量形状相同，得到 {tensors[0].shape} 和 {t.shape}。")
    d = tensors[0]._dim(dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(d) for t in tensors], dim=d)


def where(condition, input, other):
    """condition 为 True 处取 input，否则取 other；input / other 可以是张量或数。"""
    if not isinstance(condition, Tensor):
        condition = Tensor(condition)
    if condition.dtype != dtypes.bool_:
        raise TypeError(f"where 的 condition 必须是布尔张量，得到 {condition.dtype}。")
    dev = condition.device
    ts = [x for x in (input, other) if isinstance(x, Tensor)]
    if not ts:
        input = Tensor(input, device=dev)
        ts = [input]
    if len(ts) == 2:  # 按 result_type 提升：0 维张量不把有维度的 float32 变宽（同 torch.where）
        common = result_type(input, other)
        input, other = input.to(dtype=common), other.to(dtype=common)
    else:
        t = ts[0]
        scalar = other if t is input else input
        if isinstance(scalar, float) and not t.is_floating_point():
            t = t.float()
        input, other = (t, scalar) if ts[0] is input else (scalar, t)
    try:
        return E.Where.apply(condition, input, other)
    except ValueError as e:
        shapes = [x.shape if isinstance(x, Tensor) else "标量" for x in (condition, input, other)]
        raise RuntimeError(f"广播失败 (broadcasting)：where 的三个参数形状 {shapes} 无法广播。") from e
