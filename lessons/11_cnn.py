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
# # 第 11 课：卷积神经网络
#
# 第 07 课的多层感知机把 8×8 的手写数字展平成 64 个数：它不知道哪两个像素是邻居，
# 把图像平移一个像素，对它来说就是一个全新的输入。卷积神经网络 (convolutional neural network, CNN) 用
# 一个小小的卷积核 (kernel) 在图像上滑动，每个位置用**同一组权重**看一小块邻域：
# 参数少、懂得“局部”，而且图案挪了位置，响应也跟着挪。这一课先纠正原文（«AI大模型创业：如何利用国际优势？»）的卷积公式，再手算卷积、
# 弄懂 im2col（卷积怎样变成一次矩阵乘法）、填充、步幅与汇聚，最后在 8×8 手写数字上训练一个 LeNet 风格的 CNN。
#
# **学习目标**
#
# 1. 会写二维互相关 (cross-correlation) 的正确公式，指出原文 §4.2.2 的“CNN 公式”缺了什么（滑动窗口、权重共享），
#    并用数字验证卷积的平移等变性 (translation equivariance)；
# 2. 能手算一个小图像的卷积，与 `F.conv2d` 逐个对照；知道深度学习里的“卷积”其实是互相关（卷积核不翻转）；
# 3. 会用输出尺寸公式 $\lfloor (H + 2p - k)/s \rfloor + 1$ 预测形状；
# 4. 能用 im2col 把卷积写成一次矩阵乘法，说出它用内存换速度的代价；
# 5. 会手算最大汇聚与平均汇聚，知道最大汇聚的梯度只流向最大值；
# 6. 会用 `nn.Conv2d`、`nn.MaxPool2d`、`nn.Flatten` 搭 CNN，在 8×8 手写数字上达到 95% 以上的测试集准确率，
#    并画出学到的卷积核与特征图 (feature map)。
#
# **前置知识**：第 07 课（多层感知机、8×8 手写数字、训练循环）、第 08 课（下）（Adam）。
#
# **运行方式**（在仓库根目录）：
#
# ```bash
# python lessons/11_cnn.py            # 完整模式（训练 30 轮，约 15 秒，带进度条）
# python lessons/11_cnn.py --quick    # 快速模式：训练 2 轮，几秒内跑完每一步
# python lessons/11_cnn.py --device cuda
# jupytext --to notebook lessons/11_cnn.py   # 转成笔记本，在 Jupyter 里从上往下逐个单元运行
# ```
#
# 课程的写法见第 00 课：第一个代码单元是参数单元，每一步的结果打印在那一步的代码下面，数字汇总在 `RESULTS` 里。
# 需要 scikit-learn（它自带 8×8 手写数字）：`pip install -e ".[lessons]"`。
# 图片保存在 `lessons/output/`（可用环境变量 `TINYGRAD_ZH_OUTPUT` 改到别处）。

# %% tags=["parameters"]
QUICK = False    # 快速模式：只训练 2 轮（测试与 CI 用）
DEVICE = "cpu"   # "cpu" 或 "cuda"

# %%
import math

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, TensorDataset, load_digits
from tinygrad_zh.lesson import lesson_args, progress, show
from tinygrad_zh.metrics import accuracy
from tinygrad_zh.models import LeNet
from tinygrad_zh.viz import label, subplots

QUICK, DEVICE = lesson_args(QUICK, DEVICE)   # 命令行 / 环境变量可以覆盖参数单元里的值
RESULTS = {}                                 # 本课的结果（测试和「参考结果」都从这里取数）


def grid_str(a, nd=0, indent="    "):
    """把二维数组排成整齐的几行，打印用。"""
    a = np.asarray(a)
    width = max(len(f"{v:.{nd}f}") for v in a.ravel())
    return "\n".join(indent + " ".join(f"{v:{width}.{nd}f}" for v in row) for row in a)


# %% [markdown]
# 先载入第 07 课用过的 8×8 手写数字，并按同样的方式划分出 360 张测试图（第 1、4 步从里面取几张图，第 6 步用它训练）。


# %%
def digits_data(device):
    X_np, y_np = load_digits(flatten=False)
    perm = np.random.default_rng(0).permutation(len(X_np))
    test, train = perm[:360], perm[360:]
    return {"X_np": X_np, "train": train, "test": test,
            "X_train": tg.tensor(X_np[train], device=device), "y_train": tg.tensor(y_np[train], device=device),
            "X_test": tg.tensor(X_np[test], device=device), "y_test": tg.tensor(y_np[test], device=device)}


data = digits_data(DEVICE)
images = data["X_np"][:, 0]        # (1797, 8, 8) 的 NumPy 数组
print(f"手写数字：{data['X_np'].shape}，训练 {len(data['train'])} 张、测试 {len(data['test'])} 张")

