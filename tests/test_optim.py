"""优化器、学习率调度器与正则化项的测试。

主要的“神谕” (oracle) 是本文件里按文档公式独立写出的 NumPy 实现（float64、逐行照抄公式、不追求速度），
与框架的原地、复用临时数组的实现对照；装了 torch 时再与 torch.optim 逐步对照。
"""

import copy
import math

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh import backend
from tinygrad_zh import optim
from tinygrad_zh.optim import lr_scheduler

from conftest import to_host

SHAPES = [(5,), (3, 4), (2, 3, 2)]
STEPS = 6
# 各步梯度的量级忽大忽小：让 amsgrad 的 max、centered 的方差、动量缓冲都真正起作用
SCALES = [2.0, 0.05, 1.0, 0.01, 0.5, 3.0]


def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) * SCALES[t] for s in SHAPES] for t in range(STEPS)]
    return init, grads


# ---------------------------------------------------------------------------- 按公式写的参考实现（单个参数）

def ref_sgd(theta, grads, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    b = None
    for t, grad in enumerate(grads, 1):
        g = (-grad if maximize else grad) + weight_decay * theta
        if momentum != 0:
            b = g.copy() if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
    return theta


def ref_adagrad(theta, grads, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                maximize=False):
    G = np.full_like(theta, initial_accumulator_value)
    for t, grad in enumerate(grads, 1):
        g = (-grad if maximize else grad) + weight_decay * theta
        clr = lr / (1 + (t - 1) * lr_decay)
        G = G + g * g
        theta = theta - clr * g / (np.sqrt(G) + eps)
    return theta


def ref_rmsprop(theta, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                maximize=False):
    v, gbar, b = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    for grad in grads:
        g = (-grad if maximize else grad) + weight_decay * theta
        v = alpha * v + (1 - alpha) * g * g
        vt = v
        if centered:
            gbar = alpha * gbar + (1 - alpha) * g
            vt = v - gbar * gbar
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(vt) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (np.sqrt(vt) + eps)
    return theta


def ref_adam(theta, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
             decoupled_weight_decay=False):
    b1, b2 = betas
    m, v, vmax = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    for t, grad in enumerate(grads, 1):
        g = -grad if maximize else grad
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            v_hat = vmax / (1 - b2 ** t)
        else:
            v_hat = v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


def ref_adamw(theta, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
              maximize=False):
    return ref_adam(theta, grads, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay=True)


CASES = [
    (optim.SGD, ref_sgd, dict(lr=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9, dampening=0.3)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.SGD, ref_sgd, dict(lr=0.1, weight_decay=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.8, dampening=0.1, weight_decay=0.2, maximize=True)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1, lr_decay=0.3)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1, eps=1e-3, lr_decay=0.1, maximize=True)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, momentum=0.9)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, centered=True)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, alpha=0.5, eps=1e-4, maximize=True)),
    (optim.Adam, ref_adam, dict(lr=0.01)),
    (optim.Adam, ref_adam, dict(lr=0.01, amsgrad=True)),
    (optim.Adam, ref_adam, dict(lr=0.01, weight_decay=0.1)),
    (optim.Adam, ref_adam, dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, amsgrad=True, weight_decay=0.1,
                                maximize=True)),
    (optim.Adam, ref_adam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.AdamW, ref_adamw, dict(lr=0.01)),
    (optim.AdamW, ref_adamw, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    (optim.AdamW, ref_adamw, dict(lr=0.01, betas=(0.5, 0.6), maximize=True)),
]
CASE_IDS = [cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kw.items()) for cls, _, kw in CASES]


def run_ours(cls, kwargs, init, grads, device="cpu", dtype=tg.float64, steps=None):
    params = [tg.tensor(a, dtype=dtype, device=device, requires_grad=True) for a in init]
    opt = cls(params, **kwargs)
    for step_grads in grads[:steps]:
        for p, g in zip(params, step_grads):
            p.grad = tg.tensor(g, dtype=dtype, device=device)
        opt.step()
    return params, opt


