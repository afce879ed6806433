"""生成学生版 (student edition)：仓库的一份副本，答案区换成桩，评分用的答案不带。

    tinygrad-zh student-edition OUT_DIR

做的事：

1. 列出仓库的文件（在 git 仓库里用 ``git ls-files``：已跟踪的与未被忽略的新文件；否则遍历目录），
   不要虚拟环境、缓存、字节码 (.pyc)、检查点、课程输出，也不要本套件自己的测试（里面有埋好的错误，也就有参考代码）；
2. 每个 .py 文件里的答案区换成抛出 ``NotImplementedError("任务 NN.K：…")`` 的桩，并确认换完仍是合法的 Python；
3. 不带有评分任务的那几课的练习答案（``lessons/answers/NN*_answers.py``）：教师手里留着；
4. 写入 GitHub Classroom 的评分配置与工作流（每个任务一项）；
5. 检查：学生版的任何文件里都不出现答案区里的代码行（见 ``regions.secret_lines``），否则生成失败。
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .regions import MARK, WINDOW, secret_windows, strip_regions
from .tasks import TASKS

SKIP_DIRS = {".git", ".venv", "venv", "env", "__pycache__", "build", "dist", ".pytest_cache", ".hypothesis",
             ".ipynb_checkpoints", "checkpoints", "node_modules", ".mypy_cache", ".ruff_cache"}
SKIP_PATTERNS = ["*.pyc", "*.pyo", "*.npz", "*.egg-info/*", "lessons/output/*", "benchmarks/output/*",
                 "gpu_check_output/*", "wheelhouse/*", "tests/test_classroom*.py"]
# 答案区以外、另写了一遍参考实现的文件：手推反向与 AdamW 的 NumPy GPT（基准测试的对照组）和用到它的两个文件
REFERENCE_ELSEWHERE = ["benchmarks/gpt_numpy.py", "benchmarks/bench_gpt.py", "tests/test_bench_gpt.py"]
GRADED_LESSONS = sorted({t.lesson for t in TASKS})
MARKER_FILE = ".tinygrad_zh_student_edition.json"


class EditionError(RuntimeError):
    """学生版生成失败（目标目录不合适、答案区标记写错、答案泄露）。"""


@dataclass
class EditionReport:
    out: Path
    files: int = 0
    stubs: dict = field(default_factory=dict)        # 任务 → 桩的个数
    left_out: list = field(default_factory=list)     # 没有带进学生版的答案文件
    seconds: float = 0.0


def graded_answer(rel: str) -> bool:
    """``lessons/answers/08b_xxx_answers.py`` 这类：有评分任务的课的练习答案。"""
    parts = rel.split("/")
    return len(parts) == 3 and parts[:2] == ["lessons", "answers"] and parts[2][:2] in GRADED_LESSONS


def _skipped(rel: str) -> bool:
    parts = rel.split("/")
    if any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
        return True
    return any(fnmatch.fnmatch(rel, pat) for pat in SKIP_PATTERNS)


def repository_files(root: Path) -> list:
    """仓库里要复制的文件（相对路径，用 / 分隔）。"""
    names = None
    if (root / ".git").exists():
        try:
            out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                                 capture_output=True, check=True).stdout
            names = [n.decode("utf-8") for n in out.split(b"\0") if n]
        except (OSError, subprocess.CalledProcessError):
            names = None
    if names is None:
        names = []
        for dirpath, dirnames, filenames in os.walk(root):
            # 虚拟环境不论叫什么名字都有 pyvenv.cfg
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")
                           and not (Path(dirpath) / d / "pyvenv.cfg").exists()]
            names += [(Path(dirpath) / f).relative_to(root).as_posix() for f in filenames]
    return sorted(n for n in set(names) if not _skipped(n) and (root / n).is_file())


def task_command(task_id: str) -> str:
    """只跑一个任务的测试的命令（退出码 0 即通过）。"""
    return f"python -m pytest -q -p no:cacheprovider -p no:hypothesispytest -m {task_id} tests/tasks"


def autograding_config() -> dict:
    """``.github/classroom/autograding.json``：GitHub Classroom 的评分项，每个任务一项。"""
    return {"tests": [
        {"name": f"任务 {t.label}：{t.title}", "setup": "", "run": task_command(t.id),
         "input": "", "output": "", "comparison": "included", "timeout": 5, "points": t.points}
        for t in TASKS]}


def classroom_workflow() -> str:
    """``.github/workflows/classroom.yml``：每次推送都按任务评分（GitHub Classroom 的评分动作）。"""
    steps = []
    for t in TASKS:
        steps.append(f"""      - name: 任务 {t.label}
        id: {t.id}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: "任务 {t.label}"
          setup-command: ""
          command: {task_command(t.id)}
          timeout: 5
          max-score: {t.points}""")
    env = "\n".join(f"          {t.id.upper()}_RESULTS: \"${{{{steps.{t.id}.outputs.result}}}}\"" for t in TASKS)
    runners = ",".join(t.id for t in TASKS)
    return f"""# 由 tinygrad-zh student-edition 生成：每个任务一个评分步骤，分数汇总到 GitHub Classroom。
