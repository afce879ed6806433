"""课堂套件自证：登记表、答案区、学生版与评分彼此一致；学生版的每个任务都失败（各带自己的中文信息），
参考版全部通过（tests/tasks 在普通测试里运行）；每个埋好的错误只让它自己的任务失败。

这个文件不进学生版：下面的 PLANTED 写着参考实现的原文。
"""

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import tinygrad_zh
from tinygrad_zh.classroom.edition import (MARKER_FILE, autograding_config, generate, graded_answer,
                                           repository_files, scan_for_leaks)
from tinygrad_zh.classroom.grading import format_table, gradescope_json, run_task_tests, summarize
from tinygrad_zh.classroom.regions import RegionError, find_regions, secret_windows, strip_regions
from tinygrad_zh.classroom.tasks import BY_ID, TASKS, tasks_for

ROOT = Path(tinygrad_zh.__file__).resolve().parent.parent
ALL = [t.id for t in TASKS]

# (任务, 文件, 参考代码里的原文, 埋错之后的样子)：错误的种类见右边的说明
PLANTED = [
    ("task01_1", "tinygrad_zh/autograd/engine.py", "        visited.add(id(t))\n", ""),               # 忘了记下已访问
    ("task01_2", "tinygrad_zh/autograd/engine.py",
     "grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg", "grads[id(parent)] = pg"),  # 覆盖
    ("task03_1", "tinygrad_zh/autograd/engine.py", "axes = tuple(range(lead)) + tuple(", "axes = tuple("),  # 漏了前导维
    ("task03_2", "tinygrad_zh/ops/elementwise.py", "-ga * out if ctx.needs_input_grad[1]",
     "ga * out if ctx.needs_input_grad[1]"),                                                             # 符号反了
    ("task05_1", "lessons/05_linear_regression.py", "gw = (2 / n) * (X.T @ r).T", "gw = (1 / n) * (X.T @ r).T"),
    ("task05_2", "lessons/05_linear_regression.py", "            optimizer.zero_grad()\n            pred = model(xb)",
     "            pred = model(xb)"),                                                                 # 忘了清零梯度
    ("task06_1", "tinygrad_zh/ops/nn.py", "loss = -(1.0 - eps) * (picked - log_total)",
     "loss = -(1.0 - eps) * (picked + log_total)"),                                                      # 符号反了
    ("task06_2", "tinygrad_zh/ops/nn.py", "grad[rows, safe] -= (1.0 - eps) * r", "grad[rows, safe] += (1.0 - eps) * r"),
    ("task08_1", "tinygrad_zh/optim/sgd.py", "buf += g if dampening == 0 else (1.0 - dampening) * g", "buf += g"),
    ("task08_2", "tinygrad_zh/optim/adagrad.py", "clr = lr / (1.0 + (step - 1) * lr_decay)",
     "clr = lr / (1.0 + step * lr_decay)"),                                                              # 差一步
    ("task08_3", "tinygrad_zh/optim/rmsprop.py", "    tmp *= 1.0 - alpha\n    square_avg *= alpha",
     "    square_avg *= alpha"),                                                                          # 漏了 (1−α)
    ("task08_4", "tinygrad_zh/optim/adam.py", "tmp *= lr / bias_correction1", "tmp *= lr"),              # 漏了偏差修正
    ("task08_5", "tinygrad_zh/optim/adam.py", "param *= 1.0 - lr * weight_decay", "param *= 1.0 - weight_decay"),
    ("task11_1", "tinygrad_zh/ops/conv.py", "xp.transpose(win, (1, 4, 5, 0, 2, 3))",
     "xp.transpose(win, (1, 5, 4, 0, 2, 3))"),                                                           # 卷积核转置了
    ("task11_2", "tinygrad_zh/ops/conv.py", "gw = xp.reshape(gmat @ cols.T, (o, c) + kernel)",
     "gw = xp.swapaxes(xp.reshape(gmat @ cols.T, (c, o) + kernel), 0, 1)"),                            # 转置的梯度
    ("task13_1", "tinygrad_zh/nn/rnn.py", "i, f, g, o = gates.chunk(4, -1)", "i, f, o, g = gates.chunk(4, -1)"),
    ("task14_1", "tinygrad_zh/ops/attention.py", "        gz -= xp.sum(gp * probs, axis=-1, keepdims=True)\n", ""),
    ("task16_1", "tinygrad_zh/sampling.py", "[..., V - top_k:V - top_k + 1]", "[..., V - top_k - 1:V - top_k]"),  # 窗口差一
    ("task16_2", "tinygrad_zh/sampling.py", "before = xp.cumsum(probs, axis=-1) - probs",
     "before = xp.cumsum(probs, axis=-1)"),                                                              # 包含了自己
]


