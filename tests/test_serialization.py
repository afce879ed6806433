"""检查点：往返、int 键、各种 dtype、随机数状态、设备、拒绝 pickle / 外来 / 损坏文件、原子写入。"""

import io
import json
import os
import pickle
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_zh as tg
from tinygrad_zh import serialization
from tinygrad_zh.serialization import CheckpointError

from conftest import to_host


def _nested():
    return {
        "model": {"fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "fc.bias": np.zeros(2, np.float32),
                  "mask": np.array([True, False]), "ids": np.arange(3, dtype=np.int64), "scale": np.array(2.5)},
        "optimizer": {"state": {0: {"step": 3, "exp_avg": np.ones(2)}, 1: {}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False}]},
        "step": 2 ** 70, "loss": 0.125, "best": float("inf"), "nan": float("nan"), "name": "中文 GPT 🚀",
        "none": None, "scalars": [np.float32(1.5), np.int64(7), np.bool_(True)],
        "keys": {(1, "a"): "tuple", 2.5: "float", None: "none", True: "bool", -3: "int"},
        "empty": [[], {}, ()],
    }


def _assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")   # hypothesis 也会生成含 nan 的数组
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


def test_round_trip_nested_structure(tmp_path):
    obj = _nested()
    path = tmp_path / "ckpt.npz"
    tg.save(obj, path)
    back = tg.load(path)
    _assert_same(obj, back)
    assert list(back["optimizer"]["state"]) == [0, 1]  # int 键仍是 int（JSON 本身会把它变成字符串）
    assert back["model"]["scale"].shape == ()  # 0 维数组
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]


_leaves = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
           | hnp.arrays(st.sampled_from([np.float32, np.int64, np.bool_, np.uint8]), hnp.array_shapes(min_dims=0, max_dims=3)))
_keys = st.text() | st.integers() | st.booleans() | st.none() | st.tuples(st.integers(), st.text())
_trees = st.recursive(_leaves, lambda kids: st.lists(kids, max_size=4) | st.lists(kids, max_size=4).map(tuple)
                      | st.dictionaries(_keys, kids, max_size=4), max_leaves=12)


@given(_trees)
def test_round_trip_random_structures(obj):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "c.npz")
        tg.save(obj, path)
        _assert_same(obj, tg.load(path))


def test_file_is_a_plain_npz_readable_without_pickle(tmp_path):
    path = tmp_path / "ckpt.npz"
    tg.save({"w": np.arange(4.0)}, path)
    with np.load(path, allow_pickle=False) as z:
        arrays = [k for k in z.files if k.startswith("arr_")]
        assert arrays == ["arr_0"] and z["arr_0"].tolist() == [0.0, 1.0, 2.0, 3.0]
    header = json.loads(zipfile.ZipFile(path).read("__tinygrad_zh__.json").decode("utf-8"))
    assert header["format"] == "tinygrad_zh.checkpoint" and header["version"] == serialization.VERSION


def test_load_never_calls_pickle(tmp_path, monkeypatch):
    tg.save(_nested(), tmp_path / "c.npz")

    def forbidden(*a, **k):
        raise AssertionError("tg.load 不应使用 pickle")
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    tg.load(tmp_path / "c.npz")


def test_generator_state_round_trip_resumes_exactly(tmp_path):
    g = tg.Generator().manual_seed(123)
    g.numpy.random(5)  # 走几步，状态不再是初始值
    tg.save({"rng": g.get_state(), "np_rng": np.random.default_rng(1).bit_generator.state}, tmp_path / "r.npz")
    expected = g.numpy.random(4)
    state = tg.load(tmp_path / "r.npz")["rng"]
    assert isinstance(state["state"]["state"], int) and state["state"]["state"] > 2 ** 64  # 128 位整数
    g2 = tg.Generator()
    g2.set_state(state)
    assert np.array_equal(g2.numpy.random(4), expected)
    mt = np.random.RandomState(0)  # MT19937 的状态里有数组
    tg.save({"mt": mt.get_state(legacy=False)}, tmp_path / "mt.npz")
    expect = mt.rand(3)
    mt2 = np.random.RandomState(1)
    mt2.set_state(tg.load(tmp_path / "mt.npz")["mt"])
    assert np.array_equal(mt2.rand(3), expect)


