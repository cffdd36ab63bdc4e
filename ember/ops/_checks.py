"""Wrong-typed arguments: PyTorch's TypeError instead of an error from inside an op.

Contract:
- ``checked(fn, name, method=False)`` is ``fn`` as published (``ember.<name>``, a Tensor method,
  ``nn.functional``, ``linalg``, ``special``): a function with ``fn``'s own signature that calls
  ``fn``. Only when ``fn`` raises one of the errors a wrong-typed argument causes inside an op
  (AttributeError, TypeError, IndexError, ValueError, KeyError, ZeroDivisionError, or a
  RuntimeError such as a broadcast error after a list was read as a tensor) does it look at the
  arguments: the first one of the wrong type raises PyTorch's TypeError for it
  (``exp(): argument 'input' (position 1) must be Tensor, not list``); if none is, the original
  error propagates unchanged.
- What an argument must be comes from its parameter name (``ARG_KINDS``): Tensor, a sequence of
  Tensors, a size (tuple of ints) or an int. Parameters not named there are not checked.
- ``checks_own_arguments(fn)`` marks an op that raises PyTorch's errors itself: it is published
  as is.

NOTE [errors cost nothing until raised]: the fast path is one extra Python call with the same
arguments (no ``*args`` packing: the wrapper is compiled with ``fn``'s parameter list) and a
``try`` (free in CPython 3.11+). The arguments are inspected only on the error path. A method
that takes only ``self`` cannot be called with a wrong-typed argument, so it is not wrapped.
"""

from __future__ import annotations

import re
from types import FunctionType

from ..tensor import Tensor

__all__ = ["checked", "checks_own_arguments", "ARG_KINDS", "INTERNAL", "type_name"]

INTERNAL = (AttributeError, TypeError, IndexError, ValueError, KeyError, ZeroDivisionError,
            RuntimeError)

_TENSOR = ("input", "other", "self", "tensor", "mat", "mat1", "mat2", "vec", "vec1", "vec2",
           "weight", "target", "A", "B", "LU", "LU_data", "x1", "x2", "batch1", "batch2",
           "tensor1", "tensor2", "query", "key", "value", "anchor", "positive", "negative",
           "input1", "input2", "log_probs", "targets", "condition", "elements",
           "test_elements", "sorted_sequence", "src", "grad_output", "theta", "grid",
           "input_lengths", "target_lengths", "pivots", "exponent", "end", "mask")
# Parameter name -> what PyTorch's argument parser requires there.
ARG_KINDS = {**dict.fromkeys(_TENSOR, "Tensor"), "tensors": "tuple of Tensors",
             "size": "tuple of ints", "shape": "tuple of ints", "dims": "tuple of ints",
             "sizes": "tuple of ints", "pad": "tuple of ints",
             "dim0": "int", "dim1": "int", "pin_memory": "bool"}
# Tensor parameters after the first where PyTorch may also take a Python number
# (``torch.add(x, 2)``), or ``op.param`` for one op only; the first argument never is one
# (``torch.exp(2.)`` is an error).
_NUMBER_OK = frozenset({"other", "exponent", "end", "value", "lerp.weight", "lerp_.weight",
                        "scatter.src", "scatter_.src"})
# (op, ember's parameter name) -> PyTorch's name for it where the two differ.
_TORCH_PARAM = {("repeat", "sizes"): "repeats", ("_lu_with_info", "A"): "input",
                ("copy_", "src"): "other"}
# ember name -> the name PyTorch's message uses where the two differ (torch, Tensor and F; the
# ``linalg`` and ``special`` ops are named with that prefix: ``linalg_inv()``).
TORCH_NAME = {"cross_entropy": "cross_entropy_loss", "nll_loss": "nll_loss_nd",
              "logsigmoid": "log_sigmoid", "triplet_margin_loss": "triplet_margin_loss",
              "lu": "_lu_with_info"}
_PREFIX = {"linalg": "linalg_", "special": "special_"}

# PyTorch functions written in Python: a non-tensor fails at the first attribute they read, an
# AttributeError (``F.softmax([1.], 0)``: 'list' object has no attribute 'dim'). Space ->
# name -> that attribute.
PYTHON_LEVEL = {
    "torch": {"norm": "layout", "split": "split", "tensordot": "dim"},
    "F": {**dict.fromkeys(("adaptive_avg_pool3d", "adaptive_max_pool2d",
                           "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d",
                           "binary_cross_entropy_with_logits", "huber_loss",
                           "instance_norm", "l1_loss", "mse_loss", "smooth_l1_loss"), "size"),
          **dict.fromkeys(("glu", "group_norm", "interpolate", "local_response_norm",
                           "log_softmax", "margin_ranking_loss", "softmax", "softmin",
                           "upsample", "upsample_bilinear", "upsample_nearest"), "dim"),
          "lp_pool1d": "pow", "normalize": "norm", "sigmoid": "sigmoid", "softsign": "abs",
          "tanh": "tanh", "tanhshrink": "tanh"},
}

_FACTORIES: dict = {}  # parameter list -> compiled factory of wrappers with that list


