"""One LSTM layer (one direction) over a whole sequence as a single op: NumPy loops over time
in forward and in backward, one graph node (PyTorch's CPU LSTM is one ``MkldnnRnnLayerBackward0``
node per layer and direction too).

Contract: ``lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)`` with ``x`` ``(L, N, H_in)``
returns ``(out (L, N, H), h_n (N, H), c_n (N, H))``: the values of the composed steps of
rnn.py (``_lstm_step``) up to rounding (both biases join the input projection once, before the
loop; tests/nn/test_rnn_fused.py compares the two). ``usable`` says when the
fused op may stand in for the composed steps: float32/float64 input, no projection, and no mode
intercepting ops (profiler, vmap, forward AD: ember/_modes.py), which must see the ops.

Backward: when the engine runs the rule without building a graph (the usual ``backward()``),
it is hand-written backpropagation through time on the saved gate activations. With
``create_graph=True`` (double backward) the rule recomputes the layer with the composed ember
ops from the saved inputs and differentiates that, so every order of derivative works
(NOTE [rules are ember ops] in ops/_registry.py). Forward-mode AD through the fused node is not
supported, as for PyTorch's fused RNN kernels.

NOTE [why fused]: a step of the composed cell is ~13 ops each way; at a few microseconds of
Python per op, a 20-step sequence of small matrices was mostly dispatch, not arithmetic.
"""

from __future__ import annotations

import numpy as np

from ... import _modes
from ...autograd.grad_mode import STATE
from ...ops._registry import node_class, record_multi, recording, wrap
from ...ops.conv_kernels import _contiguous
from ...ops.unary import sigmoid_into
from ...tensor import zeros_as

__all__ = ["lstm_layer", "usable"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def usable(x, w_hr) -> bool:
    """Whether the fused layer may run instead of the composed steps."""
    return w_hr is None and x._data.dtype in _FLOATS and not _modes.intercepting()


# NOTE [transposed layout]: inside the loops every per-step array is stored transposed,
# features by batch: the four gates of a step are then four contiguous (H, N) blocks of the
# (4H, N) product ``w_hh @ h^T``, where the natural (N, 4H) layout makes each gate a strided
# view. For the small matrices of a recurrence the elementwise calls cost about twice as much
# on strided views, and a step is mostly such calls. The transposes happen once per sequence
# (inputs' projection, outputs, gradients), as bulk copies.

def _forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, keep):
    """The recurrence on arrays. Returns ``out, h, c`` and, with ``keep``, what backward
    needs (private arrays, so nothing the user holds can change them), by processing step
    ``k``: the gate activations ``(L, 4, H, N)``, the cell states ``(L + 1, H, N)``,
    tanh(cell state) ``(L, H, N)`` and the hidden states ``(L + 1, H, N)`` (index 0: the
    initial ones)."""
    steps, n, _ = x.shape
    hid = w_hh.shape[1]
    # NOTE: the whole sequence's input projection at once (only w_hh @ h depends on the
    # previous step), transposed to (L, 4H, N) by the first bias's addition.
    gi = np.matmul(x.reshape(steps * n, -1), w_ih.T).reshape(steps, n, 4 * hid)
    gi_t = np.empty_like(x, shape=(steps, 4 * hid, n), order="C")
    if b_ih is not None:
        np.add(gi.transpose(0, 2, 1), b_ih[:, None], out=gi_t)
    else:
        gi_t[...] = gi.transpose(0, 2, 1)
    if b_hh is not None:
        gi_t += b_hh[:, None]
    acts = np.empty_like(x, shape=(steps, 4, hid, n), order="C") if keep else None
    cs = np.empty_like(x, shape=(steps + 1, hid, n), order="C")
    tcs = np.empty_like(x, shape=(steps, hid, n), order="C") if keep else None
    hs = np.empty_like(x, shape=(steps + 1, hid, n), order="C")
    hs[0] = h0.T
    cs[0] = c0.T
    tmp = np.empty_like(x, shape=(hid, n), order="C")
    a = None if keep else np.empty_like(x, shape=(4, hid, n), order="C")
    tc = None if keep else np.empty_like(x, shape=(hid, n), order="C")
    with np.errstate(over="ignore"):
        for k in range(steps):
            t = steps - 1 - k if reverse else k
            if keep:
                a = acts[k]
                tc = tcs[k]
            flat = a.reshape(4 * hid, n)
            np.matmul(w_hh, hs[k], out=flat)
            flat += gi_t[t]
            np.tanh(a[2], out=tmp)
            sigmoid_into(flat, flat)  # all four gates at once; the cell gate is put back
            a[2] = tmp
            c = cs[k + 1]
            np.multiply(a[1], cs[k], out=c)
            np.multiply(a[0], a[2], out=tmp)
            c += tmp
            np.tanh(c, out=tc)
            np.multiply(a[3], tc, out=hs[k + 1])
    # the outputs by time index, batch-major: one transposing copy
    out = np.empty_like(x, shape=(steps, n, hid), order="C")
    out[...] = (hs[:0:-1] if reverse else hs[1:]).transpose(0, 2, 1)
    h = out[0] if reverse else out[-1]
    c = _contiguous(cs[-1].T)
    if keep:
        return out, h, c, (acts, cs, tcs, hs)
    return out, h, c, None


