"""Oracle tests of the reduction family (reductions, scans, order statistics) beyond the op
records: named tuples, tie rules, NaN, integer paths, in-place variants, errors, and numerics
at large magnitudes — each run through ember and PyTorch by ``same``."""

from __future__ import annotations

import numpy as np
import pytest

import ember

from ..oracle import same

TIES = [[1.0, 3.0, 3.0, 1.0, 3.0], [2.0, 2.0, 0.5, 0.5, 2.0]]
NAN = float("nan")


def _leaf(T, data, dtype=None):
    return T.tensor(data, dtype=dtype or T.float64, requires_grad=True)


def _with_grad(fn):
    """``fn(T, x)`` on a leaf, returning the result and ``x``'s gradient of a weighted sum."""
    def run(T, data=TIES):
        x = _leaf(T, data)
        out = fn(T, x)
        first = out[0] if isinstance(out, tuple) else out
        w = T.arange(first.numel(), dtype=T.float64).reshape(first.shape) + 1
        (first * w).sum().backward()
        return out, x.grad
    return run


# ---- named tuples ----
@pytest.mark.parametrize("call,fields", [
    (lambda T, x: x.sort(), ("values", "indices")),
    (lambda T, x: x.topk(2), ("values", "indices")),
    (lambda T, x: x.kthvalue(1), ("values", "indices")),
    (lambda T, x: x.median(0), ("values", "indices")),
    (lambda T, x: x.nanmedian(0), ("values", "indices")),
    (lambda T, x: x.mode(), ("values", "indices")),
    (lambda T, x: x.cummax(0), ("values", "indices")),
    (lambda T, x: x.cummin(0), ("values", "indices")),
    (lambda T, x: x.aminmax(), ("min", "max")),
])
def test_named_tuples(call, fields):
    import torch

    x = [0.5, -1.0, 2.0]
    mine, ref = call(ember, ember.tensor(x)), call(torch, torch.tensor(x))
    assert type(mine).__name__ == type(ref).__name__
    for f in fields:
        assert np.array_equal(getattr(mine, f).numpy(), getattr(ref, f).numpy())
    same(lambda T: call(T, T.tensor(x)))


@pytest.mark.parametrize("call", [
    lambda T: T.var_mean(T.tensor([[1.0, 2.0], [4.0, 7.0]]), 1),
    lambda T: T.std_mean(T.tensor([[1.0, 2.0], [4.0, 7.0]]), dim=0, correction=0),
    lambda T: type(T.var_mean(T.tensor([1.0, 2.0]))).__name__,
])
def test_var_std_mean_plain_tuples(call):
    same(call)


# ---- tie rules (gradients included) ----
@pytest.mark.parametrize("fn", [
    lambda T, x: x.cummax(1),
    lambda T, x: x.cummin(1),
    lambda T, x: x.max(1),
    lambda T, x: x.min(0),
    lambda T, x: x.amax(1),
    lambda T, x: x.amin(),
    lambda T, x: x.max(),
    lambda T, x: x.sort(dim=1, stable=True),
    lambda T, x: x.sort(dim=1, descending=True, stable=True),
    lambda T, x: T.argsort(x, dim=1, stable=True),
    lambda T, x: x.mode(1),
    lambda T, x: x.median(),
    lambda T, x: x.nanmedian(),
    lambda T, x: x.aminmax(),
    lambda T, x: T.aminmax(x, dim=1),
])
def test_ties(fn):
    same(_with_grad(fn))


# PyTorch's sort without stable=True is std::sort: tied values come out in its order, not
# NumPy's stable one (pack_padded_sequence(enforce_sorted=False) sorts lengths this way).
@pytest.mark.parametrize("dtype", ["int64", "float32", "uint8", "bool", "float64"])
@pytest.mark.parametrize("n", [5, 17, 40, 200])
def test_unstable_sort_orders_ties_as_pytorch(dtype, n):
    def fn(T):
        g = T.Generator().manual_seed(n)
        x = T.randint(0, 4, (3, n), generator=g).to(getattr(T, dtype))
        if dtype == "float64":
            x[0, ::3] = NAN
            x[1, ::2] = -0.0
        return (x.sort(), x.sort(descending=True), x.argsort(dim=1, descending=True),
                T.sort(x.T, dim=0), x[0].argsort(), x.sort(stable=False).indices,
                x.sort(stable=True).indices)
    same(fn)


