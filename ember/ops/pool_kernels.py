"""Array-level max pooling (no autograd): the maxima of the windows and PyTorch's indices of
them, for ops/pooling.py.

Contract: ``_max_by_offsets`` and ``_tiled_values``/``_tiled_max_index`` compute the maxima
(and, for the latter, PyTorch's flat plane indices) from an input array and its geometry;
``_first_max`` and ``_last_nan`` apply PyTorch's tie-break (first maximum in window order, a
NaN wins, the last NaN seen); ``_plane_index``/``_index_parts`` turn window offsets into plane
indices; ``_flat_index`` turns plane indices into indices of the flattened input. Geometry-only
results are cached (``functools.lru_cache``), read-only, on the host; with a device array
they are used through a copy on its device (``_beside``; small: a kernel's offsets, a plane's
window starts), and buffers are made with ``*_like`` of an input array.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..backend import namespace
from ..tensor import device_of, on_device


def _beside(host, a):
    """The host table ``host`` where ``a`` is: itself for a NumPy ``a``, else a device copy."""
    return host if type(a) is np.ndarray else on_device(np.asarray(host), device_of(a))


def _flat_index(idx, in_shape, nd):
    """Plane indices ``idx`` as indices into the flattened input."""
    m = math.prod(in_shape[:-nd])
    per = idx.size // m if m else 0
    plane = math.prod(in_shape[-nd:])
    if type(idx) is np.ndarray:
        starts = _plane_starts(m, plane, per)
    else:  # (made on the device: a broadcast column)
        starts = namespace(idx).arange(m, dtype=np.int64)[:, None] * plane
    return (idx.reshape(m, per) + starts).reshape(-1)


@functools.lru_cache(maxsize=8)
def _plane_starts(m, plane, per):
    """``(m, per)``: the flat index of plane ``i``'s first element in row ``i``. (Cached, and
    materialised where small: a broadcast column makes NumPy loop over rows of ``per``.)"""
    starts = np.broadcast_to((np.arange(m, dtype=np.int64) * plane)[:, None], (m, per))
    if starts.size <= 1 << 18:
        starts = np.ascontiguousarray(starts)
        starts.flags.writeable = False
    return starts


def _plane_index(arg, kshape, a, nd, starts, steps, out):
    """PyTorch's flat plane index of each window's maximum, from its offset ``arg`` in the
    window (row-major); ``starts[i]`` is the input coordinate of window 0's first element.

    The index is linear in the coordinates, so it splits into a part that depends only on the
    window (``base``, shape ``out``) and one that depends only on the offset (a table of
    ``prod(kshape)`` entries): one small lookup and one add instead of unravelling ``arg``."""
    base, table = _index_parts(a.shape[-nd:], kshape, starts, steps, out)
    base, table = _beside(base, arg), _beside(table, arg)
    index = np.take(table, arg)
    index += base
    return index.reshape(a.shape[:-nd] + tuple(out))


def _index_parts(spatial, kshape, starts, steps, out):
    """``(base, table)``: the plane index of window ``o``'s first element (shape ``out``) and
    the plane offset of each kernel offset (row-major, flat)."""
    nd = len(spatial)
    base = np.zeros((1,) * nd, dtype=np.int64)
    table = np.zeros((1,) * nd, dtype=np.int64)
    for i in range(nd):
        shape = [1] * nd
        plane = math.prod(spatial[i + 1:])
        shape[i] = out[i]
        base = base + np.asarray(starts[i], dtype=np.int64).reshape(shape) * plane
        shape[i] = kshape[i]
        table = table + (np.arange(kshape[i], dtype=np.int64) * (steps[i] * plane)).reshape(shape)
    return base, table.reshape(-1)


def _max_from_windows(v, a, nd, starts, steps, out):
    """Values and plane indices of the maxima of windows ``v`` ``(1, M, *O, *K)``."""
    kshape = v.shape[2 + nd:]
    flat = v.reshape(v.shape[:2 + nd] + (int(np.prod(kshape)),))  # (not -1: M may be 0)
    arg = np.argmax(flat, axis=-1)
    vals = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    if vals.dtype.kind in "fV":  # ("V": bfloat16)
        nan = np.isnan(vals)
        if nan.any():  # PyTorch lets the last NaN of a window win (see _last_nan)
            last = flat.shape[-1] - 1 - np.argmax(np.isnan(flat[..., ::-1]), axis=-1)
            arg = np.where(nan, last, arg)
    return (vals.reshape(a.shape[:-nd] + tuple(out)),
            _plane_index(arg, kshape, a, nd, starts, steps, out))


def _offset_steps(table):
    """``(dtype, steps)`` for _first_max: the smallest signed dtype holding ``table``'s
    entries (>= 0, from 0) and their differences, and those differences."""
    span = int(table.max())
    dtype = np.int16 if span < 1 << 15 else np.int32 if span < 1 << 31 else np.int64
    return dtype, [dtype(v) for v in np.diff(table)]


def _first_max(cands, best, table_steps, invalid=None):
    """``table[q]`` (the plane offset of kernel offset ``q``; ``table_steps`` is
    ``_offset_steps(table)``) for each window's first candidate equal to ``best``, its
    maximum: PyTorch's tie-break (for NaN see _last_nan). ``invalid[q]`` (broadcastable, or
    None) marks where candidate ``q`` is padding, which never wins.

    NOTE: with ``n_q = (cands[q] != best)`` and ``d_q = table[q] - table[q-1]``, that offset
    is ``n_0 (d_1 + n_1 (d_2 + ... + n_{K-2} d_{K-1}))`` (every partial result is a difference
    of two table entries): one comparison and two in-place steps on small ints per candidate,
    no ``where`` temporaries and no lookup."""
    dtype, steps = table_steps
    k = len(cands)
    if k == 1:
        return np.zeros_like(best, dtype=dtype, order="C")
    if not isinstance(cands, list):  # stacked: all comparisons in one call
        flag = np.not_equal(cands[:-1], best).view(np.uint8).__getitem__
    else:  # one buffer, filled as needed (K - 1 of them could be large)
        ne = np.empty_like(best, dtype=bool, order="C")

        def flag(q):
            np.not_equal(cands[q], best, out=ne)
            if invalid is not None and invalid[q] is not None:
                np.logical_or(ne, invalid[q], out=ne)
            return ne.view(np.uint8)

    off = np.multiply(flag(k - 2), steps[k - 2], dtype=dtype)
    for q in range(k - 3, -1, -1):
        off += steps[q]
        off *= flag(q)
    return off


def _last_nan(off, cands, best, table):
    """PyTorch lets a NaN win its window, the last NaN seen: fix ``off`` where ``best`` is
    NaN (``np.maximum`` propagates NaN, so ``best`` is NaN exactly there)."""
    if best.dtype.kind in "fV" and np.isnan(best).any():  # ("V": bfloat16)
        for j, c in enumerate(cands):
            np.copyto(off, table[j], where=np.isnan(c), casting="unsafe")
    return off


def _padding_masks(spatial, k, s, p, d, out, shape_nd, like):
    """Per kernel offset, where its candidate lies outside the input (None where never), on
    the device of the array ``like``."""
    per_dim = []
    for si, ki, st, pi, di, oi in zip(spatial, k, s, p, d, out):
        coord = np.arange(oi)[None, :] * st - pi + np.arange(ki)[:, None] * di
        per_dim.append((coord < 0) | (coord >= si))  # (k_i, out_i)
    nd = len(spatial)
    masks = []
    for q in np.ndindex(*k):
        m = None
        for i in range(nd):
            row = per_dim[i][q[i]]
            if row.any():
                shape = [1] * shape_nd
                shape[shape_nd - nd + i] = out[i]
                row = row.reshape(shape)
                m = row if m is None else m | row
        masks.append(None if m is None else _beside(m, like))
    return masks


def _max_by_offsets(padded, k, s, d, out, with_cands=True):
    """Maxima (and, ``with_cands``, the candidates: one strided slice per kernel offset, for
    _first_max), few, large vectorised steps instead of a copy of every window."""
    cands = []
    for idx in np.ndindex(*k):
        sl = tuple(slice(i * di, i * di + si * (oi - 1) + 1, si)
                   for i, di, si, oi in zip(idx, d, s, out))
        cands.append(padded[(Ellipsis,) + sl])
    best = cands[0].copy()
    for c in cands[1:]:
        np.maximum(best, c, out=best)
    return best, (cands if with_cands else None)


# ---- exactly tiling windows (kernel == stride, no padding or dilation, floor mode) ----------
#
# NOTE: the common case. A strided slice per kernel offset makes NumPy loop over rows of Wo
# elements (a 2x2 pool of 8x8 planes: 4-element loops), which costs more than the work. Here
# the windows are viewed as (*k, *T) with T the output positions in "tile order": the output's
# last spatial dims first and the batch M (merged with the first spatial dim where the input
# has no leftover rows) last, so every loop NumPy runs is M * O_1 long. Results are written
# back to the output's own layout by a ufunc with ``out=`` a transposed view (NumPy then keeps
# the long loop; np.copyto would not).

@functools.lru_cache(maxsize=8)
def _tile_plan(shape, nd, k, out):
    """Everything about one geometry that does not depend on the values (cached: a training
    loop asks for the same few every step): ``(crop, split, axes, order, table, base)`` with
    the input cropped by ``crop`` (or None) and reshaped to ``split`` ``(M, O_1, k_1, ...)``,
    transposed by ``axes`` to the windows ``(*k, *T)``; ``order`` the output axes (0: the
    flattened leading dims M, i: spatial dim i) in tile order; ``table`` the plane offset of
    each kernel offset (with ``_offset_steps(table)``) and ``base`` the plane index of each
    window's first element, in tile order."""
    spatial = shape[-nd:]
    m = math.prod(shape[:-nd])
    crop = None
    if any(o * ki != si for o, ki, si in zip(out, k, spatial)):  # floor mode drops the rest
        crop = (slice(None),) + tuple(slice(0, o * ki) for o, ki in zip(out, k))
    split = (m,) + tuple(x for o, ki in zip(out, k) for x in (o, ki))
    order = tuple(range(nd, 1, -1)) + ((0, 1) if crop is None or spatial[0] == out[0] * k[0]
                                       else (1, 0))
    axes = tuple(2 + 2 * i for i in range(nd)) + tuple(0 if r == 0 else 2 * r - 1
                                                       for r in order)
    base, table = _tile_base(spatial, k, out), _index_parts(
        spatial, k, [np.arange(o) * ki for o, ki in zip(out, k)], (1,) * nd, out)[1]
    base = np.broadcast_to(base[None], (m,) + out).transpose(order)
    if base.size <= 1 << 18:
        # NOTE: materialised: adding a broadcast base would bring back the short loops.
        base = np.ascontiguousarray(base)
        base.flags.writeable = False
    return crop, split, axes, order, (table, _offset_steps(table)), base


