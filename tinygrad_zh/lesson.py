"""课程脚本的公共部分：命令行参数、输出目录、环境检查 (doctor)。

每节课都写成::

    def main(quick=False, device="cpu"): ...

    if __name__ == "__main__":
        run_lesson(main)

于是 ``python lessons/01_scalar_autograd.py --quick --device cpu`` 即可运行。
"""

from __future__ import annotations

import argparse
import os
import platform
import unicodedata
from pathlib import Path

import numpy as np

from . import cuda
from .version import __version__
from .viz import setup_font


def output_dir() -> Path:
    """图片等输出放在 ``lessons/output/``（已被 git 忽略）；可用环境变量 TINYGRAD_ZH_OUTPUT 改到别处。"""
    default = Path(__file__).resolve().parent.parent / "lessons" / "output"
    path = Path(os.environ.get("TINYGRAD_ZH_OUTPUT", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_lesson(main, argv=None):
    """解析 ``--quick`` 与 ``--device``，然后调用 ``main``。"""
    parser = argparse.ArgumentParser(description=(main.__module__ or "lesson"))
    parser.add_argument("--quick", action="store_true", help="快速模式：少量步数、小数据（测试与 CI 用）")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="在哪个设备上运行")
    args, _ = parser.parse_known_args(argv)  # 在 Jupyter 里运行时会多出 -f kernel.json 之类的参数
    return main(quick=args.quick, device=args.device)


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
