"""一张运算表驱动所有基于 hypothesis 的测试（前向对照 NumPy、float64 梯度检验、广播、非连续输入、二阶导数）。

每一行：名字、hypothesis 策略（抽出输入数组与参数）、框架里的写法、NumPy 的参考写法。
输入取值都落在运算的定义域内，并避开不可导点（relu / abs 的 0、max 的并列、clamp 的边界）。
"""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from hypothesis import assume, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_zh as tg
import tinygrad_zh.nn.functional as F

SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4)
SMALL_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def floats(lo=-2.0, hi=2.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


def arrays(shape, lo=-2.0, hi=2.0):
    return hnp.arrays(np.float64, shape, elements=floats(lo, hi))


def away_from_zero(shape, gap=0.1):
    """|x| ≥ gap：避开 relu、abs 在 0 处的折点 (kink)。"""
    return arrays(shape, -2.0, 2.0).map(lambda a: np.where(a >= 0, a + gap, a - gap))


def distinct(shape, gap=1e-2):
    """元素两两相差至少 gap：max / min / 排序没有并列。"""
    def build(perm_and_noise):
        n = int(np.prod(shape))
        perm, noise = perm_and_noise
        vals = (np.array(perm, dtype=np.float64) - n / 2) * 0.1 + np.array(noise) * (0.1 - gap) / 2
        return vals.reshape(shape)
    n = int(np.prod(shape))
    return st.tuples(st.permutations(range(n)), st.lists(floats(-1, 1), min_size=n, max_size=n)).map(build)


@dataclass
class Op:
    name: str
    strategy: st.SearchStrategy          # 抽出 (arrays_tuple, params_dict)
    fn: Callable                          # fn(*tensors, **params) -> Tensor
    ref: Callable                         # ref(*arrays, **params) -> ndarray
    second_order: bool = True             # 是否检验二阶导数
    tags: set = field(default_factory=set)


def unary(shape_st=SHAPES, elements=arrays):
    return shape_st.flatmap(lambda s: st.tuples(st.tuples(elements(s)), st.just({})))


def with_dim(elements=arrays, shape_st=SMALL_SHAPES, keepdim=True, extra=None):
    @st.composite
    def strat(draw):
        shape = draw(shape_st)
        x = draw(elements(shape))
        params = {"dim": draw(st.integers(-len(shape), len(shape) - 1))}
        if keepdim:
            params["keepdim"] = draw(st.booleans())
        if extra:
            params.update(extra(draw, shape, params))
        return (x,), params
    return strat()


def binary(elements_a=arrays, elements_b=arrays, separate=False):
    """两个可以互相广播的形状 (mutually broadcastable shapes)。"""
    @st.composite
    def strat(draw):
        shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
        a = draw(elements_a(shapes.input_shapes[0]))
        b = draw(elements_b(shapes.input_shapes[1]))
        if separate:  # maximum/minimum：两边至少差 0.05，避开并列
            assume(np.all(np.abs(np.broadcast_to(a, shapes.result_shape) - b) > 0.05))
        return (a, b), {}
    return strat()


@st.composite
def matmul_case(draw):
    kind = draw(st.sampled_from(["2d", "batched", "1d@2d", "2d@1d", "1d@1d", "bcast"]))
    n, k, m, b = (draw(st.integers(1, 4)) for _ in range(4))
    shapes = {"2d": ((n, k), (k, m)), "batched": ((b, n, k), (k, m)), "1d@2d": ((k,), (b, k, m)),
              "2d@1d": ((b, n, k), (k,)), "1d@1d": ((k,), (k,)), "bcast": ((2, 1, n, k), (b, k, m))}[kind]
    return (draw(arrays(shapes[0])), draw(arrays(shapes[1]))), {}


@st.composite
def permute_case(draw):
    shape = draw(SHAPES)
    return (draw(arrays(shape)),), {"dims": tuple(draw(st.permutations(range(len(shape)))))}


@st.composite
def expand_case(draw):
    base = draw(SMALL_SHAPES)
    shape = tuple(draw(st.sampled_from([1, s])) for s in base)
    target = (draw(st.integers(1, 3)),) + tuple(s if s != 1 else draw(st.integers(1, 3)) for s in shape)
    return (draw(arrays(shape)),), {"target": target}


@st.composite
def getitem_case(draw):
    """基本切片、负步长、None、Ellipsis、整数数组（含重复下标）、行列配对、布尔掩码。"""
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=4))
    x = draw(arrays(shape))
    kind = draw(st.sampled_from(["slice", "neg", "int", "list", "cols", "pairs", "none", "mask"]))
    n0, n1 = shape[0], shape[1]
    if kind == "slice":
        key = (slice(1, 3), slice(None, None, 2))
    elif kind == "neg":
        key = (slice(None, None, -1), -1)
    elif kind == "int":
        key = -1
    elif kind == "list":
        key = draw(st.lists(st.integers(0, n0 - 1), min_size=1, max_size=5))
    elif kind == "cols":
        key = (slice(None), draw(st.lists(st.integers(0, n1 - 1), min_size=1, max_size=4)))
    elif kind == "pairs":
        rows = draw(st.lists(st.integers(0, n0 - 1), min_size=1, max_size=4))
        cols = draw(st.lists(st.integers(0, n1 - 1), min_size=len(rows), max_size=len(rows)))
        key = (np.array(rows), np.array(cols))
    elif kind == "none":
        key = (None, Ellipsis, 0)
    else:
        key = draw(hnp.arrays(np.bool_, shape[:1]))
    return (x,), {"key": key}


