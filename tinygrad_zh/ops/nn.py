"""神经网络用的运算：激活函数、全连接层、损失函数。

- 激活函数 (activation function)：``Tanh``、``Sigmoid``、``Relu``、``Gelu``（都是按元素的）；
- 全连接层 (fully connected layer)：``Linear``，y = x Wᵀ + b；
- 损失函数 (loss function)：``CrossEntropy``（log_softmax + 负对数似然 + 求平均）、``BinaryCrossEntropyWithLogits``。

GELU、交叉熵、二元交叉熵、全连接各自融合成一个 Function：一次前向、一个解析的反向，
比穿过十几个小运算更快、更省内存，数值上也更稳（不会算出 log 0）。
一个两层的 MLP 从前向、交叉熵到反向，用到的运算全在这一个文件里。
"""

import math

from .. import backend
from ..autograd import Function

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = math.sqrt(2.0 / math.pi)


# ============================================================================ 激活函数

class Tanh(Function):
    """y = tanh a；∂y/∂a = 1 − y²。"""
    zh = "双曲正切"

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out * out)


class Sigmoid(Function):
    """y = σ(a) = 1/(1 + e⁻ᵃ)；∂y/∂a = y(1 − y)。

    用恒等式 σ(a) = (1 + tanh(a/2)) / 2 计算：a = ±1000 时也不会上溢 (overflow)。
    """
    zh = "sigmoid"

    @staticmethod
    def forward(ctx, a):
        out = (ctx.xp.tanh(a * 0.5) + 1) * 0.5
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)


class Relu(Function):
    """y = max(a, 0)；∂y/∂a = 1 (a > 0)，否则 0（在 0 处取 0，与 PyTorch 相同）。"""
    zh = "ReLU"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.maximum(a, 0)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return ctx.xp.where(a > 0, g, 0)


class Gelu(Function):
    """GELU（高斯误差线性单元）。

    精确形式：y = x·Φ(x)，Φ(x) = ½(1 + erf(x/√2))；y′ = Φ(x) + x·φ(x)，φ 为标准正态密度。
    tanh 近似：y = ½x(1 + tanh u)，u = √(2/π)(x + 0.044715x³)；y′ = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)。

    融合成一个 Function：一次前向、一个解析的反向，比穿过 erf、乘法、加法一串小运算更快、更省内存；
    代价是反向里的原地运算不能再求导（``supports_create_graph = False``）。
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


# ============================================================================ 全连接

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


# ============================================================================ 损失

class CrossEntropy(Function):
    """交叉熵 (cross-entropy)：logits 形状 (M, C)，类别下标 target 形状 (M,)。

    前向：log p = log_softmax(z)；ℓᵢ = −(1−ε)·log pᵢ[tᵢ] − (ε/C)·Σ_c log pᵢ[c]（ε 为 label_smoothing）；
    target == ignore_index 的行 ℓᵢ = 0。reduction='none' 返回 ℓ，'sum' 返回 Σℓᵢ，
    'mean' 返回 Σℓᵢ / n（n 是没被忽略的行数，同 PyTorch）。
    反向：∂ℓᵢ/∂zᵢ = softmax(zᵢ) − qᵢ，其中 qᵢ = (1−ε)·onehot(tᵢ) + ε/C；被忽略的行梯度为 0；
    'mean' 时每行再乘 1/n。
    """
    zh = "交叉熵"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, logits, target, ignore_index, label_smoothing, reduction):
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
        loss = xp.where(valid, loss, 0)
        ctx.save_for_backward(probs, safe, valid)
        ctx.eps, ctx.reduction = eps, reduction
        if reduction == "none":
            return loss
        if reduction == "sum":
            return xp.sum(loss)
        # 个数留在设备上（不调用 .item()）：GPU 上不必等主机；全被忽略时 0/0 = nan，同 PyTorch
        ctx.count = xp.sum(valid).astype(loss.dtype)
        return xp.sum(loss) / ctx.count

    @staticmethod
    def backward(ctx, g):
        probs, safe, valid = ctx.saved_tensors
        xp = ctx.xp
        if ctx.reduction == "mean":
            g = g / ctx.count
        w = xp.where(valid, g, 0)  # 标量 g 在这里广播成每行一个权重
        grad = probs * w[:, None]  # 新数组：probs 不能原地改，retain_graph 时还要再用
        grad[xp.arange(grad.shape[0]), safe] -= (1.0 - ctx.eps) * w
        if ctx.eps:
            grad -= (ctx.eps / grad.shape[1]) * w[:, None]
        return grad, None, None, None, None


class BinaryCrossEntropyWithLogits(Function):
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
