"""Regression, distribution and ranking losses: mse_loss, l1_loss, smooth_l1_loss, huber_loss
(elementwise; optional weights), kl_div, poisson_nll_loss, gaussian_nll_loss (distributions),
margin_ranking_loss, hinge_embedding_loss, cosine_embedding_loss, triplet_margin_loss,
triplet_margin_with_distance_loss (ranking and embeddings). The classification losses and the
reduction helpers these share live in ``loss``.

Contract: as ``loss``: PyTorch's signatures, reductions (with the legacy size_average/reduce),
argument checks and messages, and graphs: mse, smooth_l1 and huber have their own nodes with
fused rules in ember ops (twice differentiable); the others are composed of the same ember ops
as PyTorch's, so their grad_fn is that of the last op. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import dtypes as _dt
from .._size import Size
from ..autograd.grad_mode import STATE
from ..creation import ones_like
from ..tensor import Tensor, as_array
from ._checks import checks_own_arguments, type_name
from ._jvp import _fit, fiberwise, out_zeros
from ._registry import node_class, record, recording, wrap, zeros_of
from .distance import pairwise_distance
from .loss import (
    _apply_reduction,
    _count,
    _float_pair,
    _is_mean,
    _legacy_reduction,
    _loss_dims,
    _pointwise_loss,
)
from .pointwise import check_broadcast
from .reduction import HALF, rounded
from .select import minimum, where
from .special import xlogy

FUNCTIONAL = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
              "poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss",
              "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
              "triplet_margin_with_distance_loss"]


# ---- regression losses: mse, l1, smooth_l1, huber ----


def _pair_grads(ctx, gd):
    """Gradients ``(gd, -gd)`` for a loss of ``input - target``, each only when wanted."""
    return (gd if ctx.next_functions[0][0] is not None else None,
            -gd if ctx.next_functions[1][0] is not None else None)


def _half_pair(a, b):
    """NOTE [half losses]: PyTorch's loss kernels compute each element of a float16/bfloat16
    loss in float32 and round it once (so (300 - 0)**2 is inf, but 6e4 - 0.5 is not), and
    reduce in float32: ``(a, b)`` in float32 when half, else as they are."""
    if a.dtype in HALF:
        return a.astype(np.float32), b.astype(np.float32)
    return a, b


def _saved_pair(ctx, g):
    """The saved ``(x, y)`` and ``g``, in float32 when half (NOTE [half losses]: 2 * 6e4 / 2
    is 6e4, not inf; the engine rounds the gradients)."""
    x, y = ctx.saved_tensors
    # the operands as given (NOTE [loss promotion]) in their common dtype; a bool operand
    # reads as 0/1 in PyTorch's kernels (the `-` operator would reject it)
    if x.dtype != y.dtype:
        common = _dt.promote_types(x.dtype, y.dtype)
        x, y = x.to(common), y.to(common)
    if g._data.dtype in HALF:
        return x.float(), y.float(), g.float()
    return x, y, g


def _mse_vjp(ctx, g):
    x, y, g = _saved_pair(ctx, g)
    # NOTE: PyTorch's norm * (x - y) * g, norm = 2 / n for 'mean' (inf when empty): the same
    # rounding, and with no 0 / 0 between g and an empty sum in the double backward
    reduction, n = ctx.args[0], ctx.args[1]
    norm = (2.0 / n if n else float("inf")) if reduction == "mean" else 2.0
    return _pair_grads(ctx, (x - y) * norm * g)


MseLossBackward0 = node_class("MseLossBackward0", _mse_vjp, fiberwise(_loss_dims, _is_mean))


def _size_warning(input, target):
    if target._data.shape != input._data.shape:
        warnings.warn(
            f"Using a target size ({Size(target._data.shape)}) that is different to the input "
            f"size ({Size(input._data.shape)}). This will likely lead to incorrect results due "
            "to broadcasting. Please ensure they have the same size.", UserWarning, stacklevel=3)


def _promoted(input, target):
    """NOTE [loss promotion]: PyTorch broadcasts ``input`` and ``target`` before these losses,
    so a 0-d operand promotes as a dimensioned one (float64 0-d with float16 1-d is float64):
    the pair cast to their common dtype where the 0-d rule would pick another."""
    if (input.ndim == 0) == (target.ndim == 0) or input.dtype == target.dtype:
        return input, target
    common = _dt.promote_types(input.dtype, target.dtype)
    if _dt.result_type(input, target) == common:
        return input, target
    return input.to(common), target.to(common)


def _weighted(loss, weight, reduction, mean_by_weight):
    """PyTorch's manual weighted path: ``loss * weight`` reduced; 'mean' divides by the weight
    sum (mse, l1) or the element count (huber)."""
    out = loss * weight
    if reduction == "none":
        return out
    if reduction == "sum":
        return out.sum()
    return out.sum() / weight.sum() if mean_by_weight else out.mean()


def _check_weight(weight, input):
    if weight._data.shape != input._data.shape:
        raise ValueError("Weights and input must have the same size.")


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (``reduction`` 'mean', 'sum' or 'none'; optional elementwise
    ``weight``, whose 'mean' divides by the weight sum)."""
    _size_warning(input, target)
    given = (input, target)  # saved and differentiated as given, as PyTorch
    input, target = _promoted(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        _check_weight(weight, input)
        return _weighted((input - target) ** 2, weight, reduction, True)
    a, b = _float_pair(input, target, "mse_cpu")
    dtype = a.dtype
    a, b = _half_pair(a, b)
    diff = a - b
    loss = diff * diff
    if dtype in HALF:
        loss = rounded(loss, dtype)
    return _pointwise_loss(MseLossBackward0, loss, given, reduction, given)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error. NOTE: PyTorch decomposes it (AbsBackward0, then Mean/Sum), and so
    does ember; the subgradient at a zero difference is 0."""
    _size_warning(input, target)
    input, target = _promoted(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = (input - target).abs()
    if weight is not None:
        _check_weight(weight, input)
        return _weighted(loss, weight, reduction, True)
    return _apply_reduction(loss, reduction)


def _robust_bwd_np(g, x, y, reduction, n, delta, smooth):
    """The input gradient of huber (``smooth`` False) or smooth_l1 (beta ``delta``): the
    difference clipped to [-delta, delta] (/ delta for smooth_l1), times ``g`` (/ n for 'mean').
    NOTE: PyTorch's kernels test d < -delta and d > delta, so a NaN difference is NaN."""
    with np.errstate(invalid="ignore"):
        c = np.clip(np.subtract(x, y), -delta, delta)
    if smooth:
        c = c / delta
    if reduction == "mean":
        g = g / _count(n)
    return as_array(np.multiply(g, c))


def _robust_bwd(g, x, y, args):
    """``_robust_bwd_np`` as a node (HuberLossBackwardBackward0 / SmoothL1...), PyTorch's
    huber_loss_backward: a fused op, so its own second-order rule (below) applies."""
    data = _robust_bwd_np(g._data, x._data, y._data, *args)
    if STATE.enabled and recording(g, x, y):
        node = SmoothL1LossBackwardBackward0 if args[3] else HuberLossBackwardBackward0
        return record(node, data, (g, x, y), save=(g, x, y), args=args)
    return wrap(data)


def _robust_curvature(g, x, y, args):
    """d(gradient)/d(input) as a factor: ``g`` (/ n, / delta) where |d| < delta, else 0.
    NOTE: PyTorch multiplies by the mask (so a NaN or inf gradient is NaN everywhere), and its
    test is strict: at |d| == delta the second order is 0."""
    reduction, n, delta, smooth = args
    with np.errstate(invalid="ignore"):
        m = np.abs(np.subtract(x._data, y._data)) < delta
    h = g * wrap(m.astype(x._data.dtype))
    if smooth:
        h = h / delta
    return h / _count(n) if reduction == "mean" else h


def _robust_bwd_vjp(ctx, gg):
    g, x, y = ctx.saved_tensors
    args = ctx.args
    gg_g = gx = gy = None
    if ctx.next_functions[0][0] is not None:
        if args[0] == "none":
            gg_g = _robust_bwd(gg, x, y, args)
        else:
            gg_g = (_robust_bwd(ones_like(g), x, y, args) * gg).sum()
    if ctx.next_functions[1][0] is not None or ctx.next_functions[2][0] is not None:
        h = _robust_curvature(gg * g, x, y, args)
        gx = h if ctx.next_functions[1][0] is not None else None
        gy = -h if ctx.next_functions[2][0] is not None else None
    return gg_g, gx, gy


def _robust_bwd_jvp(ctx, tg, tx, ty):
    g, x, y = ctx.saved_tensors
    total = None if tg is None else _robust_bwd(tg, x, y, ctx.args)
    for t, sign in ((tx, 1), (ty, -1)):
        if t is not None:
            c = _robust_curvature(g * t * sign, x, y, ctx.args)
            total = c if total is None else total + c
    return out_zeros(ctx) if total is None else _fit(ctx, total)


HuberLossBackwardBackward0 = node_class("HuberLossBackwardBackward0", _robust_bwd_vjp,
                                        _robust_bwd_jvp)
SmoothL1LossBackwardBackward0 = node_class("SmoothL1LossBackwardBackward0", _robust_bwd_vjp,
                                           _robust_bwd_jvp)


def _robust_vjp(ctx, g, delta, smooth):
    """The gradients of huber / smooth_l1: PyTorch's backward op for the input, and the same
    op with input and target swapped for the target (the loss depends on their difference)."""
    x, y, g = _saved_pair(ctx, g)
    args = (ctx.args[0], ctx.args[1], delta, smooth)
    return (_robust_bwd(g, x, y, args) if ctx.next_functions[0][0] is not None else None,
            _robust_bwd(g, y, x, args) if ctx.next_functions[1][0] is not None else None)


def _smooth_l1_vjp(ctx, g):
    return _robust_vjp(ctx, g, ctx.args[2], True)


SmoothL1LossBackward0 = node_class("SmoothL1LossBackward0", _smooth_l1_vjp,
                                   fiberwise(_loss_dims, _is_mean))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Quadratic for ``|input - target| < beta``, linear beyond (``beta=0`` is ``l1_loss``)."""
    _size_warning(input, target)
    given = (input, target)  # saved and differentiated as given, as PyTorch
    input, target = _promoted(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    a, b = _float_pair(input, target, "smooth_l1_cpu")
    dtype = a.dtype
    a, b = _half_pair(a, b)
    d = np.abs(a - b)
    loss = np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    loss = rounded(loss, dtype) if dtype in HALF else loss.astype(dtype, copy=False)
    return _pointwise_loss(SmoothL1LossBackward0, loss, given, reduction, given, (beta,))


def _huber_vjp(ctx, g):
    x, y = ctx.saved_tensors
    if x.dtype != y.dtype:
        # PyTorch's huber backward kernel takes input and target of one dtype: it raises,
        # naming the gradient's operand as the expected one
        want, got = (x, y) if ctx.next_functions[0][0] is not None else (y, x)
        raise RuntimeError(f"Found dtype {got.dtype.scalar_name} but expected "
                           f"{want.dtype.scalar_name}")
    return _robust_vjp(ctx, g, ctx.args[2], False)


HuberLossBackward0 = node_class("HuberLossBackward0", _huber_vjp,
                                fiberwise(_loss_dims, _is_mean))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``delta * smooth_l1_loss(beta=delta)``: quadratic near 0, slope ``delta`` beyond."""
    _size_warning(input, target)
    reduction = _legacy_reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None:
        _check_weight(weight, input)
        return _weighted(_huber(input, target, "none", delta), weight, reduction, False)
    return _huber(input, target, reduction, delta)


def _huber(input, target, reduction, delta):
    # NOTE: PyTorch's huber kernel writes into a result of the input's dtype: it computes in
    # the dtype both operands promote to as dimensioned ones and rounds to the input's
    common = _dt.promote_types(input.dtype, target.dtype)
    if not common.is_floating_point:
        raise NotImplementedError(f'"huber_cpu" not implemented for \'{common.scalar_name}\'')
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"result type {common.scalar_name} can't be cast to the desired "
                           f"output type {input.dtype.scalar_name}")
    if input._data.shape != target._data.shape:
        check_broadcast(input._data.shape, target._data.shape)  # PyTorch's message
    a, b = np.broadcast_arrays(input._data.astype(common.np, copy=False),
                               target._data.astype(common.np, copy=False))
    dtype = input._data.dtype
    a, b = _half_pair(a, b)
    d = np.abs(a - b)
    loss = np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    loss = rounded(loss, dtype)
    return _pointwise_loss(HuberLossBackward0, loss, (input, target), reduction,
                           (input, target), (delta,))


