"""Oracle tests for the linalg family: error messages, named tuples, views and in-place forms,
compared with PyTorch through ``tests/oracle.py``."""

from __future__ import annotations

import numpy as np
import pytest

from ..oracle import same


def _t(T, *shape, seed=0, rg=False):
    rng = np.random.default_rng(seed)
    return T.tensor(rng.standard_normal(shape), requires_grad=rg)


@pytest.mark.parametrize("case", [
    lambda T: T.addmv(_t(T, 2), _t(T, 3, 3), _t(T, 3)),
    lambda T: T.addmv(_t(T, 3), _t(T, 3, 3), _t(T, 2)),
    lambda T: T.baddbmm(_t(T, 2, 3, 3), _t(T, 2, 3, 2), _t(T, 2, 3, 3)),
    lambda T: T.addr(_t(T, 2, 2), _t(T, 3), _t(T, 2)),
    lambda T: T.vdot(_t(T, 3), _t(T, 2)),
    lambda T: T.matmul(_t(T, 2, 3), _t(T, 2, 3)),
    lambda T: T.matmul(_t(T, 2, 2, 3), _t(T, 3, 3, 2)),
    lambda T: T.matmul(_t(T, 3), _t(T, 2)),
    lambda T: T.matmul(_t(T, 2, 3), _t(T, 2)),
])
def test_product_errors(case):
    same(case)


def test_inplace_products():
    def fn(T):
        a = _t(T, 2, 3)
        a.addmm_(_t(T, 2, 4), _t(T, 4, 3), beta=0.5)
        b = _t(T, 2)
        b.addmv_(_t(T, 2, 3), _t(T, 3), alpha=2)
        c = _t(T, 2, 3)
        c.addr_(_t(T, 2), _t(T, 3))
        d = _t(T, 2, 2, 2)
        d.baddbmm_(d.clone(), d.clone())
        e = _t(T, 2, 2)
        e.addbmm_(d, d)
        return a, b, c, d, e
    same(fn)


@pytest.mark.parametrize("case", [
    lambda T: T.tensordot(_t(T, 3, 3), _t(T, 2, 2), 1),
    lambda T: T.tensordot(_t(T, 3, 3), _t(T, 3, 3), ([0], [0, 1])),
    lambda T: T.trace(_t(T, 3)),
    lambda T: T.diag(_t(T, 2, 2, 2)),
    lambda T: T.tril(_t(T, 3)),
    lambda T: T.triu(_t(T, 3)),
    lambda T: T.linalg.cross(_t(T, 2), _t(T, 2)),
    lambda T: T.linalg.cross(_t(T, 2, 3), _t(T, 3)),
    lambda T: T.cross(_t(T, 3, 2), _t(T, 3, 2), dim=1),
    lambda T: T.einsum("ij,jk->ik", _t(T, 3, 3), _t(T, 2, 2)),
    lambda T: T.einsum("ij->ik", _t(T, 3, 3)),
    lambda T: T.einsum("ij,jk", _t(T, 3, 3)),
    lambda T: T.einsum("ij", _t(T, 3, 3), _t(T, 3, 3)),
    lambda T: T.einsum("i1", _t(T, 3, 3)),
    lambda T: T.einsum("ij->ii", _t(T, 3, 3)),
    lambda T: T.einsum("ijk", _t(T, 3, 3)),
    lambda T: T.einsum("...ijk", _t(T, 3, 3)),
    lambda T: T.einsum("ii", _t(T, 2, 3)),
    lambda T: T.einsum("ij"),
    lambda T: T.einsum("i.j", _t(T, 3, 3)),
    lambda T: T.diagonal(_t(T, 3, 3), 0, 0, 0),
    lambda T: T.diagonal(_t(T, 3, 3), 0, 0, 2),
    lambda T: T.linalg.multi_dot([_t(T, 3, 3)]),
    lambda T: T.linalg.multi_dot([_t(T, 3, 3), _t(T, 2, 2)]),
])
def test_shape_errors(case):
    same(case)


def test_values_and_dtypes():
    same(lambda T: (T.trace(T.arange(9).reshape(3, 3)), T.tril(T.arange(6).reshape(2, 3), 1),
                    T.triu(T.ones(2, 3, dtype=T.int32), -1), T.diag(T.arange(3), -1),
                    T.diagonal(T.arange(24).reshape(2, 3, 4), -1, 2, 1),
                    T.diag_embed(T.arange(6).reshape(2, 3), 1),
                    T.kron(T.arange(4).reshape(2, 2), T.ones(2, dtype=T.float64)),
                    T.einsum("i,i->", T.arange(3.0), T.arange(3.0)),
                    T.einsum("bi,bj->bij", _t(T, 2, 3), _t(T, 2, 2)),
                    T.inner(_t(T, 2, 3), _t(T, 3)), T.tensordot(_t(T, 2, 3), _t(T, 3, 2), dims=1)))


def test_cross_default_dim_warns():
    same(lambda T: T.cross(_t(T, 2, 3, rg=True), _t(T, 2, 3, seed=1)))


