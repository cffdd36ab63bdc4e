"""``ember.backends.cpu``: what the CPU offers the vectorised kernels (NumPy's, for ember)."""


def get_cpu_capability() -> str:
    """PyTorch's name of the widest vector instruction set in use: ``'AVX512'``, ``'AVX2'`` or
    ``'DEFAULT'``, read from the features NumPy dispatches on."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy moved it: no claim
        return "DEFAULT"
    if all(features.get(f) for f in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")):
        return "AVX512"
    if features.get("AVX2"):
        return "AVX2"
    return "DEFAULT"
