"""Batching rules of the ops with dim arguments, read by position.

Contract: reductions, scans, softmax, sort/topk/kthvalue, unbind/select/narrow, cat/stack,
gather/scatter/index_add & co., diagonal/trace, index_select and addmm & co. batch with the
batch dims left in front: a logical dim becomes a physical one past them (``_norm_dim``),
"every dim" becomes the tuple of the logical dims or, for ops that take one dim, the logical
dims flattened into one (``_dims_rule``), and a 0-d sample runs on an added unit dim. The
parameter-name rules of rules_named.py replace some of these keys (gather/scatter/index_*,
max/min).
"""

from __future__ import annotations

from ._state import (
    _MISSING,
    _RULES,
    _align,
    _call,
    _finish,
    _levels,
    _logical_ndim,
    _map_tensors,
    _norm_dim,
    _NoRule,
    _orig,
    _physical,
    _tensors,
    _union,
)


def _dim_arg(args, kwargs, pos, name="dim"):
    if name in kwargs:
        return kwargs[name], True
    if len(args) > pos:
        return args[pos], False
    return _MISSING, False


def _set_arg(args, kwargs, pos, value, in_kwargs, name="dim"):
    args = list(args)
    kwargs = dict(kwargs)
    if in_kwargs:
        kwargs[name] = value
    elif len(args) > pos:
        args[pos] = value
    else:
        kwargs[name] = value
    return args, kwargs


def _dims_rule(pos=1, name="dim", all_as="tuple", default=_MISSING, extra=0, values=False):
    """Rule for ops with a ``dim`` argument (an int, a tuple, or None meaning every dim) at
    position ``pos``; ``all_as`` says how 'every dim' is passed on: as a tuple of the logical
    dims, or by flattening them into one ('flat'). ``default`` is the dim used when the
    argument is absent and does not mean 'every dim'; ``extra`` is 1 for ops whose dim counts
    the output's dims (unsqueeze)."""

    def rule(fn, args, kwargs):
        self = args[0]
        levels = _levels(self)
        k = len(levels)
        n = _logical_ndim(self)
        d, in_kw = _dim_arg(args, kwargs, pos, name)
        if d is _MISSING and default is not _MISSING:
            d = default
        if d is _MISSING or d is None:
            if all_as == "flat":
                with _physical():
                    flat = self.reshape(*self._data.shape[:k], -1)
                new_args, new_kwargs = _set_arg((flat, *args[1:]), kwargs, pos, k, in_kw, name)
                out = _call(fn, new_args, new_kwargs, levels)
                if values and isinstance(out, tuple):  # max() alone gives the values only
                    return out[0]
                return out
            dims = tuple(range(k, k + n))
            if all_as == "tuple" and n == 0:
                return _call(fn, args, kwargs, levels) if k == 0 else _scalar_reduce(
                    fn, args, kwargs, pos, in_kw, name, levels)
            new = dims
        elif isinstance(d, (tuple, list)):
            new = type(d)(_norm_dim(x, n + extra, k) for x in d)
        else:
            new = _norm_dim(d, n + extra, k)
        if n == 0 and not extra and k:
            # a 0-d sample takes dim 0 / -1: run on an added unit dim, then drop it
            with _physical():
                x = args[0].unsqueeze(k)
            new = type(new)(k for _ in new) if isinstance(new, (tuple, list)) else k
            new_args, new_kwargs = _set_arg((x, *args[1:]), kwargs, pos, new, in_kw, name)
            out = _call(fn, new_args, new_kwargs, ())
            return _finish(_map_tensors(out, lambda t: t.reshape(t._data.shape[:k])
                                        if t._data.ndim > k else t), levels)
        new_args, new_kwargs = _set_arg(args, kwargs, pos, new, in_kw, name)
        return _call(fn, new_args, new_kwargs, levels)

    return rule


def _scalar_reduce(fn, args, kwargs, pos, in_kw, name, levels):
    """A full reduction of a 0-d logical tensor: reduce over an added unit dim."""
    k = len(levels)
    with _physical():
        x = args[0].unsqueeze(k)
    new_args, new_kwargs = _set_arg((x, *args[1:]), kwargs, pos, k, in_kw, name)
    return _call(fn, new_args, new_kwargs, levels)


def _norm_rule(fn, args, kwargs):
    """``norm(p, dim)``: dim is the third argument."""
    return _dims_rule(pos=2, all_as="tuple")(fn, args, kwargs)


def _cat_rule(stack):
    def rule(fn, args, kwargs):
        tensors = args[0]
        ts = list(tensors)
        levels = _union(ts)
        if not stack and any(_logical_ndim(t) != 1 for t in ts):
            # legacy: 1-d empty tensors are left out when joined with others
            kept = [t for t in ts if tuple(t._data.shape[len(_levels(t)):]) != (0,)]
            if kept and len(kept) < len(ts):
                return rule(fn, (kept, *args[1:]), kwargs)
        for i, t in enumerate(ts):
            if not stack and _logical_ndim(t) == 0:
                raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                                   "concatenated")
        n = _logical_ndim(ts[0]) + (1 if stack else 0)
        d, in_kw = _dim_arg(args, kwargs, 1)
        d = 0 if d is _MISSING else d
        new = _norm_dim(d, n, len(levels))
        aligned = [_align(t, levels, expand=True) for t in ts]
        new_args, new_kwargs = _set_arg((aligned, *args[1:]), kwargs, 1, new, in_kw)
        return _call(fn, new_args, new_kwargs, levels)

    return rule


def _gather_rule(fn, args, kwargs):
    """``gather(self, dim, index)`` / ``take_along_dim``-like: both tensors expanded."""
    self, d, index = args[0], args[1], args[2]
    levels = _union([self, index])
    n = _logical_ndim(self)
    new = _norm_dim(d, n, len(levels))
    return _call(fn, (_align(self, levels, expand=True), new,
                      _align(index, levels, expand=True), *args[3:]), kwargs, levels)


