"""``ember.nn``: neural-network building blocks (PyTorch's ``torch.nn``): ``Module`` and the
layers (``ember/nn/modules/``), ``Parameter``, ``init``, ``utils`` and the functional API.

Contract: the names, constructor signatures, defaults and behaviour of ``torch.nn``.
"""

from . import functional, init, modules, parallel, utils
from .modules import *  # noqa: F403 - the layer classes, listed in each family's __all__
from .parallel import DataParallel
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["functional", "init", "parallel", "utils", "DataParallel", "Parameter", "Buffer",
           "UninitializedParameter", "UninitializedBuffer", *modules.__all__]
