"""Placing tensors on CUDA as a PyTorch user does: moving them (``.cuda()``, ``.cpu()``,
``.to``), asking where they are, printing them, reading values back, mixing devices, creating
them there (every factory's ``device=``, ``set_default_device``), modules, ``ember.cuda``'s
functions, and autograd, hooks, vmap, the profiler and custom Functions on device tensors.

PyTorch here is a CPU build, so the oracle is PyTorch's CPU result of the same program
(``same_on_device``: ember on ``cuda``, PyTorch on ``cpu``, ember's tensors checked to be on
``cuda:0`` and compared on the host); what only PyTorch CUDA shows (the ``device='cuda:0'``
suffix, ``get_device()``, its messages) is written from PyTorch's documented behaviour.
Every test runs under the device checker (conftest.py), or on a GPU when there is one."""

from __future__ import annotations

import gc
import io
import warnings

import numpy as np
import pytest

import ember
from ember import nn

from ..oracle import _call, assert_same, describe, torch

CUDA0 = ember.device("cuda", 0)
SAME_DEVICE = ("Expected all tensors to be on the same device, but found at least two devices, "
               "cuda:0 and cpu!")


def _describe(x, where):
    """``describe(x)`` with every ember tensor checked to be on CUDA and read on the host
    (its grad_fn, requires_grad and leafness its own)."""
    if isinstance(x, ember.Tensor):
        assert x.device == CUDA0, f"{where}: on {x.device}, not cuda:0"
        host = ember.Tensor._make(x.detach().cpu()._data)
        d = describe(host)
        fn = x.grad_fn
        return d[:3] + (bool(x.requires_grad), bool(x.is_leaf),
                        fn.name() if fn is not None else None) + d[6:]
    if isinstance(x, (list, tuple)) and not isinstance(x, ember.Size):
        return (type(x).__name__ if type(x) in (tuple, list) else "tuple",
                [_describe(v, f"{where}[{i}]") for i, v in enumerate(x)])
    if isinstance(x, dict):
        return ("dict", {k: _describe(v, f"{where}[{k!r}]") for k, v in x.items()})
    return describe(x)


def same_on_device(fn):
    """``fn(T, dev)`` on ember with ``dev="cuda"`` and on PyTorch with ``dev="cpu"``: the same
    results (ember's on cuda:0), or the same error."""
    mine, _ = _call(lambda T: fn(T, "cuda"), ember)
    ref, _ = _call(lambda T: fn(T, "cpu"), torch)
    assert_same(_describe(mine, "result"), describe(ref))
    return mine


# ---- moving tensors ------------------------------------------------------------------------

def test_cuda_cpu_and_to_move_values_and_record_the_copy():
    x = ember.arange(6.).reshape(2, 3)
    c = x.cuda()
    assert c.device == CUDA0 and c.is_cuda and not x.is_cuda
    assert c.cpu().device == ember.device("cpu") and c.cpu().tolist() == x.tolist()
    for moved in (x.to("cuda"), x.to("cuda:0"), x.to(CUDA0), x.to(device="cuda"), x.cuda(0),
                  x.cuda(CUDA0), x.to("cuda", non_blocking=True), x.cuda(non_blocking=True)):
        assert moved.device == CUDA0 and moved.tolist() == x.tolist()
    # already there: the tensor itself, as PyTorch (no copy, no node)
    assert c.cuda() is c and c.to("cuda") is c and x.cpu() is x and x.to("cpu") is x
    assert x.to("cuda", copy=True) is not x
    w = x.requires_grad_().cuda()
    assert w.grad_fn.name() == "ToCopyBackward0" and w.cpu().grad_fn.name() == "ToCopyBackward0"


