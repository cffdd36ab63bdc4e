"""ember/ops/where_kernel.py's branch-free select against np.where, bit for bit: dtypes,
broadcast shapes (condition, either operand or both smaller than the result), 0-d operands,
non-contiguous views, NaN payloads and signed zeros, drawn by hypothesis; and the ops that
use it against PyTorch on inputs large enough to take it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ember.ops import where_kernel
from ember.ops.where_kernel import where

from ..oracle import same

DTYPES = ["float32", "float64", "float16", "int16", "int32", "int64", "uint8", "complex64",
          "complex128", "bool"]
FULL = (70, 64)  # 4480 elements: over where_kernel.MIN_SIZE


def _shape(keep_rows, keep_cols):
    return (FULL[0] if keep_rows else 1, FULL[1] if keep_cols else 1)


def _values(rng, shape, dtype):
    x = rng.standard_normal(shape) * 100
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    x = np.asarray(x).astype(dtype)
    if x.dtype.kind in "fc" and x.size >= 4:
        flat = x.reshape(-1)
        flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
        if x.dtype.kind == "f":  # a NaN with its sign bit set and a payload
            flat.view(np.uint8)[(x.itemsize - 1)] |= 0x80
    return x


@settings(max_examples=120, deadline=None)
@given(dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16),
       cond_dims=st.tuples(st.booleans(), st.booleans()),
       a_dims=st.tuples(st.booleans(), st.booleans()),
       b_dims=st.tuples(st.booleans(), st.booleans()),
       zero_d=st.sampled_from([None, "a", "b"]), strided=st.booleans())
def test_where_matches_numpy_bit_for_bit(dtype, seed, cond_dims, a_dims, b_dims, zero_d,
                                         strided):
    rng = np.random.default_rng(seed)
    cond = rng.standard_normal(_shape(*cond_dims)) > 0
    a = _values(rng, _shape(*a_dims), dtype)
    b = _values(rng, _shape(*b_dims), dtype)
    if zero_d == "a":
        a = np.asarray(a.reshape(-1)[0])
    elif zero_d == "b":
        b = np.asarray(b.reshape(-1)[0])
    if strided and a.ndim == 2 and a.shape[0] > 1:
        a = np.repeat(a, 2, axis=0)[::2]  # a non-contiguous view of the same values
    want = np.where(cond, a, b)
    got = where(cond, a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


def test_large_inputs_take_the_blend(monkeypatch):
    """The blend really runs (not np.where) for a large same-dtype select."""
    calls = []
    real = np.where
    monkeypatch.setattr(where_kernel.np, "where", lambda *a: calls.append(1) or real(*a))
    cond = np.arange(5000) % 3 == 0
    where(cond, np.ones(5000, np.float32), np.zeros(5000, np.float32))
    assert calls == []
    where(cond[:10], np.ones(10, np.float32), np.zeros(10, np.float32))
    assert calls == [1]


@pytest.mark.parametrize("op", ["where", "masked_fill", "leaky_relu", "elu", "prelu",
                                "threshold", "softplus"])
def test_ops_on_large_inputs_match_torch(op):
    rng = np.random.default_rng(7)
    data = rng.standard_normal((60, 100)) * 3
    data[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    other = rng.standard_normal((60, 100))

    def run(T):
        x = T.tensor(data, requires_grad=True)
        F = T.nn.functional
        if op == "where":
            y = T.where(x > 0.5, x, T.tensor(other) * x)
        elif op == "masked_fill":
            y = x.masked_fill(x < -1, 2.5)
        elif op == "leaky_relu":
            y = F.leaky_relu(x, 0.2)
        elif op == "elu":
            y = F.elu(x)
        elif op == "prelu":
            y = F.prelu(x, T.tensor([0.25], dtype=T.float64))
        elif op == "threshold":
            y = F.threshold(x, 0.1, -7.0)
        else:
            y = F.softplus(x, beta=2.0, threshold=5.0)
        (g,) = T.autograd.grad(y, x, T.tensor(other))
        return y, g

    same(run)
