"""``ember.nn``: neural-network building blocks (PyTorch's ``torch.nn``): ``Module`` and the
layers (``ember/nn/modules/``), ``Parameter``, ``init``, ``utils`` and the functional API.

Contract: the names, constructor signatures, defaults and behaviour of ``torch.nn``.
"""

from . import functional, modules
from .modules import *  # noqa: F403 - the layer classes, listed in each family's __all__

__all__ = ["functional", *modules.__all__]
