"""进程组 (process group)：这个进程是第几号 (rank)、一共几个进程 (world size)，以及张量上的集合通信。

名字、参数与 ``torch.distributed`` 相同::

    >>> import tinygrad_zh.distributed as dist
    >>> dist.init_process_group("mpi")          # 由 mpiexec -n 2 启动的两个进程各调用一次
    >>> dist.get_rank(), dist.get_world_size()  # 0 号进程得到 (0, 2)，1 号得到 (1, 2)
    >>> t = tg.tensor([1.0 + dist.get_rank()])
    >>> dist.all_reduce(t)                      # 原地求和：两个进程的 t 都变成 [3.]
    >>> dist.all_reduce(t, op=dist.ReduceOp.AVG)

没有用 mpiexec 启动时，``init_process_group`` 得到只有一个进程的组 (world size = 1)：同一份脚本照常运行。
"""

from __future__ import annotations

import importlib.util
import os

from ..tensor import Tensor
from .backends import INSTALL_HINT, DistributedError, MPIBackend, make_nccl_backend

BACKENDS = ("mpi", "nccl")
# 各种 MPI 启动器告诉进程“一共几个”的环境变量：MPICH / Intel MPI（Hydra）、Open MPI、MVAPICH
_WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


class ReduceOp:
    """归约操作（同 ``torch.distributed.ReduceOp``）：SUM 求和、AVG 求均值、MAX、MIN、PRODUCT。"""

    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"


_GROUP = None   # 当前进程组（后端对象）；init_process_group 之前为 None


def launched_world_size():
    """按启动器设的环境变量，这个进程属于几个进程的作业；不是由 mpiexec 启动时为 1（不导入 mpi4py）。"""
    for name in _WORLD_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def is_available():
    """能不能做进程间通信：装了 mpi4py（同 ``torch.distributed.is_available``）。"""
    return importlib.util.find_spec("mpi4py") is not None


def init_process_group(backend="mpi"):
    """初始化本进程的进程组：每个进程各调用一次，之后才能用 rank、all_reduce 等。

    参数:
        backend: ``"mpi"``（CPU 进程，mpi4py）或 ``"nccl"``（GPU，一个进程一块 GPU，CuPy 的 NCCL；
            第 i 个进程用本机第 i 块 GPU）。

    进程由 ``mpiexec -n N python 脚本.py``（或 ``tinygrad-zh train --nproc N``）启动；直接 ``python 脚本.py``
    时是只有一个进程的组。重复初始化报错（同 PyTorch）。
    """
    global _GROUP
    if backend not in BACKENDS:
        raise ValueError(f"不认识的后端 (backend) {backend!r}；可选：{' / '.join(repr(b) for b in BACKENDS)}"
                         "（CPU 用 'mpi'，GPU 用 'nccl'）。")
    if _GROUP is not None:
        raise DistributedError(f"进程组已经初始化过了（后端 {_GROUP.name!r}）。提示：先 destroy_process_group()。")
    mpi = MPIBackend()
    _GROUP = mpi if backend == "mpi" else make_nccl_backend(mpi)
    return _GROUP


def destroy_process_group():
    """解散进程组（之后可以再 ``init_process_group``）。MPI 本身在进程退出时由 mpi4py 结束。"""
    global _GROUP
    _GROUP = None


def is_initialized():
    """进程组是否已经初始化。"""
    return _GROUP is not None


def default_group(group=None):
    """``group`` 给出时就用它，否则是当前的进程组（后端对象）；没有初始化时报错。"""
    if group is not None:
        return group
    if _GROUP is None:
        raise DistributedError("进程组还没有初始化 (Default process group has not been initialized)："
                               f"先调用 dist.init_process_group('mpi')（GPU 上用 'nccl'）。{INSTALL_HINT}")
    return _GROUP


def get_backend():
    """当前后端的名字：``"mpi"`` 或 ``"nccl"``。"""
    return default_group().name


def get_rank():
    """本进程的编号 (rank)：0 … world_size − 1。0 号进程负责打印、评估与写检查点。"""
    return default_group().rank


def get_world_size():
    """进程总数 (world size)。"""
    return default_group().world_size


def _array(tensor, what):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} 需要一个 Tensor，得到 {type(tensor).__name__}。")
    return tensor.data


def all_reduce(tensor, op=ReduceOp.SUM, group=None):
    """原地把 ``tensor`` 换成所有进程的 ``tensor`` 归约的结果（默认求和；``op=ReduceOp.AVG`` 求均值）。

    每个进程都要用同样形状、dtype 的张量调用它，否则会一直等下去（MPI 与 NCCL 都不检查这一点）。
    ``group``：别的进程组（后端对象）；默认用 ``init_process_group`` 建的那个。
    """
    default_group(group).all_reduce_(_array(tensor, "all_reduce"), op)
    return tensor


def broadcast(tensor, src=0, group=None):
    """原地把每个进程的 ``tensor`` 换成第 ``src`` 号进程的。"""
    g = default_group(group)
    if not 0 <= int(src) < g.world_size:
        raise ValueError(f"broadcast 的 src 应在 0 … {g.world_size - 1} 之间，得到 {src!r}。")
    g.broadcast_(_array(tensor, "broadcast"), int(src))
    return tensor


def barrier(group=None):
    """所有进程都到了这里才一起往下走。"""
    default_group(group).barrier()
