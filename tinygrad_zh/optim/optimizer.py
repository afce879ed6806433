"""优化器 (optimizer) 的基类：参数组、每个参数的状态、清零梯度、保存与恢复。

一个优化器管理若干参数组 (parameter group)：每组是一个字典，``"params"`` 是张量列表，
其余键是这一组的超参数 (hyperparameter)（lr、momentum……），没给的取构造时的默认值。
每个参数的状态（动量缓冲、一阶/二阶矩……）放在 ``optimizer.state[p]`` 里，和参数在同一设备上、dtype 相同。

更新直接作用在原始数组 ``p.data`` 上（不经过自动微分，相当于 PyTorch 的 ``torch.no_grad()`` 下的原地更新），
用 ``xp = backend.get_array_module(p.data)``，所以同一份代码在 NumPy 和 CuPy 上都能运行。

``state_dict()`` 的布局与 PyTorch 相同::

    {"state": {0: {"step": 3, "exp_avg": ndarray, ...}, 1: {...}},
     "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1]}]}

参数用它在所有参数组里的顺序编号代替（张量本身不能存进检查点 (checkpoint)）；状态数组一律是主机上的
NumPy 副本，载入时再搬回参数所在的设备、换成参数的 dtype。

多张量 (multi-tensor, foreach) 更新：逐个参数更新时，每个参数要做十几次数组运算，GPU 上每次都是一次
核函数发射 (kernel launch)；GPT 有几十个参数，一步就是几百次发射，远比计算本身费时。所以 ``_foreach``
把同一参数组里同设备、同 dtype 的参数摊平 (flatten) 进**一块连续内存**：参数的 ``.data`` 与每个状态
（``exp_avg`` ……）都成了这块内存的视图 (view)，梯度每步拼成一个长向量（一次运算），更新公式在整块上
只算一遍——运算次数与参数个数无关。``state_dict()`` 仍按参数给出（视图就是每个参数自己的那一段），
格式与 PyTorch 相同。有参数没有梯度、各参数步数不同等少见的情况，退回逐个参数更新，结果逐位相同。
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .. import autograd, backend, dtypes
from ..tensor import Tensor


def check_range(name, value, low=0.0, high=None, english="invalid value"):
    """检查超参数落在 [low, high) 之内，否则抛出 ValueError（PyTorch 也抛 ValueError）。"""
    bad = value < low or (high is not None and value >= high)
    if bad:
        span = f"[{low}, {high})" if high is not None else f"≥ {low}"
        raise ValueError(f"超参数 {name} 无效 ({english})：应当 {span}，得到 {name}={value!r}。")


class Optimizer:
    """所有优化器的基类。子类只需实现 ``step()``（以及可选的 ``_validate()``）。

    参数:
        params: 张量的可迭代对象（如 ``model.parameters()``），或参数组字典的列表，如
            ``[{"params": model.body.parameters()}, {"params": model.head.parameters(), "lr": 1e-2}]``。
        defaults: 各超参数的默认值（字典），参数组里没写的键取这里的值。

    例::

        >>> opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.1}], lr=0.01)
        >>> opt.param_groups[1]["lr"]
        0.1
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)   # 以张量为键：Tensor 按身份 (identity) 取哈希，不会误判相等
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params 应当是张量的可迭代对象（如 model.parameters() 或 [w, b]）或参数组字典的列表，"
                            f"而不是单个张量 (shape={params.shape})。提示：写成 [w]。")
        if isinstance(params, (set, frozenset)):
            raise TypeError("params 不能是集合 (set)：集合没有固定顺序，保存与恢复时参数会对不上。提示：用列表。")
        groups = list(params)
        if not groups:
            raise ValueError("优化器得到的参数列表为空 (empty parameter list)。"
                             "提示：model.parameters() 是生成器，只能遍历一次；检查是否已经被用过。")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def _validate(self, options):
        """检查一组超参数；子类覆盖它，构造时与 ``add_param_group`` 时都会调用。"""

    def add_param_group(self, param_group):
        """添加一个参数组（如微调时解冻新的层）。没写的超参数取 ``defaults``。"""
        if not isinstance(param_group, dict):
            raise TypeError(f"参数组 (param group) 应当是字典，得到 {type(param_group).__name__}。")
        params = param_group.get("params")
        if params is None:
            raise ValueError("参数组字典必须有 'params' 键。")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("参数组的 'params' 不能是集合 (set)：集合没有固定顺序。提示：用列表。")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"优化器只能优化张量 (Tensor)，得到 {type(p).__name__}。")
            if not p.is_leaf:
                raise ValueError(f"不能优化非叶子张量 (can't optimize a non-leaf Tensor)：它由 {p.grad_fn.name} 算出。"
                                 "提示：优化 nn.Parameter 或 requires_grad=True 的叶子张量。")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("同一个参数组里有重复的参数 (duplicate parameters)：它每步会被更新两次。")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError("有参数出现在多个参数组里 (some parameters appear in more than one parameter group)。")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._validate(group)
        self.param_groups.append(group)

    # ------------------------------------------------------------------ 训练循环里用到的
    def zero_grad(self, set_to_none=True):
        """清除所有参数的梯度。

        参数:
            set_to_none: True（默认，同 PyTorch）把 ``.grad`` 设为 None，省内存，下次反向传播直接写入；
                False 则把梯度数组原地填 0。
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.grad_fn is not None:  # create_graph 留下的梯度连着计算图，不能原地改
                    p.grad = Tensor(p.grad.xp.zeros_like(p.grad.data))
                else:
                    p.grad.data.fill(0)

    def step(self, closure=None):
        """走一步：按各自的规则用 ``p.grad`` 更新参数。``closure`` 重新计算并返回损失（可选）。"""
        raise NotImplementedError(f"{type(self).__name__} 没有实现 step()。")  # abstract: 子类实现

    @staticmethod
    def _closure_loss(closure):
        if closure is None:
            return None
        with autograd.enable_grad():  # closure 里要做反向传播，即使外面在 no_grad 下调用 step
            return closure()

    def _grads(self, group):
        """逐个给出本组里有梯度的 (参数, 梯度数组)；grad 为 None 的参数跳过（同 PyTorch）。"""
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = p.grad.data
            if grad.shape != p.data.shape:
                raise RuntimeError(f"梯度形状不匹配 (shape mismatch)：参数形状为 {p.shape}，但 .grad 的形状为 "
                                   f"{tuple(grad.shape)}。提示：检查是否手动给 .grad 赋了错误的值。")
            autograd.increment_version(p)  # 调用方会原地改写 p.data：之前保存了 p 的计算图不能再反向
            yield p, grad

    @staticmethod
    def _effective_grad(data, grad, weight_decay, maximize):
        """本步实际使用的梯度 g = (±∇) + λθ（见 ``effective_grad``）。"""
        return effective_grad(backend.get_array_module(data), data, grad, weight_decay, maximize)

    # ------------------------------------------------------------------ 多张量更新
    def _foreach(self, group, init_state=None, count_steps=True):
        """把本组里有梯度的参数分批给出，每批的更新公式只算一遍（子类的 ``step`` 用它）。

        通常一批就是同设备、同 dtype 的全部参数，摊平在一块连续内存里（见模块说明）；少见的情况下每批
        只有一个参数。对每批给出一个 ``ParamBatch``：``param`` 是可以原地改写的参数数组（摊平时是一维的
        整块），``grad`` 是形状相同的梯度（属于用户或临时的拼接，不得原地修改），``state`` 是状态字典
        （数组与 ``param`` 同形），``step`` 是这一步的步数（从 1 起）。

        参数:
            init_state: ``init_state(param, xp)`` → 新参数的初始状态字典（数组与 param 同形）；
                None 表示状态在更新里按需创建（SGD 的动量缓冲）。
            count_steps: 是否在 ``state[p]["step"]`` 里数步数（Adam、Adagrad、RMSprop 数，SGD 不数）。
        """
        params = [p for p, _ in self._grads(group)]
        buckets = {}
        for p in params:  # 按 (设备, dtype) 分批，保持参数原来的顺序
            buckets.setdefault((p.device, p.dtype.str), []).append(p)
        for key, bucket in buckets.items():
            pack = self._pack_for(group, key, bucket, init_state, count_steps)
            if pack is None:
                for p in bucket:
                    yield from self._single(p, init_state, count_steps)
                continue
            step = None
            if count_steps:
                step = self.state[bucket[0]]["step"] + 1
                for p in bucket:
                    self.state[p]["step"] = step
            batch = ParamBatch(pack.xp, pack.flat, pack.flat_grad(), pack.state, step)
            yield batch
            pack.adopt_new_state(self.state)  # 更新里新建的状态（如 SGD 第一步的动量缓冲）也分给每个参数

    def _single(self, p, init_state, count_steps):
        """逐个参数更新的那一批（退回的路径）。"""
        xp = backend.get_array_module(p.data)
        state = self.state.get(p) or {}   # get：不给没有状态的参数（如不用动量的 SGD）留下空字典
        if not state:
            if count_steps:
                state["step"] = 0
            if init_state is not None:
                state.update(init_state(p.data, xp))
        step = None
        if count_steps:
            state["step"] += 1
            step = state["step"]
        arrays = {k: v for k, v in state.items() if k != "step"}
        yield ParamBatch(xp, p.data, p.grad.data, arrays, step)
        state.update(arrays)
        if state:
            self.state[p] = state

    def _pack_for(self, group, key, bucket, init_state, count_steps):
        """这一批参数的摊平包 (pack)：已有且仍然有效就复用，否则新建；不能摊平时返回 None。"""
        packs = self.__dict__.setdefault("_packs", {})
        # 按参数组的位置（而不是 id）记：load_state_dict 换掉参数组字典后，旧的包被新包顶替、随之释放
        pack_key = (next(i for i, g in enumerate(self.param_groups) if g is group), key)
        pack = packs.get(pack_key)
        if pack is not None and pack.is_valid(bucket, self.state):
            return pack
        states = [self.state.get(p) or {} for p in bucket]
        fresh = all(not s for s in states)
        if not fresh:
            keys = {tuple(sorted(s)) for s in states}
            steps = {s.get("step") for s in states}
            # 只有一部分参数有状态（如有的参数某几步没有梯度）、状态的种类或步数不一致：逐个更新
            if len(keys) != 1 or len(steps) != 1 or any(not s for s in states):
                packs.pop(pack_key, None)
                return None
        pack = _FlatPack(bucket)
        if fresh:
            state = init_state(pack.flat, pack.xp) if init_state is not None else {}
            if count_steps:
                for p in bucket:
                    self.state[p] = {"step": 0}
            pack.set_state(state, self.state)
        else:
            pack.gather_state(self.state)
        packs[pack_key] = pack
        return pack

    # ------------------------------------------------------------------ 保存与恢复
    def state_dict(self):
        """返回可以保存的字典（布局同 PyTorch）；状态数组是主机上的 NumPy 副本。"""
        index, groups = {}, []
        for group in self.param_groups:
            packed = copy.deepcopy({k: v for k, v in group.items() if k != "params"})
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: {k: _to_host(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """从 ``state_dict()`` 的结果恢复：超参数与状态都换成保存时的，参数仍是这个优化器自己的。

        参数组的个数、每组的参数个数、每个状态数组的形状都必须对得上，否则抛出 ValueError，
        且优化器保持不变。
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError("state_dict 应当是含有 'state' 与 'param_groups' 两个键的字典"
                             "（optimizer.state_dict() 的返回值）。")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"参数组个数不一致 (different number of parameter groups)：state_dict 里有 {len(saved_groups)} 组，"
                f"这个优化器有 {len(self.param_groups)} 组。提示：两边要用同样的方式构造优化器。")
        by_index, new_groups = {}, []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"第 {i} 个参数组的大小不一致 (parameter group size mismatch)：state_dict 里有 "
                    f"{len(saved['params'])} 个参数，这个优化器有 {len(group['params'])} 个。提示：模型结构是否变了？")
            by_index.update({int(k): p for k, p in zip(saved["params"], group["params"])})
            options = {k: _to_python(v) for k, v in copy.deepcopy(saved).items() if k != "params"}
            new_groups.append(dict(group, **options, params=group["params"]))
        new_state = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            if int(key) not in by_index:
                raise ValueError(f"state_dict 的 state 里有编号为 {key} 的参数，但没有哪个参数组包含它。")
            p = by_index[int(key)]
            new_state[p] = {k: _to_param(p, k, v) for k, v in saved_state.items()}
        self.param_groups, self.state = new_groups, new_state

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


