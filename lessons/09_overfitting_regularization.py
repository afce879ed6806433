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
# # 第 09 课：过拟合、正则化与评估
#
# 原文（«AI大模型创业：如何利用国际优势？»） §3.1.4 说，训练中要定期评估模型，常见指标有“准确率（Accuracy）、召回率（Recall）、F1 分数（F1 Score）”；
# §3.1.5 说，模型可能过拟合（Overfitting），可以用“L1 正则化、L2 正则化”或“数据增强（Data Augmentation）”提高泛化能力。
# 这两段只列了名字。这一课把它们都做出来：在一个故意很小的数据集上训练多层感知机，亲眼看到过拟合，
# 再逐个加上正则化 (regularization) 手段，用曲线和数字比较；最后把每个评估指标写成公式、手算一个小例子，
# 再用在测试集上。
#
# **学习目标**
#
# 1. 能从训练 / 验证曲线认出过拟合 (overfitting)：训练损失一路下降，验证损失先降后升；
# 2. 会用五种办法对付它，并说清每种的原理：L2 正则化（= SGD 的权重衰减 (weight decay)）、L1 正则化、
#    暂退法（dropout，又称丢弃法）、早停 (early stopping)、数据增强 (data augmentation)；
# 3. 会用张量运算给 8×8 手写数字做平移增强，并理解增强其实是在告诉模型“什么变化不改变标签”；
# 4. 能写出准确率 (accuracy)、精确率 (precision)、召回率 (recall)、F1 的公式，分清宏平均 (macro) 与微平均 (micro)，
#    会读混淆矩阵 (confusion matrix)，知道只看准确率会在什么时候骗人；
# 5. 会在训练循环里用学习率调度器 (learning-rate scheduler)。
#
# **前置知识**：第 05 课（训练循环、`DataLoader`）、第 07 课（多层感知机、8×8 手写数字）、
# 第 08 课（下）（SGD 的 L2 = 权重衰减、学习率调度）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/09_overfitting_regularization.py            # 完整模式（8 次训练，每次 200 轮，约 20 秒）
# python lessons/09_overfitting_regularization.py --quick    # 快速模式：每次只训练 60 轮（学习率 0.05），几秒
# python lessons/09_overfitting_regularization.py --device cuda
# jupytext --to notebook lessons/09_overfitting_regularization.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。

# %% tags=["parameters"]
QUICK = False    # 快速模式：每次只训练 60 轮（学习率 0.05），而不是 200 轮（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math
import unicodedata

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import metrics, optim
from tinygrad_zh.data import DataLoader, TensorDataset, load_digits
from tinygrad_zh.lesson import lesson_args, progress, show
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）

N_TRAIN = 200                  # 训练集故意很小；验证集 N_VAL 张，剩下的 1297 张做测试集
N_VAL = 300
LABEL_NOISE = 0.2              # 训练集里被改错的标签比例（第 1 步解释为什么）
HIDDEN = 256


def pad(text, width):
    """按终端显示宽度补空格（中文字符占两列），让表格对齐。"""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, width - shown)

# %% [markdown]
# ## 第 1 步：数据——小训练集，外加 20% 的错标签
#
# scikit-learn 自带的 8×8 手写数字共 1797 张（第 07 课用过）。用固定种子打乱后切成三份：
#
# - **训练集** (training set) 200 张：用来更新参数；
# - **验证集** (validation set) 300 张：训练时每轮看一次，用来选超参数、决定何时早停，**不参与**梯度计算；
# - **测试集** (test set) 1297 张：全部训练、选择结束后只用一次，报告最终成绩。
#
# 为什么要三份？如果用测试集挑超参数，挑出来的恰好是“在测试集上运气好”的那个，测试成绩就不再是对新数据的公正估计。
#
# 8×8 数字很干净，多层感知机在 200 张上会把训练集背得滚瓜烂熟（训练准确率 100%），但验证损失并不会明显回升
# （第 2 步会看到）。真实数据却常有标注错误，模型会连错误一起背下来——这才是过拟合最典型的样子。
# 为了让它看得清楚，我们**把训练集里 20% 的标签随机改成别的数字**（验证集和测试集的标签不动）。
# 这样模型先学会“真正的规律”（验证准确率上升），再去硬背那 40 个错标签（训练损失继续下降，验证损失回升）。


# %%
def load_data(device, label_noise=LABEL_NOISE):
    X, y = load_digits()                                   # X: (1797, 64) ∈ [0, 1]，y: (1797,) ∈ 0..9
    perm = np.random.default_rng(0).permutation(len(X))
    tr, va, te = perm[:N_TRAIN], perm[N_TRAIN:N_TRAIN + N_VAL], perm[N_TRAIN + N_VAL:]
    y_train = y[tr].copy()
    rng = np.random.default_rng(1)
    flip = rng.choice(N_TRAIN, size=round(label_noise * N_TRAIN), replace=False)   # 恰好 20% 的下标
    # 加 1..9 再模 10：保证改后的标签一定与原来不同
    y_train[flip] = (y_train[flip] + rng.integers(1, 10, len(flip))) % 10
    data = {"X_train": tg.tensor(X[tr], device=device), "y_train": tg.tensor(y_train, device=device),
            "y_train_clean": tg.tensor(y[tr], device=device),
            "X_val": tg.tensor(X[va], device=device), "y_val": tg.tensor(y[va], device=device),
            "X_test": tg.tensor(X[te], device=device), "y_test": tg.tensor(y[te], device=device),
            "n_flipped": len(flip)}
    return data



data = load_data(DEVICE)
print(f"训练 / 验证 / 测试：{data['X_train'].shape[0]} / {data['X_val'].shape[0]} / {data['X_test'].shape[0]} 张，"
      f"每张 64 个像素")
print(f"训练集里改错了 {data['n_flipped']} 个标签（{data['n_flipped'] / N_TRAIN:.0%}）")
test_counts = np.bincount(data["y_test"].cpu().numpy(), minlength=10).tolist()
print(f"测试集每类张数：{test_counts}")
RESULTS.update({"n_flipped": data["n_flipped"], "test_counts": test_counts})

