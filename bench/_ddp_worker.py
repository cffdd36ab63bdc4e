"""One rank of the DDP benchmark (bench/distributed.py starts it under mpiexec for ember and
torchrun for PyTorch): times DistributedDataParallel training steps of one model.

Contract: ``python -m bench._ddp_worker LIB MODEL MODE STEPS`` with LIB ``ember`` or ``torch``,
MODEL ``mlp`` (784-512-512-10) or ``digits`` (the demo's CNN), MODE ``strong`` (a global batch
of 256 split across the ranks) or ``weak`` (256 per rank). Every rank runs the same steps;
rank 0 prints one JSON line: the median step time with DDP, the median step time of the same
step without communication (``no_sync``: forward, backward and the optimizer only), the time
of one blocking all-reduce of all gradients alone, and the share of that all-reduce hidden
under the backward pass, ``1 - (ddp - compute) / allreduce`` (clamped to [0, 1]).
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np

GLOBAL_BATCH = 256


def _model(T, name):
    if name == "mlp":
        nn = T.nn
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10)), (784,)
    from ember.demo import build_model

    return build_model(T), (1, 8, 8)


def main(argv):
    lib, model_name, mode, steps = argv[0], argv[1], argv[2], int(argv[3])
    if lib == "torch":
        import torch as T

        T.distributed.init_process_group("gloo")
        T.set_num_threads(1)
    else:
        import ember as T

        T.distributed.init_process_group("mpi")
    dist = T.distributed
    rank, world = dist.get_rank(), dist.get_world_size()
    T.manual_seed(0)
    model, in_shape = _model(T, model_name)
    ddp = T.nn.parallel.DistributedDataParallel(model)
    opt = T.optim.SGD(ddp.parameters(), lr=0.01)
    batch = GLOBAL_BATCH // world if mode == "strong" else GLOBAL_BATCH
    rng = np.random.default_rng(rank)
    x = T.tensor(rng.standard_normal((batch, *in_shape)).astype(np.float32))
    y = T.tensor(rng.integers(0, 10, batch))
    loss_fn = T.nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        loss_fn(ddp(x), y).backward()
        opt.step()

    def local_step():
        opt.zero_grad()
        with ddp.no_sync():
            loss_fn(ddp(x), y).backward()
        opt.step()

    def timed(fn):
        for _ in range(3):
            fn()
        out = []
        for _ in range(steps):
            dist.barrier()
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return statistics.median(out)

    t_ddp = timed(step)
    t_local = timed(local_step)
    grads = [p.grad for p in ddp.parameters() if p.grad is not None]
    flat = T.cat([g.reshape(-1) for g in grads])

    def allreduce():
        dist.all_reduce(flat)
    t_ar = timed(allreduce) if world > 1 else 0.0
    hidden = 1.0 if world == 1 or t_ar == 0 else \
        min(1.0, max(0.0, 1 - (t_ddp - t_local) / t_ar))
    if rank == 0:
        print(json.dumps({"lib": lib, "model": model_name, "mode": mode, "world": world,
                          "batch_per_rank": batch, "step_ms": t_ddp * 1e3,
                          "compute_ms": t_local * 1e3, "allreduce_ms": t_ar * 1e3,
                          "hidden": hidden}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1:])
