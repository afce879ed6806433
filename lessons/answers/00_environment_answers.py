# %% [markdown]
# # 第 00 课 ★ 练习答案
#
# 运行方式：`python lessons/answers/00_environment_answers.py [--device cuda]`

# %%
import numpy as np

import tinygrad_zh as tg
from tinygrad_zh.lesson import run_lesson

# %% [markdown]
# ## 练习 1 ★：种子 42 与独立生成器
#
# 两次 `tg.manual_seed(42); tg.randn(3)` 给出相同的数。`tg.Generator().manual_seed(42)` 给出的数也**一样**：
# 全局生成器和新建的生成器底层都是 `numpy.random.default_rng(42)`，同一个种子产生同一串随机数。
# 区别在于：从独立生成器里取数不会推进全局生成器的状态，所以不会改变后面 `tg.randn` 的结果。


# %%
def exercise1(device):
    tg.manual_seed(42)
    a = tg.randn(3, device=device)
    tg.manual_seed(42)
    b = tg.randn(3, device=device)
    g = tg.Generator().manual_seed(42)
    c = tg.randn(3, generator=g, device=device)
    print("练习 1：")
    print(f"  全局种子 42 第一次：{[round(v, 4) for v in a.tolist()]}")
    print(f"  全局种子 42 第二次：{[round(v, 4) for v in b.tolist()]}  相同：{bool((a == b).all())}")
    print(f"  Generator(42)：     {[round(v, 4) for v in c.tolist()]}  与全局种子相同：{bool((a == c).all())}")
    return {"seed42": [round(v, 4) for v in a.tolist()], "generator_same": bool((a == c).all())}


# %% [markdown]
# ## 练习 2 ★：预测 dtype
#
# | 表达式 | dtype | 原因 |
# |---|---|---|
# | `tg.tensor(np.arange(3))` | int64 | NumPy 数组保持自己的 dtype（`np.arange` 的整数是 int64） |
# | `tg.tensor(np.arange(3)) / 2` | float32 | 整数相除得到浮点数，用默认浮点类型 float32 |
# | `tg.tensor([1.0]) + tg.tensor(np.ones(1))` | float64 | float32 与 float64 相遇，提升为 float64 |
# | `tg.tensor(np.ones(1, dtype=np.float32)) * 3` | float32 | Python 数字不改变张量的 dtype |


# %%
def exercise2(device):
    cases = {
        "tg.tensor(np.arange(3))": tg.tensor(np.arange(3), device=device),
        "tg.tensor(np.arange(3)) / 2": tg.tensor(np.arange(3), device=device) / 2,
        "tg.tensor([1.0]) + tg.tensor(np.ones(1))":
            tg.tensor([1.0], device=device) + tg.tensor(np.ones(1), device=device),
        "tg.tensor(np.ones(1, dtype=np.float32)) * 3": tg.tensor(np.ones(1, dtype=np.float32), device=device) * 3,
    }
    print("练习 2：")
    for text, t in cases.items():
        print(f"  {text:<46} → {t.dtype}")
    return {"dtypes": [str(t.dtype) for t in cases.values()]}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device))
    return results


if __name__ == "__main__":
    run_lesson(main)