def state_arrays(opt):
    return [v for s in opt.state.values() for v in s.values() if backend.is_array(v)]


# ---------------------------------------------------------------------------- 更新规则

@pytest.mark.parametrize("cls, ref, kwargs", CASES, ids=CASE_IDS)
def test_matches_reference_formula(cls, ref, kwargs, device):
    init, grads = make_problem()
    params, opt = run_ours(cls, kwargs, init, grads, device)
    for i, p in enumerate(params):
        expected = ref(init[i], [g[i] for g in grads], **kwargs)
        np.testing.assert_allclose(to_host(p), expected, rtol=1e-10, atol=1e-12, err_msg=f"参数 {i}")
    assert p.device == device
    for arr in state_arrays(opt):  # 状态留在参数所在的设备上
        assert backend.device_of(arr) == device and arr.dtype == tg.float64


F32 = (1, 6, 9, 14, 19, 20, 22)  # 每种优化器都有、且都带状态的几种组合


@pytest.mark.parametrize("cls, ref, kwargs", [CASES[i] for i in F32], ids=[CASE_IDS[i] for i in F32])
def test_float32_stays_float32(cls, ref, kwargs, device):
    init, grads = make_problem(1)
    params, opt = run_ours(cls, kwargs, init, grads, device, dtype=tg.float32)
    for i, p in enumerate(params):
        assert p.dtype == tg.float32
        expected = ref(init[i], [g[i] for g in grads], **kwargs)
        np.testing.assert_allclose(to_host(p), expected, rtol=1e-4, atol=1e-5)
    assert state_arrays(opt) and all(a.dtype == tg.float32 for a in state_arrays(opt))


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adam, optim.AdamW])
def test_numpy_float64_hyperparameters_do_not_promote(cls, device):
    """超参数是 NumPy 的 float64 标量时（如从 .npz 读回的），float32 参数的状态与更新仍是 float32。"""
    f64 = np.float64
    kwargs = dict(lr=f64(0.01), weight_decay=f64(0.1))
    kwargs.update({optim.SGD: dict(momentum=f64(0.9), dampening=f64(0.1)),
                   optim.Adagrad: dict(lr_decay=f64(0.1), initial_accumulator_value=f64(0.1), eps=f64(1e-10)),
                   optim.RMSprop: dict(alpha=f64(0.9), momentum=f64(0.5), centered=True, eps=f64(1e-8)),
                   optim.Adam: dict(betas=(f64(0.9), f64(0.99)), eps=f64(1e-8), amsgrad=True),
                   optim.AdamW: dict(betas=(f64(0.9), f64(0.99)), eps=f64(1e-8))}[cls])
    init, grads = make_problem(5)
    params, opt = run_ours(cls, kwargs, init, grads, device, dtype=tg.float32)
    assert all(p.dtype == tg.float32 for p in params)
    assert state_arrays(opt) and all(a.dtype == tg.float32 for a in state_arrays(opt))


def test_amsgrad_and_centered_cases_are_not_trivial():
    """测试数据确实让 amsgrad 的 max 与 centered 的方差起作用（否则上面的对照测不到它们）。"""
    init, grads = make_problem()
    gs = [g[0] for g in grads]
    assert not np.allclose(ref_adam(init[0], gs, lr=0.01), ref_adam(init[0], gs, lr=0.01, amsgrad=True))
    assert not np.allclose(ref_rmsprop(init[0], gs), ref_rmsprop(init[0], gs, centered=True))


def test_momentum_buffer_starts_at_first_gradient():
    """第一步的缓冲就是 g（不乘 1 − dampening）；之后才是 μb + (1−τ)g。"""
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    w.grad = tg.tensor([1.0, -2.0])
    opt.step()
    np.testing.assert_allclose(to_host(opt.state[w]["momentum_buffer"]), [1.0, -2.0])
    np.testing.assert_allclose(to_host(w), [0.9, 2.2], rtol=1e-6)
    opt.step()
    np.testing.assert_allclose(to_host(opt.state[w]["momentum_buffer"]), [1.4, -2.8], rtol=1e-6)


