"""严格替身设备 (strict stand-in device) ``"strict"``：用 NumPy 模拟出来、像 CuPy 一样“挑剔”的设备。

CuPy 不许把显存里的数组悄悄转成 NumPy 数组，也不许与 NumPy 数组混着算；在 CPU 上一切正常的代码，
只要数据路径上写了一个 ``np.*``，一上 GPU 就报错。没有 GPU 的机器上抓这种 bug，就靠这个设备：

- ``StrictArray``：NumPy 数组外面的一层壳，拒绝隐式转换、拒绝与 NumPy 数组混算；
- ``strict_xp``：它配套的数组模块，函数与 numpy 同名同义；
- 导入本模块时用 ``backend.register_device`` 注册设备名 ``"strict"``，之后
  ``tg.tensor(..., device="strict")``、``model.to("strict")`` 都能用。

在 ``"cpu"`` 与 ``"strict"`` 上都通过的代码，在 CPU 能判断的范围内，也能在 CuPy 上运行。
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend


class StrictDeviceError(TypeError):
    """替身设备上的数组被隐式转换成 NumPy 数组，或与 NumPy 数组混用。"""


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
                return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
            return call
        return _wrap(attr)

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(x) for x in self._a)

    def __repr__(self):
        return "StrictArray(" + repr(self._a) + ")"

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __neg__(self):
        return StrictArray(-self._a)

    def __pos__(self):
        return StrictArray(+self._a)

    def __abs__(self):
        return StrictArray(abs(self._a))

    def __invert__(self):
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
    return arr._a


def _from_host(host):
    return StrictArray(np.array(host))  # 复制：与真实设备一样，不与主机上的数组共享内存


def _scatter_add(target, indices, values):
    backend.scatter_add(target._a, _unwrap(indices), _unwrap(values))


def _erf(x):
    return StrictArray(backend.erf(x._a))


backend.register_device("strict", StrictArray, strict_xp, to_host=_to_host, from_host=_from_host,
                        scatter_add=_scatter_add, erf=_erf)