def test_matmul_grad_fns():
    # folding rules: which side requires grad decides the graph (PyTorch's should_fold)
    same(lambda T: (T.matmul(_t(T, 3), _t(T, 2, 3, 2, rg=True)),
                    T.matmul(_t(T, 3, rg=True), _t(T, 2, 3, 2)),
                    T.matmul(_t(T, 2, 3, rg=True), _t(T, 2, 3, 2)),
                    T.matmul(_t(T, 2, 3), _t(T, 2, 3, 2, rg=True)),
                    T.matmul(_t(T, 2, 2, 3, rg=True), _t(T, 3)),
                    T.matmul(_t(T, 2, 3, 4).transpose(0, 1), _t(T, 4, 2, rg=True)),
                    T.matmul(_t(T, 1, 2, 3, rg=True), _t(T, 4, 3, 2, rg=True)),
                    T.matmul(_t(T, 4, 2, 3), _t(T, 1, 3, 2, rg=True)),
                    T.matmul(_t(T, 0, 3, rg=True), _t(T, 3, 2))))


def test_diagonal_is_a_view():
    def fn(T):
        a = _t(T, 3, 4)
        d = a.diagonal(1)
        a.mul_(2)
        d.add_(1)  # writes through to a
        return a, d, d._version if hasattr(d, "_version") else None
    same(fn)


def test_diagonal_view_inplace_grad():
    def fn(T):
        x = _t(T, 3, 3, rg=True)
        y = x * 1
        y.diagonal().mul_(3)
        (g,) = T.autograd.grad((y * y).sum(), x)
        return y, g
    same(fn)


def test_tril_triu_inplace():
    def fn(T):
        a = _t(T, 3, 4)
        b = a.clone()
        a.tril_(1)
        b.triu_(-1)
        x = _t(T, 3, 3, rg=True)
        y = x * 2
        y.tril_()
        (g,) = T.autograd.grad(y.sum(), x)
        return a, b, y, g
    same(fn)


# ---- ember.linalg ----
_SINGULAR = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 1.0, 1.0]]


def _pd(T, n=3, seed=0):
    x = _t(T, n, n, seed=seed)
    return x @ x.mT + T.eye(n, dtype=x.dtype)


@pytest.mark.parametrize("case", [
    lambda T: T.linalg.inv(_t(T, 2, 3)),
    lambda T: T.linalg.inv(T.ones(3, 3, dtype=T.long)),
    lambda T: T.linalg.inv(T.ones(3, 3, dtype=T.float16)),
    lambda T: T.linalg.inv(T.tensor(_SINGULAR)),
    lambda T: T.linalg.inv(T.stack([T.eye(3), T.tensor(_SINGULAR)])),
    lambda T: T.linalg.inv(_t(T, 3)),
    lambda T: T.linalg.det(_t(T, 2, 3)),
    lambda T: T.linalg.det(T.ones(3, 3, dtype=T.long)),
    lambda T: T.linalg.slogdet(_t(T, 2, 3)),
    lambda T: T.linalg.solve(_t(T, 2, 3), _t(T, 2)),
    lambda T: T.linalg.solve(_t(T, 3, 3), _t(T, 2)),
    lambda T: T.linalg.solve(_t(T, 3, 3), _t(T, 2, 2)),
    lambda T: T.linalg.solve(T.tensor(_SINGULAR), T.ones(3)),
    lambda T: T.linalg.solve(_t(T, 3, 3).float(), _t(T, 3)),
    lambda T: T.linalg.cholesky(T.tensor(_SINGULAR)),
    lambda T: T.linalg.cholesky(-T.eye(3)),
    lambda T: T.linalg.cholesky(T.stack([T.eye(3), -T.eye(3)])),
    lambda T: T.linalg.cholesky(_t(T, 2, 3)),
    lambda T: T.linalg.qr(_t(T, 2, 3), mode="x"),
    lambda T: T.linalg.qr(_t(T, 3)),
    lambda T: T.linalg.svd(_t(T, 3)),
    lambda T: T.linalg.eigh(_t(T, 2, 3)),
    lambda T: T.linalg.eigh(T.eye(3), UPLO="X"),
    lambda T: T.linalg.matrix_exp(_t(T, 2, 3)),
    lambda T: T.linalg.matrix_norm(_t(T, 3)),
    lambda T: T.linalg.matrix_norm(_t(T, 2, 3), ord=3),
    lambda T: T.linalg.norm(_t(T, 2, 2, 2), ord=2),
    lambda T: T.linalg.lstsq(_t(T, 3, 2), _t(T, 2, 2)),
    lambda T: T.linalg.pinv(_t(T, 3).float()),
])
def test_linalg_errors(case):
    same(case)


def test_linalg_error_class():
    import ember

    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.inv(ember.zeros(2, 2))


