"""数据类型 (dtype)：直接使用 NumPy 的 dtype 对象（CuPy 用的是同一套）。"""

import builtins

import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int32 = np.dtype("int32")
int64 = long = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")

_default_float = float32


def get_default_dtype():
    """Python 浮点数、列表创建张量时的默认浮点类型（默认 float32，与 PyTorch 相同）。"""
    return _default_float


def set_default_dtype(dtype) -> None:
    """设置默认浮点类型，只接受 float32 或 float64（如做梯度检验 (gradient check) 时用 float64）。"""
    global _default_float
    d = to_dtype(dtype)
    if d not in (float32, float64):
        raise TypeError(f"默认 dtype 只能是 float32 或 float64，得到 {d}。")
    _default_float = d


def to_dtype(dtype):
    """把 ``tg.float32``、``"float32"``、``float``、``int``、``bool`` 等写法统一成 ``np.dtype``。"""
    if dtype is builtins.float:
        return _default_float
    if dtype is builtins.int:
        return int64
    if dtype is builtins.bool:
        return bool_
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"无法识别的 dtype：{dtype!r}。可用 tg.float32、tg.float64、tg.int64、tg.bool_ 等。") from None


def is_floating(dtype) -> builtins.bool:
    return np.dtype(dtype).kind == "f"
