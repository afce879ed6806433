"""一次训练运行的保护措施：不丢结果、不抢目录、不在分配到一半时耗尽内存。

- 信号：Ctrl-C (SIGINT) 与 SIGTERM（``kill``、``timeout``、作业调度器、容器停止时发送）都变成“保存再退出”；
  “提交”一步时推迟处理，参数、步数、记录一起变，不会只做了一半；
- 输出目录：锁文件 ``out_dir/.train.lock`` 让同一个目录同时只有一个训练（锁由操作系统持有，进程死掉自动释放），
  开始时清掉被杀掉的运行留下的临时文件；
- 内存：按配置估计训练至少要多少内存，与这台机器（或容器、GPU）可用的比较，明显放不下就在分配之前报错。

``training.train`` 用到这里的全部函数；本模块不认识模型与训练循环。
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import threading
import time

from . import backend
from .serialization import remove_stale_temp_files
from .training_config import LOCK_NAME, ConfigError

try:  # 锁文件：POSIX 用 flock，Windows 用 msvcrt.locking；进程死掉时操作系统自动释放锁
    import fcntl
except ImportError:
    fcntl = None
try:
    import msvcrt
except ImportError:
    msvcrt = None


class TrainingTerminated(KeyboardInterrupt):
    """训练收到了 SIGTERM（``kill``、``timeout``、作业调度器、容器停止时发送）。

    与 Ctrl-C（``KeyboardInterrupt``，它是其子类）一样：先保存检查点，再抛出。命令行的退出码是 143（128 + 15）。
    """


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


# ---------------------------------------------------------------------------- 内存估计

def estimate_memory(config, vocab_size):
    """按配置估计训练至少要多少字节内存，返回 ``(参数个数, 字节数)``。

    只算大头，是个下限：参数、梯度与 AdamW 的两个状态各一份 float32（每个参数 16 字节）；
    一个批量前向保存给反向用的激活（每层约 16·B·T·C 个数，加注意力矩阵 2·B·H·T·T 个）与 logits
    （2·B·T·V 个）；固定的验证批量（eval_batches 个，每个 x、y 两个 int64 的 B × T 数组）。
    """
    C, L, T, B, H, V = (config.n_embd, config.n_layer, config.block_size, config.batch_size, config.n_head,
                        vocab_size)
    params = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C
    activations = 4 * (L * (16 * B * T * C + 2 * B * H * T * T) + 2 * B * T * V)
    val_batches = 16 * config.eval_batches * B * T
    return params, 16 * params + activations + val_batches


def check_memory(config, vocab_size, device):
    """估计的内存（``estimate_memory``）明显超过 ``device`` 上可用的内存时，在分配之前报 ``ConfigError``。

    只拒绝明显不可能的配置：估计是下限，可用内存含交换区；读不到可用内存时不检查。
    """
    params, need = estimate_memory(config, vocab_size)
    available = available_memory(device)
    if available is None or need <= available:
        return
    where = "GPU 显存" if str(device).startswith("cuda") else "内存"
    raise ConfigError(f"这个配置放不下：{params:,} 个参数（n_layer={config.n_layer}、n_embd={config.n_embd}、词表 "
                      f"{vocab_size:,}）加上批量（batch_size={config.batch_size}、block_size={config.block_size}、"
                      f"eval_batches={config.eval_batches}）估计至少需要 {format_bytes(need)} {where}，这台机器现在只有 "
                      f"{format_bytes(available)} 可用。"
                      "提示：调小 --n-layer、--n-embd、--batch-size、--block-size 或 --eval-batches。")


def available_memory(device="cpu"):
    """``device`` 上现在可用的内存（字节）；读不到时返回 None。

    GPU（CuPy）：空闲显存加上 CuPy 内存池里空着的块。主机：Linux 读 ``/proc/meminfo`` 的 MemAvailable
    加 SwapFree，并考虑容器 (cgroup) 的内存上限；别的 POSIX 系统用 ``os.sysconf``。
    """
    if str(device).startswith("cuda"):
        try:
            xp = backend.xp_for_device(device)
            free, _ = xp.cuda.runtime.memGetInfo()
            return int(free) + int(xp.get_default_memory_pool().free_bytes())
        except Exception:  # noqa: BLE001  读不到就不检查
            return None
    values = []
    meminfo = _read_key_values("/proc/meminfo", scale=1024)
    if "MemAvailable" in meminfo:
        values.append(meminfo["MemAvailable"] + meminfo.get("SwapFree", 0))
    cgroup = _cgroup_available()
    if cgroup is not None:
        values.append(cgroup)
    if not values:
        for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):   # macOS 没有前者：退而用物理内存总量
            try:
                values.append(os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE"))
                break
            except (ValueError, OSError, AttributeError):
                continue
    values = [v for v in values if v > 0]
    return min(values) if values else None


def _read_key_values(path, scale=1):
    """读 ``名字 数值`` 或 ``名字: 数值 kB`` 一行一项的文件（/proc/meminfo、cgroup 的 memory.stat）。"""
    result = {}
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f:
                parts = line.replace(":", " ").split()
                if len(parts) >= 2 and parts[1].isdigit():
                    result[parts[0]] = int(parts[1]) * scale
    except OSError:
        pass
    return result


def _read_number(path):
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_available():
    """容器的内存上限减去已用的（页缓存可以回收，不算已用）；没有上限时 None。"""
    for limit_file, usage_file, stat_file, cache_key in (
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.stat", "file"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
             "/sys/fs/cgroup/memory/memory.stat", "total_cache")):
        limit, usage = _read_number(limit_file), _read_number(usage_file)
        if limit is None or usage is None or limit >= 2 ** 60:   # "max" 或 v1 的“无上限”（一个巨大的数）
            continue
        cache = _read_key_values(stat_file).get(cache_key, 0)
        return max(limit - usage + cache, 0)
    return None


def format_bytes(n):
    """字节数 → “1.5 GiB” / “12.0 MiB”。"""
    return f"{n / 2 ** 30:,.1f} GiB" if n >= 2 ** 28 else f"{n / 2 ** 20:,.1f} MiB"


# ---------------------------------------------------------------------------- 信号：Ctrl-C 与 SIGTERM

def _raise_terminated(signum, frame):
    """训练期间 SIGTERM 的处理函数：变成 ``TrainingTerminated``，走与 Ctrl-C 相同的“保存再退出”。"""
    raise TrainingTerminated


@contextlib.contextmanager
def sigterm_as_interrupt():
    """在这段代码里把 SIGTERM 当作 Ctrl-C 处理（抛出 ``TrainingTerminated``）。

    只在主线程里、且 SIGTERM 还是系统默认处理时才这样做（Python 只在主线程处理信号；别人装了处理函数时不去改它）。
    """
    sigterm = getattr(signal, "SIGTERM", None)
    if (sigterm is None or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(sigterm) is not signal.SIG_DFL):
        yield
        return
    previous = signal.signal(sigterm, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(sigterm, previous)


@contextlib.contextmanager
def defer_signals(reraise=True):
    """把这段代码里收到的 Ctrl-C 与 SIGTERM 推迟到它结束后再抛出：参数更新不会只做了一半就存进检查点。

    只接管由 Python 默认处理函数（Ctrl-C）或 ``sigterm_as_interrupt``（SIGTERM）处理的信号，且只在主线程里；
    SIGINT 被忽略或另有处理函数时不去改它。``reraise=False``：结束后不再抛出（已经在退出的路上了）。
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received, swapped = [], {}
    for signum, ours in ((signal.SIGINT, signal.default_int_handler),
                         (getattr(signal, "SIGTERM", None), _raise_terminated)):
        if signum is not None and signal.getsignal(signum) is ours:
            swapped[signum] = signal.signal(signum, lambda s, frame: received.append(s))
    try:
        yield
    finally:
        for signum, previous in swapped.items():
            signal.signal(signum, previous)
    if received and reraise:
        raise TrainingTerminated if received[0] == getattr(signal, "SIGTERM", None) else KeyboardInterrupt


