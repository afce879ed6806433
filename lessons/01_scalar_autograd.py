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
# # 第 01 课：标量自动微分与计算图
#
# **学习目标**
#
# - 理解导数 (derivative) 是差商的极限，会用中心差分 (central difference) 算数值导数，并知道它的误差从哪里来；
# - 在一个小表达式上手算链式法则 (chain rule)，再用 `backward()` 得到同样的数；
# - 看懂计算图 (computational graph)：用 `format_graph` 打印、用 `draw_graph` 画出来；
# - 理解反向传播 (backpropagation) 为什么要按**逆拓扑序**遍历节点，为什么要用循环而不是递归；
# - 理解“复用节点陷阱”：同一个张量被用了两次时，梯度必须**累加**（`+=`）而不是覆盖；
# - 知道 `.grad` 在多次 `backward()` 之间会累加，所以要清零；会用 `no_grad` 与 `detach`。
#
# **前置知识**：导数与复合函数求导（高中 / 大一微积分）；第 00 课（安装、种子、dtype、设备）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/01_scalar_autograd.py            # 完整模式
# python lessons/01_scalar_autograd.py --quick    # 快速模式：画图用的点更少
# python lessons/01_scalar_autograd.py --device cuda
# jupytext --to notebook lessons/01_scalar_autograd.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。

# %% tags=["parameters"]
QUICK = False    # 快速模式：画图用的点更少（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
import unicodedata

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.autograd import format_graph
from tinygrad_zh.lesson import lesson_args, show
from tinygrad_zh.viz import graph_figure, label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）


def f(x):
    """本课的主角：f(x) = x³ − 2x。x 可以是张量，也可以是 Python 数。"""
    return x ** 3 - 2 * x


def df_exact(x):
    """手推的导数：f′(x) = 3x² − 2。"""
    return 3 * x ** 2 - 2


X0 = 1.5  # 在这一点上比较各种求导方法：f′(1.5) = 3·2.25 − 2 = 4.75


def pad(text, width, right=False):
    """按终端显示宽度补空格（一个汉字占两格），让中英文混排的表格对齐。"""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    fill = " " * max(width - shown, 0)
    return fill + text if right else text + fill

# %% [markdown]
# ## 第 1 步：导数是差商的极限
#
# 导数的定义是
#
# $$f'(x) = \lim_{h\to 0} \frac{f(x+h) - f(x)}{h}.$$
#
# 把极限去掉、取一个很小的 $h$，就得到**数值微分** (numerical differentiation) 的两个公式，也叫有限差分 (finite difference)：
#
# - 前向差分 (forward difference)：$\dfrac{f(x+h) - f(x)}{h}$；
# - 中心差分 (central difference)：$\dfrac{f(x+h) - f(x-h)}{2h}$。
#
# 对 $f(x) = x^3 - 2x$ 可以把误差算得清清楚楚。展开 $(x \pm h)^3 = x^3 \pm 3x^2h + 3xh^2 \pm h^3$：
#
# - 前向差分 $= 3x^2 - 2 + 3xh + h^2$，误差 $3xh + h^2$，与 $h$ 成正比（一阶精度）。在 $x = 1.5$ 处约为 $4.5h$；
# - 中心差分 $= 3x^2 - 2 + h^2$，误差**恰好**是 $h^2$（二阶精度）：奇数次项互相抵消了。
#
# 那是不是 $h$ 越小越好？不是。计算机里的浮点数只有有限位有效数字（float64 约 16 位，float32 约 7 位）。
# $f(x+h)$ 和 $f(x-h)$ 非常接近时，相减会把前面相同的数字全部消掉，剩下的主要是舍入误差，
# 再除以很小的 $2h$ 就被放大了。舍入误差约为 $\varepsilon \cdot |f| / h$（$\varepsilon$ 是机器精度），
# 所以总误差在某个中间的 $h$ 处最小：float64 的中心差分在 $h \approx 10^{-5}$ 附近，float32 在 $h \approx 10^{-2}$ 附近。
# 这就是为什么梯度检验 (gradient check) 一定要用 float64（第 03 课的 `gradcheck` 会拒绝 float32）。
#
# 下面用框架计算差分（在 `no_grad` 里，因为这里只要函数值，不需要计算图）。


