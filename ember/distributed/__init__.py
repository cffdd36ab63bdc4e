"""``ember.distributed``: PyTorch's ``torch.distributed`` on MPI.

Install with ``pip install 'ember[distributed]'`` (mpi4py and the mpich wheel).

The same names and semantics as ``torch.distributed`` (2.x): ``init_process_group``,
``get_rank``/``get_world_size``, ``new_group``, ``barrier``, the tensor collectives
(``all_reduce``, ``broadcast``, ``reduce``, ``all_gather``, ``all_gather_into_tensor``,
``gather``, ``scatter``, ``reduce_scatter``, ``reduce_scatter_tensor``, ``all_to_all``,
``all_to_all_single``), point to point (``send``/``recv``/``isend``/``irecv``,
``batch_isend_irecv``), the object collectives (``broadcast_object_list``,
``all_gather_object``, ``gather_object``, ``scatter_object_list``), ``async_op=True`` work
handles, ``ReduceOp``, ``Backend``, ``group.WORLD`` and ``GroupMember``. The transport is MPI
through mpi4py; backends ``"mpi"`` and ``"gloo"`` (an alias) are accepted.

Run a script with ``mpiexec -n 4 python train.py`` or with torchrun's command line,
``python -m ember.distributed.run --nproc-per-node 4 train.py`` (``ember/distributed/run.py``),
which also sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT.

What differs from PyTorch, how timeouts and faults behave (every wait is bounded by the
group's timeout; one rank's unhandled exception aborts the job), and the per-collective
shape/dtype check are described in ``ember/distributed/distributed_c10d.py``'s docstring.
Importing this package does not import mpi4py: MPI starts in ``init_process_group``.
"""

from .distributed_c10d import *  # noqa: F403
from .distributed_c10d import (  # noqa: F401 - names outside __all__ that PyTorch exports
    Future,
    P2POp,
    RedOpType,
    all_reduce_coalesced,
    batch_isend_irecv,
    get_node_local_rank,
    is_ucc_available,
    is_xccl_available,
    monitored_barrier,
)
from .distributed_c10d import __all__ as _c10d_all

__all__ = list(_c10d_all) + ["Future", "P2POp", "RedOpType", "all_reduce_coalesced",
                             "batch_isend_irecv", "get_node_local_rank", "monitored_barrier"]
