"""Anomaly detection: ``detect_anomaly`` / ``set_detect_anomaly`` (PyTorch's), for finding the
forward operation behind a failing or NaN-producing backward.

Contract, while enabled:
- every node records the Python stack of the forward call that created it;
- a backward rule that raises, or (with ``check_nan``) returns NaN — "Function 'DivBackward0'
  returned nan values in its 0th output." — gets that forward stack attached to the exception
  as a note, and PyTorch's "Error detected in ..." warning is issued;
- better than PyTorch: in-place operations remember where they ran, so the "modified by an
  inplace operation" error names the line that changed the saved tensor.

NOTE [zero-cost anomaly mode]: nothing on the op call path checks a flag. Nodes take their
sequence number from ``next(graph._seq)``; enabling anomaly mode swaps that counter for one that
also stores the current stack under the number it hands out, and disabling swaps it back. The
engine checks one module attribute per node (``engine.RULE_RUNNER``).
"""

from __future__ import annotations

import os
import traceback
import warnings
from collections import OrderedDict

from .. import _modes
from .._modes import Swaps
from . import engine as _engine
from . import graph as _graph
from .grad_mode import _DecoratorContextManager

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

_MAX_STACKS = 200_000  # forward stacks kept (oldest dropped): a debugging session is bounded
_STACKS: OrderedDict = OrderedDict()  # node sequence number -> formatted forward stack
_MUTATIONS: dict = {}  # id of a version counter -> (version, formatted stack of the in-place op)
_STATE = {"enabled": False, "check_nan": True}


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stack() -> str:
    """The current Python stack without ember's own frames (as PyTorch's shows user code)."""
    frames = [f for f in traceback.extract_stack()[:-2]
              if not (os.path.abspath(f.filename).startswith(_PACKAGE + os.sep)
                      or f.filename.startswith("<ember "))]  # (generated wrappers)
    return "".join(traceback.format_list(frames))


class _StackRecordingCounter:
    """A drop-in for ``graph._seq`` that also records where each number was taken."""

    def __init__(self, base):
        self.base = base

    def __iter__(self):
        return self

    def __next__(self):
        n = next(self.base)
        _STACKS[n] = _user_stack()
        if len(_STACKS) > _MAX_STACKS:
            _STACKS.popitem(last=False)
        return n


_SWAPS = Swaps()  # the node counter and the version bump, replaced while enabled (_modes.Swaps)
_MODE = _modes.Mode()  # anomaly mode on the mode stack (process-wide, as PyTorch's flag)


def _set(enabled, check_nan):
    from ..ops import _registry, inplace

    if enabled and not _STATE["enabled"]:
        counter = _StackRecordingCounter(_graph._seq)
        _SWAPS.set(_graph, "_seq", counter)
        _SWAPS.set(_registry, "_seq", counter)
        plain_bump = inplace._bump

        def bump(t):  # in-place ops remember where they ran (for the version error's note)
            plain_bump(t)
            if t._vc is not None:
                note_inplace(t._vc)

        _SWAPS.set(inplace, "_bump", bump)
        _modes.enter(_MODE)  # (no op is wrapped; fused fast paths step aside: intercepting())
    elif not enabled and _STATE["enabled"]:
        _modes.exit(_MODE)
        _SWAPS.restore()
    _STATE["enabled"] = enabled
    _STATE["check_nan"] = check_nan
    _engine.set_rule_runner()


def is_anomaly_enabled() -> bool:
    return _STATE["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    return _STATE["check_nan"]


class detect_anomaly(_DecoratorContextManager):  # noqa: N801 - PyTorch's name
    """Enable anomaly detection inside the block (or the decorated function).

    >>> with ember.autograd.detect_anomaly():
    ...     x = ember.zeros(1, requires_grad=True)
    ...     (x / x).backward()   # RuntimeError: Function 'DivBackward0' returned nan values ...
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def clone(self):
        twin = object.__new__(type(self))  # no second warning for each decorated call
        twin.check_nan = self.check_nan
        return twin

    def __enter__(self):
        self.prev = (_STATE["enabled"], _STATE["check_nan"])
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _set(*self.prev)


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turn anomaly detection on or off (a function call, or a context manager restoring the
    previous setting)."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = (_STATE["enabled"], _STATE["check_nan"])
        _set(bool(mode), check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self.prev)


# ---- used by the engine and the in-place machinery while enabled -----------------------------

def forward_stack(node) -> str | None:
    return _STACKS.get(getattr(node, "_seq", None))


def _annotate(exc, node):
    stack = forward_stack(node)
    if stack is None:
        return
    warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the "
                  f"error:\n{stack}", UserWarning, stacklevel=4)
    if hasattr(exc, "add_note"):
        exc.add_note(f"Traceback of forward call that created {node.name()} (most recent call "
                     f"last):\n{stack}")


def run_node(node, ins):
    """``node._vjp(*ins)`` with anomaly checks: the forward stack on any error, NaN check."""
    import numpy as np

    try:
        outs = node._vjp(*ins)
        if _STATE["check_nan"]:
            for i, g in enumerate(outs):
                if g is not None and g._data.dtype.kind in "fcV" and np.isnan(g._data).any():
                    raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                       f"{i}th output.")
    except Exception as exc:
        _annotate(exc, node)
        raise
    return outs


def note_inplace(vc):
    """Remember where the tensor owning version counter ``vc`` was last modified in place."""
    _MUTATIONS[id(vc)] = (vc[0], _user_stack())


def mutation_note(vc) -> str | None:
    got = _MUTATIONS.get(id(vc))
    if got is None or got[0] != vc[0]:  # not this counter's latest change (or id reused)
        return None
    return ("ember: the tensor was last modified in place (to version "
            f"{got[0]}) at (most recent call last):\n{got[1]}")

