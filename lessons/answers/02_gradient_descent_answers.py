# %% [markdown]
# # 第 02 课 ★ 练习答案
#
# 运行方式：`python lessons/answers/02_gradient_descent_answers.py [--quick] [--device cuda]`

# %%
from pathlib import Path

import tinygrad_zh as tg
from tinygrad_zh.lesson import load_definitions, run_lesson


def load_lesson():
    """取第 02 课里定义的函数（只执行课程文件的 import 与 def，不运行课程本身）。"""
    return load_definitions(Path(__file__).resolve().parent.parent / "02_gradient_descent.py")


# %% [markdown]
# ## 练习 1 ★：α = 0.5 与 α = 1
#
# 第 2 步的公式 $x_{t+1} - 2 = (1 - 2\alpha)(x_t - 2)$：
#
# - $\alpha = 0.5$：$1 - 2\alpha = 0$，不论起点在哪，$x_1 = 2$，一步到位；
# - $\alpha = 1$：$1 - 2\alpha = -1$，$x_{t+1} - 2 = -(x_t - 2)$，即 $x_{t+1} = 4 - x_t$。
#   迭代在 $x_0$ 和 $4 - x_0$ 之间永远来回跳：既不收敛，也不发散，正好处在稳定的边界 $\alpha = 2/f'' = 1$ 上。


# %%
def exercise1(device):
    lesson = load_lesson()
    starts = [-7.0, -1.0, 0.0, 5.0, 100.0]
    out = {}
    print("练习 1：f(x) = (x − 2)²")
    for lr in (0.5, 1.0):
        x = tg.tensor(starts, device=device, requires_grad=True)
        path = [x.detach().tolist()]
        for _ in range(4):
            ((x - 2) ** 2).sum().backward()
            lesson.gd_step(x, lr)
            path.append(x.detach().tolist())
        print(f"  α = {lr}：")
        for i, s in enumerate(starts):
            print(f"    起点 {s:6.1f}：" + " → ".join(f"{p[i]:g}" for p in path))
        out[f"lr{lr}_x1"] = path[1]
    return out


# %% [markdown]
# ## 练习 2 ★：Rosenbrock 上 α = 0.003
#
# 它属于“太大”：沿山谷前进一段后，在山谷两壁之间来回振荡，停在横跨山谷方向的曲率约为 $2/\alpha \approx 667$ 的地方，
# 损失停在约 0.33，而 $\alpha = 0.002$ 能把损失降到 $10^{-4}$ 以下。最后两步的坐标交替出现，就是振荡的证据。


# %%
def exercise2(device, quick):
    lesson = load_lesson()
    n_steps = 300 if quick else 5000
    r = lesson.run_gd_2d(lesson.rosenbrock, (-1.2, 1.0), 0.003, n_steps, device)
    with tg.no_grad():
        final_loss = lesson.rosenbrock(tg.tensor(r["path"][-1], device=device)).item()
    a, b, c = r["path"][-3:]
    print(f"练习 2：Rosenbrock，α = 0.003，{n_steps} 步")
    print(f"  最后三个点：({a[0]:.4f}, {a[1]:.4f})，({b[0]:.4f}, {b[1]:.4f})，({c[0]:.4f}, {c[1]:.4f})")
    print(f"  J = {final_loss:.4f}，发散：{r['diverged_at'] is not None}")
    return {"rosen_lr0.003_final": c, "rosen_lr0.003_loss": final_loss}


# %%
def main(quick=False, device="cpu"):
    results = {}
    results.update(exercise1(device))
    results.update(exercise2(device, quick))
    return results


if __name__ == "__main__":
    run_lesson(main)
