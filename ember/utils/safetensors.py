"""safetensors files for ember tensors, as ``safetensors.torch`` gives them to PyTorch users.

Contract:
- ``save_file(tensors, filename, metadata=None)`` / ``save(tensors, metadata=None) -> bytes``
  write a ``{name: tensor}`` dict (ember tensors or NumPy arrays) in the safetensors format;
  ``load_file(filename, device="cpu")`` / ``load(data)`` read one back as ``{name: tensor}``
  in file order. Files move both ways with ``safetensors.torch``. CUDA tensors are written
  from host copies; ``load_file(..., device="cuda")`` (``"cuda:1"``, an index, an
  ``ember.device``) places every tensor on that device, as ``safetensors.torch`` does.
- The work is done by the ``safetensors`` package's NumPy API (the optional extra
  ``pip install 'ember[safetensors]'``); without it every function raises ModuleNotFoundError
  saying so. bfloat16, which NumPy (and so that API) lacks, travels as its raw 16 bits: ember
  renames the dtype in the JSON header (``BF16`` <-> ``U16``) around the package's calls.
- Every tensor is written C-contiguous (the NumPy API would write a transposed array in memory
  order, silently wrong); tensors sharing memory are written as separate copies, since the
  format has no sharing. Metadata maps str to str, as the format requires.
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["save_file", "load_file", "save", "load"]

_MISSING = ("ember.utils.safetensors needs the optional safetensors package: "
            "pip install 'ember[safetensors]'")


def _st():
    try:
        import safetensors.numpy as st
    except ImportError:
        raise ModuleNotFoundError(_MISSING, name="safetensors") from None
    return st


def _arrays(tensors):
    """``{name: ndarray}`` for the package, and the names of bfloat16 entries."""
    from ..tensor import Tensor

    if not isinstance(tensors, dict):
        raise TypeError(f"tensors must be a dict of name -> tensor, not {type(tensors).__name__}")
    arrays, bf16 = {}, []
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, not {type(name).__name__}")
        a = t.detach()._data if isinstance(t, Tensor) else t
        if isinstance(t, Tensor) and type(a) is not np.ndarray:
            from ..tensor import to_host

            a = to_host(a)  # (a device tensor: written from a host copy)
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name!r} is a {type(t).__name__}, not a tensor")
        if a.dtype.name == "bfloat16":
            a = a.view(np.uint16)
            bf16.append(name)
        if not a.flags.c_contiguous:
            a = np.array(a, order="C")
        arrays[name] = a
    return arrays, bf16


def _split(data):
    """``(header dict, header end)`` of a safetensors byte string."""
    if len(data) < 8:
        raise ValueError("safetensors: header too small")
    n = int.from_bytes(data[:8], "little")
    if n > 100_000_000 or 8 + n > len(data):
        raise ValueError("safetensors: invalid header length")
    return json.loads(bytes(data[8:8 + n]).decode("utf-8")), 8 + n


def _with_dtypes(data, names, old, new):
    """``data`` with the JSON dtype of ``names`` changed from ``old`` to ``new``."""
    header, end = _split(data)
    for name in names:
        if header[name]["dtype"] != old:
            raise ValueError(f"safetensors: {name!r} is {header[name]['dtype']}, not {old}")
        header[name]["dtype"] = new
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    return len(text).to_bytes(8, "little") + text + bytes(data[end:])


def save(tensors, metadata=None) -> bytes:
    """The safetensors bytes of ``{name: tensor}`` (and optional str -> str metadata)."""
    st = _st()
    arrays, bf16 = _arrays(tensors)
    data = st.save(arrays, metadata=metadata)
    return _with_dtypes(data, bf16, "U16", "BF16") if bf16 else data


def save_file(tensors, filename, metadata=None) -> None:
    """Write ``{name: tensor}`` to ``filename`` (atomically) as a safetensors file."""
    from .._io import atomic_open

    data = save(tensors, metadata)
    with atomic_open(os.fspath(filename)) as f:
        f.write(data)


def load(data, device=None) -> dict:
    """``{name: tensor}`` from safetensors bytes (on ``device``: the CPU by default)."""
    from .. import dtypes as _dt
    from ..creation import _new
    from ..tensor import CPU

    st = _st()
    header, _end = _split(data)
    bf16 = [k for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)
            and v.get("dtype") == "BF16"]
    if bf16:
        data = _with_dtypes(data, bf16, "BF16", "U16")
    arrays = st.load(bytes(data))
    out = {}
    for name in [k for k in header if k != "__metadata__"]:
        a = arrays[name]
        if name in bf16:
            a = a.view(_dt.bfloat16.np)
        a = a if a.flags.writeable or device is not None else a.copy()
        out[name] = _new(a, device=device if device is not None else CPU)
    return out


def load_file(filename, device="cpu") -> dict:
    """``{name: tensor}`` from a safetensors file, on ``device`` (a device string, index or
    ``ember.device``)."""
    from ..tensor import device as _device

    if isinstance(device, int):
        device = f"cuda:{device}"  # (safetensors.torch reads an index as a CUDA device)
    where = device if isinstance(device, _device) else _device(device)
    if where.type == "meta":
        raise RuntimeError("ember.utils.safetensors: load_file(device='meta') is not "
                           "supported; load on the CPU and move the tensors with .to('meta')")
    _st()
    with open(os.fspath(filename), "rb") as f:
        return load(f.read(), None if where.type == "cpu" else where)
