"""``torch._utils`` as far as checkpoints and scripts name it.

Contract: the tensor and parameter rebuild functions a PyTorch pickle names
(``torch._utils._rebuild_tensor_v2``, ``_rebuild_parameter``...) exist here under PyTorch's
names, so ``import torch._utils`` works under ``ember run`` and a pickle naming them resolves to
ember's. They are the functions ember's checkpoint reader calls (``ember/_pickle_safe.py``):
the tensor rebuilds take the storages that reader makes; ``_rebuild_parameter`` takes any
tensor. The rebuilds of tensor kinds ember lacks (quantized, sparse, nested, meta, wrapper
subclasses) raise ``UnsupportedCheckpointError``. ``is_compiling()`` is False (nothing compiles).
"""

from __future__ import annotations

from ._pickle_safe import _CALLABLES
from ._pickle_safe import rebuild_parameter as _rebuild_parameter
from ._pickle_safe import rebuild_parameter_with_state as _rebuild_parameter_with_state
from ._pickle_safe import rebuild_tensor as _rebuild_tensor
from ._pickle_safe import rebuild_tensor_v2 as _rebuild_tensor_v2
from ._pickle_safe import rebuild_tensor_v3 as _rebuild_tensor_v3

__all__ = ["_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
           "_rebuild_parameter_with_state", "is_compiling"]

# the rebuilds of tensor kinds ember does not implement: each raises naming itself
for _full, _handler in _CALLABLES.items():
    _module, _, _name = _full.rpartition(".")
    if _module == "torch._utils" and _name not in globals():
        globals()[_name] = _handler
del _full, _handler, _module, _name


def is_compiling() -> bool:
    return False
