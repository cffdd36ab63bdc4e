"""Batching rules of the shape ops.

Contract: view/reshape, expand, permute, transpose/movedim, squeeze, t, flatten, getitem and
setitem with basic indexing or unbatched index tensors (a batched integer index as the only
index), flip, roll, repeat/tile, einsum, split/chunk, cosine_similarity and the ``*_as`` forms
keep the batch dims in front, untouched, and give the logical sizes and dims after them.
``_T_rule`` / ``_mT_rule`` / ``_H_rule`` answer the Tensor properties ``T``, ``mT``/``mH`` and
``H`` of a batched tensor (wrappers.py installs them). A batched boolean mask is refused with
PyTorch's message.
"""

from __future__ import annotations

from ._state import (
    _L,
    _MISSING,
    _RULES,
    _align,
    _call,
    _finish,
    _levels,
    _logical_ndim,
    _mark,
    _norm_dim,
    _NoRule,
    _orig,
    _physical,
    _tensor_type,
    _tensors,
    _union,
)
from .rules_dims import _dim_arg, _dims_rule, _set_arg
from .rules_elementwise import _inplace


def _sizes_arg(args):
    """The sizes after ``self``, given as varargs or as one tuple/list/Size."""
    rest = args[1:]
    if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
        return tuple(rest[0])
    return tuple(rest)


def _view_rule(fn, args, kwargs):
    self = args[0]
    levels = _levels(self)
    if "shape" in kwargs or "size" in kwargs:
        shape = tuple(kwargs.get("shape", kwargs.get("size")))
    else:
        shape = _sizes_arg(args)
    if shape and not isinstance(shape[0], int):  # view(dtype)
        raise _NoRule(f"vmap: no batching rule for {fn.__name__} with a dtype yet")
    batch = self._data.shape[:len(levels)]
    try:
        return _call(fn, (self, (*batch, *shape)), {}, levels)
    except RuntimeError:
        if fn.__name__ != "view":
            raise
        # the batch dim moved to the front may leave the physical tensor non-contiguous where
        # the logical one is viewable: copy instead
        return _call(_orig("reshape"), (self, (*batch, *shape)), {}, levels)


def _expand_rule(fn, args, kwargs):
    self = args[0]
    levels = _levels(self)
    sizes = kwargs.get("size") or _sizes_arg(args)
    x = _align(self, levels, len(sizes))
    batch = x._data.shape[:len(levels)]
    return _call(fn, (x, (*batch, *sizes)), {}, levels)


def _permute_rule(fn, args, kwargs):
    self = args[0]
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    dims = kwargs.get("dims") or _sizes_arg(args)
    return _call(fn, (self, (*range(k), *(_norm_dim(d, n, k) for d in dims))), {}, levels)


def _two_dims_rule(fn, args, kwargs):
    """``transpose(d0, d1)`` / ``swapaxes`` / ``movedim(src, dst)`` with ints or tuples."""
    self = args[0]
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    vals = list(args[1:]) + list(kwargs.values())

    def shift(d):
        if isinstance(d, (tuple, list)):
            return tuple(_norm_dim(x, n, k) for x in d)
        return _norm_dim(d, n, k)

    return _call(fn, (self, *(shift(v) for v in vals)), {}, levels)


def _squeeze_rule(fn, args, kwargs):
    self = args[0]
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    d, _ = _dim_arg(args, kwargs, 1)
    if d is _MISSING or d is None:
        d = tuple(i for i in range(n) if self._data.shape[k + i] == 1)
        if not d:
            return _call(lambda x: x.view_as(x), (self,), {}, levels)
    if isinstance(d, (tuple, list)):
        d = tuple(_norm_dim(x, n, k) for x in d)
    else:
        d = _norm_dim(d, n, k)
    return _call(fn, (self, d), {}, levels)


def _t_rule(fn, args, kwargs):
    self = args[0]
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    if n < 2:
        return _call(lambda x: x.view_as(x), (self,), {}, levels)
    return _call(lambda x: x.transpose(k, k + 1), (self,), {}, levels)


def _mT_rule(self):  # noqa: N802 - the property's name
    levels = _levels(self)
    n = _logical_ndim(self)
    if n < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {n}-D tensor.")
    return _call(lambda x: x.transpose(-2, -1), (self,), {}, levels)


def _H_rule(self):  # noqa: N802 - the property's name
    n = _logical_ndim(self)
    if n not in (0, 2):
        hint = " For batches of matrices, consider using tensor.mH" if n > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {n}-D "
                           f"tensor.{hint}")
    if n == 0:
        return _call(lambda x: x.view_as(x), (self,), {}, _levels(self))
    return _mT_rule(self)  # (real tensors: the conjugate is the tensor)


