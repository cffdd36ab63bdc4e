"""Activation functions: softmax, log_softmax, softmin (max-shifted, stable), the elementwise
activations of ``nn.functional`` (relu6, leaky_relu, elu/selu/celu, gelu, silu, mish,
softplus, logsigmoid, hardtanh, hardsigmoid, hardswish, the shrinks, threshold, rrelu...),
glu and prelu.

Contract: PyTorch's signatures, defaults, dtypes (``dtype=`` casts first; integer input gives
PyTorch's kernel error where PyTorch has one), node names (in-place variants included),
subgradients at the kinks and error messages; forwards stable at |x| ~ 1e3 and beyond; rules in
ember ops (NOTE [activation rules]), so every op is differentiable any number of times.
``FUNCTIONAL`` lists the names ``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

import warnings

import numpy as np

# NOTE [nested forward levels]: while forward-mode levels are nested (jvp of jvp, jacfwd of
# jacfwd), an inner level's tangent rule must carry the outer levels' tangents, and only the
# published ops (ember.<op>, Tensor methods and operators, F.<op>) are dual-aware then; fused
# kernels and this module's private ops (_erf, this module's own softplus) compute through
# published ops instead.
from ..autograd.forward_ad import _LEVELS as _forward_levels
from ..autograd.grad_mode import STATE, no_grad
from ..tensor import _wrap_dim, as_array, zeros_as
from ._jvp import _fit, elementwise, linear, out_zeros
from ._registry import (
    arrays_only,
    float_data,
    node_class,
    record,
    record_multi,
    recording,
    register,
    wrap,
    zeros_of,
)
from .inplace import apply_inplace
from .join import cat
from .operands import not_implemented_node
from .reduction import HALF, rounded
from .select import where
from .special_erf import erf as _erf_np
from .unary import bounded
from .where_kernel import where as _select

FUNCTIONAL = ["softmax", "log_softmax"]


def _softmax_dim(ndim, name):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


def _input_array(input, dtype, dim, name):
    """The array softmax-like ops work on, and the wrapped dim; integer and bool input (after
    ``dtype``) raise PyTorch's kernel error."""
    a = input._data
    if dtype is not None:
        a = a.astype(dtype.np)
    if dim is None:
        dim = _softmax_dim(a.ndim, name)
    d = _wrap_dim(dim, a.ndim)
    if a.dtype.kind not in "fcV":
        last = "_lastdim" if a.ndim == 0 or d == a.ndim - 1 else ""
        _check_float(a, f"{name}{last}_kernel_impl")
    return a, d


# ---- softmax / log_softmax ----
def _half_to_float(out, g):
    """NOTE [half softmax]: PyTorch computes a float16/bfloat16 softmax, and its backward,
    in float32 and rounds once (a float16 sum of 3000 ones is 2048); the engine rounds the
    gradient."""
    if out._data.dtype in HALF:
        return out.float(), g.float()
    return out, g


def _softmax_vjp(ctx, g):
    out, = ctx.saved_tensors
    dim = ctx.args[0]
    out, g = _half_to_float(out, g)
    return (out * (g - (g * out).sum(dim, keepdim=True)),)


def _log_softmax_vjp(ctx, g):
    out, = ctx.saved_tensors
    dim = ctx.args[0]
    out, g = _half_to_float(out, g)
    if out._data.ndim and arrays_only():
        # NOTE: no graph to build: the same four operations on the arrays, in one buffer.
        gd = g._data
        e = np.exp(out._data)
        np.multiply(e, gd.sum(axis=dim, keepdims=True, dtype=gd.dtype), out=e)
        return (wrap(np.subtract(gd, e, out=e)),)
    return (g - out.exp() * g.sum(dim, keepdim=True),)


def _softmax_jvp(ctx, dx):
    out, = ctx.saved_tensors
    dim = ctx.args[0]
    return out * (dx - (dx * out).sum(dim, keepdim=True))


def _log_softmax_jvp(ctx, dx):
    out, = ctx.saved_tensors
    dim = ctx.args[0]
    return dx - (out.exp() * dx).sum(dim, keepdim=True)


SoftmaxBackward0 = node_class("SoftmaxBackward0", _softmax_vjp, linear(_softmax_jvp))
LogSoftmaxBackward0 = node_class("LogSoftmaxBackward0", _log_softmax_vjp,
                                 linear(_log_softmax_jvp))


