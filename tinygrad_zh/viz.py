"""画图工具：中文字体、计算图、损失曲线。matplotlib 只在调用这些函数时才导入。

课程里画图的写法：``fig, ax = subplots(...)`` 画好，再交给 ``tinygrad_zh.lesson.show(fig, "名字.png")``
保存并（在 Jupyter 里）内嵌显示。``*_figure`` 函数只返回图，不保存；``plot_history``、``draw_graph`` 是旧接口，
直接保存成 PNG。

字体：有中文字体 (CJK font) 时用它写中文，再按字体族列表 (font family list) 退到 DejaVu Sans：
中文字体大多没有 ₁ ₂ ŷ ŵ ↵ ⌊ ⟨ 这些符号，matplotlib 会逐个字形 (glyph) 往后找，所以不会画成方块。
没有中文字体的机器上，``label("损失", "loss")`` 退回英文标签。``missing_glyphs(text)`` 列出这套字体都写不出的字符。
"""

from __future__ import annotations

import importlib.util
import os
import sys

from .autograd import is_tensor, toposort

_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
              "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN")
# 中文字体之后的后备字体：matplotlib 自带的 DejaVu Sans 有下标、上标、带帽字母、箭头、数学符号
FALLBACK_FONTS = ("DejaVu Sans",)
_has_cjk = None


def _find_cjk_fonts(font_manager) -> list[str]:
    """已安装的中文字体（按 ``_CJK_FONTS`` 的顺序）。

    matplotlib 的字体缓存是它第一次运行时建的，之后才装的字体（如 ``apt install fonts-noto-cjk``）不在里面：
    缓存里没有中文字体时，把系统里缓存之外的字体文件补进来再找一次。
    """
    def installed():
        names = {f.name for f in font_manager.fontManager.ttflist}
        return [n for n in _CJK_FONTS if n in names]

    found = installed()
    if not found:
        known = {f.fname for f in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):   # 读不了的字体文件跳过
                    continue
        found = installed()
    return found


def setup_font() -> bool:
    """使用非交互后端 (无显示器时)，把字体族设成“中文字体 → DejaVu Sans”。找到中文字体返回 True。

    字体族要写成具体的字体名列表：写成 ``sans-serif`` 时 matplotlib 只取其中一个字体，缺的字形就画成方块。
    """
    global _has_cjk
    import matplotlib
    in_kernel = "ipykernel" in sys.modules   # Jupyter 内核自己选后端（内嵌显示），不要改
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND") and not in_kernel:
        matplotlib.use("Agg")
    if _has_cjk is None:
        from matplotlib import font_manager
        found = _find_cjk_fonts(font_manager)
        families = found + [f for f in FALLBACK_FONTS if f not in found]
        matplotlib.rcParams["font.family"] = families
        matplotlib.rcParams["font.sans-serif"] = families + [
            f for f in matplotlib.rcParams["font.sans-serif"] if f not in families]
        _has_cjk = bool(found)
    return _has_cjk


def font_files() -> list[str]:
    """图里文字依次使用的字体文件（与 ``font.family`` 的顺序相同）。"""
    setup_font()
    import matplotlib
    from matplotlib import font_manager
    files = []
    for family in matplotlib.rcParams["font.family"]:
        try:
            files.append(font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False))
        except ValueError:   # 字体族里写了但没装的字体
            continue
    return files


def missing_glyphs(text: str) -> list[str]:
    """``text`` 里哪些字符（去重，按出现顺序）在图用的每个字体里都没有字形，也就是会画成方块。

    按字体文件的字符表 (charmap) 检查；空白与控制字符不算。
    """
    from matplotlib import font_manager
    charmaps = [set(font_manager.get_font(path).get_charmap()) for path in font_files()]
    missing = []
    for ch in dict.fromkeys(text):
        if ch.isspace() or not ch.isprintable():
            continue
        if not any(ord(ch) in cm for cm in charmaps):
            missing.append(ch)
    return missing


def matplotlib_available() -> bool:
    """装了 matplotlib 吗（``pip install -e ".[lessons]"`` 会装上）。不导入它。"""
    if "matplotlib" in sys.modules:
        return sys.modules["matplotlib"] is not None
    return importlib.util.find_spec("matplotlib") is not None


