"""分布式数据并行 (DistributedDataParallel, DDP)：每个进程一份完整的模型、一份不同的数据，梯度取平均。

用法与 ``torch.nn.parallel.DistributedDataParallel`` 相同::

    >>> dist.init_process_group("mpi")
    >>> model = DistributedDataParallel(GPT(config))   # 构造时把 0 号进程的参数广播给所有进程
    >>> _, loss = model(x_本进程的那一份, y_本进程的那一份)
    >>> loss.backward()                                # 反向传播的同时，梯度在进程之间求平均
    >>> optimizer.step()                               # 每个进程的梯度相同 → 更新相同 → 参数始终相同

为什么平均梯度就等于单进程在整个批量上训练：损失是批量上的平均 L = (1/B) Σ_b ℓ_b，N 个进程各拿 B/N 个样本，
各自的 L_r 是自己那份的平均，而 (1/N) Σ_r ∇L_r = (1/B) Σ_b ∇ℓ_b = ∇L。前提是每个进程的样本数相同。

梯度怎样在反向传播里被平均（``_Reducer``）:
    前向的入口给每个参数接一个恒等节点 ``_GradReady``（前向原样返回参数）。反向传播按拓扑序倒着走，
    这个节点排在用到这个参数的所有运算之后，所以轮到它时，这个参数的梯度已经**到齐**了：把它复制进所属
    “桶” (bucket) 的一段扁平缓冲区；一个桶的参数都到齐，就对整个桶做**一次** all-reduce（求平均），
    再把结果写回各参数的 ``.grad``。一个桶一次通信，而不是一个参数一次：每次通信都有固定的延迟，
    GPT 的几十个小参数（层规范化的 γ、β，偏置）合在一起只付一次。桶按参数的**倒序**装：
    反向传播先算出后面几层的梯度，装满的桶先通信，其余的层还在算（NCCL 上通信与计算真正重叠）。
"""

from __future__ import annotations

import contextlib

from .. import backend
from ..autograd import Function, is_grad_enabled, no_grad
from ..nn import Module
from ..tensor import Tensor
from .backends import DistributedError
from .process_group import ReduceOp, default_group

BUCKET_CAP_MB = 25   # 每个桶的大小上限（MiB），与 PyTorch 的默认值相同


class _GradReady(Function):
    """恒等：前向 y = w；反向时 w 的梯度已经到齐，交给 reducer（它负责写进 ``w.grad``），这里不再往回传。"""
    zh = "梯度到齐"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, weight, reducer=None, index=0):
        ctx.reducer, ctx.index = reducer, index
        return weight

    @staticmethod
    def backward(ctx, grad):
        ctx.reducer.grad_ready(ctx.index, grad)
        return None


class _Bucket:
    """同一设备、同一 dtype 的几个参数，梯度放在一段扁平缓冲区里一起通信。"""

    def __init__(self, device, dtype):
        self.device, self.dtype = device, dtype
        self.indices, self.offsets, self.numel = [], [], 0

    def add(self, index, numel):
        self.indices.append(index)
        self.offsets.append(self.numel)
        self.numel += numel


def _buckets(arrays, cap_bytes):
    """按给出的顺序把数组分进桶：同设备、同 dtype，每桶不超过 cap_bytes（一个大数组可以独占一个更大的桶）。"""
    buckets, open_ = [], {}
    for i, a in arrays:
        key = (backend.device_of(a), a.dtype)
        b = open_.get(key)
        if b is None or (b.numel and (b.numel + a.size) * a.dtype.itemsize > cap_bytes):
            b = open_[key] = _Bucket(*key)
            buckets.append(b)
        b.add(i, a.size)
    return buckets


