"""Seeing the graph: Graphviz DOT text for a tensor's backward graph, rendering it, and a report
of the memory its saved tensors hold. Re-exported from ``ember.autograd.graph``.

Contract:
- ``to_dot(tensor, params=None, show_saved=True)`` returns a ``Dot`` (a ``str`` of DOT text)
  with one box per node reachable from ``tensor.grad_fn`` along ``next_functions``, labelled by
  its ``name()``, output shape and dtype, and (``show_saved``) the size of each saved tensor;
  leaves (AccumulateGrad) are labelled by their name in ``params`` (a dict name -> tensor, as
  torchviz's ``make_dot``) or else by their shape. Edges point the way the forward pass ran
  (input -> op), as torchviz draws them. Node ids follow the walk order, not memory addresses,
  so the text is the same on every run (snapshot tests).
- ``render(dot, path, format="svg")`` (also ``Dot.render``) writes the picture with the
  ``graphviz`` package or the ``dot`` program; without them it raises one error saying what to
  install.
- ``memory_report(tensor)`` returns ``[(node name, bytes held by its saved tensors), ...]``,
  largest first; ``str()`` of it is a printable table.
"""

from __future__ import annotations

import os
import shutil

__all__ = ["to_dot", "render", "memory_report", "Dot", "MemoryReport"]

_RENDER_HINT = (
    "rendering a graph needs Graphviz: `pip install ember[graphviz]` for the Python package, "
    "and the `dot` program itself (apt install graphviz, brew install graphviz, or "
    "https://graphviz.org/download/) on the PATH")


# ---- walking the graph --------------------------------------------------------------------

def _outputs(tensors) -> list:
    from ..tensor import Tensor

    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _nodes(tensors):
    """Nodes reachable from the tensors' ``grad_fn``, in a deterministic depth-first order
    following ``next_functions`` (iterative: graphs of any depth)."""
    roots = []
    for t in _outputs(tensors):
        if t.grad_fn is not None and t.grad_fn not in roots:
            roots.append(t.grad_fn)
    order = []
    seen = {id(r) for r in roots}
    stack = roots[::-1]
    while stack:
        node = stack.pop()
        order.append(node)
        for nxt, _ in reversed(node.next_functions):
            if nxt is not None and id(nxt) not in seen:
                seen.add(id(nxt))
                stack.append(nxt)
    return order


def _dtype_name(np_dtype) -> str:
    from ..dtypes import from_np

    try:
        return str(from_np(np_dtype)).replace("torch.", "")
    except (KeyError, TypeError, ValueError):
        return str(np_dtype)


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _saved_items(node):
    """``(label, array)`` for each saved tensor of ``node`` (none once a backward pass freed
    them): ``input`` for a saved input, ``result`` for the node's own output. (Which inputs an
    op saves is its rule's choice: ember's mul saves only the operand the other's gradient
    needs, so positional names such as PyTorch's ``_saved_other`` would mislead.)"""
    from ..tensor import Tensor
    from .graph import _Packed, _SavedOutput

    saved = node._saved
    if not saved:
        return []
    out = []
    for item in saved:
        kind = type(item)
        if kind is _SavedOutput:
            out.append(("result", item.data))
            continue
        if kind is _Packed:  # what a saved-tensor pack hook kept is what is held
            if item.output_nr is not None:
                if isinstance(item.value, Tensor):
                    out.append(("result", item.value._data))
                continue
            value = item.value
        elif isinstance(item, Tensor):
            value = item
        else:
            continue
        if isinstance(value, Tensor):
            out.append(("input", value._data))
    return out


def _saved_bytes(node) -> int:
    """Bytes the saved tensors of ``node`` hold (each array once)."""
    seen = set()
    total = 0
    for _, data in _saved_items(node):
        owner = data if data.base is None else data.base
        if id(owner) not in seen:
            seen.add(id(owner))
            total += owner.nbytes
    return total


# ---- DOT text -----------------------------------------------------------------------------

class Dot(str):
    """DOT text of a graph (a ``str``); ``render(path, format)`` draws it."""

    def render(self, path, format="svg"):  # noqa: A002 - graphviz's name
        return render(self, path, format)

    @property
    def source(self) -> str:
        return str(self)

    def _repr_svg_(self):
        """The picture in Jupyter when Graphviz is installed (else the text is shown)."""
        if shutil.which("dot") is None:
            return None
        import subprocess  # NOTE: here, not at the top: it costs ~3 ms of ``import ember``

        proc = subprocess.run(["dot", "-Tsvg"], input=str(self).encode(), capture_output=True,
                              check=False)
        return proc.stdout.decode() if proc.returncode == 0 else None


