"""``ember.func.vmap``: vectorizing map by batching rules (PyTorch's ``torch.func.vmap``).

Contract: ``vmap(func, in_dims=0, out_dims=0, randomness='error', *, chunk_size=None)`` returns
a function that maps ``func`` over one dimension of its inputs, with PyTorch's ``in_dims`` /
``out_dims`` structures, errors, nesting (``vmap(vmap(f))``) and composition with the
``ember.func`` transforms (``vmap(grad(f))`` gives per-sample gradients). ``func`` runs ONCE:
every op on a batched value runs once on the whole batch through a per-op batching rule. An op
without a rule, or whose rule does not cover the form of its arguments (``_NoRule``), runs once
per sample on unbatched slices, results stacked (``_loop``: PyTorch's fallback); ops whose
result shape depends on the values refuse with PyTorch's messages.

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

NOTE [per-sample gradients]: ``grad(f)(w, x)`` inside ``vmap(..., in_dims=(None, 0))`` must
give one gradient of ``w`` per sample, but a physical graph built from one unbatched ``w``
would sum them. So while a vmap runs, the transforms' leaf maker (``ember.func._leaf_for``) is
swapped too: an input that is not batched at every active level becomes a leaf expanded over
the missing levels (a stride-0 view, no copy), and its gradient is the per-sample one.

Families with rules: elementwise unary/binary/ternary ops, comparisons, activations, dtype
conversions and ``*_like`` creation (broadcast by right-aligned logical dims); reductions and
dim ops (sum, mean, prod, amax/amin, max/min, median, argmax/argmin, std/var(_mean), all/any,
logsumexp, cumsum/cumprod/cummax, softmax, log_softmax, sort/argsort/topk/kthvalue, norm,
glu...); matmul/mm/bmm/mv/dot/outer/inner, einsum and ``F.linear`` (also with batched
weights); shape ops (view/reshape/permute/transpose/unsqueeze/squeeze/expand/flatten/
unflatten/t/T/mT/movedim/narrow/select/split/chunk/unbind/flip/roll/repeat/tile and the
``_as`` forms); getitem/setitem with basic indexing and unbatched index tensors; cat/stack;
gather/index_select; where/clamp/masked_fill; clone/contiguous/detach; ``F.cross_entropy``/
``nll_loss`` and the elementwise losses with any reduction (per-sample values); conv, pools and
group_norm (the batch folds into N); ``F.layer_norm``/``embedding``/``pad`` (constant)/
``scaled_dot_product_attention``/``cosine_similarity``; batched linalg (inv, det, solve,
cholesky, svd, qr, eigh...); in-place elementwise ops on a batched tensor; random ops by
``randomness`` ('error' refuses them, 'same' draws once, 'different' draws per sample).

Issue 14 added rules read by parameter name (``_bind``) for most of the remaining public ops:
dim arguments shifted (``_named_dims``), ops composed of batched ops (kron, tensordot, the
``*stack`` family, diag/diagflat, pdist...), linalg that treats leading dims as batch dims,
the batch folded into N (interpolate, grid_sample, pools, unpools, padding modes), per-sample
losses, ``batch_norm`` in training with per-sample statistics and ``conv_transpose`` with
batched weights. tests/test_vmap_records.py runs every op record through vmap; its ``XFAIL``
lists the ops still without a rule (mostly data-dependent shapes, which PyTorch refuses too).

A batched value prints as PyTorch's ``BatchedTensor(lvl=.., bdim=0, value=...)`` inside a
vmap (``_batched_repr``, called by ``_printing.tensor_repr``).

Known gaps: errors raised by an op on physical tensors may count dims as PyTorch's own batching
rules do, not always as the sample sees them; ``.numpy()``/``.tolist()`` of a batched value
show the whole batch; a printed batched value always shows ``bdim=0`` (PyTorch shows where
``in_dims`` put it), an input requiring grad shows the grad_fn of vmap's view of it, and
``lvl`` counts vmaps only (PyTorch counts grad/jvp levels too).
"""

from __future__ import annotations

import functools
import itertools
import sys
import threading
import weakref
from types import FunctionType

from . import _modes, _pytree

__all__ = ["vmap"]

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
    from .tensor import Tensor

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


# ---- rules: elementwise ----------------------------------------------------------------------

def _elementwise(fn, args, kwargs):
    """Broadcasting ops: every tensor gets the union of batch dims in front and its logical dims
    right-aligned to the largest logical rank."""
    ts = _tensors(args, kwargs)
    levels = _union(ts)
    ndim = max(_logical_ndim(t) for t in ts)

    def fix(a):
        if isinstance(a, (list, tuple)) and not isinstance(a, _tensor_type()):
            return type(a)(_align(b, levels, ndim) for b in a)
        return _align(a, levels, ndim)

    return _call(fn, [fix(a) for a in args], {k: fix(v) for k, v in kwargs.items()}, levels)


def _unary(fn, args, kwargs):
    """Ops acting on ``self`` alone whose other arguments are not tensors or only lend a dtype
    (``type_as``)."""
    levels = _levels(args[0])
    return _call(fn, args, kwargs, levels)


def _inplace(fn, args, kwargs):
    """An in-place elementwise op: the other operands must not vary over levels ``self`` does
    not vary over (PyTorch's rule: the result could not be stored in ``self``)."""
    self = args[0]
    own = _levels(self)
    others = _tensors(args[1:], kwargs)
    extra = sorted({lv for t in others for lv in _levels(t)} - set(own))
    if extra:
        # PyTorch reports the result that could not be stored in self
        import numpy as np

        logical = np.broadcast_shapes(*(t._data.shape[len(_levels(t)):] for t in (self,
                                                                                   *others)))
        whole = [_L.sizes[lv] for lv in extra] + list(logical)
        raise RuntimeError(f"output with shape [{', '.join(map(str, _meta_shape(self)))}] "
                           f"doesn't match the broadcast shape [{', '.join(map(str, whole))}]")
    ndim = _logical_ndim(self)
    new = [self, *(_align(a, own, ndim) if isinstance(a, _tensor_type()) else a
                   for a in args[1:])]
    with _physical():
        fn(*new, **{k: _align(v, own, ndim) for k, v in kwargs.items()})
    return self


# ---- rules: dims -----------------------------------------------------------------------------

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


# ---- rules: shape ops ------------------------------------------------------------------------

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
        from ._warn import warn_once
        from .ops.shape import T_WARNINGS

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
    from .creation import arange

    levels = _union([self, idx])
    k = len(levels)
    px = _align(self, levels, expand=True)
    pi = _align(idx, levels, expand=True)
    ni = _logical_ndim(idx)
    with _physical():
        ranges = [arange(_L.sizes[lv]).reshape(*[_L.sizes[lv] if j == i else 1 for j in range(k)],
                                             *[1] * ni) for i, lv in enumerate(levels)]
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


# ---- rules: matmul family --------------------------------------------------------------------

def _matmul_rule(fn, args, kwargs):
    """``a @ b`` with PyTorch's matmul semantics per sample: vectors become matrices, logical
    dims are right-aligned to one rank, and the batch dims broadcast in front."""
    a, b = args[0], args[1]
    if getattr(fn, "__name__", "") == "__rmatmul__":
        a, b = b, a
    levels = _union([a, b])
    k = len(levels)
    na, nb = _logical_ndim(a), _logical_ndim(b)
    if na == 0 or nb == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{na}D and {nb}D")
    rank = max(na, nb, 2)
    pa = _align(a, levels, na if na == 1 else rank)
    pb = _align(b, levels, nb if nb == 1 else rank)
    with _physical():
        if na == 1:  # (n,) -> (1.., 1, n)
            pa = pa.reshape(*pa._data.shape[:k], *([1] * (rank - 1)), pa._data.shape[-1])
        if nb == 1:  # (n,) -> (1.., n, 1)
            pb = pb.reshape(*pb._data.shape[:k], *([1] * (rank - 2)), pb._data.shape[-1], 1)
        out = _orig("matmul")(pa, pb)
        if nb == 1:
            out = out.squeeze(-1)
        if na == 1:
            out = out.squeeze(-1 if nb == 1 else -2)
        # vectors were padded to the full rank: drop the padding dims again
        want = 0 if na == nb == 1 else max(na, nb) - (1 if min(na, nb) == 1 else 0)
        if out._data.ndim - k > want:
            out = out.reshape(*out._data.shape[:k], *out._data.shape[out._data.ndim - want:])
    return _mark(out, levels)


def _checked_matmul(ranks):
    def rule(fn, args, kwargs):
        a, b = args[0], args[1]
        na, nb = _logical_ndim(a), _logical_ndim(b)
        if (na, nb) != ranks:
            # let the op itself report its error, on logical-shaped stand-ins
            from .creation import empty

            with _physical():
                fn(empty(*a.shape[len(_levels(a)):]), empty(*b.shape[len(_levels(b)):]))
        return _matmul_rule(_orig("matmul"), (a, b), {})

    return rule


def _outer_rule(fn, args, kwargs):
    a, b = args[0], args[1]
    levels = _union([a, b])
    pa = _align(a, levels, 1)
    pb = _align(b, levels, 1)
    with _physical():
        out = pa.unsqueeze(-1) * pb.unsqueeze(-2)
    return _mark(out, levels)


def _linear_rule(fn, args, kwargs):
    x = args[0]
    w = args[1] if len(args) > 1 else kwargs["weight"]
    b = args[2] if len(args) > 2 else kwargs.get("bias")
    if not _levels(w) and (b is None or not _levels(b)):
        return _call(fn, (x, w, b), {}, _levels(x))
    # a batched weight: x @ w^T + b through the matmul and add rules
    wt = _call(lambda t: t.transpose(-1, -2), (w,), {}, _levels(w))
    out = _matmul_rule(_orig("matmul"), (x, wt), {})
    if b is not None:
        out = _elementwise(lambda p, q: p + q, (out, b), {})
    return out


# ---- rules: nn.functional ----------------------------------------------------------------

