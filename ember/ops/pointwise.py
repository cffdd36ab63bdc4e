"""The pointwise family's public face: binary elementwise arithmetic (add, sub, mul, div,
remainder, fmod, pow...), binary float math (atan2, hypot, copysign, logaddexp/logaddexp2,
ldexp, nextafter), the ternary ops (lerp, addcmul, addcdiv) and heaviside, registered here as
``ember.<name>``, Tensor methods and in-place variants, in the order the op tables were built
in; and every name the family's modules define that ember's other modules import from here.

Contract: each op computes PyTorch's result dtype (``dtypes.binary_result_np``: Python scalars
are weak), broadcasts like PyTorch (with its error message), and records a node named like
PyTorch's. Gradients of broadcast inputs are summed back to the input's shape by the engine, so
the rules are written for equal shapes. Rules follow NOTE [rules are ember ops] in
_registry.py; JVPs are elementwise (see _jvp.py). Ops PyTorch cannot differentiate
(floor_divide, heaviside) record its ``NotImplemented`` node, whose backward raises its error.

Where the code lives: operand handling and the ``out=`` path every elementwise op shares in
operands.py, arithmetic in arithmetic.py (NOTE [half scalars], NOTE [fused alpha]), binary
float math and heaviside in binary_math.py, lerp/addcmul/addcdiv in ternary.py. Unary math is
in unary.py, special functions in special.py, selection (clamp, where, maximum, fmax...) in
select.py, comparisons and logic in logic.py.
"""

from __future__ import annotations

import numpy as np

from ..backend import numpy_kernel
from ._registry import METHODS, register
from .arithmetic import (  # noqa: F401 - re-exported: the family's import path
    AddBackward0,
    DivBackward0,
    DivBackward1,
    DivBackward2,
    FloorDivideNotImplemented,
    FmodBackward0,
    FmodBackward1,
    MulBackward0,
    MulBackward1,
    PowBackward0,
    PowBackward1,
    PowBackward2,
    RemainderBackward0,
    RemainderBackward1,
    RsubBackward0,
    RsubBackward1,
    SubBackward0,
    _float_power_inplace_op,
    _rpow,
    add,
    div,
    div_scalar,
    divide,
    float_power,
    floor_divide,
    fmod,
    mul,
    mul_scalar,
    multiply,
    pow,
    remainder,
    rsub,
    sub,
    subtract,
    true_divide,
)
from .binary_math import (  # noqa: F401 - re-exported: the family's import path
    Atan2Backward0,
    CopysignBackward0,
    CopysignBackward1,
    HeavisideNotImplemented,
    HypotBackward0,
    LdexpBackward0,
    Logaddexp2Backward0,
    LogaddexpBackward0,
    NextafterBackward0,
    arctan2,
    atan2,
    copysign,
    heaviside,
    hypot,
    ldexp,
    logaddexp,
    logaddexp2,
    nextafter,
)
from .inplace import register_arithmetic_inplace, register_inplace
from .operands import (  # noqa: F401 - re-exported: the family's import path
    _fix_dtype,
    _float_operands,
    _need,
    _operands,
    _result_np,
    _rg,
    _scalar,
    _tensor_first,
    check_broadcast,
    not_implemented_node,
    require_tensors,
    write_out,
)
from .ternary import (  # noqa: F401 - re-exported: the family's import path
    AddcdivBackward0,
    AddcmulBackward0,
    LerpBackward0,
    LerpBackward1,
    addcdiv,
    addcmul,
    lerp,
)

# ==== registration =========================================================================

# the NumPy function each op's plain form is (its record's kernel: NOTE [array namespaces] in
# ember/backend; alpha, rounding modes and half-precision roundings are the eager op's)
_KERNELS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
            "floor_divide": np.floor_divide, "remainder": np.remainder, "fmod": np.fmod,
            "pow": np.power, "float_power": np.float_power, "atan2": np.arctan2,
            "hypot": np.hypot, "copysign": np.copysign, "logaddexp": np.logaddexp,
            "logaddexp2": np.logaddexp2, "heaviside": np.heaviside, "ldexp": np.ldexp,
            "nextafter": np.nextafter}
for _name in ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
              "floor_divide", "remainder", "fmod", "pow", "float_power", "atan2", "arctan2",
              "hypot", "copysign", "logaddexp", "logaddexp2", "lerp", "addcmul", "addcdiv",
              "heaviside", "ldexp", "nextafter"):
    _kernel = _KERNELS.get(_name)
    register(globals()[_name], _name, batch="elementwise",
             kernel=numpy_kernel(_kernel) if _kernel is not None else None)
register(rsub, "rsub", method=False)
register(_rpow, "__rpow__", function=False, op="pow")
register_arithmetic_inplace(add, sub, mul, div)
register_inplace(pow, remainder, fmod, floor_divide, atan2, hypot, copysign, lerp, addcmul,
                 addcdiv, heaviside, ldexp, nextafter,
                 aliases=(("arctan2_", atan2), ("float_power_", _float_power_inplace_op)))
# PyTorch also publishes this in-place variant as a function (``torch.ldexp_(x, e)``).
register(METHODS["ldexp_"], "ldexp_", method=False)