def test_named_tuples():
    def fn(T):
        a = _t(T, 3, 3) + 3 * T.eye(3, dtype=T.float64)
        s = T.linalg.slogdet(a)
        q = T.linalg.qr(a)
        e = T.linalg.eigh(a + a.mT)
        u = T.linalg.svd(a)
        ls = T.linalg.lstsq(a, _t(T, 3, 2))
        return (s.sign, s.logabsdet, T.slogdet(a).logabsdet, q.Q, q.R, e.eigenvalues,
                e.eigenvectors.abs(), u.S, u.U.abs(), u.Vh.abs(), ls.solution, ls.residuals,
                ls.rank, ls.singular_values, type(s).__name__, type(q).__name__,
                type(e).__name__, type(u).__name__, type(ls).__name__)
    same(fn)


def test_named_tuple_repr():
    import ember

    r = repr(ember.linalg.slogdet(ember.eye(2)))
    assert r.startswith("torch.return_types.linalg_slogdet(\nsign=tensor(1.)")


def test_lstsq_drivers():
    def fn(T):
        a, b = _t(T, 4, 3, rg=True), _t(T, 4, 2, seed=1, rg=True)
        out = []
        for driver in ("gels", "gelsy", "gelsd", "gelss"):
            out.append(tuple(T.linalg.lstsq(a, b, driver=driver)))
        r = T.linalg.lstsq(a, b, driver="gelsd")
        out.append(T.autograd.grad((r.solution.sum() + r.residuals.sum()), (a, b)))
        out.append(tuple(T.linalg.lstsq(a.mT, b[:3])))
        return out
    same(fn)


def test_det_singular_gradient():
    # NOTE: at an exactly singular matrix PyTorch's first-order eager rule returns zeros (its
    # LU path scales by det == 0); its create_graph rule, the SVD cofactor formula, gives the
    # true derivative (the cofactor matrix). ember follows both (NOTE [det through LU]).
    def fn(T):
        a = T.tensor(_SINGULAR, dtype=T.float64, requires_grad=True)
        d = T.linalg.det(a)
        (g,) = T.autograd.grad(d, a, create_graph=True)
        (g1,) = T.autograd.grad(T.linalg.det(a), a)
        b = T.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=T.float64, requires_grad=True)
        (g2,) = T.autograd.grad(T.det(b), b, create_graph=True)
        (g3,) = T.autograd.grad(T.det(b), b)
        return d, g.detach(), g1, g2.detach(), g3
    same(fn, atol=1e-10)


def test_logdet_and_empty():
    same(lambda T: (T.logdet(-T.eye(3)), T.logdet(T.diag(T.tensor([-1.0, -2.0]))),
                    T.linalg.det(T.zeros(0, 0)), T.linalg.inv(T.zeros(0, 0)),
                    T.linalg.slogdet(T.zeros(2, 0, 0)).logabsdet))


def test_qr_modes_and_svd_full():
    def fn(T):
        a = _t(T, 4, 3)
        r = T.linalg.qr(a, mode="r")
        c = T.linalg.qr(a, mode="complete")
        w = T.linalg.qr(a.mT)
        s = T.linalg.svd(a)
        return (r.Q, r.R, c.Q.shape, c.R, w.R, s.U.shape, s.Vh.shape,
                (s.U[:, :3] * s.S) @ s.Vh, T.linalg.svdvals(a))
    same(fn)


def test_qr_r_mode_backward_error():
    same(lambda T: T.linalg.qr(_t(T, 3, 3, rg=True), mode="r").R.sum().backward())


def test_pinv_tolerances():
    def fn(T):
        a = T.tensor([[1.0, 0.0], [0.0, 1e-3], [0.0, 0.0]], dtype=T.float64)
        return (T.linalg.pinv(a), T.linalg.pinv(a, atol=1e-2), T.linalg.pinv(a, rtol=1e-2),
                T.linalg.pinv(_pd(T), hermitian=True), T.linalg.pinv(_t(T, 2, 0)))
    same(fn)


@pytest.mark.parametrize("op", ["pinv", "matrix_rank"])
def test_tolerance_tensors_and_negative_atol(op):
    # rtol defaults to eps * max(m, n) where atol is not positive, elementwise for a tensor
    # atol (batched tolerances); a negative atol keeps the default rtol
    def fn(T):
        f = getattr(T.linalg, op)
        a = T.tensor([[[1.0, 0.0], [0.0, 1e-17], [0.0, 0.0]],
                      [[1.0, 0.0], [0.0, 1e-3], [0.0, 0.0]]], dtype=T.float64)
        vec = T.tensor([0.0, 1e-2], dtype=T.float64)
        return (f(a, atol=vec), f(a, atol=vec.flip(0)), f(a, rtol=vec + 1e-4),
                f(a, atol=vec, rtol=vec), f(a, atol=-1.0), f(a, atol=T.tensor(-1.0).double()))
    same(fn)


