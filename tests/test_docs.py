"""docs/ops.md is generated from the op table and records; it must be current."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ops_table_is_current():
    proc = subprocess.run([sys.executable, "docs/ops_table.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---- every example in the docs runs ----------------------------------------------------------

import re  # noqa: E402

import pytest  # noqa: E402

_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
EXAMPLES = [(md.name, i, code) for md in sorted((ROOT / "docs").glob("*.md"))
            for i, code in enumerate(_BLOCK.findall(md.read_text()))]


@pytest.mark.parametrize("page,index,code", EXAMPLES,
                         ids=[f"{p}-{i}" for p, i, _ in EXAMPLES])
def test_doc_example_runs(page, index, code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    exec(compile(code, f"{page}[{index}]", "exec"), {"__name__": "__main__"})
