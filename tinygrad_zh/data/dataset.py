"""数据集 (dataset)：按下标取出一个样本的对象，与 ``torch.utils.data`` 同名同义。

- ``Dataset``：基类，子类实现 ``__getitem__(i)`` 与 ``__len__()``；
- ``TensorDataset(*tensors)``：几个第 0 维等长的张量，第 i 个样本是 ``(t0[i], t1[i], ...)``；
- ``Subset(dataset, indices)``：只看 ``indices`` 里的那些样本；
- ``random_split(dataset, lengths)``：随机划分成训练集 / 验证集 / 测试集。
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..creation import default_generator, tensor
from ..tensor import Tensor


class Dataset:
    """数据集基类：子类实现 ``__getitem__(index)``（返回一个样本）和 ``__len__()``（样本个数）。

    例::

        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 10
        ...     def __getitem__(self, i):
        ...         return float(i), float(i * i)      # (特征, 标签)
        >>> DataLoader(Squares(), batch_size=4)        # 每批得到两个形状为 (4,) 的张量
    """

    def __getitem__(self, index):  # abstract：子类实现
        msg = f"{type(self).__name__} 需要实现 __getitem__(index)：返回第 index 个样本。"
        raise NotImplementedError(msg)  # abstract

    def __len__(self):  # abstract：子类实现
        raise NotImplementedError(f"{type(self).__name__} 需要实现 __len__()：返回样本个数。")  # abstract


def _as_tensor(x):
    """TensorDataset 的输入：张量原样保留；数组不复制地包成张量；列表等交给 tg.tensor（int→int64，float→float32）。"""
    if isinstance(x, Tensor):
        return x
    if backend.is_array(x):
        return Tensor(x)
    return tensor(x)


class TensorDataset(Dataset):
    """把几个第 0 维等长的张量（或数组）打包成数据集：第 i 个样本是 ``(t[i] for t in tensors)``。

    DataLoader 对它有快速路径：一次用整批下标索引，而不是逐个样本循环。

    参数:
        *tensors: 张量或数组，形状 ``(N, ...)``，N 必须相同。NumPy 数组不复制、保持 dtype。

    例::

        >>> X, y = tg.randn(100, 2), tg.randint(0, 3, (100,))
        >>> ds = TensorDataset(X, y)
        >>> len(ds), ds[0][0].shape
        (100, (2,))
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset 至少需要一个张量。")
        tensors = tuple(_as_tensor(t) for t in tensors)
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise ValueError(f"TensorDataset 的第 {i} 个张量是 0 维的 (0-d)：每个张量至少要有一维（样本维）。")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ValueError(
                f"大小不匹配 (size mismatch)：TensorDataset 的各个张量第 0 维（样本数）必须相同，"
                f"得到形状 {shapes}。提示：检查特征 X 与标签 y 是否一一对应。")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """数据集的一个子集：第 i 个样本是 ``dataset[indices[i]]``。

    参数:
        dataset: 原数据集。
        indices: 整数下标序列（列表或一维数组），形状 ``(M,)``。
    """

    def __init__(self, dataset, indices):
        idx = np.asarray(backend.to_numpy(indices.data) if isinstance(indices, Tensor) else indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise TypeError(f"Subset 的 indices 必须是一维整数序列，得到 dtype={idx.dtype}、形状 {idx.shape}。")
        n = len(dataset)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"索引越界 (index out of range)：数据集有 {n} 个样本，indices 的范围是 "
                             f"[{idx.min()}, {idx.max()}]。")
        self.dataset = dataset
        self.indices = idx.astype(np.int64) % max(n, 1)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[int(i)] for i in self.indices[index]]
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)


def _split_lengths(n, lengths):
    """把 lengths 规范成整数列表：整数原样；和为 1 的比例按 PyTorch 的规则取整，余数依次加到前面几份。"""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split 的 lengths 不能为空。")
    all_int = all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in lengths)
    if not all_int:
        fracs = [float(x) for x in lengths]
        if any(not 0.0 <= f <= 1.0 for f in fracs) or not math.isclose(sum(fracs), 1.0, abs_tol=1e-6):
            raise ValueError(
                f"random_split 的 lengths 要么全是整数（和等于数据集大小 {n}），要么全是 [0, 1] 之间、"
                f"和为 1 的比例 (fractions)，得到 {lengths}。")
        sizes = [int(math.floor(n * f)) for f in fracs]
        for i in range(n - sum(sizes)):  # 余数轮流分给前面几份（同 PyTorch）
            sizes[i % len(sizes)] += 1
        return sizes
    sizes = [int(x) for x in lengths]
    if any(s < 0 for s in sizes) or sum(sizes) != n:
        raise ValueError(
            f"random_split 的各份长度之和 (sum of lengths) 必须等于数据集大小 {n}，且不能为负，"
            f"得到 {sizes}（和为 {sum(sizes)}）。提示：也可以写比例，如 [0.8, 0.2]。")
    return sizes


def random_split(dataset, lengths, generator=None):
    """把数据集随机划分成互不重叠的几份 ``Subset``（同 ``torch.utils.data.random_split``）。

    参数:
        dataset: 要划分的数据集，大小 N。
        lengths: 每份的大小：整数（和为 N），或比例（和为 1，如 ``[0.8, 0.2]``；
            ``floor(N·比例)`` 之后剩下的样本依次分给前面几份）。
        generator: ``tg.Generator``；省略时用全局生成器（``tg.manual_seed`` 设定）。

    返回:
        ``list[Subset]``，长度与 lengths 相同。

    例::

        >>> train, val = random_split(ds, [0.8, 0.2], generator=tg.Generator().manual_seed(0))
    """
    n = len(dataset)
    sizes = _split_lengths(n, lengths)
    perm = (generator or default_generator).numpy.permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
