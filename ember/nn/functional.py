"""``ember.nn.functional``: the functional neural-network API (PyTorch's
``torch.nn.functional``).

Contract: the same names, signatures and defaults as PyTorch. The ops live in ``ember.ops``;
each family module lists in ``FUNCTIONAL`` the names it contributes here, so a new op appears
in this namespace by being listed beside its definition.
"""

from __future__ import annotations

import sys as _sys

from .. import _records
from ..ops import (
    activation,
    attention,
    conv,
    distance,
    loss,
    loss_regression,
    nn,
    normalization,
    pooling,
    resize,
    sampling,
)
from ..ops import unary as _unary
from ..ops._registry import publish_module as _publish
from ..ops.inplace import apply_inplace as _apply_inplace

__all__ = ["relu", "relu_", "sigmoid", "tanh"]

for _module in (activation, attention, conv, distance, loss, loss_regression, nn, normalization,
                pooling, resize, sampling):
    for _name in _module.FUNCTIONAL:
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)


def relu(input, inplace=False):
    """``max(input, 0)``; ``inplace=True`` writes into ``input``."""
    if inplace:
        return _apply_inplace(input, _unary.relu)
    return _unary.relu(input)


def relu_(input):
    return _apply_inplace(input, _unary.relu)


sigmoid = _unary.sigmoid
tanh = _unary.tanh

# NOTE: published checked (ops/_checks.py: a wrong-typed argument raises PyTorch's TypeError)
# and declared: their op records (NOTE [op records] in ember/_records.py).
_publish(globals(), __all__, "F")
# F.relu takes ``inplace``: its own op, batched elementwise like torch.relu
_records.of(relu).batch = "elementwise"
_records.of(relu_).batch = "inplace"
_records.install("F", _sys.modules[__name__])  # NOTE [one call path] in ember/_modes.py