def test_tensors_round_trip_on_their_device_and_map_location(tmp_path, device):
    w = tg.randn(3, 2, device=device, requires_grad=True)
    ids = tg.arange(4, device=device)
    path = tmp_path / "t.npz"
    tg.save({"w": w, "ids": ids, "tied": [w, w]}, path)
    back = tg.load(path)
    assert isinstance(back["w"], tg.Tensor) and back["w"].device == device and back["w"].requires_grad
    assert back["ids"].dtype == np.int64 and not back["ids"].requires_grad
    np.testing.assert_array_equal(to_host(back["w"]), to_host(w))
    assert back["tied"][0] is back["tied"][1]  # 同一个对象只存一份，读回仍是同一个
    cpu = tg.load(path, map_location="cpu")
    assert cpu["w"].device == "cpu" and cpu["ids"].device == "cpu"


def test_map_location_moves_numpy_arrays_too(tmp_path):
    tg.save({"w": np.ones(2, np.float32)}, tmp_path / "a.npz")
    moved = tg.load(tmp_path / "a.npz", map_location="strict")["w"]
    assert tg.backend.device_of(moved) == "strict"
    assert isinstance(tg.load(tmp_path / "a.npz")["w"], np.ndarray)


def _rewrite_header(src, dst, edit):
    """复制一个检查点，改写其中的 JSON 结构（模拟被篡改或来自别的版本的文件）。"""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "__tinygrad_zh__.json":
                data = json.dumps(edit(json.loads(data))).encode("utf-8")
            zout.writestr(info, data)


@pytest.mark.skipif(tg.cuda.is_available(), reason="有 GPU 时 'cuda' 可用，无法测试“CUDA 不可用”的提示")
def test_cuda_checkpoint_on_machine_without_gpu_hints_map_location(tmp_path):
    tg.save({"w": tg.ones(2)}, tmp_path / "a.npz")

    def to_cuda(h):
        h["root"]["items"][0][1]["device"] = "cuda"
        return h
    _rewrite_header(tmp_path / "a.npz", tmp_path / "cuda.npz", to_cuda)
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        tg.load(tmp_path / "cuda.npz")
    assert tg.load(tmp_path / "cuda.npz", map_location="cpu")["w"].device == "cpu"


def test_save_refuses_object_arrays_and_unknown_types(tmp_path):
    with pytest.raises(TypeError, match=r"object array.*obj\['a'\]\[1\]"):
        tg.save({"a": [1, np.array([{"x": 1}], dtype=object)]}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="set"):
        tg.save({"s": {1, 2}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="get_state"):
        tg.save(tg.Generator(0), tmp_path / "x.npz")
    with pytest.raises(TypeError, match="键"):
        tg.save({frozenset(): 1}, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []  # 编码失败时根本不创建文件


def _expect_checkpoint_error(path, match):
    with pytest.raises(CheckpointError, match=match) as info:
        tg.load(path)
    assert isinstance(info.value, ValueError) and str(path) in str(info.value)


def test_refuses_pickle_bearing_npz(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))  # np.savez 会用 pickle 存对象数组
    _expect_checkpoint_error(path, "不是 tg.save 写的")
    # 伪装成我们的格式、数组成员里却藏着 pickle
    tg.save({"w": np.zeros(1)}, tmp_path / "ok.npz")
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "ok.npz") as zin, zipfile.ZipFile(tmp_path / "disguised.npz", "w") as zout:
        zout.writestr("__tinygrad_zh__.json", zin.read("__tinygrad_zh__.json"))
        zout.writestr("arr_0.npy", buf.getvalue())
    _expect_checkpoint_error(tmp_path / "disguised.npz", "pickle")


