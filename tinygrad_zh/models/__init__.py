"""现成的小模型：课程里搭过一遍之后，可以直接从这里拿来用。

- ``MLP``：多层感知机（第 07 课）；
- ``LeNet``：给 8×8 手写数字用的小卷积网络（第 11 课）；
- ``RNNLM``：字符级循环神经网络语言模型，RNN / LSTM / GRU 可选，带 ``generate``（第 13 课）；
- ``GPT`` / ``GPTConfig``：字符级 GPT，nanoGPT 的结构与参数名，带 ``generate`` 与键值缓存（第 15–18 课）；
- ``SentimentRNN``：嵌入 → LSTM / GRU → 最后一个有效时间步的隐状态 → 全连接，做情感二分类（第 13 课）。

例::

    >>> from tinygrad_zh.models import LeNet
    >>> LeNet()(tg.randn(2, 1, 8, 8)).shape
    (2, 10)
"""

from .cnn import LeNet
from .gpt import GPT, GPTConfig
from .mlp import MLP
from .rnn_lm import RNNLM
from .sentiment import SentimentRNN

__all__ = ["MLP", "LeNet", "RNNLM", "SentimentRNN", "GPT", "GPTConfig"]
