"""Fused multiply-add on NumPy arrays: ``fma(a, b, c)`` is ``a * b + c`` rounded once.

PyTorch's CPU kernels are compiled with floating-point contraction, so expressions such as
``1 - y * y`` (tanh's backward) and ``start + step * i`` (linspace) are computed as one fused
multiply-add, rounded once; NumPy has no fma ufunc and rounds twice. This module rebuilds the
single rounding from ordinary float operations:

- float16/float32: the product is exact in float64; the sum is rounded to odd in float64,
  whose 29 or more spare bits make the final rounding to the narrow type correct.
- float64: the product is split exactly into two doubles (Dekker's TwoProduct), the sum with
  ``c`` into two more (TwoSum), and the low parts are added rounded to odd before the final
  addition (Boldo and Melquiond's emulation of fma, correct barring overflow and underflow).

Results are bit for bit those of a hardware fma for finite inputs away from the overflow and
subnormal ranges. Inputs are arrays (or scalars) of one float dtype; the result has that dtype.

``fma32`` is the float32 fast path the ops use (PyTorch's ``add(alpha=)``, ``lerp``,
``addcmul``): the float64 sum rounds twice only where it lands exactly on a float32 tie (about
one element in 2**29), and only those elements are redone. ``fused()`` says whether the
PyTorch build ember imitates contracts at all (its DEFAULT build has no fma instructions).
"""

from __future__ import annotations

import numpy as np

from . import _rng_kernels
from .tensor import as_array

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's splitting constant for float64


def _two_sum(x, y):
    s = x + y
    bb = s - x
    return s, (x - (s - bb)) + (y - bb)


def _round_to_odd_sum(x, y):
    """``x + y`` in float64 rounded to odd: when inexact, the neighbour whose last bit is 1."""
    s, err = _two_sum(as_array(x).astype(np.float64, copy=False),
                      as_array(y).astype(np.float64, copy=False))
    s = as_array(s).astype(np.float64, copy=True)
    bits = s.view(np.int64)
    fix = (err != 0) & ((bits & 1) == 0)
    if fix.any():
        fix &= np.isfinite(s)  # (an infinite sum has a NaN error term: left as it is)
        # the exact sum lies between s and its neighbour on err's side
        away = np.signbit(err) == np.signbit(s)
        bits += np.where(fix, np.where(away, 1, -1), 0)
    return s


def _split(x):
    g = _SPLIT * x
    hi = g - (g - x)
    return hi, x - hi


def fma(a, b, c):
    """``a * b + c`` with one rounding, in the common float dtype of the operands."""
    a, b, c = as_array(a), as_array(b), as_array(c)
    dt = np.result_type(a, b, c)
    if dt.itemsize <= 4:
        p = np.multiply(a, b, dtype=np.float64)  # exact: 2 * 24 bits < 53
        return _round_to_odd_sum(p, c.astype(np.float64)).astype(dt)
    a, b, c = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False), \
        c.astype(np.float64, copy=False)
    uh = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    ul = ((ah * bh - uh) + ah * bl + al * bh) + al * bl  # uh + ul == a * b exactly
    th, tl = _two_sum(c, uh)                               # th + tl == c + uh exactly
    return th + _round_to_odd_sum(tl, ul)


_U64 = np.uint64
_LOW29, _TIE = np.uint64(0x1FFFFFFF), np.uint64(0x10000000)


# NOTE [fused arithmetic is opt-in]: the ops' fused multiply-adds (add/sub with alpha, lerp,
# addcmul, tanh's and sigmoid's backward, SGD's update) cost 2-5x their plain NumPy form, most on
# small tensors (a 2-16-16-1 tanh MLP's SGD step: +35%), while the one-ulp differences they
# remove do not change what a training script prints (the corpus of tests/corpus passes
# either way: float32 sums in BLAS differ from PyTorch's anyway). So they run only with
# EMBER_FUSED_ARITHMETIC=1 (or ``_fma._ENABLED = True``), for bit-for-bit comparisons; the
# random streams (_rng_kernels) always fuse, as their exactness is cheap there.
_ENABLED = __import__("os").environ.get("EMBER_FUSED_ARITHMETIC", "0") == "1"


def fused() -> bool:
    """Whether to round multiply-adds once, as PyTorch's vectorised kernels do in its
    AVX2/AVX512 builds (NOTE [fused arithmetic is opt-in])."""
    return _ENABLED and _rng_kernels.capability() == "AVX2"


def _wide(v, like):
    """``v`` (an array or a number) in float64 at ``like``'s shape, on ``like``'s device."""
    if isinstance(v, (int, float, np.generic)):
        return np.full_like(like, v, dtype=np.float64)
    return np.broadcast_to(v.astype(np.float64, copy=False), like.shape)


def fma32(a, b, c, out=None):
    """``RN32(a*b + c)`` for float32 arrays or scalars ``a``, ``b``, ``c`` (broadcast), into
    ``out`` (a float32 array of the result's shape, which may be one of the operands) when
    given."""
    s = as_array(np.multiply(a, b, dtype=np.float64))  # exact: 2 * 24 bits < 53
    if np.ndim(c) == 0 or np.shape(c) == s.shape:
        s += c
    else:
        s = np.add(s, c, dtype=np.float64)
    tie = np.bitwise_and(s.view(_U64), _LOW29) == _TIE
    fix = None
    if tie.any():  # redo those elements with the sum rounded to odd
        a, b, c = (_wide(v, s)[tie] for v in (a, b, c))
        fix = _round_to_odd_sum(a * b, c).astype(np.float32)
    if out is None:
        out = s.astype(np.float32)
    else:
        np.copyto(out, s, casting="same_kind")
    if fix is not None:
        out[tie] = fix
    return out
