"""参数初始化 (initialization)：与 ``torch.nn.init`` 同名、同公式。

为什么初始化重要？每层输出的方差约为 ``fan_in · Var(w) · Var(x)``。若 ``Var(w)`` 太大，层数一多激活值就爆炸；
太小就衰减到 0，梯度也随之消失。Xavier 初始化让前向与反向的方差都大致不变，
He（Kaiming）初始化再为 ReLU 砍掉一半的方差补上增益 √2。

所有函数都原地改写张量的 ``.data``（在 ``no_grad`` 下）并返回这个张量。随机数在主机上由全局生成器
``tg.default_generator``（或传入的 ``generator``）产生，再搬到张量所在设备，所以 ``tg.manual_seed``
之后在 CPU 和 GPU 上得到同样的数。
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import increment_version, no_grad
from ..creation import default_generator
from ..tensor import Tensor

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """激活函数的推荐增益 (gain)：初始化的标准差要乘上它，才能抵消激活函数对方差的缩放。

    linear / conv / sigmoid → 1；tanh → 5/3；relu → √2；leaky_relu → √(2 / (1 + slope²))；selu → 3/4。

    例::

        >>> nn.init.calculate_gain("relu")
        1.4142135623730951
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"leaky_relu 的 negative_slope 应为数字，得到 {param!r}。")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"不支持的激活函数 (unsupported nonlinearity)：{nonlinearity!r}。"
                     "可选：linear、conv1d/2d/3d、sigmoid、tanh、relu、leaky_relu、selu。")


def _calculate_fan_in_and_fan_out(tensor):
    """扇入 (fan_in) 与扇出 (fan_out)：一个输出 / 输入单元连着多少个权重。

    权重形状是 ``(out, in, *kernel)``（Linear 为 ``(out, in)``，Conv2d 为 ``(out, in, kH, kW)``）：
    ``fan_in = in · ∏kernel``，``fan_out = out · ∏kernel``。
    """
    if tensor.ndim < 2:
        raise ValueError(f"少于 2 维的张量无法计算 fan_in / fan_out（fewer than 2 dimensions），得到形状 {tensor.shape}。")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode 只能是 'fan_in' 或 'fan_out'，得到 {mode!r}。")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _write(tensor, host):
    """把主机上的数组按张量原来的 dtype 与设备写进 ``.data``。"""
    with no_grad():
        tensor.data = backend.to_device(np.asarray(host).astype(tensor.dtype), tensor.device)
        increment_version(tensor)
    return tensor


def _check(tensor, who):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{who} 需要 Tensor，得到 {type(tensor).__name__}。")


def _rng(generator):
    return (generator or default_generator).numpy


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """用均匀分布 U(a, b) 填充张量。

    例::

        >>> w = nn.init.uniform_(tg.zeros(2, 3), -0.1, 0.1)
    """
    _check(tensor, "uniform_")
    return _write(tensor, a + (b - a) * _rng(generator).random(tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """用正态分布 N(mean, std²) 填充张量。"""
    _check(tensor, "normal_")
    return _write(tensor, mean + std * _rng(generator).standard_normal(tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """截断正态分布：N(mean, std²) 限制在 [a, b] 内（a、b 是绝对数值，不是几倍标准差，同 PyTorch）。

    用逆累积分布函数 (inverse CDF) 采样：u ~ U(Φ(α), Φ(β))，x = mean + std·Φ⁻¹(u)，
    其中 α = (a − mean)/std，β = (b − mean)/std。
    """
    _check(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_ 需要 a < b，得到 a={a}, b={b}。")
    from scipy.special import ndtr, ndtri
    lo, hi = ndtr((a - mean) / std), ndtr((b - mean) / std)
    u = lo + (hi - lo) * _rng(generator).random(tensor.shape)
    return _write(tensor, np.clip(mean + std * ndtri(u), a, b))


def constant_(tensor, val):
    """把张量的每个元素设为 val。"""
    _check(tensor, "constant_")
    with no_grad():
        tensor.data = tensor.xp.full(tensor.shape, val, dtype=tensor.dtype)
        increment_version(tensor)
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Xavier（Glorot）均匀初始化：U(−a, a)，a = gain · √(6 / (fan_in + fan_out))。

    这样 Var(w) = gain² · 2 / (fan_in + fan_out)，兼顾前向（fan_in）与反向（fan_out）的方差。
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Xavier（Glorot）正态初始化：N(0, std²)，std = gain · √(2 / (fan_in + fan_out))。"""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:
        raise ValueError(f"形状 {tensor.shape} 的张量 {mode} 为 0，无法做 Kaiming 初始化。")
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He（Kaiming）均匀初始化：U(−bound, bound)，bound = gain · √(3 / fan)。

    参数:
        a: leaky_relu 的负半轴斜率（nonlinearity='relu' 时不用）。
        mode: 'fan_in' 保持前向方差，'fan_out' 保持反向方差。
        nonlinearity: 'relu' 或 'leaky_relu'（其余见 calculate_gain）。

    ``nn.Linear`` 的默认初始化就是 ``kaiming_uniform_(w, a=√5)``，化简后恰为 U(−1/√fan_in, 1/√fan_in)。
    """
    _check(tensor, "kaiming_uniform_")
    if 0 in tensor.shape:
        return tensor  # 空张量：没有元素可填（PyTorch 在此只给警告）
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He（Kaiming）正态初始化：N(0, std²)，std = gain / √fan。"""
    _check(tensor, "kaiming_normal_")
    if 0 in tensor.shape:
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)
