"""GPT 与 PyTorch 对照（可选，没装 torch 时跳过）：同一份权重在 PyTorch 里按 nanoGPT 的结构写一遍，
比较 logits、损失与每个参数的梯度；再比较 scaled_dot_product_attention 与 PyTorch 的同名函数。"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_zh as tg  # noqa: E402
import tinygrad_zh.nn.functional as F  # noqa: E402
from tinygrad_zh.models import GPT, GPTConfig  # noqa: E402

pytestmark = pytest.mark.torch
tnn, TF = torch.nn, torch.nn.functional


class TorchGPT(tnn.Module):
    """nanoGPT 的结构（同样的模块名，所以 state_dict 的键相同）。"""

    def __init__(self, cfg):
        super().__init__()
        C, self.cfg = cfg.n_embd, cfg

        def block():
            b = tnn.Module()
            b.ln_1, b.ln_2 = tnn.LayerNorm(C, bias=cfg.bias), tnn.LayerNorm(C, bias=cfg.bias)
            b.attn = tnn.Module()
            b.attn.c_attn, b.attn.c_proj = tnn.Linear(C, 3 * C, bias=cfg.bias), tnn.Linear(C, C, bias=cfg.bias)
            b.mlp = tnn.Module()
            b.mlp.c_fc, b.mlp.c_proj = tnn.Linear(C, 4 * C, bias=cfg.bias), tnn.Linear(4 * C, C, bias=cfg.bias)
            return b
        self.transformer = tnn.ModuleDict(dict(
            wte=tnn.Embedding(cfg.vocab_size, C), wpe=tnn.Embedding(cfg.block_size, C),
            h=tnn.ModuleList([block() for _ in range(cfg.n_layer)]), ln_f=tnn.LayerNorm(C, bias=cfg.bias)))
        self.lm_head = tnn.Linear(C, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx, targets):
        B, T = idx.shape
        C, H = self.cfg.n_embd, self.cfg.n_head
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
        for b in self.transformer.h:
            q, k, v = b.attn.c_attn(b.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
            y = TF.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
            x = x + b.attn.c_proj(y)
            x = x + b.mlp.c_proj(TF.gelu(b.mlp.c_fc(b.ln_2(x))))
        logits = self.lm_head(self.transformer.ln_f(x))
        return logits, TF.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


@pytest.mark.parametrize("bias", [True, False])
def test_gpt_logits_loss_and_grads_match_pytorch(bias):
    tg.manual_seed(0)
    cfg = GPTConfig(block_size=8, vocab_size=13, n_layer=2, n_head=2, n_embd=16, bias=bias)
    ours = GPT(cfg).double()
    ref = TorchGPT(cfg).double()
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    idx = np.random.default_rng(0).integers(0, 13, (3, 8))
    tgt = np.random.default_rng(1).integers(0, 13, (3, 8))
    tgt[0, :3] = -1
    logits, loss = ours(tg.tensor(idx), tg.tensor(tgt))
    loss.backward()
    rlogits, rloss = ref(torch.from_numpy(idx), torch.from_numpy(tgt))
    rloss.backward()
    np.testing.assert_allclose(logits.detach().numpy(), rlogits.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert loss.item() == pytest.approx(rloss.item(), rel=1e-12)
    grads = {n: p.grad.numpy() for n, p in ours.named_parameters()}
    for n, p in ref.named_parameters():
        np.testing.assert_allclose(grads[n], p.grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("mask", ["none", "causal", "bool", "float"])
def test_sdpa_matches_pytorch(mask):
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2)])
    u = rng.standard_normal((2, 3, 4, 2))
    m = {"none": None, "causal": None, "bool": rng.random((4, 6)) > 0.3, "float": rng.standard_normal((4, 6))}[mask]
    if m is not None and m.dtype == bool:
        m[:, 0] = True
    ours = [tg.tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=None if m is None else tg.tensor(m),
                                         is_causal=mask == "causal", scale=0.7)
    rout = TF.scaled_dot_product_attention(*theirs, attn_mask=None if m is None else torch.tensor(m),
                                           is_causal=mask == "causal", scale=0.7)
    out.backward(tg.tensor(u))
    rout.backward(torch.tensor(u))
    np.testing.assert_allclose(out.detach().numpy(), rout.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert math.isfinite(out.sum().item())
