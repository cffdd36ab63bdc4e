"""Op records: reduction family — reductions, scans and order statistics (see
tests/opinfo/__init__.py). Samples avoid ties and kinks (finite differences); tie rules are
checked exactly in tests/ops/test_reduction_oracle.py."""

from __future__ import annotations

import numpy as np

from . import OpRecord


def _distinct(*shape, scale=1.0):
    """Samples with well-separated values (no ties for the order statistics)."""
    def make(rng):
        n = int(np.prod(shape))
        return rng.permutation(n).reshape(shape) * 0.37 * scale + rng.uniform(-0.05, 0.05,
                                                                              size=shape)
    return make


def _with_zeros(shape, where):
    def make(rng):
        a = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        a[where] = 0.0
        return a
    return make


SCANS = [
    OpRecord("cumsum", lambda T, x: x.cumsum(1), [((2, 3),), ((3, 1),)]),
    OpRecord("cumsum_neg_dim", lambda T, x: T.cumsum(x, -1), [((4,),), ((),), ((0,),)]),
    OpRecord("cumsum_dtype", lambda T, x: x.cumsum(0, dtype=T.float64), [((3, 2),)]),
    OpRecord("cumprod", lambda T, x: x.cumprod(-1), [((2, 3),), ((),), ((0, 2),)],
             domain=(0.5, 1.5)),
    OpRecord("cumprod_neg", lambda T, x: T.cumprod(x, 0), [((4,),)], domain=(-1.5, -0.5)),
    OpRecord("cumprod_one_zero", lambda T, x: x.cumprod(-1),
             extra=lambda rng: [(_with_zeros((2, 4), (0, 1))(rng),)]),
    OpRecord("cumprod_two_zeros", lambda T, x: x.cumprod(0),
             extra=lambda rng: [(_with_zeros((5,), [1, 3])(rng),)]),
    OpRecord("cummax", lambda T, x: T.cummax(x, -1).values,
             extra=lambda rng: [(_distinct(2, 4)(rng),), (_distinct(3)(rng),)]),
    OpRecord("cummin", lambda T, x: x.cummin(0)[0],
             extra=lambda rng: [(_distinct(4, 2)(rng),), (np.array(0.3),)]),
    OpRecord("logcumsumexp", lambda T, x: x.logcumsumexp(1), [((2, 3),), ((1, 4),)]),
    OpRecord("logcumsumexp_neg_dim", lambda T, x: T.logcumsumexp(x, -1), [((4,),), ((),)]),
    OpRecord("logcumsumexp_wide", lambda T, x: x.logcumsumexp(0),
             extra=lambda rng: [(np.array([-1000.0, 3.0, 999.5, -2.0, 1000.0]),)],
             atol32=1e-3),
]

RECORDS = [*SCANS]
