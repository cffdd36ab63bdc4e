"""Unary elementwise math: exp/log family, powers and roots, trigonometric and hyperbolic
functions (and their inverses), sinc, deg2rad/rad2deg, sigmoid/relu, abs/sign/sgn/positive,
rounding (round with decimals, frac), angle, frexp, and the fused derivative ops their rules use.

Contract: one entry per op via ``unary_op`` (forward, what the rule reads, the rule); integer
inputs give the default float dtype where PyTorch does, and dtypes PyTorch's kernels reject
raise its NotImplementedError. JVPs are elementwise (see _jvp.py).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .. import return_types
from .._fma import fused
from ..autograd.forward_ad import _LEVELS as _forward_levels
from ..autograd.grad_mode import STATE
from ..backend import numpy_kernel
from ..tensor import as_array, zeros_as
from ._checks import checks_own_arguments, type_name
from ._jvp import elementwise
from ._registry import (
    METHODS,
    float_data,
    known_zeros_of,
    node_class,
    record,
    record_multi,
    recording,
    register,
    wrap,
    zeros_of,
)
from .arithmetic import mul_scalar
from .inplace import register_inplace
from .pointwise import _rg
from .where_kernel import keep, mask_dtype

# One entry per op: forward (a NumPy function), what the rule needs (x and/or out), the rule.

def unary_op(name, node_name, forward, vjp, saves="x", float_only=True, doc=None,
             private=None):
    """Make the function ``name(input)`` and its node class from one rule ``vjp(g, x, out)``.

    ``saves`` names what the rule reads: ``"x"`` (the input), ``"out"`` (the result), both
    (``"x,out"``) or ``""``. Integer inputs give the default float dtype when ``float_only``.
    ``private(g_array, x, out)``, when given, computes the same gradient into ``g_array``
    (NOTE [private gradients] in engine.py).
    """
    save_x = "x" in saves.split(",")
    save_out = "out" in saves.split(",")

    def rule(ctx, g):
        saved = ctx.saved_tensors
        x = saved[0] if save_x else None
        out = saved[-1] if save_out else None
        return (vjp(g, x, out),)

    in_place = None
    if private is not None:
        def in_place(ctx, g):
            saved = ctx.saved_tensors
            private(g._data, saved[0] if save_x else None, saved[-1] if save_out else None)
            return (g,)

    node = node_class(node_name, rule, elementwise, private=in_place)

    def op(input):
        try:
            a = input._data
        except AttributeError:  # NOTE [errors cost nothing until raised] in _checks.py
            raise TypeError(f"{op.__name__}(): argument 'input' (position 1) must be Tensor, "
                            f"not {type_name(input)}") from None
        data = forward(float_data(a) if float_only else a)
        if STATE.enabled and (input._requires_grad or input._view is not None) \
                and recording(input):
            return record(node, data, (input,), save=(input,) if save_x else (),
                          save_out=save_out)
        return wrap(data)

    op.__name__ = op.__qualname__ = name
    # NOTE [op records] (ember/_records.py): what ``register`` declares with the op
    op._declares = {"batch": "elementwise", "nodes": (node,), "saves": saves,
                    "kernel": numpy_kernel(forward)}
    checks_own_arguments(op)  # published as is: the hottest ops pay for no wrapper
    op.__doc__ = doc or f"Elementwise {name} (PyTorch's ``torch.{name}``)."
    return op, node


# ---- fused derivative ops ----
# NOTE [fused derivative ops]: the backward of y = f(x) is g * f'(x). As separate ember ops
# that is two or three op calls per node; PyTorch has dedicated ops for the common ones
# (sigmoid_backward, tanh_backward, threshold_backward) and so does ember: one NumPy
# expression, recorded as one node whose own rule (ember ops again) makes higher orders work.

def derivative_op(node_name, forward, vjp_g, vjp_x, composed):
    """A fused op ``d(g, x)`` computed by ``forward(g_array, x_array)``; its rule gives
    ``vjp_g(gg, g, x)`` to ``g`` and ``vjp_x(gg, g, x)`` (or None: no gradient) to ``x``.
    ``composed(g, x)`` is the same derivative in published ember ops: what runs while nested
    forward-mode levels are open (``jvp`` of ``jvp``, ``jacfwd`` of ``jacfwd``), where an inner
    level's tangent rule must carry the outer levels' tangents, which only published ops do."""
    def rule(ctx, gg):
        g, x = ctx.saved_tensors
        return (vjp_g(gg, g, x) if ctx.next_functions[0][0] is not None else None,
                vjp_x(gg, g, x) if ctx.next_functions[1][0] is not None else None)

    node = node_class(node_name, rule, elementwise)

    def op(g, x):
        if len(_forward_levels) > 1:
            return composed(g, x)
        data = forward(g._data, x._data)
        if STATE.enabled and (_rg(g) or _rg(x)):
            return record(node, data, (g, x), save=(g, x))
        return wrap(data)
    return op


# The forwards below write into their first, freshly made array (private, so in place is
# safe); as_array turns NumPy's 0-d scalar results into arrays that accept ``out=``.

def _sin_bwd_np(g, x):
    d = as_array(np.cos(x))
    np.multiply(d, g, out=d)
    return d


def _cos_bwd_np(g, x):
    d = as_array(np.sin(x))
    np.negative(d, out=d)
    np.multiply(d, g, out=d)
    return d


def _tanh_bwd_np(g, y):
    # NOTE: PyTorch computes g * fma(-y, y, 1) (its kernels are compiled with contraction):
    # 1 - y*y rounded once. float32: y*y is exact in float64, so the float64 difference rounded
    # to float32 rounds once (twice only where the float64 result lies exactly on a float32
    # tie: none in 10**6 random values); half types compute in float32, as PyTorch's. float64
    # rounds twice: an exact float64 fma costs ~6x the whole backward for the last bit (30% of
    # results one ulp off PyTorch's).
    if y.ndim == 0:  # (the in-place steps below need arrays, which 0-d results are not)
        return _tanh_bwd_np(np.reshape(g, 1), y.reshape(1)).reshape(np.shape(g))
    dt = y.dtype
    if dt == np.float32 and fused():  # (PyTorch's DEFAULT build rounds twice)
        d = y.astype(np.float64)
        np.multiply(d, d, out=d)
        np.subtract(1.0, d, out=d)
        d = d.astype(np.float32)
    elif dt.kind == "f" and dt.itemsize == 2:
        y32 = y.astype(np.float32)
        d = np.square(y32)
        np.subtract(1, d, out=d)
        np.multiply(d, g, out=d)
        return d.astype(dt)
    else:
        d = as_array(np.square(y))
        np.subtract(1, d, out=d)
    np.multiply(d, g, out=d)
    return d


def _sigmoid_bwd_np(g, y):
    d = as_array(np.subtract(1, y))  # NOTE: (g * (1 - y)) * y, PyTorch's order
    np.multiply(d, g, out=d)
    np.multiply(d, y, out=d)
    return d


def _relu_mask(y, dtype):
    """Where ReLU's gradient passes: not ``y <= 0`` (so a NaN passes it), PyTorch's
    threshold_backward, as the integer 1s and 0s ``keep`` multiplies a ``dtype`` gradient's
    bits by, in a fresh buffer of ``dtype`` (the result can then be written over it). None
    where ``dtype`` has no such integer. (NOTE [masked gradients] in where_kernel.py: a
    select, so an inf or NaN gradient is stopped too, at the cost of a float product.)"""
    it = mask_dtype(dtype)
    if it is None:
        return None
    buf = np.empty_like(y, dtype=dtype, order="C")
    np.logical_not(np.less_equal(y, 0), out=buf.view(it), casting="unsafe")
    return buf


def _threshold_bwd_np(g, y):
    buf = _relu_mask(y, g.dtype)
    if buf is None:
        return np.where(np.less_equal(y, 0), zeros_as(g, shape=()), g)
    return keep(buf.view(mask_dtype(g.dtype)), g, out=buf if buf.shape == np.shape(g) else None)


sin_backward = derivative_op(
    "SinBackwardBackward0", _sin_bwd_np,
    lambda gg, g, x: sin_backward(gg, x), lambda gg, g, x: -(gg * g) * x.sin(),
    lambda g, x: g * x.cos())
cos_backward = derivative_op(
    "CosBackwardBackward0", _cos_bwd_np,
    lambda gg, g, x: cos_backward(gg, x), lambda gg, g, x: -(gg * g) * x.cos(),
    lambda g, x: g * -x.sin())
tanh_backward = derivative_op(
    "TanhBackwardBackward0", _tanh_bwd_np,
    lambda gg, g, y: tanh_backward(gg, y), lambda gg, g, y: gg * g * y * -2.0,
    lambda g, y: g * (1 - y * y))
sigmoid_backward = derivative_op(
    "SigmoidBackwardBackward0", _sigmoid_bwd_np,
    lambda gg, g, y: sigmoid_backward(gg, y), lambda gg, g, y: gg * g * (1 - 2 * y),
    lambda g, y: g * (1 - y) * y)
threshold_backward = derivative_op(
    "ThresholdBackwardBackward0", _threshold_bwd_np,
    # NOTE: y's gradient is a zero tensor, not None: PyTorch sends zeros_like(grad) there, so
    # the node that made y still runs its rule (a NaN it makes, e.g. logit's outside [0, 1],
    # reaches the second-order gradient).
    lambda gg, g, y: threshold_backward(gg, y), lambda gg, g, y: gg.new_zeros(gg.shape),
    lambda g, y: g.masked_fill(y <= 0, 0))


def _exp_vjp(g, x, out):
    return g * out


def _log_vjp(g, x, out):
    return g / x


def _log2_vjp(g, x, out):
    return g / (x * float(np.log(2.0)))


def _log10_vjp(g, x, out):
    return g / (x * float(np.log(10.0)))


def _log1p_vjp(g, x, out):
    return g / (x + 1)


def _expm1_vjp(g, x, out):
    return g * (out + 1)


def _exp2_vjp(g, x, out):
    return g * (out * float(np.log(2.0)))


def _sqrt_vjp(g, x, out):
    return g / (out * 2)


def _rsqrt_vjp(g, x, out):
    return g * (out ** 3 * -0.5)


def _square_vjp(g, x, out):
    return g * (x * 2)


def _reciprocal_vjp(g, x, out):
    return g * -(out * out)


def _sin_vjp(g, x, out):
    # NOTE: recorded (create_graph) as PyTorch does, g * cos(x), so graphs read the same; the
    # fused op is the fast path for the usual first-order backward.
    return g * x.cos() if STATE.enabled else sin_backward(g, x)


def _cos_vjp(g, x, out):
    return g * -x.sin() if STATE.enabled else cos_backward(g, x)


def _tan_vjp(g, x, out):
    return g * (out * out + 1)


def _tanh_vjp(g, x, out):
    return tanh_backward(g, out)


def _sigmoid_vjp(g, x, out):
    return sigmoid_backward(g, out)


def _relu_vjp(g, x, out):
    # NOTE: the subgradient at 0 is 0, as PyTorch (threshold_backward on the result).
    return threshold_backward(g, out)


def _abs_vjp(g, x, out):
    return g * x.sgn()  # (sgn, as PyTorch: its gradient is a known zero)


def _neg_vjp(g, x, out):
    return -g


def _zero_vjp(g, x, out):
    # NOTE: piecewise-constant ops (sign, floor, round...) have gradient 0 almost everywhere:
    # zeros, not g * 0 (NaN for an inf or NaN g), as PyTorch's zeros_like.
    return zeros_of(g)


def _asin_vjp(g, x, out):
    return g * (1 - x * x).rsqrt()


def _acos_vjp(g, x, out):
    return g * -(1 - x * x).rsqrt()


def _atan_vjp(g, x, out):
    return g / (x * x + 1)


def _sinh_vjp(g, x, out):
    return g * x.cosh()


def _cosh_vjp(g, x, out):
    return g * x.sinh()


def _asinh_vjp(g, x, out):
    return g * (x * x + 1).rsqrt()


def _acosh_vjp(g, x, out):
    return g * (x * x - 1).rsqrt()


def _atanh_vjp(g, x, out):
    return g / (1 - x * x)


def _deg2rad_vjp(g, x, out):
    return g * (np.pi / 180)


def _rad2deg_vjp(g, x, out):
    return g * (180 / np.pi)


def _sinc_vjp(g, x, out):
    # NOTE: PyTorch's formula and graph, g * ((pi x cos(pi x) - sin(pi x)) / ((x x) pi)), with 0
    # where (x x) pi is 0 (the true derivative at 0; also where x*x underflows)
    px = mul_scalar(x, np.pi)
    sq = mul_scalar(x * x, np.pi)
    d = g * ((px * px.cos() - px.sin()) / sq)
    return wrap(zeros_as(d._data, shape=())).where(sq == 0, d)


def _frac_vjp(g, x, out):
    return g


exp, ExpBackward0 = unary_op("exp", "ExpBackward0", np.exp, _exp_vjp, "out")
exp2, Exp2Backward0 = unary_op("exp2", "Exp2Backward0", np.exp2, _exp2_vjp, "out")
expm1, Expm1Backward0 = unary_op("expm1", "Expm1Backward0", np.expm1, _expm1_vjp, "out")
log, LogBackward0 = unary_op("log", "LogBackward0", np.log, _log_vjp, "x")
log2, Log2Backward0 = unary_op("log2", "Log2Backward0", np.log2, _log2_vjp, "x")
log10, Log10Backward0 = unary_op("log10", "Log10Backward0", np.log10, _log10_vjp, "x")
log1p, Log1PBackward0 = unary_op("log1p", "Log1PBackward0", np.log1p, _log1p_vjp, "x")
sqrt, SqrtBackward0 = unary_op("sqrt", "SqrtBackward0", np.sqrt, _sqrt_vjp, "out")
rsqrt, RsqrtBackward0 = unary_op(
    "rsqrt", "RsqrtBackward0", lambda a: np.reciprocal(np.sqrt(a)), _rsqrt_vjp, "out")
def _square_np(a):
    # NOTE: bool squares to int64 in PyTorch (it is pow(x, 2) with an integer exponent).
    return np.square(a.astype(np.int64) if a.dtype.kind == "b" else a)


square, _SquareNode = unary_op("square", "PowBackward0", _square_np, _square_vjp, "x",
                               float_only=False)
reciprocal, ReciprocalBackward0 = unary_op(
    "reciprocal", "ReciprocalBackward0", np.reciprocal, _reciprocal_vjp, "out")
sin, SinBackward0 = unary_op("sin", "SinBackward0", np.sin, _sin_vjp, "x")
cos, CosBackward0 = unary_op("cos", "CosBackward0", np.cos, _cos_vjp, "x")
tan, TanBackward0 = unary_op("tan", "TanBackward0", np.tan, _tan_vjp, "out")
asin, AsinBackward0 = unary_op("asin", "AsinBackward0", np.arcsin, _asin_vjp, "x")
acos, AcosBackward0 = unary_op("acos", "AcosBackward0", np.arccos, _acos_vjp, "x")
atan, AtanBackward0 = unary_op("atan", "AtanBackward0", np.arctan, _atan_vjp, "x")
sinh, SinhBackward0 = unary_op("sinh", "SinhBackward0", np.sinh, _sinh_vjp, "x")
cosh, CoshBackward0 = unary_op("cosh", "CoshBackward0", np.cosh, _cosh_vjp, "x")
tanh, TanhBackward0 = unary_op("tanh", "TanhBackward0", np.tanh, _tanh_vjp, "out")
asinh, AsinhBackward0 = unary_op("asinh", "AsinhBackward0", np.arcsinh, _asinh_vjp, "x")
acosh, AcoshBackward0 = unary_op("acosh", "AcoshBackward0", np.arccosh, _acosh_vjp, "x")
atanh, AtanhBackward0 = unary_op("atanh", "AtanhBackward0", np.arctanh, _atanh_vjp, "x")
deg2rad, Deg2RadBackward0 = unary_op("deg2rad", "Deg2RadBackward0", np.deg2rad, _deg2rad_vjp, "")
rad2deg, Rad2DegBackward0 = unary_op("rad2deg", "Rad2DegBackward0", np.rad2deg, _rad2deg_vjp, "")


def _sinc_np(a):
    # NOTE: np.sinc is the normalised sinc, sin(pi x) / (pi x), with 1 at 0: PyTorch's.
    return np.sinc(a).astype(a.dtype, copy=False)


sinc, SincBackward0 = unary_op("sinc", "SincBackward0", _sinc_np, _sinc_vjp, "x")


def sigmoid_into(a, out):
    """``out = 1 / (1 + exp(-a))`` (``out`` may be ``a``), PyTorch's formula in one buffer.
    Where exp(-a) overflows to inf the result is exactly 0, as it should be (and as PyTorch
    gives), so no branch on the sign is needed; callers silence that expected overflow.
    (The two-branch form took 3x the time of the rest of a 4M-element elementwise forward.)"""
    np.negative(a, out=out)
    np.exp(out, out=out)
    np.add(out, 1, out=out)
    return np.reciprocal(out, out=out)


def _sigmoid_np(a):
    if a.dtype.itemsize < 4 and a.dtype.kind in "fV":
        # half precision: computed in float32 and rounded once, as PyTorch's kernels do
        return _sigmoid_np(a.astype(np.float32)).astype(a.dtype)
    with np.errstate(over="ignore"):
        return sigmoid_into(a, np.empty_like(a, order="C"))  # an array even when 0-d


sigmoid, SigmoidBackward0 = unary_op("sigmoid", "SigmoidBackward0", _sigmoid_np, _sigmoid_vjp,
                                     "out")


# NOTE [ReLU kernel]: ``np.maximum(a, 0)`` runs NumPy's plain loop (the 0 broadcasts with
# stride 0, which its SIMD loop does not take); against a contiguous block of zeros the same
# ufunc takes the SIMD loop and is 2-3x faster, with the same result bit for bit. The
# constants are one cached block per (dtype, value) (256 KiB for float32), stepped over
# large inputs. ``bounded`` does this for np.maximum / np.minimum with any scalar.
_BLOCK = 1 << 16
_BLOCKS: dict = {}


def bounded(ufunc, a, s):
    """``ufunc(a, s)`` (np.maximum or np.minimum, a Python scalar ``s``), bit for bit, on
    NumPy's SIMD loop for large contiguous ``a`` (NOTE [ReLU kernel])."""
    if a.size < 4096 or type(a) is not np.ndarray or a.dtype.kind not in "fiu" or (
            not a.flags.c_contiguous or a.dtype.kind != "f" and type(s) is not int):
        return ufunc(a, s)
    key = (a.dtype, s)
    block = _BLOCKS.get(key)
    if block is None:
        if len(_BLOCKS) >= 32:
            _BLOCKS.clear()
        block = _BLOCKS[key] = np.full(_BLOCK, s, dtype=a.dtype)
    out = np.empty_like(a)
    src, dst = a.reshape(-1), out.reshape(-1)
    n = src.size
    for i in range(0, n, _BLOCK):
        j = min(i + _BLOCK, n)
        ufunc(src[i:j], block[:j - i], out=dst[i:j])
    return out


