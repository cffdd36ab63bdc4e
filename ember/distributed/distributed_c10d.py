"""``torch.distributed``'s process groups and collectives, on MPI (mpi4py).

The contract (PyTorch 2.x is the specification; the differences are listed here):

- A process group is an MPI communicator (``ProcessGroup.comm``): the default group is
  ``MPI.COMM_WORLD``, ``new_group(ranks)`` splits it. Ranks are MPI ranks, so a job is started by
  ``mpiexec -n N python script.py`` or ``python -m ember.distributed.run`` (torchrun's flags).
- Collectives take ember tensors and work on their NumPy arrays, writing the result in place
  where PyTorch writes in place (the version counter moves as for any in-place op). A
  non-contiguous tensor goes through a contiguous copy that is written back, as PyTorch's gloo
  does. Data that is only moved (broadcast, gathers, scatters, send/recv, all_to_all) travels
  as raw bytes, so every dtype works. Reductions run in MPI on the array's own dtype, except:
  float16/bfloat16 are reduced in float32 and rounded once at the end (PyTorch's gloo rounds
  after every pairwise step, so sums over 3+ ranks may differ in the last bit); bool reduces as
  uint8 (SUM and MAX are "any", PRODUCT and MIN are "all", as PyTorch). ``ReduceOp.AVG`` is a SUM
  divided by the group size in the tensor's dtype; on a non-floating dtype it raises PyTorch's
  "result type Float can't be cast to the desired output type Long". ``PREMUL_SUM`` (an NCCL
  op) raises NotImplementedError.
- Shape and dtype checks: before every collective the ranks exchange a small int64 signature
  (which collective, op, root, dtype, numel, shape) in one tiny ``MPI_Allreduce`` (max of the
  signature and of its negation, so min and max arrive together). If the ranks disagree, every
  rank raises the same RuntimeError ("... Is there a distributed collective mismatch in your
  code?") instead of MPI corrupting memory or hanging. It costs one small allreduce per
  collective (measured: a 16-element all_reduce on 2 ranks of a loaded 2-core machine, about
  40 us without it and 66 us with it; noise there is large); ``EMBER_DISTRIBUTED_CHECK=0``
  turns it off. For ``async_op=True`` the check runs before the operation is posted, so it
  waits for the other ranks to reach the same call (DistributedDataParallel posts its buckets
  through ``_all_reduce(check=False)``: its ranks build the same buckets). ``barrier`` is
  that exchange alone.
- Every wait is a polling loop on MPI requests (non-blocking ``Iallreduce``, ``Ibcast``...)
  bounded by the group's ``timeout`` (``init_process_group(timeout=...)``, 30 minutes by
  default as PyTorch). Past it the wait raises ``RuntimeError("[Rank r] all_reduce timed out
  after 3000 ms ...")``. ``async_op=True`` returns a ``Work`` whose ``wait`` does the same, so
  communication overlaps the caller's computation. (MPICH progresses a request only inside MPI
  calls, so ``Work.is_completed()`` and ``wait()`` are where the bytes move for large messages.)
  A wait tests its requests back to back for 2 ms (``EMBER_DISTRIBUTED_SPIN``, seconds), then
  sleeps between tests (growing to 1 ms) to leave the CPU to ranks still computing.
- Faults: ``init_process_group`` (world size > 1) installs a ``sys.excepthook`` that prints the
  traceback under ``[rank r]`` and calls ``MPI.COMM_WORLD.Abort(1)``, so an unhandled exception
  on one rank ends the whole job at once with a non-zero exit (mpi4py's ``-m mpi4py`` does the
  same). The first rank to abort takes the others down, so their own messages may not print.
  ``sys.exit(n)`` under bare mpiexec ends only that rank (the others fail at their next
  collective's timeout); under ``ember.distributed.run`` it aborts the job too. A process that
  caught a timeout and then exits normally is aborted too at exit, since
  its stuck MPI requests would hang ``MPI_Finalize``. ``EMBER_DISTRIBUTED_ABORT=0`` turns both
  off. ``destroy_process_group()`` removes the hook.
- Backends: ``"mpi"`` (the default) and ``"gloo"``, accepted as an alias on CPU so scripts
  written for PyTorch run unchanged (the same MPI transport; a one-time INFO record on the
  ``ember.distributed`` logger says so). ``get_backend`` returns the name asked for. NCCL
  raises PyTorch's "Distributed package doesn't have NCCL built in".
- ``init_method``, ``store``, ``pg_options`` and ``device_id`` are accepted and ignored (MPI
  finds its peers itself); ``rank``/``world_size`` and the RANK/WORLD_SIZE environment
  variables, when given, must agree with MPI's, else a ValueError says how to launch.
- ``mpi4py.MPI`` is imported (and MPI initialized) by ``init_process_group``, never by
  ``import ember.distributed``.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import sys
import time
import traceback
import warnings
import zlib
from datetime import timedelta
from enum import IntEnum

import numpy as np

from .. import dtypes as _dt

__all__ = [
    "Backend", "GroupMember", "ProcessGroup", "ReduceOp", "Work", "all_gather",
    "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_to_all", "all_to_all_single",
    "barrier", "broadcast", "broadcast_object_list", "default_pg_timeout",
    "destroy_process_group", "gather", "gather_object", "get_backend", "get_global_rank",
    "get_group_rank", "get_process_group_ranks", "get_rank", "get_world_size", "group",
    "init_process_group", "irecv", "is_available", "is_gloo_available", "is_initialized",
    "is_mpi_available", "is_nccl_available", "is_torchelastic_launched", "isend", "new_group",
    "recv", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list",
    "send",
]

default_pg_timeout = timedelta(minutes=30)
_log = logging.getLogger("ember.distributed")
_INSTALL = "ember.distributed needs mpi4py and an MPI library: pip install 'ember[distributed]'"


# ---------------------------------------------------------------------------------------------
# availability


def is_available() -> bool:
    """True when mpi4py can be imported (without initializing MPI)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_mpi_available() -> bool:
    return is_available()


def is_gloo_available() -> bool:
    """True where MPI is: ``backend="gloo"`` is served by the MPI transport on CPU."""
    return is_available()


def is_nccl_available() -> bool:
    return False


def is_ucc_available() -> bool:
    return False


def is_xccl_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    """True under ``python -m ember.distributed.run`` (torchrun sets TORCHELASTIC_RUN_ID too)."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(_INSTALL) from e
    return MPI


# ---------------------------------------------------------------------------------------------
# enums


class Backend(str):
    """A backend name, as PyTorch's ``Backend``: ``Backend("GLOO") == "gloo"``."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"
    XCCL = "xccl"
    backend_list = [UNDEFINED, GLOO, NCCL, XCCL, UCC, MPI]
    default_device_backend_map = {"cpu": GLOO}

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, got {name!r}")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        if value == Backend.UNDEFINED:
            value = name.lower()
        return super().__new__(cls, value)


class RedOpType(IntEnum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8
    UNUSED = 9

    def __repr__(self):
        return f"<RedOpType.{self.name}: {self.value}>"

    def __str__(self):
        return f"RedOpType.{self.name}"


class ReduceOp:
    """``ReduceOp.SUM``... (members are ``RedOpType`` values, as PyTorch prints them)."""

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM
    UNUSED = RedOpType.UNUSED


class _WorldMeta(type):
    @property
    def WORLD(cls):  # noqa: N802 - PyTorch's name
        return _state.default_pg

    @WORLD.setter
    def WORLD(cls, pg):  # noqa: N802
        _state.default_pg = pg


class group(metaclass=_WorldMeta):  # noqa: N801 - PyTorch's name
    """``group.WORLD``: the default process group (None before ``init_process_group``)."""


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD``; ``NON_GROUP_MEMBER`` is what ``new_group`` returns on the ranks
    outside the group (PyTorch's -100)."""

    NON_GROUP_MEMBER = -100


# ---------------------------------------------------------------------------------------------
# process groups


class ProcessGroup:
    """One MPI communicator with its global ranks, timeout and backend name."""

    def __init__(self, comm, ranks, timeout, backend, name):
        self.comm = comm
        self._ranks = list(ranks)  # global ranks, in group-rank order
        self._timeout = timeout
        self._backend = backend
        self.group_name = name
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def name(self) -> str:
        return self._backend

    @property
    def group_desc(self):
        return self.group_name

    def __repr__(self):
        return (f"<ember.distributed.ProcessGroup {self.group_name!r} backend={self._backend} "
                f"rank={self._rank} size={self._size}>")


class _State:
    def __init__(self):
        self.default_pg = None
        self.groups = []  # every ProcessGroup made, the default first
        self.broken = False  # a wait timed out: MPI requests are left pending
        self.hook = None  # the excepthook we replaced
        self.counter = 0
        self.gloo_noted = False


_state = _State()


def is_initialized() -> bool:
    return _state.default_pg is not None


def _default_group() -> ProcessGroup:
    if _state.default_pg is None:
        raise ValueError("Default process group has not been initialized, "
                         "please make sure to call init_process_group.")
    return _state.default_pg


def _resolve(group):
    """The group to run on: the default one for None; the non-member sentinel passes through."""
    if group is None or group is GroupMember.WORLD:
        return _default_group()
    if _is_non_member(group):
        _default_group()
        return group
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup or None, got {type(group).__name__}")
    _default_group()
    return group


def _is_non_member(group) -> bool:
    return isinstance(group, int) and group == GroupMember.NON_GROUP_MEMBER


def _parse_backend(backend):
    if backend is None:
        return Backend.MPI
    name = str(backend).lower()
    # "cpu:gloo,cuda:nccl": ember runs on the CPU, so the cpu entry decides
    if ":" in name:
        parts = dict(p.split(":", 1) for p in name.split(",") if ":" in p)
        name = parts.get("cpu", name)
    if name in ("mpi", "gloo"):
        if name == "gloo" and not _state.gloo_noted:
            _state.gloo_noted = True
            _log.info("ember.distributed: backend 'gloo' runs on the MPI transport (mpi4py)")
        return Backend(name)
    if name == "nccl":
        raise RuntimeError("Distributed package doesn't have NCCL built in")
    if name == "undefined":
        return Backend.MPI
    raise ValueError(f"Invalid backend: '{backend}' (ember.distributed runs 'mpi', and 'gloo' "
                     "as an alias of it)")


def _check_timeout(timeout):
    if timeout is None:
        return default_pg_timeout
    if not isinstance(timeout, timedelta):
        raise TypeError(
            f"Expected timeout argument to be of type datetime.timedelta, got {timeout}")
    return timeout


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Initialize the default process group on ``MPI.COMM_WORLD`` (see the module docstring)."""
    if _state.default_pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    timeout = _check_timeout(timeout)
    name = _parse_backend(backend)
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    mpi_rank, mpi_size = comm.Get_rank(), comm.Get_size()
    for what, given, env in (("rank", rank, "RANK"), ("world_size", world_size, "WORLD_SIZE")):
        actual = mpi_rank if what == "rank" else mpi_size
        if given is not None and int(given) != -1 and int(given) != actual:
            raise ValueError(
                f"init_process_group({what}={given}) disagrees with MPI's {what} {actual}: "
                "ember.distributed takes ranks from MPI; start the job with "
                "`mpiexec -n N python script.py` or `python -m ember.distributed.run`")
        value = os.environ.get(env)
        if value is not None and value.strip() and int(value) != actual:
            raise ValueError(
                f"the environment says {env}={value} but MPI's {what} is {actual} "
                f"(MPI world size {mpi_size}): ember.distributed takes ranks from MPI; start the "
                f"job with `mpiexec -n {os.environ.get('WORLD_SIZE', 'N')} python script.py` or "
                "`python -m ember.distributed.run`, not once per rank by hand")
    pg = ProcessGroup(comm, range(mpi_size), timeout, name, group_name or "0")
    _state.default_pg = pg
    _state.groups = [pg]
    _state.broken = False
    if mpi_size > 1 and os.environ.get("EMBER_DISTRIBUTED_ABORT", "1") != "0":
        _install_abort_hook()


def destroy_process_group(group=None):
    """Forget ``group`` (every group, the default one included, when None)."""
    if group is None or group is GroupMember.WORLD:
        if _state.default_pg is None:
            raise ValueError("Default process group has not been initialized, "
                             "please make sure to call init_process_group.")
        for pg in _state.groups[1:]:
            _free(pg)
        _state.groups = []
        _state.default_pg = None
        _remove_abort_hook()
        return
    if _is_non_member(group):
        return
    if group in _state.groups:
        _state.groups.remove(group)
        _free(group)


def _free(pg):
    try:
        pg.comm.Free()
    except Exception:  # a communicator with pending requests may refuse; it dies with the job
        pass


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None, device_id=None):
    """A group of ``ranks`` (global ranks; all of them when None). Every rank of the default
    group must call it (an ``MPI_Comm_split``); the ranks outside get
    ``GroupMember.NON_GROUP_MEMBER``. Group ranks follow the sorted global ranks, as PyTorch."""
    default = _default_group()
    timeout = _check_timeout(timeout) if timeout is not None else default._timeout
    size = default.size()
    ranks = list(range(size)) if ranks is None else sorted(int(r) for r in ranks)
    for r in ranks:
        if r < 0 or r >= size:
            raise ValueError("Invalid rank, ranks should be within the range "
                             f"[0, {size - 1}], got {r}")
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"Duplicate ranks in new_group: {ranks}")
    name_backend = _parse_backend(backend) if backend is not None else default._backend
    MPI = _mpi()
    _state.counter += 1
    me = default.rank()
    member = me in ranks
    comm = default.comm.Split(0 if member else MPI.UNDEFINED, ranks.index(me) if member else 0)
    if not member:
        return GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(comm, ranks, timeout, name_backend, group_desc or str(_state.counter))
    _state.groups.append(pg)
    return pg


def get_backend(group=None) -> Backend:
    pg = _resolve(group)
    if _is_non_member(pg):
        raise ValueError("Invalid process group specified")
    return Backend(pg._backend)


def get_rank(group=None) -> int:
    """The rank in ``group`` (the default group when None); -1 outside it."""
    if _is_non_member(group):
        return -1
    return _resolve(group).rank()


def get_world_size(group=None) -> int:
    if _is_non_member(group):
        return -1
    return _resolve(group).size()


def get_process_group_ranks(group) -> list:
    return list(_resolve(group)._ranks)


def get_group_rank(group, global_rank: int) -> int:
    pg = _resolve(group)
    if global_rank not in pg._ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg._ranks.index(global_rank)


def get_global_rank(group, group_rank: int) -> int:
    pg = _resolve(group)
    if not 0 <= group_rank < len(pg._ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
    return pg._ranks[group_rank]


def get_node_local_rank(fallback_rank=None) -> int:
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to "
                       "allow `get_node_local_rank` to work, assuming you are not running in a "
                       "multi-device context and want the code to run locally instead.")


# ---------------------------------------------------------------------------------------------
# faults: one rank's unhandled exception ends the job


def _install_abort_hook():
    if _state.hook is not None:
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        rank = _state.default_pg.rank() if _state.default_pg is not None else "?"
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(f"[rank {rank}] ember.distributed: unhandled exception on rank {rank}; "
                         "aborting the job (MPI_Abort)\n" + "".join(
                             f"[rank {rank}] {line}\n" for line in text.rstrip().split("\n")))
        sys.stderr.flush()
        sys.stdout.flush()
        _mpi().COMM_WORLD.Abort(1)

    _state.hook = previous
    sys.excepthook = hook


def _remove_abort_hook():
    if _state.hook is not None:
        sys.excepthook = _state.hook
        _state.hook = None


@atexit.register
def _abort_if_broken():
    # a caught timeout leaves MPI requests pending, and MPI_Finalize would wait on them forever
    if _state.broken and os.environ.get("EMBER_DISTRIBUTED_ABORT", "1") != "0":
        sys.stderr.write("ember.distributed: a collective timed out earlier in this process; "
                         "aborting the job (MPI_Abort) instead of hanging in MPI_Finalize\n")
        sys.stderr.flush()
        sys.stdout.flush()
        _mpi().COMM_WORLD.Abort(1)


# ---------------------------------------------------------------------------------------------
# waiting: polling loops with deadlines


def _poll(requests, deadline, statuses=None) -> bool:
    """Test ``requests`` until all complete (True) or ``deadline`` passes (False). Spins a few
    times for small messages' latency, then sleeps with a growing pause so that waiting ranks
    leave the CPU to the ones still computing."""
    MPI = _mpi()
    test = MPI.Request.Testall
    now = time.monotonic
    spin_until = now() + _SPIN
    pause = 5e-5
    while True:
        if (test(requests, statuses) if statuses is not None else test(requests)):
            return True
        t = now()
        if t > deadline:
            return False
        if t > spin_until:
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)


# how long a wait tests its requests back to back before it starts sleeping between tests:
# a small collective completes within it at MPI's latency (tens of microseconds)
_SPIN = float(os.environ.get("EMBER_DISTRIBUTED_SPIN", "0.002"))


def _timeout_error(pg, name, timeout):
    _state.broken = True
    ms = int(timeout.total_seconds() * 1000) if isinstance(timeout, timedelta) else int(timeout)
    return RuntimeError(
        f"[Rank {_global_rank()}] ember.distributed.{name} timed out after {ms} ms waiting for "
        f"the other ranks of the group (size {pg.size()}): a rank has died, hangs, or called a "
        "different collective")


def _global_rank():
    return _state.default_pg.rank() if _state.default_pg is not None else -1


class Work:
    """The handle of an ``async_op=True`` collective (``torch.distributed.Work``)."""

    def __init__(self, pg, name, requests, finish=None, result=None, statuses=None):
        self._pg = pg
        self._name = name
        self._requests = list(requests)
        self._finish = finish  # runs once, after the requests complete: copy back, divide...
        self._result = result if result is not None else []
        self._statuses = statuses
        self._start = time.monotonic()
        self._done = False
        self._exception = None
        self._source = -1

    def _complete(self):
        if self._done:
            return
        self._done = True
        try:
            if self._finish is not None:
                value = self._finish()
                if isinstance(value, int):
                    self._source = value
        except BaseException as e:
            self._exception = e
            raise

    def is_completed(self) -> bool:
        if self._done:
            return True
        if _mpi().Request.Testall(self._requests, self._statuses) if self._statuses is not None \
                else _mpi().Request.Testall(self._requests):
            self._complete()
            return True
        return False

    def wait(self, timeout=None) -> bool:
        """Block until the operation completes (or raise RuntimeError past the timeout: this
        one, else the group's, counted from the operation's start)."""
        if self._exception is not None:
            raise self._exception
        if self._done:
            return True
        if timeout is not None and timeout != timedelta(0):
            limit = timeout if isinstance(timeout, timedelta) else timedelta(milliseconds=timeout)
            deadline = time.monotonic() + limit.total_seconds()
        else:
            limit = self._pg._timeout
            deadline = self._start + limit.total_seconds()
        if not _poll(self._requests, deadline, self._statuses):
            self._exception = _timeout_error(self._pg, self._name, limit)
            raise self._exception
        self._complete()
        return True

    def is_success(self) -> bool:
        return self._done and self._exception is None

    def exception(self):
        return self._exception

    def source_rank(self) -> int:
        return self._source

    def result(self):
        if not self._done:
            raise RuntimeError("Work needs to be completed before calling result(). "
                               "Should call wait() before result().")
        return self._result

    def get_future(self):
        return Future(self)

    def synchronize(self):
        self.wait()

    def __repr__(self):
        return f"<ember.distributed.Work {self._name} completed={self._done}>"


class Future:
    """The ``torch.futures.Future`` of a ``Work``: ``wait()``/``value()`` give its result,
    ``then(callback)`` chains (DDP communication hooks use it)."""

    def __init__(self, work=None, parent=None, callback=None, value=None):
        self._work = work
        self._parent = parent
        self._callback = callback
        self._value = value
        self._has_value = work is None and parent is None

    def wait(self):
        if not self._has_value:
            if self._work is not None:
                self._work.wait()
                self._value = self._work.result()
            else:
                self._parent.wait()
                self._value = self._callback(self._parent)
            self._has_value = True
        return self._value

    def value(self):
        return self.wait()

    def done(self) -> bool:
        if self._has_value:
            return True
        if self._work is not None:
            return self._work.is_completed()
        return False

    def then(self, callback):
        return Future(parent=self, callback=callback)

    def set_result(self, value):
        self._value = value
        self._has_value = True


def _finish(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


# ---------------------------------------------------------------------------------------------
# tensors and buffers


def _check_single_tensor(param, param_name):
    from ..tensor import Tensor

    if not isinstance(param, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{param_name}` of type "
                        f"torch.Tensor\n             but got {type(param)} instead.")


def _check_tensor_list(param, param_name):
    from ..tensor import Tensor

    if not isinstance(param, list) or not all(isinstance(p, Tensor) for p in param):
        raise TypeError(f"Invalid function argument. Expected parameter `{param_name}` of type "
                        f"List[torch.Tensor]\n             but got {type(param)} instead.")


def _bump(t):
    if t._vc is not None:
        t._vc[0] += 1


def _array(t):
    """A C-contiguous array of ``t``'s data: the tensor's own when it is contiguous."""
    a = t._data
    if not isinstance(a, np.ndarray):
        raise RuntimeError(f"ember.distributed: tensors must be on the cpu, got {t.device}")
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _bytes(a):
    """The bytes of a contiguous array, as a flat uint8 view (MPI.BYTE: any dtype travels)."""
    return a.reshape(-1).view(np.uint8)


def _write(t, a):
    """Put the result ``a`` into ``t`` (a no-op copy when ``a`` is its own array)."""
    if a is not t._data:
        np.copyto(t._data, a.reshape(t._data.shape), casting="unsafe")
    _bump(t)


_KINDS = {name: i + 1 for i, name in enumerate((
    "barrier", "all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor",
    "gather", "scatter", "reduce_scatter", "reduce_scatter_tensor", "all_to_all",
    "all_to_all_single", "broadcast_object_list", "all_gather_object", "gather_object",
    "scatter_object_list"))}
_FIELDS = ("collective", "op", "root", "dtype", "numel", "shape", "count")
_DTYPE_NAMES = {}  # crc32 of a dtype's name -> the name, for the mismatch message


def _dtype_code(a) -> int:
    name = a.dtype.name if not _dt.is_bfloat16(a.dtype) else "bfloat16"
    code = zlib.crc32(name.encode()) & 0x7FFFFFFF
    _DTYPE_NAMES[code] = name
    return code


for _name in ("bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
              "float16", "bfloat16", "float32", "float64", "complex64", "complex128"):
    _DTYPE_NAMES[zlib.crc32(_name.encode()) & 0x7FFFFFFF] = _name


def _shape_code(shape) -> int:
    return zlib.crc32(repr(tuple(int(s) for s in shape)).encode()) & 0x7FFFFFFF


def _signature(name, op=-1, root=-1, a=None, count=-1):
    if a is None:
        return [_KINDS[name], int(op), int(root), -1, -1, -1, int(count)]
    return [_KINDS[name], int(op), int(root), _dtype_code(a), int(a.size), _shape_code(a.shape),
            int(count)]


_CHECK = os.environ.get("EMBER_DISTRIBUTED_CHECK", "1") != "0"


def _agree(pg, name, signature, force=False):
    """Exchange the ranks' signatures (one tiny Iallreduce, waited with the group's timeout);
    raise the same RuntimeError on every rank when they differ."""
    if not (_CHECK or force):
        return
    MPI = _mpi()
    sig = np.asarray(signature, dtype=np.int64)
    buf = np.concatenate([sig, -sig])
    request = pg.comm.Iallreduce(MPI.IN_PLACE, buf, MPI.MAX)
    if not _poll([request], time.monotonic() + pg._timeout.total_seconds()):
        raise _timeout_error(pg, name, pg._timeout)
    n = len(sig)
    high, low = buf[:n], -buf[n:]
    if (high == low).all():
        return
    kinds = {v: k for k, v in _KINDS.items()}
    diffs = []
    for i, field in enumerate(_FIELDS):
        if high[i] == low[i]:
            continue
        lo, hi = int(low[i]), int(high[i])
        if field == "collective":
            lo, hi = kinds.get(lo, lo), kinds.get(hi, hi)
        elif field == "dtype":
            lo, hi = sorted(_DTYPE_NAMES.get(v, "another dtype") for v in (lo, hi))
        elif field == "op":
            lo, hi = (RedOpType(v).name if 0 <= v <= 9 else v for v in (lo, hi))
        elif field == "shape":
            lo, hi = "one shape", "another"
        diffs.append(f"{field} ({lo} vs {hi})")
    raise RuntimeError(
        f"[Rank {_global_rank()}] ember.distributed.{name}: the ranks of the group disagree on "
        f"{', '.join(diffs)}; this rank passed {_describe(signature)}. Is there a distributed "
        "collective mismatch in your code?")


def _describe(signature):
    kind, op, root, dtype, numel, _shape, count = signature
    parts = [{v: k for k, v in _KINDS.items()}[kind]]
    if dtype != -1:
        parts.append(f"{numel} elements of {_DTYPE_NAMES.get(dtype, '?')}")
    return " with ".join(parts)


def _group_root(pg, rank, group_rank, what):
    """The group rank of a root given as a global rank (``src``/``dst``) or a group rank."""
    if rank is not None and group_rank is not None:
        raise ValueError(f"Can not specify both {what} and group_{what}")
    if group_rank is not None:
        if not 0 <= group_rank < pg.size():
            raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
        return int(group_rank)
    if rank is None:
        raise ValueError(f"Must specify either {what} or group_{what}")
    if pg is _state.default_pg:
        if not 0 <= rank < pg.size():
            raise RuntimeError(f"ember.distributed: invalid root rank: {rank}")
        return int(rank)
    return get_group_rank(pg, int(rank))


def _non_member(group, name):
    if _is_non_member(group):
        warnings.warn(f"Running {name} on global rank {_global_rank()} which does not belong to "
                      "the given group.", stacklevel=3)
        return True
    return False


# ---------------------------------------------------------------------------------------------
# reductions


def _reduce_plan(a, op, pg):
    """(buffer to reduce in MPI, MPI op, done(buffer) -> result array of ``a``'s dtype)."""
    MPI = _mpi()
    op = _check_op(op)
    d = _dt.from_np(a.dtype)
    if op == ReduceOp.AVG and not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{d.scalar_name}")
    if d.is_complex and op in (ReduceOp.MAX, ReduceOp.MIN):
        raise RuntimeError(f"ember.distributed: {RedOpType(op).name} is not supported for "
                           "complex tensors")
    if d.is_floating_point and op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
        raise RuntimeError(f"ember.distributed: {RedOpType(op).name} needs an integral dtype, "
                           f"got {d}")
    mpi_op = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
              ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
              ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]
    if a.dtype == np.bool_:
        # True + True is True: SUM is "any" (MAX), PRODUCT is "all" (MIN)
        mpi_op = {ReduceOp.SUM: MPI.MAX, ReduceOp.PRODUCT: MPI.MIN}.get(op, mpi_op)
        return a.view(np.uint8), mpi_op, lambda b: b.view(np.bool_)
    size = pg.size()
    if a.dtype == np.float16 or _dt.is_bfloat16(a.dtype):
        def done_half(b):  # one rounding back to the half type, after the float32 reduction
            if op == ReduceOp.AVG:
                b /= size
            return b.astype(a.dtype)

        return a.astype(np.float32), mpi_op, done_half
    if op == ReduceOp.AVG:
        def done_avg(b):
            b /= size
            return b

        return a, mpi_op, done_avg
    return a, mpi_op, lambda b: b


def _check_op(op):
    try:
        op = RedOpType(int(op))
    except (TypeError, ValueError):
        raise TypeError(f"ember.distributed: op must be a ReduceOp, got {op!r}") from None
    if op == RedOpType.PREMUL_SUM:
        raise NotImplementedError("ReduceOp.PREMUL_SUM is an NCCL op; ember.distributed (MPI) "
                                  "does not support it: scale the tensor and use ReduceOp.SUM")
    if op == RedOpType.UNUSED:
        raise ValueError("ReduceOp.UNUSED is not a reduction")
    return op


# ---------------------------------------------------------------------------------------------
# collectives


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over the group, in place on every rank."""
    return _all_reduce(tensor, op, group, async_op, check=True)


def _all_reduce(tensor, op, group, async_op, check):
    """``all_reduce``; ``check=False`` skips the ranks' agreement check, for callers whose
    tensors agree by construction (DistributedDataParallel's buckets: the check is a blocking
    exchange, which would line the ranks up at every bucket and cost the overlap of
    communication with the backward pass)."""
    _check_single_tensor(tensor, "tensor")
    pg = _resolve(group)
    if _non_member(pg, "all_reduce"):
        return None
    MPI = _mpi()
    a = _array(tensor)
    buf, mpi_op, done = _reduce_plan(a, op, pg)
    if check:
        _agree(pg, "all_reduce", _signature("all_reduce", op, -1, a))
    request = pg.comm.Iallreduce(MPI.IN_PLACE, buf, mpi_op)

    def finish():
        _write(tensor, done(buf))

    return _finish(Work(pg, "all_reduce", [request], finish, [tensor]), async_op)


def all_reduce_coalesced(tensors, op=ReduceOp.SUM, group=None, async_op=False):
    _check_tensor_list(tensors, "tensor")
    works = [all_reduce(t, op, group, async_op=True) for t in tensors]
    if any(w is None for w in works):
        return None
    return _finish(_Joined(works, tensors), async_op)


class _Joined(Work):
    """Several Works waited as one."""

    def __init__(self, works, result):
        super().__init__(works[0]._pg if works else _default_group(), "coalesced", [])
        self._works = works
        self._result = list(result)

    def is_completed(self):
        self._done = all(w.is_completed() for w in self._works)
        return self._done

    def wait(self, timeout=None):
        for w in self._works:
            w.wait(timeout)
        self._done = True
        return True


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``tensor`` from ``src`` (a global rank) to every rank of the group, in place."""
    _check_single_tensor(tensor, "tensor")
    pg = _resolve(group)
    if _non_member(pg, "broadcast"):
        return None
    root = _group_root(pg, src, group_src, "src")
    MPI = _mpi()
    a = _array(tensor)
    _agree(pg, "broadcast", _signature("broadcast", -1, root, a))
    request = pg.comm.Ibcast([_bytes(a), MPI.BYTE], root)

    def finish():
        if pg.rank() != root:
            _write(tensor, a)

    return _finish(Work(pg, "broadcast", [request], finish, [tensor]), async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce ``tensor`` over the group into ``dst``'s tensor (the others keep theirs)."""
    _check_single_tensor(tensor, "tensor")
    pg = _resolve(group)
    if _non_member(pg, "reduce"):
        return None
    root = _group_root(pg, dst, group_dst, "dst")
    MPI = _mpi()
    a = _array(tensor)
    buf, mpi_op, done = _reduce_plan(a, op, pg)
    _agree(pg, "reduce", _signature("reduce", op, root, a))
    at_root = pg.rank() == root
    if at_root:
        request = pg.comm.Ireduce(MPI.IN_PLACE, buf, mpi_op, root)
    else:
        request = pg.comm.Ireduce(buf, None, mpi_op, root)

    def finish():
        if at_root:
            _write(tensor, done(buf))

    return _finish(Work(pg, "reduce", [request], finish, [tensor]), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Gather every rank's ``tensor`` into ``tensor_list`` (one tensor per rank) on all ranks."""
    _check_tensor_list(tensor_list, "tensor_list")
    _check_single_tensor(tensor, "tensor")
    pg = _resolve(group)
    if _non_member(pg, "all_gather"):
        return None
    size = pg.size()
    if len(tensor_list) != size:
        raise RuntimeError("ProcessGroupGloo::allgather: invalid output tensor list at index 0 "
                           f"(expected length {size}, got {len(tensor_list)})")
    a = _array(tensor)
    _check_outputs(tensor_list, a, "allgather")
    MPI = _mpi()
    _agree(pg, "all_gather", _signature("all_gather", -1, -1, a))
    out = np.empty((size,) + a.shape, dtype=a.dtype)
    request = pg.comm.Iallgather([_bytes(a), MPI.BYTE], [_bytes(out), MPI.BYTE])

    def finish():
        for t, piece in zip(tensor_list, out):
            _write(t, piece)

    return _finish(Work(pg, "all_gather", [request], finish, [tensor_list]), async_op)


def _check_outputs(tensors, a, name):
    for i, t in enumerate(tensors):
        if t._data.dtype != a.dtype:
            raise RuntimeError(f"ProcessGroupGloo::{name}: invalid tensor type at index {i} "
                               f"(expected {_dt.from_np(a.dtype)}, got {t.dtype})")
        if t._data.shape != a.shape:
            raise RuntimeError(f"ProcessGroupGloo::{name}: invalid tensor size at index {i} "
                               f"(expected {_size(a.shape)}, got {_size(t._data.shape)})")


def _size(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Gather every rank's ``input_tensor`` into ``output_tensor`` (size ``world_size`` times
    the input's, concatenated or stacked along dim 0)."""
    _check_single_tensor(output_tensor, "output_tensor")
    _check_single_tensor(input_tensor, "input_tensor")
    pg = _resolve(group)
    if _non_member(pg, "all_gather_into_tensor"):
        return None
    a = _array(input_tensor)
    out = _array(output_tensor)
    size = pg.size()
    if out.dtype != a.dtype:
        raise RuntimeError("output tensor must have the same type as input tensor")
    if out.size != a.size * size:
        raise RuntimeError("ProcessGroupGloo::allgather: invalid tensor size at index 1 "
                           f"(expected {_size((a.size * size,))}, got {_size((out.size,))})")
    MPI = _mpi()
    _agree(pg, "all_gather_into_tensor", _signature("all_gather_into_tensor", -1, -1, a))
    request = pg.comm.Iallgather([_bytes(a), MPI.BYTE], [_bytes(out), MPI.BYTE])

    def finish():
        _write(output_tensor, out)

    return _finish(Work(pg, "all_gather_into_tensor", [request], finish, [output_tensor]),
                   async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Gather every rank's ``tensor`` into ``gather_list`` on ``dst`` (default rank 0)."""
    _check_single_tensor(tensor, "tensor")
    if gather_list is not None:
        _check_tensor_list(gather_list, "gather_list")
    pg = _resolve(group)
    if _non_member(pg, "gather"):
        return None
    if dst is None and group_dst is None:
        dst = 0
    root = _group_root(pg, dst, group_dst, "dst")
    a = _array(tensor)
    at_root = pg.rank() == root
    if at_root:
        if not gather_list:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        if len(gather_list) != pg.size():
            raise RuntimeError("ProcessGroupGloo::gather: Incorrect output list size "
                               f"{len(gather_list)}. Output list size should be {pg.size()}, "
                               "same as size of the process group.")
        _check_outputs(gather_list, a, "gather")
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    MPI = _mpi()
    _agree(pg, "gather", _signature("gather", -1, root, a))
    out = np.empty((pg.size(),) + a.shape, dtype=a.dtype) if at_root else None
    request = pg.comm.Igather([_bytes(a), MPI.BYTE],
                              [_bytes(out), MPI.BYTE] if at_root else None, root)

    def finish():
        if at_root:
            for t, piece in zip(gather_list, out):
                _write(t, piece)

    return _finish(Work(pg, "gather", [request], finish, [gather_list or []]), async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Send ``scatter_list[i]`` from ``src`` (default rank 0) into rank i's ``tensor``."""
    _check_single_tensor(tensor, "tensor")
    if scatter_list is not None:
        _check_tensor_list(scatter_list, "scatter_list")
    pg = _resolve(group)
    if _non_member(pg, "scatter"):
        return None
    if src is None and group_src is None:
        src = 0
    root = _group_root(pg, src, group_src, "src")
    a = _array(tensor)
    at_root = pg.rank() == root
    if at_root:
        if not scatter_list:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        if len(scatter_list) != pg.size():
            raise RuntimeError("ProcessGroupGloo::scatter: Incorrect input list size "
                               f"{len(scatter_list)}. Input list size should be {pg.size()}, "
                               "same as size of the process group.")
        _check_outputs(scatter_list, a, "scatter")
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    MPI = _mpi()
    _agree(pg, "scatter", _signature("scatter", -1, root, a))
    send = np.stack([_array(t) for t in scatter_list]) if at_root else None
    request = pg.comm.Iscatter([_bytes(send), MPI.BYTE] if at_root else None,
                               [_bytes(a), MPI.BYTE], root)

    def finish():
        _write(tensor, a)

    return _finish(Work(pg, "scatter", [request], finish, [tensor]), async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list[i]`` over the group into rank i's ``output``."""
    _check_single_tensor(output, "output")
    _check_tensor_list(input_list, "input_list")
    pg = _resolve(group)
    if _non_member(pg, "reduce_scatter"):
        return None
    if len(input_list) != pg.size():
        raise RuntimeError(f"ember.distributed.reduce_scatter: input_list has "
                           f"{len(input_list)} tensors, expected one per rank ({pg.size()})")
    a = _array(output)
    _check_outputs(input_list, a, "reduce_scatter")
    stacked = np.stack([_array(t) for t in input_list])
    return _reduce_scatter(pg, "reduce_scatter", output, a, stacked, op, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):  # noqa: A002
    """Reduce ``input`` (``world_size`` chunks along dim 0) and give rank i chunk i."""
    _check_single_tensor(output, "output")
    _check_single_tensor(input, "input")
    pg = _resolve(group)
    if _non_member(pg, "reduce_scatter_tensor"):
        return None
    a = _array(output)
    big = _array(input)
    if big.dtype != a.dtype:
        raise RuntimeError("input tensor must be the same type as the output tensor.")
    if big.size != a.size * pg.size():
        raise RuntimeError("input tensor must be the same size as output size times world size")
    return _reduce_scatter(pg, "reduce_scatter_tensor", output, a, big, op, async_op)


def _reduce_scatter(pg, name, output, a, big, op, async_op):
    buf, mpi_op, done = _reduce_plan(big, op, pg)
    recv = np.empty(a.shape, dtype=buf.dtype)  # buf's type: uint8 for bool, float32 for halves
    _agree(pg, name, _signature(name, op, -1, a))
    request = pg.comm.Ireduce_scatter_block(buf, recv, mpi_op)

    def finish():
        _write(output, done(recv))

    return _finish(Work(pg, name, [request], finish, [output]), async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Send ``input_tensor_list[i]`` to rank i; receive rank j's into ``output_tensor_list[j]``."""
    _check_tensor_list(output_tensor_list, "output_tensor_list")
    _check_tensor_list(input_tensor_list, "input_tensor_list")
    pg = _resolve(group)
    if _non_member(pg, "all_to_all"):
        return None
    size = pg.size()
    if len(output_tensor_list) != size or len(input_tensor_list) != size:
        raise RuntimeError(f"ember.distributed.all_to_all: expected {size} input and output "
                           f"tensors, got {len(input_tensor_list)} and {len(output_tensor_list)}")
    ins = [_array(t) for t in input_tensor_list]
    outs = [_array(t) for t in output_tensor_list]
    dtype = ins[0].dtype
    if any(x.dtype != dtype for x in ins + outs):
        raise RuntimeError("ember.distributed.all_to_all: all tensors must have the same dtype")
    send = [x.nbytes for x in ins]
    recv = [x.nbytes for x in outs]
    _exchange_sizes(pg, "all_to_all", send, recv, dtype)
    sendbuf = np.concatenate([_bytes(x) for x in ins]) if ins else np.empty(0, np.uint8)
    recvbuf = np.empty(sum(recv), dtype=np.uint8)
    MPI = _mpi()
    request = pg.comm.Ialltoallv([sendbuf, (send, _offsets(send)), MPI.BYTE],
                                 [recvbuf, (recv, _offsets(recv)), MPI.BYTE])

    def finish():
        for t, x, start, n in zip(output_tensor_list, outs, _offsets(recv), recv):
            _write(t, recvbuf[start:start + n].view(x.dtype).reshape(x.shape))

    return _finish(Work(pg, "all_to_all", [request], finish, [output_tensor_list]), async_op)


def _offsets(counts):
    return [int(x) for x in np.concatenate([[0], np.cumsum(counts)[:-1]])] if counts else []


def _exchange_sizes(pg, name, send, recv, dtype):
    """all_to_all's check: what each rank will send me must be what I expect to receive."""
    theirs = np.empty(pg.size(), dtype=np.int64)
    request = pg.comm.Ialltoall(np.asarray(send, dtype=np.int64), theirs)
    if not _poll([request], time.monotonic() + pg._timeout.total_seconds()):
        raise _timeout_error(pg, name, pg._timeout)
    bad = [j for j in range(pg.size()) if theirs[j] != recv[j]]
    a = np.empty(0, dtype=dtype)
    sig = _signature(name, -1, -1, a, count=1 if bad else 0)
    sig[4] = sig[5] = -1
    try:
        _agree(pg, name, sig, force=True)
    except RuntimeError:
        detail = (f"; rank {bad[0]} sends {theirs[bad[0]]} bytes where this rank expects "
                  f"{recv[bad[0]]}") if bad else ""
        raise RuntimeError(f"[Rank {_global_rank()}] ember.distributed.{name}: the ranks' "
                           f"split sizes or dtypes do not match{detail}. Is there a distributed "
                           "collective mismatch in your code?") from None


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,  # noqa: A002
                      group=None, async_op=False):
    """``all_to_all`` on one tensor each side, split along dim 0 (equal splits when the sizes
    are None)."""
    _check_single_tensor(output, "output")
    _check_single_tensor(input, "input")
    pg = _resolve(group)
    if _non_member(pg, "all_to_all_single"):
        return None
    size = pg.size()
    a_in, a_out = _array(input), _array(output)
    if a_in.dtype != a_out.dtype:
        raise RuntimeError("ember.distributed.all_to_all_single: input and output must have "
                           "the same dtype")

    def splits(a, sizes, what):
        rows = a.shape[0] if a.ndim else 1
        row_bytes = a.nbytes // rows if rows else 0
        if sizes is None or len(sizes) == 0:
            if rows % size:
                raise RuntimeError("Tensor's dim 0 does not divide equally across group size")
            return [rows // size * row_bytes] * size
        if len(sizes) != size or sum(sizes) != rows:
            raise RuntimeError(f"Split sizes doesn't match total dim 0 size ({what})")
        return [int(s) * row_bytes for s in sizes]

    send = splits(a_in, input_split_sizes, "input")
    recv = splits(a_out, output_split_sizes, "output")
    _exchange_sizes(pg, "all_to_all_single", send, recv, a_in.dtype)
    MPI = _mpi()
    out = np.empty(a_out.nbytes, dtype=np.uint8)
    request = pg.comm.Ialltoallv([_bytes(a_in), (send, _offsets(send)), MPI.BYTE],
                                 [out, (recv, _offsets(recv)), MPI.BYTE])

    def finish():
        _write(output, out.view(a_out.dtype).reshape(a_out.shape))

    return _finish(Work(pg, "all_to_all_single", [request], finish, [output]), async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of the group gets here (bounded by the group's timeout)."""
    pg = _resolve(group)
    if _non_member(pg, "barrier"):
        return None
    MPI = _mpi()
    sig = np.asarray(_signature("barrier"), dtype=np.int64)
    buf = np.concatenate([sig, -sig])
    request = pg.comm.Iallreduce(MPI.IN_PLACE, buf, MPI.MAX)
    n = len(sig)

    def finish():
        if not (buf[:n] == -buf[n:]).all():
            kinds = {v: k for k, v in _KINDS.items()}
            other = kinds.get(int(buf[0]), "?") if buf[0] != sig[0] else kinds.get(
                int(-buf[n]), "?")
            raise RuntimeError(f"[Rank {_global_rank()}] ember.distributed.barrier: another rank "
                               f"called {other} here. Is there a distributed collective "
                               "mismatch in your code?")

    return _finish(Work(pg, "barrier", [request], finish), async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """``barrier`` with its own timeout."""
    pg = _resolve(group)
    work = barrier(pg, async_op=True)
    if work is not None:
        work.wait(_check_timeout(timeout) if timeout is not None else None)


# ---------------------------------------------------------------------------------------------
# point to point


def _p2p_peer(pg, rank, group_rank, what):
    if rank is not None and group_rank is not None:
        raise ValueError(f"Can not specify both {what} and group_{what}")
    if group_rank is not None:
        return int(group_rank)
    if pg is _state.default_pg:
        return int(rank)
    return get_group_rank(pg, int(rank))


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to ``dst`` without waiting; returns a Work."""
    _check_single_tensor(tensor, "tensor")
    pg = _resolve(group)
    if _non_member(pg, "isend"):
        return None
    peer = _p2p_peer(pg, dst, group_dst, "dst")
    MPI = _mpi()
    a = _array(tensor)
    a = a.copy() if a is tensor._data else a  # MPI reads it later; a write meanwhile is the
    # caller's bug in PyTorch too, but a copy keeps a small send from seeing it
    request = pg.comm.Isend([_bytes(a), MPI.BYTE], peer, tag)
    return Work(pg, "send", [request], None, [tensor])


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from ``src`` (any rank when None) without waiting."""
    _check_single_tensor(tensor, "tensor")
    pg = _resolve(group)
    if _non_member(pg, "irecv"):
        return None
    MPI = _mpi()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _p2p_peer(
        pg, src, group_src, "src")
    a = _array(tensor)
    status = MPI.Status()
    request = pg.comm.Irecv([_bytes(a), MPI.BYTE], peer, tag)

    def finish():
        count = status.Get_count(MPI.BYTE)
        if count != a.nbytes:
            raise RuntimeError(f"[Rank {_global_rank()}] ember.distributed.recv: received "
                               f"{count} bytes where the tensor holds {a.nbytes}")
        _write(tensor, a)
        return pg._ranks[status.Get_source()]

    return Work(pg, "recv", [request], finish, [tensor], statuses=[status])


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to ``dst`` (a global rank) and wait until the send completes."""
    pg = _resolve(group)
    if not _is_non_member(pg):
        peer = _p2p_peer(pg, dst, group_dst, "dst")
        if peer == pg.rank():
            raise ValueError("Invalid destination rank: destination rank should not be the same "
                             "as the rank of the current process.")
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None) -> int:
    """Receive into ``tensor``; returns the sender's global rank (-1 outside the group)."""
    pg = _resolve(group)
    if not _is_non_member(pg) and (src is not None or group_src is not None):
        peer = _p2p_peer(pg, src, group_src, "src")
        if peer == pg.rank():
            raise ValueError("Invalid source rank: source rank should not be the same as the "
                             "rank of the current process.")
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work.source_rank()


class P2POp:
    """One operation of ``batch_isend_irecv``: ``P2POp(isend, tensor, peer)``."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list):
    works = []
    for p in p2p_op_list:
        if p.op in (isend, send):
            works.append(isend(p.tensor, p.peer, p.group, p.tag, p.group_peer))
        else:
            works.append(irecv(p.tensor, p.peer, p.group, p.tag, p.group_peer))
    return works


# ---------------------------------------------------------------------------------------------
# objects (pickled)


def _pickled(obj):
    return np.frombuffer(pickle.dumps(obj), dtype=np.uint8)


def _unpickled(buf):
    return pickle.loads(buf.tobytes())


def _wait_now(pg, name, requests):
    if not _poll(requests, time.monotonic() + pg._timeout.total_seconds()):
        raise _timeout_error(pg, name, pg._timeout)


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Send the picklable objects of ``object_list`` on ``src`` into every rank's list (same
    length everywhere), in place."""
    pg = _resolve(group)
    if _non_member(pg, "broadcast_object_list"):
        return
    if src is None and group_src is None:
        src = 0
    root = _group_root(pg, src, group_src, "src")
    _agree(pg, "broadcast_object_list",
           _signature("broadcast_object_list", -1, root, count=len(object_list)))
    MPI = _mpi()
    at_root = pg.rank() == root
    payload = _pickled(list(object_list)) if at_root else None
    n = np.array([payload.size if at_root else 0], dtype=np.int64)
    _wait_now(pg, "broadcast_object_list", [pg.comm.Ibcast(n, root)])
    buf = payload if at_root else np.empty(int(n[0]), dtype=np.uint8)
    _wait_now(pg, "broadcast_object_list", [pg.comm.Ibcast([buf, MPI.BYTE], root)])
    if not at_root:
        object_list[:] = _unpickled(buf)


def _gather_bytes(pg, name, payload, root=None):
    """Every rank's bytes (all of them when ``root`` is None, else only at ``root``)."""
    MPI = _mpi()
    n = np.array([payload.size], dtype=np.int64)
    sizes = np.empty(pg.size(), dtype=np.int64)
    if root is None:
        _wait_now(pg, name, [pg.comm.Iallgather(n, sizes)])
    else:
        _wait_now(pg, name, [pg.comm.Igather(n, sizes, root)])
    here = root is None or pg.rank() == root
    counts = [int(s) for s in sizes] if here else None
    out = np.empty(sum(counts), dtype=np.uint8) if here else None
    spec = [out, (counts, _offsets(counts)), MPI.BYTE] if here else None
    if root is None:
        _wait_now(pg, name, [pg.comm.Iallgatherv([payload, MPI.BYTE], spec)])
    else:
        _wait_now(pg, name, [pg.comm.Igatherv([payload, MPI.BYTE], spec, root)])
    if not here:
        return None
    return [_unpickled(out[o:o + c]) for o, c in zip(_offsets(counts), counts)]


def all_gather_object(object_list, obj, group=None):
    """``object_list[i]`` becomes rank i's ``obj`` on every rank (the list has one slot per
    rank)."""
    pg = _resolve(group)
    if _non_member(pg, "all_gather_object"):
        return
    _agree(pg, "all_gather_object", _signature("all_gather_object"))
    objs = _gather_bytes(pg, "all_gather_object", _pickled(obj))
    if len(object_list) < len(objs):
        raise IndexError("list assignment index out of range")
    for i, o in enumerate(objs):
        object_list[i] = o


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """Rank i's ``obj`` into ``object_gather_list[i]`` on ``dst`` (default 0)."""
    pg = _resolve(group)
    if _non_member(pg, "gather_object"):
        return
    if dst is None and group_dst is None:
        dst = 0
    root = _group_root(pg, dst, group_dst, "dst")
    if pg.rank() == root and object_gather_list is None:
        raise ValueError("Argument ``object_gather_list`` must be specified on destination rank.")
    _agree(pg, "gather_object", _signature("gather_object", -1, root))
    objs = _gather_bytes(pg, "gather_object", _pickled(obj), root)
    if objs is not None:
        for i, o in enumerate(objs):
            object_gather_list[i] = o


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None):
    """``scatter_object_output_list[0]`` becomes ``scatter_object_input_list[rank]`` of
    ``src`` (default 0)."""
    pg = _resolve(group)
    if _non_member(pg, "scatter_object_list"):
        return
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    if src is None and group_src is None:
        src = 0
    root = _group_root(pg, src, group_src, "src")
    at_root = pg.rank() == root
    if at_root and (scatter_object_input_list is None
                    or len(scatter_object_input_list) != pg.size()):
        raise ValueError("Expected argument scatter_object_input_list to be a list of size "
                         f"{pg.size()} on the source rank.")
    _agree(pg, "scatter_object_list", _signature("scatter_object_list", -1, root))
    MPI = _mpi()
    if at_root:
        pieces = [_pickled(o) for o in scatter_object_input_list]
        counts = [p.size for p in pieces]
        payload = np.concatenate(pieces) if pieces else np.empty(0, np.uint8)
    sizes = np.array(counts if at_root else [0] * pg.size(), dtype=np.int64)
    mine = np.empty(1, dtype=np.int64)
    _wait_now(pg, "scatter_object_list", [pg.comm.Iscatter(sizes if at_root else None, mine,
                                                           root)])
    buf = np.empty(int(mine[0]), dtype=np.uint8)
    spec = [payload, (counts, _offsets(counts)), MPI.BYTE] if at_root else None
    _wait_now(pg, "scatter_object_list", [pg.comm.Iscatterv(spec, [buf, MPI.BYTE], root)])
    scatter_object_output_list[0] = _unpickled(buf)