# ---- PyTorch's "invalid combination of arguments" message, for the most used overloaded ops --
# Op name -> (the function's overloads, the method's overloads), each as PyTorch prints it.
_CLAMP = ("Tensor input, Tensor {0} = None, Tensor {1} = None",
          "Tensor input, Number {0} = None, Number {1} = None")
_REDUCE = ("Tensor input, *, torch.dtype dtype = None{0}",
           "Tensor input, tuple of ints dim, bool keepdim = False, *, torch.dtype dtype = None, "
           "Tensor out = None")
_STD = ("Tensor input, tuple of ints dim, bool unbiased = True, bool keepdim = False, *, "
        "Tensor out = None",
        "Tensor input, tuple of ints dim = None, *, Number correction = None, "
        "bool keepdim = False, Tensor out = None", "Tensor input, bool unbiased = True")
_MAX = ("Tensor input, *, Tensor out = None", "Tensor input, Tensor other, *, Tensor out = None",
        "Tensor input, int dim, bool keepdim = False, *, tuple of Tensors out = None")
_CONV = ("Tensor input, Tensor weight, Tensor bias = None, tuple of ints stride = 1, "
         "tuple of ints padding = 0, tuple of ints dilation = 1, int groups = 1",
         "Tensor input, Tensor weight, Tensor bias = None, tuple of ints stride = 1, "
         "str padding = \"valid\", tuple of ints dilation = 1, int groups = 1")
_MM = ("Tensor input, Tensor mat2, *, Tensor out = None",
       "Tensor input, Tensor mat2, torch.dtype out_dtype, *, Tensor out = None")
_OUT = ", *, Tensor out = None"
_FACTORY = (", torch.dtype dtype = None, torch.layout layout = None, torch.device device = None, "
            "bool pin_memory = False, bool requires_grad = False")


def _random(args, like=False):
    """A random factory's two overloads: with a generator (required there), and without
    (``like``: a ``*_like`` one, with a memory format for an out)."""
    rest = "torch.memory_format memory_format = None" if like else "Tensor out = None"
    return tuple(f"{args}, *, {g}{rest}{_FACTORY}" for g in ("torch.Generator generator, ", ""))


OVERLOADS = {
    "sum": ((_REDUCE[0].format(""), _REDUCE[1]), None),
    "mean": ((_REDUCE[0].format(", Tensor out = None"), _REDUCE[1]), None),
    "max": (_MAX, None), "min": (_MAX, None), "std": (_STD, None), "var": (_STD, None),
    "pow": (("Tensor input, Tensor exponent" + _OUT, "Number self, Tensor exponent" + _OUT,
             "Tensor input, Number exponent" + _OUT), None),
    "view": (None, ("torch.dtype dtype", "tuple of ints size")),
    "isin": (tuple(f"{a}, *, bool assume_unique = False, bool invert = False, Tensor out = None"
                   for a in ("Tensor elements, Tensor test_elements",
                             "Number element, Tensor test_elements",
                             "Tensor elements, Number test_element")), None),
    "conv1d": (_CONV, None), "conv2d": (_CONV, None), "bmm": (_MM, None), "mm": (_MM, None),
    **dict.fromkeys(("rand", "randn"), (_random("tuple of ints size"), None)),
    "randperm": (_random("int n"), None),
    "randint": (_random("int high, tuple of ints size") + _random(
        "int low, int high, tuple of ints size"), None),
    "arange": (("Number end, *, Tensor out = None" + _FACTORY,
                "Number start, Number end, *" + _FACTORY,
                "Number start, Number end, Number step = 1, *, Tensor out = None" + _FACTORY),
               None),
    **{name: (tuple(f"{a} start, {b} end, int steps{base}, *, Tensor out = None{_FACTORY}"
                    for a, b in (("Tensor", "Tensor"), ("Number", "Tensor"),
                                 ("Tensor", "Number"), ("Number", "Number"))), None)
       for name, base in (("linspace", ""), ("logspace", ", float base = 10.0"))},
    "eye": (tuple(f"{a}, *, Tensor out = None{_FACTORY}" for a in ("int n", "int n, int m")),
            None),
    **dict.fromkeys(("rand_like", "randn_like"), (_random("Tensor input", True), None)),
    "randint_like": (_random("Tensor input, int low, int high", True)
                     + _random("Tensor input, Tensor high", True)
                     + _random("Tensor input, int high", True), None),
    "normal": ((*(f"{a}, *, torch.Generator generator = None, Tensor out = None" for a in (
        "Tensor mean, Tensor std", "Tensor mean, float std = 1", "float mean, Tensor std")),
        f"float mean, float std, tuple of ints size, *, torch.Generator generator = None, "
        f"Tensor out = None{_FACTORY}"), None),
    "searchsorted": (tuple(f"Tensor sorted_sequence, {a}, *, bool out_int32 = False, "
                           "bool right = False, str side = None, Tensor sorter = None, "
                           "Tensor out = None" for a in ("Tensor input", "Number self")), None),
    **dict.fromkeys((f"{p}_polynomial_{k}" for p, ks in (
        ("chebyshev", "tuvw"), ("shifted_chebyshev", "tuvw"), ("hermite", ("h", "he")),
        ("laguerre", "l"), ("legendre", "p")) for k in ks),
        (("Tensor x, Tensor n" + _OUT, "Number x, Tensor n" + _OUT, "Tensor x, Number n" + _OUT),
         None)),
    **{name: (tuple(o.format("min", "max") + out for o in _CLAMP), None)
       for name, out in (("clamp", _OUT), ("clip", _OUT), ("clamp_", ""), ("clip_", ""))},
    **{f"clamp_{b}{u}": ((f"Tensor input, Tensor {b}{out}", f"Tensor input, Number {b}{out}"),
                         None)
       for b in ("min", "max") for u, out in (("", _OUT), ("_", ""))},
}


