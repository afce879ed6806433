# %% [markdown]
# # 第 10 课 练习答案
#
# 运行方式：`python lessons/answers/10_init_normalization_answers.py [--quick] [--device cuda]`

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import metrics, optim
from tinygrad_zh.autograd import Function
from tinygrad_zh.data import DataLoader, TensorDataset
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.testing import assert_close, gradcheck


def load_lesson():
    """取第 10 课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "10_init_normalization.py")


# %% [markdown]
# ## 练习 1 ★：ReLU 网络的“刚好”的 σ
#
# 要 $\text{fan\_in}\cdot\sigma^2\cdot\tfrac12 = 1$，即 $\sigma = \sqrt{2/256} \approx 0.0884$——正是 Kaiming 初始化。
# $\sigma$ 乘以 $k$，每层的标准差就多乘一个 $k$：经过 8 个 256→256 的层，第 9 层的 std 相对于 $k = 1$ 约为 $k^{9}$ 倍
# （第 1 层的扇入是 64，那一层同样多乘一个 $k$）。$k = 0.5$ 时约 $0.5^9 \approx 0.002$ 倍，$k = 2$ 时约 $2^9 = 512$ 倍。


# %%
def exercise1(device, quick):
    lesson = load_lesson()
    data = lesson.load_data(device)
    x = data["X_train"][:128 if quick else 512]
    sigma = math.sqrt(2 / lesson.WIDTH)
    print(f"练习 1：预测 σ = √(2/256) = {sigma:.4f}")
    out = {}
    for k in (0.5, 1.0, 2.0):
        tg.manual_seed(0)
        model = lesson.deep_mlp("relu", "kaiming", device=device)
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, 0.0, k * sigma)   # 所有层都用同一个 σ（第 1 层扇入 64 也一样）
        h, stds = x, []
        with tg.no_grad():
            for layer in model:
                h = layer(h)
                if isinstance(layer, nn.ReLU):
                    stds.append(h.cpu().numpy().std())
        out[k] = stds[-1]
        print(f"  σ = {k} × {sigma:.4f}：第 1 层 std {stds[0]:.3g}，第 9 层 std {stds[-1]:.3g}")
    print(f"  第 9 层 std 之比：(0.5σ)/(σ) = {out[0.5] / out[1.0]:.2e}（预测 0.5⁹ = {0.5 ** 9:.2e}），"
          f"(2σ)/(σ) = {out[2.0] / out[1.0]:.3g}（预测 2⁹ = {2 ** 9}）")
    assert 0.5 < (out[0.5] / out[1.0]) / 0.5 ** 9 < 2 and 0.5 < (out[2.0] / out[1.0]) / 2 ** 9 < 2
    return {"layer9_std": out}


# %% [markdown]
# ## 练习 2 ★：BatchNorm 的一列，以及它为什么不在乎一列的单位
#
# 第 0 列是 $[1, 2, 3, 4]$：均值 2.5，有偏方差 $(2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25$，
# 所以 $\mathrm{BN}(x)_{:,0} = (x - 2.5)/\sqrt{1.25} = [-1.3416, -0.4472, 0.4472, 1.3416]$（$\varepsilon$ 的影响在 $10^{-6}$ 以下）。
#
# 把第 1 列乘以 1000：这一列的均值和标准差也都乘以 1000，$(cx - c\mu)/(c\sigma)$ 不变——BatchNorm 对每个特征的
# 单位（尺度）不敏感。LayerNorm 在一行里混合了三个特征：第 1 列变大，每行的均值和方差都变了，所有输出都跟着变。


# %%
def exercise2(device, quick):
    lesson = load_lesson()
    x = tg.tensor([[1.0, 10.0, 100.0], [2.0, 20.0, 300.0], [3.0, 30.0, 200.0], [4.0, 60.0, 400.0]], device=device)
    col0 = [(v - 2.5) / math.sqrt(1.25) for v in (1.0, 2.0, 3.0, 4.0)]
    print("练习 2：BN(x) 的第 0 列")
    print(f"  手算 {[round(v, 4) for v in col0]}，代码 {[round(v, 4) for v in lesson.batch_norm_by_hand(x)[:, 0].tolist()]}")
    scale = tg.tensor([1.0, 1000.0, 1.0], device=device)
    bn_change = (lesson.batch_norm_by_hand(x * scale) - lesson.batch_norm_by_hand(x)).abs().max().item()
    ln_change = (lesson.layer_norm_by_hand(x * scale) - lesson.layer_norm_by_hand(x)).abs().max().item()
    print(f"  第 1 列乘以 1000 之后：BN 输出的最大变化 {bn_change:.1e}，LN 输出的最大变化 {ln_change:.3f}")
    assert_close(lesson.batch_norm_by_hand(x)[:, 0], tg.tensor(col0), atol=1e-5, rtol=1e-4)
    assert bn_change < 1e-4 and ln_change > 0.1
    return {"bn_scale_change": bn_change, "ln_scale_change": ln_change}


# %% [markdown]
# ## 练习 3 ★★：加深到 30 层，重做第 3 步
#
# > 把网络加深到 30 层，重做第 3 步。Kaiming 还稳吗？tanh + Xavier 呢？
#
# 第 1 步的推导是“每层方差乘以 fan_in · Var(w) · E[x²]/Var(上一层)”，这个因子与深度无关：它等于 1，30 层也还是 1；
# 它不等于 1（例如 ReLU 配不带 gain 的 Xavier，因子 1/2），30 层就是 $(1/2)^{29}$——std 缩小 $2^{-29/2} \approx 4\times10^{-5}$ 倍。
# 但“等于 1”只是**期望**：宽度有限（256）时每层的实际因子有几个百分点的随机涨落，$\log$ std 像随机游走一样漂移，
# 层数越多漂得越远；所以 30 层的 Kaiming 网络激活值 std 会慢慢偏离第 1 层，但只是几十个百分点，不是指数级的。
# tanh + Xavier（gain 5/3）前向有一个稳定点：tanh 把太大的值压回去，std 停在 0.65 左右；反向却不一样——
# gain 5/3 让 $\text{gain}^2\,\mathbb E[\tanh'(z)^2]$ 略大于 1，梯度从输出往输入一层层**放大**，30 层时第 1 层的梯度比
# 输出层大好几倍（10 层时还看不太出来）。下面用与课程相同的 `layer_stats` 量 10 层与 30 层各三种组合，
# 比较“最后一个激活层 / 第一个激活层”的 std 之比，和“第 1 层 / 最后一层”的权重梯度 std 之比。


# %%
def deep_mlp_depth(lesson, act, init, depth, device):
    """与课程的 deep_mlp 相同（偏置置 0），只是层数由 depth 给出（课程里的 DEPTH 固定为 10）。"""
    dims = [64] + [lesson.WIDTH] * (depth - 1) + [10]
    layers = []
    for i in range(depth):
        linear = nn.Linear(dims[i], dims[i + 1])
        lesson.init_weight(linear.weight, act, init)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < depth - 1:
            layers.append(nn.Tanh() if act == "tanh" else nn.ReLU())
    return nn.Sequential(*layers).to(device)


def exercise3(device, quick):
    lesson = load_lesson()
    data = lesson.load_data(device)
    n = 128 if quick else 512
    x, y = data["X_train"][:n], data["y_train"][:n]
    print(f"练习 3：10 层与 30 层（{n} 张训练图）")
    out = {}
    for depth in (10, 30):
        for act, init in (("relu", "kaiming"), ("tanh", "xavier"), ("relu", "xavier")):
            tg.manual_seed(0)
            s = lesson.layer_stats(deep_mlp_depth(lesson, act, init, depth, device), x, y)
            a, g = s["act_std"], s["grad_std"]
            out[(depth, act, init)] = {"act_ratio": a[-1] / a[0], "grad_ratio": g[0] / g[-1], "act_last": a[-1],
                                       "act_first": a[0]}
            print(f"  {depth} 层 {lesson.config_name(act, init, False):<18} 激活值 std {a[0]:.3g} → {a[-1]:.3g}"
                  f"（之比 {a[-1] / a[0]:.3g}）；权重梯度 std 第 1 层 {g[0]:.3g}，最后一层 {g[-1]:.3g}"
                  f"（之比 {g[0] / g[-1]:.3g}）")
    k30, t30, x30 = out[(30, "relu", "kaiming")], out[(30, "tanh", "xavier")], out[(30, "relu", "xavier")]
    predicted = 0.5 ** (29 / 2)    # ReLU + Xavier(gain 1)：每层方差乘 1/2，共 29 个隐藏层之间的传递
    print(f"  结论：30 层的 Kaiming 激活值 std 之比 {k30['act_ratio']:.2f}"
          f"（{'仍在 0.25—4 之间，没有指数级的消失或爆炸' if 0.25 < k30['act_ratio'] < 4 else '已经偏离很多'}）；"
          f"tanh + Xavier 激活值之比 {t30['act_ratio']:.2f}，但梯度第 1 层是最后一层的 {t30['grad_ratio']:.1f} 倍"
          f"（10 层时 {out[(10, 'tanh', 'xavier')]['grad_ratio']:.1f} 倍）；"
          f"ReLU + Xavier 之比 {x30['act_ratio']:.1e}，推导预测 2^(−29/2) = {predicted:.1e}")
    assert 0.25 < k30["act_ratio"] < 4
    assert 0.5 < t30["act_ratio"] < 2 and t30["grad_ratio"] > out[(10, "tanh", "xavier")]["grad_ratio"]
    assert predicted / 5 < x30["act_ratio"] < predicted * 5
    return {"depth30": {f"{a}_{i}": v for (d, a, i), v in out.items() if d == 30}}


# %% [markdown]
# ## 练习 4 ★★：自己写 `ManualBatchNorm1d`
#
# > 写一个 `ManualBatchNorm1d(nn.Module)`：训练时用批统计量并更新 running mean / var（动量 0.1，running_var 用无偏估计，
# > 同 PyTorch），`eval()` 时用 running 统计量。把它放进“ReLU + N(0, 0.01²)”的网络里训练，与 LayerNorm 比较。
#
# 训练模式：$\mu = \frac1N\sum_n x_n$，$\sigma^2_{\text{有偏}} = \frac1N\sum_n (x_n-\mu)^2$ 用来规范化；
# 同时在 `no_grad` 下更新 $\text{running} \leftarrow 0.9\,\text{running} + 0.1\,\text{batch}$，其中方差用无偏的
# $\sigma^2_{\text{有偏}} \cdot N/(N-1)$。评估模式只用 running 统计量，单个样本的输出与同一批的其他样本无关。
# running mean / var 用 `register_buffer` 登记：它们随 `.to(device)` 移动、进 `state_dict`，但不是参数，优化器不动它们。
#
# 先与框架的 `nn.BatchNorm1d` 对照（训练三批之后的 running 统计量、训练与评估两种模式的输出），
# 再用 float64 的 `gradcheck` 检查它的反向传播（它只由张量运算组成，梯度由自动微分给出）。
# 然后在课程的“ReLU + N(0, 0.01²)”网络的每个隐藏 `Linear` 之后（激活之前）分别放 `ManualBatchNorm1d(256)` 与
# `nn.LayerNorm(256)`，用课程的设置（SGD，lr 0.01，momentum 0.9，批量 64）训练，比较最后 20 步的平均损失与验证准确率。
# 两者都能把这个本来完全学不动（停在 ln 10）的初始化救回来；谁更快取决于步数与随机性，结论从下面的数读出。


# %%
class ManualBatchNorm1d(nn.Module):
    """批量规范化（输入 (N, C)）：训练时用批统计量并更新滑动平均，评估时用滑动平均。"""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(tg.ones(num_features))
        self.bias = nn.Parameter(tg.zeros(num_features))
        self.register_buffer("running_mean", tg.zeros(num_features))
        self.register_buffer("running_var", tg.ones(num_features))

    def forward(self, x):
        if self.training:
            n = x.shape[0]
            mean = x.mean(dim=0)
            var = x.var(dim=0, unbiased=False)
            with tg.no_grad():
                m = self.momentum
                self.running_mean.data = ((1 - m) * self.running_mean + m * mean.detach()).data
                self.running_var.data = ((1 - m) * self.running_var + m * var.detach() * (n / (n - 1))).data
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / (var + self.eps).sqrt() * self.weight + self.bias


def mlp_with_norm(lesson, norm, device):
    """课程的 10 层 ReLU 网络，权重 N(0, 0.01²)、偏置 0，每个隐藏 Linear 之后加 norm(256)。"""
    dims = [64] + [lesson.WIDTH] * (lesson.DEPTH - 1) + [10]
    layers = []
    for i in range(lesson.DEPTH):
        linear = nn.Linear(dims[i], dims[i + 1])
        lesson.init_weight(linear.weight, "relu", "small")
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < lesson.DEPTH - 1:
            layers += [norm(lesson.WIDTH), nn.ReLU()]
    return nn.Sequential(*layers).to(device)


def train_model(lesson, model, data, steps):
    """课程第 5 步的训练循环：SGD(lr=0.01, momentum=0.9)，批量 64；返回最后 20 步平均损失与验证准确率。"""
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = DataLoader(TensorDataset(data["X_train"], data["y_train"]), batch_size=64, shuffle=True)
    losses = []
    model.train()
    for _, (xb, yb) in zip(range(steps), lesson.forever(loader)):
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with tg.no_grad():
        acc = metrics.accuracy(model(data["X_val"]), data["y_val"])
    return float(np.mean(losses[-20:])), acc


def exercise4(device, quick):
    lesson = load_lesson()
    print("练习 4：ManualBatchNorm1d")
    tg.manual_seed(0)
    mine, ref = ManualBatchNorm1d(5).to(device), nn.BatchNorm1d(5).to(device)
    for _ in range(3):
        xb = tg.randn(16, 5, device=device) * 3 + 1
        assert_close(mine(xb), ref(xb), atol=1e-5, rtol=1e-5)        # 训练模式：批统计量
    assert_close(mine.running_mean, ref.running_mean, atol=1e-6, rtol=1e-5)
    assert_close(mine.running_var, ref.running_var, atol=1e-6, rtol=1e-5)
    mine.eval()
    ref.eval()
    xb = tg.randn(4, 5, device=device)
    assert_close(mine(xb), ref(xb), atol=1e-5, rtol=1e-5)            # 评估模式：滑动平均
    single_gap = (mine(xb[:1]) - mine(xb)[:1]).abs().max().item()
    assert single_gap < 1e-6
    print(f"  与 nn.BatchNorm1d 一致：三批之后 running_mean {[round(v, 4) for v in mine.running_mean.tolist()[:3]]}…，"
          f"running_var {[round(v, 4) for v in mine.running_var.tolist()[:3]]}…；评估模式单张与整批的最大差 {single_gap:.1e}")
    bn64 = ManualBatchNorm1d(4).to(device).double()
    bn64.train()
    x64 = tg.randn(6, 4, device=device, dtype=tg.float64, requires_grad=True)
    gradcheck(lambda t: bn64(t), x64)
    print("  训练模式的反向传播：float64 gradcheck 通过")

    data = lesson.load_data(device)
    steps = 30 if quick else 300
    out = {}
    for name, norm in (("ManualBatchNorm1d", ManualBatchNorm1d), ("LayerNorm", nn.LayerNorm), ("无规范化", None)):
        tg.manual_seed(0)
        if norm is None:
            model = lesson.deep_mlp("relu", "small", False, device)
        else:
            model = mlp_with_norm(lesson, norm, device)
        out[name] = train_model(lesson, model, data, steps)
        print(f"  ReLU + N(0, 0.01²) + {lesson.pad(name, 18)}：{steps} 步，最后 20 步平均损失 {out[name][0]:.4f}，"
              f"验证准确率 {out[name][1]:.3f}")
    best = max(("ManualBatchNorm1d", "LayerNorm"), key=lambda k: out[k][1])
    print(f"  结论：不加规范化停在 ln 10 = {math.log(10):.3f} 附近（{out['无规范化'][0]:.3f}）；两种规范化都学起来了，"
          f"{steps} 步时验证准确率较高的是 {best}"
          f"（{out['ManualBatchNorm1d'][1]:.3f} 对 {out['LayerNorm'][1]:.3f}）")
    assert abs(out["无规范化"][0] - math.log(10)) < 0.05
    assert out["ManualBatchNorm1d"][0] < out["无规范化"][0] - 0.1 and out["LayerNorm"][0] < out["无规范化"][0] - 0.1
    return {"bn_vs_ln": out}


# %% [markdown]
# ## 练习 5 ★★★：LayerNorm 的反向传播
#
# > 推导 LayerNorm 的反向传播：$\partial L/\partial x$ 用 $\hat x$、$\sigma$ 和 $\partial L/\partial \hat x$ 表示，
# > 并用 `tinygrad_zh.testing.gradcheck` 验证你手写的版本。
#
# 对一个长度为 $C$ 的向量：$\mu = \frac1C\sum_i x_i$，$\sigma = \sqrt{\frac1C\sum_i (x_i-\mu)^2 + \varepsilon}$，
# $\hat x_i = (x_i - \mu)/\sigma$，$y_i = \gamma_i \hat x_i + \beta_i$。记 $g_i = \partial L/\partial \hat x_i = \gamma_i\,\partial L/\partial y_i$。
#
# - $\partial \hat x_i/\partial x_j = \frac1\sigma(\delta_{ij} - \frac1C) - \frac{(x_i-\mu)}{\sigma^2}\,\frac{\partial\sigma}{\partial x_j}$；
# - $\partial\sigma/\partial x_j = \frac{1}{2\sigma}\cdot\frac2C(x_j-\mu) = \frac{\hat x_j}{C}$（$\sum_i (x_i-\mu) = 0$ 让 $\mu$ 那一项消失）；
# - 所以 $\partial \hat x_i/\partial x_j = \frac1\sigma\left(\delta_{ij} - \frac1C - \frac{\hat x_i \hat x_j}{C}\right)$，乘上 $g_i$ 对 $i$ 求和：
#
# $$\frac{\partial L}{\partial x_j} = \frac1\sigma\left(g_j - \frac1C\sum_i g_i - \hat x_j\,\frac1C\sum_i g_i\hat x_i\right)
#   = \frac1\sigma\left(g - \overline{g} - \hat x\,\overline{g\hat x}\right)_j .$$
#
# 读法：从上游梯度里减去它的均值（因为加一个常数不改变 $\hat x$），再减去它在 $\hat x$ 方向上的分量（因为整体缩放也不改变
# $\hat x$），最后除以 $\sigma$。参数的梯度简单：$\partial L/\partial\gamma = \sum_{\text{样本}} \partial L/\partial y \cdot \hat x$，
# $\partial L/\partial\beta = \sum_{\text{样本}} \partial L/\partial y$。前向保存 $\hat x$ 与 $1/\sigma$，反向只用它们。
# 下面写成 `Function`，在 float64 上 `gradcheck`（对 x、γ、β 都检验），并与框架的 `F.layer_norm` 对照前向与梯度。


# %%
class LayerNormFn(Function):
    """最后一维上的层规范化：y = γ·x̂ + β。backward 用推导出的公式。"""
    zh = "手写层规范化"

    @staticmethod
    def forward(ctx, x, gamma, beta, eps):
        xp = ctx.xp
        mu = x.mean(axis=-1, keepdims=True)
        inv_sigma = 1.0 / xp.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + eps)
        xhat = (x - mu) * inv_sigma
        ctx.save_for_backward(xhat, inv_sigma, gamma)
        return xhat * gamma + beta

    @staticmethod
    def backward(ctx, grad):
        xhat, inv_sigma, gamma = ctx.saved_tensors
        g = grad * gamma                                   # ∂L/∂x̂
        gx = inv_sigma * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))
        lead = tuple(range(grad.ndim - 1))                 # γ、β 在所有前导维（样本）上求和
        return gx, (grad * xhat).sum(axis=lead), grad.sum(axis=lead), None


def exercise5(device, quick):
    print("练习 5：手写 LayerNorm 的反向传播")
    tg.manual_seed(0)
    x = tg.randn(3, 4, 6, device=device, dtype=tg.float64, requires_grad=True)
    gamma = (tg.randn(6, device=device, dtype=tg.float64) * 0.5 + 1).requires_grad_()
    beta = tg.randn(6, device=device, dtype=tg.float64, requires_grad=True)
    gradcheck(lambda a, b, c: LayerNormFn.apply(a, b, c, 1e-5), x, gamma, beta)
    print("  gradcheck（float64，对 x、γ、β）通过")
    upstream = tg.randn(3, 4, 6, device=device, dtype=tg.float64)
    grads = {}
    for name, fn in (("手写", lambda: LayerNormFn.apply(x, gamma, beta, 1e-5)),
                     ("F.layer_norm", lambda: F.layer_norm(x, (6,), gamma, beta, eps=1e-5))):
        for t in (x, gamma, beta):
            t.grad = None
        y = fn()
        (y * upstream).sum().backward()
        grads[name] = (y.detach(), x.grad, gamma.grad, beta.grad)
    for a, b in zip(grads["手写"], grads["F.layer_norm"]):
        assert_close(a, b, rtol=1e-10, atol=1e-12)
    gap = max((a - b).abs().max().item() for a, b in zip(grads["手写"], grads["F.layer_norm"]))
    # 推导的两个推论：∂L/∂x 在每个向量上均值为 0，且与 x̂ 正交（ε = 0 时严格成立；ε > 0 时 Σx̂² 略小于 C，内积差 ε/σ² 量级）
    x.grad = None
    y0 = LayerNormFn.apply(x, gamma, beta, 0.0)
    (y0 * upstream).sum().backward()
    xhat = F.layer_norm(x.detach(), (6,), eps=0.0)
    mean_gx = x.grad.mean(dim=-1).abs().max().item()
    dot_gx = (x.grad * xhat).sum(dim=-1).abs().max().item()
    assert mean_gx < 1e-10 and dot_gx < 1e-10
    print(f"  与 F.layer_norm 的输出与三个梯度的最大差 {gap:.1e}；ε = 0 时 ∂L/∂x 每行均值的最大绝对值 {mean_gx:.1e}，"
          f"与 x̂ 内积的最大绝对值 {dot_gx:.1e}（推导说两者都是 0）")
    return {"ln_backward_gap": gap}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    results.update(exercise4(device, quick))
    results.update(exercise5(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
