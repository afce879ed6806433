"""自动微分 (autograd) 引擎：Function、计算图 (computational graph) 与反向传播 (backpropagation)。

每个可微运算都是 ``Function`` 的子类，写两个静态方法：

- ``forward(ctx, *arrays)``：在原始数组上计算输出，用 ``ctx.save_for_backward`` 存下反向要用的数组；
- ``backward(ctx, grad)``：给定输出的梯度 (gradient)，返回每个输入的梯度（与输入一一对应）。

``Function.apply`` 把张量拆成数组、调用 ``forward``、把结果包成张量，并在需要时记下计算图。
``Tensor.backward`` 调用本模块的 ``backward``：按拓扑序 (topological order) 反向走一遍图，
链式法则 (chain rule) 把梯度一路乘回去。

为什么 backward 要用 ``xp = ctx.xp`` 和运算符来写？因为同一段代码可以跑在两种“数”上：
平时是数组（快）；``create_graph=True`` 时是张量（反向计算本身也被记进图里，于是能求二阶导数）。
"""

from __future__ import annotations

import numpy as np

from . import backend
from .grad_mode import (enable_grad, is_grad_enabled, no_grad,  # noqa: F401  公开名字仍从 autograd 导入
                        set_grad_enabled)


# ----------------------------------------------------------------------------
# Function
# ----------------------------------------------------------------------------

_Tensor = None


def _tensor_class():
    """Tensor 类（tensor.py 导入本模块，所以这里延迟取得并缓存）。"""
    global _Tensor
    if _Tensor is None:
        from .tensor import Tensor
        _Tensor = Tensor
    return _Tensor


def _tag(saved, out, arrays, args, Tensor):
    """保存的对象是输出 (-1)、第 i 个张量输入 (i)，还是别的 (None)。"""
    if saved is out:
        return -1
    for i, a in enumerate(arrays):
        if saved is a and isinstance(args[i], Tensor):
            return i
    return None


def _device_mismatch(cls, a, b):
    da, db = backend.device_of(a), backend.device_of(b)
    raise RuntimeError(
        f"设备不一致 (device mismatch)：{cls.__name__} 的输入分别在 '{da}' 和 '{db}' 上。"
        f"提示：先用 .to('{da}') 把它们放到同一设备。")

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
      为了支持二阶导数，只保存输入或输出本身，其余量在 backward 里由它们重新算出；
    - ``backward`` 返回的梯度个数等于 ``forward`` 的位置参数个数，非张量参数对应 ``None``；
    - 若想支持 ``create_graph=True``，backward 只用运算符和 ``ctx.xp`` 的函数。
    - 形状被广播 (broadcasting) 的输入，返回输出形状的梯度即可：引擎会把它求和回输入的形状。
    """

    zh = ""  # 中文名，用于打印计算图
    # backward 只用数组专有的操作（如原地下标赋值）写成时设为 False：create_graph 会给出清楚的错误
    supports_create_graph = True

    # 一次 apply 产生一个实例：它既是 ctx，也是计算图里的节点 (node)，即输出的 grad_fn。
    def __init__(self):
        self._saved = ()
        self._saved_tags = ()
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

        这是每个运算都要经过的热路径 (hot path)，所以写得朴素而紧凑：一次遍历参数，按数组类型判断设备。
        """
        Tensor = _tensor_class()
        ctx = cls()
        arrays, first, any_grad = [], None, False
        for a in args:
            if isinstance(a, Tensor):
                d = a._data
                if first is None:
                    first = d
                elif type(d) is not type(first):
                    _device_mismatch(cls, first, d)
                any_grad = any_grad or a.requires_grad
                arrays.append(d)
            else:
                arrays.append(a)
        if first is None:
            raise TypeError(f"{cls.__name__}.apply 至少需要一个 Tensor 参数。")
        ctx.xp = backend.get_array_module(first)
        out = cls.forward(ctx, *arrays, **kwargs)
        needs_grad = any_grad and is_grad_enabled()
        result = Tensor._make(out, needs_grad)
        if needs_grad:
            ctx.inputs = args
            ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
            if ctx._saved:
                # 记下保存的数组是哪个输入、还是输出：create_graph 时要换回对应的张量
                ctx._saved_tags = [_tag(s, out, arrays, args, Tensor) for s in ctx._saved]
            result.grad_fn = ctx
        return result

    # ---- 计算图的可读形式 ----
    @property
    def name(self) -> str:
        return type(self).__name__ + "Backward"

    @property
    def next_functions(self):
        """与 PyTorch 相同：每个需要梯度的输入对应的上游节点（叶子为 None）。"""
        from .tensor import Tensor
        return tuple((a.grad_fn, 0) for a in getattr(self, "inputs", ()) if isinstance(a, Tensor))

    def __repr__(self):
        from .tensor import Tensor
        zh = f" {self.zh}" if self.zh else ""
        parents = ", ".join(
            (a.grad_fn.name if a.grad_fn is not None else f"叶子{tuple(a.shape)}")
            for a in getattr(self, "inputs", ()) if isinstance(a, Tensor) and a.requires_grad)
        return f"<{self.name}{zh} ← [{parents}]>"

    def _release(self):
        """释放保存的数组（不保留计算图时，反向之后调用）。"""
        if self._saved:
            self._saved = ()
            self._released = True


