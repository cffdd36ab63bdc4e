"""Convolutions: conv1d/conv2d/conv3d and conv_transpose1d/conv_transpose2d (stride,
padding incl. "same", dilation, groups), built on im2col / stride tricks and one GEMM.

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

FUNCTIONAL: list[str] = []
