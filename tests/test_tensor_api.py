"""张量的创建、属性、转换与形状运算：名字、默认值、dtype 规则与 PyTorch 相同。"""

import numpy as np
import pytest

import tinygrad_zh as tg

from conftest import to_host


def test_default_dtypes_follow_pytorch():
    assert tg.tensor(1.5).dtype == tg.float32
    assert tg.tensor([1.0, 2.0]).dtype == tg.float32
    assert tg.tensor([1, 2]).dtype == tg.int64
    assert tg.tensor(True).dtype == tg.bool
    assert tg.tensor(np.array([1.0])).dtype == tg.float64  # NumPy 数组保持 dtype
    assert tg.tensor(np.array([1], dtype=np.int32)).dtype == tg.int32
    assert tg.arange(3).dtype == tg.int64 and tg.arange(0.0, 1.0, 0.25).dtype == tg.float32
    assert tg.full((2,), 1).dtype == tg.int64 and tg.full((2,), 1.0).dtype == tg.float32
    assert tg.zeros(2, 3).dtype == tg.float32 and tg.randn(2).dtype == tg.float32


def test_type_promotion_follows_pytorch():
    f32, i64 = tg.ones(3), tg.arange(3)
    assert (f32 * i64).dtype == tg.float32  # 浮点张量胜过整数张量（NumPy 会给 float64）
    assert (i64 / 2).dtype == tg.float32
    assert (i64 + 1.5).dtype == tg.float32
    assert (i64 + 1).dtype == tg.int64
    assert (f32 + tg.ones(3, dtype=tg.float64)).dtype == tg.float64
    assert (f32 * np.float64(2.0)).dtype == tg.float32  # NumPy 标量不会把 float32 提升
    assert (tg.tensor([True, False]) + 1).dtype == tg.int64


def test_creation_functions(device):
    assert tg.zeros(2, 3, device=device).tolist() == [[0.0] * 3] * 2
    assert tg.ones((2,), device=device).tolist() == [1.0, 1.0]
    assert tg.full((2, 2), 7.0, device=device).tolist() == [[7.0, 7.0]] * 2
    assert tg.arange(1, 7, 2, device=device).tolist() == [1, 3, 5]
    assert tg.eye(2, device=device).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert tg.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    x = tg.randn(3, 4, device=device, dtype=tg.float64)
    for like in (tg.zeros_like(x), tg.ones_like(x), tg.rand_like(x), tg.randn_like(x), tg.full_like(x, 2.0)):
        assert like.shape == (3, 4) and like.dtype == tg.float64 and like.device == device
    r = tg.randint(0, 10, (100,), device=device)
    assert r.dtype == tg.int64 and 0 <= r.min().item() and r.max().item() < 10
    assert tg.randint(5, (3,)).shape == (3,)
    u = tg.rand(1000)
    assert 0 <= u.min().item() and u.max().item() < 1


def test_manual_seed_makes_random_numbers_reproducible_across_devices():
    tg.manual_seed(0)
    a = tg.randn(5)
    tg.manual_seed(0)
    b = tg.randn(5, device="strict")
    assert a.tolist() == b.tolist()
    g = tg.Generator().manual_seed(3)
    state = g.get_state()
    c = tg.rand(4, generator=g)
    g.set_state(state)
    assert tg.rand(4, generator=g).tolist() == c.tolist()


def test_properties_and_conversions(device):
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.dim() == 2 and x.numel() == 4 and x.size(1) == 2
    assert x.device == device and x.is_leaf and x.grad is None and x.grad_fn is None
    assert x.sum().item() == 10.0 and isinstance(x.sum().item(), float)
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert x.double().dtype == tg.float64 and x.long().dtype == tg.int64 and x.float().dtype == tg.float32
    assert x.cpu().device == "cpu"
    moved = x.to("strict").to(tg.float64)
    assert moved.device == "strict" and moved.dtype == tg.float64
    (moved * 2).sum().backward()
    assert x.grad.dtype == tg.float32 and x.grad.device == device and x.grad.tolist() == [[2.0, 2.0]] * 2
    assert not x.detach().requires_grad
    d = x.detach().cpu()
    assert isinstance(d.numpy(), np.ndarray)
    assert len(x) == 2 and [row.tolist() for row in x.detach()] == [[1.0, 2.0], [3.0, 4.0]]


