"""Forward-mode AD with dual tensors (PyTorch's ``torch.autograd.forward_ad``):
``dual_level``, ``make_dual``, ``unpack_dual``, ``enter_dual_level``, ``exit_dual_level``.

Contract: inside ``dual_level()``, ``make_dual(x, t)`` gives a tensor that carries the tangent
``t``; every op applied to dual tensors returns a result carrying its tangent (``J t``), read
with ``unpack_dual(y).tangent``; tangents are cleared when the level exits. Works under
``no_grad``, with in-place ops and indexed assignment, and through a backward pass
(forward-over-reverse: ``autograd.grad`` of a function of a dual tensor returns gradients whose
tangents are Hessian-vector products). One user level at a time, as in PyTorch; the
``ember.func`` forward transforms nest levels (``_enter_nested``, NOTE [nested levels]).

NOTE [forward AD by the recorded graph]: no op has forward-mode code of its own here. While a
level is active, the public ops (``ember.<op>``, Tensor methods and operators,
``nn.functional``, ``linalg``, ``special``) are swapped for wrappers; a call that sees a dual
argument runs the op with grad recording on — dual arguments that don't require grad are
replaced by fresh leaves sharing their memory — and pushes the tangents through the nodes that
call recorded, with each node's JVP rule (``graph_jvp``, limited to nodes newer than the call).
So forward mode is exactly as complete as the JVP rules, which every op has and the op tests
check against finite differences. Outside a level the wrappers are gone: zero cost.

NOTE [nested levels]: ``func.jvp`` inside ``func.jvp`` (``jacfwd(jacfwd(f))``) opens a level
per transform, innermost last. A tensor keeps one tangent per level, and a tangent may carry
tangents of the outer levels itself. A wrapper handles the innermost level its arguments are
dual at, and runs the op, the JVP rules and the in-place bookkeeping with only the outer levels
visible (``_VISIBLE``): those calls reach the wrappers again and so get their outer tangents,
which is how a tangent gets its own derivative. Saved outputs read by the JVP rules are given
their outer tangents (``_saved_with_outer``); saved inputs are the tensors themselves.
"""

from __future__ import annotations

import functools
import sys
import weakref
from collections import namedtuple

import numpy as np

from .. import _modes
from .grad_mode import STATE

__all__ = ["dual_level", "make_dual", "unpack_dual", "enter_dual_level", "exit_dual_level",
           "UnpackedDualTensor"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])

_LEVELS: list = []  # active levels (at most one, as in PyTorch)
# level -> {id: weakref} of tensors holding a tangent at that level (not a WeakSet: that compares
# tensors with ==, which is elementwise)
_DUALS: dict = {}


# ---- levels --------------------------------------------------------------------------------

def enter_dual_level() -> int:
    """Open a new forward-AD level and return its number."""
    if _LEVELS:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    return _enter_nested()


def _enter_nested() -> int:
    """Open a level inside the open ones (the ``ember.func`` transforms: NOTE [nested
    levels])."""
    level = _LEVELS[-1] + 1 if _LEVELS else 0
    _LEVELS.append(level)
    _DUALS[level] = {}
    if len(_LEVELS) == 1:
        _install()
    return level


def exit_dual_level(*, level=None):
    """Close ``level`` (the innermost by default): every tangent at it is cleared."""
    if level is None:
        level = _LEVELS[-1] if _LEVELS else None
    if level is None or level not in _LEVELS:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    for ref in list(_DUALS.pop(level, {}).values()):
        t = ref()
        if t is not None and t._extra is not None and t._extra.tangents:
            t._extra.tangents.pop(level, None)
    _LEVELS.remove(level)
    for key in [k for k in _ARRAY_TANGENTS if k[1] == level]:
        del _ARRAY_TANGENTS[key]
    if not _LEVELS:
        _uninstall()


class dual_level:  # noqa: N801 - PyTorch's name
    """Context manager for one forward-AD level.

    >>> import ember.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     x = fwAD.make_dual(ember.tensor([1., 2.]), ember.tensor([1., 0.]))
    ...     fwAD.unpack_dual((x ** 2).sum()).tangent
    tensor(2.)
    """

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()