def _relu_np(a):
    return bounded(np.maximum, a, 0) if a.dtype.kind != "b" else a.copy()


def _relu_private(g, x, out):
    buf = _relu_mask(out._data, g.dtype)  # threshold_backward, into g
    if buf is None:
        np.copyto(g, 0, where=np.less_equal(out._data, 0))
    else:
        keep(buf.view(mask_dtype(g.dtype)), g, out=g)


relu, ReluBackward0 = unary_op("relu", "ReluBackward0", _relu_np, _relu_vjp, "out",
                               float_only=False, private=_relu_private)


def _abs_np(a):
    if a.dtype.kind == "b":
        raise _no_kernel("abs_cpu", a)
    if a.dtype.kind == "u":  # NOTE [limited unsigned types] (dtypes.py)
        _dt.refuse_unsigned("abs_cpu", a.dtype)
    return np.abs(a)


abs, AbsBackward0 = unary_op("abs", "AbsBackward0", _abs_np, _abs_vjp, "x",  # noqa: A001
                             float_only=False)
absolute = abs


def _neg_np(a):
    if a.dtype.kind == "b":
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
            "to invert a mask, use the `~` or `logical_not()` operator instead.")
    if a.dtype.kind == "u":  # NOTE [limited unsigned types] (dtypes.py)
        _dt.refuse_unsigned("neg_cpu", a.dtype)
    return np.negative(a)


