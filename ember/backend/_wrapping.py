"""What array types that wrap a NumPy array share (the device checker's ``CheckedArray``, the
compiler's ``Traced``): the layout attributes read from the wrapped array, and Python's
operators as NumPy's ufuncs, so NumPy hands each one back to the type's own protocol.

Contract: ``install(cls, inplace=None)`` gives ``cls`` (whose instances keep their array in
``_a``) the read-only attributes ``shape``, ``dtype``, ``ndim``, ``size``, ``itemsize``,
``nbytes``; the binary operators and their reflections, the comparisons and the unary
operators as ufunc calls; and, with ``inplace(ufunc, operator)`` given, the in-place
operators it makes.
"""

from __future__ import annotations

import operator

import numpy as np

__all__ = ["install"]

BINARY = (("add", np.add, operator.add), ("sub", np.subtract, operator.sub),
          ("mul", np.multiply, operator.mul), ("truediv", np.true_divide, operator.truediv),
          ("floordiv", np.floor_divide, operator.floordiv), ("mod", np.remainder, operator.mod),
          ("pow", np.power, operator.pow), ("matmul", np.matmul, None),
          ("and", np.bitwise_and, operator.and_), ("or", np.bitwise_or, operator.or_),
          ("xor", np.bitwise_xor, operator.xor), ("lshift", np.left_shift, operator.lshift),
          ("rshift", np.right_shift, operator.rshift), ("divmod", np.divmod, None))
COMPARE = (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
           ("gt", np.greater), ("ge", np.greater_equal))
UNARY = (("neg", np.negative), ("pos", np.positive), ("abs", np.absolute),
         ("invert", np.invert))


def _binary(ufunc):
    def forward(self, other):
        return ufunc(self, other)

    def reflected(self, other):
        return ufunc(other, self)
    return forward, reflected


def _layout(name):
    return property(lambda self: getattr(self._a, name))


def install(cls, inplace=None):
    for name in ("shape", "dtype", "ndim", "size", "itemsize", "nbytes"):
        if name not in cls.__dict__:
            setattr(cls, name, _layout(name))
    for name, uf, op in BINARY:
        forward, reflected = _binary(uf)
        setattr(cls, f"__{name}__", forward)
        setattr(cls, f"__r{name}__", reflected)
        if inplace is not None and op is not None:
            setattr(cls, f"__i{name}__", inplace(uf, op))
    for name, uf in COMPARE:
        setattr(cls, f"__{name}__", _binary(uf)[0])
    for name, uf in UNARY:
        setattr(cls, f"__{name}__", lambda self, _uf=uf: _uf(self))
