"""The ONNX translation of each op ("symbolic functions", as PyTorch calls them).

Contract:
- ``CONVERTERS``: op record name (ember/_records.py: ``"add"``, ``"F.relu"``, ``"conv2d"``,
  ``"__getitem__"``...) -> ``fn(g, c)``, where ``g`` is the ``Graph`` (_graph.py) and ``c`` the
  ``Call``: ``c.a`` the call's arguments bound to the op's parameter names (defaults filled in),
  ``c.out`` what the op returned when it ran (its shapes and dtypes are what the translation
  reads where a shape or dtype is needed). The function emits nodes and binds ``c.out``'s
  tensors to their values (``g.bind``). An in-place variant (``add_``, ``F.relu_``) uses its
  op's translation: its result is the tensor it modified, which is rebound.
- ``convert(g, c)``: finds the translation; an op without one raises PyTorch's
  UnsupportedOperatorError naming its ``aten::`` op and the opset.
- Python numbers take the dtype of the op's result (PyTorch's weak scalars), so ``x * 2.0``
  multiplies by a float32 constant when ``x`` is float32; tensors of another dtype are cast.
- Shapes the model reads in Python are constants in the graph, as in PyTorch's tracer; where
  a static shape would pin a dynamic axis the translation keeps it symbolic when it can (a
  reshape copies each dimension equal to its input's at the same place, ``Flatten`` and
  ``Expand`` broadcast, ``view_as`` reads the other tensor's ``Shape``).
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from ._graph import np_dtype
from .errors import UnsupportedOperatorError

CONVERTERS: dict = {}


class Call:
    """One op call being translated."""

    __slots__ = ("name", "aten", "a", "out")

    def __init__(self, name, aten, a, out):
        self.name = name  # the record's name
        self.aten = aten  # PyTorch's aten name, for errors
        self.a = a  # {parameter: argument}
        self.out = out


def unsupported(g, c, what=None):
    return UnsupportedOperatorError(f"aten::{what or c.aten}", g.opset, None)


def converter(*names):
    def deco(fn):
        for n in names:
            CONVERTERS[n] = fn
        return fn
    return deco


def convert(g, c) -> None:
    fn = CONVERTERS.get(c.name)
    if fn is None and c.name.endswith("_") and not c.name.endswith("__"):
        fn = CONVERTERS.get(c.name[:-1])  # in-place variant: the op's translation, rebound
    if fn is None:
        raise unsupported(g, c)
    fn(g, c)


# ---- helpers ----


def _ints(v, n=None):
    """An int or a sequence of ints as a list (``n`` copies of a lone int)."""
    if isinstance(v, (list, tuple)):
        return [int(x) for x in v]
    return [int(v)] * (n or 1)


def _shape_arg(v):
    """``*shape`` varargs: ``(2, 3)`` or ``((2, 3),)``."""
    if len(v) == 1 and isinstance(v[0], (list, tuple)):
        v = v[0]
    return [int(x) for x in v]


def _dim(d, ndim):
    d = int(d)
    return d + ndim if d < 0 else d


def _dims(dim, ndim):
    """A reduction's ``dim`` as a list of non-negative axes (None: all)."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        return [_dim(d, ndim) for d in dim]
    return [_dim(dim, ndim)]


def _bind(g, c, name):
    g.bind(c.out, name)


def _x(g, c, param="input"):
    return g.name_of(c.a[param])


def _dt(t):
    return np_dtype(t)


# ---- elementwise ----

_UNARY = {"neg": "Neg", "abs": "Abs", "sqrt": "Sqrt", "exp": "Exp", "log": "Log",
          "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "F.relu": "Relu",
          "floor": "Floor", "ceil": "Ceil", "sin": "Sin", "cos": "Cos", "tan": "Tan",
          "asin": "Asin", "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh",
          "asinh": "Asinh", "acosh": "Acosh", "atanh": "Atanh", "erf": "Erf",
          "reciprocal": "Reciprocal", "sign": "Sign", "logical_not": "Not", "isnan": "IsNaN",
          "F.softsign": "Softsign", "F.hardswish": "HardSwish", "negative": "Neg"}


def _unary(op_type):
    def fn(g, c):
        x = c.a["input"]
        # a predicate reads its input as it is; the others compute in the result's dtype
        xn = g.name_of(x) if op_type == "IsNaN" else g.operand(x, _dt(c.out))
        _bind(g, c, g.op(op_type, [xn]))
    return fn


for _name, _op in _UNARY.items():
    CONVERTERS[_name] = _unary(_op)


@converter("round")
def _round(g, c):
    if c.a.get("decimals", 0):
        raise unsupported(g, c)
    _bind(g, c, g.op("Round", [_x(g, c)]))


@converter("rsqrt")
def _rsqrt(g, c):
    _bind(g, c, g.op("Reciprocal", [g.op("Sqrt", [g.operand(c.a["input"], _dt(c.out))])]))


@converter("log1p")
def _log1p(g, c):
    dt = _dt(c.out)
    _bind(g, c, g.op("Log", [g.op("Add", [g.operand(c.a["input"], dt), g.scalar(1, dt)])]))


@converter("expm1")
def _expm1(g, c):
    dt = _dt(c.out)
    _bind(g, c, g.op("Sub", [g.op("Exp", [g.operand(c.a["input"], dt)]), g.scalar(1, dt)]))


@converter("log2", "log10")
def _log_base(g, c):
    dt = _dt(c.out)
    base = 2.0 if c.name == "log2" else 10.0
    log = g.op("Log", [g.operand(c.a["input"], dt)])
    _bind(g, c, g.op("Div", [log, g.scalar(math.log(base), dt)]))


@converter("square")
def _square(g, c):
    x = g.operand(c.a["input"], _dt(c.out))
    _bind(g, c, g.op("Mul", [x, x]))


@converter("F.silu")
def _silu(g, c):
    x = _x(g, c)
    _bind(g, c, g.op("Mul", [x, g.op("Sigmoid", [x])]))


@converter("F.gelu")
def _gelu(g, c):
    x, approx = _x(g, c), c.a["approximate"]
    if g.opset >= 20:
        _bind(g, c, g.op("Gelu", [x], approximate=approx))
        return
    dt = _dt(c.out)
    if approx == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", [x, g.op("Mul", [x, x])])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715, dt)])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.scalar(math.sqrt(2 / math.pi), dt)])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = g.op("Erf", [g.op("Div", [x, g.scalar(math.sqrt(2.0), dt)])])
    half = g.op("Mul", [x, g.scalar(0.5, dt)])
    _bind(g, c, g.op("Mul", [half, g.op("Add", [t, g.scalar(1.0, dt)])]))


