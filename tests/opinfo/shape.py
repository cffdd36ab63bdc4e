"""Op records: shape family (see tests/opinfo/__init__.py): views, joins and splits,
rearrangements (flip, roll, repeat...), gather/scatter and index_* ops."""

from __future__ import annotations

import numpy as np

from . import OpRecord, _ints


def _perm_index(rng, shape, dim, n):
    """An int64 index of ``shape`` with distinct values < n along ``dim`` (no ties)."""
    idx = np.argsort(rng.uniform(size=shape[:dim] + (n,) + shape[dim + 1:]), axis=dim)
    return np.take(idx, np.arange(shape[dim]), axis=dim).astype(np.int64)


def _gather_extra(rng):
    yield rng.uniform(-2, 2, (3, 4)), _ints(rng, 4, (3, 2))
    yield rng.uniform(-2, 2, (3, 4)), _ints(rng, 3, (2, 4))
    yield rng.uniform(-2, 2, (2, 3, 2)), _ints(rng, 3, (2, 5, 1))


def _scatter_extra(rng):
    # distinct positions per row so the result does not depend on the write order
    yield rng.uniform(-2, 2, (3, 4)), _perm_index(rng, (3, 2), 1, 4), rng.uniform(-2, 2, (3, 2))
    yield rng.uniform(-2, 2, (4, 2)), _perm_index(rng, (3, 2), 0, 4), rng.uniform(-2, 2, (3, 2))


def _scatter_add_extra(rng):
    yield rng.uniform(-2, 2, (3, 4)), _ints(rng, 4, (3, 5)), rng.uniform(-2, 2, (3, 5))
    yield rng.uniform(-2, 2, (4,)), _ints(rng, 4, (6,)), rng.uniform(-2, 2, (6,))


def _reduce_extra(rng):
    # values distinct everywhere (no ties for amax/amin), away from zero (prod)
    def vals(*shape):
        n = int(np.prod(shape))
        v = rng.permutation(n) * 0.13 + 0.5
        return v.reshape(shape) * rng.choice([-1.0, 1.0], size=shape)
    yield vals(3, 4), _ints(rng, 4, (3, 5)), vals(3, 5)
    yield vals(5,), _ints(rng, 5, (4,)), vals(4,)


def _index_reduce_extra(rng):
    def vals(*shape):
        n = int(np.prod(shape))
        v = rng.permutation(n) * 0.13 + 0.5
        return v.reshape(shape) * rng.choice([-1.0, 1.0], size=shape)
    v = vals(7, 3)
    yield v[:4], np.array([0, 3, 0], dtype=np.int64), v[4:]
    v = vals(5)
    yield v[:2], np.array([1, 1, 0], dtype=np.int64), v[2:]


def _index_reduce(reduce, include_self):
    return lambda T, x, i, s: x.index_reduce(0, i, s, reduce, include_self=include_self)


def _index1d_extra(rng):
    yield rng.uniform(-2, 2, (4, 3)), np.array([2, 0, 2], dtype=np.int64)
    yield rng.uniform(-2, 2, (5,)), np.array([4, 1], dtype=np.int64)


def _index_add_extra(rng):
    yield rng.uniform(-2, 2, (4, 3)), np.array([2, 0, 2], dtype=np.int64), \
        rng.uniform(-2, 2, (3, 3))
    yield rng.uniform(-2, 2, (5,)), np.array([4, 1], dtype=np.int64), rng.uniform(-2, 2, (2,))


def _index_copy_extra(rng):
    yield rng.uniform(-2, 2, (4, 3)), np.array([2, 0], dtype=np.int64), \
        rng.uniform(-2, 2, (2, 3))
    yield rng.uniform(-2, 2, (5,)), np.array([4, 1], dtype=np.int64), rng.uniform(-2, 2, (2,))


def _take_extra(rng):
    yield rng.uniform(-2, 2, (3, 4)), np.array([[0, 11], [-1, 5]], dtype=np.int64)
    yield rng.uniform(-2, 2, (4,)), np.array([3, 3, 0], dtype=np.int64)


def _tad_extra(rng):
    yield rng.uniform(-2, 2, (3, 4)), _ints(rng, 4, (1, 2))
    yield rng.uniform(-2, 2, (1, 4)), _ints(rng, 4, (3, 2))


