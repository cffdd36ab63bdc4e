"""``ember.utils``: utilities around the engine (``checkpoint``, ``data``)."""

from __future__ import annotations

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
