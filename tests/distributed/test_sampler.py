"""``ember.utils.data.DistributedSampler`` against PyTorch's: the same indices for every rank,
size, replica count, seed, epoch and ``drop_last``, the same lengths, attributes and errors.
No MPI: ``num_replicas`` and ``rank`` are given explicitly (except in the error checks)."""

from __future__ import annotations

import pytest

import ember
from ember.utils.data import DistributedSampler, TensorDataset

torch = pytest.importorskip("torch")
from torch.utils.data import DistributedSampler as TorchSampler  # noqa: E402

CASES = [(n, k) for n in (1, 2, 5, 7, 10, 16, 33) for k in (1, 2, 3, 4, 8)]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [False, True])
def test_indices_match_pytorch(shuffle, drop_last):
    for n, k in CASES:
        if drop_last and n < k:
            continue  # nothing left for some rank: both libraries give empty shares
        for seed in (0, 3):
            mine = [DistributedSampler(range(n), num_replicas=k, rank=r, shuffle=shuffle,
                                       seed=seed, drop_last=drop_last) for r in range(k)]
            ref = [TorchSampler(range(n), num_replicas=k, rank=r, shuffle=shuffle, seed=seed,
                                drop_last=drop_last) for r in range(k)]
            for epoch in (0, 1, 5):
                for a, b in zip(mine, ref):
                    a.set_epoch(epoch)
                    b.set_epoch(epoch)
                    got, want = list(a), list(b)
                    assert got == want, (n, k, seed, epoch, a.rank)
                    assert len(a) == len(b) == len(got)
                    assert (a.num_samples, a.total_size) == (b.num_samples, b.total_size)


def test_shares_cover_the_dataset_and_epochs_reshuffle():
    n, k = 23, 4
    shares = [list(DistributedSampler(range(n), num_replicas=k, rank=r)) for r in range(k)]
    flat = sorted(i for s in shares for i in s)
    assert set(flat) == set(range(n)) and len(flat) == 24  # one index repeated as padding
    s = DistributedSampler(range(n), num_replicas=k, rank=0)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first and s.epoch == 1


def test_dataloader_uses_the_share():
    data = TensorDataset(ember.arange(10.0))
    sampler = DistributedSampler(data, num_replicas=3, rank=2, shuffle=False)
    loader = ember.utils.data.DataLoader(data, batch_size=2, sampler=sampler)
    got = [b[0].tolist() for b in loader]
    assert got == [[2.0, 5.0], [8.0, 1.0]]  # 2, 5, 8, then 1 from the padding


def test_exports_and_attributes():
    assert ember.utils.data.distributed.DistributedSampler is DistributedSampler
    s = DistributedSampler(range(4), num_replicas=2, rank=1, shuffle=False, seed=7,
                           drop_last=True)
    assert (s.num_replicas, s.rank, s.epoch, s.shuffle, s.seed, s.drop_last) == \
        (2, 1, 0, False, 7, True)
    assert isinstance(s, ember.utils.data.Sampler)


@pytest.mark.parametrize("rank", [-1, 3, 4])
def test_invalid_rank(rank):
    msg = f"Invalid rank {rank}, rank should be in the interval [0, 2]"
    with pytest.raises(ValueError) as theirs:
        TorchSampler(range(4), num_replicas=3, rank=rank)
    assert str(theirs.value) == msg
    with pytest.raises(ValueError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        DistributedSampler(range(4), num_replicas=3, rank=rank)


def test_without_a_process_group_the_error_is_pytorchs():
    # No process group in this process: PyTorch raises its default group's error; an ember
    # without mpi4py has no distributed package, and says so as PyTorch's builds without one.
    with pytest.raises(ValueError) as theirs:
        TorchSampler(range(4))
    try:
        from ember import distributed as dist
        available = dist.is_available()
    except ImportError:
        available = False
    if available:
        with pytest.raises(ValueError) as mine:
            DistributedSampler(range(4))
        assert str(mine.value) == str(theirs.value)
    else:
        with pytest.raises(RuntimeError, match="Requires distributed package to be available"):
            DistributedSampler(range(4))
