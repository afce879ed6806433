# %% [markdown]
# # 第 09 课 ★ 练习答案
#
# 运行方式：`python lessons/answers/09_overfitting_regularization_answers.py [--quick] [--device cuda]`

# %%
from pathlib import Path

import numpy as np

from tinygrad_zh import metrics
from tinygrad_zh.lesson import load_definitions, run_lesson


def load_lesson():
    """取第 09 课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "09_overfitting_regularization.py")


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
    return {"confusion_diff": diff}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device, quick))
    results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
