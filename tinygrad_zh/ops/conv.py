"""卷积 (convolution) 与汇聚 (pooling，常译池化) 的融合运算。

卷积的做法是 im2col：把每个输出位置“看到”的那一块输入（感受野 (receptive field)）排成矩阵的一列，
整个卷积就变成一次矩阵乘法。取块不复制数据：``as_strided`` 用步长 (strides) 构造一个视图，
同一个输入元素在视图里出现多次；只有把视图 reshape 成矩阵时才真正复制一次。

反向的 col2im 是 im2col 的伴随 (adjoint)：每个输入元素的梯度，是它在所有窗口里出现时得到的梯度之和。
按卷积核偏移 (u, v) 循环 kh·kw 次，每次把一整片梯度加到输入上一个带步幅的切片里：
同一个偏移内切片的位置互不重复，所以普通的 ``+=`` 就对，不需要 scatter。

卷积与汇聚的 backward 往预先分配的数组里原地累加：
它们都不能再求导（``supports_create_graph = False``，要二阶导数时引擎会给出清楚的错误）。
形状约定与 PyTorch 相同：输入 ``(N, C, H, W)``，卷积核 ``(O, C, kh, kw)``。
"""

from ..autograd import Function


# ---------------------------------------------------------------------------- 共用的小工具

def out_size(size, kernel, stride, pad_total, dilation=1):
    """一维上的输出长度：⌊(size + pad_total − d·(k − 1) − 1) / s⌋ + 1。"""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def _pad(xp, x, pads, value=0.0):
    """在 H、W 两维上填充：pads = (上, 下, 左, 右)。全为 0 时原样返回，省一次复制。"""
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    return xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="constant", constant_values=value)


def _windows(xp, xpad, kernel, stride, dilation, out_hw):
    """滑动窗口视图 (N, C, Ho, Wo, kh, kw)：``[n, c, i, j, u, v] = xpad[n, c, i·sh + u·dh, j·sw + v·dw]``。

    只改步长、不复制。用 as_strided 而不是 sliding_window_view，是因为较早的 CuPy 只有前者；
    形状由 out_hw 精确给出，所以视图不会越出 xpad 的内存。
    """
    n, c = xpad.shape[:2]
    s_n, s_c, s_h, s_w = xpad.strides
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    return xp.lib.stride_tricks.as_strided(
        xpad, shape=(n, c, ho, wo, kh, kw),
        strides=(s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw))


def _offset_slice(offset, stride, n_out):
    """卷积核偏移 offset 在填充后的输入上碰到的位置：offset, offset + s, …，共 n_out 个。"""
    return slice(offset, offset + stride * (n_out - 1) + 1, stride)


def _col2im(xp, pieces, padded_shape, kernel, stride, dilation, out_hw, pads, in_hw, dtype):
    """im2col 的伴随：把每个卷积核偏移 (u, v) 的梯度片 ``pieces(u, v)``（形状 (N, C, Ho, Wo)）加回输入。

    循环只跑 kh·kw 次（卷积核偏移），不按批量或像素循环。最后去掉填充部分的梯度。
    """
    grad = xp.zeros(padded_shape, dtype=dtype)
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    for u in range(kh):
        rows = _offset_slice(u * dh, sh, ho)
        for v in range(kw):
            grad[:, :, rows, _offset_slice(v * dw, sw, wo)] += pieces(u, v)
    top, _, left, _ = pads
    h, w = in_hw
    if grad.shape[2:] == (h, w):
        return grad
    return grad[:, :, top:top + h, left:left + w]


# ---------------------------------------------------------------------------- 卷积

