"""DataLoader, ``default_collate`` and ``default_convert`` (PyTorch's ``torch.utils.data``).

Contract: PyTorch's arguments, argument-conflict errors, ``len()``, batching and collation
(tensors stacked, Python floats to float64, ints to int64, NumPy arrays and scalars to tensors,
mappings/namedtuples/sequences collated field by field, strings and bytes kept as lists).
Every ``iter(loader)`` is a fresh epoch (one iterator for the loader's life with
``persistent_workers``) and first draws the epoch's ``base_seed`` from ``generator`` (the default
generator when None), as PyTorch, so a seeded run draws the same numbers with or without workers.
``num_workers > 0`` loads in worker processes (NOTE [worker processes]) and yields the batches
``num_workers=0`` yields, in the same order (``in_order=False``: as they arrive).
``pin_memory=True`` pins every batch's CPU tensors (``Tensor.pin_memory``, also inside
mappings, namedtuples and sequences, and any object with a ``pin_memory()`` method) when CUDA
is available, ready for ``.to("cuda", non_blocking=True)``; without CUDA it warns as PyTorch
does without an accelerator and yields the batches unpinned.
"""

# NOTE [worker processes]
# Each worker has its own index queue; all answer on one result queue. Tasks (a task number and
# the batch's keys) go to the active workers round-robin, at most ``prefetch_factor`` per worker
# outstanding; answers that arrive early wait in ``_task_info`` until their turn. Batches cross
# the process boundary pickled through the result pipe (a tensor pickles its NumPy array). That
# costs ~2 ms per MiB where PyTorch's shared memory costs ~0.8 (bench/dataloader_workers.py,
# 2 busy cores): negligible next to per-item work, visible for big ready-made batches. Handing
# over memfd descriptors through multiprocessing's resource sharer was tried and gained little:
# its authenticated connection per array costs ~2 ms; a per-worker socket for descriptors would
# be the way to do it. While waiting, the main process also watches
# the workers' process sentinels, so a worker that dies raises at once instead of hanging.
# Shutdown (iterator deleted or exhausted, loop broken, a worker dead): set ``done_event`` (workers
# skip queued tasks), send None to each worker, join, terminate what is still alive after
# ``STATUS_CHECK_INTERVAL`` seconds. Workers are daemons, so they never outlive the program, and
# a worker whose parent disappears (SIGKILL) notices within ``STATUS_CHECK_INTERVAL`` and exits.
# The start method is the platform's default (fork on Linux before Python 3.14) unless
# ``multiprocessing_context`` names another; with spawn/forkserver the dataset, collate_fn and
# worker_init_fn must pickle, as with PyTorch.

from __future__ import annotations

import collections.abc
import copy
import itertools
import math
import os
import re
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

from ... import dtypes as _dt
from ...creation import as_tensor, empty, tensor
from ...tensor import Tensor
from ._worker import STATUS_CHECK_INTERVAL, get_worker_info, make_fetcher
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]

T_co = TypeVar("T_co", covariant=True)

# NumPy dtypes (bytes, unicode, object) that cannot become tensors.
_np_str_obj_array_pattern = re.compile(r"[SaUO]")

_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                           "dicts or lists; found {}")


# ---- conversion and collation ----