def _source_regions():
    found = []
    for rel in repository_files(ROOT):
        if rel.endswith(".py") and not rel.startswith("tests/"):
            text = (ROOT / rel).read_text(encoding="utf-8")
            if "# BEGIN SOLUTION" in text:
                found += find_regions(text, rel)
    return found


def test_registry_regions_markers_and_tests_agree():
    regions = _source_regions()
    assert {r.task for r in regions} == set(BY_ID), "每个登记的任务在源代码里都要有答案区"
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    markers = {line.split(":")[0].strip() for line in cfg["tool:pytest"]["markers"].splitlines() if line.strip()}
    assert set(BY_ID) <= markers, f"setup.cfg 缺少任务标记：{sorted(set(BY_ID) - markers)}"
    tests = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests" / "tasks").glob("test_*.py"))
    assert {t for t in BY_ID if f"pytest.mark.{t}\n" not in tests} == set(), "每个任务至少要有一个测试"
    assert {p[0] for p in PLANTED} == set(BY_ID), "每个任务至少要有一个埋好的错误"
    manual = (ROOT / "docs" / "classroom" / "README.md").read_text(encoding="utf-8")
    assert [t.label for t in TASKS if f"| {t.label} |" not in manual] == [], "教师手册的任务表要列出每个任务"
    assert [t.id for t in tasks_for("08b")] == ["task08_1", "task08_2", "task08_3", "task08_4", "task08_5"]


def test_strip_regions_makes_a_stub_and_rejects_bad_markers():
    text = "def f(x):\n    \"\"\"说明留下。\"\"\"\n    # BEGIN SOLUTION task03_1\n    return x + 1\n    # END SOLUTION\n"
    new, regions = strip_regions(text, "m.py")
    assert [r.task for r in regions] == ["task03_1"] and "return x + 1" not in new and "说明留下" in new
    scope = {}
    exec(new, scope)
    with pytest.raises(NotImplementedError, match=r"^任务 03\.1："):
        scope["f"](1)
    for bad in ("    # BEGIN SOLUTION task03_1\n    x = 1\n",                            # 没有 END
                "    # END SOLUTION\n",                                                # 没有 BEGIN
                "    # BEGIN SOLUTION task99_9\n    x = 1\n    # END SOLUTION\n",       # 没登记的任务
                "    # BEGIN SOLUTION task03_1\n    # BEGIN SOLUTION task03_2\n"):     # 嵌套
        with pytest.raises(RegionError):
            find_regions(bad, "m.py")


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    return generate(ROOT, tmp_path_factory.mktemp("classroom") / "student")


def test_student_edition_contents(edition):
    out = edition.out
    assert set(edition.stubs) == set(BY_ID)
    files = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".pyc", ".pyo")) or "__pycache__" in f]
    assert not [f for f in files if graded_answer(f)], "评分任务那几课的练习答案不进学生版"
    assert "lessons/answers/02_gradient_descent_answers.py" in files, "其余课的答案照常带上"
    assert not [f for f in files if f.startswith("tests/test_classroom")]
    assert "benchmarks/gpt_numpy.py" not in files
    assert json.loads((out / ".github/classroom/autograding.json").read_text(encoding="utf-8")) == autograding_config()
    workflow = (out / ".github/workflows/classroom.yml").read_text(encoding="utf-8")
    assert all(f"-m {t} tests/tasks" in workflow for t in BY_ID)
    assert (out / MARKER_FILE).exists()
    # 答案区的代码一行不剩；检查本身查得出一份抄过去的参考实现
    secrets = secret_windows(_source_regions())
    assert scan_for_leaks(out, secrets) == []
    adam = next(r for r in _source_regions() if r.task == "task08_4")
    (out / "my_notes.py").write_text("\n".join(adam.body), encoding="utf-8")
    try:
        assert [p for p, *_ in scan_for_leaks(out, secrets)] and {p for p, *_ in scan_for_leaks(out, secrets)} == {
            "my_notes.py"}
    finally:
        (out / "my_notes.py").unlink()
    assert "raise NotImplementedError('任务 08.4：" in (out / "tinygrad_zh/optim/adam.py").read_text(encoding="utf-8")


def test_student_edition_fails_exactly_each_task(edition):
    records, output, _ = run_task_tests(edition.out, ALL)
    assert records, output
    results = summarize(TASKS, records)
    assert {r.task.id: (r.passed, r.status) for r in results} == {t: (0, "failed") for t in BY_ID}
    for rec in records:  # 每个失败都是它自己任务的桩在说话，而不是别的任务或导入错误
        (task,) = rec["tasks"]
        assert rec["message"].startswith(f"任务 {BY_ID[task].label}："), (rec["nodeid"], rec["message"])
    table = format_table(results)
    assert "得分 0 / 190" in table and "任务 14.1：" in table


