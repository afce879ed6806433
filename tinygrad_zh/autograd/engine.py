"""反向传播引擎 (backpropagation engine)：``loss.backward()`` 真正做的事。

1. 从输出出发，按拓扑序 (topological order) 排好计算图里所有需要梯度的张量；
2. 倒着走：每个节点把收到的梯度交给它的 ``Function.backward``，链式法则 (chain rule) 给出各输入的梯度；
3. 同一个张量被用了几次，就收到几份梯度，加起来；叶子张量 (leaf tensor) 的梯度累加到 ``.grad``。

这里的梯度都是原始数组。要把反向本身也记进计算图（``create_graph=True``，二阶导数）请看 higher_order.py。
"""

from __future__ import annotations

import numpy as np

from .. import backend
from .function import is_tensor
from .grad_mode import no_grad


def toposort(root):
    """从 ``root`` 出发的所有需要梯度的张量，按拓扑序排列（用显式栈，不递归，长链也不会爆栈）。"""
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


def backward(root, gradient=None, retain_graph=False, on_grad=None):
    """从 ``root`` 反向传播，把梯度累加到叶子张量的 ``.grad`` 上。详见 ``Tensor.backward``。

    ``on_grad(t, g)`` 给出时，每个张量的梯度交给它，而不是累加到 ``.grad``（``autograd.grad`` 用）。
    """
    grads = {id(root): initial_grad(root, gradient)}
    stored = set()  # 已经放进某个 .grad 的数组
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
            in_grads = check_grads(fn, type(fn).backward(fn, g))
            for parent, pg, needed in zip(fn.inputs, in_grads, fn.needs_input_grad):
                if needed and pg is not None:
                    grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg
            if not retain_graph:
                fn.release()


def accumulate_grad(t, g, stored):
    """``t.grad += g``。第一次时存一份不与别处共享内存的数组（视图或已存进别的 .grad 的数组先复制）。"""
    if t.grad is not None:
        t.grad = type(t)(t.grad.data + g)
        return
    if getattr(g, "base", None) is not None or id(g) in stored:
        g = g.copy()
    stored.add(id(g))
    t.grad = type(t)(g)


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
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead:
        g = xp.reshape(g, shape)
    return g


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