@converter("F.leaky_relu")
def _leaky_relu(g, c):
    _bind(g, c, g.op("LeakyRelu", [_x(g, c)], alpha=float(c.a["negative_slope"])))


@converter("F.elu")
def _elu(g, c):
    _bind(g, c, g.op("Elu", [_x(g, c)], alpha=float(c.a["alpha"])))


@converter("selu", "F.selu")
def _selu(g, c):
    _bind(g, c, g.op("Selu", [_x(g, c)]))


@converter("celu", "F.celu")
def _celu(g, c):
    _bind(g, c, g.op("Celu", [_x(g, c)], alpha=float(c.a["alpha"])))


@converter("F.softplus")
def _softplus(g, c):
    # PyTorch's own export: Softplus(beta x) / beta; the threshold is not translated (past it
    # softplus(x) equals x in float32 anyway)
    x, beta, dt = _x(g, c), float(c.a["beta"]), _dt(c.out)
    if beta == 1.0:
        _bind(g, c, g.op("Softplus", [x]))
        return
    y = g.op("Softplus", [g.op("Mul", [x, g.scalar(beta, dt)])])
    _bind(g, c, g.op("Div", [y, g.scalar(beta, dt)]))


@converter("F.hardtanh", "F.relu6")
def _hardtanh(g, c):
    lo, hi = (0.0, 6.0) if c.name == "F.relu6" else (c.a["min_val"], c.a["max_val"])
    dt = _dt(c.out)
    _bind(g, c, g.op("Clip", [_x(g, c), g.scalar(lo, dt), g.scalar(hi, dt)]))


@converter("F.hardsigmoid")
def _hardsigmoid(g, c):
    _bind(g, c, g.op("HardSigmoid", [_x(g, c)], alpha=1.0 / 6, beta=0.5))


@converter("F.mish")
def _mish(g, c):
    x = _x(g, c)
    if g.opset >= 18:
        _bind(g, c, g.op("Mish", [x]))
    else:
        _bind(g, c, g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])]))


@converter("F.logsigmoid")
def _logsigmoid(g, c):
    # log(sigmoid(x)) = -softplus(-x), without log(0) for large negative x
    _bind(g, c, g.op("Neg", [g.op("Softplus", [g.op("Neg", [_x(g, c)])])]))


@converter("F.tanhshrink")
def _tanhshrink(g, c):
    x = _x(g, c)
    _bind(g, c, g.op("Sub", [x, g.op("Tanh", [x])]))


@converter("F.softshrink", "hardshrink", "F.hardshrink")
def _shrink(g, c):
    lambd = float(c.a.get("lambd", 0.5))
    bias = lambd if "soft" in c.name else 0.0
    _bind(g, c, g.op("Shrink", [_x(g, c)], lambd=lambd, bias=bias))


@converter("threshold", "F.threshold")
def _threshold(g, c):
    x, dt = c.a["input"], _dt(c.out)
    xn = g.name_of(x)
    keep = g.op("Greater", [xn, g.scalar(c.a["threshold"], dt)])
    _bind(g, c, g.op("Where", [keep, xn, g.scalar(c.a["value"], dt)]))


@converter("F.prelu", "prelu")
def _prelu(g, c):
    x, w = c.a["input"], c.a["weight"]
    slope = g.name_of(w)
    if w.numel() > 1 and x.dim() > 2:  # (C,) against (N, C, ...): PRelu broadcasts from the right
        slope = g.unsqueeze(slope, list(range(1, x.dim() - 1)))
    _bind(g, c, g.op("PRelu", [g.name_of(x), slope]))


@converter("F.glu")
def _glu(g, c):
    x = c.a["input"]
    axis = _dim(c.a["dim"], x.dim())
    half = x.shape[axis] // 2
    a, b = g.split(g.name_of(x), [half, half], axis)
    _bind(g, c, g.op("Mul", [a, g.op("Sigmoid", [b])]))


# ---- binary arithmetic ----

_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "pow": "Pow", "maximum": "Max",
           "minimum": "Min", "fmax": "Max", "fmin": "Min", "logical_and": "And",
           "logical_or": "Or", "logical_xor": "Xor", "multiply": "Mul", "subtract": "Sub"}
_COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
            "ge": "GreaterOrEqual", "ne": "Equal", "greater": "Greater", "less": "Less"}


def _operands(g, c, first="input", second="other", dtype=None):
    a, b = c.a[first], c.a[second]
    if dtype is None:
        dtype = _dt(c.out)
    return g.operand(a, dtype), g.operand(b, dtype)


def _common(a, b):
    """PyTorch's promotion of two operands (a Python number is weak)."""
    import ember

    return np_dtype(ember.empty(0, dtype=ember.result_type(a, b)))


def _binary(op_type):
    def fn(g, c):
        second = "exponent" if c.name == "pow" else "other"
        if op_type in ("And", "Or", "Xor"):
            a, b = _operands(g, c, dtype=np.dtype(bool))
        else:
            a, b = _operands(g, c, second=second)
        alpha = c.a.get("alpha", 1)
        if alpha != 1:
            b = g.op("Mul", [b, g.scalar(alpha, _dt(c.out))])
        _bind(g, c, g.op(op_type, [a, b]))
    return fn


for _name, _op in _BINARY.items():
    CONVERTERS[_name] = _binary(_op)


def _compare(op_type):
    def fn(g, c):
        a, b = _operands(g, c, dtype=_common(c.a["input"], c.a["other"]))
        y = g.op(op_type, [a, b])
        if c.name == "ne":
            y = g.op("Not", [y])
        _bind(g, c, y)
    return fn


for _name, _op in _COMPARE.items():
    CONVERTERS[_name] = _compare(_op)


def _floor_div(g, a, b, dt):
    if np.issubdtype(dt, np.floating):
        return g.op("Floor", [g.op("Div", [a, b])])
    # integers: ONNX's Div truncates; step down where the remainder's sign differs from b's
    q = g.op("Div", [a, b])
    r = g.op("Mod", [a, b], fmod=1)
    zero = g.scalar(0, dt)
    nonzero = g.op("Not", [g.op("Equal", [r, zero])])
    signs = g.op("Xor", [g.op("Less", [r, zero]), g.op("Less", [b, zero])])
    fix = g.cast(g.op("And", [nonzero, signs]), dt)
    return g.op("Sub", [q, fix])


@converter("rsub")
def _rsub(g, c):
    a, b = _operands(g, c)
    alpha = c.a.get("alpha", 1)
    if alpha != 1:
        a = g.op("Mul", [a, g.scalar(alpha, _dt(c.out))])
    _bind(g, c, g.op("Sub", [b, a]))


@converter("__rtruediv__")
def _rtruediv(g, c):
    dt = _dt(c.out)
    a = c.a.get("input", c.a.get("self"))
    _bind(g, c, g.op("Div", [g.operand(c.a["other"], dt), g.operand(a, dt)]))


