"""Oracle tests for ``autograd.functional``: vjp, jvp, vhp, hvp, jacobian and hessian (result
structure for Tensor and tuple inputs/outputs, create_graph, strict, vectorize, forward-mode
strategy) and their error messages."""

from __future__ import annotations

import pytest

from ..oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def _x(T, *shape):
    n = 1
    for s in shape:
        n *= s
    return (T.arange(n, dtype=T.float64) * 0.3 - 0.5).reshape(shape)


def _plain(r):
    """Values only (PyTorch's forward-mode results carry vmap/graph leftovers such as
    ``is_leaf=False`` or a ``ReshapeAliasBackward0`` that are not part of the API)."""
    if isinstance(r, (tuple, list)):
        return type(r)(_plain(v) for v in r)
    return r.detach() if hasattr(r, "detach") else r


def _f_vec(T):
    return lambda x: (x ** 3).sin() * 2


def _f_pair(T):
    return lambda x, y: (x.exp() * y.sum(), (x * y).sum())


def _f_scalar(T):
    return lambda x: (x ** 3).sum() + x.prod()


def _f_scalar2(T):
    return lambda x, y: (x.sin() * y).sum() + (y ** 2).sum() * x[0]


@pytest.mark.parametrize("create_graph", [False, True])
def test_vjp(create_graph):
    def fn(T):
        F = T.autograd.functional
        x = _x(T, 3).requires_grad_(create_graph)
        out, v = F.vjp(_f_vec(T), x, T.ones(3, dtype=T.float64), create_graph=create_graph)
        res = [out, v]
        out2, v2 = F.vjp(_f_pair(T), (x, _x(T, 3) + 1),
                         (T.ones(3, dtype=T.float64), T.tensor(2.0, dtype=T.float64)))
        res += [out2, v2]
        out3, v3 = F.vjp(lambda a: a.sum(), x)  # v may be None for a one-element output
        return res + [out3, v3]
    same(fn)


def test_vjp_errors():
    def fn(T):
        F = T.autograd.functional
        x = _x(T, 3)
        errs = []
        for call in (lambda: F.vjp(_f_vec(T), x),
                     lambda: F.vjp(_f_vec(T), x, T.ones(2, dtype=T.float64)),
                     lambda: F.vjp(_f_pair(T), (x, x), (T.ones(3, dtype=T.float64),)),
                     lambda: F.vjp(_f_vec(T), 3.0),
                     lambda: F.vjp(_f_vec(T), (x, 3.0)),
                     lambda: F.vjp(lambda a: a.detach(), x, T.ones(3, dtype=T.float64),
                                   strict=True),
                     lambda: F.vjp(lambda a, b: a * 2, (x, x), T.ones(3, dtype=T.float64),
                                   strict=True)):
            try:
                call()
                errs.append(None)
            except Exception as e:  # noqa: BLE001
                errs.append(f"{type(e).__name__}: {e}")
        return errs
    same(fn)


@pytest.mark.parametrize("create_graph", [False, True])
def test_jvp(create_graph):
    def fn(T):
        F = T.autograd.functional
        x = _x(T, 3).requires_grad_(create_graph)
        v = T.tensor([1.0, -1.0, 0.5], dtype=T.float64)
        out, jv = F.jvp(_f_vec(T), x, v, create_graph=create_graph)
        out2, jv2 = F.jvp(_f_pair(T), (x, _x(T, 3) + 1), (v, v))
        return out, jv, out2, jv2
    same(fn)


@pytest.mark.parametrize("op", ["hvp", "vhp"])
def test_hvp_vhp(op):
    def fn(T):
        F = getattr(T.autograd.functional, op)
        x = _x(T, 3)
        v = T.tensor([1.0, -1.0, 0.5], dtype=T.float64)
        res = list(F(_f_scalar(T), x, v))
        res += list(F(_f_scalar2(T), (x, x + 1), (v, v)))
        for call in (lambda: F(_f_vec(T), x, v), lambda: F(lambda a: (a, a), x, v)):
            try:
                call()
            except RuntimeError as e:
                res.append(str(e))
        return res
    same(fn)


@pytest.mark.parametrize("vectorize", [False, True])
def test_jacobian_structures(vectorize):
    def fn(T):
        J = T.autograd.functional.jacobian
        x = _x(T, 2, 3)
        y = _x(T, 3) + 1
        return (J(_f_vec(T), x, vectorize=vectorize),
                J(_f_pair(T), (x, y), vectorize=vectorize),
                J(lambda a: a.sum(), x, vectorize=vectorize),
                J(lambda a, b: a * 2, (y, x), vectorize=vectorize))
    same(fn)


