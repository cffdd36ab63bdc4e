"""PyTorch's ``out=`` argument, for every op that takes one: the checks, the resize and the write.

Contract (PyTorch's out= semantics, which every entry point below keeps):
- Not differentiable: with grad mode on, an argument (or ``out``) that requires grad raises
  ``<op>(): functions with out=... arguments don't support automatic differentiation, but one
  of the arguments requires grad.`` (``grad_error``), ``<op>`` being the aten op PyTorch's error
  names (a composite op may name the one it calls, or write ``out`` with no error).
- An ``out`` of another shape is resized, with PyTorch's deprecation warning when it had
  elements (``warn_resize``); the write bumps out's version counter.
- The result is cast into out's dtype unless that would lower its category (bool < integer <
  floating < complex): "result type X can't be cast to the desired output type Y" (``_CAST``).
  Ops that demand out's own dtype exactly raise their own messages (``_OUT_DTYPE``,
  ``_OUT_SAME_DTYPE``), some before the resize and some after, as PyTorch's kernels check.
- An op with several results takes a tuple of outs, each written as a single result.

The entry points, by how an op comes by ``out=``:
- ``write_outs(name, tname, op, args, kwargs, out)``: the published wrapper of an op in
  ``_checks.OUT_OPS`` whose Python function has no ``out`` (NOTE [out and aliases] in
  _checks.py). Per-op tables give PyTorch's autograd op name (``_GRAD_NAME``), its dtype rules
  and messages, the resize order and refused dtypes; tuple outs for multi-result ops.
- ``supports_out(name)``: a decorator for the ops whose modules declare out= (cat and the stack
  family, gather, index_select, masked_select, take_along_dim, nonzero); their exact-dtype
  messages are ``_OUT_SAME_DTYPE``. shape.py re-exports it.
- ``write_out(name, op, out, *inputs, **kwargs)``: the elementwise ops with their own ``out``
  parameter (add, sub, mul, div): PyTorch's overlap check of each input against ``out``, the
  cast checked before any resize, and the write through ``out.copy_``. operands.py (and through
  it pointwise.py) re-exports it.
- ``with_out(fn, name)``: the linear-algebra ops (decomposition, cholesky_qr, lu, triangular,
  householder, spectral, linalg): ``fn`` run without grad, each part of a named-tuple result
  written by ``write_out``; ``name`` False marks a composite op that PyTorch lets write ``out``
  whatever requires grad. _linalg_base.py (and through it decomposition.py) re-exports it.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import Tensor

# ==== shared by every entry point ============================================================

_CAST = "result type {src} can't be cast to the desired output type {dst}"
# PyTorch's C++ names of the scalar types, which some of its dtype messages print
_C_NAMES = {"float64": "double", "float32": "float", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def grad_error(name):
    """PyTorch's error for an out= call of op ``name`` with an argument that requires grad."""
    return RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                        "differentiation, but one of the arguments requires grad.")


def warn_resize(old, new, stacklevel):
    """PyTorch's deprecation warning for resizing an ``out`` of shape ``old`` (with elements)
    to ``new``; ``stacklevel`` counts from the caller of this function."""
    warnings.warn(
        f"An output with one or more elements was resized since it had shape {list(old)}, "
        f"which does not match the required output shape {list(new)}. This behavior is "
        "deprecated, and in a future PyTorch release outputs will not be resized unless they "
        "have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, "
        "to zero elements with t.resize_(0).", UserWarning, stacklevel=stacklevel + 1)


def _empty(shape, like):
    """A new array of ``shape`` in the array ``like``'s dtype, on its device (a resized
    ``out`` stays where it was)."""
    if isinstance(like, np.ndarray):
        return np.empty(shape, like.dtype)
    return namespace(like).empty(shape, like.dtype)


def _copy_into(out, data):
    """``data`` cast into ``out``'s array (already of its shape); out's version bumps."""
    np.copyto(out._data, data, casting="unsafe")
    if out._vc is not None:
        out._vc[0] += 1


# ==== write_outs: the published wrappers of OUT_OPS (NOTE [out and aliases]) ================