name: 自动评分 (autograding)
on: [push, workflow_dispatch, repository_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: 安装
        run: pip install -e ".[test]"
{chr(10).join(steps)}
      - name: 汇总分数
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {runners}
"""


def scan_for_leaks(out: Path, secrets: set) -> list:
    """学生版里出现答案区片段的位置：``[(相对路径, 行号, 片段的第一行)]``；字节码文件也算。"""
    leaks = []
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(out).as_posix()
        if path.suffix in (".pyc", ".pyo"):
            leaks.append((rel, 0, "字节码文件"))
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        numbered = [(n, s) for n, s in enumerate((line.strip() for line in lines), 1) if s and not s.startswith("#")]
        for i in range(len(numbered) - WINDOW + 1):
            if tuple(s for _, s in numbered[i:i + WINDOW]) in secrets:
                leaks.append((rel, numbered[i][0], numbered[i][1]))
    return leaks


def generate(root, out, force=False) -> EditionReport:
    """从仓库 ``root`` 生成学生版到 ``out``；返回统计。``out`` 必须不存在或为空（``force`` 时先清空）。"""
    start = time.perf_counter()
    root, out = Path(root).resolve(), Path(out).resolve()
    if out == root or out.is_relative_to(root):
        raise EditionError(f"学生版的目录 {out} 不能在仓库 {root} 里面：请放到仓库外（如 ../tinygrad_zh_student）。")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise EditionError(f"目录 {out} 已存在且不为空。提示：换一个目录，或加 --force 先清空它。")
        if (out / "tinygrad_zh").exists() and not (out / MARKER_FILE).exists():
            raise EditionError(f"{out} 看起来是一份 tinygrad_zh 仓库而不是学生版：拒绝清空。")
        shutil.rmtree(out)
    report = EditionReport(out)
    secrets = set()
    staged = {}
    for rel in repository_files(root):
        if graded_answer(rel) or rel in REFERENCE_ELSEWHERE:
            report.left_out.append(rel)
            continue
        src = root / rel
        if rel.endswith(".py"):
            text = src.read_text(encoding="utf-8")
            if MARK in text:
                new, regions = strip_regions(text, rel)
                try:
                    ast.parse(new, filename=rel)
                except SyntaxError as e:
                    raise EditionError(f"{rel}：换成桩之后不是合法的 Python（第 {e.lineno} 行）：{e.msg}。") from None
                secrets |= secret_windows(regions)
                for r in regions:
                    report.stubs[r.task] = report.stubs.get(r.task, 0) + 1
                staged[rel] = new
                continue
        staged[rel] = None
    missing = [t.id for t in TASKS if t.id not in report.stubs]
    if missing:
        raise EditionError(f"这些任务在源代码里没有答案区：{'、'.join(missing)}。")
    for rel, text in staged.items():
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            shutil.copyfile(root / rel, dst)
        else:
            dst.write_text(text, encoding="utf-8", newline="")
    github = out / ".github"
    (github / "classroom").mkdir(parents=True, exist_ok=True)
    (github / "workflows").mkdir(parents=True, exist_ok=True)
    (github / "classroom" / "autograding.json").write_text(
        json.dumps(autograding_config(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (github / "workflows" / "classroom.yml").write_text(classroom_workflow(), encoding="utf-8")
    (out / MARKER_FILE).write_text(json.dumps(
        {"tasks": {t.id: t.points for t in TASKS}, "left_out": report.left_out}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    leaks = scan_for_leaks(out, secrets)
    if leaks:
        shown = "；".join(f"{p}:{n}：{line}" for p, n, line in leaks[:5])
        raise EditionError(f"学生版里仍有参考实现的代码行（共 {len(leaks)} 处）：{shown}。"
                           "提示：把这些文件也加进答案区，或排除出学生版。")
    report.files = len(staged) + 3
    report.seconds = time.perf_counter() - start
    return report
