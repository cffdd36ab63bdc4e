"""Oracle tests for det, slogdet, logdet and linalg.solve through PyTorch's LU factors (NOTE
[det through LU] in ember/ops/decomposition.py): values, NaN and inf where a gradient or a
tangent is infinite or the matrix singular, and the singular errors, compared with PyTorch
through ``tests/oracle.py``; batches mixing the matrices LAPACK answers with those the
emulation must (roundoff-singular, holding inf, above 16 rows, broadcast solves); and the same
paths on the device checker, bit for bit with the CPU."""

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


# ---- LAPACK for the ordinary matrices, the emulation for the rest (NOTE [det through LU]) ----
# exactly singular for PyTorch's factors of A^T (det 0, logabsdet -inf), while NumPy's LAPACK
# leaves a 3e-17 leftover: told apart by |det| against Hadamard's bound
_ROUNDOFF_SINGULAR = [[0.4166666666666667, 1.6666666666666665, 0.08333333333333337],
                      [-0.41666666666666663, -0.9166666666666666, 0.6666666666666666],
                      [-0.24999999999999994, -0.475, 0.475]]
_HOLDS_INF = [[1.0, INF, 0.0], [2.0, 1.0, 3.0], [0.5, 2.0, 1.0]]
_MIXED = [_BATCH[0], _ROUNDOFF_SINGULAR, _HOLDS_INF, [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0],
                                                       [0.0, 0.0, 2.0]]]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["det", "slogdet", "logdet"])
def test_batch_of_ordinary_and_emulated_matrices(name, dtype):
    # each matrix by its own path: values, first-order gradients (an infinite upstream
    # gradient for the last), create_graph's and forward mode's (an infinite tangent entry)
    def f(T):
        d = getattr(T, dtype)
        a = T.tensor(_MIXED, dtype=d, requires_grad=True)
        g = T.tensor([1.5, 2.0, -1.0, INF], dtype=d)
        (g1,) = T.autograd.grad(_FNS[name](T, a), a, g)
        (g2,) = T.autograd.grad(_FNS[name](T, a), a, T.tensor([1.5, 2.0, -1.0, 3.0], dtype=d),
                                create_graph=True)
        fa = T.autograd.forward_ad
        tan = T.ones(4, 3, 3, dtype=d)
        tan[0, 1, 1] = INF
        with fa.dual_level():
            t = fa.unpack_dual(_FNS[name](T, fa.make_dual(a.detach(), tan))).tangent
        return _FNS[name](T, a), g1, g2.detach(), t
    same(f, warnings_too=False)


def test_roundoff_singular_matrix_is_exactly_singular():
    # LAPACK's det is 3.5e-17 here, PyTorch's 0: the gradient is zeros, slogdet's sign 0
    def f(T):
        a = T.tensor(_ROUNDOFF_SINGULAR, dtype=T.float64, requires_grad=True)
        (g,) = T.autograd.grad(T.linalg.det(a), a)
        return T.linalg.det(a), T.linalg.slogdet(a), T.logdet(a), g
    same(f)


