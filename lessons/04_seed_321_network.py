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
# # 第 04 课：原文的 3-2-1 网络
#
# 原文 §4.3 举了一个小网络的例子：3 个输入、2 个隐藏单元 (hidden unit)、1 个输出，激活函数 (activation function)
# 都用 ReLU（修正线性单元），输入 `x = [1, 0, 1]`，损失是均方误差 (mean squared error) `J = ½ Σ (y − ŷ)²`，
# 学习率 (learning rate) 0.01。
# 但原文只写了符号，**一个数也没算**：权重是多少、梯度是多少、更新一步之后损失变了多少，都没有。
#
# 这一课把它补完整：选定具体的权重，先 **用手** 一步一步算出前向传播、损失和每一个梯度，
# 再用 tinygrad_zh 的自动微分算一遍，逐个数字对照；然后做一步梯度下降，确认损失确实变小了。
#
# **学习目标**
#
# 1. 能手算一个两层 ReLU 网络的前向传播 (forward propagation) 与反向传播 (backpropagation)，写出每个梯度的来历；
# 2. 会用框架搭同一个网络（权重按 PyTorch `nn.Linear` 的约定存成 `(out, in)`），并用 `assert_close` 对照手算结果；
# 3. 会手写一步梯度下降 (gradient descent) `θ ← θ − α·∇J`，并验证损失下降，下降量约为 `α‖∇J‖²`；
# 4. 知道 ReLU 单元不激活时梯度为 0，知道 `½` 与 PyTorch `MSELoss` 的差别会带来什么变化。
#
# **前置知识**：第 01 课（链式法则、计算图）、第 02 课（梯度下降）、第 03 课（矩阵乘法的形状、广播与反广播）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/04_seed_321_network.py            # 完整运行
# python lessons/04_seed_321_network.py --quick    # 快速模式（几秒）
# python lessons/04_seed_321_network.py --device cuda   # 有 NVIDIA GPU 和 CuPy 时
# jupytext --to notebook lessons/04_seed_321_network.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。

# %% tags=["parameters"]
QUICK = False    # 快速模式：第 8 步只继续训练 10 步而不是 100 步（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.lesson import lesson_args, show
from tinygrad_zh.testing import assert_close, gradcheck
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

# %% [markdown]
# ## 第 1 步：网络与记号
#
# ```
#  输入层 (3)         隐藏层 (2, ReLU)            输出层 (1, ReLU)
#   x₁ = 1 ─┐
#   x₂ = 0 ─┼─ W_ih, b_h ─→ z_h → a_h = ReLU(z_h) ─ W_ho, b_o ─→ z_o → ŷ = ReLU(z_o)
#   x₃ = 1 ─┘
# ```
#
# 公式（把 `x` 看成列向量）：
#
# $$z_h = W_{ih}\,x + b_h,\quad a_h = \mathrm{ReLU}(z_h),\quad z_o = W_{ho}\,a_h + b_o,\quad \hat y = \mathrm{ReLU}(z_o),\quad J = \tfrac12 (y-\hat y)^2$$
#
# 原文没有给数，我们选：
#
# $$W_{ih} = \begin{bmatrix}0.2 & -0.1 & 0.4\\ -0.3 & 0.5 & 0.6\end{bmatrix},\ b_h = [0.1,\ -0.2],\ W_{ho} = [0.5,\ -0.4],\ b_o = [0.3],\ y = 1$$
#
# 权重 (weight) 的形状按 PyTorch `nn.Linear` 的约定：`(输出个数, 输入个数)`。原文的 `W_ih` 是 2×3，恰好就是这个约定。
# `b_h`、`b_o` 是偏置 (bias)。这组数让两个隐藏单元的 **预激活值 (pre-activation)** `z_h` 都大于 0（都“激活”），输出 `z_o` 也大于 0，所以每条路径都有梯度。
#
# 下面这一格把这些数写成常量，后面每一步都用它们。

# %%
LR = 0.01                      # 原文的学习率
X = [1.0, 0.0, 1.0]            # 原文的输入
Y = 1.0                        # 我们选的目标值（原文没给）
PARAMS = {                     # 我们选的权重（原文没给）：两个隐藏单元都处于激活状态
    "W_ih": [[0.2, -0.1, 0.4],
             [-0.3, 0.5, 0.6]],   # (2, 3) = (out, in)，与原文的 W_ih 和 nn.Linear(3, 2).weight 同形
    "b_h": [0.1, -0.2],           # (2,)
    "W_ho": [[0.5, -0.4]],        # (1, 2) = (out, in)
    "b_o": [0.3],                 # (1,)
}
PARAM_NAMES = ["W_ih", "b_h", "W_ho", "b_o"]


