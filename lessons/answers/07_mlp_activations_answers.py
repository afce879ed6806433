# %% [markdown]
# # 第 07 课 练习答案：多层感知机与激活函数
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
# （见 `07_answer_width2.png`）：准确率比线性模型（第 06 课）好，但离 MLP 的 0.99 很远；宽度 4 也好不了多少，
# 宽度 8 起就到 0.99 上下。宽度越大，能拼出的折线段越多，边界越能贴着旋臂走（具体的数见运行输出）。


# %%
def exercise1(device, quick):
    lesson = load_lesson()
    data = lesson.spiral_data(device)
    loader = DataLoader(TensorDataset(data["X"], data["y"]), batch_size=32, shuffle=True)
    epochs = 200   # 两种模式相同（约 3 秒）：少于一百轮时窄网络与宽网络的差别还看不出来
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
    assert out[2] < 0.85 and out[4] < 0.85 and out[8] > 0.95 and out[16] > 0.95, out
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
    # 除了输出层偏置（舍入误差量级），梯度全是 0；训练后仍是全 0 的第一层、准确率 1/3
    assert all(v == 0 for k, v in grads.items() if k != "4.bias") and grads["4.bias"] < 1e-5, grads
    assert abs(acc - 1 / 3) < 1e-6 and bool((model[0].weight == 0).all().item())
    return {"zero_init_grads": grads, "zero_init_acc": acc}


# %% [markdown]
# ## 练习 3 ★★：检查点就是一个 `.npz`，改掉一个字节会怎样
#
# > 把第 8 步的检查点用 `numpy.load` 直接打开（它就是一个 `.npz`），列出里面的成员；
# > 再把它的一个字节改掉，看 `tg.load` 给出什么错误。
#
# `.npz` 就是一个 zip 文件，每个数组是其中一个 `.npy` 成员；`tg.save` 还多存了一个描述结构的 JSON 成员
# （参数名 → 哪个数组）。`numpy.load(path, allow_pickle=False)` 不需要 tinygrad_zh 就能读出全部数字——格式是公开的。
#
# zip 给每个成员记了 CRC-32 校验和，所以改掉**数组数据里**的任何一个字节，读到这个成员时校验和对不上；
# 改掉文件**开头**的字节，文件就不再以 `PK` 开头、根本不是 zip。两种情况 `tg.load` 都抛 `CheckpointError`
# （`ValueError` 的子类），信息里有路径和原因，而不是悄悄返回一组错的权重。下面先按第 8 步训练并保存数字 MLP
# （快速模式少训几轮，对本题没有影响），再分别改最后一个数组中间的一个字节和第一个字节。


# %%
def exercise3(device, quick):
    import json

    import numpy as np
    from tinygrad_zh.serialization import CheckpointError

    lesson = load_lesson()
    digits = lesson.digits_data(device)
    tg.manual_seed(0)
    model = lesson.make_digits_mlp().to(device)
    loader = DataLoader(TensorDataset(digits["X_train"], digits["y_train"]), batch_size=32, shuffle=True)
    lesson.train_classifier(model, loader, digits["X_train"], digits["y_train"], 1 if quick else 30, 0.2, "",
                            show_bar=False)
    path = output_dir() / "07_answer_ckpt.npz"
    tg.save(model.state_dict(), path)
    raw = path.read_bytes()

    print("练习 3：用 numpy.load 打开检查点")
    state = model.state_dict()
    with np.load(path, allow_pickle=False) as npz:
        members = {k: npz[k] for k in npz.files}
    for k, v in members.items():
        if isinstance(v, bytes):
            print(f"  成员 {k:<22} {len(v)} 字节的 JSON（结构：参数名 → 数组）")
        else:
            print(f"  成员 {k:<22} 形状 {str(v.shape):<10} {v.dtype}")
    structure = json.loads(next(v for v in members.values() if isinstance(v, bytes)))
    name_to_key = {name: spec["key"] for name, spec in structure["root"]["items"]}
    print(f"  JSON 里的对应关系：{name_to_key}")
    # 每个参数都原样（逐位相同）存在 JSON 指向的那个 .npy 成员里
    for name, value in state.items():
        assert np.array_equal(members[name_to_key[name]], np.asarray(value)), name
    print(f"  {len(state)} 个参数与 numpy.load 读出的数组逐位相同")

    errors = {}
    # ① 改掉最后一个数组数据中间的一个字节；② 改掉文件的第一个字节
    last = members[name_to_key[list(state)[-1]]]
    offset = raw.find(last.tobytes()) + last.nbytes // 2
    assert offset >= last.nbytes // 2, "在文件里找不到数组的原始字节"
    for what, pos in (("数组数据中间的一个字节", offset), ("文件第一个字节", 0)):
        bad = bytearray(raw)
        bad[pos] ^= 0xFF
        path.write_bytes(bytes(bad))
        try:
            tg.load(path)
        except CheckpointError as e:
            assert isinstance(e, ValueError)
            errors[what] = str(e)
            print(f"  改了{what}（位置 {pos}）→ {type(e).__name__}：{e}")
        else:
            raise AssertionError(f"改了{what}，tg.load 却没有报错")
    path.write_bytes(raw)
    reloaded = tg.load(path)
    assert all(np.array_equal(np.asarray(reloaded[k]), np.asarray(state[k])) for k in state)
    print("  写回原来的字节后，tg.load 又能读出完全相同的参数")
    return {"ckpt_members": sorted(members), "ckpt_errors": errors}


