"""Matrix products: mm, mv, dot, vdot, inner, outer, bmm, matmul,
addmm/addmv/addr/baddbmm/addbmm (+ in-place forms), tensordot, kron, multi_dot,
chain_matmul, linalg.vander. The matrix-shaped helpers (trace, diagonal, diag, tril/triu,
cross...) live in ``matrix``; einsum in ``einsum``.

Contract: ``matmul`` decomposes as PyTorch does, so graphs read the same: 1-D·1-D is ``dot``,
2-D·2-D ``mm``, 2-D·1-D ``mv``, 1-D·2-D an unsqueezed ``mm``, an N-D·(1 or 2)-D product folds
into one ``mm`` when PyTorch's ``should_fold`` does (``UnsafeViewBackward0`` of ``MmBackward0``),
and the rest broadcasts batch dims into a ``bmm``. Both operands must share a dtype (PyTorch
does not promote here). einsum, tensordot, inner, kron and multi_dot are compositions of these
ops, as in PyTorch, so their graphs and grad_fn names match. Shape and dtype errors carry
PyTorch's messages.
"""

from __future__ import annotations

import numpy as np

from .._warn import warn_once
from ..autograd.grad_mode import STATE
from ..dtypes import refuse_unsigned, result_type
from ..tensor import Tensor, as_array
from ._jvp import out_zeros
from ._linalg_base import _xp
from ._registry import arrays_only, node_class, record, recording, register, wrap
from .decomposition import with_out
from .inplace import register_inplace
from .shape import _RESHAPED, _np_reshape, _view_op


def _names(*ts):
    return [t.dtype.scalar_name for t in ts]


def _addmv_dtypes(input, mat, vec):
    if not (input._data.dtype == mat._data.dtype == vec._data.dtype):
        x, y, z = _names(input, mat, vec)
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {x}, {y}, "
                           f"and {z}")


def _addmm_dtypes(input, mat1, mat2):
    """PyTorch's dtype checks of addmm / addbmm (the bias first, then the two factors)."""
    if input._data.dtype != mat2._data.dtype:
        x, y = _names(input, mat2)
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {x} and {y}")
    if mat1._data.dtype != mat2._data.dtype:
        x, y = _names(mat1, mat2)
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {x} and {y}")


def _same_dtype(a, b):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype.cpp_name} != "
            f"{b.dtype.cpp_name}")


# NOTE [bfloat16 products]: PyTorch multiplies bfloat16 (and float16) matrices accumulating in
# float32 and rounds each result once (on CPUs without native bfloat16 dot products; with
# AVX-512 BF16 its oneDNN kernels round otherwise, so tests compare within bfloat16's tolerance,
# never bitwise). NumPy has no bfloat16 BLAS (ml_dtypes' matmul is a plain loop that returns
# float32) and no float16 BLAS: the float32 BLAS product of the widened operands, rounded once,
# is PyTorch's result at BLAS speed. Where PyTorch's kernel adds into a half-precision result
# (the bias of a convolution is added first; addbmm adds batch by batch), ember rounds where it
# does.
_F32 = np.dtype(np.float32)


def is_half(dt):
    """True for float16 and bfloat16 (ml_dtypes' bfloat16 is NumPy kind "V")."""
    return dt.itemsize == 2 and dt.kind in "fV"


def half_matmul(a, b):
    """``np.matmul(a, b)``, for half-precision operands in float32 and rounded once."""
    if not is_half(a.dtype):
        return np.matmul(a, b)
    return np.matmul(a.astype(_F32), b.astype(_F32)).astype(a.dtype)


def wide(a):
    """``a`` widened to float32 if it is half precision (its caller rounds the result)."""
    return a.astype(_F32) if is_half(a.dtype) else a


