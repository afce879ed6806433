# %% [markdown]
# # 第 06 课 练习答案：softmax 回归与交叉熵
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
from tinygrad_zh.autograd import Function
from tinygrad_zh.data import DataLoader, TensorDataset, make_spiral
from tinygrad_zh.lesson import load_definitions, run_lesson
from tinygrad_zh.metrics import accuracy
from tinygrad_zh.testing import assert_close, gradcheck


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
# 线性模型在螺旋上的准确率本来就不高，这里两者的准确率相差不大，损失却明显更高；换成第 07 课的 MLP，差别会更明显。
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
    floor = -math.log(math.e / (math.e + 2))
    print(f"  先 softmax 时损失的下限 −ln(e/(e + 2)) = {floor:.4f}")
    (good, good_acc), (bad, bad_acc) = out["正确：logits"], out["错误：先 softmax"]
    assert bad > floor and bad > good + 0.1 and abs(bad_acc - good_acc) < 0.05, out
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
            # 朴素版本三种类型都溢出成 nan；减最大值的版本正常；inf 正好从门槛 ln(max) 之后的第一个格点开始
            assert all(math.isnan(v) for v in naive) and abs(sum(stable) - 1) < 1e-2, (naive, stable)
            assert limit <= first_inf < limit + 0.25 + 0.05, (first_inf, limit)
            print(f"  {name}：朴素 softmax([1000, 1001, 1002]) = {[round(v, 4) for v in naive]}，"
                  f"减最大值 = {[round(v, 4) for v in stable]}；e^z 从 z = {first_inf:g} 起为 inf（门槛 ln(max) = {limit:.2f}）")
    return {"first_inf": out}


# %% [markdown]
# ## 练习 3 ★★：换成极坐标与三角函数特征
#
# 看 `make_spiral` 怎么生成数据：第 $k$ 类的点在极坐标下是 $\theta = 4k + 4r + \text{噪声}$，坐标 $(r\sin\theta, r\cos\theta)$。
# 所以类别只由“相位” $\varphi = \theta - 4r$（模 $2\pi$）决定，三类的相位是 $0, 4, 8$ 弧度，模 $2\pi$ 后是三个不同的方向。
# 一步一步加特征（特征是 $x$ 的**非线性**函数，模型仍然是线性的 `nn.Linear` + 交叉熵，训练设置与第 07 步相同）：
#
# 1. 原始坐标 $(x_1, x_2)$：就是第 06 课第 7 步，作为对照；
# 2. 极坐标 $(r, \theta)$：每条旋臂在 $(r, \theta)$ 平面上是一组斜率为 4、在 $\pm\pi$ 处折回的斜线，三类交错成条纹，
#    直线分不开，而且 $\theta$ 在 $\pm\pi$ 处跳变（$\theta$ 的取值范围比其余特征大，学习率 0.5 对它偏大，
#    所以再用学习率 0.05 试一次：好不了多少，问题不在优化）；
# 3. $(r, \sin\theta, \cos\theta)$：去掉了跳变，但类别依然和 $r$ 缠在一起；
# 4. 按数据的生成方式造特征 $(r, \sin(\theta - 4r), \cos(\theta - 4r))$：三类变成单位圆上三个分开的方向，线性模型几乎全对；
# 5. 不知道“4”也行：放进一族特征 $\sin\theta\cos(kr)$、$\sin\theta\sin(kr)$、$\cos\theta\cos(kr)$、$\cos\theta\sin(kr)$，$k = 1..6$
#    （$\sin(\theta - 4r) = \sin\theta\cos 4r - \cos\theta\sin 4r$ 是它们的线性组合），线性模型自己挑出有用的组合。
#
# 结论：线性分类器分不开螺旋，是因为它在**原始坐标**里只能画直线；把输入先经过合适的非线性变换，
# 同一个线性模型就能分开。“非线性”可以来自人工设计的特征（需要懂数据），也可以来自模型本身——第 07 课的多层感知机
# 用隐藏层自己学出这样的特征。

