"""Oracle tests for ``func`` transforms: grad, grad_and_value, vjp, jvp, linearize, jacrev,
jacfwd, hessian — values, result structure, argnums/has_aux, nesting, errors."""

from __future__ import annotations

import importlib

import pytest

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


def test_grad_of_parameter_dicts_and_functional_call():
    def fn(T):
        F = _F(T)
        T.manual_seed(0)
        model = T.nn.Linear(3, 2).double()
        params = {k: v.detach() for k, v in model.named_parameters()}
        x = T.tensor([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]], dtype=T.float64)

        def loss(p, xb):
            return F.functional_call(model, p, (xb,)).square().sum()

        g = F.grad(loss)(params, x)
        per_sample = F.vmap(F.grad(loss), in_dims=(None, 0))(params, x.unsqueeze(1))
        tuple_grads = F.grad(lambda ab: (ab[0] * ab[1]).sum())((x, x + 1))
        return g, per_sample, tuple_grads, model.weight.requires_grad
    # the Linear's random init differs between the libraries: both start from fixed weights
    same(_fixed_weights(fn))


def _fixed_weights(fn):
    """Run ``fn`` with nn.Linear's parameters set to the same values in both libraries."""
    def wrapped(T):
        orig = T.nn.Linear.reset_parameters

        def fixed(self):
            with T.no_grad():
                n = self.weight.numel()
                self.weight.copy_((T.arange(n, dtype=T.float32) * 0.1 - 0.2)
                                  .reshape(self.weight.shape))
                if self.bias is not None:
                    self.bias.fill_(0.05)

        T.nn.Linear.reset_parameters = fixed
        try:
            return fn(T)
        finally:
            T.nn.Linear.reset_parameters = orig
    return wrapped


# ---- forward mode runs forward (NOTE [forward mode runs forward] in ember/func.py) -----------

def _inplace_fns(T):
    """Functions that write in place after using a value: the tangents must be those of the
    values as they were used (the writes happen as ``f`` runs, not before a replay)."""
    def under_no_grad(a):
        y = a * a
        with T.no_grad():
            y.mul_(2)
        return y.sin()

    def through_data(a):
        y = a.exp()
        r = y * 1
        y.data.mul_(3)
        return r

    def later_write(a):
        y = a.exp()
        r = y.sum()
        y.add_(1)
        return r, y

    def on_a_view(a):
        y = a * 2
        v = y[1:]
        r = y.sin()
        v.mul_(a[:2])
        return r, y

    def intermediate_add_(a):
        y = a.sin()
        z = y * a
        y.add_(a)
        return z + y

    def reads_after_view_write(a):
        y = a.clone()
        y[:2].mul_(y[1:].clone())
        return y.exp()

    return (under_no_grad, through_data, later_write, on_a_view, intermediate_add_,
            reads_after_view_write)


def test_jvp_sees_inplace_writes_as_they_happen():
    def fn(T):
        F, x = _F(T), _x(T)
        v = T.tensor([1.0, -1.0, 0.5], dtype=T.float64)
        return [F.jvp(f, (x,), (v,)) for f in _inplace_fns(T)]
    same(fn, warnings_too=False)


def test_linearize_and_jacfwd_with_inplace_writes():
    def fn(T):
        F, x = _F(T), _x(T)
        v = T.tensor([1.0, -1.0, 0.5], dtype=T.float64)
        res = []
        for f in _inplace_fns(T):
            if T.__name__ == "torch":
                # PyTorch's linearize replays a trace, which gets these in-place writes wrong
                # (not linear in the tangent): its jvp is the reference
                out, jfn = f(x), lambda t, f=f: F.jvp(f, (x,), (t,))[1]
            else:
                out, jfn = F.linearize(f, x)
            res += [out, jfn(v), jfn(2 * v), F.jacfwd(f)(x)]
        return res
    same(fn, warnings_too=False)


def test_nested_forward_and_forward_over_reverse_with_inplace_writes():
    def fn(T):
        F, x = _F(T), _x(T)

        def f(a):
            y = a ** 3
            with T.no_grad():
                y.mul_(2)
            return (y * a).sum()
        return (F.jacfwd(F.jacfwd(f))(x), F.hessian(f)(x), F.jacfwd(F.grad(f))(x),
                F.jvp(lambda a: F.jvp(f, (a,), (a,))[1], (x,), (x,)))
    same(fn, warnings_too=False)