def default_convert(data):
    """NumPy arrays and scalars (also inside mappings and sequences) to tensors; the rest as is.

    >>> import numpy as np
    >>> default_convert([np.array([0, 1]), 2])
    [tensor([0, 1]), 2]
    """
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if (elem_type.__name__ == "ndarray"
                and _np_str_obj_array_pattern.search(data.dtype.str) is not None):
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                # A shallow copy keeps the mapping's type and attributes.
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as PyTorch (backward compatibility)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def collate_tensor_fn(batch, *, collate_fn_map=None):
    from ... import stack

    return stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    elem = batch[0]
    if _np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(_collate_err_msg_format.format(elem.dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return as_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map=None):
    return tensor(batch, dtype=_dt.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(batch, *, collate_fn_map: dict[type | tuple[type, ...], Callable] | None = None):
    """Collate ``batch`` by the type of its first element: an exact entry of ``collate_fn_map``
    first, then the first entry it is an instance of, then containers field by field."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        fields = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                  for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(fields)
                return clone
            return elem_type(fields)
        except TypeError:
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map)
                           for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed  # a list, as PyTorch (backward compatibility)
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = samples
                return clone
            return elem_type(transposed)
        except TypeError:
            return transposed
    raise TypeError(_collate_err_msg_format.format(elem_type))


def default_collate(batch):
    """Stack a list of samples into a batch (a new leading dimension), field by field.

    >>> default_collate([(0, 1.5), (2, 3.5)])
    [tensor([0, 2]), tensor([1.5000, 3.5000], dtype=torch.float64)]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


# ---- DataLoader ----

class _InfiniteConstantSampler(Sampler):
    """None forever: the sampler of an IterableDataset, which needs no keys."""

    def __iter__(self):
        while True:
            yield None


def _cpu_count():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


class DataLoader(Generic[T_co]):
    """Batches of samples from ``dataset``, in sampler order, collated by ``collate_fn``.

    >>> import ember
    >>> from ember.utils.data import TensorDataset
    >>> loader = DataLoader(TensorDataset(ember.arange(5.)), batch_size=2)
    >>> [b[0].tolist() for b in loader]
    [[0.0, 1.0], [2.0, 3.0], [4.0]]
    """

    __initialized = False

    def __init__(self, dataset: Dataset[T_co], batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler=None, batch_sampler=None,
                 num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None.")
        elif num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        # Dataset-kind errors come before sampler errors, as PyTorch orders them.
        if isinstance(dataset, IterableDataset):
            self._dataset_kind = "iterable"
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = "map"

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == "iterable":
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._IterableDataset_len_called = None  # see _BaseDataLoaderIter.__next__
        self._iterator = None  # the persistent workers' iterator
        self.__initialized = True
        self._check_worker_number_rationality()

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, multiprocessing_context) -> None:
        if multiprocessing_context is not None:
            if self.num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with multi-process "
                                 "loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(multiprocessing_context, str):
                import multiprocessing  # NOTE: here: it costs ~3 ms of ``import ember``

                valid_start_methods = multiprocessing.get_all_start_methods()
                if multiprocessing_context not in valid_start_methods:
                    raise ValueError(
                        "multiprocessing_context option should specify a valid start method in "
                        f"{valid_start_methods!r}, but got "
                        f"multiprocessing_context={multiprocessing_context!r}")
                multiprocessing_context = multiprocessing.get_context(multiprocessing_context)
            import multiprocessing.context

            if not isinstance(multiprocessing_context, multiprocessing.context.BaseContext):
                raise TypeError(
                    "multiprocessing_context option should be a valid context object or a "
                    "string specifying the start method, but got "
                    f"multiprocessing_context={multiprocessing_context}")
        self.__multiprocessing_context = multiprocessing_context

    def __setattr__(self, attr, val) -> None:
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler",
                                           "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        # Batches of keys with auto-collation, single keys without.
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> _BaseDataLoaderIter:
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        if not self.persistent_workers:
            self._check_worker_number_rationality()  # again, as PyTorch, on each start
            return _MultiProcessingDataLoaderIter(self)
        # Persistent workers: one iterator (and one set of processes) for all epochs.
        if self._iterator is None:
            self._check_worker_number_rationality()
            self._iterator = _MultiProcessingDataLoaderIter(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self) -> int:
        if self._dataset_kind == "iterable":
            # The dataset's own length (TypeError if it has none), in batches; remembered so
            # that an iterator yielding more than that can warn.
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    return length // self.batch_size
                return math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)

    def _check_worker_number_rationality(self) -> None:
        if not self.num_workers:
            return
        suggest = _cpu_count()
        if suggest is None or self.num_workers > suggest:
            cpuset = "" if hasattr(os, "sched_getaffinity") else (
                " (`cpuset` is not taken into account)")
            suggested = (
                f"Our suggested max number of worker in current system is {suggest}{cpuset}, "
                "which is smaller than what this DataLoader is going to create."
                if suggest is not None else
                "DataLoader is not able to compute a suggested max number of worker in current "
                "system.")
            warnings.warn(
                f"This DataLoader will create {self.num_workers} worker processes in total. "
                f"{suggested} Please be aware that excessive worker creation might get "
                "DataLoader running slow or even freeze, lower the worker number to avoid "
                "potential slowness/freeze if necessary.", stacklevel=3)


def pin_memory(data):
    """``data`` with its tensors pinned (PyTorch's ``_utils.pin_memory.pin_memory``): tensors
    and objects with a ``pin_memory()`` method through it, containers rebuilt around their
    pinned items, anything else as is."""
    if isinstance(data, Tensor) or hasattr(data, "pin_memory"):
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                # A shallow copy keeps the mapping's type and attributes.
                clone = copy.copy(data)
                clone.update({k: pin_memory(v) for k, v in data.items()})
                return clone
            return type(data)({k: pin_memory(v) for k, v in data.items()})
        except TypeError:  # a mapping that can't be copied, updated or built from a dict
            return {k: pin_memory(v) for k, v in data.items()}
    if isinstance(data, tuple):
        if hasattr(data, "_fields"):  # a namedtuple
            return type(data)(*(pin_memory(v) for v in data))
        return type(data)(pin_memory(v) for v in data)
    if isinstance(data, collections.abc.Sequence):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, item in enumerate(data):
                    clone[i] = pin_memory(item)
                return clone
            return type(data)([pin_memory(v) for v in data])
        except TypeError:  # a sequence that can't be copied or built from a list (range)
            return [pin_memory(v) for v in data]
    return data


def _draw_base_seed(generator) -> int:
    """One 63-bit value from ``generator`` (default: the default generator), as PyTorch draws
    an epoch's base seed: ``empty((), dtype=int64).random_(generator=generator)``."""
    return int(empty((), dtype=_dt.int64).random_(generator=generator).item())


class _BaseDataLoaderIter:
    """One pass over a DataLoader: what the single- and multi-process iterators share."""

    def __init__(self, loader: DataLoader) -> None:
        from ... import cuda

        if loader.pin_memory and loader.pin_memory_device:
            warnings.warn(
                "pin_memory_device is deprecated, the current accelerator will be used as the "
                f"device,ignore pin_memory_device='{loader.pin_memory_device}'.", stacklevel=4)
        # (CUDA is ember's one accelerator)
        self._pin_memory = bool(loader.pin_memory) and cuda.is_available()
        if loader.pin_memory and not self._pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=4)
        self._dataset = loader.dataset
        self._iterable = loader._dataset_kind == "iterable"
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._collate_fn = loader.collate_fn
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        self._sampler_iter = iter(self._index_sampler)
        # Drawn even without workers: a seeded program draws what it draws under PyTorch.
        self._base_seed = _draw_base_seed(loader.generator)
        self._persistent_workers = loader.persistent_workers
        self._len_called = loader._IterableDataset_len_called
        self._num_yielded = 0

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def _reset(self, loader: DataLoader) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._len_called = loader._IterableDataset_len_called

    def __next__(self) -> Any:
        data = self._next_data()
        if self._pin_memory:
            data = pin_memory(data)
        self._num_yielded += 1
        # NOTE: PyTorch compares the number of batches yielded with the dataset's length.
        if self._iterable and self._len_called is not None and (
                self._num_yielded > self._len_called):
            msg = (f"Length of IterableDataset {self._dataset} was reported to be "
                   f"{self._len_called}(when accessing len(dataloader)), but "
                   f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not properly "
                        "configuring the IterableDataset replica at each worker. Please see "
                        "https://pytorch.org/docs/stable/data.html#torch.utils.data."
                        "IterableDataset for examples.")
            warnings.warn(msg, stacklevel=2)
        return data

    def _next_data(self):
        raise NotImplementedError


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    """Keys from the index sampler, fetched and collated in this process."""

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._fetcher = make_fetcher(self._iterable, self._dataset, self._auto_collation,
                                     self._collate_fn, self._drop_last)

    def _next_data(self):
        return self._fetcher.fetch(next(self._sampler_iter))


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Keys sent to worker processes, batches received from them (NOTE [worker processes])."""

    def __init__(self, loader: DataLoader) -> None:
        # First, so that whatever is started is shut down, even if __init__ fails.
        pool = _WorkerPool()
        self._shutdown_workers = weakref.finalize(self, pool.shutdown)
        self._workers = pool.workers
        self._index_queues = pool.index_queues
        super().__init__(loader)
        import multiprocessing
        import multiprocessing.connection

        from . import _worker

        self._wait = multiprocessing.connection.wait
        self._in_order = loader.in_order
        self._prefetch_factor = loader.prefetch_factor
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        self._result_queue = pool.result_queue = ctx.Queue()
        self._done_event = pool.done_event = ctx.Event()
        for worker_id in range(self._num_workers):
            index_queue = ctx.Queue()
            # A queue's feeder thread must not keep this process alive at exit.
            index_queue.cancel_join_thread()
            worker = ctx.Process(
                target=_worker._worker_loop, daemon=True,
                args=(self._iterable, self._dataset, index_queue, self._result_queue,
                      self._done_event, self._auto_collation, self._collate_fn,
                      self._drop_last, self._base_seed, loader.worker_init_fn, worker_id,
                      self._num_workers))
            worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        self._reset(loader, first_iter=True)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        super()._reset(loader)
        self._send_idx = 0  # number of the next task to send
        self._rcvd_idx = 0  # number of the next task to yield
        # task number -> [worker_id] while outstanding, [worker_id, batch] once received early
        self._task_info: dict[int, list] = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers  # False: its dataset copy is exhausted
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # Persistent workers: restart each dataset copy; answers to the previous epoch's
            # tasks still in flight arrive before each worker's acknowledgement and are dropped.
            from ._worker import _ResumeIteration

            for index_queue in self._index_queues:
                index_queue.put(_ResumeIteration())
            waiting = self._num_workers
            while waiting:
                idx, _ = self._get_data()
                if isinstance(idx, _ResumeIteration):
                    waiting -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self) -> None:
        if self._tasks_outstanding >= self._prefetch_factor * self._num_workers:
            return
        try:
            keys = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return  # every worker's dataset copy is exhausted
        self._index_queues[worker_id].put((self._send_idx, keys))
        self._task_info[self._send_idx] = [worker_id]
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _next_data(self):
        from ._worker import _IterableStop

        while True:
            # Skip tasks already yielded (in_order=False) or sent to a worker that has ended.
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break
                    del self._task_info[self._rcvd_idx]
                    self._tasks_outstanding -= 1  # an ended worker answers no further task
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._workers_status = [False] * self._num_workers
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process_data(info[1])

            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _IterableStop):
                del self._task_info[idx]
                self._mark_worker_ended(data.worker_id)
                self._try_put_index()
                continue
            if idx == self._rcvd_idx or not self._in_order:
                del self._task_info[idx]
                if idx == self._rcvd_idx:
                    self._rcvd_idx += 1
                return self._process_data(data)
            self._task_info[idx].append(data)

    def _process_data(self, data):
        from ._worker import _WorkerError

        self._try_put_index()
        if isinstance(data, _WorkerError):
            data.reraise()
        return data

    def _mark_worker_ended(self, worker_id: int) -> None:
        self._workers_status[worker_id] = False
        if not self._persistent_workers:
            # Its tasks are over: let the process go now rather than at shutdown.
            self._index_queues[worker_id].put(None)

    def _get_data(self):
        """The next answer from any worker; RuntimeError on timeout or a worker's death."""
        reader = self._result_queue._reader  # noqa: SLF001 (waited on together with sentinels)
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            watched = {self._workers[w].sentinel: w for w in range(self._num_workers)
                       if self._workers_status[w]}
            wait_s = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = self._wait([reader, *watched], wait_s)
            if reader in ready:
                return self._result_queue.get()
            dead = [self._workers[watched[s]] for s in ready if s in watched]
            if dead:
                self._workers_status = [False] * self._num_workers
                self._shutdown_workers()
                raise RuntimeError(_death_message(dead))
            if deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")


