"""Shape ops and views: view/reshape/flatten/permute/transpose/expand/(un)squeeze/unfold, clone,
sum_to_size and their in-place forms.

Contract:
- A view op returns a tensor sharing memory and the version counter with its input, marked as
  an autograd view of the input's base (``Tensor._view``). PyTorch decides what is a view; so
  do we: view, reshape when no copy is needed, transpose/t/permute/T/mT, (un)squeeze, expand,
  select/slice/narrow and basic indexing (indexing.py), split/chunk/unbind outputs (join.py).
- The view machinery these ops and indexing/in-place ops build on (view steps and their
  adjoints, ``view_replay``/``view_scatter``, ``_mark_view``) lives in ``_views.py``, and
  ``supports_out`` (PyTorch's ``out=``) in ``_out.py``; this module re-exports both, the path
  the other op modules import them by.
"""

from __future__ import annotations

import numpy as np

from .._warn import warn_once
from ..autograd.grad_mode import STATE
from ..tensor import Tensor, _wrap_dim
from ._jvp import linear
from ._out import supports_out  # noqa: F401  (re-exported: the ops' modules import it from here)
from ._registry import METHODS, alias, node_class, record, recording, register, wrap
from ._views import (  # noqa: F401  (re-exported: indexing, join, strided... import them here)
    _ADJOINT,
    AsStridedBackward0,
    AsStridedScatterBackward0,
    _adj_expand,
    _adj_index,
    _adj_permute,
    _adj_reshape,
    _adj_unfold,
    _mark_view,
    _np_expand,
    _np_index,
    _np_permute,
    _np_reshape,
    _np_unfold,
    _replay_vjp,
    _scatter_vjp,
    _sum_to_array,
    _view_multi,
    _view_op,
    replay_array,
    scatter_array,
    view_replay,
    view_scatter,
)

_make = Tensor._make


# Forward-mode rules shared by several view ops (all linear: the op applied to the tangent).
_RESHAPED = linear(lambda ctx, dx: dx.reshape(ctx._meta[0][0]))
_TRANSPOSED = linear(lambda ctx, dx: dx.transpose(*ctx.args))


# ---- reshape / view ----
def _reshape_vjp(ctx, g):
    return (g.reshape(ctx.args[0]),)


ViewBackward0 = node_class("ViewBackward0", _reshape_vjp, _RESHAPED)
UnsafeViewBackward0 = node_class("UnsafeViewBackward0", _reshape_vjp, _RESHAPED)


