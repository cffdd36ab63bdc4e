"""DataLoader worker processes (``num_workers > 0``), checked against PyTorch's behaviour.

Batch order equals ``num_workers=0``'s; workers are seeded as PyTorch seeds them (compared with
real PyTorch workers); ``worker_init_fn`` and ``get_worker_info``; a worker's exception re-raised
with its traceback; a dead worker and a timeout raise PyTorch's RuntimeError instead of hanging;
persistent workers; iterable datasets copied to every worker; early exit shuts workers down.
No timing assertions (bench/dataloader_workers.py measures speed).
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import signal
import time

import numpy as np
import pytest

import ember
from ember.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info
from ember.utils.data import dataloader as dataloader_module

from ..oracle import same, torch

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="the tests' datasets need fork"),
    # 3 workers on a 2-core machine: PyTorch's advice, not what these tests check.
    pytest.mark.filterwarnings("ignore:This DataLoader will create"),
]


def batches(loader):
    return [[t.tolist() for t in b] for b in loader]


def tensor_ds(n=11):
    return TensorDataset(ember.arange(float(n)) * 1.5, ember.arange(n) % 4)


# ---- order ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shuffle", [False, True])
def test_order_equals_single_process_order(shuffle):
    ember.manual_seed(3)
    plain = batches(DataLoader(tensor_ds(), batch_size=2, shuffle=shuffle))
    ember.manual_seed(3)
    workers = batches(DataLoader(tensor_ds(), batch_size=2, shuffle=shuffle, num_workers=3,
                                 prefetch_factor=1))
    assert workers == plain


def test_in_order_false_yields_the_same_batches():
    got = batches(DataLoader(tensor_ds(), batch_size=2, num_workers=2, in_order=False))
    assert sorted(got) == sorted(batches(DataLoader(tensor_ds(), batch_size=2)))


def test_map_and_iterable_batches_equal_torchs():
    def fn(T):
        class Shard(T.utils.data.IterableDataset):
            def __iter__(self):
                info = T.utils.data.get_worker_info()
                return iter(range(info.id, 11, info.num_workers))

        class Copy(T.utils.data.IterableDataset):  # not sharded: every worker yields it all
            def __iter__(self):
                return iter(range(5))

        loaders = [T.utils.data.DataLoader(Shard(), batch_size=2, num_workers=3),
                   T.utils.data.DataLoader(Shard(), batch_size=2, num_workers=2, drop_last=True),
                   T.utils.data.DataLoader(Copy(), batch_size=3, num_workers=2),
                   T.utils.data.DataLoader(range(7), batch_size=3, num_workers=2)]
        return [list(loader) for loader in loaders]
    same(fn)


# ---- worker_init_fn, get_worker_info, seeding ----------------------------------------------

_init_id = None


def record_init(worker_id):
    global _init_id
    _init_id = worker_id


class Probe(Dataset):
    """Each item reports what its worker sees."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        info = get_worker_info()
        return {"id": info.id, "init": _init_id, "num_workers": info.num_workers,
                "seed": info.seed, "own_copy": info.dataset is self,
                "initial_seed": ember.initial_seed(), "random": random.random(),
                "numpy": int(np.random.randint(2 ** 31))}


def probe(num_workers=2, **kwargs):
    loader = DataLoader(Probe(), batch_size=None, num_workers=num_workers, **kwargs)
    return list(loader)


def test_worker_init_fn_and_get_worker_info():
    items = probe(3, worker_init_fn=record_init)
    assert get_worker_info() is None
    assert [d["id"] for d in items] == [0, 1, 2, 0, 1, 2]
    assert all(d["init"] == d["id"] and d["num_workers"] == 3 and d["own_copy"] for d in items)
    base = items[0]["seed"]
    assert [d["seed"] for d in items] == [base, base + 1, base + 2] * 2
    assert all(d["initial_seed"] == d["seed"] for d in items)
    # Python's random seeded with the worker's seed, before the worker's first item.
    assert items[1]["random"] == random.Random(base + 1).random()


def test_worker_info_is_frozen_as_torchs():
    def fn(T):
        info = T.utils.data._utils.worker.WorkerInfo(id=0, num_workers=1, seed=5, dataset=None) \
            if T is torch else ember.utils.data._worker.WorkerInfo(0, 1, 5, None)
        with pytest.raises(dataclasses.FrozenInstanceError) as caught:
            info.id = 1
        return repr(info), str(caught.value)
    assert fn(ember) == fn(torch)


def torch_base_seed(seed):
    torch.manual_seed(seed)
    return torch.empty((), dtype=torch.int64).random_().item()


def run_probe(T, seed):
    T.manual_seed(seed)
    loader = T.utils.data.DataLoader(Probe() if T is ember else TorchProbe(), batch_size=None,
                                     num_workers=2)
    return [(d["seed"], d["initial_seed"], d["random"], d["numpy"]) for d in loader]