# %%
def finite_differences(x0, hs, dtype, device):
    """对一组步长 hs 同时算前向差分与中心差分（一次向量运算算完所有 h）。返回两个 Python 列表。"""
    with tg.no_grad():
        h = tg.tensor(hs, dtype=dtype, device=device)
        x = tg.full((len(hs),), x0, dtype=dtype, device=device)
        forward = (f(x + h) - f(x)) / h
        central = (f(x + h) - f(x - h)) / (2 * h)
    return forward.tolist(), central.tolist()


exact = df_exact(X0)
hs = np.array([1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7])
fw64, c64 = finite_differences(X0, hs, tg.float64, DEVICE)
_, c32 = finite_differences(X0, hs, tg.float32, DEVICE)
print(f"f(x) = x³ − 2x，在 x = {X0} 处的精确导数 f′(x) = 3x² − 2 = {exact}")
print(" | ".join([pad("h", 7, True)] + [pad(t, 16, True) for t in
                                        ("前向差分误差 f64", "中心差分误差 f64", "中心差分误差 f32")]))
for h, a, b, c in zip(hs, fw64, c64, c32):
    print(f"{h:7.0e} | {a - exact:16.2e} | {b - exact:16.2e} | {c - exact:16.2e}")
i3, i7 = 2, 6  # h = 1e-3、h = 1e-7 那两行
RESULTS.update({"df_exact": exact, "forward_h1e-3": fw64[i3], "central_h1e-3": c64[i3],
                "central32_h1e-3": c32[i3], "central32_h1e-7": c32[i7]})

# 第 9 步要画“误差-步长”曲线，这里顺便用更密的 h 算好
dense_h = np.logspace(-12, -0.5, 16 if QUICK else 61)
dense_fw64, dense_c64 = finite_differences(X0, dense_h, tg.float64, DEVICE)
_, dense_c32 = finite_differences(X0, dense_h, tg.float32, DEVICE)

# %% [markdown]
# ## 第 2 步：让框架来求导：`backward()`
#
# 自动微分 (automatic differentiation, autograd) 不用差分，也不做符号推导：它在计算 $f(x)$ 的同时记下每一步
# 运算（前向传播 (forward propagation)），然后从输出往回，用每个运算的**局部导数**和链式法则把导数精确地乘回来
# （反向传播）。结果与手推的公式只差浮点舍入，而且不需要选 $h$。
#
# ```python
# x = tg.tensor(1.5, requires_grad=True)   # 告诉框架：要对 x 求导
# y = x ** 3 - 2 * x
# y.backward()                             # dy/dx 存进 x.grad
# ```
#
# 我们再拿几个函数，比较三种导数：手推公式、中心差分（float64，$h = 10^{-6}$）、`backward()`（float64）。


# %%
def dsilu(x):
    """x·σ(x) 的导数：乘积法则 σ(x) + x·σ(x)(1 − σ(x))。"""
    s = 1 / (1 + math.exp(-x))
    return s * (1 + x * (1 - s))


FUNCTIONS = [
    # (名字, 用张量写的函数, 手推的导数(Python float))
    ("x³ − 2x", f, df_exact),
    ("tanh(x)", lambda x: x.tanh(), lambda x: 1 - math.tanh(x) ** 2),
    ("x·sigmoid(x)", lambda x: x * x.sigmoid(), dsilu),
    ("ln(1 + x²)", lambda x: (1 + x * x).log(), lambda x: 2 * x / (1 + x * x)),
    ("exp(−x²/2)", lambda x: (-(x * x) / 2).exp(), lambda x: -x * math.exp(-x * x / 2)),
]


def backward_derivative(fn, x0, dtype, device):
    x = tg.tensor(x0, dtype=dtype, device=device, requires_grad=True)
    fn(x).backward()
    return x.grad.item()


def central_difference(fn, x0, h, device):
    with tg.no_grad():
        xp = tg.tensor(x0 + h, dtype=tg.float64, device=device)
        xm = tg.tensor(x0 - h, dtype=tg.float64, device=device)
        return ((fn(xp) - fn(xm)) / (2 * h)).item()


g32 = backward_derivative(f, X0, tg.float32, DEVICE)
print(f"x = {X0}（float32），y = x³ − 2x，y.backward() 后 x.grad = {g32}（精确值 {df_exact(X0)}）")
x0 = 0.8
print(f"在 x = {x0} 处比较三种导数（float64）：")
print(pad("函数", 14) + "".join(pad(t, 12, True) for t in ("手推公式", "中心差分", "backward"))
      + pad("|backward − 公式|", 20, True))
