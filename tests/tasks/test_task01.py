"""任务 01：拓扑排序与反向传播的主循环。

计算图用这里自带的三个 Function 搭（只用 NumPy），不经过 ops/ 里别的任务；
测 backward 时把引擎的 toposort 换成这里写的参考版本，任务 01.1 写错不会连累 01.2。
"""

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.autograd import Function, engine
from tinygrad_zh.classroom.checks import TaskCheckError, check_close
from tinygrad_zh.classroom.lesson_code import load_function


class TMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a


class TAdd(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class TScale(Function):
    @staticmethod
    def forward(ctx, a, s):
        ctx.s = s
        return a * s

    @staticmethod
    def backward(ctx, g):
        return g * ctx.s, None


def reference_toposort(root):
    order, seen = [], set()

    def visit(t):
        if id(t) in seen:
            return
        seen.add(id(t))
        if t.grad_fn is not None:
            for a in t.grad_fn.inputs:
                if hasattr(a, "grad_fn") and a.requires_grad:
                    visit(a)
        order.append(t)

    visit(root)
    return order


def leaf(value):
    return tg.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


def diamond():
    """a → b = a·a → c = b + a → d = c·b，外加一个不需要梯度的常量 k。"""
    a = leaf([1.5, -2.0])
    k = tg.tensor(np.array([3.0, 4.0]))
    b = TMul.apply(a, a)
    c = TAdd.apply(b, TMul.apply(a, k))
    d = TMul.apply(c, b)
    return a, b, c, d, k


def check_order(name, order, root):
    ids = [id(t) for t in order]
    if len(ids) != len(set(ids)):
        raise TaskCheckError(f"{name}：有节点出现了不止一次（共 {len(ids)} 项，不同的只有 {len(set(ids))} 个）。"
                             "提示：用 visited 集合记下已经访问过的节点。")
    expected = reference_toposort(root)
    if set(ids) != {id(t) for t in expected}:
        raise TaskCheckError(f"{name}：节点集合不对：应有 {len(expected)} 个需要梯度的节点，得到 {len(ids)} 个。"
                             "提示：只走 requires_grad 的输入；叶子也要放进结果。")
    pos = {i: n for n, i in enumerate(ids)}
    for t in order:
        if t.grad_fn is None:
            continue
        for a in t.grad_fn.inputs:
            if hasattr(a, "grad_fn") and a.requires_grad and pos[id(a)] > pos[id(t)]:
                raise TaskCheckError(f"{name}：输入排在了用到它的节点后面（{a.grad_fn or '叶子'} 在 {t.grad_fn} 之后）。"
                                     "提示：一个节点的所有输入都排好之后才能放它自己。")
    if order[-1] is not root:
        raise TaskCheckError(f"{name}：最后一个应当是输出本身。")


@pytest.mark.task01_1
def test_toposort_diamond():
    *_, d, _ = diamond()
    check_order("engine.toposort", engine.toposort(d), d)


@pytest.mark.task01_1
def test_toposort_long_chain_is_iterative():
    x = leaf(1.0)
    y = x
    for _ in range(3000):
        y = TScale.apply(y, 1.0)
    try:
        order = engine.toposort(y)
    except RecursionError:
        raise TaskCheckError("engine.toposort 在 3000 个运算的链上 RecursionError：请用显式的栈，不要递归。") from None
    if len(order) != 3001:
        raise TaskCheckError(f"engine.toposort：3000 个运算的链应得到 3001 个节点，得到 {len(order)}。")


@pytest.mark.task01_1
def test_lesson01_topo_order(root):
    topo_order = load_function(root, "01", "topo_order", {"tg": tg})
    *_, d, _ = diamond()
    check_order("第 01 课的 topo_order", topo_order(d), d)


@pytest.fixture
def reference_topo(monkeypatch):
    monkeypatch.setattr(engine, "toposort", reference_toposort)


@pytest.mark.task01_2
def test_backward_reused_node_accumulates(reference_topo):
    x = leaf(3.0)
    TMul.apply(x, x).backward()
    check_close("y = x·x 在 x = 3 处的 dy/dx", x.grad, 6.0,
                hint="提示：同一个张量收到的几份梯度要相加，而不是后一份覆盖前一份。")


@pytest.mark.task01_2
def test_backward_fanout_graph(reference_topo):
    a, b, c, d, k = diamond()
    d.backward(tg.tensor(np.array([0.7, -1.3])))
    av, kv, up = np.array([1.5, -2.0]), np.array([3.0, 4.0]), np.array([0.7, -1.3])
    # d = (a² + a·k)·a² = a⁴ + k·a³ → ∂d/∂a = 4a³ + 3k·a²
    check_close("d = (a² + k·a)·a² 对 a 的梯度", a.grad, up * (4 * av ** 3 + 3 * kv * av ** 2))
    if k.grad is not None:
        raise TaskCheckError("不需要梯度的常量 k 得到了 .grad：只给 requires_grad 的张量传梯度。")


@pytest.mark.task01_2
def test_leaf_grad_accumulates_and_graph_is_freed(reference_topo):
    x = leaf([2.0])
    TMul.apply(x, x).backward(tg.tensor(np.array([1.0])))
    TMul.apply(x, x).backward(tg.tensor(np.array([1.0])))
    check_close("两次 backward 之后的 x.grad（叶子的梯度要累加）", x.grad, [8.0])
    y = TMul.apply(x, x)
    y.backward(tg.tensor(np.array([1.0])))
    with pytest.raises(RuntimeError):
        y.backward(tg.tensor(np.array([1.0])))  # 不保留计算图时，第一次反向之后保存的数组已释放
    z = TMul.apply(x, x)
    z.backward(tg.tensor(np.array([1.0])), retain_graph=True)
    z.backward(tg.tensor(np.array([1.0])))


@pytest.mark.task01_2
def test_lesson01_mini_backward(root):
    mini_backward = load_function(root, "01", "mini_backward", {"tg": tg, "topo_order": reference_toposort})
    x = leaf(3.0)
    grads = mini_backward(TMul.apply(x, x))
    check_close("第 01 课 mini_backward：y = x·x 的 dy/dx", grads[id(x)], 6.0)
    wrong = mini_backward(TMul.apply(x, x), accumulate=False)
    check_close("第 01 课 mini_backward(accumulate=False)（演示覆盖的错误写法）", wrong[id(x)], 3.0)