def subplots(*args, **kwargs):
    """先 ``setup_font()`` 再 ``plt.subplots(...)``：课程里画图从这里开始，不必自己导入 pyplot。"""
    setup_font()   # 必须在导入 pyplot 之前：它决定后端
    import matplotlib.pyplot as plt
    return plt.subplots(*args, **kwargs)


def label(zh: str, en: str) -> str:
    """有中文字体时用中文标签，否则用英文。"""
    return zh if setup_font() else en


def plot_history(history: dict, path, title=("训练曲线", "training curves"), xlabel=("步", "step")):
    """把 ``{"名字": [数值...]}`` 画成曲线并保存为 PNG。``history`` 的键可写成 ``("中文", "english")``。"""
    import matplotlib.pyplot as plt
    setup_font()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in history.items():
        ax.plot(values, label=label(*name) if isinstance(name, tuple) else name)
    ax.set_title(label(*title))
    ax.set_xlabel(label(*xlabel))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def draw_graph(tensor, path, names=None, title=("计算图", "computational graph")):
    """用 matplotlib 画出 ``tensor`` 的计算图，保存为 PNG，返回保存路径（见 ``graph_figure``）。"""
    import matplotlib.pyplot as plt
    fig = graph_figure(tensor, names=names, title=title)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def graph_figure(tensor, names=None, title=("计算图", "computational graph"), constants=None):
    """画出 ``tensor`` 的计算图，返回 matplotlib 的 Figure（不保存）。

    节点按“到输出的最长路径”分层，所以每个节点都画在用到它的运算左边。
    ``names`` 是 ``{张量: "名字"}``（如 ``{w: "w", b: "b"}``），给叶子标上名字；否则显示数值或形状。
    默认只画需要梯度的张量；``constants`` 是 ``{张量: "名字"}``，把这些不需要梯度的输入（如常量 x）
    也画出来（灰色框），让图与公式一一对应。
    """
    names = {id(t): n for t, n in (names or {}).items()}
    const_names = {id(t): n for t, n in (constants or {}).items()}
    order = toposort(tensor) if tensor.requires_grad else [tensor]
    depth, edges = {id(tensor): 0}, []
    for t in reversed(order):  # 从输出往输入走：子节点的深度在处理它之前已经确定
        if t.grad_fn is None:
            continue
        for a in t.grad_fn.inputs:
            if is_tensor(a) and (a.requires_grad or id(a) in const_names):
                edges.append((id(a), id(t)))
                depth[id(a)] = max(depth.get(id(a), 0), depth[id(t)] + 1)
                if not a.requires_grad and all(c is not a for c in order):
                    order = [a] + order
    layers = {}
    for t in order:
        layers.setdefault(depth[id(t)], []).append(t)
    pos = {}
    max_d = max(layers)
    for d, ts in layers.items():
        for k, t in enumerate(ts):
            pos[id(t)] = (max_d - d, k - (len(ts) - 1) / 2)
    fig, ax = subplots(figsize=(1.8 * (max_d + 1) + 1, 1.2 * max(len(v) for v in layers.values()) + 1))
    seen_edges = {}
    for src, dst in edges:
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        k = seen_edges[(src, dst)] = seen_edges.get((src, dst), -1) + 1
        # 同一个输入被用了两次（如 x*x）画成两条弧线；跨层的边画成弧线，免得被中间的节点挡住
        rad = 0.25 * k + (0.3 if abs(x1 - x0) > 1 else 0.0)
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="->", color="gray", shrinkA=18, shrinkB=18,
                                    connectionstyle=f"arc3,rad={rad}"))
    for t in order:
        x, y = pos[id(t)]
        if id(t) in const_names:
            text, color = const_names[id(t)], "#e6e6e6"
        elif t.grad_fn is None:
            text = names.get(id(t)) or (f"{t.item():.3g}" if t.numel() == 1 else f"{t.shape}")
            color = "#cde4ff"
        else:
            fn = t.grad_fn
            text, color = (label(fn.zh, type(fn).__name__) if fn.zh else type(fn).__name__), "#ffe1b3"
        ax.text(x, y, text, ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round", facecolor=color, edgecolor="black"))
    ax.set_xlim(-0.7, max_d + 0.7)
    ys = [p[1] for p in pos.values()]
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
    ax.set_title(label(*title))
    fig.tight_layout()
    return fig