def _scatter_rule(fn, args, kwargs):
    """``scatter`` / ``scatter_add`` / ``scatter_reduce(self, dim, index, src)``: every tensor
    gets the union of batch dims, expanded; index positions in the batch dims map one to one."""
    self, d = args[0], args[1]
    levels = _union(_tensors(args, kwargs))
    new = _norm_dim(d, _logical_ndim(self), len(levels))

    def fix(a):
        return _align(a, levels, expand=True)

    rest = [fix(a) for a in args[2:]]
    return _call(fn, (fix(self), new, *rest), {kw: fix(v) for kw, v in kwargs.items()}, levels)


def _index_dim_rule(fn, args, kwargs):
    """``index_add`` / ``index_copy`` / ``index_fill(self, dim, index, source)`` with an
    unbatched index: the dim shifts and the source gets the batch dims of the result."""
    self, d, index = args[0], args[1], args[2]
    if _levels(index):
        raise _NoRule(f"vmap: no batching rule for {fn.__name__} with a batched index yet")
    levels = _union(_tensors(args, kwargs))
    k = len(levels)
    new = _norm_dim(d, _logical_ndim(self), k)
    rest = [_align(a, levels, expand=True) for a in args[3:]]
    kw = {key: _align(v, levels, expand=True) for key, v in kwargs.items()}
    return _call(fn, (_align(self, levels, expand=True), new, index, *rest), kw, levels)


def _addmm_rule(fn, args, kwargs):
    """``addmm`` / ``addmv`` / ``baddbmm`` / ``addr``: ``beta * input + alpha * product``,
    composed from the batched matmul/outer and elementwise rules."""
    inp, a, b = args[0], args[1], args[2]
    beta = kwargs.get("beta", 1)
    alpha = kwargs.get("alpha", 1)
    prod = a.outer(b) if fn.__name__ == "addr" else a.matmul(b)
    out = prod * alpha if alpha != 1 else prod
    if beta == 0:
        return out + inp * 0
    return (inp * beta if beta != 1 else inp) + out


def _diagonal_rule(fn, args, kwargs):
    """``diagonal(offset=0, dim1=0, dim2=1)``: both dims shift."""
    self = args[0]
    levels = _levels(self)
    k, n = len(levels), _logical_ndim(self)
    names = ("offset", "dim1", "dim2")
    bound = dict(zip(names, args[1:]))
    bound.update(kwargs)
    return _call(_orig("diagonal"), (self, bound.get("offset", 0),
                                      _norm_dim(bound.get("dim1", 0), n, k),
                                      _norm_dim(bound.get("dim2", 1), n, k)), {}, levels)


def _trace_rule(fn, args, kwargs):
    if _logical_ndim(args[0]) != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim "
                           f"{_logical_ndim(args[0])}")
    return args[0].diagonal().sum(-1)


def _index_select_rule(fn, args, kwargs):
    self, d, index = args[0], args[1], args[2]
    if _levels(index):
        # each sample its own index: move dim d to the front, index, move it back (rules)
        n = _logical_ndim(self)
        d = _norm_dim(d, n, 0)
        if _logical_ndim(index) == 0:
            index = index.reshape(1)
        if n == 0:
            return self.reshape(1)[index].reshape(()) if _logical_ndim(index) == 0 else \
                self.reshape(1)[index]
        return self.movedim(d, 0)[index].movedim(0, d)
    levels = _levels(self)
    return _call(fn, (self, _norm_dim(d, _logical_ndim(self), len(levels)), index, *args[3:]),
                 kwargs, levels)


# ---- the keys these rules serve in ``_RULES`` ------------------------------------------------

for _n in ("sum", "mean", "nansum", "nanmean", "amax", "amin", "std", "var", "std_mean",
           "var_mean", "count_nonzero", "all", "any", "aminmax"):
    _RULES[_n] = _dims_rule(all_as="tuple")
for _n in ("prod", "argmax", "argmin"):
    _RULES[_n] = _dims_rule(all_as="flat")
for _n in ("max", "min", "median", "nanmedian"):
    _RULES[_n] = _dims_rule(all_as="flat", values=True)
for _n in ("logsumexp", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "softmax",
           "log_softmax", "softmin", "select", "narrow"):
    _RULES[_n] = _dims_rule()
_RULES["unbind"] = _dims_rule(default=0)
_RULES["mode"] = _dims_rule(default=-1)
_RULES["kthvalue"] = _dims_rule(pos=2, default=-1)
for _n in ("sort", "argsort"):
    _RULES[_n] = _dims_rule(default=-1)
_RULES["topk"] = _dims_rule(pos=2, default=-1)
_RULES["unsqueeze"] = _dims_rule(extra=1)
_RULES["normalize"] = _dims_rule(pos=2, default=1)
_RULES["norm"] = _norm_rule
_RULES["unflatten"] = _dims_rule()
for _n in ("cat", "concat", "concatenate"):
    _RULES[_n] = _cat_rule(False)
_RULES["stack"] = _cat_rule(True)
_RULES["gather"] = _gather_rule
for _n in ("scatter", "scatter_add", "scatter_reduce"):
    _RULES[_n] = _scatter_rule
for _n in ("index_add", "index_copy", "index_fill"):
    _RULES[_n] = _index_dim_rule
for _n in ("addmm", "addmv", "baddbmm", "addr"):
    _RULES[_n] = _addmm_rule
_RULES["diagonal"] = _diagonal_rule
_RULES["trace"] = _trace_rule
_RULES["index_select"] = _index_select_rule
_RULES["glu"] = _dims_rule(default=-1)