def _method_overloads(options):
    """The method's overloads from the function's: without the receiver (``input``), and
    without ``out=`` (the method has none)."""
    out = []
    for o in options:
        params = [p for p in o.split(", ") if not p.startswith(("Tensor input", "Number self"))
                  and not p.endswith(" out = None")]
        if params and params[-1] == "*":
            params.pop()
        out.append(", ".join(params))
    return tuple(dict.fromkeys(out))


def _parse(option):
    """``[(type, name, has_default, keyword_only)]`` of one printed overload."""
    params, kw = [], False
    for p in option.split(", ") if option else ():
        if p == "*":
            kw = True
            continue
        decl, _, default = p.partition(" = ")
        typ, _, name = decl.rpartition(" ")
        params.append((typ, name, bool(default), kw, default))
    return params


def _matches(value, typ, default):
    if value is None:
        return default == "None"
    if typ == "Tensor":
        return isinstance(value, Tensor)
    if typ == "Number":
        return isinstance(value, (int, float, complex)) or (isinstance(value, Tensor)
                                                            and value.ndim == 0)
    if typ == "tuple of ints":
        items = value if isinstance(value, (list, tuple)) else (value,)
        return all(isinstance(v, int) and not isinstance(v, bool) for v in items)
    if typ in ("int", "bool"):
        return isinstance(value, bool) if typ == "bool" else \
            isinstance(value, int) and not isinstance(value, bool)
    if typ == "str":
        return isinstance(value, str)
    if typ == "torch.dtype":
        return type(value).__name__ == "dtype"
    if typ == "tuple of Tensors":
        return isinstance(value, (list, tuple)) and all(isinstance(v, Tensor) for v in value)
    return True


def _describe(value, full=False):
    """A value's type as PyTorch prints it (``full``: a list with its elements' types)."""
    if isinstance(value, Tensor):
        return "Tensor"
    if full and isinstance(value, list) and value:
        return f"list of [{', '.join(_kind_name(v) for v in value)}]"
    return _kind_name(value)


def _got(args, kwargs, mark=None):
    """``(Tensor, str)``: the arguments' types, ``mark`` saying which to put between ``!``."""
    parts = []
    for i, v in enumerate(args):
        d = _describe(v, mark is not None)
        parts.append(f"!{d}!" if mark and mark[i] else d)
    if not kwargs:
        return f"({', '.join(parts)})"
    for k, v in kwargs.items():
        d = f"{k}={_describe(v, mark is not None)}"
        parts.append(f"!{d}!" if mark and mark[k] else d)
    return f"({', '.join(parts)}{', )' if not args else ')'}"


def _overload_error(tname, options, args, kwargs, shown=None):
    """PyTorch's message when no overload in ``options`` takes ``args``/``kwargs``, or None
    when one does (``shown``: the positional arguments as given, where ints given one by one
    were read as one size)."""
    parsed = [_parse(o) for o in options]
    fits = []
    for params in parsed:
        pos = [p for p in params if not p[3]]
        names = {p[1]: p for p in params}
        ok = len(args) <= len(pos) and all(k in names for k in kwargs)
        ok = ok and all(_matches(v, pos[i][0], pos[i][4]) for i, v in enumerate(args))
        ok = ok and all(_matches(v, names[k][0], names[k][4]) for k, v in kwargs.items())
        ok = ok and all(p[2] or p[1] in kwargs or (not p[3] and i < len(args))
                        for i, p in enumerate(params))  # (every required one given)
        if ok:
            return None
        fits.append(params)
    n = len(args) + len(kwargs)
    plausible = [ps for ps in parsed
                 if sum(not p[2] for p in ps) <= n <= len(ps)]
    if len(plausible) == 1:  # PyTorch reports that overload's first wrong argument
        params = plausible[0]
        for i, v in enumerate(args):
            if i < len(params) and not _matches(v, params[i][0], params[i][4]):
                return (f"{tname}(): argument '{params[i][1]}' (position {i + 1}) must be "
                        f"{params[i][0]}, not {_describe(v)}")
        for k, v in kwargs.items():
            p = next((p for p in params if p[1] == k), None)
            if p is not None and not _matches(v, p[0], p[4]):
                return f"{tname}(): argument '{k}' must be {p[0]}, not {_describe(v)}"
    lines = [f"{tname}() received an invalid combination of arguments - got "
             f"{_got(args if shown is None else shown, kwargs)}, but expected one of:"]
    for option, params in zip(options, parsed):
        lines.append(f" * ({option})")
        # (PyTorch counts every item printed, the ``*`` included, against the arguments given)
        if len(option.split(", ") if option else ()) != n:
            continue
        unknown = [k for k in kwargs if k not in {p[1] for p in params}]
        if unknown:
            lines.append(f"      didn't match because some of the keywords were incorrect: "
                         f"{', '.join(unknown)}")
            continue
        pos = [p for p in params if not p[3]]
        mark = {i: i >= len(pos) or not _matches(v, pos[i][0], pos[i][4])
                for i, v in enumerate(args)}
        by_name = {p[1]: p for p in params}
        mark.update({k: not _matches(v, by_name[k][0], by_name[k][4])
                     for k, v in kwargs.items()})
        lines.append("      didn't match because some of the arguments have invalid types: "
                     f"{_got(args, kwargs, mark)}")
    return "\n".join(lines) + "\n"


