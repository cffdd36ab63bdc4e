"""One rank of ``python -m ember.distributed.run``: set torchrun's variables, run the script.

``python -m ember.distributed._bootstrap [-m | --no-python] target args...`` runs under
mpiexec. It reads this process's rank from the MPI launcher's environment (PMI_RANK for MPICH's
hydra, OMPI_COMM_WORLD_RANK for Open MPI, PMIX_RANK; else it asks mpi4py), sets RANK,
LOCAL_RANK (and WORLD_SIZE, LOCAL_WORLD_SIZE when the launcher did not), then runs ``target``
as ``__main__`` (a path, or a module with ``-m``, or an executable with ``--no-python``).

A failure (an exception, or ``sys.exit`` with a non-zero code) is written to
``$EMBER_RUN_REPORT/rank-<r>.json`` for the launcher's summary, printed under ``[rank r]``, and
ends the whole job with ``MPI_Abort`` so the other ranks do not wait for this one.
"""

import json
import os
import runpy
import sys
import traceback


def _env_int(*names):
    for name in names:
        value = os.environ.get(name)
        if value not in (None, ""):
            return int(value)
    return None


def _ranks():
    rank = _env_int("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID")
    size = _env_int("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS")
    if rank is None or size is None:
        from mpi4py import MPI

        rank, size = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
    return rank, size


def _report(rank, error):
    folder = os.environ.get("EMBER_RUN_REPORT")
    if folder:
        try:
            with open(os.path.join(folder, f"rank-{rank}.json"), "w") as f:
                json.dump({"rank": rank, "error": error}, f)
        except OSError:
            pass


def _abort(code):
    sys.stdout.flush()
    sys.stderr.flush()
    try:  # the other ranks must stop now, not at their next collective's timeout
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(code)
    except ImportError:
        pass
    os._exit(code)


def main():
    argv = sys.argv[1:]
    mode = None
    if argv and argv[0] in ("-m", "--no-python"):
        mode, argv = argv[0], argv[1:]
    if not argv:
        sys.exit("usage: python -m ember.distributed._bootstrap [-m | --no-python] target args")
    rank, size = _ranks()
    local_size = int(os.environ.get("LOCAL_WORLD_SIZE") or size)
    node = int(os.environ.get("EMBER_RUN_NODE_RANK", "0"))
    local = _env_int("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK")
    os.environ.update(RANK=str(rank), WORLD_SIZE=os.environ.get("WORLD_SIZE") or str(size),
                      LOCAL_RANK=str(local if local is not None else rank - node * local_size),
                      LOCAL_WORLD_SIZE=str(local_size), GROUP_RANK=str(node),
                      ROLE_RANK=str(rank), GROUP_WORLD_SIZE="1", ROLE_WORLD_SIZE=str(size))
    target, args = argv[0], argv[1:]
    if mode == "--no-python":
        os.execvp(target, [target, *args])
    sys.argv = [target, *args]
    try:
        if mode == "-m":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        code = e.code
        if code in (None, 0):
            raise
        what = f"exited with code {code}" if isinstance(code, int) else f"exited: {code}"
        _report(rank, what)
        sys.stderr.write(f"[rank {rank}] ember.distributed.run: rank {rank} {what}; aborting "
                         "the job\n")
        _abort(code if isinstance(code, int) else 1)
    except BaseException as e:
        _report(rank, f"{type(e).__name__}: {e}")
        text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        sys.stderr.write(f"[rank {rank}] ember.distributed.run: rank {rank} raised; aborting "
                         "the job (MPI_Abort)\n" + "".join(
                             f"[rank {rank}] {line}\n" for line in text.rstrip().split("\n")))
        _abort(1)


if __name__ == "__main__":
    main()
