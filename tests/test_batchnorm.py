"""批量规范化 (BatchNorm)：训练 / 评估两种模式的 float64 梯度检验、滑动平均的更新数值、缓冲区与 state_dict、
缺少 num_batches_tracked 的旧字典、错误信息，以及（可选）加载 PyTorch 的 state_dict 后逐步对照。"""

import numpy as np
import pytest

import tinygrad_zh as tg
from tinygrad_zh import backend
from tinygrad_zh.nn import functional as F
from tinygrad_zh.nn.container import Sequential
from tinygrad_zh.nn.normalization import BatchNorm1d, BatchNorm2d
from tinygrad_zh.testing import StrictArray, assert_close, gradcheck

from conftest import to_host

SHAPES = {"1d": ((6, 3), BatchNorm1d), "1d_L": ((4, 3, 5), BatchNorm1d), "2d": ((3, 3, 4, 2), BatchNorm2d)}


def on(dev, arr, requires_grad=False):
    data = StrictArray(np.array(arr)) if dev == "strict" else backend.to_device(np.array(arr), dev)
    return tg.Tensor(data).requires_grad_(requires_grad)


def reference(x, mean, var, w, b, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y * w.reshape(shape) + b.reshape(shape)


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


# ---------------------------------------------------------------------------- 梯度检验

@pytest.mark.parametrize("kind", list(SHAPES))
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_train_mode_gradcheck(device, kind, affine):
    shape, cls = SHAPES[kind]
    rng = np.random.default_rng(0)
    bn = cls(3, affine=affine, dtype=tg.float64, device=device)
    if affine:
        with tg.no_grad():  # 非平凡的 γ、β：γ = 1 时一些错误看不出来
            bn.weight.data = on(device, rng.uniform(0.5, 2, 3)).data
            bn.bias.data = on(device, rng.standard_normal(3)).data
    x = on(device, rng.standard_normal(shape) * 2 + 1, True)
    params = [bn.weight, bn.bias] if affine else []
    assert gradcheck(lambda x, *p: bn(x), x, *params)
    if affine:  # 输入不需要梯度时只求 γ、β 的梯度
        x_const = on(device, to_host(x))
        assert gradcheck(lambda w, b: bn(x_const), bn.weight, bn.bias)
    y = to_host(bn(x))
    axes = _axes(y)
    # 每个通道规范化后的均值 0、有偏方差 1（再乘 γ 加 β）
    xs = to_host(x)
    w, b = (to_host(bn.weight), to_host(bn.bias)) if affine else (np.ones(3), np.zeros(3))
    assert_close(y, reference(xs, xs.mean(axes), xs.var(axes), w, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_batch_norm_eval_mode_gradcheck_and_uses_running_stats(device, kind):
    shape, cls = SHAPES[kind]
    rng = np.random.default_rng(1)
    bn = cls(3, dtype=tg.float64, device=device)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    with tg.no_grad():
        bn.running_mean.data = on(device, rm).data
        bn.running_var.data = on(device, rv).data
        bn.weight.data = on(device, rng.uniform(0.5, 2, 3)).data
    bn.eval()
    x = on(device, rng.standard_normal(shape), True)
    y = bn(x)
    expected = reference(to_host(x), rm, rv, to_host(bn.weight), to_host(bn.bias))
    assert_close(to_host(y), expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x, w, b: bn(x), x, bn.weight, bn.bias)
    # 评估模式不更新滑动平均，也不计数
    assert_close(to_host(bn.running_mean), rm)
    assert int(bn.num_batches_tracked.item()) == 0
    # 评估模式下单个样本也可以（训练模式会报错）
    assert bn(on(device, rng.standard_normal((1,) + shape[1:]))).shape == (1,) + shape[1:]


# ---------------------------------------------------------------------------- 滑动平均

def test_running_stats_update_numbers(device):
    """running ← 0.9·running + 0.1·batch；running_var 用无偏方差（除以 m − 1），规范化用有偏方差。"""
    rng = np.random.default_rng(2)
    bn = BatchNorm2d(3, dtype=tg.float64, device=device)
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(1, 3):
        x = rng.standard_normal((4, 3, 2, 3)) * step + step
        bn(on(device, x))
        m = x.size // 3
        rm = 0.9 * rm + 0.1 * x.mean((0, 2, 3))
        rv = 0.9 * rv + 0.1 * x.var((0, 2, 3)) * m / (m - 1)
        assert_close(to_host(bn.running_mean), rm, rtol=1e-12, atol=1e-12)
        assert_close(to_host(bn.running_var), rv, rtol=1e-12, atol=1e-12)
        assert int(bn.num_batches_tracked.item()) == step and bn.num_batches_tracked.dtype == np.int64


def test_momentum_none_is_cumulative_average(device):
    rng = np.random.default_rng(3)
    bn = BatchNorm1d(2, momentum=None, dtype=tg.float64, device=device)
    batches = [rng.standard_normal((5, 2)) + i for i in range(4)]
    for x in batches:
        bn(on(device, x))
    assert_close(to_host(bn.running_mean), np.mean([x.mean(0) for x in batches], axis=0), rtol=1e-12, atol=1e-12)
    assert_close(to_host(bn.running_var), np.mean([x.var(0, ddof=1) for x in batches], axis=0), rtol=1e-12, atol=1e-12)


def test_functional_batch_norm_updates_in_place_under_no_grad(device):
    rng = np.random.default_rng(4)
    x = on(device, rng.standard_normal((8, 2)), True)
    rm, rv = on(device, np.zeros(2)), on(device, np.ones(2))
    ids = (id(rm), id(rv))
    y = F.batch_norm(x, rm, rv, training=True, momentum=0.5)
    assert (id(rm), id(rv)) == ids and rm.grad_fn is None and not rm.requires_grad
    assert_close(to_host(rm), 0.5 * to_host(x).mean(0), rtol=1e-12, atol=1e-12)
    assert y.requires_grad
    # 只用批量统计量、不更新任何东西
    assert F.batch_norm(x, None, None, training=True).shape == (8, 2)


def test_track_running_stats_false_uses_batch_stats_in_eval():
    bn = BatchNorm2d(2, track_running_stats=False, affine=False, dtype=tg.float64)
    assert bn.running_mean is None and bn.num_batches_tracked is None
    assert list(bn.state_dict()) == []
    assert list(BatchNorm2d(2, track_running_stats=False).state_dict()) == ["weight", "bias"]
    x = np.random.default_rng(5).standard_normal((3, 2, 2, 2))
    y = to_host(bn.eval()(tg.tensor(x)))
    assert_close(y, reference(x, x.mean((0, 2, 3)), x.var((0, 2, 3)), np.ones(2), np.zeros(2)), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- 缓冲区、state_dict、repr

def test_buffers_state_dict_repr_and_to():
    bn = BatchNorm2d(4)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert repr(bn) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(BatchNorm1d(3, momentum=None, affine=False)) == \
        "BatchNorm1d(3, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=True)"
    assert list(BatchNorm1d(2, bias=False).state_dict())[:2] == ["weight", "running_mean"]
    bn.double().to("strict")
    assert bn.running_var.dtype == np.float64 and bn.running_var.device == "strict"
    assert bn.num_batches_tracked.dtype == np.int64  # 整数缓冲区不随 dtype 转换
    bn(tg.randn(2, 4, 3, 3, dtype=tg.float64, device="strict"))
    assert int(bn.num_batches_tracked.item()) == 1
    bn.reset_running_stats()
    assert int(bn.num_batches_tracked.item()) == 0 and np.all(to_host(bn.running_var) == 1)


def test_load_state_dict_without_num_batches_tracked():
    """决定：与 PyTorch 相同，缺少 num_batches_tracked（0.4.1 之前的旧格式）时 strict=True 也能加载，计数沿用当前值。"""
    src = BatchNorm2d(3)
    src(tg.randn(4, 3, 2, 2))
    sd = {k: v for k, v in src.state_dict().items() if k != "num_batches_tracked"}
    dst = BatchNorm2d(3)
    with tg.no_grad():
        dst.num_batches_tracked.data += 5
    assert dst.load_state_dict(sd).missing_keys == []
    assert_close(to_host(dst.running_mean), sd["running_mean"])
    assert int(dst.num_batches_tracked.item()) == 5
    # 嵌套在别的模块里也一样（Module.load_state_dict 先让每个子模块补齐旧字典）
    model = Sequential(BatchNorm2d(3))
    result = model.load_state_dict({"0." + k: v for k, v in sd.items()}, strict=False)
    assert result.missing_keys == []
    assert_close(to_host(model[0].running_var), sd["running_var"])


def test_nested_load_without_num_batches_tracked_strict():
    sd = {k: v for k, v in BatchNorm2d(3).state_dict().items() if k != "num_batches_tracked"}
    Sequential(BatchNorm2d(3)).load_state_dict({"0." + k: v for k, v in sd.items()})


# ---------------------------------------------------------------------------- 错误信息

def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(tg.randn(1, 3))
    with pytest.raises(ValueError, match="expected 4D input"):
        BatchNorm2d(3)(tg.randn(2, 3, 4))
    with pytest.raises(ValueError, match="expected 2D 或 3D input"):
        BatchNorm1d(3)(tg.randn(2, 3, 4, 5))
    with pytest.raises(RuntimeError) as e:
        BatchNorm2d(4)(tg.randn(2, 3, 2, 2))
    assert "(2, 3, 2, 2)" in str(e.value) and "(4,)" in str(e.value)
    with pytest.raises(RuntimeError, match="evaluation mode"):
        F.batch_norm(tg.randn(2, 3), None, None, training=False)
    with pytest.raises(RuntimeError, match="device mismatch"):
        BatchNorm1d(3)(tg.randn(4, 3, device="strict"))


# ---------------------------------------------------------------------------- 与 PyTorch 对照（可选）

@pytest.mark.torch
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_loads_torch_state_dict_and_matches(momentum):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 2)
        theirs.bias.normal_()
    theirs(torch.randn(4, 3, 2, 2, dtype=torch.float64) * 3 + 1)  # 让滑动平均与计数不再是初值
    ours = BatchNorm2d(3, momentum=momentum, dtype=tg.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(6)
    for mode in ("train", "eval", "train"):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x = rng.standard_normal((5, 3, 3, 2)) * 2 - 1
        ox, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, tout = ours(ox), theirs(tx)
        assert_close(to_host(out), tout.detach().numpy(), rtol=1e-10, atol=1e-12, msg=mode)
        g = rng.standard_normal(out.shape)
        out.backward(tg.tensor(g))
        tout.backward(torch.tensor(g))
        assert_close(to_host(ox.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-12, msg=mode)
        for name, p in ours.named_parameters():
            tp = dict(theirs.named_parameters())[name]
            assert_close(to_host(p.grad), tp.grad.numpy(), rtol=1e-10, atol=1e-12, msg=f"{mode} {name}")
            p.grad, tp.grad = None, None
        for name, b in ours.named_buffers():
            assert_close(to_host(b), dict(theirs.named_buffers())[name].numpy(), rtol=1e-12, atol=1e-12, msg=name)
    # torch 也接受缺少 num_batches_tracked 的字典：两边行为一致
    sd = {k: v for k, v in theirs.state_dict().items() if k != "num_batches_tracked"}
    assert not theirs.load_state_dict(sd).missing_keys
    assert not ours.load_state_dict({k: v.numpy() for k, v in sd.items()}).missing_keys
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked)


@pytest.mark.torch
def test_batchnorm1d_matches_torch_float32():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(7).standard_normal((6, 4, 5)).astype(np.float32)
    ours, theirs = BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    out = ours(tg.tensor(x))
    assert out.dtype == np.float32
    assert_close(to_host(out), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    assert_close(to_host(ours.running_var), theirs.running_var.numpy(), rtol=1e-6, atol=1e-6)
