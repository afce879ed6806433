"""严格替身设备 (strict stand-in device) ``"strict"``：用 NumPy 模拟出来、像 CuPy 一样“挑剔”的设备。

CuPy 不许把显存里的数组悄悄转成 NumPy 数组，也不许与 NumPy 数组混着算；在 CPU 上一切正常的代码，
只要数据路径上写了一个 ``np.*``，一上 GPU 就报错。没有 GPU 的机器上抓这种 bug，就靠这个设备：

- ``StrictArray``：NumPy 数组外面的一层壳，拒绝隐式转换、拒绝与 NumPy 数组混算；
- ``strict_xp``：它配套的数组模块，函数与 numpy 同名同义；
- 导入本模块时用 ``backend.register_device`` 注册设备名 ``"strict"``，之后
  ``tg.tensor(..., device="strict")``、``model.to("strict")`` 都能用。

在 ``"cpu"`` 与 ``"strict"`` 上都通过的代码，在 CPU 能判断的范围内，也能在 CuPy 上运行。

它还是一个计数器：GPU 上慢的往往不是算术，而是**等待**与**发射**。``count_ops()`` 数出一段代码里

- ``device_to_host``：设备 → 主机的搬运（``.item()``、``float(x)``、``bool(x)``、``.tolist()``、``.cpu()`` ……）。
  在 CuPy 上每一次都要等 GPU 把排队的计算做完，是一次主机同步 (host sync)；
- ``host_to_device``：主机 → 设备的搬运（``tg.tensor(..., device=...)``、``xp.asarray(列表)`` ……）；
- ``launches``：数组运算的次数，大约就是 GPU 上核函数发射 (kernel launch) 的次数（只改形状的视图运算不算）。

例::

    >>> with count_ops() as c:
    ...     loss = model(x, y)[1]; loss.backward()
    >>> c.device_to_host, c.launches
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers

import numpy as np

from .. import backend


class StrictDeviceError(TypeError):
    """替身设备上的数组被隐式转换成 NumPy 数组，或与 NumPy 数组混用。"""


# ----------------------------------------------------------------------------
# 计数：搬运与运算
# ----------------------------------------------------------------------------

@dataclasses.dataclass
class OpCounts:
    """``count_ops()`` 数出的次数（见模块说明）。"""

    device_to_host: int = 0
    host_to_device: int = 0
    launches: int = 0

    def __sub__(self, other):
        return OpCounts(*(getattr(self, f.name) - getattr(other, f.name) for f in dataclasses.fields(self)))


_COUNTS = OpCounts()  # 从导入起的累计数；count_ops 取前后之差

# 不发射核函数的运算：只改形状或步长的视图 (view)、只看元数据的函数、只分配不写的 empty
_NO_LAUNCH = frozenset({
    "reshape", "view", "transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims", "broadcast_to", "ravel",
    "T", "shape", "ndim", "size", "dtype", "result_type", "promote_types", "can_cast", "iinfo", "finfo",
    "broadcast_shapes", "isscalar", "empty", "empty_like", "get_array_module", "asarray", "asanyarray",
})
# 这些数组方法把数据交给主机上的 Python：在 CuPy 上都要同步
_TO_HOST_METHODS = frozenset({"item", "tolist", "get", "tobytes"})
# 用主机上的数据（列表、NumPy 数组、Python 数）新建设备数组：一次主机 → 设备的搬运
_FROM_HOST_FUNCTIONS = frozenset({"asarray", "array", "asanyarray", "ascontiguousarray"})


@contextlib.contextmanager
def count_ops():
    """数出 with 块里严格替身设备上的搬运与运算次数；产出的 ``OpCounts`` 在块结束时填好。

    例::

        >>> with count_ops() as c:
        ...     optimizer.step()
        >>> c.launches, c.device_to_host
    """
    result = OpCounts()
    before = dataclasses.replace(_COUNTS)
    try:
        yield result
    finally:
        diff = _COUNTS - before
        result.device_to_host, result.host_to_device, result.launches = (
            diff.device_to_host, diff.host_to_device, diff.launches)


def _count_to_host():
    _COUNTS.device_to_host += 1


def _has_strict(obj):
    if isinstance(obj, StrictArray):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_has_strict(o) for o in obj)
    if isinstance(obj, dict):
        return any(_has_strict(o) for o in obj.values())
    return False


def _unwrap(obj):
    """把参数里的 StrictArray 换成内部的 NumPy 数组；遇到普通 NumPy 数组就报错。"""
    if isinstance(obj, StrictArray):
        return obj._a
    if isinstance(obj, np.ndarray):
        raise StrictDeviceError(
            "设备混用 (device mixing)：严格替身设备上的数组不能与 NumPy 数组 "
            f"(shape={obj.shape}) 混用。提示：数据路径上的代码应使用 xp = get_array_module(x)，"
            "不要直接用 np.*。")
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


def _wrap(obj):
    """把 NumPy 的计算结果包回 StrictArray（CuPy 的归约也返回 0 维数组而非标量）。"""
    if isinstance(obj, np.ndarray):
        return StrictArray(obj)
    if isinstance(obj, np.generic) and not isinstance(obj, (np.str_, np.bytes_)):
        return StrictArray(np.asarray(obj))
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


def _binary(name):
    def method(self, other):
        if isinstance(other, np.ndarray):
            _unwrap(other)  # 抛出设备混用错误
        if not isinstance(other, (StrictArray, numbers.Number, np.generic)):
            return NotImplemented
        _COUNTS.launches += 1
        op = getattr(self._a, name)
        return _wrap(op(_unwrap(other)))
    method.__name__ = name
    return method


class StrictArray:
    """严格替身设备上的数组：NumPy 数组的外壳，像 CuPy 一样拒绝隐式转换。

    - ``np.asarray(x)`` 抛出 ``TypeError``（CuPy 也这样）；
    - 与普通 NumPy 数组做运算抛出 ``TypeError``；
    - ``np.exp(x)`` 之类的 NumPy 函数也被拒绝：必须用配套的 ``xp`` 命名空间。

    只给测试和第 17 课用。
    """

    __slots__ = ("_a",)
    __array_priority__ = 1000

    def __init__(self, a):
        self._a = a

    # 拒绝一切隐式转换
    def __array__(self, dtype=None, copy=None):
        raise StrictDeviceError(
            "隐式转换 (implicit conversion)：严格替身设备上的数组不能直接转成 NumPy 数组，"
            "就像 CuPy 一样。提示：用 backend.to_device(x, 'cpu') 或 Tensor.cpu() 显式搬回主机。")

    def __array_function__(self, func, types, args, kwargs):
        raise StrictDeviceError(
            f"严格替身设备的数组被传给了 numpy.{func.__name__}。提示：用 xp = get_array_module(x) "
            f"再调用 xp.{func.__name__}。")

    # None：NumPy 的 ufunc 与运算符都拒绝它，Python 转而调用我们的反射运算符，
    # 在那里 NumPy 标量可以通过，NumPy 数组被拒绝（CuPy 的行为）。
    __array_ufunc__ = None

    def __getattr__(self, name):
        if name.startswith("__"):  # 不转发 __array_interface__ 等协议，否则 NumPy 会借此悄悄转换
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            def call(*args, **kwargs):
                if name in _TO_HOST_METHODS:
                    _count_to_host()
                elif name not in _NO_LAUNCH:
                    _COUNTS.launches += 1
                return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
            return call
        return _wrap(attr)

    def __getitem__(self, key):
        keys = key if isinstance(key, tuple) else (key,)
        if any(isinstance(k, (StrictArray, list)) for k in keys):  # 高级索引 (advanced indexing) 要复制；切片只是视图
            _COUNTS.launches += 1
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        _COUNTS.launches += 1
        self._a[_unwrap(key)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(x) for x in self._a)

    def __repr__(self):
        return "StrictArray(" + repr(self._a) + ")"

    # 变成 Python 的数：CuPy 要把数从显存搬回来，先等 GPU 算完
    def __bool__(self):
        _count_to_host()
        return bool(self._a)

    def __float__(self):
        _count_to_host()
        return float(self._a)

    def __int__(self):
        _count_to_host()
        return int(self._a)

    def __index__(self):
        _count_to_host()
        return self._a.__index__()

    def __neg__(self):
        _COUNTS.launches += 1
        return StrictArray(-self._a)

    def __pos__(self):
        _COUNTS.launches += 1
        return StrictArray(+self._a)

    def __abs__(self):
        _COUNTS.launches += 1
        return StrictArray(abs(self._a))

    def __invert__(self):
        _COUNTS.launches += 1
        return StrictArray(~self._a)

    __hash__ = None


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
              "and", "or", "xor", "lt", "le", "gt", "ge", "eq", "ne"):
    for _fmt in ("__{}__", "__r{}__", "__i{}__"):
        _dunder = _fmt.format(_name)
        if hasattr(np.ndarray, _dunder):
            setattr(StrictArray, _dunder, _binary(_dunder))


class _StrictNamespace:
    """替身设备的 ``xp``：numpy 的函数，参数先拆壳、结果再装壳；拒收普通 NumPy 数组。"""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        attr = getattr(self._module, name)
        if isinstance(attr, type) or isinstance(attr, (numbers.Number, np.dtype)):
            return attr  # dtype 类、常数（pi、inf、newaxis）照原样给出
        if hasattr(attr, "__path__") or type(attr).__name__ == "module":
            return _StrictNamespace(attr)
        if callable(attr):
            def call(*args, **kwargs):
                if name in _FROM_HOST_FUNCTIONS and not _has_strict(args) and not _has_strict(kwargs):
                    _COUNTS.host_to_device += 1      # 主机上的数据（列表、数）新建成设备数组
                elif name not in _NO_LAUNCH:
                    _COUNTS.launches += 1
                return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
            call.__name__ = name
            return call
        return attr

    def __repr__(self):
        return f"<strict xp for {self._module.__name__}>"


strict_xp = _StrictNamespace(np)


# ----------------------------------------------------------------------------
# 注册成设备 "strict"
# ----------------------------------------------------------------------------
# 数据都在壳里的 NumPy 数组上，所以搬运、scatter_add、erf 都是拆壳后交给 CPU 的实现，再装回壳里。

def _to_host(arr):
    _count_to_host()
    return arr._a


def _from_host(host):
    _COUNTS.host_to_device += 1
    return StrictArray(np.array(host))  # 复制：与真实设备一样，不与主机上的数组共享内存


def _scatter_add(target, indices, values):
    _COUNTS.launches += 1
    backend.scatter_add(target._a, _unwrap(indices), _unwrap(values))


def _erf(x):
    _COUNTS.launches += 1
    return StrictArray(backend.erf(x._a))


backend.register_device("strict", StrictArray, strict_xp, to_host=_to_host, from_host=_from_host,
                        scatter_add=_scatter_add, erf=_erf)
