"""Intercepting every published op while a mode is active — the mechanism the profiler,
forward-mode AD and ``vmap`` share (NOTE [zero cost when not profiling] in autograd/profiler.py:
nothing on the op call path checks for a mode).

Contract:
- ``Swaps``: ``set(owner, attr, new)`` replaces an attribute and remembers what was there (a
  class's own entry, or nothing); ``restore()`` puts everything back in reverse order.
- ``intercepting()``: whether any Swaps has replacements in place now.
- ``current(fn)``: an op object handed to a transform, made to reach the active modes.
- ``published_ops(skip)`` lists every place an op is published, as ``(owner, attr, is_class,
  space)``: ``ember.<op>``, Tensor methods, Tensor operators (``OPERATORS``), and the functions
  of ``nn.functional``, ``linalg`` and ``special`` (``space`` is "torch", "Tensor", "F",
  "linalg" or "special").
"""

from __future__ import annotations

from types import FunctionType

__all__ = ["Swaps", "published_ops", "OPERATORS", "original", "intercepting", "current"]

_MISSING = object()
_ACTIVE = [0]  # how many Swaps currently have something replaced


def intercepting() -> bool:
    """Whether some mode has replaced ops now: code with a fused array-level fast path (which
    those modes would not see) takes its plain op path instead."""
    return _ACTIVE[0] > 0

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
        if not self.saved:
            _ACTIVE[0] += 1
        self.saved.append((owner, attr, owner.__dict__.get(attr, _MISSING)))
        setattr(owner, attr, new)

    def restore(self):
        if self.saved:
            _ACTIVE[0] -= 1
        while self.saved:
            owner, attr, old = self.saved.pop()
            if old is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, old)


def _unwrapped(fn):
    """``fn`` without the wrappers of the modes active now (a mode entered inside another one
    still finds ``ember.<op>`` published, as the outer mode's wrapper)."""
    while True:
        inner = getattr(fn, "_vmap_wrapped", None) or getattr(fn, "_dual_wrapped", None)
        if inner is None:
            return fn
        fn = inner


def current(fn):
    """``fn`` as the modes active now see it: when ``fn`` is an op published in the torch, F,
    linalg or special namespace, taken before some of those modes began (``jacfwd(ember.sin)``
    hands the transform the op itself, or an outer mode's wrapper of it, not a name the inner
    swaps reach), a function that calls what is published under its name at each call;
    anything else, ``fn`` itself."""
    name = getattr(fn, "__name__", None)
    if not _ACTIVE[0] or type(fn) is not FunctionType or not name:
        return fn
    import ember
    import ember.nn.functional

    for owner in (ember, ember.nn.functional, ember.linalg, ember.special):
        published = owner.__dict__.get(name)
        if published is not None and published is not fn and \
                _unwrapped(published) is _unwrapped(fn):
            return lambda *args, **kwargs: getattr(owner, name)(*args, **kwargs)
    return fn


def published_ops(skip=()):
    """Every place an op is published, ``(owner, attr, is_class, space)`` (see the module
    docstring); names in ``skip`` are left out."""
    import ember
    import ember.nn.functional

    from .ops._registry import METHODS, OPS
    from .tensor import Tensor

    for name, fn in OPS.items():
        if name not in skip and _unwrapped(getattr(ember, name, None)) is fn:
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
