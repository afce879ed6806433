#!/usr/bin/env bash
# 有 NVIDIA GPU 与 CuPy 的机器上一次跑完全部 GPU 检查（手动运行；CI 没有 GPU）：
#   1. pytest -m gpu（每个运算、层、模型、采样在真 CuPy 上与 CPU 对照）；
#   2. 第 17、18 课的快速模式（--device cuda）；
#   3. GPT 训练步基准：框架（CuPy）vs 手写 CuPy vs PyTorch CUDA；生成速度（键值缓存）；
#   4. tinygrad-zh train 在 GPU 上训练默认模型 200 步并采样。
# 用法（仓库根目录）：bash benchmarks/gpu_checks.sh [输出目录]
# 每一项的输出写进输出目录里的一个 .txt；某一项失败不影响后面的项，最后列出失败的项。
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
out="${1:-${OUT:-gpu_check_output}}"
mkdir -p "$out"
export TINYGRAD_ZH_OUTPUT="$out/lessons"

if ! python -c "import tinygrad_zh as tg, sys; sys.exit(0 if tg.cuda.is_available() else 1)"; then
  echo "没有可用的 GPU（tg.cuda.is_available() 为 False），不运行 GPU 检查。" >&2
  exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1

failed=()
step() {  # step 名字 超时秒数 命令...
  local name=$1 limit=$2
  shift 2
  echo "== $name"
  if ! timeout "$limit" "$@" > "$out/$name.txt" 2>&1; then
    failed+=("$name")
    tail -n 20 "$out/$name.txt"
  else
    tail -n 3 "$out/$name.txt"
  fi
}

step pytest_gpu 300 python -m pytest -m gpu -q -p no:cacheprovider
step lesson17 120 python lessons/17_gpu_cupy.py --quick --device cuda
step lesson18 180 python lessons/18_gpu_gpt.py --quick --device cuda
step bench_gpt_cuda 180 python benchmarks/bench_gpt.py --device cuda
step bench_generate_cuda 120 python benchmarks/bench_generate.py --device cuda --repeat 2
step train_cuda 300 python -m tinygrad_zh train --device cuda --max-steps 200 --no-progress --out-dir "$out/gpt"
step sample_cuda 60 python -m tinygrad_zh sample --device cuda --checkpoint "$out/gpt/ckpt.npz" --prompt 新年 \
  --max-new-tokens 60 --top-k 50 --top-p 0.95

if [ ${#failed[@]} -gt 0 ]; then
  echo "失败的检查：${failed[*]}（详见 $out/）" >&2
  exit 1
fi
echo "全部 GPU 检查通过，输出在 $out/"
