"""Batching rules of nn.functional, read by position.

Contract: ``cross_entropy``/``nll_loss`` and the elementwise losses are computed with
reduction='none' and reduced per sample as PyTorch reduces; conv and the pools fold the batch
into N (conv with batched weights folds it into the channels and groups: one grouped
convolution); layer/group/instance norm and eval ``batch_norm`` apply batched affine parameters
after the normalisation; ``embedding`` with a batched table indexes per sample; ``pad`` in
constant mode leaves the batch dims alone. The parameter-name rules of rules_named.py, loaded
later, replace the keys pad, layer_norm, batch_norm, instance_norm and embedding.
"""

from __future__ import annotations

from ._state import (
    _RULES,
    _align,
    _bind,
    _finish,
    _levels,
    _logical_ndim,
    _mark,
    _no_rule,
    _NoRule,
    _orig,
    _physical,
    _tensor_type,
    _tensors,
    _union,
)
from .rules_elementwise import _unary


def _class_loss_rule(fn, args, kwargs):
    """``cross_entropy`` / ``nll_loss``: computed with reduction='none' on the batch folded
    into the sample dim, then reduced per sample as PyTorch reduces ('mean': by the summed
    weights of the targets that are not ignored, or by the count for probability targets)."""
    names = ("input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction",
             "label_smoothing")
    bound = dict(zip(names, args))
    bound.update(kwargs)
    x, target = bound["input"], bound["target"]
    weight = bound.get("weight")
    if weight is not None and _levels(weight):
        raise _NoRule(f"vmap: no batching rule for {fn.__name__} with a batched weight yet")
    reduction = bound.get("reduction", "mean")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    ignore = bound.get("ignore_index", -100)
    levels = _union([x, target])
    k = len(levels)
    n = _logical_ndim(x)
    px, pt = (_align(t, levels, expand=True) for t in (x, target))
    batch = px._data.shape[:k]
    prob = target._data.dtype.kind in "fcV"  # ("V": bfloat16)
    opts = {key: bound[key] for key in ("weight", "ignore_index", "label_smoothing")
            if key in bound}
    with _physical():
        if n == 1:  # (C,) with a scalar target: the batch is the sample dim
            fx = px.reshape(-1, px._data.shape[-1])
            ft = pt.reshape(-1, *(pt._data.shape[-1:] if prob else ()))
        else:
            fx = px.reshape(-1, *px._data.shape[k + 1:])
            ft = pt.reshape(-1, *pt._data.shape[k + 1:])
        loss = fn(fx, ft, reduction="none", **opts)
        lead = () if n == 1 else (px._data.shape[k],)
        per = loss.reshape(*batch, *lead, *loss._data.shape[1:])
        dims = tuple(range(k, per._data.ndim))
        if reduction == "none":
            out = per
        elif reduction == "sum":
            out = per.sum(dims) if dims else per
        elif prob:
            out = per.mean(dims) if dims else per
        else:
            valid = pt != ignore
            if weight is not None:
                safe = pt.clamp(0, weight._data.shape[0] - 1)
                w = _orig("__getitem__")(weight, safe) * valid
            else:
                w = valid.to(per.dtype)
            import numpy as np

            with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, silently
                out = (per.sum(dims) / w.sum(dims)) if dims else per / w
    return _mark(out, levels)


def _pointwise_loss(nargs):
    """Elementwise losses (``mse_loss``, ``l1_loss``...): reduction='none' on the aligned
    inputs (the first ``nargs`` parameters and any other tensor, such as a weight), then the
    reduction over each sample's logical dims ('mean' with a weight divides by the weight sum
    for mse and l1, as the ops do)."""

    def rule(fn, args, kwargs):
        b = _bind(fn, args, kwargs)
        a = b.arguments
        names = list(b.signature.parameters)[:nargs]
        reduction = a.pop("reduction", "mean")
        for key in ("size_average", "reduce"):
            if a.get(key) is not None:
                raise _no_rule(fn, f" with {key}")
        Tensor = _tensor_type()
        tensors = [v for v in a.values() if isinstance(v, Tensor)]
        levels = _union(tensors)
        ndim = max(_logical_ndim(a[nm]) for nm in names if isinstance(a.get(nm), Tensor))
        for nm, v in a.items():
            if isinstance(v, Tensor):
                a[nm] = _align(v, levels, ndim, expand=nm in names)
        weight = a.get("weight")
        k = len(levels)
        a["reduction"] = "none"
        with _physical():
            loss = fn(*b.args, **b.kwargs)
            dims = tuple(range(k, loss._data.ndim))
            if reduction == "none" or not dims:
                out = loss
            elif reduction == "sum":
                out = loss.sum(dims)
            elif reduction == "mean":
                if weight is not None and fn.__name__ in ("mse_loss", "l1_loss"):
                    out = loss.sum(dims) / weight.expand(loss._data.shape).sum(dims)
                else:
                    out = loss.mean(dims)
            else:
                raise ValueError(f"{reduction} is not a valid value for reduction")
        return _mark(out, levels)

    return rule


def _affine_after(out, weight, bias, channel_dims):
    """``out * weight + bias`` at the logical level (the rules batch it), the per-channel
    parameters shaped to broadcast over ``channel_dims`` trailing dims after the channels."""
    if weight is not None:
        out = out * (weight.reshape(*weight.shape, *[1] * channel_dims)
                     if channel_dims else weight)
    if bias is not None:
        out = out + (bias.reshape(*bias.shape, *[1] * channel_dims) if channel_dims else bias)
    return out