_defer_keyboard_interrupt = defer_signals  # 旧名字


# ---------------------------------------------------------------------------- 输出目录：锁文件与遗留的临时文件

@contextlib.contextmanager
def run_lock(out_dir):
    """建好 out_dir 并取得它的锁文件，结束时释放；这次新建的目录若仍是空的就删掉。"""
    created = not os.path.isdir(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    lock = _RunLock(out_dir)
    try:
        lock.acquire()
        yield lock
    finally:
        lock.release()
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(out_dir)  # 只在目录为空时成功


class _RunLock:
    """``out_dir/.train.lock``：同一个目录同时只能有一个训练。

    锁由操作系统持有（POSIX 的 flock / Windows 的 msvcrt.locking）：进程无论怎样结束（含 ``kill -9``），
    锁都自动释放，所以死掉的进程留下的锁文件下次直接被接管，不会把目录永远锁住。文件里写着持锁进程的
    进程号、主机名与开始时间，只为报错时告诉用户是谁在用。正常结束时删掉锁文件。
    """

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.path = os.path.join(out_dir, LOCK_NAME)
        self.fd = None
        self.locked = True
        self.notes = []   # 开始时要打印的说明（接管了遗留的锁）

    def acquire(self):
        if fcntl is None and msvcrt is None:
            return  # 不认识的平台：不加锁
        for _ in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _lock_fd(fd)
            except OSError as e:
                if e.errno not in _LOCK_HELD:   # 文件系统不支持文件锁（某些网络文件系统）：不加锁，照常训练
                    self.fd, self.locked = fd, False
                    self.notes.append(f"警告：{self.out_dir} 所在的文件系统不支持文件锁，没有阻止别的训练同时使用这个目录。")
                    return
                holder = _describe_holder(_read_fd(fd))
                os.close(fd)
                raise ConfigError(f"输出目录 (out-dir) {self.out_dir} 正被另一个训练进程使用{holder}"
                                  f"（锁文件 (lock file) {self.path}）：同一个目录同时只能有一个训练。"
                                  "提示：等它结束，或用 --out-dir 换一个目录。") from None
            try:   # 拿锁的同时，上一个持有者可能刚好删掉了这个文件：锁住的必须是路径上现在的那个文件
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = _read_fd(fd)
            if previous:
                self.notes.append(f"接管了上一次运行留下的锁文件 {self.path}{_describe_holder(previous)}：那个进程已经不在了。")
            info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(info).encode("utf-8"))
            self.fd = fd
            return
        raise ConfigError(f"无法取得锁文件 (lock file) {self.path}：它一直在被别的进程删除、重建。")

    def release(self):
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        if fcntl is not None:   # POSIX：先删（仍持有锁，别人不会在这之间拿到它），再关闭
            with contextlib.suppress(OSError):
                os.remove(self.path)
            os.close(fd)
        else:                   # Windows：打开着的文件删不掉，先关闭
            os.close(fd)
            with contextlib.suppress(OSError):
                os.remove(self.path)


