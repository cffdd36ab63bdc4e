"""docs/ops.md is generated from the op table and records; it must be current."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ops_table_is_current():
    proc = subprocess.run([sys.executable, "docs/ops_table.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
