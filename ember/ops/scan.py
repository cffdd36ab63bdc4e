"""Scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

Contract: PyTorch's signatures, dtypes, named-tuple results and node names; rules in ember ops
(twice differentiable) with forward-mode rules. Integer and bool inputs of ``cumsum``/``cumprod``
give int64 (unless ``dtype=``), as PyTorch; ``cummax``/``cummin`` return ``(values, indices)``
named tuples whose gradient goes to the index each value came from (ties: the latest index).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import Tensor, _wrap_dim
from ._jvp import as_out_dtype, linear, out_zeros
from ._registry import meta_zeros, node_class, record, recording, register, wrap
from .inplace import register_inplace
from .join import cat, stack
from .reduction import HALF, return_types, rounded, scatter_along, take_along

_cummax_type = return_types.make("cummax")
_cummin_type = return_types.make("cummin")


def _xp(a):
    """The array namespace of ``a``: NumPy itself for a NumPy array (no lookup)."""
    return np if isinstance(a, np.ndarray) else namespace(a)


def _accumulate(ufunc, a, axis):
    """``ufunc.accumulate(a, axis=axis)`` for an array of any backend.

    NOTE [accumulate on devices]: CuPy's ufuncs accumulate only for add and multiply (cumsum,
    cumprod). On a device array, maximum/minimum take a log-step scan (position i combines
    with i - s for s = 1, 2, 4...), earlier operand first, so that a tie keeps the earlier
    value and a NaN the first NaN, as NumPy's sequential scan: bit for bit the same. Any other
    ufunc (logaddexp) is applied in order along the axis, one slice at a time (its rounding
    depends on the order)."""
    if isinstance(a, np.ndarray) or ufunc is np.add or ufunc is np.multiply:
        return ufunc.accumulate(a, axis=axis)
    out = np.moveaxis(a, axis, -1).copy()
    n = out.shape[-1]
    if ufunc is np.maximum or ufunc is np.minimum:
        s = 1
        while s < n:
            out[..., s:] = ufunc(out[..., :-s], out[..., s:])
            s *= 2
    else:
        for j in range(1, n):
            out[..., j] = ufunc(out[..., j - 1], out[..., j])
    return np.moveaxis(out, -1, axis)


def _scan_dim(dim, ndim):
    return _wrap_dim(int(dim), ndim)


def _reverse_cumsum(g, dim):
    """``sum_{j >= i} g_j`` along ``dim``, in ember ops."""
    if g.ndim == 0:
        return g
    return g.flip(dim).cumsum(dim).flip(dim)


def _scan_input(input, dtype):
    a = input._data
    if dtype is not None:
        return a.astype(dtype.np)
    if a.dtype.kind in "biu":
        return a.astype(np.int64)
    return a


# ---- cumsum ----
def _cumsum_vjp(ctx, g):
    return (_reverse_cumsum(g, ctx.args[0]),)


CumsumBackward0 = node_class("CumsumBackward0", _cumsum_vjp,
                             linear(lambda ctx, dx: as_out_dtype(ctx, dx).cumsum(ctx.args[0])))


def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim``."""
    a = _scan_input(input, dtype)
    d = _scan_dim(dim, a.ndim)
    if a.dtype in HALF:  # NOTE: accumulated in float32 and rounded, see reduction.HALF
        data = rounded(np.cumsum(a, axis=d, dtype=np.float32), a.dtype) if a.ndim else a.copy()
    else:
        data = np.cumsum(a, axis=d) if a.ndim else a.copy()
    if STATE.enabled and recording(input):
        return record(CumsumBackward0, data, (input,), args=(d,))
    return wrap(data)


# ---- cumprod ----
def _cumprod_vjp(ctx, g):
    x, out = ctx.saved_tensors
    d, = ctx.args
    if x.ndim == 0 or x.shape[d] == 1:  # the identity: no second order, as PyTorch
        return (g,)
    # NOTE: out / x is exact only without zeros; with a zero in the slice the gradient is
    # built from the products that leave one element out (O(n^2) along ``d``), as PyTorch's
    # cumprod_backward does, so values and higher derivatives stay exact.
    if not bool((x == 0).any()):
        return (_reverse_cumsum(g * out, d) / x,)
    if not STATE.enabled:
        return (wrap(_cumprod_grad_zeros(g._data, x._data, out._data, d)),)
    # create_graph: the O(n^2) products, twice differentiable; position i takes only the
    # gradients at j >= i (selected, so an infinite or NaN gradient before i stays out)
    # create_graph: for each position k, the products that leave x_k out, times the gradients
    # at j >= k (PyTorch's O(n^2) composition, so infinities and NaNs travel as there)
    n = x.shape[d]
    cols = []
    for k in range(n):
        if k == 0:
            one = wrap(np.ones_like(x.narrow(d, 0, 1)._data))
            omitted = cat([one, x.narrow(d, 1, n - 1).cumprod(d)], d)
        else:
            until = x.narrow(d, 0, k).prod(d, keepdim=True)
            if k == n - 1:
                omitted = until
            else:
                rest = x.narrow(d, k + 1, n - k - 1).cumprod(d)
                omitted = cat([until, until.expand_as(rest) * rest], d)
        cols.append((g.narrow(d, k, n - k) * omitted).sum(d))
    return (stack(cols, d),)


