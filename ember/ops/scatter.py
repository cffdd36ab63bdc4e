"""Gather/scatter along a dim: gather, scatter, scatter_add, scatter_reduce, index_select,
index_add, index_copy, index_fill, index_reduce, and their in-place forms. The mask and
flat-index ops (masked_select, take, put...) live in ``masked``; the index-valued ops (nonzero,
unique...) in ``unique``.

Contract: PyTorch's signatures, dtypes, node names and error messages (index out of bounds,
index dtype, shape mismatches). Each op is linear in its differentiable inputs (or, for
scatter_reduce's prod/amax/amin, piecewise so), and each backward is the adjoint op written in
ember ops -- gather's is scatter_add into zeros, scatter_add's is gather, index_select's is
index_add -- so every rule is differentiable again. Repeated indices accumulate.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .._warn import warn_once
from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import Tensor, _wrap_dim
from ._jvp import linear, out_zeros, zeros_for
from ._registry import node_class, record, recording, register, wrap
from .inplace import register_inplace
from .segment import ufunc_at
from .shape import supports_out

_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


def _fmt(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _dtname(a):
    return _dt.from_np(a.dtype).scalar_name


def _zeros(shape, dtype, like):
    """Zeros of ``shape`` and ``dtype`` on the device of the tensor ``like``."""
    return wrap(_xp(like._data).zeros(shape, dtype=dtype))


def _xp(a):
    """The array namespace of ``a``: NumPy itself for a NumPy array (no lookup)."""
    return np if isinstance(a, np.ndarray) else namespace(a)


def _as_nd(a):
    """``a`` with at least one dim (PyTorch treats a 0-d tensor as size [1] here)."""
    return a.reshape(1) if a.ndim == 0 else a


def _bounds(idx, n, dim):
    """Raise PyTorch's error for the first index outside ``[0, n)``."""
    if idx.size:
        bad = (idx < 0) | (idx >= n)
        if bad.any():
            v = int(idx[bad].reshape(-1)[0])
            raise RuntimeError(f"index {v} is out of bounds for dimension {dim} with size {n}")


# ==== gather / scatter along a dim ==========================================================

def _full_key(idx, dim):
    """The advanced-indexing key that picks ``a[..., idx[i, j, ...], ...]`` at ``dim``."""
    key = []
    arange = np.arange if isinstance(idx, np.ndarray) else namespace(idx).arange
    for k, n in enumerate(idx.shape):
        if k == dim:
            key.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[k] = n
            key.append(arange(n).reshape(shape))
    return tuple(key)


