"""DataLoader worker processes: an I/O-bound dataset loaded with 0, 2 and 4 workers.

Usage: ``python -m bench.dataloader_workers [--items 192] [--sleep-ms 5] [--batch 16]``

Each item sleeps ``sleep_ms`` (a file read or a network fetch) and returns a small tensor; the
loader's epoch time with ``num_workers`` = 0, 2, 4 is printed with its speedup over 0 workers
(sleeping overlaps across processes, so the ideal is ``num_workers``x, less start-up). A second
table loads large ready-made batches with no per-item work, which isolates what crossing the
process boundary costs (batches are pickled: NOTE [worker processes] in
ember/utils/data/dataloader.py). A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import ember
from ember.utils.data import DataLoader, Dataset


class SleepyDataset(Dataset):
    """``n`` items, each taking ``sleep_s`` seconds to "read"."""

    def __init__(self, n, sleep_s):
        self.n = n
        self.sleep_s = sleep_s

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.sleep_s)
        return ember.full((32,), float(i)), i


class BigBatches(Dataset):
    """Ready-made ``shape`` float32 batches: only collation and transfer cost anything."""

    def __init__(self, n, shape):
        self.n = n
        self.data = np.ones(shape, dtype=np.float32)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return ember.from_numpy(self.data)


def epoch_seconds(loader, repeat=2):
    """The best of ``repeat`` epochs (each starts its workers afresh, as a plain loop does)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in loader:
            pass
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=192)
    p.add_argument("--sleep-ms", type=float, default=5.0)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--big-batches", type=int, default=200)
    args = p.parse_args(argv)
    # More workers than cores is the point here (they sleep): PyTorch's warning says otherwise.
    warnings.filterwarnings("ignore", message="This DataLoader will create")

    print(f"I/O-bound: {args.items} items x {args.sleep_ms} ms sleep, batch {args.batch}")
    print(f"{'workers':>8} {'seconds':>9} {'speedup':>8}")
    ds = SleepyDataset(args.items, args.sleep_ms / 1000)
    base = None
    for workers in (0, 2, 4):
        seconds = epoch_seconds(DataLoader(ds, batch_size=args.batch, num_workers=workers))
        base = base or seconds
        print(f"{workers:>8} {seconds:>9.3f} {base / seconds:>7.2f}x")

    shape = (3, 128, 128)
    mb = args.batch * np.prod(shape) * 4 / 2 ** 20
    print(f"\nTransfer: {args.big_batches} batches of {args.batch}x{shape} float32 "
          f"({mb:.1f} MiB each), no per-item work")
    print(f"{'workers':>8} {'seconds':>9} {'ms/batch':>9} {'ms/MiB':>7}")
    big = BigBatches(args.big_batches * args.batch, shape)
    for workers in (0, 2):
        seconds = epoch_seconds(DataLoader(big, batch_size=args.batch, num_workers=workers))
        ms = 1000 * seconds / args.big_batches
        print(f"{workers:>8} {seconds:>9.3f} {ms:>9.2f} {ms / mb:>7.2f}")


if __name__ == "__main__":
    main()
