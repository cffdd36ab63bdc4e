"""``ember.backends.openmp``: ember does not use openmp: not available."""

enabled = False


def is_available() -> bool:
    return False
