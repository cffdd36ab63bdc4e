"""uint16 / uint32 / uint64 as PyTorch 2.13 (NOTE [limited unsigned types] in ember/dtypes.py):
creation, printing, conversion and NumPy interop work; promotion with another integer or bool
type raises; most integer kernels are not built for them (PyTorch's NotImplementedError)."""

import numpy as np
import pytest

from tests.oracle import same

UNSIGNED = ["uint16", "uint32", "uint64"]


def u(m, dtype, values=(1, 2, 3)):
    return m.tensor(list(values), dtype=getattr(m, dtype))


@pytest.mark.parametrize("dtype", UNSIGNED)
def test_dtype_objects(dtype):
    same(lambda m: (str(getattr(m, dtype)), getattr(m, dtype).is_signed,
                    getattr(m, dtype).is_floating_point, getattr(m, dtype).itemsize,
                    repr(m.iinfo(getattr(m, dtype))), m.iinfo(getattr(m, dtype)).max,
                    m.iinfo(getattr(m, dtype)).bits))


@pytest.mark.parametrize("dtype", UNSIGNED)
def test_creation_printing_and_conversion(dtype):
    same(lambda m: u(m, dtype))
    same(lambda m: repr(u(m, dtype)))
    same(lambda m: repr(m.tensor(5, dtype=getattr(m, dtype))))
    same(lambda m: repr(u(m, dtype, [[1, 2], [3, 40000]])))
    same(lambda m: m.zeros(2, 3, dtype=getattr(m, dtype)))
    same(lambda m: m.ones(2, dtype=getattr(m, dtype)))
    same(lambda m: m.full((2,), 7, dtype=getattr(m, dtype)))
    same(lambda m: m.empty(2, dtype=getattr(m, dtype)).dtype)
    same(lambda m: m.tensor([70000]).to(getattr(m, dtype)))
    same(lambda m: u(m, dtype).to(m.int64))
    same(lambda m: u(m, dtype).float())
    same(lambda m: u(m, dtype).bool())
    same(lambda m: m.tensor([1.5, 2.5]).to(getattr(m, dtype)))
    same(lambda m: u(m, dtype).tolist())
    same(lambda m: u(m, dtype)[1].item())
    same(lambda m: (u(m, dtype)[1], u(m, dtype)[1:], u(m, dtype).clone()))


@pytest.mark.parametrize("dtype", UNSIGNED)
def test_numpy_interop(dtype):
    same(lambda m: u(m, dtype).numpy())
    same(lambda m: m.from_numpy(np.array([1, 2], dtype=dtype)))
    same(lambda m: m.as_tensor(np.array([5], dtype=dtype)))


def test_numpy_types_without_an_equivalent_name_the_unsigned_ones():
    same(lambda m: m.from_numpy(np.array([1.0], dtype=np.longdouble)))


@pytest.mark.parametrize("dtype", UNSIGNED)
def test_promotion(dtype):
    # with floating and complex types (tensors or Python numbers) the float type wins
    same(lambda m: u(m, dtype) + 1.5)
    same(lambda m: u(m, dtype) / 2)
    same(lambda m: u(m, dtype) + m.tensor([1.0]))
    same(lambda m: u(m, dtype) * 2.5)
    same(lambda m: m.promote_types(getattr(m, dtype), m.float16))
    same(lambda m: m.result_type(u(m, dtype), 1))
    # a 0-d integer tensor ranks below: no promotion
    same(lambda m: u(m, dtype) * m.tensor(2))
    # with any other integer or bool type: PyTorch's RuntimeError
    for other in ("uint8", "int8", "int32", "int64", "bool"):
        same(lambda m, other=other: m.promote_types(getattr(m, dtype), getattr(m, other)))
        same(lambda m, other=other: u(m, dtype) * m.tensor([1], dtype=getattr(m, other)))
    same(lambda m: u(m, dtype) == m.tensor([1, 2, 3]))
    same(lambda m: m.promote_types(m.uint16, m.uint64))


