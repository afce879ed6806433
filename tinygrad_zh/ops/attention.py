"""缩放点积注意力 (scaled dot-product attention) 的融合运算。

注意力是 GPT 里最大的一块计算。拆成 matmul、乘法、加掩码、softmax、dropout、matmul 六个节点时，
每个节点都要存一份 (B, H, T, T) 的中间数组，反向也要穿过六个节点；写成一个 Function 只存
概率矩阵 P 一份，反向用解析公式一次算完：更快、更省内存。
"""

import math

from ..autograd import Function


class ScaledDotProductAttention(Function):
    """O = dropout(softmax(Q Kᵀ · s + M)) V。

    形状：Q (…, L, E)，K (…, S, E)，V (…, S, Ev) → O (…, L, Ev)；前导维度可以广播。
    M 是加性掩码 (additive mask)：0 表示可以看，−∞ 表示看不到（布尔掩码在进来之前已换成这种形式）。
    keep 是 dropout 的乘子（0 或 1/(1−p)），没有 dropout 时为 None。

    反向（记 P = softmax(·)，P̃ = P ⊙ keep，G = ∂L/∂O）：
        ∂L/∂V = P̃ᵀ G
        ∂L/∂P = (G Vᵀ) ⊙ keep
        ∂L/∂Z = P ⊙ (∂L/∂P − Σⱼ (∂L/∂P ⊙ P))         （softmax 的反向，Z 是加了掩码的分数）
        ∂L/∂Q = s · ∂L/∂Z K，  ∂L/∂K = s · (∂L/∂Z)ᵀ Q，  ∂L/∂M = ∂L/∂Z
    被掩掉的位置 P = 0，梯度自然为 0；整行都被掩掉时这一行的 P 全为 0，输出与梯度都是 0（同 PyTorch）。
    """
    zh = "缩放点积注意力"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, keep):
        xp = ctx.xp
        scores = q @ xp.swapaxes(k, -1, -2)
        scores *= scale
        if mask is None:
            scores -= xp.max(scores, axis=-1, keepdims=True)
            probs = xp.exp(scores, out=scores)
            probs /= xp.sum(probs, axis=-1, keepdims=True)
        else:
            scores = scores + mask  # 不原地加：掩码的前导维度可能比分数多
            # 整行都被掩掉（全是 −∞）：最大值换成 0，exp 全是 0，分母换成 1，这一行的概率就是 0 而不是 0/0 = nan
            # （同 PyTorch 2.5 起的 _safe_softmax：输出 0，梯度也是 0）
            row_max = xp.max(scores, axis=-1, keepdims=True)
            scores -= xp.where(row_max == -math.inf, 0.0, row_max)
            probs = xp.exp(scores, out=scores)
            total = xp.sum(probs, axis=-1, keepdims=True)
            probs /= xp.where(total == 0, 1.0, total)
        ctx.save_for_backward(q, k, v, probs, keep)
        ctx.scale = scale
        return (probs if keep is None else probs * keep) @ v

    @staticmethod
    def backward(ctx, g):
        q, k, v, probs, keep = ctx.saved_tensors
        xp, scale = ctx.xp, ctx.scale
        need_q, need_k, need_v, need_m = ctx.needs_input_grad[:4]
        # 这一段按类文档的公式返回 (∂L/∂Q, ∂L/∂K, ∂L/∂V, ∂L/∂M, None, None)；不需要的梯度可以是 None
        # BEGIN SOLUTION task14_1
        gv = None
        if need_v:
            dropped = probs if keep is None else probs * keep
            gv = xp.swapaxes(dropped, -1, -2) @ g
        if not (need_q or need_k or need_m):
            return None, None, gv, None, None, None
        gp = g @ xp.swapaxes(v, -1, -2)
        if keep is not None:
            gp *= keep
        gz = gp
        gz -= xp.sum(gp * probs, axis=-1, keepdims=True)
        gz *= probs
        gm = gz.copy() if need_m else None  # 下面要原地乘 scale
        gz *= scale
        gq = gz @ k if need_q else None
        gk = xp.swapaxes(gz, -1, -2) @ q if need_k else None
        return gq, gk, gv, gm, None, None
        # END SOLUTION


def default_scale(head_dim):
    """默认缩放 s = 1/√E：使 q·k 的方差不随维度 E 增长（E 个独立单位方差乘积之和的方差是 E）。"""
    return 1.0 / math.sqrt(head_dim)