def fmt(v, nd=6):
    """把嵌套列表里的数格式化成短字符串，便于并排打印。"""
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt(u, nd) for u in v) + "]"
    return f"{v:.{nd}g}" if abs(v) >= 1e-12 else "0"


for name in PARAM_NAMES:
    print(f"{name:<5} = {PARAMS[name]}")
print(f"x = {X}，y = {Y}，学习率 α = {LR}")

# %% [markdown]
# ## 第 2 步：手算前向传播与损失
#
# 隐藏层的预激活值（注意 `x₂ = 0`，第 2 列权重乘的是 0）：
#
# - `z_h1 = 0.2·1 + (−0.1)·0 + 0.4·1 + 0.1 = 0.7`
# - `z_h2 = (−0.3)·1 + 0.5·0 + 0.6·1 + (−0.2) = 0.1`
#
# 两个都大于 0，ReLU 原样放行：`a_h = [0.7, 0.1]`（激活值 (activation)）。
#
# 输出层：
#
# - `z_o = 0.5·0.7 + (−0.4)·0.1 + 0.3 = 0.35 − 0.04 + 0.3 = 0.61`，`ŷ = ReLU(0.61) = 0.61`
#
# 损失函数 (loss function)：
#
# - `J = ½ (y − ŷ)² = ½ · (1 − 0.61)² = ½ · 0.1521 = 0.07605`
#
# 下面这一格用纯 Python（不用任何框架）按同样的顺序计算，相当于“草稿纸”。

# %%
def relu(v):
    return v if v > 0 else 0.0


def relu_grad(v):
    """ReLU 的导数：z > 0 时为 1，否则为 0（在 0 处取 0，与 PyTorch 相同）。"""
    return 1.0 if v > 0 else 0.0


def forward_by_hand(p, x=X, y=Y):
    z_h = [sum(p["W_ih"][j][i] * x[i] for i in range(3)) + p["b_h"][j] for j in range(2)]
    a_h = [relu(z) for z in z_h]
    z_o = sum(p["W_ho"][0][j] * a_h[j] for j in range(2)) + p["b_o"][0]
    y_hat = relu(z_o)
    loss = 0.5 * (y - y_hat) ** 2
    return {"z_h": z_h, "a_h": a_h, "z_o": z_o, "y_hat": y_hat, "loss": loss}


hand_forward = forward_by_hand(PARAMS)
print(f"z_h = {fmt(hand_forward['z_h'])}，a_h = {fmt(hand_forward['a_h'])}")
print(f"z_o = {fmt(hand_forward['z_o'])}，ŷ = {fmt(hand_forward['y_hat'])}")
print(f"J = ½(y − ŷ)² = {fmt(hand_forward['loss'])}")
RESULTS.update({"hand_forward": hand_forward, "loss": hand_forward["loss"]})

# %% [markdown]
# ## 第 3 步：手算反向传播
#
# 从损失往回，每一步都是“上游梯度 × 局部导数”（链式法则 (chain rule)）。记 `δ` 为损失对预激活值的梯度。
#
# **输出层**
#
# - `∂J/∂ŷ = −(y − ŷ) = ŷ − y = 0.61 − 1 = −0.39`
# - `δ_o = ∂J/∂z_o = ∂J/∂ŷ · ReLU'(z_o) = −0.39 · 1 = −0.39`（`z_o = 0.61 > 0`）
# - `∂J/∂W_ho = δ_o · a_hᵀ = [−0.39·0.7, −0.39·0.1] = [−0.273, −0.039]`
# - `∂J/∂b_o = δ_o = −0.39`
#
# **隐藏层**（梯度沿 `W_ho` 传回来）
#
# - `∂J/∂a_h = δ_o · W_ho = [−0.39·0.5, −0.39·(−0.4)] = [−0.195, 0.156]`
# - `δ_h = ∂J/∂z_h = ∂J/∂a_h ⊙ ReLU'(z_h) = [−0.195·1, 0.156·1] = [−0.195, 0.156]`（两个单元都激活）
# - `∂J/∂W_ih = δ_h xᵀ`（外积 (outer product)），即第 j 行第 i 列是 `δ_hj · xᵢ`：
#
# $$\frac{\partial J}{\partial W_{ih}} = \begin{bmatrix}-0.195\cdot1 & -0.195\cdot0 & -0.195\cdot1\\ 0.156\cdot1 & 0.156\cdot0 & 0.156\cdot1\end{bmatrix} = \begin{bmatrix}-0.195 & 0 & -0.195\\ 0.156 & 0 & 0.156\end{bmatrix}$$
#
# - `∂J/∂b_h = δ_h = [−0.195, 0.156]`
#
# 读一读这些数：
#
# - `ŷ = 0.61 < y = 1`，预测偏小。梯度为负的参数（如 `W_ho` 的第 1 个、`b_o`）增大会让 `ŷ` 变大，所以梯度下降会把它们调大；
# - `W_ih` 第 2 行的梯度为正：因为 `W_ho` 的第 2 个权重是 `−0.4`，第 2 个隐藏单元越大，`ŷ` 反而越小；
# - `W_ih` 的中间一列全是 0：`x₂ = 0`，这些权重乘的是 0，对输出没有影响，当然也就没有梯度。
#
# **如果某个 ReLU 单元不激活**（`z ≤ 0`，输出 0），它的 `ReLU'(z) = 0`，于是 `δ` 为 0：
# 这个单元的输入权重、偏置都得不到梯度，它对应的 `W_ho` 权重的梯度 `δ_o · a = δ_o · 0` 也是 0。
# 第 6 步用数字演示这一点。输出单元若不激活（`z_o ≤ 0`），则 **所有** 梯度都是 0，网络一步也学不动。

