"""Oracle tests of the statistics family (ember/ops/statistics.py) beyond the op records:
integer/bool dtypes, NaN, ties, keyword forms, and PyTorch's errors (class and message)."""

from __future__ import annotations

import pytest

from ..oracle import same

NAN = float("nan")
X = [[0.5, -1.0, 2.0, 0.25], [1.5, 3.0, -0.5, 0.0], [2.0, 2.0, 1.0, -3.0]]


def _x(T, dtype=None):
    return T.tensor(X, dtype=dtype or T.float32)


CASES = {
    # dist
    "dist_p": lambda T: [T.dist(_x(T), _x(T)[0] * 2, p) for p in (0, 1, 2, 3, 0.5, -1,
                                                                  float("inf"))],
    "dist_promote": lambda T: T.dist(_x(T), T.ones(4, dtype=T.float64)),
    "dist_int": lambda T: T.dist(T.arange(3), T.arange(3)),
    "dist_shape": lambda T: T.dist(_x(T), T.ones(3)),
    # diff
    "diff": lambda T: [T.diff(_x(T)), _x(T).diff(n=2, dim=0), T.diff(_x(T), n=5),
                       T.diff(_x(T), n=0)],
    "diff_int_bool": lambda T: [T.diff(T.arange(5)), T.diff(T.tensor([True, False, True]))],
    "diff_prepend": lambda T: [T.diff(_x(T), prepend=T.ones(3, 1, dtype=T.float64)),
                               T.diff(_x(T), dim=0, append=T.ones(1, 4, dtype=T.int64))],
    "diff_0d": lambda T: T.diff(T.tensor(1.0)),
    "diff_neg": lambda T: T.diff(_x(T), n=-1),
    "diff_bad_dim": lambda T: T.diff(_x(T), dim=2),
    "diff_prepend_dim": lambda T: T.diff(_x(T), prepend=T.ones(4)),
    # trapezoid
    "trapezoid": lambda T: [T.trapezoid(_x(T)), T.trapezoid(_x(T), dx=2.5, dim=0),
                            T.trapezoid(_x(T), T.tensor([0.0, 1.0, 3.0, 3.5])),
                            T.trapezoid(_x(T), x=T.arange(4)), T.trapz(_x(T), dim=0),
                            T.trapezoid(_x(T), _x(T, T.float64))],
    "trapezoid_int": lambda T: [T.trapezoid(T.arange(5)), T.trapezoid(T.arange(5), dx=2)],
    "trapezoid_empty": lambda T: T.trapezoid(T.ones(0)),
    "trapezoid_x_len": lambda T: T.trapezoid(_x(T), x=T.ones(3)),
    "trapezoid_0d": lambda T: T.trapezoid(T.tensor(1.0)),
    "cumulative_trapezoid": lambda T: [
        T.cumulative_trapezoid(_x(T)), T.cumulative_trapezoid(_x(T), dx=3, dim=0),
        T.cumulative_trapezoid(_x(T), x=T.tensor([0.0, 1.0, 3.0, 3.5])),
        T.cumulative_trapezoid(T.arange(5)), T.cumulative_trapezoid(T.ones(0))],
    "cumulative_trapezoid_x_len": lambda T: T.cumulative_trapezoid(_x(T), x=T.ones(3)),
    "cumulative_trapezoid_0d": lambda T: T.cumulative_trapezoid(T.tensor(1.0)),
    # quantile
    "quantile": lambda T: [
        T.quantile(_x(T), q, dim=d, keepdim=k, interpolation=i)
        for q in (0.0, 0.3, 0.5, 1.0, T.tensor([0.1, 0.5, 0.875]), T.tensor(0.25))
        for d in (None, 0, -1) for k in (False, True)
        for i in ("linear", "lower", "higher", "midpoint", "nearest")],
    "quantile_nan": lambda T: [
        f(T.tensor([[1.0, NAN, 3.0, 2.0], [NAN, NAN, NAN, NAN], [4.0, 1.0, 2.0, 3.0]]), q,
          dim=1) for f in (T.quantile, T.nanquantile) for q in (0.5, T.tensor([0.0, 1.0]))],
    "nanquantile_all": lambda T: T.nanquantile(T.tensor([1.0, NAN, 0.5]), 0.4),
    "quantile_0d": lambda T: [T.quantile(T.tensor(2.0), 0.5), T.quantile(T.tensor(2.0), 0.5, 0)],
    "quantile_q_range": lambda T: T.quantile(_x(T), 1.5),
    "quantile_q_tensor_range": lambda T: T.quantile(_x(T), T.tensor([1.5])),
    "quantile_int": lambda T: T.quantile(T.arange(5), 0.5),
    "quantile_q_2d": lambda T: T.quantile(_x(T), T.tensor([[0.5]])),
    "quantile_q_dtype": lambda T: T.quantile(_x(T), T.tensor([0.5], dtype=T.float64)),
    "quantile_interp": lambda T: T.quantile(_x(T), 0.5, interpolation="foo"),
    "quantile_empty": lambda T: T.quantile(T.ones(0), 0.5),
    "quantile_dim": lambda T: T.quantile(_x(T), 0.5, dim=5),
    # cov / corrcoef
    "cov": lambda T: [T.cov(_x(T)), _x(T).cov(correction=0), T.cov(_x(T)[0]),
                      T.cov(_x(T), fweights=T.tensor([1, 2, 0, 3])),
                      T.cov(_x(T), aweights=T.tensor([0.5, 1.0, 2.0, 0.1])),
                      T.cov(_x(T), correction=2, fweights=T.tensor([1, 2, 1, 3]),
                            aweights=T.tensor([0.5, 1.0, 2.0, 0.1])),
                      T.cov(T.arange(6).reshape(2, 3))],
    "cov_dof": lambda T: T.cov(T.ones(3, 1)),
    "cov_3d": lambda T: T.cov(T.ones(2, 2, 2)),
    "cov_fweights_float": lambda T: T.cov(_x(T), fweights=T.ones(4)),
    "cov_fweights_numel": lambda T: T.cov(_x(T), fweights=T.ones(3, dtype=T.long)),
    "cov_fweights_neg": lambda T: T.cov(_x(T), fweights=-T.ones(4, dtype=T.long)),
    "cov_aweights_neg": lambda T: T.cov(_x(T), aweights=-T.ones(4)),
    "cov_aweights_int": lambda T: T.cov(_x(T), aweights=T.ones(4, dtype=T.long)),
    "corrcoef": lambda T: [T.corrcoef(_x(T)), _x(T)[0].corrcoef(), T.corrcoef(T.arange(4)),
                           T.corrcoef(T.ones(3))],
    "corrcoef_3d": lambda T: T.corrcoef(T.ones(2, 2, 2)),
    # renorm
    "renorm": lambda T: [T.renorm(_x(T), p, d, m) for p in (1, 2, 3, float("inf"))
                         for d in (0, 1, -1) for m in (0.5, 2.0, 100.0)],
    "renorm_inplace": lambda T: _x(T).renorm_(2, 0, 1.0),
    "renorm_p0": lambda T: T.renorm(_x(T), 0, 0, 1.0),
    "renorm_maxnorm": lambda T: T.renorm(_x(T), 2, 0, -1.0),
    "renorm_1d": lambda T: T.renorm(T.ones(3), 2, 0, 1.0),
    "renorm_dim": lambda T: T.renorm(_x(T), 2, 2, 1.0),
    # cartesian_prod
    "cartesian_prod": lambda T: [T.cartesian_prod(T.arange(3), T.arange(2)),
                                 T.cartesian_prod(T.ones(2), T.zeros(0)),
                                 T.cartesian_prod(T.tensor([1.0, 2.0]), T.tensor([3.0]),
                                                  T.tensor([4.0, 5.0])),
                                 T.cartesian_prod(T.tensor([1.0, 2.0]))],
    "cartesian_prod_empty": lambda T: T.cartesian_prod(),
    "cartesian_prod_2d": lambda T: T.cartesian_prod(_x(T)),
    "cartesian_prod_dtype": lambda T: T.cartesian_prod(T.ones(2), T.ones(2, dtype=T.float64)),
    # histc
    "histc": lambda T: [T.histc(_x(T)), _x(T).histc(4, -1, 2),
                        T.histc(_x(T, T.float64), bins=3, min=0.5, max=0.5),
                        T.histc(T.tensor([1.0, 1.0])), T.histc(T.ones(0), 5),
                        T.histc(T.tensor([0.0, 0.1, 0.2, 0.3, 1.0]), 10, 0, 1)],
    "histc_int": lambda T: T.histc(T.arange(3)),
    "histc_bins": lambda T: T.histc(_x(T), bins=0),
    "histc_range": lambda T: T.histc(_x(T), min=2, max=1),
    "histc_nan": lambda T: T.histc(T.tensor([NAN])),
    # bincount
    "bincount": lambda T: [T.bincount(T.tensor([0, 3, 3, 1])),
                           T.tensor([0, 3, 3, 1]).bincount(minlength=6),
                           T.bincount(T.tensor([0, 3, 3, 1]), T.tensor([0.5, 1.0, 2.0, 3.0])),
                           T.bincount(T.tensor([1, 2]), T.ones(2, dtype=T.int32)),
                           T.bincount(T.tensor([1, 2]), T.ones(2, dtype=T.float64)),
                           T.bincount(T.tensor([], dtype=T.long)),
                           T.bincount(T.tensor([1, 2], dtype=T.int32))],
    "bincount_float": lambda T: T.bincount(_x(T)),
    "bincount_neg": lambda T: T.bincount(T.tensor([-1])),
    "bincount_2d": lambda T: T.bincount(T.ones(2, 2, dtype=T.long)),
    "bincount_weights": lambda T: T.bincount(T.arange(5), weights=T.ones(3)),
    "bincount_minlength": lambda T: T.bincount(T.arange(5), minlength=-1),
    # searchsorted / bucketize
    "searchsorted": lambda T: [
        T.searchsorted(T.tensor([1.0, 2, 2, 3]), T.tensor([[2.0, 0.5], [3.5, 2.0]]), right=r)
        for r in (False, True)] + [
        T.searchsorted(T.tensor([1.0, 2, 3]), 2.0),
        T.searchsorted(T.tensor([1.0, 2, 3]), T.tensor(2), side="right"),
        T.searchsorted(T.tensor([1.0, 2, 3]), T.tensor([2.0]), out_int32=True),
        T.searchsorted(T.tensor([[1.0, 2, 3], [0, 5, 9]]), T.tensor([[2.0], [6.0]])),
        T.searchsorted(T.tensor([3.0, 1, 2]), T.tensor([2.0, 2.5]),
                       sorter=T.tensor([1, 2, 0]))],
    "searchsorted_side": lambda T: T.searchsorted(T.ones(3), T.ones(1), side="foo"),
    "searchsorted_opposite": lambda T: T.searchsorted(T.ones(3), T.ones(1), side="left",
                                                      right=True),
    "searchsorted_0d": lambda T: T.searchsorted(T.tensor(1.0), T.ones(1)),
    "searchsorted_shape": lambda T: T.searchsorted(T.ones(2, 3), T.ones(3, 3)),
    "searchsorted_scalar": lambda T: T.searchsorted(T.ones(2, 3), 2.0),
    "searchsorted_sorter_dtype": lambda T: T.searchsorted(T.ones(3), T.ones(1),
                                                          sorter=T.ones(3)),
    "searchsorted_sorter_size": lambda T: T.searchsorted(T.ones(3), T.ones(1),
                                                         sorter=T.tensor([0, 1])),
    "bucketize": lambda T: [T.bucketize(T.tensor([[2.0, 5.0], [0.0, 1.0]]), T.tensor([1.0, 2, 3]),
                                        right=r, out_int32=o)
                            for r in (False, True) for o in (False, True)] + [
        T.bucketize(2, T.tensor([1.0, 2, 3])), T.bucketize(T.tensor(2.0), T.tensor([1, 2, 3]))],
    "bucketize_2d": lambda T: T.bucketize(T.ones(2), T.ones(2, 2)),
    # isin
    "isin": lambda T: [T.isin(T.arange(5), T.tensor([1, 3])), T.isin(T.arange(5), 3),
                       T.isin(3, T.arange(5)), T.isin(T.arange(5), T.tensor([1.0, 3.0])),
                       T.isin(T.arange(5), T.tensor([1, 3]), invert=True),
                       T.isin(T.tensor([[1.0, 2.0]]), T.tensor([2.0]), assume_unique=True)],
    "isin_bool": lambda T: T.isin(T.tensor([True]), T.tensor([1])),
    "isin_scalars": lambda T: T.isin(3, 4),
}


