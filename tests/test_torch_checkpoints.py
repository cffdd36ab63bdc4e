"""PyTorch checkpoints both ways: ``torch.save`` -> ``ember.load``, and back.

Round trips run real PyTorch (the test extra). The hostile-file tests prove nothing from the file
runs: each payload is first shown to fire under plain ``pickle.loads`` (so the test is live),
then ember must refuse it with PyTorch's error class and message and the payload's marker file
must not exist.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

import ember
from ember import serialization
from ember.serialization import CheckpointError, UnsafeCheckpointError

torch = pytest.importorskip("torch")


def torch_bytes(obj, **kwargs):
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


def ember_bytes(obj):
    buf = io.BytesIO()
    ember.save(obj, buf)
    return buf.getvalue()


def eload(data, **kwargs):
    return ember.load(io.BytesIO(data), **kwargs)


def tload(data, **kwargs):
    return torch.load(io.BytesIO(data), **kwargs)


def bits(t):
    """A tensor's values as exact bits (bfloat16 through its 16-bit pattern)."""
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return t.view(torch.int16).numpy() if t.dtype == torch.bfloat16 else t.numpy()
    a = t.detach()._data
    return a.view(np.int16) if a.dtype.name == "bfloat16" else np.asarray(a)


def assert_same_tensor(e, t):
    assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
    assert e.requires_grad == t.requires_grad
    np.testing.assert_array_equal(bits(e), bits(t))


# ---- torch.save -> ember.load ------------------------------------------------------------------

def test_state_dict_of_every_dtype_loads_bit_exact():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                              torch.nn.Linear(4, 2))
    sd = net.state_dict()
    sd["f64"] = torch.randn(3, dtype=torch.float64)
    sd["f16"] = torch.randn(2, 2).half()
    sd["bf16"] = torch.randn(5).bfloat16()
    sd["mask"] = torch.tensor([True, False, True])
    sd["nan"] = torch.tensor([float("nan"), float("inf"), -0.0])
    sd["c64"] = torch.randn(2, dtype=torch.complex64)
    sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    back = eload(torch_bytes(sd))
    assert type(back) is collections.OrderedDict and list(back) == list(sd)
    assert back._metadata == sd._metadata
    for k in sd:
        assert_same_tensor(back[k], sd[k])


