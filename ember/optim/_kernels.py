"""The optimizers' array path: the plain (non-differentiable) updates of Adam, AdamW and SGD
run as in-place NumPy ufuncs on the tensors' arrays, instead of one ember op per line.

Why: each ember op costs a few microseconds of Python (dispatch, checks, wrapping), and an Adam
step is ~10 ops per parameter, so for small models the step was mostly overhead.

Contract:
- Each kernel makes exactly the NumPy calls of the ember op it is named after (operands in the
  same order, Python-number scalars left to NumPy's weak promotion, the same dtype), so its
  result is bit-identical to that op's: ``lerp_`` is ops/ternary.py ``lerp`` with a number
  weight, ``addcmul_``/``addcdiv_`` are ``addcmul``/``addcdiv``, ``add`` is the out-of-place
  ``add(..., alpha=)``, ``add_``/``mul_`` are the in-place fast paths of ops/inplace.py.
  ``scratch`` arguments are arrays of the destination's dtype and shape whose contents the
  kernel may overwrite (a kernel's own intermediate results live there).
- Kernels neither check nor bump: a caller first gets the arrays from ``arrays``/``counter``
  (None means the array path must not run: use the ember ops), runs the kernels only while
  ``usable`` holds, and calls ``bump`` once per in-place op, as ember's in-place ops do.
- ``usable`` is False while a mode intercepts ember's ops or its version bumps (profiler,
  forward AD, vmap, anomaly mode: ember/_modes.py), so those modes see the ops they expect.
- ``FAST = False`` turns the array path off everywhere (tests compare the two paths).
- Device arrays (CuPy's) take the same path: the kernels are ufunc calls with ``out=``, which
  NumPy hands to the arrays' library; a number operand stays a number (a NumPy scalar), never
  a host array.
"""

from __future__ import annotations

import numpy as np

from .. import _modes
from .._fma import fma32, fused
from ..nn.parameter import Parameter
from ..tensor import Tensor, writeable

__all__ = ["FAST", "PARAM_TYPES", "value", "usable", "arrays", "counter", "bump", "lerp_",
           "addcmul_", "addcdiv_", "add", "add_", "mul_"]

FAST = True

_F32 = np.dtype(np.float32)
_FLOATS = (_F32, np.dtype(np.float64))
PARAM_TYPES = (Tensor, Parameter)
_NUMBERS = (float, int)
_NDARRAY = np.ndarray


def _writeable(a) -> bool:
    # (NumPy's flag read inline on the CPU path; a device array has none: tensor.writeable)
    return a.flags.writeable if type(a) is _NDARRAY else writeable(a)

def value(a):
    """``a.item()`` of a one-element array; for an array ember.compile is tracing, a Python
    number whose arithmetic the trace records (the step count's bias corrections), so the
    compiled step does not freeze it."""
    if type(a) is _NDARRAY:
        return a.item()
    scalar = getattr(type(a), "_scalar", None)
    return a.item() if scalar is None else scalar(a)


def usable(*options) -> bool:
    """Whether the array path may run now: ``FAST``, no mode intercepting ember's ops, and
    every option a plain Python number (bool, NumPy scalars, tensors take the op path)."""
    if not FAST or _modes.intercepting():
        return False
    for x in options:
        if type(x) not in _NUMBERS:
            return False
    return True


def arrays(param, grad, *state):
    """``[param, grad, *state]`` as arrays, or None unless the array path can stand in for the
    ops on them: ``param`` a Tensor or Parameter with a version counter and a writeable float32
    or float64 array; ``grad`` and ``state`` plain Tensors of that dtype and shape (``state``
    writeable, with version counters). ``None`` entries in ``state`` stay None."""
    if type(param) not in PARAM_TYPES or param._vc is None:
        return None
    a = param._data
    dtype, shape = a.dtype, a.shape
    if dtype not in _FLOATS or not _writeable(a):
        return None
    if type(grad) is not Tensor:
        return None
    g = grad._data
    if g.dtype != dtype or g.shape != shape:
        return None
    out = [a, g]
    for t in state:
        if t is None:
            out.append(None)
            continue
        if type(t) is not Tensor or t._vc is None:
            return None
        s = t._data
        if s.dtype != dtype or s.shape != shape or not _writeable(s):
            return None
        out.append(s)
    return out


