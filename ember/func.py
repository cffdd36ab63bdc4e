"""``ember.func``: composable function transforms (PyTorch's ``torch.func``) — ``grad``,
``grad_and_value``, ``vjp``, ``jvp``, ``linearize``, ``jacrev``, ``jacfwd``, ``hessian``, and
``vmap`` (batching rules, in _vmap.py).

Contract: PyTorch's signatures (``argnums`` an int or a tuple, ``has_aux``), result structure
and error messages. The transforms are pure: inputs need not require grad, ``.grad`` is never
touched, and they nest (``grad(grad(f))``, ``jacfwd(jacrev(f))``) to any order.

NOTE [nesting transforms]: each transform differentiates ``f`` at fresh leaves (or, for an
input that already requires grad — an outer transform's variable — at a view of it) and always
records its own backward (``create_graph=True``), so an outer transform can differentiate the
result again, including through variables ``f`` captured from outside. A result whose graph
reaches only this call's own leaves is detached before it is returned, so a plain call gives
plain tensors, as in PyTorch.

Forward mode (``jvp``, ``jacfwd``, ``linearize``) pushes tangents through the recorded graph
with the ops' JVP rules (``graph_jvp``). ``functional_call`` is not here yet.
"""

from __future__ import annotations

from ._vmap import vmap
from .autograd.grad_mode import enable_grad
from .autograd.graph import AccumulateGrad
from .tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian",
           "vmap", "functional_call"]


# ---- helpers -------------------------------------------------------------------------------

def _leaf_for(x):
    """Where to differentiate at ``x``: connected to the caller's graph if ``x`` is in one."""
    if x.requires_grad:
        return x.view_as(x)
    return x.detach().requires_grad_()


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
    return _map(lambda t: t.detach(), result)


def _flatten(x):
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _flatten(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _flatten(v)]
    return []


