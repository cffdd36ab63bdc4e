"""``torch._dynamo``'s names that user scripts reach for (``reset``, ``explain``, ``config``,
``disable``, ``exc.Unsupported``), answered by ``ember.compiler``, so a script written for
``torch.compile`` runs under ``ember run`` unchanged."""

from __future__ import annotations

from ..compiler import config, disable, explain, is_compiling, reset
from . import exc

__all__ = ["reset", "explain", "config", "disable", "is_compiling", "exc"]