@pytest.mark.parametrize("dtype", UNSIGNED)
def test_supported_ops(dtype):
    same(lambda m: u(m, dtype) * u(m, dtype))
    same(lambda m: u(m, dtype) * 2)
    same(lambda m: u(m, dtype).clone().mul_(2))
    same(lambda m: (u(m, dtype).sum(), u(m, dtype).prod(), u(m, dtype).cumsum(0)))
    same(lambda m: (u(m, dtype) == 2, u(m, dtype) != 2))
    same(lambda m: (u(m, dtype) & u(m, dtype), u(m, dtype).all(), u(m, dtype).any()))
    same(lambda m: (u(m, dtype).sort(), u(m, dtype).argsort(), u(m, dtype).unique()))
    same(lambda m: (m.cat([u(m, dtype), u(m, dtype)]), m.stack([u(m, dtype)]),
                    u(m, dtype).repeat(2), u(m, dtype).reshape(3, 1)))
    same(lambda m: (u(m, dtype).sqrt(), u(m, dtype).exp()))
    same(lambda m: m.equal(u(m, dtype), u(m, dtype)))
    same(lambda m: u(m, dtype)[m.tensor([True, False, True])])
    same(lambda m: u(m, dtype).clone().fill_(5))
    same(lambda m: m.zeros(3).copy_(u(m, dtype)))


UNSUPPORTED = {
    "add": lambda m, x: x + x,
    "add_scalar": lambda m, x: x + 1,
    "sub": lambda m, x: x - 1,
    "rsub": lambda m, x: 1 - x,
    "add_": lambda m, x: x.clone().add_(x),
    "neg": lambda m, x: -x,
    "abs": lambda m, x: x.abs(),
    "lt": lambda m, x: x < 2,
    "le": lambda m, x: x <= x,
    "gt": lambda m, x: x > 1,
    "ge": lambda m, x: x >= 1,
    "max": lambda m, x: x.max(),
    "max_dim": lambda m, x: x.max(0),
    "min": lambda m, x: x.min(),
    "min_dim": lambda m, x: x.min(0),
    "amax": lambda m, x: x.amax(),
    "amin": lambda m, x: x.amin(),
    "aminmax": lambda m, x: m.aminmax(x),
    "argmax": lambda m, x: x.argmax(),
    "argmin": lambda m, x: x.argmin(),
    "maximum": lambda m, x: m.maximum(x, x),
    "minimum": lambda m, x: m.minimum(x, x),
    "clamp": lambda m, x: x.clamp(0, 2),
    "clamp_min": lambda m, x: x.clamp(min=1),
    "clamp_max": lambda m, x: x.clamp(max=1),
    "pow": lambda m, x: x ** 2,
    "remainder": lambda m, x: x % 2,
    "fmod": lambda m, x: m.fmod(x, 2),
    "floor_divide": lambda m, x: x // 2,
    "div_trunc": lambda m, x: m.div(x, 2, rounding_mode="trunc"),
    "mm": lambda m, x: x.reshape(1, 3) @ x.reshape(3, 1),
    "mv": lambda m, x: x.reshape(1, 3).mv(x),
    "dot": lambda m, x: x.dot(x),
    "bmm": lambda m, x: x.reshape(1, 1, 3).bmm(x.reshape(1, 3, 1)),
    "addmm": lambda m, x: m.addmm(x[:1].reshape(1, 1), x.reshape(1, 3), x.reshape(3, 1)),
    "lshift": lambda m, x: x << 1,
    "rshift": lambda m, x: x >> x,
    "bitwise_not": lambda m, x: ~x,
    "sign": lambda m, x: x.sign(),
    "flip": lambda m, x: x.flip(0),
    "arange": lambda m, x: m.arange(3, dtype=x.dtype),
    "linspace": lambda m, x: m.linspace(0, 3, 3, dtype=x.dtype),
}


@pytest.mark.parametrize("dtype", UNSIGNED)
@pytest.mark.parametrize("name", UNSUPPORTED)
def test_kernels_without_the_unsigned_types_raise(name, dtype):
    same(lambda m: UNSUPPORTED[name](m, u(m, dtype)))