# The op PyTorch's autograd error names, where it is not the op itself (composite ops raise it
# from the op they call); None: PyTorch writes ``out`` with no error (non-differentiable ops,
# or composites whose inner op takes any out).
_GRAD_NAME = {
    "arccos": "acos", "arccosh": "acosh", "arcsin": "asin", "arcsinh": "asinh",
    "arctan": "atan", "arctan2": "atan2", "arctanh": "atanh", "absolute": "abs",
    "clip": "clamp", "fix": "trunc", "negative": "neg", "diff": "sub", "outer": "mul",
    "ger": "mul", "kron": "mul", "square": "pow", "float_power": "pow", "cross": "linalg_cross",
    "msort": "sort", "argsort": "sort", "slogdet": "_linalg_slogdet", "nanmean": "nansum",
    "max.other": "maximum", "min.other": "minimum",
    **dict.fromkeys((
        "eq ge greater greater_equal gt le less less_equal lt ne not_equal logical_and "
        "logical_not logical_or logical_xor bitwise_and bitwise_left_shift bitwise_not "
        "bitwise_or bitwise_right_shift bitwise_xor floor_divide log_softmax softmax all any "
        "argmax argmin diag slice_scatter heaviside histc inner isin isneginf isposinf "
        "signbit nanquantile quantile nuclear_norm").split()),
}
# How an op's ``out`` takes a result of another dtype: by default as PyTorch's elementwise
# ops (cast when the result's category fits, else "result type ... can't be cast"); the ops
# here need ``out`` of the result's own dtype: (resize before the check, message for the
# first result, message for the others). Fields: ``src``/``dst`` PyTorch's scalar names
# (Float), ``src_c``/``dst_c`` its C++ names (float); ``op``: the op.
_FOUND = "Found dtype {dst} but expected {src}"
_EXPECTED = "Expected out tensor to have dtype {src_c}, but got {dst_c} instead"
_SCALAR = "expected scalar_type {src} but found {dst}"
_OUT_DTYPE = {
    **dict.fromkeys("abs absolute ceil clamp clamp_max clamp_min clip fix floor frac "
                    "hardshrink neg negative round sgn sign trunc bitwise_not".split(),
                    (False, _FOUND, _FOUND)),
    **dict.fromkeys("addmm addmv aminmax baddbmm bmm cross index_add index_copy index_reduce "
                    "log_softmax matmul max min mm msort renorm scatter scatter_add "
                    "scatter_reduce slogdet softmax sort topk tril triu argmax argmin argsort "
                    "isin".split(), (False, _EXPECTED, _EXPECTED)),
    "diag": (True, _EXPECTED, _EXPECTED), "slice_scatter": (True, _EXPECTED, _EXPECTED),
    **dict.fromkeys(("cummax", "cummin", "logcumsumexp"), (False, _SCALAR, _SCALAR)),
    **dict.fromkeys(("amax", "amin"), (
        False, "Expected the dtype for input and out to match, but got {src} for input's dtype "
        "and {dst} for out's dtype.", None)),
    **dict.fromkeys(("dot", "vdot"), (
        True, "result dtype {dst} does not match input dtype {src}", None)),
    **dict.fromkeys(("median", "nanmedian"), (
        False, "Expected tensor for 'values' to have the same type as tensor for argument #2 "
        "'self'; but type torch.{dst}Tensor does not equal torch.{src}Tensor (while checking "
        "arguments for median)", _EXPECTED)),
    **dict.fromkeys(("quantile", "nanquantile"), (
        False, "quantile() out tensor must be same dtype as the input tensor", None)),
    "addbmm": (False, "self and mat2 must have the same dtype, but got {dst} and {src}", None),
    **dict.fromkeys(("all", "any"), (
        False, "{op} only supports bool tensor for result, got: {dst}", None)),
    **dict.fromkeys(("isneginf", "isposinf", "signbit"), (
        False, "{op} does not support non-boolean outputs.", None)),
    "kthvalue": (False, "output values must be of same type as input",
                 "output indices must be of scalar type Long"),
    "mode": (False, "expected scalar type '{src}' but got '{dst}' for values output",
             "expected scalar type '{src}' but got '{dst}' for indices output"),
    "frexp": (False, "torch.frexp() expects mantissa to have dtype {src_c} but got {dst_c}",
              "torch.frexp() expects exponent to have int dtype but got {dst_c}"),
    "heaviside": (False, "heaviside is not yet implemented for tensors with different dtypes.",
                  None),
    "histc": (False, "torch.histogram: input tensor and hist tensor should have the same dtype, "
              "but got input {src_c} and hist {dst_c}", None),
    "inner": (False, "tensordot: Expected the output tensor to have dtype {src}, but got an "
              "output tensor with dtype {dst}", None),
    "nan_to_num": (False, "nan_to_num: dtype of out: {dst} should be same as input: {src}",
                   None),
    "narrow_copy": (False, "Expected self.dtype() == output.dtype() to be true, but got false.  "
                    "(Could this error message be improved?  If so, please report an "
                    "enhancement request to PyTorch.)", None),
    "nuclear_norm": (False, "linalg.matrix_norm expected out tensor dtype {src} but got: {dst}",
                     None),
    "take": (False, "take(): self and out expected to have the same dtype, but got self.dtype = "
             "{src} and out.dtype = {dst}", None),
    "where": (False, "Expected out type to be {src} but got {dst}", None),
    "float_power": (False, "the output given to float_power has dtype {dst} but the operation's "
                    "result requires dtype {src}", None),
}
_RESIZE_FIRST = frozenset("prod sum ger kron mean std var nansum nanmean cumsum cumprod eq ge "
                          "greater greater_equal gt le less less_equal lt ne not_equal "
                          "logical_and logical_not logical_or logical_xor bitwise_and "
                          "bitwise_left_shift bitwise_or bitwise_right_shift "
                          "bitwise_xor".split())