worst = 0.0
for name, fn, dfn in FUNCTIONS:
    formula = dfn(x0)
    num = central_difference(fn, x0, 1e-6, DEVICE)
    ana = backward_derivative(fn, x0, tg.float64, DEVICE)
    worst = max(worst, abs(ana - formula))
    print(f"{pad(name, 14)}{formula:12.6f}{num:12.6f}{ana:12.6f}{abs(ana - formula):20.1e}")
RESULTS.update({"df_backward": g32, "table_max_err": worst})

# %% [markdown]
# ## 第 3 步：手算链式法则，再让 backward 验证
#
# 取一个最小的“神经元”：输入 $x$，权重 (weight) $w$，偏置 (bias) $b$，sigmoid 激活，平方误差：
#
# $$z = w x + b,\qquad \hat y = \sigma(z) = \frac{1}{1 + e^{-z}},\qquad L = (\hat y - t)^2.$$
#
# 取 $w = 0.5,\ b = -1,\ x = 1.5,\ t = 1$。前向：
# $z = 0.5 \times 1.5 - 1 = -0.25$，$\hat y = \sigma(-0.25) \approx 0.437823$，$L = (0.437823 - 1)^2 \approx 0.316042$。
#
# 链式法则 (chain rule)：$L$ 通过 $\hat y$ 依赖 $z$，$z$ 又依赖 $w$ 和 $b$，于是把沿途的局部导数乘起来：
#
# $$\frac{\partial L}{\partial w}
#   = \frac{\partial L}{\partial \hat y}\cdot\frac{\partial \hat y}{\partial z}\cdot\frac{\partial z}{\partial w}.$$
#
# 逐项算（这正是反向传播的顺序：从 $L$ 往回）：
#
# | 量 | 公式 | 数值 |
# |---|---|---|
# | $\partial L/\partial \hat y$ | $2(\hat y - t)$ | −1.124353 |
# | $\partial \hat y/\partial z$ | $\sigma(z)(1 - \sigma(z)) = \hat y(1 - \hat y)$ | 0.246134 |
# | $\partial L/\partial z$ | 上面两项相乘 | −0.276742 |
# | $\partial L/\partial w$ | $\partial L/\partial z \cdot x$ | −0.415112 |
# | $\partial L/\partial b$ | $\partial L/\partial z \cdot 1$ | −0.276742 |
#
# 注意 sigmoid 的导数可以只用它的输出 $\hat y$ 表示：框架的 `Sigmoid` 在前向时保存输出，反向时直接用。
#
# 框架默认只把梯度留给叶子张量 (leaf tensor)（用户直接创建的、`requires_grad=True` 的张量，这里是 $w$、$b$）；
# 想看中间量 $z$、$\hat y$ 的梯度，要先对它们调用 `retain_grad()`。$x$ 和 $t$ 不需要梯度，是常量。


# %%
def make_neuron(device):
    """构造 L = (sigmoid(w·x + b) − t)²，返回 (L, 各个张量)。"""
    w = tg.tensor(0.5, device=device, requires_grad=True)
    b = tg.tensor(-1.0, device=device, requires_grad=True)
    x = tg.tensor(1.5, device=device)   # 输入：常量，不求梯度
    t = 1.0                             # 目标值：普通 Python 数
    z = w * x + b
    y_hat = z.sigmoid()
    loss = (y_hat - t) ** 2
    return loss, {"w": w, "b": b, "x": x, "z": z, "y_hat": y_hat}


# 手算（普通 Python 数）
w, b, x, t = 0.5, -1.0, 1.5, 1.0
z = w * x + b
y_hat = 1 / (1 + math.exp(-z))
loss = (y_hat - t) ** 2
dL_dy = 2 * (y_hat - t)
dy_dz = y_hat * (1 - y_hat)
dL_dz = dL_dy * dy_dz
hand = {"L": loss, "dL/dy_hat": dL_dy, "dL/dz": dL_dz, "dL/dw": dL_dz * x, "dL/db": dL_dz}
print(f"前向：z = {z}，y_hat = {y_hat:.6f}，L = {loss:.6f}")
print(f"手算：dL/dy_hat = {dL_dy:.6f}，dy_hat/dz = {dy_dz:.6f}，dL/dz = {dL_dz:.6f}，"
      f"dL/dw = {dL_dz * x:.6f}，dL/db = {dL_dz:.6f}")

# 框架
L, neuron = make_neuron(DEVICE)
neuron["z"].retain_grad()
neuron["y_hat"].retain_grad()
L.backward()
framework = {"L": L.item(), "dL/dy_hat": neuron["y_hat"].grad.item(), "dL/dz": neuron["z"].grad.item(),
             "dL/dw": neuron["w"].grad.item(), "dL/db": neuron["b"].grad.item()}
