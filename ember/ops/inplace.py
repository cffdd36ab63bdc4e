"""In-place ops (``add_``, ``x[i] = v``, ...), version counters, and views modified in place.

NOTE [views and in-place]
An in-place op ``self.op_(*args)`` runs the out-of-place op, writes its result into ``self``'s
memory and bumps the version counter that ``self`` shares with its base and every other view.
When the op records a node ``N``:
- ``self`` not a view: ``self.grad_fn`` becomes ``N`` ("rebase"). If ``N`` saved ``self`` as an
  input, it gets a copy of the old value instead (PyTorch saves ``original_self`` too), and if it
  saved its output, that now means ``self`` (so later in-place changes are detected).
- ``self`` a view of ``base``: ``base.grad_fn`` becomes ``CopySlices(N)``, whose backward takes
  the base's gradient, runs ``N`` on the view's slice of it and writes the result back into that
  slice; ``self.grad_fn`` becomes a view of the new base (``AsStridedBackward0``).
Other views of the base notice the version change and regenerate their ``grad_fn`` the same
way, lazily, when next used (``current_view_grad_fn``), as PyTorch does.
PyTorch's errors are kept: in-place on a leaf that requires grad, on a view of such a leaf, on
one of several views returned together, on a view made under no_grad, on an expanded tensor.
"""

from __future__ import annotations

import weakref

import numpy as np

from .. import dtypes as _dt
from .._fma import fma32, fused
from .._meta import MetaArray
from ..autograd.grad_mode import STATE
from ..autograd.graph import AccumulateGrad, Node, _SavedOutput
from ..backend import namespace
from ..tensor import Tensor, as_array, device_of, meta_of, on_device, writeable
from ._jvp import out_zeros
from ._registry import (
    METHODS,
    alias,
    edge,
    node_class,
    record,
    recording,
    register,
    wrap,
    zeros_of,
)
from .indexing import (
    IndexPutBackward0,
    _mask_fill,
    _put,
    as_values,
    basic_index,
    index_key,
    is_full,
    parse_key,
    put_array,
    split_key,
)
from .shape import AsStridedBackward0, view_replay

LEAF_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF_MESSAGE = ("a view of a leaf Variable that requires grad is being used in an "
                        "in-place operation.")
NO_GRAD_VIEW_MESSAGE = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block (if "
    "you don't want the inplace to be tracked) or both outside (if you want the inplace to be "
    "tracked).")
NO_GRAD_VIEW_STALE_MESSAGE = (
    "A view was created in no_grad mode and its base or another view of its base has been "
    "modified inplace with grad mode enabled. Given that this use case is ambiguous and "
    "error-prone, it is forbidden. You can clarify your code by moving both the view and the "
    "inplace either both inside the no_grad block (if you don't want the inplace to be "
    "tracked) or both outside (if you want the inplace to be tracked).")
OVERLAP_MESSAGE = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation.")
INFERENCE_INPLACE_MESSAGE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details.")


def _short(name):
    import re

    return re.sub(r"Backward[0-9]*$", "", name)


MULTI_VIEW_MESSAGE = (
    "This view is the output of a function that returns multiple views. Such functions do not "
    "allow the output views to be modified inplace. You should replace the inplace operation "
    "by an out-of-place one.")


def _view_op_name(t):
    """The short name of the op that made the view ``t`` (its own, for a view of a view)."""
    return _short(type(t._grad_fn).__name__ if t._grad_fn is not None else t._view.multi)


def _restricted_view_message(t, modified):
    """PyTorch's error for writing through the view ``t`` made under no_grad or by a function
    with several outputs (``modified``: "is being", or "its base or another view of its base
    has been" when the base was written). A multi-output view made without a graph (its base
    did not require grad) has no grad_fn to name: PyTorch words it as a no_grad view."""
    if t._view.multi == "no_grad":
        return NO_GRAD_VIEW_MESSAGE if modified == "is being" else NO_GRAD_VIEW_STALE_MESSAGE
    if t._grad_fn is None:
        return (f"A view was created in no_grad mode and {modified} modified inplace with grad "
                "mode enabled. " + MULTI_VIEW_MESSAGE)
    return (f"Output {t._output_nr} of {_view_op_name(t)} is a view and {modified} modified "
            "inplace. " + MULTI_VIEW_MESSAGE)


