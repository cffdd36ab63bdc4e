"""ember.onnx.export: each op family exported in a small module and run in onnxruntime against
ember's own outputs; the demo's digits CNN with a dynamic batch; LSTM/GRU; a transformer
encoder layer; names (initializers = state_dict keys, input/output names, dynamic axes);
writing to a path and to a file object; PyTorch's unsupported-op error; and the node types
against ``torch.onnx.export(..., dynamo=False)`` for the same models."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import ember

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

nn = ember.nn
F = nn.functional


class Fn(nn.Module):
    """A module around a function (the op under test), with optional parameters."""

    def __init__(self, fn, **params):
        super().__init__()
        self.fn = fn
        for k, v in params.items():
            setattr(self, k, v)

    def forward(self, *args, **kwargs):
        return self.fn(self, *args, **kwargs)


def _export(model, args, **kw):
    buf = io.BytesIO()
    kw.setdefault("dynamo", False)
    ember.onnx.export(model, args, buf, **kw)
    return buf.getvalue()


def _run(data, arrays):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, dict(zip(names, arrays)))


def _flat(out):
    if isinstance(out, ember.Tensor):
        return [out]
    res = []
    for o in out:
        res.extend(_flat(o))
    return res


def check(model, *args, rtol=1e-5, atol=1e-6, **kw):
    """Export ``model(*args)``, run it in onnxruntime and compare with ember's outputs."""
    if hasattr(model, "eval"):
        model.eval()
    data = _export(model, args, **kw)
    with ember.no_grad():
        expected = [t.numpy() for t in _flat(model(*args))]
    got = _run(data, [a.numpy() for a in args])
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        assert g.dtype == e.dtype, (g.dtype, e.dtype)
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
    return onnx.load_from_string(data)


def op_types(proto):
    return [n.op_type for n in proto.graph.node]


@pytest.fixture(autouse=True)
def _seed():
    ember.manual_seed(0)


def x(*shape):
    return ember.randn(*shape)


# ---- op families ----


@pytest.mark.parametrize("fn", [
    lambda m, x: F.relu(x), lambda m, x: F.gelu(x), lambda m, x: F.gelu(x, approximate="tanh"),
    lambda m, x: ember.tanh(x), lambda m, x: ember.sigmoid(x), lambda m, x: F.silu(x),
    lambda m, x: F.leaky_relu(x, 0.2), lambda m, x: F.elu(x, 0.7), lambda m, x: F.softplus(x),
    lambda m, x: F.softplus(x, beta=2.0), lambda m, x: F.softmax(x, -1),
    lambda m, x: F.log_softmax(x, 1), lambda m, x: F.hardtanh(x, -0.5, 0.5),
    lambda m, x: F.relu6(x * 4), lambda m, x: F.hardsigmoid(x), lambda m, x: F.hardswish(x),
    lambda m, x: F.mish(x), lambda m, x: F.logsigmoid(x), lambda m, x: F.softsign(x),
    lambda m, x: x.exp(), lambda m, x: x.abs().sqrt(), lambda m, x: x.abs().log(),
    lambda m, x: (x.abs() + 1).rsqrt(), lambda m, x: -x, lambda m, x: x.neg().abs(),
    lambda m, x: x ** 2, lambda m, x: 2 ** x, lambda m, x: x.pow(3.0),
    lambda m, x: x.clamp(-0.5, 0.3), lambda m, x: x.clamp(min=0.1),
    lambda m, x: ember.where(x > 0, x, 0.1 * x), lambda m, x: x.masked_fill(x < 0, -1.0),
    lambda m, x: 1.0 - x, lambda m, x: 3 / (x.abs() + 1), lambda m, x: x / 2 + x * 3 - 1,
    lambda m, x: ember.maximum(x, x.flip(-1)), lambda m, x: (x > 0.1) & (x < 0.5),
    lambda m, x: x.floor() + x.ceil() + x.round(), lambda m, x: ember.erf(x),
    lambda m, x: x.sin() * x.cos(),
], ids=lambda f: str(f.__code__.co_firstlineno))
def test_elementwise(fn):
    check(Fn(fn), x(2, 3, 5))


