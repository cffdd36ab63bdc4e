"""Op records: statistics family — dist, diff, trapezoid, cumulative_trapezoid, quantile,
nanquantile, cov, corrcoef, renorm, cartesian_prod, as_strided, type_as (see
tests/opinfo/__init__.py). Order statistics sample distinct values (finite differences need
no ties); errors and non-differentiable ops are in tests/ops/test_statistics_oracle.py."""

from __future__ import annotations

import numpy as np

from . import OpRecord, _ints


def _distinct(*shape):
    def make(rng):
        n = int(np.prod(shape))
        return rng.permutation(n).reshape(shape) * 0.37 + rng.uniform(-0.05, 0.05, size=shape)
    return make


def _d(*shapes):
    return lambda rng: [(_distinct(*s)(rng),) for s in shapes]


RECORDS = [
    OpRecord("dist", lambda T, x, y: T.dist(x, y), [((3,), (3,)), ((2, 3), (3,)), ((), (2,))]),
    OpRecord("dist_p1", lambda T, x, y: x.dist(y, 1), [((2, 3), (2, 3))], second_order=False),
    OpRecord("dist_p3", lambda T, x, y: T.dist(x, y, 3), [((4,), (4,))]),
    OpRecord("dist_inf", lambda T, x, y: T.dist(x, y, float("inf")), [((4,), (4,))],
             second_order=False),
    OpRecord("diff", lambda T, x: T.diff(x), [((4,),), ((2, 3),), ((1,),), ((0,),)]),
    OpRecord("diff_n2_dim0", lambda T, x: x.diff(n=2, dim=0), [((4, 2),)]),
    OpRecord("diff_prepend_append", lambda T, x, p, a: T.diff(x, 1, -1, p, a),
             [((2, 3), (2, 1), (2, 2))]),
    OpRecord("trapezoid", lambda T, y: T.trapezoid(y), [((4,),), ((2, 3),), ((1,),)]),
    OpRecord("trapezoid_dx", lambda T, y: T.trapezoid(y, dx=0.5, dim=0), [((3, 2),)]),
    OpRecord("trapezoid_x", lambda T, y, x: T.trapezoid(y, x), [((2, 4), (4,)), ((2, 3), (2, 3))]),
    OpRecord("cumulative_trapezoid", lambda T, y: T.cumulative_trapezoid(y),
             [((4,),), ((2, 3),)]),
    OpRecord("cumulative_trapezoid_x", lambda T, y, x: T.cumulative_trapezoid(y, x, dim=0),
             [((3, 2), (3, 1))]),
    OpRecord("quantile", lambda T, x: T.quantile(x, 0.3), extra=_d((5,), (2, 3))),
    OpRecord("quantile_dim", lambda T, x: x.quantile(0.7, dim=1, keepdim=True),
             extra=_d((2, 4))),
    OpRecord("quantile_q_tensor",
             lambda T, x: T.quantile(x, T.tensor([0.25, 0.5, 1.0], dtype=x.dtype), dim=0),
             extra=_d((4, 2))),
    OpRecord("quantile_midpoint", lambda T, x: T.quantile(x, 0.4, interpolation="midpoint"),
             extra=_d((6,))),
    OpRecord("quantile_nearest", lambda T, x: T.quantile(x, 0.4, 0, interpolation="nearest"),
             extra=_d((6, 2))),
    OpRecord("nanquantile", lambda T, x: T.nanquantile(x, 0.6, dim=-1), extra=_d((3, 4))),
    OpRecord("cov", lambda T, x: T.cov(x), [((2, 4),), ((5,),)]),
    OpRecord("cov_weights",
             lambda T, x, aw: T.cov(x, correction=0,
                                    fweights=T.tensor([1, 2, 1, 3], device=x.device),
                                    aweights=aw),
             [((3, 4), (4,))], nondiff=(1,), domain=(0.5, 2.0)),
    OpRecord("corrcoef", lambda T, x: T.corrcoef(x), [((3, 5),)]),
    OpRecord("renorm", lambda T, x: T.renorm(x, 2, 0, 1.0), [((3, 4),), ((2, 2, 3),)]),
    OpRecord("renorm_p1_dim1", lambda T, x: x.renorm(1, 1, 0.8), [((3, 2),)],
             second_order=False),
    OpRecord("renorm_p3", lambda T, x: T.renorm(x, 3, -1, 1.5), [((2, 3),)]),
    OpRecord("cartesian_prod", lambda T, a, b: T.cartesian_prod(a, b),
             [((3,), (2,)), ((1,), (0,))]),
    OpRecord("cartesian_prod3", lambda T, a, b, c: T.cartesian_prod(a, b, c),
             [((2,), (2,), (3,))], op="cartesian_prod"),
    OpRecord("renorm_", lambda T, x: (x * 1).renorm_(2, 1, 0.9), [((3, 4),)]),
    OpRecord("as_strided", lambda T, x: T.as_strided(x, (2, 2), (1, 2)), [((3, 4),), ((5,),)]),
    OpRecord("as_strided_overlap", lambda T, x: x.as_strided((3, 2), (1, 1), 1), [((6,),)]),
    OpRecord("as_strided_transposed", lambda T, x: x.t().as_strided((3, 2), (2, 1)),
             [((2, 3),)]),
    OpRecord("as_strided_expanded", lambda T, x: x.expand(2, 3).as_strided((2,), (1,)),
             [((3,),)]),
    OpRecord("as_strided_", lambda T, x: (x * 1).as_strided_((2, 2), (2, 1), 1), [((5,),)]),
    OpRecord("type_as", lambda T, x: x.type_as(T.ones(1, dtype=T.float64)), [((2, 3),)]),
    OpRecord("type_as_float32", lambda T, x: x.type_as(T.ones(1)), [((2, 3),)],
             second_order=False, gradcheck=False),
    # counts, indices and masks: values only
    OpRecord("histc", lambda T, x: T.histc(x, 5), [((7,),), ((2, 3),)], gradcheck=False),
    OpRecord("bincount", lambda T, i, w: T.bincount(i, w, minlength=6),
             extra=lambda rng: [(_ints(rng, 5, (8,)), rng.uniform(size=8))], gradcheck=False,
             nondiff=(1,)),
    OpRecord("searchsorted", lambda T, b, v: T.searchsorted(b.sort().values, v),
             [((5,), (2, 3)), ((2, 4), (2, 3))], gradcheck=False),
    OpRecord("bucketize", lambda T, v, b: T.bucketize(v, b.sort().values, right=True),
             [((2, 3), (4,))], gradcheck=False),
    OpRecord("isin", lambda T, e, t: T.isin(e, t),
             extra=lambda rng: [(_ints(rng, 6, (2, 4)), _ints(rng, 6, (3,)))], gradcheck=False),
]
