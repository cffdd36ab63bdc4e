"""Reductions: sum, mean, prod, max/min/amax/amin, argmax/argmin, var/std, logsumexp,
all/any, norm.

Contract: ``dim`` may be None (all dims), an int or a sequence; ``keepdim`` keeps reduced dims
with size 1. Node names follow PyTorch (``SumBackward0`` for a full reduction,
``SumBackward1`` with ``dim``). Integer and bool sums give int64, as PyTorch. ``max(dim)``
returns a ``(values, indices)`` named tuple printing like ``torch.return_types.max``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..tensor import Tensor, _wrap_dim
from ._jvp import fiberwise, linear
from ._registry import float_data, node_class, record, recording, register, wrap


def _dims(dim, ndim):
    """Normalized tuple of reduced dims (None means all)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (_wrap_dim(int(dim), ndim),)
    dims = tuple(_wrap_dim(int(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    return dims


def _unreduce(g, in_shape, dims, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input shape."""
    if not keepdim and dims:
        shape = [1 if i in dims else s for i, s in enumerate(in_shape)]
        g = g.reshape(shape)
    return g


# forward-mode rules of reductions: args are (input shape, dims, keepdim, ...)
_REDUCED = fiberwise(lambda ctx: (ctx.args[1], ctx.args[2]))
_ALONG_DIM = fiberwise(lambda ctx: ((ctx.args[1],), ctx.args[2]))


class return_types:
    """Named tuples returned by reductions with indices (``values``, ``indices``; ``aminmax``
    has ``min``, ``max``), printing like ``torch.return_types.<name>``."""

    @staticmethod
    def make(name, fields=("values", "indices")):
        def __repr__(self):
            body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
            return f"torch.return_types.{name}(\n{body})"

        ns = {f: property(lambda self, i=i: self[i]) for i, f in enumerate(fields)}
        ns.update({
            "__slots__": (),
            "_fields": fields,
            "__repr__": __repr__,
            "__new__": lambda cls, *values: tuple.__new__(cls, values),
            "__getnewargs__": lambda self: tuple(self),
        })
        cls = type(name, (tuple,), ns)
        cls.__module__ = "ember.return_types"
        setattr(return_types, name, cls)
        return cls


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
    if isinstance(input, Tensor) is False:
        import builtins

        return builtins.sum(input)
    a = input._data
    if dtype is not None:
        a = a.astype(dtype.np)
    elif a.dtype.kind in "biu":
        a = a.astype(np.int64)
    full = dim is None
    dims = _dims(dim, a.ndim)
    data = np.sum(a, axis=dims, keepdims=keepdim)
    if STATE.enabled and recording(input):
        node = SumBackward0 if full else SumBackward1
        return record(node, data, (input,), args=(input._data.shape, dims, keepdim))
    return wrap(data)


# ---- mean ----
def _mean_vjp(ctx, g):
    in_shape, dims, keepdim, n = ctx.args
    return (_unreduce(g, in_shape, dims, keepdim).expand(in_shape) / n,)


_MEAN_JVP = linear(lambda ctx, dx: dx.mean(ctx.args[1], keepdim=ctx.args[2]))
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of nothing is nan, quietly
        data = np.mean(a, axis=dims, keepdims=keepdim, dtype=a.dtype)
    if STATE.enabled and recording(input):
        node = MeanBackward0 if full else MeanBackward1
        return record(node, data, (input,), args=(input._data.shape, dims, keepdim, n))
    return wrap(data)


# ---- prod ----
def _prod_vjp(ctx, g):
    x, out = ctx.saved_tensors
    in_shape, dims, keepdim = ctx.args
    g = _unreduce(g, in_shape, dims, keepdim)
    out = _unreduce(out, in_shape, dims, keepdim)
    # NOTE: out / x fails where x == 0; there the gradient is the product of the others,
    # computed exactly by a product with the zero replaced by one (fine when one zero; with
    # two or more zeros that product is 0, which is also right).
    zero = x == 0
    if not bool(zero.any()):
        return (g * out / x,)
    ones_in = where_(zero, 1.0, x)
    others = prod(ones_in, dims if len(dims) > 1 else dims[0], keepdim=True) \
        if dims else ones_in
    nzeros = zero.sum(dims, keepdim=True) if dims else zero
    grad_zero = where_(nzeros == 1, others, 0.0)
    return (g * where_(zero, grad_zero.expand(in_shape), out / where_(zero, 1.0, x)),)


def where_(cond, a, b):
    from .select import where

    return where(cond, a, b)


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
    data = np.prod(a, axis=dims, keepdims=keepdim)
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


def _max_dim_vjp(ctx, g, g_idx=None):
    in_shape, dim, keepdim = ctx.args
    idx, = ctx.saved_tensors
    # NOTE: with a dim, the gradient goes to the one index returned (the first maximum).

    if g is None:
        return (None,)
    if not keepdim:
        g = g.unsqueeze(dim)
        idx = idx.unsqueeze(dim)
    return (scatter_along(g, in_shape, dim, idx),)


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


AmaxBackward0 = node_class("AmaxBackward0", _amax_vjp, _REDUCED)
AminBackward0 = node_class("AminBackward0", _amax_vjp, _REDUCED)
MaxBackward1 = node_class("MaxBackward1", _amax_vjp, _REDUCED)
MinBackward1 = node_class("MinBackward1", _amax_vjp, _REDUCED)
MaxBackward0 = node_class("MaxBackward0", _max_dim_vjp, _ALONG_DIM)
MinBackward0 = node_class("MinBackward0", _max_dim_vjp, _ALONG_DIM)


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
        return result_type(input.clone() if recording(input) else wrap(a.copy()),
                           wrap(np.asarray(0, dtype=np.int64)))
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
    # NOTE: NaN propagates: PyTorch's max/argmax pick a NaN when there is one.
    def arg(a, axis, keepdims):
        if a.dtype.kind == "f" and np.isnan(a).any():
            return np.expand_dims(np.argmax(np.isnan(a), axis=axis), axis) if keepdims else \
                np.argmax(np.isnan(a), axis=axis)
        return fn(a, axis=axis, keepdims=keepdims)
    return arg


_argmax_np = _nan_arg(np.argmax, None)
_argmin_np = _nan_arg(np.argmin, None)


def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001 - PyTorch's name
    """The maximum of all elements; with ``dim``, ``(values, indices)`` along it; with a
    tensor as second argument, the elementwise maximum."""
    if isinstance(dim, Tensor):
        from .select import maximum

        return maximum(input, dim)
    if dim is None:
        return _extreme_all(input, np.max, MaxBackward1, "max")
    return _extreme_dim(input, dim, keepdim, _argmax_np, MaxBackward0, _max_type)


def min(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """The minimum; see ``max``."""
    if isinstance(dim, Tensor):
        from .select import minimum

        return minimum(input, dim)
    if dim is None:
        return _extreme_all(input, np.min, MinBackward1, "min")
    return _extreme_dim(input, dim, keepdim, _argmin_np, MinBackward0, _min_type)


def _amaxmin(input, dim, keepdim, np_fn, node):
    a = input._data
    dims = _dims(dim if dim != () else None, a.ndim)
    data = np_fn(a, axis=dims, keepdims=keepdim)
    if STATE.enabled and recording(input):
        return record(node, data, (input,), save=(input,), args=(a.shape, dims, keepdim),
                      save_out=True)
    return wrap(data)


def amax(input, dim=(), keepdim=False):
    """Maximum over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _amaxmin(input, dim, keepdim, np.max, AmaxBackward0)


def amin(input, dim=(), keepdim=False):
    return _amaxmin(input, dim, keepdim, np.min, AminBackward0)


def argmax(input, dim=None, keepdim=False):
    a = input._data
    if dim is None:
        r = _argmax_np(a.reshape(-1), axis=0, keepdims=False)
        if keepdim:
            r = np.asarray(r).reshape((1,) * a.ndim)
        return wrap(np.asarray(r, dtype=np.int64))
    return wrap(np.asarray(_argmax_np(a, axis=_wrap_dim(dim, a.ndim), keepdims=keepdim),
                           dtype=np.int64))


def argmin(input, dim=None, keepdim=False):
    a = input._data
    if dim is None:
        r = _argmin_np(a.reshape(-1), axis=0, keepdims=False)
        if keepdim:
            r = np.asarray(r).reshape((1,) * a.ndim)
        return wrap(np.asarray(r, dtype=np.int64))
    return wrap(np.asarray(_argmin_np(a, axis=_wrap_dim(dim, a.ndim), keepdims=keepdim),
                           dtype=np.int64))


# ---- var / std ----
def _var_vjp(ctx, g):
    x, = ctx.saved_tensors
    in_shape, dims, keepdim, correction, n = ctx.args
    g = _unreduce(g, in_shape, dims, keepdim)
    centered = x - x.mean(dims, keepdim=True)
    return (g * centered * (2.0 / (n - correction)),)


def _std_vjp(ctx, g):
    x, out = ctx.saved_tensors
    in_shape, dims, keepdim, correction, n = ctx.args
    g = _unreduce(g, in_shape, dims, keepdim)
    out = _unreduce(out, in_shape, dims, keepdim)
    centered = x - x.mean(dims, keepdim=True)
    return (g * centered / (out * (n - correction)),)


VarBackward0 = node_class("VarBackward0", _var_vjp, _REDUCED)
StdBackward0 = node_class("StdBackward0", _std_vjp, _REDUCED)


def _var_args(input, dim, unbiased, correction):
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    a = float_data(input._data)
    dims = _dims(dim, a.ndim)
    n = 1
    for d in dims:
        n *= a.shape[d]
    return a, dims, correction, n


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's ``correction`` (1 unless ``unbiased=False``)."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    a, dims, correction, n = _var_args(input, dim, unbiased, correction)
    data = np.var(a, axis=dims, ddof=correction, keepdims=keepdim)
    if STATE.enabled and recording(input):
        return record(VarBackward0, data, (input,), save=(input,),
                      args=(a.shape, dims, keepdim, correction, n))
    return wrap(data)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation; see ``var``."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    a, dims, correction, n = _var_args(input, dim, unbiased, correction)
    data = np.std(a, axis=dims, ddof=correction, keepdims=keepdim)
    if STATE.enabled and recording(input):
        return record(StdBackward0, data, (input,), save=(input,),
                     args=(a.shape, dims, keepdim, correction, n), save_out=True)
    return wrap(data)


# ---- logsumexp ----
def _logsumexp_vjp(ctx, g):
    x, out = ctx.saved_tensors
    in_shape, dims, keepdim = ctx.args
    g = _unreduce(g, in_shape, dims, keepdim)
    out = _unreduce(out, in_shape, dims, keepdim)
    return (g * (x - out).exp(),)


LogsumexpBackward0 = node_class("LogsumexpBackward0", _logsumexp_vjp, _REDUCED)


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input)))`` over ``dim``, computed without overflow."""
    a = float_data(input._data)
    dims = _dims(dim, a.ndim)
    if a.size == 0:
        data = np.log(np.sum(np.exp(a), axis=dims, keepdims=keepdim))
    else:
        m = np.max(a, axis=dims, keepdims=True)
        # NOTE: an infinite max would give inf - inf = nan; shift by 0 there instead.
        m = np.where(np.isfinite(m), m, 0).astype(a.dtype, copy=False)
        data = np.log(np.sum(np.exp(a - m), axis=dims, keepdims=True)) + m
        if not keepdim:
            data = data.reshape([s for i, s in enumerate(a.shape) if i not in dims])
    if STATE.enabled and recording(input):
        return record(LogsumexpBackward0, data, (input,), save=(input,),
                     args=(a.shape, dims, keepdim), save_out=True)
    return wrap(data)


# ---- all / any (not differentiable) ----
def all(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    dims = None if dim is None else _dims(dim, input._data.ndim)
    return wrap(np.asarray(np.all(input._data, axis=dims, keepdims=keepdim)))


def any(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    dims = None if dim is None else _dims(dim, input._data.ndim)
    return wrap(np.asarray(np.any(input._data, axis=dims, keepdims=keepdim)))


def count_nonzero(input, dim=None):
    dims = None if dim is None else _dims(dim, input._data.ndim)
    return wrap(np.asarray(np.count_nonzero(input._data, axis=dims), dtype=np.int64))


# ---- norm ----
def _norm_vjp(ctx, g):
    x, out = ctx.saved_tensors
    p, in_shape, dims, keepdim = ctx.args
    g = _unreduce(g, in_shape, dims, keepdim)
    out = _unreduce(out, in_shape, dims, keepdim)
    if p == 2:
        # NOTE: the subgradient at 0 is 0, as PyTorch (x / 0 would be nan).
        return (g * x / out.masked_fill(out == 0, 1.0),)
    if p == 1:
        return (g * x.sign(),)
    if p == float("inf") or p == float("-inf"):
        mask = x.abs() == out
        count = mask.sum(dims, keepdim=True) if dims else mask
        return (g * x.sign() * mask / count,)
    safe = out.masked_fill(out == 0, 1.0)
    return (g * x * x.abs() ** (p - 2) / safe ** (p - 1),)


LinalgVectorNormBackward0 = node_class(
    "LinalgVectorNormBackward0", _norm_vjp, fiberwise(lambda ctx: (ctx.args[2], ctx.args[3])))


def linalg_vector_norm(input, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (all elements when None)."""
    a = float_data(input._data) if dtype is None else input._data.astype(dtype.np)
    dims = _dims(dim, a.ndim)
    p = float(ord)
    absa = np.abs(a)
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
        data = np.sum(absa ** p, axis=dims, keepdims=keepdim) ** (1.0 / p)
    data = np.asarray(data).astype(a.dtype, copy=False)
    if STATE.enabled and recording(input) and p != 0:
        return record(LinalgVectorNormBackward0, data, (input,), save=(input,),
                     args=(p, a.shape, dims, keepdim), save_out=True)
    return wrap(data)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (``'fro'`` is the 2-norm of all elements)."""
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("nuclear norm arrives with ember.linalg")
    return linalg_vector_norm(input, p, dim, keepdim, dtype=dtype)


for _name in ("sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var",
              "std", "logsumexp", "all", "any", "count_nonzero", "norm"):
    register(globals()[_name], _name)
