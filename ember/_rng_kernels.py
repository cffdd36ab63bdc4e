"""PyTorch's CPU random transforms, bit for bit: words of an ``_mt19937.Engine`` in, the values
PyTorch 2.x's CPU kernels produce out (as flat NumPy arrays in memory order).

Contract: each kernel consumes exactly the words PyTorch's kernel consumes and returns exactly
its values, including its fused multiply-adds (emulated exactly, see ``fma32``/``fma64``), its
Cephes-style float32 log/sincos in the vectorised normal path, and the C library's double
``log``/``log1p``/``sin``/``cos``/``tan``/``exp`` (see ``libm64``: NumPy's own where it gives
the C library's results, ``math`` mapped over the elements where it does not).

PyTorch compiles these kernels per CPU instruction set; two builds differ in a few roundings
(fused or not) and in the float32 normal kernel. ``capability()`` picks the one the PyTorch on
this machine uses (``ATEN_CPU_CAPABILITY``, else the CPU's AVX2+FMA3 flags), and tests may force
one with ``set_capability``. ember's arithmetic is NumPy's, so either model gives the same
numbers on every CPU.
"""

from __future__ import annotations

import math
import os

import numpy as np

_F32 = np.float32
_F64 = np.float64
_U64 = np.uint64
_capability = None


def capability() -> str:
    """``"AVX2"`` (PyTorch's AVX2 and AVX512 builds, which agree) or ``"DEFAULT"``."""
    global _capability
    if _capability is None:
        env = os.environ.get("ATEN_CPU_CAPABILITY")
        if env == "default":
            _capability = "DEFAULT"
        elif env in ("avx2", "avx512"):
            _capability = "AVX2"
        else:
            try:
                from numpy._core._multiarray_umath import __cpu_features__ as feats
            except ImportError:  # NumPy 1.x
                from numpy.core._multiarray_umath import __cpu_features__ as feats
            _capability = "AVX2" if feats.get("AVX2") and feats.get("FMA3") else "DEFAULT"
    return _capability


def set_capability(value: str | None) -> None:
    """Force ``"AVX2"`` or ``"DEFAULT"`` (None: detect again)."""
    global _capability
    if value not in (None, "AVX2", "DEFAULT"):
        raise ValueError(f"capability must be 'AVX2' or 'DEFAULT', got {value!r}")
    _capability = value


def _fused() -> bool:
    return capability() == "AVX2"


# ---- uniform building blocks ----
def u24(eng, n):
    """``n`` floats ``(w & 0xFFFFFF) * 2**-24`` from one word each (float32, exact)."""
    return (eng.words(n) & np.uint32(0xFFFFFF)).astype(_F32) * _F32(2.0 ** -24)


def m53(eng, n):
    """``n`` integers ``W & (2**53 - 1)`` from one 64-bit draw each (uint64)."""
    w = eng.words64(n)
    w &= _U64((1 << 53) - 1)
    return w


def u53(eng, n):
    """``n`` doubles ``(W & (2**53 - 1)) * 2**-53`` from one 64-bit draw each (exact)."""
    return m53(eng, n).astype(_F64) * (2.0 ** -53)


# ---- exact fused multiply-add ----
def _next_toward(s, e):
    return np.nextafter(s, np.where(e > 0, np.inf, -np.inf))


def fma32(a, b, c):
    """``RN32(a*b + c)`` for float32 ``a``, ``b``, ``c``: the product is exact in float64, so the
    float64 sum rounds twice only where it lands exactly on a float32 midpoint; those few
    elements are redone rounding the sum to odd (which one rounding to float32 then fixes)."""
    s = np.multiply(a, b, dtype=_F64)
    s += c
    r = s.astype(_F32)
    mid = (s.view(_U64) & _U64(0x1FFFFFFF)) == _U64(0x10000000)
    if mid.any():
        a, b, c = (np.broadcast_to(np.asarray(v, _F64), s.shape)[mid] for v in (a, b, c))
        p = a * b
        t = p + c
        bb = t - p
        e = (p - (t - bb)) + (c - bb)
        t = np.where(e != 0, _next_toward(t, e), t)
        r[mid] = t.astype(_F32)
    return r


