"""Elementwise ops: arithmetic, unary math, activations, comparisons, logical ops.

Contract: each op computes PyTorch's result dtype (``dtypes.binary_result_np``: Python scalars
are weak), broadcasts like PyTorch, and records a node named like PyTorch's. Gradients of
broadcast inputs are summed back to the input's shape by the engine, so the rules here are
written for equal shapes. Rules follow NOTE [rules are ember ops] in _registry.py; JVPs follow
NOTE [elementwise JVP].
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._jvp import elementwise, zeros_for
from ._registry import float_data, node_class, record, recording, register, view_requires_grad, wrap

_make = Tensor._make
_SCALARS = (bool, int, float, complex)


# ---- operands -----------------------------------------------------------------------------

def _scalar(b):
    """A Python number for ``b`` (NumPy scalars count as Python scalars, as in PyTorch)."""
    if isinstance(b, np.generic):
        return b.item()
    if isinstance(b, _SCALARS):
        return b
    return None


def _operands(a, b):
    """Arrays (or a Python scalar) for ``a op b`` that make NumPy compute PyTorch's dtype.

    Returns ``(a_array, b_array_or_scalar, result_np_dtype)``.
    """
    ad = a._data
    tb = type(b)
    if tb is float or tb is int:  # the most common scalar case first: weak, same category
        dt = ad.dtype
        if dt.kind in "fc":
            return ad, b, dt
    elif tb is Tensor or isinstance(b, Tensor):
        bd = b._data
        if ad.shape != bd.shape:
            check_broadcast(ad.shape, bd.shape)
        if ad.dtype is bd.dtype:
            return ad, bd, ad.dtype
        rt = _dt.binary_result_np(ad, bd)
        if ad.dtype != rt:
            ad = ad.astype(rt)
        if bd.dtype != rt:
            bd = bd.astype(rt)
        return ad, bd, rt
    s = _scalar(b)
    if s is None:
        raise TypeError(f"unsupported operand type(s): 'Tensor' and '{tb.__name__}'")
    rt = _dt.binary_result_np(ad, s)
    if ad.dtype != rt:
        ad = ad.astype(rt)
    if rt.kind in "iub" or rt.kind == "V":
        # a Python int out of the range of a small integer dtype wraps around, as in PyTorch
        s = np.array(s).astype(rt)
    return ad, s, rt


def check_broadcast(sa, sb):
    """Raise PyTorch's message when shapes ``sa`` and ``sb`` do not broadcast."""
    for i in range(1, min(len(sa), len(sb)) + 1):
        x, y = sa[-i], sb[-i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {max(len(sa), len(sb)) - i}")


def _tensor_first(a, b):
    """(tensor, other, swapped): ops may be called as ``ember.add(2, x)``."""
    if isinstance(a, Tensor):
        return a, b
    if isinstance(b, Tensor):
        from ._registry import to_tensor

        return to_tensor(a, like=b), b
    from ._registry import to_tensor

    return to_tensor(a), b


def _rg(t):
    """Whether ``t`` is a tensor whose gradient an op being recorded must compute."""
    if type(t) is not Tensor and not isinstance(t, Tensor):
        return False
    return t._requires_grad or (t._view is not None and view_requires_grad(t))


def _fix_dtype(out, rt):
    if out.dtype != rt:
        return out.astype(rt)
    return out


# ==== binary arithmetic ====================================================================

# ---- add / sub ----
def _add_vjp(ctx, g):
    alpha = ctx.args[0]
    gx, gy = ctx.next_functions
    return (g if gx[0] is not None else None,
            (g if alpha == 1 else g * alpha) if gy[0] is not None else None)


AddBackward0 = node_class("AddBackward0", _add_vjp, elementwise)


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with PyTorch's type promotion and broadcasting."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    if alpha != 1:
        bd = bd * alpha
    data = _fix_dtype(np.add(ad, bd), rt)
    if STATE.enabled and (_rg(input) or _rg(other)):
        return record(AddBackward0, data, (input, other), args=(alpha,))
    return wrap(data)


def _sub_vjp(ctx, g):
    alpha = ctx.args[0]
    gx, gy = ctx.next_functions
    return (g if gx[0] is not None else None,
            (-g if alpha == 1 else g * -alpha) if gy[0] is not None else None)


SubBackward0 = node_class("SubBackward0", _sub_vjp, elementwise)


def _check_bool_sub(rt):
    if rt.kind == "b":
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead.")


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    _check_bool_sub(rt)
    if alpha != 1:
        bd = bd * alpha
    data = _fix_dtype(np.subtract(ad, bd), rt)
    if STATE.enabled and recording(input, other):
        return record(SubBackward0, data, (input, other), args=(alpha,))
    return wrap(data)


subtract = sub


def _rsub_vjp(ctx, g):
    alpha = ctx.args[0]
    gx = ctx.next_functions[0][0]
    gy = ctx.next_functions[1][0] if len(ctx.next_functions) > 1 else None
    return ((-g if alpha == 1 else g * -alpha) if gx is not None else None,
            g if gy is not None else None)[:len(ctx.next_functions)]


RsubBackward0 = node_class("RsubBackward0", _rsub_vjp, elementwise)
RsubBackward1 = node_class("RsubBackward1", _rsub_vjp, elementwise)


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``."""
    ad, bd, rt = _operands(input, other)
    _check_bool_sub(rt)
    data = _fix_dtype(np.subtract(bd, ad * alpha if alpha != 1 else ad), rt)
    if STATE.enabled and recording(input, other):
        if isinstance(other, Tensor):
            return record(RsubBackward0, data, (input, other), args=(alpha,))
        return record(RsubBackward1, data, (input,), args=(alpha,))
    return wrap(data)


# ---- mul ----
def _mul_vjp(ctx, g):
    x, y = ctx.saved_tensors
    return (g * y if y is not None else None, g * x if x is not None else None)


MulBackward0 = node_class("MulBackward0", _mul_vjp, elementwise)


def mul(input, other, *, out=None):
    """``input * other``."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    data = np.multiply(ad, bd)
    if STATE.enabled:
        rx, ry = _rg(input), _rg(other)
        if rx or ry:
            # NOTE: save only what the needed gradients use: y for x's gradient, x for y's.
            return record(MulBackward0, data, (input, other),
                          save=(input if ry else None, other if rx else None))
    return wrap(data)


multiply = mul


# ---- div ----
def _div_vjp(ctx, g):
    x, y = ctx.saved_tensors
    gx = ctx.next_functions[0][0] is not None
    gy = ctx.next_functions[1][0] is not None
    return (g / y if gx else None, -g * x / (y * y) if gy else None)


DivBackward0 = node_class("DivBackward0", _div_vjp, elementwise)
def _rounding_div_vjp(ctx, g):
    # NOTE: rounded quotients are piecewise constant: zero gradient to both inputs.
    return (g * 0 if ctx.next_functions[0][0] is not None else None, None)


DivBackward2 = node_class("DivBackward2", _rounding_div_vjp, elementwise)


def div(input, other, *, rounding_mode=None, out=None):
    """``input / other`` (true division; ``rounding_mode`` 'trunc' or 'floor' rounds)."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    if rounding_mode is None:
        if rt.kind in "iub":
            ft = _dt.get_default_dtype().np
            ad = ad.astype(ft)
            if isinstance(bd, np.ndarray):
                bd = bd.astype(ft)
            else:
                bd = float(bd)
        data = np.true_divide(ad, bd)
        if rt.kind == "V":
            data = _fix_dtype(data, rt)
        if STATE.enabled:
            rx, ry = _rg(input), _rg(other)
            if rx or ry:
                return record(DivBackward0, data, (input, other),
                              save=(input if ry else None, other))
        return wrap(data)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'")
    if rt.kind in "iu":
        if not np.all(bd):
            raise RuntimeError("ZeroDivisionError")
        q = np.floor_divide(ad, bd)
        if rounding_mode == "trunc":
            q = np.where((q < 0) & (np.remainder(ad, bd) != 0), q + 1, q)
        data = _fix_dtype(q, rt)
    else:
        q = np.true_divide(ad, bd)
        data = _fix_dtype(np.floor(q) if rounding_mode == "floor" else np.trunc(q), rt)
    if STATE.enabled and recording(input, other):
        return record(DivBackward2, data, (input, other))
    return wrap(data)


divide = true_divide = div


def _div_scalar_vjp(ctx, g):
    return (g / ctx.args[0],)


DivBackward1 = node_class("DivBackward1", _div_scalar_vjp, elementwise)


def div_scalar(input, other):
    """``input / other`` for a Python number, recorded as PyTorch's ``div.Scalar``
    (``DivBackward1``, one edge): what PyTorch's own composite ops produce."""
    data = np.true_divide(float_data(input._data), other)
    if type(data) is np.ndarray and data.dtype != input._data.dtype and \
            input._data.dtype.kind in "fc":
        data = data.astype(input._data.dtype)
    if STATE.enabled and _rg(input):
        return record(DivBackward1, data, (input,), args=(other,))
    return wrap(data)


def floor_divide(input, other):
    """``input // other``: rounds toward negative infinity; not differentiable."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    if rt.kind in "iu" and not np.all(bd):
        raise RuntimeError("ZeroDivisionError")
    return wrap(_fix_dtype(np.floor_divide(ad, bd), rt))


def _remainder_vjp(ctx, g):
    x, y = ctx.saved_tensors
    gy = None
    if ctx.next_functions[1][0] is not None:
        gy = -g * floor_divide(x, y)
    return (g if ctx.next_functions[0][0] is not None else None, gy)


RemainderBackward0 = node_class("RemainderBackward0", _remainder_vjp, elementwise)


def remainder(input, other):
    """Python's modulus: the result has the sign of the divisor."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    if rt.kind in "iu" and not np.all(bd):
        raise RuntimeError("ZeroDivisionError")
    data = _fix_dtype(np.remainder(ad, bd), rt)
    if STATE.enabled and recording(input, other):
        return record(RemainderBackward0, data, (input, other), save=(input, other))
    return wrap(data)


def fmod(input, other):
    """C's fmod: the result has the sign of the dividend."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    data = _fix_dtype(np.fmod(ad, bd), rt)
    if STATE.enabled and recording(input, other):
        return record(RemainderBackward0, data, (input, other), save=(input, other))
    return wrap(data)


# ---- pow ----
def _pow_scalar_vjp(ctx, g):
    x, = ctx.saved_tensors
    e = ctx.args[0]
    if e == 0:
        return (g * 0,)
    if e == 2:  # NOTE: the most common exponent; one op fewer in the rule
        return (g * (x * 2.0),)
    return (g * (x ** (e - 1) * e),)


def _pow_tensor_vjp(ctx, g):
    x, y, out = ctx.saved_tensors
    gx = gy = None
    if ctx.next_functions[0][0] is not None:
        gx = g * (y * x ** (y - 1)).masked_fill(y == 0, 0.0)
    if ctx.next_functions[1][0] is not None:
        # NOTE: 0 ** y has derivative 0 in y for y >= 0 (PyTorch's choice, avoids 0 * -inf).
        gy = (g * (out * x.log())).masked_fill((x == 0) & (y >= 0), 0.0)
    return gx, gy


def _rpow_vjp(ctx, g):
    x, out = ctx.saved_tensors
    base = ctx.args[0]
    if base == 0:
        # NOTE: as for tensor exponents, 0 ** x has derivative 0 where x >= 0.
        return ((g * (out * float("-inf"))).masked_fill(x >= 0, 0.0),)
    return (g * (out * float(np.log(base))),)


PowBackward0 = node_class("PowBackward0", _pow_scalar_vjp, elementwise)
PowBackward1 = node_class("PowBackward1", _pow_tensor_vjp, elementwise)
PowBackward2 = node_class("PowBackward2", _rpow_vjp, elementwise)


def pow(input, exponent):  # noqa: A001 - PyTorch's name
    """``input ** exponent`` for tensor or scalar base and exponent."""
    if not isinstance(input, Tensor):
        return _rpow(exponent, input)
    ad, ed, rt = _operands(input, exponent)
    if rt.kind in "iu" and np.any(np.asarray(ed) < 0):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if isinstance(exponent, Tensor):
        data = _fix_dtype(np.power(ad, ed), rt)
        if STATE.enabled and recording(input, exponent):
            return record(PowBackward1, data, (input, exponent), save=(input, exponent),
                          save_out=True)
        return wrap(data)
    e = _scalar(exponent)
    if e == 2 and rt.kind in "fc":
        data = np.square(ad)
    elif e == 0.5 and rt.kind == "f":
        data = np.sqrt(ad)
    else:
        data = np.power(ad, ed)
    data = _fix_dtype(data, rt)
    if STATE.enabled and recording(input):
        return record(PowBackward0, data, (input,), save=(input,), args=(e,))
    return wrap(data)


def _rpow(self, base):
    """``base ** self`` for a scalar base."""
    base = _scalar(base)
    rt = _dt.binary_result_np(self._data, base)
    data = _fix_dtype(np.power(np.asarray(base, dtype=rt), self._data.astype(rt)), rt)
    if STATE.enabled and recording(self):
        return record(PowBackward2, data, (self,), save=(self,), args=(base,), save_out=True)
    return wrap(data)


def float_power(input, exponent):
    """``input ** exponent`` computed in float64."""
    x = input.double() if isinstance(input, Tensor) else input
    e = exponent.double() if isinstance(exponent, Tensor) else exponent
    return pow(x, e)


# ==== unary math ===========================================================================
# One entry per op: forward (a NumPy function), what the rule needs (x and/or out), the rule.

def unary_op(name, node_name, forward, vjp, saves="x", float_only=True, doc=None):
    """Make the function ``name(input)`` and its node class from one rule ``vjp(g, x, out)``.

    ``saves`` names what the rule reads: ``"x"`` (the input), ``"out"`` (the result), both
    (``"x,out"``) or ``""``. Integer inputs give the default float dtype when ``float_only``.
    """
    save_x = "x" in saves.split(",")
    save_out = "out" in saves.split(",")

    def rule(ctx, g):
        saved = ctx.saved_tensors
        x = saved[0] if save_x else None
        out = saved[-1] if save_out else None
        return (vjp(g, x, out),)

    node = node_class(node_name, rule, elementwise)

    def op(input):
        data = forward(float_data(input._data) if float_only else input._data)
        if STATE.enabled and (input._requires_grad or input._view is not None) \
                and recording(input):
            return record(node, data, (input,), save=(input,) if save_x else (),
                          save_out=save_out)
        return wrap(data)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Elementwise {name} (PyTorch's ``torch.{name}``)."
    return op, node


# ---- fused derivative ops ----
# NOTE [fused derivative ops]: the backward of y = f(x) is g * f'(x). As separate ember ops
# that is two or three op calls per node; PyTorch has dedicated ops for the common ones
# (sigmoid_backward, tanh_backward, threshold_backward) and so does ember: one NumPy
# expression, recorded as one node whose own rule (ember ops again) makes higher orders work.

def derivative_op(node_name, forward, vjp_g, vjp_x):
    """A fused op ``d(g, x)`` computed by ``forward(g_array, x_array)``; its rule gives
    ``vjp_g(gg, g, x)`` to ``g`` and ``vjp_x(gg, g, x)`` (or None: no gradient) to ``x``."""
    def rule(ctx, gg):
        g, x = ctx.saved_tensors
        return (vjp_g(gg, g, x) if ctx.next_functions[0][0] is not None else None,
                vjp_x(gg, g, x) if ctx.next_functions[1][0] is not None else None)

    node = node_class(node_name, rule, elementwise)

    def op(g, x):
        data = forward(g._data, x._data)
        if STATE.enabled and (_rg(g) or _rg(x)):
            return record(node, data, (g, x), save=(g, x))
        return wrap(data)
    return op


# The forwards below write into their first, freshly made array (private, so in place is
# safe); np.asarray turns NumPy's 0-d scalar results into arrays that accept ``out=``.

def _sin_bwd_np(g, x):
    d = np.asarray(np.cos(x))
    np.multiply(d, g, out=d)
    return d


def _cos_bwd_np(g, x):
    d = np.asarray(np.sin(x))
    np.negative(d, out=d)
    np.multiply(d, g, out=d)
    return d


def _tanh_bwd_np(g, y):
    d = np.asarray(np.square(y))
    np.subtract(1, d, out=d)
    np.multiply(d, g, out=d)
    return d


def _sigmoid_bwd_np(g, y):
    d = np.asarray(np.subtract(1, y))
    np.multiply(d, y, out=d)
    np.multiply(d, g, out=d)
    return d


def _threshold_bwd_np(g, y):
    return np.multiply(g, y > 0)  # NOTE: ~10x faster than np.where here


sin_backward = derivative_op(
    "SinBackwardBackward0", _sin_bwd_np,
    lambda gg, g, x: sin_backward(gg, x), lambda gg, g, x: -(gg * g) * x.sin())
cos_backward = derivative_op(
    "CosBackwardBackward0", _cos_bwd_np,
    lambda gg, g, x: cos_backward(gg, x), lambda gg, g, x: -(gg * g) * x.cos())
tanh_backward = derivative_op(
    "TanhBackwardBackward0", _tanh_bwd_np,
    lambda gg, g, y: tanh_backward(gg, y), lambda gg, g, y: gg * g * y * -2.0)
sigmoid_backward = derivative_op(
    "SigmoidBackwardBackward0", _sigmoid_bwd_np,
    lambda gg, g, y: sigmoid_backward(gg, y), lambda gg, g, y: gg * g * (1 - 2 * y))
threshold_backward = derivative_op(
    "ThresholdBackwardBackward0", _threshold_bwd_np,
    lambda gg, g, y: threshold_backward(gg, y), lambda gg, g, y: None)


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
    return g * x.sign()


def _neg_vjp(g, x, out):
    return -g


def _zero_vjp(g, x, out):
    # NOTE: piecewise-constant ops (sign, floor, round...) have gradient 0 almost everywhere.
    return g * 0


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
square, _SquareNode = unary_op("square", "PowBackward0", np.square, _square_vjp, "x",
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


def _sigmoid_np(a):
    # NOTE: exp(-|a|) never overflows; both branches are exact for their sign.
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


sigmoid, SigmoidBackward0 = unary_op("sigmoid", "SigmoidBackward0", _sigmoid_np, _sigmoid_vjp,
                                     "out")


def _relu_np(a):
    return np.maximum(a, 0, dtype=a.dtype) if a.dtype.kind != "b" else a.copy()


relu, ReluBackward0 = unary_op("relu", "ReluBackward0", _relu_np, _relu_vjp, "out",
                               float_only=False)


def _abs_np(a):
    if a.dtype.kind == "b":
        return a.copy()
    return np.abs(a)


abs, AbsBackward0 = unary_op("abs", "AbsBackward0", _abs_np, _abs_vjp, "x",  # noqa: A001
                             float_only=False)
absolute = abs


def _neg_np(a):
    if a.dtype.kind == "b":
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
            "to invert a mask, use the `~` or `logical_not()` operator instead.")
    return np.negative(a)


neg, NegBackward0 = unary_op("neg", "NegBackward0", _neg_np, _neg_vjp, "", float_only=False)
negative = neg


def _sign_np(a):
    return np.sign(a) if a.dtype.kind != "b" else a.copy()


sign, SignBackward0 = unary_op("sign", "SignBackward0", _sign_np, _zero_vjp, "",
                               float_only=False)


def _keep_int(fn):
    def forward(a):
        return a.copy() if a.dtype.kind in "iub" else fn(a)
    return forward


floor, FloorBackward0 = unary_op("floor", "FloorBackward0", _keep_int(np.floor), _zero_vjp, "",
                                 float_only=False)
ceil, CeilBackward0 = unary_op("ceil", "CeilBackward0", _keep_int(np.ceil), _zero_vjp, "",
                               float_only=False)
trunc, TruncBackward0 = unary_op("trunc", "TruncBackward0", _keep_int(np.trunc), _zero_vjp, "",
                                 float_only=False)
_round0, RoundBackward0 = unary_op("round", "RoundBackward0", _keep_int(np.round), _zero_vjp, "",
                                   float_only=False)
fix = trunc


def round(input, *, decimals=0):  # noqa: A001 - PyTorch's name
    """Round half to even (like PyTorch and NumPy); ``decimals`` rounds to that many places."""
    if decimals == 0:
        return _round0(input)
    scale = 10.0 ** decimals
    return _round0(input * scale) / scale


def frac(input):
    """``input - trunc(input)``."""
    return input - trunc(input).detach()


# ---- clamp ----
def _clamp_vjp(ctx, g):
    x, = ctx.saved_tensors
    lo, hi = ctx.args
    mask = None
    if lo is not None:
        mask = x >= lo
    if hi is not None:
        m = x <= hi
        mask = m if mask is None else mask & m
    # NOTE: at a bound the gradient passes (x >= min, x <= max), as in PyTorch.
    return (g * mask,)


def _clamp_tensor_vjp(ctx, g):
    x, lo, hi = ctx.saved_tensors
    fx, flo, fhi = (f for f, _ in ctx.next_functions)
    inside = None
    lo_mask = hi_mask = None
    if lo is not None:
        lo_mask = x >= lo
        inside = lo_mask
    if hi is not None:
        hi_mask = x <= hi
        inside = hi_mask if inside is None else inside & hi_mask
    gx = g * inside if fx is not None else None
    glo = g * ~lo_mask if (flo is not None and lo is not None) else None
    ghi = None
    if fhi is not None and hi is not None:
        ghi = g * (~hi_mask & (lo_mask if lo is not None else True))
    return gx, glo, ghi


ClampBackward1 = node_class("ClampBackward1", _clamp_vjp, elementwise)
ClampBackward0 = node_class("ClampBackward0", _clamp_tensor_vjp, elementwise)
ClampMinBackward0 = node_class("ClampMinBackward0", _clamp_vjp, elementwise)
ClampMaxBackward0 = node_class("ClampMaxBackward0", _clamp_vjp, elementwise)


def clamp(input, min=None, max=None):  # noqa: A002 - PyTorch's names
    """Limit values to ``[min, max]`` (either bound may be None, a number or a tensor)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        lo = min if min is None or isinstance(min, Tensor) else _scalar_tensor(min, input)
        hi = max if max is None or isinstance(max, Tensor) else _scalar_tensor(max, input)
        data = input._data
        if lo is not None:
            data = np.maximum(data, lo._data.astype(data.dtype, copy=False))
        if hi is not None:
            data = np.minimum(data, hi._data.astype(data.dtype, copy=False))
        if STATE.enabled and recording(input, lo, hi):
            return record(ClampBackward0, np.asarray(data), (input, lo, hi), save=(input, lo, hi))
        return wrap(np.asarray(data))
    ad = input._data
    lo = _scalar(min)
    hi = _scalar(max)
    if ad.dtype.kind in "iub" and (isinstance(lo, float) or isinstance(hi, float)):
        ad = ad.astype(_dt.get_default_dtype().np)
    data = np.clip(ad, lo, hi)
    if data.dtype != ad.dtype:
        data = data.astype(ad.dtype)
    if STATE.enabled and recording(input):
        return record(ClampBackward1, data, (input,), save=(input,), args=(lo, hi))
    return wrap(data)


clip = clamp


def clamp_min(input, min):  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input, max):  # noqa: A002
    return clamp(input, max=max)


