"""The spread reductions: var and std, and var_mean/std_mean (both results in one pass).

Contract: Bessel's ``correction`` (1 unless ``unbiased=False`` or ``correction=`` says
otherwise; ``var(x, False)`` reads the bool as ``unbiased``); floating and complex inputs only,
with PyTorch's error otherwise; a correction that leaves no degrees of freedom warns as PyTorch
and gives inf/NaN, and so do the gradients (PyTorch's rule differs for a full reduction).
float32 variances whose squares overflow are recomputed in float64, as PyTorch accumulates
them. The ops are registered by ``reduction`` (``var_mean``/``std_mean`` as functions only),
which re-exports every name here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.grad_mode import STATE
from ..backend import namespace
from ._jvp import out_zeros
from ._reduce import _REDUCED, _REDUCED_NAN, HALF, _dims, _np_mean, _unreduce, rounded
from ._registry import as_array, node_class, record, record_multi, recording, wrap


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
            return rounded(v, a.dtype) if a.dtype in HALF else as_array(v)
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
        return as_array(np.sqrt(v) if sqrt else v)


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
    xp = np if isinstance(x._data, np.ndarray) else namespace(x._data)
    one = wrap(xp.ones((), dtype=x._data.dtype))
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
    mu = as_array(_np_mean(a, dims, keepdim))
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
