"""The op records: one per public op, the single source of where and how each op is published.

Contract:
- ``OpRecord``: one public op. ``name`` (its ``ember.<name>`` / ``Tensor.<name>`` name, or
  ``linalg_<name>``, ``special_<name>``, ``F.<name>`` for ops published only there), ``fn``
  (the implementation), ``family`` (the ``ember.ops`` module that declares it), ``aten`` (the
  name the profiler records, ``aten::<aten>``; None for a composite that only calls other ops,
  which the profiler then records instead), ``publications`` (every ``(space, attribute)``
  the op is published under, each with its own callable: ``("Tensor", "__add__")`` is
  ``add``'s operator), ``inplace`` (the record of its in-place variant, ``add_`` for ``add``),
  ``batch`` (its batching rule: a generic category such as ``"elementwise"`` declared with the
  op, or vmap's rule bound to the record when vmap loads), ``kernel`` (for the ops whose array
  work is one backend call: ``kernel(xp)`` gives the array function of the array namespace
  ``xp``, so a device backend is a new namespace, not a new kernel; see ember/backend.py),
  ``nodes`` (the node classes that hold its backward and forward-mode rules) and ``saves``
  (what its backward reads: ``"x"``, ``"out"``, ``"x,out"``...). ``kind`` is "op", or
  "method" for Tensor's own methods that move or relabel data without computing (``detach``,
  ``cpu``, ``type``), "factory" for the creation and random functions (``ones``, ``rand``):
  vmap sees them, forward AD and the profiler leave them alone.
- ``declare(fn, space, attr, ...)``: publishes ``fn`` as ``attr`` of the namespace ``space``
  ("torch", "Tensor", "F", "linalg", "special", "random") and returns its record. A callable
  declared a second time (``linalg.matmul`` is ``ember.matmul``), or declared with ``op=``
  naming an existing record (``Tensor.__add__`` with ``op="add"``), joins that record. Every
  published op is declared beside its definition (``register`` in ops/_registry.py, each
  family's ``FUNCTIONAL`` list, ``publish_module`` for linalg/special/creation/random, the
  operators in ops/operators.py).
- ``namespace(space)``: ``{attribute: callable}`` of the space, in declaration order: what
  ``ember``, ``Tensor``, ``nn.functional``, ``linalg`` and ``special`` publish, what the
  dispatchers are installed for (``install(space, owner)``), what docs/ops.md and the ``.pyi``
  stubs are generated from.
- ``of(callable)``: the record of a published callable (its dispatcher or implementation).

NOTE [op records]: before the records, where an op was published was spelled in several lists
that drifted (three dunder lists of 41, 37 and 59 names; the profiler's aten names; vmap's name
lists). Now one declaration per publication feeds all of them, and ``tests/test_records.py``
checks that every public callable of every namespace is a record's publication.
"""

from __future__ import annotations

__all__ = ["OpRecord", "RECORDS", "declare", "namespace", "of", "install", "SPACES",
           "publications", "aten", "rebind"]

SPACES = ("torch", "Tensor", "F", "linalg", "special", "random")
# PyTorch's aten names carry the namespace of linalg and special ops (aten::linalg_inv)
_ATEN_PREFIX = {"torch": "", "Tensor": "", "F": "", "random": "", "linalg": "linalg_",
                "special": "special_"}

RECORDS: dict[str, OpRecord] = {}  # record name -> record, in declaration order
_BY_FN: dict[int, OpRecord] = {}  # id(callable) -> record (callables are kept alive by it)
_SPACES: dict[str, dict] = {s: {} for s in SPACES}  # space -> {attr: (callable, record, aten)}


class OpRecord:
    """One public op (see the module docstring)."""

    __slots__ = ("name", "fn", "family", "aten", "publications", "inplace", "batch", "kernel",
                 "nodes", "saves", "kind", "_fns")

    def __init__(self, name, fn, family, aten):
        self.name = name
        self.fn = fn
        self.family = family
        self.aten = aten
        self.publications: list = []  # (space, attribute)
        self.inplace = None
        self.batch = None
        self.kernel = None
        self.nodes: tuple = ()
        self.saves = None
        self.kind = "op"
        self._fns: list = []  # the callables that stand for it (kept alive: _BY_FN has ids)

    def __repr__(self):
        spaces = ", ".join(f"{s}.{a}" for s, a in self.publications)
        return f"OpRecord({self.name!r}: {spaces})"


def _family(fn):
    raw = fn.fget if isinstance(fn, property) else fn
    while hasattr(raw, "__wrapped__"):
        raw = raw.__wrapped__
    return getattr(raw, "__module__", None)


