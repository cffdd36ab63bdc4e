"""Pooling modules: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool2d.

Contract: PyTorch's constructor signatures, defaults, default initialisation, attribute and
state_dict names, forward semantics and repr."""

from __future__ import annotations

__all__: list[str] = []
