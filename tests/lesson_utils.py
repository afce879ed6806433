"""课程测试的公共部分：运行课程、把输出放进临时目录、列出生成的图片。

- 已按“笔记本原生”约定改写的课程（见 ``tinygrad_zh/lesson.py`` 的说明）：``run_lesson_script("02")``
  在本进程里把它当脚本跑一遍（``--quick --device cpu``），返回它的 ``RESULTS`` 字典；
- 还没改写的课程：``load("04").main(quick=True)``。
"""

import importlib.util
import io
import pathlib
import re
import runpy
import sys

import pytest

LESSONS = pathlib.Path(__file__).resolve().parent.parent / "lessons"
SITE_TEST_OUT = LESSONS.parent / "build" / "site-test"   # 网站测试的构建目录；笔记本测试把执行结果缓存在这里


LESSON_ID = re.compile(r"^(\d\d[a-z]?)_")   # 08_*.py 是第 08 课；分成几部分的课写作 08a_*.py、08b_*.py


def lesson_files():
    """lessons/ 里全部课程文件，按编号排序。"""
    return [p for p in sorted(LESSONS.glob("[0-9][0-9]*_*.py")) if LESSON_ID.match(p.name)]


def lesson_id(path):
    """``lessons/08a_optimizers_momentum.py`` → ``"08a"``。"""
    return LESSON_ID.match(pathlib.Path(path).name).group(1)


def lesson_marker(name):
    """课程编号对应的 pytest 标记：``"08a"`` → ``pytest.mark.lesson08``（一课的几部分共用一个标记）。"""
    return getattr(pytest.mark, f"lesson{name[:2]}")


def lesson_path(name):
    """按编号（如 "04"、"08a"）找到 ``lessons/04_*.py``。"""
    return next(LESSONS.glob(f"{name}_*.py"))


def is_notebook_lesson(path):
    """有 ``parameters`` 标签的单元 = 已按笔记本约定改写的课程。"""
    text = pathlib.Path(path).read_text(encoding="utf-8")
    return re.search(r'^# %% tags=\[.*"parameters".*\]', text, flags=re.M) is not None


NOTEBOOK_LESSONS = [lesson_id(p) for p in lesson_files() if is_notebook_lesson(p)]


def load(name):
    """按编号（如 "04"）加载 ``lessons/04_*.py``，不运行它的 ``__main__`` 部分（旧写法的课程用）。"""
    path = lesson_path(name)
    spec = importlib.util.spec_from_file_location(f"lesson_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gbk_console():
    """一个像中文 Windows 控制台 / 管道那样的输出流：GBK 编码、遇到写不出的字符就报错（errors="strict"）。"""
    return io.TextIOWrapper(io.BytesIO(), encoding="gbk", errors="strict", line_buffering=True)


def run_lesson_script(name, *args, quick=True, device="cpu"):
    """在本进程里把课程当脚本运行（``sys.argv`` = 课程路径 --quick --device cpu），返回它的 ``RESULTS``。

    标准输出与标准错误换成 GBK 的严格流（中文 Windows 的样子）：课程打印 ₁、ŷ 之前没有调用
    ``lesson_args``（它让写不出的字符变成 ``?``）就会在这里报 ``UnicodeEncodeError``。运行结束后把输出转写到
    真正的标准输出，测试失败时能看到。图片写到哪里、matplotlib 用什么后端由自动使用的 fixture ``quiet_output``
    决定（临时目录、Agg）。
    """
    path = lesson_path(name)
    argv = [str(path), *(["--quick"] if quick else []), "--device", device, *args]
    old_argv, old_out, old_err = sys.argv, sys.stdout, sys.stderr
    sys.argv, sys.stdout, sys.stderr = argv, gbk_console(), gbk_console()
    try:
        namespace = runpy.run_path(str(path), run_name="__main__")
    finally:
        for stream, real in ((sys.stdout, old_out), (sys.stderr, old_err)):
            stream.flush()
            real.write(stream.buffer.getvalue().decode("gbk"))
        sys.argv, sys.stdout, sys.stderr = old_argv, old_out, old_err
        try:
            import matplotlib.pyplot as plt
            plt.close("all")
        except ImportError:
            pass
    return namespace["RESULTS"]


@pytest.fixture(autouse=True)
def quiet_output(tmp_path, monkeypatch):
    """图片写进每个测试自己的临时目录；matplotlib 用不需要显示器的后端；不受外面的课程环境变量影响。"""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TINYGRAD_ZH_OUTPUT", str(tmp_path))
    monkeypatch.delenv("TINYGRAD_ZH_QUICK", raising=False)
    monkeypatch.delenv("TINYGRAD_ZH_DEVICE", raising=False)


def pngs(tmp_path):
    return sorted(p.name for p in tmp_path.glob("*.png"))