def _lookup(fn):
    rec = _BY_FN.get(id(fn))
    if rec is None and getattr(fn, "_op", None) is not None:
        rec = _BY_FN.get(id(fn._op))
    return rec


def _keep(rec, fn):
    for f in (fn, getattr(fn, "_op", None)):
        if f is not None and id(f) not in _BY_FN:
            _BY_FN[id(f)] = rec
            rec._fns.append(f)


def declare(fn, space, attr, *, op=None, aten=False, batch=None, kernel=None, nodes=(),
            saves=None, kind=None):
    """Publish ``fn`` as ``space.attr`` and return the op's record (see the module docstring).
    ``op`` names the record this publication belongs to when ``fn`` is an alias made for it (an
    operator); ``aten`` is the name the profiler records for this publication (default: the
    attribute with its namespace's prefix, ``linalg_inv``; an operator's is its op's), None for a
    composite that only calls other ops (the profiler records those instead)."""
    if space not in _SPACES:
        raise ValueError(f"unknown op namespace {space!r}")
    rec = RECORDS.get(op) if op is not None else _lookup(fn)
    prev = _SPACES[space].get(attr)
    if prev is not None and prev[1] is not rec:  # published again, as another op: it moves
        old = prev[1]
        old.publications.remove((space, attr))
        if not old.publications:
            del RECORDS[old.name]
    dunder = attr.startswith("__")
    if aten is False:
        aten = rec.aten if dunder and rec is not None else (
            None if dunder else _ATEN_PREFIX[space] + attr)
    if rec is None:
        if op is not None:
            name = op
        elif space in ("torch", "Tensor", "random"):
            name = attr
        else:
            name = (f"F.{attr}" if space == "F" else _ATEN_PREFIX[space] + attr)
        while name in RECORDS:  # (another op of that name: a Tensor-only method)
            name = f"{space}.{name}"
        rec = RECORDS[name] = OpRecord(name, fn, _family(fn), aten)
        base = RECORDS.get(name[:-1]) if name.endswith("_") else None
        if base is not None:
            base.inplace = rec
    _keep(rec, fn)
    if (space, attr) not in rec.publications:
        rec.publications.append((space, attr))
    _SPACES[space][attr] = (fn, rec, aten)
    if batch is not None:
        rec.batch = batch
    if kernel is not None:
        rec.kernel = kernel
    if nodes:
        rec.nodes = tuple(nodes)
    if saves is not None:
        rec.saves = saves
    if kind is not None:
        rec.kind = kind
    return rec


def aten(space, attr):
    """The name the profiler records for ``space.attr`` (None: it records the ops it calls)."""
    entry = _SPACES.get(space, {}).get(attr)
    return None if entry is None else entry[2]


def rebind(space, attr, fn):
    """Record that ``space.attr`` is now published as ``fn`` (its dispatcher), which belongs
    to the same record."""
    _, rec, name = _SPACES[space][attr]
    _SPACES[space][attr] = (fn, rec, name)
    _keep(rec, fn)


def namespace(space) -> dict:
    """``{attribute: callable}`` published in ``space``, in declaration order."""
    return {attr: entry[0] for attr, entry in _SPACES[space].items()}


def publications(space=None):
    """``(space, attribute, callable, record)`` for every publication (of one space)."""
    for s in (SPACES if space is None else (space,)):
        for attr, (fn, rec, _) in _SPACES[s].items():
            yield s, attr, fn, rec


def of(fn):
    """The record of a published callable (dispatcher, checked wrapper or implementation), or
    None."""
    rec = _lookup(fn)
    while rec is None and fn is not None:
        fn = getattr(fn, "__wrapped__", None)
        rec = _lookup(fn) if fn is not None else None
    return rec


def install(space, owner, is_class=False):
    """Publish every op of ``space`` on ``owner`` (the module or class that is the namespace)
    through its dispatcher (NOTE [one call path] in _modes.py), once."""
    from . import _modes

    aliases: dict = {}
    for attr, (fn, rec, _) in list(_SPACES[space].items()):
        current = owner.__dict__.get(attr) if is_class else getattr(owner, attr, None)
        if getattr(current, "_dispatch_key", None) is not None:
            continue
        if current is not fn:  # (the namespaces come from the records)
            setattr(owner, attr, fn)
        op = _modes.install(owner, attr, _modes.OpKey(space, attr, rec), is_class=is_class,
                            aliases=aliases)
        if op is not None and op is not fn:
            rebind(space, attr, op)
