"""按元素 (elementwise) 运算：每个输出元素只依赖对应位置的输入元素。

每个 Function 的前向公式和局部导数写在一起（micrograd 的风格）。广播 (broadcasting)
由引擎在反向时求和回输入形状，这里的 backward 只需返回输出形状的梯度。
tanh、sigmoid、ReLU、GELU 这些激活函数也是按元素的，但它们属于“神经网络用的运算”，在 nn.py 里。
"""

import math
import numbers

from ..autograd import Function



class Add(Function):
    """y = a + b；∂y/∂a = 1，∂y/∂b = 1。"""
    zh = "加法"

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """y = a − b；∂y/∂a = 1，∂y/∂b = −1。"""
    zh = "减法"

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """y = a · b；∂y/∂a = b，∂y/∂b = a。"""
    zh = "乘法"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    """y = a / b；∂y/∂a = 1/b，∂y/∂b = −a/b² = −y/b。"""
    zh = "除法"

    @staticmethod
    def forward(ctx, a, b):
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        b, out = ctx.saved_tensors
        ga = g / b
        return (ga if ctx.needs_input_grad[0] else None,
                -ga * out if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """y = −a；∂y/∂a = −1。"""
    zh = "取负"

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """y = aᵖ（p 是 Python 数）；∂y/∂a = p·aᵖ⁻¹。

    p = 2、3 时用乘法代替幂函数：更快，结果也更准。
    """
    zh = "幂"

    @staticmethod
    def forward(ctx, a, p):
        ctx.save_for_backward(a)
        ctx.p = p
        if p == 2:
            return a * a
        if p == 3:
            return a * a * a
        return a ** p

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        p = ctx.p
        if p == 2:
            return g * 2 * a, None
        if p == 3:
            return g * 3 * (a * a), None
        return g * p * a ** (p - 1), None


class PowTensor(Function):
    """y = aᵇ（a、b 都是张量）；∂y/∂a = b·aᵇ⁻¹，∂y/∂b = aᵇ·ln a。"""
    zh = "幂"

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        # 底数是 Python 数时用 math.log：xp.log(2.0) 会返回 float64 标量，把 float32 的梯度提升成 float64
        log_a = math.log(a) if isinstance(a, numbers.Number) else ctx.xp.log(a)
        return (g * b * a ** (b - 1) if ctx.needs_input_grad[0] else None,
                g * out * log_a if ctx.needs_input_grad[1] else None)


class Exp(Function):
    """y = eᵃ；∂y/∂a = eᵃ = y。"""
    zh = "指数"

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    """y = ln a；∂y/∂a = 1/a。"""
    zh = "对数"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    """y = √a；∂y/∂a = 1/(2√a) = 0.5/y。"""
    zh = "平方根"

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * 0.5 / out


class Abs(Function):
    """y = |a|；∂y/∂a = sign(a)，在 0 处取 0（与 PyTorch 相同）。"""
    zh = "绝对值"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.abs(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * ctx.xp.sign(a)


class _PairExtremum(Function):
    """按元素的最大 / 最小值：梯度给“胜出”的一方，相等时两边各得一半（与 PyTorch 相同）。"""
    pick = "maximum"

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(ctx.xp, cls.pick)(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        a_wins, b_wins = (a > b, b > a) if cls.pick == "maximum" else (a < b, b < a)
        half = xp.where(a == b, g * 0.5, 0)
        return (xp.where(a_wins, g, half) if ctx.needs_input_grad[0] else None,
                xp.where(b_wins, g, half) if ctx.needs_input_grad[1] else None)


class Maximum(_PairExtremum):
    """y = max(a, b) 按元素。"""
    zh = "按元素最大值"
    pick = "maximum"


class Minimum(_PairExtremum):
    """y = min(a, b) 按元素。"""
    zh = "按元素最小值"
    pick = "minimum"


class Clamp(Function):
    """y = min(max(a, lo), hi)；∂y/∂a = 1 当 lo ≤ a ≤ hi（含边界，与 PyTorch 相同），否则 0。"""
    zh = "截断"

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a)
        ctx.lo, ctx.hi = lo, hi
        return ctx.xp.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        xp = ctx.xp
        if ctx.lo is not None:
            g = xp.where(a >= ctx.lo, g, 0)
        if ctx.hi is not None:
            g = xp.where(a <= ctx.hi, g, 0)
        return g, None, None


class Where(Function):
    """y = cond ? a : b；梯度按 cond 分给 a 或 b（cond 本身不可微）。"""
    zh = "条件选择"

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return ctx.xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        xp = ctx.xp
        return (None,
                xp.where(cond, g, 0) if ctx.needs_input_grad[1] else None,
                xp.where(cond, 0, g) if ctx.needs_input_grad[2] else None)


class Cast(Function):
    """改变 dtype：y = a.astype(dtype)；梯度转回输入的 dtype。"""
    zh = "类型转换"

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.in_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.in_dtype), None