@pytest.mark.parametrize("name", list(CASES))
def test_statistics_oracle(name):
    same(CASES[name])


def _grad(fn):
    def run(T):
        x = T.tensor(X, dtype=T.float64, requires_grad=True)
        out = fn(T, x)
        w = T.arange(out.numel(), dtype=T.float64).reshape(out.shape) + 1
        (out * w).sum().backward()
        return out, x.grad
    return run


@pytest.mark.parametrize("fn", [
    lambda T, x: T.dist(x, T.ones(4, dtype=T.float64), float("inf")),  # ties: 2.0 twice
    lambda T, x: T.dist(x, x.detach() * 0, 0),
    lambda T, x: T.quantile(x, T.tensor([0.5, 0.9], dtype=T.float64), dim=1),
    lambda T, x: T.nanquantile(x, 0.5, interpolation="midpoint"),
    lambda T, x: T.diff(x, n=0),
    lambda T, x: T.renorm(x, float("inf"), 0, 1.0),
    lambda T, x: T.corrcoef(x),
    lambda T, x: T.cartesian_prod(x[0], x[1, :2]),
], ids=["dist_inf", "dist_0", "quantile", "nanquantile", "diff_0", "renorm_inf", "corrcoef",
        "cartesian_prod"])
def test_statistics_grads(fn):
    same(_grad(fn))


def test_histc_no_grad():
    same(lambda T: T.histc(T.ones(3, requires_grad=True)).sum().backward())


def test_bincount_weights_no_derivative():
    def run(T):
        out = T.bincount(T.tensor([0, 1, 1]), T.ones(3, requires_grad=True))
        return out, out.sum().backward()
    same(run)
