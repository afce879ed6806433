"""任务 08：五种优化器的更新规则。

直接调用每个优化器的 ``*_update`` 函数（在整块数组上原地更新），与这里按公式写的 NumPy 版本逐步比较。
weight_decay 与 maximize 由 ``effective_grad`` 处理（不是任务），这里保持为 0 与 False。
"""

import numpy as np
import pytest

from tinygrad_zh.classroom.checks import TaskCheckError, check_close
from tinygrad_zh.optim.adagrad import adagrad_update
from tinygrad_zh.optim.adam import adam_update
from tinygrad_zh.optim.rmsprop import rmsprop_update
from tinygrad_zh.optim.sgd import sgd_update

STEPS = 3


def grads(shape=(2, 3), seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(STEPS)]


@pytest.mark.task08_1
@pytest.mark.parametrize("momentum,dampening,nesterov", [(0.9, 0.0, False), (0.8, 0.3, False), (0.9, 0.0, True),
                                                         (0.0, 0.0, False)])
def test_sgd_momentum(momentum, dampening, nesterov):
    theta0, gs = grads()
    lr = 0.1
    param, buf = theta0.copy(), None
    ref, ref_buf = theta0.copy(), None
    for t, g in enumerate(gs, 1):
        buf = sgd_update(np, param, g.copy(), buf, lr=lr, momentum=momentum, dampening=dampening, weight_decay=0.0,
                         nesterov=nesterov, maximize=False)
        d = g
        if momentum:
            ref_buf = g.copy() if ref_buf is None else momentum * ref_buf + (1 - dampening) * g
            d = g + momentum * ref_buf if nesterov else ref_buf
        ref = ref - lr * d
        what = f"SGD（momentum={momentum}，dampening={dampening}，nesterov={nesterov}）第 {t} 步后的参数"
        check_close(what, param, ref, hint="提示：b ← μb + (1−τ)g（第 1 步 b ← g），θ ← θ − γb。")
        if momentum:
            check_close(f"SGD 第 {t} 步返回的动量缓冲", buf, ref_buf)
        elif buf is not None:
            raise TaskCheckError("SGD：momentum = 0 时不应建立动量缓冲（应返回 None）。")


@pytest.mark.task08_2
@pytest.mark.parametrize("lr_decay", [0.0, 0.1])
def test_adagrad(lr_decay):
    theta0, gs = grads(seed=1)
    lr, eps = 0.1, 1e-10
    param, G = theta0.copy(), np.zeros_like(theta0)
    ref, ref_G = theta0.copy(), np.zeros_like(theta0)
    for t, g in enumerate(gs, 1):
        adagrad_update(np, param, g.copy(), G, t, lr=lr, lr_decay=lr_decay, weight_decay=0.0, eps=eps, maximize=False)
        ref_G = ref_G + g * g
        ref = ref - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(ref_G) + eps)
        check_close(f"AdaGrad（lr_decay={lr_decay}）第 {t} 步后的参数", param, ref,
                    hint="提示：G ← G + g²，θ ← θ − γ_t·g / (√G + ε)，γ_t = γ / (1 + (t−1)·lr_decay)。")
        check_close(f"AdaGrad 第 {t} 步后的累加器 G", G, ref_G)


@pytest.mark.task08_3
@pytest.mark.parametrize("centered,momentum", [(False, 0.0), (True, 0.0), (False, 0.9), (True, 0.5)])
def test_rmsprop(centered, momentum):
    theta0, gs = grads(seed=2)
    lr, alpha, eps = 0.01, 0.9, 1e-8
    param, v = theta0.copy(), np.zeros_like(theta0)
    gavg = np.zeros_like(theta0) if centered else None
    buf = np.zeros_like(theta0) if momentum else None
    ref, rv, rg, rb = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0), np.zeros_like(theta0)
    for t, g in enumerate(gs, 1):
        rmsprop_update(np, param, g.copy(), v, gavg, buf, lr=lr, alpha=alpha, eps=eps, weight_decay=0.0,
                       momentum=momentum, maximize=False)
        rv = alpha * rv + (1 - alpha) * g * g
        denom = rv
        if centered:
            rg = alpha * rg + (1 - alpha) * g
            denom = rv - rg * rg
        step = g / (np.sqrt(denom) + eps)
        if momentum:
            rb = momentum * rb + step
            step = rb
        ref = ref - lr * step
        check_close(f"RMSprop（centered={centered}，momentum={momentum}）第 {t} 步后的参数", param, ref,
                    hint="提示：v ← αv + (1−α)g²，θ ← θ − γ·g / (√v + ε)（centered 时 √(v − ḡ²)）。")
        check_close(f"RMSprop 第 {t} 步后的 v", v, rv)


@pytest.mark.task08_4
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam(amsgrad):
    theta0, gs = grads(seed=3)
    gs[1] = gs[1] * 0.01    # 第二步梯度很小：amsgrad 的 v_max 与 v 不同
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    param, m, v = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
    vmax = np.zeros_like(theta0) if amsgrad else None
    ref, rm, rv, rvmax = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0), np.zeros_like(theta0)
    for t, g in enumerate(gs, 1):
        adam_update(np, param, g.copy(), m, v, t, lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=0.0,
                    decoupled=False, max_exp_avg_sq=vmax, maximize=False)
        rm = b1 * rm + (1 - b1) * g
        rv = b2 * rv + (1 - b2) * g * g
        rvmax = np.maximum(rvmax, rv)
        vhat = (rvmax if amsgrad else rv) / (1 - b2 ** t)
        ref = ref - lr * (rm / (1 - b1 ** t)) / (np.sqrt(vhat) + eps)
        check_close(f"Adam（amsgrad={amsgrad}）第 {t} 步后的参数", param, ref,
                    hint="提示：m̂ = m/(1−β1^t)，v̂ = v/(1−β2^t)，θ ← θ − γ·m̂/(√v̂ + ε)。")
        check_close(f"Adam 第 {t} 步后的一阶矩 m", m, rm)
        check_close(f"Adam 第 {t} 步后的二阶矩 v", v, rv)
        if t == 1:
            step = np.abs(theta0 - param)
            if not np.allclose(step, lr, rtol=1e-3):
                raise TaskCheckError(f"Adam 第 1 步每个参数应移动约 lr = {lr}（偏差修正后 m̂/√v̂ = ±1），"
                                     f"实际移动 {step.min():.3g} … {step.max():.3g}。提示：检查偏差修正。")


@pytest.mark.task08_5
def test_adamw_decoupled_decay():
    theta0, _ = grads(seed=4)
    lr, wd = 0.01, 0.1
    param, m, v = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
    # 梯度为 0：Adam 的部分不移动参数，剩下的只有解耦的权重衰减 θ ← θ(1 − γλ)
    adam_update(np, param, np.zeros_like(theta0), m, v, 1, lr=lr, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=wd, decoupled=True, max_exp_avg_sq=None, maximize=False)
    check_close("AdamW（梯度为 0）一步后的参数", param, theta0 * (1 - lr * wd),
                hint="提示：AdamW 直接把参数缩小 θ ← θ − γλθ，不把 λθ 加进梯度。")
    if np.any(m) or np.any(v):
        raise TaskCheckError("AdamW：权重衰减不应进入一阶矩 m 与二阶矩 v（梯度为 0 时它们应保持为 0）。")
