"""dtype objects, the default dtype, and PyTorch's type promotion.

Contract:
- ``float32``, ``int64``, ... are singletons of :class:`dtype`; they print as PyTorch's do
  (``torch.float32``) so that output written for PyTorch reads the same under ember.
- ``to_np(dtype)`` / ``from_np(np.dtype)`` translate to and from NumPy dtypes.
- ``result_type(*operands)`` implements PyTorch's promotion, not NumPy's: Python scalars are
  weak (they only raise the category: bool < integer < floating < complex, and then give the
  default dtype of that category), 0-dim tensors rank below dimensioned tensors, and within a
  category the wider dtype wins (``promote_types``).
- ``uint16``/``uint32``/``uint64`` are PyTorch's unsigned types of limited support: they
  promote with floating and complex types (and themselves) only; with any other integer or bool
  type promotion raises PyTorch's RuntimeError (NOTE [limited unsigned types]).
- bfloat16 is backed by the optional ``ml_dtypes`` package (``pip install ember[bfloat16]``);
  without it, using ``ember.bfloat16`` raises a TypeError that says so.
"""

from __future__ import annotations

import builtins
import sys

import numpy as np

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
    "float16", "bfloat16",
    "float32", "float64", "complex64", "complex128", "get_default_dtype", "set_default_dtype",
    "promote_types", "result_type", "finfo", "iinfo",
]


# NOTE [lazy bfloat16]: NumPy has no bfloat16; ml_dtypes (the package JAX uses) adds one. It
# is imported on first use of bfloat16 (``bfloat16.np``, or a bfloat16 array handed to ember),
# not with ember: importing it takes longer than importing all of ember (over a second for
# ml_dtypes 0.7 on a 2-core machine). Until then ``bfloat16._np`` is None and ``HALF_NP`` (the
# half types, accumulated in float32) holds float16 only. Test an array's dtype with
# ``is_bfloat16``, never ``== bfloat16._np``: NumPy reads ``dtype == None`` as
# ``dtype == float64``, so that comparison is True for every float64 array until ml_dtypes loads.
_ml_dtypes = None
_BF16_NP = None
HALF_NP = [np.dtype(np.float16)]


def _load_bfloat16():
    """Import ml_dtypes and give ``bfloat16`` its NumPy dtype; False if it is missing."""
    global _ml_dtypes, _BF16_NP
    if _BF16_NP is None:
        try:
            import ml_dtypes
        except ImportError:
            return False
        _ml_dtypes, _BF16_NP = ml_dtypes, np.dtype(ml_dtypes.bfloat16)
        bfloat16._np = _BF16_NP
        _FROM_NP[_BF16_NP] = bfloat16
        HALF_NP.append(_BF16_NP)
    return True

def is_bfloat16(np_dtype) -> bool:
    """Whether a NumPy dtype is ml_dtypes' bfloat16 (False while ml_dtypes is not loaded)."""
    return np_dtype.kind == "V" and _BF16_NP is not None and np_dtype == _BF16_NP


BFLOAT16_MISSING = (
    "ember.bfloat16 needs the optional ml_dtypes package (NumPy has no bfloat16): "
    "pip install 'ember[bfloat16]'"
)


class dtype:
    """A tensor element type, e.g. ``ember.float32``. Compares by identity, prints as PyTorch."""

    __slots__ = ("name", "_np", "is_floating_point", "is_complex", "is_signed", "itemsize",
                 "_category", "_rank")

    def __init__(self, name, np_dtype, category, rank, itemsize, signed):
        self.name = name
        self._np = np_dtype
        self._category = category  # 0 bool, 1 integer, 2 floating, 3 complex
        self._rank = rank
        self.is_floating_point = category == 2
        self.is_complex = category == 3
        self.is_signed = signed
        self.itemsize = itemsize

    def __repr__(self):
        return "torch." + self.name

    @property
    def scalar_name(self) -> str:
        """PyTorch's ScalarType name, as most of its error messages print it (``Float``)."""
        return _SCALAR_NAMES[self.name]

    @property
    def cpp_name(self) -> str:
        """The C++ element type, as some PyTorch messages print it (``float``, ``long int``)."""
        return _CPP_NAMES[self.name]

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self):
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self):
        return {float16: complex64, bfloat16: complex64, float32: complex64,
                float64: complex128}.get(self, self)

    @property
    def np(self) -> np.dtype:
        """The NumPy dtype that stores this type (TypeError for bfloat16 without ml_dtypes)."""
        if self._np is None and not _load_bfloat16():
            raise TypeError(BFLOAT16_MISSING)
        return self._np


