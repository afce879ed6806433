"""检查点 (checkpoint) 的保存与读取：``tg.save(obj, path)`` / ``tg.load(path)``。

与 ``torch.save`` / ``torch.load`` 用法相同，但**不用 pickle**：pickle 文件一打开就可能执行任意代码，
而检查点常常来自别人。我们的格式是一个普通的 ``.npz``（zip 压缩包）：

- 每个数组是一个 ``arr_<i>.npy`` 成员（NumPy 自己的格式，``np.load`` 也能读）；
- 整体结构（字典、列表、数字、字符串……）存在 JSON 成员 ``__tinygrad_zh__.json`` 里，带格式名与版本号。

能保存的东西:
    dict（键可以是 str / int / float / bool / None / 由它们组成的 tuple，int 键原样读回，
    优化器的 state_dict 就用 int 键）、list、tuple、str、int（任意大，所以 NumPy 随机数生成器的状态
    ``g.get_state()`` 也能存）、float（含 nan / inf）、bool、None、NumPy 标量、NumPy 数组、我们的张量。
    对象数组 (object array) 与其他类型会被拒绝。

读回来是什么（“存什么，读回什么”）:
    - NumPy 数组 → NumPy 数组（dtype、形状不变）；模型的 state_dict 就是“名字 → NumPy 数组”的字典；
    - 张量 → 张量（dtype、requires_grad 不变），默认回到保存时的设备；
    - ``map_location="cpu"`` / ``"cuda"``：所有张量与数组都放到这个设备上（NumPy 数组在 "cuda" 上成为 CuPy 数组）；
    - 同一个数组 / 张量在结构里出现多次（如权重绑定），只存一份，读回后仍是同一个对象。

写入是原子的 (atomic)：先写同目录下的临时文件，写完、落盘后再用 ``os.replace`` 换上去；
中途出错或被中断（Ctrl-C），旧的检查点原封不动，也不会留下临时文件。只有进程被强行杀掉（``kill -9``、断电）
时临时文件 ``.<文件名>.<进程号>.<随机数>.tmp`` 才会留下；``remove_stale_temp_files`` 删掉写它的进程已经
不在的那些（``tinygrad-zh train`` 每次开始时都这样做）。

读取从不执行代码，并且对任何损坏的文件（截断、改动了字节、伪造的数组头、嵌套极深的结构……）
都只抛出 ``CheckpointError``，信息里写明是哪个成员、哪一处不对；数组在分配内存之前先核对它声称的大小
不超过文件里实际有的字节数。
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import time
import zipfile

import numpy as np
from numpy.lib import format as npformat

from . import backend
from .tensor import Tensor

FORMAT = "tinygrad_zh.checkpoint"
VERSION = 1
_STRUCTURE = "__tinygrad_zh__.json"
_KEY_TYPES = (str, int, float, bool, type(None), tuple)
MAX_DEPTH = 200          # 结构最多嵌套多少层（检查点里实际只有 5 层左右）：更深的文件当作损坏，保存时也拒绝
_STALE_AGE = 3600.0      # 临时文件这么久（秒）没有被写过，即使进程号还“活着”（进程号被复用）也当作遗留的


class CheckpointError(ValueError):
    """检查点文件损坏、被截断、不是 ``tg.save`` 写的，或版本太新。"""


# ---------------------------------------------------------------------------- 保存

class _Encoder:
    """把 Python 对象变成“JSON 结构 + 数组列表”。"""

    def __init__(self):
        self.arrays = []      # [(成员名, NumPy 数组)]
        self.memo = {}        # id(对象) → 成员名：同一个数组只存一次
        self.keep = []        # 保证 memo 里的对象在保存期间不被回收（id 不被复用）

    def _array(self, obj, arr, where):
        if arr.dtype.hasobject:
            raise TypeError(
                f"拒绝保存对象数组 (object array)：{where} 的 dtype 是 {arr.dtype}，保存它需要 pickle（不安全）。"
                "提示：转成数值数组，如 arr.astype(np.float32)；字符串列表请直接存 list[str]。")
        key = self.memo.get(id(obj))
        if key is None:
            key = f"arr_{len(self.arrays)}"
            self.arrays.append((key, arr))
            self.memo[id(obj)] = key
            self.keep.append(obj)
        return {"__type__": "ndarray", "key": key, "dtype": arr.dtype.str, "shape": list(arr.shape)}

    def encode(self, obj, where="obj", depth=0):
        if depth > MAX_DEPTH:
            raise ValueError(f"tg.save 不能保存嵌套超过 {MAX_DEPTH} 层的结构（位置：{where[:80]}…）。")
        if obj is None or isinstance(obj, (bool, str)):
            return str(obj) if isinstance(obj, str) else obj
        if isinstance(obj, np.generic):  # 先于 int / float：np.float64 也是 float 的子类，要保住它的 dtype
            node = self._array(obj, np.asarray(obj), where)
            node["__type__"] = "scalar"
            return node
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"__type__": "float", "value": repr(float(obj))}
        if isinstance(obj, Tensor):
            node = self._array(obj, backend.to_numpy(obj.data), where)
            node.update(__type__="tensor", device=obj.device, requires_grad=bool(obj.requires_grad))
            return node
        if backend.is_array(obj):
            node = self._array(obj, backend.to_numpy(obj), where)
            node["device"] = backend.device_of(obj)
            return node
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not isinstance(k, _KEY_TYPES) or isinstance(k, tuple) and not all(
                        isinstance(x, _KEY_TYPES) for x in k):
                    raise TypeError(f"字典的键只能是 str / int / float / bool / None 或它们的元组，"
                                    f"{where} 里有一个键是 {type(k).__name__}：{k!r}。")
                items.append([self.encode(k, f"{where} 的键", depth + 1),
                              self.encode(v, f"{where}[{k!r}]", depth + 1)])
            return {"__type__": "dict", "items": items}
        if isinstance(obj, (list, tuple)):
            return {"__type__": "tuple" if isinstance(obj, tuple) else "list",
                    "items": [self.encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]}
        hint = ""
        if isinstance(obj, np.random.Generator) or hasattr(obj, "get_state"):
            hint = "提示：随机数生成器请保存它的状态：g.get_state()（tg.Generator）或 g.bit_generator.state。"
        elif hasattr(obj, "state_dict"):
            hint = "提示：模型和优化器请保存 obj.state_dict()。"
        raise TypeError(f"tg.save 不能保存 {type(obj).__name__} 类型的对象（位置：{where}）。"
                        "能保存：dict / list / tuple / str / int / float / bool / None / NumPy 数组 / 张量。" + hint)


def save(obj, path):
    """把 obj 存成检查点文件（``.npz`` 格式，不用 pickle；原子写入）。

    参数:
        obj: 要保存的对象，通常是 ``{"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 100}``。
        path: 文件路径（按原样使用，不会自动加后缀；建议用 ``.npz``）。

    例::

        >>> tg.save({"model": model.state_dict(), "epoch": 3}, "ckpt.npz")
        >>> ckpt = tg.load("ckpt.npz")
        >>> model.load_state_dict(ckpt["model"])
    """
    path = os.fspath(path)
    enc = _Encoder()
    root = enc.encode(obj)
    structure = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, ensure_ascii=False,
                           allow_nan=False).encode("utf-8")
    with atomic_write(path) as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.writestr(_STRUCTURE, structure)
            for key, arr in enc.arrays:
                with zf.open(key + ".npy", "w", force_zip64=True) as member:
                    npformat.write_array(member, arr, allow_pickle=False)


@contextlib.contextmanager
def atomic_write(path):
    """原子地写一个文件：``with atomic_write(path) as f: f.write(b"...")``（f 是二进制文件）。

    先写同目录下的临时文件 ``.<文件名>.<进程号>.<随机数>.tmp``，``with`` 块正常结束后落盘 (fsync) 并
    ``os.replace`` 到 path；块内出错或被中断（含 KeyboardInterrupt，哪怕就在临时文件刚创建的那一刻）时
    删掉临时文件、原样抛出，path 上的旧文件不受影响。进程被 ``kill -9`` 时临时文件会留下，
    见 ``remove_stale_temp_files``。临时文件按 umask 取权限，所以结果与直接 open 创建的文件权限相同。
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"无法写入 {path}：目录不存在 (directory not found)：{directory}")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except FileExistsError:  # 同名的临时文件属于别人（几乎不可能）：不能删它
        raise
    except BaseException:    # 含“文件刚创建、还没拿到 fd 就按了 Ctrl-C”：删掉可能已经建好的空文件
        _remove_quietly(tmp)
        raise
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_directory(directory)


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def temp_file_pattern(path):
    """``atomic_write(path)`` 用的临时文件名的正则表达式（第 1 组是写它的进程号）。"""
    return re.compile(rf"^\.{re.escape(os.path.basename(os.fspath(path)))}\.(\d+)\.[0-9a-f]{{8}}\.tmp$")


