"""Statistics, binning and numeric integration: dist, diff, trapezoid, cumulative_trapezoid,
quantile, nanquantile, cov, corrcoef, renorm, cartesian_prod, histc, bincount, searchsorted,
bucketize, isin.

Contract: PyTorch's signatures, defaults, result dtypes, node names and error messages. Where
PyTorch itself composes an op from other ops (diff, trapezoid, quantile, cov, corrcoef,
cartesian_prod) ember composes it from the same ember ops, so the graph, the ``grad_fn`` name
and the (any-order) derivatives follow from theirs. ``dist`` and ``renorm`` have their own
nodes (``DistBackward0``, ``RenormBackward0``) with rules in ember ops and forward-mode rules.
histc, bincount, searchsorted, bucketize and isin return counts, indices or masks: never
differentiable.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import Tensor, _wrap_dim, as_array
from ._checks import type_name
from ._jvp import fiberwise, out_zeros
from ._registry import node_class, record, recording, register, wrap
from .inplace import register_inplace
from .pointwise import check_broadcast, div_scalar, mul_scalar, not_implemented_node
from .select import where


def _xp(a):
    """The array namespace of ``a``: NumPy itself for a NumPy array (no lookup)."""
    return np if isinstance(a, np.ndarray) else namespace(a)


def _name(a) -> str:
    return _dt.from_np(a.dtype).scalar_name


def _not_tensor(fn, arg, pos, value):
    return TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, "
                     f"not {type_name(value)}")


# ---- the slope of a p-norm (shared by dist and renorm) ----
def _norm_slope(x, norm, p, dims):
    """d |x|_p / d x over ``dims`` (``norm`` kept broadcastable), PyTorch's subgradients: 0
    where the norm is 0; for the infinity norms an even split among the elements attaining
    it."""
    if p == 0:
        return x * 0.0
    if p == 1:
        return x.sign()
    if math.isinf(p):
        mask = x.abs() == norm
        return x.sign() * mask / mask.sum(dims, keepdim=True)
    safe = norm.masked_fill(norm == 0, 1.0)
    if p == 2:
        return x / safe
    return x * x.abs() ** (p - 2) / safe ** (p - 1)


# ---- dist ----
def _dist_vjp(ctx, g):
    if ctx.args[0] == 0:  # a count of nonzeros: no gradient (None, as PyTorch)
        return (None, None)
    x, y, out = ctx.saved_tensors
    d = x - y
    gd = g * _norm_slope(d, out, ctx.args[0], None)
    return (gd, -gd)


DistBackward0 = node_class("DistBackward0", _dist_vjp, fiberwise(lambda ctx: ("all", False)))


def dist(input, other, p=2):
    """The ``p``-norm of ``input - other`` (broadcast) over all elements."""
    from .vector_norm import linalg_vector_norm

    if not isinstance(other, Tensor):
        raise _not_tensor("dist", "other", 2, other)
    rt = _dt.result_type(input, other)
    if not (rt.is_floating_point or rt.is_complex):
        raise RuntimeError("norm(): input dtype should be either floating point or complex. "
                           f"Got {rt.scalar_name} instead.")
    a, b = input._data, other._data
    check_broadcast(a.shape, b.shape)
    d = np.subtract(a, b, dtype=rt.np) if a.shape == b.shape else np.subtract(
        *np.broadcast_arrays(a, b), dtype=rt.np)
    p = float(p)
    data = linalg_vector_norm(wrap(d), p)._data
    if STATE.enabled and recording(input, other) and rt.is_floating_point:
        return record(DistBackward0, data, (input, other), save=(input, other), save_out=True,
                      args=(p,))
    return wrap(data)


# ---- diff ----
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first);
    ``logical_xor`` for bool tensors, as PyTorch."""
    from .join import cat

    for arg, v in (("prepend", prepend), ("append", append)):
        if v is not None and not isinstance(v, Tensor):
            raise TypeError(f"diff(): argument '{arg}' must be Tensor, not {type_name(v)}")
    nd = input._data.ndim
    if nd < 1:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    if any(v is not None and v._data.ndim != nd for v in (prepend, append)):
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    d = _wrap_dim(dim, nd)
    if prepend is not None or append is not None:
        parts = [v for v in (prepend, input, append) if v is not None]
        input = cat(parts, d)
    if n == 0:
        from ..creation import empty_like

        return empty_like(input).copy_(input)  # a copy (PyTorch's CopyBackwards)
    out = input
    for _ in range(n):
        length = out._data.shape[d]
        if length == 0:
            break
        hi, lo = out.narrow(d, 1, length - 1), out.narrow(d, 0, length - 1)
        out = hi.logical_xor(lo) if out._data.dtype == np.bool_ else hi - lo
    return out