def _class_loss_rule(fn, args, kwargs):
    """``cross_entropy`` / ``nll_loss``: computed with reduction='none' on the batch folded
    into the sample dim, then reduced per sample as PyTorch reduces ('mean': by the summed
    weights of the targets that are not ignored, or by the count for probability targets)."""
    names = ("input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction",
             "label_smoothing")
    bound = dict(zip(names, args))
    bound.update(kwargs)
    x, target = bound["input"], bound["target"]
    weight = bound.get("weight")
    if weight is not None and _levels(weight):
        raise _NoRule(f"vmap: no batching rule for {fn.__name__} with a batched weight yet")
    reduction = bound.get("reduction", "mean")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    ignore = bound.get("ignore_index", -100)
    levels = _union([x, target])
    k = len(levels)
    n = _logical_ndim(x)
    px, pt = (_align(t, levels, expand=True) for t in (x, target))
    batch = px._data.shape[:k]
    prob = target._data.dtype.kind in "fcV"  # ("V": bfloat16)
    opts = {key: bound[key] for key in ("weight", "ignore_index", "label_smoothing")
            if key in bound}
    with _physical():
        if n == 1:  # (C,) with a scalar target: the batch is the sample dim
            fx = px.reshape(-1, px._data.shape[-1])
            ft = pt.reshape(-1, *(pt._data.shape[-1:] if prob else ()))
        else:
            fx = px.reshape(-1, *px._data.shape[k + 1:])
            ft = pt.reshape(-1, *pt._data.shape[k + 1:])
        loss = fn(fx, ft, reduction="none", **opts)
        lead = () if n == 1 else (px._data.shape[k],)
        per = loss.reshape(*batch, *lead, *loss._data.shape[1:])
        dims = tuple(range(k, per._data.ndim))
        if reduction == "none":
            out = per
        elif reduction == "sum":
            out = per.sum(dims) if dims else per
        elif prob:
            out = per.mean(dims) if dims else per
        else:
            valid = pt != ignore
            if weight is not None:
                safe = pt.clamp(0, weight._data.shape[0] - 1)
                w = _orig("__getitem__")(weight, safe) * valid
            else:
                w = valid.to(per.dtype)
            import numpy as np

            with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, silently
                out = (per.sum(dims) / w.sum(dims)) if dims else per / w
    return _mark(out, levels)


def _pointwise_loss(nargs):
    """Elementwise losses (``mse_loss``, ``l1_loss``...): reduction='none' on the aligned
    inputs (the first ``nargs`` parameters and any other tensor, such as a weight), then the
    reduction over each sample's logical dims ('mean' with a weight divides by the weight sum
    for mse and l1, as the ops do)."""

    def rule(fn, args, kwargs):
        b = _bind(fn, args, kwargs)
        a = b.arguments
        names = list(b.signature.parameters)[:nargs]
        reduction = a.pop("reduction", "mean")
        for key in ("size_average", "reduce"):
            if a.get(key) is not None:
                raise _no_rule(fn, f" with {key}")
        Tensor = _tensor_type()
        tensors = [v for v in a.values() if isinstance(v, Tensor)]
        levels = _union(tensors)
        ndim = max(_logical_ndim(a[nm]) for nm in names if isinstance(a.get(nm), Tensor))
        for nm, v in a.items():
            if isinstance(v, Tensor):
                a[nm] = _align(v, levels, ndim, expand=nm in names)
        weight = a.get("weight")
        k = len(levels)
        a["reduction"] = "none"
        with _physical():
            loss = fn(*b.args, **b.kwargs)
            dims = tuple(range(k, loss._data.ndim))
            if reduction == "none" or not dims:
                out = loss
            elif reduction == "sum":
                out = loss.sum(dims)
            elif reduction == "mean":
                if weight is not None and fn.__name__ in ("mse_loss", "l1_loss"):
                    out = loss.sum(dims) / weight.expand(loss._data.shape).sum(dims)
                else:
                    out = loss.mean(dims)
            else:
                raise ValueError(f"{reduction} is not a valid value for reduction")
        return _mark(out, levels)

    return rule


def _affine_after(out, weight, bias, channel_dims):
    """``out * weight + bias`` at the logical level (the rules batch it), the per-channel
    parameters shaped to broadcast over ``channel_dims`` trailing dims after the channels."""
    if weight is not None:
        out = out * (weight.reshape(*weight.shape, *[1] * channel_dims)
                     if channel_dims else weight)
    if bias is not None:
        out = out + (bias.reshape(*bias.shape, *[1] * channel_dims) if channel_dims else bias)
    return out


def _layer_norm_rule(fn, args, kwargs):
    """``layer_norm`` normalises the last dims, which the batch dims in front leave alone;
    batched affine parameters (per-sample gradients) are applied after, elementwise."""
    names = ("input", "normalized_shape", "weight", "bias", "eps")
    bound = dict(zip(names, args))
    bound.update(kwargs)
    weight, bias = bound.get("weight"), bound.get("bias")
    x = bound["input"]
    if any(_levels(t) for t in (weight, bias) if t is not None):
        out = _call(fn, (x, bound["normalized_shape"], None, None, bound.get("eps", 1e-5)), {},
                    _levels(x))
        return _affine_after(out, weight, bias, 0)
    ordered = [bound[n] for n in names if n in bound]
    return _call(fn, ordered, {}, _levels(x))


def _channel_norm_rule(names, stats_rule):
    """``group_norm`` / ``instance_norm`` / eval ``batch_norm``: the batch folds into N; batched
    per-channel affine parameters are applied after the normalisation."""

    def rule(fn, args, kwargs):
        bound = dict(zip(names, args))
        bound.update(kwargs)
        weight, bias = bound.get("weight"), bound.get("bias")
        if not any(_levels(t) for t in (weight, bias) if t is not None):
            return stats_rule(fn, args, kwargs)
        bound["weight"] = bound["bias"] = None
        x = bound["input"]
        out = stats_rule(fn, [bound[n] for n in names if n in bound], {})
        n = _logical_ndim(x)
        return _affine_after(out, weight, bias, n - 2 if n >= 2 else 0)

    return rule


def _embedding_rule(fn, args, kwargs):
    """``embedding``: with an unbatched table the indices' batch dims just lead; a batched
    table (per-sample gradients) is indexed per sample."""
    idx, weight = args[0], args[1]
    if _levels(weight):
        rest = dict(zip(("padding_idx", "max_norm"), args[2:4]))
        rest.update(kwargs)
        if rest.get("padding_idx") is not None or rest.get("max_norm") is not None:
            raise _NoRule("vmap: no batching rule for embedding with a batched weight and "
                               "padding_idx or max_norm yet")
        return _batched_index(_orig("__getitem__"), weight, (idx,))
    return _call(fn, args, kwargs, _levels(idx))


def _fold_rule(spatial):
    """Ops on ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` inputs (conv, pools,
    group_norm): the batch dims fold into N, so the op runs once on the whole batch; the
    other tensors (weights) must not be batched."""

    def rule(fn, args, kwargs):
        x = args[0]
        if any(_levels(t) for t in _tensors(args[1:], kwargs)):
            raise _NoRule(f"vmap: no batching rule for {fn.__name__} with a batched "
                               "weight yet")
        levels = _levels(x)
        k, n = len(levels), _logical_ndim(x)
        shape = x._data.shape
        batched_form = n >= 2 if spatial is None else n == spatial + 2
        unbatched_form = spatial is not None and n == spatial + 1
        if not (batched_form or unbatched_form):
            with _physical():  # the op reports its own error about the logical input
                fn(x[(0,) * k], *args[1:], **kwargs)
            raise _NoRule(f"vmap: no batching rule for {fn.__name__} yet")
        lead = shape[:k + 1] if batched_form else shape[:k]
        with _physical():
            out = fn(x.reshape(-1, *shape[len(lead):]), *args[1:], **kwargs)
            if isinstance(out, tuple):
                out = type(out)(o.reshape(*lead, *o._data.shape[1:]) for o in out)
            else:
                out = out.reshape(*lead, *out._data.shape[1:])
        return _finish(out, levels)

    return rule


def _conv_rule(spatial, transposed=False):
    """``conv{1,2,3}d`` / ``conv_transpose{1,2,3}d``: with unbatched weights the batch folds
    into N; with batched weights (per-sample gradients of a CNN) the batch folds into the
    channels and the groups, so one grouped convolution computes every sample with its own
    weights (a transposed convolution's weight leads with its input channels, which the
    groups split the same way)."""
    fold = _fold_rule(spatial)

    def rule(fn, args, kwargs):
        names = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups",
                 "dilation") if transposed else (
            "input", "weight", "bias", "stride", "padding", "dilation", "groups")
        bound = dict(zip(names, args))
        bound.update(kwargs)
        x, w, b = bound["input"], bound["weight"], bound.get("bias")
        if not _levels(w) and (b is None or not _levels(b)):
            return fold(fn, args, kwargs)
        levels = _union([t for t in (x, w, b) if t is not None])
        k = len(levels)
        single = _logical_ndim(x) == spatial + 1  # an unbatched (C, *spatial) sample
        px = _align(x, levels, expand=True)
        pw = _align(w, levels, expand=True)
        with _physical():
            if single:
                px = px.unsqueeze(k)
            lead = px._data.shape[:k]
            bs = 1
            for size in lead:
                bs *= size
            n, c, sp = px._data.shape[k], px._data.shape[k + 1], px._data.shape[k + 2:]
            px = px.reshape(bs, n, c, *sp).transpose(0, 1).reshape(n, bs * c, *sp)
            pw = pw.reshape(bs * pw._data.shape[k], *pw._data.shape[k + 1:])
            pb = None if b is None else _align(b, levels, expand=True).reshape(-1)
            opts = {key: bound[key] for key in ("stride", "padding", "dilation",
                                                 "output_padding") if key in bound}
            out = fn(px, pw, pb, groups=bound.get("groups", 1) * bs, **opts)
            o = out._data.shape[1] // bs
            sp_out = out._data.shape[2:]
            out = out.reshape(n, bs, o, *sp_out).transpose(0, 1)
            out = out.reshape(*lead, o, *sp_out) if single else out.reshape(*lead, n, o, *sp_out)
        return _mark(out, levels)

    return rule


def _batch_norm_rule(fn, args, kwargs):
    """``batch_norm`` with running statistics (``training=False``) normalises each sample on
    its own: the batch folds into N. Batch statistics would mix the samples: no rule."""
    training = args[5] if len(args) > 5 else kwargs.get("training", False)
    if training:
        raise _NoRule("vmap: no batching rule for batch_norm with training=True yet")
    return _fold_rule(None)(fn, args, kwargs)


def _transparent(fn, args, kwargs, pad=True):
    """Ops that already treat leading dims as batch dims (linalg on matrices, attention):
    every tensor gets the union of batch dims, expanded, and (with ``pad``, for ops whose
    inputs broadcast) logical dims padded to one rank."""
    ts = _tensors(args, kwargs)
    levels = _union(ts)
    ndim = max(_logical_ndim(t) for t in ts) if pad else None

    def fix(a):
        if isinstance(a, (list, tuple)) and not isinstance(a, _tensor_type()):
            return type(a)(_align(b, levels, ndim, expand=True) for b in a)
        return _align(a, levels, ndim, expand=True)

    return _call(fn, [fix(a) for a in args], {kw: fix(v) for kw, v in kwargs.items()}, levels)


