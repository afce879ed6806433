"""卷积与汇聚：对照按公式逐元素循环的朴素实现、float64 梯度检验（随机上游梯度）、并列时的梯度、
错误信息、nn.Conv2d / MaxPool2d / AvgPool2d 模块，以及（可选）与 PyTorch 对照。

朴素实现照二维互相关的定义逐项求和 Y[n,o,i,j] = b[o] + Σ_c Σ_u Σ_v W[o,c,u,v] · X[n,c,i·s+u·d, j·s+v·d]
（X 为填充后的输入）——原文 §4.2.2 的“CNN 公式”没有滑动窗口，这里验证的是正确的那个。
hypothesis 的测试按设备参数化（"cpu" 与严格替身设备 "strict"），其余测试用 conftest 的 device fixture。
"""

import doctest
import math
import types

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_zh as tg
from tinygrad_zh import backend
import tinygrad_zh.nn as tg_nn
from tinygrad_zh.nn import conv as conv_module, functional as F, pooling as pooling_module
from tinygrad_zh.nn.conv import Conv2d
from tinygrad_zh.nn.pooling import AvgPool2d, MaxPool2d
from tinygrad_zh.ops import conv as conv_ops
from tinygrad_zh.testing import StrictArray, assert_close, gradcheck

from conftest import to_host

DEVS = ["cpu", "strict"]


def on(dev, arr, requires_grad=False):
    """主机数组 → 指定设备上的张量（dtype 不变）。"""
    data = StrictArray(np.array(arr)) if dev == "strict" else backend.to_device(np.array(arr), dev)
    return tg.Tensor(data).requires_grad_(requires_grad)


# ---------------------------------------------------------------------------- 朴素参照实现（逐元素循环）

def naive_conv2d(x, w, b, stride, pads, dilation):
    """按公式逐个输出元素、逐个 (c, u, v) 累加；pads = (上, 下, 左, 右)。"""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    xp = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]))
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for ni in range(n):
        for oi in range(o):
            for i in range(ho):
                for j in range(wo):
                    acc = 0.0 if b is None else b[oi]
                    for ci in range(c):
                        for u in range(kh):
                            for v in range(kw):
                                acc += w[oi, ci, u, v] * xp[ni, ci, i * sh + u * dh, j * sw + v * dw]
                    y[ni, oi, i, j] = acc
    return y


def naive_pool(x, kernel, stride, pad, dilation=(1, 1), ceil_mode=False, kind="max", count_include_pad=True,
               divisor_override=None):
    """逐个窗口的最大值 / 平均值；平均的除数照 PyTorch 的 C++ 写法（hstart/hend 截断）独立算出。"""
    n, c, h, w = x.shape
    outs = []
    for size, k, s, p, d in zip((h, w), kernel, stride, pad, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= size + p:
            o -= 1
        outs.append(o)
    y = np.zeros((n, c) + tuple(outs))
    for i in range(outs[0]):
        for j in range(outs[1]):
            if kind == "max":
                rows = [i * stride[0] - pad[0] + u * dilation[0] for u in range(kernel[0])]
                cols = [j * stride[1] - pad[1] + v * dilation[1] for v in range(kernel[1])]
                vals = [x[:, :, r, q] for r in rows for q in cols if 0 <= r < h and 0 <= q < w]
                # 窗口可能整个落在填充里（空洞 + 填充）：PyTorch 此时输出 −∞，梯度为 0
                y[:, :, i, j] = np.max(vals, axis=0) if vals else -np.inf
            else:
                hs, ws = i * stride[0] - pad[0], j * stride[1] - pad[1]
                he, we = min(hs + kernel[0], h + pad[0]), min(ws + kernel[1], w + pad[1])
                pool_size = (he - hs) * (we - ws)
                hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
                div = divisor_override or (pool_size if count_include_pad else (he - hs) * (we - ws))
                y[:, :, i, j] = x[:, :, hs:he, ws:we].sum(axis=(2, 3)) / div
    return y


# ---------------------------------------------------------------------------- hypothesis：卷积

@st.composite
def conv_cases(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # 输入至少要放得下（含空洞的）卷积核
    hw = tuple(draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 6)) for ki, pi, di in zip(k, p, d))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return dict(x=(n, c) + hw, w=(o, c) + k, stride=s, padding=p, dilation=d,
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2 ** 16)))


def _conv_arrays(case):
    rng = np.random.default_rng(case["seed"])
    x, w = rng.standard_normal(case["x"]), rng.standard_normal(case["w"])
    b = rng.standard_normal(case["w"][0]) if case["bias"] else None
    return x, w, b


