"""The helpers every reduction module shares (reduction, extremes, variance, vector_norm, and the
ops elsewhere that accumulate half types): ``_dims`` (PyTorch's reading of ``dim``),
``_unreduce`` (a reduced gradient reshaped to broadcast against the input), the forward-mode
rules ``_REDUCED``/``_REDUCED_NAN``, ``HALF``/``rounded`` (half types accumulated in float32 and
rounded once) and ``_np_mean``.

Contract: ``_dims(dim, ndim)`` gives the normalized tuple of reduced dims (None and an empty
sequence mean all dims, as PyTorch; a repeated dim raises PyTorch's error). No op is defined
or registered here; ``reduction`` re-exports every name.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import _wrap_dim, as_array
from ._jvp import fiberwise


def _dims(dim, ndim):
    """Normalized tuple of reduced dims (None, and as PyTorch an empty list, mean all)."""
    if dim is None or (not isinstance(dim, (int, np.integer)) and len(dim) == 0):
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        d = _wrap_dim(int(dim), ndim)
        return (d,) if ndim else ()
    dims = tuple(_wrap_dim(int(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    # NOTE: a 0-dim tensor accepts dim 0 / -1, and reducing it over that dim reduces nothing.
    return dims if ndim else ()


def _unreduce(g, in_shape, dims, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input shape.

    A full reduction's 0-d result broadcasts as it is: no reshape, so create_graph records
    what PyTorch's rules do (SumBackward0 is one ExpandBackward0) and one op fewer runs."""
    if not keepdim and dims and g._data.ndim:
        shape = [1 if i in dims else s for i, s in enumerate(in_shape)]
        g = g.reshape(shape)
    return g


# forward-mode rules of reductions: args are (input shape, dims, keepdim, ...)
_REDUCED = fiberwise(lambda ctx: (ctx.args[1], ctx.args[2]))
# NaN tangents over empty slices (NOTE [empty fibers]): std, logsumexp
_REDUCED_NAN = fiberwise(lambda ctx: (ctx.args[1], ctx.args[2]), lambda ctx: True)

# NOTE: half types (float16, bfloat16) are accumulated in float32 and rounded once at the end,
# as PyTorch's kernels do: summed in float16, 3000 ones stop at 2048 and the squares of a
# variance overflow past 256.
HALF = _dt.HALF_NP  # (bfloat16 joins when ml_dtypes is loaded: NOTE [lazy bfloat16])


def rounded(data, dtype):
    """``data`` (computed in a wider type) rounded to ``dtype``; overflow gives inf quietly."""
    with np.errstate(over="ignore"):
        return as_array(data).astype(dtype, copy=False)


def _np_mean(a, dims, keepdim):
    """``np.mean``'s sum and division, called from here: the mean of nothing is nan quietly.

    NOTE [no catch_warnings]: ``np.mean`` warns ("Mean of empty slice", "invalid value")
    from NumPy's own modules; silencing that with ``warnings.catch_warnings()`` would reset
    Python's once-per-location registry on every call (a user's ``warnings.warn`` in a loop
    would print every time); ``np.errstate`` touches no warning registry."""
    n = 1
    for d in (range(a.ndim) if dims is None else dims):
        n *= a.shape[d]
    with np.errstate(all="ignore"):  # (inf - inf, 0 / 0: nan, as PyTorch, quietly)
        s = np.add.reduce(a, axis=dims, dtype=np.float32 if a.dtype in HALF else a.dtype,
                          keepdims=keepdim)
        data = np.true_divide(s, n)
    return rounded(data, a.dtype) if a.dtype in HALF else data
