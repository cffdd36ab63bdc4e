"""Ops that move elements without computing: flip, fliplr, flipud, roll, rot90, repeat, tile,
repeat_interleave.

Contract: PyTorch's signatures, node names and error messages; results are copies (never
views), except repeat_interleave with an int count, which PyTorch builds as
unsqueeze/expand/clone/flatten and so returns a view of a clone. Each backward is the inverse
move (or a sum over the repeats) written in ember ops, so it is differentiable again; each op
is linear, so its JVP is the op applied to the tangent.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..dtypes import refuse_unsigned
from ..tensor import Tensor, _wrap_dim
from ._jvp import linear
from ._registry import node_class, record, recording, register, wrap
from .shape import _kw


def _dims_arg(dims, nd):
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(_wrap_dim(int(d), nd) for d in dims)
    return out


# ---- flip ----
def _flip_vjp(ctx, g):
    return (flip(g, ctx.args[0]),)


FlipBackward0 = node_class("FlipBackward0", _flip_vjp, linear(
    lambda ctx, dx: flip(dx, ctx.args[0])))


def flip(input, *dims, **kw):
    """Reverse the order of elements along ``dims``."""
    dims = _kw("flip", dims, kw, "dims")
    if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)):
        dims = dims[0]
    a = input._data
    if a.dtype.kind == "u":  # NOTE [limited unsigned types] (dtypes.py)
        refuse_unsigned("flip_cpu", a.dtype)
    dims = _dims_arg(dims, a.ndim)
    seen = set()
    for d in dims:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    data = np.flip(a, dims).copy() if dims and a.ndim else a.copy()
    if STATE.enabled and recording(input):
        return record(FlipBackward0, data, (input,), args=(dims,))
    return wrap(data)


def fliplr(input):
    """Reverse dim 1 (left/right) of an at least 2-D tensor."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input):
    """Reverse dim 0 (up/down) of an at least 1-D tensor."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


# ---- roll ----
def _roll_vjp(ctx, g):
    shifts, dims = ctx.args
    return (roll(g, tuple(-s for s in shifts), dims),)


RollBackward0 = node_class("RollBackward0", _roll_vjp, linear(
    lambda ctx, dx: roll(dx, *ctx.args)))


def roll(input, shifts, dims=None):
    """Shift elements cyclically along ``dims`` (the flattened tensor when ``dims`` is None)."""
    a = input._data
    shifts = (int(shifts),) if isinstance(shifts, (int, np.integer)) else \
        tuple(int(s) for s in shifts)
    if not shifts:
        raise RuntimeError("`shifts` required")
    if a.size == 0:
        # NOTE: PyTorch returns an empty tensor as it is, before looking at dims
        data = a.copy()
        dims = None
    elif dims is None or (not isinstance(dims, (int, np.integer)) and len(dims) == 0):
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               "dims:0")
        data = np.roll(a, shifts[0]) if a.ndim else a.copy()
        dims = None
    else:
        if a.ndim == 0:
            d = dims if isinstance(dims, (int, np.integer)) else dims[0]
            raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
        dims = _dims_arg(dims, a.ndim)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(dims)}")
        data = np.roll(a, shifts, dims)
    if STATE.enabled and recording(input):
        return record(RollBackward0, data, (input,), args=(shifts, dims))
    return wrap(data)


# ---- rot90 ----
def _rot90_vjp(ctx, g):
    k, dims = ctx.args
    return (rot90(g, -k, dims),)


Rot90Backward0 = node_class("Rot90Backward0", _rot90_vjp, linear(
    lambda ctx, dx: rot90(dx, *ctx.args)))


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the
    second)."""
    a = input._data
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if a.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {a.ndim}")
    d0, d1 = _wrap_dim(dims[0], a.ndim), _wrap_dim(dims[1], a.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    data = np.rot90(a, int(k), (d0, d1)).copy()
    if STATE.enabled and recording(input):
        return record(Rot90Backward0, data, (input,), args=(int(k), (d0, d1)))
    return wrap(data)


# ---- repeat / tile ----
def _repeat_vjp(ctx, g):
    in_shape, reps = ctx.args
    # NOTE: the output is the input tiled: view it as (r0, s0, r1, s1, ...) and sum the r axes.
    lead = len(reps) - len(in_shape)
    padded = (1,) * lead + tuple(in_shape)
    split = []
    for r, s in zip(reps, padded):
        split += [r, s]
    gx = g.reshape(split).sum(tuple(range(0, 2 * len(reps), 2)))
    return (gx.reshape(in_shape),)


RepeatBackward0 = node_class("RepeatBackward0", _repeat_vjp, linear(
    lambda ctx, dx: repeat(dx, ctx.args[1])))


def _sizes(sizes):
    if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)):
        sizes = sizes[0]
        if isinstance(sizes, (str, dict)):
            raise TypeError("sizes are a sequence of ints")  # (_checks: PyTorch's message)
    # (__index__, not int(): a float size is PyTorch's TypeError, not truncated)
    return tuple(s.__index__() for s in sizes)