def _bitwise(op_type):
    def fn(g, c):
        dt = _dt(c.out)
        if dt == np.bool_:
            a, b = _operands(g, c, dtype=dt)
            _bind(g, c, g.op(op_type, [a, b]))
            return
        if g.opset < 18:
            raise UnsupportedOperatorError(f"aten::{c.aten}", g.opset, 18)
        a, b = _operands(g, c, dtype=dt)
        _bind(g, c, g.op("Bitwise" + op_type, [a, b]))
    return fn


CONVERTERS["bitwise_and"] = _bitwise("And")
CONVERTERS["bitwise_or"] = _bitwise("Or")
CONVERTERS["bitwise_xor"] = _bitwise("Xor")


@converter("bitwise_not")
def _bitwise_not(g, c):
    dt = _dt(c.out)
    _bind(g, c, g.op("Not" if dt == np.bool_ else "BitwiseNot", [_x(g, c)]))


@converter("div", "true_divide")
def _div(g, c):
    dt = _dt(c.out)
    a, b = _operands(g, c, dtype=dt)
    mode = c.a.get("rounding_mode")
    if mode is None:
        y = g.op("Div", [a, b])
    elif mode == "floor":
        y = _floor_div(g, a, b, dt)
    elif np.issubdtype(dt, np.floating):  # trunc
        q = g.op("Div", [a, b])
        neg = g.op("Less", [q, g.scalar(0, dt)])
        y = g.op("Where", [neg, g.op("Ceil", [q]), g.op("Floor", [q])])
    else:
        y = g.op("Div", [a, b])
    _bind(g, c, y)


@converter("floor_divide")
def _floor_divide(g, c):
    dt = _dt(c.out)
    a, b = _operands(g, c, dtype=dt)
    _bind(g, c, _floor_div(g, a, b, dt))


@converter("remainder")
def _remainder(g, c):
    dt = _dt(c.out)
    a, b = _operands(g, c, dtype=dt)
    if np.issubdtype(dt, np.floating):
        y = g.op("Sub", [a, g.op("Mul", [g.op("Floor", [g.op("Div", [a, b])]), b])])
    else:
        y = g.op("Mod", [a, b], fmod=0)
    _bind(g, c, y)


@converter("fmod")
def _fmod(g, c):
    a, b = _operands(g, c)
    _bind(g, c, g.op("Mod", [a, b], fmod=1))


@converter("where")
def _where(g, c):
    if c.a.get("input") is None:
        raise unsupported(g, c, "nonzero")
    dt = _dt(c.out)
    cond = g.operand(c.a["condition"], np.dtype(bool))
    _bind(g, c, g.op("Where", [cond, g.operand(c.a["input"], dt), g.operand(c.a["other"], dt)]))


@converter("masked_fill")
def _masked_fill(g, c):
    dt = _dt(c.out)
    mask = g.operand(c.a["mask"], np.dtype(bool))
    _bind(g, c, g.op("Where", [mask, g.operand(c.a["value"], dt), _x(g, c)]))


@converter("clamp", "clamp_min", "clamp_max", "clip")
def _clamp(g, c):
    dt = _dt(c.out)
    lo = c.a.get("min") if c.name != "clamp_max" else None
    hi = c.a.get("max") if c.name != "clamp_min" else None
    x = g.operand(c.a["input"], dt)
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        if lo is not None:
            x = g.op("Max", [x, g.operand(lo, dt)])
        if hi is not None:
            x = g.op("Min", [x, g.operand(hi, dt)])
        _bind(g, c, x)
        return
    inputs = [x, g.scalar(lo, dt) if lo is not None else "",
              g.scalar(hi, dt) if hi is not None else ""]
    while inputs[-1] == "":
        inputs.pop()
    _bind(g, c, g.op("Clip", inputs))


# ---- products ----


@converter("F.linear")
def _linear(g, c):
    x, w, b = c.a["input"], c.a["weight"], c.a["bias"]
    if x.dim() == 2:
        inputs = [g.name_of(x), g.name_of(w)] + ([g.name_of(b)] if b is not None else [])
        _bind(g, c, g.op("Gemm", inputs, alpha=1.0, beta=1.0, transB=1))
        return
    y = g.op("MatMul", [g.name_of(x), g.op("Transpose", [g.name_of(w)], perm=[1, 0])])
    if b is not None:
        y = g.op("Add", [y, g.name_of(b)])
    _bind(g, c, y)


@converter("matmul", "mm", "bmm", "dot", "inner_1d")
def _matmul(g, c):
    second = "mat2" if "mat2" in c.a else ("other" if "other" in c.a else "tensor")
    _bind(g, c, g.op("MatMul", [_x(g, c), g.name_of(c.a[second])]))


@converter("addmm")
def _addmm(g, c):
    a = c.a
    _bind(g, c, g.op("Gemm", [g.name_of(a["mat1"]), g.name_of(a["mat2"]),
                              g.operand(a["input"], _dt(c.out))],
                     alpha=float(a["alpha"]), beta=float(a["beta"])))


@converter("baddbmm")
def _baddbmm(g, c):
    a, dt = c.a, _dt(c.out)
    prod = g.op("MatMul", [g.name_of(a["batch1"]), g.name_of(a["batch2"])])
    if a["alpha"] != 1:
        prod = g.op("Mul", [prod, g.scalar(a["alpha"], dt)])
    base = g.name_of(a["input"])
    if a["beta"] != 1:
        base = g.op("Mul", [base, g.scalar(a["beta"], dt)])
    _bind(g, c, g.op("Add", [base, prod]))


@converter("einsum")
def _einsum(g, c):
    ops = c.a["operands"]
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = ops[0]
    eq = c.a["equation"].replace(" ", "")
    _bind(g, c, g.op("Einsum", [g.name_of(t) for t in ops], equation=eq))


@converter("t")
def _t(g, c):
    x = c.a["input"]
    if x.dim() < 2:
        _bind(g, c, g.name_of(x))
    else:
        _bind(g, c, g.op("Transpose", [g.name_of(x)], perm=[1, 0]))


# ---- convolution and pooling ----


def _batched(g, x, n):
    """(name, unbatched?): an unbatched input (C, *spatial) gets a batch dimension."""
    if x.dim() == n + 1:
        return g.unsqueeze(g.name_of(x), [0]), True
    return g.name_of(x), False


def _unbatch(g, y, unbatched):
    return g.squeeze(y, [0]) if unbatched else y


