"""Every nn.Module a PyTorch user trains with gives the CPU's results on ``cuda``.

Each case builds its module on the CPU under a fixed seed (a build may run warm-up forwards, so
that an eval-mode BatchNorm has running statistics of its own), makes a twin with
``copy.deepcopy`` and moves it with ``.cuda()``. The same NumPy inputs go to both (``.cuda()``
for the twin; floating inputs require gradients unless the case says otherwise), the forward
runs, and a weighted sum of the floating outputs is back-propagated. On ``cuda:0`` the twin's
outputs (with their dtypes and ``grad_fn`` names), the inputs' gradients, every parameter and
its gradient, and every buffer must equal the CPU's: bit for bit on the device checker (its
arrays compute with NumPy), to float32 tolerance on a real GPU (cuDNN and cuBLAS sum in their
own orders).

Modules that draw random numbers in training (the dropouts, RReLU, FractionalMaxPool without
samples) are compared exactly in eval mode (or with fixed samples); in training only the
device, shape and dtype of their outputs and gradients are checked, as CUDA draws from its own
generator. The nn.utils functions (gradient clipping, parameter vectors) have tests of their
own at the end; weight and spectral normalisation (hooks and parametrizations) are cases.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pytest

import ember
from ember import nn

from .helpers import exact

CUDA = ember.device("cuda", 0)
RTOL, ATOL = 1e-4, 1e-5


@dataclass
class Case:
    name: str
    build: object  # () -> Module, called under ember.manual_seed(0)
    inputs: object  # rng -> list of NumPy arrays (tensors) and other arguments (as they are)
    call: object = None  # (module, *args) -> output; default module(*args)
    nondiff: tuple = ()  # positions of floating inputs that take no gradient (targets)
    random: bool = False  # draws random numbers: device, shape and dtype only
    after: object = None  # module -> module, applied to the CPU module and to its moved twin


def N(r, *shape, dtype=np.float32):
    """Standard normal floats of ``shape``."""
    return r.standard_normal(shape).astype(dtype)


def U(r, *shape, low=0.0, high=1.0):
    """Uniform float32s in [low, high)."""
    return r.uniform(low, high, shape).astype(np.float32)


def Idx(r, high, *shape, low=0):
    """int64 indices (class labels, embedding rows) in [low, high)."""
    return r.integers(low, high, shape).astype(np.int64)


def _warm(module, *shapes):
    """``module`` after one training forward per shape (running statistics of its own)."""
    r = np.random.default_rng(5)
    with ember.no_grad():
        for s in shapes:
            module(ember.tensor(N(r, *s) * 2 + 0.5))
    return module


CASES = []


def case(name, build, inputs, **kw):
    CASES.append(Case(name, build, inputs, **kw))


def pair(name, make, inputs, **kw):
    """A random-in-training module: exactly in eval mode, device/shape/dtype in training."""
    case(f"{name}-eval", lambda: make().eval(), inputs, **kw)
    case(f"{name}-train", make, inputs, random=True, **kw)


# ---- linear and convolution ----
case("Linear", lambda: nn.Linear(5, 4), lambda r: [N(r, 3, 5)])
case("Linear-nobias-3d", lambda: nn.Linear(5, 4, bias=False), lambda r: [N(r, 2, 3, 5)])
case("Linear-float64", lambda: nn.Linear(5, 4, dtype=ember.float64),
     lambda r: [N(r, 3, 5, dtype=np.float64)])
case("LazyLinear", lambda: nn.LazyLinear(4), lambda r: [N(r, 3, 5)])
case("Bilinear", lambda: nn.Bilinear(3, 4, 2), lambda r: [N(r, 5, 3), N(r, 5, 4)])
case("Conv1d", lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1), lambda r: [N(r, 2, 2, 9)])
case("Conv1d-groups-dilation", lambda: nn.Conv1d(4, 6, 3, groups=2, dilation=2, padding="same"),
     lambda r: [N(r, 2, 4, 9)])
case("Conv1d-circular", lambda: nn.Conv1d(2, 3, 3, padding=1, padding_mode="circular"),
     lambda r: [N(r, 2, 2, 7)])
case("Conv1d-unbatched", lambda: nn.Conv1d(2, 3, 3), lambda r: [N(r, 2, 7)])
case("Conv2d", lambda: nn.Conv2d(2, 3, 3, padding=1), lambda r: [N(r, 2, 2, 6, 6)])
case("Conv2d-stride-reflect", lambda: nn.Conv2d(2, 4, (3, 2), stride=2, padding=(1, 1),
                                                padding_mode="reflect", bias=False),
     lambda r: [N(r, 2, 2, 7, 6)])
case("Conv2d-replicate-groups", lambda: nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=4,
                                                  padding_mode="replicate"),
     lambda r: [N(r, 1, 4, 6, 5)])
case("LazyConv2d", lambda: nn.LazyConv2d(3, 2), lambda r: [N(r, 2, 2, 5, 5)])
case("Conv3d", lambda: nn.Conv3d(2, 3, 2, padding=(0, 1, 1)), lambda r: [N(r, 1, 2, 4, 4, 3)])
case("ConvTranspose1d", lambda: nn.ConvTranspose1d(2, 3, 3, stride=2, output_padding=1),
     lambda r: [N(r, 2, 2, 5)])
case("ConvTranspose2d", lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
     lambda r: [N(r, 2, 2, 4, 4)])
case("ConvTranspose2d-output_size", lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, groups=2),
     lambda r: [N(r, 1, 2, 3, 4)], call=lambda m, x: m(x, output_size=[8, 10]))
case("ConvTranspose3d", lambda: nn.ConvTranspose3d(2, 2, 2, stride=2, dilation=1),
     lambda r: [N(r, 1, 2, 3, 3, 2)])
case("LazyConvTranspose1d", lambda: nn.LazyConvTranspose1d(2, 3), lambda r: [N(r, 2, 3, 4)])
case("LazyConv1d", lambda: nn.LazyConv1d(3, 2, bias=False), lambda r: [N(r, 2, 2, 5)])
case("LazyConv3d", lambda: nn.LazyConv3d(2, 2), lambda r: [N(r, 1, 2, 3, 3, 3)])
case("LazyConvTranspose2d", lambda: nn.LazyConvTranspose2d(2, 2, stride=2),
     lambda r: [N(r, 1, 3, 3, 3)])
case("LazyConvTranspose3d", lambda: nn.LazyConvTranspose3d(2, 2), lambda r: [N(r, 1, 2, 2, 3, 2)])

# ---- pooling ----
case("MaxPool1d", lambda: nn.MaxPool1d(3, stride=2, padding=1), lambda r: [N(r, 2, 3, 9)])
case("MaxPool2d-indices", lambda: nn.MaxPool2d(3, stride=2, padding=1, return_indices=True),
     lambda r: [N(r, 2, 2, 7, 6)])
case("MaxPool2d-ceil-dilation", lambda: nn.MaxPool2d(2, dilation=2, ceil_mode=True),
     lambda r: [N(r, 1, 2, 7, 7)])
case("MaxPool3d", lambda: nn.MaxPool3d(2, return_indices=True), lambda r: [N(r, 1, 2, 4, 4, 5)])
case("AvgPool1d", lambda: nn.AvgPool1d(3, stride=2, padding=1), lambda r: [N(r, 2, 3, 9)])
case("AvgPool2d-ceil-nopad", lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                                  count_include_pad=False),
     lambda r: [N(r, 2, 2, 6, 7)])
case("AvgPool3d-divisor", lambda: nn.AvgPool3d(2, divisor_override=3),
     lambda r: [N(r, 1, 2, 4, 4, 4)])
case("LPPool1d", lambda: nn.LPPool1d(2, 3, stride=2), lambda r: [N(r, 2, 3, 9)])
case("LPPool2d", lambda: nn.LPPool2d(3, 2), lambda r: [N(r, 1, 2, 6, 6)])
case("LPPool3d", lambda: nn.LPPool3d(1.5, 2), lambda r: [U(r, 1, 2, 4, 4, 4, low=0.1)])
case("AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(4), lambda r: [N(r, 2, 3, 9)])
case("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((3, None)), lambda r: [N(r, 2, 2, 7, 5)])
case("AdaptiveAvgPool3d", lambda: nn.AdaptiveAvgPool3d(2), lambda r: [N(r, 1, 2, 5, 4, 3)])
case("AdaptiveMaxPool1d", lambda: nn.AdaptiveMaxPool1d(4, return_indices=True),
     lambda r: [N(r, 2, 3, 9)])
case("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d((3, 2)), lambda r: [N(r, 2, 2, 7, 5)])
case("AdaptiveMaxPool3d", lambda: nn.AdaptiveMaxPool3d(2, return_indices=True),
     lambda r: [N(r, 1, 2, 5, 4, 3)])
case("FractionalMaxPool2d-samples",
     lambda: nn.FractionalMaxPool2d(2, output_size=(3, 4), return_indices=True,
                                    _random_samples=ember.tensor([[[0.3, 0.7], [0.5, 0.1]]])),
     lambda r: [N(r, 1, 2, 7, 8)])
case("FractionalMaxPool3d-samples",
     lambda: nn.FractionalMaxPool3d(2, output_ratio=0.5,
                                    _random_samples=ember.tensor([[[0.2, 0.6, 0.9]] * 2])),
     lambda r: [N(r, 1, 2, 6, 6, 6)])
case("FractionalMaxPool2d-random", lambda: nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.5)),
     lambda r: [N(r, 2, 2, 8, 8)], random=True)
case("FractionalMaxPool3d-random", lambda: nn.FractionalMaxPool3d(2, output_size=3),
     lambda r: [N(r, 1, 2, 6, 6, 6)], random=True)
for _d in (1, 2, 3):
    case(f"MaxUnpool{_d}d",
         lambda d=_d: nn.ModuleDict({"pool": getattr(nn, f"MaxPool{d}d")(2, return_indices=True),
                                     "unpool": getattr(nn, f"MaxUnpool{d}d")(2)}),
         lambda r, d=_d: [N(r, 1, 2, *[4] * d)],
         call=lambda m, x: m["unpool"](*m["pool"](x)))

# ---- normalisation ----
for _d, _shape in ((1, (4, 3)), (1, (4, 3, 5)), (2, (2, 3, 4, 4)), (3, (2, 3, 2, 3, 3))):
    _bn = getattr(nn, f"BatchNorm{_d}d")
    _id = f"BatchNorm{_d}d-{len(_shape)}d"
    case(f"{_id}-train", lambda b=_bn: b(3), lambda r, s=_shape: [N(r, *s)])
    case(f"{_id}-eval", lambda b=_bn, s=_shape: _warm(b(3), s, s).eval(),
         lambda r, s=_shape: [N(r, *s)])
case("BatchNorm1d-cumulative", lambda: _warm(nn.BatchNorm1d(3, momentum=None), (6, 3)),
     lambda r: [N(r, 5, 3)])
case("BatchNorm2d-noaffine-nostats", lambda: nn.BatchNorm2d(3, affine=False,
                                                           track_running_stats=False),
     lambda r: [N(r, 2, 3, 3, 3)])
case("BatchNorm2d-nostats-eval", lambda: nn.BatchNorm2d(3, track_running_stats=False).eval(),
     lambda r: [N(r, 2, 3, 3, 3)])
case("BatchNorm2d-float64", lambda: nn.BatchNorm2d(3, dtype=ember.float64),
     lambda r: [N(r, 2, 3, 3, 3, dtype=np.float64)])
case("LazyBatchNorm2d", lambda: nn.LazyBatchNorm2d(), lambda r: [N(r, 2, 3, 3, 3)])
# (without a process group SyncBatchNorm is BatchNorm, in PyTorch too)
case("SyncBatchNorm-train", lambda: nn.SyncBatchNorm(3), lambda r: [N(r, 2, 3, 4)])
case("SyncBatchNorm-eval", lambda: _warm(nn.SyncBatchNorm(3), (2, 3, 4)).eval(),
     lambda r: [N(r, 2, 3, 4)])
case("SyncBatchNorm-converted", lambda: nn.SyncBatchNorm.convert_sync_batchnorm(
    nn.Sequential(nn.Conv2d(2, 3, 2), nn.BatchNorm2d(3))), lambda r: [N(r, 2, 2, 4, 4)])
case("LazyBatchNorm1d-float64", lambda: nn.LazyBatchNorm1d().double(),
     lambda r: [N(r, 4, 3, dtype=np.float64)])
case("LazyBatchNorm3d", lambda: nn.LazyBatchNorm3d(affine=False), lambda r: [N(r, 2, 2, 2, 3, 3)])
case("LayerNorm", lambda: nn.LayerNorm(5), lambda r: [N(r, 3, 5)])
case("LayerNorm-2d-noaffine", lambda: nn.LayerNorm((3, 5), elementwise_affine=False),
     lambda r: [N(r, 2, 3, 5)])
case("LayerNorm-nobias", lambda: nn.LayerNorm(5, bias=False), lambda r: [N(r, 2, 3, 5)])
case("GroupNorm", lambda: nn.GroupNorm(2, 4), lambda r: [N(r, 3, 4, 5)])
case("GroupNorm-noaffine", lambda: nn.GroupNorm(1, 4, affine=False), lambda r: [N(r, 2, 4, 3, 3)])
case("InstanceNorm1d", lambda: nn.InstanceNorm1d(3), lambda r: [N(r, 2, 3, 6)])
case("InstanceNorm2d-affine-stats", lambda: nn.InstanceNorm2d(3, affine=True,
                                                              track_running_stats=True),
     lambda r: [N(r, 2, 3, 4, 4)])
case("InstanceNorm2d-stats-eval",
     lambda: _warm(nn.InstanceNorm2d(3, track_running_stats=True), (2, 3, 4, 4)).eval(),
     lambda r: [N(r, 2, 3, 4, 4)])
case("InstanceNorm3d", lambda: nn.InstanceNorm3d(2, affine=True), lambda r: [N(r, 1, 2, 3, 3, 3)])
case("LazyInstanceNorm1d", lambda: nn.LazyInstanceNorm1d(affine=True), lambda r: [N(r, 2, 3, 6)])
case("LazyInstanceNorm2d", lambda: nn.LazyInstanceNorm2d(track_running_stats=True),
     lambda r: [N(r, 2, 3, 3, 4)])
case("LazyInstanceNorm3d", lambda: nn.LazyInstanceNorm3d(affine=True, track_running_stats=True),
     lambda r: [N(r, 1, 2, 3, 3, 3)])
case("RMSNorm", lambda: nn.RMSNorm(5), lambda r: [N(r, 3, 5)])
case("RMSNorm-2d-eps", lambda: nn.RMSNorm([3, 5], eps=1e-3), lambda r: [N(r, 2, 3, 5)])
case("LocalResponseNorm", lambda: nn.LocalResponseNorm(3), lambda r: [N(r, 2, 5, 4, 4)])
case("LocalResponseNorm-3d", lambda: nn.LocalResponseNorm(2, alpha=0.1, k=2.0),
     lambda r: [N(r, 2, 4, 6)])
case("CrossMapLRN2d", lambda: nn.CrossMapLRN2d(3), lambda r: [N(r, 2, 5, 4, 4)])

# ---- dropout ----
for _name in ("Dropout", "AlphaDropout"):
    pair(_name, lambda n=_name: getattr(nn, n)(0.4), lambda r: [N(r, 4, 6)])
pair("Dropout1d", lambda: nn.Dropout1d(0.5), lambda r: [N(r, 2, 4, 6)])
pair("Dropout2d", lambda: nn.Dropout2d(0.5), lambda r: [N(r, 2, 4, 3, 3)])
pair("Dropout3d", lambda: nn.Dropout3d(0.5), lambda r: [N(r, 2, 4, 2, 3, 3)])
pair("FeatureAlphaDropout", lambda: nn.FeatureAlphaDropout(0.5), lambda r: [N(r, 2, 4, 3, 3)])

# ---- embeddings ----
case("Embedding", lambda: nn.Embedding(10, 4), lambda r: [Idx(r, 10, 3, 5)])
case("Embedding-padding-scale", lambda: nn.Embedding(10, 4, padding_idx=2,
                                                     scale_grad_by_freq=True),
     lambda r: [np.array([[2, 3, 3, 9], [1, 2, 0, 3]])])
case("Embedding-max_norm", lambda: nn.Embedding(10, 4, max_norm=1.0),
     lambda r: [Idx(r, 10, 2, 6)])
case("EmbeddingBag-mean", lambda: nn.EmbeddingBag(10, 4), lambda r: [Idx(r, 10, 3, 4)])
case("EmbeddingBag-sum-offsets-weights", lambda: nn.EmbeddingBag(10, 4, mode="sum"),
     lambda r: [Idx(r, 10, 8), np.array([0, 3, 3, 6]), U(r, 8)],
     call=lambda m, x, o, w: m(x, o, per_sample_weights=w))
case("EmbeddingBag-max-padding", lambda: nn.EmbeddingBag(10, 4, mode="max", padding_idx=1),
     lambda r: [np.array([[1, 4, 4], [5, 1, 1], [0, 9, 3]])])
case("EmbeddingBag-last-offset", lambda: nn.EmbeddingBag(10, 4, include_last_offset=True),
     lambda r: [Idx(r, 10, 9), np.array([0, 2, 5, 9])])


# ---- recurrent ----
def _lens_sorted(m, x, h=None):
    packed = nn.utils.rnn.pack_padded_sequence(x, [5, 3, 2], batch_first=m.batch_first)
    out, state = m(packed) if h is None else m(packed, h)
    pad, lengths = nn.utils.rnn.pad_packed_sequence(out, batch_first=m.batch_first)
    return pad, state


def _lens_unsorted(m, x):
    packed = nn.utils.rnn.pack_padded_sequence(x, ember.tensor([2, 5, 4]),
                                               batch_first=m.batch_first, enforce_sorted=False)
    out, state = m(packed)
    return nn.utils.rnn.pad_packed_sequence(out, batch_first=m.batch_first,
                                            total_length=6)[0], state


for _rnn in ("RNN", "LSTM", "GRU"):
    _cls = getattr(nn, _rnn)
    _h = 2 if _rnn == "LSTM" else 1  # tensors in the initial state
    case(_rnn, lambda c=_cls: c(3, 4), lambda r: [N(r, 5, 2, 3)])
    case(f"{_rnn}-2layers-bidirectional", lambda c=_cls: c(3, 4, num_layers=2,
                                                          bidirectional=True),
         lambda r: [N(r, 5, 2, 3)])
    case(f"{_rnn}-batch_first-h0", lambda c=_cls: c(3, 4, batch_first=True, bias=False),
         (lambda r: [N(r, 2, 5, 3), N(r, 1, 2, 4), N(r, 1, 2, 4)]) if _h == 2 else
         (lambda r: [N(r, 2, 5, 3), N(r, 1, 2, 4)]),
         call=(lambda m, x, h, c: m(x, (h, c))) if _h == 2 else None)
    case(f"{_rnn}-unbatched", lambda c=_cls: c(3, 4, num_layers=2), lambda r: [N(r, 5, 3)])
    case(f"{_rnn}-packed", lambda c=_cls: c(3, 4), lambda r: [N(r, 5, 3, 3)],
         call=_lens_sorted)
    case(f"{_rnn}-packed-bidirectional-batch_first",
         lambda c=_cls: c(3, 4, num_layers=2, bidirectional=True, batch_first=True),
         lambda r: [N(r, 3, 6, 3)], call=_lens_unsorted)
    case(f"{_rnn}-packed-h0", lambda c=_cls: c(3, 4, bidirectional=True),
         (lambda r: [N(r, 5, 3, 3), N(r, 2, 3, 4), N(r, 2, 3, 4)]) if _h == 2 else
         (lambda r: [N(r, 5, 3, 3), N(r, 2, 3, 4)]),
         call=(lambda m, x, h, c: _lens_sorted(m, x, (h, c))) if _h == 2 else _lens_sorted)
    pair(f"{_rnn}-dropout", lambda c=_cls: c(3, 4, num_layers=2, dropout=0.5),
         lambda r: [N(r, 4, 2, 3)])
case("RNN-relu", lambda: nn.RNN(3, 4, nonlinearity="relu", num_layers=2),
     lambda r: [N(r, 5, 2, 3)])
case("LSTM-proj", lambda: nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True),
     lambda r: [N(r, 4, 2, 3)])
case("LSTM-proj-packed", lambda: nn.LSTM(3, 5, proj_size=2), lambda r: [N(r, 5, 3, 3)],
     call=_lens_sorted)
case("LSTM-float64", lambda: nn.LSTM(3, 4, dtype=ember.float64),
     lambda r: [N(r, 4, 2, 3, dtype=np.float64)])
case("RNNCell", lambda: nn.RNNCell(3, 4), lambda r: [N(r, 2, 3), N(r, 2, 4)])
case("RNNCell-relu-noh", lambda: nn.RNNCell(3, 4, nonlinearity="relu"), lambda r: [N(r, 2, 3)])
case("LSTMCell", lambda: nn.LSTMCell(3, 4), lambda r: [N(r, 2, 3), N(r, 2, 4), N(r, 2, 4)],
     call=lambda m, x, h, c: m(x, (h, c)))
case("LSTMCell-unbatched", lambda: nn.LSTMCell(3, 4, bias=False), lambda r: [N(r, 3)])
case("GRUCell", lambda: nn.GRUCell(3, 4), lambda r: [N(r, 2, 3), N(r, 2, 4)])


# ---- attention and transformers ----
def _causal(n):
    return np.triu(np.ones((n, n), dtype=bool), 1)


case("MultiheadAttention", lambda: nn.MultiheadAttention(8, 2),
     lambda r: [N(r, 3, 2, 8), N(r, 4, 2, 8), N(r, 4, 2, 8)])
case("MultiheadAttention-self-bool-mask", lambda: nn.MultiheadAttention(8, 2),
     lambda r: [N(r, 4, 2, 8), _causal(4)], call=lambda m, x, mask: m(x, x, x, attn_mask=mask))
case("MultiheadAttention-float-mask-padding",
     lambda: nn.MultiheadAttention(8, 2, batch_first=True),
     lambda r: [N(r, 2, 3, 8), N(r, 2, 4, 8), N(r, 3, 4),
                np.array([[False, False, True, True], [False, False, False, True]])],
     nondiff=(2,), call=lambda m, q, k, mask, pad: m(q, k, k, attn_mask=mask,
                                                     key_padding_mask=pad))
case("MultiheadAttention-causal-noweights", lambda: nn.MultiheadAttention(8, 4, bias=False),
     lambda r: [N(r, 4, 2, 8), _causal(4)],
     call=lambda m, x, mask: m(x, x, x, attn_mask=mask, is_causal=True, need_weights=False))
case("MultiheadAttention-kdim-biaskv-zeroattn",
     lambda: nn.MultiheadAttention(8, 2, kdim=5, vdim=6, add_bias_kv=True, add_zero_attn=True),
     lambda r: [N(r, 3, 2, 8), N(r, 4, 2, 5), N(r, 4, 2, 6),
                np.array([[False, True, False, False], [False, False, False, True]])],
     call=lambda m, q, k, v, pad: m(q, k, v, key_padding_mask=pad, average_attn_weights=False))
case("MultiheadAttention-unbatched", lambda: nn.MultiheadAttention(8, 2),
     lambda r: [N(r, 3, 8), N(r, 4, 8), N(r, 4, 8)])
case("MultiheadAttention-eval", lambda: nn.MultiheadAttention(8, 2, batch_first=True).eval(),
     lambda r: [N(r, 2, 3, 8)], call=lambda m, x: m(x, x, x))
pair("MultiheadAttention-dropout", lambda: nn.MultiheadAttention(8, 2, dropout=0.5),
     lambda r: [N(r, 3, 2, 8)], call=lambda m, x: m(x, x, x))


def _sdpa(**kw):
    def call(m, q, k, v, *mask):
        return nn.functional.scaled_dot_product_attention(q, k, v, *mask, **kw)
    return call


def _qkv(r, *lead, heads_kv=None):
    kv = (*lead[:-1], heads_kv or lead[-1])
    return [N(r, *lead, 4, 3), N(r, *kv, 5, 3), N(r, *kv, 5, 2)]


# F.scaled_dot_product_attention itself (what MultiheadAttention and the transformers call)
case("sdpa-causal-4d", nn.Identity, lambda r: _qkv(r, 2, 2), call=_sdpa(is_causal=True))
case("sdpa-causal-3d", nn.Identity, lambda r: _qkv(r, 2), call=_sdpa(is_causal=True, scale=0.3))
case("sdpa-bool-mask", nn.Identity,
     lambda r: [*_qkv(r, 2, 2), r.uniform(size=(2, 1, 4, 5)) > 0.4], call=_sdpa())
case("sdpa-bool-mask-dead-rows", nn.Identity,
     lambda r: [*_qkv(r, 2), np.array([[True] * 5, [False] * 5, [True, False] * 2 + [True],
                                       [False] * 5])], call=_sdpa())
case("sdpa-float-mask-grad", nn.Identity, lambda r: [*_qkv(r, 2, 2), N(r, 4, 5)], call=_sdpa())
case("sdpa-gqa", nn.Identity, lambda r: _qkv(r, 1, 4, heads_kv=2),
     call=_sdpa(enable_gqa=True, is_causal=True))
pair("sdpa-dropout", nn.Identity, lambda r: _qkv(r, 2, 2),
     call=lambda m, q, k, v: nn.functional.scaled_dot_product_attention(
         q, k, v, dropout_p=0.5 if m.training else 0.0))

_T = dict(dim_feedforward=16, dropout=0.0)
case("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(8, 2, **_T),
     lambda r: [N(r, 4, 2, 8)])
case("TransformerEncoderLayer-masks-gelu-normfirst",
     lambda: nn.TransformerEncoderLayer(8, 2, activation="gelu", norm_first=True,
                                        batch_first=True, **_T),
     lambda r: [N(r, 2, 4, 8), _causal(4), np.array([[False] * 4, [False, False, True, True]])],
     call=lambda m, x, mask, pad: m(x, src_mask=mask, src_key_padding_mask=pad))
case("TransformerEncoderLayer-causal", lambda: nn.TransformerEncoderLayer(8, 2, **_T),
     lambda r: [N(r, 4, 2, 8)],
     call=lambda m, x: m(x, src_mask=nn.Transformer.generate_square_subsequent_mask(
         4, device=x.device), is_causal=True))
case("TransformerEncoderLayer-eval", lambda: nn.TransformerEncoderLayer(8, 2, **_T).eval(),
     lambda r: [N(r, 4, 2, 8)])
pair("TransformerEncoderLayer-dropout",
     lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.3),
     lambda r: [N(r, 4, 2, 8)])
case("TransformerEncoder", lambda: nn.TransformerEncoder(
    nn.TransformerEncoderLayer(8, 2, batch_first=True, **_T), 2, norm=nn.LayerNorm(8),
    enable_nested_tensor=False),
     lambda r: [N(r, 2, 4, 8), np.array([[False] * 4, [False, True, True, True]])],
     call=lambda m, x, pad: m(x, src_key_padding_mask=pad))
case("TransformerDecoderLayer", lambda: nn.TransformerDecoderLayer(8, 2, **_T),
     lambda r: [N(r, 3, 2, 8), N(r, 4, 2, 8), _causal(3)],
     call=lambda m, t, mem, mask: m(t, mem, tgt_mask=mask))
case("TransformerDecoderLayer-normfirst-padding",
     lambda: nn.TransformerDecoderLayer(8, 2, norm_first=True, batch_first=True,
                                        activation=ember.nn.functional.gelu, **_T),
     lambda r: [N(r, 2, 3, 8), N(r, 2, 4, 8), np.array([[False] * 3, [False, True, True]]),
                np.array([[False] * 4, [False, False, True, True]])],
     call=lambda m, t, mem, tp, mp: m(t, mem, tgt_key_padding_mask=tp,
                                      memory_key_padding_mask=mp, tgt_is_causal=False))
case("TransformerDecoder", lambda: nn.TransformerDecoder(
    nn.TransformerDecoderLayer(8, 2, **_T), 2, norm=nn.LayerNorm(8)),
     lambda r: [N(r, 3, 2, 8), N(r, 4, 2, 8)],
     call=lambda m, t, mem: m(t, mem, tgt_mask=nn.Transformer.generate_square_subsequent_mask(
         3, device=t.device), tgt_is_causal=True))
case("Transformer", lambda: nn.Transformer(8, 2, 1, 1, **_T),
     lambda r: [N(r, 4, 2, 8), N(r, 3, 2, 8)],
     call=lambda m, s, t: m(s, t, tgt_mask=m.generate_square_subsequent_mask(3, device=t.device)))
case("Transformer-batch_first-masks", lambda: nn.Transformer(8, 2, 2, 1, batch_first=True, **_T),
     lambda r: [N(r, 2, 4, 8), N(r, 2, 3, 8), np.array([[False] * 4, [False, False, False, True]]),
                N(r, 3, 3)],
     nondiff=(3,), call=lambda m, s, t, sp, tm: m(s, t, src_key_padding_mask=sp, tgt_mask=tm,
                                                 memory_key_padding_mask=sp))

# ---- activations ----
for _name, _args in (
        ("CELU", (0.7,)), ("ELU", ()), ("ELU", (0.5,)), ("GELU", ()), ("GELU", ("tanh",)),
        ("GLU", ()), ("Hardshrink", (0.3,)), ("Hardsigmoid", ()), ("Hardswish", ()),
        ("Hardtanh", (-0.5, 0.7)), ("LeakyReLU", (0.2,)), ("LogSigmoid", ()),
        ("LogSoftmax", (1,)), ("Mish", ()), ("PReLU", ()), ("PReLU", (4,)), ("ReLU", ()),
        ("ReLU6", ()), ("SELU", ()), ("SiLU", ()), ("Sigmoid", ()), ("Softmax", (1,)),
        ("Softmax", (-1,)), ("Softmax2d", ()), ("Softmin", (1,)), ("Softplus", ()),
        ("Softplus", (2.0, 0.5)), ("Softshrink", (0.4,)), ("Softsign", ()), ("Tanh", ()),
        ("Tanhshrink", ()), ("Threshold", (0.1, -2.0)), ("Identity", ())):
    case(f"{_name}{_args}", lambda n=_name, a=_args: getattr(nn, n)(*a),
         lambda r: [N(r, 2, 4, 3, 4) * 3])
case("ReLU-float64-inplace", lambda: nn.Sequential(nn.Linear(4, 4, dtype=ember.float64),
                                                   nn.ReLU(inplace=True)),
     lambda r: [N(r, 3, 4, dtype=np.float64)])
pair("RReLU", lambda: nn.RReLU(0.1, 0.3), lambda r: [N(r, 3, 5)])


# ---- losses ----
def _loss(name, make, inputs, **kw):
    case(name, make, inputs, **kw)


for _red in ("mean", "sum", "none"):
    _loss(f"L1Loss-{_red}", lambda red=_red: nn.L1Loss(reduction=red),
          lambda r: [N(r, 3, 4), N(r, 3, 4)])
    _loss(f"MSELoss-{_red}", lambda red=_red: nn.MSELoss(reduction=red),
          lambda r: [N(r, 3, 4), N(r, 3, 4)])
    _loss(f"CrossEntropyLoss-{_red}", lambda red=_red: nn.CrossEntropyLoss(reduction=red),
          lambda r: [N(r, 4, 5), Idx(r, 5, 4)])
    _loss(f"NLLLoss-{_red}", lambda red=_red: nn.NLLLoss(reduction=red),
          lambda r: [N(r, 4, 5), Idx(r, 5, 4)], call=lambda m, x, t: m(x.log_softmax(1), t))
    _loss(f"BCELoss-{_red}", lambda red=_red: nn.BCELoss(reduction=red),
          lambda r: [N(r, 3, 4), U(r, 3, 4)], nondiff=(1,),
          call=lambda m, x, t: m(x.sigmoid(), t))
    _loss(f"SmoothL1Loss-{_red}", lambda red=_red: nn.SmoothL1Loss(reduction=red, beta=0.5),
          lambda r: [N(r, 3, 4), N(r, 3, 4)])
_loss("CrossEntropyLoss-weight-ignore-smoothing",
      lambda: nn.CrossEntropyLoss(weight=ember.tensor([1.0, 2.0, 0.5, 1.5, 1.0]),
                                  ignore_index=2, label_smoothing=0.1),
      lambda r: [N(r, 6, 5), np.array([0, 2, 4, 1, 2, 3])])
_loss("CrossEntropyLoss-probabilities", lambda: nn.CrossEntropyLoss(label_smoothing=0.2),
      lambda r: [N(r, 4, 5), U(r, 4, 5)], nondiff=(1,))
_loss("CrossEntropyLoss-spatial", lambda: nn.CrossEntropyLoss(),
      lambda r: [N(r, 2, 4, 3, 3), Idx(r, 4, 2, 3, 3)])
_loss("CrossEntropyLoss-unbatched", lambda: nn.CrossEntropyLoss(), lambda r: [N(r, 5), Idx(r, 5)],
      call=lambda m, x, t: m(x, t[()]))
_loss("NLLLoss-weight-ignore", lambda: nn.NLLLoss(weight=ember.tensor([1.0, 0.5, 2.0]),
                                                  ignore_index=1),
      lambda r: [N(r, 5, 3), np.array([0, 1, 2, 2, 1])])
_loss("NLLLoss2d", lambda: nn.NLLLoss2d(), lambda r: [N(r, 2, 3, 2, 2), Idx(r, 3, 2, 2, 2)],
      call=lambda m, x, t: m(x.log_softmax(1), t))
_loss("BCELoss-weight", lambda: nn.BCELoss(weight=ember.tensor([0.5, 1.0, 2.0, 1.0])),
      lambda r: [N(r, 3, 4), U(r, 3, 4)], nondiff=(1,), call=lambda m, x, t: m(x.sigmoid(), t))
_loss("BCEWithLogitsLoss", lambda: nn.BCEWithLogitsLoss(), lambda r: [N(r, 3, 4), U(r, 3, 4)])
_loss("BCEWithLogitsLoss-weights", lambda: nn.BCEWithLogitsLoss(
    weight=ember.tensor([0.5, 1.0, 2.0, 1.0]), pos_weight=ember.tensor([1.0, 3.0, 0.5, 2.0]),
    reduction="sum"), lambda r: [N(r, 3, 4) * 4, U(r, 3, 4)])
_loss("KLDivLoss", lambda: nn.KLDivLoss(reduction="batchmean"),
      lambda r: [N(r, 3, 4), U(r, 3, 4, low=0.05)], call=lambda m, x, t: m(x.log_softmax(1), t))
_loss("KLDivLoss-log_target", lambda: nn.KLDivLoss(reduction="none", log_target=True),
      lambda r: [N(r, 3, 4), N(r, 3, 4)])
_loss("HuberLoss", lambda: nn.HuberLoss(delta=0.7), lambda r: [N(r, 3, 4), N(r, 3, 4)])
_loss("SoftMarginLoss", lambda: nn.SoftMarginLoss(),
      lambda r: [N(r, 3, 4), np.sign(N(r, 3, 4))], nondiff=(1,))
_loss("PoissonNLLLoss", lambda: nn.PoissonNLLLoss(), lambda r: [N(r, 3, 4), U(r, 3, 4, high=3)])
_loss("PoissonNLLLoss-full-nolog", lambda: nn.PoissonNLLLoss(log_input=False, full=True),
      lambda r: [U(r, 3, 4, low=0.5, high=2), U(r, 3, 4, high=4).round()])
_loss("GaussianNLLLoss", lambda: nn.GaussianNLLLoss(),
      lambda r: [N(r, 3, 4), N(r, 3, 4), U(r, 3, 4, low=0.2)])
_loss("GaussianNLLLoss-full-shared-var", lambda: nn.GaussianNLLLoss(full=True, reduction="sum"),
      lambda r: [N(r, 3, 4), N(r, 3, 4), U(r, 3, 1, low=0.2)])
_loss("CosineEmbeddingLoss", lambda: nn.CosineEmbeddingLoss(margin=0.2),
      lambda r: [N(r, 4, 5), N(r, 4, 5), np.array([1, -1, 1, -1])])
_loss("HingeEmbeddingLoss", lambda: nn.HingeEmbeddingLoss(margin=0.5),
      lambda r: [N(r, 3, 4), np.sign(N(r, 3, 4))], nondiff=(1,))
_loss("MarginRankingLoss", lambda: nn.MarginRankingLoss(margin=0.1),
      lambda r: [N(r, 6), N(r, 6), np.sign(N(r, 6))])
_loss("MultiLabelMarginLoss", lambda: nn.MultiLabelMarginLoss(),
      lambda r: [N(r, 3, 4), np.array([[3, 0, -1, 1], [1, 2, 3, -1], [0, -1, 2, 1]])])
_loss("MultiLabelSoftMarginLoss", lambda: nn.MultiLabelSoftMarginLoss(
    weight=ember.tensor([1.0, 0.5, 2.0, 1.0])),
      lambda r: [N(r, 3, 4), (U(r, 3, 4) > 0.5).astype(np.float32)], nondiff=(1,))
_loss("MultiMarginLoss", lambda: nn.MultiMarginLoss(), lambda r: [N(r, 4, 5), Idx(r, 5, 4)])
_loss("MultiMarginLoss-p2-weight", lambda: nn.MultiMarginLoss(
    p=2, margin=0.5, weight=ember.tensor([1.0, 2.0, 0.5, 1.0, 1.5])),
      lambda r: [N(r, 4, 5), Idx(r, 5, 4)])
_loss("TripletMarginLoss", lambda: nn.TripletMarginLoss(margin=0.5, swap=True),
      lambda r: [N(r, 4, 5), N(r, 4, 5), N(r, 4, 5)])
_loss("TripletMarginLoss-p1", lambda: nn.TripletMarginLoss(p=1, reduction="none"),
      lambda r: [N(r, 4, 5), N(r, 4, 5), N(r, 4, 5)])
_loss("TripletMarginWithDistanceLoss", lambda: nn.TripletMarginWithDistanceLoss(
    distance_function=nn.CosineSimilarity(), margin=0.3),
      lambda r: [N(r, 4, 5), N(r, 4, 5), N(r, 4, 5)])
_loss("TripletMarginWithDistanceLoss-default", lambda: nn.TripletMarginWithDistanceLoss(),
      lambda r: [N(r, 4, 5), N(r, 4, 5), N(r, 4, 5)])
_loss("CTCLoss", lambda: nn.CTCLoss(),
      lambda r: [N(r, 8, 2, 5), np.array([[1, 2, 2], [3, 4, 1]]), np.array([8, 6]),
                 np.array([3, 2])],
      call=lambda m, x, t, il, tl: m(x.log_softmax(2), t, il, tl))
_loss("CTCLoss-concatenated-sum-zero_infinity",
      lambda: nn.CTCLoss(blank=4, reduction="sum", zero_infinity=True),
      lambda r: [N(r, 6, 3, 5), np.array([0, 1, 2, 3, 3, 1, 0, 2, 1, 3, 3]),
                 np.array([6, 5, 3]), np.array([3, 4, 4])],
      call=lambda m, x, t, il, tl: m(x.log_softmax(2), t, il, tl))
_loss("AdaptiveLogSoftmaxWithLoss", lambda: nn.AdaptiveLogSoftmaxWithLoss(6, 10, [4, 7],
                                                                          div_value=2.0),
      lambda r: [N(r, 5, 6), np.array([0, 5, 9, 3, 7])],
      call=lambda m, x, t: (*m(x, t), m.log_prob(x), m.predict(x)))

# ---- resampling, shuffles, folds, shapes, padding, distances ----
for _mode, _kw, _shape in (
        ("nearest", {"scale_factor": 2}, (1, 2, 3, 4)),
        ("nearest-exact", {"size": (5, 7)}, (1, 2, 3, 4)),
        ("linear", {"scale_factor": 1.5, "align_corners": True}, (2, 2, 5)),
        ("bilinear", {"size": (5, 6)}, (1, 2, 3, 4)),
        ("bilinear", {"scale_factor": 2, "align_corners": True}, (1, 2, 3, 4)),
        ("bicubic", {"scale_factor": (2, 1.5)}, (1, 2, 3, 4)),
        ("trilinear", {"scale_factor": 2}, (1, 1, 2, 3, 2)),
        ("nearest", {"size": 5}, (1, 2, 2, 3, 2))):
    case(f"Upsample-{_mode}-{sorted(_kw)}-{len(_shape)}d",
         lambda mode=_mode, kw=_kw: nn.Upsample(mode=mode, **kw),
         lambda r, s=_shape: [N(r, *s)])
case("UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(scale_factor=3),
     lambda r: [N(r, 1, 2, 2, 3)])
case("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(size=(4, 5)),
     lambda r: [N(r, 1, 2, 2, 3)])
case("PixelShuffle", lambda: nn.PixelShuffle(2), lambda r: [N(r, 2, 8, 2, 3)])
case("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), lambda r: [N(r, 2, 2, 4, 6)])
case("ChannelShuffle", lambda: nn.ChannelShuffle(2), lambda r: [N(r, 2, 6, 2, 2)])
case("Unfold", lambda: nn.Unfold((2, 3), dilation=1, padding=1, stride=(1, 2)),
     lambda r: [N(r, 2, 3, 4, 5)])
case("Fold", lambda: nn.Fold((4, 5), (2, 2), stride=1), lambda r: [N(r, 2, 8, 12)])
case("Fold-unbatched-dilation", lambda: nn.Fold((5, 5), 2, dilation=2, padding=1),
     lambda r: [N(r, 4, 25)])
case("Flatten", lambda: nn.Flatten(), lambda r: [N(r, 2, 3, 4)])
case("Flatten-dims", lambda: nn.Flatten(0, 1), lambda r: [N(r, 2, 3, 4)])
case("Unflatten", lambda: nn.Unflatten(1, (2, 3)), lambda r: [N(r, 4, 6, 2)])
for _d in (1, 2, 3):
    _shape = (1, 2) + (4, 5, 3)[:_d]
    _pad = (1, 2, 2, 1, 0, 1)[:2 * _d]
    for _name in ("ConstantPad", "ZeroPad", "ReflectionPad", "ReplicationPad", "CircularPad"):
        _args = (_pad, 0.5) if _name == "ConstantPad" else (_pad,)
        case(f"{_name}{_d}d", lambda n=f"{_name}{_d}d", a=_args: getattr(nn, n)(*a),
             lambda r, s=_shape: [N(r, *s)])
case("ZeroPad2d-negative", lambda: nn.ZeroPad2d((-1, 2, 0, -1)), lambda r: [N(r, 1, 2, 4, 5)])
case("ReflectionPad2d-int", lambda: nn.ReflectionPad2d(2), lambda r: [N(r, 2, 4, 5)])
case("CosineSimilarity", lambda: nn.CosineSimilarity(dim=1), lambda r: [N(r, 3, 5), N(r, 3, 5)])
case("CosineSimilarity-broadcast", lambda: nn.CosineSimilarity(dim=-1, eps=1e-3),
     lambda r: [N(r, 2, 3, 5), N(r, 3, 5)])
case("PairwiseDistance", lambda: nn.PairwiseDistance(), lambda r: [N(r, 3, 5), N(r, 3, 5)])
case("PairwiseDistance-p1-keepdim", lambda: nn.PairwiseDistance(p=1.0, keepdim=True),
     lambda r: [N(r, 3, 5), N(r, 1, 5)])
case("PairwiseDistance-inf", lambda: nn.PairwiseDistance(p=float("inf")),
     lambda r: [N(r, 3, 5), N(r, 3, 5)])


# ---- containers ----
case("Sequential", lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2)),
     lambda r: [N(r, 2, 2, 5, 5)])


def _run_list(m, x):
    for layer in m:
        x = layer(x)
    return x


case("ModuleList", lambda: nn.ModuleList([nn.Linear(4, 5), nn.Tanh(), nn.LayerNorm(5),
                                          nn.Linear(5, 2)]),
     lambda r: [N(r, 3, 4)], call=_run_list)
case("ModuleDict", lambda: nn.ModuleDict({"enc": nn.Linear(4, 3), "act": nn.GELU(),
                                          "dec": nn.Linear(3, 4)}),
     lambda r: [N(r, 3, 4)], call=lambda m, x: m["dec"](m["act"](m["enc"](x))))
case("ParameterList", lambda: nn.ParameterList([nn.Parameter(ember.randn(4, 3)),
                                                nn.Parameter(ember.randn(3))]),
     lambda r: [N(r, 2, 4)], call=lambda m, x: x @ m[0] + m[1])
case("ParameterDict", lambda: nn.ParameterDict({"w": nn.Parameter(ember.randn(4, 3)),
                                                "b": nn.Parameter(ember.randn(3))}),
     lambda r: [N(r, 2, 4)], call=lambda m, x: ember.addmm(m["b"], x, m["w"]))


# ---- weight and spectral normalisation ----
def _conv_t():
    return nn.ConvTranspose2d(2, 3, 2)


# (a module with weight_norm's hook cannot be deep-copied, in PyTorch too: the hook goes on
# after the move)
case("weight_norm-hook", lambda: nn.Linear(4, 3), lambda r: [N(r, 2, 4)],
     after=nn.utils.weight_norm)
case("weight_norm-hook-dim-None", lambda: nn.Conv1d(2, 3, 2), lambda r: [N(r, 2, 2, 5)],
     after=lambda m: nn.utils.weight_norm(m, dim=None))
case("spectral_norm-hook", lambda: nn.utils.spectral_norm(nn.Linear(4, 3), n_power_iterations=2),
     lambda r: [N(r, 2, 4)])
case("spectral_norm-hook-eval", lambda: _warm(nn.utils.spectral_norm(nn.Linear(4, 3)),
                                              (2, 4)).eval(),
     lambda r: [N(r, 2, 4)])
case("spectral_norm-hook-convtranspose", lambda: nn.utils.spectral_norm(_conv_t()),
     lambda r: [N(r, 1, 2, 3, 3)])
case("parametrizations.weight_norm",
     lambda: nn.utils.parametrizations.weight_norm(nn.Linear(4, 3)), lambda r: [N(r, 2, 4)])
case("parametrizations.weight_norm-conv-dim1",
     lambda: nn.utils.parametrizations.weight_norm(nn.Conv2d(2, 3, 2), dim=1),
     lambda r: [N(r, 1, 2, 3, 3)])
case("parametrizations.spectral_norm",
     lambda: nn.utils.parametrizations.spectral_norm(nn.Linear(4, 3), n_power_iterations=3),
     lambda r: [N(r, 2, 4)])
case("parametrizations.spectral_norm-eval",
     lambda: _warm(nn.utils.parametrizations.spectral_norm(nn.Conv2d(2, 3, 2)),
                   (1, 2, 3, 3)).eval(),
     lambda r: [N(r, 1, 2, 3, 3)])
case("parametrizations.orthogonal",
     lambda: nn.utils.parametrizations.orthogonal(nn.Linear(4, 3)), lambda r: [N(r, 2, 4)])
case("parametrizations.orthogonal-matrix_exp",
     lambda: nn.utils.parametrizations.orthogonal(nn.Linear(3, 3)), lambda r: [N(r, 2, 3)])
case("parametrizations.orthogonal-cayley",
     lambda: nn.utils.parametrizations.orthogonal(nn.Linear(3, 5), orthogonal_map="cayley"),
     lambda r: [N(r, 2, 3)])
case("parametrizations.orthogonal-householder-no-trivialization",
     lambda: nn.utils.parametrizations.orthogonal(
         nn.Linear(5, 3), orthogonal_map="householder", use_trivialization=False),
     lambda r: [N(r, 2, 5)])


class _Symmetric(nn.Module):
    def forward(self, w):
        return w.triu() + w.triu(1).transpose(0, 1)


def _param_sym():
    m = nn.Linear(3, 3)
    nn.utils.parametrize.register_parametrization(m, "weight", _Symmetric())
    return m


case("parametrize-custom", _param_sym, lambda r: [N(r, 2, 3)])
case("parametrize-cached", _param_sym, lambda r: [N(r, 2, 3)],
     call=lambda m, x: _cached(m, x))


def _cached(m, x):
    with nn.utils.parametrize.cached():
        return m(x) + m(x * 2)


# ---- the comparison ----
def _flat(x):
    if isinstance(x, ember.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _flat(v)]
    return []


def _same(cpu, dev, what):
    assert dev.device == CUDA, f"{what}: on {dev.device}, not cuda:0"
    assert dev.dtype == cpu.dtype, f"{what}: dtype {dev.dtype} != {cpu.dtype}"
    assert tuple(dev.shape) == tuple(cpu.shape), f"{what}: shape {dev.shape} != {cpu.shape}"
    got, want = dev.detach().cpu().numpy(), cpu.detach().numpy()
    if exact() or got.dtype.kind not in "fc":
        assert np.array_equal(got, want, equal_nan=got.dtype.kind in "fc"), \
            f"{what}: values differ from the CPU's"
    else:
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


def _alike(cpu, dev, what):
    """A random module's result: where it lives, its shape and dtype."""
    assert dev.device == CUDA, f"{what}: on {dev.device}, not cuda:0"
    assert dev.dtype == cpu.dtype and tuple(dev.shape) == tuple(cpu.shape), what


