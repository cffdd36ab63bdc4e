"""Mask and flat-index gathers/scatters: masked_select, masked_scatter (elements picked by a
boolean mask), take, take_along_dim and put (elements addressed by index into the flattened
input), and put_/masked_scatter_ in place. The along-a-dim gathers and scatters live in
``scatter``; the index-valued ops (nonzero, unique...) in ``unique``.

Contract: PyTorch's signatures, dtypes, node names and error messages (index out of bounds,
mask dtype, shape mismatches). Each op is linear in its differentiable inputs and each backward
is the adjoint op written in ember ops (take's is put with accumulate, masked_select's is
masked_scatter into zeros), so every rule is differentiable again. Repeated indices accumulate.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import _wrap_dim
from ._jvp import linear, zeros_for
from ._registry import node_class, record, recording, register, wrap
from .inplace import register_inplace
from .scatter import _dtname, _zeros, gather
from .segment import ufunc_at
from .shape import supports_out

# ==== masks =================================================================================

def _check_mask(op, mask):
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{_dtname(mask._data)}")


def _bshape(a, b):
    """The broadcast shape of ``a`` and ``b``, with PyTorch's error for an op's operands."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        for i in range(1, min(len(a), len(b)) + 1):
            if a[-i] != b[-i] and 1 not in (a[-i], b[-i]):
                raise RuntimeError(
                    f"The size of tensor a ({a[-i]}) must match the size of tensor b ({b[-i]}) "
                    f"at non-singleton dimension {max(len(a), len(b)) - i}") from None
        raise


# ---- masked_select ----
def _masked_select_vjp(ctx, g):
    # NOTE: PyTorch's node saves the input and the mask (the rule needs only the mask and the
    # shape): changing either in place before the backward is the saved-tensor error
    _, mask = ctx.saved_tensors
    shape = ctx.args[1]
    return (_zeros(shape, g._data.dtype, g).masked_scatter(mask.expand(shape), g),)


MaskedSelectBackward0 = node_class("MaskedSelectBackward0", _masked_select_vjp, linear(
    lambda ctx, dx: masked_select(dx, ctx.args[0])))


@supports_out("masked_select")
def masked_select(input, mask):
    """The elements of ``input`` where the bool ``mask`` (broadcast) is True, as a 1-D
    tensor."""
    if mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    a, m = input._data, mask._data
    shape = _bshape(m.shape, a.shape)
    data = np.broadcast_to(a, shape)[np.broadcast_to(m, shape)]
    if STATE.enabled and recording(input):
        return record(MaskedSelectBackward0, data, (input,), save=(input, mask),
                      args=(mask, shape))
    return wrap(data)


# ---- masked_scatter ----
def _masked_scatter_vjp(ctx, g):
    mask, src_shape = ctx.args
    gx = g.masked_fill(mask, 0.0) if ctx.next_functions[0][0] is not None else None
    gs = None
    if ctx.next_functions[1][0] is not None:
        # the first mask.sum() elements of source were used, in order; the rest get zero
        picked = g.masked_select(mask)
        size = int(np.prod(src_shape))
        rest = size - picked._data.size
        if rest:
            picked = _cat((picked, _zeros((rest,), g._data.dtype, g)))
        gs = picked.reshape(src_shape)
    return gx, gs


def _cat(parts):
    from .join import cat

    return cat(parts)


def _masked_scatter_jvp(ctx, dx, dsrc):
    mask, src_shape = ctx.args
    dx = dx if dx is not None else zeros_for(ctx, 0)
    if dsrc is None:
        return dx.masked_fill(mask, 0.0)
    return dx.masked_scatter(mask, dsrc)


MaskedScatterBackward0 = node_class("MaskedScatterBackward0", _masked_scatter_vjp,
                                    _masked_scatter_jvp)


def masked_scatter(input, mask, source):
    """``input`` with the elements where ``mask`` is True replaced, in order, by the first
    elements of ``source``."""
    _check_mask("masked_scatter_", mask)
    a, m, s = input._data, mask._data, source._data
    shape = _bshape(m.shape, a.shape)
    m = np.broadcast_to(m, shape)
    k = int(m.sum())
    if s.dtype != a.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{_dtname(a)} and {_dtname(s)}")
    if k > s.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    b = np.broadcast_to(a, shape)
    out = np.array(b) if isinstance(b, np.ndarray) else b.copy()  # (a device array copies itself)
    out[m] = s.reshape(-1)[:k]
    if STATE.enabled and recording(input, source):
        return record(MaskedScatterBackward0, out, (input, source),
                      args=(wrap(m), s.shape))
    return wrap(out)


# ==== flat indices ==========================================================================

