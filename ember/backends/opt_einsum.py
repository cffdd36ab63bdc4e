"""``ember.backends.opt_einsum``: ember's einsum orders contractions with NumPy's optimiser,
not the ``opt_einsum`` package: it reads as not available, as PyTorch without the package."""

enabled = False
strategy = None


def is_available() -> bool:
    return False