neg, NegBackward0 = unary_op("neg", "NegBackward0", _neg_np, _neg_vjp, "", float_only=False)
negative = neg


def _sign_np(a):
    if a.dtype.kind == "b":
        return a.copy()
    if a.dtype.kind == "u":  # NOTE [limited unsigned types] (dtypes.py)
        _dt.refuse_unsigned("sign_cpu", a.dtype)
    out = as_array(np.sign(a))
    if a.dtype.kind in "fV":
        # NOTE: PyTorch's sign of NaN is 0 (np.sign gives NaN); abs's backward runs this, so
        # the common NaN-free case costs one scan.
        nan = np.isnan(out)
        if nan.any():
            out[nan] = 0
    return out


sign, SignBackward0 = unary_op("sign", "SignBackward0", _sign_np, _zero_vjp, "",
                               float_only=False)
def _known_zero_vjp(g, x, out):
    # NOTE: PyTorch's sgn backward gives a ZeroTensor (sign's, floor's... give plain zeros):
    # abs's and l1_loss's second order through it is 0 even where the rest is inf or NaN
    return known_zeros_of(g)


sgn, SgnBackward0 = unary_op("sgn", "SgnBackward0", _sign_np, _known_zero_vjp, "",
                             float_only=False,
                             doc="``sign`` for real tensors (``x / |x|`` for complex ones).")


