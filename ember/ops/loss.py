"""Classification losses, and the reduction helpers every loss shares.

- classification: nll_loss, cross_entropy (class indices or probabilities, weights,
  ignore_index, label_smoothing, K-dim targets), binary_cross_entropy(_with_logits),
  soft_margin_loss, multilabel_soft_margin_loss, multi_margin_loss, multilabel_margin_loss,
  ctc_loss.

The regression, distribution and ranking losses (mse_loss ... triplet_margin_loss) live in
``loss_regression``.

Contract: PyTorch's signatures, reductions ('mean', 'sum', 'none', and the legacy
size_average/reduce with its warning), argument checks and messages, and graphs: a loss with
its own node in PyTorch (NllLossBackward0, BinaryCrossEntropyBackward0...) has one here, with a
fused rule in ember ops (twice differentiable; ctc_loss once, as PyTorch); a loss PyTorch
composes is composed of the same ember ops, so its grad_fn is that of its last op. Stable
forwards (softplus via log1p(exp(-|x|)), logs clamped at -100 in binary_cross_entropy).
``FUNCTIONAL`` lists the names ``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from .._size import Size
from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import as_array, device_of, on_device, to_host, zeros_as
from ._jvp import ALL, fiberwise
from ._registry import arrays_only, float_data, node_class, record, recording, register, wrap
from .activation import log_softmax
from .pointwise import check_broadcast, div_scalar
from .reduction import HALF, rounded, scatter_along
from .select import where
from .unary import bounded


def _xp(a):
    """The array namespace of ``a`` (NumPy without a lookup on the CPU path), where index
    tables and buffers for ``a`` are made (on ``a``'s device)."""
    return np if type(a) is np.ndarray else namespace(a)


FUNCTIONAL = ["nll_loss", "cross_entropy", "binary_cross_entropy_with_logits",
              "binary_cross_entropy", "soft_margin_loss", "multilabel_soft_margin_loss",
              "multi_margin_loss", "multilabel_margin_loss", "ctc_loss"]


# ---- nll_loss ----
def _nll_vjp(ctx, g):
    target, weight = ctx.saved_tensors
    in_shape, reduction, ignore_index, total = ctx.args
    # d loss / d input[n, target[n]] = -w[target[n]] (/ total weight for 'mean')
    tdata = target._data
    valid = tdata != ignore_index
    if (weight is None and len(in_shape) == 2 and reduction != "none" and arrays_only()
            and valid.all()):
        # NOTE: the usual classifier loss with no graph to build: the same values on arrays,
        # written into zeros as PyTorch's kernel does (so a zero g leaves -0.0 at the targets
        # as PyTorch's; the general path below adds into zeros and leaves +0.0).
        scale = g._data.dtype.type(-1)  # every weight is 1
        if reduction == "mean":
            scale = scale / total
        grad = zeros_as(g._data, shape=in_shape, order="C")
        grad[_xp(tdata).arange(in_shape[0]), tdata] = g._data * scale
        return (wrap(grad),)
    safe = np.where(valid, tdata, 0)
    w = weight._data[safe] if weight is not None else \
        np.ones_like(safe, dtype=g._data.dtype, order="C")
    w = np.where(valid, w, 0).astype(g._data.dtype)
    if reduction == "mean":
        # NOTE: an ignored target's gradient is 0 even when every target is ignored (a total
        # weight of 0); a zero class weight's is nan (-0 / 0), as PyTorch's.
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(valid, -w / total, 0).astype(w.dtype, copy=False)
    else:
        w = -w
    scale = wrap(w)
    coeff = g * scale  # g is a scalar unless reduction == 'none'
    idx = wrap(np.expand_dims(safe, 1))
    return (scatter_along(coeff.unsqueeze(1), in_shape, 1, idx),)


def _nll_dims(ctx):
    in_shape, reduction = ctx.args[0], ctx.args[1]
    if reduction == "none" and ctx._meta[0][0] != ():
        return (1,), False  # each loss depends on its own row of classes
    return tuple(range(len(in_shape))), False


def _nll_mean(ctx):
    return ctx.args[1] == "mean"  # NOTE [empty fibers]


NllLossBackward0 = node_class("NllLossBackward0", _nll_vjp, fiberwise(_nll_dims, _nll_mean))
NllLoss2DBackward0 = node_class("NllLoss2DBackward0", _nll_vjp, fiberwise(_nll_dims, _nll_mean))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class-index ``target`` under log-probabilities ``input``
    (shape (N, C), (C,) or (N, C, d1, ...))."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x, t = input._data, target._data
    _check_nll_shapes(x.shape, t.shape)
    if x.ndim == 3 or x.ndim > 4:
        # NOTE: PyTorch views other K-dim inputs as 4-D (N, C, d1, rest) for nll_loss2d and
        # views a 'none' result back, so the graph holds the same nodes.
        n, c, d1 = x.shape[:3]
        out = nll_loss(input.reshape(n, c, d1, -1), target.reshape(n, d1, -1), weight,
                       ignore_index=ignore_index, reduction=reduction)
        return out.view(t.shape) if reduction == "none" else out
    if weight is not None:
        _not_differentiable("nll_loss2d_forward" if x.ndim == 4 else "nll_loss_forward",
                            weight=weight)
    _check_class_target(t)
    if weight is not None:
        _check_class_weight(weight, x.shape[0 if x.ndim == 1 else 1])
    elif x.ndim == 2 and reduction != "none" and t.size and not 0 <= ignore_index < x.shape[1] \
            and t.min() >= 0 and t.max() < x.shape[1]:
        # NOTE: the usual case (a batch of class indices, all in range, none ignored, no
        # weights): the general path below with its all-ones weights and masks left out;
        # the same values.
        data = -x[_xp(x).arange(x.shape[0]), t]
        total = x.dtype.type(x.shape[0])
        data = as_array(data.sum(dtype=x.dtype) if reduction == "sum" else
                        data.sum(dtype=x.dtype) / total)
        if STATE.enabled and recording(input):
            return record(NllLossBackward0, data, (input,), save=(target, None),
                          args=(x.shape, reduction, ignore_index, total))
        return wrap(data)
    x2, t2 = (x[None, :], t.reshape(1)) if x.ndim == 1 else (x, t)
    n_classes = x2.shape[1]
    valid = t2 != ignore_index
    bad = valid & ((t2 < 0) | (t2 >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t2[bad][0])} is out of bounds.")
    safe = np.where(valid, t2, 0)
    picked = np.take_along_axis(x2, np.expand_dims(safe, 1), axis=1).squeeze(1)
    w = weight._data[safe] if weight is not None else np.ones_like(safe, dtype=x.dtype, order="C")
    w = np.where(valid, w, 0).astype(x.dtype)
    losses = -picked * w
    total = None
    if reduction == "none":
        data = losses if x.ndim != 1 else losses[0]
    elif reduction == "sum":
        data = as_array(losses.sum(dtype=x.dtype))
    elif reduction == "mean":
        total = w.sum(dtype=x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            data = as_array(losses.sum(dtype=x.dtype) / total)
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


def _check_nll_shapes(xs, ts):
    """PyTorch's shape checks of nll_loss, in its order (before the target's dtype)."""
    if len(xs) < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {len(xs)})")
    if len(xs) != 1 and ts and xs[0] != ts[0]:
        raise ValueError(f"Expected input batch_size ({xs[0]}) to match target batch_size "
                         f"({ts[0]}).")
    if len(xs) == 1 and len(ts) == 1 and ts[0] != 1:
        raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                         f"{ts[0]}")
    if len(xs) <= 2 and len(ts) > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if len(xs) == 4 and ts[1:] != xs[2:]:
        raise RuntimeError(f"size mismatch (got input: {list(xs)} , target: {list(ts)}")
    if len(xs) > 2 and len(xs) != 4 and ts != (xs[0],) + xs[2:]:
        raise RuntimeError(f"Expected target size {[xs[0], *xs[2:]]}, got {list(ts)}")


