"""The exporter: trace one forward call at the op level, then build, check and write the model.

Contract:
- ``export_model(model, args, kwargs, ...)`` returns the checked ``onnx.ModelProto``.
- Tracing (NOTE [tracing by a mode]): the model runs once, under ``no_grad``, with
  ``_ExportMode`` entered on the calling thread. Every published op reaches the mode through
  its dispatcher (ember/_modes.py); the mode runs the op and translates only the outermost
  calls (ops call ops: a depth counter lets the inner ones through). Inputs are the tensors in
  ``args``/``kwargs``; the model's parameters and buffers become initializers named by their
  ``state_dict`` names; any other tensor an op reads (made in ``forward``, a factory's result,
  anything computed from those alone) is a constant. Python control flow and shapes read in
  Python are fixed at the values of this one run, as in PyTorch's tracer;
  ``TracerWarning`` says so when a tensor's value is read in Python (``item()``, ``bool()``...).
- Node names follow the module scope (``/fc/Gemm``) through global forward hooks;
  ``RNNBase._run`` is replaced for the duration so that LSTM/GRU/RNN export as ONNX's nodes
  (_rnn.py). Both are undone when the export ends, however it ends.
- Names: inputs are ``input_names`` or PyTorch's ``onnx::<first consumer>_<position>``,
  outputs ``output_names`` or numbers, as PyTorch's TorchScript exporter names them;
  ``dynamic_axes`` gives named (``dim_param``) dimensions to inputs and outputs (a list of
  axes gets PyTorch's ``<name>_dynamic_axes_<k>`` names); the outputs' other dimensions come
  from ONNX shape inference when some axis is dynamic.
"""

from __future__ import annotations

import inspect
import threading
import warnings

from .. import _modes, _records
from ..tensor import Tensor
from . import _EXPORTING as EXPORTING
from . import _symbolic
from ._graph import Graph, np_dtype, to_numpy
from .errors import OnnxExporterError, UnsupportedOperatorError

DEFAULT_OPSET = 20  # PyTorch 2.13's default for dynamo=False (torch/onnx/_constants.py)
MIN_OPSET = 17


class TracerWarning(Warning):
    """A value read in Python while tracing is fixed in the exported graph (PyTorch's
    ``torch.jit.TracerWarning``)."""


# reflected operators published by their op's record (``2 ** x`` is pow(2, x)); __rsub__ and
# __rtruediv__ have records of their own, which take the tensor first
_REFLECTED = {"__radd__", "__rmul__", "__rfloordiv__", "__rmod__", "__rpow__", "__rmatmul__",
              "__rand__", "__ror__", "__rxor__"}
_ATEN_FALLBACK = {"__getitem__": "index", "__setitem__": "index_put_"}
# random ops: a draw made while tracing would be frozen into the graph as a constant, so they
# are refused (in place, only on a traced value: a lazy module initialising its parameters is
# fine, the initializers read the values they end with)
_RANDOM = {"rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like",
           "randint_like", "bernoulli", "torch.bernoulli", "multinomial", "torch.multinomial"}
_RANDOM_INPLACE = {"uniform_", "normal_", "random_", "bernoulli_", "exponential_",
                   "geometric_", "cauchy_", "log_normal_"}
_SIGNATURES: dict = {}


def _signature(fn):
    sig = _SIGNATURES.get(fn, False)
    if sig is False:
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        _SIGNATURES[fn] = sig
    return sig


def _bind_args(record, fn, attr, args, kwargs):
    """The call's arguments by the op's parameter names (defaults filled in)."""
    if attr in _REFLECTED and len(args) == 2:
        args = (args[1], args[0])
    for f in (record.fn, fn):
        sig = _signature(f)
        if sig is None:
            continue
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            continue
        bound.apply_defaults()
        a = dict(bound.arguments)
        if "self" in a:  # Tensor methods name their tensor self, the functions input
            a.setdefault("input", a["self"])
        return a
    return {"input": args[0]} if args else dict(kwargs)


