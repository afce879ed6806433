"""把按笔记本约定改写的课程转成笔记本并执行（jupytext + nbclient），检查它像一本笔记本那样工作：

- 没有单元出错；
- 输出分散在各步：至少 MIN_CELLS_WITH_OUTPUT 个代码单元有输出，第一步的输出不在最后一个单元里；
- 有图的课程，图以 ``image/png`` 内嵌在笔记本里。

要执行的课程由参数单元（``# %% tags=["parameters"]``）自动识别；``pytest -m lesson02`` 会同时跑脚本与笔记本测试。
需要 ``pip install -e ".[test,lessons]"``（jupytext、nbclient、ipykernel）；没装时跳过。
执行与 ``tinygrad-zh site`` 共用缓存（``build/site-test/executed/``）：课程与框架没变时不重新执行。
"""

import pytest

from lesson_utils import NOTEBOOK_LESSONS, SITE_TEST_OUT, lesson_marker, lesson_path, quiet_output  # noqa: F401

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("jupytext")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from tinygrad_zh import course_site  # noqa: E402  (只用标准库与 jupytext / nbclient)

MIN_CELLS_WITH_OUTPUT = 5
# 调用了 show(...) 的课程有图：执行后的笔记本里必须有内嵌的图片
HAS_FIGURES = {n for n in NOTEBOOK_LESSONS if "show(" in lesson_path(n).read_text(encoding="utf-8")}


def _text(output):
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return "".join(output.get("data", {}).get("text/plain", ""))


@pytest.mark.lessons
@pytest.mark.parametrize("name", [pytest.param(n, marks=lesson_marker(n)) for n in NOTEBOOK_LESSONS])
def test_lesson_runs_as_a_notebook(name):
    # 与课程网站同样的执行方式（快速模式、CPU、内嵌图），结果放进网站测试的缓存：test_site.py 构建网站时不必再执行一遍
    path = lesson_path(name)
    assert "parameters" in jupytext_first_code_cell_tags(path)
    nb = nbformat.read(str(course_site.executed_notebook(path, SITE_TEST_OUT, quick=True, device="cpu")), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    with_output = [i for i, c in enumerate(code) if c.get("outputs")]
    assert len(with_output) >= MIN_CELLS_WITH_OUTPUT, f"只有 {len(with_output)} 个代码单元有输出"
    # 第一步（参数单元、导入单元之后的第一个有输出的单元）的输出就在它自己下面，而不是最后一个单元
    first_step = next(i for i in with_output if i >= 2)
    assert first_step != len(code) - 1
    last_text = "".join(_text(o) for o in code[-1].get("outputs", []))
    first_text = "".join(_text(o) for o in code[first_step].get("outputs", []))
    assert first_text.strip() and first_text.strip() not in last_text
    assert "QUICK = True" in "".join(_text(o) for c in code for o in c.get("outputs", []))
    images = [o for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    if name in HAS_FIGURES:
        assert images, "图没有内嵌在笔记本里"


def jupytext_first_code_cell_tags(path):
    import jupytext
    nb = jupytext.read(path)
    return nb.cells[[c.cell_type for c in nb.cells].index("code")].metadata.get("tags", [])
