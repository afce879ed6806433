# %% [markdown]
# # 第 19 课 练习答案：数据并行
#
# 运行方式：`python lessons/answers/19_data_parallel_answers.py [--quick]`（在仓库根目录，几秒）。
# 三道题都在一个进程里完成：“几个进程”用几个同样初值的模型副本模拟，每个副本只看自己那一份数据，
# 梯度的 all-reduce 就是把几个数组加起来再除以进程数——与第 2、3 步相同。

# %%
from pathlib import Path

import numpy as np

import tinygrad_zh as tg
import tinygrad_zh.nn as nn
import tinygrad_zh.nn.functional as F
from tinygrad_zh.lesson import load_definitions, run_lesson


def load_lesson():
    """第 19 课里的 tiny_gpt、token_batch：只执行课程文件的 import、def 与常量，不运行课程本身。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "19_data_parallel.py")


def grads_of(model):
    return [p.grad.data.copy() for p in model.parameters()]


def max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


# %% [markdown]
# ## 练习 1 ★：梯度累积还是更多进程
#
# 相同。一个进程把批量 8 分成 4 个小批量、每个的损失乘以 1/4 再反向传播，`.grad` 累加出
# $\frac14\sum_k \nabla L_k$；4 个进程各算 2 个序列再 all-reduce 求均值，也是 $\frac14\sum_r \nabla L_r$——
# 同样的 4 份数据、同样的公式。差别在代价：梯度累积只用一个进程、一份内存，省了硬件但时间是 4 倍；
# 4 个进程用 4 倍的硬件（每个进程一整份模型与 Adam 状态），时间约为 1/4，外加每步一次通信。
# 两者常常一起用：进程数受 GPU 数限制，有效批量还不够大时，每个进程再累积几个小批量
# （`DistributedDataParallel.no_sync()` 让前几次反向传播不通信，最后一次一起平均）。

# %%
def exercise1(lesson):
    print("练习 1：梯度累积 vs 更多进程")
    x, y = lesson.token_batch(8, seed=1)
    acc = lesson.tiny_gpt(0)
    for k in range(4):                                  # 一个进程：4 个小批量，损失各乘 1/4
        (acc(x[2 * k:2 * k + 2], y[2 * k:2 * k + 2])[1] * 0.25).backward()
    ranks = []
    for r in range(4):                                  # 4 个“进程”各算 2 个序列
        m = lesson.tiny_gpt(0)
        m(x[2 * r:2 * r + 2], y[2 * r:2 * r + 2])[1].backward()
        ranks.append(grads_of(m))
    averaged = [sum(gs) / 4 for gs in zip(*ranks)]      # all-reduce 求均值
    diff = max_diff(grads_of(acc), averaged)
    assert diff < 1e-13
    print(f"  梯度累积与 4 个进程平均的梯度最大差 {diff:.1e}：相同")
    return {"accumulate_vs_ranks": diff}


# %% [markdown]
# ## 练习 2 ★：BatchNorm 会出什么问题
#
# 训练模式的 BatchNorm 用**本批**的均值与方差规范化，每个样本的输出依赖同批的其他样本。两个进程各用自己那半批的统计量，
# 损失就不再是“每个样本的损失的平均”，平均后的梯度与整批的梯度不同（下面的数字差在 0.1 量级）。
# 修正的办法是 **SyncBatchNorm**：前向时先对每个特征的 $\sum x$、$\sum x^2$ 与样本数做 all-reduce，
# 所有进程用整批的均值与方差；反向时对应的两个和也要 all-reduce。下面在一个进程里模拟它：
# 两半用整批的统计量规范化（规范化用的均值、方差当作常数传进来，梯度经过它们的那一部分用整批一起算），
# 梯度又与整批相同了。实践中，Transformer 用 LayerNorm（每个样本自己规范化）就没有这个问题。

# %%
class TinyBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.bn, self.fc2 = nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


def synced_bn_forward(model, x, mean, var):
    """用给定的（整批的）均值与方差做 BatchNorm：SyncBatchNorm 的前向。mean、var 是张量，梯度也经过它们。"""
    h = model.fc1(x)
    h = (h - mean) / (var + model.bn.eps).sqrt() * model.bn.weight + model.bn.bias
    return model.fc2(F.relu(h))


def exercise2():
    print("练习 2：BatchNorm 与数据并行")
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((8, 4)))
    y = tg.tensor(rng.integers(0, 3, 8))

    def fresh():
        tg.manual_seed(0)
        return TinyBN().double()

    full = fresh()
    F.cross_entropy(full(x), y).backward()
    halves = []
    for r in range(2):                                  # 每个“进程”用自己那半批的统计量
        m = fresh()
        F.cross_entropy(m(x[4 * r:4 * r + 4]), y[4 * r:4 * r + 4]).backward()
        halves.append(grads_of(m))
    plain = max_diff(grads_of(full), [(a + b) / 2 for a, b in zip(*halves)])
    # SyncBatchNorm：统计量来自整批（all-reduce 的 Σx 与 Σx²）。这里两半在同一个图里，梯度经过整批的统计量
    m = fresh()
    h = m.fc1(x)
    mean = h.mean(dim=0)
    var = ((h - mean) ** 2).mean(dim=0)
    losses = [F.cross_entropy(synced_bn_forward(m, x[4 * r:4 * r + 4], mean, var), y[4 * r:4 * r + 4])
              for r in range(2)]
    ((losses[0] + losses[1]) / 2).backward()            # 两个进程的损失取平均 = all-reduce 梯度求均值
    synced = max_diff(grads_of(full), grads_of(m))
    assert plain > 1e-3 and synced < 1e-12
    print(f"  各用半批统计量：平均梯度与整批梯度最大差 {plain:.1e}；同步统计量 (SyncBatchNorm)：{synced:.1e}")
    return {"bn_plain_diff": plain, "bn_synced_diff": synced}


# %% [markdown]
# ## 练习 3 ★★：什么时候通信成为瓶颈
#
# GPU 配置的梯度 $M \approx 50.2$ MB。8 块 GPU 的环形 all-reduce 每块发送 $2 \cdot 7/8 \cdot M \approx 87.8$ MB，
# PCIe 10 GB/s 上约 8.8 ms，是 0.2 秒计算的约 4%——可以忽略，而且 NCCL 让它与反向传播重叠。
# 每个进程的批量从 64 降到 4，计算时间按批量缩小为约 12.5 ms，通信时间不变（梯度大小与批量无关），
# 通信时间就超过计算的一半（约 70%）：进程越多、每个进程的批量越小，通信越显眼——这是数据并行的扩展极限，
# 也是大模型训练要把全局批量做大、再用梯度累积的原因。

# %%
def exercise3():
    print("练习 3：通信与计算的比例")
    M = 12_546_432 * 4
    comm = 2 * 7 / 8 * M / 10e9
    rows = {}
    for batch, compute in ((64, 0.2), (4, 0.2 * 4 / 64)):
        rows[batch] = comm / compute
        print(f"  每个进程批量 {batch:>2}：计算约 {compute * 1000:6.1f} ms，通信约 {comm * 1000:.1f} ms，"
              f"通信是计算的 {rows[batch]:.0%}")
    assert rows[4] > 10 * rows[64]
    return {"comm_ratio": rows}


# %%
def main(quick=False, device="cpu"):
    lesson = load_lesson()
    results = {}
    results.update(exercise1(lesson))
    results.update(exercise2())
    results.update(exercise3())
    return results


if __name__ == "__main__":
    run_lesson(main)
