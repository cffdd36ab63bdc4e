"""What the device tests share: which backend runs them and how to find their tensors."""

from __future__ import annotations

import ember


def exact() -> bool:
    """Whether ``cuda`` is the device checker (NumPy underneath: results equal the CPU's bit
    for bit); on a real GPU the tests compare to a tolerance instead."""
    return isinstance(ember.cuda._backend(), ember.backend.checked.CheckedBackend)


def tensors(x) -> list:
    """The tensors in ``x`` (a tensor, or nested lists and tuples), in order."""
    if isinstance(x, ember.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in tensors(v)]
    return []