# %%
def backward_by_hand(p, f, x=X, y=Y):
    d_yhat = f["y_hat"] - y
    d_zo = d_yhat * relu_grad(f["z_o"])
    d_W_ho = [[d_zo * f["a_h"][j] for j in range(2)]]
    d_b_o = [d_zo]
    d_a_h = [d_zo * p["W_ho"][0][j] for j in range(2)]
    d_z_h = [d_a_h[j] * relu_grad(f["z_h"][j]) for j in range(2)]
    d_W_ih = [[d_z_h[j] * x[i] for i in range(3)] for j in range(2)]
    d_b_h = d_z_h[:]
    return {"dJ/dy_hat": d_yhat, "dJ/dz_o": d_zo, "dJ/dW_ho": d_W_ho, "dJ/db_o": d_b_o,
            "dJ/da_h": d_a_h, "dJ/dz_h": d_z_h, "dJ/dW_ih": d_W_ih, "dJ/db_h": d_b_h}


hand_grads = backward_by_hand(PARAMS, hand_forward)
for k, v in hand_grads.items():
    print(f"{k.replace('dJ/d', '∂J/∂').replace('y_hat', 'ŷ'):<9} = {fmt(v)}")
RESULTS["hand_grads"] = hand_grads

# %% [markdown]
# ## 第 4 步：用框架算同一个网络，逐个对照
#
# 框架里一行一个样本：`x` 的形状是 `(1, 3)`，于是线性层写成 `x @ W.T + b`（第 03 课第 3 步），
# 与 `nn.Linear` 完全相同。`b_h` 的形状是 `(2,)`，加到 `(1, 2)` 上时被广播，反向时引擎再把梯度求和回 `(2,)`
# （第 03 课第 6 步）。
#
# 中间结果（`ŷ`、`a_h`、`z_h`）不是叶子张量 (leaf tensor)，默认不保留梯度；调用 `retain_grad()` 后才能看到它们的 `.grad`。
#
# 框架默认用 `float32`（约 7 位有效数字），所以把手算结果也转成 `float32` 再比较，容差按 `float32` 取。

# %%
def make_params(p, device, dtype=None):
    return {k: tg.tensor(p[k], dtype=dtype, device=device, requires_grad=True) for k in PARAM_NAMES}


def net_forward(params, x, y):
    """3-2-1 网络的前向传播；返回损失和中间张量。x: (B, 3)，y: (B, 1)。"""
    z_h = x @ params["W_ih"].T + params["b_h"]         # (B, 2)
    a_h = tg.relu(z_h)
    z_o = a_h @ params["W_ho"].T + params["b_o"]       # (B, 1)
    y_hat = tg.relu(z_o)
    loss = 0.5 * ((y - y_hat) ** 2).sum()               # 原文的 J = ½ Σ (y − ŷ)²
    return loss, {"z_h": z_h, "a_h": a_h, "z_o": z_o, "y_hat": y_hat}


params = make_params(PARAMS, DEVICE)
x = tg.tensor([X], device=DEVICE)                  # (1, 3)
y = tg.tensor([[Y]], device=DEVICE)                # (1, 1)
loss, inter = net_forward(params, x, y)
for name in ("z_h", "a_h", "z_o", "y_hat"):
    inter[name].retain_grad()
