"""评分：运行一课（或全部）任务的测试，打印中文结果表，写出 Gradescope / GitHub Classroom 认的 JSON。

测试在一个单独的 pytest 进程里运行，``PYTHONPATH`` 的第一项与工作目录都是被评分的仓库：
导入的 ``tinygrad_zh`` 一定是学生自己的那一份（``tests/tasks/conftest.py`` 还会核对一遍）。
教师批改提交时用 ``tests`` 参数指向自己手里的 ``tests/tasks``，学生改动测试也改变不了分数。
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .tasks import BY_ID, Task, tasks_for

STATUS = {"passed": "通过", "failed": "未通过", "missing": "没有测试"}


@dataclass
class TaskResult:
    task: Task
    passed: int = 0
    total: int = 0
    messages: list = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.total == 0:
            return "missing"
        return "passed" if self.passed == self.total else "failed"

    @property
    def score(self) -> float:
        return round(self.task.points * self.passed / self.total, 2) if self.total else 0.0


def run_task_tests(root, task_ids, tests=None, timeout=None, extra_env=None):
    """在 ``root`` 上运行 ``task_ids`` 的测试，返回每个测试的记录（见 plugin.py）与 pytest 的输出。"""
    root = Path(root).resolve()
    tests = Path(tests).resolve() if tests is not None else root / "tests" / "tasks"
    if not (root / "tinygrad_zh").is_dir():
        raise FileNotFoundError(f"{root} 里没有 tinygrad_zh/：评分要在仓库的根目录（或用 --root 指定）进行。")
    if not tests.is_dir():
        raise FileNotFoundError(f"找不到任务测试目录 {tests}。")
    with tempfile.TemporaryDirectory(prefix="tinygrad_zh_grade_") as tmp:
        results = Path(tmp) / "results.json"
        env = dict(os.environ)
        env.update(extra_env or {})
        env["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in [env.get("PYTHONPATH")] if p])
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["TINYGRAD_ZH_TASK_ROOT"] = str(root)
        env["TINYGRAD_ZH_TASK_RESULTS"] = str(results)
        env.setdefault("MPLBACKEND", "Agg")
        if timeout is not None:
            env["TINYGRAD_ZH_TASK_TIMEOUT"] = str(timeout)
        per_test = float(env.get("TINYGRAD_ZH_TASK_TIMEOUT") or 20)
        cmd = [sys.executable, "-m", "pytest", str(tests), "-m", " or ".join(task_ids), "-q", "-p", "no:cacheprovider",
               # 任务测试不用 hypothesis：不加载它的插件，每次评分省下约 1 秒
               "-p", "no:hypothesispytest", "-o", "addopts=--strict-markers", "--rootdir", str(tests),
               "--confcutdir", str(tests), "--no-header", "-rN"]
        # 总时限：每个测试的上限乘测试个数的上界，再留出启动的时间（Windows 上没有逐个测试的上限，靠它兜底）
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=per_test * 60 + 120)
        records = json.loads(results.read_text(encoding="utf-8")) if results.exists() else []
    return records, proc.stdout + proc.stderr, proc.returncode


def summarize(tasks, records) -> list:
    by_id = {t.id: TaskResult(t) for t in tasks}
    for rec in records:
        for tid in rec["tasks"]:
            r = by_id.get(tid)
            if r is None or rec["outcome"] == "skipped":
                continue
            r.total += 1
            if rec["outcome"] == "passed":
                r.passed += 1
            elif rec["message"] and rec["message"] not in r.messages:
                r.messages.append(rec["message"])
    return list(by_id.values())


def _width(text) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text, width) -> str:
    return text + " " * max(0, width - _width(text))


def format_table(results) -> str:
    """中文结果表：任务 / 结果 / 说明（未通过时是第一条失败信息）。"""
    rows = [("任务", "结果", "说明")]
    for r in results:
        note = r.task.title if r.status == "passed" else (r.messages[0] if r.messages else r.task.title)
        rows.append((r.task.label, f"{STATUS[r.status]} {r.passed}/{r.total}", note.replace("\n", " ")))
    w0 = max(_width(row[0]) for row in rows) + 2
    w1 = max(_width(row[1]) for row in rows) + 2
    lines = [_pad(a, w0) + _pad(b, w1) + c for a, b, c in rows]
    lines.insert(1, "-" * (w0 + w1 + 40))
    total = sum(r.score for r in results)
    full = sum(r.task.points for r in results)
    lines.append("-" * (w0 + w1 + 40))
    lines.append(f"得分 {total:g} / {full}；通过 {sum(r.status == 'passed' for r in results)} / {len(results)} 个任务")
    return "\n".join(lines)


def gradescope_json(results, elapsed=None) -> dict:
    """Gradescope 的 results.json（每个任务一项：name、score、max_score、status、output）。"""
    tests = []
    for r in results:
        output = "全部测试通过。" if r.status == "passed" else "\n".join(r.messages) or "没有找到这个任务的测试。"
        tests.append({"name": f"任务 {r.task.label}：{r.task.title}", "number": r.task.label, "score": r.score,
                      "max_score": r.task.points, "status": "passed" if r.status == "passed" else "failed",
                      "output": output, "visibility": "visible"})
    data = {"score": round(sum(r.score for r in results), 2), "tests": tests}
    if elapsed is not None:
        data["execution_time"] = round(elapsed, 2)
    return data


def default_root() -> Path:
    """没有指定时评哪个仓库：当前目录是仓库根目录（有 tinygrad_zh/ 与 tests/tasks/）就评它，否则评这份包所在的仓库。"""
    here = Path.cwd()
    if (here / "tinygrad_zh" / "__init__.py").is_file() and (here / "tests" / "tasks").is_dir():
        return here
    return Path(__file__).resolve().parents[2]


def grade(lesson, root=None, tests=None, json_path=None, timeout=None, stream=None, verbose=False):
    """评第 ``lesson`` 课（``"all"`` 为全部）的任务：打印结果表，可选写出 JSON；全部通过时返回 0，否则 1。"""
    stream = stream or sys.stdout
    tasks = tasks_for(lesson)
    if not tasks:
        known = "、".join(sorted({t.lesson for t in BY_ID.values()}))
        raise ValueError(f"第 {lesson} 课没有评分任务。有任务的课：{known}（或用 all 评全部）。")
    root = Path(root) if root is not None else default_root()
    start = time.perf_counter()
    records, output, code = run_task_tests(root, [t.id for t in tasks], tests=tests, timeout=timeout)
    elapsed = time.perf_counter() - start
    if not records and code not in (0, 1):
        # pytest 没能跑起来（导入错误、语法错误……）：把它的输出给学生看
        print(output.strip(), file=stream)
        raise RuntimeError(f"任务测试没有运行起来（pytest 退出码 {code}），见上面 pytest 的输出。")
    results = summarize(tasks, records)
    if verbose:
        print(output.strip(), file=stream)
    print(format_table(results), file=stream)
    print(f"用时 {elapsed:.1f} 秒", file=stream)
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(gradescope_json(results, elapsed), ensure_ascii=False, indent=2),
                                   encoding="utf-8")
    return 0 if all(r.status == "passed" for r in results) else 1
