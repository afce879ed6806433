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
# # 第 06 课：softmax 回归与交叉熵
#
# 第 05 课的模型输出一个实数；分类问题要的是“属于每一类的概率”。这一课把线性模型的 $C$ 个输出
# 变成 $C$ 个概率（softmax），用交叉熵 (cross-entropy) 衡量预测的好坏，并弄清楚框架里的 `F.cross_entropy`
# 为什么是**一个**融合的运算，而不是 softmax、log、取下标三步拼起来。最后用它训练一个线性分类器，
# 在螺旋数据上亲眼看它失败——这正是第 07 课需要多层感知机的理由。
#
# **学习目标**
#
# 1. 会写 softmax，看到朴素写法在大 logits 上上溢 (overflow) 成 `nan`，会用“减去最大值”和 LogSumExp 技巧修好它；
# 2. 能手推交叉熵对 logits 的梯度 $\mathrm{softmax}(z) - \mathrm{onehot}(y)$，并用 `backward()` 核对；
# 3. 说出融合的 `F.cross_entropy` 比“softmax → log → 取下标”好在哪里：数值稳定、反向简单；
# 4. 会用 `nn.Linear` + `F.cross_entropy` 训练 softmax 回归，用准确率 (accuracy) 评估，画出决策区域，
#    并解释线性分类器为什么分不开螺旋。
#
# **前置知识**：第 05 课（训练循环、`nn.Linear`、`optim.SGD`、`DataLoader`）；对数与指数的运算法则。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/06_softmax_regression.py            # 完整模式（几秒钟，带进度条）
# python lessons/06_softmax_regression.py --quick    # 快速模式：训练轮数少，几秒内跑完每一步
# python lessons/06_softmax_regression.py --device cuda
# jupytext --to notebook lessons/06_softmax_regression.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处），在笔记本里直接显示在代码下面。

# %% tags=["parameters"]
QUICK = False    # 快速模式：训练轮数少（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
import time

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, TensorDataset, make_spiral
from tinygrad_zh.lesson import lesson_args, progress, show
from tinygrad_zh.metrics import accuracy
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）


def fmt(values, nd=4):
    return "[" + ", ".join(f"{v:.{nd}f}" if math.isfinite(v) else str(v) for v in values) + "]"

# %% [markdown]
# ## 第 1 步：从 logits 到概率——softmax
#
# 有 $C$ 个类别时，线性模型 `nn.Linear(D, C)` 对每个样本输出 $C$ 个实数 $z = (z_1, \dots, z_C)$，
# 叫作 logits（未规范化的对数概率）：可正可负、加起来也不等于 1。softmax 把它们变成一个概率分布：
#
# $$\mathrm{softmax}(z)_j = \frac{e^{z_j}}{\sum_{k=1}^{C} e^{z_k}}.$$
#
# 指数保证每一项为正，除以总和保证加起来为 1；$z_j$ 越大，概率越大，而且顺序不变（argmax 不变）。
# 它还有一个关键性质：**所有 logits 同加一个常数，结果不变**，因为分子分母同乘了 $e^{c}$：
#
# $$\mathrm{softmax}(z - c) = \mathrm{softmax}(z).$$
#
# 下面用框架的张量运算照着公式写一个朴素的 softmax，与 `x.softmax(dim=-1)` 对照。

# %%
def naive_softmax(z):
    """照着公式写：exp(z) / Σ exp(z)。数值上不安全，见第 2 步。"""
    e = z.exp()
    return e / e.sum(dim=-1, keepdim=True)


z = tg.tensor([2.0, 1.0, 0.1], device=DEVICE)
p = naive_softmax(z)
print(f"logits z = {fmt(z.tolist(), 1)}")
print(f"朴素 softmax = {fmt(p.tolist())}，和 = {p.sum().item():.6f}")
print(f"z.softmax(dim=-1) = {fmt(z.softmax(dim=-1).tolist())}")
shifted = naive_softmax(z + 50.0)
print(f"softmax(z + 50) = {fmt(shifted.tolist())}（与上面相同：同加一个常数不改变结果）")
RESULTS.update({"softmax_example": p.tolist(), "softmax_shifted": shifted.tolist()})

