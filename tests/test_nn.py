"""nn 模块系统：登记与遍历顺序、state_dict 存取、权重绑定、设备移动、训练状态、打印、容器。"""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_zh as tg
import tinygrad_zh.nn as nn

from conftest import to_host


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(4)
        self.fc = nn.Linear(4, 4)
        self.register_buffer("steps", tg.zeros(1, dtype=tg.int64))
        self.register_buffer("scratch", tg.zeros(2), persistent=False)


class Net(nn.Module):
    """与 test_named_parameters_match_torch 里的 torch 版本结构完全相同。"""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.scale = nn.Parameter(tg.ones(4))
        self.blocks = nn.ModuleList([Block(), Block()])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 3, bias=False)})
        self.seq = nn.Sequential(OrderedDict([("inner", nn.Linear(4, 4)), ("act", nn.ReLU())]))


NET_PARAMS = ["scale", "emb.weight",  # 自己的参数在前，子模块的在后（同 PyTorch）
              "blocks.0.ln.weight", "blocks.0.ln.bias", "blocks.0.fc.weight", "blocks.0.fc.bias",
              "blocks.1.ln.weight", "blocks.1.ln.bias", "blocks.1.fc.weight", "blocks.1.fc.bias",
              "heads.a.weight", "heads.a.bias", "heads.b.weight", "seq.inner.weight", "seq.inner.bias"]


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(6, 4)
        self.head = nn.Linear(4, 6, bias=False)
        self.head.weight = self.emb.weight  # 权重绑定 (weight tying)


# ---------------------------------------------------------------------------- 登记与遍历

def test_named_parameters_order_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == NET_PARAMS
    assert len(list(net.parameters())) == len(NET_PARAMS)
    assert [n for n, _ in net.named_buffers()] == ["blocks.0.steps", "blocks.0.scratch",
                                                    "blocks.1.steps", "blocks.1.scratch"]
    assert [n for n, _ in net.named_children()] == ["emb", "blocks", "heads", "seq"]
    assert [n for n, _ in net.named_modules()][:4] == ["", "emb", "blocks", "blocks.0"]
    assert [n for n, _ in net.blocks[0].named_parameters(prefix="x")] == ["x.ln.weight", "x.ln.bias",
                                                                         "x.fc.weight", "x.fc.bias"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]


@pytest.mark.torch
def test_named_parameters_match_torch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln = tnn.LayerNorm(4)
            self.fc = tnn.Linear(4, 4)
            self.register_buffer("steps", torch.zeros(1, dtype=torch.int64))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)

    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.emb = tnn.Embedding(10, 4)
            self.scale = tnn.Parameter(torch.ones(4))
            self.blocks = tnn.ModuleList([TBlock(), TBlock()])
            self.heads = tnn.ModuleDict({"a": tnn.Linear(4, 2), "b": tnn.Linear(4, 3, bias=False)})
            self.seq = tnn.Sequential(OrderedDict([("inner", tnn.Linear(4, 4)), ("act", tnn.ReLU())]))

    ours, theirs = Net(), TNet()
    for fn in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert [n for n, _ in getattr(ours, fn)()] == [n for n, _ in getattr(theirs, fn)()], fn
    assert list(ours.state_dict()) == list(theirs.state_dict())
    # 我们的 state_dict 能原样加载进 torch，反之亦然
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    tied, ttied = Tied(), tnn.Module()
    ttied.emb, ttied.head = tnn.Embedding(6, 4), tnn.Linear(4, 6, bias=False)
    ttied.head.weight = ttied.emb.weight
    assert [n for n, _ in tied.named_parameters()] == [n for n, _ in ttied.named_parameters()]
    assert list(tied.state_dict()) == list(ttied.state_dict())


