"""Oracle tests for det, slogdet, logdet and linalg.solve through PyTorch's LU factors (NOTE
[det through LU] in ember/ops/decomposition.py): values, NaN and inf where a gradient or a
tangent is infinite or the matrix singular, and the singular errors, compared with PyTorch
through ``tests/oracle.py``."""

from __future__ import annotations

import numpy as np
import pytest

from ..oracle import same

INF, NAN = float("inf"), float("nan")

# fuzz seed 2042 program 14344's matrix: tanh(x) + 4 I
_X = [[-0.7901282906532288, -1.3947067260742188, 1.2160638570785522],
      [-1.4377355575561523, 0.5318176746368408, -0.91509610414505],
      [-1.2272491455078125, -0.8915323615074158, -1.2423988580703735]]
_SINGULAR = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]  # det exactly 0 in both
_RNG = np.random.default_rng(5)
_BATCH = _RNG.standard_normal((4, 3, 3)).tolist()
_BATCH_G = [INF, -INF, NAN, 1.5]


def _matrix(T, data, layout, rg=True):
    """``data`` as a contiguous matrix, or the same values through a transposed view (PyTorch
    factors A^T for the first, A for the second)."""
    a = np.asarray(data, dtype=np.float64)
    if layout == "contiguous":
        t = T.tensor(a)
    else:
        t = T.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).mT
    return t.requires_grad_(rg)


def _grads(T, fn, a, g):
    """First order (backward and autograd.grad) and create_graph's gradient, detached."""
    out = fn(T, a)
    out.backward(T.tensor(g, dtype=T.float64))
    first = a.grad
    (cg,) = T.autograd.grad(fn(T, a), a, T.tensor(g, dtype=T.float64), create_graph=True)
    return first, cg.detach()


_FNS = {"det": lambda T, a: T.linalg.det(a), "det_method": lambda T, a: a.det(),
        "slogdet": lambda T, a: T.linalg.slogdet(a).logabsdet, "logdet": lambda T, a: T.logdet(a)}


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("g", [-INF, INF, NAN, 2.5])
def test_det_gradient_with_a_non_finite_upstream_gradient(g, layout):
    # fuzz seed 2042 program 14344: PyTorch's solve with the LU factors gives NaN where
    # g det A^{-T} gave -inf
    def f(T):
        x = T.tensor(_X, dtype=T.float64, requires_grad=True)
        a = x.tanh() + 4 * T.eye(3, dtype=T.float64)
        if layout == "transposed":
            a = a.mT.contiguous().mT
        return _grads(T, _FNS["det"], a.detach().requires_grad_(), g)
    same(f)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("name", list(_FNS))
def test_batched_gradients_with_mixed_upstream_gradients(name, layout):
    def f(T):
        return _grads(T, _FNS[name], _matrix(T, _BATCH, layout), _BATCH_G)
    same(f)


@pytest.mark.parametrize("g", [1.5, INF])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_det_gradient_at_a_singular_matrix(layout, g):
    # first order: eps for the zero pivot times det == 0 gives zeros (NaN for an infinite g),
    # not the cofactor matrix; create_graph: the singular value form (the cofactor matrix)
    def f(T):
        a = _matrix(T, _SINGULAR, layout)
        first, cg = _grads(T, _FNS["det"], a, g if g == 1.5 else 1.0)
        if g != 1.5:
            a.grad = None
            T.linalg.det(a).backward(T.tensor(g, dtype=T.float64))
            first = a.grad
        return T.linalg.det(a), first, cg
    same(f, atol=1e-10)


def test_det_batch_mixing_singular_and_regular_matrices():
    # create_graph: PyTorch's masked_fmap, each matrix by its own formula; then second order
    def f(T):
        a = T.tensor([_SINGULAR, _BATCH[0], [[2.0, 4.0, 6.0], [1.0, 2.0, 3.0], [0.5, 0.0, 1.0]]],
                     dtype=T.float64, requires_grad=True)
        d = T.linalg.det(a)
        g1, = T.autograd.grad(d, a, T.tensor([1.5, -2.0, 0.5], dtype=T.float64))
        gc, = T.autograd.grad(T.linalg.det(a).sum(), a, create_graph=True)
        (h,) = T.autograd.grad((gc * gc).sum(), a)
        return d, g1, gc.detach(), h
    same(f, atol=1e-9)


