# %% [markdown]
# # 第 03 课 ★ 练习答案：张量与广播
#
# 运行：`python lessons/answers/03_tensors_broadcasting_answers.py`（在仓库根目录）。

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
from tinygrad_zh.autograd import Function
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


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device))
    print("第 03 课 ★ 练习答案全部通过。")
    return results


if __name__ == "__main__":
    run_lesson(main)
