"""``python -m tinygrad_zh``：与 ``tinygrad-zh`` 命令相同（见 ``tinygrad_zh/cli.py``）。"""

import sys

from .cli import main

sys.exit(main())