def _channel_norm_rule(names, stats_rule):
    """``group_norm`` / ``instance_norm`` / eval ``batch_norm``: the batch folds into N; batched
    per-channel affine parameters are applied after the normalisation."""

    def rule(fn, args, kwargs):
        bound = dict(zip(names, args))
        bound.update(kwargs)
        weight, bias = bound.get("weight"), bound.get("bias")
        if not any(_levels(t) for t in (weight, bias) if t is not None):
            return stats_rule(fn, args, kwargs)
        bound["weight"] = bound["bias"] = None
        x = bound["input"]
        out = stats_rule(fn, [bound[n] for n in names if n in bound], {})
        n = _logical_ndim(x)
        return _affine_after(out, weight, bias, n - 2 if n >= 2 else 0)

    return rule


def _fold_rule(spatial):
    """Ops on ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` inputs (conv, pools,
    group_norm): the batch dims fold into N, so the op runs once on the whole batch; the
    other tensors (weights) must not be batched."""

    def rule(fn, args, kwargs):
        x = args[0]
        if any(_levels(t) for t in _tensors(args[1:], kwargs)):
            raise _NoRule(f"vmap: no batching rule for {fn.__name__} with a batched "
                               "weight yet")
        levels = _levels(x)
        k, n = len(levels), _logical_ndim(x)
        shape = x._data.shape
        batched_form = n >= 2 if spatial is None else n == spatial + 2
        unbatched_form = spatial is not None and n == spatial + 1
        if not (batched_form or unbatched_form):
            with _physical():  # the op reports its own error about the logical input
                fn(x[(0,) * k], *args[1:], **kwargs)
            raise _NoRule(f"vmap: no batching rule for {fn.__name__} yet")
        lead = shape[:k + 1] if batched_form else shape[:k]
        with _physical():
            out = fn(x.reshape(-1, *shape[len(lead):]), *args[1:], **kwargs)
            if isinstance(out, tuple):
                out = type(out)(o.reshape(*lead, *o._data.shape[1:]) for o in out)
            else:
                out = out.reshape(*lead, *out._data.shape[1:])
        return _finish(out, levels)

    return rule


def _conv_rule(spatial, transposed=False):
    """``conv{1,2,3}d`` / ``conv_transpose{1,2,3}d``: with unbatched weights the batch folds
    into N; with batched weights (per-sample gradients of a CNN) the batch folds into the
    channels and the groups, so one grouped convolution computes every sample with its own
    weights (a transposed convolution's weight leads with its input channels, which the
    groups split the same way)."""
    fold = _fold_rule(spatial)

    def rule(fn, args, kwargs):
        names = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups",
                 "dilation") if transposed else (
            "input", "weight", "bias", "stride", "padding", "dilation", "groups")
        bound = dict(zip(names, args))
        bound.update(kwargs)
        x, w, b = bound["input"], bound["weight"], bound.get("bias")
        if not _levels(w) and (b is None or not _levels(b)):
            return fold(fn, args, kwargs)
        levels = _union([t for t in (x, w, b) if t is not None])
        k = len(levels)
        single = _logical_ndim(x) == spatial + 1  # an unbatched (C, *spatial) sample
        px = _align(x, levels, expand=True)
        pw = _align(w, levels, expand=True)
        with _physical():
            if single:
                px = px.unsqueeze(k)
            lead = px._data.shape[:k]
            bs = 1
            for size in lead:
                bs *= size
            n, c, sp = px._data.shape[k], px._data.shape[k + 1], px._data.shape[k + 2:]
            px = px.reshape(bs, n, c, *sp).transpose(0, 1).reshape(n, bs * c, *sp)
            pw = pw.reshape(bs * pw._data.shape[k], *pw._data.shape[k + 1:])
            pb = None if b is None else _align(b, levels, expand=True).reshape(-1)
            opts = {key: bound[key] for key in ("stride", "padding", "dilation",
                                                 "output_padding") if key in bound}
            out = fn(px, pw, pb, groups=bound.get("groups", 1) * bs, **opts)
            o = out._data.shape[1] // bs
            sp_out = out._data.shape[2:]
            out = out.reshape(n, bs, o, *sp_out).transpose(0, 1)
            out = out.reshape(*lead, o, *sp_out) if single else out.reshape(*lead, n, o, *sp_out)
        return _mark(out, levels)

    return rule


# ---- the keys these rules serve in ``_RULES`` ------------------------------------------------

_RULES["cross_entropy"] = _class_loss_rule
_RULES["nll_loss"] = _class_loss_rule
for _n in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "soft_margin_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits"):
    _RULES[_n] = _pointwise_loss(2)
for _n, _sp in (("max_pool1d", 1),
                ("max_pool2d", 2), ("max_pool3d", 3), ("avg_pool1d", 1), ("avg_pool2d", 2),
                ("adaptive_avg_pool1d", 1), ("adaptive_avg_pool2d", 2),
                ("adaptive_avg_pool3d", 3), ("adaptive_max_pool1d", 1),
                ("adaptive_max_pool2d", 2), ("max_pool1d_with_indices", 1),
                ("max_pool2d_with_indices", 2), ("adaptive_max_pool1d_with_indices", 1),
                ("adaptive_max_pool2d_with_indices", 2)):
    _RULES[_n] = _fold_rule(_sp)
for _n, _sp in (("conv1d", 1), ("conv2d", 2), ("conv3d", 3)):
    _RULES[_n] = _conv_rule(_sp)
    _RULES[f"conv_transpose{_sp}d"] = _conv_rule(_sp, transposed=True)
_RULES["group_norm"] = _channel_norm_rule(("input", "num_groups", "weight", "bias", "eps"),
                                          _fold_rule(None))
# (layer_norm, batch_norm, instance_norm, pad and embedding: rules_named.py's, by parameter name)
_RULES["one_hot"] = _unary
