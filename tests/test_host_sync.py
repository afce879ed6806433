"""GPU 上的训练一步不等主机、少发核函数：在严格替身设备上数主机同步与数组运算。

严格替身设备 ``"strict"`` 记下每一次设备 → 主机的搬运（在 CuPy 上就是一次同步）、主机 → 设备的搬运和
每一次数组运算（约等于一次核函数发射）。这里断言：完整的 GPT 训练一步（前向、反向、裁剪、AdamW）与
生成一个词元都不同步；优化器一步的运算次数与参数个数无关。
"""

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.nn.functional as F
from tinygrad_zh import nn, optim, training
from tinygrad_zh.models.gpt import GPT, GPTConfig
from tinygrad_zh.testing.strict import count_ops

from conftest import to_host


def tiny_gpt(n_layer=2, dropout=0.1, device="strict"):
    tg.manual_seed(0)
    cfg = GPTConfig(block_size=16, vocab_size=50, n_layer=n_layer, n_head=2, n_embd=32, dropout=dropout)
    return GPT(cfg).to(device)


def batch(device="strict"):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 400)
    return training.get_batch(ids, 16, 4, rng, device)


def one_step_counts(n_layer):
    model = tiny_gpt(n_layer)
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95))
    x, y = batch()
    training.train_step(model, opt, x, y, grad_clip=1.0)   # 第一步建好优化器的状态
    with count_ops() as step:
        loss, grad_norm = training.train_step(model, opt, x, y, grad_clip=1.0, update=False)
        with count_ops() as update:
            opt.step()
    return step, update, loss, grad_norm


def test_a_gpt_training_step_never_waits_for_the_device():
    step, update, loss, grad_norm = one_step_counts(2)
    assert step.device_to_host == 0, "训练的一步里不应有设备 → 主机的搬运（GPU 上每次都要同步）"
    # 主机 → 设备的只有 dropout 的随机数（替身设备在主机上生成再搬过去；GPU 上在显存里生成，不搬）：
    # 嵌入之后 1 处，每层 3 处（注意力概率、注意力输出、MLP 输出）
    assert step.host_to_device == 1 + 3 * 2
    assert update.launches < 40 and step.launches > 300         # 计数确实在数
    with count_ops() as fetch:
        loss.item(), grad_norm.item()
    assert fetch.device_to_host == 2                             # 取数时才同步，计数器看得见


def test_optimizer_step_launches_do_not_grow_with_the_number_of_parameters():
    small, update_small, _, _ = one_step_counts(2)
    big, update_big, _, _ = one_step_counts(4)
    assert len(list(tiny_gpt(4).parameters())) > len(list(tiny_gpt(2).parameters())) + 20
    assert update_small.launches == update_big.launches          # 多张量 (foreach) 更新：O(1) 次运算
    assert update_big.device_to_host == 0 and update_big.host_to_device == 0


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adagrad(ps, lr=0.1),
                                  lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
                                  lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True)],
                         ids=["SGD", "Adagrad", "RMSprop", "Adam"])
def test_every_optimizer_is_o1_launches(make):
    launches = []
    for n in (3, 30):
        params = [tg.randn(4, 5, device="strict", requires_grad=True) for _ in range(n)]
        opt = make(params)
        for _ in range(2):
            for p in params:
                p.grad = tg.ones(4, 5, device="strict")
            with count_ops() as c:
                opt.step()
        launches.append(c.launches)
        assert c.device_to_host == 0
    assert launches[0] == launches[1]


def test_flat_parameters_are_views_and_state_dict_stays_per_parameter():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([[3.0], [4.0]], requires_grad=True)
    opt = optim.AdamW([a, b], lr=0.1)
    a.grad, b.grad = tg.tensor([1.0, -1.0]), tg.tensor([[0.5], [0.5]])
    opt.step()
    assert a.data.base is not None and a.data.base is b.data.base      # 两个参数住在同一块内存里
    assert opt.state[b]["exp_avg"].shape == (2, 1)
    sd = opt.state_dict()
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"] and sd["state"][1]["exp_avg"].shape == (2, 1)
    # 换掉参数的数组（如 load_state_dict、.to()）：下一步重新摊平，更新落在新数组上
    a.data = np.array([10.0, 20.0], dtype=np.float32)
    opt.step()
    assert a.data.base is b.data.base and a.data[0] < 10.0


def test_training_between_log_steps_costs_no_sync(tmp_path):
    """在替身设备上训练：多跑 20 步只多一次同步（取回那 20 步的损失），与步数无关。"""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("床前明月光，疑是地上霜。举头望明月，低头思故乡。" * 40, encoding="utf-8")

    def d2h(steps):
        cfg = training.TrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=4, max_steps=steps,
                                   warmup_steps=2, eval_interval=1000, eval_batches=1, data=str(corpus),
                                   out_dir=str(tmp_path / f"run{steps}"), device="strict", dropout=0.1)
        with count_ops() as c:
            result = training.train(cfg, progress=False, verbose=False, log_interval=20)
        assert all(np.isfinite(result.history["loss"]))
        return c.device_to_host
    assert d2h(40) - d2h(20) == 1


