"""术语统一（TERMS.md 的约定）：课程与包里的中文不出现未加注的另类译名。

规则：另类译名可以出现，但同一文件里必须同时出现推荐译名（即“首次出现时注明”）。
"""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = sorted(ROOT.glob("lessons/**/*.py")) + sorted((ROOT / "tinygrad_zh").rglob("*.py")) + [ROOT / "README.md"]

# 另类译名 → 必须同时出现的推荐译名
VARIANTS = {
    "池化": "汇聚",
    "批归一化": "批量规范化",
    "批标准化": "批量规范化",
    "丢弃法": "暂退法",
    "梯度截断": "梯度裁剪",
    "递归神经网络": "循环神经网络",
    "感知器": "感知机",
    "迭代周期": "轮",
}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_alternative_terms_are_glossed(path):
    text = path.read_text(encoding="utf-8")
    for variant, preferred in VARIANTS.items():
        if variant in text:
            assert preferred in text, f"{path.name} 用了「{variant}」却没有推荐译名「{preferred}」（见 TERMS.md）"


def test_layer_norm_is_called_规范化_with_the_归一化_gloss():
    for path in sorted(ROOT.glob("lessons/[0-9][0-9]*_*.py")):
        text = path.read_text(encoding="utf-8")
        if "层归一化" in text:
            assert "层规范化" in text, f"{path.name}：LayerNorm 应译作「层规范化」，「层归一化」只作注"


def test_lessons_contain_no_control_characters():
    """写在普通字符串里的 "\\a"、"\\b"（如 "\\approx"）会变成响铃、退格等控制字符：公式渲染出错，复制出来也不对。"""
    import re
    files = sorted(ROOT.glob("lessons/**/*.py")) + sorted(ROOT.glob("tinygrad_zh/**/*.py"))
    bad = {p.relative_to(ROOT).as_posix(): m.group() for p in files
           if (m := re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", p.read_text(encoding="utf-8")))}
    assert not bad, bad
