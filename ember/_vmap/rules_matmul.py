"""Batching rules of the matmul family.

Contract: ``matmul``/``@``, ``mm``, ``bmm``, ``mv``, ``dot``, ``outer``/``ger`` and ``F.linear``
(also with batched weights) follow PyTorch's matmul semantics per sample: vectors become
matrices, logical dims are right-aligned to one rank and the batch dims broadcast in front;
the rank-checked forms let the op report its own error on logical-shaped stand-ins.
"""

from __future__ import annotations

from ._state import _RULES, _align, _call, _levels, _logical_ndim, _mark, _orig, _physical, _union
from .rules_elementwise import _elementwise


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
            from ..creation import empty

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


# ---- the keys these rules serve in ``_RULES`` ------------------------------------------------

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
