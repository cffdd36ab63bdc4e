"""Losses: nll_loss, cross_entropy (class indices or probabilities, weights, ignore_index,
label_smoothing, K-dim targets), binary_cross_entropy_with_logits, mse_loss, and the rest of
``nn.functional``'s losses.

Contract: PyTorch's signatures, reductions ('mean', 'sum', 'none', and the legacy
size_average/reduce), argument checks and messages; stable forwards; fused rules in ember ops
(twice differentiable). ``FUNCTIONAL`` lists the names ``ember.nn.functional`` exports.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from .._size import Size
from ..autograd.grad_mode import STATE
from ._jvp import ALL, fiberwise
from ._registry import float_data, node_class, record, recording, register, wrap
from .activation import log_softmax
from .pointwise import div_scalar
from .reduction import scatter_along

FUNCTIONAL = ["nll_loss", "cross_entropy", "binary_cross_entropy_with_logits", "mse_loss"]


# ---- nll_loss ----
def _nll_vjp(ctx, g):
    target, weight = ctx.saved_tensors
    in_shape, reduction, ignore_index, total = ctx.args
    # d loss / d input[n, target[n]] = -w[target[n]] (/ total weight for 'mean')
    tdata = target._data
    valid = tdata != ignore_index
    safe = np.where(valid, tdata, 0)
    w = weight._data[safe] if weight is not None else np.ones(safe.shape, dtype=g._data.dtype)
    w = np.where(valid, w, 0).astype(g._data.dtype)
    scale = wrap(-w)
    if reduction == "mean":
        scale = scale / total
    coeff = g * scale  # g is a scalar unless reduction == 'none'
    idx = wrap(np.expand_dims(safe, 1))
    return (scatter_along(coeff.unsqueeze(1), in_shape, 1, idx),)


def _nll_dims(ctx):
    in_shape, reduction = ctx.args[0], ctx.args[1]
    if reduction == "none" and ctx._meta[0][0] != ():
        return (1,), False  # each loss depends on its own row of classes
    return tuple(range(len(in_shape))), False


NllLossBackward0 = node_class("NllLossBackward0", _nll_vjp, fiberwise(_nll_dims))
NllLoss2DBackward0 = node_class("NllLoss2DBackward0", _nll_vjp, fiberwise(_nll_dims))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class-index ``target`` under log-probabilities ``input``
    (shape (N, C), (C,) or (N, C, d1, ...))."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if input._data.ndim == 3 or input._data.ndim > 4:
        # NOTE: PyTorch views other K-dim inputs as 4-D (N, C, d1, rest) for nll_loss2d and
        # views a 'none' result back, so the graph holds the same nodes.
        n, c, d1 = input._data.shape[:3]
        if target._data.shape[1:] != input._data.shape[2:]:
            raise RuntimeError(f"size mismatch (got input: {Size(input._data.shape)}, target: "
                               f"{Size(target._data.shape)})")
        out = nll_loss(input.reshape(n, c, d1, -1), target.reshape(n, d1, -1), weight,
                       ignore_index=ignore_index, reduction=reduction)
        return out.view(target._data.shape) if reduction == "none" else out
    x = input._data
    t = target._data
    if t.dtype.kind not in "iu":
        raise RuntimeError(
            f"expected scalar type Long but found {_dt.from_np(t.dtype).scalar_name}")
    if x.ndim == 1:
        if t.ndim != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        x2, t2 = x[None, :], t[None]
    else:
        if x.shape[0] != t.shape[0]:
            raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target "
                             f"batch_size ({t.shape[0]}).")
        if x.ndim > 2 and t.shape[1:] != x.shape[2:]:
            raise RuntimeError(f"size mismatch (got input: {Size(x.shape)}, target: "
                               f"{Size(t.shape)})")
        x2, t2 = x, t
    n_classes = x2.shape[1]
    valid = t2 != ignore_index
    bad = valid & ((t2 < 0) | (t2 >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t2[bad][0])} is out of bounds.")
    safe = np.where(valid, t2, 0)
    picked = np.take_along_axis(x2, np.expand_dims(safe, 1), axis=1).squeeze(1)
    w = weight._data[safe] if weight is not None else np.ones(safe.shape, dtype=x.dtype)
    w = np.where(valid, w, 0).astype(x.dtype)
    losses = -picked * w
    total = None
    if reduction == "none":
        data = losses if x.ndim != 1 else losses[0]
    elif reduction == "sum":
        data = np.asarray(losses.sum(dtype=x.dtype))
    elif reduction == "mean":
        total = w.sum(dtype=x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            data = np.asarray(losses.sum(dtype=x.dtype) / total)
    else:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if STATE.enabled and recording(input, weight):
        node = NllLoss2DBackward0 if x.ndim == 4 else NllLossBackward0
        src_shape = x2.shape
        tgt = target if x.ndim != 1 else wrap(t2)
        # NOTE: for 1-D input the rule works on (1, C); the engine sums that back to (C,).
        return record(node, data, (input,), save=(tgt, weight),
                      args=(src_shape, reduction, ignore_index, total))
    return wrap(data)


def _reduce(losses, reduction):
    """Elementwise losses reduced as ``reduction`` says ('mean', 'sum' or 'none')."""
    if reduction == "mean":
        return np.asarray(losses.mean(dtype=losses.dtype))
    if reduction == "sum":
        return np.asarray(losses.sum(dtype=losses.dtype))
    if reduction == "none":
        return losses
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _legacy_reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits ``input`` with class-index or class-probability ``target``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    class_dim = 0 if input._data.ndim == 1 else 1
    logp = log_softmax(input, class_dim)
    if target._data.dtype.kind in "fV" and target._data.shape == input._data.shape:
        # class probabilities
        n_classes = input._data.shape[class_dim]
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        w = logp if weight is None else logp * _class_shape(weight, input._data.ndim, class_dim)
        losses = -(w * target).sum(class_dim)
        if reduction == "none":
            return losses
        if reduction == "sum":
            return losses.sum()
        return div_scalar(losses.sum(), losses._data.size if input._data.ndim > 1 else 1)
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got "
            f"{_dt.from_np(target._data.dtype).scalar_name}")
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0:
        return nll
    n_classes = input._data.shape[class_dim]
    w = logp if weight is None else logp * _class_shape(weight, input._data.ndim, class_dim)
    smooth = -w.sum(class_dim)
    valid = wrap(target._data != ignore_index)
    smooth = smooth * valid
    if reduction == "none":
        pass
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        if weight is not None:
            denom = wrap(weight._data[np.where(target._data != ignore_index, target._data, 0)] *
                         (target._data != ignore_index)).sum()
        else:
            denom = valid.sum()
        smooth = smooth.sum() / denom
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _class_shape(weight, ndim, class_dim):
    shape = [1] * ndim
    shape[class_dim] = -1
    return weight.reshape(shape)


# ---- binary_cross_entropy_with_logits ----
def _loss_dims(ctx):
    """Reduced dims of an elementwise loss: none, or all of them (``ALL``)."""
    return (() if ctx.args[0] == "none" else ALL), False


def _bce_logits_vjp(ctx, g):
    x, t, w, pw = ctx.saved_tensors
    reduction, n = ctx.args
    if reduction == "mean":
        g = g / n
    sig = x.sigmoid()
    if pw is None:
        gx = sig - t
    else:
        c = (pw - 1) * t + 1
        gx = c * sig - pw * t
    if w is not None:
        gx = gx * w
    gx = g * gx
    gt = None
    if ctx.next_functions[1][0] is not None:
        gt = -x if pw is None else (pw - 1) * _softplus(-x) - x
        if w is not None:
            gt = gt * w
        gt = g * gt
    return (gx, gt)


def _softplus(x):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), written in ember ops
    return x.relu() + (-x.abs()).exp().log1p()


BinaryCrossEntropyWithLogitsBackward0 = node_class(
    "BinaryCrossEntropyWithLogitsBackward0", _bce_logits_vjp, fiberwise(_loss_dims))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable op."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Target size ({Size(target._data.shape)}) must be the same as input "
                         f"size ({Size(input._data.shape)})")
    x = float_data(input._data)
    t = target._data.astype(x.dtype, copy=False)
    sp_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))  # softplus(-x)
    if pos_weight is None:
        loss = (1 - t) * x + sp_neg
    else:
        c = (pos_weight._data - 1) * t + 1
        loss = (1 - t) * x + c * sp_neg
    if weight is not None:
        loss = loss * weight._data
    loss = loss.astype(x.dtype, copy=False)
    n = loss.size
    data = _reduce(loss, reduction)
    if STATE.enabled and recording(input, target, weight, pos_weight):
        return record(BinaryCrossEntropyWithLogitsBackward0, data, (input, target),
                      save=(input, target, weight, pos_weight), args=(reduction, n))
    return wrap(data)


# ---- mse_loss ----
def _mse_vjp(ctx, g):
    x, y = ctx.saved_tensors
    reduction, n = ctx.args
    d = (x - y) * 2.0
    if reduction == "mean":
        d = d / n
    gd = g * d
    return (gd if ctx.next_functions[0][0] is not None else None,
            -gd if ctx.next_functions[1][0] is not None else None)


MseLossBackward0 = node_class("MseLossBackward0", _mse_vjp, fiberwise(_loss_dims))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (``reduction`` 'mean', 'sum' or 'none')."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if target._data.shape != input._data.shape:
        warnings.warn(
            f"Using a target size ({Size(target._data.shape)}) that is different to the input "
            f"size ({Size(input._data.shape)}). This will likely lead to incorrect results due "
            "to broadcasting. Please ensure they have the same size.", UserWarning, stacklevel=2)
    a, b = np.broadcast_arrays(input._data, target._data)
    diff = (a - b)
    sq = diff * diff
    data = _reduce(sq, reduction)
    if STATE.enabled and recording(input, target):
        return record(MseLossBackward0, data, (input, target), save=(input, target),
                      args=(reduction, sq.size))
    return wrap(data)



register(nll_loss, method=False)
register(cross_entropy, method=False)
register(binary_cross_entropy_with_logits, method=False)
