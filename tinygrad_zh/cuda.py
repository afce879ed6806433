"""``tg.cuda``：与 ``torch.cuda`` 对应的几个查询函数。"""

from . import backend


def is_available() -> bool:
    """有 NVIDIA GPU 且装了可用的 CuPy 时为 True；否则为 False（不会报错）。"""
    return backend.cuda_is_available()


def synchronize() -> None:
    """等 GPU 上排队的计算全部完成（计时前必须调用，否则量到的只是“发射”时间）。"""
    if is_available():
        backend.xp_for_device("cuda").cuda.Device().synchronize()
