"""Oracle tests for the tensor API: creation, dtype inference, attributes, conversions,
indexing values and error messages. Each case runs the same code on ember and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from .oracle import same

C = {
    # ---- creation and dtype inference ----
    "tensor_float_list": lambda T: T.tensor([1., 2.]),
    "tensor_int_list": lambda T: T.tensor([1, 2]),
    "tensor_mixed": lambda T: T.tensor([1, 2.5]),
    "tensor_bool": lambda T: T.tensor([True, False]),
    "tensor_bool_int": lambda T: T.tensor([True, 2]),
    "tensor_scalar": lambda T: T.tensor(3.5),
    "tensor_int_scalar": lambda T: T.tensor(3),
    "tensor_complex": lambda T: T.tensor([1 + 2j]),
    "tensor_nested": lambda T: T.tensor([[1., 2.], [3., 4.]]),
    "tensor_empty": lambda T: T.tensor([]),
    "tensor_empty_2d": lambda T: T.tensor([[]]),
    "tensor_np_float64": lambda T: T.tensor(np.array([1.5, 2.5])),
    "tensor_np_scalar": lambda T: T.tensor(np.float64(1.5)),
    "tensor_np_int32": lambda T: T.tensor(np.array([1, 2], dtype=np.int32)),
    "tensor_dtype_kw": lambda T: T.tensor([1, 2], dtype=T.float16),
    "tensor_of_tensors": lambda T: T.tensor([T.tensor(1.), T.tensor(2.)]),
    "tensor_ragged": lambda T: T.tensor([[1, 2], [3]]),
    "tensor_str": lambda T: T.tensor("a"),
    "tensor_requires_grad_int": lambda T: T.tensor([1, 2], requires_grad=True),
    "tensor_copy_warns": lambda T: T.tensor(T.tensor([1.])),
    "as_tensor_list": lambda T: T.as_tensor([1, 2]),
    "from_numpy_shares": lambda T: (lambda a: (T.from_numpy(a).add_(1), a.tolist()))(
        np.zeros(2)),
    "from_numpy_list": lambda T: T.from_numpy([1]),
    "zeros": lambda T: T.zeros(2, 3),
    "zeros_tuple": lambda T: T.zeros((2, 3), dtype=T.int32),
    "ones_like": lambda T: T.ones_like(T.tensor([1, 2])),
    "zeros_like_dtype": lambda T: T.zeros_like(T.tensor([1, 2]), dtype=T.float64),
    "full_float": lambda T: T.full((2,), 1.5),
    "full_int": lambda T: T.full((2,), 1),
    "full_bool": lambda T: T.full((2,), True),
    "empty_shape": lambda T: T.empty(2, 3).shape,
    "zeros_negative": lambda T: T.zeros(-1),
    "arange_int": lambda T: T.arange(5),
    "arange_float": lambda T: T.arange(1, 2.5, 0.5),
    "arange_float_end": lambda T: T.arange(5.),
    "arange_len": lambda T: T.arange(0, 1, 0.1).shape,
    "arange_bad_step": lambda T: T.arange(0, 5, -1),
    "linspace": lambda T: T.linspace(0, 1, 5),
    "linspace_int": lambda T: T.linspace(0, 10, 5, dtype=T.int64),
    "logspace": lambda T: T.logspace(0, 2, 3),
    "eye": lambda T: T.eye(2, 3),
    "meshgrid_ij": lambda T: T.meshgrid(T.arange(2), T.arange(3), indexing="ij"),
    "meshgrid_xy": lambda T: T.meshgrid(T.arange(2), T.arange(3), indexing="xy"),
    "meshgrid_warns": lambda T: T.meshgrid(T.arange(2), T.arange(3)),
    "ones_requires_grad": lambda T: T.ones(2, requires_grad=True),
    "rand_int_dtype": lambda T: T.rand(2, dtype=T.int64),
    "randint_dtype": lambda T: T.randint(0, 10, (3,)).dtype,
    "randn_shape": lambda T: (T.randn(2, 3).shape, T.randn(2, 3).dtype),
    "legacy_Tensor": lambda T: T.Tensor([1, 2]),
    "legacy_Tensor_size": lambda T: T.Tensor(2, 3).shape,
    "default_dtype": lambda T: T.get_default_dtype(),
    # ---- attributes ----
    "size_and_shape": lambda T: (T.zeros(2, 3).size(), T.zeros(2, 3).size(1),
                                 T.zeros(2, 3).shape[0], T.zeros(2, 3).size(-1)),
    "size_repr": lambda T: repr(T.zeros(2, 3).shape),
    "size_slice": lambda T: T.zeros(2, 3, 4).shape[1:],
    "size_numel": lambda T: T.Size([2, 3]).numel(),
    "size_concat": lambda T: T.zeros(2).shape + (3,),
    "dims": lambda T: (T.zeros(2, 3).dim(), T.zeros(2, 3).ndim, T.zeros(()).dim(),
                       T.zeros(2, 3).numel(), T.zeros(2, 3).nelement()),
    "stride": lambda T: (T.zeros(2, 3).stride(), T.zeros(2, 3).t().stride()),
    "contiguous": lambda T: (T.zeros(2, 3).is_contiguous(), T.zeros(2, 3).t().is_contiguous()),
    "element_size": lambda T: (T.zeros(2).element_size(), T.zeros(2, dtype=T.int8).itemsize),
    "dtype_repr": lambda T: (repr(T.float32), str(T.int64), T.float32.is_floating_point,
                             T.int32.is_floating_point, T.float64.itemsize),
    "dtype_aliases": lambda T: (T.float is T.float32, T.double is T.float64,
                                T.long is T.int64, T.half is T.float16),
    "device": lambda T: (str(T.zeros(1).device), repr(T.zeros(1).device),
                         T.zeros(1).is_cuda),
    "type_name": lambda T: (T.zeros(1).type(), T.zeros(1, dtype=T.int64).type()),
    "finfo": lambda T: (T.finfo(T.float32).eps, T.finfo(T.float16).max,
                        T.finfo(T.float64).tiny),
    "iinfo": lambda T: (T.iinfo(T.int8).max, T.iinfo(T.int64).min),
    "promote_types": lambda T: (T.promote_types(T.uint8, T.int8),
                                T.promote_types(T.float16, T.int64)),
    "result_type": lambda T: (T.result_type(T.tensor([1]), 1.5),
                              T.result_type(T.tensor([1.], dtype=T.float16), T.tensor(1.))),
    "is_tensor": lambda T: (T.is_tensor(T.zeros(1)), T.is_tensor([1])),
    "is_floating_point": lambda T: (T.zeros(1).is_floating_point(),
                                    T.zeros(1, dtype=T.int32).is_floating_point()),
    # ---- conversions ----
    "item": lambda T: (T.tensor([2.5]).item(), T.tensor(3).item(), T.tensor(True).item()),
    "item_many": lambda T: T.tensor([1., 2.]).item(),
    "tolist": lambda T: (T.tensor([[1, 2], [3, 4]]).tolist(), T.tensor(1.5).tolist()),
    "numpy_dtype": lambda T: T.tensor([1., 2.]).numpy(),
    "numpy_0d": lambda T: T.tensor(9.).numpy(),
    "numpy_requires_grad": lambda T: T.tensor([1.], requires_grad=True).numpy(),
    "numpy_shares": lambda T: (lambda t: (t.numpy().__setitem__(0, 5), t)[1])(T.zeros(2)),
    "array_protocol": lambda T: np.asarray(T.tensor([1, 2])),
    "float_int_bool": lambda T: (float(T.tensor(2.5)), int(T.tensor(3.7)), bool(T.tensor(0.))),
    "bool_ambiguous": lambda T: bool(T.tensor([1., 2.])),
    "bool_empty": lambda T: bool(T.tensor([])),
    "len": lambda T: len(T.zeros(4, 2)),
    "len_0d": lambda T: len(T.tensor(1.)),
    "iter": lambda T: list(T.tensor([[1, 2], [3, 4]])),
    "iter_0d": lambda T: iter(T.tensor(1.)),
    "index_protocol": lambda T: [10, 20, 30][T.tensor(1)],
    "format": lambda T: f"{T.tensor(2.5):.2f}",
    "to_dtype": lambda T: T.tensor([1.7, -1.7]).to(T.int64),
    "to_same_is_self": lambda T: (lambda t: t.to(T.float32) is t)(T.zeros(1)),
    "to_other": lambda T: T.zeros(1).to(T.zeros(1, dtype=T.float64)).dtype,
    "to_device_dtype": lambda T: T.zeros(1).to("cpu", T.float16).dtype,
    "shortcuts": lambda T: (T.zeros(1).double().dtype, T.zeros(1).half().dtype,
                            T.zeros(1).long().dtype, T.zeros(1).int().dtype,
                            T.zeros(1).bool().dtype, T.zeros(1, dtype=T.int64).float().dtype),
    "float_to_uint8_wraps": lambda T: T.tensor([300.]).to(T.uint8),
    "int_to_bool": lambda T: T.tensor([0, 2, -1]).bool(),
    "requires_grad_int_method": lambda T: T.tensor([1, 2]).requires_grad_(),
    # ---- promotion in arithmetic ----
    "int_times_float_scalar": lambda T: T.tensor([1, 2]) * 2.5,
    "int32_times_int_scalar": lambda T: T.tensor([1, 2], dtype=T.int32) * 2,
    "int32_times_float64_0d": lambda T: T.tensor([1, 2], dtype=T.int32) * T.tensor(2.5,
                                                                                   dtype=T.float64),
    "float32_times_float64_0d": lambda T: T.tensor([1., 2.]) * T.tensor(2.5, dtype=T.float64),
    "bool_plus_int": lambda T: T.tensor([True]) + 1,
    "bool_plus_bool": lambda T: T.tensor([True]) + T.tensor([True]),
    "bool_minus_bool": lambda T: T.tensor([True]) - T.tensor([True]),
    "neg_bool": lambda T: -T.tensor([True]),
    "uint8_wraps": lambda T: T.tensor([1], dtype=T.uint8) + 300,
    "int_div": lambda T: T.tensor([5, 3]) / T.tensor([2, 2]),
    "int_floordiv": lambda T: (T.tensor([5, -3]) // 2, T.tensor([5., -3.]) // 2),
    "int_mod": lambda T: (T.tensor([5, -3]) % 2, 5 % T.tensor([2, 3])),
    "int_pow": lambda T: T.tensor([2, 3]) ** 2,
    "int_pow_negative": lambda T: T.tensor([2, 3]) ** -1,
    "int_pow_float": lambda T: T.tensor([2, 3]) ** 2.,
    "rdiv_int": lambda T: 2 / T.tensor([1, 2]),
    "float16_ops": lambda T: T.tensor([1.5], dtype=T.float16) * 3,
    "float16_plus_int64": lambda T: T.tensor([1.5], dtype=T.float16) + T.tensor([1]),
    "comparisons": lambda T: (T.tensor([1, 2]) == 1, T.tensor([1., 2.]) < T.tensor([2., 1.]),
                              T.tensor([1, 2]) >= 2),
    "eq_none": lambda T: T.tensor([1.]) == None,  # noqa: E711
    "add_none": lambda T: T.tensor([1.]) + None,
    "add_str": lambda T: T.tensor([1.]) + "x",
    "bitwise": lambda T: (T.tensor([2, 3]) & 1, T.tensor([True, False]) | T.tensor([False]),
                          ~T.tensor([True, False]), ~T.tensor([1, 2]),
                          T.tensor([1, 0]) ^ T.tensor([1, 1])),
    "bitwise_float": lambda T: T.tensor([1.5]) & 1,
    "np_scalar_weak": lambda T: (T.tensor([1.], dtype=T.float32) * np.float64(2)).dtype,
    "unary_on_int": lambda T: (T.tensor([-1, 2]).abs(), T.tensor([1, 2]).exp(),
                               T.tensor([4]).sqrt(), T.tensor([True]).sin()),
    "mean_int": lambda T: T.tensor([1, 2]).mean(),
    "sum_int_dtype": lambda T: (T.tensor([1, 2], dtype=T.int32).sum(),
                                T.tensor([True, True]).sum()),
    "broadcast_error": lambda T: T.ones(2, 3) + T.ones(3, 2),
    # ---- shape ops and indexing values ----
    "view_bad": lambda T: T.ones(6).view(4),
    "view_noncontig": lambda T: T.ones(2, 3).t().view(6),
    "reshape_bad": lambda T: T.ones(6).reshape(4),
    "reshape_two_infer": lambda T: T.ones(6).reshape(-1, -1),
    "reshape_infer": lambda T: T.ones(6).view(-1, 2).shape,
    "expand_bad": lambda T: T.ones(3).expand(2, 2),
    "expand_few": lambda T: T.ones(2, 3).expand(2),
    "permute_bad": lambda T: T.ones(2, 3).permute(0),
    "permute_dup": lambda T: T.ones(2, 3).permute(0, 0),
    "transpose_bad": lambda T: T.ones(2, 3).transpose(0, 2),
    "squeeze_bad": lambda T: T.ones(2, 3).squeeze(3),
    "unsqueeze_bad": lambda T: T.ones(2, 3).unsqueeze(4),
    "cat_bad_dims": lambda T: T.cat([T.ones(2, 3), T.ones(2, 3, 1)]),
    "cat_bad_size": lambda T: T.cat([T.ones(2, 3), T.ones(2, 4)]),
    "cat_empty_list": lambda T: T.cat([]),
    "cat_skips_empty_1d": lambda T: T.cat([T.ones(2, 3), T.tensor([])]),
    "cat_promotes": lambda T: T.cat([T.ones(2), T.ones(2, dtype=T.int64)]),
    "stack_bad": lambda T: T.stack([T.ones(2, 3), T.ones(3, 3)]),
    "index_negative_step": lambda T: T.ones(3)[::-1],
    "index_oob": lambda T: T.ones(2, 3)[5],
    "index_oob_dim1": lambda T: T.ones(2, 3)[:, 5],
    "index_too_many": lambda T: T.ones(2, 3)[0, 0, 0],
    "index_tensor_oob": lambda T: T.ones(2, 3)[T.tensor([0, 2])],
    "index_mask_bad": lambda T: T.ones(2, 3)[T.tensor([True, False, True])],
    "index_values": lambda T: (lambda x: (x[1], x[:, 1], x[1:, ::2], x[..., -1], x[None].shape,
                                          x[[0, 1], [1, 2]], x[x > 5], x[T.tensor([1, 0])],
                                          x[1, None, 1:]))(T.arange(12).reshape(3, 4)),
    "index_empty_slice": lambda T: (T.ones(2, 3)[1:1].shape, T.ones(2, 3)[-1:10].shape),
    "index_bool_scalar": lambda T: T.arange(3)[True].shape,
    "setitem_values": lambda T: (lambda x: (x.__setitem__((0, slice(1, 3)), 7),
                                            x.__setitem__(x > 9, -1),
                                            x.__setitem__([2], T.tensor([1, 2, 3, 4])),
                                            x)[-1])(T.arange(12).reshape(3, 4)),
    "split_chunk_unbind": lambda T: (T.arange(5).split(2), T.arange(6).chunk(4),
                                     T.arange(6).split([1, 5]),
                                     T.arange(4).reshape(2, 2).unbind(1)),
    "split_sizes_bad": lambda T: T.arange(5).split([1, 2]),
    "flatten_unflatten": lambda T: (T.zeros(2, 3, 4).flatten(1).shape,
                                    T.zeros(2, 12).unflatten(1, (3, 4)).shape),
    "movedim": lambda T: T.zeros(2, 3, 4).movedim(0, -1).shape,
    "narrow_bad": lambda T: T.zeros(3).narrow(0, 2, 2),
    "matmul_errors": lambda T: T.ones(2, 3) @ T.ones(2, 3),
    "matmul_dtype_error": lambda T: T.ones(2, 3).mm(T.ones(3, 3, dtype=T.float64)),
    "matmul_0d": lambda T: T.tensor(1.) @ T.ones(2),
    "mv_error": lambda T: T.ones(2, 3).mv(T.ones(2)),
    "dot_error": lambda T: T.ones(3).dot(T.ones(2)),
    "bmm_error": lambda T: T.ones(2, 2, 3).bmm(T.ones(3, 3, 2)),
    "matmul_int": lambda T: T.ones(3, dtype=T.int64) @ T.ones(3, dtype=T.int64),
    "max_dim_namedtuple": lambda T: tuple(T.tensor([[1., 5.], [5., 2.]]).max(1)),
    "max_empty": lambda T: T.tensor([]).max(),
    "argmax": lambda T: (T.tensor([[1., 5.], [7., 2.]]).argmax(), T.tensor([[1, 5]]).argmax(1)),
    "var_std_values": lambda T: (lambda x: (x.var(), x.std(0), x.var(1, unbiased=False),
                                            x.std(correction=0)))(T.tensor([[1., 2.], [4., 8.]])),
    "softmax_implicit_dim": lambda T: T.nn.functional.softmax(T.ones(2, 3)),
    "cross_entropy_target_oob": lambda T: T.nn.functional.cross_entropy(
        T.ones(3, 4), T.tensor([0, 5, 1])),
    "cross_entropy_batch": lambda T: T.nn.functional.cross_entropy(T.ones(3, 4),
                                                                   T.tensor([0, 1])),
    "cross_entropy_float_target": lambda T: T.nn.functional.cross_entropy(
        T.ones(3, 4), T.tensor([0., 1., 2.])),
    "cross_entropy_ignore_all": lambda T: T.nn.functional.cross_entropy(
        T.ones(3, 4), T.tensor([-100, -100, -100])),
    "bce_size_error": lambda T: T.nn.functional.binary_cross_entropy_with_logits(
        T.ones(3, 4), T.ones(3, 5)),
    "mse_broadcast_warns": lambda T: T.nn.functional.mse_loss(T.ones(3, 4), T.zeros(4)),
    "where_values": lambda T: (T.where(T.tensor([True, False]), T.tensor([1., 2.]), 0.),
                               T.where(T.tensor([True, False]), 1, T.tensor([5, 6]))),
    "clamp_values": lambda T: (T.tensor([-2., 0.5, 3.]).clamp(0, 1),
                               T.tensor([-2, 5]).clamp(min=0), T.tensor([1, 5]).clamp(max=2.5)),
    "clamp_none": lambda T: T.tensor([1.]).clamp(),
    "inplace_dtype_error": lambda T: T.tensor([1, 2]).add_(1.5),
    "inplace_shape_error": lambda T: T.tensor([1., 2.]).add_(T.ones(2, 2)),
    "inplace_upcast_ok": lambda T: T.tensor([1., 2.]).add_(T.ones(2, dtype=T.float64)),
    "manual_seed_repeatable": lambda T: (T.manual_seed(3), T.rand(3).tolist())[1] == (
        T.manual_seed(3), T.rand(3).tolist())[1],
}


@pytest.mark.parametrize("name", sorted(C))
def test_same_as_pytorch(name):
    same(C[name])


# ---- Tensor.new_* and memory formats ---------------------------------------------------------

def test_new_factories_and_memory_formats():
    from .oracle import same

    def fn(T):
        x = T.ones(2, dtype=T.float64)
        return (x.new_zeros(3), x.new_ones((2, 2)), x.new_full((2,), 5), x.new_tensor([1, 2]),
                x.new_empty(0).shape, x.new_zeros(2, dtype=T.int32, requires_grad=False),
                x.new_ones(1, requires_grad=True), repr(T.contiguous_format),
                repr(T.preserve_format), T.clone(x, memory_format=T.contiguous_format))
    same(fn)


def test_no_numpy_floating_point_warnings_from_ember_ops():
    """PyTorch computes log(0), 0/0 and exp overflow silently; so does ember (a warnings filter
    installed on import ignores NumPy's RuntimeWarnings raised inside ember), while the user's
    own NumPy code still warns. Run in a fresh interpreter: pytest manages warning filters."""
    import subprocess
    import sys

    code = ("import numpy as np, ember\n"
            "x = ember.tensor([0.0, 1.0])\n"
            "x.log(); x / x; ember.tensor([1000.0]).exp(); ember.tensor([-1.0]).sqrt()\n"
            "print('ember done', flush=True)\n"
            "np.log(np.zeros(1))\n")
    proc = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ember done\n"
    assert proc.stderr.count("RuntimeWarning") == 1 and "<string>:5" in proc.stderr
