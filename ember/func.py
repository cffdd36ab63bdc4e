"""``ember.func``: composable function transforms (PyTorch's ``torch.func``) — ``grad``,
``grad_and_value``, ``vjp``, ``jvp``, ``linearize``, ``jacrev``, ``jacfwd``, ``hessian``, and
``vmap`` (batching rules, in the _vmap package).

Contract: PyTorch's signatures (``argnums`` an int or a tuple, ``has_aux``), result structure
and error messages. The transforms are pure: inputs need not require grad, ``.grad`` is never
touched, and they nest (``grad(grad(f))``, ``jacfwd(jacrev(f))``) to any order.

NOTE [nesting transforms]: each transform differentiates ``f`` at fresh leaves (or, for an
input that already requires grad — an outer transform's variable — at a view of it) and always
records its own backward (``create_graph=True``), so an outer transform can differentiate the
result again, including through variables ``f`` captured from outside. A result whose graph
reaches only this call's own leaves is detached before it is returned, so a plain call gives
plain tensors, as in PyTorch.

Forward mode (``jvp``, ``jacfwd``, ``linearize``) runs ``f`` on dual tensors: tangents are
computed op by op as ``f`` runs (NOTE [forward mode runs forward]).
"""

from __future__ import annotations

from ._pytree import tree_flatten, tree_leaves, tree_map
from ._vmap import vmap
from .autograd.grad_mode import enable_grad
from .autograd.graph import AccumulateGrad
from .tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian",
           "vmap", "functional_call", "stack_module_state"]


# ---- helpers -------------------------------------------------------------------------------

def _leaf_for(x):
    """Where to differentiate at ``x``: connected to the caller's graph if ``x`` is in one, and
    dual if ``x`` is (a reverse transform inside a forward one: ``jacfwd(jacrev(f))``)."""
    if x.requires_grad:
        return x.view_as(x)
    leaf = x.detach().requires_grad_()
    if x._extra is not None and x._extra.tangents:
        from .autograd.forward_ad import _give_tangents

        _give_tangents(leaf, x._extra.tangents)
    return leaf


def _detach(t):
    """``t.detach()``, keeping the tangents of an enclosing forward transform."""
    if t._extra is not None and t._extra.tangents:
        from .autograd.forward_ad import _detached

        return _detached(t)
    return t.detach()


def _reaches_outside(tensors, own):
    """Whether the graph behind ``tensors`` reaches a leaf other than ``own`` leaves (so the
    result must stay differentiable for an outer transform or the caller)."""
    own_ids = {id(t) for t in own}
    seen = set()
    stack = [t.grad_fn for t in tensors if isinstance(t, Tensor) and t.grad_fn is not None]
    if any(isinstance(t, Tensor) and t.requires_grad and t.grad_fn is None
           and id(t) not in own_ids for t in tensors):
        return True
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, AccumulateGrad):
            var = node.variable
            if var is not None and id(var) not in own_ids:
                return True
            continue
        stack.extend(fn for fn, _ in node.next_functions if fn is not None)
    return False


def _finish(result, own):
    """Detach every tensor of ``result`` (nested tuples) unless something outside this call's
    own leaves is reachable from it."""
    flat = _flatten(result)
    if _reaches_outside(flat, own):
        return result
    return _map(_detach, result)


# Arguments, outputs, tangents and aux values are pytrees (ember/_pytree.py), as in PyTorch:
# namedtuples, OrderedDicts... keep their type through a transform, None is a leaf.

def _flatten(x):
    """The tensors among the leaves of pytree ``x``, in order."""
    if isinstance(x, Tensor):
        return [x]
    return [t for t in tree_leaves(x) if isinstance(t, Tensor)]


def _map(fn, x):
    """Pytree ``x`` with ``fn`` applied to its tensors (other leaves unchanged)."""
    if isinstance(x, Tensor):
        return fn(x)
    return tree_map(lambda v: fn(v) if isinstance(v, Tensor) else v, x)