def test_from_numpy_shares_memory_and_tensor_copies():
    a = np.zeros(3)
    shared, copied = tg.from_numpy(a), tg.tensor(a)
    a[0] = 5
    assert shared.tolist()[0] == 5.0 and copied.tolist()[0] == 0.0


def test_clone_copies_memory_and_passes_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    y.data[0] = 5.0
    assert x.tolist() == [1.0, 2.0]
    (y * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_repr_looks_like_pytorch():
    assert repr(tg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(tg.tensor([1.0], dtype=tg.float64)) == "tensor([1.], dtype=tinygrad_zh.float64)"
    assert repr(tg.tensor([1], device="strict")) == "tensor([1], device='strict')"


def test_shape_ops(device):
    x = tg.arange(24, device=device).reshape(2, 3, 4)
    assert x.view(6, 4).shape == (6, 4) and x.reshape(-1).shape == (24,)
    assert x.transpose(0, 2).shape == (4, 3, 2) and x.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)
    assert x.unsqueeze(0).shape == (1, 2, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert tg.ones(1, 3, 1).squeeze().shape == (3,) and tg.ones(1, 3, 1).squeeze(0).shape == (3, 1)
    assert tg.ones(2, 3).squeeze(0).shape == (2, 3)  # 长度不为 1 的维不变（同 PyTorch）
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4)
    assert tg.ones(3, 1).expand(-1, 4).shape == (3, 4) and tg.ones(3).expand(2, 3).shape == (2, 3)
    assert [c.shape for c in tg.ones(5).chunk(3)] == [(2,), (2,), (1,)]
    assert [c.shape for c in tg.ones(5).split(2)] == [(2,), (2,), (1,)]
    assert [c.shape for c in tg.ones(5).split([1, 4])] == [(1,), (4,)]
    assert tg.stack([tg.ones(2), tg.zeros(2)], dim=1).tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert tg.cat([tg.ones(1, 2), tg.zeros(2, 2)]).shape == (3, 2)


def test_indexing_forms_and_repeated_index_gradients(device):
    x = tg.arange(12, device=device).reshape(3, 4).float().requires_grad_()
    assert x[1:3, ::2].tolist() == [[4.0, 6.0], [8.0, 10.0]]
    assert x[-1].tolist() == [8.0, 9.0, 10.0, 11.0]
    assert x[None].shape == (1, 3, 4) and x[..., 0].tolist() == [0.0, 4.0, 8.0]
    assert x[x > 9].tolist() == [10.0, 11.0]
    idx = tg.tensor([2, 0, 2], device=device)
    rows, cols = tg.tensor([0, 0], device=device), tg.tensor([1, 1], device=device)
    y = x[idx].sum() + x[:, [1, 1, 3]].sum() + x[rows, cols].sum()
    y.backward()
    expected = np.zeros((3, 4))
    expected[0] += 1
    expected[2] += 2
    expected[:, 1] += 2
    expected[:, 3] += 1
    expected[0, 1] += 2
    assert to_host(x.grad).tolist() == expected.tolist()


def test_comparisons_and_logic_return_bool_tensors():
    x = tg.tensor([1.0, 2.0, 3.0])
    assert (x > 1).tolist() == [False, True, True] and (x == 2).dtype == tg.bool
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert (~(x > 1)).tolist() == [True, False, False]
    assert (x >= 2).any().item() and not (x > 5).any().item() and (x > 0).all().item()
    assert x.argmax().item() == 2 and x.argmin(dim=0, keepdim=True).tolist() == [0]


def test_where_masked_fill_clamp():
    x = tg.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    assert tg.where(x > 0, x, 0.0).tolist() == [0.0, 0.5, 3.0]
    assert x.masked_fill(x > 1, -1.0).tolist() == [-2.0, 0.5, -1.0]
    assert x.clamp(min=0).tolist() == [0.0, 0.5, 3.0] and x.clip(-1, 1).tolist() == [-1.0, 0.5, 1.0]
    lo = tg.tensor([0.0, 1.0, 0.0])
    assert x.clamp(min=lo).tolist() == [0.0, 1.0, 3.0]
    with pytest.raises(RuntimeError):
        x.clamp()


def test_module_level_functions():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert tg.sum(x, 0).tolist() == [4.0, 6.0] and tg.mean(x).item() == 2.5
    assert tg.matmul(x, x).tolist() == [[7.0, 10.0], [15.0, 22.0]]
    assert tg.softmax(x, 1).sum(1).tolist() == pytest.approx([1.0, 1.0])
    assert np.allclose(tg.exp(tg.log(x)).tolist(), x.tolist())
    assert tg.is_tensor(x) and not tg.is_tensor(1.0)


# ---------------------------------------------------------------------------- dim=()、元组 dim、溢出、dtype、新运算

def test_sum_and_mean_with_empty_dim_reduce_everything(device):
    x = tg.arange(6, device=device).reshape(2, 3).float()
    for dim in ((), []):
        assert x.sum(dim=dim).shape == () and x.sum(dim=dim).item() == 15.0
        assert x.mean(dim=dim).item() == 2.5 and tg.mean(x, dim).item() == 2.5
        assert x.sum(dim, keepdim=True).shape == (1, 1)
        assert x.var(dim).item() == pytest.approx(3.5) and x.amax(dim).item() == 5.0
    assert tg.tensor(2.0, device=device).sum(()).item() == 2.0


def test_logsumexp_accepts_a_tuple_of_dims(device):
    a = np.arange(24.0).reshape(2, 3, 4) / 7
    x = tg.tensor(a, device=device)
    ref = np.log(np.exp(a).sum(axis=(0, 1)))
    assert np.allclose(to_host(x.logsumexp((0, 1))), ref)
    assert x.logsumexp([1, 0], keepdim=True).shape == (1, 1, 4)
    assert np.allclose(to_host(tg.logsumexp(x, (-1, 0))), np.log(np.exp(a).sum(axis=(0, 2))))


def test_huge_python_ints_raise_overflow_instead_of_wrapping():
    for data in ([2**63], [-2**63 - 1], [2**64], 2**63, [2**63, -1], [[1], [2**63]]):
        with pytest.raises(OverflowError, match="int64"):
            tg.tensor(data)
    with pytest.raises(OverflowError, match="9223372036854775808"):
        tg.tensor([2**63], dtype=tg.int64)
    assert tg.tensor([2**63 - 1]).tolist() == [2**63 - 1] and tg.tensor([-2**63]).dtype == tg.int64
    assert tg.tensor([2**63], dtype=tg.float64).item() == 2.0**63  # 浮点张量放得下（同 PyTorch）
    assert tg.tensor([1.5, 2**64]).dtype == tg.float32


def test_lists_of_numpy_scalars_keep_their_dtype_like_pytorch():
    assert tg.tensor([np.float64(1.5)]).dtype == tg.float64
    assert tg.tensor([np.float64(1.5), 2.0]).dtype == tg.float64
    assert tg.tensor([[np.float64(1.0)], [2.0]]).dtype == tg.float64
    assert tg.tensor([np.float32(1.5)]).dtype == tg.float32
    assert tg.tensor([np.float16(1.5)]).dtype == tg.float16
    assert tg.tensor([np.int32(3)]).dtype == tg.int32
    assert tg.tensor([np.int32(3), 5]).dtype == tg.int64
    assert tg.tensor([np.int32(3), 2.5]).dtype == tg.float32
    assert tg.tensor([1.5, 2.0]).dtype == tg.float32 and tg.tensor(1.5).dtype == tg.float32  # Python 浮点数仍是默认类型
    assert tg.tensor([np.float64(1.5)], dtype=tg.float32).dtype == tg.float32
    tg.set_default_dtype(tg.float64)
    try:
        assert tg.tensor([np.float32(1.5)]).dtype == tg.float32 and tg.tensor([1.5]).dtype == tg.float64
    finally:
        tg.set_default_dtype(tg.float32)


def test_where_with_zero_dim_float64_keeps_float32(device):
    c = tg.tensor([True, False], device=device)
    zero_d = tg.tensor(np.array(2.0), device=device)
    assert tg.where(c, tg.ones(2, device=device), zero_d).dtype == tg.float32
    assert tg.where(c, zero_d, tg.ones(2, device=device)).dtype == tg.float32
    assert tg.where(c, tg.ones(2, device=device), tg.ones(2, dtype=tg.float64, device=device)).dtype == tg.float64


def test_tril_triu_keep_bool_and_int_dtypes(device):
    b = tg.ones(3, 3, dtype=tg.bool, device=device)
    assert b.tril().dtype == tg.bool and tg.triu(b, 1).dtype == tg.bool
    assert b.tril().tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    i = tg.tensor(np.ones((2, 2), dtype=np.int32), device=device)
    assert i.triu().dtype == tg.int32


def test_flip(device):
    x = tg.arange(6, device=device).reshape(2, 3)
    assert x.flip(1).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert x.flip(0, 1).tolist() == x.flip((0, 1)).tolist() == tg.flip(x, [-1, 0]).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert x.flip(()).tolist() == x.tolist() and tg.tensor(3.0, device=device).flip(0).item() == 3.0
    y = x.float().requires_grad_()
    (y.flip(1) * tg.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert y.grad.tolist() == [[3.0, 2.0, 1.0]] * 2
    f = x.flip(0)
    f.data[0, 0] = 100  # 新的内存，不是视图（同 PyTorch）
    assert x.tolist()[1][0] == 3
    with pytest.raises(RuntimeError, match="重复"):
        x.flip(0, -2)
    with pytest.raises(IndexError, match="dim=2"):
        x.flip(2)


def test_amax_amin(device):
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], device=device)
    assert x.amax().item() == 7.0 and x.amin().item() == 0.0
    assert x.amax(1).tolist() == [5.0, 7.0] and x.amin(0, keepdim=True).tolist() == [[1.0, 0.0, 2.0]]
    assert tg.amax(x, (0, 1)).item() == 7.0 and tg.amin(x, -1).tolist() == [1.0, 0.0]
    assert tg.tensor([3, 9], device=device).amax().dtype == tg.int64
    assert tg.zeros(0, 3).amax(1).shape == (0,)
    with pytest.raises(RuntimeError, match="空张量"):
        tg.zeros(0).amax()
    with pytest.raises(IndexError, match="长度为 0"):
        tg.zeros(2, 0).amin(1)