@pytest.mark.parametrize("fn", [
    lambda m, a: F.selu(a), lambda m, a: F.celu(a, 0.5), lambda m, a: F.threshold(a, 0.1, -2.0),
    lambda m, a: F.softshrink(a, 0.3), lambda m, a: F.hardshrink(a, 0.3),
    lambda m, a: F.tanhshrink(a), lambda m, a: F.glu(a, -1), lambda m, a: F.softmin(a, -1),
    lambda m, a: a.abs().log1p() + a.expm1() + a.abs().log2() - a.abs().log10(),
    lambda m, a: a.square() + a.reciprocal() + a.sign(), lambda m, a: ember.fmod(a, 0.3),
    lambda m, a: a.tan().asin().sinh().isnan(), lambda m, a: a.logical_not() | (a > 0),
    lambda m, a: a.tensor_split(3, dim=2), lambda m, a: a.movedim(0, -1),
    lambda m, a: a[:, :1].expand_as(a), lambda m, a: ember.zeros_like(a) + ember.ones_like(a),
    lambda m, a: ember.full_like(a, 3.0) * a, lambda m, a: a.index_select(2, ember.tensor([3, 0])),
    lambda m, a: a.gather(1, ember.tensor([[[0, 1, 2, 0]], [[2, 2, 1, 0]]])),
    lambda m, a: a.topk(2, dim=1), lambda m, a: (a > 0).all(1), lambda m, a: (a > 1).any(),
    lambda m, a: F.one_hot((a.abs() * 3).long(), 9),
    lambda m, a: F.local_response_norm(a, 3), lambda m, a: F.normalize(a, dim=1),
    lambda m, a: F.normalize(a, p=1.0, dim=-1), lambda m, a: F.instance_norm(a),
    lambda m, a: F.interpolate(a, scale_factor=2, mode="linear"),
    lambda m, a: F.interpolate(a, size=7, mode="linear", align_corners=True),
    lambda m, a: F.interpolate(a.unsqueeze(0), scale_factor=2, mode="bicubic"),
    lambda m, a: F.pad(a, (1, 1), mode="replicate"), lambda m, a: F.pad(a, (2, 1), value=0.5),
    lambda m, a: ember.div(a, 0.3, rounding_mode="floor"),
    lambda m, a: ember.div(a, 0.3, rounding_mode="trunc"),
    lambda m, a: a.abs().pow(0.5) % 0.4, lambda m, a: a.std(),
], ids=lambda f: str(f.__code__.co_firstlineno))
@pytest.mark.filterwarnings("ignore:invalid value encountered")  # (NaNs for isnan to find)
def test_more_ops(fn):
    check(Fn(fn), x(2, 3, 6), rtol=1e-5, atol=1e-5)