def test_unstable_sort_of_large_integer_vectors_as_pytorch():
    # 1-D integer tensors of 32768 elements or more sort ascending by PyTorch's stable radix
    # sort; descending (and shorter ones) by std::sort.
    def fn(T):
        x = T.randint(0, 3, (32768,), generator=T.Generator().manual_seed(0))
        return x.sort().indices, x[:-1].argsort(), x[:5000].argsort(descending=True)
    same(fn)


@pytest.mark.parametrize("fn", [
    lambda T, x: x.cummax(0),
    lambda T, x: x.cummin(0),
    lambda T, x: x.sort(),
    lambda T, x: x.sort(descending=True),
    lambda T, x: x.median(),
    lambda T, x: x.median(0),
    lambda T, x: x.nanmedian(),
    lambda T, x: x.nanmedian(0),
    lambda T, x: x.max(),
    lambda T, x: x.max(0),
    lambda T, x: x.argmax(),
    lambda T, x: x.nansum(),
    lambda T, x: x.nanmean(),
    lambda T, x: x.logcumsumexp(0),
    lambda T, x: x.cumsum(0),
])
@pytest.mark.parametrize("data", [[1.0, NAN, 3.0, NAN, -2.0], [NAN], [0.5, -1.0, 2.0]])
def test_nan(fn, data):
    same(lambda T: fn(T, T.tensor(data, dtype=T.float64)))


@pytest.mark.parametrize("fn", [
    lambda T, x: x.nanmedian(1),
    lambda T, x: T.nansum(x, 1, keepdim=True),
    lambda T, x: T.nanmean(x, dim=0),
])
def test_nan_with_grad(fn):
    same(lambda T: _with_grad(fn)(T, [[1.0, NAN, 3.0], [NAN, 2.0, -1.0]]))


# ---- integer and bool inputs ----
@pytest.mark.parametrize("fn", [
    lambda T, x: x.cumsum(0),
    lambda T, x: x.cumprod(0),
    lambda T, x: x.cumsum(0, dtype=T.float32),
    lambda T, x: x.cummax(0),
    lambda T, x: x.sort(descending=True),
    lambda T, x: x.argsort(),
    lambda T, x: x.topk(2),
    lambda T, x: x.kthvalue(2),
    lambda T, x: x.median(),
    lambda T, x: x.median(0),
    lambda T, x: x.mode(),
    lambda T, x: x.msort(),
    lambda T, x: x.sum(),
    lambda T, x: x.prod(0),
    lambda T, x: x.nansum(),
    lambda T, x: x.aminmax(),
    lambda T, x: x.amax(),
    lambda T, x: x.max(0),
    lambda T, x: x.logsumexp(0),
    lambda T, x: x.logcumsumexp(0),
    lambda T, x: x.var(),
    lambda T, x: x.count_nonzero(),
    lambda T, x: x.all(),
    lambda T, x: x.any(0),
])
def test_integer_input(fn):
    same(lambda T: fn(T, T.tensor([3, 1, 4, 0, 5, 9, 2, 6])))


@pytest.mark.parametrize("fn", [
    lambda T, x: x.mode(),
    lambda T, x: x.sort(stable=True),
    lambda T, x: x.cummin(0),
    lambda T, x: x.argmax(),
    lambda T, x: x.argmin(),
])
def test_integer_ties(fn):
    same(lambda T: fn(T, T.tensor([3, 1, 4, 1, 5, 9, 5, 1])))


@pytest.mark.parametrize("fn", [
    lambda T, x: x.cumsum(0),
    lambda T, x: x.sum(),
    lambda T, x: x.sort(),
    lambda T, x: x.all(),
    lambda T, x: x.any(),
    lambda T, x: x.amax(),
    lambda T, x: x.cummax(0),
])
def test_bool_input(fn):
    same(lambda T: fn(T, T.tensor([True, False, True])))


