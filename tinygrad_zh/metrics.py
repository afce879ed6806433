"""评估指标 (metrics)：准确率、精确率 / 召回率 / F1、混淆矩阵、困惑度。

输入可以是张量（任何设备）、NumPy / CuPy 数组或列表；结果是 Python ``float``（混淆矩阵与
``average=None`` 时是 NumPy 数组）。指标不参与求导，所以都在主机上用 NumPy 计算。

定义与 scikit-learn 相同（参数顺序也相同：先真实标签 ``y_true``，再预测 ``y_pred``；
只有 ``accuracy`` 按 PyTorch 习惯先写预测）。记 TP / FP / FN 为某一类的真正例 / 假正例 / 假反例：

    精确率 precision = TP / (TP + FP)      预测为该类的样本里，有多少真是该类
    召回率 recall    = TP / (TP + FN)      真是该类的样本里，有多少被找出来
    F1              = 2·TP / (2·TP + FP + FN)   （即精确率与召回率的调和平均）

**除零约定 (zero division)**：分母为 0 时（例如从没预测过某一类，TP + FP = 0）该值记为 0，
不发出警告。这等于 scikit-learn 的 ``zero_division=0``（它的默认值 "warn" 也给 0，但会警告）。
"""

from __future__ import annotations

import math

import numpy as np

from . import backend
from .tensor import Tensor


def _host(x, name):
    """张量 / 任何设备上的数组 / 列表 → NumPy 数组。"""
    if isinstance(x, Tensor):
        x = x.data
    if backend.is_array(x):
        return backend.to_numpy(x)
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name} 必须是数字序列、数组或张量，得到 {type(x).__name__}。")
    return arr


def _as_labels(y_pred, y_true, who):
    """把预测整理成类别标签：比 y_true 多一维的浮点数当作 logits / 概率，在最后一维取 argmax。"""
    if y_pred.ndim == y_true.ndim + 1:
        return y_pred.argmax(axis=-1)
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"形状不匹配 (shape mismatch)：{who} 的预测形状为 {y_pred.shape}，标签形状为 {y_true.shape}。"
            "预测应与标签同形状（类别标签），或多出最后一维（logits，形状 (..., C)）。")
    if y_pred.dtype.kind == "f" and not np.all(np.mod(y_pred, 1) == 0):
        raise ValueError(
            f"{who} 的预测与标签同形状，应是类别标签（整数），但其中有非整数值，如 "
            f"{y_pred[np.mod(y_pred, 1) != 0][:3].tolist()}。提示：多分类 logits 用 (N, C) 形状传入；"
            "二分类概率请先写 (p > 0.5)。")
    return y_pred


def accuracy(pred_or_logits, target):
    """准确率 (accuracy)：预测正确的样本所占比例。

    参数:
        pred_or_logits: 类别标签，形状与 target 相同，如 ``(N,)``；或 logits / 概率，形状 ``(N, C)``
            （或 ``(B, T, C)`` 对 ``(B, T)``），自动在最后一维取 argmax。
        target: 真实类别，形状 ``(N,)`` 或 ``(B, T)``。

    返回:
        ``float``，∈ [0, 1]。

    例::

        >>> accuracy(tg.tensor([[2.0, 0.1], [0.3, 0.9]]), tg.tensor([0, 0]))
        0.5
    """
    pred, target = _host(pred_or_logits, "pred_or_logits"), _host(target, "target")
    if target.ndim > pred.ndim:
        raise ValueError(f"accuracy 的参数顺序是 (预测, 标签)，但标签 {target.shape} 比预测 {pred.shape} 维数还多。"
                         "提示：accuracy(logits, y)。")
    pred = _as_labels(pred, target, "accuracy")
    if target.size == 0:
        raise ValueError("accuracy 收到了空的标签 (empty target)。")
    return float(np.mean(pred == target))