def test_floor_divide_and_remainder_follow_python_and_pytorch(device):
    a = tg.tensor([7, -7, 7, -7], device=device)
    b = tg.tensor([2, 2, -2, -2], device=device)
    assert (a // b).tolist() == [3, -4, -4, 3] and (a // b).dtype == tg.int64  # 向负无穷取整
    assert (a % 3).tolist() == [1, 2, 1, 2] and (a % -3).tolist() == [-2, -1, -2, -1]  # 余数与除数同号
    assert a.floor_divide(2).tolist() == tg.floor_divide(a, 2).tolist() == [3, -4, 3, -4]
    assert a.remainder(b).tolist() == tg.remainder(a, b).tolist() == [1, 1, -1, -1]
    assert (7 // b).tolist() == [3, 3, -4, -4] and (7 % b).tolist() == [1, 1, -1, -1]
    x = tg.tensor([5.5, -5.5, 0.5], device=device)
    assert (x // 2).tolist() == [2.0, -3.0, 0.0] and (x % 2).tolist() == [1.5, 0.5, 0.5]
    assert (a // 2.0).dtype == tg.float32 and (7.5 % a).tolist() == [0.5, -6.5, 0.5, -6.5]
    with pytest.raises(RuntimeError, match="除以零"):
        a // 0
    with pytest.raises(RuntimeError, match="除以零"):
        a % tg.tensor([1, 0, 1, 1], device=device)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert (x // 0.0).tolist() == [np.inf, -np.inf, np.inf]  # 浮点数照 IEEE


def test_remainder_gradients_and_floor_divide_is_not_differentiable(device):
    a = tg.tensor([5.0, -5.0, 5.5], device=device, requires_grad=True)
    b = tg.tensor([3.0, 3.0, -2.0], device=device, requires_grad=True)
    (a % b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0] and b.grad.tolist() == [-1.0, 2.0, 3.0]  # −⌊a/b⌋
    q = a // b
    assert q.requires_grad  # 同 PyTorch：连在图上，反向时报错，而不是悄悄给 0
    with pytest.raises(RuntimeError, match="floor_divide.*not implemented"):
        q.sum().backward()
