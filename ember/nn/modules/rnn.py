"""Recurrent layers: RNN, LSTM, GRU (single and multi-layer, batch_first, bidirectional) and
their cells.

Contract: PyTorch's constructor signatures, defaults, default initialisation, attribute and
state_dict names, forward semantics and repr. The gate order is PyTorch's (LSTM: i, f, g, o;
GRU: r, z, n with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``), so a state_dict copied
from a PyTorch module gives the same outputs and gradients.

Everything is composed from ember's differentiable ops, so backward (and double backward) come
from the engine. The input-to-hidden projection of a whole sequence is one ``linear`` per layer
and direction; only the hidden-to-hidden part runs in the Python loop over time steps.
"""

from __future__ import annotations

import math
import numbers
import warnings

import ember

from ... import _modes
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from . import rnn_fused
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


# ---- one time step of each cell ----
# ``gi`` is the input projection W_ih x + b_ih, computed beforehand (for a whole sequence at
# once in the layers); each step adds the hidden projection W_hh h + b_hh.


def _rnn_tanh_step(gi, h, w_hh, b_hh):
    return ember.tanh(gi + F.linear(h, w_hh, b_hh))


def _rnn_relu_step(gi, h, w_hh, b_hh):
    return F.relu(gi + F.linear(h, w_hh, b_hh))


def _lstm_step(gi, h, c, w_hh, b_hh, w_hr=None):
    i, f, g, o = (gi + F.linear(h, w_hh, b_hh)).chunk(4, 1)
    c = ember.sigmoid(f) * c + ember.sigmoid(i) * ember.tanh(g)
    h = ember.sigmoid(o) * ember.tanh(c)
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(gi, h, w_hh, b_hh):
    # NOTE: b_hn stays inside the reset gate's product, as in PyTorch (and cuDNN); that is
    # why GRU keeps two bias vectors instead of one.
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
    r = ember.sigmoid(i_r + h_r)
    z = ember.sigmoid(i_z + h_z)
    n = ember.tanh(i_n + r * h_n)
    return n + z * (h - n)


_STEPS = {"RNN_TANH": _rnn_tanh_step, "RNN_RELU": _rnn_relu_step, "GRU": _gru_step}


def _run_direction(mode, x, h, c, w, reverse):
    """One layer, one direction over a (L, N, H_in) sequence; returns (outputs, h, c)."""
    if mode == "LSTM" and w[4] is None and _modes.intercepting():
        # under CPU autocast PyTorch runs such a layer as aten::mkldnn_rnn_layer, in the
        # autocast dtype (NOTE [autocast as a mode] in ember/amp/autocast_mode.py)
        from ...amp.autocast_mode import lstm_layer_arguments

        x, h, c, w = lstm_layer_arguments(x, h, c, w)
    if mode == "LSTM" and len(x) and rnn_fused.usable(x, w[4]):
        return rnn_fused.lstm_layer(x, h, c, *w[:4], reverse=reverse)
    return _run_direction_composed(x, h, c, w, reverse, mode)


def _run_direction_composed(x, h, c, w, reverse, mode="LSTM"):
    """``_run_direction`` as composed ops, one cell step at a time."""
    w_ih, w_hh, b_ih, b_hh, w_hr = w
    gis = F.linear(x, w_ih, b_ih).unbind(0)
    order = range(len(gis) - 1, -1, -1) if reverse else range(len(gis))
    outs = [None] * len(gis)
    for t in order:
        if mode == "LSTM":
            h, c = _lstm_step(gis[t], h, c, w_hh, b_hh, w_hr)
        else:
            h = _STEPS[mode](gis[t], h, w_hh, b_hh)
        outs[t] = h
    return ember.stack(outs), h, c


