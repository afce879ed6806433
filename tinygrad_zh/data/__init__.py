"""数据：数据集、数据加载器、字符级分词器、课程用数据集。

    >>> from tinygrad_zh.data import DataLoader, TensorDataset, make_spiral
    >>> X, y = make_spiral()                      # NumPy 数组
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    >>> for xb, yb in loader:                     # 每批是张量：(32, 2) 与 (32,)
    ...     ...
"""

from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split
from .datasets import (load_digits, load_people_daily, load_sentiment, load_text, make_moons, make_regression,
                       make_spiral, strip_pos_tags)
from .sampler import DistributedSampler
from .tokenizer import CharTokenizer

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate", "CharTokenizer",
           "DistributedSampler",
           "make_spiral", "make_moons", "make_regression", "load_digits", "load_people_daily", "load_sentiment",
           "load_text", "strip_pos_tags"]
