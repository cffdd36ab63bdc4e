"""Run the same code through ember and PyTorch and compare what comes out.

``same(fn)`` calls ``fn(ember)`` and ``fn(torch)`` (``fn`` takes the module as its argument and
uses it exactly as PyTorch code would) and asserts the results match: tensors by values,
dtype, shape, requires_grad, is_leaf and grad_fn name; numbers, strings, bools, None and nested
tuples/lists/dicts exactly (floats within tolerance); exceptions by class and message.
Tests using it skip cleanly when PyTorch is not installed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
import ember._warn as ember_warn

torch = pytest.importorskip("torch")


class Raised:
    """An exception captured from one side, compared by class name and message."""

    def __init__(self, exc):
        self.kind = type(exc).__name__
        self.message = str(exc)

    def __repr__(self):
        return f"{self.kind}: {self.message}"


def _call(fn, module):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(module)
        except Exception as exc:  # noqa: BLE001 - the exception is the result
            result = Raised(exc)
    msgs = [f"{w.category.__name__}: {w.message}" for w in caught]
    return result, msgs


def describe(x):
    """A comparable description of a value produced by either library."""
    if isinstance(x, (ember.Tensor, torch.Tensor)):
        is_torch = isinstance(x, torch.Tensor)
        if is_torch:
            # NumPy has no bfloat16: PyTorch's bfloat16 tensors compare through float32
            t = x.detach()
            data = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        else:
            data = x.detach()._data
        fn = x.grad_fn
        return ("tensor", tuple(x.shape), str(x.dtype), bool(x.requires_grad),
                bool(x.is_leaf), fn.name() if fn is not None else None,
                np.asarray(data, dtype=np.float64 if data.dtype.kind != "c" else np.complex128))
    if isinstance(x, (tuple, list)):
        return (type(x).__name__ if type(x) in (tuple, list) else "tuple",
                [describe(v) for v in x])
    if isinstance(x, dict):
        return ("dict", {k: describe(v) for k, v in x.items()})
    if isinstance(x, (ember.Size, torch.Size)):
        return ("size", tuple(x))
    if isinstance(x, (ember.dtype, torch.dtype)):
        return ("dtype", str(x))
    if isinstance(x, np.ndarray):
        return ("ndarray", x.dtype.name, x.shape, x.tolist())
    if isinstance(x, Raised):
        return ("raised", x.kind, x.message)
    return ("value", x)


# (rtol, atol) at least, by dtype: two ulps of each half type
_HALF_TOLERANCE = {"torch.float16": (2e-3, 1e-5), "torch.bfloat16": (1.6e-2, 1e-5)}


def assert_same(a, b, rtol=1e-5, atol=1e-6, path="result"):
    """Assert two descriptions (from ``describe``) match."""
    if a[0] == "tensor" and b[0] == "tensor":
        assert a[:6] == b[:6], f"{path}: ember {a[:6]} != torch {b[:6]}"
        # half types round each result to 11 (float16) or 8 (bfloat16) significant bits, and
        # where the two libraries sum in another order (or PyTorch uses native bfloat16 dot
        # products, as on CPUs with AVX-512 BF16) the last bit differs: a floor from the dtype
        floor = _HALF_TOLERANCE.get(a[2])
        if floor is not None:
            rtol, atol = max(rtol, floor[0]), max(atol, floor[1])
        np.testing.assert_allclose(a[6], b[6], rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=path)
        return
    assert a[0] == b[0], f"{path}: ember gave {a} but torch gave {b}"
    if a[0] in ("tuple", "list"):
        assert len(a[1]) == len(b[1]), f"{path}: lengths {len(a[1])} != {len(b[1])}"
        for i, (x, y) in enumerate(zip(a[1], b[1])):
            assert_same(x, y, rtol, atol, f"{path}[{i}]")
    elif a[0] == "dict":
        assert a[1].keys() == b[1].keys(), path
        for k in a[1]:
            assert_same(a[1][k], b[1][k], rtol, atol, f"{path}[{k!r}]")
    elif a[0] == "value" and isinstance(a[1], float) and isinstance(b[1], float):
        assert math.isclose(a[1], b[1], rel_tol=rtol, abs_tol=atol) or (
            math.isnan(a[1]) and math.isnan(b[1])), f"{path}: {a[1]} != {b[1]}"
    else:
        assert a == b, f"{path}: ember gave {a[1:]} but torch gave {b[1:]}"


def same(fn, rtol=1e-5, atol=1e-6, warnings_too=True):
    """Run ``fn`` on both libraries and assert the results (and warnings) match."""
    mine, my_warn = _call(fn, ember)
    ref, ref_warn = _call(fn, torch)
    assert_same(describe(mine), describe(ref), rtol, atol)
    if warnings_too:
        strip = [w.split(" (Triggered internally at")[0] for w in ref_warn]
        # PyTorch gives some warnings once per process (TORCH_WARN_ONCE), and so does ember
        # (ember._warn): whether either side still gives one depends on what ran before, so
        # those are left out here (tests/test_warn_once.py checks them in fresh processes)
        once = {f"UserWarning: {m}" for m in ember_warn.GIVEN.values()}
        my_warn = [w for w in my_warn if w not in once]
        strip = [w for w in strip if w not in once]
        assert my_warn == strip, f"warnings: ember {my_warn} != torch {strip}"
    return mine
