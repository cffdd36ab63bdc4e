"""``ember.optim.lr_scheduler``: learning-rate schedules (PyTorch's ``torch.optim.lr_scheduler``).

Contract: PyTorch's classes, signatures, defaults, errors and warnings, and the same float
arithmetic: the chainable schedules update each group's current ``lr`` from its previous value
(so the sequences match PyTorch's, rounding included), ``step(epoch)`` uses the closed form where
PyTorch has one. Constructing a scheduler performs its initial step (``last_epoch`` 0) and wraps
``optimizer.step`` so the first ``scheduler.step()`` can warn when it comes before any
``optimizer.step()``. ``state_dict()`` is the scheduler's ``__dict__`` without the optimizer
(callables replaced as PyTorch does). A port of PyTorch's implementation, logic unchanged.

This module is the public path of every schedule (classes pickled by whole-object checkpoints
name it, as PyTorch's do), and defines the schedules built on other schedulers
(``SequentialLR``, ``ChainedScheduler``) and ``ReduceLROnPlateau``. The others live by family:
the base class and shared helpers in _lr_base.py, the decaying schedules in _lr_decay.py, the
cyclic ones in _lr_cyclic.py; their classes' ``__module__`` is set to this module's name below.
"""

from __future__ import annotations

import warnings
from bisect import bisect_right
from math import inf
from typing import TYPE_CHECKING, Any, Literal, SupportsFloat

from ._lr_base import (  # noqa: F401 - re-exported: this is their public path
    EPOCH_DEPRECATION_WARNING,
    LRScheduler,
    _enable_get_lr_call,
    _format_param,
    _initial_mode,
    _LRScheduler,
    _param_groups_val_list,
    _update_param_group_val,
    _warn_get_lr_called_within_step,
)
from ._lr_cyclic import (  # noqa: F401 - re-exported: this is their public path
    CosineAnnealingWarmRestarts,
    CyclicLR,
    OneCycleLR,
    _SchedulePhase,
)
from ._lr_decay import (  # noqa: F401 - re-exported: this is their public path
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
    _LambdaScheduler,
    _lr_lambdas_per_group,
)
from .optimizer import Optimizer

if TYPE_CHECKING:
    from collections.abc import Sequence
__all__ = [
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "SequentialLR",
    "CosineAnnealingLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
    "CyclicLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "PolynomialLR",
    "LRScheduler",
]


def _check_inner_schedulers(
    owner: LRScheduler, schedulers: Sequence[LRScheduler], optimizer: Optimizer
) -> None:
    """``SequentialLR`` / ``ChainedScheduler``'s check of each inner scheduler (PyTorch's
    messages, naming ``owner``'s class): it has an ``optimizer``, is not a
    ``ReduceLROnPlateau`` (whose ``step`` needs a metric), and steps ``optimizer``."""
    for scheduler_idx, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(
                f"{owner.__class__.__name__} at index {scheduler_idx} should "
                "have `optimizer` as its attribute."
            )
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(
                f"{owner.__class__.__name__} does not support `ReduceLROnPlateau` "
                "scheduler as it requires additional kwargs to be specified "
                f"when calling `step`, but got one at index {scheduler_idx} "
                "in the given schedulers sequence."
            )
        if optimizer != scheduler.optimizer:
            raise ValueError(
                f"{owner.__class__.__name__} expects all schedulers to belong "
                f"to the same optimizer, but got scheduler {scheduler.__class__.__name__} "
                f"at index {scheduler_idx} has {scheduler.optimizer}, which "
                f"is different from {optimizer.__class__.__name__}."
            )


def _nested_state_dict(scheduler: LRScheduler) -> dict[str, Any]:
    """The state dict of a scheduler made of ``_schedulers`` (``SequentialLR``,
    ``ChainedScheduler``, as PyTorch's): everything but the optimizer, with each inner
    scheduler replaced by its own ``state_dict()``."""
    state_dict = {
        key: value
        for key, value in scheduler.__dict__.items()
        if key not in ("optimizer", "_schedulers")
    }
    state_dict["_schedulers"] = [None] * len(scheduler._schedulers)
    for idx, s in enumerate(scheduler._schedulers):
        state_dict["_schedulers"][idx] = s.state_dict()
    return state_dict