loss.backward()

# (名字, 手算值, 框架值)；框架里的中间量带着批量维 (1, ·)，取第 0 行
rows = [
    ("z_h", hand_forward["z_h"], inter["z_h"][0]),
    ("a_h", hand_forward["a_h"], inter["a_h"][0]),
    ("ŷ", hand_forward["y_hat"], inter["y_hat"][0, 0]),
    ("J", hand_forward["loss"], loss),
    ("∂J/∂ŷ", hand_grads["dJ/dy_hat"], inter["y_hat"].grad[0, 0]),
    ("∂J/∂W_ho", hand_grads["dJ/dW_ho"], params["W_ho"].grad),
    ("∂J/∂b_o", hand_grads["dJ/db_o"], params["b_o"].grad),
    ("∂J/∂a_h", hand_grads["dJ/da_h"], inter["a_h"].grad[0]),
    ("∂J/∂z_h", hand_grads["dJ/dz_h"], inter["z_h"].grad[0]),
    ("∂J/∂W_ih", hand_grads["dJ/dW_ih"], params["W_ih"].grad),
    ("∂J/∂b_h", hand_grads["dJ/db_h"], params["b_h"].grad),
]
print(f"{'量':<9} {'手算':<38} {'框架':<38} 一致")
for name, hand, fw in rows:
    fw_val = fw.detach().cpu().numpy()
    assert_close(fw_val, np.asarray(hand, dtype=np.float32), msg=name)
    print(f"{name:<9} {fmt(hand):<38} {fmt(fw_val.tolist()):<38} ✓")
print("全部一致 (assert_close 通过)。")
RESULTS.update({"framework_loss": loss.item(),
                "framework_grads": {k: params[k].grad.tolist() for k in PARAM_NAMES}})

# %% [markdown]
# ## 第 5 步：一步梯度下降
#
# 原文的更新规则 `ΔW = −α ∂J/∂W` 是对的，即 `θ ← θ − α·∇J`，`α = 0.01`。手算每个参数：
#
# - `W_ih ← [[0.2 − 0.01·(−0.195), −0.1 − 0, 0.4 − 0.01·(−0.195)], [−0.3 − 0.01·0.156, 0.5 − 0, 0.6 − 0.01·0.156]]`
#   `= [[0.20195, −0.1, 0.40195], [−0.30156, 0.5, 0.59844]]`
# - `b_h ← [0.1 + 0.00195, −0.2 − 0.00156] = [0.10195, −0.20156]`
# - `W_ho ← [0.5 + 0.00273, −0.4 + 0.00039] = [0.50273, −0.39961]`
# - `b_o ← 0.3 + 0.0039 = 0.3039`
#
# 用新参数再做一次前向：
#
# - `z_h = [0.20195 + 0.40195 + 0.10195, −0.30156 + 0.59844 − 0.20156] = [0.70585, 0.09532]`
# - `z_o = 0.50273·0.70585 + (−0.39961)·0.09532 + 0.3039 ≈ 0.354852 − 0.038091 + 0.3039 = 0.620661`
# - `J = ½ (1 − 0.620661)² ≈ 0.071949`
#
# 损失从 `0.07605` 降到 `0.071949`，下降约 `0.004101`。一阶泰勒展开 (first-order Taylor expansion) 预测的下降量是
# `α‖∇J‖² = 0.01 × 0.415233 ≈ 0.004152`（`‖∇J‖²` 是所有参数梯度的平方和），两者很接近：学习率小时，梯度下降就是沿最陡方向走一小步。
#
# 框架里的更新：在 `no_grad()` 里直接改写参数的 `.data`（更新参数这件事本身不需要求导），然后清空梯度。

# %%
def sgd_step_by_hand(p, g):
    new = {}
    for name in PARAM_NAMES:
        grad = g["dJ/d" + name]
        if isinstance(p[name][0], list):
            new[name] = [[w - LR * dw for w, dw in zip(row, grow)] for row, grow in zip(p[name], grad)]
        else:
            new[name] = [w - LR * dw for w, dw in zip(p[name], grad)]
    return new


old_loss = hand_forward["loss"]
new_hand = sgd_step_by_hand(PARAMS, hand_grads)
new_loss_hand = forward_by_hand(new_hand)["loss"]
grad_sq = sum(float(np.sum(np.square(hand_grads["dJ/d" + k]))) for k in PARAM_NAMES)