# ---- take ----
def _take_vjp(ctx, g):
    _ = ctx.saved_tensors  # (unpacked only for the version check PyTorch makes)
    index, shape = ctx.args
    flat = _zeros((int(np.prod(shape)),), g._data.dtype, g)
    return (flat.index_add(0, index, g.reshape(-1)).reshape(shape),)


TakeBackward0 = node_class("TakeBackward0", _take_vjp, linear(
    lambda ctx, dx: dx.reshape(-1).index_select(0, ctx.args[0]).reshape(ctx._meta[0][0])))


def take(input, index):
    """The elements of ``input`` seen as 1-D at ``index`` (result has ``index``'s shape)."""
    a, idx = input._data, index._data
    if idx.dtype != np.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_dtname(idx)}")
    n = a.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx[(idx < -n) | (idx >= n)].reshape(-1)[0])
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    flat_idx = np.where(idx < 0, idx + n, idx)
    data = a.reshape(-1)[flat_idx]
    if STATE.enabled and recording(input):
        # (input is saved only so that changing it in place fails backward, as PyTorch)
        return record(TakeBackward0, data, (input,), save=(input,),
                      args=(wrap(flat_idx.reshape(-1)), a.shape))
    return wrap(data)


# ---- take_along_dim ----
@supports_out("take_along_dim")
def take_along_dim(input, indices, dim=None):
    """``gather`` after broadcasting ``input`` and ``indices`` against each other except
    along ``dim`` (the flattened input when ``dim`` is None)."""
    idx = indices._data
    if dim is None:
        # NOTE: PyTorch checks nothing itself here: gather's checks apply (an int32 index, or
        # an empty one of any dtype, works)
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if idx.dtype != np.int64:
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_dtname(idx)}")
    a = input._data
    if a.ndim == 0:
        raise IndexError(f"Dimension specified as {_wrap_dim(dim, 0)} but tensor has no "
                         "dimensions")
    if a.ndim != idx.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {a.ndim} dimensions for input, and {idx.ndim} dimensions "
            "for indices")
    d = _wrap_dim(dim, a.ndim)
    ai = list(a.shape)
    ii = list(idx.shape)
    ai[d] = ii[d] = 1
    b = list(_bshape(tuple(ai), tuple(ii)))
    bx, bi = list(b), list(b)
    bx[d], bi[d] = a.shape[d], idx.shape[d]
    x = input if tuple(bx) == a.shape else input.expand(bx)
    if idx.size and idx.min() < 0:
        # NOTE: unlike gather, take_along_dim accepts negative indices (from the end)
        indices = wrap(np.where(idx < 0, idx + a.shape[d], idx))
    i = indices if tuple(bi) == idx.shape else indices.expand(bi)
    return gather(x, d, i)


# ---- put ----
def _put_vjp(ctx, g):
    index, accumulate, src_shape = ctx.args
    gx = None
    if ctx.next_functions[0][0] is not None:
        gx = g if accumulate else g.put(index, _zeros(index._data.shape, g._data.dtype, g))
    gs = None
    if ctx.next_functions[1][0] is not None:
        gs = g.take(index).reshape(src_shape)  # source need only have index's numel
    return gx, gs


def _put_jvp(ctx, dx, dsrc):
    index, accumulate, src_shape = ctx.args
    dx = dx if dx is not None else zeros_for(ctx, 0)
    if dsrc is None:
        dsrc = _zeros(index._data.shape, ctx._meta[0][1], dx)
        if accumulate:
            return dx
    return dx.put(index, dsrc, accumulate)


PutBackward0 = node_class("PutBackward0", _put_vjp, _put_jvp)


def put(input, index, source, accumulate=False):
    """``input`` seen as 1-D with ``source`` written (or added) at ``index``."""
    a, idx, s = input._data, index._data, source._data
    if idx.dtype != np.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {_dtname(idx)}")
    if s.dtype != a.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_dtname(a)} and source.dtype = {_dtname(s)}")
    if idx.size != s.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {s.size}, index.numel() = "
                           f"{idx.size}")
    n = a.size
    if idx.size and not n:
        raise IndexError("put_(): Tried to put elements into an empty tensor")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx[(idx < -n) | (idx >= n)].reshape(-1)[0])
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    flat_idx = np.where(idx < 0, idx + n, idx).reshape(-1)
    out = a.copy()
    flat = out.reshape(-1)
    if accumulate:
        ufunc_at(np.add, flat, flat_idx, s.reshape(-1))
    else:
        flat[flat_idx] = s.reshape(-1)
    if STATE.enabled and recording(input, source):
        return record(PutBackward0, out, (input, source), args=(index, accumulate, s.shape))
    return wrap(out)


# ==== registration =========================================================================

for _name in ("masked_scatter", "masked_select", "take", "take_along_dim"):
    register(globals()[_name], _name)
register(put, "put")
register_inplace(masked_scatter, put)
