"""训练与采样的安全性：不丢数据、不静默给出错误结果、被杀掉后能干净地接着来、错误信息都是一行中文。

每组测试对应问题单里的一条：覆盖已有检查点、非有限的损失、配置校验、临时文件、换工作目录续训、
SIGTERM 与锁文件、采样、错误信息。都用 1 层 16–32 维的小模型和几百个字的小语料。
"""

import errno
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.training as training
from tinygrad_zh import cli, run_guard, serialization
from tinygrad_zh.cli import describe_error, main
from tinygrad_zh.models.gpt import GPT
from tinygrad_zh.training import ConfigError, NonFiniteError, TrainConfig, train
from tiny_run import POEM, ROOT, tiny_args, write_corpus


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path)


def tiny(corpus, out_dir, **changes):
    cfg = TrainConfig(n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=8, max_steps=20, warmup_steps=2,
                      learning_rate=1e-2, min_lr=1e-3, eval_interval=10, eval_batches=2, data=corpus,
                      out_dir=str(out_dir), device="cpu")
    return cfg.replace(**changes)


def one_line(err):
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def snapshot(folder):
    """目录里每个文件的内容（用来确认“什么也没动”）。"""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def env():
    return dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """训练完的小模型：(语料路径, 输出目录)。测试各自复制一份再改。"""
    folder = tmp_path_factory.mktemp("finished")
    path = folder / "poem.txt"
    path.write_text(POEM * 12, encoding="utf-8")
    train(tiny(str(path), folder / "run"), progress=False, verbose=False)
    return str(path), folder / "run"


def copy_run(finished, tmp_path):
    src = finished[1]
    dst = tmp_path / "run"
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


# ---------------------------------------------------------------------------- 1. 不覆盖已有的检查点

def test_existing_checkpoint_needs_resume_or_overwrite(finished, tmp_path, capsys):
    corpus, _ = finished
    run = copy_run(finished, tmp_path)
    before = snapshot(run)
    assert main(tiny_args(corpus, run)) == 2
    captured = capsys.readouterr()
    err = one_line(captured.err)
    assert "已有检查点" in err and "--resume" in err and "--overwrite" in err and str(run / "ckpt.npz") in err
    assert captured.out == "" and snapshot(run) == before                    # 什么也没动：没打印配置，没有锁文件
    assert main(tiny_args(corpus, run, "--resume", "--overwrite")) == 2
    assert "不能与 --overwrite 同时使用" in one_line(capsys.readouterr().err)
    assert main(tiny_args(corpus, run, "--overwrite", "--max-steps", "10", "--eval-interval", "5")) == 0
    assert tg.load(run / "ckpt.npz")["config"]["max_steps"] == 10
    with pytest.raises(ConfigError, match="已有检查点"):                      # API 里同样可以要求不覆盖
        train(tiny(corpus, run), overwrite=False, progress=False, verbose=False)


def test_ctrl_c_right_after_start_never_replaces_a_finished_run(finished, tmp_path, capsys, monkeypatch):
    corpus, _ = finished
    run = copy_run(finished, tmp_path)
    before = snapshot(run)

    def interrupted(model, batches):          # 第 0 步的评估时按下 Ctrl-C：这次运行还一步都没做
        raise KeyboardInterrupt
    monkeypatch.setattr(training, "evaluate", interrupted)
    assert main(tiny_args(corpus, run, "--overwrite")) == 130
    assert "还没有完成任何一步，没有写检查点" in capsys.readouterr().out
    assert snapshot(run) == before


# ---------------------------------------------------------------------------- 2. 非有限的损失与梯度

def test_lr_1e300_stops_with_exit_1_and_keeps_the_last_good_checkpoint(finished, tmp_path, capsys):
    corpus, _ = finished
    run = copy_run(finished, tmp_path)
    before = snapshot(run)
    assert main(tiny_args(corpus, run, "--overwrite", "--lr", "1e300", "--min-lr", "0")) == 1
    captured = capsys.readouterr()
    err = one_line(captured.err)                                     # 也没有 NumPy 的英文 RuntimeWarning
    assert "训练发散 (diverged)" in err and "不是有限数" in err and "没有写检查点" in err and "完成" not in captured.out
    assert snapshot(run) == before
    assert np.isfinite(tg.load(run / "ckpt.npz")["model"]["lm_head.weight"]).all()