def _argnums(argnums, n, fn_name):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not isinstance(argnums, (int, tuple)) or not all(isinstance(a, int) for a in nums):
        raise RuntimeError(f"{fn_name}: Expected argnums to be int or Tuple[int, ...], got: "
                           f"{type(argnums)}")
    if isinstance(argnums, tuple) and not argnums:
        raise RuntimeError(f"{fn_name}: 'argnums' must be non-empty")
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _split_aux(out, has_aux, fn_name):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{fn_name}(f, ...)(*args): output of function f should be a tuple: "
                           "(output, aux) if has_aux is True")
    return out


# ---- reverse mode --------------------------------------------------------------------------

def grad_and_value(func, argnums=0, has_aux=False):
    """``f -> (x -> (df/dx, f(x)))`` for a scalar-valued ``f``."""

    def wrapper(*args, **kwargs):
        from .autograd import grad as _grad

        nums = _argnums(argnums, len(args), "grad_and_value")
        args = list(args)
        with enable_grad():
            leaves = []
            for a in nums:
                if not _flatten(args[a]):
                    raise RuntimeError("grad_and_value(f)(*args): Expected argument "
                                       f"{a} to be a Tensor or a pytree of Tensors")
                # an argument may be a pytree (tuple/list/dict of tensors, e.g. parameters)
                args[a] = _map(_leaf_for, args[a])
                leaves.extend(_flatten(args[a]))
            out = func(*args, **kwargs)
            out, aux = _split_aux(out, has_aux, "grad_and_value")
            if not isinstance(out, Tensor):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(out)}")
            if out.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                    f"tensor with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev "
                    "APIs instead?")
            if out.requires_grad:
                gs = _grad(out, leaves, create_graph=True, allow_unused=True)
            else:
                gs = (None,) * len(leaves)
            from .creation import zeros_like

            gs = [zeros_like(x) if g is None else g for g, x in zip(gs, leaves)]
        per_arg = tuple(_rebuild(args[a], [gs.pop(0) for _ in _flatten(args[a])]) for a in nums)
        g = per_arg[0] if isinstance(argnums, int) else per_arg
        value = (out, aux) if has_aux else out
        return _finish((g, value), leaves)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """``f -> (x -> df/dx)`` for a scalar-valued ``f``.

    >>> ember.func.grad(lambda x: (x ** 3).sum())(ember.tensor([1., 2.]))
    tensor([ 3., 12.])
    """
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func, *primals, has_aux=False):
    """``(f(*primals), vjp_fn)`` where ``vjp_fn(cotangents)`` returns one gradient per
    primal (``aux`` third with ``has_aux``). A primal may be a pytree of tensors (a dict of
    parameters); its gradient has the same structure."""
    from .autograd import grad as _grad

    for p in primals:
        for t in _leaves(p):
            if not isinstance(t, Tensor):
                raise ValueError(f"Thing passed to transform API must be Tensor, got {type(t)}")
    with enable_grad():
        args = [_map(_leaf_for, p) for p in primals]
        out = func(*args)
        out, aux = _split_aux(out, has_aux, "vjp")
    own = _flatten(args)
    outs = _flatten(out)

    def vjp_fn(*cotangents):
        cts = _flatten(cotangents[0] if len(cotangents) == 1 else cotangents)
        if len(cts) != len(outs):
            raise RuntimeError("Expected pytree structure of cotangents to be the same as "
                               "pytree structure of outputs to the function.")
        for c, o in zip(cts, outs):
            if c.shape != o.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                                   f"{c.shape} and output[0] has a shape of {o.shape}.")
        if _batched_beyond(cts, outs):
            # NOTE [vjp_fn under vmap]: ``vmap(vjp_fn)(cotangents)`` (the Jacobian by rows,
            # NTK by vector products) batches the cotangents over a level the recorded graph
            # has no batch dim for, and the engine runs on physical tensors only: ``f`` runs
            # again inside this vmap, where every primal becomes a leaf expanded over the
            # active levels, and that graph is differentiated with the batched cotangents
            # (``f`` is assumed pure, as every ``torch.func`` transform assumes)
            return vjp(func, *primals, has_aux=has_aux)[1](*cotangents)
        pairs = [(o, c) for o, c in zip(outs, cts) if o.requires_grad]
        from .creation import zeros_like

        with enable_grad():
            if pairs:
                gs = _grad([o for o, _ in pairs], own, [c for _, c in pairs],
                           retain_graph=True, create_graph=True, allow_unused=True)
            else:
                gs = (None,) * len(own)
            gs = [zeros_like(x) if g is None else g for g, x in zip(gs, own)]
        result = tuple(_rebuild(a, [gs.pop(0) for _ in _flatten(a)]) for a in args)
        return _finish(result, own + [c for c in cts if isinstance(c, Tensor)])

    result = _finish(out, own)
    return (result, vjp_fn, _finish(aux, own)) if has_aux else (result, vjp_fn)


