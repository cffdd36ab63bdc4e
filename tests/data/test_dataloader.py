"""Oracle tests for DataLoader, default_collate and default_convert (``ember.utils.data``).

Batches, shapes, dtypes, lengths and argument errors are compared with PyTorch through
``same``; shuffled loaders are checked for being permutations, changing per epoch and being
reproducible with a seeded ``ember.Generator``.
"""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest

import ember
from ember.utils.data import DataLoader, TensorDataset, default_collate

from ..oracle import same

Point = collections.namedtuple("Point", ["x", "y"])


def tensor_ds(T, n=10):
    return T.utils.data.TensorDataset(T.arange(float(n)).reshape(n, 1) * 1.5,
                                      T.arange(n) % 3)


def stream(T, n=7):
    class Count(T.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(n))

        def __len__(self):
            return n

    return Count()


# ---- default_collate -------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda T: [T.tensor([1., 2.]), T.tensor([3., 4.])],                       # tensors stacked
    lambda T: [T.tensor(1, dtype=T.int32), T.tensor(2, dtype=T.int32)],       # 0-dim tensors
    lambda T: [T.zeros(2, 0, 3), T.zeros(2, 0, 3)],                           # empty tensors
    lambda T: [1.5, 2.5, 3.0],                                                # floats: float64
    lambda T: [1, 2, 3],                                                      # ints: int64
    lambda T: [True, False],                                                  # bools (ints)
    lambda T: ["a", "bc"],                                                    # strings kept
    lambda T: [b"a", b"bc"],                                                  # bytes kept
    lambda T: [np.array([1, 2], dtype=np.int16), np.array([3, 4], dtype=np.int16)],
    lambda T: [np.float32(1.5), np.float32(2.0)],                             # numpy scalars
    lambda T: [np.int8(3), np.int8(4)],
    lambda T: [np.bool_(True), np.bool_(False)],
    lambda T: [(0, 1.5, "x"), (2, 3.5, "y")],                                 # tuples to lists
    lambda T: [[0, 1], [2, 3]],                                               # lists
    lambda T: [{"a": 0, "b": T.ones(2)}, {"a": 5, "b": T.zeros(2)}],           # dicts
    lambda T: [collections.OrderedDict(k=1.0), collections.OrderedDict(k=2.0)],
    lambda T: [Point(0, T.ones(1)), Point(1, T.zeros(1))],                    # namedtuples
    lambda T: [{"p": [Point(1, 2.0)], "s": ("u", 3)}, {"p": [Point(3, 4.0)], "s": ("v", 5)}],
])
def test_default_collate_kinds(make):
    def fn(T):
        out = T.utils.data.default_collate(make(T))
        return out, type(out).__name__
    same(fn)


def test_default_collate_keeps_gradients():
    def fn(T):
        a = T.tensor([1., 2.], requires_grad=True)
        return T.utils.data.default_collate([a, a * 2])
    same(fn)


@pytest.mark.parametrize("make", [
    lambda T: [[0, 1], [2]],                                              # ragged sequences
    lambda T: [np.array(["a", "b"]), np.array(["c", "d"])],               # string arrays
    lambda T: [T.zeros(2), T.zeros(3)],                                   # stack mismatch
])
def test_default_collate_errors(make):
    same(lambda T: T.utils.data.default_collate(make(T)))


def test_default_collate_unsupported_type():
    # The message names the element's type: compared directly, as it is the same class here.
    same(lambda T: T.utils.data.default_collate([object(), object()]))


@pytest.mark.parametrize("make", [
    lambda T: np.array([1.0, 2.0]),
    lambda T: np.float64(2.5),
    lambda T: 3,
    lambda T: "text",
    lambda T: np.array(["s"]),
    lambda T: (np.array([1]), 2),
    lambda T: [np.array([1]), "z"],
    lambda T: {"a": np.array([1], dtype=np.float32), "b": 1},
    lambda T: Point(np.array(0), np.array(1)),
    lambda T: T.ones(2),
])
def test_default_convert(make):
    def fn(T):
        out = T.utils.data.default_convert(make(T))
        return out, type(out).__name__
    same(fn)


# ---- DataLoader: batches, lengths, drop_last -------------------------------------------------

