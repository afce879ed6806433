"""字符级分词器 (CharTokenizer)：一个字符就是一个词元 (token)。

注意：这里的“分词器 (tokenizer)”只是把文本切成词元并编号，与“中文分词”（如 jieba 把句子切成词语）
是两回事。字符级对中文很自然：常用汉字几千个，词表 (vocabulary) 不大，也不会遇到“没见过的词”。

词表的约定:
    - 编号 0 固定是未知词元 ``<unk>``；其余字符按 Unicode 码位排序，从 1 开始编号（结果与出现顺序无关，
      同一份文本总是得到同一个词表）；
    - ``encode``：不在词表里的字符（包括出现次数少于 ``min_freq`` 的字符）都编码成 ``unk_id``（0），
      所以 ``decode(encode(s))`` 只有在 s 的字符全在词表里时才等于 s；
    - ``decode``：``unk_id`` 解码成字符串 ``"<unk>"``（五个字符），其余编号解码成各自的字符。
"""

from __future__ import annotations

import json
import os
from collections import Counter

import numpy as np

from .. import backend
from ..serialization import atomic_write
from ..tensor import Tensor

_FORMAT = "tinygrad_zh.CharTokenizer"
_VERSION = 1


class CharTokenizer:
    """字符级分词器：字符 ↔ 整数编号。

    属性:
        itos: ``list[str]``，编号 → 字符（``itos[0] == "<unk>"``）。
        stoi: ``dict[str, int]``，字符 → 编号。
        vocab_size: 词表大小 V（含 ``<unk>``）；模型的嵌入层与输出层大小都用它。

    例::

        >>> tok = CharTokenizer.from_text("你好，世界")
        >>> ids = tok.encode("你好！")        # "！" 不在词表里 → 0
        >>> ids
        [2, 3, 0]
        >>> tok.decode(ids)
        '你好<unk>'
    """

    unk_token = "<unk>"
    unk_id = 0

    def __init__(self, chars):
        """由字符列表建词表（不含 ``<unk>``，它总是编号 0）。一般用 ``from_text`` 或 ``load``。"""
        chars = list(chars)
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"CharTokenizer 的词表里每一项必须是单个字符，得到 {c!r}。")
        if len(set(chars)) != len(chars):
            dup = sorted(c for c, k in Counter(chars).items() if k > 1)
            raise ValueError(f"CharTokenizer 的词表里有重复的字符 (duplicate)：{dup[:10]}。")
        self.itos = [self.unk_token] + chars
        self.stoi = {c: i for i, c in enumerate(self.itos) if i != self.unk_id}

    @classmethod
    def from_text(cls, text, min_freq=1):
        """从文本建词表：出现次数 ≥ ``min_freq`` 的字符各占一个编号（按码位排序）。

        参数:
            text: 字符串，或字符串的列表（例如很多条评论）。
            min_freq: 最少出现次数；更少的字符不进词表，编码时变成 ``<unk>``。

        返回:
            ``CharTokenizer``。
        """
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq 必须是 ≥ 1 的整数，得到 {min_freq!r}。")
        counts = Counter()
        for part in ([text] if isinstance(text, str) else text):
            if not isinstance(part, str):
                raise TypeError(f"from_text 需要字符串或字符串列表，遇到 {type(part).__name__}。")
            counts.update(part)
        return cls(sorted(c for c, k in counts.items() if k >= min_freq))

    @property
    def vocab_size(self):
        return len(self.itos)

    def __len__(self):
        return len(self.itos)

    def encode(self, text):
        """字符串 → 编号列表（长度等于字符数）；不认识的字符编码成 ``unk_id``（0）。

        参数:
            text: 字符串，长度 T。

        返回:
            ``list[int]``，长度 T。要张量就写 ``tg.tensor(tok.encode(s))``（dtype int64）。
        """
        if not isinstance(text, str):
            raise TypeError(f"encode 需要字符串，得到 {type(text).__name__}。")
        get, unk = self.stoi.get, self.unk_id
        return [get(c, unk) for c in text]

    def decode(self, ids):
        """编号 → 字符串；``unk_id`` 变成 ``"<unk>"``。

        参数:
            ids: ``list[int]``、一维整数数组，或一维整数张量（任何设备）。

        返回:
            ``str``。
        """
        if isinstance(ids, Tensor):
            ids = ids.data
        if backend.is_array(ids):
            ids = backend.to_numpy(ids)
        arr = np.asarray(ids)
        if arr.size == 0:
            return ""
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"decode 需要一维整数序列，得到 dtype={arr.dtype}、形状 {arr.shape}。"
                            "提示：一批序列请逐行解码：[tok.decode(row) for row in ids]。")
        bad = arr[(arr < 0) | (arr >= self.vocab_size)]
        if bad.size:
            raise IndexError(f"编号越界 (token id out of range)：词表大小 vocab_size={self.vocab_size}，"
                             f"合法编号是 0..{self.vocab_size - 1}，得到 {bad[:5].tolist()}。")
        itos = self.itos
        return "".join(itos[i] for i in arr.tolist())

    # ------------------------------------------------------------------ 保存 / 读取
    def save(self, path):
        """把词表存成 UTF-8 的 JSON 文件（汉字原样可读）。先写临时文件再改名，中途出错不会留下半个文件。"""
        payload = {"format": _FORMAT, "version": _VERSION, "unk_token": self.unk_token, "itos": self.itos}
        with atomic_write(path) as f:
            f.write(json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8"))

    @classmethod
    def load(cls, path):
        """读取 ``save`` 写的 JSON 词表；文件损坏或不是词表时抛出 ``ValueError``，说明哪里不对。"""
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                payload = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"找不到词表文件 (file not found)：{path}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"词表文件 {path} 不是有效的 UTF-8 JSON（可能损坏或被截断）：{e}") from None

        def bad(what):
            return ValueError(f"词表文件 {path} 不是 CharTokenizer 的词表：{what}。提示：用 tok.save(path) 生成。")

        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise bad(f"format 字段应为 {_FORMAT!r}，得到 "
                      f"{payload.get('format') if isinstance(payload, dict) else type(payload).__name__!r}")
        if payload.get("version") != _VERSION:
            raise bad(f"不支持的版本 (version) {payload.get('version')!r}，本程序只认 {_VERSION}")
        itos = payload.get("itos")
        if not isinstance(itos, list) or not itos or itos[0] != cls.unk_token:
            raise bad(f"itos 应是以 {cls.unk_token!r} 开头的列表")
        try:
            return cls(itos[1:])
        except ValueError as e:
            raise bad(str(e)) from None

    def __repr__(self):
        preview = "".join(self.itos[1:21])
        return f"CharTokenizer(vocab_size={self.vocab_size}, 前几个字符={preview!r})"
