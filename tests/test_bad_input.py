"""Wrong-typed arguments through every public op: ember raises what PyTorch raises.

The sweep enumerates ember's public callables that PyTorch also has (``ember.<name>``,
``nn.functional``, ``linalg``, ``special`` and Tensor methods), finds for each a valid call
(the first of ``TEMPLATES`` that PyTorch accepts), then replaces each tensor argument of that
call in turn with a list of floats, None, a string and a dict. For every such call:

- when PyTorch raises, ember raises the same exception class (never an AttributeError,
  IndexError... from its internals where PyTorch raises a TypeError or RuntimeError);
- when PyTorch succeeds (it takes lists in some places), ember succeeds with the same value;
- for the ops in ``EXACT`` (the most used ones) the message is PyTorch's, word for word.

``CASES`` adds hand-written calls (wrong-typed dims, sizes, sequences, conv weights).
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as EF

from .oracle import Raised, _call, assert_same, describe

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

BAD = {"list": [1.0, 2.0], "none": None, "str": "a", "dict": {}}

# Names skipped by the sweep, each for a reason.
SKIP = {
    # not ops: utilities, mode switches and state that PyTorch also has under these names
    "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "set_printoptions",
    "set_default_dtype", "get_default_dtype", "set_grad_enabled", "enable_grad", "no_grad",
    "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "set_default_device",
    "get_default_device", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "save", "load",
    "promote_types", "can_cast", "result_type", "finfo", "iinfo", "broadcast_shapes",
    "is_tensor", "from_numpy", "Generator", "default_generator", "Size", "device", "dtype",
    "Tensor", "memory_format",
    # random sampling: values differ between the libraries by design (no shared generator)
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
    "bernoulli", "multinomial", "normal", "dropout", "dropout1d", "dropout2d", "dropout3d",
    "alpha_dropout", "feature_alpha_dropout", "rrelu", "gumbel_softmax",
    "uniform_", "normal_", "bernoulli_", "exponential_", "random_", "cauchy_", "geometric_",
    "log_normal_",
    # uninitialised memory: values are unspecified
    "empty", "empty_like", "new_empty", "empty_strided", "new_empty_strided",
    # PyTorch's Tensor methods with a different meaning than the function of the same name
    # (ember registers the function's signature): compared through the function instead
    "__getitem__", "__setitem__",
    # printing / conversion utilities, not ops
    "tolist", "numpy", "item", "data_ptr", "storage_offset", "element_size", "backward",
    "register_hook", "retain_grad", "requires_grad_", "detach_", "cpu", "cuda", "to",
    "__repr__", "__str__", "__format__", "__reduce_ex__", "__deepcopy__", "__array__",
}


def _inputs(T):
    """The tensors the templates are built from, the same data for both libraries."""
    rng = np.random.default_rng(0)
    f = lambda *s: T.tensor(rng.uniform(0.5, 1.5, size=s))  # noqa: E731
    sq = rng.uniform(-1, 1, size=(3, 3))
    return {
        "x": f(2, 3), "v": f(3), "sq": T.tensor(sq @ sq.T + 3 * np.eye(3)), "x3": f(1, 2, 6),
        "w3": f(3, 2, 3), "x4": f(1, 2, 6, 6), "w4": f(3, 2, 3, 3), "x5": f(1, 2, 4, 4, 4),
        "w5": f(3, 2, 3, 3, 3), "i": T.tensor([0, 2]), "b": T.tensor([True, False, True]),
    }


# Valid calls: the first PyTorch accepts is the op's template (each a function of the inputs).
TEMPLATES = [
    lambda a: (a["x"],), lambda a: (a["x"], a["x"]), lambda a: (a["x"], 1),
    lambda a: (a["x"], a["x"], a["x"]), lambda a: (a["sq"],), lambda a: (a["sq"], a["sq"]),
    lambda a: (a["v"],), lambda a: (a["v"], a["v"]), lambda a: (a["x"], a["i"]),
    lambda a: (a["x4"], a["w4"]), lambda a: (a["x3"], a["w3"]), lambda a: (a["x5"], a["w5"]),
    lambda a: (a["x4"], 2), lambda a: (a["x3"], 2), lambda a: (a["x5"], 2),
    lambda a: (a["x"], 0, a["i"]), lambda a: (a["x"], (3, 2)), lambda a: (a["x"], 1, 2),
    lambda a: ((a["x"], a["x"]),), lambda a: (a["i"],), lambda a: (a["b"],),
    lambda a: ((2, 3),), lambda a: (3,), lambda a: (a["sq"], a["v"]),
    lambda a: (a["x"], a["x"], 0.5),
]


def _public():
    """(space, name, ember callable, torch callable) for every public op both libraries have."""
    out = []
    from ember.ops._registry import OPS

    spaces = [("torch", ember, torch, sorted(OPS)), ("F", EF, TF, EF.__all__),
              ("linalg", ember.linalg, torch.linalg, ember.linalg.__all__),
              ("special", ember.special, torch.special, ember.special.__all__)]
    for space, emod, tmod, names in spaces:
        for name in names:
            ef, tf = getattr(emod, name, None), getattr(tmod, name, None)
            if name in SKIP or not callable(ef) or not callable(tf) or isinstance(ef, type):
                continue
            out.append((space, name, ef, tf))
    from ember.ops._registry import METHODS

    for name in sorted(METHODS):
        if name in SKIP or not callable(getattr(torch.Tensor, name, None)):
            continue
        if not callable(getattr(ember.Tensor, name, None)):
            continue
        out.append(("Tensor", name, None, None))
    return out


def _fn(space, name, T):
    """The callable ``name`` of ``space`` in library ``T``: a method gets its receiver first."""
    if space == "Tensor":
        return lambda self, *args: getattr(self, name)(*args)
    mod = {"torch": T, "F": EF if T is ember else TF, "linalg": T.linalg,
           "special": T.special}[space]
    return getattr(mod, name)


def _template(space, name):
    """The index of the first template both libraries accept, or None."""
    fe, ft = _fn(space, name, ember), _fn(space, name, torch)
    ae, at = _inputs(ember), _inputs(torch)
    for k, make in enumerate(TEMPLATES):
        if space == "Tensor" and not isinstance(make(at)[0], torch.Tensor):
            continue
        try:
            ft(*make(at))
        except Exception:  # noqa: BLE001 - this template is not a valid call
            continue
        try:
            fe(*make(ae))
        except Exception:  # noqa: BLE001 - a gap with valid arguments is another test's job
            return None
        return k
    return None


def _sweep_calls():
    """(id, space, name, template index, position, bad key) for every call the sweep makes."""
    calls = []
    for space, name, _, _ in _public():
        k = _template(space, name)
        if k is None:  # no valid call found: the bad value is the only argument
            if space != "Tensor":
                calls.extend((f"{space}.{name}-0-{b}", space, name, None, 0, b) for b in BAD)
            continue
        args = TEMPLATES[k](_inputs(torch))
        first = 1 if space == "Tensor" else 0
        for pos in range(first, len(args)):
            if isinstance(args[pos], (torch.Tensor, tuple)):
                calls.extend((f"{space}.{name}-{pos}-{b}", space, name, k, pos, b) for b in BAD)
    return calls


def _run(space, name, k, pos, bad, T):
    def call(T):
        args = list(TEMPLATES[k](_inputs(T))) if k is not None else [None]
        args[pos] = BAD[bad] if not isinstance(BAD[bad], (list, dict)) else type(BAD[bad])(
            BAD[bad])
        return _fn(space, name, T)(*args)
    return _call(call, T)[0]


# The most used ops: the message must be PyTorch's word for word, not just the class.
EXACT = {
    "abs", "exp", "log", "sin", "cos", "tanh", "sigmoid", "sqrt", "neg", "relu", "add", "sub",
    "mul", "div", "pow", "maximum", "minimum", "sum", "mean", "max", "min", "amax", "prod",
    "std", "var", "argmax", "logsumexp", "zeros", "ones", "full", "arange", "zeros_like",
    "ones_like", "full_like", "matmul", "mm", "bmm", "cat", "stack", "linear", "conv1d",
    "conv2d", "softmax", "log_softmax", "mse_loss", "cross_entropy", "nll_loss", "l1_loss",
    "binary_cross_entropy", "view", "reshape", "permute", "transpose", "flatten", "squeeze",
    "unsqueeze",
}

SWEEP = _sweep_calls()


@pytest.mark.parametrize("space,name,k,pos,bad", [pytest.param(*c[1:], id=c[0]) for c in SWEEP])
def test_wrong_type_sweep(space, name, k, pos, bad):
    mine, ref = _run(space, name, k, pos, bad, ember), _run(space, name, k, pos, bad, torch)
    if not isinstance(ref, Raised):
        assert_same(describe(mine), describe(ref))
        return
    assert isinstance(mine, Raised), f"torch raised {ref!r}; ember returned {mine!r}"
    assert mine.kind == ref.kind, f"ember {mine!r} != torch {ref!r}"
    if name in EXACT:
        assert mine.message == ref.message


# Hand-written calls from the gaps closed by the sweep (class and message both PyTorch's).
CASES = {
    "linalg_inv_list": lambda T: T.linalg.inv([1.0, 2.0]),
    "sum_list": lambda T: T.sum([1.0, 2.0]),
    "tile_float": lambda T: T.tile(T.ones(2, 3), [1.0]),
    "repeat_float": lambda T: T.ones(2, 3).repeat([1.0, 2.0]),
    "pad_float": lambda T: (EF if T is ember else TF).pad(T.ones(2, 3), [1.0, 1.0]),
    "add_list": lambda T: T.add([1.0, 2.0, 3.0], T.ones(2, 3)),
    "clamp_min_str": lambda T: T.clamp_min(T.ones(2, 3), "a"),
    "sum_dim_str": lambda T: T.ones(2, 3).sum("a"),
    "max_str": lambda T: T.max(T.ones(2, 3), "a"),
    "std_bool_slot": lambda T: T.std(T.ones(2, 3), "a"),
    "view_varargs": lambda T: T.ones(3, 4).view(5, -1),
    "pow_list": lambda T: T.ones(2).pow([1.0, 2.0]),
    "isin_two_numbers": lambda T: T.isin(1.0, 2.0),
    "special_softmax_str": lambda T: T.special.softmax("a", 0),
    # a required argument missing: PyTorch's error for the ones given
    "bmm_one_tensor": lambda T: T.bmm(T.ones(2, 3, 3)),
    "transpose_missing_dims": lambda T: T.transpose([1.0], dim1=1),
    "bce_missing_target": lambda T: (EF if T is ember else TF).binary_cross_entropy([1.0]),
    "copy_list": lambda T: T.ones(3).copy_([1.0, 2.0, 3.0]),
    "atleast_1d_number": lambda T: T.atleast_1d(2.0),
    "chain_matmul_tuple": lambda T: T.chain_matmul((T.ones(2, 2),)),
    "einsum_no_operand": lambda T: T.einsum([1.0]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_wrong_type_cases(case):
    mine, ref = _call(CASES[case], ember)[0], _call(CASES[case], torch)[0]
    assert isinstance(ref, Raised) and isinstance(mine, Raised), (mine, ref)
    assert (mine.kind, mine.message) == (ref.kind, ref.message)