def test_setattr_routes_parameters_modules_buffers():
    m = nn.Module()
    m.w = nn.Parameter(tg.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("buf", tg.ones(3))
    m.plain = tg.ones(1)  # 普通张量只是普通属性，不登记
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and list(m._buffers) == ["buf"]
    assert "plain" not in m.state_dict() and m.plain.shape == (1,)
    m.buf = tg.zeros(3)  # 已登记的缓冲区可以换成另一个张量
    assert m._buffers["buf"] is m.buf
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.w = tg.zeros(2)
    m.w = None  # 允许：表示“这里没有参数”
    assert "w" in m._parameters and list(m.parameters()) == list(m.sub.parameters())
    m.sub = None
    assert list(m.named_modules()) == [("", m)]
    del m.buf
    assert "buf" not in m._buffers
    with pytest.raises(AttributeError, match="bufx"):
        m.bufx
    lin = nn.Linear(2, 2)
    with pytest.raises(AttributeError, match="weight"):
        lin.weigth  # 拼错时提示最接近的名字
    with pytest.raises(TypeError):
        m.register_buffer("x", np.zeros(2))
    with pytest.raises(KeyError, match="已经存在"):
        lin.register_buffer("in_features", tg.zeros(1))
    with pytest.raises(KeyError):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.register_parameter("p", tg.zeros(1))


def test_forgetting_super_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Bad()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tg.zeros(1))


def test_parameter_basics():
    t = tg.ones(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert p.data is t.data  # 与 torch 相同：共享数据
    assert not hasattr(p, "__dict__")  # 空 __slots__：不多占内存
    assert repr(nn.Parameter(tg.ones(2))) == "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    assert nn.Parameter().shape == (0,)
    assert not nn.Parameter(tg.ones(1), requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="浮点"):
        nn.Parameter(tg.tensor([1, 2]))
    y = (p * 2).sum()
    assert type(p * 2) is tg.Tensor
    y.backward()
    assert np.all(to_host(p.grad) == 2)


# ---------------------------------------------------------------------------- state_dict

def test_state_dict_round_trip_and_copies(device):
    a, b = Net().to(device), Net().to(device)
    sd = a.state_dict()
    assert isinstance(sd, OrderedDict)
    # 每个模块：自己的参数、自己的持久缓冲区，然后是子模块（同 PyTorch）；非持久缓冲区 scratch 不在其中
    assert list(sd) == NET_PARAMS[:2] + ["blocks.0.steps"] + NET_PARAMS[2:6] + ["blocks.1.steps"] + NET_PARAMS[6:]
    assert all(type(v) is np.ndarray for v in sd.values())  # 主机上的 NumPy 数组，哪怕模型在别的设备上
    assert sd["blocks.0.steps"].dtype == np.int64
    before = sd["emb.weight"].copy()
    sd["emb.weight"] += 1  # 副本：改它不影响模型
    assert np.array_equal(to_host(a.emb.weight), before)
    sd["emb.weight"] = before
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (n1, p1), (n2, p2) in zip(a.state_dict(keep_vars=True).items(), b.state_dict(keep_vars=True).items()):
        assert n1 == n2 and np.array_equal(to_host(p1), to_host(p2)) and p2.device == device
    sd["scale"][0] = 7.0
    assert to_host(b.scale)[0] == 1.0  # 加载时复制：不与调用者的数组共享内存


def test_load_state_dict_errors_name_keys_and_shapes():
    net = Net()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    sd = net.state_dict()
    del sd["scale"]
    sd["extra.weight"] = np.zeros(3)
    sd["emb.weight"] = np.zeros((9, 4), dtype=np.float32)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert "Error(s) in loading state_dict for Net" in msg
    assert '"scale"' in msg and "Missing" in msg and '"extra.weight"' in msg and "Unexpected" in msg
    assert "emb.weight" in msg and "(9, 4)" in msg and "(10, 4)" in msg
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())  # 出错时一个数都不改
    # strict=False：缺少 / 多余的键只是报告，但形状不符仍然报错
    with pytest.raises(RuntimeError, match="size mismatch for emb.weight"):
        net.load_state_dict(sd, strict=False)
    sd["emb.weight"] = np.ones((10, 4))
    result = net.load_state_dict(sd, strict=False)
    assert result == (["scale"], ["extra.weight"])
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["extra.weight"]
    assert np.all(to_host(net.emb.weight) == 1) and net.emb.weight.dtype == np.float32
    assert repr(net.load_state_dict(net.state_dict())) == "<All keys matched successfully>"
    with pytest.raises(TypeError):
        net.load_state_dict([1, 2])


