"""中文 Windows 的控制台、管道与文件常用 GBK：课程和命令行遇到写不出的字符（₁、ŷ、∂）不能崩溃。"""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_zh import console

ROOT = Path(__file__).resolve().parent.parent


def _run(args, tmp_path):
    env = dict(os.environ, PYTHONIOENCODING="gbk", MPLBACKEND="Agg", TINYGRAD_ZH_OUTPUT=str(tmp_path))
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, timeout=300)


def test_unencodable_characters_become_question_marks(monkeypatch):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="gbk", errors="strict")
    monkeypatch.setattr("sys.stdout", stream)
    console.tolerate_unencodable_output()
    print("预测 ŷ = 0.5，∂L/∂w₁", file=stream)
    stream.flush()
    assert raw.getvalue().decode("gbk") == "预测 ? = 0.5，?L/?w?\n"   # 中文照常写出，写不出的换成 ?


@pytest.mark.lessons
@pytest.mark.parametrize("lesson", ["01_scalar_autograd", "03_tensors_broadcasting", "04_seed_321_network"])
def test_lessons_run_on_a_gbk_console(lesson, tmp_path):
    done = _run([f"lessons/{lesson}.py", "--quick"], tmp_path)
    assert done.returncode == 0, done.stderr.decode("gbk", errors="replace")[-2000:]
    assert "运行参数".encode("gbk") in done.stdout


def test_cli_commands_run_on_a_gbk_console(tmp_path):
    """课程列表、环境检查、训练（带进度输出与检查点）、采样：整条命令行流程写到 GBK 管道里也不崩溃。"""
    from tiny_run import tiny_args, write_corpus

    for args in (["lessons"], ["doctor"]):
        done = _run(["-m", "tinygrad_zh", *args], tmp_path)
        assert done.returncode == 0, done.stderr.decode("gbk", errors="replace")[-2000:]
    done = _run(["-m", "tinygrad_zh", *tiny_args(write_corpus(tmp_path), tmp_path / "run", "--overwrite")], tmp_path)
    assert done.returncode == 0, done.stderr.decode("gbk", errors="replace")[-2000:]
    assert (tmp_path / "run" / "ckpt.npz").is_file()
    done = _run(["-m", "tinygrad_zh", "sample", "--checkpoint", str(tmp_path / "run" / "ckpt.npz"), "--prompt", "春眠",
                 "--max-new-tokens", "8", "--device", "cpu"], tmp_path)
    assert done.returncode == 0, done.stderr.decode("gbk", errors="replace")[-2000:]
    assert "春眠".encode("gbk") in done.stdout


def test_cli_help_and_errors_on_a_gbk_console(tmp_path):
    done = _run(["-m", "tinygrad_zh", "--help"], tmp_path)
    assert done.returncode == 0 and "训练".encode("gbk") in done.stdout
    done = _run(["-m", "tinygrad_zh", "train", "--lr", "abc"], tmp_path)
    assert done.returncode == 2
    err = done.stderr.decode("gbk")
    assert "--lr" in err and "Traceback" not in err