def _map(fn, x):
    if isinstance(x, Tensor):
        return fn(x)
    if isinstance(x, tuple):
        return tuple(_map(fn, v) for v in x)
    if isinstance(x, list):
        return [_map(fn, v) for v in x]
    if isinstance(x, dict):
        return {k: _map(fn, v) for k, v in x.items()}
    return x


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
    primal (``aux`` third with ``has_aux``)."""
    from .autograd import grad as _grad

    with enable_grad():
        leaves = [_leaf_for(p) if isinstance(p, Tensor) else p for p in primals]
        out = func(*leaves)
        out, aux = _split_aux(out, has_aux, "vjp")
    own = [x for x in leaves if isinstance(x, Tensor)]
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
        pairs = [(o, c) for o, c in zip(outs, cts) if o.requires_grad]
        from .creation import zeros_like

        with enable_grad():
            if pairs:
                gs = _grad([o for o, _ in pairs], own, [c for _, c in pairs],
                           retain_graph=True, create_graph=True, allow_unused=True)
            else:
                gs = (None,) * len(own)
            gs = tuple(zeros_like(x) if g is None else g for g, x in zip(gs, own))
        return _finish(gs, own + [c for c in cts if isinstance(c, Tensor)])

    result = _finish(out, own)
    return (result, vjp_fn, _finish(aux, own)) if has_aux else (result, vjp_fn)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """``f -> (x -> Jacobian)`` by reverse mode: block shape ``out.shape + x.shape``."""

    def wrapper(*args, **kwargs):
        from .autograd import grad as _grad
        from .creation import zeros, zeros_like
        from .ops.join import stack

        nums = _argnums(argnums, len(args), "jacrev")
        args = list(args)
        with enable_grad():
            leaves = []
            for a in nums:
                args[a] = _leaf_for(args[a])
                leaves.append(args[a])
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
                blocks.append(tuple(
                    (stack(r) if r else zeros(0, *x.shape, dtype=x.dtype))
                    .reshape(*o.shape, *x.shape) for r, x in zip(rows, leaves)))
        per_out = [b[0] if isinstance(argnums, int) else b for b in blocks]
        jac = _rebuild(out, per_out)
        res = (jac, aux) if has_aux else jac
        return _finish(res, leaves)

    return wrapper


def _rebuild(structure, items):
    """``items`` (one per tensor of ``structure``, in order) arranged like ``structure``."""
    it = iter(items)

    def build(x):
        if isinstance(x, Tensor):
            return next(it)
        if isinstance(x, tuple):
            return tuple(build(v) for v in x)
        if isinstance(x, list):
            return [build(v) for v in x]
        if isinstance(x, dict):
            return {k: build(v) for k, v in x.items()}
        return x

    return build(structure)


# ---- forward mode --------------------------------------------------------------------------

def _push(func, primals, tangents, fn_name):
    """``(outputs, output tangents, own leaves)``: one forward pass, tangents pushed through
    its graph by the ops' JVP rules."""
    from .autograd.graph_jvp import graph_jvp
    from .creation import zeros_like

    if not isinstance(primals, tuple):
        raise RuntimeError(f"{fn_name}(f, primals, tangents): Expected primals to be a tuple. "
                           "E.g. it should be valid to call f(*primals).")
    if not isinstance(tangents, tuple):
        raise RuntimeError(f"{fn_name}(f, primals, tangents): Expected tangents to be a tuple. "
                           "E.g. it should be valid to call f(*primals).")
    if len(primals) != len(tangents):
        raise RuntimeError(f"{fn_name}(f, primals, tangents): Expected primals and tangents to "
                           f"have the same python structure. For example, if primals is a "
                           f"tuple of 3 tensors, tangents also must be. Got primals with "
                           f"structure {len(primals)} and tangents with structure "
                           f"{len(tangents)}")
    with enable_grad():
        leaves = [_leaf_for(p) for p in primals]
        out = func(*leaves)
        outs = _flatten(out)
        diff = [o for o in outs if o.requires_grad]
        got = list(graph_jvp(tuple(diff), leaves, tangents)) if diff else []
        tans = [got.pop(0) if o.requires_grad else zeros_like(o) for o in outs]
        tans = [zeros_like(o) if t is None else t for t, o in zip(tans, outs)]
    return out, tans, leaves


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(f(*primals), J @ tangents)`` by forward mode."""
    if has_aux:
        holder = {}

        def plain(*xs):
            out, aux = _split_aux(func(*xs), True, "jvp")
            holder["aux"] = aux
            return out

        out, tans, leaves = _push(plain, primals, tangents, "jvp")
    else:
        out, tans, leaves = _push(func, primals, tangents, "jvp")
    res = _finish((out, _rebuild(out, tans)), leaves)
    return res + (_finish(holder["aux"], leaves),) if has_aux else res


def linearize(func, *primals):
    """``(f(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` evaluates ``J @ tangents`` at the same
    point (the forward pass runs once)."""
    from .autograd.graph_jvp import graph_jvp

    with enable_grad():
        leaves = [_leaf_for(p) for p in primals]
        out = func(*leaves)
    outs = _flatten(out)

    def jvp_fn(*tangents):
        from .creation import zeros_like

        diff = [o for o in outs if o.requires_grad]
        with enable_grad():
            got = list(graph_jvp(tuple(diff), leaves, tangents)) if diff else []
        tans = [got.pop(0) if o.requires_grad else zeros_like(o) for o in outs]
        tans = [zeros_like(o) if t is None else t for t, o in zip(tans, outs)]
        return _finish(_rebuild(out, tans), leaves)

    return _finish(out, leaves), jvp_fn


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """``f -> (x -> Jacobian)`` by forward mode: one JVP per input element."""

    def wrapper(*args):
        from .creation import zeros, zeros_like
        from .ops.join import stack

        nums = _argnums(argnums, len(args), "jacfwd")
        holder = {}

        def partial(*xs):
            full = list(args)
            for a, x in zip(nums, xs):
                full[a] = x
            out = func(*full)
            if has_aux:
                out, holder["aux"] = _split_aux(out, True, "jacfwd")
            return out

        xs = tuple(args[a] for a in nums)
        columns = None
        out = None
        for j, x in enumerate(xs):
            for k in range(x.numel()):
                tangents = [zeros_like(y) for y in xs]
                e = zeros(x.numel(), dtype=x.dtype)
                e[k] = 1
                tangents[j] = e.view(x.shape)
                out, tans, leaves = _push(partial, xs, tuple(tangents), "jacfwd")
                if columns is None:
                    columns = [[[] for _ in xs] for _ in tans]
                for i, t in enumerate(tans):
                    columns[i][j].append(_finish(t, leaves))
        if out is None:  # inputs with no elements: one plain call for the output shapes
            out = partial(*xs)
            columns = [[[] for _ in xs] for _ in _flatten(out)]
        outs = _flatten(out)
        blocks = []
        for i, o in enumerate(outs):
            row = tuple((stack(c, dim=-1) if c else zeros(*o.shape, 0, dtype=o.dtype))
                        .reshape(*o.shape, *x.shape) for c, x in zip(columns[i], xs))
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


def hessian(func, argnums=0):
    """``f -> (x -> Hessian)``: ``jacfwd(jacrev(f))``."""
    return jacfwd(jacrev(func, argnums), argnums)
