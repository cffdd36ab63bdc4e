"""torch.special's no-gradient functions: the orthogonal polynomials (Chebyshev T/U/V/W and
their shifted forms, Hermite H/He, Laguerre L, Legendre P), the Bessel functions of integer
order J0/J1/Y0/Y1, modified_bessel_i0/i1/k0/k1 and the scaled k0/k1, spherical_bessel_j0 and
Airy's Ai, with their NumPy fallbacks. ``ember.special`` publishes them; the differentiable
special functions (erf, gamma family, i0...) live in ``special``.

Contract: PyTorch's signatures, values (including at infinities), dtypes and errors (no
half/bfloat16 kernels); no gradient, as in PyTorch. SciPy is used when installed and a NumPy
implementation otherwise; the switch is ``special._scipy`` (tests patch it there), and the
fallbacks are accurate to ~1e-13 relative or better (NOTE [special-function fallbacks]). On a
device: its library's SciPy functions (``special._sp``), Airy's Ai (which CuPy lacks) from SciPy
on the host, and the fallbacks (NumPy's API on the device arrays) without SciPy.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from ..tensor import Tensor, as_array, device_of, on_device, to_host
from . import special as _special
from ._registry import float_data, wrap
from .pointwise import _float_operands
from .special import _check_full_float, _float64, _sp, i0, i1


def _scipy():
    """``special._scipy()``: the one switch between SciPy and the NumPy fallbacks (tests patch
    it there)."""
    return _special._scipy()


# ---- Bessel functions of integer order (J, Y, K) ----
# NOTE: J_n: its power series below 4, the trapezoidal rule on Bessel's integral (periodic,
# so exponentially convergent) below 25, Hankel's expansion beyond. Y_n: Gauss-Legendre on
# its two integrals below 25, Hankel beyond. K_n: the trapezoidal rule on
# int_0^inf exp(-x cosh t) cosh(n t) dt (double-exponential decay).

def _hankel(nu, x):
    """P, Q of Hankel's asymptotic expansion (x >= 25: error below e^-2x)."""
    mu = 4.0 * nu * nu
    p = np.ones_like(x)
    q = np.zeros_like(x)
    term = np.ones_like(x)
    for k in range(1, 60):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * x)
        if k % 2:
            q = q + (term if k % 4 == 1 else -term)
        else:
            p = p + (term if k % 4 == 0 else -term)
    return p, q


def _chunks(x, fn, size=2048):
    out = np.empty_like(x)
    for i in range(0, x.size, size):
        out[i:i + size] = fn(x[i:i + size])
    return out


def _bessel_j_fallback(nu, x):
    ax = np.abs(x).ravel()
    out = np.empty_like(ax)
    tiny = ax < 4.0
    # NOTE: the power series near 0 (where the quadrature's absolute error would dominate J1),
    # the trapezoidal rule on Bessel's integral (periodic, so exponentially convergent) up to
    # 25, Hankel's expansion beyond.
    q = (ax[tiny] / 2) ** 2
    term = (ax[tiny] / 2) ** nu
    total = term.copy()
    for k in range(1, 40):
        term = term * -q / (k * (k + nu))
        total = total + term
    out[tiny] = total
    small = (ax < 25.0) & ~tiny
    xs = ax[small]
    if xs.size:
        n = 64 + int(np.ceil(xs.max()))
        tau = 2 * np.pi * namespace(xs).arange(n) / n

        def trap(v):
            return np.cos(nu * tau[None, :] - v[:, None] * np.sin(tau)[None, :]).mean(axis=1)
        out[small] = _chunks(xs, trap)
    big = ax >= 25.0
    xb = ax[big]
    if xb.size:
        p, q = _hankel(nu, xb)
        chi = xb - (nu / 2 + 0.25) * np.pi
        out[big] = np.sqrt(2 / (np.pi * xb)) * (p * np.cos(chi) - q * np.sin(chi))
    out = out.reshape(x.shape)
    if nu == 1:
        out = out * np.copysign(1.0, x)
    return np.where(np.isnan(x), np.nan, np.where(np.isinf(x), 0.0, out))