def repeat(input, *sizes, **kw):
    """Tile the tensor ``sizes[i]`` times along dim ``i`` (leading new dims allowed)."""
    reps = _sizes(_kw("repeat", sizes, kw, "repeats"))
    a = input._data
    if len(reps) < a.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    shape = [r * s for r, s in zip(reps, (1,) * (len(reps) - a.ndim) + a.shape)]
    for n in shape:
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: "
                               f"[{', '.join(map(str, shape))}]")
    data = np.tile(a, reps) if reps else a.copy()
    if STATE.enabled and recording(input):
        return record(RepeatBackward0, data, (input,), args=(a.shape, reps))
    return wrap(data)


def tile(input, *dims, **kw):
    """``repeat`` with ``dims`` padded with leading ones to the input's rank."""
    reps = _sizes(_kw("tile", dims, kw, "dims"))
    nd = input._data.ndim
    if len(reps) < nd:
        reps = (1,) * (nd - len(reps)) + reps
    return repeat(input, reps)


# ---- repeat_interleave ----
def _repeated_arange(r, dtype):
    """``np.repeat(arange(r.size), r)``: each position ``i`` repeated ``r[i]`` times, on
    ``r``'s device (CuPy's ``repeat`` takes only host counts: there, each output position
    finds its input by a search in the running totals)."""
    if isinstance(r, np.ndarray):
        return np.repeat(np.arange(r.size, dtype=dtype), r)
    xp = namespace(r)
    ends = xp.cumsum(r.reshape(-1))
    total = int(ends[-1]) if r.size else 0
    return xp.searchsorted(ends, xp.arange(total), side="right").astype(dtype, copy=False)


def _check_repeats_dtype(repeats):
    if repeats._data.dtype.kind not in "iu":
        raise NotImplementedError(f'"repeat_interleave_cpu" not implemented for '
                                  f"'{repeats.dtype.scalar_name}'")


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times along ``dim`` (the flattened tensor when None).

    ``repeat_interleave(repeats)`` (a 1-D integer tensor alone) gives the indices
    ``[0]*r0 + [1]*r1 + ...``.
    """
    if repeats is None:
        r = input._data
        if r.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if r.dtype.kind not in "iu":
            raise RuntimeError("repeats has to be Long or Int tensor")
        if r.size and r.min() < 0:
            raise RuntimeError("repeats can not be negative")
        return wrap(_repeated_arange(r, r.dtype))
    if dim is None:
        input = input.flatten()
        dim = 0
    d = _wrap_dim(dim, input._data.ndim)
    if input._data.ndim == 0 and isinstance(repeats, Tensor):
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    if isinstance(repeats, Tensor) and repeats._data.ndim > 0 and repeats._data.size != 1:
        from .scatter import index_select

        r = repeats._data
        if r.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        n = input._data.shape[d]
        if r.size != n:
            raise RuntimeError(
                f"repeats must have the same size as input along dim, but got repeats.size(0) "
                f"= {r.size} and input.size({d}) = {n}")
        _check_repeats_dtype(repeats)
        if r.size and r.min() < 0:
            raise RuntimeError("repeats can not be negative")
        index = wrap(_repeated_arange(r, np.int64))
        return index_select(input, d, index)
    if isinstance(repeats, Tensor):
        from .scatter import index_select

        _check_repeats_dtype(repeats)
        count = int(repeats._data.reshape(()))
        if count < 0:
            raise RuntimeError("repeats can not be negative")
        n = input._data.shape[d]
        arange = np.arange if isinstance(input._data, np.ndarray) else namespace(input._data).arange
        return index_select(input, d, wrap(np.repeat(arange(n, dtype=np.int64), count)))
    count = int(repeats)
    if count < 0:
        raise RuntimeError("Repeats must be non-negative")
    # NOTE: PyTorch builds the int case as unsqueeze -> expand -> clone -> flatten, so the
    # result is a view of a clone (ViewBackward0 of CloneBackward0); so do we.
    shape = list(input._data.shape)
    target = shape[:d + 1] + [count] + shape[d + 1:]
    out = input.unsqueeze(d + 1).expand(target).clone()
    return out.flatten(d, d + 1)


# ==== registration =========================================================================

for _name in ("flip", "fliplr", "flipud", "roll", "rot90", "repeat_interleave", "tile"):
    register(globals()[_name], _name)
register(repeat, "repeat", function=False)