class _WorkerPool:
    """An iterator's processes and queues, and their shutdown (NOTE [worker processes]).

    Shutdown runs from a ``weakref.finalize`` holding this pool, not from the iterator's
    ``__del__``: an iterator that dies in a reference cycle (a traceback holding its frame) is
    collected together with its queues, whose own finalizers stop their feeder threads first, so
    a ``__del__`` could no longer send the workers their None; the pool keeps the queues alive.
    The finalizer also runs at interpreter exit, before multiprocessing's own cleanup.
    """

    def __init__(self) -> None:
        self.workers: list = []
        self.index_queues: list = []
        self.result_queue = None
        self.done_event = None

    def shutdown(self) -> None:
        if self.done_event is not None:
            self.done_event.set()  # workers skip the tasks still queued
        for index_queue in self.index_queues:
            index_queue.put(None)
        for worker in self.workers:
            worker.join(STATUS_CHECK_INTERVAL)
            if worker.is_alive():
                worker.terminate()
        for index_queue in self.index_queues:
            index_queue.close()
        if self.result_queue is not None:
            self.result_queue.cancel_join_thread()
            self.result_queue.close()


def _death_message(dead) -> str:
    for worker in dead:
        worker.join(0.1)  # reap it, so that its exit code is known
    killed = [w for w in dead if w.exitcode is not None and w.exitcode < 0]
    if killed:
        import signal

        return (f"DataLoader worker (pid {killed[0].pid}) is killed by signal: "
                f"{signal.strsignal(-killed[0].exitcode)}. ")
    return (f"DataLoader worker (pid(s) {', '.join(str(w.pid) for w in dead)}) exited "
            "unexpectedly")