def test_grad_is_not_modified_and_not_aliased():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)
    w.grad = tg.tensor([1.0, -2.0])
    opt.step()
    np.testing.assert_array_equal(to_host(w.grad), [1.0, -2.0])
    opt2 = optim.SGD([w], lr=0.1, momentum=0.9)
    opt2.step()
    opt2.zero_grad(set_to_none=False)  # 缓冲不能与梯度共享内存，否则会被一起清零
    np.testing.assert_array_equal(to_host(opt2.state[w]["momentum_buffer"]), [1.0, -2.0])


def test_params_without_grad_are_skipped(device):
    a = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = tg.tensor([3.0], device=device, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tg.tensor([1.0, 1.0], device=device)
    opt.step()
    np.testing.assert_array_equal(to_host(b), [3.0])
    assert b not in opt.state and opt.state[a]["step"] == 1


def test_step_with_closure_and_real_backward(device):
    w = tg.tensor([[1.0, -2.0], [0.5, 3.0]], device=device, requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():  # closure 内部仍会记录计算图
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(1 + 4 + 0.25 + 9)
    np.testing.assert_allclose(to_host(w), [[0.5, -1.0], [0.25, 1.5]])  # w − 0.25·2w
    assert opt.step() is None


# ---------------------------------------------------------------------------- 参数组与 zero_grad

def test_param_groups_with_different_lr():
    a = tg.tensor([1.0, 1.0], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["dampening"] == 0
    a.grad, b.grad = tg.tensor([1.0, 2.0]), tg.tensor([2.0])
    opt.step()
    np.testing.assert_allclose(to_host(a), [0.9, 0.8], rtol=1e-6)
    np.testing.assert_allclose(to_host(b), [0.0], atol=1e-7)
    assert a not in opt.state and "momentum_buffer" in opt.state[b]


def test_add_param_group_and_group_errors():
    a = tg.tensor([1.0], requires_grad=True)
    c = tg.tensor([2.0], requires_grad=True)
    opt = optim.Adam([a], lr=0.01)
    opt.add_param_group({"params": [c], "lr": 0.1})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999) and opt.param_groups[1]["lr"] == 0.1
    with pytest.raises(ValueError, match="多个参数组"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="lr=-1"):
        opt.add_param_group({"params": [tg.tensor([0.0], requires_grad=True)], "lr": -1})
    with pytest.raises(ValueError, match="重复"):
        optim.SGD([a, a])
    with pytest.raises(ValueError, match="非叶子"):
        optim.SGD([a * 2])
    with pytest.raises(TypeError, match="单个张量"):
        optim.SGD(a)
    with pytest.raises(TypeError, match="集合"):
        optim.SGD({a})
    with pytest.raises(ValueError, match="为空"):
        optim.SGD([])
    with pytest.raises(TypeError, match="张量"):
        optim.SGD([np.zeros(3)])


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none, device):
    w = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    u = tg.tensor([1.0], device=device, requires_grad=True)  # 没有梯度：不受影响
    opt = optim.SGD([w, u], lr=0.1)
    (w * w).sum().backward()
    grad_array = w.grad.data
    opt.zero_grad(set_to_none=set_to_none)
    assert u.grad is None
    if set_to_none:
        assert w.grad is None
    else:
        assert w.grad.data is grad_array and w.grad.shape == (2,)  # 原地清零
        np.testing.assert_array_equal(to_host(w.grad), [0.0, 0.0])
        (w * w).sum().backward()
        np.testing.assert_array_equal(to_host(w.grad), [2.0, 4.0])


def test_zero_grad_detaches_create_graph_grads():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w * w).sum().backward(create_graph=True)
    assert w.grad.grad_fn is not None
    optim.SGD([w]).zero_grad(set_to_none=False)
    assert w.grad.grad_fn is None
    np.testing.assert_array_equal(to_host(w.grad), [0.0, 0.0])


# ---------------------------------------------------------------------------- 参数检查

