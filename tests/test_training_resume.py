"""检查点 (checkpoint)：训练到一半保存模型、优化器、学习率调度器与随机数状态，
从文件恢复后继续训练，结果与从未中断的训练逐位 (bit-for-bit) 相同。"""

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim
from tinygrad_zh.data import DataLoader, TensorDataset


def make_run(seed=0):
    """新建模型、优化器、调度器和数据加载器；数据本身总是同一份（相当于磁盘上的数据文件）。"""
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Dropout(0.1), nn.LayerNorm(16), nn.Linear(16, 3))
    opt = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    sched = optim.lr_scheduler.WarmupCosineLR(opt, warmup_steps=3, total_steps=20, min_lr=1e-3)
    rng = np.random.default_rng(0)
    ds = TensorDataset(rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 3, 64))
    gen = tg.Generator().manual_seed(seed)
    loader = DataLoader(ds, batch_size=16, shuffle=True, generator=gen)
    return model, opt, sched, loader, gen


def train(model, opt, sched, loader, steps, start=0):
    losses, step = [], start
    while step < start + steps:
        for x, y in loader:
            if step >= start + steps:
                break
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
    return losses


def test_resumed_training_is_bit_for_bit_identical(tmp_path):
    # 不中断：一口气训练 12 步
    model, opt, sched, loader, gen = make_run()
    reference = train(model, opt, sched, loader, 12)
    reference_weights = model.state_dict()

    # 中断：训练 8 步（正好两个 epoch）后把一切存进检查点，换一套全新的对象恢复，再训练 4 步
    model, opt, sched, loader, gen = make_run()
    first = train(model, opt, sched, loader, 8)
    path = tmp_path / "ckpt.npz"
    tg.save({"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict(), "step": 8,
             "rng": tg.default_generator.get_state(), "loader_rng": gen.get_state()}, path)
    del model, opt, sched

    model, opt, sched, loader, gen = make_run(seed=123)  # 故意换个种子：状态必须全部来自检查点
    ckpt = tg.load(path)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optim"])
    sched.load_state_dict(ckpt["sched"])
    tg.default_generator.set_state(ckpt["rng"])
    gen.set_state(ckpt["loader_rng"])
    rest = train(model, opt, sched, loader, 4, start=ckpt["step"])

    assert first + rest == reference  # Python float 逐位相等
    for name, value in model.state_dict().items():
        assert np.array_equal(value, reference_weights[name]), name

