"""Network workloads: a small conv-net step, the digits demo model's training step, and an LSTM.

Contract: as in bench/workloads_core.py: each ``WORKLOADS`` entry has ``setup(T) -> args`` and
``run(T, *args) -> gradients``, ``T`` being ``ember``, ``torch`` or ``numpy`` (the
hand-written floor; entries with ``numpy=False`` have none). No rival runs these.
"""

from __future__ import annotations

import numpy as np

from .workloads_core import tensors_setup

# ---- workload: a small conv-net training step (batch 32, 1x28x28) ----------------------------

CONV_BATCH = 32


def _convnet_data():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((CONV_BATCH, 1, 28, 28)).astype(np.float32)
    ys = rng.integers(0, 10, size=CONV_BATCH)
    shapes = [(8, 1, 3, 3), (8,), (16, 8, 3, 3), (16,), (10, 16 * 11 * 11), (10,)]
    params = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, shape).astype(np.float32))
    return xs, ys, params


def convnet_step(T, x, y, params):
    F = T.nn.functional
    w1, b1, w2, b2, w3, b3 = params
    h = F.relu(F.conv2d(x, w1, b1))
    h = F.max_pool2d(h, 2)
    h = F.relu(F.conv2d(h, w2, b2))
    h = F.linear(h.flatten(1), w3, b3)
    loss = F.cross_entropy(h, y)
    loss.backward()
    return loss


def _cols(a, k):
    """im2col: ``a`` (N, C, H, W) -> columns (C*k*k, N*Ho*Wo)."""
    from numpy.lib.stride_tricks import sliding_window_view

    v = sliding_window_view(a, (k, k), axis=(2, 3))  # (A, B, Ho, Wo, k, k)
    return np.ascontiguousarray(v.transpose(1, 4, 5, 0, 2, 3)).reshape(
        a.shape[1] * k * k, -1), v.shape[2:4]


