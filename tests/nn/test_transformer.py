"""Parity tests for MultiheadAttention, TransformerEncoderLayer, TransformerEncoder and
TransformerDecoderLayer against PyTorch.

Each test builds the PyTorch module under a fixed seed, loads its state_dict into the ember
module, runs the same inputs through both and compares outputs, attention weights and the
gradients of inputs and parameters (float32 tolerance). Dropout is off (eval mode or p=0) so
results are deterministic. Errors, warnings, reprs and state_dict layouts go through ``same``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember

from ..oracle import same, torch

RTOL, ATOL = 1e-5, 1e-5


def _twin(make, seed=0):
    """``make(T)`` for PyTorch and ember, the ember one carrying PyTorch's parameters."""
    torch.manual_seed(seed)
    ref = make(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = make(ember)
    mine.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                          ref.state_dict().items()})
    return mine, ref


def _pair(*shape, seed=1, dtype=np.float32):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ember.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


def _mask(T, data):
    return T.tensor(np.asarray(data))


def _close(a, b, what):
    assert (a is None) == (b is None), what
    if a is not None:
        assert tuple(a.shape) == tuple(b.shape), what
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=what)


def _run(mine, ref, args, kwargs=lambda T: {}, grads=True):
    """Call both modules with ``args`` (pairs of tensors, or the same object for both) and
    ``kwargs(T)``; compare the outputs and, after one backward, all gradients."""
    def pick(a, i):
        return a[i] if isinstance(a, tuple) else a
    outs = []
    for i, (T, m) in enumerate(((ember, mine), (torch, ref))):
        out = m(*[pick(a, i) for a in args], **kwargs(T))
        outs.append(list(out) if isinstance(out, tuple) else [out])
    for k, (a, b) in enumerate(zip(*outs)):
        _close(a, b, f"output {k}")
    if not grads:
        return outs
    for i in range(2):
        loss = sum(((o * (k + 1)) ** 2).sum() + o.sum()
                   for k, o in enumerate(outs[i]) if o is not None)
        loss.backward()
    for k, a in enumerate(args):
        if isinstance(a, tuple) and a[1].requires_grad:
            _close(a[0].grad, a[1].grad, f"grad of argument {k}")
    params = dict(ref.named_parameters())
    for name, p in mine.named_parameters():
        _close(p.grad, params[name].grad, f"grad of {name}")
    return outs


# ---- MultiheadAttention ----


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_self_attention(batch_first, need_weights, average):
    mine, ref = _twin(lambda T: T.nn.MultiheadAttention(8, 2, batch_first=batch_first))
    x = _pair(3, 5, 8) if batch_first else _pair(5, 3, 8)
    _run(mine, ref, [x, x, x],
         lambda T: {"need_weights": need_weights, "average_attn_weights": average})


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_cross_attention_unbatched(need_weights):
    mine, ref = _twin(lambda T: T.nn.MultiheadAttention(6, 3))
    q, kv = _pair(4, 6), _pair(7, 6, seed=2)
    _run(mine, ref, [q, kv, kv], lambda T: {"need_weights": need_weights,
                                             "average_attn_weights": False})


def _masks():
    rng = np.random.default_rng(5)
    bool_2d = np.triu(np.ones((4, 6), bool), k=3)
    float_3d = rng.standard_normal((2 * 2, 4, 6)).astype(np.float32)
    pad = np.zeros((2, 6), bool)
    pad[0, 4:] = True
    pad[1, 5:] = True
    return bool_2d, float_3d, pad


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("which", ["bool_attn", "float_attn", "padding", "float_padding",
                                   "both_bool", "both_float"])
def test_mha_masks(need_weights, which):
    bool_2d, float_3d, pad = _masks()
    float_pad = np.where(pad, -1e9, 0.5).astype(np.float32)
    mine, ref = _twin(lambda T: T.nn.MultiheadAttention(8, 2, kdim=5, vdim=3))
    q, k, v = _pair(4, 2, 8), _pair(6, 2, 5, seed=2), _pair(6, 2, 3, seed=3)

    def kwargs(T):
        kw = {"need_weights": need_weights}
        if which in ("bool_attn", "both_bool"):
            kw["attn_mask"] = _mask(T, bool_2d)
        if which in ("float_attn", "both_float"):
            kw["attn_mask"] = _mask(T, float_3d)
        if which in ("padding", "both_bool"):
            kw["key_padding_mask"] = _mask(T, pad)
        if which in ("float_padding", "both_float"):
            kw["key_padding_mask"] = _mask(T, float_pad)
        return kw
    _run(mine, ref, [q, k, v], kwargs)


