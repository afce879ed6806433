"""数据并行的速度：同一个有效批量，1 个进程 vs N 个进程（mpiexec）的 tokens/s 与扩展效率（手动运行，不是测试）。

模型与 ``tinygrad-zh train`` 不带参数时相同（4 层、4 头、128 维、上下文 64、词表 4 689、float32），
**全局**批量 32：N 个进程时每个进程 32/N 个序列。一步 = 前向 + 反向（DDP 按桶平均梯度）+ 裁剪 + AdamW。

每种设置在自己的 ``mpiexec -n N`` 作业里跑（BLAS 线程数在进程导入 NumPy 之前设好），报告：
- tokens/s：全局批量的词元数 × 步数 / 用时（所有进程在计时前后各过一次 barrier）；
- 通信：每步花在 all-reduce 上的时间（0 号进程量的，含等别的进程赶上来的时间）；
- 扩展效率 (scaling efficiency) = N 个进程的 tokens/s ÷（N × 1 个进程、同样线程数的 tokens/s）。

用法：
    python benchmarks/bench_distributed.py [--nproc 1 2] [--threads 1] [--steps 5] [--warmup 2]
                                           [--device cpu|cuda] [--json FILE]

CPU 上默认每个进程 1 个 BLAS 线程（``--threads 1``）：这样 1 个进程与 2 个进程用的核数之比正好是 1 : 2；
另外加一行“1 个进程、N 个线程”，看同样多的核用在一个进程的多线程 BLAS 上时有多快。
``--device cuda`` 用 NCCL 后端，一个进程一块 GPU（``--nproc`` 不能超过 GPU 数）。
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                  "NUMEXPR_NUM_THREADS")
GLOBAL_BATCH, BLOCK, VOCAB = 32, 64, 4689


def worker(args):
    """mpiexec 启动的每个进程：建模型、包 DDP、计时。0 号进程把结果写进 args.out。"""
    import numpy as np

    import tinygrad_zh as tg
    import tinygrad_zh.distributed as dist
    from tinygrad_zh import nn
    from tinygrad_zh.models.gpt import GPT, GPTConfig

    dist.init_process_group("nccl" if args.device == "cuda" else "mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    group = dist.process_group.default_group()
    comm_seconds = [0.0]
    reduce = group.all_reduce_

    def timed_reduce(array, op="sum"):   # 量 all-reduce 的时间（GPU 上先同步，量到的才是通信本身）
        if args.device == "cuda":
            tg.cuda.synchronize()
        t0 = time.perf_counter()
        reduce(array, op)
        if args.device == "cuda":
            tg.cuda.synchronize()
        comm_seconds[0] += time.perf_counter() - t0

    group.all_reduce_ = timed_reduce
    tg.manual_seed(0)
    config = GPTConfig(vocab_size=VOCAB, block_size=BLOCK, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
    model = dist.DistributedDataParallel(GPT(config).to(args.device))
    optimizer = model.module.configure_optimizers(weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.99))
    if GLOBAL_BATCH % world:
        raise SystemExit(f"全局批量 {GLOBAL_BATCH} 不能被进程数 {world} 整除")
    per = GLOBAL_BATCH // world
    rng = np.random.default_rng(rank)
    x = tg.tensor(rng.integers(0, VOCAB, (per, BLOCK)), device=args.device)
    y = tg.tensor(rng.integers(0, VOCAB, (per, BLOCK)), device=args.device)

    def step():
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    for _ in range(args.warmup):
        step()
    dist.barrier()
    comm_seconds[0] = 0.0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    if args.device == "cuda":
        tg.cuda.synchronize()
    dist.barrier()
    seconds = time.perf_counter() - t0
    if rank == 0:
        result = {"nproc": world, "threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0),
                  "device": args.device, "step_s": seconds / args.steps,
                  "tokens_per_s": GLOBAL_BATCH * BLOCK * args.steps / seconds,
                  "comm_s_per_step": comm_seconds[0] / args.steps,
                  "buckets": len(model.reducer.buckets),
                  "grad_mib": sum(p.numel() for p in model.parameters()) * 4 / 2 ** 20}
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f)


def run(nproc, threads, args):
    """在一个 mpiexec 作业里跑 nproc 个进程、每个 threads 个 BLAS 线程，返回 0 号进程的结果。"""
    import tinygrad_zh.distributed as dist

    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.update({name: str(threads) for name in BLAS_VARIABLES})
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        cmd = dist.mpiexec_command(nproc, [os.path.abspath(__file__), "--worker", "--out", out,
                                           "--steps", str(args.steps), "--warmup", str(args.warmup),
                                           "--device", args.device])
        subprocess.run(cmd, env=env, check=True, timeout=3600)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads", type=int, default=1, help="每个进程的 BLAS 线程数（CPU）")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--json", help="把结果写进这个 JSON 文件")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    rows = [run(n, args.threads, args) for n in args.nproc]
    most = max(args.nproc)
    if args.device == "cpu" and most > 1:   # 同样多的核给一个进程的多线程 BLAS
        rows.append(run(1, most * args.threads, args))
    base = next((r for r in rows if r["nproc"] == 1 and r["threads"] == args.threads), rows[0])
    print(f"GPT（4 层、128 维、上下文 {BLOCK}、词表 {VOCAB}），全局批量 {GLOBAL_BATCH}，设备 {args.device}，"
          f"{os.cpu_count()} 个 CPU 核；梯度 {base['grad_mib']:.1f} MiB，{base['buckets']} 个桶")
    print(f"{'进程数':>6} {'BLAS线程':>8} {'每步(s)':>9} {'tokens/s':>10} {'all-reduce(s/步)':>16} {'扩展效率':>8}")
    for r in rows:
        eff = r["tokens_per_s"] / (r["nproc"] * r["threads"] / base["threads"] * base["tokens_per_s"])
        r["scaling_efficiency"] = eff
        print(f"{r['nproc']:>6} {r['threads']:>8} {r['step_s']:>9.3f} {r['tokens_per_s']:>10.0f} "
              f"{r['comm_s_per_step']:>16.4f} {eff:>8.0%}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
