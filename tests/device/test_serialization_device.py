"""Checkpoints across devices (ember/serialization.py's contract): ``ember.save`` of CUDA tensors
writes PyTorch's format with storage locations ``"cuda:0"`` (PyTorch CPU reads it with
``map_location="cpu"``), and ``ember.load`` places storages as ``torch.load`` does for every
kind of ``map_location``; safetensors files load onto the device.

PyTorch here can't make CUDA tensors, so PyTorch-written CUDA checkpoints are PyTorch's CPU
files whose storage locations are rewritten (``relocate``): the location is all that differs
in a CUDA checkpoint (the storage bytes are the same)."""

from __future__ import annotations

import io
import pickletools
import zipfile

import numpy as np
import pytest

import ember
from ember import nn

from ..oracle import torch

CUDA0 = ember.device("cuda", 0)


def relocate(data: bytes, new: str, old: str = "cpu") -> bytes:
    """A checkpoint's bytes with every storage location ``old`` in data.pkl made ``new``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            b = src.read(info)
            if info.filename.endswith("/data.pkl"):
                # (the location is a BINUNICODE string of the storage's persistent id)
                before = b"X" + len(old).to_bytes(4, "little") + old.encode()
                after = b"X" + len(new).to_bytes(4, "little") + new.encode()
                assert before in b
                b = b.replace(before, after)
            dst.writestr(info.filename, b)
    return out.getvalue()


def locations(data: bytes) -> list:
    """The storage locations data.pkl names, in order."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    pkl = zf.read(next(n for n in zf.namelist() if n.endswith("/data.pkl")))
    strings = [arg for op, arg, _ in pickletools.genops(pkl) if op.name == "BINUNICODE"]
    return [s for s in strings if s == "cpu" or s.startswith("cuda")]


def saved(obj) -> bytes:
    buf = io.BytesIO()
    ember.save(obj, buf)
    return buf.getvalue()


def torch_saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def load(data, **kwargs):
    return ember.load(io.BytesIO(data), **kwargs)


# ---- saving CUDA tensors --------------------------------------------------------------------

def test_cuda_storages_are_tagged_with_their_device_and_torch_reads_them():
    x = ember.arange(12.0, device="cuda").reshape(3, 4)
    obj = {"x": x, "row": x[1], "col": x[:, 2], "cpu": ember.tensor([5, 6]),
           "p": nn.Parameter(ember.ones(2, device="cuda")), "h": ember.ones(2).half().cuda()}
    data = saved(obj)
    # x and its views share one storage; the CPU tensor has its own
    assert sorted(locations(data)) == ["cpu", "cuda:0", "cuda:0", "cuda:0"]
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device"):
        torch.load(io.BytesIO(data))  # PyTorch's CPU build, as for a checkpoint from a GPU
    for where in ("cpu", torch.device("cpu"), {"cuda:0": "cpu"}, lambda s, loc: s):
        back = torch.load(io.BytesIO(data), map_location=where)
        assert back["x"].tolist() == x.tolist() and back["row"].tolist() == x[1].tolist()
        assert back["col"].tolist() == x[:, 2].tolist() and back["cpu"].tolist() == [5, 6]
        assert isinstance(back["p"], torch.nn.Parameter) and back["p"].requires_grad
        assert back["h"].dtype == torch.float16
        ptr = back["x"].untyped_storage().data_ptr()
        assert back["row"].untyped_storage().data_ptr() == ptr
        assert back["col"].untyped_storage().data_ptr() == ptr
        assert back["col"].stride() == (4,) and back["col"].storage_offset() == 2


def test_loading_puts_each_tensor_back_on_its_device():
    x = ember.arange(6.0, device="cuda")
    for weights_only in (True, False):
        back = load(saved({"x": x, "v": x[2:], "c": ember.ones(2)}), weights_only=weights_only)
        assert back["x"].device == CUDA0 and back["v"].device == CUDA0
        assert back["c"].device.type == "cpu"
        assert back["x"].tolist() == x.tolist() and back["v"].tolist() == [2.0, 3.0, 4.0, 5.0]
        # the view still views the loaded storage, on the device
        assert back["v"].data_ptr() - back["x"].data_ptr() == 2 * 4
        back["x"][3] = 100.0
        assert back["v"][1].item() == 100.0


