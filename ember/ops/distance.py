"""Distances and similarities: cosine_similarity, pairwise_distance, cdist, normalize, one_hot.

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

FUNCTIONAL: list[str] = []
