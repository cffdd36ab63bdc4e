"""One record per op: how to call it and on what inputs. The gradient checks (finite
differences, first and second order) and the PyTorch oracle tests are generated from this table.

A record's ``fn(T, *args)`` calls the op through module ``T`` (ember or torch) exactly as PyTorch
code would. ``samples(rng)`` yields argument tuples: float ndarrays become differentiable
tensors, integer/bool ndarrays plain tensors, anything else is passed as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class OpRecord:
    name: str
    fn: object
    shapes: list = field(default_factory=list)  # each: a tuple of input shapes
    domain: tuple = (-2.0, 2.0)
    extra: object = None  # rng -> list of extra sample tuples (for custom arguments)
    second_order: bool = True
    gradcheck: bool = True  # False for ops with no gradient (comparisons...)
    atol32: float = 1e-5
    rtol32: float = 1e-4
    nondiff: tuple = ()  # indices of float arguments passed as tensors that don't require grad

    def samples(self, rng):
        lo, hi = self.domain
        for shapes in self.shapes:
            yield tuple(rng.uniform(lo, hi, size=s) for s in shapes)
        if self.extra is not None:
            yield from self.extra(rng)

    def __repr__(self):
        return self.name


def _ints(rng, high, shape):
    return rng.integers(0, high, size=shape).astype(np.int64)


UNARY = [(3,), (2, 3), ()]
BINARY = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2)), ((2, 3), ())]
POS = (0.5, 2.0)

RECORDS = [
    # ---- binary arithmetic ----
    OpRecord("add", lambda T, x, y: x + y, BINARY),
    OpRecord("add_alpha", lambda T, x, y: T.add(x, y, alpha=2.5), BINARY),
    OpRecord("add_scalar", lambda T, x: x + 1.5, [(s,) for s in UNARY]),
    OpRecord("radd_scalar", lambda T, x: 2 + x, [(s,) for s in UNARY]),
    OpRecord("sub", lambda T, x, y: x - y, BINARY),
    OpRecord("sub_alpha", lambda T, x, y: T.sub(x, y, alpha=0.5), BINARY),
    OpRecord("rsub_scalar", lambda T, x: 1 - x, [(s,) for s in UNARY]),
    OpRecord("mul", lambda T, x, y: x * y, BINARY),
    OpRecord("mul_scalar", lambda T, x: x * 1.01, [(s,) for s in UNARY]),
    OpRecord("div", lambda T, x, y: x / y, [((3,), (3,)), ((2, 3), (3,))], domain=POS),
    OpRecord("div_scalar", lambda T, x: x / 4, [(s,) for s in UNARY]),
    OpRecord("rdiv_scalar", lambda T, x: 2 / x, [(s,) for s in UNARY], domain=POS),
    OpRecord("pow_scalar", lambda T, x: x ** 3, [(s,) for s in UNARY]),
    OpRecord("pow_square", lambda T, x: x ** 2, [(s,) for s in UNARY]),
    OpRecord("pow_frac", lambda T, x: x.pow(1.5), [(s,) for s in UNARY], domain=POS),
    OpRecord("pow_tensor", lambda T, x, y: x ** y, [((3,), (3,)), ((2, 3), (3,))],
             domain=POS),
    OpRecord("rpow", lambda T, x: 2.0 ** x, [(s,) for s in UNARY]),
    OpRecord("neg", lambda T, x: -x, [(s,) for s in UNARY]),
    OpRecord("maximum", lambda T, x, y: T.maximum(x, y), BINARY[:3]),
    OpRecord("minimum", lambda T, x, y: T.minimum(x, y), BINARY[:3]),
    OpRecord("remainder", lambda T, x: x % 0.7, [(s,) for s in UNARY], second_order=True),
    # ---- unary math ----
    *[OpRecord(n, (lambda name: lambda T, x: getattr(x, name)())(n), [(s,) for s in UNARY])
      for n in ("exp", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "expm1", "square",
                "atan", "sinh", "cosh")],
    *[OpRecord(n, (lambda name: lambda T, x: getattr(T, name)(x))(n), [(s,) for s in UNARY],
               domain=POS)
      for n in ("log", "sqrt", "log2", "log10", "log1p", "rsqrt", "reciprocal")],
    OpRecord("tan", lambda T, x: x.tan(), [(s,) for s in UNARY], domain=(-1.0, 1.0)),
    OpRecord("asin", lambda T, x: x.asin(), [(s,) for s in UNARY], domain=(-0.8, 0.8)),
    OpRecord("acos", lambda T, x: x.acos(), [(s,) for s in UNARY], domain=(-0.8, 0.8)),
    OpRecord("clamp", lambda T, x: x.clamp(-0.5, 0.7), [(s,) for s in UNARY]),
    OpRecord("clamp_min", lambda T, x: x.clamp(min=0.1), [(s,) for s in UNARY]),
    OpRecord("clamp_tensor", lambda T, x, lo: x.clamp(min=lo), [((3,), (3,)), ((2, 3), (3,))]),
    OpRecord("where", lambda T, x, y: T.where(x > 0, x, y), BINARY[:3]),
    OpRecord("where_scalar", lambda T, x: T.where(x > 0, x, 0.0), [(s,) for s in UNARY]),
    OpRecord("masked_fill", lambda T, x: x.masked_fill(x > 0.5, 2.0), [(s,) for s in UNARY]),
    # ---- reductions ----
    OpRecord("sum", lambda T, x: x.sum(), [(s,) for s in UNARY]),
    OpRecord("sum_dim", lambda T, x: x.sum(1), [((2, 3),), ((2, 3, 4),)]),
    OpRecord("sum_dims_keepdim", lambda T, x: x.sum((0, 2), keepdim=True), [((2, 3, 4),)]),
    OpRecord("sum_neg_dim", lambda T, x: T.sum(x, dim=-1), [((2, 3),)]),
    OpRecord("mean", lambda T, x: x.mean(), [(s,) for s in UNARY]),
    OpRecord("mean_dim", lambda T, x: x.mean(0, keepdim=True), [((2, 3),), ((4,),)]),
    OpRecord("prod", lambda T, x: x.prod(), [((3,),), ((2, 3),)]),
    OpRecord("prod_dim", lambda T, x: x.prod(1), [((2, 3),)]),
    OpRecord("max", lambda T, x: x.max(), [((3,),), ((2, 3),)]),
    OpRecord("max_dim", lambda T, x: x.max(1)[0], [((2, 3),)]),
    OpRecord("min_dim_keepdim", lambda T, x: x.min(0, keepdim=True).values, [((2, 3),)]),
    OpRecord("amax", lambda T, x: x.amax(1), [((2, 3),)]),
    OpRecord("var", lambda T, x: x.var(), [((5,),), ((2, 3),)]),
    OpRecord("std_dim", lambda T, x: x.std(1), [((2, 4),)]),
    OpRecord("var_unbiased_false", lambda T, x: x.var(0, unbiased=False), [((4, 2),)]),
    OpRecord("logsumexp", lambda T, x: x.logsumexp(1), [((2, 3),)]),
    OpRecord("logsumexp_keepdim", lambda T, x: T.logsumexp(x, 0, keepdim=True), [((4,),)]),
    OpRecord("norm", lambda T, x: x.norm(), [((3,),), ((2, 3),)]),
    OpRecord("norm_dim", lambda T, x: x.norm(dim=1, keepdim=True), [((2, 3),)]),
    OpRecord("norm_p1", lambda T, x: x.norm(p=1), [((2, 3),)]),
    OpRecord("norm_p3", lambda T, x: T.norm(x, p=3, dim=0), [((2, 3),)]),
    OpRecord("norm_inf", lambda T, x: x.norm(p=float("inf")), [((2, 3),)]),
    # ---- linear algebra ----
    OpRecord("mm", lambda T, x, y: x.mm(y), [((2, 3), (3, 4))]),
    OpRecord("matmul_2d", lambda T, x, y: x @ y, [((2, 3), (3, 4))]),
    OpRecord("matmul_1d_1d", lambda T, x, y: x @ y, [((3,), (3,))]),
    OpRecord("matmul_2d_1d", lambda T, x, y: T.matmul(x, y), [((2, 3), (3,))]),
    OpRecord("matmul_1d_2d", lambda T, x, y: T.matmul(x, y), [((3,), (3, 2))]),
    OpRecord("matmul_3d_2d", lambda T, x, y: x @ y, [((2, 2, 3), (3, 2))]),
    OpRecord("matmul_batched", lambda T, x, y: x @ y, [((2, 2, 3), (2, 3, 2)),
                                                       ((2, 1, 2, 3), (3, 3, 2))]),
    OpRecord("matmul_1d_3d", lambda T, x, y: x @ y, [((3,), (2, 3, 2))]),
    OpRecord("bmm", lambda T, x, y: x.bmm(y), [((2, 2, 3), (2, 3, 2))]),
    OpRecord("mv", lambda T, x, y: x.mv(y), [((2, 3), (3,))]),
    OpRecord("dot", lambda T, x, y: x.dot(y), [((3,), (3,))]),
    OpRecord("outer", lambda T, x, y: T.outer(x, y), [((3,), (2,))]),
    OpRecord("addmm", lambda T, b, x, y: T.addmm(b, x, y), [((4,), (2, 3), (3, 4))]),
    # ---- shape and views ----
    OpRecord("reshape", lambda T, x: x.reshape(3, 2), [((2, 3),), ((6,),)]),
    OpRecord("reshape_copy", lambda T, x: x.t().reshape(-1), [((2, 3),)]),
    OpRecord("view", lambda T, x: x.view(-1, 2), [((2, 3),)]),
    OpRecord("flatten", lambda T, x: x.flatten(), [((2, 3, 2),)]),
    OpRecord("transpose", lambda T, x: x.transpose(0, 1), [((2, 3),), ((2, 3, 4),)]),
    OpRecord("t", lambda T, x: x.t(), [((2, 3),), ((3,),)]),
    OpRecord("T", lambda T, x: x.T, [((2, 3),)]),
    OpRecord("mT", lambda T, x: x.mT, [((2, 2, 3),)]),
    OpRecord("permute", lambda T, x: x.permute(2, 0, 1), [((2, 3, 4),)]),
    OpRecord("unsqueeze", lambda T, x: x.unsqueeze(1), [((2, 3),)]),
    OpRecord("unsqueeze_0d", lambda T, x: x.unsqueeze(0), [((),)]),
    OpRecord("squeeze", lambda T, x: x.squeeze(), [((2, 1, 3),)]),
    OpRecord("squeeze_dim", lambda T, x: x.squeeze(1), [((2, 1, 3),)]),
    OpRecord("expand", lambda T, x: x.expand(2, 3, 3), [((3, 1),), ((1, 3),)]),
    OpRecord("expand_as", lambda T, x, y: x.expand_as(y), [((1, 3), (2, 3))]),
    OpRecord("getitem_int", lambda T, x: x[1], [((3,),), ((2, 3),)]),
    OpRecord("getitem_slice", lambda T, x: x[1:, ::2], [((3, 4),)]),
    OpRecord("getitem_mixed", lambda T, x: x[0, 1:3, None], [((2, 4),)]),
    OpRecord("getitem_ellipsis", lambda T, x: x[..., -1], [((2, 3, 4),)]),
    OpRecord("getitem_index_list", lambda T, x: x[[0, 2, 2]], [((3, 2),)]),
    OpRecord("getitem_bool_mask", lambda T, x: x[x > 0], [((3, 2),)]),
    OpRecord("narrow", lambda T, x: x.narrow(1, 1, 2), [((2, 4),)]),
    OpRecord("cat", lambda T, x, y: T.cat([x, y], 1), [((2, 3), (2, 2))]),
    OpRecord("cat_dim0", lambda T, x, y: T.cat((x, y)), [((2,), (3,))]),
    OpRecord("stack", lambda T, x, y: T.stack([x, y], 1), [((2, 3), (2, 3))]),
    OpRecord("split", lambda T, x: x.split(2)[1], [((5, 2),)]),
    OpRecord("chunk", lambda T, x: x.chunk(2, 1)[0] * 2, [((2, 4),)]),
    OpRecord("unbind", lambda T, x: x.unbind(1)[2], [((2, 3),)]),
    OpRecord("clone", lambda T, x: x.clone(), [(s,) for s in UNARY]),
    OpRecord("to_double", lambda T, x: x.to(T.float64) * 2, [((3,),)]),
    OpRecord("sum_to_size", lambda T, x: x.sum_to_size(1, 3), [((2, 3),)]),
    # ---- nn.functional ----
    OpRecord("softmax", lambda T, x: T.nn.functional.softmax(x, dim=1), [((2, 3),)]),
    OpRecord("softmax_dim0", lambda T, x: x.softmax(0), [((4,),)]),
    OpRecord("log_softmax", lambda T, x: T.nn.functional.log_softmax(x, dim=-1), [((2, 3),)]),
    OpRecord("cross_entropy",
             lambda T, x, t: T.nn.functional.cross_entropy(x, t),
             extra=lambda rng: [(rng.normal(size=(4, 3)), _ints(rng, 3, (4,)))]),
    OpRecord("cross_entropy_sum",
             lambda T, x, t: T.nn.functional.cross_entropy(x, t, reduction="sum"),
             extra=lambda rng: [(rng.normal(size=(4, 3)), _ints(rng, 3, (4,)))]),
    OpRecord("cross_entropy_none",
             lambda T, x, t: T.nn.functional.cross_entropy(x, t, reduction="none"),
             extra=lambda rng: [(rng.normal(size=(4, 3)), _ints(rng, 3, (4,)))]),
    OpRecord("cross_entropy_weight_ignore",
             lambda T, x, t, w: T.nn.functional.cross_entropy(x, t, weight=w, ignore_index=1),
             extra=lambda rng: [(rng.normal(size=(5, 3)), _ints(rng, 3, (5,)),
                                 rng.uniform(0.5, 2, size=(3,)))], nondiff=(2,)),
    OpRecord("cross_entropy_probs",
             lambda T, x, p: T.nn.functional.cross_entropy(x, p.softmax(1)),
             extra=lambda rng: [(rng.normal(size=(4, 3)), rng.normal(size=(4, 3)))]),
    OpRecord("cross_entropy_kdim_none",
             lambda T, x, t: T.nn.functional.cross_entropy(x, t, reduction="none"),
             extra=lambda rng: [(rng.normal(size=(2, 3, 4)), _ints(rng, 3, (2, 4))),
                                (rng.normal(size=(2, 3, 2, 2)), _ints(rng, 3, (2, 2, 2)))]),
    OpRecord("cross_entropy_smoothing",
             lambda T, x, t: T.nn.functional.cross_entropy(x, t, label_smoothing=0.1),
             extra=lambda rng: [(rng.normal(size=(4, 3)), _ints(rng, 3, (4,)))]),
    OpRecord("cross_entropy_1d",
             lambda T, x, t: T.nn.functional.cross_entropy(x, t),
             extra=lambda rng: [(rng.normal(size=(3,)), np.array(1))]),
    OpRecord("cross_entropy_kdim",
             lambda T, x, t: T.nn.functional.cross_entropy(x, t),
             extra=lambda rng: [(rng.normal(size=(2, 3, 4)), _ints(rng, 3, (2, 4)))]),
    OpRecord("nll_loss",
             lambda T, x, t: T.nn.functional.nll_loss(x, t),
             extra=lambda rng: [(rng.normal(size=(4, 3)), _ints(rng, 3, (4,)))]),
    OpRecord("bce_with_logits",
             lambda T, x, y: T.nn.functional.binary_cross_entropy_with_logits(x, y),
             [((2, 3), (2, 3))]),
    OpRecord("bce_with_logits_targets_prob",
             lambda T, x, y: T.nn.functional.binary_cross_entropy_with_logits(
                 x, y.sigmoid(), reduction="sum"), [((4,), (4,))]),
    OpRecord("bce_with_logits_weights",
             lambda T, x, y, w, p: T.nn.functional.binary_cross_entropy_with_logits(
                 x, y.sigmoid(), weight=w, pos_weight=p, reduction="none"),
             [((2, 3), (2, 3), (3,), (3,))], nondiff=(2, 3)),
    OpRecord("mse_loss", lambda T, x, y: T.nn.functional.mse_loss(x, y), [((2, 3), (2, 3))]),
    OpRecord("linear", lambda T, x, w, b: T.nn.functional.linear(x, w, b),
             [((4, 3), (2, 3), (2,)), ((5, 4, 3), (2, 3), (2,)), ((3,), (2, 3), (2,))]),
    OpRecord("linear_no_bias", lambda T, x, w: T.nn.functional.linear(x, w),
             [((4, 3), (2, 3)), ((5, 4, 3), (2, 3))]),
    OpRecord("relu_functional", lambda T, x: T.nn.functional.relu(x), [((2, 3),)]),
]