# %% [markdown]
# ## 第 1 步：原文的“CNN 公式”缺了什么
#
# 原文 §4.2.2 把卷积层写成
#
# $$h_{ij}^{(l)} = \sum_{k} W_{ikj}^{(l)} \cdot h_{kj}^{(l-1)} + b_j^{(l)} .$$
#
# 仔细看下标：第 $j$ 个位置的输出只用到上一层**同一个位置** $j$ 的各个通道 $h_{kj}$，权重 $W_{ikj}$ 还随位置 $j$ 变化。
# 这里没有滑动窗口——它看不到邻居像素，连最简单的“左暗右亮”这种边缘都检测不出来；每个位置一套权重，
# 参数也随图像变大而变多。这其实是一个“每个位置各自的 1×1 全连接”，不是卷积。
#
# 正确的二维卷积层（深度学习里的“卷积”是互相关运算，cross-correlation）是：
#
# $$Y[n,o,i,j] = b[o] + \sum_{c}\sum_{u}\sum_{v} W[o,c,u,v] \cdot X[n,\, c,\, i\cdot s+u,\, j\cdot s+v].$$
#
# - $n$：批量里的第几张图；$c$：输入通道 (channel)；$o$：输出通道，每个输出通道有自己的一个卷积核 $W[o]$，形状 $(C, k, k)$；
# - $(u, v)$ 遍历 $k \times k$ 的窗口，$s$ 是步幅 (stride)：输出位置 $(i, j)$ 看的是从 $(i s, j s)$ 开始的那一块——**滑动窗口**；
# - $W$ 不依赖 $(i, j)$：所有位置用同一个卷积核——**权重共享**。
#
# 权重共享带来**平移等变性**：把输入平移一格，输出也恰好平移一格（边界附近除外）。
# 下面在一张 8×8 的数字图上验证：卷积满足它，照原文写的层（每个位置一套随机权重）不满足。

# %%
def seed_layer(x, W, b):
    """照原文 §4.2.2 字面实现：h[i, j] = Σ_k W[i, k, j] · x[k, j] + b[j]，j 是（展平后的）位置。

    x: (C, P)，P 个位置；W: (O, C, P)；b: (P,)。没有滑动窗口，每个位置一套权重。
    """
    return (W * x.unsqueeze(0)).sum(dim=1) + b


tg.manual_seed(0)
x = tg.tensor(images[0], device=DEVICE).reshape(1, 1, 8, 8)
shifted = tg.cat([tg.zeros(1, 1, 8, 1, device=DEVICE), x[..., :-1]], dim=3)      # 整体右移一格
w = tg.randn(4, 1, 3, 3, device=DEVICE)
y, y_shift = F.conv2d(x, w, padding=1), F.conv2d(shifted, w, padding=1)
# 比较“先平移再卷积”与“先卷积再平移”，只看不受边界影响的列 2..6
conv_gap = (y_shift[..., 2:7] - y[..., 1:6]).abs().max().item()

W_seed = tg.randn(4, 1, 64, device=DEVICE)
b_seed = tg.randn(64, device=DEVICE)
h = seed_layer(x.reshape(1, 64), W_seed, b_seed).reshape(4, 8, 8)
h_shift = seed_layer(shifted.reshape(1, 64), W_seed, b_seed).reshape(4, 8, 8)
seed_gap = (h_shift[..., 2:7] - h[..., 1:6]).abs().max().item()
conv_params, seed_params = w.numel(), W_seed.numel() + b_seed.numel()
print(f"卷积（4 个 3×3 卷积核）：平移输入后，输出与“平移后的输出”最大差 {conv_gap:.1e}（等变）")
print(f"原文公式（每个位置一套权重）：最大差 {seed_gap:.2f}（不等变）")
print(f"参数个数：卷积 {conv_params}（与图像大小无关）；原文公式 {seed_params}（随位置数增长）")
RESULTS.update({"equivariance_gap_conv": conv_gap, "equivariance_gap_seed": seed_gap,
                "conv_params": conv_params, "seed_params": seed_params})

# %% [markdown]
# ## 第 2 步：手算一次卷积
#
# 一张 5×5 的小图，左边 3 列是 0、右边 2 列是 1（一条竖直的边缘）；卷积核是 3×3 的“右减左”：
#
# $$K = \begin{pmatrix} -1 & 0 & 1 \\ -1 & 0 & 1 \\ -1 & 0 & 1 \end{pmatrix}.$$
#
# 不填充 (padding)、步幅 1 时输出是 3×3：卷积核放在每个可能的位置，对应元素相乘再相加。
# 窗口跨在边缘上时结果大，窗口里全是常数时结果为 0——这就是边缘检测。
# 下面用四重循环照公式算，再与 `F.conv2d` 对照。
#
# 数学里的卷积 (convolution) 要先把卷积核上下左右翻转再相乘；深度学习框架（PyTorch 和本框架）都不翻转，
# 算的其实是互相关。卷积核是学出来的，翻不翻转只是学到的核差一个翻转，所以大家照叫它“卷积”。