def _T_rule(self):  # noqa: N802 - the property's name
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    if n != 2:
        from .._warn import warn_once
        from ..ops.shape import T_WARNINGS

        warn_once(T_WARNINGS[n == 0], 3)
    return _call(lambda x: x.permute(*range(k), *range(k + n - 1, k - 1, -1)), (self,), {},
                 levels)


def _flatten_rule(fn, args, kwargs):
    self = args[0]
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    start, in_s = _dim_arg(args, kwargs, 1, "start_dim")
    end, in_e = _dim_arg(args, kwargs, 2, "end_dim")
    start = 0 if start is _MISSING else start
    end = -1 if end is _MISSING else end
    if n == 0:
        with _physical():
            return _finish(self.unsqueeze(k), levels)
    return _call(fn, (self, _norm_dim(start, n, k), _norm_dim(end, n, k)), {}, levels)


_BOOL_MASK = ("vmap: We do not support batching operators that can support dynamic shape. "
              "Attempting to batch over indexing with a boolean mask.")


def _refuse_batched_masks(items):
    """PyTorch refuses a batched boolean index, reading and writing alike."""
    Tensor = _tensor_type()
    for i in items:
        if isinstance(i, Tensor) and _levels(i) and i._data.dtype.kind == "b":
            raise RuntimeError(_BOOL_MASK)


def _getitem_rule(fn, args, kwargs):
    self, idx = args
    Tensor = _tensor_type()
    items = idx if isinstance(idx, tuple) else (idx,)
    _refuse_batched_masks(items)
    if any(isinstance(i, Tensor) and _levels(i) for i in items):
        return _batched_index(fn, self, items)
    advanced = [j for j, i in enumerate(items) if isinstance(i, (Tensor, list))]
    if advanced and advanced != list(range(advanced[0], advanced[-1] + 1)):
        # NOTE: separated advanced indices put their dims first, before the batch dims
        raise _NoRule("vmap: no batching rule for __getitem__ with separated advanced "
                           "indices yet")
    levels = _levels(self)
    return _call(fn, (self, (*(slice(None),) * len(levels), *items)), {}, levels)


def _batched_index(fn, self, items):
    """``x[idx]`` with a batched integer index (the only index, or followed by full slices):
    every sample takes its own rows, by indexing the batch dims with aranges next to it."""
    idx = items[0]
    if len(items) > 1 and not all(i == slice(None) or i is Ellipsis for i in items[1:]) or (
            idx._data.dtype.kind not in "iu"):
        raise _NoRule("vmap: no batching rule for __getitem__ with a batched index yet "
                           "(only x[index] with an integer index)")
    from ..creation import arange

    levels = _union([self, idx])
    k = len(levels)
    px = _align(self, levels, expand=True)
    pi = _align(idx, levels, expand=True)
    ni = _logical_ndim(idx)
    with _physical():
        ranges = [arange(_L.sizes[lv], device=pi.device).reshape(
            *[_L.sizes[lv] if j == i else 1 for j in range(k)], *[1] * ni)
            for i, lv in enumerate(levels)]
        out = fn(px, (*ranges, pi))
    return _mark(out, levels)


def _setitem_rule(fn, args, kwargs):
    self, idx, value = args
    own = _levels(self)
    Tensor = _tensor_type()
    items = idx if isinstance(idx, tuple) else (idx,)
    if isinstance(value, Tensor) and set(_levels(value)) - set(own):
        return _inplace(fn, (self, idx, value), {})  # raises PyTorch's error
    _refuse_batched_masks(items)
    if any(isinstance(i, Tensor) and _levels(i) for i in items):
        raise _NoRule("vmap: no batching rule for __setitem__ with a batched index yet")
    pidx = (*(slice(None),) * len(own), *items)
    if isinstance(value, Tensor) and _levels(value):
        with _physical():
            sel = self[pidx].dim() - len(own)
        value = _align(value, own, max(sel, _logical_ndim(value)))
    with _physical():
        fn(self, pidx, value)


def _flip_rule(fn, args, kwargs):
    self = args[0]
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    dims = kwargs.get("dims") or _sizes_arg(args)
    return _call(fn, (self, tuple(_norm_dim(d, n, k) for d in dims)), {}, levels)


