"""Binary elementwise arithmetic (add, sub, mul, div, remainder, fmod, pow...), binary float
math (atan2, hypot, copysign, logaddexp/logaddexp2, ldexp, nextafter), the ternary ops (lerp,
addcmul, addcdiv), heaviside, the ``out=`` path, and the operand handling every elementwise op
shares.

Contract: each op computes PyTorch's result dtype (``dtypes.binary_result_np``: Python scalars
are weak), broadcasts like PyTorch (with its error message), and records a node named like
PyTorch's. Gradients of broadcast inputs are summed back to the input's shape by the engine, so
the rules here are written for equal shapes. Rules follow NOTE [rules are ember ops] in
_registry.py; JVPs are elementwise (see _jvp.py). Ops PyTorch cannot differentiate
(floor_divide, heaviside) record its ``NotImplemented`` node, whose backward raises its error.
Unary math is in unary.py, special functions in special.py, selection (clamp, where,
maximum, fmax...) in select.py, comparisons and logic in logic.py.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .._fma import fma32, fused
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._jvp import elementwise
from ._registry import (
    METHODS,
    float_data,
    node_class,
    record,
    recording,
    register,
    view_requires_grad,
    wrap,
    zeros_of,
)
from .inplace import check_overlap, register_arithmetic_inplace, register_inplace

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
    if not isinstance(a, (bool, int, float, complex, np.generic)):
        raise TypeError("the first operand is neither a tensor nor a number")  # (_checks)
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


def write_out(name, op, out, *inputs, **kwargs):
    """``op(*inputs, **kwargs)`` written into ``out`` (PyTorch's ``out=``): no autograd, the
    result cast to ``out``'s dtype when the cast keeps the category, ``out`` resized (with
    PyTorch's warning unless it was empty) when the shapes differ. Returns ``out``."""
    from ..autograd.grad_mode import no_grad

    if STATE.enabled and any(_rg(t) for t in inputs):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    with no_grad():
        result = op(*inputs, **kwargs)
    check_overlap(out, inputs)  # PyTorch's check of each input against out, before resizing
    rd, od = result._data, out._data
    if _dt.from_np(rd.dtype)._category > _dt.from_np(od.dtype)._category:
        raise RuntimeError(f"result type {result.dtype.scalar_name} can't be cast to the desired "
                           f"output type {out.dtype.scalar_name}")
    if rd.shape != od.shape:
        if od.size:
            import warnings

            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(od.shape)}, which does not match the required output shape "
                f"{list(rd.shape)}. This behavior is deprecated, and in a future PyTorch release "
                f"outputs will not be resized unless they have zero elements. You can explicitly "
                f"reuse an out tensor t by resizing it, inplace, to zero elements with "
                f"t.resize_(0).", UserWarning, stacklevel=3)
        out._data = rd.astype(od.dtype)
        if out._vc is not None:
            out._vc[0] += 1
        return out
    out.copy_(result)
    return out


# ==== binary arithmetic ====================================================================

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


def _half_alpha(ad, bd, rt, alpha, sign):
    """``ad + sign * alpha * bd`` for half types, in float32 (NOTE [half scalars])."""
    scale = np.float32(sign * np.asarray(alpha).astype(rt).astype(_F32))
    return (ad.astype(_F32) + np.asarray(bd).astype(_F32) * scale).astype(rt)


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
            data = fma32(np.asarray(bd, _F32), np.float32(alpha), np.asarray(ad, _F32))
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
            data = fma32(np.asarray(bd, _F32), np.float32(-alpha), np.asarray(ad, _F32))
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
    return (g / y if gx else None, -g * x / (y * y) if gy else None)


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
            if isinstance(bd, np.ndarray):
                bd = bd.astype(ft)
            else:
                bd = float(bd)
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


def not_implemented_node(op_name):
    """The node PyTorch records for an op without a derivative
    (``torch::autograd::NotImplemented``): its backward raises PyTorch's error."""
    def rule(ctx, *grads):
        raise RuntimeError(f"derivative for aten::{op_name} is not implemented")
    return node_class("NotImplemented", rule, rule, display_name="torch::autograd::NotImplemented")


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


def _need(ctx, i):
    """Whether input edge ``i`` of ``ctx`` wants a gradient."""
    return len(ctx.next_functions) > i and ctx.next_functions[i][0] is not None


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
    neg = rt.kind in "iu" and np.any(np.asarray(ed) < 0)
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
        data = _POWERS[e](np.asarray(ad))
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
    a, e = np.broadcast_arrays(np.asarray(ad, dtype=rt), np.asarray(ed, dtype=rt))
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
        data = np.power(np.asarray(base, dtype=rt), np.maximum(e, 0))
        if base == -1:
            tail = np.where(e % 2 == 0, 1, -1)
        else:
            tail = np.full(e.shape, 1 if base == 1 else 0)
        data = np.where(e < 0, tail, data).astype(rt)
    else:
        data = _fix_dtype(np.power(np.asarray(base, dtype=rt), e), rt)
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