def _mask_extra(rng):
    yield rng.uniform(-2, 2, (3, 4)), rng.uniform(size=(3, 4)) > 0.5
    yield rng.uniform(-2, 2, (3, 4)), rng.uniform(size=(4,)) > 0.3
    yield rng.uniform(-2, 2, (0, 2)), np.zeros((0, 2), dtype=bool)


def _masked_scatter_extra(rng):
    yield rng.uniform(-2, 2, (3, 4)), rng.uniform(size=(3, 4)) > 0.5, rng.uniform(-2, 2, (3, 5))
    yield rng.uniform(-2, 2, (2, 3)), np.array([True, False, True]), rng.uniform(-2, 2, (4,))


def _put_extra(rng):
    yield rng.uniform(-2, 2, (3, 4)), np.array([0, 11, -2], dtype=np.int64), \
        rng.uniform(-2, 2, (3,))
    yield rng.uniform(-2, 2, (5,)), np.array([[4, 1], [0, 2]], dtype=np.int64), \
        rng.uniform(-2, 2, (4,))


def _ri_tensor_extra(rng):
    yield rng.uniform(-2, 2, (3, 2)), np.array([2, 0, 1], dtype=np.int64)


def _unique_extra(rng):
    yield (rng.integers(0, 3, (2, 5)).astype(np.float64),)
    yield (np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 3.0]]),)


# as PyTorch's forward AD: no tangent for scatter_reduce 'prod', NotImplementedError for
# index_reduce
NO_JVP = "PyTorch has no forward-mode rule for it"


def _scatter_reduce(reduce, include_self):
    return lambda T, x, i, s: x.scatter_reduce(-1, i, s, reduce, include_self=include_self)


_SIMPLE = [((3, 4),), ((2, 3, 2),)]