class Poison:
    """回调：做完第 at 步后把一个权重改成 nan；undo_at 步后改回来（模拟偶尔出现的一个坏批量）。"""

    def __init__(self, model_holder, at, undo_at=None):
        self.holder, self.at, self.undo_at, self.saved = model_holder, at, undo_at, None

    def __call__(self, step, info):
        w = self.holder["model"].transformer.wpe.weight
        if step == self.at:
            self.saved = w.data.copy()
            w.data[...] = np.nan
        if step == self.undo_at:
            w.data[...] = self.saved


def _capture_model(monkeypatch):
    holder, real = {}, training.build_model_and_optimizer

    def build(*args, **kwargs):
        holder["model"], opt = real(*args, **kwargs)
        return holder["model"], opt
    monkeypatch.setattr(training, "build_model_and_optimizer", build)
    return holder


def test_nonfinite_loss_stops_at_once_keeping_the_last_good_checkpoint(corpus, tmp_path, monkeypatch):
    holder = _capture_model(monkeypatch)
    with pytest.raises(NonFiniteError, match=r"第 13 步的损失 \(loss\) 是 nan.*仍是最后一个正常的检查点（第 10 步）"):
        train(tiny(corpus, tmp_path / "run"), callback=Poison(holder, at=12), progress=False, verbose=False)
    ckpt = tg.load(tmp_path / "run" / "ckpt.npz")
    assert ckpt["step"] == 10 and all(np.isfinite(w).all() for w in ckpt["model"].values())
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.name != "loss.png") == ["ckpt.npz"]   # 锁已释放


def test_skip_nonfinite_skips_a_bad_step_without_updating(corpus, tmp_path, monkeypatch, capsys):
    holder = _capture_model(monkeypatch)
    result = train(tiny(corpus, tmp_path / "run"), callback=Poison(holder, at=5, undo_at=6), skip_nonfinite=1,
                   progress=False)
    losses = result.history["loss"]
    assert result.step == 20 and math.isnan(losses[5]) and all(math.isfinite(v) for i, v in enumerate(losses) if i != 5)
    assert "跳过这一步" in capsys.readouterr().out
    assert all(s["step"] == 19 for s in tg.load(tmp_path / "run" / "ckpt.npz")["optimizer"]["state"].values())
    with pytest.raises(NonFiniteError, match="已经跳过了 1 步"):    # 用完了就停
        train(tiny(corpus, tmp_path / "again"), callback=Poison(holder, at=5), skip_nonfinite=1, progress=False,
              verbose=False)
    with pytest.raises(ConfigError, match="skip_nonfinite"):
        train(tiny(corpus, tmp_path / "x"), skip_nonfinite=-1)


def test_a_huge_loss_prints_a_sane_perplexity(corpus, tmp_path, capsys):
    assert training.perplexity_of(1000.0) == math.inf
    assert training.format_perplexity(math.inf).startswith("∞")
    assert training.format_perplexity(123.456) == "123.5" and training.format_perplexity(1e60) == "1.000e+60"
    code = main(tiny_args(corpus, tmp_path / "run", "--lr", "10", "--min-lr", "1"))
    captured = capsys.readouterr()
    assert code in (0, 1) and "Traceback" not in captured.err and "OverflowError" not in captured.err
    for line in captured.out.splitlines():
        if "困惑度" in line:
            number = line.split("困惑度 ")[1].split(" ")[0].split("，")[0]
            assert len(number) < 16, line                             # 不会打印成几十位的数


# ---------------------------------------------------------------------------- 3. 配置：命令行与 JSON 同样校验

@pytest.mark.parametrize("flag, key, value, message", [
    ("--lr", "learning_rate", "inf", "应是有限的数"),
    ("--dropout", "dropout", "nan", "应是有限的数"),
    ("--min-lr", "min_lr", "0.5", "min_lr 不能大于 learning_rate"),
    ("--seed", "seed", "-1", "seed 应在 [0, 2^64) 内"),
    ("--grad-clip", "grad_clip", "-1", "grad_clip 应 ≥ 0"),
])
def test_numbers_are_validated_the_same_from_flags_and_json(corpus, tmp_path, capsys, flag, key, value, message):
    assert main(tiny_args(corpus, tmp_path / "a", flag, value)) == 2
    assert message in one_line(capsys.readouterr().err)
    text = json.dumps({key: float(value) if key != "seed" else int(value)})   # JSON 的 Infinity / NaN 也一样
    (tmp_path / "cfg.json").write_text(text, encoding="utf-8")
    assert main(["train", "--config", str(tmp_path / "cfg.json"), "--out-dir", str(tmp_path / "b")]) == 2
    assert message in one_line(capsys.readouterr().err)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_bad_config_files_are_one_chinese_line(tmp_path, capsys):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (tmp_path / "syntax.json").write_text('{"n_layer": 2,}', encoding="utf-8")
    (tmp_path / "latin.json").write_bytes(b'{"data": "\xff"}')
    for name, message in (("deep.json", "嵌套太深"), ("syntax.json", "第 1 行第 15 列"), ("latin.json", "不是 UTF-8"),
                          (".", "是一个目录")):
        assert main(["train", "--config", str(tmp_path / name)]) == 2
        assert message in one_line(capsys.readouterr().err)
    if os.path.exists("/dev/zero"):
        assert main(["train", "--config", "/dev/zero"]) == 2            # 不会无穷无尽地读下去
        assert "不是普通文件" in one_line(capsys.readouterr().err)


