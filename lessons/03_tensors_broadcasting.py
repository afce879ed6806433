# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 第 03 课：张量与广播
#
# 第 01、02 课里的每个量都是一个数（标量）。真正的网络一次处理成千上万个数，它们装在
# **张量 (tensor)** 里：一块带有 **形状 (shape)** 和 **数据类型 (dtype)** 的多维数组。
# 这一课把张量的常用操作过一遍，重点讲 **广播 (broadcasting)**：它在前向传播 (forward propagation) 里“悄悄复制”数据，
# 于是反向传播 (backpropagation) 必须把复制出来的 **梯度 (gradient)** 加回去。最后我们自己写一个可微运算 (`Function`)，
# 并用 **梯度检验 (gradient check，鱼书称“梯度确认”)** 证明它写对了。
#
# **学习目标**
#
# 1. 会创建张量，知道默认 dtype 的规则：Python 浮点数 → `float32`，整数 → `int64`，NumPy 数组保持原 dtype；
# 2. 会用按元素运算、带 `dim` / `keepdim` 的归约、矩阵乘法、`reshape` / `transpose` / `permute` / 索引；
# 3. 掌握广播规则（从最右边的维度对齐，每一维要么相等、要么有一个是 1），能预测结果形状，看懂失败时的报错；
# 4. 理解为什么反向传播要“反广播 (unbroadcast)”：**广播的伴随 (adjoint) 是求和**；
# 5. 会继承 `tinygrad_zh.autograd.Function` 写自己的运算，并用 `gradcheck` 检验它（以及它为什么只收 `float64`）。
#
# **前置知识**：第 01 课（计算图 (computational graph)、链式法则、梯度累加）；NumPy 数组的基本用法。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/03_tensors_broadcasting.py            # 完整运行
# python lessons/03_tensors_broadcasting.py --quick    # 快速模式（几秒）
# python lessons/03_tensors_broadcasting.py --device cuda   # 有 NVIDIA GPU 和 CuPy 时
# jupytext --to notebook lessons/03_tensors_broadcasting.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。

# %% tags=["parameters"]
QUICK = False    # 快速模式：差分误差表少两行，埋错实验用 20 个种子而不是 100 个（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import re

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.autograd import Function, sum_to_shape
from tinygrad_zh.lesson import lesson_args, show
from tinygrad_zh.testing import GradcheckError, assert_close, gradcheck
from tinygrad_zh.testing.checks import group_plan
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

# %% [markdown]
# ## 第 1 步：创建张量与 dtype 规则
#
# `tg.tensor(data)` 总是 **复制** 数据。dtype 的默认规则与 PyTorch 相同：
#
# | 数据 | 得到的 dtype | 原因 |
# |---|---|---|
# | Python 浮点数或浮点列表 `1.5`、`[1.0, 2.0]` | `float32` | 深度学习默认单精度：省一半内存，GPU 上更快 |
# | Python 整数 `[1, 2, 3]` | `int64` | 常用作下标、类别标签 |
# | `True` / `False` | `bool` | 掩码 (mask) |
# | NumPy 数组 | 保持原 dtype | `np.array([1.0])` 是 `float64`，进来仍是 `float64` |
#
# 最后一条常让人意外：NumPy 默认 `float64`，直接传进来的数组会让整个网络悄悄变成双精度。
# 需要时用 `dtype=tg.float32` 或 `.float()` 转换。两个不同 dtype 的浮点张量运算，结果取“更宽”的那个。
#
# 每个张量都有 `shape`（形状）、`ndim`（维数，即轴 (axis) 的个数）、`dtype` 和 `device`（设备：`"cpu"` 或 `"cuda"`）。

# %%
samples = {
    "tg.tensor(1.5)": tg.tensor(1.5, device=DEVICE),
    "tg.tensor([1, 2, 3])": tg.tensor([1, 2, 3], device=DEVICE),
    "tg.tensor(True)": tg.tensor(True, device=DEVICE),
    "tg.tensor(np.array([1.0, 2.0]))": tg.tensor(np.array([1.0, 2.0]), device=DEVICE),
    "tg.tensor(np.array([1, 2], dtype=np.int32))": tg.tensor(np.array([1, 2], dtype=np.int32), device=DEVICE),
    "tg.tensor([1.0, 2.0], dtype=tg.float64)": tg.tensor([1.0, 2.0], dtype=tg.float64, device=DEVICE),
}
dtypes = {}
for expr, t in samples.items():
    dtypes[expr] = str(t.dtype)
    print(f"{expr:<45} → dtype={t.dtype}")

x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=DEVICE)
print(f"x = {x.tolist()}")
print(f"x.shape={x.shape}  x.ndim={x.ndim}  x.dtype={x.dtype}  x.device={x.device}")

# 其他创建函数：形状写成多个整数或一个元组都可以
tg.manual_seed(0)
print(f"tg.zeros(2, 3).shape={tg.zeros(2, 3, device=DEVICE).shape}，"
      f"tg.arange(5)={tg.arange(5, device=DEVICE).tolist()}，"
      f"tg.randn(2, 2).dtype={tg.randn(2, 2, device=DEVICE).dtype}")

mixed = tg.tensor([1.0], device=DEVICE) + tg.tensor([1.0], dtype=tg.float64, device=DEVICE)
print(f"float32 + float64 → {mixed.dtype}（取更宽的类型）")

