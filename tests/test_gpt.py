"""models.gpt：nanoGPT 的参数名与形状、初始化、损失、因果性、整体梯度、键值缓存、训练能把损失降下来。"""

import math

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh import nn
from tinygrad_zh.models import GPT, GPTConfig

from conftest import to_host

TINY = dict(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8)


def nanogpt_shapes(V, T, L, C, bias=True):
    """nanoGPT（karpathy/nanoGPT 的 model.py）的 state_dict 键与形状，按它的定义逐项写出。"""
    out = {"transformer.wte.weight": (V, C), "transformer.wpe.weight": (T, C)}
    for i in range(L):
        h = f"transformer.h.{i}."
        layers = [("ln_1", (C,), None), ("attn.c_attn", (3 * C, C), (3 * C,)), ("attn.c_proj", (C, C), (C,)),
                  ("ln_2", (C,), None), ("mlp.c_fc", (4 * C, C), (4 * C,)), ("mlp.c_proj", (C, 4 * C), (C,))]
        for name, w, b in layers:
            out[h + name + ".weight"] = w
            if bias:
                out[h + name + ".bias"] = b or w
    out["transformer.ln_f.weight"] = (C,)
    if bias:
        out["transformer.ln_f.bias"] = (C,)
    out["lm_head.weight"] = (V, C)
    return out


@pytest.mark.parametrize("bias", [True, False])
def test_parameter_names_shapes_and_count_are_nanogpts(bias):
    cfg = GPTConfig(block_size=64, vocab_size=4689, n_layer=4, n_head=4, n_embd=128, bias=bias)
    model = GPT(cfg)
    sd = model.state_dict()
    assert {k: v.shape for k, v in sd.items()} == nanogpt_shapes(4689, 64, 4, 128, bias)
    assert list(sd) == list(nanogpt_shapes(4689, 64, 4, 128, bias))   # 顺序也一样
    assert model.lm_head.weight is model.transformer.wte.weight
    # 绑定的两个名字给出同一个数组副本（同 PyTorch 的共享存储），tg.save 只存一份
    assert sd["lm_head.weight"] is sd["transformer.wte.weight"]
    assert not np.shares_memory(sd["lm_head.weight"], model.lm_head.weight.detach().numpy())
    L, C, V = 4, 128, 4689
    expected = 12 * L * C * C + V * C + (13 * L * C + 2 * C if bias else 2 * L * C + C)
    assert model.get_num_params() == expected
    assert model.get_num_params(non_embedding=False) == expected + 64 * C
    if bias:
        assert model.get_num_params() == 1_393_536      # 默认 CPU 配置


def test_gpt2_initialisation():
    tg.manual_seed(0)
    model = GPT(GPTConfig(block_size=32, vocab_size=500, n_layer=6, n_head=4, n_embd=128))
    sd = model.state_dict()
    assert sd["transformer.h.0.attn.c_attn.weight"].std() == pytest.approx(0.02, rel=0.02)
    assert sd["transformer.wte.weight"].std() == pytest.approx(0.02, rel=0.02)
    for name in ("attn.c_proj", "mlp.c_proj"):
        w = np.concatenate([sd[f"transformer.h.{i}.{name}.weight"].ravel() for i in range(6)])
        assert w.std() == pytest.approx(0.02 / math.sqrt(12), rel=0.02)
    assert all(np.all(v == 0) for k, v in sd.items() if k.endswith(".bias"))
    assert all(np.all(v == 1) for k, v in sd.items() if k.endswith("ln_1.weight") or k.endswith("ln_f.weight"))


def test_initial_loss_is_about_ln_v_and_loss_is_mean_cross_entropy():
    tg.manual_seed(0)
    V = 4689
    model = GPT(GPTConfig(block_size=16, vocab_size=V, n_layer=2, n_head=2, n_embd=32))
    idx, tgt = tg.randint(0, V, (8, 16)), tg.randint(0, V, (8, 16))
    logits, loss = model(idx, tgt)
    assert logits.shape == (8, 16, V) and loss.shape == ()
    assert abs(loss.item() - math.log(V)) < 0.1
    z = logits.detach().numpy().astype(np.float64).reshape(-1, V)
    logp = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    t = tgt.numpy().reshape(-1)
    assert loss.item() == pytest.approx(-logp[np.arange(t.size), t].mean(), rel=1e-5)
    # targets 为 −1 的位置不计入平均
    t2 = tgt.numpy().copy()
    t2[:, :10] = -1
    _, loss2 = model(idx, tg.tensor(t2))
    keep = t2.reshape(-1) >= 0
    assert loss2.item() == pytest.approx(-logp[np.arange(t.size), np.maximum(t2.reshape(-1), 0)][keep].mean(), rel=1e-5)
    assert model(idx)[1] is None


def test_the_model_is_causal(device):
    tg.manual_seed(1)
    model = GPT(GPTConfig(**TINY)).to(device)
    idx = tg.randint(0, 11, (2, 8))
    changed = idx.numpy().copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    a = to_host(model(idx.to(device))[0])
    b = to_host(model(tg.tensor(changed, device=device))[0])
    assert np.array_equal(a[:, :5], b[:, :5]) and not np.allclose(a[:, 5:], b[:, 5:])