def _labels_and_counts(y_true, y_pred, labels, who):
    t, p = _host(y_true, "y_true"), _host(y_pred, "y_pred")
    p = _as_labels(p, t, who).reshape(-1)
    t = t.reshape(-1)
    if t.size == 0:
        raise ValueError(f"{who} 收到了空的标签 (empty y_true)。")
    if labels is None:
        labels = np.union1d(t, p)  # 与 scikit-learn 相同：真实或预测中出现过的所有类别，排好序
    labels = np.asarray(labels)
    k = len(labels)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]

    def position(v):  # 每个样本的类别在 labels 里的位置；不在 labels 里的样本不计入
        pos = np.clip(np.searchsorted(sorted_labels, v), 0, max(k - 1, 0))
        return order[pos] if k else pos, (sorted_labels[pos] == v) if k else np.zeros(v.shape, bool)

    ti, t_in = position(t)
    pi, p_in = position(p)
    tp = np.bincount(ti[t_in & (t == p)], minlength=k)
    n_pred = np.bincount(pi[p_in], minlength=k)
    n_true = np.bincount(ti[t_in], minlength=k)
    return labels, tp, n_pred, n_true


def _div(num, den):
    """逐元素 num / den，分母为 0 处给 0（除零约定，见模块说明）。"""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def _prf(y_true, y_pred, average, pos_label, labels, which, who):
    if average not in ("binary", "macro", "micro", None):
        raise ValueError(f"{who} 的 average 只能是 'binary'、'macro'、'micro' 或 None，得到 {average!r}。")
    if average == "binary":
        t, p = _host(y_true, "y_true"), _host(y_pred, "y_pred")
        present = np.union1d(t.reshape(-1), _as_labels(p, t, who).reshape(-1))
        if len(present) > 2:
            raise ValueError(
                f"{who}：average='binary' 只用于二分类，但标签里出现了 {len(present)} 个类别 {present[:10].tolist()}。"
                "提示：多分类请用 average='macro' 或 'micro'。")
        if len(present) == 2 and pos_label not in present.tolist():
            raise ValueError(f"{who}：pos_label={pos_label!r} 不在标签 {present.tolist()} 里。")
        labels = [pos_label]
    labels, tp, n_pred, n_true = _labels_and_counts(y_true, y_pred, labels, who)
    if average == "micro":
        tp, n_pred, n_true = tp.sum(), n_pred.sum(), n_true.sum()
    if which == "precision":
        score = _div(tp, n_pred)
    elif which == "recall":
        score = _div(tp, n_true)
    else:  # F1 = 2TP / (2TP + FP + FN)，而 FP + FN = (n_pred − TP) + (n_true − TP)
        score = _div(2 * tp, n_pred + n_true)
    if average is None:
        return score
    return float(np.mean(score))


_PRF_DOC = """{title}

    参数:
        y_true: 真实类别，形状 ``(N,)``。
        y_pred: 预测类别 ``(N,)``，或 logits ``(N, C)``（自动取 argmax）。
        average: ``"binary"``（默认）：只算 ``pos_label`` 这一类，要求至多两个类别；
            ``"macro"``：每类各算一个值再简单平均（每类同等重要）；
            ``"micro"``：把所有类的 TP / FP / FN 加起来再算（单标签多分类时就等于准确率）；
            ``None``：返回每类的值（NumPy 数组，按 labels 的顺序）。
        pos_label: 二分类时的正类，默认 1。
        labels: 参与计算的类别；默认是 y_true 与 y_pred 中出现过的所有类别（排好序）。

    返回:
        ``float``（``average=None`` 时是形状 ``(K,)`` 的数组）。分母为 0 时记 0，不警告。

    例::

        >>> {name}([0, 1, 1, 0], [0, 1, 0, 0])
        {example}
"""


def precision(y_true, y_pred, average="binary", pos_label=1, labels=None):
    return _prf(y_true, y_pred, average, pos_label, labels, "precision", "precision")


