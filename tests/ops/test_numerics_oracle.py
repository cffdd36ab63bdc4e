"""Oracle tests of numerical edge cases: the gradients of var/std and of vector norms where the
formulas divide by zero (zero spread, no degrees of freedom, zero entries), losses whose every
target is ignored, and half-precision (float16, bfloat16) reductions, norm layers and losses,
which PyTorch accumulates in float32 — each run through ember and PyTorch by ``same``."""

from __future__ import annotations

import math

import pytest

from ..oracle import same

INF = math.inf


def _grad_of(fn, data, dtype="float64"):
    """``fn(T, x)`` on a leaf ``x`` made of ``data``: the result and ``x.grad`` after the
    backward of a weighted sum."""
    def run(T):
        x = T.tensor(data, dtype=getattr(T, dtype), requires_grad=True)
        out = fn(T, x)
        first = out[0] if isinstance(out, tuple) else out
        w = (T.arange(first.numel(), dtype=T.float64).reshape(first.shape) + 1).to(first.dtype)
        (first * w).sum().backward()
        return out, x.grad
    return run


# ---- var / std at zero spread and with no degrees of freedom ----
SPREAD = [[1.0, 2.0], [3.0, 3.0]]


@pytest.mark.parametrize("call", [
    lambda T, x: x.std(),
    lambda T, x: x.std(1),
    lambda T, x: x.std(0, keepdim=True),
    lambda T, x: T.std_mean(x, 1),
    lambda T, x: T.std_mean(x),
    lambda T, x: x[1].std(),
    lambda T, x: x[1].std(correction=0),
    lambda T, x: T.std_mean(x[1], correction=0),
], ids=["std", "std_dim", "std_keepdim", "std_mean_dim", "std_mean", "std_zero_spread",
        "std_zero_spread_c0", "std_mean_zero_spread"])
def test_std_zero_spread(call):
    same(_grad_of(call, SPREAD))


@pytest.mark.parametrize("op", ["var", "std", "var_mean", "std_mean"])
@pytest.mark.parametrize("where", [
    lambda x: (x[0, :1], {}),                     # one element
    lambda x: (x[0, 0], {}),                      # 0-dim
    lambda x: (x[0, 0], {"dim": 0}),
    lambda x: (x, {"correction": 4}),             # dof == 0, full
    lambda x: (x, {"correction": 5}),             # dof < 0, full
    lambda x: (x, {"dim": 1, "correction": 2}),   # dof == 0 along a dim (0 * inf = nan)
    lambda x: (x, {"dim": 1, "correction": 3}),   # dof < 0 along a dim
    lambda x: (x, {"dim": (0, 1), "correction": 5}),
    lambda x: (x[1], {"correction": 2}),          # dof == 0 at zero spread
], ids=["one", "0d", "0d_dim", "c4", "c5", "dim_c2", "dim_c3", "dims_c5", "zero_spread_c2"])
def test_no_degrees_of_freedom(op, where):
    def call(T, x):
        t, kw = where(x)
        fn = getattr(T, op)
        return fn(t, **kw)
    same(_grad_of(call, SPREAD))


def test_var_mean_backward_warns_once():
    # the backward of std_mean with no degrees of freedom must not warn again
    same(_grad_of(lambda T, x: T.std_mean(x[0, :1]), SPREAD))


# ---- vector norms at zero entries and at the zero vector ----
@pytest.mark.parametrize("ord", [0.5, 0, -1, -0.5, -INF, 1, 1.5, 2, 3, INF])
@pytest.mark.parametrize("data", [[0.0, 1.0, -2.0], [0.0, 0.0], [[0.0, 1.0], [0.0, 0.0]]],
                         ids=["zero_entry", "zero_vector", "rows"])
def test_vector_norm_zeros(ord, data):
    dim = -1 if isinstance(data[0], list) else None
    same(_grad_of(lambda T, x: T.linalg.vector_norm(x, ord, dim=dim), data))


@pytest.mark.parametrize("p", [0, 1, 2, INF, 3, "fro"])
def test_norm_zero_vector(p):
    same(_grad_of(lambda T, x: x.norm(p=p), [0.0, 0.0]))
    same(_grad_of(lambda T, x: T.norm(x, p=p, dim=0), [0.0, 0.0]))


@pytest.mark.parametrize("ord", [None, 1, 2, INF, 3])
def test_linalg_norm_zero_vector(ord):
    same(_grad_of(lambda T, x: T.linalg.norm(x, ord), [0.0, 0.0]))


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, INF, -INF])
def test_matrix_norm_zero_matrix(ord):
    same(_grad_of(lambda T, x: T.linalg.matrix_norm(x, ord), [[0.0, 0.0], [0.0, 0.0]]))


def test_zero_norm_requires_grad():
    # PyTorch's 0-"norm" is recorded (it requires grad) but passes no gradient back
    def run(T):
        x = T.tensor([1.0, 0.0, -2.0], requires_grad=True)
        y = x.norm(p=0)
        z = T.linalg.vector_norm(x, 0)
        (y + z).backward()
        return y, z, x.grad
    same(run)


# ---- classification losses whose every target is ignored ----
LOGITS = [[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind,kw,target", [
    ("cross_entropy", {}, [-100, -100]),
    ("cross_entropy", {"ignore_index": 2, "weight": [1.0, 2.0, 3.0]}, [2, 2]),
    ("cross_entropy", {"ignore_index": 2, "label_smoothing": 0.1}, [2, 2]),
    ("cross_entropy", {"ignore_index": 2, "label_smoothing": 0.1, "weight": [1.0, 2.0, 3.0]},
     [2, 2]),
    ("cross_entropy", {"weight": [0.0, 2.0, 3.0], "label_smoothing": 0.2}, [0, 0]),
    ("nll_loss", {"ignore_index": 1}, [1, 1]),
    ("nll_loss", {"weight": [0.0, 2.0, 3.0]}, [0, 0]),  # zero total weight, not ignored: nan
    ("nll_loss", {"ignore_index": 1, "weight": [1.0, 2.0, 3.0]}, [1, 1]),
], ids=["ce", "ce_weight", "ce_smoothing", "ce_smoothing_weight", "ce_zero_weight", "nll",
        "nll_zero_weight", "nll_weight"])
def test_every_target_ignored(kind, kw, target, reduction):
    def call(T, x):
        args = dict(kw)
        if "weight" in args:
            args["weight"] = T.tensor(args["weight"], dtype=x.dtype)
        return getattr(T.nn.functional, kind)(x, T.tensor(target), reduction=reduction, **args)
    same(_grad_of(call, LOGITS))


@pytest.mark.parametrize("kind", ["cross_entropy", "nll_loss"])
def test_every_target_ignored_shapes(kind):
    # one sample (1-D input) and a K-dim target
    same(_grad_of(lambda T, x: getattr(T.nn.functional, kind)(x[0], T.tensor(-100)), LOGITS))
    same(_grad_of(lambda T, x: getattr(T.nn.functional, kind)(
        x.reshape(1, 3, 2), T.tensor([[-100, -100]])), LOGITS))
