"""Optimizer steps against ``torch.optim`` bit for bit (float32, 5 steps, CPU).

PyTorch's CPU optimizers take the single-tensor path (``foreach`` defaults on only for CUDA
tensors): ``add(alpha=)``, ``lerp_``, ``addcmul_`` and ``addcdiv_`` per parameter, whose float32
kernels fuse the multiply-add in PyTorch's AVX2/AVX512 builds (NOTE [fused alpha] in
ember/ops/arithmetic.py). SGD is compared as it is. Adam and AdamW also take a square root,
which PyTorch built with MKL computes with MKL's vector library (not correctly rounded: 17% of
float32 results an ulp off, depending on the CPU); there the test hands ember PyTorch's square
roots and fuses the moment updates as PyTorch does (off by default for speed: NOTE [fused
moments] in ember/optim/_kernels.py), so every other rounding of the step is checked bit for
bit.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import ember
from ember import _rng_kernels

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() == "DEFAULT" or _rng_kernels.capability() != "AVX2",
    reason="PyTorch's DEFAULT build does not fuse multiply-adds")

N, STEPS = 5000, 5

@pytest.fixture(autouse=True)
def _fused_arithmetic(monkeypatch):
    # bit for bit needs PyTorch's single roundings (opt-in: NOTE [fused arithmetic is opt-in])
    from ember import _fma

    monkeypatch.setattr(_fma, "_ENABLED", True)


SGD_CASES = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, nesterov=True),
             dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=1e-2),
             dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2, maximize=True)]
ADAM_CASES = [("Adam", dict(lr=1e-3)), ("Adam", dict(lr=1e-2, weight_decay=1e-2, amsgrad=True)),
              ("AdamW", dict(lr=1e-3)), ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True))]


def _run(L, name, kwargs, shapes=((N,), (7, 3), ())):
    rs = np.random.RandomState(0)
    params = [L.tensor(rs.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in shapes]
    opt = getattr(L.optim, name)(params, **kwargs)
    for i in range(STEPS):
        for p in params:
            p.grad = L.tensor(rs.standard_normal(p.shape).astype(np.float32) * (i % 4 != 2))
        opt.step()
    out = [p.detach().numpy().copy() for p in params]
    for p in params:
        out += [np.asarray(v.numpy() if hasattr(v, "numpy") else v)
                for v in opt.state[p].values()]
    return out


def _assert_bitwise(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a.reshape(-1).view(np.uint8), b.reshape(-1).view(np.uint8)), \
            f"{int((a != b).sum())} of {a.size} differ"


@pytest.mark.parametrize("kwargs", SGD_CASES, ids=lambda k: ",".join(k))
@pytest.mark.parametrize("fast", [True, False], ids=["array-path", "op-path"])
def test_sgd_bitwise(kwargs, fast, monkeypatch):
    monkeypatch.setattr(ember.optim._kernels, "FAST", fast)
    _assert_bitwise(_run(ember, "SGD", kwargs), _run(torch, "SGD", kwargs))


def _torch_sqrt(x, out=None):
    r = torch.from_numpy(np.ascontiguousarray(x)).sqrt().numpy()
    if out is None:
        return r
    out[...] = r
    return out


@pytest.mark.parametrize(("name", "kwargs"), ADAM_CASES, ids=lambda c: str(c))
def test_adam_bitwise_given_torchs_square_roots(name, kwargs, monkeypatch):
    import ember.optim.adam as adam

    fake = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    fake.sqrt = _torch_sqrt
    monkeypatch.setattr(adam, "np", fake)
    # (the moments fused, as PyTorch's kernels: off by default, NOTE [fused moments])
    monkeypatch.setattr(ember.optim._kernels, "FUSE_MOMENTS", True)
    _assert_bitwise(_run(ember, name, kwargs), _run(torch, name, kwargs))
