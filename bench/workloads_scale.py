"""Workloads about scale rather than arithmetic: a 100,000-node chain's backward (and whether its
cost grows linearly with depth) and the time to import each library.

Contract: ``deep_chain`` is an ordinary workload (``setup(T)``/``run(T, *args)`` as in
bench/workloads_core.py) plus an ``after(contestants, quick) -> lines`` hook that the harness
calls after timing, to print the per-node cost at several depths. ``import`` has a
``measure(names, quick) -> {name: ms}`` hook instead of ``setup``/``run``: each import is timed
in a fresh interpreter, since a module is imported only once per process.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np

# ---- workload: a 100,000-node chain (iterative engine, linear cost) -------------------------

DEEP_NODES = 100_000
SCALING_SIZES = (10_000, 50_000, 100_000)


def deep_chain_setup(T):
    if T is np:
        return (np.ones(1, dtype=np.float32),)
    return (T.tensor([1.0], requires_grad=True),)


def deep_chain_run(T, x, nodes=DEEP_NODES):
    """``nodes`` ops (a multiply and an add, alternately) on one float, then backward: the
    graph is as deep as it is long, so a recursive engine would raise RecursionError."""
    if T is np:
        return deep_chain_numpy(x, nodes)
    x.grad = None
    y = x
    for _ in range(nodes // 2):
        y = y * 1.0001
        y = y + 0.0001
    y.backward()
    return x.grad


def deep_chain_numpy(x, nodes):
    y = x
    for _ in range(nodes // 2):
        y = y * np.float32(1.0001)
        y = y + np.float32(0.0001)
    g = np.ones_like(y)
    for _ in range(nodes // 2):
        g = g * np.float32(1.0001)
    return g


def deep_chain_scaling(contestants, quick):
    """Per-node microseconds at each depth in ``SCALING_SIZES``, contestants interleaved; the
    last line gives each one's per-node cost at the deepest size over the shallowest (about 1
    when the cost is linear in depth)."""
    repeats = 2 if quick else 5
    times = {(who, n): [] for who in contestants for n in SCALING_SIZES}
    for _ in range(repeats):
        for n in SCALING_SIZES:
            for who, T in contestants.items():
                args = deep_chain_setup(T)
                t0 = time.perf_counter()
                deep_chain_run(T, *args, nodes=n)
                times[who, n].append(time.perf_counter() - t0)
    per_node = {k: statistics.median(v) * 1e6 / k[1] for k, v in times.items()}
    lines = ["deep_chain scaling, us per node (fwd+bwd):",
             "  nodes    " + "".join(f"{who:>10}" for who in contestants)]
    for n in SCALING_SIZES:
        lines.append(f"  {n:<9}" + "".join(f"{per_node[who, n]:10.3f}" for who in contestants))
    lo, hi = SCALING_SIZES[0], SCALING_SIZES[-1]
    lines.append(f"  {hi // 1000}k/{lo // 1000}k" + " " * 3 + "".join(
        f"{per_node[who, hi] / per_node[who, lo]:9.2f}x" for who in contestants)
        + "   (about 1x: linear in depth)")
    return lines


# ---- workload: import time, each in a fresh interpreter --------------------------------------

MODULES = {"ember": "ember", "torch": "torch", "numpy": "numpy", "autograd": "autograd",
           "mygrad": "mygrad", "jax": "jax"}
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_seconds(module, write_bytecode=False):
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = dict(os.environ)
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=_ROOT, check=True, env=env,
                         capture_output=True, text=True).stdout
    return float(out.split()[-1])


# The optional packages ember can use (pyproject's extras, by module name) and others users often
# have beside it: ``import ember`` must load none of them (ml_dtypes alone made it ~10x slower).
OPTIONAL_MODULES = ("ml_dtypes", "scipy", "sklearn", "tqdm", "matplotlib", "graphviz",
                    "tensorboardX", "safetensors", "torch", "mpi4py", "onnx", "onnxruntime", "PIL",
                    "pandas",
                    "jax", "jaxlib", "autograd", "mygrad", "threadpoolctl", "packaging",
                    "hypothesis", "pytest", "mypy", "cupy")

_OPTIONAL_CHECK = """
import importlib.util, sys
names = sys.argv[1:]
installed = [n for n in names if importlib.util.find_spec(n) is not None]
import ember
print(",".join(installed))
print(",".join(n for n in names if n in sys.modules))
"""


def optional_modules_loaded():
    """(the optional packages installed, those ``import ember`` loaded) in a fresh
    interpreter."""
    out = subprocess.run([sys.executable, "-c", _OPTIONAL_CHECK, *OPTIONAL_MODULES],
                         cwd=_ROOT, check=True, capture_output=True, text=True).stdout
    installed, loaded = (line.split(",") if line else [] for line in out.split("\n")[:2])
    return installed, loaded


def import_measure(names, quick):
    """Median milliseconds of ``import X`` over fresh interpreters, libraries interleaved; the
    first round only warms the disk cache and is discarded. It also writes each library's
    bytecode cache (even under PYTHONDONTWRITEBYTECODE), as ``pip install`` does for installed
    packages: an editable checkout would otherwise be compiled from source at every import.
    ember's time counts only if ``import ember`` loaded none of the optional packages installed
    (it says which are), since with them installed is how users run it."""
    names = [n for n in names if n in MODULES]
    if "ember" in names:
        installed, loaded = optional_modules_loaded()
        print(f"import: optional packages installed: {', '.join(installed) or 'none'}",
              flush=True)
        if loaded:
            raise AssertionError(f"import ember loaded optional packages: {', '.join(loaded)}")
    runs = 3 if quick else 5
    times = {n: [] for n in names}
    for i in range(runs + 1):
        for n in names:
            t = import_seconds(MODULES[n], write_bytecode=not i)
            if i:
                times[n].append(t)
    return {n: statistics.median(ts) * 1e3 for n, ts in times.items()}


WORKLOADS = {
    "deep_chain": dict(title=f"{DEEP_NODES:,}-node chain on 1 float, fwd+bwd (total)",
                       setup=deep_chain_setup, run=deep_chain_run, unit="ms", per=1,
                       repeats=10, quick=3, after=deep_chain_scaling),
    "import": dict(title="import time (fresh interpreter)", measure=import_measure,
                   unit="ms"),
}
