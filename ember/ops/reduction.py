"""Reductions: sum, mean, prod, nansum/nanmean, max/min/amax/amin/aminmax, argmax/argmin,
var/std and var_mean/std_mean, logsumexp, all/any/count_nonzero, norm; and the helpers the
index-returning ops share (``return_types``, ``select_vjp``/``select_jvp``, ``scatter_along``,
``take_along``).

Contract: ``dim`` may be None (all dims), an int or a sequence (an empty one means all dims, as
PyTorch; all/any excepted); ``keepdim`` keeps reduced dims with size 1. Node names follow
PyTorch (``SumBackward0`` for a full reduction, ``SumBackward1`` with ``dim``). Integer and
bool sums and products give int64 unless ``dtype=``, as PyTorch. ``max(dim)`` returns a
``(values, indices)`` named tuple printing like ``torch.return_types.max``, whose gradient goes
to the returned index; amax/amin/aminmax and full max/min share it evenly among ties.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import dtypes as _dt
from .. import return_types
from ..autograd.grad_mode import STATE
from ..tensor import Tensor, _wrap_dim
from ._jvp import as_out_dtype, fiberwise, linear, out_zeros
from ._registry import (
    float_data,
    node_class,
    record,
    record_multi,
    recording,
    register,
    wrap,
)


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
        return np.asarray(data).astype(dtype, copy=False)


_max_type = return_types.make("max")
_min_type = return_types.make("min")


# ---- sum ----
def _sum_vjp(ctx, g):
    in_shape, dims, keepdim = ctx.args
    return (_unreduce(g, in_shape, dims, keepdim).expand(in_shape),)


SumBackward0 = node_class("SumBackward0", _sum_vjp, _REDUCED)
SumBackward1 = node_class("SumBackward1", _sum_vjp, _REDUCED)


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001 - PyTorch's name
    """Sum over ``dim`` (all dims when None)."""
    a = input._data
    if dtype is not None:
        a = a.astype(dtype.np)
    elif a.dtype.kind in "biu":
        a = a.astype(np.int64)
    full = dim is None
    dims = _dims(dim, a.ndim)
    # (the ufunc called from here, not np.sum: NumPy's "invalid value encountered" for
    # inf - inf is then ember's own warning, which ember/__init__.py silences, as PyTorch)
    if a.dtype in HALF:
        data = rounded(np.add.reduce(a, axis=dims, dtype=np.float32, keepdims=keepdim), a.dtype)
    else:
        data = np.add.reduce(a, axis=dims, dtype=a.dtype, keepdims=keepdim)
    if STATE.enabled and recording(input):
        node = SumBackward0 if full else SumBackward1
        return record(node, data, (input,), args=(input._data.shape, dims, keepdim))
    return wrap(data)


# ---- mean ----
def _mean_vjp(ctx, g):
    in_shape, dims, keepdim, n = ctx.args
    return (_unreduce(g, in_shape, dims, keepdim).expand(in_shape) / n,)


_MEAN_JVP = linear(lambda ctx, dx: as_out_dtype(ctx, dx).mean(ctx.args[1], keepdim=ctx.args[2]))
MeanBackward0 = node_class("MeanBackward0", _mean_vjp, _MEAN_JVP)
MeanBackward1 = node_class("MeanBackward1", _mean_vjp, _MEAN_JVP)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over ``dim`` (all dims when None); floating dtypes only, as PyTorch."""
    a = input._data
    if dtype is not None:
        a = a.astype(dtype.np)
    if a.dtype.kind not in "fcV":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_dt.from_np(a.dtype).scalar_name}")
    full = dim is None
    dims = _dims(dim, a.ndim)
    n = 1
    for d in dims:
        n *= a.shape[d]
    data = _np_mean(a, dims, keepdim)
    if STATE.enabled and recording(input):
        node = MeanBackward0 if full else MeanBackward1
        return record(node, data, (input,), args=(input._data.shape, dims, keepdim, n))
    return wrap(data)


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


# ---- prod ----
def _prod_vjp(ctx, g):
    x, out = ctx.saved_tensors
    in_shape, dims, keepdim = ctx.args
    if not in_shape:  # the product of one value: the gradient passes (no second order), as PyTorch
        return (g,)
    g = _unreduce(g, in_shape, dims, keepdim)
    if not bool((x == 0).any()):
        # (result / input first, then times g, as PyTorch: an infinite g then gives the same
        # inf or NaN in the second order)
        return (g * (_unreduce(out, in_shape, dims, keepdim) / x),)
    # NOTE: out / x fails where x == 0. The gradient is the product of the others, computed
    # exactly (and differentiably, for any number of zeros) as an exclusive prefix product
    # times an exclusive suffix product over the reduced elements laid out last.
    return (g * _prod_of_others(x, dims),)


