"""The op records' batching rules, and PyTorch's fallback for an op without one.

Contract: ``_record_rule`` is the rule a record declares (a category name from
``_CATEGORIES`` or a rule); ``_bind_records`` (run once, by the first vmap) gives every record
the rule ``_RULES`` keeps under one of its published names and every in-place variant of an
elementwise op the in-place rule, and returns the rule keys that name no publication. ``_loop``
runs an op once per sample on unbatched slices and stacks the results (``_loop_inplace`` writes
into ``self``'s samples); ops whose result shape depends on the values refuse with PyTorch's
messages.
"""

from __future__ import annotations

from ._state import (
    _L,
    _RULES,
    _align,
    _finish,
    _levels,
    _physical,
    _rule_key,
    _tensor_type,
    _tensors,
    _union,
)
from .rules_elementwise import _elementwise, _inplace, _unary

# NOTE [op records] (ember/_records.py): a record declares its batching rule as a generic
# category beside the op (``batch="elementwise"`` from the unary family's factory) or gets the
# rule ``_RULES`` keeps under one of its published names (``_bind_records``, when vmap loads);
# an in-place variant of an elementwise op batches as an in-place op. Factories (``ones``,
# ``new_zeros``) run unbatched: what they make does not vary over the batch.

def _factory(fn, args, kwargs):
    with _physical():
        return fn(*args, **kwargs)


def _sample_args(x, idx):
    Tensor = _tensor_type()
    if isinstance(x, Tensor):
        return x[idx]
    if isinstance(x, (list, tuple)) and any(isinstance(b, Tensor) for b in x):
        return type(x)(_sample_args(b, idx) for b in x)
    return x


def _aligned(x, levels):
    Tensor = _tensor_type()
    if isinstance(x, Tensor):
        return _align(x, levels, expand=True)
    if isinstance(x, (list, tuple)) and any(isinstance(b, Tensor) for b in x):
        return type(x)(_aligned(b, levels) for b in x)
    return x


def _stack_samples(fn, outs, sizes):
    """One result from the per-sample results of ``_loop``: tensors stacked (batch dims in
    front), tuples and named tuples field by field."""
    Tensor = _tensor_type()
    first = outs[0]
    if isinstance(first, Tensor):
        from ..ops.join import stack

        shapes = {o._data.shape for o in outs}
        if len(shapes) > 1:
            raise RuntimeError(
                "vmap: We do not support batching operators that can output dynamic shape. "
                f"Attempted to vmap over aten::{getattr(fn, '__name__', fn)}. Please file an "
                "issue at https://github.com/pytorch/pytorch/issues if you need this feature.")
        return stack(outs).reshape(*sizes, *first._data.shape)
    if isinstance(first, (tuple, list)):
        fields = [_stack_samples(fn, [o[i] for o in outs], sizes) for i in range(len(first))]
        if hasattr(first, "_fields"):
            return type(first)(*fields)
        return type(first)(fields)
    raise ValueError(f"vmap: {getattr(fn, '__name__', fn)} returned a "
                     f"{type(first).__name__}, not a Tensor, for a batched input")


def _loop(fn, args, kwargs):
    """The fallback of an op with no rule of its own (as PyTorch's vmap fallback): the op once
    per sample on unbatched slices, the results stacked. Samples whose results differ in shape
    raise PyTorch's dynamic-shape refusal."""
    import itertools

    levels = _union(_tensors(args, kwargs))
    sizes = [_L.sizes[lv] for lv in levels]
    args = [_aligned(a, levels) for a in args]
    kwargs = {k: _aligned(v, levels) for k, v in kwargs.items()}
    with _physical():
        outs = [fn(*[_sample_args(a, idx) for a in args],
                   **{k: _sample_args(v, idx) for k, v in kwargs.items()})
                for idx in itertools.product(*map(range, sizes))]
        if not outs:
            raise RuntimeError(f"vmap: no batching rule for {getattr(fn, '__name__', fn)} "
                               "over an empty batch")
        result = _stack_samples(fn, outs, sizes)
    return _finish(result, levels)


