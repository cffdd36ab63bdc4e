"""The extreme-value reductions: max/min (full, along a dim, or elementwise with a second
tensor), amax/amin, aminmax, argmax/argmin; and the rules the index-returning ops share
(``select_vjp``/``select_jvp``, ``even_vjp``, ``scatter_along``, ``take_along``), which sort.py,
scan.py and loss.py use too.

Contract: ``max(dim)``/``min(dim)`` return a ``(values, indices)`` named tuple printing like
``torch.return_types.max``, whose gradient goes to the returned index (the first extreme; NaN
wins, as PyTorch); amax/amin/aminmax and the full max/min share it evenly among ties. Empty
inputs raise PyTorch's "Expected reduction dim" errors. The ops are registered by
``reduction``, which re-exports every name here (its registration order is the op table's).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .. import return_types
from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import Tensor, _wrap_dim, as_array
from ._jvp import out_zeros
from ._reduce import _dims, _unreduce
from ._registry import node_class, record, record_multi, recording, wrap

_max_type = return_types.make("max")
_min_type = return_types.make("min")

# ---- max / min / amax / amin ----
def _amax_vjp(ctx, g):
    x, out = ctx.saved_tensors
    in_shape, dims, keepdim = ctx.args
    out = _unreduce(out, in_shape, dims, keepdim)
    g = _unreduce(g, in_shape, dims, keepdim)
    # NOTE: ties share the gradient evenly, as PyTorch's amax/amin and full max/min.
    mask = x == out
    count = mask.sum(dims, keepdim=True) if dims else mask
    return (g * mask / count,)


def select_vjp(ctx, g, g_idx=None):
    """VJP of an op returning values picked at ``indices`` along a dim (max/min with a dim,
    sort, topk, median...): ``g`` goes to the index each value came from.
    ``ctx.args = (in_shape, dim, keepdim)``; the indices are saved."""
    idx, = ctx.saved_tensors
    in_shape, d, keepdim = ctx.args
    if g is None:
        return (None,)
    if len(in_shape) and not keepdim:
        g = g.unsqueeze(d)
        idx = idx.unsqueeze(d)
    return (scatter_along(g, in_shape, d, idx),)


def select_jvp(ctx, dx, *_):
    """JVP of the same ops: the tangent picked at the indices (none for the indices)."""
    idx, = ctx.saved_tensors
    in_shape, d, keepdim = ctx.args
    if dx is None:
        return out_zeros(ctx, 0), None
    if len(in_shape) and not keepdim:
        return take_along(dx, d, idx.unsqueeze(d)).squeeze(d), None
    return take_along(dx, d, idx), None


def _xp(a):
    """The array namespace of ``a``: NumPy itself for a NumPy array (no lookup)."""
    return np if isinstance(a, np.ndarray) else namespace(a)


def _grids(idx, dim):
    a = idx._data
    if isinstance(a, np.ndarray):
        grids = list(np.indices(a.shape, sparse=True))
    else:  # (CuPy's indices has no sparse grids: the same open grid from aranges)
        xp = _xp(a)
        grids = [xp.arange(n).reshape([-1 if i == k else 1 for i in range(a.ndim)])
                 for k, n in enumerate(a.shape)]
    grids[dim] = a
    return tuple(grids)


def scatter_along(g, shape, dim, idx):
    """Zeros of ``shape`` with ``g`` added at ``idx`` along ``dim`` (differentiable; repeated
    indices accumulate)."""
    from .indexing import index_put_accumulate

    if idx.ndim == 0:  # a 0-dim input: its only element
        return g
    return index_put_accumulate(g, shape, _grids(idx, dim))


def take_along(x, dim, idx):
    """``x`` gathered at ``idx`` along ``dim`` (differentiable; the adjoint of
    ``scatter_along``)."""
    from .indexing import _advanced_index

    if idx.ndim == 0:
        return x
    return _advanced_index(x, _grids(idx, dim))


def even_vjp(ctx, g):
    """VJP of a full reduction selecting one value (max(), min(), median()): ``g`` shared
    evenly among the elements equal to it."""
    x, out = ctx.saved_tensors
    # NOTE: a NaN result shares the gradient among the NaN elements, as PyTorch's
    # evenly_distribute_backward (x == NaN would select nothing).
    mask = x.isnan() if bool(np.isnan(out._data).any()) else x == out
    from .select import where  # (a select: the others get 0 whatever g is, as PyTorch's)

    return (where(mask, g / mask.sum(), 0.0),)


def _amax_jvp(ctx, dx):
    """The mean of the tangents at the extreme, a select as in PyTorch's formula (an infinite
    tangent elsewhere stays out; a NaN extreme matches nothing: 0 / 0)."""
    if dx is None:
        return out_zeros(ctx)
    from .select import where

    x, out = ctx.saved_tensors
    in_shape, dims, keepdim = ctx.args
    mask = x == _unreduce(out, in_shape, dims, keepdim)
    return where(mask, dx, 0.0).sum(dims, keepdim=keepdim) / mask.sum(dims, keepdim=keepdim)


def _even_jvp(ctx, dx):
    """max() / min(): PyTorch's formula is a product, (dx * mask).sum() / count, so an infinite
    tangent anywhere gives NaN, and so does a NaN result (x == NaN matches nothing)."""
    if dx is None:
        return out_zeros(ctx)
    x, out = ctx.saved_tensors
    mask = x == out
    return (dx * mask).sum() / mask.sum()


AmaxBackward0 = node_class("AmaxBackward0", _amax_vjp, _amax_jvp)
AminBackward0 = node_class("AminBackward0", _amax_vjp, _amax_jvp)
MaxBackward1 = node_class("MaxBackward1", even_vjp, _even_jvp)
MinBackward1 = node_class("MinBackward1", even_vjp, _even_jvp)
# NOTE: with a dim, the gradient goes to the one index returned (the first maximum).
MaxBackward0 = node_class("MaxBackward0", select_vjp, select_jvp)
MinBackward0 = node_class("MinBackward0", select_vjp, select_jvp)


def _extreme_all(input, np_fn, node, name):
    a = input._data
    if a.size == 0:
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
            "the reduction dim with the 'dim' argument.")
    data = np_fn(a, axis=None)
    if STATE.enabled and recording(input):
        return record(node, as_array(data), (input,), save=(input,),
                      args=(a.shape, tuple(range(a.ndim)), False), save_out=True)
    return wrap(as_array(data))


def _extreme_dim(input, dim, keepdim, arg_fn, node, result_type):
    a = input._data
    d = _wrap_dim(dim, a.ndim)
    if a.ndim == 0:
        indices = wrap(_xp(a).zeros((), dtype=np.int64))
        if STATE.enabled and recording(input):
            return result_type(record(node, a.copy(), (input,), save=(indices,),
                                      args=(a.shape, d, keepdim)), indices)
        return result_type(wrap(a.copy()), indices)
    if a.shape[d] == 0:
        raise IndexError(
            f"{result_type.__name__}(): Expected reduction dim {d} to have non-zero size.")
    idx = arg_fn(a, axis=d, keepdims=True)
    values = np.take_along_axis(a, idx, axis=d)
    if not keepdim:
        values = values.squeeze(d)
        idx = idx.squeeze(d)
    idx = idx.astype(np.int64)
    indices = wrap(idx)
    if STATE.enabled and recording(input):
        out = record(node, values, (input,), save=(indices,), args=(a.shape, d, keepdim))
        return result_type(out, indices)
    return result_type(wrap(values), indices)


def _nan_arg(fn, nan_fn):
    # NOTE: NaN propagates: PyTorch's max/argmax pick the first NaN of a slice that has one;
    # the slices without one keep their own extreme
    def arg(a, axis, keepdims):
        idx = fn(a, axis=axis, keepdims=keepdims)
        if a.dtype.kind in "fcV":  # ("V": bfloat16)
            nan = np.isnan(a)
            if nan.any():
                idx = np.where(nan.any(axis=axis, keepdims=keepdims),
                               np.argmax(nan, axis=axis, keepdims=keepdims), idx)
        return idx
    return arg


_argmax_np = _nan_arg(np.argmax, None)
_argmin_np = _nan_arg(np.argmin, None)


def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001 - PyTorch's name
    """The maximum of all elements; with ``dim``, ``(values, indices)`` along it; with a
    tensor as second argument, the elementwise maximum."""
    if isinstance(dim, Tensor) or other is not None:
        from .select import maximum

        return maximum(input, dim if other is None else other)
    if input._data.dtype.kind == "u":  # NOTE [limited unsigned types] (dtypes.py)
        _dt.refuse_unsigned("max_all" if dim is None else "max_cpu", input._data.dtype)
    if dim is None:
        return _extreme_all(input, np.max, MaxBackward1, "max")
    return _extreme_dim(input, dim, keepdim, _argmax_np, MaxBackward0, _max_type)


def min(input, dim=None, keepdim=False, *, other=None):  # noqa: A001 - PyTorch's name
    """The minimum; see ``max``."""
    if isinstance(dim, Tensor) or other is not None:
        from .select import minimum

        return minimum(input, dim if other is None else other)
    if input._data.dtype.kind == "u":  # NOTE [limited unsigned types] (dtypes.py)
        _dt.refuse_unsigned("min_all" if dim is None else "min_cpu", input._data.dtype)
    if dim is None:
        return _extreme_all(input, np.min, MinBackward1, "min")
    return _extreme_dim(input, dim, keepdim, _argmin_np, MinBackward0, _min_type)


def _check_reducible(a, dims, full, name, sep="()"):
    """PyTorch's errors for reducing an empty input with no identity (max, min...)."""
    if a.size == 0:
        if full:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument.")
        for d in dims:
            if a.shape[d] == 0:
                raise IndexError(f"{name}{sep}: Expected reduction dim {d} to have non-zero "
                                 "size.")


