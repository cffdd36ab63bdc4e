"""vmap's ``randomness``: which ops draw random numbers and how each mode treats them.

Contract: ``_RANDOM`` names the random ops; the wrappers ask ``_check_random`` before any rule.
'error' refuses them inside a vmap; 'same' draws one sample's values for every sample
(``_SAME``: ``*_like``, dropout, the in-place samplers); 'different' draws per sample (the
in-place samplers over the physical tensor, ``rand``/``randn``/``randint`` with the batch sizes
in front: ``_random_creation``). Dropouts with nothing to draw (not training, ``p == 0``) pass.
"""

from __future__ import annotations

from ._state import _L, _RULES, _batched_in, _bind, _call, _levels, _physical
from .rules_elementwise import _unary

# ops drawing random numbers: randomness='error' refuses them inside a vmap
_RANDOM = {"rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm",
           "normal", "bernoulli", "multinomial", "poisson", "dropout", "dropout_",
           "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d",
           "rrelu", "rrelu_", "uniform_", "normal_", "bernoulli_", "exponential_",
           "random_", "cauchy_", "log_normal_", "geometric_"}

for _n in ("dropout", "dropout_", "alpha_dropout", "feature_alpha_dropout", "rrelu", "rrelu_",
           "bernoulli", "rand_like", "randn_like", "randint_like"):
    _RULES[_n] = _unary


def _check_random(key, args, kwargs, fn=None):
    """randomness='error' refuses random ops; 'same' draws one value for every sample (so a
    random op on a batched tensor has no rule); 'different' draws per sample (so a random op
    must see a batched tensor to know the batch)."""
    mode = _L.stack[-1][2]
    if key.startswith(("dropout", "alpha_dropout", "feature_alpha", "rrelu")) and fn:
        # nothing random to draw when not training or (dropouts) with p == 0, as PyTorch
        a = _bind(fn, args, kwargs, defaults=True).arguments
        if not a.get("training", a.get("train", True)) or a.get("p", 1) == 0:
            return
    if mode == "error":
        raise RuntimeError(
            "vmap: called random operation while in randomness error mode. Please either use "
            "the 'same' or 'different' randomness flags on vmap or perform the randomness "
            "operation out of vmap")
    batched = _batched_in(args, kwargs)
    if mode == "same" and batched and key not in _SAME or mode == "different" and (
            not batched and key not in _RANDOM_CREATION):
        raise RuntimeError(f"vmap: no batching rule for {key} with randomness='{mode}' yet")


_RANDOM_CREATION = ("rand", "randn", "randint")


def _stand_in(t):
    """A view of one sample of ``t`` (logical shape, unbatched) to draw 'same' randomness."""
    with _physical():
        return t[(0,) * len(_levels(t))]


def _same_like(fn, args, kwargs):
    """``rand_like`` & co. under randomness='same': one draw of a sample's shape."""
    with _physical():
        return fn(_stand_in(args[0]), *args[1:], **kwargs)


def _same_dropout(fn, args, kwargs):
    """``dropout`` under randomness='same': one mask of a sample's shape, applied to every
    sample (the mask holds 0 or ``1 / (1 - p)``, so ``x * mask`` is the dropout)."""
    names = ("input", "p", "training", "inplace")
    bound = dict(zip(names, args))
    bound.update(kwargs)
    from ..creation import ones_like

    with _physical():
        mask = fn(ones_like(_stand_in(bound["input"])), bound.get("p", 0.5), True)
    return bound["input"] * mask


def _sampler(fn, args, kwargs):
    """An in-place sampler (``uniform_``, ``normal_``, ...) on a batched tensor under
    randomness='different': one draw over the physical tensor (batch dims in front), so every
    sample gets its own values."""
    with _physical():
        fn(*args, **kwargs)
    return args[0]


def _same_sampler(fn, args, kwargs):
    """An in-place sampler under randomness='same': one sample's draw, copied into each."""
    self = args[0]
    with _physical():
        one = fn(_stand_in(self).detach().clone(), *args[1:], **kwargs)
        self.copy_(one)
    return self


_SAMPLERS = ("uniform_", "normal_", "random_", "bernoulli_", "exponential_", "geometric_",
             "cauchy_", "log_normal_")
for _n in _SAMPLERS:
    _RULES[_n] = _sampler
_SAME = {"rand_like": _same_like, "randn_like": _same_like, "randint_like": _same_like,
         "dropout": _same_dropout, **{n: _same_sampler for n in _SAMPLERS}}


def _random_creation(fn, key, args, kwargs):
    """``rand`` / ``randn`` / ``randint`` under randomness='different': one draw for the
    whole batch, of shape batch + size, so every sample gets its own values."""
    levels = tuple(lv for lv, _, _ in _L.stack)
    batch = tuple(_L.sizes[lv] for lv in levels)
    kwargs = dict(kwargs)
    if key == "randint":
        if "size" in kwargs:
            kwargs["size"] = (*batch, *kwargs["size"])
        else:
            args = (*args[:-1], (*batch, *args[-1]))
    else:
        size = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        size = kwargs.pop("size", size)
        args = (*batch, *size)
    return _call(fn, args, kwargs, levels)