def test_to_device_and_dtype_together():
    x = ember.arange(3)
    for t in (x.to("cuda", ember.float64), x.to(device="cuda", dtype=ember.float64),
              x.to(ember.device("cuda"), ember.float64)):
        assert (t.device, t.dtype, t.tolist()) == (CUDA0, ember.float64, [0.0, 1.0, 2.0])
    h = ember.zeros(1, dtype=ember.float16, device="cuda")
    t = x.to(h)  # to(other): other's dtype and device, as PyTorch
    assert (t.device, t.dtype) == (CUDA0, ember.float16)
    back = t.to(ember.zeros(1, dtype=ember.int32))
    assert (back.device, back.dtype, back.tolist()) == (ember.device("cpu"), ember.int32,
                                                        [0, 1, 2])
    same_on_device(lambda T, dev: (T.arange(4.).to(dev).to(T.int16), T.arange(3).to(dev, T.half)))


def test_where_a_tensor_is():
    c = ember.ones(2, device="cuda")
    assert c.get_device() == 0 and ember.ones(2).get_device() == -1
    assert c.device.type == "cuda" and c.device.index == 0 and str(c.device) == "cuda:0"
    assert ember.ones(1).device == ember.device("cpu")


# ---- printing -------------------------------------------------------------------------------

def test_printing_puts_the_device_first_then_dtype_then_grad():
    # PyTorch's order of the suffixes: device, dtype, grad_fn / requires_grad
    x = ember.arange(3.)
    assert repr(x.cuda()) == "tensor([0., 1., 2.], device='cuda:0')"
    assert repr(ember.ones(2, dtype=ember.float64, device="cuda")) == \
        "tensor([1., 1.], device='cuda:0', dtype=torch.float64)"
    assert repr(ember.tensor([1, 2], device="cuda")) == "tensor([1, 2], device='cuda:0')"
    assert repr(ember.tensor([1, 2], dtype=ember.int32, device="cuda")) == \
        "tensor([1, 2], device='cuda:0', dtype=torch.int32)"
    leaf = ember.ones(2, device="cuda", requires_grad=True)
    assert repr(leaf) == "tensor([1., 1.], device='cuda:0', requires_grad=True)"
    assert repr(leaf * 2) == "tensor([2., 2.], device='cuda:0', grad_fn=<MulBackward0>)"
    assert repr(leaf.double() * 2) == \
        "tensor([2., 2.], device='cuda:0', dtype=torch.float64, grad_fn=<MulBackward0>)"
    assert repr(ember.empty(0, device="cuda")) == "tensor([], device='cuda:0')"
    assert repr(ember.tensor(3.5, device="cuda")) == "tensor(3.5000, device='cuda:0')"
    assert repr(nn.Parameter(ember.zeros(1, device="cuda"))) == \
        "Parameter containing:\ntensor([0.], device='cuda:0', requires_grad=True)"
    # the values part is the CPU's, summarised the same way
    big = ember.arange(2000.)
    assert repr(big.cuda()) == repr(big)[:-1] + ", device='cuda:0')"
    assert str(x.cuda()) == repr(x.cuda())


# ---- reading values back ----------------------------------------------------------------------

def test_numpy_of_a_cuda_tensor_raises_pytorchs_type_error():
    msg = ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
           "tensor to host memory first.")
    c = ember.ones(2, device="cuda")
    with pytest.raises(TypeError) as e:
        c.numpy()
    assert str(e.value) == msg
    with pytest.raises(TypeError) as e:
        np.asarray(c)
    assert str(e.value) == msg
    assert c.cpu().numpy().tolist() == [1.0, 1.0]


def test_item_tolist_and_python_numbers():
    c = ember.tensor([[1.5, 2.0], [3.0, -4.0]], device="cuda")
    assert c[1, 0].item() == 3.0 and isinstance(c[1, 0].item(), float)
    assert c.tolist() == [[1.5, 2.0], [3.0, -4.0]]
    assert float(c[0, 0]) == 1.5 and int(c[1, 1]) == -4 and bool(c[0, 1])
    assert ember.tensor([7], device="cuda").item() == 7
    assert ember.tensor(True, device="cuda").item() is True
    with pytest.raises(RuntimeError, match="a Tensor with 4 elements cannot be converted"):
        c.item()


