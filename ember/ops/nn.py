"""Layers as functions: linear (one addmm, as PyTorch), bilinear, embedding, embedding_bag,
and the dropout family (dropout, dropout1d/2d/3d, alpha_dropout, feature_alpha_dropout).

Contract: PyTorch's signatures, shapes, graphs (the node names PyTorch's composites record)
and error messages. Dropout masks come from ember's default generator (``ember.manual_seed``
makes them reproducible; they do not follow PyTorch's stream). Sparse embedding gradients are
not supported. ``FUNCTIONAL`` lists the names ``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import dtypes as _dt
from .._size import Size
from ..autograd.grad_mode import STATE, no_grad
from ..backend import namespace
from ..tensor import zeros_as
from ._jvp import linear as _linear_jvp
from ._registry import node_class, record, recording, register, wrap
from .linalg import addmm
from .segment import add_rows, ufunc_at

FUNCTIONAL = ["linear", "bilinear", "embedding", "embedding_bag", "dropout", "dropout1d",
              "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]


def _xp(a):
    """The array namespace of ``a`` (NumPy without a lookup on the CPU path), where index
    tables for ``a`` are made (on ``a``'s device)."""
    return np if type(a) is np.ndarray else namespace(a)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: one ``addmm`` (rows folded for N-D input), as PyTorch."""
    if bias is None:
        return input.matmul(weight.t())
    _check_bias(input._data.shape, weight._data.shape, bias._data.shape)
    nd = input._data.ndim
    if nd == 2:
        return addmm(bias, input, weight.t())
    # NOTE: an explicit row count: -1 is ambiguous when in_features is 0
    rows = input.reshape(math.prod(input._data.shape[:-1]), input._data.shape[-1])
    return addmm(bias, rows, weight.t()).view(input._data.shape[:-1] + (weight._data.shape[0],))


def _check_bias(x, w, b):
    """PyTorch's error for a bias that does not broadcast to the (rows, out_features) result."""
    if len(w) != 2 or not x or x[-1] != w[1]:
        return  # addmm reports the shape mismatch
    rows = math.prod(x[:-1])
    target = (rows, w[0])
    for j in range(1, min(len(b), 2) + 1):
        if b[-j] != 1 and b[-j] != target[-j]:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[-j]}) must match the existing size "
                f"({b[-j]}) at non-singleton dimension {2 - j}.  Target sizes: "
                f"[{rows}, {w[0]}].  Tensor sizes: [{', '.join(str(s) for s in b)}]")