def _shifted(a, d):
    """``a`` minus its max along ``d`` (a new array). As PyTorch's kernels, an infinite max
    is subtracted too, so a row holding +inf, or only -inf, comes out NaN."""
    if a.ndim == 0:
        return a - a
    if not a.size:
        return a - zeros_as(a, shape=())
    m = a.max(axis=d, keepdims=True)
    if np.isfinite(m).all():
        return a - m
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, as PyTorch, without NumPy's warning
        return a - m


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    a, d = _input_array(input, dtype, dim, "softmax")
    half = a.dtype if a.dtype in HALF else None
    if half:  # NOTE [half softmax]
        a = a.astype(np.float32)
    e = np.exp(_shifted(a, d))
    data = np.divide(e, e.sum(axis=d, keepdims=True), out=e) if a.ndim else e / e
    if half:
        data = rounded(data, half)
    if STATE.enabled and recording(input):
        src = input if dtype is None else input.to(dtype)
        return record(SoftmaxBackward0, data, (src,), args=(d,), save_out=True)
    return wrap(data)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``x - logsumexp(x)`` along ``dim``, computed stably."""
    a, d = _input_array(input, dtype, dim, "log_softmax")
    half = a.dtype if a.dtype in HALF else None
    if half:  # NOTE [half softmax]
        a = a.astype(np.float32)
    s = _shifted(a, d)
    if a.ndim and a.size:  # (empty: log of an empty sum would warn; the result is s, empty)
        lse = np.exp(s).sum(axis=d, keepdims=True)
        data = np.subtract(s, np.log(lse, out=lse), out=s)  # (s is private to this call)
    else:
        data = s
    if half:
        data = rounded(data, half)
    if STATE.enabled and recording(input):
        src = input if dtype is None else input.to(dtype)
        return record(LogSoftmaxBackward0, data, (src,), args=(d,), save_out=True)
    return wrap(data)

def _torch_softmax(input, dim, dtype=None):
    return softmax(input, dim, dtype=dtype)


def _torch_log_softmax(input, dim, dtype=None):
    return log_softmax(input, dim, dtype=dtype)


# NOTE: torch.softmax / Tensor.softmax take (dim, dtype) positionally; nn.functional's take
# (dim, _stacklevel, dtype).
register(_torch_softmax, "softmax")
register(_torch_log_softmax, "log_softmax")

# ==== elementwise activations ==============================================================
# NOTE [activation rules]: each rule is ``g`` times the derivative, written with ember ops on
# the input so that create_graph records it (any order). The piecewise parts of a derivative
# are constant masks made from the input's values (their own derivative is zero almost
# everywhere, as PyTorch's), and the smooth parts are ember ops, so second derivatives hold.

def _mask(x, cond):
    """A constant tensor of ``x``'s dtype: 1 where ``cond`` holds, else 0."""
    return wrap(cond.astype(x._data.dtype))


def _keep(g, cond):
    """``g`` where the bool array ``cond`` holds, else 0: a gradient the derivative's zero
    branch stops, selected (never ``g * 0``, NaN for an inf or NaN ``g``: NOTE [masked
    gradients] in where_kernel.py), as PyTorch's backward kernels do."""
    return where(wrap(cond), g, 0.0)


def _double_backward(node_name, vjp):
    """``vjp(g, x, *params)`` (a select or a constant factor per element) as the fused op
    PyTorch records when the backward is itself differentiated (``ThresholdBackwardBackward0``):
    its rule sends ``zeros_like(grad)`` to ``x``, as PyTorch's, not None, so the node that
    made ``x`` still runs its rule (a 0 * inf there, as in var's at one element, is NaN in the
    second order as in PyTorch). Without a graph to record it is ``vjp`` itself."""
    def rule(ctx, gg):
        x, = ctx.saved_tensors
        return (vjp(gg, x, *ctx.args) if ctx.next_functions[0][0] is not None else None,
                gg.new_zeros(x.shape) if ctx.next_functions[1][0] is not None else None)

    node = node_class(node_name, rule, elementwise)

    def backward(g, x, *params):
        if not (STATE.enabled and x.requires_grad) or len(_forward_levels) > 1:
            return vjp(g, x, *params)
        with no_grad():
            data = vjp(g, x, *params)._data
        return record(node, data, (g, x), save=(x,), args=params)
    return backward


def _fused_backward(node_name, vjp, curvature):
    """``vjp(g, x, *params)`` as the fused op PyTorch records for a smooth activation's backward
    when it is itself differentiated (``SoftplusBackwardBackward0``): its rule sends ``vjp(gg,
    x)`` to ``g`` and ``curvature(gg * g, x, *params)`` (PyTorch's double-backward formula) to
    ``x``. Nested forward levels (NOTE [nested forward levels]) and no graph: ``vjp`` itself."""
    def rule(ctx, gg):
        g, x = ctx.saved_tensors
        return (backward(gg, x, *ctx.args) if ctx.next_functions[0][0] is not None else None,
                curvature(gg * g, x, *ctx.args) if ctx.next_functions[1][0] is not None
                else None)

    node = node_class(node_name, rule, elementwise)

    def backward(g, x, *params):
        if not (STATE.enabled and recording(g, x)) or len(_forward_levels) > 1:
            return vjp(g, x, *params)
        with no_grad():
            data = vjp(g, x, *params)._data
        return record(node, data, (g, x), save=(g, x), args=params)
    return backward


def _check_float(a, kernel):
    if a.dtype.kind not in "fcV":
        from ..dtypes import from_np

        raise NotImplementedError(
            f'"{kernel}" not implemented for \'{from_np(a.dtype).scalar_name}\'')