# ---- in-place variants ----
@pytest.mark.parametrize("name", ["cumsum_", "cumprod_"])
def test_inplace_scans(name):
    def run(T):
        x = _leaf(T, [[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
        y = x * 1.0
        r = getattr(y, name)(1)
        r.sum().backward()
        return r is y, y, x.grad
    same(run)


# ---- numerics ----
def test_logsumexp_stable_at_1e3():
    same(lambda T: _with_grad(lambda T, x: T.logsumexp(x, 1))(
        T, [[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -999.5]]))


def test_logcumsumexp_stable_at_1e3():
    same(lambda T: _with_grad(lambda T, x: T.logcumsumexp(x, 1))(
        T, [[1000.0, 999.0, -1000.0, 1000.5], [-1000.0, -1001.0, -999.5, -1000.0]]))


@pytest.mark.parametrize("shape", [(1, 1), (2, 3)])
def test_logcumsumexp_nan_gradient_contributes_nothing(shape):
    # PyTorch sums g's positive and negative parts apart in log space: a NaN g is in neither
    # (found by tests/fuzz: an l1_loss of a NaN var_mean upstream)
    def run(T):
        x = T.full(shape, -0.57, dtype=T.float64, requires_grad=True)
        g = T.full(shape, float("nan"), dtype=T.float64)
        g[..., -1] = 2.0
        return T.autograd.grad(T.logcumsumexp(x, 1), x, g)
    same(run)


def test_logcumsumexp_float32_wide():
    def run(T):
        x = T.tensor([-200.0, 50.0, 120.0, -3.0], requires_grad=True)
        y = x.logcumsumexp(0)
        y.backward(T.tensor([1.0, -2.0, 0.5, 1.0]))
        return y, x.grad
    same(run, rtol=1e-5, atol=1e-5)


def test_logcumsumexp_inf():
    same(lambda T: T.tensor([-float("inf"), 0.0, float("inf")]).logcumsumexp(0))


@pytest.mark.parametrize("zeros", [[1], [1, 3], [0, 1, 2, 3]])
def test_cumprod_zeros_second_order(zeros):
    def run(T):
        data = np.array([0.7, -1.3, 2.0, 0.4])
        data[zeros] = 0.0
        x = T.tensor(data, requires_grad=True)
        (g,) = T.autograd.grad((x.cumprod(0) * T.tensor([1.0, 2.0, -1.0, 0.5])).sum(), x,
                               create_graph=True)
        (gg,) = T.autograd.grad((g * T.tensor([0.3, 1.0, -2.0, 1.5])).sum(), x)
        return g.detach(), gg
    same(run)


@pytest.mark.parametrize("zeros", [[1], [1, 3], []])
def test_prod_zeros_second_order(zeros):
    def run(T):
        data = np.array([0.7, -1.3, 2.0, 0.4])
        data[zeros] = 0.0
        x = T.tensor(data, requires_grad=True)
        (g,) = T.autograd.grad(x.prod(), x, create_graph=True)
        (gg,) = T.autograd.grad((g * T.tensor([0.3, 1.0, -2.0, 1.5])).sum(), x)
        return g.detach(), gg
    same(run)


# ---- errors ----
@pytest.mark.parametrize("fn", [
    lambda T, x: x.cumsum(2),
    lambda T, x: x.cumprod(-3),
    lambda T, x: x.cummax(2),
    lambda T, x: x.logcumsumexp(5),
    lambda T, x: x.sort(2),
    lambda T, x: x.topk(5),
    lambda T, x: x.topk(-1),
    lambda T, x: x.kthvalue(0),
    lambda T, x: x.kthvalue(5),
    lambda T, x: x.median(-3),
    lambda T, x: x.mode(2),
    lambda T, x: x.sum(2),
    lambda T, x: x.sum((0, 0)),
    lambda T, x: x.mean(3),
    lambda T, x: x.aminmax(dim=2),
    lambda T, x: T.var_mean(x, 4),
])
def test_errors(fn):
    same(lambda T: fn(T, T.ones(3, 4)))


@pytest.mark.parametrize("fn", [
    lambda T, x: x.median(0),
    lambda T, x: x.nanmedian(0),
    lambda T, x: x.mode(0),
    lambda T, x: x.kthvalue(1, 0),
    lambda T, x: x.max(0),
    lambda T, x: x.max(),
    lambda T, x: x.aminmax(),
    lambda T, x: x.amax(),
    lambda T, x: x.median(),
    lambda T, x: x.nanmedian(),
    lambda T, x: x.sum(),
    lambda T, x: x.prod(),
    lambda T, x: x.mean(),
    lambda T, x: x.sort(0),
    lambda T, x: x.topk(0, 0),
    lambda T, x: x.cumsum(0),
    lambda T, x: x.cummax(0),
    lambda T, x: x.logcumsumexp(0),
    lambda T, x: x.sum(1),
    lambda T, x: x.max(1),
    lambda T, x: x.sum(0),
    lambda T, x: x.mean(0),
    lambda T, x: x.prod(0),
    lambda T, x: x.var(0),
    lambda T, x: T.var_mean(x, 0),
    lambda T, x: x.logsumexp(0),
    lambda T, x: x.argmax(),
    lambda T, x: x.argmax(0),
    lambda T, x: x.argmin(1),
    lambda T, x: x.amax(0),
    lambda T, x: x.amin(1),
    lambda T, x: x.aminmax(dim=0),
    lambda T, x: x.aminmax(dim=1),
    lambda T, x: x.nansum(0),
    lambda T, x: x.nanmean(0),
    lambda T, x: x.norm(),
    lambda T, x: x.count_nonzero(0),
])
def test_empty(fn):
    same(lambda T: fn(T, T.ones(0, 3)))


def test_empty_gradients():
    def run(T):
        x = T.ones(0, 3, requires_grad=True)
        (x.sum(0) + x.mean(1).sum() + x.prod(0) + x.cumsum(0).sum()).sum().backward()
        return x.grad
    same(run)


@pytest.mark.parametrize("fn", [
    lambda T, x: x.sum(0),
    lambda T, x: x.mean(-1, keepdim=True),
    lambda T, x: x.prod(0),
    lambda T, x: x.amax(0),
    lambda T, x: x.max(0),
    lambda T, x: x.argmax(0),
    lambda T, x: x.var(0, correction=0),
    lambda T, x: x.logsumexp(-1),
    lambda T, x: x.cumsum(0),
    lambda T, x: x.sort(0),
    lambda T, x: x.median(0),
])
def test_zero_dim(fn):
    same(lambda T: _with_grad(fn)(T, 1.5))


def test_mean_integer_error():
    same(lambda T: T.tensor([1, 2]).mean())


# ---- signatures, dtypes and edge values of the existing reductions ----
MISC = {
    "sum_empty_tuple": lambda T: T.ones(2, 3).sum(()),
    "sum_list": lambda T: T.ones(2, 3).sum([1]),
    "sum_bool": lambda T: T.tensor([True, True]).sum(),
    "sum_dtype_int": lambda T: T.tensor([1.5, 2.5]).sum(dtype=T.int32),
    "sum_uint8": lambda T: T.tensor([200, 100], dtype=T.uint8).sum(),
    "sum_int32": lambda T: T.tensor([1, 2], dtype=T.int32).sum(0),
    "mean_dtype": lambda T: T.tensor([1, 2]).mean(dtype=T.float64),
    "mean_tuple_empty": lambda T: T.ones(2, 3).mean(()),
    "prod_bool": lambda T: T.tensor([True, False]).prod(),
    "prod_int_dtype": lambda T: T.tensor([2, 3]).prod(0, dtype=T.float32),
    "max_nan": lambda T: T.tensor([1.0, float("nan"), 2.0]).max(),
    "max_kw": lambda T: T.tensor([[1.0, 5.0], [3.0, 2.0]]).max(dim=1, keepdim=True),
    "max_other": lambda T: T.max(T.tensor([1.0, 5.0]), T.tensor([3.0, 2.0])),
    "min_other_kw": lambda T: T.min(T.tensor([1.0, 5.0]), other=T.tensor([3.0, 2.0])),
    "max_int": lambda T: T.tensor([3, 9, 2]).max(),
    "max_bool": lambda T: T.tensor([True, False]).max(),
    "amax_int": lambda T: T.tensor([[3, 9, 2]]).amax(1),
    "amax_list": lambda T: T.ones(2, 3).amax([0, 1]),
    "argmax_keepdim": lambda T: T.tensor([[1.0, 3.0], [4.0, 0.0]]).argmax(keepdim=True),
    "argmax_nan": lambda T: T.tensor([1.0, float("nan"), 5.0]).argmin(),
    "argmax_0d": lambda T: T.tensor(3.0).argmax(0, keepdim=True),
    "var_unbiased_pos": lambda T: T.tensor([[1.0, 2.0], [4.0, 7.0]]).var(1, False),
    "var_bool": lambda T: T.tensor([[1.0, 2.0], [4.0, 7.0]]).var(False),
    "std_keepdim": lambda T: T.std(T.tensor([[1.0, 2.0], [4.0, 7.0]]), 0, keepdim=True),
    "var_correction2": lambda T: T.var(T.tensor([1.0, 2.0, 4.0, 7.0]), correction=2),
    "var_one": lambda T: T.var(T.tensor([1.0])),
    "std_mean_one": lambda T: T.std_mean(T.tensor([1.0])),
    "var_int": lambda T: T.var(T.tensor([1, 2])),
    "norm_int": lambda T: T.tensor([3, 4]).norm(),
    "norm_fro_dim": lambda T: T.tensor([[3.0, 4.0], [1.0, 2.0]]).norm("fro", dim=1),
    "norm_p0": lambda T: T.tensor([[3.0, 0.0], [1.0, 2.0]]).norm(0),
    "norm_dtype": lambda T: T.norm(T.tensor([3.0, 4.0]), dtype=T.float64),
    "norm_neg_inf": lambda T: T.tensor([3.0, -4.0]).norm(float("-inf")),
    "logsumexp_tuple": lambda T: T.ones(2, 3).logsumexp((0, 1)),
    "logsumexp_inf": lambda T: T.tensor([float("inf"), 1.0]).logsumexp(0),
    "logsumexp_ninf": lambda T: T.tensor([float("-inf"), float("-inf")]).logsumexp(0),
    "all_uint8": lambda T: T.tensor([1, 2], dtype=T.uint8).all(),
    "any_float": lambda T: T.tensor([0.0, 2.0]).any(0, keepdim=True),
    "all_tuple": lambda T: T.ones(2, 3).all((0, 1)),
    "count_nonzero_tuple": lambda T: T.tensor([[0.0, 2.0], [1.0, 0.0]]).count_nonzero((0, 1)),
    "count_nonzero_kw": lambda T: T.count_nonzero(T.tensor([[0.0, 2.0], [1.0, 0.0]]), dim=1),
    "nansum_int_dtype": lambda T: T.tensor([1, 2]).nansum(dtype=T.float32),
    "nanmean_int": lambda T: T.tensor([1, 2]).nanmean(),
    "var_mean_int": lambda T: T.var_mean(T.tensor([1, 2])),
    "cumsum_bool": lambda T: T.tensor([True, True]).cumsum(0),
    "cumprod_bool": lambda T: T.tensor([True, True]).cumprod(0),
    "cumsum_int32": lambda T: T.tensor([1, 2], dtype=T.int32).cumsum(0),
    "cumsum_dtype_int": lambda T: T.tensor([1.5, 2.5]).cumsum(0, dtype=T.int64),
    "sort_bool": lambda T: T.tensor([True, False]).sort(),
    "median_bool": lambda T: T.tensor([True, False]).median(),
    "mode_nan": lambda T: T.tensor([1.0, float("nan"), float("nan")]).mode(),
    "mode_float_ties": lambda T: T.tensor([[2.0, 1.0, 2.0, 1.0]]).mode(1),
    "sort_0d_dim": lambda T: T.tensor(3.0).sort(0),
    "cummax_0d": lambda T: T.tensor(3.0).cummax(0),
    "kthvalue_keepdim_0d": lambda T: T.tensor(3.0).kthvalue(1, 0, True),
    "median_keepdim_0d": lambda T: T.tensor(3.0).median(0, True),
    "nanmedian_allnan": lambda T: T.tensor([[float("nan"), float("nan")], [1.0, 2.0]]).nanmedian(1),
    "argsort_desc": lambda T: T.tensor([1.0, 3.0, 2.0]).argsort(descending=True),
    "argsort_0d": lambda T: T.tensor(1.0).argsort(),
    "msort_0d": lambda T: T.tensor(1.0).msort(),
    "aminmax_keepdim_full": lambda T: T.ones(2, 3).aminmax(keepdim=True),
    "aminmax_bool": lambda T: T.tensor([True, False]).aminmax(),
    "logcumsumexp_0d": lambda T: T.tensor(3.0).logcumsumexp(0),
    "topk_k_float": lambda T: T.ones(3).topk(2.0),
}


@pytest.mark.parametrize("name", sorted(MISC))
def test_misc(name):
    same(MISC[name])


def test_inplace_scan_on_view():
    def run(T):
        x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
        z = (x * 1.0).clone()
        w = z[1:]
        w.cumprod_(0)
        (z * T.tensor([1.0, 2.0, 3.0])).sum().backward()
        return z, w, x.grad
    same(run)


@pytest.mark.parametrize("fn", [
    lambda T: T.tensor([1, 2]).cumsum_(0, dtype=T.int64),
    lambda T: T.tensor([1.0, 2.0]).cumprod_(dim=0),
    lambda T: T.tensor([1, 2]).cumsum_(0, dtype=T.float32),
])
def test_inplace_scan_dtypes(fn):
    same(fn)


# ---- keyword and positional forms, reprs, grad_fn names ----
X = [[0.5, -1.0, 2.0], [1.5, 3.0, -0.25]]
CALLS = {
    "max_pos_keepdim": lambda T: T.max(T.tensor(X), 1, True),
    "sort_kw": lambda T: T.sort(T.tensor(X), dim=0, descending=True),
    "median_kw": lambda T: T.median(T.tensor(X), dim=1, keepdim=True),
    "topk_kw": lambda T: T.topk(T.tensor(X), k=1, dim=0, largest=False),
    "cumsum_kw": lambda T: T.cumsum(T.tensor(X), dim=0),
    "lcse_kw": lambda T: T.logcumsumexp(T.tensor(X), dim=0),
    "mode_default": lambda T: T.mode(T.tensor(X)),
    "kth_kw": lambda T: T.kthvalue(T.tensor(X), 2, dim=0, keepdim=True),
    "std_unbiased_kw": lambda T: T.tensor(X).std(unbiased=False),
    "std_correction_none_dim": lambda T: T.tensor(X).std(dim=None, correction=0),
    "nansum_keepdim": lambda T: T.tensor(X).nansum(keepdim=True),
    "amax_tuple": lambda T: T.amax(T.tensor(X), dim=(0, 1)),
    "max_0d": lambda T: T.tensor(2.0).max(),
    "argmax_none_keepdim": lambda T: T.argmax(T.tensor(X), dim=None, keepdim=True),
    "sum_neg_tuple_keepdim": lambda T: T.tensor(X).sum((-1, -2), keepdim=True),
    "repr_aminmax": lambda T: repr(T.tensor(X).aminmax()),
    "repr_sort": lambda T: repr(T.tensor(X).sort()),
    "repr_cummax": lambda T: repr(T.tensor(X).cummax(0)),
    "unpack": lambda T: [t for t in T.tensor(X).max(0)],
    "var_mean_keepdim": lambda T: T.var_mean(T.tensor(X), 1, keepdim=True),
    "var_mean_unbiased_pos": lambda T: T.var_mean(T.tensor(X), 1, False),
    "std_mean_correction": lambda T: T.std_mean(T.tensor(X), correction=2),
    "logsumexp_kw": lambda T: T.logsumexp(T.tensor(X), dim=1, keepdim=True),
    "prod_keepdim_kw": lambda T: T.prod(T.tensor(X), dim=0, keepdim=True),
    "count_nonzero_none": lambda T: T.count_nonzero(T.tensor(X)),
    "norm_p2_dim_tuple": lambda T: T.norm(T.tensor(X), 2, (0, 1)),
    "norm_p_float": lambda T: T.norm(T.tensor(X), 2.5),
    "cummin_kw": lambda T: T.cummin(T.tensor(X), dim=1),
    "argsort_kw": lambda T: T.argsort(T.tensor(X), dim=0, descending=True),
    "msort": lambda T: T.msort(T.tensor(X)),
    "nanmedian_keepdim": lambda T: T.nanmedian(T.tensor(X), 0, True),
    "aminmax_dim_pos_err": lambda T: T.aminmax(T.tensor(X), 0),
    "sort_stable_pos": lambda T: T.tensor(X).sort(0, True),
    "var_grad_fn": lambda T: T.tensor(X, requires_grad=True).var(0),
    "mean_grad_fn": lambda T: T.tensor(X, requires_grad=True).mean(()),
    "nansum_grad_fn": lambda T: T.tensor(X, requires_grad=True).nansum(0),
    "std_mean_grad_fn": lambda T: T.std_mean(T.tensor(X, requires_grad=True), 0),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_calls(name):
    same(CALLS[name])


@pytest.mark.parametrize("fn", [
    lambda T, x: x.max(),
    lambda T, x: x.min(),
    lambda T, x: x.median(),
    lambda T, x: x.nanmedian(),
    lambda T, x: x.max(0)[0],
    lambda T, x: x.cummax(0)[0],
    lambda T, x: x.sort()[0],
])
def test_nan_gradients(fn):
    same(lambda T: _with_grad(fn)(T, [1.0, NAN, 3.0, NAN]))


def _modified_after(fn):
    """Backward of ``fn(v)`` after ``v`` (a non-leaf) was changed in place: PyTorch raises
    exactly when its node saved ``v`` itself (not only indices or sizes)."""
    def run(T):
        x = T.tensor([[0.5, -1.5, 2.0], [1.0, 3.0, -2.5]], dtype=T.float64, requires_grad=True)
        v = x * 1
        out = fn(v)
        v.add_(1)
        out.sum().backward()
        return x.grad
    return run


@pytest.mark.parametrize("fn", [
    lambda v: v.cummax(0)[0], lambda v: v.cummin(1)[0], lambda v: v.cumprod(1),
    lambda v: v.sort(0)[0], lambda v: v.topk(2, 1)[0], lambda v: v.max(0)[0],
    lambda v: v.kthvalue(2, 1)[0], lambda v: v.median(1)[0], lambda v: v.median(),
    lambda v: v.mode(0)[0], lambda v: v.max(), lambda v: v.amax(0),
    # found by tests/fuzz: masked_select's and gather's nodes save their input
    lambda v: v.masked_select(v.detach() > 0), lambda v: v.gather(1, v.detach().argsort(1)),
])
def test_inplace_change_of_saved_input(fn):
    same(_modified_after(fn))


@pytest.mark.parametrize("which", [0, 1])
def test_aminmax_saves_its_outputs(which):
    # PyTorch's node saves min and max: changing either in place before the backward raises
    # (found by tests/fuzz)
    def run(T):
        x = T.tensor([[0.3, 0.5], [1.5, -2.0]], dtype=T.float64, requires_grad=True)
        outs = T.aminmax(x * 1, dim=-1)
        outs[which].add_(1)
        outs[1 - which].sum().backward()
        return x.grad
    same(run)


@pytest.mark.parametrize("fn", [lambda v: v.prod(), lambda v: v.prod(-1, keepdim=True),
                                lambda v: v.prod(0)])
def test_prod_of_zero_dim_gradient_passes_through(fn):
    # PyTorch's prod backward returns a 0-d input's incoming gradient as is: no second order
    def run(T):
        x = T.tensor([[0.5, -1.5], [2.0, 1.25]], dtype=T.float64, requires_grad=True)
        (g,) = T.autograd.grad((fn(T.mean(x)) * 0.7).sum(), x, create_graph=True)
        return g
    same(run)


@pytest.mark.parametrize("shape, dim", [((1,), 0), ((2, 1), 1), ((1, 2), 0), ((), 0), ((1, 3), 1)])
def test_cumprod_over_one_element_gradient_passes_through(shape, dim):
    # PyTorch's cumprod backward returns the gradient as is when the dim has one element
    def run(T):
        x = T.full(shape, 0.7, dtype=T.float64, requires_grad=True)
        (g,) = T.autograd.grad((T.cumprod(x, dim) * 0.5).sum(), x, create_graph=True)
        return g
    same(run)