def _prod_of_others(x, dims):
    """``prod_{k != i} x_k`` over the reduced ``dims``, for every element ``i`` of ``x``."""
    from .join import cat

    kept = [i for i in range(x.ndim) if i not in dims]
    order = kept + list(dims)
    xt = x.permute(order) if x.ndim else x.reshape(1)
    lead = [x.shape[i] for i in kept]
    xl = xt.reshape(*lead, -1)
    one = wrap(np.ones((*lead, 1), dtype=x._data.dtype))
    pre = cat([one, xl.narrow(-1, 0, xl.shape[-1] - 1)], -1).cumprod(-1)
    suf = cat([xl.narrow(-1, 1, xl.shape[-1] - 1), one], -1).flip(-1).cumprod(-1).flip(-1)
    others = (pre * suf).reshape(xt.shape)
    if not x.ndim:
        return others.reshape(())
    return others.permute(list(np.argsort(order)))


ProdBackward0 = node_class("ProdBackward0", _prod_vjp, _REDUCED)
ProdBackward1 = node_class("ProdBackward1", _prod_vjp, _REDUCED)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product over ``dim`` (all dims when None)."""
    a = input._data
    if dtype is not None:
        a = a.astype(dtype.np)
    elif a.dtype.kind in "biu":
        a = a.astype(np.int64)
    full = dim is None
    dims = _dims(dim, a.ndim)
    data = np.prod(a, axis=dims, keepdims=keepdim, dtype=a.dtype)
    if STATE.enabled and recording(input):
        return record(ProdBackward0 if full else ProdBackward1, data, (input,), save=(input,),
                     args=(input._data.shape, dims, keepdim), save_out=True)
    return wrap(data)


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


def _grids(idx, dim):
    grids = list(np.indices(idx._data.shape, sparse=True))
    grids[dim] = idx._data
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
        return record(node, np.asarray(data), (input,), save=(input,),
                      args=(a.shape, tuple(range(a.ndim)), False), save_out=True)
    return wrap(np.asarray(data))


def _extreme_dim(input, dim, keepdim, arg_fn, node, result_type):
    a = input._data
    d = _wrap_dim(dim, a.ndim)
    if a.ndim == 0:
        indices = wrap(np.zeros((), dtype=np.int64))
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
    lo = np.asarray(np.min(a, axis=dims, keepdims=keepdim))
    hi = np.asarray(np.max(a, axis=dims, keepdims=keepdim))
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
            r = np.asarray(r).reshape((1,) * a.ndim)
        return wrap(np.asarray(r, dtype=np.int64))
    d = _wrap_dim(dim, a.ndim)
    if a.ndim == 0:
        return wrap(np.zeros((), dtype=np.int64))
    _check_reducible(a, (d,), False, name)
    return wrap(np.asarray(arg_np(a, axis=d, keepdims=keepdim), dtype=np.int64))


def argmax(input, dim=None, keepdim=False):
    """Index of the maximum (of the flattened input when ``dim`` is None); NaN wins."""
    return _argext(input, dim, keepdim, _argmax_np, "argmax")


def argmin(input, dim=None, keepdim=False):
    """Index of the minimum (of the flattened input when ``dim`` is None); NaN wins."""
    return _argext(input, dim, keepdim, _argmin_np, "argmin")


# ---- var / std ----
def _var_grad(g, x, dims, correction, n, full):
    """The variance's gradient for ``g`` (broadcastable against ``x``)."""
    dof = n - correction
    if full and dof <= 0:
        # NOTE: with no degrees of freedom 2 / dof is infinite: PyTorch's gradient of a full
        # reduction is then inf, and nan (inf * 0) at the elements equal to the mean.
        xd = x._data
        # (an empty x's gradient is empty: no mean of nothing, which NumPy warns about)
        at_mean = xd == (xd if xd.ndim == 0 or xd.size == 0 else _np_mean(xd, None, False))
        with np.errstate(invalid="ignore"):  # a zero g gives nan, as PyTorch's
            return g * wrap(np.where(at_mean, np.nan, np.inf).astype(xd.dtype))
    centered = x - x.mean(dims, keepdim=True)
    # (2 / dof) * g first, then the centred values, as PyTorch: with no degrees of freedom the
    # scaled g is inf, and a second-order gradient through an empty slice is then 0 * inf = NaN
    if dof > 0:
        return g * (2.0 / dof) * centered
    with np.errstate(invalid="ignore"):  # 2 / 0 = inf, times 0 is nan, as PyTorch's
        return g * (2.0 / dof if dof else float("inf")) * centered


