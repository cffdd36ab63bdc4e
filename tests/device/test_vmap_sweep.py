"""``vmap`` on CUDA: every op record batched by its rule (tests/test_vmap_records.py's
``batched`` mode) on ``cuda`` (the device checker without a GPU) gives the CPU's vmap result,
bit for bit on the checker: values, dtypes, shapes, and every output on the device."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.func import vmap

from ..opinfo import RECORDS
from ..test_vmap_records import XFAIL, N, _draw, _is_tensor_arg, _leaves, _mapped, _tensor
from .helpers import exact

# (records vmap refuses or has no rule for on the CPU: their device run is not compared)
CASES = [rec for rec in RECORDS if rec.name not in XFAIL and f"{rec.name}/batched" not in XFAIL
         and rec.name != "bfloat16"]  # (refused on CUDA: test_op_sweep.py checks the refusal)


def _batched_run(rec, device):
    outs = []
    for group in _draw(rec, range(N)):
        consts = list(group[0])
        positions = [p for p, a in enumerate(consts) if _is_tensor_arg(a)]
        if not positions:
            continue
        f = _mapped(rec, consts, positions)
        stacked = [_tensor(np.stack([g[p] for g in group]), "float32").to(device)
                   for p in positions]
        outs.append(_leaves(vmap(f)(*stacked)))
    return outs


@pytest.mark.parametrize("rec", CASES, ids=[rec.name for rec in CASES])
def test_vmap_on_device_matches_cpu(rec):
    cpu = _batched_run(rec, "cpu")
    dev = _batched_run(rec, "cuda")
    assert len(cpu) == len(dev)
    for k, (cs, ds) in enumerate(zip(cpu, dev)):
        assert len(cs) == len(ds)
        for j, (c, d) in enumerate(zip(cs, ds)):
            what = f"sample {k}, output {j}"
            if not isinstance(c, ember.Tensor):
                assert c == d, what
                continue
            assert d.device == ember.device("cuda", 0), f"{what}: on {d.device}"
            assert d.dtype == c.dtype and tuple(d.shape) == tuple(c.shape), what
            got, want = d.detach().cpu().numpy(), c.detach().numpy()
            if exact():
                assert np.array_equal(got, want, equal_nan=got.dtype.kind in "fc"), what
            else:
                np.testing.assert_allclose(got, want, rtol=rec.rtol32, atol=rec.atol32,
                                           err_msg=what)