def _level(level):
    if level is None:
        if not _LEVELS:
            return None
        return _LEVELS[-1]
    return level


def _tangent(t, level):
    extra = t._extra
    if extra is None or not extra.tangents:
        return None if t._view is None else _view_tangent(t, level)
    return extra.tangents.get(level)


def _view_tangent(t, level):
    """The tangent of a view ``t`` taken before its base got one (an in-place op with a dual
    operand: ``v = x.view(-1); x.mul_(dual)``): that view of the base's tangent, as PyTorch
    derives a view's tangent from its base's; kept on ``t`` from then on."""
    info = t._view
    base = info.base
    bextra = base._extra
    if bextra is None or not bextra.tangents or level not in bextra.tangents:
        return None
    bt = bextra.tangents[level]
    if bt._data.strides != base._data.strides:  # (the steps index the base's layout)
        return None
    from ..ops._registry import wrap

    tangent = wrap(info.replay(bt._data))
    _set_tangent(t, tangent, level)
    return tangent


def _set_tangent(t, tangent, level):
    extra = t._get_extra()
    # a new dict (not an update): another tensor may share this one's dict (_copy_tangents)
    extra.tangents = {**extra.tangents, level: tangent} if extra.tangents else {level: tangent}
    _DUALS[level][id(t)] = weakref.ref(t)
    # a node that saved this tensor as its own output keeps only its array (graph.py): let the
    # backward find the tangent by that array (run_rule)
    _ARRAY_TANGENTS[(id(t._data), level)] = (weakref.ref(t._data), tangent)


# (id(array), level) -> (weakref to the array, tangent), for saved outputs
_ARRAY_TANGENTS: dict = {}


def _tangent_of_saved_output(t, level):
    got = _ARRAY_TANGENTS.get((id(t._data), level))
    if got is None or got[0]() is not t._data:
        return None
    return got[1]


def _outer_tangents(t, index):
    """``t``'s tangents at the levels outside ``_LEVELS[index]`` (those it is dual at)."""
    extra = t._extra
    if extra is None or not extra.tangents or not index:
        return None
    outer = {lv: tg for lv, tg in extra.tangents.items() if lv in _LEVELS[:index]}
    return outer or None


def _give_tangents(t, tangents, detach=False):
    """Give ``t`` the tangents of ``{level: tangent}`` (detached, with theirs, if asked)."""
    for lv, tg in tangents.items():
        _set_tangent(t, _detached(tg) if detach else tg, lv)


def _detached(t):
    """``t.detach()`` keeping its tangents (detached too): a tangent's own tangents are the
    outer levels' derivatives of it."""
    d = t.detach()
    if t._extra is not None and t._extra.tangents:
        _give_tangents(d, {lv: tg for lv, tg in t._extra.tangents.items() if lv in _DUALS},
                       detach=True)
    return d


def _saved_with_outer(index):
    """``graph.SAVED_SUBST`` for the JVP rules of level ``_LEVELS[index]``: a saved output
    gets the outer tangents its tensor had."""
    outer = _LEVELS[:index]

    def subst(t, is_output):
        if is_output:
            for lv in outer:
                tg = _tangent_of_saved_output(t, lv)
                if tg is not None:
                    _set_tangent(t, tg, lv)
        return t
    return subst


class _visible:
    """Let wrappers handle only the levels outside ``_LEVELS[index]`` (NOTE [nested
    levels])."""

    def __init__(self, index):
        self.index = index

    def __enter__(self):
        self.prev = _VISIBLE[0]
        _VISIBLE[0] = self.index

    def __exit__(self, *exc):
        _VISIBLE[0] = self.prev


def is_active() -> bool:
    """Whether a forward-AD level is open."""
    return bool(_LEVELS)


# ---- making and reading dual tensors ------------------------------------------------------

