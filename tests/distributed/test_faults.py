"""Faults end an ``ember.distributed`` job quickly, non-zero, and name the rank: an unhandled
exception on one rank aborts the job (the excepthook ``init_process_group`` installs); a rank
that never joins a collective makes the others raise the timeout error after the group's
timeout; the launcher (``python -m ember.distributed.run``) sets torchrun's variables and
reports which rank failed."""

from __future__ import annotations

import sys

import pytest

from ember.distributed import run as launcher

from .mpi_helpers import mpiexec, run_mpi

RAISES = '''
dist.init_process_group(timeout=timedelta(seconds=60))
if dist.get_rank() == 1:
    time.sleep(0.3)
    raise ValueError("rank one fails")
dist.all_reduce(ember.ones(2))  # the others wait here until the job is torn down
report("unreachable")
'''


def test_one_rank_raises_ends_the_job(tmp_path):
    job = run_mpi(tmp_path, RAISES, 3, timeout=60)
    assert job.returncode != 0
    assert job.seconds < 20  # not the collective's 60 s timeout
    assert "[rank 1] ValueError: rank one fails" in job.stderr
    assert "unhandled exception on rank 1" in job.stderr
    assert job.results == {}


HANGS = '''
dist.init_process_group(timeout=timedelta(seconds=3))
r = dist.get_rank()
if r == 1:
    time.sleep(60)  # never joins
start = time.monotonic()
try:
    dist.all_reduce(ember.ones(2))
except RuntimeError as e:
    report({"error": str(e), "waited": time.monotonic() - start})
    raise
'''


def test_a_rank_that_never_joins_times_out(tmp_path):
    job = run_mpi(tmp_path, HANGS, 3, timeout=60)
    assert job.returncode != 0
    assert job.seconds < 25
    # the first rank to raise aborts the job, so the other may not get to report
    assert job.results and set(job.results) <= {0, 2}
    for r, res in job.results.items():
        assert res["error"].startswith(f"[Rank {r}] ember.distributed.all_reduce timed out after "
                                       "3000 ms"), res["error"]
        assert 2.5 < res["waited"] < 10


MISMATCHED = '''
dist.init_process_group(timeout=timedelta(seconds=30))
if dist.get_rank() == 0:
    dist.all_reduce(ember.ones(2), async_op=True)
else:
    dist.barrier()  # meets rank 0's signature exchange: both ranks see the mismatch
'''


def test_different_collectives_fail_on_every_rank(tmp_path):
    job = run_mpi(tmp_path, MISMATCHED, 2, timeout=60)
    assert job.returncode != 0
    assert job.seconds < 20
    # (the first rank to raise aborts the job, which may stop the other before it prints)
    assert any(f"[rank {r}] RuntimeError: [Rank {r}] ember.distributed." in job.stderr
               for r in (0, 1))
    assert "Is there a distributed collective mismatch in your code?" in job.stderr


WAIT_TIMEOUT = '''
dist.init_process_group(timeout=timedelta(seconds=30))
r = dist.get_rank()
t = ember.zeros(2)
if r == 0:
    work = dist.irecv(t, src=1)
    res = {"completed": work.is_completed()}
    start = time.monotonic()
    try:
        work.wait(timedelta(seconds=1))
    except RuntimeError as e:
        res["error"] = str(e)
    res["waited"] = time.monotonic() - start
    res["state"] = [work.is_success(), type(work.exception()).__name__]
    report(res)
dist.barrier()
if r == 1:
    dist.send(ember.ones(2), dst=0)
# rank 0 exits normally, but a wait of its timed out: it aborts instead of finalizing
'''


def test_work_wait_timeout(tmp_path):
    job = run_mpi(tmp_path, WAIT_TIMEOUT, 2, timeout=60)
    res = job.results[0]
    assert res["completed"] is False
    assert res["error"].startswith("[Rank 0] ember.distributed.recv timed out after 1000 ms")
    assert 0.9 < res["waited"] < 5
    assert res["state"] == [False, "RuntimeError"]
    assert job.returncode != 0
    assert "a collective timed out earlier in this process; aborting the job" in job.stderr


LAUNCHED = '''
dist.init_process_group()
env = {k: os.environ[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                                  "MASTER_ADDR", "MASTER_PORT")}
x = ember.tensor([float(dist.get_rank())])
dist.all_reduce(x)
report({"env": env, "rank": dist.get_rank(), "sum": x.item(), "argv": sys.argv[1:],
        "elastic": dist.is_torchelastic_launched()})
if "--fail" in sys.argv and dist.get_rank() == 1:
    sys.exit(3)
dist.barrier()
'''


def _launch(n, *flags):
    mpiexec()
    return [sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", str(n), *flags]


def test_launcher_sets_torchruns_environment(tmp_path):
    job = run_mpi(tmp_path, LAUNCHED, 2, launcher=_launch(2, "--master-port", "29123"),
                  args=["--lr", "0.1"]).check()
    for r in (0, 1):
        res = job.results[r]
        assert res["env"] == {"RANK": str(r), "WORLD_SIZE": "2", "LOCAL_RANK": str(r),
                              "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
                              "MASTER_PORT": "29123"}
        assert res["rank"] == r and res["sum"] == 1.0
        assert res["argv"] == ["--lr", "0.1"] and res["elastic"] is True


def test_launcher_names_the_failing_rank(tmp_path):
    job = run_mpi(tmp_path, LAUNCHED, 3, launcher=_launch(3), args=["--fail"], timeout=60)
    assert job.returncode == 1
    assert job.seconds < 20
    assert "ember.distributed.run: rank 1 (local_rank 1) failed: exited with code 3" in job.stderr


def test_launcher_without_mpiexec(monkeypatch, tmp_path):
    monkeypatch.delenv("EMBER_MPIEXEC", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"no mpiexec next to .* pip install "
                                           r"'ember\[distributed\]'"):
        launcher.find_mpiexec()