# ---- bilinear ----
def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``."""
    s1, s2, sw = input1._data.shape, input2._data.shape, weight._data.shape
    if len(s1) != len(s2):
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {len(s1)} and "
                           f"{len(s2)}")
    for k in range(len(s1) - 1):
        if s1[k] != s2[k]:
            raise RuntimeError("bilinear(): input batch dimensions do not match at dim "
                               f"{k}: got {s1[k]} and {s2[k]}")
    if len(sw) != 3:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{len(sw)}, "
                         f"{len(sw) - 1}], but got 2)")
    if s1[-1] != sw[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {s1[-1]} "
                           f"but expected {sw[1]}")
    if s2[-1] != sw[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {s2[-1]} "
                           f"but expected {sw[2]}")
    if bias is not None and bias._data.shape[:1] != sw[:1]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias._data.shape[0]} but expected {sw[0]}")
    o, i1, i2 = sw
    # NOTE: one mm against the weight folded to (I1, O * I2), then a product with input2
    # summed over I2: the same contraction as PyTorch's _trilinear, viewed back at the end.
    x1 = input1.reshape(-1, i1)
    x2 = input2.reshape(-1, i2)
    u = x1.mm(weight.permute(1, 0, 2).reshape(i1, o * i2)).view(-1, o, i2)
    out = (u * x2.unsqueeze(1)).sum(-1).view(tuple(s1[:-1]) + (o,))
    return out + bias if bias is not None else out


# ---- embedding ----
# NOTE [embedding rules]: embedding gathers rows, w[idx]; its VJP scatters (adds) the gradient
# rows back, scaled per index by ``coef`` (0 at padding_idx, 1/count with
# scale_grad_by_freq). The two are each other's transpose, so each one's rule is the other
# (with the same coef), which makes every order work; both are linear, so their JVPs are
# themselves on the tangents. (PyTorch's double backward drops the 1/count factor, so with
# scale_grad_by_freq its second derivative is not the transpose; ember's is.)

def _gather_rows(w, idx, coef):
    data = w._data[idx._data]
    if coef is not None:
        data = data * coef.reshape(coef.shape + (1,) * (data.ndim - coef.ndim))
        data = data.astype(w._data.dtype, copy=False)
    return data


def _scatter_rows(g, idx, n, coef):
    i = idx._data.reshape(-1)
    rows = g._data.reshape((i.size,) + g._data.shape[idx._data.ndim:])
    if coef is not None:
        rows = rows * coef.reshape((-1,) + (1,) * (rows.ndim - 1))
    return add_rows(n, i, rows.astype(g._data.dtype, copy=False))


def _embedding_vjp(ctx, g):
    idx, = ctx.saved_tensors
    n, coef, grad_coef = ctx.args
    return (embedding_dense_backward(g, idx, n, grad_coef),)


def _dense_backward_vjp(ctx, gg):
    idx, = ctx.saved_tensors
    n, coef = ctx.args
    return (_embedding_rows(gg, idx, n, coef, coef),)


EmbeddingBackward0 = node_class(
    "EmbeddingBackward0", _embedding_vjp,
    _linear_jvp(lambda ctx, dw: _embedding_rows(dw, ctx.saved_tensors[0], *ctx.args)))
EmbeddingDenseBackwardBackward0 = node_class(
    "EmbeddingDenseBackwardBackward0", _dense_backward_vjp,
    _linear_jvp(lambda ctx, dg: embedding_dense_backward(dg, ctx.saved_tensors[0], *ctx.args)))


def _embedding_rows(w, idx, n, coef, grad_coef):
    """``w[idx]`` (times ``coef`` per index); its rule scatters with ``grad_coef``."""
    data = _gather_rows(w, idx, coef)
    if STATE.enabled and recording(w):
        return record(EmbeddingBackward0, data, (w,), save=(idx,), args=(n, coef, grad_coef))
    return wrap(data)


def embedding_dense_backward(g, idx, n, coef):
    """The gradient of ``embedding``: the rows of ``g`` added into an ``n``-row table at
    ``idx`` (each scaled by ``coef``)."""
    data = _scatter_rows(g, idx, n, coef)
    if STATE.enabled and recording(g):
        return record(EmbeddingDenseBackwardBackward0, data, (g,), save=(idx,),
                      args=(n, coef))
    return wrap(data)


def _renorm_rows(weight, idx, max_norm, norm_type):
    # NOTE: PyTorch's embedding_renorm_: rows used by idx whose norm exceeds max_norm are scaled
    # in place to max_norm (with its 1e-7 guard), outside autograd.
    rows = np.unique(idx._data)
    w = weight._data[rows]
    norms = np.sum(np.abs(w) ** norm_type, axis=1) ** (1.0 / norm_type)
    over = norms > max_norm
    if over.any():
        scale = max_norm / (norms[over] + 1e-7)
        with no_grad():
            new = (w[over] * scale[:, None]).astype(w.dtype)
            weight[wrap(rows[over])] = wrap(new)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer ``input``; ``padding_idx``'s row gets no
    gradient, ``max_norm`` renormalises the used rows in place, ``scale_grad_by_freq``
    divides each row's gradient by how often it occurs in ``input``."""
    n = weight._data.shape[0]
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = n + padding_idx
    idx = input._data
    if idx.dtype.kind not in "iu":
        name = _dt.from_np(idx.dtype).scalar_name
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got torch."
                           f"{name}Tensor instead (while checking arguments for embedding)")
    if weight._data.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    if sparse:
        raise NotImplementedError("ember.nn.functional.embedding: sparse gradients are not "
                                  "supported; use sparse=False")
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    coef = None
    if padding_idx is not None or scale_grad_by_freq:
        flat = idx.reshape(-1)
        c = np.ones_like(flat, dtype=np.float64, order="C")
        if scale_grad_by_freq:
            c = c / np.bincount(flat, minlength=n)[flat]
        if padding_idx is not None:
            c = np.where(flat == padding_idx, 0.0, c)
        coef = c.reshape(idx.shape).astype(weight._data.dtype)
    return _embedding_rows(weight, input, n, None, coef)


