"""张量的归约、形状与选择方法（从 tensor.py 分出来，保持每个文件一个概念）。

``Tensor`` 继承这里的三个混入类 (mixin)：``ReductionMethods``（sum、mean、max、softmax…）、
``ShapeMethods``（reshape、transpose、索引、split…）与 ``SelectionMethods``（clamp、masked_fill、where）。
它们只整理参数、检查维度，真正的计算交给 ops/ 里的 Function。
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import backend, dtypes
from .ops import elementwise as E, movement as M, reduce as R

MaxMin = namedtuple("MaxMin", ["values", "indices"])  # 同 torch.return_types.max


def _shape_arg(shape):
    """``reshape(2, 3)`` 与 ``reshape((2, 3))`` 两种写法都接受。"""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _tensor_class():
    from .tensor import Tensor  # tensor.py 导入本模块，所以在用到时才取
    return Tensor


def _wrap(arr):
    """不可微的结果（下标、布尔值）包成普通张量。"""
    return _tensor_class()._make(arr, False)


class ReductionMethods:
    """归约：沿某些维度把很多数变成一个数。"""
    __slots__ = ()
    def sum(self, dim=None, keepdim=False):
        return R.Sum.apply(self, self._dims(dim), keepdim)

    def mean(self, dim=None, keepdim=False):
        if not dtypes.is_floating(self.dtype):
            raise RuntimeError(
                f"mean() 需要浮点张量，而这个张量是 {self.dtype}（同 PyTorch）。提示：先 .float()。")
        return R.Mean.apply(self, self._dims(dim), keepdim)

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        """方差；默认无偏 (unbiased，除以 n − 1)，与 PyTorch 相同。"""
        correction = (1 if unbiased else 0) if correction is None else correction
        return R.Var.apply(self._floating(), self._dims(dim), correction, keepdim)

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def _index_along(self, idx, d):
        """按 dim=d 上的下标数组 idx（形状 = 去掉第 d 维）取出元素，可微。"""
        xp = self.xp
        out_ndim = self.ndim - 1
        key = []
        for i, n in enumerate(self.shape):
            if i == d:
                key.append(idx)
                continue
            j = i if i < d else i - 1
            shape = [1] * out_ndim
            shape[j] = n
            key.append(xp.reshape(xp.arange(n), shape))
        return M.Getitem.apply(self, tuple(key))

    def _extremum(self, dim, keepdim, full_fn, arg):
        if dim is None:
            return full_fn.apply(self)
        d = self._dim(dim)
        if self.ndim == 0:
            return MaxMin(self, _wrap(self.xp.zeros((), dtype=np.int64)))
        idx = getattr(self.xp, arg)(self._data, axis=d)
        values = self._index_along(idx, d)
        indices = _wrap(idx)
        if keepdim:
            values, indices = values.unsqueeze(d), indices.unsqueeze(d)
        return MaxMin(values, indices)

    def max(self, dim=None, keepdim=False):
        """不给 dim：全局最大值（并列时梯度平分）。给 dim：返回 (values, indices)，梯度只给一个下标。"""
        return self._extremum(dim, keepdim, R.MaxAll, "argmax")

    def min(self, dim=None, keepdim=False):
        return self._extremum(dim, keepdim, R.MinAll, "argmin")

    def argmax(self, dim=None, keepdim=False):
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg("argmin", dim, keepdim)

    def _arg(self, name, dim, keepdim):
        xp = self.xp
        if dim is None:
            out = getattr(xp, name)(self._data)
            return _wrap(xp.reshape(out, (1,) * self.ndim) if keepdim else out)
        return _wrap(getattr(xp, name)(self._data, axis=self._dim(dim), keepdims=keepdim))

    def any(self):
        return _wrap(self.xp.any(self._data))

    def all(self):
        return _wrap(self.xp.all(self._data))

    def softmax(self, dim):
        return R.Softmax.apply(self._floating(), self._dim(dim))

    def log_softmax(self, dim):
        return R.LogSoftmax.apply(self._floating(), self._dim(dim))

    def logsumexp(self, dim, keepdim=False):
        return R.LogSumExp.apply(self._floating(), self._dim(dim), keepdim)


class ShapeMethods:
    """形状与索引：只改变元素的排列，不改变数值。"""
    __slots__ = ()
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        try:
            return M.Reshape.apply(self, shape)
        except ValueError:
            raise RuntimeError(
                f"形状不匹配 (shape mismatch)：无法把形状 {self.shape}（{self.numel()} 个元素）reshape 成 {shape}。"
            ) from None

    view = reshape

    def contiguous(self):
        """为兼容 PyTorch 的写法（``y.transpose(1, 2).contiguous().view(B, T, C)``）而保留，返回自身。

        PyTorch 的 ``view`` 要求内存连续；这里的 ``view`` 就是 ``reshape``，需要时会自己复制，所以不必先变连续。
        """
        return self

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute 需要 {self.ndim} 个维度，得到 {dims}（张量形状 {self.shape}）。")
        dims = tuple(self._dim(d) for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute 的维度 {dims} 不是 0..{self.ndim - 1} 的一个排列。")
        return M.Permute.apply(self, dims)

    def transpose(self, dim0, dim1):
        if self.ndim == 0:
            self._dim(dim0), self._dim(dim1)  # 只检查范围
            return M.Permute.apply(self, ())
        dims = list(range(self.ndim))
        d0, d1 = self._dim(dim0), self._dim(dim1)
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return M.Permute.apply(self, tuple(dims))

    @property
    def T(self):
        return M.Permute.apply(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def unsqueeze(self, dim):
        d = self._dim(dim, self.ndim + 1)
        shape = self.shape
        return M.Reshape.apply(self, shape[:d] + (1,) + shape[d:])

    def squeeze(self, dim=None):
        dims = self._dims(dim) if dim is not None else range(self.ndim)
        drop = {d for d in dims if self.shape[d] == 1}
        return M.Reshape.apply(self, tuple(s for i, s in enumerate(self.shape) if i not in drop))

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = self._dim(start_dim), self._dim(end_dim)
        if s > e:
            raise RuntimeError(f"flatten 的 start_dim ({start_dim}) 不能在 end_dim ({end_dim}) 之后。")
        shape = self.shape
        return M.Reshape.apply(self, shape[:s] + (-1,) + shape[e + 1:])

    def expand(self, *sizes):
        """广播到更大的形状（-1 表示该维不变），不复制数据。"""
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand 的目标维数 {len(sizes)} 少于张量的维数 {self.ndim}（shape={self.shape}）。")
        target = []
        for i, s in enumerate(sizes):
            cur = self.shape[i - lead] if i >= lead else None
            if s == -1:
                if cur is None:
                    raise RuntimeError(f"expand：新增的前导维不能是 -1，得到 {sizes}。")
                s = cur
            if cur is not None and cur != 1 and cur != s:
                raise RuntimeError(
                    f"形状不匹配 (shape mismatch)：无法把 {self.shape} expand 成 {sizes}：第 {i} 维 {cur} 既不是 1 也不等于 {s}。")
            target.append(s)
        return M.Expand.apply(self, tuple(target))

    def expand_as(self, other):
        return self.expand(other.shape)

    def __getitem__(self, key):
        key = self._index_key(key)
        try:
            return M.Getitem.apply(self, key)
        except IndexError as e:
            raise IndexError(f"索引越界 (index out of range)：张量形状为 {self.shape}，下标出错：{e}") from None

    def _index_key(self, key):
        xp = self.xp
        items = key if isinstance(key, tuple) else (key,)
        out = []
        for k in items:
            if isinstance(k, _tensor_class()):
                if k.device != self.device:
                    raise RuntimeError(f"设备不一致 (device mismatch)：下标在 '{k.device}' 上，张量在 '{self.device}' 上。")
                k = k._data
            elif isinstance(k, list):
                k = xp.asarray(k)
                if k.size == 0:
                    k = k.astype(np.int64)
            if backend.is_array(k) and k.dtype.kind not in "iub":
                raise IndexError(f"下标张量必须是整数或布尔类型，得到 {k.dtype}。")
            out.append(k)
        return tuple(out)

    def split(self, split_size_or_sections, dim=0):
        """沿 dim 切成若干块：整数表示每块大小（最后一块可以更小），列表表示各块大小。"""
        if self.ndim == 0:
            raise RuntimeError("split / chunk 需要至少一维的张量，而这是一个 0 维张量。")
        d = self._dim(dim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, int):
            step = split_size_or_sections
            if step <= 0:
                raise RuntimeError(f"split_size 必须为正数，得到 {step}。")
            sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise RuntimeError(f"split 的各块大小 {sizes} 之和为 {sum(sizes)}，但第 {d} 维的长度是 {n}。")
        lead = (slice(None),) * d
        out, start = [], 0
        for s in sizes:
            out.append(M.Getitem.apply(self, lead + (slice(start, start + s),)))
            start += s
        return tuple(out)

    def chunk(self, chunks, dim=0):
        if chunks <= 0:
            raise RuntimeError(f"chunks 必须为正数，得到 {chunks}。")
        n = self.shape[self._dim(dim)]
        if n == 0:
            return self.split([0] * chunks, dim)
        return self.split(-(-n // chunks), dim)


class SelectionMethods:
    """选择与截断：clamp、masked_fill、where（按条件从两处取值）。"""
    __slots__ = ()

    def clamp(self, min=None, max=None):
        """把元素截到 [min, max] 区间；min、max 可以是数或张量。"""
        if min is None and max is None:
            raise RuntimeError("clamp 至少需要 min 或 max 之一。")
        if isinstance(min, _tensor_class()) or isinstance(max, _tensor_class()):
            # 用 where 而不是 maximum / minimum：边界上梯度整份给 self（同 PyTorch），而不是平分
            from .creation import where
            out = self
            if min is not None:
                out = where(out < min, min, out)
            if max is not None:
                out = where(out > max, max, out)
            return out
        x = self
        if any(isinstance(v, float) for v in (min, max)) and not dtypes.is_floating(self.dtype):
            x = self.float()
        return E.Clamp.apply(x, min, max)

    clip = clamp

    def masked_fill(self, mask, value):
        """mask 为 True 的位置填上 value，其余保持不变；结果的 dtype 与 self 相同（同 PyTorch）。"""
        from .creation import where
        if isinstance(value, _tensor_class()):
            if value.numel() != 1 or value.requires_grad:
                return where(mask, value.to(dtype=self.dtype), self)
            value = value.item()
        value = (float(value) if dtypes.is_floating(self.dtype) else
                 bool(value) if self.dtype == dtypes.bool_ else int(value))
        return where(mask, value, self)

    def where(self, condition, other):
        from .creation import where
        return where(condition, self, other)

    def tril(self, diagonal=0):
        """下三角 (lower triangle)：最后两维里第 j > i + diagonal 的元素置 0（其余原样，梯度也原样传过）。"""
        return self._triangle(diagonal, lower=True)

    def triu(self, diagonal=0):
        """上三角 (upper triangle)：最后两维里第 j < i + diagonal 的元素置 0。"""
        return self._triangle(diagonal, lower=False)

    def _triangle(self, diagonal, lower):
        if self.ndim < 2:
            raise RuntimeError(f"{'tril' if lower else 'triu'} 需要至少二维的张量，得到形状 {self.shape}。")
        from .creation import where
        xp = self.xp
        n, m = self.shape[-2:]
        keep = xp.tril(xp.ones((n, m), dtype=bool), diagonal) if lower else xp.triu(xp.ones((n, m), dtype=bool), diagonal)
        return where(_tensor_class()._make(keep, False), self, 0)