def _inputs(c, arrays, device):
    out = []
    for k, a in enumerate(arrays):
        if not isinstance(a, np.ndarray):
            out.append(a)
            continue
        t = ember.tensor(a)
        if device == "cuda":
            t = t.cuda()
        if a.dtype.kind == "f" and k not in c.nondiff:
            t.requires_grad_()
        out.append(t)
    return out


def _forward_backward(c, module, arrays, device):
    args = _inputs(c, arrays, device)
    out = c.call(module, *args) if c.call is not None else module(*args)
    outs = _flat(out)
    diff = [o for o in outs if o.requires_grad]
    if diff:
        rng = np.random.default_rng(1)
        loss = sum((o * ember.tensor(rng.uniform(0.5, 1.5, tuple(o.shape)), dtype=o.dtype,
                                     device=o.device)).sum() for o in diff)
        loss.backward()
    grads = [a.grad for a in args if isinstance(a, ember.Tensor) and a.requires_grad]
    return outs, grads


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_module_on_cuda_matches_cpu(c):
    ember.manual_seed(0)
    cpu_m = c.build()
    dev_m = copy.deepcopy(cpu_m).cuda()
    if c.after is not None:
        cpu_m, dev_m = c.after(cpu_m), c.after(dev_m)
    arrays = c.inputs(np.random.default_rng(0))
    cpu_out, cpu_g = _forward_backward(c, cpu_m, arrays, "cpu")
    dev_out, dev_g = _forward_backward(c, dev_m, arrays, "cuda")
    check = _alike if c.random else _same
    assert len(cpu_out) == len(dev_out) > 0
    for k, (co, do) in enumerate(zip(cpu_out, dev_out)):
        check(co, do, f"output {k}")
        assert type(do.grad_fn).__name__ == type(co.grad_fn).__name__, f"output {k}"
    for k, (cg, dg) in enumerate(zip(cpu_g, dev_g)):
        assert (cg is None) == (dg is None), f"input grad {k}"
        if cg is not None:
            check(cg, dg, f"input grad {k}")
    cpu_p = dict(cpu_m.named_parameters())
    dev_p = dict(dev_m.named_parameters())
    assert cpu_p.keys() == dev_p.keys()
    for name, dp in dev_p.items():
        cp = cpu_p[name]
        _same(cp, dp, name)  # (a random module does not change its parameters)
        assert (cp.grad is None) == (dp.grad is None), f"{name}.grad"
        if cp.grad is not None:
            check(cp.grad, dp.grad, f"{name}.grad")
    cpu_b = dict(cpu_m.named_buffers())
    dev_b = dict(dev_m.named_buffers())
    assert cpu_b.keys() == dev_b.keys()
    for name, db in dev_b.items():
        check(cpu_b[name], db, f"buffer {name}")