def test_load_state_dict_keeps_dtype_and_device_and_accepts_tensors(device):
    lin = nn.Linear(3, 2, dtype=tg.float64).to(device)
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    lin.load_state_dict({"weight": w, "bias": tg.tensor([1.0, 2.0], device="strict")})
    assert lin.weight.dtype == np.float64 and lin.weight.device == device and lin.bias.device == device
    assert np.array_equal(to_host(lin.weight), w) and np.array_equal(to_host(lin.bias), [1.0, 2.0])
    assert isinstance(lin.weight, nn.Parameter)


def test_tied_weights_once_in_parameters_twice_in_state_dict(device):
    m = Tied()
    assert m.head.weight is m.emb.weight
    assert [n for n, _ in m.named_parameters()] == ["emb.weight"]
    assert list(m.state_dict()) == ["emb.weight", "head.weight"]
    assert [n for n, _ in m.named_parameters(remove_duplicate=False)] == ["emb.weight", "head.weight"]
    new = np.full((6, 4), 3.0)
    m.load_state_dict({"emb.weight": new, "head.weight": new})
    assert m.head.weight is m.emb.weight and np.all(to_host(m.head.weight) == 3.0)
    m.to(device)
    assert m.head.weight is m.emb.weight and m.emb.weight.device == device
    x = tg.tensor([[1, 2]], device=device)
    logits = m.head(m.emb(x))
    logits.sum().backward()
    assert m.emb.weight.grad.shape == (6, 4)  # 两条路径的梯度都累加到同一个参数上


# ---------------------------------------------------------------------------- 设备、dtype、训练状态

def test_to_moves_everything_and_keeps_identity(device):
    net = Net()
    params_before = list(net.parameters())
    net.emb.weight.grad = tg.ones(10, 4)
    out = net.to(device)
    assert out is net and list(net.parameters()) == params_before  # 同一批对象：优化器不受影响
    assert all(p.device == device and isinstance(p, nn.Parameter) for p in net.parameters())
    assert all(b.device == device for b in net.buffers())
    assert net.emb.weight.grad.device == device
    y = net.seq(net.blocks[0].fc(net.emb(tg.tensor([1, 2], device=device))))
    assert y.device == device
    net.cpu()
    assert all(p.device == "cpu" for p in net.parameters())


def test_to_dtype_casts_floats_only():
    net = Net()
    net.double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.blocks[0].steps.dtype == np.int64 and net.blocks[0].scratch.dtype == np.float64
    net.to("strict", tg.float32)
    assert all(p.dtype == np.float32 and p.device == "strict" for p in net.parameters())
    net.to(dtype="float64").float()
    assert net.scale.dtype == np.float32
    net.to(tg.zeros(1, dtype=tg.float64))
    assert net.scale.dtype == np.float64 and net.scale.device == "cpu"
    with pytest.raises(TypeError, match="浮点"):
        net.to(tg.int64)
    with pytest.raises(ValueError, match="未知设备"):
        net.to(device="tpu")


def test_train_eval_propagate():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5)))
    assert net.training and net[1][0].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    x = tg.randn(3, 2)
    assert np.array_equal(to_host(net[1](x)), to_host(x))  # 评估模式下 dropout 原样返回
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("yes")


def test_zero_grad_apply_requires_grad():
    lin = nn.Linear(3, 2)
    lin(tg.randn(4, 3)).sum().backward()
    lin.zero_grad(set_to_none=False)
    assert np.all(to_host(lin.weight.grad) == 0) and lin.weight.grad.shape == (2, 3)
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None
    seen = []
    net = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]  # 先子后父
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_deepcopy_gives_independent_module():
    net = Tied()
    twin = copy.deepcopy(net)
    assert twin.head.weight is twin.emb.weight and twin.emb.weight is not net.emb.weight
    assert isinstance(twin.emb.weight, nn.Parameter)
    twin.emb.weight.data[0, 0] = 123.0
    assert to_host(net.emb.weight)[0, 0] != 123.0


