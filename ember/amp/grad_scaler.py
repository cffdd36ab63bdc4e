"""``GradScaler``: loss scaling for mixed-precision training; see ``ember.amp``.

Contract: PyTorch's ``torch.amp.GradScaler``: the same state machine per optimizer (ready,
unscaled, stepped), the same errors, the same update rule (``_amp_update_scale_``: back off on
any inf/NaN and reset the count, grow after ``growth_interval`` clean steps unless the grown
scale overflows), the same state_dict and pickling. ``GradScaler('cuda')`` is disabled (with
PyTorch's warning) only when ``ember.cuda.is_available()`` is False at construction.
"""

from __future__ import annotations

import warnings
from collections import abc

from .. import dtypes as _dt

_READY, _UNSCALED, _STEPPED = 0, 1, 2


def _cuda_available():
    from .. import cuda

    return cuda.is_available()


class GradScaler:
    """Multiply the loss by a scale so small half-precision gradients do not flush to zero,
    divide the gradients back before the step, skip steps whose gradients overflowed."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if self._device == "cuda" and enabled and not _cuda_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                          "Disabling.", UserWarning, stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states: dict = {}

    # ---- the training step ------------------------------------------------------------------
    def _lazy_init(self, device):
        from ..creation import full

        self._scale = full((), self._init_scale, dtype=_dt.float32, device=device)
        self._growth_tracker = full((), self._init_growth_tracker, dtype=_dt.int32,
                                    device=device)

    def _state_of(self, optimizer):
        # found_inf: None until some gradient was checked (PyTorch's empty per-device dict)
        return self._per_optimizer_states.setdefault(id(optimizer),
                                                     {"stage": _READY, "found_inf": None})

    def scale(self, outputs):
        """``outputs`` (a tensor or nested iterables of tensors) times the scale."""
        if not self._enabled:
            return outputs
        from ..tensor import Tensor

        def apply(value):
            if isinstance(value, Tensor):
                if self._scale is None:
                    self._lazy_init(value.device)
                return value * self._scale
            if isinstance(value, abc.Iterable):
                scaled = map(apply, value)
                return type(value)(scaled) if isinstance(value, (list, tuple)) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply(outputs)

    def unscale_(self, optimizer):
        """Divide ``optimizer``'s gradients by the scale, in place, noting any inf or NaN."""
        if not self._enabled:
            return
        self._check_scale("unscale_")
        state = self._state_of(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        from ..autograd.grad_mode import no_grad

        inv_scale = self._scale.double().reciprocal().float()
        found = None
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.dtype == _dt.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    # PyTorch's kernel checks the scaled values, then multiplies each in
                    # float32 (a half gradient is rounded once, after the product)
                    grad = p.grad
                    found = bool(found) or not bool(grad.isfinite().all())
                    if grad.dtype == _dt.float32 or grad.dtype == _dt.float64:
                        grad.mul_(inv_scale)
                    else:
                        grad.copy_(grad.float().mul_(inv_scale))
        state["found_inf"] = found
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless done) and call ``optimizer.step()`` unless a gradient overflowed."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale("step")
        state = self._state_of(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        if state["found_inf"] is None:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None):
        """Halve the scale after an overflow; double it after ``growth_interval`` clean steps;
        or set it to ``new_scale`` (a float, or a one-element float tensor)."""
        if not self._enabled:
            return
        self._check_scale("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                          "torch.FloatTensor with requires_grad=False.")
                if new_scale.device.type != self._device or new_scale.numel() != 1 or \
                        new_scale.requires_grad is True:
                    raise AssertionError(reason)
                self._scale.copy_(new_scale)
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values()
                     if s["found_inf"] is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            tracker = int(self._growth_tracker.item())
            if any(found):
                self._scale.mul_(self._backoff_factor)
                tracker = 0
            elif tracker + 1 == self._growth_interval:
                grown = self._scale * self._growth_factor
                if bool(grown.isfinite().all()):
                    self._scale.copy_(grown)
                tracker = 0
            else:
                tracker += 1
            self._growth_tracker.fill_(tracker)
        self._per_optimizer_states = {}

    def _check_scale(self, funcname):
        fix = ("This may indicate your script did not use scaler.scale(loss or outputs) "
               "earlier in the iteration.")
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)

    # ---- settings and state -----------------------------------------------------------------
    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale.item()

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        if self._growth_tracker is None:
            return self._init_growth_tracker
        return int(self._growth_tracker.item())

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self):
        # the scale and tracker travel as numbers, not tensors (PyTorch's), and only between
        # iterations
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError("A GradScaler instance may only be pickled at the "
                                     "beginning of an iteration, or at the end after "
                                     "scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
