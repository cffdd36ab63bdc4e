"""``ember.autograd.functional``: derivatives of whole functions — ``vjp``, ``jvp``,
``jacobian``, ``hessian``, ``vhp``, ``hvp`` (PyTorch's ``torch.autograd.functional``).

Contract: PyTorch's signatures, result structure (a Tensor where the user passed a Tensor, a
tuple where a tuple; Jacobian blocks of shape ``output.shape + input.shape``), ``strict`` and
``create_graph`` semantics and error messages. Inputs are copied into fresh leaves (or, with
``create_graph`` and an input that requires grad, into a view of it so the result stays
differentiable with respect to the caller's tensor); results are detached unless
``create_graph``.

NOTE [double-backward trick]: ``jvp`` and ``hvp`` compute forward-mode products with two
reverse passes: the VJP ``u -> J^T u`` is linear in ``u``, so differentiating it with respect
to a dummy ``u`` (zeros that require grad) in direction ``v`` gives ``J v``. This needs every
backward rule to be differentiable, which ember's are (NOTE [rules are ember ops]).
"""

from __future__ import annotations

from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


# ---- argument handling ---------------------------------------------------------------------

def _tensors(value, what, fn_name):
    """``(was_tuple, tuple_of_tensors)``, or PyTorch's TypeError for anything else."""
    from ..tensor import Tensor

    was_tuple = isinstance(value, tuple)
    items = value if was_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"value at index {i}" if was_tuple else f"given {what}"
            raise TypeError(f"The {what} given to {fn_name} must be either a Tensor or a tuple "
                            f"of Tensors but the {where} has type {type(item)}.")
    return was_tuple, items


def _fresh(tensors, create_graph, need_graph):
    """Inputs the function is differentiated at: new leaves, or views when the caller's graph
    must stay connected (``create_graph`` and the tensor requires grad)."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad
                 else t.detach().requires_grad_(need_graph) for t in tensors)


def _release(results, create_graph):
    """Results as the user sees them: detached unless ``create_graph``."""
    from ..tensor import Tensor

    if create_graph:
        return results
    return tuple(r.detach() if isinstance(r, Tensor) else _release(r, create_graph)
                 for r in results)


def _shape_back(results, was_tuple):
    """Unwrap a one-element tuple when the user did not pass a tuple."""
    return results if was_tuple else results[0]


def _shape_back2(results, outer_tuple, inner_tuple):
    if not inner_tuple:
        results = type(results)(r[0] for r in results)
    return results if outer_tuple else results[0]


def _check_v(v, like, like_is_tuple, fn_name):
    _, v = _tensors(v, "v", fn_name)
    if len(v) != len(like):
        if like_is_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, like)):
        if a.shape != b.shape:
            where = f"Entry {i} in " if like_is_tuple else ""
            raise RuntimeError(f"{where}v has invalid size: should be {b.size()} but got "
                               f"{a.size()}.")
    return _fresh(v, False, False)


_STRICT_MESSAGES = {
    "outputs": ("Output {i} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when "
                "running in strict mode."),
    "grad_inputs": ("The gradient with respect to input {i} is independent of the inputs of "
                    "the user-provided function. This is not allowed in strict mode."),
    "jacobian": ("While computing the hessian, found that the jacobian of the user-provided "
                 "function with respect to input {i} is independent of the input. This is not "
                 "allowed in strict mode. You should ensure that your function is twice "
                 "differentiable and that the jacobian depends on the inputs (this would be "
                 "violated by a linear function for example)."),
    "hessian": ("The hessian of the user-provided function with respect to input {i} is "
                "independent of the input. This is not allowed in strict mode. You should "
                "ensure that your function is thrice differentiable and that the hessian "
                "depends on the inputs."),
}


def _strict_requires_grad(tensors, kind, strict):
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if not t.requires_grad:
            raise RuntimeError(_STRICT_MESSAGES[kind].format(i=i))


_MISSING_MESSAGES = {
    "back": ("The output of the user-provided function is independent of input {i}. This is "
             "not allowed in strict mode."),
    "back_trick": ("The gradient with respect to the input is independent of entry {i} in the "
                   "grad_outputs when using the double backward trick to compute forward mode "
                   "gradients. This is not allowed in strict mode."),
    "double_back": ("The jacobian of the user-provided function is independent of input {i}. "
                    "This is not allowed in strict mode."),
    "double_back_trick": ("The hessian of the user-provided function is independent of entry "
                          "{i} in the grad_jacobian. This is not allowed in strict mode as it "
                          "prevents from using the double backward trick to replace forward "
                          "mode AD."),
}


def _zeros_for_missing(grads, like, strict, create_graph, stage):
    """Zeros where a gradient is None (an error in strict mode)."""
    from ..creation import zeros_like

    out = []
    for i, (g, ref) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(_MISSING_MESSAGES[stage].format(i=i))
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        out.append(g)
    return tuple(out)


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``autograd.grad`` over the outputs that require grad; None for unreached inputs."""
    from . import grad

    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, gs = zip(*pairs)
    return grad(outs, inputs, gs, allow_unused=True, create_graph=create_graph,
                retain_graph=retain_graph)


