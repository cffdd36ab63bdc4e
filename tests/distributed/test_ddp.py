"""``ember.nn.parallel.DistributedDataParallel`` on real MPI jobs, against single-process training.

This file is also the job: ``mpiexec -n K python tests/distributed/test_ddp.py OUT`` runs every
scenario below on K ranks (each rank trains its replica on its share of a global batch) and
rank 0 pickles what the ranks saw to OUT. The tests start one job per K (1 without mpiexec,
then 2 and 3) and compare with the same training done in this process without DDP on the
whole batch: equal to rounding (float64: rtol 1e-12; float32: 1e-6). Also checked: the broadcast
of rank 0's weights at construction and of its buffers before each forward (BatchNorm), no_sync
accumulation, find_unused_parameters (a branch unused on every rank, on some ranks, an output
left out of the loss), the unused-parameter error without the flag, state_dict keys, and that
buckets' all_reduces are posted while backward still has gradients to compute (overlap).
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
B = 12  # the global batch: splits evenly over 1, 2 and 3 ranks
TINY_MB = 1e-5  # a bucket cap (about 10 bytes) that gives every parameter its own bucket


# ---- the scenarios' models and data (shared by the MPI job and the single-process reference) --

def mlp(T, seed, dtype):
    T.manual_seed(seed)
    nn = T.nn
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, 3)).to(dtype)


def cnn(T, seed):
    T.manual_seed(seed)
    nn = T.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(64, 3))


def branchy(T, seed):
    """Three parts: ``a`` always used, ``b`` used when asked, ``head``."""
    T.manual_seed(seed)
    nn = T.nn

    class Branchy(nn.Module):
        def __init__(self, two_outputs=False):
            super().__init__()
            self.a, self.b, self.head = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 2)
            self.two_outputs = two_outputs

        def forward(self, x, use_b=False):
            h = self.a(x)
            if self.two_outputs:
                return self.head(h), self.b(x)
            if use_b:
                h = h + self.b(x)
            return self.head(h)

    return Branchy


def data(T, step, shape, dtype, classes=None, seed=0):
    rng = np.random.default_rng(1000 * seed + step)
    x = T.tensor(rng.normal(size=(B, *shape))).to(dtype)
    if classes is None:
        return x, T.tensor(rng.normal(size=(B, 3))).to(dtype)
    return x, T.tensor(rng.integers(0, classes, B))


def share(t, rank, world):
    n = B // world
    return t[rank * n:(rank + 1) * n]


def state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def grads(module):
    return {n: None if p.grad is None else p.grad.numpy().copy()
            for n, p in module.named_parameters()}


def optimizer(T, name, params):
    if name == "sgd":
        return T.optim.SGD(params, lr=0.1, momentum=0.9)
    return T.optim.Adam(params, lr=1e-2)


# ---- the MPI job -------------------------------------------------------------------------------

def job(out):
    import warnings

    import ember as T
    import ember.distributed as dist
    from ember.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    F = T.nn.functional
    res = {}

    # plain training, float64, SGD and Adam, default and tiny buckets; the replicas start from
    # different weights (seed 100 + rank): the construction broadcast makes them rank 0's
    # (and once with the gradients kept as views of the buckets)
    for key, opt_name, cap, as_view in (("sgd", "sgd", TINY_MB, False),
                                        ("adam", "adam", None, False),
                                        ("sgd_view", "sgd", TINY_MB, True)):
        net = mlp(T, 100 + rank, T.float64)
        ddp = DDP(net, bucket_cap_mb=cap, gradient_as_bucket_view=as_view)
        opt = optimizer(T, opt_name, ddp.parameters())
        for step in range(4):
            x, y = data(T, step, (5,), T.float64)
            opt.zero_grad(set_to_none=step % 2 == 0)
            F.mse_loss(ddp(share(x, rank, world)), share(y, rank, world)).backward()
            opt.step()
        res[f"mlp_{key}"] = state(net)
        res[f"mlp_{key}_buckets"] = [b.indices for b in ddp.reducer.buckets]
        res[f"mlp_{key}_views"] = [any(p.grad is v for b in ddp.reducer.buckets for v in b.views)
                                   for p in net.parameters()]

    # a CNN with BatchNorm in float32: rank 0's running statistics are broadcast before each
    # forward, so evaluation gives rank 0's answer on every rank; without the broadcast it
    # does not
    for sync in (True, False):
        net = cnn(T, 200 + rank)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # (broadcast_buffers is deprecated)
            ddp = DDP(net) if sync else DDP(net, broadcast_buffers=False)
        opt = T.optim.SGD(ddp.parameters(), lr=0.05)
        for step in range(3):
            x, y = data(T, step, (1, 6, 6), T.float32, classes=3, seed=1)
            opt.zero_grad()
            F.cross_entropy(ddp(share(x, rank, world)), share(y, rank, world)).backward()
            opt.step()
        ddp.eval()
        with T.no_grad():
            evaluated = ddp(data(T, 99, (1, 6, 6), T.float32, classes=3, seed=1)[0]).numpy()
        res[f"cnn_sync{sync}"] = (state(net), dist_gather(dist, evaluated))

    # no_sync: two micro-batches accumulate locally, the third reduces all three
    net = mlp(T, 300, T.float64)
    ddp = DDP(net)
    opt = T.optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(2):
        opt.zero_grad()
        with ddp.no_sync():
            for micro in range(2):
                x, y = data(T, 10 * step + micro, (5,), T.float64)
                F.mse_loss(ddp(share(x, rank, world)), share(y, rank, world)).backward()
        if step == 0:
            res["no_sync_local"] = grads(net)
        x, y = data(T, 10 * step + 2, (5,), T.float64)
        F.mse_loss(ddp(share(x, rank, world)), share(y, rank, world)).backward()
        res[f"no_sync_grads{step}"] = grads(net)
        opt.step()
    res["no_sync"] = state(net)

    # find_unused_parameters: b unused everywhere, then used on rank 0 only, then everywhere
    net = branchy(T, 400)().double()
    ddp = DDP(net, find_unused_parameters=True, bucket_cap_mb=TINY_MB)
    opt = T.optim.SGD(ddp.parameters(), lr=0.1)
    for step, use_b in enumerate((False, rank == 0, True)):
        x, y = data(T, step, (4,), T.float64, seed=2)
        opt.zero_grad()
        F.mse_loss(ddp(share(x, rank, world), use_b=use_b),
                   share(y[:, :2], rank, world)).backward()
        res[f"unused_grads{step}"] = dist_gather(dist, grads(net))
        opt.step()
    res["unused"] = state(net)

    # find_unused_parameters with an output that the loss leaves out
    net = branchy(T, 500)(two_outputs=True).double()
    ddp = DDP(net, find_unused_parameters=True)
    opt = T.optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(2):
        x, y = data(T, step, (4,), T.float64, seed=3)
        opt.zero_grad()
        kept, _ = ddp(share(x, rank, world))
        F.mse_loss(kept, share(y[:, :2], rank, world)).backward()
        res[f"left_out_grads{step}"] = grads(net)
        opt.step()
    res["left_out"] = state(net)

    # state_dict keys carry the module. prefix and load back
    net = mlp(T, 600, T.float64)
    ddp = DDP(net)
    res["keys"] = (list(ddp.state_dict()), list(net.state_dict()))
    other = DDP(mlp(T, 601, T.float64))
    other.load_state_dict(ddp.state_dict())
    res["loaded"] = all(np.array_equal(a, b) for a, b in zip(state(other.module).values(),
                                                             state(net).values()))

    # overlap: with one bucket per parameter, the first bucket's all_reduce is posted while
    # gradients are still to come (the buckets are rebuilt in gradient order at the 2nd forward)
    events = []
    c10d = dist.distributed_c10d
    real = c10d._all_reduce  # (DDP posts its buckets through it, without the agreement check)

    def logged(tensor, *args, **kwargs):
        events.append(("all_reduce", tensor.numel()))
        return real(tensor, *args, **kwargs)

    net = mlp(T, 700, T.float64)
    ddp = DDP(net, bucket_cap_mb=TINY_MB)
    for i, p in enumerate(net.parameters()):
        p.register_post_accumulate_grad_hook(lambda p, i=i: events.append(("grad", i)))
    c10d._all_reduce = logged
    try:
        logs = []
        for step in range(2):
            events.clear()
            x, y = data(T, step, (5,), T.float64)
            F.mse_loss(ddp(share(x, rank, world)), share(y, rank, world)).backward()
            logs.append(list(events))
    finally:
        c10d._all_reduce = real
    res["overlap"] = logs

    # without find_unused_parameters, a parameter without gradient: the next forward raises
    net = branchy(T, 800)().double()
    ddp = DDP(net)
    x, y = data(T, 0, (4,), T.float64, seed=4)
    F.mse_loss(ddp(share(x, rank, world)), share(y[:, :2], rank, world)).backward()
    try:
        ddp(share(x, rank, world))
    except RuntimeError as e:
        res["unused_error"] = dist_gather(dist, str(e))
    else:
        res["unused_error"] = dist_gather(dist, None)

    if rank == 0:
        with open(out, "wb") as f:
            pickle.dump(res, f)
    dist.barrier()
    dist.destroy_process_group()


def dist_gather(dist, obj):
    """Every rank's ``obj``, in rank order (on every rank)."""
    objs = [None] * dist.get_world_size()
    dist.all_gather_object(objs, obj)
    return objs


