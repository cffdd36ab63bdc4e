"""Without a CUDA backend (no CuPy or no GPU, and not under the device checker): ember answers
what PyTorch's CPU build answers (PyTorch here is one: the oracle), and placing a tensor on
CUDA raises PyTorch's AssertionError with the way to get ember's CUDA (``pip install
'ember[cuda]'``). Checkpoints from a GPU need ``map_location``, as in PyTorch."""

from __future__ import annotations

import io

import pytest

import ember

from .device.test_serialization_device import relocate
from .oracle import same, torch

pytestmark = pytest.mark.skipif(ember.cuda.is_available(),
                                reason="a CUDA backend is available here (a GPU, or "
                                       "EMBER_CUDA_CHECKER=1)")

PLACING = {
    "cuda": lambda T: T.ones(2).cuda(),
    "to": lambda T: T.ones(2).to("cuda"),
    "to_dtype": lambda T: T.ones(2).to("cuda:0", T.float64),
    "zeros": lambda T: T.zeros(2, device="cuda"),
    "tensor": lambda T: T.tensor([1.0], device="cuda"),
    "arange": lambda T: T.arange(3, device=T.device("cuda")),
    "rand": lambda T: T.rand(2, device="cuda"),
    "randn_like": lambda T: T.randn_like(T.ones(2), device="cuda"),
    "module": lambda T: T.nn.Linear(1, 1).cuda(),
}


@pytest.mark.parametrize("name", list(PLACING))
def test_placing_on_cuda_raises_the_assertion_naming_the_install(name):
    with pytest.raises(AssertionError) as e:
        PLACING[name](ember)
    with pytest.raises(AssertionError) as t:
        PLACING[name](torch)
    assert str(e.value).startswith(str(t.value) + " (")  # PyTorch's words, then ember's hint
    assert "pip install 'ember[cuda]'" in str(e.value)


QUERIES = {
    "available": lambda T: (T.cuda.is_available(), T.cuda.device_count(),
                            T.cuda.is_initialized(), T.cuda.is_bf16_supported()),
    "memory": lambda T: (T.cuda.memory_allocated(), T.cuda.max_memory_allocated(),
                         T.cuda.memory_reserved(), T.cuda.max_memory_reserved(),
                         dict(T.cuda.memory_stats())),
    "empty_cache": lambda T: T.cuda.empty_cache(),
    "seeding": lambda T: (T.cuda.manual_seed(1), T.cuda.manual_seed_all(1), T.cuda.seed(),
                          T.cuda.seed_all(), T.cuda.get_rng_state_all()),
    "device_name": lambda T: T.cuda.get_device_name(),
    "current_device": lambda T: T.cuda.current_device(),
    "synchronize": lambda T: T.cuda.synchronize(),
    "device_context": lambda T: T.cuda.device(0).__enter__(),
    "initial_seed": lambda T: T.cuda.initial_seed(),
    "get_rng_state": lambda T: T.cuda.get_rng_state(),
    "properties": lambda T: T.cuda.get_device_properties(0),
    "stream": lambda T: T.cuda.current_stream(),
    "event": lambda T: T.cuda.Event(),
    "pin_memory": lambda T: T.ones(2).pin_memory(),
    "is_pinned": lambda T: T.ones(2).is_pinned(),
    "tensor_where": lambda T: (T.ones(1).is_cuda, T.ones(1).get_device(), str(T.ones(1).device)),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_the_cpu_builds_answers(name):
    same(QUERIES[name])


def test_seeding_and_forking_without_cuda():
    def fn(T):
        T.manual_seed(5)
        with T.random.fork_rng():
            T.rand(3)
        return T.rand(3), T.initial_seed()
    same(fn)


def _torch_file(location):
    buf = io.BytesIO()
    torch.save({"w": torch.arange(3.0), "v": torch.ones(2, dtype=torch.int64)}, buf)
    return relocate(buf.getvalue(), location)


@pytest.mark.parametrize("location", ["cuda:0", "cuda", "cuda:1"])
@pytest.mark.parametrize("kwargs", [{}, {"weights_only": False}, {"map_location": "cuda"},
                                    {"map_location": {"cuda:0": "cuda:1"}}])
def test_a_gpu_checkpoint_needs_map_location(location, kwargs):
    data = _torch_file(location)
    same(lambda T: T.load(io.BytesIO(data), **kwargs))


@pytest.mark.parametrize("where", ["cpu", "meta", "xpu", "mps", "hpu", "tpu"])
def test_map_location_elsewhere(where):
    data = _torch_file("cuda:0")

    def fn(T):
        got = T.load(io.BytesIO(data), map_location=where)
        return {k: (str(v.device), v.dtype, tuple(v.shape)) for k, v in got.items()}
    same(fn)


@pytest.mark.parametrize("location", ["mps", "xpu:0", "xpu", "mtia", "mtia:0", "hpu",
                                      "privateuseone", "meta", "somewhere"])
def test_other_saved_locations(location):
    data = _torch_file(location)

    def fn(T):
        got = T.load(io.BytesIO(data))
        return {k: (str(v.device), tuple(v.shape)) for k, v in got.items()}
    same(fn)
    same(lambda T: T.load(io.BytesIO(data), map_location={location: "cpu"}))


def test_a_gpu_checkpoint_through_a_callable():
    data = _torch_file("cuda:0")
    same(lambda T: T.load(io.BytesIO(data), map_location=lambda storage, loc: storage))
    same(lambda T: T.load(io.BytesIO(data), map_location=lambda storage, loc: None))
    with pytest.raises(RuntimeError, match="^Attempting to deserialize object on a CUDA device"):
        ember.load(io.BytesIO(data), map_location=lambda storage, loc: storage.cuda())