# ---- trapezoid / cumulative_trapezoid ----
def _x_steps(name, y, x, d):
    """``x``'s differences along ``d``, shaped to broadcast against ``y``'s."""
    if x._data.ndim == 1:
        if x._data.shape[0] != y._data.shape[d]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y._data.ndim
        shape[d] = x._data.shape[0]
        x = x.view(shape)
    elif x._data.ndim < y._data.ndim:
        x = x.view((1,) * (y._data.ndim - x._data.ndim) + x._data.shape)
    length = x._data.shape[d]
    return x.narrow(d, 1, length - 1) - x.narrow(d, 0, length - 1)


def _check_trapz_args(name, y, x, dx):
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments: pass either "
                        "x or dx, not both")
    if y._data.ndim == 0:
        if name == "trapezoid":
            raise IndexError("Dimension specified as -1 but tensor has no dimensions")
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if y._data.dtype == np.bool_ or (x is not None and x._data.dtype == np.bool_):
        raise RuntimeError(f"{name}: received a bool input for `x` or `y`, but bool is not "
                           "supported")


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along ``dim``, with sample points ``x`` or a constant spacing
    ``dx`` (default 1)."""
    _check_trapz_args("trapezoid", y, x, dx)
    d = _wrap_dim(dim, y._data.ndim)
    length = y._data.shape[d]
    if length == 0:
        shape = y._data.shape[:d] + y._data.shape[d + 1:]
        return wrap(_xp(y._data).zeros(shape, dtype=y._data.dtype))
    if x is not None:
        steps = _x_steps("trapezoid", y, x, d)
        ends = y.narrow(d, 0, length - 1) + y.narrow(d, 1, length - 1)
        return div_scalar((steps * ends).sum(d), 2.0)
    ends = y.select(d, 0) + y.select(d, -1)
    return mul_scalar(y.sum(d) - mul_scalar(ends, 0.5), 1 if dx is None else dx)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal rule along ``dim`` (one fewer element than ``y`` there)."""
    _check_trapz_args("cumulative_trapezoid", y, x, dx)
    d = _wrap_dim(dim, y._data.ndim)
    length = y._data.shape[d]
    left = y.narrow(d, 0, max(length - 1, 0))
    right = y.narrow(d, min(1, length), max(length - 1, 0))
    if x is not None:
        steps = _x_steps("cumulative_trapezoid", y, x, d)
        return div_scalar((steps * (left + right)).cumsum(d), 2.0)
    half = (1 if dx is None else dx) / 2.0
    return mul_scalar(left + right, half).cumsum(d)