# %% [markdown]
# ## 第 2 步：上溢与下溢——减去最大值
#
# float32 能表示的最大数约为 $3.4 \times 10^{38} \approx e^{88.7}$。所以 $e^{89}$ 已经是 `inf`（上溢，overflow）；
# 反过来 $e^{-104}$ 比最小的正 float32 数还小，变成 0（下溢，underflow）。朴素 softmax 于是：
#
# - logits 是 `[1000, 1001, 1002]`：每个 $e^{z}$ 都是 `inf`，`inf / inf = nan`；
# - logits 是 `[-1000, -1001, -1002]`：每个 $e^{z}$ 都是 0，`0 / 0 = nan`。
#
# 真实网络的 logits 很少到 1000，但半精度 float16 的上限只有 65504，$e^{12}$ 就溢出了；训练出问题时 logits 也会变得很大。
# 修法就用第 1 步的不变性：取 $c = \max_k z_k$，先减去它。于是最大的一项是 $e^0 = 1$，不会上溢；
# 分母至少是 1，不会变成 0。框架的 `softmax` 就是这么算的。
#
# NumPy 遇到上溢会发出 `RuntimeWarning`；这里的溢出是故意的，我们用 `np.errstate` 把警告关掉。

# %%
def stable_softmax(z):
    """减去每行的最大值再算：最大项变成 e⁰ = 1，分母 ≥ 1。结果与朴素公式在数学上相同。"""
    shifted = z - z.max(dim=-1, keepdim=True).values
    e = shifted.exp()
    return e / e.sum(dim=-1, keepdim=True)


with np.errstate(over="ignore", invalid="ignore"):
    exp_f32 = {v: tg.tensor(v, device=DEVICE).exp().item() for v in (88.0, 89.0)}
    for v, e in exp_f32.items():
        print(f"float32：e^{v:g} = {e:.4g}")
    big = tg.tensor([1000.0, 1001.0, 1002.0], device=DEVICE)
    small = -big
    naive_big, naive_small = naive_softmax(big).tolist(), naive_softmax(small).tolist()
stable_big, stable_small = stable_softmax(big).tolist(), stable_softmax(small).tolist()
print(f"z = [1000, 1001, 1002]：朴素 {fmt(naive_big)}，减去最大值 {fmt(stable_big)}")
print(f"z = [−1000, −1001, −1002]：朴素 {fmt(naive_small)}，减去最大值 {fmt(stable_small)}")
print(f"框架 big.softmax(dim=-1) = {fmt(big.softmax(dim=-1).tolist())}")
RESULTS.update({"exp88": exp_f32[88.0], "exp89": exp_f32[89.0], "naive_big": naive_big, "stable_big": stable_big,
                "naive_small": naive_small, "stable_small": stable_small})

# %% [markdown]
# ## 第 3 步：LogSumExp 技巧与 log_softmax
#
# 交叉熵要的不是概率本身，而是它的对数。对 softmax 取对数：
#
# $$\log \mathrm{softmax}(z)_j = z_j - \log \sum_k e^{z_k} = z_j - \mathrm{LSE}(z).$$
#
# $\mathrm{LSE}(z) = \log\sum_k e^{z_k}$ 叫 LogSumExp。同样减去最大值 $m$ 来算（LogSumExp 技巧）：
#
# $$\mathrm{LSE}(z) = m + \log \sum_k e^{z_k - m}.$$
#
# 为什么不先算 softmax 再取 log？看 $z = [0, -200]$：第二类的概率是 $e^{-200} \approx 10^{-87}$，float32 存不下，
# 下溢成 0，`log(0) = -inf`。而 $z_2 - \mathrm{LSE}(z) = -200 - 0 = -200$，一点问题都没有。
# 信息并没有丢——是“先求概率再取对数”这个顺序把它弄丢了。框架的 `log_softmax` 和 `logsumexp` 直接按右边的式子算。

