"""梯度模式 (grad mode)：是否把运算记进计算图。每个线程各有一份，与 PyTorch 相同。"""

import contextlib
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    """当前是否记录计算图（梯度模式）。每个线程各有一份，与 PyTorch 相同。"""
    return _state.__dict__.get("grad_enabled", True)


def _set_grad_enabled(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


class _GradMode(contextlib.ContextDecorator):
    _mode = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _set_grad_enabled(self._prev)
        return False


class no_grad(_GradMode):
    """在这个范围内不记录计算图：推断 (inference)、参数更新时使用。

    既可以当上下文管理器，也可以当装饰器::

        with tg.no_grad():
            y = model(x)

        @tg.no_grad()
        def evaluate(): ...
    """
    _mode = False


class enable_grad(_GradMode):
    """在 ``no_grad`` 内部重新打开梯度记录。用法同 ``no_grad``。"""
    _mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` 等价于 ``no_grad()``。"""

    def __init__(self, mode: bool):
        self._mode = bool(mode)
