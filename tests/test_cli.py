"""``tinygrad-zh`` 命令（``python -m tinygrad_zh``）：train / sample / doctor / lessons，中文帮助与一行错误。"""

import json
import os
import re
import subprocess
import sys

import pytest

import tinygrad_zh as tg
import tinygrad_zh.training as training
from tinygrad_zh.cli import lesson_list, main
from tiny_run import POEM, ROOT, tiny_args, write_corpus


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """训练好的小模型的检查点路径（整个文件共用一个）。"""
    folder = tmp_path_factory.mktemp("trained")
    path = folder / "poem.txt"
    path.write_text(POEM * 12, encoding="utf-8")
    config = training.TrainConfig(n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=16, max_steps=30,
                                  warmup_steps=2, learning_rate=1e-2, eval_interval=30, eval_batches=2,
                                  data=str(path), out_dir=str(folder / "run"), device="cpu")
    return training.train(config, progress=False, verbose=False).checkpoint


def split_samples(out):
    """``--num-samples`` > 1 时的输出 → 各段样本（样本里可能有换行符）。"""
    parts = re.split(r"---------- 样本 \d+ ----------\n", out)
    assert parts[0] == ""
    return [p[:-1] for p in parts[1:]]      # 去掉 print 加的换行


def run_module(*args, cwd=None):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "tinygrad_zh", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=cwd, timeout=120)


# ---------------------------------------------------------------------------- 子进程：真正的命令行