def _passed(params, values, defaults):
    """The positional arguments a call passed: ``values`` without its trailing defaults."""
    args = list(values[:len(params)])
    while args and len(args) > len(params) - len(defaults) and \
            args[-1] is defaults[len(args) - 1 - (len(params) - len(defaults))]:
        args.pop()
    return args


def checks_own_arguments(fn):
    """Mark ``fn`` as raising PyTorch's errors for wrong-typed arguments itself."""
    fn._checks_own_arguments = True
    return fn


def _kind_name(v) -> str:
    """A value's type as PyTorch's messages name it: the C type's full name
    (``numpy.ndarray``, ``numpy.float64``), a Python class's own name."""
    kind = type(v)
    if kind.__flags__ & _HEAPTYPE or kind.__module__ == "builtins":
        return kind.__name__
    return f"{kind.__module__}.{kind.__name__}"


_HEAPTYPE = 1 << 9  # (Py_TPFLAGS_HEAPTYPE: a class defined in Python)
type_name = _kind_name  # (for ops that raise PyTorch's TypeError themselves)


def _size_error(tname, param, pos, value):
    """PyTorch's message for a size argument that is not a tuple of ints, or None."""
    where = f"argument '{param}' (position {pos})"
    if isinstance(value, tuple) and len(value) == 1 and not isinstance(value[0], int):
        value = value[0]  # ``zeros((2, 3))`` as ``*size``
    if isinstance(value, Tensor) or not isinstance(value, (tuple, list)):
        if isinstance(value, int):
            return None
        return f"{tname}(): {where} must be tuple of ints, not {_kind_name(value)}"
    for i, s in enumerate(value):
        if not isinstance(s, int) and not (isinstance(s, Tensor) and s.ndim == 0):
            if i == 0:
                return (f"{tname}(): {where} must be tuple of ints, but found element of type "
                        f"{_kind_name(s)} at pos 0")
            return (f"{tname}(): argument '{param}' failed to unpack the object at pos {i + 1} "
                    f"with error \"type must be tuple of ints,but got {_kind_name(s)}\"")
    return None


def _argument_error(tname, params, optional, method, values, numbers_ok=False):
    """PyTorch's TypeError message for the first wrong-typed argument in ``values``, or None
    (``tname``: the op's name in PyTorch's messages; ``optional``: the parameters whose default
    is None; ``numbers_ok``: a Python number passes for a Tensor anywhere — after the op's own
    RuntimeError, which it raised having read the number as a scalar overload would)."""
    for i, (param, value) in enumerate(zip(params, values)):
        if value is None and param in optional:
            continue
        kind = ARG_KINDS.get(param.lstrip("*"))
        if kind is None or (method and i == 0):
            continue
        pos = i if method else i + 1
        pname = _TORCH_PARAM.get((tname, param.lstrip("*")), param.lstrip("*"))
        where = f"{tname}(): argument '{pname}' (position {pos})"
        if kind == "Tensor":
            if isinstance(value, Tensor) or param.startswith("*"):
                continue
            if isinstance(value, (int, float, complex)) and (numbers_ok or i > 0 and (
                    param in _NUMBER_OK or f"{tname}.{param}" in _NUMBER_OK)):
                continue
            return f"{where} must be Tensor, not {_kind_name(value)}"
        if kind == "tuple of Tensors":
            if param.startswith("*") and len(value) == 1 and isinstance(value[0], (list, tuple)):
                value = value[0]
            if not isinstance(value, (list, tuple)):
                return f"{where} must be tuple of Tensors, not {_kind_name(value)}"
            for j, t in enumerate(value):
                if not isinstance(t, Tensor):
                    return (f"expected Tensor as element {j} in argument {pos - 1}, but got "
                            f"{_kind_name(t)}")
        elif kind == "tuple of ints":
            message = _size_error(tname, pname, pos, value)
            if message is not None:
                return message
        elif kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            return f"{where} must be int, not {_kind_name(value)}"
        elif kind == "bool" and value is not None and not isinstance(value, bool):
            # (keyword-only in PyTorch: its message gives no position)
            return f"{tname}(): argument '{pname}' must be bool, not {_kind_name(value)}"
    return None