def _infer_shape(shape, numel):
    shape = list(shape)
    infer = None
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape "
                               f"{_fmt_list(shape)}")
        else:
            known *= s
    if infer is not None:
        if known == 0:
            raise RuntimeError(
                f"cannot reshape tensor of 0 elements into shape {_fmt_list(shape)} because the "
                "unspecified dimension size -1 can be any value and is ambiguous")
        if numel % known:
            raise RuntimeError(f"shape '{_fmt_list(shape)}' is invalid for input of size {numel}")
        shape[infer] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{_fmt_list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _fmt_list(xs):
    return "[" + ", ".join(str(x) for x in xs) + "]"


def _kw(op, args, kw, name, required=True):
    """The positional sizes ``args``, or PyTorch's keyword form (``reshape(shape=...)``)."""
    for k in kw:
        if k != name:
            if not args:
                raise TypeError(f'{op}() missing 1 required positional arguments: "{name}"')
            raise TypeError(f"{op}() got an unexpected keyword argument '{k}'")
    if name in kw:
        return (kw[name],)
    if not args and required:  # NOTE: x.permute() is no permutation of a 0-d x: PyTorch's error
        raise TypeError(f'{op}() missing 1 required positional arguments: "{name}"')
    return args


def _shape_arg(shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
        if isinstance(shape, (str, dict)):
            raise TypeError("a shape is a sequence of ints")  # (_checks: PyTorch's message)
    # (__index__, not int(): a float size is PyTorch's TypeError, not truncated)
    return tuple(s.__index__() for s in shape)


def _nocopy_reshape(a, shape):
    """``a`` reshaped without copying, or None when its strides don't allow it."""
    try:
        return np.reshape(a, shape, copy=False)
    except ValueError:
        return None


def reshape(input, *shape, **kw):
    """A tensor with the same data and a new shape: a view when possible, else a copy."""
    a = input._data
    shape = _infer_shape(_shape_arg(_kw("reshape", shape, kw, "shape")), a.size)
    if shape == a.shape:
        data = a.view()
        return _view_op(ViewBackward0, input, data, (_np_reshape, (shape,)), (a.shape,))
    data = _nocopy_reshape(a, shape)
    if data is not None:
        return _view_op(ViewBackward0, input, data, (_np_reshape, (shape,)), (a.shape,))
    data = a.reshape(shape)
    if STATE.enabled and recording(input):
        return record(UnsafeViewBackward0, data, (input,), args=(a.shape,))
    return wrap(data)


def view(input, *shape, **kw):
    """A view with a new shape (or, given a dtype, reinterpreted bits); never copies."""
    from .. import dtypes as _dt

    if "dtype" in kw:
        shape = (kw.pop("dtype"),)
    shape = _kw("view", shape, kw, "size", required=False)
    if not shape:
        raise TypeError("view() received an invalid combination of arguments - got (), but "
                        "expected one of:\n * (torch.dtype dtype)\n * (tuple of ints size)\n")
    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        return wrap(input._data.view(shape[0].np))
    a = input._data
    shape = _infer_shape(_shape_arg(shape), a.size)
    data = _nocopy_reshape(a, shape)
    if data is None:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return _view_op(ViewBackward0, input, data, (_np_reshape, (shape,)), (a.shape,))


def view_as(input, other):
    """``view`` with ``other``'s shape."""
    return view(input, other._data.shape)


def reshape_as(input, other):
    """``reshape`` to ``other``'s shape."""
    return reshape(input, other._data.shape)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one."""
    shape = input._data.shape
    s = _wrap_dim(start_dim, len(shape))
    e = _wrap_dim(end_dim, len(shape))
    if not shape:
        return reshape(input, (1,))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one of them may be -1); a view."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    known = 1
    for s in sizes:
        known *= s if s != -1 else 1
    if -1 not in sizes and known != shape[d] or -1 in sizes and known and shape[d] % known:
        raise RuntimeError(f"unflatten: Provided sizes {_fmt_list(sizes)} don't multiply up to "
                           f"the size of dim {d} ({shape[d]}) in the input tensor")
    sizes = _infer_shape(sizes, shape[d])
    return view(input, shape[:d] + tuple(sizes) + shape[d + 1:])


def ravel(input):
    """The elements as a 1-D tensor (a view when possible). As PyTorch: ``contiguous()`` then
    ``view(-1)``, so the node is a ViewBackward0 even when a copy was needed."""
    return view(contiguous(input), -1)


# ---- permute / transpose ----
def _permute_vjp(ctx, g):
    return (g.permute(np.argsort(ctx.args[0]).tolist()),)


def _transpose_vjp(ctx, g):
    d0, d1 = ctx.args
    return (g.transpose(d0, d1),)


PermuteBackward0 = node_class("PermuteBackward0", _permute_vjp, linear(
    lambda ctx, dx: dx.permute(ctx.args[0])))
TransposeBackward0 = node_class("TransposeBackward0", _transpose_vjp, _TRANSPOSED)
def _t_vjp(ctx, g):
    return (g.t(),)  # (t, not transpose: a second order records TBackward0, as PyTorch)


TBackward0 = node_class("TBackward0", _t_vjp, _TRANSPOSED)


def permute(input, *dims, **kw):
    """A view with dimensions reordered."""
    dims = _shape_arg(_kw("permute", dims, kw, "dims"))
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
            f"to len(dims) = {len(dims)}")
    dims = tuple(_wrap_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    data = input._data.transpose(dims)
    return _view_op(PermuteBackward0, input, data, (_np_permute, (dims,)), (dims,))


def transpose(input, dim0, dim1):
    """A view with ``dim0`` and ``dim1`` swapped."""
    nd = input._data.ndim
    d0, d1 = _wrap_dim(dim0, nd), _wrap_dim(dim1, nd)
    if nd == 0:
        return _view_op(TransposeBackward0, input, input._data.view(), (_np_permute, ((),)),
                        (0, 0))
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    dims = tuple(dims)
    data = input._data.transpose(dims)
    return _view_op(TransposeBackward0, input, data, (_np_permute, (dims,)), (d0, d1))


swapaxes = swapdims = transpose


def t(input):
    """Transpose of a tensor with at most 2 dims."""
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    if nd < 2:
        return _view_op(TBackward0, input, input._data.view(), (_np_permute, ((0,) * nd,)),
                        (0, 0))
    return _view_op(TBackward0, input, input._data.T, (_np_permute, ((1, 0),)), (0, 1))


# PyTorch's deprecation warnings for ``x.T`` off matrices (each once per process), by 0-d-ness
T_WARNINGS = (
    "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
    "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
    "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
    "tensor.",
    "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases.")


def _T(input):
    nd = input._data.ndim
    if nd != 2:
        warn_once(T_WARNINGS[nd == 0])
    # NOTE: through the Tensor method, not the module function: the modes that swap the
    # published ops (forward AD, the profiler) reach a property only that way.
    return input.permute(tuple(range(nd - 1, -1, -1)))


def _mT(input, name="mT", hint="This function is the identity in these cases.", level=2):
    nd = input._data.ndim
    if nd == 0:
        # NOTE: PyTorch returns the 0-d tensor itself (deprecated, with a warning)
        warn_once(f"Tensor.{name} is deprecated on 0-D tensors. {hint}", level)
        return input
    if nd < 2:
        raise RuntimeError(f"tensor.{name} is only supported on matrices or batches of matrices. "
                           f"Got {nd}-D tensor.")
    return input.transpose(-2, -1)  # the method, as in _T


def _real_only(input, name):
    if input._data.dtype.kind == "c":
        raise NotImplementedError(f"ember: Tensor.{name} of a complex tensor needs conj, which "
                                  "ember does not have")


def _mH(input):
    _real_only(input, "mH")
    return _mT(input, "mH", "Consider using x.conj().", 3)


def _H(input):
    _real_only(input, "H")
    nd = input._data.ndim
    if nd not in (0, 2):
        hint = " For batches of matrices, consider using tensor.mH" if nd > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {nd}-D "
                           f"tensor.{hint}")
    return _mT(input, "H", "Consider using x.conj().", 3)


def adjoint(input):
    """The conjugate transpose of the last two dims, as a view (a transpose for real tensors)."""
    nd = input._data.ndim
    if nd < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {nd}-D tensor.")
    out = transpose(input, -2, -1)
    return out.conj() if input._data.dtype.kind == "c" else out


def movedim(input, source, destination):
    """A view with dims ``source`` moved to positions ``destination`` (the rest keep their
    order)."""
    nd = input._data.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({_fmt_list(src)} dims) "
            f"should contain the same number of dims as destination ({_fmt_list(dst)} dims)")
    src = [_wrap_dim(d, nd) for d in src]
    dst = [_wrap_dim(d, nd) for d in dst]
    if nd == 0:
        return _view_op(AliasBackward0, input, input._data.view(), (_np_reshape, ((),)))
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({_fmt_list(ds)})")
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


moveaxis = movedim


# ---- squeeze / unsqueeze ----
SqueezeBackward0 = node_class("SqueezeBackward0", _reshape_vjp, _RESHAPED)
SqueezeBackward1 = node_class("SqueezeBackward1", _reshape_vjp, _RESHAPED)
SqueezeBackward2 = node_class("SqueezeBackward2", _reshape_vjp, _RESHAPED)
UnsqueezeBackward0 = node_class("UnsqueezeBackward0", _reshape_vjp, _RESHAPED)


def squeeze(input, dim=None):
    """Remove dims of size 1 (all, or only ``dim``, an int or a tuple)."""
    shape = input._data.shape
    nd = len(shape)
    if dim is None:
        node = SqueezeBackward0
        new = tuple(s for s in shape if s != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        node = SqueezeBackward1 if isinstance(dim, int) else SqueezeBackward2
        dims = {_wrap_dim(d, nd) for d in dims}
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    data = input._data.reshape(new)
    return _view_op(node, input, data, (_np_reshape, (new,)), (shape,))


def unsqueeze(input, dim):
    """Insert a dim of size 1 at ``dim``."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape) + 1)
    new = shape[:d] + (1,) + shape[d:]
    data = input._data.reshape(new)
    return _view_op(UnsqueezeBackward0, input, data, (_np_reshape, (new,)), (shape,))


# ---- expand ----
def _expand_vjp(ctx, g):
    return (g.sum_to_size(ctx.args[0]),)


ExpandBackward0 = node_class("ExpandBackward0", _expand_vjp, linear(
    lambda ctx, dx: dx.expand(ctx._meta[0][0])))


def expand(input, *sizes, **kw):
    """A view broadcasting size-1 dims to ``sizes`` (-1 keeps a dim); no memory is copied."""
    sizes = _shape_arg(_kw("expand", sizes, kw, "size"))
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand({_legacy(input)}{{{_fmt_list(shape)}}}, size={_fmt_list(sizes)}): the "
            f"number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                    "non-existing dimension 0")
            target.append(s)
            continue
        old = shape[i - lead]
        if s == -1:
            s = old
        elif old != 1 and s != old:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({old}) at "
                f"non-singleton dimension {i}.  Target sizes: {_fmt_list(sizes)}.  Tensor "
                f"sizes: {_fmt_list(shape)}")
        target.append(s)
    target = tuple(target)
    data = _np_expand(input._data, target)
    return _view_op(ExpandBackward0, input, data, (_np_expand, (target,)), (shape,))


def expand_as(input, other):
    """``expand`` to ``other``'s shape."""
    return expand(input, other._data.shape)


def broadcast_to(input, size):
    """``expand`` to ``size`` (a view)."""
    return expand(input, size)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (those already of that shape are
    returned as they are)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = ()
    for t in tensors:
        b = t._data.shape
        n = max(len(shape), len(b))
        sa, sb = (1,) * (n - len(shape)) + shape, (1,) * (n - len(b)) + b
        for i, (x, y) in enumerate(zip(sa, sb)):
            if x != y and 1 not in (x, y):
                raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                                   f"({y}) at non-singleton dimension {i}")
        shape = tuple(y if x == 1 else x for x, y in zip(sa, sb))
    return tuple(t if t._data.shape == shape else expand(t, shape) for t in tensors)


