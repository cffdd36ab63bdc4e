"""Python operators on tensors (``+ - * / // % ** @``, comparisons, ``& | ^ ~ << >>``, their
in-place forms, and ``in``).

Contract: an operator with an operand that is not a tensor or a number returns
``NotImplemented``, so Python raises its usual TypeError ("unsupported operand type(s)") or
tries the other operand, as with PyTorch tensors.

NOTE [ndarray operands]: PyTorch's operators refuse an ndarray (their TypeError becomes
``NotImplemented``), except ``==``. What happens next is NumPy's: for ``t + a`` the array's
``__radd__`` runs ``np.add(t, a)`` on ``t.__array__()`` (an error if ``t`` requires grad) and
wraps the result with ``t.__array_wrap__`` (NumPy's dtype promotion, no graph); for ``a + t``
NumPy defers to the higher ``__array_priority__`` and the tensor's reflected operator refuses
too, so Python raises its TypeError; comparisons other than ``==`` raise; ``t != a`` falls
back to identity (True). ember returns ``NotImplemented`` at the same places, so each case
ends as it does with PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import logic, select, unary
from . import pointwise as pw

_OPERANDS = (Tensor, bool, int, float, complex, np.generic)
_COMMON = frozenset((Tensor, float, int))


def _forward(op):
    def dunder(self, other):
        if type(other) in _COMMON:
            return op(self, other)
        if not isinstance(other, _OPERANDS):  # (an ndarray too: NOTE [ndarray operands])
            return NotImplemented
        return op(self, other)
    dunder.__name__ = op.__name__
    return dunder


def _eq(self, other):
    """``==``: the one operator PyTorch computes with an ndarray (NOTE [ndarray operands])."""
    if type(other) in _COMMON:
        return logic.eq(self, other)
    if isinstance(other, np.ndarray):
        other = Tensor._make(other)
    elif not isinstance(other, _OPERANDS):
        return NotImplemented
    return logic.eq(self, other)


def _inplace(method):
    def dunder(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented  # (then ``self + other``: NOTE [ndarray operands])
        return method(self, other)
    dunder.__name__ = method.__name__
    return dunder


def _reflected(op):
    def dunder(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented
        if isinstance(other, Tensor):
            return op(other, self)
        return op(select._scalar_to(other, self), self)
    dunder.__name__ = "r" + op.__name__
    return dunder


def _reflected_number(method):
    def dunder(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented  # (NOTE [ndarray operands])
        return method(self, other)
    dunder.__name__ = method.__name__
    return dunder


def _rtruediv(self, other):
    if not isinstance(other, (*_OPERANDS, np.ndarray)):  # (NOTE [ndarray operands])
        return NotImplemented
    # NOTE: PyTorch computes scalar / x as reciprocal(x) * scalar (MulBackward0 of
    # ReciprocalBackward0); so do we, for the same graph.
    return unary.reciprocal(self) * other


def _rsub(self, other):
    if not isinstance(other, _OPERANDS):
        return NotImplemented
    return pw.rsub(self, other)


def _rmatmul(self, other):
    return NotImplemented  # (an ndarray: NOTE [ndarray operands])


def _pos(self):
    return self


def _invert(self):
    if self._data.dtype.kind not in "iub":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return logic.bitwise_not(self)


def _contains(self, element):
    """``element in self``: whether any element equals it (PyTorch's rule)."""
    if not isinstance(element, (Tensor, bool, int, float, complex, np.generic)):
        raise RuntimeError("Tensor.__contains__ only supports Tensor or scalar, but you passed "
                           f"in a {type(element)}.")
    return bool(logic.eq(self, element).any())


for _name, _op in (("__add__", pw.add), ("__sub__", pw.sub), ("__mul__", pw.mul),
                   ("__truediv__", pw.div), ("__floordiv__", pw.floor_divide),
                   ("__mod__", pw.remainder), ("__pow__", pw.pow), ("__ne__", logic.ne),
                   ("__lt__", logic.lt), ("__le__", logic.le),
                   ("__gt__", logic.gt), ("__ge__", logic.ge), ("__and__", logic.bitwise_and),
                   ("__or__", logic.bitwise_or), ("__xor__", logic.bitwise_xor),
                   ("__radd__", pw.add), ("__rmul__", pw.mul), ("__rand__", logic.bitwise_and),
                   ("__ror__", logic.bitwise_or), ("__rxor__", logic.bitwise_xor),
                   ("__lshift__", logic.bitwise_left_shift),
                   ("__rshift__", logic.bitwise_right_shift)):
    setattr(Tensor, _name, _forward(_op))
for _name, _op in (("__rfloordiv__", pw.floor_divide), ("__rmod__", pw.remainder),
                   ("__rlshift__", logic.bitwise_left_shift),
                   ("__rrshift__", logic.bitwise_right_shift)):
    setattr(Tensor, _name, _reflected(_op))
Tensor.__eq__ = _eq
Tensor.__rpow__ = _reflected_number(Tensor.__rpow__)
Tensor.__rtruediv__ = _rtruediv
Tensor.__rsub__ = _rsub
Tensor.__rmatmul__ = _rmatmul
Tensor.__neg__ = unary.neg
Tensor.__abs__ = unary.abs
Tensor.__invert__ = _invert
Tensor.__pos__ = _pos
Tensor.__contains__ = _contains
for _name, _method in (("__iadd__", Tensor.add_), ("__isub__", Tensor.sub_),
                       ("__imul__", Tensor.mul_), ("__itruediv__", Tensor.div_),
                       ("__ipow__", Tensor.pow_), ("__imod__", Tensor.remainder_),
                       ("__ifloordiv__", Tensor.floor_divide_), ("__iand__", Tensor.bitwise_and_),
                       ("__ior__", Tensor.bitwise_or_), ("__ixor__", Tensor.bitwise_xor_),
                       ("__ilshift__", Tensor.bitwise_left_shift_),
                       ("__irshift__", Tensor.bitwise_right_shift_)):
    setattr(Tensor, _name, _inplace(_method))
