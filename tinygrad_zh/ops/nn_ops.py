"""神经网络里的融合运算 (fused ops)：交叉熵、层规范化、GELU、带 logits 的二元交叉熵。

“融合”指把一个数学上完整的想法写成一个 Function：前向一次算完，反向用手推的解析公式，
而不是让引擎穿过十几个小运算。这样更快、省内存，数值上也更稳（GUIDE §7）。
代价是它们的 backward 用了数组专有的写法，不能再求导（``supports_create_graph = False``）。
"""

import math

from .. import backend
from ..autograd import Function

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = math.sqrt(2.0 / math.pi)


class Linear(Function):
    """全连接层：y = x Wᵀ + b，x 形状 (*, in)，W 形状 (out, in)。

    反向：∂L/∂x = G W；∂L/∂W = Gᵀ X（把前导维度展平后一次矩阵乘法，直接得到连续的 (out, in)）；∂L/∂b = Σ G。
    写成一个 Function 比 matmul + 转置 + 加法三个节点少两次遍历，W 的梯度也不必再转置复制。
    backward 只用 xp 的函数与运算符，所以支持二阶导数。
    """
    zh = "全连接"

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        if x.ndim > 2:  # (B, T, in) 先展平成一个大矩阵：一次 GEMM 比按批量逐个乘快得多
            out = (x.reshape(-1, x.shape[-1]) @ weight.T).reshape(x.shape[:-1] + (weight.shape[0],))
        else:
            out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        xp = ctx.xp
        g2 = xp.reshape(g, (-1, g.shape[-1]))
        gx = None
        if ctx.needs_input_grad[0]:
            gx = g @ weight if g.ndim <= 2 else xp.reshape(g2 @ weight, g.shape[:-1] + (weight.shape[1],))
        gw = xp.swapaxes(g2, 0, 1) @ xp.reshape(x, (-1, x.shape[-1])) if ctx.needs_input_grad[1] else None
        gb = xp.sum(g2, axis=0) if ctx.needs_input_grad[2] else None
        return gx, gw, gb


class CrossEntropy(Function):
    """逐样本交叉熵 (cross-entropy)：logits 形状 (M, C)，类别下标 target 形状 (M,)。

    前向：log p = log_softmax(z)；ℓᵢ = −(1−ε)·log pᵢ[tᵢ] − (ε/C)·Σ_c log pᵢ[c]（ε 为 label_smoothing）；
    target == ignore_index 的行 ℓᵢ = 0。
    反向：∂ℓᵢ/∂zᵢ = softmax(zᵢ) − qᵢ，其中 qᵢ = (1−ε)·onehot(tᵢ) + ε/C；被忽略的行梯度为 0。
    """
    zh = "交叉熵"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, logits, target, ignore_index, label_smoothing):
        xp = ctx.xp
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        valid = target != ignore_index
        safe = xp.where(valid, target, 0)
        picked = xp.take_along_axis(shifted, safe[:, None], axis=1)[:, 0]
        eps = label_smoothing
        row_sum = xp.sum(shifted, axis=1) if eps else None
        # exp 只算一次，且原地写回 shifted（logits 大小的数组只分配这一个）：概率 p 留给反向用
        probs = xp.exp(shifted, out=shifted)
        total = xp.sum(probs, axis=1, keepdims=True)
        probs /= total
        log_total = xp.log(total)[:, 0]
        loss = -(1.0 - eps) * (picked - log_total)            # −(1−ε)·log p[t]
        if eps:  # Σ_c log p[c] = Σ_c shifted[c] − C·log Σ e
            c = logits.shape[1]
            loss = loss - (eps / c) * (row_sum - c * log_total)
        ctx.save_for_backward(probs, safe, valid)
        ctx.eps = eps
        return xp.where(valid, loss, 0)

    @staticmethod
    def backward(ctx, g):
        probs, safe, valid = ctx.saved_tensors
        xp = ctx.xp
        w = xp.where(valid, g, 0)
        grad = probs * w[:, None]  # 新数组：probs 不能原地改，retain_graph 时还要再用
        grad[xp.arange(grad.shape[0]), safe] -= (1.0 - ctx.eps) * w
        if ctx.eps:
            grad -= (ctx.eps / grad.shape[1]) * w[:, None]
        return grad, None, None, None


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


class GELU(Function):
    """GELU（高斯误差线性单元）。

    精确形式：y = x·Φ(x)，Φ(x) = ½(1 + erf(x/√2))；y′ = Φ(x) + x·φ(x)，φ 为标准正态密度。
    tanh 近似：y = ½x(1 + tanh u)，u = √(2/π)(x + 0.044715x³)；y′ = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)。
    """
    zh = "GELU"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, x, approximate):
        xp = ctx.xp
        ctx.approximate = approximate
        if approximate == "tanh":
            t = xp.tanh(_GELU_C * (x + 0.044715 * (x * x * x)))
            ctx.save_for_backward(x, t)
            return 0.5 * x * (1.0 + t)
        cdf = backend.erf(x * (1.0 / _SQRT_2))
        cdf += 1.0   # 原地运算：GELU 的输入很大（B·T·4C），少分配几个临时数组
        cdf *= 0.5
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, g):
        x, aux = ctx.saved_tensors
        xp = ctx.xp
        if ctx.approximate == "tanh":
            du = _GELU_C * (1.0 + 3 * 0.044715 * (x * x))
            return g * (0.5 * (1.0 + aux) + 0.5 * x * (1.0 - aux * aux) * du), None
        d = x * x
        d *= -0.5
        d = xp.exp(d, out=d)
        d *= x
        d *= _INV_SQRT_2PI     # x·φ(x)
        d += aux               # Φ(x) + x·φ(x)
        d *= g
        return d, None


class BCEWithLogits(Function):
    """逐元素的带 logits 的二元交叉熵：ℓ = max(z, 0) − z·t + log(1 + e^{−|z|})（数值稳定的写法）。

    反向：∂ℓ/∂z = σ(z) − t，∂ℓ/∂t = −z。
    """
    zh = "二元交叉熵"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, z, t):
        xp = ctx.xp
        ctx.save_for_backward(z, t)
        return xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))

    @staticmethod
    def backward(ctx, g):
        z, t = ctx.saved_tensors
        xp = ctx.xp
        sig = (xp.tanh(z * 0.5) + 1) * 0.5
        return (g * (sig - t) if ctx.needs_input_grad[0] else None,
                -g * z if ctx.needs_input_grad[1] else None)