@functools.lru_cache(maxsize=8)
def _tile_base(spatial, k, out):
    """The plane index of each tiling window's first element (shape ``out``), read-only."""
    base = _index_parts(spatial, k, [np.arange(o) * ki for o, ki in zip(out, k)],
                        (1,) * len(k), out)[0]
    base.flags.writeable = False
    return base


def _tiles(a, nd, k, out):
    """The windows as ``(*k, *T)`` (a view) and the plan (see _tile_plan)."""
    plan = _tile_plan(a.shape, nd, k, out)
    crop, split, axes = plan[:3]
    y = a.reshape((split[0],) + a.shape[-nd:])
    if crop is not None:
        y = y[crop]
    return y.reshape(split).transpose(axes), plan


def _tiled_view(res, nd, out, order):
    return res.reshape((-1,) + out).transpose(order)


def _tiled_values(a, nd, k, out):
    """Maxima only: reduce the other kernel dims straight from the strided input, then the
    last kernel dim over contiguous partial results, the final step writing the output."""
    v, plan = _tiles(a, nd, k, out)
    res = np.empty_like(a, shape=a.shape[:-nd] + out, order="C")
    lead = list(np.ndindex(*k[:-1]))
    part = v[lead[0]]  # (k[-1], *T)
    if len(lead) > 1:
        # NOTE: out= in tile order: NumPy would lay a new result out like the strided input.
        part = np.maximum(part, v[lead[1]], out=np.empty_like(a, shape=part.shape, order="C"))
        for q in lead[2:]:
            np.maximum(part, v[q], out=part)
    acc = part[0]
    for j in range(1, k[-1] - 1):
        buf = np.empty_like(a, shape=acc.shape, order="C") if j == 1 else acc
        acc = np.maximum(acc, part[j], out=buf)
    np.maximum(acc, part[-1], out=_tiled_view(res, nd, out, plan[3]))
    return res


