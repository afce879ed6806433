# %% [markdown]
# # 第 01 课练习答案
#
# 运行方式：`python lessons/answers/01_scalar_autograd_answers.py [--quick] [--device cuda]`
#
# 本课的答案都很快，`--quick` 与完整模式做的事完全相同。

# %%
import math
from pathlib import Path

import tinygrad_zh as tg
from tinygrad_zh.autograd import format_graph, sum_to_shape
from tinygrad_zh.lesson import load_definitions, output_dir, run_lesson
from tinygrad_zh.testing import assert_close
from tinygrad_zh.viz import draw_graph, graph_figure, matplotlib_available


def load_lesson():
    """取第 01 课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "01_scalar_autograd.py")


# %% [markdown]
# ## 练习 1 ★：SiLU 的导数
#
# $g(x) = x\,\sigma(x)$。乘积法则加上 $\sigma'(x) = \sigma(x)(1 - \sigma(x))$：
#
# $$g'(x) = \sigma(x) + x\,\sigma(x)(1 - \sigma(x)) = \sigma(x)\big(1 + x(1 - \sigma(x))\big).$$
#
# 在 $x = 0.5$：$\sigma(0.5) \approx 0.622459$，
# $g'(0.5) \approx 0.622459 \times (1 + 0.5 \times 0.377541) \approx 0.739961$。


# %%
def exercise1(device):
    x0, h = 0.5, 1e-6
    s = 1 / (1 + math.exp(-x0))
    formula = s * (1 + x0 * (1 - s))

    def silu(x):
        return x * x.sigmoid()

    with tg.no_grad():
        xp = tg.tensor(x0 + h, dtype=tg.float64, device=device)
        xm = tg.tensor(x0 - h, dtype=tg.float64, device=device)
        numerical = ((silu(xp) - silu(xm)) / (2 * h)).item()
    x = tg.tensor(x0, dtype=tg.float64, device=device, requires_grad=True)
    silu(x).backward()
    print("练习 1：g(x) = x·sigmoid(x) 在 x = 0.5 处")
    print(f"  公式 {formula:.6f}，中心差分 {numerical:.6f}，backward {x.grad.item():.6f}")
    assert abs(formula - 0.739961) < 1e-6 and abs(numerical - formula) < 1e-8 and abs(x.grad.item() - formula) < 1e-12
    return {"silu_formula": formula, "silu_numerical": numerical, "silu_backward": x.grad.item()}


# %% [markdown]
# ## 练习 2 ★：用“覆盖”算 x * x * x
#
# `x * x * x` 是 `(x * x) * x`：外层乘法 M2 的输入是 `u = x * x` 和 `x`，内层乘法 M1 的两个输入都是 `x`。
# 在 $x = 2$ 处，按逆拓扑序：
#
# 1. M2（上游梯度 1）：给 `u` 的梯度是 $x = 2$，给 `x` 的梯度是 $u = 4$ → `grad[x] = 4`；
# 2. M1（上游梯度 2）：给两个输入的梯度都是 $2 \cdot x = 4$，覆盖两次 → `grad[x] = 4`。
#
# 所以覆盖得到 **4**；正确答案是 $3x^2 = 12 = 4 + 4 + 4$（三条路径的贡献之和）。


# %%
def exercise2(device):
    lesson = load_lesson()
    x = tg.tensor(2.0, device=device, requires_grad=True)
    y = x * x * x
    wrong = lesson.mini_backward(y, accumulate=False)[id(x)].item()
    right = lesson.mini_backward(y, accumulate=True)[id(x)].item()
    y.backward()
    print("练习 2：y = x * x * x 在 x = 2 处")
    print(f"  覆盖 {wrong}，累加 {right}，框架 {x.grad.item()}（3x² = 12）")
    assert (wrong, right, x.grad.item()) == (4.0, 12.0, 12.0), "覆盖得 4，累加与框架都得 3x² = 12"
    return {"cube_overwrite": wrong, "cube_accumulate": right, "cube_framework": x.grad.item()}


# %% [markdown]
# ## 练习 3 ★★：用 `create_graph=True` 求二阶导数
#
# 平常的 `backward()` 只算出梯度的**数值**；`backward(create_graph=True)` 则把反向传播里的每一步运算
# （乘以局部导数、累加……）也记进计算图，于是 `x.grad` 本身是一个连着图的张量 $f'(x) = 3x^2 - 2$，
# 还能再对它 `backward()`，得到 $f''(x) = 6x$。在 $x = 1.5$ 处 $f''(1.5) = 9$。
#
# 两个细节：
#
# - 第二次 `backward()` 之前先把 `x.grad` 取出来再设成 `None`，否则新的梯度会**累加**到 $f'$ 上（第 01 课第 7 步）；
# - 用 float64，并用 $f'$ 的中心差分再独立核对一遍（第 1 步的方法）。


# %%
def exercise3(device):
    lesson = load_lesson()
    x0, h = lesson.X0, 1e-5
    x = tg.tensor(x0, dtype=tg.float64, device=device, requires_grad=True)
    y = lesson.f(x)
    y.backward(create_graph=True)
    first = x.grad                       # f′(x)：连着计算图的张量
    assert first.requires_grad and first.grad_fn is not None
    x.grad = None                        # 不清零的话，f″ 会累加到 f′ 上
    first.backward()
    second = x.grad.item()
    numerical = (lesson.df_exact(x0 + h) - lesson.df_exact(x0 - h)) / (2 * h)
    assert abs(first.item() - lesson.df_exact(x0)) < 1e-12
    assert abs(second - 6 * x0) < 1e-12 and abs(numerical - 6 * x0) < 1e-6
    print(f"练习 3：f(x) = x³ − 2x 在 x = {x0} 处")
    print(f"  backward(create_graph=True) 后 x.grad = {first.item()}（f′），它的 grad_fn = {first.grad_fn}")
    print(f"  再 backward 一次：f″ = {second}；手推 6x = {6 * x0}；f′ 的中心差分 {numerical:.8f}")
    return {"second_derivative": second, "second_derivative_numerical": numerical}


# %% [markdown]
# ## 练习 4 ★★：$y = x \cdot x$ 的计算图
#
# - **图里 $x$ 只出现一次。** $x$ 是一个张量、一个节点；乘法节点 `MulBackward` 的两个输入都指向它，
#   所以 `draw_graph` 画出的是一个 $x$ 框，有**两条**箭头（画成两条弧线）连到同一个“乘法”框。
# - **文字树里 $x$ 出现两次，但第二次是引用。** `format_graph` 把图画成一棵树：从输出往回，每个输入占一行。
#   乘法有两个输入，所以有两行；第一行给这个叶子编号 `#2`，第二行遇到的是**同一个**张量，
#   就不再展开，而是写“[见上文 #2]”：意思是“这就是上面编号为 2 的那个节点”。
#   它提醒你图里有分叉（一个节点被用了两次），反向时这里的梯度要**累加**，正是第 6 步的复用节点陷阱。
#
# 下面数一数：文字树里叶子行的条数与“见上文”的条数；`graph_figure` 画出的框里写着 “x” 的有几个、箭头有几条。


# %%
def exercise4(device):
    x = tg.tensor(3.0, device=device, requires_grad=True)
    y = x * x
    text = format_graph(y)
    lines = text.splitlines()
    leaf_lines = [line for line in lines if "叶子" in line]
    refs = [line for line in lines if "[见上文 #2]" in line]
    assert len(leaf_lines) == 2 and len(refs) == 1 and "#2" in leaf_lines[0]
    print("练习 4：y = x * x")
    print("  format_graph(y)：")
    print("\n".join("    " + line for line in lines))
    print(f"  文字树：叶子出现 {len(leaf_lines)} 行，其中 {len(refs)} 行是“[见上文 #2]”（同一个节点的引用）")
    out = {"tree_leaf_lines": len(leaf_lines), "tree_refs": len(refs)}
    if matplotlib_available():
        fig = graph_figure(y, names={x: "x"})
        ax = fig.axes[0]
        x_boxes = sum(t.get_text() == "x" for t in ax.texts)
        arrows = sum(getattr(t, "arrow_patch", None) is not None for t in ax.texts)
        import matplotlib.pyplot as plt
        plt.close(fig)
        assert x_boxes == 1 and arrows == 2
        path = draw_graph(y, output_dir() / "01_ex4_x_times_x.png", names={x: "x"})
        print(f"  draw_graph：x 的框 {x_boxes} 个，从 x 到乘法的箭头 {arrows} 条；图存到 {path}")
        out.update(x_boxes=x_boxes, arrows=arrows)
    return out


# %% [markdown]
# ## 练习 5 ★★★：让迷你引擎支持广播
#
# `x` 的形状是 `(3,)`，`b` 的形状是 `()`，`x + b` 把 `b` 广播成 `(3,)`。`Add.backward` 只管返回两份和输出同形的
# 梯度，都是 `(3,)`，于是迷你引擎给 `b` 的“梯度”形状是 `(3,)`：**错了**。梯度必须和参数同形，
# 否则 `b - lr * b.grad` 会把标量 `b` 悄悄变成长度 3 的向量。正确答案是 $\partial L/\partial b = \sum_i 1 = 3$，形状 `()`。
#
# 修法（与框架引擎相同）：把梯度交给输入之前，先用 `sum_to_shape(xp, g, parent.shape)` 把广播出来的维度求和掉
# （广播的伴随是求和，第 03 课第 6 步）。`xp` 是数组所在的模块（CPU 上是 NumPy），每个节点都记在 `fn.xp` 里。
# 修好后再用一个两边都被广播的例子 `(2, 1, 3) * (4, 1)` 与框架的 `backward()` 对照。


# %%
def mini_backward_fixed(lesson, root):
    """第 01 课的迷你引擎（累加版），加上“把梯度求和回输入形状”这一步。"""
    grads = {id(root): tg.ones_like(root).data}
    for node in reversed(lesson.topo_order(root)):
        fn = node.grad_fn
        if fn is None or id(node) not in grads:
            continue
        in_grads = type(fn).backward(fn, grads[id(node)])
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for parent, g in zip(fn.inputs, in_grads):
            if g is None or not isinstance(parent, tg.Tensor) or not parent.requires_grad:
                continue
            g = sum_to_shape(fn.xp, g, parent.shape)          # 新增的一行：反广播
            grads[id(parent)] = grads[id(parent)] + g if id(parent) in grads else g
    return grads


def exercise5(device):
    lesson = load_lesson()
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    b = tg.tensor(0.5, device=device, requires_grad=True)
    loss = (x + b).sum()
    broken = lesson.mini_backward(loss)[id(b)]
    fixed = mini_backward_fixed(lesson, loss)
    loss.backward()
    assert tuple(broken.shape) == (3,), "原来的迷你引擎竟然处理了广播"
    assert tuple(fixed[id(b)].shape) == b.shape == () and float(fixed[id(b)]) == b.grad.item() == 3.0
    print("练习 5：(x + b).sum()，x 的形状 (3,)，b 的形状 ()")
    print(f"  原来的迷你引擎给 b 的梯度：{broken.tolist()}，形状 {tuple(broken.shape)}（错：应与 b 同形）")
    print(f"  修好后：{float(fixed[id(b)])}，形状 {tuple(fixed[id(b)].shape)}；框架 b.grad = {b.grad.item()}")

    tg.manual_seed(0)
    p = tg.randn(2, 1, 3, dtype=tg.float64, device=device, requires_grad=True)
    q = tg.randn(4, 1, dtype=tg.float64, device=device, requires_grad=True)
    w = tg.randn(2, 4, 3, dtype=tg.float64, device=device)
    loss = (p * q * w).sum()
    ours = mini_backward_fixed(lesson, loss)
    loss.backward()
    for name, t in (("p", p), ("q", q)):
        assert tuple(ours[id(t)].shape) == t.shape
        assert_close(tg.tensor(ours[id(t)], device=device), t.grad)
    print(f"  (2, 1, 3) * (4, 1) * (2, 4, 3)：修好的迷你引擎给出形状 {tuple(ours[id(p)].shape)} 与 "
          f"{tuple(ours[id(q)].shape)} 的梯度，与框架 backward() 一致")
    return {"mini_broken_shape": tuple(broken.shape), "mini_fixed_b_grad": float(fixed[id(b)])}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device))
    results.update(exercise3(device))
    results.update(exercise4(device))
    results.update(exercise5(device))
    print("第 01 课练习答案全部通过。")
    return results


if __name__ == "__main__":
    run_lesson(main)
