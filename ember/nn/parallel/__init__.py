"""``ember.nn.parallel``: ``DataParallel``, which on a machine without GPUs (always, for ember)
runs the wrapped module as it is, as PyTorch does."""

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