def test_nonfinite_steps_are_found_at_the_next_log_step_and_nothing_is_saved(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("床前明月光，疑是地上霜。举头望明月，低头思故乡。" * 40, encoding="utf-8")
    cfg = training.TrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=4, max_steps=20,
                               warmup_steps=2, eval_interval=10, eval_batches=1, data=str(corpus),
                               out_dir=str(tmp_path / "run"), device="cpu", learning_rate=1e300, min_lr=0.0)
    with pytest.raises(training.NonFiniteError, match=r"第 \d+ 步的损失 \(loss\).*没有写检查点"):
        training.train(cfg, progress=False, verbose=False, log_interval=5)
    assert not (tmp_path / "run" / "ckpt.npz").exists()


def test_generating_a_token_stays_on_the_device():
    model = tiny_gpt(2)
    prompt = tg.tensor([[1, 2, 3]], device="strict")
    model.generate(prompt, 2, temperature=0.8, top_k=10)
    counts = []
    for n in (1, 3):
        with count_ops() as c:
            out = model.generate(prompt, n, temperature=0.8, top_k=10, top_p=0.9)
        counts.append(c)
        assert c.device_to_host == 0 and out.device == "strict"
    # 每个词元只搬一个数上设备（不是同步）：抽样用的均匀随机数（替身设备在主机上生成；GPU 上在显存里生成，不搬）
    assert counts[1].host_to_device - counts[0].host_to_device == 2 * 1
    greedy = []
    for n in (1, 3):
        with count_ops() as c:
            model.generate(prompt, n, temperature=0.0)
        greedy.append(c)
    # 贪心：多生成的词元一次搬运也没有（剩下的几次是开头处理提示时的因果掩码，每次 generate 一份）
    assert greedy[1].host_to_device == greedy[0].host_to_device and greedy[1].device_to_host == 0


def test_range_checks_sync_only_when_debugging():
    table = tg.randn(6, 3, device="strict")
    bad = tg.tensor([0, 9], device="strict")
    logits, target = tg.randn(2, 3, device="strict"), tg.tensor([0, 7], device="strict")
    assert tg.get_debug_checks() is None
    with count_ops() as c:
        F.embedding(tg.tensor([0, 5], device="strict"), table)
        F.cross_entropy(logits, tg.tensor([0, 2], device="strict"))
    assert c.device_to_host == 0
    old = tg.set_debug_checks(True)
    try:
        with pytest.raises(IndexError, match=r"6 行.*\[0, 9\]"):
            F.embedding(bad, table)
        with pytest.raises(IndexError, match="目标类别越界"):
            F.cross_entropy(logits, target)
        with pytest.raises(RuntimeError, match="one_hot"):
            F.one_hot(tg.tensor([0, 5], device="strict"), num_classes=3)
        with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
            F.binary_cross_entropy(tg.tensor([0.5, 1.5], device="strict"), tg.tensor([0.0, 1.0], device="strict"))
        with count_ops() as c:
            F.embedding(tg.tensor([0, 5], device="strict"), table)
        assert c.device_to_host == 1                               # 调试时：一次同步取回最小、最大值
        tg.set_debug_checks(False)
        with pytest.raises(IndexError):                            # 不检查时 NumPy 自己报错（英文）
            F.embedding(tg.tensor([0, 9]), tg.randn(6, 3))
    finally:
        tg.set_debug_checks(old)
    with pytest.raises(TypeError, match="set_debug_checks"):
        tg.set_debug_checks("yes")


def test_dropout_masks_are_float32_and_reproducible(device):
    x = tg.ones(1000, device=device)
    tg.manual_seed(3)
    a = F.dropout(x, 0.5)
    tg.manual_seed(3)
    b = F.dropout(x, 0.5)
    assert a.dtype == tg.float32 and np.array_equal(to_host(a), to_host(b))
    assert set(np.unique(to_host(a)).tolist()) == {0.0, 2.0}


def test_tf32_switch_is_harmless_without_a_gpu():
    if tg.cuda.is_available():
        pytest.skip("有 GPU：TF32 在 tests/test_gpu.py 里测")
    assert tg.cuda.get_allow_tf32() is False
    assert tg.cuda.set_allow_tf32(True) is False and tg.cuda.get_allow_tf32() is True
    tg.cuda.set_allow_tf32(False)


def test_grad_clipping_launches_do_not_grow_with_the_number_of_parameters():
    counts = []
    for n_layer in (2, 4):
        model = tiny_gpt(n_layer, dropout=0.0)
        x, y = batch()
        model(x, y)[1].backward()
        with count_ops() as c:
            total = nn.utils.clip_grad_norm_(model.parameters(), 1e-3)
        counts.append((c.launches, c.device_to_host))
        grads = np.concatenate([p.grad.cpu().numpy().ravel() for p in model.parameters()])
        assert np.linalg.norm(grads) == pytest.approx(1e-3, rel=1e-3) and total.item() > 1e-3   # 真的裁剪了
    assert counts[0] == counts[1] and counts[0][1] == 0 and counts[0][0] < 10, counts