def positive(input):
    """``input`` itself (PyTorch returns the same tensor); bool tensors raise."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def _no_kernel(kernel, a):
    """PyTorch's error for a dtype its kernel does not cover."""
    from ..dtypes import from_np

    return NotImplementedError(
        f"\"{kernel}\" not implemented for '{from_np(a.dtype).scalar_name}'")


def _keep_int(fn, kernel):
    def forward(a):
        if a.dtype.kind == "b":
            raise _no_kernel(kernel, a)
        return a.copy() if a.dtype.kind in "iu" else fn(a)
    return forward


floor, FloorBackward0 = unary_op("floor", "FloorBackward0", _keep_int(np.floor, "floor_vml_cpu"),
                                 _zero_vjp, "", float_only=False)
ceil, CeilBackward0 = unary_op("ceil", "CeilBackward0", _keep_int(np.ceil, "ceil_vml_cpu"),
                               _zero_vjp, "", float_only=False)
trunc, TruncBackward0 = unary_op("trunc", "TruncBackward0", _keep_int(np.trunc, "trunc_vml_cpu"),
                                 _zero_vjp, "", float_only=False)
_round0, RoundBackward0 = unary_op("round", "RoundBackward0", _keep_int(np.round, "round_vml_cpu"),
                                   _zero_vjp, "", float_only=False)