def _single_output(outputs, was_tuple, fn_name):
    from ..tensor import Tensor

    if was_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")


def _v_or_scalar(v, like, like_is_tuple, fn_name, of_what):
    if v is not None:
        return _check_v(v, like, like_is_tuple, fn_name)
    if len(like) != 1 or like[0].numel() != 1:
        raise RuntimeError(f"The vector v can only be None if {of_what} a single Tensor with a "
                           "single element.")
    return None


_OF_INPUT = "the input to the user-provided function is"


# ---- products ------------------------------------------------------------------------------

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``.

    >>> ember.autograd.functional.vjp(lambda x: x ** 2, ember.tensor([1., 2.]),
    ...                               ember.ones(2))[1]
    tensor([2., 4.])
    """
    with enable_grad():
        inputs_tuple, inputs = _tensors(inputs, "inputs", "vjp")
        inputs = _fresh(inputs, create_graph, True)
        outputs_tuple, outputs = _tensors(func(*inputs), "outputs of the user-provided "
                                          "function", "vjp")
        _strict_requires_grad(outputs, "outputs", strict)
        v = _v_or_scalar(v, outputs, outputs_tuple, "vjp",
                         "the user-provided function returns")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _grad(outputs, inputs, v, create_graph=create_graph)
        res = _zeros_for_missing(res, inputs, strict, create_graph, "back")
    return (_shape_back(_release(outputs, create_graph), outputs_tuple),
            _shape_back(_release(res, create_graph), inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``: the Jacobian-vector product at ``inputs`` (NOTE
    [double-backward trick])."""
    from ..creation import zeros_like

    with enable_grad():
        inputs_tuple, inputs = _tensors(inputs, "inputs", "jvp")
        inputs = _fresh(inputs, create_graph, True)
        v = _v_or_scalar(v, inputs, inputs_tuple, "jvp", _OF_INPUT)
        outputs_tuple, outputs = _tensors(func(*inputs), "outputs of the user-provided "
                                          "function", "jvp")
        _strict_requires_grad(outputs, "outputs", strict)
        # any finite value works: the VJP is linear in it
        dummy = tuple(zeros_like(o, requires_grad=True) for o in outputs)
        grad_inputs = _grad(outputs, inputs, dummy, create_graph=True)
        _strict_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _grad(grad_inputs, dummy, v, create_graph=create_graph)
        res = _zeros_for_missing(res, outputs, strict, create_graph, "back_trick")
    return (_shape_back(_release(outputs, create_graph), outputs_tuple),
            _shape_back(_release(res, create_graph), outputs_tuple))


