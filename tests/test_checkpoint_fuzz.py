"""坏检查点只会得到 ``CheckpointError``：逐字节改动、截断、伪造的巨大数组头、极深的嵌套、类型不对的结构，
以及手工改过但仍是合法文件的 GPT 检查点（字段名写在错误信息里）。

``tg.load`` 对任何内容损坏的文件都只抛出 ``CheckpointError``（不会是 MemoryError、RecursionError、
NotImplementedError……）；改动没有被发现时（zip 里不参与校验的字段，如修改时间），读回的内容必须与原来完全相同。
"""

import io
import json
import math
import os
import struct
import zipfile

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.training as training
from tinygrad_zh.cli import main
from tinygrad_zh.serialization import CheckpointError
from tiny_run import POEM

STRUCTURE = "__tinygrad_zh__.json"


def _small_object():
    # "big" 大于 zipfile 一次预读的 4 KB：只读到数组末尾时不会顺带读完整个成员（也就不核对 CRC-32）
    return {"model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(2, np.float32),
                      "big": np.linspace(0, 1, 3000, dtype=np.float32)},
            "optimizer": {"state": {0: {"step": 3, "exp_avg": np.ones(2)}}, "param_groups": [{"lr": 1e-3}]},
            "step": 2 ** 70, "best": float("inf"), "name": "中文", "rng": [np.int64(7)], "none": None}


def _same(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (np.ndarray, np.generic)):
        return (type(a) is type(b) and a.dtype == b.dtype and np.shape(a) == np.shape(b)
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


def _metadata_positions(data):
    """文件里不属于数组数据的字节位置：zip 的各种头与目录、JSON 结构成员、.npy 头。"""
    payload = set()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
            start = info.header_offset + 30 + name_len + extra_len
            member = data[start:start + info.file_size]
            header_len = member.index(b"\n") + 1            # .npy 头以换行结束
            payload.update(range(start + header_len, start + info.file_size))
    return [i for i in range(len(data)) if i not in payload]


def _try_load(path, reference):
    """读一个可能坏掉的文件：返回 "error"（CheckpointError）或 "same"（读回的与原来相同）；别的结果让测试失败。"""
    try:
        back = tg.load(path)
    except CheckpointError:
        return "error"
    assert _same(reference, back), "改动没有被发现，读回的内容却变了"
    return "same"


# ---------------------------------------------------------------------------- tg.load：逐字节改动与截断

@pytest.mark.slow
def test_every_single_byte_flip_of_the_metadata_raises_checkpoint_error_or_changes_nothing(tmp_path):
    path, bad = tmp_path / "ok.npz", tmp_path / "bad.npz"
    obj = _small_object()
    tg.save(obj, path)
    data = path.read_bytes()
    positions = _metadata_positions(data)
    assert len(positions) > 1000
    rng = np.random.default_rng(0)
    outcomes = {"error": 0, "same": 0}
    for i in positions:
        for mask in (0x02, int(rng.integers(1, 255))):   # 改一位（数组头的长度字段……）与随机改几位
            flipped = bytearray(data)
            flipped[i] ^= mask
            bad.write_bytes(bytes(flipped))
            outcomes[_try_load(bad, obj)] += 1
    assert outcomes["error"] > 0.6 * 2 * len(positions)      # 绝大多数改动被 CRC-32、结构检查发现


def test_every_truncation_raises_checkpoint_error(tmp_path):
    path, bad = tmp_path / "ok.npz", tmp_path / "bad.npz"
    tg.save(_small_object(), path)
    data = path.read_bytes()
    for cut in range(len(data)):
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            tg.load(bad)


def test_flips_in_array_data_are_caught_by_the_crc(tmp_path):
    path, bad = tmp_path / "ok.npz", tmp_path / "bad.npz"
    tg.save({"w": np.arange(500, dtype=np.float64)}, path)
    data = path.read_bytes()
    payload = sorted(set(range(len(data))) - set(_metadata_positions(data)))
    for i in payload[::97]:
        flipped = bytearray(data)
        flipped[i] ^= 0x01
        bad.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError, match="CRC"):
            tg.load(bad)


# ---------------------------------------------------------------------------- 伪造的大小、嵌套、类型

