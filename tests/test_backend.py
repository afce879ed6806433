"""后端：设备名、数组模块、搬运、scatter_add、设备注册表，以及“装了 cupy 却没有 GPU”时不崩溃。"""

import ast
import pathlib
import types

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh import backend
from tinygrad_zh.testing import StrictArray, strict_xp


def test_array_module_and_device_of():
    a = np.ones(2)
    s = backend.to_device(a, "strict")
    assert backend.get_array_module(a) is np and backend.device_of(a) == "cpu"
    assert backend.get_array_module(s) is strict_xp and backend.device_of(s) == "strict"
    assert backend.to_device(a, "cpu") is a  # 已在目标设备上：不复制
    back = backend.to_numpy(s)
    assert isinstance(back, np.ndarray) and back.tolist() == [1.0, 1.0]
    assert backend.normalize_device("cuda:0") == "cuda" and backend.normalize_device(None) == "cpu"


@pytest.mark.parametrize("dev", ["cpu", "strict"])
def test_scatter_add_accumulates_repeated_indices(dev):
    xp = backend.xp_for_device(dev)
    target = xp.zeros(4)
    backend.scatter_add(target, xp.asarray([0, 2, 2, 2]), xp.asarray([1.0, 1.0, 2.0, 3.0]))
    assert backend.to_numpy(target).tolist() == [1.0, 0.0, 6.0, 0.0]
    out = backend.index_add(xp, (2, 3), (slice(None), xp.asarray([1, 1])), xp.ones((2, 2)))
    assert backend.to_numpy(out).tolist() == [[0.0, 2.0, 0.0]] * 2


def test_strict_namespace_wraps_results_and_keeps_dtypes():
    xp = strict_xp
    x = xp.arange(6, dtype=xp.float32).reshape(2, 3)
    assert isinstance(x, StrictArray) and x.dtype == np.float32
    assert isinstance(xp.sum(x), StrictArray)  # 像 CuPy：归约得到 0 维数组而不是标量
    assert float(xp.sum(x)) == 15.0 and (x * 2).dtype == np.float32
    assert backend.to_numpy(x.T).shape == (3, 2)


class _Sub(np.ndarray):
    """一个什么也不加的 np.ndarray 子类。"""


def _memmap(tmp_path, values, mode="r"):
    values = np.asarray(values, dtype=np.float64)
    mm = np.memmap(tmp_path / "data.bin", dtype=np.float64, mode="w+", shape=values.shape)
    mm[:] = values
    mm.flush()
    return np.memmap(tmp_path / "data.bin", dtype=np.float64, mode=mode, shape=values.shape)


def test_numpy_subclasses_are_cpu_arrays(tmp_path):
    for arr in (_memmap(tmp_path, [1.0, 2.0]), np.arange(3.0).view(_Sub), np.ma.masked_array([1.0, 2.0])):
        assert backend.device_of(arr) == "cpu" and backend.get_array_module(arr) is np and backend.is_array(arr)
        assert backend.to_device(arr, "cpu") is arr and backend.to_numpy(arr) is arr  # 已在 CPU 上：不复制
        moved = backend.to_device(arr, "strict")
        assert backend.device_of(moved) == "strict" and backend.to_numpy(moved).tolist() == np.asarray(arr).tolist()


def test_memmap_and_ndarray_subclass_tensors_combine_with_cpu_tensors(tmp_path):
    mm = _memmap(tmp_path, [[1.0, 2.0], [3.0, 4.0]])
    sub = np.array([[0.5, -1.0], [2.0, 0.0]]).view(_Sub)
    for data in (mm, sub):
        x = tg.from_numpy(data)
        assert x.device == "cpu"
        w = tg.tensor([[1.0, -1.0], [0.5, 2.0]], dtype=tg.float64, requires_grad=True)
        b = tg.tensor([10.0, 20.0], dtype=tg.float64, requires_grad=True)
        y = x @ w + (x + b)
        assert y.device == "cpu"
        host = np.asarray(data)
        np.testing.assert_allclose(y.detach().numpy(), host @ w.detach().numpy() + host + [10.0, 20.0])
        y.sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), host.T @ np.ones((2, 2)))  # d(Σ x@w)/dw = xᵀ·1
        np.testing.assert_allclose(b.grad.numpy(), [2.0, 2.0])
    # 需要梯度的一边也可以是 memmap 张量（梯度是普通的新数组，不写回文件）
    x = tg.from_numpy(_memmap(tmp_path, [1.0, 2.0, 3.0], mode="r+")).requires_grad_()
    (x * tg.tensor([2.0, 3.0, 4.0], dtype=tg.float64)).sum().backward()
    assert x.grad.tolist() == [2.0, 3.0, 4.0]


def test_unknown_device_lists_builtin_and_registered_devices():
    with pytest.raises(ValueError, match=r"未知设备 \(device\)：'tpu'。可选：'cpu'、'cuda'、.*'strict'"):
        backend.normalize_device("tpu")
    assert backend.normalize_device("strict") == "strict" and "strict" in backend.DEVICES
    assert backend.xp_for_device("strict") is strict_xp