def _conv(n):
    def fn(g, c):
        a = c.a
        x, w, b = a["input"], a["weight"], a["bias"]
        k = list(w.shape[2:])
        stride, dilation = _ints(a["stride"], n), _ints(a["dilation"], n)
        padding = a["padding"]
        if padding == "valid":
            pads = [0] * (2 * n)
        elif padding == "same":  # PyTorch puts the odd one out at the end
            total = [d * (kk - 1) for d, kk in zip(dilation, k)]
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        else:
            p = _ints(padding, n)
            pads = p + p
        xn, unbatched = _batched(g, x, n)
        inputs = [xn, g.name_of(w)] + ([g.name_of(b)] if b is not None else [])
        y = g.op("Conv", inputs, kernel_shape=k, strides=stride, pads=pads,
                 dilations=dilation, group=int(a["groups"]))
        _bind(g, c, _unbatch(g, y, unbatched))
    return fn


def _conv_transpose(n):
    def fn(g, c):
        a = c.a
        x, w, b = a["input"], a["weight"], a["bias"]
        p = _ints(a["padding"], n)
        xn, unbatched = _batched(g, x, n)
        inputs = [xn, g.name_of(w)] + ([g.name_of(b)] if b is not None else [])
        y = g.op("ConvTranspose", inputs, kernel_shape=list(w.shape[2:]),
                 strides=_ints(a["stride"], n), pads=p + p,
                 output_padding=_ints(a["output_padding"], n),
                 dilations=_ints(a["dilation"], n), group=int(a["groups"]))
        _bind(g, c, _unbatch(g, y, unbatched))
    return fn


for _n in (1, 2, 3):
    CONVERTERS[f"conv{_n}d"] = _conv(_n)
    CONVERTERS[f"conv_transpose{_n}d"] = _conv_transpose(_n)


def _max_pool(n):
    def fn(g, c):
        a = c.a
        if a.get("return_indices"):
            raise unsupported(g, c, f"max_pool{n}d_with_indices")
        k = _ints(a["kernel_size"], n)
        stride = a["stride"]
        stride = k if stride is None or stride == [] or stride == () else _ints(stride, n)
        p = _ints(a["padding"], n)
        xn, unbatched = _batched(g, a["input"], n)
        y = g.op("MaxPool", [xn], kernel_shape=k, strides=stride, pads=p + p,
                 dilations=_ints(a["dilation"], n), ceil_mode=int(bool(a["ceil_mode"])))
        _bind(g, c, _unbatch(g, y, unbatched))
    return fn


def _avg_pool(n):
    def fn(g, c):
        a = c.a
        if a.get("divisor_override") is not None:
            raise unsupported(g, c)
        k = _ints(a["kernel_size"], n)
        stride = a["stride"]
        stride = k if stride is None or stride == [] or stride == () else _ints(stride, n)
        p = _ints(a["padding"], n)
        xn, unbatched = _batched(g, a["input"], n)
        y = g.op("AveragePool", [xn], kernel_shape=k, strides=stride, pads=p + p,
                 ceil_mode=int(bool(a["ceil_mode"])),
                 count_include_pad=int(bool(a["count_include_pad"])))
        _bind(g, c, _unbatch(g, y, unbatched))
    return fn


def _adaptive(n, kind):
    def fn(g, c):
        a = c.a
        if a.get("return_indices"):
            raise unsupported(g, c)
        x = a["input"]
        size = list(x.shape[-n:])
        out = list(c.out.shape[-n:]) if isinstance(c.out, Tensor) else list(c.out[0].shape[-n:])
        xn, unbatched = _batched(g, x, n)
        if all(o == 1 for o in out):
            y = g.op("Global" + kind, [xn])
        elif all(s % o == 0 for s, o in zip(size, out)):
            k = [s // o for s, o in zip(size, out)]
            y = g.op(kind, [xn], kernel_shape=k, strides=k)
        else:  # windows of different sizes: no ONNX pooling op computes them
            raise unsupported(g, c)
        _bind(g, c, _unbatch(g, y, unbatched))
    return fn


for _n in (1, 2, 3):
    CONVERTERS[f"max_pool{_n}d"] = CONVERTERS[f"F.max_pool{_n}d"] = _max_pool(_n)
    CONVERTERS[f"avg_pool{_n}d"] = CONVERTERS[f"F.avg_pool{_n}d"] = _avg_pool(_n)
    for _p in ("", "F."):
        CONVERTERS[f"{_p}adaptive_avg_pool{_n}d"] = _adaptive(_n, "AveragePool")
        CONVERTERS[f"{_p}adaptive_max_pool{_n}d"] = _adaptive(_n, "MaxPool")


# ---- normalization ----


def _ones_or(g, t, n, dt, fill=1.0):
    return g.name_of(t) if t is not None else g.const(np.full(n, fill, dtype=dt))


@converter("F.batch_norm", "batch_norm")
def _batch_norm(g, c):
    a, dt = c.a, _dt(c.out)
    x = a["input"]
    ch = x.shape[1] if x.dim() > 1 else 1
    w = _ones_or(g, a["weight"], ch, dt)
    b = _ones_or(g, a["bias"], ch, dt, 0.0)
    eps = float(a["eps"])
    if not a["training"] and a["running_mean"] is not None:
        y = g.op("BatchNormalization", [g.name_of(x), w, b, g.name_of(a["running_mean"]),
                                        g.name_of(a["running_var"])], epsilon=eps)
        _bind(g, c, y)
        return
    # batch statistics (training, or no running statistics): written out, so that inference
    # runtimes (which refuse BatchNormalization's training_mode) run it; the running
    # statistics' update is not part of the exported graph
    axes = [0] + list(range(2, x.dim()))
    xn = g.name_of(x)
    mean = g.reduce("ReduceMean", xn, axes, True)
    d = g.op("Sub", [xn, mean])
    var = g.reduce("ReduceMean", g.op("Mul", [d, d]), axes, True)
    norm = g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, g.scalar(eps, dt)])])])
    shape = [1, ch] + [1] * (x.dim() - 2)
    w = g.op("Reshape", [w, g.i64(shape)])
    b = g.op("Reshape", [b, g.i64(shape)])
    _bind(g, c, g.op("Add", [g.op("Mul", [norm, w]), b]))


@converter("F.layer_norm", "layer_norm")
def _layer_norm(g, c):
    a, dt = c.a, _dt(c.out)
    shape = _ints(a["normalized_shape"])
    w = _ones_or(g, a["weight"], shape, dt)
    b = a["bias"]
    inputs = [_x(g, c), w] + ([g.name_of(b)] if b is not None else [])
    _bind(g, c, g.op("LayerNormalization", inputs, axis=-len(shape), epsilon=float(a["eps"])))