if __name__ == "__main__":
    job(sys.argv[1])
    sys.exit(0)


# ---- the tests ----------------------------------------------------------------------------------

import pytest  # noqa: E402

import ember as T  # noqa: E402

from .mpi_helpers import launch  # noqa: E402

F = T.nn.functional


def _mpiexec():
    # (the one next to this interpreter first: a virtual environment's mpich wheel)
    return shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which(
        "mpiexec")


@pytest.fixture(scope="module", params=[1, 2, 3])
def run(request, tmp_path_factory):
    """(results of the job on K ranks, K). K = 1 runs as a plain process (MPI's singleton)."""
    pytest.importorskip("mpi4py")
    world = request.param
    out = tmp_path_factory.mktemp("ddp") / "results.pkl"
    cmd = [sys.executable, __file__, str(out)]
    if world > 1:
        mpiexec = _mpiexec()
        if mpiexec is None:
            pytest.skip("mpiexec is not installed")
        cmd = [mpiexec, "-n", str(world), *cmd]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = launch(cmd, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out, "rb") as f:
        return pickle.load(f), world


def assert_state(got, want, rtol, atol=0.0):
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=atol, err_msg=k)


def assert_grads(got, want, rtol):
    assert list(got) == list(want)
    for k in want:
        if want[k] is None:
            assert got[k] is None, k
        else:
            assert got[k] is not None, k
            np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=1e-15, err_msg=k)


