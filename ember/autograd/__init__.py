"""``ember.autograd``: ``backward`` and ``grad`` (the user-facing entry points to the engine),
grad modes, and the graph types.

Contract: argument checking and error messages follow PyTorch's ``torch.autograd.backward`` and
``torch.autograd.grad``; the work is done by ``engine.run``.

Loaded with the package: what a plain forward and backward pass needs (grad modes, ``graph``,
the engine, ``Function``, hooks, anomaly mode, and ``forward_ad``, which the engine and the ops
consult), and ``gradcheck`` (NOTE [lazy tools] says why). The other tools load on first use
(PEP 562 ``__getattr__``): ``functional``, ``profiler``, ``profiler_util``, ``viz``,
``graph_jvp`` and ``Variable``. Every public name is reachable as ``ember.autograd.X``, by
``from ember.autograd import X`` and in ``dir(ember.autograd)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _size

# NOTE [import order]: ember/__init__.py imports this package before ember.tensor (importing
# ember.tensor first would run this package from tensor.py's first import, before ``Tensor``
# exists). These first imports (relative ones sort first) load Tensor and the ops, which need
# only this package's ``grad_mode`` and ``graph`` submodules, and those load from the
# half-imported package; so graph, the engine and function import ``Tensor`` and
# ``ops._registry`` at their tops like any module.
from ..ops._registry import wrap as _wrap
from ..tensor import Tensor as _Tensor
from . import forward_ad  # (loaded already: the engine and ops/activation.py import it)
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .engine import CHECKPOINT_VALID as _CHECKPOINT_VALID
from .engine import run as _run
from .function import Function, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import gradcheck, gradgradcheck  # (eager: NOTE [lazy tools])
from .graph import AccumulateGrad, Node
from .graph import edge as _edge

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "is_inference_mode_enabled", "Node", "AccumulateGrad", "gradcheck",
           "gradgradcheck", "Function", "once_differentiable", "functional", "forward_ad",
           "detect_anomaly", "set_detect_anomaly", "Variable"]

# NOTE [lazy tools]: the parts of torch.autograd a forward and backward pass never touch load on
# first use: with what they pull in (json, shutil and its compressors, and vmap, which forward
# AD imported) they were a tenth of ``import ember``. A submodule, once imported, is an
# attribute of this package (the import system sets it), so ``__getattr__`` runs only for a name
# not loaded yet. ``gradcheck`` stays eager because the function shares its module's name: were
# it lazy, an ``import ember.autograd.gradcheck`` coming first would leave the module, not the
# function, as ``ember.autograd.gradcheck`` (PyTorch's is the function).
_LAZY_MODULES = ("functional", "profiler", "profiler_util", "viz", "graph_jvp", "variable")
_LAZY_NAMES = {"Variable": "variable"}


def __getattr__(name):
    import importlib

    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))


_CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using "
    "autograd.grad when creating the graph to avoid this. If you have to use this function, "
    "make sure to reset the .grad fields of your parameters to None after use to break the "
    "cycle and avoid the leak.")


def _as_tuple(x):
    if x is None:
        return ()
    if isinstance(x, _Tensor):
        return (x,)
    return tuple(x)


def _make_grads(outputs, grad_outputs, is_grads_batched=False):
    """The gradient for each output: given, or ones for one-element outputs."""
    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if out._requires_grad:
                if out._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if out._data.dtype.kind not in "fV":
                    raise RuntimeError(
                        "grad can be implicitly created only for real scalar outputs but got "
                        f"{out.dtype}")
                # NOTE: np.array, not np.ones_like (a Python function, 4x the time)
                if type(out._data) is not np.ndarray:  # (a device output: ones there)
                    grads.append(_wrap(np.ones_like(out._data)))
                    continue
                one = np.array(1, dtype=out._data.dtype)
                grads.append(_wrap(one.reshape(out._data.shape) if out._data.ndim else one))
            else:
                grads.append(None)
            continue
        if not isinstance(g, _Tensor):
            raise TypeError("gradients can be either Tensors or None, but got "
                            f"{type(g).__name__}")
        gshape = g._data.shape[1:] if is_grads_batched else g._data.shape
        if gshape != out._data.shape:
            which = "grad_output" if True else ""
            raise RuntimeError(
                f"Mismatch in shape: {which}[{i}] has a shape of {_size.Size(g._data.shape)} "
                f"and output[{i}] has a shape of {_size.Size(out._data.shape)}.")
        if out._data.dtype.kind == "c" and g._data.dtype != out._data.dtype:
            raise RuntimeError(
                "For complex Tensors, both grad_output and output are required to have the "
                f"same dtype. Mismatch in dtype: grad_output[{i}] has a dtype of {g.dtype} and "
                f"output[{i}] has a dtype of {out.dtype}.")
        grads.append(g)
    return grads


def _root_edges(outputs):
    edges = []
    for i, t in enumerate(outputs):
        e = _edge(t)
        if e[0] is None:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn")
        edges.append(e)
    return edges


def _matched_grads(outputs, grad_outputs):
    """One gradient per output: extra ones are ignored and missing ones an error, as in
    PyTorch."""
    if grad_outputs is None:
        return (None,) * len(outputs)
    grad_outputs = _as_tuple(grad_outputs)
    if len(grad_outputs) < len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    return grad_outputs[:len(outputs)]


def _run_partial(*args, **kwargs):
    """``engine.run`` for a pass that computes only some gradients (``grad``,
    ``backward(inputs=...)``): reentrant checkpoints can't serve those and must say so."""
    _CHECKPOINT_VALID.append(False)
    try:
        return _run(*args, **kwargs)
    finally:
        _CHECKPOINT_VALID.pop()


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on
    (or only of ``inputs``, which may be non-leaves: they retain their grad)."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    tensors = _as_tuple(tensors)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    grad_tensors = _matched_grads(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        warnings.warn(_CREATE_GRAPH_WARNING, UserWarning, stacklevel=3)
    roots = _root_edges(tensors)
    grads = _make_grads(tensors, grad_tensors)
    if inputs is None:
        _run(roots, grads, retain_graph, create_graph)
        return
    run_targets = set()
    captures = []
    for t in inputs:
        t.retain_grad()  # non-leaf inputs get .grad through their retain_grad hook
        fn, nr = _edge(t)
        if isinstance(fn, AccumulateGrad):
            run_targets.add(fn)
        else:
            captures.append((fn, nr))
    _run_partial(roots, grads, retain_graph, create_graph, capture=captures,
                 run_targets=run_targets)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple; ``.grad`` is not
    touched."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    for t in inputs:
        if not isinstance(t, _Tensor):
            raise RuntimeError("all inputs have to be Tensors or GradientEdges, but got "
                               f"{type(t).__name__}")
    grad_outputs = _matched_grads(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                             allow_unused, materialize_grads)
    captures = []
    for t in inputs:
        e = _edge(t)
        if e[0] is None:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        captures.append(e)
    roots = _root_edges(outputs)
    grads = _make_grads(outputs, grad_outputs)
    got = _run_partial(roots, grads, retain_graph, create_graph, capture=captures,
                       accumulate=False)
    result = []
    for i, (t, g) in enumerate(zip(inputs, got)):
        if g is None:
            if materialize_grads:
                from ..creation import zeros_like

                g = zeros_like(t)
            elif not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior.")
        elif not create_graph and g._grad_fn is not None:
            g = g.detach()
        result.append(g)
    return tuple(result)


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """``is_grads_batched``: the first dim of each grad_output indexes independent VJPs."""
    from ..ops.join import stack

    n = grad_outputs[0]._data.shape[0]
    per_input = [[] for _ in inputs]
    for b in range(n):
        gs = tuple(g[b] if g is not None else None for g in grad_outputs)
        res = grad(outputs, inputs, gs, retain_graph=True if b < n - 1 else retain_graph,
                   create_graph=create_graph, allow_unused=True,
                   materialize_grads=materialize_grads)
        for lst, r in zip(per_input, res):
            lst.append(r)
    out = []
    for i, lst in enumerate(per_input):
        if any(r is None for r in lst):
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior.")
            out.append(None)
        else:
            out.append(stack(lst))
    return tuple(out)
