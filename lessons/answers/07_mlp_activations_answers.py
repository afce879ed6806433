# %% [markdown]
# # 第 07 课 ★ 练习答案：多层感知机与激活函数
#
# 运行方式：`python lessons/answers/07_mlp_activations_answers.py [--quick] [--device cuda]`（在仓库根目录）。

# %%
from pathlib import Path

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, TensorDataset
from tinygrad_zh.lesson import load_definitions, output_dir, run_lesson
from tinygrad_zh.metrics import accuracy
from tinygrad_zh.viz import label, setup_font


def load_lesson():
    """取第 07 课里定义的函数（spiral_data、make_mlp、train_classifier、predict_grid；只执行课程文件的 import 与 def，
    不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "07_mlp_activations.py")


# %% [markdown]
# ## 练习 1 ★：隐藏层的宽度
#
# 宽度为 2 时，每个隐藏层只有两个 ReLU 单元，网络只能把平面切成很少几块，边界是几条折线
# （见 `07_answer_width2.png`）：准确率约 0.75，比线性模型的约 0.54 好，但离 MLP 的 0.99 很远；宽度 4 仍是 0.75 左右，
# 宽度 8 起就到 0.99 上下。宽度越大，能拼出的折线段越多，边界越能贴着旋臂走。


# %%
def exercise1(device, quick):
    lesson = load_lesson()
    data = lesson.spiral_data(device)
    loader = DataLoader(TensorDataset(data["X"], data["y"]), batch_size=32, shuffle=True)
    epochs = 10 if quick else 200
    out, narrow = {}, None
    print(f"练习 1：隐藏层宽度（ReLU，SGD 学习率 0.5，{epochs} 轮）")
    for width in (2, 4, 8, 16):
        tg.manual_seed(0)
        model = lesson.make_mlp(nn.ReLU, hidden=width).to(device)
        lesson.train_classifier(model, loader, data["X"], data["y"], epochs, 0.5, "", show_bar=False)
        with tg.no_grad():
            acc = accuracy(model(data["X"]), data["y"])
        out[width] = acc
        narrow = narrow or model
        print(f"  宽度 {width:2d}：训练集准确率 {acc:.4f}")

    setup_font()
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    colors = ["#1f77b4", "#d62728", "#2ca02c"]
    pred = lesson.predict_grid(narrow, device, n=150)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(pred, extent=(-1.2, 1.2, -1.2, 1.2), origin="lower", cmap=ListedColormap(colors), alpha=0.25,
              vmin=-0.5, vmax=2.5, interpolation="nearest")
    for k in range(3):
        m = data["y_np"] == k
        ax.scatter(data["X_np"][m, 0], data["X_np"][m, 1], s=8, color=colors[k])
    ax.set_title(label(f"隐藏层宽度 2：准确率 {out[2]:.3f}", f"hidden width 2: accuracy {out[2]:.3f}"))
    ax.set_aspect("equal")
    path = output_dir() / "07_answer_width2.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"  图已保存：{path}")
    return {"width_acc": out}


# %% [markdown]
# ## 练习 2 ★：权重全为 0
#
# 全 0 时，每个隐藏单元的预激活值都是 $0$，ReLU 输出 0，而且 $\mathrm{ReLU}'(0) = 0$：
#
# - 前两层：梯度要乘 $\mathrm{ReLU}'(0) = 0$，所以权重和偏置的梯度**全是 0**，永远不动；
# - 输出层权重：梯度是 $\delta \cdot h^\top$，而 $h = 0$，也是 0；
# - 只有输出层的**偏置**可能有梯度：它是 $\mathrm{mean}(\mathrm{softmax} - \mathrm{onehot})$，只能学到“每类各占多少”。
#   这里三类一样多，连它也 ≈ 0（打印出的 $6 \times 10^{-7}$ 是浮点舍入）。网络对所有输入给出同一个预测，准确率 1/3。
#
# 全 0.1 时至少隐藏单元有输出、能学一点（虽然 64 个单元等于 1 个）；全 0 则整个网络除了输出偏置都是死的。


# %%
def exercise2(device, quick):
    lesson = load_lesson()
    data = lesson.spiral_data(device)
    model = lesson.make_mlp(nn.ReLU).to(device)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)
    F.cross_entropy(model(data["X"]), data["y"]).backward()
    print("练习 2：权重、偏置全为 0，第一次反向传播后各参数梯度的最大绝对值：")
    grads = {}
    for name, p in model.named_parameters():
        grads[name] = p.grad.abs().max().item()
        print(f"  {name:<9} {grads[name]:.3g}")
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    steps = 20 if quick else 200
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(data["X"]), data["y"]).backward()
        optimizer.step()
    with tg.no_grad():
        acc = accuracy(model(data["X"]), data["y"])
    print(f"  训练 {steps} 步后训练集准确率 {acc:.4f}；第一层权重仍全为 0：{bool((model[0].weight == 0).all().item())}")
    return {"zero_init_grads": grads, "zero_init_acc": acc}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
