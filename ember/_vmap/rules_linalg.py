"""Batching rules of the ops that already treat leading dims as batch dims.

Contract: linalg on matrices (inv, det, solve, cholesky, svd, qr, eigh, lu...), attention,
``cdist``, ``pixel_shuffle``, ``searchsorted`` and the like get the union of batch dims in front
of every tensor, expanded (``_transparent``; with ``pad`` also their logical dims padded to one
rank); ``linalg.solve``/``solve_ex`` with a vector right-hand side solve it as a one-column
matrix (``_vector_rule``); the vector, matrix and ``linalg.norm`` norms take their dims by name
(rules_named.py's ``_named_dims``, so this module loads after it).
"""

from __future__ import annotations

import functools

from ._state import (
    _RULES,
    _align,
    _bind,
    _call,
    _finish,
    _levels,
    _logical_ndim,
    _map_tensors,
    _ops,
    _physical,
    _tensor_type,
    _tensors,
    _union,
)
from .rules_named import _compose, _named_dims


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


# ---- the keys these rules serve in ``_RULES`` ------------------------------------------------

_RULES["linalg.solve"] = functools.partial(_transparent, pad=False)  # B: vector or matrix
for _n in ("scaled_dot_product_attention", "linalg.inv", "linalg.det", "linalg.slogdet",
           "linalg.cholesky", "linalg.matrix_exp", "linalg.matrix_norm",
           "linalg.eigh", "linalg.eigvalsh", "linalg.svd", "linalg.svdvals", "linalg.qr",
           "linalg.pinv", "inverse", "det", "logdet", "slogdet", "cholesky", "matrix_exp",
           "pinverse"):
    _RULES[_n] = _transparent
# the norms take their dims by name (linalg.matrix_norm: in place of the rule above)
_RULES["linalg.vector_norm"] = _named_dims(none="flat")
_RULES["linalg.matrix_norm"] = _named_dims()
_RULES["linalg.norm"] = _compose(_linalg_norm)
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
