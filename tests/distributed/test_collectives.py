"""``ember.distributed``'s collectives on 2, 3 and 4 MPI ranks against a single-process NumPy
computation of the same data: every reduction op on every dtype, in-place and async
(``async_op=True`` Work handles), the data-moving collectives, point to point, the object
collectives and ``new_group``. One mpiexec run per world size does all of it."""

from __future__ import annotations

import numpy as np
import pytest

from .mpi_helpers import run_mpi

DATA = '''
DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool", "float16", "bfloat16"]
OPS = ["SUM", "AVG", "PRODUCT", "MAX", "MIN"]


def data(rank, dtype, shape=(2, 3)):
    """Rank ``rank``'s values: quarters in [-2, 2] for floats (sums and products of four stay
    exact in every float type), 1..3 for integers."""
    rng = np.random.default_rng(1000 + 7 * rank + len(dtype))
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in ("int64", "int32", "uint8"):
        return rng.integers(1, 4, shape).astype(dtype)
    return rng.integers(-8, 9, shape) / 4
'''

BODY = DATA + '''

def tensor(rank, dtype, shape=(2, 3)):
    a = data(rank, dtype, shape)
    if dtype == "bfloat16":
        return ember.tensor(a, dtype=ember.bfloat16)
    return ember.from_numpy(np.ascontiguousarray(a.astype(dtype)))


def out(t):
    return t.float().tolist() if t.dtype in (ember.bfloat16, ember.float16) else t.tolist()


dist.init_process_group("gloo", timeout=timedelta(seconds=60))
r, n = dist.get_rank(), dist.get_world_size()
res = {"rank": r, "size": n, "backend": dist.get_backend(), "init": dist.is_initialized()}
for dt in DTYPES:
    for opname in OPS:
        op = getattr(dist.ReduceOp, opname)
        x = tensor(r, dt)
        try:
            before = x._version
            assert dist.all_reduce(x, op=op) is None
            res[f"all_reduce/{dt}/{opname}"] = out(x)
            res[f"version/{dt}/{opname}"] = x._version - before
        except RuntimeError as e:
            res[f"all_reduce/{dt}/{opname}"] = "error: " + str(e)
            continue
        x = tensor(r, dt)
        work = dist.all_reduce(x, op=op, async_op=True)
        res[f"async/{dt}/{opname}"] = [work.wait(), work.is_completed(), work.is_success(),
                                       work.exception() is None, out(work.result()[0]), out(x)]
        x = tensor(r, dt)
        dist.reduce(x, dst=n - 1, op=op)
        res[f"reduce/{dt}/{opname}"] = out(x)
        big = tensor(r, dt, (2 * n, 3))
        o = ember.zeros_like(tensor(r, dt))
        dist.reduce_scatter_tensor(o, big, op=op)
        res[f"reduce_scatter_tensor/{dt}/{opname}"] = out(o)
        o = ember.zeros_like(tensor(r, dt))
        dist.reduce_scatter(o, list(big.chunk(n)), op=op)
        res[f"reduce_scatter/{dt}/{opname}"] = out(o)
    x = tensor(r, dt)
    dist.broadcast(x, src=1 % n)
    res[f"broadcast/{dt}"] = out(x)
    parts = [ember.zeros_like(tensor(r, dt)) for _ in range(n)]
    dist.all_gather(parts, tensor(r, dt))
    res[f"all_gather/{dt}"] = [out(p) for p in parts]
    whole = ember.zeros_like(tensor(r, dt, (2 * n, 3)))
    work = dist.all_gather_into_tensor(whole, tensor(r, dt), async_op=True)
    work.wait()
    res[f"all_gather_into_tensor/{dt}"] = out(whole)
    parts = [ember.zeros_like(tensor(r, dt)) for _ in range(n)] if r == 0 else None
    dist.gather(tensor(r, dt), parts, dst=0)
    res[f"gather/{dt}"] = [out(p) for p in parts] if r == 0 else None
    o = ember.zeros_like(tensor(r, dt))
    dist.scatter(o, list(tensor(r, dt, (2 * n, 3)).chunk(n)) if r == n - 1 else None, src=n - 1)
    res[f"scatter/{dt}"] = out(o)
    ins = list(tensor(r, dt, (2 * n, 3)).chunk(n))
    outs = [ember.zeros_like(tensor(r, dt)) for _ in range(n)]
    dist.all_to_all(outs, ins)
    res[f"all_to_all/{dt}"] = [out(p) for p in outs]
    # unequal splits: rank r sends j + 1 rows to rank j, so it receives n * (r + 1) rows
    src = tensor(r, dt, (n * (n + 1) // 2, 3))
    dst = ember.zeros_like(tensor(r, dt, (n * (r + 1), 3)))
    dist.all_to_all_single(dst, src, [r + 1] * n, [j + 1 for j in range(n)])
    res[f"all_to_all_single/{dt}"] = out(dst)

# a non-contiguous view is reduced through a copy and written back into its base
base = tensor(r, "float32", (3, 2))
view = base.t()
dist.all_reduce(view)
res["noncontiguous"] = [out(view), out(base)]
x = tensor(r, "float64", (4, 3))[1:3]
dist.broadcast(x, src=0)
res["slice_broadcast"] = out(x)

# point to point: a ring
right, left = (r + 1) % n, (r - 1) % n
got = ember.zeros_like(tensor(r, "float32"))
if r % 2 == 0:
    dist.send(tensor(r, "float32"), dst=right)
    sender = dist.recv(got, src=left)
else:
    sender = dist.recv(got, src=left)
    dist.send(tensor(r, "float32"), dst=right)
res["ring"] = [sender, out(got)]
got = ember.zeros_like(tensor(r, "int64"))
works = [dist.isend(tensor(r, "int64"), dst=right, tag=7), dist.irecv(got, tag=7)]
for w in works:
    w.wait()
res["iring"] = [works[1].source_rank(), out(got)]
if r == 0:
    senders = []
    for _ in range(n - 1):
        t = ember.zeros(1)
        senders.append(dist.recv(t))
        assert t.item() == 10 * senders[-1]
    res["any_source"] = sorted(senders)
else:
    dist.send(ember.tensor([10.0 * r]), dst=0)

# objects
objs = [{"rank": r, "text": "x" * r}, (r, [r] * r)]
objs = objs if r == 1 % n else [None, None]
dist.broadcast_object_list(objs, src=1 % n)
res["broadcast_object_list"] = [objs[0], list(objs[1])]
gathered = [None] * n
dist.all_gather_object(gathered, {"r": r, "sq": r * r})
res["all_gather_object"] = gathered
g = [None] * n if r == 0 else None
dist.gather_object(r * 3, g, dst=0)
res["gather_object"] = g
box = [None]
dist.scatter_object_list(box, [f"to {k}" for k in range(n)] if r == 0 else None, src=0)
res["scatter_object_list"] = box[0]

# groups: the even ranks, and the whole world again
evens = dist.new_group([k for k in range(n) if k % 2 == 0])
world = dist.new_group()
x = ember.tensor([float(r)])
if r % 2 == 0:
    dist.all_reduce(x, group=evens)
    dist.broadcast(ember.zeros(1), src=0, group=evens)
else:
    assert evens == dist.GroupMember.NON_GROUP_MEMBER
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert dist.all_reduce(x, group=evens) is None
    res["non_member_warning"] = str(caught[0].message)
res["group"] = [dist.get_rank(evens), dist.get_world_size(evens), out(x)]
res["group_ranks"] = dist.get_process_group_ranks(evens) if r % 2 == 0 else None
y = ember.tensor([1.0 + r])
dist.all_reduce(y, op=dist.ReduceOp.PRODUCT, group=world)
res["world_group"] = [dist.get_rank(world), out(y)]
dist.barrier()
dist.barrier(group=world, async_op=True).wait()
dist.destroy_process_group()
res["destroyed"] = dist.is_initialized()
report(res)
'''

