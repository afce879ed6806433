"""模块 (Module)：把参数 (Parameter) 组织成可训练的网络。

- ``Parameter``（在 parameter.py）：需要学习的张量。赋值给模块的属性时自动登记，``model.parameters()`` 就能找到它；
- ``Module``：网络的积木。子模块、参数、缓冲区 (buffer) 都靠属性赋值登记，名字按赋值顺序排列，
  与 PyTorch 完全一致，所以 ``state_dict()`` 的键可以直接对照 PyTorch 模型；
- 容器 ``Sequential`` / ``ModuleList`` / ``ModuleDict`` 在 container.py；保存与加载（``state_dict``）在 state_dict.py。
"""

from __future__ import annotations

import difflib
from .. import backend, dtypes
from ..autograd import no_grad
from ..tensor import Tensor
from .parameter import Parameter
from .state_dict import IncompatibleKeys, StateDictMixin  # noqa: F401  IncompatibleKeys 仍可从这里导入


def _check_name(owner, name, kind, table):
    if not isinstance(name, str):
        raise TypeError(f"{kind} 的名字必须是字符串 (str)，得到 {type(name).__name__}。")
    if name == "" or "." in name:
        raise KeyError(f"{kind} 的名字不能为空，也不能含 '.'，得到 {name!r}。")
    if name not in table and hasattr(owner, name):
        raise KeyError(f"属性 '{name}' 已经存在 (attribute already exists)，不能再登记为 {kind}。")