# ops whose ``out`` dtype is the dtype they compute in (``sum(x, out=long)`` sums x as long)
_OUT_DTYPE_ARG = frozenset(("sum", "prod", "cumsum", "cumprod", "nansum"))
# ops whose kernel resizes ``out`` without PyTorch's deprecation warning
_SILENT_RESIZE = frozenset(("addbmm", "kthvalue", "mode", "narrow_copy"))
# out dtypes an op's kernel refuses whatever the result: op -> (refused categories (0 bool,
# 1 integer, 2 floating, 3 complex), error class, message)
_OUT_REFUSED = {
    "cumsum": ({0}, NotImplementedError, "\"cumsum_out_cpu\" not implemented for '{dst}'"),
    "cumprod": ({0}, NotImplementedError, "\"cumprod_out_cpu\" not implemented for '{dst}'"),
    "nansum": ({0, 1, 3}, NotImplementedError, "\"nansum_cpu\" not implemented for '{dst}'"),
    "nanmean": ({0, 1, 3}, NotImplementedError, "\"nansum_cpu\" not implemented for '{dst}'"),
    "std": ({3}, NotImplementedError, "\"std_cpu\" not implemented for '{dst}'"),
    "var": ({3}, NotImplementedError, "\"std_cpu\" not implemented for '{dst}'"),
    "logsumexp": ({0, 1}, RuntimeError,
                  "logsumexp(): Expected floating point type for result tensor, but got: {dst}"),
}
# the cast error where an op words it its own way
_CAST_MESSAGE = {"mvlgamma": "mvlgamma: result type {src} can't be cast to the desired output "
                             "type {src}",
                 "ldexp": "ldexp can't be cast to the desired output type {dst}",
                 "mv": "addmv input tensors must have the same dtype, but got {dst}, {src}, and "
                       "{src}"}
_CAN_CAST = ("Expected canCast( typeMetaToScalarType(self.dtype()), typeMetaToScalarType("
             "out.dtype())) to be true, but got false.  (Could this error message be improved?  "
             "If so, please report an enhancement request to PyTorch.)")


def _tensors_in(values):
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from (t for t in v if isinstance(t, Tensor))


def _out_error(tname, out, many):
    """PyTorch's TypeError for an ``out`` that is not a Tensor (or a tuple of them), or None."""
    from ._checks import _kind_name  # (at call time: _checks imports this module)

    if many:
        if isinstance(out, (tuple, list)) and all(isinstance(o, Tensor) for o in out):
            return None
        return f"{tname}(): argument 'out' must be tuple of Tensors, not {_kind_name(out)}"
    if isinstance(out, Tensor):
        return None
    return f"{tname}(): argument 'out' must be Tensor, not {_kind_name(out)}"