@converter("F.group_norm")
def _group_norm(g, c):
    a, dt = c.a, _dt(c.out)
    x = a["input"]
    groups, eps = int(a["num_groups"]), float(a["eps"])
    xn = g.name_of(x)
    grouped = g.op("Reshape", [xn, g.i64([0, groups, -1])])
    mean = g.reduce("ReduceMean", grouped, [2], True)
    d = g.op("Sub", [grouped, mean])
    var = g.reduce("ReduceMean", g.op("Mul", [d, d]), [2], True)
    norm = g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, g.scalar(eps, dt)])])])
    y = g.op("Reshape", [norm, g.op("Shape", [xn])])
    shape = [x.shape[1]] + [1] * (x.dim() - 2)
    if a["weight"] is not None:
        y = g.op("Mul", [y, g.op("Reshape", [g.name_of(a["weight"]), g.i64(shape)])])
    if a["bias"] is not None:
        y = g.op("Add", [y, g.op("Reshape", [g.name_of(a["bias"]), g.i64(shape)])])
    _bind(g, c, y)


@converter("F.instance_norm")
def _instance_norm(g, c):
    a, dt = c.a, _dt(c.out)
    x = a["input"]
    if not a["use_input_stats"]:
        raise unsupported(g, c)
    ch = x.shape[1]
    w = _ones_or(g, a["weight"], ch, dt)
    b = _ones_or(g, a["bias"], ch, dt, 0.0)
    _bind(g, c, g.op("InstanceNormalization", [g.name_of(x), w, b], epsilon=float(a["eps"])))


@converter("F.local_response_norm")
def _lrn(g, c):
    a = c.a
    if int(a["size"]) % 2 == 0:  # PyTorch pads an even window unlike ONNX's LRN
        raise unsupported(g, c)
    x = a["input"]
    xn = g.name_of(x)
    if x.dim() == 3:  # (N, C, L) as (N, C, L, 1): onnxruntime's LRN takes 4-D inputs
        xn = g.unsqueeze(xn, [3])
    y = g.op("LRN", [xn], size=int(a["size"]), alpha=float(a["alpha"]), beta=float(a["beta"]),
             bias=float(a["k"]))
    _bind(g, c, g.squeeze(y, [3]) if x.dim() == 3 else y)


@converter("F.normalize")
def _normalize(g, c):
    a, dt = c.a, _dt(c.out)
    x = a["input"]
    p = float(a["p"])
    if p not in (1.0, 2.0):
        raise unsupported(g, c)
    xn = g.name_of(x)
    norm = g.reduce("ReduceL2" if p == 2.0 else "ReduceL1", xn, [_dim(a["dim"], x.dim())], True)
    norm = g.op("Max", [norm, g.scalar(a["eps"], dt)])
    _bind(g, c, g.op("Div", [xn, norm]))


# ---- softmax, dropout ----


def _softmax_dim(dim, ndim):
    if dim is None:  # PyTorch's implicit dim (with its deprecation warning, already given)
        return 0 if ndim in (0, 1, 3) else 1
    return _dim(dim, max(ndim, 1))


@converter("F.softmax", "softmax", "F.log_softmax", "log_softmax", "F.softmin")
def _softmax(g, c):
    x = c.a["input"]
    axis = _softmax_dim(c.a.get("dim"), x.dim())
    xn = g.operand(x, _dt(c.out))
    if c.name == "F.softmin":
        xn = g.op("Neg", [xn])
    op_type = "LogSoftmax" if "log_" in c.name else "Softmax"
    _bind(g, c, g.op(op_type, [xn], axis=axis))


@converter("F.dropout", "F.dropout1d", "F.dropout2d", "F.dropout3d", "F.alpha_dropout",
           "F.feature_alpha_dropout", "dropout")
def _dropout(g, c):
    a = c.a
    x = a["input"]
    if not a.get("training", True) or float(a["p"]) == 0.0:
        _bind(g, c, g.name_of(x))  # the identity: no node, as PyTorch
        return
    if c.name not in ("F.dropout", "dropout"):
        raise unsupported(g, c)
    y, _ = g.op("Dropout", [g.name_of(x), g.scalar(a["p"], _dt(c.out)),
                            g.const(np.asarray(True))], outputs=2)
    _bind(g, c, y)


# ---- shapes ----


def _alias(g, c):
    """Ops that only relabel or copy (contiguous, clone, detach, .to(same dtype)...), and the
    conversions (a Cast when the dtype changes)."""
    x = c.a.get("input", c.a.get("self"))
    if not isinstance(x, Tensor) or not isinstance(c.out, Tensor) or x.shape != c.out.shape:
        raise unsupported(g, c)
    if _dt(x) == _dt(c.out):
        _bind(g, c, g.name_of(x))
    else:
        _bind(g, c, g.cast(g.name_of(x), _dt(c.out)))


for _name in ("contiguous", "clone", "detach", "detach_", "to", "float", "double", "half",
              "bfloat16", "int", "long", "short", "char", "byte", "bool", "type", "type_as",
              "cpu", "cuda", "alias", "requires_grad_", "F.identity", "view_as_real_copy",
              "positive", "resolve_conj", "resolve_neg", "__pos__"):
    CONVERTERS[_name] = _alias


def _reshape_to(g, x, target):
    """Reshape ``x`` to ``target`` (ints, -1 allowed); with dynamic axes, a dimension equal to
    the input's at the same place is copied (ONNX's 0) so that it stays symbolic."""
    target = [int(d) for d in target]
    if 0 in target:  # an empty dimension: ONNX reads 0 as "copy" unless allowzero
        return g.op("Reshape", [g.name_of(x), g.i64(target)], allowzero=1)
    if g.dynamic:
        target = [0 if i < x.dim() and d == x.shape[i] else d for i, d in enumerate(target)]
    return g.op("Reshape", [g.name_of(x), g.i64(target)])


@converter("reshape", "view")
def _reshape(g, c):
    x = c.a["input"]
    shape = c.a.get("shape")
    if shape is None or shape == ():
        raise unsupported(g, c)
    if len(shape) == 1 and not isinstance(shape[0], (list, tuple, int)):  # view(dtype)
        raise unsupported(g, c)
    _bind(g, c, _reshape_to(g, x, _shape_arg(shape)))


@converter("view_as", "reshape_as")
def _view_as(g, c):
    other = c.a["other"]
    if g.traced(other):
        _bind(g, c, g.op("Reshape", [_x(g, c), g.op("Shape", [g.name_of(other)])]))
    else:
        _bind(g, c, _reshape_to(g, c.a["input"], list(other.shape)))


@converter("flatten")
def _flatten(g, c):
    x = c.a["input"]
    nd = x.dim()
    if nd == 0:
        _bind(g, c, g.op("Reshape", [g.name_of(x), g.i64([1])]))
        return
    start, end = _dim(c.a["start_dim"], nd), _dim(c.a["end_dim"], nd)
    if start == end:
        _bind(g, c, g.name_of(x))
    elif end == nd - 1 and start == 1:
        _bind(g, c, g.op("Flatten", [g.name_of(x)], axis=1))
    else:
        target = [0] * start + [-1] + list(x.shape[end + 1:])
        _bind(g, c, g.op("Reshape", [g.name_of(x), g.i64(target)]))


