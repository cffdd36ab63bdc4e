"""The scripts in examples/ run as a user would run them: ``python examples/<name>.py``.

Each example runs in ``--fast`` mode as a subprocess (cwd = repository root, this interpreter,
this checkout's ember first on the path) and must exit 0 with its documented last line. When
PyTorch is installed the same script runs with ``--torch`` and must succeed the same way.
The examples do not all draw their random numbers through calls whose streams ember matches
(and float32 rounding may differ in a last bit), so most are not compared bit for bit with
PyTorch. Instead every example also runs in full mode on ember and must reach the quality bar
PyTorch reaches (accuracy, loss, max error, gain from adaptation), and each example's central
step is compared with PyTorch's on identical weights (the VAE's whole ELBO curve too).
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HAS_TORCH = importlib.util.find_spec("torch") is not None
# NOTE: full-mode runs take up to half a minute each; CI runs them on ember only (PyTorch's
# run of the same script in fast mode shows the script is plain PyTorch code).
FULL_BACKENDS = ["ember"]
BACKENDS = ["ember", pytest.param("torch", marks=pytest.mark.skipif(
    not HAS_TORCH, reason="PyTorch is not installed"))]

# The documented last line of each example, with the number(s) it reports.
LAST_LINE = {
    "quickstart": r"test accuracy: (\d\.\d{3})",
    "char_rnn": r"final loss: (\d+\.\d{4})",
    "pinn": r"max error: (\d+\.\d{6})",
    "maml": r"meta-test loss: before adaptation (\d+\.\d{4}), after (\d+\.\d{4})",
    "mixed_precision": r"final loss: float32 (\d+\.\d{4}), mixed precision (\d+\.\d{4})",
    "ddp_digits": r"test accuracy: (\d\.\d{3})",
    "vae": r"test ELBO: (-\d+\.\d{4})",
}


def run_example(name, *flags, prelude=None):
    """Run examples/<name>.py; returns (stdout, the numbers on its last line)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    script = str(ROOT / "examples" / f"{name}.py")
    if prelude is None:
        cmd = [sys.executable, script, *flags]
    else:
        # Run the unchanged script after `prelude`, as `python script flags` would.
        code = (f"{prelude}\nimport runpy, sys\nsys.argv = {[script, *flags]!r}\n"
                f"runpy.run_path({script!r}, run_name='__main__')")
        cmd = [sys.executable, "-c", code]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    m = re.fullmatch(LAST_LINE[name], last)
    assert m, f"unexpected last line {last!r}"
    numbers = [float(v) for v in m.groups()]
    assert all(math.isfinite(v) for v in numbers), last
    return proc.stdout, numbers


@pytest.mark.parametrize("backend", BACKENDS)
def test_quickstart_fast(backend):
    out, (acc,) = run_example("quickstart", "--fast", *(["--torch"] if backend == "torch" else []))
    assert out.startswith(f"backend: {backend}\n")
    assert "data: scikit-learn's handwritten digits" in out or "generated digit-like" in out
    assert "Shape of X [N, H, W]: (64, 8, 8)" in out
    assert "Saved PyTorch Model State to model.pth" in out
    assert re.search(r'Predicted: "\d", Actual: "\d"', out)
    assert acc > 0.2  # ten classes: chance is 0.1, three short epochs do better


@pytest.mark.parametrize("backend", FULL_BACKENDS)
def test_quickstart_full_reaches_90_percent(backend):
    pytest.importorskip("sklearn")
    _, (acc,) = run_example("quickstart", *(["--torch"] if backend == "torch" else []))
    assert acc >= 0.9


