"""The view machinery: view steps on arrays, their adjoints, and marking a result as a view.

Contract:
- Every view step is ``(fn, args)`` on arrays, with an adjoint in ``_ADJOINT`` that puts a
  gradient of the view's shape back into the input's shape (other modules add their steps'
  adjoints to the same dict). ``replay_array``/``scatter_array`` apply a chain of steps and its
  adjoint to arrays.
- ``view_replay``/``view_scatter`` are the differentiable pair built from them (each the other's
  backward, ``AsStridedBackward0``/``AsStridedScatterBackward0``): select and slice backward,
  regenerated views and ``CopySlices`` use them.
- ``_mark_view`` makes a result an autograd view of its input's base sharing the version counter
  (PyTorch's no_grad and inference-tensor rules); ``_view_op``/``_view_multi`` record a view op's
  node and mark its output(s).
shape.py re-exports every name here; the view ops themselves live there.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import ViewInfo, zeros_as
from ._jvp import linear
from ._registry import node_class, record, record_multi, recording, wrap

# ==== view steps: array-level view functions and their adjoints ============================

def _np_reshape(a, shape):
    return a.reshape(shape)


def _np_permute(a, dims):
    return a.transpose(dims)


def _np_expand(a, shape):
    """``np.broadcast_to(a, shape)``: the same read-only view. For a C-contiguous ``a`` it is
    one ndarray constructor over ``a``'s memory (~0.2 us) instead of NumPy's Python-level
    broadcast_to (~1.7 us): a full reduction's backward expands its gradient every time.
    An expand that repeats no element (the same shape, or new leading dims of size 1) is a
    plain view, writeable where ``a`` is, as PyTorch's is."""
    if type(a) is not np.ndarray:  # (a device or meta array: its library's broadcast_to)
        return np.broadcast_to(a, shape)
    lead = len(shape) - a.ndim
    if tuple(shape[lead:]) == a.shape and tuple(shape[:lead]) == (1,) * lead:
        return a[(None,) * lead] if lead else a.view()
    if not a.ndim:
        strides = (0,) * len(shape)
    elif a.flags.c_contiguous and a.size:
        strides = (0,) * lead + tuple(st if old == new else 0 for old, st, new in
                                      zip(a.shape, a.strides, shape[lead:]))
    else:
        return np.broadcast_to(a, shape)
    out = np.ndarray(shape, a.dtype, a, 0, strides)
    out.setflags(write=False)
    return out


def _np_index(a, key):
    return a[key]


def _np_unfold(a, dim, size, step):
    if a.ndim == 0:  # PyTorch: a 0-dim tensor has one window, of shape [size]
        return a.reshape(1)[:size]
    if isinstance(a, np.ndarray):  # (NumPy's and meta arrays)
        w = np.lib.stride_tricks.sliding_window_view(a, size, axis=dim,
                                                     writeable=a.flags.writeable)
    else:
        # NOTE: a device array: the same strided windows through its library's as_strided
        # (CuPy's sliding_window_view refuses writeable=True, and CuPy views are writeable)
        from ..backend import namespace

        shape = a.shape[:dim] + (a.shape[dim] - size + 1,) + a.shape[dim + 1:] + (size,)
        w = namespace(a).lib.stride_tricks.as_strided(a, shape=shape,
                                                      strides=a.strides + (a.strides[dim],))
    return w[(slice(None),) * dim + (slice(None, None, step),)]


def _adj_unfold(g, in_shape, dim, size, step):
    """The windows of ``g`` added back where they came from (overlaps add up)."""
    if not in_shape:
        return g.sum().reshape(())
    out = zeros_as(g, shape=in_shape, order="C")
    n = g.shape[dim]
    for k in range(size):  # one strided slice per window offset
        out[(slice(None),) * dim + (slice(k, k + step * (n - 1) + 1, step),)] += g[..., k]
    return out


def _adj_reshape(g, in_shape, shape):
    return g.reshape(in_shape)


def _adj_permute(g, in_shape, dims):
    return g.transpose(sorted(range(len(dims)), key=dims.__getitem__))  # (the inverse)


def _adj_expand(g, in_shape, shape):
    return _sum_to_array(g, in_shape)


def _adj_index(g, in_shape, key):
    z = zeros_as(g, shape=in_shape, order="C")
    z[key] = g
    return z


_ADJOINT = {_np_reshape: _adj_reshape, _np_permute: _adj_permute, _np_expand: _adj_expand,
            _np_index: _adj_index, _np_unfold: _adj_unfold}


