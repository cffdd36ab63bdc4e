"""Binary arithmetic of the pointwise family: add, sub, rsub, mul, div, floor_divide, remainder,
fmod, pow, float_power, and the scalar forms PyTorch's composite ops record (``mul_scalar``,
``div_scalar``). pointwise.py publishes them.

Contract: each op computes PyTorch's result dtype and broadcasts like PyTorch (operands.py's
operands), rounds half types and fused float32 products as PyTorch's kernels do (NOTE [half
scalars], NOTE [fused alpha]), and records a node named like PyTorch's; floor_divide records
PyTorch's ``NotImplemented`` node. Rules follow NOTE [rules are ember ops] in _registry.py and
are written for equal shapes (the engine sums broadcast gradients back).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .._fma import fma32, fused
from ..autograd.grad_mode import STATE
from ..tensor import Tensor, as_array
from ._jvp import elementwise
from ._registry import float_data, node_class, record, recording, wrap, zeros_of
from .operands import (
    _fix_dtype,
    _need,
    _operands,
    _rg,
    _scalar,
    _tensor_first,
    not_implemented_node,
    write_out,
)

# NOTE [half scalars]: PyTorch multiplies or divides a float16/bfloat16 tensor by a scalar (a
# Python number or a 0-d tensor) in float32 with the scalar as it is, rounding the result once,
# and adds ``alpha * other`` to it in float32 with alpha rounded to the half type; NumPy would
# round the scalar (or the scaled operand) to the half type first (a third of bfloat16 products
# by 0.9 came out an ulp off). A scalar added or subtracted is rounded first in both.
_F32 = np.dtype(np.float32)


def _half_scalar(rt, other):
    """The scalar of NOTE [half scalars] as a float32, or None where the note does not apply
    (``rt`` not a half type, ``other`` a dimensioned tensor)."""
    if rt.itemsize != 2 or rt.kind not in "fV":
        return None
    if isinstance(other, Tensor):
        return other._data.astype(_F32) if other._data.ndim == 0 else None
    return None if isinstance(other, (bool, np.bool_)) else np.float32(other)


def _as_f32(x):
    """``x`` (an array of any library, or a number) as float32: a number becomes a NumPy
    float32 scalar, which mixes with device arrays where a host 0-d array would not."""
    return np.float32(x) if isinstance(x, (int, float, np.generic)) else x.astype(_F32,
                                                                                  copy=False)


def _half_alpha(ad, bd, rt, alpha, sign):
    """``ad + sign * alpha * bd`` for half types, in float32 (NOTE [half scalars])."""
    scale = np.float32(sign * np.asarray(alpha).astype(rt).astype(_F32))
    return (ad.astype(_F32) + as_array(bd).astype(_F32) * scale).astype(rt)


# ---- add / sub ----
# NOTE [fused alpha]: PyTorch's float32 kernels for add/sub with alpha, lerp and addcmul end in
# a fused multiply-add (one rounding) in its AVX2/AVX512 builds; NumPy rounds the product and
# the sum (a quarter of SGD's updated parameters differed after 5 steps). ember's float32 fma
# (_fma.fma32) costs ~4x a product and a sum, paid only where alpha != 1. float64 keeps two
# roundings (an exact float64 fma costs ~20x).
def _add_vjp(ctx, g):
    alpha = ctx.args[0]
    gx, gy = ctx.next_functions
    return (g if gx[0] is not None else None,
            (g if alpha == 1 else g * alpha) if gy[0] is not None else None)


AddBackward0 = node_class("AddBackward0", _add_vjp, elementwise)


def _check_alpha(alpha, rt):
    if type(alpha) is bool and rt.kind != "b":
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if rt.kind in "iub" and isinstance(alpha, float):
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number.")


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with PyTorch's type promotion and broadcasting."""
    if out is not None:
        return write_out("add", add, out, input, other, alpha=alpha)
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    if rt is not _F32 and rt.kind == "u":
        _dt.refuse_unsigned("add_stub", rt)
    if alpha != 1 or type(alpha) is bool:
        _check_alpha(alpha, rt)
        if rt.itemsize == 2 and rt.kind in "fV":  # NOTE [half scalars]
            data = _half_alpha(ad, bd, rt, alpha, 1)
            if STATE.enabled and (_rg(input) or _rg(other)):
                return record(AddBackward0, data, (input, other), args=(alpha,))
            return wrap(data)
        if rt == _F32 and fused():  # NOTE [fused alpha]
            data = fma32(_as_f32(bd), np.float32(alpha), _as_f32(ad))
            if STATE.enabled and (_rg(input) or _rg(other)):
                return record(AddBackward0, data, (input, other), args=(alpha,))
            return wrap(data)
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


