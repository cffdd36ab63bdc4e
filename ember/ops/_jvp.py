"""Forward-mode (JVP) rules: the shapes most ops' rules take, shared.

Contract: a node's ``_jvp(*tangents)`` takes one tangent per input edge (None for a zero
tangent) and returns the tangent of its output (a tuple for a node with several outputs). It
may read the node's saved tensors and args, as the VJP does: whatever a VJP needs to give input
``i`` its gradient is exactly what a JVP needs to take input ``i``'s tangent forward (the same
Jacobian block), so saving stays as the op decides it.

The three shapes of rule:
- ``elementwise``: the Jacobian is diagonal, so input ``i``'s contribution is the VJP applied to
  its tangent (NOTE [elementwise JVP] in _registry.py); contributions are summed and broadcast to
  the output's shape.
- ``linear(f)``: the op is linear in its inputs, so its JVP is the op itself on the tangents:
  ``f(ctx, *tangents_or_zeros)``.
- ``fiberwise(dims_of)``: each output element depends only on its own slice ("fiber") of the
  input (reductions, losses): the VJP of ones gives d out / d x per element, and the JVP is the
  tangent times that, summed over the reduced dims ``dims_of(ctx) -> (dims, keepdim)``
  (NaN over empty slices for the ops that ask, NOTE [empty fibers]).
"""

from __future__ import annotations

__all__ = ["elementwise", "linear", "fiberwise", "zeros_for", "out_zeros", "as_out_dtype",
           "ALL"]

ALL = "all"  # fiberwise dims: every dim of the input


def zeros_for(ctx, i, like=None):
    """A zero tangent for input ``i`` of ``ctx`` (shape and dtype from the edge's metadata).
    An input outside the graph has no edge metadata: ``like`` gives them, or else input 0 is
    taken as shaped like the output (the ops that write a source into ``self``: index_copy,
    put, masked_scatter, *_scatter... differentiated with respect to the source only)."""

    from ..ops._registry import meta_of, meta_zeros

    fn, nr = ctx.next_functions[i]
    if fn is not None:
        m = fn._meta[nr]
    elif like is not None:
        m = meta_of(like._data)
    elif i == 0:
        m = ctx._meta[0]
    else:
        raise RuntimeError(f"{ctx.name()}: no shape known for the zero tangent of input {i}")
    return meta_zeros(m)


def as_out_dtype(ctx, t, i=0):
    """``t`` cast to the output's dtype where the op itself changed input ``i``'s dtype (a
    ``dtype=`` argument: ``mean(dtype=)``, ``cumsum(dtype=)``); otherwise unchanged (a tangent
    keeps its own dtype through a linear op, as in PyTorch)."""
    fn, nr = ctx.next_functions[i]
    out_dtype = ctx._meta[0][1]
    if fn is None or fn._meta[nr][1] == out_dtype or t._data.dtype == out_dtype:
        return t
    from ..dtypes import from_np

    return t.to(from_np(out_dtype))


def meta_ones(m):
    """Ones of a node output's metadata ``m`` (see ``_registry.meta_zeros``), on its device."""
    import numpy as np

    from ..tensor import on_device, wrap

    one = np.ones(m[0], m[1])
    return wrap(one if len(m) == 2 else on_device(one, m[2]))


def out_zeros(ctx, k=0):
    """A zero tangent of output ``k``."""
    from ..ops._registry import meta_zeros

    return meta_zeros(ctx._meta[k])


def _fit(ctx, t, k=0):
    """Broadcast (and cast) a contribution to output ``k``'s shape and dtype."""
    shape, dtype = ctx._meta[k][:2]
    if t._data.shape != shape:
        t = t.expand(shape)
    if t._data.dtype != dtype:
        from ..dtypes import from_np

        t = t.to(from_np(dtype))
    return t


def elementwise(ctx, *tangents):
    """JVP of an elementwise op: its VJP applied to each input's tangent, summed."""
    total = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        c = ctx._vjp(t)[i]
        if c is None:
            continue
        total = c if total is None else total + c
    return out_zeros(ctx) if total is None else _fit(ctx, total)


def linear(f):
    """JVP of an op linear in its inputs: ``f(ctx, *tangents)`` with zeros for missing ones."""
    def jvp(ctx, *tangents):
        if all(t is None for t in tangents):
            n = len(ctx._meta)
            return out_zeros(ctx) if n == 1 else tuple(out_zeros(ctx, k) for k in range(n))
        ts = [t if t is not None else (zeros_for(ctx, i) if ctx.next_functions[i][0]
                                       is not None else None)
              for i, t in enumerate(tangents)]
        return f(ctx, *ts)
    return jvp


def _empty_fiber(ctx, tangents):
    """Whether a tangent, or a saved operand, is empty: a loss's input broadcast against an
    empty target reduces over nothing even where the tangent itself has elements."""
    if all(t is None for t in tangents):
        return False
    return any(t is not None and not t._data.size for t in tangents) or \
        any(s is not None and not s._data.size for s in ctx.saved_tensors)


def fiberwise(dims_of, empty_nan=None):
    """JVP of an op whose output elements each depend on one slice of the inputs.

    ``empty_nan(ctx)``: whether the tangent over an empty slice is NaN rather than the empty
    sum 0 (NOTE [empty fibers]: PyTorch's formulas for means (a 'mean' loss), logsumexp and std
    divide by the count or the result, so an empty input gives NaN there)."""
    def jvp(ctx, *tangents):
        if empty_nan is not None and _empty_fiber(ctx, tangents) and empty_nan(ctx):
            return out_zeros(ctx) + float("nan")
        grads = ctx._vjp(meta_ones(ctx._meta[0]))
        dims, keepdim = dims_of(ctx)
        total = None
        for i, t in enumerate(tangents):
            if t is None or grads[i] is None:
                continue
            c = t * grads[i]
            if dims == ALL:
                c = c.sum()
            elif dims:
                c = c.sum(dims, keepdim=keepdim)
            total = c if total is None else total + c
        return out_zeros(ctx) if total is None else _fit(ctx, total)
    return jvp
