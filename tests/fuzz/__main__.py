"""``python -m tests.fuzz --n 20000 --seed S [--jobs J]``: run the differential fuzzer long.

Prints progress, then the number of programs run and differing, and each shrunk failure as a
runnable PyTorch snippet (replace ``import torch`` by ``import ember as torch`` to run it on
ember). Exits 1 when some program differed.
"""

from __future__ import annotations

import argparse
import sys
import time


def _chunk(args):
    seed, lo, hi = args
    from . import fuzz
    from .shrink import report
    return hi - lo, [report(p, b) if not isinstance(b[0], str) else f"# seed {p.seed}: {b[0]}\n"
                     + p.source() for p, b in fuzz(seed, hi, start=lo)]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=50)
    a = ap.parse_args(argv)
    t0 = time.time()
    chunks = [(a.seed, lo, min(lo + a.chunk, a.n)) for lo in range(a.start, a.n, a.chunk)]
    done = 0
    reports = []
    if a.jobs > 1:
        from multiprocessing import Pool
        pool = Pool(a.jobs)
        results = pool.imap(_chunk, chunks)
    else:
        results = map(_chunk, chunks)
    for count, reps in results:
        done += count
        reports += reps
        print(f"[{time.time() - t0:7.1f}s] {done}/{a.n - a.start} programs, "
              f"{len(reports)} differing", flush=True)
    for r in reports:
        print("\n" + r)
    print(f"\nseed {a.seed}: {done} programs run, {len(reports)} differing, "
          f"{time.time() - t0:.1f}s")
    return 1 if reports else 0


if __name__ == "__main__":
    sys.exit(main())
