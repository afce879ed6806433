"""移动 (movement) 运算：只改变元素的排列方式，不改变数值。

它们的反向都是“把梯度按原路搬回去”：reshape 的反向是 reshape 回去，转置的反向是逆转置，
索引的反向是把梯度加回被取出的位置（重复的下标要累加）。
"""

from .. import backend
from ..autograd import Function


class Clone(Function):
    """复制一份数据（新的内存）；梯度原样传回。"""
    zh = "复制"

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Reshape(Function):
    """改变形状：y = a.reshape(shape)；反向把梯度 reshape 回输入形状。"""
    zh = "变形"

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return ctx.xp.reshape(a, shape)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.reshape(g, ctx.in_shape), None


class Permute(Function):
    """重排维度：y = a.transpose(dims)；反向用逆排列把梯度转回来。"""
    zh = "维度重排"

    @staticmethod
    def forward(ctx, a, dims):
        ctx.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return ctx.xp.transpose(a, dims)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.transpose(g, ctx.inverse), None


class Expand(Function):
    """广播到更大的形状（不复制数据）。反向返回输出形状的梯度，由引擎求和回输入形状。"""
    zh = "扩展"

    @staticmethod
    def forward(ctx, a, shape):
        return ctx.xp.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return g, None


class Flip(Function):
    """沿 dims 里的每一维把元素倒过来：y[..., i, ...] = a[..., n−1−i, ...]。反向把梯度沿同样的维再倒一次。

    结果是新的内存（同 PyTorch 的 flip 会复制），不是负步长的视图。
    """
    zh = "翻转"

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return ctx.xp.flip(a, axis=dims).copy()

    @staticmethod
    def backward(ctx, g):
        if ctx.create_graph:  # g 是张量：可微地倒回去
            return Flip.apply(g, ctx.dims), None
        return ctx.xp.flip(g, axis=ctx.dims), None


class Getitem(Function):
    """索引与切片 (indexing)：y = a[key]。

    反向：造一个与 a 同形的零数组，把 g 加回 key 指向的位置。整数数组下标可能重复
    （如 ``x[[0, 0, 1]]``），重复位置的梯度必须累加，所以走 ``backend.index_add``。
    """
    zh = "索引"

    @staticmethod
    def forward(ctx, a, key):
        ctx.in_shape, ctx.key = a.shape, key
        return a[key]

    @staticmethod
    def backward(ctx, g):
        if ctx.create_graph:  # g 是张量：用可微的 IndexAdd，二阶导数才连得上
            return IndexAdd.apply(g, ctx.in_shape, ctx.key), None
        return backend.index_add(ctx.xp, ctx.in_shape, ctx.key, g), None


class IndexAdd(Function):
    """Getitem 反向的可微版本（create_graph 时用）：y = zeros(shape); y[key] += v。反向：g[key]。"""
    zh = "索引累加"

    @staticmethod
    def forward(ctx, v, shape, key):
        ctx.key = key
        return backend.index_add(ctx.xp, shape, key, v)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.key], None, None


class Cat(Function):
    """沿 axis 拼接 (concatenate)；反向把梯度按原来的长度切开。"""
    zh = "拼接"

    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.sizes = [x.shape[axis] for x in arrays]
        return ctx.xp.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        grads, start = [], 0
        lead = (slice(None),) * ctx.axis
        for n in ctx.sizes:
            grads.append(g[lead + (slice(start, start + n),)])
            start += n
        return tuple(grads)


class ToDevice(Function):
    """把数据搬到另一个设备（主机内存 ↔ 显存）；反向把梯度搬回原设备。"""
    zh = "换设备"

    @staticmethod
    def forward(ctx, a, device):
        ctx.src = backend.device_of(a)
        return backend.to_device(a, device)

    @staticmethod
    def backward(ctx, g):
        if ctx.create_graph:  # g 是张量：可微地搬回去
            return g.to(ctx.src), None
        return backend.to_device(g, ctx.src), None
