"""Oracle tests for saved-tensor hooks: ``saved_tensors_hooks`` (what is packed, when unpack
runs, nesting, double backward through unpacked tensors), ``save_on_cpu`` and
``disable_saved_tensors_hooks``."""

from __future__ import annotations

import sys

import pytest

import ember

from ..oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def test_pack_and_unpack_see_saved_inputs_and_outputs():
    def fn(T):
        packed, unpacked = [], []

        def pack(t):
            packed.append((tuple(t.shape), t.requires_grad))
            return t * 1

        def unpack(t):
            unpacked.append(tuple(t.shape))
            return t

        x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
        w = T.tensor([0.5, -1.0, 2.0], requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = (x * w).exp().sum()  # mul saves both inputs, exp its output
        n_packed = len(packed)
        y.backward()
        return n_packed, packed, unpacked, x.grad, w.grad
    same(fn)


def test_hooks_apply_only_inside_the_context():
    def fn(T):
        calls = []
        x = T.ones(2, requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(lambda t: calls.append("p") or t,
                                                  lambda t: calls.append("u") or t):
            a = x * x
        b = a * x  # recorded outside: no hooks
        b.sum().backward()
        return calls, x.grad
    same(fn)


def test_nested_contexts_use_innermost():
    def fn(T):
        calls = []
        x = T.ones(2, requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(lambda t: calls.append("outer") or t,
                                                  lambda t: t):
            with T.autograd.graph.saved_tensors_hooks(lambda t: calls.append("inner") or t,
                                                      lambda t: t):
                y = x.sin()
            z = y.cos()
        (z.sum()).backward()
        return calls, x.grad
    same(fn)


def test_double_backward_through_unpacked_tensors():
    def fn(T):
        x = T.tensor([0.5, 1.5], requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
            y = (x ** 3).sum()
        (g,) = T.autograd.grad(y, x, create_graph=True)
        (gg,) = T.autograd.grad(g.sum(), x)
        return g, gg
    same(fn)


def test_unpack_must_return_a_tensor():
    def fn(T):
        x = T.ones(3, requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
            y = x.exp()
        y.sum().backward()
    same(fn)


def test_custom_function_saves_go_through_hooks():
    def fn(T):
        calls = []

        class Sq(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = T.tensor([1.0, 3.0], requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(lambda t: calls.append("p") or t,
                                                  lambda t: calls.append("u") or t):
            y = Sq.apply(x)
        y.sum().backward()
        return calls, x.grad
    same(fn)


def test_save_on_cpu():
    def fn(T):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        with T.autograd.graph.save_on_cpu():
            y = (x.exp() * x).sum()
        y.backward()
        return x.grad
    same(fn)


def test_disable_saved_tensors_hooks():
    def fn(T):
        G = T.autograd.graph
        res = []
        try:
            with G.disable_saved_tensors_hooks("no hooks here"):
                with G.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
        except RuntimeError as e:
            res.append(str(e))
        try:
            with G.saved_tensors_hooks(lambda t: t, lambda t: t):
                with G.disable_saved_tensors_hooks("already hooked"):
                    pass
        except RuntimeError as e:
            res.append(str(e))
        with G.disable_saved_tensors_hooks("fine"):
            x = T.ones(2, requires_grad=True)
            (x * x).sum().backward()
        res.append(x.grad)
        return res
    same(fn)


def test_freed_graph_error_keeps_pytorchs_message_and_adds_a_note():
    x = ember.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert str(info.value).startswith("Trying to backward through the graph a second time")
    if sys.version_info >= (3, 11):
        (note,) = info.value.__notes__
        assert "MulBackward0" in note and ".detach()" in note


# ---- register_multi_grad_hook ----------------------------------------------------------------

def _lists(gs):
    return [None if g is None else g.tolist() for g in gs]


def test_multi_grad_hook_all_mode():
    def fn(T):
        reg = T.autograd.graph.register_multi_grad_hook
        a, b, c = (T.ones(2, requires_grad=True) for _ in range(3))
        got = []
        h = reg((a, b, c), lambda gs: got.append(_lists(gs)))
        (a * 2 + b * 3).sum().backward()
        (a * 2 + b * 3 + c).sum().backward()
        x, y = a * 1, b * 1
        reg((x, y), lambda gs: got.append(_lists(gs)))
        (x * y).sum().backward()
        h.remove()
        (a * 2).sum().backward()
        return got
    same(fn)


def test_multi_grad_hook_all_mode_with_grad_on_non_leaves():
    def fn(T):
        a, b = (T.ones(2, requires_grad=True) for _ in range(2))
        z, w = a * 1, b * 1
        got = []
        T.autograd.graph.register_multi_grad_hook((z, w), lambda gs: got.append(_lists(gs)))
        T.autograd.grad((z * 3).sum(), a)
        return got
    same(fn)


def test_multi_grad_hook_any_mode_and_errors():
    def fn(T):
        reg = T.autograd.graph.register_multi_grad_hook
        a, b = (T.ones(2, requires_grad=True) for _ in range(2))
        got = []
        reg((a, b), lambda g: got.append(g.tolist()), mode="any")
        (a * 2 + b * 3).sum().backward()
        (a * 5).sum().backward()
        try:
            reg((a,), print, mode="x")
        except ValueError as e:
            got.append(str(e))
        return got
    same(fn)