class Module(StateDictMixin):
    """所有神经网络模块的基类（同 ``torch.nn.Module``）。

    子类在 ``__init__`` 里先调用 ``super().__init__()``，再把层和参数赋值给属性，然后实现 ``forward``：

        >>> class MLP(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1 = nn.Linear(2, 8)
        ...         self.fc2 = nn.Linear(8, 1)
        ...     def forward(self, x):
        ...         return self.fc2(self.fc1(x).relu())
        >>> [name for name, _ in MLP().named_parameters()]
        ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(  # abstract: 子类必须实现
            f"模块 [{type(self).__name__}] 缺少 forward 方法 (missing the required \"forward\" function)。")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ 登记
    def _require_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"在 Module.__init__() 之前不能给 {type(self).__name__} 赋值{what} "
                f"(cannot assign {what} before Module.__init__() call)。提示：在子类 __init__ 的第一行写 super().__init__()。")

    def register_parameter(self, name, param):
        """登记一个参数（param 为 None 表示“这个位置没有参数”，如 ``Linear(bias=False)`` 的 bias）。"""
        self._require_init("参数 (parameter)")
        _check_name(self, name, "参数 (parameter)", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"不能把 {type(param).__name__} 登记为参数 '{name}'（需要 nn.Parameter 或 None）。"
                "提示：用 nn.Parameter(张量) 包一层；普通张量请用 register_buffer。")
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"参数 '{name}' 不能是计算出来的非叶子张量 (non-leaf tensor)。提示：用 nn.Parameter(x.detach())。")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """登记缓冲区 (buffer)：随模块移动设备、（persistent 时）存进 state_dict，但不是参数，不被优化器更新。"""
        self._require_init("缓冲区 (buffer)")
        _check_name(self, name, "缓冲区 (buffer)", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"缓冲区 '{name}' 必须是 Tensor 或 None，得到 {type(tensor).__name__}。")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """登记子模块；与 ``self.name = module`` 等价。"""
        self._require_init("子模块 (module)")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"子模块 '{name}' 必须是 nn.Module 或 None，得到 {type(module).__name__}。")
        _check_name(self, name, "子模块 (module)", self._modules)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")

        def remove_from(*tables):
            for t in tables:
                if t in d and name in d[t]:
                    del d[t][name]
            d.pop(name, None)
            d.get("_non_persistent_buffers_set", set()).discard(name)

        if isinstance(value, Parameter):
            self._require_init("参数 (parameter)")
            remove_from("_buffers", "_modules")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"不能把 {type(value).__name__} 赋给参数 '{name}'（需要 nn.Parameter 或 None）。"
                    "提示：想改数值请在 no_grad() 下写 .data。")
            params[name] = None
        elif isinstance(value, Module):
            self._require_init("子模块 (module)")
            remove_from("_parameters", "_buffers")
            self._modules[name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"不能把 {type(value).__name__} 赋给子模块 '{name}'（需要 nn.Module 或 None）。")
            d["_modules"][name] = None
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"不能把 {type(value).__name__} 赋给缓冲区 '{name}'（需要 Tensor 或 None）。")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # 只有正常的属性查找失败时才会来到这里；用 __dict__ 直接取，避免 copy / pickle 时无限递归
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        known = list(d.get("_parameters", ())) + list(d.get("_buffers", ())) + list(d.get("_modules", ()))
        close = difflib.get_close_matches(name, known + [k for k in d if not k.startswith("_")], n=1)
        hint = f"提示：你是不是想写 '{close[0]}'？" if close else ""
        raise AttributeError(f"'{type(self).__name__}' 对象没有属性 (has no attribute) '{name}'。{hint}")

    def __delattr__(self, name):
        for table in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(table, ()):
                del self.__dict__[table][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    # ------------------------------------------------------------------ 遍历
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """递归给出 (名字, 模块)，自己排第一（名字为 ''）；同一个模块只出现一次。"""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """直接子模块 (名字, 模块)，不递归。"""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, table, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, module in mods:
            for k, v in module.__dict__[table].items():
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + k, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(名字, 参数)，顺序与 PyTorch 相同；共享（绑定）的参数只给一次。"""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """所有参数（交给优化器的就是它）。共享（绑定）的参数只给一次。"""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """按点分路径取子模块：``model.get_submodule("blocks.0.attn")``。"""
        mod = self
        for part in target.split(".") if target else ():
            if part not in mod._modules or mod._modules[part] is None:
                raise AttributeError(f"{type(mod).__name__} 没有名为 '{part}' 的子模块（路径 '{target}'）。")
            mod = mod._modules[part]
        return mod

    def apply(self, fn):
        """对每个子模块（递归，先子后父）和自己调用 ``fn(module)``，常用于自定义初始化。返回 self。"""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ 训练状态与梯度
    def train(self, mode=True):
        """切换训练 / 评估模式（影响 Dropout、BatchNorm 等），递归作用于所有子模块。返回 self。"""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode) 的 mode 应为 bool，得到 {mode!r}。")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        """评估模式，等价于 ``train(False)``。"""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """设置所有参数的 requires_grad（例如冻结 (freeze) 一部分网络）。返回 self。"""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """清空所有参数的梯度：默认设为 None（省内存），set_to_none=False 时填 0。"""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data = p.grad.xp.zeros_like(p.grad.data)

    # ------------------------------------------------------------------ 设备与 dtype
    def _apply(self, convert):
        """对每个参数、缓冲区（及参数的梯度）的数组做 ``convert``，原地改 ``.data``，对象身份不变。"""
        seen = set()
        for t in list(self.parameters()) + list(self.buffers()):
            if id(t) in seen:
                continue
            seen.add(id(t))
            t.data = convert(t.data)
            if t.grad is not None:
                t.grad.data = convert(t.grad.data)
        return self

    def to(self, *args, device=None, dtype=None):
        """把参数和缓冲区搬到 ``device``，和/或把浮点参数转成 ``dtype``；原地修改，返回 self。

        ``model.to("cuda")``、``model.to(tg.float64)``、``model.to("cpu", tg.float32)``、``model.to(x)``。
        参数对象保持不变（只换 ``.data``），所以先建优化器、后移动模型也没问题（同 PyTorch）。
        整数缓冲区不受 dtype 影响。
        """
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) and (a in backend.DEVICES or a.startswith("cuda")):
                device = a
            else:
                dtype = a
        if device is not None:
            device = backend.normalize_device(device)
        if dtype is not None:
            dtype = dtypes.to_dtype(dtype)
            if not dtypes.is_floating(dtype):
                raise TypeError(f"nn.Module.to 只接受浮点 dtype (floating point dtypes)，得到 {dtype}。")

        def convert(arr):
            if device is not None:
                arr = backend.to_device(arr, device)
            if dtype is not None and arr.dtype.kind == "f" and arr.dtype != dtype:
                arr = arr.astype(dtype)
            return arr
        with no_grad():
            return self._apply(convert)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    # ------------------------------------------------------------------ 打印
    def extra_repr(self):
        """子类在这里返回一行说明（如 ``in_features=2, out_features=3, bias=True``），显示在 repr 里。"""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(module), 2) for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _addindent(text, spaces):
    """把多行文字除第一行外都缩进 spaces 个空格（PyTorch 打印模块树的方式）。"""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])
