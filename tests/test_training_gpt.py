"""tinygrad_zh.training：训练一个很小的 GPT 几十步、学习率调度、逐位一致的续训、Ctrl-C 存盘、检查点内容与曲线。

都用几百个字的小语料和 1 层 32 维的模型，在 CPU 上每个测试几秒以内。
"""

import dataclasses
import json
import math

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.training as training
from tinygrad_zh import backend
from tinygrad_zh.data import CharTokenizer
from tinygrad_zh.models.gpt import GPT
from tinygrad_zh.serialization import CheckpointError
from tinygrad_zh.training import (CPU_CONFIG, GPU_CONFIG, ConfigError, TrainConfig, evaluate, fixed_batches, get_batch,
                                  load_checkpoint, prepare_data, preset, resolve_device, train)
from tiny_run import POEM, write_corpus


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path)


def tiny(corpus, out_dir, **changes):
    cfg = TrainConfig(n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=16, max_steps=40, warmup_steps=2,
                      learning_rate=1e-2, min_lr=1e-3, eval_interval=20, eval_batches=4, data=corpus,
                      out_dir=str(out_dir), device="cpu")
    return cfg.replace(**changes)


class Stop:
    """回调：做完第 at 步后模拟按下 Ctrl-C。"""

    def __init__(self, at):
        self.at = at

    def __call__(self, step, info):
        if step == self.at:
            raise KeyboardInterrupt


# ---------------------------------------------------------------------------- 训练本身

def test_tiny_gpt_loss_starts_at_ln_v_and_falls_well_below(corpus, tmp_path):
    result = train(tiny(corpus, tmp_path / "run"), progress=False, verbose=False)
    h = result.history
    ln_v = math.log(result.tokenizer.vocab_size)
    assert result.tokenizer.vocab_size == len(set(POEM)) + 1          # 每个不同的字一个编号，加 <unk>
    assert h["eval_step"] == [0, 20, 40]
    assert abs(h["val_loss"][0] - ln_v) < 0.1                          # 初始化时接近均匀分布
    assert abs(h["loss"][0] - ln_v) < 0.1
    assert h["val_loss"][-1] < 0.3 * ln_v                              # 40 步后远低于 ln V（这份语料几乎是背诵）
    assert np.mean(h["loss"][-5:]) < 0.3 * ln_v
    assert result.step == 40 and h["step"] == list(range(1, 41))
    assert result.val_loss == h["val_loss"][-1]
    assert result.val_ppl == pytest.approx(math.exp(result.val_loss))
    assert np.allclose(h["val_ppl"], np.exp(h["val_loss"]))
    assert math.isnan(h["train_loss"][0]) and h["train_loss"][1] == pytest.approx(np.mean(h["loss"][:20]))
    assert math.isnan(h["tokens_per_s"][0]) and all(s > 0 for s in h["tokens_per_s"][1:])


def test_learning_rate_schedule_is_warmup_cosine_shifted_by_one_step(corpus, tmp_path):
    cfg = tiny(corpus, tmp_path / "run", max_steps=12, warmup_steps=4, eval_interval=12, eval_batches=1)
    lrs = train(cfg, progress=False, verbose=False).history["lr"]
    lr, min_lr, W, T = cfg.learning_rate, cfg.min_lr, cfg.warmup_steps, cfg.max_steps
    expected = []
    for i in range(T):                       # 第 i 步用 lr(i + 1)
        t = i + 1
        if t < W:
            expected.append(lr * t / W)
        else:
            expected.append(min_lr + (lr - min_lr) * (1 + math.cos(math.pi * (t - W) / (T - W))) / 2)
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert lrs[0] == pytest.approx(lr / W) and lrs[W - 1] == pytest.approx(lr) and lrs[-1] == pytest.approx(min_lr)


def test_training_on_strict_device_matches_cpu(corpus, tmp_path):
    # 严格替身设备拒绝与 NumPy 混算：训练循环里任何把设备数组当 NumPy 用的地方都会在这里报错
    runs = {dev: train(tiny(corpus, tmp_path / dev, device=dev, max_steps=4, eval_interval=2, eval_batches=2,
                            dropout=0.1), progress=False, verbose=False) for dev in ("cpu", "strict")}
    assert backend.device_of(next(runs["strict"].model.parameters()).data) == "strict"
    np.testing.assert_allclose(runs["strict"].history["loss"], runs["cpu"].history["loss"], rtol=1e-6)
    np.testing.assert_allclose(runs["strict"].history["val_loss"], runs["cpu"].history["val_loss"], rtol=1e-6)


# ---------------------------------------------------------------------------- 续训与中断

