"""``tinygrad-zh`` 命令（也可以 ``python -m tinygrad_zh``）：训练、采样、环境检查、课程列表。

    tinygrad-zh train                                   # 默认 CPU 配置，在人民日报语料上训练字符级 GPT
    tinygrad-zh train --max-steps 200 --no-progress     # 只训练 200 步
    tinygrad-zh train --resume                          # 从 checkpoints/gpt/ckpt.npz 接着训练
    tinygrad-zh sample --prompt 新年 --max-new-tokens 100 --temperature 0.8 --top-k 50
    tinygrad-zh doctor                                  # 检查 Python、NumPy、CuPy / GPU、matplotlib、中文字体
    tinygrad-zh lessons                                 # 列出课程
    tinygrad-zh site --pdf                              # 把课程构建成离线网站与 PDF（build/site/html/index.html）

退出码：0 成功；1 训练发散（损失或梯度不是有限数）、内存不足或意外的错误；2 参数写错、文件不存在或
不对、检查点损坏、输出目录被占用（打印一行中文错误）；130 按了 Ctrl-C；143 收到 SIGTERM（``kill``、
``timeout``、作业调度器）；141 输出管道被关闭（如 ``tinygrad-zh lessons | head``，不打印任何东西）。
训练时 Ctrl-C 与 SIGTERM 都先保存检查点再退出；采样时 Ctrl-C 先打印已经生成的文字。
设环境变量 ``TINYGRAD_ZH_DEBUG=1`` 可看到完整的错误回溯 (traceback)。

参数的错误信息都是我们自己写的：argparse 只负责把命令行切成“选项 → 字符串”，每个值读成整数、数或
选定的取值由 ``_Parser.read_values`` 完成；argparse 仍会发现的几种结构错误（选项后面缺值、给开关带值、
不认识的子命令）按它报告的是哪个选项、该选项取几个值写成中文，不依赖它英文提示的措辞。
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import re
import sys
from pathlib import Path

import numpy as np

from . import __version__
from .console import tolerate_unencodable_output
from .creation import Generator, tensor
from .dtypes import int64
from .lesson import doctor
from .serialization import CheckpointError
from .training_config import CHECKPOINT_NAME, CPU_CONFIG, SEED_LIMIT, ConfigError

EXIT_FAILED = 1          # 训练发散、内存不足、意外的错误
EXIT_USAGE = 2           # 参数、文件、配置、检查点不对
EXIT_INTERRUPTED = 130   # Ctrl-C（128 + SIGINT）
EXIT_BROKEN_PIPE = 141   # 输出管道被关闭（128 + SIGPIPE）
EXIT_TERMINATED = 143    # SIGTERM（128 + 15）
PROG = "tinygrad-zh"

MAX_NUM_SAMPLES = 1000          # sample --num-samples 的上限
MAX_NEW_TOKENS = 100_000        # sample --max-new-tokens 的上限
GREEDY_TEMPERATURE = 1e-4       # 比它还小的正温度按贪心解码：logits / τ 会溢出成 inf，分布本来也只剩最大的那个


class UsageError(Exception):
    """命令行用法不对（值读不成、不认识的选项……）：``main`` 打印一行中文错误与帮助提示，退出码 2。

    参数:
        message: 中文说明，写明是哪个选项、给的值是什么。
        command: 出错的子命令（如 ``"train"``），用在提示 ``tinygrad-zh train --help`` 里；None 表示顶层。
    """

    def __init__(self, message, command=None):
        super().__init__(message)
        self.command = command


# ---------------------------------------------------------------------------- 选项的值：自己读、自己报错

def _shown(text, limit=40):
    """错误信息里显示的值：太长的截短（一行错误信息不被几千位的数撑满）。"""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}…（共 {len(text):,} 个字符）"


def _int(option, text):
    """把选项的值读成整数。"""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"参数 {option}：应是整数，得到 {_shown(text)}") from None


def _float(option, text):
    """把选项的值读成有限的浮点数（nan、inf 当作写错）。"""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"参数 {option}：应是数，得到 {_shown(text)}") from None
    if not math.isfinite(value):
        raise ValueError(f"参数 {option}：应是有限的数，得到 {_shown(text)}")
    return value


def _text(option, text):
    """文件路径、提示文字：就要字符串（不能含 NUL 字符：操作系统不接受这样的路径）。"""
    if "\0" in text:
        raise ValueError(f"参数 {option}：不能含 NUL 字符（\\0），得到 {_shown(text)}")
    return text


class _Choice:
    """只接受几个固定取值的选项（如 ``--device auto|cpu|cuda``）。"""

    def __init__(self, *choices):
        self.choices = choices
        self.metavar = "{" + ",".join(choices) + "}"

    def __call__(self, option, text):
        if text not in self.choices:
            raise ValueError(f"参数 {option} 的取值无效：{text!r}（可选：{'、'.join(self.choices)}）")
        return text


# ---------------------------------------------------------------------------- 解析器

class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix="用法：" if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """中文帮助；带值的选项一律按字符串收下，再由 ``read_values`` 读成需要的类型（错误信息是中文的）。

    exit_on_error=False：argparse 剩下的结构错误以 ``argparse.ArgumentError`` 抛出，由 ``_structural_error``
    写成中文，不由 argparse 打印英文后退出。allow_abbrev=False：不接受选项的缩写，否则缩写有歧义时
    argparse 会直接打印英文错误（这条路不经过 ArgumentError）。
    """

    def __init__(self, *args, **kwargs):
        self.options = []          # 本解析器的全部选项（argparse 的 Action），报结构错误时按名字找
        self.readers = {}          # dest → (选项名, 读值的函数)
        self.commands = {}         # 子命令名 → 子解析器
        self.command_action = None
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, add_help=False, allow_abbrev=False, exit_on_error=False, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", help="显示帮助并退出")

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        self.options.append(action)
        return action

    def add_value(self, option, read=None, *, dest=None, default=None, metavar=None, help):
        """加一个带值的选项。值先按字符串收下，``read_values`` 再用 ``read(选项名, 字符串)`` 读成需要的类型。

        参数:
            read: ``_int``、``_float``、``_Choice(...)``；None 表示就要字符串（文件路径、提示文字，用 ``_text``）。
            default: 没给这个选项时的值；写成字符串时与命令行给的值一样经过 ``read``（帮助里显示的就是它）。
        """
        metavar = metavar or getattr(read, "metavar", None)
        action = self.add_argument(option, dest=dest, default=default, metavar=metavar, help=help)
        self.readers[action.dest] = (option, read or _text)
        return action

    def add_command(self, name, **kwargs):
        """加一个子命令，返回它的解析器。"""
        if self.command_action is None:
            self.command_action = self.add_subparsers(dest="command", title="子命令", metavar="命令",
                                                      parser_class=_Parser)
        self.commands[name] = self.command_action.add_parser(name, **kwargs)
        return self.commands[name]

    def read_values(self, args):
        """把 ``args`` 里字符串形式的值读成整数、数或选定的取值；读不成的一起报告。"""
        problems = []
        for dest, (option, read) in self.readers.items():
            text = getattr(args, dest)
            if isinstance(text, list):   # “--n-layer=--”：argparse 把 -- 之后的（空的）剩余部分当作值
                problems.append(f"参数 {option} 后面需要一个值，得到 {_shown('--' if not text else ' '.join(text))}")
                continue
            if text is not None:
                try:
                    setattr(args, dest, read(option, text))
                except ValueError as e:
                    problems.append(str(e))
        if problems:
            raise UsageError("；".join(problems), args.command)


# train 的命令行参数 → TrainConfig 的字段（默认 None：没写的参数不覆盖配置文件或预设）
_TRAIN_FLAGS = [
    ("--n-layer", "n_layer", _int, "Transformer 块的层数"),
    ("--n-head", "n_head", _int, "注意力头数（须整除 n_embd）"),
    ("--n-embd", "n_embd", _int, "嵌入维度"),
    ("--block-size", "block_size", _int, "上下文窗口（上下文长度）"),
    ("--batch-size", "batch_size", _int, "批量大小"),
    ("--dropout", "dropout", _float, "暂退概率 (dropout)"),
    ("--lr", "learning_rate", _float, "峰值学习率"),
    ("--min-lr", "min_lr", _float, "余弦衰减的终点学习率"),
    ("--weight-decay", "weight_decay", _float, "AdamW 的权重衰减"),
    ("--grad-clip", "grad_clip", _float, "梯度裁剪阈值（0 = 不裁剪）"),
    ("--max-steps", "max_steps", _int, "训练步数"),
    ("--warmup-steps", "warmup_steps", _int, "学习率预热 (warmup) 步数"),
    ("--eval-interval", "eval_interval", _int, "每多少步评估一次并保存检查点"),
    ("--eval-batches", "eval_batches", _int, "评估用的固定验证批量个数"),
    ("--seed", "seed", _int, "随机种子（0 ≤ SEED < 2^64）"),
    ("--data", "data", None, "训练用的 UTF-8 文本文件（默认：内置的人民日报 1998-01 语料）；检查点记下它的绝对路径与内容哈希"),
    ("--out-dir", "out_dir", None, "检查点与损失曲线的目录（默认 checkpoints/gpt）；同一个目录同时只能有一个训练"),
]
_DEVICES = _Choice("auto", "cpu", "cuda")


def _build_parser():
    """``tinygrad-zh`` 的解析器：五个子命令 train / sample / doctor / lessons / site。"""
    parser = _Parser(prog=PROG, description="tinygrad_zh：用中文讲解的教学用深度学习框架。"
                     "在中文语料上训练字符级 GPT 并从中采样。")
    parser.add_argument("--version", action="version", version=f"tinygrad_zh {__version__}",
                        help="显示版本并退出")

    p = parser.add_command("train", help="训练字符级 GPT", description=(
        "训练字符级 GPT（默认：人民日报 1998-01 语料，90/10 划分，默认 CPU 配置 4 层 4 头 128 维）。\n"
        "配置的优先级：命令行参数 > --config 或 --preset > 默认配置；--resume 且没给 --config / --preset 时以检查点里的配置为底。\n"
        "每次评估后保存检查点 OUT_DIR/ckpt.npz 与损失曲线 OUT_DIR/loss.png；Ctrl-C 或 SIGTERM 先保存再退出（退出码 130 / 143）。\n"
        "OUT_DIR 里已有检查点时必须写明 --resume（接着训练）或 --overwrite（从头训练并覆盖它）。\n"
        "损失或梯度范数出现 nan / inf（训练发散）时立即停止（退出码 1），保留最后一个正常的检查点。"))
    p.add_value("--config", metavar="FILE.json", help="JSON 配置文件（键与 TrainConfig 的字段同名；不能与 --preset 同用）")
    p.add_value("--preset", _Choice("cpu", "gpu"), help="预设配置：cpu（默认）或 gpu（第 18 课，6 层 384 维）")
    for flag, name, read, text in _TRAIN_FLAGS:
        metavar = {"data": "FILE.txt", "out_dir": "DIR"}.get(name, "N" if read is _int else "X")
        p.add_value(flag, read, dest=name, metavar=metavar, help=text)
    p.add_value("--device", _DEVICES, help="设备：auto（有 GPU 用 GPU）、cpu、cuda；默认 auto")
    p.add_argument("--resume", action="store_true", help="从 OUT_DIR/ckpt.npz 接着训练（逐位一致）")
    p.add_argument("--overwrite", action="store_true",
                   help="OUT_DIR 里已有检查点时从头训练，第一次保存时覆盖它（不加时拒绝开始，什么也不动）")
    p.add_value("--skip-nonfinite", _int, dest="skip_nonfinite", default="0", metavar="N",
                help="至多跳过 N 个损失或梯度范数不是有限数 (nan / inf) 的步，不更新参数（默认 0：遇到就停止）")
    p.add_argument("--no-progress", action="store_true", help="不显示进度条（日志、CI 用）")
    p.add_value("--nproc", _int, metavar="N",
                help="数据并行：用 mpiexec 启动 N 个进程一起训练（批量不变，每个进程算 1/N；需要 pip install -e \".[dist]\"）。"
                     "也可以直接 mpiexec -n N tinygrad-zh train …")

    default_ckpt = CPU_CONFIG.checkpoint_path
    p = parser.add_command("sample", help="从训练好的模型采样生成文字", description=(
        "从检查点加载 GPT，接着提示 (prompt) 往下写。温度 → top-k → top-p 依次作用于下一个字的分布。\n"
        "按 Ctrl-C 时先打印已经生成的文字再退出（退出码 130）。"))
    p.add_value("--checkpoint", default=default_ckpt, metavar="FILE", help=f"检查点文件（默认 {default_ckpt}）")
    p.add_value("--prompt", default="", metavar="PROMPT", help="提示文字（默认为空：从段落开头写起）")
    p.add_value("--max-new-tokens", _int, default="100", metavar="N",
                help=f"生成多少个字（默认 100，最多 {MAX_NEW_TOKENS:,}）")
    p.add_value("--temperature", _float, default="0.8", metavar="T",
                help=f"温度，0 = 贪心解码；小于 {GREEDY_TEMPERATURE:g} 的也按贪心解码（默认 0.8）")
    p.add_value("--top-k", _int, metavar="K", help="只在最可能的 K 个字里采样（默认不限）")
    p.add_value("--top-p", _float, metavar="P", help="核采样 (top-p)：只保留累计概率达到 P 的最可能的字（默认不限）")
    p.add_value("--seed", _int, default="1337", metavar="SEED",
                help="随机种子（相同参数与种子给出相同结果；0 ≤ SEED < 2^64，默认 1337）")
    p.add_value("--num-samples", _int, default="1", metavar="N", help=f"生成几段（默认 1，最多 {MAX_NUM_SAMPLES}）")
    p.add_value("--device", _DEVICES, default="auto", help="设备（默认 auto）")

    parser.add_command("doctor", help="检查运行环境", description="检查 Python、NumPy、CuPy / GPU、matplotlib 与中文字体。")
    parser.add_command("lessons", help="列出课程", description="列出 lessons/ 目录里的课程脚本及其标题。")

    p = parser.add_command("grade", help="给一课的任务评分（学生版）", description=(
        "运行第 LESSON 课的任务测试（all 为全部任务），打印每个任务的结果与失败原因。\n"
        "每个测试有时间上限（默认 20 秒，环境变量 TINYGRAD_ZH_TASK_TIMEOUT 可改）。全部通过时退出码为 0。"))
    p.add_argument("lesson", metavar="LESSON", help="课程编号，如 08（08a、08b 也算第 08 课），或 all")
    p.add_value("--root", metavar="DIR", help="被评分的仓库（默认：这个 tinygrad_zh 所在的仓库）")
    p.add_value("--tests", metavar="DIR", help="任务测试的目录（默认 ROOT/tests/tasks；教师批改时用自己的一份）")
    p.add_value("--json", metavar="FILE", help="把结果写成 Gradescope 格式的 JSON（如 results.json）")
    p.add_argument("-v", "--verbose", action="store_true", help="同时显示 pytest 的完整输出")

    p = parser.add_command("student-edition", help="生成学生版（教师用）", description=(
        "把仓库复制到 OUT_DIR：答案区换成抛出 NotImplementedError 的桩，不带有评分任务的课的练习答案，\n"
        "并写入 GitHub Classroom 的评分配置。"))
    p.add_argument("out_dir", metavar="OUT_DIR", help="学生版的目录（不能在仓库里面；应不存在或为空）")
    p.add_argument("--force", action="store_true", help="OUT_DIR 是以前生成的学生版时，先清空再生成")

    p = parser.add_command("site", help="把课程构建成网站（与 PDF）", description=(
        "执行每一课（默认快速模式）并用 Sphinx 生成离线的课程网站：OUT/html/index.html，浏览器直接打开即可。\n"
        "课程与框架没变时复用上次执行的结果。需要 pip install -e \".[lessons,site]\"；--pdf 还需要 Chromium。"))
    p.add_argument("--full", action="store_true", help="按完整模式执行课程（慢得多；默认快速模式）")
    p.add_argument("--pdf", action="store_true", help="同时把整个课程打印成 PDF（OUT/html/tinygrad_zh_course.pdf）")
    p.add_value("--out", metavar="DIR", help="构建目录（默认 build/site）")
    p.add_value("--jobs", _int, metavar="N", help="同时执行几课（默认 CPU 核数，最多 2）")
    p.add_value("--device", _Choice("cpu", "cuda"), default="cpu", help="课程在哪个设备上运行（默认 cpu）")
    return parser


def parse_args(parser, argv):
    """按 ``parser`` 解析 ``argv``（字符串列表），值已读成需要的类型；用法不对时抛出 ``UsageError``。"""
    try:
        args, unknown = parser.parse_known_args(argv)
    except argparse.ArgumentError as e:
        raise _structural_error(parser, e, argv) from None
    if unknown:
        raise UsageError(f"无法识别的参数：{' '.join(unknown)}", args.command)
    if args.command is not None:
        parser.commands[args.command].read_values(args)
    return args


def _structural_error(parser, error, argv):
    """argparse 的 ``ArgumentError`` → 中文的 ``UsageError``。

    值都按字符串收下，不交给 argparse 检查类型或取值，所以它只会为三件事抛出这个错误：子命令不认识、
    带值的选项后面没有值、开关 (flag) 后面用 = 带了值。是哪一件，由出错的选项本身
    （``error.argument_name`` 对应的 Action 及其 nargs）决定。
    """
    command = next((a for a in argv if not a.startswith("-")), None)   # 顶层没有带值的选项：第一个非选项就是子命令
    if parser.command_action is not None and error.argument_name == parser.command_action.metavar:
        given = f" {command!r}" if command is not None else ""
        return UsageError(f"没有这个子命令 (command){given}；可选：{'、'.join(parser.commands)}")
    command = command if command in parser.commands else None
    options = parser.commands[command].options if command else parser.options
    name = error.argument_name
    action = next((a for a in options if "/".join(a.option_strings) == name), None)
    if action is not None and action.nargs == 0:
        return UsageError(f"参数 {name} 是开关 (flag)，不接受值", command)
    return UsageError(f"参数 {name} 后面需要一个值（值以 - 开头时写成 {name}=值）", command)


# ---------------------------------------------------------------------------- 子命令

def _cmd_train(args):
    from . import training  # 训练要导入模型等：只在 train 子命令里导入，tinygrad-zh --help 不必等它
    if args.config is not None and args.preset is not None:
        raise UsageError("参数 --config 不能与 --preset 同时使用：配置文件与预设只能选一个", "train")
    if args.resume and args.overwrite:
        raise UsageError("参数 --resume 不能与 --overwrite 同时使用：接着训练与从头覆盖只能选一个", "train")
    if args.skip_nonfinite < 0:
        raise UsageError(f"参数 --skip-nonfinite 应 ≥ 0，得到 {args.skip_nonfinite}", "train")
    from . import distributed as dist
    launched = dist.launched_world_size()
    if args.nproc is not None and args.nproc < 1:
        raise UsageError(f"参数 --nproc 应 ≥ 1，得到 {args.nproc}", "train")
    if args.nproc is not None and args.nproc > 1 and launched == 1:   # 用 mpiexec 重新启动自己，N 份
        return dist.launch(args.nproc, ["-m", "tinygrad_zh", *_without_option(args.argv, "--nproc")])
    if args.nproc is not None and launched > 1 and args.nproc != launched:
        raise UsageError(f"参数 --nproc {args.nproc} 与 mpiexec 启动的进程数 {launched} 不同", "train")
    overrides = {name: getattr(args, name) for _, name, _, _ in _TRAIN_FLAGS if getattr(args, name) is not None}
    if args.device is not None:
        overrides["device"] = args.device
    if overrides.get("data") is not None:
        overrides["data"] = os.path.abspath(overrides["data"])   # 检查点里记绝对路径：换了工作目录也能续训
    if args.config is not None:
        base = training.TrainConfig.from_json(args.config)
    elif args.preset is not None:
        base = training.preset(args.preset)
    elif args.resume:
        base = training.checkpoint_config(os.path.join(overrides.get("out_dir", CPU_CONFIG.out_dir), CHECKPOINT_NAME))
    else:
        base = CPU_CONFIG
    if args.resume:  # 续训写回读检查点的那个目录（而不是检查点里记的、可能已经搬走的旧目录）
        overrides.setdefault("out_dir", CPU_CONFIG.out_dir)
    config = training.TrainConfig.from_dict({**base.to_dict(), **overrides})
    training.check_out_dir(config, args.resume, args.overwrite)   # 在打印、加锁、读语料之前：什么也不动
    group = None
    if launched > 1:   # mpiexec 启动的 N 个进程之一：GPU 上用 NCCL，CPU 上用 MPI；只有 0 号进程打印
        group = dist.init_process_group("nccl" if training.resolve_device(config.device) == "cuda" else "mpi")
        if group.rank != 0:
            sys.stdout = open(os.devnull, "w", encoding="utf-8")   # noqa: SIM115  进程结束时关闭
    print("训练配置：")
    width = max(len(k) for k in config.to_dict())
    for key, value in config.to_dict().items():
        print(f"  {key:<{width}} = {value}")
    try:
        # 数值溢出由训练循环自己检查并报告（训练发散），不再让 NumPy 另外打印英文的 RuntimeWarning
        # 多个进程时，某个进程出了意料之外的错就结束全部进程（别的进程不会卡在通信里等它）
        expected = (ConfigError, CheckpointError, training.NonFiniteError, dist.DistributedError)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), dist.abort_on_error(group, expected):
            result = training.train(config, resume=args.resume, progress=not args.no_progress,
                                    overwrite=args.overwrite, skip_nonfinite=args.skip_nonfinite)
    except training.TrainingTerminated:
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except training.NonFiniteError as e:
        _print_error("train", str(e))
        return EXIT_FAILED
    minutes, seconds = divmod(result.elapsed, 60)
    print(f"完成：第 {result.step} 步，验证损失 {result.val_loss:.4f} nats / 字符，困惑度 "
          f"{training.format_perplexity(result.val_ppl)}，用时 {int(minutes)} 分 {seconds:.0f} 秒。")
    print(f"检查点：{result.checkpoint}")
    if result.plot:
        print(f"损失曲线：{result.plot}")
    prompt = " --prompt 新年" if config.data is None else ""
    print(f"采样：tinygrad-zh sample --checkpoint {result.checkpoint}{prompt}")
    return 0


def _without_option(argv, name):
    """去掉 argv 里的 ``name 值`` 或 ``name=值``（重新启动自己时不再带 --nproc）。"""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == name:
            skip = True
        elif not a.startswith(name + "="):
            out.append(a)
    return out


def _check_sample_args(args):
    """采样参数的取值范围；都对时返回 None，否则抛出 ``ConfigError``（一次列出所有问题）。"""
    problems = []
    if not 0 <= args.max_new_tokens <= MAX_NEW_TOKENS:
        problems.append(f"--max-new-tokens 应 ≥ 0 且 ≤ {MAX_NEW_TOKENS:,}，得到 {args.max_new_tokens}")
    if args.temperature < 0:
        problems.append(f"--temperature 应 ≥ 0（0 = 贪心解码），得到 {args.temperature}")
    if args.top_k is not None and args.top_k <= 0:
        problems.append(f"--top-k 应 ≥ 1，得到 {args.top_k}")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        problems.append(f"--top-p 应在 (0, 1] 内，得到 {args.top_p}")
    if not 1 <= args.num_samples <= MAX_NUM_SAMPLES:
        problems.append(f"--num-samples 应 ≥ 1 且 ≤ {MAX_NUM_SAMPLES}，得到 {args.num_samples}")
    if not 0 <= args.seed < SEED_LIMIT:
        problems.append(f"--seed 应在 [0, 2^64) 内，得到 {args.seed}")
    if problems:
        raise ConfigError("采样参数有误：" + "；".join(problems))


def _cmd_sample(args):
    from .autograd import no_grad              # 同上：只在 sample 子命令里导入
    from .backend import to_numpy
    from .run_guard import available_memory, format_bytes
    from .training import load_checkpoint
    _check_sample_args(args)
    temperature = 0.0 if 0 < args.temperature < GREEDY_TEMPERATURE else args.temperature

    model, tokenizer, ckpt = load_checkpoint(args.checkpoint, device=args.device)
    ids = tokenizer.encode(args.prompt)
    if not ids:  # 空提示：从段落开头（换行符）写起
        ids = [tokenizer.stoi.get("\n", tokenizer.unk_id)]
    cfg, device = model.config, next(model.parameters()).device
    need = args.num_samples * (8 * cfg.n_layer * cfg.block_size * cfg.n_embd        # 键值缓存（float32 的 k、v）
                               + 48 * cfg.block_size * cfg.n_embd + 32 * cfg.vocab_size  # 激活与抽样用的 float64
                               + 16 * (len(ids) + args.max_new_tokens))               # 生成的词元（int64，拼接时两份）
    available = available_memory(device)
    if available is not None and need > available:
        raise ConfigError(f"采样估计至少需要 {format_bytes(need)} 内存（--num-samples {args.num_samples} × "
                          f"--max-new-tokens {args.max_new_tokens}），这台机器现在只有 {format_bytes(available)} 可用。"
                          "提示：调小 --num-samples 或 --max-new-tokens。")
    idx = tensor([ids] * args.num_samples, dtype=int64, device=device)
    with no_grad(), np.errstate(over="ignore", invalid="ignore"):
        logits, _ = model(idx[:1, -cfg.block_size:])   # 先算一次提示的 logits：数值坏了就说清楚，而不是输出一串 <unk>
    if not np.isfinite(to_numpy(logits.data)).all():
        raise ConfigError(f"检查点 {args.checkpoint} 的模型算出的 logits 里有 nan / inf，无法采样"
                          "（模型的数值坏了：训练发散后保存的？）。提示：换用更早的检查点。")

    val = ckpt["history"]["val_loss"]
    print(f"检查点 {args.checkpoint}：第 {ckpt['step']} 步，词表大小 {tokenizer.vocab_size}"
          + (f"，验证损失 {val[-1]:.4f}" if val else ""), file=sys.stderr)
    unknown = sorted({c for c in args.prompt if c not in tokenizer.stoi})
    if unknown:
        print(f"警告：提示里有 {len(unknown)} 个字符不在词表里，将按 <unk> 处理：{''.join(unknown)!r}", file=sys.stderr)
    if temperature != args.temperature:
        print(f"提示：温度 {args.temperature:g} 小于 {GREEDY_TEMPERATURE:g}，按贪心解码 (greedy) 处理（除以这么小的温度，"
              "logits 会溢出成 inf）。", file=sys.stderr)
    generator = Generator().manual_seed(args.seed)
    out, interrupted = _generate(model, idx, args.max_new_tokens, dict(
        temperature=temperature, top_k=args.top_k, top_p=args.top_p, generator=generator))
    for i, row in enumerate(out.cpu().numpy()):  # 在 GPU 上生成时先搬回主机
        if args.num_samples > 1:
            print(f"---------- 样本 {i + 1} ----------")
        print(args.prompt + tokenizer.decode(row[len(ids):]))
    if interrupted:
        done = out.shape[1] - len(ids)
        print(f"已中断 (KeyboardInterrupt)：每段生成了 {done} / {args.max_new_tokens} 个字，已打印在上面。",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _generate(model, idx, max_new_tokens, options):
    """与一次 ``model.generate(idx, max_new_tokens, **options)`` 逐位相同，但分段调用：按 Ctrl-C 时手里有已生成的部分。

    generate 在上下文没满 block_size 时用键值缓存 (KV cache) 一个词元一个词元地往后算；满了以后每一步都重建缓存、
    重算整个窗口。所以第一段一直生成到窗口第一次满（bs − min(T, bs) + 1 个词元），之后每次调用生成一个词元——
    每次调用的第一步本来就是重算整个窗口，结果与一次生成完全相同，随机数也按同样的顺序取用。

    返回:
        ``(out, interrupted)``：out 是 ``(B, T + 已生成的个数)``；interrupted 表示是否被 Ctrl-C 打断。
    """
    bs = model.config.block_size
    first = bs - min(idx.shape[1], bs) + 1
    out, done = idx, 0
    try:
        while done < max_new_tokens:
            n = min(first if done == 0 else 1, max_new_tokens - done)
            out = model.generate(out, n, **options)
            done += n
    except KeyboardInterrupt:
        return out, True
    return out, False


def _cmd_doctor(args):
    doctor()
    return 0


def lesson_list(folder=None):
    """``[(编号, 标题, 路径)]``：lessons/ 里的课程。

    编号是文件名第一个下划线前的部分：``08_*.py`` 是第 08 课，一课分成几部分时写作 ``08a_*.py``、``08b_*.py``；
    标题取自 ``# # 第 08 课：标题`` 或 ``# # 第 08 课（上）：标题`` 那一行（冒号后面的部分）。
    """
    folder = Path(folder) if folder is not None else Path(__file__).resolve().parent.parent / "lessons"
    found = []
    for path in sorted(folder.glob("[0-9][0-9]*_*.py")):
        number = path.stem.split("_", 1)[0]
        if not re.fullmatch(r"\d\d[a-z]?", number):
            continue
        title = path.stem[len(number) + 1:]
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^# # 第 ?\d+ ?课(?:[（(][^）)]*[）)])?[：:]\s*(.+)$", line.strip())
                if m:
                    title = m.group(1).strip()
                    break
        found.append((number, title, path))
    return found


def _cmd_lessons(args):
    lessons = lesson_list()
    if not lessons:
        print("没有找到课程目录 lessons/：课程脚本在源代码仓库里（git clone 后 pip install -e \".[lessons]\"）。",
              file=sys.stderr)
        return 1
    for number, title, path in lessons:
        print(f"  {number}  {title}    lessons/{path.name}")
    print("运行：python lessons/NN_主题.py（加 --quick 为快速模式，--device cuda 用 GPU）")
    return 0


def _cmd_site(args):
    from .course_site import SiteError, build_site   # Sphinx、nbclient 只在 site 子命令里用到
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"参数 --jobs 应 ≥ 1，得到 {args.jobs}", "site")
    try:
        result = build_site(args.out, full=args.full, pdf=args.pdf, jobs=args.jobs, device=args.device)
    except SiteError as e:
        _print_error("site", str(e))
        return EXIT_FAILED
    print(f"网站：{result.html}（用浏览器打开；用时 {result.seconds['total']:.0f} 秒）")
    if result.pdf is not None:
        print(f"PDF：{result.pdf}")
    return 0


def _cmd_grade(args):
    from .classroom.grading import grade
    return grade(args.lesson, root=args.root, tests=args.tests, json_path=args.json, verbose=args.verbose)


def _cmd_student_edition(args):
    from .classroom.edition import EditionError, generate
    try:
        report = generate(Path(__file__).resolve().parent.parent, args.out_dir, force=args.force)
    except EditionError as e:
        _print_error("student-edition", str(e))
        return EXIT_USAGE
    print(f"学生版已生成：{report.out}（{report.files} 个文件，{sum(report.stubs.values())} 处答案区换成了桩，"
          f"{len(report.stubs)} 个任务；用时 {report.seconds:.1f} 秒）")
    if report.left_out:
        print("没有带进学生版的文件（评分任务那几课的练习答案、另写了一遍参考实现的文件）：" + "、".join(report.left_out))
    print("学生运行 tinygrad-zh grade NN 检查第 NN 课的任务；GitHub Classroom 的配置在 .github/ 下。")
    return 0


_COMMANDS = {"train": _cmd_train, "sample": _cmd_sample, "doctor": _cmd_doctor, "lessons": _cmd_lessons,
             "grade": _cmd_grade, "student-edition": _cmd_student_edition,
             "site": _cmd_site}


def main(argv=None):
    """命令行入口；返回退出码（见模块说明：0 成功，1 发散 / 失败，2 参数或文件错误，130 Ctrl-C，143 SIGTERM）。"""
    argv = sys.argv[1:] if argv is None else list(argv)
    tolerate_unencodable_output()  # GBK 控制台（中文 Windows）写不出个别字符时不崩溃
    try:
        code = _main(argv)
        sys.stdout.flush()   # 在这里刷新，管道已关闭的错误才能被下面接住
        return code
    except BrokenPipeError:
        # 读输出的程序先退出了（tinygrad-zh lessons | head）：安静地结束。把标准输出接到 /dev/null，
        # 免得解释器退出时刷新缓冲区再报一次 “Broken pipe”
        with _suppress_all():
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(argv):
    parser = _build_parser()
    try:
        args = parse_args(parser, argv)
    except SystemExit as e:  # --help 与 --version：argparse 已经打印过了
        return e.code if isinstance(e.code, int) else 0
    except UsageError as e:
        return _report_usage_error(e)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    debug = bool(os.environ.get("TINYGRAD_ZH_DEBUG"))
    args.argv = list(argv)   # train --nproc 用它重新启动自己
    try:
        return _COMMANDS[args.command](args)
    except UsageError as e:
        return _report_usage_error(e)
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:  # 训练与采样自己处理 Ctrl-C；这里接住的是读检查点、导入模块时按下的
        print(f"\n{PROG} {args.command}：已中断 (KeyboardInterrupt)。", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ConfigError, CheckpointError, OSError, ImportError, ValueError, RuntimeError) as e:
        if debug:
            raise
        _print_error(args.command, describe_error(e))
        return EXIT_USAGE
    except MemoryError:
        if debug:
            raise
        _print_error(args.command, "内存不足 (MemoryError)。提示：调小模型（--n-layer、--n-embd）或批量"
                                   "（--batch-size、--block-size、--eval-batches、--num-samples）。")
        return EXIT_FAILED
    except Exception as e:  # noqa: BLE001  意外的错误也只打印一行中文；完整回溯用 TINYGRAD_ZH_DEBUG=1 查看
        if debug:
            raise
        _print_error(args.command, f"意外的错误 ({type(e).__name__})：{describe_error(e)}。提示：设环境变量 "
                                   "TINYGRAD_ZH_DEBUG=1 再运行一次可看到完整的错误回溯 (traceback)；这多半是程序的缺陷，欢迎报告。")
        return EXIT_FAILED


@contextlib.contextmanager
def _suppress_all():
    try:
        yield
    except OSError:
        pass


# 常见的系统错误号 → 中文（英文原词放在括号里，便于搜索）
_ERRNO_WORDS = {
    errno.ENOENT: "文件或目录不存在 (no such file or directory)",
    errno.EACCES: "没有权限 (permission denied)",
    errno.EPERM: "操作不被允许 (operation not permitted)",
    errno.ENOTDIR: "路径中有一段不是目录 (not a directory)",
    errno.EISDIR: "这是一个目录 (is a directory)",
    errno.EEXIST: "已经存在 (file exists)",
    errno.ENOSPC: "磁盘空间不足 (no space left on device)",
    errno.EROFS: "文件系统是只读的 (read-only file system)",
    errno.ENAMETOOLONG: "文件名太长 (file name too long)",
    errno.EIO: "输入输出错误 (I/O error)",
    errno.EMFILE: "打开的文件太多 (too many open files)",
    errno.ENFILE: "系统打开的文件太多 (too many open files in system)",
    errno.ELOOP: "符号链接的层数太多 (too many levels of symbolic links)",
    errno.EFBIG: "文件太大 (file too large)",
    errno.ENOMEM: "内存不足 (out of memory)",
    errno.EBUSY: "设备或资源正忙 (device or resource busy)",
    errno.ETXTBSY: "文件正忙 (text file busy)",
    errno.EXDEV: "不能跨文件系统改名 (cross-device link)",
    errno.ENOTEMPTY: "目录不是空的 (directory not empty)",
    errno.EINVAL: "参数无效 (invalid argument)",
}
if hasattr(errno, "EDQUOT"):
    _ERRNO_WORDS[errno.EDQUOT] = "超出磁盘配额 (disk quota exceeded)"


def describe_error(error):
    """异常 → 一行中文说明。系统调用失败的 ``OSError``（带 errno）把错误号换成中文，并写明是哪个文件；
    我们自己抛出的异常本来就是中文，原样使用。"""
    if isinstance(error, OSError) and error.errno is not None and error.strerror:
        words = _ERRNO_WORDS.get(error.errno, f"系统错误 {errno.errorcode.get(error.errno, error.errno)} "
                                              f"({error.strerror})")
        target = "" if error.filename is None else f"{error.filename}"
        if error.filename2 is not None:
            target += f" → {error.filename2}"
        return f"文件操作失败：{target}：{words}" if target else f"文件操作失败：{words}"
    return str(error).strip().replace("\n", " ") or type(error).__name__


def _print_error(command, message):
    print(f"{PROG} {command}：错误：{message}", file=sys.stderr)


def _report_usage_error(error):
    """用法错误打印成一行（不打印整段用法），附上该看哪个 --help；返回退出码 2。"""
    prog = f"{PROG} {error.command}" if error.command else PROG
    print(f"{prog}：错误：{error}。提示：{prog} --help 查看用法。", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