def test_quickstart_without_scikit_learn_says_so():
    blocker = "import sys\nsys.modules['sklearn'] = None\nsys.modules['sklearn.datasets'] = None"
    out, (acc,) = run_example("quickstart", "--fast", prelude=blocker)
    assert "data: generated digit-like data (scikit-learn is not installed)" in out
    assert 0.0 <= acc <= 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_char_rnn_fast(backend):
    out, (loss,) = run_example("char_rnn", "--fast", *(["--torch"] if backend == "torch" else []))
    assert out.startswith(f"backend: {backend}\n")
    uniform = float(re.search(r"uniform guessing scores (\d+\.\d+)", out).group(1))
    assert "LSTM(32, 32, batch_first=True)" in out
    assert re.search(r"step   30  loss \d+\.\d{4}  grad norm \d+\.\d{3}", out)
    assert re.search(r"gradient norm clipped to 0\.25 on \d+ of 30 steps", out)
    sample = out.split("sample:\n", 1)[1].rsplit("\nfinal loss:", 1)[0]
    assert sample.startswith("The ") and len(sample) == 4 + 40
    assert loss < uniform  # thirty steps already beat guessing uniformly


@pytest.mark.parametrize("backend", FULL_BACKENDS)
def test_char_rnn_full_learns_the_text(backend):
    out, (loss,) = run_example("char_rnn", *(["--torch"] if backend == "torch" else []))
    assert loss < 0.5  # near-memorised: far below ln(35) = 3.56 for uniform guessing
    clipped = int(re.search(r"clipped to 0\.25 on (\d+) of 250 steps", out).group(1))
    assert 0 < clipped < 250


@pytest.mark.parametrize("backend", BACKENDS)
def test_pinn_fast(backend):
    out, (err,) = run_example("pinn", "--fast", *(["--torch"] if backend == "torch" else []))
    assert out.startswith(f"backend: {backend}\n")
    assert re.search(r"u\(0\.50\) = [+-]\d\.\d{5}   exact \+1\.00000", out)
    assert err < 2.0


@pytest.mark.parametrize("backend", FULL_BACKENDS)
def test_pinn_full_matches_exact_solution(backend):
    _, (err,) = run_example("pinn", *(["--torch"] if backend == "torch" else []))
    assert err < 0.01


@pytest.mark.parametrize("backend", BACKENDS)
def test_maml_fast(backend):
    out, (before, after) = run_example("maml", "--fast",
                                       *(["--torch"] if backend == "torch" else []))
    assert out.startswith(f"backend: {backend}\n")
    assert "meta-training: 10 iterations of 4 tasks, 1 inner step(s) each, K=10" in out
    assert re.search(r"iteration    10  query loss after adaptation \d+\.\d{4}", out)
    assert before > 0 and after > 0


@pytest.mark.parametrize("backend", FULL_BACKENDS)
def test_maml_full_adapts_to_unseen_tasks(backend):
    _, (before, after) = run_example("maml", *(["--torch"] if backend == "torch" else []))
    assert after < 0.5 * before  # a few steps from the meta-learned start fit a new sine


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_precision_fast(backend):
    out, (loss32, mixed) = run_example("mixed_precision", "--fast",
                                       *(["--torch"] if backend == "torch" else []))
    assert out.startswith(f"backend: {backend}\n")
    assert ("(under autocast: logits torch.bfloat16, loss torch.float32, weight "
            "torch.float32, its gradient torch.float32)") in out
    first = re.search(r"\n    1 +(\d+\.\d{4}) +(\d+\.\d{4}) +256\n", out)
    assert first and first.group(1) == first.group(2)  # the same start, the same first batch
    assert re.search(r"\n   30 +\d+\.\d{4} +\d+\.\d{4} +512\n", out)  # grew once
    assert loss32 < math.log(3) and abs(mixed - loss32) < 0.05


@pytest.mark.parametrize("backend", FULL_BACKENDS)
def test_mixed_precision_full_tracks_float32(backend):
    _, (loss32, mixed) = run_example("mixed_precision",
                                     *(["--torch"] if backend == "torch" else []))
    assert loss32 < 0.1 and mixed < 0.1  # both fit the spirals
    assert abs(mixed - loss32) < 0.02  # and bfloat16 autocast follows the float32 curve


