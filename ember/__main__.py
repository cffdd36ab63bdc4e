"""``python -m ember demo`` (ember's main job: train a digits classifier, see ember/demo.py),
``python -m ember tour`` (a printed tour of autograd: gradients, their accumulation,
``no_grad``, higher-order derivatives, in-place safety, a tiny gradient-descent fit) and
``python -m ember info``.
"""

from __future__ import annotations

import argparse
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
    try:
        import cupy  # noqa: F401

        backends.append("cuda (CuPy installed; ember's CuPy backend comes later)")
    except ImportError:
        pass
    print("backends:", ", ".join(backends))
    try:
        import ml_dtypes  # noqa: F401

        print("bfloat16: available (ml_dtypes)")
    except ImportError:
        print("bfloat16: unavailable (pip install 'ember[bfloat16]')")


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ember",
                                     description="ember: PyTorch's autograd on NumPy")
    parser.add_argument("command", choices=["demo", "tour", "info"], help="what to run")
    parser.add_argument("--epochs", type=int, default=12, help="demo: training epochs")
    parser.add_argument("--out", default=".", help="demo: where loss.png and graph.svg go")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import main as demo

        demo(epochs=args.epochs, out_dir=args.out)
    else:
        {"tour": tour, "info": info}[args.command]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
