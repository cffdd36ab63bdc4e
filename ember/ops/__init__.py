"""The op table: importing this package registers every op as ``ember.<name>`` and as a
Tensor method. Families live in their own modules (see each module's docstring)."""

from . import (  # noqa: F401
    activation,
    attention,
    conv,
    convert,
    decomposition,
    distance,
    householder,
    indexing,
    inplace,
    join,
    linalg,
    logic,
    loss,
    loss_regression,
    lu,
    masked,
    matrix,
    nn,
    normalization,
    operators,
    pointwise,
    pooling,
    rearrange,
    reduction,
    resize,
    sampling,
    scan,
    scatter,
    select,
    shape,
    sort,
    special,
    special_nograd,
    spectral,
    unary,
    unique,
)
from ._registry import OPS

__all__ = ["OPS"]