def test_cases_cover_the_trainable_modules():
    """Every public module class a user trains with has a case (a new class needs one)."""
    import inspect

    not_here = {"Module", "Container", "RNNBase", "RNNCellBase", "DataParallel"}
    covered = {c.name.split("-")[0].split("(")[0] for c in CASES}
    missing = [n for n, cls in vars(nn).items()
               if inspect.isclass(cls) and issubclass(cls, nn.Module) and n not in not_here
               and n not in covered]
    assert not missing, missing


# ---- modules built on the device: device= (with dtype=) on every class that takes it ----
_F = {"dim_feedforward": 16, "dropout": 0.0}
CONSTRUCTORS = {  # name: (factory taking device= and dtype=, a forward's input shape or None)
    "Linear": (lambda **f: nn.Linear(3, 2, **f), (2, 3)),
    "LazyLinear": (lambda **f: nn.LazyLinear(2, **f), (2, 3)),
    "Bilinear": (lambda **f: nn.Bilinear(3, 3, 2, **f), None),
    "PReLU": (lambda **f: nn.PReLU(3, **f), (2, 3)),
    "Embedding": (lambda **f: nn.Embedding(5, 2, padding_idx=0, **f), None),
    "EmbeddingBag": (lambda **f: nn.EmbeddingBag(5, 2, **f), None),
    "LayerNorm": (lambda **f: nn.LayerNorm(3, **f), (2, 3)),
    "GroupNorm": (lambda **f: nn.GroupNorm(1, 3, **f), (2, 3, 4)),
    "RMSNorm": (lambda **f: nn.RMSNorm(3, **f), (2, 3)),
    "SyncBatchNorm": (lambda **f: nn.SyncBatchNorm(3, **f), (2, 3, 4)),
    "AdaptiveLogSoftmaxWithLoss": (
        lambda **f: nn.AdaptiveLogSoftmaxWithLoss(4, 6, [2], head_bias=True, **f), None),
    "MultiheadAttention": (
        lambda **f: nn.MultiheadAttention(4, 2, add_bias_kv=True, kdim=3, **f), None),
    "TransformerEncoderLayer": (lambda **f: nn.TransformerEncoderLayer(4, 2, **_F, **f),
                                (3, 2, 4)),
    "TransformerDecoderLayer": (lambda **f: nn.TransformerDecoderLayer(4, 2, **_F, **f), None),
    "Transformer": (lambda **f: nn.Transformer(4, 2, 1, 1, **_F, **f), None),
}
for _d in (1, 2, 3):
    _x = (2, 2) + (4,) * _d
    for _name, _make in (("Conv", lambda cls, **f: cls(2, 3, 2, **f)),
                         ("ConvTranspose", lambda cls, **f: cls(2, 3, 2, **f)),
                         ("LazyConv", lambda cls, **f: cls(3, 2, **f)),
                         ("LazyConvTranspose", lambda cls, **f: cls(3, 2, **f)),
                         ("BatchNorm", lambda cls, **f: cls(2, **f)),
                         ("LazyBatchNorm", lambda cls, **f: cls(**f)),
                         ("InstanceNorm", lambda cls, **f: cls(2, affine=True,
                                                                track_running_stats=True, **f)),
                         ("LazyInstanceNorm", lambda cls, **f: cls(affine=True,
                                                                    track_running_stats=True,
                                                                    **f))):
        _cls = getattr(nn, f"{_name}{_d}d")
        CONSTRUCTORS[_cls.__name__] = (lambda cls=_cls, make=_make, **f: make(cls, **f), _x)