print("backward()：" + "，".join(f"{k} = {v:.6f}" for k, v in framework.items()))
diff = max(abs(hand[k] - framework[k]) for k in hand)
print(f"手算与框架的最大差 {diff:.1e}（float32 的舍入误差量级）")
RESULTS.update({"neuron_L": framework["L"], "neuron_dw": framework["dL/dw"], "neuron_db": framework["dL/db"],
                "neuron_max_diff": diff})

# %% [markdown]
# ## 第 4 步：计算图
#
# 上面的 `L` 并不只是一个数：每个由运算得到的张量都记得自己是怎么来的。`L.grad_fn` 是产生它的运算节点
# （`PowBackward`，“幂”），节点里又记着它的输入，输入的 `grad_fn` 再指向更早的运算……这些节点连起来就是计算图。
# 图是在前向计算时**边算边建**的（define-by-run，也叫动态图），所以 Python 的 `if`、`for` 都可以自由使用。
#
# - `tinygrad_zh.autograd.format_graph(L)` 把图打印成一棵文字树，从输出往回看；
# - `tinygrad_zh.viz.graph_figure(L, ...)` 把图画出来：蓝色框是需要梯度的叶子，橙色框是运算。
#   框架不知道变量名，所以我们用 `names={w: "w = 0.5", b: "b = −1"}` 给叶子标上名字。
#   默认只画需要梯度的张量；常量 $x$ 不需要梯度，反向传播也不会走到它，要用 `constants={x: "x = 1.5"}`
#   才会把它画成一个灰色框，这样图就和公式 $z = w x + b$ 一一对应了。
#   文字树里 `#6`、`#8` 是两个叶子 $w$、$b$，`#7` 是常量 $x$。
#
# 注意目标值 $t = 1$ 是 Python 数，它被直接“折叠”进了减法节点，所以图里没有它。

# %%
L, neuron = make_neuron(DEVICE)
print(f"L = {L}")
print(f"L.grad_fn = {L.grad_fn}")
print("format_graph(L)：")
print(format_graph(L))
fig = graph_figure(L, names={neuron["w"]: "w = 0.5", neuron["b"]: "b = −1"},
                   constants={neuron["x"]: "x = 1.5"},
                   title=("计算图：L = (sigmoid(w·x + b) − t)²", "graph of L = (sigmoid(w*x + b) - t)^2"))
RESULTS["graph_figure"] = str(show(fig, "01_graph.png"))

# %% [markdown]
# ## 第 5 步：拓扑序，以及为什么不用递归
#
# 反向传播要把梯度从输出一路传回叶子。一个节点的梯度，等于**所有用到它的节点**传回来的梯度之和；
# 所以处理一个节点之前，必须先处理完所有用到它的节点。满足这个要求的顺序就是**逆拓扑序** (reverse topological order)：
#
# 1. 先求拓扑序 (topological order)：每个节点都排在它的输入之后（从叶子到输出）；
# 2. 反过来遍历（从输出到叶子），对每个节点调用它的 `backward`，把结果加到它的输入上。
#
# 求拓扑序最短的写法是递归的深度优先搜索，但 Python 默认的递归深度上限只有 1000 左右，一条 2000 个运算的链
# （RNN 展开、长循环里很常见）就会 `RecursionError`。框架的引擎（`tinygrad_zh/autograd/engine.py` 里的 `toposort`）
# 因此用一个**显式的栈**做迭代版本。下面把它的思路原样写出来：栈里放 `(节点, 是否已展开)`，
# 第一次弹出时把自己（标记为已展开）和输入压回栈里，第二次弹出时输入都已排好，再把自己放进结果。


# %%
def topo_order(root):
    """迭代版拓扑排序：只走需要梯度的张量（与框架的引擎一致）。返回从叶子到 root 的列表。"""
    # BEGIN SOLUTION task01_1
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node.grad_fn is not None:
            for parent in node.grad_fn.inputs:
                if isinstance(parent, tg.Tensor) and parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order
    # END SOLUTION


def topo_order_recursive(root):
    """递归版：简短，但链太长时会超过 Python 的递归深度上限。"""
    order, visited = [], set()

    def visit(node):
        if id(node) in visited:
            return
        visited.add(id(node))
        if node.grad_fn is not None:
            for parent in node.grad_fn.inputs:
                if isinstance(parent, tg.Tensor) and parent.requires_grad:
                    visit(parent)
        order.append(node)

    visit(root)
    return order


