"""The op call path: how an op turns arrays into a tensor and, when it must, records a node.

Contract:
- ``wrap(array)`` is the fast path: one Tensor construction, nothing recorded (it lives with
  the Tensor in tensor.py, and ``edge`` with the graph in autograd/graph.py; re-exported here,
  where the ops import them).
- ``recording(*tensors)`` says whether an op on these inputs must record (grad mode on and some
  input requires grad).
- ``record(NodeClass, array, inputs, save=..., save_out=..., args=...)`` builds the node with
  one edge per input (``(None, 0)`` for inputs that are not tensors or don't require grad),
  saves what the rule needs and returns the output tensor whose ``grad_fn`` is the node.
- ``node_class(name, vjp, jvp)`` makes the Node subclass for one op (``MulBackward0``), with the
  rule as its ``_vjp`` method. Every op's rule is registered this way: one way, no other.
- ``register(fn, name)`` publishes an op as ``ember.name`` and ``Tensor.name``, wrapped so
  wrong-typed arguments raise PyTorch's TypeError (``_checks.checked``: no cost until an
  error), and declares its op record (NOTE [op records] in ember/_records.py); the module keeps
  ``fn`` itself for its internal calls. ``publish_module`` does the same for the functions of
  ``nn.functional``, ``linalg``, ``special`` and the factories; ``alias`` publishes a second
  name of an op.

NOTE [rules are ember ops]: every backward rule computes with ember ops on tensors, never on raw
arrays. The engine runs rules under ``no_grad`` (each op is then one NumPy call on the fast path)
or, with ``create_graph=True``, with grad mode on, so the rules record their own graph and any
order of derivative works without more code.

NOTE [elementwise JVP]: for a real elementwise op the Jacobian is diagonal, so the JVP of a
tangent ``t`` is the VJP rule applied to ``t``: elementwise ops need no separate JVP rule.
"""

from __future__ import annotations

import numpy as np

from .. import _modes, _records
from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..autograd.graph import NO_EDGE, Node, _edges, _seq, edge  # noqa: F401 (re-exported)
from ..tensor import (  # (wrap is re-exported: every op module imports it here)
    Tensor,
    as_array,
    device_of,
    meta_of,
    on_device,
    wrap,
    zeros_as,
)
from ._checks import checked
from ._checks import publish as _publish

__all__ = ["wrap", "edge", "recording", "record", "record_multi", "node_class", "register",
           "OPS", "METHODS", "alias", "publish_module", "float_data", "to_tensor", "NO_EDGE",
           "arrays_only", "zeros_of", "meta_zeros", "meta_of"]

_make = Tensor._make
_new = object.__new__
_ndarray = np.ndarray

# NOTE: one shared ``_meta`` tuple per (shape, dtype): a node costs two container objects
# fewer, and every container an op allocates brings Python's cyclic GC a step nearer to a
# pass over the whole growing graph (see docs/performance.md, the 100,000-node chain).
_METAS: dict = {}

OPS: dict[str, object] = {}  # ember.<name> -> function; docs/ops.md is generated from these
METHODS: dict[str, object] = {}  # Tensor.<name> -> function


def zeros_of(g) -> Tensor:
    """A constant zero gradient shaped like ``g`` (a rule's "no gradient here": never
    ``g * 0``, which is NaN where ``g`` is inf or NaN), on ``g``'s device."""
    a = g._data
    if type(a) is _ndarray:
        return wrap(np.zeros(a.shape, a.dtype))
    return wrap(zeros_as(a, shape=a.shape))


def meta_zeros(m) -> Tensor:
    """Zeros of a node output's metadata ``m`` = ``(shape, dtype)``, or ``(shape, dtype,
    device)`` for an output off the CPU (NOTE [devices] in tensor.py)."""
    z = np.zeros(m[0], m[1])
    return wrap(z if len(m) == 2 else on_device(z, m[2]))


def known_zeros_of(g) -> Tensor:
    """``zeros_of(g)`` marked as a known zero (PyTorch's ZeroTensor, NOTE [zero gradients] in
    autograd/engine.py): the backward skips the rules it reaches, so that a zero gradient times
    an inf or NaN elsewhere in a rule stays 0."""
    t = zeros_of(g)
    t._get_extra().is_zero = True
    return t


def arrays_only() -> bool:
    """Whether a backward rule may compute on the arrays instead of with ember ops (NOTE [rules
    are ember ops]): no graph is being built, and no mode (the profiler, forward AD, anomaly
    mode, vmap) intercepts ops and would miss the work done outside them. Rules with such a
    fast path give the same values either way."""
    return not STATE.enabled and not _modes.intercepting()


def view_requires_grad(t) -> bool:
    """For an autograd view whose base changed in place: whether it now requires grad."""
    info = t._view
    if info.version != t._vc[0]:
        if info.multi is not None and info.base._requires_grad:
            # its grad_fn cannot be regenerated (reading it raises); the flag is the base's,
            # as PyTorch's
            return True
        from .inplace import current_view_grad_fn

        current_view_grad_fn(t)
    return t._requires_grad


def recording(*tensors) -> bool:
    """True when an op on ``tensors`` must record a node (non-tensors are ignored)."""
    if not STATE.enabled:
        return False
    for t in tensors:
        if type(t) is Tensor or isinstance(t, Tensor):
            if t._requires_grad or (t._view is not None and view_requires_grad(t)):
                return True
    return False