def _roll_rule(fn, args, kwargs):
    """``roll(shifts, dims=None)``: without dims, the flattened logical tensor rolls."""
    self = args[0]
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    shifts = args[1] if len(args) > 1 else kwargs["shifts"]
    dims = args[2] if len(args) > 2 else kwargs.get("dims")
    if dims is None:
        with _physical():
            flat = self.reshape(*self._data.shape[:k], -1)
            out = fn(flat, shifts, k).reshape(self._data.shape)
        return _mark(out, levels)
    if isinstance(dims, (tuple, list)):
        dims = tuple(_norm_dim(d, n, k) for d in dims)
    else:
        dims = _norm_dim(dims, n, k)
    return _call(fn, (self, shifts, dims), {}, levels)


def _repeat_rule(fn, args, kwargs):
    """``repeat(*sizes)`` / ``tile(dims)``: the batch dims repeat once."""
    self = args[0]
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    sizes = kwargs.get("dims") or kwargs.get("repeats") or _sizes_arg(args)
    if fn.__name__ == "tile" and len(sizes) < n:
        sizes = (1,) * (n - len(sizes)) + tuple(sizes)
    if len(sizes) < n:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    x = _align(self, levels, len(sizes))
    return _call(_orig("repeat"), (x, (*(1,) * k, *sizes)), {}, levels)


def _einsum_rule(fn, args, kwargs):
    """``einsum``: each batched operand gets one fresh letter per batch level in front of its
    subscripts, and the output all of them (an implicit output is made explicit first)."""
    equation, operands = args[0], args[1:]
    if not isinstance(equation, str):
        raise _NoRule("vmap: no batching rule for einsum in sublist form yet")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if not arrow:
        letters = [c for c in lhs if c.isalpha()]
        rhs = ("..." if "..." in lhs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    levels = _union(operands)
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in eq]
    letter = dict(zip(levels, free))
    new_terms = ["".join(letter[lv] for lv in _levels(t)) + term
                 for t, term in zip(operands, terms)]
    new_eq = ",".join(new_terms) + "->" + "".join(letter[lv] for lv in levels) + rhs
    return _call(fn, (new_eq, *operands), {}, levels)


def _paired_dim_rule(pos, default):
    """Ops of two broadcasting tensors along a dim (``cosine_similarity``): aligned as
    elementwise ops, the dim counted in the common logical rank."""

    def rule(fn, args, kwargs):
        ts = _tensors(args[:pos], {})
        levels = _union(ts)
        ndim = max(_logical_ndim(t) for t in ts)
        d, in_kw = _dim_arg(args, kwargs, pos)
        d = default if d is _MISSING else d
        aligned = [_align(t, levels, ndim) for t in args[:pos]]
        new_args, new_kwargs = _set_arg((*aligned, *args[pos:]), kwargs, pos,
                                        _norm_dim(d, ndim, len(levels)), in_kw)
        return _call(fn, new_args, new_kwargs, levels)

    return rule


def _split_rule(fn, args, kwargs):
    """``split(size, dim)`` / ``chunk(n, dim)`` / ``tensor_split``: dim is the third arg."""
    return _dims_rule(pos=2, default=0)(fn, args, kwargs)


# ---- the keys these rules serve in ``_RULES`` ------------------------------------------------

_RULES["flip"] = _flip_rule
_RULES["roll"] = _roll_rule
for _n in ("split", "chunk", "tensor_split"):
    _RULES[_n] = _split_rule
for _n in ("view", "reshape"):
    _RULES[_n] = _view_rule
_RULES["expand"] = _expand_rule
_RULES["broadcast_to"] = _expand_rule
_RULES["permute"] = _permute_rule
for _n in ("transpose", "swapaxes", "swapdims", "movedim", "moveaxis"):
    _RULES[_n] = _two_dims_rule
_RULES["squeeze"] = _squeeze_rule
_RULES["t"] = _t_rule
_RULES["flatten"] = _flatten_rule
_RULES["ravel"] = lambda fn, args, kwargs: _flatten_rule(_orig("flatten"), args[:1], {})
_RULES["__getitem__"] = _getitem_rule
_RULES["__setitem__"] = _setitem_rule
_RULES["einsum"] = _einsum_rule
_RULES["repeat"] = _repeat_rule
_RULES["tile"] = _repeat_rule
_RULES["cosine_similarity"] = _paired_dim_rule(2, 1)


def _as(op):
    def rule(fn, args, kwargs):
        other = args[1]
        shape = tuple(other._data.shape[len(_levels(other)):])
        return _RULES[op](_orig(op), (args[0], shape), {})

    return rule


_RULES["view_as"] = _as("view")
_RULES["reshape_as"] = _as("reshape")
_RULES["expand_as"] = _as("expand")
