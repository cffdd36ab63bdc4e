"""Special functions: erf, erfc, erfinv, lgamma, digamma, polygamma, xlogy, logit,
sinc, i0... (``ember.special`` names too).

Contract: PyTorch's signatures, values, dtypes and node names; SciPy is used when installed
(the ``scipy`` extra) and a NumPy implementation otherwise; rules in ember ops (twice
differentiable) with forward-mode rules.
"""

from __future__ import annotations
