"""GPU benchmarks and the PyTorch-CUDA oracle check: ember on CuPy against PyTorch on CUDA.

Usage: ``python -m bench.gpu [--write PATH] [--oracle-only | --bench-only] [--check]``
(run by bench/gpu_check.sh on a machine with an NVIDIA GPU; ``--check`` runs everything on
the CPU device checker instead, with PyTorch on its CPU as the oracle: a dry run of this
script for machines without a GPU).

The oracle part runs a set of ops and training steps through ``ember`` on ``cuda`` and
``torch`` on ``cuda`` from the same inputs and compares values and gradients (float32
tolerances: cuBLAS and CuPy's reductions sum in their own orders). The benchmark part times,
with the device synchronised around each block, the MLP 784-512-512-10 training step and the
conv-net step at batch 256 and the 4M-float elementwise chain (forward and backward), and
prints a Markdown table of medians with ember's ratio to PyTorch (issue 15's target: at most
1.5x PyTorch eager; a GEMM-bound step near cuBLAS speed). Nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import time

import numpy as np

import ember

try:
    import torch
except ImportError:  # pragma: no cover - the oracle and the rival need PyTorch
    torch = None

ROUNDS = 7


def _sync(T):
    if T is ember:
        ember.cuda.synchronize()
    elif torch is not None and torch.cuda.is_available():
        torch.cuda.synchronize()


# where PyTorch runs: its GPU; with --check (no GPU), its CPU, so the oracle still compares
_TORCH_DEVICE = ["cuda"]


def _dev(T):
    return _TORCH_DEVICE[0] if T is torch else "cuda"


def _torch_ok():
    return torch is not None and (torch.cuda.is_available() or _TORCH_DEVICE[0] == "cpu")


def _t(T, a, requires_grad=False):
    return T.tensor(a, device=_dev(T), requires_grad=requires_grad)


# ---- workloads: (setup(T) -> state, step(T, state)) --------------------------------------------

def _linear_params(rng, sizes):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    return params


def _sgd(T, loss, params, lr):
    """Backward, then one plain SGD update of ``params``; returns ``loss``."""
    loss.backward()
    with T.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return loss


def mlp_setup(T, batch=256):
    rng = np.random.default_rng(0)
    params = [_t(T, p, True) for p in _linear_params(rng, [784, 512, 512, 10])]
    x = _t(T, rng.standard_normal((batch, 784)).astype(np.float32))
    y = T.tensor(rng.integers(0, 10, batch), device=_dev(T))
    return params, x, y


def mlp_step(T, state, lr=0.01):
    params, x, y = state
    F = T.nn.functional
    h = x
    for i in range(0, len(params) - 2, 2):
        h = F.relu(F.linear(h, params[i], params[i + 1]))
    loss = F.cross_entropy(F.linear(h, params[-2], params[-1]), y)
    return _sgd(T, loss, params, lr)


def convnet_setup(T, batch=256):
    rng = np.random.default_rng(0)
    shapes = [(8, 1, 3, 3), (8,), (16, 8, 3, 3), (16,), (10, 16 * 11 * 11), (10,)]
    params = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        bound = 1 / np.sqrt(fan_in)
        params.append(_t(T, rng.uniform(-bound, bound, shape).astype(np.float32), True))
    x = _t(T, rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = T.tensor(rng.integers(0, 10, batch), device=_dev(T))
    return params, x, y


def convnet_step(T, state, lr=0.01):
    params, x, y = state
    F = T.nn.functional
    w1, b1, w2, b2, w3, b3 = params
    h = F.relu(F.conv2d(x, w1, b1))
    h = F.max_pool2d(h, 2)
    h = F.relu(F.conv2d(h, w2, b2))
    loss = F.cross_entropy(F.linear(h.flatten(1), w3, b3), y)
    return _sgd(T, loss, params, lr)


def big_setup(T, n=4_000_000):
    x = np.random.default_rng(0).uniform(-2, 2, n).astype(np.float32)
    return (_t(T, x, True),)


def big_step(T, state):
    (x,) = state
    x.grad = None
    y = (x * 1.5 + 0.5).tanh() * x
    y = y.sigmoid() + x * x
    y.sum().backward()
    return x.grad


WORKLOADS = {
    "mlp": ("MLP 784-512-512-10 training step, batch 256", mlp_setup, mlp_step),
    "convnet": ("conv-net step (conv 8@3x3, pool, conv 16@3x3, linear), batch 256",
                convnet_setup, convnet_step),
    "big": ("elementwise chain on 4M floats, fwd+bwd", big_setup, big_step),
}


def _time(T, step, state, iters):
    for _ in range(2):  # warm-up: CuPy compiles its kernels, PyTorch loads cuBLAS
        step(T, state)
    _sync(T)
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(iters):
            step(T, state)
        _sync(T)
        times.append((time.perf_counter() - t0) / iters)
    return statistics.median(times)


def bench(names, iters=10):
    rows = []
    for name in names:
        title, setup, step = WORKLOADS[name]
        got = {"ember": _time(ember, step, setup(ember), iters)}
        if torch is not None and torch.cuda.is_available():
            got["torch"] = _time(torch, step, setup(torch), iters)  # (not PyTorch's CPU)
        rows.append((title, got))
        ratio = f" ({got['ember'] / got['torch']:.2f}x PyTorch)" if "torch" in got else ""
        print(f"{title}: ember {got['ember'] * 1e3:.3f} ms" + ratio, flush=True)
    return rows


def table(rows) -> str:
    dev = ember.cuda.get_device_name(0)
    lines = [f"GPU: {dev}; {platform.python_version()}, ember on CuPy "
             f"{_cupy_version()}, PyTorch {getattr(torch, '__version__', '-')}", "",
             "| workload | ember (ms) | PyTorch (ms) | ember / PyTorch |",
             "|---|---:|---:|---:|"]
    for title, got in rows:
        te, tt = got["ember"], got.get("torch")
        rival = "-" if tt is None else f"{tt * 1e3:.3f}"
        ratio = "-" if tt is None else f"{te / tt:.2f}x"
        lines.append(f"| {title} | {te * 1e3:.3f} | {rival} | {ratio} |")
    return "\n".join(lines) + "\n"


def _cupy_version():
    try:
        import cupy
        return cupy.__version__
    except ImportError:
        return "-"


# ---- the oracle: ember on cuda against torch on cuda ------------------------------------------

def _oracle_cases():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal((5, 3)).astype(np.float32)
    img = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    lab = rng.integers(0, 5, 4)
    return [
        ("matmul", lambda T, x, y: x @ y, (a, b)),
        ("sin/exp/tanh chain", lambda T, x: (x.sin() * x.exp()).tanh(), (a,)),
        ("softmax", lambda T, x: T.softmax(x, -1), (a,)),
        ("log_softmax", lambda T, x: T.log_softmax(x, 1), (a,)),
        ("sum/mean/var", lambda T, x: x.sum(0) + x.mean(0) + x.var(0), (a,)),
        ("max/min", lambda T, x: x.max(1).values - x.min(0).values.sum(), (a,)),
        ("cumsum", lambda T, x: x.cumsum(1), (a,)),
        ("conv2d", lambda T, x, k: T.nn.functional.conv2d(x, k, padding=1), (img, w)),
        ("max_pool2d", lambda T, x: T.nn.functional.max_pool2d(x, 2), (img,)),
        ("layer_norm", lambda T, x: T.nn.functional.layer_norm(x, (5,)), (a,)),
        ("cross_entropy",
         lambda T, x: T.nn.functional.cross_entropy(x, T.tensor(lab, device=x.device)), (a,)),
        ("index/gather", lambda T, x: x[:, [0, 2]] * x.gather(
            1, T.tensor([[1], [0], [3], [2]], device=x.device)), (a,)),
        ("where/clamp", lambda T, x: T.where(x > 0, x, x.clamp(-0.5, 0.5)), (a,)),
        ("linalg.solve", lambda T, x: T.linalg.solve(
            x[:, :4] + 4 * T.eye(4, device=x.device), x[:, 4:]), (a,)),
    ]


def oracle() -> int:
    if not _torch_ok():
        print("oracle: PyTorch with CUDA is not available here; skipped", flush=True)
        return 0
    bad = 0
    for name, fn, arrays in _oracle_cases():
        outs = {}
        for T in (ember, torch):
            xs = [_t(T, a, True) for a in arrays]
            out = fn(T, *xs)
            out.backward(T.ones_like(out))
            outs[T.__name__] = ([out.detach().cpu().numpy()] +
                                [x.grad.cpu().numpy() for x in xs])
        ok = all(np.allclose(e, t, rtol=1e-4, atol=1e-5)
                 for e, t in zip(outs["ember"], outs["torch"]))
        bad += not ok
        print(f"oracle {name}: {'ok' if ok else 'DIFFERS'}", flush=True)
    for name in ("mlp", "convnet"):
        _, setup, step = WORKLOADS[name]
        losses = {}
        for T in (ember, torch):
            state = setup(T)
            losses[T.__name__] = [step(T, state).item() for _ in range(3)]
        ok = np.allclose(losses["ember"], losses["torch"], rtol=1e-4)
        bad += not ok
        print(f"oracle {name} losses over 3 steps: {'ok' if ok else 'DIFFERS'} "
              f"{losses}", flush=True)
    return bad


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write", help="write the Markdown table here")
    p.add_argument("--oracle-only", action="store_true")
    p.add_argument("--bench-only", action="store_true")
    p.add_argument("--check", action="store_true",
                   help="run on the CPU device checker (a dry run without a GPU)")
    p.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    args = p.parse_args(argv)
    ctx = ember.cuda.use_checker() if args.check else contextlib.nullcontext()
    if args.check:
        _TORCH_DEVICE[0] = "cpu"
    with ctx:
        if not ember.cuda.is_available():
            print("no CUDA device (ember.cuda.is_available() is False)", file=sys.stderr)
            return 2
        bad = 0 if args.bench_only else oracle()
        if not args.oracle_only:
            rows = bench(args.workloads, iters=1 if args.check else 10)
            text = table(rows)
            print(text)
            if args.write:
                with open(args.write, "w") as fh:
                    fh.write(text)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
