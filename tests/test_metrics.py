"""评估指标：手算的例子、除零约定、任何设备上的张量，以及（装了的话）与 scikit-learn 对照。"""

import math
import warnings

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.metrics import accuracy, confusion_matrix, f1_score, perplexity, precision, recall

# 二分类的手算例子：TP=2（下标 1、4），FP=1（下标 2），FN=1（下标 3），TN=2
Y_TRUE = [0, 1, 0, 1, 1, 0]
Y_PRED = [0, 1, 1, 0, 1, 0]


def test_binary_hand_computed():
    assert precision(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)
    assert recall(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)
    assert f1_score(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)
    assert precision(Y_TRUE, Y_PRED, pos_label=0) == pytest.approx(2 / 3)  # 把 0 当正类：TP=2，FP=1
    assert precision([0, 1, 1, 0], [0, 1, 0, 0]) == 1.0 and recall([0, 1, 1, 0], [0, 1, 0, 0]) == 0.5
    assert f1_score([0, 1, 1, 0], [0, 1, 0, 0]) == pytest.approx(2 / 3)


def test_multiclass_hand_computed():
    t = [0, 0, 1, 1, 2, 2]
    p = [0, 1, 1, 1, 0, 2]
    # 各类精确率：0 → 1/2，1 → 2/3，2 → 1/1；召回率：0 → 1/2，1 → 2/2，2 → 1/2
    assert precision(t, p, average="macro") == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert recall(t, p, average="macro") == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    f1s = [2 * 1 / (2 * 1 + 1 + 1), 2 * 2 / (2 * 2 + 1 + 0), 2 * 1 / (2 * 1 + 0 + 1)]
    assert f1_score(t, p, average="macro") == pytest.approx(np.mean(f1s))
    np.testing.assert_allclose(f1_score(t, p, average=None), f1s)
    for fn in (precision, recall, f1_score):  # 单标签多分类：micro 平均 = 准确率
        assert fn(t, p, average="micro") == pytest.approx(accuracy(p, t)) == pytest.approx(4 / 6)


def test_zero_division_gives_zero_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision([1, 1, 0], [0, 0, 0]) == 0.0  # 从没预测过正类：TP + FP = 0
        assert recall([0, 0, 0], [1, 0, 0]) == 0.0  # 没有正类样本：TP + FN = 0
        assert f1_score([0, 0], [0, 0]) == 0.0
        # 类别 2 只出现在预测里：它的召回率分母为 0，记 0，拉低宏平均
        assert recall([0, 1], [0, 2], average="macro") == pytest.approx((1 + 0 + 0) / 3)


def test_accuracy_with_labels_logits_and_sequences(device):
    logits = tg.tensor([[2.0, 0.1, 0.0], [0.3, 0.9, 0.1], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]], device=device)
    target = tg.tensor([0, 1, 1, 0], device=device)
    assert accuracy(logits, target) == 0.75
    assert accuracy(tg.tensor([0, 1, 2, 0], device=device), target) == 0.75
    assert precision(target, logits, average="macro") == pytest.approx((1 + 1 + 0) / 3)
    seq_logits = tg.zeros(2, 3, 5, device=device)  # (B, T, V) 对 (B, T)：在最后一维取 argmax → 全是 0
    assert accuracy(seq_logits, tg.tensor([[0, 0, 1], [0, 2, 0]], device=device)) == pytest.approx(4 / 6)
    assert accuracy(np.array([1.0, 0.0]), [1, 1]) == 0.5  # 整数值的浮点标签也可以


def test_argument_errors():
    with pytest.raises(ValueError, match="binary"):
        precision([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="average"):
        recall([0, 1], [0, 1], average="weighted")
    with pytest.raises(ValueError, match="shape mismatch"):
        accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="非整数"):
        accuracy([0.2, 0.9], [0, 1])
    with pytest.raises(ValueError, match="顺序"):
        accuracy([0, 1], [[0.1, 0.9], [0.8, 0.2]])
    with pytest.raises(ValueError, match="pos_label"):
        f1_score([0, 2], [2, 0])


def test_confusion_matrix(device):
    cm = confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1])
    assert cm.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]] and cm.dtype == np.int64
    assert confusion_matrix(tg.tensor([0, 1], device=device), tg.tensor([1, 1], device=device),
                            num_classes=4).shape == (4, 4)
    logits = tg.tensor([[0.0, 1.0], [1.0, 0.0]], device=device)
    assert confusion_matrix([1, 1], logits).tolist() == [[0, 0], [1, 1]]
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix([0, 3], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match="非负整数"):
        confusion_matrix([0, -1], [0, 1])


def test_perplexity():
    assert perplexity(0.0) == 1.0
    assert round(perplexity(math.log(4689))) == 4689
    assert perplexity(tg.tensor(math.log(2.0))) == pytest.approx(2.0)
    assert perplexity(1e6) == math.inf
    with pytest.raises(ValueError, match="为负"):
        perplexity(-0.5)
    with pytest.raises(ValueError, match="mean"):
        perplexity(tg.tensor([1.0, 2.0]))


def test_matches_scikit_learn():
    M = pytest.importorskip("sklearn.metrics", reason="没有安装 scikit-learn，跳过对照")
    rng = np.random.default_rng(0)
    for _ in range(15):  # scikit-learn 每次调用约 10 ms，15 组已覆盖缺类、单样本等情形
        k, n = int(rng.integers(2, 6)), int(rng.integers(1, 30))
        t, p = rng.integers(0, k, n), rng.integers(0, k, n)
        for avg in ("macro", "micro", None):
            for ours, theirs in ((precision, M.precision_score), (recall, M.recall_score), (f1_score, M.f1_score)):
                np.testing.assert_allclose(ours(t, p, average=avg), theirs(t, p, average=avg, zero_division=0))
                np.testing.assert_allclose(ours(t, p, average=avg, labels=[2, 0, 7]),
                                           theirs(t, p, average=avg, labels=[2, 0, 7], zero_division=0))
        tb, pb = rng.integers(0, 2, n), rng.integers(0, 2, n)
        for ours, theirs in ((precision, M.precision_score), (recall, M.recall_score), (f1_score, M.f1_score)):
            for pos in (0, 1):
                assert ours(tb, pb, pos_label=pos) == pytest.approx(theirs(tb, pb, pos_label=pos, zero_division=0))
        np.testing.assert_array_equal(confusion_matrix(t, p, num_classes=k), M.confusion_matrix(t, p, labels=range(k)))
        assert accuracy(p, t) == pytest.approx(M.accuracy_score(t, p))