def node_name(t, names):
    return names.get(id(t)) or (t.grad_fn.name if t.grad_fn is not None else "叶子")


L, neuron = make_neuron(DEVICE)
names = {id(neuron["w"]): "w", id(neuron["b"]): "b"}
order = [node_name(t, names) for t in topo_order(L)]
print("拓扑序（叶子 → 输出）：" + " → ".join(order))
print("反向传播按相反的顺序处理：" + " → ".join(reversed(order)))

# 一条很长的链：y = x·(1 + 1/n)·(1 + 1/n)·…，dy/dx = (1 + 1/n)ⁿ → e
n_ops = 2000
x = tg.tensor(1.0, device=DEVICE, requires_grad=True)
y = x
for _ in range(n_ops):
    y = y * (1 + 1 / n_ops)
try:
    topo_order_recursive(y)
    recursive_failed = False
    print("递归版在这条链上居然成功了（你的 Python 递归上限被调大过？）")
except RecursionError:
    recursive_failed = True
    print(f"递归版拓扑排序在 {n_ops} 个运算的链上：RecursionError（超过递归深度上限）")
print(f"迭代版得到 {len(topo_order(y))} 个节点；框架的 backward() 也没问题：")
y.backward()
print(f"  dy/dx = (1 + 1/{n_ops})^{n_ops} = {x.grad.item():.4f}（e ≈ {math.e:.4f}）")
RESULTS.update({"topo_order": order, "chain_ops": n_ops, "chain_grad": x.grad.item(),
                "chain_exact": (1 + 1 / n_ops) ** n_ops, "recursive_failed": recursive_failed})

# %% [markdown]
# ## 第 6 步：复用节点陷阱——梯度要累加，不能覆盖
#
# 看最简单的 $y = x \cdot x$。乘法节点的局部导数是 $\partial(ab)/\partial a = b$、$\partial(ab)/\partial b = a$，
# 所以 `MulBackward` 会返回两个梯度 $(g \cdot b,\ g \cdot a)$。这里 $a$ 和 $b$ **是同一个张量** $x$，
# 两个梯度都要交给 $x$。
#
# 如果引擎写成“把梯度**赋值**给输入”（`grad[x] = ...`），第二个会把第一个覆盖掉，得到 $dy/dx = x$；
# 正确的做法是**累加**（`grad[x] += ...`），得到 $x + x = 2x$。这正是多元链式法则：
# $x$ 通过两条路径影响 $y$，导数是各条路径的贡献之和
#
# $$\frac{d}{dx} g(u(x), v(x)) = \frac{\partial g}{\partial u} u'(x) + \frac{\partial g}{\partial v} v'(x).$$
#
# 以 $x = 3$ 为例：覆盖得到 3（错），累加得到 6 = 2x（对）。
#
# 这个陷阱并不只出现在 `x * x` 里：只要一个张量被两个运算用到（计算图里有“分叉”），就会发生。
# $f(x) = x^3 - 2x$ 中，$x$ 同时进入“幂”和“乘法”两个节点：覆盖的话，最后得到的只是其中一条路径的
# $3x^2 = 6.75$ 或 $-2$，而正确答案是两者之和 4.75。
#
# 为了亲眼看到这一点，下面写一个 20 行的“迷你引擎”：它在**框架真实的计算图**上按逆拓扑序走一遍，
# 调用每个节点自己的 `backward`，唯一的开关是累加还是覆盖。框架的真实引擎做的事情与它相同，
# 另外还会检查梯度的形状、dtype、设备，把广播过的梯度求和回输入的形状，并在用完后释放计算图。


# %%
def mini_backward(root, accumulate=True):
    """迷你反向传播引擎：返回 {id(张量): 梯度数组}。accumulate=False 演示错误的“覆盖”写法。"""
    # BEGIN SOLUTION task01_2
    grads = {id(root): tg.ones_like(root).data}
    for node in reversed(topo_order(root)):
        fn = node.grad_fn
        if fn is None or id(node) not in grads:
            continue
        in_grads = type(fn).backward(fn, grads[id(node)])   # 这个节点的局部导数 × 上游梯度
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for parent, g in zip(fn.inputs, in_grads):
            if g is None or not isinstance(parent, tg.Tensor) or not parent.requires_grad:
                continue
            if accumulate and id(parent) in grads:
                grads[id(parent)] = grads[id(parent)] + g    # 正确：累加
            else:
                grads[id(parent)] = g                        # 错误（accumulate=False 时）：覆盖
    return grads
    # END SOLUTION


