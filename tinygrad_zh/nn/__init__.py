"""``tinygrad_zh.nn``：神经网络的积木（惯例写作 ``nn``）。

- 模块系统：``Module``、``Parameter``，容器 ``Sequential`` / ``ModuleList`` / ``ModuleDict``；
- 层：``Linear``、``Embedding``、``LayerNorm``、``Dropout``、``Identity``、``Flatten``；
- 激活函数：``ReLU``、``LeakyReLU``、``Sigmoid``、``LogSigmoid``、``Tanh``、``GELU``、``Softmax``；
- 卷积网络：``Conv2d``、``MaxPool2d``、``AvgPool2d``、``BatchNorm1d``、``BatchNorm2d``；
- 循环网络：``RNN``、``LSTM``、``GRU`` 与 ``RNNCell``、``LSTMCell``、``GRUCell``；
- 损失函数：``MSELoss``、``L1Loss``、``CrossEntropyLoss``、``NLLLoss``、``BCELoss``、``BCEWithLogitsLoss``；
- 子模块：``functional``（函数形式，惯例写作 ``F``）、``init``（初始化）、``utils``（梯度裁剪）。

文件名与 PyTorch 的 ``torch/nn/modules/`` 相同：linear（Linear、Identity、Flatten）、sparse（Embedding）、
dropout、normalization（LayerNorm、BatchNorm）、conv、pooling、activation、loss、rnn（整层与单元）、container；
所有 ``F.*`` 函数与它们的参数检查都在 functional.py。

与 PyTorch 相同的写法::

    import tinygrad_zh.nn as nn
    import tinygrad_zh.nn.functional as F

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    loss = nn.CrossEntropyLoss()(model(x), y)
"""

from . import functional, init, utils
from .activation import GELU, LeakyReLU, LogSigmoid, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import AvgPool2d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Embedding", "LayerNorm", "Dropout", "Identity", "Flatten",
    "ReLU", "LeakyReLU", "Sigmoid", "LogSigmoid", "Tanh", "GELU", "Softmax",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d",
    "RNN", "LSTM", "GRU", "RNNBase", "RNNCell", "LSTMCell", "GRUCell", "RNNCellBase",
    "functional", "init", "utils",
]