def test_mha_mismatched_mask_types_warn():
    def fn(T):
        T.manual_seed(0)
        m = T.nn.MultiheadAttention(4, 2)
        x = T.ones(3, 2, 4)
        pad = T.tensor([[False, False, True], [False, False, False]])
        attn = T.zeros(3, 3)
        out, w = m(x, x, x, key_padding_mask=pad, attn_mask=attn)
        return w
    same(fn)


@pytest.mark.parametrize("kw", [{"add_bias_kv": True}, {"add_zero_attn": True},
                                {"add_bias_kv": True, "add_zero_attn": True}, {"bias": False}])
def test_mha_options(kw):
    _, _, pad = _masks()
    mine, ref = _twin(lambda T: T.nn.MultiheadAttention(8, 4, batch_first=True, **kw))
    q, kv = _pair(2, 4, 8), _pair(2, 6, 8, seed=2)
    assert list(mine.state_dict()) == list(ref.state_dict())
    _run(mine, ref, [q, kv, kv], lambda T: {"key_padding_mask": _mask(T, pad)})


@pytest.mark.parametrize("need", [True, False])
def test_mha_is_causal(need):
    mine, ref = _twin(lambda T: T.nn.MultiheadAttention(8, 2))
    x = _pair(5, 2, 8)
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), k=1)
    _run(mine, ref, [x, x, x], lambda T: {"attn_mask": _mask(T, causal), "is_causal": True,
                                          "need_weights": need})


def test_mha_dropout_off_in_eval_and_p0_train():
    mine, ref = _twin(lambda T: T.nn.MultiheadAttention(8, 2, dropout=0.5))
    mine.eval()
    ref.eval()
    x = _pair(5, 2, 8)
    _run(mine, ref, [x, x, x])
    mine.train()
    a, b = mine(x[0], x[0], x[0])[1], mine(x[0], x[0], x[0])[1]
    assert not bool((a == b).all()), "dropout on the attention weights in training mode"


def test_mha_init_and_layout():
    def fn(T):
        T.manual_seed(0)
        out = []
        for kw in ({}, {"kdim": 3, "vdim": 5}, {"add_bias_kv": True, "bias": False}):
            m = T.nn.MultiheadAttention(4, 2, **kw)
            sd = m.state_dict()
            b = (6 / 8) ** 0.5  # xavier bound for the packed (12, 4) weight
            out.append(([(k, tuple(v.shape)) for k, v in sd.items()], repr(m),
                        m.in_proj_weight is None, m.bias_k is None, m.head_dim,
                        m._qkv_same_embed_dim))
            if "in_proj_bias" in sd:
                out.append((sd["in_proj_bias"], sd["out_proj.bias"]))
            if m.in_proj_weight is not None:
                out.append(bool((m.in_proj_weight.abs() <= b).all()))
        return out
    same(fn)


@pytest.mark.parametrize("case", range(9))
def test_mha_errors(case):
    def fn(T):
        T.manual_seed(0)
        z = T.zeros
        calls = [
            lambda: T.nn.MultiheadAttention(6, 4),
            lambda: T.nn.MultiheadAttention(0, 1),
            lambda: T.nn.MultiheadAttention(4, 2)(z(1, 3, 2, 4), z(1, 3, 2, 4), z(1, 3, 2, 4)),
            lambda: T.nn.MultiheadAttention(4, 2)(z(3, 2, 4), z(3, 4), z(3, 4)),
            lambda: T.nn.MultiheadAttention(4, 2)(z(3, 2, 4), z(3, 2, 4), z(3, 2, 4),
                                                  attn_mask=z(2, 2)),
            lambda: T.nn.MultiheadAttention(4, 2)(z(3, 2, 4), z(3, 2, 4), z(3, 2, 4),
                                                  key_padding_mask=z(2, 4)),
            lambda: T.nn.MultiheadAttention(4, 2)(z(3, 2, 4), z(3, 2, 4), z(3, 2, 4),
                                                  attn_mask=z(3, 3, dtype=T.int64)),
            lambda: T.nn.MultiheadAttention(4, 2)(z(3, 2, 4), z(3, 2, 4), z(3, 2, 4),
                                                  is_causal=True),
            lambda: T.nn.MultiheadAttention(4, 2)(z(3, 2, 5), z(3, 2, 5), z(3, 2, 5)),
        ]
        return calls[case]()
    same(fn)


# ---- encoder / decoder layers ----


def _layer(T, **kw):
    return T.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, **kw)


@pytest.mark.parametrize("kw", [{}, {"norm_first": True}, {"activation": "gelu"},
                                {"batch_first": True, "bias": False},
                                {"layer_norm_eps": 1e-3, "norm_first": True}])
