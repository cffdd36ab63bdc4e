"""Special functions: erf/erfc/erfinv/erfcx, ndtr/ndtri/log_ndtr, lgamma/digamma/polygamma/
mvlgamma, igamma/igammac, zeta, i0/i0e/i1/i1e, logit, xlogy/xlog1py, entr. torch.special's
no-gradient functions (orthogonal polynomials, Bessel J/Y/K, Airy Ai) live in
``special_nograd``. ``ember.special`` publishes them under PyTorch's names.

Contract: PyTorch's signatures, values (including at poles and infinities), dtypes, node names
and errors; SciPy is used when installed (the ``scipy`` extra, imported lazily by ``_scipy``)
and a NumPy implementation otherwise, accurate to ~1e-13 relative or better (NOTE
[special-function fallbacks]); on a device the SciPy functions are its library's
(``cupyx.scipy.special`` for CuPy, through ``backend.special``) and the fallbacks run there too
(NumPy's API on the device arrays); rules in ember ops, so any order of derivative works (erf' and
erfinv' are exponentials, lgamma' = digamma, digamma' = polygamma(1), polygamma(n)' =
polygamma(n + 1)), with elementwise forward-mode rules. The layout: the SciPy-or-fallback
dispatch (the NumPy fallbacks live in ``special_fallbacks``), then the ops family by family.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import STATE
from ..backend import namespace, special
from ..tensor import Tensor, as_array, device_of, on_device
from ._jvp import elementwise
from ._registry import METHODS, float_data, node_class, record, recording, register, wrap
from .inplace import register_inplace
from .pointwise import _float_operands, _need, _scalar, mul_scalar, require_tensors
from .select import where
from .special_erf import erf as _erf_np
from .special_fallbacks import (
    _SQRT_PI,
    _bessel_i_fallback,
    _digamma_fallback,
    _erfc_fallback,
    _erfcx_fallback,
    _erfinv_fallback,
    _gammainc_fallback,
    _lgamma_fallback,
    _log_ndtr_fallback,
    _ndtri_fallback,
    _polygamma_fallback,
    _zeta_fallback,
)
from .unary import unary_op

_SCIPY = []  # [scipy.special or None] once looked for


def _scipy():
    """``scipy.special`` when SciPy is installed, else None (tests patch this to force the
    NumPy fallbacks). Looked for once: a failing import searches sys.path on every try."""
    if not _SCIPY:
        try:
            import scipy.special as sp
        except ImportError:
            sp = None
        _SCIPY.append(sp)
    return _SCIPY[0]


def _sp(*arrays):
    """The special functions for ``arrays``: ``_scipy()`` for NumPy arrays, the arrays' own
    library's (``cupyx.scipy.special``) for a device's; None without SciPy, on any device
    (``_scipy`` stays the one switch to the NumPy fallbacks, which then run on the device)."""
    sp = _scipy()
    if sp is None or type(arrays[0]) is np.ndarray:
        return sp
    return special(*arrays)


def _float64(x):
    """``x`` (an array of any library, or a Python number) as a float64 array on its device."""
    if isinstance(x, (int, float)):
        x = np.float64(x)
    return as_array(x).astype(np.float64, copy=False)


def _hurwitz_zeta_np(s, q):
    """Hurwitz zeta(s, q) for real s (PyTorch's: inf at s == 1, NaN for s < 1)."""
    sp = _sp(s, q)
    with np.errstate(all="ignore"):
        if sp is not None:
            return as_array(sp.zeta(s, q)).astype(np.float64, copy=False)
        s, q = _float64(s), _float64(q)
        if s.ndim == 0 and type(q) is not np.ndarray:
            s = namespace(q).asarray(s)  # (a number's 0-d array goes to q's device)
        elif q.ndim == 0 and type(s) is not np.ndarray:
            q = namespace(s).asarray(q)
        s, q = np.broadcast_arrays(s, q)
        out = np.empty_like(s, order="C")
        flat_s, flat_q = s.ravel(), q.ravel()
        res = out.ravel()
        for sv in np.unique(flat_s):
            sv = np.float64(float(sv))  # (a device array's elements are 0-d arrays)
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
        sp = _sp(a)
        if sp is not None:
            with np.errstate(all="ignore"):
                out = getattr(sp, scipy_name)(a)
        else:
            out = fallback(a.astype(np.float64))
        return as_array(out).astype(a.dtype, copy=False)
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
    sp = _sp(a)
    if sp is not None:
        with np.errstate(all="ignore"):
            out = as_array(sp.psi(a)).astype(np.float64, copy=False)
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
    sp = _sp(a)
    if sp is not None:
        # NOTE: CuPy's polygamma broadcasts its order with the argument: give it an array.
        order = n if type(a) is np.ndarray else namespace(a).asarray(n)
        with np.errstate(all="ignore"):
            out = sp.polygamma(order, a)
    else:
        out = _polygamma_fallback(n, a.astype(np.float64))
    # NOTE: PyTorch's values at infinity: trigamma gives 0 at +inf and NaN at -inf; higher
    # orders NaN at +inf and (-1)^(n+1) inf at -inf.
    if n == 1:
        out = np.where(np.isneginf(a), np.nan, out)
    else:
        out = np.where(np.isposinf(a), np.nan, np.where(np.isneginf(a), (-1.0) ** (n + 1) * np.inf,
                                                         out))
    return as_array(out).astype(a.dtype, copy=False)


# ==== error functions ======================================================================

def _erf_vjp(g, x, out):
    return g * ((-(x * x)).exp() * (2.0 / _SQRT_PI))


def _erfc_vjp(g, x, out):
    return g * ((-(x * x)).exp() * (-2.0 / _SQRT_PI))


def _erfinv_vjp(g, x, out):
    return g * ((out * out).exp() * (_SQRT_PI / 2.0))


# NOTE: erf is ember's own (special_erf.py, within 2 ulp, near SciPy's speed) with or without
# SciPy, so results do not depend on what is installed.
erf, ErfBackward0 = unary_op("erf", "ErfBackward0", _erf_np, _erf_vjp,
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
    # (the constant plus the terms in order, into a C-ordered buffer on a's device)
    data = np.empty_like(a, order="C")
    np.add(a.dtype.type(p * (p - 1) / 4 * math.log(math.pi)), _lgamma_np(a), out=data)
    for j in range(1, p):
        data += _lgamma_np(a - a.dtype.type(j / 2))
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
    sp = _sp(ad, bd)
    with np.errstate(all="ignore"):
        if sp is not None:
            f = sp.gammaincc if upper else sp.gammainc
            data = f(ad, bd)
            # NOTE: PyTorch gives NaN for a negative a (SciPy too), and P(0, x > 0) = 1.
        else:
            data = _gammainc_fallback(ad.astype(np.float64), _float64(bd), upper)
    data = as_array(data).astype(rt, copy=False)
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
                          save=(input, _scalar_tensor(other, rt, ad)), args=("x",))
        return record(SpecialZetaBackward0, data, (input, other), save=(input, other),
                      args=("xq",))
    return wrap(data)


# ==== logit, xlogy, xlog1py ================================================================

def _logit_vjp(ctx, g):
    x, = ctx.saved_tensors
    eps = ctx.args[0]
    d = g / (x * (1 - x))
    if eps is None:
        # NOTE: outside [0, 1] (where the forward is NaN) the gradient is NaN too, as PyTorch's
        return (where((x < 0) | (x > 1), float("nan"), d),)
    # NOTE: with eps the input is clamped to [eps, 1 - eps]: outside, the gradient is 0
    # (PyTorch's rule; at the bounds it passes).
    return (where((x < eps) | (x > 1 - eps), 0.0, d),)


LogitBackward0 = node_class("LogitBackward0", _logit_vjp, elementwise)


def logit(input, eps=None):
    """``log(p / (1 - p))``; with ``eps`` the input is first clamped to ``[eps, 1 - eps]``."""
    a = float_data(input._data)
    if eps is not None:
        a = np.clip(a, eps, 1 - eps).astype(a.dtype, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        data = as_array(np.log(a / (1 - a))).astype(a.dtype, copy=False)
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
    data = as_array(data).astype(rt, copy=False)
    if STATE.enabled and recording(input, other):
        if scalar_self:
            return record(nodes[1], data, (other,), save=(input, other), args=(log1p, "y"))
        if not isinstance(other, Tensor):
            y = _scalar_tensor(other, rt, ad)
            return record(nodes[2], data, (input,), save=(input, y), args=(log1p, "x"))
        return record(nodes[0], data, (input, other), save=(input, other), args=(log1p, "xy"))
    return wrap(data)


def _scalar_tensor(v, rt, like):
    """The number ``v`` as a 0-d tensor of dtype ``rt`` on the device of the array ``like``
    (what the backward reads as the other operand)."""
    return wrap(on_device(np.asarray(_scalar(v), dtype=rt), device_of(like)))


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
