"""优化器 (optimizer) 与学习率调度器 (learning-rate scheduler)，名字与参数同 ``torch.optim``。

    >>> import tinygrad_zh.optim as optim
    >>> opt = optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    >>> sched = optim.lr_scheduler.WarmupCosineLR(opt, warmup_steps=100, total_steps=2000)

原文（seed）里动量法、Adam、AdaGrad、RMSprop 的公式有误，各优化器的文档字符串里给出了正确的公式。
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .regularization import l1_penalty, l2_penalty
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler", "l1_penalty", "l2_penalty"]
