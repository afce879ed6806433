"""后端：设备名、数组模块、搬运、scatter_add，以及“装了 cupy 却没有 GPU”时不崩溃。"""

import types

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh import backend


def test_array_module_and_device_of():
    a = np.ones(2)
    s = backend.to_device(a, "strict")
    assert backend.get_array_module(a) is np and backend.device_of(a) == "cpu"
    assert backend.get_array_module(s) is backend.strict_xp and backend.device_of(s) == "strict"
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
    xp = backend.strict_xp
    x = xp.arange(6, dtype=xp.float32).reshape(2, 3)
    assert isinstance(x, backend.StrictArray) and x.dtype == np.float32
    assert isinstance(xp.sum(x), backend.StrictArray)  # 像 CuPy：归约得到 0 维数组而不是标量
    assert float(xp.sum(x)) == 15.0 and (x * 2).dtype == np.float32
    assert backend.to_numpy(x.T).shape == (3, 2)


def test_cuda_is_available_is_false_not_a_crash_when_cupy_has_no_gpu(monkeypatch):
    def broken():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
    fake = types.SimpleNamespace(is_available=broken)
    monkeypatch.setattr(backend, "_get_cupy", lambda: fake)
    assert tg.cuda.is_available() is False
    monkeypatch.setattr(backend, "_get_cupy", lambda: None)
    assert tg.cuda.is_available() is False


def test_only_backend_imports_cupy():
    import pathlib
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