@pytest.mark.parametrize("backend", BACKENDS)
def test_ddp_digits_fast(backend):
    # (one process here; tests/distributed/test_ddp.py runs it on two under mpiexec)
    pytest.importorskip("mpi4py")
    out, (acc,) = run_example("ddp_digits", "--fast",
                              *(["--torch"] if backend == "torch" else []))
    assert out.startswith(f"backend: {backend}\n")
    assert "1 process(es), 64 images each per step (global batch 64)" in out
    assert re.search(r"epoch 3/3  loss \d\.\d{4}\n", out)
    assert acc > 0.2


@pytest.mark.parametrize("backend", FULL_BACKENDS)
def test_ddp_digits_full_reaches_90_percent(backend):
    pytest.importorskip("mpi4py")
    pytest.importorskip("sklearn")
    _, (acc,) = run_example("ddp_digits")
    assert acc >= 0.9



@pytest.mark.parametrize("backend", BACKENDS)
def test_vae_fast(backend):
    out, (elbo,) = run_example("vae", "--fast", *(["--torch"] if backend == "torch" else []))
    assert out.startswith(f"backend: {backend}\n")
    assert re.search(r"epoch  1  train ELBO +-\d+\.\d{4}", out)
    assert -60 < elbo < 0  # 64 pixels: a uniform guess costs 64 * ln 2 = 44 nats


@pytest.mark.parametrize("backend", FULL_BACKENDS)
def test_vae_full_learns_and_matches_pytorch(backend):
    pytest.importorskip("sklearn")
    out, (elbo,) = run_example("vae")
    curve = [float(v) for v in re.findall(r"train ELBO +(-\d+\.\d{4})", out)]
    assert curve[-1] > curve[0] + 5 and elbo > -30
    if HAS_TORCH:
        # ember's generator and distributions draw exactly as PyTorch's: the same run
        ref, (ref_elbo,) = run_example("vae", "--torch")
        ref_curve = [float(v) for v in re.findall(r"train ELBO +(-\d+\.\d{4})", ref)]
        np.testing.assert_allclose(curve, ref_curve, atol=2e-3)
        assert abs(elbo - ref_elbo) < 2e-3

def test_readme_lists_every_example():
    readme = (ROOT / "examples" / "README.md").read_text()
    scripts = sorted(p.stem for p in (ROOT / "examples").glob("*.py"))
    assert scripts == sorted(LAST_LINE)
    for name in scripts:
        assert f"examples/{name}.py" in readme


# ---- the examples' core computations, step for step against PyTorch ----
# The scripts' whole runs are not compared bit for bit (see the module docstring), so these
# run their central step on identical weights and data through tests/oracle.py's `same`:
# values, dtypes and grad_fn names must match PyTorch's within float32 tolerance.

def _same():
    pytest.importorskip("torch")
    from .oracle import same
    return same


def _load(T, module, seed):
    """Give `module` fixed weights drawn by NumPy, the same on both backends."""
    rng = np.random.default_rng(seed)
    state = {k: T.tensor(rng.normal(0, 0.5, tuple(v.shape)).astype(np.float32))
             for k, v in module.state_dict().items()}
    module.load_state_dict(state)
    return module


def test_pinn_step_matches_pytorch():
    def step(T):
        nn = T.nn
        model = _load(T, nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                                       nn.Linear(8, 1)), seed=1)
        x = T.linspace(0, 1, 7).unsqueeze(1).requires_grad_()
        u = model(x)
        du = T.autograd.grad(u.sum(), x, create_graph=True)[0]
        d2u = T.autograd.grad(du.sum(), x, create_graph=True)[0]
        residual = d2u + math.pi ** 2 * T.sin(math.pi * x)
        loss = residual.pow(2).mean() + 10.0 * model(T.tensor([[0.0], [1.0]])).pow(2).mean()
        loss.backward()
        return loss, du, d2u, [p.grad for p in model.parameters()]

    _same()(step, rtol=1e-4, atol=1e-5)


