"""字符级 GPT（第 15–18 课）：与 nanoGPT 相同的结构、参数名与初始化。

结构（前置层规范化 (pre-LayerNorm) 的 Transformer 解码器）::

    x = wte[idx] + wpe[0..T−1]                       词元嵌入 + 位置嵌入
    重复 n_layer 次:
        x = x + attn(ln_1(x))                          多头因果自注意力
        x = x + mlp(ln_2(x))                           C → 4C → GELU → C
    logits = lm_head(ln_f(x))                         lm_head.weight 与 wte.weight 是同一个参数（权重绑定）

参数名与形状和 nanoGPT（https://github.com/karpathy/nanoGPT 的 model.py）完全一致，所以 nanoGPT 模型的
``state_dict``（把张量换成 NumPy 数组）可以直接 ``load_state_dict`` 进来，反过来也一样。
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .. import nn
from ..autograd import no_grad
from ..creation import arange, tensor
from ..nn import functional as F
from ..optim import AdamW
from ..sampling import prompt_batch, sample_next
from ..tensor import Tensor, cat


@dataclass
class GPTConfig:
    """GPT 的超参数（默认值与 nanoGPT 相同，即 GPT-2 small 的大小；用时请显式给出）。

    参数:
        block_size: 上下文长度（最多看多少个词元），也是位置嵌入表的行数。
        vocab_size: 词表大小 V。
        n_layer: Transformer 块的个数。
        n_head: 注意力头数，须整除 n_embd。
        n_embd: 嵌入维度 C（残差流的宽度）。
        dropout: 暂退概率（嵌入之后、注意力概率上、两个残差分支的输出上）。
        bias: Linear 与 LayerNorm 是否带偏置。
    """
    block_size: int = 1024
    vocab_size: int = 50304
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self):
        for name in ("block_size", "vocab_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"GPTConfig.{name} 必须是正整数，得到 {value!r}。")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} 不能被 n_head={self.n_head} 整除：每个头的维度 n_embd/n_head 必须是整数。")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig.dropout 必须在 [0, 1) 之内，得到 {self.dropout!r}。")

    def to_dict(self):
        return asdict(self)


class KVCache:
    """生成时的键值缓存 (KV cache)：每层预先分配 (B, H, block_size, D) 的键、值数组，逐步往后写。

    自回归生成的第 t 步只有最新的一个词元是新的；它之前的键和值在前面的步里已经算过。
    缓存它们，每步就只需让一个词元穿过网络，而不是整个上下文。
    """

    def __init__(self):
        self.layers = []      # 每层 [k 数组, v 数组]，第一次写入时分配
        self.length = 0       # 已缓存的位置数（所有层相同）

    def update(self, layer, k, v, max_len):
        """把第 ``layer`` 层新算出的 k、v（(B, H, T, D) 张量）写进缓存，返回到目前为止全部的键和值。"""
        if layer == len(self.layers):
            B, H, _, D = k.shape
            self.layers.append([k.xp.zeros((B, H, max_len, D), dtype=k.dtype) for _ in range(2)])
        kc, vc = self.layers[layer]
        start, end = self.length, self.length + k.shape[2]
        kc[:, :, start:end] = k.data
        vc[:, :, start:end] = v.data
        return Tensor(kc[:, :, :end]), Tensor(vc[:, :, :end])


class CausalSelfAttention(nn.Module):
    """多头因果自注意力 (multi-head causal self-attention)。

    一个 Linear 同时算出 q、k、v（``c_attn``：C → 3C），按头拆成 (B, H, T, D)，D = C/H，
    每个头做一次缩放点积注意力（融合运算 ``F.scaled_dot_product_attention``），再拼回 (B, T, C)
    经 ``c_proj`` 投影回残差流。
    """

    def __init__(self, config):
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.block_size = config.block_size

    def forward(self, x, kv_cache=None, layer=0):
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))   # (B, H, T, D)
        if kv_cache is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                               is_causal=True)
        else:
            start = kv_cache.length
            k, v = kv_cache.update(layer, k, v, self.block_size)
            # 新的 T 个查询位于 start…start+T−1，可以看见键 0…自己（右下角对齐的下三角）
            mask = None if T == 1 else (arange(T, device=x.device).view(T, 1) + start
                                        >= arange(start + T, device=x.device).view(1, start + T))
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))

    def _upgrade_state_dict(self, state_dict, prefix):
        # 旧版 nanoGPT（没有 flash attention 时）把因果掩码存成缓冲区 attn.bias (1, 1, T, T)；它不是参数，丢掉
        key = prefix + "bias"
        value = state_dict.get(key)
        if value is not None and len(getattr(value, "shape", ())) == 4:
            del state_dict[key]


class MLP(nn.Module):
    """逐位置的前馈网络：C → 4C → GELU（精确的 erf 形式，同 nanoGPT 的 ``nn.GELU()``）→ C。"""

    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Transformer 块：x + attn(ln_1(x))，再 x + mlp(ln_2(x))（先规范化再进分支，残差流本身不被规范化）。"""

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, kv_cache=None, layer=0):
        x = x + self.attn(self.ln_1(x), kv_cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """字符级 GPT 语言模型。

    参数:
        config: ``GPTConfig``。
    形状:
        ``idx``：``(B, T)`` 的 int64 词元编号，T ≤ block_size → ``logits``：``(B, T, V)``。

    初始化与 GPT-2 / nanoGPT 相同：Linear 与 Embedding 的权重 ~ N(0, 0.02²)，偏置为 0；
    每个残差分支的输出投影（``c_proj``）的标准差再除以 √(2·n_layer)——残差流上要加 2·n_layer 个分支，
    这样加完之后的方差与层数无关。

    例::

        >>> cfg = GPTConfig(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=32)
        >>> model = GPT(cfg)
        >>> logits, loss = model(tg.randint(0, 50, (4, 16)), tg.randint(0, 50, (4, 16)))
        >>> logits.shape, round(loss.item(), 1)      # 初始损失 ≈ ln 50 ≈ 3.9
        ((4, 16, 50), 3.9)
    """

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT 需要一个 GPTConfig，得到 {type(config).__name__}。")
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # 权重绑定 (weight tying)：输入嵌入与输出层共用一个 (V, C) 矩阵——“像哪个字”与“预测哪个字”用同一套向量，
        # 参数少了 V·C 个，两处的梯度自动相加
        self.lm_head.weight = self.transformer.wte.weight
        self.apply(self._init_weights)
        std = 0.02 / math.sqrt(2 * config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, std)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, 0.0, 0.02)

    def get_num_params(self, non_embedding=True):
        """参数个数（绑定的权重只算一次）；``non_embedding=True`` 时不算位置嵌入（nanoGPT 的报法）。"""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    def _hidden(self, idx, kv_cache=None):
        """嵌入 → n_layer 个块 → ln_f，返回 (B, T, C)。"""
        if not isinstance(idx, Tensor):
            idx = tensor(idx)
        if idx.ndim != 2:
            raise ValueError(f"GPT 的输入 idx 应为 (B, T) 的整数张量，得到形状 {idx.shape}。"
                             "提示：单个序列请写 idx.unsqueeze(0)。")
        T = idx.shape[1]
        start = 0 if kv_cache is None else kv_cache.length
        if T == 0 or start + T > self.config.block_size:
            raise ValueError(
                f"序列长度 (sequence length) T={start + T} 超出范围：应在 1…block_size={self.config.block_size} 之间。"
                "提示：生成时用 model.generate，它会把上下文裁剪到最近的 block_size 个词元。")
        pos = Tensor(idx.xp.arange(start, start + T))   # 直接在 idx 的设备上生成：生成时每个词元少一次主机 → 设备的搬运
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for i, block in enumerate(self.transformer.h):
            x = block(x, kv_cache, i)
        if kv_cache is not None:
            kv_cache.length += T
        return self.transformer.ln_f(x)

    def forward(self, idx, targets=None, kv_cache=None):
        """返回 ``(logits, loss)``。

        参数:
            idx: ``(B, T)`` 的词元编号。
            targets: ``(B, T)`` 的下一个词元编号（通常是 idx 向后错一位）；−1 的位置不计入损失。
            kv_cache: 生成时用的 ``KVCache``（只在 no_grad 下使用）；训练时不传。
        返回:
            logits ``(B, T, V)``（总是全部位置，nanoGPT 推理时只返回最后一个位置）；
            loss：所有位置交叉熵的平均（标量张量），没有 targets 时为 None。
        """
        logits = self.lm_head(self._hidden(idx, kv_cache))
        if targets is None:
            return logits, None
        if not isinstance(targets, Tensor):
            targets = tensor(targets, device=logits.device)
        if targets.shape != logits.shape[:2]:
            raise ValueError(f"形状不匹配 (shape mismatch)：targets 的形状应与 idx 相同 {logits.shape[:2]}，"
                             f"得到 {targets.shape}。")
        V = logits.shape[-1]
        loss = F.cross_entropy(logits.view(-1, V), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type=None):
        """AdamW，两个参数组：二维的权重（Linear 的矩阵、嵌入表）做权重衰减，偏置与 LayerNorm 的参数不做。

        衰减的用意是把“用来做乘法”的矩阵拉向 0；偏置和规范化的缩放只是平移、缩放，拉向 0 没有道理。
        ``device_type`` 只为与 nanoGPT 的签名兼容，不起作用。
        """
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        return AdamW(groups, lr=learning_rate, betas=tuple(betas))

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None,
                 use_cache=True):
        """自回归 (autoregressive) 生成：每步取最后一个位置的 logits，采样一个词元接到末尾。

        参数:
            idx: 提示，``(B, T)`` 或 ``(T,)`` 的整数张量，T ≥ 1。超过 block_size 时只看最近的 block_size 个。
            max_new_tokens: 生成的词元个数。
            temperature: 温度 τ ≥ 0；τ = 0 为贪心解码。
            top_k / top_p: 见 ``tinygrad_zh.sampling.sample_next``；``top_k=1`` 也是贪心。
            generator: ``tg.Generator``，省略时用全局生成器（``tg.manual_seed``）。
            use_cache: 用键值缓存 (KV cache)。结果与不用时相同；上下文不满 block_size 时每步只算一个词元，
                满了以后位置编号整体前移、缓存失效，每步都要重算整个窗口（与不用缓存一样慢）。
        返回:
            与 ``idx`` 同维数的 int64 张量，最后一维长 ``T + max_new_tokens``。
        """
        idx, squeeze = prompt_batch(idx)
        bs = self.config.block_size
        was_training = self.training
        self.eval()
        out, cache = idx, None
        try:
            with no_grad():
                for _ in range(int(max_new_tokens)):
                    if not use_cache:
                        x = self._hidden(out[:, -bs:])
                    elif cache is not None and cache.length < bs:
                        x = self._hidden(out[:, -1:], cache)      # 只喂最新的一个词元
                    else:
                        cache = KVCache()                          # 第一次，或窗口滑动了：重新填充
                        x = self._hidden(out[:, -bs:], cache)
                    logits = self.lm_head(x[:, -1, :])             # 只算最后一个位置的 (B, V)
                    nxt = sample_next(logits, temperature, top_k, top_p, generator)
                    out = cat([out, nxt], dim=1)
        finally:
            self.train(was_training)
        return out[0] if squeeze else out