for _name in ("RNN", "LSTM", "GRU"):
    CONSTRUCTORS[_name] = (lambda n=_name, **f: getattr(nn, n)(3, 4, 2, proj_size=0, **f)
                           if n == "LSTM" else getattr(nn, n)(3, 4, 2, **f), (5, 2, 3))
    CONSTRUCTORS[f"{_name}Cell"] = (lambda n=_name, **f: getattr(nn, f"{n}Cell")(3, 4, **f),
                                    (2, 3))


@pytest.mark.parametrize("device", ["cuda", CUDA], ids=["str", "device"])
@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_module_built_on_cuda(name, device):
    make, shape = CONSTRUCTORS[name]
    for dtype in (None, ember.float64):
        m = make(device=device, dtype=dtype)
        tensors = dict(m.named_parameters())
        tensors.update(m.named_buffers())
        assert tensors
        for key, t in tensors.items():
            assert t.device == CUDA, f"{key} on {t.device}"
            if dtype is not None and t.dtype.is_floating_point:
                assert t.dtype == dtype, key
        if shape is not None:
            x = ember.randn(*shape, dtype=dtype or ember.float32, device="cuda")
            out = _flat(m(x))
            assert out and all(o.device == CUDA for o in out)
            for key, t in [*m.named_parameters(), *m.named_buffers()]:
                assert t.device == CUDA, f"{key} on {t.device} after the forward"


