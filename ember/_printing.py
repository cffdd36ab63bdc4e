"""Tensor printing that matches PyTorch's ``repr(tensor)`` character for character.

Contract:
- ``tensor_repr(t)`` returns exactly what PyTorch 2.13 prints for a dense CPU tensor with the same
  values, dtype, shape and autograd state: the same number formatting (``1.``-style integer
  floats, fixed point with ``precision`` digits, or scientific notation chosen from the range of
  the nonzero finite values), the same column padding, line wrapping, nesting and
  summarization with ``...``, and the suffixes in PyTorch's order: ``size=``, ``dtype=``, then
  ``grad_fn=<...>`` or ``requires_grad=True``. There is no ``device=`` suffix (ember is CPU-only)
  and inference tensors print like any other, as in PyTorch.
- ``set_printoptions`` / ``get_printoptions`` / ``printoptions`` behave like
  ``torch.set_printoptions`` / ``torch._tensor_str.get_printoptions`` /
  ``torch._tensor_str.printoptions``, including the ``default``, ``short`` and ``full``
  profiles and ``sci_mode=None`` meaning "choose automatically" (every call to
  ``set_printoptions`` resets ``sci_mode``, as PyTorch's does).

How: PyTorch builds a formatter from the elements it will show (the summarized data) and then
formats those same elements again. Here each shown element is formatted once, and the column
width is taken from the formatted strings of the nonzero finite ones, which is what PyTorch's
formatter measures. float16, bfloat16 and float32 values are widened to float64 first: PyTorch
formats every element through ``Tensor.item()``, i.e. as the Python float of the stored value.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys

import numpy as np

from . import dtypes as _dt

__all__ = ["tensor_repr", "set_printoptions", "get_printoptions", "printoptions"]


@dataclasses.dataclass
class _PrintOptions:
    # field order is the key order of get_printoptions(), as in PyTorch
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set the print options, as ``torch.set_printoptions``.

    ``profile`` (``"default"``, ``"short"`` or ``"full"``) is applied first and the other
    arguments override it; an unknown profile is ignored, as in PyTorch. ``sci_mode`` is always
    set, so leaving it out restores automatic choice of scientific notation.
    """
    if profile in _PROFILES:
        for name, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, name, value)
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options, as keyword arguments for :func:`set_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Set print options (as :func:`set_printoptions`) for the ``with`` block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# ---- element formatting ---------------------------------------------------------------------

def _float_cells(values):
    """Format a 1-D float64 array as PyTorch's ``_Formatter`` does: (padded strings, width)."""
    precision = PRINT_OPTS.precision
    measured = np.isfinite(values) & (values != 0)  # the formatter ignores 0, nan and inf
    nonzero = values[measured]
    if nonzero.size == 0:
        # PyTorch's formatter returns early here, keeping int_mode and never reading sci_mode
        int_mode, sci_mode = True, False
    else:
        magnitudes = np.abs(nonzero)
        low, high = float(magnitudes.min()), float(magnitudes.max())
        int_mode = bool((nonzero == np.ceil(nonzero)).all())
        sci_mode = PRINT_OPTS.sci_mode
        if sci_mode is None:
            sci_mode = high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4
    listed = values.tolist()
    if sci_mode:
        fmt = f"{{:.{precision}e}}".format
        strings = [fmt(v) for v in listed]
    elif int_mode:
        # the trailing "." marks a float; nan and inf already read as floats
        strings = [f"{v:.0f}." if math.isfinite(v) else f"{v:.0f}" for v in listed]
    else:
        fmt = f"{{:.{precision}f}}".format
        strings = [fmt(v) for v in listed]
    # PyTorch pads on the left to the widest nonzero finite value (so "nan" may stick out)
    width = max((len(s) for s, m in zip(strings, measured.tolist()) if m), default=1)
    return [s.rjust(width) for s in strings], width


def _cells(data, dtype):
    """All elements of ``data`` formatted and padded, in C order, and the column width."""
    if dtype.is_complex:
        real, real_width = _float_cells(data.real.astype(np.float64).ravel())
        imag, imag_width = _float_cells(data.imag.astype(np.float64).ravel())
        cells = []
        for re, im in zip(real, imag):
            # the imaginary part drops its padding and takes its own sign, or a "+"
            im = im.lstrip() + "j"
            cells.append(re + im if im[0] == "-" else re + "+" + im)
        return cells, real_width + imag_width + 1
    if dtype.is_floating_point:
        return _float_cells(data.astype(np.float64).ravel())
    strings = [str(v) for v in data.ravel().tolist()]  # tolist gives Python ints and bools
    width = max(map(len, strings))
    return [s.rjust(width) for s in strings], width


# ---- layout ---------------------------------------------------------------------------------

def _summarized(data, edgeitems):
    """``data`` cut to its first and last ``edgeitems`` along each dimension longer than twice
    that (PyTorch's ``get_summarized_data``), and which dimensions were cut."""
    cut = []
    for axis, n in enumerate(data.shape):
        long = n > 2 * edgeitems
        cut.append(long)
        if long:
            keep = np.r_[0:edgeitems, n - edgeitems:n]
            data = data.take(keep, axis=axis)
    return data, cut


def _nest(cells, offset, shape, cut, axis, indent, cell_width, edgeitems):
    """The bracketed text of the sub-array of ``shape[axis:]`` starting at ``cells[offset]``."""
    n = shape[axis]
    if axis == len(shape) - 1:
        row = cells[offset:offset + n]
        if cut[axis]:
            row = row[:edgeitems] + [" ..."] + row[edgeitems:]
        # each element takes its width plus ", "; PyTorch counts in floats, then floors
        per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (cell_width + 2)))
        lines = [", ".join(row[i:i + per_line]) for i in range(0, len(row), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    step = math.prod(shape[axis + 1:])
    parts = [_nest(cells, offset + i * step, shape, cut, axis + 1, indent + 1, cell_width,
                   edgeitems) for i in range(n)]
    if cut[axis]:
        parts.insert(edgeitems, "...")
    # rows of a matrix are on consecutive lines; each further dimension adds a blank line
    separator = "," + "\n" * (len(shape) - axis - 1) + " " * (indent + 1)
    return "[" + separator.join(parts) + "]"


def _tensor_str(data, dtype, indent):
    """The bracketed values of a non-empty array, as PyTorch's ``_tensor_str``."""
    edgeitems = PRINT_OPTS.edgeitems
    summarize = data.size > PRINT_OPTS.threshold
    if data.ndim == 0:
        return _cells(data, dtype)[0][0]
    if summarize and not edgeitems:
        return "[...]"
    cut = [False] * data.ndim
    if summarize:
        data, cut = _summarized(data, edgeitems)
    cells, width = _cells(data, dtype)
    return _nest(cells, 0, data.shape, cut, 0, indent, width, edgeitems)


def _add_suffixes(text, suffixes, indent):
    """Append ``, suffix`` items and the closing parenthesis, wrapping at the line width."""
    parts = [text]
    # PyTorch's measure of the last line (it counts two characters more than it holds)
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t, *, tensor_contents=None) -> str:
    """``repr(t)`` as PyTorch prints it; ``tensor_contents`` replaces the bracketed values."""
    from .tensor import Tensor  # deferred: ember/__init__.py imports this module first

    vmap = sys.modules.get("ember._vmap")  # (not imported: no vmap runs)
    if vmap is not None and vmap._L.stack and tensor_contents is None:  # batched, in a vmap
        batched = vmap._batched_repr(t, tensor_repr)
        if batched is not None:
            return batched
    # subclasses print their own class name, as in PyTorch
    prefix = "tensor(" if type(t) is Tensor else type(t).__name__ + "("
    indent = len(prefix)
    data = t._data
    dtype = t.dtype
    default = _dt.get_default_dtype()
    suffixes = []
    if not isinstance(data, np.ndarray):  # a device tensor: its values come to the host
        from .tensor import to_host

        suffixes.append(f"device='{t.device}'")
        data = to_host(data)
    if t.is_meta:  # no values: the device, size and a non-default dtype (PyTorch's form)
        suffixes += ["device='meta'", f"size={data.shape}"]
        if dtype is not default:
            suffixes.append(f"dtype={dtype!r}")
        tensor_contents = "..."
    elif data.size == 0:
        # NumPy-style: the shape is shown unless it is (0,); and with no values to read the
        # dtype from, every dtype but the default float one is shown, int64 and bool included
        if data.ndim != 1:
            suffixes.append(f"size={data.shape}")
        if dtype is not default:
            suffixes.append(f"dtype={dtype!r}")
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={data.shape}")  # no values are shown: say how many
        if dtype not in (default, _dt.default_complex_dtype(), _dt.int64, _dt.bool):
            suffixes.append(f"dtype={dtype!r}")
    if tensor_contents is not None:
        text = tensor_contents
    elif data.size == 0:
        text = "[]"
    else:
        text = _tensor_str(data, dtype, indent)

    try:
        grad_fn = t.grad_fn
    except RuntimeError:
        # PyTorch prints this when reading grad_fn fails (a view modified in no-grad mode)
        grad_fn_name = "Invalid"
    else:
        # "torch::autograd::AccumulateGrad" prints as "AccumulateGrad"
        grad_fn_name = None if grad_fn is None else grad_fn.name().rsplit("::", 1)[-1]
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    extra = t._extra
    if extra is not None and extra.tangents:  # a dual tensor of forward-mode AD
        from .autograd.forward_ad import unpack_dual

        tangent = unpack_dual(t).tangent
        if tangent is not None:
            suffixes.append(f"tangent={tangent}")
    return _add_suffixes(prefix + text, suffixes, indent)
