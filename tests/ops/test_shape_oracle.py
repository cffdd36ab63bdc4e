"""Oracle tests for the shape family: errors (class and message), which results are views
(sharing storage and the version counter), in-place variants, integer paths, tie rules and
indexing semantics, each run through ember and PyTorch (``same``)."""

from __future__ import annotations

import numpy as np
import pytest

from ..oracle import same


def _x(T, *shape, grad=False):
    n = int(np.prod(shape)) if shape else 1
    x = T.tensor(((np.arange(n) * 7 % 11) - 4.5).reshape(shape), dtype=T.float64)
    return x.requires_grad_(grad)


def _view_facts(x, y):
    """Whether ``y`` is a view of ``x``: shares memory, version counter and base."""
    before = y._version
    x.mul_(1)
    return (y._base is x, y._version == before + 1, y.is_contiguous())


# ---- views share storage and version counter ----

VIEWS = {
    "view": lambda x: x.view(3, 4),
    "reshape": lambda x: x.reshape(-1),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "permute": lambda x: x.permute(1, 0),
    "transpose": lambda x: x.transpose(0, 1),
    "swapaxes": lambda x: x.swapaxes(0, 1),
    "movedim": lambda x: x.movedim(0, 1),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "expand": lambda x: x[:1].expand(5, 4),
    "broadcast_to": lambda x: x[:1].broadcast_to((3, 4)),
    "select": lambda x: x.select(1, 2),
    "narrow": lambda x: x.narrow(0, 1, 2),
    "getitem": lambda x: x[1:, None, ::2],
    "split": lambda x: x.split(2)[1],
    "chunk": lambda x: x.chunk(2, 1)[0],
    "unbind": lambda x: x.unbind()[2],
    "tensor_split": lambda x: x.tensor_split(2, 1)[1],
    "hsplit": lambda x: x.hsplit(2)[0],
    "split_with_sizes": lambda x: x.split_with_sizes([1, 2])[1],
    "repeat_interleave": lambda x: x.repeat_interleave(2, 0),
    "unfold": lambda x: x.unfold(1, 2, 1),
    "adjoint": lambda x: x.adjoint(),
}


@pytest.mark.parametrize("name", VIEWS)
def test_views(name):
    def fn(T):
        x = _x(T, 3, 4)
        y = VIEWS[name](x)
        return _view_facts(x, y) if name != "repeat_interleave" else (y._base is not None,)
    same(fn)


COPIES = {
    "flip": lambda x: x.flip(0),
    "roll": lambda x: x.roll(1),
    "rot90": lambda x: x.rot90(),
    "repeat": lambda x: x.repeat(1, 1),
    "tile": lambda x: x.tile((1,)),
    "gather": lambda x: x.gather(0, x.detach().long() * 0),
    "index_select": lambda x: x.index_select(0, x[0, :1].detach().long() * 0),
    "masked_select": lambda x: x.masked_select(x > 0),
    "take": lambda x: x.take(x[0, :2].detach().long() * 0),
    "unsafe_split": lambda x: x.unsafe_split(2)[0],
    "unsafe_chunk": lambda x: x.unsafe_chunk(2, 1)[1],
    "narrow_copy": lambda x: x.narrow_copy(0, 0, 1),
    "select_scatter": lambda x: x.select_scatter(x[0], 0, 0),
    "clone": lambda x: x.clone(),
    "advanced_getitem": lambda x: x[[0, 1]],
    "reshape_copy": lambda x: x.t().reshape(-1),
}


@pytest.mark.parametrize("name", COPIES)
def test_copies(name):
    same(lambda T: COPIES[name](_x(T, 3, 4))._base is None)


def test_broadcast_tensors_views():
    def fn(T):
        x, y = _x(T, 3, 1), _x(T, 4)
        a, b = T.broadcast_tensors(x, y)
        same_y = T.broadcast_tensors(y)[0] is y
        return a._base is x, b._base is y, same_y, T.broadcast_tensors()
    same(fn)


def test_view_grad_fns():
    def fn(T):
        x = _x(T, 3, 4, grad=True)
        return [y.grad_fn.name() for y in (
            x.view(12), x.t().reshape(12), x.permute(1, 0), x.transpose(0, 1), x.squeeze(),
            x.unsqueeze(0).squeeze(0), x.unsqueeze(0).squeeze((0,)), x.unsqueeze(0),
            x[:1].expand(2, 4), x.split(2)[0], x.split([1, 3], 1)[0], x.unbind()[0],
            x[0], x[1:], x[..., None], x[[0, 1]], x[x > 0], x.narrow(1, 1, 2),
            x.tensor_split(2)[0], x.repeat_interleave(2), x.movedim(0, 1), x.contiguous(),
            x.t().contiguous(), x.flatten(), T.cat([x, x]), T.stack([x, x]),
            T.hstack([x, x]), T.vstack([x, x]), T.dstack([x, x]), T.column_stack([x, x]))]
    same(fn)


# ---- errors ----