RECORDS = [
    # ---- views and reshapes ----
    OpRecord("flatten", lambda T, x: x.flatten(1), [((2, 3, 2),), ((2, 1),)]),
    OpRecord("flatten_0d", lambda T, x: T.flatten(x), [((),)], op="flatten"),
    OpRecord("unflatten", lambda T, x: x.unflatten(1, (2, -1)), [((3, 4),), ((2, 6, 1),)]),
    OpRecord("transpose", lambda T, x: x.transpose(0, -1), [((2, 3),), ((2, 3, 4),)]),
    OpRecord("swapaxes", lambda T, x: T.swapaxes(x, 1, 0), [((2, 3),)]),
    OpRecord("swapdims", lambda T, x: x.swapdims(-1, -2), [((2, 3, 1),)]),
    OpRecord("movedim", lambda T, x: T.movedim(x, (0, 1), (2, 0)), [((2, 3, 4),)]),
    OpRecord("moveaxis", lambda T, x: x.moveaxis(-1, 0), [((2, 3, 4),)]),
    OpRecord("squeeze_dims", lambda T, x: x.squeeze((0, -1)), [((1, 3, 1),), ((2, 3),)],
             op="squeeze"),
    OpRecord("unsqueeze_neg", lambda T, x: x.unsqueeze(-1), [((2, 3),), ((0,),)],
             op="unsqueeze"),
    OpRecord("expand", lambda T, x: x.expand(2, -1, 3), [((3, 1),), ((1, 1),)]),
    OpRecord("expand_as", lambda T, x, y: x.expand_as(y), [((3, 1), (2, 3, 4))], nondiff=(1,)),
    OpRecord("broadcast_to", lambda T, x: T.broadcast_to(x, (2, 3)), [((3,),), ((),)]),
    OpRecord("broadcast_tensors", lambda T, x, y, z: T.broadcast_tensors(x, y, z),
             [((3, 1), (4,), (3, 4)), ((), (2,), (1, 1))]),
    OpRecord("contiguous", lambda T, x: x.t().contiguous(), [((2, 3),)]),
    OpRecord("select", lambda T, x: x.select(-1, 1), [((2, 3),), ((3,),)]),
    OpRecord("getitem_tensor_slice", lambda T, x: x[T.tensor([2, 0, 2]), 1:],
             [((3, 4),)], op="Tensor.__getitem__"),
    OpRecord("getitem_slice_tensor", lambda T, x: x[..., None, T.tensor([[1], [0]])],
             [((2, 3),)], op="Tensor.__getitem__"),
    OpRecord("getitem_two_tensors", lambda T, x: x[[0, 1, 1], :, [2, 0, 2]],
             [((2, 3, 4),)], op="Tensor.__getitem__"),
    OpRecord("unfold", lambda T, x: x.unfold(1, 2, 1), [((3, 4),), ((2, 3, 2),)],
             op="Tensor.unfold"),
    OpRecord("unfold_step", lambda T, x: x.unfold(-1, 3, 2), [((7,),), ((2, 6),)],
             op="Tensor.unfold"),
    OpRecord("unfold_0d", lambda T, x: x.unfold(0, 1, 1), [((),)], op="Tensor.unfold"),
    OpRecord("index_put", lambda T, x, v: T.index_put(x, (T.tensor([2, 0]),), v),
             [((3, 2), (2, 2)), ((3, 2), (2,)), ((4,), ())]),
    OpRecord("index_put_accumulate", lambda T, x, v: x.index_put(
        (T.tensor([1, 1, 0]), T.tensor([0, 0, 1])), v, accumulate=True),
        [((2, 2), (3,)), ((2, 3), ())], op="index_put"),
    OpRecord("index_put_mask", lambda T, x, v: x.index_put((x > 0,), v), [((3, 2), ())],
             op="index_put"),
    OpRecord("diagonal_scatter", lambda T, x, s: T.diagonal_scatter(x, s),
             [((3, 3), (3,)), ((2, 4), (2,))]),
    OpRecord("diagonal_scatter_offset", lambda T, x, s: x.diagonal_scatter(s, -1, 2, 0),
             [((3, 2, 4), (2, 3))], op="diagonal_scatter"),
    OpRecord("adjoint", lambda T, x: x.adjoint(), [((2, 3),), ((2, 3, 4),)]),
    OpRecord("select_scatter", lambda T, x, s: T.select_scatter(x, s, 1, -1),
             [((2, 3), (2,)), ((3, 2, 2), (3, 2))]),
    OpRecord("slice_scatter", lambda T, x, s: T.slice_scatter(x, s, 0, 1, None, 2),
             [((4, 2), (2, 2)), ((5,), (2,))]),
    OpRecord("slice_scatter_default", lambda T, x, s: x.slice_scatter(s), [((3,), (3,))],
             op="slice_scatter"),
    OpRecord("narrow_copy", lambda T, x: T.narrow_copy(x, -1, 1, 2), [((2, 4),), ((3,),)]),
    # ---- joins and splits ----
    OpRecord("unsafe_split", lambda T, x: x.unsafe_split(2, -1), [((2, 5),)]),
    OpRecord("unsafe_split_with_sizes", lambda T, x: T.unsafe_split_with_sizes(x, [1, 2]),
             [((3, 2),)]),
    OpRecord("unsafe_chunk", lambda T, x: x.unsafe_chunk(2), [((3,),)]),
    OpRecord("split_with_sizes", lambda T, x: x.split_with_sizes([2, 1], -1), [((2, 3),)]),
    OpRecord("atleast_1d", lambda T, x: T.atleast_1d(x), [((),), ((2,),)]),
    OpRecord("atleast_2d", lambda T, x, y: T.atleast_2d(x, y), [((), (3,)), ((2, 3), (1,))]),
    OpRecord("atleast_3d", lambda T, x, y: T.atleast_3d([x, y]), [((), (3,)), ((2, 3), (2,))]),
    OpRecord("cat_neg_dim", lambda T, x, y: T.cat([x, y], -1), [((2, 1), (2, 3)),
                                                                ((0, 2), (0, 1))], op="cat"),
    OpRecord("cat_empty", lambda T, x, y: T.cat([x, y]), [((0,), (2, 3))], op="cat"),
    OpRecord("stack_neg", lambda T, x, y: T.stack((x, y), -1), [((2,), (2,)), ((), ())],
             op="stack"),
    OpRecord("hstack", lambda T, x, y: T.hstack([x, y]), [((2,), (3,)), ((2, 1), (2, 3))]),
    OpRecord("vstack", lambda T, x, y: T.vstack([x, y]), [((3,), (3,)), ((2, 3), (1, 3))]),
    OpRecord("dstack", lambda T, x, y: T.dstack([x, y]), [((3,), (3,)), ((2, 3), (2, 3, 2))]),
    OpRecord("column_stack", lambda T, x, y: T.column_stack([x, y]),
             [((3,), (3, 2)), ((), ())]),
    OpRecord("split_sizes", lambda T, x: x.split([1, 3], 1), [((2, 4),)], op="split"),
    OpRecord("chunk", lambda T, x: x.chunk(3, -1), [((2, 5),), ((6,),)]),
    OpRecord("unbind", lambda T, x: x.unbind(1), [((2, 3),)]),
    OpRecord("tensor_split", lambda T, x: x.tensor_split(3, 1), [((2, 5),), ((2, 3, 2),)]),
    OpRecord("tensor_split_empty_part", lambda T, x: x.tensor_split(3, 1), [((2, 2),)],
             op="tensor_split"),
    OpRecord("tensor_split_indices", lambda T, x: T.tensor_split(x, (1, 3)), [((5,),)],
             op="tensor_split"),
    OpRecord("hsplit", lambda T, x: x.hsplit(2), [((2, 4),), ((4,),)]),
    OpRecord("vsplit", lambda T, x: T.vsplit(x, [1]), [((3, 2),)]),
    OpRecord("dsplit", lambda T, x: x.dsplit(2), [((1, 2, 4),)]),
    # ---- rearrangements ----
    OpRecord("flip", lambda T, x: x.flip(0, -1), [((2, 3),), ((2, 3, 2),), ((0, 2),)]),
    OpRecord("fliplr", lambda T, x: T.fliplr(x), [((2, 3),)]),
    OpRecord("flipud", lambda T, x: x.flipud(), [((3,),), ((2, 3),)]),
    OpRecord("roll", lambda T, x: x.roll(1, 0), [((3, 2),), ((4,),)]),
    OpRecord("roll_dims", lambda T, x: T.roll(x, (-1, 2), (1, 0)), [((3, 4),)], op="roll"),
    OpRecord("roll_flat", lambda T, x: x.roll(5), [((2, 3),)], op="roll"),
    OpRecord("rot90", lambda T, x: x.rot90(), [((2, 3),)]),
    OpRecord("rot90_k", lambda T, x: T.rot90(x, -3, (2, 0)), [((2, 3, 2),)], op="rot90"),
    OpRecord("repeat", lambda T, x: x.repeat(2, 1, 3), [((2, 3),), ((3,),), ((),)],
             op="Tensor.repeat"),
    OpRecord("tile", lambda T, x: x.tile((2,)), [((2, 3),), ((2,),)]),
    OpRecord("repeat_interleave", lambda T, x: x.repeat_interleave(2, 1), [((2, 3),)]),
    OpRecord("repeat_interleave_flat", lambda T, x: T.repeat_interleave(x, 3), [((2, 2),),
                                                                                ((),)],
             op="repeat_interleave"),
    OpRecord("repeat_interleave_tensor", lambda T, x, r: x.repeat_interleave(r, dim=0),
             extra=_ri_tensor_extra, op="repeat_interleave"),
    # ---- gather / scatter ----
    OpRecord("gather", lambda T, x, i: x.gather(1 if i.shape[1] != 4 else 0, i),
             extra=_gather_extra),
    OpRecord("scatter", lambda T, x, i, s: x.scatter(1 if x.shape[0] == 3 else 0, i, s),
             extra=_scatter_extra),
    OpRecord("scatter_value", lambda T, x, i, s: x.scatter(1 if x.shape[0] == 3 else 0, i,
                                                           1.5),
             extra=_scatter_extra, op="scatter"),
    OpRecord("scatter_add", lambda T, x, i, s: T.scatter_add(x, -1, i, s),
             extra=_scatter_add_extra),
    *[OpRecord(f"scatter_reduce_{r}_{inc}", _scatter_reduce(r, inc), extra=_reduce_extra,
               op="scatter_reduce", xfail={"jvp": NO_JVP} if r == "prod" else {})
      for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)],
    # ---- index_* ----
    *[OpRecord(f"index_reduce_{r}_{inc}", _index_reduce(r, inc), extra=_index_reduce_extra,
               op="index_reduce", xfail={"jvp": NO_JVP})
      for r in ("prod", "mean", "amax", "amin") for inc in (True, False)],
    OpRecord("index_select", lambda T, x, i: x.index_select(0, i), extra=_index1d_extra),
    OpRecord("index_select_empty", lambda T, x, i: x.index_select(1, i), extra=lambda rng: [
        (rng.uniform(-2, 2, (2, 3)), np.array([], dtype=np.int64))], op="index_select"),
    OpRecord("index_add", lambda T, x, i, s: x.index_add(0, i, s, alpha=1.5),
             extra=_index_add_extra),
    OpRecord("index_copy", lambda T, x, i, s: T.index_copy(x, 0, i, s),
             extra=_index_copy_extra),
    OpRecord("index_fill", lambda T, x, i: x.index_fill(0, i, -1.0), extra=_index1d_extra),
    OpRecord("index_fill_tensor", lambda T, x, i, v: x.index_fill(-1, i, v),
             [], extra=lambda rng: [(rng.uniform(-2, 2, (2, 3)),
                                     np.array([0, 2], dtype=np.int64),
                                     np.array(0.7))], op="index_fill"),
    OpRecord("masked_select", lambda T, x, m: x.masked_select(m), extra=_mask_extra),
    OpRecord("masked_scatter", lambda T, x, m, s: x.masked_scatter(m, s),
             extra=_masked_scatter_extra),
    OpRecord("take", lambda T, x, i: x.take(i), extra=_take_extra),
    OpRecord("take_along_dim", lambda T, x, i: T.take_along_dim(x, i, 1), extra=_tad_extra),
    OpRecord("take_along_dim_flat", lambda T, x, i: x.take_along_dim(i), extra=_tad_extra,
             op="take_along_dim"),
    OpRecord("put", lambda T, x, i, s: x.put(i, s), extra=_put_extra),
    OpRecord("put_accumulate", lambda T, x, i, s: T.put(x, i, s, accumulate=True),
             extra=_put_extra, op="put"),
    # ---- 0-dim inputs (PyTorch treats them as size [1] here) ----
    OpRecord("gather_0d", lambda T, x, i: x.gather(0, i), [], op="gather",
             extra=lambda rng: [(rng.uniform(-2, 2, ()), np.array(0)),
                                (rng.uniform(-2, 2, ()), np.array([0, 0]))]),
    OpRecord("scatter_add_0d", lambda T, x, i, s: x.scatter_add(0, i, s), [], op="scatter_add",
             extra=lambda rng: [(rng.uniform(-2, 2, ()), np.array(0), rng.uniform(-2, 2, ()))]),
    OpRecord("index_select_0d", lambda T, x, i: x.index_select(0, i), [], op="index_select",
             extra=lambda rng: [(rng.uniform(-2, 2, ()), np.array(0)),
                                (rng.uniform(-2, 2, (3,)), np.array(2))]),
    OpRecord("take_0d", lambda T, x, i: x.take(i), [], op="take",
             extra=lambda rng: [(rng.uniform(-2, 2, ()), np.array([0, 0]))]),
    OpRecord("masked_select_0d", lambda T, x: x.masked_select(x > 0), [((),), ((2, 2),)],
             op="masked_select", domain=(0.5, 2.0)),
    OpRecord("roll_0d", lambda T, x: x.roll(2), [((),)], op="roll"),
    OpRecord("flip_0d", lambda T, x: x.flip(0), [((),)], op="flip"),
    OpRecord("tile_0d", lambda T, x: x.tile((2, 1)), [((),)], op="tile"),
    OpRecord("index_add_0d", lambda T, x, i, s: x.index_add(0, i, s), [], op="index_add",
             extra=lambda rng: [(rng.uniform(-2, 2, ()), np.array(0), rng.uniform(-2, 2, ()))]),
    # ---- index-valued ops (no gradient) ----
    OpRecord("unique", lambda T, x: T.unique(x, return_inverse=True, return_counts=True),
             extra=_unique_extra, gradcheck=False, nondiff=(0,)),
    OpRecord("unique_dim", lambda T, x: x.unique(dim=0, return_counts=True),
             extra=_unique_extra, gradcheck=False, nondiff=(0,), op="unique"),
    OpRecord("unique_consecutive", lambda T, x: T.unique_consecutive(
        x, return_inverse=True, return_counts=True), extra=_unique_extra, gradcheck=False,
        nondiff=(0,)),
    OpRecord("nonzero", lambda T, x: (x > 0).nonzero(), _SIMPLE, gradcheck=False,
             nondiff=(0,)),
    OpRecord("nonzero_tuple", lambda T, x: T.nonzero(x > 0, as_tuple=True), _SIMPLE,
             gradcheck=False, nondiff=(0,), op="nonzero"),
    OpRecord("argwhere", lambda T, x: T.argwhere(x > 0), _SIMPLE, gradcheck=False,
             nondiff=(0,)),
]