class Conv2d(Function):
    """二维卷积（互相关运算 (cross-correlation)，与 PyTorch 相同，卷积核不翻转）。

    前向：Y[n,o,i,j] = b[o] + Σ_c Σ_u Σ_v W[o,c,u,v] · Xp[n,c,i·s+u·d, j·s+v·d]，Xp 为填充后的输入。
    im2col：cols 形状 (C·kh·kw, N·Ho·Wo)，每一列是一个感受野；Y = Wmat @ cols，Wmat = W.reshape(O, C·kh·kw)：
    一次矩阵乘法。
    反向：设 G = ∂L/∂Y 排成 (O, N·Ho·Wo)，则
        ∂L/∂W = G @ colsᵀ（一次矩阵乘法）；∂L/∂b = Σ G；
        ∂L/∂cols = Wmatᵀ @ G，再由 col2im 按卷积核偏移加回 ∂L/∂X，去掉填充。
    参数（forward 的非张量参数）：stride、dilation 为 (h, w)；pads 为 (上, 下, 左, 右)。

    例（全 1 的 3×3 输入、全 1 的 2×2 卷积核：每个输出是 4 个 1 之和）::

        >>> x, w = tg.ones(1, 1, 3, 3), tg.ones(1, 1, 2, 2)
        >>> Conv2d.apply(x, w, None, (1, 1), (0, 0, 0, 0), (1, 1))
        tensor([[[[4., 4.],
                  [4., 4.]]]])

    为什么 cols 是“一列一个感受野”而不是“一行一个”：复制视图时最内层是输出的 Wo 方向，
    在内存里步长固定，复制与 col2im 的切片加法都快得多（实测约 1.5 倍）；这也是 Caffe 的布局。
    """
    zh = "卷积"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, x, weight, bias, stride, pads, dilation):
        xp = ctx.xp
        n, c, h, w = x.shape
        o, _, kh, kw = weight.shape
        ho = out_size(h, kh, stride[0], pads[0] + pads[1], dilation[0])
        wo = out_size(w, kw, stride[1], pads[2] + pads[3], dilation[1])
        xpad = _pad(xp, x, pads)
        win = _windows(xp, xpad, (kh, kw), stride, dilation, (ho, wo))
        # 这一段算出 cols (C·kh·kw, N·Ho·Wo)、wmat (O, C·kh·kw) 与输出 out (N, O, Ho, Wo)，见类文档
        # BEGIN SOLUTION task11_1
        # 唯一的大复制：视图按 (C, kh, kw | N, Ho, Wo) 排好再展平
        cols = xp.reshape(xp.transpose(win, (1, 4, 5, 0, 2, 3)), (c * kh * kw, n * ho * wo))
        wmat = xp.reshape(weight, (o, c * kh * kw))
        out = wmat @ cols  # (O, N·Ho·Wo)
        if bias is not None:
            out += xp.reshape(bias, (o, 1))
        # (O, N, Ho, Wo) → (N, O, Ho, Wo)，转成连续内存：下游与 PyTorch 一样拿到 NCHW 布局
        out = xp.ascontiguousarray(xp.transpose(xp.reshape(out, (o, n, ho, wo)), (1, 0, 2, 3)))
        # END SOLUTION
        # 存下 cols：反向求 ∂L/∂W 直接用，不必再做一次 im2col（拿内存换时间）
        ctx.save_for_backward(cols, wmat)
        ctx.geom = (x.shape, xpad.shape, (kh, kw), stride, dilation, (ho, wo), pads)
        return out

    @staticmethod
    def backward(ctx, g):
        cols, wmat = ctx.saved_tensors
        xp = ctx.xp
        x_shape, padded_shape, kernel, stride, dilation, out_hw, pads = ctx.geom
        n, c = x_shape[:2]
        o = wmat.shape[0]
        # 这一段返回 (∂L/∂X, ∂L/∂W, ∂L/∂b, None, None, None)；不需要的梯度（needs_input_grad 为 False）可以是 None
        # BEGIN SOLUTION task11_2
        gmat = xp.reshape(xp.transpose(g, (1, 0, 2, 3)), (o, -1))  # (O, N·Ho·Wo)
        gx = gw = gb = None
        if ctx.needs_input_grad[1]:
            gw = xp.reshape(gmat @ cols.T, (o, c) + kernel)
        if ctx.needs_input_grad[2]:
            gb = xp.sum(gmat, axis=1)
        if ctx.needs_input_grad[0]:
            gcols = xp.reshape(wmat.T @ gmat, (c,) + kernel + (n,) + out_hw)  # (C, kh, kw, N, Ho, Wo)
            gx = _col2im(xp, lambda u, v: xp.transpose(gcols[:, u, v], (1, 0, 2, 3)), padded_shape, kernel,
                         stride, dilation, out_hw, pads, x_shape[2:], g.dtype)
        return gx, gw, gb, None, None, None
        # END SOLUTION


# ---------------------------------------------------------------------------- 汇聚