def test_encoder_layer(kw):
    mine, ref = _twin(lambda T: _layer(T, **kw))
    mine.eval()
    ref.eval()
    x = _pair(3, 5, 8)
    _run(mine, ref, [x])


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_masks(norm_first):
    _, _, pad = _masks()
    causal = np.triu(np.full((6, 6), -np.inf, np.float32), k=1)
    mine, ref = _twin(lambda T: _layer(T, norm_first=norm_first, batch_first=True))
    mine.eval()
    ref.eval()
    x = _pair(2, 6, 8)
    _run(mine, ref, [x], lambda T: {"src_key_padding_mask": _mask(T, pad)})
    x = _pair(2, 6, 8, seed=3)
    _run(mine, ref, [x], lambda T: {"src_mask": _mask(T, causal), "is_causal": True})
    x = _pair(2, 6, 8, seed=4)
    _run(mine, ref, [x], lambda T: {"src_mask": _mask(T, causal < 0),
                                    "src_key_padding_mask": _mask(T, pad)})


def test_encoder_layer_callable_activation_and_unbatched():
    mine, ref = _twin(lambda T: _layer(T, activation=T.nn.functional.silu, dropout=0.0))
    x = _pair(5, 8)
    _run(mine, ref, [x])  # training mode, but p=0


def test_encoder_layer_no_grad_eval_matches_fast_path():
    # Under no_grad in eval mode PyTorch takes its fused fast path; the values agree.
    mine, ref = _twin(lambda T: _layer(T, batch_first=True))
    mine.eval()
    ref.eval()
    x = _pair(2, 5, 8)
    with ember.no_grad(), torch.no_grad():
        _run(mine, ref, [(x[0].detach(), x[1].detach())], grads=False)


def test_encoder_layer_repr_and_errors():
    def fn(T):
        T.manual_seed(0)
        out = [repr(_layer(T, activation="gelu")), _layer(T).activation_relu_or_gelu,
               _layer(T, activation="gelu").activation_relu_or_gelu,
               _layer(T, activation=T.tanh).activation_relu_or_gelu]
        try:
            _layer(T, activation="tanh")
        except RuntimeError as e:
            out.append(str(e))
        return out
    same(fn)


@pytest.mark.parametrize("norm", [False, True])
def test_encoder_stack(norm):
    def make(T):
        layer = _layer(T, batch_first=True)
        return T.nn.TransformerEncoder(layer, 3, norm=T.nn.LayerNorm(8) if norm else None)
    mine, ref = _twin(make)
    assert list(mine.state_dict()) == list(ref.state_dict())
    mine.eval()
    ref.eval()
    _, _, pad = _masks()
    x = _pair(2, 6, 8)
    _run(mine, ref, [x])
    x = _pair(2, 6, 8, seed=2)
    # src_key_padding_mask with gradients on: PyTorch stays off its nested-tensor path, so the
    # padded positions are comparable too.
    _run(mine, ref, [x], lambda T: {"src_key_padding_mask": _mask(T, pad)})
    causal = np.triu(np.full((6, 6), -np.inf, np.float32), k=1)
    x = _pair(2, 6, 8, seed=3)
    _run(mine, ref, [x], lambda T: {"mask": _mask(T, causal)})


def test_encoder_layers_are_deep_copies_and_warning():
    def fn(T):
        T.manual_seed(0)
        layer = _layer(T)
        enc = T.nn.TransformerEncoder(layer, 2, enable_nested_tensor=True)
        enc2 = T.nn.TransformerEncoder(_layer(T, batch_first=True), 2)
        with T.no_grad():
            enc.layers[0].linear1.weight.zero_()
        return (bool((enc.layers[1].linear1.weight == layer.linear1.weight).all()),
                enc.layers[0].linear1.weight is layer.linear1.weight,
                enc.use_nested_tensor, enc2.use_nested_tensor, len(enc.layers), repr(enc2))
    same(fn)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer(norm_first):
    mine, ref = _twin(lambda T: T.nn.TransformerDecoderLayer(8, 2, 16, norm_first=norm_first))
    mine.eval()
    ref.eval()
    _, _, pad = _masks()
    causal = np.triu(np.full((4, 4), -np.inf, np.float32), k=1)
    tgt, memory = _pair(4, 2, 8), _pair(6, 2, 8, seed=2)
    _run(mine, ref, [tgt, memory],
         lambda T: {"tgt_mask": _mask(T, causal), "memory_key_padding_mask": _mask(T, pad),
                    "tgt_is_causal": True})