# ----------------------------------------------------------------------------
# 反向传播引擎
# ----------------------------------------------------------------------------

def sum_to_shape(xp, g, shape, who="广播"):
    """把梯度 ``g`` 求和回 ``shape``：广播 (broadcast) 的伴随 (adjoint) 就是求和。

    前向时形状为 ``shape`` 的输入被广播成了 ``g.shape``，反向时被复制出来的那些位置的梯度要加起来。
    """
    shape = tuple(shape)
    gshape = tuple(g.shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    ok = lead >= 0 and all(s == 1 or s == gs for s, gs in zip(shape, gshape[lead:]))
    if not ok:
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：{who} 返回的梯度形状为 {gshape}，无法求和回输入的形状 {shape}。"
            "提示：backward 返回的梯度应与输入同形，或是它广播后的形状。")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead:
        g = xp.reshape(g, shape)
    return g


def _toposort(root):
    """从 ``root`` 出发的所有需要梯度的张量，按拓扑序排列（用显式栈，不递归，长链也不会爆栈）。"""
    from .tensor import Tensor
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        fn = t.grad_fn
        if fn is not None:
            for a in fn.inputs:
                if isinstance(a, Tensor) and a.requires_grad and id(a) not in visited:
                    stack.append((a, False))
    return order


def _check_grad(fn, i, parent, g, create_graph):
    """检查某个 Function 的 backward 返回的梯度：设备、dtype、形状。出错时点名是哪个 Function。"""
    if create_graph:
        arr = g.data
    else:
        if isinstance(g, np.generic):  # NumPy 对 0 维数组的运算返回标量
            g = np.asarray(g)
        arr = g
    if not backend.is_array(arr):
        raise TypeError(
            f"{type(fn).__name__}.backward 为第 {i} 个输入返回了 {type(g).__name__}，应该返回数组。")
    dev = backend.device_of(arr)
    if dev != parent.device:
        raise RuntimeError(
            f"设备不一致 (device mismatch)：{type(fn).__name__}.backward 为第 {i} 个输入返回的梯度在 '{dev}' 上，"
            f"而输入在 '{parent.device}' 上。")
    if arr.dtype != parent.dtype:
        raise TypeError(
            f"dtype 不一致：{type(fn).__name__}.backward 为第 {i} 个输入返回的梯度是 {arr.dtype}，"
            f"而输入是 {parent.dtype}。提示：检查是否混入了 float64 常数（如 np.float64 标量）。")
    return sum_to_shape(fn.xp if not create_graph else _tensor_xp(), g, parent.shape,
                        who=f"{type(fn).__name__}.backward（第 {i} 个输入）")


def _tensor_xp():
    from .tensor_xp import tensor_xp
    return tensor_xp


class _CreateGraphCtx:
    """create_graph=True 时传给 backward 的 ctx：保存的数组换成对应的张量，xp 换成张量命名空间。"""

    def __init__(self, fn, out_tensor):
        from .tensor import Tensor
        self._fn = fn
        saved = fn.saved_tensors
        items = []
        for s, tag in zip(saved, fn._saved_tags):
            if tag == -1:
                items.append(out_tensor)
            elif tag is not None:
                items.append(fn.inputs[tag])
            elif backend.is_array(s):
                items.append(Tensor._make(s, False))
            else:
                items.append(s)
        self.saved_tensors = tuple(items)
        self.xp = _tensor_xp()

    def __getattr__(self, name):  # 其余属性（形状、轴等）照搬原节点
        return getattr(self._fn, name)