@converter("squeeze")
def _squeeze(g, c):
    x = c.a["input"]
    dim = c.a.get("dim")
    if dim is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    else:
        axes = [d for d in (_dims(dim, max(x.dim(), 1)) or []) if x.dim() and x.shape[d] == 1]
    _bind(g, c, g.squeeze(g.name_of(x), axes) if axes else g.name_of(x))


@converter("unsqueeze")
def _unsqueeze(g, c):
    x = c.a["input"]
    _bind(g, c, g.unsqueeze(g.name_of(x), [_dim(c.a["dim"], x.dim() + 1)]))


@converter("permute")
def _permute(g, c):
    x = c.a["input"]
    perm = [_dim(d, x.dim()) for d in _shape_arg(c.a["dims"])]
    _bind(g, c, g.op("Transpose", [g.name_of(x)], perm=perm))


@converter("transpose", "swapaxes", "swapdims")
def _transpose(g, c):
    x = c.a["input"]
    nd = x.dim()
    if nd < 2:
        _bind(g, c, g.name_of(x))
        return
    d0, d1 = _dim(c.a["dim0"], nd), _dim(c.a["dim1"], nd)
    perm = list(range(nd))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    _bind(g, c, g.op("Transpose", [g.name_of(x)], perm=perm))


@converter("mT")
def _mt(g, c):
    x = c.a.get("input", c.a.get("self"))
    perm = list(range(x.dim()))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    _bind(g, c, g.op("Transpose", [g.name_of(x)], perm=perm))


@converter("movedim", "moveaxis")
def _movedim(g, c):
    x = c.a["input"]
    # axis i of a stand-in array has length i + 2, so the moved shape spells the permutation
    sizes = tuple(range(2, x.dim() + 2))
    moved = np.moveaxis(np.empty(sizes, dtype=np.bool_), _ints(c.a["source"]),
                        _ints(c.a["destination"])).shape
    _bind(g, c, g.op("Transpose", [g.name_of(x)], perm=[s - 2 for s in moved]))


@converter("expand")
def _expand(g, c):
    x = c.a["input"]
    sizes = _shape_arg(c.a["sizes"])
    # -1 keeps the input's size: 1 there lets Expand's broadcasting keep it (and keeps a
    # dynamic axis dynamic)
    target = [1 if s == -1 else s for s in sizes]
    _bind(g, c, g.op("Expand", [g.name_of(x), g.i64(target)]))


@converter("expand_as")
def _expand_as(g, c):
    other = c.a["other"]
    shape = (g.op("Shape", [g.name_of(other)]) if g.traced(other) else g.i64(list(other.shape)))
    _bind(g, c, g.op("Expand", [_x(g, c), shape]))


@converter("repeat")
def _repeat(g, c):
    x = c.a["input"]
    reps = _shape_arg(c.a["repeats"] if "repeats" in c.a else c.a["sizes"])
    xn = g.name_of(x)
    if len(reps) > x.dim():
        xn = g.op("Reshape", [xn, g.i64([1] * (len(reps) - x.dim()) + list(x.shape))])
    _bind(g, c, g.op("Tile", [xn, g.i64(reps)]))


@converter("cat", "concat", "concatenate")
def _cat(g, c):
    tensors = [t for t in c.a["tensors"] if not (t.dim() == 1 and t.shape[0] == 0)]
    nd = c.out.dim()
    dim = c.a.get("dim", 0)
    if c.a.get("axis") is not None:
        dim = c.a["axis"]
    dt = _dt(c.out)
    _bind(g, c, g.op("Concat", [g.operand(t, dt) for t in tensors], axis=_dim(dim, nd)))


@converter("stack")
def _stack(g, c):
    nd = c.out.dim()
    axis = _dim(c.a.get("dim", 0), nd)
    dt = _dt(c.out)
    parts = [g.unsqueeze(g.operand(t, dt), [axis]) for t in c.a["tensors"]]
    _bind(g, c, g.op("Concat", parts, axis=axis))


@converter("split", "chunk", "split_with_sizes", "tensor_split", "hsplit", "vsplit")
def _split(g, c):
    x = c.a["input"]
    outs = list(c.out)
    dim = c.a.get("dim", 0)
    if c.name == "hsplit":
        dim = 1 if x.dim() > 1 else 0
    elif c.name == "vsplit":
        dim = 0
    axis = _dim(dim, x.dim())
    names = g.split(g.name_of(x), [o.shape[axis] for o in outs], axis)
    for o, n in zip(outs, names):
        g.bind(o, n)


@converter("unbind")
def _unbind(g, c):
    x = c.a["input"]
    axis = _dim(c.a.get("dim", 0), x.dim())
    outs = list(c.out)
    names = g.split(g.name_of(x), [1] * len(outs), axis)
    for o, n in zip(outs, names):
        g.bind(o, g.squeeze(n, [axis]))


@converter("select")
def _select(g, c):
    x = c.a["input"]
    axis = _dim(c.a["dim"], x.dim())
    _bind(g, c, g.op("Gather", [g.name_of(x), g.scalar(int(c.a["index"]), np.int64)],
                     axis=axis))


@converter("narrow")
def _narrow(g, c):
    x = c.a["input"]
    axis = _dim(c.a["dim"], x.dim())
    start = int(c.a["start"])
    if start < 0:
        start += x.shape[axis]
    length = int(c.a["length"])
    _bind(g, c, g.op("Slice", [g.name_of(x), g.i64([start]), g.i64([start + length]),
                               g.i64([axis])]))


@converter("flip")
def _flip(g, c):
    x = c.a["input"]
    axes = _dims(c.a["dims"], x.dim())
    n = len(axes)
    big = np.iinfo(np.int64)
    _bind(g, c, g.op("Slice", [g.name_of(x), g.i64([-1] * n), g.i64([big.min] * n),
                               g.i64(axes), g.i64([-1] * n)]))


_END = np.iinfo(np.int64).max