def mm_grads(g, x, y, layouts):
    """Gradients of ``x @ y`` for 2-D ``x`` and ``y`` (either may be None: not needed);
    ``layouts`` says which of the two inputs were column-major (``column_major``).

    NOTE: like PyTorch, a gradient is computed transposed when its input is column-major (the
    usual ``weight.t()``), so it comes out in the input's own layout and a leaf can keep it as
    ``.grad`` without a copy.
    """
    gx = gy = None
    if arrays_only():
        # NOTE: no graph to build (a plain backward): the same products on the arrays,
        # without four transposed views and two op calls.
        gd = g._data
        mul = np.matmul if gd.dtype is _F32 else half_matmul
        if y is not None:
            gx = wrap(mul(y._data, gd.T).T if layouts[0] else mul(gd, y._data.T))
        if x is not None:
            gy = wrap(mul(gd.T, x._data).T if layouts[1] else mul(x._data.T, gd))
        return gx, gy
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
    if a.dtype is _F32:  # (the common case first: one identity test)
        data = a @ b
    else:
        refuse_unsigned("addmm_impl_cpu_", a.dtype)  # NOTE [limited unsigned types]
        data = half_matmul(a, b)
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
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat "
                           f"({a.shape[0]}x{a.shape[1]}), vec ({v.shape[0]})")
    _addmv_dtypes(vec, input, vec)
    if a.dtype is _F32:  # (the common case first: one identity test)
        data = a @ v
    else:
        refuse_unsigned("addmv_impl_cpu", a.dtype)  # NOTE [limited unsigned types]
        data = half_matmul(a, v)
    return _product(MvBackward0, data, input, vec)


def _dot_vjp(ctx, g):
    x, y = ctx.saved_tensors
    return (g * y if y is not None else None, g * x if x is not None else None)


DotBackward0 = node_class("DotBackward0", _dot_vjp, _product_jvp(lambda a, b: a.dot(b)))


def _check_vectors(name, input, other):
    """PyTorch's checks for dot/vdot: two 1-D tensors of one length and one dtype."""
    a, b = input._data, other._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to "
            f"have the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements "
            "respectively")
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"{name} : expected both vectors to have same dtype, but found "
            f"{input.dtype.scalar_name} and {other.dtype.scalar_name}")
    return a, b


def dot(input, tensor):
    """Inner product of two 1-D tensors."""
    a, b = _check_vectors("dot", input, tensor)
    refuse_unsigned("dot", a.dtype)  # NOTE [limited unsigned types] (dtypes.py)
    return _product(DotBackward0, as_array(np.dot(a, b)), input, tensor)


def inner(input, other):
    """Sum of products over the last dims (a product with a scalar when either is 0-d)."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    sa, sb = input._data.shape, other._data.shape
    if sa[-1] != sb[-1]:
        raise RuntimeError("inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(sa)} and {list(sb)}")
    return tensordot(input, other, ([-1], [-1]))


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
    if a.dtype != b.dtype:
        if not (a.shape[0] and a.shape[1] and a.shape[2] and b.shape[2]):
            # NOTE: PyTorch's kernel (where the dtypes are checked) is skipped for an empty
            # result or an empty contraction: zeros typed as mat2
            return _product(BmmBackward0, _xp(b).zeros((a.shape[0], a.shape[1], b.shape[2]),
                                                       b.dtype), input, mat2)
        x, y = _names(input, mat2)
        raise RuntimeError(f"expected scalar type {x} but found {y}")
    refuse_unsigned("bmm", a.dtype)  # NOTE [limited unsigned types] (dtypes.py)
    data = half_matmul(a, b)
    return _product(BmmBackward0, data, input, mat2)


def _squeeze4_vjp(ctx, g):
    return (g.reshape(ctx.args[0]),)


SqueezeBackward4 = node_class("SqueezeBackward4", _squeeze4_vjp, _RESHAPED)


def _matmul_operator(input, other):
    """``a @ b``: another type of ``b`` gets its turn (``__rmatmul__``, then Python's
    TypeError), as with any Python operator; ``matmul(a, b)`` raises PyTorch's (_checks.py)."""
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(input, other)


