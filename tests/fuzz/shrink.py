"""Shrink a failing program to a small one that fails the same way.

``shrink(prog, bad)`` greedily applies simplifications while the program still fails with the
same signature (the set of (check, kind) of its mismatches, see ``run.signature``), until none
applies: drop a step (and the steps that then refer to missing names), drop unused inputs,
turn requires_grad off, make an input float64, and cut an input's dims down to size 1 (the
leading values are kept, so literal indices stay meaningful more often than not). Candidates
run only the checks named in the signature (cheaper); the shrunk program is checked in full.
"""

from __future__ import annotations

import copy

import numpy as np

from .gen import FLOATS
from .run import check, signature


def _prune(prog):
    """Drop steps that use undefined names and inputs no step uses."""
    defined = {i.name for i in prog.inputs}
    steps = []
    for s in prog.steps:
        if s.uses() <= defined:
            steps.append(s)
            if s.out:
                defined.add(s.out)
    used = set().union(*(s.uses() for s in steps)) if steps else set()
    prog.steps = steps
    prog.inputs = [i for i in prog.inputs if i.name in used]
    return prog


def _candidates(prog):
    n = len(prog.steps)
    for i in reversed(range(n)):
        p = copy.deepcopy(prog)
        if p.raises and i == n - 1:
            p.raises = False
        del p.steps[i]
        yield _prune(p)
    for j, inp in enumerate(prog.inputs):
        if inp.requires_grad:
            p = copy.deepcopy(prog)
            p.inputs[j].requires_grad = False
            yield p
        if inp.dtype in ("float16", "float32"):
            p = copy.deepcopy(prog)
            p.inputs[j].dtype = "float64"
            p.inputs[j].data = inp.data.astype(np.float64)
            yield p
        for d, size in enumerate(inp.shape):
            if size > 1:
                p = copy.deepcopy(prog)
                p.inputs[j].data = np.take(inp.data, range(1), axis=d)
                yield p


def _fails_like(prog, sig):
    if not prog.steps:
        return None
    try:
        bad = check(prog, checks={c for c, _ in sig})
    except Exception:  # noqa: BLE001 - a candidate that breaks the harness is no good
        return None
    return bad if bad and signature(bad) & sig else None


def shrink(prog, bad, max_checks=400):
    """The smallest program found that still fails like ``bad``; and its mismatches."""
    sig = signature(bad)
    checks = 0
    progress = True
    while progress and checks < max_checks:
        progress = False
        for cand in _candidates(prog):
            checks += 1
            if checks >= max_checks:
                break
            got = _fails_like(cand, sig)
            if got:
                prog, bad, progress = cand, got, True
                sig = signature(got)
                break
    if checks:  # the candidates ran only the failing checks: report them all
        try:
            bad = check(prog) or bad
        except Exception:  # noqa: BLE001
            pass
    return prog, bad


def report(prog, bad):
    lines = [f"# seed {prog.seed}: " + "; ".join(str(m) for m in bad[:4])]
    lines.append(prog.source("torch"))
    return "\n".join(lines)


__all__ = ["shrink", "report", "FLOATS"]
