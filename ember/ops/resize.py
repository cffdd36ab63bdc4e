"""Resampling and patches: interpolate (nearest, bilinear), pad (constant, reflect,
replicate), unfold/fold.

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

FUNCTIONAL: list[str] = []
