"""版本号（setup.cfg 从这里读取）。"""

__version__ = "0.1.0"