def test_resume_after_interrupt_is_bit_for_bit_identical(corpus, tmp_path):
    # dropout > 0：续训还必须恢复全局生成器（暂退掩码）；第 13 步不在评估点上
    cfg = tiny(corpus, tmp_path / "straight", max_steps=24, eval_interval=8, eval_batches=2, dropout=0.1)
    straight = train(cfg, progress=False, verbose=False)

    cfg = cfg.replace(out_dir=str(tmp_path / "resumed"))
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=False, verbose=False, callback=Stop(13))
    tg.manual_seed(999)                     # 打乱全局状态：一切都必须来自检查点
    resumed = train(cfg.replace(eval_batches=2), resume=True, progress=False, verbose=False)

    assert resumed.history["loss"] == straight.history["loss"]          # Python float 逐位相等
    assert resumed.history["lr"] == straight.history["lr"]
    assert resumed.history["eval_step"] == straight.history["eval_step"] == [0, 8, 16, 24]
    assert resumed.history["val_loss"] == straight.history["val_loss"]
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert list(a) == list(b)
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def test_keyboard_interrupt_saves_a_checkpoint_at_the_last_finished_step(corpus, tmp_path, capsys):
    cfg = tiny(corpus, tmp_path / "run", eval_interval=100)   # 中断前一次也没保存过
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=False, verbose=False, callback=Stop(7))
    path = tmp_path / "run" / "ckpt.npz"
    assert str(path) in capsys.readouterr().out
    ckpt = tg.load(path)
    assert ckpt["step"] == 7
    assert ckpt["history"]["step"] == list(range(1, 8)) and ckpt["history"]["eval_step"] == [0]
    assert ckpt["scheduler"]["last_epoch"] == 8                 # 下一步（第 7 步，从 0 数）用 lr(8)
    assert all(s["step"] == 7 for s in ckpt["optimizer"]["state"].values())


def test_interrupt_during_the_final_evaluation_is_caught_up_on_resume(corpus, tmp_path, monkeypatch):
    cfg = tiny(corpus, tmp_path / "straight", max_steps=8, eval_interval=4, eval_batches=2)
    straight = train(cfg, progress=False, verbose=False)

    real_evaluate, calls = training.evaluate, []

    def evaluate_interrupted_at_the_end(model, batches):   # 第 0、4 步正常评估，第 8 步评估时按下 Ctrl-C
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_evaluate(model, batches)

    cfg = cfg.replace(out_dir=str(tmp_path / "resumed"))
    monkeypatch.setattr(training, "evaluate", evaluate_interrupted_at_the_end)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=False, verbose=False)
    monkeypatch.setattr(training, "evaluate", real_evaluate)
    saved = tg.load(tmp_path / "resumed" / "ckpt.npz")
    assert saved["step"] == 8 and saved["history"]["eval_step"] == [0, 4]

    resumed = train(cfg, resume=True, progress=False, verbose=False)   # 不再训练，只补上第 8 步的评估并保存
    assert resumed.history["eval_step"] == [0, 4, 8]
    assert resumed.history["val_loss"] == straight.history["val_loss"]
    assert tg.load(tmp_path / "resumed" / "ckpt.npz")["history"]["eval_step"] == [0, 4, 8]


def test_a_failing_plot_does_not_stop_training(corpus, tmp_path, monkeypatch, capsys):
    def broken_plot(*args):
        raise RuntimeError("没有可用的画图后端")

    cfg = tiny(corpus, tmp_path / "run", max_steps=2, eval_interval=2, eval_batches=1)
    train(cfg, progress=False, verbose=False)          # 先正常训练一次（装了 matplotlib 时留下 loss.png）
    monkeypatch.setattr(training, "plot_losses", broken_plot)
    result = train(cfg, progress=False)
    assert result.step == 2 and result.plot is None                    # 不报告上一次运行留下的旧图
    assert (tmp_path / "run" / "ckpt.npz").exists()
    assert "警告：损失曲线没有画成" in capsys.readouterr().out


def test_resume_refuses_a_different_model_or_missing_checkpoint(corpus, tmp_path):
    cfg = tiny(corpus, tmp_path / "run", max_steps=4, eval_interval=4, eval_batches=1)
    with pytest.raises(FileNotFoundError, match="找不到检查点"):
        train(cfg, resume=True, progress=False, verbose=False)
    train(cfg, progress=False, verbose=False)
    with pytest.raises(ConfigError, match=r"n_embd: 检查点 32 → 现在 64"):
        train(cfg.replace(n_embd=64), resume=True, progress=False, verbose=False)
    done = train(cfg, resume=True, progress=False, verbose=False)   # 已经训练完：什么也不做，结果照旧
    assert done.step == 4 and len(done.history["loss"]) == 4


