"""The ONNX graph being built during an export: nodes, initializers, and the map from ember
tensors to ONNX value names.

Contract:
- ``Graph(onnx, opset, params)``: ``params`` maps ``id(tensor)`` of each parameter and buffer
  of the exported model to its ``state_dict`` name (its initializer's name, as PyTorch's).
- ``name_of(t)``: the value name of tensor ``t``: a traced value (input, op result), a
  parameter (its initializer is added on first use), or else a constant: the tensor's current
  value as a ``Constant`` node (a tensor made in ``forward`` from Python data, a factory's
  result, anything computed only from constants).
- ``traced(t)``: whether ``t`` is an input, a parameter, or computed from one.
- ``bind(t, name)``: ``t`` is now the value ``name`` (an op's result; an in-place op rebinds).
- ``op(op_type, inputs, outputs=1, **attrs)``: appends a node named as PyTorch names them
  (``/<module scope>/<OpType>``, ``_1``, ``_2``... when repeated) whose outputs are
  ``<node name>_output_<i>``; returns the output name (a list when ``outputs > 1``).
- ``const(array)``: a ``Constant`` node; ``i64(values)``: an int64 1-D constant.
- ``initializer(name_stem, array)``: an extra initializer (``onnx::<stem>_<n>``: the LSTM's
  reordered weights), as PyTorch names the ones it makes.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def np_dtype(t):
    """The NumPy dtype of an ember tensor (bfloat16 through ml_dtypes)."""
    dt = t.dtype._np
    if dt is None:  # bfloat16 before ml_dtypes is loaded
        from ..dtypes import _load_bfloat16

        _load_bfloat16()
        dt = t.dtype._np
    return np.dtype(dt)


def to_numpy(t) -> np.ndarray:
    """A tensor's value as a NumPy array (a copy off the device)."""
    return np.array(t.detach().cpu().numpy(), copy=True)


class Graph:
    """The graph under construction (see the module docstring)."""

    def __init__(self, onnx, opset: int, params: dict):
        self.onnx = onnx
        self.helper = onnx.helper
        self.opset = opset
        self.params = params  # id(tensor) -> state_dict name
        self.param_tensors: dict = {}  # name -> tensor, for the initializers used
        self.nodes: list = []
        self.extra_inits: dict = {}  # name -> array (initializers that are not parameters)
        self.values: dict = {}  # id(tensor) -> value name
        self._keep: list = []  # the tensors whose ids key values and _consts (ids stay unique)
        self._consts: dict = {}  # id(tensor) -> Constant output name
        self.scope: list = []  # module names, outermost first
        self._names: dict = {}  # node name -> how many times it was used
        self._count = 0
        self.dynamic = False  # some axis is dynamic (reshapes then copy matching dimensions)
        self.training = False  # exporting in training mode (attention's dropout is kept)

    # ---- values ----

    def traced(self, t) -> bool:
        return id(t) in self.values or id(t) in self.params

    def bind(self, t, name: str) -> None:
        self.values[id(t)] = name
        self._consts.pop(id(t), None)
        self._keep.append(t)

    def forget_constant(self, t) -> None:
        """``t`` (a constant) was changed in place: its next use makes a new Constant."""
        self._consts.pop(id(t), None)

    def name_of(self, t) -> str:
        key = id(t)
        name = self.values.get(key)
        if name is not None:
            return name
        name = self.params.get(key)
        if name is not None:
            self.param_tensors[name] = t
            self.values[key] = name
            self._keep.append(t)
            return name
        name = self._consts.get(key)
        if name is None:
            name = self._consts[key] = self.const(to_numpy(t))
            self._keep.append(t)
        return name

    # ---- nodes ----

    def _node_name(self, op_type: str) -> str:
        base = "/" + "/".join([*self.scope, op_type])
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def op(self, op_type: str, inputs, outputs: int = 1, **attrs):
        name = self._node_name(op_type)
        outs = [f"{name}_output_{i}" for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, name=name,
                                                **attrs))
        self._count += outputs
        return outs[0] if outputs == 1 else outs

    def const(self, array) -> str:
        array = np.asarray(array)
        # (np.ascontiguousarray would make a 0-d array 1-d)
        tensor = self.onnx.numpy_helper.from_array(np.array(array, order="C", copy=True))
        return self.op("Constant", [], value=tensor)

    def i64(self, values) -> str:
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1))

    def scalar(self, value, dtype) -> str:
        """A 0-d constant of NumPy ``dtype`` (a Python number in an op: PyTorch's weak scalar
        takes the tensor's dtype)."""
        return self.const(np.asarray(value, dtype=dtype))

    def initializer(self, stem: str, array) -> str:
        self._count += 1
        name = f"onnx::{stem}_{self._count}"
        self.extra_inits[name] = np.array(array, order="C", copy=True)
        return name

    def fresh_number(self) -> str:
        """A value name made of digits, unused so far (PyTorch's default output names)."""
        self._count += 1
        return str(self._count)

    # ---- opset-dependent forms ----

    def unsqueeze(self, x: str, axes) -> str:
        return self.op("Unsqueeze", [x, self.i64(axes)])

    def squeeze(self, x: str, axes) -> str:
        return self.op("Squeeze", [x, self.i64(axes)])

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """``op_type`` over ``axes`` (None: all); axes are an input from opset 13 (ReduceSum)
        or 18 (the others)."""
        as_input = op_type == "ReduceSum" or self.opset >= 18
        if axes is None:
            return self.op(op_type, [x], keepdims=int(keepdims))
        axes = [int(a) for a in axes]
        if as_input:
            return self.op(op_type, [x, self.i64(axes)], keepdims=int(keepdims))
        return self.op(op_type, [x], axes=axes, keepdims=int(keepdims))

    def split(self, x: str, sizes, axis: int):
        outs = self.op("Split", [x, self.i64(sizes)], outputs=len(sizes), axis=axis)
        return [outs] if len(sizes) == 1 else outs

    def cast(self, x: str, dtype) -> str:
        return self.op("Cast", [x], to=self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def operand(self, v, dtype) -> str:
        """A tensor or Python number as a value of NumPy ``dtype`` (cast when it differs)."""
        if isinstance(v, Tensor):
            name = self.name_of(v)
            return name if np_dtype(v) == dtype else self.cast(name, dtype)
        return self.scalar(v, dtype)
