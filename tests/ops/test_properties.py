"""Property-based tests (hypothesis) for broadcasting, reductions and views.

For random broadcast-compatible shapes, ember's results and gradients must equal PyTorch's,
gradients must come back in each input's shape, and promotion must pick PyTorch's dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember

torch = pytest.importorskip("torch")

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1),
    "maximum": lambda a, b: a.maximum(b),
    "pow": lambda a, b: (a * a + 1) ** b,
}


@st.composite
def broadcast_pair(draw):
    ndim = draw(st.integers(0, 4))
    out = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))
    shapes = []
    for _ in range(2):
        k = draw(st.integers(0, ndim))
        shape = [s if draw(st.booleans()) else 1 for s in out[ndim - k:]]
        shapes.append(tuple(shape))
    return shapes


def _pair(module, arrays):
    return [module.tensor(a, requires_grad=True) for a in arrays]


@settings(max_examples=60, deadline=None)
@given(shapes=broadcast_pair(), op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 99))
def test_binary_broadcasting_matches_pytorch(shapes, op, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    results = []
    for module in (ember, torch):
        a, b = _pair(module, arrays)
        out = BINARY[op](a, b)
        out.backward(module.ones_like(out))
        results.append((out.detach().numpy().copy(), a.grad.numpy(), b.grad.numpy(),
                        tuple(out.shape)))
    (o1, ga1, gb1, s1), (o2, ga2, gb2, s2) = results
    assert s1 == s2
    np.testing.assert_allclose(o1, o2, rtol=1e-5, atol=1e-6)
    assert ga1.shape == shapes[0] and gb1.shape == shapes[1]
    np.testing.assert_allclose(ga1, ga2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gb1, gb2, rtol=1e-5, atol=1e-5)


@st.composite
def shape_and_dims(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    dims = draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                         unique_by=lambda d: d % ndim))
    return shape, tuple(dims)


@settings(max_examples=60, deadline=None)
@given(sd=shape_and_dims(), keepdim=st.booleans(), op=st.sampled_from(["sum", "mean", "amax"]))
def test_reductions_match_pytorch(sd, keepdim, op):
    shape, dims = sd
    arr = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float64)
    results = []
    for module in (ember, torch):
        x = module.tensor(arr, requires_grad=True)
        out = getattr(x, op)(dims, keepdim=keepdim)
        (out * module.arange(out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
        results.append((out.detach().numpy().copy(), x.grad.numpy().copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


@st.composite
def operand(draw):
    kind = draw(st.sampled_from(["dim", "zero", "scalar"]))
    if kind == "scalar":
        return ("scalar", draw(st.sampled_from([True, 3, -2, 2.5, 1e-3])))
    return (kind, draw(st.sampled_from(DTYPES)))


def _make(module, spec):
    kind, v = spec
    if kind == "scalar":
        return v
    shape = (2,) if kind == "dim" else ()
    return module.ones(shape, dtype=getattr(module, v))


@settings(max_examples=150, deadline=None)
@given(a=operand(), b=operand())
def test_promotion_matches_pytorch(a, b):
    if a[0] == "scalar":
        a, b = b, a
    if a[0] == "scalar":
        return  # two Python scalars are not a tensor op
    got = (_make(ember, a) + _make(ember, b)).dtype
    want = (_make(torch, a) + _make(torch, b)).dtype
    assert str(got) == str(want)
