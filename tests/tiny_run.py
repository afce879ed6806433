"""训练与命令行测试共用的小语料与小模型参数（几秒钟就能训完）。"""

import os

POEM = ("春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。\n"
        "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_corpus(tmp_path):
    """600 字的语料文件（训练 540 / 验证 60），返回路径。"""
    path = tmp_path / "poem.txt"
    path.write_text(POEM * 12, encoding="utf-8")
    return str(path)


def tiny_args(corpus, out_dir, *extra):
    """``tinygrad-zh train`` 训练一个 1 层、32 维的小 GPT 20 步的参数。"""
    return ["train", "--data", corpus, "--out-dir", str(out_dir), "--n-layer", "1", "--n-head", "2", "--n-embd", "32",
            "--block-size", "16", "--batch-size", "8", "--max-steps", "20", "--warmup-steps", "2", "--lr", "0.01",
            "--eval-interval", "10", "--eval-batches", "2", "--device", "cpu", "--no-progress", *extra]
