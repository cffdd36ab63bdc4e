"""Oracle tests for datasets, samplers and random_split (``ember.utils.data``).

Everything without randomness is compared with PyTorch through ``same`` (values, errors and
warnings); random orders are checked for their invariants (a permutation, disjoint splits) and
for reproducibility with a seeded ``ember.Generator``, since ember's stream is not PyTorch's.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ember
from ember.utils.data import (
    BatchSampler,
    ConcatDataset,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)

from ..oracle import same


def squares(T, n=5):
    class Squares(T.utils.data.Dataset):
        def __getitem__(self, i):
            if not 0 <= i < n:
                raise IndexError(i)
            return i * i

        def __len__(self):
            return n

    return Squares()


def counter(T, n=4):
    class Count(T.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(n))

    return Count()


# ---- datasets ------------------------------------------------------------------------------

def test_dataset_getitem_not_implemented():
    same(lambda T: T.utils.data.Dataset()[0])


def test_tensor_dataset_items_and_len():
    def fn(T):
        ds = T.utils.data.TensorDataset(T.arange(6.).reshape(3, 2), T.tensor([7, 8, 9]))
        return len(ds), ds[1], ds[-1], ds[0:2]
    same(fn)


def test_tensor_dataset_size_mismatch():
    same(lambda T: T.utils.data.TensorDataset(T.zeros(3), T.zeros(4)))


def test_concat_dataset_indexing_and_cumulative_sizes():
    def fn(T):
        ds = T.utils.data.ConcatDataset([squares(T, 3), squares(T, 2), squares(T, 4)])
        return len(ds), ds.cumulative_sizes, [ds[i] for i in range(len(ds))], ds[-1], ds[-9]
    same(fn)


def test_dataset_add_is_concat():
    def fn(T):
        ds = squares(T, 2) + squares(T, 3)
        return type(ds).__name__, len(ds), [ds[i] for i in range(5)]
    same(fn)


def test_concat_dataset_errors():
    same(lambda T: T.utils.data.ConcatDataset([]))
    same(lambda T: T.utils.data.ConcatDataset([counter(T)]))
    same(lambda T: T.utils.data.ConcatDataset([squares(T, 3)])[-4])


def test_iterable_dataset_add_chains():
    def fn(T):
        ds = counter(T, 2) + counter(T, 3)
        return type(ds).__name__, list(ds)
    same(fn)


def test_subset_and_getitems():
    def fn(T):
        sub = T.utils.data.Subset(squares(T, 6), [5, 1, 3])
        return len(sub), sub[0], sub[2], sub.__getitems__([2, 0])
    same(fn)


def test_stack_dataset_tuple_dict_and_errors():
    def fn(T):
        d = T.utils.data
        a = d.StackDataset(squares(T, 3), squares(T, 3))
        b = d.StackDataset(x=squares(T, 3), y=squares(T, 3))
        return a[2], b[1], len(a)
    same(fn)
    same(lambda T: T.utils.data.StackDataset(squares(T, 3), squares(T, 2)))
    same(lambda T: T.utils.data.StackDataset())


# ---- random_split ---------------------------------------------------------------------------

@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.5], [1 / 3, 1 / 3, 1 / 3],
                                     [0.1, 0.1, 0.8], [0.25, 0.25, 0.25, 0.25], [10]])
def test_random_split_lengths(lengths):
    def fn(T):
        return [len(s) for s in T.utils.data.random_split(range(10), lengths)]
    same(fn)


@pytest.mark.parametrize("n, lengths", [(11, [1 / 3, 1 / 3, 1 / 3]), (3, [0.2, 0.8]),
                                        (2, [0.5, 0.25, 0.25])])
def test_random_split_remainder_round_robin_and_zero_warning(n, lengths):
    same(lambda T: [len(s) for s in T.utils.data.random_split(range(n), lengths)])


@pytest.mark.parametrize("lengths", [[3, 3], [5, 6], [1.5, -0.5]])
def test_random_split_errors(lengths):
    same(lambda T: T.utils.data.random_split(range(10), lengths))


def test_random_split_is_a_disjoint_cover_and_reproducible():
    splits = random_split(range(20), [5, 7, 8], generator=ember.Generator().manual_seed(3))
    again = random_split(range(20), [5, 7, 8], generator=ember.Generator().manual_seed(3))
    items = [list(s) for s in splits]
    assert sorted(sum(items, [])) == list(range(20))
    assert items == [list(s) for s in again]
    assert all(isinstance(s, Subset) for s in splits)
    ember.manual_seed(1)
    first = [list(s) for s in random_split(range(20), [10, 10])]
    ember.manual_seed(1)
    assert first == [list(s) for s in random_split(range(20), [10, 10])]


# ---- samplers -------------------------------------------------------------------------------

def test_sequential_sampler():
    same(lambda T: (list(T.utils.data.SequentialSampler(range(4))),
                    len(T.utils.data.SequentialSampler(range(4)))))


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (5, False), (5, True),
                                                   (1, False), (11, False), (11, True)])
def test_batch_sampler(batch_size, drop_last):
    def fn(T):
        s = T.utils.data.BatchSampler(T.utils.data.SequentialSampler(range(10)), batch_size,
                                      drop_last)
        return list(s), len(s)
    same(fn)


@pytest.mark.parametrize("batch_size, drop_last", [(0, False), (-1, False), (2.0, False),
                                                   (True, False), (2, 1), (2, None)])
def test_batch_sampler_errors(batch_size, drop_last):
    same(lambda T: T.utils.data.BatchSampler(range(4), batch_size, drop_last))


def test_sampler_base_and_lengths():
    same(lambda T: list(T.utils.data.Sampler()))
    same(lambda T: len(T.utils.data.RandomSampler(range(7))))
    same(lambda T: len(T.utils.data.RandomSampler(range(7), replacement=True, num_samples=40)))
    same(lambda T: len(T.utils.data.SubsetRandomSampler([4, 2, 9])))
    same(lambda T: len(T.utils.data.WeightedRandomSampler([0.1, 0.9], 6)))


@pytest.mark.parametrize("kwargs", [{"replacement": 1}, {"num_samples": 0},
                                    {"num_samples": 2.0}, {"num_samples": -3}])
def test_random_sampler_errors(kwargs):
    same(lambda T: T.utils.data.RandomSampler(range(4), **kwargs))


@pytest.mark.parametrize("args", [([1.0, 2.0], 0), ([1.0, 2.0], True), ([1.0, 2.0], 2, 1),
                                  ([[1.0, 2.0]], 2)])
def test_weighted_random_sampler_errors(args):
    same(lambda T: T.utils.data.WeightedRandomSampler(*args))


def test_random_sampler_permutation_and_reproducible():
    s = RandomSampler(range(10), generator=ember.Generator().manual_seed(0))
    first, second = list(s), list(s)
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert first != second  # a new order each pass, from the generator's advancing state
    again = RandomSampler(range(10), generator=ember.Generator().manual_seed(0))
    assert [first, second] == [list(again), list(again)]


def test_random_sampler_without_generator_follows_manual_seed():
    ember.manual_seed(5)
    a = list(RandomSampler(range(12)))
    ember.manual_seed(5)
    assert a == list(RandomSampler(range(12)))


@pytest.mark.parametrize("num_samples", [3, 10, 25])
def test_random_sampler_num_samples_without_replacement(num_samples):
    out = list(RandomSampler(range(10), num_samples=num_samples,
                             generator=ember.Generator().manual_seed(1)))
    assert len(out) == num_samples
    for start in range(0, num_samples, 10):  # each full pass is a permutation
        chunk = out[start:start + 10]
        assert len(set(chunk)) == len(chunk)


def test_random_sampler_with_replacement():
    out = list(RandomSampler(range(3), replacement=True, num_samples=70,
                             generator=ember.Generator().manual_seed(2)))
    assert len(out) == 70 and set(out) == {0, 1, 2}
    assert all(isinstance(i, int) for i in out)


def test_subset_random_sampler():
    g = ember.Generator().manual_seed(4)
    out = list(SubsetRandomSampler([10, 20, 30, 40], generator=g))
    assert sorted(out) == [10, 20, 30, 40]
    assert out == list(SubsetRandomSampler([10, 20, 30, 40],
                                           generator=ember.Generator().manual_seed(4)))


def test_weighted_random_sampler():
    g = ember.Generator().manual_seed(0)
    out = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=g))
    assert set(out) == {1, 3} and 100 < out.count(3) < 190
    no_repeat = list(WeightedRandomSampler([1.0, 2.0, 3.0, 4.0], 4, replacement=False,
                                           generator=ember.Generator().manual_seed(0)))
    assert sorted(no_repeat) == [0, 1, 2, 3]
    assert WeightedRandomSampler([1, 2], 3).weights.dtype == ember.float64


def test_batch_sampler_over_random_sampler_covers_everything():
    g = ember.Generator().manual_seed(9)
    batches = list(BatchSampler(RandomSampler(range(10), generator=g), 4, False))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(sum(batches, [])) == list(range(10))


def test_public_names_are_pytorchs():
    torch = pytest.importorskip("torch")
    assert set(ember.utils.data.__all__) <= set(torch.utils.data.__all__)
    assert issubclass(TensorDataset, Dataset) and issubclass(IterableDataset, Dataset)
    assert issubclass(ConcatDataset, Dataset)
    assert isinstance(SequentialSampler(range(2)), ember.utils.data.Sampler)


def test_subset_subclass_must_override_getitems():
    def fn(T):
        class Doubled(T.utils.data.Subset):
            def __getitem__(self, idx):
                return 2 * super().__getitem__(idx)

        Doubled(squares(T), [0, 1])
    same(fn)

    def ok(T):
        class Doubled(T.utils.data.Subset):
            def __getitem__(self, idx):
                return 2 * super().__getitem__(idx)

            def __getitems__(self, indices):
                return [self[i] for i in indices]

        return list(T.utils.data.DataLoader(Doubled(squares(T), [1, 2, 3]), batch_size=2))
    same(ok)


@pytest.mark.parametrize("module", ["dataset", "sampler", "dataloader"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"ember.utils.data.{module}")
    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0


# ---- properties, against PyTorch --------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_batch_sampler_property(n, batch_size, drop_last):
    def fn(T):
        s = T.utils.data.BatchSampler(range(n), batch_size, drop_last)
        return list(s), len(s)
    same(fn)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 60), weights=st.lists(st.integers(0, 9), min_size=1,
                                                         max_size=6))
def test_random_split_fraction_lengths_property(n, weights):
    assume(sum(weights) > 0)
    fractions = [w / sum(weights) for w in weights]
    same(lambda T: [len(s) for s in T.utils.data.random_split(range(n), fractions)])


def test_concat_dataset_old_attribute_name_warns():
    same(lambda T: T.utils.data.ConcatDataset([squares(T, 2)]).cummulative_sizes)


def test_chain_dataset_rejects_map_style_datasets():
    same(lambda T: list(T.utils.data.ChainDataset([counter(T, 2), squares(T, 2)])))
    same(lambda T: len(T.utils.data.ChainDataset([squares(T, 2)])))
