"""Where ops are published, and attributes swapped while a mode is active.

Contract:
- ``install_dispatchers(spaces)``: publishes every op of the namespaces ``spaces`` ("torch",
  "Tensor", "linalg", "special", "random", "F") through its dispatcher, once (NOTE [one call
  path] in _modes.py): the modes (vmap, forward AD, the profiler) see every call, whatever
  reference it is made through. ``ember/__init__.py`` and ``nn/functional.py`` call it when
  their namespaces are complete.
- ``Swaps``: ``set(owner, attr, new)`` replaces an attribute that is not an op (vmap's
  ``Tensor.shape``, the profiler's node timing, anomaly mode's counters) and remembers what was
  there; ``restore()`` puts its own entries back.
- ``intercepting()``: whether a mode is active for the calling thread (_modes.intercepting).
- ``published_ops(skip)`` lists every place an op is published, as ``(owner, attr, is_class,
  space)``: ``ember.<op>``, Tensor methods, Tensor operators (``OPERATORS``), and the functions
  of ``nn.functional``, ``linalg`` and ``special`` (``space`` is "torch", "Tensor", "F",
  "linalg" or "special").
"""

from __future__ import annotations

import sys
from types import FunctionType

from . import _modes

__all__ = ["Swaps", "published_ops", "OPERATORS", "original", "intercepting",
           "install_dispatchers", "is_op"]

_MISSING = object()
intercepting = _modes.intercepting

# Tensor operators that run ops (defined on Tensor, not all registered as ops).
OPERATORS = ("__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__",
             "__rmul__", "__imul__", "__truediv__", "__rtruediv__", "__itruediv__",
             "__floordiv__", "__rfloordiv__", "__ifloordiv__", "__mod__", "__rmod__",
             "__imod__", "__pow__", "__rpow__", "__ipow__", "__matmul__", "__rmatmul__",
             "__neg__", "__pos__", "__abs__", "__invert__", "__and__", "__rand__", "__or__",
             "__ror__", "__xor__", "__rxor__", "__eq__", "__ne__", "__lt__", "__le__",
             "__gt__", "__ge__", "__getitem__", "__setitem__")


def original(owner, attr, is_class):
    """The callable published at ``owner.attr`` (a class's own entry), or None."""
    fn = owner.__dict__.get(attr, _MISSING) if is_class else getattr(owner, attr, _MISSING)
    if fn is _MISSING or not callable(fn) or isinstance(fn, type):
        return None
    return fn


class Swaps:
    """Attributes replaced while a mode is active, restored in reverse order on exit."""

    def __init__(self):
        self.saved = []  # (owner, attribute, what was there or _MISSING)

    def set(self, owner, attr, new):
        self.saved.append((owner, attr, owner.__dict__.get(attr, _MISSING)))
        setattr(owner, attr, new)

    def restore(self):
        while self.saved:
            owner, attr, old = self.saved.pop()
            if old is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, old)


# Tensor attributes that run ops without being registered as ops (vmap has rules for them).
_TENSOR_EXTRAS = ("__lshift__", "__rshift__", "__rlshift__", "__rrshift__", "__iand__",
                  "__ior__", "__ixor__", "__imod__", "__ifloordiv__", "__ilshift__",
                  "__irshift__", "detach", "detach_", "divide_", "multiply_", "subtract_",
                  "true_divide_", "cpu", "cuda", "type")


def is_op(space, attr):
    """Whether the dispatcher ``(space, attr)`` stands for an op the profiler and forward AD
    wrap: a registered op (``ember.<op>``, a Tensor method or operator) or a function of
    ``nn.functional``/``linalg``/``special`` (not ``ember.random``'s, nor the "internal" names
    of the defining modules, which only vmap sees)."""
    from .ops._registry import METHODS, OPS

    if space == "torch":
        return attr in OPS
    if space == "Tensor":
        return attr in METHODS or attr in OPERATORS
    return space in ("F", "linalg", "special")


def install_dispatchers(spaces):
    """Publish the ops of ``spaces`` through their dispatchers (see the module docstring)."""
    import ember

    from .ops._registry import METHODS, OPS
    from .tensor import Tensor

    key = _modes.OpKey
    if "torch" in spaces:
        names = [n for n in OPS if ember.__dict__.get(n) is OPS[n]]
        names += [n for n in ("zeros_like", "ones_like", "full_like", "empty_like", "rand",
                              "randn", "randint", "rand_like", "randn_like", "randint_like",
                              "randperm", "normal", "bernoulli", "multinomial", "poisson")
                  if n not in OPS]
        aliases: dict = {}
        for name in names:
            op = _modes.install(ember, name, key("torch", name), aliases=aliases)
            if name in OPS:
                OPS[name] = op
    if "Tensor" in spaces:
        aliases = {}
        for name in dict.fromkeys((*METHODS, *OPERATORS, *_TENSOR_EXTRAS)):
            op = _modes.install(Tensor, name, key("Tensor", name), is_class=True,
                                aliases=aliases)
            if name in METHODS and op is not None:
                METHODS[name] = op
    for space in ("linalg", "special", "random", "F"):
        if space in spaces:
            module = {"linalg": ember.linalg, "special": ember.special,
                      "random": sys.modules["ember.random"]}.get(space)
            if module is None:
                module = sys.modules["ember.nn.functional"]
            aliases = {}
            for name in getattr(module, "__all__", ()):
                if isinstance(module.__dict__.get(name), FunctionType):
                    _modes.install(module, name, key(space, name), aliases=aliases)


def published_ops(skip=()):
    """Every place an op is published, ``(owner, attr, is_class, space)`` (see the module
    docstring); names in ``skip`` are left out."""
    import ember
    import ember.nn.functional

    from .ops._registry import METHODS, OPS
    from .tensor import Tensor

    for name, fn in OPS.items():
        if name not in skip and getattr(ember, name, None) is fn:
            yield ember, name, False, "torch"
    seen = set()
    for name in (*METHODS, *OPERATORS):
        if name not in skip and name not in seen:
            seen.add(name)
            yield Tensor, name, True, "Tensor"
    for module, space in ((ember.nn.functional, "F"), (ember.linalg, "linalg"),
                          (ember.special, "special")):
        for name in getattr(module, "__all__", ()):
            if name not in skip and isinstance(getattr(module, name, None), FunctionType):
                yield module, name, False, space
