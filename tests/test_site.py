"""课程网站与 PDF：构建一次（快速模式），再用无头 Chromium 不联网地打开首页与每一课检查。

- 网页里没有任何外部网址的脚本、样式、图片（不用 CDN），浏览器也没有试图访问外网；
- 每一页：控制台没有错误、每张图都加载了（naturalWidth > 0）、公式都被 MathJax 排好（看不到 ``$$``）、
  有上一页 / 下一页、有 .ipynb 与 .py 的下载、练习答案折叠着；
- 中文搜索：搜「反向传播」有结果，第一个结果是标题里有这个词的那一课，点进去就是它；
- 图里没有画不出的字（执行课程时没有 “Glyph … missing from font” 警告）；
- PDF 有每一课的书签目录，中文能提取出来。

首页与两课的截图存在 ``build/site-test/screenshots/``。没装 site extra 或没有 Chromium 时跳过；
CI 里（环境变量 CI=true）不跳过，直接失败。
"""

import json
import os
import pathlib
import re

import pytest

from lesson_utils import SITE_TEST_OUT
from tinygrad_zh import course_site
from tinygrad_zh.cli import lesson_list

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = SITE_TEST_OUT   # test_notebooks.py 已把执行过的课程缓存在这里，构建网站时不再执行
IN_CI = os.environ.get("CI", "").lower() == "true"
LESSONS = lesson_list()
TERM = "反向传播"

pytestmark = pytest.mark.site


def _unavailable():
    missing = course_site.missing_packages(pdf=True)
    if missing:
        return f"没装构建网站用的包 {', '.join(missing)}（pip install -e \".[lessons,site]\"）"
    if course_site.find_chromium() is None:
        return "没有 Chromium（Debian：apt-get install chromium）"
    return None


@pytest.fixture(scope="module")
def site():
    reason = _unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"CI 里必须构建并检查课程网站，但{reason}")
        pytest.skip(reason)
    result = course_site.build_site(OUT, pdf=True)
    (OUT / "timings.json").write_text(json.dumps(result.seconds, indent=2), encoding="utf-8")
    return result


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = course_site.launch_browser(p)
        yield b
        b.close()


class Visit:
    """在一个全新的、不联网的浏览器上下文里打开一页，记下控制台错误与被拦下的外部请求。"""

    def __init__(self, browser, url):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.external = course_site.block_network(self.context)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load")
        self.has_mathjax = course_site.wait_for_mathjax(self.page)

    def close(self):
        self.context.close()


def html_path(site, stem):
    return site.html.parent / ("index.html" if stem == "index" else f"lessons/{stem}.html")


# ---------------------------------------------------------------------------- 命令行（不构建）

def test_site_command_checks_its_arguments(capsys):
    from tinygrad_zh import cli
    assert cli.main(["site", "--jobs", "0"]) == cli.EXIT_USAGE
    assert "--jobs 应 ≥ 1" in capsys.readouterr().err
    assert cli.main(["site", "--device", "tpu"]) == cli.EXIT_USAGE
    assert "--device" in capsys.readouterr().err


# ---------------------------------------------------------------------------- 构建结果（不开浏览器）

def test_every_lesson_has_a_page(site):
    assert site.html.exists()
    for _, _, path in LESSONS:
        assert html_path(site, path.stem).exists(), path.name


def test_no_external_resources_in_the_html(site):
    """脚本、样式、图片、字体都在网站里：没有 http(s) 的 src / href（链接 <a> 除外）、CSS 里没有外部 url()。"""
    offenders = []
    for page in site.html.parent.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link|img|iframe|source|video|audio|embed)\b[^>]*>", text, flags=re.I):
            if re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", tag, flags=re.I):
                offenders.append(f"{page.name}: {tag[:120]}")
    for css in site.html.parent.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", css.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{css.name}: {url}")
    assert not offenders, "网站引用了外部网址：\n" + "\n".join(offenders[:20])


def test_chinese_interface(site):
    text = site.html.read_text(encoding="utf-8")
    assert re.search(r'<html[^>]*lang="zh', text)
    assert "搜索" in text


def test_no_missing_glyph_while_executing_lessons(site):
    assert site.glyph_warnings == []
    assert "missing from font" not in site.log.read_text(encoding="utf-8")


def test_sphinx_builds_without_warnings(site):
    warnings = (site.out / "sphinx-html-warnings.log").read_text(encoding="utf-8").strip()
    assert not warnings, warnings


def test_pdf_has_every_lesson_in_its_outline(site):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(site.pdf))
    titles = []

    def walk(items):
        for item in items:
            walk(item) if isinstance(item, list) else titles.append(item.title)

    walk(reader.outline)
    assert len(reader.pages) > len(LESSONS)
    for number, title, _ in LESSONS:
        assert any(title in t for t in titles), f"PDF 的目录里没有第 {number} 课「{title}」：{titles[:30]}"
    text = "".join(reader.pages[i].extract_text() for i in range(min(6, len(reader.pages))))
    assert LESSONS[0][1] in text          # 中文是真的文字，不是图片或方块
    assert "$$" not in text


# ---------------------------------------------------------------------------- 浏览器里

BROKEN_IMAGES = "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
VISIBLE_TEXT = """() => { const body = document.querySelector('article') || document.body;
  const copy = body.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, .highlight').forEach(e => e.remove());
  return copy.innerText; }"""
MATH = """() => { const all = Array.from(document.querySelectorAll('.math'));
  return { total: all.length, rendered: all.filter(e => e.querySelector('mjx-container')).length,
           errors: document.querySelectorAll('mjx-merror').length }; }"""


