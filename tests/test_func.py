"""Oracle tests for ``func`` transforms: grad, grad_and_value, vjp, jvp, linearize, jacrev,
jacfwd, hessian — values, result structure, argnums/has_aux, nesting, errors."""

from __future__ import annotations

import importlib

from .oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def _F(T):
    return importlib.import_module(T.__name__ + ".func")


def _x(T):
    return T.tensor([1.0, 2.0, 3.0], dtype=T.float64)


def _cube(T):
    return lambda x: (x ** 3).sum()


def test_grad_argnums_aux_and_value():
    def fn(T):
        F, x = _F(T), _x(T)
        return (F.grad(_cube(T))(x),
                F.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(x, x + 1),
                F.grad(lambda a, b: (a * b).sum(), argnums=-1)(x, x + 1),
                F.grad(lambda a: ((a ** 2).sum(), a.mean()), has_aux=True)(x),
                F.grad_and_value(_cube(T))(x),
                F.grad_and_value(lambda a: ((a ** 2).sum(), a.mean()), has_aux=True)(x))
    same(fn)


def test_grad_errors():
    def fn(T):
        F, x = _F(T), _x(T)
        res = []
        for call in (lambda: F.grad(lambda a: a ** 2)(x),
                     lambda: F.grad(_cube(T), argnums=2)(x)):
            try:
                call()
            except RuntimeError as e:
                res.append(str(e))
        return res
    same(fn)


def test_nested_grad_and_captured_variables():
    def fn(T):
        F, x = _F(T), _x(T)
        second = F.grad(lambda a: F.grad(_cube(T))(a).sum())(x)
        captured = F.grad(lambda a: F.grad(lambda b: (a * b).sum())(a).sum())(x)
        third = F.grad(lambda a: F.grad(lambda b: F.grad(_cube(T))(b).sum())(a).sum())(x)
        return second, captured, third
    same(fn)


def test_grad_stays_connected_to_callers_graph():
    def fn(T):
        F = _F(T)
        x = _x(T).requires_grad_()
        g = F.grad(_cube(T))(x)
        (gg,) = T.autograd.grad(g.sum(), x)
        return g, gg
    same(fn)


def test_vjp():
    def fn(T):
        F, x = _F(T), _x(T)
        out, f = F.vjp(lambda a: a.sin(), x)
        out2, f2, aux = F.vjp(lambda a: (a.sin(), a.sum()), x, has_aux=True)
        out3, f3 = F.vjp(lambda a, b: a * b, x, x + 1)
        return out, f(T.ones(3, dtype=T.float64)), aux, f2(T.ones(3, dtype=T.float64)), \
            f3(T.ones(3, dtype=T.float64))
    same(fn)


def test_jvp_and_linearize():
    def fn(T):
        F, x = _F(T), _x(T)
        v = T.tensor([1.0, -1.0, 0.5], dtype=T.float64)
        res = [F.jvp(lambda a: a.sin() * a, (x,), (v,)),
               F.jvp(lambda a, b: (a * b).sum(), (x, x), (v, v))]
        out, jfn = F.linearize(lambda a: a.exp(), x)
        res += [out, jfn(v)]
        try:
            F.jvp(lambda a: a, x, (x,))
        except RuntimeError as e:
            res.append(str(e))
        return res
    same(fn, warnings_too=False)  # PyTorch's forward mode warns about its jit internals


def test_jacobians_and_hessian():
    def fn(T):
        F, x = _F(T), _x(T)
        f = lambda a: a.sin() * a.sum()  # noqa: E731
        return (F.jacrev(f)(x), F.jacfwd(f)(x),
                F.jacrev(lambda a, b: a * b, argnums=1)(x, x + 1),
                F.jacfwd(lambda a, b: a * b, argnums=(0, 1))(x, x + 1),
                F.jacrev(lambda a: (a.sin(), a.sum()))(x),
                F.hessian(_cube(T))(x),
                F.hessian(lambda a: (a.sin() * a).sum())(x),
                F.jacrev(F.jacrev(lambda a: (a ** 3).sum()))(x),
                F.jacfwd(F.jacfwd(lambda a: (a ** 3).sum()))(x))
    same(fn, warnings_too=False)  # PyTorch's forward mode warns about its jit internals
