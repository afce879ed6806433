"""进程之间的通信后端 (communication backend)：CPU 上用 MPI（mpi4py），GPU 上用 NCCL（CuPy）。

两个后端对外是同一组在**数组**上原地工作的操作（``process_group.py`` 把它们包成张量上的
``all_reduce`` / ``broadcast`` / ``barrier``）：

- ``all_reduce_(array, op)``：每个进程 (rank) 的 ``array`` 换成所有进程的 ``array`` 之和（或均值、最大、最小）；
- ``broadcast_(array, src)``：每个进程的 ``array`` 换成第 ``src`` 号进程的；
- ``barrier()``：所有进程都走到这里才一起往下走；
- ``host_max(value)``：主机上一个小整数的最大值（各进程对“要不要停下”取得一致，不碰 GPU）；
- ``broadcast_object(obj, src)``：把一个 Python 对象从 ``src`` 号进程发给所有进程（主机上）。

通信本身交给成熟的库，这里不写套接字 (socket) 或共享内存协议：
MPI 的 ``Allreduce`` 在同一台机器上走共享内存、跨机器走网络；NCCL 在 GPU 之间走 NVLink / PCIe / InfiniBand。
两者都用环形 (ring) 或树形算法，每个进程收发约 2(N−1)/N 份数据（第 19 课手写了一遍）。

NCCL 只管 GPU 之间的数据；进程由 ``mpiexec`` 启动，进程编号与 NCCL 的 ID 交换、栅栏 (barrier) 都走 MPI
（``cupyx.distributed.NCCLBackend(use_mpi=True)`` 就是这样做的），所以两个后端都需要 mpi4py。
"""

from __future__ import annotations

import numpy as np

from .. import backend

# 归约操作的名字（与 torch.distributed.ReduceOp 的小写名相同）→ mpi4py 里的操作名
_MPI_OPS = {"sum": "SUM", "avg": "SUM", "max": "MAX", "min": "MIN", "product": "PROD"}
# → cupyx.distributed.NCCLBackend.all_reduce 的 op 参数
_NCCL_OPS = {"sum": "sum", "avg": "sum", "max": "max", "min": "min", "product": "prod"}

INSTALL_HINT = "提示：pip install -e \".[dist]\"（安装 mpi4py 与 MPI 运行时 mpich），再用 mpiexec -n 2 启动。"


class DistributedError(RuntimeError):
    """数据并行用法上的错误：没有初始化进程组、后端不可用、进程之间的参数对不上等。"""


def import_mpi():
    """导入 ``mpi4py.MPI``（导入时初始化 MPI）；没装时报清楚的中文错误。"""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(f"找不到 mpi4py（{e}）：数据并行的进程间通信需要它。{INSTALL_HINT}") from None
    return MPI


def _check_op(op, table):
    if op not in table:
        raise ValueError(f"不认识的归约操作 (reduce op) {op!r}；可选：{', '.join(table)}。")


def _divide_(array, n):
    """``array /= n``（求均值的第二步）；整数数组不能原地变成小数，直接报错。"""
    if array.dtype.kind != "f":
        raise TypeError(f"all_reduce 的 op=AVG 只用于浮点数组，得到 {array.dtype}。提示：整数用 SUM 再自己除。")
    array /= n


