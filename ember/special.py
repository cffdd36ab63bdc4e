"""``ember.special``: PyTorch's ``torch.special`` (erf, erfc, erfinv, expit, logit, xlogy,
gammaln, digamma, psi, log_softmax, softmax, logsumexp...).

Contract: the same names and signatures as PyTorch; each is the ember op of the same meaning,
so gradients (any order) and forward-mode rules come with it.
"""

from __future__ import annotations

__all__: list[str] = []
