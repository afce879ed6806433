"""课程网站与 PDF：把 lessons/ 里的课程执行成笔记本，用 Sphinx（myst-nb + sphinx-book-theme）生成静态网站，
再用无头 Chromium (headless Chromium) 把单页版打印成带目录的 PDF。

    tinygrad-zh site                # 快速模式执行课程 → build/site/html/index.html
    tinygrad-zh site --full --pdf   # 完整模式，并打印 build/site/html/tinygrad_zh_course.pdf

构建目录（``--out``，默认 ``build/site/``）里：

- ``executed/quick``、``executed/full``：执行过的笔记本。课程文件、包的源代码、模式与设备都没变时直接复用；
- ``src/``：交给 Sphinx 的源文件：``index.md``、``lessons/*.ipynb``（加了下载链接与折叠的练习答案）、``downloads/``；
- ``html/``：网站。直接用浏览器打开 ``html/index.html``（``file://`` 也行），或把整个目录放到任何静态网站服务器上；
- ``singlehtml/``：整个课程的单页版，打印 PDF 用；
- ``build.log``：执行课程与 Sphinx 的日志；图里缺字形 (missing glyph) 的警告也记在这里。

网站不引用外部网址：MathJax 随 sphinx-mathjax-offline 复制进网站，搜索索引是本地的 JavaScript 文件，
中文用读者系统里的中文字体。Sphinx 的配置、样式与首页的文字在 ``docs/course/``。
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cli import lesson_list

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "docs" / "course"
DEFAULT_OUT = ROOT / "build" / "site"
PDF_NAME = "tinygrad_zh_course.pdf"
INDEX_MARKER = "<!-- 课程列表由 tinygrad_zh/course_site.py 生成 -->"
GLYPH_WARNING = re.compile(r"Glyph \d+ .*missing from font", re.I)

# 网站要用的 Python 包（import 名 → pip 包名）
SITE_PACKAGES = {"sphinx": "sphinx", "myst_nb": "myst-nb", "sphinx_book_theme": "sphinx-book-theme",
                 "sphinx_copybutton": "sphinx-copybutton", "sphinx-mathjax-offline": "sphinx-mathjax-offline",
                 "jieba": "jieba", "jupytext": "jupytext", "nbclient": "nbclient", "nbformat": "nbformat",
                 "ipykernel": "ipykernel", "matplotlib_inline": "matplotlib-inline"}
PDF_PACKAGES = {"playwright": "playwright"}

# 无头 Chromium 的参数：不联网、不更新组件、不同步，每次一个全新的用户目录（Playwright 自己建临时目录）
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "msedge")
# 不在 PATH 里的常见安装位置（Windows 的 Chrome 与 Edge、macOS 的应用程序）
CHROMIUM_PATHS = (r"C:\Program Files\Google\Chrome\Application\chrome.exe",
                  r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
                  r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
                  r"C:\Program Files\Microsoft\Edge\Application\msedge.exe",
                  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                  "/Applications/Chromium.app/Contents/MacOS/Chromium",
                  "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge")


class SiteError(RuntimeError):
    """构建网站失败：课程执行出错、Sphinx 报错、PDF 打印时网页想访问外网……"""


@dataclass
class SiteResult:
    """一次构建的结果：各个产物的路径与各阶段用时（秒）。"""
    out: Path
    html: Path                      # 网站首页 html/index.html
    pdf: Path | None                # 没要求 PDF 时为 None
    log: Path
    seconds: dict = field(default_factory=dict)
    executed: list = field(default_factory=list)     # 这次真的执行了的课程编号（其余用了缓存）
    glyph_warnings: list = field(default_factory=list)


# ---------------------------------------------------------------------------- 依赖与浏览器

def missing_packages(pdf: bool = False) -> list[str]:
    """还没装的包（pip 包名）。``pip install -e ".[lessons,site]"`` 会把它们都装上。"""
    wanted = {**SITE_PACKAGES, **(PDF_PACKAGES if pdf else {})}
    return [pip for module, pip in wanted.items() if importlib.util.find_spec(module) is None]


def find_chromium() -> str | None:
    """系统里的 Chromium / Chrome / Edge 可执行文件；环境变量 TINYGRAD_ZH_CHROMIUM 可以指定。"""
    explicit = os.environ.get("TINYGRAD_ZH_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return next((path for path in CHROMIUM_PATHS if Path(path).is_file()), None)


def launch_browser(playwright):
    """用系统的 Chromium 启动无头浏览器（从不让 Playwright 自己下载浏览器）。"""
    path = find_chromium()
    if path is None:
        raise SiteError("没有找到 Chromium（Debian / Ubuntu：apt install chromium；也可以用环境变量 "
                        "TINYGRAD_ZH_CHROMIUM 指定 Chrome 或 Edge 的路径）")
    return playwright.chromium.launch(executable_path=path, headless=True, args=BROWSER_ARGS)


def is_local_url(url: str) -> bool:
    """本地的网址：file:、data:、blob:、about:，以及本机的 http(s)。"""
    if url.startswith(("file:", "data:", "blob:", "about:", "chrome-error:")):
        return True
    m = re.match(r"^(?:https?|wss?)://(\[::1\]|localhost|127(?:\.\d+){3})(?::\d+)?(?:/|$)", url)
    return m is not None


def block_network(context) -> list[str]:
    """拦下浏览器上下文里所有访问外部网址的请求；返回被拦下的网址列表（构建与测试据此判定失败）。"""
    attempted = []

    def note(url):
        if not is_local_url(url) and url not in attempted:
            attempted.append(url)

    def route(request_route):
        url = request_route.request.url
        note(url)
        if is_local_url(url):
            request_route.continue_()
        else:
            request_route.abort()

    context.route("**/*", route)
    context.on("request", lambda request: note(request.url))   # 也记下不经过路由的请求
    return attempted


def wait_for_mathjax(page, timeout_ms: int = 60_000) -> bool:
    """等 MathJax 排版完页面上的公式；页面没有加载 MathJax 时返回 False。"""
    has_mathjax = page.evaluate("() => !!(window.MathJax && (window.MathJax.startup || window.MathJax.version))")
    if not has_mathjax:
        return False
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=timeout_ms)
    page.evaluate("() => MathJax.startup.promise")
    return True


# ---------------------------------------------------------------------------- 执行课程

def _package_digest() -> str:
    """包的源代码与全部课程文件的摘要：框架改了，课程的输出可能跟着变，缓存就作废（构建网站的这个文件本身不算）。

    课程文件都算进去，因为后面的课会取前面的课的定义（08b 用 08a 的试验场，13b 与 15 用 12 的数据划分）。
    """
    digest = hashlib.sha256()
    for path in sorted((ROOT / "tinygrad_zh").rglob("*.py")) + sorted((ROOT / "lessons").glob("[0-9]*.py")):
        if path.name == Path(__file__).name:
            continue
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cache_key(path: Path, quick: bool, device: str, package: str) -> str:
    digest = hashlib.sha256(path.read_bytes())
    digest.update(f"|quick={quick}|device={device}|{package}".encode())
    return digest.hexdigest()


def _kernel_env(quick: bool, device: str) -> dict:
    """执行课程的内核的环境变量。图片存进相对于课程目录的 ``output/``（与学生自己运行时相同），
    页面上打印的路径就是 ``output/02_gd_1d.png``，而不是构建机器上的绝对路径。"""
    env = dict(os.environ)
    env.update(TINYGRAD_ZH_QUICK="1" if quick else "0", TINYGRAD_ZH_DEVICE=device,
               MPLBACKEND="module://matplotlib_inline.backend_inline", TINYGRAD_ZH_OUTPUT="output",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])))
    return env


def _execute(path: Path, target: Path, key: str, env: dict, quick: bool, kernel_log: Path):
    """把一课转成笔记本并执行，写到 ``target``。返回 ``(用时, 错误说明或 None)``。

    内核进程自己的日志（不是单元的输出）写进 ``kernel_log``，不混进构建的进度输出。
    """
    import jupytext
    import nbclient
    import nbformat

    start = time.perf_counter()
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(nb, timeout=900 if quick else None, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    kernel_log.parent.mkdir(parents=True, exist_ok=True)
    with open(kernel_log, "w", encoding="utf-8") as stderr:
        try:
            client.execute(env=env, stderr=stderr)
        except nbclient.exceptions.CellExecutionError as e:
            return time.perf_counter() - start, f"{e.ename}: {e.evalue}"
        except (RuntimeError, TimeoutError, OSError) as e:   # 内核起不来或死掉、单元超时
            return time.perf_counter() - start, f"{type(e).__name__}: {e}（内核日志：{kernel_log}）"
    nb.metadata["tinygrad_zh"] = {"key": key, "quick": quick}
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return time.perf_counter() - start, None


def glyph_warnings(notebook: Path) -> list[str]:
    """执行过的笔记本里 matplotlib 的 “Glyph … missing from font(s)” 警告（内核把它写在单元的 stderr 输出里）。"""
    import nbformat

    found = []
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                found += [line.strip() for line in output.get("text", "").splitlines() if GLYPH_WARNING.search(line)]
    return list(dict.fromkeys(found))


def executed_notebook(path, out=None, quick: bool = True, device: str = "cpu") -> Path:
    """执行一课（课程文件、包的源代码、模式与设备都没变时直接用缓存），返回执行过的笔记本的路径。

    与 ``tinygrad-zh site`` 用同一个缓存（``OUT/executed/``）：测试先逐课执行并检查笔记本，
    随后构建网站时这些课就不必再执行一遍。出错时抛出 ``SiteError``（带出错的单元的异常）。
    """
    path = Path(path)
    out = Path(out) if out is not None else DEFAULT_OUT
    target, key, fresh = _cached(path, out, quick, device, _package_digest())
    if not fresh:
        _, error = _execute(path, target, key, _kernel_env(quick, device), quick,
                            out / "logs" / f"{path.stem}.kernel.log")
        if error:
            raise SiteError(f"{path.name}：{error}")
    return target


def _cached(path: Path, out: Path, quick: bool, device: str, package: str):
    """``(执行过的笔记本的路径, 缓存键, 缓存是否可用)``；缓存不可用时删掉旧的结果（执行失败时不留下它）。"""
    import nbformat

    target = out / "executed" / ("quick" if quick else "full") / f"{path.stem}.ipynb"
    key = _cache_key(path, quick, device, package)
    if target.exists() and nbformat.read(str(target), as_version=4).metadata.get("tinygrad_zh", {}).get("key") == key:
        return target, key, True
    target.unlink(missing_ok=True)
    return target, key, False


def execute_lessons(lessons, out: Path, quick: bool, device: str, jobs: int, log) -> list[str]:
    """执行（或从缓存取）每一课的笔记本。返回这次真的执行了的课程编号；有课程出错时抛出 ``SiteError``。"""
    package = _package_digest()
    env = _kernel_env(quick, device)
    todo = []
    for number, title, path in lessons:
        target, key, fresh = _cached(path, out, quick, device, package)
        if fresh:
            log(f"  {number} {title}：没有变化，用上次执行的结果")
            continue
        todo.append((number, title, path, target, key))
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        # 后面的课训练的模型更大、跑得更久：先开始它们，最后不会只剩一课在跑、另一个核闲着
        futures = {pool.submit(_execute, path, target, key, env, quick, out / "logs" / f"{path.stem}.kernel.log"):
                   (number, title)
                   for number, title, path, target, key in reversed(todo)}
        for future in concurrent.futures.as_completed(futures):
            number, title = futures[future]
            seconds, error = future.result()
            if error:
                failures.append(f"第 {number} 课（{title}）：{error}")
                log(f"  {number} {title}：出错（{seconds:.0f} 秒）：{error}")
            else:
                log(f"  {number} {title}：执行完毕（{seconds:.0f} 秒）")
    if failures:
        raise SiteError("有课程执行出错：\n" + "\n".join(failures))
    return [number for number, *_ in todo]


# ---------------------------------------------------------------------------- Sphinx 的源文件

def _write_if_changed(path: Path, text: str):
    """内容没变就不写：Sphinx 按修改时间决定重读哪些页面。"""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def answers_path(lesson: Path) -> Path | None:
    """``lessons/02_x.py`` 的练习答案 ``lessons/answers/02_x_answers.py``（没有时为 None）。"""
    path = lesson.parent / "answers" / f"{lesson.stem}_answers.py"
    return path if path.exists() else None


def answers_markdown(path: Path) -> str:
    """练习答案 → 一段折叠起来的 MyST Markdown：讲解照常渲染（含公式），代码是代码块，点开才看。

    折叠的是 HTML 的 ``<details>``：里面不能有章节，所以答案里的标题写成粗体段落。
    """
    import jupytext

    parts = []
    for cell in jupytext.read(path).cells:
        source = cell.source.strip("\n")
        if not source.strip():
            continue
        if cell.cell_type == "markdown":
            parts.append(re.sub(r"^#{1,6}\s+(.+)$", r"**\1**", source, flags=re.M))
        else:
            parts.append(f"````python\n{source}\n````")
    body = "\n\n".join(parts)
    return (f'<details class="tgzh-answers">\n<summary>练习答案（点开查看；脚本：'
            f'<code>lessons/answers/{path.name}</code>）</summary>\n\n{body}\n\n</details>\n')


def _downloads_markdown(lesson: Path, answers: Path | None, quick: bool) -> str:
    links = [f"{{download}}`笔记本 {lesson.stem}.ipynb <../downloads/{lesson.stem}.ipynb>`",
             f"{{download}}`脚本 {lesson.name} <../downloads/{lesson.name}>`"]
    if answers is not None:
        links.append(f"{{download}}`练习答案 {answers.name} <../downloads/{answers.name}>`")
    mode = ("快速模式（`QUICK = True`：少量步数、小数据）下运行得到的，数字与完整模式不同"
            if quick else "完整模式（`QUICK = False`）下运行得到的")
    return ("```{admonition} 下载与运行\n:class: tip\n\n"
            f"下载本课：{' · '.join(links)}。\n\n"
            f"页面上的输出是在{mode}。在自己的电脑上：`python lessons/{lesson.name}`（加 `--quick` 为快速模式），"
            "或在 Jupyter 里打开下载的笔记本，从上往下运行。\n```\n")


def _insert_after_title(nb, markdown: str):
    """把 ``markdown`` 放在笔记本的一级标题（``# 第 02 课：……``）紧下面；没有标题时放在最前面。"""
    import nbformat

    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if re.match(r"^# \S", line):
                cell.source = "\n".join(lines[:i + 1] + ["", markdown.rstrip("\n"), ""] + lines[i + 1:])
                return
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(markdown))


