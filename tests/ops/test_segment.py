"""ember/ops/segment.py's sorted segment sums against np.add.at (repeats, negative indices,
empty, few rows, integer and float dtypes), drawn by hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ember.ops.segment import add_rows


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 12), m=st.integers(0, 60), width=st.integers(0, 3),
       dtype=st.sampled_from(["float32", "float64", "int64"]), seed=st.integers(0, 2**16))
def test_add_rows_matches_add_at(n, m, width, dtype, seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(-n, n, m)
    rows = (rng.standard_normal((m,) + (3,) * width) * 10).astype(dtype)
    expected = np.zeros((n,) + rows.shape[1:], dtype=dtype)
    np.add.at(expected, idx, rows)
    got = add_rows(n, idx, rows)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if dtype == "int64":
        np.testing.assert_array_equal(got, expected)
        return
    # another summation order: each sum may be off by a few ulps of the sum of the magnitudes
    # it adds (a sum that cancels to 0.1 out of terms of 30 keeps only that absolute accuracy)
    magnitude = np.zeros(expected.shape, dtype=np.float64)
    np.add.at(magnitude, idx, np.abs(rows.astype(np.float64)))
    tol = 4 * np.finfo(dtype).eps * magnitude + np.finfo(dtype).tiny
    assert np.all(np.abs(got.astype(np.float64) - expected) <= tol), (got, expected)
