"""课堂套件 (classroom kit)：学生自己写出框架的关键部分，自动评分告诉他哪一块错了、错在哪。

- ``tasks.py``：任务登记表（``task08_4`` = 第 08 课第 4 个任务：Adam 的更新规则）；
- ``regions.py``：源代码里的答案区 ``# BEGIN SOLUTION taskNN_K`` … ``# END SOLUTION``；
- ``edition.py``：生成学生版（``tinygrad-zh student-edition OUT_DIR``）；
- ``grading.py``：评分（``tinygrad-zh grade 08``），中文结果表与 Gradescope 的 results.json；
- ``plugin.py``：任务测试的 pytest 插件（每个测试的时间上限、逐个记录结果）；
- ``checks.py``、``lesson_code.py``：任务测试用的比较、数值梯度，与从课程脚本里取出一个函数。

教师手册见 docs/classroom/。
"""

from .tasks import TASKS, Task, tasks_for

__all__ = ["TASKS", "Task", "tasks_for"]
