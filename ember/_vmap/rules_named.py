"""The batching rules read by parameter name (issue 14).

Contract: these rules bind an op's arguments by its parameter names (``_bind``), so one rule
serves the spellings that order them differently (``torch.batch_norm`` and ``F.batch_norm``,
``torch.embedding(weight, indices)`` and ``F.embedding(input, weight)``): dim arguments shifted
by name (``_named_dims``); rules composed of public ops on the logical values (``_compose``:
kron, tensordot, the ``*stack`` family, diag/diagflat, pdist...), whose bodies look the ops up
at call time (``_ops()``, ``_orig_op``, ``_orig_fn``) and so batch through the ops' own rules;
index/scatter ops with batched indices; in-place forms computed out of place and copied into
``self``; and nn.functional ops with the batch folded into N (interpolate, grid_sample, unpools,
padding modes), ``batch_norm`` in training with per-sample statistics and per-sample losses.
This module loads after the positional rule modules and its keys replace theirs.
"""

from __future__ import annotations

import functools

from ._state import (
    _HELPERS,
    _L,
    _RULES,
    _align,
    _bind,
    _call,
    _finish,
    _levels,
    _logical_ndim,
    _map_tensors,
    _mark,
    _no_rule,
    _norm_dim,
    _ops,
    _orig,
    _physical,
    _tensor_type,
    _tensors,
    _union,
)
from .metadata import _meta_shape
from .rules_dims import _addmm_rule, _dims_rule, _index_select_rule
from .rules_elementwise import _elementwise, _inplace, _unary
from .rules_matmul import _matmul_rule
from .rules_nn import _affine_after, _fold_rule, _pointwise_loss
from .rules_shape import (
    _batched_index,
    _flip_rule,
    _split_rule,
    _squeeze_rule,
    _t_rule,
    _two_dims_rule,
)


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
    from ..creation import arange

    with _physical():
        batch = px._data.shape[:k]
        bs = 1
        for s in batch:
            bs *= s
        x = px.movedim(k + dd, k).reshape(bs * px._data.shape[k + dd],
                                          *[s for i, s in enumerate(px._data.shape[k:])
                                            if i != dd])
        size = px._data.shape[k + dd]
        idx = (pi.reshape(bs, -1) % size
               + arange(bs, device=pi.device).reshape(bs, 1) * size).reshape(-1)
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