def _legacy(t):
    from ..autograd.graph import legacy_type_name

    return legacy_type_name(t._data)


# ---- unfold (sliding windows, a view) ----
def _unfold_vjp(ctx, g):
    return (unfold_backward(g, *ctx.args),)


def _unfold_backward_vjp(ctx, g):
    in_shape, dim, size, step = ctx.args
    return (unfold(g, dim, size, step),)


UnfoldBackward0 = node_class("UnfoldBackward0", _unfold_vjp, linear(
    lambda ctx, dx: unfold(dx, *ctx.args[1:])))
UnfoldBackwardBackward0 = node_class("UnfoldBackwardBackward0", _unfold_backward_vjp, linear(
    lambda ctx, dg: unfold_backward(dg, *ctx.args)))


def unfold(input, dimension, size, step):
    """A view of all windows of ``size`` elements, ``step`` apart, along ``dimension`` (the
    windows become a new last dim)."""
    shape = input._data.shape
    d = _wrap_dim(dimension, len(shape))
    n = shape[d] if shape else 1
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    data = _np_unfold(input._data, d, size, step)
    return _view_op(UnfoldBackward0, input, data, (_np_unfold, (d, size, step)),
                    (shape, d, size, step))


def unfold_backward(g, in_shape, dim, size, step):
    """The adjoint of ``unfold``: ``g``'s windows summed back into an ``in_shape`` tensor."""
    data = _adj_unfold(g._data, in_shape, dim, size, step)
    if STATE.enabled and recording(g):
        return record(UnfoldBackwardBackward0, data, (g,), args=(in_shape, dim, size, step))
    return wrap(data)