def _used_as_tensor(error, tname, params, method, values):
    """For a parameter ``ARG_KINDS`` does not name: the op read a tensor attribute of a
    non-tensor argument (``'list' object has no attribute '_data'``), so that argument had to
    be a Tensor; PyTorch's message for it, or None."""
    if type(error) is not AttributeError:
        return None
    found = re.match(r"'([\w.]+)' object has no attribute '_", str(error))
    if found is None:
        return None
    for i, (param, value) in enumerate(zip(params, values)):
        if (method and i == 0) or param.startswith("*") or _kind_name(value) != found[1]:
            continue
        return (f"{tname}(): argument '{param}' (position "
                f"{i if method else i + 1}) must be Tensor, not {found[1]}")
    return None


def _fail(error, tname, params, optional, method, values, attribute, overloads=None):
    """The error path: raise PyTorch's TypeError when an argument has the wrong type
    (``overloads``: ``(options, positional args, keyword args)`` of an op in ``OVERLOADS``)."""
    if overloads is not None:
        message = _overload_error(tname, *overloads)
        if message is None:
            raise error
        raise TypeError(message) from None
    # (a RuntimeError raised before the op read its arguments, as an in-place op's leaf check,
    # says nothing about how the op would read a number)
    message = _argument_error(tname, params, optional, method, values,
                              isinstance(error, RuntimeError)
                              and not getattr(error, "before_arguments", False))
    if message is None:
        message = _used_as_tensor(error, tname, params, method, values)
    if message is None:
        raise error
    if attribute is not None and "must be Tensor, not" not in message:
        raise error  # (a Python function of PyTorch's: no argument parser reads its sizes)
    if attribute is not None:
        bad = message.rsplit(" ", 1)[-1]
        value = next(v for v in values if _kind_name(v) == bad)
        if hasattr(value, attribute):  # (``split("a", 1)``: PyTorch calls ``"a".split(1, 0)``)
            try:
                getattr(value, attribute)(*[v for v in values if v is not value])
            except Exception as e:  # noqa: BLE001 - Python's own error is PyTorch's
                raise e from None
            raise error
        raise AttributeError(f"'{bad}' object has no attribute '{attribute}'") from None
    raise TypeError(message) from None


class _Missing:
    """The default of a wrapper's required parameters after the first (NOTE [missing
    arguments]): any use of it inside an op raises, which leads to the error path."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("missing argument")

    __array__ = __bool__ = __index__ = __int__ = __float__ = __len__ = __iter__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = __getitem__ = _refuse

    def __repr__(self):
        return "<required>"


_MISSING = _Missing()


# ==== out= and NumPy's keyword names ========================================================
# NOTE [out and aliases]: the wrapper of an op PyTorch gives ``out=`` (``OUT_OPS``) takes an
# ``out=None`` keyword, and the wrapper of an op whose PyTorch argument parser takes NumPy's
# names (``axis`` for ``dim``, ``keepdims`` for ``keepdim``) takes those too, with a sentinel
# default. One test (``if out is not None or axis is not _NO``) leads to ``_extra`` only when
# one is given: the common call pays a comparison, nothing else. What ``out`` then takes (PyTorch's
# checks, dtype rules and messages per op) is ``_out.write_outs``.

# PyTorch's public ops (torch.<name>) with an ``out=`` overload (from its _VariableFunctions)
OUT_OPS = frozenset("""
abs absolute acos acosh add addbmm addcdiv addcmul addmm addmv addr all amax amin aminmax angle
any arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin argsort asin asinh atan
atan2 atanh baddbmm bitwise_and bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift
bitwise_xor bmm bucketize cat ceil cholesky cholesky_inverse cholesky_solve clamp clamp_max
clamp_min clip column_stack concat concatenate copysign cos cosh cross cummax cummin cumprod
cumsum deg2rad diag diff digamma div divide dot dstack eq erf erfc erfinv exp exp2 expm1 fix
float_power floor floor_divide fmax fmin fmod frac frexp gather gcd ge geqrf ger greater
greater_equal gt hardshrink heaviside histc hstack hypot i0 igamma igammac index_add index_copy
index_reduce index_select inner inverse isin isneginf isposinf kron kthvalue lcm ldexp le lerp
less less_equal lgamma log log10 log1p log2 log_softmax logaddexp logaddexp2 logcumsumexp
logical_and logical_not logical_or logical_xor logit logsumexp lt lu_solve lu_unpack
masked_select matmul matrix_power max maximum mean median min minimum mm mode msort mul
multiply mv mvlgamma nan_to_num nanmean nanmedian nanquantile nansum narrow_copy ne neg negative
nextafter nonzero not_equal nuclear_norm orgqr ormqr outer polygamma pow prod qr quantile
rad2deg reciprocal remainder renorm round row_stack rsqrt scatter scatter_add scatter_reduce
searchsorted sgn sigmoid sign signbit sin sinc sinh slice_scatter slogdet softmax sort sqrt
square stack std sub subtract sum svd take take_along_dim tan tanh threshold topk
triangular_solve tril triu true_divide trunc var vdot vstack where xlogy
""".split())
# Ops written in Python in PyTorch (no argument parser: no NumPy names), by space
_NO_ALIASES = {"torch": {"norm", "split", "unique", "unique_consecutive"},
               "Tensor": {"norm", "split", "unflatten", "unique", "unique_consecutive"}}
_ALIAS_SPACES = ("torch", "Tensor", "linalg", "special")
_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))
_F_ALIASES = ("cosine_similarity", "pairwise_distance")  # (nn.functional's C++ ones)


class _No:
    def __repr__(self):
        return "<not given>"


_NO = _No()


def _extras(name, space, method, params, kwonly, star, starstar):
    """The keywords the wrapper of ``name`` adds to the op's own (NOTE [out and aliases])."""
    names = set(params) | set(kwonly)
    extra = []
    if space == "torch" and not method and name in OUT_OPS and "out" not in names \
            and not starstar:
        extra.append("out")
    if (space in _ALIAS_SPACES and name not in _NO_ALIASES.get(space, ())) or \
            (space == "F" and name in _F_ALIASES):
        extra += [alias for alias, canon in _ALIASES if canon in names and alias not in names]
    return tuple(extra)