def fma64(a, b, c):
    """``RN64(a*b + c)`` for float64 arrays: Dekker's exact product, TwoSum, and
    Boldo-Melquiond's round-to-odd addition of the two error terms."""
    a, b, c = np.broadcast_arrays(np.asarray(a, _F64), np.asarray(b, _F64), np.asarray(c, _F64))
    p = a * b
    t = a * 134217729.0
    ah = t - (t - a)
    al = a - ah
    t = b * 134217729.0
    bh = t - (t - b)
    bl = b - bh
    pe = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    th = c + p
    bb = th - c
    tl = (c - (th - bb)) + (p - bb)
    s = tl + pe
    bb = s - tl
    e = (tl - (s - bb)) + (pe - bb)
    fix = (e != 0) & ((s.view(_U64) & _U64(1)) == 0)
    if fix.any():
        s = np.where(fix, _next_toward(s, e), s)
    return th + s


def affine64(z, std, mean):
    """``z*std + mean`` as PyTorch's float64 kernels round it (fused in the AVX2 build)."""
    if std == 1.0:
        return z + mean
    if mean == 0.0:
        return z * std + 0.0
    if _fused():
        return fma64(z, std, mean)
    return z * std + mean


def affine32(x, w, f):
    """``x*w + f`` in float32 (fused in the AVX2 build); ``w``, ``f`` float32 scalars."""
    if w == 1.0:
        return x + f
    if f == 0.0:
        return x * w + _F32(0.0)
    if _fused():
        return fma32(x, w, f)
    return x * w + f


def _map(fn, x):
    return np.fromiter(map(fn, x.ravel().tolist()), _F64, x.size).reshape(x.shape)


# NOTE [libm64]: PyTorch's double kernels call the C library's log/sin/...; Python's ``math``
# calls the same functions, but one element at a time (~0.2 s per million). NumPy calls them
# too unless it has its own SIMD routine for the CPU (AVX512F log/exp, SVML on AVX512_SKX...),
# which differ in the last bit for a few percent of arguments. So each function is probed once
# on 2**14 arguments from the range these kernels use: NumPy's is used where it agrees on all
# of them, ``math`` mapped over the elements otherwise.
_PROBES = {"log": lambda u: 1.0 - u, "log1p": lambda u: -u, "sin": lambda u: 2 * math.pi * u,
           "cos": lambda u: 2 * math.pi * u, "tan": lambda u: math.pi * (u - 0.5),
           "exp": lambda u: 60.0 * u - 30.0}
_NUMPY_IS_LIBM = {}


def libm64(name, x):
    """The C library's double ``name`` (a ``math`` function) over float64 array ``x``."""
    same = _NUMPY_IS_LIBM.get(name)
    if same is None:
        u = np.arange(1, 1 << 14) * 0.6180339887498949 % 1.0  # (no generator is touched)
        a = _PROBES[name](u)
        same = _NUMPY_IS_LIBM[name] = bool(
            np.array_equal(getattr(np, name)(a), _map(getattr(math, name), a)))
    if same:
        with np.errstate(divide="ignore", over="ignore"):
            return getattr(np, name)(x)
    if name == "log":
        return _map(lambda v: math.log(v) if v > 0 else -math.inf, x)
    return _map(getattr(math, name), x)


# ---- casts to the output dtype ----
def cast(values, np_dtype):
    """Round float64/float32 values to ``np_dtype``; float64 goes to the narrow float types
    through float32, as PyTorch does."""
    if values.dtype == np_dtype:
        return values
    if values.dtype == _F64 and _is_narrow(np_dtype):
        values = values.astype(_F32)
    return values.astype(np_dtype)


def _is_narrow(np_dtype):
    return np_dtype == np.float16 or np_dtype.name == "bfloat16"


# ---- uniform ----
def uniform(eng, n, lo, hi, np_dtype):
    if np_dtype == _F64:
        x = u53(eng, n)
        v = affine64(x, hi - lo, lo)
        v[v == hi] = lo
        return v
    f, t = _F32(lo), _F32(hi)
    x = u24(eng, n)
    v = cast(affine32(x, t - f, f), np_dtype)
    top = np.asarray(t).astype(np_dtype)
    v[v == top] = np.asarray(f).astype(np_dtype)
    return v


# ---- normal ----
def normal_scalar(eng, n, mean, std):
    """PyTorch's scalar Box-Muller path (float64), using and refilling the engine's cache."""
    out = np.empty(n, _F64)
    start = 0
    if n and eng.normal_d is not None:
        out[0] = eng.normal_d
        eng.normal_d = None
        start = 1
    m = n - start
    if m > 0:
        pairs = (m + 1) // 2
        ab = u53(eng, 2 * pairs).reshape(pairs, 2)
        r = np.sqrt(-2.0 * libm64("log1p", -ab[:, 1]))
        theta = (2.0 * math.pi) * ab[:, 0]
        z = np.empty((pairs, 2), _F64)
        z[:, 0] = r * libm64("cos", theta)
        z[:, 1] = r * libm64("sin", theta)
        z = z.reshape(-1)
        out[start:] = z[:m]
        if m % 2:
            eng.normal_d = float(z[-1])
    return affine64(out, std, mean)


