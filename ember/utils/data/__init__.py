"""``ember.utils.data``: datasets, samplers and DataLoader (PyTorch's ``torch.utils.data``)."""

from __future__ import annotations

__all__: list[str] = []