@pytest.mark.parametrize("name", sorted(n for n in CONSTRUCTORS if not n.startswith("Lazy")))
def test_module_built_on_meta_then_cuda(name):
    """PyTorch's recipe for big models: shapes on meta (no initialiser touches values), then
    ``to_empty(device="cuda")``; ``skip_init`` does the same. (A lazy module's placeholders
    refuse to_empty, in PyTorch too.)"""
    make, _ = CONSTRUCTORS[name]
    m = make(device="meta")
    assert all(t.is_meta for t in (*m.parameters(), *m.buffers()))
    shapes = {k: tuple(t.shape) for k, t in (*m.named_parameters(), *m.named_buffers())}
    assert m.to_empty(device="cuda") is m
    for key, t in (*m.named_parameters(), *m.named_buffers()):
        assert t.device == CUDA and tuple(t.shape) == shapes[key], key


@pytest.mark.parametrize("name, args", [
    ("Linear", (3, 2)), ("Conv2d", (2, 3, 2)), ("BatchNorm1d", (3,)), ("Embedding", (5, 2)),
    ("Bilinear", (3, 4, 2)), ("GRUCell", (3, 4)), ("MultiheadAttention", (4, 2)),
    ("LayerNorm", (3,))])
def test_skip_init_on_cuda(name, args):
    state = ember.get_rng_state()
    m = nn.utils.skip_init(getattr(nn, name), *args, device="cuda")
    assert ember.equal(state, ember.get_rng_state())  # (no initialiser drew, as PyTorch's)
    tensors = [*m.parameters(), *m.buffers()]
    assert tensors and all(t.device == CUDA for t in tensors)