def test_a_cuda_module_round_trips():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).cuda()
    back = load(saved(model), weights_only=False)  # a whole module: by reference to its class
    assert all(p.device == CUDA0 for p in back.parameters())
    x = ember.randn(5, 3, device="cuda")
    assert back(x).tolist() == model(x).tolist()
    sd = load(saved(model.state_dict()))
    assert all(v.device == CUDA0 for v in sd.values())
    cpu = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    cpu.load_state_dict(load(saved(model.state_dict()), map_location="cpu"))
    assert cpu(x.cpu()).tolist() == model(x).cpu().tolist()


def test_a_cuda_optimizer_state_round_trips():
    model = nn.Linear(2, 2).cuda()
    opt = ember.optim.Adam(model.parameters())
    model(ember.ones(3, 2, device="cuda")).sum().backward()
    opt.step()
    sd = load(saved(opt.state_dict()))
    for state in sd["state"].values():
        assert state["exp_avg"].device == CUDA0 and state["exp_avg_sq"].device == CUDA0
        assert state["step"].device.type == "cpu"  # (PyTorch keeps step on the CPU)


# ---- loading PyTorch's CUDA checkpoints -------------------------------------------------------

def test_a_pytorch_cuda_checkpoint_loads_on_the_device():
    w = torch.arange(6.0).reshape(2, 3)
    data = relocate(torch_saved({"w": w, "wt": w.t(), "i": torch.tensor([1, 2], dtype=torch.int32),
                                 "b": torch.tensor([True, False])}), "cuda:0")
    assert set(locations(data)) == {"cuda:0"}
    for weights_only in (True, False):
        back = load(data, weights_only=weights_only)
        for k, v in back.items():
            assert v.device == CUDA0, k
        assert back["w"].tolist() == w.tolist() and back["wt"].tolist() == w.t().tolist()
        assert back["i"].dtype == ember.int32 and back["b"].tolist() == [True, False]
        assert back["wt"].stride() == (1, 3)
        back["w"][0, 1] = -1.0  # wt views w's storage, on the device too
        assert back["wt"][1, 0].item() == -1.0


@pytest.mark.parametrize("where", ["cuda", "cuda:0", ember.device("cuda"), CUDA0,
                                   {"cpu": "cuda:0"}, {"cpu": CUDA0}])
def test_map_location_to_the_device(where):
    data = torch_saved({"a": torch.arange(3.0), "b": torch.ones(2, 2)})
    back = load(data, map_location=where)
    assert back["a"].device == CUDA0 and back["b"].device == CUDA0
    assert back["a"].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("where", ["cpu", ember.device("cpu"), {"cuda:0": "cpu"}, b"cpu"])
def test_map_location_to_the_cpu(where):
    data = relocate(torch_saved({"a": torch.arange(3.0)}), "cuda:0")
    back = load(data, map_location=where)
    assert back["a"].device.type == "cpu" and back["a"].tolist() == [0.0, 1.0, 2.0]


def test_map_location_callables():
    data = relocate(torch_saved({"a": torch.arange(4.0)}), "cuda:0")
    seen = []

    def keep(storage, location):
        seen.append((location, storage.device.type, storage.nbytes()))
        return storage
    assert load(data, map_location=keep)["a"].device.type == "cpu"  # (given on the CPU)
    assert seen == [("cuda:0", "cpu", 16)]
    for fn in (lambda s, loc: s.cuda(), lambda s, loc: s.cuda(0), lambda s, loc: s.to(
            device="cuda"), lambda s, loc: None, lambda s, loc: s.cuda().cpu().cuda()):
        got = load(data, map_location=fn)["a"]
        assert got.device == CUDA0 and got.tolist() == [0.0, 1.0, 2.0, 3.0]
    got = load(data, map_location=lambda s, loc: s.cpu())["a"]
    assert got.device.type == "cpu"
    with pytest.raises(TypeError, match="map_location returned a Tensor"):
        load(data, map_location=lambda s, loc: ember.zeros(4))


