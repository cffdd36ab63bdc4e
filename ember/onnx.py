"""``ember.onnx``: importable, so scripts that import ``torch.onnx`` at the top run; exporting
needs a traced graph, which comes with ``ember.compile``.

Contract: ``export`` raises NotImplementedError; ``is_in_onnx_export()`` is False.
"""

from __future__ import annotations


def export(model, args=(), f=None, **kwargs):
    """Not implemented yet: ONNX export comes with ember.compile's tracer."""
    raise NotImplementedError(
        "ember.onnx.export is not implemented yet: ONNX export comes with ember.compile "
        "(it needs the compiler's traced graph)")


def is_in_onnx_export() -> bool:
    return False