@pytest.mark.parametrize("key", ["sgd", "adam", "sgd_view"])
def test_training_equals_single_process_on_the_whole_batch(run, key):
    res, world = run
    net = mlp(T, 100, T.float64)  # rank 0's weights, which DDP broadcast at construction
    opt = optimizer(T, "adam" if key == "adam" else "sgd", net.parameters())
    for step in range(4):
        x, y = data(T, step, (5,), T.float64)
        opt.zero_grad(set_to_none=step % 2 == 0)
        F.mse_loss(net(x), y).backward()
        opt.step()
    assert_state(res[f"mlp_{key}"], state(net), rtol=1e-12)
    # gradient_as_bucket_view: each .grad is its bucket's view, else a tensor of its own
    assert res[f"mlp_{key}_views"] == [key.endswith("view")] * 6


def test_buckets(run):
    res, world = run
    # tiny cap: one bucket per parameter, rebuilt in the order the gradients arrived (last
    # layer first); default cap: everything fits the 1 MiB first bucket
    assert sorted(len(b) for b in res["mlp_sgd_buckets"]) == [1] * 6
    assert res["mlp_sgd_buckets"][0] in ([5], [4])
    assert len(res["mlp_adam_buckets"]) == 1 and sorted(res["mlp_adam_buckets"][0]) == list(
        range(6))