def test_maml_meta_gradient_matches_pytorch():
    def meta_grad(T):
        nn, F = T.nn, T.nn.functional
        net = _load(T, nn.Sequential(nn.Linear(1, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(),
                                     nn.Linear(10, 1)), seed=2)
        params = list(net.parameters())
        x_s, x_q = T.linspace(-5, 5, 10).unsqueeze(1), T.linspace(-4.5, 4.5, 10).unsqueeze(1)
        y_s, y_q = 2.0 * T.sin(x_s - 0.5), 2.0 * T.sin(x_q - 0.5)

        def forward(x, p):
            h = F.relu(F.linear(x, p[0], p[1]))
            return F.linear(F.relu(F.linear(h, p[2], p[3])), p[4], p[5])

        adapted = params
        for _ in range(2):
            grads = T.autograd.grad(F.mse_loss(forward(x_s, adapted), y_s), adapted,
                                    create_graph=True)
            adapted = [p - 0.01 * g for p, g in zip(adapted, grads)]
        outer = F.mse_loss(forward(x_q, adapted), y_q)
        outer.backward()
        return outer, adapted, [p.grad for p in params]

    _same()(meta_grad, rtol=1e-4, atol=1e-5)


def test_char_rnn_step_matches_pytorch():
    def step(T):
        nn, F = T.nn, T.nn.functional
        embed = _load(T, nn.Embedding(6, 4), seed=3)
        lstm = _load(T, nn.LSTM(4, 5, batch_first=True), seed=4)
        head = _load(T, nn.Linear(5, 6), seed=5)
        params = [*embed.parameters(), *lstm.parameters(), *head.parameters()]
        x = T.tensor([[0, 1, 2, 3], [5, 4, 3, 2]])
        y = T.tensor([[1, 2, 3, 4], [4, 3, 2, 1]])
        out, (h, c) = lstm(embed(x))
        loss = F.cross_entropy(head(out).reshape(-1, 6), y.reshape(-1))
        loss.backward()
        norm = nn.utils.clip_grad_norm_(params, max_norm=0.25)
        return loss, h, c, norm, [p.grad for p in params]

    _same()(step, rtol=1e-4, atol=1e-5)


def test_quickstart_step_matches_pytorch():
    def step(T):
        nn = T.nn
        model = _load(T, nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(),
                                       nn.Linear(16, 10)), seed=6)
        optimizer = T.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        rng = np.random.default_rng(7)
        X = T.tensor(rng.random((8, 8, 8)).astype(np.float32))
        y = T.tensor(rng.integers(0, 10, 8))
        losses = []
        for _ in range(3):
            loss = nn.CrossEntropyLoss()(model(X), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        correct = (model(X).argmax(1) == y).type(T.float).sum().item()
        return losses, correct, model.state_dict()

    _same()(step, rtol=1e-4, atol=1e-5)


def test_mixed_precision_step_matches_pytorch():
    def step(T):
        nn, F = T.nn, T.nn.functional
        model = _load(T, nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3)), seed=8)
        optimizer = T.optim.Adam(model.parameters(), lr=1e-2)
        scaler = T.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=2)
        rng = np.random.default_rng(9)
        X = T.tensor(rng.normal(size=(12, 2)).astype(np.float32))
        y = T.tensor(rng.integers(0, 3, 12))
        seen = []
        for _ in range(3):
            optimizer.zero_grad()
            with T.autocast("cpu", dtype=T.bfloat16):
                logits = model(X)
                loss = F.cross_entropy(logits, y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            seen.append((logits, loss, scaler.get_scale()))
        return seen, [p.grad for p in model.parameters()], model.state_dict()

    # (bfloat16 tolerance: the linear layers ran in bfloat16)
    _same()(step, rtol=3e-2, atol=3e-2)