def _batched_beyond(cotangents, outputs):
    """Whether some cotangent varies over a vmap level its (differentiable) output does not."""
    from . import _vmap as vm

    if not vm._L.stack:
        return False
    return any(o.requires_grad and set(vm._levels(c)) - set(vm._levels(o))
               for c, o in zip(cotangents, outputs) if isinstance(c, Tensor))


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """``f -> (x -> Jacobian)`` by reverse mode: block shape ``out.shape + x.shape``."""

    def wrapper(*args, **kwargs):
        from . import stack  # the published op: forward AD's wrappers see it
        from .autograd import grad as _grad
        from .creation import zeros, zeros_like

        nums = _argnums(argnums, len(args), "jacrev")
        args = list(args)
        with enable_grad():
            leaves = []
            for a in nums:
                # an argument may be a pytree (a dict of parameters: the NTK recipe)
                args[a] = _map(_leaf_for, args[a])
                leaves.extend(_flatten(args[a]))
            out = func(*args, **kwargs)
            out, aux = _split_aux(out, has_aux, "jacrev")
            outs = _flatten(out)
            blocks = []
            for o in outs:
                rows = [[] for _ in leaves]
                flat = o.reshape(-1)
                for k in range(o.numel()):
                    if o.requires_grad:
                        gs = _grad(flat[k], leaves, retain_graph=True, create_graph=True,
                                   allow_unused=True)
                    else:
                        gs = (None,) * len(leaves)
                    for r, g, x in zip(rows, gs, leaves):
                        r.append(zeros_like(x) if g is None else g)
                jacs = [(stack(r) if r else zeros(0, *x.shape, dtype=x.dtype))
                        .reshape((*o.shape, *x.shape)) for r, x in zip(rows, leaves)]
                # one Jacobian per leaf, arranged like the differentiated arguments
                blocks.append(tuple(_rebuild(args[a], [jacs.pop(0) for _ in _flatten(args[a])])
                                    for a in nums))
        per_out = [b[0] if isinstance(argnums, int) else b for b in blocks]
        jac = _rebuild(out, per_out)
        res = (jac, aux) if has_aux else jac
        return _finish(res, leaves)

    return wrapper


def _rebuild(structure, items):
    """``items`` (one per tensor of pytree ``structure``, in order) arranged like
    ``structure``; its other leaves stay."""
    it = iter(items)
    if isinstance(structure, Tensor):
        return next(it)
    return tree_map(lambda v: next(it) if isinstance(v, Tensor) else v, structure)


# ---- forward mode --------------------------------------------------------------------------
# NOTE [forward mode runs forward]: ``jvp`` (and ``linearize``, ``jacfwd``) open a dual level
# (autograd/forward_ad.py), call ``f`` on dual tensors and read the outputs' tangents: each op
# computes its tangent when it runs, from the values its inputs have then, so an in-place write
# later in ``f`` (under no_grad, through ``.data``, on a view) changes the tangents exactly as
# it changes the values. Nested forward transforms nest levels (NOTE [nested levels] there).


_leaves = tree_leaves