def test_jacobian_forward_mode():
    def fn(T):
        J = T.autograd.functional.jacobian
        x = _x(T, 2, 3)
        y = _x(T, 3) + 1
        res = _plain([J(_f_vec(T), x, vectorize=True, strategy="forward-mode"),
                      J(_f_pair(T), (x, y), vectorize=True, strategy="forward-mode")])
        for kw in ({"strategy": "forward-mode"},
                   {"strategy": "forward-mode", "vectorize": True, "create_graph": True},
                   {"strategy": "forward-mode", "vectorize": True, "strict": True},
                   {"strategy": "sideways"},
                   {"vectorize": True, "strict": True}):
            try:
                J(_f_vec(T), x, **kw)
            except Exception as e:  # noqa: BLE001
                res.append(f"{type(e).__name__}: {e}")
        return res
    # PyTorch's vmap warns about its own use of torch.jit.script here
    same(fn, warnings_too=False)


def test_jacobian_create_graph_and_strict():
    def fn(T):
        J = T.autograd.functional.jacobian
        x = _x(T, 3).requires_grad_()
        jac = J(_f_vec(T), x, create_graph=True)
        (g,) = T.autograd.grad(jac.sum(), x)
        res = [jac, g]
        for f in (lambda a, b: a * 2, lambda a, b: (a * 2).detach()):
            try:
                J(f, (x, x), strict=True)
            except RuntimeError as e:
                res.append(str(e))
        return res
    same(fn)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_hessian(strategy):
    def fn(T):
        H = T.autograd.functional.hessian
        x = _x(T, 3)
        vec = strategy == "forward-mode"
        res = _plain([H(_f_scalar(T), x, vectorize=vec, outer_jacobian_strategy=strategy),
                      H(_f_scalar2(T), (x, x + 1), vectorize=vec,
                        outer_jacobian_strategy=strategy)])
        for f in (_f_vec(T), lambda a: (a.sum(), a.sum())):
            try:
                H(f, x)
            except RuntimeError as e:
                res.append(str(e))
        try:
            H(lambda a: (a * 2).sum(), x, strict=True)
        except RuntimeError as e:
            res.append(str(e))
        return res
    same(fn, warnings_too=strategy == "reverse-mode")  # PyTorch's vmap warns about jit


def test_hessian_create_graph():
    def fn(T):
        x = _x(T, 3).requires_grad_()
        h = T.autograd.functional.hessian(_f_scalar(T), x, create_graph=True)
        (g,) = T.autograd.grad(h.sum(), x)
        return h, g
    same(fn)


def test_vectorized_jacobian_is_one_batched_pass_per_output():
    import ember

    calls = [0]
    w = ember.tensor([[0.5, -1.0, 2.0], [1.0, 0.3, -0.2]], dtype=ember.float64)

    def f(t, u):
        calls[0] += 1
        return (w @ t.sin()).tanh() * u.sum(), (t * u).exp()

    x = ember.tensor([1.0, 2.0, 3.0], dtype=ember.float64)
    y = ember.tensor([0.1, -0.2, 0.3], dtype=ember.float64)
    J = ember.autograd.functional.jacobian
    loop = J(f, (x, y))
    calls[0] = 0
    vec = J(f, (x, y), vectorize=True)
    assert calls[0] == 1 + 2  # the plain call, then one batched call per output (not per row)
    for a_row, b_row in zip(loop, vec):
        for a, b in zip(a_row, b_row):
            assert a.shape == b.shape
            assert ember.allclose(a, b)


def test_vectorized_jacobian_and_hessian_match_pytorch():
    def fn(T):
        F = T.autograd.functional
        x = _x(T, 2, 3)
        xr = _x(T, 3).requires_grad_()
        jac = F.jacobian(_f_vec(T), xr, vectorize=True, create_graph=True)
        (g,) = T.autograd.grad(jac.sum(), xr)
        return (F.jacobian(_f_pair(T), (x, _x(T, 3) + 1), vectorize=True),
                F.hessian(_f_scalar(T), _x(T, 3), vectorize=True), jac, g)
    same(fn, warnings_too=False)  # PyTorch's vmap warns about its jit internals