def test_a_device_past_the_last_is_pytorchs_error():
    n = ember.cuda.device_count()
    data = relocate(torch_saved([torch.ones(2)]), f"cuda:{n}")
    msg = (f"Attempting to deserialize object on CUDA device {n} but "
           f"torch.cuda.device_count() is {n}. Please use torch.load with map_location to map "
           "your storages to an existing device.")
    for kwargs in ({}, {"weights_only": False}, {"map_location": f"cuda:{n}"}):
        with pytest.raises(RuntimeError) as e:
            load(data if kwargs.get("map_location") is None else saved([ember.ones(2)]),
                 **kwargs)
        assert str(e.value) == msg and type(e.value) is RuntimeError
    assert load(data, map_location={f"cuda:{n}": "cuda:0"})[0].device == CUDA0


def test_meta_and_unknown_locations():
    data = relocate(torch_saved({"a": torch.ones(2, 3)}), "cuda:0")
    meta = load(data, map_location="meta")["a"]
    assert meta.device.type == "meta" and tuple(meta.shape) == (2, 3)
    with pytest.raises(RuntimeError) as e:
        load(data, map_location="tpu")
    assert str(e.value) == ("don't know how to restore data location of "
                            "torch.storage.UntypedStorage (tagged with tpu)")


def test_mmap_onto_the_device(tmp_path):
    target = tmp_path / "m.pt"
    target.write_bytes(relocate(torch_saved({"w": torch.arange(6.0)}), "cuda:0"))
    back = ember.load(target, mmap=True)
    assert back["w"].device == CUDA0 and back["w"].tolist() == list(map(float, range(6)))


def test_bfloat16_cant_go_to_a_device_without_it():
    if not isinstance(ember.cuda._backend(), ember.backend.checked.CheckedBackend):
        pytest.skip("the checker refuses bfloat16 as CuPy does; a GPU's CuPy build decides")
    data = torch_saved({"w": torch.ones(2, dtype=torch.bfloat16)})
    with pytest.raises(ember.serialization.UnsupportedCheckpointError,
                       match="bfloat16 tensor can't be placed on the device"):
        load(data, map_location="cuda")
    assert load(data)["w"].dtype == ember.bfloat16  # (the CPU holds it)


# ---- safetensors ------------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["cuda", "cuda:0", 0, CUDA0])
def test_safetensors_load_file_on_the_device(tmp_path, device):
    pytest.importorskip("safetensors")
    from ember.utils.safetensors import load_file, save_file

    path = tmp_path / "t.safetensors"
    x = ember.arange(6.0).reshape(2, 3)
    save_file({"x": x.cuda(), "i": ember.tensor([1, 2], device="cuda")}, path)  # from the device
    import safetensors.torch

    theirs = safetensors.torch.load_file(str(path))
    assert theirs["x"].tolist() == x.tolist() and theirs["i"].tolist() == [1, 2]
    back = load_file(path, device=device)
    assert back["x"].device == CUDA0 and back["x"].tolist() == x.tolist()
    assert back["i"].device == CUDA0 and back["i"].dtype == ember.int64
    assert load_file(path)["x"].device.type == "cpu"


def test_load_of_a_safetensors_path_takes_a_device_map_location(tmp_path):
    pytest.importorskip("safetensors")
    from ember.utils.safetensors import save_file

    path = str(tmp_path / "t.safetensors")
    save_file({"x": ember.ones(2)}, path)
    assert ember.load(path, map_location="cuda")["x"].device == CUDA0
    assert ember.load(path, map_location=CUDA0)["x"].device == CUDA0
    assert ember.load(path)["x"].device.type == "cpu"
    for where, kind in (({"cpu": "cuda"}, "dict"), (lambda s, loc: s, "callable")):
        with pytest.raises(RuntimeError) as e:
            ember.load(path, map_location=where)
        assert str(e.value) == (f"Loading safetensors file with {kind} map_location is not "
                                "supported. Use a device string or torch.device instead.")
    np.testing.assert_array_equal(torch.load(path, map_location="cpu")["x"].numpy(), [1, 1])