def test_python_m_train_then_sample(corpus, tmp_path):
    out_dir = tmp_path / "run"
    proc = run_module(*tiny_args(corpus, out_dir))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "n_layer       = 1" in proc.stdout                        # 打印配置
    assert "词表大小 V = 40" in proc.stdout and "参数量" in proc.stdout
    assert "完成：第 20 步，验证损失" in proc.stdout
    assert f"检查点：{out_dir / 'ckpt.npz'}" in proc.stdout
    assert (out_dir / "ckpt.npz").exists()

    proc = run_module("sample", "--checkpoint", str(out_dir / "ckpt.npz"), "--prompt", "春眠",
                      "--max-new-tokens", "12", "--seed", "3", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout[:-1]                                          # 去掉 print 加的换行（样本里也可能有换行）
    assert text.startswith("春眠") and len(text) == 2 + 12 and "<unk>" not in text
    assert "第 20 步" in proc.stderr                                 # 检查点信息写在 stderr，stdout 只有样本


# ---------------------------------------------------------------------------- 进程内：main([...])

def test_train_prints_config_and_results(corpus, tmp_path, capsys):
    assert main(tiny_args(corpus, tmp_path / "run")) == 0
    out = capsys.readouterr().out
    assert "训练配置：" in out and "learning_rate = 0.01" in out and "max_steps     = 20" in out
    assert "步     0 ｜ 验证损失" in out and "步    20 ｜ 训练损失" in out
    assert f"损失曲线：{tmp_path / 'run' / 'loss.png'}" in out or "损失曲线" not in out
    ckpt = tg.load(tmp_path / "run" / "ckpt.npz")
    assert ckpt["config"]["n_embd"] == 32 and ckpt["config"]["learning_rate"] == 0.01 and ckpt["step"] == 20


def test_sample_is_reproducible_and_has_the_right_length(trained, capsys):
    args = ["sample", "--checkpoint", trained, "--prompt", "床前", "--max-new-tokens", "20", "--num-samples", "3",
            "--top-k", "5", "--top-p", "0.9", "--seed", "7", "--device", "cpu"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first                         # 同样的参数与种子，同样的文字
    samples = split_samples(first)
    assert len(samples) == 3
    for s in samples:
        assert s.startswith("床前") and len(s) == 22


def test_greedy_sampling_gives_identical_samples(trained, capsys):
    assert main(["sample", "--checkpoint", trained, "--prompt", "举头", "--max-new-tokens", "10",
                 "--temperature", "0", "--num-samples", "2", "--device", "cpu"]) == 0
    lines = split_samples(capsys.readouterr().out)
    assert len(lines) == 2 and lines[0] == lines[1]
    model, tok, _ = training.load_checkpoint(trained, device="cpu")
    expected = model.generate(tg.tensor([tok.encode("举头")]), 10, temperature=0)[0]
    assert lines[0] == "举头" + tok.decode(expected[2:].numpy())


def test_sample_warns_about_characters_outside_the_vocabulary(trained, capsys):
    assert main(["sample", "--checkpoint", trained, "--prompt", "「明月」", "--max-new-tokens", "5",
                 "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "警告" in captured.err and "<unk>" in captured.err and "「」" in captured.err
    assert captured.out.startswith("「明月」")


def test_empty_prompt_starts_from_a_new_paragraph(trained, capsys):
    assert main(["sample", "--checkpoint", trained, "--max-new-tokens", "8", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert len(out) == 8 + 1 and "<unk>" not in out                  # 8 个字加 print 的换行


def test_resume_from_the_command_line_uses_the_checkpoint_config(corpus, tmp_path, capsys, monkeypatch):
    real_train = training.train

    def interrupted_train(config, **kwargs):      # 第 10 步时模拟按下 Ctrl-C
        def stop(step, info):
            if step == 10:
                raise KeyboardInterrupt
        return real_train(config, callback=stop, **kwargs)

    monkeypatch.setattr(training, "train", interrupted_train)
    assert main(tiny_args(corpus, tmp_path / "run")) == 130
    out = capsys.readouterr().out
    assert "已中断" in out and str(tmp_path / "run" / "ckpt.npz") in out
    assert tg.load(tmp_path / "run" / "ckpt.npz")["step"] == 10

    monkeypatch.setattr(training, "train", real_train)
    # 只给 --resume 和目录：模型大小、语料等都来自检查点
    assert main(["train", "--resume", "--out-dir", str(tmp_path / "run"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "从" in out and "第 10 步接着训练" in out and "完成：第 20 步" in out
    # 与检查点不同的模型大小：拒绝续训
    assert main(["train", "--resume", "--out-dir", str(tmp_path / "run"), "--n-embd", "64"]) == 2
    assert "n_embd: 检查点 32 → 现在 64" in capsys.readouterr().err


def test_config_file_and_preset(corpus, tmp_path, capsys):
    cfg = {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 8, "batch_size": 4, "max_steps": 3,
           "warmup_steps": 1, "eval_interval": 3, "eval_batches": 1, "data": corpus,
           "out_dir": str(tmp_path / "fromjson"), "device": "cpu"}
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    assert main(["train", "--config", str(path), "--seed", "5", "--no-progress"]) == 0
    saved = tg.load(tmp_path / "fromjson" / "ckpt.npz")["config"]
    assert saved["n_embd"] == 16 and saved["seed"] == 5 and saved["max_steps"] == 3   # 文件 + 命令行覆盖
    capsys.readouterr()
    assert main(["train", "--config", str(path), "--preset", "gpu"]) == 2   # 二者只能选一个
    assert "不能与" in capsys.readouterr().err


# ---------------------------------------------------------------------------- 错误：一行中文，退出码 2

@pytest.mark.parametrize("args, message", [
    (["train", "--n-layer", "abc"], "参数 --n-layer：应是整数，得到 'abc'"),
    (["train", "--preset", "tpu"], "参数 --preset 的取值无效"),
    (["train", "--device", "tpu"], "参数 --device 的取值无效"),
    (["train", "--bogus"], "无法识别的参数：--bogus"),
    (["train", "--dropout", "1.5", "--device", "cpu"], r"dropout 应在 [0, 1) 内，得到 1.5"),
    (["train", "--n-head", "3", "--device", "cpu"], "n_embd 必须能被 n_head 整除"),
    (["train", "--max-steps", "10", "--device", "cpu"], "warmup_steps 不能大于 max_steps"),
    (["sample", "--top-k", "0"], "--top-k 应 ≥ 1，得到 0"),
    (["sample", "--top-p", "1.5"], "--top-p 应在 (0, 1] 内，得到 1.5"),
    (["sample", "--temperature", "-1"], "--temperature 应 ≥ 0"),
    (["sample", "--max-new-tokens", "-3"], "--max-new-tokens 应 ≥ 0"),
    (["sample", "--temperature", "nan"], "应是有限的数"),
])
def test_bad_arguments_give_one_chinese_line_and_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_or_wrong_files_exit_2(tmp_path, capsys):
    assert main(["sample", "--checkpoint", str(tmp_path / "nope.npz")]) == 2
    assert "找不到检查点文件" in capsys.readouterr().err
    other = tmp_path / "other.npz"
    tg.save({"x": 1}, other)
    assert main(["sample", "--checkpoint", str(other), "--device", "cpu"]) == 2
    assert "不是 GPT 训练检查点" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"n_layers": 2}), encoding="utf-8")
    assert main(["train", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "未知的键" in err and "n_layers" in err and len(err.strip().splitlines()) == 1
    assert main(["train", "--data", str(tmp_path / "missing.txt"), "--device", "cpu"]) == 2
    assert "找不到文本文件" in capsys.readouterr().err
    assert main(["train", "--resume", "--out-dir", str(tmp_path / "empty")]) == 2
    assert "找不到检查点文件" in capsys.readouterr().err


@pytest.mark.skipif(tg.cuda.is_available(), reason="这台机器有 GPU")
def test_cuda_without_a_gpu_is_a_clear_error(trained, capsys):
    assert main(["train", "--device", "cuda"]) == 2
    assert "CUDA 不可用" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", trained, "--device", "cuda"]) == 2
    assert "CUDA 不可用" in capsys.readouterr().err


# ---------------------------------------------------------------------------- 帮助、doctor、lessons

def test_help_is_chinese(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：tinygrad-zh") and "train" in out and "sample" in out and "显示帮助并退出" in out
    assert main(["sample", "--help"]) == 0
    out = capsys.readouterr().out
    assert "温度" in out and "--top-p" in out and "选项" in out
    assert main([]) == 2                                               # 没有子命令：打印帮助
    assert "用法" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert tg.__version__ in capsys.readouterr().out


def test_doctor(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "Python" in out and "NumPy" in out and "GPU (CuPy)" in out


def test_lessons_lists_titles(capsys, tmp_path):
    assert main(["lessons"]) == 0
    out = capsys.readouterr().out
    assert "00  环境与约定" in out and "lessons/01_scalar_autograd.py" in out
    (tmp_path / "07_demo.py").write_text("# %% [markdown]\n# # 第 07 课：示例课\n", encoding="utf-8")
    (tmp_path / "08b_part.py").write_text("# %% [markdown]\n# # 第 08 课（下）：后半课\n", encoding="utf-8")
    (tmp_path / "notes.py").write_text("", encoding="utf-8")
    (tmp_path / "123_not_a_lesson.py").write_text("", encoding="utf-8")
    assert [(n, t, p.name) for n, t, p in lesson_list(tmp_path)] == [("07", "示例课", "07_demo.py"),
                                                                     ("08b", "后半课", "08b_part.py")]