def test_impossible_model_sizes_are_refused_before_allocating(corpus, tmp_path, capsys, monkeypatch):
    start = time.perf_counter()
    assert main(tiny_args(corpus, tmp_path / "big", "--n-layer", "100000", "--n-embd", "1024")) == 2
    err = one_line(capsys.readouterr().err)
    assert "放不下" in err and "GiB" in err and time.perf_counter() - start < 10
    assert main(tiny_args(corpus, tmp_path / "big", "--eval-batches", "1000000000000")) == 2
    assert "eval_batches" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "big").exists()
    available = training.available_memory()
    if sys.platform.startswith("linux"):
        assert isinstance(available, int) and available > 0
    monkeypatch.setattr(run_guard, "available_memory", lambda device="cpu": 10 ** 5)   # 只有 100 kB 的机器
    with pytest.raises(ConfigError, match="放不下"):
        train(tiny(corpus, tmp_path / "small"), progress=False, verbose=False)
    params, need = training.estimate_memory(tiny(corpus, tmp_path), vocab_size=40)
    model = GPT(tg.models.gpt.GPTConfig(block_size=16, vocab_size=40, n_layer=1, n_head=2, n_embd=32))
    assert params == sum(p.numel() for p in model.parameters()) and need > 16 * params


def test_data_that_is_not_a_regular_file_is_refused(tmp_path, capsys):
    if not os.path.exists("/dev/zero"):
        pytest.skip("没有 /dev/zero")
    assert main(["train", "--data", "/dev/zero", "--out-dir", str(tmp_path / "z"), "--device", "cpu"]) == 2
    assert "不是普通文件" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------------------- 4. 临时文件