class TorchProbe(torch.utils.data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        info = torch.utils.data.get_worker_info()
        return {"seed": info.seed, "initial_seed": torch.initial_seed(),
                "random": random.random(), "numpy": int(np.random.randint(2 ** 31))}


def test_worker_seeds_from_a_base_seed_as_torchs(monkeypatch):
    # The base seed itself comes from the RNG (next test); given PyTorch's, every worker's
    # seeds (ember's generator, random, numpy.random) are PyTorch's.
    monkeypatch.setattr(dataloader_module, "_draw_base_seed", lambda g: torch_base_seed(0))
    assert run_probe(ember, 0) == run_probe(torch, 0)


def test_worker_seeds_equal_torchs_for_the_same_manual_seed():
    assert run_probe(ember, 0) == run_probe(torch, 0)


@pytest.mark.parametrize("persistent", [False, True])
def test_shuffled_epochs_and_later_draws_equal_torchs(persistent):
    # Base seed and sampler seed drawn from the default generator as PyTorch draws them (the
    # base seed only once with persistent workers), so the orders and the next draws agree.
    def fn(T):
        T.manual_seed(0)
        loader = T.utils.data.DataLoader(T.utils.data.TensorDataset(T.arange(10)), batch_size=3,
                                         shuffle=True, num_workers=2,
                                         persistent_workers=persistent)
        return [b for _ in range(3) for b in loader], T.rand(2)
    same(fn)


# ---- errors ----------------------------------------------------------------------------------

class Faulty(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 2:
            raise ValueError("bad item 2")
        if i == 3:
            raise KeyError("no key 3")
        if i == 4:
            os._exit(3)
        if i == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


def test_worker_exception_is_reraised_with_its_traceback():
    it = iter(DataLoader(Faulty(), batch_size=None, num_workers=2, sampler=[0, 2, 1, 3, 0]))
    assert next(it) == 0
    with pytest.raises(ValueError) as caught:
        next(it)
    text = str(caught.value)
    assert text.startswith("Caught ValueError in DataLoader worker process 1.\n"
                           "Original Traceback (most recent call last):\n")
    assert 'raise ValueError("bad item 2")' in text
    assert text.endswith("ValueError: bad item 2\n")
    assert next(it) == 1  # the loader goes on, as PyTorch's
    with pytest.raises(KeyError) as caught:
        next(it)
    # KeyError shows the text itself, not its repr (which would escape the newlines).
    assert str(caught.value).startswith("Caught KeyError in DataLoader worker process 1.\n")
    assert str(caught.value).endswith("KeyError: 'no key 3'\n")
    assert next(it) == 0


def failing_init(worker_id):
    raise RuntimeError(f"init failed in {worker_id}")


def test_worker_init_fn_exception_is_reraised():
    with pytest.raises(RuntimeError, match="Caught RuntimeError in DataLoader worker process 0"
                                           r"(.|\n)*RuntimeError: init failed in 0"):
        list(DataLoader(range(4), num_workers=2, worker_init_fn=failing_init))


@pytest.mark.parametrize("index, message", [
    (4, r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"),
    (5, r"DataLoader worker \(pid \d+\) is killed by signal: Killed. "),
])
def test_dying_worker_raises_instead_of_hanging(index, message):
    loader = DataLoader(Faulty(), batch_size=None, num_workers=2, sampler=[0, 1, index, 0])
    with pytest.raises(RuntimeError, match=message):
        list(loader)


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(0.3)
        return i


def test_timeout():
    # Same check and message as PyTorch's.
    loader = DataLoader(Slow(), num_workers=1, timeout=0.05)
    with pytest.raises(RuntimeError, match=re.escape("DataLoader timed out after 0.05 seconds")):
        list(loader)


# ---- lifetime ------------------------------------------------------------------------------

class Pid(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return os.getpid(), i, ember.rand(()).item()


def test_persistent_workers_live_across_epochs():
    loader = DataLoader(Pid(), batch_size=2, num_workers=2, persistent_workers=True)
    it = iter(loader)
    next(it)  # an epoch cut short: its answers still in flight are dropped
    epochs = [list(loader) for _ in range(2)]
    assert iter(loader) is it
    pids = [{b[0][0].item() for b in e} for e in epochs]
    assert pids[0] == pids[1] and len(pids[0]) == 2 and os.getpid() not in pids[0]
    assert [b[1].tolist() for b in epochs[1]] == [[0, 1], [2, 3], [4, 5]]
    # Not reseeded between epochs: each worker's generator goes on.
    assert [b[2].tolist() for b in epochs[0]] != [b[2].tolist() for b in epochs[1]]
    workers = it._workers
    del loader, it, epochs
    assert not any(w.is_alive() for w in workers)


def test_new_workers_each_epoch_without_persistence():
    loader = DataLoader(Pid(), batch_size=3, num_workers=2)
    first, second = ({b[0][0].item() for b in loader} for _ in range(2))
    assert first.isdisjoint(second)


def test_early_break_shuts_workers_down():
    loader = DataLoader(range(1000), batch_size=2, num_workers=2)
    it = iter(loader)
    for _ in it:
        break
    workers = it._workers
    del it
    assert not any(w.is_alive() for w in workers)


def test_iterable_dataset_exhausted_workers_exit():
    class Uneven(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            return iter(range(1 + 4 * info.id))  # worker 0 ends first

    got = [b.tolist() for b in DataLoader(Uneven(), batch_size=2, num_workers=2)]
    assert got == [[0], [0, 1], [2, 3], [4]]


def test_collate_fn_and_pin_memory_in_workers():
    def collate(batch):
        return {"worker": get_worker_info().id, "sum": sum(batch)}

    with pytest.warns(UserWarning, match="no accelerator is found"):
        got = list(DataLoader(range(6), batch_size=3, num_workers=2, collate_fn=collate,
                              pin_memory=True))
    assert got == [{"worker": 0, "sum": 3}, {"worker": 1, "sum": 12}]


def test_spawn_context():
    loader = DataLoader(tensor_ds(5), batch_size=2, num_workers=1,
                        multiprocessing_context="spawn")
    assert batches(loader) == batches(DataLoader(tensor_ds(5), batch_size=2))