def _cnn_reference(world):
    """Each rank's step on its share, with rank 0's buffers at each forward; gradients
    averaged as DDP does (each divided by the world size, then summed in rank order)."""
    net = cnn(T, 200)
    opt = T.optim.SGD(net.parameters(), lr=0.05)
    for step in range(3):
        x, y = data(T, step, (1, 6, 6), T.float32, classes=3, seed=1)
        buffers = {k: v.clone() for k, v in net.named_buffers()}
        total = None
        for r in range(world):
            with T.no_grad():
                for k, v in net.named_buffers():
                    v.copy_(buffers[k])
            net.zero_grad()
            F.cross_entropy(net(share(x, r, world)), share(y, r, world)).backward()
            g = [p.grad * (1.0 / world) for p in net.parameters()]
            total = g if total is None else [a + b for a, b in zip(total, g)]
            if r == 0:
                rank0_buffers = {k: v.clone() for k, v in net.named_buffers()}
        with T.no_grad():
            for k, v in net.named_buffers():
                v.copy_(rank0_buffers[k])
        for p, g in zip(net.parameters(), total):
            p.grad = g
        opt.step()
    net.eval()
    with T.no_grad():
        evaluated = net(data(T, 99, (1, 6, 6), T.float32, classes=3, seed=1)[0]).numpy()
    return state(net), evaluated


def test_batchnorm_buffers_are_broadcast(run):
    res, world = run
    want_state, want_eval = _cnn_reference(world)
    got_state, evals = res["cnn_syncTrue"]
    assert_state(got_state, want_state, rtol=1e-6, atol=1e-7)
    for e in evals:  # every rank evaluates with rank 0's statistics
        np.testing.assert_allclose(e, want_eval, rtol=1e-5, atol=1e-6)
    # without the broadcast the other ranks keep their own statistics
    _, evals = res["cnn_syncFalse"]
    if world > 1:
        assert not np.allclose(evals[1], evals[0], rtol=1e-4, atol=1e-5)


def test_no_sync_accumulates_then_reduces_everything(run):
    res, world = run
    net = mlp(T, 300, T.float64)
    local = mlp(T, 300, T.float64)
    for micro in range(2):  # rank 0's own shares only
        x, y = data(T, micro, (5,), T.float64)
        F.mse_loss(local(share(x, 0, world)), share(y, 0, world)).backward()
    assert_grads(res["no_sync_local"], grads(local), rtol=1e-12)
    opt = T.optim.SGD(net.parameters(), lr=0.1)
    for step in range(2):
        opt.zero_grad()
        for micro in range(3):
            x, y = data(T, 10 * step + micro, (5,), T.float64)
            F.mse_loss(net(x), y).backward()
        assert_grads(res[f"no_sync_grads{step}"], grads(net), rtol=1e-12)
        opt.step()
    assert_state(res["no_sync"], state(net), rtol=1e-12)


def test_find_unused_parameters(run):
    res, world = run
    net = branchy(T, 400)().double()
    opt = T.optim.SGD(net.parameters(), lr=0.1)
    names = [n for n, _ in net.named_parameters()]
    for step, use_b in enumerate((lambda r: False, lambda r: r == 0, lambda r: True)):
        x, y = data(T, step, (4,), T.float64, seed=2)
        total = {n: None for n in names}
        for r in range(world):
            net.zero_grad()
            F.mse_loss(net(share(x, r, world), use_b=use_b(r)),
                       share(y[:, :2], r, world)).backward()
            for n, p in net.named_parameters():
                if p.grad is not None:
                    g = p.grad * (1.0 / world)
                    total[n] = g if total[n] is None else total[n] + g
        # a parameter used on some rank gets the average (zeros from the others) everywhere;
        # one used on no rank keeps its gradient (None)
        for r in range(world):
            got = res[f"unused_grads{step}"][r]
            want = {n: None if total[n] is None else total[n].numpy() for n in names}
            assert_grads(got, want, rtol=1e-12)
        for n, p in net.named_parameters():
            p.grad = total[n]
        opt.step()
    assert_state(res["unused"], state(net), rtol=1e-12)


def test_output_left_out_of_the_loss(run):
    res, world = run
    net = branchy(T, 500)(two_outputs=True).double()
    opt = T.optim.SGD(net.parameters(), lr=0.1)
    for step in range(2):
        x, y = data(T, step, (4,), T.float64, seed=3)
        opt.zero_grad()
        F.mse_loss(net(x)[0], y[:, :2]).backward()
        got = res[f"left_out_grads{step}"]
        assert got["b.weight"] is None and got["b.bias"] is None
        assert_grads(got, grads(net), rtol=1e-12)
        opt.step()
    assert_state(res["left_out"], state(net), rtol=1e-12)