def _pad_rule(fn, args, kwargs):
    """``F.pad`` in constant mode pads the last dims: the batch dims in front are untouched."""
    mode = args[2] if len(args) > 2 else kwargs.get("mode", "constant")
    pad = args[1] if len(args) > 1 else kwargs["pad"]
    if mode != "constant" or len(pad) // 2 > _logical_ndim(args[0]):
        raise _NoRule(f"vmap: no batching rule for pad with mode={mode!r} yet")
    return _unary(fn, args, kwargs)


# ---- the rule table --------------------------------------------------------------------------

# (the unary family's ops declare their category, "elementwise", in their op records: NOTE [op
# records] in ember/_records.py; these are the other elementwise ops)
_UNARY_NAMES = """bitwise_not isfinite isinf isnan isneginf isposinf isreal logical_not logit
positive round signbit nan_to_num clone contiguous detach float double half bfloat16 int long
short char byte bool cfloat cdouble to type type_as relu6 leaky_relu elu selu celu gelu silu
mish softplus softsign hardtanh hardsigmoid hardswish tanhshrink hardshrink softshrink
threshold logsigmoid tril triu mvlgamma polygamma __pos__ __invert__ expit""".split()
_BINARY_NAMES = """add sub subtract rsub mul multiply div divide true_divide floor_divide
remainder fmod pow float_power atan2 arctan2 maximum minimum fmax fmin hypot copysign
nextafter heaviside xlogy logaddexp logaddexp2 ldexp eq ne lt le gt ge greater greater_equal
less less_equal not_equal logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor
bitwise_left_shift bitwise_right_shift __lshift__ __rshift__ __rlshift__ __rrshift__
where clamp clip clamp_min clamp_max masked_fill lerp
addcmul addcdiv igamma igammac __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__
__truediv__ __rtruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __eq__
__ne__ __lt__ __le__ __gt__ __ge__ __and__ __or__ __xor__ __rand__ __ror__ __rxor__""".split()
_INPLACE_NAMES = """__iadd__ __isub__ __imul__ __itruediv__ __ipow__ __iand__ __ior__ __ixor__
__imod__ __ifloordiv__ __ilshift__ __irshift__ copy_ fill_ zero_""".split()

_RULES: dict = {}  # rule key (a published name; "linalg.inv" for linalg/special) -> rule
_HELPERS: dict = {}  # rules the rules above call (not ops of their own)
for _n in _UNARY_NAMES:
    _RULES[_n] = _unary if _n in ("type_as", "to", "type") else _elementwise
for _n in _BINARY_NAMES:
    _RULES[_n] = _elementwise
for _n in _INPLACE_NAMES:
    _RULES[_n] = _inplace
for _n in ("type_as", "to", "detach", "detach_", "cpu", "cuda"):
    _RULES[_n] = _unary
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
_RULES["flip"] = _flip_rule
_RULES["roll"] = _roll_rule
_RULES["normalize"] = _dims_rule(pos=2, default=1)
_RULES["norm"] = _norm_rule
_RULES["unflatten"] = _dims_rule()
for _n in ("split", "chunk", "tensor_split"):
    _RULES[_n] = _split_rule
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
_RULES["broadcast_tensors"] = _elementwise
_RULES["index_select"] = _index_select_rule
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
for _n in ("matmul", "__matmul__", "__rmatmul__"):
    _RULES[_n] = _matmul_rule
_RULES["mm"] = _checked_matmul((2, 2))
_RULES["bmm"] = _checked_matmul((3, 3))
_RULES["mv"] = _checked_matmul((2, 1))
_RULES["dot"] = _checked_matmul((1, 1))
_RULES["inner"] = _checked_matmul((1, 1))
_RULES["outer"] = _outer_rule
_RULES["ger"] = _outer_rule
_RULES["linear"] = _linear_rule
_RULES["einsum"] = _einsum_rule
_RULES["repeat"] = _repeat_rule
_RULES["tile"] = _repeat_rule
_RULES["cosine_similarity"] = _paired_dim_rule(2, 1)
_RULES["pairwise_distance"] = _elementwise
_RULES["glu"] = _dims_rule(default=-1)
_RULES["cross_entropy"] = _class_loss_rule
_RULES["nll_loss"] = _class_loss_rule
for _n in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "soft_margin_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits"):
    _RULES[_n] = _pointwise_loss(2)
_RULES["layer_norm"] = _layer_norm_rule
for _n, _sp in (("max_pool1d", 1),
                ("max_pool2d", 2), ("max_pool3d", 3), ("avg_pool1d", 1), ("avg_pool2d", 2),
                ("adaptive_avg_pool1d", 1), ("adaptive_avg_pool2d", 2),
                ("adaptive_avg_pool3d", 3), ("adaptive_max_pool1d", 1),
                ("adaptive_max_pool2d", 2), ("max_pool1d_with_indices", 1),
                ("max_pool2d_with_indices", 2), ("adaptive_max_pool1d_with_indices", 1),
                ("adaptive_max_pool2d_with_indices", 2)):
    _RULES[_n] = _fold_rule(_sp)
for _n, _sp in (("conv1d", 1), ("conv2d", 2), ("conv3d", 3)):
    _RULES[_n] = _conv_rule(_sp)
    _RULES[f"conv_transpose{_sp}d"] = _conv_rule(_sp, transposed=True)
_RULES["group_norm"] = _channel_norm_rule(("input", "num_groups", "weight", "bias", "eps"),
                                          _fold_rule(None))
_RULES["instance_norm"] = _channel_norm_rule(
    ("input", "running_mean", "running_var", "weight", "bias", "use_input_stats", "momentum",
     "eps"), _fold_rule(None))
_RULES["batch_norm"] = _channel_norm_rule(
    ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
    _batch_norm_rule)
_RULES["pad"] = _pad_rule
_RULES["one_hot"] = _unary
_RULES["linalg.solve"] = functools.partial(_transparent, pad=False)  # B: vector or matrix
for _n in ("scaled_dot_product_attention", "linalg.inv", "linalg.det", "linalg.slogdet",
           "linalg.cholesky", "linalg.matrix_exp", "linalg.matrix_norm",
           "linalg.eigh", "linalg.eigvalsh", "linalg.svd", "linalg.svdvals", "linalg.qr",
           "linalg.pinv", "inverse", "det", "logdet", "slogdet", "cholesky", "matrix_exp",
           "pinverse"):
    _RULES[_n] = _transparent
for _n in ("dropout", "dropout_", "alpha_dropout", "feature_alpha_dropout", "rrelu", "rrelu_",
           "bernoulli", "rand_like", "randn_like", "randint_like"):
    _RULES[_n] = _unary
_RULES["embedding"] = _embedding_rule


# ---- rules: more families, bound by parameter name (issue 14) --------------------------------
# These rules read an op's arguments by its parameter names (``_bind``), so one rule serves the
# spellings that order them differently (``torch.batch_norm`` and ``F.batch_norm``,
# ``torch.embedding(weight, indices)`` and ``F.embedding(input, weight)``).

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


class _NoRule(RuntimeError):
    """A rule's refusal of one form of its op's arguments: the wrapper then runs the op once
    per sample (``_loop``), as PyTorch's fallback does. Rules raise it before doing any work."""


def _no_rule(fn, what=""):
    return _NoRule(f"vmap: no batching rule for {getattr(fn, '__name__', fn)}{what} yet")


def _shift(d, n, k):
    if isinstance(d, (tuple, list)):
        return type(d)(_norm_dim(x, n, k) for x in d)
    return _norm_dim(d, n, k)


def _named_dims(dims=("dim",), on=None, extra=0, pad=False, none=None):
    """Ops taking tensors ``on`` (parameter names; default the first parameter) and dim
    arguments ``dims`` (ints or tuples, counted in the logical rank of the first of them,
    plus ``extra`` for dims of the output): the tensors get the union of batch dims in front
    (expanded; with ``pad`` also their logical dims padded to one rank, for ops that
    broadcast), and the dims shift past the batch dims. A 0-d sample runs on an added unit
    dim. ``none="flat"``: a dim given as None flattens the tensors' logical dims into one
    (``take_along_dim``, ``repeat_interleave``, ``quantile``)."""

    def rule(fn, args, kwargs):
        b = _bind(fn, args, kwargs)
        names = on or (next(iter(b.signature.parameters)),)
        Tensor = _tensor_type()
        ts = {nm: b.arguments[nm] for nm in names
              if isinstance(b.arguments.get(nm), Tensor)}
        others = [t for nm, t in b.arguments.items() if nm not in ts
                  for t in _tensors([t], {})]
        if any(_levels(t) for t in others):
            raise _no_rule(fn, " with that argument batched")
        levels = _union(ts.values())
        k = len(levels)
        rank = max(_logical_ndim(t) for t in ts.values())
        first = ts[names[0]]
        n = rank if pad else _logical_ndim(first)
        params = b.signature.parameters
        given = {d: b.arguments.get(d, params[d].default) for d in dims
                 if d in b.arguments or params[d].default is not params[d].empty}
        flat = none == "flat" and any(given.get(d) is None for d in dims)
        lift = n == 0 and not extra and not flat
        for nm, t in ts.items():
            x = _align(t, levels, rank if pad else None, expand=True)
            with _physical():
                if flat:
                    x = x.reshape(*x._data.shape[:k], -1)
                elif lift:
                    x = x.unsqueeze(k)
            b.arguments[nm] = x
        if flat:
            for d in dims:
                b.arguments[d] = k
        else:
            for d, v in given.items():
                if v is not None:
                    b.arguments[d] = _shift(v, max(n, 1) + extra if lift else n + extra, k)
        with _physical():
            out = fn(*b.args, **b.kwargs)
        if lift:
            out = _map_tensors(out, lambda t: t.squeeze(k)
                               if t._data.ndim > k and t._data.shape[k] == 1 else t)
        q = b.arguments.get("q")
        if isinstance(q, Tensor) and q._data.ndim == 1:  # quantile: q's dim comes first
            out = _map_tensors(out, lambda t: t.movedim(0, k))
        return _finish(out, levels)

    return rule


def _compose(body):
    """A rule written with the public ops on the logical (batched) values: each op it calls
    batches through its own rule."""

    def rule(fn, args, kwargs):
        return body(*args, **kwargs)

    return rule


def _ops():
    import ember

    return ember


def _atleast(n):
    def one(t):
        d = t.dim()
        if d >= n:
            return t
        if n == 3 and d == 2:
            return t.unsqueeze(-1)
        if n == 3 and d == 1:
            return t.reshape(1, t.shape[0], 1)
        return t.reshape(*(1,) * (n - d), *t.shape)

    def body(*tensors):
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            return tuple(one(t) for t in tensors[0])  # (a tuple, as PyTorch returns)
        if len(tensors) == 1:
            return one(tensors[0])
        return tuple(one(t) for t in tensors)

    return body


def _hstack(tensors, *, out=None):
    ts = _atleast(1)(list(tensors))
    return _ops().cat(ts, 0 if ts[0].dim() == 1 else 1)