def _check_primals(primals, tangents, fn_name):
    head = f"{fn_name}(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{head}: Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    flat_p, primals_spec = tree_flatten(primals)
    flat_t, tangents_spec = tree_flatten(tangents)
    if primals_spec != tangents_spec:
        raise RuntimeError(f"{head}: Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, tangents "
                           f"also must be. Got primals with structure {primals_spec} and "
                           f"tangents with structure {tangents_spec}")
    for what, flat in (("primals", flat_p), ("tangents", flat_t)):
        for t in flat:
            if not isinstance(t, Tensor):
                raise RuntimeError(f"{head}: Expected {what} to only contain Tensors, got "
                                   f"{type(t)}")
    if not flat_p:
        raise RuntimeError(f"{head}: Expected primals to contain at least one Tensor.")


def _same_batch(primal, tangent):
    """Inside a vmap, a primal and its tangent batched at the same levels (one of them may vary
    over a level the other does not: ``vmap(lambda t: jvp(f, (x,), (t,)))``)."""
    from . import _vmap as vm

    if not vm._L.stack:
        return primal, tangent
    levels = tuple(lv for lv, _, _ in vm._L.stack
                   if lv in vm._levels(primal) or lv in vm._levels(tangent))
    if vm._levels(primal) != levels:
        primal = vm._mark(vm._align(primal, levels, expand=True), levels)
    if vm._levels(tangent) != levels:
        tangent = vm._mark(vm._align(tangent, levels, expand=True), levels)
    return primal, tangent


