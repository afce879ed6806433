"""任务测试的 pytest 插件：每个测试的时间上限，以及把每个测试的结果写成 JSON（评分命令读它）。

由 ``tests/tasks/conftest.py`` 注册，所以直接运行 ``pytest -m task08_4`` 时也生效。环境变量：

- ``TINYGRAD_ZH_TASK_TIMEOUT``：每个测试最多运行几秒（默认 20；0 表示不限）。用 SIGALRM 实现，
  Windows 上没有这个信号，只剩评分命令给整个 pytest 进程的总时限。
- ``TINYGRAD_ZH_TASK_RESULTS``：给出时，结束后把每个测试的结果写到这个 JSON 文件。
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from .tasks import TASK_ID

DEFAULT_TIMEOUT = 20.0
MAX_MESSAGE = 1200


class TaskTimeout(Exception):
    """一个任务测试超过了时间上限。"""


def _describe(excinfo, root) -> str:
    """失败的原因，一段中文：任务检查与桩给出的信息原样显示，其余错误加上出错位置。"""
    e = excinfo.value
    text = str(e).strip()
    if isinstance(e, (AssertionError, NotImplementedError, TaskTimeout)) and text:
        message = text
    else:
        message = f"{type(e).__name__}: {text}" if text else type(e).__name__
        for entry in reversed(excinfo.traceback):
            path = Path(str(entry.path))
            if path.is_relative_to(root / "tinygrad_zh") or path.is_relative_to(root / "lessons"):
                message += f"（出错位置：{path.relative_to(root)} 第 {entry.lineno + 1} 行）"
                break
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "…"


def _tasks_of(item) -> list:
    return sorted(m.name for m in item.iter_markers() if TASK_ID.fullmatch(m.name))


class TaskPlugin:
    def __init__(self, root, timeout=None, results_path=None):
        self.root = Path(root).resolve()
        env = os.environ.get("TINYGRAD_ZH_TASK_TIMEOUT")
        self.timeout = float(env) if timeout is None and env else (DEFAULT_TIMEOUT if timeout is None else timeout)
        self.results_path = results_path or os.environ.get("TINYGRAD_ZH_TASK_RESULTS")
        self.records = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        usable = self.timeout > 0 and hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
        if not usable or not _tasks_of(item):  # 和普通测试一起跑时，只管任务测试
            yield
            return
        limit = self.timeout

        def on_alarm(signum, frame):
            raise TaskTimeout(f"超时 (timeout)：这个测试运行超过了 {limit:g} 秒，已被中止。"
                              "提示：检查有没有死循环，或者按元素的 Python 循环（应当向量化）。")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when != "call" and report.passed:
            return
        if report.when == "teardown" and item.nodeid in self.records:
            return
        tasks = _tasks_of(item)
        if not tasks:
            return
        message = ""
        if call.excinfo is not None and not report.skipped:
            message = _describe(call.excinfo, self.root)
        elif report.skipped and call.excinfo is not None:
            message = str(call.excinfo.value)
        self.records[item.nodeid] = {
            "nodeid": item.nodeid, "name": item.name, "tasks": tasks, "outcome": report.outcome,
            "message": message, "duration": round(call.duration, 4)}

    def pytest_sessionfinish(self, session):
        if self.results_path:
            Path(self.results_path).write_text(
                json.dumps(list(self.records.values()), ensure_ascii=False, indent=1), encoding="utf-8")