# %%
big = tg.tensor([1000.0, 1001.0, 1002.0], device=DEVICE)
with np.errstate(over="ignore", divide="ignore"):
    naive_lse = big.exp().sum().log().item()
m = big.max().item()
trick = m + (big - m).exp().sum().log().item()
print(f"z = [1000, 1001, 1002]：朴素 log Σ e^z = {naive_lse}，"
      f"LogSumExp 技巧 = {trick:.4f}，z.logsumexp(0) = {big.logsumexp(0).item():.4f}")
z = tg.tensor([0.0, -200.0], device=DEVICE)
with np.errstate(divide="ignore"):
    naive_logp = z.softmax(dim=-1).log().tolist()
stable_logp = z.log_softmax(dim=-1).tolist()
print(f"z = [0, −200]：log(softmax(z)) = {fmt(naive_logp)}，log_softmax(z) = {fmt(stable_logp)}")
RESULTS.update({"naive_lse": naive_lse, "lse_trick": trick, "naive_logp": naive_logp, "stable_logp": stable_logp})

# %% [markdown]
# ## 第 4 步：交叉熵，以及它的梯度（手推）
#
# 样本的真实类别是 $y$，模型给它的概率是 $p_y = \mathrm{softmax}(z)_y$。交叉熵损失就是负对数似然 (negative log-likelihood)：
#
# $$\ell(z, y) = -\log p_y = \mathrm{LSE}(z) - z_y.$$
#
# 对 logits 求导。$\mathrm{LSE}$ 的导数恰好是 softmax：
# $\dfrac{\partial\, \mathrm{LSE}}{\partial z_j} = \dfrac{e^{z_j}}{\sum_k e^{z_k}} = p_j$；
# 而 $\dfrac{\partial z_y}{\partial z_j} = [j = y]$。所以
#
# $$\frac{\partial \ell}{\partial z_j} = p_j - [j = y],\qquad\text{即}\qquad
# \nabla_z \ell = \mathrm{softmax}(z) - \mathrm{onehot}(y).$$
#
# 这个梯度很好读：正确类别的 logit 被往上推（$p_y - 1 < 0$），其他类别按各自的概率往下压；
# 模型越有把握且正确（$p_y \to 1$），梯度越接近 0。$N$ 个样本取平均时再除以 $N$。
# 独热编码 (one-hot encoding) `F.one_hot(y, C)` 把类别下标变成只有一个 1 的向量。
#
# 下面随机取 6 个样本、4 个类别，比较 `F.cross_entropy` 的 `backward()` 与公式 $(\mathrm{softmax}(z) - \mathrm{onehot}(y)) / N$。

# %%
tg.manual_seed(0)
n, c = 6, 4
z = tg.randn(n, c, device=DEVICE, requires_grad=True)
y = tg.randint(0, c, (n,), device=DEVICE)
loss = F.cross_entropy(z, y)
by_hand = (z.logsumexp(dim=1) - z[tg.arange(n, device=DEVICE), y]).mean()
loss.backward()
with tg.no_grad():
    formula = (z.softmax(dim=1) - F.one_hot(y, c).float()) / n
ce_grad_diff = (z.grad - formula).abs().max().item()
print(f"类别 y = {y.tolist()}")
print(f"F.cross_entropy = {loss.item():.6f}，手写 mean(LSE(z) − z_y) = {by_hand.item():.6f}")
print(f"第 0 个样本：∂ℓ/∂z = {fmt(z.grad[0].tolist())}（×N = {fmt((z.grad[0] * n).tolist())}）")
row_sum = z.grad.sum(dim=1).abs().max().item()
print(f"backward 与公式 (softmax − onehot)/N 的最大差 {ce_grad_diff:.1e}；"
      f"每行梯度之和的最大绝对值 {row_sum:.1e}（= (概率之和 − 1)/N = 0）")