def _tensors(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _tensors(v, out)
    elif isinstance(obj, dict):
        for v in obj.values():
            _tensors(v, out)
    return out


def _aten(key):
    name = _records.aten(key.space, key.name) or key.record.aten
    if name is None:
        name = key.record.name
        name = _ATEN_FALLBACK.get(name, name.split(".")[-1])
    return name


class _ExportMode(_modes.Mode):
    """Translates the outermost op calls of the exporting thread (NOTE [tracing by a mode])."""

    thread_local = True

    def __init__(self, g):
        self.g = g
        self.depth = 0

    def wrap(self, key, fn):
        if key.space == "internal" or key.record is None:
            return fn

        def traced(*args, **kwargs):
            if self.depth:
                return fn(*args, **kwargs)
            self.depth += 1
            try:
                out = fn(*args, **kwargs)
                self._record(key, fn, args, kwargs, out)
            finally:
                self.depth -= 1
            return out
        return traced

    def _record(self, key, fn, args, kwargs, out):
        g, record = self.g, key.record
        inputs = _tensors((args, kwargs), [])
        if record.name in _RANDOM or (record.name in _RANDOM_INPLACE and args and
                                      id(args[0]) in g.values and id(args[0]) not in g.params):
            raise UnsupportedOperatorError(f"aten::{_aten(key)}", g.opset, None)
        if not any(g.traced(t) for t in inputs):
            # computed from constants alone: the result is a constant (its value is read when
            # an op uses it); an in-place op on a constant changed its value
            for t in inputs:
                g.forget_constant(t)
            return
        if not _tensors(out, []) and record.name != "__setitem__":
            return  # a Python value (dim(), equal()...): fixed, as the tracer fixes it
        if record.kind == "factory" and record.name not in _symbolic.CONVERTERS:
            return  # new_zeros and the like: a constant of the traced shape
        a = _bind_args(record, fn, key.name, args, kwargs)
        _symbolic.convert(g, _symbolic.Call(record.name, _aten(key), a, out))


# NOTE [tracing by a mode]: PyTorch's exporter traces through TorchScript; ember has no IR, but
# every published op passes through one dispatcher (ember/_modes.py), so a mode sees every op
# call the model makes, with its arguments as given and its result computed by the op itself.
# Translating from the call (not from a recorded autograd graph) keeps the op's own parameters
# (a conv's padding, a max's keepdim) and works for ops that record no node (integer ops,
# in-place updates, anything under no_grad).


_READS = {"item": "a Python number", "__bool__": "a Python boolean",
          "__float__": "a Python float", "__int__": "a Python integer",
          "__index__": "a Python index", "tolist": "a Python list", "numpy": "a NumPy array"}


def _read_warning(what):
    return (f"Converting a tensor to {what} might cause the trace to be incorrect. We can't "
            "record the data flow of Python values, so this value will be treated as a "
            "constant in the future. This means that the trace might not generalize to other "
            "inputs!")


class _Tracing:
    """Everything replaced while one trace runs, and its undoing."""

    def __init__(self, g, model):
        self.g = g
        self.mode = _ExportMode(g)
        self.thread = threading.get_ident()
        self.model = model
        self.swaps = _modes.Swaps()
        self.handles = []
        self.stack = []  # (qualified name) or None per module call

    def mine(self):
        return threading.get_ident() == self.thread

    def __enter__(self):
        try:
            self._install()
        except BaseException:
            self.swaps.restore()
            for h in self.handles:
                h.remove()
            raise
        _modes.enter(self.mode)
        EXPORTING[0] += 1
        return self

    def _install(self):
        from ..nn.modules import module as module_mod
        from ..nn.modules import rnn

        names = {}
        if isinstance(self.model, module_mod.Module):
            names = {id(m): n for n, m in self.model.named_modules(remove_duplicate=False)}

        def pre(module, args):
            if not self.mine():
                return
            qual = names.get(id(module))
            if not qual:
                self.stack.append(None)
                return
            parent = next((q for q in reversed(self.stack) if q is not None), "")
            rel = qual[len(parent) + 1:] if parent and qual.startswith(parent + ".") else qual
            self.stack.append(qual)
            self.g.scope.append(rel)

        def post(module, args, output):
            if not self.mine() or not self.stack:
                return
            if self.stack.pop() is not None:
                self.g.scope.pop()

        self.handles.append(module_mod.register_module_forward_pre_hook(pre))
        self.handles.append(module_mod.register_module_forward_hook(post, always_call=True))

        original_run = rnn.RNNBase._run
        mode = self.mode
        from ._rnn import export_rnn

        def run(module, input, hx, cx):
            if mode.depth or not self.mine():
                return original_run(module, input, hx, cx)
            mode.depth += 1
            try:
                out, h_n, c_n = original_run(module, input, hx, cx)
                export_rnn(self.g, module, input, hx, cx, out, h_n, c_n)
            finally:
                mode.depth -= 1
            return out, h_n, c_n
        self.swaps.set(rnn.RNNBase, "_run", run)

        for attr, what in _READS.items():
            original = Tensor.__dict__.get(attr)
            if original is not None:
                self.swaps.set(Tensor, attr, self._reader(original, what))

    def _reader(self, original, what):
        mode = self.mode

        def read(t, *args, **kwargs):
            if not mode.depth and self.mine() and self.g.traced(t):
                warnings.warn(_read_warning(what), TracerWarning, stacklevel=2)
            return original(t, *args, **kwargs)
        read.__name__ = original.__name__
        return read

    def __exit__(self, *exc):
        EXPORTING[0] -= 1
        _modes.exit(self.mode)
        self.swaps.restore()
        for h in self.handles:
            h.remove()


# ---- the model ----


def _dynamic_axes(dynamic_axes, input_names, output_names):
    """{value name: {axis: dim_param}} in PyTorch's forms (a dict, or a list of axes)."""
    result = {}
    for key, value in (dynamic_axes or {}).items():
        if key not in input_names and key not in output_names:
            warnings.warn(f"Provided key {key} for dynamic axes is not a valid input/output "
                          "name", stacklevel=4)
            continue
        if isinstance(value, dict):
            result[key] = {int(k): str(v) for k, v in value.items()}
        else:
            result[key] = {int(k): f"{key}_dynamic_axes_{i + 1}" for i, k in enumerate(value)}
    return result


def _value_info(helper, name, dtype, shape, dims):
    shape = [dims.get(i, s) for i, s in enumerate(shape)] if shape is not None else None
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(dtype), shape)


