"""PyTorch's module path ``torch.nn.modules.batchnorm`` for classes ember defines in
``normalization.py``: they are published (and pickled) under this name, so whole-model
checkpoints that name it unpickle (``ember.load(..., weights_only=False)``)."""

from __future__ import annotations

from .normalization import (  # noqa: F401 - re-exported under PyTorch's path
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    SyncBatchNorm,
)

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "SyncBatchNorm",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