def test_matrix_and_vector_forms():
    def fn(T):
        a = _t(T, 3, 3) + 3 * T.eye(3, dtype=T.float64)
        return (a.inverse(), a.det(), a.logdet(), a.slogdet().sign, a.matrix_exp(),
                T.cholesky(_pd(T)), _pd(T).cholesky(upper=True), T.matrix_exp(T.zeros(2, 2)),
                T.linalg.solve(a, _t(T, 3)), T.linalg.solve(T.stack([a, a]), _t(T, 2, 3)),
                T.linalg.solve(a, _t(T, 2, 3, 1)), T.linalg.cholesky(_pd(T), upper=True),
                T.linalg.eigvalsh(a + a.mT, UPLO="U"), T.linalg.norm(a, "nuc"),
                T.linalg.norm(_t(T, 4), 1), T.linalg.norm(a, dim=1),
                T.linalg.matrix_norm(_t(T, 2, 3, 4), -1, (2, 0)))
    same(fn, warnings_too=False)


def test_integer_matrix_exp_and_norm_errors():
    same(lambda T: T.linalg.matrix_norm(T.ones(2, 2, dtype=T.long)))
    same(lambda T: T.linalg.matrix_exp(T.ones(2, 2, dtype=T.long)))


_F, _D, _L = "float32", "float64", "int64"


def _o(T, *shape, dtype=_F):
    return T.ones(*shape, dtype=getattr(T, dtype))


@pytest.mark.parametrize("case", [
    lambda T: T.mv(_o(T, 2, 2, dtype=_D), _o(T, 2)),
    lambda T: T.mv(_o(T, 2, 2), _o(T, 2, 2)),
    lambda T: T.addmv(_o(T, 2, dtype=_D), _o(T, 2, 2), _o(T, 2)),
    lambda T: T.bmm(_o(T, 1, 2, 2, dtype=_D), _o(T, 1, 2, 2)),
    lambda T: T.baddbmm(_o(T, 1, 2, 2, dtype=_D), _o(T, 1, 2, 2), _o(T, 1, 2, 2)),
    lambda T: T.baddbmm(_o(T, 3, 2, 2), _o(T, 1, 2, 2), _o(T, 1, 2, 2)),
    lambda T: T.addmm(_o(T, 2, 2), _o(T, 2, 2), _o(T, 2, 2, dtype=_D)),
    lambda T: T.addmm(_o(T, 2, 2), _o(T, 2, 2, dtype=_D), _o(T, 2, 2)),
    lambda T: T.addbmm(_o(T, 2, 2), _o(T, 1, 2, 2, dtype=_D), _o(T, 1, 2, 2)),
    lambda T: T.addbmm(_o(T, 2, 2), _o(T, 0, 2, 3), _o(T, 0, 3, 2)),
    lambda T: T.addr(_o(T, 2, 2, dtype=_L), _o(T, 2, dtype=_L), _o(T, 2, dtype=_L), alpha=2),
    lambda T: T.addr(_o(T, 2, 2, dtype=_L), _o(T, 2, dtype=_L), _o(T, 2, dtype=_L), beta=0.5),
    lambda T: T.addr(_o(T, 2, 2), _o(T, 2), _o(T, 2, dtype=_L)),
    lambda T: T.addmv(T.tensor([float("nan"), 1.0]), _o(T, 2, 2), _o(T, 2), beta=0),
    lambda T: T.matmul(_o(T, 2, 2, dtype=_L), _o(T, 2, dtype=_L)),
    lambda T: T.einsum(_o(T, 2, 3), [0, 1], _o(T, 3), [1], [0]),
    lambda T: T.einsum(_o(T, 2, 3), [Ellipsis, 1], _o(T, 3), [1]),
    lambda T: T.tensordot(_o(T, 2, 3), _o(T, 3, 2), dims=T.tensor(1)),
    lambda T: T.tensordot(_o(T, 2, 3), _o(T, 3, 2), dims=-1),
    lambda T: T.kron(_o(T, 2, dtype=_L), _o(T, 2, 2)),
    lambda T: T.diag_embed(T.tensor(2.0)),
    lambda T: T.trace(_o(T, 0, 0)),
    lambda T: T.inner(_o(T, 2, 3), _o(T, 2)),
    lambda T: T.dot(_o(T, 2, dtype=_L), _o(T, 2, dtype=_L)),
    lambda T: T.linalg.cross(_o(T, 3, dtype=_L), _o(T, 3, dtype=_L)),
    lambda T: T.linalg.multi_dot([_o(T, 3), _o(T, 3)]),
    lambda T: T.linalg.inv(_o(T, 2, 3, dtype=_L)),
    lambda T: T.linalg.svd(_o(T, 2, 3, dtype=_L)),
    lambda T: T.linalg.qr(_o(T, 2, 3, dtype=_L)),
    lambda T: T.linalg.pinv(_o(T, 2, 3, dtype=_L)),
    lambda T: T.linalg.eigh(_o(T, 2, 2, dtype=_L)),
    lambda T: T.linalg.eigvalsh(_o(T, 2, 2, dtype=_L)),
    lambda T: T.linalg.lstsq(_o(T, 2, 2, dtype=_L), _o(T, 2, 2, dtype=_L)),
    lambda T: T.linalg.lstsq(_o(T, 3, 2), _o(T, 3, 2, dtype=_D)),
    lambda T: T.linalg.cholesky(T.tensor([[1.0, 2.0], [2.0, 1.0]]), upper=True),
    lambda T: T.linalg.solve(T.eye(2).expand(3, 2, 2), _o(T, 3, 2)),
    lambda T: T.linalg.solve(T.eye(2).expand(3, 2, 2), _o(T, 2, 1)),
    lambda T: T.linalg.solve(T.eye(2) * 2, _o(T, 2), left=False),
    lambda T: T.linalg.norm(_o(T, 2, 3), "fro"),
    lambda T: T.linalg.norm(_o(T, 3), "fro"),
    lambda T: T.linalg.matrix_norm(_o(T, 2, 2), dtype=T.float64),
    lambda T: T.linalg.matrix_norm(_o(T, 2, 2), dim=(0, 0)),
    lambda T: T.outer(_o(T, 2), _o(T, 2, 2)),
    lambda T: T.outer(_o(T, 2, 2), _o(T, 2)),
    lambda T: T.addmm(_o(T, 3, 3), _o(T, 2, 2), _o(T, 2, 2)),
    lambda T: T.addmm(_o(T, 3), _o(T, 2, 2), _o(T, 2, 2)),
    lambda T: T.addmm(_o(T, 2, 2, dtype=_L), _o(T, 2, 2, dtype=_L), _o(T, 2, 2, dtype=_L),
                      alpha=2),
    lambda T: T.trace(_o(T, 2, 2, dtype="bool")),
    lambda T: T.trace(_o(T, 2, 2, dtype="int32")),
    lambda T: T.tril(_o(T, 2, 2, dtype="bool")),
    lambda T: T.diag(_o(T, 2, dtype="bool")),
    lambda T: T.kron(T.tensor(2.0), T.tensor(3.0)),
    lambda T: T.inner(_o(T, 2, 2, dtype=_L), _o(T, 2, 2, dtype=_L)),
    lambda T: T.mv(_o(T, 2, 2, dtype=_L), _o(T, 2, dtype=_L)),
])
def test_dtypes_and_edge_cases(case):
    same(case)


