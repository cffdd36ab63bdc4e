"""Autocast's cast policies: which published op runs in which dtype, per device type.

Contract:
- ``lookup(device_type, space, name)``: the policy of the op published as ``name`` in
  ``space`` ("torch" and "Tensor" share names; "F", "linalg", "special") under autocast for
  ``device_type`` ("cpu" or "cuda"), or None when autocast leaves it alone. A policy is one of
  the strings below, or a function ``(args, kwargs) -> policy or None`` for the ops whose
  PyTorch kernel depends on the call (``F.pad``'s mode, ``F.max_pool3d``'s indices...).
- ``LOWER``: floating arguments (not float64) are cast to the autocast dtype. ``FP32``: to
  float32. ``FP32_OPT_DTYPE``: the op gets ``dtype=float32`` unless a dtype is given (when its
  first argument is eligible). ``PROMOTE``: floating arguments are cast to the widest floating
  type among them. ``LOWER_OUT``: the op runs as called and its floating results are cast to
  the autocast dtype (the composites whose last step is a listed matmul); ``FP32_LOWER_OUT``
  casts the arguments to float32 first (``matrix_power(x, -n)``: a float32 inverse, then
  matmuls). ``LOWER_INNER``: ``bilinear`` on CPU, whose PyTorch kernel multiplies with an
  autocast ``bmm`` into a result of its first input's dtype, then adds the bias.
  ``BANNED``: raises PyTorch's error (``binary_cross_entropy`` under CUDA autocast).

NOTE [autocast tables]: PyTorch 2.13 registers autocast kernels per aten op
(aten/src/ATen/autocast_mode.cpp: ``KERNEL_CPU(op, policy)`` for AutocastCPU, the
``AT_FORALL_*`` lists for AutocastCUDA). These tables name the Python-level ops that reach
those kernels: an op whose name matches (``mm``, ``F.mse_loss``), one that is another spelling
of it (``F.cross_entropy`` is ``aten::cross_entropy_loss``, ``Tensor.__matmul__`` is
``aten::matmul``), and a composite whose decomposition in PyTorch goes through a listed op
(``einsum``, ``tensordot`` and ``linalg.multi_dot`` reach ``bmm``/``mm``; ``hstack`` reaches
``cat``; ``F.lp_pool3d`` reaches ``avg_pool3d``). The CPU table was checked against PyTorch's
own behaviour (the dtypes every op of tests/opinfo gives under ``torch.autocast("cpu")``,
tests/test_amp.py); the CUDA table follows the CUDA lists of the same source.
"""

from __future__ import annotations

__all__ = ["LOWER", "FP32", "FP32_OPT_DTYPE", "PROMOTE", "LOWER_OUT", "FP32_LOWER_OUT",
           "LOWER_INNER", "BANNED", "lookup", "BANNED_BCE"]

LOWER = "lower_precision_fp"
FP32 = "fp32"
FP32_OPT_DTYPE = "fp32_set_opt_dtype"
PROMOTE = "promote"
LOWER_OUT = "lower_precision_out"
FP32_LOWER_OUT = "fp32_lower_precision_out"
LOWER_INNER = "lower_precision_inner"
BANNED = "banned"

BANNED_BCE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using "
    "torch.nn.functional.binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast.")


