"""索引 (indexing) 与 PyTorch 的规则一致：数值与梯度。

NumPy 与 PyTorch 的两处不同，这里都按 PyTorch：
1. 整数是基本索引 (basic indexing)：PyTorch 先用整数（与 0 维整数张量）做 select，再在剩下的维上做高级索引
   (advanced indexing)。NumPy 把与下标数组隔开的整数也当成高级下标，广播出的维被挪到最前面，
   (3, 3, 3) 的 ``x[0, :, [1, 2, 0]]`` 就成了 PyTorch 结果的转置。
2. uint8 下标张量是布尔掩码 (boolean mask)，不是整数下标。

性质测试的参考实现 ``torch_rule_reference`` 不用 NumPy 的高级索引：它按 PyTorch 的规则算出输出形状，
再逐个输出位置算出它取自输入的哪个位置（梯度就把上游梯度加回那个位置，重复的下标自然累加）。
（“把整数 i 换成切片 i:i+1、最后再 squeeze”的办法在整数夹在两个下标数组之间时不对：
``x[:, [0, 1], 0, [1, 2]]`` 里 PyTorch 的两个下标数组是相邻的，换成切片后就不相邻了。）
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_zh as tg
from tinygrad_zh.autograd import grad
from tinygrad_zh.testing import gradcheck

from conftest import to_host

# device 是函数级的 fixture（只是一个字符串），hypothesis 默认会警告
FIXTURE_OK = settings(max_examples=200,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# ---------------------------------------------------------------------------- 参考实现（PyTorch 的规则）

def torch_rule_reference(x, key, upstream=None):
    """按 PyTorch 的规则计算 ``x[key]``（NumPy 数组 x），并在给出上游梯度时算出 x 的梯度。

    key 的元素：Python int、bool、slice、None、Ellipsis、NumPy 整数数组、NumPy 布尔数组。
    Python 的 True / False 在 PyTorch 里插入一个长为 1 的新维，再用下标 [0] / 空下标（高级下标）取它。
    返回 (输出, 梯度或 None)。下标数组无法广播时抛 ValueError。
    """
    key = key if isinstance(key, tuple) else (key,)
    used = sum(k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else
               0 if k is None or k is Ellipsis or isinstance(k, bool) else 1 for k in key)
    assert used <= x.ndim
    items = []
    for k in key:
        items += [slice(None)] * (x.ndim - used) if k is Ellipsis else [k]
    if not any(k is Ellipsis for k in key):
        items += [slice(None)] * (x.ndim - used)

    # 每一项变成一个条目：("fixed", 维, 下标) / ("range", 维, 取值) / ("new",) / ("adv", 维, 整数数组)；
    # True / False 是新维上的高级下标，不对应输入的维（维记为 None）
    entries, d = [], 0
    for k in items:
        if k is None:
            entries.append(("new",))
        elif isinstance(k, bool):
            entries.append(("adv", None, np.zeros(int(k), dtype=np.int64)))
        elif isinstance(k, int):
            n = x.shape[d]
            assert -n <= k < n
            entries.append(("fixed", d, k % n))
            d += 1
        elif isinstance(k, slice):
            entries.append(("range", d, range(*k.indices(x.shape[d]))))
            d += 1
        elif k.dtype == bool:
            assert k.shape == x.shape[d:d + k.ndim]
            for j, nz in enumerate(np.nonzero(k)):
                entries.append(("adv", d + j, nz))
            d += k.ndim
        else:
            n = x.shape[d]
            assert ((k >= -n) & (k < n)).all()
            entries.append(("adv", d, np.where(k < 0, k + n, k)))
            d += 1
    assert d == x.ndim

    rest = [e for e in entries if e[0] != "fixed"]  # 整数先 select 掉，不占输出的维
    adv_pos = [i for i, e in enumerate(rest) if e[0] == "adv"]
    out_parts = []  # 输出的各段：("range", 条目) / ("new",) / ("block", 广播形状)
    if adv_pos:
        block = np.broadcast_shapes(*(rest[i][2].shape for i in adv_pos))
        adv_arrays = [(rest[i][1], np.broadcast_to(rest[i][2], block)) for i in adv_pos if rest[i][1] is not None]
        adjacent = adv_pos == list(range(adv_pos[0], adv_pos[0] + len(adv_pos)))
        insert_at = adv_pos[0] if adjacent else 0
    others = [e for e in rest if e[0] != "adv"]
    for e in others:
        out_parts.append(e)
    if adv_pos:
        out_parts.insert(insert_at, ("block", block))

    out_shape = []
    for p in out_parts:
        out_shape += [len(p[2])] if p[0] == "range" else [1] if p[0] == "new" else list(p[1])
    out = np.zeros(out_shape, dtype=x.dtype)
    g = np.zeros_like(x) if upstream is not None else None
    for o in np.ndindex(*out_shape):
        src = [None] * x.ndim
        pos = 0
        for p in out_parts:
            if p[0] == "range":
                src[p[1]] = p[2][o[pos]]
                pos += 1
            elif p[0] == "new":
                pos += 1
            else:
                b = o[pos:pos + len(p[1])]
                for dim, arr in adv_arrays:
                    src[dim] = int(arr[b])
                pos += len(p[1])
        for e in entries:
            if e[0] == "fixed":
                src[e[1]] = e[2]
        out[o] = x[tuple(src)]
        if g is not None:
            g[tuple(src)] += upstream[o]
    return out, g


def test_reference_matches_numpy_where_numpy_agrees_with_torch():
    """参考实现自检：没有整数时 NumPy 的规则与 PyTorch 相同。"""
    x = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    keys = [(slice(None), np.array([0, 2]), slice(None), np.array([1, 1])),
            (np.array([[0], [1]]), slice(None, None, -1), np.array([3, 0, 1])),
            (None, Ellipsis, np.array([True, False, True, True, False])),
            (slice(1, None), np.array([[True, False, True, False]] * 3)),
            (np.array([1, 0]), None, np.array([2, 2]))]
    for key in keys:
        np.testing.assert_array_equal(torch_rule_reference(x, key)[0], x[key])
    # 整数先 select：PyTorch 的 x[0, :, idx] 就是 x[0][:, idx]
    ref, _ = torch_rule_reference(x, (0, slice(None), np.array([1, 2, 0])))
    np.testing.assert_array_equal(ref, x[0][:, [1, 2, 0]])
    ref, _ = torch_rule_reference(x, (slice(None), np.array([0, 1]), 0, np.array([1, 2])))
    np.testing.assert_array_equal(ref, x[:, :, 0][:, [0, 1], [1, 2]])


# ---------------------------------------------------------------------------- 公共部分

def _leaf(a, device):
    return tg.tensor(a, device=device, requires_grad=True)


def _check(x_np, key, ref_key, device, seed=0):
    """tg 的 x[key] 与参考实现的数值、形状、梯度（float64 随机上游梯度）都相同。"""
    x = _leaf(x_np, device)
    y = x[key]
    ref, _ = torch_rule_reference(x_np, ref_key)
    assert y.shape == ref.shape, f"下标 {key!r}：形状 {y.shape} ≠ 参考 {ref.shape}"
    assert y.dtype == np.float64
    np.testing.assert_array_equal(to_host(y), ref)
    u = np.random.default_rng(seed).standard_normal(ref.shape)
    _, g_ref = torch_rule_reference(x_np, ref_key, u)
    y.backward(tg.tensor(u, device=device))
    np.testing.assert_allclose(to_host(x.grad), g_ref, rtol=1e-12, atol=1e-12)
    return y


X333 = np.random.default_rng(0).standard_normal((3, 3, 3))


# ---------------------------------------------------------------------------- 典型的例子

EXAMPLES = [
    # (名字, tg 的下标（按设备造）, 参考下标, PyTorch 的结果形状)
    ("int-slice-list", lambda d: (0, slice(None), [1, 2, 0]), (0, slice(None), np.array([1, 2, 0])), (3, 3)),
    ("negint-negslice-repeated", lambda d: (-1, slice(-2, None), [0, 0]),
     (-1, slice(-2, None), np.array([0, 0])), (2, 2)),
    ("int-none-int-list", lambda d: (2, None, -1, [1, 2]), (2, None, -1, np.array([1, 2])), (1, 2)),
    ("0d-tensor-slice-tensor", lambda d: (tg.tensor(1, device=d), slice(None), tg.tensor([2, -1, 2], device=d)),
     (1, slice(None), np.array([2, -1, 2])), (3, 3)),
    ("int-ellipsis-list", lambda d: (0, Ellipsis, [2, 2, 1, 0]), (0, Ellipsis, np.array([2, 2, 1, 0])), (3, 4)),
    ("int-slice-mask", lambda d: (1, slice(None, None, -1), tg.tensor([True, False, True], device=d)),
     (1, slice(None, None, -1), np.array([True, False, True])), (3, 2)),
    ("list-int-list-adjacent", lambda d: ([0, 2], 1, [1, 1]), (np.array([0, 2]), 1, np.array([1, 1])), (2,)),
    ("slice-list-int", lambda d: (slice(None), [0, 2], -1), (slice(None), np.array([0, 2]), -1), (3, 2)),
]


@pytest.mark.parametrize("make_key, ref_key, shape", [pytest.param(k, r, s, id=n) for n, k, r, s in EXAMPLES])
def test_examples_match_torch_rule(device, make_key, ref_key, shape):
    y = _check(X333, make_key(device), ref_key, device)
    assert y.shape == shape


def test_int_slice_list_is_not_numpy_transposed(device):
    """x[0, :, [1, 2, 0]]：PyTorch 是 x[0][:, [1, 2, 0]]，NumPy 给出它的转置。"""
    x = _leaf(X333, device)
    y = x[0, :, [1, 2, 0]]
    np.testing.assert_array_equal(to_host(y), X333[0][:, [1, 2, 0]])
    u = np.random.default_rng(3).standard_normal((3, 3))
    y.backward(tg.tensor(u, device=device))
    expected = np.zeros((3, 3, 3))
    expected[0][:, [1, 2, 0]] = u
    np.testing.assert_array_equal(to_host(x.grad), expected)


def test_int_between_index_arrays_keeps_them_adjacent(device):
    """x[:, [0, 1], 0, [1, 2]]：select 之后两个下标数组相邻，广播维留在原处（形状 (n0, 2)）。"""
    x_np = np.random.default_rng(1).standard_normal((4, 3, 2, 5))
    y = _check(x_np, (slice(None), [0, 1], 0, [1, 2]), (slice(None), np.array([0, 1]), 0, np.array([1, 2])), device)
    assert y.shape == (4, 2)
    np.testing.assert_array_equal(to_host(y), x_np[:, :, 0][:, [0, 1], [1, 2]])


def test_repeated_indices_accumulate_after_int(device):
    x = _leaf(np.zeros((2, 3, 4)), device)
    x[1, :, [3, 3, -1, 0]].sum().backward()
    expected = np.zeros((2, 3, 4))
    expected[1, :, 3], expected[1, :, 0] = 3, 1
    np.testing.assert_array_equal(to_host(x.grad), expected)


def test_python_bool_with_int(device):
    """PyTorch：True / False 先插入长为 1 的新维，再当作下标 [0] / 空下标（高级下标）。"""
    x_np = np.random.default_rng(2).standard_normal((3, 4, 5))
    x = _leaf(x_np, device)
    assert x[0, :, True].shape == (4, 1, 5)
    assert x[0, :, False].shape == (4, 0, 5)
    np.testing.assert_array_equal(to_host(x[0, :, True]), x_np[0][:, None])
    assert x[0, True, :, [0, 1]].shape == (2, 4)


def test_0d_int_tensor_is_a_basic_index(device):
    x = _leaf(X333, device)
    i = tg.tensor(2, device=device)
    np.testing.assert_array_equal(to_host(x[i]), X333[2])
    np.testing.assert_array_equal(to_host(x[i, :, [0, 1]]), X333[2][:, [0, 1]])


# ---------------------------------------------------------------------------- uint8 是掩码

def test_uint8_index_is_a_mask(device):
    x_np = np.arange(12.0).reshape(3, 4)
    x = _leaf(x_np, device)
    y = x[tg.tensor([1, 0, 1], dtype=tg.uint8, device=device)]
    np.testing.assert_array_equal(to_host(y), x_np[[0, 2]])
    y.sum().backward()
    np.testing.assert_array_equal(to_host(x.grad), [[1] * 4, [0] * 4, [1] * 4])


def test_uint8_mask_nonzero_values_and_2d(device):
    x_np = np.arange(12.0).reshape(3, 4)
    x = tg.tensor(x_np, device=device)
    m = np.array([[0, 2, 0, 1], [0, 0, 0, 0], [7, 0, 0, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(to_host(x[tg.tensor(m, device=device)]), x_np[m != 0])
    np.testing.assert_array_equal(to_host(x[1:, tg.tensor([1, 0, 0, 1], dtype=tg.uint8, device=device)]),
                                  x_np[1:, [0, 3]])


def test_embedding_with_uint8_ids_still_looks_up_rows(device):
    """F.embedding 接受无符号整数的词元下标：uint8 在 x[...] 里是掩码，embedding 里仍是行号。"""
    w = _leaf(np.arange(15.0).reshape(5, 3), device)
    y = tg.nn.functional.embedding(tg.tensor([[1, 0, 1]], dtype=tg.uint8, device=device), w)
    np.testing.assert_array_equal(to_host(y), np.arange(15.0).reshape(5, 3)[[[1, 0, 1]]])
    y.sum().backward()
    np.testing.assert_array_equal(to_host(w.grad)[:, 0], [1, 2, 0, 0, 0])


# ---------------------------------------------------------------------------- 快速路径与原有行为

def test_plain_slicing_is_one_node():
    """没有下标数组的下标只经过一个 Getitem（切片在每个模型的热路径上）。"""
    x = tg.ones(3, 4, requires_grad=True)
    for key in [(slice(1, 3),), (0, slice(None)), (None, Ellipsis, -1), (True,)]:
        y = x[key if len(key) > 1 else key[0]]
        assert y.grad_fn.inputs[0] is x, key
    assert x[..., [0, 1]].grad_fn.inputs[0] is x  # ... 与下标数组：第一步全是 “:”，省掉


def test_empty_list_index(device):
    x_np = np.random.default_rng(4).standard_normal((3, 4))
    _check(x_np, [], np.array([], dtype=np.int64), device)
    _check(x_np, (0, []), (0, np.array([], dtype=np.int64)), device)


def test_second_derivative_through_int_and_array(device):
    """create_graph=True 时两步索引的反向也被记进图里。"""
    x = _leaf(np.random.default_rng(5).standard_normal((3, 4, 2)), device)

    @tg.enable_grad()
    def first_grad(t):
        (g,) = grad((t[1, :, [0, 0, 1]] ** 3).sum(), t, create_graph=True)
        return g

    assert gradcheck(first_grad, x)


@pytest.mark.parametrize("key", [
    (0, slice(None), [1, 2, 0]),
    (slice(None), [2, 0, 2], -1),
    ([1, 1], slice(None, None, -1), [0, 2]),
    (-2, None, [True, False, True]),
    ([[0], [2]], 1, [2, 2, 0]),
], ids=str)
def test_gradcheck_advanced(key):
    x = tg.tensor(np.random.default_rng(6).standard_normal((3, 3, 3)), requires_grad=True)
    assert gradcheck(lambda t: t[key], x)


# ---------------------------------------------------------------------------- 出错信息

def test_errors_are_clear(device):
    x = tg.ones(2, 3, device=device)
    with pytest.raises(IndexError, match=r"索引越界.*\(2, 3\)"):
        x[5]
    with pytest.raises(IndexError, match=r"索引越界.*\(2, 3\)"):
        x[0, [0, 3]]
    with pytest.raises(IndexError, match=r"索引越界.*\(2, 3\)"):
        x[2, [0, 1]]
    with pytest.raises(IndexError, match=r"下标过多 \(too many indices\).*\(2, 3\)"):
        x[0, [0, 1], 1]
    with pytest.raises(IndexError, match=r"下标过多 \(too many indices\).*\(2, 3\)"):
        x[0, 1, 1]
    with pytest.raises(IndexError, match=r"省略号"):
        x[..., 0, ..., [0]]
    with pytest.raises(IndexError, match=r"下标形状不匹配 \(shape mismatch\).*\(2, 3\)"):
        x[[0, 1], [0, 1, 2]]
    with pytest.raises(IndexError, match=r"下标形状不匹配 \(shape mismatch\).*\(2, 3, 4\)"):
        tg.ones(2, 3, 4, device=device)[0, [0, 1], [0, 1, 2]]
    with pytest.raises(IndexError, match=r"省略号"):
        x[..., ...]
    with pytest.raises(IndexError, match=r"布尔掩码 \(boolean mask\).*\(2, 3\)"):
        x[[True, False, True]]
    with pytest.raises(IndexError, match=r"不支持的下标类型 \(index type\) float"):
        x[1.5]
    with pytest.raises(IndexError, match=r"整数或布尔类型.*float"):
        x[tg.tensor([0.0, 1.0], device=device)]
    other = "strict" if device == "cpu" else "cpu"
    with pytest.raises(RuntimeError, match=r"设备不一致 \(device mismatch\)"):
        x[0, tg.tensor([0], device=other)]


# ---------------------------------------------------------------------------- 性质测试

@st.composite
def index_case(draw):
    """随机形状（1–4 维，每维 1–4）上的随机下标：整数（含负数）、0 维整数张量、切片（含负步长）、None、
    Ellipsis、Python 的 True / False、整数下标（列表 / int64 张量，含重复与负数）、布尔掩码（bool 或 uint8 张量，
    或布尔列表）。

    返回 (形状, 下标说明)。下标说明的每一项是 (种类, 值)，按设备造成 tg 的下标、造成参考实现的下标。
    """
    # 一半的例子（至少 2 维）多抽整数与下标数组：两者同时出现正是 NumPy 与 PyTorch 不同的地方
    mix = ["int", "list", "tensor", "int", "list", "tensor"] if draw(st.booleans()) else []
    shape = draw(hnp.array_shapes(min_dims=2 if mix else 1, max_dims=4, min_side=1, max_side=4))
    n = len(shape)
    length = draw(st.integers(1, 3))  # 整数下标的公共长度，多数下标数组因此能互相广播

    def items(start, must_reach, count):
        """从第 start 维起的 count 项（None 不占维；维用完后只剩 None），不够时再补到占满第 must_reach 维。"""
        out, d = [], start
        while len(out) < count or d < must_reach:
            kinds = (["int", "int0d", "slice", "list", "tensor", "mask"] + mix) if d < n else []
            if len(out) < count:
                kinds += ["none", "bool"]
            kind = draw(st.sampled_from(kinds))
            side = shape[d] if d < n else None
            if kind in ("none", "bool"):
                out.append((kind, None if kind == "none" else draw(st.booleans())))
                continue
            if kind in ("int", "int0d"):
                out.append((kind, draw(st.integers(-side, side - 1))))
            elif kind == "slice":
                start_, stop = (draw(st.none() | st.integers(-side - 1, side + 1)) for _ in range(2))
                out.append(("slice", slice(start_, stop, draw(st.none() | st.sampled_from([1, 2, 3, -1, -2])))))
            elif kind == "list":
                out.append(("list", draw(st.lists(st.integers(-side, side - 1), min_size=length, max_size=length))))
            elif kind == "tensor":
                ishape = draw(st.sampled_from([(length,), (1,), (length, 1), (1, length), (2, length)]))
                out.append(("tensor", draw(hnp.arrays(np.int64, ishape, elements=st.integers(-side, side - 1)))))
            else:
                m = draw(st.integers(1, n - d))
                mask = draw(hnp.arrays(np.bool_, shape[d:d + m]))
                form = draw(st.sampled_from(["bool", "uint8", "list"] if m == 1 else ["bool", "uint8"]))
                out.append(("mask-" + form, mask))
                d += m - 1
            d += 1
        return out, d

    spec, d = items(0, 0, draw(st.integers(2 if mix else 1, 5)))
    if draw(st.booleans()):  # 省略号：它之后的项占最后 k 维
        k = draw(st.integers(0, n - d))
        suffix, _ = items(n - k, n, draw(st.integers(0, 3)))
        spec += [("ellipsis", None)] + suffix
    return shape, spec


def _tg_key(spec, device):
    out = []
    for kind, v in spec:
        if kind == "none":
            out.append(None)
        elif kind == "ellipsis":
            out.append(Ellipsis)
        elif kind in ("int", "bool", "slice", "list"):
            out.append(v)
        elif kind == "int0d":
            out.append(tg.tensor(v, device=device))
        elif kind == "tensor":
            out.append(tg.tensor(v, device=device))
        elif kind == "mask-bool":
            out.append(tg.tensor(v, device=device))
        elif kind == "mask-uint8":
            out.append(tg.tensor(v.astype(np.uint8) * 3, device=device))  # 非零即 True
        else:  # mask-list
            out.append([bool(b) for b in v])
    return tuple(out)


def _ref_key(spec):
    out = []
    for kind, v in spec:
        if kind == "none":
            out.append(None)
        elif kind == "ellipsis":
            out.append(Ellipsis)
        elif kind in ("int", "int0d", "bool", "slice"):
            out.append(v)
        elif kind == "list":
            out.append(np.array(v, dtype=np.int64))
        else:
            out.append(np.asarray(v))
    return tuple(out)


@FIXTURE_OK
@given(case=index_case(), seed=st.integers(0, 2**16))
def test_indexing_matches_torch_rule(device, case, seed):
    shape, spec = case
    ref_key = _ref_key(spec)
    x_np = np.random.default_rng(seed).standard_normal(shape)
    try:
        torch_rule_reference(x_np, ref_key)
    except ValueError:  # 下标数组无法广播
        with pytest.raises(IndexError, match=r"shape mismatch"):
            tg.tensor(x_np, device=device)[_tg_key(spec, device)]
        return
    _check(x_np, _tg_key(spec, device), ref_key, device, seed=seed)
