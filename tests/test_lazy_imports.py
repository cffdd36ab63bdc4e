"""``import ember`` loads NumPy and nothing optional (NOTE [lazy bfloat16] in ember/dtypes.py):
optional packages are imported when first used."""

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# distribution name -> module name, where they differ (None: no Python module)
_MODULE = {"scikit-learn": "sklearn", "ruff": None, "cupy-cuda12x": "cupy", "mpich": None}


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


# ---- the layers (issue 14): what ``import ember`` and a plain forward/backward leave unloaded -
# NOTE [lazy tools] in ember/autograd/__init__.py

# the modules a forward pass, ``backward()`` and ``autograd.grad`` must not load
_NOT_IN_CORE = ("ember.utils", "ember.utils.checkpoint", "ember.utils.data", "ember.nn",
                "ember.autograd.viz", "ember.autograd.functional", "ember.autograd.profiler",
                "ember.autograd.profiler_util", "ember.autograd.variable", "ember.profiler",
                "ember._vmap")


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_and_a_backward_pass_load_no_tool_and_no_utils():
    code = ("import sys, ember\n"
            f"watched = {_NOT_IN_CORE!r}\n"
            "def loaded(): return [m for m in watched if m in sys.modules]\n"
            "print('import', *loaded())\n"
            "x = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)\n"
            "(x.exp() * x).sum().backward()\n"
            "ember.autograd.grad((x * x).sum(), x)\n"
            "ember.autograd.backward((x * 3).sum(), inputs=[x])\n"
            "print('backward', *loaded())\n"
            "print(x.grad.tolist())\n")
    lines = _run(code).splitlines()
    assert lines[:2] == ["import", "backward"], lines
    # (the pass really ran: exp(x)(1 + x) from backward(), + 3 from backward(inputs=...))
    expected = [math.exp(v) * (1 + v) + 3 for v in (1.0, 2.0)]
    assert [float(v) for v in lines[2].strip("[]").split(",")] == pytest.approx(expected)


def test_each_lazy_module_loads_on_first_use_only():
    # the check has teeth: each watched module does load when its name is first used
    code = ("import sys, ember\n"
            "before = 'ember.autograd.viz' in sys.modules\n"
            "ember.autograd.graph.to_dot\n"
            "print(before, 'ember.autograd.viz' in sys.modules)\n"
            "before = 'ember.autograd.profiler' in sys.modules\n"
            "ember.profiler.profile\n"
            "print(before, 'ember.autograd.profiler' in sys.modules)\n"
            "before = 'ember.autograd.variable' in sys.modules\n"
            "from ember.autograd import Variable\n"
            "print(before, 'ember.autograd.variable' in sys.modules)\n")
    assert _run(code).split() == ["False", "True"] * 3


def test_every_public_autograd_name_is_reachable():
    # each in a fresh process, so that nothing an earlier line loaded hides a lazy name
    import ember.autograd as ag

    names = sorted(set(ag.__all__) | set(ag._LAZY_MODULES) | set(ag._LAZY_NAMES))
    assert {"functional", "profiler", "viz", "Variable", "gradcheck", "grad"} <= set(names)
    code = ("import types, ember\n"
            f"names = {names!r}\n"
            "listed = set(dir(ember.autograd))\n"
            "missing = [n for n in names if n not in listed]\n"
            "assert not missing, missing\n"
            "for n in names:\n"
            "    exec(f'from ember.autograd import {n} as v', {}, {})\n"
            "def kind(v):\n"
            "    return ('module' if isinstance(v, types.ModuleType) else\n"
            "            'class' if isinstance(v, type) else 'function')\n"
            "print(*[kind(getattr(ember.autograd, n)) for n in names])\n")
    kinds = dict(zip(names, _run(code).split()))
    assert kinds["functional"] == kinds["profiler"] == kinds["viz"] == "module"
    assert kinds["gradcheck"] == kinds["grad"] == "function"
    assert kinds["Variable"] == kinds["Function"] == "class"
    graph_names = ("to_dot", "render", "memory_report")
    code = ("import ember.autograd.graph as g\n"
            f"names = set({graph_names!r})\n"
            "assert names <= set(dir(g)) and names <= set(g.__all__)\n"
            "from ember.autograd.graph import *\n"
            "print(to_dot.__module__, render.__module__, memory_report.__module__)\n")
    assert _run(code).split() == ["ember.autograd.viz"] * 3


def test_an_unknown_autograd_name_raises_as_pytorch():
    import torch

    import ember

    for m in (ember, torch):
        with pytest.raises(AttributeError) as info:
            m.autograd.no_such_thing  # noqa: B018
        with pytest.raises(AttributeError) as graph_info:
            m.autograd.graph.no_such_thing  # noqa: B018
        assert str(info.value) == "module 'torch.autograd' has no attribute 'no_such_thing'" \
            .replace("torch", m.__name__)
        assert str(graph_info.value) == \
            f"module '{m.__name__}.autograd.graph' has no attribute 'no_such_thing'"


def test_gradcheck_stays_the_function_after_its_module_is_imported():
    # PyTorch's torch.autograd.gradcheck is the function even once the module of the same name
    # is imported by name (which is why ember's is loaded with the package)
    code = ("import {m}, {m}.autograd.gradcheck\n"
            "from {m}.autograd.gradcheck import gradgradcheck\n"
            "x = {m}.tensor([1.0, 2.0], dtype={m}.float64, requires_grad=True)\n"
            "print(callable({m}.autograd.gradcheck),\n"
            "      {m}.autograd.gradcheck(lambda t: (t * t).sum(), (x,)),\n"
            "      gradgradcheck is {m}.autograd.gradgradcheck)\n")
    pytest.importorskip("torch")
    assert _run(code.format(m="ember")).split() == _run(code.format(m="torch")).split() \
        == ["True", "True", "True"]
