"""LeNet 风格的小卷积神经网络，给 8×8 手写数字用（第 11 课）。"""

from __future__ import annotations

from .. import nn


class LeNet(nn.Module):
    """LeNet 风格的卷积网络：卷积 → ReLU → 最大汇聚 → 卷积 → ReLU → 展平 → 全连接 → ReLU → 全连接。

    LeNet-5（LeCun 等，1998）在 32×32 的图上用 5×5 卷积核；8×8 的小图上换成 3×3 卷积核、``padding=1``
    （卷积不改变高宽），只汇聚一次（8×8 → 4×4），于是::

        (N, 1, 8, 8) ─conv1→ (N, c1, 8, 8) ─pool→ (N, c1, 4, 4) ─conv2→ (N, c2, 4, 4)
                     ─flatten→ (N, c2·16) ─fc1→ (N, hidden) ─fc2→ (N, num_classes)

    参数:
        num_classes: 类别数（输出 logits 的个数）。
        in_channels: 输入通道数（灰度图为 1）。
        channels: 两个卷积层的输出通道数 ``(c1, c2)``。
        hidden: 全连接隐藏层的宽度。
        image_size: 输入图像的边长（须为偶数）。
    形状:
        输入 ``(N, in_channels, image_size, image_size)`` → 输出 logits ``(N, num_classes)``。

    例::

        >>> model = LeNet()
        >>> model(tg.randn(4, 1, 8, 8)).shape
        (4, 10)
        >>> maps = model.feature_maps(tg.randn(4, 1, 8, 8))
        >>> maps["conv1"].shape, maps["conv2"].shape
        ((4, 16, 8, 8), (4, 32, 4, 4))
    """

    def __init__(self, num_classes=10, in_channels=1, channels=(16, 32), hidden=64, image_size=8):
        super().__init__()
        if image_size % 2:
            raise ValueError(f"LeNet 的 image_size 须为偶数（要做一次 2×2 汇聚），得到 {image_size}。")
        c1, c2 = channels
        self.conv1 = nn.Conv2d(in_channels, c1, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(c2 * (image_size // 2) ** 2, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def feature_maps(self, x):
        """返回中间结果（字典）：``conv1`` / ``pool`` / ``conv2`` 是经过 ReLU 之后的特征图 (feature map)，
        ``logits`` 是输出。画特征图、检查形状时用。"""
        out = {}
        x = out["conv1"] = self.conv1(x).relu()
        x = out["pool"] = self.pool(x)
        x = out["conv2"] = self.conv2(x).relu()
        out["logits"] = self.fc2(self.fc1(self.flatten(x)).relu())
        return out

    def forward(self, x):
        x = self.pool(self.conv1(x).relu())
        x = self.conv2(x).relu()
        return self.fc2(self.fc1(self.flatten(x)).relu())