def make_dual(tensor, tangent, *, level=None):
    """A view of ``tensor`` carrying ``tangent`` at ``level`` (the current one by default)."""
    level = _level(level)
    if level is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    if tensor._data.dtype.kind not in "fcV":
        raise ValueError("Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if tangent._data.dtype.kind not in "fcV":
        raise ValueError("Expected tangent to be floating point or complex, but got: "
                         f"{tangent.dtype}")
    if tangent.shape != tensor.shape:
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size "
            f"[{', '.join(map(str, tensor.shape))}] while the given forward gradient is of "
            f"size [{', '.join(map(str, tangent.shape))}].")
    with _visible(_LEVELS.index(level)):  # the view keeps the outer levels' tangents
        dual = tensor.view_as(tensor)
    _set_tangent(dual, tangent, level)
    return dual


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)``: a view of ``tensor`` without tangent, and its tangent (None if
    it has none at ``level``)."""
    level = _level(level)
    tangent = _tangent(tensor, level) if level is not None else None
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    with _visible(_LEVELS.index(level)):
        primal = tensor.view_as(tensor)
    return UnpackedDualTensor(primal, tangent)


# ---- the wrappers --------------------------------------------------------------------------

_PASS_THROUGH = {"detach", "detach_", "requires_grad_", "retain_grad", "register_hook",
                 "backward", "numpy", "tolist", "item", "size", "dim", "numel", "data_ptr",
                 "register_post_accumulate_grad_hook", "is_floating_point", "type"}
_WRAPPERS: dict = {}  # (attr, implementation) -> its dual-aware wrapper (_ForwardMode)
_BYPASS = [0]  # > 0 while ember itself calls wrapped ops that must not see tangents
_VISIBLE = [None]  # how many (outer) levels a wrapper may handle now; None: all of them


class _unwrapped:
    def __enter__(self):
        _BYPASS[0] += 1

    def __exit__(self, *exc):
        _BYPASS[0] -= 1


def _duals_in(args, kwargs, level):
    from ..tensor import Tensor

    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            if a._extra is not None and a._extra.tangents and level in a._extra.tangents:
                return True
            if a._view is not None and (a._extra is None or not a._extra.tangents) \
                    and _view_tangent(a, level) is not None:
                return True
        elif isinstance(a, (list, tuple)):
            for b in a:
                if (isinstance(b, Tensor) and b._extra is not None and b._extra.tangents
                        and level in b._extra.tangents):
                    return True
    return False


def _wrap(fn, name):
    inplace = (name.endswith("_") and not name.endswith("__")) or name.startswith("__i")
    flag = _inplace_position(fn)

    @functools.wraps(fn)
    def dual_aware(*args, **kwargs):
        if not _LEVELS or _BYPASS[0]:
            return fn(*args, **kwargs)
        index = len(_LEVELS) if _VISIBLE[0] is None else _VISIBLE[0]
        while index:  # the innermost visible level the arguments are dual at
            index -= 1
            if _duals_in(args, kwargs, _LEVELS[index]):
                break
        else:
            return fn(*args, **kwargs)
        # the op itself runs through this wrapper again, for the outer levels (NOTE [nested
        # levels]); with one level that is the plain op
        if name == "__setitem__":
            return _setitem(dual_aware, args, index)
        if inplace:
            return _inplace(dual_aware, name, args, kwargs, index)
        if flag is not None and (kwargs.get("inplace") is True or
                                 (len(args) > flag and args[flag] is True)):
            # F.relu(x, inplace=True)...: in place, with the tangent of the inplace=False call
            out_args = tuple(False if k == flag else a for k, a in enumerate(args))
            out_kwargs = dict(kwargs, inplace=False) if "inplace" in kwargs else kwargs
            return _inplace(dual_aware, name, args, kwargs, index,
                            (dual_aware, out_args, out_kwargs))
        return _forward(dual_aware, args, kwargs, index)

    return dual_aware


def _forward(fn, args, kwargs, index):
    """Run ``fn`` recording its graph and give its outputs their tangents at level
    ``_LEVELS[index]`` (NOTE [forward AD by the recorded graph])."""
    from ..tensor import Tensor
    from . import graph
    from .graph_jvp import graph_jvp

    level = _LEVELS[index]
    grad_on = STATE.enabled
    keep_graph = False  # whether the user's own call records a graph
    inputs, tangents = [], []

    def substitute(a):
        nonlocal keep_graph
        if not isinstance(a, Tensor):
            return a
        if grad_on and a.requires_grad:
            keep_graph = True
        t = _tangent(a, level)
        if t is None:
            return a
        if not (grad_on and a.requires_grad):
            outer = _outer_tangents(a, index)
            fresh = Tensor._make(a._data, True, None, a._vc)  # a fresh leaf sharing a's memory
            if outer:
                fresh._get_extra().tangents = outer
            # batched inside a vmap: the leaf is too (ember/_vmap). vmap loads on first use, so
            # while it is not loaded no vmap can be running (and this does not load it).
            vmap = sys.modules.get("ember._vmap")
            if vmap is not None and vmap._L.table:
                vmap._mark(fresh, vmap._levels(a))
            a = fresh
        inputs.append(a)
        tangents.append(t)
        return a

    new_args = [type(a)(substitute(b) for b in a) if isinstance(a, (list, tuple))
                else substitute(a) for a in args]
    new_kwargs = {k: substitute(v) for k, v in kwargs.items()}
    since = next(graph._seq)
    prev = STATE.enabled
    prev_subst = graph.SAVED_SUBST
    STATE.enabled = True
    prev_visible = _VISIBLE[0]
    _VISIBLE[0] = index
    try:
        out = fn(*new_args, **new_kwargs)
        outs = _flat(out)
        diff = [o for o in outs if o._requires_grad]
        if index:
            graph.SAVED_SUBST = _saved_with_outer(index)
        got = graph_jvp(tuple(diff), inputs, tangents, since=since) if diff else ()
    finally:
        _VISIBLE[0] = prev_visible
        STATE.enabled = prev
        graph.SAVED_SUBST = prev_subst
    tangent_of = {id(o): t for o, t in zip(diff, got)}
    if tangents:
        _unalias(tangent_of, diff, inputs, tangents, index)
    _match_layout(tangent_of, diff, tangents, index)
    if keep_graph:
        result = out
    else:
        result = _map_out(out, _detached if index else (lambda o: o.detach()))
    for shown, o in zip(_flat(result), outs):
        t = tangent_of.get(id(o))
        if t is not None:
            _set_tangent(shown, t if keep_graph else _detached(t) if index else t.detach(),
                         level)
    return result


_ALIASED_TANGENT = frozenset({"FracBackward0", "FmodBackward0", "RemainderBackward0"})


def _unalias(tangent_of, outs, inputs, tangents, index):
    """An output's tangent may share memory with an input's tangent only where the output
    shares memory with that input (a view: in-place ops write into tangents, ``_inplace``);
    otherwise it becomes a copy (a rule may pass a tangent through, as ``x + c`` does).

    NOTE [aliased tangents]: except where PyTorch's own formula is ``self_t`` and it keeps the
    alias (frac, and fmod/remainder by a number) where the tangent has the output's layout
    (``_same_layout``): there an in-place op on the output changes the input's tangent too, as
    in PyTorch."""
    for o in outs:
        t = tangent_of.get(id(o))
        if t is None or (type(o._grad_fn).__name__ in _ALIASED_TANGENT
                         and _same_layout(t._data, o._data)):
            continue
        data = t._data
        if any(np.may_share_memory(data, ti._data) for ti in tangents) and not any(
                np.may_share_memory(o._data, x._data) for x in inputs):
            with _visible(index):
                tangent_of[id(o)] = t.clone()


def _same_layout(t, o):
    """Whether PyTorch would keep ``t`` as the tangent of ``o`` as it is (its
    ``has_same_meta``): same shape and strides, and ``t`` is the whole of its memory from its
    start, as the output (fresh) is; otherwise it takes a copy (NOTE [aliased tangents]: a
    frac of a diagonal view gets a copy, of a whole tensor the alias)."""
    if t.shape != o.shape or t.strides != o.strides:
        return False
    root = t
    if type(t) is not np.ndarray:  # a device array (NOTE [devices] in tensor.py)
        from .. import backend

        while root.base is not None:
            root = root.base
        ptr = backend.of(t).data_ptr
        return root.nbytes == t.nbytes and ptr(root) == ptr(t)
    while isinstance(root.base, np.ndarray):
        root = root.base
    return (root.nbytes == t.nbytes
            and root.__array_interface__["data"][0] == t.__array_interface__["data"][0])


def _match_layout(tangent_of, outs, tangents, index):
    """A new tangent of a contiguous output is made contiguous too (a rule may return a slice
    of a bigger array, as matrix_exp's block matrix): views of the output (``flatten``) must
    be views of its tangent, so that an in-place op through them changes both."""
    for o in outs:
        t = tangent_of.get(id(o))
        if t is None or t._data.flags.c_contiguous or not o._data.flags.c_contiguous:
            continue
        if not any(np.may_share_memory(t._data, ti._data) for ti in tangents):
            with _visible(index):
                tangent_of[id(o)] = t.contiguous()


def _flat(x):
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _flat(v)]
    return []


def _map_out(x, fn):
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        return fn(x)
    if isinstance(x, tuple):
        vals = [_map_out(v, fn) for v in x]
        return type(x)(*vals) if hasattr(x, "_fields") else tuple(vals)
    if isinstance(x, list):
        return [_map_out(v, fn) for v in x]
    return x


def _outplace_name(name):
    if name.startswith("__i"):
        return "__" + name[3:]
    return name[:-1]


def _inplace_position(fn):
    """The position of ``fn``'s ``inplace`` parameter (nn.functional's activations), or None."""
    import inspect

    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    return names.index("inplace") if "inplace" in names else None


def _inplace(fn, name, args, kwargs, index, outplace_call=None):
    """An in-place op on or with dual tensors: the tangent of the out-of-place op becomes the
    tangent of the modified tensor; the op itself runs as usual (for the outer levels).
    ``outplace_call``: ``(fn, args, kwargs)`` of the out-of-place call, where it is not the
    method without the trailing underscore."""
    from ..creation import zeros_like
    from ..tensor import Tensor

    level = _LEVELS[index]
    self = args[0]
    result = _NOT_RUN
    if name in ("copy_", "fill_", "zero_"):
        src = args[1] if len(args) > 1 else None
        st = _tangent(src, level) if isinstance(src, Tensor) else None
        with _visible(index):
            new_t = zeros_like(self) if st is None else zeros_like(self) + st
    elif outplace_call is not None:
        new_t = _tangent(_forward(*outplace_call, index), level)
    else:
        outplace = getattr(Tensor, _outplace_name(name), None)
        if outplace is None:
            raise NotImplementedError(f"forward AD: the in-place op {name} has no out-of-place "
                                      "form to take its tangent from")
        if _aliased_operand(args, kwargs):
            # NOTE [aliased in-place operands]: PyTorch's formula for an in-place op reads
            # self's original value but the other operands' values *after* the op: an operand
            # that shares memory with self (z.addcmul_(z, z)) enters with self's new value
            # (and its tangent from before). So: the op first, then the out-of-place rule with
            # a copy of self's old value (and its tangents) as self.
            orig = Tensor._make(self._data.copy())
            if self._extra is not None and self._extra.tangents:
                _give_tangents(orig, {lv: tg for lv, tg in self._extra.tangents.items()
                                      if lv in _DUALS})
            with _visible(index):
                result = fn(*args, **kwargs)
            args = (orig, *args[1:])
        new_t = _tangent(_forward(outplace, args, kwargs, index), level)
    with _visible(index):
        if result is _NOT_RUN:
            result = fn(*args, **kwargs)
        if new_t is None:
            new_t = zeros_like(self)
        elif new_t.dtype != self.dtype:
            # NOTE: a 0-d float32 ``self`` times a 0-d float64 dual: the out-of-place formula
            # promotes. PyTorch keeps that float64 tangent (its tangent dtypes are loose: they
            # differ between func.jvp and forward_ad too); ember's rules expect a tangent in
            # the primal's dtype (masked_scatter, where, cat refuse a mix), so it is cast.
            new_t = new_t.to(self.dtype)
    _write_tangent(self, new_t if self.requires_grad and STATE.enabled else _detached(new_t),
                   index)
    return result


_NOT_RUN = object()


def _aliased_operand(args, kwargs):
    """Whether an operand after ``self`` (``args[0]``) shares memory with it (NOTE [aliased
    in-place operands])."""
    from ..tensor import Tensor

    data = args[0]._data
    return any(isinstance(a, Tensor) and np.may_share_memory(a._data, data)
               for a in (*args[1:], *kwargs.values()))


def _write_tangent(t, new_t, index):
    """Give ``t`` the tangent ``new_t`` after an in-place op on ``t``: written into the tangent
    ``t`` has, so that the tangents of its base and of its other views, which share that memory
    (``_forward``), change with it as the values do; set anew where that tangent can't be
    written (a broadcast, another dtype, a leaf that requires grad)."""
    level = _LEVELS[index]
    old = _tangent(t, level)
    if old is None and t._view is not None:
        old = _base_zero_tangent(t, level)
    if old is not None and old is not new_t and _writable(old, new_t, t._data):
        if 0 not in old._data.strides:
            with _visible(index):
                old.copy_(new_t)
            return
        alias = _broadcast_alias(old, t)  # (broadcast like the primal: copy_ refuses overlap)
        if alias is not None:
            np.copyto(alias._data, new_t._data)
            return
    _set_tangent(t, new_t, level)


def _base_zero_tangent(t, level):
    """A view ``t`` about to get a tangent in place while its base has none (``x.view(-1)
    .mul_(dual)``): the base gets a zero tangent (in its own layout) and ``t`` that view of it,
    so that the write reaches the base as in PyTorch. None where the view can't be replayed."""
    from ..ops._registry import wrap

    base = t._view.base
    if _tangent(base, level) is not None or base._data.dtype != t._data.dtype:
        return None
    _set_tangent(base, wrap(np.zeros_like(base._data)), level)
    return _view_tangent(t, level)


