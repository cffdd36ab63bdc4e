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

from .. import _records
from ..tensor import Tensor
from . import logic, select, unary
from . import pointwise as pw
from ._registry import METHODS

_OPERANDS = (Tensor, bool, int, float, complex, np.generic)
_COMMON = frozenset((Tensor, float, int))


def _publish(name, fn, op):
    """``Tensor.<name> = fn``, declared as a publication of the op ``op`` (None: a composite
    of other ops, its own record)."""
    setattr(Tensor, name, fn)
    _records.declare(fn, "Tensor", name, op=op, aten=None if op is None else False)


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


# NOTE [op records] (ember/_records.py): each operator is declared as a publication of the op
# it runs (its aten name for the profiler; vmap and forward AD see it through its dispatcher).
for _name, _op, _opname in (
        ("__add__", pw.add, "add"), ("__sub__", pw.sub, "sub"), ("__mul__", pw.mul, "mul"),
        ("__truediv__", pw.div, "div"), ("__floordiv__", pw.floor_divide, "floor_divide"),
        ("__mod__", pw.remainder, "remainder"), ("__pow__", pw.pow, "pow"),
        ("__ne__", logic.ne, "ne"), ("__lt__", logic.lt, "lt"), ("__le__", logic.le, "le"),
        ("__gt__", logic.gt, "gt"), ("__ge__", logic.ge, "ge"),
        ("__and__", logic.bitwise_and, "bitwise_and"),
        ("__or__", logic.bitwise_or, "bitwise_or"),
        ("__xor__", logic.bitwise_xor, "bitwise_xor"), ("__radd__", pw.add, "add"),
        ("__rmul__", pw.mul, "mul"), ("__rand__", logic.bitwise_and, "bitwise_and"),
        ("__ror__", logic.bitwise_or, "bitwise_or"),
        ("__rxor__", logic.bitwise_xor, "bitwise_xor"),
        ("__lshift__", logic.bitwise_left_shift, "bitwise_left_shift"),
        ("__rshift__", logic.bitwise_right_shift, "bitwise_right_shift")):
    _publish(_name, _forward(_op), _opname)
for _name, _op, _opname in (
        ("__rfloordiv__", pw.floor_divide, "floor_divide"),
        ("__rmod__", pw.remainder, "remainder"),
        ("__rlshift__", logic.bitwise_left_shift, "bitwise_left_shift"),
        ("__rrshift__", logic.bitwise_right_shift, "bitwise_right_shift")):
    _publish(_name, _reflected(_op), _opname)
_publish("__eq__", _eq, "eq")
_publish("__rpow__", _reflected_number(Tensor.__rpow__), "pow")
_publish("__rtruediv__", _rtruediv, None)  # (reciprocal then mul: the profiler records those)
_publish("__rsub__", _rsub, "rsub")
_publish("__rmatmul__", _rmatmul, "matmul")
_publish("__neg__", unary.neg, "neg")
_publish("__abs__", unary.abs, "abs")
_publish("__invert__", _invert, "bitwise_not")
_publish("__pos__", _pos, None)
Tensor.__contains__ = _contains  # (not an op: ``bool(eq(...).any())``)
for _name, _method in (("__iadd__", "add_"), ("__isub__", "sub_"), ("__imul__", "mul_"),
                       ("__itruediv__", "div_"), ("__ipow__", "pow_"),
                       ("__imod__", "remainder_"), ("__ifloordiv__", "floor_divide_"),
                       ("__iand__", "bitwise_and_"), ("__ior__", "bitwise_or_"),
                       ("__ixor__", "bitwise_xor_"), ("__ilshift__", "bitwise_left_shift_"),
                       ("__irshift__", "bitwise_right_shift_")):
    _publish(_name, _inplace(METHODS[_method]), _method)
# Tensor's own methods that move or relabel data (tensor.py): not ops for the profiler or
# forward AD, but batched tensors must go through vmap for them
for _name in ("detach", "detach_", "cpu", "cuda", "type"):
    _records.declare(Tensor.__dict__[_name], "Tensor", _name, aten=None, kind="method")
