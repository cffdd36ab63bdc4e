"""ember's numbers against PyTorch's, bit for bit, where PyTorch's formula is known and cheap.

Long training loops amplify one-ulp differences into different printed losses, so these tests
assert exact equality with PyTorch (CPU) on thousands of random values per dtype. Where
PyTorch's CPU result comes from a vectorised libm replacement (SLEEF's pow, within an ulp), the
test asserts ember's result is correctly rounded and agrees with PyTorch almost everywhere.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

FLOATS = [(ember.float32, torch.float32), (ember.float64, torch.float64)]


@pytest.fixture(autouse=True)
def _fused_arithmetic(monkeypatch):
    # bit for bit needs PyTorch's single roundings (opt-in: NOTE [fused arithmetic is opt-in])
    from ember import _fma

    monkeypatch.setattr(_fma, "_ENABLED", True)


def _values(n, dtype, seed=0, scale=3.0, positive=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * scale
    if positive:
        x = np.abs(x) + 1e-3
    return x.astype(np.dtype(dtype))


def _differ(a, b):
    """How many elements of ``a`` and ``b`` differ (NaN equals NaN; -0.0 differs from 0.0)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    both_nan = np.isnan(a) & np.isnan(b)
    same = (a == b) & (np.signbit(a) == np.signbit(b))
    return int(np.count_nonzero(~(same | both_nan)))


def _np(t):
    return t.detach().numpy()


def _same_or_ulp(got, want, g=None):
    """Bitwise equal; for float64 with ``g`` given, ``g * (1 - y*y)`` computed rounding
    ``1 - y*y`` twice on purpose (an exact fused multiply-add costs ~6x the op): the rounded
    square is off by up to 2**-54, the same as the rounding of ``y`` itself (tanh's output),
    plus a few ulps of the result."""
    got, want = np.asarray(got), np.asarray(want)
    if g is not None and got.dtype == np.float64:
        assert (np.abs(got - want) <= 2 * np.spacing(np.abs(want)) + np.abs(g) * 2.0 ** -54).all()
    else:
        assert _differ(got, want) == 0


# ---- pow with a scalar exponent -----------------------------------------------------------

@pytest.mark.parametrize("et,tt", FLOATS)
@pytest.mark.parametrize("e", [2, 3, -1, -2, -0.5, 2.0, 3.0])
def test_pow_small_exponents_bitwise(et, tt, e):
    x = _values(5000, et.numpy_dtype if hasattr(et, "numpy_dtype") else _npdt(et))
    x[::7] = np.abs(x[::7])  # -0.5 gives NaN for negatives; keep both
    got = _np(ember.tensor(x) ** e)
    want = (torch.tensor(x) ** e).numpy()
    assert _differ(got, want) == 0


def _npdt(et):
    return ember.tensor([], dtype=et).numpy().dtype


@pytest.mark.parametrize("et", [ember.float32, ember.float64])
def test_pow_fourth_is_correctly_rounded(et):
    # PyTorch computes x ** 4 with pow (within an ulp); squaring twice rounds twice and gave
    # another result for half the values.
    dt = _npdt(et)
    x = _values(3000, dt, seed=1)
    got = _np(ember.tensor(x) ** 4)
    exact = np.array([float(Fraction(float(v)) ** 4) for v in x]).astype(dt)
    if dt == np.float64:
        # squared twice on purpose (an exact square costs 8-20x): three half-ulp roundings
        assert (np.abs(got - exact) <= 2 * np.spacing(np.abs(exact))).all()
        return
    assert _differ(got, exact) == 0
    want = (torch.tensor(x) ** 4).numpy()
    assert _differ(got, want) < 0.03 * x.size
    # PyTorch's scalar path (short tensors) is libm's pow, correctly rounded here
    assert _differ(_np(ember.tensor(x[:5]) ** 4), (torch.tensor(x[:5]) ** 4).numpy()) == 0


def test_pow_zero_dim_tensors():
    for e in (3, 4, -1, -2, -0.5):
        for dt in (ember.float32, ember.float64):
            got = ember.tensor(2.0, dtype=dt) ** e
            assert got.shape == () and got.dtype == dt
            assert got.item() == 2.0 ** e or abs(got.item() - 2.0 ** e) < 1e-7


@pytest.mark.parametrize("et,tt", FLOATS)
# (other exponents need pow(x, e - 1), which PyTorch takes from SLEEF)
@pytest.mark.parametrize("e", [2, 3, 4, 0.5, -1])
def test_pow_backward_bitwise(et, tt, e):
    x = _values(4000, _npdt(et), seed=2, positive=True)
    g = _values(4000, _npdt(et), seed=3)
    a = ember.tensor(x, requires_grad=True)
    (a ** e).backward(ember.tensor(g))
    b = torch.tensor(x, requires_grad=True)
    (b ** e).backward(torch.tensor(g))
    assert _differ(_np(a.grad), b.grad.numpy()) == 0