def _bits32(v):
    return np.uint32(v).view(_F32)


_P = [_bits32(b) for b in (0x3D9021BB, 0xBDEBD1B8, 0x3DEF251A, 0xBDFE5D4F, 0x3E11E9BF,
                           0xBE2AAE50, 0x3E4CCEAC, 0xBE7FFFFC, 0x3EAAAAAA)]
_Q1, _Q2, _SQRTHF = _bits32(0xB95E8083), _bits32(0x3F318000), _bits32(0x3F3504F3)
_TWO_PI, _FOPI = _bits32(0x40C90FDB), _bits32(0x3FA2F983)
_DP1, _DP2, _DP3 = _bits32(0xBF490000), _bits32(0xB97DA000), _bits32(0xB3222169)
_COS = [_bits32(b) for b in (0x37CCF5CE, 0xBAB6061A, 0x3D2AAAA5)]
_SIN = [_bits32(b) for b in (0xB94CA1F9, 0x3C08839E, 0xBE2AAAA3)]
_ONE, _HALF = _F32(1.0), _F32(0.5)


def _log_avx2(x):
    """The AVX2 kernel's Cephes logf for float32 ``x`` in (0, 1], with its fused steps."""
    bits = x.view(np.uint32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 127).astype(_F32) + _ONE
    m = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(_F32)
    small = (m < _SQRTHF).astype(_F32)  # (arithmetic selects: np.where on a random mask is
    e -= small                          # ~10x slower)
    t = (m - _ONE) + m * small
    z = t * t
    y = fma32(_P[0], t, _P[1])
    for p in _P[2:]:
        y = fma32(y, t, p)
    y = fma32(t * y, z, e * _Q1)
    y = y - z * _HALF
    return e * _Q2 + (t + y)  # e*Q2 is exact (Q2 has 9 significant bits): the fma rounds once


def _sincos_avx2(theta):
    """The AVX2 kernel's Cephes sincosf for float32 ``theta`` in [0, 2*pi)."""
    j = (theta * _FOPI).astype(np.int32)
    j = (j + 1) & ~np.int32(1)
    jf = j.astype(_F32)
    x = jf * _DP1 + theta  # jf*DP1 and jf*DP2 are exact (short constants): one rounding each
    x = jf * _DP2 + x
    x = fma32(jf, _DP3, x)
    z = x * x
    c = fma32(fma32(_COS[0], z, _COS[1]), z, _COS[2])
    c = fma32(z, z * c, -(z * _HALF)) + _ONE
    s = fma32(fma32(_SIN[0], z, _SIN[1]), z, _SIN[2])
    s = fma32(x, z * s, x)
    # swap where j & 2, then flip signs, on the bit patterns (a select by mask, branch-free)
    sb, cb = s.view(np.uint32), c.view(np.uint32)
    d = (sb ^ cb) & (-((j >> 1) & 1)).view(np.uint32)
    S = sb ^ d ^ ((j & 4) << 29).view(np.uint32)
    C = cb ^ d ^ ((~(j - 2) & 4) << 29).view(np.uint32)
    return S.view(_F32), C.view(_F32)


_LIBM = None


def _libm():
    """The C library's logf/sinf/cosf through ctypes (None where unreachable)."""
    global _LIBM
    if _LIBM is None:
        try:
            import ctypes
            import ctypes.util

            lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
            fns = []
            for name in ("logf", "sinf", "cosf"):
                f = getattr(lib, name)
                f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
                fns.append(f)
            _LIBM = tuple(fns)
        except (OSError, AttributeError):
            _LIBM = False
    return _LIBM or None


def _map32(fn, x, fallback):
    lib = _libm()
    if lib is None:  # correctly rounded float32: ~1.5% of outputs one step off glibc's
        return getattr(np, fallback)(x.astype(_F64)).astype(_F32)
    f = lib[("logf", "sinf", "cosf").index(fn)]
    return np.fromiter(map(f, x.reshape(-1).tolist()), _F32, x.size).reshape(x.shape)