def _check_gather(op, a, dim, idx, src=None):
    """Raise PyTorch's error for a bad index/src; True when ``idx`` is empty (nothing to do).

    NOTE: PyTorch skips every check for an empty index: its dtype (a float ``torch.tensor([])``
    works) and its number of dims alike; the caller then only copies (scatter) or returns an
    empty result of the index's shape (gather)."""
    if idx.size == 0:
        return True
    if idx.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")
    if max(a.ndim, 1) != max(idx.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           + ("input tensor" if op == "gather" else "self tensor"))
    if src is not None and max(src.ndim, 1) != max(idx.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    a1, i1 = _as_nd(a), _as_nd(idx)
    s1 = _as_nd(src) if src is not None else None
    for k in range(i1.ndim):
        if k != dim and i1.shape[k] > a1.shape[k] or (
                s1 is not None and i1.shape[k] > s1.shape[k]):
            if op == "gather":
                raise RuntimeError(
                    f"Size does not match at dimension {k} expected index {_fmt(idx.shape)} to "
                    f"be no larger than self {_fmt(a.shape)} apart from dimension {dim}")
            raise RuntimeError(
                f"Expected index {_fmt(idx.shape)} to be no larger than self {_fmt(a.shape)} "
                f"apart from dimension {dim}" + (
                    f" and to be no larger size than src {_fmt(src.shape)}"
                    if src is not None else ""))
    _bounds(idx, a1.shape[dim], dim)
    return False


def _src_part(src, idx_shape):
    """The leading ``idx_shape`` block of ``src`` (PyTorch reads only that much of src)."""
    s = _as_nd(src)
    if s.shape == tuple(idx_shape):
        return s
    return s[tuple(slice(0, n) for n in idx_shape)]


def _scatter_add_array(out, key, values):
    """``out[key] += values`` with repeated positions accumulating (in place on ``out``, a
    fresh C-contiguous array); ``key`` is a ``_full_key`` and ``values`` has its shape."""
    if out.dtype.kind == "f" and values.size:
        # NOTE: a bincount over flat positions (built from the key's broadcasting aranges) is
        # several times faster than np.add.at with one index array per dim.
        flat = 0
        step = 1
        for k in range(out.ndim - 1, -1, -1):
            flat = flat + key[k] * step
            step *= out.shape[k]
        flat = np.broadcast_to(flat, values.shape).ravel()
        sums = np.bincount(flat, weights=values.ravel(), minlength=out.size)
        out.reshape(-1)[...] += sums.astype(out.dtype, copy=False)
    else:
        ufunc_at(np.add, out, key, values)


# ---- gather ----
def _gather_vjp(ctx, g):
    # NOTE: PyTorch's node saves the input (only its shape is used) and the index: changing
    # either in place before the backward is the saved-tensor error
    _, index = ctx.saved_tensors
    dim, _, in_shape = ctx.args
    return (_zeros(in_shape, g._data.dtype, g).scatter_add(dim, index, g),)


GatherBackward0 = node_class("GatherBackward0", _gather_vjp, linear(
    lambda ctx, dx: gather(dx, ctx.args[0], ctx.args[1])))


@supports_out("gather")
def gather(input, dim, index, *, sparse_grad=False):
    """``out[i][j] = input[i][index[i][j]]`` (for ``dim=1``): values picked along ``dim``."""
    a, idx = input._data, index._data
    d = _wrap_dim(dim, a.ndim)
    if _check_gather("gather", a, d, idx):
        data = _xp(a).empty(idx.shape, a.dtype)
    else:
        data = _as_nd(a)[_full_key(_as_nd(idx), d)].reshape(idx.shape)
    if STATE.enabled and recording(input):
        return record(GatherBackward0, data, (input,), save=(input, index),
                      args=(d, index, a.shape))
    return wrap(data)


# ---- scatter ----
def _scatter_vjp(ctx, g):
    dim, index = ctx.args
    gx = g.scatter(dim, index, 0.0) if ctx.next_functions[0][0] is not None else None
    if len(ctx.next_functions) > 1 and ctx.next_functions[1][0] is not None:
        return gx, g.gather(dim, index)
    return (gx,) if len(ctx.next_functions) == 1 else (gx, None)


def _scatter_jvp(ctx, dx, dsrc=None):
    dim, index = ctx.args
    dx = dx if dx is not None else zeros_for(ctx, 0)
    if len(ctx.next_functions) == 1:
        return dx.scatter(dim, index, 0.0)
    if dsrc is None:
        shape = index._data.shape
        dsrc = _zeros(shape, ctx._meta[0][1], dx)
    return dx.scatter(dim, index, dsrc)


ScatterBackward0 = node_class("ScatterBackward0", _scatter_vjp, _scatter_jvp)
ScatterBackward1 = node_class("ScatterBackward1", _scatter_vjp, _scatter_jvp)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """``input`` with ``src`` (a tensor, or a number ``value``) written at ``index`` along
    ``dim``; ``reduce='add'/'multiply'`` combines instead (PyTorch's deprecated form)."""
    if src is None:
        src = value
    a, idx = input._data, index._data
    d = _wrap_dim(dim, a.ndim)
    is_tensor = isinstance(src, Tensor)
    if is_tensor and src._data.dtype != a.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    empty = _check_gather("scatter", a, d, idx, src._data if is_tensor else None)
    out = _as_nd(a).copy()
    key = None if empty else _full_key(_as_nd(idx), d)
    if reduce is not None:
        return _scatter_deprecated(input, out, key, src, reduce, is_tensor)
    if empty:
        pass
    elif is_tensor:
        out[key] = _src_part(src._data, _as_nd(idx).shape)
    else:
        out[key] = src.item() if isinstance(src, Tensor) else src
    data = out.reshape(a.shape)
    if STATE.enabled:
        if is_tensor and recording(input, src):
            return record(ScatterBackward0, data, (input, src), args=(d, index))
        if not is_tensor and recording(input):
            return record(ScatterBackward1, data, (input,), args=(d, index))
    return wrap(data)


def _not_implemented(ctx, *grads):
    raise RuntimeError("derivative for aten::scatter is not implemented")


ScatterNotImplemented = node_class("NotImplemented", _not_implemented, _not_implemented,
                                   display_name="torch::autograd::NotImplemented")


def _scatter_deprecated(input, out, key, src, reduce, is_tensor):
    """scatter(..., reduce='add'/'multiply'): PyTorch's deprecated form, with no derivative."""
    if reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if is_tensor:
        import warnings

        warnings.warn(
            "The reduce argument of torch.scatter with Tensor src is deprecated and will be "
            "removed in a future PyTorch release. Use torch.scatter_reduce instead for more "
            "reduction options.", UserWarning, stacklevel=3)
    if key is not None:
        if is_tensor:
            vals = _src_part(src._data, key[0].shape if len(key) == 1 else
                             np.broadcast_shapes(*(k.shape for k in key)))
        else:
            vals = src.item() if isinstance(src, Tensor) else src
        ufunc_at(np.add if reduce == "add" else np.multiply, out, key, vals)
    data = out.reshape(input._data.shape)
    if STATE.enabled and recording(input, src if is_tensor else None):
        return record(ScatterNotImplemented, data, (input, src if is_tensor else None))
    return wrap(data)


# ---- scatter_add ----
def _scatter_add_vjp(ctx, g):
    dim, index = ctx.args
    gs = g.gather(dim, index) if ctx.next_functions[1][0] is not None else None
    return g, gs


def _scatter_add_jvp(ctx, dx, dsrc):
    dim, index = ctx.args
    dx = dx if dx is not None else zeros_for(ctx, 0)
    if dsrc is None:
        return dx
    return dx.scatter_add(dim, index, dsrc)


ScatterAddBackward0 = node_class("ScatterAddBackward0", _scatter_add_vjp, _scatter_add_jvp)


def scatter_add(input, dim, index, src):
    """``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
    a, idx, s = input._data, index._data, src._data
    d = _wrap_dim(dim, a.ndim)
    if s.dtype != a.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    empty = _check_gather("scatter", a, d, idx, s)
    out = _as_nd(a).copy()
    if not empty:
        i1 = _as_nd(idx)
        _scatter_add_array(out, _full_key(i1, d), _src_part(s, i1.shape))
    data = out.reshape(a.shape)
    if STATE.enabled and recording(input, src):
        return record(ScatterAddBackward0, data, (input, src), args=(d, index))
    return wrap(data)


# ---- scatter_reduce ----
_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _scatter_reduce_vjp(ctx, g):
    dim, index, reduce, include_self, count = ctx.args
    x, src, out = ctx.saved_tensors
    # keep: where self's old value still counts (include_self=False drops it where src lands)
    keep = _untouched(index, dim, x._data.shape) if not include_self else None
    if reduce == "sum":
        gx = g if keep is None else g.masked_fill(~keep, 0.0)
        gs = g.gather(dim, index)
    elif reduce == "mean":
        gc = g / count
        gx = gc if keep is None else gc.masked_fill(~keep, 0.0)
        gs = gc.gather(dim, index)
    else:
        # NOTE: these rules combine the whole src with index-shaped tensors, so (as in PyTorch)
        # a src larger than index raises the broadcast error, or where index's extra dims are
        # 1, broadcasts: src's elements past index get gradients too.
        ss, si = src._data.shape, index._data.shape
        if ss != si:
            from .pointwise import check_broadcast

            check_broadcast(ss, si)
        if reduce == "prod":
            gx, gs = _prod_grads(g, x, src, out, dim, index, include_self, keep)
        else:
            # NOTE: amax/amin split the gradient evenly among the tied maximal elements
            # (self and src alike), as PyTorch does. With include_self=False a self element
            # equal to the result still takes its share (that share is then dropped), as in
            # PyTorch.
            value = out.gather(dim, index)
            x_is = x == out
            s_is = src == value
            n = x_is.to(g.dtype).scatter_add(dim, index, s_is.to(g.dtype))
            gd = g / n
            if keep is not None:
                x_is = x_is & keep
            gx = gd.masked_fill(~x_is, 0.0)
            gs = gd.gather(dim, index).masked_fill(~s_is, 0.0)
    return (gx if ctx.next_functions[0][0] is not None else None,
            gs if ctx.next_functions[1][0] is not None else None)


def _prod_grads(g, x, src, out, dim, index, include_self, keep):
    """Gradients of scatter_reduce's prod: each contributor gets the product of the others.

    NOTE: PyTorch's formulation, exact at zeros: self's is the product with self replaced by
    1, divided by self where self is not 0; src's counts src's zeros only (a zero self makes
    the product 0 anyway): a lone zero gets the product with it replaced by 1, the others the
    result divided by themselves, and where two or more zeros meet nobody gets a gradient. It
    is also what a src larger than index broadcasts through, second derivatives included.
    """
    from .select import where

    x1 = x.masked_fill(x == 0, 1.0)
    gx = g * x1.scatter_reduce(dim, index, src, "prod", include_self=include_self) / x1
    if keep is not None:
        gx = gx.masked_fill(~keep, 0.0)
    sz = src == 0
    src_zeros = _zeros(x._data.shape, g._data.dtype, x).scatter_add(
        dim, index, sz.to(g.dtype)).gather(dim, index)
    lone = sz & (src_zeros == 1)
    without = x.scatter_reduce(dim, index, src.masked_fill(lone, 1.0), "prod",
                               include_self=include_self)
    gs = where(lone, (g * without).gather(dim, index),
               (g * out).gather(dim, index) / src.masked_fill(sz, 1.0))
    return gx, gs.masked_fill(src_zeros > 1, 0.0)


def _untouched(index, dim, shape):
    """Bool tensor of ``shape``: True where no element of ``index`` lands."""
    hit = _xp(index._data).zeros(tuple(shape) or (1,), dtype=bool)
    if index._data.size:
        hit[_full_key(_as_nd(index._data), dim)] = True
    return wrap(~hit.reshape(shape))


def _scatter_reduce_jvp(ctx, dx, dsrc):
    if ctx.args[2] == "prod":
        return None  # NOTE: PyTorch's forward AD leaves 'prod' without a tangent
    # NOTE: each output element is a function of the self element and the src elements that
    # land on it: the JVP is the VJP's per-element weights applied to the tangents.
    dim, index, reduce, include_self, count = ctx.args
    if reduce in ("amax", "amin"):
        return _extreme_jvp(ctx, dx, dsrc)
    if reduce in ("sum", "mean"):
        # linear in (self, src): the op itself on the tangents, so a dropped self element's
        # tangent (include_self=False) is left out, never multiplied by a zero weight (a NaN
        # tangent there would leak), as PyTorch's forward formula
        x, src = ctx.saved_tensors[:2]
        dx = zeros_for(ctx, 0, like=x) if dx is None else dx
        dsrc = zeros_for(ctx, 1, like=src) if dsrc is None else dsrc
        return dx.scatter_reduce(dim, index, dsrc, reduce, include_self=include_self)
    shape, dtype = ctx._meta[0][:2]
    one = wrap(_xp(ctx.saved_tensors[0]._data).ones(shape, dtype=dtype))
    gx, gs = _scatter_reduce_vjp(_Probe(ctx), one)
    total = out_zeros(ctx)
    if dx is not None and gx is not None:
        total = total + dx * gx
    if dsrc is not None and gs is not None:
        total = total.scatter_add(dim, index, _src_t(dsrc, index) * _src_t(gs, index))
    return total


def _extreme_jvp(ctx, dx, dsrc):
    """amax/amin: the mean of the tangents of the elements equal to the result.

    NOTE: PyTorch's forward formula, which differs from its backward: the tied tangents are
    selected (an infinite one elsewhere stays out) and summed by a 'sum' scatter_reduce with the
    op's include_self, so with include_self=False a self element equal to the result counts in
    neither the sum nor the count where src lands."""
    from .select import where

    dim, index, reduce, include_self, count = ctx.args
    x, src, out = ctx.saved_tensors
    dt = _dt.from_np(ctx._meta[0][1])
    dx = zeros_for(ctx, 0, like=x) if dx is None else dx
    dsrc = zeros_for(ctx, 1, like=src) if dsrc is None else dsrc
    # (a src larger than index raises the broadcast error here, as in PyTorch)
    x_is = x == out
    s_is = src == out.gather(dim, index)
    n = x_is.to(dt).scatter_reduce(dim, index, s_is.to(dt), "sum", include_self=include_self)
    total = where(x_is, dx, 0.0).scatter_reduce(dim, index, where(s_is, dsrc, 0.0), "sum",
                                                include_self=include_self)
    return total / n


def _src_t(s, index):
    ishape = index._data.shape
    if tuple(s._data.shape) == tuple(ishape):
        return s
    return s[tuple(slice(0, n) for n in ishape)]


class _Probe:
    """A stand-in ctx that asks for both gradients (for the JVP's per-element weights)."""

    def __init__(self, ctx):
        self.args = ctx.args
        self.saved_tensors = ctx.saved_tensors
        self.next_functions = ((True, 0), (True, 0))


ScatterReduceBackward0 = node_class("ScatterReduceBackward0", _scatter_reduce_vjp,
                                    _scatter_reduce_jvp)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce ``src`` into ``input`` at ``index`` along ``dim`` with ``reduce`` (sum, prod,
    mean, amax, amin); ``include_self=False`` leaves the written positions' old values out."""
    a, idx, s = input._data, index._data, src._data
    d = _wrap_dim(dim, a.ndim)
    if reduce not in _REDUCES:
        raise RuntimeError(
            "reduce argument must be either sum, prod, mean, amax or amin, got " + str(reduce))
    if s.dtype != a.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    _check_gather("scatter", a, d, idx, s)
    return _scatter_reduce(input, d, index, src, reduce, include_self, ScatterReduceBackward0)


def _scatter_reduce(input, d, index, src, reduce, include_self, node_cls):
    a, idx, s = input._data, index._data, src._data
    out = _as_nd(a).copy()
    count = None
    if idx.size == 0:
        if reduce == "mean":
            count = wrap(_xp(a).ones(a.shape, a.dtype if a.dtype.kind in "fV" else np.float64))
        data = out.reshape(a.shape)
        if STATE.enabled and recording(input, src):
            return record(node_cls, data, (input, src), save=(input, src),
                          args=(d, index, reduce, include_self, count), save_out=True)
        return wrap(data)
    i1 = _as_nd(idx)
    key = _full_key(i1, d)
    vals = _src_part(s, i1.shape)
    if not include_self:
        fill = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
        if fill is None:
            fill = _extreme(a.dtype, reduce == "amax")
        out[key] = fill
    if reduce in ("sum", "mean"):
        _scatter_add_array(out, key, vals)
        if reduce == "mean":
            n = _xp(out).zeros(out.shape, dtype=np.int64)
            ufunc_at(np.add, n, key, 1)
            if include_self:
                n += 1
            n = np.maximum(n, 1)
            if out.dtype.kind in "iu":
                out //= n.astype(out.dtype)
            else:
                out /= n
            count = wrap(n.reshape(a.shape).astype(a.dtype if a.dtype.kind in "fV" else
                                                   np.float64))
    elif reduce == "prod":
        ufunc_at(np.multiply, out, key, vals)
    elif reduce == "amax":
        ufunc_at(np.maximum, out, key, vals)
    else:
        ufunc_at(np.minimum, out, key, vals)
    data = out.reshape(a.shape)
    if STATE.enabled and recording(input, src):
        return record(node_cls, data, (input, src), save=(input, src),
                      args=(d, index, reduce, include_self, count), save_out=True)
    return wrap(data)


# ---- index_reduce ----
def _index_reduce_jvp(ctx, *tangents):
    raise NotImplementedError(
        "Trying to use forward AD with index_reduce that does not support it because it has "
        "not been implemented yet.\nPlease file an issue to PyTorch at https://github.com/"
        "pytorch/pytorch/issues/new?template=feature-request.yml so that we can prioritize its "
        "implementation or submit a PR adding the implementation to derivatives.yaml")


IndexReduceBackward0 = node_class("IndexReduceBackward0", _scatter_reduce_vjp,
                                  _index_reduce_jvp)


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """Reduce the slices of ``source`` into ``input``'s slices at ``index`` along ``dim`` with
    ``reduce`` (prod, mean, amax, amin)."""
    warn_once("index_reduce() is in beta and the API may change at any time.")
    a, s = input._data, source._data
    d = _wrap_dim(dim, a.ndim)
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(
            f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce}.")
    idx = _check_vector_index("index_reduce_", index)
    _check_index_source("index_reduce_", a, d, idx, s)
    n = _as_nd(a).shape[d]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    if s.dtype != a.dtype:
        raise RuntimeError(f"index_reduce_(): self ({_dtname(a)}) and source ({_dtname(s)}) "
                           "must have the same scalar type")
    # NOTE: index_reduce is scatter_reduce with the index spread over source's other dims.
    shape = [1] * max(s.ndim, 1)
    shape[d] = idx.size
    full = wrap(np.broadcast_to(idx.astype(np.int64).reshape(shape), _as_nd(s).shape)
                .reshape(s.shape))
    return _scatter_reduce(input, d, full, source, reduce, include_self, IndexReduceBackward0)


def _extreme(dtype, lowest):
    if dtype.kind in "fV":  # ("V": bfloat16)
        return -np.inf if lowest else np.inf
    info = np.iinfo(dtype) if dtype.kind in "iu" else None
    if info is None:
        return not lowest
    return info.min if lowest else info.max


# ==== index_* along a dim ===================================================================

# PyTorch's checks of a 1-D index differ per op: (allowed dtypes, bad dtype error, not-1-D
# error), each error as (class, message format).
_VECTOR_INDEX = {
    "index_add_": (_INDEX_DTYPES,
                   (RuntimeError, "index_add_(): Expected dtype int32/int64 for index but got: "
                                  "{dtype}"),
                   (IndexError, "index_add_(): Index is supposed to be a vector, but got dim: "
                                "{ndim} with type: {dtype} and size: {shape}")),
    "index_copy_": ((np.dtype(np.int64),),
                    (RuntimeError, "index_copy_(): Expected a long tensor for index, but got "
                                   "{dtype}"),
                    (IndexError, "index_copy_(): Index should have dimension 1 or 0 (got "
                                 "{ndim})")),
    "index_fill_": ((np.dtype(np.int64),),
                    (IndexError, "index_fill_(): Expected dtype int64 for index."),
                    (RuntimeError, "Index has to be a vector/scalar")),
    "index_select": (_INDEX_DTYPES,
                     (RuntimeError, "index_select(): Expected dtype int32 or int64 for index"),
                     (IndexError, "index_select(): Index is supposed to be a vector")),
    "index_reduce_": (_INDEX_DTYPES,
                      (RuntimeError, "index_reduce_(): Expected dtype int32/int64 for index but "
                                     "got: {dtype}"),
                      (IndexError, "index_reduce_(): Index is supposed to be a vector, but got "
                                   "dim: {ndim} with type: {dtype} and size: {shape}")),
}


def _check_vector_index(op, index):
    idx = index._data
    dtypes, bad_dtype, bad_ndim = _VECTOR_INDEX[op]
    facts = {"dtype": _dtname(idx), "ndim": idx.ndim, "shape": _fmt(idx.shape)}
    if idx.dtype not in dtypes:
        raise bad_dtype[0](bad_dtype[1].format(**facts))
    if idx.ndim > 1:
        raise bad_ndim[0](bad_ndim[1].format(**facts))
    return idx.reshape(-1)


def _moved(a, d):
    return np.moveaxis(_as_nd(a), d, 0)


# ---- index_select ----
def _index_select_vjp(ctx, g):
    dim, index, in_shape = ctx.args
    return (_zeros(in_shape, g._data.dtype, g).index_add(dim, index, g),)


IndexSelectBackward0 = node_class("IndexSelectBackward0", _index_select_vjp, linear(
    lambda ctx, dx: index_select(dx, ctx.args[0], ctx.args[1])))


@supports_out("index_select")
def index_select(input, dim, index):
    """The entries of ``input`` at positions ``index`` (a 1-D integer tensor) along ``dim``."""
    a = input._data
    d = _wrap_dim(dim, a.ndim)
    idx = _check_vector_index("index_select", index)
    if a.ndim == 0 and idx.size != 1:
        raise RuntimeError("index_select(): Index to scalar can have only 1 value, got "
                           f"{idx.size} value(s)")
    n = _as_nd(a).shape[d]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    data = np.take(_as_nd(a), idx, axis=d)
    if a.ndim == 0:
        data = data.reshape(())
    if STATE.enabled and recording(input):
        return record(IndexSelectBackward0, data, (input,), args=(d, index, a.shape))
    return wrap(data)


# ---- index_add ----
def _index_add_vjp(ctx, g):
    dim, index, alpha = ctx.args
    gs = None
    if ctx.next_functions[1][0] is not None:
        gs = g.index_select(dim, index)
        if alpha != 1:
            gs = gs * alpha
    return g, gs


def _index_add_jvp(ctx, dx, dsrc):
    dim, index, alpha = ctx.args
    dx = dx if dx is not None else zeros_for(ctx, 0)
    if dsrc is None:
        return dx
    return dx.index_add(dim, index, dsrc, alpha=alpha)


IndexAddBackward0 = node_class("IndexAddBackward0", _index_add_vjp, _index_add_jvp)


def _check_index_source(op, a, d, idx, s):
    a1, s1 = _as_nd(a).shape, _as_nd(s).shape
    same_slices = a.ndim == s.ndim and all(
        x == y for k, (x, y) in enumerate(zip(a1, s1)) if k != d)
    if not same_slices:
        if op == "index_copy_":
            rest = [k for k in range(len(a1)) if k != d]
            raise RuntimeError(
                "index_copy_(): Source/destination tensor must have same slice shapes. "
                f"Destination slice shape: {', '.join(str(a1[k]) for k in rest)} at dimension "
                f"{d} and source slice shape: "
                f"{', '.join(str(s1[k]) for k in range(len(s1)) if k != d)} at dimension 0.")
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {_fmt(a.shape)} source.shape = {_fmt(s.shape)}")
    ns = s1[d]
    if idx.size != ns:
        if op == "index_copy_":
            raise IndexError(f"index_copy_(): Number of indices ({idx.size}) should be equal "
                             f"to source.size(dim) ({ns})")
        raise RuntimeError(f"{op}(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({ns}), for dim: {d}")


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at positions ``index`` along ``dim`` (repeated
    positions accumulate)."""
    a, s = input._data, source._data
    d = _wrap_dim(dim, a.ndim)
    idx = _check_vector_index("index_add_", index)
    _check_index_source("index_add_", a, d, idx, s)
    if s.dtype != a.dtype:
        raise RuntimeError(f"index_add_(): self ({_dtname(a)}) and source ({_dtname(s)}) must "
                           "have the same scalar type")
    # NOTE: PyTorch checks nothing more when there is nothing to add (or, above 1-D, nothing
    # to add to); a 0/1-D self has its own message
    if s.size and a.ndim <= 1:
        n = _as_nd(a).shape[0]
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError("index out of range in self")
    elif s.size and a.size:
        _bounds(idx, _as_nd(a).shape[d], d)
    out = _as_nd(a).copy()
    vals = _moved(s, d) if s.ndim else s.reshape(1)
    if alpha != 1:
        vals = vals * alpha
    if out.size and vals.size:
        ufunc_at(np.add, np.moveaxis(out, d, 0), idx, vals.astype(out.dtype, copy=False))
    data = out.reshape(a.shape)
    if STATE.enabled and recording(input, source):
        return record(IndexAddBackward0, data, (input, source), args=(d, index, alpha))
    return wrap(data)


# ---- index_copy ----
def _index_copy_vjp(ctx, g):
    dim, index = ctx.args
    gx = g.index_fill(dim, index, 0.0) if ctx.next_functions[0][0] is not None else None
    gs = g.index_select(dim, index) if ctx.next_functions[1][0] is not None else None
    return gx, gs


def _index_copy_jvp(ctx, dx, dsrc):
    dim, index = ctx.args
    dx = dx if dx is not None else zeros_for(ctx, 0)
    if dsrc is None:
        return dx.index_fill(dim, index, 0.0)
    return dx.index_copy(dim, index, dsrc)


IndexCopyBackward0 = node_class("IndexCopyBackward0", _index_copy_vjp, _index_copy_jvp)


def index_copy(input, dim, index, source):
    """``input`` with the slices at ``index`` along ``dim`` replaced by ``source``'s."""
    a, s = input._data, source._data
    d = _wrap_dim(dim, a.ndim)
    idx = _check_vector_index("index_copy_", index)
    _check_index_source("index_copy_", a, d, idx, s)
    if s.dtype != a.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {_dtname(a)} and (source) {_dtname(s)}")
    n = _as_nd(a).shape[d]
    if s.size and idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)][0]
        raise IndexError(f"index_copy_(): index {bad} is out of bounds for dimension {d} with "
                         f"size {n}")
    out = _as_nd(a).copy()
    vals = _moved(s, d) if s.ndim else s.reshape(1)
    if vals.size:
        np.moveaxis(out, d, 0)[idx] = vals
    data = out.reshape(a.shape)
    if STATE.enabled and recording(input, source):
        return record(IndexCopyBackward0, data, (input, source), args=(d, index))
    return wrap(data)