def write_sources(lessons, out: Path, quick: bool, pdf: bool) -> Path:
    """生成 Sphinx 的源文件目录 ``out/src``：首页、每课一页、下载用的文件。返回它。"""
    import jupytext
    import nbformat

    src = out / "src"
    executed = out / "executed" / ("quick" if quick else "full")
    keep = {"index.md"}
    for number, title, path in lessons:
        answers = answers_path(path)
        downloads = src / "downloads"
        _write_if_changed(downloads / path.name, path.read_text(encoding="utf-8"))
        _write_if_changed(downloads / f"{path.stem}.ipynb", jupytext.writes(jupytext.read(path), fmt="ipynb"))
        keep.update({f"downloads/{path.name}", f"downloads/{path.stem}.ipynb", f"lessons/{path.stem}.ipynb"})
        if answers is not None:
            _write_if_changed(downloads / answers.name, answers.read_text(encoding="utf-8"))
            keep.add(f"downloads/{answers.name}")

        nb = nbformat.read(str(executed / f"{path.stem}.ipynb"), as_version=4)
        _insert_after_title(nb, _downloads_markdown(path, answers, quick))
        if answers is not None:
            nb.cells.append(nbformat.v4.new_markdown_cell(answers_markdown(answers)))
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"cell-{i}"   # 稳定的单元 id：内容不变，文件就不变
        _write_if_changed(src / "lessons" / f"{path.stem}.ipynb", nbformat.writes(nb))

    mode = "快速模式（`QUICK = True`：少量步数、小数据）运行" if quick else "完整模式运行"
    index = (CONF_DIR / "index.md").read_text(encoding="utf-8").replace("{{mode}}", mode)
    rows = ["| 课 | 主题 |", "|---|---|"]
    rows += [f"| {number} | {{doc}}`{title} <lessons/{path.stem}>` |" for number, title, path in lessons]
    toctree = ["```{toctree}", ":hidden:", ":caption: 课程", ":maxdepth: 1", ""]
    toctree += [f"lessons/{path.stem}" for _, _, path in lessons] + ["```"]
    pdf_line = (f'\n整个课程也有一份 PDF：<a href="{PDF_NAME}">{PDF_NAME}</a>（与网页同一份内容，练习答案展开）。\n'
                if pdf else "")
    index = index.replace(INDEX_MARKER, "\n".join(rows) + "\n" + pdf_line + "\n" + "\n".join(toctree))
    _write_if_changed(src / "index.md", index)

    # 删掉已经不存在的课程留下的页面（课程改名、拆分之后）
    for stale in list(src.glob("lessons/*.ipynb")) + list(src.glob("downloads/*")):
        if stale.relative_to(src).as_posix() not in keep:
            stale.unlink()
    return src


