"""Oracle tests for the nn family (activations, normalization, dropout, embedding, linear
layers): in-place variants, errors, integer inputs, named behaviour and the statistics of the
random ops, each run through ember and PyTorch (``same``) where the result is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

import ember

from ..oracle import same


def _x(T, requires_grad=True):
    return T.tensor([[-1.5, -0.2, 0.3], [0.9, 2.5, -3.1]], requires_grad=requires_grad)


# ---- activations: in-place variants ----------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda F, y: F.elu(y, inplace=True),
    lambda F, y: F.elu_(y, 0.5),
    lambda F, y: F.selu(y, inplace=True),
    lambda F, y: F.celu(y, 2.0, True),
    lambda F, y: F.leaky_relu(y, 0.3, inplace=True),
    lambda F, y: F.leaky_relu_(y),
    lambda F, y: F.hardtanh(y, inplace=True),
    lambda F, y: F.hardtanh_(y, -0.5, 0.5),
    lambda F, y: F.relu6(y, inplace=True),
    lambda F, y: F.threshold(y, 0.1, 7.0, inplace=True),
    lambda F, y: F.threshold_(y, 0.1, 7.0),
    lambda F, y: F.silu(y, inplace=True),
    lambda F, y: F.mish(y, inplace=True),
    lambda F, y: F.hardsigmoid(y, inplace=True),
    lambda F, y: F.hardswish(y, inplace=True),
    lambda F, y: F.rrelu(y, inplace=True),
    lambda F, y: F.rrelu_(y, 0.2, 0.4),
])
def test_activation_inplace(call):
    def fn(T):
        x = _x(T)
        y = x * 1.0
        out = call(T.nn.functional, y)
        out.sum().backward()
        return out is y, out, x.grad
    same(fn)


@pytest.mark.parametrize("name", ["selu_", "celu_", "threshold_", "rrelu_"])
def test_torch_namespace_inplace(name):
    def fn(T):
        y = _x(T, False).clone()
        args = (0.0, 1.0) if name == "threshold_" else ()
        out = getattr(T, name)(y, *args)
        return out is y, y
    same(fn)


# ---- activations: values at the edges, ties, errors ------------------------------------------

@pytest.mark.parametrize("name", ["softplus", "logsigmoid", "silu", "mish", "gelu", "elu",
                                  "selu", "celu", "softsign", "tanhshrink"])
def test_activation_extremes(name):
    # NOTE: stable forms: no overflow or nan at |x| ~ 1e3 and beyond.
    def fn(T):
        x = T.tensor([-1e4, -1e3, -30.0, 0.0, 30.0, 1e3, 1e4], requires_grad=True)
        out = getattr(T.nn.functional, name)(x)
        out.sum().backward()
        return out, x.grad
    same(fn)


@pytest.mark.parametrize("call", [
    lambda F, x: F.hardtanh(x, -1.0, 1.0),
    lambda F, x: F.relu6(x * 6),
    lambda F, x: F.leaky_relu(x * 0),
    lambda F, x: F.hardshrink(x, 1.0),
    lambda F, x: F.softshrink(x, 1.0),
    lambda F, x: F.threshold(x, 1.0, 0.0),
    lambda F, x: F.hardsigmoid(x * 3),
    lambda F, x: F.hardswish(x * 3),
    lambda F, x: F.elu(x * 0),
    lambda F, x: F.softplus(x * 20, threshold=20.0),
    lambda F, x: F.prelu(x * 0, (x[:1] * 0 + 0.25).detach()),
])
def test_subgradients_at_kinks(call):
    def fn(T):
        x = T.tensor([-1.0, 0.0, 1.0], dtype=T.float64, requires_grad=True)
        out = call(T.nn.functional, x)
        (g,) = T.autograd.grad(out.sum(), x)
        return out, g
    same(fn)


@pytest.mark.parametrize("call", [
    lambda F, x: F.gelu(x, approximate="foo"),
    lambda F, x: F.softshrink(x, -1.0),
    lambda F, x: F.hardtanh(x, 2.0, 1.0),
    lambda F, x: F.celu(x, 0.0),
    lambda F, x: F.glu(x.sum()),
    lambda F, x: F.glu(x, 1),
    lambda F, x: F.glu(x, 3),
    lambda F, x: F.prelu(x, x[0, :2]),
    lambda F, x: F.leaky_relu(x.long()),
    lambda F, x: F.elu(x.long()),
    lambda F, x: F.gelu(x.long()),
    lambda F, x: F.softplus(x.long()),
    lambda F, x: F.threshold(x.long(), 0, 5),
    lambda F, x: F.softmin(x),
])
def test_activation_errors_and_ints(call):
    same(lambda T: call(T.nn.functional, _x(T, False)))


def test_glu_prelu_grads():
    def fn(T):
        x = T.tensor(np.linspace(-2, 2, 24).reshape(2, 4, 3), requires_grad=True)
        w = T.tensor([0.1, -0.2, 0.3, 0.4], dtype=T.float64, requires_grad=True)
        out = T.nn.functional.glu(x, 1) * 2 + T.nn.functional.prelu(x, w)[:, :2]
        gx, gw = T.autograd.grad(out.sum(), (x, w))
        return out, gx, gw, x.prelu(w), T.hardshrink(x, 0.5)
    same(fn)


def test_rrelu_training_slopes():
    x = ember.tensor(np.linspace(-2, 2, 2001))
    out = ember.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    neg = x._data < 0
    slopes = out._data[neg] / x._data[neg]
    assert (slopes >= 0.1).all() and (slopes <= 0.3).all() and slopes.std() > 0.03
    assert np.array_equal(out._data[~neg], x._data[~neg])


# ---- normalization ------------------------------------------------------------------------------

def _nx(T, *shape):
    n = int(np.prod(shape))
    return T.tensor(np.sin(np.arange(n) * 1.3).reshape(shape), requires_grad=True)


def test_batch_norm_running_stats():
    def fn(T):
        x = _nx(T, 4, 3, 2)
        rm, rv = T.zeros(3, dtype=T.float64), T.ones(3, dtype=T.float64)
        w = T.tensor([1.0, 2.0, 0.5], dtype=T.float64, requires_grad=True)
        out = T.nn.functional.batch_norm(x, rm, rv, w, None, True, 0.3)
        out2 = T.nn.functional.batch_norm(x, rm, rv, w, training=False)
        gx, gw = T.autograd.grad((out * out2).sum(), (x, w))
        return out, out2, rm, rv, rm._version > 0, gx, gw
    same(fn)


def test_instance_norm_running_stats():
    def fn(T):
        x = _nx(T, 2, 3, 4)
        rm, rv = T.zeros(3, dtype=T.float64), T.ones(3, dtype=T.float64)
        out = T.nn.functional.instance_norm(x, rm, rv, momentum=0.5)
        ev = T.nn.functional.instance_norm(x, rm, rv, use_input_stats=False)
        return out, ev, rm, rv, T.autograd.grad((out * ev).sum(), x)
    same(fn)


def test_torch_namespace_norms():
    def fn(T):
        x = _nx(T, 2, 3, 2)
        w, b = T.ones(3, dtype=T.float64), T.zeros(3, dtype=T.float64)
        return (T.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
                T.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
                T.layer_norm(x, [2]), T.group_norm(x, 3), T.rms_norm(x, [2]))
    same(fn)


def test_norm_second_order_graph():
    def fn(T):
        x = _nx(T, 2, 4)
        w = T.tensor([1.0, 2.0, 0.5, -1.0], dtype=T.float64, requires_grad=True)
        y = T.nn.functional.layer_norm(x, (4,), w)
        (gx,) = T.autograd.grad((y ** 3).sum(), x, create_graph=True)
        return T.autograd.grad((gx * gx).sum(), (x, w))
    same(fn)


@pytest.mark.parametrize("call", [
    lambda T, F, x: F.layer_norm(x, (4,)),
    lambda T, F, x: F.layer_norm(x, (3,), T.ones(2)),
    lambda T, F, x: F.layer_norm(x, (3,), None, T.ones(2)),
    lambda T, F, x: F.layer_norm(x, []),
    lambda T, F, x: F.group_norm(x, 3),
    lambda T, F, x: F.group_norm(x, 2, T.ones(3)),
    lambda T, F, x: F.batch_norm(x, T.zeros(3), T.ones(4)),
    lambda T, F, x: F.batch_norm(x[:1, :, :1], None, None, training=True),
    lambda T, F, x: F.batch_norm(x, None, None),
    lambda T, F, x: F.batch_norm(x, T.zeros(4), T.ones(4), T.ones(3)),
    lambda T, F, x: F.batch_norm(x, None, None, training=True, eps=0.0),
    lambda T, F, x: F.instance_norm(x[:, :, :1]),
    lambda T, F, x: F.instance_norm(x[0]),
    lambda T, F, x: F.rms_norm(x, (4,)),
])
def test_norm_errors(call):
    same(lambda T: call(T, T.nn.functional, T.zeros(2, 4, 3)))
