"""``warn_once``: a warning PyTorch gives once per process (its ``TORCH_WARN_ONCE``).

Python's own "default" filter shows a warning once per call site; PyTorch's once-warnings are
once per process whatever the call site, and stay quiet under ``simplefilter("always")`` too,
so ember keeps its own record of which it has given.
"""

from __future__ import annotations

import warnings

__all__ = ["warn_once"]

GIVEN: dict = {}  # key -> message, of the once-warnings given so far


def warn_once(message: str, stacklevel: int = 2, key: str | None = None) -> None:
    """Warn ``message`` (a UserWarning) the first time only; ``key`` defaults to the text."""
    key = message if key is None else key
    if key not in GIVEN:
        GIVEN[key] = message
        warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)