def counter(step):
    """The 0-d float array of a ``step`` state tensor the array path may increment, or None."""
    if type(step) is not Tensor or step._vc is None:
        return None
    s = step._data
    if s.ndim != 0 or s.dtype not in _FLOATS or not _writeable(s):
        return None
    return s


def bump(t, n=1):
    """Bump ``t``'s version counter as ``n`` in-place ops would (ops/inplace.py ``_bump``;
    ``arrays``/``counter`` only hand out tensors that have one)."""
    t._vc[0] += n


# NOTE [fused moments]: Adam's moment updates (lerp_, addcmul_) could round their multiply-add
# once, as PyTorch's AVX2 kernels do (fma32), but that triples the cost of an Adam step (1.2 ms
# against 0.48 for a 784-256-10 MLP, a step's forward and backward taking ~1.1 ms) and buys no
# equality: Adam's square root is MKL's in PyTorch, an ulp off in 17% of float32 results. So the
# moments are computed plainly (an ulp from PyTorch's in some elements). With fused arithmetic
# switched on (NOTE [fused arithmetic is opt-in] in _fma.py), SGD's add(alpha=) is fused, which
# makes SGD steps equal PyTorch's bit for bit (tests/optim/test_optimizer_bitwise), and the op
# path (ember's own lerp_/addcmul_, taken for tensor learning rates, differentiable or foreach
# steps) rounds as PyTorch's kernels, so there the two paths may differ by an ulp.
FUSE_MOMENTS = False


def lerp_(a, end, weight, scratch):
    """``a.lerp_(end, weight)``, number ``weight``: PyTorch's two-sided formula, exact at both
    ends (``a + w * (end - a)`` for ``|w| < 0.5``, else ``end - (end - a) * (1 - w)``), fused
    in float32 (NOTE [fused alpha] in ops/arithmetic.py)."""
    diff = np.subtract(end, a, scratch)
    if a.dtype == _F32 and fused() and FUSE_MOMENTS:
        w = np.float32(weight)
        if abs(w) < 0.5:
            fma32(w, diff, a, out=a)
        else:
            fma32(w - np.float32(1), diff, end, out=a)
        return
    if abs(weight) < 0.5:
        np.multiply(weight, diff, diff)
        np.add(a, diff, a)
    else:
        np.multiply(diff, 1 - weight, diff)
        np.subtract(end, diff, a)


def addcmul_(a, t1, t2, value, scratch):
    """``a.addcmul_(t1, t2, value=value)``: ``a + value * (t1 * t2)``; float32:
    ``fma(value * t1, t2, a)``."""
    if a.dtype == _F32 and fused() and FUSE_MOMENTS:
        fma32(np.multiply(np.float32(value), t1, scratch), t2, a, out=a)
        return
    prod = np.multiply(t1, t2, scratch)
    np.multiply(value, prod, prod)
    np.add(a, prod, a)


def addcdiv_(a, t1, t2, value, scratch):
    """``a.addcdiv_(t1, t2, value=value)``: ``a + (value * t1) / t2``; ``scratch`` may be
    ``t2``."""
    quot = np.true_divide(np.multiply(value, t1), t2, scratch)
    np.add(a, quot, a)


def add(a, b, alpha):
    """``a.add(b, alpha=alpha)``, a new array (a NumPy scalar when 0-d): ``a + b * alpha``
    (``b`` itself when ``alpha == 1``; one rounding in float32)."""
    if alpha != 1:
        if a.dtype == _F32 and fused():
            return fma32(b, np.float32(alpha), a)
        b = b * alpha
    return np.add(a, b)


def add_(a, b, alpha=1):
    """``a.add_(b, alpha=alpha)`` (``b`` an array or a number): ``a += b * alpha`` (one
    rounding in float32)."""
    if alpha != 1:
        if a.dtype == _F32 and fused():
            b = np.float32(b) if isinstance(b, (int, float, np.generic)) else \
                b.astype(_F32, copy=False)
            fma32(b, np.float32(alpha), a, out=a)
            return
        b = b * alpha
    np.add(a, b, out=a, casting="unsafe")


def mul_(a, b):
    """``a.mul_(b)`` (``b`` an array or a number)."""
    np.multiply(a, b, out=a, casting="unsafe")