# 框架：重新前向、反向，再更新
params = make_params(PARAMS, DEVICE)
loss, _ = net_forward(params, x, y)
loss.backward()
with tg.no_grad():
    for p in params.values():
        p.data = p.data - LR * p.grad.data
        p.grad = None
new_loss_fw, _ = net_forward(params, x, y)

for name in PARAM_NAMES:
    fw_val = params[name].detach().cpu().numpy()
    assert_close(fw_val, np.asarray(new_hand[name], dtype=np.float32), msg=name)
    print(f"新 {name:<5} 手算 {fmt(new_hand[name]):<44} 框架 {fmt(fw_val.tolist())}")
assert_close(new_loss_fw.detach().cpu().numpy(), np.float32(new_loss_hand))
assert new_loss_hand < old_loss
print(f"损失：{old_loss:.6g} → 手算 {new_loss_hand:.10g}，框架 {new_loss_fw.item():.6g}（变小了）")
print(f"实际下降 {old_loss - new_loss_hand:.6g}；一阶预测 α‖∇J‖² = {LR} × {grad_sq:.6g} = {LR * grad_sq:.6g}")
RESULTS.update({"new_params": new_hand, "new_loss": new_loss_hand, "new_loss_framework": new_loss_fw.item(),
                "loss_decrease": old_loss - new_loss_hand, "grad_norm_sq": grad_sq})

# %% [markdown]
# ## 第 6 步：ReLU 不激活时，梯度为 0
#
# 把 `b_h` 的第 2 个分量从 `−0.2` 改成 `−0.5`：`z_h2 = −0.3 + 0.6 − 0.5 = −0.2 ≤ 0`，第 2 个隐藏单元输出 0。
# 此时 `a_h = [0.7, 0]`，`z_o = 0.35 + 0.3 = 0.65`，`δ_o = 0.65 − 1 = −0.35`：
#
# - `W_ih` 第 2 行、`b_h` 第 2 个分量的梯度都是 0（`ReLU'(−0.2) = 0`，梯度在这里被“截断”）；
# - `W_ho` 第 2 个权重的梯度 `δ_o · a_h2 = −0.35 · 0 = 0`；
# - 第 1 个隐藏单元照常：`∂J/∂b_h1 = −0.35 · 0.5 = −0.175`。
#
# 如果一个单元对所有样本都不激活，它就永远得不到梯度，成了“死 ReLU (dying ReLU)”。

# %%
p = {k: [row[:] if isinstance(row, list) else row for row in v] for k, v in PARAMS.items()}
p["b_h"][1] = -0.5
params = make_params(p, DEVICE)
loss, inter = net_forward(params, x, y)
loss.backward()
z_h = inter["z_h"][0].tolist()
dead_grads = {k: params[k].grad.tolist() for k in PARAM_NAMES}
print(f"b_h = {p['b_h']} → z_h = {fmt(z_h)}，a_h = {fmt(inter['a_h'][0].tolist())}")
for k in PARAM_NAMES:
    print(f"∂J/∂{k:<5} = {fmt(dead_grads[k])}")
assert dead_grads["W_ih"][1] == [0.0, 0.0, 0.0] and dead_grads["b_h"][1] == 0.0 and dead_grads["W_ho"][0][1] == 0.0
print("第 2 个隐藏单元不激活：它的输入权重、偏置以及它到输出的权重，梯度都是 0。")
RESULTS["dead_unit_grads"] = dead_grads

# %% [markdown]
# ## 第 7 步：`½` 与 PyTorch 的 `MSELoss`
#
# 原文写 `J = ½ Σ (y − ŷ)²`。`½` 是为了求导时和平方的 2 抵消，使 `∂J/∂ŷ = ŷ − y`。
# PyTorch 的 `nn.MSELoss()`（默认 `reduction="mean"`）算的是 `mean((ŷ − y)²)`：**没有 ½，而且是平均而不是求和**。
#
# - 没有 `½`：损失值是原来的 2 倍（这里 `0.1521`），**所有梯度也都是 2 倍**（`∂/∂ŷ = 2(ŷ − y) = −0.78`）。
#   用同一个学习率 `0.01` 更新，等于对 `½` 版本用学习率 `0.02`。梯度方向不变，变的只是步长。
# - 平均而不是求和：一个小批量 (minibatch) 有 `n` 个样本时，`Σ` 版本的梯度随 `n` 增大，`mean` 版本不随批量大小变化。
#   一个样本时两者相同。
#
# 所以照着原文的公式用 PyTorch 复现时，学习率要相应调整，否则结果对不上。