# ---- quantile / nanquantile ----
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    a = input._data
    if isinstance(q, Tensor):
        qa = q._data
    elif isinstance(q, (int, float)) and not isinstance(q, bool):
        if not 0 <= q <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
        qa = None
    else:
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"(Tensor, {type(q).__name__})")
    if a.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if qa is not None and qa.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if a.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if qa is not None and qa.dtype != a.dtype:
        raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
    if qa is not None and not np.all((qa >= 0) & (qa <= 1)):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    qv = _xp(a).asarray(q if qa is None else qa, dtype=a.dtype)
    # Sort along a last dim of the values each quantile is taken over.
    if dim is None:
        x = input.reshape(-1)
        out_shape = (1,) * a.ndim if keepdim else ()
    else:
        d = _wrap_dim(dim, a.ndim)
        x = input.unsqueeze(-1).transpose(d, -1).squeeze(d) if a.ndim else input.reshape(1)
        out_shape = tuple(1 if i == d else s for i, s in enumerate(a.shape)) if keepdim else \
            a.shape[:d] + a.shape[d + 1:]
    xs = x.sort(-1).values
    n_all = xs._data.shape[-1]
    # NOTE: the ranks are computed on the (non-differentiable) sorted values, per row: NaN
    # sorts last, so a row with k non-NaN values uses ranks in [0, k - 1] (nanquantile) or is
    # NaN when it holds any NaN (quantile).
    nan_count = np.isnan(xs._data).sum(-1, keepdims=True)
    valid = (n_all - nan_count) if ignore_nan else np.full_like(nan_count, n_all)
    ranks = qv.reshape(-1) * (np.maximum(valid, 1) - 1).astype(a.dtype)  # rows x len(q)
    if interpolation == "lower":
        ranks = np.floor(ranks)
    elif interpolation == "higher":
        ranks = np.ceil(ranks)
    elif interpolation == "nearest":
        ranks = np.round(ranks)
    below = np.floor(ranks).astype(np.int64)
    above = np.ceil(ranks).astype(np.int64)
    nan_rows = (nan_count > 0) if not ignore_nan else (valid == 0)
    if nan_rows.any():  # point a NaN row at its last (NaN) value
        below = np.where(nan_rows, n_all - 1, below)
        above = np.where(nan_rows, n_all - 1, above)
    vb = xs.gather(-1, wrap(below))
    if interpolation in ("linear", "midpoint"):
        weights = np.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - below
        out = vb.lerp(xs.gather(-1, wrap(above)), wrap(weights.astype(a.dtype)))
    else:
        out = vb
    # rows x len(q) -> (len(q), *out_shape) (a scalar q: out_shape); PyTorch's result is
    # last squeezed in place, hence SqueezeBackward4
    lead = (qv.size,) if qa is not None and qa.ndim == 1 else ()
    out = out.movedim(-1, 0).reshape(lead + out_shape + (1,))
    if out._view is not None:  # squeezing a view in place would regenerate its grad_fn
        out = out.clone()
    return out.squeeze_(-1)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-th quantiles of ``input`` (over ``dim``, all elements when None); any NaN in
    a slice makes its quantiles NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """``quantile`` ignoring NaN (a slice of only NaN gives NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# ---- cov / corrcoef ----
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance of the variables in ``input``'s rows (observations in columns)."""
    a = input._data
    if a.ndim > 2:
        raise RuntimeError("cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {a.ndim} dimensions")
    if a.dtype == np.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    if isinstance(correction, float) or isinstance(correction, bool):
        raise TypeError(f"cov(): argument 'correction' must be int, not "
                        f"{type(correction).__name__}")
    x = input.view(1, -1) if a.ndim < 2 else input
    n_obs = x._data.shape[1]
    w = None
    for label, wt, kinds, kind_name in (("fweights", fweights, "iu", "integral"),
                                        ("aweights", aweights, "f", "floating point")):
        if wt is None:
            continue
        if wt._data.ndim > 1:
            raise RuntimeError(f"cov(): expected {label} to have one or fewer dimensions but "
                               f"got {label} with {wt._data.ndim} dimensions")
        if wt._data.dtype.kind not in kinds:
            raise RuntimeError(f"cov(): expected {label} to have {kind_name} dtype but got "
                               f"{label} with {_name(wt._data)} dtype")
        if wt._data.size != n_obs:
            raise RuntimeError(f"cov(): expected {label} to have the same numel as there are "
                               f"observations in the input but got {wt._data.size} != {n_obs}")
        if n_obs and wt._data.min() < 0:
            raise RuntimeError(f"cov(): {label} cannot be negative")
        w = wt if w is None else w * wt
    if w is not None:
        w_sum = w.sum()
        if w_sum._data == 0:
            raise RuntimeError("cov(): weights sum to zero, can't be normalized")
        avg = (x * w).sum(1) / w_sum
    else:
        w_sum = wrap(_xp(a).asarray(n_obs, dtype=np.int64))
        avg = x.sum(1) / w_sum
    if w is not None and correction != 0:
        if aweights is not None:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
        else:
            norm = w_sum - correction
    else:
        norm = w_sum - correction
    if norm._data <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = norm * 0
    xc = x - avg.unsqueeze(1)
    c = xc.mm((xc * w if w is not None else xc).t())
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 degrees of freedom: inf/NaN
        return (c / norm).squeeze()


def corrcoef(input):
    """Pearson correlation coefficients of the variables in ``input``'s rows, clipped to
    [-1, 1]."""
    if input._data.ndim > 2:
        raise RuntimeError("corrcoef(): expected input to have two or fewer dimensions but got "
                           f"an input with {input._data.ndim} dimensions")
    c = cov(input)
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant variable gives NaN
        if c._data.ndim == 0:  # one variable: 1, or NaN where the variance is 0, inf or NaN
            return c / c
        std = c.diagonal().sqrt()
        c = c / std.view(-1, 1)
        c = c / std.view(1, -1)
        return c.clip(-1, 1)


