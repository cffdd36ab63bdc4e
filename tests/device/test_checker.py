"""The device checker refuses what CuPy refuses (NOTE [device checker] in
ember/backend/checked.py), by CuPy's real names: if it let something through that CuPy
refuses, the sweep over the op records would pass on CI and fail on a GPU."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ember.backend import _cupy_names, checked
from ember.backend.checked import CheckedArray

xp = checked.NAMESPACE
ROOT = Path(__file__).resolve().parents[2]


def test_no_implicit_conversion_to_numpy():
    a = xp.ones(3)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array([a, a])
    assert isinstance(a.get(), np.ndarray)


def test_host_arrays_are_refused_in_device_math():
    a = xp.ones(3)
    for f in (lambda: a + np.ones(3), lambda: np.add(a, np.zeros(3)),
              lambda: np.where(a > 0, a, np.zeros(3)), lambda: np.concatenate([a, np.ones(1)]),
              lambda: np.matmul(np.ones((3, 3)), a)):
        with pytest.raises(TypeError, match="Unsupported type"):
            f()
    # NumPy's and Python's scalars are fine, as on CuPy
    assert isinstance(a * np.float32(2) + 1, CheckedArray)


def test_results_are_device_arrays_never_numpy_scalars():
    a = xp.arange(6.0).reshape(2, 3)
    for r in (a.sum(), np.sum(a), a[0, 1], np.max(a), a.mean(axis=None), np.sin(a)[1, 2]):
        assert isinstance(r, CheckedArray) and r.ndim == 0
    assert float(a.sum()) == 15.0 and a.sum().item() == 15.0


def test_names_cupy_lacks_are_refused():
    a = xp.ones(3)
    with pytest.raises(TypeError, match="returned NotImplemented"):  # a ufunc
        np.spacing(a)
    with pytest.raises(TypeError, match="no implementation found"):
        np.nanquantile(a, 0.5)
    with pytest.raises(AttributeError, match="no attribute 'spacing'"):
        xp.spacing  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute '__array_interface__'"):
        a.__array_interface__  # noqa: B018
    with pytest.raises(TypeError):
        np.lib.stride_tricks.as_strided(a, (2,), (8,))
    assert isinstance(xp.lib.stride_tricks.as_strided(a, (2,), (8,)), CheckedArray)


def test_dtypes_cupy_lacks_are_refused():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    with pytest.raises(TypeError, match="Unsupported type bfloat16"):
        checked.BACKEND.to_device(np.ones(2, ml_dtypes.bfloat16))
    with pytest.raises(TypeError, match="Unsupported type"):
        checked.BACKEND.to_device(np.array(["a"]))


def test_transfers_copy():
    host = np.arange(3.0)
    dev = checked.BACKEND.to_device(host)
    host[0] = 9
    assert dev.get()[0] == 0
    back = checked.BACKEND.to_host(dev)
    back[1] = 7
    assert dev.get()[1] == 1


def test_snapshot_matches_the_installed_cupy():
    """``_cupy_names.py`` is CuPy's namespace (CI installs CuPy: it imports without a GPU);
    without CuPy, the snapshot still has the modules the checker reads."""
    assert {"", "linalg", "fft", "lib.stride_tricks", "cupyx.scipy.special"} <= set(
        _cupy_names.MODULES)
    assert "sin" in _cupy_names.UFUNCS and "get" in _cupy_names.NDARRAY
    if importlib.util.find_spec("cupy") is None:
        return
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "cupy_names.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