@pytest.mark.parametrize("kind", ["equal rows", "holds inf", "overflow"])
def test_larger_matrices_take_the_emulation_where_it_decides(kind):
    # above 16 rows: equal rows (LAPACK's det is 0, PyTorch's factors leave 7e-11; the gradient
    # there is roundoff, not compared), a NaN det (inf held), an overflowing det (LAPACK's inf
    # stands; g det is inf, so the gradient substitutes as PyTorch's)
    def f(T):
        m = np.random.default_rng(1).standard_normal((20, 20))
        if kind == "equal rows":
            m[5] = m[2]
        elif kind == "holds inf":
            m[3, 4] = INF
        else:
            m = m + 1e20 * np.eye(20)
        a = T.tensor(m, dtype=T.float64, requires_grad=True)
        out = [T.linalg.det(a), T.linalg.slogdet(a)]
        if kind != "equal rows":
            out += T.autograd.grad(T.linalg.det(a), a, T.tensor(2.0, dtype=T.float64))
        return out
    same(f, rtol=1e-9, atol=0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_solve_broadcast_batch_with_some_elements_emulated(dtype):
    # A's batch broadcast against B's: one B holds inf, one upstream gradient entry is NaN
    bv = np.random.default_rng(5).standard_normal((1, 4, 3, 2))
    bv[0, 2, 1, 0] = INF

    def f(T):
        d = getattr(T, dtype)
        a = T.tensor([[_BATCH[0]], [_BATCH[1]]], dtype=d, requires_grad=True)  # (2, 1, 3, 3)
        b = T.tensor(bv, dtype=d, requires_grad=True)
        x = T.linalg.solve(a, b)
        g = T.ones(2, 4, 3, 2, dtype=d)
        g[1, 3, 0, 1] = NAN
        return x, T.autograd.grad(x, (a, b), g), T.linalg.solve(a, b.mT, left=False)
    same(f)


def test_solve_with_a_matrix_holding_inf_or_roundoff_singular():
    # NumPy's LAPACK solves [[inf, 1], [1, 3]] x = 1 finitely; PyTorch's substitution gives NaN.
    # A roundoff-singular A and a generic B: PyTorch's factors of A have a zero pivot
    singular = np.array([[-0.5, 0.25, 1.0], [0.75, -0.5, 0.25], [0.0, 0.0, 0.0]])
    singular[2] = singular[0] * 0.1 + singular[1] * 0.7

    def f(T):
        out = [T.linalg.solve(T.tensor([[INF, 1.0], [1.0, 3.0]], dtype=T.float64),
                              T.ones(2, dtype=T.float64))]
        a = T.tensor(np.stack([np.eye(3) * 2, singular]), dtype=T.float64)
        b = T.tensor([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0]], dtype=T.float64)
        try:
            out.append(T.linalg.solve(a, b))
        except RuntimeError as e:
            out.append((type(e).__name__, str(e)))
        out.append(T.linalg.solve_ex(a, b).info)
        return out
    same(f)


def _det_paths(T, device, dtype):
    """The branches above on ``device``: ordinary and emulated matrices in one batch, rules of
    every order, solve's broadcast and singular forms, inv's singular error."""
    d = getattr(T, dtype)

    def t(x, **kw):
        return T.tensor(x, dtype=d, device=device, **kw)
    out = []

    def attempt(fn):  # (the results, or the error's message)
        try:
            got = fn()
        except RuntimeError as e:
            got = [str(e)]
        out.extend(got if isinstance(got, (list, tuple)) else [got])

    a = t(_MIXED, requires_grad=True)
    fa = T.autograd.forward_ad
    tan = T.ones(4, 3, 3, dtype=d, device=device)
    tan[0, 1, 1] = INF
    for fn in _FNS.values():
        out.append(fn(T, a))
        attempt(lambda fn=fn: T.autograd.grad(fn(T, a), a, t([1.5, 2.0, -1.0, INF])))
        # (slogdet's create_graph solves, and refuses the singular matrix as PyTorch's)
        attempt(lambda fn=fn: T.autograd.grad(fn(T, a), a, t([1.5, 2.0, -1.0, 3.0]),
                                              create_graph=True))
        with fa.dual_level():
            out.append(fa.unpack_dual(fn(T, fa.make_dual(a.detach(), tan))).tangent)
    b = t(np.random.default_rng(5).standard_normal((4, 3, 2)), requires_grad=True)
    x = T.linalg.solve(a[[0, 3]].unsqueeze(1), b)  # (2, 4, 3, 2): A broadcast
    g = T.ones(2, 4, 3, 2, dtype=d, device=device)
    g[1, 3, 0, 1] = NAN
    out += [x, *T.autograd.grad(x, (a, b), g)]
    out.append(T.linalg.solve(t(_HOLDS_INF), t([1.0, 2.0, 3.0])))
    attempt(lambda: T.linalg.solve(a, b[:, :, 0]))
    attempt(lambda: T.linalg.inv(t(_SINGULAR)))
    attempt(lambda: T.linalg.solve_ex(t(_MIXED), t(np.ones((4, 3)))))
    attempt(lambda: T.linalg.inv_ex(t([_SINGULAR, _BATCH[0]])))
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_device_paths_match_the_cpu(dtype):
    # on the device checker: LAPACK's forms through CuPy's namespace, the emulation through the
    # host, each element put back on the device; values bit for bit with the CPU's
    import ember

    cpu = _det_paths(ember, "cpu", dtype)
    with ember.cuda.use_checker():
        dev = _det_paths(ember, "cuda", dtype)
        assert len(cpu) == len(dev)
        for k, (c, v) in enumerate(zip(cpu, dev)):
            if isinstance(c, str):
                assert c == v, k
                continue
            assert v.device == ember.device("cuda", 0), k
            assert v.dtype == c.dtype and v.shape == c.shape, k
            got, want = v.detach().cpu().numpy(), c.detach().numpy()
            assert np.array_equal(got, want, equal_nan=True), k
