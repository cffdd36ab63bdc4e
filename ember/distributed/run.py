"""``python -m ember.distributed.run``: torchrun's command line, starting the ranks with mpiexec.

    python -m ember.distributed.run --nproc-per-node 4 train.py --epochs 3
    python -m ember.distributed.run --standalone --nproc_per_node=2 -m mypackage.train

It runs ``mpiexec -n N python -m ember.distributed._bootstrap train.py ...``; each rank's
bootstrap sets the variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
GROUP_RANK, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RUN_ID) from its MPI rank and runs the script
as ``__main__``. ``ember.distributed.init_process_group()`` then needs no arguments.

Flags: ``--nproc-per-node`` (an int, ``cpu`` or ``auto`` for the CPU count; default 1),
``--nnodes`` (only 1: for several machines, call mpiexec with a host file yourself), ``--node-rank``
(0), ``--master-addr`` (127.0.0.1), ``--master-port`` (29500), ``--standalone``, ``--run-path``,
``-m``/``--module``, ``--no-python``; both spellings (``--nproc-per-node`` and
``--nproc_per_node``) as torchrun. Rendezvous and restart flags (``--rdzv-*``, ``--max-restarts``
0) are accepted and ignored: MPI finds the peers, and there are no restarts.

mpiexec is looked up next to ``sys.executable`` (the mpich wheel of ``pip install
'ember[distributed]'`` puts it there), then on PATH; ``EMBER_MPIEXEC`` overrides both.

Failures: a rank whose script raises (or exits with a non-zero code) prints its traceback under
``[rank r]`` and aborts the whole job (MPI_Abort), so the others stop at once instead of waiting
in a collective. The launcher then prints which rank failed and how, torchrun style
("ember.distributed.run: rank 1 failed: ValueError: ...") and exits 1. Success exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path


def find_mpiexec() -> str:
    """mpiexec of this environment: EMBER_MPIEXEC, next to the interpreter, then PATH."""
    override = os.environ.get("EMBER_MPIEXEC")
    if override:
        return override
    for name in ("mpiexec", "mpirun"):
        here = Path(sys.executable).parent / name
        if here.exists():
            return str(here)
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(f"ember.distributed.run: no mpiexec next to {sys.executable} or on PATH; "
                       "pip install 'ember[distributed]' installs one (the mpich wheel)")


def _parser():
    p = argparse.ArgumentParser(prog="python -m ember.distributed.run",
                                description="torchrun for ember.distributed: start the ranks "
                                            "of a script with mpiexec")

    def flag(name, **kw):
        spellings = {f"--{name}", f"--{name.replace('_', '-')}"}
        p.add_argument(*sorted(spellings), dest=name, **kw)

    flag("nproc_per_node", default="1")
    flag("nnodes", default="1")
    flag("node_rank", type=int, default=0)
    flag("master_addr", default="127.0.0.1")
    flag("master_port", type=int, default=29500)
    flag("standalone", action="store_true")
    flag("max_restarts", type=int, default=0)
    flag("rdzv_backend", default="static")
    flag("rdzv_endpoint", default="")
    flag("rdzv_id", default="none")
    flag("rdzv_conf", default="")
    flag("monitor_interval", type=float, default=0.1)
    flag("start_method", default="spawn")
    flag("role", default="default")
    flag("log_dir", default=None)
    flag("redirects", default="0")
    flag("tee", default="0")
    flag("local_addr", default=None)
    flag("run_path", action="store_true")
    flag("no_python", action="store_true")
    p.add_argument("-m", "--module", action="store_true",
                   help="run the target as a module (python -m)")
    p.add_argument("training_script")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def _nproc(value: str) -> int:
    if value in ("cpu", "auto", "gpu", "xpu"):
        return os.cpu_count() or 1
    n = int(value)
    if n < 1:
        raise SystemExit(f"ember.distributed.run: --nproc-per-node must be positive, got {n}")
    return n


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    nproc = _nproc(args.nproc_per_node)
    nnodes = args.nnodes.split(":")[-1]
    if int(nnodes) != 1:
        raise SystemExit("ember.distributed.run: one node only (--nnodes 1); for several "
                         "machines run `mpiexec -n N -f hosts python -m "
                         "ember.distributed._bootstrap script.py` yourself")
    if args.max_restarts:
        raise SystemExit("ember.distributed.run: --max-restarts is not supported (no elastic "
                         "restarts on MPI)")
    mpiexec = find_mpiexec()
    report = Path(tempfile.mkdtemp(prefix="ember-run-"))
    env = dict(os.environ)
    env.update(WORLD_SIZE=str(nproc * int(nnodes)), LOCAL_WORLD_SIZE=str(nproc),
               GROUP_RANK=str(args.node_rank), ROLE_RANK="", ROLE_NAME=args.role,
               MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port),
               TORCHELASTIC_RUN_ID=args.rdzv_id if args.rdzv_id != "none" else uuid.uuid4().hex,
               TORCHELASTIC_RESTART_COUNT="0", TORCHELASTIC_MAX_RESTARTS="0",
               EMBER_RUN_NODE_RANK=str(args.node_rank), EMBER_RUN_REPORT=str(report))
    mode = ["--no-python"] if args.no_python else ["-m"] if args.module else []
    cmd = [mpiexec, "-n", str(nproc), sys.executable, "-m", "ember.distributed._bootstrap",
           *mode, args.training_script, *args.training_script_args]
    try:
        code = subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        code = 130
    failures = _read_reports(report)
    shutil.rmtree(report, ignore_errors=True)
    if code == 0 and not failures:
        return 0
    lines = [f"ember.distributed.run: {args.training_script} failed (mpiexec exit code {code})"]
    for rank, what in sorted(failures.items()):
        lines.append(f"ember.distributed.run: rank {rank} (local_rank {rank % nproc}) failed: "
                     f"{what}")
    if not failures:
        lines.append("ember.distributed.run: no rank reported an error (a rank was killed, or "
                     "exited before ember.distributed could record it)")
    sys.stderr.write("\n".join(lines) + "\n")
    return 1


def _read_reports(folder: Path) -> dict:
    out = {}
    for f in folder.glob("rank-*.json"):
        try:
            record = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        out[int(record["rank"])] = record["error"]
    return out


if __name__ == "__main__":
    sys.exit(main())
