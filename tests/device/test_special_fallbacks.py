"""The special functions' NumPy fallbacks (no SciPy: ``special._scipy`` patched to None) on
``cuda`` (the device checker without a GPU): each gives the CPU fallback's values bit for bit
and its gradient, on the device, over arguments that reach every branch (series, asymptotic
expansions, reflections, poles, infinities, NaN). The SciPy path is the op sweep's
(test_op_sweep.py)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.ops import special as special_ops

RNG = np.random.default_rng(0)
INF, NAN = float("inf"), float("nan")
REAL = np.r_[RNG.uniform(-40, 40, 40), RNG.uniform(-4, 4, 30), 0.0, -0.0, 1.0, 2.0, -2.5, 19.99,
             20.0, 25.5, 30.0, INF, -INF, NAN]
UNIT = np.r_[RNG.uniform(0, 1, 30), 0.0, 1.0, 1e-30, 1 - 1e-12, 0.5, -0.5]
POS = np.r_[RNG.uniform(0.01, 40, 40), 0.0, 1.0, 0.5, INF]

UNARY = {
    "erf": (lambda T, x: T.erf(x), REAL),
    "erfc": (lambda T, x: T.erfc(x), REAL),
    "erfinv": (lambda T, x: T.erfinv(x), UNIT * 2 - 1),
    "ndtri": (lambda T, x: T.special.ndtri(x), UNIT),
    "log_ndtr": (lambda T, x: T.special.log_ndtr(x), REAL),
    "erfcx": (lambda T, x: T.special.erfcx(x), REAL),
    "i0": (lambda T, x: T.special.i0(x), REAL),
    "i0e": (lambda T, x: T.special.i0e(x), REAL),
    "i1": (lambda T, x: T.special.i1(x), REAL),
    "i1e": (lambda T, x: T.special.i1e(x), REAL),
    "lgamma": (lambda T, x: T.lgamma(x), REAL),
    "digamma": (lambda T, x: T.digamma(x), REAL),
    "polygamma_1": (lambda T, x: T.polygamma(1, x), REAL),
    "polygamma_3": (lambda T, x: T.polygamma(3, x), REAL),
    "mvlgamma": (lambda T, x: T.mvlgamma(x, 3), POS + 1),
}
NOGRAD = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_k0",
          "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
          "airy_ai", "modified_bessel_i0", "modified_bessel_i1"]
BINARY = {
    "igamma": (lambda T, a, x: T.igamma(a, x), POS, POS[::-1]),
    "igammac": (lambda T, a, x: T.igammac(a, x), POS, POS[::-1]),
    # (s = inf is left out: the fallback's shift to the asymptotic range needs a finite s)
    "zeta": (lambda T, s, q: T.special.zeta(s, q), POS[:-1] + 1, REAL[:len(POS) - 1]),
    "zeta_scalar_q": (lambda T, s: T.special.zeta(s, 2.5), POS[:-1] + 1, None),
}


@pytest.fixture(autouse=True)
def _no_scipy(monkeypatch):
    monkeypatch.setattr(special_ops, "_scipy", lambda: None)


def _same(cpu, dev, what):
    assert dev.device == ember.device("cuda", 0), f"{what}: on {dev.device}"
    assert dev.dtype == cpu.dtype, what
    got, want = dev.detach().cpu().numpy(), cpu.detach().numpy()
    assert np.array_equal(got, want, equal_nan=True), f"{what}: values differ from the CPU's"


def _compare(fn, arrays, dtype, grad):
    def inputs(device):
        # (the gradient is the last input's: igamma has none for its first, PyTorch's error)
        return [ember.tensor(a, dtype=dtype, device=device).requires_grad_(
                    grad and k == len(arrays) - 1) for k, a in enumerate(arrays)]
    cpu_in, dev_in = inputs("cpu"), inputs("cuda")
    cpu, dev = fn(ember, *cpu_in), fn(ember, *dev_in)
    _same(cpu, dev, "output")
    if grad:
        w = RNG.uniform(0.5, 1.5, size=tuple(cpu.shape))
        cpu_w = ember.tensor(w, dtype=dtype)
        cpu_g, = ember.autograd.grad((cpu * cpu_w).sum(), [cpu_in[-1]])
        dev_g, = ember.autograd.grad((dev * cpu_w.to("cuda")).sum(), [dev_in[-1]])
        _same(cpu_g, dev_g, "gradient")


@pytest.mark.parametrize("dtype", [ember.float64, ember.float32])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_fallback_on_device(name, dtype):
    fn, x = UNARY[name]
    _compare(fn, [x], dtype, grad=dtype is ember.float64)


@pytest.mark.parametrize("name", NOGRAD)
def test_no_gradient_fallback_on_device(name):
    _compare(lambda T, x: getattr(T.special, name)(x), [REAL], ember.float64, grad=False)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_fallback_on_device(name):
    fn, a, b = BINARY[name]
    arrays = [a] if b is None else [a, b]
    _compare(fn, arrays, ember.float64, grad=name.startswith("igamma"))


def test_zeta_number_first_fallback_on_device():
    """A number as zeta's first argument meets the tensor on its device."""
    def run(device):
        q = ember.tensor(POS, dtype=ember.float64, device=device)
        return ember.special.zeta(3.0, q)
    _same(run("cpu"), run("cuda"), "output")