x = tg.tensor(3.0, device=DEVICE, requires_grad=True)
y = x * x
wrong = mini_backward(y, accumulate=False)[id(x)].item()
right = mini_backward(y, accumulate=True)[id(x)].item()
y.backward()
print(f"y = x * x，x = 3：覆盖得到 {wrong}（错），累加得到 {right}，框架 backward() 得到 {x.grad.item()}（= 2x）")
RESULTS.update({"trap_overwrite": wrong, "trap_accumulate": right, "trap_framework": x.grad.item()})

x = tg.tensor(X0, device=DEVICE, requires_grad=True)
y = f(x)
fan_wrong = mini_backward(y, accumulate=False)[id(x)].item()
fan_right = mini_backward(y, accumulate=True)[id(x)].item()
y.backward()
print(f"y = x³ − 2x，x = {X0}：覆盖得到 {fan_wrong}（只剩一条路径），累加得到 {fan_right}，"
      f"框架得到 {x.grad.item()}（精确值 {df_exact(X0)}）")
RESULTS.update({"fanout_overwrite": fan_wrong, "fanout_accumulate": fan_right})

# %% [markdown]
# ## 第 7 步：`.grad` 在多次 backward 之间也会累加
#
# 同样是“累加”，叶子张量的 `.grad` 在**多次** `backward()` 之间也是累加的，而不是每次重新开始。
# 这是有意的设计：一个参数可能出现在好几个损失里，或者我们想把几个小批量 (minibatch) 的梯度加起来再更新一次
# （梯度累积）。代价是：每次更新参数之后，必须把梯度清零，否则下一步用的是“旧梯度 + 新梯度”。
# 本框架（和 PyTorch 一样）清零的写法是 `x.grad = None`，以后的优化器里叫 `optimizer.zero_grad()`。
#
# 另一个相关的规则：默认情况下一次 `backward()` 之后，计算图里保存的中间结果就被释放（省内存）。
# 对**同一个**图再调用一次 `backward()` 会得到一个清楚的错误；确实需要时，第一次调用 `backward(retain_graph=True)`。
# 所以下面每次都重新计算 `y`（重新建图）。

# %%
x = tg.tensor(2.0, device=DEVICE, requires_grad=True)
history = []
(x * x).backward()
history.append(x.grad.item())
print(f"第 1 次 backward：x.grad = {history[-1]}（dy/dx = 2x = 4）")
(x * x).backward()
history.append(x.grad.item())
print(f"再算一次 y 并 backward：x.grad = {history[-1]}（4 + 4，累加了！）")
x.grad = None
(x * x).backward()
history.append(x.grad.item())
print(f"x.grad = None 清零后再来一次：x.grad = {history[-1]}")

y = x * x
y.backward()
try:
    y.backward()
except RuntimeError as e:
    print(f"对同一个图第二次 backward：RuntimeError：{e}")
RESULTS["accumulated_grads"] = history

# %% [markdown]
# ## 第 8 步：`no_grad` 与 `detach`
#
# - `with tg.no_grad():` 里的运算**不建计算图**：结果的 `requires_grad` 为 False、`grad_fn` 为 None。
#   用在两个地方：推断 (inference)（只要结果，省内存、更快），以及更新参数（更新本身不应被求导，见第 02 课）。
#   它也可以当装饰器：`@tg.no_grad()`。
# - `t.detach()` 返回一个与 `t` 共享数据、但**与计算图断开**的新张量，也叫分离（detach，停止梯度 stop gradient）。
#   在它之后，梯度不会再流回 `t` 的来源。
#
# 例：$x = 2$，$y = x^2$，$z = y \cdot x = x^3$，$dz/dx = 3x^2 = 12$。如果写成 $z = \text{detach}(y) \cdot x$，
# 框架把 $y$ 当作常数 4，于是 $dz/dx = 4$：只剩下直接经过 $x$ 的那条路径。

# %%
x = tg.tensor(2.0, device=DEVICE, requires_grad=True)
with tg.no_grad():
    z = x * x
print(f"no_grad 里的 z = x * x：z.requires_grad = {z.requires_grad}，z.grad_fn = {z.grad_fn}")

