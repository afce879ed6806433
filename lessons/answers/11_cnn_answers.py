# %% [markdown]
# # 第 11 课 ★ 练习答案：卷积神经网络
#
# 运行方式：`python lessons/answers/11_cnn_answers.py [--quick] [--device cuda]`（在仓库根目录）。

# %%
from pathlib import Path

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.models import LeNet


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
    return {"variant_acc": out}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
