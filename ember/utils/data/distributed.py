"""``DistributedSampler``: each process of a data-parallel job draws its own share of a dataset
(PyTorch's ``torch.utils.data.distributed``).

Contract: PyTorch's class, arguments, attributes (``num_replicas``, ``rank``, ``epoch``,
``num_samples``, ``total_size``, ``shuffle``, ``seed``, ``drop_last``), errors and indices. With
``shuffle`` the order is ``randperm(len(dataset))`` from a generator seeded with
``seed + epoch``, which is PyTorch's CPU stream bit for bit, so every rank of an ember job, and
a PyTorch job with the same seed, sees the same indices. Without ``drop_last`` the list is
padded by repeating it from its start until it splits evenly; with it, the tail is cut. Rank
``r`` takes every ``num_replicas``-th index starting at ``r``. ``num_replicas`` and ``rank``
default to the default process group's (``ember.distributed``), which must be initialized.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TypeVar

from ... import random as _random
from .sampler import Sampler

__all__ = ["DistributedSampler"]

_T_co = TypeVar("_T_co", covariant=True)


def _dist():
    """``ember.distributed`` when it can run collectives, else PyTorch's error for a build
    without the distributed package. (Imported here: the sampler itself needs no MPI.)"""
    try:
        from ... import distributed as dist
    except ImportError:
        dist = None
    if dist is None or not dist.is_available():
        raise RuntimeError("Requires distributed package to be available")
    return dist


class DistributedSampler(Sampler[_T_co]):
    """Restrict loading to this rank's share of ``dataset`` (see the module's contract).

    Call ``set_epoch(epoch)`` before each epoch's iteration so that the shuffled order changes
    from epoch to epoch (identically on every rank).

    >>> [list(DistributedSampler(range(5), num_replicas=2, rank=r, shuffle=False))
    ...  for r in range(2)]
    [[0, 2, 4], [1, 3, 0]]
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _dist().get_world_size()
        if rank is None:
            rank = _dist().get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(self.dataset)
        if self.drop_last and n % self.num_replicas != 0:
            # the largest evenly divisible length that drops at most num_replicas - 1 items
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[_T_co]:
        n = len(self.dataset)
        if self.shuffle:
            # the same order on every rank: a private generator seeded from seed and epoch
            g = _random.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = _random.randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))

        if not self.drop_last:
            # repeat from the start until the length divides evenly (possibly several times
            # over, when there are fewer items than replicas)
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        if len(indices) != self.total_size:
            raise AssertionError(f"Number of indices ({len(indices)}) does not match "
                                 f"total_size ({self.total_size})")

        # this rank's share: interleaved, so shares differ in length by nothing
        indices = indices[self.rank:self.total_size:self.num_replicas]
        if len(indices) != self.num_samples:
            raise AssertionError(f"Number of subsampled indices ({len(indices)}) does not match "
                                 f"num_samples ({self.num_samples})")
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which (with ``seed``) chooses the shuffled order of the next pass."""
        self.epoch = epoch
