"""默认 GPT 的一个训练步：框架 vs 同一个模型的手写 NumPy 版本（vs PyTorch），每步耗时、tokens/s 与峰值内存（手动运行，不是测试）。

模型与 ``tinygrad-zh train`` 不带参数时相同：n_layer 4、n_head 4、n_embd 128、block_size 64、批量 32、
词表 4 689（人民日报字符词表的大小；计时用随机词元即可）、dropout 0、有偏置、全程 float32。
一步 = 前向 + 反向 + clip_grad_norm(1.0) + AdamW(lr 1e-3, betas (0.9, 0.99), 只对二维权重 weight_decay 0.1)。

三列：
- 框架：``tinygrad_zh.models.gpt.GPT`` + ``model.configure_optimizers`` + ``nn.utils.clip_grad_norm_``；
- 手写 NumPy：``gpt_numpy.HandGPT``，没有自动微分，反向全部手推（精确 erf GELU、融合的 softmax 交叉熵、
  批量矩阵乘法的注意力、原地 AdamW），从框架模型复制同一组权重；
- PyTorch（装了 torch 时）：同样的权重、同样的一步（注意力用 ``F.scaled_dot_product_attention``，
  即 nanoGPT 的写法），``torch.set_num_threads`` 设成与 BLAS 相同的线程数。

计时前先核对三列第一步的损失一致；``--check`` 则在 float64 下核对框架与手写版本的损失、全部梯度
和完整一步之后的参数（torch 在时也一起核对），不计时。
峰值内存：每列在一个子进程里单独跑几步，报告常驻内存 (RSS) 的最高点比建模型之前多出的部分
（Linux 的 /proc/self/status 里的 VmHWM）；NumPy 的数组内存也会登记到 tracemalloc，所以两个 NumPy 列
另外报告一步之内临时数组的峰值（tracemalloc，只统计这一步新分配的）。GPU 上报告显存峰值。

用法：
    python benchmarks/bench_gpt.py [--steps 2] [--repeat 3] [--device cpu|cuda] [--clock wall|cpu]
                                   [--check] [--profile] [--no-torch] [--no-memory]
                                   [--preset gpu] [--tf32] [--json FILE]

``--preset gpu`` 换成第 18 课的 GPU 配置（GPU 上比较框架、手写 CuPy 与 PyTorch CUDA eager 的 tokens/s）；
``--tf32`` 让两边的 float32 矩阵乘法都用 TF32（默认都不用，与 PyTorch 的默认相同）。

机器上同时有别的程序在跑时，OpenBLAS 的多线程会互相空等；比较时用
``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_gpt.py``（torch 也会被设成 1 个线程）；
别人的程序占着 CPU 时再加 ``--clock cpu``（量进程的 CPU 时间而不是墙钟时间）。
``--profile`` 列出框架一步里每个 Function 的前向、反向耗时，找慢在哪里。
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

import tinygrad_zh as tg
from bench_common import best_times, blas_info
from gpt_numpy import HandGPT
from tinygrad_zh import backend
from tinygrad_zh.models.gpt import GPT, GPTConfig
from tinygrad_zh.nn.utils import clip_grad_norm_

LR, BETAS, WEIGHT_DECAY, MAX_NORM = 1e-3, (0.9, 0.99), 0.1, 1.0
COLUMNS = ("framework", "hand", "torch")
TITLES = {"framework": "框架 tinygrad_zh", "hand": "手写 NumPy", "torch": "PyTorch"}


def blas_threads() -> int:
    """NumPy 的 BLAS 实际用的线程数（threadpoolctl 读不到时看环境变量，再退回 CPU 核数）。"""
    try:
        from threadpoolctl import threadpool_info
        counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if counts:
            return int(counts[0])
    except ImportError:
        pass
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return os.cpu_count() or 1


def _pad(text, width, right=False):
    """按显示宽度补空格（汉字占两格），表格才能对齐。"""
    import unicodedata
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    fill = " " * max(0, width - shown)
    return fill + text if right else text + fill


def import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def make_config(args) -> GPTConfig:
    return GPTConfig(block_size=args.block_size, vocab_size=args.vocab, n_layer=args.n_layer, n_head=args.n_head,
                     n_embd=args.n_embd, dropout=0.0, bias=True)


def make_batch(cfg, batch, seed=0, ignore_some=False, seq_len=None):
    """随机词元 idx 与目标 targets，都是 (B, T) 的 int64 NumPy 数组（T 默认为 block_size）；
    ignore_some 时随机放约 1/7 的 −1（不计入损失）。"""
    rng = np.random.default_rng(seed)
    T = cfg.block_size if seq_len is None else seq_len
    idx = rng.integers(0, cfg.vocab_size, (batch, T))
    targets = rng.integers(0, cfg.vocab_size, (batch, T))
    if ignore_some:
        targets.reshape(-1)[rng.choice(targets.size, max(1, targets.size // 7), replace=False)] = -1
    return idx, targets


def gpt2_state(cfg, dtype=np.float32, seed=0):
    """不经过框架、按 GPT-2 的初始化直接生成一份 state_dict（名字 → NumPy 数组）：给内存子进程用。"""
    rng = np.random.default_rng(seed)
    C = cfg.n_embd

    def normal(*shape, std=0.02):
        return (rng.standard_normal(shape) * std).astype(dtype)

    state = {"transformer.wte.weight": normal(cfg.vocab_size, C), "transformer.wpe.weight": normal(cfg.block_size, C)}
    proj_std = 0.02 / math.sqrt(2 * cfg.n_layer)
    for i in range(cfg.n_layer):
        p = f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            state[p + ln + ".weight"], state[p + ln + ".bias"] = np.ones(C, dtype), np.zeros(C, dtype)
        state[p + "attn.c_attn.weight"], state[p + "attn.c_attn.bias"] = normal(3 * C, C), np.zeros(3 * C, dtype)
        state[p + "attn.c_proj.weight"], state[p + "attn.c_proj.bias"] = normal(C, C, std=proj_std), np.zeros(C, dtype)
        state[p + "mlp.c_fc.weight"], state[p + "mlp.c_fc.bias"] = normal(4 * C, C), np.zeros(4 * C, dtype)
        state[p + "mlp.c_proj.weight"] = normal(C, 4 * C, std=proj_std)
        state[p + "mlp.c_proj.bias"] = np.zeros(C, dtype)
    state["transformer.ln_f.weight"], state["transformer.ln_f.bias"] = np.ones(C, dtype), np.zeros(C, dtype)
    return state


def host_state(model):
    """框架模型的 state_dict → 名字 → NumPy 数组（lm_head.weight 与词嵌入是同一个数组，只留一份）。"""
    return {k: backend.to_numpy(v.data) for k, v in model.state_dict().items() if k != "lm_head.weight"}


# ---------------------------------------------------------------------- 三列各自的“一步”

class FrameworkColumn:
    def __init__(self, cfg, idx, targets, device, dtype=np.float32, seed=0):
        tg.manual_seed(seed)
        self.model = GPT(cfg)
        if dtype == np.float64:
            self.model.double()
        self.model.to(device)
        self.opt = self.model.configure_optimizers(WEIGHT_DECAY, LR, BETAS, device_type=device)
        self.idx = tg.tensor(idx, device=device)
        self.targets = tg.tensor(targets, device=device)

    def forward_backward(self):
        self.opt.zero_grad(set_to_none=True)
        _, loss = self.model(self.idx, self.targets)
        loss.backward()
        return loss

    def step(self):
        loss = self.forward_backward()
        clip_grad_norm_(self.model.parameters(), MAX_NORM)
        self.opt.step()
        return loss

    def grads(self):
        """名字 → 梯度（NumPy）；共享的 lm_head.weight 记在 transformer.wte.weight 名下。"""
        named = {}
        for name, p in self.model.named_parameters():
            name = "transformer.wte.weight" if name == "lm_head.weight" else name
            named[name] = backend.to_numpy(p.grad.data)
        return named


class HandColumn:
    def __init__(self, state, cfg, idx, targets, device):
        xp = backend.xp_for_device(device)
        self.hand = HandGPT({k: xp.asarray(v) for k, v in state.items()}, cfg.n_head, lr=LR, betas=BETAS,
                            weight_decay=WEIGHT_DECAY, max_norm=MAX_NORM)
        self.idx, self.targets = xp.asarray(idx), xp.asarray(targets)

    def step(self):
        return self.hand.step(self.idx, self.targets)


class TorchColumn:
    """同一个 GPT 的 PyTorch 函数式写法（参数放在字典里，名字与框架相同）。"""

    def __init__(self, torch, state, cfg, idx, targets, device):
        self.torch, self.cfg = torch, cfg
        self.params = {k: torch.tensor(v, device=device, requires_grad=True) for k, v in state.items()}
        decay = [p for p in self.params.values() if p.dim() >= 2]
        no_decay = [p for p in self.params.values() if p.dim() < 2]
        extra = {"fused": True} if device == "cuda" else {}  # nanoGPT 在 GPU 上用 fused AdamW
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=LR, betas=BETAS, **extra)
        self.idx = torch.tensor(idx, device=device)
        self.targets = torch.tensor(targets, device=device)

    def loss(self):
        F, P, cfg = self.torch.nn.functional, self.params, self.cfg
        B, T = self.idx.shape
        C, nh = cfg.n_embd, cfg.n_head
        x = F.embedding(self.idx, P["transformer.wte.weight"]) + P["transformer.wpe.weight"][:T]
        for i in range(cfg.n_layer):
            p = f"transformer.h.{i}."
            h = F.layer_norm(x, (C,), P[p + "ln_1.weight"], P[p + "ln_1.bias"])
            q, k, v = F.linear(h, P[p + "attn.c_attn.weight"], P[p + "attn.c_attn.bias"]).split(C, dim=2)
            q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
            x = x + F.linear(y, P[p + "attn.c_proj.weight"], P[p + "attn.c_proj.bias"])
            h = F.layer_norm(x, (C,), P[p + "ln_2.weight"], P[p + "ln_2.bias"])
            h = F.gelu(F.linear(h, P[p + "mlp.c_fc.weight"], P[p + "mlp.c_fc.bias"]))
            x = x + F.linear(h, P[p + "mlp.c_proj.weight"], P[p + "mlp.c_proj.bias"])
        x = F.layer_norm(x, (C,), P["transformer.ln_f.weight"], P["transformer.ln_f.bias"])
        logits = F.linear(x, P["transformer.wte.weight"])
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), self.targets.view(-1), ignore_index=-1)

    def forward_backward(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss()
        loss.backward()
        return loss

    def step(self):
        loss = self.forward_backward()
        self.torch.nn.utils.clip_grad_norm_(list(self.params.values()), MAX_NORM)
        self.opt.step()
        return loss


# ---------------------------------------------------------------------- 核对

def compare(cfg, batch, dtype=np.float64, seed=0, device="cpu", with_torch=True, seq_len=None):
    """同一组权重、同一批数据：框架、手写（与 torch）的损失、全部梯度、完整一步之后的参数。

    数据是随机词元，约 1/7 的目标为 −1（ignore_index）；seq_len 默认为 block_size。

    返回 dict：loss（各列的损失）、grad_err / param_err（名字 → 相对误差 max|a−b| / max|b|，b 为框架的值），
    以及 torch 在时的 torch_grad_err / torch_param_err；hand 是走完这一步的 ``HandGPT``（梯度已被裁剪）。
    """
    idx, targets = make_batch(cfg, batch, seed, ignore_some=True, seq_len=seq_len)
    fw = FrameworkColumn(cfg, idx, targets, device, dtype=dtype, seed=seed)
    state = host_state(fw.model)
    hand = HandColumn(state, cfg, idx, targets, device)
    torch = import_torch() if with_torch else None
    tcol = TorchColumn(torch, state, cfg, idx, targets, device) if torch is not None else None

    def rel(a, b):
        return float(np.abs(a - b).max() / max(np.abs(b).max(), np.finfo(b.dtype).tiny))

    out = {"loss": {}, "hand": hand.hand}
    out["loss"]["framework"] = float(fw.forward_backward().item())
    out["loss"]["hand"] = float(hand.hand.loss_and_grads(hand.idx, hand.targets).item())
    g_fw = fw.grads()
    out["grad_err"] = {k: rel(backend.to_numpy(hand.hand.grads[k]), g) for k, g in g_fw.items()}
    if tcol is not None:
        out["loss"]["torch"] = tcol.forward_backward().item()
        out["torch_grad_err"] = {k: rel(p.grad.detach().cpu().numpy(), g_fw[k]) for k, p in tcol.params.items()}
    # 完整的一步：裁剪 + AdamW（梯度已经有了，直接接着做）
    clip_grad_norm_(fw.model.parameters(), MAX_NORM)
    fw.opt.step()
    hand.hand.clip_grad_norm()
    hand.hand.adamw()
    p_fw = host_state(fw.model)
    out["param_err"] = {k: rel(backend.to_numpy(hand.hand.params[k]), p) for k, p in p_fw.items()}
    if tcol is not None:
        torch.nn.utils.clip_grad_norm_(list(tcol.params.values()), MAX_NORM)
        tcol.opt.step()
        out["torch_param_err"] = {k: rel(p.detach().cpu().numpy(), p_fw[k]) for k, p in tcol.params.items()}
    return out


def run_check(cfg, batch, device, with_torch):
    print(f"float64 核对（{device}）：同一组权重，批量 {batch}，随机约 1/7 的目标为 −1（ignore_index）")
    res = compare(cfg, batch, np.float64, device=device, with_torch=with_torch)
    print("  损失：" + "，".join(f"{TITLES[k]} {v:.12f}" for k, v in res["loss"].items()))
    worst = 0.0
    for key, title in [("grad_err", "手写 vs 框架 梯度"), ("param_err", "手写 vs 框架 一步后的参数"),
                       ("torch_grad_err", "torch vs 框架 梯度"), ("torch_param_err", "torch vs 框架 一步后的参数")]:
        if key in res:
            name, err = max(res[key].items(), key=lambda kv: kv[1])
            worst = max(worst, err)
            print(f"  {title}：最大相对误差 {err:.2e}（{name}，共 {len(res[key])} 个参数）")
    loss_err = max(abs(v - res["loss"]["framework"]) for v in res["loss"].values())
    ok = worst < 1e-9 and loss_err < 1e-12
    print("  结论：" + ("一致" if ok else "不一致！"))
    return ok


# ---------------------------------------------------------------------- 计时

def _sync(device):
    if device == "cuda":
        tg.cuda.synchronize()


def build_columns(cfg, batch, device, with_torch):
    idx, targets = make_batch(cfg, batch)
    fw = FrameworkColumn(cfg, idx, targets, device)
    state = host_state(fw.model)
    cols = {"framework": fw, "hand": HandColumn(state, cfg, idx, targets, device)}
    torch = import_torch() if with_torch else None
    if torch is not None:
        cols["torch"] = TorchColumn(torch, state, cfg, idx, targets, device)
    return cols


def best_cpu_times(fns, steps, repeat):
    """与 ``bench_common.best_times`` 相同的轮流计时，但量进程的 CPU 时间（time.process_time）。

    这台机器上同时跑着别人的程序时，墙钟时间里混进了“等 CPU”的时间；单线程时 CPU 时间基本不受影响
    （内存带宽的争用仍在）。多线程时它把各线程的时间加在一起，就不再是每步耗时了。
    """
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.process_time()
            for _ in range(steps):
                fn()
            best[i] = min(best[i], (time.process_time() - t0) / steps)
    return best


def bench_times(cfg, batch, device, steps, repeat, with_torch, clock="wall"):
    cols = build_columns(cfg, batch, device, with_torch)
    # 第一步的损失必须一致（同一组权重、同一批数据；float32 舍入以内）
    losses = {name: float(col.step().item()) for name, col in cols.items()}
    ref = losses["framework"]
    for name, value in losses.items():
        if not abs(value - ref) <= 1e-4 * abs(ref):
            raise AssertionError(f"第一步的损失不一致：{losses}")
    for p in cols["framework"].model.parameters():
        if p.dtype != np.float32 or p.grad is None or p.grad.dtype != np.float32:
            raise AssertionError(f"框架的参数或梯度不是 float32：{p.dtype}")
    for name, p in cols["hand"].hand.params.items():
        if p.dtype != np.float32 or cols["hand"].hand.grads[name].dtype != np.float32:
            raise AssertionError(f"手写版本的 {name} 不是 float32")
    names = list(cols)
    fns = [cols[n].step for n in names]
    times = best_cpu_times(fns, steps, repeat) if clock == "cpu" else best_times(fns, steps, repeat, device)
    return dict(zip(names, times)), ref


# ---------------------------------------------------------------------- 内存（每列一个子进程）

def _current_rss() -> int:
    """本进程现在的常驻内存（字节）；没有 /proc 的系统上退回到目前为止的最高点。"""
    try:
        with open("/proc/self/statm", encoding="utf-8") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return _max_rss()


def _max_rss() -> int:
    """本进程常驻内存的最高点（字节）。

    用 /proc 的 VmHWM 而不是 ru_maxrss：Linux 的 ru_maxrss 跨 exec 保留，子进程会报出父进程的峰值。
    """
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class _CupyPeak:
    """包一层 CuPy 的内存池分配函数，记下“正在使用的显存”的最高点。"""

    def __init__(self):
        import cupy
        self.cupy, self.pool = cupy, cupy.get_default_memory_pool()
        self.base = self.peak = self.pool.used_bytes()
        cupy.cuda.set_allocator(self.malloc)

    def malloc(self, size):
        mem = self.pool.malloc(size)
        self.peak = max(self.peak, self.pool.used_bytes())
        return mem


def memory_child(column, cfg, batch, device, steps=3):
    """在本进程里只建这一列、跑几步，返回 {rss_mib, step_mib, device_mib}（没有的为 None）。"""
    torch = import_torch() if column == "torch" else None
    idx, targets = make_batch(cfg, batch)
    if torch is not None:
        torch.set_num_threads(blas_threads())
    cupy_peak = _CupyPeak() if device == "cuda" and column != "torch" else None
    if device == "cuda" and torch is not None:
        torch.cuda.init()
        torch.cuda.reset_peak_memory_stats()
        torch_base = torch.cuda.memory_allocated()
    base = _current_rss() if device == "cpu" else None
    if column == "framework":
        col = FrameworkColumn(cfg, idx, targets, device)
    elif column == "hand":
        col = HandColumn(gpt2_state(cfg), cfg, idx, targets, device)
    else:
        col = TorchColumn(torch, gpt2_state(cfg), cfg, idx, targets, device)
    for _ in range(steps):
        col.step()
    _sync(device)
    out = {"rss_mib": None, "step_mib": None, "device_mib": None}
    if device == "cpu":
        out["rss_mib"] = (_max_rss() - base) / 2 ** 20
        if column != "torch":  # torch 的张量不登记到 tracemalloc
            import tracemalloc
            tracemalloc.start()
            col.step()
            out["step_mib"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
    elif torch is not None:
        out["device_mib"] = (torch.cuda.max_memory_allocated() - torch_base) / 2 ** 20
    else:
        out["device_mib"] = (cupy_peak.peak - cupy_peak.base) / 2 ** 20
    return out


def measure_memory(args, columns):
    results = {}
    for column in columns:
        cmd = [sys.executable, os.path.abspath(__file__), "--_memory-child", column, "--device", args.device,
               "--batch", str(args.batch), "--block-size", str(args.block_size), "--n-layer", str(args.n_layer),
               "--n-head", str(args.n_head), "--n-embd", str(args.n_embd), "--vocab", str(args.vocab)]
        proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
        if proc.returncode != 0:
            print(f"（{TITLES[column]} 的内存子进程失败：{proc.stderr.strip().splitlines()[-1:]}）")
            continue
        results[column] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results


# ---------------------------------------------------------------------- 按运算计时（--profile）

def _all_functions():
    from tinygrad_zh.autograd import Function
    todo, seen = [Function], []
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen


def profile_framework(cfg, batch, device, steps):
    """框架一步里每个 Function 的前向、反向各花了多少时间，以及引擎、裁剪、优化器各占多少。

    做法：临时把每个 Function 子类的 forward / backward 换成“计时后再调用原函数”的版本，跑 steps 步后换回。
    CPU 上单线程时量进程的 CPU 时间（机器忙时也稳），否则量墙钟时间。
    """
    clock = time.process_time if device == "cpu" and blas_threads() == 1 else time.perf_counter
    import inspect
    from collections import defaultdict
    totals = defaultdict(float)
    counts = defaultdict(int)
    patched = []

    def timed(cls, kind, fn):
        key = (cls.__name__, kind)

        def wrapper(ctx, *args, **kwargs):
            _sync(device)
            t0 = clock()
            out = fn(ctx, *args, **kwargs)
            _sync(device)
            totals[key] += clock() - t0
            counts[key] += 1
            return out
        return staticmethod(wrapper)

    col = build_columns(cfg, batch, device, with_torch=False)["framework"]
    col.step()
    phases = defaultdict(float)
    for cls in _all_functions():
        for kind in ("forward", "backward"):
            original = cls.__dict__.get(kind)
            patched.append((cls, kind, original))
            setattr(cls, kind, timed(cls, kind, inspect.unwrap(getattr(cls, kind))))
    try:
        for _ in range(steps):
            col.opt.zero_grad(set_to_none=True)
            marks = [clock()]
            _, loss = col.model(col.idx, col.targets)
            _sync(device)
            marks.append(clock())
            loss.backward()
            _sync(device)
            marks.append(clock())
            clip_grad_norm_(col.model.parameters(), MAX_NORM)
            _sync(device)
            marks.append(clock())
            col.opt.step()
            _sync(device)
            marks.append(clock())
            for name, a, b in zip(("前向", "反向", "梯度裁剪", "AdamW"), marks, marks[1:]):
                phases[name] += b - a
    finally:
        for cls, kind, original in patched:
            if original is None:
                delattr(cls, kind)
            else:
                setattr(cls, kind, original)
    total = sum(phases.values())
    print(f"框架每步 {total / steps * 1e3:.1f} ms（计时开销在内）："
          + "，".join(f"{k} {v / steps * 1e3:.1f}" for k, v in phases.items()))
    fwd = sum(v for (n, k), v in totals.items() if k == "forward")
    bwd = sum(v for (n, k), v in totals.items() if k == "backward")
    print(f"  Function 的前向合计 {fwd / steps * 1e3:.1f} ms，其余（建图、包装张量等）"
          f"{(phases['前向'] - fwd) / steps * 1e3:.1f} ms")
    print(f"  Function 的反向合计 {bwd / steps * 1e3:.1f} ms，其余（梯度累加、拓扑排序、写 .grad 等）"
          f"{(phases['反向'] - bwd) / steps * 1e3:.1f} ms")
    print("  " + _pad("Function", 28) + _pad("前向 ms/步", 12, True) + _pad("反向 ms/步", 12, True)
          + _pad("次/步", 8, True))
    names = sorted({n for n, _ in totals}, key=lambda n: -(totals[(n, "forward")] + totals[(n, "backward")]))
    for n in names:
        print(f"  {n:<28}{totals[(n, 'forward')] / steps * 1e3:>12.1f}{totals[(n, 'backward')] / steps * 1e3:>12.1f}"
              f"{counts[(n, 'forward')] // steps:>8}")


# ---------------------------------------------------------------------- 主程序

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2, help="每轮连续跑几步（默认 2）")
    parser.add_argument("--repeat", type=int, default=3, help="轮数，取最快的一轮（默认 3）")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--check", action="store_true", help="只在 float64 下核对损失、梯度与一步后的参数，不计时")
    parser.add_argument("--no-torch", action="store_true", help="不跑 PyTorch 列")
    parser.add_argument("--no-memory", action="store_true", help="不测峰值内存（省掉三个子进程）")
    parser.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                        help="wall：墙钟时间（默认）；cpu：进程 CPU 时间，机器忙时更稳，只在单线程时有意义")
    parser.add_argument("--profile", action="store_true", help="只给出框架一步里每个 Function 的前向 / 反向耗时，不计时")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--vocab", type=int, default=4689)
    parser.add_argument("--preset", choices=["gpu"], help="gpu：第 18 课的 GPU 配置（6 层、6 头、384 维、上下文 256、批量 64），"
                        "覆盖上面五个尺寸参数")
    parser.add_argument("--tf32", action="store_true", help="GPU 上 float32 矩阵乘法用 TF32（框架与 PyTorch 都打开）")
    parser.add_argument("--json", metavar="FILE", help="把计时结果（ms/步、tokens/s）另存为 JSON")
    parser.add_argument("--_memory-child", dest="memory_child", choices=COLUMNS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.preset == "gpu":
        args.n_layer, args.n_head, args.n_embd, args.block_size, args.batch = 6, 6, 384, 256, 64
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = make_config(args)
    if args.device == "cuda" and not tg.cuda.is_available():
        raise SystemExit("没有可用的 NVIDIA GPU 或 CuPy（--device cuda）。提示：去掉 --device cuda 在 CPU 上运行。")
    torch = None if args.no_torch or args.memory_child not in (None, "torch") else import_torch()
    if args.device == "cuda":
        tg.cuda.set_allow_tf32(args.tf32)
        if torch is not None:  # PyTorch eager 的默认也是不用 TF32；两边同一个设置才可比
            torch.backends.cuda.matmul.allow_tf32 = args.tf32
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, cfg, args.batch, args.device)))
        return
    threads = blas_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"tinygrad_zh {tg.__version__}，NumPy {np.__version__}，BLAS：{blas_info()}（{threads} 线程）"
          + (f"，PyTorch {torch.__version__}（{torch.get_num_threads()} 线程）" if torch is not None else "，未装 PyTorch"))
    print(f"GPT：n_layer {cfg.n_layer}、n_head {cfg.n_head}、n_embd {cfg.n_embd}、block_size {cfg.block_size}、"
          f"批量 {args.batch}、词表 {cfg.vocab_size}，{'float64' if args.check else 'float32'}，{args.device}")
    if args.check:
        ok = run_check(cfg, args.batch, args.device, torch is not None)
        raise SystemExit(0 if ok else 1)
    if args.profile:
        profile_framework(cfg, args.batch, args.device, args.steps)
        return
    if args.clock == "cpu" and (args.device == "cuda" or threads > 1):
        raise SystemExit(f"--clock cpu 只适用于 CPU 上单线程的计时（现在 {args.device}、BLAS {threads} 线程）。"
                         "提示：OPENBLAS_NUM_THREADS=1 python benchmarks/bench_gpt.py --clock cpu")
    times, loss0 = bench_times(cfg, args.batch, args.device, args.steps, args.repeat, torch is not None, args.clock)
    print(f"第一步的损失 {loss0:.4f}（ln V = {math.log(cfg.vocab_size):.4f}），各列一致；"
          f"每列取 {args.repeat} 轮 × {args.steps} 步中最快的一轮（各列轮流跑；"
          f"{'进程 CPU 时间' if args.clock == 'cpu' else '墙钟时间'}）")
    memory = {} if args.no_memory else measure_memory(args, list(times))
    tokens = args.batch * cfg.block_size
    mem_title = "峰值显存 MiB" if args.device == "cuda" else "峰值 RSS 增量 MiB"
    print(_pad("", 22) + _pad("ms/步", 10, True) + _pad("tokens/s", 12, True) + _pad(mem_title, 22, True)
          + _pad("单步临时数组 MiB", 20, True))
    for name, t in times.items():
        title = TITLES[name] + (" CUDA" if args.device == "cuda" and name == "torch" else "")
        m = memory.get(name, {})
        peak = m.get("device_mib") if args.device == "cuda" else m.get("rss_mib")
        peak_s = f"{peak:.1f}" if peak is not None else "—"
        step_s = f"{m['step_mib']:.1f}" if m.get("step_mib") is not None else "—"
        print(_pad(title, 22) + f"{t * 1e3:>10.1f}{tokens / t:>12.0f}{peak_s:>22}{step_s:>20}")
    ratio = times["framework"] / times["hand"]
    print(f"比值 框架 / 手写 NumPy = {ratio:.2f}（目标 ≤ 1.3）"
          + (f"；框架 / PyTorch = {times['framework'] / times['torch']:.2f}" if "torch" in times else ""))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"device": args.device, "tf32": bool(args.tf32 and args.device == "cuda"),
                       "config": {"n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_embd": cfg.n_embd,
                                  "block_size": cfg.block_size, "batch": args.batch, "vocab": cfg.vocab_size},
                       "ms_per_step": {k: t * 1e3 for k, t in times.items()},
                       "tokens_per_s": {k: tokens / t for k, t in times.items()}}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
