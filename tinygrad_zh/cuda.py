"""``tg.cuda``：与 ``torch.cuda`` 对应的几个查询函数，以及 GPU 上矩阵乘法的精度开关 (TF32)。"""

from . import backend


def is_available() -> bool:
    """有 NVIDIA GPU 且装了可用的 CuPy 时为 True；否则为 False（不会报错）。"""
    return backend.cuda_is_available()


def synchronize() -> None:
    """等 GPU 上排队的计算全部完成（计时前必须调用，否则量到的只是“发射”时间）。"""
    if is_available():
        backend.xp_for_device("cuda").cuda.Device().synchronize()


def set_allow_tf32(enabled: bool) -> bool:
    """float32 矩阵乘法是否用 TF32 张量核 (tensor core)，对应 PyTorch 的 ``torch.backends.cuda.matmul.allow_tf32``。

    TF32 只保留乘数尾数 (mantissa) 的 10 位（float32 有 23 位），换来 Ampere 及更新 GPU 上快几倍的矩阵乘法；
    训练神经网络通常察觉不到这点误差，数值核对（gradcheck、与 CPU 逐位比较）则要关掉它。默认关闭。
    返回设置后是否真的生效（没有 GPU、GPU 太旧时为 False）。

    例::

        >>> tg.cuda.set_allow_tf32(True)     # 第 17 课比较开与不开的速度和误差
    """
    return backend.set_allow_tf32(enabled)


def get_allow_tf32() -> bool:
    """最近一次 ``set_allow_tf32`` 的设置（默认 False）。"""
    return backend.get_allow_tf32()
