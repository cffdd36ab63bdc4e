"""Array workloads: a tiny-op chain, an MLP training step and a 4M-float elementwise chain.

Contract: each workload is a ``WORKLOADS`` entry with ``setup(T) -> args`` and
``run(T, *args) -> gradients`` where ``T`` is ``ember``, ``torch`` or ``numpy`` (``numpy``
selects the hand-written floor). Gradients come back as arrays, tensors or lists of them; the
harness (bench/run.py) converts and checks them equal before timing.
"""

from __future__ import annotations

import numpy as np

# ---- workload: a chain of tiny elementwise ops ---------------------------------------------

CHAIN_OPS = 200


def chain_step(T, x):
    y = x
    for _ in range(CHAIN_OPS // 2):
        y = y * 1.01
        y = y.sin()
    y.sum().backward()
    return x.grad


def chain_numpy(x0):
    xs = []
    y = x0
    for _ in range(CHAIN_OPS // 2):
        y = y * np.float32(1.01)
        xs.append(y)
        y = np.sin(y)
    g = np.ones_like(y)
    for a in reversed(xs):
        g = g * np.cos(a)
        g = g * np.float32(1.01)
    return g


def chain_data():
    return np.array([0.1, 0.2, 0.3], dtype=np.float32)


def chain_setup(T):
    if T is np:
        return (chain_data(),)
    return (T.tensor(chain_data(), requires_grad=True),)


def chain_run(T, x):
    if T is np:
        return chain_numpy(x)
    x.grad = None
    return chain_step(T, x).numpy()


# ---- workload: MLP training step (784-512-512-10, batch 256) --------------------------------

MLP_SIZES = (784, 512, 512, 10)
BATCH = 256


def mlp_data(sizes=MLP_SIZES, batch=BATCH, seed=0):
    """Inputs, integer labels and PyTorch-initialised ``[w1, b1, w2, b2, ...]`` (float32)."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    ys = rng.integers(0, sizes[-1], size=batch)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        params.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (n_out,)).astype(np.float32))
    return xs, ys, params


def mlp_step(T, x, y, params):
    F = T.nn.functional
    h = x
    n = len(params) // 2
    for i in range(n):
        h = F.linear(h, params[2 * i], params[2 * i + 1])
        if i < n - 1:
            h = F.relu(h)
    loss = F.cross_entropy(h, y)
    loss.backward()
    return loss


def mlp_numpy(x, y, params):
    """Forward and backward by hand: the floor any NumPy-based engine is measured against."""
    acts = [x]
    h = x
    n = len(params) // 2
    for i in range(n):
        w, b = params[2 * i], params[2 * i + 1]
        h = h @ w.T
        h += b
        if i < n - 1:
            h = np.maximum(h, 0)
        acts.append(h)
    z = h - h.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    logp = z - np.log(s)
    loss = -logp[np.arange(len(y)), y].mean()
    g = e / s
    g[np.arange(len(y)), y] -= 1
    g /= len(y)
    grads = [None] * len(params)
    for i in reversed(range(n)):
        w = params[2 * i]
        a_in = acts[i]
        grads[2 * i] = g.T @ a_in
        grads[2 * i + 1] = g.sum(axis=0)
        if i > 0:
            g = g @ w
            g *= acts[i] > 0
    return loss, grads


def mlp_setup(T):
    xs, ys, params = mlp_data()
    if T is np:
        return xs, ys, params
    return (T.tensor(xs), T.tensor(ys),
            [T.tensor(p, requires_grad=True) for p in params])


def mlp_run(T, x, y, params):
    if T is np:
        return mlp_numpy(x, y, params)[1]
    for p in params:
        p.grad = None
    mlp_step(T, x, y, params)
    return [p.grad.numpy() for p in params]


# ---- workload: an elementwise chain on 4M floats (time and peak memory) ----------------------

BIG = 4_000_000


def big_step(T, x):
    y = (x * 1.5 + 0.5).tanh() * x
    y = y.sigmoid() + x * x
    y.sum().backward()
    return x.grad


def big_numpy(x):
    a = x * np.float32(1.5) + np.float32(0.5)
    t = np.tanh(a)
    b = t * x
    s = 1 / (1 + np.exp(-b))
    gb = s * (1 - s)
    return gb * (x * np.float32(1.5) * (1 - t * t) + t) + 2 * x


def big_data():
    return np.random.default_rng(0).uniform(-2, 2, BIG).astype(np.float32)


def big_setup(T):
    if T is np:
        return (big_data(),)
    return (T.tensor(big_data(), requires_grad=True),)


def big_run(T, x):
    if T is np:
        return big_numpy(x)
    x.grad = None
    return big_step(T, x).numpy()


WORKLOADS = {
    "chain": dict(title=f"tiny-op chain ({CHAIN_OPS} ops on 3 floats), per op fwd+bwd",
                  setup=chain_setup, run=chain_run, unit="us/op", per=CHAIN_OPS,
                  repeats=200, quick=40),
    "mlp": dict(title="MLP 784-512-512-10 training step, batch 256", setup=mlp_setup,
                run=mlp_run, unit="ms/step", per=1, repeats=40, quick=10),
    "big": dict(title="elementwise chain on 4M floats, fwd+bwd", setup=big_setup, run=big_run,
                unit="ms/step", per=1, repeats=20, quick=5, memory=True),
}
