"""``ember.special``: PyTorch's ``torch.special`` (erf, erfc, erfcx, erfinv, expit, logit,
xlogy, xlog1py, gammaln, digamma, psi, polygamma, multigammaln, gammainc, gammaincc, zeta,
entr, i0/i0e/i1/i1e, ndtr, ndtri, log_ndtr, exp2, expm1, log1p, sinc, round, softmax,
log_softmax, logsumexp), and its no-gradient functions (the Chebyshev, Hermite, Laguerre and
Legendre polynomials; bessel_j0/j1/y0/y1, modified_bessel_i0/i1/k0/k1 and their scaled k0/k1,
spherical_bessel_j0, airy_ai).

Contract: the same names and signatures as PyTorch; each is the ember op of the same meaning,
so gradients (any order) and forward-mode rules come with it.
"""

from __future__ import annotations

from .ops._registry import OPS as _OPS
from .ops._registry import publish_module as _publish
from .ops.special import (
    digamma,
    entr,
    erf,
    erfc,
    erfcx,
    erfinv,
    i0,
    i0e,
    i1,
    i1e,
    igamma,
    igammac,
    log_ndtr,
    logit,
    ndtr,
    ndtri,
    polygamma,
    xlog1py,
    xlogy,
    zeta,
)
from .ops.special import lgamma as gammaln
from .ops.special import mvlgamma as _mvlgamma
from .ops.special_nograd import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    hermite_polynomial_h,
    hermite_polynomial_he,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
    spherical_bessel_j0,
)
from .ops.unary import exp2, expm1, log1p, round, sinc  # noqa: A004 - PyTorch's name

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit",
           "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc",
           "softmax", "xlog1py", "xlogy", "zeta", "gammainc", "gammaincc",
           "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
           "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
           "laguerre_polynomial_l", "legendre_polynomial_p", "modified_bessel_i0",
           "modified_bessel_i1", "spherical_bessel_j0", "bessel_j0", "bessel_j1", "bessel_y0",
           "bessel_y1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
           "scaled_modified_bessel_k1", "airy_ai"]

psi = digamma
gammainc = igamma
gammaincc = igammac
expit = _OPS["sigmoid"]


def multigammaln(input, p):
    """The multivariate log-gamma of dimension ``p`` (``torch.mvlgamma``)."""
    return _mvlgamma(input, p)


def softmax(input, dim, *, dtype=None):
    """Softmax over ``dim`` (``torch.special.softmax``)."""
    return _OPS["softmax"](input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """Log-softmax over ``dim`` (``torch.special.log_softmax``)."""
    return _OPS["log_softmax"](input, dim, dtype=dtype)


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input)))`` over ``dim``, max-shifted (``torch.special.logsumexp``)."""
    return _OPS["logsumexp"](input, dim, keepdim=keepdim)


# NOTE: published checked (ops/_checks.py: a wrong-typed argument raises PyTorch's TypeError)
# and declared: their op records (NOTE [op records] in ember/_records.py).
_publish(globals(), __all__, "special")