# ---------------------------------------------------------------------------- 检查点、曲线

def test_checkpoint_contents_and_load_checkpoint(corpus, tmp_path):
    cfg = tiny(corpus, tmp_path / "run", max_steps=6, eval_interval=3, eval_batches=2)
    result = train(cfg, progress=False, verbose=False)
    path = tmp_path / "run" / "ckpt.npz"
    assert result.checkpoint == str(path)

    with np.load(path, allow_pickle=False) as z:                 # 普通 .npz，不需要 pickle
        structure = json.loads(z["__tinygrad_zh__.json"].decode("utf-8"))
        arrays = [z[name] for name in z.files if name != "__tinygrad_zh__.json"]
    assert structure["format"] == "tinygrad_zh.checkpoint"
    assert arrays and all(isinstance(a, np.ndarray) and a.dtype != object for a in arrays)

    ckpt = tg.load(path)
    assert {"format", "version", "step", "config", "model_config", "vocab", "model", "optimizer", "scheduler",
            "rng", "history"} <= set(ckpt)
    assert ckpt["step"] == 6
    assert TrainConfig.from_dict(ckpt["config"]) == cfg
    assert json.loads(json.dumps(ckpt["config"])) == cfg.to_dict()
    assert ckpt["vocab"] == result.tokenizer.itos
    assert CharTokenizer(ckpt["vocab"][1:]).encode(POEM) == result.tokenizer.encode(POEM)
    assert ckpt["model_config"] == dict(block_size=16, vocab_size=result.tokenizer.vocab_size, n_layer=1,
                                        n_head=2, n_embd=32, dropout=0.0, bias=True)
    assert set(ckpt["rng"]) == {"batch", "global"} and ckpt["rng"]["batch"]["bit_generator"] == "PCG64"
    assert ckpt["history"]["val_loss"] == result.history["val_loss"]

    model, tokenizer, loaded = load_checkpoint(path, device="cpu")
    assert isinstance(model, GPT) and not model.training
    assert tokenizer.itos == result.tokenizer.itos and loaded["step"] == 6
    x = tg.tensor([result.tokenizer.encode(POEM[:16])])
    result.model.eval()
    with tg.no_grad():
        np.testing.assert_array_equal(model(x)[0].numpy(), result.model(x)[0].numpy())
    assert model.lm_head.weight is model.transformer.wte.weight        # 加载后仍是绑定的


def test_load_checkpoint_rejects_files_that_are_not_gpt_checkpoints(tmp_path):
    other = tmp_path / "other.npz"
    tg.save({"model": {"w": np.zeros(3)}}, other)
    with pytest.raises(CheckpointError, match="不是 GPT 训练检查点"):
        load_checkpoint(other, device="cpu")
    text = tmp_path / "notes.txt"
    text.write_text("你好", encoding="utf-8")
    with pytest.raises(CheckpointError, match="不是 tg.save 写的检查点"):
        load_checkpoint(text, device="cpu")
    with pytest.raises(FileNotFoundError, match="找不到检查点"):
        load_checkpoint(tmp_path / "missing.npz", device="cpu")


