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


def test_logcumsumexp_lines_where_pytorchs_tangent_underflows_are_dropped():
    # NOTE [logcumsumexp underflow] in gen.py (seed 2028 program 6925)
    import torch

    from .gen import Step, lcse_underflow

    step = Step("v4 = torch.logcumsumexp(v0, -1)", "v4")
    inf = float("inf")
    for values, dropped in [([0.35, 1.08, inf, -0.0], True), ([-1000.0, 0.0], True),
                            ([0.0, 17.0], True), ([0.0, 15.0, 3.0], False),
                            ([-inf, 0.0], False), ([0.0, float("nan"), 30.0], False)]:
        env = {"v0": torch.tensor(values, dtype=torch.float64)}
        assert lcse_underflow(step, env) is dropped, values


def test_a_view_made_stale_by_an_inplace_write_is_compared_not_a_harness_error():
    # seed 2028 program 16339: `v3 = x1.unbind(1)[0]; ...; x1[1:] = v0` (v0 requires grad)
    # left v3 a multi-output view whose grad_fn raises; reading its requires_grad raised in
    # ember (not in PyTorch) and crashed the harness
    from .gen import generate
    from .run import check

    assert check(generate(2028, 16339)) == []
