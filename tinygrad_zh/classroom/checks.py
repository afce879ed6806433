"""任务测试用的比较与数值梯度：出错时用中文说清楚错在哪个量、哪个下标、差多少，并猜一猜常见的错因。

只依赖 NumPy，不经过自动微分引擎：一个任务的测试不因为别的任务（例如引擎本身）写错而失败。
"""

from __future__ import annotations

import numpy as np


class TaskCheckError(AssertionError):
    """任务的结果与参考数学不符。信息是中文，评分表直接显示它。"""


def to_numpy(x):
    """张量、NumPy 数组或数 → float64 的 NumPy 数组（张量取 .data；严格替身设备的数组走 backend）。"""
    data = getattr(x, "data", x) if hasattr(x, "grad_fn") else x
    if hasattr(data, "get") and not isinstance(data, np.ndarray):  # CuPy
        data = data.get()
    return np.asarray(data, dtype=np.float64)


def _guess(actual, expected):
    """几种常见错误的样子：符号反了、转置了、差一个常数倍、差一个常数。"""
    if actual.shape != expected.shape or not np.all(np.isfinite(actual)) or not np.any(expected):
        return ""
    scale = np.abs(expected).max()
    if np.allclose(actual, -expected, rtol=1e-4, atol=1e-6 * scale):
        return "看起来符号 (sign) 反了。"
    if actual.ndim >= 2 and actual.shape[-1] == actual.shape[-2] and np.allclose(
            np.swapaxes(actual, -1, -2), expected, rtol=1e-4, atol=1e-6 * scale):
        return "看起来最后两维转置 (transpose) 了。"
    mask = np.abs(expected) > 1e-3 * scale
    ratio = actual[mask] / expected[mask]
    if ratio.size > 1 and np.allclose(ratio, ratio[0], rtol=1e-4) and not np.isclose(ratio[0], 1.0):
        return f"与正确值差一个常数倍 {ratio[0]:.6g}（漏了或多了一个系数？）。"
    diff = actual - expected
    if diff.size > 1 and np.allclose(diff, diff.flat[0], rtol=0, atol=1e-6 * scale):
        return f"与正确值差一个常数 {diff.flat[0]:.6g}。"
    return ""


def check_close(name, actual, expected, *, rtol=1e-5, atol=1e-7, hint=""):
    """``actual`` 与 ``expected`` 逐元素接近；否则抛出 TaskCheckError，指出最差的下标与两个值。"""
    if actual is None:
        raise TaskCheckError(f"{name}：得到 None，应为形状 {np.shape(expected)} 的数组。{hint}")
    a, e = to_numpy(actual), to_numpy(expected)
    if a.shape != e.shape:
        raise TaskCheckError(f"{name} 的形状不对 (shape mismatch)：应为 {e.shape}，得到 {a.shape}。{hint}")
    bad = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return
    err = np.where(bad, np.abs(np.nan_to_num(a - e, nan=np.inf)), -1.0)
    idx = np.unravel_index(int(np.argmax(err)), a.shape) if a.ndim else ()
    where = f"下标 {tuple(int(i) for i in idx)}" if a.ndim else "这个数"
    raise TaskCheckError(
        f"{name} 不对：{int(bad.sum())}/{a.size} 个元素超出容差（rtol={rtol:g}，atol={atol:g}）；"
        f"差得最多的是{where}：得到 {a[idx]:.8g}，应为 {e[idx]:.8g}。{_guess(a, e)}{hint}")


def numeric_grad(f, x, upstream, eps=1e-6):
    """``Σ upstream ⊙ f(x)`` 对 ``x`` 的梯度，用 float64 中心差分逐元素算：(F(x + ε) − F(x − ε)) / 2ε。"""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = np.sum(upstream * f(x))
        x[i] = old - eps
        minus = np.sum(upstream * f(x))
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def check_grad(name, analytic, f, x, upstream, *, eps=1e-6, rtol=1e-4, atol=1e-6):
    """梯度检验 (gradient check)：解析梯度 ``analytic`` 与 ``f`` 在 ``x`` 处的中心差分比较。"""
    check_close(f"{name}（梯度检验 (gradient check)：与中心差分比较）", analytic,
                numeric_grad(f, x, upstream, eps), rtol=rtol, atol=atol,
                hint="提示：对照文档字符串里的反向公式，逐项检查转置、求和的轴与系数。")


def new_ctx(function_class, needs_input_grad, xp=np):
    """直接调用 ``forward`` / ``backward`` 用的 ctx：不经过 ``Function.apply`` 与引擎。"""
    ctx = function_class()
    ctx.xp = xp
    ctx.needs_input_grad = tuple(needs_input_grad)
    return ctx