def test_loss_curve_png_is_written_next_to_the_checkpoint(corpus, tmp_path):
    pytest.importorskip("matplotlib")
    result = train(tiny(corpus, tmp_path / "run", max_steps=4, eval_interval=2, eval_batches=1),
                   progress=False, verbose=False)
    assert result.plot == str(tmp_path / "run" / "loss.png")
    with open(result.plot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["ckpt.npz", "loss.png"]   # 没有残留的临时文件


# ---------------------------------------------------------------------------- 数据

def test_prepare_data_splits_by_position():
    text = "".join(chr(0x4e00 + i % 50) for i in range(1000))
    tok, train_ids, val_ids = prepare_data(text, val_fraction=0.1, block_size=8)
    assert len(train_ids) == 900 and len(val_ids) == 100
    assert tok.decode(train_ids) == text[:900] and tok.decode(val_ids) == text[900:]
    assert train_ids.dtype == np.int64
    with pytest.raises(ConfigError, match="语料太短"):
        prepare_data(text[:50], val_fraction=0.1, block_size=8)


def test_get_batch_targets_are_inputs_shifted_by_one():
    ids = np.arange(100, dtype=np.int64) * 3
    x, y = get_batch(ids, block_size=8, batch_size=5, rng=np.random.default_rng(0))
    assert x.shape == y.shape == (5, 8) and x.dtype == tg.int64
    xs, ys = x.numpy(), y.numpy()
    starts = xs[:, 0] // 3
    np.testing.assert_array_equal(xs, (starts[:, None] + np.arange(8)) * 3)
    np.testing.assert_array_equal(ys, xs + 3)                      # y 是 x 右移一位
    expected = np.random.default_rng(0).integers(0, 100 - 8, size=5)
    np.testing.assert_array_equal(starts, expected)                # 起点来自给定的生成器
    last = get_batch(np.arange(9, dtype=np.int64), 8, 50, np.random.default_rng(1))
    assert last[1].numpy().max() == 8                              # 最后一个字也能当目标，不越界


def test_fixed_validation_batches_do_not_depend_on_the_training_seed():
    ids = np.arange(500, dtype=np.int64)
    a = fixed_batches(ids, 16, 4, 3)
    tg.manual_seed(123)
    np.random.default_rng(5).random(10)
    b = fixed_batches(ids, 16, 4, 3)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_evaluate_restores_the_training_mode(corpus, tmp_path):
    result = train(tiny(corpus, tmp_path / "run", max_steps=2, eval_interval=2, eval_batches=1),
                   progress=False, verbose=False)
    model = result.model
    _, train_ids, val_ids = prepare_data(POEM * 12, 0.1, 16)
    batches = fixed_batches(val_ids, 16, 4, 2)
    assert model.training
    loss = evaluate(model, batches)
    assert model.training
    model.eval()
    with tg.no_grad():
        expected = np.mean([model(x, y)[1].item() for x, y in batches])
    assert loss == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------- 配置

def test_presets_match_the_documented_configs():
    assert CPU_CONFIG == TrainConfig()
    assert (CPU_CONFIG.n_layer, CPU_CONFIG.n_head, CPU_CONFIG.n_embd, CPU_CONFIG.block_size,
            CPU_CONFIG.batch_size, CPU_CONFIG.dropout) == (4, 4, 128, 64, 32, 0.0)
    assert (CPU_CONFIG.learning_rate, CPU_CONFIG.min_lr, CPU_CONFIG.beta1, CPU_CONFIG.beta2, CPU_CONFIG.weight_decay,
            CPU_CONFIG.warmup_steps, CPU_CONFIG.grad_clip, CPU_CONFIG.eval_batches) == (1e-3, 1e-4, 0.9, 0.99, 0.1,
                                                                                        100, 1.0, 20)
    assert (GPU_CONFIG.n_layer, GPU_CONFIG.n_head, GPU_CONFIG.n_embd, GPU_CONFIG.block_size, GPU_CONFIG.batch_size,
            GPU_CONFIG.dropout, GPU_CONFIG.max_steps, GPU_CONFIG.eval_interval) == (6, 6, 384, 256, 64, 0.2, 5000, 250)
    p = preset("gpu")
    assert p == GPU_CONFIG and p is not GPU_CONFIG
    with pytest.raises(ConfigError, match="'tpu'"):
        preset("tpu")


def test_config_dict_and_json_round_trip(tmp_path):
    cfg = TrainConfig(n_layer=2, data="语料.txt", dropout=0.1)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"n_layer": 6, "max_steps": 2000}), encoding="utf-8")
    loaded = TrainConfig.from_json(path)
    assert loaded == TrainConfig(n_layer=6, max_steps=2000)
    assert [f.name for f in dataclasses.fields(TrainConfig)][:3] == ["n_layer", "n_head", "n_embd"]


@pytest.mark.parametrize("changes, message", [
    ({"n_layr": 2}, "未知的键.*n_layr"),
    ({"n_head": 3}, "n_embd 必须能被 n_head 整除"),
    ({"dropout": 1.0}, r"dropout 应在 \[0, 1\) 内，得到 1.0"),
    ({"max_steps": 0}, "max_steps 应 ≥ 1，得到 0"),
    ({"warmup_steps": 50, "max_steps": 10}, "warmup_steps 不能大于 max_steps"),
    ({"n_layer": 2.0}, "n_layer 应是整数，得到 2.0"),
    ({"bias": "yes"}, "bias 应是 true / false"),
    ({"device": "tpu"}, "device 应是 auto / cpu / cuda 之一"),
])
def test_bad_config_values_raise_a_chinese_error(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(changes)


def test_bad_json_config_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{n_layer: 2", encoding="utf-8")
    with pytest.raises(ConfigError, match="不是有效的 UTF-8 JSON"):
        TrainConfig.from_json(path)
    with pytest.raises(ConfigError, match="找不到配置文件"):
        TrainConfig.from_json(tmp_path / "missing.json")


def test_device_auto_and_cuda_without_gpu():
    assert resolve_device("auto") == ("cuda" if tg.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
    if not tg.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA 不可用"):
            resolve_device("cuda")