@pytest.mark.parametrize("case", [
    lambda T: T.linalg.matrix_power(_t(T, 2, 3), 2),
    lambda T: T.linalg.matrix_power(_o(T, 2, 2, dtype=_L), -1),
    lambda T: T.linalg.matrix_power(_o(T, 2, 2, dtype=_L), 3),
    lambda T: T.linalg.matrix_power(_t(T, 2, 2, 2, rg=True), 0),
    lambda T: T.linalg.matrix_power(_t(T, 2, 2, 2, rg=True), 6),
    lambda T: T.linalg.solve_triangular(T.eye(3), _o(T, 3), upper=True),
    lambda T: T.linalg.solve_triangular(T.eye(3), _o(T, 2, 3), upper=True),
    lambda T: T.linalg.solve_triangular(T.zeros(3, 3), _o(T, 3, 2), upper=True),
    lambda T: T.linalg.solve_triangular(T.eye(3).expand(2, 3, 3), _o(T, 3, 2), upper=False),
    lambda T: T.cholesky_solve(_o(T, 3, 2), T.eye(2)),
    lambda T: T.diagonal_scatter(_o(T, 3, 3), _o(T, 2)),
    lambda T: T.linalg.vecdot(_o(T, 3, 2), _o(T, 3)),
    lambda T: T.linalg.matrix_rank(_o(T, 3, 3)),
    lambda T: T.linalg.matrix_rank(_t(T, 2, 4, 3), atol=0.5),
    lambda T: T.linalg.matrix_rank(_pd(T), hermitian=True, rtol=0.1),
    lambda T: T.linalg.inv_ex(_pd(T)),
    lambda T: T.linalg.cholesky_ex(_pd(T), upper=True),
    lambda T: T.linalg.solve_ex(_pd(T), _t(T, 3)),
    lambda T: T.svd(_t(T, 3, 2), compute_uv=False),
    lambda T: (lambda r: (r.U.shape, r.V.shape, r.S))(T.svd(_t(T, 3, 2), some=False)),
    lambda T: (lambda r: (type(r).__name__, r.R))(T.qr(_t(T, 3, 2), some=False)),
    lambda T: T.adjoint(_t(T, 3)),
    lambda T: T.diagflat(_t(T, 2, 2), 1),
])
def test_more_linalg(case):
    same(case)