def _column_stack(tensors, *, out=None):
    ts = [t.reshape(t.numel(), 1) if t.dim() <= 1 else t for t in tensors]
    return _ops().cat(ts, 1)


def _kron(a, b):
    n = max(a.dim(), b.dim())
    a = a.reshape(*(1,) * (n - a.dim()), *a.shape)
    b = b.reshape(*(1,) * (n - b.dim()), *b.shape)
    pa = [s for d in a.shape for s in (d, 1)]
    pb = [s for d in b.shape for s in (1, d)]
    out = a.reshape(pa) * b.reshape(pb)
    return out.reshape(*(x * y for x, y in zip(a.shape, b.shape)))


def _tensordot(a, b, dims=2, out=None):
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    na, nb = a.dim(), b.dim()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
        da, db = [d % max(na, 1) for d in da], [d % max(nb, 1) for d in db]
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for x, y in zip(da, db):
        sb[y] = sa[x]
    keep = [c for i, c in enumerate(sa) if i not in da] + [c for i, c in enumerate(sb)
                                                          if i not in db]
    return _ops().einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(keep)}", a, b)


def _inner(a, b, out=None):
    if a.dim() == 0 or b.dim() == 0:
        return a * b
    return _tensordot(a, b, ([-1], [-1]))


def _diag(x, diagonal=0, out=None):
    if x.dim() == 1:
        return _ops().diag_embed(x, diagonal)
    if x.dim() != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.dim()}D")
    return x.diagonal(diagonal)


def _sum_to_size(x, *size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    lead = x.dim() - len(size)
    if lead > 0:
        x = x.sum(tuple(range(lead)))
    dims = tuple(i for i, s in enumerate(size) if s == 1 and x.shape[i] != 1)
    return x.sum(dims, keepdim=True) if dims else x


def _vecdot(x, y, *, dim=-1):
    return (_conj(x) * y).sum(dim)


def _vdot(a, b, *, out=None):
    if a.dim() != 1 or b.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.dim()}D and {b.dim()}D tensors")
    return (_conj(a) * b).sum()


def _dist(a, b, p=2):
    return (a - b).norm(p)


def _pdist(x, p=2):
    if x.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.dim()}D")
    rows, cols = _ops().triu_indices(x.shape[0], x.shape[0], 1)
    return (x[rows] - x[cols]).norm(p=p, dim=-1)


def _chain(*matrices, out=None):
    ms = matrices[0] if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)) \
        else matrices
    return functools.reduce(lambda p, q: p @ q, ms)


def _bilinear(x1, x2, weight, bias=None):
    out = _ops().einsum("...i,oij,...j->...o", x1, weight, x2)
    return out if bias is None else out + bias


def _addbmm(inp, b1, b2, *, beta=1, alpha=1, out=None):
    prod = (b1 @ b2).sum(0)
    prod = prod * alpha if alpha != 1 else prod
    if beta == 0:
        return prod + inp * 0
    return (inp * beta if beta != 1 else inp) + prod


def _prelu(x, weight):
    w = weight
    if x.dim() >= 2 and weight.numel() > 1:
        w = weight.reshape(weight.shape[0], *(1,) * (x.dim() - 2))
    return _ops().where(x >= 0, x, w * x)


def _conj(x):
    conj = getattr(_ops(), "conj", None)  # (ember's tensors are real: conj is the identity)
    return x if conj is None else conj(x)


def _renorm(x, p, dim, maxnorm):
    d = dim % max(x.dim(), 1)
    others = tuple(i for i in range(x.dim()) if i != d)
    norms = _ops().linalg.vector_norm(x, p, dim=others, keepdim=True)
    return x * _ops().where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)


def _trapezoid_like(name):
    def body(y, x=None, *, dx=None, dim=-1):
        raw = _HELPERS[name + "_raw"]
        if x is None:
            return raw(_orig_op(name), (y,), {"dim": dim} if dx is None else
                       {"dx": dx, "dim": dim})
        if x.dim() == 1 and y.dim() > 1:  # a 1-d x spans y's dim
            d = dim % y.dim()
            x = x.reshape(*[x.shape[0] if i == d else 1 for i in range(y.dim())])
        return raw(_orig_op(name), (y, x), {"dim": dim})
    return body


def _orig_op(name):
    import ember

    fn = getattr(ember, name)
    return getattr(fn, "__wrapped__", fn)


def _linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    la = _ops().linalg
    if dim is None:
        if ord is None:
            return la.vector_norm(A, 2, None, keepdim, dtype=dtype)
        if A.dim() not in (1, 2):
            raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input "
                               f"must be 1D or 2D. Got {A.dim()}D.")
        dim = (-1,) if A.dim() == 1 else (-2, -1)
    if isinstance(dim, int) or len(dim) == 1:
        return la.vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    return la.matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)