RESULTS.update({"ce_grad_diff": ce_grad_diff, "ce_loss_example": loss.item(), "ce_labels": y.tolist()})

# %% [markdown]
# ## 第 5 步：为什么是一个融合的运算
#
# 用第 1—3 步的零件也能拼出交叉熵：`-(z.softmax(1)[arange(N), y].log()).mean()`。框架的 `F.cross_entropy`
# 却是**一个** `Function`（见 `tinygrad_zh/ops/nn.py` 里的 `CrossEntropy`），前向用 LogSumExp 直接算
# $\mathrm{LSE}(z) - z_y$，反向直接返回第 4 步的 $\mathrm{softmax}(z) - \mathrm{onehot}(y)$。好处有三：
#
# 1. **数值稳定** (numerical stability)，最重要的理由。logits 为 `[0, 200]`、类别是 0 时，$\ell = \mathrm{LSE} - z_0 \approx 200$。拼起来的版本先算出
#    $p_0 = e^{-200} \to 0$，于是 $\ell = -\log 0 = \infty$，梯度是 `nan`——一个这样的样本就能让整个模型的参数变成 `nan`；
# 2. **反向简单**。拼起来的版本要在计算图里分别保存 softmax、取下标、log 各自的中间结果，
#    反向时再一层层链式相乘（其中 log 的导数 $1/p$ 在 $p$ 很小时极大，正好与 softmax 导数里极小的 $p$ 相消——
#    在浮点数里这种“大乘小”会损失精度）。融合版只保存一个 log_softmax，反向一步到位；
# 3. **速度**：节点少，Python 的开销也少；但大头是 $N \times C$ 个元素的 exp，哪个版本都至少要算一遍，
#    所以快多少取决于实现。下面在 4096 个样本、100 个类别上计时（数值因机器而异；在 NumPy 上两者相差不大）。
#    融合版真正的价值在前两条。

# %%
def composed_cross_entropy(z, y):
    """用小零件拼出来的交叉熵：softmax → 取出正确类别的概率 → log → 取负、平均。"""
    n = z.shape[0]
    p = z.softmax(dim=1)[tg.arange(n, device=z.device), y]
    return -(p.log()).mean()


z = tg.tensor([[0.0, 200.0]], device=DEVICE, requires_grad=True)
y = tg.tensor([0], device=DEVICE)
with np.errstate(divide="ignore", invalid="ignore"):
    bad = composed_cross_entropy(z, y)
    bad.backward()
bad_grad = z.grad.tolist()[0]
z.grad = None
good = F.cross_entropy(z, y)
good.backward()
good_grad = z.grad.tolist()[0]
print(f"logits [0, 200]，类别 0：拼起来的 ℓ = {bad.item()}，梯度 {fmt(bad_grad)}")
print(f"                       融合的 ℓ = {good.item():.4f}，梯度 {fmt(good_grad)}")

tg.manual_seed(0)
n, c = 4096, 100
z = tg.randn(n, c, device=DEVICE, requires_grad=True)
y = tg.randint(0, c, (n,), device=DEVICE)
repeats = 3 if QUICK else 20
times = {}
for name, fn in [("composed", composed_cross_entropy), ("fused", F.cross_entropy)]:
    fn(z, y).backward()                    # 先热身一次（分配内存等），不计时
    z.grad = None
    start = time.perf_counter()
    for _ in range(repeats):
        loss = fn(z, y)
        loss.backward()
        z.grad = None
    _ = loss.item()                        # GPU 上等计算真正完成再停表
    times[name] = (time.perf_counter() - start) / repeats * 1e3
big_diff = abs(composed_cross_entropy(z, y).item() - F.cross_entropy(z, y).item())
print(f"N = {n}，C = {c}：两者的损失相差 {big_diff:.1e}；前向 + 反向每次 拼起来 {times['composed']:.2f} ms，"
      f"融合 {times['fused']:.2f} ms")
