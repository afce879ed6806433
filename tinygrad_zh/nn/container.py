"""容器模块：Sequential（按顺序串联）、ModuleList（模块的列表）、ModuleDict（模块的字典）。

为什么不直接用 Python 的 list / dict？因为放在普通列表里的层不会被登记：``parameters()`` 找不到它们，
优化器就不会更新它们，``to("cuda")`` 也不会搬动它们。容器是会登记子模块的列表和字典。
"""

from __future__ import annotations

import operator
from collections import OrderedDict

from .module import Module, _addindent


def _check_module(module, who):
    if not isinstance(module, Module):
        raise TypeError(f"{who} 只能存放 nn.Module，得到 {type(module).__name__}。")
    return module


class _IndexedModules(Module):
    """Sequential 与 ModuleList 共用的按位置存取：键是 "0"、"1"、…，删除后重新编号。"""

    def _abs_index(self, idx):
        idx = operator.index(idx)
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"下标 {idx} 越界 (index out of range)：{type(self).__name__} 里只有 {n} 个模块。")
        return idx % n

    def _renumber(self):
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(self._modules.values())}

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __setitem__(self, idx, module):
        key = list(self._modules)[self._abs_index(idx)]
        self._modules[key] = _check_module(module, type(self).__name__)

    def __delitem__(self, idx):
        keys = list(self._modules)
        if isinstance(idx, slice):
            for key in keys[idx]:
                del self._modules[key]
        else:
            del self._modules[keys[self._abs_index(idx)]]
        self._renumber()

    def append(self, module):
        """在末尾加一个模块。返回 self。"""
        self.add_module(str(len(self)), _check_module(module, type(self).__name__))
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """在位置 index 之前插入模块，后面的模块依次后移一位。"""
        _check_module(module, type(self).__name__)
        mods = list(self._modules.values())
        n = len(mods)
        index = operator.index(index)
        index = max(0, min(n, index if index >= 0 else n + index))
        mods.insert(index, module)
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(mods)}

    def pop(self, idx=-1):
        module = self[idx]
        del self[idx]
        return module

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_IndexedModules):
    """按顺序串联的模块：前一个的输出是后一个的输入，``forward(x) = m_n(…m_2(m_1(x)))``。

    参数:
        *args: 若干模块（名字依次为 "0"、"1"、…），或一个 ``OrderedDict``（名字 → 模块）。

    例::

        >>> model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> model(tg.randn(4, 2)).shape
        (4, 1)
        >>> model[0]
        Linear(in_features=2, out_features=8, bias=True)
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (OrderedDict, dict)):
            for key, module in args[0].items():
                self.add_module(key, _check_module(module, "Sequential"))
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), _check_module(module, "Sequential"))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._abs_index(idx)]

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(_IndexedModules):
    """模块的列表：会登记每个模块，但自己没有 forward，怎么用由外层模块决定。

    例::

        >>> layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        >>> len(layers), len(list(layers.parameters()))
        (3, 6)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return list(self._modules.values())[self._abs_index(idx)]

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __repr__(self):
        """与 PyTorch 相同：连续重复的模块合并成一行，如 ``(0-2): 3 x Linear(...)``。"""
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        blocks = []  # [起, 止, 文字]
        for i, r in enumerate(reprs):
            if blocks and blocks[-1][2] == r:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        lines = []
        for start, end, r in blocks:
            line = f"({start}): {r}" if start == end else f"({start}-{end}): {end - start + 1} x {r}"
            lines.append(_addindent(line, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """模块的字典（保持插入顺序）：``md["encoder"] = nn.Linear(4, 4)``。

    例::

        >>> heads = nn.ModuleDict({"cls": nn.Linear(8, 3), "reg": nn.Linear(8, 1)})
        >>> list(heads.keys())
        ['cls', 'reg']
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict 里没有键 '{key}'。已有的键：{list(self._modules)}。")
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, _check_module(module, "ModuleDict"))

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        module = self[key]
        del self._modules[key]
        return module

    def update(self, modules):
        """从字典或 (键, 模块) 对的序列更新。"""
        items = modules.items() if hasattr(modules, "items") else modules
        for pair in items:
            if len(pair) != 2:
                raise ValueError(f"ModuleDict.update 需要 (键, 模块) 对，得到长度为 {len(pair)} 的元素。")
            self[pair[0]] = pair[1]
