"""Every test here runs with the device checker as the CUDA backend (NOTE [device checker] in
ember/backend/checked.py): ``device="cuda"`` tensors hold arrays that refuse what CuPy's refuse,
so these tests exercise ember's CUDA path on a machine without a GPU (CI's)."""

from __future__ import annotations

import pytest

import ember


@pytest.fixture(autouse=True)
def _device_checker():
    if ember.cuda.is_available() and not isinstance(
            ember.cuda._backend(), ember.backend.checked.CheckedBackend):
        yield  # a real GPU: the tests run on it
        return
    with ember.cuda.use_checker():
        yield
