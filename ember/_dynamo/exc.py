"""``torch._dynamo.exc``: the graph-break error ``fullgraph=True`` raises."""

from __future__ import annotations

from ..compiler import Unsupported

__all__ = ["Unsupported"]