# %%
def spiral_features(X_np, kind):
    """把 (N, 2) 的坐标变成各种特征；x₁ = r·sin θ，x₂ = r·cos θ（make_spiral 的约定）。"""
    x1, x2 = X_np[:, 0].astype(np.float64), X_np[:, 1].astype(np.float64)
    r, th = np.hypot(x1, x2), np.arctan2(x1, x2)
    cols = {
        "raw": [x1, x2],
        "polar": [r, th],
        "polar_trig": [r, np.sin(th), np.cos(th)],
        "aligned": [r, np.sin(th - 4 * r), np.cos(th - 4 * r)],
        "fourier": [r] + [f(th) * g(k * r) for k in range(1, 7) for f in (np.sin, np.cos) for g in (np.sin, np.cos)],
    }[kind]
    return np.stack(cols, axis=1).astype(np.float32)


FEATURE_NAMES = {"raw": "原始 (x₁, x₂)", "polar": "极坐标 (r, θ)", "polar_trig": "(r, sin θ, cos θ)",
                 "aligned": "(r, sin(θ−4r), cos(θ−4r))", "fourier": "r 与 24 个 sin/cos θ · sin/cos(kr)"}


def exercise3(device, quick):
    lesson = load_lesson()
    X_np, y_np = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=0)
    Xte_np, yte_np = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=1)
    y, y_test = tg.tensor(y_np, device=device), tg.tensor(yte_np, device=device)
    epochs = 10 if quick else 100
    out = {}
    print(f"练习 3：线性模型 + 不同的特征（SGD，学习率 0.5，批量 32，{epochs} 轮）")
    runs = [(kind, 0.5) for kind in FEATURE_NAMES]
    runs.insert(2, ("polar", 0.05))      # θ 的取值范围 ±π 比别的特征大：换小学习率再试一次
    for kind, lr in runs:
        name = FEATURE_NAMES[kind] + ("" if lr == 0.5 else f"，学习率 {lr}")
        key = kind if lr == 0.5 else f"{kind}_lr{lr}"
        A = tg.tensor(spiral_features(X_np, kind), device=device)
        A_test = tg.tensor(spiral_features(Xte_np, kind), device=device)
        tg.manual_seed(0)
        model = nn.Linear(A.shape[1], 3).to(device)
        nn.init.zeros_(model.weight)
        nn.init.zeros_(model.bias)
        loader = DataLoader(TensorDataset(A, y), batch_size=32, shuffle=True)
        losses, accs = lesson.train_classifier(model, loader, A, y, epochs, lr, name, show_bar=False)
        with tg.no_grad():
            test_acc = accuracy(model(A_test), y_test)
        out[key] = {"features": A.shape[1], "loss": losses[-1], "train_acc": accs[-1], "test_acc": test_acc}
        print(f"  {name}：{A.shape[1]} 个特征，训练损失 {losses[-1]:.4f}，训练集准确率 {accs[-1]:.4f}，测试集 {test_acc:.4f}")
    raw, best = out["raw"]["test_acc"], max(out["aligned"]["test_acc"], out["fourier"]["test_acc"])
    assert out["aligned"]["test_acc"] > 0.95 and out["fourier"]["test_acc"] > 0.95 and best > raw + 0.3
    polar_best = max(out["polar"]["test_acc"], out["polar_lr0.05"]["test_acc"], out["polar_trig"]["test_acc"])
    polar_note = ("极坐标本身并没有帮上忙（换小学习率也一样）" if polar_best < raw + 0.1
                  else "极坐标已经有所帮助")
    print(f"  同一个线性模型：原始坐标测试集 {raw:.4f}，{polar_note}；按相位 θ − 4r 造的特征 "
          f"{out['aligned']['test_acc']:.4f}，不知道 4 的一族特征 {out['fourier']['test_acc']:.4f}")
    return {"feature_accuracy": out}