# ---- renorm ----
def _renorm_parts(ctx):
    x, = ctx.saved_tensors
    p, d, maxnorm = ctx.args
    dims = tuple(i for i in range(x._data.ndim) if i != d)
    from .vector_norm import linalg_vector_norm

    norm = linalg_vector_norm(x, p, dims, keepdim=True)
    inv = 1.0 / (norm + 1e-7)
    return x, p, dims, maxnorm, norm, inv


def _renorm_vjp(ctx, g):
    x, p, dims, maxnorm, norm, inv = _renorm_parts(ctx)
    factor = inv * maxnorm
    s = (x * g).sum(dims, keepdim=True)
    shrunk = factor * g - factor * inv * s * _norm_slope(x, norm, p, dims)
    return (where(norm > maxnorm, shrunk, g),)


def _renorm_jvp(ctx, t):
    if t is None:
        return out_zeros(ctx)
    x, p, dims, maxnorm, norm, inv = _renorm_parts(ctx)
    factor = inv * maxnorm
    dnorm = (_norm_slope(x, norm, p, dims) * t).sum(dims, keepdim=True)
    return where(norm > maxnorm, factor * t - factor * inv * dnorm * x, t)


RenormBackward0 = node_class("RenormBackward0", _renorm_vjp, _renorm_jvp)


def renorm(input, p, dim, maxnorm):
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to norm
    ``maxnorm`` (PyTorch's ``maxnorm / (norm + 1e-7)`` factor)."""
    a = input._data
    p, maxnorm = float(p), float(maxnorm)
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    if a.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {a.ndim} dimensions")
    d = _wrap_dim(dim, a.ndim)
    if a.dtype.kind not in "fcV":  # ("V": bfloat16)
        raise RuntimeError(f"\"renorm_out\" not implemented for '{_name(a)}'")
    from .vector_norm import linalg_vector_norm

    dims = tuple(i for i in range(a.ndim) if i != d)
    norm = linalg_vector_norm(wrap(a), p, dims, keepdim=True)._data
    factor = np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0).astype(a.dtype)
    data = a * factor
    if STATE.enabled and recording(input):
        return record(RenormBackward0, data, (input,), save=(input,), args=(p, d, maxnorm))
    return wrap(data)


