"""``ember.nn``: neural-network building blocks. For now the functional API; modules,
parameters and layers arrive with the "nn, optim and data" issue."""

from . import functional

__all__ = ["functional"]