def _gradient_of_scalar(func, inputs, v, create_graph, strict, fn_name):
    """What ``vhp`` and ``hvp`` share: fresh inputs, the checked ``v``, the scalar output and
    its gradient recorded for differentiating again. Runs under grad mode."""
    inputs_tuple, inputs = _tensors(inputs, "inputs", fn_name)
    inputs = _fresh(inputs, create_graph, True)
    v = _v_or_scalar(v, inputs, inputs_tuple, fn_name, _OF_INPUT)
    outputs_tuple, outputs = _tensors(func(*inputs), "outputs of the user-provided function",
                                      fn_name)
    _strict_requires_grad(outputs, "outputs", strict)
    _single_output(outputs, outputs_tuple, fn_name)
    jac = _grad(outputs, inputs, create_graph=True)
    _strict_requires_grad(jac, "jacobian", strict)
    return inputs_tuple, inputs, v, outputs_tuple, outputs, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)`` for a scalar ``func``."""
    with enable_grad():
        inputs_tuple, inputs, v, outputs_tuple, outputs, jac = _gradient_of_scalar(
            func, inputs, v, create_graph, strict, "vhp")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _grad(jac, inputs, v, create_graph=create_graph)
        res = _zeros_for_missing(res, inputs, strict, create_graph, "double_back")
    return (_shape_back(_release(outputs, create_graph), outputs_tuple),
            _shape_back(_release(res, create_graph), inputs_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` for a scalar ``func`` (NOTE [double-backward trick])."""
    from ..creation import zeros_like

    with enable_grad():
        inputs_tuple, inputs, v, outputs_tuple, outputs, jac = _gradient_of_scalar(
            func, inputs, v, create_graph, strict, "hvp")
        dummy = tuple(zeros_like(x, requires_grad=True) for x in inputs)
        double_back = _grad(jac, inputs, dummy, create_graph=True)
        _strict_requires_grad(jac, "hessian", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _grad(double_back, dummy, v, create_graph=create_graph)
        res = _zeros_for_missing(res, inputs, strict, create_graph, "double_back_trick")
    return (_shape_back(_release(outputs, create_graph), outputs_tuple),
            _shape_back(_release(res, create_graph), inputs_tuple))


# ---- full matrices -------------------------------------------------------------------------

_STRATEGY_HINT = ('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If '
                  'your function has more outputs than inputs, "forward-mode" tends to be more '
                  'performant. Otherwise, prefer to use "reverse-mode".')


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: block ``[i][j]`` has shape
    ``outputs[i].shape + inputs[j].shape``.

    >>> ember.autograd.functional.jacobian(lambda x: x ** 2, ember.tensor([1., 2.]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(_STRATEGY_HINT)
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `create_graph=False` or `strategy="reverse-mode"`.')
        return _jacobian_forward(func, inputs, strict, vectorize)
    with enable_grad():
        inputs_tuple, inputs = _tensors(inputs, "inputs", "jacobian")
        inputs = _fresh(inputs, create_graph, True)
        outputs_tuple, outputs = _tensors(func(*inputs), "outputs of the user-provided "
                                          "function", "jacobian")
        _strict_requires_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError(
                "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are "
                "not supported together. Please either set `strict=False` or "
                "`vectorize=False`.")
        if vectorize:
            blocks = _jacobian_vectorized(func, inputs, outputs, create_graph)
            if blocks is not None:
                return _shape_back2(_release(blocks, create_graph), outputs_tuple,
                                    inputs_tuple)
        blocks = tuple(_jacobian_rows(out, i, inputs, create_graph, strict)
                       for i, out in enumerate(outputs))
    return _shape_back2(_release(blocks, create_graph), outputs_tuple, inputs_tuple)


def _jacobian_vectorized(func, inputs, outputs, create_graph):
    """``vectorize=True``: all rows of output ``i``'s Jacobian in ONE batched pass —
    ``vmap`` over the one-hot cotangents ``v`` of ``grad(x -> sum(func(x)[i] * v))`` (the
    forward runs once per output, batched; ember's batching rules, no loop per row). None when
    an op in ``func`` has no batching rule yet (the caller then computes row by row, as
    PyTorch falls back when vmap cannot batch an op)."""
    import warnings

    from .. import func as _func
    from ..creation import eye

    blocks = []
    argnums = tuple(range(len(inputs)))
    for i, out in enumerate(outputs):
        n = out.numel()

        def row(v, i=i):
            def scalar(*xs):
                _, outs = _tensors(func(*xs), "outputs of the user-provided function",
                                   "jacobian")
                return (outs[i] * v).sum()
            return _func.grad(scalar, argnums=argnums)(*inputs)

        basis = eye(n, dtype=out.dtype).reshape(n, *out.shape)
        try:
            with enable_grad():
                rows = _func.vmap(row)(basis) if n else None
        except RuntimeError as e:
            if "no batching rule" not in str(e):
                raise
            warnings.warn(f"jacobian(vectorize=True): {e}; computing the rows one at a time",
                          UserWarning, stacklevel=4)
            return None
        if rows is None:
            from ..creation import zeros

            rows = tuple(zeros(0, *x.shape, dtype=x.dtype) for x in inputs)
        blocks.append(tuple(r.reshape((*out.shape, *x.shape)) for r, x in zip(rows, inputs)))
    return tuple(blocks)


def _jacobian_rows(out, i, inputs, create_graph, strict):
    """The blocks of output ``out``'s Jacobian, one per input: one backward pass per element
    of ``out`` (each row of the Jacobian is a VJP with a one-hot vector)."""
    from ..creation import zeros_like
    from ..ops.join import stack

    rows = [[] for _ in inputs]
    flat = out.reshape(-1)
    for k in range(out.numel()):
        got = _grad((flat[k],), inputs, retain_graph=True, create_graph=create_graph)
        for j, (g, x) in enumerate(zip(got, inputs)):
            if g is None:
                if strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is independent "
                                       f"of input {j}. This is not allowed in strict mode.")
                g = zeros_like(x)
            elif strict and create_graph and not g.requires_grad:
                raise RuntimeError(f"The jacobian of the user-provided function is independent "
                                   f"of input {i}. This is not allowed in strict mode when "
                                   "create_graph=True.")
            rows[j].append(g)
    return tuple(
        (stack(r) if r else zeros_like(x).reshape(0, *x.shape)).view((*out.shape, *x.shape))
        for r, x in zip(rows, inputs))


def _jacobian_forward(func, inputs, strict, vectorize):
    """Forward mode: one JVP per input element, pushed through the recorded graph by the ops'
    forward-mode rules (``graph_jvp``); block ``[i][j]`` collects columns."""
    from ..creation import zeros, zeros_like
    from ..ops.join import stack
    from .graph_jvp import graph_jvp

    if strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `strategy=\"forward-mode\"` "
            "are not supported together (yet). Please either set `strict=False` or "
            '`strategy="reverse-mode"`.')
    inputs_tuple, inputs = _tensors(inputs, "inputs", "jacobian")
    if not vectorize:
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian "
            "isonly implemented for `vectorize=True`.")
    with enable_grad():
        leaves = _fresh(inputs, False, True)
        outputs_tuple, outputs = _tensors(func(*leaves), "outputs", "jacobian")
    columns = [[[] for _ in inputs] for _ in outputs]
    with enable_grad():
        for j, x in enumerate(leaves):
            for k in range(x.numel()):
                tangents = [zeros_like(y) for y in leaves]
                e = zeros(x.numel(), dtype=x.dtype)
                e[k] = 1
                tangents[j] = e.view(x.shape)
                outs = tuple(o if o.requires_grad else None for o in outputs)
                got = graph_jvp(tuple(o for o in outs if o is not None), leaves, tangents) \
                    if any(o is not None for o in outs) else ()
                got = iter(got)
                for i, o in enumerate(outputs):
                    t = next(got) if outs[i] is not None else None
                    columns[i][j].append(zeros_like(o) if t is None else t.detach())
    blocks = []
    for i, o in enumerate(outputs):
        row = []
        for j, x in enumerate(inputs):
            cols = columns[i][j]
            m = stack(cols, dim=-1) if cols else zeros(*o.shape, 0, dtype=o.dtype)
            row.append(m.reshape((*o.shape, *x.shape)))
        blocks.append(row)
    # NOTE: lists, not tuples: PyTorch's forward-mode Jacobian returns lists here.
    return _shape_back2(blocks, outputs_tuple, inputs_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``: block ``[i][j]`` has shape
    ``inputs[i].shape + inputs[j].shape``.

    >>> ember.autograd.functional.hessian(lambda x: (x ** 3).sum(), ember.tensor([1., 2.]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    inputs_tuple, inputs = _tensors(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_func(*xs):
        out = func(*xs)
        was_tuple, outs = _tensors(out, "outputs of the user-provided function", "hessian")
        _strict_requires_grad(outs, "outputs", strict)
        _single_output(outs, was_tuple, "hessian")
        return out.squeeze()

    def gradient(*xs):
        if outer_jacobian_strategy == "forward-mode":
            xs = tuple(x.requires_grad_(True) for x in xs)
        jac = jacobian(scalar_func, xs, create_graph=True)
        _strict_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _shape_back2(res, inputs_tuple, inputs_tuple)
