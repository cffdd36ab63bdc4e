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
        jitter = rng.uniform(-0.05, 0.05, size=shape)
        return np.asarray(rng.permutation(n).reshape(shape) * 0.37 * scale + jitter)
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

def _d(*shapes):
    """Extra samples with distinct values, one tuple per shape."""
    return lambda rng: [(_distinct(*s)(rng),) for s in shapes]


ORDER = [
    OpRecord("sort", lambda T, x: x.sort().values, extra=_d((2, 4), (3,), ())),
    OpRecord("sort_descending", lambda T, x: T.sort(x, 0, descending=True)[0],
             extra=_d((3, 2), (0, 2))),
    OpRecord("sort_stable", lambda T, x: T.sort(x, stable=True, dim=-1).values, extra=_d((2, 3))),
    OpRecord("msort", lambda T, x: T.msort(x), extra=_d((3, 2), (4,))),
    OpRecord("topk", lambda T, x: x.topk(2).values, extra=_d((2, 4), (3,))),
    OpRecord("topk_smallest_dim0", lambda T, x: T.topk(x, 2, dim=0, largest=False)[0],
             extra=_d((3, 2), (2, 1))),
    OpRecord("topk_0d", lambda T, x: x.topk(1)[0], extra=_d(())),
    OpRecord("kthvalue", lambda T, x: x.kthvalue(2).values, extra=_d((2, 4), (3,))),
    OpRecord("kthvalue_0d", lambda T, x: x.kthvalue(1, 0)[0], extra=_d(())),
    OpRecord("kthvalue_keepdim", lambda T, x: T.kthvalue(x, 1, 0, keepdim=True)[0],
             extra=_d((3, 2))),
    OpRecord("median", lambda T, x: x.median(), extra=_d((5,), (2, 2), ())),
    OpRecord("median_dim", lambda T, x: x.median(1).values, extra=_d((2, 4), (3, 3))),
    OpRecord("median_dim_keepdim", lambda T, x: T.median(x, -2, keepdim=True)[0],
             extra=_d((3, 2))),
    OpRecord("median_dim_0d", lambda T, x: x.median(0)[0], extra=_d(())),
    OpRecord("nanmedian", lambda T, x: x.nanmedian(),
             extra=lambda rng: [(_distinct(4)(rng),),
                                (np.array([0.3, np.nan, -1.2, 2.0]),)]),
    OpRecord("nanmedian_dim", lambda T, x: x.nanmedian(1).values,
             extra=lambda rng: [(_distinct(2, 3)(rng),),
                                (np.array([[0.3, np.nan, -1.2], [1.0, 2.0, 1.5]]),)]),
    OpRecord("mode", lambda T, x: x.mode().values,
             extra=lambda rng: [(_distinct(2, 3)(rng),)]),
    OpRecord("mode_dim0", lambda T, x: T.mode(x, 0, keepdim=True)[0], extra=_d((3, 2), ())),
]

NAN_SAMPLES = [(np.array([[0.3, np.nan, -1.2], [1.0, 2.0, np.nan]]),), (np.array([0.5, -1.5]),)]

REDUCTIONS = [
    OpRecord("sum_dtype", lambda T, x: x.sum(0, dtype=T.float64), [((2, 3),)]),
    OpRecord("mean_dims", lambda T, x: T.mean(x, (-1, 0)), [((2, 3, 2),), ((1, 3),)]),
    OpRecord("prod_keepdim", lambda T, x: x.prod(-1, keepdim=True), [((2, 3),), ((),), ((0,),)]),
    OpRecord("prod_one_zero", lambda T, x: x.prod(),
             extra=lambda rng: [(_with_zeros((2, 3), (1, 2))(rng),)]),
    OpRecord("prod_two_zeros", lambda T, x: x.prod(1),
             extra=lambda rng: [(_with_zeros((2, 4), ([0, 0, 1], [1, 3, 2]))(rng),)]),
    OpRecord("max_binary", lambda T, x, y: T.max(x, y), [((3,), (3,)), ((2, 3), (3,))],
             op="max"),
    OpRecord("amin_dims", lambda T, x: x.amin((0, 2), keepdim=True), extra=_d((2, 3, 2))),
    OpRecord("aminmax", lambda T, x: T.aminmax(x), extra=_d((2, 3), ())),
    OpRecord("aminmax_dim", lambda T, x: x.aminmax(dim=-1, keepdim=True),
             extra=_d((2, 3), (3,))),
    OpRecord("var_correction", lambda T, x: x.var(1, correction=0, keepdim=True),
             [((2, 3),)]),
    OpRecord("std", lambda T, x: T.std(x), [((4,),), ((2, 3),)]),
    OpRecord("var_mean", lambda T, x: T.var_mean(x), [((4,),), ((2, 3),)]),
    OpRecord("var_mean_dim", lambda T, x: T.var_mean(x, (0, 1), correction=0, keepdim=True),
             [((2, 3, 2),)]),
    OpRecord("std_mean", lambda T, x: T.std_mean(x, 1), [((2, 3),)]),
    OpRecord("std_mean_unbiased", lambda T, x: T.std_mean(x, 0, False), [((3, 2),)]),
    OpRecord("nansum", lambda T, x: x.nansum(), [((2, 3),), ((),)],
             extra=lambda rng: NAN_SAMPLES),
    OpRecord("nansum_dim", lambda T, x: T.nansum(x, -1, keepdim=True), [((2, 3),)],
             extra=lambda rng: NAN_SAMPLES[:1]),
    OpRecord("nanmean", lambda T, x: x.nanmean(), [((2, 3),)], extra=lambda rng: NAN_SAMPLES),
    OpRecord("nanmean_dim", lambda T, x: T.nanmean(x, 1), extra=lambda rng: NAN_SAMPLES[:1]),
    OpRecord("logsumexp_dims", lambda T, x: x.logsumexp((0, -1)), [((2, 3, 2),), ((1, 3),)]),
    OpRecord("logsumexp_wide", lambda T, x: x.logsumexp(1),
             extra=lambda rng: [(np.array([[1000.0, 999.0, -3.0], [-1000.0, -1001.0, 5.0]]),)]),
    OpRecord("norm_keepdim_dims", lambda T, x: x.norm(dim=(0, 1), keepdim=True),
             [((2, 3),)]),
]

RECORDS = [*SCANS, *ORDER, *REDUCTIONS]
