"""``ember.func.vmap``: vectorizing map by batching rules (PyTorch's ``torch.func.vmap``).

Contract: ``vmap(func, in_dims=0, out_dims=0, randomness='error', *, chunk_size=None)`` returns
a function that maps ``func`` over one dimension of its inputs, with PyTorch's ``in_dims`` /
``out_dims`` structures, errors, nesting (``vmap(vmap(f))``) and composition with the
``ember.func`` transforms (``vmap(grad(f))`` gives per-sample gradients). ``func`` runs ONCE:
every op on a batched value runs once on the whole batch through a per-op batching rule. An op
without a rule, or whose rule does not cover the form of its arguments (``_NoRule``), runs once
per sample on unbatched slices, results stacked (``_loop``: PyTorch's fallback); ops whose
result shape depends on the values refuse with PyTorch's messages.

How it works: NOTE [batched tensors] (_state.py) and NOTE [per-sample gradients] (wrappers.py).

The package (each rules module fills ``_RULES`` as it loads; ``rules_named`` imports the
positional rules modules and ``rules_linalg`` imports ``rules_named``, so their rules for a key
replace the earlier ones'):

- ``_state``: the per-thread vmaps (``_L``), the batched-tensor side table, alignment helpers,
  the rule table ``_RULES``, ``_NoRule`` and ``_bind``;
- ``metadata``: what a batched tensor reports about itself (logical shape, refusals);
- ``rules_elementwise``, ``rules_dims``, ``rules_shape``, ``rules_matmul``, ``rules_nn``: the
  batching rules that read arguments by position, by family;
- ``rules_named``: the rules read by parameter name (issue 14), composed rules included;
- ``rules_linalg``: ops that treat leading dims as batch dims, and the norms;
- ``rules_random``: ``randomness``; ``rules_records``: the op records' rules and the per-sample
  fallback (``_loop``);
- ``printing``, ``custom_function`` (NOTE [custom Function under vmap]);
- ``wrappers``: the vmap mode, the op wrappers and the attribute swaps;
- ``api``: ``vmap`` and its ``in_dims`` / ``out_dims`` handling.

The names other modules and tests use (``_L``, ``_mark``, ``_levels``, ``_RULES``, ``_loop``,
``_custom_function``, ``_batched_repr``...) are re-exported here, so ``ember._vmap.<name>``
keeps working; every module-level name is bound once, in the module that defines it.

Families with rules: elementwise unary/binary/ternary ops, comparisons, activations, dtype
conversions and ``*_like`` creation (broadcast by right-aligned logical dims); reductions and
dim ops (sum, mean, prod, amax/amin, max/min, median, argmax/argmin, std/var(_mean), all/any,
logsumexp, cumsum/cumprod/cummax, softmax, log_softmax, sort/argsort/topk/kthvalue, norm,
glu...); matmul/mm/bmm/mv/dot/outer/inner, einsum and ``F.linear`` (also with batched
weights); shape ops (view/reshape/permute/transpose/unsqueeze/squeeze/expand/flatten/
unflatten/t/T/mT/movedim/narrow/select/split/chunk/unbind/flip/roll/repeat/tile and the
``_as`` forms); getitem/setitem with basic indexing and unbatched index tensors; cat/stack;
gather/index_select; where/clamp/masked_fill; clone/contiguous/detach; ``F.cross_entropy``/
``nll_loss`` and the elementwise losses with any reduction (per-sample values); conv, pools and
group_norm (the batch folds into N); ``F.layer_norm``/``embedding``/``pad`` (constant)/
``scaled_dot_product_attention``/``cosine_similarity``; batched linalg (inv, det, solve,
cholesky, svd, qr, eigh...); in-place elementwise ops on a batched tensor; random ops by
``randomness`` ('error' refuses them, 'same' draws once, 'different' draws per sample).

Issue 14 added rules read by parameter name (``_bind``) for most of the remaining public ops:
dim arguments shifted (``_named_dims``), ops composed of batched ops (kron, tensordot, the
``*stack`` family, diag/diagflat, pdist...), linalg that treats leading dims as batch dims,
the batch folded into N (interpolate, grid_sample, pools, unpools, padding modes), per-sample
losses, ``batch_norm`` in training with per-sample statistics and ``conv_transpose`` with
batched weights. tests/test_vmap_records.py runs every op record through vmap; its ``XFAIL``
lists the ops still without a rule (mostly data-dependent shapes, which PyTorch refuses too).

A batched value prints as PyTorch's ``BatchedTensor(lvl=.., bdim=0, value=...)`` inside a
vmap (``_batched_repr``, called by ``_printing.tensor_repr``).

Known gaps: errors raised by an op on physical tensors may count dims as PyTorch's own batching
rules do, not always as the sample sees them; ``.numpy()``/``.tolist()`` of a batched value
show the whole batch; a printed batched value always shows ``bdim=0`` (PyTorch shows where
``in_dims`` put it), an input requiring grad shows the grad_fn of vmap's view of it, and
``lvl`` counts vmaps only (PyTorch counts grad/jvp levels too).
"""

from __future__ import annotations

from . import (  # noqa: F401 - loaded for the rules they register
    rules_dims,
    rules_elementwise,
    rules_linalg,
    rules_matmul,
    rules_named,
    rules_nn,
    rules_random,
    rules_records,
    rules_shape,
)
from ._state import (  # noqa: F401
    _HELPERS,
    _INSTALLED,
    _L,
    _RULES,
    _align,
    _bind,
    _call,
    _finish,
    _levels,
    _mark,
    _NoRule,
    _orig,
    _physical,
    _rule_key,
)
from .api import vmap
from .custom_function import _custom_function, _function_batched  # noqa: F401
from .printing import _batched_repr  # noqa: F401
from .rules_elementwise import _elementwise, _inplace, _unary  # noqa: F401
from .rules_random import _RANDOM  # noqa: F401
from .rules_records import _bind_records, _factory, _loop, _loop_inplace, _record_rule  # noqa: F401
from .wrappers import (  # noqa: F401
    _DUNDERS,
    _MODE,
    _PASS_THROUGH,
    _install,
    _install_homes,
    _uninstall,
    _VmapMode,
    _wrap,
    _wrapped,
)

__all__ = ["vmap"]
