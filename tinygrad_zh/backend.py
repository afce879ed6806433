"""后端 (backend)：数组从哪里来、放在哪个设备 (device) 上。

整个包里只有这个模块会 import cupy。其余代码通过 ``get_array_module(arr)`` 拿到
与输入数组配套的数组模块 ``xp``（numpy 或 cupy），因此同一段代码既能在 CPU 上跑，也能在 GPU 上跑。

设备用字符串表示，与 PyTorch 相同：

- ``"cpu"``：NumPy 数组。判断看的是设备而不是数组类：``np.memmap`` 等一切 ``np.ndarray`` 的子类都在 CPU 上；
- ``"cuda"``：CuPy 数组（NVIDIA GPU 的显存里）；
- 注册的设备：包外的代码可以用 ``register_device`` 接入新设备，例如测试用的严格替身设备 ``"strict"``
  （定义在 ``tinygrad_zh/testing/strict.py``，``import tinygrad_zh.testing`` 时注册）。
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Callable

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
# 设备注册表 (device registry)
# ----------------------------------------------------------------------------
# 与 PyTorch 给树外设备 (out-of-tree device) 留的扩展点同一个思路：后端只认识 NumPy 和 CuPy，
# 别的设备把“它的数组是什么类型、用什么 xp、怎样与主机互相搬运”登记在这里，
# 下面的 get_array_module、to_device、scatter_add 等函数遇到这种数组时就查表，不必知道它的细节。

@dataclass(frozen=True)
class DeviceSpec:
    """一个注册设备 (registered device) 向后端提供的全部东西。

    属性:
        name: 设备名，如 ``"strict"``；张量的 ``.device`` 就是它。
        array_type: 这个设备上数组的类型。按确切类型识别（不认子类），查表只要一次字典查找。
        xp: 这个设备的数组模块，函数与 numpy 同名同义（``xp.zeros``、``xp.exp`` ……）。
        to_host: ``to_host(arr)`` → 主机 (host) 上的 NumPy 数组；可以与 ``arr`` 共享内存。
        from_host: ``from_host(host)`` → 本设备上的数组；不能与 ``host`` 共享内存（真正的设备上本来就如此）。
        scatter_add: ``scatter_add(target, indices, values)``：原地做 ``target[indices] += values``，重复下标累加。
        erf: ``erf(x)``：逐元素的误差函数，结果在同一设备上。
    """

    name: str
    array_type: type
    xp: Any
    to_host: Callable
    from_host: Callable
    scatter_add: Callable
    erf: Callable


_BUILTIN_DEVICES = ("cpu", "cuda")
_REGISTRY: dict[str, DeviceSpec] = {}       # 设备名 → DeviceSpec
_BY_TYPE: dict[type, DeviceSpec] = {}       # 数组类型 → DeviceSpec（热路径上用它）

DEVICES = _BUILTIN_DEVICES
"""全部可用的设备名：内置的 ``"cpu"``、``"cuda"`` 加上已注册的。注册时会更新，所以要写 ``backend.DEVICES``，
不要 ``from backend import DEVICES``（那样拿到的是导入那一刻的旧值）。"""


def register_device(name: str, array_type: type, xp, *, to_host, from_host, scatter_add, erf) -> DeviceSpec:
    """注册一个新设备，之后 ``tg.tensor(..., device=name)``、``Tensor.to(name)``、``model.to(name)`` 都能用它。

    参数的含义见 ``DeviceSpec``。同名再注册会替换旧的（重新导入定义它的模块时就会这样）。

    例：某个设备的数组类型是 ``MyArray``，数组模块是 ``my_xp``::

        backend.register_device("mydev", MyArray, my_xp,
                                to_host=MyArray.to_numpy, from_host=MyArray.from_numpy,
                                scatter_add=my_scatter_add, erf=my_erf)

    完整的例子是 ``tinygrad_zh/testing/strict.py`` 里的严格替身设备 ``"strict"``。
    """
    global DEVICES
    if name in _BUILTIN_DEVICES or name.startswith("cuda"):
        raise ValueError(f"register_device：设备名 {name!r} 是内置设备，不能重新注册。")
    if issubclass(array_type, np.ndarray):
        # np.ndarray 的子类就是 CPU 数组；若也能注册成别的设备，同一个数组就会属于两个设备
        raise TypeError(f"register_device：{array_type.__name__} 是 np.ndarray 的子类，它的数组属于 'cpu'，"
                        "不能再注册成别的设备。")
    owner = _BY_TYPE.get(array_type)
    if owner is not None and owner.name != name:
        raise ValueError(f"register_device：数组类型 {array_type.__name__} 已经属于设备 {owner.name!r}。")
    old = _REGISTRY.pop(name, None)
    if old is not None:
        del _BY_TYPE[old.array_type]
    spec = DeviceSpec(name, array_type, xp, to_host, from_host, scatter_add, erf)
    _REGISTRY[name] = spec
    _BY_TYPE[array_type] = spec
    DEVICES = _BUILTIN_DEVICES + tuple(_REGISTRY)
    return spec


# ----------------------------------------------------------------------------
# 设备与数组模块
# ----------------------------------------------------------------------------
# get_array_module、device_of、is_array 在每个运算里都要调用，所以都先用 `type(x) is np.ndarray`
# 处理最常见的情况，其次才查注册表和 cupy。

def normalize_device(device) -> str:
    """把 ``"cuda:0"``、``None`` 等写法规范成设备名：``"cpu"``、``"cuda"`` 或某个已注册的设备。"""
    if device is None:
        return "cpu"
    dev = str(device)
    if dev == "cpu" or dev in _REGISTRY:
        return dev
    if dev == "cuda" or dev.startswith("cuda:"):
        return "cuda"
    known = "、".join(repr(d) for d in DEVICES)
    raise ValueError(f"未知设备 (device)：{device!r}。可选：{known}。")


def get_array_module(arr):
    """返回与 ``arr`` 配套的数组模块 ``xp``：numpy、cupy 或注册设备的 ``xp``。"""
    if type(arr) is np.ndarray:
        return np
    spec = _BY_TYPE.get(type(arr))
    if spec is not None:
        return spec.xp
    if isinstance(arr, np.ndarray) or _cupy is None:
        return np
    return _cupy.get_array_module(arr)


def device_of(arr) -> str:
    """数组所在设备的名字。``np.ndarray`` 的任何子类都是 ``"cpu"``；不是数组的东西（数字等）也算 ``"cpu"``。"""
    if type(arr) is np.ndarray or isinstance(arr, np.ndarray):
        return "cpu"
    spec = _BY_TYPE.get(type(arr))
    if spec is not None:
        return spec.name
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        return "cuda"
    return "cpu"


def is_array(obj) -> bool:
    """``obj`` 是否是某个设备上的数组（而不是 Python 数字、列表）。"""
    if type(obj) is np.ndarray or isinstance(obj, np.ndarray) or type(obj) in _BY_TYPE:
        return True
    return _cupy is not None and isinstance(obj, _cupy.ndarray)


def xp_for_device(device: str):
    """某个设备对应的数组模块。"""
    device = normalize_device(device)
    if device == "cpu":
        return np
    if device != "cuda":
        return _REGISTRY[device].xp
    cp = _get_cupy()
    if cp is None or not cuda_is_available():
        raise RuntimeError(
            "CUDA 不可用 (CUDA not available)：没有安装 cupy，或者没有检测到 NVIDIA GPU。"
            "提示：pip install -e '.[gpu]'（CUDA 13 请改装 cupy-cuda13x），再用 tg.cuda.is_available() 检查。")
    return cp


def to_device(arr, device: str):
    """把数组搬到 ``device`` 上。已经在那里就原样返回，不复制（``np.memmap`` 搬到 ``"cpu"`` 仍是它自己）。

    ``arr`` 也可以是列表或数字，它们算作主机上的数据，总会变成数组。
    """
    device = normalize_device(device)
    src = device_of(arr) if is_array(arr) else None
    if src == device:
        return arr
    # 两个设备之间不直接搬：先落到主机内存里的 NumPy 数组，再送到目标设备
    if src == "cuda":
        host = _cupy.asnumpy(arr)
    elif src is None or src == "cpu":
        host = np.asarray(arr)
    else:
        host = _REGISTRY[src].to_host(arr)
    if device == "cpu":
        return host
    if device == "cuda":
        return xp_for_device("cuda").asarray(host)
    return _REGISTRY[device].from_host(host)


def to_numpy(arr) -> np.ndarray:
    """任何设备上的数组 → 主机上的 NumPy 数组。"""
    return to_device(arr, "cpu")


# ----------------------------------------------------------------------------
# NumPy 与 CuPy 写法不同的几个运算
# ----------------------------------------------------------------------------

def scatter_add(target, indices, values):
    """原地执行 ``target[indices] += values``，重复的下标会累加（普通 ``+=`` 只算一次）。返回 ``target``。

    NumPy 用 ``np.add.at``，CuPy 用 ``cupyx.scatter_add``，注册的设备用它自己的 ``scatter_add``。
    """
    if isinstance(target, np.ndarray):
        np.add.at(target, indices, values)
        return target
    spec = _BY_TYPE.get(type(target))
    if spec is not None:
        spec.scatter_add(target, indices, values)
    else:
        import cupyx
        cupyx.scatter_add(target, indices, values)
    return target


def nccl_communicator(world_size: int, rank: int):
    """GPU 之间的 NCCL 通信器 ``cupyx.distributed.NCCLBackend``（``tinygrad_zh.distributed`` 的 nccl 后端用）。

    ``use_mpi=True``：进程由 mpiexec 启动，NCCL 的 ID 用 MPI 广播、栅栏也走 MPI（需要 mpi4py）。
    调用前当前 GPU 要已经选好（``cupy.cuda.Device(i).use()``）。
    """
    xp_for_device("cuda")   # 没有 GPU 或 CuPy 时给出中文说明
    import cupyx.distributed
    return cupyx.distributed.NCCLBackend(world_size, rank, use_mpi=True)


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
    """误差函数 erf（NumPy 没有）：CPU 上用 scipy.special.erf，GPU 上用 cupyx.scipy.special.erf。

    两者都延迟导入：导入 scipy.special 要几百毫秒，而只有 GELU 之类的少数运算用得到。
    """
    if not isinstance(x, np.ndarray):
        spec = _BY_TYPE.get(type(x))
        if spec is not None:
            return spec.erf(x)
        if _cupy is not None and isinstance(x, _cupy.ndarray):
            import cupyx.scipy.special
            return cupyx.scipy.special.erf(x)
    from scipy import special
    return special.erf(x)


# ----------------------------------------------------------------------------
# 随机数：每个设备一个生成器
# ----------------------------------------------------------------------------

_DEVICE_GENERATORS: dict = {}   # GPU 编号 → cupy.random.RandomState（Philox），每块 GPU 一个，用到时才建


def _cuda_generator(cp):
    """当前 GPU 的随机数生成器：整个进程每块 GPU 只建一个，以后只换种子。"""
    dev = cp.cuda.Device().id
    gen = _DEVICE_GENERATORS.get(dev)
    if gen is None:
        # Philox4x32-10 是计数器型 (counter-based) 生成器：换种子只是设两个数，不用像 XORWOW 那样
        # 重新初始化一大块状态，所以每次调用都换种子也很便宜
        gen = cp.random.RandomState(0, method=cp.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)
        _DEVICE_GENERATORS[dev] = gen
    return gen


def random_uniform(shape, dtype, device: str, rng: np.random.Generator):
    """``device`` 上形状为 ``shape`` 的 [0, 1) 均匀随机数，由主机上的 ``rng`` 决定。

    CPU 与注册的设备直接用 ``rng`` 在主机上生成再搬过去（结果与设备无关、可复现）。GPU 上若在主机生成
    再拷过去，dropout 掩码每步要搬几百 MB；所以只从 ``rng`` 取一个 64 位种子，交给这块 GPU 唯一的
    Philox 生成器，在显存里就地生成 ``dtype``（float32）的数：同一个种子给出同样的数，``rng`` 的状态
    照常前进，检查点续训仍然一致；取种子在主机上，不等 GPU。
    """
    device = normalize_device(device)
    if device != "cuda":
        return to_device(rng.random(shape, dtype=np.float64).astype(dtype), device)
    cp = xp_for_device("cuda")
    gen = _cuda_generator(cp)
    gen.seed(int(rng.integers(0, 2**63 - 1)))
    dtype = np.dtype(dtype)
    if dtype in (np.float32, np.float64):
        return gen.random_sample(shape, dtype=dtype)
    return gen.random_sample(shape, dtype=np.float32).astype(dtype)


# ----------------------------------------------------------------------------
# 调试检查：要同步的范围检查只在需要时做
# ----------------------------------------------------------------------------
# 下标越界、类别越界、概率不在 [0, 1] 之内……这些检查要看数组里的值。在 NumPy 上值就在主机内存里，
# 顺手看一眼几乎不花时间；在 GPU 上，看值就要把数搬回主机，先等 GPU 把排队的计算做完（同步），
# 训练的每一步都因此停顿。所以默认只在 CPU 上检查；调试时打开，所有设备都检查。

_DEBUG_CHECKS = {"1": True, "0": False}.get(os.environ.get("TINYGRAD_ZH_DEBUG_CHECKS", "").strip())


def set_debug_checks(enabled) -> bool | None:
    """打开或关闭要同步的数值检查，返回原来的设置（可以再传回来恢复）。

    参数:
        enabled: ``True``：所有设备都检查（GPU 上每次检查同步一次，越界的下标给出与 CPU 相同的中文错误）；
            ``False``：哪里都不检查（越界的下标在 NumPy 上由 NumPy 报错，在 CuPy 上会悄悄绕回 (wrap)）；
            ``None``（默认）：只在 CPU 上检查。环境变量 ``TINYGRAD_ZH_DEBUG_CHECKS=1`` / ``0`` 设定初值。

    例::

        >>> tg.set_debug_checks(True)     # GPU 上的下标越界也报错（每次检查同步一次）
    """
    global _DEBUG_CHECKS
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(f"set_debug_checks 需要 True、False 或 None，得到 {enabled!r}。")
    old, _DEBUG_CHECKS = _DEBUG_CHECKS, enabled
    return old


def get_debug_checks() -> bool | None:
    """当前的设置：``True``、``False`` 或 ``None``（只在 CPU 上检查），见 ``set_debug_checks``。"""
    return _DEBUG_CHECKS


def debug_checks(device: str) -> bool:
    """``device`` 上的数组要不要做要看值的检查（见 ``set_debug_checks``）。"""
    if _DEBUG_CHECKS is None:
        return device == "cpu"
    return _DEBUG_CHECKS


# ----------------------------------------------------------------------------
# TF32：用精度换矩阵乘法的速度
# ----------------------------------------------------------------------------

_ALLOW_TF32 = False


def set_allow_tf32(enabled: bool) -> bool:
    """GPU 上 float32 的矩阵乘法是否允许用 TF32 张量核 (tensor core)；返回设置后是否真的生效。

    TF32 把乘数的尾数 (mantissa) 从 23 位截到 10 位（指数仍是 8 位、累加仍用 float32），矩阵乘法在
    Ampere（计算能力 8.0）及更新的 GPU 上快几倍，每个乘积的相对误差从约 6e−8 变成约 5e−4。
    默认关闭，与 PyTorch 的 ``torch.backends.cuda.matmul.allow_tf32 = False`` 相同。

    CuPy 没有公开的开关：环境变量 ``CUPY_TF32=1`` 只在第一次矩阵乘法之前读一次，所以这里用
    ``cupy._core.set_compute_type``（CuPy 自己的测试也这样切换），运行中随时可以改。
    没有 GPU 时只记下设置，等到有 GPU 时也不会自动生效；GPU 太旧（< 8.0）时给出警告并返回 False。
    """
    global _ALLOW_TF32
    _ALLOW_TF32 = bool(enabled)
    if not cuda_is_available():
        return False
    cp = _cupy
    core = cp._core
    linalg = getattr(core, "_routines_linalg", None)
    if linalg is None or not hasattr(core, "set_compute_type"):
        warnings.warn("这个版本的 CuPy 没有 cupy._core.set_compute_type：TF32 开关不起作用。"
                      "提示：启动前设环境变量 CUPY_TF32=1。", RuntimeWarning, stacklevel=2)
        return False
    if _ALLOW_TF32 and int(cp.cuda.Device().compute_capability) < 80:
        warnings.warn(f"这块 GPU 的计算能力是 {cp.cuda.Device().compute_capability}，TF32 需要 8.0（Ampere）"
                      "或更新的 GPU：矩阵乘法仍用 float32。", RuntimeWarning, stacklevel=2)
        core.set_compute_type(np.float32, linalg.COMPUTE_TYPE_DEFAULT)
        return False
    core.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if _ALLOW_TF32 else linalg.COMPUTE_TYPE_DEFAULT)
    return _ALLOW_TF32


def get_allow_tf32() -> bool:
    """``set_allow_tf32`` 最近一次的设置（默认 False）。"""
    return _ALLOW_TF32