def _cumprod_grad_zeros(g, x, out, d):
    """The first-order gradient of cumprod where a slice holds a zero, in O(n) (PyTorch's
    form when no graph is built): before the first zero ``sum_{j >= i} g_j out_j / x_i``; at
    the first zero ``out_{z-1} * sum_{z <= j < z2} g_j prod_{z < k <= j} x_k`` (up to the second
    zero ``z2``); after it exactly 0. Gradients outside each range are selected away."""
    g, x, out = (np.moveaxis(a, d, -1) for a in (g, x, out))
    zero = x == 0
    run = np.cumsum(zero, axis=-1)
    res = _xp(g).zeros(np.broadcast_shapes(g.shape, x.shape), dtype=g.dtype)
    with np.errstate(all="ignore"):
        before = run == 0
        w = np.where(before, out * g, 0)
        head = np.flip(np.cumsum(np.flip(w, -1), axis=-1), -1) / x
        res[before] = head[before]
        first = zero & (run == 1)
        between = (run == 1) & ~first
        tail = np.cumprod(np.where(between, x, 1), axis=-1)
        acc = np.sum(tail * np.where(run == 1, g, 0), axis=-1, keepdims=True)
        prev = np.concatenate([np.ones_like(out[..., :1]), out[..., :-1]], axis=-1)
        res[first] = (acc * prev)[first]
    return np.moveaxis(res, -1, d)


def _cumprod_jvp(ctx, dx):
    x, out = ctx.saved_tensors
    d, = ctx.args
    if dx is None:
        return meta_zeros(ctx._meta[0])
    # NOTE: PyTorch's composition, so inf and NaN propagate as there: ``out * cumsum(dx / x)``
    # (NaN at a 0-d NaN or inf too), except at and after the first zero of a slice, where the
    # product with the first zero's factor replaced by its tangent is exact.
    z = out * (dx / x).cumsum(d) if x.ndim else dx / x * out
    zeros = x == 0
    if not bool(zeros.any()):
        return z
    if x.ndim == 0:
        return dx.where(zeros, z)
    first = zeros & (zeros.cumsum(d) == 1)
    after = first.cumsum(d).bool()
    return dx.where(first, x).cumprod(d).where(after, z)


CumprodBackward0 = node_class("CumprodBackward0", _cumprod_vjp, _cumprod_jvp)