def _tkey(key, device):
    """把参考用的下标（NumPy 数组）换成对应设备上的张量。"""
    if isinstance(key, tuple):
        return tuple(_tkey(k, device) for k in key)
    if isinstance(key, np.ndarray):
        return tg.tensor(key, device=device)
    return key


@st.composite
def split_case(draw):
    shape = draw(SMALL_SHAPES)
    dim = draw(st.integers(0, len(shape) - 1))
    return (draw(arrays(shape)),), {"dim": dim, "size": draw(st.integers(1, shape[dim]))}


@st.composite
def cat_case(draw):
    shape = list(draw(SMALL_SHAPES))
    dim = draw(st.integers(0, len(shape) - 1))
    other = list(shape)
    other[dim] = draw(st.integers(1, 3))
    return (draw(arrays(tuple(shape))), draw(arrays(tuple(other)))), {"dim": dim}


@st.composite
def same_shape_pair(draw):
    shape = draw(SHAPES)
    return (draw(arrays(shape)), draw(arrays(shape))), {}


@st.composite
def where_case(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
    cond = draw(hnp.arrays(np.bool_, shapes.input_shapes[0]))
    return (draw(arrays(shapes.input_shapes[1])), draw(arrays(shapes.input_shapes[2]))), {"cond": cond}


@st.composite
def clamp_case(draw):
    shape = draw(SHAPES)
    x = draw(arrays(shape))
    assume(np.all(np.abs(np.abs(x) - 0.5) > 0.02))  # 避开边界 ±0.5
    return (x,), {}


@st.composite
def flip_case(draw):
    shape = draw(SHAPES)
    n = len(shape)
    dims = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n)) if n else []
    dims = [d - n if draw(st.booleans()) else d for d in dims]  # 也用负的维度号
    return (draw(arrays(shape)),), {"dims": tuple(dims)}


def remainder_case(scalar_base=False):
    """a % b：b 离 0 至少 0.3，a/b 离整数至少 0.05（余数在那里跳变，数值差分没有意义）。"""
    @st.composite
    def strat(draw):
        if scalar_base:
            b = draw(unary(elements=NONZERO))[0][0]
            a = 2.5
        else:
            (a, b), _ = draw(binary(elements_b=NONZERO))
        q = np.asarray(a / b)
        assume(np.all(np.abs(q - np.round(q)) > 0.05))
        return ((b,) if scalar_base else (a, b)), {}
    return strat()