# ---- sum_to_size (the one place broadcasting is undone) ----
def _sum_to_vjp(ctx, g):
    return (g.expand(ctx.args[0]),)


SumToSizeBackward0 = node_class("SumBackward1", _sum_to_vjp, linear(
    lambda ctx, dx: dx.sum_to_size(ctx._meta[0][0])))


def sum_to_size(input, *size):
    """Sum ``input`` down to ``size``, which it must be expandable from."""
    if not size:
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    size = _shape_arg(size)
    data = _sum_to_array(input._data, size)
    if data is input._data:
        return input
    if STATE.enabled and recording(input):
        return record(SumToSizeBackward0, data, (input,), args=(input._data.shape,))
    return wrap(data)


# ---- contiguous / clone ----
def _clone_vjp(ctx, g):
    return (g,)


CloneBackward0 = node_class("CloneBackward0", _clone_vjp, linear(lambda ctx, dx: dx))
AliasBackward0 = node_class("AliasBackward0", _clone_vjp, linear(lambda ctx, dx: dx))


def clone(input, *, memory_format=None):
    """A copy with its own memory; gradients flow through unchanged."""
    a = input._data
    order = "C" if a.ndim else "K"
    # (a device array copies itself: np.array would ask for a host conversion)
    data = np.array(a, copy=True, order=order) if isinstance(a, np.ndarray) else \
        a.copy(order=order)
    if STATE.enabled and recording(input):
        return record(CloneBackward0, data, (input,))
    return wrap(data)


