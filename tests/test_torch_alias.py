"""``ember run`` and ``ember.install_as_torch()``: PyTorch programs run unchanged with ``torch``
resolved to ember's modules (the same objects), even where real torch is installed too; and the
rest of the ``ember`` command (help, ``--version``, ``info``).

Each test runs a small script in a fresh interpreter, as a user would."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ember


def _ember(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ember", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _run_script(tmp_path, source, *args, name="script.py"):
    (tmp_path / name).write_text(textwrap.dedent(source))
    return _ember("run", name, *args, cwd=tmp_path)


IMPORT_FORMS = """
    import sys
    import ember
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch import nn as nn_from
    from torch.utils.data import DataLoader
    from torch.autograd import grad
    import torch.serialization, torch.nn.parameter, torch.nn.modules.linear
    import torch.optim.lr_scheduler, torch.utils.checkpoint, torch.nn.init

    assert torch is ember
    assert nn is ember.nn and nn_from is ember.nn and torch.nn is ember.nn
    assert sys.modules["torch.nn"] is ember.nn
    assert sys.modules["torch.nn.functional"] is ember.nn.functional is F
    assert optim is ember.optim and DataLoader is ember.utils.data.DataLoader
    assert torch.serialization is ember.serialization
    assert torch.nn.modules.linear.Linear is ember.nn.Linear
    assert torch.nn.parameter.Parameter is ember.nn.Parameter
    # the modules keep their own names and specs (relative imports, reload, tools)
    assert ember.nn.__name__ == ember.nn.__spec__.name == "ember.nn"
    real = [m for m in list(sys.modules.values())
            if "site-packages/torch/" in (getattr(m, "__file__", None) or "")]
    assert not real, real[:3]

    x = torch.ones(2, requires_grad=True)
    model = nn.Linear(2, 1)
    loss = F.mse_loss(model(x), torch.zeros(1))
    print(grad((x * 3).sum(), x)[0], type(loss).__module__)
