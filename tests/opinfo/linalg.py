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
    return lambda T, *xs: T.einsum(eq, *xs)


RECORDS += [
    OpRecord("einsum_mm", _eq("ij,jk->ik"), [((2, 3), (3, 4))], op="einsum"),
    OpRecord("einsum_diag", _eq("ii->i"), [((3, 3),)], op="einsum"),
    OpRecord("einsum_implicit", _eq("ij,j"), [((2, 3), (3,)), ((1, 3), (3,))], op="einsum"),
    OpRecord("einsum_ellipsis", _eq("...ij,...jk"), [((2, 2, 3), (3, 2)), ((1, 2, 3), (2, 3, 2))],
             op="einsum"),
    OpRecord("einsum_three", _eq("i,ij,j->"), [((2,), (2, 3), (3,))], op="einsum"),
    OpRecord("einsum_outer_sum", _eq("iij,kl->jk"), [((2, 2, 3), (4, 2))], op="einsum"),
    OpRecord("einsum_transpose", _eq("ij->ji"), [((2, 3),)], op="einsum"),
    OpRecord("einsum_batch", _eq("bn,anm,bm->ba"), [((2, 3), (4, 3, 5), (2, 5))], op="einsum"),
    OpRecord("einsum_broadcast", _eq("...,...->..."), [((2, 1), (3,))], op="einsum"),
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


def _mats(*shapes, scale=1.0):
    """Extra samples: one well-conditioned matrix stack per shape."""
    return lambda rng: [(_sq(*s)(rng) * scale,) for s in shapes]


def _pd(T, x):
    """A symmetric positive-definite matrix made from any square ``x``."""
    return x @ x.mT + T.eye(x.shape[-1], dtype=x.dtype, device=x.device)


def _sym(x):
    return x + x.mT


RECORDS += [
    # ---- decompositions and matrix functions (ember.linalg) ----
    OpRecord("linalg_inv", lambda T, x: T.linalg.inv(x), extra=_mats((3, 3), (2, 2, 2), (1, 1)),
             op="linalg.inv"),
    OpRecord("inverse", lambda T, x: T.inverse(x), extra=_mats((2, 2))),
    OpRecord("linalg_det", lambda T, x: T.linalg.det(x), [((3, 3),), ((2, 2, 2),), ((1, 1),)],
             op="linalg.det"),
    OpRecord("det", lambda T, x: x.det(), extra=_mats((3, 3))),
    OpRecord("linalg_slogdet", lambda T, x: tuple(T.linalg.slogdet(x)),
             [((3, 3),), ((2, 2, 2),)], op="linalg.slogdet"),
    OpRecord("slogdet", lambda T, x: tuple(T.slogdet(x)), extra=_mats((2, 2))),
    OpRecord("logdet", lambda T, x: T.logdet(x), extra=_mats((3, 3), (2, 2, 2))),
    OpRecord("linalg_solve", lambda T, a, b: T.linalg.solve(a, b),
             extra=lambda rng: [(_sq(3, 3)(rng), rng.uniform(-1, 1, (3, 2))),
                                (_sq(2, 3, 3)(rng), rng.uniform(-1, 1, (3,))),
                                (_sq(2, 3, 3)(rng), rng.uniform(-1, 1, (2, 3))),
                                (_sq(3, 3)(rng), rng.uniform(-1, 1, (2, 3, 1)))],
             op="linalg.solve"),
    OpRecord("linalg_solve_right", lambda T, a, b: T.linalg.solve(a, b, left=False),
             extra=lambda rng: [(_sq(3, 3)(rng), rng.uniform(-1, 1, (2, 3)))], op="linalg.solve"),
    OpRecord("linalg_cholesky", lambda T, x: T.linalg.cholesky(_pd(T, x)),
             [((3, 3),), ((2, 2, 2),)], op="linalg.cholesky"),
    OpRecord("linalg_cholesky_upper", lambda T, x: T.linalg.cholesky(_pd(T, x), upper=True),
             [((3, 3),)], op="linalg.cholesky"),
    OpRecord("cholesky", lambda T, x: T.cholesky(_pd(T, x), upper=True), [((3, 3),)]),
    OpRecord("linalg_qr", lambda T, x: tuple(T.linalg.qr(x)),
             extra=_mats((3, 3), (2, 3, 3)), shapes=[((4, 3),), ((2, 3),)], op="linalg.qr"),
    OpRecord("linalg_qr_r", lambda T, x: T.linalg.qr(x, mode="complete").R,
             extra=_mats((3, 3)), shapes=[((2, 4),)], op="linalg.qr"),
    OpRecord("linalg_svd", lambda T, x: (lambda r: (r.S, r.U.abs(), r.Vh.abs()))(
        T.linalg.svd(x, full_matrices=False)), [((3, 2),), ((2, 3),), ((2, 3, 3),)],
        op="linalg.svd"),
    OpRecord("linalg_svd_full", lambda T, x: (lambda r: (r.S, r.U.abs(), r.Vh.abs()))(
        T.linalg.svd(x)), [((3, 3),)], op="linalg.svd"),
    OpRecord("linalg_svdvals", lambda T, x: T.linalg.svdvals(x), [((3, 2),), ((2, 2, 3),)],
             op="linalg.svdvals"),
    OpRecord("linalg_eigh", lambda T, x: (lambda r: (r.eigenvalues, r.eigenvectors.abs()))(
        T.linalg.eigh(_sym(x))), [((3, 3),), ((2, 2, 2),)], op="linalg.eigh"),
    OpRecord("linalg_eigh_upper", lambda T, x: (lambda r: (r[0], r[1] * r[1]))(
        T.linalg.eigh(_sym(x), UPLO="U")), [((3, 3),)], op="linalg.eigh"),
    OpRecord("linalg_eigvalsh", lambda T, x: T.linalg.eigvalsh(_sym(x)), [((3, 3),), ((2, 2, 2),)],
             op="linalg.eigvalsh"),
    OpRecord("linalg_pinv", lambda T, x: T.linalg.pinv(x), [((3, 2),), ((2, 3),), ((2, 2, 2),)],
             op="linalg.pinv"),
    OpRecord("linalg_pinv_hermitian", lambda T, x: T.linalg.pinv(_pd(T, x), hermitian=True),
             [((3, 3),)], op="linalg.pinv"),
    # NOTE: the default driver's residuals are empty but differentiable, which the
    # finite-difference checks cannot take: the full tuple is compared in the oracle tests.
    OpRecord("linalg_lstsq", lambda T, a, b: (lambda r: (r.solution, r.rank))(
        T.linalg.lstsq(a, b)),
             [((4, 3), (4, 2)), ((2, 4, 3), (2, 4, 1))], op="linalg.lstsq"),
    OpRecord("linalg_lstsq_gelsd", lambda T, a, b: tuple(T.linalg.lstsq(a, b, driver="gelsd")),
             [((4, 3), (4,)), ((4, 3), (4, 2))], op="linalg.lstsq"),
    OpRecord("linalg_matrix_exp", lambda T, x: T.linalg.matrix_exp(x),
             [((3, 3),), ((2, 2, 2),), ((1, 1),)], op="linalg.matrix_exp"),
    OpRecord("matrix_exp_large", lambda T, x: T.matrix_exp(x * 4), [((3, 3),)],
             op="matrix_exp"),
]

_ORDS = ["fro", "nuc", 1, -1, 2, -2, float("inf"), -float("inf")]


def _matrix_norm(o):
    return lambda T, x: T.linalg.matrix_norm(x, o)


RECORDS += [
    OpRecord(f"linalg_matrix_norm_{o}", _matrix_norm(o), [((3, 4),), ((2, 2, 3),)],
             op="linalg.matrix_norm")
    for o in _ORDS
] + [
    OpRecord("linalg_matrix_norm_dims", lambda T, x: T.linalg.matrix_norm(x, 1, (0, 2), True),
             [((3, 2, 4),)], op="linalg.matrix_norm"),
    OpRecord("linalg_matrix_norm_nuc_keepdim",
             lambda T, x: T.linalg.matrix_norm(x, "nuc", (2, 0), True), [((3, 2, 4),)],
             op="linalg.matrix_norm"),
    OpRecord("linalg_norm", lambda T, x: T.linalg.norm(x), [((3, 4),), ((2, 3, 2),), ((3,),)],
             op="linalg.norm"),
    OpRecord("linalg_norm_ord", lambda T, x: T.linalg.norm(x, 2), [((3, 4),), ((3,),)],
             op="linalg.norm"),
    OpRecord("linalg_norm_dim", lambda T, x: T.linalg.norm(x, float("inf"), dim=(0, 1)),
             [((3, 4, 2),)], op="linalg.norm"),
]


def _tri(upper, unit=False):
    """A triangular sample matrix with a dominant diagonal (the other triangle is noise the
    solve must ignore)."""
    def make(rng, *shape):
        n = shape[-1]
        return rng.uniform(-1, 1, size=shape) + (0 if unit else n) * np.eye(n)
    return make


RECORDS += [
    OpRecord("linalg_matrix_power", lambda T, x: T.linalg.matrix_power(x, 5),
             [((2, 2),), ((2, 3, 3),)], domain=(-0.8, 0.8), op="linalg.matrix_power"),
    OpRecord("linalg_matrix_power_neg", lambda T, x: T.linalg.matrix_power(x, -2),
             extra=_mats((3, 3)), op="linalg.matrix_power"),
    OpRecord("matrix_power", lambda T, x: x.matrix_power(3), [((3, 3),)]),
    OpRecord("matrix_power_01", lambda T, x: (T.matrix_power(x, 0), T.matrix_power(x, 1)),
             [((2, 2),)], op="matrix_power"),
    OpRecord("linalg_solve_triangular",
             lambda T, a, b: T.linalg.solve_triangular(a, b, upper=True),
             extra=lambda rng: [(_tri(True)(rng, 3, 3), rng.uniform(-1, 1, (3, 2))),
                                (_tri(True)(rng, 2, 3, 3), rng.uniform(-1, 1, (3, 1)))],
             op="linalg.solve_triangular"),
    OpRecord("linalg_solve_triangular_lower_right",
             lambda T, a, b: T.linalg.solve_triangular(a, b, upper=False, left=False),
             extra=lambda rng: [(_tri(False)(rng, 3, 3), rng.uniform(-1, 1, (2, 3)))],
             op="linalg.solve_triangular"),
    OpRecord("linalg_solve_triangular_unit",
             lambda T, a, b: T.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
             extra=lambda rng: [(_tri(False, True)(rng, 3, 3) * 0.5, rng.uniform(-1, 1, (3, 2)))],
             op="linalg.solve_triangular"),
    OpRecord("cholesky_solve",
             lambda T, b, x: T.cholesky_solve(b, T.linalg.cholesky(_pd(T, x))),
             [((3, 2), (3, 3)), ((2, 3, 1), (3, 3))]),
    OpRecord("cholesky_solve_upper",
             lambda T, b, x: T.cholesky_solve(b, T.linalg.cholesky(_pd(T, x), upper=True), True),
             [((3, 2), (3, 3))], op="cholesky_solve"),
    OpRecord("cholesky_inverse", lambda T, x: T.cholesky_inverse(T.linalg.cholesky(_pd(T, x))),
             [((3, 3),), ((2, 2, 2),)]),
    OpRecord("cholesky_inverse_upper",
             lambda T, x: T.cholesky_inverse(T.linalg.cholesky(_pd(T, x), upper=True), upper=True),
             [((3, 3),)], op="cholesky_inverse"),
    OpRecord("linalg_inv_ex", lambda T, x: tuple(T.linalg.inv_ex(x)), extra=_mats((3, 3)),
             op="linalg.inv_ex"),
    OpRecord("linalg_cholesky_ex", lambda T, x: tuple(T.linalg.cholesky_ex(_pd(T, x))),
             [((3, 3),)], op="linalg.cholesky_ex"),
    OpRecord("linalg_solve_ex", lambda T, a, b: tuple(T.linalg.solve_ex(a, b)),
             extra=lambda rng: [(_sq(3, 3)(rng), rng.uniform(-1, 1, (3,)))], op="linalg.solve_ex"),
    OpRecord("pinverse", lambda T, x: T.pinverse(x), [((3, 2),)]),
    OpRecord("svd", lambda T, x: (lambda r: (r.S, r.U.abs(), r.V.abs()))(T.svd(x)),
             [((3, 2),), ((2, 3),)]),
    OpRecord("qr", lambda T, x: tuple(T.qr(x)), extra=_mats((3, 3))),
    OpRecord("linalg_vecdot", lambda T, x, y: T.linalg.vecdot(x, y), [((3, 2), (2,)),
                                                                      ((2, 3), (2, 3))],
             op="linalg.vecdot"),
    OpRecord("linalg_vecdot_dim", lambda T, x, y: T.linalg.vecdot(x, y, dim=0),
             [((3, 2), (3, 1))], op="linalg.vecdot"),
    OpRecord("linalg_matmul", lambda T, x, y: T.linalg.matmul(x, y), [((2, 3), (3, 2))],
             op="linalg.matmul"),
    OpRecord("linalg_diagonal", lambda T, x: T.linalg.diagonal(x, offset=1), [((2, 3, 3),)],
             op="linalg.diagonal"),
    OpRecord("diagflat", lambda T, x: T.diagflat(x), [((2, 2),), ((3,),)]),
    OpRecord("diagflat_offset", lambda T, x: T.diagflat(x, -1), [((2,),)], op="diagflat"),
    OpRecord("diagonal_scatter", lambda T, x, s: T.diagonal_scatter(x, s),
             [((3, 3), (3,)), ((2, 3), (2,))]),
    OpRecord("diagonal_scatter_offset", lambda T, x, s: T.diagonal_scatter(x, s, 1, 2, 0),
             [((2, 3, 4), (3, 1))], op="diagonal_scatter"),
    OpRecord("adjoint", lambda T, x: x.adjoint(), [((2, 3),), ((2, 2, 3),)]),
]

_TORCH_COND = "PyTorch's own backward fails (inverse modified in place after being saved)"
RECORDS += [
    OpRecord("linalg_cond", lambda T, x: T.linalg.cond(x), [((3, 3),), ((2, 3),), ((2, 2, 2),)],
             op="linalg.cond"),
    OpRecord("linalg_cond_m2", lambda T, x: T.linalg.cond(x, -2), [((3, 2),)], op="linalg.cond"),
    # NOTE: PyTorch cannot backpropagate through these orders (its cond fills the inverse in
    # place after saving it); values are compared in the oracle tests, gradients against
    # finite differences here.
    OpRecord("linalg_cond_fro", lambda T, x: T.linalg.cond(x, "fro"), extra=_mats((3, 3)),
             op="linalg.cond", xfail={"value": _TORCH_COND}),
    OpRecord("linalg_cond_1", lambda T, x: T.linalg.cond(x, 1), extra=_mats((3, 3), (2, 2, 2)),
             op="linalg.cond", xfail={"value": _TORCH_COND}),
    # eigenvalues are complex: their moduli make a real function of them (sums of moduli are
    # smooth away from repeated eigenvalues, which well-conditioned samples avoid)
    OpRecord("linalg_eigvals", lambda T, x: T.linalg.eigvals(x).abs(), extra=_mats((3, 3)),
             op="linalg.eigvals", second_order=False,
             xfail={"jvp": "eigvals has no forward-mode rule: it needs complex ops ember lacks "
                           "(conj, real), as its double backward does"}),
]

RECORDS += [
    # NOTE: P (not differentiable) is left to the oracle tests: the finite-difference checks
    # take every float output as differentiable.
    OpRecord("linalg_lu", lambda T, x: tuple(T.linalg.lu(x))[1:],
             [((3, 3),), ((2, 3, 3),), ((4, 2),), ((2, 4),)], op="linalg.lu"),
    OpRecord("linalg_lu_factor", lambda T, x: tuple(T.linalg.lu_factor(x)),
             [((3, 3),), ((4, 2),), ((2, 4),)], op="linalg.lu_factor"),
    OpRecord("linalg_lu_factor_ex", lambda T, x: tuple(T.linalg.lu_factor_ex(x)),
             [((2, 3, 3),)], op="linalg.lu_factor_ex"),
    OpRecord("lu_unpack", lambda T, x: tuple(T.lu_unpack(*T.linalg.lu_factor(x)))[1:],
             [((3, 3),), ((4, 2),), ((2, 4),)]),
    OpRecord("linalg_lu_solve",
             lambda T, x, b: T.linalg.lu_solve(*T.linalg.lu_factor(x), b),
             extra=lambda rng: [(_sq(3, 3)(rng), rng.uniform(-1, 1, (3, 2))),
                                (_sq(2, 3, 3)(rng), rng.uniform(-1, 1, (3, 1)))],
             op="linalg.lu_solve"),
    OpRecord("linalg_lu_solve_adjoint_right",
             lambda T, x, b: T.linalg.lu_solve(*T.linalg.lu_factor(x), b, left=False,
                                               adjoint=True),
             extra=lambda rng: [(_sq(3, 3)(rng), rng.uniform(-1, 1, (2, 3)))],
             op="linalg.lu_solve"),
    OpRecord("linalg_lu_solve_adjoint",
             lambda T, x, b: T.linalg.lu_solve(*T.linalg.lu_factor(x), b, adjoint=True),
             extra=lambda rng: [(_sq(3, 3)(rng), rng.uniform(-1, 1, (3, 2)))],
             op="linalg.lu_solve"),
    OpRecord("linalg_lu_solve_right",
             lambda T, x, b: T.linalg.lu_solve(*T.linalg.lu_factor(x), b, left=False),
             extra=lambda rng: [(_sq(3, 3)(rng), rng.uniform(-1, 1, (2, 3)))],
             op="linalg.lu_solve"),
]

RECORDS += [
    OpRecord("linalg_tensorinv", lambda T, x: T.linalg.tensorinv(x.reshape(4, 2, 2), ind=1),
             extra=_mats((4, 4)), op="linalg.tensorinv"),
    OpRecord("linalg_tensorinv_2", lambda T, x: T.linalg.tensorinv(x.reshape(2, 3, 6)),
             extra=_mats((6, 6)), op="linalg.tensorinv"),
    OpRecord("linalg_tensorsolve", lambda T, a, b: T.linalg.tensorsolve(a.reshape(2, 3, 6), b),
             extra=lambda rng: [(_sq(6, 6)(rng), rng.uniform(-1, 1, (2, 3)))],
             op="linalg.tensorsolve"),
    OpRecord("linalg_tensorsolve_dims",
             lambda T, a, b: T.linalg.tensorsolve(a.reshape(6, 2, 3), b, dims=(0,)),
             extra=lambda rng: [(_sq(6, 6)(rng), rng.uniform(-1, 1, (2, 3)))],
             op="linalg.tensorsolve"),
    OpRecord("triangular_solve", lambda T, b, a: tuple(T.triangular_solve(b, a)),
             extra=lambda rng: [(rng.uniform(-1, 1, (3, 2)), _tri(True)(rng, 3, 3)),
                                (rng.uniform(-1, 1, (2, 3, 1)), _tri(True)(rng, 3, 3))]),
    OpRecord("triangular_solve_lower_t",
             lambda T, b, a: tuple(T.triangular_solve(b, a, upper=False, transpose=True,
                                                      unitriangular=True)),
             extra=lambda rng: [(rng.uniform(-1, 1, (3, 2)), _tri(False, True)(rng, 3, 3) * 0.5)],
             op="triangular_solve"),
]

RECORDS += [
    OpRecord("linalg_vander", lambda T, x: T.linalg.vander(x), [((3,),), ((2, 3),)],
             op="linalg.vander"),
    OpRecord("linalg_vander_n", lambda T, x: T.linalg.vander(x, N=4), [((2,),)],
             op="linalg.vander"),
    OpRecord("chain_matmul", lambda T, a, b, c: T.chain_matmul(a, b, c),
             [((2, 3), (3, 4), (4, 2))]),
]

RECORDS += [
    OpRecord("lu", lambda T, x: T.lu(x)[0], [((3, 3),), ((2, 3, 3),)]),
    OpRecord("lu_solve", lambda T, b, x: T.lu_solve(b, *T.lu(x)),
             extra=lambda rng: [(rng.uniform(-1, 1, (3, 2)), _sq(3, 3)(rng))]),
    OpRecord("nuclear_norm", lambda T, x: T.nuclear_norm(x), [((3, 2),)]),
    OpRecord("nuclear_norm_dim", lambda T, x: T.nuclear_norm(x, (0, 2), keepdim=True),
             [((3, 2, 2),)], op="nuclear_norm"),
]

RECORDS += [
    OpRecord("linalg_matrix_rank", lambda T, x: T.linalg.matrix_rank(x), [((3, 3),), ((2, 4, 3),)],
             gradcheck=False, op="linalg.matrix_rank"),
    OpRecord("linalg_matrix_rank_tol", lambda T, x: T.linalg.matrix_rank(x, atol=0.5, rtol=0.1),
             [((3, 2),)], gradcheck=False, op="linalg.matrix_rank"),
    OpRecord("linalg_vector_norm", lambda T, x: T.linalg.vector_norm(x, 3, dim=-1),
             [((2, 3),)], op="linalg.vector_norm"),
]

RECORDS += [
    OpRecord("linalg_householder_product",
             lambda T, a, tau: T.linalg.householder_product(a, tau),
             [((3, 2), (2,)), ((4, 3), (2,)), ((2, 3, 2), (2, 1)), ((3, 3), (3,))],
             domain=(-1.0, 1.0), op="linalg.householder_product"),
    OpRecord("orgqr", lambda T, a, tau: T.orgqr(a, tau), [((3, 2), (2,))], domain=(-1.0, 1.0)),
]

RECORDS += [
    # NOTE: geqrf has no derivative (PyTorch's backward raises): values only here, its graph in
    # the oracle tests.
    OpRecord("geqrf", lambda T, x: tuple(t.detach() for t in T.geqrf(x)),
             [((4, 3),), ((2, 3),), ((2, 3, 3),)], gradcheck=False),
]

RECORDS += [
    OpRecord("ormqr", lambda T, a, tau, c: T.ormqr(a, tau, c),
             [((4, 3), (3,), (4, 2)), ((2, 3, 2), (2, 2), (2, 3, 1))], domain=(-1.0, 1.0)),
    OpRecord("ormqr_right_t", lambda T, a, tau, c: T.ormqr(a, tau, c, left=False,
                                                            transpose=True),
             [((3, 2), (2,), (2, 3)), ((2, 4), (2,), (3, 2))], domain=(-1.0, 1.0), op="ormqr"),
]

RECORDS += [
    OpRecord("block_diag", lambda T, a, b, c: T.block_diag(a, b, c),
             [((2, 3), (), (2,)), ((1, 1), (1, 2), (2, 2))]),
    OpRecord("tril_indices", lambda T: T.tril_indices(3, 4, 1), [()], gradcheck=False),
    OpRecord("triu_indices", lambda T: T.triu_indices(4, 3, -1), [()], gradcheck=False),
]