def backward(root, gradient=None, retain_graph=False, create_graph=False, capture=None):
    """从 ``root`` 反向传播，把梯度累加到叶子张量的 ``.grad`` 上。详见 ``Tensor.backward``。

    ``capture`` 是 ``{id(张量): None}`` 时，只把这些张量的梯度填进字典（供 ``grad`` 使用），不动任何 ``.grad``。
    """
    from .tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError(
            "这个张量不需要梯度 (does not require grad)，也没有 grad_fn，无法反向传播。"
            "提示：创建叶子张量时传 requires_grad=True，并且不要在 no_grad() 里计算它。")
    xp = backend.get_array_module(root.data)
    if gradient is None:
        if root.numel() != 1:
            raise RuntimeError(
                f"只有标量 (scalar) 输出才能隐式创建梯度：backward() 的输出形状为 {tuple(root.shape)}。"
                "提示：先 .sum() 或 .mean() 得到标量，或传入 gradient=与输出同形的张量。")
        g = xp.ones(root.shape, dtype=root.dtype)
    else:
        g = gradient.data if isinstance(gradient, Tensor) else gradient
        if not backend.is_array(g):
            g = xp.asarray(g, dtype=root.dtype)
        if backend.device_of(g) != root.device:
            raise RuntimeError(
                f"设备不一致 (device mismatch)：gradient 在 '{backend.device_of(g)}' 上，输出在 '{root.device}' 上。")
        if tuple(g.shape) != tuple(root.shape):
            raise RuntimeError(
                f"形状不匹配 (shape mismatch)：gradient 的形状 {tuple(g.shape)} 与输出的形状 {tuple(root.shape)} 不同。")
        g = g.astype(root.dtype, copy=True)  # 复制：梯度缓冲区不与用户的数组共享
    if create_graph:
        g = Tensor._make(g, False) if not isinstance(gradient, Tensor) else gradient

    order = _toposort(root)
    grads = {id(root): g}
    owned = set()  # 已经存进某个 .grad 的数组：再次出现就要复制，避免两个 .grad 共享内存
    with (enable_grad() if create_graph else no_grad()):
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if capture is not None:
                if id(t) in capture:
                    capture[id(t)] = g if create_graph else Tensor._make(g, False)
            elif t.grad_fn is None or t._retains_grad:
                _accumulate(t, g, create_graph, owned)
            fn = t.grad_fn
            if fn is None:
                continue
            if create_graph and not type(fn).supports_create_graph:
                raise RuntimeError(
                    f"{type(fn).__name__} 是融合运算 (fused op)，它的 backward 不能再求导，所以不支持 create_graph=True "
                    "(二阶导数)。提示：需要二阶导数时，用基本运算组合出同样的函数。")
            ctx = _CreateGraphCtx(fn, t) if create_graph else fn
            in_grads = type(fn).backward(ctx, g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            if len(in_grads) != len(fn.inputs):
                raise RuntimeError(
                    f"{type(fn).__name__}.backward 返回了 {len(in_grads)} 个梯度，但 forward 有 "
                    f"{len(fn.inputs)} 个输入。提示：非张量输入对应的位置返回 None。")
            for i, (parent, pg) in enumerate(zip(fn.inputs, in_grads)):
                if pg is None or not fn.needs_input_grad[i]:
                    continue
                pg = _check_grad(fn, i, parent, pg, create_graph)
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg
            if not retain_graph:
                fn._release()


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """返回 ``outputs`` 对 ``inputs`` 的梯度（元组），不修改任何 ``.grad``。同 ``torch.autograd.grad``。

    例：二阶导数::

        >>> x = tg.tensor(2.0, requires_grad=True)
        >>> (dy,) = grad(x ** 3, x, create_graph=True)   # 3x² = 12
        >>> (d2y,) = grad(dy, x)                          # 6x = 12
    """
    from .tensor import Tensor
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    if isinstance(outputs, (tuple, list)):
        if len(outputs) != 1:
            raise ValueError("grad 目前只支持一个输出张量；多个输出请先加权求和成一个。")
        outputs = outputs[0]
        if isinstance(grad_outputs, (tuple, list)):
            grad_outputs = grad_outputs[0]
    if retain_graph is None:
        retain_graph = create_graph
    capture = {id(t): None for t in inputs}
    backward(outputs, grad_outputs, retain_graph=retain_graph, create_graph=create_graph, capture=capture)
    result = []
    for i, t in enumerate(inputs):
        g = capture[id(t)]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"第 {i} 个输入 (shape={t.shape}) 没有参与计算 outputs，得不到梯度。提示：传 allow_unused=True 时返回 None。")
        result.append(g)
    return tuple(result)


def _accumulate(t, g, create_graph, owned):
    """把梯度加到 ``t.grad`` 上（叶子，或调用过 ``retain_grad()`` 的中间张量）。"""
    from .tensor import Tensor
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
        return
    if t.grad is None:
        # 视图 (view)（如广播结果）可能只读或与别的梯度共享内存：复制一份再存
        if getattr(g, "base", None) is not None or id(g) in owned:
            g = g.copy()
        owned.add(id(g))
        t.grad = Tensor._make(g, False)
    else:
        t.grad = Tensor._make(t.grad.data + g, False)


from .viz import format_graph  # noqa: E402,F401  文字版计算图放在 viz.py，这里保留原来的导入路径
