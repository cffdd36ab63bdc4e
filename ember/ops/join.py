"""Joining and splitting: cat/concat/concatenate, stack, hstack, vstack, dstack,
column_stack, split, chunk, unbind, tensor_split, hsplit, vsplit, dsplit.

Contract: PyTorch's promotion (cat/stack promote dtypes), its shape errors, and its views:
split/chunk/unbind outputs are views of the input, recorded as one multi-output node
(SplitBackward0, UnbindBackward0), and may not be modified in place under grad mode.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import Tensor, _wrap_dim
from ._checks import _overload_error, checks_own_arguments, type_name
from ._jvp import linear, out_zeros
from ._registry import node_class, record, record_multi, recording, register, wrap
from .indexing import _slice, narrow, select
from .shape import _fmt_list, _np_index, _view_multi, supports_out

_SPLIT = linear(lambda ctx, dx: dx.split([m[0][ctx.args[0]] for m in ctx._meta], ctx.args[0]))


def _zeros_beside(tensors, shape, dtype):
    """Zeros of ``shape`` and ``dtype`` on the device of the given ``tensors`` (some None)."""
    ref = next(t for t in tensors if t is not None)._data
    xp = np if isinstance(ref, np.ndarray) else namespace(ref)
    return wrap(xp.zeros(shape, dtype=dtype))


def _cat_jvp(ctx, *tangents):
    dim, sizes = ctx.args
    out_shape, dtype = ctx._meta[0][:2]
    if all(t is None for t in tangents):
        return out_zeros(ctx)
    parts = []
    for t, n in zip(tangents, sizes):
        if n is None:  # a skipped 1-D empty input
            continue
        if t is None:
            shape = list(out_shape)
            shape[dim] = n
            t = _zeros_beside(tangents, shape, dtype)
        parts.append(t)
    return cat(parts, dim)


def _cat_vjp(ctx, g):
    dim, sizes = ctx.args
    grads = []
    start = 0
    for (fn, nr), n in zip(ctx.next_functions, sizes):
        if fn is None:
            grads.append(None)
        elif n is None:  # a skipped legacy empty (0,) input gets an empty gradient, as PyTorch
            grads.append(_empty_grad(fn._meta[nr], g))
        else:
            grads.append(narrow(g, dim, start, n))
        start += n or 0
    return tuple(grads)


def _empty_grad(meta, g):
    return _zeros_beside((g,), meta[0], meta[1])


CatBackward0 = node_class("CatBackward0", _cat_vjp, _cat_jvp)


@supports_out("cat")
def cat(tensors, dim=0, *, axis=None):
    """Join tensors along an existing dim (1-D empty tensors are skipped, as in PyTorch)."""
    if axis is not None:
        dim = axis
    if isinstance(tensors, Tensor):  # iterating it would join its rows
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type_name(t)}")
    from .. import dtypes as _dt

    parts = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or tensors
    ref = parts[0]._data
    nd = ref.ndim
    if nd == 0:
        raise RuntimeError(
            "zero-dimensional tensor (at position 0) cannot be concatenated")
    d = _wrap_dim(dim, nd)
    for i, t in enumerate(parts):
        a = t._data
        if a.ndim != nd:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {nd} and {a.ndim}")
        for j in range(nd):
            if j != d and a.shape[j] != ref.shape[j]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref.shape[j]} but got size {a.shape[j]} for tensor number {i} in the "
                    "list.")
    # the skipped legacy empty inputs still take part in type promotion, as in PyTorch
    rt = _dt.result_type(*[_dt.from_np(t._data.dtype) for t in tensors]).np
    data = np.concatenate([t._data for t in parts], axis=d, dtype=rt)
    if STATE.enabled and recording(*tensors):
        # NOTE: None marks a skipped 1-D empty input (it gets no gradient); a real empty
        # input of the right rank gets an empty gradient, as in PyTorch
        sizes = [t._data.shape[d] if t._data.ndim == nd else None for t in tensors]
        return record(CatBackward0, data, tensors, args=(d, sizes))
    return wrap(data)


concat = concatenate = cat


def _stack_jvp(ctx, *tangents):
    dim = ctx.args[0]
    out_shape, dtype = ctx._meta[0][:2]
    if all(t is None for t in tangents):
        return out_zeros(ctx)
    piece = out_shape[:dim] + out_shape[dim + 1:]
    return stack([t if t is not None else _zeros_beside(tangents, piece, dtype)
                  for t in tangents], dim)


def _stack_vjp(ctx, g):
    dim = ctx.args[0]
    return tuple(select(g, dim, i) if fn is not None else None
                 for i, (fn, _) in enumerate(ctx.next_functions))


StackBackward0 = node_class("StackBackward0", _stack_vjp, _stack_jvp)


@supports_out("stack")
def stack(tensors, dim=0):
    """Join tensors of equal shape along a new dim."""
    if isinstance(tensors, Tensor):
        raise TypeError("stack(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    from .. import dtypes as _dt

    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {_fmt_list(ref)} at entry "
                f"0 and {_fmt_list(t._data.shape)} at entry {i}")
    d = _wrap_dim(dim, len(ref) + 1)
    rt = _dt.result_type(*[_dt.from_np(t._data.dtype) for t in tensors]).np
    data = np.stack([t._data for t in tensors], axis=d, dtype=rt)
    if STATE.enabled and recording(*tensors):
        return record(StackBackward0, data, tensors, args=(d,))
    return wrap(data)


def _atleast(lift, tensors, name):
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return lift(tensors[0])
    if len(tensors) == 1:
        tensors = tensors[0]
        if not isinstance(tensors, (list, tuple)):  # (PyTorch: neither overload takes it)
            raise TypeError(_overload_error(name, ("Tensor input", "tuple of Tensors tensors"),
                                            [tensors], {}))
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type_name(t)}")
    return tuple(lift(t) for t in tensors)


# (each raises PyTorch's errors itself: the checker would read one non-sequence as a sequence)
@checks_own_arguments
def atleast_1d(*tensors):
    """The tensor(s) with at least one dim (0-d ones reshaped to [1])."""
    return _atleast(_atleast_1d, tensors, "atleast_1d")


@checks_own_arguments
def atleast_2d(*tensors):
    """The tensor(s) with at least two dims (new leading dims of size 1)."""
    return _atleast(_atleast_2d, tensors, "atleast_2d")


@checks_own_arguments
def atleast_3d(*tensors):
    """The tensor(s) with at least three dims (as NumPy's atleast_3d)."""
    return _atleast(_atleast_3d, tensors, "atleast_3d")


# NOTE: the *stack ops first lift their inputs as PyTorch's atleast_1d/2d/3d do (0-d inputs
# by reshape, 1-d/2-d by unsqueeze), so the recorded graphs read the same.
def _atleast_1d(t):
    return t.reshape(1) if t._data.ndim == 0 else t


def _atleast_2d(t):
    nd = t._data.ndim
    return t.reshape(1, 1) if nd == 0 else (t.unsqueeze(0) if nd == 1 else t)


def _atleast_3d(t):
    nd = t._data.ndim
    if nd == 0:
        return t.reshape(1, 1, 1)
    if nd == 1:
        return t.unsqueeze(0).unsqueeze(-1)
    return t.unsqueeze(-1) if nd == 2 else t


@supports_out("hstack")
def hstack(tensors):
    """Join along dim 1 (dim 0 for 1-D inputs)."""
    tensors = [_atleast_1d(t) for t in tensors]
    return cat(tensors, 0 if tensors and tensors[0]._data.ndim == 1 else 1)


@supports_out("vstack")
def vstack(tensors):
    """Join along dim 0, 0-D and 1-D inputs made rows first."""
    return cat([_atleast_2d(t) for t in tensors], 0)


row_stack = vstack


@supports_out("dstack")
def dstack(tensors):
    """Join along dim 2, inputs made at least 3-D first."""
    return cat([_atleast_3d(t) for t in tensors], 2)


@supports_out("column_stack")
def column_stack(tensors):
    """Join along dim 1, 0-D and 1-D inputs made columns first."""
    return cat([t.reshape(t._data.size, 1) if t._data.ndim <= 1 else t for t in tensors], 1)


def _materialized(ctx, grads):
    """One gradient per output of a multi-output node, zeros for outputs that got none."""
    from ._registry import meta_zeros

    if all(g is None for g in grads):
        return [meta_zeros(m) for m in ctx._meta]
    return [g if g is not None else _zeros_beside(grads, m[0], m[1])
            for g, m in zip(grads, ctx._meta)]


def _unbind_vjp(ctx, *grads):
    return (stack(_materialized(ctx, grads), ctx.args[0]),)


def _split_vjp(ctx, *grads):
    return (cat(_materialized(ctx, grads), ctx.args[0]),)


UnbindBackward0 = node_class("UnbindBackward0", _unbind_vjp, linear(
    lambda ctx, dx: dx.unbind(ctx.args[0])))
SplitBackward0 = node_class("SplitBackward0", _split_vjp, _SPLIT)
SplitWithSizesBackward0 = node_class("SplitWithSizesBackward0", _split_vjp, _SPLIT)


def unbind(input, dim=0):
    """The slices along ``dim``, as a tuple of views."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    if not shape:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    keys = [(slice(None),) * d + (i, Ellipsis) for i in range(shape[d])]
    datas = [input._data[k] for k in keys]
    steps = [(_np_index, (k,)) for k in keys]
    return tuple(_view_multi(UnbindBackward0, input, datas, steps, args=(d,)))


def _split_keys(input, split_size_or_sections, dim):
    """``(dim, keys, by_sizes)``: the slice key of each chunk along ``dim``."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, len(shape))
    n = shape[d]
    by_sizes = not isinstance(split_size_or_sections, (int, np.integer))
    if not by_sizes:
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        sizes = [min(size, n - i) for i in range(0, n, size)] if size and n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                f"size at dimension {d}), but got split_sizes={_fmt_list(sizes)}")
    keys, start = [], 0
    for s in sizes:
        keys.append((slice(None),) * d + (slice(start, start + s),))
        start += s
    return d, keys, by_sizes


