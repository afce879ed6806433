"""数据并行：进程组、DistributedDataParallel、DistributedSampler、mpiexec 启动。

两类测试：
- 本进程里：采样器、桶、启动命令、信号，以及只有一个进程的组（``SoloGroup``）上的 DDP 与 NCCL 后端的调用
  （NCCL 通信器换成记录调用的替身：这台机器没有 GPU 时，能证明的就是我们按 CuPy 文档的方式调用它）；
- 真的 2 个 MPI 进程：``mpiexec -n 2 python tests/test_distributed.py <情形>``——本文件同时是那两个进程运行的
  脚本，每个进程把结果写进一个 JSON 文件。没装 mpi4py 或找不到 mpiexec 时跳过并说明（``pip install -e ".[dist]"``）。
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.distributed as dist
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import backend, optim
from tinygrad_zh.data import DataLoader, DistributedSampler, TensorDataset
from tinygrad_zh.distributed.backends import DistributedError, NCCLBackend
from tinygrad_zh.distributed.ddp import _buckets
from tinygrad_zh.models.gpt import GPT, GPTConfig
from tinygrad_zh.testing import strict  # noqa: F401  注册替身设备 "strict"

HERE = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(HERE))


def mpi_missing():
    """跑不了 2 个 MPI 进程的原因；能跑时为 None。"""
    if importlib.util.find_spec("mpi4py") is None:
        return "没有安装 mpi4py（数据并行的 extras：pip install -e \".[dist]\"），跳过 2 个 MPI 进程的测试"
    try:
        dist.find_mpiexec()
    except DistributedError:
        return "找不到 mpiexec（MPI 运行时：pip install -e \".[dist]\" 会装上 mpich），跳过 2 个 MPI 进程的测试"
    return None


needs_mpi = pytest.mark.skipif(mpi_missing() is not None, reason=mpi_missing() or "")


def run_ranks(case, tmp_path, nproc=2, timeout=240):
    """``mpiexec -n nproc python 本文件 case 目录``：每个进程把结果写进 目录/rank{r}.json，按 rank 返回。"""
    env = dist.launch_env(nproc, {**os.environ, "PYTHONPATH": ROOT})
    done = subprocess.run(dist.mpiexec_command(nproc, [HERE, case, str(tmp_path)]), capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [json.loads((tmp_path / f"rank{r}.json").read_text(encoding="utf-8")) for r in range(nproc)]


# ---------------------------------------------------------------------------- 本进程里的替身

class SoloGroup:
    """只有一个进程的组：所有集合通信都是恒等（记下调用次数）。"""

    name, rank, world_size = "solo", 0, 1

    def __init__(self):
        self.calls = []

    def all_reduce_(self, array, op="sum"):
        self.calls.append(("all_reduce", op, array.size))
        return array

    def broadcast_(self, array, src=0):
        self.calls.append(("broadcast", src, array.size))
        return array

    def barrier(self):
        self.calls.append(("barrier",))

    def host_max(self, value):
        return value


class FakeNCCLCommunicator:
    """``cupyx.distributed.NCCLBackend`` 的替身：接口与它相同（all_reduce(in, out, op) / broadcast(array, root) /
    barrier()），记下每次调用，数据交给 ``group``（MPI 或 SoloGroup）在主机上归约。"""

    def __init__(self, group):
        self.group, self.calls = group, []

    def _record(self, what, array, **extra):
        self.calls.append({"what": what, "device": backend.device_of(array), "dtype": str(array.dtype),
                           "contiguous": bool(array.flags.c_contiguous), "size": int(array.size), **extra})

    def all_reduce(self, in_array, out_array, op="sum", stream=None):
        assert op in ("sum", "prod", "max", "min")   # cupyx 认识的名字
        self._record("all_reduce", in_array, in_place=in_array is out_array, op=op)
        host = backend.to_numpy(in_array).copy()
        self.group.all_reduce_(host, op)
        out_array[...] = backend.to_device(host, backend.device_of(out_array))

    def broadcast(self, in_out_array, root=0, stream=None):
        self._record("broadcast", in_out_array, root=root)
        host = backend.to_numpy(in_out_array).copy()
        self.group.broadcast_(host, root)
        in_out_array[...] = backend.to_device(host, backend.device_of(in_out_array))

    def barrier(self):
        self.calls.append({"what": "barrier"})


def tiny_gpt(seed, dtype="float64"):
    tg.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.0))
    return model.double() if dtype == "float64" else model


def gpt_batch(n=4, T=8, V=13, seed=5):
    rng = np.random.default_rng(seed)
    return tg.tensor(rng.integers(0, V, (n, T))), tg.tensor(rng.integers(0, V, (n, T)))


# ---------------------------------------------------------------------------- 本进程里的测试

def test_distributed_sampler_splits_without_overlap():
    ds = TensorDataset(tg.arange(10))
    parts = [list(DistributedSampler(ds, num_replicas=3, rank=r, shuffle=True, seed=1)) for r in range(3)]
    assert all(len(p) == 4 for p in parts)                      # ⌈10/3⌉，补了 2 个
    flat = sorted(i for p in parts for i in p)
    assert set(flat) == set(range(10)) and len(flat) == 12
    dropped = [list(DistributedSampler(ds, num_replicas=3, rank=r, drop_last=True, shuffle=False)) for r in range(3)]
    assert dropped == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    s = DistributedSampler(ds, num_replicas=2, rank=1, seed=0)
    first = list(s)
    s.set_epoch(1)
    assert sorted(first + list(DistributedSampler(ds, num_replicas=2, rank=0, seed=0))) == list(range(10))
    assert list(s) != first                                      # 换一轮，换一种打乱
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(ds, num_replicas=2, rank=2)
    with pytest.raises(DistributedError, match="init_process_group"):
        DistributedSampler(ds)                                   # 没有初始化进程组时要显式给 num_replicas / rank


def test_dataloader_takes_a_sampler():
    ds = TensorDataset(tg.arange(10), tg.arange(10) * 2)
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False))
    assert len(loader) == 3
    assert [xb.tolist() for xb, _ in loader] == [[1, 3], [5, 7], [9]]
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)


def test_buckets_keep_device_dtype_and_cap():
    arrays = [(0, np.zeros(10, np.float32)), (1, np.zeros(10, np.float32)), (2, np.zeros(3, np.float64)),
              (3, np.zeros(100, np.float32)), (4, np.zeros(2, np.float32))]
    buckets = _buckets(arrays, cap_bytes=100)
    assert [(b.indices, str(b.dtype), b.numel) for b in buckets] == [
        ([0, 1], "float32", 20), ([2], "float64", 3), ([3], "float32", 100), ([4], "float32", 2)]


def test_ddp_on_one_process_is_plain_training():
    """一个进程的组：DDP 的一步与不包 DDP 的一步逐位相同；一个桶一次 all-reduce；构造时一次广播。"""
    group = SoloGroup()
    ref, model = tiny_gpt(0), dist.DistributedDataParallel(tiny_gpt(0), process_group=group, bucket_cap_mb=0.02)
    x, y = gpt_batch()
    n_buckets = len(model.reducer.buckets)
    assert n_buckets > 1 and sum(c[0] == "broadcast" for c in group.calls) >= 1
    group.calls.clear()
    for m in (ref, model):
        _, loss = m(x, y)
        loss.backward()
    assert [c[:2] for c in group.calls] == [("all_reduce", "avg")] * n_buckets
    for p, q in zip(ref.parameters(), model.module.parameters()):
        assert np.array_equal(p.grad.data, q.grad.data)
    assert list(model.state_dict()) == ["module." + k for k in ref.state_dict()]
    with tg.no_grad():   # 不求梯度时不接恒等节点，也不通信
        model(x, y)
    assert len(group.calls) == n_buckets


def test_ddp_no_sync_accumulates_then_averages_once():
    group = SoloGroup()
    ref, model = tiny_gpt(0), dist.DistributedDataParallel(tiny_gpt(0), process_group=group)
    x, y = gpt_batch(n=4)
    group.calls.clear()
    with model.no_sync():
        model(x[:2], y[:2])[1].backward()
    assert not group.calls
    model(x[2:], y[2:])[1].backward()
    assert len(group.calls) == len(model.reducer.buckets)
    ref(x[:2], y[:2])[1].backward()
    ref(x[2:], y[2:])[1].backward()
    for p, q in zip(ref.parameters(), model.module.parameters()):
        np.testing.assert_allclose(q.grad.data, p.grad.data, rtol=0, atol=1e-14)


def test_ddp_reports_parameters_without_grad():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 2)

        def forward(self, x):
            return self.a(x)   # b 从来不用：它的桶凑不齐

    model = dist.DistributedDataParallel(TwoHeads(), process_group=SoloGroup(), bucket_cap_mb=1e-5)
    model(tg.randn(4, 3)).sum().backward()
    with pytest.raises(DistributedError, match="b.weight"):
        model(tg.randn(4, 3))


def test_nccl_backend_calls_the_communicator_as_cupy_documents_it():
    """NCCL 后端在替身设备上：原地 all_reduce（输入即输出）、op 用 cupyx 的名字、AVG = 求和再除以进程数。"""
    comm = FakeNCCLCommunicator(SoloGroup())
    group = NCCLBackend(SoloGroup(), comm, device="strict")
    ref = tiny_gpt(0)
    model = dist.DistributedDataParallel(tiny_gpt(0).to("strict"), process_group=group, bucket_cap_mb=0.02)
    x, y = gpt_batch()
    ref(x, y)[1].backward()
    model(x.to("strict"), y.to("strict"))[1].backward()
    reduces = [c for c in comm.calls if c["what"] == "all_reduce"]
    assert len(reduces) == len(model.reducer.buckets)
    assert all(c["in_place"] and c["op"] == "sum" and c["device"] == "strict" and c["contiguous"] for c in reduces)
    assert any(c["what"] == "broadcast" and c["root"] == 0 for c in comm.calls)
    for p, q in zip(ref.parameters(), model.module.parameters()):
        np.testing.assert_allclose(backend.to_numpy(q.grad.data), p.grad.data, rtol=0, atol=1e-14)
    with pytest.raises(DistributedError, match="GPU"):
        group.all_reduce_(np.zeros(3))                    # CPU 数组不交给 NCCL
    with pytest.raises(DistributedError, match="连续"):
        group.all_reduce_(tg.zeros(4, 4, device="strict").data[:, ::2])


def test_collectives_check_their_arguments():
    with pytest.raises(ValueError, match="backend"):
        dist.init_process_group("gloo")
    with pytest.raises(DistributedError, match="init_process_group"):
        dist.get_rank()
    group = SoloGroup()
    with pytest.raises(TypeError, match="Tensor"):
        dist.all_reduce(np.zeros(2), group=group)
    with pytest.raises(ValueError, match="src"):
        dist.broadcast(tg.zeros(2), src=1, group=group)
    mpi_like = NCCLBackend(SoloGroup(), FakeNCCLCommunicator(SoloGroup()), device="cpu")
    with pytest.raises(ValueError, match="归约操作"):
        mpi_like.all_reduce_(np.zeros(2), "mean")
    with pytest.raises(TypeError, match="AVG"):
        mpi_like.all_reduce_(np.zeros(2, dtype=np.int64), "avg")


def test_launch_command_and_blas_threads(monkeypatch):
    cmd = dist.mpiexec_command(2, ["-m", "tinygrad_zh", "train"], mpiexec="/x/mpiexec")
    assert cmd == ["/x/mpiexec", "-n", "2", sys.executable, "-m", "tinygrad_zh", "train"]
    assert dist.blas_threads(2, cores=2) == 1 and dist.blas_threads(4, cores=16) == 4 and dist.blas_threads(3, 2) == 1
    env = dist.launch_env(2, {"MKL_NUM_THREADS": "3"})
    assert env["OPENBLAS_NUM_THREADS"] == str(dist.blas_threads(2)) and env["MKL_NUM_THREADS"] == "3"
    with pytest.raises(ValueError, match="nproc"):
        dist.mpiexec_command(0, [], mpiexec="x")
    monkeypatch.setenv("PMI_SIZE", "2")
    assert dist.launched_world_size() == 2
    with pytest.raises(DistributedError, match="mpiexec"):
        dist.launch(2, ["-c", "pass"])


def test_stop_request_records_signals_instead_of_raising():
    group = SoloGroup()
    with dist.StopRequest() as stop:
        assert stop.agreed(group) == 0
        os.kill(os.getpid(), signal.SIGINT)          # 不抛出 KeyboardInterrupt：只记下来
        assert stop.agreed(group) == dist.launcher.STOP_SIGINT
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.agreed(group) == dist.launcher.STOP_SIGTERM
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ---------------------------------------------------------------------------- 2 个 MPI 进程

@needs_mpi
def test_collectives_with_two_mpi_ranks(tmp_path):
    r0, r1 = run_ranks("collectives", tmp_path)
    for r in (r0, r1):
        assert r["world"] == 2 and r["backend"] == "mpi"
        assert r["sum"] == [3.0, 30.0] and r["avg"] == [1.5, 15.0] and r["max"] == [2.0]
        assert r["broadcast"] == [1.0, 1.0, 1.0] and r["strict_sum"] == [3.0, 30.0]
        assert r["mismatch_error"] and "模型结构不同" in r["mismatch_error"]
    assert r0["sampler"] == [0, 2, 4, 6] and r1["sampler"] == [1, 3, 5, 7]


@needs_mpi
def test_one_data_parallel_step_equals_one_step_on_the_whole_batch(tmp_path):
    """float64：2 个进程各算半个批量、平均梯度、AdamW 更新 = 单进程在拼起来的整个批量上的一步（到舍入误差）。"""
    r0, r1 = run_ranks("ddp_step", tmp_path)
    for r in (r0, r1):
        assert r["buckets"] > 1 and r["all_reduce_calls"] == 3 * r["buckets"]
        assert r["grad_diff"] < 1e-13 and r["param_diff"] < 1e-13          # 3 步之后
        assert r["accumulate_diff"] < 1e-13                                # no_sync 的梯度累积
        assert r["loss_diff"] < 1e-13
    assert r0["param_checksum"] == r1["param_checksum"]                    # 两份模型逐位相同
    assert r1["init_differed"]                                             # 1 号进程的初值本来不同：被广播覆盖


@needs_mpi
def test_nccl_backend_with_two_ranks_on_the_strict_device(tmp_path):
    """NCCL 后端（通信器是记录调用、经 MPI 传数据的替身）+ 替身设备：结果与 CPU 上的 MPI 后端相同。"""
    r0, r1 = run_ranks("nccl_fake", tmp_path)
    for r in (r0, r1):
        assert r["grad_diff"] < 1e-13 and r["calls_ok"] and r["all_reduce_calls"] == r["buckets"]


def tiny_config(tmp_path, out_dir, **changes):
    from tiny_run import write_corpus
    from tinygrad_zh.training import TrainConfig
    fields = dict(data=write_corpus(tmp_path), out_dir=str(out_dir), n_layer=1, n_head=2, n_embd=32, block_size=16,
                  batch_size=8, max_steps=20, warmup_steps=2, learning_rate=0.01, eval_interval=10, eval_batches=2,
                  device="cpu")
    fields.update(changes)
    return TrainConfig(**fields)


def half_run(config, at=10):
    """训练到第 at 步时“按 Ctrl-C”（每个进程的回调都在这一步抛出）：检查点停在第 at 步。"""
    from tinygrad_zh.training import train

    def callback(step, info):
        if step == at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False, verbose=False, callback=callback)


@needs_mpi
def test_gpt_run_with_two_ranks_matches_one_process_and_resumes_with_any_n(tmp_path):
    """2 个进程训练 GPT 的损失曲线 = 1 个进程的（float32 舍入误差）；检查点只由 0 号进程写；
    2 个进程写的检查点用 1 个进程续训、1 个进程写的用 2 个进程续训，都与一口气训练的一样（到舍入误差）。"""
    from tinygrad_zh.training import train
    single = train(tiny_config(tmp_path, tmp_path / "one"), progress=False, verbose=False)
    r0, r1 = run_ranks("train", tmp_path)
    assert r0["saves"] == 2 and r1["saves"] == 0                   # 第 10、20 步各一次，只在 0 号进程
    assert r0["history"] == r1["history"]                           # 两个进程返回同样的记录
    assert np.abs(np.array(r0["history"]["loss"]) - single.history["loss"]).max() < 1e-5
    assert np.abs(np.array(r0["history"]["val_loss"]) - single.history["val_loss"]).max() < 1e-5
    # 2 个进程的第 10 步检查点 → 1 个进程续训到 20
    resumed = train(tiny_config(tmp_path, tmp_path / "half2"), resume=True, progress=False, verbose=False)
    assert np.abs(np.array(resumed.history["loss"]) - single.history["loss"]).max() < 1e-5
    # 1 个进程的第 10 步检查点 → 2 个进程续训到 20
    half_run(tiny_config(tmp_path, tmp_path / "half1"))
    r0, _ = run_ranks("resume", tmp_path)
    assert np.abs(np.array(r0["history"]["loss"]) - single.history["loss"]).max() < 1e-5


@needs_mpi
def test_sigterm_on_one_rank_stops_all_ranks_and_saves_once(tmp_path):
    """1 号进程在第 5 步后收到 SIGTERM：两个进程在第 6 步开始前一起停，0 号进程写第 5 步的检查点，可以续训。"""
    from tinygrad_zh.training import train
    r0, r1 = run_ranks("interrupt", tmp_path)
    assert r0["stopped"] == r1["stopped"] == "TrainingTerminated"
    assert r0["saves"] == 1 and r1["saves"] == 0
    resumed = train(tiny_config(tmp_path, tmp_path / "stopped"), resume=True, progress=False, verbose=False)
    single = train(tiny_config(tmp_path, tmp_path / "one"), progress=False, verbose=False)
    assert resumed.step == 20 and np.abs(np.array(resumed.history["loss"]) - single.history["loss"]).max() < 1e-5


@needs_mpi
def test_cli_train_nproc_2(tmp_path):
    """``tinygrad-zh train --nproc 2`` 用 mpiexec 重新启动自己：只有 0 号进程打印，结果与 1 个进程相同。"""
    from tiny_run import tiny_args, write_corpus
    from tinygrad_zh.serialization import load
    corpus = write_corpus(tmp_path)
    env = {**os.environ, "PYTHONPATH": ROOT, "OPENBLAS_NUM_THREADS": "1"}
    outs = {}
    for n in (1, 2):
        done = subprocess.run([sys.executable, "-m", "tinygrad_zh", *tiny_args(corpus, tmp_path / f"n{n}"),
                               "--nproc", str(n)], capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        outs[n] = done.stdout
    assert "数据并行" in outs[2] and outs[2].count("训练配置：") == 1 and outs[2].count("完成：") == 1
    a, b = load(str(tmp_path / "n1" / "ckpt.npz")), load(str(tmp_path / "n2" / "ckpt.npz"))
    assert np.abs(np.array(a["history"]["loss"]) - np.array(b["history"]["loss"])).max() < 1e-5
    assert sorted(os.listdir(tmp_path / "n2")) == ["ckpt.npz", "loss.png"]   # 没有留下锁与临时文件


# ---------------------------------------------------------------------------- 2 个进程里运行的部分

def _worker_collectives(rank, world):
    out = {"backend": dist.get_backend()}
    t = tg.tensor([1.0 + rank, 10.0 * (1 + rank)], dtype=tg.float64)
    out["sum"] = dist.all_reduce(t.clone()).tolist()
    out["avg"] = dist.all_reduce(t.clone(), op=dist.ReduceOp.AVG).tolist()
    out["max"] = dist.all_reduce(tg.tensor([1.0 + rank]), op=dist.ReduceOp.MAX).tolist()
    out["broadcast"] = dist.broadcast(tg.full((3,), float(rank)), src=1).tolist()
    out["strict_sum"] = dist.all_reduce(t.to("strict")).cpu().tolist()   # 别的设备：经主机中转
    dist.barrier()
    out["sampler"] = list(DistributedSampler(TensorDataset(tg.arange(8)), shuffle=False))
    wrong = nn.Linear(3, 2) if rank == 0 else nn.Linear(3, 4)
    try:
        dist.DistributedDataParallel(wrong)
        out["mismatch_error"] = None
    except DistributedError as e:
        out["mismatch_error"] = str(e)
    return out


def _ddp_steps(model, ref, x, y, rank, world, steps=3):
    """DDP 的 model 在本进程那一份数据上、ref 在整个批量上，各做 steps 步 AdamW（带梯度裁剪）。"""
    per = x.shape[0] // world
    mine = slice(rank * per, (rank + 1) * per)
    opt = optim.AdamW(model.parameters(), lr=1e-2)
    opt_ref = optim.AdamW(ref.parameters(), lr=1e-2)
    grad_diff = loss_diff = 0.0
    for _ in range(steps):
        for m, o, xb, yb in ((model, opt, x[mine], y[mine]), (ref, opt_ref, x, y)):
            o.zero_grad()
            _, loss = m(xb, yb)
            loss.backward()
            if m is model:
                mean_loss = dist.all_reduce(loss.detach().clone(), op=dist.ReduceOp.AVG).item()
            else:
                loss_diff = max(loss_diff, abs(mean_loss - loss.item()))
            nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        grad_diff = max(grad_diff, max(float(np.abs(backend.to_numpy(p.grad.data) - q.grad.data).max())
                                       for p, q in zip(model.parameters(), ref.parameters())))
        opt.step()
        opt_ref.step()
    param_diff = max(float(np.abs(backend.to_numpy(p.data) - q.data).max())
                     for p, q in zip(model.parameters(), ref.parameters()))
    return grad_diff, param_diff, loss_diff


def _worker_ddp_step(rank, world):
    x, y = gpt_batch(n=4)
    before = tiny_gpt(0 if rank == 0 else 99)
    init_differed = any(not np.array_equal(p.data, q.data) for p, q in zip(before.parameters(), tiny_gpt(0).parameters()))
    model = dist.DistributedDataParallel(before, bucket_cap_mb=0.02)
    grad_diff, param_diff, loss_diff = _ddp_steps(model, tiny_gpt(0), x, y, rank, world)
    # 梯度累积：no_sync 里先算一半，再同步地算另一半 = 整批（两半都按 2 个进程再分）
    acc, ref = dist.DistributedDataParallel(tiny_gpt(1)), tiny_gpt(1)
    per = 1
    with acc.no_sync():
        acc(x[rank * per:(rank + 1) * per], y[rank * per:(rank + 1) * per])[1].backward()
    acc(x[2 + rank * per:2 + (rank + 1) * per], y[2 + rank * per:2 + (rank + 1) * per])[1].backward()
    ref(x[:2], y[:2])[1].backward()
    ref(x[2:], y[2:])[1].backward()
    accumulate_diff = max(float(np.abs(p.grad.data - q.grad.data).max())   # 两次 backward 的和
                          for p, q in zip(acc.parameters(), ref.parameters()))
    checksum = float(sum(float(np.abs(p.data).sum()) for p in model.parameters()))
    return {"buckets": len(model.reducer.buckets), "all_reduce_calls": model.reducer.all_reduce_calls,
            "grad_diff": grad_diff, "param_diff": param_diff, "loss_diff": loss_diff,
            "accumulate_diff": accumulate_diff, "param_checksum": checksum, "init_differed": init_differed}


def _worker_nccl_fake(rank, world):
    mpi = dist.MPIBackend()
    comm = FakeNCCLCommunicator(mpi)
    group = NCCLBackend(mpi, comm, device="strict")
    model = dist.DistributedDataParallel(tiny_gpt(0).to("strict"), process_group=group, bucket_cap_mb=0.02)
    ref = tiny_gpt(0)
    x, y = gpt_batch(n=4)
    per = 2
    model(x[rank * per:(rank + 1) * per].to("strict"), y[rank * per:(rank + 1) * per].to("strict"))[1].backward()
    ref(x, y)[1].backward()
    grad_diff = max(float(np.abs(backend.to_numpy(p.grad.data) - q.grad.data).max())
                    for p, q in zip(model.module.parameters(), ref.parameters()))
    reduces = [c for c in comm.calls if c["what"] == "all_reduce"]
    calls_ok = all(c["in_place"] and c["op"] == "sum" and c["device"] == "strict" and c["contiguous"] for c in reduces)
    return {"grad_diff": grad_diff, "calls_ok": calls_ok, "all_reduce_calls": len(reduces),
            "buckets": len(model.reducer.buckets)}


def _counting_saves():
    """把 training 模块写检查点用的 save 换成会数次数的版本，返回计数的列表。"""
    from tinygrad_zh import training
    calls, real = [], training.save

    def counted(obj, path):
        calls.append(path)
        return real(obj, path)

    training.save = counted
    return calls


def _worker_train(rank, world, out="two", **changes):
    from tinygrad_zh.training import train
    calls = _counting_saves()
    tmp = __import__("pathlib").Path(sys.argv[2])
    result = train(tiny_config(tmp, tmp / out, **changes), progress=False, verbose=False)
    saves = len(calls)
    half_run(tiny_config(tmp, tmp / "half2"))   # 第 10 步停下，给 1 个进程续训用
    return {"saves": saves, "history": result.history}


def _worker_resume(rank, world):
    from tinygrad_zh.training import train
    tmp = __import__("pathlib").Path(sys.argv[2])
    result = train(tiny_config(tmp, tmp / "half1"), resume=True, progress=False, verbose=False)
    return {"history": result.history}


def _worker_interrupt(rank, world):
    from tinygrad_zh.training import TrainingTerminated, train
    calls = _counting_saves()
    tmp = __import__("pathlib").Path(sys.argv[2])

    def callback(step, info):
        if step == 5 and rank == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    try:
        train(tiny_config(tmp, tmp / "stopped"), progress=False, verbose=False, callback=callback)
        stopped = None
    except TrainingTerminated:
        stopped = "TrainingTerminated"
    return {"stopped": stopped, "saves": len(calls)}


if __name__ == "__main__":   # mpiexec -n 2 python tests/test_distributed.py <情形> <结果目录>
    sys.path.insert(0, os.path.dirname(HERE))   # tiny_run
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    case = {"collectives": _worker_collectives, "ddp_step": _worker_ddp_step, "nccl_fake": _worker_nccl_fake,
            "train": _worker_train, "resume": _worker_resume, "interrupt": _worker_interrupt}
    with dist.abort_on_error(dist.process_group.default_group()):
        result = case[sys.argv[1]](rank, world)
    with open(os.path.join(sys.argv[2], f"rank{rank}.json"), "w", encoding="utf-8") as f:
        json.dump({"rank": rank, "world": world, **result}, f)