def _gaussian_nll(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if var.dim() == input.dim() - 1 and tuple(var.shape) == tuple(input.shape[:-1]):
        var = var.unsqueeze(-1)
    return _pointwise_loss(3)(_orig_fn("gaussian_nll_loss"), (input, target, var),
                              {"full": full, "eps": eps, "reduction": reduction})


def _orig_fn(name):
    import ember.nn.functional as F

    fn = getattr(F, name)
    return getattr(fn, "__wrapped__", fn)


def _take(x, index):
    return x.reshape(-1)[index]


def _msort(x, *, out=None):
    return x.sort(0)[0]


def _adjoint(x):
    if x.dim() < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {x.dim()}-D tensor.")
    return _conj(x.transpose(-2, -1))


def _flip_axis(d):
    def body(x):
        return x.flip(d)
    return body


def _split_at(dim_of):
    def body(x, sections):
        return x.tensor_split(sections, dim_of(x.dim()))
    return body


def _max_min(name):
    """``max`` / ``min``: with a tensor second argument, the elementwise maximum/minimum."""
    reduce = _dims_rule(all_as="flat", values=True)

    def rule(fn, args, kwargs):
        other = args[1] if len(args) > 1 else kwargs.get("other")
        if isinstance(other, _tensor_type()):
            return _elementwise(fn, args, kwargs)
        return reduce(fn, args, kwargs)

    return rule


def _vector_rule(fn, args, kwargs):
    """``linalg.solve(A, B)`` / ``lstsq``: B is a (batch of) vector(s) when it is 1-D or, per
    sample, has A's shape less its last dim; then it solves as a one-column matrix."""
    b = _bind(fn, args, kwargs)
    names = list(b.arguments)
    A, B = b.arguments[names[0]], b.arguments[names[1]]
    na, nb = _logical_ndim(A), _logical_ndim(B)
    sa = tuple(A._data.shape[len(_levels(A)):])
    sb = tuple(B._data.shape[len(_levels(B)):])
    vector = nb == 1 or (nb == na - 1 and sb == sa[:-1])
    if not vector:
        return _transparent(fn, args, kwargs)
    levels = _union([A, B])
    k = len(levels)
    pa = _align(A, levels, expand=True)
    pb = _align(B, levels, expand=True)
    with _physical():
        pb = pb.unsqueeze(-1)
        if nb == 1 and na > 2:  # a vector against a batch of matrices: broadcast it
            pb = pb.reshape(*pb._data.shape[:k], *(1,) * (na - 2), *pb._data.shape[k:])
        b.arguments[names[0]], b.arguments[names[1]] = pa, pb
        out = fn(*b.args, **b.kwargs)
        out = _map_tensors(out, lambda t: t.squeeze(-1) if t._data.ndim > k and
                           t._data.shape[-1] == 1 and t is not None else t)
    return _finish(out, levels) if not isinstance(out, tuple) else _finish(out, levels)


def _index_dim_any(fn, args, kwargs):
    """``index_add`` / ``index_copy`` / ``index_fill`` / ``index_reduce`` (and their in-place
    forms): an unbatched index shifts the dim; a batched index is made one index into the
    batch and the dim flattened together (sample ``s`` of ``B`` indexes rows ``s * D + i``)."""
    b = _bind(fn, args, kwargs)
    names = list(b.arguments)
    self, d, index = (b.arguments[nm] for nm in names[:3])
    if not _levels(index):
        return _scatter_like(fn, b, names, self, d, keep=(names[2],))
    inplace = fn.__name__.endswith("_")
    if inplace:  # computed out of place (self's old values may be saved), then copied in
        return _inplace_via(_index_dim_any)(fn, args, kwargs)
    levels = _union(_tensors(args, kwargs))
    if inplace and set(levels) - set(_levels(self)):
        raise _inplace_error(self, levels)
    k, n = len(levels), _logical_ndim(self)
    if n == 0 or _logical_ndim(index) > 1:
        raise _no_rule(fn, " with a batched index of that shape")
    dd = _norm_dim(d, n, 0)
    px = _align(self, levels, expand=True)
    pi = _align(index, levels, expand=True)
    from .creation import arange

    with _physical():
        batch = px._data.shape[:k]
        bs = 1
        for s in batch:
            bs *= s
        x = px.movedim(k + dd, k).reshape(bs * px._data.shape[k + dd],
                                          *[s for i, s in enumerate(px._data.shape[k:])
                                            if i != dd])
        size = px._data.shape[k + dd]
        idx = (pi.reshape(bs, -1) % size + arange(bs).reshape(bs, 1) * size).reshape(-1)
        b.arguments[names[0]], b.arguments[names[1]], b.arguments[names[2]] = x, 0, idx
        if len(names) > 3 and isinstance(b.arguments[names[3]], _tensor_type()):
            src = b.arguments[names[3]]
            if _logical_ndim(src) > 0:
                ps = _align(src, levels, n, expand=True).movedim(k + dd, k)
                b.arguments[names[3]] = ps.reshape(-1, *ps._data.shape[k + 1:])
            elif _levels(src):
                raise _no_rule(fn, " with a batched 0-d value")
        out = fn(*b.args, **b.kwargs)
        moved_shape = (*batch, size, *[s for i, s in enumerate(px._data.shape[k:]) if i != dd])
        res = out.reshape(moved_shape).movedim(k, k + dd)
        if inplace:
            if res is not self:
                self.copy_(res)
            return self
    return _mark(res, levels)


def _inplace_error(self, levels):
    shape = [_L.sizes[lv] for lv in levels if lv not in _levels(self)]
    whole = shape + list(self._data.shape[len(_levels(self)):])
    return RuntimeError(f"output with shape [{', '.join(map(str, _meta_shape(self)))}] "
                        f"doesn't match the broadcast shape [{', '.join(map(str, whole))}]")


def _scatter_like(fn, b, names, self, d, keep=()):
    """Ops ``(self, dim, ...)`` whose tensors take the union of batch dims, expanded (a 0-d
    sample on an added unit dim); the unbatched tensors named in ``keep`` (an index vector)
    are passed as they are."""
    levels = _union(_tensors(list(b.arguments.values()), {}))
    if fn.__name__.endswith("_") and set(levels) - set(_levels(self)):
        raise _inplace_error(self, levels)
    k, n = len(levels), _logical_ndim(self)
    Tensor = _tensor_type()
    lift = n == 0
    all_0d = all(_logical_ndim(v) == 0 for v in b.arguments.values() if isinstance(v, Tensor))
    for nm in names:
        v = b.arguments[nm]
        if isinstance(v, Tensor) and not (nm in keep and not _levels(v)):
            x = _align(v, levels, expand=True)
            if lift and _logical_ndim(v) == 0:
                with _physical():
                    x = x.unsqueeze(k)
            b.arguments[nm] = x
    b.arguments[names[1]] = k if lift else _norm_dim(d, n, k)
    with _physical():
        out = fn(*b.args, **b.kwargs)
    if fn.__name__.endswith("_"):
        return self
    if lift and all_0d:
        out = _map_tensors(out, lambda t: t.reshape(t._data.shape[:k]))
    return _finish(out, levels)


def _dim_first_rule(fn, args, kwargs):
    """``gather`` / ``scatter*`` / ``index_select``-like ops ``(self, dim, index, ...)``."""
    b = _bind(fn, args, kwargs)
    names = list(b.arguments)
    keep = (names[2],) if fn.__name__ == "index_select" else ()
    return _scatter_like(fn, b, names, b.arguments[names[0]], b.arguments[names[1]], keep)


def _inplace_via(rule):
    """An in-place op computed by its out-of-place rule and copied into ``self`` (which must
    vary over every level the result does, as for the other in-place ops)."""

    def run(fn, args, kwargs):
        self = args[0]
        out_name = fn.__name__[:-1]
        # on a copy: the result's graph must not hold the values self is about to lose
        out = rule(_orig(out_name), (_elementwise(_orig("clone"), (self,), {}), *args[1:]),
                   kwargs)
        if set(_levels(out)) - set(_levels(self)):
            raise _inplace_error(self, _levels(out))
        _inplace(_orig("copy_"), (self, out), {})
        return self

    return run


def _fill_rule(fn, args, kwargs):
    """``fill_(value)`` with a batched 0-d value: each sample filled with its own value."""
    self, value = args[0], args[1] if len(args) > 1 else kwargs["value"]
    if isinstance(value, _tensor_type()) and _levels(value):
        if _logical_ndim(value) != 0:
            raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {_logical_ndim(value)} dimensions.")
        return _inplace(_orig("copy_"), (self, value), {})
    return _inplace(fn, args, kwargs)


def _shape_inplace(rule):
    """In-place shape ops (``squeeze_``, ``unsqueeze_``, ``transpose_``, ``t_``): the
    out-of-place rule's dims, applied to ``self``."""

    def run(fn, args, kwargs):
        return rule(fn, args, kwargs) if rule is not _t_rule else _t_inplace(fn, args)

    return run


def _t_inplace(fn, args):
    self = args[0]
    k, n = len(_levels(self)), _logical_ndim(self)
    if n > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {n}D")
    if n == 2:
        with _physical():
            _orig("transpose_")(self, k, k + 1)
    return self


def _fold_all(spatial, names):
    """Ops whose tensors ``names`` all lead with N (``grid_sample``'s input and grid,
    ``max_unpool``'s input and indices): the batch folds into N of each."""

    def rule(fn, args, kwargs):
        b = _bind(fn, args, kwargs)
        ts = [b.arguments[nm] for nm in names if isinstance(b.arguments.get(nm), _tensor_type())]
        if any(_levels(t) for nm, t in b.arguments.items() if nm not in names
               for t in _tensors([t], {})):
            raise _no_rule(fn, " with that argument batched")
        levels = _union(ts)
        k = len(levels)
        first = b.arguments[names[0]]
        batched_form = spatial is None or _logical_ndim(first) == spatial + 2
        lead = None
        for nm in names:
            t = b.arguments.get(nm)
            if not isinstance(t, _tensor_type()):
                continue
            x = _align(t, levels, expand=True)
            with _physical():
                if lead is None:
                    lead = x._data.shape[:k + 1] if batched_form else x._data.shape[:k]
                if batched_form:
                    x = x.reshape(-1, *x._data.shape[k + 1:])
                else:
                    x = x.reshape(-1, *x._data.shape[k:])
            b.arguments[nm] = x
        with _physical():
            out = fn(*b.args, **b.kwargs)
            out = _map_tensors(out, lambda o: o.reshape(*lead, *o._data.shape[1:]))
        return _finish(out, levels)

    return rule


def _affine_grid_rule(fn, args, kwargs):
    b = _bind(fn, args, kwargs)
    theta, size = b.arguments["theta"], list(b.arguments["size"])
    levels = _levels(theta)
    k = len(levels)
    with _physical():
        batch = theta._data.shape[:k + 1]
        b.arguments["theta"] = theta.reshape(-1, *theta._data.shape[k + 1:])
        bs = 1
        for s in batch:
            bs *= s
        b.arguments["size"] = [bs, *size[1:]]
        out = fn(*b.args, **b.kwargs)
        out = out.reshape(*batch, *out._data.shape[1:])
    return _mark(out, levels)


def _pad_any(fn, args, kwargs):
    """``F.pad``: constant mode pads the last dims (the batch dims are untouched); the other
    modes take ``(N, C, *spatial)`` or ``(C, *spatial)``, so the batch folds into N."""
    b = _bind(fn, args, kwargs, defaults=True)
    mode = b.arguments.get("mode", "constant")
    pad = b.arguments["pad"]
    if mode == "constant" or not isinstance(mode, str):
        if len(pad) // 2 > _logical_ndim(b.arguments["input"]):
            raise _no_rule(fn, " with that padding")
        return _unary(fn, args, kwargs)
    return _fold_rule(len(pad) // 2)(fn, args, kwargs)


def _batch_norm_any(fn, args, kwargs):
    """``batch_norm`` (and ``instance_norm``, ``torch.``-spelled too). With running statistics
    and no batch statistics the batch folds into N. Batch statistics are each sample's own,
    as functorch computes them: the batch folds into the channels; running statistics that
    would be updated with batched values are refused with PyTorch's error. Batched affine
    parameters are applied after the normalisation."""
    b = _bind(fn, args, kwargs, defaults=True)
    a = b.arguments
    x = a["input"]
    training = a.get("training", a.get("use_input_stats", False))
    weight, bias = a.get("weight"), a.get("bias")
    rm, rv = a.get("running_mean"), a.get("running_var")
    if any(t is not None and _levels(t) for t in (rm, rv)):
        raise _no_rule(fn, " with batched running statistics")
    n = _logical_ndim(x)
    affine_batched = any(_levels(t) for t in (weight, bias) if t is not None)
    if affine_batched:
        a["weight"] = a["bias"] = None
    is_instance = "use_input_stats" in a
    if training and not is_instance:
        if rm is not None or rv is not None:
            raise RuntimeError(
                "Batch norm got a batched tensor as input while the running_mean or "
                "running_var, which will be updated in place, were not batched.\nIf you are "
                "using a module and do not need eval mode, please set `track_running_stats` "
                "to be False.If you are using a prebuilt module and do not need eval mode, "
                "please see the functorch website for resources on how to patch your module "
                "to work with vmap")
        levels = _levels(x)
        k = len(levels)
        with _physical():
            shape = x._data.shape
            bs = 1
            for s in shape[:k]:
                bs *= s
            c = shape[k + 1] if n >= 2 else 1
            xs = x.reshape(bs, shape[k], c, *shape[k + 2:]).transpose(0, 1)
            xs = xs.reshape(shape[k], bs * c, *shape[k + 2:])
            wb = {}
            if not affine_batched:
                for nm in ("weight", "bias"):
                    if a.get(nm) is not None:
                        wb[nm] = a[nm].repeat(bs)
            a["input"] = xs
            for nm in ("weight", "bias"):
                a[nm] = wb.get(nm)
            out = fn(*b.args, **b.kwargs)
            out = out.reshape(shape[k], bs, c, *shape[k + 2:]).transpose(0, 1).reshape(shape)
        out = _mark(out, levels)
    else:
        out = _fold_rule(None)(fn, b.args, b.kwargs)
    if affine_batched:
        return _affine_after(out, weight, bias, n - 2 if n >= 2 else 0)
    return out


def _last_dims_norm(fn, args, kwargs):
    """``layer_norm`` / ``rms_norm``: the last dims normalise, untouched by the batch dims in
    front; batched affine parameters are applied after, elementwise."""
    b = _bind(fn, args, kwargs)
    a = b.arguments
    weight, bias = a.get("weight"), a.get("bias")
    if any(_levels(t) for t in (weight, bias) if isinstance(t, _tensor_type())):
        a["weight"] = None
        if "bias" in a:
            a["bias"] = None
        out = _call(fn, b.args, b.kwargs, _levels(a["input"]))
        return _affine_after(out, weight, bias, 0)
    return _call(fn, b.args, b.kwargs, _levels(a["input"]))


def _embedding_any(fn, args, kwargs):
    """``F.embedding(input, weight)`` / ``torch.embedding(weight, indices)``: an unbatched
    table is indexed with the batched indices as they are; a batched table per sample (the
    ``padding_idx`` row gets no gradient, as the op defines)."""
    b = _bind(fn, args, kwargs, defaults=True)
    a = b.arguments
    idx = a.get("input", a.get("indices"))
    weight = a["weight"]
    if not _levels(weight):
        return _call(fn, b.args, b.kwargs, _levels(idx))
    if a.get("max_norm") is not None:
        raise _no_rule(fn, " with a batched weight and max_norm")
    out = _batched_index(_orig("__getitem__"), weight, (idx,))
    pad = a.get("padding_idx")
    if pad is not None and pad != -1 or (pad == -1 and "input" in a):
        pad = pad % _meta_shape(weight)[0]
        out = _ops().where((idx == pad).unsqueeze(-1), out.detach(), out)
    return out


def _sample_loss(sample_ndim, reduce_default="mean"):
    """Losses over ``(N, *sample)`` inputs, or one unbatched sample of ``sample_ndim`` dims
    (``multi_margin_loss``, ``cosine_embedding_loss``, ``triplet_margin_loss``...): every
    batched tensor argument gets the union of batch dims, the batch folds into N, the loss is
    computed with reduction='none' and reduced per sample ('mean' over each sample's losses)."""

    def rule(fn, args, kwargs):
        b = _bind(fn, args, kwargs, defaults=True)
        a = b.arguments
        batched = [nm for nm, v in a.items() if isinstance(v, _tensor_type()) and _levels(v)]
        if any(nm not in _SAMPLE_ARGS for nm in batched):
            raise _no_rule(fn, " with batched class weights")
        names = [nm for nm, v in a.items() if isinstance(v, _tensor_type()) and
                 nm in _SAMPLE_ARGS]
        first = next(nm for nm, v in a.items() if isinstance(v, _tensor_type()))
        levels = _union([a[nm] for nm in names])
        k = len(levels)
        single = _logical_ndim(a[first]) == sample_ndim
        reduction = a.get("reduction", reduce_default)
        for key in ("size_average", "reduce"):
            if a.get(key) is not None:
                raise _no_rule(fn, f" with {key}")
        if reduction not in ("none", "mean", "sum"):
            raise ValueError(f"{reduction} is not a valid value for reduction")
        lead = None
        for nm in names:
            x = _align(a[nm], levels, expand=True)
            with _physical():
                if lead is None or nm == first:
                    lead = x._data.shape[:k] if single else x._data.shape[:k + 1]
                cut = k if single or _logical_ndim(a[nm]) == 0 else k + 1
                a[nm] = x.reshape(-1, *x._data.shape[cut:])
        a["reduction"] = "none"
        with _physical():
            loss = fn(*b.args, **b.kwargs)
            loss = loss.reshape(*lead, *loss._data.shape[1:])
            dims = tuple(range(k, loss._data.ndim))
            if reduction == "sum" and dims:
                loss = loss.sum(dims)
            elif reduction == "mean" and dims:
                loss = loss.mean(dims)
        return _mark(loss, levels)

    return rule


_SAMPLE_ARGS = ("input", "target", "input1", "input2", "anchor", "positive", "negative")


def _kl_div_rule(fn, args, kwargs):
    b = _bind(fn, args, kwargs, defaults=True)
    a = b.arguments
    reduction = a.get("reduction", "mean")
    x = a["input"]
    if reduction != "batchmean":
        return _pointwise_loss(2)(fn, b.args, b.kwargs)
    size0 = _meta_shape(x)[0] if _logical_ndim(x) else 1
    a["reduction"] = "sum"
    return _pointwise_loss(2)(fn, b.args, b.kwargs) / size0


_SPECIAL_ELEMENTWISE = """airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 chebyshev_polynomial_t
chebyshev_polynomial_u chebyshev_polynomial_v chebyshev_polynomial_w digamma entr erf erfc
erfcx erfinv exp2 expm1 gammainc gammaincc gammaln hermite_polynomial_h hermite_polynomial_he
i0 i0e i1 i1e laguerre_polynomial_l legendre_polynomial_p log1p log_ndtr logit
modified_bessel_i0 modified_bessel_i1 modified_bessel_k0 modified_bessel_k1 multigammaln ndtr
ndtri polygamma psi round scaled_modified_bessel_k0 scaled_modified_bessel_k1
shifted_chebyshev_polynomial_t shifted_chebyshev_polynomial_u shifted_chebyshev_polynomial_v
shifted_chebyshev_polynomial_w sinc spherical_bessel_j0 xlog1py xlogy zeta""".split()
for _n in _SPECIAL_ELEMENTWISE:
    _RULES["special." + _n] = _elementwise
for _n in ("log_softmax", "softmax", "logsumexp"):
    _RULES["special." + _n] = _RULES[_n]
for _n in ("isclose", "frexp", "real", "imag", "xlogy"):
    _RULES.setdefault(_n, _elementwise)
_RULES["real"] = _RULES["imag"] = _elementwise
_RULES["isin"] = _named_dims(dims=(), on=("elements",))
_RULES["bucketize"] = _named_dims(dims=())
for _n in ("max", "min"):
    _RULES[_n] = _max_min(_n)
# dims by parameter name
for _n in ("narrow_copy", "renorm", "diff", "trapezoid", "cumulative_trapezoid"):
    _RULES[_n] = _named_dims(on=("input", "y", "x", "prepend", "append"))
_RULES["renorm"] = _compose(_renorm)
_RULES["diff"] = _named_dims(on=("input", "prepend", "append"), pad=True)
for _n in ("trapezoid", "cumulative_trapezoid"):
    _HELPERS[_n + "_raw"] = _named_dims(on=("y", "x"))
    _RULES[_n] = _compose(_trapezoid_like(_n))
_RULES["renorm_"] = _inplace_via(_RULES["renorm"])
for _n in ("quantile", "nanquantile"):
    _RULES[_n] = _named_dims(none="flat")
_RULES["repeat_interleave"] = _named_dims(none="flat")
_RULES["take_along_dim"] = _named_dims(on=("input", "indices"), pad=True, none="flat")
_RULES["rot90"] = _named_dims(dims=("dims",))
_RULES["select_scatter"] = _named_dims(on=("input", "src"))
_RULES["slice_scatter"] = _named_dims(on=("input", "src"))
_RULES["diagonal_scatter"] = _named_dims(dims=("dim1", "dim2"), on=("input", "src"))
_RULES["diag_embed"] = _named_dims(dims=("dim1", "dim2"), extra=1)
_RULES["linalg.diagonal"] = _named_dims(dims=("dim1", "dim2"))
for _n in ("cross", "linalg.cross"):
    _RULES[_n] = _named_dims(on=("input", "other"), pad=True)
_RULES["linalg.vector_norm"] = _named_dims(none="flat")
_RULES["linalg.matrix_norm"] = _named_dims()
_RULES["linalg.norm"] = _compose(_linalg_norm)
_RULES["unfold"] = lambda fn, args, kwargs: (
    _named_dims(dims=("dimension",))(fn, args, kwargs)
    if "dimension" in _bind(fn, args, kwargs).signature.parameters
    else _fold_rule(2)(fn, args, kwargs))
_RULES["fold"] = _fold_rule(1)
for _n in ("split_with_sizes", "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes"):
    _RULES[_n] = _split_rule
for _n in ("index_add", "index_copy", "index_fill", "index_reduce", "index_add_",
           "index_copy_", "index_fill_", "index_reduce_"):
    _RULES[_n] = _index_dim_any
for _n in ("gather", "scatter", "scatter_add", "scatter_reduce", "scatter_", "scatter_add_",
           "scatter_reduce_", "index_select"):
    _RULES[_n] = _dim_first_rule
_RULES["index_select"] = lambda fn, args, kwargs: (
    _index_select_rule(fn, args, kwargs) if _levels(args[2] if len(args) > 2 else
                                                    kwargs["index"])
    else _dim_first_rule(fn, args, kwargs))
_RULES["flip"] = lambda fn, args, kwargs: (
    _flip_rule(fn, args, kwargs) if _logical_ndim(args[0]) else _unary(
        lambda x, *a, **kw: x.view_as(x), args[:1], {}))
for _n in ("cumsum_", "cumprod_"):
    _RULES[_n] = _dims_rule()
for _n, _rule in (("squeeze_", _squeeze_rule), ("unsqueeze_", _dims_rule(extra=1)),
                  ("transpose_", _two_dims_rule), ("t_", _t_rule)):
    _RULES[_n] = _shape_inplace(_rule)
for _n in ("addmm_", "addmv_", "addr_", "baddbmm_"):
    _RULES[_n] = _inplace_via(_addmm_rule)
_RULES["fill_"] = _fill_rule
# composed of batched ops
_RULES["addbmm"] = _compose(_addbmm)
_RULES["addbmm_"] = _inplace_via(_RULES["addbmm"])
for _n, _k in (("atleast_1d", 1), ("atleast_2d", 2), ("atleast_3d", 3)):
    _RULES[_n] = _compose(_atleast(_k))
_RULES["hstack"] = _compose(_hstack)
_RULES["vstack"] = _RULES["row_stack"] = _compose(
    lambda tensors, *, out=None: _ops().cat(_atleast(2)(list(tensors)), 0))
_RULES["dstack"] = _compose(
    lambda tensors, *, out=None: _ops().cat(_atleast(3)(list(tensors)), 2))
_RULES["column_stack"] = _compose(_column_stack)
_RULES["hsplit"] = _compose(_split_at(lambda n: 0 if n == 1 else 1))
_RULES["vsplit"] = _compose(_split_at(lambda n: 0))
_RULES["dsplit"] = _compose(_split_at(lambda n: 2))
_RULES["fliplr"] = _compose(_flip_axis(1))
_RULES["flipud"] = _compose(_flip_axis(0))
_RULES["kron"] = _compose(_kron)
_RULES["tensordot"] = _compose(_tensordot)
_RULES["inner"] = _compose(_inner)
_RULES["diag"] = _compose(_diag)
_RULES["diagflat"] = _compose(lambda x, offset=0: _ops().diag_embed(x.flatten(), offset))
_RULES["sum_to_size"] = _compose(_sum_to_size)
_RULES["linalg.vecdot"] = _compose(_vecdot)
_RULES["vdot"] = _compose(_vdot)
_RULES["dist"] = _compose(_dist)
_RULES["pdist"] = _compose(_pdist)
_RULES["chain_matmul"] = _compose(_chain)
_RULES["linalg.multi_dot"] = _compose(_chain)
_RULES["linalg.matmul"] = _matmul_rule
_RULES["bilinear"] = _compose(_bilinear)
_RULES["prelu"] = _compose(_prelu)
_RULES["take"] = _compose(_take)
_RULES["msort"] = _compose(_msort)
_RULES["adjoint"] = _compose(_adjoint)
# linear algebra on the last dims: the batch dims lead
for _n in ("cdist", "matrix_power", "linalg.matrix_power", "linalg.cholesky_ex",
           "linalg.eigvals", "linalg.householder_product", "linalg.inv_ex",
           "linalg.lu", "linalg.lu_factor", "linalg.lu_factor_ex", "linalg.matrix_rank",
           "linalg.solve_triangular", "linalg.vander", "linalg.cond", "linalg.svdvals",
           "linalg.eigvalsh", "cholesky_inverse", "cholesky_solve",
           "lu", "qr", "svd", "triangular_solve", "ormqr", "orgqr", "geqrf", "nuclear_norm",
           "pixel_shuffle", "pixel_unshuffle", "searchsorted",
           "logdet", "linalg.pinv", "pinverse"):
    _RULES[_n] = _transparent
for _n in ("linalg.solve", "linalg.solve_ex"):
    _RULES[_n] = _vector_rule
# operands of different ranks (pivots, tau): batch dims only
for _n in ("linalg.householder_product", "orgqr", "ormqr", "lu_solve", "linalg.lu_solve",
           "lu_unpack"):
    _RULES[_n] = functools.partial(_transparent, pad=False)
_RULES["nuclear_norm"] = _named_dims()
# nn.functional
for _n in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "local_response_norm"):
    _RULES[_n] = _fold_rule(None)
for _n, _sp in (("lp_pool1d", 1), ("lp_pool2d", 2), ("lp_pool3d", 3), ("avg_pool3d", 3),
                ("adaptive_max_pool3d", 3)):
    _RULES[_n] = _fold_rule(_sp)
for _n, _sp in (("max_unpool1d", 1), ("max_unpool2d", 2), ("max_unpool3d", 3)):
    _RULES[_n] = _fold_all(_sp, ("input", "indices"))
_RULES["grid_sample"] = _fold_all(None, ("input", "grid"))
_RULES["affine_grid"] = _affine_grid_rule
for _n in ("pad", "constant_pad_nd"):
    _RULES[_n] = _pad_any
for _n in ("batch_norm", "instance_norm"):
    _RULES[_n] = _batch_norm_any
for _n in ("layer_norm", "rms_norm"):
    _RULES[_n] = _last_dims_norm
_RULES["embedding"] = _embedding_any
for _n in ("feature_dropout", "feature_dropout_", "feature_alpha_dropout_", "alpha_dropout_"):
    _RULES[_n] = _unary
for _n, _sp in (("dropout1d", 1), ("dropout2d", 2), ("dropout3d", 3)):
    _RULES[_n] = _fold_rule(_sp)
_RULES["margin_ranking_loss"] = _pointwise_loss(3)
_RULES["gaussian_nll_loss"] = _compose(_gaussian_nll)
for _n in ("hinge_embedding_loss", "poisson_nll_loss"):
    _RULES[_n] = _pointwise_loss(2)
_RULES["kl_div"] = _kl_div_rule
for _n in ("multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss"):
    _RULES[_n] = _sample_loss(1)


def _as(op):
    def rule(fn, args, kwargs):
        other = args[1]
        shape = tuple(other._data.shape[len(_levels(other)):])
        return _RULES[op](_orig(op), (args[0], shape), {})

    return rule


_RULES["view_as"] = _as("view")
_RULES["reshape_as"] = _as("reshape")
_RULES["expand_as"] = _as("expand")

# ops drawing random numbers: randomness='error' refuses them inside a vmap
_RANDOM = {"rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm",
           "normal", "bernoulli", "multinomial", "poisson", "dropout", "dropout_",
           "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d",
           "rrelu", "rrelu_", "uniform_", "normal_", "bernoulli_", "exponential_",
           "random_", "cauchy_", "log_normal_", "geometric_"}


_LIKE = ("zeros_like", "ones_like", "full_like", "empty_like")
for _n in _LIKE:
    _RULES[_n] = _unary


# ---- the op records' batching rules ------------------------------------------------------------
# NOTE [op records] (ember/_records.py): a record declares its batching rule as a generic
# category beside the op (``batch="elementwise"`` from the unary family's factory) or gets the
# rule this module keeps under one of its published names (``_bind_records``, when vmap loads);
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
        from .ops.join import stack

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
    """Give every record the rule kept here under one of its names, and every in-place variant
    of an elementwise op the in-place rule; returns the rule keys that name no publication."""
    from . import _records

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


# ---- printing --------------------------------------------------------------------------------

def _batched_repr(t, plain):
    """``repr`` of a batched value inside a vmap, as PyTorch prints its BatchedTensor: the
    innermost level wraps the value batched at the outer ones; ``lvl`` counts the active vmaps
    from 1 and ``bdim`` is 0 (ember keeps batch dims in front: NOTE [batched tensors]).
    ``plain`` prints the physical tensor. None when ``t`` is not batched here."""
    if not _L.stack or _L.bypass[0]:
        return None
    own = _levels(t)
    if not own:
        return None
    active = [lv for lv, _, _ in _L.stack]
    with _physical():
        text = plain(t)  # every level's dim is in the physical value, as PyTorch shows it
    for depth, lv in enumerate(own):
        lvl = active.index(lv) + 1 if lv in active else depth + 1
        body = "\n".join("    " + line if line else line for line in text.split("\n"))
        text = f"BatchedTensor(lvl={lvl}, bdim=0, value=\n{body}\n)"
    return text


# ---- custom autograd.Function --------------------------------------------------------------
# NOTE [custom Function under vmap]: ``Function.apply`` with an argument batched at an active
# level (autograd/function.py) comes here, as PyTorch's functorch does: a Function must use the
# ``setup_context`` style; with ``generate_vmap_rule = True`` it runs as is (the ops in its
# forward batch themselves, and its backward runs on the physical tensors like every rule);
# otherwise its ``vmap(info, in_dims, *args)`` staticmethod is called for the innermost level
# an argument is batched at, with that level's batch dim shown as the arguments' dim 0 (in_dim
# 0, None for the others) and the outer levels still batched, and the output dims it returns
# become that level's batch dims again. The vmap staticmethod's own ``apply`` calls handle the
# outer levels the same way.

_FUNC_NOTES = "For more details, please see https://pytorch.org/docs/main/notes/extending.func.html"


def _vmap_info():
    from collections import namedtuple

    got = _VMAP_INFO[0]
    if got is None:
        got = _VMAP_INFO[0] = namedtuple("VmapInfo", ["batch_size", "randomness"])
    return got


_VMAP_INFO: list = [None]


def _function_batched(args, kwargs) -> bool:
    """Whether a custom Function's ``apply`` must go through ``_custom_function``."""
    return bool(_L.stack) and not _L.bypass[0] and _batched_in(args, kwargs)


def _custom_function(cls, args, kwargs, apply):
    """``cls.apply(*args, **kwargs)`` inside a vmap: ``(ctx or None, output)``; ``apply`` is
    the plain call ``(cls, args, kwargs) -> (ctx, output)``."""
    from .autograd.function import Function

    Tensor = _tensor_type()
    if cls.setup_context is Function.setup_context:
        raise RuntimeError(
            "In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, "
            "jacrev, ...), it must override the setup_context staticmethod. " + _FUNC_NOTES)
    if getattr(cls, "generate_vmap_rule", False):
        return apply(cls, args, kwargs)
    if cls.vmap is Function.vmap:
        raise RuntimeError(
            f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please "
            "override and implement the vmap staticmethod or set generate_vmap_rule=True. "
            + _FUNC_NOTES)
    level = max(_union(_tensors(args, kwargs)))
    randomness = next(r for lv, _, r in _L.stack if lv == level)
    in_dims, shown = [], []
    for a in args:
        own = _levels(a) if isinstance(a, Tensor) else ()
        if level in own:  # innermost of its levels: its batch dim is the last one in front
            with _physical():
                v = a.view_as(a)
            shown.append(_mark(v, own[:-1]))
            in_dims.append(0)
        else:
            shown.append(a)
            in_dims.append(None)
    result = cls.vmap(_vmap_info()(_L.sizes[level], randomness), tuple(in_dims), *shown, **kwargs)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise RuntimeError(f"Expected the vmap staticmethod to have two returns, an output and "
                           f"out_dims with pytree structure compatible with the output. Got "
                           f"{type(result)}")
    out, out_dims = result
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    dims = (out_dims,) * len(outs) if out_dims is None or isinstance(out_dims, int) \
        else tuple(out_dims)
    if len(dims) != len(outs):
        raise RuntimeError(f"Expected the vmap staticmethod to have two returns, an output and "
                           f"out_dims with pytree structure compatible with the output. Got "
                           f"out_dims={out_dims}")
    taken = {id(a) for a in args}
    rebatched = []
    for o, d in zip(outs, dims):
        if not isinstance(o, Tensor) or d is None:
            rebatched.append(o)
            continue
        own = _levels(o)
        if d % max(_logical_ndim(o), 1) != 0:
            o = o.movedim(d, 0)
        elif id(o) in taken:  # an argument returned as is: mark a view, not the caller's tensor
            with _physical():
                o = o.view_as(o)
        rebatched.append(_mark(o, (*own, level)))
    return None, rebatched[0] if single else tuple(rebatched)


def _rule_key(owner_name, name):
    if owner_name in ("linalg", "special") and name not in ("expit",):
        return f"{owner_name}.{name}"
    return name


# ---- the wrappers ----------------------------------------------------------------------------

_ORIGINALS: dict = {}


def _orig(name):
    """The unwrapped Tensor method ``name`` (rules that dispatch to another op)."""
    fn = _ORIGINALS.get(name)
    if fn is None:
        fn = getattr(_tensor_type(), name)
        fn = getattr(fn, "_vmap_wrapped", fn)
    return fn


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


def _check_random(key, args, kwargs, fn=None):
    """randomness='error' refuses random ops; 'same' draws one value for every sample (so a
    random op on a batched tensor has no rule); 'different' draws per sample (so a random op
    must see a batched tensor to know the batch)."""
    mode = _L.stack[-1][2]
    if key.startswith(("dropout", "alpha_dropout", "feature_alpha", "rrelu")) and fn:
        # nothing random to draw when not training or (dropouts) with p == 0, as PyTorch
        a = _bind(fn, args, kwargs, defaults=True).arguments
        if not a.get("training", a.get("train", True)) or a.get("p", 1) == 0:
            return
    if mode == "error":
        raise RuntimeError(
            "vmap: called random operation while in randomness error mode. Please either use "
            "the 'same' or 'different' randomness flags on vmap or perform the randomness "
            "operation out of vmap")
    batched = _batched_in(args, kwargs)
    if mode == "same" and batched and key not in _SAME or mode == "different" and (
            not batched and key not in _RANDOM_CREATION):
        raise RuntimeError(f"vmap: no batching rule for {key} with randomness='{mode}' yet")


_RANDOM_CREATION = ("rand", "randn", "randint")


def _stand_in(t):
    """A view of one sample of ``t`` (logical shape, unbatched) to draw 'same' randomness."""
    with _physical():
        return t[(0,) * len(_levels(t))]


def _same_like(fn, args, kwargs):
    """``rand_like`` & co. under randomness='same': one draw of a sample's shape."""
    with _physical():
        return fn(_stand_in(args[0]), *args[1:], **kwargs)


def _same_dropout(fn, args, kwargs):
    """``dropout`` under randomness='same': one mask of a sample's shape, applied to every
    sample (the mask holds 0 or ``1 / (1 - p)``, so ``x * mask`` is the dropout)."""
    names = ("input", "p", "training", "inplace")
    bound = dict(zip(names, args))
    bound.update(kwargs)
    from .creation import ones_like

    with _physical():
        mask = fn(ones_like(_stand_in(bound["input"])), bound.get("p", 0.5), True)
    return bound["input"] * mask


def _sampler(fn, args, kwargs):
    """An in-place sampler (``uniform_``, ``normal_``, ...) on a batched tensor under
    randomness='different': one draw over the physical tensor (batch dims in front), so every
    sample gets its own values."""
    with _physical():
        fn(*args, **kwargs)
    return args[0]


def _same_sampler(fn, args, kwargs):
    """An in-place sampler under randomness='same': one sample's draw, copied into each."""
    self = args[0]
    with _physical():
        one = fn(_stand_in(self).detach().clone(), *args[1:], **kwargs)
        self.copy_(one)
    return self


_SAMPLERS = ("uniform_", "normal_", "random_", "bernoulli_", "exponential_", "geometric_",
             "cauchy_", "log_normal_")
for _n in _SAMPLERS:
    _RULES[_n] = _sampler
_SAME = {"rand_like": _same_like, "randn_like": _same_like, "randint_like": _same_like,
         "dropout": _same_dropout, **{n: _same_sampler for n in _SAMPLERS}}


def _random_creation(fn, key, args, kwargs):
    """``rand`` / ``randn`` / ``randint`` under randomness='different': one draw for the
    whole batch, of shape batch + size, so every sample gets its own values."""
    levels = tuple(lv for lv, _, _ in _L.stack)
    batch = tuple(_L.sizes[lv] for lv in levels)
    kwargs = dict(kwargs)
    if key == "randint":
        if "size" in kwargs:
            kwargs["size"] = (*batch, *kwargs["size"])
        else:
            args = (*args[:-1], (*batch, *args[-1]))
    else:
        size = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        size = kwargs.pop("size", size)
        args = (*batch, *size)
    return _call(fn, args, kwargs, levels)


def _meta_shape(self):
    levels = _levels(self) if _L.stack and not _L.bypass[0] else ()
    from ._size import Size

    return Size(self._data.shape[len(levels):])


def _meta_size(self, dim=None):
    levels = _levels(self) if _L.stack and not _L.bypass[0] else ()
    shape = self._data.shape[len(levels):]
    if dim is None:
        from ._size import Size

        return Size(shape)
    n = len(shape)
    m = max(n, 1)
    if not -m <= dim < m:
        raise _dim_error(dim, n)
    return shape[dim % m]


def _meta_dim(self):
    levels = _levels(self) if _L.stack and not _L.bypass[0] else ()
    return self._data.ndim - len(levels)


def _meta_numel(self):
    levels = _levels(self) if _L.stack and not _L.bypass[0] else ()
    n = 1
    for s in self._data.shape[len(levels):]:
        n *= s
    return n


def _meta_len(self):
    shape = _meta_shape(self)
    if not shape:
        raise TypeError("len() of a 0-d tensor")
    return shape[0]


def _data_dependent(self, *args):
    if _L.stack and not _L.bypass[0] and _levels(self):
        raise RuntimeError(
            "vmap: It looks like you're attempting to use a Tensor in some data-dependent "
            "control flow. We don't support that yet, please file an issue at "
            "https://github.com/pytorch/pytorch/issues .")
    return _saved_meta["Tensor.__bool__"](self, *args)


def _data_item(self):
    if _L.stack and not _L.bypass[0] and _levels(self):
        raise RuntimeError(
            "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
            "calling .item() on a Tensor, please try to rewrite what you're doing with other "
            "operations. If error is occurring somewhere inside PyTorch internals, please file "
            "a bug report.")
    return _saved_meta["Tensor.item"](self)


def _guard(name, message):
    """Tensor method ``name`` refusing a batched tensor with PyTorch's ``message``."""

    def guarded(self, *args, **kwargs):
        if _L.stack and not _L.bypass[0] and _levels(self):
            raise RuntimeError(message)
        return _saved_meta["Tensor." + name](self, *args, **kwargs)

    return guarded


_ITEM_ERROR = (
    "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
    "calling .item() on a Tensor, please try to rewrite what you're doing with other "
    "operations. If error is occurring somewhere inside PyTorch internals, please file "
    "a bug report.")
_NO_STORAGE = "Cannot access data pointer of Tensor that doesn't have storage"
_GUARDED = {"__float__": _ITEM_ERROR, "__int__": _ITEM_ERROR, "__index__": _ITEM_ERROR,
            "__complex__": _ITEM_ERROR, "tolist": _NO_STORAGE, "numpy": _NO_STORAGE}


def _meta_iter(self):
    if not (_L.stack and not _L.bypass[0] and _levels(self)):
        return _saved_meta["Tensor.__iter__"](self)
    if _logical_ndim(self) == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(self.unbind(0))


def _data_prop(orig):
    def get(self):
        if _L.stack and not _L.bypass[0] and _levels(self):
            raise RuntimeError("accessing `data` under vmap transform is not allowed")
        return orig.__get__(self)

    return property(get, orig.fset)


_saved_meta: dict = {}


def _meta_prop(rule, orig):
    def get(self):
        if _L.stack and not _L.bypass[0] and _levels(self):
            return rule(self)
        return orig.__get__(self)

    return property(get)


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
        from .creation import ones_like

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
        # (the rule kept under the name, else the record's own: NOTE [op records] below)
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

    from .tensor import Tensor

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

    from .tensor import Tensor

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


# ---- vmap ------------------------------------------------------------------------------------

def _name(func):
    return getattr(func, "__name__", repr(func))


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorize ``func`` over dimension ``in_dims`` of its inputs; the mapped dimension of the
    outputs is ``out_dims``.

    >>> ember.func.vmap(ember.dot)(ember.ones(3, 2), ember.ones(3, 2))
    tensor([2., 2., 2.])
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        flat, spec, dims, size = _check_inputs(func, in_dims, args)
        if chunk_size is None or chunk_size >= size:
            return _vmap_once(func, flat, spec, dims, size, kwargs, out_dims, randomness)
        pieces = []
        for start in range(0, size, chunk_size):
            n = min(chunk_size, size - start)
            part = [a if d is None else a.narrow(d, start, n) for a, d in zip(flat, dims)]
            pieces.append(_vmap_once(func, part, spec, dims, n, kwargs, out_dims, randomness))
        return _join_chunks(pieces, out_dims)

    return wrapped


def _check_inputs(func, in_dims, args):
    Tensor = _tensor_type()
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): expected "
                         "`in_dims` to be int or a (potentially nested) tuple matching the "
                         f"structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to "
                         "add inputs, or you are trying to vmap over a function with no inputs. "
                         "The latter is unsupported.")
    # the inputs, in_dims and out_dims are pytrees (ember/_pytree.py), as in PyTorch: which
    # containers count, the key order of dicts, how in_dims broadcast to the inputs (a dict of
    # in_dims hands its values out in its own key order) and the TreeSpec the errors print
    flat, spec = _pytree.tree_flatten(args)
    dims = _pytree._broadcast_to_and_flatten(in_dims, spec)
    if dims is None:
        raise ValueError(
            f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): in_dims is not "
            "compatible with the structure of `inputs`. in_dims has structure "
            f"{_pytree.tree_structure(in_dims)} but inputs has structure {spec}.")
    dims = list(dims)
    for i, (a, d) in enumerate(zip(flat, dims)):
        if not isinstance(d, int) and d is not None:
            raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): Got "
                             f"in_dim={d} for an input but in_dim must be either an integer "
                             "dimension or None.")
        if isinstance(d, int) and not isinstance(a, Tensor):
            raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): Got "
                             f"in_dim={d} for an input but the input is of type {type(a)}. We "
                             "cannot vmap over non-Tensor arguments, please use None as the "
                             "respective in_dim")
        if d is not None:
            n = a.dim()
            if not -n <= d < n:
                raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): Got "
                                 f"in_dim={d} for some input, but that input is a Tensor of "
                                 f"dimensionality {n} so expected in_dim to satisfy -{n} <= "
                                 f"in_dim < {n}.")
            dims[i] = d % n
    sizes = [a.size(d) for a, d in zip(flat, dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return flat, spec, dims, sizes[0]


def _vmap_once(func, flat, spec, dims, size, kwargs, out_dims, randomness):
    level = next(_next_level)
    if not _L.stack:
        _install()
    _L.stack.append((level, size, randomness))
    _L.sizes[level] = size
    try:
        inputs = []
        for a, d in zip(flat, dims):
            if d is None:
                inputs.append(a)
                continue
            own = _levels(a)
            k = len(own)
            with _physical():
                moved = a.movedim(k + d, k)
            inputs.append(_mark(moved, (*own, level)))
        run = _WRAPPERS.get(func, func) if isinstance(func, FunctionType) else func
        out = run(*spec.unflatten(inputs), **kwargs)
        return _unbatch(func, out, out_dims, level, size)
    finally:
        _L.stack.pop()
        _L.sizes.pop(level, None)
        for key in [key for key, (_, lv) in _L.table.items() if level in lv]:
            del _L.table[key]
        if not _L.stack:
            _uninstall()


def _unbatch(func, out, out_dims, level, size):
    Tensor = _tensor_type()
    flat, spec = _pytree.tree_flatten(out)
    if isinstance(out, Tensor):
        if isinstance(out_dims, int) or out_dims is None:
            odims = [out_dims]
        elif isinstance(out_dims, tuple) and len(out_dims) == 1:
            odims = list(out_dims)
        else:
            odims = None
    else:
        odims = _pytree._broadcast_to_and_flatten(out_dims, spec)
    if odims is None:
        raise ValueError(
            f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            "compatible with the structure of `outputs`. out_dims has structure "
            f"{_pytree.tree_structure(out_dims)} but outputs has structure {spec}.")
    results = []
    for o, d in zip(flat, odims):
        if not isinstance(d, int) and d is not None:
            raise ValueError(
                f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, "
                "None or a python collection of ints representing where in the outputs the "
                "vmapped dimension should appear.")
        if d is None:
            if isinstance(o, Tensor) and level in _levels(o):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` can not return a "
                                 "BatchedTensor when out_dim is None")
            results.append(o)
            continue
        if not isinstance(o, Tensor):
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                             f"Tensors, got type {type(o)}. Did you mean to set out_dims= to "
                             "None for output?")
        own = _levels(o)
        rest = tuple(lv for lv in own if lv != level)
        with _physical():
            if level in own:
                pos = own.index(level)
                x = o
            else:  # not batched here: every sample has the same value
                x = _align(o, (*own, level), expand=True)
                pos = len(own)
            n = x._data.ndim - len(rest)  # logical rank with this level's dim
            if not -(n) <= d < n:
                raise _dim_error(d, n)
            if pos != len(rest) + d % n:  # in place already: the op's own output, as PyTorch
                x = x.movedim(pos, len(rest) + d % n)
        results.append(_mark(x, rest) if rest else x)
    return spec.unflatten(results)


def _join_chunks(pieces, out_dims):
    from .ops.join import cat

    Tensor = _tensor_type()
    flats = [_pytree.tree_flatten(p) for p in pieces]
    spec = flats[0][1]
    if isinstance(pieces[0], Tensor):
        odims = [out_dims if not isinstance(out_dims, tuple) else out_dims[0]]
    else:
        odims = _pytree._broadcast_to_and_flatten(out_dims, spec)
    joined = []
    for i, d in enumerate(odims):
        parts = [f[0][i] for f in flats]
        joined.append(parts[0] if d is None else cat(parts, d))
    return spec.unflatten(joined)