def matmul(input, other):
    """Matrix product with NumPy/PyTorch broadcasting of batch dims."""
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
    if _should_fold(input, other):
        # fold batch dims into the rows of one mm / mv; a batched right operand is folded as
        # ``(other.mT @ input.mT).mT``
        transpose = db > da
        t1 = other.mT if transpose else input
        t2 = (input.t() if da == 2 else input) if transpose else other
        batch = t1._data.shape[:-1]
        # NOTE: explicit row count: -1 is ambiguous when the inner dim is 0
        folded = t1.reshape(int(np.prod(batch)), t1._data.shape[-1])
        if t2._data.ndim == 2:
            out = _unsafe_view(mm(folded, t2), batch + (t2._data.shape[-1],))
            # NOTE: PyTorch copies here (2-D @ N-D with the 2-D operand requiring grad)
            return out.mT.contiguous() if transpose else out
        return _unsafe_view(mv(folded, t2), batch)
    # NOTE: as PyTorch, a broadcast size-1 batch of a 3-D operand that requires grad is
    # squeezed away so the product folds (the gradient then needs no batch reduction)
    if da == 3 and db == 3 and input._data.shape[0] != other._data.shape[0]:
        if input._data.shape[0] == 1 and input.requires_grad:
            return matmul(input.squeeze(0), other)
        if other._data.shape[0] == 1 and other.requires_grad:
            return matmul(input, other.squeeze(0))
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


def _should_fold(x, y):
    """PyTorch's rule for folding an N-D by (1 or 2)-D matmul into one mm (``should_fold``)."""
    big, small = (x, y) if x._data.ndim >= y._data.ndim else (y, x)
    if not (big._data.ndim >= 3 and small._data.ndim <= 2):
        return False
    if small.requires_grad:
        return True
    if x._data.ndim == 2:
        return False
    t1 = big._data if big is x else np.swapaxes(big._data, -1, -2)
    if t1.size == 0:
        return True
    shape, strides = t1.shape, t1.strides
    # NOTE: the leading dims must fold into one without a copy (checked on the strides)
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(t1.ndim - 2))


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
    for name, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
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
    _addmm_dtypes(input, mat1, mat2)
    refuse_unsigned("addmm_impl_cpu_", a.dtype)  # NOTE [limited unsigned types] (dtypes.py)
    half = is_half(a.dtype)  # NOTE [bfloat16 products]: the bias too is added in float32
    data = a @ b if not half else np.matmul(a.astype(_F32), b.astype(_F32))
    if alpha != 1:
        data *= alpha
    _check_expand(input._data.shape, data.shape)
    # NOTE: as PyTorch, beta == 0 ignores input (nan and inf in it do not propagate)
    bias = input._data if beta == 1 else input._data * beta if beta != 0 else \
        np.zeros_like(input._data)
    # NOTE: ``data`` is a fresh product: adding the bias in place saves a temporary.
    if bias.shape == data.shape or np.broadcast_shapes(bias.shape, data.shape) == data.shape:
        data += bias
    else:
        data = data + bias
    if half:
        data = data.astype(a.dtype)
    if STATE.enabled:
        r1, r2 = recording(mat1), recording(mat2)
        if r1 or r2 or recording(input):
            return record(AddmmBackward0, data, (input, mat1, mat2),
                          save=(mat1 if r2 else None, mat2 if r1 else None),
                          args=(beta, alpha, (column_major(a), column_major(b))))
    return wrap(data)


# ---- vdot ----
VdotBackward0 = node_class("VdotBackward0", _dot_vjp, _product_jvp(lambda a, b: a.vdot(b)))


def vdot(input, other):
    """Inner product of two 1-D tensors (conjugating the first: the same as dot for reals)."""
    a, b = _check_vectors("vdot", input, other)
    return _product(VdotBackward0, as_array(np.vdot(a, b)), input, other)


# ---- addmv / addr / baddbmm / addbmm: beta * input + alpha * product ----
# NOTE [scaled products]: the four share one shape of rule. ``prod`` is the product as an
# ember op and ``grads(g, x, y)`` its VJP; the input's gradient is ``beta * g`` (the engine
# sums it down to the input's broadcast shape) and the JVP is ``beta * dinput + alpha *
# (prod(dx, y) + prod(x, dy))``.
def _scaled_vjp(grads):
    def vjp(ctx, g):
        x, y = ctx.saved_tensors
        beta, alpha = ctx.args
        gi = (g * beta if beta != 1 else g) if ctx.next_functions[0][0] is not None else None
        ga = g * alpha if alpha != 1 else g
        gx, gy = grads(ga, x if ctx.next_functions[2][0] is not None else None,
                       y if ctx.next_functions[1][0] is not None else None)
        return gi, gx, gy
    return vjp


