# %% [markdown]
# # 第 03 课练习答案：张量与广播
#
# 运行：`python lessons/answers/03_tensors_broadcasting_answers.py [--quick]`（在仓库根目录）。
#
# `--quick` 只让练习 3 少试几组随机形状（50 组而不是 500 组）。

# %%
import sys
import warnings
from pathlib import Path

try:
    import tinygrad_zh  # noqa: F401
except ImportError:  # 没有 pip install -e . 时，从仓库根目录导入（脚本用 __file__，notebook 用当前目录）
    here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    sys.path.insert(0, str(here.parents[1]))

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.autograd import Function, sum_to_shape
from tinygrad_zh.lesson import run_lesson
from tinygrad_zh.testing import assert_close, gradcheck

# %% [markdown]
# ## ★ 练习 1：`(2, 1, 3) + (4, 1)`
#
# 从右对齐，短的一方左边补 1：
#
# ```
#   a: (2, 1, 3)
#   b: (1, 4, 1)      ← (4, 1) 左边补一个 1
#   ------------
#   c: (2, 4, 3)
# ```
#
# 反向时（广播的伴随是求和）：
#
# - `a` 的第 1 维是 1、被复制成 4：`a.grad = G.sum(dim=1, keepdim=True)`，形状 `(2, 1, 3)`；
# - `b` 前面补出来的第 0 维要整个求和掉；`b` 的最后一维是 1、被复制成 3，也要求和（保留维度）：
#   `b.grad = G.sum(dim=0).sum(dim=-1, keepdim=True)`，形状 `(4, 1)`。

# %%
def exercise1(device):
    print("★ 练习 1：(2, 1, 3) + (4, 1)")
    tg.manual_seed(0)
    a = tg.randn(2, 1, 3, device=device, requires_grad=True)
    b = tg.randn(4, 1, device=device, requires_grad=True)
    c = a + b
    G = tg.randn(*c.shape, device=device)
    c.backward(G)
    expected_a = G.sum(dim=1, keepdim=True)
    expected_b = G.sum(dim=0).sum(dim=-1, keepdim=True)
    assert c.shape == (2, 4, 3)
    assert a.grad.shape == (2, 1, 3) and b.grad.shape == (4, 1)
    assert_close(a.grad, expected_a)
    assert_close(b.grad, expected_b)
    print(f"  c.shape = {c.shape}，a.grad.shape = {a.grad.shape}，b.grad.shape = {b.grad.shape}：与手推一致")
    return {"c_shape": c.shape, "a_grad_shape": a.grad.shape, "b_grad_shape": b.grad.shape}


# %% [markdown]
# ## ★ 练习 2：`Softplus`
#
# `y = log(1 + eˣ)`，`dy/dx = eˣ / (1 + eˣ) = sigmoid(x)`。
#
# - 前向：直接写 `log(1 + exp(x))`，`x = 1000` 时 `exp(x)` 上溢成 `inf`。`logaddexp(0, x) = log(e⁰ + eˣ)` 内部先减去最大值，不会上溢。
# - 反向：`1 / (1 + e⁻ˣ)` 在 `x = −1000` 时 `e⁻ˣ` 同样上溢（结果碰巧是 0，但会有警告）。
#   更好的写法是利用已经算好的输出 `y`：`sigmoid(x) = eˣ / (1 + eˣ) = exp(x − y)`。
#   `x − y ≤ 0`，`exp` 永远不会上溢。所以 `forward` 把 `x` 和 `y` 都存下来。