def _check_class_weight(weight, n_classes, op=""):
    if weight._data.shape != (n_classes,):
        raise RuntimeError(f"{op}weight tensor should be defined either for all {n_classes} "
                           "classes or no classes but got weight tensor of shape: "
                           f"{list(weight._data.shape)}")


def _check_class_target(t):
    if t.dtype != np.int64 and t.dtype != np.uint8:
        raise RuntimeError("expected target dtype to be Long or Byte, but got "
                           f"{_dt.from_np(t.dtype).scalar_name}")


def _reduce(losses, reduction):
    """Elementwise losses reduced as ``reduction`` says ('mean', 'sum' or 'none')."""
    if reduction == "mean":
        if losses.size == 0:  # NOTE: PyTorch's mean of nothing is nan, without a warning
            return np.full_like(losses, np.nan, shape=(), order="C")
        if losses.dtype in HALF:  # NOTE: accumulated in float32, see reduction.HALF
            return rounded(losses.mean(dtype=np.float32), losses.dtype)
        return as_array(losses.mean(dtype=losses.dtype))
    if reduction == "sum":
        if losses.dtype in HALF:
            return rounded(losses.sum(dtype=np.float32), losses.dtype)
        return as_array(losses.sum(dtype=losses.dtype))
    if reduction == "none":
        return losses
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _legacy_reduction(size_average, reduce, reduction):
    """The reduction the legacy ``size_average``/``reduce`` flags select, else ``reduction``
    (checked as PyTorch's ``_Reduction.get_enum`` does)."""
    if size_average is None and reduce is None:
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{reduction} is not a valid value for reduction")
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    return reduction


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits ``input`` with class-index or class-probability ``target``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if label_smoothing > 1.0:  # NOTE: PyTorch accepts (and ignores) a negative one
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input._data.ndim == 1 else 1
    if target._data.shape == input._data.shape:  # class probabilities
        if target._data.dtype.kind not in "fV":
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {_dt.from_np(target._data.dtype).scalar_name}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        n_classes = input._data.shape[class_dim]
        if weight is not None:
            _check_class_weight(weight, n_classes, "cross_entropy: ")
        logp = log_softmax(input, class_dim)
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        w = logp if weight is None else logp * _class_shape(weight, input._data.ndim, class_dim)
        if reduction == "sum":
            return -(w * target).sum()  # NegBackward0, as PyTorch
        losses = -(w * target).sum(class_dim)
        if reduction == "none":
            return losses
        if input._data.size == 0:  # NOTE: PyTorch's graph for a mean over no samples
            return -(w * target).sum().fill_(float("nan"))
        return div_scalar(losses.sum(), losses._data.size if input._data.ndim > 1 else 1)
    logp = log_softmax(input, class_dim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0:
        return nll
    n_classes = input._data.shape[class_dim]
    w = logp if weight is None else logp * _class_shape(weight, input._data.ndim, class_dim)
    smooth = -w.sum(class_dim)
    valid = wrap(target._data != ignore_index)
    # NOTE: masked (not multiplied by the mask), so that an ignored target's gradient is 0
    # rather than 0 * inf when every target is ignored
    smooth = smooth.masked_fill(valid.logical_not(), 0.0)
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
        # NOTE: no weight to average over (every target ignored): nan, as PyTorch, without
        # dividing by zero (0 / 0 here, inf in the backward)
        smooth = smooth.sum() * float("nan") if float(denom) == 0 else smooth.sum() / denom
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _class_shape(weight, ndim, class_dim):
    shape = [1] * ndim
    shape[class_dim] = -1
    return weight.reshape(shape)


def _not_differentiable(op, **args):
    """PyTorch's error for a tensor argument with no derivative formula that requires grad."""
    for name, t in args.items():
        if t is not None and STATE.enabled and recording(t):
            raise RuntimeError(f"The function '{op}' is not differentiable with respect to "
                               f"argument '{name}'. This input cannot have requires_grad True.")


# ---- binary_cross_entropy_with_logits ----
def _is_mean(ctx):
    """Whether a loss node (``ctx.args[0]`` its reduction) takes a mean (NOTE [empty fibers])."""
    return ctx.args[0] == "mean"


def _loss_dims(ctx):
    """Reduced dims of an elementwise loss: none, or all of them (``ALL``)."""
    return (() if ctx.args[0] == "none" else ALL), False


def _bce_logits_vjp(ctx, g):
    x, t, w, pw = ctx.saved_tensors
    reduction, n = ctx.args
    if reduction == "mean":
        g = g / _count(n)
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
    "BinaryCrossEntropyWithLogitsBackward0", _bce_logits_vjp, fiberwise(_loss_dims, _is_mean))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable op."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _not_differentiable("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Target size ({Size(target._data.shape)}) must be the same as input "
                         f"size ({Size(input._data.shape)})")
    x = float_data(input._data)
    # PyTorch's kernel computes (1 - target) first and multiplies into it in place: the loss
    # has a floating target's dtype (float32 input, float64 target -> float64, and back)
    out_dtype = target._data.dtype if target._data.dtype.kind in "fV" else x.dtype
    t = target._data.astype(np.result_type(x.dtype, out_dtype), copy=False)
    sp_neg = bounded(np.maximum, -x, 0) + np.log1p(np.exp(-np.abs(x)))  # softplus(-x)
    if pos_weight is None:
        loss = (1 - t) * x + sp_neg
    else:
        c = (pos_weight._data - 1) * t + 1
        loss = (1 - t) * x + c * sp_neg
    if weight is not None:
        loss = loss * weight._data
    loss = loss.astype(out_dtype, copy=False)
    n = loss.size
    data = _reduce(loss, reduction)
    if STATE.enabled and recording(input, target, weight, pos_weight):
        return record(BinaryCrossEntropyWithLogitsBackward0, data, (input, target),
                      save=(input, target, weight, pos_weight), args=(reduction, n))
    return wrap(data)


