"""规范化 (normalization) 的融合运算：层规范化 ``LayerNorm`` 与批量规范化 ``BatchNorm``。

两者都是“减均值、除标准差、再仿射变换”，只是求统计量的方向不同：LayerNorm 沿每个样本的最后几维，
BatchNorm 沿批量（每个通道一组）。融合成一个 Function：一次前向、一个解析的反向，比穿过十几个小运算
（均值、减法、平方、开方、除法……）更快、更省内存、数值更稳；代价是不能再求导（``supports_create_graph = False``）。
"""

from ..autograd import Function


class LayerNorm(Function):
    """层规范化 (layer normalization)：对最后 k 个维度做标准化，再仿射变换。

    前向：x̂ = (x − μ) / √(σ² + eps)，y = x̂ ⊙ w + b（σ² 是有偏方差，与 PyTorch 相同）。
    反向：∂L/∂x = (1/σ̃) · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))，其中 ĝ = g ⊙ w，σ̃ = √(σ² + eps)；
    ∂L/∂w = Σ g ⊙ x̂，∂L/∂b = Σ g（求和回 w、b 的形状由引擎完成）。
    """
    zh = "层规范化"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, x, weight, bias, k, eps):
        xp = ctx.xp
        axes = tuple(range(x.ndim - k, x.ndim))
        centered = x - xp.mean(x, axis=axes, keepdims=True)
        rstd = 1.0 / xp.sqrt(xp.mean(centered * centered, axis=axes, keepdims=True) + eps)
        xhat = centered * rstd
        ctx.save_for_backward(xhat, rstd, weight)
        ctx.axes = axes
        out = xhat if weight is None else xhat * weight
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, weight = ctx.saved_tensors
        xp, axes = ctx.xp, ctx.axes
        ghat = g if weight is None else g * weight
        gx = rstd * (ghat - xp.mean(ghat, axis=axes, keepdims=True)
                     - xhat * xp.mean(ghat * xhat, axis=axes, keepdims=True))
        gw = g * xhat if ctx.needs_input_grad[1] else None
        gb = g if ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None


# ---------------------------------------------------------------------------- 批量规范化

def batch_stats(xp, x):
    """按通道（第 1 维）的均值与有偏方差 (biased variance)：在除通道外的所有维度上求。返回两个 (C,) 数组。"""
    axes = (0,) + tuple(range(2, x.ndim))
    mean = xp.mean(x, axis=axes)
    centered = x - xp.reshape(mean, _channel_shape(x))
    return mean, xp.mean(centered * centered, axis=axes)


def _channel_shape(x):
    """(C,) 的量广播到 (N, C, *) 时用的形状 (1, C, 1, …)。"""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


class BatchNorm(Function):
    """批量规范化 (batch normalization)：每个通道用给定的均值 μ 与方差 σ² 标准化，再仿射变换。

    前向：x̂ = (x − μ) / √(σ² + eps)，y = x̂ · w + b（w、b、μ、σ² 形状 (C,)，沿第 1 维广播）。
    训练模式下 μ、σ² 是这一批的统计量（σ² 有偏，除以 m = N·H·W），它们本身依赖 x，所以
        ∂L/∂x = (1/σ̃) · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))，ĝ = g ⊙ w，σ̃ = √(σ² + eps)，mean 取在除通道外的维度上；
    评估模式下 μ、σ² 是常数（滑动平均），∂L/∂x = ĝ / σ̃。两种模式都有 ∂L/∂w = Σ g ⊙ x̂，∂L/∂b = Σ g。
    μ、σ² 由调用者（F.batch_norm）传入：同一份批量统计量还要用来更新滑动平均，只算一次。
    """
    zh = "批量规范化"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, x, weight, bias, mean, var, training, eps):
        xp = ctx.xp
        shape = _channel_shape(x)
        rstd = 1.0 / xp.sqrt(xp.reshape(var, shape) + eps)
        xhat = (x - xp.reshape(mean, shape)) * rstd
        ctx.save_for_backward(xhat, rstd, weight)
        ctx.training = training
        out = xhat if weight is None else xhat * xp.reshape(weight, shape)
        return out if bias is None else out + xp.reshape(bias, shape)

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, weight = ctx.saved_tensors
        xp = ctx.xp
        axes = (0,) + tuple(range(2, g.ndim))
        ghat = g if weight is None else g * xp.reshape(weight, _channel_shape(g))
        gx = None
        if ctx.needs_input_grad[0] and ctx.training:
            gx = rstd * (ghat - xp.mean(ghat, axis=axes, keepdims=True)
                         - xhat * xp.mean(ghat * xhat, axis=axes, keepdims=True))
        elif ctx.needs_input_grad[0]:
            gx = ghat * rstd
        # w、b 只有 (C,)，不是 (N, C, H, W) 的尾部广播，引擎求和不回去：这里自己按通道求和
        gw = xp.sum(g * xhat, axis=axes) if ctx.needs_input_grad[1] else None
        gb = xp.sum(g, axis=axes) if ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None, None, None