def _fill16_f32(x, mean, std):
    """In place on float32 ``x`` of shape (q, 16): the vectorised float32 normal kernel
    (lanes 0-7 of each block give the radii and the cosine outputs, 8-15 the angles and the
    sine outputs; each half is made contiguous first, as strided operands are 2x slower)."""
    q = x.shape[0]
    u1 = (_ONE - x[:, :8]).reshape(-1)
    u2 = np.ascontiguousarray(x[:, 8:]).reshape(-1)
    if _fused():
        radius = np.sqrt(_log_avx2(u1) * _F32(-2.0))
        S, C = _sincos_avx2(_TWO_PI * u2)
    else:
        radius = np.sqrt(_F32(-2.0) * _map32("logf", u1, "log"))
        theta = ((2.0 * math.pi) * u2.astype(_F64)).astype(_F32)
        S, C = _map32("sinf", theta, "sin"), _map32("cosf", theta, "cos")
    mean, std = _F32(mean), _F32(std)
    # the final fma is in both builds
    x[:, :8] = _affine32_fused(radius * C, std, mean).reshape(q, 8)
    x[:, 8:] = _affine32_fused(radius * S, std, mean).reshape(q, 8)


def _affine32_fused(x, w, f):
    if w == 1.0:
        return x + f
    if f == 0.0:
        return x * w + _F32(0.0)
    return fma32(x, w, f)


def _affine64_fused(z, std, mean):
    if std == 1.0:
        return z + mean
    if mean == 0.0:
        return z * std + 0.0
    return fma64(z, std, mean)


def normal_vector(eng, n, mean, std, np_dtype):
    """The vectorised paths (contiguous, ``n >= 16``)."""
    if np_dtype == _F64:
        d = u53(eng, n)
        q = n // 16
        _fill16_f64_fused(d[:16 * q].reshape(q, 16), mean, std)
        if n % 16:
            t = u53(eng, 16).reshape(1, 16)
            _fill16_f64_fused(t, mean, std)
            d[n - 16:] = t[0]
        return d
    q = n // 16
    if np_dtype == _F32:
        d = u24(eng, n)
        _fill16_f32(d[:16 * q].reshape(q, 16), mean, std)
    else:  # half types draw whole blocks only
        d = np.empty(n, _F32)
        d[:16 * q] = u24(eng, 16 * q)
        _fill16_f32(d[:16 * q].reshape(q, 16), mean, std)
    if n % 16:
        t = u24(eng, 16).reshape(1, 16)
        _fill16_f32(t, mean, std)
        d[n - 16:] = t[0]
    return cast(d, np_dtype)


def _fill16_f64_fused(x, mean, std):
    u1 = 1.0 - x[:, :8]
    radius = np.sqrt(-2.0 * libm64("log", u1))
    theta = (2.0 * math.pi) * x[:, 8:]
    c = radius * libm64("cos", theta)
    s = radius * libm64("sin", theta)
    x[:, :8] = _affine64_fused(c, std, mean)
    x[:, 8:] = _affine64_fused(s, std, mean)


# ---- integers ----
def random_full(eng, n, np_dtype):
    """``random_()`` without bounds."""
    if np_dtype == np.int64:
        return (eng.words64(n) & _U64((1 << 63) - 1)).astype(np.int64)
    if np_dtype == _F64:
        return (eng.words64(n) % _U64((1 << 53) + 1)).astype(_F64)
    w = eng.words(n)
    if np_dtype == np.bool_:
        return (w & np.uint32(1)).astype(np.bool_)
    mod = {np.dtype(np.int32): 1 << 31, np.dtype(np.int16): 1 << 15, np.dtype(np.int8): 128,
           np.dtype(np.uint8): 256, np.dtype(_F32): (1 << 24) + 1,
           np.dtype(np.float16): (1 << 11) + 1}.get(np.dtype(np_dtype), (1 << 8) + 1)
    return cast_int((w.astype(np.int64) % mod), np_dtype)


def cast_int(v, np_dtype):
    """int64 values to ``np_dtype``: two's complement wrap, or rounding (via float32 for the
    narrow float types)."""
    if _is_narrow(np.dtype(np_dtype)):
        return v.astype(_F32).astype(np_dtype)
    return v.astype(np_dtype)


def random_range(eng, n, lo, span):
    """``(r mod span) + lo`` with one word per element below 2**28, else a 64-bit draw
    (wrapping 64-bit arithmetic); int64 out."""
    if span < (1 << 28):
        return eng.words(n).astype(np.int64) % span + lo
    r = eng.words64(n) % _U64(span)
    return (r + _U64(lo % (1 << 64))).view(np.int64)


