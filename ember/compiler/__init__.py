"""``ember.compiler``: ``ember.compile``'s machinery and tools (``torch.compiler``'s place).

Contract: ``compile`` (also ``ember.compile`` and ``Module.compile``), ``explain``, ``reset``,
``config``, ``disable``, ``Unsupported`` (a graph break under ``fullgraph=True``),
``GraphBreak`` (the tracer's signal), ``is_compiling()`` (True while a call is being traced).
How it works: NOTE [tracing arrays, not ops] in _trace.py, the passes in _program.py, guards
and replay in _compile.py, and docs/compile.md.
"""

from __future__ import annotations

from . import _trace
from ._compile import (
    CompiledFunction,
    ExplainOutput,
    Unsupported,
    compile,
    config,
    disable,
    explain,
    reset,
)
from ._trace import GraphBreak

__all__ = ["compile", "explain", "reset", "config", "Unsupported", "GraphBreak",
           "CompiledFunction", "ExplainOutput", "is_compiling", "disable"]


def is_compiling() -> bool:
    """Whether a call is being traced now (``torch.compiler.is_compiling``)."""
    rec = _trace.current()
    return rec is not None and rec.open