def _sum_to_array(g, shape):
    """Sum array ``g`` down to broadcastable ``shape`` (a fresh array unless nothing to do)."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    r = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and r.shape[i] != 1)
    if axes:
        r = r.sum(axis=axes, keepdims=True)
    return r


def replay_array(array, steps):
    """The array view of ``array`` that ``steps`` describe."""
    for fn, args in steps:
        array = fn(array, *args)
    return array


def scatter_array(g, base_shape, steps):
    """The adjoint of ``replay_array``: a base-shaped array with ``g`` where the view lies."""
    shapes = [tuple(base_shape)]
    probe = np.empty(0, dtype=np.int8)
    probe = np.lib.stride_tricks.as_strided(probe, shape=tuple(base_shape),
                                            strides=(0,) * len(base_shape))
    for fn, args in steps[:-1]:
        probe = fn(probe, *args)
        shapes.append(probe.shape)
    for (fn, args), in_shape in zip(reversed(steps), reversed(shapes)):
        g = _ADJOINT[fn](g, in_shape, *args)
    return g


# ---- view_replay / view_scatter: a differentiable adjoint pair ----

def _replay_vjp(ctx, g):
    base_shape, steps = ctx.args
    if not g._data.size:
        # PyTorch's as_strided_backward gives an empty view's base plain zeros, joined to no
        # graph: a second order stops there (and never reaches, say, hardsigmoid's missing
        # double backward behind a view regenerated after an in-place op: fuzz seed 2042
        # program 9815)
        return (wrap(scatter_array(g._data, base_shape, steps).copy()),)
    return (view_scatter(g, base_shape, steps),)


def _scatter_vjp(ctx, g):
    base_shape, steps = ctx.args
    return (view_replay(g, steps, base_shape),)


AsStridedBackward0 = node_class("AsStridedBackward0", _replay_vjp, linear(
    lambda ctx, dx: view_replay(dx, ctx.args[1])))
AsStridedScatterBackward0 = node_class("AsStridedScatterBackward0", _scatter_vjp, linear(
    lambda ctx, dg: view_scatter(dg, *ctx.args)))


def view_replay(base, steps, base_shape=None, node_cls=AsStridedBackward0):
    """The view of ``base`` described by ``steps``, recorded as ``AsStridedBackward0``."""
    data = replay_array(base._data, steps)
    if STATE.enabled and recording(base):
        out = record(node_cls, data, (base,), args=(base._data.shape, steps))
    else:
        out = wrap(data)
    _mark_view(out, base, steps)
    return out


def view_scatter(g, base_shape, steps):
    """A base-shaped tensor, zero except for ``g`` at the view ``steps`` describe."""
    data = scatter_array(g._data, base_shape, steps)
    if data is g._data:
        data = data.copy()
    if STATE.enabled and recording(g):
        return record(AsStridedScatterBackward0, data, (g,), args=(tuple(base_shape), steps))
    return wrap(data)


# ==== making views ==========================================================================

def _mark_view(out, input, steps):
    """Mark ``out`` as an autograd view of ``input``'s base, sharing its version counter.

    A view taken under no_grad of a tensor that requires grad still requires grad (as a leaf,
    like PyTorch's) but may not be modified in place once grad mode is back on.
    """
    if input._vc is None:
        # NOTE: a view of an inference tensor is an inference tensor, not an autograd view
        # (PyTorch's ``_is_view()`` is False): no version counter, nothing to replay.
        out._vc = None
        return
    info = input._view
    if info is not None:
        out._view = ViewInfo(info.base, info.steps + steps, input._vc[0])
        # a view of one of several views (split, unbind) is restricted as they are
        out._view.multi = info.multi
    else:
        out._view = ViewInfo(input, steps, input._vc[0])
    out._vc = input._vc
    if not STATE.enabled:
        # PyTorch marks every view made under no_grad: writing through it (or its base) with
        # an operand that requires grad is refused, whether or not its base requires grad
        out._requires_grad = input._requires_grad
        out._view.multi = "no_grad"


def _view_op(node_cls, input, data, step, args=()):
    """Result of a view op: records ``node_cls`` when needed and marks the view."""
    if STATE.enabled and (input._requires_grad or input._view is not None) and recording(input):
        out = record(node_cls, data, (input,), args=args)
    else:
        out = wrap(data)
    _mark_view(out, input, (step,))
    return out


def _view_multi(node_cls, input, datas, steps, args=()):
    """Outputs of a view op with several outputs (split, unbind)."""
    if STATE.enabled and recording(input):
        outs = record_multi(node_cls, datas, (input,), args=args)
    else:
        outs = [wrap(d) for d in datas]
    for out, step in zip(outs, steps):
        _mark_view(out, input, (step,))
        if out._view is not None and out._view.multi != "no_grad":
            out._view.multi = node_cls.__name__
    return outs