def record(node_cls, data, inputs, save=(), save_out=False, args=()) -> Tensor:
    """Output tensor of a recorded op, with a new ``node_cls`` node as its ``grad_fn``."""
    if type(data) is not _ndarray:
        data = as_array(data)  # (a device array stays itself: NOTE [devices] in tensor.py)
    if data.dtype.kind not in "fcV":  # integer and bool results are never differentiable
        return wrap(data)
    # NOTE: Node.__init__ and Tensor._make inlined: this runs once per recorded op.
    node = _new(node_cls)
    node.next_functions = _edges(inputs)
    key = (data.shape, data.dtype) if type(data) is _ndarray else \
        (data.shape, data.dtype, device_of(data))
    meta = _METAS.get(key)
    if meta is None:
        meta = (key,)
        if len(_METAS) < 4096:  # a program with ever new shapes does not grow this forever
            _METAS[key] = meta
    node._meta = meta
    node._seq = next(_seq)
    if args:
        node.args = args
    if save:
        node.save(*save)
    out = _new(Tensor)
    out._data = data
    out._requires_grad = True
    out._grad_fn = node
    out._output_nr = 0
    out._vc = [0]
    out._view = None
    out._grad = None
    out._acc = None
    out._extra = None
    if save_out:
        node.save_output(out)
    return out


def record_multi(node_cls, datas, inputs, save=(), args=(), differentiable=None) -> list:
    """Outputs of a recorded op with several outputs (``output_nr`` 0, 1, ...)."""
    node = node_cls(_edges(inputs), tuple(meta_of(d) for d in datas))
    node.args = args
    if save:
        node.save(*save)
    outs = []
    for i, d in enumerate(datas):
        if d.dtype.kind in "fcV" and (differentiable is None or differentiable[i]):
            t = _make(d, True, node)
            t._output_nr = i
        else:
            t = wrap(d)
        outs.append(t)
    return outs


def node_class(name, vjp, jvp, doc=None, display_name=None, private=None):
    """The Node subclass for one op: ``vjp(ctx, *grads)`` returns one gradient per input, and
    ``jvp(ctx, *tangents)`` the output's tangent (see _jvp.py for the shapes rules take).
    ``display_name`` is what ``name()`` returns when PyTorch's differs from a Python class
    name (``torch::autograd::CopyBackwards``). ``private(ctx, *grads)``, when given, is the
    same rule allowed to overwrite ``grads[0]`` (NOTE [private gradients] in engine.py): the
    engine calls it, with no graph being built, when nothing else can see that gradient."""
    ns = {"__slots__": (), "_vjp": vjp, "_jvp": jvp,
          "__doc__": doc or f"Backward of an op ({name})."}
    if private is not None:
        ns["_vjp_private"] = staticmethod(private)  # (an unbound lookup is cheaper)
    if display_name is not None:
        ns["_display_name"] = display_name
    cls = type(name, (Node,), ns)
    cls.__module__ = "ember.autograd.graph"
    return cls


def register(fn, name=None, method=True, function=True, method_name=None, *, op=None,
             aten=False, batch=None, kernel=None, nodes=(), saves=None):
    """Publish ``fn`` as ``ember.<name>`` and as the Tensor method ``<method_name or name>``,
    declaring its op record (NOTE [op records] in ember/_records.py); the keywords fill the
    record's fields; ``op`` names the record a method-only publication belongs to
    (``Tensor.__matmul__`` is ``matmul``'s)."""
    name = name or fn.__name__
    extra = {"aten": aten, "batch": batch, "kernel": kernel, "nodes": nodes, "saves": saves}
    for k, v in getattr(getattr(fn, "_op", fn), "_declares", {}).items():  # (a family factory's)
        if not extra[k]:
            extra[k] = v
    rec = None
    if function:
        OPS[name] = published = checked(fn, name)
        rec = _records.declare(published, "torch", name, **extra)
    if method:
        method_name = method_name or name
        METHODS[method_name] = bound = checked(fn, method_name, method=True)
        setattr(Tensor, method_name, bound)
        op = rec.name if rec is not None else op
        if op is None and getattr(fn, "_op", fn) is not fn:
            op = getattr(_records.of(fn._op), "name", None)
        _records.declare(bound, "Tensor", method_name, op=op, **extra)
    return fn


def alias(space, attr, target):
    """Publish the callable ``target`` (already published) under a second name of ``space``:
    ``Tensor.subtract_`` is ``Tensor.sub_``."""
    rec = _records.of(target)
    _records.declare(target, space, attr, op=rec.name)
    if space == "Tensor":
        setattr(Tensor, attr, target)
        METHODS[attr] = target
    elif space == "torch":
        OPS[attr] = target


def publish_module(namespace, names, space, checked=True, kind=None):
    """Publish the functions ``namespace[name]`` of a module (``nn.functional``, ``linalg``,
    ``special``, the creation functions) as ops of ``space``: checked (a wrong-typed argument
    raises PyTorch's TypeError, _checks.py) and declared (their op records, of ``kind``)."""
    if checked:
        _publish(namespace, names, space)
    for name in names:
        _records.declare(namespace[name], space, name, kind=kind)


# ---- argument helpers ---------------------------------------------------------------------

def float_data(a: np.ndarray) -> np.ndarray:
    """``a`` itself when floating, else converted to the default float dtype (PyTorch gives
    the default dtype for float-valued ops on integer and bool tensors)."""
    if a.dtype.kind in "fcV":
        return a
    return a.astype(_dt.get_default_dtype().np)


def to_tensor(x, like=None) -> Tensor:
    """A Tensor for ``x`` (a tensor, a Python number, an array or a list)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float, complex)) and like is not None:
        rt = _dt.binary_result_np(like._data, x)
        a = np.asarray(x, dtype=rt)
        return _make(a if type(like._data) is _ndarray else on_device(a, device_of(like._data)))
    from ..creation import tensor

    return tensor(x)
