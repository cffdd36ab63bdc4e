"""``ember.cuda``: there is no GPU backend yet, so CUDA reports itself unavailable (code that
checks ``torch.cuda.is_available()`` takes its CPU path)."""


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed) -> None:
    """Seeding CUDA is a no-op without a GPU backend, as in PyTorch on a CPU-only machine."""


def manual_seed_all(seed) -> None:
    """See ``manual_seed``."""
