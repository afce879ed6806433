"""测试的公共设置：设备、hypothesis 配置、课程标记。

设备 fixture ``device`` 让每个用到它的测试在 "cpu" 和严格替身设备 "strict" 上各跑一遍；
有 GPU 时再加上 "cuda"（标记为 gpu）。"strict" 由 ``import tinygrad_zh.testing`` 注册，
这里导入一次，每个测试文件都能直接写 ``device="strict"``。
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinygrad_zh as tg
import tinygrad_zh.testing  # noqa: F401  注册严格替身设备 "strict"
from tinygrad_zh import backend

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

_GPU_REASON = "没有可用的 NVIDIA GPU 或 CuPy，跳过 GPU 测试"
DEVICES = ["cpu", "strict", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not tg.cuda.is_available(), reason=_GPU_REASON)])]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "gpu" in item.keywords and not tg.cuda.is_available():
            item.add_marker(pytest.mark.skip(reason=_GPU_REASON))


def to_host(x):
    """张量或任何设备上的数组 → NumPy（测试里比较数值用）。"""
    if isinstance(x, tg.Tensor):
        x = x.data
    return backend.to_numpy(x) if backend.is_array(x) else np.asarray(x)