@pytest.mark.parametrize("case", [
    lambda T: T.linalg.cond(T.tensor([[1.0, 2.0], [2.0, 4.0]]), "fro"),
    lambda T: T.linalg.cond(T.tensor([[1.0, 2.0], [2.0, 4.0]]), 1),
    lambda T: T.linalg.cond(T.zeros(2, 2), "fro"),
    lambda T: T.linalg.cond(T.stack([T.eye(2), T.zeros(2, 2)]), float("inf")),
    lambda T: T.linalg.cond(_o(T, 2, 3), "fro"),
    lambda T: T.linalg.cond(_o(T, 2, 3), 3),
    lambda T: T.linalg.cond(_o(T, 3), 2),
    lambda T: T.linalg.cond(_pd(T), "fro"),
    lambda T: T.linalg.cond(_pd(T), "nuc"),
    lambda T: T.linalg.cond(_pd(T), -1),
    lambda T: T.linalg.cond(T.stack([_pd(T), _pd(T, seed=1)]), -float("inf")),
])
def test_cond(case):
    same(case)


@pytest.mark.parametrize("case", [
    lambda T: T.linalg.lu_factor(T.zeros(2, 2)),
    lambda T: T.linalg.lu_factor_ex(T.tensor([[1.0, 2.0], [2.0, 4.0]])),
    lambda T: T.linalg.lu_factor(_t(T, 3)),
    lambda T: T.linalg.lu(T.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])),
    lambda T: T.linalg.lu_solve(*T.linalg.lu_factor(_pd(T)), _t(T, 3)),
    lambda T: T.linalg.lu_solve(*T.linalg.lu_factor(_pd(T)), _t(T, 2, 2)),
    lambda T: type(T.linalg.lu(_pd(T))).__name__,
    lambda T: type(T.linalg.lu_factor(_pd(T))).__name__,
    lambda T: type(T.lu_unpack(*T.linalg.lu_factor(_pd(T)))).__name__,
])
def test_lu(case):
    same(case)


@pytest.mark.parametrize("case", [
    lambda T: T.linalg.tensorinv(_t(T, 2, 3, 6), ind=0),
    lambda T: T.linalg.tensorinv(_t(T, 2, 3, 4), ind=1),
    lambda T: T.linalg.tensorsolve(_t(T, 2, 3, 5), _t(T, 2, 3)),
    lambda T: T.triangular_solve(_t(T, 3), _t(T, 3, 3)),
    lambda T: type(T.triangular_solve(_t(T, 3, 1), _t(T, 3, 3))).__name__,
])
def test_tensor_and_triangular(case):
    same(case)


def test_vander_and_chain_matmul():
    same(lambda T: (T.linalg.vander(T.tensor([1, 2, 3])), T.linalg.vander(T.tensor([1.0, 2.0]),
                                                                          N=3)))
    same(lambda T: T.linalg.vander(T.tensor([1.0]), N=1))
    same(lambda T: T.linalg.vander(T.tensor(1.0)))
    same(lambda T: T.chain_matmul(_t(T, 2, 2, rg=True)), warnings_too=False)


def test_torch_lu_forms():
    def fn(T):
        a = _pd(T)
        r = T.lu(a, get_infos=True)
        lu, piv = a.lu()
        return (type(T.lu(a)).__name__, type(r).__name__, r[2], lu, piv,
                _t(T, 3, 2).lu_solve(lu, piv))
    same(fn)


@pytest.mark.parametrize("case", [
    lambda T: T.cholesky(-T.eye(2)),
    lambda T: T.cholesky(_o(T, 2, 2, dtype=_L)),
    lambda T: T.cholesky(_o(T, 3)),
    lambda T: T.inverse(T.zeros(2, 2)),
    lambda T: T.det(_o(T, 2, 3)),
    lambda T: T.logdet(_o(T, 2, 3)),
    lambda T: T.slogdet(_o(T, 2, 3)),
    lambda T: T.matrix_exp(_o(T, 2, 3)),
    lambda T: T.matrix_power(_o(T, 2, 3), 2),
    lambda T: T.pinverse(_o(T, 3)),
    lambda T: T.svd(_o(T, 3)),
])
def test_older_forms_errors(case):
    same(case, warnings_too=False)


@pytest.mark.parametrize("case", [
    lambda T: T.linalg.householder_product(_t(T, 2, 3), _t(T, 2)),
    lambda T: T.linalg.householder_product(_t(T, 3, 2), _t(T, 3)),
    lambda T: T.linalg.householder_product(_t(T, 2, 3, 2), _t(T, 3, 2)),
    lambda T: T.linalg.householder_product(_t(T, 3, 2).float(), _t(T, 2)),
    lambda T: T.linalg.householder_product(_t(T, 3), _t(T, 2)),
    lambda T: T.linalg.householder_product(_t(T, 3, 2, rg=True), _t(T, 0)),
])
def test_householder_product(case):
    same(case)


def test_geqrf():
    def fn(T):
        a = _t(T, 4, 3, rg=True)
        r = T.geqrf(a)
        q = T.linalg.householder_product(*r)
        return type(r).__name__, r.a, r.tau, q
    same(fn)
    same(lambda T: T.geqrf(_t(T, 3, 3, rg=True)).a.sum().backward())
    same(lambda T: T.geqrf(_t(T, 3)))