def _check_bool_sub(input, other):
    """PyTorch rejects subtraction with a bool operand (a Python bool counts), before any
    shape check."""
    a = input._data.dtype.kind == "b"
    b = isinstance(other, (bool, np.bool_)) or (
        isinstance(other, Tensor) and other._data.dtype.kind == "b")
    if a and b:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead.")
    if a or b:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``."""
    if out is not None:
        return write_out("sub", sub, out, input, other, alpha=alpha)
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    _check_bool_sub(input, other)
    ad, bd, rt = _operands(input, other)
    if rt is not _F32 and rt.kind == "u":
        _dt.refuse_unsigned("add_stub", rt)
    if alpha != 1 or type(alpha) is bool:
        _check_alpha(alpha, rt)
        if rt.itemsize == 2 and rt.kind in "fV":  # NOTE [half scalars]
            data = _half_alpha(ad, bd, rt, alpha, -1)
            if STATE.enabled and recording(input, other):
                return record(SubBackward0, data, (input, other), args=(alpha,))
            return wrap(data)
        if rt == _F32 and fused():  # NOTE [fused alpha]
            data = fma32(_as_f32(bd), np.float32(-alpha), _as_f32(ad))
            if STATE.enabled and recording(input, other):
                return record(SubBackward0, data, (input, other), args=(alpha,))
            return wrap(data)
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
    _check_bool_sub(input, other)
    ad, bd, rt = _operands(input, other)
    _dt.refuse_unsigned("add_stub", rt)
    if type(alpha) is bool:
        _check_alpha(alpha, rt)
    data = _fix_dtype(np.subtract(bd, ad * alpha if alpha != 1 else ad), rt)
    if STATE.enabled and recording(input, other):
        if isinstance(other, Tensor):
            return record(RsubBackward0, data, (input, other), args=(alpha,))
        return record(RsubBackward1, data, (input,), args=(alpha,))
    return wrap(data)


# ---- mul ----
def _mul_vjp(ctx, g):
    x, y = ctx.saved_tensors
    if x is y and x is not None:
        # NOTE: x * x: both gradients are g * x; computed once (the engine adds the two).
        gx = g * x
        return gx, gx
    return (g * y if y is not None else None, g * x if x is not None else None)


def _mul_private(ctx, g):
    """_mul_vjp writing x's gradient ``g * y`` into ``g`` (NOTE [private gradients]) when that
    product has g's own dtype; y's gradient ``g * x`` is computed first, from the intact g."""
    x, y = ctx.saved_tensors
    gd = g._data
    if x is y and x is not None:
        if x._data.dtype is gd.dtype:
            np.multiply(gd, x._data, out=gd)
            return g, g
    elif y is not None:
        ty = type(y)
        if x is None and (ty is float or ty is int) and gd.dtype.kind == "f":
            np.multiply(gd, y, out=gd)
            return g, None
        if isinstance(y, Tensor) and y._data.dtype is gd.dtype:
            gy = g * x if x is not None else None
            np.multiply(gd, y._data, out=gd)
            return g, gy
    return _mul_vjp(ctx, g)


MulBackward0 = node_class("MulBackward0", _mul_vjp, elementwise, private=_mul_private)


def mul(input, other, *, out=None):
    """``input * other``."""
    if out is not None:
        return write_out("mul", mul, out, input, other)
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    if rt is not _F32 and rt.itemsize == 2 and (scalar := _half_scalar(rt, other)) is not None:
        data = (ad.astype(_F32) * scalar).astype(rt)  # NOTE [half scalars]
    else:
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
    # NOTE: PyTorch's form for the divisor, -g * ((x / y) / y): the same roundings (and the
    # same graph under create_graph), which matters where x / y cancels a tiny y
    return (g / y if gx else None, -g * ((x / y) / y) if gy else None)


DivBackward0 = node_class("DivBackward0", _div_vjp, elementwise)


def _rounding_div_vjp(ctx, g):
    # NOTE: rounded quotients are piecewise constant: zero gradient to both inputs.
    zero = zeros_of(g)
    return tuple(zero if f is not None else None for f, _ in ctx.next_functions)


DivBackward2 = node_class("DivBackward2", _rounding_div_vjp, elementwise)


def div(input, other, *, rounding_mode=None, out=None):
    """``input / other`` (true division; ``rounding_mode`` 'trunc' or 'floor' rounds)."""
    if out is not None:
        return write_out("div", div, out, input, other, rounding_mode=rounding_mode)
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    if rounding_mode is None:
        if rt.kind in "iub":
            ft = _dt.get_default_dtype().np
            ad = ad.astype(ft)
            # (a number stays a Python float; an array of any library is cast)
            bd = float(bd) if isinstance(bd, (int, float)) else bd.astype(ft)
        if rt is not _F32 and rt.itemsize == 2 and \
                (scalar := _half_scalar(rt, other)) is not None:
            data = (ad.astype(_F32) / scalar).astype(rt)  # NOTE [half scalars]
        else:
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
    _dt.refuse_unsigned(f"div_{rounding_mode}_cpu", rt)
    if rt.kind in "iu":
        if not np.all(bd):
            raise RuntimeError("ZeroDivisionError")
        q = np.floor_divide(ad, bd)
        if rounding_mode == "trunc":
            q = np.where((q < 0) & (np.remainder(ad, bd) != 0), q + 1, q)
        data = _fix_dtype(q, rt)
    elif rounding_mode == "floor":
        # (NumPy's floor_divide is PyTorch's div_floor: through fmod, so an infinite numerator
        # gives NaN, where floor(a / b) would give inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            data = _fix_dtype(np.floor_divide(ad, bd), rt)
    else:
        data = _fix_dtype(np.trunc(np.true_divide(ad, bd)), rt)
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


FloorDivideNotImplemented = not_implemented_node("floor_divide")


def _mul_scalar_vjp(ctx, g):
    return (g * ctx.args[0],)


MulBackward1 = node_class("MulBackward1", _mul_scalar_vjp, elementwise)


def mul_scalar(input, other):
    """``input * other`` for a Python number, recorded as PyTorch's ``mul.Scalar``
    (``MulBackward1``, one edge): what PyTorch's own composite ops (ndtr...) produce."""
    data = np.multiply(float_data(input._data), other)
    if type(data) is np.ndarray and data.dtype != input._data.dtype and \
            input._data.dtype.kind in "fc":
        data = data.astype(input._data.dtype)
    if STATE.enabled and _rg(input):
        return record(MulBackward1, data, (input,), args=(other,))
    return wrap(data)


