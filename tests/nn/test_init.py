"""Tests of ``ember.nn.init``: gains, fan rules and errors against PyTorch (oracle), the
deterministic initialisers (constant, eye, dirac) value for value, and the random ones by
their distributions (Kolmogorov-Smirnov against the exact law, moments against PyTorch's own
samples): the random streams differ, the laws must not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import ember

from ..oracle import same, torch

init = ember.nn.init


@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("conv_transpose3d",),
                                  ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                                  ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu",),
                                  ("leaky_relu", True), ("leaky_relu", "x"), ("softmax",)])
def test_calculate_gain(args):
    same(lambda T: T.nn.init.calculate_gain(*args))


@pytest.mark.parametrize("fn", [
    lambda T: T.nn.init.xavier_uniform_(T.empty(3)),
    lambda T: T.nn.init.kaiming_normal_(T.empty(3, 4), mode="fan_avg"),
    lambda T: T.nn.init.eye_(T.empty(2, 2, 2)),
    lambda T: T.nn.init.dirac_(T.empty(2, 2)),
    lambda T: T.nn.init.dirac_(T.empty(3, 2, 3), groups=2),
    lambda T: T.nn.init.orthogonal_(T.empty(3)),
    lambda T: T.nn.init.sparse_(T.empty(2, 2, 2), 0.5),
    lambda T: T.nn.init.kaiming_uniform_(T.empty(0, 3)).shape,
    lambda T: T.nn.init.kaiming_normal_(T.empty(2, 0)).shape,
    lambda T: T.nn.init.trunc_normal_(T.empty(3), mean=10.0).shape,
])
def test_errors_and_warnings(fn):
    same(fn)


def test_fan_in_and_fan_out():
    for shape in [(3, 4), (5, 2, 3), (4, 6, 3, 2), (2, 3, 1, 2, 2)]:
        a = init._calculate_fan_in_and_fan_out(ember.empty(shape))
        b = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        assert a == b


def test_deterministic_initialisers_match_torch():
    def fn(T):
        i = T.nn.init
        return (i.constant_(T.empty(2, 3), 0.7), i.ones_(T.empty(4)), i.zeros_(T.ones(2, 2)),
                i.eye_(T.empty(3, 5)), i.eye_(T.empty(4, 2)),
                i.dirac_(T.empty(4, 2, 3)), i.dirac_(T.empty(6, 2, 3, 3), groups=3),
                i.dirac_(T.empty(2, 2, 3, 1, 3)))
    same(fn)


def test_in_place_on_parameters_without_recording():
    def fn(T):
        p = T.nn.Parameter(T.empty(3, 4))
        results = []
        for f in (T.nn.init.uniform_, T.nn.init.normal_, T.nn.init.xavier_uniform_,
                  T.nn.init.kaiming_normal_, T.nn.init.orthogonal_, T.nn.init.trunc_normal_,
                  lambda t: T.nn.init.constant_(t, 2.0), T.nn.init.eye_):
            r = f(p)
            results.append((r is p, p.is_leaf, p.requires_grad, p.grad_fn is None,
                            isinstance(p, T.nn.Parameter)))
        return results
    same(fn)


def _sample(f, shape=(400, 500), dtype=ember.float32):
    # (seeded: a statistical check must not pass or fail with the order the tests ran in)
    ember.manual_seed(1234)
    t = ember.empty(shape, dtype=dtype)
    out = f(t)
    assert out is t and t.dtype == dtype
    return t._data.astype(np.float64).ravel()


def _torch_sample(f, shape=(400, 500)):
    torch.manual_seed(4321)
    t = torch.empty(shape)
    f(t)
    return t.numpy().astype(np.float64).ravel()


def _ks_ok(values, cdf):
    # 200k samples: a correct law gives p-values spread over (0, 1); 1e-4 keeps flakes out
    assert stats.kstest(values[:20000], cdf).pvalue > 1e-4


def test_uniform_and_normal_laws():
    _ks_ok(_sample(lambda t: init.uniform_(t, -2.0, 3.0)), stats.uniform(-2, 5).cdf)
    _ks_ok(_sample(lambda t: init.normal_(t, 1.5, 0.3)), stats.norm(1.5, 0.3).cdf)
    v = _sample(lambda t: init.uniform_(t))
    assert v.min() >= 0 and v.max() < 1


@pytest.mark.parametrize("name, kwargs, law", [
    ("xavier_uniform_", {"gain": 2.0}, "uniform"),
    ("xavier_normal_", {}, "normal"),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, "uniform"),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, "uniform"),
    ("kaiming_normal_", {"nonlinearity": "tanh"}, "normal"),
    ("kaiming_normal_", {"a": 0.1, "mode": "fan_out"}, "normal"),
])
def test_scaled_initialisers_match_torch_law(name, kwargs, law):
    shape = (300, 200, 3)
    ours = _sample(lambda t: getattr(init, name)(t, **kwargs), shape)
    theirs = _torch_sample(lambda t: getattr(torch.nn.init, name)(t, **kwargs), shape)
    std = theirs.std()
    # the exact std from PyTorch's formula, recomputed here from the fans
    fan_in, fan_out = 200 * 3, 300 * 3
    if name.startswith("xavier"):
        expected = kwargs.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    else:
        fan = fan_out if kwargs.get("mode") == "fan_out" else fan_in
        gain = torch.nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"),
                                            kwargs.get("a", 0))
        expected = gain / math.sqrt(fan)
    assert abs(std - expected) < 0.01 * expected
    assert abs(ours.std() - expected) < 0.01 * expected
    assert abs(ours.mean()) < 0.01 * expected
    if law == "uniform":
        bound = math.sqrt(3) * expected
        assert ours.max() <= bound and ours.min() >= -bound
        _ks_ok(ours, stats.uniform(-bound, 2 * bound).cdf)
    else:
        _ks_ok(ours, stats.norm(0, expected).cdf)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.0, 0.6),
                                             (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.0, 10.0)])
def test_trunc_normal_law(mean, std, a, b):
    v = _sample(lambda t: init.trunc_normal_(t, mean, std, a, b))
    assert v.min() >= a and v.max() <= b
    law = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    _ks_ok(v, law.cdf)
    theirs = _torch_sample(lambda t: torch.nn.init.trunc_normal_(t, mean, std, a, b))
    assert abs(v.mean() - theirs.mean()) < 0.02 * std
    assert abs(v.std() - theirs.std()) < 0.02 * std


@pytest.mark.parametrize("shape, gain", [((6, 10), 1.0), ((10, 6), 2.0), ((4, 3, 2, 2), 0.5),
                                         ((5, 5), 1.0)])
def test_orthogonal(shape, gain):
    t = init.orthogonal_(ember.empty(shape, dtype=ember.float64), gain=gain)
    m = t._data.reshape(shape[0], -1)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-10)


def test_orthogonal_is_haar_distributed():
    # for a Haar-random orthogonal matrix every entry times sqrt(n) is close to N(0, 1)
    n = 60
    vals = np.concatenate([init.orthogonal_(ember.empty(n, n))._data.ravel() * math.sqrt(n)
                           for _ in range(10)])
    assert abs(vals.mean()) < 0.03 and abs(vals.std() - 1) < 0.03
    # without the sign fix the diagonal would be biased positive
    diag = np.concatenate([np.diag(init.orthogonal_(ember.empty(n, n))._data)
                           for _ in range(20)])
    assert abs(diag.mean()) * math.sqrt(n) < 0.15


def test_sparse():
    t = init.sparse_(ember.empty(20, 30), sparsity=0.3, std=0.5)
    zeros = (t._data == 0).sum(0)
    assert np.all(zeros == math.ceil(0.3 * 20))
    nz = t._data[t._data != 0]
    assert abs(nz.std() - 0.5) < 0.08


def test_seeded_initialisation_is_reproducible():
    def draw():
        ember.manual_seed(7)
        return (init.kaiming_uniform_(ember.empty(5, 4))._data.copy(),
                init.trunc_normal_(ember.empty(8))._data.copy(),
                ember.nn.Linear(3, 2).weight._data.copy())
    for x, y in zip(draw(), draw()):
        np.testing.assert_array_equal(x, y)
    g1, g2 = ember.Generator().manual_seed(3), ember.Generator().manual_seed(3)
    np.testing.assert_array_equal(init.normal_(ember.empty(6), generator=g1)._data,
                                  init.normal_(ember.empty(6), generator=g2)._data)


def test_other_dtypes():
    for dtype in (ember.float64, ember.float16):
        t = init.xavier_normal_(ember.empty(50, 40, dtype=dtype))
        assert t.dtype == dtype and np.isfinite(t._data).all() and t._data.std() > 0


def test_deprecated_names_warn_and_work():
    def fn(T):
        i = T.nn.init
        return (i.constant(T.empty(2), 0.5), i.eye(T.empty(2, 3)),
                i.dirac(T.empty(2, 2, 3)).sum(), i.uniform(T.empty(3)).shape,
                i.normal(T.empty(3)).shape, i.xavier_uniform(T.empty(2, 3)).shape,
                i.xavier_normal(T.empty(2, 3)).shape, i.kaiming_uniform(T.empty(2, 3)).shape,
                i.kaiming_normal(T.empty(2, 3)).shape, i.orthogonal(T.empty(2, 3)).shape,
                i.sparse(T.empty(4, 3), 0.5).shape, i.constant.__name__)
    same(fn)
