"""Op records: nn activation family (see tests/opinfo/__init__.py): the elementwise
activations, glu, prelu, softmin; normalization, dropout (deterministic settings), embedding,
bilinear."""

from __future__ import annotations

import numpy as np

from . import OpRecord, _ints

ACT = [((2, 3),), ((),), ((0,),)]  # a matrix, 0-dim, empty
WIDE = (-4.0, 4.0)


def _F(T):
    return T.nn.functional


def _act(name, call, shapes=ACT, domain=(-2.0, 2.0), **kw):
    return OpRecord(name, call, shapes, domain=domain, **kw)


RECORDS = [
    # ---- elementwise activations ----
    _act("relu6", lambda T, x: _F(T).relu6(x * 4)),
    _act("leaky_relu", lambda T, x: _F(T).leaky_relu(x, 0.2)),
    _act("leaky_relu_default", lambda T, x: _F(T).leaky_relu(x), op="leaky_relu"),
    _act("elu", lambda T, x: _F(T).elu(x, alpha=1.5)),
    _act("selu", lambda T, x: T.selu(x)),
    _act("celu", lambda T, x: _F(T).celu(x, alpha=0.7)),
    _act("gelu", lambda T, x: _F(T).gelu(x), domain=WIDE),
    _act("gelu_tanh", lambda T, x: _F(T).gelu(x, approximate="tanh"), domain=WIDE,
         op="gelu"),
    _act("silu", lambda T, x: _F(T).silu(x), domain=WIDE),
    _act("mish", lambda T, x: _F(T).mish(x), domain=WIDE),
    _act("softplus", lambda T, x: _F(T).softplus(x), domain=WIDE),
    _act("softplus_beta_threshold", lambda T, x: _F(T).softplus(x, beta=2.0, threshold=3.0),
         domain=WIDE, op="softplus"),
    _act("softsign", lambda T, x: _F(T).softsign(x)),
    _act("hardtanh", lambda T, x: _F(T).hardtanh(x, -0.5, 1.5)),
    # (PyTorch has no derivative of hardsigmoid_backward: a second order raises, as ember)
    _act("hardsigmoid", lambda T, x: _F(T).hardsigmoid(x), domain=WIDE, second_order=False),
    _act("hardswish", lambda T, x: _F(T).hardswish(x), domain=WIDE),
    _act("tanhshrink", lambda T, x: _F(T).tanhshrink(x)),
    _act("hardshrink", lambda T, x: x.hardshrink(0.6)),
    _act("softshrink", lambda T, x: _F(T).softshrink(x, 0.4)),
    _act("threshold", lambda T, x: _F(T).threshold(x, 0.3, -2.0)),
    _act("logsigmoid", lambda T, x: _F(T).logsigmoid(x), domain=WIDE),
    _act("rrelu_eval", lambda T, x: _F(T).rrelu(x, 0.1, 0.3), op="rrelu"),
    OpRecord("glu", lambda T, x: _F(T).glu(x), [((3, 4),), ((2,),)]),
    OpRecord("glu_dim0", lambda T, x: _F(T).glu(x, 0), [((4, 3),)], op="glu"),
    OpRecord("softmin", lambda T, x: _F(T).softmin(x, dim=1), [((2, 3),)]),
    OpRecord("softmin_dtype", lambda T, x: _F(T).softmin(x, -1, dtype=T.float64), [((3,),)],
             op="softmin"),
    OpRecord("prelu", lambda T, x, w: _F(T).prelu(x, w),
             [((2, 3, 2), (3,)), ((2, 3), (1,)), ((3,), (1,))]),
    OpRecord("softmax_large", lambda T, x: (x * 1000).softmax(-1), [((2, 3),)], op="softmax"),
    OpRecord("log_softmax_large", lambda T, x: (x * 1000).log_softmax(0), [((3, 2),)],
             op="log_softmax"),
    OpRecord("log_softmax_dtype", lambda T, x: T.log_softmax(x, 1, dtype=T.float64),
             [((2, 3),)], op="log_softmax"),
    # ---- normalization ----
    OpRecord("layer_norm", lambda T, x, w, b: _F(T).layer_norm(x, (3,), w, b),
             [((2, 3), (3,), (3,)), ((1, 2, 3), (3,), (3,))], op="F.layer_norm"),
    OpRecord("layer_norm_2d_shape", lambda T, x: _F(T).layer_norm(x, [3, 4], eps=1e-3),
             [((2, 3, 4),), ((3, 4),)], op="F.layer_norm"),
    OpRecord("group_norm", lambda T, x, w, b: _F(T).group_norm(x, 2, w, b),
             [((2, 4, 3), (4,), (4,)), ((1, 4), (4,), (4,))], op="F.group_norm"),
    OpRecord("group_norm_no_affine", lambda T, x: _F(T).group_norm(x, 3), [((2, 6, 2),)],
             op="F.group_norm"),
    OpRecord("batch_norm_train", lambda T, x, w, b: _F(T).batch_norm(x, None, None, w, b,
                                                                     training=True),
             [((4, 3), (3,), (3,)), ((2, 3, 2), (3,), (3,))], op="F.batch_norm"),
    OpRecord("batch_norm_train_no_affine",
             lambda T, x: _F(T).batch_norm(x, None, None, training=True, eps=1e-3),
             [((3, 2, 2),)], op="F.batch_norm"),
    OpRecord("batch_norm_eval", lambda T, x, w, b: _F(T).batch_norm(
        x, T.tensor([0.1, -0.2, 0.3], dtype=x.dtype, device=x.device),
        T.tensor([0.5, 1.0, 2.0], dtype=x.dtype, device=x.device),
        w, b), [((4, 3), (3,), (3,)), ((2, 3, 2), (3,), (3,))], op="F.batch_norm"),
    OpRecord("instance_norm", lambda T, x, w, b: _F(T).instance_norm(x, weight=w, bias=b),
             [((2, 3, 4), (3,), (3,))], op="F.instance_norm"),
    OpRecord("instance_norm_no_affine", lambda T, x: _F(T).instance_norm(x), [((1, 2, 2, 2),)],
             op="F.instance_norm"),
    OpRecord("rms_norm", lambda T, x, w: _F(T).rms_norm(x, [3], w), [((2, 3), (3,))]),
    OpRecord("rms_norm_eps", lambda T, x: T.rms_norm(x, (3, 4), eps=1e-4), [((2, 3, 4),)],
             op="rms_norm"),
    OpRecord("local_response_norm", lambda T, x: _F(T).local_response_norm(x, 3, 0.5, 0.75, 2.0),
             [((2, 4, 3),), ((1, 3, 2, 2),)]),
    OpRecord("local_response_norm_wide", lambda T, x: _F(T).local_response_norm(x, 4, 1.0),
             [((1, 3, 2, 1, 2),)], op="local_response_norm"),
    # ---- linear layers, embedding, dropout ----
    OpRecord("bilinear", lambda T, x, y, w, b: _F(T).bilinear(x, y, w, b),
             [((2, 3), (2, 4), (5, 3, 4), (5,)), ((2, 1, 3), (2, 1, 2), (2, 3, 2), (2,))]),
    OpRecord("bilinear_no_bias", lambda T, x, y, w: _F(T).bilinear(x, y, w),
             [((3,), (2,), (2, 3, 2))], op="bilinear"),
    OpRecord("embedding", lambda T, w, i: _F(T).embedding(i, w), extra=lambda rng: [
        (rng.uniform(-2, 2, (5, 3)), _ints(rng, 5, (2, 4))),
        (rng.uniform(-2, 2, (4, 2)), np.array(3)),
        (rng.uniform(-2, 2, (4, 2)), _ints(rng, 4, (1, 1)))], op="F.embedding"),
    OpRecord("embedding_padding_freq", lambda T, w, i: _F(T).embedding(
        i, w, padding_idx=1, scale_grad_by_freq=True),
        extra=lambda rng: [(rng.uniform(-2, 2, (4, 3)), np.array([[0, 1, 2], [2, 2, 1]]))],
        op="F.embedding", gradcheck=False),  # by design not the Jacobian: compared with PyTorch
    OpRecord("embedding_bag", lambda T, w, i, o: _F(T).embedding_bag(i, w, o), extra=lambda rng: [
        (rng.uniform(-2, 2, (5, 3)), _ints(rng, 5, (6,)), np.array([0, 2, 2])),
        (rng.uniform(-2, 2, (4, 2)), _ints(rng, 4, (3,)), np.array([0]))]),
    OpRecord("embedding_bag_sum_weights", lambda T, w, i, o, p: _F(T).embedding_bag(
        i, w, o, mode="sum", per_sample_weights=p, padding_idx=1), extra=lambda rng: [
        (rng.uniform(-2, 2, (5, 3)), np.array([1, 2, 4, 4, 3, 0]), np.array([0, 2, 2]),
         rng.uniform(-2, 2, (6,)))], op="embedding_bag"),
    OpRecord("embedding_bag_max_2d", lambda T, w, i: _F(T).embedding_bag(i, w, mode="max"),
             extra=lambda rng: [(rng.uniform(-2, 2, (5, 3)), _ints(rng, 5, (2, 3)))],
             op="embedding_bag"),
    OpRecord("dropout_eval", lambda T, x: _F(T).dropout(x * 2, 0.3, training=False),
             [((2, 3),)], op="F.dropout"),
    OpRecord("dropout_p0", lambda T, x: _F(T).dropout(x * 2, 0.0), [((2, 3),)], op="F.dropout"),
    OpRecord("dropout2d_p0", lambda T, x: _F(T).dropout2d(x * 2, 0.0), [((1, 2, 3, 2),)],
             op="dropout2d"),
    OpRecord("dropout1d_eval", lambda T, x: _F(T).dropout1d(x * 2, training=False),
             [((2, 3),)], op="dropout1d"),
    OpRecord("dropout3d_eval", lambda T, x: _F(T).dropout3d(x * 2, training=False),
             [((1, 2, 1, 2, 2),)], op="dropout3d"),
    OpRecord("alpha_dropout_eval", lambda T, x: _F(T).alpha_dropout(x * 2), [((2, 3),)],
             op="F.alpha_dropout"),
    OpRecord("feature_alpha_dropout_p0", lambda T, x: _F(T).feature_alpha_dropout(
        x * 2, 0.0, True), [((2, 3),)], op="F.feature_alpha_dropout"),
    # ---- the torch.* forms (argument orders differ) and in-place variants ----
    OpRecord("F_softmax", lambda T, x: _F(T).softmax(x, 0), [((3, 2),)], op="F.softmax"),
    OpRecord("F_log_softmax", lambda T, x: _F(T).log_softmax(x, -1, dtype=T.float64),
             [((2, 3),)], op="F.log_softmax"),
    OpRecord("torch_layer_norm", lambda T, x, w: T.layer_norm(x, [3], w), [((2, 3), (3,))],
             op="layer_norm"),
    OpRecord("torch_group_norm", lambda T, x, w, b: T.group_norm(x, 1, w, b, 1e-3),
             [((2, 2, 3), (2,), (2,))], op="group_norm"),
    OpRecord("torch_batch_norm", lambda T, x, w, b: T.batch_norm(
        x, w, b, None, None, True, 0.1, 1e-5, False), [((3, 2), (2,), (2,))], op="batch_norm"),
    OpRecord("torch_instance_norm", lambda T, x, w, b: T.instance_norm(
        x, w, b, None, None, True, 0.1, 1e-5, False), [((2, 2, 3), (2,), (2,))],
        op="instance_norm"),
    OpRecord("torch_embedding", lambda T, w, i: T.embedding(w, i), extra=lambda rng: [
        (rng.uniform(-2, 2, (4, 3)), _ints(rng, 4, (2, 2)))], op="embedding"),
    *[OpRecord(f"torch_{n}", (lambda name: lambda T, x: getattr(T, name)(x * 2, 0.4, False))(n),
               [((2, 3),)], op=n)
      for n in ("dropout", "alpha_dropout", "feature_alpha_dropout", "feature_dropout",
                "dropout_", "alpha_dropout_", "feature_alpha_dropout_", "feature_dropout_")],
    OpRecord("elu_", lambda T, x: _F(T).elu_(x * 1, 0.5), ACT[:1], op="F.elu_"),
    OpRecord("selu_", lambda T, x: T.selu_(x * 1), ACT[:1], op="selu_"),
    OpRecord("celu_", lambda T, x: T.celu_(x * 1, 1.5), ACT[:1], op="celu_"),
    OpRecord("leaky_relu_", lambda T, x: _F(T).leaky_relu_(x * 1, 0.3), ACT[:1],
             op="F.leaky_relu_"),
    OpRecord("hardtanh_", lambda T, x: _F(T).hardtanh_(x * 1, -0.5, 0.5), ACT[:1],
             op="F.hardtanh_"),
    OpRecord("rrelu_", lambda T, x: T.rrelu_(x * 1, 0.1, 0.2), ACT[:1], op="rrelu_"),
    OpRecord("threshold_", lambda T, x: T.threshold_(x * 1, 0.2, -1.0), ACT[:1],
             op="threshold_"),
]
