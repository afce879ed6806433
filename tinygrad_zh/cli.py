"""``tinygrad-zh`` 命令（也可以 ``python -m tinygrad_zh``）：训练、采样、环境检查、课程列表。

    tinygrad-zh train                                   # 默认 CPU 配置，在人民日报语料上训练字符级 GPT
    tinygrad-zh train --max-steps 200 --no-progress     # 只训练 200 步
    tinygrad-zh train --resume                          # 从 checkpoints/gpt/ckpt.npz 接着训练
    tinygrad-zh sample --prompt 新年 --max-new-tokens 100 --temperature 0.8 --top-k 50
    tinygrad-zh doctor                                  # 检查 Python、NumPy、CuPy / GPU、matplotlib、中文字体
    tinygrad-zh lessons                                 # 列出课程

参数写错、文件不存在、检查点不对时打印一行中文错误并以退出码 2 结束；训练中按 Ctrl-C 会先保存检查点，
退出码 130。设环境变量 ``TINYGRAD_ZH_DEBUG=1`` 可看到完整的错误回溯 (traceback)。

参数的错误信息都是我们自己写的：argparse 只负责把命令行切成“选项 → 字符串”，每个值读成整数、数或
选定的取值由 ``_Parser.read_values`` 完成；argparse 仍会发现的几种结构错误（选项后面缺值、给开关带值、
不认识的子命令）按它报告的是哪个选项、该选项取几个值写成中文，不依赖它英文提示的措辞。
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path

from . import __version__
from .creation import Generator, tensor
from .dtypes import int64
from .lesson import doctor
from .serialization import CheckpointError
from .training_config import CHECKPOINT_NAME, CPU_CONFIG, ConfigError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
PROG = "tinygrad-zh"


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

def _int(option, text):
    """把选项的值读成整数。"""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"参数 {option}：应是整数，得到 {text!r}") from None


def _float(option, text):
    """把选项的值读成有限的浮点数（nan、inf 当作写错）。"""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"参数 {option}：应是数，得到 {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"参数 {option}：应是有限的数，得到 {text!r}")
    return value


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
            read: ``_int``、``_float``、``_Choice(...)``；None 表示就要字符串（文件路径、提示文字）。
            default: 没给这个选项时的值；写成字符串时与命令行给的值一样经过 ``read``（帮助里显示的就是它）。
        """
        metavar = metavar or getattr(read, "metavar", None)
        action = self.add_argument(option, dest=dest, default=default, metavar=metavar, help=help)
        if read is not None:
            self.readers[action.dest] = (option, read)
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
    ("--seed", "seed", _int, "随机种子"),
    ("--data", "data", None, "训练用的 UTF-8 文本文件（默认：内置的人民日报 1998-01 语料）"),
    ("--out-dir", "out_dir", None, "检查点与损失曲线的目录"),
]
_DEVICES = _Choice("auto", "cpu", "cuda")


