"""后端 (backend)：数组从哪里来、放在哪个设备 (device) 上。

整个包里只有这个模块会 import cupy。其余代码通过 ``get_array_module(arr)`` 拿到
与输入数组配套的数组模块 ``xp``（numpy、cupy，或测试用的严格替身设备），
因此同一段代码既能在 CPU 上跑，也能在 GPU 上跑。

设备用字符串表示，与 PyTorch 相同：``"cpu"``、``"cuda"``；测试还会用到 ``"strict"``：
一个用 NumPy 模拟出来、像 CuPy 一样“挑剔”的替身设备（见 ``StrictArray``）。
"""

from __future__ import annotations

import numbers

import numpy as np

_cupy = None          # cupy 模块；延迟导入，未安装时为 None
_cupy_checked = False


def _get_cupy():
    """导入 cupy（只尝试一次）。没装 cupy 时返回 None，而不是报错。"""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: F401  (本包唯一允许导入 cupy 的地方)
            import cupyx  # noqa: F401
            _cupy = cupy
        except Exception:  # 没有 GPU 驱动时 import 也可能抛出各种异常
            _cupy = None
    return _cupy


def cuda_is_available() -> bool:
    """有可用的 NVIDIA GPU 且 CuPy 能用它时为 True。

    装了 cupy 但机器上没有 GPU 时，``import cupy`` 可能成功而每次分配显存都失败，
    所以这里还要问 ``cupy.is_available()``，任何异常都当作“不可用”。
    """
    cp = _get_cupy()
    if cp is None:
        return False
    try:
        return bool(cp.is_available())
    except Exception:
        return False


# ----------------------------------------------------------------------------
# 严格替身设备 (strict stand-in device)
# ----------------------------------------------------------------------------

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


def _binary(name, reflected=False):
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

    只给测试用：在 NumPy 与它上面都能通过的代码，在 CPU 能判断的范围内，也能在 CuPy 上运行。
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
# 设备与数组模块
# ----------------------------------------------------------------------------

DEVICES = ("cpu", "cuda", "strict")


def normalize_device(device) -> str:
    """把 ``"cuda:0"``、``None`` 等写法规范成 ``"cpu" | "cuda" | "strict"``。"""
    if device is None:
        return "cpu"
    dev = str(device)
    if dev.startswith("cuda"):
        dev = "cuda"
    if dev not in DEVICES:
        raise ValueError(f"未知设备 (device)：{device!r}。可选：'cpu'、'cuda'（以及测试用的 'strict'）。")
    return dev


def get_array_module(arr):
    """返回与 ``arr`` 配套的数组模块 ``xp``：numpy、cupy 或替身设备的命名空间。"""
    if type(arr) is np.ndarray:
        return np
    if isinstance(arr, StrictArray):
        return strict_xp
    if isinstance(arr, np.ndarray) or _cupy is None:
        return np
    return _cupy.get_array_module(arr)


def device_of(arr) -> str:
    """数组所在设备的名字。"""
    if isinstance(arr, StrictArray):
        return "strict"
    if isinstance(arr, np.ndarray) or _cupy is None:
        return "cpu"
    return "cuda" if isinstance(arr, _cupy.ndarray) else "cpu"


def is_array(obj) -> bool:
    """``obj`` 是否是某个设备上的数组（而不是 Python 数字、列表）。"""
    if type(obj) is np.ndarray or isinstance(obj, (np.ndarray, StrictArray)):
        return True
    return _cupy is not None and isinstance(obj, _cupy.ndarray)


def xp_for_device(device: str):
    """某个设备对应的数组模块。"""
    device = normalize_device(device)
    if device == "cpu":
        return np
    if device == "strict":
        return strict_xp
    cp = _get_cupy()
    if cp is None or not cuda_is_available():
        raise RuntimeError(
            "CUDA 不可用 (CUDA not available)：没有安装 cupy，或者没有检测到 NVIDIA GPU。"
            "提示：pip install -e '.[gpu]'（CUDA 13 请改装 cupy-cuda13x），再用 tg.cuda.is_available() 检查。")
    return cp


