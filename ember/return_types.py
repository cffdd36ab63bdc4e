"""The named-tuple result types of ops that return several tensors (``torch.return_types``).

Contract:
- ``make(name, fields)`` creates the type ``ember.return_types.<name>`` once (a second call
  with the same name returns the same class) and publishes it here, so ``import
  torch.return_types`` under ``ember run`` gives this module and results pickle by reference.
- Each type is a ``tuple`` subclass with a property per field, printing as PyTorch's
  ``torch.return_types.max(\\nvalues=...,\\nindices=...)``. Built as PyTorch's structseq types
  are: ``max((values, indices))`` from one sequence of exactly ``len(fields)`` items; ember's
  ops build them with the tensors as separate arguments (``max(values, indices)``).
- Each type is a pytree node (``ember._pytree``) as PyTorch's are: flattened to its items,
  rebuilt with ``cls(values)``.
- Pickled as PyTorch pickles them, ``(cls, (tuple(self), {}))``, so pickles travel both ways.
"""

from __future__ import annotations

from . import _pytree
from .tensor import Tensor

__all__: list[str] = []


def _new(cls, *args):
    n = len(cls._fields)
    if len(args) == n > 1 and any(isinstance(a, Tensor) for a in args):
        return tuple.__new__(cls, args)  # (ember's ops: one argument per field)
    if not args:
        raise TypeError("structseq() missing required argument 'sequence' (pos 1)")
    if len(args) > 2:
        raise TypeError(f"structseq() takes at most 2 arguments ({len(args)} given)")
    if len(args) == 2 and not isinstance(args[1], dict):
        raise TypeError(f"torch.return_types.{cls.__name__}() takes a dict as second arg, if any")
    try:
        items = tuple(args[0])
    except TypeError:
        raise TypeError("constructor requires a sequence") from None
    if len(items) != n:
        raise TypeError(f"torch.return_types.{cls.__name__}() takes a {n}-sequence "
                        f"({len(items)}-sequence given)")
    return tuple.__new__(cls, items)


def make(name: str, fields=("values", "indices")) -> type:
    """The result type ``name`` with ``fields`` (created on first use)."""
    fields = tuple(fields)
    existing = globals().get(name)
    if isinstance(existing, type) and getattr(existing, "_fields", None) == fields:
        return existing

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"

    def __reduce__(self):
        return (type(self), (tuple(self), {}))

    ns = {f: property(lambda self, i=i: self[i]) for i, f in enumerate(fields)}
    ns.update({"__slots__": (), "_fields": fields, "n_fields": len(fields),
               "n_sequence_fields": len(fields), "n_unnamed_fields": 0,
               "__repr__": __repr__, "__new__": _new, "__reduce__": __reduce__})
    cls = type(name, (tuple,), ns)
    cls.__module__ = __name__
    # a pytree node, as PyTorch registers its structseq result types: spec type ``cls``, no
    # context, rebuilt from one sequence
    _pytree._private_register_pytree_node(cls, _pytree._seq_flatten,
                                          lambda values, _: cls(values))
    globals()[name] = cls
    __all__.append(name)
    return cls