def test_unused_parameter_without_the_flag_raises_at_the_next_forward(run):
    res, world = run
    for rank, msg in enumerate(res["unused_error"]):
        assert msg is not None
        assert msg.startswith("Expected to have finished reduction in the prior iteration "
                              "before starting a new one. This error indicates that your "
                              "module has parameters that were not used in producing loss. "
                              "You can enable unused parameter detection by passing the keyword "
                              "argument `find_unused_parameters=True` to "
                              "`torch.nn.parallel.DistributedDataParallel`")
        assert f"\nParameter indices which did not receive grad for rank {rank}: 2 3\n" in msg


def test_state_dict_keys(run):
    res, _ = run
    keys, inner = res["keys"]
    assert keys == [f"module.{k}" for k in inner]
    assert res["loaded"]


def test_all_reduce_overlaps_backward(run):
    res, world = run
    first, second = res["overlap"]
    # first iteration: one bucket, posted when the last gradient arrives (DDP's hook runs
    # before the logging hook registered after it)
    numel = sum(p.numel() for p in mlp(T, 0, T.float64).parameters())
    assert [e for e in first if e[0] == "all_reduce"] == [("all_reduce", numel)]
    assert [e[0] for e in first] == ["grad"] * 5 + ["all_reduce", "grad"]
    # second: one bucket per parameter, the first posted while gradients are still pending
    posts = [i for i, e in enumerate(second) if e[0] == "all_reduce"]
    grads_at = [i for i, e in enumerate(second) if e[0] == "grad"]
    assert len(posts) == 6 and len(grads_at) == 6
    assert posts[0] < grads_at[-1]


def test_example_on_two_processes_equals_one():
    # examples/ddp_digits.py splits its global batch over the ranks: the same epochs' losses
    # and the same accuracy as one process
    pytest.importorskip("mpi4py")
    mpiexec = _mpiexec()
    if mpiexec is None:
        pytest.skip("mpiexec is not installed")
    script = [sys.executable, str(ROOT / "examples" / "ddp_digits.py"), "--fast"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    outs = []
    for cmd in (script, [mpiexec, "-n", "2", *script]):
        proc = launch(cmd, cwd=ROOT, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs.append(proc.stdout.splitlines())
    one, two = outs
    assert "2 process(es), 32 images each per step (global batch 64)" in two
    assert [s for s in one if "process(es)" not in s] == [s for s in two
                                                         if "process(es)" not in s]
    assert one[-1].startswith("test accuracy: ")


# ---- without MPI ---------------------------------------------------------------------------------

def test_bucket_assignment_matches_pytorch():
    torch = pytest.importorskip("torch")
    dist = pytest.importorskip("torch.distributed")
    from ember.nn.parallel.distributed import _compute_bucket_assignment_by_size

    shapes = [(3, 5), (7,), (100,), (2, 2), (40, 3), (1,), (64,)]
    dtypes = ["float32", "float64", "float32", "float32", "float64", "float32", "float32"]
    mine = [T.zeros(s, dtype=getattr(T, d)) for s, d in zip(shapes, dtypes)]
    theirs = [torch.zeros(s, dtype=getattr(torch, d)) for s, d in zip(shapes, dtypes)]
    for limits in ([sys.maxsize], [64], [32, 400], [1], [100, 200]):
        want, _ = dist._compute_bucket_assignment_by_size(theirs, limits, [False] * len(shapes))
        assert _compute_bucket_assignment_by_size(mine, limits) == [list(b) for b in want]
        order = [6, 2, 5, 0, 1, 3, 4]
        want, _ = dist._compute_bucket_assignment_by_size([theirs[i] for i in order], limits,
                                                          [False] * len(shapes), order)
        got = _compute_bucket_assignment_by_size([mine[i] for i in order], limits,
                                                 tensor_indices=order)
        assert sorted(got) == sorted(list(b) for b in want)


def test_exports():
    from ember.nn.parallel import DistributedDataParallel
    from ember.nn.parallel.distributed import DistributedDataParallel as same

    assert DistributedDataParallel is same
    assert issubclass(DistributedDataParallel, T.nn.Module)
