"""Layer classes live at PyTorch's module paths (``torch.nn.modules.batchnorm.BatchNorm2d``
is ``ember.nn.modules.batchnorm.BatchNorm2d``), so whole-model pickles written by either
library name classes the other finds."""

from __future__ import annotations

import io

import pytest

import ember

torch = pytest.importorskip("torch")


def test_every_layer_class_has_pytorchs_module_path():
    wrong = []
    for name in dir(torch.nn):
        cls = getattr(torch.nn, name)
        if isinstance(cls, type) and issubclass(cls, torch.nn.Module) and hasattr(ember.nn, name):
            want = "ember" + cls.__module__[len("torch"):]
            if getattr(ember.nn, name).__module__ != want:
                wrong.append((name, getattr(ember.nn, name).__module__, want))
    assert wrong == []


def test_a_whole_torch_model_naming_moved_classes_loads():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.ZeroPad2d(1), torch.nn.BatchNorm2d(2),
                                torch.nn.Upsample(scale_factor=2), torch.nn.Flatten())
    mha = torch.nn.MultiheadAttention(4, 2)
    buf = io.BytesIO()
    torch.save({"net": model, "mha": mha}, buf)
    buf.seek(0)
    got = ember.load(buf, weights_only=False)
    assert type(got["net"][1]) is ember.nn.BatchNorm2d
    assert type(got["net"][0]) is ember.nn.ZeroPad2d
    assert type(got["mha"]) is ember.nn.MultiheadAttention
    x = torch.randn(1, 2, 3, 3)
    want = model.eval()(x).detach().numpy()
    out = got["net"].eval()(ember.tensor(x.numpy())).detach().numpy()
    assert out.shape == want.shape
    assert abs(out - want).max() < 1e-5