fix = trunc


def _round_decimals_vjp(ctx, g):
    return (zeros_of(g),)


RoundBackward1 = node_class("RoundBackward1", _round_decimals_vjp, elementwise)


def round(input, *, decimals=0):  # noqa: A001 - PyTorch's name
    """Round half to even (like PyTorch and NumPy); ``decimals`` rounds to that many places."""
    if decimals == 0:
        return _round0(input)
    a = input._data
    if a.dtype.kind in "iub":
        raise NotImplementedError(
            f'"round_cpu" not implemented for \'{input.dtype.scalar_name}\'')
    # NOTE: PyTorch scales by 10**d (or divides by 10**-d for negative d), rounds half to
    # even and scales back, in the input's dtype: the same steps give the same ties.
    if decimals > 0:
        scale = np.full_like(a, 10.0 ** decimals, shape=())
        data = np.round(a * scale) / scale
    else:
        scale = np.full_like(a, 10.0 ** -decimals, shape=())
        data = np.round(a / scale) * scale
    data = as_array(data).astype(a.dtype, copy=False)
    if STATE.enabled and recording(input):
        return record(RoundBackward1, data, (input,))
    return wrap(data)


def _frac_np(a):
    if a.dtype.kind in "iub":
        raise _no_kernel("frac_cpu", a)
    return a - np.trunc(a)