# %%
params = make_params(PARAMS, DEVICE)
_, inter = net_forward(params, x, y)
loss_pt = ((inter["y_hat"] - y) ** 2).mean()        # = nn.MSELoss()(ŷ, y)
loss_pt.backward()
ratios = {}
for k in PARAM_NAMES:
    hand = np.asarray(hand_grads["dJ/d" + k], dtype=np.float32)
    fw = params[k].grad.detach().cpu().numpy()
    assert_close(fw, 2 * hand, msg=k)
    nz = hand != 0
    ratios[k] = float(np.mean(fw[nz] / hand[nz]))
print(f"MSELoss 式的损失 mean((ŷ − y)²) = {loss_pt.item():.6g}（½ 版本的 {loss_pt.item() / old_loss:.6g} 倍）")
print(f"梯度之比（MSELoss / ½ 版本）：{ {k: round(v, 6) for k, v in ratios.items()} }")

# 同一个学习率 0.01 在 MSELoss 上走一步，相当于在 ½ 版本上用 0.02
with tg.no_grad():
    for p in params.values():
        p.data = p.data - LR * p.grad.data
new_half_loss, _ = net_forward(params, x, y)
more = "比第 5 步下降得更多" if new_half_loss.item() < new_loss_hand else "并没有比第 5 步下降得更多"
print(f"用 MSELoss 的梯度、学习率 {LR} 走一步后，J = ½(y − ŷ)² = {new_half_loss.item():.6g}"
      f"（步长翻倍，{more}：第 5 步后是 {new_loss_hand:.6g}）")
RESULTS.update({"mse_loss_pytorch": loss_pt.item(), "mse_grad_ratio": ratios,
                "loss_after_mse_step": new_half_loss.item()})

# %% [markdown]
# ## 第 8 步：第三个见证——梯度检验，以及继续训练
#
# 手算和框架一致，还可以再请一位独立的“证人”：第 03 课的 `gradcheck` 用 `float64` 中心差分检验整个网络。
# 然后用同样的更新规则多走几步，看 `ŷ` 逐渐靠近 `y = 1`。

# %%
p64 = make_params(PARAMS, DEVICE, dtype=tg.float64)
x64 = tg.tensor([X], dtype=tg.float64, device=DEVICE)
y64 = tg.tensor([[Y]], dtype=tg.float64, device=DEVICE)


def loss_fn(W_ih, b_h, W_ho, b_o):
    return net_forward({"W_ih": W_ih, "b_h": b_h, "W_ho": W_ho, "b_o": b_o}, x64, y64)[0]


ok = gradcheck(loss_fn, *[p64[k] for k in PARAM_NAMES])
print(f"gradcheck(整个 3-2-1 网络, float64) → {ok}")
RESULTS["gradcheck_network"] = ok

# %% [markdown]
# 继续训练：用第 5 步同样的更新规则多走几步（快速模式 10 步，完整模式 100 步）。