def _run_dual(func, primals, tangents, fn_name, strict=False, has_aux=False):
    """``(outputs, their tangents (same structure), aux)``: ``func(*primals)`` run on dual
    tensors at a new level (NOTE [forward mode runs forward])."""
    from .autograd import forward_ad as fw
    from .creation import zeros_like

    _check_primals(primals, tangents, fn_name)
    level = fw._enter_nested()
    try:
        duals = _rebuild(primals, [fw.make_dual(*_same_batch(p, t), level=level) for p, t
                                   in zip(_leaves(primals), _leaves(tangents))])
        out = func(*duals)
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError(f"{fn_name}(f, primals, tangents): output of function f "
                                   "should be a tuple: (output, aux) if has_aux is True")
            out, aux = out
            for t in _leaves(aux):
                if not isinstance(t, Tensor):
                    raise RuntimeError(f"Expected tensors, got unsupported type {type(t)}")
        else:
            aux = None
        outs = _leaves(out)
        if not outs or (len(outs) == 1 and outs[0] is None):
            raise RuntimeError(f"{fn_name}(f, primals, tangents): Expected f to be a function "
                               "that has non-empty output (got output = "
                               f"{'[None]' if outs else '[]'})")
        for o in outs:
            if not isinstance(o, Tensor):
                raise RuntimeError(f"{fn_name}(f, primals, tangents): expected f(*primals) to "
                                   f"return only tensors, got unsupported type {type(o)}")
        tans = [fw._tangent(o, level) for o in outs]
        if strict and any(t is None for t in tans):
            raise RuntimeError(f"{fn_name}(f, primals, tangents, strict=True): The output of f "
                               "is independent of the inputs. This is not allowed with "
                               "strict=True.")
        tans = [zeros_like(o) if t is None else t for o, t in zip(outs, tans)]
    finally:
        fw.exit_dual_level(level=level)  # clears this level's tangents, outputs' included
    return out, _rebuild(out, tans), aux


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(f(*primals), J @ tangents)`` by forward mode (``aux`` third with ``has_aux``).

    >>> ember.func.jvp(lambda x: x ** 2, (ember.tensor([3.]),), (ember.tensor([1.]),))
    (tensor([9.]), tensor([6.]))
    """
    out, tans, aux = _run_dual(func, primals, tangents, "jvp", strict, has_aux)
    return (out, tans, aux) if has_aux else (out, tans)


def linearize(func, *primals):
    """``(f(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` evaluates ``J @ tangents`` at the same
    point, each call running ``f`` forward again on the primals as they were given (so an
    in-place write inside ``f`` is seen as it happens, never replayed from a stale graph)."""
    from .autograd.grad_mode import no_grad

    # the point, as given (copies: later writes to the caller's tensors don't move it)
    point = tuple(p.detach().clone() if isinstance(p, Tensor) else p for p in primals)
    with no_grad():
        out = func(*point)
    out = _map(lambda t: t.detach(), out)

    def jvp_fn(*tangents):
        at = tuple(p.clone() if isinstance(p, Tensor) else p for p in point)
        return _run_dual(func, at, tangents, "jvp")[1]

    return out, jvp_fn


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """``f -> (x -> Jacobian)`` by forward mode: one JVP per input element."""

    def wrapper(*args):
        from . import stack  # the published op: forward AD's wrappers see it
        from .creation import zeros, zeros_like

        nums = _argnums(argnums, len(args), "jacfwd")
        holder = {}
        # an argument may be a pytree (a dict of parameters): one column block per leaf
        counts = [len(_leaves(args[a])) for a in nums]

        def partial(*xs):
            full = list(args)
            at = 0
            for a, n in zip(nums, counts):
                full[a] = _rebuild(args[a], xs[at:at + n])
                at += n
            out = func(*full)
            if has_aux:
                out, holder["aux"] = _split_aux(out, True, "jacfwd")
            return out

        xs = tuple(x for a in nums for x in _leaves(args[a]))
        columns = None
        out = None
        for j, x in enumerate(xs):
            for k in range(x.numel()):
                tangents = [zeros_like(y) for y in xs]
                e = zeros(x.numel(), dtype=x.dtype)
                e[k] = 1
                tangents[j] = e.view(x.shape)
                out, tans, _ = _run_dual(partial, xs, tuple(tangents), "jacfwd")
                tans = _flatten(tans)
                if columns is None:
                    columns = [[[] for _ in xs] for _ in tans]
                for i, t in enumerate(tans):
                    columns[i][j].append(t)
        if out is None:  # inputs with no elements: one plain call for the output shapes
            out = partial(*xs)
            columns = [[[] for _ in xs] for _ in _flatten(out)]
        outs = _flatten(out)
        blocks = []
        for i, o in enumerate(outs):
            jacs = [(stack(c, dim=-1) if c else zeros(*o.shape, 0, dtype=o.dtype))
                    .reshape((*o.shape, *x.shape)) for c, x in zip(columns[i], xs)]
            row = tuple(_rebuild(args[a], [jacs.pop(0) for _ in range(n)])
                        for a, n in zip(nums, counts))
            blocks.append(row[0] if isinstance(argnums, int) else row)
        jac = _rebuild(out, blocks)
        return (jac, _map(lambda t: t.detach(), holder["aux"])) if has_aux else jac

    return wrapper


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """Call ``module`` with its parameters and buffers replaced by the given tensors (a dict,
    or a tuple of dicts), leaving the module unchanged afterwards — so ``grad``/``vmap`` can
    differentiate a model's output with respect to a dict of parameters."""
    from .nn.utils.stateless import _functional_call

    if isinstance(parameter_and_buffer_dicts, dict):
        merged = parameter_and_buffer_dicts
    else:
        merged = {}
        for d in parameter_and_buffer_dicts:
            overlap = set(merged) & set(d)
            if overlap:
                raise ValueError(f"{sorted(overlap)} appeared in multiple dictionaries; "
                                 "behavior of functional call is ambiguous")
            merged.update(d)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    return _functional_call(module, merged, args, kwargs, tie_weights=tie_weights,
                            strict=strict)


def stack_module_state(models):
    """The parameters and buffers of same-class ``models``, each stacked along a new first
    dim: ``(params, buffers)`` dicts keyed by name, ready for ``vmap`` over
    ``functional_call`` (model ensembling). Stacked parameters are new leaves that require
    grad when the models' do."""
    import ember

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if len({type(m) for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        tables = [dict(named(m)) for m in models]
        out = {}
        for name in tables[0]:
            tensors = [table[name] for table in tables]
            flags = {t.requires_grad for t in tensors}
            if len(flags) != 1:
                raise RuntimeError(f"Expected {name} from each model to have the same "
                                   ".requires_grad")
            leaf = ember.stack(tensors)
            out[name] = leaf.detach().requires_grad_() if flags == {True} else leaf
        return out

    return (stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers()))


def hessian(func, argnums=0):
    """``f -> (x -> Hessian)``: ``jacfwd(jacrev(f))``."""
    return jacfwd(jacrev(func, argnums), argnums)