def recall(y_true, y_pred, average="binary", pos_label=1, labels=None):
    return _prf(y_true, y_pred, average, pos_label, labels, "recall", "recall")


def f1_score(y_true, y_pred, average="binary", pos_label=1, labels=None):
    return _prf(y_true, y_pred, average, pos_label, labels, "f1", "f1_score")


precision.__doc__ = _PRF_DOC.format(title="精确率 (precision) = TP / (TP + FP)：预测为正的样本里真为正的比例。",
                                    name="precision", example="1.0")
recall.__doc__ = _PRF_DOC.format(title="召回率 (recall) = TP / (TP + FN)：真为正的样本里被预测为正的比例。",
                                 name="recall", example="0.5")
f1_score.__doc__ = _PRF_DOC.format(title="F1 分数 = 2·TP / (2·TP + FP + FN)：精确率与召回率的调和平均。",
                                   name="f1_score", example="0.6666666666666666")


def confusion_matrix(y_true, y_pred, num_classes=None):
    """混淆矩阵 (confusion matrix)：``C[i, j]`` = 真实类别为 i、被预测为 j 的样本数。

    行是真实类别，列是预测类别（与 scikit-learn 相同）；对角线是预测正确的样本。

    参数:
        y_true: 真实类别，整数，形状 ``(N,)``，取值 0..K−1。
        y_pred: 预测类别 ``(N,)``，或 logits ``(N, C)``（自动取 argmax）。
        num_classes: 类别数 K；省略时取 ``max(y_true, y_pred) + 1``。这样下标总是类别号本身
            （scikit-learn 只列出出现过的类别，某类完全没出现时矩阵会变小；要一致请传 num_classes）。

    返回:
        int64 NumPy 数组，形状 ``(K, K)``。

    例::

        >>> confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1])
        array([[1, 0, 0],
               [0, 0, 1],
               [0, 1, 1]])
    """
    t = _host(y_true, "y_true")
    p = _as_labels(_host(y_pred, "y_pred"), t, "confusion_matrix").reshape(-1)
    t = t.reshape(-1)
    for name, v in (("y_true", t), ("y_pred", p)):
        if v.size and (v.dtype.kind not in "iuf" or np.any(v < 0) or np.any(np.mod(v, 1) != 0)):
            raise ValueError(f"confusion_matrix 的 {name} 必须是非负整数类别号，得到 {np.unique(v)[:10].tolist()}。")
    t, p = t.astype(np.int64), p.astype(np.int64)
    k = int(max(t.max(initial=-1), p.max(initial=-1))) + 1 if num_classes is None else int(num_classes)
    if t.size and max(t.max(), p.max()) >= k:
        raise ValueError(f"confusion_matrix：num_classes={k}，但标签里出现了类别 {int(max(t.max(), p.max()))}。")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def perplexity(mean_cross_entropy):
    """困惑度 (perplexity) = exp(平均交叉熵)，交叉熵以自然对数 (nats) 计。

    直观含义：模型平均在多少个词元之间“犹豫”。完全随机地猜 V 个词元时交叉熵是 ln V，困惑度是 V。

    参数:
        mean_cross_entropy: 每个词元的平均交叉熵（nats），Python 数或 0 维张量（如 ``F.cross_entropy`` 的结果）。

    返回:
        ``float``（溢出时为 ``inf``）。

    例::

        >>> round(perplexity(math.log(4689)))   # 均匀地猜 4689 个字符
        4689
    """
    x = _host(mean_cross_entropy, "mean_cross_entropy")
    if x.size != 1:
        raise ValueError(f"perplexity 需要一个数（平均交叉熵），得到形状 {x.shape}。提示：先 .mean()。")
    x = float(x.reshape(()))
    if x < 0:
        raise ValueError(f"交叉熵不可能为负，得到 {x}。提示：传入的应是损失本身，而不是对数概率。")
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf
