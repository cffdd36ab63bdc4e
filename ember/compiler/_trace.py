"""The tracer: arrays that record every NumPy call made on them.

Contract:
- ``Traced``: an array under tracing. It holds the real value (``_a``: a NumPy array or scalar,
  computed as the call runs, so the traced call is also a real one) and its variable in the
  recording (``_i``). NumPy hands every ufunc (``__array_ufunc__``) and array function
  (``__array_function__``) given one to this class, which runs NumPy on the values and records
  the call; methods (``reshape``, ``astype``, ``sum``...), attributes that are arrays (``T``,
  ``real``), indexing and assignment into it are recorded the same way. Shapes, dtypes and
  strides are read freely: a program is only replayed on inputs of the same layout (the
  guards). Reading a value into Python (``bool``, ``int``, ``float``, ``item``, ``tolist``, an
  implicit ``np.asarray``) raises ``GraphBreak``: a program cannot depend on values it does not
  compute. So do calls whose result shape depends on values (``nonzero``, ``unique``, boolean
  masks) and writes into arrays the recording does not know.
- ``TracedScalar``: a Python float read from a traced array where ember's own code asked for
  one on purpose (``scalar(a)``: the optimizers' step counts). Its arithmetic is recorded; using
  it for control flow raises ``GraphBreak``.
- ``Recorder``: one recording: ``input(a)`` makes a traced input, ``instrs`` the calls in order
  (``_program.Instr``). While it is ``active()``, traced arrays record into it; afterwards (a
  closed recorder) they compute as plain arrays, so a tensor that escaped keeps working.
- ``BACKEND``: the backend of traced arrays (NOTE [array namespaces] in ember/backend): device
  type ``cpu`` (a traced tensor is a CPU tensor), NumPy arrays mix in as constants, and its
  namespace records array creation (``xp.zeros``) too.
- ``RNG_KERNELS``: the random-number kernels (``_rng_kernels``) whose calls are recorded as
  draws, so a replay draws fresh numbers from the same generator, as the eager call would.

NOTE [tracing arrays, not ops]: ember's ops, its autograd engine and the optimizers' array path
all end in NumPy calls on tensors' arrays. Recording at that level captures a forward pass, its
backward pass and an optimizer step alike, with no per-op tracing rule, and a replay makes the
very same NumPy calls with the same arguments, so its results equal eager's bit for bit. The
device work (issue 15) made every op run on arrays that are not NumPy's: a traced array is one
more such array type.
"""

from __future__ import annotations

import operator
import types

import numpy as np

from .. import backend as _backend
from ..backend import _wrapping
from ._program import Instr, Ref

__all__ = ["Traced", "TracedScalar", "Recorder", "GraphBreak", "BACKEND", "scalar",
           "current", "unwrap"]


class GraphBreak(Exception):
    """The traced function did something a replayed program cannot reproduce (``reason``)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


_CUR: list = [None]  # the active Recorder


def current():
    return _CUR[0]


# NumPy functions whose result shape depends on the values given (data-dependent shapes)
_VALUE_SHAPED = frozenset({"nonzero", "flatnonzero", "argwhere", "unique", "unique_all",
                           "unique_counts", "unique_inverse", "unique_values", "extract",
                           "compress", "bincount", "histogram", "histogram_bin_edges",
                           "trim_zeros", "repeat", "delete", "insert", "setdiff1d",
                           "intersect1d", "union1d", "setxor1d", "in1d"})
# functions that write into their first argument
_WRITES_FIRST = frozenset({"copyto", "put", "place", "putmask", "put_along_axis",
                           "fill_diagonal"})
# methods that write into the array
_WRITING_METHODS = frozenset({"fill", "sort", "put", "itemset", "partition", "resize",
                              "setfield", "byteswap"})
# NumPy functions whose result is always new memory (others may be views of their inputs)
_FRESH_FUNCTIONS = frozenset({
    "zeros_like", "ones_like", "empty_like", "full_like", "zeros", "ones", "empty", "full",
    "array", "copy", "concatenate", "stack", "vstack", "hstack", "dstack", "column_stack",
    "matmul", "dot", "vdot", "inner", "outer", "tensordot", "einsum", "kron", "cross",
    "sum", "prod", "mean", "std", "var", "amax", "amin", "max", "min", "argmax", "argmin",
    "all", "any", "cumsum", "cumprod", "nansum", "nanmax", "nanmin", "median", "quantile",
    "percentile", "average", "count_nonzero", "where", "take", "take_along_axis", "choose",
    "sort", "argsort", "partition", "argpartition", "clip", "round", "around", "pad", "tile",
    "diff", "ediff1d", "convolve", "correlate", "searchsorted", "digitize", "arange",
    "linspace", "logspace", "eye", "identity", "tri", "tril", "triu", "meshgrid",
    "isclose", "allclose", "array_equal", "fill_diagonal", "logaddexp", "interp", "polyval",
    "cov", "corrcoef", "trace", "flip_copy", "lexsort", "select", "piecewise", "nan_to_num",
    "cholesky", "qr", "svd", "eig", "eigh", "eigvals", "eigvalsh", "inv", "pinv", "det",
    "slogdet", "solve", "lstsq", "norm", "matrix_power", "matrix_rank", "multi_dot",
    "fft", "ifft", "rfft", "irfft", "fftn", "ifftn", "rfftn", "irfftn", "hfft", "ihfft",
    "ascontiguousarray_copy", "unravel_index", "ravel_multi_index", "indices", "tril_indices",
    "triu_indices", "diag_indices", "bincount", "histogram"})
# ufuncs and methods whose result is always new memory (others may be views of their inputs)
_FRESH_METHODS = frozenset({"copy", "sum", "prod", "mean", "std", "var", "max", "min", "all",
                            "any", "argmax", "argmin", "cumsum", "cumprod", "dot", "round",
                            "clip", "nonzero", "trace", "tobytes"})


_UNWRAPPABLE = object()


def _reads(what):
    return (f"{what} reads a traced tensor's value into Python (data-dependent control flow "
            "or a Python number)")


def _break_value(what):
    rec = _recorder(None)
    if rec is not None:
        rec.fail(_reads(what))


class Recorder:
    """One recording (see the module docstring)."""

    def __init__(self):
        self.instrs: list = []
        self.n = 0
        self.vals: dict = {}  # var -> its value when made (inputs and constants-to-be)
        self.open = True
        self.op = None  # the ember op being run (set by the tracing mode), for messages
        self.broken = None  # why this recording cannot be replayed (a graph break)
        self.fullgraph = False  # (a break raises GraphBreak instead)
        self.wrote_state = False  # some call wrote into an input or drew random numbers
        self.aliases_input: dict = {}  # variable -> the inputs whose memory it may view
        self.written: set = set()  # inputs written so far
        self.engines: list = []  # generators drawn from so far
        self.snap_inputs: set = set()  # inputs written before some later guard
        self.snap_engines: list = []  # generators drawn from before some later guard
        self.no_guards = False  # (a guard now breaks: a traced backward pass that cannot
        # fall back, see _compile.py)
        self.guards = 0

    def new_var(self, a):
        i = self.n
        self.n += 1
        self.vals[i] = a
        return i

    def input(self, a):
        t = Traced(a, self, self.new_var(a))
        self.aliases_input[t._i] = frozenset((t._i,))
        return t

    def fail(self, reason):
        """A graph break: the recording stops (the call goes on, computing plainly) and keeps
        the first reason; under ``fullgraph`` it raises instead."""
        if self.fullgraph:
            raise GraphBreak(reason)
        if self.broken is None:
            self.broken = reason
        self.open = False

    def wrote(self, writes):
        for w in writes:
            inputs = self.aliases_input.get(w)
            if inputs:
                self.wrote_state = True
                self.written |= inputs

    def guard(self, conv, x, value, what):
        """A value read into Python (``bool``, ``int``): recorded as a guard the replay
        checks, or a break where a failed guard could no longer fall back to eager (after the
        call wrote into its inputs) or inside a traced backward pass."""
        if self.no_guards:
            self.fail(f"{what}{self.where()} reads a traced tensor's value into Python in a "
                      "backward pass whose forward changed the state")
            return
        self.guards += 1
        if self.wrote_state:
            # a late guard: a replay that misses it puts back what the call wrote so far (the
            # inputs written, the generators drawn from) before running eagerly
            self.snap_inputs |= self.written
            for e in self.engines:
                if all(e is not k for k in self.snap_engines):
                    self.snap_engines.append(e)
        self.instrs.append(Instr("guard", conv, (Ref(x._i),), {}, ("const", value), (),
                                 False, self.op))

    def where(self):
        return f" (in {self.op})" if self.op else ""

    # ---- recording -------------------------------------------------------------------------
    def record(self, kind, fn, args, kwargs, result, writes=(), fresh=False, name=None):
        """Record the call that produced ``result`` and give the traced result."""
        out, struct = self._wrap(result)
        if out is _UNWRAPPABLE:
            return result
        ins = Instr(kind, fn, _template(args, self), _template(kwargs, self), struct,
                    tuple(writes), fresh, name or self.op)
        self.append(ins)
        if type(out) is Traced and isinstance(out._a, np.generic):
            # (NumPy gives scalars where eager ember holds 0-d arrays; the program makes the
            # same array, so an op may write into it as it would eagerly)
            a = np.asarray(out._a)
            j = self.new_var(a)
            self.append(Instr("call", np.asarray, (Ref(out._i),), {}, Ref(j), (), True,
                              name or self.op))
            out = Traced(a, self, j)
        return out

    def append(self, ins):
        if not ins.fresh and self.aliases_input:
            from ._program import out_vars, refs

            seen = frozenset()
            for i in refs(ins.args, refs(ins.kwargs, [])):
                got = self.aliases_input.get(i)
                if got:
                    seen |= got
            if seen:
                for o in out_vars(ins.out, []):
                    self.aliases_input[o] = seen
        if ins.writes:
            self.wrote(ins.writes)
        if ins.kind == "rng":
            self.wrote_state = True
            for a in ins.args:
                if hasattr(a, "state_bytes") and all(a is not e for e in self.engines):
                    self.engines.append(a)
        self.instrs.append(ins)

    def _wrap(self, res):
        if isinstance(res, (np.ndarray, np.generic)):
            i = self.new_var(res)
            return Traced(res, self, i), Ref(i)
        if isinstance(res, tuple):
            pairs = [self._wrap(r) for r in res]
            outs = tuple(p[0] for p in pairs)
            structs = tuple(p[1] for p in pairs)
            if hasattr(res, "_fields"):  # a namedtuple (np.linalg's results)
                return type(res)(*outs), ("namedtuple", type(res), structs)
            return outs, ("tuple", structs)
        if isinstance(res, list):
            pairs = [self._wrap(r) for r in res]
            return [p[0] for p in pairs], ("list", tuple(p[1] for p in pairs))
        if isinstance(res, (int, float, complex, bool, str, type(None), np.dtype)):
            return res, ("const", res)
        self.fail(f"a NumPy call returned {type(res).__name__}{self.where()}")
        return _UNWRAPPABLE, None


def _template(x, rec):
    """``x`` with traced arrays replaced by ``Ref``s (the recording's view of an argument)."""
    t = type(x)
    if t is Traced:
        if x._t is not rec:
            return x._a  # (a stale traced array from a closed recording: its value)
        return Ref(x._i)
    if t is TracedScalar:
        if x._t is not rec:
            return float(x._v)
        return Ref(x._i)
    if t is tuple:
        return tuple(_template(v, rec) for v in x)
    if t is list:
        return [_template(v, rec) for v in x]
    if t is dict:
        return {k: _template(v, rec) for k, v in x.items()}
    if t is slice:
        return slice(_template(x.start, rec), _template(x.stop, rec), _template(x.step, rec))
    return x


def unwrap(x):
    """NumPy's view of an argument: traced arrays give their values."""
    t = type(x)
    if t is Traced:
        return x._a
    if t is TracedScalar:
        return x._v
    if t is tuple:
        return tuple(unwrap(v) for v in x)
    if t is list:
        return [unwrap(v) for v in x]
    if t is dict:
        return {k: unwrap(v) for k, v in x.items()}
    if t is slice:
        return slice(unwrap(x.start), unwrap(x.stop), unwrap(x.step))
    return x


def _recorder(args, kwargs=None):
    """The open recorder of the traced arrays among the arguments, or None (closed: compute
    plainly)."""
    rec = _CUR[0]
    if rec is None or not rec.open:
        return None
    return rec


def _check_targets(rec, targets, what):
    """The vars written by a call; a write into an array the recording does not know (a
    constant) cannot be replayed faithfully."""
    writes = []
    for o in targets:
        if type(o) is Traced and o._t is rec:
            writes.append(o._i)
        elif o is not None:
            rec.fail(f"{what} writes into an array that is not traced (a tensor the compiler "
                     f"did not see as an input){rec.where()}")
            return None
    return writes


def _has_bool_index(index):
    items = index if isinstance(index, tuple) else (index,)
    for v in items:
        a = v._a if type(v) is Traced else v
        if isinstance(a, np.ndarray) and a.dtype == np.bool_ and type(v) is Traced:
            return True
    return False


class Traced:
    """An array under tracing (see the module docstring)."""

    __slots__ = ("_a", "_t", "_i", "__weakref__")
    __array_priority__ = 100.0
    __hash__ = None

    def __init__(self, a, rec, i):
        self._a = a
        self._t = rec
        self._i = i

    # ---- NumPy's protocols ------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        rec = _recorder(None)
        if rec is not None:
            rec.fail("an implicit conversion of a traced array to NumPy (np.asarray)"
                     + rec.where())
        a = np.asarray(self._a)
        return a if dtype is None else a.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        rec = _recorder(inputs)
        out = kwargs.get("out")
        writes = []
        if rec is not None:
            if out is not None:
                writes = _check_targets(rec, out, f"{ufunc.__name__}(out=)")
            if method == "at" and writes is not None:
                more = _check_targets(rec, inputs[:1], f"{ufunc.__name__}.at")
                writes = None if more is None else writes + more
            if writes is None:
                rec = None
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        res = fn(*unwrap(inputs), **unwrap(kwargs))
        if rec is None:
            return out[0] if out is not None and len(out) == 1 else out if out else res
        if out is not None or method == "at":
            rec.append(Instr("call", fn, _template(inputs, rec), _template(kwargs, rec),
                             ("const", None), tuple(writes), False, rec.op))
            if method == "at":
                return None
            return out[0] if len(out) == 1 else out
        return rec.record("call", fn, inputs, kwargs, res, fresh=True)

    def __array_function__(self, func, types, args, kwargs):
        rec = _recorder(args)
        if rec is None:
            return func(*unwrap(args), **unwrap(kwargs))
        name = func.__name__
        if (name in _VALUE_SHAPED and not (name == "repeat" and not _traced_in(args[1:2])
                                            and not _traced_in(kwargs.get("repeats")))) or \
                (name == "where" and len(args) + len(kwargs) == 1):
            # a shape that depends on the values (inside an op: the sorted-segment sums of a
            # scatter, a mask's selection): the program goes on with the shape it saw, behind
            # a guard on that shape
            res = func(*unwrap(args), **unwrap(kwargs))
            out = rec.record("call", func, args, kwargs, res, fresh=True)
            _shape_guards(rec, out, f"np.{name}")
            return out
        writes = []
        if "out" in kwargs and kwargs["out"] is not None:
            o = kwargs["out"]
            writes = _check_targets(rec, o if isinstance(o, tuple) else (o,), f"np.{name}")
        if name in _WRITES_FIRST and writes is not None:
            more = _check_targets(rec, args[:1], f"np.{name}")
            writes = None if more is None else writes + more
        res = func(*unwrap(args), **unwrap(kwargs))
        if writes is None:
            return kwargs["out"] if kwargs.get("out") is not None else res
        if writes:
            rec.append(Instr("call", func, _template(args, rec), _template(kwargs, rec),
                             ("const", None), tuple(writes), False, rec.op))
            if "out" in kwargs and kwargs["out"] is not None:
                return kwargs["out"]
            if isinstance(res, (np.ndarray, np.generic)):
                rec.fail(f"np.{name} both writes and returns an array" + rec.where())
            return res
        return rec.record("call", func, args, kwargs, res, fresh=name in _FRESH_FUNCTIONS)

    # ---- attributes -------------------------------------------------------------------------
    @property
    def strides(self):
        return np.asarray(self._a).strides if isinstance(self._a, np.generic) else self._a.strides

    @property
    def flags(self):
        return self._a.flags

    @property
    def base(self):
        return None  # (views are tracked by the recording, not by NumPy's base chain)

    def _attr(self, name):
        rec = _recorder(None)
        value = getattr(self._a, name)
        if rec is None:
            return value
        return rec.record("attr", name, (self,), {}, value)

    T = property(lambda self: self._attr("T"))
    mT = property(lambda self: self._attr("mT"))  # noqa: N815 - NumPy's name

    @property
    def real(self):
        return self._attr("real")

    @property
    def imag(self):
        return self._attr("imag")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            rec = _recorder(None)
            if rec is None or not isinstance(attr, (np.ndarray, np.generic)):
                return attr
            return rec.record("attr", name, (self,), {}, attr)
        if name in ("item", "tolist", "tobytes", "__index__"):
            def reading(*args, **kwargs):
                value = getattr(self._a, name)(*args, **kwargs)
                rec = _recorder(None)
                if rec is not None:
                    if name == "item" and not args and isinstance(value, (bool, int)):
                        rec.guard(_item, self, value, "ndarray.item()")
                    else:
                        rec.fail(_reads(f"ndarray.{name}()" + rec.where()))
                return value
            return reading

        def method(*args, **kwargs):
            rec = _recorder(args)
            if rec is None:
                return attr(*unwrap(args), **unwrap(kwargs))
            writes = []
            if name in _WRITING_METHODS:
                writes = [self._i]
            if kwargs.get("out") is not None:
                more = _check_targets(rec, (kwargs["out"],), f"ndarray.{name}")
                writes = None if more is None else writes + more
            res = attr(*unwrap(args), **unwrap(kwargs))
            if writes is None:
                return kwargs["out"]
            if writes:
                rec.append(Instr("method", name, _template((self, *args), rec),
                                 _template(kwargs, rec), ("const", None), tuple(writes),
                                 False, rec.op))
                return kwargs["out"] if kwargs.get("out") is not None else res
            return rec.record("method", name, (self, *args), kwargs, res,
                              fresh=name in _FRESH_METHODS or (name == "astype" and
                                                                kwargs.get("copy") is not False))
        return method

    # ---- indexing ---------------------------------------------------------------------------
    def __getitem__(self, index):
        rec = _recorder(None)
        if rec is None:
            return self._a[unwrap(index)]
        res = self._a[unwrap(index)]
        out = rec.record("getitem", None, (self, index), {}, res)
        if _has_bool_index(index):  # (a boolean mask: the selection's size, guarded)
            _shape_guards(rec, out, "indexing with a boolean mask")
        return out

    def __setitem__(self, index, value):
        rec = _recorder(None)
        if rec is None:
            self._a[unwrap(index)] = unwrap(value)
            return
        self._a[unwrap(index)] = unwrap(value)
        rec.append(Instr("setitem", None, _template((self, index, value), rec), {},
                         ("const", None), (self._i,), False, rec.op))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (self[i] for i in range(len(self._a)))

    # ---- values into Python: a break while recording ------------------------------------------
    def _value(self, conv, what, guard=False):
        value = conv(self._a)
        rec = _recorder(None)
        if rec is not None:
            if guard:
                rec.guard(conv, self, value, what)
            else:
                rec.fail(_reads(what + rec.where()))
        return value

    def __bool__(self):
        return self._value(bool, "bool()", guard=True)

    def __float__(self):
        return self._value(float, "float()")

    def __int__(self):
        return self._value(int, "int()", guard=self._a.dtype.kind in "iub")

    def __index__(self):
        return self._value(operator.index, "an index", guard=True)

    def __complex__(self):
        return self._value(complex, "complex()")

    def __repr__(self):
        return f"Traced(v{self._i}, {self._a!r})"

    def _scalar(self):
        return scalar(self)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __format__(self, spec):
        return self._value(lambda a: format(a, spec), "format()")


def _shape_guards(rec, out, what):
    """Guard the shapes of a data-dependent result (each array of a tuple)."""
    for o in out if isinstance(out, (tuple, list)) else (out,):
        if type(o) is Traced and rec.open:
            rec.guard(np.shape, o, o._a.shape, f"the data-dependent shape of {what}")


def _traced_in(x):
    if type(x) in (Traced, TracedScalar):
        return True
    if isinstance(x, (tuple, list)):
        return any(_traced_in(v) for v in x)
    return False


_wrapping.install(Traced, lambda uf, op: lambda self, other: uf(self, other, out=(self,)))


# ---- Python numbers computed from traced arrays, on purpose ---------------------------------
class TracedScalar(float):
    """A float whose arithmetic is recorded (see ``scalar``)."""

    __slots__ = ("_v", "_t", "_i")

    def __new__(cls, value, rec, i):
        self = float.__new__(cls, value)
        self._v = float(value)
        self._t = rec
        self._i = i
        return self

    def _op(self, fn, *args):
        for a in args:
            if isinstance(a, (Traced, np.ndarray, np.generic)):
                return NotImplemented  # (an array's own operator takes it: a ufunc call)
        rec = _recorder(None)
        vals = [unwrap(a) for a in args]
        res = fn(*vals)
        if rec is None or self._t is not rec:
            return res
        i = rec.new_var(res)
        rec.append(Instr("scalar", fn, _template(tuple(args), rec), {}, Ref(i), (), True,
                         rec.op))
        return TracedScalar(res, rec, i)

    def __bool__(self):
        _break_value("bool() of a Python number computed from a tensor")
        return bool(self._v)

    def __float__(self):
        _break_value("float() of a Python number computed from a tensor")
        return self._v

    def __int__(self):
        _break_value("int() of a Python number computed from a tensor")
        return int(self._v)

    def __hash__(self):
        return float.__hash__(self)

    def __repr__(self):
        return f"TracedScalar(s{self._i}, {self._v!r})"


def _scalar_method(fn, reflected=False):
    if reflected:
        def method(self, other):
            return self._op(lambda a, b: fn(b, a), self, other)
    else:
        def method(self, other):
            return self._op(fn, self, other)
    return method


_SCALAR_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
               "mul": lambda a, b: a * b, "truediv": lambda a, b: a / b,
               "pow": lambda a, b: a ** b}
for _name, _f in _SCALAR_OPS.items():
    setattr(TracedScalar, f"__{_name}__", _scalar_method(_f))
    setattr(TracedScalar, f"__r{_name}__", _scalar_method(_f, reflected=True))
TracedScalar.__neg__ = lambda self: self._op(lambda a: -a, self)
TracedScalar.__abs__ = lambda self: self._op(abs, self)
def _compare(name):
    op = getattr(operator, name)

    def compare(self, other):
        _break_value(f"comparing ({name}) a Python number computed from a tensor")
        return op(self._v, unwrap(other))
    return compare


for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(TracedScalar, f"__{_name}__", _compare(_name))


def _item(a):
    return a.item()


def scalar(a):
    """``a.item()`` of a one-element array, as a ``TracedScalar`` when ``a`` is traced (ember's
    own code asks for it where the number only feeds arithmetic: the optimizers' step)."""
    if type(a) is not Traced:
        return a.item()
    rec = _recorder(None)
    v = a._a.item()
    if rec is None or a._t is not rec:
        return v
    if not isinstance(v, float):
        v = float(v)
    i = rec.new_var(v)
    rec.append(Instr("call", _item_float, (Ref(a._i),), {}, Ref(i), (), True, rec.op))
    return TracedScalar(v, rec, i)


def _item_float(a):
    return float(a.item())


# ---- the backend: creation through the namespace is recorded too --------------------------
_HOST_IN = frozenset({"asarray", "array", "asanyarray", "ascontiguousarray"})


class _Namespace:
    """NumPy as the ops see it for traced arrays: every function records its call (array
    creation included), ufuncs stay NumPy's (they dispatch by themselves)."""

    __name__ = "numpy (ember compiler trace)"

    def __init__(self, module):
        self._np = module

    def __getattr__(self, name):
        obj = getattr(self._np, name)
        if isinstance(obj, types.ModuleType):
            got = _Namespace(obj)
        elif isinstance(obj, np.ufunc) or isinstance(obj, type) or not callable(obj):
            got = obj
        else:
            got = _creating(obj, name in _HOST_IN)
        setattr(self, name, got)
        return got


def _creating(fn, copies_host):
    def call(*args, **kwargs):
        rec = _recorder(args)
        if rec is None:
            return fn(*unwrap(args), **unwrap(kwargs))
        if copies_host and args and isinstance(args[0], np.ndarray):
            # (a host array handed to the device namespace is copied, never aliased: the
            # program makes a fresh array from the constant on every replay)
            res = np.array(args[0], *unwrap(args[1:]), **unwrap(kwargs))
            return rec.record("call", np.array, args, kwargs, res, fresh=True)
        res = fn(*unwrap(args), **unwrap(kwargs))
        if isinstance(res, (np.ndarray, np.generic)) or isinstance(res, (tuple, list)):
            name = getattr(fn, "__name__", "")
            out = rec.record("call", fn, args, kwargs, res,
                             fresh=name in _FRESH_FUNCTIONS or name in _VALUE_SHAPED)
            if name in _VALUE_SHAPED or (name == "where" and len(args) + len(kwargs) == 1):
                _shape_guards(rec, out, f"np.{name}")
            return out
        return res
    call.__name__ = getattr(fn, "__name__", "fn")
    return call


class _TraceBackend(_backend.Backend):
    """Traced arrays' backend: a CPU device whose namespace records (see the contract)."""

    __slots__ = ()
    host_ok = True

    def data_ptr(self, array) -> int:
        # (read by views' storage offsets: differences of addresses, the same on replay)
        a = array._a
        return np.asarray(a).__array_interface__["data"][0] if isinstance(a, np.generic) \
            else a.__array_interface__["data"][0]

    def to_host(self, array):
        rec = _recorder(None)
        if rec is not None:
            rec.fail("a traced array is copied to the host" + rec.where())
        return np.asarray(array._a)

    def special(self):
        try:
            import scipy.special as sp
        except ImportError:
            return None
        return sp


BACKEND = _TraceBackend("trace", _Namespace(np), (Traced,), "cpu")


# ---- random numbers: each kernel call is one recorded draw ------------------------------------
RNG_KERNELS = ("u24", "m53", "u53", "uniform", "normal_scalar", "normal_vector", "random_full",
               "random_range", "randperm", "bernoulli_scalar", "exponential", "geometric",
               "cauchy", "log_normal")


_DRAWING = [0]  # (a kernel calling another kernel is one draw)


def _drawing(fn):
    def draw(*args, **kwargs):
        rec = _recorder(args)
        if rec is None or _DRAWING[0]:
            return fn(*unwrap(args), **unwrap(kwargs))
        _DRAWING[0] += 1
        try:
            res = fn(*unwrap(args), **unwrap(kwargs))
        finally:
            _DRAWING[0] -= 1
        return rec.record("rng", fn, args, kwargs, res, fresh=True)
    draw.__name__ = fn.__name__
    draw._traced_draw = fn
    return draw


def swap_rng(swaps):
    """Record the random-number kernels' calls while ``swaps`` (a ``_modes.Swaps``) holds."""
    from .. import _rng_kernels as K

    for name in RNG_KERNELS:
        swaps.set(K, name, _drawing(getattr(K, name)))