# ---- shared by the losses here and in loss_regression ----
def _mean_scale(ctx, g):
    """``g`` divided by the element count for 'mean' (``ctx.args`` = (reduction, n, ...))."""
    return g / _count(ctx.args[1]) if ctx.args[0] == "mean" else g


def _count(n):
    """The divisor for a mean over ``n`` elements. NOTE: none makes 0 / 0 = nan; dividing by
    nan gives that without NumPy's warnings, and the gradient only reaches empty tensors."""
    return n if n else float("nan")


def _float_input(input, kernel, half=True):
    """``input``'s array; PyTorch's loss kernels are defined for floating types only (and
    some not for float16/bfloat16: ``half=False``)."""
    x = input._data
    if x.dtype.kind not in "fV" or not half and (x.dtype == np.float16 or x.dtype.kind == "V"):
        raise NotImplementedError(
            f'"{kernel}" not implemented for \'{_dt.from_np(x.dtype).scalar_name}\'')
    return x


def _float_pair(input, target, kernel):
    """``input`` and ``target`` promoted to their common (floating) dtype and broadcast."""
    common = _dt.result_type(input, target)
    if not (common.is_floating_point or common.is_complex):
        raise NotImplementedError(f'"{kernel}" not implemented for \'{common.scalar_name}\'')
    a = input._data.astype(common.np, copy=False)
    b = target._data.astype(common.np, copy=False)
    if a.shape != b.shape:
        check_broadcast(a.shape, b.shape)  # PyTorch's message, not NumPy's
    return np.broadcast_arrays(a, b)


