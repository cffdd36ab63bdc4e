"""The array helpers that replace NumPy-only calls on a device, on the device checker, against
what NumPy gives on the host: ``segment.ufunc_at`` (``ufunc.at``, which CuPy has only for a
few ufuncs and types) and ``segment.add_rows`` bit for bit, ``scan._accumulate`` (CuPy
accumulates only add and multiply) bit for bit with NaNs, ties and signed zeros, and the tie
replay of ``sort``/``topk`` (Python on the host) on a device tensor."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.ops.scan import _accumulate
from ember.ops.segment import add_rows, ufunc_at


def _dev(a):
    return ember.tensor(a).to("cuda")._data


def _host(d):
    return ember.backend.of(d).to_host(d)


def _same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes(), (got, want)


@settings(max_examples=60, deadline=None)
@given(ufunc=st.sampled_from([np.add, np.multiply, np.maximum, np.minimum]),
       dtype=st.sampled_from(["float64", "float32", "int64", "int32", "complex128"]),
       contiguous=st.booleans(), seed=st.integers(0, 2**16))
def test_ufunc_at_matches_numpy(ufunc, dtype, contiguous, seed):
    rng = np.random.default_rng(seed)
    if ufunc in (np.maximum, np.minimum) and dtype == "complex128":
        dtype = "float64"
    out = (rng.standard_normal((4, 5)) * 4).astype(dtype)
    if dtype.startswith("float"):
        out[rng.random(out.shape) < 0.1] = np.nan
    key = (rng.integers(0, 4, size=(7, 1)), rng.integers(0, 5, size=(1, 3)))
    vals = (rng.standard_normal((7, 3)) * 4).astype(dtype)
    want = out.copy()
    ufunc.at(want, key, vals)
    dev = _dev(out if contiguous else np.asfortranarray(out))
    ufunc_at(ufunc, dev, tuple(_dev(k) for k in key), _dev(vals))
    _same_bits(np.ascontiguousarray(_host(dev)), want)


def test_ufunc_at_number_and_flat_index():
    want = np.zeros(5)
    np.add.at(want, np.array([1, 1, 3, 1]), 1)
    dev = _dev(np.zeros(5))
    ufunc_at(np.add, dev, _dev(np.array([1, 1, 3, 1])), 1)
    _same_bits(_host(dev), want)


@pytest.mark.parametrize("m", [5, 40])  # (add.at below 16 rows, sorted segment sums above)
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_add_rows_matches_host(m, dtype):
    rng = np.random.default_rng(m)
    idx = rng.integers(-6, 6, m)
    rows = (rng.standard_normal((m, 3)) * 10).astype(dtype)
    _same_bits(_host(add_rows(6, _dev(idx), _dev(rows))), add_rows(6, idx, rows))


@settings(max_examples=80, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       ufunc=st.sampled_from([np.maximum, np.minimum, np.logaddexp]), seed=st.integers(0, 2**16))
def test_accumulate_matches_numpy(shape, ufunc, seed):
    rng = np.random.default_rng(seed)
    pool = np.array([0.0, -0.0, 1.0, 2.0, np.nan, -np.inf, np.inf, 3.0])
    a = rng.choice(pool, size=shape) if seed % 2 else rng.standard_normal(shape)
    axis = int(rng.integers(0, len(shape)))
    with np.errstate(all="ignore"):
        want = ufunc.accumulate(a, axis=axis)
        got = _host(_accumulate(ufunc, _dev(a), axis))
    _same_bits(np.ascontiguousarray(got), want)


def test_tied_sort_and_topk_on_device():
    # ties are replayed in PyTorch's order on the host: the device gives the CPU's indices
    x = ember.tensor([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0], [0.0, -0.0, 0.0, 5.0, 5.0, 1.0]])
    d = x.to("cuda")
    for op in (lambda t: t.sort(-1, descending=True), lambda t: t.topk(3, -1),
               lambda t: t.kthvalue(2, -1)):
        cpu, dev = op(x), op(d)
        for c, g in zip(cpu, dev):
            assert g.device == ember.device("cuda", 0)
            np.testing.assert_array_equal(g.cpu().numpy(), c.numpy())
