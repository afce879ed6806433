"""GPT 基准的参照实现 ``benchmarks/gpt_numpy.py``（手写前向、反向、裁剪与 AdamW）是对的。

基准拿框架和它比速度，所以它必须和框架算的是同一件事：同一组权重下，损失、每个参数的梯度、
裁剪加 AdamW 一步之后的参数都与框架一致（float64 下到舍入误差）；梯度还要独立地与中心差分对上，
免得两边错得一样。配置很小，整个文件一两秒跑完。
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_gpt  # noqa: E402
from gpt_numpy import HandGPT  # noqa: E402
from tinygrad_zh import backend  # noqa: E402
from tinygrad_zh.models.gpt import GPTConfig  # noqa: E402
from tinygrad_zh.testing import StrictArray, strict_xp  # noqa: E402

TINY = GPTConfig(block_size=8, vocab_size=23, n_layer=2, n_head=2, n_embd=16, dropout=0.0, bias=True)
TINY_ARGS = ["--batch", "3", "--block-size", "8", "--n-layer", "2", "--n-head", "2", "--n-embd", "16",
             "--vocab", "23"]


def _worst(errors):
    return max(errors.values())


@pytest.mark.parametrize("seq_len", [8, 5])
def test_hand_matches_framework_float64(seq_len):
    res = bench_gpt.compare(TINY, batch=3, dtype=np.float64, with_torch=False, seq_len=seq_len)
    assert abs(res["loss"]["hand"] - res["loss"]["framework"]) < 1e-12
    # 2 层 × 12 个 + 词嵌入、位置嵌入、ln_f 的 2 个 = 28 个参数，一个不少
    assert len(res["grad_err"]) == len(res["param_err"]) == 28
    assert _worst(res["grad_err"]) < 1e-10, res["grad_err"]
    assert _worst(res["param_err"]) < 1e-9, res["param_err"]
    if seq_len < TINY.block_size:  # 没用到的位置没有梯度
        assert not np.any(res["hand"].grads["transformer.wpe.weight"][seq_len:])


def test_hand_matches_framework_float32():
    res = bench_gpt.compare(TINY, batch=3, dtype=np.float32, with_torch=False)
    assert abs(res["loss"]["hand"] - res["loss"]["framework"]) < 1e-5 * res["loss"]["framework"]
    assert _worst(res["grad_err"]) < 1e-4, res["grad_err"]
    hand = res["hand"]
    for name in hand.params:  # 没有悄悄变成 float64 的数组
        assert hand.params[name].dtype == hand.grads[name].dtype == hand.exp_avg_sq[name].dtype == np.float32


def test_hand_model_runs_on_strict_device():
    """严格替身设备（像 CuPy 一样拒绝隐式转成 NumPy、拒绝与 NumPy 数组混用）上跑完整的一步，结果与 CPU 相同：
    说明手写模型的数据路径只用了 xp，``--device cuda`` 时换成 CuPy 也能跑。"""
    state = bench_gpt.gpt2_state(TINY, np.float64, seed=2)
    idx, targets = bench_gpt.make_batch(TINY, 3, seed=2, ignore_some=True, seq_len=7)
    cpu = HandGPT(state, TINY.n_head)
    strict = HandGPT({k: backend.to_device(v, "strict") for k, v in state.items()}, TINY.n_head,
                     xp=strict_xp, erf=backend.erf, scatter_add=backend.scatter_add)
    loss_cpu = cpu.step(idx, targets)
    loss_strict = strict.step(backend.to_device(idx, "strict"), backend.to_device(targets, "strict"))
    assert isinstance(loss_strict, StrictArray)
    assert float(loss_strict) == pytest.approx(float(loss_cpu), rel=1e-13)
    for name, p in cpu.params.items():
        np.testing.assert_allclose(backend.to_numpy(strict.params[name]), p, rtol=1e-12, atol=1e-15, err_msg=name)


def test_hand_gradients_match_central_differences():
    """与框架无关的检验：float64 下，任取几个参数元素，解析梯度 = (L(θ+h) − L(θ−h)) / 2h。"""
    rng = np.random.default_rng(3)
    state = bench_gpt.gpt2_state(TINY, np.float64, seed=3)
    for name in state:  # 规范化层的参数换成非平凡的值，否则 w=1、b=0 的特殊情形可能掩盖错误
        if "ln_" in name or name.endswith("bias"):
            state[name] = state[name] + rng.standard_normal(state[name].shape) * 0.3
    idx, targets = bench_gpt.make_batch(TINY, 2, seed=3, ignore_some=True, seq_len=6)
    hand = HandGPT(state, TINY.n_head)
    hand.loss_and_grads(idx, targets)
    grads = {k: g.copy() for k, g in hand.grads.items()}
    h = 1e-6
    for name in ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight",
                 "transformer.h.0.attn.c_attn.weight", "transformer.h.1.attn.c_proj.bias",
                 "transformer.h.0.mlp.c_fc.weight", "transformer.h.1.mlp.c_proj.weight", "transformer.ln_f.bias"]:
        p = hand.params[name]
        for flat in rng.choice(p.size, 4, replace=False):
            pos = np.unravel_index(flat, p.shape)
            old = p[pos]
            p[pos] = old + h
            up = float(hand.loss_and_grads(idx, targets))
            p[pos] = old - h
            down = float(hand.loss_and_grads(idx, targets))
            p[pos] = old
            numeric = (up - down) / (2 * h)
            assert abs(numeric - grads[name][pos]) < 1e-7 + 1e-5 * abs(numeric), (name, pos, numeric, grads[name][pos])


def test_clip_and_adamw_by_hand():
    """裁剪后总范数恰为 max_norm；AdamW 第一步 = θ(1 − γλ) − γ·g/(|g| + ε)（偏差修正后 m̂ = g，√v̂ = |g|）。"""
    state = bench_gpt.gpt2_state(TINY, np.float64, seed=1)
    idx, targets = bench_gpt.make_batch(TINY, 2, seed=1)
    hand = HandGPT(state, TINY.n_head, lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1, max_norm=0.05)
    hand.loss_and_grads(idx, targets)
    before = float(np.sqrt(sum(np.sum(g * g) for g in hand.grads.values())))
    assert before > 0.05  # 确实会被裁剪
    returned = float(hand.clip_grad_norm())
    after = float(np.sqrt(sum(np.sum(g * g) for g in hand.grads.values())))
    assert returned == pytest.approx(before, rel=1e-12)
    assert after == pytest.approx(0.05 * before / (before + 1e-6), rel=1e-12)
    grads = {k: g.copy() for k, g in hand.grads.items()}
    hand.adamw()
    for name, p0 in state.items():
        decay = 0.1 if p0.ndim >= 2 else 0.0
        g = grads[name]
        expected = p0 * (1 - 0.01 * decay) - 0.01 * g / (np.abs(g) + 1e-8)
        np.testing.assert_allclose(hand.params[name], expected, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="没有安装 torch（可选的对照）")
def test_torch_column_matches_framework():
    res = bench_gpt.compare(TINY, batch=3, dtype=np.float64, with_torch=True)
    assert abs(res["loss"]["torch"] - res["loss"]["framework"]) < 1e-12
    assert _worst(res["torch_grad_err"]) < 1e-10
    assert _worst(res["torch_param_err"]) < 1e-9


def test_cli_check_and_bench_run(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_gpt.main(["--check", "--no-torch"] + TINY_ARGS)
    assert exit_info.value.code == 0
    assert "结论：一致" in capsys.readouterr().out
    bench_gpt.main(["--steps", "1", "--repeat", "1", "--no-torch", "--no-memory"] + TINY_ARGS)
    out = capsys.readouterr().out
    assert "比值 框架 / 手写 NumPy" in out and "tokens/s" in out


def test_memory_child_reports_numpy_arrays(capsys):
    bench_gpt.main(["--_memory-child", "hand"] + TINY_ARGS)
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # 一步里至少要分配 logits (B·T·V) 那么大的临时数组
    assert res["step_mib"] * 2 ** 20 >= 3 * 8 * 23 * 4  # float32
    assert res["rss_mib"] is not None and res["device_mib"] is None
