"""归约 (reduction) 运算与 softmax 一族：沿某些轴把很多数变成一个数。

反向的共同模式：先把被归约掉的轴补回来（expand_dims），再广播回输入形状。
softmax、log_softmax、logsumexp 各是一个融合的 Function：一次前向、一个解析的反向，
比拆成 exp / sum / div 一串小运算更快，数值上也更稳。
"""

import math

from ..autograd import Function


def _restore(xp, g, axis, keepdims, shape):
    """把归约结果的梯度恢复成输入形状：补回被去掉的轴，再广播。"""
    if axis is not None and not keepdims:
        g = xp.expand_dims(g, axis)
    return xp.broadcast_to(g, shape)


def _count(shape, axis):
    n = 1
    for i in (range(len(shape)) if axis is None else axis):
        n *= shape[i]
    return n


class Sum(Function):
    """y = Σ a（沿 axis）；∂y/∂aᵢ = 1，所以梯度原样广播回每个位置。"""
    zh = "求和"
    reduce = "sum"

    @classmethod
    def forward(cls, ctx, a, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        if cls.reduce == "mean" and _count(a.shape, axis) == 0:
            # 空集合的平均是 0/0 = nan（同 PyTorch）；直接乘 nan，免得 NumPy 警告 "Mean of empty slice"
            return ctx.xp.sum(a, axis=axis, keepdims=keepdims) * math.nan
        return getattr(ctx.xp, cls.reduce)(a, axis=axis, keepdims=keepdims)

    @classmethod
    def backward(cls, ctx, g):
        if cls.reduce == "mean":
            n = _count(ctx.shape, ctx.axis)
            # n = 0 时输入是空的，梯度也是空数组，乘什么都一样（同 PyTorch）；只是不能写 1/0
            g = g * (1.0 / n if n else math.nan)
        return _restore(ctx.xp, g, ctx.axis, ctx.keepdims, ctx.shape), None, None


class Mean(Sum):
    """y = (1/n) Σ a；∂y/∂aᵢ = 1/n。n = 0（空张量）时 y = nan，梯度是空数组（同 PyTorch）。"""
    zh = "均值"
    reduce = "mean"


def _var_backward(ctx, a, g):
    """∂var/∂aᵢ = 2 (aᵢ − ā) / (n − correction)，g 先恢复成输入形状。"""
    xp = ctx.xp
    n = _count(ctx.shape, ctx.axis)
    centered = a - xp.mean(a, axis=ctx.axis, keepdims=True)
    g = _restore(xp, g, ctx.axis, ctx.keepdims, ctx.shape)
    dof = n - ctx.correction
    scale = 2.0 / dof if dof > 0 else float("nan")  # 自由度为 0 时方差无定义，与 PyTorch 一样给 nan
    return g * centered * scale


class Var(Function):
    """y = Σ (a − ā)² / (n − correction)；∂y/∂aᵢ = 2 (aᵢ − ā) / (n − correction)。

    correction=1 是无偏估计 (unbiased)，PyTorch 的默认值。
    """
    zh = "方差"

    @staticmethod
    def forward(ctx, a, axis, correction, keepdims):
        ctx.save_for_backward(a)
        ctx.shape, ctx.axis, ctx.correction, ctx.keepdims = a.shape, axis, correction, keepdims
        return ctx.xp.var(a, axis=axis, ddof=correction, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return _var_backward(ctx, a, g), None, None, None


class Std(Function):
    """标准差 y = √var(a)；∂y/∂aᵢ = (aᵢ − ā) / ((n − correction)·y)。

    y = 0（这一片的元素全相等）时公式是 0/0：PyTorch 在那里取 0（而不是 √ 在 0 处的 ∞ 乘 0 = nan），这里也一样。
    """
    zh = "标准差"

    @staticmethod
    def forward(ctx, a, axis, correction, keepdims):
        ctx.shape, ctx.axis, ctx.correction, ctx.keepdims = a.shape, axis, correction, keepdims
        out = ctx.xp.sqrt(ctx.xp.var(a, axis=axis, ddof=correction, keepdims=keepdims))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        xp = ctx.xp
        zero = out == 0
        # 先把 0 换成 1 再除：被 where 丢掉的那一支也不出现 0/0，二阶导数才不会带进 nan
        g_var = xp.where(zero, 0.0, g / (2.0 * xp.where(zero, 1.0, out)))
        return _var_backward(ctx, a, g_var), None, None, None


class _Extremum(Function):
    """全局最大 / 最小值。多个元素并列时梯度平均分给它们（与 PyTorch 的 max() 相同）。

    结果是 nan 时（输入里有 nan），梯度平分给那些 nan 元素：nan 与 nan 算作“相等”（同 PyTorch）。
    """
    reduce = "max"

    @classmethod
    def forward(cls, ctx, a):
        out = getattr(ctx.xp, cls.reduce)(a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        xp = ctx.xp
        hit = (a == out) | ((a != a) & (out != out))  # x != x 就是 isnan(x)，张量命名空间里也能用
        mask = hit.astype(g.dtype)
        return g * mask / xp.sum(mask)


class Max(_Extremum):
    zh = "最大值"
    reduce = "max"


class Min(_Extremum):
    zh = "最小值"
    reduce = "min"


class Amax(Function):
    """沿 axis 的最大值 y = max a（PyTorch 的 amax）；每一片里并列的元素平分梯度：∂y/∂aᵢ = [aᵢ = y] / #{j : aⱼ = y}。

    与 ``max(dim)`` 不同：后者把整份梯度给 indices 指出的那一个元素。
    结果是 nan 的那一片，[aᵢ = y] 全为假，梯度是 0/0 = nan（同 PyTorch 的 amax）。
    """
    zh = "最大值"
    reduce = "max"

    @classmethod
    def forward(cls, ctx, a, axis, keepdims):
        out = getattr(ctx.xp, cls.reduce)(a, axis=axis, keepdims=keepdims)
        ctx.save_for_backward(a, out)
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        xp = ctx.xp
        out = _restore(xp, out, ctx.axis, ctx.keepdims, ctx.shape)
        mask = (a == out).astype(g.dtype)
        count = xp.sum(mask, axis=ctx.axis, keepdims=True)
        return _restore(xp, g, ctx.axis, ctx.keepdims, ctx.shape) / count * mask, None, None


class Amin(Amax):
    """沿 axis 的最小值（PyTorch 的 amin）；并列的元素平分梯度，同 ``Amax``。"""
    zh = "最小值"
    reduce = "min"


class Softmax(Function):
    """yᵢ = e^{aᵢ} / Σⱼ e^{aⱼ}；反向：∂L/∂a = y ⊙ (g − Σ g ⊙ y)。

    先减去最大值再取指数：数学上不变，但 a = 1000 时也不会上溢。
    """
    zh = "softmax"

    @staticmethod
    def forward(ctx, a, axis):
        xp = ctx.xp
        e = xp.exp(a - xp.max(a, axis=axis, keepdims=True))
        out = e / xp.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return out * (g - ctx.xp.sum(g * out, axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Function):
    """yᵢ = aᵢ − log Σⱼ e^{aⱼ}；反向：∂L/∂a = g − softmax(a) · Σ g。"""
    zh = "log_softmax"

    @staticmethod
    def forward(ctx, a, axis):
        xp = ctx.xp
        shifted = a - xp.max(a, axis=axis, keepdims=True)
        out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        xp = ctx.xp
        return g - xp.exp(out) * xp.sum(g, axis=ctx.axis, keepdims=True), None


class Logsumexp(Function):
    """y = log Σ e^{aᵢ}（LogSumExp 技巧：先减最大值）；∂y/∂aᵢ = e^{aᵢ − y} = softmax(a)ᵢ。

    axis 可以是一个轴、几个轴的元组，或 None（全部）。
    """
    zh = "logsumexp"

    @staticmethod
    def forward(ctx, a, axis, keepdims):
        xp = ctx.xp
        m = xp.max(a, axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # 整行都是 -inf 时避免 (-inf) - (-inf) = nan
        out = xp.log(xp.sum(xp.exp(a - m), axis=axis, keepdims=True)) + m
        if not keepdims:
            out = xp.squeeze(out, axis=axis)
        ctx.save_for_backward(a, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        xp = ctx.xp
        if not ctx.keepdims and ctx.axis is not None:  # axis=None：0 维的 out、g 直接广播
            out = xp.expand_dims(out, ctx.axis)
            g = xp.expand_dims(g, ctx.axis)
        return g * xp.exp(a - out), None, None
