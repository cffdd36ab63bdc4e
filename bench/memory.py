"""Peak memory of a training step with and without activation checkpointing.

Usage: ``python -m bench.memory [--depth 24] [--width 1024] [--batch 256] [--segments 4]``

A deep MLP (``depth`` tanh layers of ``width``, a large batch so activations dominate) runs
forward and backward plainly and with ``checkpoint_sequential`` in ``segments`` chunks, and the
peak of NumPy allocations (``tracemalloc``: NumPy reports its buffers to it) is printed with
the gradients checked equal. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import ember
from ember.utils.checkpoint import checkpoint_sequential


def _model(depth, width, seed=0):
    rng = np.random.default_rng(seed)
    return [ember.tensor(rng.standard_normal((width, width)) / np.sqrt(width),
                         dtype=ember.float32, requires_grad=True) for _ in range(depth)]


def _layer(w):
    return lambda h: (h @ w).tanh()


def _step(ws, x, mode, segments):
    for w in ws:
        w.grad = None
    layers = [_layer(w) for w in ws]
    if mode == "plain":
        h = x
        for f in layers:
            h = f(h)
    else:
        h = checkpoint_sequential(layers, segments, x, use_reentrant=False)
    h.square().mean().backward()
    return [w.grad for w in ws]


def measure(depth, width, batch, segments):
    ws = _model(depth, width)
    x = ember.randn(batch, width)
    rows = []
    reference = None
    for mode in ("plain", f"sequential/{segments}"):
        _step(ws, x, mode, segments)  # warm up
        tracemalloc.start()
        t0 = time.perf_counter()
        grads = _step(ws, x, mode, segments)
        seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        grads = [g._data.copy() for g in grads]
        if reference is None:
            reference = grads
        else:
            for a, b in zip(reference, grads):
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        rows.append((mode, peak / 2**20, seconds * 1e3))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=32)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--segments", type=int, default=8)
    a = p.parse_args(argv)
    rows = measure(a.depth, a.width, a.batch, a.segments)
    base = rows[0][1]
    print(f"MLP {a.depth}x{a.width}, batch {a.batch}: one training step (gradients checked "
          "equal)\n")
    print("| checkpointing | peak MiB | vs plain | step ms |")
    print("|---|---:|---:|---:|")
    for mode, mib, ms in rows:
        print(f"| {mode} | {mib:.1f} | {mib / base:.2f}x | {ms:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
