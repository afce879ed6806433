"""课堂任务的登记表：每个任务的编号、所属课程、标题、分值，以及它的测试检查什么。

任务编号写作 ``taskNN_K``（第 NN 课的第 K 个任务），同名的 pytest 标记 (marker) 选出它的测试：
``pytest -m task08_4``。源代码里 ``# BEGIN SOLUTION task08_4`` 与 ``# END SOLUTION`` 之间是参考实现，
生成学生版时换成一行抛出 ``NotImplementedError("任务 08.4：…")`` 的桩 (stub)。
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TASK_ID = re.compile(r"task(\d\d)_(\d+)")


@dataclass(frozen=True)
class Task:
    id: str          # "task08_4"
    title: str       # 一句话的标题
    checks: str      # 测试检查什么（教师手册与评分表都用它）
    points: int = 10

    @property
    def lesson(self) -> str:
        return TASK_ID.fullmatch(self.id).group(1)

    @property
    def label(self) -> str:
        """``"08.4"``：给人看的编号。"""
        lesson, number = TASK_ID.fullmatch(self.id).groups()
        return f"{lesson}.{number}"


TASKS = [
    Task("task01_1", "拓扑排序 (topological sort)：autograd/engine.py 的 toposort 与第 01 课的 topo_order",
         "输入在输出之前、每个节点只出现一次、只含需要梯度的张量；2000 个运算的长链不爆栈"),
    Task("task01_2", "反向传播的主循环：链式法则 (chain rule) 与梯度累加（engine.py 的 backward、第 01 课的 mini_backward）",
         "用测试里自带的 Function 搭图：y = x·x 与分叉图的梯度等于手算值（累加而不是覆盖）；.grad 跨两次 backward 累加；"
         "不保留计算图时释放保存的数组"),
    Task("task03_1", "广播的伴随：engine.py 的 sum_to_shape（unbroadcast）",
         "多种广播形状对（补前导维、长度 1 的维）的结果与 NumPy 的求和公式逐元素相等"),
    Task("task03_2", "自己写一个 Function：ops/elementwise.py 的 Div 前向与反向（商的求导法则）",
         "直接调用 forward / backward，与 float64 中心差分 (central difference) 比较；b 为负数与小数时也对"),
    Task("task05_1", "均方误差 (MSE) 的梯度：第 05 课的 mse_grad",
         "∂L/∂W、∂L/∂b 与 float64 中心差分一致，形状为 (1, D) 与 (1,)"),
    Task("task05_2", "训练循环：第 05 课 train 里一步的五行",
         "用记录调用顺序的替身模型、损失与优化器：每个小批量依次 zero_grad → 前向 → 损失 → backward → step"),
    Task("task06_1", "softmax 与交叉熵的前向：ops/nn.py 的 CrossEntropy（log-sum-exp）",
         "损失、保存的 softmax 概率与 NumPy 公式一致；logits 到 ±1000 仍有限；label_smoothing 时的 log Σ exp 也对"),
    Task("task06_2", "交叉熵的融合反向：(softmax − onehot) · 上游梯度",
         "直接调用 backward（ctx 由测试按约定构造），与公式和中心差分一致；reduction='none' 的逐行梯度、label_smoothing"),
    Task("task08_1", "SGD 动量法的更新规则：optim/sgd.py 的 sgd_update",
         "与测试里写的公式逐步比较（第一步缓冲取 g、dampening、nesterov、不用动量时不建缓冲）"),
    Task("task08_2", "AdaGrad 的更新规则：optim/adagrad.py 的 adagrad_update",
         "累加器 G ← G + g²，θ ← θ − γg/(√G + ε)，含 lr_decay，连续 3 步与公式一致"),
    Task("task08_3", "RMSprop 的更新规则：optim/rmsprop.py 的 rmsprop_update",
         "v ← αv + (1−α)g²，含 centered 与 momentum，连续 3 步与公式一致"),
    Task("task08_4", "Adam 的更新规则（含偏差修正 (bias correction)）：optim/adam.py 的 adam_update",
         "一阶矩、二阶矩、偏差修正与 amsgrad，连续 3 步与公式一致；第 1 步的步长约等于 lr"),
    Task("task08_5", "AdamW 的解耦权重衰减 (decoupled weight decay)：adam_update 里 decoupled 的一段",
         "梯度为 0 时参数正好乘 (1 − γλ)，m、v 保持为 0（与 Adam 的那一段无关）"),
    Task("task11_1", "im2col 卷积的前向：ops/conv.py 的 Conv2d.forward 与第 11 课的 conv2d_im2col",
         "与测试里的四重循环卷积比较（步幅、填充、空洞 (dilation)、偏置）；cols 的形状与布局符合约定"),
    Task("task11_2", "卷积的反向：Conv2d.backward（∂L/∂W = G colsᵀ，∂L/∂cols = Wᵀ G 再 col2im）",
         "直接调用 backward（ctx 由测试构造），∂L/∂X、∂L/∂W、∂L/∂b 与 float64 中心差分一致"),
    Task("task13_1", "LSTM 单元的一步：nn/rnn.py 的 _lstm_step",
         "门的顺序 i, f, g, o 与 NumPy 公式逐元素一致，返回 (h, c)"),
    Task("task14_1", "注意力的反向：ops/attention.py 的 ScaledDotProductAttention.backward",
         "∂L/∂Q、∂L/∂K、∂L/∂V、∂L/∂M 与 float64 中心差分一致；带掩码、带 dropout 乘子、L ≠ S"),
    Task("task16_1", "top-k 过滤：sampling.py 的 filter_logits（top_k）与第 16 课的 top_k_np",
         "恰好留下最大的 k 个（并列的一起留下）；k 超过词表大小时全留；批量的每一行各自过滤"),
    Task("task16_2", "top-p（核采样 (nucleus sampling)）过滤：filter_logits（top_p）",
         "留下累计概率达到 p 的最小集合，至少一个；0.5 + 0.3 达到 0.8 这类浮点边界"),
]

BY_ID = {t.id: t for t in TASKS}


def lesson_key(lesson) -> str:
    """``8``、``"08"``、``"08a"`` → ``"08"``：任务按课程编号的数字部分归组（08a、08b 共用 task08_*）。"""
    m = re.fullmatch(r"(\d{1,2})[a-z]?", str(lesson).strip())
    if not m:
        raise ValueError(f"课程编号应为两位数字（如 08 或 08a），得到 {lesson!r}。")
    return f"{int(m.group(1)):02d}"


def tasks_for(lesson) -> list[Task]:
    """第 ``lesson`` 课的任务；``"all"`` 表示全部。"""
    if str(lesson).strip().lower() == "all":
        return list(TASKS)
    key = lesson_key(lesson)
    return [t for t in TASKS if t.lesson == key]


def stub_message(task: Task, where: str) -> str:
    """学生版里桩抛出的 NotImplementedError 的信息。"""
    return (f"任务 {task.label}：{task.title}——还没有实现 (NotImplementedError)。"
            f"请补全 {where} 里这一段，然后运行 tinygrad-zh grade {task.lesson} 检查。")