# %%
def conv2d_loops(x, w, b=None, stride=1, padding=0):
    """照公式写的卷积（NumPy，四重循环）：x (N, C, H, W)，w (O, C, k, k) → (N, O, Ho, Wo)。只用来对照。"""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    Ho, Wo = (H - kh) // stride + 1, (W - kw) // stride + 1
    y = np.zeros((N, O, Ho, Wo), dtype=np.float64)
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    patch = x[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    y[n, o, i, j] = (patch * w[o]).sum() + (0.0 if b is None else b[o])
    return y


img = np.zeros((1, 1, 5, 5), dtype=np.float32)
img[..., 3:] = 1.0
k = np.array([[-1, 0, 1]] * 3, dtype=np.float32).reshape(1, 1, 3, 3)
by_hand = conv2d_loops(img, k)
fw = F.conv2d(tg.tensor(img, device=DEVICE), tg.tensor(k, device=DEVICE)).cpu().numpy()
flipped = conv2d_loops(img, k[..., ::-1, ::-1])
hand_conv_diff = float(np.abs(by_hand - fw).max())
print("输入 5×5：\n" + grid_str(img[0, 0]))
print("卷积核 3×3：\n" + grid_str(k[0, 0]))
print("四重循环的结果 3×3：\n" + grid_str(by_hand[0, 0]))
print(f"与 F.conv2d 的最大差 {hand_conv_diff:.1e}")
print(f"数学意义上的卷积（核翻转）给出第 0 行 {by_hand[0, 0, 0].tolist()} → {flipped[0, 0, 0].tolist()}：符号相反")
RESULTS.update({"hand_conv": by_hand[0, 0].tolist(), "hand_conv_diff": hand_conv_diff,
                "hand_conv_flipped_row": flipped[0, 0, 0].tolist()})

# %% [markdown]
# ## 第 3 步：填充、步幅与输出尺寸
#
# 输入边长 $H$、卷积核边长 $k$、每边填充 $p$ 个 0、步幅 $s$ 时，输出边长是
#
# $$H_{out} = \left\lfloor \frac{H + 2p - k}{s} \right\rfloor + 1 .$$
#
# 推导：填充后边长 $H + 2p$；卷积核左上角能放的位置是 $0, s, 2s, \dots$，最后一个不超过 $H + 2p - k$。
# 常用的组合：$k = 3, p = 1, s = 1$ 不改变尺寸（“same”）；$s = 2$ 大致减半。
# （还有空洞 (dilation) $d$：卷积核元素间隔 $d$，等效边长变成 $d(k-1)+1$，这里不展开。）

# %%
x = tg.randn(1, 1, 8, 8, device=DEVICE)
size_table = []
for k, p, s in [(3, 0, 1), (3, 1, 1), (3, 1, 2), (5, 2, 1), (2, 0, 2), (3, 0, 3)]:
    formula = (8 + 2 * p - k) // s + 1
    actual = F.conv2d(x, tg.randn(1, 1, k, k, device=DEVICE), padding=p, stride=s).shape[-1]
    size_table.append((k, p, s, formula, actual))
    print(f"H=8, k={k}, p={p}, s={s}：公式 ⌊(8 + {2 * p} − {k}) / {s}⌋ + 1 = {formula}，F.conv2d 输出 {actual}")
RESULTS.update({"size_table": size_table, "size_all_match": all(r[3] == r[4] for r in size_table)})

# %% [markdown]
# ## 第 4 步：im2col——把卷积变成一次矩阵乘法
#
# 四重循环在 Python 里太慢。观察公式：每个输出位置都是“一块 $C \times k \times k$ 的输入”与“一个卷积核”的点积。
# 把所有输出位置的输入块都取出来、各自展平成一行，排成矩阵
# $\text{cols} \in \mathbb R^{(N H_o W_o) \times (C k^2)}$（image to columns，im2col）；
# 把卷积核排成 $W_{mat} \in \mathbb R^{O \times (C k^2)}$，那么
#
# $$Y_{mat} = \text{cols} \cdot W_{mat}^\top \in \mathbb R^{(N H_o W_o) \times O},$$
#
# 再把形状变回 $(N, O, H_o, W_o)$。一次大的矩阵乘法交给 BLAS（GPU 上交给 cuBLAS），比循环快几个数量级。
# 取块不用复制循环：NumPy 的 `sliding_window_view` 用步长技巧 (stride tricks) 直接得到所有窗口的视图。
# 代价是内存：步幅 1 时每个输入像素在 cols 里出现最多 $k^2$ 次（边界上的少一些）。反向传播时，对输入的梯度要把 cols 形状的梯度
# 按原位置加回去（col2im），同一个像素被多个窗口用到，梯度就累加——与第 01 课“复用的节点要累加梯度”是一回事。
# 本框架的 `F.conv2d`（`tinygrad_zh/ops/conv.py`）就是这样实现的。

# %%
def conv2d_im2col(x, w, b=None):
    """im2col 版卷积（NumPy，步幅 1、不填充）：取出所有 k×k 窗口，展平，一次矩阵乘法。返回 (输出, cols 的形状)。"""
    # BEGIN SOLUTION task11_1
    N, C, H, W = x.shape
    O, _, k, _ = w.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))   # (N, C, Ho, Wo, k, k)，视图
    Ho, Wo = win.shape[2], win.shape[3]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * k * k)    # 这里才真正复制
    y = cols @ w.reshape(O, C * k * k).T
    if b is not None:
        y = y + b
    return y.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2), cols.shape
    # END SOLUTION