def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_files_are_removed_at_the_next_start(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    dead = _dead_pid()
    stale = [run / f".ckpt.npz.{dead}.deadbeef.tmp", run / f".loss.png.{dead}.0badf00d.tmp"]
    for p in stale:
        p.write_bytes(b"\0" * 5000)
    live = run / f".ckpt.npz.{os.getppid()}.00000001.tmp"           # 写它的进程还在：不动
    live.write_bytes(b"x")
    train(tiny(corpus, run, max_steps=2, eval_interval=2, eval_batches=1), progress=False)
    assert "清理了上一次被强行终止的运行留下的 2 个临时文件" in capsys.readouterr().out
    assert not any(p.exists() for p in stale) and live.exists()


@pytest.mark.parametrize("where", ["after_open", "fdopen"])
def test_ctrl_c_while_creating_the_temp_file_leaves_nothing(tmp_path, monkeypatch, where):
    real_open, real_fdopen = os.open, os.fdopen

    def open_then_interrupt(*args, **kwargs):      # 文件已经建好、还没拿到 fd 就按了 Ctrl-C
        os.close(real_open(*args, **kwargs))
        raise KeyboardInterrupt

    def fdopen_interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    if where == "after_open":
        monkeypatch.setattr(os, "open", open_then_interrupt)
    else:
        monkeypatch.setattr(os, "fdopen", fdopen_interrupt)
    with pytest.raises(KeyboardInterrupt):
        tg.save({"w": np.ones(3)}, tmp_path / "ckpt.npz")
    monkeypatch.setattr(os, "open", real_open)
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    assert os.listdir(tmp_path) == []


def test_remove_stale_temp_files_only_touches_its_own_pattern(tmp_path):
    dead = _dead_pid()
    keep = [tmp_path / "ckpt.npz", tmp_path / f".other.npz.{dead}.deadbeef.tmp", tmp_path / f".ckpt.npz.{dead}.x.tmp"]
    for p in keep:
        p.write_bytes(b"x")
    (tmp_path / f".ckpt.npz.{dead}.12345678.tmp").write_bytes(b"abc")
    assert serialization.remove_stale_temp_files(tmp_path / "ckpt.npz") == (1, 3)
    assert all(p.exists() for p in keep)


# ---------------------------------------------------------------------------- 5. 换了工作目录也能续训；语料变了要说

def test_resume_from_another_working_directory_and_data_checks(tmp_path, capsys, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "poem.txt").write_text(POEM * 12, encoding="utf-8")
    monkeypatch.chdir(tmp_path / "a")
    real_train = training.train

    def stop_at_10(config, **kwargs):
        def stop(step, info):
            if step == 10:
                raise KeyboardInterrupt
        return real_train(config, callback=stop, **kwargs)
    monkeypatch.setattr(training, "train", stop_at_10)
    assert main(tiny_args("poem.txt", "run")) == 130                 # 相对路径的语料
    monkeypatch.setattr(training, "train", real_train)
    run = tmp_path / "a" / "run"
    ckpt = tg.load(run / "ckpt.npz")
    assert ckpt["config"]["data"] == str(tmp_path / "a" / "poem.txt") == ckpt["data"]["path"]
    assert len(ckpt["data"]["sha256"]) == 64 and ckpt["data"]["chars"] == len(POEM) * 12

    monkeypatch.chdir(tmp_path / "b")
    (tmp_path / "a" / "poem.txt").write_text(POEM * 11 + "新年好", encoding="utf-8")   # 语料变了
    assert main(["train", "--resume", "--out-dir", str(run), "--no-progress"]) == 2
    err = one_line(capsys.readouterr().err)
    assert "语料变了 (data changed)" in err and "sha256" in err
    (tmp_path / "a" / "poem.txt").rename(tmp_path / "b" / "moved.txt")                  # 搬了家
    (tmp_path / "b" / "moved.txt").write_text(POEM * 12, encoding="utf-8")
    assert main(["train", "--resume", "--out-dir", str(run), "--no-progress"]) == 2
    assert "找不到它" in one_line(capsys.readouterr().err)
    capsys.readouterr()
    assert main(["train", "--resume", "--out-dir", str(run), "--data", "moved.txt", "--no-progress"]) == 0
    assert "完成：第 20 步" in capsys.readouterr().out
    assert tg.load(run / "ckpt.npz")["data"]["path"] == str(tmp_path / "b" / "moved.txt")


def test_old_checkpoints_with_a_relative_data_path_resume_with_data(finished, tmp_path, capsys, monkeypatch):
    corpus, _ = finished
    run = copy_run(finished, tmp_path)
    ckpt = tg.load(run / "ckpt.npz")                    # 改写成旧版本的样子：相对路径、没有内容哈希、没有训练完
    del ckpt["data"]
    ckpt["config"]["data"], ckpt["config"]["max_steps"] = "poem.txt", 30
    tg.save(ckpt, run / "ckpt.npz")
    monkeypatch.chdir(tmp_path)                         # 这里没有 poem.txt
    assert main(["train", "--resume", "--out-dir", "run", "--no-progress"]) == 2
    assert "找不到它" in one_line(capsys.readouterr().err)
    assert main(["train", "--resume", "--out-dir", "run", "--data", corpus, "--no-progress"]) == 0
    assert "完成：第 30 步" in capsys.readouterr().out
    assert tg.load(run / "ckpt.npz")["data"]["path"] == corpus      # 之后的检查点记下绝对路径与哈希


# ---------------------------------------------------------------------------- 6. SIGTERM、锁文件、kill -9

def _start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "tinygrad_zh", *args], cwd=cwd, env=env(), text=True,
                            encoding="utf-8", stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_line(proc, needle, timeout=60):
    """读子进程的标准输出，直到出现含 needle 的一行。"""
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    proc.kill()
    raise AssertionError(f"子进程没有打印 {needle!r}：{''.join(lines)}{proc.stderr.read()}")


