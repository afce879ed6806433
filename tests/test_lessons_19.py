"""第 19 课（数据并行）在快速模式下跑通，且给出 参考结果 里写的数。

没装 mpi4py（``pip install -e ".[dist]"``）时第 4、5 步只讲不跑：测试仍然检查第 1–3 步，并确认第 4、5 步的结果为空。
装了时第 5 步从课程里用 ``mpiexec -n 1`` 与 ``mpiexec -n 2`` 各运行一次本课：两个进程的第 4 步真的在进程之间平均梯度。
"""

import pytest

import tinygrad_zh.distributed as dist
from lesson_utils import pngs as _pngs, quiet_output, run_lesson_script  # noqa: F401  (quiet_output 是自动使用的 fixture)


@pytest.mark.lesson19
def test_lesson19(tmp_path):
    r = run_lesson_script("19", quick=True)
    assert r["world"] == 1 and not dist.is_initialized()            # 单成员的进程组用完就解散
    assert r["by_hand_sum"] == [11.0, 22.0, 33.0, 44.0] and r["by_hand_mean"] == [5.5, 11.0, 16.5, 22.0]
    for row in r["ring"]:                                             # 模拟的环形 all-reduce：结果对、通信量 = 2(N-1)/N
        assert row["max_error"] < 1e-12 and row["sent_fraction"] == pytest.approx(row["theory"])
    assert all(d < 1e-13 for d in r["split_grad_diff"].values())
    assert r["unequal_naive_diff"] > 1e-4 and r["unequal_weighted_diff"] < 1e-13
    if not r["mpi_available"]:
        assert r["ddp"] is None and r["speed"] is None
        pytest.skip("没有安装 mpi4py：第 4、5 步只讲不跑（pip install -e \".[dist]\"）")
    d = r["ddp"]
    assert d["world"] == 1 and d["param_diff"] == 0.0 and d["all_reduce_calls"] == 3 * d["buckets"]
    s = r["speed"]
    two = s["ddp_2proc"]                                              # mpiexec -n 2 运行的第 4 步
    assert two["world"] == 2 and two["backend"] == "mpi" and two["my_indices"] == [0, 2, 4, 6]
    assert two["param_diff"] < 1e-12 and two["all_reduce_calls"] == 3 * two["buckets"]
    assert s["tokens_per_s"][1] > 0 and s["tokens_per_s"][2] > 0
    assert s["speedup"] == pytest.approx(s["tokens_per_s"][2] / s["tokens_per_s"][1])
    assert _pngs(tmp_path) == ["19_data_parallel.png"]
