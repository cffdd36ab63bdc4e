"""``ember.utils``: utilities around the engine (``checkpoint``, ``data``, ``_pytree``)."""

from __future__ import annotations

from . import _pytree, checkpoint, data  # noqa: F401  (_pytree: PyTorch's private path)

__all__ = ["checkpoint", "data"]