@pytest.mark.slow
def test_sigterm_saves_and_exits_143_and_a_lock_keeps_a_second_run_out(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    args = tiny_args(corpus, run, "--max-steps", "1000000", "--eval-interval", "5")
    proc = _start(args, tmp_path)
    try:
        _wait_for_line(proc, "步    10 ｜")                              # 第 5 步的检查点已经写好
        assert (run / ".train.lock").exists()
        # 第二个训练进不来：一行中文说明，谁在用
        assert main(args + ["--resume"]) == 2
        err = one_line(capsys.readouterr().err)
        assert "正被另一个训练进程使用" in err and f"PID {proc.pid}" in err
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "已终止 (SIGTERM)" in out and "Traceback" not in err
    step = tg.load(run / "ckpt.npz")["step"]
    assert step >= 5
    assert sorted(p.name for p in run.iterdir()) in (["ckpt.npz"], ["ckpt.npz", "loss.png"])   # 锁与临时文件都不在了

    # kill -9：锁文件留下来；再加一个被杀进程的临时文件。下一次运行接管锁、删掉临时文件
    proc = _start(args + ["--resume"], tmp_path)
    try:
        _wait_for_line(proc, "接着训练")
        proc.kill()
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert (run / ".train.lock").exists()
    stale = run / f".ckpt.npz.{proc.pid}.deadbeef.tmp"
    stale.write_bytes(b"\0" * 1000)
    config = training.checkpoint_config(run / "ckpt.npz").replace(out_dir=str(run))

    def stop(s, info):
        raise KeyboardInterrupt
    capsys.readouterr()
    with pytest.raises(KeyboardInterrupt):
        train(config, resume=True, callback=stop, progress=False)
    out = capsys.readouterr().out
    assert "接管了上一次运行留下的锁文件" in out and "清理了" in out
    assert not stale.exists() and not (run / ".train.lock").exists()
    assert tg.load(run / "ckpt.npz")["step"] > step


def test_a_lock_held_by_this_process_blocks_train(corpus, tmp_path):
    run = tmp_path / "run"
    with run_guard.run_lock(str(run)):
        with pytest.raises(ConfigError, match="正被另一个训练进程使用"):
            train(tiny(corpus, run), progress=False, verbose=False)
    assert not run.exists()                                         # 这次新建的空目录也收拾掉了


# ---------------------------------------------------------------------------- 7. 采样

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained_safety")
    path = folder / "poem.txt"
    path.write_text(POEM * 12, encoding="utf-8")
    return train(tiny(str(path), folder / "run", batch_size=16, max_steps=30, eval_interval=30),
                 progress=False, verbose=False).checkpoint


def test_sampling_in_pieces_equals_one_generate_call(trained, capsys):
    model, tok, _ = training.load_checkpoint(trained, device="cpu")
    for temperature in (0.8, 0.0):
        assert main(["sample", "--checkpoint", trained, "--prompt", "床前", "--max-new-tokens", "40",
                     "--temperature", str(temperature), "--num-samples", "2", "--seed", "3", "--device", "cpu"]) == 0
        out = capsys.readouterr().out
        expected = model.generate(tg.tensor([tok.encode("床前")] * 2), 40, temperature=temperature,
                                  generator=tg.Generator().manual_seed(3))
        for i, row in enumerate(expected.numpy()):
            assert f"---------- 样本 {i + 1} ----------\n床前{tok.decode(row[2:])}\n" in out


def test_tiny_temperatures_are_greedy_with_a_note(trained, capsys):
    args = ["sample", "--checkpoint", trained, "--prompt", "举头", "--max-new-tokens", "10", "--device", "cpu"]
    assert main(args + ["--temperature", "0"]) == 0
    greedy = capsys.readouterr().out
    assert main(args + ["--temperature", "1e-300"]) == 0
    captured = capsys.readouterr()
    assert captured.out == greedy and "<unk>" not in captured.out and "按贪心解码" in captured.err


def test_nonfinite_weights_or_logits_are_refused(trained, tmp_path, capsys, monkeypatch):
    ckpt = tg.load(trained)
    ckpt["model"]["transformer.ln_f.weight"][:] = np.nan
    tg.save(ckpt, tmp_path / "nan.npz")
    assert main(["sample", "--checkpoint", str(tmp_path / "nan.npz"), "--device", "cpu"]) == 2
    assert "含 nan 或 inf" in one_line(capsys.readouterr().err)
    real_forward = GPT.forward

    def overflowing(self, idx, targets=None, kv_cache=None):        # 权重正常、算出来却溢出
        logits, loss = real_forward(self, idx, targets, kv_cache)
        return logits * np.float32(1e38) * np.float32(1e38), loss
    monkeypatch.setattr(GPT, "forward", overflowing)
    assert main(["sample", "--checkpoint", trained, "--device", "cpu"]) == 2
    assert "logits 里有 nan / inf" in one_line(capsys.readouterr().err)


def test_ctrl_c_while_sampling_prints_what_it_has(trained, capsys, monkeypatch):
    real, calls = GPT.generate, []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)
    monkeypatch.setattr(GPT, "generate", interrupted)
    args = ["sample", "--checkpoint", trained, "--prompt", "春眠", "--max-new-tokens", "50", "--device", "cpu"]
    assert main(args) == 130
    captured = capsys.readouterr()
    assert captured.out.startswith("春眠") and len(captured.out) == 2 + 15 + 1 + 1   # 第一段 15 个、第二段 1 个、换行
    assert "已中断 (KeyboardInterrupt)：每段生成了 16 / 50 个字" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("args, message", [
    (["--num-samples", "100000"], "--num-samples 应 ≥ 1 且 ≤ 1000"),
    (["--max-new-tokens", "10000000"], "--max-new-tokens 应 ≥ 0 且 ≤ 100,000"),
    (["--seed", "-1"], "--seed 应在 [0, 2^64) 内"),
])
def test_sample_bounds(trained, capsys, args, message):
    assert main(["sample", "--checkpoint", trained, "--device", "cpu", *args]) == 2
    assert message in one_line(capsys.readouterr().err)