def _amaxmin(input, dim, keepdim, np_fn, node, name):
    a = input._data
    full = dim is None or dim == () or dim == []
    dims = _dims(None if full else dim, a.ndim)
    # NOTE: PyTorch names an empty dim as it was given (-1 stays -1)
    _check_reducible(a, dims if full else (dim,) if isinstance(dim, int) else tuple(dim), full,
                     name)
    data = np_fn(a, axis=dims, keepdims=keepdim)
    if STATE.enabled and recording(input):
        return record(node, data, (input,), save=(input,), args=(a.shape, dims, keepdim),
                      save_out=True)
    return wrap(data)


def amax(input, dim=(), keepdim=False):
    """Maximum over ``dim`` (all dims by default); ties share the gradient evenly."""
    _dt.refuse_unsigned("max_values_cpu", input._data.dtype)  # NOTE [limited unsigned types]
    return _amaxmin(input, dim, keepdim, np.max, AmaxBackward0, "amax")


def amin(input, dim=(), keepdim=False):
    """Minimum over ``dim`` (all dims by default); ties share the gradient evenly."""
    _dt.refuse_unsigned("min_values_cpu", input._data.dtype)  # NOTE [limited unsigned types]
    return _amaxmin(input, dim, keepdim, np.min, AminBackward0, "amin")