# %% [markdown]
# ## 练习 4 ★★★：自己写融合的交叉熵 `Function`
#
# 前向只用 LogSumExp：每行先减去最大值 $m$，$\mathrm{LSE}(z) = m + \log\sum_k e^{z_k - m}$，$\ell = \frac1N\sum_i(\mathrm{LSE}(z_i) - z_{i,y_i})$。
# 顺手把 $\mathrm{softmax}(z) = e^{z - \mathrm{LSE}(z)}$ 存下来，反向一步到位：
# $\partial\ell/\partial z = g\cdot(\mathrm{softmax}(z) - \mathrm{onehot}(y))/N$，$g$ 是上游梯度（标量）。
# 类别下标 `y` 是整数，不可导，`backward` 对它返回 `None`。
# 保存的是中间结果 softmax 而不是输入本身，二阶导数得不到支持，所以 `supports_create_graph = False`（同框架的 `CrossEntropy`）。
#
# 检验分三步：`gradcheck`（float64 中心差分）；与 `F.cross_entropy` 对照损失和梯度；
# 再用第 5 步的极端例子 logits `[0, 200]`、类别 0，确认它和框架一样给出有限的 $\ell = 200$ 与梯度 `[−1, 1]`。

# %%
class FusedCrossEntropy(Function):
    """ℓ = mean(LSE(z) − z_y)；∂ℓ/∂z = (softmax(z) − onehot(y)) / N。z: (N, C) 浮点，y: (N,) 整数。"""
    zh = "融合交叉熵"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, z, y):
        xp = ctx.xp
        m = xp.max(z, axis=1, keepdims=True)
        lse = m + xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True))      # (N, 1)
        picked = xp.take_along_axis(z, y[:, None], axis=1)                    # z_{i, y_i}，(N, 1)
        ctx.save_for_backward(xp.exp(z - lse), y)                             # softmax(z)
        return xp.mean(lse - picked)

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        probs, y = ctx.saved_tensors
        n = probs.shape[0]
        d = probs.copy()
        d[xp.arange(n), y] -= 1.0                                             # softmax − onehot
        return grad * d / n, None


def exercise4(device):
    print("练习 4：自己写的融合交叉熵")
    tg.manual_seed(0)
    z64 = tg.randn(6, 4, dtype=tg.float64, device=device, requires_grad=True)
    y = tg.randint(0, 4, (6,), device=device)
    ok = gradcheck(lambda t: FusedCrossEntropy.apply(t, y), z64)
    print(f"  gradcheck(FusedCrossEntropy, float64 (6, 4)) → {ok}")

    # 与 F.cross_entropy 对照（float32，N = 256，C = 10，logits 放大到 ±30 左右）
    tg.manual_seed(1)
    z = (tg.randn(256, 10, device=device) * 10).detach().requires_grad_()
    t = tg.randint(0, 10, (256,), device=device)
    ours = FusedCrossEntropy.apply(z, t)
    ours.backward()
    g_ours, z.grad = z.grad.detach(), None
    ref = F.cross_entropy(z, t)
    ref.backward()
    assert_close(ours, ref)
    assert_close(g_ours, z.grad)
    loss_diff = abs(ours.item() - ref.item())
    grad_diff = (g_ours - z.grad).abs().max().item()
    print(f"  N = 256，C = 10：损失 {ours.item():.6f} 对 F.cross_entropy {ref.item():.6f}（差 {loss_diff:.1e}），"
          f"梯度最大差 {grad_diff:.1e}")

    # 第 5 步的极端例子
    z = tg.tensor([[0.0, 200.0]], device=device, requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):   # 上溢、log(0)、nan 都当成错误（e^−200 下溢成 0 无害）
        extreme = FusedCrossEntropy.apply(z, tg.tensor([0], device=device))
        extreme.backward()
    assert extreme.item() == 200.0 and z.grad.tolist() == [[-1.0, 1.0]]
    print(f"  logits [0, 200]、类别 0：ℓ = {extreme.item():g}，梯度 {z.grad.tolist()[0]}（与框架的融合版相同，没有 nan）")
    return {"fused_gradcheck": ok, "fused_loss_diff": loss_diff, "fused_grad_diff": grad_diff,
            "fused_extreme_loss": extreme.item()}


# %%
def main(quick=False, device="cpu"):
    results = {}
    print("练习 1：先 softmax 再算交叉熵")
    results.update(exercise1(device, quick))
    print("练习 2：不同浮点类型下的上溢")
    results.update(exercise2(device))
    results.update(exercise3(device, quick))
    results.update(exercise4(device))
    return results


if __name__ == "__main__":
    run_lesson(main)
