"""Matrix products: mm, mv, dot, bmm, outer and ``matmul`` in all its broadcasting cases.

Contract: ``matmul`` decomposes as PyTorch does, so graphs read the same: 1-D·1-D is ``dot``,
2-D·2-D ``mm``, 2-D·1-D ``mv``, 1-D·2-D an unsqueezed ``mm``, N-D·2-D folds the batch into rows
of one ``mm`` (``UnsafeViewBackward0`` of ``MmBackward0``), and the rest broadcasts batch dims
into a ``bmm``. Both operands must share a dtype (PyTorch does not promote here). Shape errors
carry PyTorch's messages.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._jvp import out_zeros
from ._registry import node_class, record, recording, register, wrap
from .shape import _RESHAPED, _np_reshape, _view_op


def _same_dtype(a, b):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype.cpp_name} != "
            f"{b.dtype.cpp_name}")


def mm_grads(g, x, y, layouts):
    """Gradients of ``x @ y`` for 2-D ``x`` and ``y`` (either may be None: not needed);
    ``layouts`` says which of the two inputs were column-major (``column_major``).

    NOTE: like PyTorch, a gradient is computed transposed when its input is column-major (the
    usual ``weight.t()``), so it comes out in the input's own layout and a leaf can keep it as
    ``.grad`` without a copy.
    """
    gx = gy = None
    if y is not None:
        gx = y.mm(g.t()).t() if layouts[0] else g.mm(y.t())
    if x is not None:
        gy = g.t().mm(x).t() if layouts[1] else x.t().mm(g)
    return gx, gy


def column_major(a):
    """True for a 2-D array stored column by column (a transposed C array)."""
    f = a.flags
    return f.f_contiguous and not f.c_contiguous


def _product(node_cls, data, x, y, args=()):
    """The result of a product of ``x`` and ``y``, recorded when needed; each operand is saved
    only when the other one's gradient needs it."""
    if STATE.enabled:
        rx, ry = recording(x), recording(y)
        if rx or ry:
            return record(node_cls, data, (x, y), save=(x if ry else None, y if rx else None),
                          args=args)
    return wrap(data)


def _mm_vjp(ctx, g):
    x, y = ctx.saved_tensors
    return mm_grads(g, x, y, ctx.args)


def _product_jvp(op):
    """JVP of a bilinear product: ``op(dx, y) + op(x, dy)``."""
    def jvp(ctx, dx, dy):
        x, y = ctx.saved_tensors
        total = op(dx, y) if dx is not None else None
        if dy is not None:
            c = op(x, dy)
            total = c if total is None else total + c
        return out_zeros(ctx) if total is None else total
    return jvp


MmBackward0 = node_class("MmBackward0", _mm_vjp, _product_jvp(lambda a, b: a.mm(b)))


def mm(input, mat2):
    """Matrix product of two 2-D tensors."""
    a, b = input._data, mat2._data
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} "
                           f"and {b.shape[0]}x{b.shape[1]})")
    _same_dtype(input, mat2)
    data = a @ b
    return _product(MmBackward0, data, input, mat2, args=(column_major(a), column_major(b)))


def _mv_vjp(ctx, g):
    m, v = ctx.saved_tensors
    gm = g.unsqueeze(1) * v.unsqueeze(0) if v is not None else None
    gv = m.t().mv(g) if m is not None else None
    return gm, gv


MvBackward0 = node_class("MvBackward0", _mv_vjp, _product_jvp(lambda a, b: a.mv(b)))


def mv(input, vec):
    """Matrix-vector product."""
    a, v = input._data, vec._data
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {v.ndim}, {a.ndim}, "
                           f"{v.ndim}")
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat "
                           f"({a.shape[0]}x{a.shape[1]}), vec ({v.shape[0]})")
    _same_dtype(input, vec)
    data = a @ v
    return _product(MvBackward0, data, input, vec)


def _dot_vjp(ctx, g):
    x, y = ctx.saved_tensors
    return (g * y if y is not None else None, g * x if x is not None else None)


DotBackward0 = node_class("DotBackward0", _dot_vjp, _product_jvp(lambda a, b: a.dot(b)))


def dot(input, tensor):
    """Inner product of two 1-D tensors."""
    a, b = input._data, tensor._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to "
            f"have the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements "
            "respectively")
    if a.dtype != b.dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{input.dtype.scalar_name} and {tensor.dtype.scalar_name}")
    data = np.asarray(np.dot(a, b))
    return _product(DotBackward0, data, input, tensor)


inner = dot


def _bmm_vjp(ctx, g):
    x, y = ctx.saved_tensors
    return (g.bmm(y.transpose(1, 2)) if y is not None else None,
            x.transpose(1, 2).bmm(g) if x is not None else None)


BmmBackward0 = node_class("BmmBackward0", _bmm_vjp, _product_jvp(lambda a, b: a.bmm(b)))


def bmm(input, mat2):
    """Batched matrix product of two 3-D tensors with equal batch size."""
    a, b = input._data, mat2._data
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if b.shape[:2] != (a.shape[0], a.shape[2]):
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    _same_dtype(input, mat2)
    data = np.matmul(a, b)
    return _product(BmmBackward0, data, input, mat2)


def _squeeze4_vjp(ctx, g):
    return (g.reshape(ctx.args[0]),)


SqueezeBackward4 = node_class("SqueezeBackward4", _squeeze4_vjp, _RESHAPED)


