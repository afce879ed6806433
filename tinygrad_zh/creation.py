"""创建张量的函数：tensor、as_tensor、zeros、ones、full、arange、eye 与随机数。

默认 dtype 与 PyTorch 相同：Python 浮点数与列表 → float32，整数 → int64，布尔 → bool；
NumPy 数组保持自己的 dtype（float64 仍是 float64）。
随机数先在主机上用 NumPy 的生成器产生，再搬到目标设备：同一个种子在 CPU 和 GPU 上给出相同的数。
"""

from __future__ import annotations

import numbers

import numpy as np

from . import backend, dtypes
from .tensor import Tensor


def tensor(data, dtype=None, device=None, requires_grad=False):
    """从 Python 数、（嵌套）列表或数组创建张量，总是复制数据（同 ``torch.tensor``）。

    例::

        >>> tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    """
    src = data.data if isinstance(data, Tensor) else data
    t = Tensor(src, dtype=dtype, device=device)
    if t.data is src:  # 没有经过任何转换：复制一份，不与用户的数组共享内存
        t.data = src.copy()
    return t.requires_grad_(True) if requires_grad else t


def as_tensor(data, dtype=None, device=None):
    """把数据包成张量；已经是合适设备与 dtype 的数组时不复制、共享内存（同 ``torch.as_tensor``）。

    优化器、层与模型把自己算出的数组包成张量时用它（或直接 ``Tensor(arr)``，两者相同）。
    """
    return Tensor(data, dtype=dtype, device=device)


def from_numpy(arr):
    """与 NumPy 数组共享内存的张量（不复制，dtype 不变），同 ``torch.from_numpy``。"""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy 需要 numpy.ndarray，得到 {type(arr).__name__}。")
    return Tensor(arr)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise ValueError(f"形状 (shape) 里不能有负数，得到 {size}。")
    return size


def _new(host, device, requires_grad):
    t = Tensor(host, device=device)
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
    t = Tensor(arr)
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