def test_out_arguments():
    def fn(T):
        a = _pd(T)
        inv, det, sol = T.empty(3, 3, dtype=T.float64), T.empty(0, dtype=T.float64), T.empty(
            3, dtype=T.float64)
        q, r = T.empty(3, 3, dtype=T.float64), T.empty(3, 3, dtype=T.float64)
        res = T.linalg.qr(a, out=(q, r))
        td = T.empty(2, 2, dtype=T.float64)
        return (T.linalg.inv(a, out=inv), inv, T.linalg.det(a, out=det), det,
                T.linalg.solve(a, _t(T, 3), out=sol), sol, q, r,
                res[0] is q, T.tensordot(_t(T, 2, 3), _t(T, 3, 2), 1, out=td), td)
    same(fn)
    same(lambda T: T.linalg.inv(_pd(T).requires_grad_(), out=T.empty(3, 3, dtype=T.float64)))
    same(lambda T: T.linalg.inv(_pd(T), out=T.empty(2, 2, dtype=T.float64)))


@pytest.mark.parametrize("case", [
    lambda T: T.ormqr(_t(T, 4, 3), _t(T, 2), _t(T, 4, 2)),
    lambda T: T.ormqr(_t(T, 4, 3), _t(T, 2), _t(T, 2, 4), left=False, transpose=True),
    lambda T: T.ormqr(_t(T, 4, 3), _t(T, 2), _t(T, 3, 2)),
    lambda T: T.ormqr(_t(T, 3), _t(T, 2), _t(T, 4, 2)),
    lambda T: T.ormqr(_t(T, 4, 3), _t(T, 2), _t(T, 4)),
    lambda T: (lambda r: T.ormqr(r.a, r.tau, T.eye(4, dtype=T.float64)))(T.geqrf(_t(T, 4, 3))),
    lambda T: _t(T, 4, 3).ormqr(_t(T, 3), _t(T, 4, 2), transpose=True),
])
def test_ormqr(case):
    same(case)


def test_ex_forms_report_failures():
    def fn(T):
        s = T.tensor([[1.0, 2.0], [2.0, 4.0]])
        inv = T.linalg.inv_ex(T.stack([T.eye(2), s]))
        chol = T.linalg.cholesky_ex(T.stack([T.eye(2), T.tensor([[1.0, 2.0], [2.0, 1.0]])]))
        sol = T.linalg.solve_ex(T.stack([T.eye(2), s]), T.ones(2, 2))
        # the failed elements' values are LAPACK's partial results: compare what NumPy
        # reproduces exactly
        return inv.info, inv.inverse[0], chol.info, chol.L, sol.info, sol.result[0]
    same(fn)


@pytest.mark.parametrize("case", [
    lambda T: T.linalg.inv_ex(T.tensor([[1.0, 2.0], [2.0, 4.0]]), check_errors=True),
    lambda T: T.linalg.cholesky_ex(-T.eye(2), check_errors=True),
    lambda T: T.linalg.solve_ex(T.tensor([[1.0, 2.0], [2.0, 4.0]]), T.ones(2),
                                check_errors=True),
])
def test_ex_forms_check_errors(case):
    same(case)


@pytest.mark.parametrize("case", [
    lambda T: T.block_diag(),
    lambda T: T.block_diag(_o(T, 2, dtype=_L)),
    lambda T: T.block_diag(_o(T, 2, 3), T.tensor(2.0, dtype=T.float64), _o(T, 2, dtype=_L)),
    lambda T: T.block_diag(_o(T, 2, 2, 2)),
    lambda T: (lambda a, b: (T.block_diag(a, b),) + T.autograd.grad(
        T.block_diag(a, b).sum(), (a, b)))(_t(T, 0, 2, rg=True), _t(T, 2, 1, rg=True)),
    lambda T: (T.tril_indices(0, 3), T.triu_indices(3, 2, dtype=T.int32), T.tril_indices(3, 3, -5)),
    lambda T: T.tril_indices(3, 3, dtype=T.float32),
    lambda T: T.tril_indices(-1, 3),
])
def test_block_diag_and_indices(case):
    same(case)


@pytest.mark.parametrize("case", [
    lambda T: T.logdet(_o(T, 2, 2, dtype=_L)),
    lambda T: T.cholesky_solve(_o(T, 2, 2, dtype=_L), _o(T, 2, 2, dtype=_L)),
    lambda T: T.cholesky_inverse(_o(T, 2, 2, dtype=_L)),
    lambda T: T.linalg.matrix_rank(_o(T, 2, 2, dtype=_L)),
    lambda T: T.linalg.cond(_o(T, 2, 2, dtype=_L)),
    lambda T: T.linalg.lu_factor(_o(T, 2, 2, dtype=_L)),
    lambda T: T.linalg.solve_triangular(_o(T, 2, 2, dtype=_L), _o(T, 2, 2, dtype=_L),
                                        upper=True),
    lambda T: T.linalg.householder_product(_o(T, 2, 2, dtype=_L), _o(T, 2, dtype=_L)),
    lambda T: T.linalg.vecdot(_o(T, 2, 2, dtype=_L), _o(T, 2, 2, dtype=_L)),
    lambda T: T.geqrf(_o(T, 2, 2, dtype=_L)),
    lambda T: T.ormqr(_o(T, 2, 2, dtype=_L), _o(T, 2, dtype=_L), _o(T, 2, 2, dtype=_L)),
    lambda T: T.linalg.svdvals(_o(T, 2, 2, dtype=_L)),
])
def test_integer_inputs(case):
    same(case)