y = x * x
(y * x).backward()
full = x.grad.item()
x.grad = None
y = x * x
(y.detach() * x).backward()
detached = x.grad.item()
print(f"z = y * x：dz/dx = {full}（= 3x²）；z = y.detach() * x：dz/dx = {detached}（= y 的值，y 被当作常数）")
RESULTS.update({"full_grad": full, "detach_grad": detached})

# %% [markdown]
# ## 第 9 步：一次算出整条曲线上的导数
#
# 对一个向量 $x = (x_1, \dots, x_n)$ 逐元素计算 $y_i = f(x_i)$，再求 $S = \sum_i y_i$。
# 因为 $y_i$ 只依赖 $x_i$，
#
# $$\frac{\partial S}{\partial x_i} = f'(x_i).$$
#
# 所以一次 `f(x).sum().backward()` 就能得到所有点上的导数（等价写法：`y.backward(tg.ones_like(y))`，
# 给非标量输出传入上游梯度）。下面在 $[-2, 2]$ 上画出 $f$、手推的 $f'$ 和框架算出的 $f'$，
# 右图是第 1 步中差分误差随步长 $h$ 的变化（对数坐标）：$h$ 较大时误差沿着虚线（截断误差 $4.5h$ 与 $h^2$）下降，
# $h$ 太小时舍入误差反而让曲线抬头。float32 的曲线在 $h \lesssim 10^{-7}$ 处是一条水平线：$x \pm h$ 在 float32 里
# 被舍入成了 $x$ 本身，差分为 0，误差就是 $|0 - 4.75| = 4.75$。


# %%
def plot_f_and_errors(xs, dy, h, errors):
    """左图：f、手推的 f′ 与框架算出的 f′；右图：各种差分的误差随步长 h 的变化（对数坐标）。"""
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11, 4.2))
    fine = np.linspace(-2.0, 2.0, 201)
    ax1.plot(fine, f(fine), color="C0", label=label("f(x) = x³ − 2x", "f(x) = x^3 - 2x"))
    ax1.plot(fine, df_exact(fine), color="C1", label=label("手推 f′(x) = 3x² − 2", "analytic f'(x) = 3x^2 - 2"))
    ax1.plot(xs, dy, "o", ms=4, color="C3", mfc="none", label=label("框架 backward() 的 f′", "f' from backward()"))
    ax1.axhline(0, color="gray", lw=0.8)
    ax1.set_xlabel("x")
    ax1.set_title(label("函数与导数", "function and derivative"))
    ax1.grid(alpha=0.3)
    ax1.legend()

    for (name, style), e in zip([(("前向差分 float64", "forward diff, float64"), "C0-"),
                                 (("中心差分 float64", "central diff, float64"), "C1-"),
                                 (("中心差分 float32", "central diff, float32"), "C3-")], errors):
        ax2.loglog(h, np.maximum(e, 1e-17), style, marker=".", label=label(*name))
    ax2.loglog(h, 4.5 * h, "C0:", lw=1, label=label("4.5h（截断误差）", "4.5h (truncation)"))
    ax2.loglog(h, h ** 2, "C1:", lw=1, label=label("h²（截断误差）", "h^2 (truncation)"))
    ax2.set_ylim(1e-13, 1e2)
    ax2.set_xlabel(label("步长 h", "step h"))
    ax2.set_ylabel(label("|数值导数 − 精确值|", "|numerical - exact|"))
    ax2.set_title(label("差分误差：h 太大或太小都不行", "finite-difference error vs h (x = 1.5)"))
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


n = 21 if QUICK else 81
x = tg.tensor(np.linspace(-2.0, 2.0, n), dtype=tg.float32, device=DEVICE, requires_grad=True)
y = f(x)
y.sum().backward()
dy = x.grad
err = (dy - df_exact(x.detach())).abs().max().item()
print(f"在 {n} 个点上，框架的 f′ 与 3x² − 2 的最大差 {err:.1e}")
RESULTS["curve_max_err"] = err

errors = [np.abs(np.array(v) - exact) for v in (dense_fw64, dense_c64, dense_c32)]
fig = plot_f_and_errors(x.detach().cpu().numpy(), dy.detach().cpu().numpy(), dense_h, errors)
RESULTS["curve_figure"] = str(show(fig, "01_f_and_df.png"))

