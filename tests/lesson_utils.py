"""课程测试的公共部分：按编号加载课程脚本、把输出放进临时目录、列出生成的图片。"""

import importlib.util
import pathlib

import pytest

LESSONS = pathlib.Path(__file__).resolve().parent.parent / "lessons"


def load(name):
    """按编号（如 "04"）加载 ``lessons/04_*.py``，不运行它的 ``__main__`` 部分。"""
    path = next(LESSONS.glob(f"{name}_*.py"))
    spec = importlib.util.spec_from_file_location(f"lesson_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def quiet_output(tmp_path, monkeypatch):
    """图片写进每个测试自己的临时目录；matplotlib 用不需要显示器的后端。"""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TINYGRAD_ZH_OUTPUT", str(tmp_path))


def pngs(tmp_path):
    return sorted(p.name for p in tmp_path.glob("*.png"))
