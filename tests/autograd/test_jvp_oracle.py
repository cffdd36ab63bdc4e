"""Oracle tests for JVP rules through ``func.jvp``: tangents of ops with ``dtype=`` take the
output's dtype, and the ops that write a source into ``self`` (index_copy, put, masked_scatter,
the *_scatter family...) work when only the source has a tangent."""

from __future__ import annotations

import pytest

from ..oracle import same, torch  # noqa: F401 - torch: skip without PyTorch

DTYPE_OPS = {
    "sum": lambda T, a: a.sum(dtype=T.float64),
    "sum_dim": lambda T, a: a.sum(1, dtype=T.float64),
    "mean": lambda T, a: a.mean(dtype=T.float64),
    "mean_dim": lambda T, a: a.mean(0, dtype=T.float64),
    "prod": lambda T, a: a.prod(dtype=T.float64),
    "nansum": lambda T, a: a.nansum(dtype=T.float64),
    "softmax": lambda T, a: T.softmax(a, 1, dtype=T.float64),
    "log_softmax": lambda T, a: T.nn.functional.log_softmax(a, 1, dtype=T.float64),
    "cumsum": lambda T, a: a.cumsum(1, dtype=T.float64),
    "cumprod": lambda T, a: a.cumprod(1, dtype=T.float64),
    "to": lambda T, a: a.to(T.float64),
    "double": lambda T, a: a.double(),
}


@pytest.mark.parametrize("name", sorted(DTYPE_OPS))
def test_tangent_takes_the_dtype_argument(name):
    def fn(T):
        x = T.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        v = T.tensor([[1.0, -1.0, 0.5], [2.0, 0.0, -3.0]])
        return T.func.jvp(lambda a: DTYPE_OPS[name](T, a), (x,), (v,))
    same(fn, warnings_too=False)


def _self(T):
    return T.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])


SOURCE_OPS = {
    "index_copy": lambda T, b: _self(T).index_copy(0, T.tensor([1]), b),
    "index_copy_": lambda T, b: _self(T).index_copy_(0, T.tensor([1]), b),
    "index_add": lambda T, b: _self(T).index_add(0, T.tensor([1]), b),
    "diagonal_scatter": lambda T, b: T.diagonal_scatter(_self(T), b[0]),
    "select_scatter": lambda T, b: T.select_scatter(_self(T), b[0], 0, 1),
    "slice_scatter": lambda T, b: T.slice_scatter(_self(T), b, 0, 1, 2),
    "put": lambda T, b: _self(T).put(T.tensor([0, 4, 8]), b[0]),
    "put_": lambda T, b: _self(T).put_(T.tensor([0, 4, 8]), b[0]),
    "index_put": lambda T, b: _self(T).index_put((T.tensor([0, 2]),), b[0, :2].unsqueeze(1)),
    "index_put_accumulate": lambda T, b: _self(T).index_put(
        (T.tensor([0, 0]),), b[0, :2].unsqueeze(1), accumulate=True),
    "index_put_": lambda T, b: _self(T).index_put_((T.tensor([0, 2]),), b[0, :2].unsqueeze(1)),
    "masked_scatter": lambda T, b: _self(T).masked_scatter(_self(T) > 4, T.cat([b[0], b[0]])),
    "masked_scatter_": lambda T, b: _self(T).masked_scatter_(_self(T) > 4, T.cat([b[0], b[0]])),
    "scatter": lambda T, b: _self(T).scatter(0, T.tensor([[1, 0, 2]]), b),
    "scatter_add": lambda T, b: _self(T).scatter_add(0, T.tensor([[1, 0, 2]]), b),
    "index_fill": lambda T, b: _self(T).index_fill(0, T.tensor([1]), b[0, 0]),
    "masked_fill": lambda T, b: _self(T).masked_fill(_self(T) > 4, b[0, 0]),
}


@pytest.mark.parametrize("name", sorted(SOURCE_OPS))
def test_only_the_source_has_a_tangent(name):
    def fn(T):
        src = T.tensor([[10.0, 20.0, 30.0]])
        v = T.tensor([[1.0, -1.0, 2.0]])
        return T.func.jvp(lambda b: SOURCE_OPS[name](T, b), (src,), (v,))
    same(fn, warnings_too=False)


def test_function_with_empty_output():
    def fn(T):
        x = T.ones(2)
        res = []
        for f in (lambda a: None, lambda a: (), lambda a: (a, None)):
            try:
                T.func.jvp(f, (x,), (x,))
            except RuntimeError as e:
                res.append(str(e))
        return res
    same(fn, warnings_too=False)


