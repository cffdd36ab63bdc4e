"""How a batched value prints inside a vmap.

Contract: ``_batched_repr(t, plain)`` is PyTorch's ``BatchedTensor(lvl=.., bdim=0, value=...)``
text for a tensor batched at an active level of this thread (``_printing.tensor_repr`` calls
it), None otherwise.
"""

from __future__ import annotations

from ._state import _L, _levels, _physical


def _batched_repr(t, plain):
    """``repr`` of a batched value inside a vmap, as PyTorch prints its BatchedTensor: the
    innermost level wraps the value batched at the outer ones; ``lvl`` counts the active vmaps
    from 1 and ``bdim`` is 0 (ember keeps batch dims in front: NOTE [batched tensors]).
    ``plain`` prints the physical tensor. None when ``t`` is not batched here."""
    if not _L.stack or _L.bypass[0]:
        return None
    own = _levels(t)
    if not own:
        return None
    active = [lv for lv, _, _ in _L.stack]
    with _physical():
        text = plain(t)  # every level's dim is in the physical value, as PyTorch shows it
    for depth, lv in enumerate(own):
        lvl = active.index(lv) + 1 if lv in active else depth + 1
        body = "\n".join("    " + line if line else line for line in text.split("\n"))
        text = f"BatchedTensor(lvl={lvl}, bdim=0, value=\n{body}\n)"
    return text
