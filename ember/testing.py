"""``ember.testing``: ``assert_close`` (and the deprecated ``assert_allclose``), as
``torch.testing``'s.

Contract: PyTorch's rules and messages. Tensors (or two ndarrays) compare by shape, device,
dtype (``check_dtype``) and strides (``check_stride``), then by value within ``rtol``/``atol``
(PyTorch's defaults per dtype: float32 1.3e-6/1e-5, float64 1e-7/1e-7, float16 1e-3/1e-5,
bfloat16 1.6e-2/1e-5, exact for integers and bools); Python numbers, bools and None compare as
PyTorch does; sequences and mappings recurse, naming the failing item. A failure raises
AssertionError with PyTorch's text ("Tensor-likes are not close!", the mismatched-element count,
the greatest absolute and relative differences and where), replaced by ``msg`` when it is a
string or passed through it when it is a callable.
"""

from __future__ import annotations

import builtins
import collections.abc
import math
import warnings

import numpy as np

from . import dtypes as _dt
from .tensor import Tensor

__all__ = ["assert_close", "assert_allclose"]

# (rtol, atol) by dtype; any other dtype compares exactly
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex32": (1e-3, 1e-5),
               "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}
# assert_allclose's own (older) table
_OLD_TOLERANCES = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-5, 1e-8)}


class _Failure(Exception):
    """A comparison failure, raised as ``kind(message)`` once the item path is known."""

    def __init__(self, kind, message, path=()):
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, path


def _type_repr(x):
    # ember's names follow PyTorch's (as its dtypes print ``torch.float32``)
    return "<class 'torch.Tensor'>" if isinstance(x, Tensor) else repr(type(x))


def _tolerances(dtypes, rtol, atol, table=_TOLERANCES):
    if rtol is not None:
        return rtol, atol
    pairs = [table.get(d.name, (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _mismatch(identifier, rtol, atol, extra, abs_diff, rel_diff, abs_idx=None, rel_idx=None):
    equality = rtol == 0 and atol == 0
    lines = [f"{identifier} are not {'equal' if equality else 'close'}!", "", extra]
    for kind, diff, idx, tol in (("absolute", abs_diff, abs_idx, atol),
                                 ("relative", rel_diff, rel_idx, rtol)):
        line = (f"{kind.title()} difference: {diff}" if idx is None
                else f"Greatest {kind} difference: {diff} at index {idx}")
        lines.append(line if equality else f"{line} (up to {tol} allowed)")
    return "\n".join(lines)


# ---- numbers ------------------------------------------------------------------------------

_NUMBER_DTYPES = {builtins.int: _dt.int64, builtins.float: _dt.float64,
                  builtins.complex: _dt.complex128}


def _number_kind(x):
    for t in (builtins.complex, builtins.float, builtins.int):
        if isinstance(x, t):
            return t
    return None


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype):
    ka, ke = _number_kind(actual), _number_kind(expected)
    if check_dtype and ka is not ke:
        raise _Failure(AssertionError,
                       f"The (d)types do not match: {ka!r} != {ke!r}.")
    rtol, atol = _tolerances([_NUMBER_DTYPES[ka], _NUMBER_DTYPES[ke]], rtol, atol)
    if actual == expected:
        return
    if equal_nan and _isnan(actual) and _isnan(expected):
        return
    abs_diff = abs(actual - expected)
    if (rtol or atol) and math.isfinite(abs_diff) and abs_diff <= atol + rtol * abs(expected):
        return
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    raise _Failure(AssertionError, _mismatch(
        "Scalars", rtol, atol, f"Expected {expected} but got {actual}.", abs_diff, rel_diff))


def _isnan(x):
    return x != x


# ---- tensors ------------------------------------------------------------------------------

def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                     check_stride):
    checks = [("shape", lambda t: t.shape)]
    if check_device:
        checks.append(("device", lambda t: t.device))
    if check_dtype:
        checks.append(("dtype", lambda t: t.dtype))
    if check_stride:
        checks.append(("stride()", lambda t: t.stride()))
    for name, get in checks:
        a, e = get(actual), get(expected)
        if a != e:
            raise _Failure(AssertionError,
                           f"The values for attribute '{name}' do not match: {a} != {e}.")
    rtol, atol = _tolerances([actual.dtype, expected.dtype], rtol, atol)
    a, e = actual.detach()._data, expected.detach()._data
    if a.dtype != e.dtype:
        common = _dt.promote_types(actual.dtype, expected.dtype).np
        a, e = a.astype(common), e.astype(common)
    # half types stay in their dtype (ml_dtypes gives bfloat16 arithmetic), as PyTorch
    # computes the differences, so the reported values round alike
    if a.dtype.kind in "biu":  # as PyTorch: integer differences in int64
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(all="ignore"):
        matches = a == e
        if equal_nan and a.dtype.kind in "fc":
            matches |= np.isnan(a) & np.isnan(e)
        if rtol or atol:
            error = np.abs(a - e)
            matches |= np.isfinite(error) & (error <= atol + np.abs(rtol * e))
    if matches.all():
        return
    if a.ndim == 0:
        raise _Failure(AssertionError, _scalar_message(a.item(), e.item(), rtol, atol))
    raise _Failure(AssertionError, _tensor_message(a, e, matches, rtol, atol))


def _scalar_message(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch("Scalars", rtol, atol, f"Expected {expected} but got {actual}.", abs_diff,
                     rel_diff)


def _tensor_message(a, e, matches, rtol, atol):
    total = matches.size
    wrong = total - int(matches.sum())
    extra = f"Mismatched elements: {wrong} / {total} ({wrong / total:.1%})"
    flat_match = matches.reshape(-1)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(a.reshape(-1) - e.reshape(-1))
        abs_diff[flat_match] = 0
        denominator = np.abs(e.reshape(-1))
        if abs_diff.dtype.kind in "iu":  # PyTorch's true division: the default float dtype
            rel_diff = (abs_diff.astype(np.float32) / denominator.astype(np.float32))
        else:
            rel_diff = abs_diff / denominator
        rel_diff[flat_match] = 0
    ia, ir = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    return _mismatch("Tensor-likes", rtol, atol, extra, abs_diff[ia].item(), rel_diff[ir].item(),
                     _unravel(ia, a.shape), _unravel(ir, a.shape))


def _unravel(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape))


# ---- the recursion ------------------------------------------------------------------------

def _is_sequence(x):
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, (str, bytes))


