"""答案区 (solution region)：源代码里可以被工具剥掉的参考实现。

写法（缩进与所在代码块相同，BEGIN 行写任务编号）::

    def sum_to_shape(xp, g, shape):
        \"\"\"文档字符串与区外的注释是给学生的说明，学生版里保留。\"\"\"
        # BEGIN SOLUTION task03_1
        ...参考实现...
        # END SOLUTION

生成学生版时，BEGIN 与 END 之间（含这两行）换成一行注释和一行
``raise NotImplementedError("任务 03.1：…")``，缩进与 BEGIN 行相同。
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tasks import BY_ID, stub_message

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\b(?P<rest>.*)$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
MARK = "# BEGIN SOLUTION"

# 泄露检查按“连续三行有效代码”比对：单独一行（`optimizer.zero_grad()`、`if bias is not None:`）到处都有，
# 说明不了什么；三行连在一起且足够长，就几乎只可能是抄过去的参考实现
WINDOW = 3
MIN_WINDOW_CHARS = 60


class RegionError(ValueError):
    """答案区的标记写错了：没有配对、嵌套、任务编号未登记。"""


@dataclass
class Region:
    path: str
    task: str
    start: int          # BEGIN 行的行号（从 1 起）
    end: int            # END 行的行号
    indent: str
    body: list          # 两个标记之间的行（不含换行符）


def find_regions(text: str, path: str = "<text>") -> list[Region]:
    """找出 ``text`` 里的全部答案区；标记写错时抛出 RegionError，指出文件与行号。"""
    regions, open_region = [], None
    for number, line in enumerate(text.splitlines(), 1):
        m = BEGIN.match(line)
        if m:
            if open_region is not None:
                raise RegionError(f"{path}:{number}：答案区不能嵌套（第 {open_region.start} 行的 BEGIN 还没有 END）。")
            task = m.group("rest").strip()
            if task not in BY_ID:
                raise RegionError(f"{path}:{number}：BEGIN SOLUTION 后面的任务编号 {task!r} 没有登记"
                                  "（见 tinygrad_zh/classroom/tasks.py 的 TASKS）。")
            open_region = Region(path, task, number, 0, m.group("indent"), [])
        elif END.match(line):
            if open_region is None:
                raise RegionError(f"{path}:{number}：END SOLUTION 前面没有 BEGIN SOLUTION。")
            open_region.end = number
            regions.append(open_region)
            open_region = None
        elif open_region is not None:
            open_region.body.append(line)
    if open_region is not None:
        raise RegionError(f"{path}:{open_region.start}：BEGIN SOLUTION {open_region.task} 没有对应的 END SOLUTION。")
    for r in regions:
        if not any(line.strip() and not line.strip().startswith("#") for line in r.body):
            raise RegionError(f"{path}:{r.start}：答案区 {r.task} 里没有代码。")
    return regions


def strip_regions(text: str, path: str) -> tuple[str, list[Region]]:
    """把 ``text`` 里的每个答案区换成桩；返回 (新文本, 答案区列表)。"""
    regions = find_regions(text, path)
    if not regions:
        return text, regions
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    out, i = [], 0
    for r in regions:
        out.extend(lines[i:r.start - 1])
        task = BY_ID[r.task]
        out.append(f"{r.indent}# 任务 {task.label}：在这里写你的实现，写好后删掉下面这一行。{newline}")
        out.append(f"{r.indent}raise NotImplementedError({stub_message(task, path)!r}){newline}")
        i = r.end
    out.extend(lines[i:])
    return "".join(out), regions


def significant(lines) -> list:
    """有效代码行：去掉首尾空白，不要空行与注释行。"""
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def windows(lines) -> set:
    """``lines`` 里连续 WINDOW 行有效代码组成的片段（总长不少于 MIN_WINDOW_CHARS）。"""
    code = significant(lines)
    return {tuple(code[i:i + WINDOW]) for i in range(len(code) - WINDOW + 1)
            if sum(map(len, code[i:i + WINDOW])) >= MIN_WINDOW_CHARS}


def secret_windows(regions) -> set:
    """答案区里的片段：学生版的任何文件里都不能出现它们中的任何一个。"""
    found = set()
    for r in regions:
        found |= windows(r.body)
    return found
