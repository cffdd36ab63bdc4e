"""How a running vmap sees every op: the vmap mode, its wrappers and the attribute swaps.

Contract: ``_VmapMode`` (thread-local, entered by a thread's outermost vmap: ``_install``) gives
the published ops vmap-aware wrappers (``_wrap``): an op with no batched argument, or called
while rules run on physical tensors, runs unchanged; otherwise the randomness check, then the
rule kept under its key, else its record's rule, else (or when the rule raises ``_NoRule``) the
per-sample fallback. ``_install_homes`` publishes once, through dispatchers of space
"internal", the names ember's own code imports from the modules that define the ops (found by
their ``__module__``). The first thread into a vmap swaps the non-op attributes (metadata.py's
Tensor accessors and guards, ``T``/``mT``/``mH``/``H``, ``autograd.grad``/``backward``,
``graph_jvp``, ``func._leaf_for``); the last out restores them (``_uninstall``).

NOTE [per-sample gradients]: ``grad(f)(w, x)`` inside ``vmap(..., in_dims=(None, 0))`` must
give one gradient of ``w`` per sample, but a physical graph built from one unbatched ``w``
would sum them. So while a vmap runs, the transforms' leaf maker (``ember.func._leaf_for``) is
swapped too: an input that is not batched at every active level becomes a leaf expanded over
the missing levels (a stride-0 view, no copy), and its gradient is the per-sample one.
"""

from __future__ import annotations

import functools
import sys

from .. import _modes
from ._state import (
    _INSTALL_LOCK,
    _INSTALLED,
    _L,
    _MISSING_ATTR,
    _RULES,
    _SAVED,
    _align,
    _batched_in,
    _levels,
    _logical_ndim,
    _mark,
    _NoRule,
    _physical,
    _rule_key,
    _tensor_type,
)
from .metadata import (
    _GUARDED,
    _data_dependent,
    _data_item,
    _data_prop,
    _guard,
    _meta_dim,
    _meta_iter,
    _meta_len,
    _meta_numel,
    _meta_prop,
    _meta_shape,
    _meta_size,
    _saved_meta,
)
from .rules_elementwise import _INPLACE_NAMES
from .rules_random import _RANDOM, _RANDOM_CREATION, _SAME, _check_random, _random_creation
from .rules_records import _bind_records, _loop, _loop_inplace, _record_rule
from .rules_shape import _H_rule, _mT_rule, _T_rule


def _wrap(fn, key, fallback=None):
    @functools.wraps(fn)
    def vmap_aware(*args, **kwargs):
        if not _L.stack or _L.bypass[0]:
            return fn(*args, **kwargs)
        if key in _RANDOM:
            _check_random(key, args, kwargs, fn)
            if key in _RANDOM_CREATION and _L.stack[-1][2] == "different":
                return _random_creation(fn, key, args, kwargs)
            if key in _SAME and _L.stack[-1][2] == "same" and _batched_in(args, kwargs):
                return _SAME[key](fn, args, kwargs)
        if not _batched_in(args, kwargs):
            with _physical():
                return fn(*args, **kwargs)
        rule = _RULES.get(key) or fallback
        if rule is None:
            raise RuntimeError(f"vmap: no batching rule for {key} yet")
        try:
            return rule(fn, args, kwargs)
        except _NoRule:
            inplace = key in _INPLACE_NAMES or key == "__setitem__" or (
                key.endswith("_") and not key.startswith("_"))
            return (_loop_inplace if inplace else _loop)(fn, args, kwargs)

    vmap_aware._vmap_wrapped = fn
    return vmap_aware


def _leaf_for(x):
    """``ember.func._leaf_for`` while a vmap runs (NOTE [per-sample gradients])."""
    active = tuple(lv for lv, _, _ in _L.stack)
    own = _levels(x)
    if set(own) == set(active) or x._data.dtype.kind not in "fcV":  # ("V": bfloat16)
        return _saved_leaf[0](x)
    with _physical():
        y = _align(x, active, expand=True)
    _mark(y, active)
    if x.requires_grad:
        return y
    with _physical():
        leaf = y.detach().requires_grad_()
    return _mark(leaf, active)


_saved_leaf: list = []


