"""Second-order gradients where a zero or NaN reaches a node: PyTorch sends a zero tensor (not
"no gradient") down some double-backward edges, so the node that made a saved value still runs
its rule, and a NaN that rule makes reaches the result. Each case is a shrunk fuzz program
(seed 2026), compared with PyTorch through ``same``."""

from __future__ import annotations

import pytest

from ..oracle import same

NAN = float("nan")


def _grad2(m, f, *vals, dtype="float64"):
    """``d/dx sum(grad(f(xs), xs, create_graph=True) * 0.7)``, each x a leaf made from vals."""
    xs = [m.tensor(v, dtype=getattr(m, dtype), requires_grad=True) for v in vals]
    out = f(m, *xs)
    gs = m.autograd.grad(out.sum(), xs, create_graph=True, allow_unused=True)
    s = sum((g * 0.7).sum() for g in gs if g is not None and g.requires_grad)
    return gs, m.autograd.grad(s, xs, allow_unused=True)


def test_relu_of_logit_nan():
    # relu's double backward sends zeros to its result, so logit's rule makes NaN outside [0, 1]
    same(lambda m: _grad2(m, lambda m, x: m.logit(x) + m.relu(m.logit(x)), [-1.3, 0.4]))
    same(lambda m: _grad2(m, lambda m, x: m.relu(m.cummin(m.logit(x), 0)[0]), [1.25, 0.3]))


def test_logit_grad_fn_and_eps():
    same(lambda m: _grad2(m, lambda m, x: m.logit(x, 0.2), [0.1, 0.5, 0.9]))


