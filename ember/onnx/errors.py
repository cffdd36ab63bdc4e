"""``ember.onnx.errors``: the exporter's exception classes, as ``torch.onnx.errors``.

Contract: ``OnnxExporterError`` (a RuntimeError) is the base of every exporter error;
``UnsupportedOperatorError(name, version, supported_version)`` builds PyTorch's message for an
op the exporter has no ONNX translation for ("Exporting the operator 'aten::<op>' to ONNX opset
version <v> is not supported"); ``SymbolicValueError`` is kept for scripts that catch it;
``OnnxExporterWarning`` is the exporter's warning category.
"""

from __future__ import annotations

__all__ = ["OnnxExporterWarning", "SymbolicValueError", "UnsupportedOperatorError"]


class OnnxExporterWarning(UserWarning):
    """Warnings in the ONNX exporter."""


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter. This is the base class for all exporter errors."""


class UnsupportedOperatorError(OnnxExporterError):
    """Raised when an operator is unsupported by the exporter."""

    def __init__(self, name: str, version: int, supported_version: int | None) -> None:
        # PyTorch's three messages, word for word (torch/onnx/errors.py)
        if supported_version is not None:
            msg = (f"Exporting the operator '{name}' to ONNX opset version {version} "
                   "is not supported. Support for this operator was added in version "
                   f"{supported_version}, try exporting with this version")
        elif name.startswith(("aten::", "prim::", "quantized::")):
            msg = (f"Exporting the operator '{name}' to ONNX opset version {version} "
                   "is not supported")
        else:
            msg = (f"ONNX export failed on an operator with unrecognized namespace {name}. "
                   "If you are trying to export a custom operator, make sure you registered it "
                   "with the right domain and version.")
        super().__init__(msg)


class SymbolicValueError(OnnxExporterError):
    """Errors around the values of the traced graph."""
