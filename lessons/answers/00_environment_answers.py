# %% [markdown]
# # 第 00 课练习答案
#
# 运行方式：`python lessons/answers/00_environment_answers.py [--quick] [--device cuda]`
#
# `--quick` 只影响练习 3：子进程里的第 00 课用快速模式运行（测试图的点更少）。

# %%
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.lesson import run_lesson
from tinygrad_zh.viz import matplotlib_available

LESSON = Path(__file__).resolve().parent.parent / "00_environment.py"

# %% [markdown]
# ## 练习 1 ★：种子 42 与独立生成器
#
# 两次 `tg.manual_seed(42); tg.randn(3)` 给出相同的数。`tg.Generator().manual_seed(42)` 给出的数也**一样**：
# 全局生成器和新建的生成器底层都是 `numpy.random.default_rng(42)`，同一个种子产生同一串随机数。
# 区别在于：从独立生成器里取数不会推进全局生成器的状态，所以不会改变后面 `tg.randn` 的结果。


# %%
def exercise1(device):
    tg.manual_seed(42)
    a = tg.randn(3, device=device)
    tg.manual_seed(42)
    b = tg.randn(3, device=device)
    g = tg.Generator().manual_seed(42)
    c = tg.randn(3, generator=g, device=device)
    print("练习 1：")
    print(f"  全局种子 42 第一次：{[round(v, 4) for v in a.tolist()]}")
    print(f"  全局种子 42 第二次：{[round(v, 4) for v in b.tolist()]}  相同：{bool((a == b).all())}")
    print(f"  Generator(42)：     {[round(v, 4) for v in c.tolist()]}  与全局种子相同：{bool((a == c).all())}")
    assert bool((a == b).all()) and bool((a == c).all()), "同一个种子应当给出同一串随机数"
    # 从独立生成器取数不推进全局生成器：取数前后，全局生成器接下来给出的数相同
    tg.manual_seed(7)
    expected = tg.randn(3, device=device)
    tg.manual_seed(7)
    tg.randn(3, generator=tg.Generator().manual_seed(1), device=device)
    assert bool((tg.randn(3, device=device) == expected).all()), "独立生成器不应改变全局生成器的状态"
    return {"seed42": [round(v, 4) for v in a.tolist()], "generator_same": bool((a == c).all())}


# %% [markdown]
# ## 练习 2 ★：预测 dtype
#
# | 表达式 | dtype | 原因 |
# |---|---|---|
# | `tg.tensor(np.arange(3))` | int64 | NumPy 数组保持自己的 dtype（`np.arange` 的整数是 int64） |
# | `tg.tensor(np.arange(3)) / 2` | float32 | 整数相除得到浮点数，用默认浮点类型 float32 |
# | `tg.tensor([1.0]) + tg.tensor(np.ones(1))` | float64 | float32 与 float64 相遇，提升为 float64 |
# | `tg.tensor(np.ones(1, dtype=np.float32)) * 3` | float32 | Python 数字不改变张量的 dtype |


# %%
def exercise2(device):
    cases = {
        "tg.tensor(np.arange(3))": tg.tensor(np.arange(3), device=device),
        "tg.tensor(np.arange(3)) / 2": tg.tensor(np.arange(3), device=device) / 2,
        "tg.tensor([1.0]) + tg.tensor(np.ones(1))":
            tg.tensor([1.0], device=device) + tg.tensor(np.ones(1), device=device),
        "tg.tensor(np.ones(1, dtype=np.float32)) * 3": tg.tensor(np.ones(1, dtype=np.float32), device=device) * 3,
    }
    print("练习 2：")
    for text, t in cases.items():
        print(f"  {text:<46} → {t.dtype}")
    assert [t.dtype for t in cases.values()] == [tg.int64, tg.float32, tg.float64, tg.float32]   # 与上表一致
    return {"dtypes": [str(t.dtype) for t in cases.values()]}


# %% [markdown]
# ## 练习 3 ★★：用 `TINYGRAD_ZH_OUTPUT` 把图存到 `/tmp/tg_figs`
#
# `output_dir()` 先看环境变量 `TINYGRAD_ZH_OUTPUT`，没有设置时才用默认的 `lessons/output/`。
# 所以在命令行里写
#
# ```bash
# TINYGRAD_ZH_OUTPUT=/tmp/tg_figs python lessons/00_environment.py
# ```
#
# 图就存进 `/tmp/tg_figs/00_test_plot.png`，默认目录里的文件一个字节也不动。
# 下面用子进程做同样的事（子进程继承我们设的环境变量），并核对两件事：
# 新目录里出现了刚写好的 `00_test_plot.png`；`lessons/output/` 里每个文件的名字和修改时间都与运行前相同
# （只比较第 00 课自己的文件 `00_*`：同一台机器上别的课程可能正在往默认目录里写图）。


# %%
def _snapshot(folder):
    """folder 里第 00 课的文件 → 修改时间（纳秒）。"""
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("00_*")} if folder.is_dir() else {}


