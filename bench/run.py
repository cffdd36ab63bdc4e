"""Benchmarks run side by side in one process: ember, PyTorch and a hand-written NumPy floor,
plus HIPS autograd, MyGrad and JAX where they are installed.

Usage: ``python -m bench [--quick] [--no-rivals] [--write PATH] [--readme] [workload ...]``

This file is the harness and the tables; the workloads live in bench/workloads_*.py (each
written once as PyTorch-style code taking the module ``T``, ember or torch, on identical
inputs) and the rivals' functional rewrites in bench/rivals.py. Gradients are checked equal
before anything is timed. Contestants are interleaved in blocks and the median of many repeats
is reported, with ratios to PyTorch and to the NumPy floor and the performance issue's target
for each (``TARGETS``), and, in a second table, each rival against ember (measured after all
the main rows, see main()). A workload may instead bring its own ``measure`` (import time)
or an ``after`` hook that prints more (deep_chain's scaling). Nothing here is a test: these
are measurements, printed and written as the Markdown the README includes.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import time

import numpy as np

import ember

from . import rivals
from .workloads_compiled import COMPILED
from .workloads_compiled import TARGETS as COMPILED_TARGETS
from .workloads_core import WORKLOADS as _CORE
from .workloads_nets import WORKLOADS as _NETS
from .workloads_scale import WORKLOADS as _SCALE

try:
    import torch

except ImportError:  # pragma: no cover - PyTorch is optional here
    torch = None

# NOTE: BENCH_THREADS sets both libraries' intra-op threads (ember's drive NumPy's BLAS, one by
# default: NOTE [default BLAS threads] in ember/_threads.py), so the two compare like for like
if os.environ.get("BENCH_THREADS"):
    ember.set_num_threads(int(os.environ["BENCH_THREADS"]))
    if torch is not None:
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))

_ALL = {**_CORE, **_NETS, **_SCALE}
WORKLOADS = {name: _ALL[name] for name in (
    "chain", "mlp", "convnet", "big", "digits",
    "small_mlp", "hvp", "lstm", "deep_chain", "import")}

ROUNDS = 5  # blocks per contestant


def _core(spec):
    """ember, the NumPy floor (unless the workload has none) and PyTorch (when installed)."""
    out = {"ember": ember}
    if spec.get("numpy", True):
        out["numpy"] = np
    if torch is not None:
        out["torch"] = torch
    return out


def _as_arrays(grads):
    """A list of NumPy arrays from whatever a contestant returned: an array, a tensor of any of
    the libraries, or a list of them."""
    items = grads if isinstance(grads, (list, tuple)) else [grads]
    out = []
    for a in items:
        if hasattr(a, "detach"):
            a = a.detach()
        if hasattr(a, "numpy"):
            a = a.numpy()
        out.append(np.atleast_1d(np.asarray(a)))
    return out


def _check_equal(results, name):
    ref_who = "numpy" if "numpy" in results else "torch" if "torch" in results else None
    if ref_who is None:
        return
    ref = _as_arrays(results[ref_who])
    for who, got in results.items():
        got = _as_arrays(got)
        same = len(got) == len(ref) and all(
            a.shape == b.shape and np.allclose(a, b, rtol=1e-3, atol=1e-5)
            for a, b in zip(got, ref))
        if not same:
            raise AssertionError(f"{name}: {who}'s gradients differ from {ref_who}'s")


def bench(name, quick=False, use_rivals=True):
    spec = WORKLOADS[name]
    core = _core(spec)
    if "measure" in spec:
        names = list(core) + (rivals.import_names() if use_rivals else [])
        return spec["measure"](names, quick)
    entrants = {who: (functools.partial(spec["setup"], T), functools.partial(spec["run"], T))
                for who, T in core.items()}
    if name in COMPILED:
        entrants["compiled"] = (functools.partial(spec["setup"], ember), None)
    if use_rivals:
        entrants.update(rivals.contestants(name))
    args, results = {}, {}
    for who, (setup, run) in list(entrants.items()):
        try:
            args[who] = setup()
            if who == "compiled":  # (the runner compiles the step for these arguments)
                run = COMPILED[name](*args[who])
                entrants[who] = (setup, run)
            results[who] = run(*args[who])
        except Exception as e:
            if who in core or who == "compiled":
                raise
            # NOTE: a rival that breaks (an API change in a new release) is reported and left
            # out, never allowed to stop the measurement of ember.
            print(f"bench: {name}: leaving out {rivals.LABELS[who]}: {type(e).__name__}: {e}",
                  file=sys.stderr)
            del entrants[who]
    _check_equal(results, name)
    del results
    times = {who: [] for who in entrants}
    repeats = spec["quick"] if quick else spec["repeats"]
    # NOTE: contestants alternate in short blocks (each block's first run is a discarded
    # warm-up): interleaving single runs lets one library's idle worker threads (PyTorch's
    # OpenMP pool spins after each op) and cold caches tax whoever runs next.
    block = max(1, repeats // ROUNDS)
    for _ in range(ROUNDS):
        for who, (_setup, run) in entrants.items():
            a = args[who]
            run(*a)
            for _ in range(block):
                t0 = time.perf_counter()
                run(*a)
                times[who].append(time.perf_counter() - t0)
    scale = 1e6 if spec["unit"].startswith("us") else 1e3
    res = {who: statistics.median(ts) * scale / spec["per"] for who, ts in times.items()}
    if spec.get("memory"):
        for who in [*core, *(["compiled"] if "compiled" in entrants else [])]:
            res[f"{who} peak MB"] = peak_memory(who, entrants[who][1], args[who]) / 2**20
    if "after" in spec:
        print("\n".join(spec["after"](core, quick)), flush=True)
    return res


def peak_memory(who, run, args):
    """Peak bytes allocated during one run: tracemalloc for NumPy and ember (NumPy reports
    its buffers to it); PyTorch's profiler memory events for PyTorch (its allocator is not
    traced), summed in time order."""
    import tracemalloc

    if who == "torch":
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            run(*args)
        events = sorted(prof.events(), key=lambda e: e.time_range.start)
        now = peak = 0
        for e in events:
            now += e.cpu_memory_usage if e.name == "[memory]" else e.self_cpu_memory_usage
            peak = max(peak, now)
        return peak
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    run(*args)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


# The performance issue's targets (issue 5's for the digits step): ember's time over the
# named contestant's must not exceed the bound. docs/performance.md explains the misses.
TARGETS = {"chain": ("torch", 0.5), "small_mlp": ("torch", 0.5), "mlp": ("numpy", 1.05),
           "big": ("numpy", 1.5), "hvp": ("torch", 1.0), "convnet": ("torch", 1.2),
           "lstm": ("torch", 1.2), "digits": ("torch", 1.3), "import": ("torch", 0.1)}


def _target_cell(name, res):
    if name not in TARGETS:
        return "n/a"
    who, bound = TARGETS[name]
    other = res.get(who)
    if not other:
        return "n/a"
    met = res["ember"] / other <= bound
    return f"≤ {bound}x {'PyTorch' if who == 'torch' else 'NumPy'}: {'met' if met else 'missed'}"


def _compiled_cells(name, res):
    c, t, n = res.get("compiled"), res.get("torch"), res.get("numpy")
    if c is None:
        return "n/a", "n/a", "n/a"
    unit = WORKLOADS[name]["unit"]
    ratio = f"{c / t:.2f}x / {c / n:.2f}x" if t and n else f"{c / t:.2f}x / n/a" if t else \
        "n/a"
    target = "n/a"
    if name in COMPILED_TARGETS:
        who, bound = COMPILED_TARGETS[name]
        other = res.get(who)
        if other:
            met = c / other <= bound
            target = (f"≤ {bound}x {'PyTorch' if who == 'torch' else 'NumPy'}: "
                      f"{'met' if met else 'missed'}")
    return f"{c:.2f} {unit}", ratio, target


def table(rows, rival_rows=()):
    lines = ["| workload | ember | PyTorch | NumPy floor | ember / PyTorch | ember / NumPy | "
             "target | ember compiled | compiled / PyTorch / NumPy | compiled target |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, res in rows:
        spec = WORKLOADS[name]
        unit = spec["unit"]
        e, t, n = res["ember"], res.get("torch"), res.get("numpy")
        t_cell = f"{t:.2f} {unit}" if t else "n/a"
        ratio = f"{e / t:.2f}x" if t else "n/a"
        n_cell, n_ratio = (f"{n:.2f} {unit}", f"{e / n:.2f}x") if n else ("n/a", "n/a")
        c_cell, c_ratio, c_target = _compiled_cells(name, res)
        lines.append(f"| {spec['title']} | {e:.2f} {unit} | {t_cell} | {n_cell} | "
                     f"{ratio} | {n_ratio} | {_target_cell(name, res)} | {c_cell} | "
                     f"{c_ratio} | {c_target} |")
    mem = [(name, res) for name, res in rows if "ember peak MB" in res]
    if mem:
        lines += ["", "| workload (peak memory) | ember | PyTorch | NumPy floor |",
                  "|---|---|---|---|"]
        for name, res in mem:
            t = res.get("torch peak MB")
            lines.append(f"| {WORKLOADS[name]['title']} | {res['ember peak MB']:.0f} MB | "
                         f"{f'{t:.0f} MB' if t is not None else 'n/a'} | "
                         f"{res['numpy peak MB']:.0f} MB |")
    lines += rivals_table(rival_rows)
    return "\n".join(lines)


def rivals_table(rows):
    """Each rival's time beside ember's, with rival / ember in parentheses (above 1: ember is
    faster); only rows and columns where some rival ran. JAX's import is under JAX eager."""
    keys = [k for k in rivals.LABELS if any(k in res for _, res in rows)]
    if not keys:
        return []
    lines = ["", "Rivals: time, and in parentheses rival / ember (above 1x: ember is faster).",
             "", "| workload | ember | " + " | ".join(rivals.LABELS[k] for k in keys) + " |",
             "|---|---|" + "---|" * len(keys)]
    for name, res in rows:
        if not any(k in res for k in keys):
            continue
        unit, e = WORKLOADS[name]["unit"], res["ember"]
        cells = [f"{res[k]:.2f} {unit} ({res[k] / e:.2f}x)" if k in res else "n/a"
                 for k in keys]
        lines.append(f"| {WORKLOADS[name]['title']} | {e:.2f} {unit} | " + " | ".join(cells)
                     + " |")
    return lines


