"""Context managers over how saved tensors are stored: ``saved_tensors_hooks``,
``save_on_cpu`` and ``disable_saved_tensors_hooks`` (PyTorch's ``torch.autograd.graph``).

Contract: hooks apply to nodes recorded while the context is active (NOTE [saved-tensor hooks]
in graph.py); contexts nest, the innermost wins; ``disable_saved_tensors_hooks(msg)`` makes
registering hooks inside it raise ``RuntimeError(msg)``.
"""

from __future__ import annotations

from .graph import SAVED_HOOKS

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]

_DISABLED: list = []  # error messages of the active disable_saved_tensors_hooks contexts


class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """``pack_hook(tensor) -> anything`` runs when a node saves a tensor, and
    ``unpack_hook(anything) -> tensor`` when the backward reads it.

    >>> with ember.autograd.graph.saved_tensors_hooks(lambda t: t * 1, lambda t: t):
    ...     y = ember.ones(2, requires_grad=True).exp()
    """

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _DISABLED:
            raise RuntimeError(_DISABLED[-1])
        SAVED_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        SAVED_HOOKS.pop()


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - PyTorch's name
    """Keep saved tensors in CPU memory until the backward needs them (on a CPU-only ember,
    tensors already live there: each is kept as is, with its device to restore)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(t):
            return (t.device, t)

        def unpack(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Inside it, entering ``saved_tensors_hooks`` raises ``RuntimeError(error_message)``."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        if SAVED_HOOKS:
            raise RuntimeError(self.error_message)
        _DISABLED.append(self.error_message)
        return self

    def __exit__(self, *exc):
        _DISABLED.pop()