def _extra_path(name, tname, params, defaults, kwdefaults):
    """The slow path of a wrapper with extras: NumPy's names renamed, then ``out=`` written.
    ``holder[0]`` is set to the wrapper itself (it checks the renamed call's arguments)."""
    holder = []
    first_default = len(params) - len(defaults or ())

    def extra(args, kwargs, out, axis, keepdims):
        op = holder[0]
        if axis is not _NO or keepdims is not _NO:
            args = list(args)
            for (alias, canon), value in zip(_ALIASES, (axis, keepdims)):
                if value is _NO:
                    continue
                if canon in params:
                    i = params.index(canon)
                    if i < len(args) and (i < first_default
                                          or args[i] is not defaults[i - first_default]):
                        raise TypeError(f"{tname}() got an unexpected keyword argument "
                                        f"'{alias}'")
                    args[i] = value
                else:
                    if kwargs.get(canon) is not kwdefaults.get(canon):
                        raise TypeError(f"{tname}() got an unexpected keyword argument "
                                        f"'{alias}'")
                    kwargs[canon] = value
        if out is None:
            return op(*args, **kwargs)
        from ._out import write_outs  # (PyTorch's out= checks and write, per op)

        return write_outs(name, tname, op, args, kwargs, out)
    return extra, holder


def _factory(params, star, kwonly, starstar, required=0, extra=(), guard=True):
    """A compiled ``make(fn, fail, extra_path)`` returning wrappers with this parameter list
    (``required``: how many parameters after the first take ``_MISSING`` as default;
    ``extra``: the keywords added by NOTE [out and aliases]; ``guard``: whether errors go to
    ``fail``, False for an op that raises PyTorch's errors itself)."""
    key = (params, star, kwonly, starstar, required, extra, guard)
    make = _FACTORIES.get(key)
    if make is not None:
        return make
    sig, call = list(params), list(params)
    if required:  # (the defaults after those: placeholders, set by the caller)
        sig[1:] = [f"{p}=_MISSING" for p in sig[1:]]
    if star:
        sig.append(star)
        call.append(star)
    elif kwonly or extra:
        sig.append("*")
    sig += kwonly
    call += [f"{k}={k}" for k in kwonly]
    sig += [f"{k}=None" if k == "out" else f"{k}=_NO" for k in extra]
    if starstar:
        sig.append(starstar)
        call.append(starstar)
    values = ", ".join(p.lstrip("*") for p in (*params, *((star,) if star else ()), *kwonly,
                                                *((starstar,) if starstar else ())))
    body = ""
    if extra:
        test = " or ".join(f"{k} is not None" if k == "out" else f"{k} is not _NO"
                           for k in extra)
        positional = ", ".join([*params, *((star,) if star else ())])
        named = ", ".join([*(f"{k!r}: {k}" for k in kwonly), *((starstar,) if starstar else ())])
        given = ", ".join(k if k in extra else "_NO" for k in ("out", "axis", "keepdims"))
        given = given.replace("_NO", "None", 1) if "out" not in extra else given
        body = (f"        if {test}:\n"
                f"            return _extra(({positional}{',' if positional else ''}), "
                f"{{{named}}}, {given})\n")
    if guard:
        body += (f"        try:\n"
                 f"            return _fn({', '.join(call)})\n"
                 f"        except _INTERNAL as e:\n"
                 f"            _fail(e, ({values},))\n")
    else:
        body += f"        return _fn({', '.join(call)})\n"
    src = (f"def make(_fn, _fail, _extra=None):\n"
           f"    def op({', '.join(sig)}):\n{body}"
           f"    return op\n")
    ns = {"_INTERNAL": INTERNAL, "_MISSING": _MISSING, "_NO": _NO}
    exec(compile(src, f"<ember checked wrapper {key}>", "exec"), ns)  # noqa: S102
    make = _FACTORIES[key] = ns["make"]
    return make