def _quote(text) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor, params=None, show_saved=True) -> Dot:
    """Graphviz DOT text of ``tensor``'s backward graph (``tensor`` may be a tuple or list of
    outputs: one green box each, ``out0``, ``out1``...).

    >>> w = ember.ones(2, 3, requires_grad=True)
    >>> y = (w * 2).sum()
    >>> print(ember.autograd.graph.to_dot(y, params={"w": w}))  # doctest: +SKIP
    """
    names = {}
    for name, t in (params or {}).items():
        names[id(t)] = name
    nodes = _nodes(tensor)
    ids = {id(n): f"n{i}" for i, n in enumerate(nodes)}
    lines = ["digraph {",
             '\tgraph [rankdir=BT size="12,12"]',
             "\tnode [align=left fontname=monospace fontsize=10 height=0.2 shape=box "
             "style=filled]"]
    outputs = _outputs(tensor)
    out_ids = ["out"] if len(outputs) == 1 else [f"out{i}" for i in range(len(outputs))]
    for oid, t in zip(out_ids, outputs):
        if t.grad_fn is not None:
            label = f"output\n{_shape(t.shape)} {_dtype_name(t._data.dtype)}"
            lines.append(f"\t{oid} [label={_quote(label)} fillcolor=darkolivegreen1]")
    from .graph import AccumulateGrad

    for node in nodes:
        nid = ids[id(node)]
        if isinstance(node, AccumulateGrad):
            shape, dtype = node._meta[0]
            label = f"{_shape(shape)} {_dtype_name(dtype)}"
            var = node.variable  # None once the leaf is gone (nodes hold leaves weakly)
            if var is not None and id(var) in names:
                label = f"{names[id(var)]}\n{label}"
            lines.append(f"\t{nid} [label={_quote(label)} fillcolor=lightblue]")
            continue
        parts = [node.name()]
        for shape, dtype in node._meta:
            parts.append(f"{_shape(shape)} {_dtype_name(dtype)}")
        if show_saved:
            for label, data in _saved_items(node):
                parts.append(f"saved {label} {_shape(data.shape)} {_dtype_name(data.dtype)}")
        lines.append(f"\t{nid} [label={_quote(chr(10).join(parts))} fillcolor=lightgrey]")
    for node in nodes:
        for nxt, _ in node.next_functions:
            if nxt is not None:
                lines.append(f"\t{ids[id(nxt)]} -> {ids[id(node)]}")
    for oid, t in zip(out_ids, outputs):
        if t.grad_fn is not None:
            lines.append(f"\t{ids[id(t.grad_fn)]} -> {oid}")
    lines.append("}")
    return Dot("\n".join(lines) + "\n")


def render(dot, path, format="svg") -> str:  # noqa: A002 - graphviz's name
    """Draw DOT text into ``path`` (``format``: svg, png, pdf...) with the ``graphviz`` package
    or, without it, the ``dot`` program; returns ``path``."""
    if shutil.which("dot") is None:
        raise RuntimeError(_RENDER_HINT)
    path = os.fspath(path)
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is not None:
        data = graphviz.Source(str(dot)).pipe(format=format)
    else:
        import subprocess

        proc = subprocess.run(["dot", f"-T{format}"], input=str(dot).encode(),
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"dot -T{format} failed: {proc.stderr.decode().strip()}")
        data = proc.stdout
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---- memory -------------------------------------------------------------------------------

class MemoryReport(list):
    """``[(node name, bytes), ...]``, largest first; ``str()`` is a table with a total."""

    @property
    def total(self) -> int:
        return sum(b for _, b in self)

    def __str__(self):
        from .profiler_util import _format_memory

        width = max([len("Node")] + [len(name) for name, _ in self]) + 2
        rule = "-" * (width + 14)
        lines = [rule, f"{'Node':<{width}}{'Saved':>14}", rule]
        lines += [f"{name:<{width}}{_format_memory(b):>14}" for name, b in self]
        lines += [rule, f"{'Total':<{width}}{_format_memory(self.total):>14}"]
        return "\n".join(lines)


def memory_report(tensor) -> MemoryReport:
    """Bytes held by the saved tensors of each node of ``tensor``'s graph (or of several
    outputs' graph), largest first (ties in graph order); leaves and nodes that save nothing
    are left out.

    >>> x = ember.ones(1000, requires_grad=True)
    >>> memory_report((x * x).exp().sum())[0]
    ('ExpBackward0', 4000)
    """
    rows = [(node.name(), _saved_bytes(node)) for node in _nodes(tensor)]
    rows = [r for r in rows if r[1] > 0]
    rows.sort(key=lambda r: -r[1])
    return MemoryReport(rows)
