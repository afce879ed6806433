"""课程脚本的公共部分：参数、输出目录、显示图片、进度条、环境检查 (doctor)。

课程的写法（“笔记本原生”约定）
================================

每节课 ``lessons/NN_topic.py`` 是 jupytext 的 percent 格式，既是脚本也是笔记本 (notebook)：
讲解写在 ``# %% [markdown]`` 单元里，**每一步的代码紧跟在它的讲解下面**，在自己的单元里打印或显示结果。
用 ``jupytext --to notebook`` 转成 ``.ipynb`` 后，输出就出现在对应的讲解旁边，而不是全挤在最后一个单元。

1. **参数单元**：第一个代码单元只放读者会改的参数，带 jupytext / papermill 的单元标签 ``parameters``，
   紧接着调用一次 :func:`lesson_args`::

       # %% tags=["parameters"]
       QUICK = False      # 快速模式：少量步数、小数据（测试与 CI 用）
       DEVICE = "cpu"     # "cpu" 或 "cuda"

       # %%
       import tinygrad_zh as tg
       from tinygrad_zh.lesson import lesson_args, progress, show

       QUICK, DEVICE = lesson_args(QUICK, DEVICE)
       RESULTS = {}

   :func:`lesson_args` 的优先级：命令行 ``--quick`` / ``--device`` > 环境变量 ``TINYGRAD_ZH_QUICK=1`` /
   ``TINYGRAD_ZH_DEVICE=cpu``（CI 执行笔记本时用）> 单元里写的值。它忽略 Jupyter 自己的参数（``-f kernel.json``）。
   于是 ``python lessons/02_gradient_descent.py --quick --device cpu`` 与在 Jupyter 里逐个单元运行是同一份代码。

2. **每一步一个顶层代码单元**：不要写 ``step1()``、``step2()`` 再由 ``main`` 串起来；直接写顶层代码，
   后面的单元直接用前面单元里的变量。本身就是要讲的概念的小函数（如 ``gd_step``、``mini_backward``）
   留在引入它的那个单元里；与主题无关的画图代码放进有名字的函数：能复用的放 :mod:`tinygrad_zh.viz`，
   只此一课用的写成课程里一个名字清楚的小函数（如 ``plot_rosenbrock``）。

3. **图片**：``fig, ax = viz.subplots(...)`` 画图，最后 ``show(fig, "02_rosenbrock.png")``：
   保存到 :func:`output_dir`，在 IPython / Jupyter 里内嵌显示，在脚本里关闭。

4. **进度条**：长循环写 ``for t in progress(range(n), desc="训练")``（即 ``tqdm.auto``：笔记本里是控件，
   终端里是文本；没装 tqdm 时原样返回迭代器）。

5. **结果**：课程正文或测试要用的数，一律在算出它的单元里放进 ``RESULTS`` 字典（``RESULTS["x"] = ...``）。
   这是唯一的“机器可读”出口：测试检查它，最后的「参考结果」单元用 f-string 从它生成文字。
   **比较数字的句子也从数字算出来**（如“哪个学习率领先”），不要手写会过时的数。

6. **结尾**：脚本正常结束（不需要 ``if __name__ == "__main__"``）。测试用 ``tests/lesson_utils.py`` 的
   ``run_lesson_script("02")`` 在进程内以 ``--quick --device cpu`` 运行它并取回 ``RESULTS``；
   ``tests/test_notebooks.py`` 把它转成笔记本、用 nbclient 执行，检查没有单元出错、输出分散在各步、图片内嵌。

7. **练习答案**（``lessons/answers/NN_*_answers.py``）也按这个约定写；要复用课程里的函数时用
   :func:`load_definitions`：它只执行课程文件里的 ``import``、``def``、``class`` 和字面常量赋值，不运行课程本身。

旧写法（尚未改写的课程）是 ``def main(quick=False, device="cpu")`` 加 ``run_lesson(main)``，仍然可用。
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import platform
import sys
import types
import unicodedata
from pathlib import Path

import numpy as np

from . import cuda
from .console import tolerate_unencodable_output
from .version import __version__
from .viz import setup_font

QUICK_ENV = "TINYGRAD_ZH_QUICK"
DEVICE_ENV = "TINYGRAD_ZH_DEVICE"
DEVICES = ("cpu", "cuda")


def output_dir() -> Path:
    """图片等输出放在 ``lessons/output/``（已被 git 忽略）；可用环境变量 TINYGRAD_ZH_OUTPUT 改到别处。"""
    default = Path(__file__).resolve().parent.parent / "lessons" / "output"
    path = Path(os.environ.get("TINYGRAD_ZH_OUTPUT", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _parser(description="lesson") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", default=None,
                        help="快速模式：少量步数、小数据（测试与 CI 用）")
    parser.add_argument("--device", default=None, choices=list(DEVICES), help="在哪个设备上运行")
    return parser


def _env_flag(value: str) -> bool:
    value = value.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"环境变量 {QUICK_ENV} 应为 1/0/true/false，收到 {value!r}")


def lesson_args(quick: bool = False, device: str = "cpu", argv=None) -> tuple[bool, str]:
    """决定本次运行的 ``(QUICK, DEVICE)``：命令行 > 环境变量 > 参数单元里写的值。

    - 命令行：``--quick``、``--device cpu|cuda``（``argv`` 默认取 ``sys.argv[1:]``）；
      不认识的参数一律忽略，所以在 Jupyter 内核里（``-f kernel.json``）也能调用；
    - 环境变量：``TINYGRAD_ZH_QUICK=1``、``TINYGRAD_ZH_DEVICE=cpu``（CI 执行笔记本时用）。
    """
    tolerate_unencodable_output()  # GBK 控制台（中文 Windows）写不出 ₁、ŷ 时不崩溃
    args, _ = _parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.quick is not None:
        quick = True
    elif os.environ.get(QUICK_ENV) is not None:
        quick = _env_flag(os.environ[QUICK_ENV])
    if args.device is not None:
        device = args.device
    elif os.environ.get(DEVICE_ENV):
        device = os.environ[DEVICE_ENV].strip()
    if device not in DEVICES:
        raise ValueError(f"device 只能是 {' / '.join(DEVICES)}，收到 {device!r}")
    print(f"运行参数：QUICK = {bool(quick)}，DEVICE = {device!r}")
    return bool(quick), device


def _ipython():
    """正在 IPython / Jupyter 里运行时返回它的 shell，否则 None（不主动导入 IPython）。"""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def in_notebook() -> bool:
    """是否在 Jupyter 内核里（能显示图片的前端）。"""
    shell = _ipython()
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


def show(fig, name: str, dpi: int = 120) -> Path:
    """保存图片到 ``output_dir()/name``，在 Jupyter 里内嵌显示，然后关闭它。返回保存路径。

    内嵌显示用保存下来的 PNG 本身，所以不论 matplotlib 用的是哪个后端，笔记本里看到的都和文件一样。
    """
    import matplotlib.pyplot as plt

    path = output_dir() / (name if Path(name).suffix else f"{name}.png")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    path.write_bytes(buf.getvalue())
    plt.close(fig)
    if in_notebook():
        from IPython.display import Image, display
        display(Image(data=buf.getvalue(), format="png"))
    print(f"图已保存：{path}")
    return path


def progress(iterable, **kwargs):
    """进度条：``tqdm.auto``（笔记本里是控件，终端里是文本）。

    没装 tqdm 时原样返回 ``iterable``；笔记本里没装 ipywidgets 时退回文本进度条，而不是打印警告。
    """
    try:
        from tqdm.auto import tqdm
        if in_notebook():
            try:
                import ipywidgets  # noqa: F401
            except ImportError:
                from tqdm.std import tqdm
    except ImportError:
        return iterable
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, **kwargs)


def load_definitions(path, base=None) -> types.SimpleNamespace:
    """只取课程文件里的 ``import``、``def``、``class`` 与字面常量赋值（如 ``X0 = 1.5``），不运行课程本身。

    练习答案要复用课程里的函数（``gd_step``、``mini_backward``……）时用它：
    ``lesson = load_definitions(LESSONS / "02_gradient_descent.py"); lesson.gd_step(x, 0.1)``。
    函数只能依赖这些定义；用到课程里算出来的变量的函数会在调用时报 NameError。

    ``base``：另一次 ``load_definitions`` 的结果，它的名字先放进命名空间（结果里也有）。分成几部分的课，
    后一部分的类与函数用到前一部分定义的名字（如继承前一部分的基类）时这样取：
    ``load_definitions(下半部分, base=load_definitions(上半部分))``。
    """
    path = Path(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def keep(node):
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            return True
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            try:
                ast.literal_eval(node.value)
                return True
            except ValueError:
                return False
        return False

    module = ast.Module(body=[n for n in tree.body if keep(n)], type_ignores=[])
    namespace = {**(vars(base) if base is not None else {}),
                 "__name__": f"lesson_definitions_{path.stem}", "__file__": str(path)}
    exec(compile(module, str(path), "exec"), namespace)
    return types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})


def run_lesson(main, argv=None):
    """旧写法：解析 ``--quick`` 与 ``--device``（也读环境变量），然后调用 ``main``。"""
    quick, device = lesson_args(False, "cpu", argv)
    return main(quick=quick, device=device)


def _display_width(text: str) -> int:
    """终端里的显示宽度：中文等全角字符占两列。"""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def doctor() -> dict:
    """检查运行环境：Python、NumPy、CuPy / GPU、matplotlib、中文字体。返回一个字典并打印出来。"""
    info = {
        "tinygrad_zh": __version__,
        "Python": platform.python_version(),
        "NumPy": np.__version__,
        "GPU (CuPy)": "可用" if cuda.is_available() else "不可用（只用 CPU）",
    }
    try:
        import matplotlib
        info["matplotlib"] = matplotlib.__version__
        info["中文字体"] = "已找到" if setup_font() else "未找到（图中标签改用英文）"
    except ImportError:
        info["matplotlib"] = "未安装（pip install -e '.[lessons]'）"
    width = max(_display_width(k) for k in info)
    for k, v in info.items():
        print(f"  {k}{' ' * (width - _display_width(k))}  {v}")
    return info