def _torch_embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                     scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


# ---- embedding_bag ----
# NOTE [embedding_bag as gathers and scatters]: out[b] = sum over the bag's positions i of
# w[idx[i]] * C[i] * psw[i]: C is the per-index coefficient (1 for 'sum', 1/bag size for
# 'mean', 0 at padding_idx) or, for 'max', a (L, D) mask selecting each bag's first maximal
# row per column. The rule is then made of embedding's gather (_embedding_rows) and scatter
# (embedding_dense_backward) ops, so it is differentiable again.

def _seg_sum(t, bag_of, n_bags):
    return embedding_dense_backward(t, bag_of, n_bags, None)


def _rows_of(t, ids):
    return _embedding_rows(t, ids, t._data.shape[0], None, None)


def _bag_vjp(ctx, g):
    idx, bag_of, coef, w, psw = ctx.saved_tensors
    n, freq = ctx.args
    gw = gp = None
    gathered = _rows_of(g, bag_of) * coef
    if ctx.next_functions[0][0] is not None:
        gw = embedding_dense_backward(gathered if psw is None else gathered * psw.unsqueeze(1),
                                      idx, n, freq)
    if ctx.next_functions[1][0] is not None:
        gp = (gathered * _rows_of(w, idx)).sum(-1)
    return (gw, gp)


def _bag_jvp(ctx, dw, dpsw):
    idx, bag_of, coef, w, psw = ctx.saved_tensors
    n_bags = ctx._meta[0][0][0]
    out = None
    if dw is not None:
        rows = _rows_of(dw, idx) * coef
        out = _seg_sum(rows if psw is None else rows * psw.unsqueeze(1), bag_of, n_bags)
    if dpsw is not None:
        c = _seg_sum(_rows_of(w, idx) * coef * dpsw.unsqueeze(1), bag_of, n_bags)
        out = c if out is None else out + c
    return out


EmbeddingBagBackward0 = node_class("EmbeddingBagBackward0", _bag_vjp, _linear_jvp(_bag_jvp))