# ---- composed losses (PyTorch decomposes these; the grad_fn is that of the last op) ----
@checks_own_arguments
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence of log-probabilities ``input`` from ``target`` (probabilities, or
    log-probabilities with ``log_target=True``); 'batchmean' divides the sum by the batch."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", UserWarning, stacklevel=2)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    for pos, (param, value) in enumerate((("input", input), ("target", target)), 1):
        if not isinstance(value, Tensor):  # (after the checks PyTorch makes in Python)
            raise TypeError(f"kl_div(): argument '{param}' (position {pos}) must be Tensor, "
                            f"not {type_name(value)}")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        out = loss.sum()
        return out / _count(input._data.shape[0]) if input._data.ndim != 0 else out
    return _apply_reduction(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Negative log-likelihood of ``target`` under Poisson(``exp(input)`` or ``input``);
    ``full`` adds the Stirling term for targets above 1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = wrap(target._data > 1)
        safe = where(big, target, 2.0)
        stirling = safe * safe.log() - safe + 0.5 * (safe * (2 * math.pi)).log()
        loss = loss + where(big, stirling, 0.0)
    return _apply_reduction(loss, reduction)


# torch.any's overloads, for gaussian_nll_loss's ``torch.any(var < 0)`` of a non-tensor var
_ANY = tuple(f"Tensor input{a}, *, Tensor out = None" for a in (
    "", ", tuple of ints dim = None, bool keepdim = False", ", int dim, bool keepdim = False"))


@checks_own_arguments
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of ``target`` under N(``input``, ``var``); ``var`` is clamped
    at ``eps`` without changing its gradient, as PyTorch."""
    # (PyTorch's is Python code: a wrong-typed argument fails with Python's error where it is
    # first used, as here)
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    elif not isinstance(var, Tensor):
        negative = var < 0  # (Python's error for a list)
        from ._checks import _overload_error

        raise TypeError(_overload_error("any", _ANY, (negative,), {}))  # (``torch.any``'s)
    elif (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    if not isinstance(input, Tensor):
        input.size()  # (Python's error: no attribute, or an ndarray's int ``size`` called)
        raise AttributeError(f"'{type(input).__name__}' object has no attribute 'size'")
    vs, xs = var._data.shape, input._data.shape
    if vs != xs:
        if xs[:-1] == vs:
            var = var.unsqueeze(-1)
        elif not (len(xs) == len(vs) and sum(b for a, b in zip(xs, vs) if a != b) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(reduction + " is not valid")
    # NOTE: PyTorch clamps a clone in place under no_grad: values change, the graph does not.
    var = var + wrap(np.maximum(var._data, eps) - var._data)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not (input1._data.ndim == input2._data.ndim == target._data.ndim):
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {Size(input1._data.shape)}, input2: {Size(input2._data.shape)}, target: "
            f"{Size(target._data.shape)} ")
    return _apply_reduction((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    t = target._data
    zeros = zeros_of(input)  # a constant, as PyTorch's zeros_like (input * 0 passes g * 0)
    margin_clamp = (margin - input).clamp_min(0)
    out = where(wrap(t != 1), margin_clamp, zeros) + where(wrap(t != -1), input, zeros)
    return _apply_reduction(out, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos`` where ``target == 1``, ``max(0, cos - margin)`` where ``target == -1``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    tdim = target._data.ndim
    if tdim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    s1, s2 = list(input1._data.shape), list(input2._data.shape)
    if tdim == 1 and not (len(s1) == 2 and len(s2) == 2):
        raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {s1} and {s2}.")
    if tdim == 0 and not (len(s1) == 1 and len(s2) == 1):
        raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {s1} and {s2}.")
    # NOTE: PyTorch's formula: dot / sqrt((|a|^2 + 1e-12) (|b|^2 + 1e-12)).
    prod_sum = (input1 * input2).sum(tdim)
    mag1 = (input1 * input1).sum(tdim) + 1e-12
    mag2 = (input2 * input2).sum(tdim) + 1e-12
    cos = prod_sum / (mag1 * mag2).sqrt()
    zeros = zeros_of(cos)
    t = target._data
    out = where(wrap(t == 1), 1 - cos, zeros) + where(wrap(t == -1), (cos - margin).clamp_min(0),
                                                      zeros)
    return _apply_reduction(out, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with ``pairwise_distance``
    (``swap`` uses the closer of d(a, n) and d(p, n))."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, pd, nd = anchor._data.ndim, positive._data.ndim, negative._data.ndim
    if not (a == pd == nd):
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {a}D, positive {pd}D, and negative {nd}D inputs")
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_neg = minimum(dist_neg, pairwise_distance(positive, negative, p, eps))
    return _apply_reduction((margin + dist_pos - dist_neg).clamp_min(0), reduction)


@checks_own_arguments
def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """``triplet_margin_loss`` with any ``distance_function(x1, x2)`` (default
    ``pairwise_distance``)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    # (PyTorch's is Python code: ``.ndim`` is read of whatever was passed, and a non-tensor
    # with one reaches the distance function)
    a, pd, nd = anchor.ndim, positive.ndim, negative.ndim
    if not (a == pd == nd):
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {a}D, positive {pd}D, and negative {nd}D inputs")
    if distance_function is None:
        for param, pos, value in (("x1", 1, anchor), ("x2", 2, positive), ("x2", 2, negative)):
            if not isinstance(value, Tensor):
                raise TypeError(f"pairwise_distance(): argument '{param}' (position {pos}) "
                                f"must be Tensor, not {type_name(value)}")
    dist = distance_function or pairwise_distance
    dist_pos = dist(anchor, positive)
    dist_neg = dist(anchor, negative)
    if swap:
        dist_neg = minimum(dist_neg, dist(positive, negative))
    return _apply_reduction((margin + dist_pos - dist_neg).clamp_min(0), reduction)
