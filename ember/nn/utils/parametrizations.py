"""Ready-made parametrizations (``torch.nn.utils.parametrizations``): ``weight_norm``.

Contract: PyTorch's ``weight_norm(module, name="weight", dim=0)``: the weight becomes
``g * v / ||v||`` (norm over every dimension but ``dim``; ``dim=None`` is the whole tensor)
with ``original0 = g`` and ``original1 = v`` under ``parametrizations.<name>``; old
``<name>_g``/``<name>_v`` checkpoints still load. Not here: orthogonal, spectral_norm.
"""

from __future__ import annotations

from ..modules.module import Module
from . import parametrize

__all__ = ["weight_norm"]


def _norm_except_dim(v, dim):
    """2-norm of ``v`` over every dimension but ``dim`` (kept, size 1 elsewhere)."""
    if dim == -1:
        return v.norm(2)
    dims = [d for d in range(v.dim()) if d != dim]
    return v.norm(2, dim=dims, keepdim=True)


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as magnitude ``g`` times direction ``v / ||v||``.

    >>> m = weight_norm(ember.nn.Linear(3, 2))
    >>> m.parametrizations.weight.original0.shape
    torch.Size([2, 1])
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def compat_hook(mod, state_dict, prefix, *rest):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module.register_load_state_dict_pre_hook(compat_hook)
    return module