def split(input, split_size_or_sections, dim=0):
    """Views of consecutive chunks along ``dim`` (of one size, or of the given sizes)."""
    d, keys, by_sizes = _split_keys(input, split_size_or_sections, dim)
    node = SplitWithSizesBackward0 if by_sizes else SplitBackward0
    datas = [input._data[k] for k in keys]
    steps = [(_np_index, (k,)) for k in keys]
    return tuple(_view_multi(node, input, datas, steps, args=(d,)))


UnsafeSplitBackward0 = node_class("UnsafeSplitBackward0", _split_vjp, _SPLIT)
UnsafeSplitWithSizesBackward0 = node_class("UnsafeSplitWithSizesBackward0", _split_vjp, _SPLIT)


def unsafe_split(input, split_size, dim=0):
    """``split`` whose outputs share memory with ``input`` but are not tracked as views (so
    they may be modified in place; PyTorch's "unsafe" variant)."""
    if not isinstance(split_size, (int, np.integer)):
        raise TypeError("unsafe_split(): argument 'split_size' (position 2) must be int, not "
                        f"{type(split_size).__name__}")
    return _unsafe(UnsafeSplitBackward0, input, split_size, dim)


def unsafe_split_with_sizes(input, split_sizes, dim=0):
    """``split_with_sizes`` whose outputs are not tracked as views."""
    return _unsafe(UnsafeSplitWithSizesBackward0, input, list(split_sizes), dim)