# %%
steps = 10 if QUICK else 100
params = make_params(PARAMS, DEVICE)
train_losses, train_y_hat = [], []
for step in range(steps + 1):
    loss, inter = net_forward(params, x, y)
    train_losses.append(loss.item())
    train_y_hat.append(inter["y_hat"].item())
    if step % (steps // 5) == 0:
        print(f"第 {step:>3} 步：J = {loss.item():.6f}，ŷ = {inter['y_hat'].item():.6f}")
    if step == steps:
        break
    loss.backward()
    with tg.no_grad():
        for p in params.values():
            p.data = p.data - LR * p.grad.data
            p.grad = None
RESULTS.update({"train_steps": steps, "train_losses": train_losses, "final_loss": train_losses[-1],
                "final_y_hat": train_y_hat[-1]})

# %% [markdown]
# ## 第 9 步：把网络和梯度画出来
#
# 图中每条边标着它的权重 `w` 和梯度 `∂J/∂w`；节点旁标着偏置 `b` 和它的梯度。
# 中间一列输入 `x₂ = 0` 发出的边梯度都是 0。

# %%
def plot_network(params, grads, forward, new_loss):
    """画出 3-2-1 网络：边上标权重与梯度，节点旁标偏置与梯度。返回 Figure。"""
    import matplotlib.pyplot as plt

    inp = [(0.0, 2.4), (0.0, 0.0), (0.0, -2.4)]
    hid = [(4.0, 1.3), (4.0, -1.3)]
    out = (8.0, 0.0)
    fig, ax = subplots(figsize=(12, 6.8))

    def edge(p0, p1, w, g, t):
        ax.plot([p0[0], p1[0]], [p0[1], p1[1]], color="#d62728" if g < 0 else "#1f77b4" if g > 0 else "#999999",
                lw=1.2 + 12 * abs(g), zorder=1)
        mx, my = p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1])
        ax.text(mx, my, f"w={w:g}\n∂J/∂w={fmt(g, 4)}", fontsize=8.5, ha="center", va="center", zorder=3,
                bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="#bbbbbb"))

    # 标签放在边上靠近发出端/接收端的不同位置，避免 6 条交叉的边互相遮挡
    for j in range(2):
        for i in range(3):
            edge(inp[i], hid[j], params["W_ih"][j][i], grads["W_ih"][j][i], 0.28 if j == 0 else 0.62)
    for j in range(2):
        edge(hid[j], out, params["W_ho"][0][j], grads["W_ho"][0][j], 0.5)

    def node(p, text, color):
        ax.add_patch(plt.Circle(p, 0.55, facecolor=color, edgecolor="black", zorder=2))
        ax.text(p[0], p[1], text, ha="center", va="center", fontsize=9.5, zorder=4)

    for i, v in enumerate(X):
        node(inp[i], f"x{i + 1}={v:g}", "#cde4ff")
    for j in range(2):
        node(hid[j], f"z={forward['z_h'][j]:.3g}\na={forward['a_h'][j]:.3g}", "#ffe1b3")
        ax.text(hid[j][0], hid[j][1] + (0.95 if j == 0 else -0.95),
                f"b={params['b_h'][j]:g}, ∂J/∂b={fmt(grads['b_h'][j], 4)}",
                ha="center", va="center", fontsize=9, color="#444444")
    node(out, f"ŷ={forward['y_hat']:.3g}", "#c7e9c0")
    ax.text(out[0], out[1] + 0.95, f"b={params['b_o'][0]:g}, ∂J/∂b={fmt(grads['b_o'][0], 4)}",
            ha="center", fontsize=9, color="#444444")
    ax.text(out[0] + 0.8, out[1] - 0.95, f"y={Y:g}\nJ={forward['loss']:.5g}", fontsize=10, va="top")
    for xpos, name in [(0, label("输入层", "input")), (4, label("隐藏层 (ReLU)", "hidden (ReLU)")),
                       (8, label("输出层 (ReLU)", "output (ReLU)"))]:
        ax.text(xpos, -3.5, name, ha="center", fontsize=11)
    ax.set_title(label(f"3-2-1 网络：权重 w 与梯度 ∂J/∂w\n红：梯度为负，蓝：为正，灰：为 0；线宽 ∝ |∂J/∂w|；"
                       f"一步更新后 J = {new_loss:.6g}",
                       f"3-2-1 network: weights w and gradients dJ/dw\nred: negative, blue: positive, gray: zero; "
                       f"line width ~ |dJ/dw|; J after one step = {new_loss:.6g}"))
    ax.set_xlim(-1, 9.8)
    ax.set_ylim(-3.9, 3.4)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


grads = {k: hand_grads["dJ/d" + k] for k in PARAM_NAMES}
fig = plot_network(PARAMS, grads, hand_forward, new_loss_hand)
RESULTS["figure"] = str(show(fig, "04_network_gradients.png", dpi=110))

