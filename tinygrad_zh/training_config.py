"""GPT 训练的配置：``TrainConfig``（字段、校验、JSON）、CPU / GPU 预设、输出文件名与设备选择。

``tinygrad_zh.training`` 与 ``tinygrad-zh train`` 用它；这些名字也都能从 ``tinygrad_zh.training`` 导入。
这个模块只依赖 ``backend``，命令行在显示帮助、解析参数时导入它也很快。
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass

from . import backend


CHECKPOINT_NAME = "ckpt.npz"   # out_dir 里的检查点文件
PLOT_NAME = "loss.png"         # out_dir 里的损失曲线
LOCK_NAME = ".train.lock"      # out_dir 里的锁文件：同一个目录同时只能有一个训练
SEED_LIMIT = 2 ** 64           # 随机种子的取值范围 [0, 2⁶⁴)


class ConfigError(ValueError):
    """训练配置、设备或命令行参数不对（命令行把它显示成一行中文错误）。"""


# ---------------------------------------------------------------------------- 配置

@dataclass
class TrainConfig:
    """一次训练的全部超参数。默认值是在 CPU 上也能跑完的小配置（2 核笔记本上几分钟），即 ``CPU_CONFIG``。

    模型: n_layer 层、n_head 个头、嵌入维度 n_embd、上下文窗口 block_size、dropout、bias。
    优化: AdamW（learning_rate, beta1, beta2, weight_decay），预热 warmup_steps 步后余弦衰减到 min_lr，
        共 max_steps 步，梯度裁剪阈值 grad_clip（0 表示不裁剪）。
    评估: 每 eval_interval 步在 eval_batches 个固定验证批量上求平均损失。
    其他: seed（初始化、dropout 与取批量的随机数），device（"auto" / "cpu" / "cuda"），
        data（None = 内置的人民日报语料，否则是 UTF-8 文本文件的路径），out_dir（检查点与曲线的目录），
        val_fraction（放在语料末尾做验证集的比例）。
    """

    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    batch_size: int = 32
    dropout: float = 0.0
    bias: bool = True
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.1
    warmup_steps: int = 100
    max_steps: int = 1000
    grad_clip: float = 1.0
    eval_interval: int = 100
    eval_batches: int = 20
    seed: int = 1337
    device: str = "auto"
    data: str | None = None
    out_dir: str = os.path.join("checkpoints", "gpt")
    val_fraction: float = 0.1

    def __post_init__(self):
        self.validate()

    def validate(self):
        """检查每个字段的类型与取值，不对就抛出 ``ConfigError``（一次列出所有问题）。

        命令行参数、JSON 配置文件与检查点里的配置都经过这里，所以同一个值无论从哪里来，规则都一样：
        数必须是有限的（JSON 的 ``Infinity`` / ``NaN`` 与命令行的 ``inf`` / ``nan`` 一样被拒绝），
        另有跨字段的规则（n_head 整除 n_embd、warmup_steps ≤ max_steps、min_lr ≤ learning_rate）。
        """
        problems = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = _FIELD_KINDS[f.name]
            ok = {"int": isinstance(value, int) and not isinstance(value, bool),
                  "float": isinstance(value, (int, float)) and not isinstance(value, bool),
                  "bool": isinstance(value, bool),
                  "str": isinstance(value, str),
                  "path?": value is None or isinstance(value, str)}[kind]
            if not ok:
                want = _KIND_NAMES[kind]
                problems.append(f"{f.name} 应是{' ' if want[0].isascii() else ''}{want}，得到 {_show(value)}")
            elif kind == "float" and not math.isfinite(value):
                problems.append(f"{f.name} 应是有限的数，得到 {value!r}")
            elif kind in ("str", "path?") and value is not None and (
                    "\0" in value or (f.name != "device" and not value)):
                problems.append(f"{f.name} 应是非空的路径，得到 {_show(value)}")
        if problems:
            raise ConfigError("训练配置有误 (invalid config)：" + "；".join(problems) + "。")
        checks = [
            ("n_layer", self.n_layer >= 1, "≥ 1"), ("n_head", self.n_head >= 1, "≥ 1"),
            ("n_embd", self.n_embd >= 1, "≥ 1"), ("block_size", self.block_size >= 1, "≥ 1"),
            ("batch_size", self.batch_size >= 1, "≥ 1"), ("dropout", 0 <= self.dropout < 1, "在 [0, 1) 内"),
            ("learning_rate", self.learning_rate > 0, "> 0"), ("min_lr", self.min_lr >= 0, "≥ 0"),
            ("beta1", 0 <= self.beta1 < 1, "在 [0, 1) 内"), ("beta2", 0 <= self.beta2 < 1, "在 [0, 1) 内"),
            ("weight_decay", self.weight_decay >= 0, "≥ 0"), ("warmup_steps", self.warmup_steps >= 0, "≥ 0"),
            ("max_steps", self.max_steps >= 1, "≥ 1"), ("grad_clip", self.grad_clip >= 0, "≥ 0（0 表示不裁剪）"),
            ("eval_interval", self.eval_interval >= 1, "≥ 1"), ("eval_batches", self.eval_batches >= 1, "≥ 1"),
            ("seed", 0 <= self.seed < SEED_LIMIT, "在 [0, 2^64) 内"),
            ("val_fraction", 0 < self.val_fraction < 1, "在 (0, 1) 内"),
            ("device", self.device == "auto" or self.device in backend.DEVICES or str(self.device).startswith("cuda:"),
             "是 auto / cpu / cuda 之一"),
        ]
        problems = [f"{name} 应{' ' if rule[0] in '≥>' else ''}{rule}，得到 {_show(getattr(self, name))}"
                    for name, ok, rule in checks if not ok]
        if self.n_head >= 1 and self.n_embd % self.n_head:
            problems.append(f"n_embd 必须能被 n_head 整除（每个头 n_embd / n_head 维），"
                            f"得到 n_embd={self.n_embd}、n_head={self.n_head}")
        if self.warmup_steps > self.max_steps >= 1:
            problems.append(f"warmup_steps 不能大于 max_steps，得到 warmup_steps={self.warmup_steps}、"
                            f"max_steps={self.max_steps}（提示：训练很少几步时同时调小 --warmup-steps）")
        if self.learning_rate > 0 and self.min_lr > self.learning_rate:
            problems.append(f"min_lr 不能大于 learning_rate（余弦衰减是从 learning_rate 降到 min_lr），得到 "
                            f"min_lr={self.min_lr!r}、learning_rate={self.learning_rate!r}"
                            "（提示：调小 --lr 时同时调小 --min-lr）")
        if problems:
            raise ConfigError("训练配置有误 (invalid config)：" + "；".join(problems) + "。")

    def to_dict(self):
        """普通字典（只含 int / float / bool / str / None，可直接 ``json.dump``）。"""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        """由字典建配置；未知的键报错（常见原因是拼错了名字），缺的键取默认值。"""
        if not isinstance(d, dict):
            raise ConfigError(f"训练配置应是一个字典 (JSON 对象)，得到 {type(d).__name__}。")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            shown = _show(unknown[:5]) + (f" 等 {len(unknown)} 个" if len(unknown) > 5 else "")
            raise ConfigError(f"训练配置里有未知的键 (unknown keys)：{shown}。可用的键：{', '.join(names)}。")
        return cls(**d)

    @classmethod
    def from_json(cls, path):
        """读 UTF-8 的 JSON 配置文件，如 ``{"n_layer": 6, "max_steps": 2000}``（没写的键取默认值）。"""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise ConfigError(f"找不到配置文件 (file not found)：{path}")
        if os.path.isdir(path):
            raise ConfigError(f"配置文件 {path} 是一个目录，不是 JSON 文件。")
        if not os.path.isfile(path):
            raise ConfigError(f"配置文件 {path} 不是普通文件 (regular file)（是设备或管道）。")
        if os.path.getsize(path) > _MAX_CONFIG_BYTES:
            raise ConfigError(f"配置文件 {path} 有 {os.path.getsize(path):,} 字节，太大了：配置文件只有几十个键，"
                              f"不会超过 {_MAX_CONFIG_BYTES:,} 字节。")
        with open(path, "rb") as f:
            raw = f.read(_MAX_CONFIG_BYTES + 1)
        try:
            d = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"配置文件 {path} 不是有效的 UTF-8 JSON：第 {e.start} 个字节 "
                              f"{raw[e.start:e.start + 1]!r} 不是 UTF-8 编码。") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"配置文件 {path} 不是有效的 UTF-8 JSON：第 {e.lineno} 行第 {e.colno} 列"
                              f"{_json_problem(e.msg)}。") from None
        except RecursionError:
            raise ConfigError(f"配置文件 {path} 不是有效的配置：JSON 嵌套太深。") from None
        try:
            return cls.from_dict(d)
        except ConfigError as e:
            raise ConfigError(f"配置文件 {path}：{e}") from None

    def replace(self, **changes):
        """返回改了若干字段的新配置（原配置不变）：``CPU_CONFIG.replace(max_steps=200)``。"""
        return dataclasses.replace(self, **changes)

    @property
    def checkpoint_path(self):
        """检查点文件 ``out_dir/ckpt.npz``：训练时写它，续训与采样读它。"""
        return os.path.join(self.out_dir, CHECKPOINT_NAME)

    @property
    def plot_path(self):
        """损失曲线 ``out_dir/loss.png``（装了 matplotlib 时每次保存检查点都重画）。"""
        return os.path.join(self.out_dir, PLOT_NAME)


def _show(value, limit=60):
    """错误信息里的值：太长的截短，一行信息不被撑满。"""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…（共 {len(text):,} 个字符）"


_MAX_CONFIG_BYTES = 1 << 20   # 配置文件的大小上限（1 MiB）

# json 模块的英文错误 → 中文（英文原文放在括号里）
_JSON_PROBLEMS = [
    ("Expecting value", "这里应有一个值"), ("Expecting property name", "键名应写在双引号里"),
    ("Expecting ',' delimiter", "缺少逗号"), ("Expecting ':' delimiter", "缺少冒号"), ("Extra data", "多出了内容"),
    ("Unterminated string", "字符串没有结束"), ("Invalid control character", "字符串里有控制字符"),
    ("Invalid \\escape", "无效的转义"), ("Illegal trailing comma", "多了结尾的逗号"),
]


def _json_problem(msg):
    for needle, words in _JSON_PROBLEMS:
        if msg.startswith(needle):
            return f"{words}（{msg}）"
    return f"有语法错误（{msg}）"


_FIELD_KINDS = {"dropout": "float", "learning_rate": "float", "min_lr": "float", "beta1": "float", "beta2": "float",
                "weight_decay": "float", "grad_clip": "float", "val_fraction": "float", "bias": "bool",
                "device": "str", "out_dir": "str", "data": "path?"}
_FIELD_KINDS.update({f.name: "int" for f in dataclasses.fields(TrainConfig) if f.name not in _FIELD_KINDS})
_KIND_NAMES = {"int": "整数", "float": "数", "bool": "true / false", "str": "字符串", "path?": "文件路径或 null"}

CPU_CONFIG = TrainConfig()
"""默认 CPU 配置：4 层、4 头、128 维、上下文 64、批量 32，1000 步。"""

GPU_CONFIG = TrainConfig(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64, dropout=0.2,
                         max_steps=5000, eval_interval=250)
"""第 18 课的 GPU 配置（nanoGPT 的 shakespeare-char 配方）：6 层、6 头、384 维、上下文 256、批量 64、dropout 0.2。"""

_PRESETS = {"cpu": CPU_CONFIG, "gpu": GPU_CONFIG}


def preset(name):
    """按名字取预设配置的副本：``preset("cpu")`` 或 ``preset("gpu")``。"""
    if name not in _PRESETS:
        raise ConfigError(f"没有名为 {name!r} 的预设配置 (preset)；可选：{', '.join(_PRESETS)}。")
    return _PRESETS[name].replace()


def resolve_device(device):
    """``"auto"`` → 有 GPU 时 ``"cuda"``，否则 ``"cpu"``；要 ``"cuda"`` 却没有 GPU 时报清楚的错。"""
    if device == "auto":
        return "cuda" if backend.cuda_is_available() else "cpu"
    try:
        device = backend.normalize_device(device)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if device == "cuda" and not backend.cuda_is_available():
        raise ConfigError("要求在 GPU 上运行 (device='cuda')，但这台机器上 CUDA 不可用：没有 NVIDIA GPU，"
                          "或没有安装 CuPy。提示：改用 --device cpu（或 auto）；有 GPU 时 pip install -e \".[gpu]\"。")
    return device
