"""Array workloads: a tiny-op chain, large and small MLP training steps, a 4M-float
elementwise chain, and a Hessian-vector product by double backward.

Contract: each workload is a ``WORKLOADS`` entry with ``setup(T) -> args`` and
``run(T, *args) -> gradients`` where ``T`` is ``ember``, ``torch`` or ``numpy`` (``numpy``
selects the hand-written floor). Gradients come back as arrays, tensors or lists of them; the
harness (bench/run.py) converts and checks them equal before timing. The functional rewrites
for HIPS autograd, MyGrad and JAX live in bench/rivals.py and use the data built here.
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


def tensors_setup(T, xs, ys, params):
    """Inputs, targets and parameters (arrays) as ``T``'s tensors, the parameters requiring
    grad; the arrays themselves for the NumPy floor."""
    if T is np:
        return xs, ys, params
    return (T.tensor(xs), T.tensor(ys),
            [T.tensor(p, requires_grad=True) for p in params])


def mlp_setup(T):
    return tensors_setup(T, *mlp_data())


def mlp_run(T, x, y, params):
    if T is np:
        return mlp_numpy(x, y, params)[1]
    for p in params:
        p.grad = None
    mlp_step(T, x, y, params)
    return [p.grad.numpy() for p in params]


# ---- workload: a tiny MLP's full training step (2-16-16-1 tanh, batch 8, SGD by hand) -------

SMALL_SIZES = (2, 16, 16, 1)
SMALL_BATCH = 8
LR = 0.01


def small_mlp_data():
    xs, _, params = mlp_data(SMALL_SIZES, SMALL_BATCH, seed=1)
    ys = np.sin(xs.sum(axis=1, keepdims=True)).astype(np.float32)
    return xs, ys, params


def small_mlp_setup(T):
    xs, ys, params = small_mlp_data()
    if T is np:
        return xs, ys, params
    return T.tensor(xs), T.tensor(ys), [T.tensor(p, requires_grad=True) for p in params]


def small_mlp_run(T, x, y, params):
    """One step: zero grads, forward, MSE, backward, ``p -= lr * p.grad``; returns the grads."""
    if T is np:
        return small_mlp_numpy(x, y, params)
    F = T.nn.functional
    for p in params:
        p.grad = None
    w1, b1, w2, b2, w3, b3 = params
    h = F.linear(x, w1, b1).tanh()
    h = F.linear(h, w2, b2).tanh()
    loss = F.mse_loss(F.linear(h, w3, b3), y)
    loss.backward()
    with T.no_grad():
        for p in params:
            p -= LR * p.grad
    return [p.grad for p in params]


def small_mlp_numpy(x, y, params):
    w1, b1, w2, b2, w3, b3 = params
    h1 = np.tanh(x @ w1.T + b1)
    h2 = np.tanh(h1 @ w2.T + b2)
    out = h2 @ w3.T + b3
    g = (out - y) * np.float32(2 / out.size)
    gw3, gb3 = g.T @ h2, g.sum(0)
    g = (g @ w3) * (1 - h2 * h2)
    gw2, gb2 = g.T @ h1, g.sum(0)
    g = (g @ w2) * (1 - h1 * h1)
    gw1, gb1 = g.T @ x, g.sum(0)
    grads = [gw1, gb1, gw2, gb2, gw3, gb3]
    for p, gp in zip(params, grads):
        p -= LR * gp
    return grads


# ---- workload: a Hessian-vector product by double backward (1000 dims) ----------------------

HVP_DIM = 1000


def hvp_data():
    """``A`` scaled so ``tanh(A @ x)`` stays off saturation: the Hessian is far from diagonal."""
    rng = np.random.default_rng(2)
    a = (rng.standard_normal((HVP_DIM, HVP_DIM)) / np.sqrt(HVP_DIM)).astype(np.float32)
    x = rng.uniform(-1, 1, HVP_DIM).astype(np.float32)
    v = rng.standard_normal(HVP_DIM).astype(np.float32)
    return a, x, v


def hvp_setup(T):
    a, x, v = hvp_data()
    if T is np:
        return a, x, v
    return T.tensor(a), T.tensor(x, requires_grad=True), T.tensor(v)


def hvp_run(T, a, x, v):
    """f(x) = sum(tanh(A x)^2) + sum(x^4); H v = d/dx (grad f(x) . v)."""
    if T is np:
        return hvp_numpy(a, x, v)
    f = ((a @ x).tanh() ** 2).sum() + (x ** 4).sum()
    (g,) = T.autograd.grad(f, x, create_graph=True)
    (hv,) = T.autograd.grad(g @ v, x)
    return hv


def hvp_numpy(a, x, v):
    """Analytic: grad f = A^T (2t (1 - t^2)) + 4x^3 with t = tanh(Ax), so
    H v = A^T ((2 - 6t^2)(1 - t^2) * (A v)) + 12 x^2 v."""
    t = np.tanh(a @ x)
    t2 = t * t
    return a.T @ ((2 - 6 * t2) * (1 - t2) * (a @ v)) + 12 * x * x * v


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
    "small_mlp": dict(title="MLP 2-16-16-1 (tanh) full SGD step, batch 8",
                      setup=small_mlp_setup, run=small_mlp_run, unit="us/step", per=1,
                      repeats=1000, quick=200),
    "hvp": dict(title=f"Hessian-vector product by double backward, {HVP_DIM} dims",
                setup=hvp_setup, run=hvp_run, unit="ms/HVP", per=1, repeats=100, quick=20),
}
