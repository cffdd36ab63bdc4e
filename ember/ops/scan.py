"""Scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

Contract: PyTorch's signatures, dtypes, named-tuple results and node names; rules in ember ops
(twice differentiable) with forward-mode rules.
"""

from __future__ import annotations
