"""The op table: importing this package registers every op as ``ember.<name>`` and as a
Tensor method. Families live in their own modules (see each module's docstring)."""

from . import (  # noqa: F401
    activation,
    attention,
    cholesky_qr,
    conv,
    convert,
    decomposition,
    distance,
    eig,
    einsum,
    extremes,
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
    special_fallbacks,
    special_nograd,
    spectral,
    statistics,
    strided,
    triangular,
    unary,
    unique,
    variance,
    vector_norm,
)
from ._registry import OPS

__all__ = ["OPS"]

# NOTE [pack order] in autograd/graph.py: the nodes whose saved inputs PyTorch packs in
# another order than ember's rules save them (indices into each node's ``save`` items).
_PACK_ORDERS = {
    pointwise: {"MulBackward0": (1, 0), "DivBackward0": (1, 0), "PowBackward1": (1, 0),
                "Atan2Backward0": (1, 0), "LerpBackward1": (1, 0, 2), "HypotBackward0": (1, 0),
                "RemainderBackward1": (1, 0), "FmodBackward1": (1, 0),
                "LogaddexpBackward0": (1, 0), "Logaddexp2Backward0": (1, 0)},
    linalg: {"MmBackward0": (1, 0), "BmmBackward0": (1, 0)},
    select: {"MaximumBackward0": (1, 0), "MinimumBackward0": (1, 0), "FmaxBackward0": (1, 0),
             "FminBackward0": (1, 0), "ClampBackward0": (2, 1, 0)},
    special: {"XlogyBackward0": (1, 0)},
    statistics: {"DistBackward0": (1, 0)},
}
for _module, _orders in _PACK_ORDERS.items():
    for _name, _order in _orders.items():
        getattr(_module, _name)._pack_order = _order