def _type_str(obj):
    from ..tensor import Tensor

    return "<class 'torch.Tensor'>" if isinstance(obj, Tensor) else str(type(obj))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of ``weight`` rows: the bags are the rows of a 2-D
    ``input``, or the runs of a 1-D ``input`` starting at ``offsets``."""
    psw = per_sample_weights
    if psw is not None and input._data.shape != psw._data.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({Size(psw._data.shape)}) is "
                         "not None, then it must have the same shape as the input "
                         f"({Size(input._data.shape)})")
    if weight._data.ndim != 2:
        raise ValueError(
            f"weight has to be a 2D Tensor, but got Tensor of dimension {weight._data.ndim}")
    x = input._data
    if x.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found "
                             f"offsets of type {_type_str(offsets)}")
        xp = _xp(x)
        starts = xp.arange(0, x.size, x.shape[1]) if x.shape[1] else \
            xp.zeros(x.shape[0], np.int64)
        include_last_offset = False
        x = x.reshape(-1)
    elif x.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets._data.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = offsets._data
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {x.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if psw is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")
    for t in (x, starts):
        # NOTE: PyTorch names the indices in this message for non-integer offsets too.
        if t.dtype.kind not in "iu":
            tname = _dt.from_np(t.dtype).scalar_name
            raise RuntimeError(
                "Expected tensor for argument #1 'indices' to have one of the following scalar "
                f"types: Long, Int; but got torch.{tname}Tensor instead (while checking arguments "
                "for embedding_bag)")
    if sparse:
        raise NotImplementedError("ember.nn.functional.embedding_bag: sparse gradients are not "
                                  "supported; use sparse=False")
    n, dim = weight._data.shape
    length = x.size
    if starts.size and starts[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {int(starts[0])}\n"
                           "[ torch.LongTensor{} ]")
    if starts.size and starts[-1] > length:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {length} but "
                           f"got offsets[-1] of {int(starts[-1])}")
    bad = (x < 0) | (x >= n)
    if bad.any():
        i = int(np.argmax(bad))
        if weight._data.dtype == np.float32 and mode != "max":  # PyTorch's fbgemm path
            raise RuntimeError(f"Index {i} of input takes value {int(x[i])} which is not in "
                               f"the valid range [0, {n})")
        raise RuntimeError("embedding_bag: Expected idx >= 0 && idx < num_embeddings but found "
                           f"idx to be {int(x[i])}")
    if padding_idx is not None:
        if padding_idx >= n or padding_idx < -n:
            raise AssertionError("padding_idx must be within the number of embeddings")
        padding_idx = padding_idx % n
    if max_norm is not None:
        _renorm_rows(weight, wrap(x), max_norm, norm_type)
    n_bags = starts.size - 1 if include_last_offset else starts.size
    pos = _xp(x).arange(length)
    # NOTE: as PyTorch's CPU kernel, the last bag runs to the end of the input even with
    # include_last_offset (the last offset only ends the count of bags).
    in_bag = pos < (length if n_bags else 0)
    bag_of = np.clip(np.searchsorted(starts[:n_bags], pos, side="right") - 1, 0, None)
    valid = in_bag & ((x != padding_idx) if padding_idx is not None else True)
    dtype = weight._data.dtype
    if mode == "max":
        rows = np.where(valid[:, None], weight._data[x], -np.inf)
        best = np.full_like(weight._data, -np.inf, shape=(n_bags, dim), order="C")
        ufunc_at(np.maximum, best, bag_of[valid], rows[valid])  # (NumPy's NaN rule on devices)
        first = np.where(rows == best[bag_of], pos[:, None], length)
        arg = np.full_like(x, length, shape=(n_bags, dim), dtype=np.int64, order="C")
        ufunc_at(np.minimum, arg, bag_of, first)  # (int64: no CuPy minimum.at)
        coef = (pos[:, None] == arg[bag_of]) & valid[:, None]
    else:
        c = valid.astype(np.float64)
        if mode == "mean":
            counts = np.bincount(bag_of[valid], minlength=n_bags)
            c = c / np.maximum(counts, 1)[bag_of]
        coef = c[:, None]
    coef = coef.astype(dtype)
    rows = weight._data[x] * coef
    if psw is not None:
        rows = rows * psw._data.reshape(-1, 1)
    data = zeros_as(weight._data, shape=(n_bags, dim), order="C")
    np.add.at(data, bag_of[in_bag], rows[in_bag])
    if STATE.enabled and recording(weight, psw):
        freq = None
        if scale_grad_by_freq:
            freq = (1.0 / np.bincount(x, minlength=n)[x]).astype(dtype)
        psw_flat = psw.reshape(-1) if psw is not None else None
        return record(EmbeddingBagBackward0, data, (weight, psw_flat),
                      save=(wrap(x), wrap(np.where(in_bag, bag_of, 0)),
                            wrap(coef * in_bag[:, None]), weight, psw_flat),
                      args=(n, freq))
    return wrap(data)


# ---- dropout ----
_SELU_ALPHA_PRIME = 1.7580993408473766


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_impl(input, p, train, inplace, feature=False, alpha=False):
    """PyTorch's _dropout_impl: ``input * noise`` (alpha: ``+ b``), noise shaped ``(N, C, 1,
    ...)`` for feature dropout; the input itself when there is nothing to drop."""
    from ..random import dropout_keep

    _check_p(p)
    x = input._data
    if p == 0 or not train or x.size == 0:
        return input
    if p == 1:
        zero = wrap(zeros_as(x, shape=(), order="C"))
        return input.mul_(zero) if inplace else input * zero
    if feature:
        if x.ndim < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = x.shape[:2] + (1,) * (x.ndim - 2)
    else:
        shape = x.shape
    # PyTorch's mask: bernoulli_(1 - p) on a tensor laid out like the input (or the feature
    # shape), two words per element
    like = x if shape == x.shape else np.empty_like(x, shape=shape, dtype=np.uint8, order="C")
    keep = dropout_keep(like, 1 - p)
    if alpha:
        a = 1.0 / np.sqrt((_SELU_ALPHA_PRIME ** 2 * p + 1) * (1 - p))
        b = wrap(((keep - 1.0) * (_SELU_ALPHA_PRIME * a) + _SELU_ALPHA_PRIME * a * p)
                 .astype(x.dtype))
        noise = wrap((keep * a).astype(x.dtype))
        return input.mul_(noise).add_(b) if inplace else input * noise + b
    noise = wrap(_keep_scale(keep, p, x.dtype))
    return input.mul_(noise) if inplace else input * noise


def _keep_scale(keep, p, dtype):
    """``mask / (1 - p)`` as PyTorch rounds it: ``1 - p`` and the quotient in float32 for the
    float32 and half types (then rounded to the half type), in float64 for float64."""
    if dtype == np.float64:
        kept = 1.0 / (1.0 - p)
    else:
        kept = (np.float32(1.0) / np.float32(1.0 - p)).astype(dtype)
    noise = keep.astype(dtype)
    noise *= kept  # (a product, not np.where: a select on a random mask is ~10x slower)
    return noise


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    _check_p(p)
    return _dropout_impl(input, p, training, inplace)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped elements take SELU's negative saturation value, then
    an affine map keeps the mean and variance."""
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (dim 1)."""
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=True)


def _feature_dropout(input, p, training, inplace, batched):
    if not batched:
        input = input.unsqueeze_(0) if inplace else input.unsqueeze(0)
    result = _dropout_impl(input, p, training, inplace, feature=True)
    if not batched:
        result = result.squeeze_(0) if inplace else result.squeeze(0)
    return result


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input."""
    _check_p(p)
    nd = input._data.ndim
    if nd not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    return _feature_dropout(input, p, training, inplace, nd == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, H, W)`` input (3-D input: as dropout1d, as PyTorch)."""
    _check_p(p)
    nd = input._data.ndim
    if nd not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _dropout_impl(input, p, training, inplace, feature=True)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""
    _check_p(p)
    nd = input._data.ndim
    if nd not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, nd == 5)


def _torch_dropout(name, impl_kw):
    def op(input, p, train):
        return _dropout_impl(input, p, train, False, **impl_kw)

    def op_(input, p, train):
        return _dropout_impl(input, p, train, True, **impl_kw)
    op.__name__, op_.__name__ = name, name + "_"
    return op, op_


# ==== registration =========================================================================
register(bilinear, method=False)
register(_torch_embedding, "embedding", method=False)
for _name, _kw in (("dropout", {}), ("alpha_dropout", {"alpha": True}),
                   ("feature_dropout", {"feature": True}),
                   ("feature_alpha_dropout", {"feature": True, "alpha": True})):
    for _fn in _torch_dropout(_name, _kw):
        register(_fn, method=False)