def to_device(arr, device: str):
    """把数组搬到 ``device`` 上（已经在那里就原样返回，不复制）。"""
    device = normalize_device(device)
    src = device_of(arr) if is_array(arr) else None
    if src == device:
        return arr
    # 先落到主机 (host) 内存上的 NumPy 数组
    if src == "strict":
        host = arr._a
    elif src == "cuda":
        host = _cupy.asnumpy(arr)
    else:
        host = np.asarray(arr)
    if device == "cpu":
        return host
    if device == "strict":
        return StrictArray(np.array(host))
    return xp_for_device("cuda").asarray(host)


def to_numpy(arr) -> np.ndarray:
    """任何设备上的数组 → 主机上的 NumPy 数组。"""
    return to_device(arr, "cpu")


def scatter_add(target, indices, values):
    """原地执行 ``target[indices] += values``，重复的下标会累加（普通 ``+=`` 只算一次）。

    NumPy 用 ``np.add.at``，CuPy 用 ``cupyx.scatter_add``。
    """
    if isinstance(target, StrictArray):
        np.add.at(target._a, _unwrap(indices), _unwrap(values))
    elif isinstance(target, np.ndarray):
        np.add.at(target, indices, values)
    else:
        import cupyx
        cupyx.scatter_add(target, indices, values)
    return target


def _has_integer_array(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    for k in keys:
        if is_array(k) and k.dtype.kind in "iu":
            return True
    return False


def index_add(xp, shape, key, values):
    """新建一个形状为 ``shape`` 的零数组，再把 ``values`` 按 ``key`` 累加进去。

    这是索引 (indexing) 的反向：重复下标的梯度要相加。``xp`` 若是张量命名空间
    （``create_graph=True`` 时），就交给它的可微实现。
    """
    if getattr(xp, "is_tensor_namespace", False):
        return xp.index_add(shape, key, values)
    out = xp.zeros(shape, dtype=values.dtype)
    if _has_integer_array(key):
        scatter_add(out, key, values)
    else:  # 切片与布尔掩码不会重复命中同一位置，直接赋值更快
        out[key] = values
    return out


def erf(x):
    """误差函数 erf（NumPy 没有）：CPU 上用 scipy.special.erf，GPU 上用 cupyx.scipy.special.erf。"""
    if isinstance(x, StrictArray):
        return StrictArray(erf(x._a))
    if isinstance(x, np.ndarray) or _cupy is None or not isinstance(x, _cupy.ndarray):
        from scipy import special
        return special.erf(x)
    import cupyx.scipy.special
    return cupyx.scipy.special.erf(x)


def random_uniform(shape, dtype, device: str, rng: np.random.Generator):
    """``device`` 上形状为 ``shape`` 的 [0, 1) 均匀随机数，由主机上的 ``rng`` 决定。

    CPU 与替身设备直接用 ``rng`` 生成（结果与设备无关、可复现）。GPU 上若在主机生成再拷过去，
    dropout 掩码每步要搬几百 MB；所以只从 ``rng`` 取一个 64 位种子，在显存里用计数器型的
    Philox 生成器就地生成：同一个种子给出同样的数，``rng`` 的状态照常前进，检查点续训仍然一致。
    """
    device = normalize_device(device)
    if device != "cuda":
        return to_device(rng.random(shape, dtype=np.float64).astype(dtype), device)
    cp = xp_for_device("cuda")
    seed = int(rng.integers(0, 2**63 - 1))
    if hasattr(cp.random, "Philox4x3210"):
        gen = cp.random.Generator(cp.random.Philox4x3210(seed))
        return gen.random(shape, dtype=np.float32).astype(dtype, copy=False)
    return cp.random.RandomState(seed).random_sample(shape, dtype=np.float32).astype(dtype, copy=False)
