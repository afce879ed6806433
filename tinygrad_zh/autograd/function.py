"""Function：每个可微运算的基类，也是计算图 (computational graph) 里的节点 (node)。

每个可微运算都是 ``Function`` 的子类，写两个静态方法：

- ``forward(ctx, *arrays)``：在原始数组上计算输出，用 ``ctx.save_for_backward`` 存下反向要用的数组；
- ``backward(ctx, grad)``：给定输出的梯度 (gradient)，返回每个输入的梯度（与输入一一对应）。

``Function.apply`` 把张量拆成数组、调用 ``forward``、把结果包成张量，并在需要时记下计算图：
输出的 ``grad_fn`` 就是这次调用的 ctx，``ctx.inputs`` 指回输入。反向传播沿着这些指针往回走（见 engine.py）。

本模块不认识 ``Tensor`` 类：参数里带 ``grad_fn`` 属性的就是张量，输出用第一个张量参数的类来包装。
这样依赖只朝一个方向：tensor.py 导入 autograd，autograd 不导入 tensor.py。
"""

from __future__ import annotations

from .. import backend
from .grad_mode import is_grad_enabled


def is_tensor(obj) -> bool:
    """``obj`` 是不是张量：张量类有 ``grad_fn`` 这个属性（数组、数字、元组都没有）。"""
    return hasattr(type(obj), "grad_fn")


class Function:
    """可微运算的基类，用法与 ``torch.autograd.Function`` 相同（只是 forward 收到的是数组）。

    例：自己写一个 ``f(x) = x³``，它的局部导数是 ``3x²``::

        from tinygrad_zh.autograd import Function

        class Cube(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x * x

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return grad * 3 * x * x

        y = Cube.apply(tg.tensor([2.0], requires_grad=True))   # y = [8.]

    约定：
    - 反向要用的数组一律用 ``ctx.save_for_backward`` 保存（图释放时它们会被释放）；
    - ``backward`` 返回的梯度个数等于 ``forward`` 的位置参数个数，非张量参数对应 ``None``；
    - 形状被广播 (broadcasting) 的输入，返回输出形状的梯度即可：引擎会把它求和回输入的形状；
    - 想支持二阶导数（``create_graph=True``）：只保存输入或输出本身（其余量在 backward 里重新算），
      backward 只用运算符和 ``ctx.xp`` 的函数。做不到时把类属性 ``supports_create_graph`` 设为 False。
    """

    zh = ""  # 中文名，用于打印计算图
    supports_create_graph = True
    create_graph = False  # 反向本身是否正被记进计算图（为 True 时 ctx.xp 是张量命名空间）

    # 一次 apply 产生一个实例：它既是 ctx，也是计算图里的节点，即输出的 grad_fn。
    def __init__(self):
        self._saved = ()
        self._released = False

    def save_for_backward(self, *arrays):
        """保存反向传播要用的数组（或 Python 数字）。"""
        self._saved = arrays

    @property
    def saved_tensors(self):
        if self._released:
            raise RuntimeError(
                f"{type(self).__name__}：试图第二次通过计算图反向传播 (backward through the graph a second time)，"
                "但第一次反向时保存的中间结果已经被释放。"
                "提示：若确实要多次反向，请在第一次调用 backward(retain_graph=True)。")
        return self._saved

    def release(self):
        """释放保存的数组（不保留计算图时，引擎在反向之后调用）。"""
        if self._saved:
            self._saved = ()
            self._released = True

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(  # abstract: 子类必须实现
            "Function 的子类必须实现 forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError(  # abstract: 子类必须实现
            "Function 的子类必须实现 backward(ctx, grad)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """在张量上运行这个运算；需要时把它记进计算图。

        这是每个运算都要经过的热路径 (hot path)，所以写得朴素而紧凑：一次遍历参数，取出数组、检查设备。
        """
        ctx = cls()
        arrays, first, any_grad = [], None, False
        for a in args:
            if is_tensor(a):
                d = a.data
                if first is None:
                    first = a
                elif type(d) is not type(first.data) and backend.device_of(d) != first.device:
                    raise RuntimeError(
                        f"设备不一致 (device mismatch)：{cls.__name__} 的输入分别在 '{first.device}' 和 "
                        f"'{backend.device_of(d)}' 上。提示：先用 .to('{first.device}') 把它们放到同一设备。")
                any_grad = any_grad or a.requires_grad
                arrays.append(d)
            else:
                arrays.append(a)
        if first is None:
            raise TypeError(f"{cls.__name__}.apply 至少需要一个 Tensor 参数。")
        ctx.xp = backend.get_array_module(first.data)
        out = cls.forward(ctx, *arrays, **kwargs)
        if not backend.is_array(out):
            # NumPy 对 0 维数组的运算返回标量：包成 0 维数组，保存的那一份也换成它（二阶导数靠“是不是输出”来认）
            arr = ctx.xp.asarray(out)
            ctx._saved = tuple(arr if s is out else s for s in ctx._saved)
            out = arr
        result = type(first)(out)
        # 整数、布尔输出不可求导（同 PyTorch）：梯度到这里为止
        if any_grad and is_grad_enabled() and out.dtype.kind == "f":
            ctx.inputs = args
            ctx.needs_input_grad = tuple(is_tensor(a) and a.requires_grad for a in args)
            result.requires_grad, result.grad_fn = True, ctx
        return result

    # ---- 计算图的可读形式 ----
    @property
    def name(self) -> str:
        return type(self).__name__ + "Backward"

    @property
    def next_functions(self):
        """与 PyTorch 相同：每个张量输入对应的上游节点（叶子为 None）。"""
        return tuple((a.grad_fn, 0) for a in getattr(self, "inputs", ()) if is_tensor(a))

    def __repr__(self):
        zh = f" {self.zh}" if self.zh else ""
        parents = ", ".join(
            (a.grad_fn.name if a.grad_fn is not None else f"叶子{tuple(a.shape)}")
            for a in getattr(self, "inputs", ()) if is_tensor(a) and a.requires_grad)
        return f"<{self.name}{zh} ← [{parents}]>"


def format_graph(tensor, max_depth=50) -> str:
    """把 ``tensor`` 的计算图画成一棵文字树（从输出往回看）。不依赖任何绘图库。

    例::

        >>> x = tg.tensor(2.0, requires_grad=True)
        >>> print(format_graph((x * x + x).sum()))
    """
    def describe(t):
        if t.grad_fn is None:
            kind = "叶子 (leaf)" if t.requires_grad else "常量"
            return f"{kind} shape={tuple(t.shape)}"
        fn = t.grad_fn
        zh = f"（{fn.zh}）" if fn.zh else ""
        return f"{fn.name}{zh} shape={tuple(t.shape)}"

    lines, seen = [], {}
    stack = [(tensor, 0, "")]
    while stack:
        t, depth, prefix = stack.pop()
        if id(t) in seen:
            lines.append(f"{prefix}{describe(t)}  [见上文 #{seen[id(t)]}]")
            continue
        seen[id(t)] = len(seen) + 1
        lines.append(f"{prefix}{describe(t)}  #{seen[id(t)]}")
        if t.grad_fn is None or depth >= max_depth:
            continue
        children = [a for a in t.grad_fn.inputs if is_tensor(a)]
        for a in reversed(children):
            stack.append((a, depth + 1, "    " * (depth + 1) + "└─ "))
    return "\n".join(lines)