def randperm(eng, n):
    if n < 214748364:
        if n < 2:
            return np.arange(n, dtype=np.int64)
        # swap r[i] with r[i + (w mod (n - i))], in order. The remainders through float64:
        # floor(w / d) is exact for w < 2**32, d < 2**31 (~2x faster than int64 %).
        d = np.arange(n, 1, -1, dtype=_F64)
        w = eng.words(n - 1).astype(_F64)
        q = w / d
        np.floor(q, out=q)
        q *= d
        w -= q
        w += np.arange(n - 1, dtype=_F64)
        z = w.astype(np.int64)
        if n <= 1024:  # (the loop is faster for short permutations: ~0.2 us per item)
            r = list(range(n))
            for i, k in enumerate(z.tolist()):
                r[i], r[k] = r[k], r[i]
            return np.array(r, dtype=np.int64)
        return _swaps_in_order(z, n)
    r = np.empty(n, np.int64)  # PyTorch's "inside-out" shuffle for huge n
    w = eng.words64(n)
    for i in range(n):
        z = int(w[i] % _U64(i + 1))
        r[i] = r[z]
        r[z] = i
    return r


def _swaps_in_order(z, n):
    """``r = arange(n); for i: swap r[i], r[z[i]]`` (``z[i] >= i``) without the loop.

    Step i fixes r[i] for good (later steps touch only positions after it) and leaves the value
    it found at position i (``pre[i]``) at position z[i]. So r[i] is ``pre[j]`` for the latest
    step j < i with z[j] == z[i], or z[i] when no earlier step wrote there; and ``pre[i]`` is
    ``pre[j]`` for the latest step j < i with z[j] == i, or i. The steps are grouped by target
    (one sort) and the chains of ``pre`` are followed by pointer jumping (log of their length
    in passes)."""
    ar = np.arange(n, dtype=np.int64)
    z = np.append(z, n - 1)  # (the last position's step: a self-swap)
    key = np.sort((z << 32) | ar)  # by target, then step
    v = key >> 32
    j = key & 0xFFFFFFFF
    same = v[1:] == v[:-1]  # entry k + 1 has entry k's target
    # the latest step before v writing position v: the last of v's group, or the one before
    # it when the last is step v itself (a group's steps are all <= its target)
    last = j < v
    last[:-1] &= ~same | (j[1:] == v[1:])
    p = ar.copy()
    p[v[last]] = j[last]
    while True:
        q = p[p]
        if np.array_equal(q, p):
            break
        p = q
    out = v.copy()
    out[1:][same] = p[j[:-1][same]]
    r = np.empty(n, np.int64)
    r[j] = out
    return r


# ---- Bernoulli, exponential and friends ----
def bernoulli_scalar(eng, n, p):
    """``u53 < p``, compared as ``W & (2**53 - 1) < p * 2**53`` (both exact)."""
    return m53(eng, n) < p * 2.0 ** 53


def exponential(eng, n, lambd):
    u = u53(eng, n)
    return (-1.0 / lambd) * libm64("log1p", -u)


def geometric(eng, n, p):
    u = u53(eng, n)
    lp = math.log1p(-p)
    return np.ceil(libm64("log", u) / lp)


def cauchy(eng, n, median, sigma):
    u = u53(eng, n)
    t = libm64("tan", math.pi * (u - 0.5))
    if _fused():
        return fma64(sigma, t, median)
    return median + sigma * t


def log_normal(eng, n, mean, std):
    return libm64("exp", normal_scalar(eng, n, mean, std))


# ---- topk with ties, as libstdc++ orders them ----
def topk_indices(row, k):
    """Indices of the ``k`` largest of ``row`` (NaN largest), in the order PyTorch's CPU
    ``topk`` returns them. With distinct values that order is unique; with ties it is the one
    libstdc++'s ``partial_sort`` / ``nth_element`` + ``sort`` leave, replayed here."""
    if k == 1:
        return [int(np.argmax(row))]  # the first maximum; a NaN counts as the maximum
    nan = np.isnan(row)
    if not nan.any():
        order = np.argsort(-row.astype(_F64), kind="stable")
        top = row[order[:k + 1]]
        if (np.diff(top.astype(_F64)) < 0).all():
            return order[:k].tolist()
    from .ops._stl_order import topk_row

    return topk_row(row.tolist(), k, True)
