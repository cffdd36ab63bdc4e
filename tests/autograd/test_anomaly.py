"""Anomaly detection: PyTorch's API, NaN errors and warnings (oracle), and ember's extras —
the forward traceback as an exception note, and the in-place line in version errors."""

from __future__ import annotations

import sys

import pytest

import ember

from ..oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def _nan_backward(T):
    x = T.zeros(1, requires_grad=True)
    y = x / x
    y.backward()


def test_nan_in_backward_raises_with_pytorchs_message():
    def fn(T):
        with T.autograd.detect_anomaly():
            _nan_backward(T)
    # the warnings carry file/line details that differ between the libraries
    same(fn, warnings_too=False)


def test_check_nan_false_lets_nan_through():
    def fn(T):
        with T.autograd.detect_anomaly(check_nan=False):
            x = T.zeros(1, requires_grad=True)
            (x / x).backward()
            return x.grad, T.is_anomaly_enabled(), T.is_anomaly_check_nan_enabled()
    same(fn, warnings_too=False)


def test_flags_and_set_detect_anomaly():
    def fn(T):
        A = T.autograd
        res = [T.is_anomaly_enabled()]
        A.set_detect_anomaly(True)
        res.append(T.is_anomaly_enabled())
        A.set_detect_anomaly(False)
        res.append(T.is_anomaly_enabled())
        with A.set_detect_anomaly(True, check_nan=False):
            res.append((T.is_anomaly_enabled(), T.is_anomaly_check_nan_enabled()))
        res.append((T.is_anomaly_enabled(), T.is_anomaly_check_nan_enabled()))
        return res
    same(fn)


def test_enter_warning_matches():
    def fn(T):
        with T.autograd.detect_anomaly():
            pass
    same(fn)


def _forward_line():
    x = ember.zeros(1, requires_grad=True)
    return x / x  # the forward call the note must point at


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_error_note_carries_forward_traceback():
    with pytest.warns(UserWarning), ember.autograd.detect_anomaly():
        y = _forward_line()
        with pytest.raises(RuntimeError, match="DivBackward0' returned nan") as info:
            y.backward()
    (note,) = info.value.__notes__
    assert "DivBackward0" in note and "_forward_line" in note and "return x / x" in note


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_error_in_custom_backward_gets_the_note():
    class Boom(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    with pytest.warns(UserWarning), ember.autograd.detect_anomaly():
        y = Boom.apply(ember.ones(2, requires_grad=True)).sum()
        with pytest.raises(ValueError, match="boom") as info:
            y.backward()
    assert "BoomBackward" in info.value.__notes__[0]


def test_no_stacks_recorded_when_off():
    from ember.autograd import anomaly_mode, graph

    assert type(graph._seq).__name__ == "count"
    with pytest.warns(UserWarning), ember.autograd.detect_anomaly():
        assert type(graph._seq).__name__ == "_StackRecordingCounter"
        y = ember.ones(1, requires_grad=True) * 2
        assert anomaly_mode.forward_stack(y.grad_fn) is not None
    assert type(graph._seq).__name__ == "count"


def _mutate(t):
    t.mul_(2)  # the line the note must name


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_version_error_names_the_inplace_line():
    with pytest.warns(UserWarning), ember.autograd.detect_anomaly():
        x = ember.ones(3, requires_grad=True)
        y = x.exp()
        z = y * 2
        _mutate(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
            z.sum().backward()
    notes = "\n".join(info.value.__notes__)
    assert "_mutate" in notes and "t.mul_(2)" in notes
    from ember.ops import inplace

    assert not hasattr(inplace._bump, "plain")  # swapped back when anomaly mode ended
