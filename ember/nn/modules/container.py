"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict.

Contract: PyTorch's constructor signatures, defaults, default initialisation, attribute and
state_dict names, forward semantics and repr."""

from __future__ import annotations

__all__: list[str] = []
