# %% [markdown]
# # 第 09 课 练习答案
#
# 运行方式：`python lessons/answers/09_overfitting_regularization_answers.py [--quick] [--device cuda]`

# %%
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh import metrics
from tinygrad_zh.lesson import load_definitions, run_lesson


def load_lesson():
    """取第 09 课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    lesson = load_definitions(Path(__file__).resolve().parent.parent / "09_overfitting_regularization.py")
    # SHIFTS 是列表推导式，load_definitions 不取；random_shift 要用它，按课程里的定义补上
    lesson.random_shift.__globals__["SHIFTS"] = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return lesson


def settings(lesson, quick):
    """完整模式用课程的设置（200 轮，学习率 0.01）；快速模式只训练几轮（学习率 0.05），只验证代码能跑通。"""
    return (2, lesson.QUICK_SETTINGS["lr"]) if quick else tuple(lesson.FULL_SETTINGS.values())


# %% [markdown]
# ## 练习 1 ★：没有错标签时
#
# 训练集干净时，验证损失不再先降后升：模型把 200 张图背下来（训练准确率 100%），但背下来的都是对的，
# 对验证集没有坏处。训练与验证之间仍有差距（泛化差距），dropout 能把它缩小一点，但提升比有错标签时小得多——
# 正则化的作用，正是阻止模型去拟合数据里的噪声。


# %%
def exercise1(device, quick):
    lesson = load_lesson()
    data = lesson.load_data(device, label_noise=0.0)
    epochs = 12 if quick else 200
    print("练习 1：LABEL_NOISE = 0")
    out = {}
    for key, name, kwargs in (("baseline", "基线", {}), ("dropout", "dropout (p=0.5)", {"dropout": 0.5})):
        model, hist = lesson.fit(name, data, epochs, device, **kwargs)
        r = lesson.report(name, model, hist, data)
        rise = r["val_loss"] - r["best_val_loss"]
        print(f"    验证损失最后比最低点高 {rise:.3f}")
        out[key] = {"test_acc": r["test_acc"], "val_loss_rise": rise}
    # 没有错标签：验证损失不再先降后升（第 09 课有错标签时回升了零点几）
    assert all(v["val_loss_rise"] < 0.05 for v in out.values()), out
    return out


# %% [markdown]
# ## 练习 2 ★：从混淆矩阵读出精确率和召回率
#
# 第 $c$ 列之和是“预测为 $c$”的样本数 $TP + FP$，第 $c$ 行之和是“真是 $c$”的样本数 $TP + FN$，对角线是 $TP$。所以
# 精确率 = 对角线 / 列和，召回率 = 对角线 / 行和。


# %%
def exercise2(device, quick):
    lesson = load_lesson()
    data = lesson.load_data(device)
    epochs = 12 if quick else 200
    model, _ = lesson.fit("基线", data, epochs, device)
    model.eval()
    y_pred = model(data["X_test"]).argmax(dim=1)
    cm = metrics.confusion_matrix(data["y_test"], y_pred, num_classes=10)
    tp = np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(cm.sum(axis=0) > 0, tp / cm.sum(axis=0), 0.0)
    recall = tp / cm.sum(axis=1)
    lib_p = metrics.precision(data["y_test"], y_pred, average=None, labels=list(range(10)))
    lib_r = metrics.recall(data["y_test"], y_pred, average=None, labels=list(range(10)))
    print("练习 2：由混淆矩阵手算每类的精确率与召回率")
    print(f"  精确率（对角线 / 列和）：{np.round(precision, 3).tolist()}")
    print(f"  召回率（对角线 / 行和）：{np.round(recall, 3).tolist()}")
    diff = max(float(np.abs(precision - lib_p).max()), float(np.abs(recall - lib_r).max()))
    print(f"  与 metrics.precision / metrics.recall(average=None) 的最大差：{diff:.1e}")
    assert diff < 1e-12
    return {"confusion_diff": diff}


# %% [markdown]
# ## 练习 3 ★★：扫描权重衰减；用验证集还是测试集挑 λ
#
# > 扫描权重衰减 $\lambda \in \{0, 10^{-3}, 3\times10^{-3}, 10^{-2}, 3\times10^{-2}, 10^{-1}\}$，画出验证准确率与测试准确率随
# > $\lambda$ 的变化。按验证集挑出的 $\lambda$ 与按测试集挑出的一样吗？再把平移增强叠加到第 8 步的组合上，看看欠拟合。
#
# 验证集只有 300 张，准确率的分辨率是 1/300 ≈ 0.003，标准误差约 $\sqrt{0.9 \times 0.1/300} \approx 0.017$；
# 相邻几个 $\lambda$ 的差别常常比这还小，所以按验证集挑出的 $\lambda$ 与按（1297 张的）测试集挑出的不一定相同——
# 但只要两者挑出的 $\lambda$ 在测试集上的准确率相差不超过这个噪声，用验证集挑就是合理的。
# **绝不能**按测试集挑：那样测试准确率就不再是“没见过的数据”上的估计了。
#
# 叠加平移增强后，每个小批量都更难拟合，再加上 dropout 与权重衰减，模型在 200 轮内连（干净的）训练集都拟合不好：
# 看它的训练准确率（对照干净标签计算）是否低于第 8 步的组合——这就是欠拟合。快速模式只训练几轮，数字只说明代码能跑通。


# %%
def exercise3(device, quick):
    import matplotlib.pyplot as plt

    from tinygrad_zh.lesson import output_dir
    from tinygrad_zh.viz import label, setup_font

    lesson = load_lesson()
    data = lesson.load_data(device)
    epochs, lr = settings(lesson, quick)
    lambdas = [0.0, 1e-1] if quick else [0.0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
    print(f"练习 3：扫描权重衰减（{epochs} 轮，学习率 {lr}）")
    val, test = [], []
    for lam in lambdas:
        model, hist = lesson.fit(f"λ={lam:g}", data, epochs, device, lr=lr, weight_decay=lam)
        val.append(hist["val_acc"][-1])
        test.append(lesson.evaluate(model, data["X_test"], data["y_test"])[1])
        print(f"  λ = {lam:<6g} 验证准确率 {val[-1]:.4f}  测试准确率 {test[-1]:.4f}")
    by_val, by_test = lambdas[int(np.argmax(val))], lambdas[int(np.argmax(test))]
    se = float(np.sqrt(max(val) * (1 - max(val)) / len(data["y_val"])))
    gap = max(test) - test[lambdas.index(by_val)]
    print(f"  按验证集挑出 λ = {by_val:g}，按测试集挑出 λ = {by_test:g}（{'相同' if by_val == by_test else '不同'}）；"
          f"两者的测试准确率相差 {gap:.4f}，验证准确率的标准误差约 {se:.3f}")

    setup_font()
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = np.arange(len(lambdas))
    ax.plot(xs, val, "o-", label=label("验证准确率", "validation accuracy"))
    ax.plot(xs, test, "s-", label=label("测试准确率", "test accuracy"))
    ax.set_xticks(xs, [f"{lam:g}" for lam in lambdas])
    ax.set_xlabel(label("权重衰减 λ", "weight decay λ"))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = output_dir() / "09_answer_weight_decay.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"  图已保存：{path}")

    out = {"wd_val_acc": dict(zip(lambdas, val)), "wd_test_acc": dict(zip(lambdas, test)),
           "wd_by_val": by_val, "wd_by_test": by_test}
    combos = {}
    for key, extra in (("组合", {}), ("组合 + 平移增强", {"augment": lesson.random_shift})):
        model, hist = lesson.fit(key, data, epochs, device, lr=lr, dropout=0.5, weight_decay=5e-3, cosine=True, **extra)
        clean_acc = lesson.evaluate(model, data["X_train"], data["y_train_clean"])[1]
        test_acc = lesson.evaluate(model, data["X_test"], data["y_test"])[1]
        combos[key] = (clean_acc, test_acc)
        print(f"  {lesson.pad(key, 18)}训练集准确率（对照干净标签）{clean_acc:.4f}  测试准确率 {test_acc:.4f}")
    under = combos["组合 + 平移增强"][0] < combos["组合"][0]
    print(f"  叠加平移增强后训练集准确率{'下降' if under else '没有下降'}"
          f"（{combos['组合'][0]:.4f} → {combos['组合 + 平移增强'][0]:.4f}），"
          f"测试准确率 {combos['组合'][1]:.4f} → {combos['组合 + 平移增强'][1]:.4f}"
          + ("：正则化太多，出现欠拟合" if under and combos["组合 + 平移增强"][1] < combos["组合"][1] else ""))
    assert len(val) == len(lambdas) and all(0 <= v <= 1 for v in val + test)
    out["combo_underfit"] = {k: {"train_clean_acc": a, "test_acc": b} for k, (a, b) in combos.items()}
    return out


# %% [markdown]
# ## 练习 4 ★★：换随机种子，哪些结论稳定
#
# > 换两个随机种子（`fit(..., seed=1)`）重跑第 3—8 步。哪些结论稳定，哪些只是噪声？
#
# 种子决定初始权重与小批量的顺序。一个结论“稳定”，是指它在每个种子下都成立；判断差别是否显著，要把它与
# 种子之间的波动比较。这里对每种正则化算它相对基线的测试准确率提升，看三个种子（0、1、2）下的符号是否一致，
# 以及平均提升是否大于种子间的标准差。测试集 1297 张，单次准确率本身的抽样误差约 0.008。
# 快速模式只用 2 个种子、2 种设置、两轮训练，数字只说明代码能跑通。


# %%
def exercise4(device, quick):
    lesson = load_lesson()
    data = lesson.load_data(device)
    epochs, lr = settings(lesson, quick)
    seeds = [0, 1] if quick else [0, 1, 2]
    configs = {"基线": {}, "L2": {"weight_decay": 1e-2}}
    if not quick:
        configs.update({"dropout": {"dropout": 0.5}, "L1": {"l1": 1e-3}, "平移增强": {"augment": lesson.random_shift},
                        "组合 + 余弦": {"dropout": 0.5, "weight_decay": 5e-3, "cosine": True}})
    acc = {k: [] for k in configs}
    print(f"练习 4：种子 {seeds}，每个模型 {epochs} 轮；测试准确率")
    for seed in seeds:
        for name, kwargs in configs.items():
            model, _ = lesson.fit(name, data, epochs, device, lr=lr, seed=seed, **kwargs)
            acc[name].append(lesson.evaluate(model, data["X_test"], data["y_test"])[1])
    print("  " + lesson.pad("设置", 14) + "".join(f"种子 {s:<6}" for s in seeds) + "相对基线的提升（各种子）  结论")
    stable, noisy = [], []
    for name, values in acc.items():
        gains = np.array(values) - np.array(acc["基线"])
        if name == "基线":
            verdict = f"种子间标准差 {np.std(values):.4f}"
        else:
            consistent = bool(np.all(gains > 0) or np.all(gains < 0))
            big = abs(gains.mean()) > gains.std()
            ok = consistent and big
            (stable if ok else noisy).append(name)
            verdict = ("稳定：" if ok else "不稳定：") + ("提升" if gains.mean() > 0 else "下降") + f" {gains.mean():+.4f}"
        print("  " + lesson.pad(name, 14) + "".join(f"{v:<11.4f}" for v in values)
              + lesson.pad(" ".join(f"{g:+.3f}" for g in gains), 24) + verdict)
    print(f"  在每个种子下方向一致、且平均变化大于种子间波动的：{'、'.join(stable) or '（没有）'}；"
          f"其余（{'、'.join(noisy) or '没有'}）的差别在种子噪声之内")
    assert all(len(v) == len(seeds) for v in acc.values())
    return {"seed_test_acc": acc, "seed_stable": stable, "seed_noisy": noisy}


# %% [markdown]
# ## 练习 5 ★★★：旋转增强（双线性插值）；卷积为什么对平移更稳健
#
# > 用张量运算实现小角度旋转（双线性插值）的增强，与平移增强比较；再想一想：为什么卷积网络（第 11 课）
# > 对平移天生就更稳健？
#
# **旋转**：输出像素 $(i, j)$ 取输入图上的点 $c + R(-\varphi)\,((i, j) - c)$（$c = (3.5, 3.5)$ 是图的中心），这个点一般不在格点上，
# 用周围 4 个像素按距离加权（双线性插值），落在图外的补 0。对固定的角度，这是一个线性映射：64 个输出像素 =
# 一个 $64\times64$ 矩阵乘 64 个输入像素。所以先为 $K$ 个角度各建一个插值矩阵，每个小批量做一次批量矩阵乘法，
# 再像 `random_shift` 那样用独热掩码给每个样本挑一个角度——全是张量运算。
# 检查：0° 的矩阵是单位矩阵；90° 时所有采样点都落在格点上，结果必须与 `np.rot90` 逐位相同。
#
# **为什么卷积对平移更稳健**：全连接层给每个像素位置一组独立的权重，右移一个像素后，笔画落到了另一组权重上，
# 模型等于看到一张没见过的图；卷积层在每个位置用**同一个**卷积核（权值共享），所以它是**平移等变**的：
# 输入平移，输出特征图跟着平移同样的格数（边界外除外），再经过汇聚 (pooling) 或全局平均，就近似**平移不变**。
# 下面用一个随机的 `nn.Conv2d` 验证等变性（内部区域的差为 0），再把全局平均汇聚后的特征对比：
# 卷积特征在平移前后几乎不变，而全连接隐藏层的特征变化很大。


# %%
def rotation_matrix(angle_deg, size=8):
    """旋转 angle_deg 度（逆时针，图像坐标）的双线性插值矩阵 M：out_flat = in_flat @ M.T。"""
    phi = np.deg2rad(angle_deg)
    c = (size - 1) / 2
    M = np.zeros((size * size, size * size))
    cos, sin = np.cos(phi), np.sin(phi)
    for i in range(size):
        for j in range(size):
            # 逆映射：输出 (i, j) 从输入的 (si, sj) 取值；行 i 向下，列 j 向右
            di, dj = i - c, j - c
            si, sj = c + cos * di - sin * dj, c + sin * di + cos * dj
            i0, j0 = int(np.floor(si + 1e-9)), int(np.floor(sj + 1e-9))
            fi, fj = si - i0, sj - j0
            for a, wa in ((i0, 1 - fi), (i0 + 1, fi)):
                for b, wb in ((j0, 1 - fj), (j0 + 1, fj)):
                    if 0 <= a < size and 0 <= b < size and wa * wb > 1e-12:
                        M[i * size + j, a * size + b] += wa * wb
    return M


ANGLES = [-15.0, -10.0, -5.0, 0.0, 5.0, 10.0, 15.0]


def make_random_rotate(device):
    mats = tg.tensor(np.stack([rotation_matrix(a).T for a in ANGLES]).astype(np.float32), device=device)  # (K, 64, 64)

    def random_rotate(x):
        """数据增强：每个样本各自随机旋转 ANGLES 中的一个角度。x 形状 (B, 64)。"""
        B = x.shape[0]
        rotated = x.reshape(1, B, 64) @ mats                        # (K, B, 64)：所有角度一次算完
        choice = tg.randint(0, len(ANGLES), (B,), device=x.device)
        onehot = (choice.reshape(1, B) == tg.arange(len(ANGLES), device=x.device).reshape(-1, 1)).float()
        return (rotated * onehot.reshape(len(ANGLES), B, 1)).sum(dim=0)

    return random_rotate


def exercise5(device, quick):
    import tinygrad_zh.nn as nn

    lesson = load_lesson()
    data = lesson.load_data(device)
    epochs, lr = settings(lesson, quick)

    # 插值矩阵的检查
    img = data["X_test"][:5].cpu().numpy().reshape(5, 8, 8)
    eye_diff = float(np.abs(rotation_matrix(0.0) - np.eye(64)).max())
    r90 = (img.reshape(5, 64) @ rotation_matrix(90.0).T).reshape(5, 8, 8)
    rot90_diff = min(float(np.abs(r90 - np.rot90(img, k, axes=(1, 2))).max()) for k in (1, -1))
    rows_sum = rotation_matrix(10.0).sum(axis=1)
    print("练习 5：旋转增强")
    print(f"  0° 矩阵与单位矩阵的最大差 {eye_diff:.1e}；90° 与 np.rot90 的最大差 {rot90_diff:.1e}；"
          f"10° 时图内像素的插值权重之和 = 1：{bool(np.allclose(rows_sum[rows_sum > 0.999], 1))}")
    assert eye_diff < 1e-12 and rot90_diff < 1e-12
    random_rotate = make_random_rotate(device)
    tg.manual_seed(0)
    out = random_rotate(data["X_train"][:16])
    assert out.shape == (16, 64)

    # 三个模型：基线、平移增强、旋转增强；在原测试集、右移一格的测试集、旋转 12° 的测试集上比较
    X_test = data["X_test"]
    X_shift = lesson.shift_images(X_test.reshape(-1, 8, 8), 0, 1).reshape(-1, 64)
    X_rot = X_test @ tg.tensor(rotation_matrix(12.0).T.astype(np.float32), device=device)
    results = {}
    print(f"  各训练 {epochs} 轮；测试准确率：{'原图':>8}{'右移 1 格':>10}{'旋转 12°':>10}")
    for key, aug in (("基线", None), ("平移增强", lesson.random_shift), ("旋转增强", random_rotate)):
        model, _ = lesson.fit(key, data, epochs, device, lr=lr, augment=aug)
        accs = [lesson.evaluate(model, X, data["y_test"])[1] for X in (X_test, X_shift, X_rot)]
        results[key] = accs
        print(f"    {lesson.pad(key, 10)}" + "".join(f"{a:10.4f}" for a in accs))
    best_shift = max(results, key=lambda k: results[k][1])
    best_rot = max(results, key=lambda k: results[k][2])
    matched = best_shift == "平移增强" and best_rot == "旋转增强"
    print(f"  右移测试集上最好的是 {best_shift}，旋转测试集上最好的是 {best_rot}"
          + ("：各自对它模拟过的那种变化最稳健" if matched else "（这次运行没有显示出各自对应的优势）"))

    # 卷积的平移等变性
    tg.manual_seed(0)
    conv = nn.Conv2d(1, 8, 3, padding=1).to(device)
    fc = nn.Linear(64, 128).to(device)
    imgs = X_test[:100].reshape(-1, 1, 8, 8)
    shifted = lesson.shift_images(imgs.reshape(-1, 8, 8), 0, 1).reshape(-1, 1, 8, 8)
    with tg.no_grad():
        a, b = conv(imgs), conv(shifted)
        # 等变：conv(shift(x)) 的第 1..6 列 = conv(x) 的第 0..5 列（最右一列的感受野里，右移丢掉了原图的第 7 列）
        equiv = (b[:, :, :, 1:7] - a[:, :, :, 0:6]).abs().max().item()
        rel = lambda u, v: ((u - v) ** 2).sum().sqrt().item() / (u ** 2).sum().sqrt().item()   # noqa: E731
        conv_change = rel(a.relu().mean(dim=(2, 3)), b.relu().mean(dim=(2, 3)))
        fc_change = rel(fc(imgs.reshape(-1, 64)).relu(), fc(shifted.reshape(-1, 64)).relu())
    print(f"  随机 Conv2d：conv(右移的图) 与 右移后的 conv(图) 在内部的最大差 {equiv:.1e}（平移等变）")
    print(f"  右移一格后特征的相对变化：卷积 + 全局平均汇聚 {conv_change:.3f}，全连接隐藏层 {fc_change:.3f}")
    assert equiv < 1e-5 and conv_change < fc_change
    return {"rotation_test_acc": results, "conv_equivariance": equiv, "conv_feature_change": conv_change,
            "fc_feature_change": fc_change}


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
