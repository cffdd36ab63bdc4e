"""``ember.backends.mkldnn``: ember does not use mkldnn: not available."""

enabled = True  # PyTorch's default switch; recorded, changes nothing


def is_available() -> bool:
    return False