# %% [markdown]
# ## 第 2 步：模型与训练循环
#
# 模型是第 07 课的多层感知机：64 → 256 → 256 → 10，激活函数 ReLU；可选地在每个隐藏层后加 `nn.Dropout(p)`。
# 8 万多个参数对 200 张图来说绰绰有余——足够把每一张（连同错标签）都背下来。
#
# 训练循环就是第 05 课的五行，外加几个可选的部件：
#
# - 优化器 `optim.SGD(momentum=0.9, lr=0.01, weight_decay=λ)`，批量大小 50，每轮 4 步，共 200 轮；
# - `l1`：把 `optim.l1_penalty(model.parameters(), l1)` 加到损失上；
# - `augment`：每个小批量先做数据增强（第 6 步）；
# - `cosine=True`：每轮末调用一次余弦退火调度器的 `scheduler.step()`（第 8 步）；
# - `early_stopping`：每轮末看验证损失，决定是否停下（第 7 步）。
#
# 每轮结束时在**评估模式**（`model.eval()`：dropout 关闭）下算一次训练集与验证集的损失和准确率；训练集的准确率
# 按**训练时用的（含错的）标签**算，这正是模型在拟合的目标。注意 `model.train()` / `model.eval()` 的切换：
# 忘了 `eval()`，评估时 dropout 还在随机丢弃，数字会偏低且每次不同。
#
# 先在**不加噪声**的训练集上训练一次作为参照：训练准确率很快到 100%，验证准确率停在 90% 左右——
# 训练与验证之间的差距 (generalization gap) 就是泛化 (generalization) 的代价；但验证损失并不回升。


# %%
# 快速模式少训练几轮，但学习率大 5 倍（轮数 × 学习率与完整模式相当），过拟合照样出现
FULL_SETTINGS = {"epochs": 200, "lr": 0.01}
QUICK_SETTINGS = {"epochs": 60, "lr": 0.05}


def make_model(dropout, device):
    layers = [nn.Linear(64, HIDDEN), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(HIDDEN, HIDDEN), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(HIDDEN, 10))
    return nn.Sequential(*layers).to(device)


def soft_threshold(model, t):
    """近端 (proximal) 一步：每个权重矩阵的元素 w ← sign(w)·max(|w| − t, 0)，|w| ≤ t 的变成正好 0。"""
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            d = p.data
            shrunk = (abs(d) - t).clip(0, None)
            d[...] = shrunk * (d > 0) - shrunk * (d < 0)


def evaluate(model, X, y):
    """评估模式下的 (损失, 准确率)。"""
    model.eval()
    with tg.no_grad():
        logits = model(X)
        return F.cross_entropy(logits, y).item(), metrics.accuracy(logits, y)


