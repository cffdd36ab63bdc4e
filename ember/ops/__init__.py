"""The op table: importing this package registers every op as ``ember.<name>`` and as a
Tensor method. Families live in their own modules (see each module's docstring)."""

from . import convert, inplace, linalg, nn, operators, pointwise, reduction, shape  # noqa: F401
from ._registry import OPS

__all__ = ["OPS"]