def _writable(old, new, primal):
    # a broadcast tangent (stride 0) takes the write only where the primal is broadcast the
    # same way (an in-place op on an ``expand`` view): then the tangent's aliasing mirrors the
    # values' and the write reaches the base's tangent as the values reach the base
    from ..ops.inplace import root_writeable
    from ..tensor import writeable

    a = old._data
    return (a.dtype == new._data.dtype and a.shape == new._data.shape
            and (writeable(a) or 0 in a.strides or root_writeable(a))
            and all(s or n == 1 or not p
                    for s, n, p in zip(a.strides, a.shape, primal.strides))
            and not (old._grad_fn is None and old._requires_grad and STATE.enabled))


def _setitem(fn, args, index):
    """``x[idx] = v`` with dual tensors: the same assignment on the tangents."""
    from ..creation import zeros_like
    from ..tensor import Tensor

    level = _LEVELS[index]
    x, idx, v = args
    with _visible(index):
        xt = _tangent(x, level)
        alias = _broadcast_alias(xt, x) if xt is not None else None
        if alias is not None:
            # a write through an ``expand`` view: the same write on the tangent's memory, which
            # is shared as the values' is (a copy written back would let its last row win)
            vt = _tangent(v, level) if isinstance(v, Tensor) else None
            alias[idx] = 0 if vt is None else vt
            return fn(x, idx, v)
        new_t = zeros_like(x) if xt is None else xt.clone()
        vt = _tangent(v, level) if isinstance(v, Tensor) else None
        new_t[idx] = 0 if vt is None else vt
        result = fn(x, idx, v)
    _write_tangent(x, new_t, index)
    return result


