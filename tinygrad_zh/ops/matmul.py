"""矩阵乘法 (matrix multiplication)：``Matmul``，含批量 (batched) 与一维的情形，语义与 numpy.matmul / torch.matmul 相同。

全连接层的融合运算 ``Linear``（y = x Wᵀ + b）在 nn.py 里。
"""

from ..autograd import Function, sum_to_shape


class Matmul(Function):
    """Y = A @ B；∂L/∂A = G @ Bᵀ，∂L/∂B = Aᵀ @ G（ᵀ 交换最后两个轴）。

    一维输入先在反向里补成矩阵（A: (k,) → (1, k)，B: (k,) → (k, 1)），算完再去掉补的轴；
    批量维度被广播过的，求和回原来的形状。
    """
    zh = "矩阵乘法"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        a2, b2 = a, b
        if b.ndim == 1:  # 先补 b 的轴：1-D @ 1-D 时 g 是 0 维，要先变成 (1,) 再变成 (1, 1)
            b2 = xp.expand_dims(b, -1)
            g = xp.expand_dims(g, -1)
        if a.ndim == 1:
            a2 = xp.expand_dims(a, 0)
            g = xp.expand_dims(g, -2)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = xp.reshape(sum_to_shape(xp, g @ xp.swapaxes(b2, -1, -2), a2.shape), a.shape)
        if ctx.needs_input_grad[1]:
            gb = xp.reshape(sum_to_shape(xp, xp.swapaxes(a2, -1, -2) @ g, b2.shape), b.shape)
        return ga, gb