def _leggauss(n, like):
    """Gauss-Legendre nodes and weights of order ``n`` on the device of ``like`` (NumPy computes
    them on the host: CuPy has no ``leggauss``)."""
    t, w = np.polynomial.legendre.leggauss(n)
    dev = device_of(like)
    return on_device(t, dev), on_device(w, dev)


def _gauss(n, a, b, like):
    t, w = _leggauss(n, like)
    return (b - a) / 2 * t + (a + b) / 2, (b - a) / 2 * w


def _bessel_y_fallback(nu, x):
    flat = x.ravel()
    out = np.full_like(flat, np.nan)
    pos = flat > 0
    xp = flat[pos]
    res = np.empty_like(xp)
    small = xp < 25.0
    xs = xp[small]
    if xs.size:
        theta, wt = _gauss(80 + int(np.ceil(xs.max())), 0.0, np.pi, xs)

        def first(v):
            return (np.sin(v[:, None] * np.sin(theta)[None, :] - nu * theta[None, :]) * wt).sum(1)

        def second(v):
            # NOTE: e^{-x sinh t} falls below e^-45 past t = asinh(45 / x).
            top = np.arcsinh(45.0 / v)
            t, w = _leggauss(120, v)
            tt = (t[None, :] + 1) / 2 * top[:, None]
            ww = w[None, :] / 2 * top[:, None]
            g = np.exp(-v[:, None] * np.sinh(tt))
            kern = 2 * np.ones_like(tt) if nu == 0 else np.exp(tt) - np.exp(-tt)
            return (kern * g * ww).sum(1)
        res[small] = (_chunks(xs, first) - _chunks(xs, second)) / np.pi
    xb = xp[~small]
    if xb.size:
        p, q = _hankel(nu, xb)
        chi = xb - (nu / 2 + 0.25) * np.pi
        res[~small] = np.sqrt(2 / (np.pi * xb)) * (p * np.sin(chi) + q * np.cos(chi))
    out[pos] = res
    out[flat == 0] = -np.inf
    out[np.isposinf(flat)] = 0.0
    return out.reshape(x.shape)


def _bessel_k_fallback(nu, x, scaled):
    flat = x.ravel()
    out = np.full_like(flat, np.nan)
    pos = (flat > 0) & np.isfinite(flat)
    xp = flat[pos]

    def trap(v):
        # NOTE: K_nu(x) = int_0^inf exp(-x cosh t) cosh(nu t) dt: an even, double-exponentially
        # decaying integrand, for which the trapezoidal rule converges exponentially; the
        # scaled form folds exp(x) in as exp(-x (cosh t - 1)).
        top = np.arccosh(1.0 + 45.0 / v)
        h = top / 200.0
        k = namespace(v).arange(201)
        t = k[None, :] * h[:, None]
        w = np.where(k == 0, 0.5, 1.0)[None, :]
        f = np.exp(-v[:, None] * (2.0 * np.sinh(t / 2) ** 2)) * np.cosh(nu * t) * w
        s = f.sum(1) * h
        return s if scaled else s * np.exp(-v)
    if xp.size:
        out[pos] = _chunks(xp, trap)
    out[flat == 0] = np.inf
    out[np.isposinf(flat)] = 0.0
    return out.reshape(x.shape)


# NOTE: Airy's Ai: its Maclaurin series for |x| < 2, K_{1/3} (the same trapezoid) for x >= 2
# and J_{+-1/3} by Schlaefli's integrals (Gauss-Legendre) or Hankel for x <= -2.

def _bessel_j_frac(nu, z):
    """J_nu(z) for z > 0 and non-integer nu: Schlaefli's integrals (Gauss-Legendre) below 25,
    Hankel's expansion beyond."""
    out = np.empty_like(z)
    small = z < 25.0
    zs = z[small]
    if zs.size:
        t1, w1 = _leggauss(80 + int(np.ceil(zs.max())), zs)
        theta, wt = (t1 + 1) * np.pi / 2, w1 * np.pi / 2
        t2, w2 = _leggauss(160, zs)

        def integrals(v):
            first = (np.cos(nu * theta[None, :] - v[:, None] * np.sin(theta)[None, :]) * wt).sum(1)
            top = np.arcsinh((45.0 + 2.0) / v) + 2.0
            tt = (t2[None, :] + 1) / 2 * top[:, None]
            ww = w2[None, :] / 2 * top[:, None]
            second = (np.exp(-v[:, None] * np.sinh(tt) - nu * tt) * ww).sum(1)
            return (first - math.sin(nu * math.pi) * second) / math.pi
        out[small] = _chunks(zs, integrals)
    zb = z[~small]
    if zb.size:
        p, q = _hankel(nu, zb)
        chi = zb - (nu / 2 + 0.25) * np.pi
        out[~small] = np.sqrt(2 / (np.pi * zb)) * (p * np.cos(chi) - q * np.sin(chi))
    return out


