"""包的结构：导入只朝一个方向，没有循环，包内模块不在函数里偷偷导入别的包内模块。

层次（每层只能导入同层或更低层；docs/architecture.md 有同一张表）：

    0 backend, dtypes, version, console
    1 autograd/
    2 ops/
    3 tensor, creation, cuda
    4 nn/, optim/, data/, distributed/, metrics, sampling, serialization, testing/, viz
    5 models/
    6 training, training_config, run_guard, lesson
    7 cli, course_site, classroom/, __main__, 包的 __init__
"""

import ast
from pathlib import Path

import pytest

import tinygrad_zh

PKG = Path(tinygrad_zh.__file__).resolve().parent

LAYERS = [
    ("backend", "dtypes", "version", "console"),
    ("autograd",),
    ("ops",),
    ("tensor", "creation", "cuda"),
    ("nn", "optim", "data", "distributed", "metrics", "sampling", "serialization", "testing", "viz"),
    ("models",),
    ("training", "training_config", "run_guard", "lesson"),
    ("cli", "course_site", "classroom", "__main__", "__init__"),
]
LAZY_ALLOWED = {"cli"}  # 命令行按子命令延迟导入，`tinygrad-zh --help` 才快


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"模块 {module} 不在 LAYERS 里：新模块要在这张表和 docs/architecture.md 里登记层次")


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom):
    """``from ..x import y`` → 包内的绝对模块名列表（y 是子模块时也算上）。"""
    if node.level == 0:
        if not (node.module or "").startswith("tinygrad_zh"):
            return []
        base = node.module.split(".")[1:]
    else:
        here = module.split(".") if module != "__init__" else []
        anchor = here if is_pkg else here[:-1]
        anchor = anchor[:len(anchor) - (node.level - 1)]
        base = anchor + (node.module.split(".") if node.module else [])
    targets = []
    for alias in node.names:
        sub = ".".join(base + [alias.name])
        if (PKG / Path(*sub.split("."))).with_suffix(".py").exists() or (PKG / Path(*sub.split("."))).is_dir():
            targets.append(sub)
        else:
            targets.append(".".join(base) or "__init__")
    return targets


def _imports():
    """{模块: [(被导入的模块, 是否在函数里, 行号)]}"""
    result = {}
    for path in sorted(PKG.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) or isinstance(node, ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        inner.in_function = True
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(module, path.name == "__init__.py", node)
            elif isinstance(node, ast.Import):
                targets = [a.name.split(".", 1)[1] if "." in a.name else "__init__"
                           for a in node.names if a.name.split(".")[0] == "tinygrad_zh"]
            for t in targets:
                found.append((t, getattr(node, "in_function", False), node.lineno))
        result[module] = sorted(set(found), key=lambda x: (x[2], x[0]))
    return result


def upward_imports(imports):
    """导入了更高层模块的地方（包导入自己的子模块不算）。"""
    found = []
    for module, imps in imports.items():
        mine = _layer(module)
        for target, _, line in imps:
            if module != "__init__" and (target == module or target.startswith(module + ".")):
                continue
            if _layer(target) > mine:
                found.append(f"{module}（第 {mine} 层）第 {line} 行导入了更高层的 {target}（第 {_layer(target)} 层）")
    return found


def find_cycle(imports):
    """模块级导入构成的图里的一个循环（列表），没有时返回 None。"""
    graph = {m: {t for t, lazy, _ in imps if not lazy and t != m and not t.startswith(m + ".")}
             for m, imps in imports.items()}
    graph = {m: sorted(t for t in ts if t in graph) for m, ts in graph.items()}
    state = {}
    for start in sorted(graph):
        if start in state:
            continue
        stack, path = [(start, iter(graph[start]))], [start]
        state[start] = "open"
        while stack:
            m, children = stack[-1]
            t = next(children, None)
            if t is None:
                stack.pop()
                path.pop()
                state[m] = "done"
            elif state.get(t) == "open":
                return path[path.index(t):] + [t]
            elif t not in state:
                state[t] = "open"
                stack.append((t, iter(graph[t])))
                path.append(t)
    return None


IMPORTS = _imports()


def test_every_module_has_a_layer():
    for module in IMPORTS:
        _layer(module)


def test_imports_point_down():
    offenders = upward_imports(IMPORTS)
    assert not offenders, "导入方向错了：\n" + "\n".join(offenders)


def test_no_package_import_inside_functions():
    offenders = [f"{m}:{line} 导入 {t}" for m, imps in IMPORTS.items() for t, lazy, line in imps
                 if lazy and m.split(".")[0] not in LAZY_ALLOWED]
    assert not offenders, "函数里不应导入包内模块（放到文件开头）：\n" + "\n".join(offenders)


def test_no_import_cycles():
    cycle = find_cycle(IMPORTS)
    assert cycle is None, "导入循环 (import cycle)：" + " → ".join(cycle or [])


def test_the_checks_catch_what_they_are_for():
    """检查本身会失败：假装 ops 导入了 tensor、两个模块互相导入。"""
    assert upward_imports({"ops.fake": [("tensor", False, 3)]}) == [
        "ops.fake（第 2 层）第 3 行导入了更高层的 tensor（第 3 层）"]
    assert upward_imports({"nn.fake": [("tensor", False, 1), ("nn.module", False, 2)]}) == []
    assert find_cycle({"a": [("b", False, 1)], "b": [("c", False, 1)], "c": [("a", False, 1)]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": [("b", False, 1)], "b": [("a", True, 1)]}) is None  # 函数里的导入不构成加载循环


def test_cupy_is_imported_only_by_backend():
    for path in PKG.rglob("*.py"):
        if path.name == "backend.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in ("cupy", "cupyx") for n in names), f"{path} 导入了 cupy"


def test_two_layer_mlp_step_reads_in_seven_files():
    """一个两层 MLP 的前向、交叉熵与反向，只经过 7 个包内文件（docs/architecture.md 逐个列出）。"""
    import sys

    import tinygrad_zh as tg
    import tinygrad_zh.nn as nn
    import tinygrad_zh.nn.functional as F

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    model, x, y = MLP(), tg.randn(5, 4), tg.tensor([0, 1, 2, 0, 1])
    files = set()

    def record(frame, event, arg):
        path = Path(frame.f_code.co_filename).resolve()
        if event == "call" and PKG in path.parents:
            files.add(path.relative_to(PKG).as_posix())

    sys.setprofile(record)
    try:
        F.cross_entropy(model(x), y).backward()
    finally:
        sys.setprofile(None)
    assert files == {"nn/module.py", "nn/linear.py", "nn/functional.py", "ops/nn.py", "autograd/engine.py",
                     "tensor.py", "backend.py"}
    assert model.fc1.weight.grad is not None
