"""运算 (ops)：每个可微运算是一个 ``Function`` 子类，前向与手推的反向写在一起。

命名：Function 的类名是它实现的 PyTorch 函数名的 PascalCase，缩写也当普通单词写（``gelu`` → ``Gelu``，
``matmul`` → ``Matmul``，``binary_cross_entropy_with_logits`` → ``BinaryCrossEntropyWithLogits``），
PyTorch 里没有对应函数的按它做的事命名（``Cast``、``ToDevice``）。

文件：elementwise 按元素的算术 · reduce 归约、Max / Min 与 softmax 一族 · movement 改形状、转置、索引、拼接、换设备 ·
matmul 矩阵乘法 · nn 激活函数、全连接 Linear 与损失 · norm LayerNorm 与 BatchNorm · conv 卷积与汇聚 · attention 缩放点积注意力。
"""