ERRORS = {
    "view_incompatible": lambda T: _x(T, 3, 4).t().view(12),
    "view_bad_size": lambda T: _x(T, 3, 4).view(5, -1),
    "reshape_two_infer": lambda T: _x(T, 3, 4).reshape(-1, -1),
    "permute_len": lambda T: _x(T, 3, 4).permute(0),
    "permute_dup": lambda T: _x(T, 3, 4).permute(0, 0),
    "transpose_dim": lambda T: _x(T, 3, 4).transpose(0, 2),
    "squeeze_dim": lambda T: _x(T, 3, 4).squeeze(3),
    "unsqueeze_dim": lambda T: _x(T, 3, 4).unsqueeze(4),
    "expand_bad": lambda T: _x(T, 3, 4).expand(3, 5),
    "expand_few": lambda T: _x(T, 3, 4).expand(4),
    "cat_ndim": lambda T: T.cat([_x(T, 3, 4), _x(T, 3)]),
    "cat_size": lambda T: T.cat([_x(T, 3, 4), _x(T, 2, 3)]),
    "cat_0d": lambda T: T.cat([_x(T), _x(T)]),
    "cat_empty_list": lambda T: T.cat([]),
    "stack_size": lambda T: T.stack([_x(T, 3), _x(T, 4)]),
    "split_sizes": lambda T: _x(T, 3, 4).split([1, 1]),
    "narrow_oob": lambda T: _x(T, 3, 4).narrow(0, 2, 2),
    "select_oob": lambda T: _x(T, 3, 4).select(1, 4),
    "select_0d": lambda T: _x(T).select(0, 0),
    "getitem_oob": lambda T: _x(T, 3)[5],
    "getitem_list_oob": lambda T: _x(T, 3)[[0, 3]],
    "getitem_too_many": lambda T: _x(T, 3)[0, 0],
    "getitem_neg_step": lambda T: _x(T, 3)[::-1],
    "getitem_zero_step": lambda T: _x(T, 3)[::0],
    "getitem_float": lambda T: _x(T, 3)[T.tensor([0.0])],
    "getitem_mask_shape": lambda T: _x(T, 3, 4)[T.ones(2, dtype=T.bool)],
    "flip_dup": lambda T: _x(T, 3, 4).flip(0, 0),
    "flip_dim": lambda T: _x(T, 3, 4).flip(2),
    "roll_align": lambda T: _x(T, 3, 4).roll((1, 2), 0),
    "rot90_dims": lambda T: _x(T, 3, 4).rot90(1, (0, 0)),
    "rot90_ndims": lambda T: _x(T, 3, 4).rot90(1, (0,)),
    "repeat_few": lambda T: _x(T, 3, 4).repeat(2),
    "repeat_neg": lambda T: _x(T, 3, 4).repeat(-1, 2),
    "repeat_interleave_neg": lambda T: _x(T, 3).repeat_interleave(-1),
    "repeat_interleave_size": lambda T: _x(T, 3).repeat_interleave(T.tensor([1, 2]), 0),
    "gather_float_index": lambda T: _x(T, 3, 4).gather(1, T.zeros(3, 2)),
    "gather_oob": lambda T: _x(T, 3, 4).gather(1, T.full((3, 2), 5)),
    "gather_neg": lambda T: _x(T, 3, 4).gather(1, T.full((3, 2), -1)),
    "gather_ndim": lambda T: _x(T, 3, 4).gather(1, T.zeros(3, dtype=T.long)),
    "gather_size": lambda T: _x(T, 3, 4).gather(1, T.zeros(4, 2, dtype=T.long)),
    "scatter_dtype": lambda T: _x(T, 3, 4).scatter(1, T.zeros(3, 2, dtype=T.long),
                                                   T.ones(3, 2)),
    "scatter_src_small": lambda T: _x(T, 3, 4).scatter(1, T.zeros(3, 2, dtype=T.long),
                                                       _x(T, 3, 1)),
    "scatter_oob": lambda T: _x(T, 3, 4).scatter(1, T.full((3, 2), 4), 1.0),
    "scatter_add_float_index": lambda T: _x(T, 3, 4).scatter_add(1, T.zeros(3, 2),
                                                                 _x(T, 3, 2)),
    "scatter_reduce_bad": lambda T: _x(T, 3, 4).scatter_reduce(
        1, T.zeros(3, 2, dtype=T.long), _x(T, 3, 2), "median"),
    "index_select_2d": lambda T: _x(T, 3, 4).index_select(0, T.zeros(1, 1, dtype=T.long)),
    "index_select_oob": lambda T: _x(T, 3, 4).index_select(0, T.tensor([3])),
    "index_select_float": lambda T: _x(T, 3, 4).index_select(0, T.tensor([0.0])),
    "index_add_oob": lambda T: _x(T, 3, 4).index_add(0, T.tensor([5]), _x(T, 1, 4)),
    "index_add_count": lambda T: _x(T, 3, 4).index_add(0, T.tensor([0]), _x(T, 2, 4)),
    "index_add_float": lambda T: _x(T, 3, 4).index_add(0, T.tensor([0.0]), _x(T, 1, 4)),
    "index_copy_oob": lambda T: _x(T, 3, 4).index_copy(0, T.tensor([5]), _x(T, 1, 4)),
    "index_copy_count": lambda T: _x(T, 3, 4).index_copy(0, T.tensor([0]), _x(T, 2, 4)),
    "index_fill_oob": lambda T: _x(T, 3, 4).index_fill(0, T.tensor([5]), 1.0),
    "index_fill_value": lambda T: _x(T, 3, 4).index_fill(0, T.tensor([1]), T.ones(2)),
    "masked_scatter_small": lambda T: _x(T, 3, 4).masked_scatter(T.ones(3, 4, dtype=T.bool),
                                                                 _x(T, 3)),
    "masked_scatter_float": lambda T: _x(T, 3, 4).masked_scatter(_x(T, 3, 4), _x(T, 12)),
    "masked_select_float": lambda T: _x(T, 3, 4).masked_select(_x(T, 3, 4)),
    "masked_select_shape": lambda T: _x(T, 3, 4).masked_select(T.ones(2, dtype=T.bool)),
    "take_oob": lambda T: _x(T, 3, 4).take(T.tensor([12])),
    "take_neg_oob": lambda T: _x(T, 3, 4).take(T.tensor([-13])),
    "take_float": lambda T: _x(T, 3, 4).take(T.tensor([1.0])),
    "take_along_dim_float": lambda T: _x(T, 3, 4).take_along_dim(T.tensor([[1.0]]), 1),
    "take_along_dim_ndim": lambda T: _x(T, 3, 4).take_along_dim(T.tensor([1]), 1),
    "tensor_split_0": lambda T: _x(T, 3, 4).tensor_split(0),
    "tensor_split_0d": lambda T: _x(T).tensor_split(1),
    "hsplit_divisible": lambda T: _x(T, 3, 5).hsplit(3),
    "vsplit_1d": lambda T: _x(T, 3).vsplit(1),
    "dsplit_2d": lambda T: _x(T, 3, 4).dsplit(2),
    "masked_scatter_shape": lambda T: _x(T, 3, 4).masked_scatter(T.ones(2, dtype=T.bool),
                                                                 _x(T, 12)),
    "select_scatter_size": lambda T: T.select_scatter(_x(T, 3, 4), _x(T, 2), 0, 1),
    "select_scatter_oob": lambda T: T.select_scatter(_x(T, 3, 4), _x(T, 4), 0, 3),
    "slice_scatter_size": lambda T: T.slice_scatter(_x(T, 3, 4), _x(T, 4), 0),
    "narrow_copy_oob": lambda T: T.narrow_copy(_x(T, 3, 4), 0, 2, 2),
    "index_add_slices": lambda T: _x(T, 3, 2).index_add(0, T.tensor([1]), _x(T, 1, 3)),
    "index_add_0d_source": lambda T: _x(T, 3).index_add(0, T.tensor(1), _x(T)),
    "index_copy_slices": lambda T: _x(T, 3, 2).index_copy(0, T.tensor([1]), _x(T, 1, 3)),
    "unfold_size": lambda T: _x(T, 3, 4).unfold(1, 5, 1),
    "unfold_step": lambda T: _x(T, 3, 4).unfold(1, 2, 0),
    "unfold_neg_size": lambda T: _x(T, 3, 4).unfold(1, -1, 1),
    "unfold_0d": lambda T: _x(T).unfold(0, 2, 1),
    "broadcast_tensors": lambda T: T.broadcast_tensors(_x(T, 3), _x(T, 2)),
    "adjoint_1d": lambda T: _x(T, 3).adjoint(),
    "diagonal_scatter_size": lambda T: T.diagonal_scatter(_x(T, 3, 3), _x(T, 3), 1),
    "unravel_index": lambda T: (T.unravel_index(T.tensor([4, 11, 12, -1]), (3, 4)),
                                T.unravel_index(T.tensor(5), (3, 4)),
                                T.unravel_index(T.tensor([[1, 2]]), 4),
                                T.unravel_index(T.tensor([1], dtype=T.int32), (3, 4))),
    "unravel_index_float": lambda T: T.unravel_index(T.tensor([1.0]), (3, 4)),
    "unravel_index_neg_shape": lambda T: T.unravel_index(T.tensor([1]), (3, -4)),
    "index_select_0d_many": lambda T: _x(T).index_select(0, T.tensor([0, 0])),
    "movedim_0d": lambda T: _x(T).movedim(1, 0),
    "unbind_0d_neg": lambda T: _x(T).unbind(-1),
    "split_0d": lambda T: _x(T).split(1),
    "roll_0d_dim": lambda T: _x(T).roll(1, 1),
    "narrow_start_oob": lambda T: _x(T, 0, 2).narrow(0, 2, 1),
    "flatten_0d_dim": lambda T: _x(T).flatten(1),
    "rot90_same_neg": lambda T: _x(T, 3, 2).rot90(1, (-2, -2)),
    "getitem_int_oob_after_ellipsis": lambda T: _x(T, 3, 4, 2)[..., 2],
    "getitem_int_oob_pos": lambda T: _x(T, 3, 4, 2)[0, ..., 5],
    "getitem_tensor_oob_pos": lambda T: _x(T, 3, 4, 2)[T.tensor([0]), ..., T.tensor([5])],
    "getitem_int_before_mask": lambda T: _x(T, 3, 4, 2)[..., T.tensor([True, False, True]), 2],
    "repeat_interleave_float_repeats": lambda T: _x(T, 2).repeat_interleave(T.tensor([]), 0),
    "repeat_interleave_float_match": lambda T: _x(T, 0).repeat_interleave(T.tensor([]), 0),
    "repeat_interleave_0d_tensor": lambda T: _x(T).repeat_interleave(T.tensor([2]), 0),
    "index_add_1d_oob": lambda T: _x(T, 3).index_add(0, T.tensor([5]), _x(T, 1)),
    "index_add_0d_oob": lambda T: _x(T).index_add(0, T.tensor([1]), _x(T)),
    "take_along_dim_0d": lambda T: _x(T).take_along_dim(T.tensor(0), -1),
    "put_into_empty": lambda T: _x(T, 0).put(T.tensor([0]), _x(T, 1)),
    "unique_dim_unselected_empty": lambda T: T.zeros(2, 0, 0).unique(dim=0),
    "unique_consecutive_two_empty": lambda T: T.unique_consecutive(T.zeros(1, 0, 0), dim=1),
    "unique_dim_other_empty": lambda T: T.zeros(0, 1, 2).unique(dim=2),
    "getitem_first_bad_index": lambda T: _x(T, 3, 4, 2)[None, 0, ..., T.tensor([-1, -3, 2])],
    "put_count": lambda T: _x(T, 3, 4).put(T.tensor([0, 1]), _x(T, 3)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors(name):
    same(ERRORS[name])


# ---- values the records can't express ----

def test_integer_paths():
    def fn(T):
        x = T.arange(12).reshape(3, 4)
        i = T.tensor([[0, 1], [2, 2], [3, 0]])
        return (x.flip(1), x.roll(1, 1), x.rot90(), x.repeat(2, 1), x.tile(2),
                x.repeat_interleave(2, 0), x.gather(1, i), x.scatter(1, i, 7),
                x.scatter_add(1, i, x[:, :2].contiguous()),
                x.scatter_reduce(1, i, x[:, :2].contiguous(), "mean"),
                x.scatter_reduce(1, i, x[:, :2].contiguous(), "amax", include_self=False),
                x.index_select(1, T.tensor([3, 0])), x.index_add(0, T.tensor([2, 2]), x[:2]),
                x.index_fill(1, T.tensor([-1]), -5), x.masked_select(x > 5), x.take(i),
                x.masked_scatter(x > 8, -x), x.put(T.tensor([0, 0]), T.tensor([5, 6]),
                                                    accumulate=True),
                T.dstack([x, x]), T.column_stack([x[0], x[1]]), x.int().gather(0, i[:1]))
    same(fn)


def test_mask_broadcasts_input():
    def fn(T):
        x = _x(T, 4, grad=True)
        m = T.tensor([[True, False, True, True], [False, True, False, False]])
        a, b = x.masked_select(m), x.masked_scatter(m, _x(T, 8) * 2)
        (a.sum() + (b * b).sum()).backward()
        return a, b, x.grad
    same(fn)


def test_scatter_deprecated_reduce():
    def fn(T):
        x = _x(T, 3, 4, grad=True)
        i = T.tensor([[0, 1], [2, 0], [1, 1]])
        a = x.scatter(1, i, x[:, :2] * 2, reduce="add")
        b = x.scatter(1, i, 2.0, reduce="multiply")
        return a, b, T.arange(6).reshape(2, 3).scatter(0, T.tensor([[1, 1, 0]]), 3,
                                                       reduce="add")
    same(fn)


def test_scatter_deprecated_reduce_no_derivative():
    def fn(T):
        x = _x(T, 3, 4, grad=True)
        x.scatter(1, T.tensor([[0], [2], [1]]), 2.0, reduce="multiply").sum().backward()
    same(fn)


def test_index_reduce_errors_and_ints():
    def fn(T):
        x = T.arange(12).reshape(4, 3)
        return (x.index_reduce(0, T.tensor([0, 0, 3]), x[:3] + 1, "mean"),
                x.index_reduce(1, T.tensor([2, 2]), x[:, :2] * 3, "amax", include_self=False))
    same(fn)
    same(lambda T: _x(T, 4, 3).index_reduce(0, T.tensor([0]), _x(T, 1, 3), "sum"))


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_zeros(include_self):
    def fn(T):
        x = T.tensor([0.0, 2.0, 0.0, 3.0, 5.0], requires_grad=True)
        src = T.tensor([4.0, 0.0, 6.0, 0.0, 7.0, 0.5], requires_grad=True)
        out = x.scatter_reduce(0, T.tensor([0, 1, 1, 2, 2, 3]), src, "prod",
                               include_self=include_self)
        gx, gs = T.autograd.grad((out * T.arange(1.0, 6.0)).sum(), (x, src),
                                 create_graph=True)
        ggx, = T.autograd.grad((gs * gs).sum() + gx.sum(), x, allow_unused=True)
        return out, gx.detach(), gs.detach(), ggx
    same(fn)


def test_scatter_reduce_ties_split_evenly():
    def fn(T):
        x = T.tensor([1.0, 3.0, 0.0], requires_grad=True)
        src = T.tensor([3.0, 2.0, 3.0, 5.0], requires_grad=True)
        out = x.scatter_reduce(0, T.tensor([1, 1, 1, 2]), src, "amax")
        out.sum().backward()
        return out, x.grad, src.grad
    same(fn)


def test_scatter_reduce_amin_exclude_self_ties():
    def fn(T):
        x = T.tensor([1.0, 3.0, 0.0], requires_grad=True)
        src = T.tensor([2.0, 2.0, 7.0], requires_grad=True)
        out = x.scatter_reduce(0, T.tensor([1, 1, 0]), src, "amin", include_self=False)
        out.sum().backward()
        return out, x.grad, src.grad
    same(fn)


def test_scatter_larger_src_backward_raises():
    def fn(T):
        x = _x(T, 3, 3, grad=True)
        s = _x(T, 3, 3, grad=True)
        out = x.scatter(1, T.tensor([[0, 1], [1, 2], [2, 0]]), s)
        out.sum().backward()
    same(fn)


def test_gather_repeated_indices_accumulate():
    def fn(T):
        x = _x(T, 2, 3, grad=True)
        x.gather(1, T.tensor([[0, 0, 0], [2, 1, 2]])).sum().backward()
        return x.grad
    same(fn)


def test_repeat_interleave_indices_form():
    same(lambda T: (T.repeat_interleave(T.tensor([1, 0, 3])),
                    _x(T, 3).repeat_interleave(T.tensor(2)),
                    _x(T, 2, 2).repeat_interleave(T.tensor([1, 2]), dim=1, output_size=3)))


def test_nonzero_0d_and_empty():
    same(lambda T: (T.tensor(2.0).nonzero(), T.tensor(0.0).nonzero(as_tuple=True),
                    T.tensor(2.0).nonzero(as_tuple=True), T.zeros(0, 3).nonzero(),
                    T.argwhere(T.tensor([[0, 1], [2, 0]]))))


def test_unique_variants():
    def fn(T):
        x = T.tensor([[2, 1, 2], [1, 1, 0]])
        return (x.unique(), T.unique(x, return_inverse=True), x.unique(return_counts=True),
                x.unique(dim=1, return_inverse=True),
                T.unique_consecutive(T.tensor([1, 1, 2, 2, 3, 1, 1])),
                T.unique_consecutive(x, return_counts=True, dim=0),
                T.tensor([1.5, 0.5, 1.5]).unique(return_inverse=True, return_counts=True))
    same(fn)


@pytest.mark.parametrize("call", ["unique", "unique_dim", "unique_consecutive"])
def test_unique_has_no_derivative(call):
    def fn(T):
        x = T.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
        u = {"unique": lambda: x.unique(return_counts=True)[0],
             "unique_dim": lambda: x.unique(dim=0),
             "unique_consecutive": lambda: T.unique_consecutive(x)}[call]()
        name = u.grad_fn.name()
        u.sum().backward()
        return name
    same(fn)


def test_tensor_split_indices():
    same(lambda T: (_x(T, 7).tensor_split([1, 5, 9]), _x(T, 2, 5).tensor_split(T.tensor(3), 1),
                    _x(T, 5).tensor_split(T.tensor([3, 1])), _x(T, 4, 2).vsplit([1, 1]),
                    _x(T, 2, 2, 4).dsplit([1])))


# ---- in-place variants ----

INPLACE = {
    "scatter_": lambda T, x: x.scatter_(1, T.tensor([[0], [2], [1]]), x[:, :1].exp()),
    "scatter_value_": lambda T, x: x.scatter_(1, T.tensor([[0], [2], [1]]), 2.5),
    "scatter_add_": lambda T, x: x.scatter_add_(1, T.tensor([[0, 0], [2, 1], [1, 1]]),
                                                x[:, :2] * 2),
    "scatter_reduce_": lambda T, x: x.scatter_reduce_(0, T.tensor([[0, 1, 0, 1]]),
                                                      x[:1] * 3, "amax"),
    "index_add_": lambda T, x: x.index_add_(0, T.tensor([2, 2]), x[:2] * 2, alpha=-1),
    "index_copy_": lambda T, x: x.index_copy_(1, T.tensor([3, 0]), x[:, :2] * 2),
    "index_fill_": lambda T, x: x.index_fill_(1, T.tensor([1]), -1.0),
    "masked_scatter_": lambda T, x: x.masked_scatter_(x > 0, x.exp().flatten()),
    "put_": lambda T, x: x.put_(T.tensor([1, 5]), x[0, :2] * 3),
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace(name):
    def fn(T):
        leaf = _x(T, 3, 4, grad=True)
        x = leaf * 1
        v = x._version
        out = INPLACE[name](T, x)
        out.sum().backward()
        return out is x, x._version > v, out.grad_fn.name(), out, leaf.grad
    same(fn)


def test_inplace_on_leaf_raises():
    same(lambda T: _x(T, 3, grad=True).index_fill_(0, T.tensor([0]), 1.0))


# ---- advanced indexing: read and write ----

def test_getitem_advanced_read():
    def fn(T):
        x = _x(T, 3, 4, 2, grad=True)
        outs = (x[[0, 2]], x[T.tensor([[0, 0], [1, 2]])], x[x > 0], x[:, [1, 1, 3]],
                x[..., None, ::2], x[1:, T.tensor([0, 3]), 1], x[[0, 1], :, [1, 0]],
                x[T.tensor([True, False, True])], x[None, 0, ..., 1])
        sum(o.sum() * (k + 1) for k, o in enumerate(outs)).backward()
        return outs, x.grad
    same(fn)


def test_setitem_values():
    def fn(T):
        x = _x(T, 3, 4)
        x[0] = 1.5
        x[:, [1, 3]] = T.tensor([9.0, 8.0], dtype=T.float64)
        x[x > 3] = -1.0
        x[[2, 2], [0, 0]] = 5.0
        x[1, ..., ::2] = T.tensor([7.0, 6.0], dtype=T.float64)
        return x
    same(fn)


def test_setitem_gradients():
    def fn(T):
        leaf = _x(T, 3, 4, grad=True)
        v = _x(T, 2, grad=True)
        x = leaf * 2
        x[[0, 2], 1] = v * 3
        x[x > 5] = 0.0
        x[1:, ::3] = v.sum()
        x.pow(2).sum().backward()
        return x, leaf.grad, v.grad
    same(fn)


def test_index_put_accumulate():
    def fn(T):
        leaf = _x(T, 3, 2, grad=True)
        v = _x(T, 3, 2, grad=True)
        x = leaf.clone()
        x.index_put_((T.tensor([0, 0, 2]),), v * 2, accumulate=True)
        (x * x).sum().backward()
        return x, leaf.grad, v.grad
    same(fn)


def test_index_put_out_of_place():
    def fn(T):
        x = _x(T, 3, 2, grad=True)
        v = _x(T, 2, grad=True)
        out = T.index_put(x, (T.tensor([1, 2]),), v, accumulate=False)
        (out ** 2).sum().backward()
        return out, x.grad, v.grad
    same(fn)


# ---- edge cases of the existing view/join/index ops (values, views, errors) ----

def _e(T, *s, grad=False):
    n = int(np.prod(s)) if s else 1
    return T.tensor(np.arange(n, dtype=np.float64).reshape(s) - 3, requires_grad=grad)


EDGES = {
    "squeeze_non1": lambda T: _e(T, 2, 3).squeeze(0),
    "squeeze_tuple": lambda T: _e(T, 1, 3, 1).squeeze((0,1)),
    "squeeze_0d": lambda T: _e(T).squeeze(0),
    "squeeze_0d_bad": lambda T: _e(T).squeeze(1),
    "unsqueeze_0d": lambda T: _e(T).unsqueeze(-1),
    "flatten_0d": lambda T: _e(T).flatten(),
    "flatten_bad": lambda T: _e(T, 2, 3).flatten(1,0),
    "unflatten_bad": lambda T: _e(T, 2, 6).unflatten(1,(4,2)),
    "unflatten_infer": lambda T: _e(T, 2, 6).unflatten(-1,(-1,2)),
    "chunk_many": lambda T: _e(T, 3).chunk(5),
    "chunk_6_4": lambda T: _e(T, 6).chunk(4),
    "chunk_0": lambda T: _e(T, 6).chunk(0),
    "chunk_0d": lambda T: _e(T).chunk(1),
    "split_0": lambda T: _e(T, 3).split(0),
    "split_0_empty": lambda T: _e(T, 0).split(0),
    "split_big": lambda T: _e(T, 3).split(5),
    "unbind_0d": lambda T: _e(T).unbind(),
    "stack_mixed": lambda T: T.stack([_e(T, 2), T.tensor([1,2])]),
    "cat_mixed": lambda T: T.cat([T.tensor([1,2]), T.tensor([True])]),
    "cat_int_float": lambda T: T.cat([T.tensor([1,2]), T.tensor([1.5])]),
    "cat_tuple_dim": lambda T: T.cat((_e(T, 2, 2),_e(T, 2, 1)), dim=-1),
    "stack_empty": lambda T: T.stack([]),
    "stack_0d": lambda T: T.stack([_e(T), _e(T)]),
    "stack_dim_oob": lambda T: T.stack([_e(T, 2), _e(T, 2)], 3),
    "expand_lead_neg": lambda T: _e(T, 3).expand(-1, 3),
    "expand_0d": lambda T: _e(T).expand(2,2),
    "expand_same": lambda T: _e(T, 2, 1).expand(2,1),
    "expand_list": lambda T: _e(T, 2, 1).expand([2,3]),
    "expand_size": lambda T: _e(T, 2, 1).expand(T.Size([2,3])),
    "movedim_dup": lambda T: _e(T, 2, 3).movedim((0,0),(1,0)),
    "movedim_len": lambda T: _e(T, 2, 3).movedim((0,1),(1,)),
    "transpose_0d": lambda T: _e(T).transpose(0,-1),
    "permute_list": lambda T: _e(T, 2, 3, 4).permute([2,0,1]),
    "permute_neg": lambda T: _e(T, 2, 3, 4).permute(-1,0,1),
    "t_3d": lambda T: _e(T, 2, 3, 4).t(),
 "T_0d": lambda T: _e(T).T,
 "mT": lambda T: _e(T, 2, 3, 4).mT,
 "mT_1d": lambda T: _e(T, 3).mT,
    "view_dtype": lambda T: _e(T, 2).view(T.int64),
    "view_neg": lambda T: _e(T, 2, 3).view(-1),
    "view_0d": lambda T: _e(T).view(1,1),
    "view_empty": lambda T: _e(T, 0, 3).view(-1, 0),
    "reshape_empty_infer": lambda T: _e(T, 0, 3).reshape(-1),
    "reshape_neg2": lambda T: _e(T, 6).reshape(-2,3),
    "narrow_neg": lambda T: _e(T, 5).narrow(0,-2,2),
    "narrow_tensor": lambda T: _e(T, 5).narrow(0,T.tensor(1),2),
    "narrow_len_neg": lambda T: _e(T, 5).narrow(0,1,-1),
    "narrow_0d": lambda T: _e(T).narrow(0,0,1),
    "select_neg": lambda T: _e(T, 2, 3).select(1,-1),
    "getitem_true": lambda T: _e(T, 3)[True],
    "getitem_false": lambda T: _e(T, 3)[False],
    "getitem_empty_list": lambda T: _e(T, 3)[[]],
    "getitem_0d_tensor": lambda T: _e(T, 3)[T.tensor(1)],
    "getitem_two_ellipsis": lambda T: _e(T, 3)[...,...],
    "getitem_none_0d": lambda T: _e(T)[None],
    "getitem_ellipsis_0d": lambda T: _e(T)[...],
    "getitem_float": lambda T: _e(T, 3)[1.0],
    "getitem_slice_oob": lambda T: _e(T, 3)[5:10],
    "getitem_neg_slice": lambda T: _e(T, 5)[-3:-1],
    "getitem_bool_list": lambda T: _e(T, 3)[[True,False,True]],
    "getitem_mask_2d": lambda T: _e(T, 2, 3)[T.tensor([[True,False,True],[False,False,True]])],
    "getitem_tensor_slices_sep": lambda T: _e(T, 2, 3, 4)[T.tensor([0,1]), :, T.tensor([1,2])],
    "getitem_int_tensor_int": lambda T: _e(T, 2, 3, 4)[0, :, T.tensor([1,2])],
    "getitem_int32": lambda T: _e(T, 3)[T.tensor([0,2],dtype=T.int32)],
    "getitem_uint8": lambda T: _e(T, 3)[T.tensor([1,0,1],dtype=T.uint8)],
    "getitem_tuple_of_lists": lambda T: _e(T, 3, 3)[([0,1],[1,2])],
    "getitem_neg_idx": lambda T: _e(T, 3)[[-1,-3]],
    "getitem_neg_oob": lambda T: _e(T, 3)[[-4]],
    "hstack_0d": lambda T: T.hstack([_e(T), _e(T)]),
    "vstack_1d": lambda T: T.vstack([_e(T, 3), _e(T, 3)]),
    "contig_noop": lambda T: (lambda a: a.contiguous() is a)(_e(T, 3)),
    "broadcast_to_bad": lambda T: _e(T, 3).broadcast_to((2,2)),
    "swapdims_": lambda T: _e(T, 2, 3).swapdims_(0,1),
    "squeeze_": lambda T: _e(T, 1, 3).squeeze_(0),
    "unsqueeze_": lambda T: _e(T, 3).unsqueeze_(0),
    "t_": lambda T: _e(T, 2, 3).t_(),
    "ravel": lambda T: _e(T, 2, 3).t().ravel(),
    "view_as": lambda T: _e(T, 6).view_as(_e(T, 2, 3)),
    "reshape_as": lambda T: _e(T, 6).reshape_as(_e(T, 2, 3)),
    "split_dim_neg": lambda T: _e(T, 2, 4).split([1,3], -1),
    "split_sizes_tensor_list": lambda T: _e(T, 4).split((2,2)),
    "unbind_neg": lambda T: _e(T, 2, 3).unbind(-1),
    "chunk_dim": lambda T: _e(T, 2, 5).chunk(2, dim=1),
    "keyword_sizes": lambda T: (T.reshape(_e(T, 2, 3), shape=(3, 2)),
                                _e(T, 2, 3).reshape(shape=(6,)), _e(T, 2, 3).view(size=(3, 2)),
                                _e(T, 2).view(dtype=T.int64), T.permute(_e(T, 2, 3), dims=(1, 0)),
                                _e(T, 2, 3).permute(dims=[1, 0]), T.flip(_e(T, 2, 3), dims=(0,)),
                                _e(T, 2, 3).flip(dims=[1]), _e(T, 1, 3).expand(size=(2, 3)),
                                _e(T, 2).repeat(repeats=(2, 1)), T.tile(_e(T, 2), dims=(2,))),
    "keyword_unknown": lambda T: _e(T, 2, 3).reshape(size=(6,)),
    "tile_varargs": lambda T: (_e(T, 2).tile(2, 2), _e(T, 2).tile(3), T.tile(_e(T, 2), [2])),
    "repeat_list": lambda T: (_e(T, 2).repeat([2, 1]), _e(T, 2).repeat(T.Size([3]))),
    "roll_0d": lambda T: _e(T).roll(1),
    "roll_empty": lambda T: _e(T, 0).roll(1),
    "flip_0d": lambda T: _e(T).flip(0),
    "flip_list": lambda T: _e(T, 2, 3).flip([0,1]),
    "tile_0d": lambda T: _e(T).tile((2,3)),
    "repeat_0": lambda T: _e(T, 2).repeat(0),
    "repeat_interleave_0d": lambda T: _e(T).repeat_interleave(3),
    "gather_empty_idx": lambda T: _e(T, 2, 3).gather(1, T.zeros(2,0,dtype=T.long)),
    "take_along_dim_neg": lambda T: _e(T, 2, 3).take_along_dim(T.tensor([[-1]]), 1),
    "index_select_int32": lambda T: _e(T, 2, 3).index_select(1, T.tensor([2,0],dtype=T.int32)),
    "nonzero_bool": lambda T: T.tensor([[True,False],[True,True]]).nonzero(),
    "unique_bool": lambda T: T.tensor([True,False,True]).unique(return_counts=True),
    "unique_empty": lambda T: T.tensor([]).unique(return_inverse=True),
    "masked_select_int": lambda T: T.tensor([1,2,3]).masked_select(T.tensor([True,False,True])),
    "scatter_0d": lambda T: _e(T).scatter(0, T.tensor(0), 5.0),
    "gather_neg_dim": lambda T: _e(T, 2, 3).gather(-1, T.tensor([[0],[2]])),
    "cat_out": lambda T: T.cat([_e(T, 2), _e(T, 2)], out=T.empty(4, dtype=T.float64)),
    "index_fill_int": lambda T: T.arange(4).index_fill(0, T.tensor([1]), 2.7),
    "index_add_int_alpha": lambda T: T.arange(4).index_add(0, T.tensor([1]), T.tensor([5]),
                                                           alpha=2),
}


@pytest.mark.parametrize("name", EDGES)
def test_edges(name):
    same(EDGES[name])



# ---- in-place and views together: CopySlices through index ops, setitem forms ----

def _run(f):
    def fn(T):
        leaf = _e(T, 3, 4, grad=True)
        out = f(T, leaf)
        res = out if isinstance(out, tuple) else (out,)
        res[0].pow(2).sum().backward()
        return res + (leaf.grad,)
    return fn


def _set(y, key, value):
    y[key] = value
    return y


def _then(y, action):
    action(y)
    return y


def _second(T, f):
    leaf = _e(T, 3, 4, grad=True)
    g, = T.autograd.grad((f(leaf) ** 3).sum(), leaf, create_graph=True)
    return T.autograd.grad(g.sum(), leaf)


INTERPLAY = {
    "iadd_index": _run(lambda T, x: (lambda y: _set(y, (slice(None), [0, 2]),
                                                    y[:, [0, 2]] + 1))(x * 1)),
    "view_scatter_": _run(lambda T, x: _then(
        x * 1, lambda y: y[1:].scatter_(1, T.tensor([[0], [3]]), 5.0))),
    "view_index_add_": _run(lambda T, x: _then(
        x * 1, lambda y: y[:, 1].index_add_(0, T.tensor([0, 0]), x[0, :2]))),
    "view_masked_scatter_": _run(lambda T, x: _then(
        x * 1, lambda y: y.t().masked_scatter_(y.t() > 2, x.flatten() * 2))),
    "setitem_mask_tensor": _run(lambda T, x: (lambda y: _set(y, y > 2, x[0, 0] * 3))(x * 1)),
    "setitem_bcast_row": _run(lambda T, x: _set(x * 1, [0, 2], x[1])),
    "setitem_int_tensor": _run(lambda T, x: _set(x * 1, (1, T.tensor([0, 3])), x[2, :2] * 2)),
    "setitem_none": _run(lambda T, x: _set(x * 1, (None, 0), 1.0)),
    "setitem_ellipsis_list": _run(lambda T, x: _set(x * 1, (..., [1, 1]), x[:, 0:1] * 1)),
    "unsafe_chunk_inplace_ok": _run(lambda T, x: (lambda y: (y.unsafe_chunk(2)[1].mul_(3), y)[1])(
        x * 1)),
    "tensor_split_inplace_ok": _run(lambda T, x: _then(
        x * 1, lambda y: y.tensor_split(2)[0].mul_(3))),
    "index_put_leaf_err": lambda T: _e(T, 3, grad=True).index_put_(
        (T.tensor([0]),), T.tensor(1.0, dtype=T.float64)),
    "index_put_dtype": lambda T: _e(T, 3).index_put_((T.tensor([0]),), T.tensor(1.0)),
    "index_put_0d": lambda T: _e(T, 3).index_put((T.tensor(1),),
                                                 T.tensor(9.0, dtype=T.float64)),
    "index_put_bool": lambda T: _e(T, 3).index_put((T.tensor([True, False, True]),),
                                                   T.tensor(9.0, dtype=T.float64), True),
    "setitem_int_on_int": lambda T: _set(T.arange(3), 0, 2.7),
    "setitem_list_scalar": lambda T: _set(T.arange(3), [0, 0], 2),
    "setitem_basic_casts": lambda T: _set(_e(T, 3), 1, T.tensor(2.5)),
    "setitem_advanced_0d_casts": _run(lambda T, x: _set(x * 1, x > 0, T.tensor(1.0))),
    "setitem_advanced_no_cast": lambda T: _set(_e(T, 3), [1], T.tensor([2.5])),
    "split_inplace_err": lambda T: (_e(T, 4, grad=True) * 1).split(2)[0].add_(1),
    "unbind_inplace_err": lambda T: (_e(T, 4, grad=True) * 1).unbind()[0].add_(1),
    "view_of_leaf_err": lambda T: _e(T, 3, grad=True)[0:2].scatter_(0, T.tensor([0]), 1.0),
    "gather_2nd": lambda T: _second(T, lambda x: x.gather(1, T.tensor([[0, 0], [1, 3],
                                                                      [2, 2]]))),
    "getitem_2nd": lambda T: _second(T, lambda x: x[[0, 0, 2]]),
    "unfold_2nd": lambda T: _second(T, lambda x: x.unfold(1, 3, 1)),
    "unfold_write": _run(lambda T, x: _then(x * 1, lambda y: y.unfold(1, 2, 2).mul_(2))),
    "unfold_empty": lambda T: _e(T, 3, 4).unfold(1, 0, 1).shape,
    "index_select_2nd": lambda T: _second(T, lambda x: x.index_select(1, T.tensor([3, 3]))),
    "take_2nd": lambda T: _second(T, lambda x: x.take(T.tensor([[0, 0], [5, 11]]))),
    "version_after_setitem": lambda T: _set(_e(T, 3), [0], 1.0)._version,
    "version_after_scatter_": lambda T: _then(
        _e(T, 3), lambda y: y.scatter_(0, T.tensor([0]), 1.0))._version,
}


@pytest.mark.parametrize("name", INTERPLAY)
def test_interplay(name):
    same(INTERPLAY[name])


# ---- out= ----

def _out_result(f):
    def fn(T):
        out = T.empty(0, dtype=T.float64)
        r = f(T, out)
        return r is out, r, out._version
    return fn


OUTS = {
    "cat": lambda T, o: T.cat([_e(T, 2), _e(T, 3)], out=o),
    "stack": lambda T, o: T.stack([_e(T, 2), _e(T, 2)], 1, out=o),
    "hstack": lambda T, o: T.hstack([_e(T, 2), _e(T, 3)], out=o),
    "vstack": lambda T, o: T.vstack([_e(T, 2), _e(T, 2)], out=o),
    "dstack": lambda T, o: T.dstack([_e(T, 2), _e(T, 2)], out=o),
    "column_stack": lambda T, o: T.column_stack([_e(T, 2), _e(T, 2)], out=o),
    "gather": lambda T, o: T.gather(_e(T, 2, 3), 1, T.tensor([[2], [0]]), out=o),
    "index_select": lambda T, o: T.index_select(_e(T, 2, 3), 1, T.tensor([2, 0]), out=o),
    "masked_select": lambda T, o: T.masked_select(_e(T, 2, 3), _e(T, 2, 3) > 0, out=o),
    "take_along_dim": lambda T, o: T.take_along_dim(_e(T, 2, 3), T.tensor([[1]]), 1, out=o),
}


@pytest.mark.parametrize("name", OUTS)
def test_out(name):
    same(_out_result(OUTS[name]))


def test_out_errors_and_resize():
    same(lambda T: T.cat([_e(T, 2, grad=True)], out=T.empty(2, dtype=T.float64)))
    same(lambda T: T.cat([_e(T, 2)], out=T.empty(2, dtype=T.int64)))
    same(lambda T: T.gather(_e(T, 2), 0, T.tensor([1]), out=T.empty(1, dtype=T.int64)))
    same(lambda T: T.cat([_e(T, 2), _e(T, 2)], out=T.zeros(3, dtype=T.float64)))
    same(lambda T: T.nonzero(_e(T, 2, 2), out=T.empty(0, dtype=T.int64)))
    same(lambda T: T.nonzero(_e(T, 2, 2), out=T.empty(0)))
    same(lambda T: T.index_select(_e(T, 2), 0, T.tensor([1]), out=T.empty(1)))
    same(lambda T: T.stack([_e(T, 2)], out=T.empty(1)))
    same(lambda T: T.stack([_e(T, 2)], out=T.empty(1, dtype=T.int64)))


# ---- Python operators (operators.py) ----

OPERATORS = {
    "iter": lambda T: list(_e(T, 2, 3, grad=True)*1),
    "iter_0d": lambda T: list(_e(T)),
    "len": lambda T: len(_e(T, 2, 3)),
    "len_0d": lambda T: len(_e(T)),
    "contains": lambda T: (2.0 in _e(T, 2, 3), 9 in _e(T, 2, 3)),
    "contains_tensor": lambda T: T.tensor(1.0, dtype=T.float64) in _e(T, 3),
    "contains_str": lambda T: "a" in _e(T, 3),
    "index_op": lambda T: [1,2,3][T.tensor(1)],
    "index_op_float": lambda T: [1,2,3][T.tensor(1.0)],
    "matmul_op": lambda T: _e(T, 2, 2) @ _e(T, 2, 2),
    "rmatmul_list": lambda T: [[1.0,2.0]] @ _e(T, 2, 2),
    "bool_multi": lambda T: bool(_e(T, 2)),
    "reversed": lambda T: list(reversed(_e(T, 3))),
    "getitem_via_np_int": lambda T: _e(T, 3)[np.int64(1)],
    "setitem_np_array": lambda T: (lambda y: _set(y, np.array([0, 1]), 5.0))(_e(T, 3)),
    "iter_grad_fn": lambda T: [t.grad_fn.name() for t in (_e(T, 2, 3, grad=True)*1)],
    "pow_rev": lambda T: 2 ** _e(T, 3),
    "neg_int": lambda T: -T.tensor([True]),
    "imatmul": lambda T: (lambda y: y.__imatmul__(_e(T, 2, 2)))(_e(T, 2, 2)),
    "lshift": lambda T: T.tensor([1,2]) << 1,
    "rshift": lambda T: T.tensor([4,8]) >> T.tensor([1,2]),
    "ilshift": lambda T: (lambda y: (y.__ilshift__(1), y)[1])(T.tensor([1,2])),
    "rlshift": lambda T: 1 << T.tensor([1,2]),
    "iand": lambda T: (lambda y: (y.__iand__(T.tensor([True,False])), y)[1])(T.tensor([True,True])),
    "ior": lambda T: (lambda y: (y.__ior__(T.tensor([True,False])), y)[1])(T.tensor([False,False])),
    "ixor": lambda T: (lambda y: (y.__ixor__(1), y)[1])(T.tensor([3,2])),
    "rpow_tensor": lambda T: 2.0 ** _e(T, 3, grad=True),
    "rsub_grad": lambda T: (1 - _e(T, 3,grad=True)).grad_fn.name(),
    "rdiv_int": lambda T: 2 // T.tensor([3, 4]),
    "rmod": lambda T: 7 % T.tensor([3, 4]),
    "eq_none": lambda T: _e(T, 3) == None,  # noqa: E711
    "ne_none": lambda T: _e(T, 3) != None,  # noqa: E711
    "eq_str": lambda T: _e(T, 3) == "a",
    "hash_ok": lambda T: isinstance(hash(_e(T, 3)), int),
    "abs_op": lambda T: abs(_e(T, 3)),
    "invert_float": lambda T: ~_e(T, 3),
    "divmod": lambda T: divmod(_e(T, 3), 2),
    "floordiv_zero": lambda T: T.tensor([1,2]) // 0,
    "complex_op": lambda T: _e(T, 3) * 1j,
    "round_op": lambda T: round(_e(T)),
    "int_op": lambda T: int(_e(T, 1)),
}


@pytest.mark.parametrize("name", OPERATORS)
def test_operators(name):
    same(OPERATORS[name])


# ---- dtype rules and index checks of the gather/scatter family ----

DTYPES = {
    "index_add_dtype": lambda T: _e(T, 3).index_add(0, T.tensor([0]), T.ones(1)),
    "index_copy_dtype": lambda T: _e(T, 3).index_copy(0, T.tensor([0]), T.ones(1)),
    "masked_scatter_dtype": lambda T: (
        _e(T, 3).masked_scatter(T.tensor([True,False,True]), T.ones(3))),
    "index_fill_int_tensor_val": lambda T: T.arange(3).index_fill(0, T.tensor([0]), T.tensor(2.5)),
    "scatter_int_val": lambda T: T.arange(3).scatter(0, T.tensor([0]), 2.5),
    "gather_int32_idx_grad": lambda T: (
        _e(T, 2, 2,grad=True).gather(1, T.tensor([[1],[0]], dtype=T.int32))),
    "index_select_int32_neg": lambda T: _e(T, 3).index_select(0, T.tensor([0], dtype=T.int32)),
    "scatter_add_int32": lambda T: (
        _e(T, 3).scatter_add(0, T.tensor([0,0], dtype=T.int32), _e(T, 2))),
    "index_add_2d_idx": lambda T: _e(T, 3).index_add(0, T.tensor([[0]]), _e(T, 1)),
    "index_fill_2d_idx": lambda T: _e(T, 3).index_fill(0, T.tensor([[0]]), 1.0),
    "index_copy_float_idx": lambda T: _e(T, 3).index_copy(0, T.tensor([0.]), _e(T, 1)),
    "index_fill_float_idx": lambda T: _e(T, 3).index_fill(0, T.tensor([0.]), 1.0),
    "take_int32": lambda T: _e(T, 3).take(T.tensor([0], dtype=T.int32)),
    "put_float_idx": lambda T: _e(T, 3).put(T.tensor([0.]), _e(T, 1)),
    "put_dtype": lambda T: _e(T, 3).put(T.tensor([0]), T.ones(1)),
    "masked_select_uint8": lambda T: _e(T, 3).masked_select(T.tensor([1,0,1], dtype=T.uint8)),
    "nonzero_0d_false": lambda T: T.tensor(0.0).nonzero(),
    "argwhere_0d": lambda T: T.argwhere(T.tensor(3.0)),
    "unique_sorted_false": lambda T: T.tensor([3, 1, 2, 1]).unique(sorted=False),
    "unique_dim_neg": lambda T: (
        T.tensor([[1, 2], [1, 2]]).unique(dim=-1, return_inverse=True, return_counts=True)),
    "repeat_interleave_output_size": lambda T: _e(T, 3).repeat_interleave(2, output_size=6),
    "tile_more": lambda T: _e(T, 2).tile((2, 2, 1)),
    "roll_neg_dim": lambda T: _e(T, 2, 3).roll(-1, -1),
    "rot90_k4": lambda T: _e(T, 2, 3).rot90(4),
    "rot90_k2": lambda T: _e(T, 2, 3).rot90(2, [1, 0]),
    "flip_tuple_neg": lambda T: _e(T, 2, 3).flip((-1,)),
    "scatter_reduce_int_mean": lambda T: (
        T.tensor([4, 5, 7]).scatter_reduce(0, T.tensor([0, 0, 2]), T.tensor([1, 2, 4]), "mean")),
    "scatter_reduce_empty": lambda T: (
        _e(T, 3).scatter_reduce(0, T.tensor([], dtype=T.long), _e(T, 0), "amax")),
    "gather_sparse_grad": lambda T: _e(T, 3).gather(0, T.tensor([1]), sparse_grad=False),
    "index_reduce_neg_idx": lambda T: _e(T, 3).index_reduce(0, T.tensor([-1]), _e(T, 1), "prod"),
    "take_along_dim_bcast_dim0": lambda T: _e(T, 2, 3).take_along_dim(T.tensor([[1],[0]]), 0),
    "index_copy_2d_idx": lambda T: _e(T, 3).index_copy(0, T.tensor([[0]]), _e(T, 1)),
    "index_copy_int32": lambda T: _e(T, 3).index_copy(0, T.tensor([0], dtype=T.int32), _e(T, 1)),
}


@pytest.mark.parametrize("name", DTYPES)
def test_dtypes_and_index_checks(name):
    same(DTYPES[name])


# ---- setitem forms and getitem keys mixing basic and advanced parts ----

KEYS = {
    "set_list_value": lambda T: _set(_e(T, 2, 3), 0, [1., 2., 3.]),
    "set_np_value": lambda T: _set(_e(T, 2, 3), 0, np.array([1., 2., 3.])),
    "set_adv_list_value": lambda T: _set(_e(T, 2, 3), [0, 1], 5),
    "set_mask_bcast": lambda T: _set(_e(T, 2, 3), _e(T, 2, 3) > 0, T.tensor(7.0, dtype=T.float64)),
    "set_0d_ellipsis": lambda T: _set(_e(T), ..., 4.0),
    "set_0d_none": lambda T: _set(_e(T), None, 4.0),
    "set_bool_true": lambda T: _set(_e(T, 3), True, 4.0),
    "set_shape_mismatch": lambda T: _set(_e(T, 2, 3), 0, T.ones(2, dtype=T.float64)),
    "set_adv_shape_mismatch": lambda T: _set(_e(T, 2, 3), [0, 1], T.ones(2, dtype=T.float64)),
    "set_int_tensor_idx": lambda T: _set(_e(T, 3), T.tensor(1), 9.0),
    "set_slice_tensor_val_grad": _run(lambda T, x: _set(x * 1, slice(0, 2), x[1:] * 2)),
    "set_int_into_bool": lambda T: _set(T.zeros(3, dtype=T.bool), 0, 1),
    "set_float_into_int_adv": lambda T: _set(T.arange(3), [1], 2.9),
    "set_neg_step": lambda T: _set(_e(T, 3), slice(None, None, -1), 1.0),
    "set_oob": lambda T: _set(_e(T, 3), 3, 1.0),
    "set_adv_oob": lambda T: _set(_e(T, 3), [3], 1.0),
    "set_complex_key": lambda T: _set(_e(T, 2, 3, 4), (0, ..., [1, 2], None), 1.0),
    "get_complex_key": lambda T: _e(T, 2, 3, 4)[1, ..., [1, 2], None],
    "get_adv_bool_and_int_tensor": lambda T: _e(T, 2, 3)[T.tensor([True, False]), T.tensor([2])],
    "get_two_masks": lambda T: _e(T, 2, 3)[T.tensor([True, True]), T.tensor([True, False, True])],
    "get_idx_tensor_2d_slice": lambda T: _e(T, 3, 4)[T.tensor([[0, 1], [2, 0]]), 1:3],
    "get_full_slice_tuple": lambda T: _e(T, 3, 2, grad=True)[(slice(None, 3, 1),)] * 1,
    "get_bare_full_slice": lambda T: _e(T, 3, 2, grad=True)[:3] * 1,
    "get_neg_start_slice": lambda T: _e(T, 3, 2, grad=True)[(slice(-3, None),)] * 1,
    "get_skip_full_slice": lambda T: _e(T, 3, 2, grad=True)[1, 0:2:1] * 1,
    "set_full_key_fills": _run(lambda T, x: _set(x * 1, (slice(None), ...), -1.0)),
    "set_full_key_tensor": _run(lambda T, x: _set(x * 1, slice(None), x[0, 0] * 2)),
    "set_adv_full_basic": _run(lambda T, x: _set(x * 1, ([1, 0], slice(0, 4, 1)), -1.0)),
    "mask_error_view_shape": lambda T: _e(T, 3, 4, 2)[..., T.tensor([True, False, True]), None],
    "index_shapes_mismatch": lambda T: _e(T, 3, 4, 2)[-2, [3, -2], T.tensor([False, False])],
    "index_put_shapes_mismatch": lambda T: _e(T, 3, 4).index_put_(
        (T.tensor([0, 1]), T.tensor([0, 1, 2])), T.tensor(1.0, dtype=T.float64)),
    "movedim_0d_alias": lambda T: _e(T, grad=True).movedim(0, -1) * 1,
    "split_empty_dim": lambda T: _e(T, 1, 0).split(1, 1),
    "cat_empty_grads": _run(lambda T, x: T.cat([x, x[:0] * 2, T.zeros(0) * x.sum()], 0)),
    "roll_empty_any_dims": _run(lambda T, x: x[:0].roll((4, 3), (0, -2)) * 1),
    "index_add_into_empty": lambda T: _e(T, 0, 1, 3).index_add(0, T.tensor([0, 0]),
                                                               _e(T, 2, 1, 3)),
    "index_copy_empty_source": lambda T: _e(T, 0, 3, 0).index_copy(2, T.tensor([0]),
                                                                   _e(T, 0, 3, 1)),
    "index_fill_empty": lambda T: _e(T, 0, 0).index_fill(0, T.tensor([0]), 1.0),
    "unique_dim_selected_empty": lambda T: T.unique(T.zeros(0, 1, dtype=T.int64), dim=0,
                                                    return_inverse=True, return_counts=True),
    "unique_consecutive_selected_empty": lambda T: T.unique_consecutive(
        T.zeros(0, 3), dim=0, return_counts=True),
    "get_leading_none_adv": lambda T: _e(T, 3, 4)[None, [0, 2]],
    "get_adv_sep_none": lambda T: _e(T, 3, 4, 2)[[0, 1], None, [1, 0]],
}


@pytest.mark.parametrize("name", KEYS)
def test_keys(name):
    same(KEYS[name])


# ---- which names exist as functions and as methods ----

NAMES = ("gather scatter scatter_add scatter_reduce index_select index_add index_copy index_fill "
         "index_reduce masked_scatter masked_select take take_along_dim put nonzero argwhere "
         "unique unique_consecutive flip fliplr flipud roll rot90 tile repeat repeat_interleave "
         "dstack column_stack tensor_split hsplit vsplit dsplit cat concat concatenate stack "
         "hstack vstack row_stack split chunk unbind narrow narrow_copy select select_scatter "
         "slice_scatter diagonal_scatter index_put index_put_ reshape flatten unflatten permute "
         "transpose swapaxes swapdims movedim moveaxis squeeze unsqueeze broadcast_to "
         "broadcast_tensors clone atleast_1d atleast_2d atleast_3d unravel_index adjoint t "
         "split_with_sizes unsafe_split unsafe_chunk unsafe_split_with_sizes view view_as "
         "reshape_as expand expand_as contiguous sum_to_size unfold scatter_ scatter_add_ "
         "scatter_reduce_ index_add_ index_copy_ index_fill_ index_reduce_ masked_scatter_ put_ "
         "t_ transpose_ squeeze_ unsqueeze_ swapaxes_ swapdims_ ravel").split()


def test_function_and_method_names():
    same(lambda T: {n: (hasattr(T, n), hasattr(T.Tensor, n)) for n in NAMES})


# ---- key types: numpy, ranges, lists read as tuples, 0-dim tensors and bools ----

KEY_TYPES = {
    "bool_tensor_0d": lambda T: _e(T, 3)[T.tensor(True)],
    "bool_tensor_0d_false": lambda T: _e(T, 3)[T.tensor(False)],
    "np_bool": lambda T: _e(T, 3)[np.True_],
    "np_int_array": lambda T: _e(T, 3)[np.array([0, 2])],
    "np_bool_array": lambda T: _e(T, 3)[np.array([True, False, True])],
    "list_of_tensors": lambda T: _e(T, 3, 3)[[T.tensor(0), T.tensor(1)]],
    "nested_list": lambda T: _e(T, 3, 3)[[[0, 1], [1, 2]]],
    "tuple_list_slice": lambda T: _e(T, 3, 3)[([0, 1], slice(None))],
    "range_key": lambda T: _e(T, 4)[range(0, 4, 2)],
    "int_tensor_0d_grad": lambda T: (_e(T, 3,grad=True)[T.tensor(1)] * 1).grad_fn.name(),
    "setitem_0d_tensor_key": lambda T: _set(_e(T, 3), T.tensor(1), 5.0),
    "getitem_0d_with_none": lambda T: _e(T)[None, None],
    "getitem_0d_bool": lambda T: _e(T)[True],
    "getitem_0d_mask": lambda T: _e(T)[T.tensor(True)],
    "setitem_0d_bool": lambda T: _set(_e(T), False, 5.0),
}


@pytest.mark.parametrize("name", KEY_TYPES)
def test_key_types(name):
    same(KEY_TYPES[name])


# ---- aliasing: which results are writeable views, which are fresh copies ----

def _write_through(op):
    """Write into ``op(x)`` (a float64 (1, 4, 2, 2) tensor x that needs no grad) and report
    what PyTorch exposes: x after the write, both versions, and whether it is a view."""
    def fn(T):
        x = _x(T, 1, 4, 2, 2)
        y = op(T, x)
        v0 = x._version
        y.add_(1)
        return y, x, x._version - v0, y._version, y._is_view()
    return fn


ALIASING = {
    "pixel_shuffle_1": lambda T, x: T.nn.functional.pixel_shuffle(x, 1),
    "pixel_unshuffle_1": lambda T, x: T.nn.functional.pixel_unshuffle(x, 1),
    "pixel_shuffle_2": lambda T, x: T.nn.functional.pixel_shuffle(x, 2),
    "expand_same": lambda T, x: x.expand(1, 4, 2, 2),
    "expand_minus_one": lambda T, x: x.expand(-1, -1, -1, -1),
    "expand_new_unit_dims": lambda T, x: x.expand(1, 1, 1, 4, 2, 2),
    "expand_as_self": lambda T, x: x.expand_as(x),
    "broadcast_to_same": lambda T, x: T.broadcast_to(x, (1, 4, 2, 2)),
    "unfold_k1": lambda T, x: T.nn.functional.unfold(x, 1),
    "unfold_k2": lambda T, x: T.nn.functional.unfold(x, 2),
    "unfold_k1_unbatched": lambda T, x: T.nn.functional.unfold(x[0], 1),
}


@pytest.mark.parametrize("name", sorted(ALIASING))
def test_aliasing_matches_pytorch(name):
    same(_write_through(ALIASING[name]))


@pytest.mark.parametrize("name", ["expand_same", "expand_minus_one", "expand_as_self",
                                  "broadcast_to_same", "expand_new_unit_dims"])
def test_write_into_same_shape_expand_of_a_leaf_view(name):
    # a leaf that is itself a view of a no-grad tensor: in-place on it, or on a view of it,
    # is PyTorch's "view of a leaf" error; on a non-leaf it is recorded through the view
    op = ALIASING[name]

    def fn(T):
        x = T.arange(16.0, dtype=T.float64).reshape(1, 4, 2, 2).requires_grad_()
        out = []
        for t in (x, op(T, x)):
            try:
                t.add_(1)
                out.append("ok")
            except RuntimeError as e:
                out.append(str(e))
        h = x * 2
        e = op(T, h)
        e.mul_(3)
        (h * h).sum().backward()
        return out, x.grad, h, e, h._version, e.grad_fn.name()
    same(fn)


EMPTY_INDEX = {
    # PyTorch skips the index checks (dtype, number of dims) when the index is empty
    "gather_float": lambda T, x: T.gather(x, 0, T.tensor([])),
    "gather_bool_2d": lambda T, x: T.gather(x, 1, T.ones(2, 0, dtype=T.bool)),
    "gather_dims_differ": lambda T, x: T.gather(x, 0, T.tensor([], dtype=T.int64)),
    "scatter_float": lambda T, x: T.scatter(x, 0, T.tensor([]), T.ones(2, 2, dtype=x.dtype)),
    "scatter_value": lambda T, x: x.scatter(1, T.tensor([]), 2.0),
    "scatter_add_float": lambda T, x: x.scatter_add(0, T.tensor([]), T.ones(1, dtype=x.dtype)),
    "scatter_reduce_mean": lambda T, x: x.scatter_reduce(0, T.tensor([]), x * 2, "mean",
                                                         include_self=False),
    "scatter_reduce_amax": lambda T, x: x.scatter_reduce(0, T.tensor([]), x * 2, "amax"),
    "take_along_dim_flat": lambda T, x: T.take_along_dim(x, T.tensor([])),
    "take_along_dim_int32": lambda T, x: T.take_along_dim(x, T.tensor([1], dtype=T.int32)),
    "take_along_dim_dim": lambda T, x: T.take_along_dim(x, T.ones(2, 0), 1),
    "gather_float_nonempty": lambda T, x: T.gather(x, 0, T.ones(1, 1)),
}


@pytest.mark.parametrize("name", list(EMPTY_INDEX))
def test_empty_index_of_any_dtype(name):
    def fn(T):
        x = _x(T, 2, 3, grad=True)
        out = EMPTY_INDEX[name](T, x)
        (out.sum() + x.sum()).backward()
        return out, x.grad
    same(fn)