bool = dtype("bool", np.dtype(np.bool_), 0, 0, 1, False)  # noqa: A001 - PyTorch's name
uint8 = dtype("uint8", np.dtype(np.uint8), 1, 1, 1, False)
int8 = dtype("int8", np.dtype(np.int8), 1, 1, 1, True)
int16 = dtype("int16", np.dtype(np.int16), 1, 2, 2, True)
int32 = dtype("int32", np.dtype(np.int32), 1, 3, 4, True)
int64 = dtype("int64", np.dtype(np.int64), 1, 4, 8, True)
# (ranks past int64's: NOTE [limited unsigned types], _promote refuses them with the others)
uint16 = dtype("uint16", np.dtype(np.uint16), 1, 5, 2, False)
uint32 = dtype("uint32", np.dtype(np.uint32), 1, 6, 4, False)
uint64 = dtype("uint64", np.dtype(np.uint64), 1, 7, 8, False)
float16 = dtype("float16", np.dtype(np.float16), 2, 1, 2, True)
bfloat16 = dtype("bfloat16", _BF16_NP, 2, 1, 2, True)
float32 = dtype("float32", np.dtype(np.float32), 2, 2, 4, True)
float64 = dtype("float64", np.dtype(np.float64), 2, 3, 8, True)
complex64 = dtype("complex64", np.dtype(np.complex64), 3, 2, 8, True)
complex128 = dtype("complex128", np.dtype(np.complex128), 3, 3, 16, True)

# PyTorch's aliases
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
cfloat, cdouble = complex64, complex128

_SCALAR_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
                 "int64": "Long", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
                 "float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
                 "float64": "Double", "complex64": "ComplexFloat",
                 "complex128": "ComplexDouble"}

_CPP_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char",
              "int16": "short int", "int32": "int", "int64": "long int",
              "uint16": "unsigned short", "uint32": "unsigned int", "uint64": "unsigned long",
              "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double",
              "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}

ALL = (bool, uint8, int8, int16, int32, int64, uint16, uint32, uint64, float16, bfloat16, float32,
       float64, complex64, complex128)
LIMITED_UNSIGNED = (uint16, uint32, uint64)
_NAMES = {d.name: d for d in ALL}
_FROM_NP = {d._np: d for d in ALL if d._np is not None}
if "ml_dtypes" in sys.modules:  # already paid for by the program: no reason to wait
    _load_bfloat16()


def _by_name(name):
    return _NAMES[name]


def from_np(np_dtype) -> dtype:
    """The ember dtype of a NumPy dtype; TypeError for types PyTorch has no equivalent of."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    np_dtype = np.dtype(np_dtype)
    if np_dtype in _FROM_NP or (np_dtype.name == "bfloat16" and _load_bfloat16()):
        return _FROM_NP[np_dtype]
    raise TypeError(
        f"can't convert np.ndarray of type numpy.{np_dtype.type.__name__}. The only supported "
        "types are: "
        "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint64, "
        "uint32, uint16, uint8, and bool.")


def to_np(d: dtype) -> np.dtype:
    return d.np


# ---- default dtype ------------------------------------------------------------------------

_default = [float32]


def get_default_dtype() -> dtype:
    """The floating dtype used for Python floats and float factories (float32 at start)."""
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype; only floating types are allowed, as in PyTorch."""
    if not isinstance(d, dtype) or not d.is_floating_point or d is bfloat16:
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d
    _RESULT_CACHE.clear()


def default_complex_dtype() -> dtype:
    return complex128 if _default[0] is float64 else complex64


# ---- promotion ----------------------------------------------------------------------------