@pytest.mark.parametrize("dev", DEVS)
@given(case=conv_cases())
def test_conv2d_matches_naive_loops(dev, case):
    x, w, b = _conv_arrays(case)
    (ph, pw) = case["padding"]
    expected = naive_conv2d(x, w, b, case["stride"], (ph, ph, pw, pw), case["dilation"])
    out = F.conv2d(on(dev, x), on(dev, w), None if b is None else on(dev, b),
                   case["stride"], case["padding"], case["dilation"])
    assert out.device == dev and out.dtype == np.float64
    assert_close(to_host(out), expected, rtol=1e-12, atol=1e-12)
    out32 = F.conv2d(on(dev, x.astype(np.float32)), on(dev, w.astype(np.float32)),
                     None if b is None else on(dev, b.astype(np.float32)),
                     case["stride"], case["padding"], case["dilation"])
    assert out32.dtype == np.float32  # float32 不能悄悄变成 float64
    assert_close(to_host(out32), expected.astype(np.float32), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dev", DEVS)
@given(case=conv_cases())
def test_conv2d_gradcheck(dev, case):
    x, w, b = _conv_arrays(case)
    args = [on(dev, x, True), on(dev, w, True)] + ([] if b is None else [on(dev, b, True)])
    fn = lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, case["stride"], case["padding"], case["dilation"])
    assert gradcheck(fn, *args)


def test_conv2d_only_weight_or_only_input_needs_grad(device):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    assert gradcheck(lambda w: F.conv2d(on(device, x), w, stride=2, padding=1), on(device, w, True))
    assert gradcheck(lambda x: F.conv2d(x, on(device, w), dilation=2, padding=2), on(device, x, True))


def test_conv2d_same_padding_even_kernel_and_unbatched(device):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((2, 2, 2, 4))
    # 总填充 d·(k−1) 为奇数时，多的一格在下边 / 右边（同 PyTorch）
    expected = naive_conv2d(x, w, None, (1, 1), (0, 1, 1, 2), (1, 1))
    out = F.conv2d(on(device, x), on(device, w), padding="same")
    assert out.shape == (1, 2, 5, 6)
    assert_close(to_host(out), expected, rtol=1e-12, atol=1e-12)
    assert_close(to_host(F.conv2d(on(device, x[0]), on(device, w), padding="valid")),
                 naive_conv2d(x, w, None, (1, 1), (0, 0, 0, 0), (1, 1))[0], rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding="same", dilation=(1, 2)),
                     on(device, x, True), on(device, w, True))


def test_conv2d_non_contiguous_input():
    rng = np.random.default_rng(2)
    x = np.ascontiguousarray(rng.standard_normal((2, 6, 5, 3)).transpose(0, 3, 2, 1)).transpose(0, 1, 3, 2)
    assert not x.flags.c_contiguous  # (2, 3, 6, 5) 的转置视图
    w = rng.standard_normal((2, 3, 3, 2))
    expected = naive_conv2d(np.ascontiguousarray(x), w, None, (2, 1), (0, 0, 0, 0), (1, 1))
    assert_close(to_host(F.conv2d(tg.Tensor(x), tg.tensor(w), stride=(2, 1))), expected, rtol=1e-12, atol=1e-12)


def test_fused_conv_ops_refuse_create_graph():
    x = tg.randn(1, 1, 4, 4, dtype=tg.float64, requires_grad=True)
    y = F.conv2d(x, tg.randn(1, 1, 3, 3, dtype=tg.float64)).sum()
    with pytest.raises(RuntimeError, match="Conv2d.*create_graph"):
        y.backward(create_graph=True)


# ---------------------------------------------------------------------------- hypothesis：汇聚

@st.composite
def pool_cases(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    hw = tuple(draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 6)) for ki, pi, di in zip(k, p, d))
    return dict(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 2))) + hw, kernel=k, stride=s, padding=p,
                dilation=d, ceil_mode=draw(st.booleans()), seed=draw(st.integers(0, 2 ** 16)))


def _distinct(shape, seed):
    """各不相同、间隔 ≥ 0.1 的数：梯度检验的 ±1e-6 扰动不会改变谁是最大值（避开并列这个折点）。"""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1 + rng.uniform(0, 0.01, size)).reshape(shape)