def _pointwise_loss(node, loss, inputs, reduction, save, args=()):
    """Reduce an elementwise ``loss`` array and record ``node`` over ``inputs``."""
    data = _reduce(loss, reduction)
    if STATE.enabled and recording(*inputs):
        return record(node, data, inputs, save=save, args=(reduction, loss.size) + args)
    return wrap(data)


def _apply_reduction(loss, reduction):
    """A composed loss reduced with ember ops (MeanBackward0 / SumBackward0, as PyTorch)."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---- binary_cross_entropy ----
def _bce_vjp(ctx, g):
    x, t, w = ctx.saved_tensors
    g = _mean_scale(ctx, g)
    if w is not None:
        g = g * w
    gx = gt = None
    if ctx.next_functions[0][0] is not None:
        # NOTE: PyTorch's denominator max((1 - x) x, 1e-12) keeps the slope finite at 0 and 1.
        gx = g * (x - t) / ((1 - x) * x).clamp_min(1e-12)
    if ctx.next_functions[1][0] is not None:
        gt = g * ((-x).log1p() - x.log())  # -logit(x)
    return gx, gt


BinaryCrossEntropyBackward0 = node_class("BinaryCrossEntropyBackward0", _bce_vjp,
                                         fiberwise(_loss_dims, _is_mean))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy of probabilities ``input``; each log is clamped at -100, as
    PyTorch, so a 0 or 1 probability gives a finite loss."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _not_differentiable("binary_cross_entropy", weight=weight)
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Using a target size ({Size(target._data.shape)}) that is different to the input "
            f"size ({Size(input._data.shape)}) is deprecated. Please ensure they have the same "
            "size.")
    x = _float_input(input, "binary_cross_entropy")
    if target._data.dtype != x.dtype:
        raise RuntimeError(f"Found dtype {_dt.from_np(target._data.dtype).scalar_name} but "
                           f"expected {_dt.from_np(x.dtype).scalar_name}")
    t = target._data.astype(x.dtype, copy=False)
    # PyTorch's kernel checks each element's input, then its target, in order; NaN fails too
    bad_x, bad_t = ~((x >= 0) & (x <= 1)), ~((t >= 0) & (t <= 1))
    if bad_x.any() or bad_t.any():
        first = np.argmax((bad_x | bad_t).reshape(-1))
        which = "input" if bad_x.reshape(-1)[first] else "target"
        raise RuntimeError(f"all elements of {which} should be between 0 and 1")
    if weight is not None:
        weight = weight.expand(np.broadcast_shapes(t.shape, weight._data.shape))
    with np.errstate(divide="ignore"):
        loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))
    if weight is not None:
        loss = loss * weight._data
    return _pointwise_loss(BinaryCrossEntropyBackward0, loss.astype(x.dtype, copy=False),
                           (input, target), reduction, (input, target, weight))


# ---- soft_margin_loss ----
def _soft_margin_vjp(ctx, g):
    x, y = ctx.saved_tensors
    return (_mean_scale(ctx, g) * -y * (-y * x).sigmoid(), None)


SoftMarginLossBackward0 = node_class("SoftMarginLossBackward0", _soft_margin_vjp,
                                     fiberwise(_loss_dims, _is_mean))


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``log(1 + exp(-target * input))`` (targets +-1), computed as a stable softplus."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _not_differentiable("soft_margin_loss", target=target)
    a, b = float_data(input._data), float_data(target._data)
    if a.shape != b.shape:
        # PyTorch's kernel writes into an input-shaped result: the target broadcasts to it
        check_broadcast(a.shape, b.shape)
        shape = np.broadcast_shapes(a.shape, b.shape)
        if shape != a.shape:
            raise RuntimeError(f"output with shape {list(a.shape)} doesn't match the broadcast "
                               f"shape {list(shape)}")
        b = np.broadcast_to(b, shape)
    z = -a * b
    loss = bounded(np.maximum, z, 0) + np.log1p(np.exp(-np.abs(z)))
    loss = loss.astype(a.dtype, copy=False)
    return _pointwise_loss(SoftMarginLossBackward0, loss, (input, target), reduction,
                           (input, target))


# ---- composed losses (PyTorch decomposes these; the grad_fn is that of the last op) ----
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-class logistic loss averaged over the classes (last dim), then reduced."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    # logsigmoid(x) = -softplus(-x)
    loss = target * _softplus(-input) + (1 - target) * _softplus(input)
    if weight is not None:
        loss = loss * weight
    class_dim = input._data.ndim - 1
    loss = loss.sum(class_dim) / input._data.shape[class_dim]
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(reduction + " is not valid")
    return _apply_reduction(loss, reduction)


# ---- multi_margin_loss ----
def _multi_margin_vjp(ctx, g):
    x, onehot, wy = ctx.saved_tensors
    reduction, n, p, margin, squeeze = ctx.args
    if squeeze:
        x = x.unsqueeze(0)
    if reduction == "none":
        g = g.reshape(-1, 1)
    elif reduction == "mean":
        g = g / n
    c = x._data.shape[1]
    is_y = wrap(onehot._data != 0)
    z = margin - x.where(is_y, 0.0).sum(1, keepdim=True) + x  # (selected: a NaN x_i stays out)
    active = wrap((z._data > 0) & ~is_y._data)
    slope = (z * 2.0).where(active, 0.0) if p == 2 else active * (onehot * 0 + 1.0)
    if wy is not None:
        slope = slope * wy
    slope = slope * (g / c)
    gx = slope - onehot * slope.sum(1, keepdim=True)
    return (gx.squeeze(0) if squeeze else gx,)


MultiMarginLossBackward0 = node_class(
    "MultiMarginLossBackward0", _multi_margin_vjp,
    fiberwise(lambda ctx: ((1,) if ctx.args[0] == "none" and not ctx.args[4] else ALL, False)))


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss: ``sum_{i != y} max(0, margin - x[y] + x[i])**p * w[y] / C``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight._data.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _not_differentiable("multi_margin_loss", weight=weight)
    x = _float_input(input, "multi_margin_loss_cpu_kernel", half=False)
    t = target._data
    squeeze = x.ndim <= 1
    if x.ndim > 2 or (x.ndim and x.shape[-1] == 0):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(x.shape)}")
    x2 = x.reshape(1, -1) if squeeze else x
    t2 = t.reshape(-1)
    if t2.shape[0] != x2.shape[0] or (not squeeze and t.ndim != 1):
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{x2.shape[0]}], but got "
            f"{list(t.shape)}. Input has shape {list(x.shape)}.")
    t2 = _long_target(t2)
    c = x2.shape[1]
    if ((t2 < 0) | (t2 >= c)).any():
        raise RuntimeError("target out of range")
    xp = _xp(x2)
    onehot = xp.arange(c) == t2[:, None]
    xy = x2[xp.arange(x2.shape[0]), t2][:, None]
    z = margin - xy + x2
    z = np.where((z > 0) & ~onehot, z, 0)  # (PyTorch's kernel adds a term if z > 0: not NaN)
    h = z if p == 1 else z * z
    wy = None
    if weight is not None:
        wy = weight._data.astype(x.dtype)[t2][:, None]
        h = h * wy
    losses = (h.sum(1) / c).astype(x.dtype, copy=False)
    if squeeze:
        losses = losses.reshape(t.shape)
    data = _reduce(losses, reduction)
    if STATE.enabled and recording(input):
        oh = wrap(onehot.astype(x.dtype))
        return record(MultiMarginLossBackward0, data, (input,),
                      save=(input, oh, None if wy is None else wrap(wy)),
                      args=(reduction, losses.size, p, margin, squeeze))
    return wrap(data)


def _long_target(t):
    """The int64 target of the margin losses' kernels, which read it (and check its dtype)
    only for a non-empty batch: an empty one of any dtype passes."""
    if t.dtype == np.int64:
        return t
    if t.size:
        raise RuntimeError(
            f"expected scalar type Long but found {_dt.from_np(t.dtype).scalar_name}")
    return t.astype(np.int64)


# ---- multilabel_margin_loss ----
def _multilabel_margin_vjp(ctx, g):
    slope, = ctx.saved_tensors  # d loss_n / d x[n, :], constant: the loss is piecewise linear
    reduction, n, squeeze = ctx.args
    if reduction == "none" and not squeeze:
        g = g.unsqueeze(1)
    elif reduction == "mean":
        g = g / n
    return (g * (slope.squeeze(0) if squeeze else slope),)


MultilabelMarginLossBackward0 = node_class(
    "MultilabelMarginLossBackward0", _multilabel_margin_vjp,
    fiberwise(lambda ctx: ((1,) if ctx.args[0] == "none" and not ctx.args[2] else ALL, False)))


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``sum_{j, i} max(0, 1 - (x[y_j] - x[i])) / C`` over the target classes ``y_j`` (those
    before the first -1 in ``target``) and the non-target classes ``i``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x = _float_input(input, "multilabel_margin_loss_forward_out_frame", half=False)
    t = target._data
    squeeze = x.ndim <= 1
    if x.ndim > 2 or (x.ndim and x.shape[-1] == 0):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(x.shape)}")
    x2, t2 = (x.reshape(1, -1), t.reshape(1, -1)) if squeeze else (x, t)
    # (a vector's target may be any vector or 0-d tensor of as many elements)
    if (t.ndim > 1 or t.size != x.size) if squeeze else t.shape != x.shape:
        raise RuntimeError(f"inconsistent target size: {list(t.shape)} for input of size: "
                           f"{list(x.shape)}")
    t = t2 = _long_target(t2)
    c = x2.shape[1]
    if t.size and (t.min() < -1 or t.max() >= c):
        raise RuntimeError("argument #2 'target' is out of range")
    valid = np.cumprod(t2 != -1, axis=1).astype(bool)  # the targets before the first -1
    safe = np.where(valid, t2, 0)
    is_target = np.zeros_like(x2, dtype=bool, order="C")
    rows = np.nonzero(valid)
    is_target[rows[0], t2[rows]] = True
    xy = np.take_along_axis(x2, safe, axis=1)  # (N, J)
    z = 1 - xy[:, :, None] + x2[:, None, :]  # (N, J, C)
    active = (z > 0) & valid[:, :, None] & ~is_target[:, None, :]
    losses = (np.where(active, z, 0).sum((1, 2)) / c).astype(x.dtype, copy=False)
    if squeeze:
        losses = losses.reshape(())
    data = _reduce(losses, reduction)
    if STATE.enabled and recording(input):
        slope = active.sum(1).astype(x.dtype)  # how often x[n, i] is a non-target term
        np.add.at(slope, (rows[0], t2[rows]), -active.sum(2)[rows])
        return record(MultilabelMarginLossBackward0, data, (input,),
                      save=(wrap((slope / c).astype(x.dtype)),),
                      args=(reduction, losses.size, squeeze))
    return wrap(data)


# ---- ctc_loss ----
def _ctc_vjp(ctx, g):
    slope, = ctx.saved_tensors
    return (g.unsqueeze(0).unsqueeze(2) * slope,)


# NOTE: as PyTorch's, the slope is computed once in the forward pass and is a constant of the
# backward: CTC has first derivatives only (PyTorch: "derivative for aten::_ctc_loss_backward
# is not implemented"). It is PyTorch's formula exp(lp) - exp(log(alpha beta) + nll - lp), the
# exact gradient once log_probs come from log_softmax (its rows of the slope sum to zero).
CtcLossBackward0 = node_class("CtcLossBackward0", _ctc_vjp,
                              fiberwise(lambda ctx: ((0, 2), False)))


def _lengths(v, name, n, lp):
    """The lengths ``v`` (a tensor, a sequence or a number) as int64 on ``lp``'s device."""
    a = _beside(as_array(v._data if hasattr(v, "_data") else v), lp)
    a = a.astype(np.int64, copy=False).reshape(-1)
    if a.shape[0] != n:
        raise RuntimeError(f"{name} must be of size batch_size")
    return a


