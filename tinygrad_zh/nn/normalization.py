"""规范化层：LayerNorm（层规范化）与 BatchNorm1d、BatchNorm2d（批量规范化）。

两者都是“减均值、除标准差、再仿射变换”，区别在统计量沿哪个方向求：LayerNorm 沿每个样本的最后几维，
BatchNorm 沿批量（每个通道一组，训练时还要维护滑动平均）。计算都交给 ``F.layer_norm`` / ``F.batch_norm``。
参数与缓冲区 (buffer) 的名字、形状、默认初始化与 ``repr`` 都与 PyTorch 相同，所以 ``state_dict`` 可以互相加载。
"""

from __future__ import annotations

import numpy as np

from .. import creation, dtypes
from ..autograd import no_grad
from . import functional as F, init
from .module import Module, Parameter


class LayerNorm(Module):
    """层规范化（LayerNorm，亦称层归一化）：在最后几个维度上减均值、除标准差，再做仿射变换。

    y = (x − E[x]) / √(Var[x] + eps) · weight + bias，E 与 Var 取自最后 len(normalized_shape) 个维度
    （Var 为有偏估计，除以 n）。weight 初值为 1，bias 初值为 0。

    参数:
        normalized_shape: 要规范化的尾部形状，如 ``C`` 或 ``(T, C)``。
        eps: 加在方差上的小数，防止除以 0。
        elementwise_affine: 是否有可学习的 weight（以及 bias）。
        bias: elementwise_affine 时是否有 bias。
    形状:
        输入 ``(*, *normalized_shape)`` → 输出同形。

    例::

        >>> ln = nn.LayerNorm(4)
        >>> y = ln(tg.randn(2, 3, 4))      # 每个长度为 4 的向量均值≈0、方差≈1
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.ones(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(creation.zeros(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class _BatchNorm(Module):
    """BatchNorm1d / BatchNorm2d 的共同部分：参数、缓冲区、训练与评估两种模式。

    训练模式 (``model.train()``)：用这一批的统计量规范化，并更新滑动平均 running_mean / running_var
    （momentum 为数时 running ← (1 − momentum)·running + momentum·batch；momentum=None 时取累积平均，
    系数为 1/num_batches_tracked）。评估模式 (``model.eval()``)：用滑动平均，输出不再依赖同批的其他样本。
    track_running_stats=False 时没有这三个缓冲区，两种模式都用批量统计量。
    """

    _expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = int(num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(creation.ones(self.num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(creation.zeros(self.num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(self.num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", creation.ones(self.num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=dtypes.int64, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        """滑动平均回到初值：均值 0、方差 1、计数 0。"""
        if self.track_running_stats:
            with no_grad():
                init.zeros_(self.running_mean)
                init.ones_(self.running_var)
                init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input):
        if input.ndim not in self._expected_dims:
            want = " 或 ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(f"{type(self).__name__} 需要 {want} 的输入 (expected {want} input)，"
                             f"得到 {input.ndim}D，input.shape={input.shape}。")

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.data += 1
            if self.momentum is None:  # 累积平均：第 t 批的权重是 1/t，于是 running 恰为前 t 批的平均
                factor = 1.0 / float(self.num_batches_tracked.item())
        # 评估模式也可能没有滑动平均（track_running_stats=False）：那就仍用批量统计量
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")

    # ---- 加载缺少 num_batches_tracked 的旧 state_dict
    def _upgrade_state_dict(self, state_dict, prefix=""):
        """PyTorch 0.4.1 之前的 BatchNorm 没有 num_batches_tracked：缺这个键时沿用当前的计数（同 PyTorch）。

        在 ``state_dict``（可变字典）里补上这个键，返回 None。``Module.load_state_dict`` 对每个子模块调用
        这个钩子，所以嵌套在别的模块里的 BatchNorm 也能加载这样的旧字典。
        """
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and self.num_batches_tracked is not None and key not in state_dict:
            state_dict[key] = np.array(int(self.num_batches_tracked.item()), dtype=np.int64)


class BatchNorm1d(_BatchNorm):
    """一维批量规范化（BatchNorm）：输入 (N, C) 或 (N, C, L)，每个通道 c 在 N（与 L）上求统计量。

    y = (x − E[x]) / √(Var[x] + eps) · γ + β；γ（weight）初值 1，β（bias）初值 0。
    与层规范化 (LayerNorm) 的区别：BatchNorm 沿批量方向求统计量（每个通道一组），LayerNorm 沿特征方向（每个样本一组）。

    参数:
        num_features: 通道数 C
        eps: 加在方差上的小数；momentum: 滑动平均系数（None 表示累积平均）
        affine: 是否有可学习的 γ、β；track_running_stats: 是否维护滑动平均
        bias: affine 时是否有 β（仅关键字参数）
    形状:
        (N, C) 或 (N, C, L) → 同形

    例::

        >>> bn = nn.BatchNorm1d(4)
        >>> y = bn(tg.randn(8, 4))          # 训练模式：批量统计量，并更新 running_mean / running_var
        >>> y = bn.eval()(tg.randn(2, 4))   # 评估模式：用滑动平均
    """

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """二维批量规范化（BatchNorm）：输入 (N, C, H, W)，每个通道 c 在 N、H、W 上求统计量。

    参数与 BatchNorm1d 相同。卷积网络里常放在卷积层之后、激活函数之前。

    形状:
        (N, C, H, W) → 同形

    例::

        >>> bn = nn.BatchNorm2d(16)
        >>> bn(tg.randn(4, 16, 8, 8)).shape
        (4, 16, 8, 8)
        >>> bn
        BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    _expected_dims = (4,)
