"""Process-wide switches of PyTorch 2 boilerplate: deterministic algorithms and the float32
matmul precision.

Contract: PyTorch's getters, setters, defaults, argument checks and messages. ember's ops are
deterministic and compute float32 matmuls in float32 whatever these say (there is no TF32 or
bfloat16 fast path on a CPU), so the switches are recorded and reported, and change nothing.
"""

from __future__ import annotations

import builtins
import warnings

_state = {"deterministic": False, "warn_only": False, "matmul_precision": "highest"}
_PRECISIONS = ("highest", "high", "medium")
_DEBUG_MODES = ("default", "warn", "error")


def _type_name(x):
    return type(x).__name__


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Record whether only deterministic algorithms may run (ember's always are)."""
    if type(mode) is not builtins.bool:
        raise TypeError("_set_deterministic_algorithms(): argument 'mode' (position 1) must be "
                        f"bool, not {_type_name(mode)}")
    if type(warn_only) is not builtins.bool:
        raise TypeError("_set_deterministic_algorithms(): argument 'warn_only' must be bool, "
                        f"not {_type_name(warn_only)}")
    _state["deterministic"], _state["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled():
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _state["warn_only"]


def set_deterministic_debug_mode(debug_mode):
    """``'default'``/0: off; ``'warn'``/1: deterministic, warn only; ``'error'``/2: on."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES.index(debug_mode)
    elif isinstance(debug_mode, builtins.int) and not isinstance(debug_mode, builtins.bool):
        if debug_mode not in (0, 1, 2):
            raise RuntimeError("invalid value of debug_mode, expected 0, 1, or 2, but got "
                               f"{debug_mode}")
    else:
        raise TypeError("debug_mode must be str or int, but got "
                        f"{type(debug_mode).__name__}")
    _state["deterministic"], _state["warn_only"] = debug_mode > 0, debug_mode == 1


def get_deterministic_debug_mode():
    if not _state["deterministic"]:
        return 0
    return 1 if _state["warn_only"] else 2


def set_float32_matmul_precision(precision):
    """Record the float32 matmul precision (``'highest'``, ``'high'`` or ``'medium'``)."""
    if not isinstance(precision, str):
        raise RuntimeError("set_float32_matmul_precision expects a str, but got "
                           f"{_type_name(precision)}")
    if precision not in _PRECISIONS:
        # PyTorch warns and keeps the current value
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _state["matmul_precision"]
