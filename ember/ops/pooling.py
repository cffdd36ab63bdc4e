"""Pooling: max_pool1d/2d (return_indices), avg_pool1d/2d, adaptive_avg_pool2d, adaptive_max_pool2d.

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

FUNCTIONAL: list[str] = []