def contiguous(input, memory_format=None):
    """``input`` itself when already C-contiguous, else a contiguous copy."""
    if input._data.flags.c_contiguous:
        return input
    return clone(input)


# ==== in-place view ops: t_, transpose_, squeeze_, unsqueeze_ ==============================

TBackward1 = node_class("TBackward1", _transpose_vjp, _TRANSPOSED)
TransposeBackward1 = node_class("TransposeBackward1", _transpose_vjp, _TRANSPOSED)
SqueezeBackward3 = node_class("SqueezeBackward3", _reshape_vjp, _RESHAPED)
SqueezeBackward5 = node_class("SqueezeBackward5", _reshape_vjp, _RESHAPED)
UnsqueezeBackward1 = node_class("UnsqueezeBackward1", _reshape_vjp, _RESHAPED)


def _inplace_view(self, out, node_cls):
    """Give ``self`` the shape and strides of its view ``out`` (PyTorch's in-place view ops
    change metadata only); its node is renamed to the in-place variant."""
    from .inplace import _bump, check_inplace

    check_inplace(self)
    if out._grad_fn is not None:
        # same rule and slots, PyTorch's name for the in-place op
        out._grad_fn.__class__ = node_cls
        self._grad_fn = out._grad_fn
        self._output_nr = 0
    self._data = out._data
    if self._view is not None:
        self._view = out._view
    _bump(self)
    return self


def t_(self):
    """In-place ``t``: self's shape and strides change, not its data."""
    return _inplace_view(self, t(self), TBackward1)


def transpose_(self, dim0, dim1):
    """In-place ``transpose``: self's shape and strides change, not its data."""
    return _inplace_view(self, transpose(self, dim0, dim1), TransposeBackward1)


def squeeze_(self, dim=None):
    """In-place ``squeeze``: self's shape changes, not its data."""
    from .linalg import SqueezeBackward4

    cls = SqueezeBackward3 if dim is None else (
        SqueezeBackward4 if isinstance(dim, int) else SqueezeBackward5)
    return _inplace_view(self, squeeze(self, dim), cls)


def unsqueeze_(self, dim):
    """In-place ``unsqueeze``: self's shape changes, not its data."""
    return _inplace_view(self, unsqueeze(self, dim), UnsqueezeBackward1)



# ==== registration =========================================================================

for _name in ("reshape", "flatten", "unflatten", "ravel", "permute", "transpose", "swapaxes",
              "swapdims", "t", "movedim", "moveaxis", "adjoint", "squeeze", "unsqueeze",
              "broadcast_to", "clone"):
    register(globals()[_name], _name)
# PyTorch has these as Tensor methods only
for _name in ("view", "view_as", "reshape_as", "expand", "expand_as", "contiguous", "sum_to_size"):
    register(globals()[_name], _name, function=False)
for _name in ("t_", "transpose_", "squeeze_", "unsqueeze_"):
    register(globals()[_name], _name, function=False)
register(unfold, "unfold", function=False)
register(broadcast_tensors, "broadcast_tensors", method=False)
alias("Tensor", "swapaxes_", METHODS["transpose_"])
alias("Tensor", "swapdims_", METHODS["transpose_"])
register(property(_T), "T", function=False)
register(property(_mT), "mT", function=False)
register(property(_mH), "mH", function=False)
register(property(_H), "H", function=False)