def test_whole_model_gradient_matches_central_differences(device):
    """float64 整体检验：损失沿随机方向 d 的中心差分 ≈ Σ grad·d（覆盖每一个参数，包括绑定的权重）。"""
    tg.manual_seed(2)
    model = GPT(GPTConfig(**TINY, dropout=0.0)).double().to(device)
    idx, tgt = tg.randint(0, 11, (3, 8), device=device), tg.randint(0, 11, (3, 8), device=device)
    params = list(model.parameters())
    _, loss = model(idx, tgt)
    loss.backward()
    rng = np.random.default_rng(0)
    for _ in range(3):
        dirs = [rng.standard_normal(p.shape) for p in params]
        analytic = sum(float((to_host(p.grad) * d).sum()) for p, d in zip(params, dirs))
        base = [to_host(p).copy() for p in params]
        vals = []
        for sign in (1, -1):
            with tg.no_grad():
                for p, b, d in zip(params, base, dirs):
                    p.data = tg.tensor(b + sign * 1e-6 * d, device=device).data
                vals.append(model(idx, tgt)[1].item())
        with tg.no_grad():
            for p, b in zip(params, base):
                p.data = tg.tensor(b, device=device).data
        numeric = (vals[0] - vals[1]) / 2e-6
        assert numeric == pytest.approx(analytic, rel=1e-5, abs=1e-8)


def test_configure_optimizers_decays_only_2d_weights():
    model = GPT(GPTConfig(**TINY))
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=3e-4, betas=(0.9, 0.95))
    assert isinstance(opt, tg.optim.AdamW)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    # 2 个嵌入表（lm_head 与 wte 是同一个）+ 每层 4 个矩阵
    assert len(decay["params"]) == 2 + 4 * 2 and len(no_decay["params"]) == 2 * 8 + 2
    assert opt.param_groups[0]["lr"] == 3e-4 and opt.param_groups[0]["betas"] == (0.9, 0.95)


def test_loads_a_nanogpt_state_dict_including_old_mask_buffers():
    cfg = GPTConfig(**TINY)
    rng = np.random.default_rng(0)
    sd = {k: rng.standard_normal(s).astype(np.float32) for k, s in nanogpt_shapes(11, 8, 2, 8).items()}
    sd["lm_head.weight"] = sd["transformer.wte.weight"]          # nanoGPT 存盘时绑定的权重两个键都有
    for i in range(2):                                            # 没有 flash attention 的旧版 nanoGPT 还存了因果掩码
        sd[f"transformer.h.{i}.attn.bias"] = np.tril(np.ones((8, 8), np.float32)).reshape(1, 1, 8, 8)
    model = GPT(cfg)
    model.load_state_dict(sd)
    assert np.array_equal(model.lm_head.weight.detach().numpy(), sd["transformer.wte.weight"])
    assert model.lm_head.weight is model.transformer.wte.weight
    assert np.array_equal(model.state_dict()["transformer.h.1.mlp.c_fc.bias"], sd["transformer.h.1.mlp.c_fc.bias"])


@pytest.mark.parametrize("kwargs", [dict(temperature=0.0), dict(temperature=1.0), dict(temperature=0.8, top_k=5),
                                    dict(temperature=1.2, top_p=0.9), dict(temperature=0.7, top_k=4, top_p=0.8)])
def test_kv_cache_gives_the_same_tokens_as_the_full_recompute(device, kwargs):
    tg.manual_seed(3)
    # float64：缓存与重算走的是不同形状的矩阵乘法，float32 下 logits 差在舍入上，GPU 上偶尔会让抽样落到
    # 相邻的词元；float64 下这种差别约 1e−16，比较词元才是比较算法本身
    model = GPT(GPTConfig(**TINY)).double().to(device)
    prompt = tg.randint(0, 11, (2, 3), device=device)
    # 3 + 12 > block_size 8：后面几步上下文窗口在滑动
    a = model.generate(prompt, 12, generator=tg.Generator(5), use_cache=True, **kwargs)
    b = model.generate(prompt, 12, generator=tg.Generator(5), use_cache=False, **kwargs)
    assert a.shape == (2, 15) and a.device == device
    assert np.array_equal(to_host(a), to_host(b))
    assert np.array_equal(to_host(a)[:, :3], to_host(prompt))


def test_kv_cache_processes_one_token_per_step(monkeypatch):
    """有缓存时，填充提示之后每步只有 1 个词元穿过网络（直到窗口满了）。"""
    model = GPT(GPTConfig(block_size=16, vocab_size=11, n_layer=1, n_head=2, n_embd=8))
    seen = []
    attn = model.transformer.h[0].attn
    original = type(attn).forward
    monkeypatch.setattr(type(attn), "forward", lambda self, x, *a: (seen.append(x.shape[1]), original(self, x, *a))[1])
    model.generate(tg.tensor([[1, 2, 3, 4]]), 6, use_cache=True)
    assert seen == [4, 1, 1, 1, 1, 1]
    seen.clear()
    model.generate(tg.tensor([[1, 2, 3, 4]]), 6, use_cache=False)
    assert seen == [4, 5, 6, 7, 8, 9]