def _flatten_args(args, kwargs):
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    elif not isinstance(args, tuple):
        args = (args,)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):  # PyTorch: a trailing dict holds the kwargs
        kwargs = {**args[-1], **kwargs}
        args = args[:-1]
    return args, kwargs


def _params(model):
    params = {}
    if hasattr(model, "named_parameters"):
        for name, p in model.named_parameters():
            params.setdefault(id(p), name)
        for name, b in model.named_buffers():
            if b is not None:
                params.setdefault(id(b), name)
    return params


def export_model(onnx, model, args, kwargs, *, export_params, verbose, training, input_names,
                 output_names, opset_version, dynamic_axes, keep_initializers_as_inputs):
    import ember

    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    top = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= top:
        raise ValueError(f"Unsupported ONNX opset version: {opset}. ember.onnx exports "
                         f"opset versions {MIN_OPSET} to {top}")
    args, kwargs = _flatten_args(args, kwargs)
    g = Graph(onnx, opset, _params(model))
    g.dynamic = bool(dynamic_axes)
    g.training = False

    # the training mode PyTorch's export sets for its duration (TrainingMode)
    modes = []
    if hasattr(model, "modules") and training in (0, 2):
        modes = [(m, m.training) for m in model.modules()]
        model.train(training == 2)
        g.training = training == 2
    elif hasattr(model, "training"):
        g.training = bool(model.training)

    inputs = _tensors((args, kwargs), [])
    placeholders = []
    seen = set()
    for i, t in enumerate(inputs):
        if id(t) in seen:
            continue
        seen.add(id(t))
        name = f"__ember_input_{i}"
        placeholders.append((name, t))
        g.bind(t, name)
    try:
        with ember.no_grad(), _Tracing(g, model):
            out = model(*args, **kwargs)
    finally:
        for m, was in modes:
            m.training = was
    outputs = _tensors(out, [])
    if not outputs:
        raise OnnxExporterError("the model returned no tensor to export")
    out_values = [g.name_of(t) for t in outputs]
    return _build(onnx, g, placeholders, outputs, out_values, export_params=export_params,
                  verbose=verbose, input_names=input_names, output_names=output_names,
                  dynamic_axes=dynamic_axes,
                  keep_initializers_as_inputs=keep_initializers_as_inputs)


