"""Run small scripts as MPI jobs for the ``ember.distributed`` tests.

``run_mpi(tmp_path, body, n)`` writes ``body`` (after a prelude that imports ember,
``ember.distributed as dist`` and numpy, and defines ``report(obj)``) to a file and runs
``mpiexec -n n python script.py`` with PYTHONPATH at this checkout and a wall-clock timeout, so a
hung job fails the test instead of hanging CI. ``report(obj)`` writes this rank's JSON result;
the returned ``Job`` holds the exit code, the output and ``results[rank]``.
Tests skip when mpi4py or mpiexec is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

PRELUDE = '''\
import json, os, sys, time
from datetime import timedelta
import numpy as np
import ember
import ember.distributed as dist

_OUT = os.environ["EMBER_TEST_OUT"]


def report(obj, name=None):
    rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
    with open(os.path.join(_OUT, f"{name or rank}.json"), "w") as f:
        json.dump(obj, f)

'''


def mpiexec() -> str:
    """The mpiexec of this interpreter's environment (skip the test when there is none)."""
    pytest.importorskip("mpi4py")
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec")
    return found


@dataclass
class Job:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    results: dict = field(default_factory=dict)

    def check(self):
        assert self.returncode == 0, f"exit {self.returncode}\n{self.stdout}\n{self.stderr}"
        return self


def launch(cmd, *, attempts=3, **kwargs):
    """``subprocess.run(cmd, capture_output=True, text=True, **kwargs)``, started again when
    MPICH's launcher itself fails to start the job: it exits within a second, before any
    rank printed, with hydra's own message or a signal. (Seen once in CI: two jobs' first
    launches died in 5 ms with hydra's "send_hdr_downstream" error while another mpiexec ran
    on the machine; a rank's real failure prints, and takes longer.)"""
    for attempt in range(attempts):
        start = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
        quick = time.monotonic() - start < 1.0
        hydra = "[mpiexec@" in p.stderr or "[proxy:" in p.stderr or \
            (p.returncode < 0 and not p.stderr)
        if p.returncode == 0 or not (quick and hydra and not p.stdout) or \
                attempt == attempts - 1:
            return p
        time.sleep(0.5)
    return p  # pragma: no cover - the loop always returns


def run_mpi(tmp_path, body, n, *, timeout=120, launcher=None, env=None, args=()) -> Job:
    """Run ``body`` on ``n`` ranks (with ``mpiexec``, or ``launcher``: a list of arguments put
    before the script, e.g. ``[sys.executable, "-m", "ember.distributed.run", ...]``)."""
    exe = mpiexec()
    script = tmp_path / f"job_{n}_{time.monotonic_ns()}.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    out = tmp_path / f"out_{script.stem}"
    out.mkdir()
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    full_env["EMBER_TEST_OUT"] = str(out)
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        full_env.pop(k, None)
    full_env.update(env or {})
    cmd = (launcher or [exe, "-n", str(n), sys.executable]) + [str(script), *args]
    start = time.monotonic()
    try:
        p = launch(cmd, env=full_env, timeout=timeout, cwd=tmp_path)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the MPI job did not end within {timeout} s\n{e.stdout}\n{e.stderr}")
    job = Job(p.returncode, p.stdout, p.stderr, time.monotonic() - start)
    for f in out.glob("*.json"):
        job.results[int(f.stem) if f.stem.isdigit() else f.stem] = json.loads(f.read_text())
    return job
