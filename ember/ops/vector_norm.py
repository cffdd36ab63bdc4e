"""The vector norm: ``linalg.vector_norm`` (any ``ord``, over ``dim`` or all elements) and
``torch.norm`` ('fro' is the 2-norm; 'nuc' goes to ``linalg.matrix_norm``).

Contract: floating and complex inputs only (PyTorch's error otherwise); complex inputs give
real norms; half types are summed in float32 and rounded once (``HALF``). The backward is
PyTorch's composition for each ``ord`` so second-order gradients agree (NaN included); the
0-"norm" is a count with no gradient. ``norm`` is registered by ``reduction``, which
re-exports every name here; ``ember.linalg.vector_norm`` is ``linalg_vector_norm``, and
distance.py reuses ``_norm_vjp``.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ._jvp import fiberwise
from ._reduce import HALF, _dims, _unreduce, rounded
from ._registry import as_array, node_class, record, recording, wrap


# ---- norm ----
def _norm_vjp(ctx, g):
    x, out = ctx.saved_tensors
    p, in_shape, dims, keepdim = ctx.args
    if p == 0:
        return (None,)  # NOTE: PyTorch's 0-"norm" (a count) has no gradient, not a zero one
    g = _unreduce(g, in_shape, dims, keepdim)
    out = _unreduce(out, in_shape, dims, keepdim)
    # NOTE: PyTorch's composition for each p, so that second-order gradients agree, NaN
    # included: zeros are masked after the divisions and powers that make them inf or NaN
    # (whose own gradients there are then 0/0 or 0 * inf = NaN), and sgn, not sign (its
    # gradient is a known zero: NOTE [zero gradients] in autograd/engine.py).
    at_zero = bool((out._data == 0).any())
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 2:  # (the subgradient at 0 is 0)
            q = x / out
            return (g * (q.masked_fill(out == 0, 0.0) if at_zero else q),)
        if p == 1:
            return (x.sgn() * g,)
        absx = x.abs()
        if p == float("inf") or p == float("-inf"):
            mask = (absx == out) | absx.isnan()
            count = mask.sum(dims, keepdim=True) if dims else mask
            return (x.sgn() * ((g / count) * mask),)
        if p < 1:  # (a zero entry makes out 0: no mask there)
            scaled = x.sgn() * (absx ** (p - 1)).masked_fill(x == 0, 0.0)
            return (scaled * g * out ** (1 - p),)
        scaled = x.sgn() * absx ** (p - 1) if p < 2 else x * absx ** (p - 2)
        scale = g / out ** (p - 1)
        return (scaled * (scale.masked_fill(out == 0, 0.0) if at_zero else scale),)


LinalgVectorNormBackward0 = node_class(
    "LinalgVectorNormBackward0", _norm_vjp, fiberwise(lambda ctx: (ctx.args[2], ctx.args[3])))


def linalg_vector_norm(input, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (all elements when None)."""
    if input._data.dtype.kind not in "fcV":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_dt.from_np(input._data.dtype).scalar_name}")
    a = input._data if dtype is None else input._data.astype(dtype.np)
    dims = _dims(dim, a.ndim)
    p = float(ord)
    absa = np.abs(a)
    half = a.dtype in HALF
    if half:
        absa = absa.astype(np.float32)  # summed in float32, see HALF
    if p == 2:
        data = np.sqrt(np.sum(absa * absa, axis=dims, keepdims=keepdim))
    elif p == 1:
        data = np.sum(absa, axis=dims, keepdims=keepdim)
    elif p == float("inf"):
        data = np.max(absa, axis=dims, keepdims=keepdim)
    elif p == float("-inf"):
        data = np.min(absa, axis=dims, keepdims=keepdim)
    elif p == 0:
        data = np.sum(absa != 0, axis=dims, keepdims=keepdim).astype(a.dtype)
    else:
        with np.errstate(divide="ignore"):  # 0 ** -p = inf, whose sum's -1/p power is 0
            data = np.sum(absa ** p, axis=dims, keepdims=keepdim) ** (1.0 / p)
    if half:
        data = rounded(data, a.dtype)
    else:
        data = as_array(data).astype(a.dtype if a.dtype.kind != "c" else
                                      np.dtype(a.dtype.char.lower()), copy=False)
    if STATE.enabled and recording(input):
        return record(LinalgVectorNormBackward0, data, (input,), save=(input,),
                     args=(p, a.shape, dims, keepdim), save_out=True)
    return wrap(data)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (``'fro'`` is the 2-norm of all elements)."""
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        from .. import linalg

        if not hasattr(linalg, "matrix_norm"):
            raise NotImplementedError("norm(p='nuc') needs ember.linalg.matrix_norm")
        return linalg.matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else dim,
                                  keepdim=keepdim, dtype=dtype)
    return linalg_vector_norm(input, p, dim, keepdim, dtype=dtype)
