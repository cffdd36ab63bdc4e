"""Run corpus programs under real PyTorch, importing torch once: ``python torch_runner.py
OUT_DIR prog.py...``.

Each program runs as ``python prog.py`` would run it (``__main__``, ``sys.argv == [prog]``,
its folder first on ``sys.path`` and as the working directory, a traceback and status 1 when it
raises), in a child forked from this process after ``import torch``, so that the test pays
PyTorch's import (seconds) once rather than once per program. The child's stdout and stderr go
to ``OUT_DIR/<prog>.out`` and ``.err``, its exit status to ``.rc``.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path

import torch  # noqa: F401 - imported once, before the forks

HERE = Path(__file__).resolve().parent / "programs"


def _child(name, out_dir):
    code = 0
    with open(out_dir / f"{name}.out", "w") as out, open(out_dir / f"{name}.err", "w") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        os.chdir(HERE)
        sys.argv = [name]
        sys.path[0] = str(HERE)
        try:
            runpy.run_path(name, run_name="__main__")
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def main():
    out_dir = Path(sys.argv[1])
    for name in sys.argv[2:]:
        pid = os.fork()
        if pid == 0:
            _child(name, out_dir)
        _, status = os.waitpid(pid, 0)
        (out_dir / f"{name}.rc").write_text(str(os.waitstatus_to_exitcode(status)))


if __name__ == "__main__":
    main()
