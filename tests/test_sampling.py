"""tinygrad_zh.sampling：温度 → top-k → top-p 的语义，用手算的概率向量检验；抽样频率、可复现、报错。"""

import math

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.sampling import filter_logits, greedy, sample_next

from conftest import to_host

# 故意打乱顺序：检验“排序 → 过滤 → 排回原位”没有把位置弄错
P = np.array([0.15, 0.5, 0.05, 0.3])


def kept(logits_tensor):
    """过滤后仍然保留（不是 −inf）的位置上的原始概率，从大到小。"""
    z = to_host(logits_tensor)
    return sorted(P[np.isfinite(z)].tolist(), reverse=True)


def z(device="cpu", dtype=tg.float32):
    return tg.tensor(np.log(P), dtype=dtype, device=device)


@pytest.mark.parametrize("top_p, expected", [
    (0.7, [0.5, 0.3]),
    (0.8, [0.5, 0.3]),              # 0.5 + 0.3 恰好 = 0.8：已经够了，不再加 0.15（浮点舍入不影响）
    (0.81, [0.5, 0.3, 0.15]),
    (0.5, [0.5]),
    (0.49, [0.5]),
    (0.0, [0.5]),                   # 至少留一个
    (0.95, [0.5, 0.3, 0.15]),
    (0.951, [0.5, 0.3, 0.15, 0.05]),
    (1.0, [0.5, 0.3, 0.15, 0.05]),
    (1.5, [0.5, 0.3, 0.15, 0.05]),
])
def test_top_p_keeps_the_smallest_set_reaching_p(device, top_p, expected):
    out = filter_logits(z(device), top_p=top_p)
    assert kept(out) == expected
    # 保留下来的 logits 原样不变
    keep = np.isfinite(to_host(out))
    assert np.array_equal(to_host(out)[keep], np.log(P).astype(np.float32)[keep])


@pytest.mark.parametrize("top_k, expected", [(1, [0.5]), (2, [0.5, 0.3]), (3, [0.5, 0.3, 0.15]),
                                             (4, [0.5, 0.3, 0.15, 0.05]), (100, [0.5, 0.3, 0.15, 0.05])])
def test_top_k_keeps_the_k_largest_and_clamps_k_to_the_vocabulary(device, top_k, expected):
    assert kept(filter_logits(z(device), top_k=top_k)) == expected


def test_top_p_is_computed_on_the_distribution_left_after_top_k():
    # 只做 top-p=0.6：0.5 不够，再加 0.3 → 两个
    assert kept(filter_logits(z(), top_p=0.6)) == [0.5, 0.3]
    # 先 top-k=2 → 重新归一化为 0.625 / 0.375，0.625 ≥ 0.6 → 只剩一个
    assert kept(filter_logits(z(), top_k=2, top_p=0.6)) == [0.5]
    # 先 top-k=3 → 0.526 / 0.316 / 0.158：前两个和 0.842 ≥ 0.8
    assert kept(filter_logits(z(), top_k=3, top_p=0.8)) == [0.5, 0.3]
    assert kept(filter_logits(z(), top_k=3, top_p=0.85)) == [0.5, 0.3, 0.15]


def test_ties_at_the_kth_value_are_kept_and_rows_are_independent():
    out = filter_logits(tg.tensor([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]]), top_k=1).numpy()
    assert np.isfinite(out).tolist() == [[True, True, False], [False, True, False]]
    out = filter_logits(tg.tensor(np.log([[0.1, 0.2, 0.7], [0.7, 0.2, 0.1]])), top_p=0.75).numpy()
    assert np.isfinite(out).tolist() == [[False, True, True], [True, True, False]]


def test_greedy_when_temperature_is_zero_or_top_k_is_one(device):
    logits = tg.tensor([[0.1, 3.0, 0.2], [2.0, -1.0, 0.0]], device=device)
    for kwargs in ({"temperature": 0}, {"top_k": 1}, {"temperature": 5.0, "top_k": 1}):
        out = sample_next(logits, **kwargs)
        assert out.dtype == tg.int64 and out.shape == (2, 1) and out.device == device
        assert to_host(out).tolist() == [[1], [0]]
    assert to_host(greedy(logits)).tolist() == [[1], [0]]


def empirical(probs_logits, n=40000, **kwargs):
    logits = tg.tensor(np.tile(probs_logits, (n, 1)), dtype=tg.float64)
    draws = sample_next(logits, generator=tg.Generator(0), **kwargs).numpy()[:, 0]
    return np.bincount(draws, minlength=logits.shape[1]) / n


def test_sampling_frequencies_follow_the_filtered_tempered_distribution():
    zp = np.log(P)
    assert np.abs(empirical(zp) - P).max() < 0.01
    hot = np.sqrt(P) / np.sqrt(P).sum()                  # τ = 2：p^(1/2) 再归一化
    assert np.abs(empirical(zp, temperature=2.0) - hot).max() < 0.01
    nucleus = np.where(P >= 0.3, P, 0) / 0.8             # top-p = 0.7：只在 0.5 / 0.3 里按 0.625 / 0.375 抽
    freq = empirical(zp, top_p=0.7)
    assert np.abs(freq - nucleus).max() < 0.01 and freq[P < 0.3].sum() == 0
    cold = P ** 2 / (P ** 2).sum()                       # τ = 0.5，再 top-k = 3
    cold3 = np.where(P > 0.05, cold, 0) / cold[P > 0.05].sum()
    assert np.abs(empirical(zp, temperature=0.5, top_k=3) - cold3).max() < 0.01


def test_sampling_is_reproducible_with_a_seed(device):
    logits = tg.randn(8, 50, generator=tg.Generator(1), device=device)
    a = to_host(sample_next(logits, 0.8, 20, 0.9, generator=tg.Generator(3)))
    b = to_host(sample_next(logits, 0.8, 20, 0.9, generator=tg.Generator(3)))
    c = to_host(sample_next(logits, 0.8, 20, 0.9, generator=tg.Generator(4)))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    tg.manual_seed(9)
    d = to_host(sample_next(logits, 0.8, 20, 0.9))
    tg.manual_seed(9)
    assert np.array_equal(d, to_host(sample_next(logits, 0.8, 20, 0.9)))


def test_a_one_dimensional_distribution_gives_shape_one():
    out = sample_next(tg.tensor([0.0, 10.0, -5.0]), temperature=0.1)
    assert out.shape == (1,) and out.item() == 1


def test_bad_arguments_give_clear_errors():
    with pytest.raises(ValueError, match=r"top_k 必须是正整数.*top_k=0"):
        filter_logits(z(), top_k=0)
    with pytest.raises(ValueError, match="top_k=-3"):
        sample_next(z(), top_k=-3)
    with pytest.raises(TypeError, match="top_k"):
        filter_logits(z(), top_k=2.5)
    with pytest.raises(ValueError, match="top_p"):
        filter_logits(z(), top_p=-0.1)
    with pytest.raises(ValueError, match="top_p"):
        sample_next(z(), top_p=math.nan)
    with pytest.raises(ValueError, match="温度"):
        sample_next(z(), temperature=-1.0)
    with pytest.raises(TypeError, match="浮点"):
        sample_next(tg.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"\(…, V\)"):
        filter_logits(tg.tensor(1.0), top_k=1)
