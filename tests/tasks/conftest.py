"""任务测试的公共设置：核对导入的是被评分仓库里的 tinygrad_zh、登记任务标记、每个测试的时间上限。

这些测试只拿参考数学（测试里写的 NumPy 公式、float64 中心差分）去检查一个任务的代码，
不经过别的任务：引擎写错时，只有任务 01 的测试失败。
"""

import os
from pathlib import Path

import pytest

import tinygrad_zh
from tinygrad_zh.classroom.plugin import TaskPlugin
from tinygrad_zh.classroom.tasks import TASKS

ROOT = Path(os.environ.get("TINYGRAD_ZH_TASK_ROOT") or Path(__file__).resolve().parents[2]).resolve()
IMPORTED = Path(tinygrad_zh.__file__).resolve().parent


def pytest_configure(config):
    if IMPORTED != ROOT / "tinygrad_zh":
        raise pytest.UsageError(
            f"导入的 tinygrad_zh 在 {IMPORTED}，不是被评分的仓库 {ROOT} 里的那一份：测试查的就不是你的代码。"
            f"提示：在仓库根目录运行 tinygrad-zh grade NN，或 pip install -e . 安装这一份。")
    for task in TASKS:
        config.addinivalue_line("markers", f"{task.id}: 任务 {task.label} {task.title}")
    if not config.pluginmanager.has_plugin("tinygrad_zh_tasks"):
        config.pluginmanager.register(TaskPlugin(ROOT), "tinygrad_zh_tasks")


@pytest.fixture
def root():
    """被评分的仓库的根目录（课程脚本在 root/lessons 下）。"""
    return ROOT