@pytest.mark.parametrize("shape", [(1, 1), (3, 1, 1)])
def test_det_gradient_of_1x1_matrices_passes_through(shape):
    def f(T):
        a = T.zeros(shape, dtype=T.float64, requires_grad=True)
        g = T.full(shape[:-2], INF, dtype=T.float64)
        (g1,) = T.autograd.grad(T.linalg.det(a), a, g)
        w = T.full(shape[:-2], 2.0, dtype=T.float64, requires_grad=True)
        (g2,) = T.autograd.grad(T.linalg.det(a), a, w, create_graph=True)
        return g1, g2
    same(f)


def test_slogdet_at_a_singular_matrix():
    # first order: the zero pivot divides (inf); create_graph: linalg.solve refuses the matrix
    def f(T):
        a = T.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=T.float64, requires_grad=True)
        (g1,) = T.autograd.grad(T.linalg.slogdet(a).logabsdet, a)
        (g2,) = T.autograd.grad(T.logdet(a), a)
        out = [T.linalg.slogdet(a), g1, g2]
        try:
            T.autograd.grad(T.linalg.slogdet(a).logabsdet, a, create_graph=True)
        except RuntimeError as e:
            out.append((type(e).__name__, str(e)))
        return out
    same(f)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_values_of_non_finite_and_singular_matrices(layout):
    # the values come from the factors: det NaN for a matrix holding inf (NumPy's det gave 0),
    # exactly 0 (its sign as PyTorch's) for equal columns; slogdet's sign 0 for a NaN pivot
    data = [[[1.0, -INF, 0.0], [2.0, 1.0, 3.0], [0.5, 2.0, 1.0]],
            [[0.0, 0.0, 1.0], [-1.0, -1.0, 0.0], [-1.0, -1.0, -1.0]],
            [[0.0, 0.0, NAN], [0.0, 0.0, -0.0], [-1.0, -1.0, 1.0]],
            [[1.0, 1.0, 2.0], [3.0, 3.0, 1.0], [0.25, 0.25, 5.0]]]

    def f(T):
        a = _matrix(T, data, layout, rg=False)
        s = T.linalg.slogdet(a)
        return T.linalg.det(a), s.sign, s.logabsdet, T.logdet(a), T.det(a[3]).abs()
    same(f)


@pytest.mark.parametrize("name", ["det", "slogdet", "logdet"])
def test_tangents_through_the_factors(name):
    # forward mode: trace(A^{-1} dA) by a solve of dA with the factors, so an infinite tangent
    # spreads as in PyTorch and an exactly singular matrix's det has tangent 0
    def f(T):
        fa = T.autograd.forward_ad
        mats = T.tensor([_BATCH[1], _BATCH[2], [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]],
                        dtype=T.float64)
        tan = T.tensor(_BATCH[:3], dtype=T.float64)
        tan[0, 2, 1] = INF
        tan[1, 0, 0] = NAN
        with fa.dual_level():
            out = _FNS[name](T, fa.make_dual(mats, tan))
            return fa.unpack_dual(out).tangent
    # (PyTorch warns about its own jit internals the first time some forward-AD paths run)
    same(f, warnings_too=False)


def test_solve_errors_and_info():
    def f(T):
        a = T.tensor([[[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [2.0, 4.0]]], dtype=T.float64)
        b = T.ones(2, 2, 1, dtype=T.float64)
        out = [T.linalg.solve_ex(a, b), T.linalg.solve_ex(a, b.mT, left=False)]
        for args in ((a, b), (a[1], b[0])):
            try:
                T.linalg.solve(*args)
            except RuntimeError as e:
                out.append((type(e).__name__, str(e)))
        return out
    same(f)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_solve_gradient_with_a_non_finite_upstream_gradient(layout, left):
    # PyTorch's backward solves transposed with the forward's factors of A
    def f(T):
        a = _matrix(T, _BATCH[:2], layout)
        b = T.tensor(_BATCH[2:], dtype=T.float64, requires_grad=True)
        x = T.linalg.solve(a, b, left=left)
        g = T.zeros(2, 3, 3, dtype=T.float64)
        g[0, 1, 2] = INF
        g[1, 0, 0] = -INF
        g[1, 2, 1] = NAN
        return T.autograd.grad(x, (a, b), g)
    same(f)
