"""The ``ember`` command (also ``python -m ember``).

- ``ember run script.py [args]`` / ``ember run -m pkg.mod [args]``: run an unmodified PyTorch
  program with ``torch`` resolved to ember (``ember/_torch_alias.py``), as ``python script.py``
  would run it: ``__main__``, ``sys.argv`` of ``[script, *args]``, the script's folder first on
  ``sys.path``, exit status 1 and the script's own traceback when it raises.
- ``ember demo``: ember's main job, train a digits classifier (ember/demo.py).
- ``ember tour``: a printed tour of autograd (gradients, their accumulation, ``no_grad``,
  higher-order derivatives, in-place safety, a tiny gradient-descent fit).
- ``ember info``: versions, BLAS and its threads, the optional packages and programs found.
- ``ember`` alone prints the help; ``ember --version``.
"""

from __future__ import annotations

import argparse
import os
import sys


def tour() -> None:
    import ember as torch

    def section(title):
        print(f"\n== {title} ==")

    section("1. Gradients: y = sum(x ** 2) has dy/dx = 2x")
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 2).sum()
    print("y =", y)
    y.backward()
    print("x.grad =", x.grad)

    section("2. The recorded graph")
    z = x * 3 + 1
    print("z.grad_fn =", z.grad_fn.name(), "<-",
          [f.name() if f is not None else None for f, _ in z.grad_fn.next_functions])

    section("3. Gradients accumulate until zeroed")
    (x * 2).sum().backward()
    print("after a second backward:", x.grad)
    x.grad.zero_()
    print("after x.grad.zero_():  ", x.grad)

    section("4. no_grad: nothing is recorded (e.g. for a parameter update)")
    with torch.no_grad():
        w = x * 2
    print("w.requires_grad =", w.requires_grad)

    section("5. Higher order: d/dx of x**3 is 3x**2, and d2/dx2 is 6x")
    t = torch.tensor(2.0, requires_grad=True)
    (d1,) = torch.autograd.grad(t ** 3, t, create_graph=True)
    (d2,) = torch.autograd.grad(d1, t)
    print("first:", d1, " second:", d2)

    section("6. In-place safety: a leaf that requires grad refuses in-place changes")
    try:
        x.add_(1)
    except RuntimeError as e:
        print("RuntimeError:", e)

    section("7. Fitting y = 3x + 2 by gradient descent")
    torch.manual_seed(0)
    xs = torch.linspace(-1, 1, 50)
    ys = 3 * xs + 2
    a = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    for step in range(201):
        loss = ((a * xs + b - ys) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            a -= 0.1 * a.grad
            b -= 0.1 * b.grad
        a.grad = None
        b.grad = None
        if step % 50 == 0:
            print(f"step {step:3d}  loss {loss.item():.6f}")
    print(f"a = {a.item():.4f}, b = {b.item():.4f}")


def info() -> None:
    import numpy as np

    import ember

    print(f"ember {ember.__version__}")
    print(f"Python {sys.version.split()[0]}")
    print(f"NumPy {np.__version__}")
    print(f"BLAS: {_blas_name()}")
    from ember import _malloc

    print("allocator: " + ("glibc tuned to reuse freed buffers (EMBER_MALLOC=system skips)"
                           if _malloc.TUNED else "system default"))
    backends = ["cpu (NumPy)"]
    if ember.cuda.is_available():
        n = ember.cuda.device_count()
        backends.append(f"cuda ({n} device{'s' if n != 1 else ''}: "
                        f"{ember.cuda.get_device_name(0)})")
    else:
        from ember.backend import cupy_backend

        backends.append(f"no cuda ({cupy_backend.why()}; pip install 'ember[cuda]' on a "
                        "machine with an NVIDIA GPU)")
    print("backends:", ", ".join(backends))
    try:
        import ml_dtypes  # noqa: F401

        print("bfloat16: available (ml_dtypes)")
    except ImportError:
        print("bfloat16: unavailable (pip install 'ember[bfloat16]')")
    print(f"BLAS threads: {_blas_threads()}")
    for label, dist, hint in _OPTIONAL:
        print(f"{label}: {_version_of(dist) or f'not installed ({hint})'}")
    dot = _dot_program() or "not found (graph pictures need it: apt install graphviz)"
    print(f"graphviz dot: {dot}")


# label, distribution name, what it is for (said when it is missing)
_OPTIONAL = (
    ("SciPy", "scipy", "special functions fall back to ember's own"),
    ("ml_dtypes", "ml_dtypes", "pip install 'ember[bfloat16]'"),
    ("matplotlib", "matplotlib", "the demo's loss curve is skipped"),
    ("scikit-learn", "scikit-learn", "the demo generates digit-like data"),
)


def _version_of(dist: str) -> str | None:
    # NOTE: the installed version from the package metadata, without importing the package
    # (SciPy or matplotlib take longer to import than all of `ember info`).
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _dot_program() -> str | None:
    import shutil
    import subprocess

    dot = shutil.which("dot")
    if dot is None:
        return None
    try:
        proc = subprocess.run([dot, "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return dot
    version = (proc.stderr or proc.stdout).strip().splitlines()
    return f"{dot} ({version[0]})" if version else dot


def _blas_threads() -> str:
    import ember

    get_num_threads = getattr(ember, "get_num_threads", None)
    if get_num_threads is not None:
        return str(get_num_threads())
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return str(max(counts)) if counts else "unknown"


def _blas_name() -> str:
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        name = blas.get("name", "unknown")
        version = blas.get("version", "")
        return f"{name} {version}".strip()
    except Exception:  # noqa: BLE001 - older NumPy without mode="dicts"
        return "unknown"


_RUN_USAGE = "run [-h] (script.py | -m module) [args ...]"
_RUN_HELP = """\
Run a PyTorch program unchanged, with `torch` and every `torch.*` module resolved to ember's.

positional arguments:
  script.py   the script to run as __main__ (sys.argv becomes [script.py, *args])
  -m module   run a module as __main__ instead, as `python -m module` does
  args        passed to the script untouched
"""


def run(argv, prog="ember") -> int:
    """``ember run``: see the module docstring. Returns the exit status."""
    import runpy

    if not argv or argv[0] in ("-h", "--help"):
        out = sys.stdout if argv else sys.stderr
        print(f"usage: {prog} {_RUN_USAGE}", file=out)
        if argv:
            print("\n" + _RUN_HELP, end="", file=out)
            return 0
        print(f"{prog} run: error: a script or -m module is required", file=sys.stderr)
        return 2
    if argv[0].startswith("-m"):
        module = argv[0][2:] or (argv[1] if len(argv) > 1 else None)
        if not module:
            print(f"{prog} run: error: -m needs a module name", file=sys.stderr)
            return 2
        args = argv[2:] if argv[0] == "-m" else argv[1:]
        sys.argv = [module, *args]  # run_module puts the module's file in sys.argv[0]
        sys.path[0] = os.getcwd()  # as `python -m`: the current folder, not ember's bin folder

        def target():
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        script, args = argv[0], argv[1:]
        if not os.path.exists(script):
            print(f"{prog} run: can't open file {os.path.abspath(script)!r}: [Errno 2] No such "
                  "file or directory", file=sys.stderr)
            return 2
        # NOTE: the absolute path, so that ``__file__`` is absolute as under `python script.py`
        # (runpy also puts it in sys.argv[0]).
        script = os.path.abspath(script)
        sys.argv = [script, *args]
        sys.path[0] = os.path.dirname(script)

        def target():
            runpy.run_path(script, run_name="__main__")

    from ._torch_alias import install_as_torch

    try:
        install_as_torch()
    except RuntimeError as e:  # real torch imported at startup (a sitecustomize, a .pth file)
        print(f"{prog} run: {e}", file=sys.stderr)
        return 1
    try:
        target()
    except Exception as e:  # noqa: BLE001 - reported like Python reports an uncaught error
        return _report(e, prog)
    return 0


def _report(error: BaseException, prog: str) -> int:
    # NOTE: the frames of this runner and of runpy are left out, so the traceback starts at
    # the script's own line as under `python script.py`.
    import runpy

    ours = {os.path.abspath(__file__), os.path.abspath(runpy.__file__), "<frozen runpy>"}
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    if tb is None and isinstance(error, ImportError):  # -m of a module that does not exist
        print(f"{prog} run: {error}", file=sys.stderr)
        return 1
    if tb is not None:
        error.__traceback__ = tb  # the default hook prints the exception's own traceback
    sys.excepthook(type(error), error, error.__traceback__)
    return 1


def _parser(prog: str) -> argparse.ArgumentParser:
    import ember

    parser = argparse.ArgumentParser(prog=prog,
                                     description="ember: PyTorch's autograd on NumPy")
    parser.add_argument("--version", action="version", version=f"ember {ember.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("run", help="run a PyTorch script unchanged, torch resolved to ember",
                        usage=f"{prog} {_RUN_USAGE}", add_help=False)
    demo = commands.add_parser("demo", help="train a small digits classifier")
    demo.add_argument("--epochs", type=int, default=12, help="training epochs")
    demo.add_argument("--out", default=".", help="where loss.png and graph.svg go")
    demo.add_argument("--compile", action="store_true",
                      help="run the training step through ember.compile")
    commands.add_parser("tour", help="a printed tour of autograd")
    commands.add_parser("info", help="versions, BLAS, optional packages and programs")
    return parser


def main(argv=None) -> int:
    prog = "python -m ember" if sys.argv[0].endswith("__main__.py") else "ember"
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "run":
        return run(argv[1:], prog)
    parser = _parser(prog)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        from .demo import main as demo

        demo(epochs=args.epochs, out_dir=args.out, compile=args.compile)
    else:
        {"tour": tour, "info": info}[args.command]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
