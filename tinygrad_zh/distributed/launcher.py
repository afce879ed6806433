"""启动与停止 N 个进程：``mpiexec -n N``、每个进程的 BLAS 线程数、Ctrl-C / SIGTERM 时大家一起停。

- ``launch(nproc, args)``：用 ``mpiexec -n N python args…`` 启动 N 个进程并等它们结束（``tinygrad-zh train --nproc N``
  就是这样重新启动自己的）。每个进程的 BLAS 线程数设为 ``CPU 核数 // N``：N 个进程各开满线程，
  核被抢来抢去，反而更慢。这些环境变量要在子进程导入 NumPy 之前设好，所以由启动它们的进程来设。
- ``StopRequest``：数据并行时不能让一个进程收到 Ctrl-C 就自己先走：别的进程会卡在下一次 all-reduce 里等它。
  所以信号只记下来，每一步开始前所有进程对“有没有人要停”取一次最大值 (``host_max``)，然后在同一步一起停：
  0 号进程写检查点，别的进程等它写完再退出。
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import traceback

from .backends import INSTALL_HINT, DistributedError
from .process_group import launched_world_size

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                         "NUMEXPR_NUM_THREADS")
STOP_SIGINT, STOP_SIGTERM = 1, 2   # StopRequest 的代码：0 表示没人要停


def find_mpiexec():
    """``mpiexec`` 程序的路径：先找当前 Python 旁边的（pip 装的 mpich 在虚拟环境的 bin 里），再找 PATH。"""
    names = ("mpiexec", "mpiexec.exe", "mpirun")
    here = os.path.dirname(sys.executable)
    for name in names:
        path = os.path.join(here, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise DistributedError(f"找不到 mpiexec（MPI 的启动程序）：多进程训练要用它启动 N 个进程。{INSTALL_HINT}")


def blas_threads(nproc, cores=None):
    """N 个进程时每个进程的 BLAS 线程数：``CPU 核数 // N``，至少 1。"""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, int(nproc)))


def launch_env(nproc, env=None):
    """子进程的环境变量：BLAS 线程数按进程数分好（用户自己设过的不动）。"""
    env = dict(os.environ if env is None else env)
    threads = str(blas_threads(nproc))
    for name in BLAS_THREAD_VARIABLES:
        env.setdefault(name, threads)
    return env


def mpiexec_command(nproc, args, mpiexec=None):
    """``[mpiexec, -n, N, python, args…]``。"""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"进程数 nproc 必须是正整数，得到 {nproc!r}。")
    return [mpiexec or find_mpiexec(), "-n", str(nproc), sys.executable, *args]


def launch(nproc, args, env=None):
    """用 ``mpiexec -n nproc`` 启动 ``python args…``，等它结束，返回退出码。

    Ctrl-C：终端把 SIGINT 发给 mpiexec，mpiexec 转发给每个进程；这里只等着，不抢先退出。
    SIGTERM 发给这个进程时，转发给 mpiexec（它再转发给每个进程）。已经在 mpiexec 里运行时不能再套一层。
    """
    if launched_world_size() > 1:
        raise DistributedError("已经在 mpiexec 启动的多进程作业里运行，不能再用 --nproc 启动一层。"
                               "提示：二选一：tinygrad-zh train --nproc N，或 mpiexec -n N tinygrad-zh train。")
    process = subprocess.Popen(mpiexec_command(nproc, args), env=launch_env(nproc, env))
    main = threading.current_thread() is threading.main_thread()
    previous = {}
    if main:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
        if hasattr(signal, "SIGTERM"):
            previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, lambda s, f: process.send_signal(s))
    try:
        return process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class StopRequest:
    """把 Ctrl-C 与 SIGTERM 记下来而不是立即抛出；``agreed(group)`` 让所有进程对“停不停、因为什么”取得一致。

    用法（每个进程都这样写）::

        with StopRequest() as stop:
            for step in ...:
                code = stop.agreed(group)      # 所有进程在同一步得到同一个代码
                if code: 停下（STOP_SIGINT → KeyboardInterrupt，STOP_SIGTERM → SIGTERM 的处理）
                ...一步训练...

    只在主线程里安装处理函数（Python 只在主线程处理信号）。
    """

    def __init__(self):
        self.code = 0
        self._previous = {}

    def _record(self, signum, frame):
        self.code = max(self.code, STOP_SIGTERM if signum == getattr(signal, "SIGTERM", None) else STOP_SIGINT)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
                if signum is not None:
                    self._previous[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        return False

    def agreed(self, group):
        """所有进程收到的信号里“最重”的那个（0：没人要停）。每个进程都要在同一处调用。"""
        return group.host_max(self.code)


@contextlib.contextmanager
def all_ranks_succeed(group, what="这一段"):
    """这段代码要么所有进程都做成，要么所有进程一起抛出：出错的进程抛出自己的错误，别的进程抛出 ``DistributedError``。

    只在某个进程上可能出错的地方用它（0 号进程加锁、评估、写检查点）：否则出错的进程退出了，
    别的进程会在下一次通信里永远等它。``group`` 为 None（一个进程）时什么也不多做。
    """
    failed = None
    try:
        yield
    except Exception as e:   # noqa: BLE001  先记下，与别的进程对过之后再抛出
        failed = e
    if group is not None and group.world_size > 1:
        first = group.host_max(group.world_size - group.rank if failed is not None else 0)
        if failed is None and first:
            raise DistributedError(f"第 {group.world_size - first} 号进程在{what}出错（错误信息见它的输出），"
                                   "本进程随之停止。")
    if failed is not None:
        raise failed


@contextlib.contextmanager
def abort_on_error(group, expected=()):
    """多进程时，某个进程出了没处理的错就结束全部进程（否则别的进程卡在通信里一直等）。

    ``KeyboardInterrupt``（含 SIGTERM）、``SystemExit`` 与 ``expected`` 里的异常类型不算：它们在所有进程上
    同时发生（由 ``StopRequest`` 或 ``all_ranks_succeed`` 安排），各进程照常退出。
    """
    try:
        yield
    except (KeyboardInterrupt, SystemExit, *expected):
        raise
    except BaseException:
        if group is not None and group.world_size > 1:
            traceback.print_exc()
            sys.stderr.flush()
            sys.stdout.flush()
            group.abort(1)
        raise