rng = np.random.default_rng(0)
x = images[:4].reshape(4, 1, 8, 8).astype(np.float32)
w = rng.standard_normal((6, 1, 3, 3)).astype(np.float32)
b = rng.standard_normal(6).astype(np.float32)
y_cols, cols_shape = conv2d_im2col(x, w, b)
y_loops = conv2d_loops(x, w, b)
y_fw = F.conv2d(tg.tensor(x, device=DEVICE), tg.tensor(w, device=DEVICE), tg.tensor(b, device=DEVICE)).cpu().numpy()
d1, d2 = float(np.abs(y_cols - y_loops).max()), float(np.abs(y_cols - y_fw).max())
print(f"输入 {x.shape}，卷积核 {w.shape} → cols 矩阵 {cols_shape}，输出 {y_cols.shape}")
print(f"im2col 与四重循环的最大差 {d1:.1e}，与 F.conv2d 的最大差 {d2:.1e}")
cols_ratio = float(np.prod(cols_shape) / x.size)
print(f"cols 有 {np.prod(cols_shape)} 个数，输入只有 {x.size} 个：放大 {cols_ratio:.2f} 倍"
      f"（= k²·Ho·Wo / (H·W) = 9 × 36 / 64；图越大越接近 k² = 9）")
RESULTS.update({"im2col_vs_loops": d1, "im2col_vs_framework": d2, "cols_shape": tuple(int(v) for v in cols_shape),
                "im2col_out_shape": tuple(int(v) for v in y_cols.shape), "cols_ratio": cols_ratio})

# %% [markdown]
# ## 第 5 步：汇聚层
#
# 汇聚层（pooling，常译池化）在每个窗口里取一个代表值：最大汇聚 (max pooling) 取最大值，平均汇聚 (average pooling) 取平均值。
# 它没有参数，通常窗口 2×2、步幅 2，把特征图的高宽减半：后面的层计算量变小、每个输出“看到”的输入范围（感受野，
# receptive field）变大，而且对一两个像素的小平移不那么敏感。
#
# 最大汇聚的反向传播：输出只依赖窗口里最大的那个输入，所以梯度**只流向最大值的位置**，窗口里其他位置的梯度为 0。
# 平均汇聚则把梯度平均分给窗口里的每个位置（各 $1/4$）。

# %%
x_np = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [2, 6, 1, 1]], dtype=np.float32)
x = tg.tensor(x_np.reshape(1, 1, 4, 4), device=DEVICE, requires_grad=True)
blocks = x_np.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)    # 2×2 个窗口，每个 4 个数
max_hand, avg_hand = blocks.max(axis=-1), blocks.mean(axis=-1)
y_max = F.max_pool2d(x, 2)
y_avg = F.avg_pool2d(x, 2)
same_max = bool(np.array_equal(max_hand, y_max.detach().cpu().numpy()[0, 0]))
same_avg = bool(np.allclose(avg_hand, y_avg.detach().cpu().numpy()[0, 0]))
print("输入 4×4：\n" + grid_str(x_np))
print("最大汇聚 2×2（手算）：\n" + grid_str(max_hand) + f"\nF.max_pool2d 相同：{same_max}")
print("平均汇聚 2×2（手算）：\n" + grid_str(avg_hand, 2) + f"\nF.avg_pool2d 相同：{same_avg}")
y_max.sum().backward()
grad = x.grad.cpu().numpy()[0, 0]
print("max_pool2d(x).sum() 对 x 的梯度（只有每个窗口的最大值处是 1）：\n" + grid_str(grad))
RESULTS.update({"max_pool": max_hand.tolist(), "avg_pool": avg_hand.tolist(), "max_pool_grad": grad.tolist(),
                "pool_match": same_max and same_avg})

