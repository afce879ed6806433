"""GPT 生成 (generate) 的速度：有键值缓存 (KV cache) vs 每步重算整个上下文（手动运行，不是测试）。

默认 CPU 配置的 GPT（4 层、4 头、128 维、上下文 64、词表 4689，随机初始化：速度与权重无关），
批量 B 条提示，每条 8 个词元，生成到刚好填满上下文（56 个新词元）；再生成到 3 倍上下文长度，
看窗口滑动之后（缓存失效，每步重算整个窗口）两者回到同一速度。两种方式先核对给出完全相同的词元。

用法：
    python benchmarks/bench_generate.py [--batch 1 8] [--repeat 3] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_zh as tg
from bench_common import best_times, blas_info
from tinygrad_zh.models import GPT, GPTConfig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args(argv)

    tg.manual_seed(0)
    cfg = GPTConfig(block_size=64, vocab_size=4689, n_layer=4, n_head=4, n_embd=128)
    model = GPT(cfg).to(args.device)
    print(f"tinygrad_zh {tg.__version__}，BLAS：{blas_info()}，设备 {args.device}")
    print(f"GPT：n_layer {cfg.n_layer}、n_head {cfg.n_head}、n_embd {cfg.n_embd}、block_size {cfg.block_size}、"
          f"词表 {cfg.vocab_size}；提示 8 个词元，温度 0.8、top-k 50")
    print(f"{'批量':>4} {'新词元':>6} {'缓存 词元/秒':>12} {'重算 词元/秒':>12} {'加速':>6}")
    for B in args.batch:
        prompt = tg.randint(0, cfg.vocab_size, (B, 8), device=args.device)
        for n_new in (cfg.block_size - 8, 3 * cfg.block_size - 8):
            def run(use_cache):
                return model.generate(prompt, n_new, temperature=0.8, top_k=50,
                                      generator=tg.Generator(1), use_cache=use_cache)
            a, b = run(True), run(False)
            assert np.array_equal(a.cpu().numpy(), b.cpu().numpy()), "有缓存与无缓存生成的词元不同"
            cached, full = best_times([lambda: run(True), lambda: run(False)], 1, args.repeat, args.device)
            print(f"{B:>4} {n_new:>6} {B * n_new / cached:>12,.0f} {B * n_new / full:>12,.0f} "
                  f"{full / cached:>5.2f}×")


if __name__ == "__main__":
    main()