def _scaled_jvp(prod):
    def jvp(ctx, di, dx, dy):
        x, y = ctx.saved_tensors
        beta, alpha = ctx.args
        total = di * beta if di is not None else None
        for c in (prod(dx, y) if dx is not None else None,
                  prod(x, dy) if dy is not None else None):
            if c is not None:
                c = c * alpha if alpha != 1 else c
                total = c if total is None else total + c
        return out_zeros(ctx) if total is None else total.expand(ctx._meta[0][0])
    return jvp


def _scaled(node_cls, prod_data, input, x, y, beta, alpha, combined=False):
    """``beta * input + alpha * prod_data``, recorded when needed (input must broadcast to the
    product's shape, with PyTorch's expand message); ``combined``: ``prod_data`` is that sum
    already."""
    shape = prod_data.shape
    bias = input._data
    _check_expand(bias.shape, shape)
    data = prod_data * alpha if alpha != 1 and not combined else prod_data
    if combined:
        pass
    elif beta == 0:
        # NOTE: as in PyTorch, beta == 0 ignores input (nan and inf in it do not propagate)
        data = data + np.zeros_like(bias)
    else:
        data = data + (bias * beta if beta != 1 else bias)
    data = data.astype(result_type(input, x, y).np, copy=False)
    if STATE.enabled:
        rx, ry = recording(x), recording(y)
        if rx or ry or recording(input):
            return record(node_cls, data, (input, x, y), save=(x if ry else None,
                                                               y if rx else None),
                          args=(beta, alpha))
    return wrap(data)


def _check_expand(bias_shape, shape):
    """PyTorch's error when the bias cannot expand to the product's shape (checked from the
    last dim)."""
    lead = len(shape) - len(bias_shape)
    for i in range(len(shape) - 1, max(lead, 0) - 1, -1):
        b = bias_shape[i - lead]
        if b != 1 and b != shape[i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({shape[i]}) must match the existing size "
                f"({b}) at non-singleton dimension {i}.  Target sizes: {list(shape)}.  Tensor "
                f"sizes: {list(bias_shape)}")


def _addmv_grads(g, x, y):
    return (outer(g, y) if y is not None else None, x.t().mv(g) if x is not None else None)