# %% [markdown]
# ## 第 6 步：LeNet 风格的 CNN
#
# LeNet-5（LeCun 等，1998）是最早成功的卷积网络之一：卷积、汇聚、卷积、汇聚，最后几层全连接。
# 它用在 32×32 的图上；我们的图只有 8×8，所以换成 3×3 卷积核、`padding=1`，只汇聚一次
# （`tinygrad_zh.models.LeNet`，代码不长，值得读一遍）：
#
# ```
# (N, 1, 8, 8) ─Conv2d(1, 16, 3, padding=1)→ ReLU → (N, 16, 8, 8) ─MaxPool2d(2)→ (N, 16, 4, 4)
#              ─Conv2d(16, 32, 3, padding=1)→ ReLU → (N, 32, 4, 4) ─Flatten→ (N, 512)
#              ─Linear(512, 64)→ ReLU ─Linear(64, 10)→ (N, 10) 的 logits
# ```
#
# 数据与第 07 课相同：`load_digits(flatten=False)` 给出形状 $(N, C, H, W) = (1797, 1, 8, 8)$ 的图，
# 同样的划分（1437 张训练、360 张测试）。Adam，学习率 $10^{-3}$，批量大小 32，完整模式 30 轮（快速模式 2 轮）。
# 作为对照，用同样的优化器训练第 07 课的多层感知机 64-128-10。
#
# 下面第一格定义训练循环并训练 LeNet，第二格训练多层感知机，第三格画出两者的训练曲线。