def _run_layers(mode, x, hx, cx, weights, num_layers, num_directions, dropout, training):
    """The stacked (and bidirectional) recurrence over a (L, N, H_in) input.

    ``weights[layer * num_directions + direction]`` is ``(w_ih, w_hh, b_ih, b_hh, w_hr)``
    (absent ones None); ``hx``/``cx`` are (num_layers * num_directions, N, H); ``cx`` is None
    except for LSTM. Returns ``(output, h_n, c_n)``.
    """
    h0 = hx.unbind(0)
    c0 = cx.unbind(0) if cx is not None else [None] * len(h0)
    h_n, c_n = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(num_directions):
            k = layer * num_directions + d
            out, h, c = _run_direction(mode, x, h0[k], c0[k], weights[k], reverse=d == 1)
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        x = outs[0] if num_directions == 1 else ember.cat(outs, 2)
        # Dropout goes between layers only: never on the last layer's output.
        if dropout > 0 and training and layer < num_layers - 1:
            x = F.dropout(x, dropout, training=True)
    return x, ember.stack(h_n), (ember.stack(c_n) if cx is not None else None)


def _run_packed_direction(mode, gis, h, c, w, reverse):
    """One layer, one direction over packed steps: ``gis[t]`` holds the input projections of
    the ``len(gis[t])`` sequences still running at step t (longest first).

    The state keeps every sequence's row: a step updates the first ``len(gis[t])`` rows and
    carries the rest. Going forward, a finished sequence's row then holds its last state;
    going backward, a sequence's row stays at its initial state until its last step comes.
    """
    w_hh, b_hh, w_hr = w[1], w[3], w[4]
    outs = [None] * len(gis)
    for t in (range(len(gis) - 1, -1, -1) if reverse else range(len(gis))):
        n = len(gis[t])
        full = n == h.size(0)
        if mode == "LSTM":
            h_t, c_t = _lstm_step(gis[t], h if full else h[:n], c if full else c[:n],
                                  w_hh, b_hh, w_hr)
            c = c_t if full else ember.cat([c_t, c[n:]])
        else:
            h_t = _STEPS[mode](gis[t], h if full else h[:n], w_hh, b_hh)
        h = h_t if full else ember.cat([h_t, h[n:]])
        outs[t] = h_t
    return ember.cat(outs), h, c


def _run_packed_layers(mode, data, batch_sizes, hx, cx, weights, num_layers, num_directions,
                       dropout, training):
    """``_run_layers`` for a PackedSequence's ``data`` (sum(batch_sizes), H_in), the states
    already in the packed (sorted) order."""
    h0 = hx.unbind(0)
    c0 = cx.unbind(0) if cx is not None else [None] * len(h0)
    h_n, c_n = [], []
    x = data
    for layer in range(num_layers):
        outs = []
        for d in range(num_directions):
            k = layer * num_directions + d
            gis = F.linear(x, weights[k][0], weights[k][2]).split(batch_sizes)
            out, h, c = _run_packed_direction(mode, gis, h0[k], c0[k], weights[k], d == 1)
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        x = outs[0] if num_directions == 1 else ember.cat(outs, 1)
        if dropout > 0 and training and layer < num_layers - 1:
            x = F.dropout(x, dropout, training=True)
    return x, ember.stack(h_n), (ember.stack(c_n) if cx is not None else None)


# ---- multi-layer modules ----


