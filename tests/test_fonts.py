"""图里的字不画成方块：中文字体 → DejaVu Sans 的字体族列表能写出课程用到的每个字符。

要检查的字符从课程、练习答案与 ``viz.py`` 的代码里收集（字符串常量，不含注释、讲解与文档字符串），
所以新课程用了新符号，这里自动检查它。两种检查：按字体文件的字符表 (charmap) 查
（``viz.missing_glyphs``），以及真的画一张图、接住 matplotlib 的 “Glyph … missing from font(s)” 警告。
"""

import ast
import os
import pathlib
import unicodedata
import warnings

import pytest

pytest.importorskip("matplotlib")

from tinygrad_zh import viz  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "lessons").glob("*.py")) + sorted((ROOT / "lessons" / "answers").glob("*.py")) + [
    ROOT / "tinygrad_zh" / "viz.py"]
IN_CI = os.environ.get("CI", "").lower() == "true"


def _docstrings(tree):
    """模块、函数、类的文档字符串节点（它们不进图）。"""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                yield first.value


def code_characters():
    """代码的字符串常量（含 f-string 的文字部分）里出现的全部非 ASCII 字符，按码位排序。"""
    found = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip = {id(node) for node in _docstrings(tree)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                found.update(ch for ch in node.value if ord(ch) > 127 and ch.isprintable() and not ch.isspace())
    return "".join(sorted(found))


def needs_cjk_font(ch):
    """全角字符（汉字、全角标点）要中文字体；没有中文字体时课程改用英文标签，不画它们。"""
    return unicodedata.east_asian_width(ch) in ("W", "F")


CHARS = code_characters()
SPECIAL = "".join(ch for ch in CHARS if not needs_cjk_font(ch))   # ₁ ₂ ⁴ ŷ ŵ ↵ θ ∂ √ …
CJK = "".join(ch for ch in CHARS if needs_cjk_font(ch))


def render_warnings(text, width=40):
    """把 ``text`` 分行画进标题、正文、刻度标签与图例，返回绘制时的 “missing from font” 警告。"""
    lines = [text[i:i + width] for i in range(0, len(text), width)] or [""]
    fig, ax = viz.subplots(figsize=(8, 0.3 * len(lines) + 2))
    try:
        ax.set_title(lines[0])
        ax.plot([0, 1], [0, 1], label=lines[-1])
        ax.legend()
        ax.set_xticks([0, 1], [lines[0][:4], lines[-1][-4:]])
        for i, line in enumerate(lines):
            ax.text(0.02, 0.95 - i / (len(lines) + 1), line, transform=ax.transAxes)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.canvas.draw()
    finally:
        import matplotlib.pyplot as plt
        plt.close(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_collected_characters_include_the_known_troublemakers():
    """收集本身在工作：这些符号在课程的图里出现过，中文字体大多没有它们。"""
    for ch in "₁₂ŷ↵":
        assert ch in SPECIAL, f"没从课程代码里收集到 {ch!r}"
    assert "损" in CJK or "（" in CJK


def test_font_family_is_cjk_first_then_dejavu():
    import matplotlib
    has_cjk = viz.setup_font()
    families = list(matplotlib.rcParams["font.family"])
    assert families[-1] == "DejaVu Sans", families
    if has_cjk:
        assert families[0] in viz._CJK_FONTS, families


def test_every_special_character_has_a_glyph():
    missing = viz.missing_glyphs(SPECIAL)
    assert not missing, f"这些字符在图用的字体 {viz.font_files()} 里都没有字形，会画成方块：{''.join(missing)}"


def test_drawing_special_characters_gives_no_missing_glyph_warning():
    assert render_warnings(SPECIAL) == []


def test_chinese_in_figures_when_a_cjk_font_is_installed():
    if not viz.setup_font():
        if IN_CI:
            pytest.fail("CI 里没有中文字体：.ci/run 应安装 fonts-noto-cjk")
        pytest.skip("没有安装中文字体（如 Debian 的 fonts-noto-cjk），图里用英文标签")
    assert viz.missing_glyphs(CJK) == []
    assert render_warnings(CJK + SPECIAL) == []


def test_the_checks_see_a_box():
    """检查本身会失败：藏文字符 ༀ 不在这几个字体里。"""
    assert viz.missing_glyphs("ༀ₁") == ["ༀ"]
    assert render_warnings("ༀ") and "3840" in render_warnings("ༀ")[0]