# ---------------------------------------------------------------------------- 打印

def test_repr_matches_pytorch_format():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.LayerNorm(3), nn.Dropout()),
                        nn.Embedding(5, 3, padding_idx=0), nn.GELU(approximate="tanh"))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True)\n"
        "    (1): Dropout(p=0.5, inplace=False)\n"
        "  )\n"
        "  (3): Embedding(5, 3, padding_idx=0)\n"
        "  (4): GELU(approximate='tanh')\n"
        ")")
    assert repr(nn.ModuleList([nn.Linear(2, 2, bias=False)] * 3 + [nn.Tanh()])) == (
        "ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=False)\n  (3): Tanh()\n)")
    assert repr(nn.ModuleDict({"act": nn.LeakyReLU(0.2)})) == "ModuleDict(\n  (act): LeakyReLU(negative_slope=0.2)\n)"
    assert repr(nn.ModuleList()) == "ModuleList()"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Softmax(dim=-1)) == "Softmax(dim=-1)" and repr(nn.Identity()) == "Identity()"
    assert repr(nn.LayerNorm(4, elementwise_affine=False)).endswith("elementwise_affine=False, bias=False)")
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


# ---------------------------------------------------------------------------- 容器

def test_sequential_behaviour():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c] and seq[0] is a and seq[-1] is c
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c] and sub[0] is b
    assert list(sub._modules) == ["1", "2"]  # 切片保留原来的名字（同 PyTorch）
    x = tg.randn(4, 2)
    assert np.allclose(to_host(seq(x)), to_host(c(b(a(x)))))
    d = nn.Tanh()
    assert seq.append(d) is seq and seq[3] is d
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and list(seq) == [a, c, d]
    seq.insert(1, b)
    assert list(seq) == [a, b, c, d]
    seq[3] = nn.Sigmoid()
    assert isinstance(seq[3], nn.Sigmoid)
    assert isinstance(seq.pop(), nn.Sigmoid) and len(seq) == 3
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert named.fc is a and [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    with pytest.raises(IndexError, match="越界"):
        seq[10]
    with pytest.raises(TypeError, match="nn.Module"):
        nn.Sequential(a, lambda x: x)


def test_modulelist_behaviour():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    assert len(layers) == 2 and len(list(layers.parameters())) == 4
    extra = nn.Linear(2, 2)
    layers.append(extra)
    assert layers[-1] is extra and layers[2] is extra
    layers.extend([nn.ReLU()])
    layers += [nn.Tanh()]
    assert len(layers) == 5 and isinstance(layers[4], nn.Tanh)
    first = nn.Sigmoid()
    layers.insert(0, first)
    assert layers[0] is first and list(layers._modules) == [str(i) for i in range(6)]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert list(layers._modules) == [str(i) for i in range(5)] and layers[2] is extra
    assert isinstance(layers + nn.ModuleList([nn.ReLU()]), nn.ModuleList)
    assert layers.pop(0) is not extra and len(layers) == 4
    with pytest.raises(NotImplementedError):
        layers(tg.zeros(1))
    with pytest.raises(TypeError, match="nn.Module"):
        layers.append(3)


def test_moduledict_behaviour():
    d = nn.ModuleDict({"a": nn.Linear(1, 1)})
    d["b"] = nn.ReLU()
    d.update([("c", nn.Tanh())])
    assert list(d) == ["a", "b", "c"] and list(d.keys()) == ["a", "b", "c"] and len(d) == 3
    assert "b" in d and isinstance(d["c"], nn.Tanh)
    assert [k for k, _ in d.items()] == ["a", "b", "c"] and len(list(d.values())) == 3
    assert [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias"]
    assert isinstance(d.pop("b"), nn.ReLU) and "b" not in d
    del d["c"]
    assert list(d) == ["a"]
    with pytest.raises(KeyError, match="已有的键"):
        d["zzz"]
    d.clear()
    assert len(d) == 0
