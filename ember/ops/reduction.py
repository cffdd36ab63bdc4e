"""Reductions: sum, mean, prod, nansum/nanmean, logsumexp, all/any/count_nonzero; and the
registration of the whole reduction family, whose other ops live in ``extremes``
(max/min/amax/amin/aminmax/argmax/argmin and the index-returning ops' shared rules),
``variance`` (var/std, var_mean/std_mean) and ``vector_norm`` (linalg.vector_norm, norm), with
the shared helpers in ``_reduce``. This module re-exports every name of those four, the path
the other op modules import them by.

Contract: ``dim`` may be None (all dims), an int or a sequence (an empty one means all dims, as
PyTorch; all/any excepted); ``keepdim`` keeps reduced dims with size 1. Node names follow
PyTorch (``SumBackward0`` for a full reduction, ``SumBackward1`` with ``dim``). Integer and
bool sums and products give int64 unless ``dtype=``, as PyTorch. ``max(dim)`` returns a
``(values, indices)`` named tuple printing like ``torch.return_types.max``, whose gradient goes
to the returned index; amax/amin/aminmax and full max/min share it evenly among ties.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .. import return_types  # noqa: F401  (re-exported: scan.py and sort.py import it here)
from ..autograd.grad_mode import STATE
from ..backend import namespace
from ._jvp import as_out_dtype, linear
from ._reduce import (  # noqa: F401  (re-exported: activation, loss, scan... import them here)
    _REDUCED,
    _REDUCED_NAN,
    HALF,
    _dims,
    _np_mean,
    _unreduce,
    rounded,
)
from ._registry import (
    as_array,
    float_data,
    node_class,
    record,
    recording,
    register,
    wrap,
)
from .extremes import (  # noqa: F401  (re-exported, and registered below)
    AmaxBackward0,
    AminBackward0,
    AminmaxBackward0,
    MaxBackward0,
    MaxBackward1,
    MinBackward0,
    MinBackward1,
    _check_reducible,
    _extreme_all,
    _extreme_dim,
    amax,
    amin,
    aminmax,
    argmax,
    argmin,
    even_vjp,
    max,
    min,
    scatter_along,
    select_jvp,
    select_vjp,
    take_along,
)
from .variance import (  # noqa: F401  (re-exported, and registered below)
    StdBackward0,
    StdMeanBackward0,
    VarBackward0,
    VarMeanBackward0,
    std,
    std_mean,
    var,
    var_mean,
)
from .vector_norm import (  # noqa: F401  (re-exported: distance.py, ember.linalg...)
    LinalgVectorNormBackward0,
    _norm_vjp,
    linalg_vector_norm,
    norm,
)


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
    xp = np if isinstance(x._data, np.ndarray) else namespace(x._data)
    one = wrap(xp.ones((*lead, 1), dtype=x._data.dtype))
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
    data = as_array(np.nansum(a, axis=dims, keepdims=keepdim))
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
        xp = np if isinstance(a, np.ndarray) else namespace(a)
        count = wrap(xp.full(count._data.shape, np.nan, dtype=a.dtype))
    with np.errstate(invalid="ignore", divide="ignore"):  # all-NaN slices give NaN, quietly
        return nansum(x, dim, keepdim=keepdim) / count


# ---- all / any (not differentiable) ----
def _logical_reduce(input, dim, keepdim, np_fn):
    a = input._data
    # NOTE: unlike sum, all/any over an empty dim list reduce nothing, as PyTorch.
    empty = dim is not None and not isinstance(dim, (int, np.integer)) and len(dim) == 0
    dims = None if dim is None else () if empty else _dims(dim, a.ndim)
    data = as_array(np_fn(a, axis=dims, keepdims=keepdim))
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
    return wrap(as_array(np.count_nonzero(input._data, axis=dims)).astype(np.int64, copy=False))



for _name in ("sum", "mean", "prod", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin",
              "var", "std", "nansum", "nanmean", "logsumexp", "all", "any", "count_nonzero",
              "norm"):
    register(globals()[_name], _name)
register(var_mean, "var_mean", method=False)  # functions only, as in PyTorch
register(std_mean, "std_mean", method=False)
