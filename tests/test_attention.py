"""F.scaled_dot_product_attention：前向对照 NumPy 参考实现、float64 梯度检验（随机上游）、掩码、dropout、报错。"""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_zh as tg
import tinygrad_zh.nn.functional as F
from tinygrad_zh.testing import assert_close, gradcheck

from conftest import to_host


def ref_attention(q, k, v, mask=None, causal=False, scale=None, keep=None):
    """逐字照公式写的参考实现：softmax(q kᵀ · s + M) v。"""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    z = np.matmul(q, np.swapaxes(k, -1, -2)) * scale
    if causal:
        z = np.where(np.tril(np.ones(z.shape[-2:], bool)), z, -np.inf)
    if mask is not None:
        z = np.where(mask, z, -np.inf) if mask.dtype == bool else z + mask
    p = np.exp(z - z.max(-1, keepdims=True))
    p = p / p.sum(-1, keepdims=True)
    if keep is not None:
        p = p * keep
    return np.matmul(p, v)


def t64(a, device, grad=True):
    x = tg.tensor(np.asarray(a, dtype=np.float64), device=device)
    return x.requires_grad_() if grad else x


@st.composite
def attention_case(draw):
    """批量维度两两可广播的 q、k、v，以及可选的掩码（布尔 / 浮点 / 因果）。"""
    lead = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=2, max_side=3))
    L, S, E, Ev = (draw(st.integers(1, 4)) for _ in range(4))
    el = st.floats(-2, 2, allow_nan=False, width=64)
    q = draw(hnp.arrays(np.float64, lead.input_shapes[0] + (L, E), elements=el))
    k = draw(hnp.arrays(np.float64, lead.input_shapes[1] + (S, E), elements=el))
    v = draw(hnp.arrays(np.float64, lead.input_shapes[2] + (S, Ev), elements=el))
    kind = draw(st.sampled_from(["none", "causal", "bool", "float"]))
    mask = None
    if kind == "bool":
        mask = draw(hnp.arrays(np.bool_, (L, S)))
        mask[:, 0] = True  # 每行至少能看一个键，否则 softmax 是 0/0
    elif kind == "float":
        mask = draw(hnp.arrays(np.float64, (L, S), elements=el))
    scale = draw(st.sampled_from([None, 0.3]))
    return q, k, v, kind, mask, scale


@pytest.mark.parametrize("dev", ["cpu", "strict"])
@given(case=attention_case())
def test_sdpa_matches_reference_and_gradchecks(dev, case):
    q, k, v, kind, mask, scale = case
    tq, tk, tv = t64(q, dev), t64(k, dev), t64(v, dev)
    tmask = None if mask is None else tg.tensor(mask, device=dev)
    if kind == "float":
        tmask.requires_grad_()
    causal = kind == "causal"
    inputs = (tq, tk, tv) + ((tmask,) if kind == "float" else ())

    def fn(a, b, c, m=tmask):  # 浮点掩码也是梯度检验的一个输入
        return F.scaled_dot_product_attention(a, b, c, attn_mask=m, is_causal=causal, scale=scale)
    out = fn(tq, tk, tv)
    assert out.shape == np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]) + (q.shape[-2], v.shape[-1])
    assert_close(to_host(out), ref_attention(q, k, v, mask, causal, scale), rtol=1e-10, atol=1e-12)
    assert gradcheck(fn, *inputs)


def test_sdpa_equals_composed_ops_and_attention_weights(device):
    tg.manual_seed(0)
    q, k, v = (tg.randn(2, 3, 5, 4, dtype=tg.float64, device=device, requires_grad=True) for _ in range(3))
    fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    w = F.attention_weights(q, k, is_causal=True)
    composed = w @ v
    assert_close(to_host(fused.detach()), to_host(composed.detach()), rtol=1e-12, atol=1e-12)
    # 权重：每行和为 1，未来的位置为 0
    wh = to_host(w.detach())
    assert_close(wh.sum(-1), np.ones((2, 3, 5)), rtol=1e-12, atol=1e-12)
    assert np.all(wh[..., np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]] == 0)
    g = tg.randn(2, 3, 5, 4, dtype=tg.float64, device=device)
    ga = tg.autograd.grad(fused, (q, k, v), g)
    gb = tg.autograd.grad(composed, (q, k, v), g)
    for a, b in zip(ga, gb):
        assert_close(to_host(a), to_host(b), rtol=1e-10, atol=1e-12)