def _tiled_max_index(a, nd, k, out):
    """Maxima and PyTorch's plane indices for exactly tiling windows."""
    v, (_, _, _, order, (table, steps), base) = _tiles(a, nd, k, out)
    c = np.empty_like(a, shape=v.shape, order="C")
    np.copyto(c, v)  # one pass over the input: every later step reads contiguous memory
    c = c.reshape((len(table),) + c.shape[nd:])
    best = np.maximum(c[0], c[1])
    for q in range(2, len(table)):
        np.maximum(best, c[q], out=best)
    res = np.empty_like(a, shape=a.shape[:-nd] + out, order="C")
    np.maximum(best, best, out=_tiled_view(res, nd, out, order))
    index = np.empty_like(res, dtype=np.int64, order="C")
    if type(a) is not np.ndarray:
        # the plane index of each window's first element, broadcast on the device from its
        # one plane (the plan's is materialised for NumPy's loops: M times as much to copy)
        small = _beside(_tile_base(a.shape[-nd:], k, out), a)
        base = np.broadcast_to(small[None], (math.prod(a.shape[:-nd]),) + out).transpose(order)
    np.add(_last_nan(_first_max(c, best, steps), c, best, table), base,
           out=_tiled_view(index, nd, out, order))
    return res, index


def _tiling(a, nd, k, s, p, d, out):
    """Windows that tile the input exactly (the common ``max_pool2d(x, 2)``), of a dtype
    ``np.maximum`` orders as PyTorch does."""
    return (a.dtype.kind in "fiu" and s == k and not any(p) and all(di == 1 for di in d)
            and math.prod(k) > 1 and all(o * ki <= si for o, ki, si in
                                         zip(out, k, a.shape[-nd:])))
