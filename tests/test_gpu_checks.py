"""``benchmarks/gpu_checks.py`` 的 CPU 演练 (dry run)：没有 GPU 也能检验总时限、跳过与输出文件的规矩。"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_checks.py"


def run(out, *args, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OUT=str(out))
    return subprocess.run([sys.executable, str(SCRIPT), "--dry-run", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=ROOT, timeout=timeout)


def test_dry_run_runs_the_steps_and_writes_a_summary(tmp_path):
    out = tmp_path / "out"
    proc = run(out, "--steps", "probe,bench,train")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and "summary.md" in files and "bench.log" in files and "train.log" in files
    summary = (out / "summary.md").read_text(encoding="utf-8")
    for name in ("probe", "bench", "train"):
        assert f"| {name} | 通过 |" in summary
    assert "tokens/s" in summary and "验证损失" in summary and '"val_loss"' in summary


def test_a_deadline_that_is_too_short_skips_everything_but_still_writes_the_summary(tmp_path):
    out = tmp_path / "out"
    proc = run(out, "--deadline", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["summary.md"]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    for name in ("probe", "pytest", "bench", "train", "lessons", "profile"):
        assert f"| {name} | 跳过 |" in summary
    assert "总时限只剩" in summary


def test_the_shell_wrapper_uses_python3_and_the_runner():
    text = (ROOT / "benchmarks" / "gpu_checks.sh").read_text(encoding="utf-8")
    assert "python3 benchmarks/gpu_checks.py" in text
    assert "\npython " not in text and " python -" not in text


def test_unknown_steps_are_refused(tmp_path):
    proc = run(tmp_path / "out", "--steps", "probe,nope")
    assert proc.returncode == 2 and "nope" in proc.stderr