def _backward(x, w_ih, w_hh, reverse, saved, g_out, g_h, g_c, need):
    """Backpropagation through time on arrays: gradients of x, h0, c0, w_ih, w_hh, b_ih, b_hh
    (None where not needed). Works in the transposed layout of ``_forward``."""
    acts, cs, tcs, hs = saved
    steps, _, hid, n = acts.shape
    dt = x.dtype
    i, f, g, o = acts[:, 0], acts[:, 1], acts[:, 2], acts[:, 3]
    # NOTE: everything that does not depend on the incoming gradient is computed for all
    # steps at once; the loop keeps only the two recurrences (dh, dc) and one GEMM per step.
    # With s' = s (1 - s) and tanh' = 1 - y^2:  dc_t = dc_{t+1} f_{t+1} + dh_t o (1 - tc^2),
    # d(pre-activations) = dc_t * [g i', c_{t-1} f', i g'] and dh_t * tc o'.
    mult = np.empty_like(x, shape=(steps, 4, hid, n), order="C")
    np.multiply(g, i * (1 - i), out=mult[:, 0])
    np.multiply(cs[:-1], f * (1 - f), out=mult[:, 1])
    np.multiply(i, 1 - g * g, out=mult[:, 2])
    np.multiply(tcs, o * (1 - o), out=mult[:, 3])
    through_h = o * (1 - tcs * tcs)
    # incoming gradients, transposed (the outputs' by processing step)
    go = None
    if g_out is not None:
        go = np.empty_like(x, shape=(steps, hid, n), order="C")
        go[...] = (g_out[::-1] if reverse else g_out).transpose(0, 2, 1)
    dh = zeros_as(x, shape=(hid, n), order="C") if g_h is None else g_h.T.astype(dt, copy=True)
    dc = zeros_as(x, shape=(hid, n), order="C") if g_c is None else g_c.T.astype(dt, copy=True)
    dgates = np.empty_like(x, shape=(steps, 4, hid, n), order="C")  # by processing step
    tmp = np.empty_like(x, shape=(hid, n), order="C")
    w_hh_t = w_hh.T
    for k in range(steps - 1, -1, -1):
        if go is not None:
            dh += go[k]
        np.multiply(dh, through_h[k], out=tmp)
        dc += tmp
        d = dgates[k]
        np.multiply(mult[k, :3], dc, out=d[:3])
        np.multiply(mult[k, 3], dh, out=d[3])
        dc *= f[k]
        dh = np.matmul(w_hh_t, d.reshape(4 * hid, n))
    # (4H, L*N) by processing step, and the inputs in the same order
    flat = _contiguous(dgates.reshape(steps, 4 * hid, n).transpose(1, 0, 2))
    flat = flat.reshape(4 * hid, steps * n)
    xs = x[::-1] if reverse else x
    gx = None
    if need[0]:
        gx = (w_ih.T @ flat).reshape(-1, steps, n).transpose(1, 2, 0)  # by processing step
        gx = _contiguous(gx[::-1] if reverse else gx)
    gw_ih = flat @ xs.reshape(steps * n, -1) if need[3] else None
    gw_hh = None
    if need[4]:
        prev = hs[:-1].transpose(1, 0, 2).reshape(hid, steps * n)  # h_{t-1}, one copy
        gw_hh = flat @ prev.T
    # NOTE: the bias gradient as a product with ones: a third of the time of flat.sum(1)
    gb = flat @ np.ones_like(x, shape=steps * n, order="C") if need[5] or need[6] else None
    gb_hh = (gb.copy() if need[5] else gb) if need[6] else None
    return (gx, _contiguous(dh.T) if need[1] else None,
            _contiguous(dc.T) if need[2] else None, gw_ih, gw_hh,
            gb if need[5] else None, gb_hh)