# ---- index_fill ----
def _index_fill_vjp(ctx, g):
    dim, index = ctx.args
    gx = g.index_fill(dim, index, 0.0) if ctx.next_functions[0][0] is not None else None
    if len(ctx.next_functions) == 1:
        return (gx,)
    gv = None
    if ctx.next_functions[1][0] is not None:
        gv = g.index_select(dim, _wrapped_index(index, dim, g)).sum()
    return gx, gv


def _wrapped_index(index, dim, t):
    idx = index._data.reshape(-1)
    n = _as_nd(t._data).shape[dim]
    return wrap(np.where(idx < 0, idx + n, idx))


def _index_fill_jvp(ctx, dx, dv=None):
    dim, index = ctx.args
    dx = dx if dx is not None else zeros_for(ctx, 0)
    if dv is None:
        return dx.index_fill(dim, index, 0.0)
    return dx.index_fill(dim, index, dv)


IndexFillBackward0 = node_class("IndexFillBackward0", _index_fill_vjp, _index_fill_jvp)
IndexFillBackward1 = node_class("IndexFillBackward1", _index_fill_vjp, _index_fill_jvp)


def index_fill(input, dim, index, value):
    """``input`` with the slices at ``index`` along ``dim`` set to ``value`` (a number or a
    0-dim tensor); negative indices count from the end."""
    a = input._data
    d = _wrap_dim(dim, a.ndim)
    idx = _check_vector_index("index_fill_", index)
    n = _as_nd(a).shape[d]
    if a.size and idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)][0]
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")
    is_tensor = isinstance(value, Tensor)
    if is_tensor and value._data.ndim != 0:
        raise RuntimeError(
            "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value._data.ndim} dimension(s).")
    out = _as_nd(a).copy()
    if out.size:
        np.moveaxis(out, d, 0)[idx] = value._data if is_tensor else value
    data = out.reshape(a.shape)
    if STATE.enabled:
        if is_tensor and recording(value):
            return record(IndexFillBackward1, data, (input, value), args=(d, index))
        if recording(input):
            return record(IndexFillBackward0, data, (input,), args=(d, index))
    return wrap(data)


# ==== registration =========================================================================

for _name in ("gather", "scatter", "scatter_add", "scatter_reduce", "index_select",
              "index_add", "index_copy", "index_fill", "index_reduce"):
    register(globals()[_name], _name)
register_inplace(scatter, scatter_add, scatter_reduce, index_add, index_copy, index_fill,
                 index_reduce)
