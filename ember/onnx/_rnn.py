"""nn.LSTM, nn.GRU and nn.RNN as ONNX's LSTM, GRU and RNN nodes, one per layer.

Contract: ``export_rnn(g, module, input, hx, cx, out, h_n, c_n)`` emits the nodes for one call
of ``RNNBase._run`` (the module's checked input in its own layout, full-size initial states,
and the results it returned) and binds the results. The exporter reaches it by replacing
``RNNBase._run`` while it traces (ember may run these modules through an array-level fused
path that no op-level tracer would see; and one ONNX node per layer is what runtimes fuse).

- Gate order: PyTorch keeps LSTM gates as (i, f, g, o) and ONNX as (i, o, f, c); GRU gates
  (r, z, n) against ONNX's (z, r, h), with ``linear_before_reset=1`` (PyTorch applies the
  reset gate after the recurrent product). The reordered ``W``, ``R`` and ``B`` of each layer
  are initializers named ``onnx::LSTM_<n>`` (PyTorch's names for the ones it makes).
- A layer's ``Y`` (seq, directions, batch, hidden) becomes the next layer's (seq, batch,
  directions * hidden) input by Squeeze or Transpose + Reshape (the batch stays dynamic);
  ``batch_first`` adds a Transpose on each side; ``h_n``/``c_n`` are the layers' final states
  concatenated.
- Initial states that are all zeros and not computed from the inputs (the module's default)
  are left out: ONNX's default is zeros, and a constant would pin the batch size.
- Not translated (UnsupportedOperatorError): LSTM projections (``proj_size``), and dropout
  between layers while exporting in training mode.
"""

from __future__ import annotations

import numpy as np

from ._graph import to_numpy
from .errors import UnsupportedOperatorError

# PyTorch gate blocks -> ONNX's order
_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}
_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}
_ATEN = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


def _reorder(array, order, hidden):
    blocks = [array[i * hidden:(i + 1) * hidden] for i in order]
    return np.concatenate(blocks, axis=0)


def _zero_constant(g, t):
    return t is None or (not g.traced(t) and not to_numpy(t).any())


def _layer_state(g, name, layer, dirs):
    """The slice of a (layers * directions, batch, hidden) state for one layer."""
    if name is None:
        return ""
    return g.op("Slice", [name, g.i64([layer * dirs]), g.i64([(layer + 1) * dirs]),
                          g.i64([0])])


def export_rnn(g, module, input, hx, cx, out, h_n, c_n) -> None:
    mode = module.mode
    op_type = _OP[mode]
    if getattr(module, "proj_size", 0) or (module.training and module.dropout > 0
                                           and module.num_layers > 1):
        raise UnsupportedOperatorError(f"aten::{_ATEN[mode]}", g.opset, None)
    dirs = 2 if module.bidirectional else 1
    hidden = module.hidden_size
    order = _ORDER[mode]
    x = g.name_of(input)
    if module.batch_first:
        x = g.op("Transpose", [x], perm=[1, 0, 2])
    initial_h = None if _zero_constant(g, hx) else g.name_of(hx)
    initial_c = None if mode != "LSTM" or _zero_constant(g, cx) else g.name_of(cx)
    weights = module._layer_weights()  # per (layer, direction): w_ih, w_hh, b_ih, b_hh, w_hr
    finals_h, finals_c = [], []
    for layer in range(module.num_layers):
        per_dir = weights[layer * dirs:(layer + 1) * dirs]
        w = np.stack([_reorder(to_numpy(d[0]), order, hidden) for d in per_dir])
        r = np.stack([_reorder(to_numpy(d[1]), order, hidden) for d in per_dir])
        inputs = [x, g.initializer(op_type, w), g.initializer(op_type, r)]
        if module.bias:
            b = np.stack([np.concatenate([_reorder(to_numpy(d[2]), order, hidden),
                                          _reorder(to_numpy(d[3]), order, hidden)])
                          for d in per_dir])
            inputs.append(g.initializer(op_type, b))
        else:
            inputs.append("")
        inputs.append("")  # sequence_lens: every sequence is full length

        inputs.append(_layer_state(g, initial_h, layer, dirs))
        if mode == "LSTM":
            inputs.append(_layer_state(g, initial_c, layer, dirs))
        while inputs[-1] == "":
            inputs.pop()
        attrs = {"hidden_size": hidden}
        if dirs == 2:
            attrs["direction"] = "bidirectional"
        if mode == "GRU":
            attrs["linear_before_reset"] = 1
        if mode in ("RNN_TANH", "RNN_RELU"):
            attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * dirs
        outs = g.op(op_type, inputs, outputs=3 if mode == "LSTM" else 2, **attrs)
        y = outs[0]
        finals_h.append(outs[1])
        if mode == "LSTM":
            finals_c.append(outs[2])
        if dirs == 1:
            x = g.squeeze(y, [1])
        else:
            x = g.op("Reshape", [g.op("Transpose", [y], perm=[0, 2, 1, 3]),
                                 g.i64([0, 0, -1])])
    if module.batch_first:
        x = g.op("Transpose", [x], perm=[1, 0, 2])
    g.bind(out, x)
    g.bind(h_n, finals_h[0] if len(finals_h) == 1 else g.op("Concat", finals_h, axis=0))
    if c_n is not None and finals_c:
        g.bind(c_n, finals_c[0] if len(finals_c) == 1 else g.op("Concat", finals_c, axis=0))
