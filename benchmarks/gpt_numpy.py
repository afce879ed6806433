"""手写的 GPT 训练步：只用数组运算（NumPy，或 CuPy 时同一份代码），没有自动微分，作为基准的参照。

与 ``tinygrad_zh.models.gpt.GPT`` 完全相同的模型（nanoGPT 的布局）：
词嵌入 + 位置嵌入 → n_layer 个前置层规范化 (pre-LN) 的块 → 最后的层规范化 → 与词嵌入共享权重的 lm_head。
每个块：x ← x + c_proj(因果注意力(c_attn(ln_1(x))))，x ← x + c_proj(GELU(c_fc(ln_2(x))))，
GELU 用精确的 erf 形式；损失是对全部位置取平均的交叉熵（目标为 ignore_index=-1 的位置不计）。

一个训练步 = 前向 + 手推的反向 + 按总范数裁剪梯度 + AdamW（只对二维权重做权重衰减）。
写法上尽量做到“认真写的 NumPy”：全程保持输入的浮点类型（float32 不会悄悄变成 float64）、
平方写成 x*x、能原地算的原地算、注意力用批量矩阵乘法、softmax 与交叉熵融合、
前向存下反向要用的量而不在反向里重算。

参数的名字与形状就是 ``GPT.state_dict()`` 的键（``lm_head.weight`` 与 ``transformer.wte.weight`` 是同一个数组），
所以可以直接从框架模型复制权重，再逐个比较梯度。

例::

    >>> hand = HandGPT({k: v.numpy() for k, v in model.state_dict().items()}, n_head=4)
    >>> loss = hand.step(idx, targets)        # idx、targets：(B, T) 的整数数组
"""

from __future__ import annotations

import math

import numpy as np

_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_WTE = "transformer.wte.weight"
_WPE = "transformer.wpe.weight"


def _array_module(arr):
    """数组所属的模块：NumPy 数组 → numpy，CuPy 数组 → cupy（不依赖框架，基准两边互不沾边）。"""
    if isinstance(arr, np.ndarray):
        return np
    import cupy
    return cupy.get_array_module(arr)


def _default_erf(xp):
    """erf 不在 NumPy / CuPy 里：CPU 上取 scipy.special.erf，GPU 上取 cupyx.scipy.special.erf。"""
    if xp is np:
        from scipy import special
        return special.erf
    import cupyx.scipy.special
    return cupyx.scipy.special.erf


def _layer_norm(xp, x, w, b, eps=1e-5):
    """x：(M, C)。返回 (y, xhat, rstd)；xhat 与 rstd 留给反向。"""
    xhat = x - x.mean(axis=1, keepdims=True)
    var = xp.mean(xhat * xhat, axis=1, keepdims=True)
    var += eps
    rstd = xp.sqrt(var, out=var)
    xp.reciprocal(rstd, out=rstd)
    xhat *= rstd
    y = xhat * w
    y += b
    return y, xhat, rstd


def _layer_norm_backward(xp, dy, xhat, rstd, w):
    """返回 (dx, dw, db)：dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂))，ĝ = dy⊙w。"""
    dw = xp.sum(dy * xhat, axis=0)
    db = dy.sum(axis=0)
    ghat = dy * w
    proj = xp.mean(ghat * xhat, axis=1, keepdims=True)
    dx = ghat
    dx -= ghat.mean(axis=1, keepdims=True)
    dx -= xhat * proj
    dx *= rstd
    return dx, dw, db


def _numpy_scatter_add(dw, idx, dx):
    """dw[idx[i]] += dx[i]（重复的下标要累加）。

    ``np.add.at`` 逐元素走通用循环，较慢；这里先按下标排序，再用 ``add.reduceat`` 把同一个下标的行
    一次加起来，最后对不重复的下标做一次普通的花式索引加法。
    """
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_idx[1:] != sorted_idx[:-1])))
    dw[sorted_idx[starts]] += np.add.reduceat(dx[order], starts, axis=0)


def _default_scatter_add(xp):
    if xp is np:
        return _numpy_scatter_add
    import cupyx
    return cupyx.scatter_add


