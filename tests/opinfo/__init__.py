"""One record per op: how to call it and on what inputs. The value comparison with PyTorch,
the finite-difference checks of first and second derivatives and of the forward-mode rule, and
docs/ops.md are all generated from these records.

A record's ``fn(T, *args)`` calls the op through module ``T`` (ember or torch) exactly as PyTorch
code would. ``samples(rng)`` yields argument tuples: float ndarrays become differentiable
tensors (except the positions in ``nondiff``), integer/bool ndarrays plain tensors, anything
else is passed as is. ``op`` names the public op the record covers (by default the longest
``_``-separated prefix of ``name`` that is an op). Known gaps go in ``xfail`` as
``{"check": "reason"}`` with check one of "value", "gradcheck", "gradgradcheck", "jvp"; the
tests mark them strict xfails, so a fixed gap fails until the entry is removed.

Records live in one module per op family (core.py for the first ops; pointwise.py,
reduction.py, linalg.py, shape.py, nn_*.py...), each exporting ``RECORDS``. Set
``EMBER_OPINFO=reduction`` (comma-separated module names) to collect only those modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class OpRecord:
    name: str
    fn: object
    shapes: list = field(default_factory=list)  # each: a tuple of input shapes
    domain: tuple = (-2.0, 2.0)
    extra: object = None  # rng -> list of extra sample tuples (for custom arguments)
    second_order: bool = True
    gradcheck: bool = True  # False for ops with no gradient (comparisons...)
    atol32: float = 1e-5
    rtol32: float = 1e-4
    nondiff: tuple = ()  # indices of float arguments passed as tensors that don't require grad
    op: str = None  # the public op covered (default: derived from name)
    xfail: dict = field(default_factory=dict)  # check -> reason, for known gaps

    def samples(self, rng):
        lo, hi = self.domain
        for shapes in self.shapes:
            yield tuple(rng.uniform(lo, hi, size=s) for s in shapes)
        if self.extra is not None:
            yield from self.extra(rng)

    def __repr__(self):
        return self.name


def _ints(rng, high, shape):
    return rng.integers(0, high, size=shape).astype(np.int64)


UNARY = [(3,), (2, 3), (), (1, 3), (0,)]  # incl. 0-dim, a size-1 dim and empty
BINARY = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2)), ((2, 3), ())]
POS = (0.5, 2.0)

def _collect():
    import importlib
    import os
    import pkgutil

    # NOTE: EMBER_OPINFO=reduction,linalg restricts the records to those modules (for working
    # on one family); unset, every module's records are collected.
    only = [m for m in os.environ.get("EMBER_OPINFO", "").split(",") if m]
    records = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if only and info.name not in only:
            continue
        records.extend(importlib.import_module(f"{__name__}.{info.name}").RECORDS)
    return records


RECORDS = _collect()