def _binder(params, star, kwonly, starstar, defaults, kwdefaults):
    """A function with this parameter list returning its arguments as one tuple (in the
    order ``_fail`` reads them): binds the arguments of a call made through ``*args``."""
    sig = list(params) + ([star] if star else ["*"] if kwonly else []) + list(kwonly) + \
        ([starstar] if starstar else [])
    names = [p.lstrip("*") for p in (*params, *((star,) if star else ()), *kwonly,
                                     *((starstar,) if starstar else ()))]
    ns = {}
    exec(f"def bind({', '.join(sig)}):\n    return ({', '.join(names)},)\n", ns)  # noqa: S102
    bind = ns["bind"]
    bind.__defaults__, bind.__kwdefaults__ = defaults, kwdefaults or None
    return bind


def _parameters(fn):
    """``(params, star, kwonly, starstar)`` of ``fn`` (``star``/``starstar`` with their stars,
    or None). A pass-through decorator's ``(*args, out=None, **kwargs)`` is read through its
    ``__wrapped__``: the op's own parameters plus the decorator's keyword-only ones."""
    code = fn.__code__
    n, nk, flags = code.co_argcount, code.co_kwonlyargcount, code.co_flags
    names = code.co_varnames
    params, kwonly = names[:n], names[n:n + nk]
    star = "*" + names[n + nk] if flags & 0x04 else None
    starstar = "**" + names[n + nk + bool(star)] if flags & 0x08 else None
    inner = getattr(fn, "__wrapped__", None)
    if star and starstar and not params and type(inner) is FunctionType:
        p, s, k, ss = _parameters(inner)
        if not set(kwonly) & set(p):  # (the op itself may declare ``out=`` for its signature)
            return p, s, k + tuple(x for x in kwonly if x not in k), ss
    return params, star, kwonly, starstar


def _defaults(fn):
    """``fn``'s positional defaults and keyword defaults, through pass-through decorators."""
    defaults, kwdefaults = fn.__defaults__, dict(fn.__kwdefaults__ or {})
    inner = getattr(fn, "__wrapped__", None)
    if _parameters(fn)[0] != fn.__code__.co_varnames[:fn.__code__.co_argcount]:
        defaults, kw = _defaults(inner)
        kwdefaults = {**kw, **kwdefaults}
    return defaults, kwdefaults


