"""NumPy fallbacks of the differentiable special functions (erf, erfc, erfcx, erfinv, ndtri,
log_ndtr, lgamma, digamma, polygamma, zeta, the incomplete gamma functions, the modified
Bessel functions I0/I1): what ``special`` computes with when SciPy is not installed.

Contract: each takes and returns float64 arrays, is accurate to ~1e-13 relative or better on
the tested ranges (NOTE [special-function fallbacks]) and gives PyTorch's values at poles and
infinities; pure NumPy, no autograd (the ops, their rules and the SciPy-or-fallback dispatch
live in ``special``). Written with NumPy's API on the arrays given (no host buffers), so they
run on a device's arrays too (CuPy's), where the device lacks SciPy.
"""

from __future__ import annotations

import math

import numpy as np

_SQRT_PI = math.sqrt(math.pi)


# ==== NumPy fallbacks ======================================================================
# NOTE [special-function fallbacks]: each takes and returns float64 arrays and is accurate to
# a few float64 ulps on the tested ranges; loops run over series terms or recurrence steps
# (a fixed, small count), never over elements.
# - erf: the all-positive series erf(x) = 2/sqrt(pi) exp(-x^2) sum (2x^2)^n x / (2n+1)!! for
#   |x| < 2 (no cancellation), and the continued fraction of erfc beyond it.
# - erfinv: Giles' single-precision approximation, then Newton steps on erf (erfc in the
#   tails, where 1 - |y| is exact).
# - lgamma / digamma / polygamma: the recurrence up to x >= 12, then the asymptotic (Stirling,
#   Bernoulli) series; the reflection formula for x < 0.5 (lgamma, digamma).

_ERF_SPLIT = 2.0
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _erf_series(x):
    t2 = 2.0 * x * x
    term = x.copy()
    total = x.copy()
    for n in range(1, 80):
        term *= t2 / (2 * n + 1)
        total += term
    return total * np.exp(-x * x) * (2.0 / _SQRT_PI)


def _erfc_cf(x):
    """erfc(x) for x >= _ERF_SPLIT: the continued fraction, evaluated from its tail."""
    k = x.copy()
    for n in range(120, 0, -1):
        k = x + (n / 2.0) / k
    return np.exp(-x * x) / (_SQRT_PI * k)


def _erf_fallback(x):
    ax = np.abs(x)
    small = ax < _ERF_SPLIT
    out = np.empty_like(x)
    out[small] = _erf_series(x[small])
    big = ~small
    out[big] = np.sign(x[big]) * (1.0 - _erfc_cf(np.minimum(ax[big], 30.0)))
    out[np.isnan(x)] = np.nan
    return out


def _erfc_fallback(x):
    out = np.empty_like(x)
    hi = x >= _ERF_SPLIT
    lo = x <= -_ERF_SPLIT
    mid = ~(hi | lo)
    out[mid] = 1.0 - _erf_series(x[mid])
    out[hi] = _erfc_cf(np.minimum(x[hi], 30.0))
    out[hi & (x > 27.3)] = 0.0
    out[lo] = 2.0 - _erfc_cf(np.minimum(-x[lo], 30.0))
    out[np.isnan(x)] = np.nan
    return out


def _erfcx_fallback(x):
    """exp(x^2) erfc(x): the continued fraction without its exp(-x^2) for x >= 2."""
    out = np.empty_like(x)
    hi = x >= _ERF_SPLIT
    k = x[hi].copy()
    for n in range(120, 0, -1):
        k = x[hi] + (n / 2.0) / k
    out[hi] = 1.0 / (_SQRT_PI * k)
    lo = ~hi
    with np.errstate(over="ignore", invalid="ignore"):
        out[lo] = np.exp(x[lo] * x[lo]) * _erfc_fallback(x[lo])
    out[np.isposinf(x)] = 0.0
    return out