# ---- mixing devices -------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["add", "mul", "sub", "where", "maximum"])
def test_mixing_devices_raises_pytorchs_error(op):
    c, h = ember.ones(3, device="cuda"), ember.ones(3)
    fns = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": ember.sub,
           "where": lambda a, b: ember.where(a > 0, a, b), "maximum": ember.maximum}
    for a, b in ((c, h), (h, c)):
        with pytest.raises(RuntimeError) as e:
            fns[op](a, b)
        assert str(e.value) == SAME_DEVICE


def test_a_zero_dim_cpu_tensor_joins_a_cuda_op():
    c = ember.arange(3., device="cuda")
    s = ember.tensor(2.)
    for r in (c + s, s * c, c - s, ember.maximum(c, s), c.pow(s)):
        assert r.device == CUDA0
    assert (c + s).tolist() == [2.0, 3.0, 4.0] and (s * c).tolist() == [0.0, 2.0, 4.0]
    # a one-element tensor that is not 0-d does not
    with pytest.raises(RuntimeError) as e:
        c + ember.tensor([2.])
    assert str(e.value) == SAME_DEVICE


# ---- gradients across devices ----------------------------------------------------------------

def test_gradient_flows_back_across_to():
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (a.to("cuda") * ember.tensor([4.0, 5.0, 6.0], device="cuda")).sum().backward()
    assert a.grad.device == ember.device("cpu") and a.grad.tolist() == [4.0, 5.0, 6.0]
    b = ember.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    (b.cpu() ** 2).sum().backward()
    assert b.grad.device == CUDA0 and b.grad.tolist() == [2.0, 4.0]
    # a dtype change and a device change in one step
    d = ember.tensor([1.0, 2.0], requires_grad=True)
    d.to("cuda", ember.float64).sum().backward()
    assert (d.grad.device, d.grad.dtype) == (ember.device("cpu"), ember.float32)


def test_backward_of_a_device_graph_matches_the_cpu():
    def fn(T, dev):
        x = T.tensor([[0.5, -1.0], [2.0, 0.25]], device=dev, requires_grad=True)
        w = T.tensor([1.5, -0.5], device=dev, requires_grad=True)
        y = (x.exp() * w).sum(1).tanh()
        y.sum().backward()
        return y, x.grad, w.grad
    same_on_device(fn)


# ---- creating tensors on the device ------------------------------------------------------------