@pytest.mark.parametrize("stem", ["index"] + [p.stem for _, _, p in LESSONS])
def test_page_in_the_browser(site, browser, stem):
    visit = Visit(browser, html_path(site, stem).as_uri())
    page = visit.page
    try:
        assert visit.errors == [], f"控制台错误：{visit.errors}"
        assert page.evaluate(BROKEN_IMAGES) == []
        assert "$$" not in page.evaluate(VISIBLE_TEXT), "有没渲染的公式"
        math = page.evaluate(MATH)
        if math["total"]:
            assert visit.has_mathjax and math["rendered"] == math["total"] and math["errors"] == 0, math
        if stem == "index":
            assert page.locator("a.right-next").count() == 1
            return
        path = next(p for _, _, p in LESSONS if p.stem == stem)
        if "show(" in path.read_text(encoding="utf-8"):
            assert page.locator("article img").count() > 0, "这课画了图，网页上却没有图"
        assert page.locator("a.left-prev").count() == 1
        assert page.locator("a.right-next").count() == (0 if stem == LESSONS[-1][2].stem else 1)
        downloads = [page.locator("a.download").nth(i).get_attribute("href")
                     for i in range(page.locator("a.download").count())]
        for suffix in (".ipynb", ".py"):
            href = next((h for h in downloads if h.endswith(suffix)), None)
            assert href, f"没有 {suffix} 的下载：{downloads}"
            assert (html_path(site, stem).parent / href).resolve().is_file()
        if course_site.answers_path(path) is not None:
            answers = page.locator("details.tgzh-answers")
            assert answers.count() == 1 and answers.get_attribute("open") is None   # 默认折叠
            answers.locator("summary").click()
            assert answers.get_attribute("open") is not None
        assert visit.external == [], f"网页想访问外部网址：{visit.external}"
    finally:
        visit.close()


def test_the_browser_checks_catch_what_they_are_for(browser, tmp_path):
    """检查本身会失败：外部图片被拦下并记录、坏图片被发现、没排版的 $$ 被看到、脚本错误进控制台。"""
    page_file = tmp_path / "bad.html"
    page_file.write_text('<html><body><article><p>$$x^2$$</p><img src="https://example.com/a.png">'
                         '<img src="missing.png"><script>undefinedFunction()</script></article></body></html>',
                         encoding="utf-8")
    visit = Visit(browser, page_file.as_uri())
    try:
        assert visit.external == ["https://example.com/a.png"]
        assert len(visit.page.evaluate(BROKEN_IMAGES)) == 2
        assert "$$" in visit.page.evaluate(VISIBLE_TEXT)
        assert visit.errors
    finally:
        visit.close()
    assert course_site.is_local_url("file:///tmp/a.html") and course_site.is_local_url("http://127.0.0.1:8000/")
    assert not course_site.is_local_url("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js")
    assert not course_site.is_local_url("http://localhost.example.com/")


def _lessons_with_term_in_a_heading():
    return {path.stem for _, _, path in LESSONS
            if re.search(rf"^# #+ .*{TERM}", path.read_text(encoding="utf-8"), flags=re.M)}


def test_chinese_search_lands_on_the_right_lesson(site, browser):
    expected = _lessons_with_term_in_a_heading()
    assert expected, f"没有哪一课的标题里有「{TERM}」，换一个搜索词"
    visit = Visit(browser, (site.html.parent / "search.html").as_uri() + f"?q={TERM}")
    page = visit.page
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
        hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
        first = pathlib.PurePosixPath(hrefs[0].split("#")[0]).stem
        assert first in expected, f"第一个结果是 {hrefs[0]}，应是标题里有「{TERM}」的课：{sorted(expected)}"
        page.locator("#search-results ul.search li a").first.click()
        page.wait_for_load_state("load")
        assert page.url.split("#")[0].endswith(f"lessons/{first}.html")
        headings = page.eval_on_selector_all("article h1, article h2", "els => els.map(e => e.innerText)")
        assert any(TERM in h for h in headings), headings
        assert visit.errors == [] and visit.external == []
    finally:
        visit.close()


def test_served_by_a_static_web_server(site, browser):
    """放到静态网站服务器上也能用（这里是本机的 http.server）：首页与搜索。"""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site.html.parent))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        visit = Visit(browser, base + f"search.html?q={TERM}")
        try:
            visit.page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
            visit.page.goto(base + "index.html", wait_until="load")
            assert visit.page.evaluate(BROKEN_IMAGES) == []
            assert visit.errors == [] and visit.external == []
        finally:
            visit.close()
    finally:
        server.shutdown()
        server.server_close()


def test_screenshots(site, browser):
    """首页、第一课带图的页面、一课带中文图的页面：截图留给人看（build/site-test/screenshots/）。"""
    shots = OUT / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with_figures = [p.stem for _, _, p in LESSONS if "show(" in p.read_text(encoding="utf-8")]
    chinese = next((s for s in with_figures if s.startswith("12")), with_figures[-1])   # 二元语法热图：满是汉字
    chosen = [("index", None), (with_figures[0], "article img"), (chinese, "article img")]
    for stem, target in chosen:
        visit = Visit(browser, html_path(site, stem).as_uri())
        try:
            visit.page.screenshot(path=str(shots / f"{stem}.png"))
            if target:
                visit.page.locator(target).first.scroll_into_view_if_needed()
                visit.page.screenshot(path=str(shots / f"{stem}-figure.png"))
        finally:
            visit.close()
        assert (shots / f"{stem}.png").stat().st_size > 10_000