def _loop_inplace(fn, args, kwargs):
    """The fallback of an in-place op: the op once per sample on views of ``self``'s samples
    (``self`` must vary over every level its operands vary over, PyTorch's in-place rule)."""
    import itertools

    self = args[0]
    own = _levels(self)
    others = _tensors(args[1:], kwargs)
    extra = sorted({lv for t in others for lv in _levels(t)} - set(own))
    if extra:
        return _inplace(fn, args, kwargs)  # (its error: the result cannot be stored in self)
    sizes = [_L.sizes[lv] for lv in own]
    rest = [_aligned(a, own) for a in args[1:]]
    kwargs = {k: _aligned(v, own) for k, v in kwargs.items()}
    with _physical():
        for idx in itertools.product(*map(range, sizes)):
            fn(self[idx], *[_sample_args(a, idx) for a in rest],
               **{k: _sample_args(v, idx) for k, v in kwargs.items()})
    return self


def _refuse(message):
    def rule(fn, args, kwargs):
        raise RuntimeError(message)
    return rule


_DYNAMIC = ("vmap: We do not support batching operators that can output dynamic shape. "
            "Attempted to vmap over aten::{}. Please file an issue at "
            "https://github.com/pytorch/pytorch/issues if you need this feature.")
for _n, _aten in (("nonzero", "nonzero"), ("unique", "_unique2"),
                  ("unique_consecutive", "unique_consecutive")):
    _RULES[_n] = _refuse(_DYNAMIC.format(_aten))
_RULES["equal"] = _refuse("Batching rule not implemented for aten::equal. We could not "
                          "generate a fallback.")
_RULES["allclose"] = _refuse("vmap over torch.allclose isn't supported yet. Please file an "
                             "issue at https://github.com/pytorch/pytorch/issues if you need "
                             "this feature.")


def _masked_select(fn, args, kwargs):
    names = ("input", "mask")
    bound = {**dict(zip(names, args)), **kwargs}
    if _levels(bound.get("mask")):
        raise RuntimeError(
            "vmap: Attempted to vmap over `mask` in torch.masked_select(self, mask) We cannot "
            "support this because for each batch this would return a differently shaped "
            "Tensor. Please file an issue at https://github.com/pytorch/pytorch/issues if you "
            "need this feature.")
    return _loop(fn, args, kwargs)


_RULES["masked_select"] = _masked_select

_CATEGORIES = {"elementwise": _elementwise, "unary": _unary, "inplace": _inplace,
               "factory": _factory, "loop": _loop, "loop_inplace": _loop_inplace}


def _record_rule(rec):
    """The batching rule a record declares (a category or a rule), or None."""
    batch = rec.batch
    if batch is None and rec.kind == "factory":
        batch = "factory"
    if isinstance(batch, str):
        return _CATEGORIES[batch]
    if batch is None and rec.kind == "op":  # (PyTorch's fallback: one sample at a time)
        return _loop_inplace if rec.name.endswith("_") else _loop
    return batch


def _rule_keys(space, attr):
    return _rule_key(space, attr) if space in ("F", "linalg", "special") else attr


def _bind_records():
    """Give every record the rule ``_RULES`` keeps under one of its names, and every in-place
    variant of an elementwise op the in-place rule; returns the rule keys that name no
    publication."""
    from .. import _records

    used = set()
    for space, attr, _, rec in _records.publications():
        key = _rule_keys(space, attr)
        if key in _RULES:
            used.add(key)
            if rec.batch is None:
                rec.batch = _RULES[key]
    elementwise = (_elementwise, _unary)
    for rec in _records.RECORDS.values():
        inplace = rec.inplace
        if inplace is not None and inplace.batch is None and _record_rule(rec) in elementwise:
            inplace.batch = "inplace"
    for space, attr, _, rec in _records.publications():  # (aliases: clip_, arcsin_, fix_...)
        if rec.batch is None and attr.endswith("_") and not attr.startswith("_"):
            base = _records.namespace(space).get(attr[:-1])
            if _RULES.get(_rule_keys(space, attr[:-1])) in elementwise or (
                    base is not None and _record_rule(_records.of(base)) in elementwise):
                rec.batch = "inplace"
    return sorted(set(_RULES) - used)
