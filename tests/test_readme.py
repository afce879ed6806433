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
    for path in sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py")):
        assert f"python lessons/{path.name}" in README, path.name