def _write_one(name, op_name, o, r, rule, first, resize_first):
    """Write result ``r`` into ``o`` as PyTorch's ``out=`` does."""
    rd, od = r._data, o._data
    src, dst = _dt.from_np(rd.dtype), _dt.from_np(od.dtype)
    problem = None
    if src is not dst:
        if rule is not None:
            template = rule[1] if first else rule[2]
            if template is not None:
                problem = template.format(src=src.scalar_name, dst=dst.scalar_name, op=name,
                                          src_c=_C_NAMES.get(rd.dtype.name, src.scalar_name),
                                          dst_c=_C_NAMES.get(od.dtype.name, dst.scalar_name))
        if name == "mv" and od.shape != rd.shape:  # (checked before addmv's own check)
            problem = _EXPECTED.format(src_c=_C_NAMES.get(rd.dtype.name, src.scalar_name),
                                       dst_c=_C_NAMES.get(od.dtype.name, dst.scalar_name))
        if problem is None and (src._category > dst._category or name == "mv"):
            problem = (_CAN_CAST if op_name == "reduce" else _CAST_MESSAGE.get(
                name, _CAST)
                .format(src=src.scalar_name, dst=dst.scalar_name))
    error = RuntimeError
    refused = _OUT_REFUSED.get(name)
    if refused is not None and dst._category in refused[0]:
        error, problem = refused[1], refused[2].format(dst=dst.scalar_name)
    if problem is not None and not resize_first:
        raise error(problem)
    if od.shape != rd.shape:
        if od.size and name not in _SILENT_RESIZE:
            warn_resize(od.shape, rd.shape, stacklevel=5)
        o._data = od = _empty(rd.shape, od)
    if problem is not None:
        raise error(problem)
    _copy_into(o, rd)


def write_outs(name, tname, op, args, kwargs, out):
    """``op(*args, **kwargs)`` written into ``out`` (a tensor, or a tuple of tensors for an
    op with several results) with PyTorch's checks; returns ``out``."""
    many = isinstance(out, (tuple, list))
    message = _out_error(tname, out, many)
    if message is not None:
        raise TypeError(message)
    if name in ("median", "nanmedian") and args[1] is None and "dim" not in kwargs:
        # (only the overload with a dim takes out=)
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
    outs = tuple(out) if many else (out,)
    tensors = [*_tensors_in(args), *_tensors_in(kwargs.values())]
    # which overload: max/min with a second tensor are maximum/minimum, without a dim a reduce
    variant = name
    if name in ("max", "min") and len(tensors) > 1:
        variant = f"{name}.other"
    grad_name = _GRAD_NAME.get(variant, variant)
    if name in _GRAD_NAME and _GRAD_NAME[name] is None:
        grad_name = None
    if grad_name is not None and STATE.enabled and any(
            t.requires_grad for t in (*tensors, *outs)):
        raise grad_error(grad_name)
    if name in _OUT_DTYPE_ARG and not many and kwargs.get("dtype") is None:
        kwargs = {**kwargs, "dtype": out.dtype}
    result = op(*args, **kwargs)
    results = result if isinstance(result, tuple) else (result,)
    if isinstance(result, tuple) != many:
        raise TypeError(_out_error(tname, out, not many) or "out: wrong kind")
    if len(outs) != len(results):
        raise TypeError(f"expected tuple of {len(results)} elements but got {len(outs)}")
    rule = _OUT_DTYPE.get(name)
    if variant != name or (name in ("max", "min") and not many):
        rule = None  # (maximum/minimum and the full reduction cast as elementwise ops do)
    op_name = "reduce" if name in ("max", "min") and not many and variant == name else name
    resize_first = name in _RESIZE_FIRST or (rule is not None and rule[0])
    for k, (o, r) in enumerate(zip(outs, results)):
        _write_one(name, op_name, o, r, rule, k == 0, resize_first)
    if not many:
        return out
    return type(result)(*outs) if type(result) is not tuple else outs


# ==== supports_out: ops whose modules declare out= ==========================================

def supports_out(name):
    """Give an op PyTorch's ``out=`` argument: the result is written into ``out`` (resized,
    with PyTorch's warning, when it has elements and the wrong shape); not differentiable."""
    def wrap_op(fn):
        @functools.wraps(fn)
        def op(*args, out=None, **kwargs):
            if out is None:
                return fn(*args, **kwargs)
            return _write_out(name, fn(*args, **kwargs), out, args)
        return op
    return wrap_op