def check_inplace(t):
    """Raise PyTorch's error when ``t`` may not be modified in place right now."""
    try:
        _check_inplace(t)
    except RuntimeError as e:
        # raised before the op read its other arguments: the checked wrapper still reports a
        # wrong-typed one first, as PyTorch's argument parser does (ops/_checks.py)
        e.before_arguments = True
        raise


def _check_inplace(t):
    if t._vc is None and not STATE.inference:
        raise RuntimeError(INFERENCE_INPLACE_MESSAGE)
    if not STATE.enabled:
        return
    if t._grad_fn is None and t._requires_grad and t._view is None:
        raise RuntimeError(LEAF_MESSAGE)
    info = t._view
    if info is not None:
        base = info.base
        # NOTE: PyTorch's test is "the view requires grad and its base is a leaf": that also
        # covers a view of a leaf that is itself a view of a no-grad tensor
        # (``arange(4.).reshape(2, 2).requires_grad_()`` and views of it).
        if base._grad_fn is None and (base._requires_grad or t._requires_grad):
            raise RuntimeError(VIEW_OF_LEAF_MESSAGE)
        if info.multi is not None and (t._requires_grad or base._requires_grad):
            raise RuntimeError(_restricted_view_message(t, "is being"))


def _write(t, data, aliases=False):
    """Copy ``data`` (the op's result) into ``t``'s memory with PyTorch's checks. With
    ``aliases`` (NOTE [writes through an expand]) ``t`` may repeat elements: each memory
    location takes the value of a position whose value changed."""
    dst = t._data
    if data.shape != dst.shape:
        # the op itself already raised if the shapes do not broadcast at all
        shape = np.broadcast_shapes(data.shape, dst.shape)
        if shape != dst.shape:
            raise RuntimeError(
                f"output with shape [{', '.join(map(str, dst.shape))}] doesn't match the "
                f"broadcast shape [{', '.join(map(str, shape))}]")
    if data.dtype != dst.dtype:
        src, to = _dt.from_np(data.dtype), _dt.from_np(dst.dtype)
        if src._category > to._category:
            raise RuntimeError(
                f"result type {src.scalar_name} can't be cast to the desired output type "
                f"{to.scalar_name}")
    if not writeable(dst):
        if internal_overlap(dst):
            if not aliases:
                raise RuntimeError(OVERLAP_MESSAGE)
            alias = writeable_alias(dst)
            try:
                with np.errstate(invalid="ignore"):
                    np.copyto(alias, data, casting="unsafe", where=data != dst)
            finally:
                if alias is dst and isinstance(dst, np.ndarray):
                    # (read-only again: the next elementwise write must refuse)
                    dst.flags.writeable = False
            return
        if not dst.size:
            return
        # An expand that repeats no element here (sliced back to one copy: x.expand(2, 1)[::2],
        # or its diagonal) is writeable in PyTorch; our expand views are read-only NumPy arrays
        # over writeable memory, which we write through a writeable alias. An array read-only
        # at its root stays read-only.
        dst = writeable_alias(dst)
    np.copyto(dst, data, casting="unsafe")


class _Interface:
    """An object exposing an array interface (what ``writeable_alias`` builds an array on)."""

    def __init__(self, interface, base):
        self.__array_interface__ = interface
        self.base = base