# ---------------------------------------------------------------------------- Sphinx 与 PDF

def run_sphinx(builder: str, src: Path, out: Path, logfile) -> Path:
    """用 ``builder``（html 或 singlehtml）构建 ``src``，输出到 ``out/builder``；警告记进日志。"""
    dest = out / builder
    cmd = [sys.executable, "-m", "sphinx", "-b", builder, "-c", str(CONF_DIR), "-d", str(out / "doctrees"),
           "-q", "--keep-going", "-w", str(out / f"sphinx-{builder}-warnings.log"), str(src), str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace")
    logfile.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise SiteError(f"Sphinx（{builder}）失败，退出码 {proc.returncode}：\n{proc.stderr.strip()[-3000:]}")
    return dest


def print_pdf(index: Path, pdf: Path) -> int:
    """用无头 Chromium 把单页版 ``index`` 打印成 ``pdf``：A4、页码、书签目录 (outline)，练习答案展开。

    返回页面加载期间被拦下的外部请求数（应为 0；不为 0 时抛出 ``SiteError``）。
    """
    from playwright.sync_api import sync_playwright

    footer = ('<div style="font-size:8px;width:100%;text-align:center;color:#666">'
              '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
    with sync_playwright() as p:
        browser = launch_browser(p)
        try:
            context = browser.new_context()
            attempted = block_network(context)
            page = context.new_page()
            page.set_default_timeout(600_000)   # 单页版有整个课程的图和公式：慢机器上加载、排版要几分钟
            page.goto(index.as_uri(), wait_until="load")
            wait_for_mathjax(page, timeout_ms=600_000)
            page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
            page.emulate_media(media="print")
            page.pdf(path=str(pdf), format="A4", print_background=True, outline=True, tagged=True,
                     display_header_footer=True, header_template="<span></span>", footer_template=footer,
                     margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
        finally:
            browser.close()
    if attempted:
        raise SiteError(f"打印 PDF 时网页想访问外部网址（网站应当完全离线）：{attempted[:5]}")
    return len(attempted)


def build_site(out=None, full: bool = False, pdf: bool = False, jobs: int | None = None, device: str = "cpu",
               log=print) -> SiteResult:
    """构建课程网站（和 PDF）。见模块说明。

    参数:
        out: 构建目录（默认 ``build/site``）。
        full: True 时按完整模式执行课程（慢得多）；默认快速模式。
        pdf: 同时打印整个课程的 PDF（需要 playwright 与系统的 Chromium）。
        jobs: 同时执行几课（默认：CPU 核数，最多 2：每课本身也会用满一个核）。
        device: 课程在哪个设备上运行（"cpu" 或 "cuda"）。
    """
    missing = missing_packages(pdf)
    if missing:
        raise ImportError(f"构建网站还缺这些包：{'、'.join(missing)}。提示：pip install -e \".[lessons,site]\"")
    if pdf and find_chromium() is None:
        raise SiteError("打印 PDF 需要 Chromium（Debian / Ubuntu：apt install chromium；"
                        "或用环境变量 TINYGRAD_ZH_CHROMIUM 指定 Chrome / Edge 的路径）；不加 --pdf 只构建网站")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device 只能是 cpu / cuda，收到 {device!r}")
    out = Path(out) if out is not None else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    jobs = jobs or min(2, os.cpu_count() or 1)
    quick = not full
    lessons = lesson_list()
    if not lessons:
        raise SiteError(f"没有找到课程：{ROOT / 'lessons'} 里没有 NN_主题.py")
    result = SiteResult(out=out, html=out / "html" / "index.html", pdf=out / "html" / PDF_NAME if pdf else None,
                        log=out / "build.log")

    start = time.perf_counter()
    log(f"执行 {len(lessons)} 课（{'快速' if quick else '完整'}模式，设备 {device}，同时 {jobs} 课）：")
    result.executed = execute_lessons(lessons, out, quick, device, jobs, log)
    result.seconds["execute"] = time.perf_counter() - start

    for number, _, path in lessons:
        nb_path = out / "executed" / ("quick" if quick else "full") / f"{path.stem}.ipynb"
        result.glyph_warnings += [f"第 {number} 课：{line}" for line in glyph_warnings(nb_path)]

    with open(result.log, "w", encoding="utf-8") as logfile:
        logfile.write(f"课程：{', '.join(n for n, _, _ in lessons)}\n这次执行：{', '.join(result.executed) or '无'}\n")
        for warning in result.glyph_warnings:
            logfile.write(f"缺字形：{warning}\n")
        step = time.perf_counter()
        log("生成网页（Sphinx）……")
        src = write_sources(lessons, out, quick, pdf)
        run_sphinx("html", src, out, logfile)
        result.seconds["html"] = time.perf_counter() - step
        if pdf:
            step = time.perf_counter()
            log("打印 PDF（单页版 + 无头 Chromium）……")
            single = run_sphinx("singlehtml", src, out, logfile)
            print_pdf(single / "index.html", result.pdf)
            result.seconds["pdf"] = time.perf_counter() - step
        result.seconds["total"] = time.perf_counter() - start
        logfile.write(f"用时（秒）：{result.seconds}\n")
    for warning in result.glyph_warnings:
        log(f"警告：图里有画不出的字（会显示成方块）：{warning}")
    return result
