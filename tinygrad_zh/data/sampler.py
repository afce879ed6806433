"""采样器 (sampler)：决定 DataLoader 按什么顺序取哪些样本。

``DistributedSampler`` 让 N 个进程各取数据集里不重叠的 1/N（同 ``torch.utils.data.DistributedSampler``）::

    >>> sampler = DistributedSampler(dataset, num_replicas=2, rank=0, shuffle=True, seed=0)
    >>> loader = DataLoader(dataset, batch_size=16, sampler=sampler)   # 每个进程每批 16 个，合起来 32 个
    >>> for epoch in range(3):
    ...     sampler.set_epoch(epoch)       # 每轮换一种打乱方式；各进程用同一个种子，所以仍然互不重叠
    ...     for xb, yb in loader: ...
"""

from __future__ import annotations

import numbers

import numpy as np

from ..distributed import process_group


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} 必须是 ≥ {low} 的整数，得到 {value!r}。")
    return int(value)


class DistributedSampler:
    """把数据集的下标分给 N 个进程：先（按 seed + epoch）打乱，再让第 r 个进程取第 r、r+N、r+2N…… 个。

    参数:
        dataset: 数据集（只用到 ``len(dataset)``）。
        num_replicas: 进程数 N；省略时取 ``dist.get_world_size()``。
        rank: 本进程的编号；省略时取 ``dist.get_rank()``。
        shuffle: 是否打乱。各进程用**同一个**种子打乱，所以切出来的几份互不重叠、合起来是整个数据集。
        seed: 打乱用的种子；每轮 (epoch) 用 ``seed + epoch``。
        drop_last: 数据集大小不能被 N 整除时，True 丢掉末尾多出的样本；False（默认）从开头补几个重复的，
            让每个进程的样本数相同（数据并行要求各进程步数相同，否则少的那个进程先结束，别的进程一直等它）。

    ``len(sampler)`` 是本进程分到的样本数：drop_last 时 ⌊n/N⌋，否则 ⌈n/N⌉。
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            num_replicas = process_group.get_world_size()
        if rank is None:
            rank = process_group.get_rank()
        self.num_replicas = _check_int("num_replicas", num_replicas, 1)
        self.rank = _check_int("rank", rank, 0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"rank 应在 0 … {self.num_replicas - 1} 之间（num_replicas={self.num_replicas}），得到 {rank}。")
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.seed = _check_int("seed", seed, 0)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        self.num_samples = n // self.num_replicas if self.drop_last else -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """设定轮次：每轮开始时调用，打乱方式随轮次变化（所有进程要传同一个数）。"""
        self.epoch = _check_int("epoch", epoch, 0)

    def indices(self):
        """本进程这一轮的样本下标（NumPy 整数数组）。"""
        n = len(self.dataset)
        order = np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle else np.arange(n)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:   # 补齐：从开头再取几个（数据集比进程数还少时重复多遍）
            order = np.resize(order, self.total_size)
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples

    def __repr__(self):
        return (f"DistributedSampler(rank={self.rank}, num_replicas={self.num_replicas}, 样本数={self.num_samples}, "
                f"shuffle={self.shuffle}, seed={self.seed}, epoch={self.epoch})")
