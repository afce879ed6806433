"""tinygrad_zh：一个用中文讲解、从零写起的教学用深度学习框架。

张量 (Tensor) + 自动微分 (autograd)，运行在 NumPy（CPU）或 CuPy（NVIDIA GPU）上，API 与 PyTorch 同名。

    >>> import tinygrad_zh as tg
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad
    tensor([2., 4.])
"""

from . import autograd, cuda, data, metrics, nn, optim
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import get_debug_checks, set_debug_checks
from .creation import (Generator, arange, as_tensor, default_generator, eye, from_numpy, full, full_like, linspace,
                       manual_seed, ones, ones_like, rand, rand_like, randint, randint_like, randn, randn_like, tensor,
                       zeros, zeros_like)
from .dtypes import (bool_, double, float16, float32, float64, get_default_dtype, half, int32, int64, long,
                     set_default_dtype, uint8)
from .serialization import load, save
from .tensor import Tensor, cat, result_type, stack, where
from .version import __version__

bool = bool_  # noqa: A001  与 torch.bool 对应


def exp(x): return x.exp()
def log(x): return x.log()
def sqrt(x): return x.sqrt()
def abs(x): return x.abs()  # noqa: A001
def tanh(x): return x.tanh()
def sigmoid(x): return x.sigmoid()
def relu(x): return x.relu()
def matmul(a, b): return a.matmul(b)
def softmax(x, dim): return x.softmax(dim)
def log_softmax(x, dim): return x.log_softmax(dim)
def logsumexp(x, dim, keepdim=False): return x.logsumexp(dim, keepdim)
def clamp(x, min=None, max=None): return x.clamp(min, max)  # noqa: A002
def maximum(input, other): return input.maximum(other)  # noqa: A002
def minimum(input, other): return input.minimum(other)  # noqa: A002
def flip(input, dims): return input.flip(dims)  # noqa: A002
def amax(input, dim=(), keepdim=False): return input.amax(dim, keepdim)  # noqa: A002
def amin(input, dim=(), keepdim=False): return input.amin(dim, keepdim)  # noqa: A002


def floor_divide(input, other):  # noqa: A002
    """⌊input / other⌋，向负无穷取整，同 ``input // other``（PyTorch 的 floor_divide）。"""
    return input // other


def remainder(input, other):  # noqa: A002
    """余数，符号与除数相同，同 ``input % other``（PyTorch 的 remainder）。"""
    return input % other


def tril(input, diagonal=0):  # noqa: A002
    """``input.tril(diagonal)``：保留最后两维的下三角，其余置 0。``tg.tril(tg.ones(T, T))`` 就是因果掩码。"""
    return input.tril(diagonal)


def triu(input, diagonal=0):  # noqa: A002
    """``input.triu(diagonal)``：保留最后两维的上三角，其余置 0。"""
    return input.triu(diagonal)


def sum(x, dim=None, keepdim=False):  # noqa: A001
    return x.sum(dim, keepdim)


def mean(x, dim=None, keepdim=False):
    return x.mean(dim, keepdim)


def flatten(x, start_dim=0, end_dim=-1):
    return x.flatten(start_dim, end_dim)


def is_tensor(obj):
    return isinstance(obj, Tensor)