def test_jvp_structure_and_errors():
    def fn(T):
        F, x = _F(T), _x(T)
        v = T.ones(3, dtype=T.float64)
        res = [F.jvp(lambda a: a[0] * a[1], ((x, x),), ((v, v),)),
               F.jvp(lambda a: (a > 1, a.long(), a * 2), (x,), (v,)),
               F.jvp(lambda a: T.ones(2), (x,), (v,)),
               F.jvp(lambda a: (a * 2, {"s": a.sum()}), (x,), (v,), has_aux=True),
               F.jvp(lambda a: [a, (a * 2, a.sum())], (x,), (v,)),
               F.jvp(lambda a: {"a": a.exp()}, (x,), (v,)),
               F.jvp(lambda a: a * a, (x,), (T.ones(3),))]
        for call in (lambda: F.jvp(lambda a: a, (x,), (T.ones(2, dtype=T.float64),)),
                     lambda: F.jvp(lambda a: a, (T.tensor([1, 2]),), (T.tensor([1, 2]),)),
                     lambda: F.jvp(lambda a: a * a, (x,), (T.tensor([1, 2, 3]),)),
                     lambda: F.jvp(lambda a: a, (1.0,), (1.0,)),
                     lambda: F.jvp(lambda a: a, (x,), (1.0,)),
                     lambda: F.jvp(lambda a: T.ones(2), (x,), (v,), strict=True),
                     lambda: F.jvp(lambda a: a * 2, (x,), (v,), has_aux=True),
                     lambda: F.jvp(lambda a: 3.0, (x,), (v,)),
                     lambda: F.jvp(lambda a: a, (x, x), (v,)),
                     lambda: F.jvp(lambda a: a, ((x, x), [x], {"a": x}),
                                   ((x,), [x], {"a": x})),
                     lambda: F.jvp(lambda: T.ones(2), (), ()),
                     lambda: F.jvp(lambda a: a, (x,), v)):
            try:
                call()
            except (RuntimeError, ValueError) as e:
                res.append((type(e).__name__, str(e)))
        return res
    same(fn, warnings_too=False)


def test_stack_module_state_and_torch_vmap():
    # The model-ensembling recipe: stacked parameters are fresh leaves; buffers stack as is.
    def fn(T):
        F = _F(T)
        T.manual_seed(0)
        models = [T.nn.Sequential(T.nn.Linear(3, 2), T.nn.BatchNorm1d(2)).eval()
                  for _ in range(3)]
        params, buffers = F.stack_module_state(models)
        x = T.randn(4, 3)
        linears = [T.nn.Linear(3, 2) for _ in range(3)]
        lp, lb = F.stack_module_state(linears)
        out = T.vmap(lambda p, b: F.functional_call(linears[0], (p, b), (x,)))(lp, lb)
        res = [params, buffers, [(p.is_leaf, p.requires_grad) for p in params.values()],
               [b.requires_grad for b in buffers.values()], out.detach(), T.vmap is F.vmap]
        models[1].train()
        frozen = T.nn.Linear(2, 2)
        frozen.bias.requires_grad_(False)
        for call in (lambda: F.stack_module_state([]),
                     lambda: F.stack_module_state(models),
                     lambda: F.stack_module_state([T.nn.Linear(2, 2), T.nn.ReLU()]),
                     lambda: F.stack_module_state([T.nn.Linear(2, 2), frozen])):
            try:
                call()
            except RuntimeError as e:
                res.append(str(e))
        return res
    same(fn)


def test_forward_transforms_of_op_objects_and_nested_forward_mode():
    # jacfwd(torch.sin) hands the transform the op itself (taken before its modes begin), and
    # jvp of jvp runs tanh's/sigmoid's fused derivative inside an outer forward level: both
    # gave zeros. (The Jacobians/Hessians recipe: hessian via jacfwd(jacfwd(f)).)
    def fn(T):
        F = _F(T)
        x = T.tensor([0.3, -0.5, 1.2], dtype=T.float64)
        v = T.tensor([1.0, 0.5, -2.0], dtype=T.float64)
        res = [F.jacfwd(T.sin)(x), F.jacfwd(T.nn.functional.relu)(x),
               F.vmap(lambda t: F.jvp(T.exp, (x,), (t,))[1])(T.eye(3, dtype=T.float64)),
               F.jacrev(F.jacfwd(T.cos))(x)]
        for name in ("tanh", "sigmoid", "sin", "cos", "relu"):
            op = getattr(T, name)
            res.append(F.jvp(lambda a, op=op: F.jvp(op, (a,), (v,))[1], (x,), (v,))[1])
            res.append(F.jacfwd(F.jacfwd(lambda a, name=name: getattr(T, name)(a) * a))(x))
        return res
    same(fn, rtol=1e-12, atol=1e-12, warnings_too=False)  # (torch.func warns about jit)


@pytest.mark.parametrize("name,kwargs", [
    ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("elu", {}), ("selu", {}),
    ("celu", {"alpha": 0.5}), ("mish", {}), ("silu", {}), ("softplus", {}),
    ("leaky_relu", {}), ("logsigmoid", {})])
def test_nested_forward_mode_through_activations(name, kwargs):
    # Second derivatives by forward over forward: the activations' fused backward kernels
    # compute through published ops while nested levels are open (they gave zeros or, for
    # mish, wrong values).
    def fn(T):
        F = _F(T)
        x = T.tensor([0.3, -0.5, 1.5, -2.0], dtype=T.float64)
        v = T.tensor([1.0, 0.5, -2.0, 0.25], dtype=T.float64)
        f = lambda a: getattr(T.nn.functional, name)(a, **kwargs)
        return (F.jvp(lambda a: F.jvp(f, (a,), (v,))[1], (x,), (v,))[1],
                F.jacfwd(F.jacfwd(lambda a: f(a).sum()))(x))
    same(fn, rtol=1e-10, atol=1e-12, warnings_too=False)  # (torch.func warns about jit)
