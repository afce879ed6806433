"""第 08—10 课在快速模式 (--quick) 下都能跑通，且给出 参考结果 里写的数。

教师可以只跑某一课：``pytest -m lesson09``。
"""

import math

import pytest

from tinygrad_zh.lesson import load_definitions

from lesson_utils import (lesson_path, pngs as _pngs, quiet_output,  # noqa: F401  (quiet_output 是自动使用的 fixture)
                          run_lesson_script)


START_DIST = math.dist((-1.2, 1.0), (1.0, 1.0))   # 第 08 课的起点 (−1.2, 1) 离最小值 (1, 1) 2.2


@pytest.mark.lesson08
def test_lesson08a(tmp_path):
    r = run_lesson_script("08a")
    assert r["n_steps"] == 1000
    # 快速模式里动量法的效果已经看得见：同样的 α = 0.001，动量法走到最小值附近，SGD 还在山谷里
    assert r["dist"]["momentum"] < 0.02 and r["dist"]["sgd"] > 0.3 * START_DIST
    assert r["final_loss"]["momentum"] < 1e-3 * r["final_loss"]["sgd"]
    # 原文的动量法（照字面）在同样的起点、同样的学习率下发散；正确的与宽容读法不发散
    assert r["diverged_at"]["seed_momentum"] == 6
    for key in ("sgd", "momentum", "seed_momentum_as_step"):
        assert r["diverged_at"][key] is None and math.isfinite(r["dist"][key])
    assert r["dist"]["seed_momentum"] > r["dist"]["momentum"]
    # 照公式手写的动量法与 optim.SGD(momentum=0.9) 逐步相同
    assert r["hand_diff"]["momentum"] < 1e-12
    # 原文动量法：从最小值出发第一步就离开；梯度为 0 时按 r = (1 + √(1 + 4c))/2 增长
    assert r["seed_momentum_from_min"] == pytest.approx([1.8991, 1.8991], abs=1e-12)
    assert r["still_momentum_at_min"] == [1.0, 1.0]
    assert r["momentum_growth_measured"] == pytest.approx(r["momentum_growth_rate"], abs=1e-6)
    assert r["momentum_growth_rate"] == pytest.approx(1.5720, abs=1e-4)
    # 参考结果里快速模式那一份 REFERENCE 与真实的快速运行一致（汇总表另一列不会过时）
    ref = load_definitions(lesson_path("08a")).REFERENCE["quick"]
    for key, value in ref["final_loss"].items():
        assert r["final_loss"][key] == pytest.approx(value, rel=2e-3), key
    assert _pngs(tmp_path) == ["08a_momentum_losses.png", "08a_momentum_paths.png"]


