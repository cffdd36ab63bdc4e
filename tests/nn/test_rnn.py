"""Parity tests for the recurrent layers (RNN, LSTM, GRU and their cells) against PyTorch.

Each test builds the PyTorch module under a fixed seed, loads its state_dict into the ember
module, runs the same inputs through both and compares outputs, final states, and the gradients
of inputs, initial states and every parameter (float32 tolerance). Errors, reprs and
state_dict keys go through ``same``.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember

from ..oracle import same, torch

RTOL, ATOL = 1e-5, 1e-5


def _twin(name, *args, seed=0, **kwargs):
    """The PyTorch module and an ember one carrying the same parameters."""
    torch.manual_seed(seed)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    mine = getattr(ember.nn, name)(*args, **kwargs)
    mine.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                          ref.state_dict().items()})
    return mine, ref


def _pair(*shape, seed=1):
    """The same random float32 tensor, leaf with requires_grad, in both libraries."""
    data = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return (ember.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True))


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _flat(v)]
    return [x]


def _close(a, b, what):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=RTOL, atol=ATOL,
                               err_msg=what)


def _check(mine, ref, inputs, extra=()):
    """Run both modules, compare every output, then backprop one loss and compare gradients."""
    outs_m = _flat(mine(*[i[0] for i in inputs]))
    outs_r = _flat(ref(*[i[1] for i in inputs]))
    assert len(outs_m) == len(outs_r)
    for k, (a, b) in enumerate(zip(outs_m, outs_r)):
        assert tuple(a.shape) == tuple(b.shape), f"output {k}"
        _close(a, b, f"output {k}")
    # Weight each output differently so that a mix-up between them shows in the gradients.
    loss_m = sum(((o * (k + 1)) ** 2).sum() + o.sum() for k, o in enumerate(outs_m))
    loss_r = sum(((o * (k + 1)) ** 2).sum() + o.sum() for k, o in enumerate(outs_r))
    loss_m.backward()
    loss_r.backward()
    for k, pair in enumerate(_flat_pairs(inputs) + list(extra)):
        _close(pair[0].grad, pair[1].grad, f"grad of input {k}")
    params_r = dict(ref.named_parameters())
    for name, p in mine.named_parameters():
        _close(p.grad, params_r[name].grad, f"grad of {name}")


def _flat_pairs(inputs):
    out = []
    for i in inputs:
        if isinstance(i[0], tuple):
            out.extend(zip(i[0], i[1]))
        else:
            out.append(i)
    return out


# ---- multi-layer modules ----


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, False), (1, True), (2, True)])
def test_sequence_major(name, layers, bidirectional):
    mine, ref = _twin(name, 4, 5, layers, bidirectional=bidirectional)
    _check(mine, ref, [_pair(6, 3, 4)])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_batch_first_with_initial_state(name):
    mine, ref = _twin(name, 3, 4, 2, batch_first=True, bidirectional=True)
    h0 = _pair(4, 2, 4, seed=2)
    state = (h0, _pair(4, 2, 4, seed=3)) if name == "LSTM" else h0
    if name == "LSTM":
        state = ((state[0][0], state[1][0]), (state[0][1], state[1][1]))
    _check(mine, ref, [_pair(2, 5, 3), state])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched(name):
    mine, ref = _twin(name, 3, 4, 2, bidirectional=True)
    _check(mine, ref, [_pair(5, 3)])
    h0 = _pair(4, 4, seed=2)
    state = ((h0[0], _pair(4, 4, seed=3)[0]), (h0[1], _pair(4, 4, seed=3)[1])) \
        if name == "LSTM" else h0
    mine, ref = _twin(name, 3, 4, 2, bidirectional=True, batch_first=True)
    _check(mine, ref, [_pair(5, 3), state])


def test_rnn_relu_no_bias():
    mine, ref = _twin("RNN", 4, 5, 2, nonlinearity="relu", bias=False)
    assert list(mine.state_dict()) == list(ref.state_dict())
    _check(mine, ref, [_pair(4, 2, 4)])


def test_lstm_proj_size():
    mine, ref = _twin("LSTM", 4, 6, 2, proj_size=3, bidirectional=True, batch_first=True)
    h0, c0 = _pair(4, 2, 3, seed=2), _pair(4, 2, 6, seed=3)
    _check(mine, ref, [_pair(2, 5, 4), ((h0[0], c0[0]), (h0[1], c0[1]))])


def test_float64():
    mine, ref = _twin("GRU", 3, 4, 2)
    mine, ref = mine.double(), ref.double()
    data = np.random.default_rng(0).standard_normal((4, 2, 3))
    x = (ember.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True))
    _check(mine, ref, [x])
    assert mine(x[0])[0].dtype == ember.float64


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_state_dict_keys_shapes_and_init(name):
    def fn(T):
        T.manual_seed(0)
        kw = {"proj_size": 2} if name == "LSTM" else {}
        m = getattr(T.nn, name)(3, 4, 2, bidirectional=True, **kw)
        bound = 1 / 4 ** 0.5
        inside = all(bool((p.abs() <= bound).all()) for p in m.parameters())
        return ([(k, tuple(v.shape), v.requires_grad) for k, v in m.state_dict().items()],
                inside, repr(m), [n for n, _ in m.named_parameters()])
    same(fn)


def test_dropout_between_layers():
    # p=1 zeroes the second layer's input in training (deterministic, so comparable); the last
    # layer's output is never dropped, and eval mode turns dropout off.
    mine, ref = _twin("GRU", 3, 4, 2, dropout=1.0)
    _check(mine, ref, [_pair(5, 2, 3)])
    x = _pair(5, 2, 3, seed=4)
    out, h = mine(x[0])
    assert bool((out[0] == out[0][0]).all()), "layer 2 sees only zeros, so no batch dependence"
    assert not bool((out == 0).all())
    mine.eval()
    ref.eval()
    _check(mine, ref, [x])
    mine, _ = _twin("LSTM", 3, 4, 3, dropout=0.5)
    mine.train()
    first, second = mine(x[0])[0], mine(x[0])[0]
    assert not bool((first == second).all()), "training mode draws new masks each call"


def test_constructor_errors_and_warnings():
    def fn(T):
        out = []
        for make in (lambda: T.nn.GRU(4, 5, dropout=0.5),
                     lambda: T.nn.GRU(4, 5, dropout=1.5),
                     lambda: T.nn.GRU(4, 5, proj_size=2),
                     lambda: T.nn.RNN(4, 5, 1, "sigmoid"),
                     lambda: T.nn.RNN(4, 5, nonlinearity="relu"),
                     lambda: T.nn.LSTM(4, 5, proj_size=5),
                     lambda: T.nn.LSTM(4, 5, proj_size=-1),
                     lambda: T.nn.LSTM(0, 5),
                     lambda: T.nn.LSTM(4, 0),
                     lambda: T.nn.LSTM(4, 5, 0),
                     lambda: T.nn.LSTM(4, 5, bias=1),
                     lambda: T.nn.LSTM(4, 5, batch_first=None),
                     lambda: T.nn.LSTM(4.0, 5)):
            try:
                out.append(repr(make()))
            except Exception as e:  # noqa: BLE001 - the error is the result
                out.append((type(e).__name__, str(e)))
        return out
    same(fn)


@pytest.mark.parametrize("case", range(11))
def test_forward_errors(case):
    def fn(T):
        T.manual_seed(0)
        lstm, gru, rnn = T.nn.LSTM(4, 5, 2), T.nn.GRU(4, 5), T.nn.RNN(4, 5, batch_first=True)
        z = T.zeros
        calls = [
            lambda: lstm(z(3, 2, 3)),
            lambda: lstm(z(3, 2, 4), (z(2, 2, 4), z(2, 2, 5))),
            lambda: lstm(z(3, 2, 4), (z(2, 2, 5), z(2, 3, 5))),
            lambda: lstm(z(3, 2, 4, dtype=T.float64)),
            lambda: lstm(z(3, 4, 2, 4)),
            lambda: lstm(z(3, 2, 4), (z(2, 5), z(2, 2, 5))),
            lambda: lstm(z(3, 4), (z(2, 2, 5), z(2, 5))),
            lambda: gru(z(3, 2, 4), z(1, 3, 5)),
            lambda: gru(z(3, 4), z(1, 3, 5)),
            lambda: rnn(z(3, 4, 4), z(3, 5)),
            lambda: rnn(z(3, 3, 4, 4)),
        ]
        return calls[case]()
    same(fn)


# ---- cells ----


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cells(name, batched, with_state):
    mine, ref = _twin(name, 4, 3, **({"nonlinearity": "relu"} if name == "RNNCell" else {}))
    shape = (2,) if batched else ()
    inputs = [_pair(*shape, 4)]
    if with_state:
        h = _pair(*shape, 3, seed=2)
        if name == "LSTMCell":
            c = _pair(*shape, 3, seed=3)
            h = ((h[0], c[0]), (h[1], c[1]))
        inputs.append(h)
    _check(mine, ref, inputs)


def test_cell_unrolled_matches_layer():
    # An LSTM layer is its cell applied step by step, with the same parameters.
    def fn(T):
        T.manual_seed(0)
        layer = T.nn.LSTM(3, 4)
        cell = T.nn.LSTMCell(3, 4)
        cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
        x = T.linspace(-1, 1, 30).reshape(5, 2, 3)
        h = c = T.zeros(2, 4)
        for t in range(5):
            h, c = cell(x[t], (h, c))
        out, (hn, cn) = layer(x)
        return (out[-1] - h).abs().max() < 1e-6, (cn[0] - c).abs().max() < 1e-6, repr(cell)
    same(fn)


@pytest.mark.parametrize("case", range(7))
def test_cell_errors(case):
    def fn(T):
        T.manual_seed(0)
        rnn, lstm, gru = T.nn.RNNCell(4, 5), T.nn.LSTMCell(4, 5), T.nn.GRUCell(4, 5)
        z = T.zeros
        calls = [
            lambda: rnn(z(2, 3)),
            lambda: rnn(z(2, 4), z(2, 6)),
            lambda: gru(z(2, 4), z(3, 5)),
            lambda: lstm(z(2, 4), (z(2, 5), z(2, 6))),
            lambda: lstm(z(2, 4, 1)),
            lambda: lstm(z(2, 4), (z(2, 5, 1), z(2, 5))),
            lambda: gru(z(4), z(1, 1, 5)),
        ]
        return calls[case]()
    same(fn)


# ---- training ----


def _train(T, lstm, readout, steps=5, lr=0.5):
    x = T.sin(T.linspace(0, 6, 4 * 7 * 3)).reshape(4, 7, 3)
    y = T.cos(T.linspace(0, 3, 4 * 7)).reshape(4, 7, 1)
    params = list(lstm.parameters()) + [readout]
    losses = []
    for _ in range(steps):
        out, _ = lstm(x)
        loss = ((out @ readout - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with T.no_grad():
            for p in params:
                p -= lr * p.grad
        losses.append(loss.item())
    return losses


def test_lstm_training_loop_matches():
    """Five hand-written SGD steps on a 2-layer LSTM and a linear readout give PyTorch's
    losses (so gradients stay equal through updated weights)."""
    mine, ref = _twin("LSTM", 3, 6, 2, batch_first=True)
    w = np.linspace(-1, 1, 6, dtype=np.float32).reshape(6, 1)
    ours = _train(ember, mine, ember.tensor(w, requires_grad=True))
    theirs = _train(torch, ref, torch.tensor(w, requires_grad=True))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert ours[-1] < ours[0]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_first_and_second_order_gradients_by_finite_differences(name):
    # The layers are compositions of differentiable ops, so double backward works too.
    from ember.autograd import gradcheck, gradgradcheck
    ember.manual_seed(0)
    m = getattr(ember.nn, name)(2, 3, 2, bidirectional=True).double()
    x = ember.randn(3, 2, 2, dtype=ember.float64, requires_grad=True)

    def f(x):
        out = m(x)
        return out[0], out[1][1] if name == "LSTM" else out[1]
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_dtype_and_unbatched_cell_repr():
    m = ember.nn.LSTM(3, 4, dtype=ember.float64)
    assert all(p.dtype == ember.float64 for p in m.parameters())
    out, (h, c) = m(ember.zeros(2, 3, dtype=ember.float64))
    assert (out.dtype, tuple(out.shape), tuple(h.shape), tuple(c.shape)) == \
        (ember.float64, (2, 4), (1, 4), (1, 4))


@pytest.mark.parametrize("case", range(6))
def test_edge_inputs(case):
    def fn(T):
        T.manual_seed(0)
        z = T.zeros
        calls = [
            lambda: T.nn.LSTM(4, 5)(z(0, 2, 4)),
            lambda: T.nn.GRU(4, 5, batch_first=True)(z(2, 0, 4)),
            lambda: T.nn.GRU(4, 5)(z(3, 0, 4))[0].shape,
            lambda: T.nn.RNN(4, 5)(z(3, 2, 4, dtype=T.int64)),
            lambda: T.nn.LSTMCell(4, 5)(z(0, 4))[0].shape,
            lambda: T.nn.LSTM(4, 5)(z(3, 2, 4), [z(1, 2, 5), z(1, 2, 5)])[1][0].shape,
        ]
        return calls[case]()
    same(fn)


# ---- PackedSequence inputs ----


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("layers,bidirectional,with_state",
                         [(1, False, False), (2, True, False), (2, True, True)])
def test_packed_sequence_input(name, layers, bidirectional, with_state):
    # Unsorted distinct lengths: the batch is permuted into the packed order and the final
    # states come back in the caller's order; finished sequences keep their last state.
    mine, ref = _twin(name, 3, 4, layers, batch_first=True, bidirectional=bidirectional)
    x = _pair(4, 6, 3)
    lengths = [2, 6, 3, 5]
    state = None
    if with_state:
        n = layers * (2 if bidirectional else 1)
        state = (_pair(n, 4, 4, seed=2), _pair(n, 4, 4, seed=3)) if name == "LSTM" else \
            _pair(n, 4, 4, seed=2)
    outs = []
    for k, lib in enumerate((ember, torch)):
        packed = lib.nn.utils.rnn.pack_padded_sequence(x[k], lengths, batch_first=True,
                                                       enforce_sorted=False)
        hx = None if state is None else (
            tuple(s[k] for s in state) if name == "LSTM" else state[k])
        module = (mine, ref)[k]
        out, h = module(packed) if hx is None else module(packed, hx)
        padded, out_lengths = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        assert out_lengths.tolist() == lengths
        hs = list(h) if name == "LSTM" else [h]
        loss = (padded ** 2).sum() + sum((s * (j + 2)).sum() for j, s in enumerate(hs))
        loss.backward()
        outs.append([padded, *hs])
    for a, b in zip(*outs):
        _close(a, b, "output")
    _close(x[0].grad, x[1].grad, "input grad")
    for p_name, p in ref.named_parameters():
        _close(dict(mine.named_parameters())[p_name].grad, p.grad, p_name)
