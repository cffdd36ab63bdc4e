"""Scatter-accumulation on arrays of any backend: ``add_rows`` (``out[idx[j]] += rows[j]``,
repeats accumulating, by sorted segment sums: the backward of indexing and embedding) and
``ufunc_at`` (``ufunc.at``: in place, repeats applied in turn).

Contract: ``add_rows(n, idx, rows)`` returns a new array of zeros ``(n, *rows.shape[1:])``
in ``rows``' dtype (on ``rows``' device) with each ``rows[j]`` added at row ``idx[j]``
(integer indices, negative ones counting from the end, as NumPy's). The same sums as
``np.add.at``, in the same order per row for floating dtypes up to the rounding of NumPy's
reduction. ``ufunc_at(ufunc, out, key, values)`` is ``ufunc.at(out, key, values)`` for a NumPy
array and gives the same values for a device array.

NOTE [why not add.at]: ``np.add.at`` handles each index separately and is several times
slower than sorting the indices once (stable, so each row's contributions keep their order)
and summing each run of equal indices with one ``np.add.reduceat``: 2.1 -> 0.8 ms for 5000
rows of 64 floats into 1000.

NOTE [ufunc.at on devices]: CuPy's ``ufunc.at`` exists only for add, subtract, maximum,
minimum and the bitwise ufuncs, and only for int32, uint32, uint64 and float types (no int64,
bool or complex, no ``multiply.at``); its floating max/min follow CUDA's atomics, not NumPy's
NaN rule. ``ufunc_at`` therefore does it with sorting and fancy indexing, which CuPy has for
every type: the key's flat positions are sorted stably, each element gets its rank among the
elements landing on the same position, and round ``r`` applies the ufunc to the ``r``-th
element of every position at once (the positions of one round are distinct, so a fancy
assignment is exact). A position thus takes its values in the key's order, as NumPy's
``ufunc.at`` -- the same values bit for bit -- in as many rounds as the most repeated
position has elements.
"""

from __future__ import annotations

import numpy as np

from ..backend import namespace
from ..tensor import zeros_as

__all__ = ["add_rows", "ufunc_at"]


def add_rows(n, idx, rows):
    if not isinstance(rows, np.ndarray):
        return _add_rows_device(n, idx, rows)
    idx = np.asarray(idx).reshape(-1)
    out = np.zeros((n,) + rows.shape[1:], dtype=rows.dtype)
    if idx.size == 0:
        return out
    if rows.dtype.kind not in "fc" or idx.size < 16:  # few rows, or no reduceat for the type
        np.add.at(out, idx, rows)
        return out
    if idx.min() < 0:
        idx = np.where(idx < 0, idx + n, idx)
    order = np.argsort(idx, kind="stable")
    si = idx[order]
    starts = np.flatnonzero(np.concatenate(([True], si[1:] != si[:-1])))
    out[si[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


def _add_rows_device(n, idx, rows):
    """``add_rows`` for a device array: the same steps written with the array's namespace
    (CuPy's ``add.reduceat`` exists; its ``add.at`` does not for every type: ``ufunc_at``)."""
    xp = namespace(rows)
    idx = xp.asarray(idx).reshape(-1)  # (a host index is copied over)
    out = zeros_as(rows, shape=(n,) + rows.shape[1:])
    if idx.size == 0:
        return out
    if rows.dtype.kind not in "fc" or idx.size < 16:
        ufunc_at(np.add, out, idx, rows)
        return out
    idx = xp.where(idx < 0, idx + n, idx)
    order = xp.argsort(idx, kind="stable")
    si = idx[order]
    starts = xp.flatnonzero(xp.concatenate((xp.ones(1, dtype=bool), si[1:] != si[:-1])))
    out[si[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


def ufunc_at(ufunc, out, key, values):
    """``ufunc.at(out, key, values)``: in place on ``out``, any backend (NOTE [ufunc.at on
    devices])."""
    if isinstance(out, np.ndarray):  # (NumPy's own, meta arrays included)
        ufunc.at(out, key, values)
        return
    xp = namespace(out)
    # (the flat positions the key selects, shaped as the selection: values broadcast to it)
    sel = xp.arange(out.size, dtype=np.int64).reshape(out.shape)[key]
    if sel.size == 0:
        return
    vals = xp.broadcast_to(xp.asarray(values), sel.shape).reshape(-1)
    pos = sel.reshape(-1)
    flat = out.reshape(-1) if out.flags.c_contiguous else out.copy().reshape(-1)
    order = xp.argsort(pos, kind="stable")
    sp = pos[order]
    first = xp.concatenate((xp.ones(1, dtype=bool), sp[1:] != sp[:-1]))
    rank = xp.arange(pos.size) - xp.flatnonzero(first)[xp.cumsum(first) - 1]
    for r in range(int(rank.max()) + 1):
        take = order[rank == r]
        p = pos[take]
        flat[p] = ufunc(flat[p], vals[take])
    if not out.flags.c_contiguous:
        out[...] = flat.reshape(out.shape)
