"""tinygrad_zh.models：形状、一次前向 + 反向、generate 的长度与可复现性（在 CPU 与严格替身设备上各跑一遍）。"""

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.nn.functional as F
from tinygrad_zh.models import MLP, RNNLM, LeNet, SentimentRNN


def _all_params_have_grad(model):
    return all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


def test_mlp_shapes_and_backward(device):
    tg.manual_seed(0)
    model = MLP((64, 32, 10)).to(device)
    x = tg.randn(5, 64, device=device)
    out = model(x)
    assert out.shape == (5, 10) and out.device == device
    F.cross_entropy(out, tg.tensor([0, 1, 2, 3, 4], device=device)).backward()
    assert _all_params_have_grad(model)
    with pytest.raises(ValueError):
        MLP((64,))


def test_lenet_shapes_feature_maps_and_backward(device):
    tg.manual_seed(0)
    model = LeNet().to(device)
    x = tg.randn(3, 1, 8, 8, device=device)
    logits = model(x)
    assert logits.shape == (3, 10)
    maps = model.feature_maps(x)
    assert maps["conv1"].shape == (3, 16, 8, 8) and maps["pool"].shape == (3, 16, 4, 4)
    assert maps["conv2"].shape == (3, 32, 4, 4)
    assert np.allclose(maps["logits"].detach().cpu().numpy(), logits.detach().cpu().numpy(), atol=1e-6)
    F.cross_entropy(logits, tg.tensor([1, 2, 3], device=device)).backward()
    assert _all_params_have_grad(model)
    # 其他尺寸与类别数
    assert LeNet(num_classes=3, in_channels=3, channels=(4, 8), hidden=16, image_size=6).to(device)(
        tg.randn(2, 3, 6, 6, device=device)).shape == (2, 3)
    with pytest.raises(ValueError):
        LeNet(image_size=7)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_rnnlm_forward_state_and_backward(device, cell):
    tg.manual_seed(0)
    V = 11
    model = RNNLM(V, embed_dim=4, hidden_size=6, cell=cell).to(device)
    idx = tg.randint(0, V, (2, 5), device=device)
    logits, state = model(idx)
    assert logits.shape == (2, 5, V)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (1, 2, 6)
    # 把序列分两段、状态接着传，与一次读完结果相同
    a, s1 = model(idx[:, :3])
    b, _ = model(idx[:, 3:], s1)
    assert np.allclose(tg.cat([a, b], dim=1).detach().cpu().numpy(), logits.detach().cpu().numpy(), atol=1e-5)
    loss = F.cross_entropy(logits.reshape(-1, V), tg.randint(0, V, (10,), device=device))
    loss.backward()
    assert _all_params_have_grad(model)
    detached = RNNLM.detach_state(state)
    assert all(not s.requires_grad for s in (detached if cell == "lstm" else (detached,)))
    assert RNNLM.detach_state(None) is None


def test_rnnlm_generate_length_reproducible_and_greedy(device):
    tg.manual_seed(0)
    V = 13
    model = RNNLM(V, embed_dim=4, hidden_size=8).to(device)
    prompt = tg.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    out1 = model.generate(prompt, max_new_tokens=7, temperature=0.8, generator=tg.Generator().manual_seed(1))
    out2 = model.generate(prompt, max_new_tokens=7, temperature=0.8, generator=tg.Generator().manual_seed(1))
    assert out1.shape == (2, 10) and out1.dtype == tg.int64
    assert out1.tolist() == out2.tolist()
    assert out1[:, :3].tolist() == prompt.tolist()
    assert all(0 <= v < V for v in np.asarray(out1.tolist()).ravel())
    one = model.generate(tg.tensor([1, 2], device=device), max_new_tokens=4, temperature=0)
    assert one.shape == (6,)
    # 温度 0 是贪心：每一步都是 argmax
    logits, _ = model(one[:-1].unsqueeze(0))
    assert logits[0, 1:].argmax(dim=-1).tolist() == one[2:].tolist()
    assert model.training  # generate 之后恢复训练模式
    with pytest.raises(ValueError):
        model.generate(prompt, 3, temperature=-1.0)


def test_sentiment_rnn_uses_last_valid_step(device):
    tg.manual_seed(0)
    pad = 9
    model = SentimentRNN(10, embed_dim=4, hidden_size=5, padding_idx=pad).to(device)
    x = tg.tensor([[1, 2, 3], [4, pad, pad]], device=device)
    out = model(x, lengths=[3, 1])
    assert out.shape == (2, 2)
    # 第二句只有 1 个字：与单独送进去、不补填充的结果相同
    alone = model(tg.tensor([[4]], device=device))
    assert np.allclose(out[1].detach().cpu().numpy(), alone[0].detach().cpu().numpy(), atol=1e-6)
    F.cross_entropy(out, tg.tensor([0, 1], device=device)).backward()
    assert model.embedding.weight.grad[pad].abs().max().item() == 0.0   # 填充行不接收梯度
    with pytest.raises(ValueError):
        model(x, lengths=[3, 0])
    for cell in ("lstm", "rnn"):
        assert SentimentRNN(10, 4, 5, cell=cell).to(device)(x).shape == (2, 2)
    with pytest.raises(ValueError):
        SentimentRNN(10, cell="transformer")
