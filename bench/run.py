"""Benchmarks run side by side in one process: ember, PyTorch and a hand-written NumPy floor.

Usage: ``python -m bench [--quick] [--write bench/results.md] [workload ...]``

Each workload is written once as PyTorch-style code taking the module ``T`` (ember or torch),
run on identical inputs; gradients are checked equal before anything is timed. Contestants are
interleaved round by round and the median of many repeats is reported, with ratios to PyTorch
and to the NumPy floor. Nothing here is a test: these are measurements, printed and written as
the Markdown table the README includes.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

import ember

try:
    import torch

    if os.environ.get("BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
except ImportError:  # pragma: no cover - PyTorch is optional here
    torch = None


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


def chain_setup(T):
    if T is np:
        return (np.array([0.1, 0.2, 0.3], dtype=np.float32),)
    return (T.tensor([0.1, 0.2, 0.3], requires_grad=True),)


def chain_run(T, x):
    if T is np:
        return chain_numpy(x)
    x.grad = None
    return chain_step(T, x).numpy()


# ---- workload: MLP training step (784-512-512-10, batch 256) --------------------------------

MLP_SIZES = (784, 512, 512, 10)
BATCH = 256


def _mlp_data():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((BATCH, MLP_SIZES[0])).astype(np.float32)
    ys = rng.integers(0, MLP_SIZES[-1], size=BATCH)
    params = []
    for n_in, n_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
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
    xs, ys, params = _mlp_data()
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
    xs, ys, params = _convnet_data()
    if T is np:
        return xs, ys, params
    return (T.tensor(xs), T.tensor(ys),
            [T.tensor(p, requires_grad=True) for p in params])


def convnet_run(T, x, y, params):
    if T is np:
        return convnet_numpy(x, y, params)
    for p in params:
        p.grad = None
    convnet_step(T, x, y, params)
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


def big_setup(T):
    data = np.random.default_rng(0).uniform(-2, 2, BIG).astype(np.float32)
    if T is np:
        return (data,)
    return (T.tensor(data, requires_grad=True),)


def big_run(T, x):
    if T is np:
        return big_numpy(x)
    x.grad = None
    return big_step(T, x).numpy()


def peak_memory(run, T, args):
    """Peak bytes allocated during one run: tracemalloc for NumPy and ember (NumPy reports
    its buffers to it); PyTorch's profiler memory events for PyTorch (its allocator is not
    traced), summed in time order."""
    import tracemalloc

    if torch is not None and T is torch:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            run(T, *args)
        events = sorted(prof.events(), key=lambda e: e.time_range.start)
        now = peak = 0
        for e in events:
            now += e.cpu_memory_usage if e.name == "[memory]" else e.self_cpu_memory_usage
            peak = max(peak, now)
        return peak
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    run(T, *args)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


ROUNDS = 5  # blocks per contestant

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


WORKLOADS = {
    "chain": dict(title=f"tiny-op chain ({CHAIN_OPS} ops on 3 floats), per op fwd+bwd",
                  setup=chain_setup, run=chain_run, unit="us/op", per=CHAIN_OPS,
                  repeats=200, quick=40),
    "mlp": dict(title="MLP 784-512-512-10 training step, batch 256", setup=mlp_setup,
                run=mlp_run, unit="ms/step", per=1, repeats=40, quick=10),
    "convnet": dict(title="conv-net step (conv 8@3x3, pool, conv 16@3x3, linear), batch 32 "
                          "1x28x28", setup=convnet_setup, run=convnet_run, unit="ms/step",
                    per=1, repeats=40, quick=10),
    "big": dict(title="elementwise chain on 4M floats, fwd+bwd", setup=big_setup, run=big_run,
                unit="ms/step", per=1, repeats=20, quick=5, memory=True),
    "digits": dict(title="digits demo CNN training step (nn + Adam), batch 64",
                   setup=digits_setup, run=digits_run, unit="ms/step", per=1, repeats=40,
                   quick=10, numpy=False),
}


def _check_equal(results, name):
    ref = results.get("numpy", results.get("torch"))
    if ref is None:
        return
    for who, got in results.items():
        for a, b in zip(np.atleast_1d(got) if not isinstance(got, list) else got,
                        np.atleast_1d(ref) if not isinstance(ref, list) else ref):
            if not np.allclose(a, b, rtol=1e-3, atol=1e-5):
                raise AssertionError(f"{name}: {who} gradients differ from NumPy's")


def bench(name, quick=False):
    spec = WORKLOADS[name]
    contestants = {"ember": ember}
    if spec.get("numpy", True):
        contestants["numpy"] = np
    if torch is not None:
        contestants["torch"] = torch
    args = {who: spec["setup"](T) for who, T in contestants.items()}
    results = {who: spec["run"](T, *args[who]) for who, T in contestants.items()}
    _check_equal(results, name)
    times = {who: [] for who in contestants}
    repeats = spec["quick"] if quick else spec["repeats"]
    # NOTE: contestants alternate in short blocks (each block's first run is a discarded
    # warm-up): interleaving single runs lets one library's idle worker threads (PyTorch's
    # OpenMP pool spins after each op) and cold caches tax whoever runs next.
    block = max(1, repeats // ROUNDS)
    for _ in range(ROUNDS):
        for who, T in contestants.items():
            spec["run"](T, *args[who])
            for _ in range(block):
                t0 = time.perf_counter()
                spec["run"](T, *args[who])
                times[who].append(time.perf_counter() - t0)
    scale = 1e6 if spec["unit"].startswith("us") else 1e3
    res = {who: statistics.median(ts) * scale / spec["per"] for who, ts in times.items()}
    if spec.get("memory"):
        for who, T in contestants.items():
            res[f"{who} peak MB"] = peak_memory(spec["run"], T, args[who]) / 2**20
    return res


def table(rows):
    lines = ["| workload | ember | PyTorch | NumPy floor | ember / PyTorch | ember / NumPy |",
             "|---|---|---|---|---|---|"]
    for name, res in rows:
        spec = WORKLOADS[name]
        unit = spec["unit"]
        e, t, n = res["ember"], res.get("torch"), res.get("numpy")
        t_cell = f"{t:.2f} {unit}" if t else "n/a"
        ratio = f"{e / t:.2f}x" if t else "n/a"
        n_cell, n_ratio = (f"{n:.2f} {unit}", f"{e / n:.2f}x") if n else ("n/a", "n/a")
        lines.append(f"| {spec['title']} | {e:.2f} {unit} | {t_cell} | {n_cell} | "
                     f"{ratio} | {n_ratio} |")
    mem = [(name, res) for name, res in rows if "ember peak MB" in res]
    if mem:
        lines += ["", "| workload (peak memory) | ember | PyTorch | NumPy floor |",
                  "|---|---|---|---|"]
        for name, res in mem:
            t = res.get("torch peak MB")
            lines.append(f"| {WORKLOADS[name]['title']} | {res['ember peak MB']:.0f} MB | "
                         f"{f'{t:.0f} MB' if t is not None else 'n/a'} | "
                         f"{res['numpy peak MB']:.0f} MB |")
    return "\n".join(lines)


def machine():
    torch_v = torch.__version__ if torch is not None else "absent"
    return (f"Python {platform.python_version()}, NumPy {np.__version__}, PyTorch {torch_v} "
            f"({torch.get_num_threads() if torch else 0} threads), {platform.machine()}, "
            f"{os.cpu_count()} CPUs")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--write", metavar="PATH", help="write the Markdown table to PATH")
    ap.add_argument("--readme", action="store_true",
                    help="also put the table into README.md between its bench markers")
    args = ap.parse_args(argv)
    rows = []
    for name in args.workloads:
        res = bench(name, args.quick)
        rows.append((name, res))
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in res.items()), flush=True)
    text = table(rows) + f"\n\nMeasured with: {machine()}.\n"
    print()
    print(text)
    if args.write:
        _write_atomic(args.write, text)
    if args.readme:
        readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "README.md")
        with open(readme) as f:
            doc = f.read()
        start, end = "<!-- bench:start -->\n", "<!-- bench:end -->"
        i, j = doc.index(start) + len(start), doc.index(end)
        _write_atomic(readme, doc[:i] + text + doc[j:])
    return 0


def _write_atomic(path, text):
    """Write via a temporary file and a rename: never a half-written file."""
    from ember._io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