def fit(name, data, epochs, device, y_train=None, weight_decay=0.0, l1=0.0, dropout=0.0, augment=None,
        cosine=False, early_stopping=None, seed=0, lr=0.01, l1_prox=0.0):
    """训练一个模型，返回 (模型, 每轮的历史记录)。"""
    tg.manual_seed(seed)       # 每次训练用同样的初值与同样的批次顺序：差别只来自正则化本身
    model = make_model(dropout, device)
    y_train = data["y_train"] if y_train is None else y_train
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if cosine else None
    loader = DataLoader(TensorDataset(data["X_train"], y_train), batch_size=50, shuffle=True)
    hist = {k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr")}
    for epoch in progress(range(epochs), desc=name, unit="epoch", leave=False):
        model.train()
        for xb, yb in loader:
            if augment is not None:
                xb = augment(xb)
            loss = F.cross_entropy(model(xb), yb)
            if l1:
                loss = loss + optim.l1_penalty(model.parameters(), l1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if l1_prox:
                soft_threshold(model, lr * l1_prox)
        hist["lr"].append(optimizer.param_groups[0]["lr"])
        if scheduler is not None:
            scheduler.step()
        for split, X, y in (("train", data["X_train"], y_train), ("val", data["X_val"], data["y_val"])):
            loss_value, acc = evaluate(model, X, y)
            hist[f"{split}_loss"].append(loss_value)
            hist[f"{split}_acc"].append(acc)
        if early_stopping is not None and early_stopping.step(hist["val_loss"][-1], model, epoch + 1):
            break
    if early_stopping is not None:
        model.load_state_dict(early_stopping.best_state)   # 恢复验证损失最低那一轮的权重
    return model, hist


def report(name, model, hist, data):
    best = int(np.argmin(hist["val_loss"]))
    test_loss, test_acc = evaluate(model, data["X_test"], data["y_test"])
    print(f"{pad(name, 22)}训练损失 {hist['train_loss'][-1]:.3f}  训练准确率 {hist['train_acc'][-1]:.3f}  "
          f"验证损失 {hist['val_loss'][-1]:.3f}（最低 {hist['val_loss'][best]:.3f}，第 {best + 1} 轮）  "
          f"验证准确率 {hist['val_acc'][-1]:.3f}  测试准确率 {test_acc:.4f}")
    return {"train_loss": hist["train_loss"][-1], "train_acc": hist["train_acc"][-1], "val_loss": hist["val_loss"][-1],
            "best_val_loss": hist["val_loss"][best], "best_epoch": best + 1, "val_acc": hist["val_acc"][-1],
            "test_loss": test_loss, "test_acc": test_acc, "epochs_run": len(hist["val_loss"])}


EPOCHS, LR = (QUICK_SETTINGS if QUICK else FULL_SETTINGS).values()
RESULTS.update({"epochs": EPOCHS, "lr": LR})
print(f"本次运行每个模型训练 {EPOCHS} 轮，学习率 {LR}（QUICK = {QUICK}）")

# %% [markdown]
# 下面这一格训练两个不加正则化的模型：用干净标签训练的参照，和用 20% 错标签训练的基线。

# %%
runs = {}
model, hist = fit("干净标签", data, EPOCHS, DEVICE, lr=LR, y_train=data["y_train_clean"])
runs["clean"] = (model, hist, report("干净标签（参照）", model, hist, data))
model, hist = fit("基线", data, EPOCHS, DEVICE, lr=LR)
runs["baseline"] = (model, hist, report("基线（20% 错标签）", model, hist, data))
h = hist
peak = int(np.argmax(h["val_acc"]))
best = int(np.argmin(h["val_loss"]))
n = len(h["val_acc"])
if peak == n - 1:        # 句子由数字决定：最后一轮就是最好的一轮时，没有“之后”可言
    print(f"基线：验证准确率在最后一轮（第 {n} 轮）最高（{h['val_acc'][peak]:.3f}）——还没有开始过拟合")
else:
    drop = "降到" if h["val_acc"][-1] < h["val_acc"][peak] else "停在"
    print(f"基线：验证准确率在第 {peak + 1} 轮最高（{h['val_acc'][peak]:.3f}），之后{drop} {h['val_acc'][-1]:.3f}；"
          f"训练准确率从 {h['train_acc'][peak]:.3f} 变为 {h['train_acc'][-1]:.3f}，"
          f"训练损失从 {h['train_loss'][peak]:.3f} 变为 {h['train_loss'][-1]:.3f}")
rise = h["val_loss"][-1] - h["val_loss"][best]
print(f"验证损失在第 {best + 1} 轮最低（{h['val_loss'][best]:.3f}），最后一轮 {h['val_loss'][-1]:.3f}"
      + (f"，回升了 {rise:.3f}——模型在背错标签" if rise > 0 else "，没有回升"))
runs["baseline"][2].update(peak_val_acc=h["val_acc"][peak], peak_epoch=peak + 1,
                           train_acc_at_peak=h["train_acc"][peak], train_loss_at_peak=h["train_loss"][peak])

# %% [markdown]
# ## 第 3 步：L2 正则化 = 权重衰减
#
# 在损失上加所有权重的平方和：
#
# $$J_{\text{L2}}(\theta) = J(\theta) + \frac{\lambda}{2}\lVert\theta\rVert_2^2,\qquad
# \nabla J_{\text{L2}} = \nabla J + \lambda\theta.$$
#
# 代入 SGD：$\theta \leftarrow \theta - \alpha(\nabla J + \lambda\theta) = (1 - \alpha\lambda)\theta - \alpha\nabla J$——每步先把权重
# 按比例缩小一点，所以叫权重衰减。它偏爱“小而分散”的权重：要把一个错标签硬背下来，往往需要几个很大的权重，
# 惩罚让这样做变得不划算。对 SGD 这两种说法完全等价（第 08 课（下）第 10 步验证过），所以直接用
# `optim.SGD(weight_decay=λ)`，不必自己加损失项（`optim.l2_penalty` 只用于演示等价）。对 Adam 它们不等价，要用 AdamW。
#
# 我们取 $\lambda = 10^{-2}$。$\lambda$ 太大，模型连真规律都学不动（欠拟合 (underfitting)）；太小则没有作用——
# 它是一个要用验证集来挑的超参数（练习 3）。

# %% [markdown]
# ## 第 4 步：L1 正则化
#
# $$J_{\text{L1}}(\theta) = J(\theta) + \lambda_1\lVert\theta\rVert_1,\qquad \frac{\partial \lVert\theta\rVert_1}{\partial\theta_i} = \operatorname{sign}(\theta_i).$$
#
# 与 L2 的区别：L2 的拉力 $\lambda\theta$ 随权重变小而变小，权重只会趋近 0；L1 的拉力大小恒为 $\lambda_1$，
# 会把不重要的权重推到 0 附近（稀疏）。优化器没有 L1 的开关，要用 `optim.l1_penalty` 加到损失上
# （$|x|$ 在 0 处的导数取 0，同 PyTorch）。我们取 $\lambda_1 = 10^{-3}$，训练完数一数有多少权重接近 0。
#
# 但“正好为 0”要小心：普通的（次）梯度步 $w \leftarrow w - \alpha(g + \lambda_1\operatorname{sign}(w))$ 每步移动一段连续的距离，
# 几乎从不恰好停在 0 上——权重在 0 两侧来回跳，只是很小。要得到**正好**为 0 的权重，要用近端梯度 (proximal gradient)：
# 先做不含 L1 的一步，再做软阈值 (soft thresholding) $w \leftarrow \operatorname{sign}(w)\max(|w| - \alpha\lambda_1, 0)$，
# 落在 $[-\alpha\lambda_1, \alpha\lambda_1]$ 里的权重直接变成 0（`soft_threshold`，`fit(..., l1_prox=λ₁)`）。
# 这一步把两种做法都训练一遍，数正好为 0 的权重个数。

# %% [markdown]
# ## 第 5 步：暂退法 (dropout)
#
# 训练时每个隐藏单元以概率 $p$ 被置 0，留下的乘以 $1/(1-p)$（让期望不变）；评估时什么也不做：
#
# $$h' = \frac{m \odot h}{1 - p},\qquad m_i \sim \text{Bernoulli}(1-p).$$
#
# 每一步训练的都是一个随机“抽掉了一半单元”的子网络，任何一个单元都不能指望别的单元替它记住某个样本，
# 硬背错标签就难了。这里 $p = 0.5$，放在两个隐藏层之后。

# %% [markdown]
# ## 第 6 步：数据增强——用张量运算平移图像
#
# 数据增强是给训练样本做“不改变标签的变化”，等于凭空多出许多训练数据。对手写数字，一个自然的选择是
# **平移**：数字往右挪一个像素，还是同一个数字。做法（全是张量运算，可以在 GPU 上跑）：
#
# 1. 把 `(B, 64)` 变回 `(B, 8, 8)` 的图像；
# 2. 平移 = 切掉一边、在另一边拼一条 0：例如向右移一格是 `cat([zeros(B, 8, 1), img[:, :, :-1]], dim=2)`；
# 3. 每个样本从 $\{-1, 0, 1\}^2$ 的 9 种平移里随机选一种：先把 9 种平移都算出来，再用独热的掩码挑——
#    $\text{out} = \sum_k \text{shift}_k(\text{img}) \cdot [\text{choice} = k]$，没有逐样本的 Python 循环。
#
# 增强只用在训练的小批量上；验证和测试用原图。数字贴着边时，平移会切掉一行或一列笔画（图 `09_augmentation.png`
# 里能看到）——增强出来的样本并不完美，但仍然是“同一个数字”。
#
# 增强其实是一个**假设**：“平移不改变标签”。scikit-learn 的数字都已经居中，测试集里没有平移过的图，
# 所以在原测试集上，增强的好处有限；但把测试图整体右移一个像素，没见过平移的模型会错得一塌糊涂，
# 增强过的模型几乎不受影响。我们两种测试都做。


# %%
def shift_images(img, dy, dx):
    """把 (B, H, W) 的图像整体平移 (dy, dx) 个像素：移出去的丢掉，空出来的补 0。dy > 0 向下，dx > 0 向右。"""
    B, H, W = img.shape
    if dy > 0:
        img = tg.cat([tg.zeros(B, dy, W, device=img.device), img[:, :H - dy, :]], dim=1)
    elif dy < 0:
        img = tg.cat([img[:, -dy:, :], tg.zeros(B, -dy, W, device=img.device)], dim=1)
    if dx > 0:
        img = tg.cat([tg.zeros(B, H, dx, device=img.device), img[:, :, :W - dx]], dim=2)
    elif dx < 0:
        img = tg.cat([img[:, :, -dx:], tg.zeros(B, H, -dx, device=img.device)], dim=2)
    return img


SHIFTS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def random_shift(x):
    """数据增强：每个样本各自随机平移 (dy, dx) ∈ {−1, 0, 1}²。x 形状 (B, 64)，返回同形状。"""
    B = x.shape[0]
    img = x.reshape(B, 8, 8)
    choice = tg.randint(0, len(SHIFTS), (B,), device=x.device)
    out = tg.zeros_like(img)
    for k, (dy, dx) in enumerate(SHIFTS):
        mask = (choice == k).float().reshape(B, 1, 1)      # 选了第 k 种平移的样本为 1，其余为 0
        out = out + shift_images(img, dy, dx) * mask
    return out.reshape(B, 64)


def plot_augmentation(data):
    tg.manual_seed(3)
    x = data["X_train"][:4]
    labels = data["y_train_clean"][:4].tolist()
    rows = [x] + [random_shift(x) for _ in range(4)]
    fig, axes = subplots(4, 5, figsize=(7, 6))
    for col, batch in enumerate(rows):
        imgs = batch.reshape(-1, 8, 8).cpu().numpy()
        for row in range(4):
            ax = axes[row, col]
            ax.imshow(imgs[row], cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(label(f"数字 {labels[row]}", f"digit {labels[row]}"), fontsize=9)
            if row == 0:
                ax.set_title(label("原图", "original") if col == 0 else label(f"平移 {col}", f"shift {col}"), fontsize=9)
    fig.suptitle(label("数据增强：随机平移一个像素（每行同一张图）", "augmentation: random 1-pixel shifts (one image per row)"))
    fig.tight_layout()
    return fig


RESULTS["figure_augmentation"] = str(show(plot_augmentation(data), "09_augmentation.png", dpi=110))

# %% [markdown]
# 下面这一格把第 3—6 步的四种正则化各训练一次（其余设置与基线相同），再用近端步训练一个 L1 模型，数一数正好为 0 的权重。

# %%
configs = [("l2", "L2 (weight_decay=1e-2)", {"weight_decay": 1e-2}),
           ("l1", "L1 (l1_penalty 1e-3)", {"l1": 1e-3}),
           ("dropout", "dropout (p=0.5)", {"dropout": 0.5}),
           ("augment", "平移增强", {"augment": random_shift})]
for key, name, kwargs in configs:
    model, hist = fit(name, data, EPOCHS, DEVICE, lr=LR, **kwargs)
    runs[key] = (model, hist, report(name, model, hist, data))


def small_fraction(model):
    """绝对值 < 1e-3 的权重所占比例（只数两个隐藏层和输出层的权重矩阵）。"""
    ws = [p.detach().abs().cpu().numpy().ravel() for n, p in model.named_parameters() if n.endswith("weight")]
    return float(np.mean(np.concatenate(ws) < 1e-3))


def exact_zeros(model):
    """正好为 0 的权重个数与权重总数。普通的（次）梯度步几乎从不落在 0 上；近端步（软阈值）会。"""
    ws = [p.detach().cpu().numpy().ravel() for n, p in model.named_parameters() if n.endswith("weight")]
    return int(sum((w == 0).sum() for w in ws)), int(sum(w.size for w in ws))


prox_model, prox_hist = fit("L1 近端", data, EPOCHS, DEVICE, lr=LR, l1_prox=1e-3)
runs_prox = report("L1 近端步 (λ₁ = 1e-3)", prox_model, prox_hist, data)
zeros_plain, n_weights = exact_zeros(runs["l1"][0])
zeros_prox, _ = exact_zeros(prox_model)
l1_small = small_fraction(runs["l1"][0])
print(f"{n_weights} 个权重里正好为 0 的：l1_penalty + SGD {zeros_plain} 个（{zeros_plain / n_weights:.1%}），"
      f"近端步（软阈值）{zeros_prox} 个（{zeros_prox / n_weights:.1%}）")
print(f"绝对值 < 1e-3 的权重所占比例：L1 {l1_small:.3f}")
RESULTS.update({"l1_small_fraction": l1_small,
                "l1_exact_zeros": {"l1": l1_small, "n_weights": n_weights, "exact_zeros_l1": zeros_plain,
                                   "exact_zeros_prox": zeros_prox, "prox_test_acc": runs_prox["test_acc"]}})

# %% [markdown]
# ## 第 7 步：早停
#
# 既然验证损失先降后升，最简单的办法就是在它最低的时候停下。实现只需要一个小对象：每轮末看一次验证损失，
# 创了新低就记下这一轮的权重（`model.state_dict()` 返回主机上的副本，之后继续训练也不会改动它）；
# 连续 `patience` 轮没有创新低就停止训练，再用 `load_state_dict` 恢复最好那一轮的权重。
#
# 早停不改模型、不改损失，只决定“训练多久”，几乎没有代价，是最常用的正则化手段之一。
# 它和基线用同样的种子，所以在停下之前，两者走的是**同一条**路（下面会核对）。


# %%
class EarlyStopping:
    """验证损失连续 patience 轮没有创新低就停止，并记住最好那一轮的权重。"""

    def __init__(self, patience=20):
        self.patience = patience
        self.best_loss, self.best_epoch, self.best_state, self.bad_epochs = math.inf, 0, None, 0
        self.stopped_epoch = None

    def step(self, val_loss, model, epoch):
        """每轮末调用；返回 True 表示该停了。"""
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            self.best_state = model.state_dict()
            return False
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False


stopper = EarlyStopping(patience=5 if QUICK else 20)
print(f"早停：patience = {stopper.patience}")
model, hist = fit("早停", data, EPOCHS, DEVICE, lr=LR, early_stopping=stopper)
n = len(hist["val_loss"])
same = max(abs(a - b) for a, b in zip(hist["val_loss"], runs["baseline"][1]["val_loss"][:n]))
stopped = stopper.stopped_epoch or n
print(f"在第 {stopped} 轮停止，恢复第 {stopper.best_epoch} 轮的权重（验证损失 {stopper.best_loss:.3f}）；"
      f"停止前与基线的验证损失最大差 {same:.1e}")
result = report("早停", model, hist, data)
result.update(stopped_epoch=stopped, restored_epoch=stopper.best_epoch, same_as_baseline=same)
runs["early_stop"] = (model, hist, result)

# %% [markdown]
# ## 第 8 步：组合起来，再加一个学习率调度
#
# 实践中会把几种手段组合使用。最后一个模型用 dropout（$p = 0.5$）+ 权重衰减（$\lambda = 5\times10^{-3}$），
# 再加上余弦退火 `CosineAnnealingLR(T_max=轮数)`（第 08 课（下）第 11 步）：学习率从 0.01 沿半个余弦降到 0。
# 训练后期步子越来越小，模型不再有力气去追那些错标签，效果上有点像“温和的早停”。
#
# 不过正则化不是越多越好：把平移增强也叠上去、$\lambda$ 再加大，200 轮里连训练集的真规律都学不完（欠拟合）。
# 练习 3 请你自己试试。

# %%
model, hist = fit("组合 + 余弦", data, EPOCHS, DEVICE, lr=LR, dropout=0.5, weight_decay=5e-3, cosine=True)
result = report("dropout+L2+余弦退火", model, hist, data)
result["lr_schedule"] = [hist["lr"][0], hist["lr"][EPOCHS // 2], hist["lr"][-1]]
print(f"学习率：第 1 轮 {hist['lr'][0]:.4f}，第 {EPOCHS // 2 + 1} 轮 {hist['lr'][EPOCHS // 2]:.4f}，"
      f"最后一轮 {hist['lr'][-1]:.2e}")
runs["combined"] = (model, hist, result)
RESULTS["runs"] = {k: v[2] for k, v in runs.items()}

# %% [markdown]
# 把训练曲线画出来：左图是干净标签与基线的训练 / 验证损失（虚线 = 训练，实线 = 验证，点线是早停恢复的那一轮），
# 中图和右图是各个模型的验证损失与验证准确率。


# %%
def plot_curves(runs, epochs):
    fig, axes = subplots(1, 3, figsize=(16, 4.6))
    def xs(values):   # 第 1 轮的记录画在横坐标 1 处
        return np.arange(1, len(values) + 1)
    ax = axes[0]
    for key, color, name in (("clean", "C7", ("干净标签", "clean labels")), ("baseline", "C3", ("基线", "baseline"))):
        h = runs[key][1]
        ax.plot(xs(h["train_loss"]), h["train_loss"], "--", color=color,
                label=label(f"{name[0]}：训练", f"{name[1]}: train"))
        ax.plot(xs(h["val_loss"]), h["val_loss"], "-", color=color,
                label=label(f"{name[0]}：验证", f"{name[1]}: validation"))
    es = runs["early_stop"][2]
    ax.axvline(es["restored_epoch"], color="C0", ls=":", lw=1.5,
               label=label(f"早停恢复的第 {es['restored_epoch']} 轮", f"early stopping keeps epoch {es['restored_epoch']}"))
    ax.set_title(label("过拟合：训练损失一路下降，验证损失先降后升", "overfitting: train loss falls, val loss turns up"))
    ax.set_ylabel(label("交叉熵损失", "cross-entropy loss"))

    styles = [("baseline", "C3", ("基线", "baseline")), ("l2", "C1", ("L2", "L2")), ("l1", "C5", ("L1", "L1")),
              ("dropout", "C2", ("dropout", "dropout")), ("augment", "C4", ("平移增强", "shift augmentation")),
              ("combined", "C0", ("dropout+L2+余弦", "dropout+L2+cosine"))]
    for key, color, name in styles:
        h = runs[key][1]
        axes[1].plot(xs(h["val_loss"]), h["val_loss"], color=color, label=label(*name))
        axes[2].plot(xs(h["val_acc"]), h["val_acc"], color=color, label=label(*name))
    axes[1].set_title(label("验证损失", "validation loss"))
    axes[2].set_title(label("验证准确率", "validation accuracy"))
    for ax in axes:
        ax.set_xlabel(label("轮", "epoch"))
        ax.set_xlim(1, epochs)
        ax.autoscale(axis="y")   # 纵轴按数据定范围：固定的范围会把快速模式的曲线画到框外
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


RESULTS["figure_curves"] = str(show(plot_curves(runs, EPOCHS), "09_train_val_curves.png", dpi=110))

# %% [markdown]
# ## 第 9 步：评估指标——公式与一个手算的小例子
#
# 对多分类中的某一类 $c$，把样本分成四种：
#
# - 真正例 TP (true positive)：真是 $c$，也预测成 $c$；
# - 假正例 FP (false positive)：不是 $c$，却预测成 $c$；
# - 假反例 FN (false negative)：真是 $c$，却预测成别的；
# - 真反例 TN：既不是 $c$，也没预测成 $c$。
#
# 于是
#
# $$\text{准确率} = \frac{\text{预测对的样本数}}{N},\quad
# \text{精确率}_c = \frac{TP}{TP + FP},\quad \text{召回率}_c = \frac{TP}{TP + FN},\quad
# F1_c = \frac{2\,P_c R_c}{P_c + R_c} = \frac{2\,TP}{2\,TP + FP + FN}.$$
#
# 精确率问“说是 $c$ 的里面有多少真是 $c$”，召回率问“真是 $c$ 的里面找回了多少”。F1 是两者的调和平均：
# 只要有一个很低，F1 就低。原文只列了准确率、召回率和 F1，但 F1 离不开精确率，所以四个都要。
#
# 多个类的汇总有两种：
#
# - **宏平均** (macro)：每类各算一个值，再简单平均——每类同等重要，小类表现差会被看见；
# - **微平均** (micro)：先把所有类的 TP、FP、FN 各自加起来再算。单标签多分类里，每个错误恰好是某一类的 FP 和
#   另一类的 FN，所以微平均的精确率 = 召回率 = F1 = 准确率。
#
# **混淆矩阵** $C[i, j]$ = 真实类别为 $i$、被预测为 $j$ 的样本数（行是真实，列是预测）。对角线是预测对的；
# 第 $c$ 列之和是 $TP + FP$，第 $c$ 行之和是 $TP + FN$。
#
# **手算的例子**：3 类，10 个样本。
#
# ```
# 真实 y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
# 预测 y_pred = [0, 0, 1, 2, 1, 1, 0, 2, 2, 2]
# ```
#
# | 类 | TP | FP | FN | 精确率 | 召回率 | F1 |
# |---|---|---|---|---|---|---|
# | 0 | 2 | 1（第 7 个） | 2（第 3、4 个） | 2/3 | 2/4 = 0.5 | 4/7 ≈ 0.5714 |
# | 1 | 2 | 1（第 3 个） | 1（第 7 个） | 2/3 | 2/3 | 2/3 |
# | 2 | 3 | 1（第 4 个） | 0 | 3/4 | 1 | 6/7 ≈ 0.8571 |
#
# 宏平均：精确率 $(2/3 + 2/3 + 3/4)/3 \approx 0.6944$，召回率 $(1/2 + 2/3 + 1)/3 \approx 0.7222$，
# F1 $(4/7 + 2/3 + 6/7)/3 \approx 0.6984$；微平均：TP 共 7、FP 共 3、FN 共 3，三者都是 $7/10 = 0.7$，等于准确率。
#
# **只看准确率的陷阱**：20 个样本里只有 1 个正例，一个永远预测“负”的模型准确率是 95%，召回率却是 0。

# %%
y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
y_pred = [0, 0, 1, 2, 1, 1, 0, 2, 2, 2]
by_hand = {"precision": [2 / 3, 2 / 3, 3 / 4], "recall": [2 / 4, 2 / 3, 1.0], "f1": [4 / 7, 2 / 3, 6 / 7]}
per_class = {"precision": metrics.precision(y_true, y_pred, average=None),
             "recall": metrics.recall(y_true, y_pred, average=None),
             "f1": metrics.f1_score(y_true, y_pred, average=None)}
for k in by_hand:
    print(f"每类 {k:<9} 手算 {np.round(by_hand[k], 4).tolist()}   metrics {np.round(per_class[k], 4).tolist()}")
summary = {
    "accuracy": metrics.accuracy(y_pred, y_true),
    "macro_precision": metrics.precision(y_true, y_pred, average="macro"),
    "macro_recall": metrics.recall(y_true, y_pred, average="macro"),
    "macro_f1": metrics.f1_score(y_true, y_pred, average="macro"),
    "micro_precision": metrics.precision(y_true, y_pred, average="micro"),
    "micro_recall": metrics.recall(y_true, y_pred, average="micro"),
    "micro_f1": metrics.f1_score(y_true, y_pred, average="micro"),
}
print("，".join(f"{k} = {v:.4f}" for k, v in summary.items()))
cm = metrics.confusion_matrix(y_true, y_pred, num_classes=3)
print(f"混淆矩阵（行 = 真实，列 = 预测）：{cm.tolist()}；列和 = TP + FP = {cm.sum(axis=0).tolist()}，"
      f"行和 = TP + FN = {cm.sum(axis=1).tolist()}")
diff = max(float(np.max(np.abs(np.array(by_hand[k]) - per_class[k]))) for k in by_hand)
# 准确率的陷阱：19 个负例、1 个正例，永远预测 0
rare_true, rare_pred = [0] * 19 + [1], [0] * 20
trap = {"accuracy": metrics.accuracy(rare_pred, rare_true), "recall": metrics.recall(rare_true, rare_pred),
        "f1": metrics.f1_score(rare_true, rare_pred)}
print(f"陷阱：永远预测“负”——准确率 {trap['accuracy']:.2f}，召回率 {trap['recall']:.2f}，F1 {trap['f1']:.2f}")
RESULTS.update({"hand_example": summary, "hand_example_diff": diff, "hand_confusion": cm.tolist(),
                "imbalance_trap": trap, "hand_per_class": {k: list(map(float, v)) for k, v in per_class.items()}})

# %% [markdown]
# ## 第 10 步：在测试集上评估，并看混淆矩阵
#
# 训练与选择都结束了，现在才第一次用测试集：比较基线、早停和最后的组合模型。再把测试图整体右移一个像素，
# 比较基线与平移增强的模型（第 6 步的问题）。
#
# 读数时记住：每个数字只来自**一个**随机种子。在只有 200 张训练图的问题上，换个种子，各模型的测试准确率会上下浮动
# 一两个百分点（练习 4），所以 L2 与 L1、dropout 与平移增强之间的先后不必当真；要看的是基线比其余模型差多少
# （表后打印，由各模型的测试准确率算出）——比这几个百分点的噪声大得多的差距才是稳定的结论。


# %%
def test_metrics(model, data, X=None):
    model.eval()
    with tg.no_grad():
        logits = model(data["X_test"] if X is None else X)
    y_pred = logits.argmax(dim=1)
    y = data["y_test"]
    return {"accuracy": metrics.accuracy(logits, y),
            "macro_precision": metrics.precision(y, y_pred, average="macro"),
            "macro_recall": metrics.recall(y, y_pred, average="macro"),
            "macro_f1": metrics.f1_score(y, y_pred, average="macro"),
            "micro_f1": metrics.f1_score(y, y_pred, average="micro"),
            "confusion": metrics.confusion_matrix(y, y_pred, num_classes=10)}


rows = {"baseline": "基线", "early_stop": "早停", "combined": "dropout+L2+余弦"}
test_results = {}
print(pad("模型", 18) + "".join(pad(h, 11) for h in ("准确率", "宏精确率", "宏召回率", "宏 F1", "微 F1")))
for key, name in rows.items():
    m = test_metrics(runs[key][0], data)
    test_results[key] = m
    print(pad(name, 18) + "".join(pad(f"{m[k]:.4f}", 11) for k in
                                  ("accuracy", "macro_precision", "macro_recall", "macro_f1", "micro_f1")))
recall = metrics.recall(data["y_test"], runs["baseline"][0](data["X_test"]).argmax(dim=1), average=None)
worst = int(np.argmin(recall))
cm = test_results["baseline"]["confusion"]
confused = int(np.argmax(np.where(np.eye(10, dtype=bool), -1, cm)[worst]))
gaps = {k: runs[k][2]["test_acc"] - runs["baseline"][2]["test_acc"] for k in runs if k not in ("baseline", "clean")}
print(f"其余 {len(gaps)} 个模型的测试准确率比基线高 {100 * min(gaps.values()):.1f} 到 {100 * max(gaps.values()):.1f} "
      f"个百分点（最少的是 {min(gaps, key=gaps.get)}，最多的是 {max(gaps, key=gaps.get)}）")
print(f"基线召回率最低的类是 {worst}（{recall[worst]:.3f}），它最常被错认成 {confused}"
      f"（{cm[worst, confused]} 次）")
RESULTS.update({"baseline_gaps": gaps,
                "test": {k: {kk: vv for kk, vv in v.items() if kk != "confusion"} for k, v in test_results.items()},
                "confusion_baseline": cm.tolist(), "worst_class": worst,
                "worst_class_recall": float(recall[worst]), "worst_confused_with": confused,
                "worst_confused_count": int(cm[worst, confused])})

# %% [markdown]
# 第 6 步的问题：把测试图整体右移一个像素，基线与平移增强的模型各还剩多少准确率？

# %%
X_shift = shift_images(data["X_test"].reshape(-1, 8, 8), 0, 1).reshape(-1, 64)
shifted = {k: test_metrics(runs[k][0], data, X_shift)["accuracy"] for k in ("baseline", "augment")}
plain = {k: test_metrics(runs[k][0], data)["accuracy"] for k in ("baseline", "augment")}
for k, name in (("baseline", "基线"), ("augment", "平移增强")):
    print(f"{pad(name, 10)}原测试集准确率 {plain[k]:.4f}，整体右移一像素后 {shifted[k]:.4f}")
RESULTS.update({"shifted_test_acc": shifted, "plain_test_acc": plain})

# %% [markdown]
# 最后画出基线与组合模型在测试集上的混淆矩阵（行 = 真实，列 = 预测）。


# %%
def plot_confusion(confusion):
    fig, axes = subplots(1, 2, figsize=(12, 5.4))
    for ax, (key, title) in zip(axes, (("baseline", ("基线", "baseline")),
                                       ("combined", ("dropout+L2+余弦", "dropout+L2+cosine")))):
        cm = confusion[key]
        acc = np.trace(cm) / cm.sum()
        im = ax.imshow(cm, cmap="Blues")
        for i in range(10):
            for j in range(10):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                            color="white" if cm[i, j] > cm.max() / 2 else "black")
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.set_xlabel(label("预测类别", "predicted class"))
        ax.set_ylabel(label("真实类别", "true class"))
        ax.set_title(label(f"{title[0]}（测试准确率 {acc:.3f}）", f"{title[1]} (test accuracy {acc:.3f})"))
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(label("测试集上的混淆矩阵：行 = 真实，列 = 预测",
                       "confusion matrices on the test set: rows = true, columns = predicted"))
    fig.tight_layout()
    return fig


confusion = {k: v["confusion"] for k, v in test_results.items()}
RESULTS["figure_confusion"] = str(show(plot_confusion(confusion), "09_confusion_matrix.png", dpi=110))

# %% [markdown]
# ## 小结
#
# - 过拟合的信号：训练损失一路下降，验证损失先降后升；训练与验证的差距越拉越大；
# - 正则化手段：L2（SGD 的 `weight_decay`，每步把权重按比例缩小）、L1（`l1_penalty` 把权重推到 0 附近；要正好为 0，得用近端步即软阈值）、
#   暂退法（训练时随机置 0，评估时关闭——记得 `model.eval()`）、早停（按验证损失决定训练多久，恢复最好的权重）、
#   数据增强（对训练样本做不改变标签的变化；它是关于“什么不重要”的假设，要与真实数据相符）；
# - 验证集用来选择，测试集只在最后用一次；
# - 准确率 / 精确率 / 召回率 / F1 的公式，宏平均与微平均（单标签多分类里微平均 = 准确率），混淆矩阵的行和与列和；
#   类别不平衡时只看准确率会骗人；
# - 学习率调度器 `CosineAnnealingLR` 在每轮末 `scheduler.step()`。
#
# ## 练习
#
# 1. ★ 把 `LABEL_NOISE` 改成 0，只比较基线与 dropout 两个模型。验证损失还会先降后升吗？dropout 带来的提升还有多大？
# 2. ★ 用第 10 步基线的混淆矩阵，按“列和 = TP + FP、行和 = TP + FN”手算每类的精确率和召回率，
#    与 `metrics.precision(..., average=None)`、`metrics.recall(..., average=None)` 对照。
# 3. ★★ 扫描权重衰减 $\lambda \in \{0, 10^{-3}, 3\times10^{-3}, 10^{-2}, 3\times10^{-2}, 10^{-1}\}$，画出验证准确率与测试准确率随
#    $\lambda$ 的变化。按验证集挑出的 $\lambda$ 与按测试集挑出的一样吗？再把平移增强叠加到第 8 步的组合上，看看欠拟合。
# 4. ★★ 换两个随机种子（`fit(..., seed=1)`）重跑第 3—8 步。哪些结论稳定，哪些只是噪声？
# 5. ★★★ 用张量运算实现小角度旋转（双线性插值）的增强，与平移增强比较；再想一想：为什么卷积网络（第 11 课）
#    对平移天生就更稳健？
#
# 全部练习的答案见 `lessons/answers/09_overfitting_regularization_answers.py`。
#

# %% [markdown]
# ## 参考结果
#
# 下面的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）。完整模式 200 轮、学习率 0.01；快速模式 60 轮、
# 学习率 0.05、早停的耐心为 5 轮。“另一种模式”的测试准确率来自 `REFERENCE`：两种模式各一次真实运行（2 核 CPU）记下的数，
# 测试会核对快速模式那一份与真实运行一致。
#
# 图片：`09_augmentation.png`、`09_train_val_curves.png`、`09_confusion_matrix.png`。
# 运行时间（2 核 CPU）：完整模式约 20 秒，快速模式约 6 秒。
# 训练用 float32，矩阵乘法的舍入在不同的机器（BLAS 库）上可能不同，200 轮之后末位数字可能略有出入。

# %%
REFERENCE = {
    "full": {"epochs": 200, "test_acc": {"clean": 0.9329, "baseline": 0.7379, "l2": 0.8080, "l1": 0.8080,
                                         "dropout": 0.8265, "augment": 0.8304, "early_stop": 0.8481,
                                         "combined": 0.8682}},
    "quick": {"epochs": 60, "test_acc": {"clean": 0.9329, "baseline": 0.7194, "l2": 0.7749, "l1": 0.7695,
                                         "dropout": 0.8373, "augment": 0.8458, "early_stop": 0.8666,
                                         "combined": 0.8658}},
}

R = RESULTS
other = REFERENCE["full" if QUICK else "quick"]
other_name = "完整模式" if QUICK else "快速模式"
he, pc = R["hand_example"], R["hand_per_class"]
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'，{R['epochs']} 轮，学习率 {R['lr']}）。
与训练无关、两种模式相同：训练集改错 {R['n_flipped']} 个标签；测试集每类 {R['test_counts']} 张；
手算例子每类精确率 {[round(v, 4) for v in pc['precision']]}、召回率 {[round(v, 4) for v in pc['recall']]}、\
F1 {[round(v, 4) for v in pc['f1']]}，与手算的最大差 {R['hand_example_diff']:.1e}；
宏平均精确率 {he['macro_precision']:.4f}、召回率 {he['macro_recall']:.4f}、F1 {he['macro_f1']:.4f}，\
微平均三者都是 {he['micro_f1']:.4f}（准确率 {he['accuracy']:.4f}）；混淆矩阵 {R['hand_confusion']}；
准确率陷阱：准确率 {R['imbalance_trap']['accuracy']:.2f}、召回率 {R['imbalance_trap']['recall']:g}、\
F1 {R['imbalance_trap']['f1']:g}。
""")
names = {"clean": "干净标签（参照）", "baseline": "基线（20% 错标签）", "l2": "L2（weight_decay = 1e-2）",
         "l1": "L1（l1_penalty 1e-3）", "dropout": "dropout（p = 0.5）", "augment": "平移增强",
         "early_stop": "早停", "combined": "dropout + L2 + 余弦退火"}
es = R["runs"]["early_stop"]
names["early_stop"] = f"早停（第 {es['stopped_epoch']} 轮停，恢复第 {es['restored_epoch']} 轮）"
print(f"本次运行（{R['epochs']} 轮）；最后一列是{other_name}（{other['epochs']} 轮）的参考测试准确率：")
print(pad("模型", 36) + "".join(pad(h, 12) for h in ("训练损失", "训练准确率", "验证损失", "（最低，轮）", "验证准确率",
                                                    "测试准确率", other_name)))
for key, title in names.items():
    m = R["runs"][key]
    print(pad(title, 36) + "".join(pad(s, 12) for s in (
        f"{m['train_loss']:.3f}", f"{m['train_acc']:.3f}", f"{m['val_loss']:.3f}",
        f"{m['best_val_loss']:.3f}，{m['best_epoch']}", f"{m['val_acc']:.3f}", f"{m['test_acc']:.4f}",
        f"{other['test_acc'][key]:.4f}")))
b, c, z = R["runs"]["baseline"], R["runs"]["combined"], R["l1_exact_zeros"]
t = R["test"]
better = [k for k in names if k not in ("clean", "baseline") and R["runs"][k]["test_acc"] > b["test_acc"]]
print(f"""
- 基线的验证准确率在第 {b['peak_epoch']} 轮最高（{b['peak_val_acc']:.3f}），最后 {b['val_acc']:.3f}；\
训练损失从 {b['train_loss_at_peak']:.3f} 变为 {b['train_loss']:.3f}；
  {len(better)} / {len(names) - 2} 个正则化的模型测试准确率高于基线；
- L1 训练后 {R['l1_small_fraction']:.1%} 的权重绝对值小于 1e-3；{z['n_weights']} 个权重里正好为 0 的：\
l1_penalty {z['exact_zeros_l1']} 个，近端步 {z['exact_zeros_prox']} 个（{z['exact_zeros_prox'] / z['n_weights']:.1%}）；
  早停停止前与基线的验证损失最大差 {es['same_as_baseline']:.1e}；
- 余弦退火的学习率：第 1 轮 {c['lr_schedule'][0]:.4f}，第 {R['epochs'] // 2 + 1} 轮 {c['lr_schedule'][1]:.4f}，\
最后一轮 {c['lr_schedule'][2]:.2e}；
- 测试集（准确率 / 宏精确率 / 宏召回率 / 宏 F1 / 微 F1）：""" + "；".join(
    f"{n} " + " / ".join(f"{t[k][m]:.4f}" for m in ("accuracy", "macro_precision", "macro_recall", "macro_f1",
                                                     "micro_f1"))
    for k, n in (("baseline", "基线"), ("early_stop", "早停"), ("combined", "组合"))) + f"""；
  基线召回率最低的类是 {R['worst_class']}（{R['worst_class_recall']:.3f}），最常被错认成 {R['worst_confused_with']}\
（{R['worst_confused_count']} 次）；
- 测试图整体右移一像素：基线 {R['plain_test_acc']['baseline']:.4f} → {R['shifted_test_acc']['baseline']:.4f}，\
平移增强 {R['plain_test_acc']['augment']:.4f} → {R['shifted_test_acc']['augment']:.4f}。
- 图片：{R['figure_augmentation']}、{R['figure_curves']}、{R['figure_confusion']}""")