def _pointwise(name, node_name, forward, vjp, kernel=None, inplace_name=None, out_vjp=None):
    """The function ``name(input, *params)`` and its node: ``forward(array, *params)`` and the
    rule ``vjp(g, x, *params)``. ``kernel`` names PyTorch's kernel in its error for integer
    input (None: integers become the default float dtype). ``inplace_name`` is PyTorch's node
    name for the in-place variant (``EluBackward1``), when it differs; ``out_vjp(g, out,
    *params)`` is the in-place variant's rule when PyTorch's reads the result instead of the
    input (so a later in-place change of the result fails the version check, as there)."""
    def rule(ctx, g):
        x, = ctx.saved_tensors
        return (vjp(g, x, *ctx.args),)

    def rule_out(ctx, g):
        out, = ctx.saved_tensors
        return (out_vjp(g, out, *ctx.args),)

    node = node_class(node_name, rule, elementwise)
    if out_vjp is not None:
        node_ = node_class(inplace_name or node_name, rule_out, elementwise)
    else:
        node_ = node_class(inplace_name, rule, elementwise) if inplace_name else node
    saves_out = out_vjp is not None

    def op(input, *params, _inplace=False):
        a = input._data
        if kernel is not None:
            _check_float(a, kernel)
        else:
            a = float_data(a)
        # NOTE: half precision computes in float32 and rounds once, as PyTorch's kernels.
        work = a.astype(np.float32) if a.dtype.kind == "f" and a.dtype.itemsize == 2 else a
        data = as_array(forward(work, *params)).astype(a.dtype, copy=False)
        if STATE.enabled and recording(input):
            if _inplace and saves_out:
                return record(node_, data, (input,), save_out=True, args=params)
            return record(node_ if _inplace else node, data, (input,), save=(input,),
                          args=params)
        return wrap(data)

    op.__name__ = op.__qualname__ = name
    return op, node


def _maybe_inplace(input, op, inplace, *params):
    if inplace:
        return apply_inplace(input, op, *params, _inplace=True)
    return op(input, *params)


# ---- hardtanh / relu6 ----
def _hardtanh_vjp(g, x, lo, hi):
    # NOTE: PyTorch's subgradient: 0 at the bounds themselves. (A NaN gets 0, as from
    # PyTorch's vectorised kernel; its scalar loop, for tensors of a few elements, passes g.)
    return _keep(g, (x._data > lo) & (x._data < hi))