def test_generate_greedy_matches_argmax_and_restores_training_mode():
    tg.manual_seed(4)
    model = GPT(GPTConfig(**TINY, dropout=0.1))
    model.train()
    prompt = tg.tensor([3, 1, 4])
    out = model.generate(prompt, 1, temperature=0)
    assert out.shape == (4,) and model.training
    model.eval()
    assert out[-1].item() == model(prompt.unsqueeze(0))[0][0, -1].argmax().item()
    assert np.array_equal(model.generate(prompt, 5, top_k=1).numpy(), model.generate(prompt, 5, temperature=0).numpy())


def test_training_a_few_dozen_steps_drives_the_loss_far_below_ln_v():
    tg.manual_seed(0)
    text = "人工智能让机器学会思考。" * 40
    chars = sorted(set(text))
    data = np.array([chars.index(c) for c in text])
    V = len(chars)
    model = GPT(GPTConfig(block_size=16, vocab_size=V, n_layer=2, n_head=2, n_embd=32))
    opt = model.configure_optimizers(0.1, 3e-3, (0.9, 0.99))
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(40):
        i = rng.integers(0, len(data) - 17, 8)
        x = tg.tensor(np.stack([data[j:j + 16] for j in i]))
        y = tg.tensor(np.stack([data[j + 1:j + 17] for j in i]))
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    assert abs(losses[0] - math.log(V)) < 0.1
    assert losses[-1] < 0.25 * math.log(V)


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="整除"):
        GPTConfig(n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="block_size"):
        GPTConfig(block_size=0)
    with pytest.raises(TypeError, match="GPTConfig"):
        GPT(dict(TINY))
    model = GPT(GPTConfig(**TINY))
    with pytest.raises(ValueError, match=r"T=9.*block_size=8"):
        model(tg.zeros(1, 9, dtype=tg.int64))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(tg.zeros(5, dtype=tg.int64))
    with pytest.raises(ValueError, match="targets"):
        model(tg.zeros(2, 5, dtype=tg.int64), tg.zeros(2, 4, dtype=tg.int64))
    with pytest.raises(IndexError, match="下标越界"):
        model(tg.full((1, 3), 11, dtype=tg.int64))
    with pytest.raises(ValueError, match="top_k"):
        model.generate(tg.tensor([1]), 2, top_k=0)


def test_a_training_step_on_any_device_matches_cpu(device):
    """同一份权重、同一个批量：在 device 上走一步 AdamW 的损失与参数与 CPU 一致（GPU 上到 float32 舍入）；
    带 dropout 时也能在该设备上训练（GPU 上的掩码在显存里生成）。"""
    cfg = GPTConfig(block_size=16, vocab_size=37, n_layer=2, n_head=2, n_embd=16)
    tg.manual_seed(0)
    ref = GPT(cfg)
    moved = GPT(cfg)
    moved.load_state_dict(ref.state_dict())
    moved.to(device)
    x, y = tg.randint(0, 37, (4, 16)), tg.randint(0, 37, (4, 16))
    results = []
    for model, dev in ((ref, "cpu"), (moved, device)):
        opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
        _, loss = model(x.to(dev), y.to(dev))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        grads = {name: to_host(p.grad) for name, p in model.named_parameters()}
        opt.step()
        results.append((loss.item(), model.state_dict(), grads))
    (l0, sd0, g0), (l1, sd1, g1) = results
    assert l1 == pytest.approx(l0, rel=1e-5)
    for k in g0:
        np.testing.assert_allclose(g1[k], g0[k], rtol=1e-3, atol=1e-6, err_msg=k)
    # AdamW 的第一步把每个元素移动 lr·g/(|g| + ε) ≈ ±lr：梯度接近 0 的元素，float32 的舍入差别就能翻转
    # 符号，差出 2·lr。所以只在 |g| 明显大于舍入误差的元素上逐个比较，其余的只要求差不超过 2·lr
    lr = 1e-3
    for k in sd0:
        g = g0[k if k in g0 else "transformer.wte.weight"]
        clear = np.abs(g) > 1e-4
        np.testing.assert_allclose(sd1[k][clear], sd0[k][clear], rtol=1e-4, atol=1e-6, err_msg=k)
        assert np.all(np.abs(sd1[k] - sd0[k]) <= 2 * lr + 1e-6), k
    noisy = GPT(GPTConfig(block_size=16, vocab_size=37, n_layer=1, n_head=2, n_embd=16, dropout=0.2)).to(device)
    tg.manual_seed(1)
    a = noisy(x.to(device), y.to(device))[1].item()
    tg.manual_seed(1)
    assert noisy(x.to(device), y.to(device))[1].item() == a      # 同一个种子，同样的掩码
    assert noisy(x.to(device), y.to(device))[1].item() != a      # 下一次掩码不同