# ---- cartesian_prod ----
def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, one per row (``itertools.product``
    order)."""
    from .join import stack

    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type_name(t)}")
    for t in tensors:
        if t._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    if len({t._data.dtype for t in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    shape = tuple(t._data.shape[0] for t in tensors)
    k = len(tensors)
    grids = [t.view((1,) * i + (-1,) + (1,) * (k - i - 1)).expand(shape).reshape(-1)
             for i, t in enumerate(tensors)]
    return stack(grids, 1)


# ---- histc / bincount (counts: no gradient) ----
def histc(input, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's names
    """A histogram of ``bins`` equal-width bins over [min, max] (the data's range when both
    are 0); values outside are ignored, ``max`` itself falls in the last bin."""
    a = input._data
    if a.dtype.kind not in "fV":  # ("V": bfloat16)
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_name(a)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    lo_t, hi_t = a.dtype.type(lo), a.dtype.type(hi)
    v = a[(a >= lo_t) & (a <= hi_t)]
    pos = ((v - lo_t) * a.dtype.type(bins) / (hi_t - lo_t)).astype(np.int64)
    np.minimum(pos, bins - 1, out=pos)
    return wrap(np.bincount(pos, minlength=bins).astype(a.dtype))


_BincountNotImplemented = not_implemented_node("bincount")


def bincount(input, weights=None, minlength=0):
    """How often each non-negative integer occurs in 1-D ``input`` (summing ``weights``)."""
    a = input._data
    if a.dtype.kind not in "iu":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_name(a)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if a.ndim != 1 or (a.size and a.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None:
        w = weights._data
        if w.ndim != 1 or w.shape[0] != a.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        dtype = np.float32 if w.dtype == np.float32 else np.float64
        data = np.bincount(a, w.astype(np.float64), minlength).astype(dtype)
        if STATE.enabled and recording(weights):  # PyTorch has no derivative for weights
            return record(_BincountNotImplemented, data, (input, weights))
        return wrap(data)
    return wrap(np.bincount(a, minlength=minlength).astype(np.int64))


# ---- searchsorted / bucketize (indices: no gradient) ----
def _search(b, v, right, out_int32, sorter=None):
    """Row-wise ``np.searchsorted``: ``b`` is 1-D, or its leading dims match ``v``'s."""
    side = "right" if right else "left"
    if b.dtype != v.dtype:
        common = np.result_type(b.dtype, v.dtype)
        b, v = b.astype(common), v.astype(common)
    if b.ndim == 1:
        idx = np.searchsorted(b, v, side, sorter)
    else:
        lead = b.shape[:-1]
        bf = b.reshape(-1, b.shape[-1])
        vf = v.reshape(-1, v.shape[-1]) if v.ndim else v.reshape(1, 1)
        sf = None if sorter is None else sorter.reshape(bf.shape)
        idx = _xp(vf).empty(vf.shape, dtype=np.int64)
        for r in range(bf.shape[0]):  # one search per row of boundaries
            idx[r] = np.searchsorted(bf[r], vf[r], side, None if sf is None else sf[r])
        idx = idx.reshape(lead + v.shape[-1:])
    return wrap(as_array(idx).astype(np.int32 if out_int32 else np.int64, copy=False))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    """Where each value of ``input`` would go into the innermost rows of ``sorted_sequence``
    to keep them sorted (left or right of equal values)."""
    b = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    if scalar and not isinstance(input, (bool, int, float, complex, np.number, np.bool_)):
        raise TypeError("searchsorted: input is neither a tensor nor a number")  # (_checks)
    v = _xp(b).asarray(input) if scalar else input._data
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError("torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to "
                               "opposites, got side of left while right was True")
        right = side == "right"
    if b.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if sorter is not None:
        s = sorter._data
        if s.dtype != np.int64:
            raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype but "
                               f"got dtype {_name(s)}")
        if s.shape != b.shape:
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(b.shape)}and got sorter "
                               f"tensor {list(s.shape)}")
        sorter = s
    if b.ndim > 1:
        if v.ndim == 0:
            raise RuntimeError("torch.searchsorted(): input value can be a scalar only when "
                               f"boundaries tensor dimension is 1, but we got boundaries tensor "
                               f"dim({b.ndim}) and input value's dim(0) numel(1)")
        if v.ndim != b.ndim or v.shape[:-1] != b.shape[:-1]:
            raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or "
                               "the first N-1 dimensions of boundaries tensor and input value "
                               f"tensor must match, but we got boundaries tensor {list(b.shape)} "
                               f"and input value tensor {list(v.shape)}")
    return _search(b, v, right, out_int32, sorter)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each value of ``input`` given 1-D sorted ``boundaries``."""
    b = boundaries._data
    if b.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    if isinstance(input, Tensor):
        v = input._data
    elif isinstance(input, (bool, int, float)):
        v = _xp(b).asarray(input)
    else:  # (_checks: PyTorch's message)
        raise TypeError("bucketize: input is neither a tensor nor a number")
    return _search(b, v, right, out_int32)


# ---- isin ----
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of ``elements`` occurs in ``test_elements`` (either may be a
    number)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor) or \
            not isinstance(elements, (Tensor, bool, int, float)) or \
            not isinstance(test_elements, (Tensor, bool, int, float)):
        raise TypeError("isin: two numbers, or neither a tensor nor a number")  # (_checks)
    xp = _xp(elements._data if isinstance(elements, Tensor) else test_elements._data)
    e = elements._data if isinstance(elements, Tensor) else xp.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    for arr in (e, t):
        if arr.dtype.kind in "bc":
            raise RuntimeError(f"Unsupported input type encountered for isin(): {_name(arr)}")
    return wrap(as_array(np.isin(e, t, invert=invert)))




for _fn in (dist, diff, trapezoid, cumulative_trapezoid, quantile, nanquantile, cov, corrcoef,
            renorm, cartesian_prod, histc, bincount, bucketize, isin):
    register(_fn, _fn.__name__, method=_fn.__name__ not in (
        "trapezoid", "cumulative_trapezoid", "cartesian_prod", "bucketize", "isin"))
register(searchsorted, "searchsorted", method=False)
register(trapezoid, "trapz", method=False)
register_inplace(renorm)