FACTORIES = {
    "zeros": lambda T, d: T.zeros(2, 3, device=d),
    "ones": lambda T, d: T.ones(4, dtype=T.int32, device=d),
    "full": lambda T, d: T.full((2,), 1.5, device=d),
    "full_int": lambda T, d: T.full((3,), 7, device=d),
    "empty": lambda T, d: T.empty(2, 2, device=d).fill_(3),
    "arange": lambda T, d: T.arange(1, 10, 2, device=d),
    "arange_float": lambda T, d: T.arange(0, 1, 0.25, device=d),
    "linspace": lambda T, d: T.linspace(-1, 1, 5, device=d),
    "logspace": lambda T, d: T.logspace(0, 2, 3, device=d),
    "eye": lambda T, d: T.eye(2, 3, device=d),
    "tensor": lambda T, d: T.tensor([[1, 2], [3, 4]], device=d),
    "tensor_scalar": lambda T, d: T.tensor(2.5, device=d),
    "as_tensor_list": lambda T, d: T.as_tensor([1.0, 2.0], device=d),
    "as_tensor_tensor": lambda T, d: T.as_tensor(T.arange(3), dtype=T.float64, device=d),
    "as_tensor_ndarray": lambda T, d: T.as_tensor(np.arange(3.0), device=d),
    "asarray": lambda T, d: T.asarray([1, 2, 3], device=d),
    "scalar_tensor": lambda T, d: T.scalar_tensor(4, device=d),
    "zeros_like": lambda T, d: T.zeros_like(T.ones(2, device=d)),
    "ones_like": lambda T, d: T.ones_like(T.ones(2), device=d),
    "full_like": lambda T, d: T.full_like(T.ones(2, 2, device=d), 5),
    "empty_like": lambda T, d: T.empty_like(T.ones(3, device=d)).zero_(),
    "new_zeros": lambda T, d: T.ones(1, device=d).new_zeros(2, 2),
    "new_ones": lambda T, d: T.ones(1, dtype=T.int64, device=d).new_ones(3),
    "new_full": lambda T, d: T.ones(1, device=d).new_full((2,), 9),
    "new_empty": lambda T, d: T.ones(1, device=d).new_empty(2).fill_(1),
    "new_tensor": lambda T, d: T.ones(1, device=d).new_tensor([1, 2]),
    "new_zeros_to_device": lambda T, d: T.ones(1).new_zeros(2, device=d),
    "tril_indices": lambda T, d: T.tril_indices(3, 4, 1, device=d),
    "triu_indices": lambda T, d: T.triu_indices(4, 3, -1, device=d),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_every_factory_places_on_the_device(name):
    same_on_device(FACTORIES[name])


def test_device_arguments_name_cuda_in_every_spelling():
    for d in ("cuda", "cuda:0", ember.device("cuda"), ember.device("cuda", 0), 0):
        assert ember.zeros(1, device=d).device == CUDA0


def test_set_default_device_moves_the_factories_default():
    ember.set_default_device("cuda")
    try:
        assert ember.get_default_device() == CUDA0
        for t in (ember.zeros(2), ember.ones(1), ember.tensor([1.0]), ember.arange(3),
                  ember.full((1,), 2.0), ember.eye(2), ember.linspace(0, 1, 3),
                  ember.randn(2), ember.rand(2), ember.randint(3, (2,)), ember.randperm(3)):
            assert t.device == CUDA0
        # an explicit device, and tensors made from NumPy's memory, stay where they say
        assert ember.zeros(1, device="cpu").device == ember.device("cpu")
        assert ember.from_numpy(np.ones(2)).device == ember.device("cpu")
        # a layer built under the default device has its parameters there
        assert nn.Linear(2, 2).weight.device == CUDA0
    finally:
        ember.set_default_device("cpu")
    assert ember.get_default_device() == ember.device("cpu") and ember.zeros(1).device.type \
        == "cpu"


# ---- modules --------------------------------------------------------------------------------

def test_module_cuda_keeps_parameter_identity_and_moves_grads_and_buffers():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    params = list(m.parameters())
    m(ember.randn(5, 3)).sum().backward()
    grads = [p.grad.tolist() for p in params]
    assert m.cuda() is m
    assert [p is q for p, q in zip(m.parameters(), params)] == [True] * len(params)
    assert all(p.device == CUDA0 and p.grad.device == CUDA0 for p in m.parameters())
    assert [p.grad.tolist() for p in m.parameters()] == grads
    assert all(b.device == CUDA0 for b in m.buffers())
    m.eval()  # (the forward here is about placement; training BatchNorm is the sweep's)
    out = m(ember.randn(5, 3, device="cuda"))
    assert out.device == CUDA0
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        m(ember.randn(5, 3))
    m.to("cpu")
    assert all(p.device.type == "cpu" and p.grad.device.type == "cpu" for p in m.parameters())
    assert list(m.parameters())[0] is params[0]
    m.to("cuda", ember.float64)
    assert all((p.device, p.dtype) == (CUDA0, ember.float64) for p in m.parameters())
    m.to(ember.float32)  # a dtype alone keeps the device
    assert all((p.device, p.dtype) == (CUDA0, ember.float32) for p in m.parameters())
    m.cpu()
    assert all(p.device.type == "cpu" for p in m.parameters())


def test_a_module_trains_on_the_device_as_on_the_cpu():
    def fn(T, dev):
        T.manual_seed(0)
        m = T.nn.Sequential(T.nn.Linear(3, 8), T.nn.Tanh(), T.nn.Linear(8, 2)).to(dev)
        opt = T.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        x = T.linspace(-1, 1, 12, device=dev).reshape(4, 3)
        y = T.tensor([0, 1, 1, 0], device=dev)
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = T.nn.functional.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        return losses, list(m.parameters())
    same_on_device(fn)


def test_state_dict_of_a_cuda_module_is_on_the_device():
    m = nn.Linear(2, 3).cuda()
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias"] and all(v.device == CUDA0 for v in sd.values())


def test_a_cpu_checkpoint_loads_into_a_cuda_module():
    cpu = nn.Linear(2, 3)
    m = nn.Linear(2, 3).cuda()
    m.load_state_dict(cpu.state_dict())
    assert m.weight.device == CUDA0 and m.weight.tolist() == cpu.weight.tolist()
    back = nn.Linear(2, 3)
    back.load_state_dict(m.state_dict())
    assert back.weight.device.type == "cpu" and back.weight.tolist() == cpu.weight.tolist()


def test_copy_across_devices():
    grads = []

    def fn(T, dev):
        a = T.zeros(3, device=dev)
        src = T.tensor([1.0, 2.0, 3.0], requires_grad=True)  # on the CPU
        a.copy_(src)
        (a * a).sum().backward()
        grads.append(src.grad)
        return a, src.grad.to(dev)
    same_on_device(fn)
    assert grads[0].device.type == "cpu"  # (the gradient went back to the source's device)


# ---- ember.cuda -----------------------------------------------------------------------------

def test_cuda_device_queries():
    assert ember.cuda.is_available() and ember.cuda.is_initialized()
    assert ember.cuda.device_count() >= 1 and ember.cuda.current_device() == 0
    assert isinstance(ember.cuda.get_device_name(), str) and ember.cuda.get_device_name()
    assert ember.cuda.get_device_name(0) == ember.cuda.get_device_name(CUDA0)
    assert ember.cuda.synchronize() is None and ember.cuda.synchronize(0) is None
    ember.cuda.set_device(0)
    with ember.cuda.device(0):
        assert ember.cuda.current_device() == 0
    assert ember.cuda.current_device() == 0


def test_an_ordinal_past_the_last_device_is_pytorchs_error():
    bad = ember.cuda.device_count()
    for make in (lambda: ember.zeros(1, device=f"cuda:{bad}"), lambda: ember.ones(1).cuda(bad),
                 lambda: ember.ones(1).to(f"cuda:{bad}"), lambda: ember.cuda.set_device(bad)):
        with pytest.raises(RuntimeError) as e:
            make()
        assert str(e.value) == "CUDA error: invalid device ordinal"


def test_memory_allocated_follows_tensors():
    gc.collect()
    before = ember.cuda.memory_allocated()
    ember.cuda.reset_peak_memory_stats()
    assert ember.cuda.max_memory_allocated() == before
    t = ember.ones(1 << 16, device="cuda")  # 256 KiB
    during = ember.cuda.memory_allocated()
    assert during >= before + t.nbytes
    assert ember.cuda.max_memory_allocated() >= during
    assert ember.cuda.memory_reserved() >= during
    del t
    gc.collect()
    assert ember.cuda.memory_allocated() <= during - (1 << 18)
    assert ember.cuda.max_memory_allocated() >= during  # the peak stays
    ember.cuda.reset_peak_memory_stats()
    assert ember.cuda.max_memory_allocated() == ember.cuda.memory_allocated()
    stats = ember.cuda.memory_stats()
    assert stats["allocated_bytes.all.current"] == ember.cuda.memory_allocated()
    ember.cuda.empty_cache()


# ---- autograd machinery on the device ---------------------------------------------------------

def test_hooks_see_and_change_device_gradients():
    a = ember.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    seen = []

    def hook(g):
        seen.append(g.device)
        return g * 10
    a.register_hook(hook)
    (a * 3).sum().backward()
    assert seen == [CUDA0] and a.grad.device == CUDA0 and a.grad.tolist() == [30.0, 30.0]
    m = nn.Linear(2, 1).cuda()
    got = []
    m.register_forward_hook(lambda mod, inp, out: got.append((inp[0].device, out.device)))
    m.register_full_backward_hook(lambda mod, gi, go: got.append(go[0].device))
    m(ember.ones(1, 2, device="cuda", requires_grad=True)).sum().backward()
    assert got == [(CUDA0, CUDA0), CUDA0]


def test_vmap_over_a_cuda_tensor():
    def fn(T, dev):
        x = T.arange(6.0, device=dev).reshape(2, 3)
        return T.vmap(lambda r: (r * r).sum())(x), T.vmap(T.outer)(x, x + 1)
    same_on_device(fn)


def test_profiler_records_cuda_ops():
    from ember.profiler import profile

    x = ember.ones(4, device="cuda")
    with profile() as prof:
        x.sin()
        ember.matmul(x, x)
    keys = {e.key for e in prof.key_averages()}
    assert {"aten::sin", "aten::matmul"} <= keys


def test_grad_with_create_graph_on_cuda():
    def fn(T, dev):
        a = T.tensor([1.0, 2.0, -0.5], device=dev, requires_grad=True)
        g, = T.autograd.grad((a * a * a).sum(), a, create_graph=True)
        g2, = T.autograd.grad((g * a.sin()).sum(), a)
        return g, g2
    same_on_device(fn)


def test_a_custom_function_on_cuda():
    def fn(T, dev):
        class Cube(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x * x

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 3 * x * x * g

        x = T.tensor([0.5, -2.0], device=dev, requires_grad=True)
        y = Cube.apply(x)
        y.sum().backward()
        return y, x.grad, y.grad_fn.name()
    same_on_device(fn)


# ---- moving batches: pinned memory, non-blocking copies -----------------------------------------

def test_dataloader_pins_batches_with_cuda():
    ds = ember.utils.data.TensorDataset(ember.arange(6.).reshape(3, 2), ember.arange(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # CUDA is available: no "no accelerator" warning
        batches = list(ember.utils.data.DataLoader(ds, batch_size=2, pin_memory=True))
    assert all(t.is_pinned() for b in batches for t in b)
    x, y = batches[0]
    moved = x.to("cuda", non_blocking=True)
    assert moved.device == CUDA0 and moved.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert not any(t.is_pinned() for b in ember.utils.data.DataLoader(ds, batch_size=2)
                   for t in b)

    class Batch:
        def __init__(self, data):
            self.data = data

        def pin_memory(self):
            self.data = self.data.pin_memory()
            return self

    got = list(ember.utils.data.DataLoader(ds, batch_size=3, pin_memory=True,
                                           collate_fn=lambda items: {"b": Batch(items[0][0]),
                                                                     "s": "text"}))
    assert got[0]["b"].data.is_pinned() and got[0]["s"] == "text"


def test_pin_memory_of_a_tensor():
    x = ember.ones(3)
    p = x.pin_memory()
    assert p.is_pinned() and not x.is_pinned() and p.tolist() == x.tolist()
    assert p.pin_memory() is p
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        x.cuda().pin_memory()


# ---- optimizers: state follows the parameters ------------------------------------------------

def test_optimizer_load_state_dict_moves_state_to_the_parameters_device():
    m = nn.Linear(3, 2)
    opt = ember.optim.Adam(m.parameters(), lr=0.01)
    m(ember.ones(4, 3)).sum().backward()
    opt.step()
    buf = io.BytesIO()
    ember.save(opt.state_dict(), buf)  # a checkpoint written on the CPU
    buf.seek(0)
    m.cuda()
    opt2 = ember.optim.Adam(m.parameters(), lr=0.01)
    opt2.load_state_dict(ember.load(buf))
    for p in m.parameters():
        state = opt2.state[p]
        assert state["exp_avg"].device == CUDA0 and state["exp_avg_sq"].device == CUDA0
        assert state["step"].device.type == "cpu"  # PyTorch leaves step where it was
    m.zero_grad()
    m(ember.ones(4, 3, device="cuda")).sum().backward()
    opt2.step()  # runs on the device
    assert all(p.device == CUDA0 for p in m.parameters())