def _arg(args, kwargs, index, name, default=None):
    """A call's argument by position or keyword."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _ndim(t):
    return getattr(t, "ndim", 0)


# ---- the call-dependent entries ------------------------------------------------------------

def _pad_cpu(args, kwargs):
    # reflect/replicate padding reaches aten::reflection_padNd / replication_padNd; the CPU
    # list has reflection_pad1d/2d (not 3d) and replication_pad1d/2d/3d
    mode = _arg(args, kwargs, 2, "mode", "constant")
    sides = len(_arg(args, kwargs, 1, "pad", ())) // 2
    if mode == "reflect" and sides in (1, 2):
        return FP32
    if mode == "replicate" and sides in (1, 2, 3):
        return FP32
    return None


def _max_pool3d_cpu(args, kwargs):
    # with indices it is aten::max_pool3d_with_indices, not in the list
    return None if _arg(args, kwargs, 6, "return_indices", False) else FP32


def _weighted_loss(args, kwargs):
    # with ``weight``, PyTorch's F.mse_loss and F.l1_loss compute in Python (no aten loss)
    return None if _arg(args, kwargs, 5, "weight") is not None else FP32


def _diff_cpu(args, kwargs):
    # prepend/append are joined to the input by aten::cat
    joined = _arg(args, kwargs, 3, "prepend") is not None or \
        _arg(args, kwargs, 4, "append") is not None
    return PROMOTE if joined else None


def _unique_dim_cpu(position):
    def unique(args, kwargs):
        # along a dim, PyTorch's unique stacks the slices it keeps (aten::stack)
        return PROMOTE if _arg(args, kwargs, position, "dim") is not None else None
    return unique


def _local_response_norm_cpu(args, kwargs):
    # PyTorch averages 3-d inputs with avg_pool2d, wider ones with avg_pool3d (listed)
    return FP32 if _ndim(_arg(args, kwargs, 0, "input")) > 3 else None


def _inner(policy):
    def inner(args, kwargs):
        # a 0-d operand makes it a multiplication, two vectors a dot product (not an mm)
        a, b = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "other")
        return policy if _ndim(a) and _ndim(b) and _ndim(a) + _ndim(b) > 2 else None
    return inner


def _tensordot(args, kwargs):
    # a full contraction (a 0-d result) is a dot product in PyTorch's tensordot, not an mm
    a, b = _arg(args, kwargs, 0, "a"), _arg(args, kwargs, 1, "b")
    dims = _arg(args, kwargs, 2, "dims", 2)
    count = dims if isinstance(dims, int) else len(dims[0]) if dims and \
        isinstance(dims[0], (list, tuple)) else getattr(dims, "ndim", 0) and len(dims[0])
    return LOWER if _ndim(a) + _ndim(b) - 2 * count else None


def _matrix_power(args, kwargs):
    # 0 and 1 make no product; -1 is an inverse (float32 on CPU); -n inverts, then multiplies
    n = _arg(args, kwargs, 1, "n", 0)
    return LOWER if n >= 2 else FP32_LOWER_OUT if n <= -2 else None


def _chain_matmul(args, kwargs):
    return LOWER if len(args) >= 2 else None


def _einsum(args, kwargs):
    """PyTorch's einsum (without opt_einsum) combines its operands left to right: a pair that
    shares a label summed away is a bmm (autocast dtype), any other pair a multiplication
    (which promotes back): LOWER when the last pair is a bmm."""
    equation = args[0] if args else kwargs.get("equation")
    ops = list(args[1:])
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = list(ops[0])
    if not isinstance(equation, str) or len(ops) < 2:
        return None
    lhs, arrow, out = equation.replace(" ", "").replace("...", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ops):
        return None
    if not arrow:  # implicit output: the labels that appear once
        out = "".join(c for c in set(lhs) if c.isalpha() and lhs.count(c) == 1)
    summed = (set("".join(terms[:-1])) & set(terms[-1])) - set(out)
    return LOWER if summed else None


def _interpolate_cuda(args, kwargs):
    # every upsample kernel is in the CUDA fp32 list; "area" is adaptive_avg_pool (not listed)
    mode = _arg(args, kwargs, 3, "mode", "nearest")
    return None if mode == "area" else FP32


# ---- the tables ----------------------------------------------------------------------------

def _table(spec):
    table = {}
    for policy, names in spec.items():
        for name in names.split():
            table[name] = policy
    return table


# Tensor methods share the "torch" names; operators name their op
_OPERATORS = {"__matmul__": "matmul", "__rmatmul__": "matmul", "__pow__": "pow",
              "__rpow__": "pow", "__ipow__": None}

_CPU = _table({
    LOWER: (
        "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d "
        "mm bmm matmul addmm addbmm baddbmm prelu "
        "F.linear F.conv1d F.conv2d F.conv3d F.conv_transpose1d F.conv_transpose2d "
        "F.conv_transpose3d F.prelu F.scaled_dot_product_attention "
        # composites that reach bmm/mm/matmul
        "linalg.vecdot linalg.matmul linalg.multi_dot"),
    LOWER_OUT: "cov corrcoef linalg.pinv F.affine_grid",
    LOWER_INNER: "bilinear F.bilinear",
    FP32: (
        "prod quantile nanquantile cdist trace cholesky cholesky_inverse cholesky_solve "
        "inverse lu lu_solve orgqr ormqr pinverse geqrf qr svd triangular_solve "
        "binary_cross_entropy_with_logits linalg_eigvals "
        "F.binary_cross_entropy F.binary_cross_entropy_with_logits F.grid_sample "
        "F.avg_pool3d F.adaptive_avg_pool3d F.adaptive_max_pool3d F.max_unpool1d "
        "F.max_unpool2d F.max_unpool3d F.lp_pool3d "
        "F.smooth_l1_loss F.huber_loss F.cross_entropy F.nll_loss "
        "F.kl_div F.poisson_nll_loss F.margin_ranking_loss F.hinge_embedding_loss "
        "F.cosine_embedding_loss F.triplet_margin_loss F.multi_margin_loss "
        "F.multilabel_margin_loss F.soft_margin_loss F.ctc_loss "
        "linalg.cholesky linalg.cholesky_ex linalg.cond linalg.eigvals linalg.eigvalsh "
        "linalg.eigh linalg.householder_product linalg.inv linalg.inv_ex linalg.lstsq "
        "linalg.matrix_rank linalg.qr linalg.solve linalg.svd linalg.svdvals "
        "linalg.tensorinv linalg.tensorsolve"),
    # (roll and cartesian_prod join pieces with aten::cat/stack: the promotion has no
    # floating type to widen to, but rejects a half type that is not the autocast dtype)
    PROMOTE: "cat concat concatenate stack hstack vstack dstack column_stack row_stack "
             "index_copy roll cartesian_prod",
})
_CPU.update({"inner": _inner(LOWER), "tensordot": _tensordot, "einsum": _einsum,
             "chain_matmul": _chain_matmul, "matrix_power": _matrix_power,
             "linalg.matrix_power": _matrix_power, "F.pad": _pad_cpu,
             "F.mse_loss": _weighted_loss, "F.l1_loss": _weighted_loss, "diff": _diff_cpu,
             "unique": _unique_dim_cpu(4), "unique_consecutive": _unique_dim_cpu(3),
             "F.max_pool3d": _max_pool3d_cpu, "max_pool3d": _max_pool3d_cpu,
             "F.local_response_norm": _local_response_norm_cpu})

_CUDA = _table({
    LOWER: (
        "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d "
        "mm bmm mv matmul addmm addmv addr addbmm baddbmm prelu einsum chain_matmul "
        "F.linear F.conv1d F.conv2d F.conv3d F.conv_transpose1d F.conv_transpose2d "
        "F.conv_transpose3d F.prelu F.scaled_dot_product_attention "
        "linalg.vecdot linalg.matmul linalg.multi_dot"),
    LOWER_OUT: "cov corrcoef linalg.pinv F.affine_grid",
    FP32: (
        "acos arccos asin arcsin cosh erfinv exp expm1 log log10 log2 log1p reciprocal "
        "rsqrt sinh tan pow logsumexp dist cdist pdist renorm nuclear_norm "
        "cosine_similarity pairwise_distance layer_norm group_norm rms_norm "
        "binary_cross_entropy_with_logits "
        "special.erfinv special.expm1 special.log1p special.logsumexp "
        "F.softplus F.layer_norm F.group_norm F.rms_norm F.cosine_similarity "
        "F.pairwise_distance F.pdist F.normalize F.upsample F.upsample_nearest "
        "F.upsample_bilinear "
        "F.smooth_l1_loss F.huber_loss F.cross_entropy F.nll_loss "
        "F.kl_div F.poisson_nll_loss F.margin_ranking_loss F.hinge_embedding_loss "
        "F.cosine_embedding_loss F.triplet_margin_loss F.multi_margin_loss "
        "F.multilabel_margin_loss F.soft_margin_loss F.binary_cross_entropy_with_logits"),
    FP32_OPT_DTYPE: (
        "prod softmax log_softmax cumprod cumsum sum norm "
        "F.softmax F.log_softmax F.softmin special.softmax special.log_softmax "
        "linalg.vector_norm linalg.matrix_norm linalg.norm"),
    PROMOTE: "addcdiv addcmul atan2 arctan2 cross dot vdot index_put tensordot scatter_add "
             "bilinear F.bilinear F.grid_sample",
    BANNED: "F.binary_cross_entropy",
})
_CUDA.update({"inner": _inner(PROMOTE), "matrix_power": _matrix_power,
              "linalg.matrix_power": _matrix_power, "F.interpolate": _interpolate_cuda,
              "F.mse_loss": _weighted_loss, "F.l1_loss": _weighted_loss})

_TABLES = {"cpu": _CPU, "cuda": _CUDA}


def lookup(device_type, space, name):
    """The policy (or call-dependent policy) of ``space.name`` under ``device_type``'s
    autocast, None when the op runs as called."""
    table = _TABLES.get(device_type)
    if table is None:
        return None
    if space in ("torch", "Tensor"):
        if name.startswith("__"):
            name = _OPERATORS.get(name)
            if name is None:
                return None
        return table.get(name)
    return table.get(f"{space}.{name}")