class MaxPool2d(Function):
    """二维最大汇聚 (max pooling)：每个窗口取最大值。

    前向：Y[n,c,i,j] = max_{u,v} Xp[n,c,i·s+u·d, j·s+v·d]，填充处为 −∞（永远不会被选中）。
    反向：梯度整份交给窗口里被选中的那个元素；并列 (tie) 时选窗口按行优先顺序的第一个最大值（同 PyTorch）。
    窗口重叠（s < k）时同一个输入元素可能被多个窗口选中，梯度相加——按卷积核偏移循环的 col2im 自然做到这一点。
    """
    zh = "最大汇聚"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, dilation, out_hw):
        xp = ctx.xp
        n, c = x.shape[:2]
        fill = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
        xpad = _pad(xp, x, pads, fill)
        ho, wo = out_hw
        win = xp.reshape(_windows(xp, xpad, kernel, stride, dilation, out_hw),
                         (n, c, ho, wo, kernel[0] * kernel[1]))
        # argmax 返回第一个最大值的位置：窗口按 (u, v) 行优先展平，所以并列时与 PyTorch 选同一个
        idx = xp.argmax(win, axis=-1)
        out = xp.take_along_axis(win, idx[..., None], axis=-1)[..., 0]
        ctx.save_for_backward(idx)
        ctx.geom = (x.shape, xpad.shape, kernel, stride, dilation, out_hw, pads)
        return out

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        xp = ctx.xp
        x_shape, padded_shape, kernel, stride, dilation, out_hw, pads = ctx.geom
        kw = kernel[1]
        # 偏移 (u, v) 只把梯度交给“选中了它”的窗口；乘布尔掩码而不是 where(…, 0)，dtype 保持不变
        gx = _col2im(xp, lambda u, v: g * (idx == u * kw + v), padded_shape, kernel, stride, dilation,
                     out_hw, pads, x_shape[2:], g.dtype)
        return gx, None, None, None, None, None


class AvgPool2d(Function):
    """二维平均汇聚 (average pooling)：每个窗口求和再除以除数 (divisor)。

    前向：Y[n,c,i,j] = (1 / D[i,j]) · Σ_{u,v} Xp[n,c,i·s+u, j·s+v]，填充处为 0。
    除数 D：count_include_pad=True（PyTorch 默认）时是窗口落在“输入 + 对称填充”里的格数（通常就是 kh·kw），
    False 时只数真实输入的格数；divisor_override 给出时一律用它。
    反向：∂L/∂Xp[·, i·s+u, j·s+v] += G[i,j] / D[i,j]，再去掉填充。
    """
    zh = "平均汇聚"
    supports_create_graph = False

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, sym_pad, out_hw, count_include_pad, divisor_override):
        xp = ctx.xp
        n, c, h, w = x.shape
        xpad = _pad(xp, x, pads)
        one = (1, 1)
        total = xp.sum(_windows(xp, xpad, kernel, stride, one, out_hw), axis=(-2, -1))
        if divisor_override:
            divisor = float(divisor_override)
        elif count_include_pad and xpad.shape[2:] == (h + 2 * sym_pad[0], w + 2 * sym_pad[1]):
            divisor = float(kernel[0] * kernel[1])  # 没有 ceil_mode 多出来的格子：除数处处相同
        else:
            # 逐窗口数格子：在填充后的网格上放一张 0/1 掩码，用同样的窗口求和
            mask = xp.zeros((1, 1) + tuple(xpad.shape[2:]), dtype=x.dtype)
            ph, pw = sym_pad
            if count_include_pad:
                mask[:, :, :h + 2 * ph, :w + 2 * pw] = 1
            else:
                mask[:, :, ph:ph + h, pw:pw + w] = 1
            divisor = xp.sum(_windows(xp, mask, kernel, stride, one, out_hw), axis=(-2, -1))[0, 0]
        ctx.divisor = divisor
        ctx.geom = (x.shape, xpad.shape, kernel, stride, one, out_hw, pads)
        return total / divisor

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        x_shape, padded_shape, kernel, stride, dilation, out_hw, pads = ctx.geom
        share = g / ctx.divisor  # 每个窗口的梯度平均分给窗口里的每一格
        gx = _col2im(xp, lambda u, v: share, padded_shape, kernel, stride, dilation, out_hw, pads,
                     x_shape[2:], g.dtype)
        return gx, None, None, None, None, None, None, None
