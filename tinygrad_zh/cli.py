"""``tinygrad-zh`` 命令（也可以 ``python -m tinygrad_zh``）：训练、采样、环境检查、课程列表。

    tinygrad-zh train                                   # 默认 CPU 配置，在人民日报语料上训练字符级 GPT
    tinygrad-zh train --max-steps 200 --no-progress     # 只训练 200 步
    tinygrad-zh train --resume                          # 从 checkpoints/gpt/ckpt.npz 接着训练
    tinygrad-zh sample --prompt 新年 --max-new-tokens 100 --temperature 0.8 --top-k 50
    tinygrad-zh doctor                                  # 检查 Python、NumPy、CuPy / GPU、matplotlib、中文字体
    tinygrad-zh lessons                                 # 列出课程

参数写错、文件不存在、检查点不对时打印一行中文错误并以退出码 2 结束；训练中按 Ctrl-C 会先保存检查点，
退出码 130。设环境变量 ``TINYGRAD_ZH_DEBUG=1`` 可看到完整的错误回溯 (traceback)。
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path

from . import __version__

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# argparse 自己的提示是英文的；常见的几句换成中文
_ARGPARSE_MESSAGES = [
    (r"^argument ([^:]+): invalid choice: (.*?) \(choose from (.*)\)$", r"参数 \1 的取值无效：\2（可选：\3）"),
    (r"^argument ([^:]+): expected one argument$", r"参数 \1 后面需要一个值"),
    (r"^argument ([^:]+): not allowed with argument (.*)$", r"参数 \1 不能与 \2 同时使用"),
    (r"^argument ([^:]+): (.*)$", r"参数 \1：\2"),
    (r"^unrecognized arguments: (.*)$", r"无法识别的参数：\1"),
    (r"^the following arguments are required: (.*)$", r"缺少必需的参数：\1"),
]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix="用法：" if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """中文的帮助与错误：错误只打印一行（不打印用法），退出码 2。"""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", help="显示帮助并退出")

    def error(self, message):
        for pattern, replacement in _ARGPARSE_MESSAGES:
            if re.match(pattern, message):
                message = re.sub(pattern, replacement, message)
                break
        self.exit(EXIT_USAGE, f"{self.prog}：错误：{message}。提示：{self.prog} --help 查看用法。\n")


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应是整数，得到 {text!r}") from None


def _float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应是数，得到 {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"应是有限的数，得到 {text!r}")
    return value


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
    ("--data", "data", str, "训练用的 UTF-8 文本文件（默认：内置的人民日报 1998-01 语料）"),
    ("--out-dir", "out_dir", str, "检查点与损失曲线的目录"),
]


def _build_parser():
    from .training import CHECKPOINT_NAME, CPU_CONFIG
    parser = _Parser(prog="tinygrad-zh", description="tinygrad_zh：用中文讲解的教学用深度学习框架。"
                     "在中文语料上训练字符级 GPT 并从中采样。")
    parser.add_argument("--version", action="version", version=f"tinygrad_zh {__version__}",
                        help="显示版本并退出")
    sub = parser.add_subparsers(dest="command", title="子命令", metavar="命令", parser_class=_Parser)

    p = sub.add_parser("train", help="训练字符级 GPT", description=(
        "训练字符级 GPT（默认：人民日报 1998-01 语料，90/10 划分，默认 CPU 配置 4 层 4 头 128 维）。\n"
        "配置的优先级：命令行参数 > --config 或 --preset > 默认配置；--resume 且没给 --config / --preset 时以检查点里的配置为底。\n"
        "每次评估后保存检查点 OUT_DIR/ckpt.npz 与损失曲线 OUT_DIR/loss.png；Ctrl-C 先保存再退出。"))
    source = p.add_mutually_exclusive_group()
    source.add_argument("--config", metavar="FILE.json", help="JSON 配置文件（键与 TrainConfig 的字段同名）")
    source.add_argument("--preset", choices=["cpu", "gpu"], help="预设配置：cpu（默认）或 gpu（第 18 课，6 层 384 维）")
    for flag, name, kind, text in _TRAIN_FLAGS:
        metavar = {"data": "FILE.txt", "out_dir": "DIR"}.get(name, "N" if kind is _int else "X")
        p.add_argument(flag, dest=name, type=kind, default=None, metavar=metavar, help=text)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="设备：auto（有 GPU 用 GPU）、cpu、cuda；默认 auto")
    p.add_argument("--resume", action="store_true", help="从 OUT_DIR/ckpt.npz 接着训练（逐位一致）")
    p.add_argument("--no-progress", action="store_true", help="不显示进度条（日志、CI 用）")

    default_ckpt = os.path.join(CPU_CONFIG.out_dir, CHECKPOINT_NAME)
    p = sub.add_parser("sample", help="从训练好的模型采样生成文字", description=(
        "从检查点加载 GPT，接着提示 (prompt) 往下写。温度 → top-k → top-p 依次作用于下一个字的分布。"))
    p.add_argument("--checkpoint", default=default_ckpt, metavar="FILE", help=f"检查点文件（默认 {default_ckpt}）")
    p.add_argument("--prompt", default="", help="提示文字（默认为空：从段落开头写起）")
    p.add_argument("--max-new-tokens", type=_int, default=100, metavar="N", help="生成多少个字（默认 100）")
    p.add_argument("--temperature", type=_float, default=0.8, metavar="T", help="温度，0 = 贪心解码（默认 0.8）")
    p.add_argument("--top-k", type=_int, default=None, metavar="K", help="只在最可能的 K 个字里采样（默认不限）")
    p.add_argument("--top-p", type=_float, default=None, metavar="P",
                   help="核采样 (top-p)：只保留累计概率达到 P 的最可能的字（默认不限）")
    p.add_argument("--seed", type=_int, default=1337, help="随机种子（相同参数与种子给出相同结果；默认 1337）")
    p.add_argument("--num-samples", type=_int, default=1, metavar="N", help="生成几段（默认 1）")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="设备（默认 auto）")

    sub.add_parser("doctor", help="检查运行环境", description="检查 Python、NumPy、CuPy / GPU、matplotlib 与中文字体。")
    sub.add_parser("lessons", help="列出课程", description="列出 lessons/ 目录里的课程脚本及其标题。")
    return parser


# ---------------------------------------------------------------------------- 子命令

def _cmd_train(args):
    from .training import CHECKPOINT_NAME, CPU_CONFIG, TrainConfig, checkpoint_config, preset, train
    overrides = {name: getattr(args, name) for _, name, _, _ in _TRAIN_FLAGS if getattr(args, name) is not None}
    if args.device is not None:
        overrides["device"] = args.device
    if args.config:
        base = TrainConfig.from_json(args.config)
    elif args.preset:
        base = preset(args.preset)
    elif args.resume:
        base = checkpoint_config(os.path.join(overrides.get("out_dir", CPU_CONFIG.out_dir), CHECKPOINT_NAME))
    else:
        base = CPU_CONFIG
    config = TrainConfig.from_dict({**base.to_dict(), **overrides})
    print("训练配置：")
    width = max(len(k) for k in config.to_dict())
    for key, value in config.to_dict().items():
        print(f"  {key:<{width}} = {value}")
    try:
        result = train(config, resume=args.resume, progress=not args.no_progress)
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
    import tinygrad_zh as tg

    from .training import ConfigError, load_checkpoint
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
    idx = tg.tensor([ids] * args.num_samples, dtype=tg.int64, device=device)
    generator = tg.Generator().manual_seed(args.seed)
    out = model.generate(idx, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                         top_p=args.top_p, generator=generator)
    for i, row in enumerate(out.cpu().numpy()):  # 在 GPU 上生成时先搬回主机
        if args.num_samples > 1:
            print(f"---------- 样本 {i + 1} ----------")
        print(args.prompt + tokenizer.decode(row[len(ids):]))
    return 0


def _cmd_doctor(args):
    from .lesson import doctor
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
    from .serialization import CheckpointError
    from .training import ConfigError
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help、--version 与参数错误：argparse 已经打印过了
        return e.code if isinstance(e.code, int) else 0
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return _COMMANDS[args.command](args)
    except (ConfigError, CheckpointError, OSError, ImportError, ValueError, RuntimeError) as e:
        if os.environ.get("TINYGRAD_ZH_DEBUG"):
            raise
        message = str(e).strip().replace("\n", " ")
        print(f"tinygrad-zh {args.command}：错误：{message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
