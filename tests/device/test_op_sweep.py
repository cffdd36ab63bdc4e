"""Every op record on the CUDA path: each sample of tests/opinfo run on ``cuda`` (the device
checker without a GPU) must give the CPU's outputs (values bit for bit on the checker, as its
arrays compute with NumPy; on a GPU to the record's tolerance), dtypes and ``grad_fn`` names,
keep every tensor on the device, give the same gradients (on the device) and the same
forward-mode tangents, and fail as the CPU fails."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import forward_ad as fwAD

from ..opinfo import RECORDS
from .helpers import exact, tensors

CASES = [(rec, i) for rec in RECORDS for i, _ in enumerate(rec.samples(np.random.default_rng(0)))]
IDS = [f"{rec.name}-{i}" for rec, i in CASES]


def _sample(rec, i):
    return list(rec.samples(np.random.default_rng(0)))[i]


def _cpu_args(rec, sample, dtype=ember.float64):
    out = []
    for k, a in enumerate(sample):
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                out.append(ember.tensor(a, dtype=dtype).requires_grad_(k not in rec.nondiff))
            else:
                out.append(ember.tensor(a))
        else:
            out.append(a)
    return out


def _on_device(args):
    return [a.detach().to("cuda").requires_grad_(a.requires_grad)
            if isinstance(a, ember.Tensor) else a for a in args]


def _same_values(cpu, dev, rec, what):
    assert dev.device == ember.device("cuda", 0), f"{what}: on {dev.device}, not cuda:0"
    assert dev.dtype == cpu.dtype, f"{what}: dtype {dev.dtype} != {cpu.dtype}"
    assert tuple(dev.shape) == tuple(cpu.shape), what
    got = dev.detach().cpu().numpy()
    want = cpu.detach().numpy()
    if exact():
        assert np.array_equal(got, want, equal_nan=got.dtype.kind in "fc"), \
            f"{what}: values differ from the CPU's"
    else:
        np.testing.assert_allclose(got, want, rtol=rec.rtol32, atol=rec.atol32, err_msg=what)


# What CuPy cannot do, so ember's CUDA tensors refuse it with a clear error (the CPU runs it)
REFUSED = {"bfloat16": (TypeError, "CuPy has no bfloat16 dtype")}


def _run(rec, args, on_device=False):
    """``rec.fn`` on ``args``; on the device side, a record without tensor arguments (a
    factory: tril_indices) runs with ``cuda`` as the default device."""
    default = on_device and not tensors(args)
    if default:
        ember.set_default_device("cuda")
    try:
        return rec.fn(ember, *args), None
    except Exception as e:  # noqa: BLE001 - compared with the CPU's failure
        return None, e
    finally:
        if default:
            ember.set_default_device(None)


@pytest.mark.parametrize("rec,i", CASES, ids=IDS)
def test_op_on_device_matches_cpu(rec, i):
    sample = _sample(rec, i)
    cpu_args = _cpu_args(rec, sample)
    dev_args = _on_device(cpu_args)
    cpu_out, cpu_err = _run(rec, cpu_args)
    dev_out, dev_err = _run(rec, dev_args, on_device=True)
    if rec.name in REFUSED:
        cls, words = REFUSED[rec.name]
        assert isinstance(dev_err, cls) and words in str(dev_err), repr(dev_err)
        return
    if cpu_err is not None:
        assert dev_err is not None, f"the CPU raised {cpu_err!r}, the device did not"
        assert type(dev_err) is type(cpu_err) and str(dev_err) == str(cpu_err)
        return
    if dev_err is not None:
        raise dev_err
    cpu_ts, dev_ts = tensors(cpu_out), tensors(dev_out)
    assert len(cpu_ts) == len(dev_ts)
    for k, (c, d) in enumerate(zip(cpu_ts, dev_ts)):
        _same_values(c, d, rec, f"output {k}")
        assert type(d.grad_fn).__name__ == type(c.grad_fn).__name__
    if not rec.gradcheck:
        return
    # gradients of a weighted sum of the floating outputs, on the device
    diff = [(c, d) for c, d in zip(cpu_ts, dev_ts) if c.requires_grad]
    if not diff:
        return
    rng = np.random.default_rng(1)
    weights = [rng.uniform(0.5, 1.5, size=tuple(c.shape)) for c, _ in diff]
    cpu_loss = sum((c * ember.tensor(w, dtype=c.dtype)).sum() for (c, _), w in zip(diff, weights))
    dev_loss = sum((d * ember.tensor(w, dtype=d.dtype, device="cuda")).sum()
                   for (_, d), w in zip(diff, weights))
    cpu_in = [a for a in cpu_args if isinstance(a, ember.Tensor) and a.requires_grad]
    dev_in = [a for a in dev_args if isinstance(a, ember.Tensor) and a.requires_grad]
    cpu_g = ember.autograd.grad(cpu_loss, cpu_in, allow_unused=True)
    dev_g = ember.autograd.grad(dev_loss, dev_in, allow_unused=True)
    for k, (c, d) in enumerate(zip(cpu_g, dev_g)):
        assert (c is None) == (d is None), f"grad {k}"
        if c is not None:
            _same_values(c, d, rec, f"grad {k}")


# (ops with no gradient, or a known forward-mode gap on the CPU, have no tangent to compare)
JVP_CASES = [(rec, i) for rec, i in CASES if rec.gradcheck and "jvp" not in rec.xfail]


@pytest.mark.parametrize("rec,i", JVP_CASES, ids=[f"{rec.name}-{i}" for rec, i in JVP_CASES])
def test_forward_mode_on_device_matches_cpu(rec, i):
    sample = _sample(rec, i)
    outs = []
    for place in (False, True):
        args = _cpu_args(rec, sample)
        if place:
            args = _on_device(args)
        rng = np.random.default_rng(2)
        with fwAD.dual_level():
            duals = []
            for a in args:
                if isinstance(a, ember.Tensor) and a.requires_grad:
                    t = ember.tensor(rng.uniform(-1, 1, size=tuple(a.shape)), dtype=a.dtype,
                                     device=a.device)
                    duals.append(fwAD.make_dual(a.detach(), t))
                else:
                    duals.append(a.detach() if isinstance(a, ember.Tensor) else a)
            try:
                out = rec.fn(ember, *duals)
            except Exception as e:  # noqa: BLE001 - compared below
                outs.append(e)
                continue
            outs.append([(o.detach(), fwAD.unpack_dual(o).tangent) for o in tensors(out)])
    cpu, dev = outs
    if isinstance(cpu, Exception):
        assert type(dev) is type(cpu) and str(dev) == str(cpu)
        return
    if isinstance(dev, Exception):
        raise dev
    for k, ((cv, ct), (dv, dt)) in enumerate(zip(cpu, dev)):
        _same_values(cv, dv, rec, f"output {k}")
        assert (ct is None) == (dt is None), f"tangent {k}"
        if ct is not None:
            _same_values(ct, dt, rec, f"tangent {k}")


# second order: the backward rules are ember ops, so their own backward runs on the device too
GG_CASES = [(rec, i) for rec, i in CASES if rec.gradcheck and rec.second_order
            and "gradgradcheck" not in rec.xfail and rec.name not in REFUSED]


def _second_order(rec, args):
    out = tensors(rec.fn(ember, *args))
    diff = [o for o in out if o.requires_grad]
    ins = [a for a in args if isinstance(a, ember.Tensor) and a.requires_grad]
    if not diff or not ins:
        return None
    loss = sum((o * o).sum() for o in diff)
    grads = ember.autograd.grad(loss, ins, create_graph=True, allow_unused=True)
    used = [(x, g) for x, g in zip(ins, grads) if g is not None and g.requires_grad]
    if not used:
        return None
    total = sum((g * g).sum() for _, g in used)
    return ember.autograd.grad(total, [x for x, _ in used], allow_unused=True)


@pytest.mark.parametrize("rec,i", GG_CASES, ids=[f"{rec.name}-{i}" for rec, i in GG_CASES])
def test_second_order_on_device_matches_cpu(rec, i):
    sample = _sample(rec, i)
    cpu_args = _cpu_args(rec, sample)
    try:
        cpu = _second_order(rec, cpu_args)
    except Exception as e:  # noqa: BLE001 - the device must fail the same way
        with pytest.raises(type(e)):
            _second_order(rec, _on_device(cpu_args))
        return
    dev = _second_order(rec, _on_device(cpu_args))
    assert (cpu is None) == (dev is None)
    for k, (c, d) in enumerate(zip(cpu or (), dev or ())):
        assert (c is None) == (d is None), f"second-order grad {k}"
        if c is not None:
            _same_values(c, d, rec, f"second-order grad {k}")