def _write_zip(path, structure, members=(), compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr(STRUCTURE, structure if isinstance(structure, bytes) else json.dumps(structure))
        for name, payload in members:
            zf.writestr(name, payload)


def _header(root):
    return {"format": "tinygrad_zh.checkpoint", "version": 1, "root": root}


def _npy_with_header(shape, dtype="<f8", payload=b"\0" * 16):
    """一个 .npy：头里写着 shape，后面只跟 payload 这么几个字节。"""
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode("latin1")
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def test_a_fake_huge_array_header_is_refused_before_allocating(tmp_path):
    shape = [10 ** 12]                                       # 8 TB：真的去分配会 MemoryError
    node = {"__type__": "ndarray", "key": "arr_0", "dtype": "<f8", "shape": shape}
    _write_zip(tmp_path / "huge.npz", _header(node), [("arr_0.npy", _npy_with_header(shape))])
    with pytest.raises(CheckpointError, match="声称有 8000000000000 字节"):
        tg.load(tmp_path / "huge.npz")


def test_a_fake_member_size_in_the_zip_directory_is_refused(tmp_path):
    path = tmp_path / "a.npz"
    tg.save({"w": np.zeros(4)}, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("arr_0.npy")
    central = data.index(b"arr_0.npy", data.index(b"PK\x01\x02")) - 46                     # arr_0 的目录项
    assert data[central:central + 4] == b"PK\x01\x02" and info.file_size < 2 ** 31
    data[central + 20:central + 28] = struct.pack("<II", 2 ** 31, 2 ** 31)                 # 压缩前后的大小都改成 2 GB
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        tg.load(path)


@pytest.mark.parametrize("depth", [500, 200_000])
def test_deeply_nested_structures_are_refused(tmp_path, depth):
    if depth < 10_000:       # 合法的 JSON、合法的节点，只是嵌套太深：我们自己的层数上限
        text = json.dumps(_header("ROOT")).replace('"ROOT"', '{"__type__": "list", "items": [' * depth
                                                   + "]}" * depth)
    else:                    # 深到 json 模块自己递归溢出
        text = '{"format": "tinygrad_zh.checkpoint", "version": 1, "root": ' + "[" * depth + "]" * depth + "}"
    _write_zip(tmp_path / "deep.npz", text.encode("utf-8"))
    with pytest.raises(CheckpointError, match="嵌套"):
        tg.load(tmp_path / "deep.npz")


@pytest.mark.parametrize("root, match", [
    ([1, 2], "无法识别的结构节点"),
    ({"__type__": 5}, "未知的节点类型"),
    ({"__type__": "list", "items": "abc"}, "缺少 items"),
    ({"__type__": "dict", "items": [[1, 2, 3]]}, r"\[键, 值\]"),
    ({"__type__": "dict", "items": [[{"__type__": "list", "items": []}, 1]]}, "不可哈希"),
    ({"__type__": "float", "value": "1.5"}, "nan / inf"),
    ({"__type__": "ndarray", "key": 0, "dtype": "<f8", "shape": [2]}, "数组描述不完整"),
    ({"__type__": "ndarray", "key": "arr_0", "dtype": "<f8", "shape": [-2]}, "数组描述不完整"),
    ({"__type__": "ndarray", "key": "arr_0", "dtype": "<f8", "shape": [True]}, "数组描述不完整"),
    ({"__type__": "tensor", "key": "arr_0", "dtype": "<f8", "shape": [2], "device": "tpu"}, "未知设备"),
    ({"__type__": "tensor", "key": "arr_0", "dtype": "<f8", "shape": [2], "device": ["x"]}, "未知设备"),
])
def test_structures_with_wrong_types_are_refused(tmp_path, root, match):
    _write_zip(tmp_path / "bad.npz", _header(root), [("arr_0.npy", _npy_with_header([2]))])
    with pytest.raises(CheckpointError, match=match):
        tg.load(tmp_path / "bad.npz")


def test_compressed_members_directories_and_devices_are_refused(tmp_path):
    node = {"__type__": "ndarray", "key": "arr_0", "dtype": "<f8", "shape": [2]}
    _write_zip(tmp_path / "zipped.npz", _header(node), [("arr_0.npy", _npy_with_header([2]))],
               compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="压缩"):
        tg.load(tmp_path / "zipped.npz")
    with pytest.raises(CheckpointError, match="目录"):
        tg.load(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(CheckpointError, match="不是普通文件"):
            tg.load("/dev/zero")


def test_save_refuses_structures_nested_too_deeply(tmp_path):
    obj = []
    for _ in range(300):
        obj = [obj]
    with pytest.raises(ValueError, match="嵌套超过"):
        tg.save(obj, tmp_path / "deep.npz")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------- GPT 检查点：手工改过的字段

@pytest.fixture(scope="module")
def gpt_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_gpt")
    corpus = folder / "poem.txt"
    corpus.write_text(POEM * 12, encoding="utf-8")
    config = training.TrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=4, max_steps=4,
                                  warmup_steps=1, eval_interval=2, eval_batches=1, data=str(corpus),
                                  out_dir=str(folder / "run"), device="cpu")
    return training.train(config, progress=False, verbose=False).checkpoint


def _set_history(c, value):
    c["history"] = value


EDITS = [
    ("empty history", lambda c: _set_history(c, training._new_history()), "history.step"),
    ("history missing a column", lambda c: c["history"].pop("val_loss"), "history"),
    ("history of strings", lambda c: c["history"].__setitem__("loss", ["a"] * 4), "history.loss"),
    ("eval steps out of order", lambda c: c["history"].__setitem__("eval_step", [4, 2, 0]), "history.eval_step"),
    ("step is a string", lambda c: c.__setitem__("step", "abc"), "step"),
    ("negative step", lambda c: c.__setitem__("step", -1), "step"),
    ("bool step", lambda c: c.__setitem__("step", True), "step"),
    ("bad rng state", lambda c: c["rng"].__setitem__("batch", {"bit_generator": "PCG64", "state": 5}), "rng.batch"),
    ("rng of another generator", lambda c: c["rng"].__setitem__(
        "global", np.random.MT19937(0).state), "rng.global"),
    ("rng missing", lambda c: c.__setitem__("rng", {}), "rng"),
    ("unknown config key", lambda c: c["config"].__setitem__("n_layers", 2), "config"),
    ("config with Infinity", lambda c: c["config"].__setitem__("learning_rate", float("inf")), "config"),
    ("config not a dict", lambda c: c.__setitem__("config", [1]), "config"),
    ("string as a weight", lambda c: c["model"].__setitem__("transformer.wpe.weight", "abc"), "transformer.wpe.weight"),
    ("int weights", lambda c: c["model"].__setitem__("transformer.wpe.weight", np.zeros((8, 16), np.int64)),
     "transformer.wpe.weight"),
    ("nan in a weight", lambda c: c["model"]["transformer.ln_f.bias"].__setitem__(0, np.nan), "transformer.ln_f.bias"),
    ("wrongly shaped weight", lambda c: c["model"].__setitem__("transformer.wpe.weight", np.zeros((3, 16), np.float32)),
     "transformer.wpe.weight"),
    ("missing weight", lambda c: c["model"].pop("transformer.ln_f.bias"), "model"),
    ("huge model_config", lambda c: c["model_config"].__setitem__("n_layer", 10 ** 6), "model_config"),
    ("huge model_config and config", lambda c: (c["model_config"].__setitem__("n_layer", 10 ** 6),
                                                c["config"].__setitem__("n_layer", 10 ** 6)), "model_config"),
    ("model_config disagrees with config", lambda c: c["model_config"].__setitem__("n_head", 4), "model_config"),
    ("model_config with a string", lambda c: c["model_config"].__setitem__("n_embd", "16"), "model_config"),
    ("vocab with a duplicate", lambda c: c["vocab"].__setitem__(2, c["vocab"][1]), "vocab"),
    ("vocab of wrong length", lambda c: c["vocab"].append("龘"), "vocab"),
    ("optimizer state as string", lambda c: c["optimizer"]["state"][0].__setitem__("exp_avg", "x"), "optimizer.state"),
    ("optimizer groups missing", lambda c: c["optimizer"].__setitem__("param_groups", []), "optimizer"),
    ("optimizer lr nan", lambda c: c["optimizer"]["param_groups"][0].__setitem__("lr", float("nan")),
     "optimizer.param_groups[0].lr"),
    ("scheduler without last_epoch", lambda c: c.__setitem__("scheduler", {}), "scheduler"),
    ("bad data record", lambda c: c.__setitem__("data", {"path": 3}), "data"),
]


@pytest.mark.parametrize("name, edit, field", EDITS, ids=[e[0] for e in EDITS])
def test_hand_edited_checkpoints_raise_checkpoint_error_naming_the_field(gpt_checkpoint, tmp_path, name, edit, field):
    ckpt = tg.load(gpt_checkpoint)
    edit(ckpt)
    path = tmp_path / "ckpt.npz"
    tg.save(ckpt, path)
    with pytest.raises(CheckpointError, match="字段") as info:
        training.load_checkpoint(path, device="cpu")
    assert field in str(info.value) and "\n" not in str(info.value)
    config = training.TrainConfig.from_dict(tg.load(gpt_checkpoint)["config"]).replace(out_dir=str(tmp_path))
    with pytest.raises(CheckpointError, match="字段"):            # 续训也在动手之前就拦下
        training.train(config, resume=True, progress=False, verbose=False)
    assert tg.load(path)["step"] == ckpt["step"]                   # 文件没有被改动


def test_hand_edited_checkpoint_on_the_command_line_is_one_line_exit_2(gpt_checkpoint, tmp_path, capsys):
    ckpt = tg.load(gpt_checkpoint)
    ckpt["step"] = "abc"
    tg.save(ckpt, tmp_path / "ckpt.npz")
    for args in (["sample", "--checkpoint", str(tmp_path / "ckpt.npz"), "--device", "cpu"],
                 ["train", "--resume", "--out-dir", str(tmp_path), "--no-progress"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "字段 step 无效" in err and "'abc'" in err and len(err.strip().splitlines()) == 1


def test_byte_flips_of_a_gpt_checkpoint_only_raise_checkpoint_error(gpt_checkpoint, tmp_path):
    data = open(gpt_checkpoint, "rb").read()
    reference = tg.load(gpt_checkpoint)
    positions = _metadata_positions(data)
    picked = np.random.default_rng(1).choice(positions, size=min(400, len(positions)), replace=False)
    bad = tmp_path / "bad.npz"
    caught = 0
    for i in picked:
        flipped = bytearray(data)
        flipped[i] ^= 0xFF
        bad.write_bytes(bytes(flipped))
        try:
            _, _, back = training.load_checkpoint(bad, device="cpu")
        except CheckpointError:
            caught += 1
            continue
        assert back["step"] == reference["step"] and back["vocab"] == reference["vocab"]
    assert caught > 0.7 * len(picked)
