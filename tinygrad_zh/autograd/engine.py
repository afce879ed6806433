"""自动微分的核心：计算图的节点 ``Function``，与 ``loss.backward()`` 的反向传播引擎。

**前向：记下计算图 (computational graph)。** 每个可微运算都是 ``Function`` 的子类，写两个静态方法：

- ``forward(ctx, *arrays)``：在原始数组上计算输出，用 ``ctx.save_for_backward`` 存下反向要用的数组；
- ``backward(ctx, grad)``：给定输出的梯度 (gradient)，返回每个输入的梯度（与输入一一对应）。

``Function.apply`` 把张量拆成数组、调用 ``forward``、把结果包成张量，并在需要时记下计算图：
输出的 ``grad_fn`` 就是这次调用的 ctx，``ctx.inputs`` 指回输入。

**反向：沿图往回走（``backward``）。**

1. 从输出出发，按拓扑序 (topological order) 排好所有需要梯度的张量；
2. 倒着走：每个节点把收到的梯度交给它的 ``Function.backward``，链式法则 (chain rule) 给出各输入的梯度；
3. 同一个张量被用了几次，就收到几份梯度，加起来；叶子张量 (leaf tensor) 的梯度累加到 ``.grad``。

这里的梯度都是原始数组。要把反向本身也记进计算图（``create_graph=True``，二阶导数）请看 higher_order.py。

本模块不认识 ``Tensor`` 类：参数里带 ``grad_fn`` 属性的就是张量，输出用第一个张量参数的类来包装。
这样依赖只朝一个方向：tensor.py 导入 autograd，autograd 不导入 tensor.py。
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from .. import backend


# ============================================================================ 梯度模式 (grad mode)：要不要记图

_state = threading.local()


def is_grad_enabled() -> bool:
    """当前是否记录计算图（梯度模式）。每个线程各有一份，与 PyTorch 相同。"""
    return _state.__dict__.get("grad_enabled", True)


def _set_grad_enabled(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


class _GradMode(contextlib.ContextDecorator):
    _mode = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _set_grad_enabled(self._prev)
        return False


class no_grad(_GradMode):
    """在这个范围内不记录计算图：推断 (inference)、参数更新时使用。

    既可以当上下文管理器，也可以当装饰器::

        with tg.no_grad():
            y = model(x)

        @tg.no_grad()
        def evaluate(): ...
    """
    _mode = False


class enable_grad(_GradMode):
    """在 ``no_grad`` 内部重新打开梯度记录。用法同 ``no_grad``。"""
    _mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` 等价于 ``no_grad()``。"""

    def __init__(self, mode: bool):
        self._mode = bool(mode)


# ============================================================================ Function：计算图的节点

_is_tensor_type = {}  # 类型 → 是不是张量类；每个运算都要问好几次，查一次字典比 hasattr 快


def is_tensor(obj) -> bool:
    """``obj`` 是不是张量：张量类有 ``grad_fn`` 这个属性（数组、数字、元组都没有）。"""
    cls = type(obj)
    known = _is_tensor_type.get(cls)
    if known is None:
        known = _is_tensor_type[cls] = hasattr(cls, "grad_fn")
    return known


_base_classes = {}