def exercise3(quick, device):
    print("练习 3：TINYGRAD_ZH_OUTPUT=/tmp/tg_figs")
    if not matplotlib_available():
        print("  没有安装 matplotlib，第 00 课不画图，这道题无从验证（跳过）。")
        return {"custom_output_ok": None}
    default_dir = LESSON.parent / "output"
    target = Path(tempfile.gettempdir()) / "tg_figs"
    before = _snapshot(default_dir)
    started = time.time_ns()
    # 子进程用 UTF-8 写、这里按 UTF-8 读：控制台是 GBK（中文 Windows）时两边也对得上
    env = dict(os.environ, TINYGRAD_ZH_OUTPUT=str(target), MPLBACKEND="Agg", PYTHONIOENCODING="utf-8")
    env.pop("TINYGRAD_ZH_QUICK", None)
    cmd = [sys.executable, str(LESSON), "--device", device] + (["--quick"] if quick else [])
    done = subprocess.run(cmd, env=env, capture_output=True, encoding="utf-8", errors="replace", timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    after = _snapshot(default_dir)
    figure = target / "00_test_plot.png"
    assert figure.is_file() and figure.stat().st_mtime_ns >= started, "图没有写进 TINYGRAD_ZH_OUTPUT 指定的目录"
    assert after == before, f"默认目录 {default_dir} 里第 00 课的文件变了：{before} → {after}"
    print(f"  子进程的输出里写着：{next(l for l in done.stdout.splitlines() if 'output_dir()' in l).strip()}")
    print(f"  新图 {figure}（{figure.stat().st_size} 字节，本次运行刚写的）")
    print(f"  默认目录 {default_dir} 里第 00 课的文件 {sorted(after) or '（没有）'}：名字与修改时间都没变")
    return {"custom_output_ok": True, "custom_output_dir": str(target)}


# %% [markdown]
# ## 练习 4 ★★★：同一种子在 CPU 和 GPU 上逐位相同
#
# `tinygrad_zh/creation.py` 里的 `randn` 只有两行：
#
# ```python
# host = _rng(generator).standard_normal(_size(size), dtype=np.float64).astype(_float(dtype))
# return _new(host, device, requires_grad)
# ```
#
# 随机数**总是在主机 (host) 上**由 NumPy 的生成器 `numpy.random.default_rng(seed)` 以 float64 产生，
# 再转成目标 dtype，最后才搬到目标设备。设备只负责“存”，不负责“生成”，所以种子相同、形状相同、dtype 相同，
# 得到的比特就相同，与设备无关。PyTorch 的 CUDA 张量则在 GPU 上用 cuRAND 的 Philox 生成器直接生成，
# 算法与 CPU 的 Mersenne Twister 不同，同一个种子给出不同的数。
#
# 代价：
#
# 1. **慢**：生成由 CPU 的一个线程串行完成，GPU 成千上万个核心闲着；生成 float32 时还要先算 float64 再转换，
#    多一倍计算和一次临时的 float64 数组（主机内存峰值是结果的 3 倍）；
# 2. **搬运**：每次都要把整块数据从主机内存经 PCIe 拷到显存。初始化一个几亿参数的模型、
#    或每步都要新随机数的 dropout，这笔开销会很明显；
# 3. 随机数流与 NumPy 的实现绑定：换 NumPy 版本理论上可能改变数（NumPy 对 `default_rng` 的流有兼容承诺，风险较小）。
#
# 对教学框架来说，“在哪儿跑都得到同一组数”更重要：课程的参考结果在 CPU 和 GPU 上可以逐位对照。
#
# 下面的实验：(a) 把 `tg.randn` 与直接用 NumPy 算出的数**逐位**比较，证明它就是主机上的 NumPy 生成器；
# (b) float32 的结果等于 float64 的结果再舍入，说明确实先生成 float64；
# (c) 有 GPU 时，在 `cuda` 上重复第 3 步，逐位比较 CPU 与 GPU 的结果；没有 GPU 时打印一句说明。


# %%
def exercise4(device):
    print("练习 4：同一种子在不同设备上的随机数")
    n = 1000
    tg.manual_seed(0)
    cpu32 = tg.randn(n, device="cpu").numpy()
    ref64 = np.random.default_rng(0).standard_normal(n, dtype=np.float64)
    assert np.array_equal(cpu32, ref64.astype(np.float32)), "tg.randn 不等于 NumPy 生成器的结果"
    tg.manual_seed(0)
    cpu64 = tg.randn(n, dtype=tg.float64, device="cpu").numpy()
    assert np.array_equal(cpu64, ref64) and np.array_equal(cpu64.astype(np.float32), cpu32)
    print(f"  (a) tg.manual_seed(0); tg.randn({n}) 与 numpy.random.default_rng(0) 逐位相同："
          f"{bool(np.array_equal(cpu32, ref64.astype(np.float32)))}")
    print(f"  (b) float32 版本 = float64 版本舍入成 float32：{bool(np.array_equal(cpu64.astype(np.float32), cpu32))}")

    devices = ["cuda"] if tg.cuda.is_available() else []
    same = {}
    for dev in devices:
        tg.manual_seed(0)
        a = tg.randn(3, device=dev)
        g = tg.Generator().manual_seed(123)
        d = tg.randn(2, generator=g, device=dev)
        tg.manual_seed(0)
        big = tg.randn(n, device=dev).cpu().numpy()
        g = tg.Generator().manual_seed(123)
        d_cpu = tg.randn(2, generator=g, device="cpu").numpy()
        same[dev] = bool(np.array_equal(big, cpu32) and np.array_equal(a.cpu().numpy(), cpu32[:3])
                         and np.array_equal(d.cpu().numpy(), d_cpu))
        assert same[dev], f"{dev} 上的随机数与 CPU 不同"
        print(f"  (c) {dev}：manual_seed(0) 的 randn(3) = {[round(v, 4) for v in a.tolist()]}，"
              f"randn({n}) 与 Generator(123) 的数都与 CPU 逐位相同：{same[dev]}")
    if not devices:
        print("  (c) 这台机器没有可用的 GPU（tg.cuda.is_available() = False）：在有 GPU 的机器上运行 "
              "`python lessons/answers/00_environment_answers.py --device cuda` 做逐位比较。")
    return {"randn_is_numpy": True, "cpu_gpu_bitwise_same": same}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device))
    results.update(exercise3(quick, device))
    results.update(exercise4(device))
    print("第 00 课练习答案全部通过。")
    return results


if __name__ == "__main__":
    run_lesson(main)