@converter("__getitem__")
def _getitem(g, c):
    """Basic indexing (ints, slices with positive steps, ``...``, ``None``) as Slice, Gather
    and Unsqueeze; one integer tensor or list index (alone with slices) as a Gather."""
    x, key = c.a["input"], c.a["key"]
    if not isinstance(key, tuple):
        key = (key,)
    nd = x.dim()

    def is_array(k):
        return isinstance(k, (Tensor, list))

    if (any(isinstance(k, bool) or (isinstance(k, Tensor) and (
            k.dtype.is_floating_point or str(k.dtype) == "torch.bool")) for k in key)
            or sum(k is Ellipsis for k in key) > 1):
        raise unsupported(g, c, "index")
    arrays = [k for k in key if is_array(k)]
    if arrays and (len(arrays) > 1 or any(k is None or isinstance(k, int) for k in key)):
        raise unsupported(g, c, "index")  # advanced indices that broadcast or move
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    y = g.name_of(x)
    starts, ends, axes, steps, ints, array = [], [], [], [], [], None
    axis, pos, new_axes = 0, 0, []  # input axis; position in the result
    for k in key:
        if k is Ellipsis:
            axis += nd - used
            pos += nd - used
        elif k is None:
            new_axes.append(pos)
            pos += 1
        elif isinstance(k, slice):
            step = 1 if k.step is None else int(k.step)
            if step <= 0:
                raise unsupported(g, c, "index")
            if k != slice(None):
                starts.append(0 if k.start is None else int(k.start))
                ends.append(_END if k.stop is None else int(k.stop))
                axes.append(axis)
                steps.append(step)
            axis += 1
            pos += 1
        elif is_array(k):
            array = (axis, k)
            axis += 1
            pos += k.dim() if isinstance(k, Tensor) else 1
        else:
            ints.append((axis, int(k)))
            axis += 1
    if axes:
        y = g.op("Slice", [y, g.i64(starts), g.i64(ends), g.i64(axes), g.i64(steps)])
    if array is not None:
        ax, k = array
        idx = g.operand(k, np.dtype(np.int64)) if isinstance(k, Tensor) else g.i64(k)
        y = g.op("Gather", [y, idx], axis=ax)
    for ax, i in sorted(ints, reverse=True):  # the last first: the earlier axes stay put
        y = g.op("Gather", [y, g.scalar(i, np.int64)], axis=ax)
    if new_axes:
        y = g.unsqueeze(y, new_axes)
    _bind(g, c, y)


@converter("__setitem__")
def _setitem(g, c):
    """``x[key] = value`` as a ScatterND into the flattened ``x``: the flat positions the key
    selects are computed here (a constant), so ``x``'s shape is fixed."""
    x, key, value = c.a["self"], c.a["key"], c.a["value"]
    parts = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, Tensor) and g.traced(k) for k in parts):
        raise unsupported(g, c, "index_put_")
    np_key = tuple(k.cpu().numpy() if isinstance(k, Tensor) else k for k in parts)
    positions = np.arange(x.numel(), dtype=np.int64).reshape(tuple(x.shape))[np_key]
    positions = np.asarray(positions).reshape(-1, 1)
    dt = _dt(x)
    updates = g.op("Expand", [g.operand(value, dt),
                              g.i64(list(np.shape(np.empty(x.shape)[np_key])))])
    flat = g.op("Reshape", [g.name_of(x), g.i64([-1])])
    scattered = g.op("ScatterND", [flat, g.const(positions),
                                   g.op("Reshape", [updates, g.i64([-1])])])
    g.bind(x, g.op("Reshape", [scattered, g.i64(list(x.shape))]))


@converter("fill_", "zero_", "copy_")
def _fill(g, c):
    """In-place overwrites of a traced tensor: the new value broadcast to its shape."""
    x = c.a["input"]
    dt = _dt(x)
    if c.name == "zero_":
        value = g.scalar(0, dt)
    else:
        value = g.operand(c.a["src"] if c.name == "copy_" else c.a["value"], dt)
    g.bind(x, g.op("Expand", [value, g.op("Shape", [g.name_of(x)])]))


@converter("index_select")
def _index_select(g, c):
    x = c.a["input"]
    axis = _dim(c.a["dim"], max(x.dim(), 1))
    _bind(g, c, g.op("Gather", [g.name_of(x), g.operand(c.a["index"], np.dtype(np.int64))],
                     axis=axis))


@converter("gather")
def _gather(g, c):
    x = c.a["input"]
    _bind(g, c, g.op("GatherElements", [g.name_of(x), g.operand(c.a["index"],
                                                                np.dtype(np.int64))],
                     axis=_dim(c.a["dim"], x.dim())))


@converter("F.embedding")
def _embedding(g, c):
    if c.a.get("max_norm") is not None:  # renormalises the weight in place while it runs
        raise unsupported(g, c, "embedding_renorm")
    _bind(g, c, g.op("Gather", [g.name_of(c.a["weight"]),
                                g.operand(c.a["input"], np.dtype(np.int64))]))


@converter("embedding")
def _embedding_aten(g, c):
    _bind(g, c, g.op("Gather", [g.name_of(c.a["weight"]),
                                g.operand(c.a["indices"], np.dtype(np.int64))]))


@converter("F.one_hot")
def _one_hot(g, c):
    depth = c.out.shape[-1]
    _bind(g, c, g.op("OneHot", [g.operand(c.a["tensor"] if "tensor" in c.a else c.a["input"],
                                          np.dtype(np.int64)),
                                g.i64([depth]), g.i64([0, 1])], axis=-1))


@converter("F.pad", "pad")
def _pad(g, c):
    x = c.a["input"]
    pad = _ints(c.a["pad"])
    nd = x.dim()
    begins, ends = [0] * nd, [0] * nd
    for i in range(len(pad) // 2):
        begins[nd - 1 - i] = pad[2 * i]
        ends[nd - 1 - i] = pad[2 * i + 1]
    mode = c.a.get("mode", "constant")
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap"}.get(mode)
    if onnx_mode is None:
        raise unsupported(g, c)
    if onnx_mode == "wrap" and g.opset < 19:
        raise UnsupportedOperatorError("aten::pad", g.opset, 19)
    inputs = [g.name_of(x), g.i64(begins + ends)]
    if onnx_mode == "constant":
        value = c.a.get("value")
        inputs.append(g.scalar(0 if value is None else value, _dt(c.out)))
    _bind(g, c, g.op("Pad", inputs, mode=onnx_mode))


@converter("F.interpolate", "F.upsample")
def _interpolate(g, c):
    a = c.a
    x = a["input"]
    mode = a.get("mode", "nearest")
    if a.get("antialias") or mode not in ("nearest", "linear", "bilinear", "trilinear",
                                          "bicubic"):
        raise unsupported(g, c, "upsample_" + mode.replace("-", "_"))
    sizes = g.i64(list(c.out.shape))
    attrs = {}
    if mode == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                 "nearest_mode": "floor"}
    else:
        align = bool(a.get("align_corners"))
        attrs = {"mode": "cubic" if mode == "bicubic" else "linear",
                 "coordinate_transformation_mode":
                     "align_corners" if align else "pytorch_half_pixel"}
        if mode == "bicubic":
            attrs["cubic_coeff_a"] = -0.75
    _bind(g, c, g.op("Resize", [g.name_of(x), "", "", sizes], **attrs))