# ops whose out= must have the result's dtype exactly, with PyTorch's message for each
_OUT_SAME_DTYPE = {
    "gather": "Expected out tensor to have dtype {src_c}, but got {dst_c} instead",
    "take_along_dim": "Expected out tensor to have dtype {src_c}, but got {dst_c} instead",
    "index_select": "{name}(): self and result must have the same scalar type",
    "masked_select": "{name}(): self and result must have the same scalar type",
    "nonzero": "nonzero: Expected out tensor to have scalar type Long but got scalar type{dst}",
}
_STACKS = ("cat", "stack", "hstack", "vstack", "dstack", "column_stack")


def _write_out(name, result, out, args):
    def requires_grad(a):
        if isinstance(a, Tensor):
            return a._requires_grad
        return isinstance(a, (list, tuple)) and any(requires_grad(t) for t in a)

    if STATE.enabled and (requires_grad(args) or out._requires_grad):
        raise grad_error(name)
    if isinstance(result, tuple):
        raise RuntimeError(f"{name}(): out= is not supported for tuple results here")
    src, dst = _dt.from_np(result._data.dtype), _dt.from_np(out._data.dtype)
    if src is not dst and name in _OUT_SAME_DTYPE:
        raise RuntimeError(_OUT_SAME_DTYPE[name].format(
            name=name, src=src.scalar_name, dst=dst.scalar_name,
            src_c=_C_NAMES.get(result._data.dtype.name, src.scalar_name),
            dst_c=_C_NAMES.get(out._data.dtype.name, dst.scalar_name)))
    shape = result._data.shape
    if out._data.shape != shape:
        if out._data.size:
            warn_resize(out._data.shape, shape, stacklevel=3)
        out._data = _empty(shape, out._data)
    # NOTE: PyTorch resizes out (and warns) before it finds the dtype can't hold the result
    if src._category > dst._category:
        if name in _STACKS:
            raise TypeError(f"torch.cat(): input types can't be cast to the desired output "
                            f"type {dst.scalar_name}")
        raise RuntimeError(_CAST.format(src=src.scalar_name, dst=dst.scalar_name))
    _copy_into(out, result._data)
    return out


# ==== write_out: elementwise ops with their own out parameter ===============================

def write_out(name, op, out, *inputs, **kwargs):
    """``op(*inputs, **kwargs)`` written into ``out`` (PyTorch's ``out=``): no autograd, the
    result cast to ``out``'s dtype when the cast keeps the category, ``out`` resized (with
    PyTorch's warning unless it was empty) when the shapes differ. Returns ``out``."""
    from ..autograd.grad_mode import no_grad
    from .inplace import check_overlap
    from .operands import _rg

    if STATE.enabled and any(_rg(t) for t in inputs):
        raise grad_error(name)
    with no_grad():
        result = op(*inputs, **kwargs)
    check_overlap(out, inputs)  # PyTorch's check of each input against out, before resizing
    rd, od = result._data, out._data
    if _dt.from_np(rd.dtype)._category > _dt.from_np(od.dtype)._category:
        raise RuntimeError(_CAST.format(src=result.dtype.scalar_name,
                                        dst=out.dtype.scalar_name))
    if rd.shape != od.shape:
        if od.size:
            warn_resize(od.shape, rd.shape, stacklevel=3)
        # (the result's own layout, cast: not _copy_into's C-ordered array of out's shape)
        out._data = rd.astype(od.dtype)
        if out._vc is not None:
            out._vc[0] += 1
        return out
    out.copy_(result)
    return out


# ==== with_out: the linear-algebra ops =====================================================

def with_out(fn, name=None):
    """``fn`` taking PyTorch's ``out=``: the result (a tensor, or each part of a named-tuple
    result) written into ``out`` and ``out`` returned; like PyTorch, not when an argument
    requires grad (the error names ``name``, PyTorch's underlying op; with ``name`` False the
    op is a composite one that PyTorch lets write ``out`` anyway)."""
    composite = name is False
    name = name or fn.__name__

    @functools.wraps(fn)
    def op(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        from ..autograd.grad_mode import no_grad

        tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        tensors += [t for a in args if isinstance(a, (list, tuple)) for t in a
                    if isinstance(t, Tensor)]
        if not composite and STATE.enabled and any(t.requires_grad for t in tensors):
            raise grad_error(name)
        with no_grad():
            result = fn(*args, **kwargs)
        if isinstance(out, (tuple, list)):
            parts = [write_out(name, _same, o, r) for o, r in zip(out, result)]
            return type(result)(*parts) if type(result) is not tuple else tuple(parts)
        return write_out(name, _same, out, result)
    return op


def _same(t):
    return t
