"""高阶导数 (higher-order gradients)：``backward(create_graph=True)`` 与 ``autograd.grad``。

思路：把反向传播本身也当作一次普通的前向计算，记进计算图，于是可以对“梯度”再求导。
做法是让每个 Function 的 backward 代码一字不改，只换掉它手里的“数”：

- 梯度和保存的数组换成张量（保存的若是输入或输出本身，就换成那个张量，二阶导数才连得上）；
- ``ctx.xp`` 换成 ``TensorNamespace``：``xp.sum``、``xp.exp``、``xp.where`` 等都调用张量的方法。

backward 里的 ``g * b``、``xp.exp(a)`` 于是变成由可微运算组成的计算。
默认的 ``loss.backward()`` 不走这里（见 engine.py），只有要求 ``create_graph`` 或调用 ``grad`` 时才用到。
"""

from __future__ import annotations

from .. import backend
from .engine import backward as array_backward, check_grads, check_versions, initial_grad, is_tensor, tensor_class, toposort
from .engine import enable_grad


class TensorNamespace:
    """张量版的 ``xp``：只实现 backward 代码用到的那几个函数，每个都交给张量的可微方法。"""

    is_tensor_namespace = True

    def __init__(self, tensor_class):
        self.Tensor = tensor_class

    def const(self, arr):
        """不需要梯度的常量张量。"""
        return arr if is_tensor(arr) else self.Tensor(arr)

    def exp(self, x): return x.exp()
    def log(self, x): return x.log()
    def sign(self, x): return self.Tensor(x.xp.sign(x.data))  # 分段常数：导数处处为 0
    def sum(self, x, axis=None, keepdims=False): return x.sum(dim=axis, keepdim=keepdims)
    def mean(self, x, axis=None, keepdims=False): return x.mean(dim=axis, keepdim=keepdims)
    def broadcast_to(self, x, shape): return x.expand(shape)
    def reshape(self, x, shape): return x.reshape(tuple(shape))
    def transpose(self, x, axes): return x.permute(axes)
    def swapaxes(self, x, a, b): return x.transpose(a, b)
    def matmul(self, a, b): return a @ b
    def astype(self, x, dtype): return x.to(dtype=dtype)

    def where(self, cond, x, y):
        cond = self.const(cond)
        return x.where(cond, y) if is_tensor(x) else y.where(~cond, x)

    def expand_dims(self, x, axis):
        axes = axis if isinstance(axis, tuple) else (axis,)
        for a in sorted(a % (x.ndim + len(axes)) for a in axes):
            x = x.unsqueeze(a)
        return x

    def __repr__(self):
        return "<TensorNamespace：把 backward 记进计算图的张量命名空间>"


class GraphCtx:
    """create_graph 时交给 backward 的 ctx：保存的数组换成张量，``xp`` 换成张量命名空间，其余照搬原节点。"""

    create_graph = True

    def __init__(self, fn, out, xp):
        self._fn, self.xp = fn, xp
        self.saved_tensors = tuple(self._as_tensor(s, out) for s in fn.saved_tensors)

    def _as_tensor(self, saved, out):
        if saved is out.data:
            return out
        for a in self._fn.inputs:
            if is_tensor(a) and saved is a.data:
                return a
        return self.xp.const(saved) if backend.is_array(saved) else saved

    def __getattr__(self, name):  # 形状、轴、needs_input_grad 等照搬原节点
        return getattr(self._fn, name)


def _graph_backward(fn, out, g, xp):
    """在张量上运行 ``fn.backward``；不能这样运行时，说清楚是哪个 Function、为什么。"""
    name = type(fn).__name__
    if not type(fn).supports_create_graph:
        raise RuntimeError(
            f"{name} 是融合运算 (fused op)，它的 backward 不能再求导，所以不支持 create_graph=True "
            "(二阶导数)。提示：需要二阶导数时，用基本运算组合出同样的函数。")
    try:
        return type(fn).backward(GraphCtx(fn, out, xp), g)
    except (TypeError, AttributeError, ValueError, RuntimeError) as e:
        raise RuntimeError(
            f"{name}.backward 不能在 create_graph=True (二阶导数) 下运行：{type(e).__name__}: {e}。"
            "提示：这时梯度和保存的量都是张量，backward 只能用运算符和 ctx.xp 的函数（不能用 np.*、原地赋值）；"
            f"做不到时给 {name} 设 supports_create_graph = False。") from e


def backward(root, gradient=None, retain_graph=True, on_grad=None):
    """与 engine.backward 相同，但梯度是张量，反向计算本身被记进计算图（create_graph=True）。"""
    Tensor = tensor_class(root)
    xp = TensorNamespace(Tensor)
    g = gradient if is_tensor(gradient) else Tensor(initial_grad(root, gradient))
    grads = {id(root): g}
    # BEGIN SOLUTION task01_2
    with enable_grad():
        for t in reversed(toposort(root)):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if on_grad is not None:
                on_grad(t, g)
            elif t.grad_fn is None or t.retains_grad:
                t.grad = g if t.grad is None else t.grad + g
            fn = t.grad_fn
            if fn is None:
                continue
            check_versions(fn, t)
            in_grads = check_grads(fn, _graph_backward(fn, t, g, xp), xp)
            for parent, pg, needed in zip(fn.inputs, in_grads, fn.needs_input_grad):
                if needed and pg is not None:
                    grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg
            if not retain_graph:
                fn.release()
    # END SOLUTION


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """返回 ``outputs`` 对 ``inputs`` 的梯度（元组），不修改任何 ``.grad``。同 ``torch.autograd.grad``。

    例：二阶导数::

        >>> x = tg.tensor(2.0, requires_grad=True)
        >>> (dy,) = grad(x ** 3, x, create_graph=True)   # 3x² = 12
        >>> (d2y,) = grad(dy, x)                          # 6x = 12
    """
    single = is_tensor(inputs)
    inputs = (inputs,) if single else tuple(inputs)
    if isinstance(outputs, (tuple, list)):
        if len(outputs) != 1:
            raise ValueError("grad 目前只支持一个输出张量；多个输出请先加权求和成一个。")
        outputs = outputs[0]
        if isinstance(grad_outputs, (tuple, list)):
            grad_outputs = grad_outputs[0]
    if retain_graph is None:
        retain_graph = create_graph
    captured = {id(t): None for t in inputs}

    def capture(t, g):
        if id(t) in captured:
            captured[id(t)] = g if is_tensor(g) else tensor_class(t)(g)

    if create_graph:
        backward(outputs, grad_outputs, retain_graph=retain_graph, on_grad=capture)
    else:
        array_backward(outputs, grad_outputs, retain_graph=retain_graph, on_grad=capture)
    result = []
    for i, t in enumerate(inputs):
        g = captured[id(t)]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"第 {i} 个输入 (shape={t.shape}) 没有参与计算 outputs，得不到梯度。提示：传 allow_unused=True 时返回 None。")
        result.append(g)
    return tuple(result)

