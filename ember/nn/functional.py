"""``ember.nn.functional``: the functional neural-network API (PyTorch's ``torch.nn.functional``).

Contract: the same names, signatures and defaults as PyTorch; the ops live in ``ember.ops``.
"""

from __future__ import annotations

from ..ops import pointwise as _pw
from ..ops.inplace import apply_inplace as _apply_inplace
from ..ops.nn import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    linear,
    log_softmax,
    mse_loss,
    nll_loss,
    softmax,
)

__all__ = ["relu", "relu_", "softmax", "log_softmax", "cross_entropy", "nll_loss",
           "binary_cross_entropy_with_logits", "mse_loss", "linear", "sigmoid", "tanh"]


def relu(input, inplace=False):
    """``max(input, 0)``; ``inplace=True`` writes into ``input``."""
    if inplace:
        return _apply_inplace(input, _pw.relu)
    return _pw.relu(input)


def relu_(input):
    return _apply_inplace(input, _pw.relu)


sigmoid = _pw.sigmoid
tanh = _pw.tanh