@pytest.mark.parametrize("dev", DEVS)
@given(case=pool_cases())
def test_max_pool2d_matches_naive_and_gradcheck(dev, case):
    x = _distinct(case["shape"], case["seed"])
    kw = dict(kernel_size=case["kernel"], stride=case["stride"], padding=case["padding"],
              dilation=case["dilation"], ceil_mode=case["ceil_mode"])
    expected = naive_pool(x, case["kernel"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"])
    assert_close(to_host(F.max_pool2d(on(dev, x), **kw)), expected, rtol=0, atol=0)
    if np.isfinite(expected).all():  # −∞ 的输出没有有限差分可言
        assert gradcheck(lambda t: F.max_pool2d(t, **kw), on(dev, x, True))


@pytest.mark.parametrize("dev", DEVS)
@given(case=pool_cases(), include_pad=st.booleans(), override=st.sampled_from([None, 3]))
def test_avg_pool2d_matches_naive_and_gradcheck(dev, case, include_pad, override):
    x = np.random.default_rng(case["seed"]).standard_normal(case["shape"])
    kw = dict(kernel_size=case["kernel"], stride=case["stride"], padding=case["padding"],
              ceil_mode=case["ceil_mode"], count_include_pad=include_pad, divisor_override=override)
    expected = naive_pool(x, case["kernel"], case["stride"], case["padding"], ceil_mode=case["ceil_mode"],
                          kind="avg", count_include_pad=include_pad, divisor_override=override)
    assert_close(to_host(F.avg_pool2d(on(dev, x), **kw)), expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda t: F.avg_pool2d(t, **kw), on(dev, x, True))


def test_max_pool2d_ties_go_to_first_max_in_row_major_order(device):
    """并列时梯度整份给窗口里按行优先顺序的第一个最大值（PyTorch 的规则），不平分。"""
    x = on(device, np.ones((1, 1, 2, 2)), True)
    F.max_pool2d(x, 2).sum().backward()
    assert np.array_equal(to_host(x.grad), [[[[1.0, 0.0], [0.0, 0.0]]]])
    # 重叠窗口 (1, 2)、步幅 1：窗口 [0, 1] 选 0，窗口 [1, 2] 选 1
    x = on(device, np.ones((1, 1, 1, 3)), True)
    F.max_pool2d(x, (1, 2), stride=1).sum().backward()
    assert np.array_equal(to_host(x.grad), [[[[1.0, 1.0, 0.0]]]])
    # 重叠窗口选中同一个元素时梯度相加
    x = on(device, np.array([[[[0.0, 5.0, 0.0]]]]), True)
    F.max_pool2d(x, (1, 2), stride=1).backward(on(device, np.array([[[[2.0, 3.0]]]])))
    assert np.array_equal(to_host(x.grad), [[[[0.0, 5.0, 0.0]]]])


def test_avg_pool2d_defaults_count_padding(device):
    out = F.avg_pool2d(on(device, np.ones((1, 1, 4, 4))), 2, padding=1)
    assert_close(to_host(out)[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    out = F.avg_pool2d(on(device, np.ones((1, 1, 4, 4))), 2, padding=1, count_include_pad=False)
    assert np.all(to_host(out) == 1.0)
    assert F.max_pool2d(on(device, np.ones((3, 4, 4))), 2).shape == (3, 2, 2)  # 无批量输入


# ---------------------------------------------------------------------------- 模块

def test_conv2d_module_init_shapes_repr_and_state_dict(device):
    tg.manual_seed(0)
    conv = Conv2d(3, 16, 3, padding=1, device=device)
    assert conv.weight.shape == (16, 3, 3, 3) and conv.bias.shape == (16,) and conv.weight.dtype == np.float32
    bound = 1 / math.sqrt(3 * 3 * 3)  # kaiming_uniform_(a=√5) 化简为 U(±1/√fan_in)
    w = to_host(conv.weight)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(to_host(conv.bias)).max() <= bound
    assert list(conv.state_dict()) == ["weight", "bias"]
    assert conv(tg.randn(2, 3, 8, 8, device=device)).shape == (2, 16, 8, 8)
    assert repr(conv) == "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(Conv2d(1, 4, (3, 5), stride=2, dilation=2, bias=False)) == \
        "Conv2d(1, 4, kernel_size=(3, 5), stride=(2, 2), dilation=(2, 2), bias=False)"
    assert repr(Conv2d(1, 4, 3, padding="same")).endswith("padding=same)")
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"


def test_small_cnn_trains_one_step(device):
    """卷积 → ReLU → 最大汇聚 → 卷积 → 平均汇聚 → 展平：损失能反向传播到每个参数，一步 SGD 后损失下降。"""
    tg.manual_seed(3)
    c1, c2 = Conv2d(1, 4, 3, padding=1, device=device), Conv2d(4, 8, 3, device=device)
    params = [c1.weight, c1.bias, c2.weight, c2.bias]
    x = tg.randn(4, 1, 8, 8, device=device)

    def loss_fn():
        h = F.max_pool2d(c1(x).relu(), 2)
        return (F.avg_pool2d(c2(h), 2).flatten(1) ** 2).mean()

    loss = loss_fn()
    loss.backward()
    with tg.no_grad():
        for p in params:
            assert p.grad is not None and p.grad.shape == p.shape
            p.data = p.data - 0.1 * p.grad.data
    assert loss_fn().item() < loss.item()


@pytest.mark.parametrize("module", [conv_module, pooling_module, F, conv_ops], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    # nn 里还没有导出这些层时，也让文档里的 nn.Conv2d 等写法可以运行
    names = {k: getattr(tg_nn, k) for k in dir(tg_nn) if not k.startswith("_")}
    names.update({k: getattr(tg_nn, k)
                  for k in ("Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d")})
    result = doctest.testmod(module, extraglobs={"nn": types.SimpleNamespace(**names), "tg": tg, "F": F})
    assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------------------- 错误信息

def test_conv2d_errors_name_both_shapes():
    x = tg.zeros(1, 1, 7, 7)
    with pytest.raises(RuntimeError) as e:
        F.conv2d(x, tg.zeros(2, 3, 3, 3))
    assert "(1, 1, 7, 7)" in str(e.value) and "(2, 3, 3, 3)" in str(e.value) and "in_channels" in str(e.value)
    with pytest.raises(RuntimeError) as e:
        Conv2d(3, 2, 3)(x)
    assert "(1, 1, 7, 7)" in str(e.value) and "(2, 3, 3, 3)" in str(e.value)
    with pytest.raises(RuntimeError, match="kernel size") as e:
        F.conv2d(x, tg.zeros(2, 1, 5, 5), dilation=2)
    assert "(7, 7)" in str(e.value) and "(9, 9)" in str(e.value)
    with pytest.raises(RuntimeError, match="strided"):
        F.conv2d(x, tg.zeros(2, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="strided"):
        Conv2d(1, 2, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="negative padding"):
        F.conv2d(x, tg.zeros(2, 1, 3, 3), padding=-1)
    with pytest.raises(RuntimeError, match="non-positive stride"):
        F.conv2d(x, tg.zeros(2, 1, 3, 3), stride=0)
    with pytest.raises(RuntimeError, match="bias"):
        F.conv2d(x, tg.zeros(2, 1, 3, 3), tg.zeros(3))
    with pytest.raises(RuntimeError, match=r"\(N, C, H, W\)"):
        F.conv2d(tg.zeros(7, 7), tg.zeros(2, 1, 3, 3))
    with pytest.raises(TypeError, match="stride"):
        F.conv2d(x, tg.zeros(2, 1, 3, 3), stride=(1, 2, 3))
    with pytest.raises(NotImplementedError, match="groups"):
        Conv2d(2, 2, 3, groups=2)


def test_pool_errors():
    x = tg.zeros(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="half of kernel size"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="half of kernel size"):
        F.avg_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="too small") as e:
        F.max_pool2d(tg.zeros(1, 1, 2, 2), 3, padding=1, dilation=2)
    assert "(1, 1, 2, 2)" in str(e.value)
    with pytest.raises(RuntimeError, match="not zero"):
        F.avg_pool2d(x, 2, divisor_override=0)


# ---------------------------------------------------------------------------- 与 PyTorch 对照（可选）

@pytest.mark.torch
def test_conv2d_module_loads_torch_state_dict_and_matches():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)).double()
    ours = Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), dtype=tg.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    tx, ox = torch.tensor(x, requires_grad=True), tg.tensor(x, requires_grad=True)
    out, tout = ours(ox), theirs(tx)
    assert_close(to_host(out), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(tg.tensor(g))
    tout.backward(torch.tensor(g))
    assert_close(to_host(ox.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_close(to_host(ours.weight.grad), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_close(to_host(ours.bias.grad), theirs.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    # 反过来：我们的 state_dict 也能加载进 torch
    fresh = Conv2d(3, 5, (3, 2), dtype=tg.float64).state_dict()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in fresh.items()})


@pytest.mark.torch
@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2),
                                dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2)),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_pools_match_torch_with_ties(kw):
    """大量并列（只取 0、1、2 三个值）且窗口重叠：最大汇聚的梯度与 PyTorch 逐元素一致；平均汇聚同理。"""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (2, 2, 8, 7)).astype(np.float64)
    for ours_fn, theirs_fn, extra in [(F.max_pool2d, torch.nn.functional.max_pool2d, {}),
                                      (F.avg_pool2d, torch.nn.functional.avg_pool2d, {"count_include_pad": False}),
                                      (F.avg_pool2d, torch.nn.functional.avg_pool2d, {})]:
        if ours_fn is F.avg_pool2d and "dilation" in kw:
            continue
        for dev in DEVS:
            ox, tx = on(dev, x, True), torch.tensor(x, requires_grad=True)
            out, tout = ours_fn(ox, **kw, **extra), theirs_fn(tx, **kw, **extra)
            assert_close(to_host(out), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
            g = rng.standard_normal(out.shape)
            out.backward(on(dev, g))
            tout.backward(torch.tensor(g))
            assert_close(to_host(ox.grad), tx.grad.numpy(), rtol=1e-12, atol=1e-12, msg=f"{ours_fn.__name__} {kw}")