AddmvBackward0 = node_class("AddmvBackward0", _scaled_vjp(_addmv_grads),
                            _scaled_jvp(lambda a, b: a.mv(b)))


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``."""
    a, v = mat._data, vec._data
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input._data.ndim}, "
                           f"{a.ndim}, {v.ndim}")
    if a.shape[1] != v.shape[0] or input._data.shape not in ((), (1,), (a.shape[0],)):
        n = input._data.shape[0] if input._data.ndim else 1
        raise RuntimeError(f"size mismatch, got input ({n}), mat ({a.shape[0]}x{a.shape[1]}), "
                           f"vec ({v.shape[0]})")
    _addmv_dtypes(input, mat, vec)
    return _scaled(AddmvBackward0, wide(a) @ wide(v), input, mat, vec, beta, alpha)


def _addr_grads(g, x, y):
    return (g.mv(y) if y is not None else None, g.t().mv(x) if x is not None else None)


AddrBackward0 = node_class("AddrBackward0", _scaled_vjp(_addr_grads),
                           _scaled_jvp(lambda a, b: outer(a, b)))


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    a, b = vec1._data, vec2._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {a.ndim}-D" if a.ndim != 1
                           else f"addr: Expected 1-D argument vec2, but got {b.ndim}-D")
    if np.result_type(input._data, a, b).kind in "iu":
        for name, v in (("beta", beta), ("alpha", alpha)):
            if isinstance(v, float):
                raise RuntimeError(f"For integral input tensors, argument {name} must not be a "
                                   "floating point number.")
    return _scaled(AddrBackward0, np.multiply.outer(a, b), input, vec1, vec2, beta, alpha)


def _baddbmm_grads(g, x, y):
    return (g.bmm(y.transpose(1, 2)) if y is not None else None,
            x.transpose(1, 2).bmm(g) if x is not None else None)


BaddbmmBackward0 = node_class("BaddbmmBackward0", _scaled_vjp(_baddbmm_grads),
                              _scaled_jvp(lambda a, b: a.bmm(b)))


def _check_bmm(a, b):
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if b.shape[:2] != (a.shape[0], a.shape[2]):
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    a, b = batch1._data, batch2._data
    _check_bmm(a, b)
    if not (input._data.dtype == a.dtype == b.dtype):
        x, y, z = (t.dtype.cpp_name for t in (input, batch1, batch2))
        raise RuntimeError(f"Input dtypes must be the same, got: input {x}, batch1: {y}, "
                           f"batch2: {z}")
    prod = np.matmul(wide(a), wide(b))
    return _scaled(BaddbmmBackward0, prod, input, batch1, batch2, beta, alpha)


def _addbmm_grads(g, x, y):
    if y is not None:
        gb = g.unsqueeze(0).expand(y._data.shape[0], *g._data.shape)
        gx = gb.bmm(y.transpose(1, 2))
    else:
        gx = None
    if x is not None:
        gb = g.unsqueeze(0).expand(x._data.shape[0], *g._data.shape)
        gy = x.transpose(1, 2).bmm(gb)
    else:
        gy = None
    return gx, gy


AddbmmBackward0 = node_class("AddbmmBackward0", _scaled_vjp(_addbmm_grads),
                             _scaled_jvp(lambda a, b: a.bmm(b).sum(0)))


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2).sum(0)``."""
    a, b = batch1._data, batch2._data
    _check_bmm(a, b)
    _addmm_dtypes(input, batch1, batch2)
    if is_half(a.dtype) and a.shape[0]:
        # NOTE [bfloat16 products]: PyTorch adds each batch's product into the half-precision
        # result in turn (an addmm per batch), so the sum is rounded after each
        _check_expand(input._data.shape, (a.shape[1], b.shape[2]))
        acc = np.broadcast_to(input._data, (a.shape[1], b.shape[2]))
        acc = _xp(a).zeros(acc.shape, a.dtype) if beta == 0 else acc * beta if beta != 1 else \
            acc
        for i in range(a.shape[0]):
            prod = np.matmul(a[i].astype(_F32), b[i].astype(_F32))
            acc = (prod * alpha + acc).astype(a.dtype)
        return _scaled(AddbmmBackward0, acc, input, batch1, batch2, beta, alpha, combined=True)
    prod = np.matmul(wide(a), wide(b)).sum(0) if a.shape[0] else \
        _xp(a).zeros((a.shape[1], b.shape[2]), a.dtype)
    return _scaled(AddbmmBackward0, prod, input, batch1, batch2, beta, alpha)


# ---- tensordot / kron / multi_dot: compositions of mm and views, as in PyTorch ----
def tensordot(a, b, dims=2, out=None):
    """Contract ``dims`` of ``a`` with ``dims`` of ``b`` (an int: the last ``dims`` of ``a``
    with the first of ``b``; or a pair of dim lists)."""
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(-dims, 0)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    sa, sb = a._data.shape, b._data.shape
    for i, j in zip(da, db):
        if sa[i] != sb[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sa[i]} "
                               f"in dim {i} and second has size {sb[j]} in dim {j}")
    ca = [d % na for d in da]
    cb = [d % nb for d in db]
    fa = [d for d in range(na) if d not in ca]
    fb = [d for d in range(nb) if d not in cb]
    k = int(np.prod([sa[d] for d in ca]))
    # NOTE: explicit sizes: -1 is ambiguous when a contracted dim is 0
    left = a.permute(*fa, *ca).reshape(int(np.prod([sa[d] for d in fa])), k)
    right = b.permute(*cb, *fb).reshape(k, int(np.prod([sb[d] for d in fb])))
    return left.mm(right).reshape([*[sa[d] for d in fa], *[sb[d] for d in fb]])


