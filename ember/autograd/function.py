"""Custom differentiable operations: ``autograd.Function`` (PyTorch's ``torch.autograd.Function``).

Contract:
- A subclass defines static ``forward(ctx, *args)`` (or ``forward(*args)`` plus
  ``setup_context(ctx, inputs, output)``), ``backward(ctx, *grad_outputs)`` returning one
  gradient (or None) per forward argument, and optionally ``jvp(ctx, *tangents)`` for forward
  mode. ``apply(*args)`` runs ``forward`` under ``no_grad`` and, when grad mode is on and a
  tensor argument requires grad, records one node of class ``<Name>Backward``.
- The ctx *is* the node (as in PyTorch): ``save_for_backward`` / ``saved_tensors`` (version
  checked; saving an output does not make a reference cycle), ``needs_input_grad`` (one flag
  per forward argument), ``mark_dirty``, ``mark_non_differentiable``,
  ``set_materialize_grads``, ``save_for_forward``, and any attribute the user sets.
- ``next_functions`` has one edge per tensor argument; non-tensor arguments get no edge and
  must get a None gradient. The gradient count and shapes are checked with PyTorch's messages.
- ``once_differentiable`` runs a backward under ``no_grad`` and makes differentiating its
  result raise, as PyTorch does.

NOTE [custom backward is just a rule]: the engine calls a node's ``_vjp`` with one gradient
per output; here ``_vjp`` calls the user's ``backward``. With ``create_graph=True`` grad mode
is on while it runs, so a backward written with ember ops records its own graph and double
backward works with no extra machinery, exactly as for built-in ops.
"""

from __future__ import annotations

import functools

from ..ops._registry import meta_of, meta_zeros, node_class, record
from ..tensor import Tensor  # (no cycle: NOTE [import order] in autograd/__init__.py)
from .grad_mode import STATE, no_grad
from .graph import Node, edge

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable",
           "InplaceFunction", "NestedIOFunction"]


class FunctionCtx:
    """What ``ctx`` offers inside ``forward``/``setup_context``; the node class mixes it in."""

    def save_for_backward(self, *tensors):
        """Save tensors (or None) for ``backward``; read them back with ``saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{i} is of type {type(t).__name__}")
        self._to_save = tensors

    def save_for_forward(self, *tensors):
        """Save tensors for ``jvp`` (forward mode); read them with ``saved_tensors`` there."""
        self._to_save_forward = tensors

    def mark_dirty(self, *args):
        """Declare the tensors ``forward`` modified in place (they must be returned)."""
        self._dirty = args

    def mark_non_differentiable(self, *args):
        """Declare outputs that carry no gradient (indices, masks...)."""
        self._non_differentiable = args

    def set_materialize_grads(self, value: bool):
        """Whether ``backward`` gets zeros (True, the default) or None for unused outputs."""
        self._materialize_grads = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The node of one ``Function.apply`` call; subclassed per Function as ``<Name>Backward``."""

    __slots__ = ()
    _forward_cls = None
    _materialize_grads = True
    _in_jvp = False

    @property
    def needs_input_grad(self) -> tuple:
        return self.__dict__.get("_needs_input_grad", ())

    @property
    def saved_tensors(self) -> tuple:
        if self._in_jvp:
            return tuple(self.__dict__.get("_to_save_forward", ()))
        return Node.saved_tensors.fget(self)

    def _vjp(self, *grads):
        cls = self._forward_cls
        kinds = self._out_kinds  # per forward output: index into _meta, or None (non-tensor)
        full = []
        for k in kinds:
            if k is None:
                full.append(None)
                continue
            g = grads[k]
            if g is None and self._materialize_grads:
                g = meta_zeros(self._meta[k])
            full.append(g)
        result = cls.backward(self, *full)
        return self._route(result)

    def _route(self, result):
        """The user's per-argument gradients as one gradient per edge (tensor argument)."""
        if not isinstance(result, tuple):
            result = (result,)
        tensor_arg = self._tensor_arg
        n = len(tensor_arg)
        if len(result) > n and all(r is None for r in result[n:]):
            result = result[:n]
        if len(result) != n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(result)})")
        out = []
        for i, (g, is_tensor) in enumerate(zip(result, tensor_arg)):
            if not is_tensor:
                if g is not None:
                    raise RuntimeError(
                        f"function {self.name()} returned a gradient different than None at "
                        f"position {i + 1}, but the corresponding forward input was not a "
                        "Variable")
                continue
            if g is not None and not isinstance(g, Tensor):
                raise TypeError(f"function {self.name()} returned a gradient of type "
                                f"{type(g).__name__} at position {i + 1}; expected a Tensor "
                                "or None")
            out.append(g)
        # gradients for inputs that don't require grad are dropped, as PyTorch does
        return tuple(g if fn is not None else None
                     for g, (fn, _) in zip(out, self.next_functions))

    def _jvp(self, *tangents):
        cls = self._forward_cls
        if cls.jvp is Function.jvp:
            raise NotImplementedError(
                "You must implement the jvp function for custom autograd.Function to use it "
                "with forward mode AD.")
        it = iter(tangents)
        per_arg = []
        for is_tensor in self._tensor_arg:
            t = next(it) if is_tensor else None
            per_arg.append(t)
        self._in_jvp = True
        try:
            result = cls.jvp(self, *per_arg)
        finally:
            self._in_jvp = False
        if not isinstance(result, tuple):
            result = (result,)
        outs = tuple(t for t, k in zip(result, self._out_kinds) if k is not None)
        return outs[0] if len(outs) == 1 else outs