def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim`` (gradients exact with zeros)."""
    a = _scan_input(input, dtype)
    d = _scan_dim(dim, a.ndim)
    data = np.cumprod(a, axis=d) if a.ndim else a.copy()
    if STATE.enabled and recording(input):
        x = input if dtype is None or input.dtype == dtype else input.to(dtype)
        return record(CumprodBackward0, data, (input,), save=(x,), args=(d,), save_out=True)
    return wrap(data)


# ---- cummax / cummin ----
# NOTE: each output takes its value from one input (the running extreme's index), so the
# gradient goes there, accumulated where several outputs share an input. The rules need only
# the indices, but PyTorch's node saves the input too, so changing the input in place before
# the backward is the same error there as here: the input is saved (version-checked) and unused.
def _cumext_vjp(ctx, g, g_idx=None):
    idx, x = ctx.saved_tensors
    in_shape, d, _ = ctx.args
    if g is None:
        return (None,)
    if not x._data.size:
        # NOTE: PyTorch returns the (empty) input itself: the gradient does not depend on g,
        # so nothing before this node reaches a second-order gradient through it
        return (x if STATE.enabled else x.detach(),)
    return (scatter_along(g, in_shape, d, idx),)


def _cumext_jvp(ctx, dx, *_):
    idx, _ = ctx.saved_tensors
    if dx is None:
        return out_zeros(ctx, 0), None
    return take_along(dx, ctx.args[1], idx), None


CummaxBackward0 = node_class("CummaxBackward0", _cumext_vjp, _cumext_jvp)
CumminBackward0 = node_class("CumminBackward0", _cumext_vjp, _cumext_jvp)


def _cumext(input, dim, ufunc, node, result_type):
    a = input._data
    d = _scan_dim(dim, a.ndim)
    if a.ndim == 0:
        values, idx = a.copy(), _xp(a).zeros((), dtype=np.int64)
    elif a.size == 0:
        values, idx = a.copy(), _xp(a).zeros(a.shape, dtype=np.int64)
    else:
        values = _accumulate(ufunc, a, d)
        # NOTE: PyTorch moves the index on ties (x >= running max) and to each NaN; a position
        # j updates the index exactly when x_j equals the running value there (or is NaN).
        hit = a == values
        if a.dtype.kind in "fV":  # ("V": bfloat16)
            hit |= np.isnan(a)
        pos = _xp(a).arange(a.shape[d]).reshape([-1 if i == d else 1 for i in range(a.ndim)])
        idx = _accumulate(np.maximum, np.where(hit, pos, 0), d).astype(np.int64)
    indices = wrap(idx)
    if STATE.enabled and recording(input) and a.dtype.kind in "fcV":
        out = record(node, values, (input,), save=(indices, input), args=(a.shape, d, True))
        return result_type(out, indices)
    return result_type(wrap(values), indices)


def cummax(input, dim):
    """Running maximum along ``dim``: ``(values, indices)``."""
    return _cumext(input, dim, np.maximum, CummaxBackward0, _cummax_type)


def cummin(input, dim):
    """Running minimum along ``dim``: ``(values, indices)``."""
    return _cumext(input, dim, np.minimum, CumminBackward0, _cummin_type)


# ---- logcumsumexp ----
def _lcse_fast(x, out, d):
    """The shift ``m`` (each slice's last output, its maximum) when ``exp(x - m)`` and
    ``exp(m - out)`` are both finite and exact enough, else None."""
    limit = {2: 8.0, 4: 60.0}.get(x._data.dtype.itemsize, 600.0)
    m = out.narrow(d, out.shape[d] - 1, 1)
    if not bool(np.isfinite(out._data).all()):
        return None
    span = m._data - np.min(x._data, axis=d, keepdims=True)
    return m if float(np.max(span)) < limit else None


def _lcse_weights(x, out, d):
    """``w[..., i, j] = exp(x_i - out_j)`` for ``j >= i`` (else 0), ``d`` moved last: every
    term is at most 1, whatever the range of ``x``."""
    xl, ol = x.movedim(d, -1), out.movedim(d, -1)
    n = xl.shape[-1]
    below = wrap(_xp(x._data).tri(n, k=-1, dtype=bool))  # (i, j) with j < i: no dependence
    return (xl.unsqueeze(-1) - ol.unsqueeze(-2)).masked_fill(below, float("-inf")).exp()


def _logcumsumexp_vjp(ctx, g):
    x, out = ctx.saved_tensors
    d, = ctx.args
    if x.ndim == 0 or x.numel() == 0:
        return (g,)
    if STATE.enabled:
        return (_logcumsumexp_vjp_graph(x, out, g, d),)
    if np.isnan(g._data).any():
        # NOTE: PyTorch sums the positive and the negative parts of g apart, in log space (log
        # g where g > 0, log -g where g < 0): a NaN gradient is in neither and contributes 0.
        # (Not on the graph path, which selects it away itself: there the NaN must stay in g,
        # as PyTorch's log(|g|) sends the second order through it, NaN.)
        g = g.masked_fill(g.isnan(), 0.0)
    # NOTE: d out_j / d x_i = exp(x_i - out_j) for j >= i. Shifting by m = the slice's last
    # output gives exp(x - m) * reverse_cumsum(g * exp(m - out)), finite while the slice spans
    # less than ~600 (60 in float32); wider slices (|x| ~ 1e3) use the O(n^2) weights.
    m = _lcse_fast(x, out, d)
    if m is not None:
        return ((x - m).exp() * _reverse_cumsum(g * (m - out).exp(), d),)
    w = _lcse_weights(x, out, d)
    return ((w * g.movedim(d, -1).unsqueeze(-2)).sum(-1).movedim(-1, d),)


def _logcumsumexp_vjp_graph(x, out, g, d):
    """The rule as PyTorch composes it (create_graph: its second order, NaNs included): the
    positive and negative parts of g summed apart in log space, by reverse logcumsumexps."""
    from .select import where

    lowest = float(np.finfo(g._data.dtype).min)
    log_abs = g.abs().log()

    def part(mask):
        r = (where(mask, log_abs, lowest) - out).flip(d).logcumsumexp(d).flip(d)
        return (r + x).exp()
    return part(g > 0) - part(g < 0)


def _logcumsumexp_jvp(ctx, dx):
    # NOTE: PyTorch's forward formula, shifted by the slice's maximum m (not the running one),
    # cumsum(exp(x - m) * dx) / (cumsum(exp(x - m)) + 1e-13), underflows where x lies far below
    # the maximum (x = [-1000, 0] gives the first output a tangent of 0, not 1). ember computes
    # the tangent exactly (below) and takes PyTorch's where either is NaN: NaN inputs, infinite
    # ones, and -inf entries whose exact tangent is 0/0 but PyTorch's 0. Precisely, the two
    # differ at an output whose prefix maximum r is finite and lies far below m: by more than
    # 1e-6 relative once m - r > 16 (the 1e-13 term), by all of it where exp(r - m) underflows
    # or m is +inf (x = [1, inf]: PyTorch's first tangent is 0, the exact one dx[0]). The
    # fuzzer leaves such slices out (NOTE [logcumsumexp underflow] in tests/fuzz/gen.py).
    x, out = ctx.saved_tensors
    d, = ctx.args
    if dx is None:
        return meta_zeros(ctx._meta[0])
    if x.numel() == 0:
        return dx
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        e = (x - x.amax(d, keepdim=True)).exp()
        theirs = (e * dx).cumsum(d) / (e.cumsum(d) + 1e-13)
        if x.ndim == 0:
            return theirs
        exact = _logcumsumexp_exact_jvp(x, out, d, dx)
        from .select import where

        return where(exact.isnan() | theirs.isnan(), theirs, exact)


def _logcumsumexp_exact_jvp(x, out, d, dx):
    m = _lcse_fast(x, out, d)
    if m is not None:
        return (m - out).exp() * ((x - m).exp() * dx).cumsum(d)
    w = _lcse_weights(x, out, d)
    # NOTE: the terms with j < i are masked again after the product: a non-finite tangent
    # reaches later outputs only (PyTorch's is a cumsum), not 0 * inf everywhere
    below = wrap(_xp(w._data).tri(w.shape[-1], k=-1, dtype=bool))
    return (w * dx.movedim(d, -1).unsqueeze(-1)).masked_fill(below, 0.0).sum(-2).movedim(-1, d)


LogcumsumexpBackward0 = node_class("LogcumsumexpBackward0", _logcumsumexp_vjp,
                                   _logcumsumexp_jvp)


def logcumsumexp(input, dim):
    """``log(cumsum(exp(input)))`` along ``dim``, computed without overflow."""
    a = input._data
    d = _scan_dim(dim, a.ndim)
    if a.dtype.kind not in "fcV":  # ("V": bfloat16)
        name = "Bool" if a.dtype.kind == "b" else _dt.from_np(a.dtype).scalar_name
        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for \'{name}\'')
    with np.errstate(invalid="ignore"):  # NaN and inf - inf propagate as NaN, quietly
        data = _accumulate(np.logaddexp, a, d) if a.ndim and a.size else a.copy()
    if STATE.enabled and recording(input):
        return record(LogcumsumexpBackward0, data, (input,), save=(input,), args=(d,),
                      save_out=True)
    return wrap(data)


for _name in ("cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"):
    register(globals()[_name], _name)
register_inplace(cumsum, cumprod)

_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def _dtype_checked(method):
    """``cumsum_``/``cumprod_`` with ``dtype=``: PyTorch refuses a dtype other than self's."""
    def checked(self, dim, *, dtype=None):
        if dtype is not None and dtype != self.dtype:
            def c_name(dt):
                return _C_NAMES.get(str(dt).replace("torch.", ""), str(dt))

            raise RuntimeError(f"Bad in-place call: input tensor dtype {c_name(self.dtype)} and "
                               f"output tensor dtype {c_name(dtype)} should match")
        return method(self, dim, dtype=dtype)
    checked.__name__ = method.__name__
    checked.__doc__ = method.__doc__
    return checked


for _name in ("cumsum_", "cumprod_"):
    register(_dtype_checked(getattr(Tensor, _name)), _name, function=False)
