"""检验工具：梯度检验 (gradient check)、数值比较，以及测试用的严格替身设备 (strict stand-in device)。

学生和教师都可以直接用：

- ``gradcheck``、``assert_close``、``GradcheckError``：见 ``checks.py``；
- ``StrictArray``、``StrictDeviceError``、``strict_xp``：见 ``strict.py``。

导入本包（``import tinygrad_zh.testing``）时注册设备 ``"strict"``，之后 ``tg.tensor(..., device="strict")`` 就能用。
"""

from .checks import GradcheckError, assert_close, gradcheck
from .strict import StrictArray, StrictDeviceError, strict_xp

__all__ = ["GradcheckError", "StrictArray", "StrictDeviceError", "assert_close", "gradcheck", "strict_xp"]