def checked(fn, name=None, method=False, space="torch"):
    """``fn`` published under ``name`` in ``space`` ("torch", "Tensor", "F", "linalg" or
    "special"; see the module docstring)."""
    name = name or fn.__name__
    own = getattr(fn, "_checks_own_arguments", False) and name not in PYTHON_LEVEL.get(space, ())
    fn = getattr(fn, "_op", fn)  # published twice (``Tensor.abs_`` as ``torch.abs_``)
    if type(fn) is not FunctionType \
            or fn.__code__.co_posonlyargcount or name.startswith("__"):
        return fn  # (Python operators raise Python's errors: ``x[1.5]``, ``x + "a"``)
    params, star, kwonly, starstar = _parameters(fn)
    extra = _extras(name, space, method, params, kwonly, star, starstar)
    if own:
        return _unguarded(fn, name, space, extra) if extra else fn
    if method and len(params) <= 1 and not (star or kwonly or starstar):
        return fn  # only ``self``: nothing can have the wrong type
    defaults, kwdefaults = _defaults(fn)
    # the parameters after the first without a default (NOTE [missing arguments])
    required = len(params) - len(defaults or ()) - 1 if params else 0
    bind = None
    inner = getattr(fn, "__wrapped__", None)
    if star and starstar and type(inner) is FunctionType:
        # a method forwarding ``(self, *args, **kwargs)`` to its op (``Tensor.addcmul_``), or a
        # decorator not read through (its op declares ``out`` itself: ``lu``): the op's
        # parameters name the arguments in messages
        mine = (params, star, kwonly, starstar, defaults, kwdefaults)
        params, star, kwonly, starstar = _parameters(inner)
        defaults, kwdefaults = _defaults(inner)
        bind = _binder(params, star, kwonly, starstar, defaults, kwdefaults)
    optional = {p for p, d in zip(params[len(params) - len(defaults or ()):], defaults or ())
                if d is None}
    optional.update(k for k, d in kwdefaults.items() if d is None)
    all_params = (*params, *((star,) if star else ()), *kwonly, *((starstar,) if starstar else ()))

    attribute = PYTHON_LEVEL.get(space, {}).get(name)
    tname = _PREFIX[space] + name if space in _PREFIX else TORCH_NAME.get(name, name)

    options = OVERLOADS.get(name, (None, None))
    if method:
        options = options[1] or (options[0] and _method_overloads(options[0]))
    else:
        options = options[0]
    if bind is not None and options:  # (the overloads read the call as it was made)
        params, star, kwonly, starstar, defaults, kwdefaults = mine
        bind = None

    def fail(error, values):
        if bind is not None:  # (the call as made: ``mine``'s parameters)
            n = len(mine[0])
            kw = {k: v for k, v in zip(mine[2], values[n + 1:]) if v is not mine[5].get(k)}
            try:
                values = bind(*values[:n], *values[n], **kw, **values[-1])
            except TypeError:
                raise error from None
        if any(v is _MISSING for v in values[1:1 + required]):
            _fail_missing(error, fn, values)
        overloads = None
        if options:
            args = _passed(params, values, defaults or ())
            kwargs = {}
            shown = None
            if star:  # (``view(5, -1)``: PyTorch reads ints given one by one as one size)
                rest = values[len(params)]
                ints = len(rest) > 1 and all(type(v) is int for v in rest) and \
                    any("tuple of ints" in o for o in options)  # (not clamp_(0, 1))
                shown = [*args, *rest]
                args += [rest] if ints else rest
            for j, k in enumerate(kwonly, len(params) + bool(star)):
                if values[j] is not kwdefaults.get(k):
                    kwargs[k] = values[j]
            if starstar:
                kwargs.update(values[-1])
            overloads = (options, args[1:] if method else args, kwargs,
                         shown and (shown[1:] if method else shown))
        _fail(error, tname, all_params, optional, method, values, attribute, overloads)

    def _fail_missing(error, fn, values):
        """A call without a required argument: PyTorch's error for the arguments given (a
        wrong-typed one, or no overload taking them), else Python's own."""
        first = next(i for i, v in enumerate(values) if v is _MISSING)
        args = list(values[:first])
        dflt = {**dict(zip(params[len(params) - len(defaults or ()):], defaults or ())),
                **kwdefaults}
        given = {p: v for p, v in zip(all_params[first:], values[first:])
                 if v is not _MISSING and not p.startswith("*")
                 and v is not dflt.get(p, _MISSING)}
        kw = {**given, **(values[-1] if starstar else {})}
        if space == "F" and not options or attribute is not None:
            message = None  # (PyTorch's is a Python function: Python's arity error)
        elif options:
            message = _overload_error(tname, options, args[1:] if method else args, kw)
        else:
            present = [(p, v) for p, v in zip(all_params, values) if v is not _MISSING]
            message = _argument_error(tname, [p for p, _ in present], optional, method,
                                      [v for _, v in present])
        if message is None:
            try:
                fn(*args, **kw)  # raises Python's error for the missing argument
            except TypeError as e:
                raise e from None
            raise error
        raise TypeError(message) from None

    # the wrapper has the parameter list the checks read (``mine``'s for a forwarding method)
    own_sig = mine[:4] if bind is not None else (params, star, kwonly, starstar)
    if bind is not None:
        extra = ()  # (a forwarding method: its op's keywords go through ``**kwargs``)
    op_defaults = (mine[4] if bind is not None else
                   (_MISSING,) * max(required, 0) + tuple(defaults or ())) or None
    op_kwdefaults = mine[5] if bind is not None else kwdefaults
    extra_path = holder = None
    if extra:
        extra_path, holder = _extra_path(name, tname, own_sig[0], op_defaults, op_kwdefaults)
    op = _factory(*own_sig, 0 if bind is not None else max(required, 0), extra)(
        fn, fail, extra_path)
    if holder is not None:
        holder.append(op)
    op.__dict__.update(fn.__dict__)
    op.__defaults__ = op_defaults
    op.__kwdefaults__ = {**op_kwdefaults, **_extra_defaults(extra)} or None
    op.__name__ = fn.__name__
    op.__qualname__ = fn.__qualname__
    op.__doc__ = fn.__doc__
    op.__module__ = fn.__module__
    op.__wrapped__ = op._op = fn  # (_op: what docs/ops_table.py groups names by)
    return op


def _extra_defaults(extra):
    return {k: None if k == "out" else _NO for k in extra}


def _unguarded(fn, name, space, extra):
    """An op that raises PyTorch's errors itself, given the keywords ``extra`` (NOTE [out and
    aliases]) by a wrapper with no error path."""
    params, star, kwonly, starstar = _parameters(fn)
    defaults, kwdefaults = _defaults(fn)
    tname = _PREFIX[space] + name if space in _PREFIX else TORCH_NAME.get(name, name)
    extra_path, holder = _extra_path(name, tname, params, defaults, kwdefaults)
    op = _factory(params, star, kwonly, starstar, 0, extra, guard=False)(fn, None, extra_path)
    holder.append(op)
    op.__dict__.update(fn.__dict__)
    op.__defaults__ = defaults
    op.__kwdefaults__ = {**kwdefaults, **_extra_defaults(extra)}
    op.__name__, op.__qualname__, op.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    op.__module__ = fn.__module__
    op.__wrapped__ = op._op = fn
    return op


def publish(namespace: dict, names, space="torch") -> None:
    """Replace each function ``namespace[name]`` by its checked version (a module's public
    ops: ``nn.functional``, ``linalg``, ``special``)."""
    for name in names:
        namespace[name] = checked(namespace[name], name, space=space)
