"""控制台输出：中文 Windows 的控制台、管道与文件常用 GBK 编码，写不出 ₁、ŷ、↵ 这类字符。"""

import sys


def tolerate_unencodable_output():
    """让标准输出 / 标准错误把写不出的字符换成 ``?``，而不是抛 ``UnicodeEncodeError`` 让课程或命令中途崩溃。

    只改“遇到写不出的字符怎么办”，编码本身不变：GBK 能写的中文照常输出。Jupyter 的输出流没有这个设置，跳过。
    """
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):  # 已关闭或不支持重新配置的流：保持原样
                pass
