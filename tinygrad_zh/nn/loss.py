"""损失函数 (loss function) 层：MSELoss、L1Loss、CrossEntropyLoss、NLLLoss、BCELoss、BCEWithLogitsLoss。

调用方式 ``criterion(input, target)``，与 PyTorch 相同：先写模型的输出，再写目标。
``reduction`` 决定怎样把逐个样本的损失合成一个数：'mean'（平均，默认）、'sum'（求和）、'none'（不合并）。
"""

from __future__ import annotations

from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        F._check_reduction(reduction)  # 构造时就报错，不等到第一次调用
        self.reduction = reduction


class MSELoss(_Loss):
    """均方误差 (mean squared error)：ℓ = mean((input − target)²)。注意没有 ½ 系数（同 PyTorch）。

    形状: input 与 target 同形 ``(*)``；reduction='none' 时输出同形，否则为标量。

    例::

        >>> nn.MSELoss()(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]))
        tensor(2.)
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """平均绝对误差：ℓ = mean(|input − target|)。对离群点没有 MSE 那么敏感。

    例::

        >>> nn.L1Loss()(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]))
        tensor(1.)
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """交叉熵损失 (cross-entropy)：ℓ = −w[target]·log softmax(input)[target]，对未被忽略的样本取（加权）平均。

    input 是 logits（未规范化的对数概率），**不要**先做 softmax：log_softmax 已融合在里面，数值稳定。
    target 也可以是与 input 同形的浮点张量：每类的概率（软标签 (soft label)），见 ``F.cross_entropy``。

    参数:
        weight: 每类的权重，形状 (C,)，或 None（都为 1）。登记为缓冲区 (buffer)：随 ``.to(device)`` 移动、存进 state_dict。
        ignore_index: target 等于它的位置不计入损失（如填充词元）。
        reduction: 'mean' | 'sum' | 'none'；'mean' 除以没被忽略的样本的权重之和（同 PyTorch）。
        label_smoothing: ε ∈ [0, 1]，目标分布变成 (1 − ε)·onehot + ε / C。
    形状:
        input ``(N, C)`` 或 ``(N, C, d1, …)``，target ``(N,)`` 或 ``(N, d1, …)`` 的整数类别下标，或与 input 同形的概率。

    例::

        >>> criterion = nn.CrossEntropyLoss()
        >>> loss = criterion(tg.randn(4, 3), tg.tensor([0, 2, 1, 0]))
        >>> weighted = nn.CrossEntropyLoss(weight=tg.tensor([1.0, 1.0, 5.0]))   # 第 2 类少见，给大权重
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing 必须在 [0, 1] 之间，得到 {label_smoothing}。")
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """负对数似然 (negative log-likelihood)：ℓ = −input[target]，input 是 log 概率（如 log_softmax 的输出）。

    ``NLLLoss(log_softmax(x, 1), y)`` 与 ``CrossEntropyLoss(x, y)`` 相同。

    参数:
        ignore_index: target 等于它的位置不计入损失。
        reduction: 'mean' | 'sum' | 'none'。
    形状:
        input ``(N, C)``，target ``(N,)``。
    """

    def __init__(self, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, ignore_index=self.ignore_index, reduction=self.reduction)


class BCELoss(_Loss):
    """二元交叉熵：ℓ = −[t·log p + (1 − t)·log(1 − p)]，input p 是 (0, 1) 内的概率（如 sigmoid 的输出）。

    形状: input 与 target 同形 ``(*)``。对 logits 请用 ``BCEWithLogitsLoss``，更稳定。
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """带 logits 的二元交叉熵：等于 ``BCELoss(sigmoid(input), target)``，但把 sigmoid 融合进来，数值稳定。

    形状: input（logits）与 target（0 到 1 之间的数）同形 ``(*)``。

    例::

        >>> nn.BCEWithLogitsLoss()(tg.tensor([0.0]), tg.tensor([1.0]))   # −log σ(0) = log 2
        tensor(0.6931)
    """

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, reduction=self.reduction)