class _FunctionMeta(type):
    """Gives each Function subclass its own node class, named ``<Name>Backward``."""

    def __init__(cls, name, bases, attrs):
        backward_cls = type(f"{name}Backward", (BackwardCFunction,),
                            {"__slots__": (), "_forward_cls": cls})
        backward_cls.__module__ = "ember.autograd.function"
        cls._backward_cls = backward_cls
        super().__init__(name, bases, attrs)


class Function(metaclass=_FunctionMeta):
    """Base class of custom differentiable operations.

    >>> class Square(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         x, = ctx.saved_tensors
    ...         return 2 * x * g
    >>> Square.apply(ember.tensor(3., requires_grad=True))
    tensor(9., grad_fn=<SquareBackward>)
    """

    def __init__(self, *args, **kwargs):
        import warnings

        warnings.warn(
            f"{type(self)} should not be instantiated. Methods on autograd functions are all "
            "static, so you should invoke them on the class itself. Instantiating an autograd "
            "function will raise an error in a future version of PyTorch.",
            DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD.")

    # vmap support (NOTE [custom Function under vmap] in ember/_vmap/custom_function.py):
    # either the ops of forward batch themselves, or this staticmethod maps the batched call
    generate_vmap_rule = False

    @staticmethod
    def vmap(info, in_dims, *args):
        raise NotImplementedError(
            "To use autograd.Function with vmap, you must either override the vmap staticmethod "
            "or set generate_vmap_rule=True.")

    @classmethod
    def apply(cls, *args, **kwargs):
        return _apply(cls, args, kwargs)[1]


def _apply(cls, args, kwargs):
    """``(ctx, output)`` of one ``apply``: forward-mode AD first (NOTE [custom jvp]), then
    the plain call."""
    level = _dual_level(args)
    if level is not None:
        return _apply_dual(cls, args, kwargs, level)
    from .. import _vmap

    if _vmap._L.stack and _vmap._function_batched(args, kwargs):
        return _vmap._custom_function(cls, args, kwargs, _apply_plain)
    return _apply_plain(cls, args, kwargs)


def _apply_plain(cls, args, kwargs):
    node = cls._backward_cls.__new__(cls._backward_cls)
    tensor_arg = tuple(isinstance(a, Tensor) for a in args)
    recording = STATE.enabled and any(
        isinstance(a, Tensor) and a.requires_grad for a in args)
    node._tensor_arg = tensor_arg
    node._needs_input_grad = tuple(
        recording and isinstance(a, Tensor) and a.requires_grad for a in args)
    node.next_functions = tuple(edge(a) for a in args if isinstance(a, Tensor)) \
        if recording else ()
    with no_grad():
        if cls.setup_context is not Function.setup_context:
            output = cls.forward(*args, **kwargs)
            cls.setup_context(node, args, output)
        else:
            output = cls.forward(node, *args, **kwargs)
    if not recording:
        return node, output
    return node, _finish(node, args, output)


# NOTE [custom jvp]: under forward-mode AD a custom Function's own ``jvp`` gives its outputs'
# tangents, as in PyTorch: ``forward`` runs on the primals (the arguments without their tangent
# at the innermost level they are dual at, so the ops inside it push no tangents of their own),
# then ``jvp(ctx, *tangents)`` runs with the same ctx — one tangent per forward argument: the
# argument's tangent, zeros for a tensor without one, None for a non-tensor. Outer levels are
# handled the same way by the recursive call on the primals (which keep their outer tangents).

def _dual_level(args):
    """The innermost forward-AD level some tensor argument has a tangent at, or None."""
    from . import forward_ad as fw

    if not fw._LEVELS:
        return None
    visible = fw._LEVELS if fw._VISIBLE[0] is None else fw._LEVELS[:fw._VISIBLE[0]]
    for level in reversed(visible):
        if any(isinstance(a, Tensor) and fw._tangent(a, level) is not None for a in args):
            return level
    return None


def _apply_dual(cls, args, kwargs, level):
    from ..creation import zeros_like
    from . import forward_ad as fw

    if cls.jvp is Function.jvp:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD.")
    primals, tangents = [], []
    for a in args:
        if isinstance(a, Tensor):
            primal, tangent = fw.unpack_dual(a, level=level)
            primals.append(primal)
            tangents.append(zeros_like(primal) if tangent is None else tangent)
        else:
            primals.append(a)
            tangents.append(None)
    node, output = _apply(cls, primals, kwargs)
    if node is None:  # a vmap staticmethod made the outputs: no ctx to run jvp with
        raise RuntimeError(f"{cls.__name__}: forward-mode AD of a custom Function mapped by its "
                           "vmap staticmethod is not supported yet")
    node._in_jvp = True
    try:
        result = cls.jvp(node, *tangents)
    finally:
        node._in_jvp = False
    outs = output if isinstance(output, tuple) else (output,)
    results = result if isinstance(result, tuple) else (result,)
    if len(results) != len(outs):
        raise RuntimeError("Function's jvp returned an invalid number of forward gradients "
                           f"(expected {len(outs)} but got {len(results)})")
    non_diff = {id(t) for t in node.__dict__.get("_non_differentiable", ())}
    for o, t in zip(outs, results):
        if isinstance(o, Tensor) and isinstance(t, Tensor) and id(o) not in non_diff \
                and o._data.dtype.kind in "fcV":
            fw._set_tangent(o, t, level)
    return node, output


def _finish(node, args, output):
    """Connect ``forward``'s outputs to ``node`` and save what ``backward`` needs."""
    from .graph import _seq

    is_tuple = isinstance(output, tuple)
    outs = list(output) if is_tuple else [output]
    dirty = {id(t) for t in node.__dict__.get("_dirty", ())}
    non_diff = {id(t) for t in node.__dict__.get("_non_differentiable", ())}
    input_ids = {id(a) for a in args if isinstance(a, Tensor)}
    kinds = []
    meta = []
    for j, o in enumerate(outs):
        if not isinstance(o, Tensor):
            kinds.append(None)
            continue
        if id(o) in dirty:
            if o._grad_fn is None and o._requires_grad:
                raise RuntimeError(
                    "a leaf Variable that requires grad has been used in an in-place "
                    "operation.")
            o._vc[0] += 1  # rebasing its history is a new version, as in PyTorch
        elif id(o) in input_ids:
            # NOTE: an input returned as is becomes a new tensor sharing its storage and
            # version counter, so the input's own history stays intact (PyTorch makes a view).
            o = outs[j] = Tensor._make(o._data, False, None, o._vc)
        kinds.append(len(meta))
        meta.append(meta_of(o._data))
    node._out_kinds = tuple(kinds)
    node._meta = tuple(meta)
    node._seq = next(_seq)
    for o, k in zip(outs, kinds):
        if k is None:
            continue
        if id(o) in non_diff or o._data.dtype.kind not in "fcV":
            o._requires_grad = False
            o._grad_fn = None
            continue
        o._grad_fn = node
        o._requires_grad = True
        o._output_nr = k
    out_index = {id(o): k for o, k in zip(outs, kinds) if k is not None}
    for t in node.__dict__.pop("_to_save", ()):
        k = out_index.get(id(t))
        if k is not None and t._grad_fn is node:
            node.save_output(t, k)
        else:
            node.save(t)
    return tuple(outs) if is_tuple else outs[0]


# ---- once_differentiable -------------------------------------------------------------------

def _delayed_error_vjp(ctx, *grads):
    raise RuntimeError("trying to differentiate twice a function that was marked with "
                       "@once_differentiable")


def _delayed_error_jvp(ctx, *tangents):
    raise RuntimeError("trying to differentiate twice a function that was marked with "
                       "@once_differentiable")


# The node of a once_differentiable result: differentiating through it raises.
_DelayedError = node_class("DelayedError", _delayed_error_vjp, _delayed_error_jvp,
                           display_name="torch::autograd::DelayedError")


def once_differentiable(fn):
    """Decorate a ``backward`` that is not differentiable itself: it runs under ``no_grad``,
    and differentiating its result raises instead of silently giving a wrong answer."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not STATE.enabled:
            return outputs
        inputs = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        if not inputs:
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        wrapped = tuple(record(_DelayedError, o._data, inputs) if isinstance(o, Tensor) else o
                        for o in outs)
        return wrapped[0] if single else wrapped

    return wrapper


class InplaceFunction(Function):
    """A Function with an ``inplace`` flag (PyTorch's base for in-place custom ops)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace


class NestedIOFunction(Function):
    """PyTorch's legacy base class; kept only as a name for ``isinstance`` checks."""