def test_sample_refuses_batches_that_do_not_fit(trained, capsys, monkeypatch):
    monkeypatch.setattr(run_guard, "available_memory", lambda device="cpu": 1000)
    assert main(["sample", "--checkpoint", trained, "--device", "cpu", "--num-samples", "1000"]) == 2
    assert "采样估计至少需要" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------------------- 8. 错误信息：中文、一行

def test_os_errors_are_described_in_chinese():
    assert describe_error(OSError(errno.ENOSPC, "No space left on device", "/data/ckpt.npz")) == \
        "文件操作失败：/data/ckpt.npz：磁盘空间不足 (no space left on device)"
    assert "没有权限 (permission denied)" in describe_error(PermissionError(errno.EACCES, "Permission denied", "/x"))
    assert describe_error(FileNotFoundError("找不到文本文件 (file not found)：a.txt")) == "找不到文本文件 (file not found)：a.txt"
    assert "ENOTSUP" in describe_error(OSError(errno.ENOTSUP, "Operation not supported", "/x")) or \
        "EOPNOTSUPP" in describe_error(OSError(errno.ENOTSUP, "Operation not supported", "/x"))


def test_bad_out_dirs_are_found_before_training(corpus, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out_dir, message in ((blocker, "是文件，不是目录"), (blocker / "sub", "是文件，不是目录")):
        assert main(tiny_args(corpus, out_dir)) == 2
        captured = capsys.readouterr()
        assert message in one_line(captured.err) and captured.out == ""          # 还没开始训练
    monkeypatch.setattr(os, "access", lambda path, mode: False)                   # 没有写入权限（root 也能模拟）
    assert main(tiny_args(corpus, tmp_path / "new")) == 2
    assert "没有写入权限 (permission denied)" in one_line(capsys.readouterr().err)

    def disk_full(obj, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.undo()
    monkeypatch.setattr(training, "save", disk_full)
    assert main(tiny_args(corpus, tmp_path / "full")) == 2
    assert "磁盘空间不足 (no space left on device)" in one_line(capsys.readouterr().err)


def test_unexpected_errors_and_memory_errors_are_one_line(corpus, tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(training, "train", boom)
    assert main(tiny_args(corpus, tmp_path / "a")) == 1
    err = one_line(capsys.readouterr().err)
    assert "意外的错误 (ZeroDivisionError)" in err and "TINYGRAD_ZH_DEBUG=1" in err

    def oom(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(training, "train", oom)
    assert main(tiny_args(corpus, tmp_path / "b")) == 1
    assert "内存不足 (MemoryError)" in one_line(capsys.readouterr().err)


def test_a_closed_pipe_is_quiet(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "tinygrad_zh", "lessons"], cwd=tmp_path, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                          # 像 `| head` 那样，读的一方先走了
    err = proc.stderr.read().decode("utf-8")
    proc.wait(timeout=60)
    assert err == "" and proc.returncode == cli.EXIT_BROKEN_PIPE


def test_help_documents_the_new_flags(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--overwrite" in out and "--skip-nonfinite" in out and "SIGTERM" in out and "nan / inf" in out
    assert main(["sample", "--help"]) == 0
    out = capsys.readouterr().out
    assert "最多 1000" in out and "贪心解码" in out and "Ctrl-C" in out
