"""神经网络用的运算：激活函数、全连接层、损失函数。

- 激活函数 (activation function)：``Tanh``、``Sigmoid``、``Logsigmoid``、``Relu``、``Gelu``（都是按元素的）；
- 全连接层 (fully connected layer)：``Linear``，y = x Wᵀ + b；
- 损失函数 (loss function)：``CrossEntropy``（log_softmax + 负对数似然 + 求平均；类别下标或概率形式的 target，
  可带每类的权重）、``BinaryCrossEntropy``（输入是概率）、``BinaryCrossEntropyWithLogits``。

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


def _sigmoid(xp, a):
    """数值稳定的 σ(a)：只对 −|a| 取指数，e = e^{−|a|} ∈ (0, 1]，不会上溢 (overflow)。

    a ≥ 0：σ(a) = 1/(1 + e)；a < 0：σ(a) = e/(1 + e)。两条尾巴都保住相对精度：
    float32 下 σ(−20) ≈ 2.06e−9、σ(−80) ≈ 1.8e−35 都算得准（用 (1 + tanh(a/2))/2 时 a < −17 就成了 0）。
    """
    e = xp.empty_like(a)           # 原地算（传 out=）：激活值很大时少分配几个临时数组，0 维输入也适用
    xp.negative(xp.abs(a, out=e), out=e)
    xp.exp(e, out=e)               # e = e^{−|a|} ∈ (0, 1]
    # 分子 a ≥ 0 时为 1、a < 0 时为 e；因为 e ≤ 1，它就是 max(e, [a ≥ 0])。
    # 不用 where：符号随机的掩码上 where 要慢好几倍（分支预测失败）
    out = xp.maximum(e, a >= 0, out=xp.empty_like(a))
    e += 1.0
    out /= e
    return out


class Sigmoid(Function):
    """y = σ(a) = 1/(1 + e⁻ᵃ)；∂y/∂a = y(1 − y)。

    前向按 a 的符号分两支（见 ``_sigmoid``）：a = ±1000 时不上溢、没有警告，a 很负时也保住相对精度。
    """
    zh = "sigmoid"

    @staticmethod
    def forward(ctx, a):
        out = _sigmoid(ctx.xp, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)


class Logsigmoid(Function):
    """y = log σ(a) = −softplus(−a) = min(a, 0) − log(1 + e^{−|a|})；∂y/∂a = 1 − σ(a) = σ(−a)。

    不先算 σ 再取 log：a = −1000 时 σ(a) 在浮点里是 0，log 0 = −∞；这样写结果是 −1000，两端都不上溢。
    """
    zh = "log-sigmoid"

    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        ctx.save_for_backward(a)
        return xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a)))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        xp = ctx.xp
        pos = a >= 0
        e = xp.exp(xp.where(pos, -a, a))          # e^{−|a|}（只用 where，create_graph 时也能再求导）
        return g * xp.where(pos, e, 1.0) / (1.0 + e)  # σ(−a)


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
    float16 的输入在 float32 里计算、结果再转回 float16（同 PyTorch）：x 很负时 1 + erf 是两个相近数相减，
    直接在 float16 里算相对误差可达 10%。
    """
    zh = "GELU"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, x, approximate):
        xp = ctx.xp
        ctx.approximate, ctx.dtype = approximate, x.dtype
        if x.dtype.itemsize < 4:
            x = x.astype("float32")
        if approximate == "tanh":
            t = xp.tanh(_GELU_C * (x + 0.044715 * (x * x * x)))
            ctx.save_for_backward(x, t)
            return (0.5 * x * (1.0 + t)).astype(ctx.dtype, copy=False)
        cdf = backend.erf(x * (1.0 / _SQRT_2))
        cdf += 1.0   # 原地运算：GELU 的输入很大（B·T·4C），少分配几个临时数组
        cdf *= 0.5
        ctx.save_for_backward(x, cdf)
        return (x * cdf).astype(ctx.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, aux = ctx.saved_tensors
        xp = ctx.xp
        if ctx.approximate == "tanh":
            du = _GELU_C * (1.0 + 3 * 0.044715 * (x * x))
            return (g * (0.5 * (1.0 + aux) + 0.5 * x * (1.0 - aux * aux) * du)).astype(ctx.dtype, copy=False), None
        d = x * x
        d *= -0.5
        d = xp.exp(d, out=d)
        d *= x
        d *= _INV_SQRT_2PI     # x·φ(x)
        d += aux               # Φ(x) + x·φ(x)
        d *= g
        return d.astype(ctx.dtype, copy=False), None


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
    """交叉熵 (cross-entropy)：logits z 形状 (M, C)；target 是类别下标 (M,)（整数），或每类的概率 (M, C)（浮点，软标签）。

    记 log p = log_softmax(z)，ε 为 label_smoothing，w 为每类的权重 (C,)（weight=None 时全为 1）。

    类别下标：ℓᵢ = (1−ε)·w[tᵢ]·(−log pᵢ[tᵢ]) + (ε/C)·Σ_c w_c·(−log pᵢ[c])；target == ignore_index 的行 ℓᵢ = 0；
    'mean' 返回 Σℓᵢ / Σᵢ w[tᵢ]（只数没被忽略的行；不给权重时就是这些行的个数，同 PyTorch）。

    概率：qᵢ = (1−ε)·targetᵢ + ε/C，ℓᵢ = −Σ_c w_c·qᵢ[c]·log pᵢ[c]；'mean' 返回 Σℓᵢ / M（除以行数，不是权重之和，同 PyTorch）。

    reduction='none' 返回 ℓ，'sum' 返回 Σℓᵢ。
    反向（rᵢ 是第 i 行收到的梯度，'mean' 时已除以分母，被忽略的行 rᵢ = 0）：
        类别下标：∂ℓ/∂zᵢ = rᵢ·[softmax(zᵢ)·((1−ε)·w[tᵢ] + (ε/C)·Σ_c w_c) − (1−ε)·w[tᵢ]·onehot(tᵢ) − (ε/C)·w]
        概率：    ∂ℓ/∂zᵢ = rᵢ·[softmax(zᵢ)·Σ_c w_c·qᵢ[c] − w ⊙ qᵢ]，  ∂ℓ/∂targetᵢ = −rᵢ·(1−ε)·w ⊙ log pᵢ
    w = 1 时第一式就是熟悉的 softmax(zᵢ) − qᵢ。
    """
    zh = "交叉熵"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, label_smoothing, reduction):
        xp = ctx.xp
        eps = label_smoothing
        ctx.eps, ctx.reduction, ctx.soft = eps, reduction, target.dtype.kind == "f"
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        if ctx.soft:
            loss = CrossEntropy._soft_forward(ctx, shifted, target, weight)
        else:
            loss = CrossEntropy._index_forward(ctx, shifted, target, weight, ignore_index)
        if reduction == "none":
            return loss
        if reduction == "sum":
            return xp.sum(loss)
        return xp.sum(loss) / ctx.count

    @staticmethod
    def _index_forward(ctx, shifted, target, weight, ignore_index):
        xp = ctx.xp
        eps, c = ctx.eps, shifted.shape[1]
        valid = target != ignore_index
        safe = xp.where(valid, target, 0)
        # Σ_c w_c·shifted[c]（只在 label_smoothing 时要）：不给权重时就是按行求和
        row_sum = (xp.sum(shifted, axis=1) if weight is None else shifted @ weight) if eps else None
        w_t = None if weight is None else xp.where(valid, weight[safe], 0)
        # 这一段算出（shifted = z − max z，每行减去最大值，exp 不会溢出；safe 是每行的类别下标）：
        #   probs = softmax(z)，形状 (M, C)，反向要用；log_total = log Σ_c exp(shifted[c])，形状 (M,)；
        #   loss = (1−ε)·(−log p[t]) = −(1−ε)·(shifted[t] − log_total)，形状 (M,)。
        # BEGIN SOLUTION task06_1
        picked = xp.take_along_axis(shifted, safe[:, None], axis=1)[:, 0]
        # exp 只算一次，且原地写回 shifted（logits 大小的数组只分配这一个）：概率 p 留给反向用
        probs = xp.exp(shifted, out=shifted)
        total = xp.sum(probs, axis=1, keepdims=True)
        probs /= total
        log_total = xp.log(total)[:, 0]
        loss = -(1.0 - eps) * (picked - log_total)            # (1−ε)·(−log p[t])
        # END SOLUTION
        if w_t is not None:
            loss = loss * w_t
        if eps:  # Σ_c w_c·(−log p[c]) = (Σ_c w_c)·log Σ e − Σ_c w_c·shifted[c]
            w_sum = c if weight is None else xp.sum(weight)
            loss = loss - (eps / c) * (row_sum - w_sum * log_total)
        loss = xp.where(valid, loss, 0)
        ctx.save_for_backward(probs, safe, valid, weight)
        if ctx.reduction == "mean":
            # 分母留在设备上（不调用 .item()）：GPU 上不必等主机；全被忽略时 0/0 = nan，同 PyTorch
            ctx.count = xp.sum(valid).astype(loss.dtype) if w_t is None else xp.sum(w_t)
        return loss

    @staticmethod
    def _soft_forward(ctx, shifted, target, weight):
        xp = ctx.xp
        eps, (m, c) = ctx.eps, shifted.shape
        log_total = xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        logp = shifted
        logp -= log_total                                      # 原地：log p 就写在 shifted 里
        q = target * (1.0 - eps) + eps / c if eps else target
        wq = q if weight is None else q * weight
        ctx.save_for_backward(logp, target, weight)
        ctx.count = float(m) if m else math.nan                # 空批量求平均：nan，同 PyTorch
        return -xp.sum(wq * logp, axis=1)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        if ctx.reduction == "mean":
            g = g / ctx.count
        if ctx.soft:
            return CrossEntropy._soft_backward(ctx, g)
        probs, safe, valid, weight = ctx.saved_tensors
        eps, (m, c) = ctx.eps, probs.shape
        r = xp.where(valid, g, 0)  # 标量 g 在这里广播成每行一个数
        rows = xp.arange(m)
        if weight is None:
            # 融合的反向：∂ℓ/∂zᵢ = rᵢ·(softmax(zᵢ) − (1−ε)·onehot(tᵢ) − ε/C)。probs 不能原地改（retain_graph 时还要用）
            # BEGIN SOLUTION task06_2
            grad = probs * r[:, None]  # 新数组：probs 不能原地改，retain_graph 时还要再用
            grad[rows, safe] -= (1.0 - eps) * r
            if eps:
                grad -= (eps / c) * r[:, None]
            return grad, None, None, None, None, None
            # END SOLUTION
        coef = (1.0 - eps) * weight[safe]                     # (1−ε)·w[t]
        scale = coef + (eps / c) * xp.sum(weight) if eps else coef
        grad = probs * (r * scale)[:, None]
        grad[rows, safe] -= coef * r
        if eps:
            grad -= (eps / c) * (r[:, None] * weight)
        return grad, None, None, None, None, None

    @staticmethod
    def _soft_backward(ctx, g):
        xp = ctx.xp
        logp, target, weight = ctx.saved_tensors
        eps, c = ctx.eps, logp.shape[1]
        r = g[:, None] if g.ndim == 1 else g                   # reduction='none' 时每行一个数
        q = target * (1.0 - eps) + eps / c if eps else target
        wq = q if weight is None else q * weight
        gz = (xp.exp(logp) * xp.sum(wq, axis=1, keepdims=True) - wq) * r
        gt = None
        if ctx.needs_input_grad[1]:
            wlogp = logp if weight is None else logp * weight
            gt = wlogp * (-(1.0 - eps) * r)
        return gz, gt, None, None, None, None


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
        sig = _sigmoid(xp, z)
        return (g * (sig - t) if ctx.needs_input_grad[0] else None,
                -g * z if ctx.needs_input_grad[1] else None)


