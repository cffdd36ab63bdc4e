"""DistributedDataParallel scaling on one machine: ember on MPI next to PyTorch DDP with gloo.

Usage: ``python -m bench.distributed [--procs 1 2 4] [--steps 20] [--write PATH]``

Each (library, model, mode, process count) runs bench/_ddp_worker.py in fresh processes:
ember under ``mpiexec -n N`` and PyTorch under ``torchrun --nproc-per-node N`` (gloo), both
one BLAS/intra-op thread per process. The models are the MLP 784-512-512-10 and the demo's
digits CNN, with SGD. *Strong* scaling splits a global batch of 256 across the ranks; *weak*
scaling gives every rank 256. The table reports the median time per step, the speed-up
against one process (strong) or the efficiency (weak: step time at 1 over step time at N),
and the share of the gradient all-reduce hidden under the backward pass. On a machine with
fewer cores than processes, the ranks share cores: say so next to the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def run(lib, model, mode, procs, steps):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONPATH=ROOT)
    worker = ["-m", "bench._ddp_worker", lib, model, mode, str(steps)]
    if lib == "ember":
        cmd = [_tool("mpiexec"), "-n", str(procs), sys.executable, *worker]
    else:
        cmd = [_tool("torchrun"), "--standalone", f"--nproc-per-node={procs}", *worker]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1])


def table(rows, procs):
    lines = ["| model | scaling | library | " + " | ".join(f"{p} proc" for p in procs)
             + " | hidden all-reduce |", "|---|---|---|" + "---|" * len(procs) + "---|"]
    for (model, mode, lib), by_n in rows.items():
        base = by_n[procs[0]]["step_ms"]
        cells = []
        for p in procs:
            r = by_n[p]
            gain = base / r["step_ms"]  # (strong: ideal N; weak: ideal 1)
            what = "speed-up" if mode == "strong" else "efficiency"
            cells.append(f"{r['step_ms']:.1f} ms ({what} {gain:.2f})")
        hidden = ", ".join(f"{p}: {by_n[p]['hidden'] * 100:.0f}%" for p in procs if p > 1)
        label = "ember (MPI)" if lib == "ember" else "PyTorch DDP (gloo)"
        lines.append(f"| {model} | {mode} | {label} | " + " | ".join(cells) + f" | {hidden} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--models", nargs="+", default=["mlp", "digits"])
    ap.add_argument("--libs", nargs="+", default=["ember", "torch"])
    ap.add_argument("--write", metavar="PATH")
    args = ap.parse_args(argv)
    rows = {}
    for model in args.models:
        for mode in ("strong", "weak"):
            for lib in args.libs:
                by_n = {}
                for p in args.procs:
                    by_n[p] = run(lib, model, mode, p, args.steps)
                    print(json.dumps(by_n[p]), flush=True)
                rows[(model, mode, lib)] = by_n
    text = table(rows, args.procs) + (
        f"\n\nMeasured on {os.cpu_count()} CPUs, one thread per process, {args.steps} steps "
        "(medians), global batch 256 (strong) or 256 per process (weak).\n")
    print(text)
    if args.write:
        from ember._io import atomic_path

        with atomic_path(args.write) as tmp, open(tmp, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
