"""A branch-free ``np.where`` for large arrays: the same result, bit for bit.

Contract: ``where(cond, a, b)`` returns exactly ``np.where(cond, a, b)`` (values, NaN payloads,
signed zeros, dtype and broadcast shape). ``a`` and ``b`` are arrays; when they share one
numeric dtype of 2, 4 or 8 bytes and the result is large, it is computed as bit operations on
integer views: ``(a & m) | (b & ~m)`` with ``m`` all ones where ``cond`` holds. Anything else
is NumPy's own ``np.where`` (device arrays included: it dispatches to their library, whose
select has no branch to mispredict). ``keep(cond, a)`` is ``np.where(cond, a, 0)`` (``+0`` where
``cond`` is False), the select every masked gradient needs.

NOTE [why]: NumPy's ``where`` picks each element with a branch. On data where the condition
is unpredictable (activations: ``x > 0`` on real inputs) the branch is mispredicted about
half the time, and ``np.where`` runs ~8x slower than on a sorted mask and ~10x slower than the
bit blend (measured on 173k float32: 640 us against 71 us). PyTorch's kernels select without
branches.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import zeros_as

__all__ = ["keep", "where"]

MIN_SIZE = 4096  # below this, np.where's single call beats the blend's six
_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def where(cond, a, b):
    """``np.where(cond, a, b)`` for a bool array ``cond`` and arrays ``a``, ``b``."""
    dt = a.dtype
    if (type(a) is not np.ndarray or b.dtype != dt or cond.dtype != np.bool_
            or dt.kind not in "fiuc" or dt.itemsize not in _INT):
        return np.where(cond, a, b)
    shape = np.broadcast_shapes(cond.shape, a.shape, b.shape)
    if math.prod(shape) < MIN_SIZE:
        return np.where(cond, a, b)
    it = _INT[dt.itemsize]
    if b.ndim == 0 and b.view(it)[()] == 0:
        return keep(cond, a)
    if a.ndim == 0 and a.view(it)[()] == 0:
        return keep(np.logical_not(cond), b)
    # m: 0 where cond is False and -1 (all bits set) where True, at the full shape
    m = np.broadcast_to(cond, shape).astype(it)
    np.negative(m, out=m)
    out = np.bitwise_and(a.view(it), m)  # (m has the full shape, so out has too)
    np.invert(m, out=m)
    np.bitwise_and(b.view(it), m, out=m)
    np.bitwise_or(out, m, out=out)
    return out.view(dt)


# NOTE [masked gradients]: a gradient that a mask stops must come out as 0 whatever arrives
# (``g * mask`` is NaN where ``g`` is inf or NaN: relu(x).sqrt() at x < 0). Selecting costs no
# more than the product: the element's bits times an integer 0 or 1 of the same width, one
# SIMD multiply (np.where is ~5x slower on unpredictable masks, see NOTE [why]).

def keep(cond, a, out=None):
    """``np.where(cond, a, 0)``, bit for bit (a +0 where ``cond`` is False), for a numeric
    array ``a`` and ``cond`` either a bool array or the integer 0/1 mask itself (dtype
    ``mask_dtype(a.dtype)``). The result is ``out`` when given (an array of ``a``'s dtype and
    the broadcast shape; it may be ``a`` itself, or the memory of the mask), else a fresh
    array that owns its memory (so a gradient made here can still be private)."""
    it = mask_dtype(a.dtype)
    if it is None or (cond.dtype == np.bool_ and cond.size < MIN_SIZE):
        r = np.where(cond, a, zeros_as(a, shape=()))
        if out is None:
            return r
        out[...] = r
        return out
    if cond.dtype == np.bool_:
        buf = np.empty_like(cond, dtype=a.dtype, order="C")
        np.copyto(buf.view(it), cond, casting="unsafe")
        m = buf.view(it)
    else:
        buf, m = None, cond
    if out is None:
        shape = np.broadcast_shapes(m.shape, a.shape)
        out = buf if buf is not None and buf.shape == shape else \
            np.empty_like(a, shape=shape, order="C")
    np.multiply(a.view(it), m, out=out.view(it))
    return out


def mask_dtype(dt):
    """The integer dtype ``keep`` multiplies ``dt``'s bits by (None: none exists)."""
    return _INT.get(dt.itemsize) if dt.kind in "fiucV" else None
