"""自动微分引擎的回归测试：菱形图、复用节点、梯度累加、释放后的二次反向、长链、二阶导数、no_grad、detach。"""

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.autograd import Function, format_graph, grad
from tinygrad_zh.testing import assert_close

from conftest import to_host


def test_diamond_graph_sums_both_paths(device):
    # a → b = 2a, c = a² → d = b·c = 2a³；dd/da = 6a²
    a = tg.tensor([1.5, -2.0], dtype=tg.float64, device=device, requires_grad=True)
    b, c = a * 2, a * a
    (b * c).sum().backward()
    assert_close(to_host(a.grad), 6 * np.array([1.5, -2.0]) ** 2)


def test_reused_node_accumulates_not_overwrites(device):
    x = tg.tensor(3.0, device=device, requires_grad=True)
    (x * x).backward()
    assert x.grad.item() == 6.0  # 覆盖 (overwrite) 而不累加的话会得到 3


def test_grad_accumulates_across_backward_calls_until_cleared(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    for expected in ([2.0, 4.0], [4.0, 8.0]):
        (x * x).sum().backward()
        assert x.grad.tolist() == expected
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_leaf_grads_never_alias():
    # a + b 的反向给两边同一个梯度数组；存进 .grad 时必须各自一份，否则原地修改一个会改到另一个
    a = tg.ones(3, requires_grad=True)
    b = tg.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.data *= 10
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    # 用户传入的 gradient 数组也不会被 .grad 共享
    x = tg.ones(2, requires_grad=True)
    g = np.array([1.0, 2.0], dtype=np.float32)
    (x * 1).backward(g)
    x.grad.data += 1
    assert g.tolist() == [1.0, 2.0]


def test_second_backward_through_freed_graph_is_a_clear_error():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.tolist()
    y.backward()
    assert_close(x.grad.numpy(), 2 * np.array(first, dtype=np.float32))


def test_long_chain_does_not_hit_recursion_limit():
    x = tg.tensor(1.0, dtype=tg.float64, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.backward()
    assert_close(x.grad.item(), 1.0001 ** 20_000, rtol=1e-9)


def test_second_derivative_of_cube(device):
    x = tg.tensor(2.0, dtype=tg.float64, device=device, requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    dy = x.grad
    assert dy.item() == 12.0 and dy.requires_grad
    x.grad = None
    dy.backward()
    assert x.grad.item() == 12.0  # d²(x³)/dx² = 6x
    (d1,) = grad(x ** 3, x, create_graph=True)
    (d2,) = grad(d1, x, create_graph=True)
    (d3,) = grad(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == (12.0, 12.0, 6.0)


def test_grad_does_not_touch_dot_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = grad((x * x).sum(), x)
    assert g.tolist() == [2.0, 4.0] and x.grad is None
    with pytest.raises(RuntimeError, match="allow_unused"):
        grad((x * 2).sum(), [x, tg.ones(1, requires_grad=True)])


def test_no_grad_context_and_decorator():
    x = tg.ones(2, requires_grad=True)
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None

    @tg.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad
    assert tg.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = tg.tensor(2.0, requires_grad=True)
    y = x * x
    z = y.detach() * x + y
    z.backward()
    assert x.grad.item() == 4.0 + 4.0  # ∂/∂x (c·x + x²) with c = 4 fixed
    assert y.detach().data is y.data  # 共享数据


def test_retain_grad_keeps_interior_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0]
    z = x * 3
    (z * z).sum().backward()
    assert z.grad is None  # 默认不保留中间梯度


def test_int_and_bool_tensors_never_require_grad():
    with pytest.raises(RuntimeError, match="浮点"):
        tg.tensor([1, 2], requires_grad=True)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert not (x > 1).requires_grad
    assert not x.argmax().requires_grad


def test_grad_fn_is_readable_and_graph_prints():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x + x).sum()
    assert repr(y.grad_fn) == "<SumBackward 求和 ← [AddBackward]>"
    assert y.grad_fn.next_functions[0][0].name == "AddBackward"
    text = format_graph(y)
    assert "SumBackward（求和）" in text and "MulBackward（乘法）" in text and "叶子 (leaf)" in text
    assert "[见上文 #" in text  # x 被用了多次，只展开一次
    assert "grad_fn=<SumBackward>" in repr(y)


class _Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


def test_students_function_works_like_torch_autograd_function(device):
    x = tg.tensor([1.0, -2.0], dtype=tg.float64, device=device, requires_grad=True)
    y = _Cube.apply(x)
    assert y.tolist() == [1.0, -8.0]
    y.sum().backward(create_graph=True)
    assert x.grad.tolist() == [3.0, 12.0]
    (g2,) = grad(x.grad.sum(), x)
    assert g2.tolist() == [6.0, -12.0]  # 用 ctx.xp 与运算符写的 backward 也支持二阶导数


@pytest.mark.parametrize("bad, pattern", [
    (lambda ctx, g: (g, g), "返回了 2 个梯度"),
    (lambda ctx, g: g[:1], r"_Bad\.backward（第 0 个输入）.*\(1,\).*\(3,\)"),
    (lambda ctx, g: g.astype("float64"), r"dtype 不一致：_Bad\.backward.*float64.*float32"),
    (lambda ctx, g: [1.0], "应该返回数组"),
])
def test_engine_checks_each_functions_grads_and_names_it(bad, pattern):
    class _Bad(Function):
        forward = staticmethod(lambda ctx, x: x * 2)
        backward = staticmethod(bad)

    x = tg.ones(3, requires_grad=True)
    with pytest.raises((RuntimeError, TypeError), match=pattern):
        _Bad.apply(x).sum().backward()


def test_backward_of_non_scalar_needs_gradient():
    x = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"标量 \(scalar\).*\(2, 3\)"):
        (x * 2).backward()
    (x * 2).backward(tg.ones(2, 3))
    assert x.grad.tolist() == [[2.0] * 3] * 2
    with pytest.raises(RuntimeError, match=r"gradient 的形状 \(3,\) 与输出的形状 \(2, 3\)"):
        (x * 2).backward(tg.ones(3))


def test_backward_without_requires_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="不需要梯度"):
        tg.ones(2).sum().backward()