def test_every_device_taking_module_is_built_on_cuda():
    import inspect

    takes = [n for n, cls in vars(nn).items()
             if inspect.isclass(cls) and issubclass(cls, nn.Module)
             and "device" in inspect.signature(cls.__init__).parameters
             and n not in ("RNNBase", "RNNCellBase")]
    assert sorted(set(takes) - set(CONSTRUCTORS)) == []


# ---- nn.init on device tensors ----
_INITS = {
    "uniform_": lambda t, g: nn.init.uniform_(t, -0.5, 0.5, generator=g),
    "normal_": lambda t, g: nn.init.normal_(t, 0.1, 2.0, generator=g),
    "trunc_normal_": lambda t, g: nn.init.trunc_normal_(t, 0.0, 1.0, -0.5, 0.5, generator=g),
    "trunc_normal_-tail": lambda t, g: nn.init.trunc_normal_(t, 0.0, 1.0, 2.0, 3.0, generator=g),
    "xavier_uniform_": lambda t, g: nn.init.xavier_uniform_(t, generator=g),
    "xavier_normal_": lambda t, g: nn.init.xavier_normal_(t, generator=g),
    "kaiming_uniform_": lambda t, g: nn.init.kaiming_uniform_(t, a=0.1, generator=g),
    "kaiming_normal_": lambda t, g: nn.init.kaiming_normal_(t, mode="fan_out", generator=g),
    "orthogonal_": lambda t, g: nn.init.orthogonal_(t, gain=2.0, generator=g),
    "sparse_": lambda t, g: nn.init.sparse_(t, 0.5, generator=g),
}
_FIXED_INITS = {
    "constant_": lambda t: nn.init.constant_(t, 0.3),
    "zeros_": nn.init.zeros_,
    "ones_": nn.init.ones_,
    "eye_": nn.init.eye_,
    "dirac_": lambda t: nn.init.dirac_(t.view(4, 1, 3), groups=2),
}


