"""vmap's state, and the tools every batching rule is written with.

Contract: ``_L`` holds the calling thread's vmaps (level stack, batch sizes, the batched-tensor
side table, the bypass count); ``_INSTALLED`` / ``_INSTALL_LOCK`` / ``_SAVED`` are the
process-wide part (how many threads are inside a vmap, the attributes swapped meanwhile). The
side table is read and written with ``_levels`` / ``_mark``; ``_align``, ``_finish``, ``_call``,
``_map_tensors``, ``_physical`` and ``_norm_dim`` are what a rule uses to put batch dims in
front, run the op on physical tensors and mark its results. ``_RULES`` maps a rule key (a
published name, ``"linalg.inv"`` for linalg/special: ``_rule_key``) to its rule; the rules_*
modules fill it as they load, in the order ``ember/_vmap/__init__.py`` imports them (a later
module's rule for a key replaces an earlier one's). A rule refuses a form of its arguments by
raising ``_NoRule`` (the op then runs once per sample); ``_bind`` reads arguments by parameter
name, ``_orig`` finds an unwrapped Tensor method and ``_ops`` the ``ember`` namespace, both
looked up at call time. Every module-level name here is bound once, at import: the other
modules import them and mutate the containers in place.

NOTE [batched tensors]: inside a vmap a batched value is an ordinary ember Tensor (the
"physical" tensor) whose leading dims are the batch dims of the vmap levels it varies over,
outermost level first, recorded in a side table ``id -> (weakref, levels)`` (not a
WeakKeyDictionary: Tensor.__eq__ is elementwise). Its logical shape is the physical shape
without those dims. While any vmap runs, the public ops (``ember.<op>``, Tensor methods and
operators, ``nn.functional``, ``linalg``, ``special``) and the metadata accessors (``shape``,
``size``, ``dim``, ``ndim``, ``numel``, ``len``, ``T``, ``mT``) are swapped for wrappers, as
forward AD does (autograd/forward_ad.py). A wrapper that sees no batched argument runs the op
unchanged; otherwise the op's rule aligns the arguments (batch dims in front, logical dims
padded or dim arguments shifted by the number of batch dims) and calls the original op once
on the physical tensors, then marks its outputs batched. Rules run with the wrappers bypassed,
so an op's own implementation, and the autograd engine (``autograd.grad`` / ``backward`` are
swapped to run bypassed), only ever see physical tensors: the recorded graph is the physical
one and its gradients are the physical (per-sample) gradients. The ops are also swapped in
the modules that define them, because ember's own transforms import them from there
(``from .ops.join import stack`` in ``jacrev``); ``graph_jvp`` is swapped so the forward-mode
transforms (``jvp``, ``jacfwd``, ``hessian``) push batched tangents.
"""

from __future__ import annotations

import itertools
import threading
import weakref


class _PerThread(threading.local):
    """A thread's vmaps: each thread's are its own (as PyTorch's functorch layers), so two
    threads may run vmaps at the same time."""

    def __init__(self):
        self.stack: list = []  # active levels: (level, batch size, randomness), innermost last
        self.sizes: dict = {}  # level -> batch size
        # id(tensor) -> (weakref, levels): the batched tensors (NOTE [batched tensors])
        self.table: dict = {}
        self.bypass = [0]  # > 0 while rules, op internals and the engine run on physical tensors


_L = _PerThread()
_INSTALL_LOCK = threading.Lock()
_INSTALLED = [0]  # how many threads are inside a vmap (the attribute swaps are process-wide)
_MISSING = object()
_MISSING_ATTR = object()
_SAVED: list = []  # (owner, attribute, what was there): the non-op attributes vmap replaces
_next_level = itertools.count()  # (level ids are unique across threads)

# ---- the side table --------------------------------------------------------------------------

def _levels(t) -> tuple:
    entry = _L.table.get(id(t))
    if entry is not None and entry[0]() is t:
        return entry[1]
    return ()


def _mark(t, levels):
    """Record ``t`` as batched at ``levels`` (batch dims already in front, in that order); a
    size-1 batch dim is expanded to the level's size."""
    if not levels:
        return t
    shape = t._data.shape
    sizes = [_L.sizes[lv] for lv in levels]
    if list(shape[:len(levels)]) != sizes:
        _L.bypass[0] += 1
        try:
            t = t.expand(*sizes, *shape[len(levels):])
        finally:
            _L.bypass[0] -= 1
    _L.table[id(t)] = (weakref.ref(t), levels)
    return t


def _tensor_type():
    from ..tensor import Tensor

    return Tensor