# %% [markdown]
# ## 小结
#
# - 导数是差商的极限。中心差分的截断误差是 $O(h^2)$，前向差分是 $O(h)$；$h$ 太小则舍入误差占上风，
#   float32 尤其严重，所以数值求导（梯度检验）要用 float64；
# - 自动微分在前向时建计算图，`backward()` 沿逆拓扑序把每个节点的局部导数按链式法则乘回去，结果是精确的；
# - 计算图可以用 `format_graph` 打印、`draw_graph` 画出；叶子张量的梯度留在 `.grad`，中间量要 `retain_grad()`；
# - 引擎用显式栈求拓扑序，长链也不会爆栈；
# - 一个张量被用了多次，梯度要**累加**：`x * x` 的导数是 `2x`，覆盖会得到 `x`；
# - `.grad` 在多次 `backward()` 间累加，更新参数后要 `x.grad = None`；
# - `no_grad` 不建图，`detach` 把张量从图上摘下来。
#
# ## 练习
#
# 1. ★ 对 $g(x) = x \cdot \sigma(x)$（SiLU 激活函数）手推 $g'(x)$，在 $x = 0.5$ 处用中心差分（float64）和
#    `backward()` 验证你的公式。
# 2. ★ 不运行代码，预测 `mini_backward(x * x * x, accumulate=False)` 在 $x = 2$ 处给出的“导数”，再运行验证。
#    正确答案是多少？
# 3. ★★ 用 `y.backward(create_graph=True)` 把反向计算也记进计算图，再对 `x.grad` 求导，得到 $f''(1.5)$，
#    与手推的 $6x = 9$ 比较。
# 4. ★★ 用 `format_graph` 和 `draw_graph` 看 $y = x \cdot x$ 的计算图：图里 $x$ 出现几次？文字树里的
#    “[见上文 #2]”是什么意思？
# 5. ★★★ 第 6 步的迷你引擎没有处理广播 (broadcasting)：用 `x`（形状 `(3,)`）和 `b`（形状 `()`）算 `(x + b).sum()`，
#    它给 `b` 的梯度形状对吗？参考 `tinygrad_zh/autograd/engine.py` 的 `sum_to_shape` 修好它（第 03 课会详细讲广播）。
#
# 全部练习的答案见 `lessons/answers/01_scalar_autograd_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。完整模式和快速模式给出相同的数，
# 快速模式只是画图的点更少。

# %%
R = RESULTS
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- f′(1.5) = {R['df_exact']}；backward()（float32）给出 {R['df_backward']}；
- h = 1e-3 时：前向差分（float64）≈ {R['forward_h1e-3']:.6f}，误差 {R['forward_h1e-3'] - R['df_exact']:.1e}；\
中心差分（float64）≈ {R['central_h1e-3']:.6f}，误差 {R['central_h1e-3'] - R['df_exact']:.1e}（= h²）；
  中心差分（float32）误差 {abs(R['central32_h1e-3'] - R['df_exact']):.1e}，\
h = 1e-7 时 float32 的误差高达 {abs(R['central32_h1e-7'] - R['df_exact']):.2g}；
- 五个函数在 x = 0.8 处，backward()（float64）与手推公式的最大差 {R['table_max_err']:.1e}（float64 的机器精度量级）；
- 神经元：L = {R['neuron_L']:.6f}，dL/dw = {R['neuron_dw']:.6f}，dL/db = {R['neuron_db']:.6f}，\
手算与框架最大差 {R['neuron_max_diff']:.1e}（float32 舍入）；
- 拓扑序：{' → '.join(R['topo_order'])}；
- {R['chain_ops']} 个运算的链：递归版{'出现 RecursionError' if R['recursive_failed'] else '没有出错'}，\
框架给出 dy/dx = {R['chain_grad']:.4f}（(1 + 1/{R['chain_ops']})^{R['chain_ops']} 的精确值是 {R['chain_exact']:.4f}，
  差别来自 {R['chain_ops']} 次 float32 乘法的舍入；e ≈ {math.e:.4f}）；
- 复用节点：x * x 在 x = 3 处，覆盖 {R['trap_overwrite']}（错），累加 {R['trap_accumulate']}，\
框架 {R['trap_framework']}；x³ − 2x 在 x = 1.5 处，覆盖 {R['fanout_overwrite']}，累加 {R['fanout_accumulate']}；
- 多次 backward：x.grad 依次为 {'、'.join(str(v) for v in R['accumulated_grads'])}（第三个在清零之后）；
- detach：dz/dx = {R['full_grad']}（完整）与 {R['detach_grad']}（detach 后）；
- 框架算出的 f′ 曲线与 3x² − 2 的最大差 {R['curve_max_err']}；
- 图片：{R['graph_figure']}、{R['curve_figure']}。""")