def test_task_tests_refuse_another_copy_of_the_package(edition, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    env.pop("TINYGRAD_ZH_TASK_ROOT", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", str(edition.out / "tests" / "tasks"), "-q", "-p",
                           "no:cacheprovider", "--confcutdir", str(edition.out / "tests" / "tasks")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode != 0 and "不是被评分的仓库" in proc.stdout + proc.stderr


def _minimal_copy(dst):
    shutil.copytree(ROOT / "tinygrad_zh", dst / "tinygrad_zh", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests" / "tasks", dst / "tests" / "tasks", ignore=shutil.ignore_patterns("__pycache__"))
    (dst / "lessons").mkdir()
    for p in (ROOT / "lessons").glob("[0-9]*.py"):
        shutil.copyfile(p, dst / "lessons" / p.name)
    shutil.copyfile(ROOT / "setup.cfg", dst / "setup.cfg")


def _run_with_bug(base, tmp_path, bug):
    task, rel, old, new = bug
    dst = tmp_path / task
    shutil.copytree(base, dst)
    path = dst / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{rel} 里找不到要埋错的原文（参考实现改过了？）：{old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    records, output, _ = run_task_tests(dst, ALL)
    return bug, records, output


def test_planted_bugs_fail_exactly_their_task(tmp_path):
    base = tmp_path / "base"
    _minimal_copy(base)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        runs = list(pool.map(lambda b: _run_with_bug(base, tmp_path, b), PLANTED))
    problems = []
    for (task, rel, old, new), records, output in runs:
        failed = {r.task.id for r in summarize(TASKS, records) if r.status != "passed"}
        if failed != {task}:
            problems.append(f"{task}（{rel}）：失败的任务是 {sorted(failed)}\n{output[-1500:]}")
            continue
        messages = [r["message"] for r in records if r["outcome"] == "failed"]
        if any("NotImplementedError" in m or "任务 " in m[:4] for m in messages):
            problems.append(f"{task}：失败信息不像是在指出错误：{messages[0]}")
    assert not problems, "\n\n".join(problems)


def test_grader_time_limit_table_and_gradescope_json(tmp_path):
    tests = tmp_path / "tasks"
    tests.mkdir()
    shutil.copyfile(ROOT / "tests" / "tasks" / "conftest.py", tests / "conftest.py")
    (tests / "test_slow.py").write_text(
        "import time\nimport pytest\n\n\n@pytest.mark.task01_1\ndef test_loops_forever():\n    while True:\n"
        "        time.sleep(0.01)\n\n\n@pytest.mark.task01_1\ndef test_fine():\n    pass\n", encoding="utf-8")
    records, output, _ = run_task_tests(ROOT, ["task01_1"], tests=tests, timeout=1)
    by_name = {r["name"]: r for r in records}
    assert by_name["test_fine"]["outcome"] == "passed", output
    assert by_name["test_loops_forever"]["outcome"] == "failed"
    assert by_name["test_loops_forever"]["message"].startswith("超时 (timeout)：这个测试运行超过了 1 秒")
    (result,) = summarize([BY_ID["task01_1"]], records)
    assert (result.passed, result.total, result.score) == (1, 2, 5.0)
    data = gradescope_json([result])
    assert data["score"] == 5.0 and re.match(r"任务 01\.1：", data["tests"][0]["name"])
    assert data["tests"][0]["max_score"] == 10 and "超时" in data["tests"][0]["output"]


def test_grade_command_on_the_solution(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "tinygrad_zh", "grade", "13", "--root", str(ROOT), "--json", str(out)],
                          capture_output=True, text=True, encoding="utf-8", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "13.1  通过 2/2" in proc.stdout and "得分 10 / 10" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [t["score"] for t in data["tests"]] == [10.0]


def test_cli_errors_are_chinese(capsys, tmp_path):
    from tinygrad_zh.cli import main
    assert main(["grade", "02"]) == 2
    assert "第 02 课没有评分任务" in capsys.readouterr().err
    assert main(["student-edition", str(ROOT / "student")]) == 2
    assert "不能在仓库" in capsys.readouterr().err
    (tmp_path / "x.txt").write_text("别人的文件", encoding="utf-8")
    assert main(["student-edition", str(tmp_path)]) == 2
    assert "已存在且不为空" in capsys.readouterr().err and (tmp_path / "x.txt").exists()
