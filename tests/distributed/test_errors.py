"""``ember.distributed``'s errors, as PyTorch's: before ``init_process_group``, a second init,
bad arguments, and ranks that disagree (shapes, dtypes, collectives), which raise the same
RuntimeError on every rank and leave the group usable. Also the launch environment checks and
the message without mpi4py."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .mpi_helpers import ROOT, run_mpi

BODY = '''
res = {}


def expect(name, fn, kind):
    try:
        fn()
    except kind as e:
        res[name] = f"{type(e).__name__}: {e}"
    else:
        res[name] = "no error"


expect("before_init", lambda: dist.all_reduce(ember.ones(2)), ValueError)
expect("rank_before_init", lambda: dist.get_rank(), ValueError)
res["initialized_before"] = dist.is_initialized()
expect("bad_timeout", lambda: dist.init_process_group(timeout=3), TypeError)
dist.init_process_group(timeout=timedelta(seconds=30))
expect("twice", lambda: dist.init_process_group(), ValueError)
r = dist.get_rank()
expect("shape", lambda: dist.all_reduce(ember.ones(3 if r == 0 else 4)), RuntimeError)
expect("dtype", lambda: dist.all_reduce(ember.ones(3, dtype=ember.float32 if r == 0 else
                                                   ember.float64)), RuntimeError)
expect("same_numel_other_shape", lambda: dist.broadcast(ember.ones((2, 3) if r == 0 else (3, 2)),
                                                        src=0), RuntimeError)
expect("collective", lambda: dist.broadcast(ember.ones(3), src=0) if r == 0 else
       dist.all_reduce(ember.ones(3)), RuntimeError)
expect("op", lambda: dist.all_reduce(ember.ones(3), op=dist.ReduceOp.SUM if r == 0 else
                                     dist.ReduceOp.MAX), RuntimeError)
expect("root", lambda: dist.broadcast(ember.ones(3), src=r), RuntimeError)
x = ember.ones(3)
dist.all_reduce(x)  # still usable after the mismatches
res["after"] = x.tolist()
expect("avg_int", lambda: dist.all_reduce(ember.ones(3, dtype=ember.int64),
                                          op=dist.ReduceOp.AVG), RuntimeError)
expect("premul", lambda: dist.all_reduce(ember.ones(3), op=dist.ReduceOp.PREMUL_SUM),
       NotImplementedError)
expect("not_tensor", lambda: dist.all_reduce([1, 2]), TypeError)
expect("gather_len", lambda: dist.all_gather([ember.ones(2)], ember.ones(2)), RuntimeError)
expect("send_self", lambda: dist.send(ember.ones(2), dst=r), ValueError)
expect("scatter_list", lambda: dist.scatter(ember.ones(2), None, src=r), ValueError)
expect("bad_src", lambda: dist.broadcast(ember.ones(2), src=5), RuntimeError)
expect("nccl", lambda: dist.new_group([0], backend="nccl"), RuntimeError)
res["available"] = [dist.is_available(), dist.is_mpi_available(), dist.is_gloo_available(),
                    dist.is_nccl_available()]
res["enums"] = [repr(dist.ReduceOp.SUM), str(dist.ReduceOp.AVG), dist.Backend("GLOO"),
                dist.get_backend(), dist.group.WORLD is not None]
dist.destroy_process_group()
res["destroyed"] = [dist.is_initialized(), dist.group.WORLD is None]
report(res)
'''


def test_errors_as_pytorch(tmp_path):
    job = run_mpi(tmp_path, BODY, 2).check()
    for r in (0, 1):
        res = job.results[r]
        not_init = ("ValueError: Default process group has not been initialized, please make "
                    "sure to call init_process_group.")
        assert res["before_init"] == res["rank_before_init"] == not_init
        assert res["initialized_before"] is False
        assert res["bad_timeout"] == ("TypeError: Expected timeout argument to be of type "
                                      "datetime.timedelta, got 3")
        assert res["twice"] == "ValueError: trying to initialize the default process group twice!"
        for key, words in (("shape", "numel (3 vs 4)"), ("dtype", "dtype (float32 vs float64)"),
                           ("same_numel_other_shape", "shape"), ("collective", "collective"),
                           ("op", "op (SUM vs MAX)"), ("root", "root (0 vs 1)")):
            assert res[key].startswith(f"RuntimeError: [Rank {r}] ember.distributed."), res[key]
            assert words in res[key], res[key]
            assert res[key].endswith("Is there a distributed collective mismatch in your code?")
        assert res["after"] == [2.0, 2.0, 2.0]
        assert res["avg_int"] == ("RuntimeError: result type Float can't be cast to the desired "
                                  "output type Long")
        assert res["premul"].startswith("NotImplementedError: ReduceOp.PREMUL_SUM")
        assert res["not_tensor"] == ("TypeError: Invalid function argument. Expected parameter "
                                     "`tensor` of type torch.Tensor\n             but got "
                                     "<class 'list'> instead.")
        assert res["gather_len"] == ("RuntimeError: ProcessGroupGloo::allgather: invalid output "
                                     "tensor list at index 0 (expected length 2, got 1)")
        assert res["send_self"] == ("ValueError: Invalid destination rank: destination rank "
                                    "should not be the same as the rank of the current process.")
        assert res["scatter_list"] == ("ValueError: Argument ``scatter_list`` must be specified "
                                       "on source rank.")
        assert res["bad_src"] == "RuntimeError: ember.distributed: invalid root rank: 5"
        assert res["nccl"] == "RuntimeError: Distributed package doesn't have NCCL built in"
        assert res["available"] == [True, True, True, False]
        assert res["enums"] == ["<RedOpType.SUM: 0>", "RedOpType.AVG", "gloo", "mpi", True]
        assert res["destroyed"] == [False, True]


def _python(code, **env):
    full = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, timeout=60)


def test_environment_must_agree_with_mpi():
    pytest.importorskip("mpi4py")
    # started by hand (one MPI process) while the environment says two ranks
    p = _python("import ember.distributed as d; d.init_process_group()", WORLD_SIZE="2", RANK="1")
    assert p.returncode != 0
    assert "ValueError: the environment says RANK=1 but MPI's rank is 0" in p.stderr
    assert "mpiexec" in p.stderr
    p = _python("import ember.distributed as d; d.init_process_group(world_size=2, rank=0)")
    assert "ValueError: init_process_group(world_size=2) disagrees with MPI's world_size 1" \
        in p.stderr


def test_without_mpi4py():
    code = ("import sys; sys.modules['mpi4py'] = None; sys.modules['mpi4py.MPI'] = None\n"
            "import ember.distributed as d\n"
            "print(d.is_available())\n"
            "d.init_process_group()")
    p = _python(code)
    assert p.stdout.split() == ["False"]
    assert p.stderr.strip().splitlines()[-1] == (
        "RuntimeError: ember.distributed needs mpi4py and an MPI library: "
        "pip install 'ember[distributed]'")


def test_import_does_not_start_mpi():
    p = _python("import sys, ember; ember.distributed.ReduceOp.SUM; "
                "print('mpi4py.MPI' in sys.modules)")
    assert p.stdout.split() == ["False"]