def machine(rows=()):
    torch_v = torch.__version__ if torch is not None else "absent"
    text = (f"Python {platform.python_version()}, NumPy {np.__version__}, PyTorch {torch_v} "
            f"({torch.get_num_threads() if torch else 0} threads; ember "
            f"{ember.get_num_threads()}), {platform.machine()}, "
            f"{os.cpu_count()} CPUs")
    used = {k for _, res in rows for k in res if k in rivals.LABELS}
    return text + "".join(f", {v}" for v in rivals.versions(used))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS),
                    help=f"any of: {', '.join(WORKLOADS)} (default: all)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--no-rivals", action="store_true",
                    help="leave out HIPS autograd, MyGrad and JAX even when installed")
    ap.add_argument("--write", metavar="PATH", help="write the Markdown table to PATH")
    ap.add_argument("--readme", action="store_true",
                    help="also put the table into README.md between its bench markers")
    args = ap.parse_args(argv)
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    rows, rival_rows = [], []
    for name in args.workloads:
        res = bench(name, args.quick, use_rivals=False)
        rows.append((name, res))
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in res.items()), flush=True)
    # NOTE: the rivals run after every main measurement, each workload measured again with
    # ember beside them: once imported, JAX keeps worker threads that slowed the ember and
    # PyTorch steps measured after it by up to 1.5x on 2 cores.
    if not args.no_rivals:
        for name in args.workloads:
            if name in rivals.WORKLOADS or "measure" in WORKLOADS[name]:
                res = bench(name, args.quick, use_rivals=True)
                if any(k in res for k in rivals.LABELS):
                    rival_rows.append((name, res))
                    print(f"{name} (rivals): " + ", ".join(f"{k} {v:.3f}"
                                                            for k, v in res.items()), flush=True)
    text = table(rows, rival_rows) + f"\n\nMeasured with: {machine(rival_rows)}.\n"
    print()
    print(text)
    if args.write:
        _write_atomic(args.write, text)
    if args.readme:
        readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "README.md")
        with open(readme) as f:
            doc = f.read()
        start, end = "<!-- bench:start -->\n", "<!-- bench:end -->"
        i, j = doc.index(start) + len(start), doc.index(end)
        _write_atomic(readme, doc[:i] + text + doc[j:])
    return 0


def _write_atomic(path, text):
    """Write via a temporary file and a rename: never a half-written file."""
    from ember._io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
