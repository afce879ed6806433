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
        # BEGIN SOLUTION task03_2
        out = a / b
        ctx.save_for_backward(b, out)
        return out
        # END SOLUTION

    @staticmethod
    def backward(ctx, g):
        # BEGIN SOLUTION task03_2
        b, out = ctx.saved_tensors
        ga = g / b
        return (ga if ctx.needs_input_grad[0] else None,
                -ga * out if ctx.needs_input_grad[1] else None)
        # END SOLUTION


def _integral(x):
    """Python 整数或整数 / 布尔数组。"""
    if isinstance(x, numbers.Number):
        return isinstance(x, numbers.Integral)
    return x.dtype.kind in "iub"


def _check_integer_divisor(xp, a, b, name):
    """整数除以 0：PyTorch 报错 (ZeroDivisionError)，NumPy 只发警告、悄悄给出 0。浮点数除以 0 照 IEEE 给 inf / nan。"""
    if not (_integral(a) and _integral(b)):
        return
    if b == 0 if isinstance(b, numbers.Number) else bool(xp.any(b == 0)):
        raise RuntimeError(f"整数除以零 (ZeroDivisionError)：{name} 的除数里有 0。整数没有 inf / nan 可以表示这个结果（同 PyTorch）。"
                           "提示：先转成浮点数 (.float())，或先检查除数。")


class FloorDivide(Function):
    """y = ⌊a / b⌋：向负无穷取整的除法（同 Python 的 ``//`` 与 PyTorch 的 floor_divide），如 −7 // 2 = −4。

    y 是分段常数：几乎处处导数为 0，a/b 为整数处跳变。PyTorch 没有实现它的导数 (not implemented)：
    输入需要梯度时结果仍连在计算图上，反向传播经过这里就报错；这里也一样，免得悄悄给出一个“看起来对”的 0。
    """
    zh = "向下取整除法"

    @staticmethod
    def forward(ctx, a, b):
        _check_integer_divisor(ctx.xp, a, b, "floor_divide (//)")
        return ctx.xp.floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(
            "floor_divide (//) 的导数没有实现 (derivative for floor_divide is not implemented)，同 PyTorch："
            "⌊a/b⌋ 是分段常数，在 a/b 为整数处不连续。提示：只当作常数用时先 .detach()；要可导的余数用 remainder (%)。")


class Remainder(Function):
    """y = a − b·⌊a/b⌋：余数的符号与除数 b 相同（同 Python 的 ``%`` 与 PyTorch 的 remainder），如 −7 % 3 = 2。

    ∂y/∂a = 1，∂y/∂b = −⌊a/b⌋（在 a/b 为整数处 y 跳变，那里也用这个公式，同 PyTorch）。
    """
    zh = "取余"

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        _check_integer_divisor(xp, a, b, "remainder (%)")
        if not isinstance(b, numbers.Number) and b.dtype.kind == "f":  # 除数是浮点张量：存下商给 ∂y/∂b 用（它是常数，二阶导数也对）
            ctx.save_for_backward(xp.floor_divide(a, b))
        return xp.remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        gb = None
        if ctx.needs_input_grad[1]:
            (quotient,) = ctx.saved_tensors
            gb = -g * quotient
        return (g if ctx.needs_input_grad[0] else None), gb


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
    """y = aᵖ（p 是 Python 数）；∂y/∂a = p·aᵖ⁻¹，p = 0 时 ∂y/∂a = 0（同 PyTorch：0⁰ 处不是 0·0⁻¹ = nan）。

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
        if p == 0:  # y ≡ 1：导数处处为 0（张量的 g 乘 0 还能再求导）
            return (g * 0 if ctx.create_graph else ctx.xp.zeros_like(a)), None
        if p == 2:
            return g * 2 * a, None
        if p == 3:
            return g * 3 * (a * a), None
        return g * p * a ** (p - 1), None


def _scalar_log(a):
    """Python 数的 ln a：0 → −∞，负数 → nan（math.log 会报 math domain error）。

    结果是 Python float：xp.log(2.0) 会返回 float64 标量，把 float32 的梯度提升成 float64。
    """
    if a > 0:
        return math.log(a)
    return -math.inf if a == 0 else math.nan


class PowTensor(Function):
    """y = aᵇ（b 是张量，a 是张量或 Python 数）；∂y/∂a = b·aᵇ⁻¹，∂y/∂b = aᵇ·ln a。

    与 PyTorch 相同的约定：b = 0 处 ∂y/∂a = 0（不是 0·0⁻¹ = nan）；a = 0 且 b ≥ 0 处 ∂y/∂b = 0（不是 0·ln 0 = nan）；
    a < 0 时 ln a = nan，∂y/∂b 为 nan。
    """
    zh = "幂"

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        xp = ctx.xp
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = xp.where(b == 0, 0.0, g * b * a ** (b - 1))
        if ctx.needs_input_grad[1]:
            if isinstance(a, numbers.Number):
                gb = g * out * _scalar_log(a)
                if a == 0:
                    gb = xp.where(b >= 0, 0.0, gb)
            else:
                zero_base = a == 0
                log_a = xp.log(xp.where(zero_base, 1.0, a))  # 0 处先不取 log：免得 NumPy 警告，下面再补上 −∞
                gb = g * out * xp.where(zero_base, -math.inf, log_a)
                gb = xp.where(zero_base & (b >= 0), 0.0, gb)
        return ga, gb


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