def test_scalar_takes_the_tensor_dtype_and_ints_promote():
    proto = check(Fn(lambda m, a, b: (a * 2.5, b + 1, b * 0.5, b // 2, b % 3, a / b)),
                  x(3, 4), ember.tensor([[-7, -3, 2, 5], [9, -1, 4, -6], [1, 3, -2, 8]]))
    consts = [n for n in proto.graph.node if n.op_type == "Constant"]
    dtypes = {onnx.numpy_helper.to_array(n.attribute[0].t).dtype for n in consts}
    assert np.dtype(np.float64) not in dtypes  # Python floats are float32 constants


def test_inplace_ops_rebind():
    def fn(m, a):
        y = a.clone()
        y.add_(1.0)
        y.mul_(2)
        y += a
        return F.relu(y, inplace=True)
    check(Fn(fn), x(2, 3))


def test_inplace_overwrites():
    def fn(m, a, b):
        y, z, w = a.clone(), a.clone(), a.clone()
        y.fill_(2.0)
        z.copy_(b[0])
        w.zero_()
        return y * a, z + 1, w - a

    check(Fn(fn), x(2, 3), x(2, 3))


@pytest.mark.parametrize("fn", [
    lambda m, a: a.reshape(6, 4), lambda m, a: a.view(-1, 2), lambda m, a: a.flatten(),
    lambda m, a: a.flatten(1), lambda m, a: a.flatten(0, 1), lambda m, a: a.unsqueeze(1),
    lambda m, a: a.unsqueeze(0).squeeze(0), lambda m, a: a[:, :1].squeeze(1),
    lambda m, a: a.permute(2, 0, 1), lambda m, a: a.transpose(0, 2), lambda m, a: a.mT,
    lambda m, a: ember.cat([a, a * 2], 1), lambda m, a: ember.stack([a, a + 1], -1),
    lambda m, a: a.split(1, 1), lambda m, a: a.split([1, 2], dim=1), lambda m, a: a.chunk(2, -1),
    lambda m, a: a.unbind(1), lambda m, a: a[:, 0], lambda m, a: a[..., 1:3],
    lambda m, a: a[1, :, ::2], lambda m, a: a[:, None, -1], lambda m, a: a[..., None],
    lambda m, a: a[-1], lambda m, a: a.select(2, 1), lambda m, a: a.narrow(1, 1, 2),
    lambda m, a: a.expand(3, 2, 3, 4), lambda m, a: a[:, :1].expand(-1, 5, -1),
    lambda m, a: a.repeat(1, 2, 1), lambda m, a: a.contiguous().detach(),
    lambda m, a: a.reshape(2, 12).float().double(),
    lambda m, a: a.long(), lambda m, a: a.flip(1),
    lambda m, a: a[:, ember.tensor([2, 0])],
], ids=lambda f: str(f.__code__.co_firstlineno))
def test_shapes_and_indexing(fn):
    check(Fn(fn), x(2, 3, 4))


def test_transpose_2d():
    check(Fn(lambda m, a: (a.t(), a.view_as(a.t()), a @ a.t())), x(3, 4))


@pytest.mark.parametrize("fn", [
    lambda m, a: a.sum(), lambda m, a: a.sum(1), lambda m, a: a.sum((0, 2), keepdim=True),
    lambda m, a: a.mean(-1), lambda m, a: a.mean((1, 2), keepdim=True),
    lambda m, a: a.amax(1), lambda m, a: a.amin(-1, keepdim=True),
    lambda m, a: a.max(), lambda m, a: a.min(), lambda m, a: a.max(1),
    lambda m, a: a.min(2, keepdim=True), lambda m, a: a.argmax(-1),
    lambda m, a: a.argmin(1, keepdim=True), lambda m, a: a.argmax(),
    lambda m, a: a.prod(1), lambda m, a: a.logsumexp(1), lambda m, a: a.var(1),
    lambda m, a: a.std(-1, keepdim=True), lambda m, a: a.cumsum(1),
    lambda m, a: ember.max(a, a * 0.5), lambda m, a: (a > 0).sum(1),
], ids=lambda f: str(f.__code__.co_firstlineno))
def test_reductions(fn):
    check(Fn(fn), x(2, 3, 4), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn", [
    lambda m, a: a @ m.w, lambda m, a: ember.matmul(a, m.w),
    lambda m, a: ember.mm(a[0], m.w), lambda m, a: ember.bmm(a, m.w.expand(2, 4, 5)),
    lambda m, a: ember.addmm(m.b, a[0], m.w), lambda m, a: F.linear(a, m.w.t(), m.b),
    lambda m, a: F.linear(a[0], m.w.t()), lambda m, a: ember.einsum("bij,jk->bik", a, m.w),
    lambda m, a: ember.baddbmm(m.b, a, m.w.expand(2, 4, 5), alpha=0.5, beta=2.0),
], ids=lambda f: str(f.__code__.co_firstlineno))
def test_products(fn):
    m = Fn(fn, w=nn.Parameter(ember.randn(4, 5)), b=nn.Parameter(ember.randn(5)))
    check(m, x(2, 3, 4), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer,shape", [
    (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    (lambda: nn.Conv2d(3, 6, 3, padding=1, groups=3, bias=False), (2, 3, 7, 7)),
    (lambda: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=2), (2, 3, 9, 8)),
    (lambda: nn.Conv2d(3, 4, 4, padding="same"), (1, 3, 6, 6)),
    (lambda: nn.Conv3d(2, 3, 2, padding=1), (1, 2, 4, 4, 4)),
    (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), (2, 3, 4, 4)),
    (lambda: nn.ConvTranspose1d(3, 2, 3, stride=2), (2, 3, 5)),
    (lambda: nn.MaxPool1d(2), (2, 3, 8)),
    (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
    (lambda: nn.MaxPool2d(2, ceil_mode=True), (1, 2, 5, 5)),
    (lambda: nn.AvgPool2d(2), (2, 3, 6, 6)),
    (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 7, 7)),
    (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 4, 6)),
    (lambda: nn.AdaptiveMaxPool2d(1), (2, 3, 5, 5)),
    (lambda: nn.BatchNorm1d(3), (4, 3)),
    (lambda: nn.BatchNorm2d(3), (2, 3, 4, 4)),
    (lambda: nn.LayerNorm(4), (2, 3, 4)),
    (lambda: nn.LayerNorm((3, 4), elementwise_affine=False), (2, 3, 4)),
    (lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3)),
    (lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
    (lambda: nn.Dropout(0.3), (2, 5)),
    (lambda: nn.Embedding(10, 4), None),
    (lambda: nn.PReLU(3), (2, 3, 4)),
    (lambda: nn.Upsample(scale_factor=2), (1, 2, 3, 3)),
    (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 3, 3)),
    (lambda: nn.ZeroPad2d((1, 2, 0, 1)), (1, 2, 3, 3)),
    (lambda: nn.ReflectionPad1d(2), (1, 2, 5)),
], ids=lambda v: "" if callable(v) else str(v))
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_layers(layer, shape):
    m = layer()
    if isinstance(m, nn.BatchNorm1d) or isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-1, 1)
        m.running_var.uniform_(0.5, 2)
        m.weight.data.uniform_(0.5, 1.5)
    inp = ember.randint(0, 10, (2, 5)) if shape is None else x(*shape)
    check(m, inp, rtol=1e-5, atol=1e-5)