class RNNBase(Module):
    """The shared base of RNN, LSTM and GRU: parameters, checks, and the forward driver."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
                or isinstance(dropout, bool)):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(
                f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(
                f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(
                f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
        if mode not in gates:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = gates[mode] * hidden_size

        factory = {"device": device, "dtype": dtype}
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = {"weight_ih": (gate_size, layer_input),
                          "weight_hh": (gate_size, real_hidden)}
                if bias:
                    shapes["bias_ih"] = (gate_size,)
                    shapes["bias_hh"] = (gate_size,)
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for stem, shape in shapes.items():
                    name = f"{stem}_l{layer}{suffix}"
                    setattr(self, name, Parameter(ember.empty(shape, **factory)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op: there is no cuDNN weight buffer to compact."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _layer_weights(self):
        out = []
        for names in self._all_weights:
            stems = {n.split("_l")[0]: getattr(self, n) for n in names}
            out.append(tuple(stems.get(s) for s in
                             ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")))
        return out

    def check_input(self, input, batch_sizes=None) -> None:
        w_dtype = self._flat_weights[0].dtype
        if input.dtype != w_dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({w_dtype}). "
                f"Convert input: input.to({w_dtype}), or convert model: model.to({input.dtype})")
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes=None):
        mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def check_hidden_size(self, hx, expected_hidden_size,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes=None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def _zeros(self, input, size):
        num_directions = 2 if self.bidirectional else 1
        batch = input.size(0) if self.batch_first else input.size(1)
        return ember.zeros(self.num_layers * num_directions, batch, size, dtype=input.dtype,
                           device=input.device)

    def _run(self, input, hx, cx):
        """Checked (L, N, H) or batch-first input and full-size states -> PyTorch's outputs."""
        if input.size(0 if not self.batch_first else 1) == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        x = input.transpose(0, 1) if self.batch_first else input
        out, h_n, c_n = _run_layers(self.mode, x, hx, cx, self._layer_weights(), self.num_layers,
                                    2 if self.bidirectional else 1, self.dropout, self.training)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, h_n, c_n

    def _packed_forward(self, packed, hx, cx):
        """A PackedSequence input: PyTorch's packed output, and final states in the caller's
        batch order (``hx``/``cx``, given in that order, are permuted to the packed order)."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        max_batch = int(batch_sizes[0])
        num_directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if hx is None:
            hx = ember.zeros(self.num_layers * num_directions, max_batch, real_hidden,
                             dtype=data.dtype, device=data.device)
            if self.mode == "LSTM":
                cx = ember.zeros(self.num_layers * num_directions, max_batch, self.hidden_size,
                                 dtype=data.dtype, device=data.device)
        elif sorted_indices is not None:
            hx = hx.index_select(1, sorted_indices)
            if cx is not None:
                cx = cx.index_select(1, sorted_indices)
        self.check_input(data, batch_sizes)
        expected = (self.num_layers * num_directions, max_batch, real_hidden)
        if self.mode == "LSTM":
            self.check_hidden_size(hx, expected, "Expected hidden[0] size {}, got {}")
            self.check_hidden_size(cx, expected[:2] + (self.hidden_size,),
                                   "Expected hidden[1] size {}, got {}")
        else:
            self.check_hidden_size(hx, expected)
        out, h_n, c_n = _run_packed_layers(self.mode, data, batch_sizes.tolist(), hx, cx,
                                           self._layer_weights(), self.num_layers,
                                           num_directions, self.dropout, self.training)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            if c_n is not None:
                c_n = c_n.index_select(1, unsorted_indices)
        return type(packed)(out, batch_sizes, sorted_indices, unsorted_indices), h_n, c_n

    def _single_state_forward(self, name, input, hx):
        """RNN and GRU: one state tensor; unbatched (L, H_in) inputs get a batch of one."""
        if isinstance(input, PackedSequence):
            out, h_n, _ = self._packed_forward(input, hx, None)
            return out, h_n
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                             f"{' tensor' if name == 'RNN' else ''} instead")
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
            if hx is not None:
                if hx.dim() != 2:
                    raise RuntimeError("For unbatched 2-D input, hx should also be 2-D but got "
                                       f"{hx.dim()}-D tensor")
                hx = hx.unsqueeze(1)
        elif hx is not None and hx.dim() != 3:
            raise RuntimeError(
                f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
        if hx is None:
            hx = self._zeros(input, self.hidden_size)
        self.check_forward_args(input, hx)
        out, h_n, _ = self._run(input, hx, None)
        if not is_batched:
            out = out.squeeze(batch_dim)
            h_n = h_n.squeeze(1)
        return out, h_n


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    >>> rnn = ember.nn.RNN(10, 20, 2)
    >>> output, hn = rnn(ember.randn(5, 3, 10), ember.randn(2, 3, 20))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        return self._single_state_forward("RNN", input, hx)


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o; optional output projection (``proj_size``).

    >>> lstm = ember.nn.LSTM(10, 20, 2)
    >>> output, (hn, cn) = lstm(ember.randn(5, 3, 10))
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes=None):
        mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes=None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            out, h_n, c_n = self._packed_forward(input, *(hx if hx is not None else (None, None)))
            return out, (h_n, c_n)
        if input.dim() not in (2, 3):
            raise ValueError(f"LSTM: Expected input to be 2D or 3D, got {input.dim()}D instead")
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
        if hx is None:
            real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = (self._zeros(input, real_hidden), self._zeros(input, self.hidden_size))
        else:
            dims = (hx[0].dim(), hx[1].dim())
            if is_batched and dims != (3, 3):
                raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but "
                                   f"got ({dims[0]}-D, {dims[1]}-D) tensors")
            if not is_batched:
                if dims != (2, 2):
                    raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D "
                                       f"but got ({dims[0]}-D, {dims[1]}-D) tensors")
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self.check_forward_args(input, hx)
        out, h_n, c_n = self._run(input, hx[0], hx[1])
        if not is_batched:
            return out.squeeze(batch_dim), (h_n.squeeze(1), c_n.squeeze(1))
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n.

    >>> gru = ember.nn.GRU(10, 20, 2)
    >>> output, hn = gru(ember.randn(5, 3, 10))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return self._single_state_forward("GRU", input, hx)


# ---- cells ----


class RNNCellBase(Module):
    """The shared base of the cells: ``weight_ih``, ``weight_hh`` and optional biases."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(ember.empty((num_chunks * hidden_size, input_size), **factory))
        self.weight_hh = Parameter(ember.empty((num_chunks * hidden_size, hidden_size),
                                               **factory))
        if bias:
            self.bias_ih = Parameter(ember.empty(num_chunks * hidden_size, **factory))
            self.bias_hh = Parameter(ember.empty(num_chunks * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, name, input, states, state_name):
        """PyTorch's dimension and size checks; returns (batched input, batched states)."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for idx, s in enumerate(states or ()):
            if s.dim() not in (1, 2):
                label = f"hx[{idx}]" if state_name == "hx" else state_name
                raise ValueError(
                    f"{name}: Expected {label} to be 1D or 2D, got {s.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if states is None:
            zeros = ember.zeros(input.size(0), self.hidden_size, dtype=input.dtype,
                                device=input.device)
            states = (zeros,) * (2 if state_name == "hx" else 1)
        elif not is_batched:
            states = tuple(s.unsqueeze(0) for s in states)
        if input.size(1) != self.input_size:
            raise RuntimeError("input has inconsistent input_size: got "
                               f"{input.size(1)} expected {self.input_size}")
        for idx, s in enumerate(states):
            if s.size(0) != input.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{idx} "
                                   f"batch size {s.size(0)}")
            if s.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{idx} has inconsistent hidden_size: got "
                                   f"{s.size(1)}, expected {self.hidden_size}")
        return input, states, is_batched

    def _gi(self, input):
        return F.linear(input, self.weight_ih, self.bias_ih)


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu).

    >>> cell = ember.nn.RNNCell(10, 20)
    >>> h = cell(ember.randn(3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, (h,), is_batched = self._prepare(
            "RNNCell", input, None if hx is None else (hx,), "hidden")
        if self.nonlinearity == "tanh":
            out = _rnn_tanh_step(self._gi(input), h, self.weight_hh, self.bias_hh)
        elif self.nonlinearity == "relu":
            out = _rnn_relu_step(self._gi(input), h, self.weight_hh, self.bias_hh)
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return out if is_batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``.

    >>> cell = ember.nn.LSTMCell(10, 20)
    >>> h, c = cell(ember.randn(3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, (h, c), is_batched = self._prepare(
            "LSTMCell", input, None if hx is None else tuple(hx), "hx")
        h, c = _lstm_step(self._gi(input), h, c, self.weight_hh, self.bias_hh)
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: ``h' = (1 - z) * n + z * h``.

    >>> cell = ember.nn.GRUCell(10, 20)
    >>> h = cell(ember.randn(3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, (h,), is_batched = self._prepare(
            "GRUCell", input, None if hx is None else (hx,), "hidden")
        out = _gru_step(self._gi(input), h, self.weight_hh, self.bias_hh)
        return out if is_batched else out.squeeze(0)