def tensor_class(t):
    """运算结果、梯度用的类：定义 ``grad_fn`` 的那个基类（``nn.Parameter`` 参与的运算，结果仍是普通 Tensor）。"""
    cls = type(t)
    base = _base_classes.get(cls)
    if base is None:
        base = _base_classes[cls] = next(c for c in cls.__mro__ if "grad_fn" in c.__dict__)
    return base


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
        arrays, versions, first, first_data, any_grad = [], [], None, None, False
        for a in args:
            if is_tensor(a):
                d = a.data
                versions.append(a._version)
                if first is None:
                    first, first_data = a, d
                elif type(d) is not type(first_data) and backend.device_of(d) != backend.device_of(first_data):
                    da, db = backend.device_of(first_data), backend.device_of(d)
                    raise RuntimeError(
                        f"设备不一致 (device mismatch)：{cls.__name__} 的输入分别在 '{da}' 和 '{db}' 上。"
                        f"提示：先用 .to('{da}') 把它们放到同一设备。")
                any_grad = any_grad or a.requires_grad
                arrays.append(d)
            else:
                arrays.append(a)
                versions.append(None)
        if first is None:
            raise TypeError(f"{cls.__name__}.apply 至少需要一个 Tensor 参数。")
        ctx.xp = backend.get_array_module(first_data)
        out = cls.forward(ctx, *arrays, **kwargs)
        if not backend.is_array(out):
            # NumPy 对 0 维数组的运算返回标量：包成 0 维数组，保存的那一份也换成它（二阶导数靠“是不是输出”来认）
            arr = ctx.xp.asarray(out)
            if ctx._saved:
                ctx._saved = tuple(arr if s is out else s for s in ctx._saved)
            out = arr
        result = tensor_class(first)(out)
        # 整数、布尔输出不可求导（同 PyTorch）：梯度到这里为止
        if any_grad and is_grad_enabled() and out.dtype.kind == "f":
            ctx.inputs = args
            ctx.needs_input_grad = tuple(is_tensor(a) and a.requires_grad for a in args)
            ctx.input_arrays, ctx.input_versions = arrays, versions  # 反向前核对：保存的输入没被原地改过
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


# ============================================================================ 反向传播

def toposort(root):
    """从 ``root`` 出发的所有需要梯度的张量，按拓扑序排列（用显式栈，不递归，长链也不会爆栈）。"""
    # BEGIN SOLUTION task01_1
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:  # 它的输入都已排在前面，轮到它自己
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        if t.grad_fn is not None:
            for a in t.grad_fn.inputs:
                if is_tensor(a) and a.requires_grad and id(a) not in visited:
                    stack.append((a, False))
    return order
    # END SOLUTION


def backward(root, gradient=None, retain_graph=False, on_grad=None):
    """从 ``root`` 反向传播，把梯度累加到叶子张量的 ``.grad`` 上。详见 ``Tensor.backward``。

    ``on_grad(t, g)`` 给出时，每个张量的梯度交给它，而不是累加到 ``.grad``（``autograd.grad`` 用）。
    """
    grads = {id(root): initial_grad(root, gradient)}
    stored = set()  # 已经放进某个 .grad 的数组
    # BEGIN SOLUTION task01_2
    with no_grad():
        for t in reversed(toposort(root)):
            g = grads.pop(id(t), None)
            if g is None:  # 没有梯度流到这里
                continue
            if on_grad is not None:
                on_grad(t, g)
            elif t.grad_fn is None or t.retains_grad:
                accumulate_grad(t, g, stored)
            fn = t.grad_fn
            if fn is None:
                continue
            check_versions(fn, t)
            in_grads = check_grads(fn, type(fn).backward(fn, g))
            for parent, pg, needed in zip(fn.inputs, in_grads, fn.needs_input_grad):
                if needed and pg is not None:
                    grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg
            if not retain_graph:
                fn.release()
    # END SOLUTION


def increment_version(tensor):
    """记下 ``tensor`` 被原地修改了一次（同 ``torch.autograd.graph.increment_version``）。

    优化器的 ``step``、``nn.init.*_``、``load_state_dict`` 改写参数后调用它；之后若有计算图要用改之前保存的值
    做反向传播，``check_versions`` 会报错，而不是悄悄算出新旧值混在一起的梯度。
    """
    tensor._version += 1


def check_versions(fn, out):
    """反向传播前核对：``fn`` 保存的输入或输出在前向之后没有被原地修改过（版本号没变）。"""
    saved = fn._saved
    if not saved:
        return
    changed = [(i, a) for i, a in enumerate(fn.inputs)
               if is_tensor(a) and a._version != fn.input_versions[i]
               and any(s is fn.input_arrays[i] for s in saved)]
    if out._version != 0 and any(s is out.data for s in saved):
        changed.append(("输出", out))
    if changed:
        i, a = changed[0]
        which = f"第 {i} 个输入" if i != "输出" else "输出"
        raise RuntimeError(
            f"反向传播要用的张量在前向之后被原地修改了 (one of the variables needed for gradient computation has been "
            f"modified by an inplace operation)：{fn.name} 的{which}（shape={tuple(a.shape)}）现在的版本 (version) 是 "
            f"{a._version}，前向时是 {fn.input_versions[i] if i != '输出' else 0}。"
            "提示：先 loss.backward() 再 optimizer.step() / nn.init / load_state_dict；确实要先改，就对它 .clone() 后再参与计算。")