def effective_grad(xp, param, grad, weight_decay, maximize):
    """本步实际使用的梯度 g = (±∇) + λθ。

    ``maximize`` 先取反、再加 L2 项（与 PyTorch 的实现顺序相同）。返回值可能就是 ``grad`` 本身，
    调用方不得原地修改它：梯度数组属于用户。
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        decay = xp.multiply(param, float(weight_decay))  # 一个临时数组，再原地加上梯度
        decay += g
        g = decay
    return g


@dataclass
class ParamBatch:
    """``Optimizer._foreach`` 给出的一批参数：更新公式在这些数组上算一遍。

    属性:
        xp: 数组模块。
        param: 参数数组（原地改写它就是更新参数）。
        grad: 同形的梯度（不得原地修改）。
        state: 状态字典：名字 → 同形的数组；更新里新建的状态放进这里。
        step: 这一步的步数（从 1 起；不数步数的优化器为 None）。
    """

    xp: object
    param: object
    grad: object
    state: dict
    step: int | None


class _FlatPack:
    """同设备、同 dtype 的一批参数摊平成的一块连续内存：参数的 ``.data`` 与每个状态都是它的视图。"""

    def __init__(self, params):
        self.params = list(params)
        first = self.params[0].data
        self.xp = backend.get_array_module(first)
        sizes = [p.data.size for p in self.params]
        self.slices = []
        start = 0
        for n in sizes:
            self.slices.append(slice(start, start + n))
            start += n
        self.flat = self.xp.empty(start, dtype=first.dtype)
        self.views = []
        for p, sl in zip(self.params, self.slices):
            self.flat[sl] = p.data.reshape(-1)       # 摊平时复制一次，以后参数就住在这块内存里
            view = self.flat[sl].reshape(p.data.shape)
            p.data = view
            self.views.append(view)
        self.state, self.state_views = {}, {}

    def _distribute(self, name, flat, states):
        views = [flat[sl].reshape(p.data.shape) for p, sl in zip(self.params, self.slices)]
        self.state[name], self.state_views[name] = flat, views
        for p, view in zip(self.params, views):
            states[p][name] = view

    def set_state(self, flat_state, states):
        """新参数：整块的初始状态，再把每个参数自己那一段的视图放进 ``optimizer.state[p]``。"""
        for name, flat in flat_state.items():
            self._distribute(name, flat, states)

    def gather_state(self, states):
        """已有逐个参数的状态（如刚 ``load_state_dict``）：拼成整块，再换成视图。"""
        names = [k for k in states[self.params[0]] if k != "step"]
        for name in names:
            parts = [states[p][name].reshape(-1) for p in self.params]
            flat = self.xp.concatenate(parts) if len(parts) > 1 else parts[0].copy()
            self._distribute(name, flat, states)

    def adopt_new_state(self, states):
        for name, flat in self.state.items():
            if name not in self.state_views:
                self._distribute(name, flat, states)

    def is_valid(self, params, states):
        """参数还是这几个、``.data`` 与状态都还是这里的视图（没有被 ``load_state_dict``、``.to()`` 换掉）。"""
        if len(params) != len(self.params) or any(a is not b for a, b in zip(params, self.params)):
            return False
        for i, p in enumerate(self.params):
            if p.data is not self.views[i]:
                return False
            state = states.get(p, {})
            if len(state) - ("step" in state) != len(self.state_views):
                return False
            if any(state.get(name) is not views[i] for name, views in self.state_views.items()):
                return False
        return True

    def flat_grad(self):
        """这一步的梯度拼成一个长向量（一次运算）。"""
        grads = [p.grad.data.reshape(-1) for p in self.params]
        return self.xp.concatenate(grads) if len(grads) > 1 else grads[0]


def _to_host(value):
    """状态值 → 可保存的值：数组复制成主机上的 NumPy 数组，其余深拷贝。"""
    if isinstance(value, Tensor):
        value = value.data
    if backend.is_array(value):
        return np.array(backend.to_numpy(value), copy=True)  # CPU 上 to_numpy 不复制，这里必须复制
    return copy.deepcopy(value)


def _to_python(value):
    """检查点格式（如 .npz）可能把标量、元组存成 NumPy 数组；超参数还原成 Python 的数与元组。"""
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else tuple(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _to_param(p, key, value):
    """保存的状态值 → 这个参数的状态：数组复制到参数的设备上并换成它的 dtype（"step" 是整数）。"""
    if isinstance(value, Tensor):
        value = value.data
    if not (backend.is_array(value) or isinstance(value, np.generic)):
        return copy.deepcopy(value)
    host = backend.to_numpy(value)
    if key == "step":
        return int(host)
    if host.ndim > 0 and host.shape != p.shape:
        raise ValueError(f"状态 '{key}' 的形状 {host.shape} 与参数的形状 {p.shape} 不一致 (shape mismatch)。"
                         "提示：模型结构或参数顺序是否变了？")
    dtype = p.dtype if dtypes.is_floating(host.dtype) else host.dtype
    return backend.to_device(np.array(host, dtype=dtype, copy=True), p.device)
