"""The type stubs (``ember/*.pyi``, written by tools/gen_stubs.py) against ember itself.

- The committed stubs are what the generator writes now (a stale stub fails, naming the
  command to rerun).
- Every public attribute of ``Tensor`` and every public callable of ``ember``,
  ``nn.functional``, ``linalg`` and ``special`` is in the stubs.
- The return types the stubs declare are what the ops return at run time, over the op records
  of tests/opinfo and a sweep calling each op on plain tensors (in a subprocess: the sweep
  triggers once-per-process warnings other tests count).
- The named tuples the stubs name are PyTorch's (``torch.return_types``).
- mypy type-checks tests/stub_sample.py (a small training loop) and the stubs with no error,
  and reports the expected errors for a deliberately wrong program.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
import types

import pytest

import ember

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    "gen_stubs", os.path.join(ROOT, "tools", "gen_stubs.py"))
gen_stubs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_stubs)

# stub file -> (the namespace it stands for in the tracing below)
SPACES = {"ember/__init__.pyi": "torch", "ember/nn/functional.pyi": "F",
          "ember/linalg.pyi": "linalg", "ember/special.pyi": "special"}


def _stub_tree(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return ast.parse(f.read())


def _names(body):
    """Names a stub body defines: functions, classes, annotated values, aliases, imports."""
    found = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = node
        elif isinstance(node, ast.Assign):
            found.update((t.id, node) for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            found.update((a.asname or a.name, node) for a in node.names)
    return found


def _tensor_class():
    tree = _stub_tree("ember/tensor.pyi")
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")


def declared_returns():
    """``{(space, name): return annotation text}`` for every function the stubs declare."""
    out = {}
    for rel, space in SPACES.items():
        for name, node in _names(_stub_tree(rel).body).items():
            if isinstance(node, ast.FunctionDef):
                out[(space, name)] = ast.unparse(node.returns)
    for name, node in _names(_tensor_class().body).items():
        if isinstance(node, ast.FunctionDef) and not any(
                isinstance(d, ast.Attribute) and d.attr == "setter" for d in node.decorator_list):
            out[("Tensor", name)] = ast.unparse(node.returns)
    return out


def test_committed_stubs_are_current():
    run = subprocess.run([sys.executable, os.path.join("tools", "gen_stubs.py"), "--check"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (
        f"{run.stderr.strip() or run.stdout.strip()}\n(the stubs are stale: rerun "
        f"`{gen_stubs.COMMAND}` and commit the .pyi files)")


def test_check_mode_names_the_command_when_stale(tmp_path, monkeypatch):
    """``--check`` fails on a stub that differs, naming the file and the command to rerun."""
    monkeypatch.setattr(gen_stubs, "ROOT", str(tmp_path))
    monkeypatch.setattr(gen_stubs, "generate", lambda: {"ember/x.pyi": "x: int\n"})
    (tmp_path / "ember").mkdir()
    (tmp_path / "ember" / "x.pyi").write_text("x: str\n")
    assert gen_stubs.main(["--check"]) == 1
    assert (tmp_path / "ember" / "x.pyi").read_text() == "x: str\n"  # (--check writes nothing)
    assert gen_stubs.main([]) == 0
    assert (tmp_path / "ember" / "x.pyi").read_text() == "x: int\n"
    assert gen_stubs.main(["--check"]) == 0


def test_stale_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gen_stubs, "ROOT", str(tmp_path))
    monkeypatch.setattr(gen_stubs, "generate", lambda: {"a.pyi": "x: int\n"})
    assert gen_stubs.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "a.pyi" in err and gen_stubs.COMMAND in err


def test_every_public_tensor_attribute_is_stubbed():
    stubbed = set(_names(_tensor_class().body))
    public = {n for n in dir(ember.Tensor) if not n.startswith("_")}
    # the operators and protocols the class itself defines (not object's defaults)
    dunders = {n for n in vars(ember.Tensor)
               if n.startswith("__") and n not in gen_stubs._CLASS_INTERNALS}
    missing = sorted((public | dunders) - stubbed)
    assert not missing, f"not in ember/tensor.pyi: {missing}; rerun `{gen_stubs.COMMAND}`"
    assert len(public) > 450  # (the registered methods are there: the check has teeth)


@functools.cache
def _fresh_modules():
    """The submodule names a fresh ``import ember`` shows (its lazy ones included)."""
    code = ("import ember, types; print(' '.join(n for n in dir(ember) "
            "if isinstance(getattr(ember, n, None), types.ModuleType)))")
    return frozenset(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True).stdout.split())


def test_every_public_name_of_ember_is_stubbed():
    stubbed = set(_names(_stub_tree("ember/__init__.pyi").body))
    # (a submodule imported by some other test, ``ember.demo``, is an attribute from then on:
    # only the names ``import ember`` itself gives count)
    public = {n for n in dir(ember) if not n.startswith("_") and n != "annotations"
              and not (isinstance(getattr(ember, n), types.ModuleType)
                       and n not in _fresh_modules())}
    missing = sorted(public - stubbed)
    assert not missing, f"not in ember/__init__.pyi: {missing}; rerun `{gen_stubs.COMMAND}`"
    callables = {n for n in public if callable(getattr(ember, n))}
    assert len(callables) > 450


@pytest.mark.parametrize("rel,module", [("ember/nn/functional.pyi", "ember.nn.functional"),
                                        ("ember/linalg.pyi", "ember.linalg"),
                                        ("ember/special.pyi", "ember.special"),
                                        ("ember/nn/__init__.pyi", "ember.nn")])
def test_every_public_name_of_a_submodule_is_stubbed(rel, module):
    mod = importlib.import_module(module)
    stubbed = set(_names(_stub_tree(rel).body))
    missing = sorted(set(mod.__all__) - stubbed)
    assert not missing, f"not in {rel}: {missing}; rerun `{gen_stubs.COMMAND}`"


def test_named_tuples_are_pytorchs():
    torch = pytest.importorskip("torch")
    named = {ann[len("_rt."):] for ann in declared_returns().values() if ann.startswith("_rt.")}
    assert named  # (sort, topk, linalg.qr...)
    assert not sorted(n for n in named if not hasattr(torch.return_types, n))
    # ... with PyTorch's fields, in order
    for name in named:
        theirs = getattr(torch.return_types, name)
        fields = getattr(theirs, "_fields", None) or theirs.__match_args__  # (a structseq)
        assert getattr(ember.return_types, name)._fields == tuple(fields), name


# ---- declared returns against run time -----------------------------------------------------

def _conforms(value, ann):
    """Whether ``value`` is of the stub annotation ``ann`` (None: an annotation not checked)."""
    from ember import Tensor

    if ann == "Any":
        return True
    if ann == "Tensor":
        return isinstance(value, Tensor)
    if ann.startswith("_rt."):
        return type(value) is getattr(ember.return_types, ann[4:])
    if ann in ("tuple[Tensor, ...]", "tuple[Tensor, Tensor]"):
        return isinstance(value, tuple) and all(isinstance(v, Tensor) for v in value) and (
            ann.endswith("...]") or len(value) == 2)
    if ann == "builtins.bool":
        return isinstance(value, bool)
    if ann == "builtins.int":
        return isinstance(value, int) and not isinstance(value, bool)
    if ann == "None":
        return value is None
    return None


def _observe():
    """Print ``[[space, name, type name, conforms], ...]``: each op's results over the op
    records and a sweep, against its declared return (run in a subprocess by the test)."""
    import warnings

    import numpy as np

    import ember.nn.functional as F
    from tests.opinfo import RECORDS
    from tests.ops.test_op_records import _args

    declared = declared_returns()
    owners = {"torch": ember, "F": F, "linalg": ember.linalg, "special": ember.special,
              "Tensor": ember.Tensor}
    seen = {}

    def spy(key, fn):
        def op(*args, **kwargs):
            out = fn(*args, **kwargs)
            ok = _conforms(out, declared[key])
            seen.setdefault((*key, type(out).__name__), ok)
            return out
        return op

    patched = []
    for (space, name), ann in declared.items():
        owner = owners[space]
        fn = vars(owner).get(name) if space == "Tensor" else getattr(owner, name, None)
        if fn is None or ann == "Any" or name.startswith("__") or not callable(fn) \
                or isinstance(fn, type):
            continue
        patched.append((owner, name, fn))
        setattr(owner, name, spy((space, name), fn))
    swept = {"torch": ember.ops._registry.OPS, "Tensor": ember.ops._registry.METHODS,
             "F": F.__all__, "linalg": ember.linalg.__all__, "special": ember.special.__all__}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for rec in RECORDS:
                for i, sample in enumerate(rec.samples(np.random.default_rng(0))):
                    if i > 1:
                        break
                    try:
                        rec.fn(ember, *_args(ember, rec, sample, "float64"))
                    except Exception:  # noqa: BLE001 - a record's known gap is not ours
                        pass
            for space, names in swept.items():
                for name in names:
                    if (space, name) not in declared or declared[(space, name)] == "Any":
                        continue
                    for extra in ((), (0,), ("x",), (1, 1)):
                        x = ember.randn(3, 3, dtype=ember.float64)
                        args = [x if a == "x" else a for a in extra]
                        fn = getattr(x if space == "Tensor" else owners[space], name)
                        try:
                            fn(*args) if space == "Tensor" else fn(x, *args)
                        except Exception:  # noqa: BLE001 - wrong arguments for this op
                            pass
    finally:
        for owner, name, fn in patched:
            setattr(owner, name, fn)
    print(json.dumps([[*k, ok] for k, ok in sorted(seen.items())]))


def test_declared_returns_match_run_time():
    run = subprocess.run(
        [sys.executable, "-c", "from tests.test_stubs import _observe; _observe()"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    declared = declared_returns()
    wrong = [f"{space}.{name} returned {typ}, the stub says {declared[(space, name)]}"
             for space, name, typ, ok in seen if ok is False]
    assert not wrong, "\n".join(wrong)
    checked = {(space, name) for space, name, _, ok in seen if ok}
    assert len(checked) > 800  # (most ops were called: the check has teeth)


# ---- mypy ------------------------------------------------------------------------------------

WRONG = textwrap.dedent("""\
    import ember
    import ember.nn.functional as F

    x = ember.ones(2)
    x.no_such_method()
    ember.exp("a")
    ember.no_such_function()
    y: int = x.sum()
    F.relu([1.0])
    x.sum(dim="a")
    """)
EXPECTED = [
    (5, '"Tensor" has no attribute "no_such_method"'),
    (6, 'Argument 1 to "exp" has incompatible type "str"; expected "Tensor"'),
    (7, 'Module has no attribute "no_such_function"'),
    (8, 'Incompatible types in assignment (expression has type "Tensor", variable has type '
        '"int")'),
    (9, 'Argument 1 to "relu" has incompatible type "list[float]"; expected "Tensor"'),
    (10, 'Argument "dim" to "sum" of "Tensor" has incompatible type "str"'),
]


@functools.lru_cache(maxsize=1)
def _mypy(tmp):
    """mypy over the sample, the wrong program and the stubs themselves: (output, seconds).
    ``--follow-imports=silent``: ember's own .py modules are analysed for their types but
    their errors are not reported, as for an installed library."""
    wrong = os.path.join(tmp, "wrong_program.py")
    with open(wrong, "w", encoding="utf-8") as f:
        f.write(WRONG)
    stubs = [os.path.join(ROOT, p) for p in gen_stubs.STUBS]
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary",
         "--show-error-codes", "--cache-dir", os.path.join(tmp, "mypy_cache"),
         os.path.join(ROOT, "tests", "stub_sample.py"), wrong, *stubs],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    return run.stdout + run.stderr, time.perf_counter() - start


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory):
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.skip("mypy is not installed (pip install -e '.[test]' installs it)")
    return _mypy(str(tmp_path_factory.mktemp("mypy")))[0]


def test_mypy_accepts_the_sample_program_and_the_stubs(mypy_output):
    other = [line for line in mypy_output.splitlines()
             if line.strip() and "wrong_program.py" not in line]
    assert not other, "\n".join(other)


def test_mypy_flags_the_wrong_program(mypy_output):
    errors = [line for line in mypy_output.splitlines() if "wrong_program.py" in line]
    for line_no, message in EXPECTED:
        assert any(f"wrong_program.py:{line_no}: error: {message}" in e for e in errors), (
            f"expected on line {line_no}: {message}\nmypy said:\n" + "\n".join(errors))
    assert len(errors) == len(EXPECTED), "\n".join(errors)


def test_the_sample_program_runs():
    """The sample mypy checks is a real program: it trains and its loss falls."""
    spec = importlib.util.spec_from_file_location(
        "stub_sample", os.path.join(ROOT, "tests", "stub_sample.py"))
    sample = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sample)
    assert sample.train(steps=40) < sample.train(steps=1)
    assert tuple(sample.tensor_ops().shape) == (1, 15)