def _erfinv_fallback(y, mass=None):
    """erfinv(y); ``mass`` is 1 - |y| when the caller knows it more exactly (ndtri)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if mass is None:
            mass = 1.0 - np.abs(y)
        w = -np.log(mass * (2.0 - mass))
        central = w < 5.0
        wc = w - 2.5
        p = np.full_like(y, 2.81022636e-08)
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
            p = c + p * wc
        wt = np.sqrt(w) - 3.0
        q = np.full_like(y, -0.000200214257)
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
            q = c + q * wt
        s = np.sign(y)
        x = np.where(central, p * y, q * s)
        # NOTE: Giles' tail polynomial is fitted for w < 36 (single precision); deeper in the
        # tail (ndtri of tiny p) start from the asymptote erfc(x) ~ exp(-x^2) / (x sqrt(pi)).
        wl = -np.log(mass)
        x = np.where(w > 36.0, s * np.sqrt(wl - 0.5 * np.log(np.pi * wl)), x)
        tail = mass < 0.5
        # NOTE: in the tails Newton runs on log erfc(|x|) = log(1 - |y|) (1 - |y| is exact
        # there, and the log makes the function nearly linear), where erf(x) - y would
        # cancel; erfcx keeps it free of underflow. Each part iterates on its own elements.
        xt, st, log_t = x[tail], s[tail], np.log(mass[tail])
        xc, yc = x[~tail], y[~tail]
        # NOTE: Giles' start is good to ~1e-7, so Newton's quadratic convergence needs two
        # steps; the tail keeps four for the deep-tail asymptotic start.
        for _ in range(2):
            xc = xc - (_erf_fallback(xc) - yc) / ((2.0 / _SQRT_PI) * np.exp(-xc * xc))
        for _ in range(4):
            ax = np.abs(xt)
            ecx = _erfcx_fallback(ax)
            xt = st * (ax + (np.log(ecx) - ax * ax - log_t) * ecx * (_SQRT_PI / 2.0))
        x = x.copy()
        x[tail] = xt
        x[~tail] = xc
    x = np.where(mass == 0.0, np.copysign(np.inf, y), x)
    return np.where((mass < 0) | np.isnan(y), np.nan, x)


def _ndtri_fallback(p):
    """The inverse of the normal CDF: -sqrt(2) erfcinv(2p), with 2 min(p, 1 - p) exact."""
    with np.errstate(invalid="ignore"):
        mass = 2.0 * np.minimum(p, 1.0 - p)
        return math.sqrt(2.0) * _erfinv_fallback(2.0 * p - 1.0, mass)


def _log_ndtr_fallback(x):
    out = np.empty_like(x)
    neg = x < 0
    xn = x[neg]
    with np.errstate(divide="ignore", over="ignore"):
        # NOTE: log(erfc(-x/sqrt2) / 2) written with erfcx: no underflow far in the left tail.
        out[neg] = np.log(0.5 * _erfcx_fallback(-xn / math.sqrt(2.0))) - 0.5 * xn * xn
    out[~neg] = np.log1p(-0.5 * _erfc_fallback(x[~neg] / math.sqrt(2.0)))
    return out


def _bessel_i_fallback(nu, x, scaled):
    """I_nu(x) for nu in (0, 1) (times exp(-|x|) when ``scaled``): the all-positive power
    series for |x| < 20, the asymptotic series beyond."""
    ax = np.abs(x)
    out = np.empty_like(x)
    small = ax < 20.0
    xs = ax[small]
    half = xs / 2.0
    term = half ** nu / math.factorial(nu)
    total = term.copy()
    q = half * half
    for k in range(1, 80):
        term = term * q / (k * (k + nu))
        total = total + term
    out[small] = total * np.exp(-xs) if scaled else total
    xb = ax[~small]
    series = np.ones_like(xb)
    term = np.ones_like(xb)
    mu = 4.0 * nu * nu
    for k in range(1, 30):
        term = term * -(mu - (2 * k - 1) ** 2) / (k * 8.0 * xb)
        series = series + term
    with np.errstate(over="ignore"):
        base = 1.0 / np.sqrt(2 * math.pi * xb)
        out[~small] = base * series * (1.0 if scaled else np.exp(xb))
    if nu == 1:
        out = np.sign(x) * out
    return out


_MAX_SHIFT = 10000


def _shift_up(x, step, limit=12.0):
    """Apply ``step(acc, z, mask)`` while ``z < limit`` (z += 1 each time): the recurrence
    that moves an argument into the asymptotic series' range.

    NOTE: a negative argument takes |x| steps (as in Cephes, which PyTorch uses); arguments
    below -_MAX_SHIFT are left short of ``limit`` and the caller gives them NaN."""
    z = x.copy()
    acc = np.zeros_like(x)
    finite = z[np.isfinite(z)]
    n = int(np.ceil(limit - max(finite.min(), -_MAX_SHIFT))) if finite.size else 0
    for _ in range(max(n, 0)):
        m = z < limit
        if not m.any():
            break
        step(acc, z, m)
        z[m] += 1.0
    return acc, z


_ZETA_TERMS = []  # (-1)^k zeta(k) / k for k = 2, 3, ...: lgamma's Taylor series at 1


def _lgamma_near_one(z):
    """lgamma(1 + z) for |z| <= 0.5: -euler z + sum (-1)^k zeta(k) / k z^k, accurate to ulps
    of the (small) result near the roots at 1 and 2, where the asymptotic form cancels."""
    if not _ZETA_TERMS:
        ks = np.arange(2, 60, dtype=np.float64)
        zeta = np.array([_zeta_fallback(int(k), np.ones(1))[0] for k in ks])
        _ZETA_TERMS.extend((-1.0) ** ks * zeta / ks)
    total = np.zeros_like(z)
    for c in reversed(_ZETA_TERMS):
        total = (total + c) * z
    return (total - 0.5772156649015329) * z


def _lgamma_pos(x):
    """lgamma for x >= 0.5."""
    near = x < 2.5
    if near.any():
        out = np.empty_like(x)
        xn = x[near]
        one = xn < 1.5
        # NOTE: on [1.5, 2.5), lgamma(x) = log(x - 1) + lgamma(x - 1): no cancellation at 2.
        out[near] = np.where(one, 0.0, np.log(np.where(one, 1.0, xn - 1.0))) + \
            _lgamma_near_one(np.where(one, xn - 1.0, xn - 2.0))
        out[~near] = _lgamma_pos(x[~near])
        return out
    prod = np.ones_like(x)

    def step(acc, z, m):
        prod[m] *= z[m]
    _, z = _shift_up(x, step)
    zi2 = 1.0 / (z * z)
    series = np.zeros_like(z)
    for k in range(len(_BERNOULLI) - 1, -1, -1):
        series = series * zi2 + _BERNOULLI[k] / ((2 * k + 2) * (2 * k + 1))
    with np.errstate(invalid="ignore"):
        return (z - 0.5) * np.log(z) - z + 0.5 * math.log(2 * math.pi) + series / z - np.log(prod)


def _lgamma_fallback(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        refl = x < 0.5
        out = np.empty_like(x)
        out[~refl] = _lgamma_pos(x[~refl])
        xr = x[refl]
        out[refl] = np.log(np.pi / np.abs(np.sin(np.pi * xr))) - _lgamma_pos(1.0 - xr)
    out[(x <= 0) & (x == np.floor(x))] = np.inf
    out[np.isinf(x)] = np.inf
    return out


def _digamma_pos(x):
    def step(acc, z, m):
        acc[m] -= 1.0 / z[m]
    acc, z = _shift_up(x, step)
    zi2 = 1.0 / (z * z)
    series = np.zeros_like(z)
    for k in range(len(_BERNOULLI) - 1, -1, -1):
        series = series * zi2 + _BERNOULLI[k] / (2 * k + 2)
    with np.errstate(invalid="ignore"):
        return acc + np.log(z) - 0.5 / z - series * zi2


def _digamma_fallback(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        refl = x < 0.5
        out = np.empty_like(x)
        out[~refl] = _digamma_pos(x[~refl])
        xr = x[refl]
        out[refl] = _digamma_pos(1.0 - xr) - np.pi / np.tan(np.pi * xr)
    out[(x < 0) & (x == np.floor(x))] = np.nan
    return out


def _zeta_fallback(s, q):
    """Hurwitz zeta(s, q) for s > 1 (one s for all q)."""
    def step(acc, z, m):
        acc[m] += z[m] ** -s
    # NOTE: the Euler-Maclaurin terms grow with s (rising factorials), so the shift goes to
    # z >= 12 + s, where they shrink at least ~(2 pi)^-2 per term.
    limit = 12.0 + s
    with np.errstate(divide="ignore", invalid="ignore"):
        acc, z = _shift_up(q, step, limit)
        total = acc + z ** (1.0 - s) / (s - 1.0) + 0.5 * z ** -s
        rising = float(s)  # s (s + 1) ... (s + 2j - 2)
        fact = 2.0  # (2j)!
        zpow = z ** (-s - 1.0)
        for j, b in enumerate(_BERNOULLI, start=1):
            total = total + b / fact * rising * zpow
            rising *= (s + 2 * j - 1) * (s + 2 * j)
            fact *= (2 * j + 1) * (2 * j + 2)
            zpow = zpow / (z * z)
    poles = (q <= 0) & (q == np.floor(q))
    total = np.where(z < limit, np.nan, total)
    if not float(s).is_integer():
        # NOTE: a negative q with a non-integer s has a complex (q + k)^-s: NaN.
        poles_nan = q < 0
        total = np.where(poles_nan, np.nan, total)
    return np.where(poles, np.inf, total)


def _polygamma_fallback(n, x):
    if n == 0:
        return _digamma_fallback(x)
    return (-1.0) ** (n + 1) * math.factorial(n) * _zeta_fallback(n + 1, x)


def _gammainc_fallback(a, x, upper):
    """Regularized incomplete gamma P(a, x) (Q when ``upper``): the series for x < a + 1, the
    continued fraction (modified Lentz) otherwise; prefactors in log space."""
    a, x = np.broadcast_arrays(a, x)
    out = np.full_like(a, np.nan, dtype=np.float64, order="C")
    with np.errstate(all="ignore"):
        ok = (a > 0) & (x > 0) & np.isfinite(a)
        ser = ok & (x < a + 1)
        cf = ok & ~ser
        av, xv = a[ser], x[ser]
        term = 1.0 / av
        total = term.copy()
        for n in range(1, 2000):
            term = term * xv / (av + n)
            total = total + term
            if np.all(np.abs(term) <= np.abs(total) * 1e-17):
                break
        p = total * np.exp(av * np.log(xv) - xv - _lgamma_fallback(av))
        out[ser] = 1.0 - p if upper else p
        av, xv = a[cf], x[cf]
        tiny = 1e-300
        b = xv + 1.0 - av
        c = np.full_like(b, 1.0 / tiny)
        d = 1.0 / b
        h = d.copy()
        for i in range(1, 2000):
            an = -i * (i - av)
            b = b + 2.0
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1.0 / d
            delta = d * c
            h = h * delta
            if np.all(np.abs(delta - 1.0) <= 1e-16):
                break
        q = h * np.exp(av * np.log(xv) - xv - _lgamma_fallback(av))
        out[cf] = q if upper else 1.0 - q
        # NOTE: the edges, as PyTorch: P(a, 0) = 0, P(0, x > 0) = 1, P(a, inf) = 1.
        lower = np.where(x == 0, 0.0, np.where((a == 0) | np.isposinf(x), 1.0, np.nan))
        edge = ((x == 0) & (a > 0)) | ((a == 0) & (x > 0)) | ((a > 0) & np.isposinf(x))
        out = np.where(edge, 1.0 - lower if upper else lower, out)
    return out
