"""Tier 3: the seed documents' own examples run under ember with PyTorch's printed output.

The scripts and their expected outputs (real PyTorch 2.13.0) live in tests/seed_examples/, a
copy of ../shared/seed-examples/ so a fresh clone can run them; when the shared folder is
next to the checkout, the copy is checked to be current. Each script runs in a subprocess
through the seed runner (``import torch`` resolves to ember) and must print exactly what PyTorch
prints (or match its skeleton where the script says ``# compare: structure``).
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "seed_examples"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "seed-examples"

# Scripts whose feature arrives with a later issue (see the issue list).
# The profiler (s2_15) comes with "The whole autograd API".
LATER = {"s2_15_profiler.py": "the profiler arrives with issue 4"}

SCRIPTS = [pytest.param(name, marks=pytest.mark.xfail(reason=LATER[name], strict=True))
           if name in LATER else name
           for name in sorted(p.name for p in HERE.glob("s[0-9]*_[0-9]*_*.py"))]


@pytest.mark.parametrize("script", SCRIPTS)
def test_seed_example(script):
    proc = subprocess.run([sys.executable, str(HERE / "run_all.py"), "--module", "ember", "-v",
                           "-j", "1", script], capture_output=True, text=True, cwd=HERE,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_copy_matches_shared_seed_examples():
    if not SHARED.is_dir():
        pytest.skip("../shared/seed-examples is not next to this checkout")
    names = sorted(p.name for p in SHARED.iterdir() if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(SHARED, HERE, names, shallow=False)
    assert not mismatch and not errors, f"tests/seed_examples is stale: {mismatch + errors}"
