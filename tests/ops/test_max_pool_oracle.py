"""Oracle tests for max pooling's values, indices and gradients against PyTorch, exactly:
windows that tile the input (kernel == stride, ember's fast path) and the general path, on
inputs full of ties (PyTorch keeps the first maximum in window order), NaNs (the last NaN
wins), infinities and integers, with return_indices, double backward and forward mode."""

from __future__ import annotations

import numpy as np
import pytest

from ..oracle import same

pytest.importorskip("torch")


def _data(kind, shape, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "ties":  # few distinct values: most windows hold several maxima
        return rng.integers(-1, 2, shape).astype(np.float64)
    if kind == "equal":
        return np.full(shape, 0.5)
    if kind == "nan":
        x = rng.integers(-2, 3, shape).astype(np.float64)
        x[rng.random(shape) < 0.3] = np.nan
        return x
    if kind == "inf":
        x = rng.standard_normal(shape)
        x[rng.random(shape) < 0.5] = -np.inf
        x[rng.random(shape) < 0.05] = np.inf
        return x
    if kind == "neg_inf":  # windows with nothing but -inf: padding must never win
        return np.full(shape, -np.inf)
    return rng.standard_normal(shape)


# (input shape, kernel_size, stride, padding, dilation, ceil_mode)
TILED = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((2, 3, 9, 9), 2, None, 0, 1, False),  # floor mode drops the last row and column
    ((2, 3, 9, 7), 3, 3, 0, 1, False),
    ((2, 2, 10, 11), (3, 2), (3, 2), 0, 1, False),
    ((3, 8, 6), 2, 2, 0, 1, False),  # no batch dim
    ((1, 1, 5, 4), (1, 4), None, 0, 1, False),
    ((2, 2, 6, 6), (2, 1), None, 0, 1, False),
    ((2, 2, 8, 8), 2, None, 0, 1, True),  # ceil mode that adds no window
]
GENERAL = [
    ((2, 3, 8, 8), 3, 2, 1, 1, False),
    ((2, 3, 7, 7), 2, 2, 0, 1, True),  # ceil mode: the last windows hang over
    ((2, 2, 9, 9), 3, 2, 1, 2, True),
    ((2, 2, 7, 8), 2, 1, 1, 1, False),
    ((1, 2, 5, 5), 3, 3, 1, 1, True),
]
KINDS = ["random", "ties", "equal", "nan", "inf", "neg_inf"]


def _pool(T, x, geometry, weights):
    _, k, s, p, d, ceil = geometry
    out, idx = T.nn.functional.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    (g,) = T.autograd.grad(out, x, T.tensor(weights))
    return out, idx, g


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("geometry", TILED + GENERAL)
def test_max_pool2d_values_indices_grad(geometry, kind):
    x = _data(kind, geometry[0])

    def fn(T):
        xt = T.tensor(x, requires_grad=True)
        out, idx = T.nn.functional.max_pool2d(xt.detach(), *geometry[1:], return_indices=True)
        w = np.random.default_rng(1).standard_normal(tuple(out.shape))
        return _pool(T, xt, geometry, w), out, idx

    same(fn, rtol=0, atol=0)


