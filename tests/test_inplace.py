"""原地修改与梯度：保存的张量被改过就报错（版本计数器）、.grad 原地累加、转成整数就断开梯度。"""

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
from tinygrad_zh import optim
from tinygrad_zh.autograd import increment_version

from conftest import to_host


def _mlp_loss(model, device):
    x = tg.randn(4, 3, device=device)
    return (model(x) ** 2).mean()


def test_step_before_backward_is_refused(device):
    tg.manual_seed(0)
    model = nn.Linear(3, 2).to(device)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = _mlp_loss(model, device)
    loss.backward(retain_graph=True)
    opt.step()                               # 原地改了 Linear 保存的 weight
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*LinearBackward 的第 1 个输入"):
        loss.backward()


def test_normal_training_order_is_fine(device):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(device)
    opt = optim.Adam(model.parameters(), lr=0.01)
    before = [p._version for p in model.parameters()]
    for _ in range(3):
        opt.zero_grad()
        _mlp_loss(model, device).backward()
        opt.step()
    assert [p._version for p in model.parameters()] == [v + 3 for v in before]


@pytest.mark.parametrize("modify", [
    lambda m: nn.init.zeros_(m.weight),
    lambda m: nn.init.normal_(m.weight),
    lambda m: m.load_state_dict({k: v * 2 for k, v in m.state_dict().items()}),
    lambda m: nn.utils.vector_to_parameters(nn.utils.parameters_to_vector(m.parameters()) * 0, m.parameters()),
], ids=["zeros_", "normal_", "load_state_dict", "vector_to_parameters"])
def test_other_inplace_writes_are_detected(modify):
    model = nn.Linear(3, 2)
    loss = _mlp_loss(model, "cpu")
    modify(model)
    with pytest.raises(RuntimeError, match="原地修改"):
        loss.backward()


def test_modified_saved_output_is_detected():
    x = tg.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()                # Exp 保存了输出 y
    z = y.sum()
    increment_version(y)       # 与 y.data *= 2 之后 PyTorch 的状态相同
    with pytest.raises(RuntimeError, match="ExpBackward 的输出"):
        z.backward()


def test_unsaved_modified_input_is_fine():
    # Add 不保存输入：改了也不影响梯度，不该报错（同 PyTorch）
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    y = (a + b).sum()
    increment_version(a)
    y.backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_grad_accumulates_in_place(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * x).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    assert x.grad is first                              # 同一个张量对象，同 PyTorch
    assert to_host(first).tolist() == [5.0, 7.0]        # 之前拿到的引用也看得到和


def test_integer_and_bool_casts_cut_the_graph():
    x = tg.tensor([1.5, -2.5], requires_grad=True)
    for cast in (lambda t: t.long(), lambda t: t.int(), lambda t: t.bool(), lambda t: t.to(tg.int64)):
        y = cast(x)
        assert not y.requires_grad and y.grad_fn is None
    z = (x.long().float() * x).sum()                    # 整数那一支没有梯度，只剩 x 本身那一支
    z.backward()
    assert x.grad.tolist() == [1.0, -2.0]
