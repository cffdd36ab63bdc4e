"""``ember.profiler``: PyTorch's ``torch.profiler`` API over ember's profiler.

Contract: ``profile(activities=[ProfilerActivity.CPU], record_shapes=False,
profile_memory=False, with_stack=False)`` records the same events as
``ember.autograd.profiler.profile`` (see its module docstring) and offers ``events()``,
``key_averages()``, ``export_chrome_trace(path)`` and ``step()``; ``record_function`` is the
same class as ``ember.autograd.profiler.record_function``. ember runs on the CPU only, so
``ProfilerActivity.CUDA`` is refused with an error.

>>> import ember as torch
>>> x = torch.ones(3, requires_grad=True)
>>> with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
...     (x * 2).sum().backward()
>>> [e.key for e in prof.key_averages()][:2]
['aten::mul', 'aten::sum']
"""

from __future__ import annotations

import enum

from .autograd import profiler as _autograd_profiler
from .autograd.profiler import EventList, record_function

__all__ = ["profile", "ProfilerActivity", "record_function", "EventList"]


class ProfilerActivity(enum.Enum):
    """What a profiler records; ember has CPU activity only."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


def supported_activities() -> set:
    return {ProfilerActivity.CPU}


class profile:
    """Record the ops ember runs in a block (PyTorch's ``torch.profiler.profile``)."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False,
                 with_flops=False, with_modules=False, experimental_config=None,
                 execution_trace_observer=None, acc_events=False,
                 custom_trace_id_callback=None):
        activities = set(activities) if activities is not None else {ProfilerActivity.CPU}
        other = activities - {ProfilerActivity.CPU}
        if other:
            names = ", ".join(sorted(a.name for a in other))
            raise ValueError(f"ember runs on the CPU only: activities {names} cannot be "
                             "profiled; use activities=[ProfilerActivity.CPU]")
        self.activities = activities
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.profiler = None

    def start(self):
        self.profiler = _autograd_profiler.profile(
            record_shapes=self.record_shapes, profile_memory=self.profile_memory,
            with_stack=self.with_stack)
        self.profiler.__enter__()

    def stop(self):
        if self.profiler is not None and self.profiler.function_events is None:
            self.profiler.__exit__(None, None, None)
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def step(self):
        """Mark the end of a training step (ember records every step: no schedule)."""
        self.step_num += 1

    def _finished(self):
        if self.profiler is None or self.profiler.function_events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self.profiler

    def events(self) -> EventList:
        return self._finished().function_events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0) -> EventList:
        return self._finished().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path):
        self._finished().export_chrome_trace(path)
