"""``import ember`` loads NumPy and nothing optional (NOTE [lazy bfloat16] in ember/dtypes.py):
optional packages are imported when first used."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# distribution name -> module name, where they differ (None: no Python module)
_MODULE = {"scikit-learn": "sklearn", "ruff": None}


def _extras_modules():
    """Every package named in pyproject's optional dependencies, as a module name."""
    tomllib = pytest.importorskip("tomllib")  # (Python 3.11+)
    with open(ROOT / "pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    names = set()
    for requirements in extras.values():
        for req in requirements:
            dist = re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0]
            module = _MODULE.get(dist, dist)
            if module is not None:
                names.add(module)
    return names


def test_import_loads_no_optional_package():
    # every extra, and the others the import benchmark watches (mpi4py, onnx, PIL...); the
    # check counts for those installed, which the test extra makes most of them
    from bench.workloads_scale import OPTIONAL_MODULES, optional_modules_loaded

    assert _extras_modules() <= set(OPTIONAL_MODULES)
    installed, loaded = optional_modules_loaded()
    assert loaded == [], f"import ember loaded {loaded} (installed: {installed})"
    assert "ml_dtypes" in installed or importlib.util.find_spec("ml_dtypes") is None


def test_bfloat16_loads_on_first_use():
    pytest.importorskip("ml_dtypes")
    code = ("import sys, ember\n"
            "x = ember.tensor([1.0, 3.0], dtype=ember.bfloat16)\n"
            "assert 'ml_dtypes' in sys.modules\n"
            "print(x.dtype, x.sum().item(), ember.float16.is_floating_point)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["torch.bfloat16", "4.0", "True"]


def test_a_bfloat16_array_from_elsewhere_is_recognised():
    pytest.importorskip("ml_dtypes")
    code = ("import numpy as np, ember, ml_dtypes\n"
            "print(ember.from_numpy(np.ones(2, ml_dtypes.bfloat16)).dtype)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "torch.bfloat16"


def test_float64_values_are_exact_before_bfloat16_loads():
    # NumPy reads ``dtype == None`` as ``dtype == float64``: while ml_dtypes was not loaded, a
    # test against bfloat16's missing dtype took every float64 tensor for bfloat16, and item()
    # and tolist() went through float32
    code = ("import sys, ember\n"
            "x = ember.tensor([0.1, 1.0], dtype=ember.float64) + 1e-13\n"
            "assert 'ml_dtypes' not in sys.modules\n"
            "print(repr(x.tolist()), repr(x[0].item()), x.is_floating_point(),\n"
            "      ember.tensor([1, 2]).is_floating_point())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["[0.10000000000010001,", "1.0000000000001]",
                                  "0.10000000000010001", "True", "False"]