class _Box:
    """玩具设备上的数组：只是把 NumPy 数组装进盒子。"""

    def __init__(self, a):
        self.a = a


def test_registered_device_is_consulted_by_every_backend_function(monkeypatch):
    # 在注册表的副本上注册，测试结束后 monkeypatch 还原，不影响别的测试
    monkeypatch.setattr(backend, "_REGISTRY", dict(backend._REGISTRY))
    monkeypatch.setattr(backend, "_BY_TYPE", dict(backend._BY_TYPE))
    monkeypatch.setattr(backend, "DEVICES", backend.DEVICES)
    toy_xp = types.SimpleNamespace(name="toy xp")
    spec = backend.register_device(
        "toy", _Box, toy_xp, to_host=lambda b: b.a, from_host=lambda h: _Box(np.array(h)),
        scatter_add=lambda t, i, v: np.add.at(t.a, i, v), erf=lambda b: _Box(-b.a))
    assert spec.name == "toy" and "toy" in backend.DEVICES and backend.normalize_device("toy") == "toy"
    host = np.array([1.0, 2.0])
    box = backend.to_device(host, "toy")
    assert isinstance(box, _Box) and box.a is not host  # from_host 复制
    assert backend.device_of(box) == "toy" and backend.is_array(box) and backend.get_array_module(box) is toy_xp
    assert backend.xp_for_device("toy") is toy_xp and backend.to_device(box, "toy") is box
    assert backend.to_numpy(box).tolist() == [1.0, 2.0]
    assert backend.device_of(backend.to_device(box, "strict")) == "strict"  # 注册设备之间经主机搬运
    assert backend.scatter_add(box, np.array([0, 0]), np.array([1.0, 1.0])) is box and box.a.tolist() == [3.0, 2.0]
    assert backend.erf(box).a.tolist() == [-3.0, -2.0]
    assert backend.device_of(backend.random_uniform((2,), np.float32, "toy", np.random.default_rng(0))) == "toy"
    # 同名再注册替换旧的；内置设备名、np.ndarray 的子类、已属于别的设备的数组类型都被拒绝
    backend.register_device("toy", _Box, np, to_host=spec.to_host, from_host=spec.from_host,
                            scatter_add=spec.scatter_add, erf=spec.erf)
    assert backend.get_array_module(box) is np and backend.DEVICES.count("toy") == 1
    with pytest.raises(ValueError, match="内置设备"):
        backend.register_device("cuda", _Box, np, to_host=None, from_host=None, scatter_add=None, erf=None)
    with pytest.raises(TypeError, match="'cpu'"):
        backend.register_device("sub", _Sub, np, to_host=None, from_host=None, scatter_add=None, erf=None)
    with pytest.raises(ValueError, match="已经属于设备 'toy'"):
        backend.register_device("toy2", _Box, np, to_host=None, from_host=None, scatter_add=None, erf=None)


def test_backend_knows_only_numpy_and_cupy():
    """替身设备住在 tinygrad_zh/testing/ 里；backend.py 不认识它，也不从本包导入任何东西。"""
    text = pathlib.Path(backend.__file__).read_text(encoding="utf-8")
    assert "StrictArray" not in text and "strict_xp" not in text
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    assert not [m for m in imported if m.startswith((".", "tinygrad_zh"))], imported


def test_cuda_is_available_is_false_not_a_crash_when_cupy_has_no_gpu(monkeypatch):
    def broken():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
    fake = types.SimpleNamespace(is_available=broken)
    monkeypatch.setattr(backend, "_get_cupy", lambda: fake)
    assert tg.cuda.is_available() is False
    monkeypatch.setattr(backend, "_get_cupy", lambda: None)
    assert tg.cuda.is_available() is False


def test_only_backend_imports_cupy():
    root = pathlib.Path(tg.__file__).parent
    offenders = [p.name for p in root.rglob("*.py") if p.name != "backend.py"
                 and any(w in p.read_text(encoding="utf-8") for w in ("import cupy", "from cupy", "import cupyx"))]
    assert offenders == []


@pytest.mark.gpu
def test_gpu_roundtrip_and_ops():
    x = tg.randn(64, 32, device="cuda", requires_grad=True)
    w = tg.randn(32, 8, device="cuda", requires_grad=True)
    (x @ w).relu().softmax(1).log().sum().backward()
    assert x.grad.device == "cuda" and w.grad.shape == (32, 8)
    cpu_x, cpu_w = x.detach().cpu().requires_grad_(), w.detach().cpu().requires_grad_()
    (cpu_x @ cpu_w).relu().softmax(1).log().sum().backward()
    np.testing.assert_allclose(w.grad.cpu().numpy(), cpu_w.grad.numpy(), rtol=1e-4, atol=1e-4)
