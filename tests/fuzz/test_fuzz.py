"""CI run of the differential fuzzer: a fixed seed and a fixed number of programs (no timing
dependence), each compared between ember and PyTorch; failures are shrunk and printed as
runnable snippets. ``python -m tests.fuzz --n 20000 --seed S`` is the long run."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

SEED = 0
PROGRAMS = 300  # under a minute on one core


def test_fuzz_programs_agree():
    from . import fuzz
    from .shrink import report

    failures = fuzz(SEED, PROGRAMS)
    if failures:
        text = "\n\n".join(report(p, b) if not isinstance(b[0], str) else f"{b[0]}\n{p.source()}"
                           for p, b in failures)
        pytest.fail(f"{len(failures)} of {PROGRAMS} programs differ (seed {SEED}):\n\n{text}",
                    pytrace=False)


def test_generator_is_deterministic():
    from .gen import generate

    for i in range(5):
        a, b = generate(SEED, i), generate(SEED, i)
        assert a.source() == b.source()