_HALF_LINALG = {
    # found by tests/fuzz (linalg.qr of a float16 matrix): the ops that reach a LAPACK kernel
    # raise its NotImplementedError, the others "Low precision dtypes not supported"
    "inv": lambda T, A, B: T.linalg.inv(A), "slogdet": lambda T, A, B: T.linalg.slogdet(A),
    "det": lambda T, A, B: T.linalg.det(A), "solve": lambda T, A, B: T.linalg.solve(A, B),
    "lu_factor": lambda T, A, B: T.linalg.lu_factor(A), "lu": lambda T, A, B: T.linalg.lu(A),
    "lu_solve": lambda T, A, B: T.linalg.lu_solve(A, T.tensor([1, 2], dtype=T.int32), B),
    "cholesky": lambda T, A, B: T.linalg.cholesky(A),
    "cholesky_ex": lambda T, A, B: T.linalg.cholesky_ex(A),
    "qr": lambda T, A, B: T.linalg.qr(A), "geqrf": lambda T, A, B: T.geqrf(A),
    "svd": lambda T, A, B: T.linalg.svd(A), "svdvals": lambda T, A, B: T.linalg.svdvals(A),
    "eigh": lambda T, A, B: T.linalg.eigh(A), "eigvalsh": lambda T, A, B: T.linalg.eigvalsh(A),
    "eigvals": lambda T, A, B: T.linalg.eigvals(A),
    "solve_triangular": lambda T, A, B: T.linalg.solve_triangular(A, B, upper=True),
    "triangular_solve": lambda T, A, B: T.triangular_solve(B, A),
    "cholesky_solve": lambda T, A, B: T.cholesky_solve(B, A),
    "cholesky_inverse": lambda T, A, B: T.cholesky_inverse(A),
    "householder_product": lambda T, A, B: T.linalg.householder_product(A, B[:1, 0]),
    "ormqr": lambda T, A, B: T.ormqr(A, B[:, 0], B),
    "pinv": lambda T, A, B: T.linalg.pinv(A), "lstsq": lambda T, A, B: T.linalg.lstsq(A, B),
    "matrix_rank": lambda T, A, B: T.linalg.matrix_rank(A),
    "matrix_norm_2": lambda T, A, B: T.linalg.matrix_norm(A, ord=2),
    "matrix_norm_nuc": lambda T, A, B: T.linalg.matrix_norm(A, ord="nuc"),
    "norm_2": lambda T, A, B: T.linalg.norm(A, ord=2), "cond": lambda T, A, B: T.linalg.cond(A),
    "tensorsolve": lambda T, A, B: T.linalg.tensorsolve(A, B[:, 0]),
    "vander": lambda T, A, B: T.linalg.vander(B[:, 0]),
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(_HALF_LINALG))
def test_half_precision_errors(name, dtype):
    def fn(T):
        dt = getattr(T, dtype)
        return _HALF_LINALG[name](T, T.eye(2, dtype=dt) * 2, T.ones(2, 2, dtype=dt))
    same(fn, warnings_too=False)


@pytest.mark.parametrize("name", ["svd", "svdvals", "qr", "inv", "cond"])
def test_half_precision_empty_batches(name):
    # PyTorch does not call some kernels for an empty input (svd: a float16 (0, 4, 4) batch
    # works), others raise as for a full one (found by tests/fuzz)
    def fn(T):
        return _HALF_LINALG[name](T, T.zeros(0, 2, 2, dtype=T.float16),
                                  T.zeros(0, 2, 1, dtype=T.float16))
    same(fn, warnings_too=False)


@pytest.mark.parametrize("sa, sb", [((0, 1, 1), (0, 1, 1)), ((2, 1, 0), (2, 0, 1)),
                                    ((2, 0, 1), (2, 1, 1)), ((1, 2, 1, 0), (1, 2, 0, 1)),
                                    ((2, 1, 1), (2, 1, 1))])
@pytest.mark.parametrize("order", [0, 1])
def test_bmm_mixed_dtypes_empty(sa, sb, order):
    # PyTorch checks bmm's dtypes in its kernel, which an empty result or contraction skips:
    # zeros typed as mat2 then, the error otherwise (found by tests/fuzz)
    def fn(T):
        d = (T.float32, T.float64)[::1 - 2 * order]
        return (T.matmul(T.ones(sa, dtype=d[0]), T.ones(sb, dtype=d[1])),
                T.bmm(T.ones(sa[-3:], dtype=d[0]), T.ones(sb[-3:], dtype=d[1])))
    same(fn)