def _std_grad(g, x, out, dims, correction, n, full):
    """The standard deviation's gradient for ``g`` and ``out`` (both broadcastable)."""
    zero = out._data == 0
    if n - correction > 0 and not zero.any():
        return g * (x - x.mean(dims, keepdim=True)) / (out * (n - correction))
    # NOTE: d std = d var / (2 std), except that PyTorch's gradient at zero spread is 0 (not
    # 0 / 0); the variance's rule then handles no degrees of freedom.
    if zero.any():
        # (masked after the division, as PyTorch: the division's own gradients there are
        # 0 / 0 = NaN, which a second-order gradient through g or out shows)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = (g / (out * 2)).masked_fill(out == 0, 0.0)
    else:
        g = g / (out * 2)
    return _var_grad(g, x, dims, correction, n, full)


def _var_vjp(ctx, g):
    x, = ctx.saved_tensors
    in_shape, dims, keepdim, correction, n, full = ctx.args
    return (_var_grad(_unreduce(g, in_shape, dims, keepdim), x, dims, correction, n, full),)


def _std_vjp(ctx, g):
    x, out = ctx.saved_tensors
    in_shape, dims, keepdim, correction, n, full = ctx.args
    g = _unreduce(g, in_shape, dims, keepdim)
    out = _unreduce(out, in_shape, dims, keepdim)
    return (_std_grad(g, x, out, dims, correction, n, full),)


VarBackward0 = node_class("VarBackward0", _var_vjp, _REDUCED)
StdBackward0 = node_class("StdBackward0", _std_vjp, _REDUCED_NAN)


def _var_args(input, dim, unbiased, correction, name):
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    a = input._data
    if a.dtype.kind not in "fcV":
        what = "std and var" if name in ("var", "std") else name
        raise RuntimeError(f"{what} only support floating point and complex dtypes")
    # NOTE: a full reduction (PyTorch's rule differs at no degrees of freedom)
    full = dim is None or a.ndim == 0
    dims = _dims(dim, a.ndim)
    n = 1
    for d in dims:
        n *= a.shape[d]
    if n - correction <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=3)
    return a, dims, correction, n, full


def _np_spread(a, dims, correction, keepdim, sqrt):
    """The variance of ``a`` over ``dims`` (its square root with ``sqrt``)."""
    n = _numel(a.shape, dims)
    if n - correction <= 0:
        # too few elements: ``np.var`` would warn "Degrees of freedom <= 0" from NumPy's own
        # module (NOTE [no catch_warnings] in _np_mean), so its steps are taken here
        with np.errstate(all="ignore"):
            dtype = np.float32 if a.dtype in HALF else None
            x = a - np.true_divide(np.add.reduce(a, axis=dims, dtype=dtype, keepdims=True), n)
            x = (x * x.conj()).real if x.dtype.kind == "c" else x * x
            v = np.true_divide(np.add.reduce(x, axis=dims, dtype=dtype, keepdims=keepdim),
                               n - correction if n > correction else 0)
            v = np.sqrt(v) if sqrt else v
            return rounded(v, a.dtype) if a.dtype in HALF else np.asarray(v)
    return _np_var(a, dims, correction, keepdim, sqrt)


def _np_var(a, dims, correction, keepdim, sqrt):
    with np.errstate(all="ignore"):
        if a.dtype in HALF:
            v = np.var(a, axis=dims, ddof=correction, keepdims=keepdim, dtype=np.float32)
            return rounded(np.sqrt(v) if sqrt else v, a.dtype)
        v = np.var(a, axis=dims, ddof=correction, keepdims=keepdim)
        if a.dtype.char == "f" and not (math.isfinite(v) if v.ndim == 0 else
                                        np.isfinite(v).all()):
            # NOTE: PyTorch accumulates float32 variances in float64: squares past 3.4e38 do
            # not overflow, so its std of [1e20, 2e20] is finite (the variance is inf).
            v = np.var(a, axis=dims, ddof=correction, keepdims=keepdim, dtype=np.float64)
            return rounded(np.sqrt(v) if sqrt else v, a.dtype)
        return np.asarray(np.sqrt(v) if sqrt else v)


