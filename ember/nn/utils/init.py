"""``skip_init``: build a module without running its parameter initialisation's values.

Contract: PyTorch's ``torch.nn.utils.skip_init(module_cls, *args, **kwargs)``: the module class
must accept ``device``; the result has uninitialised parameters and buffers (PyTorch builds on
the meta device then calls ``to_empty(device=...)``, and so does this: no initialiser runs on
values and none draws random numbers (NOTE [meta init] in ember/nn/init.py).
"""

from __future__ import annotations

import inspect

from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with uninitialised parameters and buffers."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    return module_cls(*args, **kwargs).to_empty(device=final_device)