def _promote(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if (a._rank > 4 and a._category == 1 and b._category < 2) or (
            b._rank > 4 and b._category == 1 and a._category < 2):
        return None  # NOTE [limited unsigned types]: promote_types raises
    if a._category != b._category:
        lo, hi = (a, b) if a._category < b._category else (b, a)
        if hi.is_complex and lo.is_floating_point and lo._rank > hi._rank:
            return complex128
        return hi
    if a.is_floating_point:
        if a._rank == b._rank:  # float16 with bfloat16
            return float32
        return a if a._rank > b._rank else b
    if a.is_complex:
        return a if a._rank > b._rank else b
    # integers: uint8 with a signed type needs a signed type that holds 0..255
    if a is uint8 or b is uint8:
        other = b if a is uint8 else a
        return int16 if other is int8 else other
    return a if a._rank > b._rank else b


_PROMOTE = {(a, b): _promote(a, b) for a in ALL for b in ALL}


def _unsigned_error(a, b):
    return RuntimeError("Promotion for uint16, uint32, uint64 types is not supported, attempted "
                        f"to promote {a.scalar_name} and {b.scalar_name}")


def refuse_unsigned(kernel: str, np_dtype) -> None:
    """NOTE [limited unsigned types]: PyTorch builds most integer kernels (add, comparisons,
    max, neg, matmul...) without uint16/uint32/uint64; an op whose kernel is one of those calls
    this (after a cheap ``np_dtype.kind == "u" and np_dtype.itemsize > 1`` test of its own) to
    raise PyTorch's NotImplementedError naming the kernel."""
    if np_dtype.kind == "u" and np_dtype.itemsize > 1:
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{from_np(np_dtype).scalar_name}'")


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """The smallest dtype both arguments convert to without losing category (PyTorch's table).

    NOTE [limited unsigned types]: uint16/uint32/uint64 promote only with themselves and with
    floating and complex types; PyTorch raises for any other pair (uint8 and bool included)."""
    res = _PROMOTE[(type1, type2)]
    if res is None:
        raise _unsigned_error(type1, type2)
    return res


def _skip(a, b):
    if a is None:
        return b
    if b is None:
        return a
    res = _PROMOTE[(a, b)]
    if res is None:
        raise _unsigned_error(a, b)
    return res


def _combine(higher, lower):
    """PyTorch's combine_categories: ``lower`` only counts if its category is higher."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_complex:
        return higher
    if lower.is_complex:
        return higher.to_complex() if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher is bool or lower.is_floating_point:
        return _skip(higher, lower)
    return higher


def scalar_dtype(value) -> dtype:
    """The dtype a Python scalar takes in promotion (floats give the default dtype)."""
    t = type(value)
    if t is builtins.float:
        return _default[0]
    if t is builtins.int:
        return int64
    if t is builtins.bool or isinstance(value, np.bool_):
        return bool
    if isinstance(value, (builtins.int, np.integer)):
        return int64
    if isinstance(value, (builtins.float, np.floating)):
        return _default[0]
    if isinstance(value, (builtins.complex, np.complexfloating)):
        return default_complex_dtype()
    raise TypeError(f"unsupported scalar type {t.__name__}")


_RESULT_CACHE: dict = {}


def result_type_of(dims, zeros, wrapped) -> dtype:
    """Combine three iterables of dtypes: dimensioned tensors, 0-dim tensors, Python scalars."""
    d = z = w = None
    for x in dims:
        d = _skip(d, x)
    for x in zeros:
        z = _skip(z, x)
    for x in wrapped:
        w = _skip(w, x)
    return _combine(d, _combine(z, w))


def result_type(*operands) -> dtype:
    """PyTorch's ``torch.result_type`` over tensors, Python scalars and dtypes."""
    dims, zeros, wrapped = [], [], []
    for x in operands:
        if isinstance(x, dtype):
            dims.append(x)
        elif hasattr(x, "_data"):
            (dims if x._data.ndim else zeros).append(from_np(x._data.dtype))
        else:
            wrapped.append(scalar_dtype(x))
    return result_type_of(dims, zeros, wrapped)


_SCALAR_TYPES = (builtins.bool, builtins.int, builtins.float, builtins.complex, np.generic)


def binary_result_np(a: np.ndarray, b) -> np.dtype:
    """Result NumPy dtype of a binary op on an array (of any library: NumPy's, a device's) and
    an array or Python scalar (cached)."""
    if type(b) is np.ndarray or not isinstance(b, _SCALAR_TYPES) and hasattr(b, "dtype"):
        key = (a.dtype, a.ndim == 0, b.dtype, b.ndim == 0)
    else:
        key = (a.dtype, a.ndim == 0, type(b))
    try:
        return _RESULT_CACHE[key]
    except KeyError:
        pass
    da = from_np(a.dtype)
    if len(key) == 4:
        db = from_np(b.dtype)
        groups = ([], [], [])
        groups[1 if key[1] else 0].append(da)
        groups[1 if key[3] else 0].append(db)
        res = result_type_of(*groups)
    else:
        res = result_type_of([] if key[1] else [da], [da] if key[1] else [], [scalar_dtype(b)])
    _RESULT_CACHE[key] = res.np
    return res.np


# ---- finfo / iinfo ------------------------------------------------------------------------

class finfo:
    """Machine limits of a floating dtype, like ``torch.finfo``."""

    def __init__(self, type: dtype | None = None):  # noqa: A002 - PyTorch's argument name
        type = type or _default[0]
        if not (type.is_floating_point or type.is_complex):
            raise TypeError("torch.finfo() requires a floating point input type. Use "
                            "torch.iinfo to handle 'torch.finfo'")
        info = np.finfo(type.to_real().np)
        self.dtype = type.to_real().name
        self.bits = info.bits
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.tiny)
        self.resolution = builtins.float(info.resolution)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype, like ``torch.iinfo``."""

    def __init__(self, type: dtype):  # noqa: A002
        if type.is_floating_point or type.is_complex or type is bool:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo "
                            "to handle 'torch.iinfo'")
        info = np.iinfo(type.np)
        self.dtype = type.name
        self.bits = info.bits
        self.max = builtins.int(info.max)
        self.min = builtins.int(info.min)

    def __repr__(self):
        # (PyTorch prints the limits as C's %g: 4.29497e+09)
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