def floor_divide(input, other):
    """``input // other``: rounds toward negative infinity; not differentiable."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    _dt.refuse_unsigned("div_floor_cpu", rt)
    if rt.kind == "b":
        raise NotImplementedError("\"div_floor_cpu\" not implemented for 'Bool'")
    if rt.kind in "iu" and not np.all(bd):
        raise RuntimeError("ZeroDivisionError")
    data = _fix_dtype(np.floor_divide(ad, bd), rt)
    if STATE.enabled and recording(input, other):
        return record(FloorDivideNotImplemented, data, (input, other))
    return wrap(data)


def _remainder_vjp(ctx, g):
    gx = g if _need(ctx, 0) else None
    if len(ctx.next_functions) == 1:
        return (gx,)
    gy = None
    if _need(ctx, 1):
        # NOTE: remainder = x - floor(x / y) * y (fmod: trunc), so d/dy is -floor(x / y).
        x, y = ctx.saved_tensors
        gy = -g * div(x, y, rounding_mode="floor" if ctx.args[0] else "trunc")
    return (gx, gy)


RemainderBackward0 = node_class("RemainderBackward0", _remainder_vjp, elementwise)
RemainderBackward1 = node_class("RemainderBackward1", _remainder_vjp, elementwise)
FmodBackward0 = node_class("FmodBackward0", _remainder_vjp, elementwise)
FmodBackward1 = node_class("FmodBackward1", _remainder_vjp, elementwise)


def _modulus(input, other, ufunc, floor, nodes):
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    _dt.refuse_unsigned("remainder_cpu" if floor else "fmod_cpu", rt)
    if rt.kind == "b":  # (two bool tensors: PyTorch's kernels have no bool loop)
        kernel = "remainder_cpu" if floor else "fmod_cpu"
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
    if rt.kind in "iu" and not np.all(bd):
        raise RuntimeError("ZeroDivisionError")
    data = _fix_dtype(ufunc(ad, bd), rt)
    if STATE.enabled and recording(input, other):
        if isinstance(other, Tensor):
            return record(nodes[1], data, (input, other), save=(input, other), args=(floor,))
        return record(nodes[0], data, (input,), args=(floor,))
    return wrap(data)


def remainder(input, other):
    """Python's modulus: the result has the sign of the divisor."""
    return _modulus(input, other, np.remainder, True, (RemainderBackward0, RemainderBackward1))