BAD_ARGS = [
    (lambda p: optim.SGD(p, lr=-0.1), "lr=-0.1"),
    (lambda p: optim.SGD(p, momentum=-0.9), "momentum=-0.9"),
    (lambda p: optim.SGD(p, weight_decay=-1e-4), "weight_decay=-0.0001"),
    (lambda p: optim.SGD(p, nesterov=True), "momentum=0"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
    (lambda p: optim.Adagrad(p, lr_decay=-1.0), "lr_decay=-1.0"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-0.5), "initial_accumulator_value=-0.5"),
    (lambda p: optim.Adagrad(p, eps=-1e-10), "eps=-1e-10"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "alpha=-0.5"),
    (lambda p: optim.RMSprop(p, eps=-1.0), "eps=-1.0"),
    (lambda p: optim.Adam(p, lr=-1e-3), "lr=-0.001"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"betas\[0\]=1.0"),
    (lambda p: optim.Adam(p, betas=(-0.1, 0.999)), r"betas\[0\]=-0.1"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.5)), r"betas\[1\]=1.5"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps=-1e-08"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "weight_decay=-0.01"),
]


@pytest.mark.parametrize("make, shown", BAD_ARGS, ids=[s for _, s in BAD_ARGS])
def test_bad_arguments_raise_value_error(make, shown):
    with pytest.raises(ValueError, match=shown) as info:
        make([tg.tensor([1.0], requires_grad=True)])
    assert "无效" in str(info.value) or "需要" in str(info.value)


# ---------------------------------------------------------------------------- state_dict

RESUME_CASES = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.1)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
]


@pytest.mark.parametrize("cls, kwargs", RESUME_CASES, ids=[c.__name__ for c, _ in RESUME_CASES])
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_state_dict_resume_is_bit_for_bit(cls, kwargs, dtype, device):
    init, grads = make_problem(2)
    params_a, opt_a = run_ours(cls, kwargs, init, grads, device, dtype, steps=3)
    sd = opt_a.state_dict()
    saved = copy.deepcopy(sd)
    assert sorted(sd["state"]) == [0, 1, 2] and sd["param_groups"][0]["params"] == [0, 1, 2]
    for st in sd["state"].values():  # 状态是主机上的 NumPy 副本
        assert all(type(v) is np.ndarray for v in st.values() if not isinstance(v, int))

    # “重新启动”：新参数（值从检查点来）、新优化器（故意用别的 lr，应被 state_dict 覆盖）
    params_b = [tg.tensor(to_host(p), device=device).requires_grad_() for p in params_a]
    opt_b = cls(params_b, **dict(kwargs, lr=123.0))
    opt_b.load_state_dict(sd)
    assert opt_b.param_groups[0]["lr"] == kwargs["lr"]
    for p in params_b:
        for v in opt_b.state[p].values():
            if backend.is_array(v):
                assert backend.device_of(v) == device and v.dtype == dtype
    for opt, params in ((opt_a, params_a), (opt_b, params_b)):
        for step_grads in grads[3:]:
            for p, g in zip(params, step_grads):
                p.grad = tg.tensor(g, dtype=dtype, device=device)
            opt.step()
    for pa, pb in zip(params_a, params_b):
        np.testing.assert_array_equal(to_host(pa), to_host(pb))
    for k, st in saved["state"].items():  # 继续训练没有改动保存下来的字典
        for name, v in st.items():
            np.testing.assert_array_equal(sd["state"][k][name], v)


def test_load_state_dict_accepts_checkpoint_style_values():
    """.npz 一类的格式会把标量、元组存成 NumPy 数组，字典键存成字符串：载入时还原。"""
    init, grads = make_problem(3)
    params_a, opt_a = run_ours(optim.Adam, dict(lr=0.01, betas=(0.8, 0.99)), init, grads, steps=2)
    sd = opt_a.state_dict()
    sd["state"] = {str(k): {n: np.asarray(v) for n, v in st.items()} for k, st in sd["state"].items()}
    sd["param_groups"] = [{k: np.asarray(v) for k, v in g.items()} for g in sd["param_groups"]]
    params_b = [tg.tensor(to_host(p), requires_grad=True) for p in params_a]
    opt_b = optim.Adam(params_b)
    opt_b.load_state_dict(sd)
    g = opt_b.param_groups[0]
    assert g["betas"] == (0.8, 0.99) and type(g["lr"]) is float and g["amsgrad"] is False
    assert opt_b.state[params_b[0]]["step"] == 2
    for opt, params in ((opt_a, params_a), (opt_b, params_b)):
        for p, gr in zip(params, grads[2]):
            p.grad = tg.tensor(gr)
        opt.step()
    for pa, pb in zip(params_a, params_b):
        np.testing.assert_array_equal(to_host(pa), to_host(pb))


