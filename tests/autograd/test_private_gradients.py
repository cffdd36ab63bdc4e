"""NOTE [private gradients] in engine.py: rules that overwrite their incoming gradient.

The engine lets ReLU's and mul's rules write into the gradient they receive only when nothing
else can see it. Each test runs the same graph through ember and PyTorch (which never shares
these buffers) and compares every gradient and everything a hook or the caller kept; a spy on
the in-place rules checks that the fast path really ran where it is safe and did not where it is
not, so a test cannot pass because the feature quietly stopped working.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import engine
from ember.ops.pointwise import MulBackward0
from ember.ops.unary import ReluBackward0

torch = pytest.importorskip("torch")

N = 100  # 100 x 100 float64 = 80 KB, over engine.PRIVATE_MIN_BYTES


@pytest.fixture
def spy(monkeypatch):
    """Counts calls of the in-place rules by node class name."""
    calls = {"ReluBackward0": 0, "MulBackward0": 0}
    for cls in (ReluBackward0, MulBackward0):
        rule = cls._vjp_private

        def counted(ctx, *grads, rule=rule, name=cls.__name__):
            calls[name] += 1
            return rule(ctx, *grads)

        monkeypatch.setattr(cls, "_vjp_private", staticmethod(counted))
    return calls


def _data(seed=0, shape=(N, N)):
    return np.random.default_rng(seed).standard_normal(shape)


def _both(fn):
    """``fn(T)`` for ember and torch; results (lists of tensors) compared as arrays."""
    out = {}
    for T in (ember, torch):
        out[T] = [np.array(t.detach().numpy() if hasattr(t, "detach") else t)
                  for t in fn(T)]
    assert len(out[ember]) == len(out[torch])
    for a, b in zip(out[ember], out[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_calibrated_on_cpython():
    import sys

    assert engine.PRIVATE_OK is (sys.implementation.name == "cpython")


def test_plain_backward_runs_in_place(spy):
    xs = _data()

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        y = ((x * 1.5).relu() * x).relu() * 2.0
        y.sum().backward()
        return [x.grad]

    _both(f)
    # (r * x) and (x * 1.5) receive fresh products, and so do both ReLUs.
    assert spy["ReluBackward0"] == 2 and spy["MulBackward0"] == 2


def test_small_gradients_are_not_checked(spy):
    def f(T):
        x = T.tensor([1.0, -2.0, 3.0], requires_grad=True)
        ((x * 2).relu() * 3).sum().backward()
        return [x.grad]

    _both(f)
    assert spy == {"ReluBackward0": 0, "MulBackward0": 0}


def test_retain_grad_keeps_the_gradient_it_saw(spy):
    xs = _data(1)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        h = x * 3
        h.retain_grad()
        r = h.relu()
        r.retain_grad()
        (r * 2.0).sum().backward()
        return [x.grad, h.grad, r.grad]

    _both(f)
    assert spy["ReluBackward0"] == 0 and spy["MulBackward0"] == 0


def test_tensor_hook_that_keeps_the_gradient(spy):
    xs = _data(2)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        r = (x * 3).relu()
        kept = []
        r.register_hook(kept.append)  # keeps the very tensor, no clone
        (r * 2.0).sum().backward()
        return [x.grad, kept[0]]

    _both(f)
    assert spy["ReluBackward0"] == 0


def test_node_post_hook_sees_the_original_grad_outputs(spy):
    xs = _data(3)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        r = (x * 3).relu()
        kept = []
        r.grad_fn.register_hook(lambda gin, gout: kept.append(gout[0]))
        (r * 2.0).sum().backward()
        return [x.grad, kept[0]]

    _both(f)
    assert spy["ReluBackward0"] == 0


def test_callers_gradient_is_never_written(spy):
    xs, gs = _data(4), _data(5)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        g = T.tensor(gs)
        (x * 3).relu().backward(g)
        return [x.grad, g]

    _both(f)
    assert spy["ReluBackward0"] == 0


@pytest.mark.parametrize("relu_first", [True, False])
def test_gradient_sent_to_two_nodes(spy, relu_first):
    """add passes one gradient tensor to both its inputs. The node that runs first (the one
    recorded last) must not write it; the other may, once the first has used it."""
    xs = _data(6)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        a = x * 2.0
        if relu_first:
            s = a.sigmoid()
            r = a.relu()
        else:
            r = a.relu()
            s = a.sigmoid()
        y = (r + s) * 3.0
        y.sum().backward()
        return [x.grad]

    _both(f)
    assert spy["ReluBackward0"] == (0 if relu_first else 1)


def test_captured_gradient_is_returned_intact(spy):
    xs = _data(7)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        r = (x * 3).relu()
        y = r * 2.0
        return list(T.autograd.grad(y.sum(), (r, x)))

    _both(f)
    assert spy["ReluBackward0"] == 0


def test_view_of_a_gradient_is_not_private(spy):
    xs = _data(8)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        r = (x * 3).relu().reshape(-1)
        (r * 2.0).sum().backward()
        return [x.grad]

    _both(f)
    assert spy["ReluBackward0"] == 0


def test_products_of_two_tensors(spy):
    """mul writes x's gradient into g only after y's, which reads g, is made; x * x and
    mixed dtypes (no in-place product of g's dtype) take the ordinary rule."""
    xs, ys = _data(9), _data(10)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        y = T.tensor(ys, requires_grad=True)
        z = T.tensor(ys.astype(np.float32), requires_grad=True)
        a = ((x * y) * 2.0 * (x * 1.0)) * 1.5
        b = ((x * 0.5) * (x * 0.5)) * 2.0
        c = (z * 2.0) * (x * 1.0)  # float32 * float64
        (a.sum() + b.sum() + c.sum()).backward()
        return [x.grad, y.grad, z.grad]

    _both(f)
    assert spy["MulBackward0"] >= 4


def test_create_graph_and_retain_graph(spy):
    xs = _data(11)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        y = ((x * 1.5).relu() * x * 2.0).sum()
        (g,) = T.autograd.grad(y, x, create_graph=True)
        (h,) = T.autograd.grad((g * g).sum(), x, retain_graph=True)
        y.backward()
        return [g, h, x.grad]

    _both(f)


def test_leaf_keeps_a_private_gradient_as_its_grad(spy):
    """The gradient written in place flows on to the leaf, which keeps it; a second backward
    accumulates into a new .grad as PyTorch's does."""
    xs = _data(12)

    def f(T):
        x = T.tensor(xs, requires_grad=True)
        y = ((x * 1.5).relu() * 2.0).sum()
        y.backward(retain_graph=True)
        first = x.grad.clone()
        y.backward()
        return [first, x.grad]

    _both(f)
    assert spy["ReluBackward0"] == 2