"""


def test_every_import_form_gives_embers_modules_even_with_real_torch_installed(tmp_path):
    proc = _run_script(tmp_path, IMPORT_FORMS)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["tensor([3.,", "3.])", "ember.tensor"]


def test_a_pickle_naming_torch_classes_resolves_to_embers(tmp_path):
    torch = pytest.importorskip("torch")
    # the module paths PyTorch pickles whole models and parameters under
    (tmp_path / "refs.pkl").write_bytes(pickle.dumps(
        [torch.nn.Linear, torch.nn.Sequential, torch.nn.ReLU, torch.nn.Parameter]))
    proc = _run_script(tmp_path, """
        import pickle
        import ember
        with open("refs.pkl", "rb") as f:
            refs = pickle.load(f)
        assert refs == [ember.nn.Linear, ember.nn.Sequential, ember.nn.ReLU, ember.nn.Parameter]
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_a_torch_module_ember_lacks_says_so(tmp_path):
    proc = _run_script(tmp_path, """
        try:
            import torch.no_such_module
        except ModuleNotFoundError as e:
            print(e.name)
            print(e)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "torch.no_such_module",
        "No module named 'torch.no_such_module': ember, which stands in for torch here, does "
        "not provide it"]


def test_install_as_torch_from_code_is_idempotent(tmp_path):
    code = ("import sys, ember\n"
            "ember.install_as_torch()\n"
            "ember.install_as_torch()\n"
            "from torch import nn\n"
            "import torch\n"
            "from ember import _torch_alias\n"
            "print(torch is ember, nn is ember.nn,\n"
            "      sum(isinstance(f, _torch_alias._TorchAliasFinder) for f in sys.meta_path))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True", "1"]


def test_install_as_torch_refuses_when_real_torch_is_imported(tmp_path):
    pytest.importorskip("torch")
    code = "import torch, ember\nember.install_as_torch()\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: ember.install_as_torch(): the real torch is already "
                           "imported (from ")
    assert last.endswith("install the alias before anything imports torch, or run the script "
                         "with `ember run script.py`")


def test_script_runs_as_main_with_its_argv_and_folder(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 42\n")
    proc = _run_script(tmp_path, """
        import os, sys
        import helper  # a module beside the script: the script's folder is sys.path[0]
        print(__name__, sys.argv[1:], helper.VALUE, sys.path[0] == os.path.dirname(__file__),
              sys.argv[0] == __file__ == os.path.abspath("script.py"))
    """, "--lr", "0.1", "x")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "__main__ ['--lr', '0.1', 'x'] 42 True True\n"


def test_module_mode(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "train.py").write_text(
        "import sys, torch, ember\n"
        "print(__name__, torch is ember, sys.argv[1:])\n")
    proc = _ember("run", "-m", "pkg.train", "--epochs", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "__main__ True ['--epochs', '2']\n"
    missing = _ember("run", "-m", "pkg.nope", cwd=tmp_path)
    assert missing.returncode == 1 and "No module named pkg.nope" in missing.stderr


def test_a_failing_script_exits_nonzero_with_its_own_traceback(tmp_path):
    proc = _run_script(tmp_path, """
        def step():
            raise ValueError("loss is nan")
        step()
    """)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    # the script's own frames only, as under `python script.py`: the runner's are left out
    assert lines[1].startswith(f'  File "{tmp_path / "script.py"}", line 4')
    assert lines[-1] == "ValueError: loss is nan"
    exited = _run_script(tmp_path, "import sys\nsys.exit(3)\n")
    assert exited.returncode == 3 and exited.stderr == ""
    absent = _ember("run", "absent.py", cwd=tmp_path)
    assert absent.returncode == 2 and "can't open file" in absent.stderr


def test_spawned_children_import_ember_as_torch(tmp_path):
    # DataLoader workers and pools started with spawn re-import the script in a fresh
    # interpreter: there too `import torch` must give ember, or the script's classes mix.
    proc = _run_script(tmp_path, """
        import multiprocessing as mp
        import torch

        def where(_):
            return torch.__name__

        if __name__ == "__main__":
            with mp.get_context("spawn").Pool(1) as pool:
                print(pool.map(where, [0]))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "['ember']\n"


def test_command_help_version_and_info(tmp_path):
    bare = _ember(cwd=tmp_path)
    assert bare.returncode == 0 and bare.stdout.startswith("usage: python -m ember")
    for command in ("run", "demo", "tour", "info"):
        assert f"    {command} " in bare.stdout
    version = _ember("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout == f"ember {ember.__version__}\n"
    info = _ember("info", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    labels = [line.split(":")[0] for line in info.stdout.splitlines()]
    assert info.stdout.splitlines()[2].startswith("NumPy ")
    for label in ("BLAS", "BLAS threads", "SciPy", "ml_dtypes", "matplotlib",
                  "scikit-learn", "graphviz dot"):
        assert label in labels, info.stdout


def test_the_readme_script_prints_what_pytorch_prints(tmp_path):
    pytest.importorskip("torch")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    script = next(block for block in re.findall(r"```python\n(.*?)```", readme, re.S)
                  if block.startswith("# train.py\n"))
    (tmp_path / "train.py").write_text(script)
    expected = [line[2:] for line in script.splitlines() if line.startswith("# epoch")
                or line.startswith("# tensor")]
    under_torch = subprocess.run([sys.executable, "train.py"], cwd=tmp_path,
                                 capture_output=True, text=True, timeout=300)
    (tmp_path / "train_ember.py").write_text(script + "print(torch.__name__)\n")
    under_ember = _ember("run", "train_ember.py", cwd=tmp_path)
    assert under_ember.returncode == 0, under_ember.stderr
    assert under_torch.stdout.splitlines() == expected
    assert under_ember.stdout.splitlines() == [*expected, "ember"]