def test_load_state_dict_errors_are_clear_and_atomic():
    init, grads = make_problem()
    params, opt = run_ours(optim.Adam, dict(lr=0.01), init, grads, steps=1)
    sd = opt.state_dict()
    fresh = optim.Adam([tg.tensor(a, requires_grad=True) for a in init], lr=0.5)
    with pytest.raises(ValueError, match=r"参数组个数不一致.*2 组.*1 组"):
        fresh.load_state_dict(dict(sd, param_groups=sd["param_groups"] * 2))
    two_params = optim.Adam([tg.tensor(a, requires_grad=True) for a in init[:2]])
    with pytest.raises(ValueError, match=r"第 0 个参数组的大小不一致.*3 个参数.*2 个"):
        two_params.load_state_dict(sd)
    shuffled = optim.Adam([tg.tensor(a, requires_grad=True) for a in init[::-1]], lr=0.5)
    with pytest.raises(ValueError, match="形状"):
        shuffled.load_state_dict(sd)
    assert shuffled.param_groups[0]["lr"] == 0.5 and not shuffled.state  # 失败时什么都没改
    with pytest.raises(ValueError, match="'state'"):
        fresh.load_state_dict({"param_groups": []})


# ---------------------------------------------------------------------------- 学习率调度

def lrs_of(make_sched, n, base=(0.1,)):
    opt = optim.SGD([{"params": [tg.tensor([0.0], requires_grad=True)], "lr": b} for b in base])
    sched = make_sched(opt)
    out = [sched.get_last_lr()]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == out[-1]
    return np.array(out)


def test_step_lr_closed_form():
    got = lrs_of(lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 10, base=(0.1, 1.0))
    want = [[b * 0.5 ** (t // 3) for b in (0.1, 1.0)] for t in range(11)]
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_cosine_annealing_closed_form():
    got = lrs_of(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01), 25)
    want = [[0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t / 10)) / 2] for t in range(26)]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert got[10, 0] == pytest.approx(0.01) and got[20, 0] == pytest.approx(0.1)


def test_lambda_lr_per_group():
    got = lrs_of(lambda o: lr_scheduler.LambdaLR(o, [lambda t: 0.9 ** t, lambda t: 1 / (t + 1)]), 5, (0.1, 0.2))
    want = [[0.1 * 0.9 ** t, 0.2 / (t + 1)] for t in range(6)]
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_warmup_cosine_is_the_nanogpt_schedule():
    base, w, total, min_lr = 0.6, 5, 20, 0.06

    def nanogpt(t):
        if t < w:
            return base * t / w
        if t > total:
            return min_lr
        return min_lr + 0.5 * (1 + math.cos(math.pi * (t - w) / (total - w))) * (base - min_lr)

    got = lrs_of(lambda o: lr_scheduler.WarmupCosineLR(o, w, total, min_lr), 30, base=(base,))[:, 0]
    np.testing.assert_allclose(got, [nanogpt(t) for t in range(31)], rtol=1e-14)
    assert got[0] == 0.0 and got[w] == pytest.approx(base) and got[total] == pytest.approx(min_lr)
    assert np.all(np.diff(got[:w + 1]) > 0) and np.all(np.diff(got[w:total + 1]) < 0)
    assert np.all(got[total:] == pytest.approx(min_lr))
    no_warmup = lrs_of(lambda o: lr_scheduler.WarmupCosineLR(o, 0, 4), 5, base=(1.0,))[:, 0]
    np.testing.assert_allclose(no_warmup, [1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5,
                                           (1 + math.cos(3 * math.pi / 4)) / 2, 0.0, 0.0], atol=1e-15)
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.WarmupCosineLR(optim.SGD([tg.tensor([0.0], requires_grad=True)]), 10, 5)


