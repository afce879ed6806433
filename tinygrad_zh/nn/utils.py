"""训练用的小工具：梯度裁剪 (gradient clipping)，参数与向量互转。

梯度裁剪防止梯度爆炸 (exploding gradients)：RNN 与 Transformer 训练时偶尔出现的一步巨大梯度，
会把参数一下子推到很远的地方。按总范数裁剪只缩短梯度向量、不改变它的方向。
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import increment_version, no_grad
from ..creation import tensor
from ..tensor import Tensor, cat


def _as_list(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """按总范数裁剪梯度（原地修改 ``.grad``），返回裁剪**前**的总范数。

    把所有梯度拼成一个长向量 g：total = ‖g‖_p，系数 c = min(1, max_norm / (total + 1e-6))，每个梯度乘以 c。

    参数:
        parameters: 参数的可迭代对象（如 ``model.parameters()``）或单个张量；没有梯度的参数被跳过。
        max_norm: 允许的最大总范数。
        norm_type: 范数的阶 p（默认 2；``float('inf')`` 表示最大绝对值）。
        error_if_nonfinite: 总范数为 nan 或 inf 时是否报错。
    返回:
        0 维张量：裁剪前的总范数，在第一个梯度所在的设备上。

    例::

        >>> loss.backward()
        >>> total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> optimizer.step()
    """
    params = [p for p in _as_list(parameters) if p.grad is not None]  # 生成器只能遍历一次，先存成列表
    norm_type = float(norm_type)
    if not params:
        return tensor(0.0)
    # 同设备、同 dtype 的梯度拼成一条长向量：求范数与乘系数各只要几次数组运算，与参数个数无关
    # （GPU 上每次运算是一次核函数启动）；拼好的向量切回各参数的 .grad（切片是视图，不复制）
    groups = {}
    for p in params:
        g = p.grad.data
        groups.setdefault((backend.device_of(g), g.dtype), []).append(p)
    device = backend.device_of(params[0].grad.data)
    dtype = np.result_type(*[dt for _, dt in groups])
    xp = backend.get_array_module(params[0].grad.data)
    with no_grad():
        flats, norms = [], []
        for (dev, _), members in groups.items():
            gxp = backend.get_array_module(members[0].grad.data)
            flat = gxp.concatenate([m.grad.data.reshape(-1) for m in members])
            flats.append((members, flat, gxp, dev))
            norms.append(backend.to_device(gxp.linalg.norm(flat, ord=norm_type), device).astype(dtype))
        total = norms[0] if len(norms) == 1 else xp.linalg.norm(xp.stack(norms), ord=norm_type)
        if error_if_nonfinite and not math.isfinite(float(total)):
            raise RuntimeError(
                f"梯度的总 {norm_type} 范数 (total norm) 为 {float(total)}，不是有限数 (non-finite)，无法裁剪。"
                "提示：检查损失是否出现 nan/inf（学习率过大、log(0)、除以 0），或设 error_if_nonfinite=False。")
        # 即使系数被截成 1 也照乘：省掉一次 “if 系数 < 1” 的设备 → 主机同步（同 PyTorch）
        coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
        for members, flat, gxp, dev in flats:
            flat *= backend.to_device(coef, dev).astype(flat.dtype)
            offset = 0
            for m in members:
                n = m.grad.data.size
                m.grad.data = flat[offset:offset + n].reshape(m.grad.data.shape)
                offset += n
    return Tensor(total)


def clip_grad_value_(parameters, clip_value):
    """把每个梯度元素截到 [−clip_value, clip_value]（原地修改 ``.grad``）。

    例::

        >>> nn.utils.clip_grad_value_(model.parameters(), 0.5)
    """
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                g = p.grad.data
                p.grad.data = p.grad.xp.clip(g, -clip_value, clip_value)


def parameters_to_vector(parameters):
    """把所有参数展平后拼成一个向量（可微）。形状：``(Σ numel,)``。"""
    return cat([p.reshape(-1) for p in _as_list(parameters)])


def vector_to_parameters(vec, parameters):
    """``parameters_to_vector`` 的逆：把向量 vec 的数值按顺序切开，写回每个参数的 ``.data``。"""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vec 应为 Tensor，得到 {type(vec).__name__}。")
    params = _as_list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(f"vec 的形状 {vec.shape} 与参数的元素总数 {total} 不符，应为 ({total},)。")
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            piece = backend.to_device(vec.data[start:start + n], p.device)
            p.data = piece.reshape(p.shape).astype(p.dtype)
            increment_version(p)
            start += n
