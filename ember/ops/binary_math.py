"""Binary float math of the pointwise family: atan2, hypot, copysign, logaddexp, logaddexp2,
ldexp, nextafter, and heaviside. pointwise.py publishes them.

Contract: PyTorch's result dtypes (integer operands give the default float dtype or PyTorch's
NotImplementedError, see the NOTE below), broadcasting, values at the special points, and
nodes named like PyTorch's; heaviside records PyTorch's ``NotImplemented`` node. Rules
follow NOTE [rules are ember ops] in _registry.py; JVPs are elementwise (see _jvp.py) unless
given.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import Tensor, as_array
from ._jvp import elementwise
from ._registry import node_class, record, recording, wrap, zeros_of
from .operands import (
    _fix_dtype,
    _float_operands,
    _need,
    _rg,
    check_broadcast,
    not_implemented_node,
    require_tensors,
)

# NOTE: these ops compute in floating point: integer and bool operands give the default float
# dtype (atan2, copysign) or raise PyTorch's NotImplementedError naming the kernel (hypot,
# logaddexp), as PyTorch does.


# ---- atan2 ----
def _atan2_vjp(ctx, g):
    x, y = ctx.saved_tensors
    with np.errstate(divide="ignore"):
        r = (x * x + y * y).reciprocal()
    # PyTorch zeroes the infinite reciprocal (x = y = 0, or squares that underflow), so the
    # gradient at the origin is 0, not NaN
    r = r.masked_fill(r.isinf(), 0)
    return (g * y * r if _need(ctx, 0) else None, g * -x * r if _need(ctx, 1) else None)


def _atan2_jvp(ctx, dx, dy):
    # PyTorch's forward formula has no mask: 0/0 at the origin is NaN, unlike the backward
    x, y = ctx.saved_tensors
    with np.errstate(invalid="ignore", divide="ignore"):
        num = (0 if dx is None else y * dx) - (0 if dy is None else x * dy)
        return num / (x * x + y * y)


Atan2Backward0 = node_class("Atan2Backward0", _atan2_vjp, _atan2_jvp)


def atan2(input, other):
    """Elementwise ``atan(input / other)`` in the quadrant of ``(other, input)``."""
    require_tensors("atan2", input, other)
    input, other, ad, bd, rt = _float_operands("atan2", input, other)
    data = _fix_dtype(as_array(np.arctan2(ad, bd)), rt)
    if STATE.enabled and recording(input, other):
        return record(Atan2Backward0, data, (input, other), save=(input, other))
    return wrap(data)


arctan2 = atan2


# ---- hypot ----
def _hypot_vjp(ctx, g):
    x, y, out = ctx.saved_tensors
    return (g * (x / out) if _need(ctx, 0) else None, g * (y / out) if _need(ctx, 1) else None)


HypotBackward0 = node_class("HypotBackward0", _hypot_vjp, elementwise)


def hypot(input, other):
    """``sqrt(input**2 + other**2)`` without intermediate overflow."""
    require_tensors("hypot", input, other)
    input, other, ad, bd, rt = _float_operands("hypot", input, other, ints=False)
    data = _fix_dtype(as_array(np.hypot(ad, bd)), rt)
    if STATE.enabled and recording(input, other):
        # (each input is saved for its own gradient only, as PyTorch saves what the needed
        # formulas read: an in-place change of the other input is then no error)
        return record(HypotBackward0, data, (input, other),
                      save=(input if _rg(input) else None, other if _rg(other) else None),
                      save_out=True)
    return wrap(data)


# ---- copysign ----
def _copysign_vjp(ctx, g):
    x, out = ctx.saved_tensors
    # NOTE: PyTorch's rule g * out / x with 0 where x == 0 (sign(x) * sign(out) elsewhere,
    # but NaN at an infinite or NaN x, and its second order is NaN at 0); quietly, as the
    # 0 / 0 is masked. The sign source gets 0.
    gx = None
    if _need(ctx, 0):
        with np.errstate(invalid="ignore", divide="ignore"):
            gx = g * (out / x).masked_fill(x == 0, 0.0)
    if len(ctx.next_functions) == 1:
        return (gx,)
    return (gx, zeros_of(g) if _need(ctx, 1) else None)


def _copysign_jvp(ctx, dx, *_):
    # NOTE: PyTorch's forward formula reads only input's tangent, so a tangent on the sign
    # source alone gives the result none (not zeros): forward AD leaves it a plain tensor.
    if dx is None:
        return None
    return elementwise(ctx, dx)


CopysignBackward0 = node_class("CopysignBackward0", _copysign_vjp, _copysign_jvp)
CopysignBackward1 = node_class("CopysignBackward1", _copysign_vjp, _copysign_jvp)


def copysign(input, other):
    """``|input|`` with the sign of ``other`` (signed zeros count)."""
    input, other, ad, bd, rt = _float_operands("copysign", input, other)
    data = _fix_dtype(as_array(np.copysign(ad, bd)), rt)
    if STATE.enabled and recording(input, other):
        if isinstance(other, Tensor):
            return record(CopysignBackward0, data, (input, other),
                          save=(input if _rg(input) else None,), save_out=True)
        return record(CopysignBackward1, data, (input,), save=(input,), save_out=True)
    return wrap(data)


# ---- logaddexp / logaddexp2 ----
def _logaddexp_vjp(ctx, g):
    x, y = ctx.saved_tensors
    base2 = ctx.args[0] != 1.0

    def part(a, b):
        # NOTE: PyTorch's grad / (1 + exp(b - a)) (pow(2, b - a) for logaddexp2): where the
        # power overflows the gradient is 0 and its own gradient inf / inf = NaN, as there
        return g / (1 + (2.0 ** (b - a) if base2 else (b - a).exp()))
    with np.errstate(over="ignore", invalid="ignore"):
        return (part(x, y) if _need(ctx, 0) else None, part(y, x) if _need(ctx, 1) else None)


LogaddexpBackward0 = node_class("LogaddexpBackward0", _logaddexp_vjp, elementwise)
Logaddexp2Backward0 = node_class("Logaddexp2Backward0", _logaddexp_vjp, elementwise)


def logaddexp(input, other):
    """``log(exp(input) + exp(other))``, computed stably (max-shifted)."""
    require_tensors("logaddexp", input, other)
    input, other, ad, bd, rt = _float_operands("logaddexp", input, other, ints=False)
    data = _fix_dtype(as_array(np.logaddexp(ad, bd)), rt)
    if STATE.enabled and recording(input, other):
        return record(LogaddexpBackward0, data, (input, other), save=(input, other), args=(1.0,))
    return wrap(data)


def logaddexp2(input, other):
    """``log2(2**input + 2**other)``, computed stably."""
    require_tensors("logaddexp2", input, other)
    input, other, ad, bd, rt = _float_operands("logaddexp2", input, other, ints=False)
    data = _fix_dtype(as_array(np.logaddexp2(ad, bd)), rt)
    if STATE.enabled and recording(input, other):
        return record(Logaddexp2Backward0, data, (input, other), save=(input, other),
                      args=(float(np.log(2.0)),))
    return wrap(data)


# ---- ldexp ----
def _ldexp_vjp(ctx, g):
    # PyTorch's saves: other, and the result only when other needs a gradient (never input,
    # which the caller may then modify in place)
    e, *out = ctx.saved_tensors
    return (g * (e * float(np.log(2.0))).exp() if _need(ctx, 0) else None,
            g * out[0] * float(np.log(2.0)) if _need(ctx, 1) else None)


LdexpBackward0 = node_class("LdexpBackward0", _ldexp_vjp, elementwise)


def ldexp(input, other):
    """``input * 2 ** other`` (a float result)."""
    require_tensors("ldexp", input, other)
    input, other, ad, bd, rt = _float_operands("ldexp", input, other)
    data = _fix_dtype(as_array(ad * np.exp2(bd)), rt)
    if STATE.enabled and recording(input, other):
        return record(LdexpBackward0, data, (input, other), save=(other,),
                      save_out=isinstance(other, Tensor) and other.requires_grad)
    return wrap(data)


# ---- nextafter ----
def _nextafter_vjp(ctx, g):
    # NOTE: PyTorch's rule: the step to the next float is treated as the identity in input
    # and constant in other.
    return (g if _need(ctx, 0) else None, zeros_of(g) if _need(ctx, 1) else None)


NextafterBackward0 = node_class("NextafterBackward0", _nextafter_vjp, elementwise)


def nextafter(input, other):
    """The next representable float after ``input`` towards ``other``."""
    require_tensors("nextafter", input, other)
    input, other, ad, bd, rt = _float_operands("nextafter", input, other, ints=False)
    data = _fix_dtype(as_array(np.nextafter(ad, bd)), rt)
    if STATE.enabled and recording(input, other):
        return record(NextafterBackward0, data, (input, other))
    return wrap(data)


# ==== ternary: lerp, addcmul, addcdiv ======================================================


# ---- heaviside ----
HeavisideNotImplemented = not_implemented_node("heaviside")


def heaviside(input, values):
    """0 where ``input < 0``, 1 where ``input > 0``, ``values`` where it is 0. PyTorch defines
    no gradient: on inputs that require grad the result's backward raises, as there."""
    require_tensors("heaviside", input, values, "values")
    if values._data.dtype != input._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    check_broadcast(input._data.shape, values._data.shape)
    a = input._data
    data = np.heaviside(a, values._data) if a.dtype.kind != "b" else \
        np.where(a, True, values._data)
    data = as_array(data).astype(a.dtype, copy=False)
    if STATE.enabled and recording(input, values):
        return record(HeavisideNotImplemented, data, (input, values))
    return wrap(data)