RESULTS.update({"composed_loss_extreme": bad.item(), "fused_loss_extreme": good.item(),
                "composed_grad_extreme": bad_grad, "fused_grad_extreme": good_grad,
                "composed_grad_is_nan": any(math.isnan(v) for v in bad_grad), "big_loss_diff": big_diff,
                "time_ms": times, "fused_speedup": times["composed"] / times["fused"]})

# %% [markdown]
# ## 第 6 步：螺旋数据
#
# `make_spiral()` 生成 3 类、每类 100 个点的螺旋 (spiral)：每一类是一条从中心绕出去的旋臂。
# 另用一个不同的种子生成一份同分布的测试集 (test set)，看模型在没见过的点上表现如何。
# 类别标签是 int64 的下标 0、1、2，正是 `F.cross_entropy` 要的格式（不需要先做独热编码）。

# %%
X_np, y_np = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=0)
Xte_np, yte_np = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=1)
print(f"训练集 X {X_np.shape} {X_np.dtype}，y {y_np.shape} {y_np.dtype}，每类 {np.bincount(y_np).tolist()} 个；"
      f"测试集 {Xte_np.shape}")
X, y = tg.tensor(X_np, device=DEVICE), tg.tensor(y_np, device=DEVICE)
X_test, y_test = tg.tensor(Xte_np, device=DEVICE), tg.tensor(yte_np, device=DEVICE)
RESULTS.update({"n_train": len(X_np), "n_test": len(Xte_np), "per_class": np.bincount(y_np).tolist()})

# %% [markdown]
# ## 第 7 步：softmax 回归
#
# softmax 回归（softmax regression，多类的逻辑回归）= `nn.Linear(2, 3)` + `F.cross_entropy`。
# 注意模型的 `forward` **不做 softmax**：`F.cross_entropy` 吃的是 logits，它内部自己做 log_softmax；
# 预测类别时 argmax(logits) = argmax(softmax(logits))，也用不着 softmax。只有真要看概率时才调用 `softmax`。
#
# 我们把权重和偏置初始化为 0（`nn.init.zeros_`）：所有 logits 都是 0，每类概率都是 1/3，
# 所以**初始损失恰好是 $\ln 3 \approx 1.0986$**——$C$ 类问题的这个数（$\ln C$）值得记住，训练一开始就该核对
# （第 15 课训练 GPT 时，初始损失应当接近 $\ln V$，$V$ 是词表大小）。
#
# 准确率 (accuracy) 先自己算一遍：`(logits.argmax(dim=1) == y).float().mean()`，再与 `tinygrad_zh.metrics.accuracy` 对照。
# 训练循环与第 05 课完全相同：SGD，学习率 0.5，批量大小 32，完整模式 100 轮，快速模式 10 轮。

# %%
def train_classifier(model, loader, X, y, epochs, lr, desc, show_bar=True):
    """第 05 课的训练循环，损失换成交叉熵。返回每轮末的全数据损失与准确率。"""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, accs = [], []
    bar = progress(range(epochs), desc=desc, unit="epoch", disable=not show_bar)
    for epoch in bar:
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
        with tg.no_grad():
            logits = model(X)
            losses.append(F.cross_entropy(logits, y).item())
            accs.append(accuracy(logits, y))
        if hasattr(bar, "set_postfix"):   # 没装 tqdm 时 progress 原样返回 range
            bar.set_postfix(loss=f"{losses[-1]:.4f}", acc=f"{accs[-1]:.3f}", refresh=False)
    return losses, accs


epochs, lr = (10, 0.5) if QUICK else (100, 0.5)
tg.manual_seed(0)
model = nn.Linear(2, 3).to(DEVICE)
nn.init.zeros_(model.weight)
nn.init.zeros_(model.bias)
with tg.no_grad():
    initial_loss = F.cross_entropy(model(X), y).item()
    initial_acc = accuracy(model(X), y)