def test_batch_norm_without_running_stats_uses_batch_statistics():
    check(nn.BatchNorm2d(3, track_running_stats=False), x(4, 3, 2, 2), rtol=1e-5, atol=1e-5)


def test_dropout_in_training_mode_is_a_dropout_node():
    proto = onnx.load_from_string(_export(nn.Dropout(0.5), (x(2, 3),),
                                          training=ember.onnx.TrainingMode.TRAINING))
    assert op_types(proto) == ["Constant", "Constant", "Dropout"]
    proto = onnx.load_from_string(_export(nn.Dropout(0.5), (x(2, 3),)))
    assert "Dropout" not in op_types(proto)


def test_attention():
    q, k, v = x(2, 2, 5, 4), x(2, 2, 6, 4), x(2, 2, 6, 4)
    mask = ember.rand(5, 6) > 0.3
    mask[:, 0] = True
    check(Fn(lambda m, q, k, v: F.scaled_dot_product_attention(q, k, v)), q, k, v)
    check(Fn(lambda m, q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)),
          q, k, v)
    check(Fn(lambda m, q: F.scaled_dot_product_attention(q, q, q, is_causal=True, scale=0.3)),
          q)


def test_multihead_attention():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    q = x(2, 3, 8)
    check(mha, q, q, q, rtol=1e-5, atol=1e-5)