# %%
class Softplus(Function):
    """y = log(1 + eˣ)；dy/dx = sigmoid(x) = exp(x − y)。"""
    zh = "Softplus"

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.logaddexp(0, x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * ctx.xp.exp(x - y)


def exercise2(device):
    print("★ 练习 2：Softplus")
    tg.manual_seed(0)
    x64 = tg.randn(4, 5, dtype=tg.float64, device=device, requires_grad=True)
    ok = gradcheck(Softplus.apply, x64)
    print(f"  gradcheck(Softplus.apply, float64 (4, 5)) → {ok}")

    x = tg.tensor([-1000.0, -1.0, 0.0, 1.0, 1000.0], device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # 任何上溢警告都当成错误
        y = Softplus.apply(x)
        y.sum().backward()
    y_list, g_list = y.tolist(), x.grad.tolist()
    assert all(np.isfinite(y_list)) and all(np.isfinite(g_list))
    print(f"  x      = {x.detach().tolist()}")
    print(f"  y      = {[round(v, 6) for v in y_list]}")
    print(f"  dy/dx  = {[round(v, 6) for v in g_list]}（即 sigmoid(x)，全部有限）")
    assert_close(x.grad, x.detach().sigmoid())
    return {"softplus_gradcheck": ok, "softplus_values": y_list, "softplus_grads": g_list}


# %% [markdown]
# ## ★★ 练习 3：`my_unbroadcast`，只用 `sum(dim, keepdim=True)` 与 `reshape`
#
# 和第 6 步的 `unbroadcast` 思路相同，只是作用在张量上，而且每次求和都保留维度，最后用一次 `reshape` 收尾：
#
# 1. 梯度比目标形状多出来的 `lead = grad.ndim − len(shape)` 个前导维度：逐个 `sum(dim=i, keepdim=True)`，
#    它们变成长度 1；
# 2. 其余维度与 `shape` 右对齐：目标是 1、梯度不是 1 的那一维，`sum(dim=lead + i, keepdim=True)`；
# 3. 此时梯度的形状是 `(1, …, 1) + shape`，元素个数与 `shape` 相同，`reshape(shape)` 去掉前面的 1。
#
# 因为一直 `keepdim=True`，维度编号不会因为求和而移动，不用像 `unbroadcast` 那样每次都对第 0 维求和。
# 只用了张量运算，所以它本身也可求导、在 GPU 上也能跑。
#
# 检验：随机生成形状对（结果形状 1～4 维，每维 1～5；输入取它的一段后缀，每一维随机换成 1），
# 把随机梯度分别交给 `my_unbroadcast` 和框架的 `sum_to_shape`，结果必须相同；题目里的 `(5, 1, 3)` 与 `(4, 1)` 也单独验证一次。


# %%
def my_unbroadcast(grad, shape):
    """把张量 grad 求和回 shape（只用 sum(dim, keepdim=True) 与 reshape）。"""
    shape = tuple(shape)
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"梯度 {grad.shape} 的维数比目标形状 {shape} 少，不可能是广播出来的")
    for i in range(lead):
        grad = grad.sum(dim=i, keepdim=True)
    for i, s in enumerate(shape):
        if s == 1 and grad.shape[lead + i] != 1:
            grad = grad.sum(dim=lead + i, keepdim=True)
        elif grad.shape[lead + i] != s:
            raise ValueError(f"梯度 {grad.shape} 不能求和回形状 {shape}")
    return grad.reshape(shape)


def random_shape_pair(rng):
    """随机的 (输入形状, 广播后的形状)。"""
    big = tuple(int(d) for d in rng.integers(1, 6, size=rng.integers(1, 5)))
    small = big[rng.integers(0, len(big) + 1):]           # 一段后缀（可能是空的，即标量）
    small = tuple(1 if rng.random() < 0.4 else d for d in small)
    return small, big


def exercise3(device, quick):
    print("★★ 练习 3：my_unbroadcast")
    tg.manual_seed(0)
    a_shape, b_shape = (5, 1, 3), (4, 1)
    out_shape = (tg.zeros(*a_shape, device=device) + tg.zeros(*b_shape, device=device)).shape
    G = tg.randn(*out_shape, dtype=tg.float64, device=device)
    G_np = G.cpu().numpy()
    for shape in (a_shape, b_shape):
        ours = my_unbroadcast(G, shape)
        assert ours.shape == shape
        assert_close(ours, sum_to_shape(np, G_np, shape))
        print(f"  {out_shape} → {shape}：与 sum_to_shape 一致")

    rng = np.random.default_rng(0)
    n_pairs = 50 if quick else 500
    for _ in range(n_pairs):
        small, big = random_shape_pair(rng)
        g = rng.standard_normal(big)
        ours = my_unbroadcast(tg.tensor(g, device=device), small)
        assert ours.shape == small, (ours.shape, small, big)
        assert_close(ours, sum_to_shape(np, g, small))
    print(f"  另外 {n_pairs} 组随机形状对（如 {small} ← {big}）：全部与 sum_to_shape 一致")
    return {"my_unbroadcast_pairs": n_pairs}


# %% [markdown]
# ## ★★★ 练习 4：支持批量广播的 `MyMatMul`
#
# 对最后两维 `C = A @ B`（`A: (…, m, k)`、`B: (…, k, n)`、`C: (…, m, n)`），由 $C_{ij} = \sum_l A_{il} B_{lj}$：
#
# $$\frac{\partial L}{\partial A_{il}} = \sum_j G_{ij} B_{lj} = (G B^\top)_{il},\qquad
#   \frac{\partial L}{\partial B_{lj}} = \sum_i A_{il} G_{ij} = (A^\top G)_{lj},$$
#
# 其中 $G = \partial L/\partial C$，转置只交换**最后两维**（`swapaxes(-1, -2)`）。
#
# 批量维度怎么办？前向时 `matmul` 先把 `A`、`B` 的批量维度互相广播，例如 `(2, 1, 3, 4) @ (5, 4, 2)`：
# 批量维 `(2, 1)` 与 `(5,)` 广播成 `(2, 5)`，结果 `(2, 5, 3, 2)`。于是 `G @ Bᵀ` 的形状是 `(2, 5, 3, 4)`，
# `Aᵀ @ G` 的形状是 `(2, 5, 4, 2)`，都是“广播后”的形状。这正好是第 6 步的情形：把它们原样返回，
# 引擎的 `sum_to_shape` 会把复制出来的批量维求和掉，回到 `(2, 1, 3, 4)` 与 `(5, 4, 2)`。
# （这里只处理至少二维的输入；一维向量要先 `unsqueeze` 成矩阵，框架自带的 `@` 会替你做这一步。）
#
# `backward` 只用运算符、`ctx.xp.matmul` 与 `ctx.xp.swapaxes`，并且只保存输入本身。检验：`gradcheck`（float64、
# 随机上游梯度、逐元素），再与框架自带的 `@` 对比前向与梯度。


# %%
class MyMatMul(Function):
    """C = A @ B（至少二维，批量维可以广播）；∂A = G @ Bᵀ，∂B = Aᵀ @ G，批量维由引擎求和回输入形状。"""
    zh = "我的矩阵乘法"

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError("MyMatMul 只处理至少二维的输入；向量请先 unsqueeze 成矩阵")
        ctx.save_for_backward(a, b)
        return ctx.xp.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        return xp.matmul(grad, xp.swapaxes(b, -1, -2)), xp.matmul(xp.swapaxes(a, -1, -2), grad)


def exercise4(device):
    print("★★★ 练习 4：MyMatMul")
    tg.manual_seed(0)
    results = {}
    for sa, sb in [((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (4, 1))]:
        A = tg.randn(*sa, dtype=tg.float64, device=device, requires_grad=True)
        B = tg.randn(*sb, dtype=tg.float64, device=device, requires_grad=True)
        ok = gradcheck(MyMatMul.apply, A, B)
        A.grad = B.grad = None                  # gradcheck 的反向传播会在 .grad 里留下梯度
        C = MyMatMul.apply(A, B)
        G = tg.randn(*C.shape, dtype=tg.float64, device=device)
        C.backward(G)
        ours = (A.grad, B.grad)
        A.grad = B.grad = None
        ref = A @ B
        ref.backward(G)
        assert_close(C, ref)
        assert_close(ours[0], A.grad)
        assert_close(ours[1], B.grad)
        assert ours[0].shape == sa and ours[1].shape == sb
        print(f"  {sa} @ {sb} → {C.shape}：gradcheck → {ok}；前向与梯度都与框架的 @ 一致，"
              f"梯度形状 {ours[0].shape} 与 {ours[1].shape}")
        results[f"{sa} @ {sb}"] = C.shape
    return {"my_matmul_shapes": results}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device))
    results.update(exercise3(device, quick))
    results.update(exercise4(device))
    print("第 03 课练习答案全部通过。")
    return results


if __name__ == "__main__":
    run_lesson(main)
