"""``DataParallel``: PyTorch's single-process multi-GPU wrapper, on a machine without GPUs.

Contract: as PyTorch's when no GPU is available: the wrapper keeps the module as ``.module``
(so ``state_dict`` keys carry the ``module.`` prefix, and a checkpoint saved through the wrapper
loads into another wrapper), ``device_ids`` is empty, and ``forward`` calls the module with the
inputs unchanged. ``data_parallel`` (the functional form) raises PyTorch's RuntimeError.
"""

from __future__ import annotations

from ..modules.module import Module


class DataParallel(Module):
    """Wrap ``module`` to split batches across GPUs; without GPUs it runs ``module`` itself."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        # no GPU: PyTorch keeps only these two attributes
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """The functional form needs a GPU to pick the device type from."""
    raise RuntimeError("device type could not be determined")