# %% [markdown]
# ## 原文勘误（与本课有关的部分）
#
# - 原文 §4.3 只列了符号，没有给出任何权重、目标值、梯度或更新后的数值；本课补上了完整的一组数。
# - 原文的更新规则 `ΔW = −α ∂J/∂W`、`Δb = −α ∂J/∂b` 是 **正确** 的，就是梯度下降 `θ ← θ − α∇J`。
# - 原文把 `x` 和 `b_h` 写成行向量、`W_ih` 写成 2×3：按列向量写是 `W_ih x + b_h`；按“一行一个样本”写是
#   `x W_ihᵀ + b_h`（本课框架代码用后者，与 `nn.Linear` 相同）。
# - 原文的 `J = ½ Σ (y − ŷ)²` 与 PyTorch `MSELoss` 差一个因子 2，且一个是求和、一个是平均（第 7 步）。
# - 原文输出层也用 ReLU。这不算错，但回归任务的输出层通常不用激活函数：ReLU 输出不能为负，
#   而且一旦 `z_o ≤ 0`，所有梯度都是 0。
# - 原文 §4.1.2 紧挨着的动量法和 Adam 公式是错的（第 08 课给出正确形式并对比）；本课只用普通梯度下降，不受影响。
#
# ## 小结
#
# - 反向传播就是从损失往回，一层一层地乘局部导数：`δ_o = (ŷ − y)·ReLU'(z_o)`，`∂J/∂W_ho = δ_o a_hᵀ`，
#   `δ_h = (W_hoᵀ δ_o) ⊙ ReLU'(z_h)`，`∂J/∂W_ih = δ_h xᵀ`，偏置的梯度就是对应的 `δ`。
# - 框架的结果与手算逐个一致（`float32` 容差内），`gradcheck` 也确认了整个网络的反向传播。
# - 一步梯度下降把损失从 `0.07605` 降到 `0.071949`，下降量接近 `α‖∇J‖²`。
# - ReLU 不激活时梯度为 0；输入为 0 的连接也没有梯度。
# - PyTorch 的 `MSELoss` 没有 `½`、取平均：梯度是 2 倍，等价于学习率翻倍。
#
# ## 练习
#
# - ★ 把目标值改成 `y = 0.5`（其余不变），手算 `J`、`∂J/∂ŷ`、`∂J/∂W_ho`、`∂J/∂b_h`，再用框架验证。
#   梯度的符号为什么全反了？
# - ★ 用 PyTorch 式的 `mean((ŷ − y)²)` 和学习率 `0.005` 走一步，证明新参数与第 5 步（`½` 版本、学习率 `0.01`）完全相同。
# - ★★ 把输入换成一个小批量 `x = [[1, 0, 1], [0, 1, 1]]`、`y = [[1], [0]]`，分别用 `Σ` 和 `mean` 两种损失，
#   比较 `b_o` 的梯度，解释为什么 `Σ` 版本随批量大小变大。
# - ★★★ 去掉输出层的 ReLU（线性输出），把 `b_o` 设成 `−1`：有 ReLU 时所有梯度都是 0，没有 ReLU 时呢？
#   训练 200 步，比较两种网络的损失曲线。
#
# 全部练习的答案：`lessons/answers/04_seed_321_network_answers.py`。
#
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。除了第 8 步继续训练的步数
# （`--quick` 10 步，完整模式 100 步），两种模式的数完全相同。

# %%
R = RESULTS
f, g = R["hand_forward"], R["hand_grads"]
ratios = "、".join(f"{v:.6g}" for v in R["mse_grad_ratio"].values())
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 前向：z_h = {fmt(f['z_h'])}，a_h = {fmt(f['a_h'])}，z_o = ŷ = {fmt(f['y_hat'])}，J = {fmt(f['loss'])}；
- 梯度：∂J/∂ŷ = {fmt(g['dJ/dy_hat'])}，∂J/∂W_ho = {fmt(g['dJ/dW_ho'])}，∂J/∂b_o = {fmt(g['dJ/db_o'])}，\
∂J/∂a_h = {fmt(g['dJ/da_h'])}，∂J/∂z_h = {fmt(g['dJ/dz_h'])}，
  ∂J/∂W_ih = {fmt(g['dJ/dW_ih'])}，∂J/∂b_h = {fmt(g['dJ/db_h'])}；框架的损失 {R['framework_loss']:.6g}，\
与手算全部一致；
- 一步更新后：W_ih = {fmt(R['new_params']['W_ih'])}，b_h = {fmt(R['new_params']['b_h'])}，\
W_ho = {fmt(R['new_params']['W_ho'])}，b_o = {fmt(R['new_params']['b_o'])}；
  损失 {fmt(R['loss'])} → {R['new_loss']:.6g}（手算 {R['new_loss']:.10g}，框架 {R['new_loss_framework']:.6g}），\
下降 {R['loss_decrease']:.6g}，一阶预测 {LR} × {R['grad_norm_sq']:.6g} = {LR * R['grad_norm_sq']:.6g}；
- 死单元（b_h2 = −0.5）：∂J/∂W_ih = {fmt(R['dead_unit_grads']['W_ih'])}，∂J/∂W_ho = {fmt(R['dead_unit_grads']['W_ho'])}；
- MSELoss 式损失 {R['mse_loss_pytorch']:.6g}，梯度之比（W_ih、b_h、W_ho、b_o）{ratios}；\
用它的梯度、学习率 {LR} 走一步后 J = {R['loss_after_mse_step']:.6g}；
- gradcheck → {R['gradcheck_network']}；继续训练 {R['train_steps']} 步后 J = {R['final_loss']:.6f}\
（ŷ = {R['final_y_hat']:.6f}）；
- 图：{R['figure']}。""")