@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (4, True),
                                                   (10, False), (12, True), (12, False)])
def test_loader_batches_and_len(batch_size, drop_last):
    def fn(T):
        loader = T.utils.data.DataLoader(tensor_ds(T), batch_size=batch_size,
                                         drop_last=drop_last)
        return len(loader), list(loader)
    same(fn)


def test_loader_defaults_to_batch_size_one():
    same(lambda T: list(T.utils.data.DataLoader([1.0, 2.0, 3.0])))


def test_loader_without_batching_converts():
    def fn(T):
        loader = T.utils.data.DataLoader([np.array([1, 2]), np.array([3, 4])], batch_size=None)
        return len(loader), list(loader)
    same(fn)


def test_loader_with_sampler_batch_sampler_and_collate_fn():
    def fn(T):
        d = T.utils.data
        ds = tensor_ds(T)
        by_sampler = list(d.DataLoader(ds, batch_size=2, sampler=[9, 0, 4, 5, 1]))
        by_batches = d.DataLoader(ds, batch_sampler=[[3, 1], [0], [7, 8, 9]])
        custom = list(d.DataLoader(range(5), batch_size=2, collate_fn=lambda b: sum(b)))
        return by_sampler, len(by_batches), list(by_batches), custom
    same(fn)


def test_loader_over_subset_and_dict_samples():
    def fn(T):
        d = T.utils.data

        class Dicts(d.Dataset):
            def __getitem__(self, i):
                return {"x": T.full((2,), float(i)), "label": i, "name": f"s{i}"}

            def __len__(self):
                return 5

        return list(d.DataLoader(d.Subset(Dicts(), [4, 2, 0]), batch_size=2))
    same(fn)


@pytest.mark.parametrize("batch_size, drop_last", [(2, False), (2, True), (None, False),
                                                   (7, False), (10, True)])
def test_loader_over_iterable_dataset(batch_size, drop_last):
    def fn(T):
        loader = T.utils.data.DataLoader(stream(T), batch_size=batch_size, drop_last=drop_last)
        return len(loader), list(loader), list(loader)
    same(fn)


def test_loader_num_workers_gives_same_batches():
    def fn(T):
        loader = T.utils.data.DataLoader(tensor_ds(T), batch_size=3, num_workers=2)
        return len(loader), list(loader)
    same(fn)
    plain = list(DataLoader(tensor_ds(ember), batch_size=3))
    workers = list(DataLoader(tensor_ds(ember), batch_size=3, num_workers=2,
                              persistent_workers=True, prefetch_factor=4))
    assert [[t.tolist() for t in b] for b in plain] == [[t.tolist() for t in b] for b in workers]


def test_loader_iterator_len_and_repeated_epochs():
    def fn(T):
        loader = T.utils.data.DataLoader(range(5), batch_size=2)
        it = iter(loader)
        return len(it), next(it), list(it), list(loader), list(loader)
    same(fn)


# ---- DataLoader: argument errors -------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"num_workers": -1},
    {"timeout": -1},
    {"prefetch_factor": 2},
    {"num_workers": 1, "prefetch_factor": -1},
    {"persistent_workers": True},
    {"shuffle": True, "sampler": [0, 1]},
    {"batch_sampler": [[0]], "batch_size": 2},
    {"batch_sampler": [[0]], "shuffle": True},
    {"batch_sampler": [[0]], "sampler": [0]},
    {"batch_sampler": [[0]], "drop_last": True},
    {"batch_size": None, "drop_last": True},
    {"batch_size": 0},
    {"multiprocessing_context": "spawn"},
    {"num_workers": 1, "multiprocessing_context": "nope"},
    {"num_workers": 1, "multiprocessing_context": 3},
])
def test_loader_argument_errors(kwargs):
    same(lambda T: T.utils.data.DataLoader(range(4), **kwargs))


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}])
def test_loader_iterable_dataset_errors(kwargs):
    # The messages embed the argument's repr ([0] / [[0]]), the same on both sides.
    same(lambda T: T.utils.data.DataLoader(stream(T), **kwargs))


