"""``ember.utils``: utilities around the engine (``checkpoint``; ``data`` comes with nn)."""

from __future__ import annotations

from . import checkpoint

__all__ = ["checkpoint"]
