"""Distances and similarities: cosine_similarity, pairwise_distance, cdist, pdist, normalize,
one_hot.

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import zeros_as
from ._jvp import fiberwise, out_zeros
from ._reduce import _dims
from ._registry import node_class, record, recording, register, wrap
from .indexing import _advanced_index, index_put_accumulate
from .select import where
from .vector_norm import _norm_vjp, linalg_vector_norm

FUNCTIONAL = ["cosine_similarity", "pairwise_distance", "pdist", "normalize", "one_hot"]


# ---- cosine_similarity ----
def _value_clamped(t, eps):
    """``t`` with values clamped below at ``eps`` but the gradient of ``t`` itself.

    NOTE: PyTorch clamps a clone of the norm in place under no_grad, so the clamp changes the
    value and not the graph; adding the (constant) difference does the same here."""
    return t + wrap(np.maximum(t._data, eps) - t._data)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``sum(x1 / |x1| * x2 / |x2|)`` over ``dim``; each norm's value is clamped at ``eps``."""
    common = _dt.result_type(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError("expected common dtype to be floating point, yet common dtype is "
                           f"{common.scalar_name}")
    # NOTE: integer (and bool) inputs are converted to the common dtype, as PyTorch.
    if x1._data.dtype.kind in "biu":
        x1 = x1.to(common)
    if x2._data.dtype.kind in "biu":
        x2 = x2.to(common)
    if x1._data.shape != x2._data.shape:
        # NOTE: norms are taken after broadcasting (a size-1 dim of one input repeats along
        # the other's), as PyTorch does
        from .shape import broadcast_tensors

        x1, x2 = broadcast_tensors(x1, x2)
    n1 = _value_clamped(linalg_vector_norm(x1, 2, dim, keepdim=True), eps)
    n2 = _value_clamped(linalg_vector_norm(x2, 2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


# ---- pairwise_distance (PyTorch: norm(x1 - x2 + eps, p, last dim)) ----
def _pnorm_vjp(ctx, g):
    if ctx.args[0] == 0:  # the count of nonzeros: no gradient (None, as PyTorch)
        return (None,)
    return _norm_vjp(ctx, g)


NormBackward1 = node_class("NormBackward1", _pnorm_vjp,
                           fiberwise(lambda ctx: (ctx.args[2], ctx.args[3])))


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dim (inputs broadcast)."""
    d = x1 - x2 + eps
    dims = _dims(max(x1._data.ndim, x2._data.ndim) - 1, d._data.ndim)
    data = linalg_vector_norm(wrap(d._data), p, dims, keepdim)._data
    if STATE.enabled and recording(d):
        return record(NormBackward1, data, (d,), save=(d,), save_out=True,
                      args=(float(p), d._data.shape, dims, keepdim))
    return wrap(data)


# ---- cdist / pdist ----
def _dist_slope(diff, dist, p):
    """d dist / d diff for ``dist = |diff|_p`` over the last dim (0 where dist is 0, as
    PyTorch)."""
    if p == 0:
        return diff * 0.0
    if p == 1:
        return diff.sign()
    if p == float("inf"):
        # NOTE: PyTorch sends the full slope to every coordinate that attains the max.
        return diff.sign() * wrap(np.abs(diff._data) == dist._data)
    zero = wrap(dist._data == 0)
    safe = where(zero, 1.0, dist)
    if p == 2:
        return where(zero, 0.0, diff / safe)
    return where(zero, 0.0, diff.sign() * diff.abs() ** (p - 1) / safe ** (p - 1))


def _cdist_parts(ctx):
    x1, x2, out = ctx.saved_tensors
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return _dist_slope(diff, out.unsqueeze(-1), ctx.args[0])


def _cdist_vjp(ctx, g):
    gd = g.unsqueeze(-1) * _cdist_parts(ctx)
    return (gd.sum(-2) if ctx.next_functions[0][0] is not None else None,
            -gd.sum(-3) if ctx.next_functions[1][0] is not None else None)


def _cdist_jvp(ctx, t1, t2):
    if t1 is None and t2 is None:
        return out_zeros(ctx)
    slope = _cdist_parts(ctx)
    dt = t1.unsqueeze(-2) if t1 is not None else None
    if t2 is not None:
        dt = -t2.unsqueeze(-3) if dt is None else dt - t2.unsqueeze(-3)
    return (slope * dt).sum(-1).expand(ctx._meta[0][0])


CdistBackward0 = node_class("CdistBackward0", _cdist_vjp, _cdist_jvp)


def _pnorm_last(diff, p):
    a = np.abs(diff)
    if p == 2:
        return np.sqrt(np.sum(a * a, axis=-1))
    if p == 1:
        return np.sum(a, axis=-1)
    if p == float("inf"):
        # (0 over an empty last dim; CuPy's max takes no ``initial``)
        if not a.shape[-1]:
            return zeros_as(a, shape=a.shape[:-1], order="C")
        return np.max(a, axis=-1)
    if p == 0:
        return np.sum(a != 0, axis=-1).astype(diff.dtype)
    return np.sum(a ** p, axis=-1) ** (1.0 / p)


def _euclidean_vjp(ctx, g):
    x1, x2, res = ctx.saved_tensors
    # NOTE: PyTorch's _euclidean_dist_backward; the subgradient at a zero distance is 0.
    zero = wrap(res._data == 0)
    ratio = where(zero, 0.0, g / where(zero, 1.0, res))
    return (x1 * ratio.sum(-1, keepdim=True) - ratio.matmul(x2),
            x2 * ratio.sum(-2).unsqueeze(-1) - ratio.transpose(-2, -1).matmul(x1))


def _euclidean_jvp(ctx, t1, t2):
    x1, x2, res = ctx.saved_tensors
    num = None
    if t1 is not None:
        num = (x1 * t1).sum(-1, keepdim=True) - t1.matmul(x2.transpose(-2, -1))
    if t2 is not None:
        n2 = (x2 * t2).sum(-1).unsqueeze(-2) - x1.matmul(t2.transpose(-2, -1))
        num = n2 if num is None else num + n2
    if num is None:
        return out_zeros(ctx)
    zero = wrap(res._data == 0)
    return where(zero, 0.0, num / where(zero, 1.0, res))


EuclideanDistBackward0 = node_class("EuclideanDistBackward0", _euclidean_vjp, _euclidean_jvp)


def _euclidean_dist(x1, x2):
    """PyTorch's matmul form of p=2 cdist on 3-D inputs: sqrt(max(|a|^2 - 2 a.b + |b|^2, 0))."""
    a, b = x1._data, x2._data
    sq = (a * a).sum(-1)[..., :, None] + (b * b).sum(-1)[..., None, :]
    sq -= 2 * (a @ b.swapaxes(-1, -2))
    data = np.sqrt(np.maximum(sq, 0)).astype(a.dtype, copy=False)
    if STATE.enabled and recording(x1, x2):
        return record(EuclideanDistBackward0, data, (x1, x2), save=(x1, x2), save_out=True)
    return wrap(data)


_COMPUTE_MODES = {"use_mm_for_euclid_dist_if_necessary": 0, "use_mm_for_euclid_dist": 1,
                  "donot_use_mm_for_euclid_dist": 2}


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Batched ``p``-norm distances between the rows of ``x1`` (..., P, M) and ``x2``
    (..., R, M): shape (..., P, R).

    NOTE: as PyTorch, p=2 with more than 25 rows on either side (or
    ``compute_mode='use_mm_for_euclid_dist'``) uses the matmul form (EuclideanDistBackward0
    under a view); otherwise the direct difference form (CdistBackward0)."""
    if compute_mode not in _COMPUTE_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    mode = _COMPUTE_MODES[compute_mode]
    a, b = x1._data, x2._data
    for name, t in (("X1", a), ("X2", b)):
        if t.dtype.kind not in "fV":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_dt.from_np(t.dtype).scalar_name}")
    if a.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D")
    if b.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {b.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} "
                           f"X2: {b.shape[-1]}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {_dt.from_np(a.dtype).scalar_name} but found "
                           f"{_dt.from_np(b.dtype).scalar_name}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if a.dtype.itemsize == 2:  # PyTorch's CPU kernel has no float16/bfloat16 version
        raise NotImplementedError(
            f"\"cdist\" not implemented for '{_dt.from_np(a.dtype).scalar_name}'")
    p = float(p)
    r1, r2 = a.shape[-2], b.shape[-2]
    if (p == 2 and a.size and b.size and a.shape[-1]
            and (mode == 1 or (mode == 0 and (r1 > 25 or r2 > 25)))):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        n = int(np.prod(batch))
        e1 = x1.expand(*batch, *a.shape[-2:]).reshape(n, *a.shape[-2:])
        e2 = x2.expand(*batch, *b.shape[-2:]).reshape(n, *b.shape[-2:])
        return _euclidean_dist(e1, e2).view(*batch, r1, r2)
    data = _pnorm_last(a[..., :, None, :] - b[..., None, :, :], p).astype(a.dtype, copy=False)
    if STATE.enabled and recording(x1, x2):
        return record(CdistBackward0, data, (x1, x2), save=(x1, x2), save_out=True, args=(p,))
    return wrap(data)


def _pdist_parts(ctx):
    x, out = ctx.saved_tensors
    p, rows, cols = ctx.args
    diff = _advanced_index(x, (rows,)) - _advanced_index(x, (cols,))
    return _dist_slope(diff, out.unsqueeze(-1), p)


def _pdist_vjp(ctx, g):
    x_shape = ctx.next_functions[0][0]._meta[ctx.next_functions[0][1]][0]
    rows, cols = ctx.args[1], ctx.args[2]
    gd = g.unsqueeze(-1) * _pdist_parts(ctx)
    return (index_put_accumulate(gd, x_shape, (rows,)) -
            index_put_accumulate(gd, x_shape, (cols,)),)


def _pdist_jvp(ctx, t):
    if t is None:
        return out_zeros(ctx)
    rows, cols = ctx.args[1], ctx.args[2]
    dt = _advanced_index(t, (rows,)) - _advanced_index(t, (cols,))
    return (_pdist_parts(ctx) * dt).sum(-1)


PdistBackward0 = node_class("PdistBackward0", _pdist_vjp, _pdist_jvp)


def pdist(input, p=2):
    """Distances between each pair of rows ``i < j`` of a 2-D ``input`` (row-major order)."""
    a = input._data
    if a.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {a.ndim}D")
    if a.dtype.kind not in "fV":
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    p = float(p)
    rows, cols = np.triu_indices(a.shape[0], 1)
    data = _pnorm_last(a[rows] - a[cols], p).astype(a.dtype, copy=False)
    if STATE.enabled and recording(input):
        return record(PdistBackward0, data, (input,), save=(input,), save_out=True,
                      args=(p, rows, cols))
    return wrap(data)


# ---- normalize ----
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(|input|_p over dim, eps)`` (as PyTorch: one DivBackward0)."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    # NOTE: PyTorch writes into ``out`` (no autograd through out= results).
    return out.copy_((input / denom).detach())


# ---- one_hot ----
def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding: shape ``tensor.shape + (num_classes,)``."""
    t = tensor._data
    if t.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        if t.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        num_classes = int(t.max()) + 1
    elif t.size:
        if t.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if t.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    if num_classes < 0:
        raise RuntimeError("Class values must be smaller than num_classes.")
    xp = np if type(t) is np.ndarray else namespace(t)
    return wrap((t[..., None] == xp.arange(num_classes)).astype(np.int64))


register(cosine_similarity, method=False)
register(pairwise_distance, method=False)
register(cdist, method=False)
register(pdist, method=False)
