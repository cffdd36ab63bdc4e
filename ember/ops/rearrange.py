"""Ops that move elements without computing: flip, roll, rot90, repeat, tile,
repeat_interleave.

Contract: PyTorch's signatures, node names and error messages; rules in ember ops (twice
differentiable) with forward-mode rules.
"""

from __future__ import annotations