def _engine_wrap(fn, is_grad):
    """``autograd.grad`` / ``backward``: the engine runs on physical tensors; outputs batched
    without a given gradient are seeded with ones over their whole physical shape (their
    samples are independent, so this is every sample's own gradient), and results take the
    batch levels of their inputs."""

    @functools.wraps(fn)
    def engine_call(*args, **kwargs):
        if not _L.stack or _L.bypass[0]:
            return fn(*args, **kwargs)
        Tensor = _tensor_type()
        names = ("outputs", "inputs", "grad_outputs") if is_grad else ("tensors",
                                                                       "grad_tensors")
        bound = dict(zip(names, args))
        bound.update(kwargs)
        first = names[0]
        outs = bound[first]
        outs = (outs,) if isinstance(outs, Tensor) else tuple(outs)
        gos = bound.get(names[2] if len(names) > 2 else "grad_tensors")
        if gos is None:
            gos = (None,) * len(outs)
        elif isinstance(gos, Tensor):
            gos = (gos,)
        from ..creation import ones_like

        new_gos = []
        for o, g in zip(outs, gos):
            if g is None and _levels(o):
                if _meta_numel(o) != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                with _physical():
                    g = ones_like(o)
            elif g is not None:
                g = _align(g, _levels(o), _logical_ndim(o), expand=True) if _levels(g) or \
                    _levels(o) else g
            new_gos.append(g)
        bound[first] = outs
        bound[names[2] if len(names) > 2 else "grad_tensors"] = tuple(new_gos)
        with _physical():
            result = fn(**bound)
        if is_grad:
            ins = bound["inputs"]
            ins = (ins,) if isinstance(ins, Tensor) else tuple(ins)
            return tuple(g if g is None else _mark_grad(g, _levels(x)) for g, x in zip(result, ins))
        return result

    engine_call._vmap_wrapped = fn
    return engine_call


def _mark_grad(g, levels):
    """Mark a gradient batched, and its tangents too (forward-over-reverse inside a vmap: the
    engine ran on physical tensors, so the tangents it gave are physical like the gradient)."""
    _mark(g, levels)
    extra = g._extra
    if extra is not None and extra.tangents:
        for t in extra.tangents.values():
            if not _levels(t):
                _mark(t, levels)
    return g


def _graph_jvp_wrap(fn):
    """``graph_jvp`` (forward mode of the ``ember.func`` transforms) on the physical graph: the
    tangents take their inputs' batch dims, and the results their outputs'."""

    @functools.wraps(fn)
    def graph_jvp(outputs, inputs, tangents, since=None):
        if not _L.stack or _L.bypass[0]:
            return fn(outputs, inputs, tangents, since)
        Tensor = _tensor_type()
        single = isinstance(outputs, Tensor)
        outs = (outputs,) if single else tuple(outputs)
        tangents = [t if t is None or not (_levels(t) or _levels(x)) else
                    _align(t, _levels(x), _logical_ndim(x), expand=True)
                    for x, t in zip(inputs, tangents)]
        with _physical():
            got = fn(outputs, inputs, tangents, since)
        marked = [g if g is None else _mark(g, _levels(o))
                  for g, o in zip((got,) if single else got, outs)]
        return marked[0] if single else type(got)(marked) if isinstance(got, tuple) else marked

    graph_jvp._vmap_wrapped = fn
    return graph_jvp


def _swap(owner, attr, new):
    """Replace a non-op attribute while a vmap runs (``Tensor.shape`` and the like: what a
    batched tensor reports about itself; ops reach vmap through its mode, NOTE [one call path]
    in _modes.py); ``_restore`` puts them back in reverse order."""
    _SAVED.append((owner, attr, owner.__dict__.get(attr, _MISSING_ATTR)))
    setattr(owner, attr, new)


def _restore():
    while _SAVED:
        owner, attr, old = _SAVED.pop()
        if old is _MISSING_ATTR:
            delattr(owner, attr)
        else:
            setattr(owner, attr, old)


_WRAPPERS: dict = {}  # (op implementation, rule key) -> its vmap-aware wrapper


def _wrapped(fn, key, record=None):
    got = _WRAPPERS.get((fn, key))
    if got is None:
        # (the rule kept under the name, else the record's own: NOTE [op records] in
        # rules_records.py)
        fallback = _record_rule(record) if record is not None else None
        got = _WRAPPERS[(fn, key)] = _wrap(fn, key, fallback)
    return got


class _VmapMode(_modes.Mode):
    """Gives the published ops their batching rules while a vmap runs in this thread (NOTE
    [one call path] in ember/_modes.py). The names ember's own code looks up in the modules
    that define the ops (``from .ops.join import stack`` inside a transform) are published
    through dispatchers too, the first time a vmap runs, with space "internal"."""

    thread_local = True

    def wrap(self, key, fn):
        space, name = key.space, key.name
        rec = key.record
        if space == "torch":
            if name in _PASS_THROUGH:
                return fn
            return _wrapped(fn, name, rec)
        if space == "Tensor":
            if name in _DUNDERS or name not in _PASS_THROUGH:
                return _wrapped(fn, name, rec)
            return fn
        if space in ("F", "linalg", "special"):
            return _wrapped(fn, _rule_key(space, name), rec)
        if space == "random":
            return _wrapped(fn, name, rec) if name in _RANDOM else fn
        if space == "internal":
            return _wrapped(fn, name, rec)
        return fn


_MODE = _VmapMode()
_HOMES_DONE = [False]


