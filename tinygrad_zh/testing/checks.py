"""梯度检验 (gradient check) 与数值比较：``gradcheck``、``assert_close``。学生和教师都可以直接用。

梯度检验的想法：导数的定义就是差商的极限，所以可以用中心差分 (central difference)

    f'(x) ≈ (f(x + ε) − f(x − ε)) / (2ε)

独立地算出一个“数值梯度”，与反向传播给出的“解析梯度”对比。两者一致，backward 才算写对。
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor


class GradcheckError(AssertionError):
    """梯度检验失败：解析梯度与数值梯度不一致。"""


def _as_numpy(x):
    if isinstance(x, Tensor):
        x = x.data
    if backend.is_array(x):
        return backend.to_numpy(x)
    return np.asarray(x)


def assert_close(actual, expected, *, rtol=None, atol=None, equal_nan=False, msg=None):
    """断言 ``|actual − expected| ≤ atol + rtol·|expected|`` 逐元素成立（同 torch.testing.assert_close）。

    默认容差按 dtype 取：float32 为 rtol=1.3e-6、atol=1e-5；float64 为 rtol=1e-7、atol=1e-7；整数与布尔要求完全相等。
    失败时报告不符合的元素个数、最差的位置和两边的值。
    """
    a, e = _as_numpy(actual), _as_numpy(expected)
    if a.shape != e.shape:
        raise AssertionError(f"形状不同 (shape mismatch)：actual {a.shape}，expected {e.shape}。" + (f" {msg}" if msg else ""))
    # 两边 dtype 不同时按精度较低的一边取默认容差（float32 对 float64 的参考值按 float32 的标准）
    floats = [d for d in (a.dtype, e.dtype) if d.kind == "f"]
    kind = min(floats, key=lambda d: d.itemsize) if floats else np.result_type(a.dtype, e.dtype)
    if rtol is None or atol is None:
        if kind == np.float64:
            default = (1e-7, 1e-7)
        elif kind.kind == "f":
            default = (1.3e-6, 1e-5)
        else:
            default = (0.0, 0.0)
        rtol = default[0] if rtol is None else rtol
        atol = default[1] if atol is None else atol
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    close = np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if close.all():
        return
    with np.errstate(invalid="ignore"):
        err = np.abs(a64 - e64)
    err = np.where(np.isnan(err), np.inf, err)
    worst = np.unravel_index(int(np.argmax(np.where(close, -1, err))), a.shape) if a.ndim else ()
    raise AssertionError(
        f"数值不够接近 (not close)：{int((~close).sum())} / {close.size} 个元素超出容差 "
        f"(rtol={rtol}, atol={atol})。最差的位置 {tuple(int(i) for i in worst)}：actual={float(a64[worst])!r}，"
        f"expected={float(e64[worst])!r}，差={float(err[worst]):.3e}。" + (f" {msg}" if msg else ""))


def _scalar_objective(fn, inputs, upstream):
    """f(inputs) 与上游梯度的内积 Σ u·f：它对输入的导数正是反向传播要算的向量-雅可比积。"""
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = 0.0
    for o, u in zip(outs, upstream):
        total += float(np.sum(_as_numpy(o).astype(np.float64) * u))
    return total


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, max_elements=64, n_directions=16):
    """用 float64 中心差分检验 ``fn`` 的反向传播。通过返回 True，失败抛出 ``GradcheckError``。

    参数:
        fn: 接受 ``inputs``、返回张量（或张量元组）的函数。
        inputs: 输入；``requires_grad=True`` 的张量会被检验，必须是 float64
            （float32 的中心差分在 eps=1e-6 时误差太大，毫无意义）。
        eps, atol, rtol: 差分步长与容差：|解析 − 数值| ≤ atol + rtol·|数值|。
        seed: 上游梯度与随机方向的种子。
        max_elements: 元素不多于它的输入逐个元素检验；更大的输入改用 ``n_directions`` 个随机方向的方向导数。

    上游梯度 (upstream gradient) 是随机的，而不是全 1：用 ``.sum()`` 做上游时，
    softmax、layer-norm、转置等运算的很多错误会互相抵消而看不出来。

    例::

        >>> x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
        >>> gradcheck(lambda t: t.tanh(), x)
        True
    """
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck：没有 requires_grad=True 的输入可供检验。")
    for i, t in checked:
        if t.dtype != np.float64:
            raise TypeError(
                f"gradcheck 只接受 float64 输入，第 {i} 个输入是 {t.dtype}。"
                "原因：float32 只有约 7 位有效数字，ε=1e-6 的差分会被舍入误差淹没。提示：用 .double()。")
    rng = np.random.default_rng(seed)

    # 解析梯度：一次反向传播
    for _, t in checked:
        t.grad = None
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    outs = [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]
    upstream = [rng.standard_normal(o.shape) for o in outs]
    who = ", ".join(o.grad_fn.name for o in outs if o.grad_fn is not None) or "（输出不依赖输入）"
    for o, u in zip(outs, upstream):
        if o.requires_grad:
            o.backward(backend.to_device(u.astype(o.dtype), o.device), retain_graph=True)
    analytic = [np.zeros(t.shape) if t.grad is None else _as_numpy(t.grad).astype(np.float64) for _, t in checked]

    # 数值梯度：中心差分，输入在主机上扰动后再放回原设备
    with no_grad():
        for (i, t), ana in zip(checked, analytic):
            orig = t.data
            host = _as_numpy(orig).astype(np.float64)
            device = t.device

            def f_at(x):
                t.data = backend.to_device(x, device)
                return _scalar_objective(fn, inputs, upstream)

            try:
                if host.size <= max_elements:
                    num = np.zeros(host.size)
                    flat = host.reshape(-1)
                    for j in range(host.size):
                        x = flat.copy()
                        x[j] += eps
                        fp = f_at(x.reshape(host.shape))
                        x[j] -= 2 * eps
                        fm = f_at(x.reshape(host.shape))
                        num[j] = (fp - fm) / (2 * eps)
                    num = num.reshape(host.shape)
                    _compare(i, t, ana, num, atol, rtol, who, None)
                else:
                    for k in range(n_directions):
                        d = rng.standard_normal(host.shape)
                        fp, fm = f_at(host + eps * d), f_at(host - eps * d)
                        num_dir = np.array((fp - fm) / (2 * eps))
                        ana_dir = np.array(float(np.sum(ana * d)))
                        _compare(i, t, ana_dir, num_dir, atol, rtol, who, k)
            finally:
                t.data = orig
    return True


def _compare(i, t, ana, num, atol, rtol, who, direction):
    bad = np.abs(ana - num) > atol + rtol * np.abs(num)
    if not (bad.any() or not np.all(np.isfinite(ana))):
        return
    err = np.where(np.isfinite(ana), np.abs(ana - num), np.inf)
    worst = np.unravel_index(int(np.argmax(err)), ana.shape) if ana.ndim else ()
    where = (f"随机方向 #{direction} 上的方向导数" if direction is not None
             else f"最差的元素 index={tuple(int(w) for w in worst)}")
    raise GradcheckError(
        f"梯度检验失败 (gradcheck failed)：第 {i} 个输入 (shape={t.shape})，{where}："
        f"解析梯度 (analytic) = {ana[worst]:.8g}，数值梯度 (numerical) = {num[worst]:.8g}，"
        f"差 = {err[worst]:.3e}（容差 atol={atol}, rtol={rtol}）。输出来自 {who}。"
        "提示：检查相关 Function 的 backward 公式；若只在个别点失败，看看那里是否是不可导点 (kink)，"
        "例如 relu 在 0 处、abs 在 0 处、max 的并列处。")