class HandGPT:
    """手写前向、反向、梯度裁剪与 AdamW 的 GPT。

    参数:
        state: 名字 → 数组（``GPT.state_dict()`` 的键；``lm_head.weight`` 可有可无，它就是词嵌入）。数组会被复制。
        n_head: 注意力头数。
        lr, betas, eps, weight_decay: AdamW 的超参数（与 ``configure_optimizers`` 相同：只衰减二维权重）。
        max_norm: 梯度裁剪的总范数上限；None 表示不裁剪。
        xp, erf, scatter_add: 数组模块，以及它缺的两个函数 erf(x) 与原地的 scatter_add(target, idx, values)；
            默认按数组的类型取 NumPy + SciPy 或 CuPy + cupyx（测试里用来换成框架的严格替身设备）。
    """

    def __init__(self, state, n_head, lr=1e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1, max_norm=1.0,
                 xp=None, erf=None, scatter_add=None):
        self.params = {k: v.copy() for k, v in state.items() if k != "lm_head.weight"}
        wte = self.params[_WTE]
        self.xp = xp = _array_module(wte) if xp is None else xp
        self._erf = _default_erf(xp) if erf is None else erf
        self._scatter_add = _default_scatter_add(xp) if scatter_add is None else scatter_add
        self.dtype = wte.dtype
        self.n_embd = wte.shape[1]
        self.n_head = int(n_head)
        self.n_layer = sum(1 for k in self.params if k.endswith(".ln_1.weight"))
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.max_norm = max_norm
        self.grads = {}
        self.t = 0
        self.exp_avg = {k: xp.zeros_like(v) for k, v in self.params.items()}
        self.exp_avg_sq = {k: xp.zeros_like(v) for k, v in self.params.items()}
        self._scratch = {k: xp.empty_like(v) for k, v in self.params.items()}
        block_size = self.params[_WPE].shape[0]
        # 因果掩码 (causal mask)：对角线以上加 −∞，softmax 之后这些位置的权重恰好为 0
        self._mask = xp.triu(xp.full((block_size, block_size), -xp.inf, dtype=self.dtype), k=1)

    def _p(self, layer, name):
        return self.params[f"transformer.h.{layer}.{name}"]

    def _set_grad(self, layer, name, g):
        self.grads[f"transformer.h.{layer}.{name}"] = g

    # ------------------------------------------------------------------ 前向 + 反向

    def loss_and_grads(self, idx, targets):
        """前向求损失，再手推反向，把每个参数的梯度写进 ``self.grads``。返回损失（0 维数组）。"""
        xp, P = self.xp, self.params
        B, T = idx.shape
        C, nh = self.n_embd, self.n_head
        hs = C // nh
        M = B * T
        scale = 1.0 / math.sqrt(hs)
        wte = P[_WTE]
        idx_flat = idx.reshape(M)

        # ---- 前向
        x = wte[idx_flat].reshape(B, T, C)
        x += P[_WPE][:T]
        x = x.reshape(M, C)
        mask = self._mask[:T, :T]
        caches = []
        for i in range(self.n_layer):
            h1, xhat1, rstd1 = _layer_norm(xp, x, self._p(i, "ln_1.weight"), self._p(i, "ln_1.bias"))
            qkv = h1 @ self._p(i, "attn.c_attn.weight").T
            qkv += self._p(i, "attn.c_attn.bias")
            qkv5 = qkv.reshape(B, T, 3, nh, hs)
            q = qkv5[:, :, 0].transpose(0, 2, 1, 3)  # (B, nh, T, hs)，视图，不复制
            k = qkv5[:, :, 1].transpose(0, 2, 1, 3)
            v = qkv5[:, :, 2].transpose(0, 2, 1, 3)
            att = q @ k.swapaxes(-1, -2)  # (B, nh, T, T)
            att *= scale
            att += mask
            att -= att.max(axis=-1, keepdims=True)
            xp.exp(att, out=att)
            att /= att.sum(axis=-1, keepdims=True)
            y = (att @ v).transpose(0, 2, 1, 3).reshape(M, C)  # 各头拼回 (M, C)
            a = y @ self._p(i, "attn.c_proj.weight").T
            a += self._p(i, "attn.c_proj.bias")
            x += a  # 残差；x 的旧值在反向里用不到（层规范化存的是 x̂），可以原地加
            h2, xhat2, rstd2 = _layer_norm(xp, x, self._p(i, "ln_2.weight"), self._p(i, "ln_2.bias"))
            f = h2 @ self._p(i, "mlp.c_fc.weight").T
            f += self._p(i, "mlp.c_fc.bias")
            cdf = self._erf(f * _INV_SQRT_2)
            cdf += 1.0
            cdf *= 0.5  # Φ(f)
            gl = f * cdf  # GELU(f) = f·Φ(f)
            m = gl @ self._p(i, "mlp.c_proj.weight").T
            m += self._p(i, "mlp.c_proj.bias")
            x += m
            caches.append((h1, xhat1, rstd1, qkv5, q, k, v, att, y, h2, xhat2, rstd2, f, cdf, gl))
        xf, xhatf, rstdf = _layer_norm(xp, x, P["transformer.ln_f.weight"], P["transformer.ln_f.bias"])
        logits = xf @ wte.T  # (M, V)

        # ---- 融合的 softmax + 交叉熵：exp 只算一次，概率原地写在 logits 上，直接当作反向的起点
        tgt = targets.reshape(M)
        valid = tgt != -1
        safe = xp.where(valid, tgt, 0)
        rows = xp.arange(M)
        logits -= logits.max(axis=1, keepdims=True)
        picked = logits[rows, safe]
        probs = xp.exp(logits, out=logits)
        total = probs.sum(axis=1)
        inv_count = (1.0 / valid.sum()).astype(self.dtype)  # 先转成模型的浮点类型：float32 ÷ int64 会变成 float64
        loss = xp.sum(xp.where(valid, xp.log(total) - picked, 0)) * inv_count
        probs /= total[:, None]

        # ---- 反向：∂loss/∂logits = (p − onehot(t)) / 有效位置数，被忽略的行为 0
        dlogits = probs
        dlogits[rows, safe] -= 1.0
        dlogits *= (valid * inv_count)[:, None]
        G = self.grads
        dwte = dlogits.T @ xf  # lm_head 部分的梯度 (V, C)
        dxf = dlogits @ wte
        dx, G["transformer.ln_f.weight"], G["transformer.ln_f.bias"] = _layer_norm_backward(
            xp, dxf, xhatf, rstdf, P["transformer.ln_f.weight"])
        for i in range(self.n_layer - 1, -1, -1):
            h1, xhat1, rstd1, qkv5, q, k, v, att, y, h2, xhat2, rstd2, f, cdf, gl = caches[i]
            # MLP：x ← x + c_proj(GELU(c_fc(ln_2(x))))
            self._set_grad(i, "mlp.c_proj.weight", dx.T @ gl)
            self._set_grad(i, "mlp.c_proj.bias", dx.sum(axis=0))
            dgl = dx @ self._p(i, "mlp.c_proj.weight")
            df = f * f  # GELU′(f) = Φ(f) + f·φ(f)，φ(f) = e^{−f²/2}/√(2π)
            df *= -0.5
            xp.exp(df, out=df)
            df *= f
            df *= _INV_SQRT_2PI
            df += cdf
            df *= dgl
            self._set_grad(i, "mlp.c_fc.weight", df.T @ h2)
            self._set_grad(i, "mlp.c_fc.bias", df.sum(axis=0))
            dh2 = df @ self._p(i, "mlp.c_fc.weight")
            d, dw, db = _layer_norm_backward(xp, dh2, xhat2, rstd2, self._p(i, "ln_2.weight"))
            dx += d
            self._set_grad(i, "ln_2.weight", dw)
            self._set_grad(i, "ln_2.bias", db)
            # 注意力：x ← x + c_proj(softmax(q kᵀ·scale + 掩码) v)
            self._set_grad(i, "attn.c_proj.weight", dx.T @ y)
            self._set_grad(i, "attn.c_proj.bias", dx.sum(axis=0))
            dy = (dx @ self._p(i, "attn.c_proj.weight")).reshape(B, T, nh, hs).transpose(0, 2, 1, 3)
            datt = dy @ v.swapaxes(-1, -2)  # (B, nh, T, T)
            dqkv5 = xp.empty((B, T, 3, nh, hs), dtype=self.dtype)
            dqkv5[:, :, 2] = (att.swapaxes(-1, -2) @ dy).transpose(0, 2, 1, 3)  # dv
            # softmax 的反向：ds = p ⊙ (dp − Σ dp⊙p)；被掩掉的位置 p = 0，梯度自然为 0
            datt -= xp.sum(datt * att, axis=-1, keepdims=True)
            datt *= att
            datt *= scale
            dqkv5[:, :, 0] = (datt @ k).transpose(0, 2, 1, 3)  # dq
            dqkv5[:, :, 1] = (datt.swapaxes(-1, -2) @ q).transpose(0, 2, 1, 3)  # dk
            dqkv = dqkv5.reshape(M, 3 * C)
            self._set_grad(i, "attn.c_attn.weight", dqkv.T @ h1)
            self._set_grad(i, "attn.c_attn.bias", dqkv.sum(axis=0))
            dh1 = dqkv @ self._p(i, "attn.c_attn.weight")
            d, dw, db = _layer_norm_backward(xp, dh1, xhat1, rstd1, self._p(i, "ln_1.weight"))
            dx += d
            self._set_grad(i, "ln_1.weight", dw)
            self._set_grad(i, "ln_1.bias", db)
        # 嵌入：位置嵌入只有前 T 行有梯度；词嵌入 = lm_head 的梯度 + 按词元下标散加
        dwpe = xp.zeros_like(P[_WPE])
        dwpe[:T] = dx.reshape(B, T, C).sum(axis=0)
        G[_WPE] = dwpe
        self._scatter_add(dwte, idx_flat, dx)
        G[_WTE] = dwte
        return loss

    # ------------------------------------------------------------------ 裁剪与 AdamW

    def clip_grad_norm(self):
        """按总 2-范数裁剪：c = min(1, max_norm / (‖g‖ + 1e-6))，每个梯度原地乘 c。返回裁剪前的总范数。

        与 PyTorch 一样总是乘（c 可能为 1）：GPU 上省掉一次“读回主机再判断”的同步。
        """
        xp = self.xp
        total = xp.sqrt(sum(xp.vdot(g.ravel(), g.ravel()) for g in self.grads.values()))
        coef = xp.minimum(self.max_norm / (total + 1e-6), 1.0).astype(self.dtype)
        for g in self.grads.values():
            g *= coef
        return total

    def adamw(self):
        """AdamW 一步（与 torch.optim.AdamW 相同）：θ ← θ(1 − γλ)，再按偏差修正后的 m̂ / (√v̂ + ε) 更新。"""
        xp = self.xp
        self.t += 1
        b1, b2 = self.betas
        c1 = 1.0 - b1 ** self.t
        c2_sqrt = math.sqrt(1.0 - b2 ** self.t)
        for name, p in self.params.items():
            g, m, v, tmp = self.grads[name], self.exp_avg[name], self.exp_avg_sq[name], self._scratch[name]
            if p.ndim >= 2 and self.weight_decay:
                p *= 1.0 - self.lr * self.weight_decay
            xp.multiply(g, 1.0 - b1, out=tmp)
            m *= b1
            m += tmp
            xp.multiply(g, g, out=tmp)
            tmp *= 1.0 - b2
            v *= b2
            v += tmp
            xp.sqrt(v, out=tmp)
            tmp /= c2_sqrt
            tmp += self.eps
            xp.divide(m, tmp, out=tmp)
            tmp *= self.lr / c1
            p -= tmp

    def step(self, idx, targets):
        """完整的一个训练步：前向、反向、裁剪、AdamW。返回损失。"""
        loss = self.loss_and_grads(idx, targets)
        if self.max_norm is not None:
            self.clip_grad_norm()
        self.adamw()
        return loss