def unsafe_chunk(input, chunks, dim=0):
    """``chunk`` whose outputs are not tracked as views."""
    size = _chunk_size(input, chunks, dim)
    node = UnsafeSplitWithSizesBackward0 if isinstance(size, list) else UnsafeSplitBackward0
    return _unsafe(node, input, size, dim)


def _unsafe(node, input, arg, dim):
    d, keys, _ = _split_keys(input, arg, dim)
    datas = [input._data[k] for k in keys]
    if STATE.enabled and recording(input):
        return tuple(record_multi(node, datas, (input,), args=(d,)))
    return tuple(wrap(a) for a in datas)


def split_with_sizes(input, split_sizes, dim=0):
    """``split`` with a list of sizes."""
    return split(input, list(split_sizes), dim)


def _chunk_size(input, chunks, dim):
    if input._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input._data.shape[_wrap_dim(dim, input._data.ndim)]
    # NOTE: as PyTorch, an empty dim gives ``chunks`` empty pieces (split by sizes)
    return -(-n // chunks) if n else [0] * chunks


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of equal size (the last may be smaller)."""
    return split(input, _chunk_size(input, chunks, dim), dim)


# ---- tensor_split / hsplit / vsplit / dsplit ----
def tensor_split(input, indices_or_sections, dim=0):
    """Split into ``n`` nearly equal parts (the first ``size % n`` one longer), or at the given
    indices; each part is a slice view of ``input``."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = _wrap_dim(dim, len(shape))
    n = shape[d]
    arg = indices_or_sections
    if isinstance(arg, Tensor):
        if arg._data.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                f"one-dimensional tensor, but got a tensor with {arg._data.ndim} dims")
        arg = int(arg._data) if arg._data.ndim == 0 else [int(i) for i in arg._data]
    if isinstance(arg, (int, np.integer)):
        k = int(arg)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        small, extra = divmod(n, k)
        bounds = [0]
        for i in range(k):
            bounds.append(bounds[-1] + small + (1 if i < extra else 0))
    else:
        bounds = [0] + [int(i) for i in arg] + [n]
    parts = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        start = min(max(start, 0), n)
        stop = min(max(stop, start), n)
        parts.append(_slice(input, d, slice(start, stop)))
    return tuple(parts)


def _split_named(name, input, arg, dim, min_dims):
    nd = input._data.ndim
    if nd < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, "
                           f"but got a tensor with {nd} dimensions!")
    if isinstance(arg, (int, np.integer)):
        size = input._data.shape[dim]
        if arg == 0 or size % arg:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                f"dimension {size} is not divisible by the split_size {arg}!")
    return tensor_split(input, arg, dim)


def hsplit(input, indices_or_sections):
    """``tensor_split`` along dim 1 (dim 0 for 1-D); an int must divide that dim."""
    nd = input._data.ndim
    return _split_named("hsplit", input, indices_or_sections, 0 if nd == 1 else 1, 1)


def vsplit(input, indices_or_sections):
    """``tensor_split`` along dim 0 of an at least 2-D tensor."""
    return _split_named("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    """``tensor_split`` along dim 2 of an at least 3-D tensor."""
    return _split_named("dsplit", input, indices_or_sections, 2, 3)


# ==== registration =========================================================================

for _name in ("unbind", "split", "chunk", "tensor_split", "hsplit", "vsplit", "dsplit",
              "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk"):
    register(globals()[_name], _name)
for _name in ("cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
              "column_stack", "atleast_1d", "atleast_2d", "atleast_3d"):
    register(globals()[_name], _name, method=False)