def test_transformer_encoder_layer():
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    check(layer, x(2, 5, 8), rtol=1e-4, atol=1e-5)
    layer = nn.TransformerEncoderLayer(8, 2, 16, norm_first=True, activation="gelu")
    check(layer, x(5, 2, 8), rtol=1e-4, atol=1e-5)


# ---- models ----


def test_mlp_names_and_initializers():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
    proto = check(model, x(5, 3, 4), input_names=["pixels"], output_names=["logits"])
    assert [i.name for i in proto.graph.input] == ["pixels"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert [i.name for i in proto.graph.initializer] == list(model.state_dict())
    assert [n.name for n in proto.graph.node] == ["/0/Flatten", "/1/Gemm", "/2/Relu", "/3/Gemm"]


def test_default_names_follow_pytorch():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, a, b):
            return self.fc(a) * 2.0 + b

    proto = check(M(), x(2, 4), x(2, 3))
    assert [i.name for i in proto.graph.input] == ["onnx::Gemm_0", "onnx::Add_1"]
    assert [n.name for n in proto.graph.node] == ["/fc/Gemm", "/Constant", "/Mul", "/Add"]
    assert proto.graph.output[0].name.isdigit()
    assert proto.opset_import[0].version == 20


def test_digits_cnn_dynamic_batch(tmp_path):
    from ember.demo import build_model

    model = build_model(ember).eval()
    path = tmp_path / "digits.onnx"
    ember.onnx.export(model, (x(2, 1, 8, 8),), str(path), input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}},
                      dynamo=False)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.initializer] == list(model.state_dict())
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [1, 8, 8]
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 7):
        inp = x(n, 1, 8, 8)
        with ember.no_grad():
            expected = model(inp).numpy()
        got = sess.run(None, {"input": inp.numpy()})[0]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away


def test_dynamic_axes_list_form_and_output_axes():
    model = nn.Sequential(nn.Linear(4, 2), nn.Tanh())
    data = _export(model, (x(3, 4),), input_names=["a"], output_names=["b"],
                   dynamic_axes={"a": [0], "b": {0: "n"}})
    proto = onnx.load_from_string(data)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "a_dynamic_axes_1"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "n"
    inp = x(6, 4)
    with ember.no_grad():
        np.testing.assert_allclose(_run(data, [inp.numpy()])[0], model(inp).numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_reshape_keeps_a_dynamic_batch():
    model = Fn(lambda m, a: a.reshape(a.shape[0], 3, 2).sum(-1))
    data = _export(model, (x(4, 6),), input_names=["a"], dynamic_axes={"a": {0: "n"}})
    inp = x(9, 6)
    np.testing.assert_allclose(_run(data, [inp.numpy()])[0], model(inp).numpy(), rtol=1e-5)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent(mode, batch_first, bidirectional):
    rnn = getattr(nn, mode)(4, 5, num_layers=2, batch_first=batch_first,
                            bidirectional=bidirectional)
    inp = x(3, 6, 4) if batch_first else x(6, 3, 4)
    proto = check(rnn, inp, rtol=1e-5, atol=1e-5)
    assert op_types(proto).count(mode) == 2
    dirs = 2 if bidirectional else 1
    h0 = x(2 * dirs, 3, 5)
    if mode == "LSTM":
        c0 = x(2 * dirs, 3, 5)
        check(Fn(lambda m, a, h, c: m.rnn(a, (h, c)), rnn=rnn), inp, h0, c0, rtol=1e-5,
              atol=1e-5)
    else:
        check(Fn(lambda m, a, h: m.rnn(a, h), rnn=rnn), inp, h0, rtol=1e-5, atol=1e-5)


def test_lstm_dynamic_batch_and_sequence():
    model = nn.LSTM(3, 4, batch_first=True)
    data = _export(model, (x(2, 5, 3),), input_names=["seq"],
                   dynamic_axes={"seq": {0: "batch", 1: "time"}})
    inp = x(4, 7, 3)
    with ember.no_grad():
        out, (h, c) = model(inp)
    got = _run(data, [inp.numpy()])
    for g, e in zip(got, (out, h, c)):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-5, atol=1e-6)


