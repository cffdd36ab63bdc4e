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
                    T.matmul(_t(T, 2, 3, 4).transpose(0, 1), _t(T, 4, 2, rg=True))))


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
