"""MLP 784-1000-10 的一个训练步：框架 vs 同一个网络的手写 NumPy 版本（手动运行，不是测试）。

两种配置：ReLU + Adam、sigmoid + SGD；批量 100，全程 float32。
报告每步毫秒数与比值（目标：框架 / 手写 ≤ 1.2）。两边先各跑一步并核对参数更新一致。

用法：
    python benchmarks/bench_mlp.py [--steps 30] [--repeat 5]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import tinygrad_zh as tg
from bench_common import best_times, blas_info
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh import optim

N, D, H, C = 100, 784, 1000, 10


class HandMLP:
    """手写的前向、反向与优化器更新：只用 NumPy，作为速度的参照。"""

    def __init__(self, params, activation, optimizer, lr):
        self.W1, self.b1, self.W2, self.b2 = (p.copy() for p in params)
        self.activation, self.optimizer, self.lr = activation, optimizer, lr
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    @property
    def params(self):
        return [self.W1, self.b1, self.W2, self.b2]

    def step(self, x, y):
        h = x @ self.W1.T + self.b1
        a = np.maximum(h, 0) if self.activation == "relu" else 0.5 * (np.tanh(0.5 * h) + 1)
        z = a @ self.W2.T + self.b2
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(N), y]).mean()
        dz = p
        dz[np.arange(N), y] -= 1
        dz *= 1.0 / N
        dW2, db2 = dz.T @ a, dz.sum(0)
        da = dz @ self.W2
        dh = np.where(h > 0, da, 0) if self.activation == "relu" else da * a * (1 - a)
        dW1, db1 = dh.T @ x, dh.sum(0)
        grads = [dW1, db1, dW2, db2]
        if self.optimizer == "sgd":
            for prm, g in zip(self.params, grads):
                prm -= self.lr * g
        else:
            # 与 optim.Adam 同样的算法；为公平起见也用一块临时数组原地计算，避免每步分配大数组
            self.t += 1
            b1, b2, eps = 0.9, 0.999, 1e-8
            c1, c2 = 1 - b1 ** self.t, math.sqrt(1 - b2 ** self.t)
            for prm, g, m, v in zip(self.params, grads, self.m, self.v):
                tmp = np.multiply(g, 1 - b1)
                m *= b1
                m += tmp
                np.multiply(g, g, out=tmp)
                tmp *= 1 - b2
                v *= b2
                v += tmp
                np.sqrt(v, out=tmp)
                tmp /= c2
                tmp += eps
                np.divide(m, tmp, out=tmp)
                tmp *= self.lr / c1
                prm -= tmp
        return loss


def make_model(activation):
    act = nn.ReLU() if activation == "relu" else nn.Sigmoid()
    return nn.Sequential(nn.Linear(D, H), act, nn.Linear(H, C))


def bench(activation, optimizer, steps, repeat):
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((N, D)).astype(np.float32)
    y_np = rng.integers(0, C, N)
    model = make_model(activation)
    lr = 1e-3 if optimizer == "adam" else 0.1
    hand = HandMLP([p.data for p in model.parameters()], activation, optimizer, lr)
    opt = optim.Adam(model.parameters(), lr=lr) if optimizer == "adam" else optim.SGD(model.parameters(), lr=lr)
    x, y = tg.tensor(x_np), tg.tensor(y_np)

    def framework_step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    # 先核对：同样的初值、同样的数据，一步之后两边的参数应一致（float32 舍入以内）
    l_fw, l_hand = framework_step().item(), hand.step(x_np, y_np)
    assert abs(l_fw - l_hand) < 1e-4, (l_fw, l_hand)
    for p, q in zip(model.parameters(), hand.params):
        assert p.dtype == np.float32 and q.dtype == np.float32, "必须全程 float32"
        np.testing.assert_allclose(p.data, q, rtol=1e-4, atol=1e-5)

    t_fw, t_hand = best_times([framework_step, lambda: hand.step(x_np, y_np)], steps, repeat)
    return t_fw, t_hand


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    blas = blas_info()
    print(f"tinygrad_zh {tg.__version__}，NumPy {np.__version__}，BLAS：{blas}")
    print(f"MLP {D}-{H}-{C}，批量 {N}，float32，每种取 {args.repeat} 轮 × {args.steps} 步中最快的一轮")
    print(f"{'配置':<16}{'框架 ms/步':>12}{'手写 NumPy ms/步':>18}{'比值':>8}")
    for activation, optimizer in [("relu", "adam"), ("sigmoid", "sgd")]:
        t_fw, t_hand = bench(activation, optimizer, args.steps, args.repeat)
        name = f"{activation} + {optimizer}"
        print(f"{name:<18}{t_fw * 1e3:>10.2f}{t_hand * 1e3:>18.2f}{t_fw / t_hand:>10.2f}")


if __name__ == "__main__":
    main()