def root_writeable(a) -> bool:
    """Whether the memory the array ``a`` views is writeable at its root (so a read-only view
    of it, an expand's, can still take a write through ``writeable_alias``)."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return isinstance(a, np.ndarray) and a.flags.writeable


def writeable_alias(a):
    """A writeable array over the same memory as the read-only view ``a`` (an expand, a view
    of one, a diagonal of one), provided the memory it views is writeable at its root. A
    device array is itself: CuPy has no read-only arrays (``tensor.writeable``)."""
    if not isinstance(a, np.ndarray):
        return a
    try:
        a.flags.writeable = True  # (NumPy reopens a view whose base is writeable)
        return a
    except ValueError:
        pass
    if not root_writeable(a):
        raise RuntimeError("cannot write into a read-only tensor (its NumPy array is not "
                           "writeable)")
    interface = dict(a.__array_interface__)
    interface["data"] = (interface["data"][0], False)
    return np.asarray(_Interface(interface, a))


# NOTE [writes through an expand]: PyTorch's elementwise kernels (TensorIterator: add_, exp_,
# copy_, clamp_...) refuse to write a tensor whose elements repeat (OVERLAP_MESSAGE), but
# fill_/zero_ with a number, index_fill_, masked_fill_ and index_put_ do not check: they write
# every position into the shared memory (the last three warn that this is deprecated). A
# fill's positions that alias one location carry one value, so each location takes the value
# of any position the op changed (masked_fill_ widens its mask the same way, select.py);
# index_put_ writes its positions one after another into the memory itself, so repeated
# locations accumulate (or the last write wins), as PyTorch's serial CPU kernel.
EXPANDED_WRITE_MESSAGE = (
    "Use of {}_ on expanded tensors is deprecated. Please clone() the tensor before performing "
    "this operation. This also applies to advanced indexing e.g. tensor[{}] = {}")


def _warn_expanded(op, key, value):
    import warnings

    warnings.warn(EXPANDED_WRITE_MESSAGE.format(op, key, value), UserWarning, stacklevel=4)


def internal_overlap(a):
    """PyTorch's sure case of internal overlap: a dim of stride 0 that repeats an element
    (never in an empty tensor)."""
    return a.size > 1 and any(st == 0 and n > 1 for st, n in zip(a.strides, a.shape)) and \
        type(a) is not MetaArray  # (a meta array's zero strides hold no data to overlap)


PARTIAL_OVERLAP_MESSAGE = (
    "unsupported operation: some elements of the input tensor and the written-to tensor refer "
    "to a single memory location. Please clone() the tensor before performing the operation.")


def _dense(a):
    """PyTorch's "non-overlapping and dense": some order of the dims is contiguous (size-1
    dims aside). Negative strides (our flip views; PyTorch's flip copies) and zero strides
    (expanded) are not."""
    if a.flags.c_contiguous or a.flags.f_contiguous:
        return True
    step = a.itemsize
    for stride, n in sorted((s, n) for s, n in zip(a.strides, a.shape) if n != 1):
        if stride != step:
            return False
        step *= n
    return True


def _address(a):
    """The address of the first element of the array ``a`` (in its device's memory)."""
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    from ..backend import of

    return of(a).data_ptr(a)


def check_overlap(self, others, full=False):
    """PyTorch's memory-overlap check for an in-place op writing ``self`` and reading the
    tensors among ``others``: raise on a partial overlap (and, with ``full``, on any overlap,
    as PyTorch's index/scatter kernels do). As PyTorch, only dense layouts are judged: where
    either side is not dense the overlap is "too hard" to tell and is allowed."""
    a = self._data
    for o in others:
        if not isinstance(o, Tensor):
            continue
        b = o._data
        if o is self or b is a:
            if full:
                raise RuntimeError(PARTIAL_OVERLAP_MESSAGE)
            continue
        if not a.size or not b.size or (a.base is None and b.base is None) or \
                not np.may_share_memory(a, b) or not (_dense(a) and _dense(b)):
            continue  # (two arrays that own their memory never share it)
        # dense arrays span exactly their bytes: equal spans with equal strides are the same
        # elements (a full overlap), anything else that shares memory is partial
        if full or a.strides != b.strides or a.nbytes != b.nbytes or \
                _address(a) != _address(b):
            raise RuntimeError(PARTIAL_OVERLAP_MESSAGE)


# Ops whose in-place form PyTorch runs without an overlap check (matmul kernels, masked and
# index fills), and those that reject any overlap of self with their source after checking
# their arguments (index_copy rejects any overlap too, first)
_NO_OVERLAP_CHECK = frozenset(("masked_fill", "masked_scatter", "index_fill", "addmm", "addmv",
                               "baddbmm", "addbmm"))
_ANY_OVERLAP = frozenset(("scatter", "scatter_add", "scatter_reduce", "index_add", "index_reduce",
                          "put"))


# NOTE [writes through an expand]
_WRITES_THROUGH_EXPAND = frozenset(("masked_fill", "index_fill"))


def _bump(t):
    if t._vc is not None:  # inference tensors have no version counter
        t._vc[0] += 1


def apply_inplace(self, op, *args, **kwargs):
    """``self.op_(*args)``: run ``op(self, *args)`` and write the result into ``self``."""
    check_inplace(self)
    late = False
    name = op.__name__
    aliases = False
    if not writeable(self._data) and name not in _ANY_OVERLAP and \
            internal_overlap(self._data):
        if name not in _WRITES_THROUGH_EXPAND:
            raise RuntimeError(OVERLAP_MESSAGE)  # (first, as TensorIterator and index_copy_)
        if name == "index_fill":
            _warn_expanded("index_fill", "mask", "scalar")
        aliases = True
    if args or kwargs:
        # PyTorch's elementwise ops check overlap before anything else; the index/scatter
        # kernels after their argument checks (which the op makes)
        late = name in _ANY_OVERLAP
        if not late and name not in _NO_OVERLAP_CHECK:
            check_overlap(self, (*args, *kwargs.values()), name == "index_copy")
    out = op(self, *args, **kwargs)
    if late:
        check_overlap(self, (*args, *kwargs.values()), full=True)
    if not (STATE.enabled and recording(self, *args)):
        _write(self, out._data, aliases)
        _bump(self)
        return self
    return rebase(self, out, aliases)


def rebase(self, out, aliases=False):
    """Make ``self`` hold ``out``'s value and take ``out``'s place in the graph (``aliases``:
    see ``_write``)."""
    node = out._grad_fn
    if node is None or node._saved is None:
        _write(self, out._data, aliases)
        _bump(self)
        return self
    if self._view is not None and self._view.multi is not None:
        # the result requires grad through another operand (check_inplace saw self's flags)
        raise RuntimeError(_restricted_view_message(self, "is being"))
    # The node may have saved self (by reference) as its first input: give it the old value
    # instead. (Self saved again as another input, as in x.mul_(x), stays a reference and
    # fails the version check at backward, as in PyTorch.)
    saved = node._saved
    for k, s in enumerate(saved):
        if s is self:
            fn, nr = edge(self)
            snap = Tensor._make(self._data.copy(), self._requires_grad, None)
            if fn is not None and type(fn) is not AccumulateGrad:
                snap._grad_fn, snap._output_nr = fn, nr
            node._saved = saved[:k] + (snap,) + saved[k + 1:]
            node._versions = node._versions[:k] + (0,) + node._versions[k + 1:]
            break
    _write(self, out._data, aliases)
    _bump(self)
    saved = node._saved
    if any(type(s) is _SavedOutput and s.data is out._data for s in saved):
        node._saved = tuple(_SavedOutput(self._data, self._vc, s.output_nr)
                            if type(s) is _SavedOutput and s.data is out._data else s
                            for s in saved)
        node._versions = tuple(self._vc[0] if type(s) is _SavedOutput and s.data is self._data
                               else v for s, v in zip(node._saved, node._versions))
    old_fn, old_nr = self._grad_fn, self._output_nr
    if self._view is None:
        self._grad_fn = node
        self._output_nr = 0
        self._requires_grad = True
    else:
        _copy_slices(self, node)
        for s in node._saved:
            if type(s) is _SavedOutput and s.data is self._data:
                s.view = _through_view(self)
    if self._extra is not None and self._extra.retains_grad:
        from ..autograd.hooks import move_retain_grad

        move_retain_grad(self, old_fn, old_nr)
    return self


# ---- CopySlices ----
class CopySlices(Node):
    """Backward of an in-place op on a view: runs the op's node on the view's slice of the
    base's gradient and writes the result into that slice."""

    __slots__ = ()
    _display_name = "torch::autograd::CopySlices"

    def release(self):
        Node.release(self)
        self.args[2].release()

    def _jvp(self, dbase, *others):
        """The base's tangent with the view's slice replaced by the op's JVP there."""
        base_shape, steps, fn = self.args
        result = dbase.clone() if dbase is not None else out_zeros(self)
        old_view = view_replay(result, steps)
        new_view = fn._jvp(old_view.clone(), *others)
        old_view.copy_(new_view)
        return result

    def _vjp(self, g):
        base_shape, steps, fn = self.args
        result = g.clone()
        grad_slice = view_replay(result, steps)
        res = fn.apply((grad_slice.clone(),))
        grads = [None] * len(self.next_functions)
        for i, r in enumerate(res):
            if i == 0:
                if self.next_functions[0][0] is None:
                    continue
                if r is None:
                    grad_slice.zero_()
                else:
                    grad_slice.copy_(r)
                grads[0] = result
            else:
                grads[i] = r
        return tuple(grads)


def _copy_slices(view, fn):
    info = view._view
    base = info.base
    base_edge = edge(base)
    cs = CopySlices((base_edge,) + fn.next_functions[1:],
                    (meta_of(base._data),))
    cs.args = (base._data.shape, info.steps, fn)
    base._grad_fn = cs
    base._output_nr = 0
    base._requires_grad = True
    _regenerate(view)


def _through_view(view):
    """For a node's saved output that is ``view`` modified in place: give the unpacked output
    the grad_fn ``view`` has now (a view of its base's CopySlices) instead of the node itself,
    as PyTorch does. The CopySlices is held weakly (it holds the node: no cycle); once it is
    gone nothing can reach the node through the base, and the node stays the grad_fn."""
    info = view._view
    cs_ref = weakref.ref(info.base._grad_fn)
    base_shape, steps = info.base._data.shape, info.steps

    def give(t):
        cs = cs_ref()
        if cs is not None:
            node = AsStridedBackward0(((cs, 0),), (meta_of(t._data),))
            node.args = (base_shape, steps)
            t._grad_fn = node
            t._output_nr = 0
    return give


def _regenerate(view):
    """Give ``view`` a grad_fn that views its base's current grad_fn."""
    info = view._view
    base = info.base
    node = AsStridedBackward0((edge(base),), (meta_of(view._data),))
    node.args = (base._data.shape, info.steps)
    view._grad_fn = node
    view._output_nr = 0
    view._requires_grad = True
    info.version = view._vc[0]


def current_view_grad_fn(view):
    """The view's grad_fn, regenerated first if its base changed in place since it was set."""
    info = view._view
    if info.version != view._vc[0]:
        base = info.base
        if base._requires_grad:
            if info.multi is not None:
                raise RuntimeError(_restricted_view_message(
                    view, "its base or another view of its base has been"))
            _regenerate(view)
        else:
            info.version = view._vc[0]
    return view._grad_fn


# ==== in-place methods ======================================================================

_F32 = np.dtype(np.float32)


def _fast_arith(ufunc, scale):
    """The no-graph path of add_/sub_/mul_/div_: one NumPy call writing into self."""
    def fast(self, other, alpha):
        a = self._data
        dt = a.dtype
        if dt is not _F32 and dt.kind in "fVu":  # (float32 first: one identity test)
            if dt.kind == "u":
                if dt.itemsize > 1 and scale:
                    return False  # NOTE [limited unsigned types] (dtypes.py): the op raises
            elif dt.itemsize == 2 and (alpha != 1 or not scale and not (
                    isinstance(other, Tensor) and other._data.ndim)):
                return False  # NOTE [half scalars] (ops/arithmetic.py): the op rounds once
        if isinstance(other, Tensor):
            b = other._data
            if ufunc is np.subtract and (a.dtype.kind == "b" or b.dtype.kind == "b"):
                return False  # the op rejects bool subtraction
            if b.dtype != a.dtype and _dt.from_np(np.result_type(a.dtype, b.dtype)) is not \
                    _dt.from_np(a.dtype):
                return False
        elif isinstance(other, (int, float)) and not isinstance(other, bool) and \
                a.dtype.kind in "fc":
            b = other
        else:
            return False
        if isinstance(other, Tensor) and b is not a and (a.base is not None or b.base is
                                                         not None) and np.may_share_memory(a, b):
            return False  # the slow path checks the overlap (two owning arrays never share)
        if alpha != 1:
            if scale and a.dtype == np.float32 and fused():  # NOTE [fused alpha] (arithmetic.py)
                if not writeable(a) or np.broadcast_shapes(a.shape, np.shape(b)) != a.shape:
                    return False
                # (a number stays a NumPy scalar for a device array: a 0-d host array would
                # not mix with it)
                fma32(np.asarray(b, np.float32) if isinstance(a, np.ndarray) else
                      b.astype(np.float32, copy=False) if hasattr(b, "astype") else
                      np.float32(b),
                      np.float32(alpha if ufunc is np.add else -alpha), a, out=a)
                return True
            b = b * alpha if scale else b
        if not writeable(a) or (getattr(b, "shape", ()) != a.shape and
                                     np.broadcast_shapes(a.shape, np.shape(b)) != a.shape):
            return False
        ufunc(a, b, out=a, casting="unsafe")
        return True
    return fast


def _arith_inplace(op, ufunc):
    fast = _fast_arith(ufunc, True)

    def method(self, other, *, alpha=1):
        check_inplace(self)
        if not (STATE.enabled and recording(self, other)) and self._vc is not None and \
                type(alpha) is not bool and fast(self, other, alpha):
            _bump(self)
            return self
        if alpha != 1 or type(alpha) is bool:  # (the op rejects a bool alpha)
            return apply_inplace(self, op, other, alpha=alpha)
        return apply_inplace(self, op, other)
    return method


def _simple_inplace(op):
    def method(self, *args, **kwargs):
        return apply_inplace(self, op, *args, **kwargs)
    method.__name__ = op.__name__ + "_"
    method.__doc__ = f"In-place version of ``{op.__name__}``."
    method.__wrapped__ = op  # (what _checks names the arguments by in its messages)
    return method


def _mul_div_inplace(op, ufunc):
    fast = _fast_arith(ufunc, False)

    def method(self, other, **kwargs):
        check_inplace(self)
        if not kwargs and not (STATE.enabled and recording(self, other)) and \
                self._vc is not None and fast(self, other, 1):
            _bump(self)
            return self
        return apply_inplace(self, op, other, **kwargs)
    return method


# ---- copy_, fill_, zero_ ----
def _copy_vjp(ctx, g):
    zeros = zeros_of(g) if ctx.next_functions[0][0] is not None else None
    return (zeros, g if ctx.next_functions[1][0] is not None else None)


def _copy_jvp(ctx, dself, dsrc):
    from .. import dtypes as _dt

    if dsrc is None:
        return out_zeros(ctx)
    shape, dtype = ctx._meta[0][:2]
    return dsrc.expand(shape).to(_dt.from_np(dtype))


CopyBackwards = node_class("CopyBackwards", _copy_vjp, _copy_jvp,
                           display_name="torch::autograd::CopyBackwards")


def copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast, cast to self's dtype) into ``self``."""
    return _copy(self, src, True, True)


def _copy(self, src, overlap, broadcast=False):
    """``self`` written from ``src`` (``broadcast``: copy_'s shape errors, those of an in-place
    elementwise op; else a setitem's, those of expanding ``src`` to ``self``)."""
    check_inplace(self)
    if not isinstance(src, Tensor):
        if not isinstance(src, (bool, int, float, complex, np.generic)):
            # (a Tensor or a Number, as PyTorch: the checker words its TypeError)
            raise TypeError(f"copy_: {type(src).__name__}")
        src = wrap(_number_like(src, self._data))
    else:
        if type(src._data) is not type(self._data) and src.device != self.device:
            # across devices (load_state_dict into a model on CUDA): the copy is a recorded
            # move, so the gradient goes back to ``src``'s device (NOTE [devices])
            src = src.to(self.device)
        if overlap:
            check_overlap(self, (src,))
    data = src._data
    if data.shape != self._data.shape:
        try:
            data = np.broadcast_to(data, self._data.shape)
        except ValueError:
            if broadcast:
                from .pointwise import check_broadcast

                check_broadcast(self._data.shape, data.shape)
                _write(self, data)  # ("output with shape [2] doesn't match the broadcast...")
            from .shape import expand

            expand(src, self._data.shape)  # raises PyTorch's error for the shapes
            raise
    if not (STATE.enabled and recording(self, src)):
        _write(self, data.astype(self._data.dtype, copy=False))
        _bump(self)
        return self
    out = record(CopyBackwards, data.astype(self._data.dtype), (self, src))
    return rebase(self, out)


def _number_like(v, a):
    """``v`` (a number, or an array) as an array on the device of the array ``a``."""
    if type(a) is np.ndarray or not isinstance(v, (bool, int, float, complex, np.generic)):
        return as_array(v)
    return on_device(np.asarray(v), device_of(a))


def _full(a, v):
    """An array shaped like ``a`` in its dtype, filled with ``v`` (a number or a 0-d array of
    ``a``'s device), on ``a``'s device."""
    if isinstance(a, np.ndarray):
        return np.full(a.shape, v, dtype=a.dtype)
    return namespace(a).full(a.shape, v, dtype=a.dtype)


def _fill_vjp(ctx, g):
    return (zeros_of(g),) + ((g.sum(),) if len(ctx.next_functions) > 1 else ())


def _fill_jvp(ctx, dself, dvalue=None):
    return out_zeros(ctx) if dvalue is None else dvalue.expand(ctx._meta[0][0])


FillBackward2 = node_class("FillBackward2", _fill_vjp, _fill_jvp)
FillBackward3 = node_class("FillBackward3", _fill_vjp, _fill_jvp)
ZeroBackward0 = node_class("ZeroBackward0", _fill_vjp, _fill_jvp)


def fill_(self, value):
    """Fill ``self`` with one value (a number or a 0-dim tensor)."""
    check_inplace(self)
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions.")
        v = value._data
    else:
        v = value
    number = not isinstance(value, Tensor)  # (a tensor value is checked as copy_'s)
    if not (STATE.enabled and recording(self, value)):
        if writeable(self._data):
            self._data[...] = v
        else:
            _write(self, _number_like(v, self._data).astype(self._data.dtype), number)
        _bump(self)
        return self
    data = _full(self._data, v)
    if isinstance(value, Tensor):  # PyTorch's fill_.Tensor overload: FillBackward3
        out = record(FillBackward3, data, (self, value))
    else:
        out = record(FillBackward2, data, (self,))
    return rebase(self, out, number)


def zero_(self):
    """Fill ``self`` with zeros."""
    check_inplace(self)
    if not (STATE.enabled and recording(self)):
        if writeable(self._data):
            self._data[...] = 0
        else:
            a = self._data
            xp = np if isinstance(a, np.ndarray) else namespace(a)
            _write(self, xp.zeros((), a.dtype), True)
        _bump(self)
        return self
    out = record(ZeroBackward0, np.zeros_like(self._data), (self,))
    return rebase(self, out, True)


# ---- setitem ----
def index_put_(self, indices, values, accumulate=False):
    """``self[indices] = values`` (or ``+=`` with ``accumulate``) for advanced indices."""
    return _index_put(self, indices, values, accumulate, True)


def _index_put(self, indices, values, accumulate, overlap):
    check_inplace(self)
    if overlap:
        check_overlap(self, (values,), full=True)
    key = index_key(self, indices)
    values = as_values(values, self, key, accumulate)
    if not writeable(self._data) and internal_overlap(self._data):
        _warn_expanded("index_put", "indices", "tensor")
        if _mask_fill(key, values, accumulate):  # (PyTorch's index_put_ calls masked_fill_)
            _warn_expanded("masked_fill", "mask", "scalar")
        return _index_put_aliased(self, key, values, accumulate)
    if not (STATE.enabled and recording(self, values)):
        # NOTE: writes straight into self's memory (no copy of self): setitem's hot path.
        put_array(self._data, key, values._data.astype(self._data.dtype, copy=False),
                  accumulate)
        _bump(self)
        return self
    return rebase(self, _put(self, key, values, accumulate))


def _index_put_aliased(self, key, values, accumulate):
    """index_put_ into a tensor whose elements repeat (NOTE [writes through an expand]): the
    positions are written one after another into the shared memory itself."""
    dst = writeable_alias(self._data)
    try:
        put_array(dst, key, values._data.astype(dst.dtype, copy=False), accumulate)
    finally:
        if isinstance(dst, np.ndarray):
            dst.flags.writeable = False
    if not (STATE.enabled and recording(self, values)):
        _bump(self)
        return self
    out = record(IndexPutBackward0, dst.copy(), (self, values), args=(key, accumulate))
    return rebase(self, out, True)


def _fill_all(self, value):
    check_inplace(self)
    v = value._data if isinstance(value, Tensor) else value
    if not (STATE.enabled and recording(self, value)):
        fill_(self, value)
        return
    data = _full(self._data, v)
    if isinstance(value, Tensor) and recording(value):
        out = record(FillBackward3, data, (self, value))
    else:
        out = record(FillBackward3, data, (self,))
    rebase(self, out)


def setitem(self, key, value):
    """``self[key] = value``: basic keys copy into a view, advanced keys use index_put_."""
    if not isinstance(value, (Tensor, bool, int, float, complex, np.generic)):
        from ..autograd.graph import legacy_type_name

        kind = type(value)
        name = kind.__name__ if kind.__module__ == "builtins" else \
            f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(f"can't assign a {name} to a {legacy_type_name(self._data)}")
    if isinstance(value, Tensor) and value._data.ndim and value._data.shape[0] == 1:
        # PyTorch drops the value's leading 1s first: x[t0] = tensor([v]) writes one element
        shape = value._data.shape
        k = next((i for i, n in enumerate(shape) if n != 1), len(shape))
        value = value.reshape(shape[k:])
    items, advanced = parse_key(self, key)
    if advanced and len(items) == 1 and type(items[0]) is np.ndarray and \
            items[0].ndim == 0 and items[0].dtype == np.bool_:
        # NOTE: PyTorch writes through a lone bool into a view of self with a new leading dim
        # (a graph records CopySlices): Python's True copies into it, as ``x[None] = v``, and
        # False writes nothing; a 0-d bool tensor puts at index [0] of it (or none: False)
        if key is False:
            return
        if key is not True:
            view = basic_index(self, [None])
            _index_put(view, (np.zeros(int(items[0]), np.int64),), value, False, True)
            return
        key, items, advanced = (None,), [None], False
    if advanced:
        # ints, slices and None select a view first, as in PyTorch (see split_key)
        basic, adv = split_key(items, self._data.shape)
        # NOTE: PyTorch fills through a lone bool mask with a 0-d value (masked_fill_), which
        # does not check the value's memory against self
        fill = isinstance(value, Tensor) and value._data.ndim == 0 and len(adv) == 1 and \
            getattr(adv[0], "dtype", None) == np.bool_
        _index_put(self if basic is None else basic_index(self, basic), adv, value, False,
                   not fill)
        return
    if all(is_full(k, n) for k, n in zip(items, self._data.shape)) and \
            len(items) <= self._data.ndim and (not isinstance(value, Tensor) or
                                               value._data.ndim == 0):
        # NOTE: a key that selects everything (x[:] = v, x[...] = v) fills self itself, as
        # PyTorch does (FillBackward3), rather than a view of it.
        _fill_all(self, value)
        return
    target = self.__getitem__(key)
    if isinstance(value, Tensor):
        # PyTorch fills with a 0-d value, and copies from the value expanded to the target's
        # shape otherwise: a repeating (expanded) source is not checked against self's memory
        _copy(target, value, value._data.ndim != 0 and value._data.size == target._data.size)
    else:
        fill_(target, value) if not (STATE.enabled and recording(target)) else \
            copy_(target, wrap(_number_like(value, self._data).astype(self._data.dtype)))


# ==== registration =========================================================================

def register_inplace(*ops, aliases=()):
    """Publish ``Tensor.<op>_`` for each op: the generic in-place path (NOTE [views and
    in-place]). ``aliases`` are extra ``(name, op)`` pairs (``clip_`` for clamp...)."""
    for op in ops:
        register(_simple_inplace(op), op.__name__ + "_", function=False)
    for name, op in aliases:
        register(_simple_inplace(op), name, function=False)


def register_arithmetic_inplace(add, sub, mul, div):
    """``add_``/``sub_``/``mul_``/``div_`` with their one-NumPy-call fast path (optimizers)."""
    for name, op, ufunc, factory in (("add_", add, np.add, _arith_inplace),
                                     ("sub_", sub, np.subtract, _arith_inplace),
                                     ("mul_", mul, np.multiply, _mul_div_inplace),
                                     ("div_", div, np.true_divide, _mul_div_inplace)):
        m = factory(op, ufunc)
        m.__name__ = name
        register(m, name, function=False)
    for name, target in (("subtract_", "sub_"), ("multiply_", "mul_"), ("divide_", "div_"),
                         ("true_divide_", "div_")):
        alias("Tensor", name, METHODS[target])


register(copy_, "copy_", function=False)
register(fill_, "fill_", function=False)
register(zero_, "zero_", function=False)
register(index_put_, "index_put_")
register(setitem, "__setitem__", function=False)
