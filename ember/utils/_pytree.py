"""``ember.utils._pytree``: PyTorch's ``torch.utils._pytree`` (flatten, unflatten and map
nested containers). The implementation lives in ``ember/_pytree.py`` so that the core (vmap,
``ember.func``) can use it without importing ``ember.utils``; this module re-exports it, private
helpers that PyTorch code reaches for (``_broadcast_to_and_flatten``) included."""

from __future__ import annotations

from .._pytree import *  # noqa: F403
from .._pytree import (  # noqa: F401
    __all__,
    _broadcast_to_and_flatten,
    _deregister_pytree_node,
    _private_register_pytree_node,
)