@pytest.mark.lesson08
def test_lesson08b(tmp_path):
    r = run_lesson_script("08b")
    assert r["n_steps"] == 1000
    # 快速模式里正确的自适应方法也明显走近最小值 (1, 1)（动量法是上半课的对照）
    for key in ("momentum", "adagrad", "rmsprop", "adam"):
        assert r["dist"][key] < 0.35 * START_DIST
    assert r["dist"]["adam"] < 0.01 and r["dist"]["momentum"] < 0.02
    # 原文 §4.2.1 的分母 1 − β1^t + β2^t 不在 (1, 1.1) 里
    den = r["seed_adam_denominator"]
    assert den["argmax"] == 45 and den["max"] == pytest.approx(1.947, abs=1e-3)
    assert den["t1"] == pytest.approx(1.099, abs=1e-9) and den["t1000"] == pytest.approx(1.368, abs=1e-3)
    # 原文的两个 Adam 公式在同样的起点、同样的学习率下发散；正确的不发散
    assert r["diverged_at"]["seed_adam_412"] == 15 and r["diverged_at"]["seed_adam_421"] == 4
    for key in ("sgd", "momentum", "adagrad", "rmsprop", "adam", "seed_momentum_as_step"):
        assert r["diverged_at"][key] is None and math.isfinite(r["dist"][key])
    assert r["dist"]["seed_adam_421"] > r["dist"]["adam"]
    assert r["final_loss"]["seed_adagrad"] > 3 * r["final_loss"]["adagrad"]
    assert r["final_loss"]["seed_rmsprop"] > 3 * r["final_loss"]["rmsprop"]
    # 照公式手写的正确规则与 optim 逐步相同
    assert all(r["hand_diff"][k] < 1e-12 for k in ("adagrad", "adam"))
    assert r["hand_diff"]["rmsprop"] < 1e-2      # 从第 499 步起舍入顺序不同，两条路径慢慢分开（课里有解释）
    # Adam 第一步：手算（含偏差修正）与 optim.Adam 相同，每个坐标走 α；不修正时大 3.162 倍
    assert r["adam_g1"] == pytest.approx([-215.6, -88.0], abs=1e-9)
    assert r["adam_m1"] == pytest.approx([-21.56, -8.8], abs=1e-9)
    assert r["adam_v1"] == pytest.approx([46.48336, 7.744], abs=1e-9)
    assert r["adam_theta1_hand"] == pytest.approx([-1.1, 1.1], abs=1e-9) and r["adam_first_step_diff"] < 1e-12
    assert r["adam_no_correction_ratio"] == pytest.approx(math.sqrt(10), rel=1e-6)
    # 尺度测试：SGD 与原文 Adam 的步长 ∝ 尺度，原文 AdaGrad / RMSprop ∝ 1/尺度，正确的自适应方法不变
    steps = r["first_step_sizes"]
    for name in ("AdaGrad (α=0.5)", "RMSprop (α=0.01)", "Adam (α=0.1)"):
        assert steps[name][0] == pytest.approx(steps[name][2], rel=1e-6)
    for name in ("SGD (α=0.001)", "原文 Adam §4.1.2", "原文 Adam §4.2.1"):
        assert steps[name][2] / steps[name][1] == pytest.approx(100, rel=1e-6)
    for name in ("原文 AdaGrad", "原文 RMSprop"):
        assert steps[name][1] / steps[name][2] == pytest.approx(100, rel=1e-6)
    adam = list(r["scale_adam_loss"].values())
    assert max(adam) - min(adam) < 1e-6 * adam[0]
    assert r["scale_seed_adam_diverged_at"][100.0] == 3 and r["scale_seed_adam_diverged_at"][1.0] is None
    # SGD 的 L2 = 权重衰减；Adam 的 L2 与 λ 无关，AdamW 按 (1 − αλ)^t 衰减
    assert r["sgd_decay_final"] == pytest.approx(r["sgd_decay_formula"], abs=1e-12)
    decay = r["adamw_final"]
    assert decay["Adam(weight_decay=0.1)"] == pytest.approx(decay["Adam(weight_decay=0.001)"], abs=1e-3)
    assert decay["AdamW(weight_decay=0.1)"] == pytest.approx((1 - 0.001) ** 200, rel=1e-9)
    assert decay["AdamW(weight_decay=0.001)"] == pytest.approx((1 - 1e-5) ** 200, rel=1e-9)
    assert r["lambda_vs_warmup_cosine"] < 1e-12
    # 余弦退火让恒定学习率时在最小值附近打转的 RMSprop 停下来（课文的结论句由这两个数算出）
    assert r["rmsprop_cosine_loss"] < r["rmsprop_const_loss"]
    # 参考结果里快速模式那一份 REFERENCE 与真实的快速运行一致（下半课的类继承上半课的 FormulaOptimizer）
    ref = load_definitions(lesson_path("08b"), base=load_definitions(lesson_path("08a"))).REFERENCE["quick"]
    for key, value in ref["final_loss"].items():
        assert r["final_loss"][key] == pytest.approx(value, rel=2e-3), key
    assert _pngs(tmp_path) == ["08b_adam_vs_adamw.png", "08b_lr_schedules.png", "08b_optimizer_losses.png",
                               "08b_optimizer_paths.png"]