print(f"初始损失 {initial_loss:.6f}，ln 3 = {math.log(3):.6f}；初始准确率 {initial_acc:.4f}")
loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
losses, accs = train_classifier(model, loader, X, y, epochs, lr, "softmax 回归")
with tg.no_grad():
    logits = model(X)
    acc_by_hand = (logits.argmax(dim=1) == y).float().mean().item()
    test_acc = accuracy(model(X_test), y_test)
    probs = logits[:3].softmax(dim=1)
print(f"{epochs} 轮后：训练损失 {losses[-1]:.4f}，训练集准确率 手算 {acc_by_hand:.4f} / metrics.accuracy {accs[-1]:.4f}，"
      f"测试集准确率 {test_acc:.4f}（瞎猜是 1/3）")
print(f"前 3 个样本（都属于类别 0，靠近中心）的概率：{'；'.join(fmt(r, 3) for r in probs.tolist())}")
RESULTS.update({"epochs": epochs, "initial_loss": initial_loss, "initial_acc": initial_acc, "final_loss": losses[-1],
                "train_acc": accs[-1], "train_acc_by_hand": acc_by_hand, "test_acc": test_acc})

# %% [markdown]
# ## 第 8 步：决策区域——线性分类器为什么分不开螺旋
#
# 在平面上铺一张 300×300 的网格，每个网格点都送进模型，取 argmax 作为预测类别，按类别涂色，就得到**决策区域**。
#
# 线性模型的决策区域一定是这样的：点 $x$ 被判为第 $k$ 类，当且仅当对所有 $j$ 都有 $z_k(x) \ge z_j(x)$，
# 而 $z_k - z_j = (w_k - w_j)^\top x + (b_k - b_j)$ 是 $x$ 的线性函数，所以每个条件是一个**半平面**，
# 第 $k$ 类的区域是几个半平面的交——一个**凸**的扇形，边界是直线。而每条螺旋臂绕着中心转了一圈多，
# 不可能放进一个凸区域里。所以无论怎么训练，准确率都离 1 很远，只比瞎猜的 1/3 好一些（图下打印这次的数）。
# 这不是优化的问题，是模型本身表达不了；第 07 课给它加上隐藏层和激活函数。

# %%
def plot_regions(model, X_np, y_np, initial_loss, initial_acc, losses, accs):
    """左图：网格上每一点的预测类别（决策区域）与训练数据；右图：每轮末的损失与准确率。"""
    from matplotlib.colors import ListedColormap

    g1, g2 = np.meshgrid(np.linspace(-1.2, 1.2, 300), np.linspace(-1.2, 1.2, 300))
    grid = tg.tensor(np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32), device=model.weight.device)
    with tg.no_grad():
        pred = model(grid).argmax(dim=1).cpu().numpy().reshape(g1.shape)

    colors = ["#1f77b4", "#d62728", "#2ca02c"]
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11.5, 4.8), gridspec_kw={"width_ratios": [1.1, 1]})
    # imshow 按网格逐格涂色，边界清楚（contourf 会在边界上插值出锯齿）
    ax1.imshow(pred, extent=(-1.2, 1.2, -1.2, 1.2), origin="lower", cmap=ListedColormap(colors), alpha=0.25,
               vmin=-0.5, vmax=2.5, interpolation="nearest")
    for k in range(3):
        m = y_np == k
        ax1.scatter(X_np[m, 0], X_np[m, 1], s=12, color=colors[k], edgecolors="white", linewidths=0.3,
                    label=label(f"类别 {k}", f"class {k}"))
    ax1.set_aspect("equal")
    ax1.set_xlabel("x₁")
    ax1.set_ylabel("x₂")
    ax1.set_title(label(f"softmax 回归的决策区域（训练集准确率 {accs[-1]:.3f}）",
                        f"softmax regression decision regions (train accuracy {accs[-1]:.3f})"))
    ax1.legend(loc="upper right", fontsize=8)

    # 第 0 轮是训练前：权重全 0，损失 ln 3，所有点都判成类别 0（argmax 遇到并列取第一个），准确率 1/3
    epochs = np.arange(0, len(losses) + 1)
    ax2.plot(epochs, [initial_loss] + losses, color="C0", label=label("训练损失", "training loss"))
    ax2.axhline(math.log(3), color="C0", ls="--", lw=0.8)
    ax2.text(epochs[-1], math.log(3), "ln 3", color="C0", ha="right", va="bottom")
    ax2.set_xlabel(label("轮 (epoch)", "epoch"))
    ax2.set_ylabel(label("交叉熵损失", "cross-entropy loss"))
    ax2.set_ylim(0, 1.2)
    ax2.grid(alpha=0.3)
    ax_acc = ax2.twinx()
    ax_acc.plot(epochs, [initial_acc] + accs, color="C3",
                label=label("训练集准确率（右轴）", "train accuracy (right axis)"))
    ax_acc.axhline(1 / 3, color="C3", ls=":", lw=0.8)
    ax_acc.text(epochs[-1], 1 / 3, label("瞎猜 1/3", "chance 1/3"), color="C3", ha="right", va="bottom")
    ax_acc.set_ylim(0, 1)
    ax_acc.set_ylabel(label("准确率", "accuracy"), color="C3")
    lines, lines_acc = ax2.get_legend_handles_labels(), ax_acc.get_legend_handles_labels()
    ax2.legend(lines[0] + lines_acc[0], lines[1] + lines_acc[1], loc="lower left", fontsize=8)
    ax2.set_title(label("损失与准确率", "loss and accuracy"))
    fig.tight_layout()
    return fig


