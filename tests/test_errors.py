"""坏输入得到清楚的中文错误，并点出出错的形状或数值（而不是 NumPy 深处的报错）。"""

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh.testing import StrictArray, StrictDeviceError


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"形状不匹配 \(shape mismatch\).*\(2, 3\) @ \(4, 5\)"):
        tg.ones(2, 3) @ tg.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"\(3,\) @ \(2,\)"):
        tg.ones(3) @ tg.ones(2)
    with pytest.raises(RuntimeError, match=r"批量维度 \(2,\) 与 \(3,\)"):
        tg.ones(2, 1, 4) @ tg.ones(3, 4, 1)
    with pytest.raises(RuntimeError, match="至少要是一维"):
        tg.tensor(1.0) @ tg.ones(2)


def test_broadcasting_that_cannot_work_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"广播失败 \(broadcasting\)：Add .*\(2, 3\) 和 \(2,\)"):
        tg.ones(2, 3) + tg.ones(2)
    with pytest.raises(RuntimeError, match=r"Mul .*\(4,\) 和 \(5,\)"):
        tg.ones(4) * tg.ones(5)
    with pytest.raises(RuntimeError, match=r"无法把 \(2, 3\) expand 成 \(4, 3\)"):
        tg.ones(2, 3).expand(4, 3)


def test_device_mixing_is_a_clear_error():
    a = tg.ones(2)
    b = tg.ones(2, device="strict")
    with pytest.raises(RuntimeError, match=r"设备不一致 \(device mismatch\).*'cpu'.*'strict'"):
        a + b
    with pytest.raises(RuntimeError, match="设备不一致"):
        a[tg.tensor([0], device="strict")]


def test_grad_on_int_tensor_is_refused():
    with pytest.raises(RuntimeError, match=r"浮点张量.*int64"):
        tg.arange(3).requires_grad_()


def test_reshape_and_dim_errors_name_the_values():
    with pytest.raises(RuntimeError, match=r"无法把形状 \(2, 3\)（6 个元素）reshape 成 \(4, 2\)"):
        tg.ones(2, 3).reshape(4, 2)
    with pytest.raises(IndexError, match=r"dim=2.*2 维的 \(shape=\(2, 3\)\)"):
        tg.ones(2, 3).sum(2)
    with pytest.raises(IndexError, match=r"索引越界.*\(2, 3\)"):
        tg.ones(2, 3)[5]
    with pytest.raises(RuntimeError, match=r"\[1, 1\] 之和为 2.*长度是 3"):
        tg.ones(3).split([1, 1])
    with pytest.raises(RuntimeError, match=r"\(2, 3\) 和 \(2, 4\)"):
        tg.cat([tg.ones(2, 3), tg.ones(2, 4)], dim=0)


def test_bad_creation_input():
    with pytest.raises(ValueError, match="长度不一致"):
        tg.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="数字或布尔值"):
        tg.tensor(["a"])
    with pytest.raises(ValueError, match="未知设备"):
        tg.ones(2, device="tpu")
    with pytest.raises(TypeError, match="float64"):
        tg.set_default_dtype(tg.int64)


def test_item_and_bool_of_many_elements():
    with pytest.raises(RuntimeError, match=r"\(2,\)"):
        tg.ones(2).item()
    with pytest.raises(RuntimeError, match="歧义"):
        bool(tg.ones(2))


def test_numpy_refuses_tensors_that_need_grad_or_live_elsewhere():
    with pytest.raises(RuntimeError, match="detach"):
        tg.ones(2, requires_grad=True).numpy()
    with pytest.raises(TypeError, match="cpu"):
        tg.ones(2, device="strict").numpy()


def test_strict_device_refuses_implicit_numpy_like_cupy():
    s = StrictArray(np.ones(3))
    with pytest.raises(TypeError):
        np.asarray(s)
    with pytest.raises(TypeError):
        s + np.ones(3)
    with pytest.raises(TypeError):
        np.ones(3) + s
    with pytest.raises(TypeError):
        np.exp(s)
    with pytest.raises(TypeError):
        np.sum(s)
    with pytest.raises(StrictDeviceError, match="xp"):
        np.concatenate([s, s])


def test_cuda_request_without_gpu_is_a_clear_error():
    if tg.cuda.is_available():
        pytest.skip("本机有 GPU")
    with pytest.raises(RuntimeError, match=r"CUDA 不可用"):
        tg.ones(2, device="cuda")