def _batched_in(args, kwargs) -> bool:
    Tensor = _tensor_type()
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            if _levels(a):
                return True
        elif isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, Tensor) and _levels(b):
                    return True
    return False


def _tensors(args, kwargs):
    Tensor = _tensor_type()
    out = []
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(b for b in a if isinstance(b, Tensor))
    return out


def _union(tensors) -> tuple:
    return tuple(sorted({lv for t in tensors for lv in _levels(t)}))


class _physical:
    """Run the enclosed code on physical tensors: the wrappers pass everything through."""

    def __enter__(self):
        _L.bypass[0] += 1

    def __exit__(self, *exc):
        _L.bypass[0] -= 1


def _logical_ndim(t) -> int:
    return t._data.ndim - len(_levels(t))


def _align(t, levels, ndim=None, expand=False):
    """The physical tensor of ``t`` with exactly ``levels`` as its front batch dims (size 1,
    or the level's size with ``expand``, where ``t`` is not batched) and its logical dims
    padded at the front to ``ndim``."""
    Tensor = _tensor_type()
    if not isinstance(t, Tensor):
        return t
    own = _levels(t)
    shape = t._data.shape
    logical = shape[len(own):]
    if ndim is None:
        ndim = len(logical)
    batch = [shape[own.index(lv)] if lv in own else 1 for lv in levels]
    target = (*batch, *([1] * (ndim - len(logical))), *logical)
    with _physical():
        out = t if target == shape else t.reshape(target)
        if expand and batch != [_L.sizes[lv] for lv in levels]:
            out = out.expand(*[_L.sizes[lv] for lv in levels], *target[len(levels):])
    return out


def _finish(result, levels):
    """Mark every tensor of ``result`` batched at ``levels``."""
    Tensor = _tensor_type()
    if isinstance(result, Tensor):
        return _mark(result, levels)
    if isinstance(result, tuple):
        vals = [_finish(v, levels) for v in result]
        return type(result)(*vals) if hasattr(result, "_fields") else tuple(vals)
    if isinstance(result, list):
        return [_finish(v, levels) for v in result]
    return result


def _map_tensors(x, fn):
    """``fn`` applied (on physical tensors) to every tensor of an op's result."""
    Tensor = _tensor_type()
    with _physical():
        if isinstance(x, Tensor):
            return fn(x)
        if isinstance(x, (tuple, list)):
            vals = [_map_tensors(v, fn) for v in x]
            return type(x)(*vals) if hasattr(x, "_fields") else type(x)(vals)
    return x


def _call(fn, args, kwargs, levels):
    with _physical():
        out = fn(*args, **kwargs)
    return _finish(out, levels)


def _dim_error(d, n):
    lo, hi = (-n, n - 1) if n > 0 else (-1, 0)
    return IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but "
                      f"got {d})")


def _norm_dim(d, n, k):
    """Logical dim ``d`` of a tensor with ``n`` logical dims, as a physical dim (``k`` batch
    dims in front)."""
    m = max(n, 1)
    if not -m <= d < m:
        raise _dim_error(d, n)
    return d % m + k


# ---- the rule table, rule keys, refusals and argument binding --------------------------------

_RULES: dict = {}  # rule key (a published name; "linalg.inv" for linalg/special) -> rule
_HELPERS: dict = {}  # rules that other rules call (not ops of their own)


def _rule_key(owner_name, name):
    if owner_name in ("linalg", "special") and name not in ("expit",):
        return f"{owner_name}.{name}"
    return name


def _orig(name):
    """The unwrapped Tensor method ``name`` (rules that dispatch to another op)."""
    fn = getattr(_tensor_type(), name)
    return getattr(fn, "_vmap_wrapped", fn)


class _NoRule(RuntimeError):
    """A rule's refusal of one form of its op's arguments: the wrapper then runs the op once
    per sample (``_loop``), as PyTorch's fallback does. Rules raise it before doing any work."""


def _no_rule(fn, what=""):
    return _NoRule(f"vmap: no batching rule for {getattr(fn, '__name__', fn)}{what} yet")


_SIGNATURES: dict = {}


def _bind(fn, args, kwargs, defaults=False):
    """``fn``'s parameters bound to ``args`` / ``kwargs`` (with ``defaults``: every parameter);
    call with ``fn(*b.args, **b.kwargs)`` after changing ``b.arguments``."""
    import inspect

    sig = _SIGNATURES.get(fn)
    if sig is None:
        sig = _SIGNATURES[fn] = inspect.signature(fn)
    bound = sig.bind(*args, **kwargs)
    if defaults:
        bound.apply_defaults()
    return bound


def _ops():
    import ember

    return ember