def _install_homes():
    """Publish, once, the defining modules' names of the published ops through dispatchers
    of space "internal" keyed by the op's rule key (the last publication wins, as ember's
    namespaces are built: torch, Tensor, F/linalg/special)."""
    import ember
    import ember.nn.functional

    from ..tensor import Tensor

    keys = {}  # (home, name) -> (rule key, op record)
    spaces = [(ember, "torch"), (Tensor, "Tensor"), (ember.nn.functional, "F"),
              (ember.linalg, "linalg"), (ember.special, "special")]
    for owner, space in spaces:
        for attr, op in list(vars(owner).items()):
            key = getattr(op, "_dispatch_key", None)
            if key is None or key.space != space:
                continue
            base = op.__wrapped__
            raw = getattr(base, "__wrapped__", base)
            home = sys.modules.get(getattr(raw, "__module__", None) or "")
            fname = getattr(raw, "__name__", None)
            if home is None or home is owner or not fname or \
                    home.__dict__.get(fname) not in (raw, base):
                continue
            rule = _rule_key(space, attr) if space in ("F", "linalg", "special") else attr
            if space != "Tensor" or attr in _DUNDERS or attr not in _PASS_THROUGH:
                keys[(home, fname)] = (rule, key.record)
    for (home, fname), (rule, rec) in keys.items():
        _modes.install(home, fname, _modes.OpKey("internal", rule, rec))
    _bind_records()
    _HOMES_DONE[0] = True


_DUNDERS = ("__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__",
            "__rmul__", "__imul__", "__truediv__", "__rtruediv__", "__itruediv__", "__pow__",
            "__rpow__", "__ipow__", "__matmul__", "__rmatmul__", "__neg__", "__pos__",
            "__abs__", "__getitem__", "__setitem__", "__floordiv__", "__rfloordiv__",
            "__mod__", "__rmod__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
            "__and__", "__or__", "__xor__", "__rand__", "__ror__", "__rxor__", "__invert__",
            "__lshift__", "__rshift__", "__rlshift__", "__rrshift__", "__iand__", "__ior__",
            "__ixor__", "__imod__", "__ifloordiv__", "__ilshift__", "__irshift__",
            # defined on Tensor itself rather than registered as ops
            "detach", "detach_", "divide_", "multiply_", "subtract_", "true_divide_", "cpu",
            "cuda", "type")
_PASS_THROUGH = {"size", "dim", "numel", "ndimension", "nelement", "item", "tolist", "numpy",
                 "data_ptr", "is_floating_point", "is_complex", "element_size", "backward",
                 "register_hook", "retain_grad", "requires_grad_"}


def _install():
    import ember
    import ember.autograd
    import ember.autograd.graph_jvp  # noqa: F401 - the module, for the forward transforms
    import ember.func

    from ..tensor import Tensor

    _modes.enter(_MODE)  # (this thread's: the mode is thread-local)
    with _INSTALL_LOCK:
        _INSTALLED[0] += 1
        if _INSTALLED[0] == 1:
            _install_shared(ember, Tensor)


def _install_shared(ember, Tensor):
    """The process-wide part of entering a vmap, done by the first thread to enter one: the
    non-op attributes a batched tensor answers for itself. Each replacement asks the calling
    thread's own vmaps (``_L``), so a thread outside any vmap sees the plain answer."""
    if not _HOMES_DONE[0]:
        _install_homes()
    _saved_meta["Tensor.__bool__"] = Tensor.__bool__
    _saved_meta["Tensor.item"] = Tensor.item
    _swap(Tensor, "shape", property(_meta_shape))
    _swap(Tensor, "ndim", property(_meta_dim))
    _swap(Tensor, "size", _meta_size)
    _swap(Tensor, "dim", _meta_dim)
    _swap(Tensor, "ndimension", _meta_dim)
    _swap(Tensor, "numel", _meta_numel)
    _swap(Tensor, "nelement", _meta_numel)
    _swap(Tensor, "__len__", _meta_len)
    _swap(Tensor, "__bool__", _data_dependent)
    _swap(Tensor, "item", _data_item)
    for name, message in _GUARDED.items():
        _saved_meta["Tensor." + name] = getattr(Tensor, name)
        _swap(Tensor, name, _guard(name, message))
    _saved_meta["Tensor.__iter__"] = Tensor.__iter__
    _swap(Tensor, "__iter__", _meta_iter)
    _swap(Tensor, "data", _data_prop(Tensor.__dict__["data"]))
    _swap(Tensor, "T", _meta_prop(_T_rule, Tensor.__dict__["T"]))
    _swap(Tensor, "mT", _meta_prop(_mT_rule, Tensor.__dict__["mT"]))
    _swap(Tensor, "mH", _meta_prop(_mT_rule, Tensor.__dict__["mH"]))
    _swap(Tensor, "H", _meta_prop(_H_rule, Tensor.__dict__["H"]))
    _saved_leaf[:] = [ember.func._leaf_for]
    _swap(ember.func, "_leaf_for", _leaf_for)
    _swap(ember.autograd, "grad", _engine_wrap(ember.autograd.grad, True))
    _swap(ember.autograd, "backward", _engine_wrap(ember.autograd.backward, False))
    jvp_module = sys.modules["ember.autograd.graph_jvp"]
    _swap(jvp_module, "graph_jvp", _graph_jvp_wrap(jvp_module.graph_jvp))


def _uninstall():
    _modes.exit(_MODE)
    _L.table.clear()
    with _INSTALL_LOCK:
        _INSTALLED[0] -= 1
        if _INSTALLED[0] == 0:
            _restore()
