"""The edges of PyTorch's surface real scripts touch, against PyTorch 2.13: ``torch._utils`` and
``torch.return_types`` as modules, ``torch.__version__``/``torch.version``, ``pin_memory=`` and
negative sizes in factories, ``Tensor.real``/``imag`` of real tensors, NumPy's warnings kept
out of the backward pass."""

from __future__ import annotations

import copy
import operator
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import ember
from tests.oracle import same, torch

# ---- torch._utils and torch.return_types -------------------------------------------------


def _run(tmp_path, source):
    (tmp_path / "script.py").write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "ember", "run", "script.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_utils_and_return_types_import_under_the_alias(tmp_path):
    proc = _run(tmp_path, """
        import pickle
        import torch
        import torch._utils
        import torch.return_types
        from torch.return_types import max as max_type
        print(torch._utils._rebuild_tensor_v2.__name__, torch._utils.is_compiling())
        p = torch._utils._rebuild_parameter(torch.ones(2), True, {})
        print(type(p).__name__, p.requires_grad)
        r = torch.tensor([1., 3.]).max(0)
        print(type(r) is max_type is torch.return_types.max, r.indices.item())
        back = pickle.loads(pickle.dumps(r))
        print(type(back) is max_type, back.values.item())
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:4] == ["rebuild_tensor_v2 False", "Parameter True",
                                           "True 1", "True 3.0"]


def test_whole_pytorch_model_loads_under_the_alias(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    torch.save(model, tmp_path / "model.pt")
    x = torch.ones(1, 3)
    want = model(x).detach().numpy().round(5).tolist()
    proc = _run(tmp_path, """
        import torch
        import torch._utils
        model = torch.load("model.pt", weights_only=False)
        print(type(model).__module__, type(model[0]).__name__)
        print(model(torch.ones(1, 3)).detach().numpy().round(5).tolist())
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["ember.nn.modules.container Linear", str(want)]


def test_weights_only_refusal_names_the_class_as_the_script_does(tmp_path):
    source = """
        import pickle
        import torch
        torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), "m.pt")
        try:
            torch.load("m.pt")
        except pickle.UnpicklingError as e:
            print(str(e))
        """
    proc = _run(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    theirs = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert "GLOBAL torch.nn.modules.container.Sequential was not" in proc.stdout
    assert proc.stdout == theirs.stdout


def test_utils_is_an_attribute_after_import_torch():
    assert ember._utils._rebuild_parameter(ember.zeros(1), False, {}).requires_grad is False
    with pytest.raises(ember.serialization.UnsupportedCheckpointError):
        ember._utils._rebuild_qtensor()


RESULT_TYPES = ["max", "min", "sort", "topk", "kthvalue", "median", "mode", "cummax", "cummin",
                "aminmax", "linalg_slogdet", "slogdet", "linalg_qr", "qr", "linalg_svd", "svd",
                "linalg_eigh", "linalg_inv_ex", "linalg_cholesky_ex", "linalg_lu_factor",
                "linalg_lu", "lu_unpack", "triangular_solve", "geqrf", "frexp", "nanmedian"]


def test_return_types_exist_at_import():
    # (in a fresh process: no op has been called, so none was made on first use)
    code = f"import ember.return_types as rt; print([n for n in {RESULT_TYPES!r} " \
           "if not hasattr(rt, n)])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


@pytest.mark.parametrize("name", RESULT_TYPES)
def test_return_types_module_has_pytorchs_types(name):
    import ember.return_types as rt

    mine, theirs = getattr(rt, name), getattr(torch.return_types, name)
    assert mine.__module__ == "ember.return_types" and issubclass(mine, tuple)
    n = theirs.n_fields
    assert mine.n_fields == n
    fields = [f for f in dir(theirs) if not f.startswith("_") and
              isinstance(getattr(theirs, f), type(theirs.__dict__.get(f, None)))]
    assert all(hasattr(mine, f) for f in fields)


def test_return_types_construct_print_and_pickle_as_pytorch():
    same(lambda m: repr(m.return_types.max((1, 2))))
    same(lambda m: m.return_types.max([5, 6]).indices)
    same(lambda m: m.return_types.max((1, 2, 3)))
    same(lambda m: m.return_types.max(1, 2, 3))
    same(lambda m: m.return_types.max(7))
    same(lambda m: m.return_types.max())
    same(lambda m: m.return_types.max((1, 2), 5))
    same(lambda m: m.return_types.max("ab"))
    same(lambda m: m.return_types.max((1, 2), {"x": 1}))
    same(lambda m: m.return_types.topk(((1, 2), {})).values)
    same(lambda m: copy.deepcopy(m.tensor([[1., 5.], [4., 2.]]).max(1)))
    same(lambda m: pickle.loads(pickle.dumps(m.tensor([[1., 5.], [4., 2.]]).sort(1))))
    same(lambda m: pickle.loads(pickle.dumps(m.linalg.slogdet(m.eye(2) * 2))))
    r = torch.tensor([1., 3.]).max(0)
    assert type(r).__reduce__(r)[1][1] == {}  # (the form ember's __reduce__ copies)


# ---- torch.__version__ and torch.version -------------------------------------------------

OPERANDS = ["2.0", "2.13", "2.13.0", "2.13.0+cpu", "2.13.1", "2.13.0a0", "2.13.0rc1",
            "2.13.0.post1", "2.13.0.dev20250101", "2.12.9", "1!0.1", "v2.13.0", "abc", "",
            "2.13.0+ember.0.1.0", "2.13.0+ember.0.2", "2.13.0+ember", (2, 13), (2, 13, 0),
            (2, 14), (2,), (1, 9, 9), ("2", "13"), 3, 2.0, None]
VERSIONS = ["2.13.0+ember.0.1.0", "2.13.0", "2.13.0+cpu", "2.13.0rc2", "1.12.1", "2.13.0.dev1",
            "2.13.0a1.post2.dev3", "2.13.0+ember.0.1.0.x", "0.1.0", "not a version"]


@pytest.mark.parametrize("version", VERSIONS)
def test_torch_version_compares_as_pytorchs(version):
    from torch.torch_version import TorchVersion as Theirs

    from ember.version import TorchVersion

    ops = (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne)
    mine, theirs = TorchVersion(version), Theirs(version)
    for other in OPERANDS:
        for op in ops:
            def outcome(v, op=op, other=other):
                try:
                    return op(v, other)
                except Exception as e:  # noqa: BLE001 - the error is the outcome
                    return type(e).__name__
            assert outcome(mine) == outcome(theirs), (version, op, other)
    assert hash(mine) == hash(version) and str(mine) == version


def test_version_under_the_alias(tmp_path):
    proc = _run(tmp_path, """
        import torch, torch.version
        from packaging.version import parse
        print(torch.__version__, torch.__version__ >= "2.0", torch.__version__ < (2, 14))
        print(parse(torch.__version__) >= parse("2.0"), torch.version.__version__)
        print(torch.version.cuda, torch.version.hip, torch.version.debug)
        import ember
        print(ember.version.ember_version == ember._EMBER_VERSION)
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:4] == [
        f"2.13.0+ember.{ember.__version__} True True", f"True 2.13.0+ember.{ember.__version__}",
        "None None False", "True"]


def test_ember_keeps_its_own_version_without_the_alias():
    assert ember.__version__ == ember._EMBER_VERSION == ember.version.ember_version
    assert ember.version.__version__.startswith(torch.__version__.split("+")[0] + "+ember.")
    assert ember.version.cuda is None and torch.version.cuda is None


# ---- pin_memory= and negative sizes in factories -----------------------------------------

FACTORIES = {
    "empty": lambda m, **k: m.empty(2, **k), "zeros": lambda m, **k: m.zeros(2, **k),
    "ones": lambda m, **k: m.ones(2, **k), "tensor": lambda m, **k: m.tensor([1.], **k),
    "full": lambda m, **k: m.full((2,), 1., **k), "rand": lambda m, **k: m.rand(2, **k),
    "randn": lambda m, **k: m.randn(2, **k), "arange": lambda m, **k: m.arange(3, **k),
    "rand_ints": lambda m, **k: m.rand(2, 3, **k),
    "empty_like": lambda m, **k: m.empty_like(m.ones(2), **k),
    "zeros_like": lambda m, **k: m.zeros_like(m.ones(2), **k),
    "ones_like": lambda m, **k: m.ones_like(m.ones(2), **k),
    "full_like": lambda m, **k: m.full_like(m.ones(2), 2., **k),
    "rand_like": lambda m, **k: m.rand_like(m.ones(2), **k),
    "randn_like": lambda m, **k: m.randn_like(m.ones(2), **k),
    "randint_like": lambda m, **k: m.randint_like(m.ones(2), 3, **k),
    "eye": lambda m, **k: m.eye(2, **k), "linspace": lambda m, **k: m.linspace(0, 1, 3, **k),
    "logspace": lambda m, **k: m.logspace(0, 1, 3, **k),
    "randint": lambda m, **k: m.randint(3, (2,), **k),
    "randperm": lambda m, **k: m.randperm(3, **k),
    "scalar_tensor": lambda m, **k: m.scalar_tensor(1., **k),
    "normal": lambda m, **k: m.normal(0., 1., (2,), **k),
    "new_zeros": lambda m, **k: m.ones(2).new_zeros(2, **k),
    "new_ones": lambda m, **k: m.ones(2).new_ones(2, **k),
    "new_empty": lambda m, **k: m.ones(2).new_empty(2, **k),
    "new_full": lambda m, **k: m.ones(2).new_full((2,), 1., **k),
    "new_tensor": lambda m, **k: m.ones(2).new_tensor([2.], **k),
    "as_tensor": lambda m, **k: m.as_tensor([1.], **k),
    "range": lambda m, **k: m.range(0, 3, **k),
    "zeros_meta": lambda m, **k: m.zeros(2, device="meta", **k).shape,
    "tensor_meta": lambda m, **k: m.tensor([1.], device="meta", **k).shape,
    "tril_indices": lambda m, **k: m.tril_indices(2, 2, **k),
    "triu_indices": lambda m, **k: m.triu_indices(2, 2, **k),
}


# (not a bool: PyTorch's argument parser refuses it, None aside except in tensor())
@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("pin", [False, True, None, 0, 1, 1.0, "a"])
def test_pin_memory_as_pytorch_without_an_accelerator(name, pin):
    same(lambda m: FACTORIES[name](m, pin_memory=pin).is_pinned()
         if not name.endswith("_meta") else FACTORIES[name](m, pin_memory=pin))


NEGATIVE = {
    "empty": lambda m, s: m.empty(s), "zeros": lambda m, s: m.zeros(s),
    "ones": lambda m, s: m.ones(s), "rand": lambda m, s: m.rand(s),
    "randn": lambda m, s: m.randn(s),
    "full": lambda m, s: m.full(s, 1.), "randint": lambda m, s: m.randint(3, s),
    "normal": lambda m, s: m.normal(0., 1., s), "Tensor": lambda m, s: m.Tensor(*s),
    "FloatTensor": lambda m, s: m.FloatTensor(*s),
    "new_zeros": lambda m, s: m.ones(1).new_zeros(s),
    "new_empty": lambda m, s: m.ones(1).new_empty(s),
    "new_full": lambda m, s: m.ones(1).new_full(s, 2.),
    "zeros_meta": lambda m, s: m.zeros(s, device="meta"),
    "empty_meta": lambda m, s: m.empty(s, device="meta"),
    "pinned": lambda m, s: m.empty(s, pin_memory=True),
}


@pytest.mark.parametrize("name", sorted(NEGATIVE))
@pytest.mark.parametrize("shape", [(-1,), (2, -1), (-2, 3), (-3, -1), (0, -1)])
def test_negative_dimension_message(name, shape):
    same(lambda m: NEGATIVE[name](m, shape))


# ---- Tensor.real / Tensor.imag of real tensors -------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "float16"])
def test_real_is_self_and_imag_raises(dtype):
    def real(m):
        x = m.ones(2, dtype=getattr(m, dtype))
        return x.real is x, m.real(x) is x, x.real
    same(real)
    same(lambda m: m.ones(2, dtype=getattr(m, dtype)).imag)
    same(lambda m: m.imag(m.ones(2, dtype=getattr(m, dtype))))


def test_real_of_a_graph_tensor_keeps_its_node():
    def f(m):
        x = m.tensor([1., 2.], requires_grad=True)
        y = (x * 2).real
        y.sum().backward()
        return y, x.real, x.grad
    same(f)


def test_real_setter_copies_and_imag_setter_raises():
    def setter(m, value):
        x = m.tensor([[1., 2.], [3., 4.]])
        x.real = value
        return x, x._version
    for value in (lambda m: m.tensor([5., 6.]), lambda m: 3, lambda m: True, lambda m: 2.5,
                  lambda m: m.tensor([1, 2]), lambda m: "a", lambda m: None, lambda m: [1., 2.],
                  lambda m: np.ones(2)):
        same(lambda m, value=value: setter(m, value(m)))

    def imag(m):
        x = m.tensor([1., 2.])
        x.imag = m.tensor([5., 6.])
    same(imag)

    def leaf(m):
        x = m.tensor([1., 2.], requires_grad=True)
        x.real = m.zeros(2)
    same(leaf)

    def no_grad(m):
        x = m.tensor([1., 2.], requires_grad=True)
        with m.no_grad():
            x.real = m.tensor([3., 4.])
        return x, x._version
    same(no_grad)


def test_real_and_imag_functions_refuse_non_tensors():
    for value in (3., np.ones(2), [1., 2.]):
        same(lambda m, value=value: m.real(value))
        same(lambda m, value=value: m.imag(value))


# ---- NumPy's floating-point warnings stay out of the backward pass -----------------------

def _backward_through_inf_and_zero(m):
    x = m.ones(2, requires_grad=True)
    y = x * float("inf")  # (forward: inf, no warning)
    y.backward(m.zeros(2))  # (backward: 0 * inf = nan)
    z = m.tensor([0., 1.], requires_grad=True)
    (z.sqrt() * 0).sum().backward()  # (0 / 0 in sqrt's backward)
    return x.grad, z.grad


def test_backward_gives_no_numpy_warnings():
    same(_backward_through_inf_and_zero)  # (``same`` records with simplefilter("always"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (pytest -W error, python -W error)
        _backward_through_inf_and_zero(ember)
    with np.errstate(all="raise"):  # the user's NumPy settings are the user's
        with pytest.raises(FloatingPointError):
            np.log(np.zeros(1))
        _backward_through_inf_and_zero(ember)
        with pytest.raises(FloatingPointError):
            np.log(np.zeros(1))