# ---- aminmax ----
def _aminmax_vjp(ctx, g_min, g_max):
    x = ctx.saved_tensors[0]
    in_shape, dims, keepdim = ctx.args
    total = None
    # NOTE: as amin/amax, ties share each gradient evenly.
    for g, ext in ((g_min, x.amin(dims, keepdim=True)), (g_max, x.amax(dims, keepdim=True))):
        if g is None:
            continue
        mask = x == ext
        c = _unreduce(g, in_shape, dims, keepdim) * mask / mask.sum(dims, keepdim=True)
        total = c if total is None else total + c
    return (total,)


def _aminmax_jvp(ctx, dx):
    from .select import where

    x = ctx.saved_tensors[0]
    in_shape, dims, keepdim = ctx.args
    if dx is None:
        return out_zeros(ctx, 0), out_zeros(ctx, 1)
    outs = []
    for ext in (x.amin(dims, keepdim=True), x.amax(dims, keepdim=True)):
        mask = x == ext
        # NOTE: a select, as amax's (an infinite tangent elsewhere stays out)
        outs.append(where(mask, dx, 0.0).sum(dims, keepdim=keepdim)
                    / mask.sum(dims, keepdim=keepdim))
    return tuple(outs)


AminmaxBackward0 = node_class("AminmaxBackward0", _aminmax_vjp, _aminmax_jvp)
_aminmax_type = return_types.make("aminmax", ("min", "max"))


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (all elements when None), as a named tuple."""
    a = input._data
    _dt.refuse_unsigned("aminmax_cpu", a.dtype)  # NOTE [limited unsigned types]
    full = dim is None
    dims = _dims(dim, a.ndim)
    if a.size == 0:
        if full:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as "
                               "the operation has no identity.")
        _check_reducible(a, dims, False, "aminmax", sep="")
    lo = as_array(np.min(a, axis=dims, keepdims=keepdim))
    hi = as_array(np.max(a, axis=dims, keepdims=keepdim))
    if full and keepdim:
        lo, hi = lo.reshape((1,) * a.ndim), hi.reshape((1,) * a.ndim)
    if STATE.enabled and recording(input) and a.dtype.kind in "fcV":  # ("V": bfloat16)
        outs = record_multi(AminmaxBackward0, (lo, hi), (input,), save=(input,),
                            args=(a.shape, dims, keepdim))
        # NOTE: PyTorch's node saves both outputs too (changing one in place before the
        # backward is the saved-tensor error); the rules use only the input
        for k, o in enumerate(outs):
            o._grad_fn.save_output(o, k)
        return _aminmax_type(*outs)
    return _aminmax_type(wrap(lo), wrap(hi))


def _argext(input, dim, keepdim, arg_np, name):
    a = input._data
    _dt.refuse_unsigned(f"{name}_cpu", a.dtype)  # NOTE [limited unsigned types]
    if dim is None:
        if a.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        r = arg_np(a.reshape(-1), axis=0, keepdims=False)
        if keepdim:
            r = as_array(r).reshape((1,) * a.ndim)
        return wrap(as_array(r).astype(np.int64, copy=False))
    d = _wrap_dim(dim, a.ndim)
    if a.ndim == 0:
        return wrap(_xp(a).zeros((), dtype=np.int64))
    _check_reducible(a, (d,), False, name)
    return wrap(as_array(arg_np(a, axis=d, keepdims=keepdim)).astype(np.int64, copy=False))


def argmax(input, dim=None, keepdim=False):
    """Index of the maximum (of the flattened input when ``dim`` is None); NaN wins."""
    return _argext(input, dim, keepdim, _argmax_np, "argmax")


def argmin(input, dim=None, keepdim=False):
    """Index of the minimum (of the flattened input when ``dim`` is None); NaN wins."""
    return _argext(input, dim, keepdim, _argmin_np, "argmin")