# 只有浮点张量才能求梯度：整数没有“微小变化”可言
try:
    tg.tensor([1, 2, 3], device=DEVICE, requires_grad=True)
except RuntimeError as e:
    print(f"整数张量 requires_grad=True 报错：{e}")
RESULTS.update({"dtypes": dtypes, "mixed_dtype": str(mixed.dtype), "x_shape": x.shape})

# %% [markdown]
# ## 第 2 步：按元素运算与归约
#
# **按元素 (elementwise)** 运算对每个位置分别计算：`x + y`、`x * 2`、`x.exp()`、`x.relu()`……
#
# **归约 (reduction)** 把一个轴上的很多数变成一个数：`sum`、`mean`、`max`、`var`。参数 `dim` 说沿哪个轴归约：
#
# - `x.sum(dim=0)`：沿第 0 轴（行的方向往下）求和，形状 `(2, 3)` → `(3,)`，即“每一列的和”；
# - `x.sum(dim=1)`：形状 `(2, 3)` → `(2,)`，即“每一行的和”；
# - `keepdim=True`：保留被归约的轴，长度变成 1，形状 `(2, 3)` → `(2, 1)`。
#
# `keepdim=True` 的用处是让结果还能和原张量广播（第 5 步）：例如每一行减去自己的均值，
# `x - x.mean(dim=1, keepdim=True)` 的形状是 `(2, 3) - (2, 1)`，正好逐行对齐。

# %%
x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=DEVICE)
print(f"x * 2 + 1 = {(x * 2 + 1).tolist()}")
print(f"x.sum() = {x.sum().item()}")
col = x.sum(dim=0)
row = x.sum(dim=1)
row_keep = x.sum(dim=1, keepdim=True)
print(f"x.sum(dim=0) = {col.tolist()}  shape={col.shape}")
print(f"x.sum(dim=1) = {row.tolist()}  shape={row.shape}")
print(f"x.sum(dim=1, keepdim=True) = {row_keep.tolist()}  shape={row_keep.shape}")
centered = x - x.mean(dim=1, keepdim=True)
print(f"x - x.mean(dim=1, keepdim=True) = {centered.tolist()}")
values, indices = x.max(dim=1)
print(f"x.max(dim=1) → values={values.tolist()}, indices={indices.tolist()}")
RESULTS.update({"sum_dim0": col.tolist(), "sum_dim1": row.tolist(), "sum_dim1_keepdim_shape": row_keep.shape,
                "centered": centered.tolist()})

# %% [markdown]
# ## 第 3 步：矩阵乘法的形状
#
# **矩阵乘法 (matrix multiplication)** `A @ B` 要求 `A` 的最后一维等于 `B` 的倒数第二维：
# `(m, k) @ (k, n) → (m, n)`，中间的 `k` 被“消掉”。多出来的前导维度是 **批量 (batch)** 维，按广播规则配对：
# `(5, 2, 3) @ (3, 4) → (5, 2, 4)`。一维张量当作向量：`(3,) @ (3,)` 是 **点积 (dot product)**，得到标量。
#
# 全连接层（线性层）(fully-connected / linear layer) 就是一次矩阵乘法：PyTorch 把权重存成 `(out, in)`，
# 输入是 `(B, in)`（每行一个样本），计算 `x @ W.T + b`，得到 `(B, out)`。第 04 课就用这个约定。

