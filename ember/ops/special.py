"""Special functions: erf/erfc/erfinv/erfcx, ndtr/ndtri/log_ndtr, lgamma/digamma/polygamma/
mvlgamma, igamma/igammac, zeta, i0/i0e/i1/i1e, logit, xlogy/xlog1py, entr. torch.special's
no-gradient functions (orthogonal polynomials, Bessel J/Y/K, Airy Ai) live in
``special_nograd``. ``ember.special`` publishes them under PyTorch's names.

Contract: PyTorch's signatures, values (including at poles and infinities), dtypes, node names
and errors; SciPy is used when installed (the ``scipy`` extra, imported lazily by ``_scipy``)
and a NumPy implementation otherwise, accurate to ~1e-13 relative or better (NOTE
[special-function fallbacks]); rules in ember ops, so any order of derivative works (erf' and
erfinv' are exponentials, lgamma' = digamma, digamma' = polygamma(1), polygamma(n)' =
polygamma(n + 1)), with elementwise forward-mode rules. The layout: the NumPy fallbacks, the
SciPy-or-fallback dispatch, then the ops family by family.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._jvp import elementwise
from ._registry import METHODS, float_data, node_class, record, recording, register, wrap
from .inplace import register_inplace
from .pointwise import _float_operands, _need, _scalar, mul_scalar, require_tensors
from .select import where
from .unary import unary_op

_SQRT_PI = math.sqrt(math.pi)


def _scipy():
    """``scipy.special`` when SciPy is installed, else None (tests patch this to force the
    NumPy fallbacks)."""
    try:
        import scipy.special as sp
    except ImportError:
        return None
    return sp


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
    out = np.full(a.shape, np.nan)
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


def _hurwitz_zeta_np(s, q):
    """Hurwitz zeta(s, q) for real s (PyTorch's: inf at s == 1, NaN for s < 1)."""
    sp = _scipy()
    with np.errstate(all="ignore"):
        if sp is not None:
            return np.asarray(sp.zeta(s, q), dtype=np.float64)
        s, q = np.broadcast_arrays(np.asarray(s, dtype=np.float64),
                                   np.asarray(q, dtype=np.float64))
        out = np.empty(s.shape)
        flat_s, flat_q = s.ravel(), q.ravel()
        res = out.ravel()
        for sv in np.unique(flat_s):
            m = flat_s == sv
            if sv == 1.0:
                res[m] = np.inf
            elif sv < 1.0 or np.isnan(sv):
                res[m] = np.nan
            else:
                res[m] = _zeta_fallback(sv, flat_q[m])
        return out


# ---- dispatch: SciPy or the fallback, in the input's dtype ----

def _special_np(scipy_name, fallback):
    def forward(a):
        sp = _scipy()
        if sp is not None:
            with np.errstate(all="ignore"):
                out = getattr(sp, scipy_name)(a)
        else:
            out = fallback(a.astype(np.float64))
        return np.asarray(out).astype(a.dtype, copy=False)
    return forward


def _check_full_float(kernel, a):
    """PyTorch's error for the kernels with no half/bfloat16 version (ndtri, zeta...)."""
    if a.dtype.kind == "V" or a.dtype.itemsize == 2:
        from .. import dtypes as _dt

        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{_dt.from_np(a.dtype).scalar_name}'")


def _full_float_only(kernel, forward):
    def checked(a):
        _check_full_float(kernel, a)
        return forward(a)
    return checked


def _digamma_np(a):
    sp = _scipy()
    if sp is not None:
        with np.errstate(all="ignore"):
            out = np.asarray(sp.psi(a), dtype=np.float64)
    else:
        out = _digamma_fallback(a.astype(np.float64))
    # NOTE: PyTorch's values at the poles: -inf at +0, +inf at -0 (the limits from the
    # right and the left), NaN at the negative integers.
    zero = a == 0
    if zero.any():
        out = np.where(zero, -np.copysign(np.inf, a), out)
    return out.astype(a.dtype, copy=False)


def _polygamma_np(n, a):
    if n == 0:
        return _digamma_np(a)
    sp = _scipy()
    if sp is not None:
        with np.errstate(all="ignore"):
            out = sp.polygamma(n, a)
    else:
        out = _polygamma_fallback(n, a.astype(np.float64))
    # NOTE: PyTorch's values at infinity: trigamma gives 0 at +inf and NaN at -inf; higher
    # orders NaN at +inf and (-1)^(n+1) inf at -inf.
    if n == 1:
        out = np.where(np.isneginf(a), np.nan, out)
    else:
        out = np.where(np.isposinf(a), np.nan, np.where(np.isneginf(a), (-1.0) ** (n + 1) * np.inf,
                                                         out))
    return np.asarray(out).astype(a.dtype, copy=False)


# ==== error functions ======================================================================

def _erf_vjp(g, x, out):
    return g * ((-(x * x)).exp() * (2.0 / _SQRT_PI))


def _erfc_vjp(g, x, out):
    return g * ((-(x * x)).exp() * (-2.0 / _SQRT_PI))


def _erfinv_vjp(g, x, out):
    return g * ((out * out).exp() * (_SQRT_PI / 2.0))


erf, ErfBackward0 = unary_op("erf", "ErfBackward0", _special_np("erf", _erf_fallback), _erf_vjp,
                             "x", doc="The error function, ``2/sqrt(pi) int_0^x exp(-t^2) dt``.")
erfc, ErfcBackward0 = unary_op("erfc", "ErfcBackward0", _special_np("erfc", _erfc_fallback),
                               _erfc_vjp, "x", doc="``1 - erf(x)``, accurate in the tail.")
erfinv, ErfinvBackward0 = unary_op("erfinv", "ErfinvBackward0",
                                   _special_np("erfinv", _erfinv_fallback), _erfinv_vjp, "out",
                                   doc="The inverse of ``erf`` on (-1, 1).")


def _ndtri_vjp(g, x, out):
    return g * ((out * out * 0.5).exp() * math.sqrt(2 * math.pi))


def _log_ndtr_vjp(g, x, out):
    return g * ((-(out + x * x * 0.5)).exp() / math.sqrt(2 * math.pi))


def _erfcx_vjp(g, x, out):
    return g * (x * out * 2.0 - 2.0 / _SQRT_PI)


ndtri, SpecialNdtriBackward0 = unary_op(
    "ndtri", "SpecialNdtriBackward0",
    _full_float_only("ndtri_cpu", _special_np("ndtri", _ndtri_fallback)), _ndtri_vjp, "out",
    doc="The inverse of the standard normal CDF.")
log_ndtr, SpecialLogNdtrBackward0 = unary_op(
    "log_ndtr", "SpecialLogNdtrBackward0",
    _full_float_only("log_ndtr_cpu", _special_np("log_ndtr", _log_ndtr_fallback)),
    _log_ndtr_vjp, "x,out", doc="``log(ndtr(x))``, accurate far in the left tail.")
erfcx, SpecialErfcxBackward0 = unary_op(
    "erfcx", "SpecialErfcxBackward0",
    _full_float_only("erfcx_cpu", _special_np("erfcx", _erfcx_fallback)), _erfcx_vjp,
    "x,out", doc="The scaled complementary error function ``exp(x^2) erfc(x)``.")


def ndtr(input):
    """The standard normal CDF, ``(1 + erf(x / sqrt(2))) / 2`` (PyTorch's composite: its
    graph ends in ``MulBackward1``)."""
    return mul_scalar(erf(mul_scalar(input, math.sqrt(0.5))) + 1, 0.5)


# ==== modified Bessel functions ============================================================

def _safe(x):
    """``x`` with |x| <= eps replaced by eps, and the mask of the replaced elements: the i1
    rules divide by x and take their limit (0.5) at 0, as PyTorch."""
    from ..dtypes import finfo

    eps = finfo(x.dtype).eps
    tiny = x.abs() <= eps
    return where(tiny, eps, x), tiny


def _i0_vjp(g, x, out):
    return g * i1(x)


def _i0e_vjp(g, x, out):
    return g * (i1e(x) - x.sgn() * out)


def _i1_vjp(g, x, out):
    sx, tiny = _safe(x)
    return g * where(tiny, 0.5, i0(sx) - out / sx)


def _i1e_vjp(g, x, out):
    sx, tiny = _safe(x)
    return g * where(tiny, 0.5, i0e(sx) - out * (sx.sgn() + sx.reciprocal()))


i0, I0Backward0 = unary_op("i0", "I0Backward0", _special_np(
    "i0", lambda a: _bessel_i_fallback(0, a, False)), _i0_vjp, "x",
    doc="The modified Bessel function of the first kind, order 0.")
i0e, SpecialI0EBackward0 = unary_op("i0e", "SpecialI0EBackward0", _special_np(
    "i0e", lambda a: _bessel_i_fallback(0, a, True)), _i0e_vjp, "x,out",
    doc="``exp(-|x|) i0(x)``.")
i1, SpecialI1Backward0 = unary_op("i1", "SpecialI1Backward0", _special_np(
    "i1", lambda a: _bessel_i_fallback(1, a, False)), _i1_vjp, "x,out",
    doc="The modified Bessel function of the first kind, order 1.")
i1e, SpecialI1EBackward0 = unary_op("i1e", "SpecialI1EBackward0", _special_np(
    "i1e", lambda a: _bessel_i_fallback(1, a, True)), _i1e_vjp, "x,out",
    doc="``exp(-|x|) i1(x)``.")


# ==== gamma family =========================================================================

def _lgamma_vjp(g, x, out):
    return g * digamma(x)


def _digamma_vjp(g, x, out):
    return g * polygamma(1, x)


def _lgamma_np(a):
    out = _special_np("gammaln", _lgamma_fallback)(a)
    # NOTE: log|Gamma(-inf)| is +inf in PyTorch (SciPy gives -inf).
    return np.where(np.isneginf(a), np.inf, out).astype(out.dtype, copy=False)


lgamma, LgammaBackward0 = unary_op("lgamma", "LgammaBackward0", _lgamma_np, _lgamma_vjp, "x",
                                   doc="``log|Gamma(x)|``.")
digamma, DigammaBackward0 = unary_op("digamma", "DigammaBackward0", _digamma_np, _digamma_vjp,
                                     "x", doc="``d/dx lgamma(x)`` (-inf at 0, NaN at the "
                                     "negative integers, as PyTorch).")


def _mvlgamma_vjp(ctx, g):
    x, = ctx.saved_tensors
    p = ctx.args[0]
    total = digamma(x)
    for j in range(1, p):
        total = total + digamma(x - j / 2)
    return (g * total,)


MvlgammaBackward0 = node_class("MvlgammaBackward0", _mvlgamma_vjp, elementwise)


def mvlgamma(input, p):
    """The multivariate log-gamma of dimension ``p``:
    ``p (p - 1) / 4 log(pi) + sum_j lgamma(x - j / 2)``."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    a = float_data(input._data)
    data = np.full(a.shape, p * (p - 1) / 4 * math.log(math.pi), dtype=a.dtype)
    for j in range(p):
        data += _lgamma_np(a - np.asarray(j / 2, dtype=a.dtype))
    if STATE.enabled and recording(input):
        return record(MvlgammaBackward0, data, (input,), save=(input,), args=(int(p),))
    return wrap(data)


def _polygamma_vjp(ctx, g):
    x, = ctx.saved_tensors
    return (g * polygamma(ctx.args[0] + 1, x),)


PolygammaBackward0 = node_class("PolygammaBackward0", _polygamma_vjp, elementwise)
PolygammaBackward1 = node_class("PolygammaBackward1", _polygamma_vjp, elementwise)


def polygamma(n, input, _node=PolygammaBackward0):
    """The ``n``-th derivative of ``digamma`` (``n >= 0``)."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    data = _polygamma_np(int(n), float_data(input._data))
    if STATE.enabled and recording(input):
        return record(_node, data, (input,), save=(input,), args=(int(n),))
    return wrap(data)


def _polygamma_method(input, n):
    """``Tensor.polygamma(n)``: the tensor comes first as a method."""
    return polygamma(n, input)


def _polygamma_inplace_op(input, n):
    """What ``Tensor.polygamma_(n)`` computes; PyTorch names its node PolygammaBackward1."""
    return polygamma(n, input, PolygammaBackward1)


# ---- incomplete gamma, Hurwitz zeta ----
def _igamma_vjp(ctx, g):
    a, x = ctx.saved_tensors
    upper, name = ctx.args
    if _need(ctx, 0):
        raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
    d = ((a - 1) * x.log() - x - lgamma(a)).exp()
    return (None, g * (-d if upper else d))


IgammaBackward0 = node_class("IgammaBackward0", _igamma_vjp, elementwise)
IgammacBackward0 = node_class("IgammacBackward0", _igamma_vjp, elementwise)


def _igamma(name, input, other, upper, node):
    require_tensors(name, input, other)
    input, other, ad, bd, rt = _float_operands(name, input, other, ints=False)
    sp = _scipy()
    with np.errstate(all="ignore"):
        if sp is not None:
            f = sp.gammaincc if upper else sp.gammainc
            data = np.asarray(f(ad, bd))
            # NOTE: PyTorch gives NaN for a negative a (SciPy too), and P(0, x > 0) = 1.
        else:
            data = _gammainc_fallback(ad.astype(np.float64), np.asarray(bd, dtype=np.float64),
                                      upper)
    data = np.asarray(data).astype(rt, copy=False)
    if STATE.enabled and recording(input, other):
        return record(node, data, (input, other), save=(input, other), args=(upper, name))
    return wrap(data)


def igamma(input, other):
    """The regularized lower incomplete gamma function ``P(input, other)``."""
    return _igamma("igamma", input, other, False, IgammaBackward0)


def igammac(input, other):
    """The regularized upper incomplete gamma function ``Q(input, other) = 1 - P``."""
    return _igamma("igammac", input, other, True, IgammacBackward0)


def _zeta_vjp(ctx, g):
    x, q = ctx.saved_tensors
    edges = ctx.args[0]
    gx = gq = None
    if "x" in edges and _need(ctx, 0):
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")
    iq = edges.index("q") if "q" in edges else None
    if iq is not None and _need(ctx, iq):
        gq = g * -x * zeta(x + 1, q)
    return {"xq": (gx, gq), "x": (gx,), "q": (gq,)}[edges]


SpecialZetaBackward0 = node_class("SpecialZetaBackward0", _zeta_vjp, elementwise)
SpecialZetaBackward1 = node_class("SpecialZetaBackward1", _zeta_vjp, elementwise)
SpecialZetaBackward2 = node_class("SpecialZetaBackward2", _zeta_vjp, elementwise)


def zeta(input, other):
    """The Hurwitz zeta function ``sum_k (other + k) ** -input`` (``torch.special.zeta``)."""
    scalar_self = not isinstance(input, Tensor)
    input, other, ad, bd, rt = _float_operands("zeta", input, other)
    _check_full_float("zeta_cpu", np.empty(0, rt))
    data = _hurwitz_zeta_np(ad, bd).astype(rt, copy=False)
    if STATE.enabled and recording(input, other):
        if scalar_self:
            return record(SpecialZetaBackward1, data, (other,), save=(input, other),
                          args=("q",))
        if not isinstance(other, Tensor):
            return record(SpecialZetaBackward2, data, (input,),
                          save=(input, _scalar_tensor(other, rt)), args=("x",))
        return record(SpecialZetaBackward0, data, (input, other), save=(input, other),
                      args=("xq",))
    return wrap(data)


# ==== logit, xlogy, xlog1py ================================================================

def _logit_vjp(ctx, g):
    x, = ctx.saved_tensors
    eps = ctx.args[0]
    d = g / (x * (1 - x))
    if eps is None:
        return (d,)
    # NOTE: with eps the input is clamped to [eps, 1 - eps]: outside, the gradient is 0
    # (PyTorch's rule; at the bounds it passes).
    return (d.masked_fill((x < eps) | (x > 1 - eps), 0.0),)


LogitBackward0 = node_class("LogitBackward0", _logit_vjp, elementwise)


def logit(input, eps=None):
    """``log(p / (1 - p))``; with ``eps`` the input is first clamped to ``[eps, 1 - eps]``."""
    a = float_data(input._data)
    if eps is not None:
        a = np.clip(a, eps, 1 - eps).astype(a.dtype, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        data = np.asarray(np.log(a / (1 - a))).astype(a.dtype, copy=False)
    if STATE.enabled and recording(input):
        return record(LogitBackward0, data, (input,), save=(input,), args=(eps,))
    return wrap(data)


def _xlog_vjp(ctx, g):
    x, y = ctx.saved_tensors
    log1p = ctx.args[0]
    edges = ctx.args[1]
    gx = gy = None
    if "x" in edges and _need(ctx, 0):
        # NOTE: PyTorch's rule: d/dx is log(y), but 0 where x == 0 and y is at or below the
        # log's pole (y <= 0; y <= -1 for log1p), where the op is the constant 0.
        d = (xlog1py if log1p else xlogy)(g, y)
        gx = where((x == 0) & (y <= (-1.0 if log1p else 0.0)), 0.0, d)
    iy = edges.index("y") if "y" in edges else None
    if iy is not None and _need(ctx, iy):
        gy = g * x / ((y + 1) if log1p else y)
    if edges == "xy":
        return (gx, gy)
    return (gx,) if edges == "x" else (gy,)


XlogyBackward0 = node_class("XlogyBackward0", _xlog_vjp, elementwise)
XlogyBackward1 = node_class("XlogyBackward1", _xlog_vjp, elementwise)
XlogyBackward2 = node_class("XlogyBackward2", _xlog_vjp, elementwise)
SpecialXlog1PyBackward0 = node_class("SpecialXlog1PyBackward0", _xlog_vjp, elementwise)
SpecialXlog1PyBackward1 = node_class("SpecialXlog1PyBackward1", _xlog_vjp, elementwise)
SpecialXlog1PyBackward2 = node_class("SpecialXlog1PyBackward2", _xlog_vjp, elementwise)


def _xlog(name, input, other, log1p, nodes):
    scalar_self = not isinstance(input, Tensor)
    input, other, ad, bd, rt = _float_operands(name, input, other)
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.log1p(bd) if log1p else np.log(bd)
        # NOTE: 0 * log(y) is 0 for any y but NaN (PyTorch's convention, so 0 log 0 = 0).
        data = np.where((ad == 0) & ~np.isnan(bd), 0.0, ad * ly)
    data = np.asarray(data).astype(rt, copy=False)
    if STATE.enabled and recording(input, other):
        if scalar_self:
            return record(nodes[1], data, (other,), save=(input, other), args=(log1p, "y"))
        if not isinstance(other, Tensor):
            y = _scalar_tensor(other, rt)
            return record(nodes[2], data, (input,), save=(input, y), args=(log1p, "x"))
        return record(nodes[0], data, (input, other), save=(input, other), args=(log1p, "xy"))
    return wrap(data)


def _scalar_tensor(v, rt):
    return wrap(np.asarray(_scalar(v), dtype=rt))


def xlogy(input, other):
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    return _xlog("xlogy", input, other, False, (XlogyBackward0, XlogyBackward1, XlogyBackward2))


def xlog1py(input, other):
    """``input * log1p(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    return _xlog("xlog1py", input, other, True,
                 (SpecialXlog1PyBackward0, SpecialXlog1PyBackward1, SpecialXlog1PyBackward2))


# ---- entr ----
def _entr_vjp(ctx, g):
    x, = ctx.saved_tensors
    return (g * -(x.log() + 1),)


SpecialEntrBackward0 = node_class("SpecialEntrBackward0", _entr_vjp, elementwise)


def entr(input):
    """Elementwise entropy term: ``-x log x`` (0 at 0, -inf for x < 0)."""
    a = float_data(input._data)
    with np.errstate(divide="ignore", invalid="ignore"):
        data = np.where(a > 0, -a * np.log(np.where(a > 0, a, 1)), np.where(a == 0, 0.0, -np.inf))
    data = np.where(np.isnan(a), a, data).astype(a.dtype, copy=False)
    if STATE.enabled and recording(input):
        return record(SpecialEntrBackward0, data, (input,), save=(input,))
    return wrap(data)


# ==== registration =========================================================================

for _name in ("erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "logit", "xlogy", "i0",
              "mvlgamma", "igamma", "igammac"):
    register(globals()[_name], _name, method=_name != "polygamma")
register(_polygamma_method, "polygamma", function=False)
register_inplace(erf, erfc, erfinv, lgamma, digamma, logit, xlogy, i0, mvlgamma, igamma, igammac,
                 aliases=(("polygamma_", _polygamma_inplace_op),))
# PyTorch also publishes these in-place variants as functions (``torch.exp_(x)``).
for _name in ("erf_", "erfc_", "i0_", "logit_", "xlogy_"):
    register(METHODS[_name], _name, method=False)