def _compare(actual, expected, path, options):
    try:
        _compare_pair(actual, expected, path, options)
    except _Failure as failure:
        if not failure.path:
            failure.path = path
        raise


def _compare_pair(actual, expected, path, options):
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Failure(AssertionError, "The length of the sequences mismatch: "
                           f"{len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, (*path, i), options)
        return
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected,
                                                                  collections.abc.Mapping):
        ka, ke = set(actual.keys()), set(expected.keys())
        if ka != ke:
            lines = ["The keys of the mappings do not match:"]
            if ke - ka:
                lines.append(f"Missing keys in the actual mapping: {sorted(ke - ka)}")
            if ka - ke:
                lines.append(f"Additional keys in the actual mapping: {sorted(ka - ke)}")
            raise _Failure(AssertionError, "\n".join(lines))
        keys = list(actual.keys())
        try:
            keys = sorted(keys)
        except TypeError:
            pass
        for k in keys:
            _compare(actual[k], expected[k], (*path, k), options)
        return
    rtol, atol, equal_nan, check_device, check_dtype, check_stride = options
    if actual is None or expected is None:
        if actual is None and expected is None:
            return
        raise _Failure(AssertionError, f"None mismatch: {actual} is not {expected}")
    bools = (builtins.bool, np.bool_)
    if isinstance(actual, bools) and isinstance(expected, bools):
        if builtins.bool(actual) != builtins.bool(expected):
            raise _Failure(AssertionError, f"Booleans mismatch: {actual} is not {expected}")
        return
    numbers = (builtins.int, builtins.float, builtins.complex)
    if (isinstance(actual, numbers) and isinstance(expected, numbers)
            and not isinstance(actual, bools) and not isinstance(expected, bools)):
        _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype)
        return
    if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        from .creation import from_numpy

        actual, expected = from_numpy(actual), from_numpy(expected)
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                         check_stride)
        return
    raise _Failure(TypeError, "No comparison pair was able to handle inputs of type "
                   f"{_type_repr(actual)} and {_type_repr(expected)}.")


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Assert ``actual`` and ``expected`` are close (see the module's contract)."""
    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")
    options = (rtol, atol, equal_nan, check_device, check_dtype, check_stride)
    try:
        _compare(actual, expected, (), options)
    except _Failure as failure:
        message = msg if isinstance(msg, str) else failure.message
        if not isinstance(msg, str):
            if failure.path:
                where = "".join(str([item]) for item in failure.path)
                message += f"\n\nThe failure occurred for item {where}"
            message = msg(message) if callable(msg) else message
        raise failure.kind(message) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated since PyTorch 1.12: ``assert_close`` with this function's older tolerances
    and no dtype check."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be "
                  "removed in a future release. Please use `torch.testing.assert_close()` "
                  "instead. You can find detailed upgrade instructions in "
                  "https://github.com/pytorch/pytorch/issues/61844.", FutureWarning,
                  stacklevel=2)
    from .creation import tensor

    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _tolerances([actual.dtype, expected.dtype], None, None, _OLD_TOLERANCES)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_device=True, check_dtype=False, check_stride=False, msg=msg or None)