class MPIBackend:
    """MPI 后端：``mpi4py`` 的 ``COMM_WORLD``（``mpiexec -n N`` 启动的全部进程）。

    NumPy 数组直接交给 MPI（不复制）；别的设备上的数组（如测试用的替身设备）先搬到主机、归约、再搬回去。
    GPU 数组请用 NCCL 后端：它不经过主机。
    """

    name = "mpi"

    def __init__(self, comm=None):
        self.MPI = import_mpi()
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.world_size = self.comm.Get_size()

    def local_rank(self):
        """同一台机器上的第几个进程（一台机器有几块 GPU 时，第 i 个进程用第 i 块）。"""
        local = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED, key=self.rank)
        try:
            return local.Get_rank()
        finally:
            local.Free()

    def _host(self, array):
        """MPI 读写的连续 NumPy 缓冲区，以及“结果还要写回 array”的标记。"""
        if isinstance(array, np.ndarray):
            if array.flags.c_contiguous:
                return array, False
            return np.ascontiguousarray(array), True
        return np.ascontiguousarray(backend.to_numpy(array)), True

    def _write_back(self, array, host):
        array[...] = host if isinstance(array, np.ndarray) else backend.to_device(host, backend.device_of(array))

    def all_reduce_(self, array, op="sum"):
        _check_op(op, _MPI_OPS)
        host, copied = self._host(array)
        self.comm.Allreduce(self.MPI.IN_PLACE, host, op=getattr(self.MPI, _MPI_OPS[op]))
        if op == "avg":
            _divide_(host, self.world_size)
        if copied:
            self._write_back(array, host)
        return array

    def broadcast_(self, array, src=0):
        host, copied = self._host(array)
        self.comm.Bcast(host, root=src)
        if copied:
            self._write_back(array, host)
        return array

    def barrier(self):
        self.comm.Barrier()

    def host_max(self, value):
        return int(self.comm.allreduce(int(value), op=self.MPI.MAX))

    def broadcast_object(self, obj, src=0):
        """把 ``src`` 号进程的一个 Python 对象（如训练记录）发给所有进程，返回它（经 pickle 传输）。"""
        return self.comm.bcast(obj, root=src)

    def abort(self, code=1):
        """立即结束全部进程（某个进程出了错、别的进程还卡在通信里等它时用）。"""
        self.comm.Abort(int(code))


class NCCLBackend:
    """NCCL 后端：GPU 数组之间的 all-reduce 与广播，数据不经过主机。

    ``communicator`` 是 ``cupyx.distributed.NCCLBackend`` 那样的对象：``all_reduce(in, out, op)``、
    ``broadcast(array, root)``、``barrier()``，都在当前 CUDA 流 (stream) 上排队、不等 GPU 算完，
    所以梯度的通信与 GPU 上的计算按顺序排好，CPU 不用停下来等。``mpi`` 是启动这些进程的 MPI 后端：
    主机上的小事（停不停、栅栏）走它。``device`` 是数组应在的设备（测试里可以换成替身设备）。
    """

    name = "nccl"

    def __init__(self, mpi, communicator, device="cuda"):
        self.mpi = mpi
        self.comm = communicator
        self.device = device
        self.rank, self.world_size = mpi.rank, mpi.world_size

    def _check(self, array, what):
        dev = backend.device_of(array)
        if dev != self.device:
            raise DistributedError(f"NCCL 后端只在 GPU 数组上做 {what}，这个数组在 '{dev}' 上。"
                                   "提示：先 model.to('cuda')，或者 CPU 上用 init_process_group('mpi')。")
        if not (array.flags.c_contiguous or array.flags.f_contiguous):
            raise DistributedError(f"NCCL 的 {what} 需要连续的数组 (contiguous array)，得到形状 {tuple(array.shape)} 的视图。")

    def all_reduce_(self, array, op="sum"):
        _check_op(op, _NCCL_OPS)
        self._check(array, "all_reduce")
        self.comm.all_reduce(array, array, op=_NCCL_OPS[op])   # NCCL 允许输入、输出是同一块显存（原地）
        if op == "avg":
            _divide_(array, self.world_size)
        return array

    def broadcast_(self, array, src=0):
        self._check(array, "broadcast")
        self.comm.broadcast(array, root=src)
        return array

    def barrier(self):
        self.comm.barrier()

    def host_max(self, value):
        return self.mpi.host_max(value)

    def broadcast_object(self, obj, src=0):
        return self.mpi.broadcast_object(obj, src)

    def abort(self, code=1):
        self.mpi.abort(code)


def make_nccl_backend(mpi):
    """``mpiexec`` 启动的第 i 个进程用这台机器上的第 i 块 GPU，建立 NCCL 通信器。"""
    xp = backend.xp_for_device("cuda")   # 没有 GPU 或 CuPy 时，这里给出中文说明
    n_gpus = xp.cuda.runtime.getDeviceCount()
    local = mpi.local_rank()
    if local >= n_gpus:
        raise DistributedError(f"这台机器上有 {n_gpus} 块 GPU，却启动了至少 {local + 1} 个进程：NCCL 要求一个进程一块 GPU。"
                               f"提示：mpiexec -n {n_gpus}（或 --nproc {n_gpus}）。")
    xp.cuda.Device(local).use()   # 之后本进程在 "cuda" 上分配的数组都在这块 GPU 上
    return NCCLBackend(mpi, backend.nccl_communicator(mpi.world_size, mpi.rank))