frac, FracBackward0 = unary_op("frac", "FracBackward0", _frac_np, _frac_vjp, "", float_only=False,
                               doc="``input - trunc(input)``.")



# ---- angle, frexp ----
def _angle_np(a):
    # NOTE: for real inputs the argument is 0 or pi (NaN stays NaN); np.angle gives -0.0 and
    # pi for -0.0, PyTorch gives 0.
    out = np.where(a < 0, np.pi, 0.0).astype(a.dtype)
    return np.where(np.isnan(a), a, out)


angle, AngleBackward0 = unary_op("angle", "AngleBackward0", _angle_np, _zero_vjp, "",
                                 doc="The argument of each element (0 or pi for real tensors).")


def _frexp_vjp(ctx, g, g_exp=None):
    exponent, = ctx.saved_tensors
    # NOTE: mantissa = x / 2**exponent with the exponent piecewise constant.
    return (g / (exponent.to(g.dtype) * float(np.log(2.0))).exp(),)


def _frexp_jvp(ctx, t):
    if t is None:
        from ._jvp import out_zeros

        return out_zeros(ctx, 0), None
    return _frexp_vjp(ctx, t)[0], None


FrexpBackward0 = node_class("FrexpBackward0", _frexp_vjp, _frexp_jvp)


_frexp_type = return_types.make("frexp", ("mantissa", "exponent"))


