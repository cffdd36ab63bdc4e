"""Oracle tests for activation checkpointing (``utils.checkpoint``): values and gradients as
without checkpointing, both variants, ``autograd.grad`` and higher order with the
non-reentrant one, RNG replay, ``checkpoint_sequential`` and the errors and warnings."""

from __future__ import annotations

import importlib

import pytest

from .oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def _ck(T):
    return importlib.import_module(T.__name__ + ".utils.checkpoint")


def _block(T):
    return lambda a, w: (a @ w).tanh() * a.sin() + (a * w.sum()).exp()


def _inputs(T):
    a = (T.arange(6, dtype=T.float64).reshape(2, 3) * 0.2 - 0.4).requires_grad_()
    w = (T.arange(9, dtype=T.float64).reshape(3, 3) * 0.1 - 0.3).requires_grad_()
    return a, w


@pytest.mark.parametrize("reentrant", [False, True])
def test_values_and_gradients_match_unchecked(reentrant):
    def fn(T):
        a, w = _inputs(T)
        y = _ck(T).checkpoint(_block(T), a, w, use_reentrant=reentrant)
        (y ** 2).sum().backward()
        return y.detach(), a.grad, w.grad
    same(fn)


def test_non_reentrant_with_grad_and_higher_order():
    def fn(T):
        a, w = _inputs(T)
        y = _ck(T).checkpoint(_block(T), a, w, use_reentrant=False).sum()
        ga, gw = T.autograd.grad(y, (a, w), create_graph=True)
        (gga,) = T.autograd.grad((ga ** 2).sum() + gw.sum(), a)
        return ga, gw, gga
    same(fn)


def test_non_reentrant_backward_inputs():
    def fn(T):
        a, w = _inputs(T)
        y = _ck(T).checkpoint(_block(T), a, w, use_reentrant=False).sum()
        y.backward(inputs=[w])
        return a.grad, w.grad
    same(fn)


def test_reentrant_refuses_autograd_grad():
    def fn(T):
        a, w = _inputs(T)
        y = _ck(T).checkpoint(_block(T), a, w, use_reentrant=True).sum()
        return T.autograd.grad(y, a)
    same(fn)


def test_missing_use_reentrant_warns_and_uses_reentrant():
    def fn(T):
        a, w = _inputs(T)
        y = _ck(T).checkpoint(_block(T), a, w)
        return y.grad_fn.name()
    same(fn)


def test_dropout_mask_is_replayed():
    def fn(T):
        T.manual_seed(0)
        a = T.ones(200, dtype=T.float64, requires_grad=True)

        def noisy(x):
            return x * (T.rand(200, dtype=T.float64) > 0.5) * 3

        y = _ck(T).checkpoint(noisy, a, use_reentrant=False)
        y.sum().backward()
        return bool((a.grad == y.detach()).all())
    same(fn)


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_sequential(reentrant):
    def fn(T):
        fs = [lambda x: x.sin(), lambda x: x * 2, lambda x: x.exp(), lambda x: x.tanh(),
              lambda x: x ** 2]
        a = (T.arange(4, dtype=T.float64) * 0.1).requires_grad_()
        y = _ck(T).checkpoint_sequential(fs, 2, a, use_reentrant=reentrant)
        y.sum().backward()
        return y.detach(), a.grad
    same(fn)


def test_recomputed_tensors_are_freed_without_the_cycle_collector():
    """A backward pass through checkpointed regions leaves nothing behind once the graph is
    gone: no reference cycle keeps the recomputed activations alive until a gc run."""
    import gc
    import tracemalloc

    import ember

    ck = _ck(ember)
    ws = [ember.randn(64, 64, requires_grad=True) for _ in range(8)]
    x = ember.randn(256, 64)
    layers = [_tanh_layer(w) for w in ws]
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        y = ck.checkpoint_sequential(layers, 4, x, use_reentrant=False)
        y.square().mean().backward()
        grads = sum(w.grad.numel() * 4 for w in ws)
        del y
        left, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        gc.enable()
    assert left < grads + 256 * 64 * 4 * 2  # the weight gradients, and no activations


def _tanh_layer(w):
    return lambda h: (h @ w).tanh()