@pytest.mark.parametrize("name", sorted(_INITS))
def test_random_init_on_cuda(name):
    """A device tensor is filled in place, from the device's generator (a seeded CUDA generator
    gives the same values twice; the CPU's draws are not CUDA's)."""
    runs = []
    for _ in range(2):
        ember.manual_seed(3)  # (sparse_ picks its zeros from the global generator, as PyTorch)
        t = ember.empty(4, 3, device="cuda")
        g = ember.Generator(device="cuda").manual_seed(3)
        assert _INITS[name](t, g) is t
        assert t.device == CUDA and t.dtype == ember.float32
        runs.append(t.cpu().numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.isfinite(runs[0]).all() and runs[0].any()


@pytest.mark.parametrize("name", sorted(_FIXED_INITS))
def test_fixed_init_on_cuda(name):
    cpu, dev = ember.empty(4, 3), ember.empty(4, 3, device="cuda")
    _FIXED_INITS[name](cpu)
    assert _FIXED_INITS[name](dev) is not None
    _same(cpu, dev, name)


# ---- nn.utils ----
def _trained_pair():
    ember.manual_seed(0)
    cpu = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3), nn.LayerNorm(3))
    dev = copy.deepcopy(cpu).cuda()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    for m, xt in ((cpu, ember.tensor(x)), (dev, ember.tensor(x).cuda())):
        (m(xt) ** 2).sum().backward()
    return cpu, dev