fig = plot_regions(model, X_np, y_np, initial_loss, initial_acc, losses, accs)
RESULTS["figure_regions"] = str(show(fig, "06_softmax_regions.png"))
print(f"训练集准确率 {accs[-1]:.3f}：比瞎猜的 1/3 高 {accs[-1] - 1 / 3:.3f}，离 1 还差 {1 - accs[-1]:.3f}")

# %% [markdown]
# ## 小结
#
# - softmax 把 logits 变成概率；同加一个常数结果不变，所以先减去最大值，避免上溢和 `0/0`；
# - $\log\mathrm{softmax}(z) = z - \mathrm{LSE}(z)$，LogSumExp 同样先减最大值；不要先算概率再取 log；
# - 交叉熵 $\ell = \mathrm{LSE}(z) - z_y$，梯度 $\mathrm{softmax}(z) - \mathrm{onehot}(y)$；
#   `F.cross_entropy` 把它做成一个融合运算：数值稳定、反向一步到位。模型输出 logits，不要自己先做 softmax；
# - $C$ 类问题在“什么都没学”时的损失是 $\ln C$，训练前先核对它；
# - 线性分类器的每个决策区域是凸的，螺旋这样缠绕的类别它分不开——需要非线性（第 07 课）。
#
# ## 练习
#
# 1. ★ 把第 7 步的模型先做 softmax 再交给 `F.cross_entropy`（即 `F.cross_entropy(model(x).softmax(dim=1), y)`，
#    一个常见的错误）。训练 100 轮，损失和准确率怎样？为什么损失降不到 0 附近？（提示：输入已经在 [0, 1] 里。）
# 2. ★ 用 float64 重做第 2 步：`[1000, 1001, 1002]` 的朴素 softmax 还会溢出吗？从多大的 logit 开始溢出？
#    float16 呢（`tg.float16`）？
# 3. ★★ 给 softmax 回归加特征：把 $(x_1, x_2)$ 换成极坐标 $(r, \theta)$ 再加 $\sin$、$\cos$ 等特征，
#    线性模型在新特征上的准确率能到多少？这说明“非线性”可以来自特征，也可以来自模型。
# 4. ★★★ 自己写一个 `Function` 子类实现融合的交叉熵（前向 LSE − z_y，反向 softmax − onehot），
#    用 `tinygrad_zh.testing.gradcheck`（float64）检验它，再与 `F.cross_entropy` 对照。
#
# 全部练习的答案见 `lessons/answers/06_softmax_regression_answers.py`。
#

# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。在 CPU 上运行（`--device cuda` 的结果在浮点舍入范围内相同）。
# 第 1—6 步两种模式给出相同的数（第 5 步的计时除外，因机器而异）；第 7 步完整模式训练 100 轮、快速模式 10 轮，数不同——
# 以 `QUICK` 对应的那一份为准。快速模式的三个数还记在代码里的 `REFERENCE_QUICK`，测试拿它与真实的快速运行对照。

# %%
# 快速模式的参考数（测试 tests/test_lessons_05_07.py 拿它与真实的快速运行对照）
REFERENCE_QUICK = {"final_loss": 0.7591, "train_acc": 0.5500, "test_acc": 0.5133}

R = RESULTS
timing = "拼起来的快" if R["time_ms"]["composed"] < R["time_ms"]["fused"] else "融合的快"
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 第 1 步：softmax([2, 1, 0.1]) = {fmt(R['softmax_example'])}，加 50 后 {fmt(R['softmax_shifted'])}；
- 第 2 步：float32 下 e^88 = {R['exp88']:.4g}，e^89 = {R['exp89']}；[1000, 1001, 1002] 与 [−1000, −1001, −1002]
  的朴素 softmax 是 {fmt(R['naive_big'])} 与 {fmt(R['naive_small'])}，\
减去最大值后是 {fmt(R['stable_big'])} 与 {fmt(R['stable_small'])}；
- 第 3 步：朴素 log Σ e^z = {R['naive_lse']}，LogSumExp 技巧 = {R['lse_trick']:.4f}；
  z = [0, −200]：log(softmax(z)) = {fmt(R['naive_logp'], 0)}，log_softmax(z) = {fmt(R['stable_logp'], 0)}；
- 第 4 步：6 个样本 4 类，类别 {R['ce_labels']}，交叉熵 {R['ce_loss_example']:.6f}；\
backward 与 (softmax − onehot)/N 的最大差 {R['ce_grad_diff']:.1e}；
- 第 5 步：logits [0, 200]、类别 0：拼起来的版本 ℓ = {R['composed_loss_extreme']}、梯度 {fmt(R['composed_grad_extreme'])}；\
融合版 ℓ = {R['fused_loss_extreme']:g}、梯度 {fmt(R['fused_grad_extreme'], 0)}；
  N = 4096、C = 100 上两者的损失相差 {R['big_loss_diff']:.1e}，每次前向 + 反向 拼起来 {R['time_ms']['composed']:.2f} ms、\
融合 {R['time_ms']['fused']:.2f} ms（{timing}，因机器而异）；
- 第 6 步：训练集 {R['n_train']} 个点、测试集 {R['n_test']} 个点，每类 {R['per_class'][0]} 个；
- 第 7 步（{R['epochs']} 轮）：初始损失 {R['initial_loss']:.6f}（ln 3 = {math.log(3):.6f}），初始准确率 {R['initial_acc']:.4f}；\
训练损失 {R['final_loss']:.4f}，
  训练集准确率 {R['train_acc']:.4f}（手算 {R['train_acc_by_hand']:.4f}），测试集准确率 {R['test_acc']:.4f}（瞎猜是 1/3）；
- 图片：{R['figure_regions']}（决策区域是三个以中心附近为顶点的凸扇形；损失与准确率曲线）。""")
if QUICK:
    same = all(abs(R[k] - v) < 6e-4 for k, v in REFERENCE_QUICK.items())
    print("快速模式的参考数 REFERENCE_QUICK = " + "，".join(f"{k} {v:.4f}" for k, v in REFERENCE_QUICK.items())
          + ("：与本次运行相同。" if same else "：与本次运行不同！"))