# ==== binary float math ====================================================================
# NOTE: these ops compute in floating point: integer and bool operands give the default float
# dtype (atan2, copysign) or raise PyTorch's NotImplementedError naming the kernel (hypot,
# logaddexp), as PyTorch does.

def _float_operands(name, input, other, ints=True):
    """``(input, other, a, b, dtype)`` for a float-valued binary op (``ints``: integer
    operands are promoted to the default float dtype instead of raising)."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    if rt.kind in "iub":
        if not ints:
            raise NotImplementedError(
                f"\"{name}_cpu\" not implemented for '{_dt.from_np(rt).scalar_name}'")
        rt = _dt.get_default_dtype().np
        ad = ad.astype(rt)
        bd = bd.astype(rt) if isinstance(bd, np.ndarray) else float(bd)
    return input, other, ad, bd, rt


def require_tensors(name, input, other, other_name="other"):
    """PyTorch's TypeError for ops whose operands must both be tensors (atan2, maximum...)."""
    for arg, pos, label in ((input, 1, "input"), (other, 2, other_name)):
        if not isinstance(arg, Tensor):
            from ._checks import type_name

            raise TypeError(f"{name}(): argument '{label}' (position {pos}) must be Tensor, not "
                            f"{type_name(arg)}")


def _result_np(*tensors):
    """PyTorch's result dtype of an op over several tensors (0-dim ones count less)."""
    dims = [t.dtype for t in tensors if t._data.ndim]
    zeros = [t.dtype for t in tensors if not t._data.ndim]
    return _dt.result_type_of(dims, zeros, []).np


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
    data = _fix_dtype(np.asarray(np.arctan2(ad, bd)), rt)
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
    data = _fix_dtype(np.asarray(np.hypot(ad, bd)), rt)
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
    data = _fix_dtype(np.asarray(np.copysign(ad, bd)), rt)
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
    data = _fix_dtype(np.asarray(np.logaddexp(ad, bd)), rt)
    if STATE.enabled and recording(input, other):
        return record(LogaddexpBackward0, data, (input, other), save=(input, other), args=(1.0,))
    return wrap(data)


def logaddexp2(input, other):
    """``log2(2**input + 2**other)``, computed stably."""
    require_tensors("logaddexp2", input, other)
    input, other, ad, bd, rt = _float_operands("logaddexp2", input, other, ints=False)
    data = _fix_dtype(np.asarray(np.logaddexp2(ad, bd)), rt)
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
    data = _fix_dtype(np.asarray(ad * np.exp2(bd)), rt)
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
    data = _fix_dtype(np.asarray(np.nextafter(ad, bd)), rt)
    if STATE.enabled and recording(input, other):
        return record(NextafterBackward0, data, (input, other))
    return wrap(data)


# ==== ternary: lerp, addcmul, addcdiv ======================================================

def _check_same_dtype(input, other, what):
    if other._data.dtype != input._data.dtype:
        raise RuntimeError(f"expected dtype {input.dtype.scalar_name.lower()} for `{what}` but "
                           f"got dtype {other.dtype.scalar_name.lower()}")


def _broadcast3(*tensors):
    shapes = [t._data.shape for t in tensors if isinstance(t, Tensor)]
    out = shapes[0]
    for s in shapes[1:]:
        check_broadcast(out, s)
        out = np.broadcast_shapes(out, s)
    return out


# ---- lerp ----
def _lerp_vjp(ctx, g):
    if len(ctx.next_functions) == 2:  # a number weight
        w = ctx.args[0]
        return (g * (1 - w) if _need(ctx, 0) else None, g * w if _need(ctx, 1) else None)
    x, end, w = ctx.saved_tensors
    return (g * (1 - w) if _need(ctx, 0) else None, g * w if _need(ctx, 1) else None,
            g * (end - x) if _need(ctx, 2) else None)


LerpBackward0 = node_class("LerpBackward0", _lerp_vjp, elementwise)
LerpBackward1 = node_class("LerpBackward1", _lerp_vjp, elementwise)


def lerp(input, end, weight):
    """``input + weight * (end - input)`` (``weight`` a number or a tensor)."""
    _check_same_dtype(input, end, "end")
    a, b = input._data, end._data
    wt = isinstance(weight, Tensor)
    if wt:
        _check_same_dtype(input, weight, "weight")
        _broadcast3(input, end, weight)
        w = weight._data
    else:
        _broadcast3(input, end)
        w = _scalar(weight)
    dtype = a.dtype
    if dtype.kind not in "fcV":  # ("V": bfloat16)
        kernel = "lerp_kernel_tensor" if wt else "lerp_kernel_scalar"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input.dtype.scalar_name}'")
    if dtype.itemsize == 2:
        # NOTE: float16 and bfloat16 are computed in float32 and rounded once, as PyTorch does
        a, b = a.astype(np.float32), b.astype(np.float32)
        w = w.astype(np.float32) if wt else w
    # NOTE: PyTorch's two-sided form: exact at both ends (w = 0 gives input, w = 1 gives end).
    diff = b - a
    if a.dtype == _F32 and fused():  # NOTE [fused alpha] (half types too, in float32)
        w32 = w if wt else np.float32(w)  # (the node keeps the number, as before)
        data = np.where(np.abs(w32) < 0.5, fma32(w32, diff, a),
                        fma32(w32 - np.float32(1), diff, b))
        data = data.astype(dtype, copy=False)
    else:
        data = np.where(np.abs(w) < 0.5, a + w * diff, b - diff * (1 - w)).astype(dtype,
                                                                                 copy=False)
    if STATE.enabled:
        if wt and recording(input, end, weight):
            return record(LerpBackward1, data, (input, end, weight), save=(input, end, weight))
        if not wt and recording(input, end):
            return record(LerpBackward0, data, (input, end), args=(w,))
    return wrap(data)