def fmod(input, other):
    """C's fmod: the result has the sign of the dividend."""
    return _modulus(input, other, np.fmod, False, (FmodBackward0, FmodBackward1))


# ---- pow ----
def _pow_scalar_vjp(ctx, g):
    x, = ctx.saved_tensors
    e = ctx.args[0]
    if e == 0:
        return (zeros_of(g),)
    if e == 2:  # NOTE: the most common exponent; one op fewer in the rule
        return (g * (x * 2.0),)
    return (g * (x ** (e - 1) * e),)


def _pow_tensor_vjp(ctx, g):
    from .select import where  # (select imports this module)

    x, y, out = ctx.saved_tensors
    gx = gy = None
    if ctx.next_functions[0][0] is not None:
        gx = where(y == 0, 0.0, g * (y * x ** (y - 1)))
    if ctx.next_functions[1][0] is not None:
        # NOTE: 0 ** y has derivative 0 in y for y >= 0 (PyTorch's choice, avoids 0 * -inf).
        # g multiplies the selected factor, as PyTorch's rule: a NaN g stays NaN there.
        gy = g * where((x == 0) & (y >= 0), 0.0, out * x.log())
    return gx, gy


def _rpow_vjp(ctx, g):
    from .select import where

    x, out = ctx.saved_tensors
    base = ctx.args[0]
    if base == 0:
        # NOTE: as for tensor exponents, 0 ** x has derivative 0 where x >= 0.
        return (g * where(x >= 0, 0.0, out * float("-inf")),)
    return (g * (out * float(np.log(base))),)


def _cube(a):
    out = np.square(a)
    out *= a  # (augmented assignments: a 0-d input squares to a NumPy scalar)
    return out


def _fourth(a):
    # NOTE: PyTorch computes x ** 4 with pow (SLEEF's, within an ulp); (x*x)**2 rounds twice
    # and half its results differ. float32: squaring in float64 (the square is exact) rounds
    # once, 3x the cost of squaring twice and 98% PyTorch's bits. float64: squared twice, as
    # an exact square (long double or a double-double) cost 8-20x for the last bit.
    if a.dtype == np.float32:
        out = a.astype(np.float64)
        np.square(out, out=out)
        np.square(out, out=out)
        return out.astype(np.float32)
    out = np.square(a)
    return np.square(out, out=out) if out.ndim else np.square(out)


def _reciprocal_square(a):
    out = np.square(a)
    return np.reciprocal(out, out=out) if out.ndim else np.reciprocal(out)


def _reciprocal_sqrt(a):
    out = np.sqrt(a)
    return np.reciprocal(out, out=out) if out.ndim else np.reciprocal(out)


# NOTE: PyTorch's CPU kernel for a scalar exponent: x*x for 2, sqrt for 0.5, x*x*x for 3,
# 1/x for -1, 1/(x*x) for -2, 1/sqrt(x) for -0.5 (each bit for bit), pow otherwise. For
# float16/bfloat16 NumPy's pow already rounds a float32 result once, as PyTorch does.
_POWERS = {3: _cube, 4: _fourth, -1: np.reciprocal, -2: _reciprocal_square,
           -0.5: _reciprocal_sqrt}