def test_refuses_foreign_random_empty_and_pytorch_like_files(tmp_path):
    np.savez(tmp_path / "foreign.npz", w=np.ones(3))
    _expect_checkpoint_error(tmp_path / "foreign.npz", "np.load")
    (tmp_path / "random.bin").write_bytes(np.random.default_rng(0).bytes(1000))
    _expect_checkpoint_error(tmp_path / "random.bin", "不是 .npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    _expect_checkpoint_error(tmp_path / "empty.npz", "不是 .npz")
    (tmp_path / "pickle.pt").write_bytes(pickle.dumps({"w": [1, 2]}))
    _expect_checkpoint_error(tmp_path / "pickle.pt", "pickle")
    with pytest.raises(FileNotFoundError, match="找不到"):
        tg.load(tmp_path / "missing.npz")


def test_refuses_truncated_files(tmp_path):
    path = tmp_path / "full.npz"
    tg.save(_nested(), path)
    data = path.read_bytes()
    for cut in (3, 30, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        _expect_checkpoint_error(bad, "损坏|截断|不是")


def test_refuses_corrupted_member_bytes(tmp_path):
    path = tmp_path / "c.npz"
    tg.save({"w": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    i = data.index(b"arr_0.npy") + 200  # 改动数组数据中间的字节：CRC 校验失败
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    _expect_checkpoint_error(path, "损坏")


@pytest.mark.parametrize("edit, match", [
    (lambda h: {**h, "version": serialization.VERSION + 1}, "更新版本"),
    (lambda h: {**h, "version": "1"}, "version"),
    (lambda h: {**h, "format": "other"}, "format"),
    (lambda h: {k: v for k, v in h.items() if k != "root"}, "root"),
    (lambda h: {**h, "root": {"__type__": "mystery"}}, "mystery"),
    (lambda h: {**h, "root": {"__type__": "ndarray", "key": "arr_9", "dtype": "<f8", "shape": [2]}}, "arr_9"),
    (lambda h: {**h, "root": {"__type__": "ndarray", "key": "arr_0", "dtype": "<f4", "shape": [2]}}, "不符"),
])
def test_refuses_tampered_structure(tmp_path, edit, match):
    tg.save({"w": np.zeros(2)}, tmp_path / "a.npz")
    _rewrite_header(tmp_path / "a.npz", tmp_path / "b.npz", edit)
    _expect_checkpoint_error(tmp_path / "b.npz", match)


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    tg.save({"epoch": 1, "w": np.ones(3)}, path)
    before = path.read_bytes()
    real = np.lib.format.write_array

    def crash_midway(f, arr, *args, **kwargs):
        real(f, arr, *args, **kwargs)
        f.write(b"\0" * 100)  # 已经写了一部分……
        raise OSError("磁盘满了 (模拟)")
    monkeypatch.setattr(np.lib.format, "write_array", crash_midway)
    with pytest.raises(OSError, match="模拟"):
        tg.save({"epoch": 2, "w": np.zeros(1000)}, path)
    monkeypatch.setattr(np.lib.format, "write_array", real)
    assert path.read_bytes() == before and tg.load(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # 没有残留的临时文件

    def interrupted_replace(src, dst):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        tg.save({"epoch": 3}, path)
    monkeypatch.undo()
    assert tg.load(path)["epoch"] == 1 and os.listdir(tmp_path) == ["ckpt.npz"]


def test_save_overwrites_and_respects_umask(tmp_path):
    path = tmp_path / "c.npz"
    tg.save({"a": 1}, path)
    tg.save({"a": 2}, path)
    assert tg.load(path) == {"a": 2}
    if os.name == "posix":
        umask = os.umask(0)
        os.umask(umask)
        assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(FileNotFoundError, match="目录不存在"):
        tg.save({"a": 1}, tmp_path / "no_such_dir" / "c.npz")