@pytest.mark.parametrize("fn", ["huber_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_huber_smooth_l1_double_backward(fn, reduction):
    # PyTorch's fused backward op (its grad_fn name); its second order multiplies by the strict
    # |d| < delta mask, so a NaN gradient (var of one element) reaches the target
    def f(m, x, t):
        return getattr(m.nn.functional, fn)(x, t, reduction=reduction)

    def f_var(m, x, t):
        return f(m, x.var(0, keepdim=True), t)
    same(lambda m: _grad2(m, f, [1.0, 0.5, 3.0, -2.0, NAN], [0.0, 0.0, 0.0, 0.0, 0.0]))
    same(lambda m: _grad2(m, f_var, [1.0], [0.5]),
         warnings_too=False)  # ember also warns on inf * 0 in mul (an open difference)
    same(lambda m: _grad2(m, f, [1.0, 0.5, 3.0], [0.0, 0.0, 0.0], dtype="float32"))


@pytest.mark.parametrize("fn", ["celu", "elu", "elu_", "selu"])
def test_elu_double_backward(fn):
    # PyTorch's fused elu_backward (EluBackwardBackward0): its second order multiplies by the
    # strict x < 0 mask, so the NaN gradient of a one-element var reaches the input
    def f(m, x):
        F = m.nn.functional
        y = {"celu": lambda: F.celu(x, 0.7), "elu": lambda: F.elu(x, 0.7),
             "elu_": lambda: F.elu(x * 1, 0.7, inplace=True), "selu": lambda: F.selu(x)}[fn]()
        return y + m.var_mean(y[:1], -1)[0]
    same(lambda m: _grad2(m, f, [1.19, 0.0, -1.0, 3.0]), warnings_too=False)


def test_pow_double_backward_at_zero_base():
    # PyTorch's pow rules multiply g by a where-selected factor (and the base's is a where):
    # at 0 ** y (y >= 0) the second order is 0 * log(0), NaN
    same(lambda m: _grad2(m, lambda m, x, y: x ** y, [0.0, 2.0, 0.0, 0.0], [0.7, 0.5, -1.0, 0.0]),
         warnings_too=False)
    same(lambda m: _grad2(m, lambda m, y: m.tensor([0, 2, 3]) ** y, [0.76, 0.5, -1.0]),
         warnings_too=False)  # (ember's log and mul warn through NumPy: an open difference)
    same(lambda m: _grad2(m, lambda m, y: 0 ** y, [0.76, 0.0, -1.0]), warnings_too=False)


@pytest.mark.parametrize("fn", ["softshrink", "hardshrink"])
def test_shrink_double_backward_reaches_input(fn):
    # PyTorch's fused shrink backward takes the input with a zero derivative: the gradient
    # requires grad, and the zeros sent back make 0 / 0 = NaN in a division before it
    def f(m, x):
        return getattr(m.nn.functional, fn)(x / m.tensor([1.0, 1.0, 0.0, 1.0]))
    same(lambda m: _grad2(m, f, [2.0, 0.1, -3.0, 1.34]), warnings_too=False)
    same(lambda m: _grad2(m, lambda m, x: getattr(m.nn.functional, fn)(x), [2.0, 0.1]))


@pytest.mark.parametrize("fn", ["max_pool1d", "adaptive_max_pool1d"])
def test_max_pool_double_backward_reaches_input(fn):
    # PyTorch's pooling backward op takes the input too (derivative zeros): the gradient
    # requires grad, and 0 / 0 before the pool makes NaN
    def f(m, x, scale=True):
        y = x / m.tensor([1.0, 1.0, 0.0, 1.0]) if scale else x
        return getattr(m.nn.functional, fn)(y.reshape(1, 1, 4), 2)
    same(lambda m: _grad2(m, f, [1.0, 2.0, -3.0, 4.0]), warnings_too=False)
    same(lambda m: _grad2(m, lambda m, x: f(m, x, False), [1.0, 2.0, -3.0, 4.0]))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_double_backward_inf_gradient(approximate):
    # PyTorch's fused gelu_backward: its second order is g times gelu'' as one factor, so an
    # inf g (gelu(x) / 0) gives +-inf, not inf - inf = NaN from separate terms
    def f(m, x):
        return m.nn.functional.gelu(x, approximate=approximate) / m.tensor([False, True, True])
    same(lambda m: _grad2(m, f, [-1.02, 0.3, 2.0]), warnings_too=False)


def test_std_zero_spread_double_backward():
    # PyTorch masks std's gradient after dividing by 2 * std: at zero spread the division's
    # own gradients are 0 / 0 = NaN, which shows when the incoming gradient depends on x
    # (ember's division rule warns on 0 / 0 through NumPy: an open difference)
    same(lambda m: _grad2(m, lambda m, x: x.std(0) * x.sum(), [-1.375, -1.375]),
         warnings_too=False)
    same(lambda m: _grad2(m, lambda m, x: m.std_mean(x, 0)[0] * x.sum(), [2.0, 2.0]),
         warnings_too=False)
    same(lambda m: _grad2(m, lambda m, x: x.std(0) * x.sum(), [-1.375, 1.0]))


def test_logcumsumexp_jvp_inf_tangent():
    # (forward mode) an inf tangent at x = -inf reaches later outputs only, as PyTorch's
    # cumsum: the weights path (a slice spanning -inf) masks j < i after the product
    def f(m):
        x = m.tensor([[-1.02, -0.53, 1.14, -0.70]], dtype=m.float64)
        v0 = x.to(m.int64)
        return m.func.jvp(lambda x: m.logcumsumexp(x / v0, -1), (x,), (m.ones_like(x),))
    same(f, warnings_too=False)


def test_logcumsumexp_double_backward_with_minus_inf():
    # with create_graph the rule is PyTorch's composition (log-space positive and negative
    # parts of g), so the second order at x = -inf and next to it is PyTorch's
    def f(m, x):
        return m.logcumsumexp(x / m.tensor([[-1, 0, 1, 0]]), -1) * m.tensor([[1.0, 2, -1, 0.5]])
    same(lambda m: _grad2(m, f, [[-1.02, -0.53, 1.14, -0.70]]), warnings_too=False)
    same(lambda m: _grad2(m, lambda m, x: m.logcumsumexp(x, 0) * m.tensor([1.0, -2, 3]),
                          [0.3, -0.2, 1.1]))