# ---- reductions ----


def _reduce_op(op_type):
    def fn(g, c):
        x = c.a["input"]
        dt = _dt(c.out)
        xn = g.operand(x, dt)
        dim = c.a.get("dim")
        axes = _dims(dim, max(x.dim(), 1)) if x.dim() else None
        _bind(g, c, g.reduce(op_type, xn, axes, bool(c.a.get("keepdim", False))))
    return fn


for _name, _op in {"sum": "ReduceSum", "mean": "ReduceMean", "amax": "ReduceMax",
                   "amin": "ReduceMin", "prod": "ReduceProd",
                   "logsumexp": "ReduceLogSumExp"}.items():
    CONVERTERS[_name] = _reduce_op(_op)


def _extreme(op_type, arg_type, binary):
    def fn(g, c):
        x = c.a["input"]
        other = c.a.get("other")
        dim = c.a.get("dim")
        if isinstance(dim, Tensor):
            other, dim = dim, None
        if other is not None:
            a, b = g.operand(x, _dt(c.out)), g.operand(other, _dt(c.out))
            _bind(g, c, g.op(binary, [a, b]))
            return
        xn = g.name_of(x)
        keep = int(bool(c.a.get("keepdim", False)))
        if dim is None:
            _bind(g, c, g.reduce(op_type, xn, None, False))
            return
        axis = _dim(dim, max(x.dim(), 1))
        values, indices = c.out
        g.bind(values, g.reduce(op_type, xn, [axis], bool(keep)))
        g.bind(indices, g.op(arg_type, [xn], axis=axis, keepdims=keep))
    return fn


CONVERTERS["max"] = _extreme("ReduceMax", "ArgMax", "Max")
CONVERTERS["min"] = _extreme("ReduceMin", "ArgMin", "Min")


def _arg(op_type):
    def fn(g, c):
        x = c.a["input"]
        dim = c.a.get("dim")
        keep = int(bool(c.a.get("keepdim", False)))
        xn = g.name_of(x)
        if dim is None:
            flat = g.op("Reshape", [xn, g.i64([-1])])
            y = g.op(op_type, [flat], axis=0, keepdims=0)
            if keep:
                y = g.op("Reshape", [y, g.i64([1] * x.dim())])
            _bind(g, c, y)
            return
        _bind(g, c, g.op(op_type, [xn], axis=_dim(dim, max(x.dim(), 1)), keepdims=keep))
    return fn


CONVERTERS["argmax"] = _arg("ArgMax")
CONVERTERS["argmin"] = _arg("ArgMin")


@converter("var", "std")
def _var(g, c):
    a = c.a
    x = a["input"]
    dt = _dt(c.out)
    axes = _dims(a.get("dim"), max(x.dim(), 1)) or list(range(x.dim()))
    correction = a.get("correction")
    if correction is None:
        unbiased = a.get("unbiased")
        correction = 0 if unbiased is False else 1
    n = int(np.prod([x.shape[i] for i in axes])) if x.dim() else 1
    xn = g.name_of(x)
    mean = g.reduce("ReduceMean", xn, axes, True)
    d = g.op("Sub", [xn, mean])
    ss = g.reduce("ReduceSum", g.op("Mul", [d, d]), axes, bool(a.get("keepdim", False)))
    y = g.op("Div", [ss, g.scalar(max(n - float(correction), 0.0), dt)])
    if c.name == "std":
        y = g.op("Sqrt", [y])
    _bind(g, c, y)


@converter("all", "any")
def _all_any(g, c):
    x = c.a["input"]
    xn = g.cast(g.name_of(x), np.int32)
    axes = _dims(c.a.get("dim"), max(x.dim(), 1)) if x.dim() else None
    y = g.reduce("ReduceMin" if c.name == "all" else "ReduceMax", xn, axes,
                 bool(c.a.get("keepdim", False)))
    _bind(g, c, g.cast(y, np.bool_))


@converter("cumsum")
def _cumsum(g, c):
    x = c.a["input"]
    xn = g.operand(x, _dt(c.out))
    _bind(g, c, g.op("CumSum", [xn, g.scalar(_dim(c.a["dim"], max(x.dim(), 1)), np.int64)]))


@converter("topk")
def _topk(g, c):
    x = c.a["input"]
    axis = _dim(c.a.get("dim", -1), max(x.dim(), 1))
    values, indices = g.op("TopK", [g.name_of(x), g.i64([int(c.a["k"])])], outputs=2,
                           axis=axis, largest=int(bool(c.a.get("largest", True))),
                           sorted=int(bool(c.a.get("sorted", True))))
    g.bind(c.out[0], values)
    g.bind(c.out[1], indices)


# ---- factories that follow a traced tensor's shape ----


@converter("zeros_like", "ones_like", "full_like", "empty_like")
def _like(g, c):
    x = c.a["input"]
    dt = _dt(c.out)
    fill = {"zeros_like": 0, "empty_like": 0, "ones_like": 1}.get(c.name)
    if fill is None:
        fill = c.a["fill_value"]
    value = g.onnx.numpy_helper.from_array(np.asarray([fill], dtype=dt))
    _bind(g, c, g.op("ConstantOfShape", [g.op("Shape", [g.name_of(x)])], value=value))


# ---- attention ----


@converter("F.scaled_dot_product_attention")
def _sdpa(g, c):
    a = c.a
    q, k, v = a["query"], a["key"], a["value"]
    if a.get("enable_gqa") and q.shape[-3] != k.shape[-3]:
        raise unsupported(g, c)
    dt = _dt(c.out)
    scale = a.get("scale")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    nd = k.dim()
    perm = list(range(nd))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    kt = g.op("Transpose", [g.name_of(k)], perm=perm)
    scores = g.op("Mul", [g.op("MatMul", [g.name_of(q), kt]), g.scalar(scale, dt)])
    neg_inf = g.scalar(-np.inf, dt)
    if a.get("is_causal"):
        L, S = q.shape[-2], k.shape[-2]
        keep = g.const(np.tril(np.ones((L, S), dtype=bool)))
        scores = g.op("Where", [keep, scores, neg_inf])
    mask = a.get("attn_mask")
    if mask is not None:
        if str(mask.dtype) == "torch.bool":
            scores = g.op("Where", [g.name_of(mask), scores, neg_inf])
        else:
            scores = g.op("Add", [scores, g.operand(mask, dt)])
    attn = g.op("Softmax", [scores], axis=-1)
    if float(a.get("dropout_p", 0.0)) > 0.0 and g.training:
        attn, _ = g.op("Dropout", [attn, g.scalar(a["dropout_p"], dt),
                                   g.const(np.asarray(True))], outputs=2)
    _bind(g, c, g.op("MatMul", [attn, g.name_of(v)]))