def _build_parser():
    """``tinygrad-zh`` 的解析器：四个子命令 train / sample / doctor / lessons。"""
    parser = _Parser(prog=PROG, description="tinygrad_zh：用中文讲解的教学用深度学习框架。"
                     "在中文语料上训练字符级 GPT 并从中采样。")
    parser.add_argument("--version", action="version", version=f"tinygrad_zh {__version__}",
                        help="显示版本并退出")

    p = parser.add_command("train", help="训练字符级 GPT", description=(
        "训练字符级 GPT（默认：人民日报 1998-01 语料，90/10 划分，默认 CPU 配置 4 层 4 头 128 维）。\n"
        "配置的优先级：命令行参数 > --config 或 --preset > 默认配置；--resume 且没给 --config / --preset 时以检查点里的配置为底。\n"
        "每次评估后保存检查点 OUT_DIR/ckpt.npz 与损失曲线 OUT_DIR/loss.png；Ctrl-C 先保存再退出。"))
    p.add_value("--config", metavar="FILE.json", help="JSON 配置文件（键与 TrainConfig 的字段同名；不能与 --preset 同用）")
    p.add_value("--preset", _Choice("cpu", "gpu"), help="预设配置：cpu（默认）或 gpu（第 18 课，6 层 384 维）")
    for flag, name, read, text in _TRAIN_FLAGS:
        metavar = {"data": "FILE.txt", "out_dir": "DIR"}.get(name, "N" if read is _int else "X")
        p.add_value(flag, read, dest=name, metavar=metavar, help=text)
    p.add_value("--device", _DEVICES, help="设备：auto（有 GPU 用 GPU）、cpu、cuda；默认 auto")
    p.add_argument("--resume", action="store_true", help="从 OUT_DIR/ckpt.npz 接着训练（逐位一致）")
    p.add_argument("--no-progress", action="store_true", help="不显示进度条（日志、CI 用）")

    default_ckpt = CPU_CONFIG.checkpoint_path
    p = parser.add_command("sample", help="从训练好的模型采样生成文字", description=(
        "从检查点加载 GPT，接着提示 (prompt) 往下写。温度 → top-k → top-p 依次作用于下一个字的分布。"))
    p.add_value("--checkpoint", default=default_ckpt, metavar="FILE", help=f"检查点文件（默认 {default_ckpt}）")
    p.add_value("--prompt", default="", metavar="PROMPT", help="提示文字（默认为空：从段落开头写起）")
    p.add_value("--max-new-tokens", _int, default="100", metavar="N", help="生成多少个字（默认 100）")
    p.add_value("--temperature", _float, default="0.8", metavar="T", help="温度，0 = 贪心解码（默认 0.8）")
    p.add_value("--top-k", _int, metavar="K", help="只在最可能的 K 个字里采样（默认不限）")
    p.add_value("--top-p", _float, metavar="P", help="核采样 (top-p)：只保留累计概率达到 P 的最可能的字（默认不限）")
    p.add_value("--seed", _int, default="1337", metavar="SEED",
                help="随机种子（相同参数与种子给出相同结果；默认 1337）")
    p.add_value("--num-samples", _int, default="1", metavar="N", help="生成几段（默认 1）")
    p.add_value("--device", _DEVICES, default="auto", help="设备（默认 auto）")

    parser.add_command("doctor", help="检查运行环境", description="检查 Python、NumPy、CuPy / GPU、matplotlib 与中文字体。")
    parser.add_command("lessons", help="列出课程", description="列出 lessons/ 目录里的课程脚本及其标题。")
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
    overrides = {name: getattr(args, name) for _, name, _, _ in _TRAIN_FLAGS if getattr(args, name) is not None}
    if args.device is not None:
        overrides["device"] = args.device
    if args.config is not None:
        base = training.TrainConfig.from_json(args.config)
    elif args.preset is not None:
        base = training.preset(args.preset)
    elif args.resume:
        base = training.checkpoint_config(os.path.join(overrides.get("out_dir", CPU_CONFIG.out_dir), CHECKPOINT_NAME))
    else:
        base = CPU_CONFIG
    config = training.TrainConfig.from_dict({**base.to_dict(), **overrides})
    print("训练配置：")
    width = max(len(k) for k in config.to_dict())
    for key, value in config.to_dict().items():
        print(f"  {key:<{width}} = {value}")
    try:
        result = training.train(config, resume=args.resume, progress=not args.no_progress)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    minutes, seconds = divmod(result.elapsed, 60)
    print(f"完成：第 {result.step} 步，验证损失 {result.val_loss:.4f} nats / 字符，困惑度 {result.val_ppl:,.1f}，"
          f"用时 {int(minutes)} 分 {seconds:.0f} 秒。")
    print(f"检查点：{result.checkpoint}")
    if result.plot:
        print(f"损失曲线：{result.plot}")
    prompt = " --prompt 新年" if config.data is None else ""
    print(f"采样：tinygrad-zh sample --checkpoint {result.checkpoint}{prompt}")
    return 0