class _NumpyCube(Function):
    """backward 用了 np.*：普通反向没问题，create_graph 时拿到的是张量，必须报出真正的原因。"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * np.square(x)


def test_custom_function_breaking_create_graph_rules_is_named():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    _NumpyCube.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]
    with pytest.raises(RuntimeError, match=r"_NumpyCube\.backward 不能在 create_graph=True.*ctx\.xp"):
        _NumpyCube.apply(x).sum().backward(create_graph=True)


def test_second_derivative_through_zero_dim_exp():
    # NumPy 对 0 维数组的 exp 返回标量；保存的输出必须仍被认作输出，二阶导数才对
    x = tg.tensor(0.5, dtype=tg.float64, requires_grad=True)
    (d1,) = grad(x.exp(), x, create_graph=True)
    (d2,) = grad(d1, x)
    assert d2.item() == pytest.approx(np.exp(0.5))


def test_integer_cast_stops_the_gradient():
    x = tg.tensor([1.5, 2.5], requires_grad=True)
    assert not x.long().requires_grad and x.long().grad_fn is None
    assert x.float().requires_grad


def test_tensor_constructor_wraps_and_tensor_function_copies():
    arr = np.arange(3.0)
    wrapped, copied, as_t = tg.Tensor(arr), tg.tensor(arr), tg.as_tensor(arr)
    arr[0] = 7.0
    assert wrapped.tolist()[0] == 7.0 and as_t.tolist()[0] == 7.0 and copied.tolist()[0] == 0.0
    assert tg.as_tensor(arr, dtype=tg.float32).dtype == tg.float32
    with pytest.raises(TypeError, match="numpy.ndarray"):
        tg.from_numpy([1.0, 2.0])


def test_results_and_grads_of_parameters_are_plain_tensors():
    p = tg.nn.Parameter(tg.ones(2))
    y = p * 2
    assert type(y) is tg.Tensor and y.requires_grad
    with tg.no_grad():
        z = p * 2
    assert type(z) is tg.Tensor and not z.requires_grad
    y.sum().backward()
    assert type(p.grad) is tg.Tensor and not p.grad.requires_grad and p.grad.tolist() == [2.0, 2.0]
