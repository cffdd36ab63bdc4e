"""``ember.backends.mkl``: ember does not use mkl: not available."""

enabled = False


def is_available() -> bool:
    return False
