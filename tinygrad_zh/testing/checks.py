"""梯度检验 (gradient check) 与数值比较：``gradcheck``、``assert_close``。学生和教师都可以直接用。

梯度检验的想法：导数的定义就是差商的极限，所以可以用中心差分 (central difference)

    f'(x) ≈ (f(x + ε) − f(x − ε)) / (2ε)

独立地算出一个“数值梯度”，与反向传播给出的“解析梯度”对比。两者一致，backward 才算写对。
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

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


# 单个元素的梯度错了 _CATCH_REL（1%）时，分组随机方向检验漏掉它的概率不超过 _MISS_PROB
_CATCH_REL = 0.01
_MISS_PROB = 1e-3


def _scalar_objective(fn, inputs, upstream):
    """f(inputs) 与上游梯度的内积 Σ u·f：它对输入的导数正是反向传播要算的向量-雅可比积。

    ``upstream`` 是展平的 float64 数组。用 ``np.dot``（不发浮点警告）：非有限值由调用者报告。
    """
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = 0.0
    for o, u in zip((o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"), upstream):
        total += float(np.dot(np.asarray(_as_numpy(o), dtype=np.float64).reshape(-1), u))
    return total


class GroupPlan(NamedTuple):
    """分组随机方向检验的参数。"""
    size: int         # 每组至多几个元素 (G)
    rounds: int       # 做几轮
    per_round: float  # 每轮漏掉一个错 1% 的元素的概率上界（切比雪夫）；每组一个元素时检验是确定的，为 0


def group_plan(rtol, n=None):
    """分组随机方向检验的参数 ``GroupPlan(size, rounds, per_round)``（推导见 ``gradcheck`` 的文档）。

    ``rtol`` 太大（1% 的误差本来就在容差内）或为 0 时每组一个元素、一轮，就是逐元素检验。给了 ``n`` 时组不超过 ``n`` 个元素。
    """
    rho = _CATCH_REL * 10 / (11 + 10 * _CATCH_REL)  # |g_k| ≥ 10·atol/rtol 时 1% 误差的归一化大小 ≈ 0.009
    t = rho / rtol - 1 if rtol > 0 else 0.0  # rtol = 0：没有相对容差可用来分组，逐元素检验
    G = int(min(t * t / np.e, 2**31)) if t > 0 else 0
    if n is not None:
        G = min(G, n)
    if G <= 1:
        return GroupPlan(1, 1, 0.0)
    per_round = G / (t * t)  # 切比雪夫：每轮漏掉的概率 ≤ E[T²]/t² ≤ G/t²
    rounds = max(1, int(np.ceil(np.log(_MISS_PROB) / np.log(per_round))))
    return GroupPlan(G, rounds, per_round)


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, max_elements=4096, n_directions=None):
    """用 float64 中心差分检验 ``fn`` 的反向传播。通过返回 True，失败抛出 ``GradcheckError``。

    参数:
        fn: 接受 ``inputs``、返回张量（或张量元组）的函数。
        inputs: 输入；``requires_grad=True`` 的张量会被检验，必须是 float64
            （float32 的中心差分在 eps=1e-6 时误差太大，毫无意义）。
        eps, atol, rtol: 差分步长与容差：|解析 − 数值| ≤ atol + rtol·|数值|。
        seed: 上游梯度、随机分组与随机符号的种子。
        max_elements: 元素不多于它的输入逐个元素检验；更大的输入改用分组随机方向（见下）。
        n_directions: 已弃用 (deprecated)，不再起作用：随机方向的个数现在由 ``rtol`` 推出（见下）。

    检验什么：取随机的上游梯度 (upstream gradient) ``u``，反向传播一次得到解析梯度 ``a``，
    它应当等于标量 ``F(x) = Σ u·f(x)`` 的梯度 ``g``。上游梯度是随机的而不是全 1：用 ``.sum()`` 做上游时，
    softmax、layer-norm、转置等运算的很多错误会互相抵消而看不出来。

    - 不多于 ``max_elements``（默认 4096）个元素的输入：对每个元素 j 做中心差分
      ``(F(x + ε·e_j) − F(x − ε·e_j)) / 2ε``（每个元素两次前向，同 ``torch.autograd.gradcheck``），逐元素比较。
      一个随机方向只看到所有元素的加权和，一个元素错 1% 淹没在和的容差里，所以小输入一定逐个检验。
    - 更大的输入用分组随机方向 (group testing)：每一轮把元素随机分成至多 G 个一组，每组一个方向
      ``d_j = ±m / c_j``（随机符号；``c_j = atol/rtol + |a_j|``，``m`` 是组内最小的 ``c_j``，
      于是每个元素对方向导数的贡献 ``|g_j·d_j| ≲ m`` 一样大，梯度小的元素不会被大的盖住；每个元素的步长都不超过 ε），
      每个元素每轮都被检验。
      推导：元素 k 错 1% 且 ``|g_k| ≥ 10·atol/rtol`` 时，只有 ``|T| = |Σ ±g_j/c_j| ≥ t = 0.009/rtol − 1``
      （rtol=1e-3 时 t ≈ 8）才会漏掉；由切比雪夫不等式每轮 ``P ≤ E[T²]/t² ≤ G/t²``，取 ``G = ⌊t²/e⌋``
      （rtol=1e-3 时 23）每轮至多 1/e，各轮独立，做 ``⌈ln 1000⌉ = 7`` 轮后全漏的概率 ≤ e⁻⁷ < 0.001。
      某一组不通过时，再把这一组的元素逐个差分，报告最差的那个。
    - 非有限值 (non-finite，NaN/Inf) 一律失败：输出、解析梯度或数值梯度里的 NaN 让比较永远为假，不能放过。
      报告会说是哪个输入、哪个元素，以及 ``f(x±ε)`` 本身是否非有限（检验点附近有极点或折点时，换一个点）。

    例::

        >>> x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
        >>> gradcheck(lambda t: t.tanh(), x)
        True
    """
    if n_directions is not None:
        warnings.warn("gradcheck 的 n_directions 参数已弃用 (deprecated)，不再起作用：不多于 max_elements 个元素的输入"
                      "逐元素检验，更大的输入用分组随机方向，方向个数由 rtol 推出。请去掉这个参数。",
                      FutureWarning, stacklevel=2)
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
    _check_outputs_finite(outs)
    upstream = [rng.standard_normal(o.shape) for o in outs]
    who = ", ".join(o.grad_fn.name for o in outs if o.grad_fn is not None) or "（输出不依赖输入）"
    for o, u in zip(outs, upstream):
        if o.requires_grad:
            o.backward(backend.to_device(u.astype(o.dtype), o.device), retain_graph=True)
    flat_upstream = [u.reshape(-1) for u in upstream]
    analytic = [np.zeros(t.shape) if t.grad is None else _as_numpy(t.grad).astype(np.float64) for _, t in checked]

    # 数值梯度：中心差分，输入在主机上扰动后再放回原设备
    with no_grad():
        for (i, t), ana in zip(checked, analytic):
            orig = t.data
            host = _as_numpy(orig).astype(np.float64).reshape(-1)
            ana = ana.reshape(-1)
            device = t.device

            def f_at(x, t=t, device=device, shape=tuple(t.shape)):
                t.data = backend.to_device(x.reshape(shape), device)
                return _scalar_objective(fn, inputs, flat_upstream)

            report = _Report(i, t, atol, rtol, who)
            try:
                nonfinite = np.flatnonzero(~np.isfinite(ana))
                if nonfinite.size:  # 解析梯度里有 NaN/Inf：不必比较，直接报告第一个
                    j = nonfinite[:1]
                    num, fp, fm = _columns(f_at, host, j, eps)
                    report.fail(j[0], ana[j[0]], num[0], fp[0], fm[0], count=nonfinite.size)
                plan = group_plan(rtol, host.size)
                if host.size <= max(max_elements, 0) or plan.size == 1:
                    num, fp, fm = _columns(f_at, host, np.arange(host.size), eps)
                    report.check_elements(np.arange(host.size), ana, num, fp, fm)
                else:
                    _group_test(f_at, host, ana, eps, rng, report, plan)
            finally:
                t.data = orig
    return True


def _check_outputs_finite(outs):
    for k, o in enumerate(outs):
        arr = _as_numpy(o)
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape) if arr.ndim else ()
            raise GradcheckError(
                f"梯度检验失败 (gradcheck failed)：在检验点 x 处，fn 的第 {k} 个输出 (shape={tuple(arr.shape)}) "
                f"有 {int(bad.sum())} 个非有限值 (non-finite)，第一个在 index={tuple(int(w) for w in idx)}，"
                f"值为 {float(arr[idx])!r}。这样的点上导数没有意义，NaN 还会让所有比较都“通过”。"
                "提示：换一个检验点 (move the point)，避开定义域外（如 log 的负数）和极点 (pole)；或检查前向是否溢出。")


def _columns(f_at, host, idx, eps):
    """对 ``idx`` 里的每个元素做一次中心差分。返回 (数值梯度, F(x+ε), F(x−ε))，各是长度 len(idx) 的数组。"""
    fp, fm = np.empty(len(idx)), np.empty(len(idx))
    for n, j in enumerate(idx):
        x = host.copy()
        x[j] = host[j] + eps
        fp[n] = f_at(x)
        x[j] = host[j] - eps
        fm[n] = f_at(x)
    with np.errstate(all="ignore"):
        return (fp - fm) / (2 * eps), fp, fm


def _group_test(f_at, host, ana, eps, rng, report, plan):
    n = host.size
    G, rounds, _ = plan
    # c_j = atol/rtol + |a_j|；atol = 0 时用解析梯度均方根的 1% 代替 atol/rtol，免得除以 0
    floor = report.atol / report.rtol if report.atol > 0 else 0.01 * (float(np.sqrt(np.mean(ana * ana))) or 100.0)
    scale = floor + np.abs(ana)
    n_groups = -(-n // G)
    for r in range(rounds):
        signs = rng.integers(0, 2, n) * 2.0 - 1.0
        for k, J in enumerate(np.array_split(rng.permutation(n), n_groups)):
            d = signs[J] * (scale[J].min() / scale[J])
            xp, xm = host.copy(), host.copy()
            xp[J] += eps * d
            xm[J] -= eps * d
            fp, fm = f_at(xp), f_at(xm)
            d_eff = (xp[J] - xm[J]) / (2 * eps)  # 实际扰动（扣除 x + ε·d 的舍入）
            with np.errstate(all="ignore"):
                num = (fp - fm) / (2 * eps)
            ana_dir = float(np.dot(ana[J], d_eff))
            if np.isfinite(num) and abs(ana_dir - num) <= report.atol + report.rtol * abs(num):
                continue
            # 这一组不通过：逐个元素复查，找出是谁
            where = (f"第 {r + 1}/{rounds} 轮的随机分组方向 (random group direction) #{k}（这一组 {len(J)} 个元素）"
                     f"上的方向导数：解析 = {ana_dir:.8g}，数值 = {num:.8g}"
                     + ("" if np.isfinite(num) else f"（F(x+ε·d) = {fp!r}，F(x−ε·d) = {fm!r}）") + "。逐个元素复查")
            report.check_elements(J, ana[J], *_columns(f_at, host, J, eps), where=where)
            why = (f"每个元素单独都在容差内，但这一组合起来超出容差（atol={report.atol}, rtol={report.rtol}）。"
                   "提示：可能是组内几个元素的小误差叠加，或函数在 x±ε·d 处不光滑。" if np.isfinite(num) else
                   "每个元素单独挪动时输出都有限，一起挪动时却出现非有限值 (non-finite)。"
                   "提示：检验点附近可能有极点 (pole) 或出了定义域，换一个检验点 (move the point)。")
            raise GradcheckError(f"梯度检验失败 (gradcheck failed)：第 {report.i} 个输入 "
                                 f"(shape={tuple(report.t.shape)})，{where}，{why}输出来自 {report.who}。")


class _Report:
    """比较逐元素结果并写出失败信息。"""

    def __init__(self, i, t, atol, rtol, who):
        self.i, self.t, self.atol, self.rtol, self.who = i, t, atol, rtol, who

    def check_elements(self, idx, ana, num, fp, fm, where=None):
        nonfinite = np.flatnonzero(~np.isfinite(num))
        if nonfinite.size:
            n = nonfinite[0]
            self.fail(idx[n], ana[n], num[n], fp[n], fm[n], where=where, count=nonfinite.size)
        err = np.abs(ana - num)
        excess = err - (self.atol + self.rtol * np.abs(num))
        if (excess > 0).any():
            n = int(np.argmax(excess))
            self.fail(idx[n], ana[n], num[n], fp[n], fm[n], where=where, count=int((excess > 0).sum()))

    def fail(self, j, ana, num, fp, fm, where=None, count=1):
        shape = tuple(self.t.shape)
        index = tuple(int(w) for w in np.unravel_index(int(j), shape)) if shape else ()
        finite = np.isfinite(ana) and np.isfinite(num)
        head = f"梯度检验失败 (gradcheck failed)：第 {self.i} 个输入 (shape={shape})，"
        if where:
            head += where + "，"
        head += "最差的" if finite else "出现非有限值 (non-finite)，第一个"
        head += f"元素 index={index}" + (f"（共 {count} 个元素不通过）" if count > 1 else "") + "："
        msg = (head + f"解析梯度 (analytic) = {ana:.8g}，数值梯度 (numerical) = {num:.8g}，"
               + (f"差 = {abs(ana - num):.3e}（容差 atol={self.atol}, rtol={self.rtol}）。" if finite else ""))
        if not np.isfinite(num):
            bad = [s for s, v in (("x+ε", fp), ("x−ε", fm)) if not np.isfinite(v)]
            msg += (f"数值梯度非有限，因为输出本身在 {' 和 '.join(bad)} 处就是非有限值：函数在检验点附近有极点 (pole)、"
                    "折点 (kink) 或出了定义域。提示：换一个检验点 (move the point)，让 x±ε 都在光滑的区域里。"
                    if bad else "数值梯度非有限（F(x±ε) 本身有限，但差值溢出）。")
        elif not np.isfinite(ana):
            msg += "解析梯度非有限，而数值梯度有限：backward 在这里除以了 0、取了 log(0) 或溢出了。"
        msg += f"输出来自 {self.who}。"
        if finite:
            msg += ("提示：检查相关 Function 的 backward 公式；若只在个别点失败，看看那里是否是不可导点 (kink)，"
                    "例如 relu 在 0 处、abs 在 0 处、max 的并列处。")
        raise GradcheckError(msg)