def kron(input, other):
    """Kronecker product: block (i, j) of the result is ``input[i, j] * other``."""
    n = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (n - input._data.ndim) + input._data.shape
    sb = (1,) * (n - other._data.ndim) + other._data.shape
    a = input.reshape([v for s in sa for v in (s, 1)])
    b = other.reshape([v for s in sb for v in (1, s)])
    return _unsafe_view(a * b, tuple(x * y for x, y in zip(sa, sb)))


def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices (the first may be a row vector, the last a column
    vector), multiplied in the order with the fewest flops."""
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    first, last = tensors[0]._data.ndim, tensors[-1]._data.ndim
    mats = list(tensors)
    if first == 1:
        mats[0] = mats[0].unsqueeze(0)
    if last == 1:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i, t in enumerate(mats):
        d = t._data.ndim
        if d != 2:
            which = "first" if i == 0 else "last" if i == n - 1 else None
            if which:
                raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got "
                                   f"{tensors[i]._data.ndim}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {d}D")
    for i in range(n - 1):
        if mats[i]._data.shape[1] != mats[i + 1]._data.shape[0]:
            s1, s2 = mats[i]._data.shape, mats[i + 1]._data.shape
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(s1)} and {list(s2)} "
                "cannot be multiplied")
    out_shape = ([mats[0]._data.shape[0]] if first == 2 else []) + \
        ([mats[-1]._data.shape[1]] if last == 2 else [])
    return _chain(mats, _chain_order([m._data.shape for m in mats]), 0, n - 1).view(out_shape)


def chain_matmul(*matrices, out=None):
    """``torch.chain_matmul`` (deprecated): ``linalg.multi_dot`` of the arguments."""
    warn_once("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
              "release. Use torch.linalg.multi_dot instead, which accepts a list of two or more "
              "tensors rather than multiple parameters.")
    for i, m in enumerate(matrices):  # (PyTorch reads the arguments as one tuple of Tensors)
        if not isinstance(m, Tensor):
            from ._checks import type_name

            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type_name(m)}")
    if len(matrices) == 1:
        return matrices[0].clone()
    return multi_dot(matrices)


def linalg_vander(x, *, N=None):
    """The Vandermonde matrix: columns ``x ** 0, x ** 1, ..., x ** (N - 1)``."""
    from .join import cat
    from .scan import cumprod

    if x._data.dtype == np.float16 or x.dtype.scalar_name == "BFloat16":
        raise RuntimeError("linalg.vander supports floating point, complex, and integer tensors, "
                           f"but got {x.dtype.scalar_name}")
    n = x._data.shape[-1] if x._data.ndim else 0
    n = n if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    ones = wrap(_xp(x._data).ones(x._data.shape + (1,), dtype=x._data.dtype))
    powers = cumprod(x.unsqueeze(-1).expand(*x._data.shape, n - 1), -1)
    return cat([ones, powers], -1)


def _chain_order(shapes):
    """Matrix-chain dynamic programme: split[i][j] is where the product i..j splits."""
    p = [shapes[0][0]] + [s[1] for s in shapes]
    n = len(shapes)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(mats, split, i, j):
    if i == j:
        return mats[i]
    k = split[i][j]
    return _chain(mats, split, i, k).mm(_chain(mats, split, k + 1, j))


tensordot = with_out(tensordot, False)
multi_dot = with_out(multi_dot, "mm")
chain_matmul = with_out(chain_matmul, "mm")

for _name in ("mm", "mv", "dot", "vdot", "inner", "bmm", "matmul", "outer", "ger", "addmm",
              "addmv", "addr", "baddbmm", "addbmm", "kron"):
    register(globals()[_name], _name)
register(_matmul_operator, "__matmul__", function=False, op="matmul")
register(tensordot, "tensordot", method=False)
register(chain_matmul, "chain_matmul", method=False)
register_inplace(addmm, addmv, addr, baddbmm, addbmm)