def test_lstm_classifier():
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 6)
            self.lstm = nn.LSTM(6, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, tokens):
            out, (h, c) = self.lstm(self.emb(tokens))
            return self.head(out[:, -1])

    check(Classifier(), ember.randint(0, 20, (2, 7)), rtol=1e-5, atol=1e-6)


# ---- options, files, errors ----


def test_writes_to_a_path_and_a_file_object(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "m.onnx"
    assert ember.onnx.export(model, x(1, 3), path, dynamo=False) is None
    buf = io.BytesIO()
    ember.onnx.export(model, x(1, 3), buf, dynamo=False)
    assert path.read_bytes() == buf.getvalue()
    program = ember.onnx.export(model, (x(1, 3),))  # dynamo=True, PyTorch's default
    assert isinstance(program, ember.onnx.ONNXProgram)
    inp = x(1, 3)
    with ember.no_grad():
        np.testing.assert_allclose(program(inp)[0].numpy(), model(inp).numpy(), rtol=1e-6)
    program.save(tmp_path / "p.onnx")
    assert (tmp_path / "p.onnx").read_bytes() == path.read_bytes()


def test_kwargs_and_trailing_dict():
    model = Fn(lambda m, a, scale=1.0, b=None: a * scale + (0 if b is None else b))
    a, b = x(2, 2), x(2, 2)
    data = _export(model, (a, {"b": b}))
    np.testing.assert_allclose(_run(data, [a.numpy(), b.numpy()])[0], (a + b).numpy())
    data = _export(model, (a,), kwargs={"b": b})
    np.testing.assert_allclose(_run(data, [a.numpy(), b.numpy()])[0], (a + b).numpy())


def test_export_params_and_initializers_as_inputs():
    model = nn.Linear(3, 2)
    proto = onnx.load_from_string(_export(model, (x(1, 3),), export_params=False))
    assert [i.name for i in proto.graph.initializer] == []
    assert [i.name for i in proto.graph.input][1:] == ["weight", "bias"]
    proto = onnx.load_from_string(_export(model, (x(1, 3),), keep_initializers_as_inputs=True))
    assert [i.name for i in proto.graph.initializer] == ["weight", "bias"]
    assert [i.name for i in proto.graph.input][1:] == ["weight", "bias"]


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_other_opsets(opset):
    model = nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.LayerNorm(4))
    proto = check(Fn(lambda m, a: m.net(a).sum(-1, keepdim=True).amax(0), net=model), x(3, 4),
                  opset_version=opset, rtol=1e-5, atol=1e-5)
    assert proto.opset_import[0].version == opset


def test_unsupported_op_raises_pytorchs_error():
    model = Fn(lambda m, a: ember.special.zeta(a, a))
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError,
                       match=r"^Exporting the operator 'aten::special_zeta' to ONNX opset "
                             r"version 20 is not supported$") as info:
        _export(model, (x(2),))
    assert isinstance(info.value, ember.onnx.OnnxExporterError)
    assert isinstance(info.value, RuntimeError)
    assert not ember.onnx.is_in_onnx_export()  # the export cleaned up after the error
    from ember import _modes

    assert not _modes.intercepting()


@pytest.mark.parametrize("fn", [lambda m, a: a + ember.randn(3), lambda m, a: a.clone().uniform_(),
                                lambda m, a: ember.rand_like(a)])
def test_random_ops_are_refused_not_frozen(fn):
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError,
                       match="'aten::(randn|uniform_|rand_like)'"):
        _export(Fn(fn), (x(3),))


def test_lazy_module_initialises_while_exporting():
    model = nn.Sequential(nn.LazyLinear(2), nn.ReLU())
    proto = check(model, x(4, 3))
    assert [i.name for i in proto.graph.initializer] == ["0.weight", "0.bias"]