def test_scheduler_state_dict_resume():
    def build():
        opt = optim.SGD([tg.tensor([0.0], requires_grad=True)], lr=0.5)
        return opt, lr_scheduler.WarmupCosineLR(opt, warmup_steps=3, total_steps=10)

    opt_a, sched_a = build()
    for _ in range(4):
        sched_a.step()
    opt_b, sched_b = build()
    opt_b.load_state_dict(opt_a.state_dict())
    sched_b.load_state_dict(sched_a.state_dict())
    assert sched_b.last_epoch == 4 and opt_b.param_groups[0]["initial_lr"] == 0.5
    for _ in range(5):
        sched_a.step()
        sched_b.step()
        assert sched_a.get_last_lr() == sched_b.get_last_lr()
    lam = lr_scheduler.LambdaLR(opt_b, lambda t: 0.5)
    assert "lr_lambdas" not in lam.state_dict()  # 函数存不进检查点


# ---------------------------------------------------------------------------- 正则化

def test_l1_penalty_value_and_subgradient(device):
    w = tg.tensor([[1.0, -2.0], [0.0, 3.0]], device=device, requires_grad=True)
    b = tg.tensor([-0.5], device=device, requires_grad=True)
    pen = optim.l1_penalty([w, b], 0.1)
    assert pen.shape == () and pen.item() == pytest.approx(0.65)
    pen.backward()
    np.testing.assert_allclose(to_host(w.grad), [[0.1, -0.1], [0.0, 0.1]])  # |x|'(0) = 0
    np.testing.assert_allclose(to_host(b.grad), [-0.1])
    with pytest.raises(ValueError, match="weight=-1"):
        optim.l1_penalty([w], -1)
    with pytest.raises(ValueError, match="为空"):
        optim.l1_penalty([], 0.1)


def test_l2_penalty_equals_weight_decay():
    init = np.array([1.0, -2.0, 0.5])
    a = tg.tensor(init, requires_grad=True)
    b = tg.tensor(init, requires_grad=True)
    opt_a = optim.SGD([a], lr=0.1, weight_decay=0.3)
    opt_b = optim.SGD([b], lr=0.1)
    for _ in range(3):
        opt_a.zero_grad()
        opt_b.zero_grad()
        ((a - 1.0) ** 2).sum().backward()
        (((b - 1.0) ** 2).sum() + optim.l2_penalty(b, 0.3)).backward()
        opt_a.step()
        opt_b.step()
    np.testing.assert_allclose(to_host(a), to_host(b), rtol=1e-12)


# ---------------------------------------------------------------------------- 与 PyTorch 对照（可选）

@pytest.mark.torch
@pytest.mark.parametrize("cls, ref, kwargs", CASES, ids=CASE_IDS)
def test_optimizer_matches_torch(cls, ref, kwargs):
    torch = pytest.importorskip("torch")
    init, grads = make_problem(4)
    params, _ = run_ours(cls, kwargs, init, grads)
    tparams = [torch.tensor(a, requires_grad=True) for a in init]
    topt = getattr(torch.optim, cls.__name__)(tparams, **kwargs)
    for step_grads in grads:
        for p, g in zip(tparams, step_grads):
            p.grad = torch.tensor(g)
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(to_host(p), tp.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lambda t: 1 / (1 + t) ** 0.5)),
])
def test_scheduler_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = lrs_of(lambda o: getattr(lr_scheduler, name)(o, **kwargs), 20, base=(0.1, 0.3))
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": b} for b in (0.1, 0.3)])
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    theirs = [tsched.get_last_lr()]
    for _ in range(20):
        topt.step()
        tsched.step()
        theirs.append(tsched.get_last_lr())
    np.testing.assert_allclose(ours, np.array(theirs), rtol=1e-10, atol=1e-15)