INF, NAN = float("inf"), float("nan")
# PyTorch's max/min tangents: maximum/minimum are dy + c * (dx - dy) (a NaN operand takes the
# other's tangent, an infinite losing tangent gives NaN), amax/amin/aminmax select the tangents
# at the extreme, max()/min() multiply by the mask (a NaN result gives NaN).
EXTREME_OPS = {
    "maximum": lambda T, a: T.maximum(a, T.tensor([NAN, 0.5, 3.0, 2.0])),
    "maximum_nan_self": lambda T, a: T.maximum(a.log(), T.tensor(1.0)),
    "minimum": lambda T, a: T.minimum(a / 0, T.tensor(-1.5)),
    "minimum_both": lambda T, a: T.minimum(a, a.flip(0) * 2),
    "max_all_nan": lambda T, a: a.log().max(),
    "min_all": lambda T, a: (a / 0).min(),
    "amin_inf": lambda T, a: (a / 0).amin(0),
    "amax_dim": lambda T, a: (a / 0).reshape(2, 2).amax(1, keepdim=True),
    "aminmax": lambda T, a: (a / 0).aminmax(),
}


@pytest.mark.parametrize("name", sorted(EXTREME_OPS))
def test_extreme_tangents_with_nan_and_inf(name):
    def fn(T):
        x = T.tensor([-1.0, 2.0, -3.0, 2.0], dtype=T.float64)
        v = T.tensor([1.0, -2.0, 0.5, 3.0], dtype=T.float64)
        return T.func.jvp(lambda a: EXTREME_OPS[name](T, a), (x,), (v,))
    same(fn, warnings_too=False)


def test_maximum_with_a_bool_operand():
    same(lambda T: T.func.jvp(lambda a: T.maximum(a, T.tensor(True)),
                              (T.tensor([0.5, 2.0]),), (T.tensor([1.0, 3.0]),)), warnings_too=False)


def _scatter_amax(T, red, inc, shared):
    x = T.tensor([[1.0, 5.0, 3.0], [3.0, -1.0, 2.0]], dtype=T.float64)
    idx = T.tensor([[0, 0, 1], [0, 1, 1]])
    tx = T.tensor([[10.0, 20.0, 30.0], [1.0, 2.0, INF]], dtype=T.float64)
    if shared:  # self and src one tensor (fuzz seed 2026 #3596)
        return T.func.jvp(lambda a: T.scatter_reduce(a, 0, idx, a, red, include_self=inc),
                          (x,), (tx,))
    src = T.tensor([[3.0, 5.0, 2.0], [1.0, 7.0, 3.0]], dtype=T.float64)
    ts = T.tensor([[100.0, 200.0, 300.0], [400.0, 500.0, 600.0]], dtype=T.float64)
    return T.func.jvp(lambda a, b: T.scatter_reduce(a, 0, idx, b, red, include_self=inc),
                      (x, src), (tx, ts))


# PyTorch's forward formula for amax/amin differs from its backward: with include_self=False,
# self's tied element counts neither in the sum nor the count where src lands.
@pytest.mark.parametrize("red", ["amax", "amin"])
@pytest.mark.parametrize("inc", [True, False])
@pytest.mark.parametrize("shared", [True, False])
def test_scatter_reduce_extreme_tangent(red, inc, shared):
    same(lambda T: _scatter_amax(T, red, inc, shared), warnings_too=False)


def test_scatter_reduce_extreme_tangent_src_larger_than_index():
    same(lambda T: T.func.jvp(
        lambda b: T.scatter_reduce(T.tensor([1.0, 2.0, 3.0]), 0, T.tensor([0, 2]), b, "amax"),
        (T.tensor([4.0, 2.0, 3.0]),), (T.tensor([1.0, 2.0, 3.0]),)), warnings_too=False)


def test_copysign_sign_source_tangent_gives_none():
    # PyTorch's formula reads only input's tangent: no tangent (not zeros) flows on, so a
    # variance of one element has tangent 0 rather than 0 * NaN (fuzz seed 2026 #19745)
    def fn(T):
        fa = T.autograd.forward_ad
        x0, x1 = T.tensor([-1.5, 0.0]), T.tensor([1.0, -2.0])
        with fa.dual_level():
            r = T.copysign(x0, fa.make_dual(x1, T.tensor([1.0, 2.0])))
            none = fa.unpack_dual(r).tangent is None
        j = T.func.jvp(lambda b: T.copysign(x0[:1], b).var(0), (x1[:1],), (x1[:1],))
        return none, j
    same(fn, warnings_too=False)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
@pytest.mark.parametrize("flip", [False, True])
def test_mean_loss_against_an_empty_operand_is_nan(name, flip):
    # the tangent's operand has an element, but the broadcast pair reduces over none: 0 / 0
    # (fuzz seed 2026 #16272)
    def fn(T):
        def f(b):
            e = T.zeros(1, 0)
            return getattr(T.nn.functional, name)(*((b, e) if flip else (e, b)))
        return T.func.jvp(f, (T.tensor([[1.5]]),), (T.tensor([[2.0]]),))
    same(fn, warnings_too=False)