def accumulate_grad(t, g, stored):
    """``t.grad += g``：已有梯度时原地累加（先前拿到的 ``.grad`` 引用也看得到和，同 PyTorch）；
    第一次时存一份不与别处共享内存的数组（视图或已存进别的 .grad 的数组先复制）。"""
    if t.grad is not None:
        if t.grad.requires_grad:  # create_graph 留下的梯度连着计算图：不原地改它
            t.grad = tensor_class(t)(t.grad.data + g)
        else:
            t.grad.data += g
        return
    if getattr(g, "base", None) is not None or id(g) in stored:
        g = g.copy()
    stored.add(id(g))
    t.grad = tensor_class(t)(g)


def initial_grad(root, gradient):
    """反向传播的起点 ∂root/∂root：标量输出为 1，否则必须由用户给出同形的 ``gradient``。"""
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
        return xp.ones(root.shape, dtype=root.dtype)
    g = gradient.data if is_tensor(gradient) else gradient
    if not backend.is_array(g):
        g = xp.asarray(g, dtype=root.dtype)
    if backend.device_of(g) != root.device:
        raise RuntimeError(
            f"设备不一致 (device mismatch)：gradient 在 '{backend.device_of(g)}' 上，输出在 '{root.device}' 上。")
    if tuple(g.shape) != tuple(root.shape):
        raise RuntimeError(
            f"形状不匹配 (shape mismatch)：gradient 的形状 {tuple(g.shape)} 与输出的形状 {tuple(root.shape)} 不同。")
    return g.astype(root.dtype, copy=True)  # 复制：梯度缓冲区不与用户的数组共享


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
    # BEGIN SOLUTION task03_1
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead:
        g = xp.reshape(g, shape)
    return g
    # END SOLUTION


def check_grads(fn, in_grads, xp=None):
    """检查 ``fn.backward`` 的返回值：个数、设备、dtype、形状，并把广播过的梯度求和回输入形状。

    学生自己写的 Function 出错时，错误在这里点名是哪个 Function、第几个输入，而不是在很远的地方炸开。
    ``xp`` 是求和用的数组模块，默认取 ``fn.xp``（create_graph 时传张量命名空间）。
    """
    name = type(fn).__name__
    if not isinstance(in_grads, tuple):
        in_grads = (in_grads,)
    if len(in_grads) != len(fn.inputs):
        raise RuntimeError(
            f"{name}.backward 返回了 {len(in_grads)} 个梯度，但 forward 有 {len(fn.inputs)} 个输入。"
            "提示：非张量输入对应的位置返回 None。")
    checked = []
    for i, (parent, g, needed) in enumerate(zip(fn.inputs, in_grads, fn.needs_input_grad)):
        if g is None or not needed:
            checked.append(None)
            continue
        if isinstance(g, np.generic):  # NumPy 对 0 维数组的运算返回标量
            g = np.asarray(g)
        arr = g.data if is_tensor(g) else g
        if not backend.is_array(arr):
            raise TypeError(f"{name}.backward 为第 {i} 个输入返回了 {type(g).__name__}，应该返回数组。")
        dev = backend.device_of(arr)
        if dev != parent.device:
            raise RuntimeError(
                f"设备不一致 (device mismatch)：{name}.backward 为第 {i} 个输入返回的梯度在 '{dev}' 上，"
                f"而输入在 '{parent.device}' 上。")
        if arr.dtype != parent.dtype:
            raise TypeError(
                f"dtype 不一致：{name}.backward 为第 {i} 个输入返回的梯度是 {arr.dtype}，"
                f"而输入是 {parent.dtype}。提示：检查是否混入了 float64 常数（如 np.float64 标量）。")
        checked.append(sum_to_shape(xp or fn.xp, g, parent.shape, who=f"{name}.backward（第 {i} 个输入）"))
    return checked


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