_AI0 = 0.355028053887817239
_AIP0 = 0.258819403792806798


def _airy_ai_fallback(x):
    flat = x.ravel()
    out = np.full_like(flat, np.nan)
    near = np.abs(flat) < 2.0
    xn = flat[near]
    f = np.ones_like(xn)
    g = xn.copy()
    tf, tg = np.ones_like(xn), xn.copy()
    x3 = xn ** 3
    for k in range(1, 40):
        tf = tf * x3 / ((3 * k - 1) * (3 * k))
        tg = tg * x3 / ((3 * k) * (3 * k + 1))
        f = f + tf
        g = g + tg
    out[near] = _AI0 * f - _AIP0 * g
    pos = (flat >= 2.0) & np.isfinite(flat)
    xp = flat[pos]
    zeta = 2.0 / 3.0 * xp ** 1.5
    out[pos] = np.sqrt(xp / 3.0) / np.pi * _bessel_k_fallback(1.0 / 3.0, zeta, False)
    neg = (flat <= -2.0) & np.isfinite(flat)
    y = -flat[neg]
    zeta = 2.0 / 3.0 * y ** 1.5
    js = _bessel_j_frac(1.0 / 3.0, zeta) + _bessel_j_frac(-1.0 / 3.0, zeta)
    out[neg] = np.sqrt(y) / 3.0 * js
    return out.reshape(x.shape)  # NaN at +-inf, as PyTorch


# ==== orthogonal polynomials (no gradient, as in PyTorch) ===============================
# NOTE: each is its three-term recurrence run up to the largest degree requested, the degree
# truncated to an integer (PyTorch casts it); negative degrees give 0. ``first(x)`` is P_1 and
# ``step(k, x, p_k, p_km1)`` gives P_{k+1}.

_POLYNOMIALS = {
    "chebyshev_polynomial_t": (lambda x: x, lambda k, x, p, q: 2 * x * p - q),
    "chebyshev_polynomial_u": (lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - q),
    "chebyshev_polynomial_v": (lambda x: 2 * x - 1, lambda k, x, p, q: 2 * x * p - q),
    "chebyshev_polynomial_w": (lambda x: 2 * x + 1, lambda k, x, p, q: 2 * x * p - q),
    "hermite_polynomial_h": (lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - 2 * k * q),
    "hermite_polynomial_he": (lambda x: x, lambda k, x, p, q: x * p - k * q),
    "laguerre_polynomial_l": (lambda x: 1 - x,
                              lambda k, x, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1)),
    "legendre_polynomial_p": (lambda x: x,
                              lambda k, x, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1)),
}


def _polynomial_np(name, x, n):
    shifted = name.startswith("shifted_")
    first, step = _POLYNOMIALS[name.replace("shifted_", "")]
    x, n = np.broadcast_arrays(x, np.trunc(n))
    if shifted:
        x = 2 * x - 1
    out = np.where(n == 0, 1.0, 0.0).astype(x.dtype)
    top = int(n.max()) if n.size else 0
    if top >= 1:
        q, p = np.ones_like(x), first(x)
        out = np.where(n == 1, p, out)
        for k in range(1, top):
            q, p = p, step(k, x, p, q)
            out = np.where(n == k + 1, p, out)
    return out