def matmul(input, other):
    """Matrix product with NumPy/PyTorch broadcasting of batch dims."""
    if not isinstance(other, Tensor):
        return NotImplemented
    da, db = input._data.ndim, other._data.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{da}D and {db}D")
    if da == 1 and db == 1:
        return dot(input, other)
    if da == 2 and db == 2:
        return mm(input, other)
    if da == 2 and db == 1:
        return mv(input, other)
    if da == 1 and db == 2:
        out = mm(input.unsqueeze(0), other)
        shape = out._data.shape
        return _view_op(SqueezeBackward4, out, out._data.reshape(shape[1:]),
                        (_np_reshape, (shape[1:],)), (shape,))
    if da >= 3 and db <= 2:
        # fold batch dims into the rows of one mm / mv
        batch = input._data.shape[:-1]
        folded = input.reshape(-1, input._data.shape[-1])
        out = mm(folded, other) if db == 2 else mv(folded, other)
        new = batch + (other._data.shape[-1],) if db == 2 else batch
        return _unsafe_view(out, new)
    # general case: broadcast batch dims, bmm
    a = input.unsqueeze(0) if da == 1 else input
    b = other.unsqueeze(-1) if db == 1 else other
    sa, sb = a._data.shape, b._data.shape
    if sa[-1] != sb[-2]:
        if da == 1 or db == 1:
            raise RuntimeError(f"size mismatch, got input ({sa[-2]}), mat ({sa[-2]}x{sa[-1]}), "
                               f"vec ({sb[-2]})")
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{int(np.prod(sa[:-2]))}, {sa[-1]}] but got: [{int(np.prod(sb[:-2]))}, {sb[-2]}].")
    batch = tuple(np.broadcast_shapes(sa[:-2], sb[:-2])) if _broadcastable(sa[:-2], sb[:-2]) \
        else _raise_batch(sa[:-2], sb[:-2])
    n = int(np.prod(batch)) if batch else 1
    a3 = a.expand(batch + sa[-2:]).reshape(n, sa[-2], sa[-1])
    b3 = b.expand(batch + sb[-2:]).reshape(n, sb[-2], sb[-1])
    out = bmm(a3, b3)
    shape = batch + (sa[-2], sb[-1])
    if da == 1:
        shape = batch + (sb[-1],)
    elif db == 1:
        shape = batch + (sa[-2],)
    return _unsafe_view(out, shape)


def _broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _raise_batch(a, b):
    from .._size import broadcast_shapes

    # re-raise with PyTorch's wording for elementwise broadcasting
    for i in range(1, min(len(a), len(b)) + 1):
        if a[-i] != b[-i] and a[-i] != 1 and b[-i] != 1:
            raise RuntimeError(
                f"The size of tensor a ({a[-i]}) must match the size of tensor b ({b[-i]}) at "
                f"non-singleton dimension {max(len(a), len(b)) - i}")
    return broadcast_shapes(a, b)


def _unsafe_view_vjp(ctx, g):
    return (g.reshape(ctx.args[0]),)


UnsafeViewBackward0 = node_class("UnsafeViewBackward0", _unsafe_view_vjp, _RESHAPED)


def _unsafe_view(t, shape):
    data = t._data.reshape(shape)
    if STATE.enabled and recording(t):
        return record(UnsafeViewBackward0, data, (t,), args=(t._data.shape,))
    return wrap(data)


def outer(input, vec2):
    """Outer product of two 1-D tensors."""
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


# ---- addmm / linear ----
def _addmm_vjp(ctx, g):
    m1, m2 = ctx.saved_tensors
    beta, alpha, layouts = ctx.args
    gb = (g if beta == 1 else g * beta) if ctx.next_functions[0][0] is not None else None
    g1, g2 = mm_grads(g if alpha == 1 else g * alpha, m1, m2, layouts)
    return gb, g1, g2


def _addmm_jvp(ctx, db, d1, d2):
    m1, m2 = ctx.saved_tensors
    beta, alpha, _ = ctx.args
    total = db * beta if db is not None else None
    for c in (d1.mm(m2) if d1 is not None else None, m1.mm(d2) if d2 is not None else None):
        if c is not None:
            c = c * alpha if alpha != 1 else c
            total = c if total is None else total + c
    return out_zeros(ctx) if total is None else total.expand(ctx._meta[0][0])


AddmmBackward0 = node_class("AddmmBackward0", _addmm_vjp, _addmm_jvp)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` (input broadcasts)."""
    a, b = mat1._data, mat2._data
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError("mat1 must be a matrix, got " f"{a.ndim}-D tensor" if a.ndim != 2
                           else f"mat2 must be a matrix, got {b.ndim}-D tensor")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} "
                           f"and {b.shape[0]}x{b.shape[1]})")
    _same_dtype(mat1, mat2)
    data = a @ b
    if alpha != 1:
        data *= alpha
    bias = input._data if beta == 1 else input._data * beta
    # NOTE: ``data`` is a fresh product: adding the bias in place saves a temporary.
    if bias.shape == data.shape or np.broadcast_shapes(bias.shape, data.shape) == data.shape:
        data += bias
    else:
        data = data + bias
    if STATE.enabled:
        r1, r2 = recording(mat1), recording(mat2)
        if r1 or r2 or recording(input):
            return record(AddmmBackward0, data, (input, mat1, mat2),
                          save=(mat1 if r2 else None, mat2 if r1 else None),
                          args=(beta, alpha, (column_major(a), column_major(b))))
    return wrap(data)



for _name in ("mm", "mv", "dot", "inner", "bmm", "matmul", "outer", "ger", "addmm"):
    register(globals()[_name], _name)
register(matmul, "__matmul__", function=False)
