#!/usr/bin/env bash
# 有 NVIDIA GPU 与 CuPy 的机器上，在一个总时限（默认 540 秒）内按优先级跑 GPU 检查，写 $OUT/summary.md。
# 全部逻辑在 benchmarks/gpu_checks.py（只用 python3，不联网，不需要 snownlp；说明见它的开头）。
# 用法（仓库根目录）：bash benchmarks/gpu_checks.sh [--out 目录] [--deadline 秒] [--dry-run]
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
exec python3 benchmarks/gpu_checks.py "$@"
