"""模块的保存与加载：``state_dict`` / ``load_state_dict``（``Module`` 从这里继承）。

键是参数与持久缓冲区的点号路径（``transformer.h.0.attn.c_attn.weight``），与 PyTorch 相同；
值是主机上的 NumPy 数组副本，所以可以直接 ``tg.save``，也可以 ``torch.from_numpy`` 给 PyTorch 模型。
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from .. import backend
from ..autograd import increment_version, no_grad
from ..tensor import Tensor


class IncompatibleKeys(NamedTuple):
    """``load_state_dict`` 的返回值：缺少的键与多余的键（同 PyTorch 的 ``_IncompatibleKeys``）。"""
    missing_keys: list
    unexpected_keys: list

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"


class StateDictMixin:
    """``Module`` 的保存与加载方法（依赖 ``_parameters`` / ``_buffers`` / ``_modules`` 等登记表）。"""
    __slots__ = ()

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """有序字典：名字 → 参数与持久缓冲区的 NumPy 数组**副本**（放在主机上，可直接存盘或给 torch.from_numpy）。

        共享（绑定）的参数在每个名字下各出现一次，与 PyTorch 相同；这些名字对应**同一个**数组副本
        （PyTorch 里它们共享存储），所以 ``tg.save`` 只存一份。``keep_vars=True`` 时给出张量本身。
        """
        out = OrderedDict() if destination is None else destination
        tensors = OrderedDict()
        self._state_tensors(tensors, prefix)
        copies = {}
        for name, t in tensors.items():
            if not keep_vars:
                if id(t) not in copies:
                    copies[id(t)] = _host_copy(t.data)
                t = copies[id(t)]
            out[name] = t
        return out

    def _state_tensors(self, out, prefix):
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                out[prefix + name] = b
        for name, module in self._modules.items():
            if module is not None:
                module._state_tensors(out, prefix + name + ".")

    def load_state_dict(self, state_dict, strict=True):
        """把 ``state_dict``（名字 → NumPy 数组或 Tensor）的数值复制进参数与缓冲区。

        先全部检查、再统一写入：出错时模型一个数都不会被改。形状不符总是报错；strict=True 时
        缺少或多余的键也报错（RuntimeError，一次列出全部问题）。写入的值转成已有参数的 dtype 与设备。
        返回 ``IncompatibleKeys(missing_keys, unexpected_keys)``。
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict 需要一个字典 (Mapping)，得到 {type(state_dict).__name__}。")
        state_dict = dict(state_dict)
        for name, m in self.named_modules():  # 子模块可以先补齐旧版本字典里缺的键（如 BatchNorm 的计数）
            upgrade = getattr(m, "_upgrade_state_dict", None)
            if upgrade is not None:
                upgrade(state_dict, name + "." if name else "")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, plan, done = [], [], set()
        for name, t in own.items():
            if name not in state_dict:
                continue
            value = _as_array(state_dict[name], name)
            if tuple(value.shape) != t.shape:
                errors.append(f"size mismatch for {name}: 检查点 (checkpoint) 里的形状是 {tuple(value.shape)}，"
                              f"而当前模型里的形状是 {t.shape}。")
                continue
            if id(t) not in done:  # 绑定的参数只写一次（取第一个出现的键）
                done.add(id(t))
                plan.append((t, value))
        if strict:
            head = []
            if missing:
                head.append("缺少的键 (Missing key(s))：" + ", ".join(f'"{k}"' for k in missing) + "。")
            if unexpected:
                head.append("多余的键 (Unexpected key(s))：" + ", ".join(f'"{k}"' for k in unexpected) + "。")
            errors = head + errors
        if errors:
            raise RuntimeError(
                f"加载 state_dict 出错 (Error(s) in loading state_dict for {type(self).__name__})：\n\t"
                + "\n\t".join(errors)
                + "\n提示：检查模型结构是否与保存时相同；只想加载一部分参数时传 strict=False。")
        with no_grad():
            for t, value in plan:
                # astype 总会复制：加载后的参数不与调用者的数组共享内存
                t.data = backend.to_device(value, t.device).astype(t.dtype)
                increment_version(t)
        return IncompatibleKeys(missing, unexpected)


def _host_copy(arr):
    """任何设备上的数组 → 主机上的 NumPy 副本（不与模型共享内存）。"""
    host = backend.to_numpy(arr)
    return np.array(host, copy=True)


def _as_array(value, name):
    if isinstance(value, Tensor):
        return value.data
    if backend.is_array(value):
        return value
    if isinstance(value, (list, tuple, int, float, np.generic)):
        return np.asarray(value)
    raise TypeError(f"state_dict['{name}'] 应是 NumPy 数组或 Tensor，得到 {type(value).__name__}。")