def _composed(inputs, reverse):
    """The layer with ember's composed ops (rnn.py): for double backward."""
    from .rnn import _run_direction_composed

    x, h0, c0, w_ih, w_hh, b_ih, b_hh = inputs
    return _run_direction_composed(x, h0, c0, (w_ih, w_hh, b_ih, b_hh, None), reverse)


def _vjp(ctx, g_out, g_h, g_c):
    reverse, saved = ctx.args
    inputs = ctx.saved_tensors
    need = ctx.needs_input_grad
    if STATE.enabled:  # create_graph: differentiate the composed ops (recorded again)
        from ... import autograd

        with autograd.enable_grad():
            out, h, c = _composed(inputs, reverse)
        wanted = [t for t, n in zip(inputs, need) if n]
        outs, grads = [], []
        for o, g in ((out, g_out), (h, g_h), (c, g_c)):
            if g is not None:
                outs.append(o)
                grads.append(g)
        got = iter(autograd.grad(outs, wanted, grads, create_graph=True, allow_unused=True))
        return tuple(next(got) if n else None for n in need)
    if saved is None:
        from ...autograd.graph import freed_error

        raise freed_error(ctx)
    grads = _backward(inputs[0]._data, inputs[3]._data, inputs[4]._data, reverse, saved,
                      None if g_out is None else g_out._data,
                      None if g_h is None else g_h._data,
                      None if g_c is None else g_c._data, need)
    return tuple(None if a is None else wrap(a) for a in grads)


def _jvp(ctx, *tangents):
    raise NotImplementedError("Trying to use forward AD with mkldnn_rnn_layer that does not "
                              "support it because it has not been implemented yet.")


class MkldnnRnnLayerBackward0(node_class("MkldnnRnnLayerBackward0", _vjp, _jvp)):
    """Backward of one fused LSTM layer; its array workspace is dropped with the saved
    tensors."""

    __slots__ = ()

    def release(self):
        super().release()
        self.args = (self.args[0], None)


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """One fused LSTM layer and direction (see the module docstring)."""
    inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    rec = STATE.enabled and recording(*inputs)
    out, h, c, saved = _forward(x._data, h0._data, c0._data, w_ih._data, w_hh._data,
                                None if b_ih is None else b_ih._data,
                                None if b_hh is None else b_hh._data, reverse, rec)
    if not rec:
        return wrap(out), wrap(h.copy()), wrap(c)
    # NOTE: h_n is a copy, not a view of out, so the two outputs own their memory.
    return tuple(record_multi(MkldnnRnnLayerBackward0, [out, h.copy(), c], inputs,
                              save=inputs, args=(reverse, saved)))