# ---- addcmul / addcdiv ----
def _addcmul_vjp(ctx, g):
    t1, t2 = ctx.saved_tensors
    v = ctx.args[0]
    gv = g * v if v != 1 else g
    return (g if _need(ctx, 0) else None, gv * t2 if _need(ctx, 1) else None,
            gv * t1 if _need(ctx, 2) else None)


def _addcdiv_vjp(ctx, g):
    t1, t2 = ctx.saved_tensors
    v = ctx.args[0]
    gv = g * v if v != 1 else g
    return (g if _need(ctx, 0) else None, gv / t2 if _need(ctx, 1) else None,
            -gv * t1 / (t2 * t2) if _need(ctx, 2) else None)


AddcmulBackward0 = node_class("AddcmulBackward0", _addcmul_vjp, elementwise)
AddcdivBackward0 = node_class("AddcdivBackward0", _addcdiv_vjp, elementwise)


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    _broadcast3(input, tensor1, tensor2)
    rt = _result_np(input, tensor1, tensor2)
    # NOTE [half scalars]: half types in float32, rounded once
    wt = _F32 if rt.itemsize == 2 and rt.kind in "fV" else rt
    a, b, c = (t._data.astype(wt, copy=False) for t in (input, tensor1, tensor2))
    if rt.kind in "iu" and isinstance(value, float):
        value = int(value)  # (PyTorch casts the value to the integer type: 0.5 adds nothing)
    if wt == _F32 and fused():  # NOTE [fused alpha]: (value * t1) * t2 + input, one rounding
        data = _fix_dtype(fma32(np.float32(value) * b, c, a), rt)
    else:
        data = _fix_dtype(np.asarray(a + (value if wt is rt else np.float32(value)) * (b * c)),
                          rt)
    if STATE.enabled and recording(input, tensor1, tensor2):
        return record(AddcmulBackward0, data, (input, tensor1, tensor2),  # (as mul's saves)
                      save=(tensor1 if _rg(tensor2) else None,
                            tensor2 if _rg(tensor1) else None), args=(_scalar(value),))
    return wrap(data)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``."""
    if tensor1._data.dtype.kind in "iub" and tensor2._data.dtype.kind in "iub":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
            "for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    _broadcast3(input, tensor1, tensor2)
    rt = _result_np(input, tensor1, tensor2)
    # NOTE [half scalars]: half types in float32, rounded once
    wt = _F32 if rt.itemsize == 2 and rt.kind in "fV" else rt
    a, b, c = (t._data.astype(wt, copy=False) for t in (input, tensor1, tensor2))
    # NOTE: (value * t1) / t2, PyTorch's order (value * (t1 / t2) differed in 11% of results)
    data = _fix_dtype(np.asarray(a + ((value if wt is rt else np.float32(value)) * b) / c), rt)
    if STATE.enabled and recording(input, tensor1, tensor2):
        return record(AddcdivBackward0, data, (input, tensor1, tensor2),  # (as div's saves)
                      save=(tensor1 if _rg(tensor2) else None,
                            tensor2 if _rg(tensor1) or _rg(tensor2) else None),
                      args=(_scalar(value),))
    return wrap(data)


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
    data = np.asarray(data).astype(a.dtype, copy=False)
    if STATE.enabled and recording(input, values):
        return record(HeavisideNotImplemented, data, (input, values))
    return wrap(data)


# ==== registration =========================================================================

for _name in ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
              "floor_divide", "remainder", "fmod", "pow", "float_power", "atan2", "arctan2",
              "hypot", "copysign", "logaddexp", "logaddexp2", "lerp", "addcmul", "addcdiv",
              "heaviside", "ldexp", "nextafter"):
    register(globals()[_name], _name)
register(rsub, "rsub", method=False)
register(_rpow, "__rpow__", function=False)
register_arithmetic_inplace(add, sub, mul, div)
register_inplace(pow, remainder, fmod, floor_divide, atan2, hypot, copysign, lerp, addcmul,
                 addcdiv, heaviside, ldexp, nextafter,
                 aliases=(("arctan2_", atan2), ("float_power_", _float_power_inplace_op)))
# PyTorch also publishes this in-place variant as a function (``torch.ldexp_(x, e)``).
register(METHODS["ldexp_"], "ldexp_", method=False)
