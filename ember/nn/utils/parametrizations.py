"""Ready-made parametrizations (``torch.nn.utils.parametrizations``): ``weight_norm``,
``spectral_norm`` and ``orthogonal``.

Contract: PyTorch's ``weight_norm(module, name="weight", dim=0)``: the weight becomes
``g * v / ||v||`` (norm over every dimension but ``dim``; ``dim=None`` is the whole tensor)
with ``original0 = g`` and ``original1 = v`` under ``parametrizations.<name>``; old
``<name>_g``/``<name>_v`` checkpoints still load. PyTorch's ``spectral_norm(module, name,
n_power_iterations=1, eps=1e-12, dim=None)``: the weight divided by its largest singular value,
estimated by power iteration on buffers ``_u``/``_v`` (15 iterations at registration, then
``n_power_iterations`` per access in training mode, none in eval). PyTorch's
``orthogonal(module, name, orthogonal_map=None, *, use_trivialization=True)`` with the
matrix_exp, cayley and householder maps (Householder products composed from ember ops).
"""

from __future__ import annotations

from enum import Enum, auto

import numpy as np

import ember
from ember.tensor import Tensor

from .. import functional as F
from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


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


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            u = ember.randn(h, dtype=weight.dtype, device=weight.device)
            v = ember.randn(w, dtype=weight.dtype, device=weight.device)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat, n_power_iterations):
        # the buffers are updated in place (PyTorch writes with out=), outside autograd
        with ember.no_grad():
            mat_h = weight_mat.adjoint()  # the conjugate transpose (PyTorch's .H)
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(ember.mv(weight_mat, self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(ember.mv(mat_h, self._u), dim=0,
                                          eps=self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = ember.vdot(u, ember.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm (largest singular value).

    >>> m = spectral_norm(ember.nn.Linear(4, 3))
    >>> sorted(m.parametrizations.weight[0]._buffers)
    ['_u', '_v']
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        # a transposed convolution's output channels are its weight's dim 1
        transposed = (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)
        dim = 1 if isinstance(module, transposed) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ---- orthogonal ---------------------------------------------------------------------------

class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


def _householder_product(a, tau):
    """LAPACK's orgqr: the first k columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with
    v_i = (0, ..., 0, 1, a[i+1:, i]), composed from differentiable ops."""
    n, k = a.size(-2), a.size(-1)
    rows = ember.arange(n, device=a.device)
    q = ember.eye(n, dtype=a.dtype, device=a.device).expand(*a.shape[:-2], n, n)
    for i in range(k):
        v = a[..., :, i] * (rows > i).to(a.dtype) + (rows == i).to(a.dtype)
        # q @ (I - tau v v^T) = q - tau (q v) v^T
        qv = (q @ v.unsqueeze(-1))
        q = q - tau[..., i, None, None] * (qv @ v.unsqueeze(-2))
    return q[..., :, :k]


def _geqrf(a):
    """LAPACK's geqrf (QR as Householder reflectors), on values outside autograd.

    Computed on the host (NumPy's LAPACK, one matrix at a time) and placed back on ``a``'s
    device: it runs when a value is assigned (initialisation), never in a forward."""
    device = a.device if isinstance(a, Tensor) else None
    data = a.detach().cpu().numpy() if isinstance(a, Tensor) else a
    flat = data.reshape(-1, *data.shape[-2:])
    hs, taus = [], []
    for m in flat:
        h, tau = np.linalg.qr(m.astype(np.float64), mode="raw")
        hs.append(h.T)
        taus.append(tau)
    h = np.stack(hs).reshape(data.shape).astype(data.dtype)
    tau = np.stack(taus).reshape(*data.shape[:-2], -1).astype(data.dtype)
    return ember.tensor(h, device=device), ember.tensor(tau, device=device)


def _is_orthogonal(q):
    n, k = q.size(-2), q.size(-1)
    eps = 10.0 * n * ember.finfo(q.dtype).eps
    return ember.allclose(q.mT @ q, ember.eye(k, dtype=q.dtype, device=q.device), atol=eps)


def _make_orthogonal(a):
    x, tau = _geqrf(a)
    q = _householder_product(x, tau)
    return q * x.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex "
                             "tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x):
        n, k = x.size(-2), x.size(-1)
        transposed = n < k
        if transposed:
            x = x.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            x = x.tril()
            if n != k:
                x = ember.cat([x, ember.zeros(n, n - k, dtype=x.dtype, device=x.device)
                               .expand(*x.shape[:-2], -1, -1)], dim=-1)
            a = x - x.mT
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                q = ember.matrix_exp(a)
            else:
                eye = ember.eye(n, dtype=a.dtype, device=a.device)
                q = ember.linalg.solve(eye - 0.5 * a, eye + 0.5 * a)
            if n != k:
                q = q[..., :k]
        else:
            a = x.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (a * a).sum(dim=-2))
            q = _householder_product(a, tau)
            q = q * x.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if hasattr(self, "base"):
            q = self.base @ q
        if transposed:
            q = q.mT
        return q

    def right_inverse(self, q):
        with ember.no_grad():
            if q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                                 f"Got a tensor of shape {q.shape}.")
            q_init = q
            n, k = q.size(-2), q.size(-1)
            transpose = n < k
            if transpose:
                q = q.mT
                n, k = k, n
            if not hasattr(self, "base"):
                if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential or the Cayley "
                        "parametrizations when use_trivialization=False.")
                a, tau = _geqrf(q)
                diag = a.diagonal(dim1=-2, dim2=-1)
                # sign of R's diagonal, flipped where tau == 0 (PyTorch's convention)
                signs = diag.sign() * ember.where(tau == 0.0, -1.0, 1.0).to(a.dtype)
                eye = ember.eye(a.size(-2), a.size(-1), dtype=a.dtype, device=a.device)
                a = a * (1 - eye) + eye * signs.unsqueeze(-2)
                return a.mT if transpose else a
            if n == k:
                q = _make_orthogonal(q) if not _is_orthogonal(q) else q.clone()
            else:
                extra = ember.randn(*(tuple(q.shape[:-2]) + (n, n - k)), dtype=q.dtype,
                                    device=q.device)
                q = _make_orthogonal(ember.cat([q, extra], dim=-1))
            self.base = q
            # -I (rectangular, batched like q_init): the trivialization starts at base itself
            eye = ember.eye(q_init.size(-2), q_init.size(-1), dtype=q_init.dtype,
                            device=q_init.device)
            return ember.zeros_like(q_init) - eye


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` (a matrix or batch of matrices) to be orthogonal."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError("Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.size(-2) == weight.size(-1)
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