_hardtanh_vjp = _double_backward("HardtanhBackwardBackward0", _hardtanh_vjp)
_hardtanh, HardtanhBackward0 = _pointwise(
    "hardtanh", "HardtanhBackward0", lambda a, lo, hi: np.clip(a, lo, hi), _hardtanh_vjp,
    kernel="hardtanh_cpu", out_vjp=_hardtanh_vjp)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``clamp(input, min_val, max_val)`` with a zero gradient at and beyond the bounds."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input._data.dtype.kind in "iu" and not inplace:
        # NOTE: integer input stays integer (a clamp), as PyTorch.
        return wrap(np.clip(input._data, min_val, max_val).astype(input._data.dtype))
    return _maybe_inplace(input, _hardtanh, inplace, min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """``min(max(input, 0), 6)`` (PyTorch records it as hardtanh)."""
    return hardtanh(input, 0.0, 6.0, inplace)


# ---- leaky_relu / rrelu ----
def _leaky_vjp(g, x, slope):
    pos = x._data > 0
    return g * wrap(_select(pos, np.ones_like(x._data, shape=()),
                            np.full_like(x._data, slope, shape=())))


_leaky_vjp = _double_backward("LeakyReluBackwardBackward0", _leaky_vjp)
_leaky_relu, LeakyReluBackward0 = _pointwise(
    "leaky_relu", "LeakyReluBackward0", lambda a, s: _select(a > 0, a, a * s), _leaky_vjp,
    kernel="leaky_relu_cpu", inplace_name="LeakyReluBackward1", out_vjp=_leaky_vjp)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    return _maybe_inplace(input, _leaky_relu, inplace, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def _rrelu_vjp(g, x, noise):
    return g * noise


_rrelu_vjp = _double_backward("RreluWithNoiseBackwardBackward0", _rrelu_vjp)
_rrelu, RreluWithNoiseBackward0 = _pointwise(
    "rrelu", "RreluWithNoiseBackward0", lambda a, noise: a * noise._data, _rrelu_vjp,
    kernel="rrelu_with_noise_out_cpu", inplace_name="RreluWithNoiseBackward1",
    out_vjp=_rrelu_vjp)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element when
    ``training``, and is ``(lower + upper) / 2`` otherwise."""
    a = input._data
    if training:
        from ..random import rrelu_slopes

        slopes = rrelu_slopes(a, lower, upper)
    else:
        slopes = (lower + upper) / 2
    dt = float_data(a).dtype
    one = np.ones_like(a, shape=(), dtype=dt)
    noise = wrap(_select(a > 0, one, np.full_like(one, slopes)
                         if isinstance(slopes, (int, float, np.generic))
                         else slopes.astype(dt, copy=False)))
    return _maybe_inplace(input, _rrelu, inplace, noise)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


# ---- elu / selu / celu ----
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _elu_np(a, alpha, scale, input_scale):
    # NOTE: expm1 of the clamped value: accurate near 0, no overflow for large positive x.
    neg = np.expm1(bounded(np.minimum, a, 0) * input_scale) * (alpha * scale)
    return _select(a > 0, a * scale, neg)


def _elu_bwd_np(g, s, alpha, scale, input_scale, is_result):
    """elu's input gradient from the input (or, ``is_result``, from the result ``s``).
    NOTE: a NaN input gives a NaN gradient, as PyTorch's vectorised kernel (its scalar loop,
    for a few elements, gives the positive branch's)."""
    dtype = np.result_type(g, s)
    if dtype in HALF:
        g, s = g.astype(np.float32), s.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        if is_result:
            neg = g * (input_scale * (s + alpha * scale))
        else:  # exp of the clamped input: no overflow where the positive branch is taken
            neg = g * (input_scale * alpha * scale) * np.exp(np.minimum(s, 0) * input_scale)
        out = np.where(np.greater(s, 0), g * scale, neg)
    return as_array(out).astype(dtype, copy=False)


def _elu_bwd(g, s, args):
    """PyTorch's elu_backward as one op (EluBackwardBackward0), with its own rule."""
    if len(_forward_levels) > 1:  # NOTE [nested forward levels]
        alpha, scale, input_scale, is_result = args
        neg = (g * input_scale * (s + alpha * scale) if is_result
               else g * (input_scale * alpha * scale) * (s * input_scale).exp())
        return (g * scale).where(s > 0, neg)
    data = _elu_bwd_np(g._data, s._data, *args)
    if STATE.enabled and recording(g, s):
        return record(EluBackwardBackward0, data, (g, s), save=(g, s), args=args)
    return wrap(data)


def _elu_bwd_vjp(ctx, gg):
    g, s = ctx.saved_tensors
    alpha, scale, input_scale, is_result = ctx.args
    gg_g = _elu_bwd(gg, s, ctx.args) if ctx.next_functions[0][0] is not None else None
    gs = None
    if ctx.next_functions[1][0] is not None:
        # NOTE: PyTorch multiplies by the (strict) s < 0 mask, so a NaN or inf gradient where
        # the positive branch is taken gives NaN, and the second derivative at 0 is 0
        h = gg * g * input_scale
        if not is_result:
            h = _elu_bwd(h, s, ctx.args)
        gs = h * wrap(np.less(s._data, 0).astype(h._data.dtype))
    return gg_g, gs


EluBackwardBackward0 = node_class("EluBackwardBackward0", _elu_bwd_vjp, elementwise)


def _elu_vjp(g, x, alpha, scale, input_scale):
    return _elu_bwd(g, x, (alpha, scale, input_scale, False))


def _elu_out_vjp(g, out, alpha, scale, input_scale):
    # NOTE: from the result, as PyTorch's in-place rule: for x <= 0,
    # d out / dx = input_scale * (out + alpha * scale).
    return _elu_bwd(g, out, (alpha, scale, input_scale, True))


_elu, EluBackward0 = _pointwise("elu", "EluBackward0", _elu_np, _elu_vjp, kernel="elu_cpu",
                                inplace_name="EluBackward1", out_vjp=_elu_out_vjp)


def _celu_grad_scale(alpha):
    # NOTE: PyTorch's celu derivative inverts alpha rounded to float32 (its forward inverts the
    # double), so float64 gradients differ from d/dx of the forward by ~1e-8 relative.
    with np.errstate(divide="ignore", over="ignore"):
        return float(np.float64(1.0) / np.float64(np.float32(alpha)))


def _celu_vjp(g, x, alpha, scale, input_scale):
    return _elu_vjp(g, x, alpha, scale, _celu_grad_scale(alpha))


def _celu_out_vjp(g, out, alpha, scale, input_scale):
    return _elu_out_vjp(g, out, alpha, scale, _celu_grad_scale(alpha))


_celu, CeluBackward0 = _pointwise("celu", "CeluBackward0", _elu_np, _celu_vjp,
                                  kernel="elu_cpu", inplace_name="CeluBackward1",
                                  out_vjp=_celu_out_vjp)


def elu(input, alpha=1.0, inplace=False):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return _maybe_inplace(input, _elu, inplace, alpha, 1.0, 1.0)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """``scale * elu(x, alpha)`` with the self-normalising constants."""
    return _maybe_inplace(input, _elu, inplace, _SELU_ALPHA, _SELU_SCALE, 1.0)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(input, _celu, inplace, alpha, 1.0, 1.0 / alpha)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


# ---- erf (private: gelu's exact form; special_erf.py: NumPy only, within 2 ulp) ----
def _erf_vjp(g, x):
    return g * ((x * x).neg().exp() * float(2 / np.sqrt(np.pi)))


_erf, _ErfNode = _pointwise("erf", "ErfBackward0", _erf_np, _erf_vjp)


# ---- gelu / silu / mish ----
_SQRT_2_PI = float(np.sqrt(2 / np.pi))
_GELU_C = 0.044715


def _gelu_np(a, approximate):
    if approximate == "tanh":
        # (x*x*x as PyTorch's kernel, not NumPy's a ** 3: libm's pow, 20x slower)
        return 0.5 * a * (1 + np.tanh(_SQRT_2_PI * (a + _GELU_C * (a * a * a))))
    return 0.5 * a * (1 + _erf_np(a * float(np.sqrt(0.5))))


def _gelu_slope(x, approximate, erf=_erf):
    """gelu's derivative at ``x`` (ember ops: differentiable again)."""
    if approximate == "tanh":
        t = ((x + x ** 3 * _GELU_C) * _SQRT_2_PI).tanh()
        dt = (1 - t * t) * ((x * x * (3 * _GELU_C) + 1) * _SQRT_2_PI)
        return (t + 1) * 0.5 + x * dt * 0.5
    cdf = (erf(x * float(np.sqrt(0.5))) + 1) * 0.5
    pdf = (x * x * -0.5).exp() * float(1 / np.sqrt(2 * np.pi))
    return cdf + x * pdf


def _gelu_curvature(x, approximate):
    """gelu's second derivative at ``x``, as one factor (so an inf gradient times it is inf,
    not inf - inf from separate terms, as PyTorch's gelu double backward)."""
    if approximate == "tanh":
        du = (x * x * (3 * _GELU_C) + 1) * _SQRT_2_PI
        t = ((x + x ** 3 * _GELU_C) * _SQRT_2_PI).tanh()
        ddu = x * (6 * _GELU_C * _SQRT_2_PI)
        return (1 - t * t) * (du + x * 0.5 * (ddu - t * du * du * 2))
    pdf = (x * x * -0.5).exp() * float(1 / np.sqrt(2 * np.pi))
    return pdf * 2 + x * (x.neg() * pdf)


def _gelu_bwd(g, x, approximate):
    """PyTorch's gelu_backward as one op (GeluBackwardBackward0), with its own rule."""
    if len(_forward_levels) > 1:  # NOTE [nested forward levels]
        return g * _gelu_slope(x, approximate, erf=lambda t: t.erf())
    rec = STATE.enabled and recording(g, x)
    with no_grad():
        out = g * _gelu_slope(x, approximate)
    if rec:
        return record(GeluBackwardBackward0, out._data, (g, x), save=(g, x), args=(approximate,))
    return out


def _gelu_bwd_vjp(ctx, gg):
    g, x = ctx.saved_tensors
    approximate, = ctx.args
    return (_gelu_bwd(gg, x, approximate) if ctx.next_functions[0][0] is not None else None,
            gg * g * _gelu_curvature(x, approximate) if ctx.next_functions[1][0] is not None
            else None)


GeluBackwardBackward0 = node_class("GeluBackwardBackward0", _gelu_bwd_vjp, elementwise)


def _gelu_vjp(g, x, approximate):
    return _gelu_bwd(g, x, approximate)


_gelu, GeluBackward0 = _pointwise("gelu", "GeluBackward0", _gelu_np, _gelu_vjp,
                                  kernel="GeluKernelImpl")


def gelu(input, approximate="none"):
    """``x * Phi(x)`` (exact, with erf) or its tanh approximation (``approximate='tanh'``)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _gelu(input, approximate)


def _sigmoid_np(a):
    e = np.exp(-np.abs(a))
    return _select(a >= 0, 1 / (1 + e), e / (1 + e))


def _silu_vjp(g, x):
    s = x.sigmoid()
    return g * (s * (x * (1 - s) + 1))


_silu, SiluBackward0 = _pointwise("silu", "SiluBackward0", lambda a: a * _sigmoid_np(a),
                                  _silu_vjp, kernel="silu_cpu")


def silu(input, inplace=False):
    """``x * sigmoid(x)``."""
    return _maybe_inplace(input, _silu, inplace)


def _softplus_np(a, beta=1.0, threshold=20.0):
    z = a * beta
    # NOTE: log1p(exp(-|z|)) + max(z, 0) never overflows; above threshold it is the identity.
    soft = (bounded(np.maximum, z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta
    return _select(z > threshold, a, soft)


def _mish_vjp(g, x):
    if len(_forward_levels) > 1:  # NOTE [nested forward levels]
        from ..nn import functional

        t = functional.softplus(x).tanh()
    else:
        t = softplus(x).tanh()
    return g * (t + x * (1 - t * t) * x.sigmoid())


_mish, MishBackward0 = _pointwise("mish", "MishBackward0",
                                  lambda a: a * np.tanh(_softplus_np(a)), _mish_vjp,
                                  kernel="mish_cpu")


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``."""
    return _maybe_inplace(input, _mish, inplace)


# ---- softplus / logsigmoid / softsign / tanhshrink ----
def _softplus_vjp(g, x, beta, threshold):
    over = x._data * beta > threshold
    return g * ((x * beta).sigmoid() * _mask(x, ~over) + _mask(x, over))


def _softplus_curvature(h, x, beta, threshold):
    # PyTorch's: sigmoid's derivative at beta x, times a (multiplied, not selected) mask
    s = (x * beta).sigmoid()
    return h * ((1 - s) * s) * _mask(x, x._data * beta < threshold) * beta


_softplus_vjp = _fused_backward("SoftplusBackwardBackward0", _softplus_vjp, _softplus_curvature)
_softplus, SoftplusBackward0 = _pointwise("softplus", "SoftplusBackward0", _softplus_np,
                                          _softplus_vjp, kernel="softplus_cpu")


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, the identity where ``beta * x > threshold``."""
    return _softplus(input, beta, threshold)


def _logsigmoid_np(a):
    return bounded(np.minimum, a, 0) - np.log1p(np.exp(-np.abs(a)))


def _logsigmoid_curvature(h, x):
    z = x.sigmoid()
    return h * (z - 1) * z


_logsigmoid, LogSigmoidBackward0 = _pointwise(
    "logsigmoid", "LogSigmoidBackward0", _logsigmoid_np,
    _fused_backward("LogSigmoidBackwardBackward0", lambda g, x: g * x.neg().sigmoid(),
                    _logsigmoid_curvature), kernel="log_sigmoid_cpu")


def logsigmoid(input):
    """``log(sigmoid(x))``, computed stably as ``min(x, 0) - log1p(exp(-|x|))``."""
    return _logsigmoid(input)


def softsign(input):
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def tanhshrink(input):
    """``x - tanh(x)``."""
    return input - input.tanh()


# ---- hardsigmoid / hardswish ----
def _hardsigmoid_vjp(g, x):
    mask = (x._data > -3) & (x._data < 3)
    if STATE.enabled and recording(g, x):
        # NOTE: PyTorch has no derivative of hardsigmoid_backward: a gradient built with
        # create_graph records a NotImplemented node, whose backward raises
        with no_grad():
            data = _keep(g * (1 / 6), mask)._data
        return record(_HardsigmoidBackwardNotImplemented, data, (g, x))
    return _keep(g * (1 / 6), mask)


_HardsigmoidBackwardNotImplemented = not_implemented_node("hardsigmoid_backward")


_hardsigmoid, HardsigmoidBackward0 = _pointwise(
    "hardsigmoid", "HardsigmoidBackward0", lambda a: np.clip(a / 6 + 0.5, 0, 1),
    _hardsigmoid_vjp, kernel="hardsigmoid_cpu")


def hardsigmoid(input, inplace=False):
    """``relu6(x + 3) / 6``."""
    return _maybe_inplace(input, _hardsigmoid, inplace)


def _hardswish_vjp(g, x):
    a = x._data
    # NOTE: PyTorch's subgradients: 0 at -3, 1 at 3; the slope x / 3 + 0.5 is selected, so an
    # infinite x takes g (or 0), not 0 * inf. (A NaN x passes the select and gives NaN, as
    # PyTorch's vectorised kernel.)
    slope = where(wrap(~((a <= -3) | (a >= 3))), x / 3 + 0.5, _mask(x, a >= 3))
    return _keep(g * slope, ~(a <= -3))


def _hardswish_curvature(h, x):
    a = x._data
    return where(wrap((a > -3) & (a < 3)), h / 3.0, 0.0)


_hardswish_vjp = _fused_backward("HardswishBackwardBackward0", _hardswish_vjp,
                                 _hardswish_curvature)


def _hardswish_np(a):
    with np.errstate(invalid="ignore"):  # (-inf * 0: NaN, as PyTorch's, without a warning)
        return a * np.clip(a + 3, 0, 6) / 6


_hardswish, HardswishBackward0 = _pointwise(
    "hardswish", "HardswishBackward0", _hardswish_np, _hardswish_vjp, kernel="hardswish_cpu")


def hardswish(input, inplace=False):
    """``x * relu6(x + 3) / 6``."""
    return _maybe_inplace(input, _hardswish, inplace)


# ---- hardshrink / softshrink / threshold ----
def _masked_bwd_vjp(ctx, gg):
    x, = ctx.saved_tensors
    cond, = ctx.args
    # NOTE: PyTorch's rule for its fused backward op: the mask again for the gradient, and
    # zeros (not "no gradient") for the input, so the nodes before the input still run
    return (_masked_bwd(type(ctx), gg, x, cond) if ctx.next_functions[0][0] is not None
            else None, zeros_of(gg) if ctx.next_functions[1][0] is not None else None)


HardshrinkBackwardBackward0 = node_class("HardshrinkBackwardBackward0", _masked_bwd_vjp,
                                         elementwise)
SoftshrinkBackwardBackward0 = node_class("SoftshrinkBackwardBackward0", _masked_bwd_vjp,
                                         elementwise)


def _masked_bwd(node, g, x, cond):
    """``g`` where ``cond`` holds, else 0 (selected), as PyTorch's fused backward op ``node``
    of ``g`` and ``x`` (so the gradient depends on ``x`` too, with zero derivative)."""
    data = np.where(cond, g._data, zeros_as(g._data, shape=()))
    if STATE.enabled and recording(g, x):
        return record(node, data, (g, x), save=(x,), args=(cond,))
    return wrap(data)


def _outside(node):
    def vjp(g, x, lambd):
        # NOTE: PyTorch's shrink backward: 0 inside [-lambd, lambd] (and at a NaN, as from its
        # vectorised kernel; its scalar loop, for a few elements, passes g).
        return _masked_bwd(node, g, x, (x._data < -lambd) | (x._data > lambd))
    return vjp


_hardshrink, HardshrinkBackward0 = _pointwise(
    "hardshrink", "HardshrinkBackward0",
    lambda a, lambd: np.where((a >= -lambd) & (a <= lambd), 0, a),
    _outside(HardshrinkBackwardBackward0), kernel="hardshrink_cpu")


def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0."""
    return _hardshrink(input, lambd)


_softshrink, SoftshrinkBackward0 = _pointwise(
    "softshrink", "SoftshrinkBackward0",
    lambda a, lambd: np.where(a > lambd, a - lambd, np.where(a < -lambd, a + lambd, a * 0)),
    _outside(SoftshrinkBackwardBackward0), kernel="softshrink_cpu")


def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    if lambd < 0:
        from ..dtypes import from_np

        name = from_np(float_data(input._data).dtype).scalar_name
        limit = "3.40282e+38" if name == "Float" else "1.79769e+308"
        raise RuntimeError(f"lambda must be in range [0, {limit}] for input dtype {name}, "
                           f"but found {lambd:g}")
    return _softshrink(input, lambd)


def _threshold_np(a, th, value):
    # NOTE: PyTorch's ``x <= threshold ? value : x``: a NaN passes through.
    return _select(a <= th, np.full_like(a, value, shape=()), a)


def _threshold_vjp(g, x, th, value):
    # NOTE: as PyTorch's threshold_backward: no gradient where x <= threshold (a NaN passes).
    return _keep(g, ~(x._data <= th))


_threshold_vjp = _double_backward("ThresholdBackwardBackward0", _threshold_vjp)
_threshold_float, ThresholdBackward0 = _pointwise(
    "threshold", "ThresholdBackward0", _threshold_np, _threshold_vjp,
    kernel="threshold_cpu", inplace_name="ThresholdBackward1")


def _threshold_any(input, th, value, _inplace=False):
    if input._data.dtype.kind in "iub":
        # NOTE: integer inputs keep their dtype (PyTorch's threshold is not a float-only op).
        return wrap(_threshold_np(input._data, th, value))
    return _threshold_float(input, th, value, _inplace=_inplace)


def threshold(input, threshold, value, inplace=False):
    """``x`` where ``x > threshold``, else ``value``."""
    return _maybe_inplace(input, _threshold_any, inplace, threshold, value)


def threshold_(input, threshold, value):
    return _maybe_inplace(input, _threshold_any, True, threshold, value)


# ---- softmin ----
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-input)`` along ``dim``."""
    if dim is None:
        dim = _softmax_dim(input._data.ndim, "softmin")
    src = input if dtype is None else input.to(dtype)
    return softmax(-src, dim)


# ==== glu / prelu ==========================================================================
def _glu_vjp(ctx, g):
    x, = ctx.saved_tensors
    d, = ctx.args
    a, b = x.chunk(2, d)
    s = b.sigmoid()
    return (cat([g * s, g * a * s * (1 - s)], d),)


def _glu_jvp(ctx, dx):
    x, = ctx.saved_tensors
    d, = ctx.args
    a, b = x.chunk(2, d)
    da, db = dx.chunk(2, d)
    s = b.sigmoid()
    return da * s + a * s * (1 - s) * db


GluBackward0 = node_class("GluBackward0", _glu_vjp, linear(_glu_jvp))


def glu(input, dim=-1):
    """Gated linear unit: ``a * sigmoid(b)`` for the halves ``a, b`` of ``input`` along
    ``dim``."""
    x = input._data
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _wrap_dim(dim, x.ndim)
    if x.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{x.shape[d]}")
    _check_float(x, "glu_cpu")
    a, b = np.split(x, 2, axis=d)
    data = (a * _sigmoid_np(b)).astype(x.dtype, copy=False)
    if STATE.enabled and recording(input):
        return record(GluBackward0, data, (input,), save=(input,), args=(d,))
    return wrap(data)


def _prelu_weight(x, weight):
    """``weight`` shaped to broadcast along the channel dim (1) of ``x``."""
    if weight._data.size == 1 or x._data.ndim < 2:
        return weight.reshape(())
    return weight.reshape((-1,) + (1,) * (x._data.ndim - 2))


def _prelu_vjp(ctx, g):
    x, weight = ctx.saved_tensors
    if STATE.enabled and len(_forward_levels) <= 1 and recording(g, x, weight):
        return _prelu_fused_backward(ctx, g, x, weight)
    neg = _mask(x, ~(x._data > 0))  # PyTorch's ``x > 0 ? g : w g``: a NaN takes the slope
    w = _prelu_weight(x, weight)
    gx = g * (1 - neg + neg * w) if ctx.next_functions[0][0] is not None else None
    gw = None
    if ctx.next_functions[1][0] is not None:
        gw = _keep(g * x, ~(x._data > 0))
        if weight._data.size == 1 or x._data.ndim < 2:
            gw = gw.sum()
        else:
            gw = gw.sum([k for k in range(x._data.ndim) if k != 1])
        gw = gw.reshape(weight._data.shape)
    return (gx, gw)


def _prelu_jvp(ctx, dx, dw):
    x, weight = ctx.saved_tensors
    # NOTE: PyTorch's forward-mode rule puts x == 0 on the identity side (its backward puts it
    # on the slope's), and selects: an inf tangent there gives no NaN.
    pos = wrap(x._data >= 0)
    out = None
    if dx is not None:
        out = where(pos, dx, dx * _prelu_weight(x, weight))
    if dw is not None:
        c = where(pos, 0.0, x * _prelu_weight(x, dw))
        out = c if out is None else out + c
    return _fit(ctx, out) if out is not None else out_zeros(ctx)


PreluKernelBackward0 = node_class("PreluKernelBackward0", _prelu_vjp, _prelu_jvp)


def _prelu_fused_backward(ctx, g, x, weight):
    """prelu's backward as PyTorch's one op of two outputs (PreluKernelBackwardBackward0)
    when a graph is built: the input's gradient and the weight's, per element (x's shape),
    then summed to the weight's shape."""
    # (PyTorch's kernel reads a weight broadcast to the input: a 1-d input its weight as is)
    wv = weight if x._data.ndim == 1 and weight._data.size == 1 else _prelu_weight(x, weight)
    a, gd, wd = x._data, g._data, wv._data
    pos = a > 0
    with np.errstate(invalid="ignore", over="ignore"):
        gx = _select(pos, gd, gd * wd)
        gw = _select(pos, zeros_as(gd, shape=()), gd * a)
    gx, gw = record_multi(PreluKernelBackwardBackward0,
                          (as_array(gx).astype(gd.dtype, copy=False),
                           as_array(gw).astype(gd.dtype, copy=False)),
                          (g, x, wv), save=(g, x, wv))
    if ctx.next_functions[1][0] is None:
        return (gx if ctx.next_functions[0][0] is not None else None, None)
    if a.ndim >= 2:
        gw = gw.sum([k for k in range(a.ndim) if k != 1 or wd.size == 1]).view(
            weight._data.shape)
    elif a.ndim == 1:
        gw = gw.sum([0], keepdim=True)
    else:
        gw = gw.reshape(weight._data.shape)
    return (gx if ctx.next_functions[0][0] is not None else None, gw)


def _prelu_bwd_vjp(ctx, ggx, ggw):
    # PyTorch's formulas, with x == 0 on the identity side (its first order puts it on the
    # slope's)
    g, x, w = ctx.saved_tensors
    pos = wrap(x._data >= 0)
    dg = dx = dw = None
    if ctx.next_functions[0][0] is not None and (ggx is not None or ggw is not None):
        if ggx is None:
            dg = where(pos, 0.0, ggw * x)
        else:
            dg = where(pos, ggx, ggx * w if ggw is None else ggx * w + ggw * x)
    if ctx.next_functions[1][0] is not None:
        dx = where(pos, 0.0, g * ggw) if ggw is not None else x.new_zeros(x.shape)
    if ctx.next_functions[2][0] is not None:
        dw = where(pos, 0.0, g * ggx) if ggx is not None else x.new_zeros(x.shape)
        dw = dw.sum_to_size(w.shape)
    return dg, dx, dw


def _prelu_bwd_jvp(ctx, dg, dx, dw):
    g, x, w = ctx.saved_tensors
    pos = wrap(x._data >= 0)
    zero = x.new_zeros(x.shape)
    dg = zero if dg is None else dg
    t0 = dg * w if dw is None else dg * w + g * dw
    t1 = dg * x if dx is None else g * dx + dg * x
    return where(pos, dg, t0), where(pos, 0.0, t1)


PreluKernelBackwardBackward0 = node_class("PreluKernelBackwardBackward0", _prelu_bwd_vjp,
                                          _prelu_bwd_jvp)


def prelu(input, weight):
    """``x`` for ``x > 0``, else ``weight * x`` with one learned slope per channel (dim 1) or
    one shared slope."""
    x, w = input._data, weight._data
    if x.dtype != w.dtype:
        from ..dtypes import from_np

        raise RuntimeError("prelu: Type promoting not supported. Got "
                           f"{from_np(x.dtype).scalar_name} and {from_np(w.dtype).scalar_name}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if w.size != 1 and w.size != channels:
        raise RuntimeError("Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {w.size} and channel size = {channels}.")
    wb = _prelu_weight(input, weight)._data
    data = _select(x > 0, x, wb * x).astype(np.result_type(x, w), copy=False)
    if STATE.enabled and recording(input, weight):
        return record(PreluKernelBackward0, data, (input, weight), save=(input, weight))
    return wrap(data)


# ==== registration =========================================================================
FUNCTIONAL += ["relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_", "celu",
               "celu_", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh",
               "hardtanh_", "hardsigmoid", "hardswish", "tanhshrink", "hardshrink",
               "softshrink", "threshold", "threshold_", "glu", "logsigmoid", "softmin",
               "prelu", "rrelu", "rrelu_"]
for _fn in (selu, selu_, celu, celu_, rrelu, rrelu_, threshold, threshold_):
    register(_fn, method=False)
register(hardshrink)
register(prelu)