def _scalar_tensor(v, like):
    return _make(np.asarray(v, dtype=like._data.dtype))


# ---- where ----
def _where_vjp(ctx, g):
    cond, = ctx.saved_tensors
    fx, fy = ctx.next_functions[0][0], ctx.next_functions[1][0]
    zero = g * 0
    return (where(cond, g, zero) if fx is not None else None,
            where(cond, zero, g) if fy is not None else None)


WhereBackward0 = node_class("WhereBackward0", _where_vjp, elementwise)


def where(condition, input=None, other=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (either may be a
    number). With only ``condition``: the indices of its nonzero elements, as a tuple."""
    if input is None and other is None:
        return tuple(wrap(np.asarray(i, dtype=np.int64)) for i in np.nonzero(condition._data))
    if condition._data.dtype.kind != "b":
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{condition.dtype.scalar_name}")
    if not isinstance(input, Tensor):
        if not isinstance(other, Tensor):
            raise TypeError("where(): at least one of input, other must be a Tensor")
        input = _scalar_to(input, other)
    if not isinstance(other, Tensor):
        other = _scalar_to(other, input)
    ad, bd, rt = _operands(input, other)
    data = np.where(condition._data, ad, bd)
    if STATE.enabled and recording(input, other):
        return record(WhereBackward0, data, (input, other), save=(condition,))
    return wrap(data)


def _masked_fill_vjp(ctx, g):
    mask, = ctx.saved_tensors
    gx = g.masked_fill(mask, 0.0) if ctx.next_functions[0][0] is not None else None
    if len(ctx.next_functions) == 1:
        return (gx,)
    gv = None
    if ctx.next_functions[1][0] is not None:
        gv = where(mask, g, g * 0).sum()
    return (gx, gv)


MaskedFillBackward0 = node_class("MaskedFillBackward0", _masked_fill_vjp, elementwise)
def _masked_fill_value_jvp(ctx, dx, dv):
    mask, = ctx.saved_tensors
    shape, _ = ctx._meta[0]
    dx = dx if dx is not None else zeros_for(ctx, 0)
    if dv is None:
        return dx.masked_fill(mask, 0.0)
    return where(mask, dv.expand(shape), dx)


MaskedFillBackward1 = node_class("MaskedFillBackward1", _masked_fill_vjp, _masked_fill_value_jvp)


def masked_fill(input, mask, value):
    """``input`` with ``value`` written where the bool ``mask`` is True (mask broadcasts)."""
    if mask._data.dtype.kind != "b":
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{mask.dtype.name}")
    ad = input._data
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s).")
        v = value._data.astype(ad.dtype)
    else:
        v = _scalar(value)
    data = np.where(mask._data, v, ad)
    if data.dtype != ad.dtype:
        data = data.astype(ad.dtype)
    if data.shape != ad.shape:
        raise RuntimeError(
            f"output with shape {list(ad.shape)} doesn't match the broadcast shape "
            f"{list(data.shape)}")
    if STATE.enabled:
        if isinstance(value, Tensor) and _rg(value):
            return record(MaskedFillBackward1, data, (input, value), save=(mask,))
        if _rg(input):
            return record(MaskedFillBackward0, data, (input,), save=(mask,))
    return wrap(data)


def _scalar_to(v, like):
    v = _scalar(v)
    rt = _dt.binary_result_np(like._data, v)
    t = _make(np.asarray(v, dtype=rt))
    return t


# ---- maximum / minimum ----
def _maxmin_vjp(ctx, g):
    x, y = ctx.saved_tensors
    # NOTE: ties split the gradient evenly between the two inputs, as PyTorch.
    pick_x = (x > y) if ctx.args[0] else (x < y)
    tie = x == y
    wx = pick_x + tie * 0.5
    wy = (~pick_x & ~tie) + tie * 0.5
    return (g * wx if ctx.next_functions[0][0] is not None else None,
            g * wy if ctx.next_functions[1][0] is not None else None)


MaximumBackward0 = node_class("MaximumBackward0", _maxmin_vjp, elementwise)
MinimumBackward0 = node_class("MinimumBackward0", _maxmin_vjp, elementwise)


def maximum(input, other):
    ad, bd, rt = _operands(input, other)
    data = np.maximum(ad, bd)
    if STATE.enabled and recording(input, other):
        return record(MaximumBackward0, data, (input, other), save=(input, other), args=(True,))
    return wrap(data)


def minimum(input, other):
    ad, bd, rt = _operands(input, other)
    data = np.minimum(ad, bd)
    if STATE.enabled and recording(input, other):
        return record(MinimumBackward0, data, (input, other), save=(input, other), args=(False,))
    return wrap(data)


# ==== comparisons and logic (never differentiable) =========================================

def _compare(ufunc, name):
    def op(input, other):
        input, other = _tensor_first(input, other)
        ad, bd, _ = _operands(input, other)
        return wrap(np.asarray(ufunc(ad, bd)))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` comparison; a bool tensor."
    return op


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def _bitwise(ufunc, name, logical_ufunc=None):
    def op(input, other):
        input, other = _tensor_first(input, other)
        ad, bd, rt = _operands(input, other)
        if rt.kind not in "iub":
            raise NotImplementedError(f'"{name}_cpu" not implemented for '
                               f"'{_dt.from_np(rt).scalar_name}'")
        return wrap(np.asarray(ufunc(ad, bd)))
    op.__name__ = op.__qualname__ = name
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input):
    if input._data.dtype.kind not in "iub":
        raise RuntimeError("bitwise_not is only supported for integer and boolean tensors")
    return wrap(np.invert(input._data))


def _logical(ufunc, name):
    def op(input, other):
        other_d = other._data if isinstance(other, Tensor) else other
        return wrap(np.asarray(ufunc(input._data, other_d)))
    op.__name__ = op.__qualname__ = name
    return op


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(input):
    return wrap(np.logical_not(input._data))


def isnan(input):
    return wrap(np.isnan(input._data))


def isinf(input):
    return wrap(np.isinf(input._data))


def isfinite(input):
    return wrap(np.isfinite(input._data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return wrap(np.isclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other) -> bool:
    """True if both tensors have the same shape and elements."""
    return input._data.shape == other._data.shape and bool(np.all(input._data == other._data))


# ==== registration =========================================================================

for _name in ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
              "floor_divide", "remainder", "fmod", "pow", "float_power", "exp", "exp2", "expm1",
              "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square", "reciprocal", "sin",
              "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "relu",
              "abs", "absolute", "neg", "negative", "sign", "floor", "ceil", "trunc", "fix",
              "round", "frac", "masked_fill", "clamp", "clip", "clamp_min", "clamp_max", "where",
              "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less",
              "less_equal", "greater", "greater_equal", "bitwise_and", "bitwise_or",
              "bitwise_xor", "bitwise_not", "logical_and", "logical_or", "logical_xor",
              "logical_not", "isnan", "isinf", "isfinite", "isclose", "allclose", "equal"):
    register(globals()[_name], _name)
register(rsub, "rsub", method=False)
register(_rpow, "__rpow__", function=False)
for _alias, _fn in (("arcsin", asin), ("arccos", acos), ("arctan", atan)):
    register(_fn, _alias)
