"""The machinery behind a Module's full backward hooks and backward pre-hooks.

Contract: ``Module.__call__`` wraps the module's tensor inputs and outputs through
``_BackwardHook`` (NOTE [module backward hooks]), as PyTorch's ``torch.utils.hooks.BackwardHook``:
the pre-hooks see and may replace the gradients of the outputs, the full backward hooks see
``(grad_input, grad_output)`` and may replace ``grad_input``, with PyTorch's errors and warning.
Private to ``module.py``, which re-exports both classes under their old path.
"""

from __future__ import annotations

import warnings

from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...creation import zeros
from ...tensor import Tensor

# NOTE [module backward hooks]
# As PyTorch's BackwardHook: the module's tensor inputs and outputs each pass through an identity
# autograd Function. When the outputs' gradients arrive (that node's pre-hook) the backward
# pre-hooks run and may replace them; when the inputs' gradients are ready (the input node's
# post-hook) the full backward hooks run with (grad_input, grad_output) and may replace
# grad_input. With no input requiring grad, the hooks fire at the outputs with grad_input None.

class BackwardHookFunction(Function):
    @staticmethod
    def forward(ctx, *args):
        outs = tuple(a.detach() for a in args)
        ctx.mark_non_differentiable(*[o for o, a in zip(outs, args) if not a.requires_grad])
        return outs

    @staticmethod
    def backward(ctx, *grads):
        return grads


class _BackwardHook:
    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_index = None
        self.n_inputs = -1
        self.input_index = None

    @staticmethod
    def _pack(indices, values, size):
        res = [None] * size
        for i, v in zip(indices, values):
            res[i] = v
        return tuple(res)

    def _wrap(self, args, on_node):
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in index]
        if not (any(t.requires_grad for t in tensors) and is_grad_enabled()):
            return args, None
        wrapped = BackwardHookFunction.apply(*tensors)
        on_node(next(t.grad_fn for t in wrapped if t.grad_fn is not None))
        out = list(args)
        for i, t in zip(index, wrapped):
            out[i] = t
        return tuple(out), index

    def setup_input_hook(self, args):
        def on_node(node):
            def hook(grad_input, _):
                if self.grad_outputs is None:
                    return None
                # PyTorch materialises the gradient of an input that needs none as zeros
                grad_input = [g if g is not None else zeros(shape, dtype=dtype)
                              for g, (shape, dtype) in zip(grad_input, input_meta)]
                res = self._pack(self.input_index, grad_input, self.n_inputs)
                for user_hook in self.user_hooks:
                    out = user_hook(self.module, res, self.grad_outputs)
                    if out is None:
                        continue
                    if len(out) != len(res):
                        raise RuntimeError(
                            "Backward hook returned an invalid number of grad_input, got "
                            f"{len(out)}, but expected {len(res)}")
                    res = out
                self.grad_outputs = None
                return tuple(res[i] for i in self.input_index)
            node.register_hook(hook)

        input_meta = [(a.shape, a.dtype) for a in args if isinstance(a, Tensor)]
        res, self.input_index = self._wrap(args, on_node)
        self.n_inputs = len(args)
        return res

    def setup_output_hook(self, result):
        def on_node(node):
            def hook(grad_output):
                self.grad_outputs = self._pack(self.output_index, grad_output, self.n_outputs)
                expected = len(self.grad_outputs)
                for pre_hook in self.user_pre_hooks:
                    new = pre_hook(self.module, self.grad_outputs)
                    if new is None:
                        continue
                    if len(new) != expected:
                        raise RuntimeError(
                            "Backward pre hook returned an invalid number of grad_output, got "
                            f"{len(new)}, but expected {expected}")
                    self.grad_outputs = new
                local = self.grad_outputs
                if self.input_index is None:
                    warnings.warn(
                        "Full backward hook is firing when gradients are computed with respect "
                        "to module outputs since no inputs require gradients. See "
                        "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                        "#torch.nn.Module.register_full_backward_hook for more details.",
                        stacklevel=5)
                    grad_inputs = self._pack([], [], self.n_inputs)
                    for user_hook in self.user_hooks:
                        res = user_hook(self.module, grad_inputs, self.grad_outputs)
                        if res is not None and not (isinstance(res, tuple)
                                                    and all(g is None for g in res)):
                            raise RuntimeError(
                                "Backward hook for Modules where no input requires gradient "
                                "should always return None or None for all gradients.")
                    self.grad_outputs = None
                return tuple(local[i] for i in self.output_index)
            node.register_prehook(hook)

        is_tuple = isinstance(result, tuple)
        args = result if is_tuple else (result,)
        res, self.output_index = self._wrap(args, on_node)
        self.n_outputs = len(args)
        return res if is_tuple else res[0]