ns: dict = {"np": np}
exec(DATA, ns)
data, DTYPES, OPS = ns["data"], ns["DTYPES"], ns["OPS"]


def _np(dt, a):
    """``a`` rounded to the dtype the tensors had (bfloat16 through ml_dtypes when present)."""
    if dt == "bfloat16":
        import ml_dtypes

        return np.asarray(a).astype(ml_dtypes.bfloat16).astype(np.float64)
    return np.asarray(a).astype(dt)


def _reduce(stack, dt, op, n):
    if dt == "bool":
        return {"SUM": stack.any(0), "MAX": stack.any(0), "PRODUCT": stack.all(0),
                "MIN": stack.all(0)}[op]
    s = stack.astype(np.float64) if dt in ("float16", "bfloat16", "float32") else stack
    value = {"SUM": lambda: s.sum(0), "AVG": lambda: s.sum(0) / n,
             "PRODUCT": lambda: s.prod(0), "MAX": lambda: s.max(0), "MIN": lambda: s.min(0)}[op]()
    return _np(dt, value)


def _same(got, want, dt):
    got = np.asarray(got, dtype=np.float64 if dt in ("float16", "bfloat16") else None)
    want = np.asarray(want)
    assert got.shape == want.shape
    if dt in ("float32", "float64", "float16", "bfloat16"):
        np.testing.assert_allclose(got, want.astype(np.float64), rtol=1e-6, atol=0)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_collectives_match_numpy(tmp_path, n):
    pytest.importorskip("ml_dtypes")
    job = run_mpi(tmp_path, BODY, n).check()
    assert sorted(job.results) == list(range(n))
    for r in range(n):
        res = job.results[r]
        assert res["rank"] == r and res["size"] == n and res["backend"] == "gloo" and res["init"]
        for dt in DTYPES:
            stack = np.stack([data(k, dt) for k in range(n)])
            big = np.stack([data(k, dt, (2 * n, 3)) for k in range(n)])
            for op in OPS:
                got = res[f"all_reduce/{dt}/{op}"]
                if op == "AVG" and dt in ("int64", "int32", "uint8", "bool"):
                    name = {"int64": "Long", "int32": "Int", "uint8": "Byte", "bool": "Bool"}[dt]
                    assert got == ("error: result type Float can't be cast to the desired "
                                   f"output type {name}")
                    continue
                want = _reduce(stack, dt, op, n)
                _same(got, want, dt)
                assert res[f"version/{dt}/{op}"] == 1
                ok = res[f"async/{dt}/{op}"]
                assert ok[:4] == [True, True, True, True]
                _same(ok[4], want, dt)
                _same(ok[5], want, dt)
                _same(res[f"reduce/{dt}/{op}"], want if r == n - 1 else _np(dt, stack[r]), dt)
                chunk = _reduce(big, dt, op, n)[2 * r:2 * r + 2]
                _same(res[f"reduce_scatter_tensor/{dt}/{op}"], chunk, dt)
                _same(res[f"reduce_scatter/{dt}/{op}"], chunk, dt)
            _same(res[f"broadcast/{dt}"], _np(dt, stack[1 % n]), dt)
            _same(res[f"all_gather/{dt}"], _np(dt, stack), dt)
            _same(res[f"all_gather_into_tensor/{dt}"], _np(dt, stack.reshape(2 * n, 3)), dt)
            if r == 0:
                _same(res[f"gather/{dt}"], _np(dt, stack), dt)
            else:
                assert res[f"gather/{dt}"] is None
            _same(res[f"scatter/{dt}"], _np(dt, big[n - 1][2 * r:2 * r + 2]), dt)
            _same(res[f"all_to_all/{dt}"], _np(dt, big[:, 2 * r:2 * r + 2]), dt)
            rows = n * (n + 1) // 2
            sends = [data(k, dt, (rows, 3)) for k in range(n)]
            start = r * (r + 1) // 2  # rank k's rows for rank r start after 1 + 2 + ... + r
            want = np.concatenate([s[start:start + r + 1] for s in sends])
            _same(res[f"all_to_all_single/{dt}"], _np(dt, want), dt)
        base = np.stack([data(k, "float32", (3, 2)) for k in range(n)]).sum(0)
        np.testing.assert_array_equal(res["noncontiguous"][0], base.T)
        np.testing.assert_array_equal(res["noncontiguous"][1], base)
        np.testing.assert_array_equal(res["slice_broadcast"], data(0, "float64", (4, 3))[1:3])
        left = (r - 1) % n
        assert res["ring"] == [left, data(left, "float32").tolist()]
        assert res["iring"] == [left, data(left, "int64").tolist()]
        if r == 0:
            assert res["any_source"] == list(range(1, n))
        b = 1 % n
        assert res["broadcast_object_list"] == [{"rank": b, "text": "x" * b}, [b, [b] * b]]
        assert res["all_gather_object"] == [{"r": k, "sq": k * k} for k in range(n)]
        assert res["gather_object"] == ([3 * k for k in range(n)] if r == 0 else None)
        assert res["scatter_object_list"] == f"to {r}"
        evens = [k for k in range(n) if k % 2 == 0]
        if r % 2 == 0:
            assert res["group"] == [evens.index(r), len(evens), [float(sum(evens))]]
            assert res["group_ranks"] == evens
        else:
            assert res["group"] == [-1, -1, [float(r)]]
            assert res["non_member_warning"] == (f"Running all_reduce on global rank {r} which "
                                                 "does not belong to the given group.")
        assert res["world_group"] == [r, [float(np.prod(np.arange(1, n + 1)))]]
        assert res["destroyed"] is False