def _var_dim(draw, shape, params):
    assume(shape[params["dim"]] > 1)
    return {}


def _split_ref(x, dim, size):
    return np.concatenate([p * (i + 1) for i, p in enumerate(np.split(x, range(size, x.shape[dim], size), axis=dim))],
                          axis=dim)


def _split_fn(x, dim, size):
    return tg.cat([p * (i + 1) for i, p in enumerate(x.split(size, dim))], dim)


def _softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _logsumexp(x, dim, keepdim):
    m = x.max(axis=dim, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=dim, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=dim)


def _two_dims(x, dim):
    """dim 与 0 两个维度（相同时只有一个）：测试元组形式的 dim。"""
    return tuple(sorted({dim % x.ndim, 0}))


def _take_along(x, dim, keepdim, arg):
    idx = np.expand_dims(arg(x, axis=dim), dim)
    out = np.take_along_axis(x, idx, axis=dim)
    return out if keepdim else np.squeeze(out, axis=dim)


POS = lambda s: arrays(s, 0.2, 3.0)  # noqa: E731  正数：log、sqrt、非整数次幂的定义域
NONZERO = lambda s: away_from_zero(s, 0.3)  # noqa: E731

OPS = [
    Op("neg", unary(), lambda x: -x, lambda x: -x),
    Op("exp", unary(), lambda x: x.exp(), np.exp),
    Op("log", unary(elements=POS), lambda x: x.log(), np.log),
    Op("sqrt", unary(elements=POS), lambda x: x.sqrt(), np.sqrt),
    Op("abs", unary(elements=away_from_zero), lambda x: x.abs(), np.abs),
    Op("tanh", unary(), lambda x: x.tanh(), np.tanh),
    Op("sigmoid", unary(), lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    Op("sigmoid_tails", unary(elements=lambda s: arrays(s, -40.0, 40.0)), lambda x: x.sigmoid(),
       lambda x: 1 / (1 + np.exp(-x))),
    Op("logsigmoid", unary(elements=lambda s: arrays(s, -40.0, 40.0)), lambda x: F.logsigmoid(x),
       lambda x: -np.logaddexp(0, -x)),
    Op("relu", unary(elements=away_from_zero), lambda x: x.relu(), lambda x: np.maximum(x, 0)),
    Op("pow2", unary(), lambda x: x ** 2, lambda x: x ** 2),
    Op("pow3", unary(), lambda x: x ** 3, lambda x: x ** 3),
    Op("pow_frac", unary(elements=POS), lambda x: x ** 2.5, lambda x: x ** 2.5),
    Op("pow_neg", unary(elements=POS), lambda x: x ** -1.5, lambda x: x ** -1.5),
    Op("rpow", unary(), lambda x: 2 ** x, lambda x: 2 ** x),
    Op("rsub_scalar", unary(), lambda x: 3 - x * 2 + 1, lambda x: 3 - x * 2 + 1),
    Op("rdiv_scalar", unary(elements=NONZERO), lambda x: 1.5 / x, lambda x: 1.5 / x),
    Op("clamp", clamp_case(), lambda x: x.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
    Op("clamp_min", clamp_case(), lambda x: x.clamp(min=-0.5), lambda x: np.maximum(x, -0.5)),
    Op("add", binary(), lambda a, b: a + b, np.add),
    Op("sub", binary(), lambda a, b: a - b, np.subtract),
    Op("mul", binary(), lambda a, b: a * b, np.multiply),
    Op("div", binary(elements_b=NONZERO), lambda a, b: a / b, np.divide),
    Op("pow_tensor", binary(elements_a=POS), lambda a, b: a ** b, np.power),
    Op("remainder", remainder_case(), lambda a, b: a % b, np.remainder),
    Op("remainder_method", remainder_case(), lambda a, b: a.remainder(b), np.remainder),
    Op("rmod_scalar", remainder_case(scalar_base=True), lambda b: 2.5 % b, lambda b: np.remainder(2.5, b)),
    Op("maximum", binary(separate=True), lambda a, b: tg.maximum(a, b), np.maximum),
    Op("minimum", binary(separate=True), lambda a, b: tg.minimum(a, b), np.minimum),
    Op("matmul", matmul_case(), lambda a, b: a @ b, np.matmul),
    Op("sum_all", unary(), lambda x: x.sum(), lambda x: np.sum(x)),
    Op("sum_dim", with_dim(), lambda x, dim, keepdim: x.sum(dim, keepdim),
       lambda x, dim, keepdim: x.sum(axis=dim, keepdims=keepdim)),
    Op("sum_dims", with_dim(shape_st=hnp.array_shapes(min_dims=2, max_dims=4, max_side=3)),
       lambda x, dim, keepdim: x.sum(tuple({dim % x.ndim, 0}), keepdim),
       lambda x, dim, keepdim: x.sum(axis=tuple({dim % x.ndim, 0}), keepdims=keepdim)),
    Op("sum_empty_dims", unary(), lambda x: x.sum(()), lambda x: np.sum(x)),  # dim=() 归约全部（同 PyTorch）
    Op("mean_all", unary(), lambda x: x.mean(), lambda x: np.mean(x)),
    Op("mean_empty_dims", unary(), lambda x: x.mean([], keepdim=True),
       lambda x: np.mean(x, keepdims=True)),
    Op("mean_dim", with_dim(), lambda x, dim, keepdim: x.mean(dim, keepdim),
       lambda x, dim, keepdim: x.mean(axis=dim, keepdims=keepdim)),
    Op("var_dim", with_dim(extra=_var_dim), lambda x, dim, keepdim: x.var(dim, keepdim=keepdim),
       lambda x, dim, keepdim: x.var(axis=dim, ddof=1, keepdims=keepdim)),
    Op("var_biased", with_dim(extra=_var_dim), lambda x, dim, keepdim: x.var(dim, unbiased=False, keepdim=keepdim),
       lambda x, dim, keepdim: x.var(axis=dim, keepdims=keepdim)),
    Op("std_all", unary(shape_st=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4), elements=distinct),
       lambda x: x.std(), lambda x: x.std(ddof=1)),
    Op("std_dim", with_dim(elements=distinct, extra=_var_dim), lambda x, dim, keepdim: x.std(dim, keepdim=keepdim),
       lambda x, dim, keepdim: x.std(axis=dim, ddof=1, keepdims=keepdim)),
    Op("max_all", unary(elements=distinct), lambda x: x.max(), lambda x: np.max(x)),
    Op("amax_all", unary(elements=distinct), lambda x: x.amax(), lambda x: np.max(x)),
    Op("amax_dim", with_dim(elements=distinct), lambda x, dim, keepdim: x.amax(dim, keepdim),
       lambda x, dim, keepdim: np.max(x, axis=dim, keepdims=keepdim)),
    Op("amin_dims", with_dim(elements=distinct, shape_st=hnp.array_shapes(min_dims=2, max_dims=4, max_side=3)),
       lambda x, dim, keepdim: x.amin(_two_dims(x, dim), keepdim),
       lambda x, dim, keepdim: np.min(x, axis=_two_dims(x, dim), keepdims=keepdim)),
    Op("min_all", unary(elements=distinct), lambda x: x.min(), lambda x: np.min(x)),
    Op("max_dim", with_dim(elements=distinct), lambda x, dim, keepdim: x.max(dim, keepdim).values,
       lambda x, dim, keepdim: _take_along(x, dim, keepdim, np.argmax)),
    Op("min_dim", with_dim(elements=distinct), lambda x, dim, keepdim: x.min(dim, keepdim)[0],
       lambda x, dim, keepdim: _take_along(x, dim, keepdim, np.argmin)),
    Op("softmax", with_dim(keepdim=False), lambda x, dim: x.softmax(dim), _softmax),
    Op("log_softmax", with_dim(keepdim=False), lambda x, dim: x.log_softmax(dim),
       lambda x, dim: np.log(_softmax(x, dim))),
    Op("logsumexp", with_dim(), lambda x, dim, keepdim: x.logsumexp(dim, keepdim), _logsumexp),
    Op("logsumexp_dims", with_dim(shape_st=hnp.array_shapes(min_dims=2, max_dims=4, max_side=3)),
       lambda x, dim, keepdim: x.logsumexp(_two_dims(x, dim), keepdim),
       lambda x, dim, keepdim: _logsumexp(x, _two_dims(x, dim), keepdim)),
    Op("clone", unary(), lambda x: x.clone() * 2, lambda x: x * 2),
    Op("reshape", unary(), lambda x: x.reshape(-1), lambda x: x.reshape(-1)),
    Op("view_2d", unary(shape_st=SMALL_SHAPES), lambda x: x.view(x.shape[0], -1),
       lambda x: x.reshape(x.shape[0], -1)),
    Op("permute", permute_case(), lambda x, dims: x.permute(*dims), lambda x, dims: np.transpose(x, dims)),
    Op("transpose", unary(shape_st=SMALL_SHAPES), lambda x: x.transpose(0, -1), lambda x: np.swapaxes(x, 0, -1)),
    Op("T", unary(), lambda x: x.T, lambda x: x.T),
    Op("unsqueeze", with_dim(keepdim=False), lambda x, dim: x.unsqueeze(dim),
       lambda x, dim: np.expand_dims(x, dim)),
    Op("squeeze", unary(shape_st=hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=2)),
       lambda x: x.squeeze(), np.squeeze),
    Op("flatten", unary(shape_st=SMALL_SHAPES), lambda x: x.flatten(1) if x.ndim > 1 else x.flatten(),
       lambda x: x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1)),
    Op("flip", flip_case(), lambda x, dims: x.flip(dims), lambda x, dims: np.flip(x, dims)),
    Op("expand", expand_case(), lambda x, target: x.expand(*target),
       lambda x, target: np.broadcast_to(x, target)),
    Op("getitem", getitem_case(), lambda x, key: x[_tkey(key, x.device)], lambda x, key: x[key]),
    Op("split", split_case(), _split_fn, _split_ref),
    Op("chunk", split_case(), lambda x, dim, size: tg.cat([c * (i + 1) for i, c in enumerate(x.chunk(size, dim))], dim),
       lambda x, dim, size: np.concatenate([c * (i + 1) for i, c in enumerate(
           np.split(x, range(-(-x.shape[dim] // size), x.shape[dim], -(-x.shape[dim] // size)), axis=dim))], axis=dim)),
    Op("cat", cat_case(), lambda a, b, dim: tg.cat([a, b * 2], dim), lambda a, b, dim: np.concatenate([a, b * 2], dim)),
    Op("stack", same_shape_pair(), lambda a, b: tg.stack([a, b], -1), lambda a, b: np.stack([a, b], -1)),
    Op("where", where_case(), lambda a, b, cond: tg.where(tg.tensor(cond, device=a.device), a, b),
       lambda a, b, cond: np.where(cond, a, b)),
    Op("masked_fill", where_case(), lambda a, b, cond: (a * b).masked_fill(tg.tensor(cond, device=a.device), -1.0),
       lambda a, b, cond: np.where(cond, -1.0, a * b)),
    Op("tril", unary(shape_st=hnp.array_shapes(min_dims=2, max_dims=4, max_side=4)), lambda x: x.tril(), np.tril),
    Op("triu_offset", unary(shape_st=hnp.array_shapes(min_dims=2, max_dims=3, max_side=4)),
       lambda x: x.triu(1) - x.tril(-1), lambda x: np.triu(x, 1) - np.tril(x, -1)),
]

OPS_BY_NAME = {op.name: op for op in OPS}
