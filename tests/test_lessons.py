"""每节课在快速模式 (--quick) 下都能跑通，且给出 参考结果 里写的数。

教师可以只跑某一课：``pytest -m lesson04``。
"""

import math
import pathlib
import subprocess
import sys

import pytest

from lesson_utils import LESSONS, load, pngs as _pngs, quiet_output  # noqa: F401  (quiet_output 是自动使用的 fixture)


@pytest.mark.lesson00
def test_lesson00(tmp_path):
    r = load("00").main(quick=True)
    assert r["first_grad"] == [2.0, 4.0, 6.0] and r["seed_reproducible"]
    assert r["randn_seed0"] == [0.1257, -0.1321, 0.6404]
    assert _pngs(tmp_path)


@pytest.mark.lesson01
def test_lesson01(tmp_path):
    r = load("01").main(quick=True)
    assert r["df_exact"] == 4.75 and abs(r["df_backward"] - 4.75) < 1e-5
    assert r["trap_overwrite"] == 3.0 and r["trap_accumulate"] == 6.0 and r["trap_framework"] == 6.0
    assert r["full_grad"] == 12.0 and r["detach_grad"] == 4.0
    assert len(_pngs(tmp_path)) >= 2


@pytest.mark.lesson02
def test_lesson02(tmp_path):
    r = load("02").main(quick=True)
    assert math.isclose(r["logreg_initial_loss"], math.log(2), rel_tol=1e-6)
    assert r["logreg_final_loss"] < 0.35 and r["logreg_grad_diff"] < 1e-6
    assert len(_pngs(tmp_path)) >= 3


@pytest.mark.lesson03
def test_lesson03(tmp_path):
    r = load("03").main(quick=True)
    assert r["a_grad"] == [[6.0], [22.0], [38.0]] and r["b_grad"] == [[12.0, 15.0, 18.0, 21.0]]
    assert r["cube_grad"] == [3.0, 0.75, 12.0] and r["gradcheck_cube"] and r["float32_refused"]
    # 植入的 1% 错误：逐元素检查一次也没放过，16 个随机方向会漏掉一些
    assert r["planted_missed_full"] == 0 and r["planted_missed_random16"] > 0
    assert _pngs(tmp_path)


@pytest.mark.lesson04
def test_lesson04(tmp_path):
    r = load("04").main(quick=True)
    assert math.isclose(r["loss"], 0.07605, rel_tol=1e-9)
    assert math.isclose(r["framework_loss"], 0.07605, rel_tol=1e-6)
    assert math.isclose(r["new_loss"], 0.07194898334, rel_tol=1e-9) and r["gradcheck_network"]
    assert _pngs(tmp_path)


@pytest.mark.lessons
@pytest.mark.parametrize("name", ["00", "04"])
def test_lesson_runs_as_a_script(name, tmp_path):
    path = next(LESSONS.glob(f"{name}_*.py"))
    done = subprocess.run([sys.executable, str(path), "--quick", "--device", "cpu"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.lessons
@pytest.mark.parametrize("path", sorted((LESSONS / "answers").glob("*.py")), ids=lambda p: p.stem)
def test_answers_run(path, tmp_path):
    # 支持快速模式的答案用 --quick 跑（完整模式可能要几分钟，留给学生自己运行）
    quick = ["--quick"] if "--quick" in path.read_text(encoding="utf-8") else []
    done = subprocess.run([sys.executable, str(path), *quick], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_lesson_is_tested_and_has_the_required_sections():
    import re
    tests_dir = pathlib.Path(__file__).resolve().parent
    tested = {m for f in tests_dir.glob("test_lessons*.py")
              for m in re.findall(r"^def test_lesson(\d\d)\b", f.read_text(encoding="utf-8"), flags=re.M)}
    for path in sorted(LESSONS.glob("[0-9][0-9]_*.py")):
        text = path.read_text(encoding="utf-8")
        assert path.name[:2] in tested, f"{path.name} 没有对应的测试"
        for section in ("学习目标", "前置知识", "运行方式", "小结", "练习", "参考结果", "def main(quick=False, device=\"cpu\")",
                        "--quick"):
            assert section in text, f"{path.name} 缺少「{section}」"
