"""Backward passes from several threads into one leaf: every gradient arrives (PyTorch locks
its AccumulateGrad; NOTE [concurrent accumulation] in ember/autograd/graph.py)."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import ember


@pytest.fixture
def fast_switching():
    # thread switches every microsecond: a read-add-write of .grad that is not atomic loses
    # updates in nearly every trial
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
@pytest.mark.parametrize("size,create_graph", [(1, False), (100_000, False), (1000, True)])
def test_threads_accumulate_into_one_leaf(fast_switching, size, create_graph):
    n_threads, iters = 8, 30
    for _ in range(3):
        x = ember.ones(size, requires_grad=True)
        errors = []

        def work(k, x=x, errors=errors):
            try:
                for _ in range(iters):
                    (x * float(k)).sum().backward(create_graph=create_graph)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(1, n_threads + 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        expected = iters * sum(range(1, n_threads + 1))
        np.testing.assert_array_equal(x.grad.detach().numpy(), np.full(size, float(expected)))


def test_threads_retain_separate_grad_modes(fast_switching):
    # a backward pass in one thread must not switch grad mode off in another's forward
    x = ember.ones(3, requires_grad=True)
    flags = []

    def work():
        for _ in range(200):
            y = x * 2
            flags.append(y.requires_grad)
            y.sum().backward()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(flags) and len(flags) == 800
    assert x.grad.tolist() == [1600.0] * 3