# %%
def train(model, data, epochs, quiet, desc, flatten=False):
    """Adam 训练；返回每轮末的训练损失与测试集准确率。quiet=True 时不显示进度条。"""
    prep = (lambda t: t.reshape(t.shape[0], -1)) if flatten else (lambda t: t)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(data["X_train"], data["y_train"]), batch_size=32, shuffle=True)
    history = {"loss": [], "test_acc": []}
    bar = progress(range(epochs), desc=desc, disable=quiet, unit="epoch")
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            loss = F.cross_entropy(model(prep(xb)), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item() * len(yb), count + len(yb)
        model.eval()
        with tg.no_grad():
            history["test_acc"].append(accuracy(model(prep(data["X_test"])), data["y_test"]))
        history["loss"].append(total / count)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", acc=f"{history['test_acc'][-1]:.3f}")
    return history


epochs = 2 if QUICK else 30
n_test = len(data["test"])
print(f"训练集 {data['X_train'].shape}，测试集 {data['X_test'].shape}")
tg.manual_seed(0)
cnn = LeNet().to(DEVICE)
n_cnn = sum(p.numel() for p in cnn.parameters())
print(cnn)
with tg.no_grad():
    initial_loss = F.cross_entropy(cnn(data["X_train"]), data["y_train"]).item()
n_conv = sum(p.numel() for m in (cnn.conv1, cnn.conv2) for p in m.parameters())
print(f"参数 {n_cnn} 个，其中两个卷积层只有 {n_conv} 个；初始损失 {initial_loss:.4f}（ln 10 = {math.log(10):.4f}）")
cnn_hist = train(cnn, data, epochs, False, "LeNet")
cnn_acc = cnn_hist["test_acc"][-1]
print(f"{epochs} 轮后  LeNet：训练损失 {cnn_hist['loss'][-1]:.4f}，测试集准确率 {cnn_acc:.4f}"
      f"（{round(cnn_acc * n_test)}/{n_test}）")
RESULTS.update({"epochs": epochs, "n_params_cnn": n_cnn, "n_params_conv": n_conv, "initial_loss": initial_loss,
                "cnn_test_acc": cnn_acc, "cnn_final_loss": cnn_hist["loss"][-1], "n_test": n_test})

# %%
tg.manual_seed(0)
mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(DEVICE)
n_mlp = sum(p.numel() for p in mlp.parameters())
mlp_hist = train(mlp, data, epochs, False, "MLP", flatten=True)
mlp_acc = mlp_hist["test_acc"][-1]
print(f"{epochs} 轮后  MLP ：训练损失 {mlp_hist['loss'][-1]:.4f}，测试集准确率 {mlp_acc:.4f}"
      f"（{round(mlp_acc * n_test)}/{n_test}），参数 {n_mlp} 个")
print(f"LeNet 比 MLP 多对了 {round(cnn_acc * n_test) - round(mlp_acc * n_test)} 张测试图")
RESULTS.update({"n_params_mlp": n_mlp, "mlp_test_acc": mlp_acc, "mlp_final_loss": mlp_hist["loss"][-1]})


# %%
def plot_training(cnn_hist, mlp_hist):
    epochs = np.arange(1, len(cnn_hist["loss"]) + 1)
    fig, (ax1, ax2) = subplots(1, 2, figsize=(10, 3.8))
    for name, hist, c in (("LeNet", cnn_hist, "C0"), ("MLP", mlp_hist, "C1")):
        ax1.semilogy(epochs, hist["loss"], "o-", ms=3, color=c, label=name)
        ax2.plot(epochs, hist["test_acc"], "o-", ms=3, color=c, label=name)
    ax1.set_xlabel(label("轮 (epoch)", "epoch"))
    ax1.set_ylabel(label("训练损失（对数坐标）", "training loss (log scale)"))
    ax1.set_title(label("训练损失", "training loss"))
    ax2.axhline(0.95, color="gray", ls=":", lw=1)
    ax2.set_ylim(0.8, 1.0)
    ax2.set_xlabel(label("轮 (epoch)", "epoch"))
    ax2.set_ylabel(label("测试集准确率", "test accuracy"))
    ax2.set_title(label("测试集准确率", "test accuracy"))
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    fig.tight_layout()
    return fig


RESULTS["figure_training"] = str(show(plot_training(cnn_hist, mlp_hist), "11_training.png"))

# %% [markdown]
# ## 第 7 步：学到的卷积核与特征图
#
# 第一层的 16 个 3×3 卷积核直接作用在像素上，可以画出来看：红色是正权重、蓝色是负权重，
# 很多核是“一边正一边负”的边缘检测器，和第 2 步手写的那个核同一个思路——只是它们是从数据里学出来的。
# 再把一张测试图送进网络，画出第一层（ReLU 之后，8×8）和第二层（4×4）的特征图：
# 每张特征图是一个卷积核在整张图上滑动的响应，亮的地方就是“这个核要找的图案在这里”。

# %%
def plot_kernels_and_maps(kernels, img, pred, m1, m2):
    """一行输入图，右边三行：16 个卷积核、第 1 层 16 张特征图、第 2 层前 16 张特征图。"""
    fig, _ = subplots(figsize=(13, 3.9))
    fig.clf()
    gs = fig.add_gridspec(3, 17, width_ratios=[3] + [1] * 16, hspace=0.5, wspace=0.15)
    ax = fig.add_subplot(gs[:, 0])
    ax.imshow(img[0], cmap="gray_r")
    ax.set_title(label(f"输入（预测 {pred}）", f"input (predicted {pred})"), fontsize=9)
    ax.axis("off")
    vmax = np.abs(kernels).max()
    rows = [(kernels, "RdBu_r", label("第 1 层的 16 个卷积核 3×3（红正蓝负）", "conv1: 16 kernels 3×3 (red +, blue -)")),
            (m1, "viridis", label("第 1 层特征图 8×8（ReLU 之后）", "conv1 feature maps 8×8 (after ReLU)")),
            (m2[:16], "viridis", label("第 2 层特征图 4×4（32 个中的前 16 个）", "conv2 feature maps 4×4 (first 16 of 32)"))]
    for r, (arr, cmap, title) in enumerate(rows):
        for j in range(16):
            a = fig.add_subplot(gs[r, j + 1])
            if cmap == "RdBu_r":
                a.imshow(arr[j], cmap=cmap, vmin=-vmax, vmax=vmax)
            else:
                a.imshow(arr[j], cmap=cmap)
            a.set_xticks([])
            a.set_yticks([])
            if j == 0:
                a.set_title(title, fontsize=9, loc="left")
    fig.suptitle(label("LeNet：学到的卷积核与一张测试图的特征图", "LeNet: learned kernels and feature maps of a test image"))
    return fig


kernels = cnn.conv1.weight.detach().cpu().numpy()[:, 0]            # (16, 3, 3)
idx = int(data["test"][0])
img = data["X_np"][idx]
with tg.no_grad():
    maps = cnn.feature_maps(tg.tensor(img[None], device=DEVICE))
    pred = int(maps["logits"].argmax(dim=1).item())
m1 = maps["conv1"].cpu().numpy()[0]
m2 = maps["conv2"].cpu().numpy()[0]
sample_label = int(data["y_test"][0].item())
print(f"第 0 张测试图（数据集里的第 {idx} 张，标签 {sample_label}），预测 {pred}；"
      f"第 1 层特征图 {m1.shape}，第 2 层 {m2.shape}")
RESULTS.update({"sample_pred": pred, "sample_label": sample_label, "m1_shape": m1.shape, "m2_shape": m2.shape})
fig = plot_kernels_and_maps(kernels, img, pred, m1, m2)
RESULTS["figure_kernels"] = str(show(fig, "11_kernels_feature_maps.png", dpi=110))

# %% [markdown]
# ## 第 8 步：卷积网络里的 BatchNorm——`nn.BatchNorm2d`
#
# 第 10 课在全连接层上手算了批量规范化 (batch normalization)：对每个特征，在这一批样本上减均值、除标准差。
# 卷积层的输出是 `(N, C, H, W)`，同一个通道在所有位置共享同一个卷积核，所以 `nn.BatchNorm2d(C)` 对**每个通道**
# 在 `(N, H, W)` 三个轴上一起求均值和方差：$\hat x = (x - \mu_c)/\sqrt{\sigma_c^2 + \varepsilon}$，再乘 $\gamma_c$、加 $\beta_c$。
# 它常放在卷积之后、激活之前：`Conv2d → BatchNorm2d → ReLU`。训练模式用当前批的统计量，并累积滑动平均；
# 评估模式（`model.eval()`）改用滑动平均，所以单张图的输出不依赖同一批里的其他图。
# 下面把第一层卷积的输出送进 `nn.BatchNorm2d`，与手算对照。


# %%
conv = cnn.conv1                          # 训练好的 CNN 的第一层卷积
with tg.no_grad():
    feat = conv(data["X_test"][:64])      # (64, C, H, W)
bn = nn.BatchNorm2d(feat.shape[1]).to(DEVICE)
bn.train()
out = bn(feat).detach().cpu().numpy()
x = feat.detach().cpu().numpy().astype(np.float64)
mu, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
hand = (x - mu) / np.sqrt(var + bn.eps)
diff = float(np.abs(out - hand).max())
ch_mean, ch_std = out.mean(axis=(0, 2, 3)), out.std(axis=(0, 2, 3))
print(f"特征图 {tuple(feat.shape)}；每个通道在 (N, H, W) 上归一化：手算与 BatchNorm2d 的最大差 {diff:.1e}")
print(f"归一化后各通道均值的最大绝对值 {np.abs(ch_mean).max():.1e}，标准差 {ch_std.min():.4f}–{ch_std.max():.4f}")
bn.eval()
single = bn(feat[:1]).detach().cpu().numpy()
batch = bn(feat).detach().cpu().numpy()[:1]
eval_gap = float(np.abs(single - batch).max())
print(f"评估模式用滑动平均：同一张图单独送入与随一批送入的输出最大差 {eval_gap:.1e}")
RESULTS.update({"bn2d_hand_diff": diff, "bn2d_channel_mean": float(np.abs(ch_mean).max()),
                "bn2d_channel_std": [float(ch_std.min()), float(ch_std.max())], "bn2d_eval_gap": eval_gap})

# %% [markdown]
# ## 小结
#
# - 卷积层 = 滑动窗口 + 权重共享：$Y[n,o,i,j] = b[o] + \sum_{c,u,v} W[o,c,u,v]\, X[n,c,is+u,js+v]$；
#   原文 §4.2.2 的公式两样都没有。权重共享带来平移等变性，参数个数与图像大小无关；
# - 深度学习的“卷积”是互相关（卷积核不翻转）；输出边长 $\lfloor (H + 2p - k)/s \rfloor + 1$；
# - im2col 把所有窗口排成矩阵，卷积变成一次矩阵乘法；代价是约 $k^2$ 倍的内存；反向时 col2im 把梯度加回原位；
# - 汇聚层没有参数，把特征图缩小、扩大感受野；最大汇聚的梯度只流向窗口里的最大值；
# - `nn.BatchNorm2d(C)` 对每个通道在 `(N, H, W)` 上归一化，常放在卷积与激活之间；评估模式改用滑动平均；
# - 在 8×8 手写数字上，LeNet 风格的小 CNN 测试集准确率约 0.98，与 MLP 差不多（只差一两张图）：图这么小、
#   数字又已经居中对齐，卷积的优势显不出来；图更大、图案的位置会变时差别才明显（练习 3）。
#   它的两个卷积层合起来只有 4800 个参数，大部分参数在第一个全连接层里；第一层学到的核很像边缘检测器。
#
# ## 练习
#
# 1. ★ 不运行代码，先算出输出形状：输入 $(2, 3, 28, 28)$ 经过 `Conv2d(3, 8, 5)`、`MaxPool2d(2)`、
#    `Conv2d(8, 16, 3, stride=2, padding=1)` 之后是什么形状？各层有多少个参数？再用代码验证。
# 2. ★ 把 LeNet 的最大汇聚换成平均汇聚（`nn.AvgPool2d(2)`），或者干脆去掉汇聚、改用 `stride=2` 的第一层卷积，
#    测试集准确率怎样变？（提示：可以写一个 `LeNet` 的子类，只改 `__init__` 里的一行。）
# 3. ★★ 把测试集的图整体右移一个像素（左边补 0），比较 LeNet 与 MLP 的准确率各下降多少。结合第 1 步解释。
# 4. ★★★ 自己写 `Conv2d` 的 `Function`：前向用 im2col，反向 $\partial L/\partial W = G_{mat}^\top \cdot \text{cols}$，
#    $\partial L/\partial X$ 用 col2im（按卷积核的 $k^2$ 个偏移把梯度切片相加）。用 `tinygrad_zh.testing.gradcheck` 检验。
#
# 全部练习的答案：`lessons/answers/11_cnn_answers.py`。
#
# ## 参考结果
#
# 下面一格的文字由本次运行的 `RESULTS` 生成（测试检查的也是这些数）；第 6 步的两组参考值是作者在 2 核 CPU 上
# 记下的（`REFERENCE`，测试拿快速模式那一份与真实的快速运行对照）。`--device cuda` 的结果在浮点舍入范围内相同。
# 第 1—5 步与第 7 步两种模式给出相同的数，第 6 步以 `QUICK` 对应的那一份为准。
#
# 运行时间（2 核 CPU）：完整模式约 15 秒，快速模式约 5 秒（多半花在导入 scikit-learn 和画图上）。

# %%
REFERENCE = {   # 第 6 步：作者的运行（CPU）
    "full": {"epochs": 30, "cnn_final_loss": 0.0120, "cnn_test_acc": 0.9778, "mlp_final_loss": 0.0566,
             "mlp_test_acc": 0.9750},
    "quick": {"epochs": 2, "cnn_final_loss": 0.8446, "cnn_test_acc": 0.8972, "mlp_final_loss": 1.4601,
              "mlp_test_acc": 0.8417},
}


def describe_run(r, n_test=360):
    """第 6 步的一组数写成一句话（本次运行与参考值共用）。"""
    return (f"{r['epochs']} 轮：LeNet 训练损失 {r['cnn_final_loss']:.4f}，测试集准确率 {r['cnn_test_acc']:.4f}"
            f"（{round(r['cnn_test_acc'] * n_test)}/{n_test}）；MLP 训练损失 {r['mlp_final_loss']:.4f}，"
            f"测试集准确率 {r['mlp_test_acc']:.4f}（{round(r['mlp_test_acc'] * n_test)}/{n_test}）")


R = RESULTS
ref = REFERENCE["quick" if QUICK else "full"]
same = round(R["cnn_test_acc"] * R["n_test"]) == round(ref["cnn_test_acc"] * R["n_test"])
winner = "LeNet" if R["cnn_test_acc"] > R["mlp_test_acc"] else ("MLP" if R["mlp_test_acc"] > R["cnn_test_acc"] else "两者持平")
grad_ones = int(sum(map(sum, R["max_pool_grad"])))
print(f"""参考结果（QUICK = {QUICK}，DEVICE = '{DEVICE}'）：
- 第 1 步：卷积的“先平移再卷积”与“先卷积再平移”最大差 {R['equivariance_gap_conv']:.1e}；\
照原文公式（每个位置一套随机权重）最大差 {R['equivariance_gap_seed']:.2f}；
  参数个数：4 个 3×3 卷积核 {R['conv_params']} 个，原文公式 {R['seed_params']} 个；
- 第 2 步：四重循环的结果{'每行都是 ' + str(R['hand_conv'][0]) if all(r == R['hand_conv'][0] for r in R['hand_conv']) else '是 ' + str(R['hand_conv'])}，与 `F.conv2d` 的最大差 {R['hand_conv_diff']:.1e}；\
把核翻转（数学意义的卷积）第 0 行得到 {R['hand_conv_flipped_row']}；
- 第 3 步：{len(R['size_table'])} 种 (k, p, s) 组合的输出边长依次是 {'、'.join(str(r[4]) for r in R['size_table'])}，\
公式与 `F.conv2d` {'全部一致' if R['size_all_match'] else '有不一致'}；
- 第 4 步：cols 矩阵 {R['cols_shape']}，输出 {R['im2col_out_shape']}；im2col 与四重循环的最大差 {R['im2col_vs_loops']:.1e}、\
与 `F.conv2d` 的最大差 {R['im2col_vs_framework']:.1e}；cols 比输入大 {R['cols_ratio']:.2f} 倍；
- 第 5 步：最大汇聚 {R['max_pool']}，平均汇聚 {R['avg_pool']}，与框架{'相同' if R['pool_match'] else '不同'}；\
最大汇聚的梯度只在 {grad_ones} 个最大值处为 1；
- 第 6 步：LeNet 参数 {R['n_params_cnn']} 个（两个卷积层 {R['n_params_conv']} 个），MLP {R['n_params_mlp']} 个；\
初始损失 {R['initial_loss']:.4f}（ln 10 = {math.log(10):.4f}）；
  本次运行 {describe_run(R, R['n_test'])}；准确率较高的是 {winner}；
  参考值：完整模式 {describe_run(REFERENCE['full'])}；
          快速模式 {describe_run(REFERENCE['quick'])}；
  本次 LeNet 的测试集成绩与{'快速' if QUICK else '完整'}模式参考值{'相同' if same else '不同（换了机器或库版本时可能差一两张图）'}；
- 第 7 步：第 0 张测试图（标签 {R['sample_label']}）预测为 {R['sample_pred']}；\
第 1 层特征图 {R['m1_shape']}，第 2 层 {R['m2_shape']}；
- 第 8 步：BatchNorm2d 与手算的最大差 {R['bn2d_hand_diff']:.1e}，归一化后各通道均值的最大绝对值 {R['bn2d_channel_mean']:.1e}，\
评估模式下单张与整批的最大差 {R['bn2d_eval_gap']:.1e}；
- 图片：{R['figure_training']}（训练损失与测试集准确率，LeNet 对 MLP）、{R['figure_kernels']}
  （16 个学到的卷积核、第 1 层 16 张与第 2 层前 16 张特征图）。""")
