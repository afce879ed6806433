"""任务 16：top-k 与 top-p 过滤（filter_logits 分别只开一个选项来测）。"""

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.classroom.checks import TaskCheckError
from tinygrad_zh.classroom.lesson_code import load_function
from tinygrad_zh.sampling import filter_logits


def kept(z):
    return [sorted(np.flatnonzero(np.isfinite(row)).tolist()) for row in np.atleast_2d(z)]


def check_kept(name, got, expected_kept):
    got = kept(got.data if hasattr(got, "grad_fn") else got)
    if got != expected_kept:
        raise TaskCheckError(f"{name}：留下的词元下标应为 {expected_kept}，得到 {got}。")


def reference_top_k(z, k):
    kth = np.sort(z, axis=-1)[..., -min(k, z.shape[-1])][..., None]
    return np.where(z < kth, -np.inf, z)


def reference_top_p(z, p):
    out = []
    for row in np.atleast_2d(z):
        probs = np.exp(row - row.max())
        probs /= probs.sum()
        order = np.argsort(-probs, kind="stable")
        total, keep = 0.0, []
        for i in order:
            keep.append(int(i))
            total += probs[i]
            if total >= p - 1e-6:
                break
        out.append(sorted(keep))
    return out


LOGITS = np.array([[2.0, 0.5, 1.0, -1.0, 1.0, 0.1], [0.0, 3.0, -2.0, 1.0, 1.5, 2.9]])


@pytest.mark.task16_1
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k(k):
    out = filter_logits(tg.tensor(LOGITS.astype(np.float32)), top_k=k)
    check_kept(f"filter_logits(top_k={k})", out.data, kept(reference_top_k(LOGITS, k)))
    finite = np.isfinite(out.data)
    if not np.array_equal(out.data[finite], LOGITS.astype(np.float32)[finite]):
        raise TaskCheckError("filter_logits(top_k)：留下的 logits 的值不应改变。")


@pytest.mark.task16_1
def test_lesson16_top_k_np(root):
    top_k_np = load_function(root, "16", "top_k_np", {"np": np})
    for k in (1, 3, 10):
        check_kept(f"第 16 课 top_k_np(k={k})", top_k_np(LOGITS[0], k), kept(reference_top_k(LOGITS[0], k)))


@pytest.mark.task16_2
@pytest.mark.parametrize("p", [0.0, 0.5, 0.8, 0.81, 0.95])
def test_top_p(p):
    z = np.log(np.array([[0.5, 0.3, 0.15, 0.05], [0.05, 0.15, 0.3, 0.5]]))
    out = filter_logits(tg.tensor(z.astype(np.float32)), top_p=p)
    check_kept(f"filter_logits(top_p={p})（概率 0.5、0.3、0.15、0.05）", out.data, reference_top_p(z, p))


@pytest.mark.task16_2
def test_top_p_random_rows():
    z = np.random.default_rng(0).standard_normal((4, 9)) * 2
    out = filter_logits(tg.tensor(z), top_p=0.7)
    check_kept("filter_logits(top_p=0.7) 在随机 logits 上", out.data, reference_top_p(z, 0.7))