PowBackward0 = node_class("PowBackward0", _pow_scalar_vjp, elementwise)
PowBackward1 = node_class("PowBackward1", _pow_tensor_vjp, elementwise)
PowBackward2 = node_class("PowBackward2", _rpow_vjp, elementwise)


def pow(input, exponent):  # noqa: A001 - PyTorch's name
    """``input ** exponent`` for tensor or scalar base and exponent."""
    if not isinstance(input, Tensor):
        return _rpow(exponent, input)
    ad, ed, rt = _operands(input, exponent)
    _dt.refuse_unsigned("pow", rt)
    neg = rt.kind in "iu" and np.any(as_array(ed) < 0)
    if neg and not isinstance(exponent, Tensor):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if isinstance(exponent, Tensor):
        data = _fix_dtype(_int_pow_negative(ad, ed, rt) if neg else np.power(ad, ed), rt)
        if STATE.enabled and recording(input, exponent):
            return record(PowBackward1, data, (input, exponent), save=(input, exponent),
                          save_out=True)
        return wrap(data)
    e = _scalar(exponent)
    if e == 2 and rt.kind in "fc":
        data = np.square(ad)
    elif e == 0.5 and rt.kind == "f":
        data = np.sqrt(ad)
    elif rt.kind == "f" and rt.itemsize >= 4 and e in _POWERS:
        data = _POWERS[e](as_array(ad))
    else:
        data = np.power(ad, ed)
    data = _fix_dtype(data, rt)
    if STATE.enabled and recording(input):
        return record(PowBackward0, data, (input,), save=(input,), args=(e,))
    return wrap(data)


def _int_pow_negative(ad, ed, rt):
    """Integer ``ad ** ed`` where some exponents are negative (a tensor exponent: PyTorch
    computes it, a scalar one is an error): those powers truncate toward 0, so they are 1 for a
    base of 1, +-1 for -1 and 0 otherwise."""
    a, e = np.broadcast_arrays(as_array(ad).astype(rt, copy=False),
                               as_array(ed).astype(rt, copy=False))
    data = np.power(a, np.maximum(e, 0))
    tail = np.where(a == 1, 1, np.where(a == -1, np.where(e % 2 == 0, 1, -1), 0))
    return np.where(e < 0, tail, data).astype(rt)


def _rpow(self, base):
    """``base ** self`` for a scalar base."""
    if isinstance(base, np.ndarray):  # (``torch.pow(ndarray, t)``: PyTorch's TypeError)
        raise TypeError("pow(): an ndarray base")
    base = _scalar(base)
    rt = _dt.binary_result_np(self._data, base)
    e = self._data.astype(rt)
    if rt.kind in "iu" and np.any(e < 0):
        # NOTE: integer powers with negative exponents truncate toward 0, as in PyTorch:
        # 0 unless the base is 1 (1) or -1 (+-1).
        data = np.power(np.full_like(e, base, shape=()), np.maximum(e, 0))
        if base == -1:
            tail = np.where(e % 2 == 0, 1, -1)
        else:
            tail = np.full_like(e, 1 if base == 1 else 0)
        data = np.where(e < 0, tail, data).astype(rt)
    else:
        data = _fix_dtype(np.power(np.full_like(e, base, shape=()), e), rt)
    if STATE.enabled and recording(self):
        return record(PowBackward2, data, (self,), save=(self,), args=(base,), save_out=True)
    return wrap(data)


def float_power(input, exponent):
    """``input ** exponent`` computed in float64."""
    x = input.double() if isinstance(input, Tensor) else input
    e = exponent.double() if isinstance(exponent, Tensor) else exponent
    return pow(x, e)


def _float_power_inplace_op(input, exponent):
    """What ``Tensor.float_power_`` computes: only a float64 tensor can hold the result."""
    if input._data.dtype != np.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {input.dtype.scalar_name}"
                           " but the operation's result requires dtype Double")
    return float_power(input, exponent)