def frexp(input):
    """``(mantissa, exponent)`` with ``input = mantissa * 2 ** exponent`` and ``0.5 <=
    |mantissa| < 1`` (exponent int32)."""
    a = input._data
    if a.dtype.kind not in "fV":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = np.frexp(a)
    m, e = as_array(m), as_array(e).astype(np.int32, copy=False)
    if STATE.enabled and recording(input):
        outs = record_multi(FrexpBackward0, [m, e], (input,), save=(wrap(e),),
                            differentiable=(True, False))
        return _frexp_type(*outs)
    return _frexp_type(wrap(m), wrap(e))


# ---- in-place variants PyTorch cannot differentiate ----
def _not_implemented_inplace(op, node_name):
    """``op`` recorded as ``node_name``, a node whose backward raises PyTorch's error: PyTorch
    has no derivative for the in-place asinh_/acosh_/atanh_ (AsinhBackward1...)."""
    def rule(ctx, *grads):
        raise NotImplementedError(
            f"the derivative for 'inplace version of {op.__name__}' is not implemented.")

    node = node_class(node_name, rule, rule)

    def inplace_op(input):
        if not (STATE.enabled and recording(input)):
            return op(input)
        from ..autograd.grad_mode import no_grad

        with no_grad():
            data = op(input)._data
        return record(node, data, (input,))
    inplace_op.__name__ = op.__name__
    return inplace_op


_asinh_inplace = _not_implemented_inplace(asinh, "AsinhBackward1")
_acosh_inplace = _not_implemented_inplace(acosh, "AcoshBackward1")
_atanh_inplace = _not_implemented_inplace(atanh, "AtanhBackward1")


# ==== registration =========================================================================

for _name in ("exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
              "square", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
              "tanh", "sigmoid", "relu", "abs", "absolute", "neg", "negative", "sign", "floor",
              "ceil", "trunc", "fix", "round", "frac", "asinh", "acosh", "atanh", "deg2rad",
              "rad2deg", "sinc", "sgn", "positive", "angle", "frexp"):
    register(globals()[_name], _name)
for _alias, _fn in (("arcsin", asin), ("arccos", acos), ("arctan", atan), ("arcsinh", asinh),
                    ("arccosh", acosh), ("arctanh", atanh)):
    register(_fn, _alias)
register_inplace(neg, abs, exp, exp2, expm1, log, log2, log10, log1p, sqrt, rsqrt, square,
                 reciprocal, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, sigmoid, relu,
                 sign, floor, ceil, trunc, round, frac, deg2rad, rad2deg, sinc, sgn,
                 aliases=(("negative_", neg), ("absolute_", abs), ("arcsin_", asin),
                          ("arccos_", acos), ("arctan_", atan), ("fix_", trunc),
                          ("asinh_", _asinh_inplace), ("arcsinh_", _asinh_inplace),
                          ("acosh_", _acosh_inplace), ("arccosh_", _acosh_inplace),
                          ("atanh_", _atanh_inplace), ("arctanh_", _atanh_inplace)))
# PyTorch also publishes these in-place variants as functions (``torch.exp_(x)``).
for _name in ("abs_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
              "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "cos_", "cosh_",
              "deg2rad_", "exp_", "exp2_", "expm1_", "fix_", "floor_", "frac_", "log_", "log10_",
              "log1p_", "log2_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_", "round_",
              "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_",
              "trunc_"):
    register(METHODS[_name], _name, method=False)
