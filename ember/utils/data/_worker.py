"""What runs inside a DataLoader worker process, and what it shares with the main process.

Contract (PyTorch's ``torch.utils.data._utils.worker``):
- ``get_worker_info()`` is a frozen ``WorkerInfo(id, num_workers, seed, dataset)`` inside a
  worker and None in the main process.
- A worker seeds itself before the user's ``worker_init_fn(worker_id)`` runs: Python's
  ``random`` and ember's default generator with ``base_seed + worker_id``, ``numpy.random`` with
  four 32-bit words hashed from ``(worker_id, base_seed)`` (``_numpy_seed``, PyTorch's hash), so
  the same ``manual_seed`` gives each worker the seeds PyTorch's worker gets.
- The worker loop answers each ``(task_idx, keys)`` from its index queue with
  ``(task_idx, batch)`` on the shared result queue, in the order it received them; a failure is
  sent as a ``_WorkerError`` (re-raised in the main process with the worker's traceback), the end
  of an iterable dataset as ``_IterableStop``. ``None`` ends the loop; ``_ResumeIteration``
  (persistent workers) restarts the dataset's iteration and is echoed back as an acknowledgement.
- The fetchers are shared with the single-process iterator, so both load and collate alike.

Nothing here imports multiprocessing: ``get_worker_info`` is public and cheap to import.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from typing import Any

__all__ = ["WorkerInfo", "get_worker_info"]

# Seconds a worker waits on its index queue before checking that its parent is still alive;
# also how long shutdown waits for a worker to exit before terminating it (PyTorch's value).
STATUS_CHECK_INTERVAL = 5.0

_worker_info: WorkerInfo | None = None


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """The worker's id, the number of workers, its seed and its own copy of the dataset."""

    id: int
    num_workers: int
    seed: int
    dataset: Any
    rng: Any = None
    worker_method: str | None = "multiprocessing"


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo`` inside a DataLoader worker process; None elsewhere.

    >>> get_worker_info() is None
    True
    """
    return _worker_info


# ---- messages between the processes ----

@dataclass(frozen=True)
class _IterableStop:
    """The worker's copy of an iterable dataset is exhausted: send it no more tasks."""

    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Persistent workers: start the dataset's iteration again (a new epoch)."""


class _KeyErrorMessage(str):
    """KeyError shows its argument's repr; this str shows itself, keeping the traceback legible."""

    def __repr__(self):
        return self


class _WorkerError:
    """An exception caught in a worker, as its class and formatted traceback (picklable)."""

    def __init__(self, where: str) -> None:
        exc_type, exc, tb = sys.exc_info()
        self.exc_type = exc_type
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            # Exceptions whose constructor takes the text as ``message=`` (PyTorch does this too).
            raise self.exc_type(message=msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            # The class cannot be built from one string: keep the text at least.
            raise RuntimeError(msg) from None
        raise exc


# ---- fetching: keys -> collated batch ----

class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn

    def fetch(self, keys):
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(keys) if getitems else [self.dataset[k] for k in keys]
        else:
            data = self.dataset[keys]
        return self.collate_fn(data)


class _IterableFetcher:
    """Samples from one ``iter(dataset)``; ``keys`` only says how many (a batch's length)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, keys):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in keys:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if len(data) == 0 or (self.drop_last and len(data) < len(keys)):
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last):
    cls = _IterableFetcher if iterable else _MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# ---- seeding ----

_M32 = 0xFFFF_FFFF


def _numpy_seed(base_seed: int, worker_id: int) -> list[int]:
    """Four 32-bit words for ``numpy.random.seed``: PyTorch's SeedSequence-style hash of
    ``(worker_id, base_seed)``, so that workers (and ``random``'s stream) do not collide."""
    entropy = [worker_id, base_seed & _M32, base_seed >> 32, 0]
    mult = 0x43B0D7E5

    def hash_a(v):
        nonlocal mult
        v = (v ^ mult) & _M32
        mult = (mult * 0x931E8875) & _M32
        v = (v * mult) & _M32
        return v ^ (v >> 16)

    pool = [hash_a(e) for e in entropy]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                r = (0xCA01F9DD * pool[dst] - 0x4973F715 * hash_a(pool[src])) & _M32
                pool[dst] = r ^ (r >> 16)
    out = []
    mult = 0x8B51F9DD
    for v in pool:
        v ^= mult
        mult = (mult * 0x58F38DED) & _M32
        v = (v * mult) & _M32
        out.append(v ^ (v >> 16))
    return out


def _seed_worker(base_seed: int, worker_id: int) -> int:
    import random

    import numpy as np

    from ... import random as ember_random

    seed = base_seed + worker_id
    random.seed(seed)
    ember_random.manual_seed(seed)
    np.random.seed(_numpy_seed(base_seed, worker_id))
    return seed


# ---- the worker process ----

def _worker_loop(iterable, dataset, index_queue, result_queue, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers):
    """The body of worker ``worker_id``: seed, run ``init_fn``, then answer tasks until None."""
    import queue

    global _worker_info
    try:
        # One BLAS thread per worker, as PyTorch's ``set_num_threads(1)``: workers x threads
        # would oversubscribe the cores.
        set_threads = getattr(sys.modules[__package__.partition(".")[0]], "set_num_threads",
                              None)
        if set_threads is not None:
            set_threads(1)

        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"

        def new_fetcher():
            return make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)

        # A failing ``init_fn`` (or ``iter(dataset)``) is reported as the answer to the first
        # task, where the main process is listening.
        pending_error = fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = new_fetcher()
        except Exception:
            pending_error = _WorkerError(where)

        ended = False  # the dataset's iteration is over: skip tasks until resumed or told to stop
        parent = os.getppid()
        while True:
            try:
                task = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent:  # the main process died without shutting us down
                    break
                continue
            if task is None:
                break
            if isinstance(task, _ResumeIteration):
                result_queue.put((task, None))
                ended = False
                try:
                    fetcher = new_fetcher()
                except Exception:
                    pending_error = _WorkerError(where)
                continue
            if ended or done_event.is_set():
                continue
            idx, keys = task
            if pending_error is not None:
                data, pending_error = pending_error, None
            else:
                try:
                    data = fetcher.fetch(keys)
                except Exception as e:
                    if iterable and isinstance(e, StopIteration):
                        data = _IterableStop(worker_id)
                        ended = True
                    else:
                        data = _WorkerError(where)
            result_queue.put((idx, data))
            del data, task, keys  # a big batch should not stay alive while waiting for the next
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches every process of the group; the main process reports it
    if done_event.is_set():
        # The main process stopped reading: exit without flushing what is still unsent.
        result_queue.cancel_join_thread()
        result_queue.close()