def _same_grads(cpu, dev):
    for (name, cp), dp in zip(cpu.named_parameters(), dev.parameters()):
        _same(cp.grad, dp.grad, f"{name}.grad")


@pytest.mark.parametrize("foreach", [None, False, True])
@pytest.mark.parametrize("norm_type", [2.0, 1, float("inf"), 3.0])
def test_clip_grad_norm_on_cuda(norm_type, foreach):
    cpu, dev = _trained_pair()
    cn = nn.utils.clip_grad_norm_(cpu.parameters(), 0.5, norm_type=norm_type, foreach=foreach)
    dn = nn.utils.clip_grad_norm_(dev.parameters(), 0.5, norm_type=norm_type, foreach=foreach)
    _same(cn, dn, "total norm")
    assert float(cn) > 0.5  # (the clip did scale the gradients)
    _same_grads(cpu, dev)


def test_get_total_norm_and_clip_grads_with_norm_on_cuda():
    cpu, dev = _trained_pair()
    cg = [p.grad for p in cpu.parameters()]
    dg = [p.grad for p in dev.parameters()]
    cn = nn.utils.get_total_norm(cg, norm_type=2.0)
    dn = nn.utils.get_total_norm(dg, norm_type=2.0)
    _same(cn, dn, "total norm")
    nn.utils.clip_grads_with_norm_(cpu.parameters(), 0.3, cn)
    nn.utils.clip_grads_with_norm_(dev.parameters(), 0.3, dn)
    _same_grads(cpu, dev)


def test_clip_grad_norm_nonfinite_on_cuda():
    cpu, dev = _trained_pair()
    for m in (cpu, dev):
        next(m.parameters()).grad[0, 0] = float("nan")
    errs = []
    for m in (cpu, dev):
        with pytest.raises(RuntimeError) as e:
            nn.utils.clip_grad_norm_(m.parameters(), 1.0, error_if_nonfinite=True)
        errs.append(str(e.value))
    assert errs[0] == errs[1]


@pytest.mark.parametrize("foreach", [None, False, True])
def test_clip_grad_value_on_cuda(foreach):
    cpu, dev = _trained_pair()
    nn.utils.clip_grad_value_(cpu.parameters(), 0.2, foreach=foreach)
    nn.utils.clip_grad_value_(dev.parameters(), 0.2, foreach=foreach)
    assert max(float(p.grad.abs().max()) for p in cpu.parameters()) == pytest.approx(0.2)
    _same_grads(cpu, dev)


def test_parameters_to_vector_and_back_on_cuda():
    cpu, dev = _trained_pair()
    cv = nn.utils.parameters_to_vector(cpu.parameters())
    dv = nn.utils.parameters_to_vector(dev.parameters())
    _same(cv, dv, "vector")
    nn.utils.vector_to_parameters(cv * 2 - 1, cpu.parameters())
    nn.utils.vector_to_parameters(dv * 2 - 1, dev.parameters())
    for (name, cp), dp in zip(cpu.named_parameters(), dev.parameters()):
        _same(cp, dp, name)
    gv = nn.utils.parameters_to_vector(p.grad for p in dev.parameters())
    _same(nn.utils.parameters_to_vector(p.grad for p in cpu.parameters()), gv, "grads")


def test_fuse_conv_bn_eval_on_cuda():
    ember.manual_seed(0)
    conv, bn = nn.Conv2d(2, 3, 3), _warm(nn.BatchNorm2d(3), (2, 3, 4, 4)).eval()
    conv.eval()
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    cpu = nn.utils.fuse_conv_bn_eval(conv, bn)
    dev = nn.utils.fuse_conv_bn_eval(copy.deepcopy(conv).cuda(), copy.deepcopy(bn).cuda())
    _same(cpu(ember.tensor(x)), dev(ember.tensor(x).cuda()), "fused output")
    for (name, cp), dp in zip(cpu.named_parameters(), dev.parameters()):
        _same(cp, dp, name)


def test_rnn_utils_on_cuda():
    r = np.random.default_rng(0)
    seqs = [N(r, n, 3) for n in (4, 2, 3)]
    out = []
    for device in ("cpu", "cuda"):
        ts = [ember.tensor(s, device=device).requires_grad_() for s in seqs]
        padded = nn.utils.rnn.pad_sequence(ts, batch_first=True, padding_value=-1.0)
        packed = nn.utils.rnn.pack_sequence(ts, enforce_sorted=False)
        back = nn.utils.rnn.unpack_sequence(packed)
        unpadded = nn.utils.rnn.unpad_sequence(padded, ember.tensor([4, 2, 3]),
                                               batch_first=True)
        (padded.sum() + sum((b * 2).sum() for b in back) + sum(u.sum() for u in unpadded)
         ).backward()
        out.append([padded, packed.data, packed.sorted_indices, *back, *unpadded,
                    *(t.grad for t in ts)])
        # (batch_sizes stays on the CPU, as PyTorch keeps it)
        assert packed.batch_sizes.device == ember.device("cpu")
    for k, (c, d) in enumerate(zip(*out)):
        _same(c, d, f"result {k}")


def test_packed_sequence_moves_and_lengths_on_cuda():
    x = ember.tensor(N(np.random.default_rng(0), 4, 3, 2))
    packed = nn.utils.rnn.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
    for moved in (packed.cuda(), packed.to("cuda"), packed.to(CUDA, ember.float64)):
        assert moved.data.device == CUDA
        assert moved.sorted_indices.device == moved.unsorted_indices.device == CUDA
        assert moved.batch_sizes.device == ember.device("cpu")  # (PyTorch keeps it there)
        back = moved.cpu()
        assert back.data.device == back.sorted_indices.device == ember.device("cpu")
        _same(nn.utils.rnn.pad_packed_sequence(packed)[0].to(moved.data.dtype),
              nn.utils.rnn.pad_packed_sequence(moved)[0], "padded")
        padded, lengths = nn.utils.rnn.pad_packed_sequence(moved)
        assert lengths.device == ember.device("cpu") and lengths.tolist() == [2, 4, 3]
    assert packed.cuda().cuda().data.device == CUDA
    # lengths on the device are refused (PyTorch's pack_padded_sequence needs them on the CPU)
    with pytest.raises(RuntimeError, match="'lengths' argument should be a 1D CPU int64 tensor, "
                                           "but got 1D cuda:0 Long tensor"):
        nn.utils.rnn.pack_padded_sequence(x.cuda(), ember.tensor([4, 3, 2], device="cuda"))
    # a CPU lengths tensor beside device data is what PyTorch wants
    p = nn.utils.rnn.pack_padded_sequence(x.cuda(), ember.tensor([2, 4, 3]),
                                          enforce_sorted=False)
    assert p.data.device == p.sorted_indices.device == CUDA