def test_set_item():
    def fn(m, a, b):
        a = a.clone()
        a[:, 0] = 1.0
        a[1, 1:] = b[0, :2] * 2
        a[..., -1] += b[:, 2]
        a[ember.tensor([0, 1]), 1] = -3
        return a

    check(Fn(fn), x(2, 3), x(2, 3))


def test_set_item_with_a_traced_index_is_refused():
    def fn(m, a, i):
        a = a.clone()
        a[i] = 0.0
        return a

    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="aten::index_put_"):
        _export(Fn(fn), (x(3), ember.tensor([1])))


def test_constant_buffers_made_in_forward():
    def fn(m, a):
        mask = ember.zeros(3, 3)
        mask[0, 1] = 5.0  # built from constants alone: a constant in the graph
        return a @ mask + ember.arange(3.0)

    check(Fn(fn), x(2, 3))


def test_without_onnx_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'ember\[onnx\]'"):
        ember.onnx.export(nn.ReLU(), (x(2),), io.BytesIO())


def test_verbose_prints_the_graph(capsys):
    _export(nn.Sequential(nn.Linear(2, 2)), (x(1, 2),), verbose=True)
    assert "Gemm" in capsys.readouterr().out


def test_tracer_warning_and_path_taken():
    def fn(m, a):
        if a.sum() > 0:  # traced as the branch this input takes, with PyTorch's warning
            return a * 2
        return a - 1

    a = ember.ones(3)
    with pytest.warns(Warning, match="Python boolean might cause the trace to be incorrect"):
        data = _export(Fn(fn), (a,))
    assert op_types(onnx.load_from_string(data))[-1] == "Mul"


def test_is_in_onnx_export_inside_forward():
    seen = []
    model = Fn(lambda m, a: seen.append(ember.onnx.is_in_onnx_export()) or a + 1)
    _export(model, (x(2),))
    assert seen == [True] and not ember.onnx.is_in_onnx_export()


def test_training_mode_is_restored():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    model.train()
    _export(model, (x(1, 2),))
    assert model.training and model[1].training


def test_bad_opset():
    with pytest.raises(ValueError, match="Unsupported ONNX opset version: 9"):
        _export(nn.ReLU(), (x(2),), opset_version=9)


# ---- against PyTorch's exporter ----


def _torch_ops(build, args):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        buf = io.BytesIO()
        try:
            torch.onnx.export(build(torch).eval(), tuple(torch.from_numpy(a) for a in args), buf,
                              dynamo=False)
        except Exception as e:  # noqa: BLE001 - whichever way torch's exporter is unusable
            pytest.skip(f"torch.onnx.export(dynamo=False) is unusable here: {e}")
    return [(n.name, n.op_type) for n in onnx.load_from_string(buf.getvalue()).graph.node]


@pytest.mark.parametrize("build,shape", [
    (lambda t: __import__("ember.demo", fromlist=["x"]).build_model(t), (2, 1, 8, 8)),
    (lambda t: t.nn.Sequential(t.nn.Linear(4, 8), t.nn.Tanh(), t.nn.Linear(8, 2),
                               t.nn.Softmax(-1)), (3, 4)),
    (lambda t: t.nn.Sequential(t.nn.Conv2d(3, 4, 3), t.nn.BatchNorm2d(4), t.nn.SiLU(),
                               t.nn.AdaptiveAvgPool2d(1), t.nn.Flatten()), (2, 3, 6, 6)),
])
def test_same_nodes_as_torch(build, shape):
    arr = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    theirs = _torch_ops(build, [arr])
    ours = [(n.name, n.op_type) for n in onnx.load_from_string(
        _export(build(ember).eval(), (ember.from_numpy(arr),))).graph.node]
    # PyTorch folds an eval BatchNorm into the Conv before it; ember keeps the node
    ours = [n for n in ours if n[1] != "BatchNormalization"]
    assert ours == theirs