class _Reducer:
    """反向传播中收集梯度、按桶求平均。每个桶一次 ``all_reduce``。"""

    def __init__(self, params, names, group, cap_bytes):
        self.params, self.names, self.group = params, names, group
        self.buckets = _buckets([(i, p.data) for i, p in reversed(list(enumerate(params)))], cap_bytes)
        self.where = {}
        for b, bucket in enumerate(self.buckets):
            for i, offset in zip(bucket.indices, bucket.offsets):
                self.where[i] = (b, offset)
        self.pending = None      # 每个桶还差几个参数的梯度；None：没有等着的反向传播
        self.flats = []
        self.all_reduce_calls = 0   # 累计做了几次 all-reduce（测试与第 19 课用来数通信次数）

    def prepare_for_backward(self):
        """前向开始时调用：上一次反向传播若只平均了一部分梯度，说明有参数没有收到梯度，报错。"""
        if self.pending is not None:
            started = any(n < len(b.indices) for n, b in zip(self.pending, self.buckets))
            if started and any(self.pending):   # 有梯度到过，却有桶没凑齐
                missing = [self.names[i] for i in range(len(self.params)) if not self._arrived[i]]
                raise DistributedError(
                    "上一次反向传播里有参数没有收到梯度 (parameters that did not receive grad)："
                    f"{', '.join(missing[:8])}{' 等' if len(missing) > 8 else ''}。它们所在的桶没有凑齐，梯度没有在进程之间平均。"
                    "提示：forward 里要用到模型的全部参数；暂时不训练的参数先设 requires_grad=False，再包 DDP。")
        self.pending = [len(b.indices) for b in self.buckets]
        self.flats = [None] * len(self.buckets)
        self._arrived = [False] * len(self.params)

    def grad_ready(self, index, grad):
        """参数 index 的梯度到齐：放进它的桶；桶满了就求平均并写回 ``.grad``。"""
        b, offset = self.where[index]
        bucket, p = self.buckets[b], self.params[index]
        xp = backend.get_array_module(grad)
        if self.flats[b] is None:
            self.flats[b] = xp.empty(bucket.numel, dtype=bucket.dtype)
        slot = self.flats[b][offset:offset + grad.size].reshape(grad.shape)
        if p.grad is not None:   # 梯度累加（no_sync 里攒下的，或没有 zero_grad）：和一起平均
            xp.add(p.grad.data, grad, out=slot)
        else:
            slot[...] = grad
        self._arrived[index] = True
        self.pending[b] -= 1
        if self.pending[b] == 0:
            self._reduce(b)

    def _reduce(self, b):
        flat, bucket = self.flats[b], self.buckets[b]
        self.group.all_reduce_(flat, ReduceOp.AVG)
        self.all_reduce_calls += 1
        for i, offset in zip(bucket.indices, bucket.offsets):
            p = self.params[i]
            view = flat[offset:offset + p.data.size].reshape(p.data.shape)
            if p.grad is not None:
                p.grad.data[...] = view
            else:
                p.grad = Tensor(view)   # 梯度就是桶里的一段（不再复制一份）


def _broadcast_coalesced(group, arrays, cap_bytes, src=0):
    """把 0 号进程的这些数组原地广播给所有进程：按桶拼成扁平缓冲区，一桶一次广播。"""
    for bucket in _buckets(list(enumerate(arrays)), cap_bytes):
        parts = [arrays[i] for i in bucket.indices]
        xp = backend.get_array_module(parts[0])
        flat = xp.concatenate([a.reshape(-1) for a in parts])
        group.broadcast_(flat, src)
        for a, offset in zip(parts, bucket.offsets):
            a[...] = flat[offset:offset + a.size].reshape(a.shape)


def _signature(module):
    """模型结构的一个整数指纹（参数名、形状、dtype）：各进程的模型不一样时，通信会错位或一直等下去。"""
    text = ";".join(f"{n}:{tuple(p.shape)}:{p.dtype}" for n, p in module.named_parameters())
    value = 0
    for ch in text.encode("utf-8"):   # 不用 hash()：字符串的 hash 每个进程不同
        value = (value * 131 + ch) % (1 << 61)
    return value