def _cmd_sample(args):
    from .training import load_checkpoint  # 同上：只在 sample 子命令里导入
    problems = []
    if args.max_new_tokens < 0:
        problems.append(f"--max-new-tokens 应 ≥ 0，得到 {args.max_new_tokens}")
    if args.temperature < 0:
        problems.append(f"--temperature 应 ≥ 0（0 = 贪心解码），得到 {args.temperature}")
    if args.top_k is not None and args.top_k <= 0:
        problems.append(f"--top-k 应 ≥ 1，得到 {args.top_k}")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        problems.append(f"--top-p 应在 (0, 1] 内，得到 {args.top_p}")
    if args.num_samples < 1:
        problems.append(f"--num-samples 应 ≥ 1，得到 {args.num_samples}")
    if problems:
        raise ConfigError("采样参数有误：" + "；".join(problems))

    model, tokenizer, ckpt = load_checkpoint(args.checkpoint, device=args.device)
    val = ckpt["history"]["val_loss"]
    print(f"检查点 {args.checkpoint}：第 {ckpt['step']} 步，词表大小 {tokenizer.vocab_size}"
          + (f"，验证损失 {val[-1]:.4f}" if val else ""), file=sys.stderr)
    unknown = sorted({c for c in args.prompt if c not in tokenizer.stoi})
    if unknown:
        print(f"警告：提示里有 {len(unknown)} 个字符不在词表里，将按 <unk> 处理：{''.join(unknown)!r}", file=sys.stderr)
    ids = tokenizer.encode(args.prompt)
    if not ids:  # 空提示：从段落开头（换行符）写起
        ids = [tokenizer.stoi.get("\n", tokenizer.unk_id)]
    device = next(model.parameters()).device
    idx = tensor([ids] * args.num_samples, dtype=int64, device=device)
    generator = Generator().manual_seed(args.seed)
    out = model.generate(idx, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                         top_p=args.top_p, generator=generator)
    for i, row in enumerate(out.cpu().numpy()):  # 在 GPU 上生成时先搬回主机
        if args.num_samples > 1:
            print(f"---------- 样本 {i + 1} ----------")
        print(args.prompt + tokenizer.decode(row[len(ids):]))
    return 0


def _cmd_doctor(args):
    doctor()
    return 0


def lesson_list(folder=None):
    """``[(编号, 标题, 路径)]``：lessons/ 里 ``NN_*.py`` 的课程，标题取自 ``# # 第 NN 课：标题`` 那一行。"""
    folder = Path(folder) if folder is not None else Path(__file__).resolve().parent.parent / "lessons"
    found = []
    for path in sorted(folder.glob("[0-9][0-9]_*.py")):
        title = path.stem[3:]
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^# # 第 ?(\d+) ?课[：:]\s*(.+)$", line.strip())
                if m:
                    title = m.group(2).strip()
                    break
        found.append((path.stem[:2], title, path))
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


_COMMANDS = {"train": _cmd_train, "sample": _cmd_sample, "doctor": _cmd_doctor, "lessons": _cmd_lessons}


def main(argv=None):
    """命令行入口；返回退出码（0 成功，2 参数或文件错误，130 训练被 Ctrl-C 中断）。"""
    argv = sys.argv[1:] if argv is None else list(argv)
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
    try:
        return _COMMANDS[args.command](args)
    except UsageError as e:
        return _report_usage_error(e)
    except (ConfigError, CheckpointError, OSError, ImportError, ValueError, RuntimeError) as e:
        if os.environ.get("TINYGRAD_ZH_DEBUG"):
            raise
        message = str(e).strip().replace("\n", " ")
        print(f"{PROG} {args.command}：错误：{message}", file=sys.stderr)
        return EXIT_USAGE


def _report_usage_error(error):
    """用法错误打印成一行（不打印整段用法），附上该看哪个 --help；返回退出码 2。"""
    prog = f"{PROG} {error.command}" if error.command else PROG
    print(f"{prog}：错误：{error}。提示：{prog} --help 查看用法。", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
