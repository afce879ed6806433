"""LSTM 一个训练步（前向 + 通过时间反向传播）的耗时：框架 vs 同一个网络的手写 NumPy 版本（手动运行，不是测试）。

配置：批量 32、序列长 64、输入 128、隐状态 256，1 层与 2 层，全程 float32；上游梯度随机（代替损失函数）。
手写版本是一个认真写的 NumPy LSTM：输入投影一次矩阵乘法，时间循环里只做 h Wₕₕᵀ 和门；
反向时每步只算 dgates 与 dh，W 的梯度在循环结束后各用一次大矩阵乘法求出。
两边先在 float64 下核对输出与全部参数梯度一致，再计时。

另外报告“逐步切片”版本：把 rnn.py 里按时间拆分输入投影的 ``_unbind_time``（对半切，O(L log L)）
换成朴素的 ``[gi[t] for t in range(L)]``（反向 O(L²)），看这一处设计的效果。

用法：
    python benchmarks/bench_lstm.py [--steps 3] [--repeat 5] [--layers 1 2]

机器上同时有别的程序在跑时，OpenBLAS 的多线程会互相空等、慢上好几倍；这时用
``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lstm.py`` 得到的数字更稳定。
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_zh as tg
from bench_common import best_times, blas_info
from tinygrad_zh.nn import rnn as rnn_mod
from tinygrad_zh.nn.rnn import LSTM

N, L, D_IN, H = 32, 64, 128, 256


def _sigmoid(a):
    return 0.5 * (np.tanh(0.5 * a) + 1)  # 与框架相同的写法：大的 |a| 也不会上溢


class HandLSTM:
    """只用 NumPy 的多层单向 LSTM：forward 存下反向要用的量，backward 按时间倒着走。"""

    def __init__(self, weights):
        # weights：每层 (W_ih, W_hh, b_ih, b_hh)，布局与 PyTorch / 框架相同（门的顺序 i, f, g, o）
        self.weights = [tuple(w.copy() for w in layer) for layer in weights]

    def forward(self, x):
        self.caches = []
        for w_ih, w_hh, b_ih, b_hh in self.weights:
            seq, n, d = x.shape
            hid = w_hh.shape[1]
            gi = (x.reshape(seq * n, d) @ w_ih.T + (b_ih + b_hh)).reshape(seq, n, 4 * hid)
            acts = np.empty((seq, n, 4 * hid), dtype=x.dtype)  # 激活后的 [i | f | g | o]
            cs = np.empty((seq + 1, n, hid), dtype=x.dtype)
            hs = np.empty((seq + 1, n, hid), dtype=x.dtype)
            tcs = np.empty((seq, n, hid), dtype=x.dtype)
            cs[0] = 0
            hs[0] = 0
            for t in range(seq):
                a = acts[t]
                np.add(gi[t], hs[t] @ w_hh.T, out=a)
                a[:, :2 * hid] = _sigmoid(a[:, :2 * hid])
                a[:, 2 * hid:3 * hid] = np.tanh(a[:, 2 * hid:3 * hid])
                a[:, 3 * hid:] = _sigmoid(a[:, 3 * hid:])
                i, f, g, o = a[:, :hid], a[:, hid:2 * hid], a[:, 2 * hid:3 * hid], a[:, 3 * hid:]
                cs[t + 1] = f * cs[t] + i * g
                tcs[t] = np.tanh(cs[t + 1])
                hs[t + 1] = o * tcs[t]
            self.caches.append((x, acts, cs, hs, tcs))
            x = hs[1:]
        return x

    def backward(self, d_out, need_dx=False):
        grads = [None] * len(self.weights)
        for k in range(len(self.weights) - 1, -1, -1):
            w_ih, w_hh, _, _ = self.weights[k]
            x, acts, cs, hs, tcs = self.caches[k]
            seq, n, hid = d_out.shape
            d_gates = np.empty_like(acts)
            dh_next = np.zeros((n, hid), dtype=d_out.dtype)
            dc_next = np.zeros((n, hid), dtype=d_out.dtype)
            for t in range(seq - 1, -1, -1):
                a = acts[t]
                i, f, g, o = a[:, :hid], a[:, hid:2 * hid], a[:, 2 * hid:3 * hid], a[:, 3 * hid:]
                dh = d_out[t] + dh_next
                dc = dc_next + dh * o * (1 - tcs[t] * tcs[t])
                dg = d_gates[t]
                dg[:, :hid] = dc * g * i * (1 - i)
                dg[:, hid:2 * hid] = dc * cs[t] * f * (1 - f)
                dg[:, 2 * hid:3 * hid] = dc * i * (1 - g * g)
                dg[:, 3 * hid:] = dh * tcs[t] * o * (1 - o)
                dc_next = dc * f
                dh_next = dg @ w_hh
            # 参数梯度：所有时间步合成一次矩阵乘法
            dg2 = d_gates.reshape(seq * n, 4 * hid)
            d_w_ih = dg2.T @ x.reshape(seq * n, -1)
            d_w_hh = dg2.T @ hs[:-1].reshape(seq * n, hid)
            db = dg2.sum(0)
            grads[k] = (d_w_ih, d_w_hh, db, db.copy())
            if k > 0 or need_dx:
                d_out = (dg2 @ w_ih).reshape(seq, n, -1)
        return grads


def _weights_of(lstm):
    return [tuple(p.data for p in ws) for ws in lstm.all_weights]


def check_equal(num_layers):
    """float64 下核对：同一组权重，框架与手写版本的输出和全部参数梯度一致。"""
    tg.manual_seed(1)
    rng = np.random.default_rng(1)
    lstm = LSTM(D_IN, H, num_layers=num_layers, dtype=tg.float64)
    hand = HandLSTM(_weights_of(lstm))
    x = rng.standard_normal((L, N, D_IN))
    up = rng.standard_normal((L, N, H))
    out, _ = lstm(tg.tensor(x))
    out.backward(tg.tensor(up))
    np.testing.assert_allclose(out.detach().numpy(), hand.forward(x), rtol=1e-10, atol=1e-10)
    for ws, gs in zip(lstm.all_weights, hand.backward(up)):
        for p, g in zip(ws, gs):
            np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-8, atol=1e-8)


def bench(num_layers, steps, repeat):
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    lstm = LSTM(D_IN, H, num_layers=num_layers)
    hand = HandLSTM(_weights_of(lstm))
    x_np = rng.standard_normal((L, N, D_IN)).astype(np.float32)
    up_np = rng.standard_normal((L, N, H)).astype(np.float32)
    x, up = tg.tensor(x_np), tg.tensor(up_np)

    def framework_step():
        lstm.zero_grad()
        out, _ = lstm(x)
        out.backward(up)

    def hand_step():
        hand.forward(x_np)
        hand.backward(up_np)

    tree = rnn_mod._unbind_time

    def naive_step():
        rnn_mod._unbind_time = lambda g: [g[t] for t in range(g.shape[0])]
        try:
            framework_step()
        finally:
            rnn_mod._unbind_time = tree

    # 三种轮流计时、各取最快的一轮：机器忙闲不定时，轮流比“先测完一种再测下一种”公平
    t_fw, t_hand, t_naive = best_times([framework_step, hand_step, naive_step], steps, repeat)
    assert lstm.weight_hh_l0.grad.dtype == np.float32, "必须全程 float32"
    return t_fw, t_hand, t_naive


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    blas = blas_info()
    print(f"tinygrad_zh {tg.__version__}，NumPy {np.__version__}，BLAS：{blas}")
    print(f"LSTM：批量 {N}，序列长 {L}，输入 {D_IN}，隐状态 {H}，float32，前向 + 反向；"
          f"每种取 {args.repeat} 轮 × {args.steps} 步中最快的一轮")
    print(f"{'层数':<6}{'框架 ms/步':>12}{'手写 NumPy ms/步':>18}{'比值':>8}{'逐步切片 ms/步':>16}")
    for num_layers in args.layers:
        check_equal(num_layers)
        t_fw, t_hand, t_naive = bench(num_layers, args.steps, args.repeat)
        print(f"{num_layers:<8}{t_fw * 1e3:>10.1f}{t_hand * 1e3:>18.1f}{t_fw / t_hand:>10.2f}{t_naive * 1e3:>16.1f}")


if __name__ == "__main__":
    main()