def convnet_numpy(x, y, params):
    """The conv-net step by hand (im2col with (C*k*k, N*L) columns, one GEMM per conv,
    activations kept channel-major (C, N, H, W) between layers): the floor."""
    w1, b1, w2, b2, w3, b3 = params
    n = x.shape[0]
    cols1, (h1, v1) = _cols(x, 3)  # (9, N*26*26)
    a1 = w1.reshape(8, -1) @ cols1 + b1[:, None]
    r1 = np.maximum(a1, 0).reshape(8, n, h1, v1)
    quads = [r1[:, :, i::2, j::2] for i in range(2) for j in range(2)]
    p1 = quads[0].copy()
    for q in quads[1:]:
        np.maximum(p1, q, out=p1)
    arg = np.full(p1.shape, 3)
    for j in (2, 1, 0):
        np.copyto(arg, j, where=quads[j] == p1)
    cols2, (h2, v2) = _cols(p1.transpose(1, 0, 2, 3), 3)  # (72, N*11*11)
    a2 = w2.reshape(16, -1) @ cols2 + b2[:, None]
    r2 = np.maximum(a2, 0)
    flat = r2.reshape(16, n, h2 * v2).transpose(1, 0, 2).reshape(n, -1)
    z = flat @ w3.T + b3
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    g = e / e.sum(axis=1, keepdims=True)
    g[np.arange(n), y] -= 1
    g /= n
    gw3, gb3 = g.T @ flat, g.sum(0)
    g2 = (g @ w3).reshape(n, 16, -1).transpose(1, 0, 2).reshape(16, -1) * (a2 > 0)
    gw2, gb2 = (g2 @ cols2.T).reshape(w2.shape), g2.sum(1)
    gcols = (w2.reshape(16, -1).T @ g2).reshape(8, 3, 3, n, h2, v2)
    gp1 = np.zeros_like(p1)
    for i in range(3):
        for j in range(3):
            gp1[:, :, i:i + h2, j:j + v2] += gcols[:, i, j]
    gr1 = np.zeros_like(r1)
    for q in range(4):
        gr1[:, :, q // 2::2, q % 2::2] = np.where(arg == q, gp1, 0)
    g1 = gr1.reshape(8, -1) * (a1 > 0)
    gw1, gb1 = (g1 @ cols1.T).reshape(w1.shape), g1.sum(1)
    return [gw1, gb1, gw2, gb2, gw3, gb3]


def convnet_setup(T):
    return tensors_setup(T, *_convnet_data())


def convnet_run(T, x, y, params):
    if T is np:
        return convnet_numpy(x, y, params)
    for p in params:
        p.grad = None
    convnet_step(T, x, y, params)
    return [p.grad.numpy() for p in params]


# ---- workload: a training step of the demo's digits model (nn + optim, no NumPy floor) -------

def digits_setup(T):
    """The demo's CNN (ember/demo.py) with the same weights in both libraries, Adam, batch 64."""
    from ember.demo import build_model

    rng = np.random.default_rng(0)
    model = build_model(T)
    with T.no_grad():
        for p in model.parameters():
            p.copy_(T.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
    x = T.tensor(rng.random((64, 1, 8, 8)).astype(np.float32))
    y = T.tensor(rng.integers(0, 10, 64))
    return model, T.optim.Adam(model.parameters(), lr=1e-3), x, y


def digits_run(T, model, opt, x, y):
    opt.zero_grad()
    T.nn.functional.cross_entropy(model(x), y).backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    opt.step()
    return grads


# ---- workload: an LSTM over a sequence, linear head, MSE (nn, no NumPy floor) ----------------

LSTM_IN, LSTM_HIDDEN, LSTM_SEQ, LSTM_BATCH = 32, 64, 20, 16


def _lstm_state():
    """The weights as NumPy arrays: PyTorch's own initialisation (seed 0) when PyTorch is
    installed, ember's otherwise, so both libraries load exactly the same values."""
    try:
        import torch as lib
    except ImportError:  # pragma: no cover - PyTorch is optional here
        import ember as lib
    lib.manual_seed(0)
    lstm, head = lib.nn.LSTM(LSTM_IN, LSTM_HIDDEN), lib.nn.Linear(LSTM_HIDDEN, 1)
    return ({k: v.numpy().copy() for k, v in lstm.state_dict().items()},
            {k: v.numpy().copy() for k, v in head.state_dict().items()})


def lstm_setup(T):
    lstm_sd, head_sd = _lstm_state()
    lstm, head = T.nn.LSTM(LSTM_IN, LSTM_HIDDEN), T.nn.Linear(LSTM_HIDDEN, 1)
    lstm.load_state_dict({k: T.tensor(v) for k, v in lstm_sd.items()})
    head.load_state_dict({k: T.tensor(v) for k, v in head_sd.items()})
    rng = np.random.default_rng(3)
    x = T.tensor(rng.standard_normal((LSTM_SEQ, LSTM_BATCH, LSTM_IN)).astype(np.float32))
    y = T.tensor(rng.standard_normal((LSTM_SEQ, LSTM_BATCH, 1)).astype(np.float32))
    return lstm, head, x, y


def lstm_run(T, lstm, head, x, y):
    params = [*lstm.parameters(), *head.parameters()]
    for p in params:
        p.grad = None
    out, _ = lstm(x)
    T.nn.functional.mse_loss(head(out), y).backward()
    return [p.grad for p in params]


WORKLOADS = {
    "convnet": dict(title="conv-net step (conv 8@3x3, pool, conv 16@3x3, linear), batch 32 "
                          "1x28x28", setup=convnet_setup, run=convnet_run, unit="ms/step",
                    per=1, repeats=40, quick=10),
    "digits": dict(title="digits demo CNN training step (nn + Adam), batch 64",
                   setup=digits_setup, run=digits_run, unit="ms/step", per=1, repeats=40,
                   quick=10, numpy=False),
    "lstm": dict(title=f"LSTM {LSTM_IN}->{LSTM_HIDDEN}, {LSTM_SEQ} steps, batch {LSTM_BATCH}, "
                       "linear head + MSE, fwd+bwd", setup=lstm_setup, run=lstm_run,
                 unit="ms/step", per=1, repeats=40, quick=10, numpy=False),
}
