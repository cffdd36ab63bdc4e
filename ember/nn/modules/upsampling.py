"""PyTorch's module path ``torch.nn.modules.upsampling`` for classes ember defines in
``pooling.py``: they are published (and pickled) under this name, so whole-model
checkpoints that name it unpickle (``ember.load(..., weights_only=False)``)."""

from __future__ import annotations

from .pooling import (  # noqa: F401 - re-exported under PyTorch's path
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)

__all__ = [
    "Upsample",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