def test_adam_state_dict_loads_and_resumes_like_torch():
    torch.manual_seed(0)
    tnet = torch.nn.Linear(3, 2)
    topt = torch.optim.Adam(tnet.parameters(), lr=0.01)
    x = torch.randn(4, 3)
    tnet(x).pow(2).sum().backward()
    topt.step()
    data = torch_bytes({"model": tnet.state_dict(), "opt": topt.state_dict()})
    ck = eload(data)
    assert ck["opt"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert ck["opt"]["state"][0]["step"].dtype == ember.float32
    enet = ember.nn.Linear(3, 2)
    enet.load_state_dict(ck["model"])
    eopt = ember.optim.Adam(enet.parameters(), lr=0.01)
    eopt.load_state_dict(ck["opt"])
    for net, opt, T in ((tnet, topt, torch), (enet, eopt, ember)):
        opt.zero_grad()
        net(T.tensor(x.numpy())).pow(2).sum().backward()
        opt.step()
    np.testing.assert_allclose(enet.weight.detach().numpy(), tnet.weight.detach().numpy(),
                               rtol=1e-6, atol=1e-7)


def test_nested_containers_and_atoms():
    atoms = [0, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**31, -2**31 - 1, 2**70, -2**70,
             -0.0, float("inf"), 1.5, "", "ünïcode ✓", (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4),
             None, True, False, b"\x00\xff", bytearray(b"ab"), 3 - 4j, {1, 2},
             collections.Counter("aab")]
    obj = {"atoms": atoms, 1: "int key", (1, 2): "tuple key",
           "torch": [torch.Size([2, 3]), torch.device("cpu"), torch.float16, torch.bfloat16],
           "deep": {"a": [{"b": (torch.ones(2),)}]}}
    back = eload(torch_bytes(obj))
    assert back["atoms"] == atoms and back[1] == "int key" and back[(1, 2)] == "tuple key"
    size, dev, f16, bf16 = back["torch"]
    assert size == ember.Size([2, 3]) and dev == ember.device("cpu")
    assert f16 is ember.float16 and bf16 is ember.bfloat16
    assert back["deep"]["a"][0]["b"][0].tolist() == [1.0, 1.0]
    assert np.isnan(eload(torch_bytes(float("nan"))))
    # torch pickles b"" as bytes(), which its own weights_only loader refuses; so does ember
    assert message(lambda: eload(torch_bytes(b""))) == message(lambda: tload(torch_bytes(b"")))


def test_views_share_storage_after_loading():
    base = torch.arange(24.)
    obj = {"base": base, "row": base.view(4, 6)[1], "col": base.view(4, 6)[:, 2],
           "t": base.view(4, 6).t(), "step": base[1::3], "narrow": base.narrow(0, 10, 3),
           "expand": base[:1].expand(3, 2), "bf": torch.arange(8.).bfloat16()[2:6]}
    back = eload(torch_bytes(obj))
    for k, t in obj.items():
        assert_same_tensor(back[k], t)
        assert back[k].stride() == t.stride(), k
    back["base"].add_(100)  # in place on one shows in every view, as in torch
    base.add_(100)
    for k in ("row", "col", "t", "step", "narrow", "expand"):
        assert_same_tensor(back[k], obj[k])
        assert np.shares_memory(back[k]._data, back["base"]._data)


def test_slice_keeps_its_storage_and_offset_and_repeats_are_one_object():
    big = torch.arange(1000.)
    t = big[10:13]
    back = eload(torch_bytes([t, t, t]))
    assert back[0] is back[1] is back[2]
    assert back[0].tolist() == [10.0, 11.0, 12.0]
    assert back[0]._data.base is not None


def test_non_contiguous_and_empty_and_zero_d():
    obj = [torch.randn(3, 4).t(), torch.randn(2, 3, 4).permute(2, 0, 1)[::2], torch.empty(0),
           torch.empty(0, 3), torch.empty(2, 0), torch.tensor(7), torch.tensor(2.5).double()]
    back = eload(torch_bytes(obj))
    for e, t in zip(back, obj):
        assert_same_tensor(e, t)


def test_parameters_and_requires_grad():
    p = torch.nn.Parameter(torch.randn(3))
    frozen = torch.nn.Parameter(torch.randn(2), requires_grad=False)
    leaf = torch.randn(2, requires_grad=True)
    back = eload(torch_bytes({"p": p, "frozen": frozen, "leaf": leaf}))
    assert isinstance(back["p"], ember.nn.Parameter) and back["p"].requires_grad
    assert isinstance(back["frozen"], ember.nn.Parameter) and not back["frozen"].requires_grad
    assert back["leaf"].requires_grad and back["leaf"].is_leaf
    assert_same_tensor(back["leaf"], leaf)


def test_conj_and_neg_views():
    z = torch.tensor([1 + 2j, 3 - 4j])
    back = eload(torch_bytes([z.conj(), torch._neg_view(torch.tensor([1.0, -2.0]))]))
    assert back[0].tolist() == [1 - 2j, 3 + 4j] and back[1].tolist() == [-1.0, 2.0]


def test_crc_off_skip_data_and_odd_archive_names(tmp_path):
    torch.serialization.set_crc32_options(False)
    try:
        data = torch_bytes({"w": torch.arange(3.)})
    finally:
        torch.serialization.set_crc32_options(True)
    assert eload(data)["w"].tolist() == [0.0, 1.0, 2.0]
    for name in ("weird.name.v2.pt", "noext"):
        torch.save(torch.ones(2), tmp_path / name)
        assert ember.load(tmp_path / name).tolist() == [1.0, 1.0]


def test_mmap_and_map_location(tmp_path):
    target = tmp_path / "m.pt"
    torch.save({"w": torch.arange(6.).view(2, 3)}, target)
    back = ember.load(target, mmap=True, map_location=lambda storage, loc: storage)
    assert back["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    back["w"].add_(1)  # copy-on-write: the file keeps its bytes
    assert ember.load(target)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
        ember.load(io.BytesIO(target.read_bytes()), mmap=True)


def test_big_endian_records_are_swapped():
    obj = {"f": torch.tensor([1.5, -2.0]), "c": torch.tensor([1 + 2j], dtype=torch.complex128),
           "h": torch.tensor([0.5], dtype=torch.float16), "i": torch.tensor([1, -2])}
    dtypes = {"f": "f4", "c": "f8", "h": "f2", "i": "i8"}
    data = torch_bytes(obj)
    src = zipfile.ZipFile(io.BytesIO(data))
    keys = {k: str(i) for i, k in enumerate(obj)}  # storages are keyed in pickling order
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            payload = src.read(info)
            if info.filename.endswith("/byteorder"):
                payload = b"big"
            for k, key in keys.items():
                if info.filename.endswith(f"/data/{key}"):
                    payload = np.frombuffer(payload, "<" + dtypes[k]).astype(">" + dtypes[k])
                    payload = payload.tobytes()
            dst.writestr(info.filename, payload)
    back = eload(out.getvalue())
    for k, t in obj.items():
        assert_same_tensor(back[k], t)


def test_loading_never_imports_torch():
    code = ("import sys, io; sys.modules['torch'] = None\n"
            "import ember; print(ember.load(io.BytesIO(sys.stdin.buffer.read()))['w'].tolist())")
    out = subprocess.run([sys.executable, "-c", code], input=torch_bytes({"w": torch.ones(2)}),
                         capture_output=True, check=True,
                         env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert out.stdout.strip() == b"[1.0, 1.0]"


# ---- ember.save -> torch.load(weights_only=True) -------------------------------------------------

def test_ember_state_dict_loads_into_torch_modules():
    ember.manual_seed(0)
    enet = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4), ember.nn.ReLU(),
                               ember.nn.Linear(4, 2))
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                               torch.nn.Linear(4, 2))
    sd = tload(ember_bytes(enet.state_dict()), weights_only=True)
    assert sd._metadata == tnet.state_dict()._metadata
    tnet.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    enet.eval()
    tnet.eval()
    np.testing.assert_allclose(tnet(torch.tensor(x)).detach().numpy(),
                               enet(ember.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_ember_adam_state_dict_steps_in_torch():
    enet = ember.nn.Linear(3, 2)
    eopt = ember.optim.Adam(enet.parameters(), lr=0.01)
    enet(ember.randn(4, 3)).sum().backward()
    eopt.step()
    ck = tload(ember_bytes({"model": enet.state_dict(), "opt": eopt.state_dict()}),
               weights_only=True)
    tnet = torch.nn.Linear(3, 2)
    tnet.load_state_dict(ck["model"])
    topt = torch.optim.Adam(tnet.parameters(), lr=0.01)
    topt.load_state_dict(ck["opt"])
    tnet(torch.randn(4, 3)).sum().backward()
    topt.step()
    assert topt.state_dict()["state"][0]["step"].item() == 2.0


def test_every_value_torch_accepts_round_trips_through_torch():
    obj = {"f": ember.randn(2, 3), "bf": ember.ones(3, dtype=ember.bfloat16) / 3,
           "b": ember.tensor([True, False]), "i": ember.arange(5), "c": ember.tensor([1 + 1j]),
           "p": ember.nn.Parameter(ember.ones(2)), "np": np.arange(4, dtype=np.int16),
           "npf": np.asfortranarray(np.arange(6.).reshape(2, 3)), "scalar": np.float64(2.5),
           "atoms": [b"", b"ab", bytearray(b"x"), 1 + 2j, {3}, collections.Counter("ab"),
                     2**100, None, ember.Size([2]), ember.device("cpu"), ember.float64],
           "big_endian": np.arange(3, dtype=">i4")}
    t = tload(ember_bytes(obj), weights_only=True)
    assert isinstance(t["p"], torch.nn.Parameter) and t["p"].requires_grad
    for k in ("f", "bf", "b", "i", "c"):
        assert_same_tensor(obj[k], t[k])
    assert t["np"].dtype == torch.int16 and t["np"].tolist() == [0, 1, 2, 3]
    assert t["npf"].tolist() == [[0, 1, 2], [3, 4, 5]] and t["scalar"] == 2.5
    assert t["atoms"][:8] == obj["atoms"][:8]
    assert t["atoms"][8:] == [torch.Size([2]), torch.device("cpu"), torch.float64]
    assert t["big_endian"].tolist() == [0, 1, 2]


def test_ember_views_share_one_storage_in_torch():
    x = ember.arange(12.)
    views = [x, x[2:5], x.reshape(3, 4).t(), x[::2], ember.tensor(np.broadcast_to(
        np.arange(3.), (2, 3)))]
    t = tload(ember_bytes(views), weights_only=True)
    for e, tt in zip(views, t):
        assert_same_tensor(e, tt)
        assert e.stride() == tt.stride()
    ptrs = {v.untyped_storage().data_ptr() for v in t[:4]}
    assert len(ptrs) == 1 and t[1].storage_offset() == 2
    t[0].add_(1)
    assert t[1].tolist() == [3.0, 4.0, 5.0]


def test_two_dtypes_over_one_buffer_are_refused_like_torch():
    x = np.arange(4.)
    with pytest.raises(RuntimeError, match="view the same data as different types"):
        ember.save([x, x.view(np.int64)], io.BytesIO())
    with pytest.raises(RuntimeError, match="view the same data as different types"):
        t = torch.arange(4.)
        torch.save([t, t.view(torch.int32)], io.BytesIO())


def test_layout_is_torchs_byte_for_byte():
    def obj(T):
        return {"w": T.ones(2, 3), "b": [T.arange(5), 3, "x"]}
    ours, theirs = ember_bytes(obj(ember)), torch_bytes(obj(torch))
    zo, zt = zipfile.ZipFile(io.BytesIO(ours)), zipfile.ZipFile(io.BytesIO(theirs))
    assert [i.filename for i in zo.infolist()] == [i.filename for i in zt.infolist()]
    for a, b in zip(zo.infolist(), zt.infolist()):
        assert a.header_offset == b.header_offset and a.flag_bits == b.flag_bits
        if not a.filename.endswith("serialization_id"):
            assert zo.read(a) == zt.read(b), a.filename
    sid = zo.getinfo("archive/.data/serialization_id")
    start = sid.header_offset + 30 + len(sid.filename) + len(sid.extra)
    assert len(ours) == len(theirs) and ours[:start] == theirs[:start]
    # after it, only the id's 40 digits and its CRC (descriptor and central directory) differ
    assert sum(a != b for a, b in zip(ours[start:], theirs[start:])) <= 40 + 4 + 4


def test_torch_offset_recomputation_accepts_embers_files(tmp_path, monkeypatch):
    target = tmp_path / "o.pt"
    x = ember.arange(100.)
    ember.save({"a": x, "b": x[5:9], "c": ember.ones(3, dtype=ember.float16)}, target)
    monkeypatch.setenv("TORCH_SERIALIZATION_DEBUG", "1")
    assert torch.load(target, weights_only=True)["b"].tolist() == [5.0, 6.0, 7.0, 8.0]
    monkeypatch.delenv("TORCH_SERIALIZATION_DEBUG")
    from torch.utils.serialization import config

    config.load.calculate_storage_offsets = True
    try:
        assert torch.load(target, weights_only=True, mmap=True)["c"].tolist() == [1.0] * 3
    finally:
        config.load.calculate_storage_offsets = False


def test_torch_ember_torch_keeps_strides_offsets_and_sharing():
    base = torch.arange(20.).bfloat16()
    obj = [base, base[3:9].view(2, 3), base.view(4, 5).t()]
    again = tload(ember_bytes(eload(torch_bytes(obj))), weights_only=True)
    for a, b in zip(obj, again):
        assert a.stride() == b.stride() and a.storage_offset() == b.storage_offset()
        assert torch.equal(a, b)
    assert len({t.untyped_storage().data_ptr() for t in again}) == 1


# ---- whole modules --------------------------------------------------------------------------

def message(fn):
    with pytest.raises(pickle.UnpicklingError) as info:
        fn()
    return str(info.value)


def test_whole_ember_module_is_refused_by_default_and_loads_when_asked():
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    data = ember_bytes(model)
    ours = message(lambda: eload(data))
    assert ours == message(lambda: tload(data))  # PyTorch's message, word for word
    assert "GLOBAL ember.nn.modules.container.Sequential was not an allowed global" in ours
    assert "weights_only" in ours and "add_safe_globals" in ours
    back = eload(data, weights_only=False)
    assert type(back) is ember.nn.Sequential and type(back[0]) is ember.nn.Linear
    x = ember.randn(2, 3)
    assert np.array_equal(back(x).detach().numpy(), model(x).detach().numpy())


def test_whole_torch_module_loads_as_ember_module_with_weights_only_false():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.LayerNorm(4),
                             torch.nn.Linear(4, 2))
    data = torch_bytes(tm)
    assert message(lambda: eload(data)) == message(lambda: tload(data))
    em = eload(data, weights_only=False)
    assert type(em) is ember.nn.Sequential and type(em[2]) is ember.nn.LayerNorm
    x = torch.randn(5, 3)
    np.testing.assert_allclose(em(ember.tensor(x.numpy())).detach().numpy(),
                               tm(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    with ember.serialization.safe_globals([ember.nn.Sequential, ember.nn.Linear, ember.nn.Tanh,
                                           ember.nn.LayerNorm]):
        # allowlisted ember classes also match PyTorch's spelling of their names; the module
        # dicts hold sets, which torch pickles as builtins.set (allowed)
        assert type(eload(data)) is ember.nn.Sequential


# ---- safe globals and the environment --------------------------------------------------------

class Point:
    def __init__(self, x=0):
        self.x = x


def test_safe_globals_api_as_torch():
    data = ember_bytes({"p": Point(3)})
    assert "GLOBAL tests.test_torch_checkpoints.Point was not an allowed" in message(
        lambda: eload(data))
    before = serialization.get_safe_globals()
    with serialization.safe_globals([Point]):
        assert Point in serialization.get_safe_globals()
        assert eload(data)["p"].x == 3
    assert serialization.get_safe_globals() == before
    serialization.add_safe_globals([(Point, "mod.Alias")])
    try:
        assert (Point, "mod.Alias") in serialization.get_safe_globals()
    finally:
        serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []
    serialization.add_safe_globals([os.getcwd])  # blocked modules stay blocked
    try:
        payload = b"\x80\x02cposix\ngetcwd\n)R."
        assert "whose module posix is blocked" in message(lambda: eload(zipped(payload)))
    finally:
        serialization.clear_safe_globals()


def test_environment_overrides(monkeypatch):
    model_file = ember_bytes(ember.nn.ReLU())
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.warns(UserWarning, match="forcing weights_only=False"):
        assert type(eload(model_file)) is ember.nn.ReLU
    message(lambda: eload(model_file, weights_only=True))  # an explicit value wins
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(RuntimeError, match="Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD`"):
        eload(model_file)
    monkeypatch.delenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    message(lambda: eload(model_file, weights_only=False))
    with pytest.raises(RuntimeError, match="Can not safely load weights when explicit"):
        eload(model_file, pickle_module=pickle)


# ---- hostile files ---------------------------------------------------------------------------

def zipped(payload, extra=None, name="x", version="3\n"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{name}/data.pkl", payload)
        zf.writestr(f"{name}/version", version)
        for record, data in (extra or {}).items():
            zf.writestr(f"{name}/{record}", data)
    return buf.getvalue()


def ustr(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


MARKER = "ember_pwned_marker"


def touch_code(path):
    return f"open({str(path)!r}, 'w').close()"


def payloads(path):
    """name -> (pickle bytes that create ``path`` when unpickled, words of ember's message)."""
    code = touch_code(path)
    shell = f"touch {path}"
    tensor_prefix = ember_bytes(ember.ones(2))
    with zipfile.ZipFile(io.BytesIO(tensor_prefix)) as zf:
        valid = zf.read("archive/data.pkl")[:-1]  # a valid tensor, then more ops instead of STOP
    return {
        "os.system REDUCE": (b"\x80\x02" + glob("posix", "system") + ustr(shell) + b"\x85R.",
                             "GLOBAL posix.system whose module posix is blocked"),
        "protocol 0 text": (b"cos\nsystem\n(V" + shell.encode() + b"\ntR.",
                            "GLOBAL os.system whose module os is blocked"),
        "builtins.eval": (b"\x80\x02" + glob("builtins", "exec") + ustr(code) + b"\x85R.",
                          "GLOBAL exec was not an allowed global"),
        "__builtin__ eval": (b"\x80\x02" + glob("__builtin__", "eval") + ustr(code) + b"\x85R.",
                             "GLOBAL eval was not an allowed global"),
        "getattr chain": (b"\x80\x02" + glob("builtins", "getattr") + glob("builtins", "__import__")
                          + ustr("builtins") + b"\x85R" + ustr("exec") + b"\x86R" + ustr(code)
                          + b"\x85R.", "GLOBAL getattr was not an allowed"),
        "subprocess.call": (b"\x80\x02" + glob("subprocess", "call") + b"](" + ustr("touch")
                            + ustr(str(path)) + b"e\x85R.",
                            "GLOBAL subprocess.call was not an allowed"),
        "STACK_GLOBAL": (b"\x80\x04" + b"\x8c\x08builtins\x8c\x04exec\x93" + ustr(code)
                         + b"\x85R.", "Unsupported operand 140"),
        "INST": (b"(" + ustr(code) + b"ibuiltins\nexec\n.", "Unsupported operand 105"),
        "after a valid tensor": (valid + glob("builtins", "exec") + ustr(code)
                                 + b"\x85R.", "GLOBAL exec was not an allowed"),
    }


@pytest.mark.parametrize("case", list(payloads("p")))
def test_malicious_pickles_run_nothing(tmp_path, case):
    marker = tmp_path / MARKER
    payload, words = payloads(marker)[case]
    if case != "after a valid tensor":  # that one needs ember's persistent ids to unpickle
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pickle.loads(payload)
            except Exception:
                pass
        assert marker.exists(), "the payload is not live"
        marker.unlink()
    with pytest.raises(UnsafeCheckpointError) as info:
        eload(zipped(payload))
    assert words in str(info.value) and not marker.exists()
    assert isinstance(info.value, pickle.UnpicklingError)


def test_messages_equal_torchs_for_refused_globals_and_opcodes(tmp_path):
    for case, (payload, _) in payloads(tmp_path / MARKER).items():
        if case == "after a valid tensor":
            continue
        data = zipped(payload)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = message(lambda: tload(data))  # noqa: B023
        assert message(lambda: eload(data)) == theirs, case  # noqa: B023
    assert not (tmp_path / MARKER).exists()


def pid(key="0", cls=("torch", "FloatStorage"), numel=4, extra=b""):
    return b"(" + ustr("storage") + glob(*cls) + ustr(key) + ustr("cpu") + \
        b"J" + struct.pack("<i", numel) + extra + b"tQ"


def rebuild(size=b"K\x04\x85", stride=b"K\x01\x85", offset=b"K\x00", p=None):
    return (b"\x80\x02" + glob("torch._utils", "_rebuild_tensor_v2") + b"(" + (p or pid())
            + offset + size + stride + b"\x89" + glob("collections", "OrderedDict") + b")Rt")


FLOATS4 = np.arange(4, dtype="<f4").tobytes()


@pytest.mark.parametrize("payload, records, error, words", [
    (rebuild() + b"R.", {"data/0": FLOATS4}, None, None),  # the well-formed baseline
    (rebuild(size=b"J\xff\xff\xff\x7f\x85") + b"R.", {"data/0": FLOATS4}, CheckpointError,
     "out of bounds"),
    (rebuild(offset=b"J\xff\xff\xff\x7f") + b"R.", {"data/0": FLOATS4}, CheckpointError,
     "out of bounds"),
    (rebuild(stride=b"J\xff\xff\xff\xff\x85") + b"R.", {"data/0": FLOATS4}, CheckpointError,
     "stride"),
    (rebuild(p=pid(numel=5)) + b"R.", {"data/0": FLOATS4}, CheckpointError,
     "does not match the expected size"),
    (rebuild(p=pid(key="7")) + b"R.", {"data/0": FLOATS4}, CheckpointError,
     "file not found in checkpoint: x/data/7"),
    (rebuild(p=pid(key="../../../etc/passwd")) + b"R.", {"data/0": FLOATS4}, CheckpointError,
     "file not found in checkpoint: x/data/../../../etc/passwd"),
    (b"\x80\x02(" + ustr("module") + b"tQ.", {}, UnsafeCheckpointError,
     "Only persistent_load of storage is allowed"),
    (rebuild(p=pid(extra=b"N")) + b"R.", {"data/0": FLOATS4}, CheckpointError, "6 fields"),
    (b"\x80\x02" + glob("_codecs", "encode") + ustr("x") + ustr("zlib") + b"\x86R.", {},
     UnsafeCheckpointError, "only latin1 text"),
    (b"\x80\x02" + glob("torch", "float32") + b"}b.", {}, UnsafeCheckpointError,
     "Can only build Tensor, Parameter, OrderedDict"),
    (b"\x80\x02" + glob("collections", "OrderedDict") + b"}b.", {}, UnsafeCheckpointError,
     "Can only build"),
    (b"\x80\x02" + glob("torch", "FloatStorage") + b")R.", {}, UnsafeCheckpointError,
     "unrecognized function torch.FloatStorage"),
    (b"\x80\x02" + glob("torch._utils", "_rebuild_tensor_v2") + b")\x81.", {},
     UnsafeCheckpointError, "Trying to instantiate unsupported class"),
    (b"\x80\x02" + glob("torch", "Size") + b"K\x01a.", {}, UnsafeCheckpointError,
     "Can only append to lists"),
    (b"\x80\x02" + glob("torch", "Size") + b"K\x01K\x02s.", {}, UnsafeCheckpointError,
     "Can only SETITEM"),
    (b"\x80\x02N" + b"r\xff\xff\xff\x7f.", {}, UnsafeCheckpointError, "memo index"),
    (b"\x80\x02h\x05.", {}, CheckpointError, "Memo value not found"),
    (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00N.", {}, UnsafeCheckpointError,
     "Unsupported operand 149"),
    (b"\x80\x02" + glob("torch._tensor", "_rebuild_from_type_v2") + b"(" + glob("torch", "float32")
     + glob("torch", "Tensor") + b")}tR.", {}, CheckpointError, "_rebuild_from_type_v2 of"),
    (b"\x80\x02" + glob("torch._utils", "_rebuild_qtensor") + b")R.", {},
     serialization.UnsupportedCheckpointError, "quantized"),
    (b"\x80\x02N", {}, CheckpointError, "truncated"),
])
def test_hostile_arguments_fail_cleanly(payload, records, error, words):
    data = zipped(payload, records)
    if error is None:
        assert eload(data).tolist() == [0.0, 1.0, 2.0, 3.0]
        return
    with pytest.raises(error) as info:
        eload(data)
    assert words in str(info.value)


def test_zip_bombs_are_refused_before_inflating():
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("x/data.pkl", b"\x80\x02N." + b"\x00" * (4 << 20))
        out.writestr("x/version", "3\n")
    honest = bomb.getvalue()
    assert eload(honest) is None and len(honest) < 20_000  # deflated records are read
    central = honest.index(b"PK\x01\x02")
    for declared, words in ((10, "inflates to other than its declared 10 bytes"),
                            (1 << 30, "declares 1073741824 bytes, more than")):
        raw = bytearray(honest)
        raw[central + 24:central + 28] = struct.pack("<I", declared)
        with pytest.raises(CheckpointError, match=words):
            eload(bytes(raw))


def test_truncation_crc_and_random_damage_only_raise_checkpoint_errors():
    import random

    good = torch_bytes({"w": torch.arange(50.), "p": torch.nn.Parameter(torch.ones(3)),
                        "t": (1, 2 + 3j, b"ab"), "s": torch.Size([2]), "d": torch.float32})
    for cut in list(range(0, 200, 7)) + list(range(200, len(good), len(good) // 150 + 1)) + \
            [len(good) - k for k in (1, 2, 10, 22, 50, 98)]:
        with pytest.raises(CheckpointError, match="can't load"):
            eload(good[:cut])
    flipped = bytearray(good)
    at = flipped.index(np.float32(49.0).tobytes())
    flipped[at] ^= 0x01
    with pytest.raises(CheckpointError, match="CRC-32 mismatch in archive/data/0"):
        eload(bytes(flipped))
    rng = random.Random(0)
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            eload(bytes(data))
        except (CheckpointError, UnsafeCheckpointError):
            pass


def test_other_formats_are_named(tmp_path):
    legacy = tmp_path / "legacy.pt"
    torch.save(torch.ones(2), legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(serialization.UnsupportedCheckpointError, match="legacy format"):
        ember.load(legacy)
    script = tmp_path / "script.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), script)
    with pytest.raises(serialization.UnsupportedCheckpointError, match="TorchScript"):
        ember.load(script)
    with pytest.raises(CheckpointError, match="bare pickle"):
        eload(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(CheckpointError, match="version 11, but the maximum"):
        eload(zipped(b"\x80\x02N.", version="11"))
    with pytest.raises(CheckpointError, match="Unknown endianness type: middle"):
        eload(zipped(b"\x80\x02N.", {"byteorder": "middle"}))


# ---- safetensors -----------------------------------------------------------------------------

def test_safetensors_both_ways(tmp_path):
    pytest.importorskip("safetensors")
    import safetensors.torch as stt

    from ember.utils import safetensors as est

    ours = {"w": ember.arange(6.).reshape(2, 3).t(), "bf": ember.ones(3, dtype=ember.bfloat16),
            "i": ember.arange(3), "s": ember.tensor(2.5), "e": ember.zeros(0, 3),
            "b": ember.tensor([True, False]), "h": ember.ones(2, dtype=ember.float16)}
    est.save_file(ours, tmp_path / "e.safetensors", metadata={"format": "pt"})
    theirs = stt.load_file(tmp_path / "e.safetensors")
    for k in ours:
        assert_same_tensor(ours[k], theirs[k])
    stt.save_file(theirs, tmp_path / "t.safetensors")
    for back in (est.load_file(tmp_path / "t.safetensors"),
                 ember.load(tmp_path / "t.safetensors")):
        for k in ours:
            assert_same_tensor(back[k], theirs[k])


def test_safetensors_missing_package_is_one_clear_line(monkeypatch):
    from ember.utils import safetensors as est

    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'ember\[safetensors\]'"):
        est.save({"a": ember.ones(1)})


def test_refused_whole_model_raises_pytorchs_own_class():
    buf = io.BytesIO()
    torch.save(torch.nn.Linear(2, 2), buf)
    for lib in (torch, ember):
        buf.seek(0)
        with pytest.raises(pickle.UnpicklingError) as info:
            lib.load(buf)
        assert type(info.value) is pickle.UnpicklingError
