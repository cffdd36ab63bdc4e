"""``python -m bench.modes``: what entering a mode costs, and what the one call path costs an op.

Prints, in microseconds (best of several rounds): entering and leaving each mode with nothing
inside (vmap's, forward AD's ``dual_level``, the profiler, anomaly mode, a user mode), a
whole ``vmap`` call of a one-op function (mode entry plus batching), and one small op called
through its published dispatcher against the same op's implementation called directly. Nothing
here is a test: timings depend on the machine (NOTE in bench/run.py).
"""

from __future__ import annotations

import time

import ember
import ember.autograd.forward_ad as fwAD
from ember import _modes


def _best(fn, n=2000, rounds=7):
    for _ in range(50):
        fn()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


class _Local(_modes.Mode):
    thread_local = True


def rows():
    x = ember.ones(3)
    xs = ember.ones(4, 3)
    local = _Local()

    def dual():
        with fwAD.dual_level():
            pass

    def prof():
        with ember.profiler.profile():
            pass

    def anomaly():
        with ember.autograd.detect_anomaly(check_nan=False):
            pass

    def user():
        with local:
            pass

    vm = ember.func.vmap(ember.sin)
    vm(xs)  # (the first vmap publishes the defining modules' names once)
    from ember import _vmap

    def vmap_mode():
        _vmap._install()
        _vmap._uninstall()

    raw_exp = ember.exp.__wrapped__
    return [
        ("enter+exit vmap's mode (and its shape accessors)", _best(vmap_mode, n=500)),
        ("enter+exit forward AD level", _best(dual)),
        ("enter+exit profiler", _best(prof, n=500)),
        ("enter+exit anomaly mode", _best(anomaly)),
        ("enter+exit a user mode (thread-local)", _best(user)),
        ("vmap(sin) call on (4, 3)", _best(lambda: vm(xs), n=300)),
        ("ember.exp(x), 3 floats, through its dispatcher", _best(lambda: ember.exp(x))),
        ("the same op's implementation called directly", _best(lambda: raw_exp(x))),
    ]


def main():
    for name, us in rows():
        print(f"{name:50s} {us:8.2f} us")


if __name__ == "__main__":
    main()
