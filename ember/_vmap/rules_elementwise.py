"""Batching rules of the elementwise ops (NOTE [batched tensors] in _state.py).

Contract: ``_elementwise`` gives every tensor argument the union of batch dims in front and its
logical dims right-aligned to the largest logical rank (broadcasting ops, comparisons,
activations, ``where``/``clamp``/``masked_fill``...); ``_unary`` keeps ``self``'s batch dims
(ops whose other arguments are not tensors or only lend a dtype, ``*_like`` creation);
``_inplace`` runs an in-place op on ``self``'s physical tensor and refuses operands that vary
over levels ``self`` does not, with PyTorch's message. Registers those ops' names in ``_RULES``
(the unary family's ops declare their category in their op records instead).
"""

from __future__ import annotations

from ._state import (
    _L,
    _RULES,
    _align,
    _call,
    _levels,
    _logical_ndim,
    _physical,
    _tensor_type,
    _tensors,
    _union,
)
from .metadata import _meta_shape


def _elementwise(fn, args, kwargs):
    """Broadcasting ops: every tensor gets the union of batch dims in front and its logical dims
    right-aligned to the largest logical rank."""
    ts = _tensors(args, kwargs)
    levels = _union(ts)
    ndim = max(_logical_ndim(t) for t in ts)

    def fix(a):
        if isinstance(a, (list, tuple)) and not isinstance(a, _tensor_type()):
            return type(a)(_align(b, levels, ndim) for b in a)
        return _align(a, levels, ndim)

    return _call(fn, [fix(a) for a in args], {k: fix(v) for k, v in kwargs.items()}, levels)


def _unary(fn, args, kwargs):
    """Ops acting on ``self`` alone whose other arguments are not tensors or only lend a dtype
    (``type_as``)."""
    levels = _levels(args[0])
    return _call(fn, args, kwargs, levels)


def _inplace(fn, args, kwargs):
    """An in-place elementwise op: the other operands must not vary over levels ``self`` does
    not vary over (PyTorch's rule: the result could not be stored in ``self``)."""
    self = args[0]
    own = _levels(self)
    others = _tensors(args[1:], kwargs)
    extra = sorted({lv for t in others for lv in _levels(t)} - set(own))
    if extra:
        # PyTorch reports the result that could not be stored in self
        import numpy as np

        logical = np.broadcast_shapes(*(t._data.shape[len(_levels(t)):] for t in (self,
                                                                                   *others)))
        whole = [_L.sizes[lv] for lv in extra] + list(logical)
        raise RuntimeError(f"output with shape [{', '.join(map(str, _meta_shape(self)))}] "
                           f"doesn't match the broadcast shape [{', '.join(map(str, whole))}]")
    ndim = _logical_ndim(self)
    new = [self, *(_align(a, own, ndim) if isinstance(a, _tensor_type()) else a
                   for a in args[1:])]
    with _physical():
        fn(*new, **{k: _align(v, own, ndim) for k, v in kwargs.items()})
    return self


# ---- the keys these rules serve in ``_RULES`` ------------------------------------------------

# (the unary family's ops declare their category, "elementwise", in their op records: NOTE [op
# records] in ember/_records.py; these are the other elementwise ops)
_UNARY_NAMES = """bitwise_not isfinite isinf isnan isneginf isposinf isreal logical_not logit
positive round signbit nan_to_num clone contiguous detach float double half bfloat16 int long
short char byte bool cfloat cdouble to type type_as relu6 leaky_relu elu selu celu gelu silu
mish softplus softsign hardtanh hardsigmoid hardswish tanhshrink hardshrink softshrink
threshold logsigmoid tril triu mvlgamma polygamma __pos__ __invert__ expit""".split()
_BINARY_NAMES = """add sub subtract rsub mul multiply div divide true_divide floor_divide
remainder fmod pow float_power atan2 arctan2 maximum minimum fmax fmin hypot copysign
nextafter heaviside xlogy logaddexp logaddexp2 ldexp eq ne lt le gt ge greater greater_equal
less less_equal not_equal logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor
bitwise_left_shift bitwise_right_shift __lshift__ __rshift__ __rlshift__ __rrshift__
where clamp clip clamp_min clamp_max masked_fill lerp
addcmul addcdiv igamma igammac __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__
__truediv__ __rtruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __eq__
__ne__ __lt__ __le__ __gt__ __ge__ __and__ __or__ __xor__ __rand__ __ror__ __rxor__""".split()
_INPLACE_NAMES = """__iadd__ __isub__ __imul__ __itruediv__ __ipow__ __iand__ __ior__ __ixor__
__imod__ __ifloordiv__ __ilshift__ __irshift__ copy_ fill_ zero_""".split()

for _n in _UNARY_NAMES:
    _RULES[_n] = _unary if _n in ("type_as", "to", "type") else _elementwise
for _n in _BINARY_NAMES:
    _RULES[_n] = _elementwise
for _n in _INPLACE_NAMES:
    _RULES[_n] = _inplace
for _n in ("type_as", "to", "detach", "detach_", "cpu", "cuda"):
    _RULES[_n] = _unary
_RULES["broadcast_tensors"] = _elementwise
_RULES["pairwise_distance"] = _elementwise

_LIKE = ("zeros_like", "ones_like", "full_like", "empty_like")
for _n in _LIKE:
    _RULES[_n] = _unary
