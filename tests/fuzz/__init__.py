"""Differential fuzzer: random programs run on ember and PyTorch, compared, and shrunk.

``gen`` makes programs (data: inputs + lines of source), ``run`` executes and compares them,
``shrink`` minimises failures; ``python -m tests.fuzz`` is the long-running CLI and
``test_fuzz.py`` the fixed-budget CI test. Findings are kept in ``FINDINGS.md``.
"""

from __future__ import annotations


def fuzz(seed, n, start=0, on_result=None):
    """Check programs ``start..n-1`` of run ``seed``; return [(prog, mismatches)] of failures
    (each shrunk). ``on_result(i, failed)`` is called after each program."""
    from .gen import generate
    from .run import check
    from .shrink import shrink

    failures = []
    for i in range(start, n):
        prog = generate(seed, i)
        try:
            bad = check(prog)
        except Exception as exc:  # noqa: BLE001 - a harness crash is reported, not hidden
            bad = [f"harness error: {type(exc).__name__}: {exc}"]
            failures.append((prog, bad))
            if on_result:
                on_result(i, True)
            continue
        if bad:
            failures.append(shrink(prog, bad))
        if on_result:
            on_result(i, bool(bad))
    return failures
