"""``ember.onnx``: ``torch.onnx.export`` for ember models, written through the ``onnx`` package.

Contract:
- ``export(model, args, f, ...)`` has ``torch.onnx.export``'s signature (PyTorch 2.13). It
  traces one call of ``model`` at the op level (ember/onnx/_export.py), translates each op to
  ONNX (_symbolic.py; LSTM/GRU/RNN modules to ONNX's recurrent nodes, _rnn.py), checks the model
  with ``onnx.checker`` and writes it to ``f``: a path (written atomically: a temporary file in
  the same folder, then ``os.replace``) or a binary file object. ``dynamo=False`` returns None;
  ``dynamo=True`` (PyTorch's default) returns an ``ONNXProgram`` (``model_proto``, ``save``,
  and ``__call__`` through onnxruntime) whether or not ``f`` is given. Both build the same
  graph, named as PyTorch's TorchScript exporter names it. Default opset: 20, PyTorch 2.13's.
- The options PyTorch's TorchScript exporter reads are honoured: ``input_names``,
  ``output_names``, ``dynamic_axes``, ``opset_version``, ``export_params``,
  ``keep_initializers_as_inputs``, ``training`` (EVAL by default: the model is put in eval mode
  for the export and restored), ``verbose``, ``kwargs``. The others are accepted and ignored:
  ``do_constant_folding`` (constants computed from constants are folded while tracing; ops on
  parameters are kept, so initializers keep their ``state_dict`` names), the dynamo
  exporter's ``external_data``/``report``/``optimize``/``verify``/``profile``/... options;
  ``dynamic_shapes`` in its dict form ``{input name: {axis: name}}`` is read as
  ``dynamic_axes``.
- Errors: an op without a translation raises ``errors.UnsupportedOperatorError`` with PyTorch's
  message ("Exporting the operator 'aten::<op>' to ONNX opset version <v> is not supported");
  without the ``onnx`` package, ``export`` raises ModuleNotFoundError naming
  ``pip install 'ember[onnx]'``. ``import ember.onnx`` never imports ``onnx``.
- ``is_in_onnx_export()`` is True while an export traces the model.
"""

from __future__ import annotations

import enum
import os
import tempfile

from . import errors
from .errors import OnnxExporterError

__all__ = ["errors", "export", "is_in_onnx_export", "OnnxExporterError", "ONNXProgram",
           "TrainingMode", "OperatorExportTypes"]

_EXPORTING = [0]  # exports tracing now (the exporter counts them)
_MISSING = ("ember.onnx.export writes models through the optional onnx package: "
            "pip install 'ember[onnx]'")


class TrainingMode(enum.IntEnum):
    """The training mode a model is exported in (``torch.onnx.TrainingMode``)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """``torch.onnx.OperatorExportTypes``: only ONNX is exported."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


def _onnx():
    try:
        import onnx
    except ImportError as e:
        raise ModuleNotFoundError(_MISSING, name="onnx") from e
    return onnx


class ONNXProgram:
    """What ``export(..., dynamo=True)`` returns: the model, to save or to run."""

    def __init__(self, model_proto):
        self.model_proto = model_proto

    @property
    def model(self):
        return self.model_proto

    def save(self, destination, **kwargs):
        """Write the model to a path (atomically) or a binary file object."""
        _write(self.model_proto.SerializeToString(), destination)

    def __call__(self, *args, **kwargs):
        """Run the model in onnxruntime on ember tensors (or arrays); returns ember tensors."""
        import numpy as np
        import onnxruntime

        import ember

        from ._export import _flatten_args, _tensors

        args, kwargs = _flatten_args(args, kwargs)
        session = onnxruntime.InferenceSession(self.model_proto.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        arrays = [t.detach().cpu().numpy() if isinstance(t, ember.Tensor) else np.asarray(t)
                  for t in _tensors((args, kwargs), [])]
        return [ember.from_numpy(np.asarray(r)) for r in
                session.run(None, dict(zip(names, arrays)))]

    def __repr__(self):
        graph = self.model_proto.graph
        return (f"ONNXProgram(inputs={[i.name for i in graph.input]}, "
                f"outputs={[o.name for o in graph.output]}, nodes={len(graph.node)})")


def _write(data: bytes, f) -> None:
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".onnx.tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
    else:
        f.write(data)


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None,
           output_names=None, opset_version=None, dynamo=True, external_data=True,
           dynamic_shapes=None, custom_translation_table=None, report=False, optimize=True,
           verify=False, profile=False, dump_exported_program=False, artifacts_dir=".",
           export_params=True, keep_initializers_as_inputs=False, dynamic_axes=None,
           training=TrainingMode.EVAL, operator_export_type=OperatorExportTypes.ONNX,
           do_constant_folding=True, custom_opsets=None, export_modules_as_functions=False,
           autograd_inlining=True):
    """Export ``model`` called on ``args`` as an ONNX model (see the module docstring)."""
    onnx = _onnx()
    from ._export import export_model

    if dynamic_axes is None and isinstance(dynamic_shapes, dict):
        dynamic_axes = {k: v for k, v in dynamic_shapes.items() if v}
    if not dynamo and f is None:
        raise ValueError("f must be a path or a binary file object when dynamo=False")
    proto = export_model(onnx, model, args, kwargs, export_params=export_params,
                         verbose=verbose, training=int(training), input_names=input_names,
                         output_names=output_names, opset_version=opset_version,
                         dynamic_axes=dynamic_axes,
                         keep_initializers_as_inputs=keep_initializers_as_inputs)
    if f is not None:
        _write(proto.SerializeToString(), f)
    return ONNXProgram(proto) if dynamo else None


def is_in_onnx_export() -> bool:
    """Whether an ONNX export is tracing a model now."""
    return bool(_EXPORTING[0])