# ---- activation backward formulas --------------------------------------------------------

@pytest.mark.parametrize("dt", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("fn", ["tanh", "sigmoid"])
@pytest.mark.parametrize("n", [1, 7, 5000])
def test_tanh_sigmoid_backward_bitwise(dt, fn, n):
    # tanh: g * fma(-y, y, 1) (1 - y*y rounded once); sigmoid: (g * (1 - y)) * y. Given the
    # same forward result (PyTorch's vectorised tanh/sigmoid forwards are SLEEF's).
    y = np.tanh(_values(n, dt, seed=4, scale=1.5))
    if fn == "sigmoid":
        y = (y + 1) / 2
    g = _values(n, dt, seed=5)
    got = getattr(ember.ops.unary, f"{fn}_backward")(ember.tensor(g), ember.tensor(y))
    want = getattr(torch.ops.aten, f"{fn}_backward")(torch.tensor(g), torch.tensor(y))
    _same_or_ulp(_np(got), want.numpy(), g if fn == "tanh" else None)
    if n == 1:  # 0-d
        got = getattr(ember.ops.unary, f"{fn}_backward")(ember.tensor(g[0]), ember.tensor(y[0]))
        want = getattr(torch.ops.aten, f"{fn}_backward")(torch.tensor(g[0]), torch.tensor(y[0]))
        assert got.shape == ()
        _same_or_ulp(_np(got), want.numpy(), g[0] if fn == "tanh" else None)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_tanh_backward_through_autograd(dt):
    x = _values(3000, dt, seed=6)
    g = _values(3000, dt, seed=7)
    a = ember.tensor(x, requires_grad=True)
    y = a.tanh()
    y.backward(ember.tensor(g))
    want = torch.ops.aten.tanh_backward(torch.tensor(g), torch.tensor(_np(y)))
    _same_or_ulp(_np(a.grad), want.numpy(), g)


# ---- fused multiply-adds: add/sub with alpha, lerp, addcmul; addcdiv's order -----------------

def _fused_build():
    from ember import _rng_kernels

    if torch.backends.cpu.get_cpu_capability() == "DEFAULT" or \
            _rng_kernels.capability() != "AVX2":
        pytest.skip("PyTorch's DEFAULT build does not fuse multiply-adds")


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_alpha_lerp_addcmul_addcdiv_bitwise(dt):
    # NOTE [fused alpha]: float32 rounds a*b + c once, as PyTorch's AVX2 kernels; float64
    # rounds twice on purpose (so only addcdiv, whose order (value * t1) / t2 costs nothing, is
    # compared there)
    _fused_build()
    x, y, z = (_values(4099, np.float32, seed=s) for s in (11, 12, 13))
    w = np.abs(_values(4099, np.float32, seed=14)) % 1

    def fn(L):
        d = getattr(L, dt)
        a, b, c, wt = (L.tensor(v).to(d) for v in (x, y, z, w))
        out = {"addcdiv": L.addcdiv(a, b, c, value=0.3),
               "addcdiv_": a.clone().addcdiv_(b, c, value=-0.7)}
        if dt != "float64":
            out.update({
                "add": L.add(a, b, alpha=0.1), "sub": L.sub(a, b, alpha=0.3),
                "add_": a.clone().add_(b, alpha=-0.01), "sub_": a.clone().sub_(b, alpha=2.5),
                "lerp.1": L.lerp(a, b, 0.1), "lerp.9": L.lerp(a, b, 0.9),
                "lerp_w": L.lerp(a, b, wt), "lerp_": a.clone().lerp_(b, 0.25),
                "addcmul": L.addcmul(a, b, c, value=0.1), "addcmul_": a.clone().addcmul_(b, c)})
        return {k: v.float().numpy() for k, v in out.items()}

    ours, theirs = fn(ember), fn(torch)
    for k in theirs:
        assert _differ(ours[k], theirs[k]) == 0, k


# ---- linspace -----------------------------------------------------------------------------

@pytest.mark.parametrize("et,tt", FLOATS + [(ember.int64, torch.int64), (ember.int32, torch.int32)])
def test_linspace_bitwise(et, tt):
    rng = np.random.default_rng(8)
    total = 0
    for trial in range(60):
        start, end = rng.standard_normal(2) * 10.0 ** rng.integers(-2, 4)
        steps = int(rng.integers(0, 3000)) if trial else 2000
        start, end = float(start), float(end)
        got = _np(ember.linspace(start, end, steps, dtype=et))
        want = torch.linspace(start, end, steps, dtype=tt).numpy()
        assert got.dtype == want.dtype
        total += _differ(got, want)
    assert total == 0


def test_linspace_default_dtype_and_tensor_ends():
    got = ember.linspace(ember.tensor(-1.25), ember.tensor(3.5), 2000)
    want = torch.linspace(torch.tensor(-1.25), torch.tensor(3.5), 2000)
    assert _differ(_np(got), want.numpy()) == 0


# ---- erf and GELU without SciPy ----------------------------------------------------------

def _ulps(a, b):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return np.abs(a64 - b64) / np.spacing(np.abs(b)).astype(np.float64)


@pytest.mark.parametrize("dt,tol", [(np.float64, 3), (np.float32, 1)])
def test_erf_matches_pytorch_within_ulps(dt, tol):
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.standard_normal(20000) * 2, rng.uniform(-7, 7, 5000),
                        [0.0, -0.0, 1.5, -2.5, 6.0, np.inf, -np.inf, 1e-300]]).astype(dt)
    got = _np(ember.erf(ember.tensor(x)))
    want = torch.erf(torch.tensor(x)).numpy()
    assert got.dtype == want.dtype
    assert np.all(_ulps(got, want) <= tol)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    assert np.isnan(_np(ember.erf(ember.tensor([np.nan], dtype=ember.float32)))).all()


