"""The fused LSTM layer (ember/nn/modules/rnn_fused.py) against the composed cell steps it
replaces: same outputs and gradients for every layer option, the freed-graph error, and the
composed path taken while a mode intercepts ops; plus PyTorch's node name."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.nn.modules import rnn_fused


def _run(lstm, xs, h0, c0, fused, monkeypatch):
    monkeypatch.setattr(rnn_fused, "usable", rnn_fused.usable if fused else lambda *a: False)
    x = ember.tensor(xs, requires_grad=True)
    h = ember.tensor(h0, requires_grad=True)
    c = ember.tensor(c0, requires_grad=True)
    out, (hn, cn) = lstm(x, (h, c))
    loss = (out * out).sum() + (hn * 3).sum() + (cn * cn).sum()
    loss.backward()
    grads = [x.grad, h.grad, c.grad] + [p.grad for p in lstm.parameters()]
    for p in lstm.parameters():
        p.grad = None
    return [out, hn, cn] + grads, out


@pytest.mark.parametrize("layers,bidirectional,batch_first,bias,dtype", [
    (1, False, False, True, "float32"),
    (2, True, True, True, "float64"),
    (1, True, False, False, "float64"),
    (3, False, True, True, "float32"),
])
def test_fused_matches_composed(layers, bidirectional, batch_first, bias, dtype, monkeypatch):
    ember.manual_seed(0)
    lstm = ember.nn.LSTM(4, 6, layers, bias=bias, bidirectional=bidirectional,
                         batch_first=batch_first).to(getattr(ember, dtype))
    rng = np.random.default_rng(0)
    d = 2 if bidirectional else 1
    xs = rng.standard_normal((3, 5, 4) if batch_first else (5, 3, 4)).astype(dtype)
    h0 = rng.standard_normal((layers * d, 3, 6)).astype(dtype)
    c0 = rng.standard_normal((layers * d, 3, 6)).astype(dtype)
    fused, out = _run(lstm, xs, h0, c0, True, monkeypatch)
    composed, _ = _run(lstm, xs, h0, c0, False, monkeypatch)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a, b in zip(fused, composed):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)
    if not batch_first and not bidirectional:
        assert type(out.grad_fn).__name__ == "MkldnnRnnLayerBackward0"


def test_second_backward_needs_retain_graph():
    lstm = ember.nn.LSTM(3, 4)
    out, _ = lstm(ember.randn(2, 1, 3))
    loss = out.sum()
    loss.backward(retain_graph=True)
    first = lstm.weight_hh_l0.grad.clone()
    loss.backward()
    np.testing.assert_allclose(lstm.weight_hh_l0.grad.numpy(), 2 * first.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_double_backward_through_fused_layer():
    lstm = ember.nn.LSTM(2, 3).double()
    x = ember.randn(4, 2, 2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda x: lstm(x)[0], (x,))


def test_modes_use_the_composed_ops():
    lstm = ember.nn.LSTM(2, 3)
    with ember.autograd.profiler.profile() as prof:
        out, _ = lstm(ember.randn(2, 1, 2))
    names = {e.name for e in prof.function_events}
    assert "aten::sigmoid" in names  # the composed cell ran, so the profiler saw its ops
    assert type(out.grad_fn).__name__ != "MkldnnRnnLayerBackward0"


def test_no_grad_forward_matches():
    lstm = ember.nn.LSTM(3, 5, 2)
    x = ember.randn(4, 2, 3)
    with ember.no_grad():
        a, (ha, ca) = lstm(x)
    b, (hb, cb) = lstm(x)
    for u, v in ((a, b), (ha, hb), (ca, cb)):
        np.testing.assert_array_equal(u.numpy(), v.detach().numpy())
    assert a.grad_fn is None and not a.requires_grad
