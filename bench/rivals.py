"""Optional rival contestants: HIPS autograd, MyGrad and JAX (eager and ``jax.jit``).

Contract: ``contestants(workload)`` returns ``{key: (setup, run)}`` for the rivals that are
importable and cover ``workload`` (``chain``, ``small_mlp``, ``mlp``, ``big``, ``hvp``);
``setup() -> args`` builds the rival's inputs from the same data as bench/workloads_core.py and
``run(*args)`` does one step and returns the same gradients, which the harness checks equal
before timing. A rival that is not installed is skipped silently. ``LABELS`` names the keys
for the table; ``import_names()`` lists the rivals whose import time the ``import`` workload
measures. None of these packages is a dependency of ember (``pip install .[bench]``).

Each loss is written once, functionally, over a NumPy-like namespace ``xp`` (autograd.numpy,
jax.numpy or mygrad), and differentiated the way that library is meant to be used:
``autograd.grad``, ``jax.grad`` (and ``jax.jit`` of it), MyGrad tensors with ``.backward()``.
MyGrad runs with memory guarding off (its documented fast mode) and has no double backward, so
it sits out ``hvp``. JAX results are waited for (``block_until_ready``) inside the timing.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util

import numpy as np

from .workloads_core import (
    CHAIN_OPS,
    LR,
    big_data,
    chain_data,
    hvp_data,
    mlp_data,
    small_mlp_data,
)

LABELS = {"autograd": "HIPS autograd", "mygrad": "MyGrad", "jax": "JAX eager",
          "jax_jit": "JAX jit"}
_PACKAGES = {"autograd": "autograd", "mygrad": "mygrad", "jax": "jax", "jax_jit": "jax"}
_NAMES = {"autograd": "HIPS autograd", "mygrad": "MyGrad", "jax": "JAX"}


def versions(keys):
    """``"MyGrad 2.5.0"``-style strings for the packages behind the rival ``keys``."""
    packages = sorted({_PACKAGES[k] for k in keys})
    return [f"{_NAMES[p]} {importlib.metadata.version(p)}" for p in packages]


def import_names():
    """The rival packages installed here (found without importing them)."""
    return [k for k in ("autograd", "mygrad", "jax") if importlib.util.find_spec(k)]


WORKLOADS = ("chain", "small_mlp", "mlp", "big", "hvp")


def contestants(workload):
    if workload not in WORKLOADS:
        return {}
    out = {}
    for key in LABELS:
        table = _rival(key)
        if table is not None and workload in table:
            out[key] = table[workload]
    return out


# ---- the losses, written once over a NumPy-like namespace ------------------------------------

def chain_f(xp, x):
    y = x
    for _ in range(CHAIN_OPS // 2):
        y = xp.sin(y * 1.01)
    return xp.sum(y)


def mlp_f(xp, params, x, onehot):
    h = x
    n = len(params) // 2
    for i in range(n):
        h = h @ params[2 * i].T + params[2 * i + 1]
        if i < n - 1:
            h = xp.maximum(h, 0)
    z = h - xp.max(h, axis=1, keepdims=True)
    logp = z - xp.log(xp.sum(xp.exp(z), axis=1, keepdims=True))
    return -xp.sum(onehot * logp) / x.shape[0]


def small_mlp_f(xp, params, x, y):
    w1, b1, w2, b2, w3, b3 = params
    h = xp.tanh(x @ w1.T + b1)
    h = xp.tanh(h @ w2.T + b2)
    return xp.mean((h @ w3.T + b3 - y) ** 2)


def big_f(xp, sigmoid, x):
    y = xp.tanh(x * 1.5 + 0.5) * x
    return xp.sum(sigmoid(y) + x * x)


def hvp_f(xp, a, x):
    return xp.sum(xp.tanh(a @ x) ** 2) + xp.sum(x ** 4)


def _mlp_inputs():
    xs, ys, params = mlp_data()
    return xs, np.eye(10, dtype=np.float32)[ys], params


# ---- the rivals --------------------------------------------------------------------------------

@functools.cache
def _rival(key):
    if importlib.util.find_spec(_PACKAGES[key]) is None:
        return None
    return {"autograd": _autograd, "mygrad": _mygrad, "jax": functools.partial(_jax, False),
            "jax_jit": functools.partial(_jax, True)}[key]()


def _autograd():
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import expit

    d_chain = autograd.grad(functools.partial(chain_f, anp))
    d_mlp = autograd.grad(functools.partial(mlp_f, anp))
    d_small = autograd.grad(functools.partial(small_mlp_f, anp))
    d_big = autograd.grad(functools.partial(big_f, anp, expit))

    def hvp(a, x, v):
        g = autograd.grad(functools.partial(hvp_f, anp, a))
        return autograd.grad(lambda x: anp.dot(g(x), v))(x)

    def small_step(x, y, params):
        grads = d_small(params, x, y)
        params[:] = [p - LR * g for p, g in zip(params, grads)]
        return grads

    return {"chain": (lambda: (chain_data(),), d_chain),
            "mlp": (_mlp_inputs, lambda x, onehot, params: d_mlp(params, x, onehot)),
            "small_mlp": (small_mlp_data, small_step),
            "big": (lambda: (big_data(),), d_big),
            "hvp": (hvp_data, hvp)}


def _mygrad():
    import mygrad as mg
    from mygrad.nnet.activations import sigmoid

    mg.turn_memory_guarding_off()

    def backward(loss, wrt):
        loss.backward()
        return [p.grad for p in wrt]

    def small_step(x, y, params):
        grads = backward(small_mlp_f(mg, params, x, y), params)
        for p, g in zip(params, grads):
            p.data -= LR * g
        return grads

    def small_setup():
        x, y, params = small_mlp_data()
        return x, y, [mg.tensor(p) for p in params]

    def mlp_setup():
        x, onehot, params = _mlp_inputs()
        return x, onehot, [mg.tensor(p) for p in params]

    return {"chain": (lambda: (mg.tensor(chain_data()),),
                      lambda x: backward(chain_f(mg, x), [x])[0]),
            "mlp": (mlp_setup,
                    lambda x, onehot, params: backward(mlp_f(mg, params, x, onehot), params)),
            "small_mlp": (small_setup, small_step),
            "big": (lambda: (mg.tensor(big_data()),),
                    lambda x: backward(big_f(mg, sigmoid, x), [x])[0])}


def _jax(jit):
    import jax
    import jax.numpy as jnp

    wrap = jax.jit if jit else (lambda f: f)

    def on_device(*arrays):
        return jax.tree_util.tree_map(jnp.asarray, arrays)

    def ready(f):
        return lambda *args: jax.block_until_ready(f(*args))

    d_chain = wrap(jax.grad(functools.partial(chain_f, jnp)))
    d_mlp = wrap(jax.grad(functools.partial(mlp_f, jnp)))
    d_big = wrap(jax.grad(functools.partial(big_f, jnp, jax.nn.sigmoid)))

    @wrap
    def hvp(a, x, v):
        g = jax.grad(functools.partial(hvp_f, jnp, a))
        return jax.grad(lambda x: jnp.vdot(g(x), v))(x)

    @wrap
    def small_update(params, x, y):
        grads = jax.grad(functools.partial(small_mlp_f, jnp))(params, x, y)
        return grads, [p - LR * g for p, g in zip(params, grads)]

    def small_step(x, y, params):
        grads, params[:] = jax.block_until_ready(small_update(params, x, y))
        return grads

    def small_setup():
        x, y, params = on_device(*small_mlp_data())
        return x, y, list(params)

    def mlp_setup():
        x, onehot, params = on_device(*_mlp_inputs())
        return x, onehot, list(params)

    return {"chain": (lambda: on_device(chain_data()), ready(d_chain)),
            "mlp": (mlp_setup, ready(lambda x, onehot, params: d_mlp(params, x, onehot))),
            "small_mlp": (small_setup, small_step),
            "big": (lambda: on_device(big_data()), ready(d_big)),
            "hvp": (lambda: on_device(*hvp_data()), ready(hvp))}