@pytest.mark.parametrize("attr", ["batch_size", "sampler", "drop_last", "dataset"])
def test_loader_attributes_frozen(attr):
    def fn(T):
        loader = T.utils.data.DataLoader(range(4))
        setattr(loader, attr, None)
    same(fn)


def test_loader_len_of_unsized_iterable_dataset():
    def fn(T):
        class Endless(T.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(3))

        return list(T.utils.data.DataLoader(Endless(), batch_size=2)), len(
            T.utils.data.DataLoader(Endless()))
    mine = pytest.raises(TypeError, fn, ember)
    assert "has no len()" in str(mine.value)
    assert [b.tolist() for b in DataLoader(type("E", (ember.utils.data.IterableDataset,), {
        "__iter__": lambda self: iter(range(3))})(), batch_size=2)] == [[0, 1], [2]]


def test_pin_memory_warns_without_accelerator():
    same(lambda T: list(T.utils.data.DataLoader(range(2), pin_memory=True)))


def test_too_many_workers_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DataLoader(range(4), num_workers=10_000)
    assert len(caught) == 1
    assert str(caught[0].message).startswith("This DataLoader will create 10000 worker processes")


# ---- shuffling ---------------------------------------------------------------------------------

def flat(loader):
    return [v for batch in loader for v in batch[1].tolist()]


def test_shuffle_is_a_permutation_each_epoch_and_reproducible():
    ds = TensorDataset(ember.zeros(20, 2), ember.arange(20))
    loader = DataLoader(ds, batch_size=6, shuffle=True, generator=ember.Generator().manual_seed(7))
    epochs = [flat(loader) for _ in range(3)]
    assert all(sorted(e) == list(range(20)) for e in epochs)
    assert epochs[0] != epochs[1]
    again = DataLoader(ds, batch_size=6, shuffle=True, generator=ember.Generator().manual_seed(7))
    assert epochs == [flat(again) for _ in range(3)]
    assert [len(b[0]) for b in loader] == [6, 6, 6, 2]


def test_shuffle_without_generator_follows_manual_seed():
    ds = TensorDataset(ember.zeros(9), ember.arange(9))
    ember.manual_seed(11)
    a = flat(DataLoader(ds, batch_size=4, shuffle=True))
    ember.manual_seed(11)
    assert a == flat(DataLoader(ds, batch_size=4, shuffle=True))


def test_default_collate_stacks_in_batch_order():
    batch = default_collate([(ember.tensor([float(i)]), i) for i in (3, 1, 2)])
    assert batch[0].tolist() == [[3.0], [1.0], [2.0]] and batch[1].tolist() == [3, 1, 2]


def test_iterator_len_is_the_index_samplers():
    same(lambda T: len(iter(T.utils.data.DataLoader(range(7), batch_size=3, drop_last=True))))
    same(lambda T: len(iter(T.utils.data.DataLoader(stream(T), batch_size=3))))


def test_iterable_dataset_longer_than_reported_warns():
    def fn(T):
        class Liar(T.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(4))

            def __len__(self):
                return 2

            def __repr__(self):
                return "Liar()"

        loader = T.utils.data.DataLoader(Liar(), batch_size=None)
        return len(loader), list(loader)
    same(fn)


def test_loader_without_batching_over_a_sampler():
    def fn(T):
        loader = T.utils.data.DataLoader(tensor_ds(T, 5), batch_size=None, sampler=[4, 0, 2])
        return len(loader), list(loader)
    same(fn)


def test_loader_uses_getitems_for_whole_batches():
    def fn(T):
        calls = []

        class Batched(T.utils.data.Dataset):
            def __getitem__(self, i):
                raise AssertionError("per-item access while __getitems__ exists")

            def __getitems__(self, indices):
                calls.append(list(indices))
                return [T.tensor(float(i)) for i in indices]

            def __len__(self):
                return 5

        return list(T.utils.data.DataLoader(Batched(), batch_size=2)), calls
    same(fn)


def test_loader_over_tensor_dataset_with_requires_grad_inputs():
    def fn(T):
        x = T.arange(6.).reshape(3, 2).requires_grad_()
        batch = next(iter(T.utils.data.DataLoader(T.utils.data.TensorDataset(x), batch_size=2)))
        batch[0].sum().backward()
        return batch, x.grad
    same(fn)