class DistributedDataParallel(Module):
    """把模型包起来做数据并行：构造时从 0 号进程广播参数与缓冲区，反向传播时按桶平均梯度。

    参数:
        module: 要训练的模型（每个进程各建一份，结构必须相同）。
        broadcast_buffers: 训练模式下每次前向先把 0 号进程的缓冲区（如 BatchNorm 的滑动均值）广播给所有进程。
        process_group: 用哪个进程组（后端对象）；默认是 ``init_process_group`` 建的那个。
        bucket_cap_mb: 每个桶的大小上限（MiB，默认 25）。

    ``model.module`` 是原来的模型：保存检查点时存它的 ``state_dict()``，键名里没有 ``module.`` 前缀。
    ``with model.no_sync(): ...`` 里的反向传播不通信，梯度留在本进程里累加，下一次同步的反向传播一起平均
    （梯度累积 (gradient accumulation) 时用）。参数只有在 forward 里用到才会被平均：不要在 forward 之外
    直接拿参数算损失（如自己加的 L2 项），那一部分梯度不经过通信。
    """

    def __init__(self, module, broadcast_buffers=True, process_group=None, bucket_cap_mb=BUCKET_CAP_MB):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel 需要一个 nn.Module，得到 {type(module).__name__}。")
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb 必须是正数，得到 {bucket_cap_mb!r}。")
        self.module = module
        group = default_group(process_group)
        object.__setattr__(self, "process_group", group)
        self.broadcast_buffers = bool(broadcast_buffers)
        self.require_backward_grad_sync = True
        cap = int(bucket_cap_mb * 2 ** 20)
        object.__setattr__(self, "_cap_bytes", cap)
        self._check_same_model()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        with no_grad():
            _broadcast_coalesced(group, [p.data for p in module.parameters()] + self._buffer_arrays(), cap)
        object.__setattr__(self, "reducer", _Reducer([p for _, p in named], [n for n, _ in named], group, cap))

    def _buffer_arrays(self):
        return [b.data for b in self.module.buffers()]

    def _check_same_model(self):
        sig, group = _signature(self.module), self.process_group
        largest, smallest = group.host_max(sig), -group.host_max(-sig)   # 两次通信每个进程都要做，不能短路
        if largest != smallest:   # 最大值等于最小值：大家一样
            raise DistributedError(f"各进程的模型结构不同（第 {group.rank} 号进程的参数名、形状或 dtype 与别的进程不一样）。"
                                   "提示：每个进程用同样的配置建模型，再包 DistributedDataParallel。")

    def forward(self, *args, **kwargs):
        params = self.reducer.params
        if not (is_grad_enabled() and self.require_backward_grad_sync and params):
            return self.module(*args, **kwargs)
        self.reducer.prepare_for_backward()
        if self.broadcast_buffers and self.training:
            buffers = self._buffer_arrays()
            if buffers:
                with no_grad():
                    _broadcast_coalesced(self.process_group, buffers, self._cap_bytes)
        ready = {id(p): _GradReady.apply(p, reducer=self.reducer, index=i) for i, p in enumerate(params)}
        with _parameters_replaced(self.module, ready):
            return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """这段代码里的反向传播不做 all-reduce：梯度在本进程累加（同 PyTorch 的 ``no_sync``）。"""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self):
        sizes = ", ".join(f"{b.numel:,}" for b in self.reducer.buckets)
        return f"world_size={self.process_group.world_size}, 桶={len(self.reducer.buckets)} 个（元素数 {sizes}）"


@contextlib.contextmanager
def _parameters_replaced(module, replacement):
    """前向期间，模块里的参数暂时换成 ``replacement[id(参数)]``（共享的参数，如 GPT 绑定的权重，换成同一个）。"""
    swapped = []
    for m in module.modules():
        table = m._parameters
        for name, p in table.items():
            if p is not None and id(p) in replacement:
                swapped.append((table, name, p))
                table[name] = replacement[id(p)]
    try:
        yield
    finally:
        for table, name, p in swapped:
            table[name] = p
