"""Order statistics: sort, argsort, topk, kthvalue, median, nanmedian, mode, unique, msort.

Contract: PyTorch's signatures, named-tuple results, tie rules and node names; rules in ember
ops (twice differentiable) with forward-mode rules.
"""

from __future__ import annotations
