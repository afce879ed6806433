# %% [markdown]
# # 第 06 课 ★ 练习答案：softmax 回归与交叉熵
#
# 运行方式：`python lessons/answers/06_softmax_regression_answers.py [--quick] [--device cuda]`（在仓库根目录）。

# %%
import math
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, TensorDataset, make_spiral
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.metrics import accuracy


def load_lesson():
    """取第 06 课里定义的函数（naive_softmax、stable_softmax；只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "06_softmax_regression.py")


def make_data(device):
    """与第 06 课第 6 步相同的训练数据（螺旋，每类 100 个点）。"""
    X_np, y_np = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=0)
    return {"X": tg.tensor(X_np, device=device), "y": tg.tensor(y_np, device=device)}


# %% [markdown]
# ## 练习 1 ★：先 softmax 再交给 `F.cross_entropy`
#
# `F.cross_entropy` 把输入当 logits，自己再做一次 softmax。先手动 softmax 一次，输入就被压进了 $[0, 1]$，
# 三个“logits”最多相差 1。于是即使模型完全正确、把正确类别的概率推到 1，第二次 softmax 给它的概率最多也只有
#
# $$\frac{e^{1}}{e^{1} + 2e^{0}} = \frac{e}{e + 2} \approx 0.576,\qquad \ell \ge -\ln 0.576 \approx 0.551.$$
#
# 损失有一个降不下去的“地板”，梯度还多穿过一层 softmax 被压小，学得更慢。
# 线性模型在螺旋上反正只有约 0.54 的准确率，这里准确率相差不大，损失却明显更高；换成第 07 课的 MLP，差别会更明显。
# 结论：模型输出 logits，softmax 只在交叉熵里做一次。


# %%
def exercise1(device, quick):
    data = make_data(device)
    epochs = 10 if quick else 100
    out = {}
    for name, wrap in [("正确：logits", lambda z: z), ("错误：先 softmax", lambda z: z.softmax(dim=1))]:
        tg.manual_seed(0)
        model = nn.Linear(2, 3).to(device)
        nn.init.zeros_(model.weight)
        nn.init.zeros_(model.bias)
        optimizer = optim.SGD(model.parameters(), lr=0.5)
        loader = DataLoader(TensorDataset(data["X"], data["y"]), batch_size=32, shuffle=True)
        for _ in range(epochs):
            for xb, yb in loader:
                optimizer.zero_grad()
                F.cross_entropy(wrap(model(xb)), yb).backward()
                optimizer.step()
        with tg.no_grad():
            loss = F.cross_entropy(wrap(model(data["X"])), data["y"]).item()
            acc = accuracy(model(data["X"]), data["y"])
        out[name] = (loss, acc)
        print(f"  {name}：{epochs} 轮后损失 {loss:.4f}，训练集准确率 {acc:.4f}")
    print(f"  先 softmax 时损失的下限 −ln(e/(e + 2)) = {-math.log(math.e / (math.e + 2)):.4f}")
    return {"logits_loss": out["正确：logits"][0], "double_softmax_loss": out["错误：先 softmax"][0]}


# %% [markdown]
# ## 练习 2 ★：float64 与 float16 下的上溢
#
# $e^{z}$ 上溢的门槛是 $\ln(\text{该类型的最大值})$：
#
# | 类型 | 最大值 | 门槛 $\ln(\max)$ |
# |---|---|---|
# | float16 | 65504 | 11.09 |
# | float32 | $3.40 \times 10^{38}$ | 88.72 |
# | float64 | $1.80 \times 10^{308}$ | 709.78 |
#
# 所以 `[1000, 1001, 1002]` 在 float64 下**照样**溢出（1000 > 709.78）；float16 下
# logit 超过约 11.1 就溢出——这正是混合精度训练必须先减最大值（或在 float32 里算 softmax）的原因。减去最大值的版本在三种类型下都没问题。


# %%
def exercise2(device):
    lesson = load_lesson()
    out = {}
    grid = np.arange(0.0, 800.0, 0.25)
    with np.errstate(over="ignore", invalid="ignore"):
        for name, dtype, np_dtype in [("float16", tg.float16, np.float16), ("float32", tg.float32, np.float32),
                                      ("float64", tg.float64, np.float64)]:
            z = tg.tensor([1000.0, 1001.0, 1002.0], dtype=dtype, device=device)
            naive, stable = lesson.naive_softmax(z).tolist(), lesson.stable_softmax(z).tolist()
            e = tg.tensor(grid, dtype=dtype, device=device).exp().tolist()
            first_inf = next(g for g, v in zip(grid, e) if math.isinf(v))
            limit = math.log(float(np.finfo(np_dtype).max))
            out[name] = first_inf
            print(f"  {name}：朴素 softmax([1000, 1001, 1002]) = {[round(v, 4) for v in naive]}，"
                  f"减最大值 = {[round(v, 4) for v in stable]}；e^z 从 z = {first_inf:g} 起为 inf（门槛 ln(max) = {limit:.2f}）")
    return {"first_inf": out}


# %%
def main(quick=False, device="cpu"):
    results = {}
    print("练习 1：先 softmax 再算交叉熵")
    results.update(exercise1(device, quick))
    print("练习 2：不同浮点类型下的上溢")
    results.update(exercise2(device))
    return results


if __name__ == "__main__":
    run_lesson(main)