def _load_nested_state_dict(scheduler: LRScheduler, state_dict: dict[str, Any]) -> None:
    """Inverse of ``_nested_state_dict``: restore attributes, then load each inner scheduler;
    ``state_dict`` is left as it was given."""
    _schedulers = state_dict.pop("_schedulers")
    scheduler.__dict__.update(state_dict)
    state_dict["_schedulers"] = _schedulers
    for idx, s in enumerate(_schedulers):
        scheduler._schedulers[idx].load_state_dict(s)


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at each of ``milestones``."""

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: list[LRScheduler],
        milestones: list[int],
        last_epoch: int = -1,
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                f"{self.__class__.__name__} expects at least one scheduler, but got no scheduler."
            )
        _check_inner_schedulers(self, schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided "
                "to be one more than the number of milestone points, but got "
                f"number of schedulers {len(schedulers)} and the number of milestones "
                f"to be equal to {len(milestones)}"
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in self.optimizer.param_groups:
            _update_param_group_val(group, "lr", group["initial_lr"])
        self.recursive_undo()
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def recursive_undo(self, sched=None) -> None:
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return _nested_state_dict(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_nested_state_dict(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimizer together, each scaling the lr in turn."""

    def __init__(
        self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                f"{self.__class__.__name__} expects at least one scheduler to "
                "be chained, but got no scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        _check_inner_schedulers(self, schedulers, optimizer)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _param_groups_val_list(self._schedulers[-1].optimizer, "lr")

    def step(self) -> None:
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _param_groups_val_list(self._schedulers[-1].optimizer, "lr")

    def state_dict(self) -> dict[str, Any]:
        return _nested_state_dict(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_nested_state_dict(self, state_dict)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric passed to ``step(metric)`` has not
    improved (``mode``, ``threshold``, ``threshold_mode``) for ``patience`` epochs, then wait
    ``cooldown`` epochs; never below ``min_lr``."""

    def __init__(
        self,
        optimizer: Optimizer,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 0.0001,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: list[float] | float = 0,
        eps: float = 1e-08,
    ) -> None:
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        self.factor = factor
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(
                    f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}"
                )
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _param_groups_val_list(self.optimizer, "lr")
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: SupportsFloat, epoch=None) -> None:
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr(epoch)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _param_groups_val_list(self.optimizer, "lr")

    def _reduce_lr(self, epoch) -> None:
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    "The number of param groups in the `optimizer` "
                    f"({len(self.optimizer.param_groups)}) "
                    f"differs from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                    "usually due to a new param group being added to the optimizer. "
                    "Please modify the `min_lrs` field to match the length of "
                    "the `optimizer` param groups."
                )
            else:
                self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for i, param_group in enumerate(self.optimizer.param_groups):
            old_lr = float(param_group["lr"])
            new_lr = max(old_lr * self.factor, self.min_lrs[i])
            if old_lr - new_lr > self.eps:
                _update_param_group_val(param_group, "lr", new_lr)

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            rel_epsilon = 1.0 - self.threshold
            return a < best * rel_epsilon
        elif self.mode == "min" and self.threshold_mode == "abs":
            return a < best - self.threshold
        elif self.mode == "max" and self.threshold_mode == "rel":
            rel_epsilon = self.threshold + 1.0
            return a > best * rel_epsilon
        else:
            return a > best + self.threshold

    def _init_is_better(self, mode, threshold, threshold_mode) -> None:
        if mode not in {"min", "max"}:
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        if mode == "min":
            self.mode_worse = inf
        else:
            self.mode_worse = -inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._init_is_better(
            mode=self.mode, threshold=self.threshold, threshold_mode=self.threshold_mode
        )


# The classes defined in the family modules are published (and pickled) under PyTorch's path.
for _cls in (LRScheduler, _LRScheduler, _enable_get_lr_call, _initial_mode, _LambdaScheduler,
             LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR,
             ExponentialLR, PolynomialLR, CosineAnnealingLR, CyclicLR,
             CosineAnnealingWarmRestarts, _SchedulePhase, OneCycleLR):
    _cls.__module__ = __name__
del _cls
