"""The main job: ``python -m ember demo`` trains the digits classifier to >= 0.95 test accuracy,
writes its pictures when the extras are installed, and works without scikit-learn; ``tour``
and ``info`` run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import ember
from ember import demo

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "ember", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_demo_trains_to_95_percent(tmp_path):
    pytest.importorskip("sklearn")  # the real digits; the fallback is tested below
    proc = _run("demo", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"test accuracy: (0\.\d{3})", last)
    assert m, last
    assert float(m.group(1)) >= 0.95
    assert "epoch 12/12" in proc.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "loss curve: skipped" in proc.stdout
    else:
        assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_without_scikit_learn_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    *_, source = demo.load_digits_data()
    assert source.startswith("generated digit-like data")
    acc, losses = demo.train(ember, epochs=2, quiet=True)
    assert losses[1] < losses[0] and acc > 0.5


def test_tour_and_info_run():
    tour = _run("tour")
    assert tour.returncode == 0, tour.stderr
    assert "x.grad = tensor([2., 4., 6.])" in tour.stdout
    info = _run("info")
    assert info.returncode == 0 and info.stdout.startswith("ember ")


def test_demo_compiled_step_trains_identically(tmp_path):
    """``python -m ember demo --compile``: the training step through ember.compile gives the
    eager run's losses and accuracy bit for bit."""
    eager_acc, eager_losses = demo.train(ember, epochs=2, quiet=True)
    acc, losses = demo.train(ember, epochs=2, quiet=True, compile=True)
    assert losses == eager_losses
    assert acc == eager_acc
    proc = _run("demo", "--epochs", "1", "--compile", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "compiled with ember.compile" in proc.stdout
    assert re.fullmatch(r"test accuracy: 0\.\d{3}", proc.stdout.strip().splitlines()[-1])
