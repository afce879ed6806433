"""创建张量的函数：tensor、zeros、ones、full、arange、eye、随机数，以及 cat / stack / where。

默认 dtype 与 PyTorch 相同：Python 浮点数与列表 → float32，整数 → int64，布尔 → bool；
NumPy 数组保持自己的 dtype（float64 仍是 float64）。
随机数先在主机上用 NumPy 的生成器产生，再搬到目标设备：同一个种子在 CPU 和 GPU 上给出相同的数。
"""

from __future__ import annotations

import numbers

import numpy as np

from . import backend, dtypes
from .ops import elementwise as E, movement as M
from .tensor import Tensor, _promote_types


# ---------------------------------------------------------------------------- 数据 → 数组

def _to_array(data, dtype=None, device=None):
    """把用户给的数据变成目标设备上的数组（总是复制，与 torch.tensor 相同）。"""
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_array(data):
        dev = backend.normalize_device(device) if device is not None else backend.device_of(data)
        arr = backend.to_device(data, dev)
        if arr is data:
            arr = arr.copy()
        if dtype is not None:
            arr = arr.astype(dtypes.to_dtype(dtype))
        return arr
    try:
        host = np.array(data)
    except ValueError as e:
        raise ValueError(f"无法从这些数据创建张量（各行长度不一致？）：{e}") from None
    if host.dtype == object or host.dtype.kind not in "biuf":
        raise TypeError(f"无法从 {type(data).__name__} 创建张量：元素必须是数字或布尔值。")
    if dtype is not None:
        host = host.astype(dtypes.to_dtype(dtype))
    elif isinstance(data, np.generic):
        pass  # NumPy 标量保持自己的 dtype（同 PyTorch）
    elif host.dtype.kind == "f":
        host = host.astype(dtypes.get_default_dtype())
    elif host.dtype.kind in "iu":
        host = host.astype(np.int64)
    return backend.to_device(host, backend.normalize_device(device))


def tensor(data, dtype=None, device=None, requires_grad=False):
    """从 Python 数、（嵌套）列表或数组创建张量（复制数据）。

    例::

        >>> tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    """
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise ValueError(f"形状 (shape) 里不能有负数，得到 {size}。")
    return size


def _new(host, device, requires_grad):
    t = Tensor._make(backend.to_device(host, backend.normalize_device(device)), False)
    return t.requires_grad_(True) if requires_grad else t


def _float(dtype):
    return dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _new(np.zeros(_size(size), dtype=_float(dtype)), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _new(np.ones(_size(size), dtype=_float(dtype)), device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = (dtypes.bool_ if isinstance(fill_value, bool) else
                 dtypes.int64 if isinstance(fill_value, numbers.Integral) else dtypes.get_default_dtype())
    return _new(np.full(_size((size,)), fill_value, dtype=dtypes.to_dtype(dtype)), device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """[start, end) 上步长为 step 的数列；全是整数时为 int64，否则为 float32。"""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange 的 step 不能为 0。")
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = dtypes.int64 if ints else dtypes.get_default_dtype()
    return _new(np.arange(start, end, step).astype(dtypes.to_dtype(dtype)), device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """[start, end] 上均匀分布的 steps 个点（含两端）。"""
    return _new(np.linspace(start, end, int(steps)).astype(_float(dtype)), device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _new(np.eye(n, m, dtype=_float(dtype)), device, requires_grad)


def _like(fn, t, dtype, device, requires_grad, *args):
    return fn(*args, t.shape, dtype=t.dtype if dtype is None else dtype,
              device=t.device if device is None else device, requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return _like(ones, t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype,
                device=t.device if device is None else device, requires_grad=requires_grad)


# ---------------------------------------------------------------------------- 随机数

class Generator:
    """随机数生成器（对应 torch.Generator）：``g = tg.Generator().manual_seed(0)``。"""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)
        self._seed = seed

    def manual_seed(self, seed):
        self._rng = np.random.default_rng(int(seed))
        self._seed = int(seed)
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """生成器的状态（字典，可存进检查点）。"""
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state

    @property
    def numpy(self) -> np.random.Generator:
        """底层的 ``numpy.random.Generator``。"""
        return self._rng


default_generator = Generator()


def manual_seed(seed):
    """设置全局随机种子，使结果可复现。返回全局生成器。"""
    return default_generator.manual_seed(seed)


def _rng(generator):
    return (generator or default_generator).numpy


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """[0, 1) 上的均匀分布。

    CPU 上（与替身设备上）的值只由生成器决定；GPU 上直接在显存里生成（见 ``backend.random_uniform``），
    同一个种子在 GPU 上可复现，但数值与 CPU 上的不同。
    """
    arr = backend.random_uniform(_size(size), _float(dtype), device or "cpu", _rng(generator))
    t = Tensor._make(arr, False)
    return t.requires_grad_(True) if requires_grad else t


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """标准正态分布 N(0, 1)。"""
    host = _rng(generator).standard_normal(_size(size), dtype=np.float64).astype(_float(dtype))
    return _new(host, device, requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None):
    """[low, high) 上的均匀整数；``randint(10, (3,))`` 表示 low=0, high=10。"""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint 需要 size，例如 tg.randint(0, 10, (3,))。")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint 需要 low < high，得到 low={low}, high={high}。")
    host = _rng(generator).integers(low, high, size=_size((size,)))
    return _new(host.astype(dtypes.int64 if dtype is None else dtypes.to_dtype(dtype)), device, False)


def rand_like(t, dtype=None, device=None, requires_grad=False):
    return rand(t.shape, dtype=t.dtype if dtype is None else dtype,
                device=t.device if device is None else device, requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False):
    return randn(t.shape, dtype=t.dtype if dtype is None else dtype,
                 device=t.device if device is None else device, requires_grad=requires_grad)


def randint_like(t, low, high=None, dtype=None, device=None):
    return randint(low, high, t.shape, dtype=t.dtype if dtype is None else dtype,
                   device=t.device if device is None else device)


# ---------------------------------------------------------------------------- 组合多个张量

def _promote(tensors, who):
    if not tensors:
        raise ValueError(f"{who} 需要至少一个张量。")
    tensors = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
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
        condition = tensor(condition)
    if condition.dtype != dtypes.bool_:
        raise TypeError(f"where 的 condition 必须是布尔张量，得到 {condition.dtype}。")
    dev = condition.device
    ts = [x for x in (input, other) if isinstance(x, Tensor)]
    if not ts:
        input = tensor(input, device=dev)
        ts = [input]
    if len(ts) == 2:
        input, other = _promote([input, other], "where")
    else:
        t = ts[0]
        scalar = other if t is input else input
        if isinstance(scalar, float) and not dtypes.is_floating(t.dtype):
            t = t.float()
        input, other = (t, scalar) if ts[0] is input else (scalar, t)
    try:
        return E.Where.apply(condition, input, other)
    except ValueError as e:
        shapes = [x.shape if isinstance(x, Tensor) else "标量" for x in (condition, input, other)]
        raise RuntimeError(f"广播失败 (broadcasting)：where 的三个参数形状 {shapes} 无法广播。") from e


def maximum(input, other):
    return input.maximum(other)


def minimum(input, other):
    return input.minimum(other)


def tril(input, diagonal=0):
    """``input.tril(diagonal)``：保留最后两维的下三角，其余置 0。``tg.tril(tg.ones(T, T))`` 就是因果掩码。"""
    return input.tril(diagonal)


def triu(input, diagonal=0):
    """``input.triu(diagonal)``：保留最后两维的上三角，其余置 0。"""
    return input.triu(diagonal)
