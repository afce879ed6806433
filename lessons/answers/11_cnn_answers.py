# %% [markdown]
# # 第 11 课 练习答案：卷积神经网络
#
# 运行方式：`python lessons/answers/11_cnn_answers.py [--quick] [--device cuda]`（在仓库根目录）。

# %%
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh.autograd import Function
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.metrics import accuracy
from tinygrad_zh.models import LeNet
from tinygrad_zh.testing import assert_close, gradcheck


def load_lesson():
    """取第 11 课里定义的数据与训练循环（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "11_cnn.py")


# %% [markdown]
# ## 练习 1 ★：先算形状，再验证
#
# 用 $H_{out} = \lfloor (H + 2p - k)/s \rfloor + 1$，参数个数 = $O \cdot C \cdot k^2 + O$（权重 + 偏置）：
#
# | 层 | 输出形状 | 参数 |
# |---|---|---|
# | `Conv2d(3, 8, 5)` | $(2, 8, 24, 24)$：$28 - 5 + 1 = 24$ | $8 \cdot 3 \cdot 25 + 8 = 608$ |
# | `MaxPool2d(2)` | $(2, 8, 12, 12)$ | 0 |
# | `Conv2d(8, 16, 3, stride=2, padding=1)` | $(2, 16, 6, 6)$：$\lfloor (12 + 2 - 3)/2 \rfloor + 1 = 6$ | $16 \cdot 8 \cdot 9 + 16 = 1168$ |


# %%
def exercise1(device):
    layers = [nn.Conv2d(3, 8, 5), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, stride=2, padding=1)]
    expected = [((2, 8, 24, 24), 608), ((2, 8, 12, 12), 0), ((2, 16, 6, 6), 1168)]
    x = tg.randn(2, 3, 28, 28, device=device)
    print("练习 1：输出形状与参数个数")
    shapes, params = [], []
    for layer, (shape, n) in zip(layers, expected):
        x = layer.to(device)(x)
        count = sum(p.numel() for p in layer.parameters())
        shapes.append(x.shape)
        params.append(count)
        print(f"  {layer}：输出 {x.shape}（预测 {shape}），参数 {count}（预测 {n}）")
        assert x.shape == shape and count == n
    return {"shapes": shapes, "params": params}


# %% [markdown]
# ## 练习 2 ★：换掉最大汇聚
#
# 三个变体只改 `__init__` 里的一两行（`forward` 不变）：
#
# - 平均汇聚：`self.pool = nn.AvgPool2d(2)`；
# - 不要汇聚、第一层卷积步幅 2：`self.conv1 = nn.Conv2d(1, 16, 3, stride=2, padding=1)`，`self.pool = nn.Identity()`，
#   第一层输出直接就是 4×4。
#
# 在这个小数据集上三者相差不大（完整模式 30 轮：最大汇聚 0.978、平均汇聚 0.967、步幅 2 的卷积 0.983，
# 360 张测试图里只差几张，换个随机种子排名就可能变）。最大汇聚对“笔画在窗口里的哪个位置”不敏感，步幅 2 的卷积则是让网络自己学怎么缩小——
# 现代网络（如 ResNet 的下采样）常用后者。


# %%
class LeNetAvg(LeNet):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(2)


class LeNetStride(LeNet):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, stride=2, padding=1)
        self.pool = nn.Identity()


def exercise2(device, quick):
    lesson = load_lesson()
    data = lesson.digits_data(device)
    epochs = 2 if quick else 30
    print(f"练习 2：换掉最大汇聚（Adam，{epochs} 轮）")
    out = {}
    for name, cls in (("MaxPool2d", LeNet), ("AvgPool2d", LeNetAvg), ("stride=2", LeNetStride)):
        tg.manual_seed(0)
        model = cls().to(device)
        hist = lesson.train(model, data, epochs, True, name)
        out[name] = hist["test_acc"][-1]
        print(f"  {name:<9}：测试集准确率 {out[name]:.4f}")
        assert out[name] > 0.5                 # 2 轮也远好于瞎猜（0.1）
    return {"variant_acc": out}


# %% [markdown]
# ## 练习 3 ★★：把测试图右移一个像素
#
# > 把测试集的图整体右移一个像素（左边补 0），比较 LeNet 与 MLP 的准确率各下降多少。结合第 1 步解释。
#
# 第 1 步说卷积是平移**等变**的：输入右移一格，每张特征图也右移一格（边界除外）——下面逐个对照第一层的特征图，差为 0。
# 但整个 LeNet 并不是平移**不变**的：特征图最后被 `Flatten` 成 512 个数送进 `Linear(512, 64)`，平移后的特征落在
# 全连接层的另一批权重上，全连接层从没见过“右移了的特征图”。唯一能吸收平移的是 2×2 最大汇聚：一个像素的挪动
# 只有一部分还留在同一个窗口里。MLP 更糟：64 个像素每个都换到了另一个输入权重上。
# 而 8×8 的图里一个像素是整幅宽度的 1/8，数字又几乎占满画面，所以预期两者**都**大幅掉分，LeNet 至多好一点点。
# 下面的结论句由本次运行的数字写出（完整模式与快速模式都是两者各掉四成上下，谁多掉几张随训练轮数而变）。要真正对平移稳健，需要把平移放进训练数据（数据增强），或在卷积之后用全局汇聚
# 代替 `Flatten`——等变性本身只保证“特征跟着挪”，不保证“分类器认得挪过的特征”。


# %%
def shift_right(x, k):
    """(N, 1, 8, 8) 的图整体右移 k 个像素，左边补 0。"""
    if k == 0:
        return x
    n, c, h, _ = x.shape
    return tg.cat([tg.zeros(n, c, h, k, device=x.device), x[..., :-k]], dim=3)


def exercise3(device, quick):
    lesson = load_lesson()
    data = lesson.digits_data(device)
    epochs = 2 if quick else 30
    print(f"练习 3：测试图右移（Adam，{epochs} 轮）")
    tg.manual_seed(0)
    cnn = LeNet().to(device)
    lesson.train(cnn, data, epochs, True, "LeNet")
    tg.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)
    lesson.train(mlp, data, epochs, True, "MLP", flatten=True)
    X, y = data["X_test"], data["y_test"]
    with tg.no_grad():
        # 第一层卷积的等变性：右移后的特征图 = 特征图右移（只看不受边界影响的列 2..6）
        f, f_shift = cnn.conv1(X), cnn.conv1(shift_right(X, 1))
        gap = (f_shift[..., 2:7] - f[..., 1:6]).abs().max().item()
        acc = {}
        for k in (0, 1, 2):
            xs = shift_right(X, k)
            acc[k] = (accuracy(cnn(xs), y), accuracy(mlp(xs.reshape(xs.shape[0], -1)), y))
    assert gap < 1e-4
    print(f"  conv1：右移后的特征图与“特征图右移”最大差 {gap:.1e}（卷积层等变）")
    for k, (a_cnn, a_mlp) in acc.items():
        print(f"  右移 {k} 像素：LeNet {a_cnn:.4f}，MLP {a_mlp:.4f}")
    drop_cnn, drop_mlp = acc[0][0] - acc[1][0], acc[0][1] - acc[1][1]
    n_test = len(data["test"])
    fewer = round(drop_mlp * n_test) - round(drop_cnn * n_test)
    print(f"  右移 1 像素：LeNet 下降 {drop_cnn:.4f}，MLP 下降 {drop_mlp:.4f}——两者都掉了一大截（都不是平移不变的）；"
          + (f"LeNet 少掉 {fewer} 张（共 {n_test} 张）" if fewer > 0 else
             (f"LeNet 反而多掉 {-fewer} 张（共 {n_test} 张）" if fewer < 0 else "两者掉得一样多")))
    # 不论训练几轮都成立的两点：卷积层等变（上面已断言），而两个网络整体都不是平移不变的
    assert drop_cnn > 0.1 and drop_mlp > 0.1
    return {"shift_acc": acc, "shift_drop": (drop_cnn, drop_mlp), "conv1_equivariance_gap": gap}


# %% [markdown]
# ## 练习 4 ★★★：自己写 `Conv2d` 的 `Function`
#
# > 自己写 `Conv2d` 的 `Function`：前向用 im2col，反向 $\partial L/\partial W = G_{mat}^\top \cdot \text{cols}$，
# > $\partial L/\partial X$ 用 col2im（按卷积核的 $k^2$ 个偏移把梯度切片相加）。用 `tinygrad_zh.testing.gradcheck` 检验。
#
# 沿用第 4 步的布局：$\text{cols} \in \mathbb R^{(N H_o W_o) \times (C k^2)}$，$W_{mat} \in \mathbb R^{O \times (C k^2)}$，
# $Y_{mat} = \text{cols}\, W_{mat}^\top + b$。把上游梯度 $G = \partial L/\partial Y$ 也排成 $G_{mat} \in \mathbb R^{(N H_o W_o) \times O}$，
# 矩阵乘法的反向就是
#
# - $\partial L/\partial W_{mat} = G_{mat}^\top \cdot \text{cols}$（形状 $O \times C k^2$，再变回 $(O, C, k, k)$）；
# - $\partial L/\partial b = \sum_{\text{行}} G_{mat}$；
# - $\partial L/\partial\,\text{cols} = G_{mat} \cdot W_{mat}$，形状同 cols。cols 里的每个数都是某个输入像素的**副本**，
#   所以 $\partial L/\partial X$ 要把这些副本的梯度加回原来的像素（col2im）：把它变回 $(N, H_o, W_o, C, k, k)$，
#   对每个偏移 $(u, v)$，这一片梯度 $(N, C, H_o, W_o)$ 对应的输入位置是 $X_p[:, :, u + s i, v + s j]$——一个带步幅的切片，
#   同一个偏移内位置互不重复，直接 `+=`；$k^2$ 个偏移之间会重叠，正好累加。最后去掉填充的边。
#
# 支持步幅与填充。检验：float64 上对 x、W、b 都做 `gradcheck`（两种几何：步幅 1 不填充、步幅 2 填充 1），
# 再与框架的 `F.conv2d` 对照前向与三个梯度。


# %%
class MyConv2d(Function):
    """im2col 卷积：x (N, C, H, W)，w (O, C, k, k)，b (O,)；stride、padding 为整数。"""
    zh = "手写卷积"

    @staticmethod
    def forward(ctx, x, w, b, stride, padding):
        xp = ctx.xp
        xpad = xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        N, C, Hp, Wp = xpad.shape
        O, _, k, _ = w.shape
        Ho, Wo = (Hp - k) // stride + 1, (Wp - k) // stride + 1
        win = xp.lib.stride_tricks.sliding_window_view(xpad, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
        win = win[:, :, :Ho, :Wo]                                   # (N, C, Ho, Wo, k, k)
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * k * k)
        wmat = w.reshape(O, C * k * k)
        y = cols @ wmat.T + b                                       # (N·Ho·Wo, O)
        ctx.save_for_backward(cols, wmat)
        ctx.geom = (x.shape, xpad.shape, k, stride, padding, Ho, Wo)
        return xp.ascontiguousarray(y.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2))

    @staticmethod
    def backward(ctx, g):
        cols, wmat = ctx.saved_tensors
        xp = ctx.xp
        (N, C, H, W), padded_shape, k, s, p, Ho, Wo = ctx.geom
        O = wmat.shape[0]
        gmat = g.transpose(0, 2, 3, 1).reshape(N * Ho * Wo, O)     # 与 cols 的行一一对应
        gw = (gmat.T @ cols).reshape(O, C, k, k)
        gb = gmat.sum(axis=0)
        gcols = (gmat @ wmat).reshape(N, Ho, Wo, C, k, k)
        gx = xp.zeros(padded_shape, dtype=g.dtype)
        for u in range(k):                                          # col2im：k² 个偏移，各加一片
            for v in range(k):
                gx[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s] += gcols[:, :, :, :, u, v].transpose(0, 3, 1, 2)
        return gx[:, :, p:p + H, p:p + W], gw, gb, None, None


def exercise4(device, quick):
    print("练习 4：im2col 的 Conv2d Function")
    tg.manual_seed(0)
    for stride, padding in ((1, 0), (2, 1)):
        x = tg.randn(2, 3, 7, 6, device=device, dtype=tg.float64, requires_grad=True)
        w = tg.randn(4, 3, 3, 3, device=device, dtype=tg.float64, requires_grad=True)
        b = tg.randn(4, device=device, dtype=tg.float64, requires_grad=True)
        gradcheck(lambda a, c, d: MyConv2d.apply(a, c, d, stride, padding), x, w, b)
        results = []
        for fn in (lambda: MyConv2d.apply(x, w, b, stride, padding),
                   lambda: F.conv2d(x, w, b, stride=stride, padding=padding)):
            for t in (x, w, b):
                t.grad = None
            y = fn()
            (y * tg.tensor(np.cos(np.arange(y.numel())).reshape(y.shape), device=device)).sum().backward()
            results.append((y.detach(), x.grad, w.grad, b.grad))
        for a, c in zip(*results):
            assert_close(a, c, rtol=1e-10, atol=1e-10)
        gap = max((a - c).abs().max().item() for a, c in zip(*results))
        print(f"  stride={stride}, padding={padding}：输出 {tuple(results[0][0].shape)}；gradcheck（float64，x、W、b）通过；"
              f"与 F.conv2d 的输出与三个梯度的最大差 {gap:.1e}")
    return {"conv_function_ok": True}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    results.update(exercise4(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