def test_encoder_training_loop_matches():
    """Five hand-written SGD steps on an encoder (dropout 0) give PyTorch's losses."""
    def make(T):
        return T.nn.TransformerEncoder(_layer(T, dropout=0.0), 2, enable_nested_tensor=False)
    mine, ref = _twin(make)
    data = np.random.default_rng(0).standard_normal((5, 3, 8)).astype(np.float32)
    losses = []
    for T, m in ((ember, mine), (torch, ref)):
        x = T.tensor(data)
        run = []
        for _ in range(5):
            loss = ((m(x) - x.flip(0)) ** 2).mean()
            m.zero_grad()
            loss.backward()
            with T.no_grad():
                for p in m.parameters():
                    p -= 0.1 * p.grad
            run.append(loss.item())
        losses.append(run)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5, atol=1e-6)
    assert losses[0][-1] < losses[0][0]


@pytest.mark.parametrize("left_aligned", [True, False])
def test_encoder_no_grad_eval_padding_matches_nested_path(left_aligned):
    # PyTorch runs this call on nested tensors: padded positions come back as zeros (before
    # the final norm); a padding mask that is not left-aligned keeps the reference path.
    def make(T):
        layer = _layer(T, batch_first=True)
        return T.nn.TransformerEncoder(layer, 2, norm=T.nn.LayerNorm(8))
    mine, ref = _twin(make)
    with torch.no_grad():
        ref.norm.bias.fill_(0.25)
    mine.norm.load_state_dict({"weight": ember.ones(8), "bias": ember.full((8,), 0.25)})
    mine.eval()
    ref.eval()
    pad = np.zeros((2, 6), bool)
    pad[0, 4:] = True
    if not left_aligned:
        pad[1, 2] = True
    x = _pair(2, 6, 8)
    with ember.no_grad(), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's "nested tensors are a prototype" warning
        outs = _run(mine, ref, [(x[0].detach(), x[1].detach())],
                    lambda T: {"src_key_padding_mask": _mask(T, pad)}, grads=False)
    at_pad = outs[0][0][0, 5]
    assert np.allclose(at_pad.numpy(), 0.25) == left_aligned


def test_decoder_stack_and_transformer():
    def make(T):
        return T.nn.Transformer(8, 2, 2, 2, 16, batch_first=True, norm_first=True)
    mine, ref = _twin(make)
    assert list(mine.state_dict()) == list(ref.state_dict())
    mine.eval()
    ref.eval()
    _, _, pad = _masks()
    src, tgt = _pair(2, 6, 8), _pair(2, 4, 8, seed=2)

    def kwargs(T):
        return {"tgt_mask": T.nn.Transformer.generate_square_subsequent_mask(4),
                "src_key_padding_mask": _mask(T, pad), "memory_key_padding_mask": _mask(T, pad)}
    _run(mine, ref, [src, tgt], kwargs)

    def make_decoder(T):
        return T.nn.TransformerDecoder(T.nn.TransformerDecoderLayer(8, 2, 16), 2,
                                       norm=T.nn.LayerNorm(8))
    mine, ref = _twin(make_decoder)
    mine.eval()
    ref.eval()
    tgt, memory = _pair(4, 2, 8), _pair(6, 2, 8, seed=2)
    _run(mine, ref, [tgt, memory],
         lambda T: {"tgt_mask": T.nn.Transformer.generate_square_subsequent_mask(4)})


def test_transformer_layout_init_and_errors():
    def fn(T):
        T.manual_seed(0)
        m = T.nn.Transformer(8, 2, 1, 1, 16)
        out = [[(k, tuple(v.shape)) for k, v in m.state_dict().items()], repr(m),
               T.nn.Transformer.generate_square_subsequent_mask(3),
               T.nn.Transformer.generate_square_subsequent_mask(2, dtype=T.float64),
               all(bool((p.abs() <= (6 / sum(p.shape)) ** 0.5).all())
                   for p in m.parameters() if p.dim() > 1)]
        for src, tgt in ((T.zeros(5, 3, 8), T.zeros(4, 2, 8)), (T.zeros(5, 3, 8),
                                                                 T.zeros(4, 3, 6))):
            try:
                m(src, tgt)
            except RuntimeError as e:
                out.append(str(e))
        return out
    same(fn)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_gradients_by_finite_differences(need_weights):
    from ember.autograd import gradcheck, gradgradcheck
    ember.manual_seed(0)
    m = ember.nn.MultiheadAttention(4, 2).double()
    q = ember.randn(3, 2, 4, dtype=ember.float64, requires_grad=True)
    kv = ember.randn(5, 2, 4, dtype=ember.float64, requires_grad=True)
    pad = ember.tensor([[False] * 4 + [True], [False] * 5])

    def f(q, kv):
        return m(q, kv, kv, key_padding_mask=pad, need_weights=need_weights)[0]
    assert gradcheck(f, (q, kv))
    assert gradgradcheck(f, (q, kv))