def remove_stale_temp_files(path, *, own_pid_is_stale=False):
    """删掉 ``atomic_write(path)`` 以前被强行杀掉的进程留下的临时文件，返回 ``(个数, 字节数)``。

    只删“写它的进程已经不在”的（进程号查不到），或很久（一小时）没有被写过的；正在写的不动。
    ``own_pid_is_stale=True``：本进程的进程号留下的也删——调用者确定本进程此刻没有在写这个文件
    （容器里每次运行的进程号常常相同，上一次被杀掉的运行与这一次同号）。
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    pattern = temp_file_pattern(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return 0, 0
    count = size = 0
    for name in names:
        m = pattern.match(name)
        if not m:
            continue
        full = os.path.join(directory, name)
        try:
            st = os.stat(full)
        except OSError:
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            stale = own_pid_is_stale
        else:
            stale = not _pid_alive(pid) or time.time() - st.st_mtime > _STALE_AGE
        if stale:
            try:
                os.remove(full)
            except OSError:  # Windows 上别的进程还开着它时删不掉：那它就不是遗留的
                continue
            count, size = count + 1, size + st.st_size
    return count, size


def _pid_alive(pid):
    """进程号 pid 的进程是否还在（POSIX 用信号 0 探测；别的平台无法探测，当作还在，由删除失败来保护）。"""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError：进程在，只是属于别的用户
        return True
    return True


def _fsync_directory(directory):
    """让“改名”这一步也落盘（POSIX）；做不到的平台上忽略。"""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- 读取

class _CudaUnavailable(RuntimeError):
    """检查点里有保存在 cuda 上的张量，这台机器却没有 CUDA：文件本身没坏，原样告诉调用者。"""


# zipfile 与 .npy 读取时常见的英文错误 → 中文说明（英文原文放在括号里，便于搜索）
_EXPLANATIONS = [
    ("Bad CRC-32", "CRC-32 校验和不符：内容被改动过或已损坏"),
    ("File is not a zip file", "不是完整的 zip 文件"),
    ("Truncated file header", "成员的文件头被截断"),
    ("Bad magic number", "成员的文件头标记不对"),
    ("differ", "zip 目录与成员文件头里的名字不一致"),
    ("compression method", "使用了不支持的压缩方式"),
    ("encrypted", "成员被标记为加密"),
    ("Overlapped entries", "zip 成员互相重叠"),
    ("extra field", "zip 的扩展字段损坏"),
    ("Unexpected end", "数据提前结束（被截断）"),
]


def _explain(error):
    text = str(error).strip().replace("\n", " ")[:160]
    for needle, words in _EXPLANATIONS:
        if needle in text:
            return f"{words}（{type(error).__name__}: {text}）"
    return f"读取时出错（{type(error).__name__}: {text}）" if text else f"读取时出错（{type(error).__name__}）"


def _read_npy_header(f):
    """读 .npy 的魔数与头，返回 ``(shape, fortran_order, dtype)``；不读数据、不分配数组。"""
    version = npformat.read_magic(f)
    if version == (1, 0):
        return npformat.read_array_header_1_0(f)
    if version == (2, 0):
        return npformat.read_array_header_2_0(f)
    reader = getattr(npformat, "_read_array_header", None)   # 3.0（头是 UTF-8）没有公开的函数
    if reader is None:
        raise ValueError(f"不支持的 .npy 格式版本 {version}")
    return reader(f, version)


class _Decoder:
    def __init__(self, zf, path, map_location, file_size):
        self.zf, self.path, self.map_location, self.file_size = zf, path, map_location, file_size
        self.memo = {}

    def bad(self, what):
        return CheckpointError(f"检查点 {self.path} 已损坏 (corrupt checkpoint)：{what}。")

    def member(self, name, what="数组成员"):
        """zip 成员 ``name`` 的 ZipInfo：必须存在、没有压缩、声称的大小不超过整个文件。"""
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise self.bad(f"缺少{what} {name}") from None
        if info.compress_type != zipfile.ZIP_STORED:
            raise self.bad(f"成员 {name} 是压缩过的（压缩方式编号 {info.compress_type}），tg.save 写的成员都不压缩")
        if info.file_size != info.compress_size or info.file_size > self.file_size:
            raise self.bad(f"成员 {name} 声称有 {info.file_size} 字节，与文件的实际大小 {self.file_size} 字节不符")
        return info

    def read_array(self, node):
        key, dtype, shape = node.get("key"), node.get("dtype"), node.get("shape")
        if not isinstance(key, str) or not isinstance(dtype, str) or not isinstance(shape, list) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise self.bad(f"数组描述不完整：{str(node)[:120]}")
        name = key + ".npy"
        info = self.member(name)
        # 先只读数组头，核对它声称的数据量不超过成员里实际有的字节：伪造的巨大形状不会触发一次巨大的内存分配
        with self.zf.open(info) as f:
            try:
                shape_h, _, dtype_h = _read_npy_header(f)
            except ValueError as e:
                raise self.bad(f"成员 {name} 不是有效的 .npy 数组（{str(e)[:120]}）") from None
            if dtype_h.hasobject:
                raise self.bad(f"成员 {name} 是需要 pickle 的对象数组，出于安全拒绝读取")
            need, have = math.prod(shape_h) * dtype_h.itemsize, info.file_size - f.tell()
            if need > have:
                raise self.bad(f"成员 {name} 的数组头声称有 {need} 字节数据（形状 {tuple(shape_h)}），"
                               f"成员里只有 {have} 字节")
        if dtype_h.str != dtype or list(shape_h) != shape:
            raise self.bad(f"成员 {name} 的 dtype / 形状是 {dtype_h.str} {tuple(shape_h)}，"
                           f"与结构里记录的 {dtype} {tuple(shape)} 不符")
        with self.zf.open(info) as f:
            try:
                arr = npformat.read_array(f, allow_pickle=False)
            except ValueError as e:
                raise self.bad(f"成员 {name} 不是有效的 .npy 数组（{str(e)[:120]}）") from None
            # 读到成员末尾：zipfile 只在读完整个成员时核对 CRC-32。只读到数组末尾的话，数组头里的长度字段
            # 被改小时，数组会错开几个字节读出来，而校验和永远不被核对
            extra = 0
            while chunk := f.read(1 << 20):
                extra += len(chunk)
        if extra:
            raise self.bad(f"成员 {name} 在数组数据之后还有 {extra} 个多余的字节")
        if arr.dtype.str != dtype or list(arr.shape) != shape:
            raise self.bad(f"成员 {name} 的 dtype / 形状是 {arr.dtype.str} {arr.shape}，"
                           f"与结构里记录的 {dtype} {tuple(shape)} 不符")
        return arr

    def device_for(self, saved):
        dev = self.map_location or saved
        try:
            dev = backend.normalize_device(dev)
        except (ValueError, TypeError):
            raise self.bad(f"未知设备 {str(saved)[:40]!r}") from None
        if dev == "cuda" and not backend.cuda_is_available():
            raise _CudaUnavailable(
                f"检查点 {self.path} 里有保存在 'cuda' 上的张量，但这台机器上 CUDA 不可用 (CUDA not available)。"
                "提示：tg.load(path, map_location='cpu')。")
        return dev

    def decode(self, node, depth=0):
        if depth > MAX_DEPTH:
            raise self.bad(f"结构嵌套超过 {MAX_DEPTH} 层")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or "__type__" not in node:
            raise self.bad(f"无法识别的结构节点 {str(node)[:80]}")
        kind = node["__type__"]
        if kind in ("list", "tuple", "dict"):
            items = node.get("items")
            if not isinstance(items, list):
                raise self.bad(f"{kind} 节点缺少 items")
            if kind == "dict":
                out = {}
                for pair in items:
                    if not isinstance(pair, list) or len(pair) != 2:
                        raise self.bad("字典条目应是 [键, 值]")
                    k, v = self.decode(pair[0], depth + 1), self.decode(pair[1], depth + 1)
                    try:
                        out[k] = v
                    except TypeError:
                        raise self.bad(f"字典的键 {str(k)[:40]} 不可哈希") from None
                return out
            seq = [self.decode(v, depth + 1) for v in items]
            return tuple(seq) if kind == "tuple" else seq
        if kind == "float":
            value = node.get("value")
            if value not in ("nan", "inf", "-inf"):
                raise self.bad(f"特殊浮点数的值应是 nan / inf / -inf，得到 {str(value)[:40]!r}")
            return float(value)
        if kind not in ("ndarray", "tensor", "scalar"):
            raise self.bad(f"未知的节点类型 {str(kind)[:40]!r}")
        key = node.get("key")
        if isinstance(key, str) and key in self.memo:
            return self.memo[key]
        arr = self.read_array(node)
        if kind == "scalar":
            obj = arr[()]
        else:
            dev = self.device_for(node.get("device", "cpu"))
            data = backend.to_device(arr, dev)
            obj = data
            if kind == "tensor":
                obj = Tensor(data)
                if node.get("requires_grad") is True and obj.dtype.kind == "f":
                    obj.requires_grad_(True)
        self.memo[key] = obj
        return obj


def load(path, map_location=None):
    """读取 ``tg.save`` 写的检查点。

    参数:
        path: 文件路径。
        map_location: None（默认）：张量回到保存时的设备，NumPy 数组仍是 NumPy 数组；
            ``"cpu"`` / ``"cuda"``：所有张量与数组都放到这个设备上（在 GPU 上训练、在笔记本上采样时用 "cpu"）。

    返回:
        与保存时结构相同的对象（见模块说明）。

    异常:
        ``FileNotFoundError``：文件不存在；``CheckpointError``（``ValueError`` 的子类）：文件损坏、被截断、
        含 pickle、不是 ``tg.save`` 写的、是目录或设备，或版本太新——信息里有路径和具体原因。
        对任何内容损坏的文件都只会是 ``CheckpointError``（不会是 MemoryError、RecursionError 之类）。
        打不开文件（没有权限）时是 ``OSError``。

    例::

        >>> ckpt = tg.load("ckpt.npz", map_location="cpu")
    """
    path = os.fspath(path)
    if map_location is not None:
        map_location = backend.normalize_device(map_location)
    if not os.path.exists(path):
        raise FileNotFoundError(f"找不到检查点文件 (file not found)：{path}")
    if os.path.isdir(path):
        raise CheckpointError(f"{path} 是一个目录，不是检查点文件。提示：检查点是目录里的 ckpt.npz。")
    if not os.path.isfile(path):
        raise CheckpointError(f"{path} 不是普通文件 (regular file)（是设备或管道），不能当检查点读。")
    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        head = f.read(4)
        if head[:2] != b"PK":
            raise CheckpointError(
                f"{path} 不是 tg.save 写的检查点：它不是 .npz（zip）文件，文件开头是 {head!r}。"
                "可能损坏、被截断，或者是别的格式（例如 PyTorch 的 pickle 文件）。")
        f.seek(0)
        try:
            return _load_zip(f, path, map_location, file_size)
        except (CheckpointError, _CudaUnavailable):
            raise
        except RecursionError:
            raise CheckpointError(f"检查点 {path} 已损坏 (corrupt checkpoint)：结构嵌套太深。") from None
        except MemoryError:
            raise CheckpointError(f"检查点 {path} 已损坏或太大：读取时内存不足 (MemoryError)。") from None
        except Exception as e:  # noqa: BLE001  损坏的 zip 会让 zipfile 抛出各种异常：统一成 CheckpointError
            raise CheckpointError(f"检查点 {path} 已损坏或被截断 (corrupt or truncated)：{_explain(e)}。"
                                  "提示：若是训练中途保存的，换用上一个检查点。") from None


def _load_zip(f, path, map_location, file_size):
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise CheckpointError(f"检查点 {path} 已损坏或被截断 (corrupt or truncated)：无法读取 zip 目录（{_explain(e)}）。"
                              "提示：若是训练中途保存的，换用上一个检查点。") from None
    with zf:
        if _STRUCTURE not in zf.NameToInfo:
            members = zf.namelist()[:8]
            raise CheckpointError(
                f"{path} 是 .npz / zip 文件，但不是 tg.save 写的检查点（缺少 {_STRUCTURE}；成员有 {members}）。"
                "提示：普通 .npz 请用 np.load(path, allow_pickle=False) 打开。")
        decoder = _Decoder(zf, path, map_location, file_size)
        info = decoder.member(_STRUCTURE, "结构成员")
        try:
            raw = zf.read(info)
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as e:
            raise CheckpointError(f"检查点 {path} 已损坏或被截断：读取 {_STRUCTURE} 失败（{_explain(e)}）。") from None
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CheckpointError(f"检查点 {path} 已损坏：{_STRUCTURE} 不是有效的 UTF-8 JSON（{e}）。") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            got = header.get("format") if isinstance(header, dict) else type(header).__name__
            raise CheckpointError(f"{path} 不是 tg.save 写的检查点：format 应为 {FORMAT!r}，得到 {str(got)[:60]!r}。")
        version = header.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise CheckpointError(f"检查点 {path} 已损坏：格式版本 (version) 无效：{str(version)[:40]!r}。")
        if version > VERSION:
            raise CheckpointError(f"检查点 {path} 由更新版本的 tinygrad_zh 写入（格式版本 {version}），"
                                  f"本程序只认版本 ≤ {VERSION}。提示：升级 tinygrad_zh。")
        if "root" not in header:
            raise CheckpointError(f"检查点 {path} 已损坏：结构里缺少 root。")
        return decoder.decode(header["root"])
