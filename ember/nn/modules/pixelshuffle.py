"""PyTorch's module path ``torch.nn.modules.pixelshuffle`` for classes ember defines in
``flatten.py``: they are published (and pickled) under this name, so whole-model
checkpoints that name it unpickle (``ember.load(..., weights_only=False)``)."""

from __future__ import annotations

from .flatten import (  # noqa: F401 - re-exported under PyTorch's path
    PixelShuffle,
    PixelUnshuffle,
)

__all__ = [
    "PixelShuffle",
    "PixelUnshuffle",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