def _broadcast_alias(xt, x):
    """A writable tensor over ``xt``'s memory when ``xt`` is broadcast exactly where the primal
    ``x`` is (stride 0 in the same dims), else None."""
    from ..ops._registry import wrap

    a, p = xt._data, x._data
    if a.shape != p.shape or a.dtype != p.dtype or 0 not in a.strides or any(
            (s == 0) != (q == 0) for s, q, n in zip(a.strides, p.strides, a.shape) if n > 1):
        return None
    a = a.view()
    if isinstance(a, np.ndarray):  # (a device array has no flag: it is writeable)
        try:
            a.flags.writeable = True
        except ValueError:  # read-only at its root
            return None
    return wrap(a)


# ---- through a backward pass (forward-over-reverse) -------------------------------------------

def run_rule(node, grads):
    """Run ``node``'s rule for the engine so that its results carry tangents: the gradients and
    saved tensors that carry tangents enter as fresh leaves (or as themselves when the backward
    records its own graph), the rule runs recording, and the tangents are pushed through the
    nodes it recorded."""
    from ..tensor import Tensor
    from . import anomaly_mode, graph
    from .graph_jvp import graph_jvp

    level = _LEVELS[-1]
    grad_on = STATE.enabled  # the engine's create_graph
    inputs, tangents = [], []
    shadows = {}

    def substitute(t, is_output=False):
        if not isinstance(t, Tensor):
            return t
        tangent = _tangent(t, level)
        if tangent is None and is_output:
            tangent = _tangent_of_saved_output(t, level)
        if tangent is None:
            return t
        if grad_on and t.requires_grad:
            shadow = t
        else:
            shadow = shadows.get(id(t))
            if shadow is None:
                shadow = shadows[id(t)] = Tensor._make(t._data, True, None, t._vc)
        if all(s is not shadow for s in inputs):
            inputs.append(shadow)
            tangents.append(tangent)
        return shadow

    new_grads = [substitute(g) for g in grads]
    since = next(graph._seq)
    graph.SAVED_SUBST = substitute
    STATE.enabled = True
    _BYPASS[0] += 1
    try:
        if anomaly_mode.is_anomaly_enabled():
            outs = anomaly_mode.run_node(node, new_grads)
        else:
            outs = node._vjp(*new_grads)
        single = not isinstance(outs, tuple)
        outs = (outs,) if single else tuple(outs)
        diff = [o for o in outs if isinstance(o, Tensor) and o._requires_grad]
        got = graph_jvp(tuple(diff), inputs, tangents, since=since) if diff and inputs else ()
    finally:
        _BYPASS[0] -= 1
        STATE.enabled = grad_on
        graph.SAVED_SUBST = None
    tangent_of = {id(o): t for o, t in zip(diff, got)}
    shown = [o if grad_on or not isinstance(o, Tensor) else o.detach() for o in outs]
    for s_, o in zip(shown, outs):
        t = tangent_of.get(id(o)) if isinstance(o, Tensor) else None
        if t is not None:
            _set_tangent(s_, t if grad_on else t.detach(), level)
    return shown[0] if single else tuple(shown)


# ---- swapping the published ops in and out -------------------------------------------------

class _ForwardMode(_modes.Mode):
    """Gives the published ops dual-aware implementations while a level is open (NOTE [one call
    path] in ember/_modes.py); process-wide, as PyTorch's forward-AD levels."""

    def wrap(self, key, fn):
        # the ops of the records (NOTE [op records] in ember/_records.py), not ember.random's,
        # vmap's internal names, or Tensor's own data-moving methods
        rec, attr = key.record, key.name
        if rec is None or rec.kind != "op" or key.space in ("random", "internal") or \
                attr in _PASS_THROUGH:
            return fn
        # a wrapper depends only on (fn, attr): reuse it, so that opening a level (every
        # func.jvp call) doesn't rebuild closures
        got = _WRAPPERS.get((attr, fn))
        if got is None:
            got = _WRAPPERS[(attr, fn)] = _wrap(fn, attr)
        return got


_MODE = _ForwardMode()


def _install():
    from . import engine

    _modes.enter(_MODE)
    engine.set_rule_runner()


def _uninstall():
    from . import engine

    _modes.exit(_MODE)
    engine.set_rule_runner()
