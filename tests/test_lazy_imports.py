"""``import ember`` loads NumPy and nothing optional (NOTE [lazy bfloat16] in ember/dtypes.py):
optional packages are imported when first used."""

import subprocess
import sys

import pytest

CHECK = """
import sys
import ember
heavy = sorted(m for m in ("ml_dtypes", "scipy", "torch", "matplotlib", "tqdm", "graphviz")
               if m in sys.modules)
print(",".join(heavy))
"""


def test_import_loads_no_optional_package():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


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
