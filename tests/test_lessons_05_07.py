"""第 05—07 课在快速模式 (--quick) 下都能跑通，且给出 参考结果 里写的数。

教师可以只跑某一课：``pytest -m lesson06``。
"""

import math
import pathlib
import warnings

import pytest

from lesson_utils import (lesson_path, load, pngs as _pngs, quiet_output,  # noqa: F401  (自动使用的 fixture)
                          run_lesson_script)
from tinygrad_zh.lesson import load_definitions


@pytest.mark.lesson05
def test_lesson05(tmp_path):
    r = run_lesson_script("05")
    assert r["n_samples"] == 200 and r["n_batches"] == 7 and r["n_steps"] == 28
    assert r["w_true"] == pytest.approx([0.5, -0.9]) and r["b_true"] == 4.2
    assert r["module_diff"] == 0.0 and r["sgd_step_diff"] == 0.0
    assert r["mse_grad_diff"] < 1e-5 and r["broadcast_warned"]
    assert r["initial_loss"] == pytest.approx(23.6684, abs=1e-3)
    assert 0.25 < r["final_loss"] < 0.35 and 0.25 < r["const_final_loss"] < 0.35
    # 闭式解：与 NumPy lstsq 相同，离真实参数约 σ/√N；它的训练损失不高于真实参数的
    assert r["w_lstsq"] == pytest.approx([0.5061, -0.8879], abs=1e-3)
    assert r["b_lstsq"] == pytest.approx(4.1960, abs=1e-3)
    assert r["gap_lstsq_to_true"] < 0.05 and r["mse_lstsq"] <= r["mse_true"]
    assert r["gap_to_lstsq"] < 0.2
    assert _pngs(tmp_path) == ["05_fitted_plane.png", "05_loss_curve.png"]


@pytest.mark.lesson06
def test_lesson06(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 故意的上溢都在 np.errstate 里，不应漏出警告
        r = run_lesson_script("06")
    assert r["softmax_example"] == pytest.approx([0.6590, 0.2424, 0.0986], abs=1e-4)
    assert all(math.isnan(v) for v in r["naive_big"])
    assert r["stable_big"] == pytest.approx([0.0900, 0.2447, 0.6652], abs=1e-4)
    assert r["stable_small"] == pytest.approx([0.6652, 0.2447, 0.0900], abs=1e-4)
    assert r["lse_trick"] == pytest.approx(1002.4076, abs=1e-3)
    assert r["naive_logp"][1] == -math.inf and r["stable_logp"] == pytest.approx([0.0, -200.0])
    assert r["ce_grad_diff"] < 1e-6
    assert r["composed_loss_extreme"] == math.inf and r["composed_grad_is_nan"]
    assert r["fused_loss_extreme"] == pytest.approx(200.0) and r["fused_grad_extreme"] == pytest.approx([-1.0, 1.0])
    assert r["initial_loss"] == pytest.approx(math.log(3), rel=1e-6)
    assert r["train_acc"] == pytest.approx(r["train_acc_by_hand"], abs=1e-6)
    # 线性分类器分不开螺旋：比瞎猜 (1/3) 好，但远不到 0.7
    assert 0.4 < r["train_acc"] < 0.7 and 0.4 < r["test_acc"] < 0.7
    assert 0.7 < r["final_loss"] < 0.8
    ref = load_definitions(lesson_path("06")).REFERENCE_QUICK   # 参考结果里的数 = 真实快速运行的数
    for key, value in ref.items():
        assert r[key] == pytest.approx(value, abs=6e-4), key
    assert _pngs(tmp_path) == ["06_softmax_regions.png"]


@pytest.mark.lesson07
def test_lesson07(tmp_path):
    r = run_lesson_script("07")
    assert r["act_max_err"] < 1e-12
    assert r["max_deriv"]["sigmoid"] == pytest.approx(0.25) and r["max_deriv"]["tanh"] == pytest.approx(1.0)
    assert r["max_deriv"]["GELU"] == pytest.approx(1.1289, abs=1e-3) and r["gelu_tanh_gap"] < 1e-3
    assert r["tanh_sum"] == pytest.approx(0.9640, abs=1e-4) and r["softmax_sum"] == pytest.approx(1.0)
    assert r["collapse_diff"] < 1e-5
    assert r["n_params"] == 4547 and r["init_within_bound"]
    assert r["he_std"] == pytest.approx(math.sqrt(2 / 64), rel=0.1)
    assert r["symmetric_row_gap"] < 1e-6
    # 快速模式也要看出隐藏层的作用：每个 MLP 的训练、测试准确率都胜过线性模型
    for act in ("sigmoid", "tanh", "ReLU", "GELU"):
        assert r["spiral_train_acc"][act] > r["spiral_train_acc"]["linear"] + 0.05
        assert r["spiral_test_acc"][act] > r["spiral_test_acc"]["linear"] + 0.05
    assert r["spiral_train_acc"]["ReLU"] > 0.9
    assert r["digits_initial_loss"] == pytest.approx(math.log(10), abs=0.05)
    assert r["digits_test_acc"] > 0.9 and r["fresh_acc"] < 0.3
    assert r["reload_diff"] == 0.0 and r["reload_acc"] == r["digits_test_acc"]
    assert pathlib.Path(r["checkpoint"]).is_file()
    assert _pngs(tmp_path) == ["07_activations.png", "07_digits.png", "07_mlp_spiral.png"]