def _polynomial(name):
    def op(input, n):
        if not isinstance(input, Tensor) and not isinstance(n, Tensor):
            raise TypeError(f"{name}: two numbers")  # (_checks: PyTorch's overloads)
        input, n, x, nd, rt = _float_operands(name, input, n)
        _check_full_float(f"{name}_cpu", np.empty(0, rt))
        x, nd = x.astype(np.float64), _float64(nd)
        if nd.ndim == 0 and type(x) is not np.ndarray:
            nd = namespace(x).asarray(nd)  # (a number's 0-d array goes to x's device)
        with np.errstate(all="ignore"):
            data = _polynomial_np(name, x, nd)
        return wrap(data.astype(rt, copy=False))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``torch.special.{name}(input, n)``: the degree-``n`` polynomial at ``input``."
    return op


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w")
shifted_chebyshev_polynomial_t = _polynomial("shifted_chebyshev_polynomial_t")
shifted_chebyshev_polynomial_u = _polynomial("shifted_chebyshev_polynomial_u")
shifted_chebyshev_polynomial_v = _polynomial("shifted_chebyshev_polynomial_v")
shifted_chebyshev_polynomial_w = _polynomial("shifted_chebyshev_polynomial_w")
hermite_polynomial_h = _polynomial("hermite_polynomial_h")
hermite_polynomial_he = _polynomial("hermite_polynomial_he")
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l")
legendre_polynomial_p = _polynomial("legendre_polynomial_p")


def spherical_bessel_j0(input):
    """``sin(x) / x`` (1 at 0); no gradient, as in PyTorch."""
    a = float_data(input._data)
    _check_full_float("spherical_bessel_j0_cpu", a)
    with np.errstate(invalid="ignore", divide="ignore"):
        data = np.where(a == 0, 1.0, np.sin(a) / np.where(a == 0, 1.0, a))
    return wrap(as_array(data).astype(a.dtype, copy=False))


def modified_bessel_i0(input):
    """``i0`` without a gradient (``torch.special.modified_bessel_i0``)."""
    _check_full_float("modified_bessel_i0_cpu", float_data(input._data))
    return wrap(i0(input.detach())._data)


def modified_bessel_i1(input):
    """``i1`` without a gradient (``torch.special.modified_bessel_i1``)."""
    _check_full_float("modified_bessel_i1_cpu", float_data(input._data))
    return wrap(i1(input.detach())._data)


def _bessel(name, scipy_name, fallback, inf_nan=False):
    def op(input):
        a = float_data(input._data)
        _check_full_float(f"{name}_cpu", a)
        sp = _sp(a)
        with np.errstate(all="ignore"):
            if sp is None:
                data = fallback(a.astype(np.float64))
            elif scipy_name != "__airy_ai":
                data = getattr(sp, scipy_name)(a)
            elif type(a) is np.ndarray:
                data = sp.airy(a)[0]
            else:
                # NOTE: cupyx.scipy.special has no airy: SciPy's on the host gives the CPU's
                # values exactly (the fallback would only come within ~1e-13); one copy each way.
                data = on_device(_scipy().airy(to_host(a))[0], device_of(a))
        if inf_nan:
            # NOTE: PyTorch's J and Y give NaN at +-inf (their limit is 0).
            data = np.where(np.isinf(a), np.nan, data)
        return wrap(as_array(data).astype(a.dtype, copy=False))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``torch.special.{name}``; no gradient, as in PyTorch."
    return op


airy_ai = _bessel("airy_ai", "__airy_ai", _airy_ai_fallback)
bessel_j0 = _bessel("bessel_j0", "j0", lambda a: _bessel_j_fallback(0, a), True)
bessel_j1 = _bessel("bessel_j1", "j1", lambda a: _bessel_j_fallback(1, a), True)
bessel_y0 = _bessel("bessel_y0", "y0", lambda a: _bessel_y_fallback(0, a), True)
bessel_y1 = _bessel("bessel_y1", "y1", lambda a: _bessel_y_fallback(1, a), True)
modified_bessel_k0 = _bessel("modified_bessel_k0", "k0", lambda a: _bessel_k_fallback(0, a, False))
modified_bessel_k1 = _bessel("modified_bessel_k1", "k1", lambda a: _bessel_k_fallback(1, a, False))
scaled_modified_bessel_k0 = _bessel("scaled_modified_bessel_k0", "k0e",
                                    lambda a: _bessel_k_fallback(0, a, True))
scaled_modified_bessel_k1 = _bessel("scaled_modified_bessel_k1", "k1e",
                                    lambda a: _bessel_k_fallback(1, a, True))