def test_erf_accuracy_against_libm():
    import math

    x = np.random.default_rng(10).uniform(-6.5, 6.5, 20000)
    got = _np(ember.erf(ember.tensor(x)))
    exact = np.array([math.erf(v) for v in x])
    assert np.max(_ulps(got, exact)) <= 3


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float64_close_to_pytorch(approximate):
    x = _values(5000, np.float64, seed=11)
    got = _np(ember.nn.functional.gelu(ember.tensor(x), approximate=approximate))
    want = torch.nn.functional.gelu(torch.tensor(x), approximate=approximate).numpy()
    # (absolute: 1 + erf cancels in the left tail, amplifying erf's last-bit differences)
    assert np.max(np.abs(got - want) / np.maximum(np.abs(x), 1)) < 4e-16


def test_erf_and_gelu_import_no_scipy():
    import subprocess
    import sys

    code = ("import sys, ember\n"
            "x = ember.linspace(-8, 8, 1001)\n"
            "ember.erf(x); ember.nn.functional.gelu(x)\n"
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_missing_scipy_is_looked_for_once(monkeypatch):
    import sys

    from ember.ops import special

    monkeypatch.setattr(special, "_SCIPY", [])
    monkeypatch.setitem(sys.modules, "scipy.special", None)  # import fails
    assert special._scipy() is None
    monkeypatch.delitem(sys.modules, "scipy.special")
    assert special._scipy() is None  # remembered, not imported again


# ---- saved_tensors_hooks: PyTorch's pack order ------------------------------------------

_PACKED_OPS = {
    "mul": lambda m, a, b, c: a * b, "div": lambda m, a, b, c: a / b,
    "pow": lambda m, a, b, c: a ** b, "mm": lambda m, a, b, c: m.mm(b, c),
    "bmm": lambda m, a, b, c: m.bmm(b[None], c[None]), "atan2": lambda m, a, b, c: m.atan2(a, b),
    "lerp": lambda m, a, b, c: m.lerp(a, b, c), "maximum": lambda m, a, b, c: m.maximum(a, b),
    "minimum": lambda m, a, b, c: m.minimum(a, b), "fmax": lambda m, a, b, c: m.fmax(a, b),
    "fmin": lambda m, a, b, c: m.fmin(a, b), "hypot": lambda m, a, b, c: m.hypot(a, b),
    "xlogy": lambda m, a, b, c: m.xlogy(a, b), "remainder": lambda m, a, b, c: m.remainder(a, b),
    "fmod": lambda m, a, b, c: m.fmod(a, b), "logaddexp": lambda m, a, b, c: m.logaddexp(a, b),
    "logaddexp2": lambda m, a, b, c: m.logaddexp2(a, b),
    "clamp": lambda m, a, b, c: m.clamp(b, a, c.sum()), "dist": lambda m, a, b, c: m.dist(a, b),
    "linear": lambda m, a, b, c: m.nn.functional.linear(c, b.expand(3, 4) * 1.0),
}


def _packs(mod, fn):
    log = []

    def pack(t):
        log.append(tuple(t.shape))
        return ("packed", t)

    a = mod.full((1, 1), 1.5, requires_grad=True)
    b = mod.full((3, 1), 2.0, requires_grad=True)
    c = mod.full((1, 4), 0.5, requires_grad=True)
    with mod.autograd.graph.saved_tensors_hooks(pack, lambda p: p[1]):
        y = fn(mod, a, b, c)
    y.sum().backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in (a, b, c)]
    return log, grads


@pytest.mark.parametrize("name", sorted(_PACKED_OPS))
def test_saved_tensors_hooks_pack_order(name):
    got, got_grads = _packs(ember, _PACKED_OPS[name])
    want, want_grads = _packs(torch, _PACKED_OPS[name])
    assert got == want
    for g, w in zip(got_grads, want_grads):
        assert (g is None) == (w is None)
        if g is not None:
            np.testing.assert_allclose(g, w, rtol=1e-6)