def test_causal_mask_blocks_the_future():
    """改动第 t 个位置之后的键和值，前 t 个输出一点都不变。"""
    tg.manual_seed(1)
    q, k, v = (tg.randn(1, 6, 8) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    k2, v2 = k.clone(), v.clone()
    k2.data[:, 4:] += 10.0
    v2.data[:, 4:] -= 5.0
    out2 = F.scaled_dot_product_attention(q, k2, v2, is_causal=True).numpy()
    assert np.array_equal(out[:, :4], out2[:, :4])
    assert not np.allclose(out[:, 4:], out2[:, 4:])


def test_causal_mask_is_top_left_aligned_like_torch():
    # L=2 个查询、S=3 个键：第 0 个查询只看键 0，第 1 个查询看键 0、1
    q = tg.zeros(2, 1)
    k = tg.zeros(3, 1)
    v = tg.tensor([[1.0], [2.0], [4.0]])
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    assert_close(out, np.array([[1.0], [1.5]]))


def test_bool_mask_true_means_attend_and_float_mask_is_added():
    q = tg.zeros(1, 2)
    k = tg.zeros(3, 2)
    v = tg.tensor([[1.0], [2.0], [4.0]])
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=tg.tensor([[True, False, True]])).numpy()
    assert_close(out, np.array([[2.5]]))
    add = tg.tensor([[0.0, math.log(2.0), -math.inf]])
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=add).numpy()
    assert_close(out, np.array([[(1 + 2 * 2) / 3]]), rtol=1e-6)


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_row_gives_zero_output_and_zero_gradient(device, kind):
    """一行一个键都不能看：softmax 是 0/0。同 PyTorch（2.5 起的 _safe_softmax）：这一行输出 0、梯度 0，不是 nan。"""
    rng = np.random.default_rng(7)
    q, k, v = (tg.tensor(rng.standard_normal(s), device=device, requires_grad=True)
               for s in [(2, 3, 4), (2, 5, 4), (2, 5, 2)])
    keep = np.ones((3, 5), dtype=bool)
    keep[1] = False
    mask = tg.tensor(keep if kind == "bool" else np.where(keep, 0.0, -np.inf), device=device)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    host = to_host(out)
    assert (host[:, 1] == 0).all() and np.isfinite(host).all()
    assert_close(host[:, [0, 2]], ref_attention(*(to_host(t) for t in (q, k, v)), keep)[:, [0, 2]], rtol=1e-10)
    out.sum().backward()
    assert (to_host(q.grad)[:, 1] == 0).all()
    assert all(np.isfinite(to_host(t.grad)).all() for t in (q, k, v))

    def fn(a, b, c):
        return F.scaled_dot_product_attention(a, b, c, attn_mask=mask)
    assert gradcheck(fn, q, k, v)


def test_dtype_stays_float32_and_huge_scores_stay_finite(device):
    q = tg.full((1, 2, 4), 1000.0, device=device)
    out = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert out.dtype == tg.float32 and np.isfinite(to_host(out)).all()


def test_dropout_on_probabilities_matches_reference_and_is_reproducible(device):
    p = 0.3
    q, k, v = (tg.randn(2, 4, 5, 3, dtype=tg.float64, device=device, requires_grad=True) for _ in range(3))

    def fn(a, b, c):
        tg.manual_seed(7)  # 每次求值用同一个掩码，梯度检验才有意义
        return F.scaled_dot_product_attention(a, b, c, dropout_p=p, is_causal=True)
    out = to_host(fn(q, k, v).detach())
    tg.manual_seed(7)
    # 在同一设备上抽：GPU 上的随机数在显存里生成，与 CPU 上同一种子的数不同
    u = to_host(tg.rand(2, 4, 5, 5, dtype=tg.float64, device=device))
    keep = np.where(u >= p, 1 / (1 - p), 0.0)
    ref = ref_attention(*(to_host(t.detach()) for t in (q, k, v)), causal=True, keep=keep)
    assert_close(out, ref, rtol=1e-10, atol=1e-12)
    assert gradcheck(fn, q, k, v)
    assert not np.allclose(out, to_host(F.scaled_dot_product_attention(q, k, v, is_causal=True).detach()))


def test_bad_inputs_give_clear_errors():
    q, k, v = tg.randn(2, 5, 4), tg.randn(2, 6, 4), tg.randn(2, 6, 3)
    with pytest.raises(RuntimeError, match=r"形状不匹配.*\(2, 5, 4\).*\(2, 6, 3\)"):
        F.scaled_dot_product_attention(q, tg.randn(2, 6, 3), v)
    with pytest.raises(RuntimeError, match="序列长度"):
        F.scaled_dot_product_attention(q, k, tg.randn(2, 5, 3))
    with pytest.raises(RuntimeError, match="前导维度"):
        F.scaled_dot_product_attention(tg.randn(3, 5, 4), k, v)
    with pytest.raises(RuntimeError, match=r"attn_mask 的形状 \(4, 6\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tg.ones(4, 6, dtype=tg.bool))
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tg.ones(5, 6, dtype=tg.bool), is_causal=True)
    with pytest.raises(TypeError, match="浮点"):
        F.scaled_dot_product_attention(q.long(), k, v)
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    with pytest.raises(RuntimeError, match="设备不一致"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tg.ones(5, 6, dtype=tg.bool, device="strict"))