# %% [markdown]
# ## 练习 4 ★★★：十层 sigmoid 的梯度消失
#
# > 用 sigmoid 搭一个 10 个隐藏层的 MLP（每层 64 个单元），在螺旋上训练，打印每一层权重梯度的范数。
# > 再换成 ReLU 比较。这就是第 10 课要解决的梯度消失。
#
# 反向传播每穿过一个隐藏层，误差信号乘一次 $W^\top\,\mathrm{diag}(f'(z))$。默认初始化下
# $W_{ij}\sim U(\pm 1/\sqrt{64})$，标准差 $1/(8\sqrt3)$，乘 $W^\top$ 让向量的范数大约乘 $\sqrt{64}\cdot\frac{1}{8\sqrt3} = 1/\sqrt3$；
# sigmoid 再乘一个不超过 0.25 的导数。所以每往前一层，梯度大约缩小到 $0.25/\sqrt3 \approx 0.144$ **以下**，
# 十层就是 $10^{-8}$ 量级：第一层几乎学不动，网络只有最后一两层在训练，准确率停在 1/3 附近。
# ReLU 的导数在正半轴是 1，不再每层乘 0.25，逐层的比例比 sigmoid 大得多（只剩 $1/\sqrt3$ 和“一半单元为 0”带来的缩小），
# 第一层的梯度比 sigmoid 大好几个数量级。但在默认初始化下，十层 ReLU 的前向信号同样逐层变小，实测仍然训不动；
# 再加一行第 4 步的 `init_he`（He 初始化，方差 $2/\text{fan\_in}$ 正好抵消 ReLU 砍掉的一半），逐层比例回到 1 附近，网络就能训练了——
# 这正是第 10 课的内容。下面打印初始化时与训练后的各层梯度范数，用隐藏层间逐层比例的几何平均与上面的估计对照。


# %%
def deep_mlp(activation, depth=10, hidden=64):
    layers = [nn.Linear(2, hidden), activation()]
    for _ in range(depth - 1):
        layers += [nn.Linear(hidden, hidden), activation()]
    return nn.Sequential(*layers, nn.Linear(hidden, 3))


def weight_grad_norms(model, X, y):
    model.zero_grad()
    F.cross_entropy(model(X), y).backward()
    return [(m.weight.grad ** 2).sum().sqrt().item() for m in model if isinstance(m, nn.Linear)]


def exercise4(device, quick):
    import math

    lesson = load_lesson()
    data = lesson.spiral_data(device)
    loader = DataLoader(TensorDataset(data["X"], data["y"]), batch_size=32, shuffle=True)
    epochs = 5 if quick else 100
    bound = 0.25 / math.sqrt(3)
    print(f"练习 4：10 个隐藏层（每层 64 个单元）；SGD 学习率 0.1，{epochs} 轮；每层的估计缩小比例 0.25/√3 = {bound:.3f}")
    out = {}
    for name, act, init in (("sigmoid", nn.Sigmoid, None), ("ReLU", nn.ReLU, None), ("ReLU + He", nn.ReLU, lesson.init_he)):
        tg.manual_seed(0)
        model = deep_mlp(act).to(device)
        if init is not None:
            model.apply(init)
        before = weight_grad_norms(model, data["X"], data["y"])
        lesson.train_classifier(model, loader, data["X"], data["y"], epochs, 0.1, "", show_bar=False)
        after = weight_grad_norms(model, data["X"], data["y"])
        with tg.no_grad():
            acc = accuracy(model(data["X"]), data["y"])
        # 隐藏层 1..9（输入层 fan_in = 2 与输出层不同，不计）逐层比例 ‖∇W_k‖/‖∇W_{k+1}‖ 的几何平均
        ratio = (before[1] / before[9]) ** (1 / 8)
        print(f"  {name}：各层权重梯度的范数（第 1 层 → 输出层）")
        print("    初始化时 " + " ".join(f"{v:.1e}" for v in before))
        print("    训练后   " + " ".join(f"{v:.1e}" for v in after))
        print(f"    第 1 层 / 输出层 = {before[0] / before[-1]:.1e}；隐藏层间逐层比例的几何平均 {ratio:.3f}；"
              f"训练后准确率 {acc:.3f}")
        out[name] = {"before": before, "after": after, "ratio": ratio, "acc": acc}
    sig, relu, he = out["sigmoid"], out["ReLU"], out["ReLU + He"]
    assert sig["ratio"] < bound, "sigmoid 的逐层比例应低于 0.25/√3"
    assert relu["ratio"] > 3 * sig["ratio"] and he["ratio"] > relu["ratio"]
    assert sig["before"][0] / sig["before"][-1] < 1e-6 < relu["before"][0] / relu["before"][-1]
    assert sig["acc"] < 0.5 and he["acc"] > max(sig["acc"], relu["acc"])
    print(f"  结论：sigmoid 每往前一层梯度缩小到 {sig['ratio']:.3f} 倍（≤ 估计 {bound:.3f}），第 1 层的梯度只有输出层的 "
          f"{sig['before'][0] / sig['before'][-1]:.0e}；默认初始化的 ReLU 逐层比例 {relu['ratio']:.2f}，"
          f"第 1 层是输出层的 {relu['before'][0] / relu['before'][-1]:.0e}；ReLU + He 初始化逐层比例 {he['ratio']:.2f}。\n"
          f"  训练 {epochs} 轮后准确率：sigmoid {sig['acc']:.3f}、ReLU {relu['acc']:.3f}、ReLU + He {he['acc']:.3f}"
          f"（瞎猜 1/3 = {1 / 3:.3f}）。")
    return {"deep_grad_norms": {k: v["before"] for k, v in out.items()},
            "deep_acc": {k: v["acc"] for k, v in out.items()}}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    results.update(exercise3(device, quick))
    results.update(exercise4(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
