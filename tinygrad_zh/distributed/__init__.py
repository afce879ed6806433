"""数据并行 (data parallelism)：N 个进程各算一份数据的梯度，取平均，一起更新同一个模型。

名字与 ``torch.distributed`` 相同::

    >>> import tinygrad_zh.distributed as dist
    >>> dist.init_process_group("mpi")            # CPU 进程用 MPI；GPU（一个进程一块）用 "nccl"
    >>> rank, world = dist.get_rank(), dist.get_world_size()
    >>> model = dist.DistributedDataParallel(model)                # 广播参数；反向传播时按桶平均梯度
    >>> sampler = DistributedSampler(dataset)                      # tinygrad_zh.data：每个进程取不重叠的 1/N
    >>> dist.all_reduce(t, op=dist.ReduceOp.AVG); dist.broadcast(t, src=0); dist.barrier()

启动：``mpiexec -n 2 python 脚本.py``，或 ``tinygrad-zh train --nproc 2``。需要 ``pip install -e ".[dist]"``
（mpi4py 与 MPI 运行时 mpich）；GPU 上还要 CuPy（``.[gpu]``），NCCL 随 CuPy 的 CUDA 轮子提供。

- ``process_group.py``：init_process_group、get_rank、get_world_size、all_reduce、broadcast、barrier；
- ``backends.py``：MPI（mpi4py）与 NCCL（``cupyx.distributed``）两个通信后端；
- ``ddp.py``：DistributedDataParallel 与按桶的梯度平均；
- ``launcher.py``：mpiexec 启动 N 个进程、每个进程的 BLAS 线程数、Ctrl-C 时所有进程一起停。
"""

from .backends import DistributedError, MPIBackend, NCCLBackend
from .ddp import DistributedDataParallel
from .launcher import StopRequest, abort_on_error, all_ranks_succeed, blas_threads, find_mpiexec, launch, launch_env, mpiexec_command
from .process_group import (ReduceOp, all_reduce, barrier, broadcast, destroy_process_group, get_backend, get_rank,
                            get_world_size, init_process_group, is_available, is_initialized, launched_world_size)

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available", "get_backend", "get_rank",
           "get_world_size", "all_reduce", "broadcast", "barrier", "ReduceOp", "DistributedDataParallel",
           "DistributedError", "MPIBackend", "NCCLBackend", "StopRequest", "abort_on_error", "all_ranks_succeed", "blas_threads",
           "find_mpiexec", "launch", "launch_env", "mpiexec_command", "launched_world_size"]