# %%
tg.manual_seed(0)
cases = [((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((3,), (3,)), ((4, 3), (3,))]
matmul_shapes = {}
for sa, sb in cases:
    out = tg.randn(*sa, device=DEVICE) @ tg.randn(*sb, device=DEVICE)
    matmul_shapes[f"{sa} @ {sb}"] = out.shape
    print(f"{str(sa):>10} @ {str(sb):<7} → {out.shape}")
x = tg.randn(8, 3, device=DEVICE)        # 8 个样本，每个 3 个特征
W = tg.randn(2, 3, device=DEVICE)        # 线性层权重 (out=2, in=3)
print(f"线性层：x {x.shape} @ W.T {W.T.shape} → {(x @ W.T).shape}")
try:
    x @ W                                # 忘了转置
except RuntimeError as e:  # 与 PyTorch 一样，形状错误是 RuntimeError
    print(f"忘了转置时的报错：{e}")
RESULTS["matmul_shapes"] = matmul_shapes

# %% [markdown]
# ## 第 4 步：变形、转置与索引
#
# 这些 **移动 (movement)** 运算只改变元素的排列，不改变数值，所以它们的反向传播也只是“把梯度按原路搬回去”：
#
# - `reshape(3, 2)`：按行优先顺序重新排成新形状，元素个数必须不变（一个维度可以写 `-1` 让框架推算）；
# - `transpose(0, 1)` / `.T`：交换两个轴；`permute(2, 0, 1)`：任意重排所有轴（如把 `(B, H, W)` 变成 `(W, B, H)`）；
# - 索引 (indexing)：`x[0]`、`x[:, 1]`、`x[[0, 0, 1]]`（整数列表可以重复，反向时重复位置的梯度要累加）。

# %%
x = tg.arange(6.0, device=DEVICE).reshape(2, 3)
print(f"x = tg.arange(6.0).reshape(2, 3) = {x.tolist()}")
print(f"x.reshape(3, 2) = {x.reshape(3, 2).tolist()}")
print(f"x.reshape(-1) = {x.reshape(-1).tolist()}")
print(f"x.T = {x.T.tolist()}  shape={x.T.shape}")
y = tg.zeros(4, 5, 6, device=DEVICE)
print(f"zeros(4, 5, 6).permute(2, 0, 1).shape = {y.permute(2, 0, 1).shape}")
print(f"x[0] = {x[0].tolist()}，x[:, 1] = {x[:, 1].tolist()}，x[1, -1] = {x[1, -1].item()}")

# 重复下标：第 0 行被取了两次，所以它的梯度是 2
x.requires_grad_(True)
x[[0, 0, 1]].sum().backward()
print(f"x[[0, 0, 1]].sum() 对 x 的梯度 = {x.grad.tolist()}（第 0 行用了两次，梯度累加为 2）")
RESULTS["repeat_index_grad"] = x.grad.tolist()

# %% [markdown]
# ## 第 5 步：广播规则
#
# 两个形状不同的张量做按元素运算时，框架先把它们 **广播** 成同一个形状。规则只有两条：
#
# 1. **从最右边的维度开始对齐**；维数少的一方在左边补 1；
# 2. 对齐后的每一维，**要么相等，要么其中一个是 1**；是 1 的那一方沿这一维被复制。
#
# 例：`(3, 1) + (1, 4)`：
#
# ```
#   a: (3, 1)
#   b: (1, 4)
#   ---------
#   c: (3, 4)    第 0 维 3 与 1 → 3（b 被复制 3 行）；第 1 维 1 与 4 → 4（a 被复制 4 列）
# ```
#
# 再如 `(2, 3) + (2,)`：右对齐后是 `3` 对 `2`，既不相等也不是 1，**失败**。
# 想“每行加一个数”，要把 `(2,)` 变成 `(2, 1)`：`v.unsqueeze(-1)` 或 `v.reshape(2, 1)`。
#
# 下面这一格先用十几行 Python 把规则写出来，再和框架的结果对照。

# %%
def broadcast_shape(s1, s2):
    """按广播规则求两个形状的结果形状；不能广播时抛出 ValueError。"""
    n = max(len(s1), len(s2))
    a = (1,) * (n - len(s1)) + tuple(s1)  # 左边补 1，等价于“从右边对齐”
    b = (1,) * (n - len(s2)) + tuple(s2)
    out = []
    for da, db in zip(a, b):
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            raise ValueError(f"{tuple(s1)} 与 {tuple(s2)} 不能广播：对齐后的一维是 {da} 对 {db}")
    return tuple(out)


cases = [((3, 1), (1, 4)), ((2, 3), (3,)), ((4, 1, 3), (5, 1)), ((), (2, 2)), ((8, 1, 6, 1), (7, 1, 5))]
broadcast_shapes = {}
for sa, sb in cases:
    ours = broadcast_shape(sa, sb)
    theirs = (tg.ones(*sa, device=DEVICE) + tg.ones(*sb, device=DEVICE)).shape
    assert ours == theirs, (ours, theirs)
    broadcast_shapes[f"{sa} + {sb}"] = theirs
    print(f"{str(sa):>14} + {str(sb):<10} → {theirs}（手写规则：{ours}）")

x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=DEVICE)
v = tg.tensor([10.0, 20.0], device=DEVICE)
broadcast_error = None
try:
    x + v
except RuntimeError as e:
    broadcast_error = str(e)
    print(f"(2, 3) + (2,) 失败，框架的报错：\n  {broadcast_error}")
try:
    broadcast_shape((2, 3), (2,))
except ValueError as e:
    print(f"手写规则也拒绝：{e}")
fixed = x + v.unsqueeze(-1)
print(f"改成 (2, 3) + (2, 1)：{fixed.tolist()}")
RESULTS.update({"broadcast_shapes": broadcast_shapes, "broadcast_error": broadcast_error, "fixed": fixed.tolist()})

# %% [markdown]
# ## 第 6 步：为什么反向传播要“反广播”
#
# 设 `a` 的形状是 `(3, 1)`，`b` 的形状是 `(1, 4)`，`c = a + b` 的形状是 `(3, 4)`。
# 再取一个和 `c` 同形的权重矩阵 `W`，令损失 `L = Σᵢⱼ Wᵢⱼ · cᵢⱼ`，于是上游梯度 (upstream gradient) 就是
# `∂L/∂c = W`：
#
# ```
# a = [[1],        b = [[10, 20, 30, 40]]        W = ∂L/∂c = [[0, 1,  2,  3],
#      [2],                                                   [4, 5,  6,  7],
#      [3]]                                                   [8, 9, 10, 11]]
# ```
#
# **手算**。`a₀ = 1` 在前向时被复制了 4 份，出现在 `c₀₀, c₀₁, c₀₂, c₀₃` 里，每一份都影响 `L`。
# 这正是第 01 课“一个节点被用了多次，梯度要累加”的情形，由链式法则 (chain rule)：
#
# - `∂L/∂a₀ = Σⱼ ∂L/∂c₀ⱼ = 0 + 1 + 2 + 3 = 6`，同理 `∂L/∂a₁ = 4+5+6+7 = 22`，`∂L/∂a₂ = 8+9+10+11 = 38`；
#   即 **沿被复制的第 1 维求和**，结果形状 `(3, 1)`，和 `a` 一样；
# - `∂L/∂b₀ = Σᵢ ∂L/∂cᵢ₀ = 0 + 4 + 8 = 12`，同理得 `[15, 18, 21]`；即 **沿第 0 维求和**，形状 `(1, 4)`。
#
# 一般地，广播是一个线性映射 `B`（“复制”），反向传播要乘的是它的转置 `Bᵀ`，也叫它的 **伴随 (adjoint)**。
# 复制的转置就是求和：对任意 `a` 和 `G`，都有 `⟨B(a), G⟩ = ⟨a, Bᵀ(G)⟩`。所以
#
# > **广播的伴随是求和 (the adjoint of broadcast is sum)。**
#
# 具体做法（`unbroadcast`）：(1) 梯度比输入多出来的前导维度，全部求和掉；(2) 输入里长度为 1、
# 但梯度里长度大于 1 的维度，求和并保留这一维 (`keepdims=True`)。
# 如果不做这一步，`a.grad` 的形状会是 `(3, 4)` 而不是 `(3, 1)`，参数更新 `a − lr·a.grad` 也会悄悄广播成错的形状。
#
# 在 tinygrad_zh 里，这一步由 **引擎** 统一完成（`tinygrad_zh.autograd.sum_to_shape`）：
# `Add.backward` 只管返回两份 `(3, 4)` 的梯度，引擎再把它们求和回各自输入的形状。所以你写新运算时不必操心广播。

# %%
def unbroadcast(grad, shape):
    """把梯度 grad 求和回 shape：广播的伴随是求和。grad 是 NumPy 数组。"""
    while grad.ndim > len(shape):          # (1) 前面多出来的维度
        grad = grad.sum(axis=0)
    for i, s in enumerate(shape):           # (2) 原来是 1、被复制过的维度
        if s == 1 and grad.shape[i] != 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad


a = tg.tensor([[1.0], [2.0], [3.0]], device=DEVICE, requires_grad=True)
b = tg.tensor([[10.0, 20.0, 30.0, 40.0]], device=DEVICE, requires_grad=True)
W = tg.arange(12.0, device=DEVICE).reshape(3, 4)   # arange(12.0)：浮点数参数，得到 float32
c = a + b
print(f"c = a + b = {c.tolist()}  shape={c.shape}")
loss = (c * W).sum()
loss.backward()

G = W.detach().cpu().numpy()
hand_a = unbroadcast(G, (3, 1))
hand_b = unbroadcast(G, (1, 4))
print(f"手算 ∂L/∂a = {hand_a.tolist()}（每行求和）")
print(f"手算 ∂L/∂b = {hand_b.tolist()}（每列求和）")
print(f"框架 a.grad = {a.grad.tolist()}  shape={a.grad.shape}")
print(f"框架 b.grad = {b.grad.tolist()}  shape={b.grad.shape}")
assert a.grad.shape == a.shape and b.grad.shape == b.shape
assert_close(a.grad, hand_a)
assert_close(b.grad, hand_b)
assert_close(sum_to_shape(np, G, (3, 1)), hand_a)   # 框架引擎用的函数，结果相同
RESULTS.update({"a_grad": a.grad.tolist(), "b_grad": b.grad.tolist(),
                "a_grad_shape": a.grad.shape, "b_grad_shape": b.grad.shape})

# %% [markdown]
# 再用随机数验证伴随关系 `⟨B(a), G⟩ = ⟨a, Bᵀ(G)⟩`：“复制”的转置确实是“求和”，对哪种广播都成立。

# %%
rng = np.random.default_rng(0)
for shape, big in [((3, 1), (3, 4)), ((4,), (2, 3, 4)), ((2, 1, 5), (2, 3, 5))]:
    xr = rng.standard_normal(shape)
    g = rng.standard_normal(big)
    lhs = float(np.sum(np.broadcast_to(xr, big) * g))
    rhs = float(np.sum(xr * unbroadcast(g, shape)))
    print(f"伴随检验 {shape}→{big}：⟨B(x), G⟩ = {lhs:+.6f}，⟨x, Bᵀ(G)⟩ = {rhs:+.6f}")
    assert abs(lhs - rhs) < 1e-9

# %% [markdown]
# ### 广播示意图
#
# 下图上半部分是前向：深色格子是张量里原有的元素，浅色斜线格子是广播“复制”出来的；
# 下半部分是反向：上游梯度 `(3, 4)` 沿被复制的方向求和，回到 `(3, 1)` 和 `(1, 4)`。

# %%
def _draw_grid(ax, x0, y0, values, original, color, fmt="{:g}"):
    """在 (x0, y0) 处（左上角）画一个格子表；original[i][j] 为真的格子用深色，其余是浅色斜线（复制出来的）。"""
    import matplotlib.patches as patches
    rows, cols = len(values), len(values[0])
    for i in range(rows):
        for j in range(cols):
            solid = original[i][j]
            rect = patches.Rectangle((x0 + j, y0 - i - 1), 1, 1, facecolor=color if solid else "white",
                                     edgecolor="black", hatch=None if solid else "///", alpha=1.0 if solid else 0.6)
            ax.add_patch(rect)
            ax.text(x0 + j + 0.5, y0 - i - 0.5, fmt.format(values[i][j]), ha="center", va="center",
                    fontsize=10, color="black", fontweight="bold" if solid else "normal")


def plot_broadcast(a, b, W, a_grad, b_grad):
    """广播示意图：上半部分前向（复制），下半部分反向（求和）。返回 Figure。"""
    import matplotlib.patches as patches

    # 两个子图的高度按各自的 y 范围分配，配合 set_aspect("equal")，上下格子一样大
    fig, (top, bottom) = subplots(2, 1, figsize=(11, 8.5), gridspec_kw={"height_ratios": [5.1, 6.4]})
    blue, orange, green = "#9ecae1", "#fdae6b", "#a1d99b"

    # 前向：a 复制成 4 列，b 复制成 3 行
    a_big = [[a[i][0]] * 4 for i in range(3)]
    b_big = [b[0][:] for _ in range(3)]
    c = [[a[i][0] + b[0][j] for j in range(4)] for i in range(3)]
    _draw_grid(top, 0, 3, a_big, [[j == 0 for j in range(4)] for _ in range(3)], blue)
    _draw_grid(top, 5.5, 3, b_big, [[i == 0 for _ in range(4)] for i in range(3)], orange)
    _draw_grid(top, 11, 3, c, [[True] * 4 for _ in range(3)], green)
    top.text(4.75, 1.5, "+", fontsize=22, ha="center", va="center")
    top.text(10.25, 1.5, "=", fontsize=22, ha="center", va="center")
    top.text(2, 3.35, "a (3,1) → (3,4)", ha="center", fontsize=11)
    top.text(7.5, 3.35, "b (1,4) → (3,4)", ha="center", fontsize=11)
    top.text(13, 3.35, "c = a + b (3,4)", ha="center", fontsize=11)
    handles = [patches.Patch(facecolor="#cccccc", edgecolor="black", label=label("原有元素", "original element")),
               patches.Patch(facecolor="white", edgecolor="black", hatch="///",
                             label=label("广播复制出来的", "copied by broadcasting"))]
    top.legend(handles=handles, loc="lower center", ncol=2, frameon=False)
    top.set_title(label("前向：广播 (3,1) + (1,4) → (3,4)", "forward: broadcast (3,1) + (1,4) -> (3,4)"))
    top.set_xlim(-0.5, 15.5)
    top.set_ylim(-1.2, 3.9)

    # 反向：G 每行求和 → a.grad，每列求和 → b.grad
    all_true = [[True] * 4 for _ in range(3)]
    _draw_grid(bottom, 0, 3, W, all_true, "#dddddd")
    _draw_grid(bottom, 6.5, 3, a_grad, [[True] for _ in range(3)], blue)
    _draw_grid(bottom, 0, -1.2, b_grad, [[True] * 4], orange)
    bottom.annotate("", xy=(6.3, 1.5), xytext=(4.2, 1.5), arrowprops=dict(arrowstyle="->", lw=2))
    bottom.text(5.25, 1.85, label("沿 dim=1 求和", "sum over dim=1"), ha="center", fontsize=10)
    bottom.annotate("", xy=(2, -1.0), xytext=(2, -0.2), arrowprops=dict(arrowstyle="->", lw=2))
    bottom.text(2.2, -0.6, label("沿 dim=0 求和", "sum over dim=0"), ha="left", va="center", fontsize=10)
    bottom.text(2, 3.35, "G = dL/dc (3,4)", ha="center", fontsize=11)
    bottom.text(7, 3.35, "a.grad (3,1)", ha="center", fontsize=11)
    bottom.text(4.3, -1.7, "b.grad (1,4)", ha="left", va="center", fontsize=11)
    bottom.text(9, 1.5, label("广播的伴随是求和：\n被复制了几份，\n就把几份梯度加起来",
                              "the adjoint of broadcast is sum:\neach copy sent a gradient back,\n"
                              "so the copies' gradients are added"),
                fontsize=11, va="center")
    bottom.set_title(label("反向：反广播 = 求和", "backward: unbroadcast = sum"))
    bottom.set_xlim(-0.5, 15.5)
    bottom.set_ylim(-2.5, 3.9)
    for ax in (top, bottom):
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout()
    return fig


fig = plot_broadcast(a=a.detach().tolist(), b=b.detach().tolist(), W=W.tolist(),
                     a_grad=RESULTS["a_grad"], b_grad=RESULTS["b_grad"])
RESULTS["figure"] = str(show(fig, "03_broadcasting.png", dpi=110))

# %% [markdown]
# ## 第 7 步：`Function`——自己写一个可微运算
#
# 框架里的每个可微运算都是 `tinygrad_zh.autograd.Function` 的子类，写法与 `torch.autograd.Function` 一样：
#
# - `forward(ctx, x)`：收到的是 **原始数组**（CPU 上是 `numpy.ndarray`，GPU 上是 `cupy.ndarray`），不是张量；
#   反向要用的东西用 `ctx.save_for_backward(...)` 存起来；
# - `backward(ctx, grad)`：收到输出的梯度 `grad`（与输出同形），返回每个输入的梯度——
#   “上游梯度 × 局部导数”，也就是链式法则的一环。
# - 用 `Cube.apply(x)` 调用（不要直接调 `forward`）：`apply` 负责拆包、包装结果、在计算图里记下这个节点。
#
# 下面写 `y = x³`，局部导数 `dy/dx = 3x²`，所以 `backward` 返回 `grad · 3x²`。


# %%
class Cube(Function):
    """y = x³；dy/dx = 3x²。"""
    zh = "立方"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class SpyCube(Cube):
    """和 Cube 一样，只是记下 forward 收到的参数类型，用来演示“forward 收到的是数组”。"""
    seen = []

    @staticmethod
    def forward(ctx, x):
        SpyCube.seen.append(type(x).__name__)
        return Cube.forward(ctx, x)


x = tg.tensor([-1.0, 0.5, 2.0], device=DEVICE, requires_grad=True)
SpyCube.seen.clear()
SpyCube.apply(x)
print(f"forward 收到的参数类型：{SpyCube.seen[0]}（原始数组，不是 Tensor）")
y = Cube.apply(x)
print(f"y = Cube.apply(x) = {y.tolist()}，y.grad_fn = {y.grad_fn}")
y.sum().backward()
print(f"x.grad = {x.grad.tolist()}，3x² = {(3 * x.detach() ** 2).tolist()}")
assert_close(x.grad, 3 * x.detach() ** 2)
RESULTS["cube_grad"] = x.grad.tolist()

# %% [markdown]
# ## 第 8 步：梯度检验 (gradcheck)
#
# 怎么知道 `backward` 写对了？用 **数值微分 (numerical differentiation)** 独立地再算一遍。中心差分 (central difference)：
#
# $$f'(x) \approx \frac{f(x+\varepsilon) - f(x-\varepsilon)}{2\varepsilon}$$
#
# `tinygrad_zh.testing.gradcheck(fn, *inputs)` 取一个随机的上游梯度 (upstream gradient) $u$，反向传播一次得到解析梯度；
# 它应当等于标量 $F(x) = \sum u \cdot f(x)$ 的梯度，而这个梯度可以用中心差分直接算。几个讲究：
#
# 1. **只接受 `float64`。** `float32` 只有约 7 位有效数字。`ε = 1e-6` 时，`f(x+ε)` 与 `f(x−ε)` 只差在第 6～7 位，
#    相减后剩下的几乎全是舍入误差。下面的表格实际算给你看：`f(x) = x³` 在 `x = 1.1` 处，真值 `3.63`。
# 2. **上游梯度是随机的。** 只检验 `y.sum()` 等于取 $u$ 全为 1，只看到雅可比矩阵 (Jacobian) 各行之和这一个组合：
#    转置 (transpose) 的 `backward` 忘了把梯度转回去，对全 1 的梯度毫无区别；softmax 的输出之和恒为 1，
#    `y.sum()` 的梯度恒为 0，任何对常数上游梯度返回 0 的错误 `backward` 都能通过。随机的 $u$ 让这种巧合几乎不可能。
# 3. **逐个元素检验（不超过 4096 个元素的输入）。** 把每个元素单独挪动 ±ε，得到 $\partial F/\partial x_j$
#    （每个元素两次前向，同 `torch.autograd.gradcheck`）。只看几个随机方向 $d$ 不够：方向导数 $\sum_j g_j d_j$
#    把所有元素加在一起，容差随之变大，一个元素错 1% 很容易藏在里面。下面在 400 个元素里埋一个 1% 的错误，
#    数一数 16 个随机方向（`gradcheck` 以前对大输入的做法）漏掉几次。
# 4. **更大的输入用分组随机方向 (group testing)。** 每一轮把元素随机分成至多 $G$ 个一组，每组一个随机符号的方向，
#    每个元素每轮都被检验；$G$ 小到一个元素错 1% 就超出这一组的容差，轮数多到漏掉的概率低于 0.001（推导见 `gradcheck` 的文档）。
# 5. **非有限值 (non-finite，NaN/Inf) 一律失败。** NaN 参与的比较永远为假，“没发现不一致”不等于一致。
#    报告会说哪个元素出了问题，以及 `f(x±ε)` 本身是否非有限——通常是检验点离定义域的边界或极点 (pole) 太近，换个点即可。
#
# 最后故意写一个错的 `backward`（忘了系数 3），看 gradcheck 怎样指出问题。
#
# 下面这一格先实际算出第 1 点的表格。


# %%
def central_difference_table(eps_list):
    """f(x) = x³ 在 x = 1.1 处的中心差分误差：float32 与 float64 对比。"""
    rows = []
    for eps in eps_list:
        row = {"eps": eps}
        for dt in (np.float32, np.float64):
            x, e = dt(1.1), dt(eps)
            approx = ((x + e) ** 3 - (x - e) ** 3) / (dt(2) * e)
            row[np.dtype(dt).name] = abs(float(approx) - 3 * 1.1 ** 2)
        rows.append(row)
    return rows


eps_list = [1e-2, 1e-4, 1e-6] if QUICK else [1e-2, 1e-3, 1e-4, 1e-5, 1e-6]
table = central_difference_table(eps_list)
print("中心差分 (x³)' 在 x=1.1 处的误差（真值 3.63）：")
print(f"{'eps':>8}  {'float32 误差':>14}  {'float64 误差':>14}")
for row in table:
    print(f"{row['eps']:>8.0e}  {row['float32']:>14.3e}  {row['float64']:>14.3e}")
RESULTS.update({"central_diff_table": table,
                "central_diff_err_float32_1e-6": table[-1]["float32"],
                "central_diff_err_float64_1e-6": table[-1]["float64"]})

# %% [markdown]
# 所以 `gradcheck` 只收 `float64`：第 7 步的 `Cube` 用 `float64` 输入能通过，`float32` 输入直接被拒绝。

# %%
tg.manual_seed(0)
x64 = tg.randn(3, 4, dtype=tg.float64, device=DEVICE, requires_grad=True)
ok = gradcheck(Cube.apply, x64)
print(f"gradcheck(Cube.apply, float64 的 (3, 4) 输入) → {ok}")

refused = None
try:
    gradcheck(Cube.apply, tg.randn(3, device=DEVICE, requires_grad=True))
except TypeError as e:
    refused = str(e)
    print(f"float32 输入被拒绝：{refused}")
RESULTS.update({"gradcheck_cube": ok, "float32_refused": refused is not None})

# %% [markdown]
# 第 3 点：400 个元素里埋一个 1% 的错误（`PlantedCube`），比较“16 个随机方向”和逐元素检验各漏掉几次；
# 再看第 4 点里大输入的分组方案。


# %%
class PlantedCube(Function):
    """x³，但 backward 只在一个元素 PLANTED 上多算了 1%，其余元素都对。"""
    PLANTED = (0, 1)  # 在下面的 x400 里这个元素约为 0.82，是个普通的元素

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        g = grad * 3 * x * x
        g[PlantedCube.PLANTED] *= 1.01
        return g


def random_directions_pass(fn, x, seed, n_directions=16, eps=1e-6, atol=1e-5, rtol=1e-3):
    """只比较 n_directions 个随机（高斯）方向上的方向导数。返回 True 表示没看出错。"""
    rng = np.random.default_rng(seed)
    u = tg.tensor(rng.standard_normal(x.shape), device=x.device)
    x.grad = None
    fn(x).backward(u)
    analytic, base = x.grad.cpu().numpy(), x.detach().cpu().numpy()
    with tg.no_grad():
        def F(v):
            return float((fn(tg.tensor(v, device=x.device)) * u).sum().item())
        for _ in range(n_directions):
            d = rng.standard_normal(x.shape)
            numeric = (F(base + eps * d) - F(base - eps * d)) / (2 * eps)
            if abs(float((analytic * d).sum()) - numeric) > atol + rtol * abs(numeric):
                return False
    return True


n_seeds = 20 if QUICK else 100
tg.manual_seed(1)
x400 = tg.randn(20, 20, dtype=tg.float64, device=DEVICE, requires_grad=True)
miss_random = sum(random_directions_pass(PlantedCube.apply, x400, seed) for seed in range(n_seeds))
miss_full = 0
for seed in range(n_seeds):
    try:
        gradcheck(PlantedCube.apply, x400, seed=seed)
        miss_full += 1
    except GradcheckError:
        pass
print(f"(20, 20) 输入的元素 {PlantedCube.PLANTED} 的梯度多算 1%：{n_seeds} 个种子里，"
      f"16 个随机方向漏掉 {miss_random} 次，逐元素检验漏掉 {miss_full} 次")
G, rounds, per_round = group_plan(1e-3)
print(f"超过 4096 个元素时（rtol=1e-3）：每组至多 {G} 个元素，每轮漏掉的概率 ≤ {per_round:.3f}，"
      f"{rounds} 轮后 ≤ {per_round ** rounds:.1e}")
RESULTS.update({"planted_seeds": n_seeds, "planted_missed_random16": miss_random, "planted_missed_full": miss_full,
                "group_size": G, "group_rounds": rounds, "group_miss_prob": per_round ** rounds})

# %% [markdown]
# 第 5 点：非有限值。`sqrt` 在 `x = 1e-7` 处，`x − ε` 已经出了定义域。

# %%
nonfinite_message = None
near_edge = tg.tensor([1.0, 4.0, 1e-7], dtype=tg.float64, device=DEVICE, requires_grad=True)
try:
    with np.errstate(invalid="ignore"):
        gradcheck(lambda t: t.sqrt(), near_edge)
except GradcheckError as e:
    nonfinite_message = str(e)
    print(f"离定义域边界太近的点没能通过检验：\n  {nonfinite_message}")
assert nonfinite_message is not None, "NaN 竟然通过了梯度检验"
RESULTS.update({"nonfinite_caught": True, "nonfinite_message": nonfinite_message})

# %% [markdown]
# 最后，故意写错的 `backward`（忘了系数 3）：


# %%
class BadCube(Function):
    """故意写错：backward 忘了系数 3。"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * x


bad_message = None
try:
    gradcheck(BadCube.apply, x64)
except GradcheckError as e:
    bad_message = str(e)
    print(f"错误的 backward 没能通过检验：\n  {bad_message}")
assert bad_message is not None, "错误的 backward 竟然通过了梯度检验"

# 同一个点上，正确的梯度是错误梯度的几倍？
x64.grad = None
BadCube.apply(x64).sum().backward()
bad_ratio = float(((3 * x64.detach() ** 2) / x64.grad).mean().item())
print(f"正确梯度 3x² 与 BadCube 的梯度之比：{bad_ratio:g}")
RESULTS.update({"bad_backward_caught": True, "bad_backward_ratio": bad_ratio})

# %% [markdown]
# ## 小结
#
# - 张量 = 数组 + 形状 + dtype + 设备。Python 浮点数默认 `float32`，整数 `int64`，NumPy 数组保持原 dtype。
# - 归约的 `dim` 说“沿哪个轴压扁”，`keepdim=True` 留下长度为 1 的轴，方便和原张量广播。
# - 矩阵乘法消掉中间的维度：`(m, k) @ (k, n) → (m, n)`；线性层是 `x @ W.T + b`，`W` 的形状是 `(out, in)`。
# - 广播：从右对齐，每一维相等或有一个是 1。失败时框架给出中文报错和规则。
# - 广播在前向复制数据，所以反向要把各份梯度 **加回去**：广播的伴随是求和。tinygrad_zh 的引擎统一做这件事。
# - 自己写运算：继承 `Function`，`forward` 处理数组并 `save_for_backward`，`backward` 返回“上游梯度 × 局部导数”；
#   写完一定用 `gradcheck`（`float64`、随机上游梯度、逐个元素）检验。
#
# ## 练习
#
# - ★ 不运行代码，写出 `(2, 1, 3) + (4, 1)` 的结果形状，以及反向时两个输入的梯度分别沿哪些轴求和；再用框架验证。
# - ★ 写一个 `Softplus` 运算：`y = log(1 + eˣ)`，导数是 `sigmoid(x) = 1 / (1 + e⁻ˣ)`。
#   前向用 `ctx.xp.logaddexp(0, x)` 避免 `eˣ` 上溢 (overflow)；用 `gradcheck` 检验，并确认 `x = 1000` 时结果有限。
# - ★★ 只用 `.sum(dim=..., keepdim=True)` 和 `reshape`，写一个函数 `my_unbroadcast(tensor_grad, shape)` 作用在张量上，
#   并用随机形状对（如 `(5, 1, 3)` 与 `(4, 1)`）和 `sum_to_shape` 对比。
# - ★★★ 自己写 `MyMatMul(Function)`，支持批量维度的广播（如 `(2, 1, 3, 4) @ (5, 4, 2)`），
#   反向返回 `G @ Bᵀ` 与 `Aᵀ @ G`，交给引擎求和回输入形状；用 `gradcheck` 检验。
#
# 全部练习的答案：`lessons/answers/03_tensors_broadcasting_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。`--quick` 与完整模式只有两处不同：
# 完整模式的差分误差表多两行，埋错实验用 100 个种子而不是 20 个（漏掉的次数随之不同）。

# %%
R = RESULTS
dt = R["dtypes"]
shapes = R["broadcast_shapes"]
error_head = R["broadcast_error"].split("，无法")[0]
index = re.search(r"index=(\([^)]*\))", R["nonfinite_message"])
numeric = re.search(r"数值梯度 \(numerical\) = ([^，]+)", R["nonfinite_message"])
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- dtype：tg.tensor(1.5) → {dt['tg.tensor(1.5)']}，tg.tensor([1, 2, 3]) → {dt['tg.tensor([1, 2, 3])']}，\
tg.tensor(np.array([1.0, 2.0])) → {dt['tg.tensor(np.array([1.0, 2.0]))']}，\
np.int32 数组 → {dt['tg.tensor(np.array([1, 2], dtype=np.int32))']}；float32 + float64 → {R['mixed_dtype']}；
- x.sum(dim=0) = {R['sum_dim0']}，x.sum(dim=1) = {R['sum_dim1']}，\
x.sum(dim=1, keepdim=True) 的形状 {R['sum_dim1_keepdim_shape']}；
- 广播形状：(3, 1) + (1, 4) → {shapes['(3, 1) + (1, 4)']}，(4, 1, 3) + (5, 1) → {shapes['(4, 1, 3) + (5, 1)']}，\
(8, 1, 6, 1) + (7, 1, 5) → {shapes['(8, 1, 6, 1) + (7, 1, 5)']}；(2, 3) + (2,) 报错“{error_head}……”；
- 反广播：a.grad = {R['a_grad']}（形状 {R['a_grad_shape']}），b.grad = {R['b_grad']}（形状 {R['b_grad_shape']}），\
与手算一致；
- Cube 在 x = [-1, 0.5, 2] 处的梯度 {R['cube_grad']}；gradcheck(Cube.apply, ...) → {R['gradcheck_cube']}；
- 中心差分在 ε = 1e-6 时的误差：float32 约 {R['central_diff_err_float32_1e-6']:.3e}，\
float64 约 {R['central_diff_err_float64_1e-6']:.3e}；
- BadCube 的梯度检验失败，报告“解析梯度 (analytic) … 数值梯度 (numerical) …”，二者相差 {R['bad_backward_ratio']:g} 倍；
- (20, 20) 输入的元素 (0, 1) 的梯度多算 1%：{R['planted_seeds']} 个种子里，16 个随机方向漏掉 \
{R['planted_missed_random16']} 次，逐元素检验漏掉 {R['planted_missed_full']} 次；超过 4096 个元素时每组至多 \
{R['group_size']} 个元素、做 {R['group_rounds']} 轮，漏掉的概率 ≤ {R['group_miss_prob']:.1e}；
- sqrt 在 x = 1e-7 处的梯度检验失败：index={index.group(1) if index else '?'}，\
数值梯度 {numeric.group(1) if numeric else '?'}，因为输出在 x−ε 处就是非有限值；
- 图：{R['figure']}。""")
