"""Attention: ``scaled_dot_product_attention`` (attention mask, causal masking, dropout, scale,
grouped-query attention).

Contract: PyTorch's signature, defaults, shapes, graph (the math backend's: the last node is
the final matmul's) and error messages. The op is composed of ember ops (matmul, masked_fill,
softmax), so it is twice differentiable and has forward-mode derivatives without rules of its
own. ``FUNCTIONAL`` lists the names ``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE, no_grad
from ..backend import namespace
from ._jvp import out_zeros
from ._registry import node_class, record, recording, wrap
from .activation import softmax

FUNCTIONAL = ["scaled_dot_product_attention"]


def _cpp(t):
    return _dt.from_np(t._data.dtype).cpp_name


def _repeat_heads(t, n_rep):
    """``t.repeat_interleave(n_rep, dim=-3)`` as expand + reshape (differentiable views)."""
    shape = t._data.shape
    expanded = t.unsqueeze(-3).expand(*shape[:-2], n_rep, *shape[-2:])
    return expanded.reshape(*shape[:-3], shape[-3] * n_rep, *shape[-2:])


def _fold_heads(g, n_rep):
    """The gradient of ``_repeat_heads``: sum each group of ``n_rep`` heads."""
    if n_rep == 1:
        return g
    shape = g._data.shape
    return g.reshape(*shape[:-3], shape[-3] // n_rep, n_rep, *shape[-2:]).sum(-3)


def _weights(q, k, scale, blocked, float_mask):
    """``softmax(q @ k^T * scale + mask)`` over the keys, with rows that may attend to nothing
    set to 0."""
    scores = q.matmul(k.transpose(-2, -1)) * scale
    if blocked is not None:
        scores = scores.masked_fill(blocked, float("-inf"))
    elif float_mask is not None:
        scores = scores + float_mask
    # NOTE: a row with every score -inf would be nan after softmax; PyTorch gives it zero
    # weights. Filling the row with 0 first keeps its gradient finite too.
    dead = np.all(scores._data == -np.inf, axis=-1, keepdims=True)
    if dead.any():
        dead_t = wrap(dead)
        return softmax(scores.masked_fill(dead_t, 0.0), -1).masked_fill(dead_t, 0.0)
    return softmax(scores, -1)


# ---- the fused CPU kernel's node (PyTorch picks it for plain 4-D attention) ----
def _fused_parts(ctx):
    q, k, v, _ = ctx.saved_tensors
    scale, blocked, float_mask, n_rep, weights = ctx.args
    kk, vv = _repeat_heads(k, n_rep), _repeat_heads(v, n_rep)
    # NOTE: a plain backward (grad mode off) reuses the forward's weights; a backward that
    # builds a graph recomputes them from q and k so that they are differentiable.
    if not STATE.enabled:
        return q, kk, vv, wrap(weights)
    return q, kk, vv, _weights(q, kk, scale, blocked, float_mask)


def _fused_vjp(ctx, g):
    q, kk, vv, p = _fused_parts(ctx)
    scale, n_rep = ctx.args[0], ctx.args[3]
    dp = g.matmul(vv.transpose(-2, -1))
    ds = p * (dp - (dp * p).sum(-1, keepdim=True))
    want = [f is not None for f, _ in ctx.next_functions]
    return (ds.matmul(kk) * scale if want[0] else None,
            _fold_heads(ds.transpose(-2, -1).matmul(q) * scale, n_rep) if want[1] else None,
            _fold_heads(p.transpose(-2, -1).matmul(g), n_rep) if want[2] else None)


def _fused_jvp(ctx, tq, tk, tv):
    q, kk, vv, p = _fused_parts(ctx)
    scale, n_rep = ctx.args[0], ctx.args[3]
    out = None
    if tq is not None or tk is not None:
        ds = None
        if tq is not None:
            ds = tq.matmul(kk.transpose(-2, -1))
        if tk is not None:
            dk = q.matmul(_repeat_heads(tk, n_rep).transpose(-2, -1))
            ds = dk if ds is None else ds + dk
        ds = ds * scale
        out = (p * (ds - (p * ds).sum(-1, keepdim=True))).matmul(vv)
    if tv is not None:
        dv = p.matmul(_repeat_heads(tv, n_rep))
        out = dv if out is None else out + dv
    return out_zeros(ctx) if out is None else out


ScaledDotProductFlashAttentionForCpuBackward0 = node_class(
    "ScaledDotProductFlashAttentionForCpuBackward0", _fused_vjp, _fused_jvp)


def _uses_fused(query, key, value, attn_mask, dropout_p, enable_gqa):
    """Whether PyTorch's CPU dispatch picks the fused (flash) kernel, whose graph is one
    node: 4-D inputs of one head size and batch, no dropout, no mask that needs a gradient.
    That node saves its output (as PyTorch's, which also keeps the logsumexp), so an in-place
    write to the result raises the version error at backward."""
    q, k, v = query._data.shape, key._data.shape, value._data.shape
    if not (len(q) == len(k) == len(v) == 4) or dropout_p > 0.0:
        return False
    if not (q[-1] == k[-1] == v[-1]) or not (q[0] == k[0] == v[0]) or k[1] != v[1]:
        return False
    if q[1] != k[1] and not (enable_gqa and q[1] % k[1] == 0):
        return False
    return attn_mask is None or not recording(attn_mask)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(query @ key^T * scale + mask) @ value`` over the last two dims.

    ``attn_mask``: bool (True = may attend) or float (added to the scores; may require grad).
    ``is_causal``: query ``i`` attends to keys ``j <= i`` (top-left aligned). A query with no
    key to attend to gets a zero output and zero gradient, as PyTorch's safe softmax.

    Example: ``F.scaled_dot_product_attention(q, q, q, is_causal=True)`` with ``q`` of shape
    (batch, heads, length, head size).
    """
    if min(query._data.ndim, key._data.ndim, value._data.ndim) < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{query._data.ndim} key.dim: {key._data.ndim} and value.dim: {value._data.ndim} "
            "instead.")
    if not (query._data.dtype == key._data.dtype == value._data.dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{_cpp(query)} key.dtype: {_cpp(key)} and value.dtype: {_cpp(value)} instead.")
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
        kind = attn_mask._data.dtype
        if kind != np.bool_ and kind != query._data.dtype and kind.kind != "f":
            raise RuntimeError(
                "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {_cpp(attn_mask)} and  query.dtype: {_cpp(query)} instead.")
    n_q, n_k = query._data.shape[-2], key._data.shape[-2]
    if n_k == 0 or 0 in query._data.shape or 0 in value._data.shape[:-2] + value._data.shape[-1:]:
        shape = (*np.broadcast_shapes(query._data.shape[:-2], key._data.shape[:-2],
                                      value._data.shape[:-2]), n_q, value._data.shape[-1])
    else:
        shape = ()
    if n_k == 0 or 0 in shape:
        # NOTE: as PyTorch, no keys or an empty result: zeros joined to the inputs' graph as
        # (q.sum() + k.sum() + v.sum()) * 0 (an input's inf or NaN shows, nothing is saved)
        from ..creation import zeros

        return zeros(shape, dtype=_dt.from_np(query._data.dtype), device=query.device) + \
            (query.sum() + key.sum() + value.sum()) * 0
    if scale is None:
        # (PyTorch's is inf without features, where it scales empty q and k: the scores are
        # then 0 whatever the scale, so any finite one gives its result)
        e = query._data.shape[-1]
        scale = 1.0 / math.sqrt(e) if e else 1.0
    fused = _uses_fused(query, key, value, attn_mask, dropout_p, enable_gqa)
    n_rep = 1
    if enable_gqa and query._data.ndim >= 3 and key._data.shape[-3] != query._data.shape[-3]:
        n_rep = query._data.shape[-3] // key._data.shape[-3]
    blocked = float_mask = None
    if is_causal:
        # (made by the query's array library: a host mask would not mix with device scores)
        xp = np if type(query._data) is np.ndarray else namespace(query._data)
        blocked = wrap(~xp.tril(xp.ones((n_q, n_k), dtype=bool)))
    elif attn_mask is not None and attn_mask._data.dtype == np.bool_:
        blocked = wrap(~attn_mask._data)
    elif attn_mask is not None:
        float_mask = attn_mask
    if fused and STATE.enabled and recording(query, key, value):
        with no_grad():
            kk, vv = _repeat_heads(key, n_rep), _repeat_heads(value, n_rep)
            weights = _weights(query, kk, scale, blocked, float_mask)
            data = weights.matmul(vv)._data
        return record(ScaledDotProductFlashAttentionForCpuBackward0, data, (query, key, value),
                      save=(query, key, value), save_out=True,
                      args=(scale, blocked, float_mask, n_rep, weights._data))
    if n_rep > 1:
        key, value = _repeat_heads(key, n_rep), _repeat_heads(value, n_rep)
    weights = _weights(query, key, scale, blocked, float_mask)
    if dropout_p > 0.0:
        from .nn import dropout

        weights = dropout(weights, dropout_p)
    return weights.matmul(value)
