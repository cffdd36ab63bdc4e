"""PyTorch's module path ``torch.nn.modules.padding`` for classes ember defines in
``conv.py``: they are published (and pickled) under this name, so whole-model
checkpoints that name it unpickle (``ember.load(..., weights_only=False)``)."""

from __future__ import annotations

from .conv import (  # noqa: F401 - re-exported under PyTorch's path
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
