"""从课程脚本里只取出一个函数来测试：不运行整课（画图、训练都不跑），只编译这个 ``def``。"""

from __future__ import annotations

import ast
from pathlib import Path


def lesson_files(root, lesson: str) -> list:
    """``root/lessons`` 里第 ``lesson`` 课的脚本（``08`` 也包括 ``08a_*.py``、``08b_*.py``）。"""
    folder = Path(root) / "lessons"
    return sorted(p for p in folder.glob(f"{lesson}*_*.py") if p.name[2:3] in ("_",) or p.name[2:3].isalpha())


def load_function(root, lesson: str, name: str, namespace: dict):
    """第 ``lesson`` 课里顶层的 ``def name``，在 ``namespace``（脚本里它用到的全局名字）里编译并返回。"""
    for path in lesson_files(root, lesson):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                module = ast.Module(body=[node], type_ignores=[])
                scope = dict(namespace)
                exec(compile(module, str(path), "exec"), scope)  # noqa: S102  只编译这一个函数定义
                return scope[name]
    raise LookupError(f"在 {Path(root) / 'lessons'} 里第 {lesson} 课的脚本中找不到函数 {name}。")