def _spread(input, dims, correction, keepdim, full, is_std):
    """var or std (``is_std``) over ``dims``, recorded, after the arguments are checked."""
    a = input._data
    data = _np_spread(a, dims, correction, keepdim, is_std)
    if STATE.enabled and recording(input):
        args = (a.shape, dims, keepdim, correction, _numel(a.shape, dims), full)
        if is_std:
            return record(StdBackward0, data, (input,), save=(input,), args=args, save_out=True)
        return record(VarBackward0, data, (input,), save=(input,), args=args)
    return wrap(data)


def _numel(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's ``correction`` (1 unless ``unbiased=False``)."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    a, dims, correction, n, full = _var_args(input, dim, unbiased, correction, "var")
    return _spread(input, dims, correction, keepdim, full, False)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation; see ``var``."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    a, dims, correction, n, full = _var_args(input, dim, unbiased, correction, "std")
    return _spread(input, dims, correction, keepdim, full, True)


# ---- var_mean / std_mean ----
def _moments_grad(g, x, dims, correction, n, is_std, full):
    """The gradient of var (std with ``is_std``) for ``g`` (broadcastable against ``x``)."""
    if is_std:
        sd = _spread(x, dims, correction, True, full, True)  # quietly: it warned in forward
        return _std_grad(g, x, sd, dims, correction, n, full)
    return _var_grad(g, x, dims, correction, n, full)


def _moments_vjp(ctx, g_spread, g_mean):
    x, = ctx.saved_tensors
    in_shape, dims, keepdim, correction, n, is_std, full = ctx.args
    total = None
    if g_spread is not None:
        g = _unreduce(g_spread, in_shape, dims, keepdim)
        total = _moments_grad(g, x, dims, correction, n, is_std, full)
    if g_mean is not None:
        gm = _unreduce(g_mean, in_shape, dims, keepdim).expand(in_shape) / n
        total = gm if total is None else total + gm
    return (total,)


def _moments_jvp(ctx, dx):
    x, = ctx.saved_tensors
    in_shape, dims, keepdim, correction, n, is_std, full = ctx.args
    if dx is None:
        return out_zeros(ctx, 0), out_zeros(ctx, 1)
    one = wrap(np.ones((), dtype=x._data.dtype))
    slope = _moments_grad(one, x, dims, correction, n, is_std, full)
    dspread = (dx * slope).sum(dims, keepdim=keepdim) if dims else dx * slope
    if is_std and not dx._data.size:
        dspread = dspread + float("nan")  # NOTE [empty fibers]
    return dspread, dx.mean(dims, keepdim=keepdim)


VarMeanBackward0 = node_class("VarMeanBackward0", _moments_vjp, _moments_jvp)
StdMeanBackward0 = node_class("StdMeanBackward0", _moments_vjp, _moments_jvp)


def _moments(input, dim, unbiased, keepdim, correction, is_std):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    name = "std_mean" if is_std else "var_mean"
    a, dims, correction, n, full = _var_args(input, dim, unbiased, correction, name)
    spread = _np_spread(a, dims, correction, keepdim, is_std)
    mu = np.asarray(_np_mean(a, dims, keepdim))
    if STATE.enabled and recording(input):
        node = StdMeanBackward0 if is_std else VarMeanBackward0
        return tuple(record_multi(node, (spread, mu), (input,), save=(input,),
                                  args=(a.shape, dims, keepdim, correction, n, is_std, full)))
    return wrap(spread), wrap(mu)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim`` in one pass; see ``var``."""
    return _moments(input, dim, unbiased, keepdim, correction, False)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim`` in one pass; see ``var``."""
    return _moments(input, dim, unbiased, keepdim, correction, True)


# ---- logsumexp ----
def _logsumexp_vjp(ctx, g):
    x, out = ctx.saved_tensors
    in_shape, dims, keepdim = ctx.args
    g = _unreduce(g, in_shape, dims, keepdim)
    out = _unreduce(out, in_shape, dims, keepdim)
    return (g * (x - out).exp(),)


LogsumexpBackward0 = node_class("LogsumexpBackward0", _logsumexp_vjp, _REDUCED_NAN)


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input)))`` over ``dim``, computed without overflow."""
    a = float_data(input._data)
    dims = _dims(dim, a.ndim)
    if a.size == 0:
        with np.errstate(divide="ignore"):  # log(0) = -inf for empty slices, quietly
            data = np.log(np.sum(np.exp(a), axis=dims, keepdims=keepdim))
    else:
        m = np.max(a, axis=dims, keepdims=True)
        # NOTE: an infinite max would give inf - inf = nan; shift by 0 there instead.
        m = np.where(np.isfinite(m), m, 0).astype(a.dtype, copy=False)
        with np.errstate(divide="ignore"):  # all -inf: log(0) = -inf, quietly
            data = np.log(np.sum(np.exp(a - m), axis=dims, keepdims=True)) + m
        if not keepdim:
            data = data.reshape([s for i, s in enumerate(a.shape) if i not in dims])
    if STATE.enabled and recording(input):
        return record(LogsumexpBackward0, data, (input,), save=(input,),
                     args=(a.shape, dims, keepdim), save_out=True)
    return wrap(data)


# ---- nansum / nanmean ----
def _nansum_vjp(ctx, g):
    x, = ctx.saved_tensors
    in_shape, dims, keepdim = ctx.args
    g = _unreduce(g, in_shape, dims, keepdim).expand(in_shape)
    # NOTE: a product with the mask, as PyTorch: an inf or NaN gradient gives NaN at NaNs
    with np.errstate(invalid="ignore"):
        return (g * x.isnan().logical_not(),)


def _nansum_jvp(ctx, t):
    # NOTE: as PyTorch, the tangent is masked where the input is NaN (a NaN tangent there
    # gives 0, not NaN * 0)
    if t is not None:
        t = t.masked_fill(ctx.saved_tensors[0].isnan(), 0.0)
    return _REDUCED(ctx, t)


NansumBackward0 = node_class("NansumBackward0", _nansum_vjp, _nansum_jvp)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` treating NaN as zero."""
    a = input._data
    if dtype is not None:
        a = a.astype(dtype.np)
    elif a.dtype.kind in "biu":
        a = a.astype(np.int64)
    dims = _dims(dim, a.ndim)
    data = np.asarray(np.nansum(a, axis=dims, keepdims=keepdim))
    if STATE.enabled and recording(input):
        x = input if a.dtype == input._data.dtype else input.to(_dt.from_np(a.dtype))
        return record(NansumBackward0, data, (input,), save=(x,),
                      args=(a.shape, dims, keepdim))
    return wrap(data)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over ``dim`` of the non-NaN elements (``nansum / count``, as PyTorch)."""
    a = input._data if dtype is None else input._data.astype(dtype.np)
    if a.dtype.kind not in "fcV":  # ("V": bfloat16)
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_dt.from_np(a.dtype).scalar_name}")
    x = input if dtype is None else input.to(dtype)
    count = x.isnan().logical_not().sum(dim, keepdim=keepdim)
    if a.size == 0:
        # 0 / 0 is nan: dividing by nan gives the same without NumPy's warnings in the backward
        # (whose gradient is empty)
        count = wrap(np.full(count._data.shape, np.nan, dtype=a.dtype))
    with np.errstate(invalid="ignore", divide="ignore"):  # all-NaN slices give NaN, quietly
        return nansum(x, dim, keepdim=keepdim) / count


# ---- all / any (not differentiable) ----
def _logical_reduce(input, dim, keepdim, np_fn):
    a = input._data
    # NOTE: unlike sum, all/any over an empty dim list reduce nothing, as PyTorch.
    empty = dim is not None and not isinstance(dim, (int, np.integer)) and len(dim) == 0
    dims = None if dim is None else () if empty else _dims(dim, a.ndim)
    data = np.asarray(np_fn(a, axis=dims, keepdims=keepdim))
    if dim is None and keepdim:
        data = data.reshape((1,) * a.ndim)
    # NOTE: uint8 inputs give uint8 results (PyTorch's legacy byte-mask behaviour).
    return wrap(data.astype(np.uint8) if a.dtype == np.uint8 else data)


def all(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """Whether every element (along ``dim``) is nonzero."""
    return _logical_reduce(input, dim, keepdim, np.all)


def any(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """Whether some element (along ``dim``) is nonzero."""
    return _logical_reduce(input, dim, keepdim, np.any)


def count_nonzero(input, dim=None):
    dims = None if dim is None else _dims(dim, input._data.ndim)
    return wrap(np.asarray(np.count_nonzero(input._data, axis=dims), dtype=np.int64))


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
        data = np.asarray(data).astype(a.dtype if a.dtype.kind != "c" else
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


for _name in ("sum", "mean", "prod", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin",
              "var", "std", "nansum", "nanmean", "logsumexp", "all", "any", "count_nonzero",
              "norm"):
    register(globals()[_name], _name)
register(var_mean, "var_mean", method=False)  # functions only, as in PyTorch
register(std_mean, "std_mean", method=False)
