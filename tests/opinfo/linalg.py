"""Op records: linalg family (see tests/opinfo/__init__.py).

Matrix samples are kept well conditioned (random + n*I, or A @ A.mT + I for positive definite
ones) and decompositions are compared through gauge-invariant functions of their outputs
(eigenvectors and singular vectors are unique only up to sign).
"""

from __future__ import annotations

import numpy as np

from . import OpRecord


def _sq(*shape):
    """A sample maker: well-conditioned square matrices (random + n*I) of ``shape``."""
    def make(rng):
        n = shape[-1]
        return rng.uniform(-1, 1, size=shape) + n * np.eye(n)
    return make


RECORDS = [
    # ---- products ----
    OpRecord("matmul_bcast", lambda T, x, y: x @ y, [((2, 1, 2, 3), (3, 3, 2)), ((2, 3), (2, 3, 1)),
                                                     ((2, 3, 4), (4,))]),
    OpRecord("inner", lambda T, x, y: T.inner(x, y), [((3,), (3,)), ((2, 3), (4, 3)), ((), (2,))]),
    OpRecord("vdot", lambda T, x, y: T.vdot(x, y), [((3,), (3,)), ((0,), (0,))]),
    OpRecord("addmv", lambda T, b, x, y: T.addmv(b, x, y),
             [((2,), (2, 3), (3,)), ((), (2, 3), (3,))]),
    OpRecord("addmv_scaled", lambda T, b, x, y: T.addmv(b, x, y, beta=0.5, alpha=2),
             [((1,), (2, 3), (3,))]),
    OpRecord("addr", lambda T, b, x, y: T.addr(b, x, y, beta=2, alpha=-1),
             [((2, 3), (2,), (3,)), ((3,), (2,), (3,))]),
    OpRecord("baddbmm", lambda T, b, x, y: T.baddbmm(b, x, y, alpha=0.5),
             [((2, 2, 4), (2, 2, 3), (2, 3, 4)), ((4,), (1, 2, 3), (1, 3, 4))]),
    OpRecord("addbmm", lambda T, b, x, y: T.addbmm(b, x, y, beta=1.5),
             [((2, 4), (3, 2, 3), (3, 3, 4)), ((1, 4), (1, 2, 3), (1, 3, 4))]),
]


def _eq(eq):
    # NOTE: PyTorch's einsum ends in whichever view or reduction its contraction path took;
    # ember records one EinsumBackward0 node. The records compare values and gradients
    # through a trailing ``* 1`` so that grad_fn names compare equal.
    return lambda T, *xs: T.einsum(eq, *xs) * 1


RECORDS += [
    OpRecord("einsum_mm", _eq("ij,jk->ik"), [((2, 3), (3, 4))], op="einsum"),
    OpRecord("einsum_diag", _eq("ii->i"), [((3, 3),)], op="einsum"),
    OpRecord("einsum_implicit", _eq("ij,j"), [((2, 3), (3,)), ((1, 3), (3,))], op="einsum"),
    OpRecord("einsum_ellipsis", _eq("...ij,...jk"), [((2, 2, 3), (3, 2)), ((1, 2, 3), (2, 3, 2))],
             op="einsum"),
    OpRecord("einsum_three", _eq("i,ij,j->"), [((2,), (2, 3), (3,))], op="einsum"),
    OpRecord("einsum_outer_sum", _eq("iij,kl->jk"), [((2, 2, 3), (4, 2))], op="einsum"),
    OpRecord("tensordot", lambda T, x, y: T.tensordot(x, y, 2), [((2, 3, 4), (3, 4, 2))]),
    OpRecord("tensordot_lists", lambda T, x, y: T.tensordot(x, y, ([0, 2], [2, 1])),
             [((2, 3, 4), (3, 4, 2))]),
    OpRecord("tensordot_0", lambda T, x, y: T.tensordot(x, y, 0), [((2,), (3,))]),
    OpRecord("kron", lambda T, x, y: T.kron(x, y), [((2, 3), (2, 2)), ((3,), (2, 2)), ((), (2,))]),
    OpRecord("multi_dot", lambda T, a, b, c: T.linalg.multi_dot([a, b, c]),
             [((2, 3), (3, 4), (4, 2)), ((3,), (3, 4), (4,))], op="linalg.multi_dot"),
    OpRecord("trace", lambda T, x: T.trace(x), [((3, 3),), ((2, 4),), ((0, 2),)]),
    OpRecord("diagonal", lambda T, x: T.diagonal(x), [((3, 3),), ((2, 4),)]),
    OpRecord("diagonal_offset", lambda T, x: x.diagonal(1, -1, 0), [((2, 3, 4),), ((2, 2),)]),
    OpRecord("diagonal_neg", lambda T, x: x.diagonal(-1, 2, 1), [((2, 3, 4),)]),
    OpRecord("diag_embed", lambda T, x: T.diag_embed(x), [((3,),), ((2, 3),), ((0,),)]),
    OpRecord("diag_embed_offset", lambda T, x: T.diag_embed(x, -1, 0, 2), [((2, 3),)]),
    OpRecord("diag", lambda T, x: T.diag(x), [((3,),), ((2, 3),)]),
    OpRecord("diag_offset", lambda T, x: T.diag(x, 1), [((3,),), ((3, 3),)]),
    OpRecord("diag_neg", lambda T, x: x.diag(-2), [((2,),), ((3, 4),)]),
    OpRecord("tril", lambda T, x: T.tril(x), [((3, 3),), ((2, 3, 4),), ((0, 2),)]),
    OpRecord("tril_k", lambda T, x: x.tril(diagonal=-1), [((3, 4),)]),
    OpRecord("triu", lambda T, x: T.triu(x), [((3, 3),), ((2, 4, 3),)]),
    OpRecord("triu_k", lambda T, x: x.triu(2), [((3, 4),)]),
    OpRecord("cross", lambda T, x, y: T.cross(x, y, dim=1), [((2, 3), (2, 3)), ((3, 3), (1, 3))]),
    OpRecord("linalg_cross", lambda T, x, y: T.linalg.cross(x, y), [((2, 3), (1, 3)), ((3,), (3,))],
             op="linalg.cross"),
]
