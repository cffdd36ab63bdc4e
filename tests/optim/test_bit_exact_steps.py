"""Adam, AdamW and SGD: the array path (ember/optim/_kernels.py) computes bit for bit what the
ember-op path computes, and both follow ``torch.optim``: the parameters, every state tensor
(``step``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``, ``momentum_buffer``) and how far
each step moves the parameters' version counters.

NOTE: against PyTorch the values are compared to a few float32 ulps, not bit for bit: PyTorch's
CPU kernels fuse multiply-adds (``add(alpha=)``, ``lerp``, ``addcmul``: one rounding where
ember's NumPy arithmetic rounds twice), so single ops already differ in the last bit. The
version counters, state keys, dtypes and step counts must match exactly.

The gradients are set directly (the same arrays on both sides), so the only arithmetic compared
is the optimizers' own; 20 steps give the running averages time to drift apart.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.optim import _kernels

torch = pytest.importorskip("torch")

STEPS = 20


@pytest.fixture(autouse=True)
def _fused_moments(monkeypatch):
    # the op path's lerp_/addcmul_ round once in float32 (as PyTorch's kernels); the array path
    # does so only with FUSE_MOMENTS (off by default for speed: NOTE [fused moments])
    monkeypatch.setattr(_kernels, "FUSE_MOMENTS", True)
SHAPES = [(5, 3), (7,), (2, 3, 4), ()]


def _arrays(seed, dtype):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _run(T, name, kwargs, dtype, hook=None):
    """Parameters, state tensors and version deltas after each step, as NumPy arrays."""
    params = [T.tensor(a, requires_grad=True) for a in _arrays(0, dtype)]
    opt = getattr(T.optim, name)(params, **kwargs)
    history = []
    for i in range(STEPS):
        for p, g in zip(params, _arrays(100 + i, dtype)):
            # a gradient of zeros now and then: zero moments, denominators down to eps
            p.grad = T.tensor(g * (i % 7 != 3))
        before = [p._version for p in params]
        if hook is not None:
            with hook(T):
                opt.step()
        else:
            opt.step()
        deltas = [p._version - b for p, b in zip(params, before)]
        state = [{k: np.array(v.detach().numpy() if isinstance(v, T.Tensor) else v)
                  for k, v in opt.state[p].items()} for p in params]
        history.append(([p.detach().numpy().copy() for p in params], state, deltas))
    return history


def _assert_same(ours, theirs, exact=True):
    def check(a, b, what):
        assert a.dtype == b.dtype, what
        if exact or what == "step":
            np.testing.assert_array_equal(a, b, err_msg=what)
        else:
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-7, err_msg=what)

    assert len(ours) == len(theirs) == STEPS
    for step, ((p1, s1, v1), (p2, s2, v2)) in enumerate(zip(ours, theirs), 1):
        for a, b in zip(p1, p2):
            check(a, b, f"parameter after step {step}")
        for a, b in zip(s1, s2):
            assert sorted(a) == sorted(b)
            for key in a:
                check(a[key], b[key], key if key == "step" else f"{key} after step {step}")
        assert v1 == v2, f"version counter deltas after step {step}"


def _op_path(T, name, kwargs, dtype, hook=None):
    """``_run`` with the array path switched off: every update in ember ops."""
    _kernels.FAST = False
    try:
        return _run(T, name, kwargs, dtype, hook)
    finally:
        _kernels.FAST = True


CASES = [
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.6), "maximize": True}),  # lerp's other formula
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 1}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "maximize": True}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "nesterov": True, "maximize": True}),
    ("SGD", {"lr": 1, "momentum": 1, "dampening": 1}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kwargs"), CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_array_path_matches_the_op_path_bit_for_bit(name, kwargs, dtype):
    _assert_same(_run(ember, name, kwargs, dtype), _op_path(ember, name, kwargs, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kwargs"), CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_steps_match_torch(name, kwargs, dtype):
    _assert_same(_run(ember, name, kwargs, dtype), _run(torch, name, kwargs, dtype),
                 exact=False)


@pytest.mark.parametrize(("name", "kwargs"), [CASES[4], CASES[9], CASES[15]],
                         ids=["Adam", "AdamW", "SGD"])
def test_steps_under_anomaly_mode_match_too(name, kwargs):
    # a mode that intercepts ember's in-place machinery: the step must still compute the same
    def hook(T):
        return T.autograd.set_detect_anomaly(True)
    _assert_same(_run(ember, name, kwargs, np.float32, hook),
                 _op_path(ember, name, kwargs, np.float32))


def test_tensor_lr_takes_the_array_path_bit_for_bit():
    for name in ("Adam", "AdamW", "SGD"):
        kwargs = {"lr": ember.tensor(0.03), "momentum": 0.9} if name == "SGD" else \
            {"lr": ember.tensor(0.03)}
        _assert_same(_run(ember, name, kwargs, np.float32),
                     _op_path(ember, name, kwargs, np.float32))


def test_step_count_stays_a_float32_scalar_tensor():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.Adam([w], lr=0.1)
    for _ in range(3):
        w.grad = ember.tensor([0.5, -0.5])
        opt.step()
    step = opt.state[w]["step"]
    assert type(step) is ember.Tensor and step.dtype == ember.float32 and step.dim() == 0
    assert step.item() == 3.0 and not step.requires_grad


def test_zero_grad_bumps_the_gradient_version_like_torch():
    def run(T):
        w = T.tensor([1.0, 2.0], requires_grad=True)
        opt = T.optim.SGD([w], lr=0.1)
        w.grad = T.tensor([3.0, 4.0])
        g = w.grad
        before = g._version
        opt.zero_grad(set_to_none=False)
        after = g._version - before
        kept = w.grad is g
        opt.zero_grad()
        return after, kept, g.tolist(), w.grad is None
    assert run(ember) == run(torch)


def test_the_profiler_still_sees_the_steps_ops():
    # while a mode intercepts ember's ops the step runs them, so the profiler records them
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.Adam([w], lr=0.1)
    w.grad = ember.tensor([0.5, -0.5])
    opt.step()
    with ember.profiler.profile() as prof:
        opt.step()
    names = {e.name for e in prof.events()}
    assert {"aten::lerp_", "aten::addcmul_", "aten::addcdiv_"} <= names
    assert _kernels.usable()
