"""每节课在快速模式 (--quick) 下都能跑通，且给出 参考结果 里写的数。

教师可以只跑某一课：``pytest -m lesson04``。
"""

import math
import os
import pathlib
import subprocess
import sys

import pytest

from lesson_utils import (LESSONS, is_notebook_lesson, lesson_files, lesson_id, load, pngs as _pngs,  # noqa: F401
                          quiet_output,
                          run_lesson_script)  # quiet_output 是自动使用的 fixture


@pytest.mark.lesson00
def test_lesson00(tmp_path):
    r = run_lesson_script("00")
    assert r["first_grad"] == [2.0, 4.0, 6.0] and r["seed_reproducible"]
    assert r["randn_seed0"] == [0.1257, -0.1321, 0.6404] and r["generator123"] == [-0.9891, -0.3678]
    assert r["dtypes"]["tg.tensor(1.5)"] == "float32" and r["dtypes"]["tg.tensor(np.array([1.5]))"] == "float64"
    assert _pngs(tmp_path) == ["00_test_plot.png"]


@pytest.mark.lesson00
def test_lesson00_without_matplotlib(tmp_path):
    """没装 lessons 附加依赖（没有 matplotlib、tqdm）时，第 00 课告诉你该装什么，而不是抛出 traceback。"""
    code = ("import runpy, sys; sys.modules['matplotlib'] = None; sys.modules['tqdm'] = None; "
            f"sys.argv = ['00', '--quick']; runpy.run_path({str(next(LESSONS.glob('00_*.py')))!r})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert 'pip install -e ".[lessons]"' in done.stdout and "matplotlib" in done.stdout
    assert not _pngs(tmp_path)


@pytest.mark.lesson01
def test_lesson01(tmp_path):
    r = run_lesson_script("01")
    assert r["df_exact"] == 4.75 and abs(r["df_backward"] - 4.75) < 1e-5
    assert r["trap_overwrite"] == 3.0 and r["trap_accumulate"] == 6.0 and r["trap_framework"] == 6.0
    assert r["full_grad"] == 12.0 and r["detach_grad"] == 4.0
    assert r["accumulated_grads"] == [4.0, 8.0, 4.0] and r["fanout_overwrite"] == -2.0
    assert _pngs(tmp_path) == ["01_f_and_df.png", "01_graph.png"]


@pytest.mark.lesson02
def test_lesson02(tmp_path):
    r = run_lesson_script("02")
    assert math.isclose(r["logreg_initial_loss"], math.log(2), rel_tol=1e-6)
    assert r["logreg_final_loss"] < 0.35 and r["logreg_grad_diff"] < 1e-6
    # 快速模式 300 步：“太大”的学习率暂时领先（参考结果里的那句话由这几个数算出）
    loss = r["rosen_final_loss"]
    assert loss["too_large"] < loss["good"] < loss["too_small"] and r["rosen_diverged_at"] == 4
    assert len(_pngs(tmp_path)) >= 3


@pytest.mark.lesson02
@pytest.mark.slow
def test_lesson02_full_mode(tmp_path):
    """完整模式的数（以前手写在参考结果里的那些）。"""
    r = run_lesson_script("02", quick=False)
    assert [round(v, 4) for v in r["quartic_final"]] == [-1.3008, 1.1309]
    assert [round(v, 4) for v in r["rosen_final"]["good"]] == [0.9926, 0.9852]
    assert r["rosen_final_loss"]["good"] < r["rosen_final_loss"]["too_small"] < r["rosen_final_loss"]["too_large"]
    assert round(r["logreg_final_loss"], 4) == 0.2873 and round(r["logreg_accuracy"], 3) == 0.890


@pytest.mark.lesson03
def test_lesson03(tmp_path):
    r = run_lesson_script("03")
    assert r["a_grad"] == [[6.0], [22.0], [38.0]] and r["b_grad"] == [[12.0, 15.0, 18.0, 21.0]]
    assert r["cube_grad"] == [3.0, 0.75, 12.0] and r["gradcheck_cube"] and r["float32_refused"]
    # 植入的 1% 错误：逐元素检查一次也没放过，16 个随机方向会漏掉一些
    assert r["planted_missed_full"] == 0 and r["planted_missed_random16"] > 0
    assert _pngs(tmp_path)


@pytest.mark.lesson03
@pytest.mark.slow
def test_lesson03_full_mode(tmp_path):
    """完整模式的数（以前手写在参考结果里的那些）。"""
    r = run_lesson_script("03", quick=False)
    assert r["planted_seeds"] == 100 and r["planted_missed_random16"] == 39 and r["planted_missed_full"] == 0
    assert len(r["central_diff_table"]) == 5 and r["group_size"] == 23 and r["group_rounds"] == 7


@pytest.mark.lesson04
def test_lesson04(tmp_path):
    r = run_lesson_script("04")
    assert math.isclose(r["loss"], 0.07605, rel_tol=1e-9)
    assert math.isclose(r["framework_loss"], 0.07605, rel_tol=1e-6)
    assert math.isclose(r["new_loss"], 0.07194898334, rel_tol=1e-9) and r["gradcheck_network"]
    assert _pngs(tmp_path)


@pytest.mark.lesson04
@pytest.mark.slow
def test_lesson04_full_mode(tmp_path):
    """完整模式的数（以前手写在参考结果里的那些）：继续训练 100 步。"""
    r = run_lesson_script("04", quick=False)
    assert r["train_steps"] == 100
    assert round(r["final_loss"], 6) == 0.000229 and round(r["final_y_hat"], 6) == 0.978604


def gbk_env():
    """子进程里运行的课程与答案都写到 GBK 的管道里（中文 Windows 的样子），写不出的字符不能让它们崩溃。"""
    return {**os.environ, "PYTHONIOENCODING": "gbk"}   # 调用时再取：fixture 设的输出目录、后端要传下去


@pytest.mark.lessons
@pytest.mark.parametrize("name", ["00", "04"])
def test_lesson_runs_as_a_script(name, tmp_path):
    path = next(LESSONS.glob(f"{name}_*.py"))
    done = subprocess.run([sys.executable, str(path), "--quick", "--device", "cpu"],
                          capture_output=True, timeout=300, env=gbk_env())
    assert done.returncode == 0, done.stderr.decode("gbk", errors="replace")[-2000:]


@pytest.mark.lessons
@pytest.mark.parametrize("path", sorted((LESSONS / "answers").glob("*.py")), ids=lambda p: p.stem)
def test_answers_run(path, tmp_path):
    # 支持快速模式的答案用 --quick 跑（完整模式可能要几分钟，留给学生自己运行）
    quick = ["--quick"] if "--quick" in path.read_text(encoding="utf-8") else []
    done = subprocess.run([sys.executable, str(path), *quick], capture_output=True, timeout=300, env=gbk_env())
    assert done.returncode == 0, done.stderr.decode("gbk", errors="replace")[-2000:]


def test_every_lesson_is_tested_and_has_the_required_sections():
    import re
    tests_dir = pathlib.Path(__file__).resolve().parent
    tested = {m for f in tests_dir.glob("test_lessons*.py")
              for m in re.findall(r"^def test_lesson(\d\d[a-z]?)(?=[_(])", f.read_text(encoding="utf-8"), flags=re.M)}
    for path in lesson_files():
        text = path.read_text(encoding="utf-8")
        assert lesson_id(path) in tested, f"{path.name} 没有对应的测试"
        # 按笔记本约定改写的课程有参数单元与 RESULTS；旧写法的课程有 main(quick, device)
        entry = (("QUICK, DEVICE = lesson_args(QUICK, DEVICE)", "RESULTS = {}") if is_notebook_lesson(path)
                 else ("def main(quick=False, device=\"cpu\")",))
        for section in ("学习目标", "前置知识", "运行方式", "小结", "练习", "参考结果", "--quick", *entry):
            assert section in text, f"{path.name} 缺少「{section}」"


def reading_minutes(path):
    """一课读完大约要几分钟：汉字按每分钟 300 字，代码按每分钟 20 行（不算空行与注释行）。"""
    import re
    text = pathlib.Path(path).read_text(encoding="utf-8")
    hanzi = len(re.findall(r"[\u4e00-\u9fff]", text))
    code = sum(1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    return hanzi / 300 + code / 20


def test_every_lesson_fits_one_sitting():
    """一课一次坐下来读完（约 45 分钟）；更长的课分成几部分（08a、08b……）。"""
    too_long = {p.name: round(reading_minutes(p)) for p in lesson_files() if reading_minutes(p) > 45}
    assert not too_long, f"这些课读完要超过 45 分钟，应当分成几部分：{too_long}"


def test_every_answer_checks_itself():
    """每道练习的答案（answers/*.py 里的 exerciseN 函数）都自己断言结论（assert、assert_close 或 gradcheck），
    而不只是打印：答案写错了，运行答案的测试就会失败。"""
    import ast
    checkers = {"assert_close", "gradcheck", "assert_allclose"}
    missing = []
    for path in sorted((LESSONS / "answers").glob("*.py")):
        funcs = {n.name: n for n in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(n, ast.FunctionDef)}

        def checks(fn, seen=()):
            for node in ast.walk(fn):
                if isinstance(node, ast.Assert):
                    return True
                if isinstance(node, ast.Call):
                    name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                    if name in checkers or (name in funcs and name not in seen
                                            and checks(funcs[name], seen + (fn.name,))):
                        return True
            return False
        missing += [f"{path.name}:{name}" for name, fn in funcs.items() if name.startswith("exercise") and not checks(fn)]
    assert not missing, f"这些答案只打印、不检查：{missing}"
