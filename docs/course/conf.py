"""Sphinx 配置：课程网站（``tinygrad-zh site`` 生成源文件后用它构建，见 tinygrad_zh/course_site.py）。

源文件目录（index.md、执行过的课程笔记本）由构建程序生成在 build/ 下；这个目录只放配置、样式和首页的文字。
网站不引用任何外部网址：MathJax 由 sphinx-mathjax-offline 复制到 _static/，字体用读者系统里的中文字体。
"""

from pathlib import Path

project = "tinygrad_zh 课程"
author = "tinygrad_zh 贡献者"
copyright = "tinygrad_zh 贡献者"
language = "zh_CN"

extensions = [
    "myst_nb",                 # 执行过的笔记本 (.ipynb) 与 MyST Markdown
    "sphinx_copybutton",       # 代码块的复制按钮
    "sphinx-mathjax-offline",  # 把 MathJax 3 复制进网站，不用 CDN
]

# 中文全文搜索：Sphinx 用 jieba 分词建索引。浏览器里不分词，整个查询词要能在索引里找到，
# 所以把课程的术语（反向传播、梯度下降……）加进 jieba 的词典：它们既整词入索引，也拆成短词入索引
html_search_language = "zh"
html_search_options = {"dict": str(Path(__file__).resolve().parent / "search_terms.txt")}
# 搜索结果下的摘要要用 fetch() 读每个结果页，从 file:// 打开时浏览器不允许（控制台报 CORS 错误）
html_show_search_summary = False

# 下载用的干净笔记本与脚本放在 downloads/，它们不是网页
exclude_patterns = ["downloads/**", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# 笔记本已经由构建程序执行过（可以缓存、并行、快速或完整模式），这里只渲染
nb_execution_mode = "off"
nb_output_stderr = "remove"       # 进度条与内核的日志不进网页（构建程序另外检查缺字形的警告）
nb_merge_streams = True
nb_ipywidgets_js = {}             # 不加载 require.js 与小部件脚本（它们来自 CDN，课程也不用小部件）
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "tinygrad_zh：从一个标量导数到中文 GPT"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "use_download_button": False,     # 每课的下载链接写在页面里（干净的 .ipynb 与 .py）
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
    "home_page_in_toc": False,        # 左上角的网站标题就是首页
    "navigation_with_keys": True,
    "navbar_persistent": [],          # 搜索框只在侧栏里放一个
    "search_bar_text": "搜索课程……",
}
html_context = {"default_mode": "light"}   # 没有这一项时，全新的浏览器里主题脚本会在控制台报 “invalid theme mode”

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


def setup(app):
    # Sphinx 9.0 的中文搜索在 language_data.js 里写 window.Stemmer = ChineseStemmer，但它用的是英文词干提取器，
    # 定义的类叫 EnglishStemmer：浏览器报 “ChineseStemmer is not defined”，搜索框不能用。
    # 换成同样的中文分词（jieba）、名字对得上的类；Sphinx 修好以后这样写也照样对。
    from sphinx.search.zh import SearchChinese

    class SearchChineseFixed(SearchChinese):
        language_name = "English"   # 只用来拼 JavaScript 里词干提取器的类名

    app.add_search_language(SearchChineseFixed)
