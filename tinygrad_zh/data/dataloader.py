"""数据加载器 (DataLoader)：把数据集切成小批量 (minibatch)，可打乱顺序，并把每批放到指定设备上。

与 ``torch.utils.data.DataLoader`` 同名同义（不支持多进程 num_workers）。

两条路径：
- **快速路径**：数据集是 ``TensorDataset``（或它的 ``Subset``，如 ``random_split`` 的结果）且没有自定义
  ``collate_fn`` 时，一批只做一次“花式索引”（fancy indexing）``t[idx]``，没有逐样本的 Python 循环；
- **一般路径**：逐个取样本，再用 ``default_collate`` 把它们堆叠成张量。
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..creation import default_generator, tensor
from ..tensor import Tensor, stack
from .dataset import Subset, TensorDataset


def _move(batch, device):
    """把张量（或元组 / 列表 / 字典里的张量）搬到 device 上；其他东西原样保留。device 为 None 时不动。"""
    if device is None:
        return batch
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_move(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _move(v, device) for k, v in batch.items()}
    return batch


def default_collate(batch, device=None):
    """把一个列表的样本合成一批（同 PyTorch 的 default_collate）。

    规则（递归）:
        - 张量 → ``stack``，形状 ``(B, ...)``，dtype 不变；
        - NumPy 数组 → 堆叠成张量，dtype 不变（float64 仍是 float64）；
        - Python 数 → 张量：bool→bool，int→int64，float→float32（与 ``tg.tensor`` 相同）；
          NumPy 标量保持自己的 dtype；
        - 元组 / 列表 → 逐字段合并，返回元组；字典 → 同键合并，返回字典；
        - 字符串 → 原样组成列表（文本留给分词器处理）。

    参数:
        batch: 长度为 B 的样本列表。
        device: 结果放到哪个设备；None 表示留在原处（数字与 NumPy 数组在 CPU 上）。

    例::

        >>> default_collate([(1.0, 0), (2.0, 1)])
        (tensor([1., 2.]), tensor([0, 1]))
    """
    if not batch:
        raise ValueError("default_collate 收到了空批次 (empty batch)。")
    elem = batch[0]
    if isinstance(elem, Tensor):
        dev = elem.device
        xp = backend.get_array_module(elem.data)
        arrays = []
        for s in batch:
            if not isinstance(s, Tensor) or s.device != dev or s.shape != elem.shape:
                got = f"{type(s).__name__}{getattr(s, 'shape', '')}"
                raise RuntimeError(f"default_collate：同一字段的样本必须是同设备、同形状的张量，"
                                   f"第一个是 {elem.shape}@{dev}，又遇到 {got}。")
            arrays.append(s.data)
        if any(s.requires_grad for s in batch):  # 样本在计算图里：走可微的 stack
            return _move(stack(batch), device)
        return _move(Tensor(xp.stack(arrays)), device)
    if backend.is_array(elem):
        xp = backend.get_array_module(elem)
        try:
            stacked = xp.stack(list(batch))
        except (ValueError, TypeError) as e:
            raise RuntimeError(f"default_collate：无法堆叠这些数组（形状或设备不一致）：{e}") from None
        return _move(Tensor(stacked), device)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, np.generic):
        return tensor(np.array(batch), device=device)  # NumPy 标量保持自己的 dtype
    if isinstance(elem, numbers.Number):
        return tensor(batch, device=device)  # tg.tensor 的规则：bool→bool, int→int64, float→float32
    if isinstance(elem, dict):
        return {k: default_collate([s[k] for s in batch], device) for k in elem}
    if isinstance(elem, (tuple, list)):
        n = len(elem)
        if any(len(s) != n for s in batch):
            raise RuntimeError(f"default_collate：样本的字段数不一致（第一个样本有 {n} 个字段）。")
        return tuple(default_collate([s[i] for s in batch], device) for i in range(n))
    raise TypeError(f"default_collate 不认识类型 {type(elem).__name__}。可以处理：张量、NumPy 数组、数、字符串、"
                    "元组 / 列表、字典。提示：传入自己的 collate_fn。")


def _tensor_source(dataset):
    """若数据集是 TensorDataset（或套了几层 Subset 的 TensorDataset），返回 (tensors, 下标映射)；否则 None。"""
    index_map = None
    while isinstance(dataset, Subset):
        index_map = dataset.indices if index_map is None else dataset.indices[index_map]
        dataset = dataset.dataset
    if isinstance(dataset, TensorDataset):
        return dataset.tensors, index_map
    return None


class DataLoader:
    """按小批量遍历数据集。

    参数:
        dataset: 数据集（实现 ``__getitem__`` 与 ``__len__``），大小 N。
        batch_size: 每批样本数 B。
        shuffle: 每轮 (epoch) 开始时是否打乱顺序。
        drop_last: N 不能被 B 整除时，是否丢掉最后那个不满的批次。
        generator: 打乱用的 ``tg.Generator``；省略时用全局生成器，所以 ``tg.manual_seed(0)`` 之后结果可复现。
        collate_fn: 把样本列表合成一批的函数，默认 ``default_collate``（例如文本要先补齐长度时自己写一个）。
        device: 每批放到哪个设备（"cpu" / "cuda"）；None 表示留在数据原来的设备上。
            自定义 collate_fn 返回的张量（及元组 / 列表 / 字典里的张量）也会被搬过去。
        sampler: 给出样本下标顺序的可迭代对象（有 ``len``），如数据并行时的 ``DistributedSampler``；
            与 ``shuffle=True`` 不能同时用（打乱交给采样器）。

    返回（迭代时）:
        每批一个元组 ``(X_batch, y_batch, ...)``，形状 ``(B, ...)``；``len(loader)`` 是批次数。

    例::

        >>> ds = TensorDataset(tg.randn(10, 3), tg.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=tg.Generator().manual_seed(0))
        >>> len(loader)                    # ceil(10 / 4)
        3
        >>> [xb.shape for xb, yb in loader]
        [(4, 3), (4, 3), (2, 3)]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None,
                 collate_fn=None, device=None, sampler=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"batch_size 必须是正整数，得到 {batch_size!r}。")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.device = None if device is None else backend.normalize_device(device)
        if sampler is not None and self.shuffle:
            raise ValueError("sampler 与 shuffle=True 不能同时使用 (sampler option is mutually exclusive with shuffle)。"
                             "提示：打乱交给采样器，如 DistributedSampler(dataset, shuffle=True)。")
        self.sampler = sampler

    def __len__(self):
        n, b = len(self.dataset) if self.sampler is None else len(self.sampler), self.batch_size
        return n // b if self.drop_last else (n + b - 1) // b

    def _order(self):
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64, count=len(self.sampler))
        n = len(self.dataset)
        return (self.generator or default_generator).numpy.permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self):
        order = self._order()
        bounds = range(0, len(self) * self.batch_size, self.batch_size)
        source = _tensor_source(self.dataset) if self.collate_fn is None else None
        if source is not None:
            yield from self._fast_batches(order, bounds, *source)
            return
        for start in bounds:
            samples = [self.dataset[int(i)] for i in order[start:start + self.batch_size]]
            if self.collate_fn is None:
                yield default_collate(samples, self.device)
            else:
                yield _move(self.collate_fn(samples), self.device)

    def _fast_batches(self, order, bounds, tensors, index_map):
        """TensorDataset 的快速路径：整批下标一次性索引，每个设备只搬一次下标数组。"""
        if index_map is not None:
            order = index_map[order]
        order_on = {}
        for start in bounds:
            batch = []
            for t in tensors:
                dev = t.device
                if dev not in order_on:
                    order_on[dev] = backend.to_device(order, dev)
                idx = order_on[dev][start:start + self.batch_size]
                part = t[idx] if t.requires_grad else Tensor(t.data[idx])
                batch.append(_move(part, self.device))
            yield tuple(batch)

    def __repr__(self):
        return (f"DataLoader(样本数={len(self.dataset)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, 批次数={len(self)})")
