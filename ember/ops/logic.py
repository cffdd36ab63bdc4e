"""Comparisons, bitwise, shift and logical ops (and their in-place variants), isnan/isinf/
isfinite/isposinf/isneginf/isreal/signbit, isclose/allclose/equal: never differentiable,
results are bool (bitwise ops keep the integer dtype; in-place variants keep self's dtype).

Contract: PyTorch's promotion for the compared operands and its errors (bitwise ops on floats
raise NotImplementedError naming the kernel).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, as_array
from ._registry import register, wrap
from .inplace import register_inplace
from .pointwise import _operands, _tensor_first, check_broadcast, require_tensors


def _compare(ufunc, name, ordered=False):
    def op(input, other):
        input, other = _tensor_first(input, other)
        ad, bd, rt = _operands(input, other)
        if ordered and rt.kind == "u" and rt.itemsize > 1:
            _dt.refuse_unsigned(f"{name}_cpu", rt)  # NOTE [limited unsigned types]
        return wrap(ufunc(ad, bd))  # (wrap makes a NumPy scalar an array; keeps meta, device)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` comparison; a bool tensor."
    return op


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt", True)
le = _compare(np.less_equal, "le", True)
gt = _compare(np.greater, "gt", True)
ge = _compare(np.greater_equal, "ge", True)
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def _bitwise(ufunc, name, logical_ufunc=None):
    def op(input, other):
        input, other = _tensor_first(input, other)
        ad, bd, rt = _operands(input, other)
        if rt.kind not in "iub":
            raise NotImplementedError(f'"{name}_cpu" not implemented for '
                               f"'{_dt.from_np(rt).scalar_name}'")
        return wrap(ufunc(ad, bd))
    op.__name__ = op.__qualname__ = name
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def _shift(ufunc, name, kernel):
    def op(input, other):
        input, other = _tensor_first(input, other)
        ad, bd, rt = _operands(input, other)
        # (nor for uint16/32/64: NOTE [limited unsigned types] in dtypes.py)
        if rt.kind not in "iu" or rt.kind == "u" and rt.itemsize > 1:
            raise NotImplementedError(f'"{kernel}" not implemented for '
                                      f"'{_dt.from_np(rt).scalar_name}'")
        # NOTE: shifting by the bit width or more gives 0 (-1 for a negative value shifted
        # right), as PyTorch; NumPy leaves that undefined.
        bits = rt.itemsize * 8
        # (a scalar shift as a 0-d array on the operand's device)
        b = bd if isinstance(bd, type(ad)) else np.full_like(ad, bd, shape=())
        big = (b >= bits) | (b < 0)
        data = ufunc(ad, np.where(big, 0, b).astype(rt))
        if big.any():
            fill = np.where(ad < 0, -1, 0) if name == "bitwise_right_shift" else 0
            data = np.where(big, fill, data)
        return wrap(as_array(data).astype(rt, copy=False))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of integer tensors."
    return op


bitwise_left_shift = _shift(np.left_shift, "bitwise_left_shift", "lshift_cpu")
bitwise_right_shift = _shift(np.right_shift, "bitwise_right_shift", "rshift_cpu")


def bitwise_not(input):
    dt = input._data.dtype
    # (nor for uint16/32/64: NOTE [limited unsigned types] in dtypes.py)
    if dt.kind not in "iub" or dt.kind == "u" and dt.itemsize > 1:
        raise NotImplementedError(
            f"\"bitwise_not_cpu\" not implemented for '{input.dtype.scalar_name}'")
    return wrap(np.invert(input._data))


def _logical(ufunc, name):
    def op(input, other):
        require_tensors(name, input, other)
        other_d = other._data if isinstance(other, Tensor) else other
        if isinstance(other, Tensor) and input._data.shape != other_d.shape:
            check_broadcast(input._data.shape, other_d.shape)  # PyTorch's message
        return wrap(ufunc(input._data, other_d))
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


def isposinf(input):
    """True where ``input`` is +inf."""
    a = input._data
    if a.dtype.kind in "fcV":
        return wrap(np.isposinf(a))
    return wrap(np.zeros_like(a, dtype=bool, order="C"))


def isneginf(input):
    """True where ``input`` is -inf."""
    a = input._data
    if a.dtype.kind in "fcV":
        return wrap(np.isneginf(a))
    return wrap(np.zeros_like(a, dtype=bool, order="C"))


def isreal(input):
    """True where ``input`` has no imaginary part (everywhere for real dtypes)."""
    a = input._data
    return wrap(a.imag == 0 if a.dtype.kind == "c" else np.ones_like(a, dtype=bool, order="C"))


def real(input):
    """``input.real``: ``input`` itself for a real dtype."""
    if not isinstance(input, Tensor):
        raise TypeError  # (a float has .real too) checked() names the argument
    return input.real


def imag(input):
    """``input.imag``: an error for a real dtype, as PyTorch."""
    if not isinstance(input, Tensor):
        raise TypeError
    return input.imag


def signbit(input):
    """True where the sign bit is set (-0.0 included)."""
    a = input._data
    if a.dtype.kind == "c":
        raise RuntimeError("signbit is not implemented for complex tensors.")
    return wrap(np.signbit(a))


def _check_close(input, other, rtol, atol):
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"{input.dtype.scalar_name} did not match {other.dtype.scalar_name}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol:g}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol:g}")
    if input._data.shape != other._data.shape:
        check_broadcast(input._data.shape, other._data.shape)  # PyTorch's message


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|input - other| <= atol + rtol * |other|`` elementwise (same dtypes required)."""
    require_tensors("isclose", input, other)
    _check_close(input, other, rtol, atol)
    return wrap(np.isclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether ``isclose`` holds everywhere."""
    require_tensors("allclose", input, other)
    _check_close(input, other, rtol, atol)
    return bool(np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other) -> bool:
    """True if both tensors have the same shape and elements."""
    require_tensors("equal", input, other)
    return input._data.shape == other._data.shape and bool(np.all(input._data == other._data))



# ==== registration =========================================================================

for _name in ("eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less", "less_equal", "greater",
              "greater_equal", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
              "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf",
              "isfinite", "isclose", "allclose", "equal", "isposinf", "isneginf", "isreal",
              "signbit", "bitwise_left_shift", "bitwise_right_shift"):
    register(globals()[_name], _name)
register(real, method=False)  # (Tensor.real and .imag are properties)
register(imag, method=False)
register_inplace(eq, ne, lt, le, gt, ge, bitwise_and, bitwise_or, bitwise_xor, bitwise_not,
                 logical_and, logical_or, logical_xor, logical_not, bitwise_left_shift,
                 bitwise_right_shift,
                 aliases=(("not_equal_", ne), ("less_", lt), ("less_equal_", le),
                          ("greater_", gt), ("greater_equal_", ge)))