@pytest.mark.lesson09
def test_lesson09(tmp_path):
    r = run_lesson_script("09")
    assert r["epochs"] == 60 and r["n_flipped"] == 40
    hand = r["hand_example"]
    assert hand["accuracy"] == pytest.approx(0.7)
    assert hand["macro_precision"] == pytest.approx((2 / 3 + 2 / 3 + 3 / 4) / 3)
    assert hand["macro_recall"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert hand["macro_f1"] == pytest.approx((4 / 7 + 2 / 3 + 6 / 7) / 3)
    assert hand["micro_precision"] == hand["micro_recall"] == pytest.approx(0.7)
    assert hand["micro_f1"] == pytest.approx(0.7) and r["hand_example_diff"] < 1e-12
    assert r["hand_confusion"] == [[2, 1, 1], [1, 2, 0], [0, 0, 3]]
    assert r["imbalance_trap"] == {"accuracy": 0.95, "recall": 0.0, "f1": 0.0}
    runs = r["runs"]
    assert set(runs) == {"clean", "baseline", "l2", "l1", "dropout", "augment", "early_stop", "combined"}
    assert runs["early_stop"]["same_as_baseline"] == 0.0
    for name, m in r["test"].items():
        assert m["micro_f1"] == pytest.approx(m["accuracy"])   # 单标签多分类：微平均 F1 = 准确率
        assert 0.0 < m["accuracy"] <= 1.0
    # 快速模式也要过拟合：验证准确率过了峰值又下降、验证损失回升，而训练准确率继续上升
    base = runs["baseline"]
    assert base["peak_epoch"] < r["epochs"] and base["val_acc"] < base["peak_val_acc"] - 0.05
    assert base["val_loss"] > base["best_val_loss"] + 0.2 and base["train_acc"] > base["train_acc_at_peak"] + 0.1
    assert runs["clean"]["test_acc"] > 0.85 and runs["baseline"]["test_acc"] < runs["early_stop"]["test_acc"]
    # 课文说“基线比其余模型差一大截”：每个正则化的模型都比基线高，且差距大于种子噪声（约两个百分点）
    assert set(r["baseline_gaps"]) == set(runs) - {"clean", "baseline"} and min(r["baseline_gaps"].values()) > 0.02
    # L1：次梯度步得不到正好为 0 的权重，近端步（软阈值）可以
    z = r["l1_exact_zeros"]
    assert z["n_weights"] == 84480 and z["exact_zeros_l1"] == 0 and z["exact_zeros_prox"] > 0.02 * z["n_weights"]
    assert sum(map(sum, r["confusion_baseline"])) == 1297
    ref = load_definitions(lesson_path("09")).REFERENCE["quick"]   # 参考结果里快速模式那一份与真实运行一致
    for key, value in ref["test_acc"].items():
        assert runs[key]["test_acc"] == pytest.approx(value, abs=0.02), key
    assert _pngs(tmp_path) == ["09_augmentation.png", "09_confusion_matrix.png", "09_train_val_curves.png"]


@pytest.mark.lesson10
def test_lesson10(tmp_path):
    r = run_lesson_script("10")
    act, grad = r["act_std"], r["grad_std"]
    assert len(act["relu_kaiming"]) == 9 and len(grad["relu_kaiming"]) == 10
    assert act["tanh_small"][-1] < 1e-6 and max(grad["tanh_small"]) < 1e-8        # 消失
    assert act["relu_large"][-1] > 1e6                                            # 爆炸
    assert min(r["special"]["tanh_large"]) > 0.6                                  # tanh 饱和
    assert all(0.5 < s < 1.2 for s in act["relu_kaiming"])                        # Kaiming 保持方差
    assert all(0.4 < s < 0.9 for s in act["tanh_xavier"])
    assert act["relu_xavier"][-1] < 0.1 * act["relu_xavier"][0]                    # 给 ReLU 少了 √2
    assert act["relu_default"][-1] < 0.1 * act["relu_default"][0]
    assert all(0.4 < s < 0.8 for s in act["relu_small_ln"])                       # LayerNorm 救回
    assert r["initial_loss"]["tanh_small"] == pytest.approx(math.log(10), abs=1e-3)
    # BatchNorm 按列、LayerNorm 按行；BN 依赖同一批的其他样本，LN 不依赖
    for col in zip(*r["bn"]):
        assert sum(col) == pytest.approx(0.0, abs=1e-5)
    for row in r["ln"]:
        assert sum(row) == pytest.approx(0.0, abs=1e-5)
    assert r["bn"][0] == pytest.approx([-1.3416, -1.0690, -1.3416], abs=1e-4)
    assert r["ln"][0] == pytest.approx([-0.8054, -0.6040, 1.4094], abs=1e-4)
    assert r["ln_vs_functional"] < 1e-5 and r["ln_vs_module"] < 1e-5
    assert r["bn_batch_dependence"] > 0.1 and r["ln_batch_dependence"] < 1e-6
    assert r["bn_single"] == [[0.0, 0.0, 0.0]]
    # 30 步训练：太小的初始化停在 ln 10；Kaiming 在学；LayerNorm 让太小的初始化也能学
    loss = r["train_final_loss"]
    assert loss["tanh_small"] == pytest.approx(math.log(10), abs=0.01)
    assert loss["relu_small"] == pytest.approx(math.log(10), abs=0.01)
    assert loss["relu_kaiming"] < 1.5 and loss["relu_small_ln"] < 1.5
    ref = load_definitions(lesson_path("10")).REFERENCE["quick"]   # 参考结果里快速模式那一份 = 真实快速运行的数
    for key, value in ref["train_final_loss"].items():
        if key in ("tanh_large", "relu_small_ln"):    # 对舍入敏感，只查大致范围
            assert loss[key] > 0.5 * value if key == "tanh_large" else loss[key] < 1.5, key
        else:
            assert loss[key] == pytest.approx(value, abs=2e-3), key
            assert r["val_acc"][key] == pytest.approx(ref["val_acc"][key], abs=0.02), key
    assert _pngs(tmp_path) == ["10_activation_histograms.png", "10_bn_vs_ln.png", "10_layer_std.png",
                               "10_training.png"]