_BCE_EPS = 9.999999960041972e-13  # float32 的 1e−12（PyTorch 用的就是这个 float 常量）：∂ℓ/∂p 的分母 p(1 − p) 至少取它


def _log_or_neg_inf(xp, x):
    """log x，x = 0 处直接给 −∞（不经过 log 0，NumPy 就不会发出除以零的警告）。"""
    pos = x > 0
    return xp.where(pos, xp.log(xp.where(pos, x, 1.0)), -math.inf)


def _log1m_or_neg_inf(xp, p):
    """log(1 − p)，用 log1p(−p) 算（p 很小时更准，同 PyTorch）；p = 1 处直接给 −∞。"""
    below = p < 1
    return xp.where(below, xp.log1p(-xp.where(below, p, 0.0)), -math.inf)


class BinaryCrossEntropy(Function):
    """逐元素的二元交叉熵 (binary cross-entropy)，p 是概率：ℓ = −[t·max(log p, −100) + (1 − t)·max(log(1 − p), −100)]。

    两个 log 都截断在 −100（同 PyTorch）：p = 0 或 1 时损失有限。反向也照 PyTorch 的公式：
        ∂ℓ/∂p = (p − t) / max(p(1 − p), 1e−12)      （p = 0、1 处有限，不是 0/0 = nan）
        ∂ℓ/∂t = −logit p = log(1 − p) − log p        （不截断：p = 0 时为 +∞，p = 1 时为 −∞，同 PyTorch）
    """
    zh = "二元交叉熵"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, p, t):
        xp = ctx.xp
        ctx.save_for_backward(p, t)
        log_p = xp.maximum(_log_or_neg_inf(xp, p), -100.0)
        log_q = xp.maximum(_log1m_or_neg_inf(xp, p), -100.0)
        return -(t * log_p + (1.0 - t) * log_q)

    @staticmethod
    def backward(ctx, g):
        p, t = ctx.saved_tensors
        xp = ctx.xp
        gp = gt = None
        if ctx.needs_input_grad[0]:
            gp = g * (p - t) / xp.maximum((1.0 - p) * p, _BCE_EPS)
        if ctx.needs_input_grad[1]:
            gt = g * (_log1m_or_neg_inf(xp, p) - _log_or_neg_inf(xp, p))
        return gp, gt
