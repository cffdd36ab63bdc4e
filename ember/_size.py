"""``ember.Size`` (a tuple that prints like ``torch.Size``) and broadcasting of shapes.

Contract: ``Size`` behaves as a tuple of ints; slicing and concatenation give Size again.
``broadcast_shapes`` raises PyTorch's message when shapes do not broadcast.
"""

from __future__ import annotations

__all__ = ["Size", "broadcast_shapes"]


class Size(tuple):
    """The shape of a tensor: a tuple of ints printing as ``torch.Size([2, 3])``."""

    __slots__ = ()

    def __repr__(self):
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def __getitem__(self, key):
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __reduce__(self):
        return (Size, (tuple(self),))


def broadcast_shapes(*shapes) -> Size:
    """The shape that all ``shapes`` broadcast to (PyTorch's error message when they don't)."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for index, shape in enumerate(shapes):
        for i in range(1, len(shape) + 1):
            s, o = shape[-i], out[-i]
            if o == 1:
                out[-i] = s
            elif s != 1 and s != o:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {s} at -{i}! Mismatching "
                    f"argument at index {index} had {shape}; but expected shape should be "
                    f"broadcastable to {out}")
    return Size(out)