def _rename(nodes, old, new):
    for node in nodes:
        for seq in (node.input, node.output):
            for i, v in enumerate(seq):
                if v == old:
                    seq[i] = new


def _build(onnx, g, placeholders, outputs, out_values, *, export_params, verbose, input_names,
           output_names, dynamic_axes, keep_initializers_as_inputs):
    import ember

    helper = onnx.helper
    nodes = g.nodes

    # inputs: the given names, else PyTorch's onnx::<first consumer>_<position>
    final_inputs = []
    for i, (placeholder, t) in enumerate(placeholders):
        if input_names is not None and i < len(input_names):
            name = input_names[i]
        else:
            consumer = next((n.op_type for n in nodes if placeholder in n.input), None)
            name = f"onnx::{consumer}_{i}" if consumer else f"input.{i + 1}"
        _rename(nodes, placeholder, name)
        final_inputs.append((name, t))
    input_set = {n for n, _ in final_inputs}
    renamed = {p: n for (p, _), (n, _) in zip(placeholders, final_inputs)}
    out_values = [renamed.get(v, v) for v in out_values]

    # outputs: rename the producing node's output, or an Identity where that cannot be
    produced = {o for n in nodes for o in n.output}
    final_outputs = []
    used = set()
    for i, v in enumerate(out_values):
        name = (output_names[i] if output_names is not None and i < len(output_names)
                else g.fresh_number())
        if v in produced and v not in used and v not in input_set:
            _rename(nodes, v, name)
            produced.discard(v)
        else:
            nodes.append(helper.make_node("Identity", [v], [name], name=f"/Identity_{i}"))
        used.add(v)
        final_outputs.append(name)

    dims = _dynamic_axes(dynamic_axes, [n for n, _ in final_inputs], final_outputs)
    graph_inputs = [_value_info(helper, n, np_dtype(t), list(t.shape), dims.get(n, {}))
                    for n, t in final_inputs]
    initializers = []
    for name, t in g.param_tensors.items():
        if export_params:
            initializers.append(onnx.numpy_helper.from_array(to_numpy(t), name))
        if not export_params or keep_initializers_as_inputs:
            graph_inputs.append(_value_info(helper, name, np_dtype(t), list(t.shape), {}))
    for name, array in g.extra_inits.items():
        initializers.append(onnx.numpy_helper.from_array(array, name))
        if keep_initializers_as_inputs:
            graph_inputs.append(_value_info(helper, name, array.dtype, list(array.shape), {}))

    def outputs_info(shaped):
        return [_value_info(helper, n, np_dtype(t), list(t.shape) if shaped else None,
                            dims.get(n, {})) for n, t in zip(final_outputs, outputs)]

    opset_ids = [helper.make_opsetid("", g.opset)]
    ir = helper.find_min_ir_version_for(opset_ids)

    def model_of(graph_outputs):
        graph = helper.make_graph(nodes, "main_graph", graph_inputs, graph_outputs,
                                  initializer=initializers)
        return helper.make_model(graph, opset_imports=opset_ids, ir_version=ir,
                                 producer_name="ember", producer_version=ember.__version__)

    if not dims:
        model = model_of(outputs_info(True))
    else:
        # dynamic axes: the outputs' dimensions as shape inference finds them (symbolic ones
        # follow the inputs'), the named ones as dynamic_axes says
        model = model_of(outputs_info(False))
        inferred = onnx.shape_inference.infer_shapes(model)
        found = {vi.name: vi for vi in (*inferred.graph.value_info, *inferred.graph.output)}
        infos = []
        for name, t in zip(final_outputs, outputs):
            shape = [None] * t.dim()
            vi = found.get(name)
            if vi is not None and vi.type.tensor_type.HasField("shape"):
                got = vi.type.tensor_type.shape.dim
                if len(got) == t.dim():
                    shape = [d.dim_value if d.HasField("dim_value") else
                             (d.dim_param or None) for d in got]
            for axis, label in dims.get(name, {}).items():
                shape[axis] = label
            infos.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(np_dtype(t)), shape))
        model = model_of(infos)
    onnx.checker.check_model(model)
    if verbose:
        printer = getattr(onnx, "printer", None)  # (onnx >= 1.15; printable_graph is deprecated)
        print(printer.to_text(model.graph) if printer else helper.printable_graph(model.graph))
    return model