def _beside(a, ref):
    """``a`` on ``ref``'s device: PyTorch takes ctc_loss's targets and lengths on the CPU with
    log-probabilities on a GPU (they are small: one copy)."""
    if type(a) is type(ref):
        return a
    return on_device(to_host(a), device_of(ref))


def _ctc_forward(lp, targets, in_len, tgt_len, blank, want_slope):
    """Per-sample negative log-likelihoods of the CTC alignments (alpha/beta recursions in log
    space, vectorised over the batch and the extended target; one step per time frame) and,
    when wanted, PyTorch's slope with respect to ``lp`` (T, N, C)."""
    t_max, n, c = lp.shape
    xp = _xp(lp)
    s_max = 2 * (int(tgt_len.max()) if tgt_len.size else 0) + 1
    ext = xp.full((n, s_max), blank, dtype=np.int64)  # blank, l1, blank, l2, ..., blank
    ext[:, 1::2] = targets[:, : (s_max - 1) // 2]
    s_idx = xp.arange(s_max)
    live = s_idx[None, :] < 2 * tgt_len[:, None] + 1
    skip = xp.zeros((n, s_max), dtype=bool)  # may jump over the blank before position s
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    emit = np.take_along_axis(lp, np.broadcast_to(ext[None], (t_max, n, s_max)), 2)
    emit = np.where(live[None], emit, -np.inf)
    ninf = xp.full((n, 2), -np.inf, dtype=lp.dtype)
    alpha = xp.full((t_max, n, s_max), -np.inf, dtype=lp.dtype)
    alpha[0, :, :2] = emit[0, :, :2]
    with np.errstate(invalid="ignore"):
        for t in range(1, t_max):
            prev = np.concatenate([ninf, alpha[t - 1]], 1)
            two = np.where(skip, prev[:, :-2], -np.inf)
            alpha[t] = np.logaddexp(np.logaddexp(prev[:, 2:], prev[:, 1:-1]), two) + emit[t]
        last = np.take_along_axis(alpha, (in_len - 1).reshape(1, n, 1), 0)[0]
        end = 2 * tgt_len
        a_end = np.take_along_axis(last, end[:, None], 1)[:, 0]
        a_pre = np.where(end > 0, np.take_along_axis(last, np.maximum(end - 1, 0)[:, None],
                                                     1)[:, 0], -np.inf)
        nll = -np.logaddexp(a_end, a_pre)
    if not want_slope:
        return nll, None
    beta = xp.full((t_max, n, s_max), -np.inf, dtype=lp.dtype)
    final = xp.full((n, s_max), -np.inf, dtype=lp.dtype)
    rows = xp.arange(n)
    final[rows, end] = 0
    final[rows[end > 0], end[end > 0] - 1] = 0
    skip_next = xp.zeros((n, s_max), dtype=bool)
    skip_next[:, :-2] = skip[:, 2:]
    with np.errstate(invalid="ignore"):
        for t in range(t_max - 1, -1, -1):
            nxt = np.concatenate([beta[t + 1], ninf], 1) if t + 1 < t_max else \
                xp.full((n, s_max + 2), -np.inf, dtype=lp.dtype)
            step = np.logaddexp(np.logaddexp(nxt[:, :-2], nxt[:, 1:-1]),
                                np.where(skip_next, nxt[:, 2:], -np.inf))
            here = np.where((t == in_len - 1)[:, None], final, step)
            beta[t] = np.where((t < in_len)[:, None], here + emit[t], -np.inf)
        ab = alpha + beta
        top = ab.max(2, keepdims=True)
        top = np.where(np.isfinite(top), top, 0)
        acc = xp.zeros((t_max, n, c), dtype=lp.dtype)
        np.add.at(acc, (slice(None), rows[:, None], ext), np.exp(ab - top))
        with np.errstate(divide="ignore", over="ignore"):
            lcab = np.log(acc) + top
            slope = np.exp(lp) - np.exp(lcab + nll[None, :, None] - lp)
    frames = xp.arange(t_max)[:, None] < in_len[None, :]
    return nll, np.where(frames[:, :, None], slope, 0).astype(lp.dtype, copy=False)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification loss of ``log_probs`` (T, N, C) or (T, C) for
    ``targets`` padded (N, S) or concatenated (sum of ``target_lengths``); 'mean' divides
    each loss by its target length, then averages."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_probs._data.size == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    if log_probs._data.ndim == 2:
        out = ctc_loss(log_probs.unsqueeze(1), targets.unsqueeze(0) if hasattr(
            targets, "_data") else targets, [int(as_array(getattr(input_lengths, "_data",
                                                                   input_lengths)))],
            [int(as_array(getattr(target_lengths, "_data", target_lengths)))], blank,
            reduction, zero_infinity)
        return out.squeeze(0) if reduction == "none" else out
    lp = float_data(log_probs._data)
    t_max, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    in_len = _lengths(input_lengths, "input_lengths", n, lp)
    tgt_len = _lengths(target_lengths, "target_lengths", n, lp)
    if (in_len > t_max).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got "
                           f"value {int(in_len.max())} (while checking arguments for "
                           "ctc_loss_allocate_outputs)")
    tg = _beside(as_array(targets._data), lp).astype(np.int64)
    if tg.ndim == 1:  # concatenated: pad into (N, max length)
        starts = np.cumsum(tgt_len) - tgt_len
        width = int(tgt_len.max()) if tgt_len.size else 0
        cols = _xp(lp).arange(width)[None, :]
        pos = starts[:, None] + cols
        tg = np.where(cols < tgt_len[:, None],
                      tg[np.minimum(pos, max(tg.size - 1, 0))] if tg.size else 0, blank)
    elif tgt_len.size and tg.shape[1] < tgt_len.max():
        raise RuntimeError(f"Expected tensor to have size at least {int(tgt_len.max())} at "
                           f"dimension 1, but got size {tg.shape[1]} for argument #2 'targets' "
                           "(while checking arguments for ctc_loss_allocate_outputs)")
    want = STATE.enabled and recording(log_probs)
    nll, slope = _ctc_forward(lp, tg, in_len, tgt_len, blank, want)
    if want:
        if zero_infinity:
            slope = np.where(np.isinf(nll)[None, :, None], 0, slope)
        res = record(CtcLossBackward0, nll.astype(lp.dtype), (log_probs,),
                     save=(wrap(slope),))
    else:
        res = wrap(nll.astype(lp.dtype))
    if zero_infinity:
        res = where(wrap(res._data == np.inf), 0.0, res)
    if reduction == "mean":
        return (res / wrap(np.maximum(tgt_len, 1).astype(lp.dtype))).mean()
    return res.sum() if reduction == "sum" else res


# NOTE: torch has no top-level nll_loss or cross_entropy; binary_cross_entropy_with_logits it has.
register(binary_cross_entropy_with_logits, method=False)