# 加锁失败的这些 errno 表示“别人正持有锁”；别的（ENOLCK、EOPNOTSUPP……）表示文件系统不支持
_LOCK_HELD = {errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, getattr(errno, "EDEADLK", errno.EAGAIN)}


def _lock_fd(fd):
    """对 fd 加排他锁，拿不到就立即抛出 OSError（不等待）。"""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def _read_fd(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 4096)
        info = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _describe_holder(info):
    """锁文件内容 → “（PID 123，主机 x，2024-01-01 12:00:00 开始）”；读不到时为空。"""
    parts = []
    if _is_int(info.get("pid")):
        parts.append(f"PID {info['pid']}")
    if isinstance(info.get("host"), str):
        parts.append(f"主机 {info['host'][:60]}")
    if isinstance(info.get("started"), str):
        parts.append(f"{info['started'][:30]} 开始")
    return f"（{'，'.join(parts)}）" if parts else ""


def remove_stale_files(config):
    """删掉被杀掉的运行留下的检查点与曲线的临时文件，返回要打印的说明。已持有锁，本进程还没开始写。"""
    count = size = 0
    for path in (config.checkpoint_path, config.plot_path):
        n, b = remove_stale_temp_files(path, own_pid_is_stale=True)
        count, size = count + n, size + b
    if not count:
        return []
    return [f"清理了上一次被强行终止的运行留下的 {count} 个临时文件（共 {format_bytes(size)}）。"]