@pytest.mark.parametrize("geometry", TILED[:3])
def test_max_pool2d_float32_and_no_grad(geometry):
    x = _data("ties", geometry[0]).astype(np.float32)

    def fn(T):
        xt = T.tensor(x)
        with T.no_grad():
            plain = T.nn.functional.max_pool2d(xt, *geometry[1:])
        return plain, T.nn.functional.max_pool2d(xt, *geometry[1:], return_indices=True)

    same(fn, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
@pytest.mark.parametrize("geometry", [TILED[0], TILED[1], GENERAL[0], GENERAL[1]])
def test_max_pool2d_integers(geometry, dtype):
    x = np.random.default_rng(2).integers(0, 3, geometry[0])

    def fn(T):
        xt = T.tensor(x, dtype=getattr(T, dtype))
        return (T.nn.functional.max_pool2d(xt, *geometry[1:]),
                T.nn.functional.max_pool2d(xt, *geometry[1:], return_indices=True))

    same(fn, rtol=0, atol=0)


def test_max_pool2d_non_contiguous_input():
    x = _data("ties", (2, 3, 8, 10))

    def fn(T):
        xt = T.tensor(x, requires_grad=True)
        out, idx = T.nn.functional.max_pool2d(xt.transpose(2, 3), 2, return_indices=True)
        (g,) = T.autograd.grad((out * out).sum(), xt)
        return out, idx, g

    same(fn, rtol=0, atol=0)


@pytest.mark.parametrize("geometry", [TILED[0], TILED[1], GENERAL[0]])
def test_max_pool2d_double_backward(geometry):
    x = _data("ties", geometry[0]) + np.random.default_rng(3).random(geometry[0]) * 0.1

    def fn(T):
        xt = T.tensor(x, requires_grad=True)
        out = T.nn.functional.max_pool2d(xt, *geometry[1:])
        (g,) = T.autograd.grad((out * out).sum(), xt, create_graph=True)
        return out, g, T.autograd.grad((g * g).sum(), xt)

    same(fn, rtol=0, atol=0)


@pytest.mark.parametrize("geometry", [TILED[0], TILED[1], GENERAL[0]])
def test_max_pool2d_forward_mode(geometry):
    x = _data("ties", geometry[0])
    t = np.random.default_rng(4).standard_normal(geometry[0])

    def fn(T):
        return T.func.jvp(lambda v: T.nn.functional.max_pool2d(v, *geometry[1:]),
                          (T.tensor(x),), (T.tensor(t),))

    # NOTE: torch.func warns about its own internals (torch.jit.script).
    same(fn, rtol=0, atol=0, warnings_too=False)


def _with_indices_and_grad(call, x):
    """An oracle function: ``call(T, x)`` (a pooling with ``return_indices``) and the input's
    gradient for the output gradient ``out + 1``."""
    def fn(T):
        xt = T.tensor(x, requires_grad=True)
        out, idx = call(T, xt)
        (g,) = T.autograd.grad(out, xt, out.detach() + 1)
        return out, idx, g

    return fn


@pytest.mark.parametrize("kind", ["random", "ties", "nan"])
@pytest.mark.parametrize("call", [
    lambda T, x: T.nn.functional.max_pool3d(x, 2, return_indices=True),
    lambda T, x: T.nn.functional.max_pool3d(x, (1, 2, 3), return_indices=True),
    lambda T, x: T.nn.functional.max_pool3d(x, 2, 1, 1, return_indices=True),
])
def test_max_pool3d(call, kind):
    same(_with_indices_and_grad(call, _data(kind, (2, 2, 5, 6, 7))), rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["random", "ties", "nan"])
@pytest.mark.parametrize("call", [
    lambda T, x: T.nn.functional.max_pool1d(x, 2, return_indices=True),
    lambda T, x: T.nn.functional.max_pool1d(x, 3, return_indices=True),
    lambda T, x: T.nn.functional.max_pool1d(x, 3, 2, 1, return_indices=True),
])
def test_max_pool1d(call, kind):
    same(_with_indices_and_grad(call, _data(kind, (2, 3, 11))), rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["random", "ties", "equal"])
@pytest.mark.parametrize("size", [(2, 3), (3, 3), (1, 1), (4, 5)])
def test_adaptive_max_pool2d(size, kind):
    x = _data(kind, (2, 3, 7, 9))

    def fn(T):
        xt = T.tensor(x, requires_grad=True)
        out, idx = T.nn.functional.adaptive_max_pool2d(xt, size, return_indices=True)
        (g,) = T.autograd.grad((out * out).sum(), xt)
        return out, idx, g

    same(fn, rtol=0, atol=0)


def test_adaptive_max_pool2d_double_backward():
    x = _data("random", (2, 3, 7, 9))

    def fn(T):
        xt = T.tensor(x, requires_grad=True)
        out = T.nn.functional.adaptive_max_pool2d(xt, (3, 4))
        (g,) = T.autograd.grad((out * out).sum(), xt, create_graph=True)
        return out, g, T.autograd.grad((g * g).sum(), xt)

    same(fn, rtol=0, atol=0)


@pytest.mark.parametrize("shape,kernel", [
    ((0, 3, 8, 8), 2),  # an empty batch
    ((2, 3, 9, 8), 2),  # leftover rows only
    ((2, 3, 8, 9), 2),  # leftover columns only
    ((2, 3, 8, 8), 8),  # one window per plane
    ((1, 2, 34, 35), 17),  # 289 kernel offsets
    ((1, 1, 1030, 1030), 2),  # too many windows for a cached base index
])
def test_max_pool2d_tiling_shapes(shape, kernel):
    x = _data("ties", shape)

    def fn(T):
        xt = T.tensor(x, requires_grad=True)
        out, idx = T.nn.functional.max_pool2d(xt, kernel, return_indices=True)
        (g,) = T.autograd.grad(out, xt, out.detach() + 1)
        return out, idx, g

    same(fn, rtol=0, atol=0)


def test_max_pool2d_float16():
    x = _data("ties", (2, 3, 8, 9)).astype(np.float16)
    same(lambda T: T.nn.functional.max_pool2d(T.tensor(x), 2, return_indices=True),
         rtol=0, atol=0)
