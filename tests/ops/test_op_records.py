"""Tests generated from tests/opinfo.py, one record per op:

- float64 finite-difference checks of first and second derivatives (ember's own gradcheck);
- a float64 finite-difference check of the forward-mode (JVP) rules, run over the recorded
  graph (``graph_jvp``);
- oracle comparison with PyTorch (skipped without it): output values, dtype, shape,
  requires_grad and grad_fn name, and the gradients of a weighted sum of the outputs, in
  float32 and float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck

from ..opinfo import RECORDS

CASES = [(rec, i) for rec in RECORDS for i, _ in enumerate(rec.samples(np.random.default_rng(0)))]
IDS = [f"{rec.name}-{i}" for rec, i in CASES]


def _sample(rec, i):
    return list(rec.samples(np.random.default_rng(0)))[i]


def _args(module, rec, sample, dtype_name):
    return [_to(module, a, dtype_name, k not in rec.nondiff) for k, a in enumerate(sample)]


def _to(module, arg, dtype_name, requires_grad=True):
    if isinstance(arg, np.ndarray):
        if arg.dtype.kind == "f":
            t = module.tensor(arg, dtype=getattr(module, dtype_name))
            return t.requires_grad_(requires_grad)
        return module.tensor(arg)
    return arg


def _known_gap(request, rec, check):
    """Mark a test a strict xfail when its record lists the check as a known gap."""
    reason = rec.xfail.get(check)
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


@pytest.mark.parametrize("rec,i", CASES, ids=IDS)
def test_gradcheck(rec, i, request):
    if not rec.gradcheck:
        pytest.skip("op has no gradient")
    _known_gap(request, rec, "gradcheck")
    args = _args(ember, rec, _sample(rec, i), "float64")
    assert gradcheck(lambda *xs: rec.fn(ember, *xs), args)


@pytest.mark.parametrize("rec,i", CASES, ids=IDS)
def test_gradgradcheck(rec, i, request):
    if not (rec.gradcheck and rec.second_order):
        pytest.skip("op is not twice differentiable")
    _known_gap(request, rec, "gradgradcheck")
    args = _args(ember, rec, _sample(rec, i), "float64")
    assert gradgradcheck(lambda *xs: rec.fn(ember, *xs), args, atol=1e-4)


@pytest.mark.parametrize("rec,i", CASES, ids=IDS)
def test_jvp(rec, i, request):
    if not rec.gradcheck:
        pytest.skip("op has no gradient")
    _known_gap(request, rec, "jvp")
    from ember.autograd.graph_jvp import graph_jvp

    args = _args(ember, rec, _sample(rec, i), "float64")
    diff = [a for a in args if isinstance(a, ember.Tensor) and a.requires_grad]
    rng = np.random.default_rng(2)
    tangents = [ember.tensor(rng.standard_normal(a.shape)) for a in diff]
    out = rec.fn(ember, *args)
    outs = out if isinstance(out, tuple) else (out,)
    outs = [o for o in outs if o.requires_grad]
    got = graph_jvp(tuple(outs), tuple(diff), tuple(tangents))
    eps = 1e-6

    def shifted(sign):
        with ember.no_grad():
            moved = iter([ember.tensor(a._data + sign * eps * t._data) for a, t in
                          zip(diff, tangents)])
            call = [next(moved) if isinstance(a, ember.Tensor) and a.requires_grad else a
                    for a in args]
            res = rec.fn(ember, *call)
        res = res if isinstance(res, tuple) else (res,)
        return [r for r, o in zip(res, (out if isinstance(out, tuple) else (out,)))
                if o.requires_grad]

    plus, minus = shifted(1), shifted(-1)
    for g, p, m in zip(got, plus, minus):
        numeric = (p._data.astype(np.float64) - m._data.astype(np.float64)) / (2 * eps)
        np.testing.assert_allclose(g._data, numeric, rtol=1e-4, atol=1e-5)


def _run(module, rec, args):
    out = rec.fn(module, *args)
    outs = out if isinstance(out, tuple) else (out,)
    grads = None
    diff = [a for a in args if isinstance(a, module.Tensor) and a.requires_grad]
    diff_outs = [o for o in outs if o.requires_grad]
    if diff and diff_outs:
        rng = np.random.default_rng(1)
        weights = [module.tensor(rng.uniform(0.5, 1.5, size=tuple(o.shape)), dtype=o.dtype)
                   for o in diff_outs]
        total = sum((o * w).sum() for o, w in zip(diff_outs, weights))
        grads = module.autograd.grad(total, diff, allow_unused=True)
    return outs, grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rec,i", CASES, ids=IDS)
def test_matches_pytorch(rec, i, dtype, request):
    torch = pytest.importorskip("torch")
    _known_gap(request, rec, "value")
    from ..oracle import assert_same, describe

    sample = _sample(rec, i)
    mine = _run(ember, rec, _args(ember, rec, sample, dtype))
    ref = _run(torch, rec, _args(torch, rec, sample, dtype))
    tol = dict(rtol=rec.rtol32, atol=rec.atol32) if dtype == "float32" else \
        dict(rtol=1e-7, atol=1e-9)
    assert_same(describe(mine[0]), describe(ref[0]), path="output", **tol)
    if ref[1] is not None or mine[1] is not None:
        assert_same(describe(mine[1]), describe(ref[1]), path="grads", **tol)
