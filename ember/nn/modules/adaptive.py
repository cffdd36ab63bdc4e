"""PyTorch's module path ``torch.nn.modules.adaptive`` for classes ember defines in
``loss.py``: they are published (and pickled) under this name, so whole-model
checkpoints that name it unpickle (``ember.load(..., weights_only=False)``)."""

from __future__ import annotations

from .loss import (  # noqa: F401 - re-exported under PyTorch's path
    AdaptiveLogSoftmaxWithLoss,
)

__all__ = [
    "AdaptiveLogSoftmaxWithLoss",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
